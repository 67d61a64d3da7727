"""``GET /api/v4/events``: what each change records, the filters, pages of at most 100, 204
when none (docs/amocrm.md#events-api)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from flask.testing import FlaskClient

from leoweb_bot.sandbox import Sandbox
from leoweb_bot.sandbox.catalog import ADMIN_ID
from leoweb_bot.sandbox.catalog import FIRST_MANAGER_ID
from leoweb_bot.sandbox.catalog import LOST_STATUS
from tests.kit.fakeclock import FakeClock
from tests.sandbox.kit import NOW

ZELIMKHAN, MILANA = FIRST_MANAGER_ID, FIRST_MANAGER_ID + 1
EVENT_KEYS = {"id", "type", "entity_id", "entity_type", "created_by", "created_at",
              "value_after", "value_before", "account_id", "_links", "_embedded"}  # fmt: skip


def _events(client: FlaskClient, auth: dict[str, str], query: str = "") -> list[dict[str, Any]]:
    response = client.get(f"/api/v4/events?limit=100&{query}", headers=auth)
    if response.status_code == 204:
        return []
    assert response.status_code == 200, response.data
    return response.get_json()["_embedded"]["events"]


def _open_task(sandbox: Sandbox, number: int = 0) -> dict[str, Any]:
    return [t for t in sandbox.data.tasks if not t["is_completed"]][number]


def test_a_fresh_account_has_no_events_yet(client: FlaskClient, auth: dict[str, str]) -> None:
    response = client.get("/api/v4/events", headers=auth)
    assert (response.status_code, response.data) == (204, b"")


def test_an_event_has_the_documented_shape(
    sandbox: Sandbox, client: FlaskClient, auth: dict[str, str], clock: FakeClock
) -> None:
    task = _open_task(sandbox)
    clock.advance(90)
    sandbox.ui.delete_task(task["id"], by=MILANA)
    (event,) = _events(client, auth)
    assert set(event) == EVENT_KEYS
    assert isinstance(event["id"], str) and len(event["id"]) == 26
    assert (event["type"], event["entity_type"], event["entity_id"]) == (
        "task_deleted",
        "task",
        task["id"],
    )
    assert (event["created_by"], event["created_at"], event["account_id"]) == (
        MILANA,
        NOW + 90,
        31000001,
    )
    assert event["_links"]["self"]["href"].endswith(f"/api/v4/events/{event['id']}")
    entity = event["_embedded"]["entity"]
    assert entity["id"] == task["id"]
    assert entity["_links"]["self"]["href"].endswith(f"/api/v4/tasks/{task['id']}")
    alone = client.get(f"/api/v4/events/{event['id']}", headers=auth)
    assert alone.get_json() == event
    assert client.get("/api/v4/events/01zzzzzzzzzzzzzzzzzzzzzzzz", headers=auth).status_code == 204


Recorded = list[tuple[str, list[Any], list[Any]]]  # (type, value_before, value_after)


def _complete(s: Sandbox, task: dict[str, Any]) -> Recorded:
    s.ui.complete_task(task["id"], "Оплата получена", by=ZELIMKHAN)
    result = [{"task_result": {"text": "Оплата получена"}}]
    return [("task_result_added", [], result), ("task_completed", [], [])]  # newest first


def _deadline(s: Sandbox, task: dict[str, Any]) -> Recorded:
    due = task["complete_till"] + 3600
    s.ui.move_deadline(task["id"], due, by=ZELIMKHAN)
    before, after = task["complete_till"], due
    return [("task_deadline_changed", _deadline_value(before), _deadline_value(after))]


def _deadline_value(timestamp: int) -> list[Any]:
    return [{"task_deadline": {"timestamp": timestamp}}]


def _reassign(s: Sandbox, task: dict[str, Any]) -> Recorded:
    before = task["responsible_user_id"]
    after = MILANA if before != MILANA else ZELIMKHAN
    s.ui.reassign_task(task["id"], after, by=ZELIMKHAN)
    values = [[{"responsible_user": {"id": user}}] for user in (before, after)]
    return [("entity_responsible_changed", *values)]


@pytest.mark.parametrize("act", [_complete, _deadline, _reassign])
def test_each_task_change_records_its_events(
    sandbox: Sandbox,
    client: FlaskClient,
    auth: dict[str, str],
    act: Callable[[Sandbox, dict[str, Any]], Recorded],
) -> None:
    task = _open_task(sandbox, 5)
    expected = act(sandbox, task)
    found = _events(client, auth)
    assert {(e["entity_id"], e["created_by"]) for e in found} == {(task["id"], ZELIMKHAN)}
    assert [(e["type"], e["value_before"], e["value_after"]) for e in found] == expected


def test_lead_changes_record_status_and_responsible_events(
    sandbox: Sandbox, client: FlaskClient, auth: dict[str, str]
) -> None:
    lead = next(x for x in sandbox.data.leads if x["status_id"] != LOST_STATUS)
    sandbox.ui.close_lead(lead["id"], won=False)
    other = MILANA if lead["responsible_user_id"] != MILANA else ZELIMKHAN
    sandbox.ui.reassign_lead(lead["id"], other)
    added = sandbox.ui.add_lead("Подготовка к IELTS — Дана К.", ZELIMKHAN, by=ZELIMKHAN)
    found = _events(client, auth, "filter[entity]=lead")
    assert [(e["type"], e["entity_id"]) for e in found] == [
        ("lead_added", added["id"]),
        ("entity_responsible_changed", lead["id"]),
        ("lead_status_changed", lead["id"]),
    ]
    status = found[2]
    assert status["value_before"] == [
        {"lead_status": {"id": lead["status_id"], "pipeline_id": lead["pipeline_id"]}}
    ]
    assert status["value_after"] == [
        {"lead_status": {"id": LOST_STATUS, "pipeline_id": lead["pipeline_id"]}}
    ]
    assert found[1]["value_after"] == [{"responsible_user": {"id": other}}]


def test_deletions_since_a_moment_are_what_a_sync_asks_for(
    sandbox: Sandbox, client: FlaskClient, auth: dict[str, str], clock: FakeClock
) -> None:
    old, new, added_to = (_open_task(sandbox, n)["id"] for n in range(3))
    sandbox.ui.delete_task(old)
    clock.advance(120)
    sandbox.ui.delete_task(new)
    sandbox.ui.move_deadline(added_to, NOW + 7200)
    since = f"filter[created_at][from]={NOW + 60}"
    for types in ("filter[type]=task_deleted", "filter[type][]=task_deleted"):
        found = _events(client, auth, f"filter[entity]=task&{types}&{since}")
        assert [e["entity_id"] for e in found] == [new], types
    both = "filter[type]=task_deleted,task_deadline_changed"
    assert len(_events(client, auth, f"{both}&filter[created_at]={NOW + 60}")) == 2
    assert len(_events(client, auth, f"{both}&filter[created_at]={NOW},{NOW + 59}")) == 1
    by_entity = f"filter[entity][]=task&filter[entity_id][]={old}"
    assert [e["type"] for e in _events(client, auth, by_entity)] == ["task_deleted"]
    assert _events(client, auth, f"filter[created_by]={ADMIN_ID}&filter[type]=lead_added") == []


def test_pages_hold_at_most_100_newest_first_and_more_is_not_an_error(
    sandbox: Sandbox, client: FlaskClient, auth: dict[str, str], clock: FakeClock
) -> None:
    tasks = [t["id"] for t in sandbox.data.tasks if not t["is_completed"]][:130]
    for task_id in tasks:
        clock.advance(1)
        sandbox.ui.move_deadline(task_id, NOW + 86400)
    first = client.get("/api/v4/events?limit=100", headers=auth).get_json()
    second = client.get(first["_links"]["next"]["href"], headers=auth).get_json()
    seen = [e["entity_id"] for e in first["_embedded"]["events"] + second["_embedded"]["events"]]
    assert seen == tasks[::-1]
    assert "next" not in second["_links"]
    # Asking for 250 gets the default 50, as clients saw (Krukov/amocrm_api#76).
    assert len(_page(client, auth, "limit=250")) == 50
    assert len(_page(client, auth, "")) == 50


def _page(client: FlaskClient, auth: dict[str, str], query: str) -> list[Any]:
    body = client.get(f"/api/v4/events?{query}", headers=auth).get_json()
    events: list[Any] = body["_embedded"]["events"]
    return events


@pytest.mark.parametrize(
    ("query", "path"),
    [
        ("filter[entity]=tasks", "filter[entity]"),
        ("filter[entity_id]=5000001", "filter[entity_id]"),
        ("filter[entity][]=task&filter[entity][]=lead&filter[entity_id]=1", "filter[entity_id]"),
        ("filter[created_at][from]=yesterday", "filter[created_at]"),
    ],
)
def test_bad_filters_are_400_naming_the_field(
    client: FlaskClient, auth: dict[str, str], query: str, path: str
) -> None:
    response = client.get(f"/api/v4/events?{query}", headers=auth)
    assert response.status_code == 400
    assert response.get_json()["validation-errors"][0]["errors"][0]["path"] == path
