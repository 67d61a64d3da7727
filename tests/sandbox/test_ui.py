"""The person at amoCRM's web UI: ``sandbox.ui`` in Python and ``POST /_sandbox/ui/…`` over
HTTP change the data as clicks would, on the sandbox clock, and refuse what the UI would."""

from __future__ import annotations

from typing import Any

import pytest
from flask.testing import FlaskClient

from leoweb_bot.sandbox import Sandbox
from leoweb_bot.sandbox.catalog import ADMIN_ID
from leoweb_bot.sandbox.catalog import DELETED_USER_ID
from leoweb_bot.sandbox.catalog import FIRST_MANAGER_ID
from leoweb_bot.sandbox.catalog import REPEAT_PIPELINE_ID
from leoweb_bot.sandbox.catalog import SALES_PIPELINE_ID
from leoweb_bot.sandbox.catalog import WON_STATUS
from leoweb_bot.sandbox.events import EventQuery
from tests.kit.fakeclock import FakeClock
from tests.sandbox.kit import NOW

ZELIMKHAN, MILANA = FIRST_MANAGER_ID, FIRST_MANAGER_ID + 1


def _open_task(sandbox: Sandbox) -> dict[str, Any]:
    return next(t for t in sandbox.data.tasks if not t["is_completed"])


def _stored(sandbox: Sandbox, kind: str, entity_id: int) -> dict[str, Any]:
    found = sandbox.store.get(kind, entity_id)
    assert found is not None
    return found


def test_each_click_moves_updated_at_to_the_sandbox_clock(
    sandbox: Sandbox, clock: FakeClock
) -> None:
    task = _open_task(sandbox)
    steps = [
        lambda: sandbox.ui.move_deadline(task["id"], NOW + 3600, by=ZELIMKHAN),
        lambda: sandbox.ui.reassign_task(task["id"], MILANA, by=ZELIMKHAN),
        lambda: sandbox.ui.complete_task(task["id"], by=MILANA),
    ]
    for step in steps:
        clock.advance(45)
        changed = step()
        assert changed["updated_at"] == clock.now
        assert _stored(sandbox, "tasks", task["id"]) == changed
    assert (changed["complete_till"], changed["responsible_user_id"]) == (NOW + 3600, MILANA)
    assert (changed["is_completed"], changed["result"], changed["updated_by"]) == (
        True,
        {"text": ""},
        MILANA,
    )


def test_added_entities_get_fresh_ids_and_the_clicking_user(
    sandbox: Sandbox, clock: FakeClock
) -> None:
    lead = sandbox.ui.add_lead("Колледж в Канаде — Тимур А.", ZELIMKHAN, price=2_500_000)
    assert lead["id"] == max(x["id"] for x in sandbox.data.leads)
    assert (lead["pipeline_id"], lead["status_id"]) == (SALES_PIPELINE_ID, 40000102)  # not unsorted
    clock.advance(5)
    task = sandbox.ui.add_task(
        "Отправить договор",
        NOW + 86400,
        ZELIMKHAN,
        entity_type="leads",
        entity_id=lead["id"],
        by=ZELIMKHAN,
    )
    assert task["id"] == max(t["id"] for t in sandbox.data.tasks)
    assert (task["created_by"], task["created_at"], task["result"]) == (ZELIMKHAN, NOW + 5, [])
    assert _stored(sandbox, "leads", lead["id"])["closest_task_at"] == NOW + 86400


def test_closing_a_lead_stamps_closed_at_and_reopening_clears_it(
    sandbox: Sandbox, clock: FakeClock
) -> None:
    lead = next(x for x in sandbox.data.leads if x["closed_at"] is None)
    clock.advance(60)
    won = sandbox.ui.close_lead(lead["id"], won=True)
    assert (won["status_id"], won["closed_at"]) == (WON_STATUS, NOW + 60)
    reopened = sandbox.ui.move_lead(lead["id"], lead["status_id"])
    assert reopened["closed_at"] is None
    moved = sandbox.ui.move_lead(lead["id"], 40000202, pipeline_id=REPEAT_PIPELINE_ID)
    assert (moved["pipeline_id"], moved["status_id"]) == (REPEAT_PIPELINE_ID, 40000202)


