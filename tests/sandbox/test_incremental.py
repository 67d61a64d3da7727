"""What an incremental sync reads: ``filter[updated_at]`` windows, ``filter[id][]`` batches,
leads by ``order[updated_at]``, deletions that leave every list (docs/amocrm.md#incremental-sync)."""

from __future__ import annotations

from typing import Any

from flask.testing import FlaskClient

from leoweb_bot.sandbox import Sandbox
from leoweb_bot.sandbox.catalog import FIRST_MANAGER_ID
from leoweb_bot.sandbox.catalog import WON_STATUS
from tests.kit.fakeclock import FakeClock
from tests.sandbox.kit import NOW

ZELIMKHAN, MILANA = FIRST_MANAGER_ID, FIRST_MANAGER_ID + 1


def _all(client: FlaskClient, url: str, auth: dict[str, str], key: str) -> list[dict[str, Any]]:
    """Every row of a listing, following ``_links.next``; [] for a 204."""
    rows: list[dict[str, Any]] = []
    while url:
        response = client.get(url, headers=auth)
        if response.status_code == 204:
            return rows
        assert response.status_code == 200, response.data
        rows += response.get_json()["_embedded"][key]
        url = response.get_json()["_links"].get("next", {}).get("href")
    return rows


def _open(sandbox: Sandbox, count: int) -> list[int]:
    return [t["id"] for t in sandbox.data.tasks if not t["is_completed"]][:count]


def test_a_window_lists_the_tasks_changed_in_it_completed_ones_included(
    sandbox: Sandbox, client: FlaskClient, auth: dict[str, str], clock: FakeClock
) -> None:
    done, moved, handed = _open(sandbox, 3)
    clock.advance(60)
    sandbox.ui.complete_task(done, "Договор подписан", by=ZELIMKHAN)
    clock.advance(60)
    sandbox.ui.move_deadline(moved, NOW + 86400)
    sandbox.ui.reassign_task(handed, MILANA)

    def ids(query: str) -> list[int]:
        return [t["id"] for t in _all(client, f"/api/v4/tasks?{query}", auth, "tasks")]

    assert ids(f"filter[updated_at][from]={NOW + 1}") == [done, moved, handed]
    assert ids(f"filter[updated_at]={NOW + 61}") == [moved, handed]
    assert ids(f"filter[updated_at][from]={NOW + 1}&filter[updated_at][to]={NOW + 60}") == [done]
    # With the usual is_completed=0 a poll would never see the completion.
    assert ids(f"filter[updated_at][from]={NOW + 1}&filter[is_completed]=0") == [moved, handed]
    (completed,) = _all(client, f"/api/v4/tasks?filter[id][]={done}", auth, "tasks")
    assert completed["is_completed"] is True
    assert completed["result"] == {"text": "Договор подписан"}
    assert (completed["updated_at"], completed["updated_by"]) == (NOW + 60, ZELIMKHAN)


def test_bounds_are_inclusive_and_the_window_reaches_the_newest_change(
    sandbox: Sandbox, client: FlaskClient, auth: dict[str, str], clock: FakeClock
) -> None:
    (task,) = _open(sandbox, 1)
    clock.advance(30)
    sandbox.ui.move_deadline(task, NOW + 3600)
    for query in (f"={NOW + 30}", f"[from]={NOW + 30}", f"[to]={NOW + 30}&filter[id]={task}"):
        found = _all(client, f"/api/v4/tasks?filter[updated_at]{query}", auth, "tasks")
        assert task in [t["id"] for t in found], query
    later = client.get(f"/api/v4/tasks?filter[updated_at]={NOW + 31}", headers=auth)
    assert (later.status_code, later.data) == (204, b"")


def test_a_deleted_task_leaves_every_list(
    sandbox: Sandbox, client: FlaskClient, auth: dict[str, str], clock: FakeClock
) -> None:
    kept, gone = _open(sandbox, 2)
    clock.advance(60)
    sandbox.ui.move_deadline(kept, NOW + 7200)
    sandbox.ui.delete_task(gone)
    window = _all(client, f"/api/v4/tasks?filter[updated_at][from]={NOW + 1}", auth, "tasks")
    assert [t["id"] for t in window] == [kept]
    assert client.get(f"/api/v4/tasks/{gone}", headers=auth).status_code == 204
    batch = _all(client, f"/api/v4/tasks?filter[id][]={gone}&filter[id][]={kept}", auth, "tasks")
    assert [t["id"] for t in batch] == [kept]
    everything = _all(client, "/api/v4/tasks?limit=250", auth, "tasks")
    assert gone not in {t["id"] for t in everything}
    assert len(everything) == len(sandbox.data.tasks)


