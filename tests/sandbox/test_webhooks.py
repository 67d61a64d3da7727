"""amoCRM's webhooks from the sandbox: form-encoded bodies on every change, from a background
thread that never holds up the change, retried a bounded number of times
(docs/amocrm.md#webhooks). A real HTTP receiver on loopback stands in for the bot."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from leoweb_bot.sandbox import Sandbox
from leoweb_bot.sandbox.catalog import FIRST_MANAGER_ID
from leoweb_bot.sandbox.outbox import Outbox
from tests.conftest import start_sandbox
from tests.conftest import stop
from tests.kit.fakeclock import FakeClock
from tests.sandbox.kit import NOW
from tests.sandbox.kit import Receiver

ZELIMKHAN, MILANA = FIRST_MANAGER_ID, FIRST_MANAGER_ID + 1


@pytest.fixture
def hooked(receiver: Receiver, clock: FakeClock) -> Iterator[Sandbox]:
    sandbox = Sandbox(now=NOW, clock=clock.time, rate_limit=0, webhook_url=receiver.url)
    yield sandbox
    sandbox.stop()


def _open_task(sandbox: Sandbox) -> dict[str, Any]:
    return next(t for t in sandbox.data.tasks if not t["is_completed"] and t["entity_type"])


def test_a_completion_posts_the_task_form_with_the_account(
    hooked: Sandbox, receiver: Receiver, clock: FakeClock
) -> None:
    task = _open_task(hooked)
    clock.advance(60)
    hooked.ui.complete_task(task["id"], "Документы собраны", by=ZELIMKHAN)
    (form,) = receiver.wait_for(1)
    assert form == {
        "task[update][0][id]": str(task["id"]),
        "task[update][0][responsible_user_id]": str(task["responsible_user_id"]),
        "task[update][0][created_user_id]": str(task["created_by"]),
        "task[update][0][modified_user_id]": str(ZELIMKHAN),
        "task[update][0][date_create]": str(task["created_at"]),
        "task[update][0][last_modified]": str(NOW + 60),
        "task[update][0][account_id]": "31000001",
        "task[update][0][element_id]": str(task["entity_id"]),
        "task[update][0][element_type]": "2" if task["entity_type"] == "leads" else "1",
        "task[update][0][task_type]": str(task["task_type_id"]),
        "task[update][0][text]": task["text"],
        "task[update][0][status]": "1",
        "task[update][0][complete_till]": str(task["complete_till"]),
        "account[subdomain]": "leogroup",
        "account[id]": "31000001",
    }
    headers = receiver.headers[0]
    assert headers["Content-Type"] == "application/x-www-form-urlencoded"
    assert headers["User-Agent"] == "amoCRM-WebHook-client/1.0"


def test_each_kind_of_change_has_its_sections(hooked: Sandbox, receiver: Receiver) -> None:
    task = _open_task(hooked)
    lead = hooked.data.leads[0]
    other = MILANA if lead["responsible_user_id"] != MILANA else ZELIMKHAN
    added = hooked.ui.add_task("Перезвонить клиенту", NOW + 600, ZELIMKHAN)
    hooked.ui.reassign_task(task["id"], other)
    hooked.ui.delete_task(task["id"])
    hooked.ui.close_lead(lead["id"], won=lead["status_id"] != 142)
    hooked.ui.reassign_lead(lead["id"], other)
    forms = receiver.wait_for(5)
    assert [sorted({key.split("[0]")[0] for key in form if "[0]" in key}) for form in forms] == [
        ["task[add]"],
        ["task[responsible]", "task[update]"],
        ["task[delete]"],
        ["leads[status]", "leads[update]"],
        ["leads[responsible]", "leads[update]"],
    ]
    assert forms[0]["task[add][0][id]"] == str(added["id"])
    assert "task[add][0][element_id]" not in forms[0]  # attached to nothing
    assert forms[1]["task[responsible][0][responsible_user_id]"] == str(other)
    assert {k: v for k, v in forms[2].items() if k.startswith("task")} == {
        "task[delete][0][id]": str(task["id"])
    }
    assert forms[3]["leads[status][0][old_status_id]"] == str(lead["status_id"])
    assert forms[3]["leads[status][0][old_pipeline_id]"] == str(lead["pipeline_id"])
    assert forms[3]["leads[status][0][status_id]"] in ("142", "143")
    assert forms[4]["leads[responsible][0][name]"] == lead["name"]


def test_only_subscribed_events_are_sent(receiver: Receiver) -> None:
    sandbox = Sandbox(now=NOW, rate_limit=0, webhook_url=receiver.url, webhook_events={"add_lead"})
    try:
        first, second = (t["id"] for t in sandbox.data.tasks[:2])
        sandbox.ui.delete_task(first)
        sandbox.ui.move_deadline(second, NOW + 60)
        lead = sandbox.ui.add_lead("Бакалавриат в Польше", ZELIMKHAN)
        (form,) = receiver.wait_for(1)  # bodies go out in order, so nothing came before it
        assert form["leads[add][0][id]"] == str(lead["id"])
        assert sandbox.outbox is not None and sandbox.outbox.flush(10)
        assert len(receiver.forms) == 1
    finally:
        sandbox.stop()


def test_an_api_write_fires_the_webhook_too(hooked: Sandbox, receiver: Receiver) -> None:
    client = hooked.app.test_client()
    auth = {"Authorization": f"Bearer {hooked.credentials.token}"}
    task = _open_task(hooked)
    body = {"is_completed": True, "result": {"text": "Оплата получена"}}
    assert client.patch(f"/api/v4/tasks/{task['id']}", json=body, headers=auth).status_code == 200
    (form,) = receiver.wait_for(1)
    assert (form["task[update][0][id]"], form["task[update][0][status]"]) == (str(task["id"]), "1")


def test_a_slow_receiver_never_holds_up_the_change(hooked: Sandbox, receiver: Receiver) -> None:
    receiver.gate.clear()  # the receiver answers nothing until the gate opens
    task = _open_task(hooked)
    hooked.ui.move_deadline(task["id"], NOW + 900)
    assert receiver.forms == []  # the change returned before its webhook was answered
    stored = hooked.store.get("tasks", task["id"])
    assert stored is not None and stored["complete_till"] == NOW + 900
    receiver.gate.set()
    (form,) = receiver.wait_for(1)
    assert form["task[update][0][complete_till]"] == str(NOW + 900)


def test_a_failed_delivery_is_retried_then_given_up_without_logging_the_path(
    receiver: Receiver, caplog: pytest.LogCaptureFixture
) -> None:
    outbox = Outbox(receiver.url, delays=(0, 0))
    try:
        receiver.statuses.extend([500, 302])  # a redirect is not followed: it fails too
        outbox.send([("task[delete][0][id]", "1")])
        assert outbox.flush(10)
        assert (outbox.delivered, outbox.dropped, len(receiver.forms)) == (1, 0, 3)
        receiver.statuses.extend([503, 503, 503])
        with caplog.at_level(logging.WARNING, "leoweb_bot.sandbox.outbox"):
            outbox.send([("task[delete][0][id]", "2")])
            assert outbox.flush(10)
        assert (outbox.delivered, outbox.dropped, len(receiver.forms)) == (1, 1, 6)
        (record,) = caplog.records
        assert "dropped after 3 attempts" in record.getMessage()
        assert "s3cret" not in record.getMessage() and "127.0.0.1" in record.getMessage()
    finally:
        outbox.close()


def test_closing_stops_a_retry_wait_drops_the_queue_and_a_later_send_starts_again(
    receiver: Receiver,
) -> None:
    outbox = Outbox(receiver.url, delays=(60,))
    receiver.statuses.append(500)
    outbox.send([("n", "1")])
    receiver.wait_for(1)  # its first attempt failed; the retry is a minute away
    outbox.send([("n", "2")])
    outbox.close()  # returns at once: the wait ends, "1" is dropped, "2" never goes
    assert outbox.flush(0) and (outbox.delivered, outbox.dropped) == (0, 1)
    outbox.send([("n", "3")])
    assert outbox.flush(10)
    outbox.close()
    assert [form["n"] for form in receiver.forms] == ["1", "3"]


@pytest.mark.parametrize("url", ["ftp://example.com/hook", "example.com/hook", "http://"])
def test_a_webhook_url_must_be_http(url: str) -> None:
    with pytest.raises(ValueError, match="http:// or https://"):
        Sandbox(webhook_url=url)


def test_a_sandbox_process_takes_clicks_over_http_and_posts_webhooks(receiver: Receiver) -> None:
    proc, info = start_sandbox("--tasks", "40", "--rate-limit", "0", "--webhook-url", receiver.url)
    try:
        auth = {"Authorization": f"Bearer {info['token']}"}
        tasks = requests.get(
            f"{info['base_url']}/api/v4/tasks?filter[is_completed]=0&limit=1",
            headers=auth,
            timeout=5,
        ).json()["_embedded"]["tasks"]
        done = requests.post(f"{info['ui_url']}/tasks/{tasks[0]['id']}/complete", timeout=5).json()
        (form,) = receiver.wait_for(1)
        assert form["task[update][0][id]"] == str(done["id"])
        assert form["account[_links][self]"] == info["base_url"]
        since = f"filter[updated_at][from]={done['updated_at']}"
        changed = requests.get(f"{info['base_url']}/api/v4/tasks?{since}", headers=auth, timeout=5)
        assert [t["id"] for t in changed.json()["_embedded"]["tasks"]] == [done["id"]]
        events = requests.get(f"{info['base_url']}/api/v4/events", headers=auth, timeout=5)
        assert "task_completed" in [e["type"] for e in events.json()["_embedded"]["events"]]
    finally:
        stop(proc)