@pytest.mark.parametrize(
    ("click", "error"),
    [
        (lambda ui: ui.complete_task(1), LookupError),
        (lambda ui: ui.reassign_lead(21000001, DELETED_USER_ID), ValueError),
        (lambda ui: ui.move_deadline(5000001, NOW, by=42), ValueError),
        (lambda ui: ui.move_lead(21000001, 40000202), ValueError),  # a stage of another pipeline
        (lambda ui: ui.add_task(" ", NOW, FIRST_MANAGER_ID), ValueError),
        (lambda ui: ui.add_task("x", NOW, FIRST_MANAGER_ID, entity_type="leads"), ValueError),
        (
            lambda ui: ui.add_task("x", NOW, FIRST_MANAGER_ID, entity_type="leads", entity_id=7),
            LookupError,
        ),
        (lambda ui: ui.add_lead("x", FIRST_MANAGER_ID, pipeline_id=1), ValueError),
    ],
)
def test_what_the_ui_would_not_allow_is_refused_and_changes_nothing(
    sandbox: Sandbox, click: Any, error: type[Exception]
) -> None:
    tasks, leads = len(sandbox.data.tasks), [dict(x) for x in sandbox.data.leads]
    with pytest.raises(error):
        click(sandbox.ui)
    assert len(sandbox.data.tasks) == tasks and sandbox.data.leads == leads
    assert sandbox.events.select(EventQuery()) == []


def test_a_task_cannot_be_completed_twice(sandbox: Sandbox) -> None:
    task = _open_task(sandbox)
    sandbox.ui.complete_task(task["id"])
    with pytest.raises(ValueError, match="already completed"):
        sandbox.ui.complete_task(task["id"])


# --- over HTTP -------------------------------------------------------------------------------


def test_http_clicks_need_no_token_and_are_not_api_requests(
    sandbox: Sandbox, client: FlaskClient, clock: FakeClock
) -> None:
    sandbox.limiter.limit = 1  # no API budget at all after one request
    task = _open_task(sandbox)
    clock.advance(30)
    paths = [
        (f"tasks/{task['id']}/deadline", {"complete_till": NOW + 600}),
        (f"tasks/{task['id']}/responsible", {"responsible_user_id": MILANA, "by": ZELIMKHAN}),
        (f"tasks/{task['id']}/complete", {"result": "Клиент подтвердил встречу"}),
    ]
    for path, body in paths:
        response = client.post(f"/_sandbox/ui/{path}", json=body)
        assert response.status_code == 200, response.data
    done = response.get_json()
    assert (done["is_completed"], done["result"], done["updated_at"]) == (
        True,
        {"text": "Клиент подтвердил встречу"},
        NOW + 30,
    )
    assert sandbox.request_count == 0
    deleted = client.post(f"/_sandbox/ui/tasks/{task['id']}/delete")
    assert deleted.get_json()["id"] == task["id"]
    assert sandbox.store.get("tasks", task["id"]) is None


def test_http_adds_and_moves_leads_and_tasks(sandbox: Sandbox, client: FlaskClient) -> None:
    body = {"name": "Школа-пансион в Швейцарии", "responsible_user_id": ZELIMKHAN, "price": 10}
    lead = client.post("/_sandbox/ui/leads", json=body)
    assert lead.status_code == 201
    lead_id = lead.get_json()["id"]
    task = client.post(
        "/_sandbox/ui/tasks",
        json={"text": "Перезвонить клиенту", "complete_till": NOW + 900,
              "responsible_user_id": ZELIMKHAN, "entity_type": "leads", "entity_id": lead_id},
    )  # fmt: skip
    assert task.status_code == 201 and task.get_json()["entity_id"] == lead_id
    moved = client.post(f"/_sandbox/ui/leads/{lead_id}/status", json={"status_id": 40000104})
    assert moved.get_json()["status_id"] == 40000104
    handed = client.post(
        f"/_sandbox/ui/leads/{lead_id}/responsible", json={"responsible_user_id": MILANA}
    )
    assert handed.get_json()["responsible_user_id"] == MILANA
    closed = client.post(f"/_sandbox/ui/leads/{lead_id}/close", json={"won": False, "by": ADMIN_ID})
    assert closed.get_json()["status_id"] == 143


@pytest.mark.parametrize(
    ("path", "body", "status", "detail"),
    [
        ("tasks/1/complete", {}, 404, "no task 1"),
        ("leads/1/close", {"won": True}, 404, "no lead 1"),
        ("tasks/5000001/deadline", {"complete_till": "tomorrow"}, 400, "complete_till must be"),
        ("tasks/5000001/responsible", {"responsible_user_id": 7}, 400, "no user 7"),
        ("leads/21000001/close", {"won": "yes"}, 400, "won must be true or false"),
        ("tasks", [1, 2], 400, "send a JSON object"),
    ],
)
def test_http_refusals_are_problem_json(
    client: FlaskClient, path: str, body: Any, status: int, detail: str
) -> None:
    response = client.post(f"/_sandbox/ui/{path}", json=body)
    assert response.status_code == status
    assert response.content_type == "application/problem+json"
    assert response.get_json()["detail"].startswith(detail)