def test_filter_id_rereads_a_batch_of_tasks_and_of_leads(
    sandbox: Sandbox, client: FlaskClient, auth: dict[str, str]
) -> None:
    tasks = [t["id"] for t in sandbox.data.tasks[10:13]]
    query = "&".join(f"filter[id][]={i}" for i in [*reversed(tasks), 999])
    assert [t["id"] for t in _all(client, f"/api/v4/tasks?{query}", auth, "tasks")] == tasks
    leads = [lead["id"] for lead in sandbox.data.leads[3:5]]
    query = "&".join(f"filter[id][{n}]={i}" for n, i in enumerate(leads))
    assert [x["id"] for x in _all(client, f"/api/v4/leads?{query}", auth, "leads")] == leads


def test_leads_changed_since_come_in_updated_at_order(
    sandbox: Sandbox, client: FlaskClient, auth: dict[str, str], clock: FakeClock
) -> None:
    first, second, third = (lead["id"] for lead in sandbox.data.leads[:3])
    clock.advance(10)
    sandbox.ui.reassign_lead(third, MILANA)
    clock.advance(10)
    sandbox.ui.close_lead(first, won=sandbox.data.leads[0]["status_id"] != WON_STATUS)
    clock.advance(10)
    added = sandbox.ui.add_lead("Летний лагерь в Англии — Алия С.", ZELIMKHAN)
    url = f"/api/v4/leads?filter[updated_at][from]={NOW + 1}&order[updated_at]="
    ascending = [x["id"] for x in _all(client, url + "asc", auth, "leads")]
    assert ascending == [third, first, added["id"]]
    assert [x["id"] for x in _all(client, url + "desc", auth, "leads")] == ascending[::-1]
    assert second not in ascending
    assert added["updated_at"] == added["created_at"] == NOW + 30


def test_tasks_cannot_be_ordered_by_updated_at(client: FlaskClient, auth: dict[str, str]) -> None:
    response = client.get("/api/v4/tasks?order[updated_at]=asc", headers=auth)
    assert response.status_code == 400
    assert response.get_json()["validation-errors"][0]["errors"][0]["path"] == "order[updated_at]"


def test_a_new_or_deleted_task_moves_its_leads_nearest_deadline(
    sandbox: Sandbox, client: FlaskClient, auth: dict[str, str]
) -> None:
    lead = sandbox.data.leads[0]
    before = lead["closest_task_at"]
    task = sandbox.ui.add_task(
        "Позвонить маме", NOW + 600, ZELIMKHAN, entity_type="leads", entity_id=lead["id"]
    )
    fresh = client.get(f"/api/v4/leads/{lead['id']}", headers=auth).get_json()
    assert fresh["closest_task_at"] == NOW + 600
    assert fresh["updated_at"] == lead["updated_at"]  # the lead itself did not change
    sandbox.ui.delete_task(task["id"])
    again = client.get(f"/api/v4/leads/{lead['id']}", headers=auth).get_json()
    assert again["closest_task_at"] == before


def test_a_window_at_100k_tasks_holds_just_the_changes() -> None:
    # How fast such a page is answered is measured, not asserted (machines are noisy); this
    # checks that the updated_at index stays right at the size benchmarks use.
    clock = FakeClock(NOW)
    sandbox = Sandbox(tasks=100_000, now=NOW, clock=clock.time, rate_limit=0)
    client = sandbox.app.test_client()
    auth = {"Authorization": f"Bearer {sandbox.credentials.token}"}
    changed = _open(sandbox, 100_000)[::331]  # 303 tasks across the whole id range
    for task_id in changed:
        clock.advance(1)
        sandbox.ui.move_deadline(task_id, NOW + 86400)
    window = _all(
        client, f"/api/v4/tasks?filter[updated_at][from]={NOW + 1}&limit=250", auth, "tasks"
    )
    assert [t["id"] for t in window] == changed
