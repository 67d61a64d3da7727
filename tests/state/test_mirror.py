"""The mirror tables: rows never go back in time, open lists, sweeps, and the sync's progress
(cursors, failures, the lease, 🔄 requests, webhook ids)."""

from __future__ import annotations

import os
import socket
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from leoweb_bot.state import State
from leoweb_bot.state.mirror import LeadRow
from leoweb_bot.state.mirror import Mirror
from leoweb_bot.state.mirror import PipelineRow
from leoweb_bot.state.mirror import StageRow
from leoweb_bot.state.mirror import TaskRow
from leoweb_bot.state.mirror import UserRow
from leoweb_bot.state.owners import owner_id
from leoweb_bot.state.progress import Progress

NOW = 1_800_000_000.0


@pytest.fixture
def state(tmp_path: Path) -> Iterator[State]:
    state = State(tmp_path / "state.sqlite3")
    yield state
    state.close()


@pytest.fixture
def mirror(state: State) -> Mirror:
    return Mirror(state)


@pytest.fixture
def progress(state: State) -> Progress:
    return Progress(state)


def task(
    task_id: int,
    updated_at: int = 100,
    *,
    due: int | None = 1000,
    user: int = 7,
    done: bool = False,
    lead: int | None = None,
) -> TaskRow:
    entity = ("leads", lead) if lead else (None, None)
    return TaskRow(task_id, user, due, done, *entity, 1, f"task {task_id}", updated_at)


def open_ids(mirror: Mirror, **query: int) -> list[int]:
    return [row.id for row in mirror.open_tasks(**query)]


def test_a_row_is_replaced_only_by_a_later_copy(mirror: Mirror) -> None:
    mirror.put("tasks", [task(1, 200, due=1000)], NOW)
    mirror.put("tasks", [task(1, 150, due=5000)], NOW)  # read before the change, written after
    assert mirror.open_tasks()[0].complete_till == 1000
    mirror.put("tasks", [task(1, 200, due=3000)], NOW)  # the same moment again: still wins
    mirror.put("tasks", [task(1, 250, due=2000)], NOW)
    assert mirror.open_tasks() == [task(1, 250, due=2000)]


def test_open_lists_soonest_first_filtered_by_deadline_user_and_lead(mirror: Mirror) -> None:
    mirror.put(
        "tasks",
        [
            task(1, due=300), task(2, due=100, user=8), task(3, due=None), task(4, due=100),
            task(5, due=50, done=True), task(6, due=200, lead=42),
        ],
        NOW,
    )  # fmt: skip
    assert open_ids(mirror) == [2, 4, 6, 1, 3]  # no deadline last; a tie by id
    assert open_ids(mirror, due_before=300) == [2, 4, 6]
    assert open_ids(mirror, due_before=300, responsible_user_id=7) == [4, 6]
    assert open_ids(mirror, lead_id=42) == [6]
    assert mirror.counts() == {"tasks": 5, "leads": 0}


def test_our_completion_hides_the_task_and_no_older_copy_brings_it_back(mirror: Mirror) -> None:
    mirror.put("tasks", [task(1, 100), task(2, 100)], NOW)
    mirror.complete_task(1, 180, NOW)
    assert open_ids(mirror) == [2]
    mirror.put("tasks", [task(1, 100), task(1, 180)], NOW)  # a poll that began before
    assert open_ids(mirror) == [2]
    mirror.put("tasks", [task(1, 300)], NOW)  # reopened in amoCRM later
    assert open_ids(mirror) == [1, 2]


def test_a_deletion_is_final_unless_amocrm_shows_a_later_copy(mirror: Mirror) -> None:
    lead = LeadRow(9, 2, 1, "Сделка", 100, 7, 10, None, 100)
    mirror.put("leads", [lead], NOW)
    mirror.put("tasks", [task(1, 100)], NOW)
    mirror.bury("tasks", [(1, 150)], NOW)
    mirror.bury("leads", [(9, 150)], NOW)
    mirror.put("tasks", [task(1, 150)], NOW)  # as old as the deletion: stays buried
    mirror.put("leads", [lead._replace(updated_at=120)], NOW)
    assert open_ids(mirror) == [] and mirror.leads() == []
    mirror.put("leads", [lead._replace(updated_at=200)], NOW)  # restored from the trash
    assert mirror.leads() == [lead._replace(updated_at=200)]


def test_a_sweep_drops_what_the_scan_missed_but_not_what_changed_since(mirror: Mirror) -> None:
    mirror.put("tasks", [task(1), task(2), task(3)], NOW - 100)  # before the scan
    mirror.put("tasks", [task(1), task(2)], NOW, scan=5)  # the scan saw 1 and 2
    mirror.put("tasks", [task(4)], NOW + 10)  # a poll during the scan
    assert mirror.sweep("tasks", 5, NOW) == 1
    assert open_ids(mirror) == [1, 2, 4]


def test_prune_forgets_old_tombstones_and_leads_closed_before_the_funnel_months(
    mirror: Mirror,
) -> None:
    mirror.put("tasks", [task(1), task(2), task(3)], NOW)
    mirror.complete_task(1, 200, NOW)
    mirror.complete_task(2, 200, NOW + 500)
    old = LeadRow(8, 2, 142, "Старая", 0, 7, 10, 1000, 100)
    mirror.put("leads", [old, old._replace(id=9, closed_at=None, status_id=1)], NOW)
    assert mirror.prune(NOW + 100, leads_closed_before=2000) == 2
    assert [row[0] for row in mirror.state.query("SELECT id FROM mirror_tasks")] == [2, 3]
    assert [lead.id for lead in mirror.leads()] == [9]


def test_users_and_pipelines_are_replaced_whole(mirror: Mirror) -> None:
    mirror.put_users([UserRow(1, "Зелимхан", False, True), UserRow(2, "Милана", True, False)])
    mirror.put_users([UserRow(2, "Милана", True, False)])
    assert mirror.users() == [UserRow(2, "Милана", True, False)]
    stages = [StageRow(5, 142, "Успешно", 10000, 0), StageRow(5, 11, "Первичный контакт", 10, 0)]
    mirror.put_pipelines(
        [PipelineRow(5, "Продажи", True, False), PipelineRow(3, "Архив", False, True)], stages
    )
    (sales, sales_stages), (archive, none) = mirror.pipelines()
    assert (sales.name, [s.id for s in sales_stages]) == ("Продажи", [11, 142])  # board order
    assert (archive.is_archive, none) == (True, [])


# -- progress ---------------------------------------------------------------------------------


def test_a_cursor_moves_only_forward_and_a_failure_keeps_its_first_time(
    progress: Progress,
) -> None:
    progress.succeeded("tasks", NOW, 500)
    progress.succeeded("tasks", NOW + 60, 400)  # a window that saw only older rows
    progress.succeeded("tasks", NOW + 120)  # one that saw nothing
    assert (progress.status("tasks").cursor, progress.status("tasks").synced_at) == (500, NOW + 120)
    progress.failed("tasks", NOW + 180, "Unavailable: 503")
    progress.failed("tasks", NOW + 240, "Unavailable: timeout")
    status = progress.status("tasks")
    assert (status.failed_at, status.error, status.synced_at) == (
        NOW + 180,
        "Unavailable: timeout",
        NOW + 120,
    )
    progress.succeeded("tasks", NOW + 300)
    assert progress.status("tasks").failed_at is None


def test_one_process_holds_the_lease_until_it_lapses_or_is_released(progress: Progress) -> None:
    assert progress.take_lease("a", NOW, 120)
    assert not progress.take_lease("b", NOW + 60, 120)
    assert progress.take_lease("a", NOW + 60, 120)  # renewed
    assert not progress.take_lease("b", NOW + 179, 120)
    assert progress.take_lease("b", NOW + 180, 120)  # a died: b takes over
    assert progress.lease_owner(NOW + 200) == "b"
    progress.release_lease("b")
    assert progress.take_lease("a", NOW + 201, 120)
    assert progress.take_lease("b", NOW - 3600, 120)  # a's expiry is an hour ahead: clock went back


def test_a_refresh_request_stands_for_the_gap(progress: Progress) -> None:
    assert progress.ask("refresh", NOW, 10) == int(NOW)
    assert progress.ask("refresh", NOW + 5, 10) == int(NOW)  # pressed again: the first stands
    assert progress.ask("refresh", NOW + 10, 10) == int(NOW) + 10


def test_webhook_ids_are_served_oldest_first_and_an_id_asked_again_stays(
    progress: Progress,
) -> None:
    assert progress.want("tasks", [3, 1], NOW) == 2
    assert progress.want("tasks", [1], NOW + 1) == 0  # already waiting
    progress.want("leads", [9], NOW + 2)
    wanted = progress.wanted(10)
    assert wanted == [("tasks", 1, NOW), ("tasks", 3, NOW), ("leads", 9, NOW + 2)]
    progress.state.query("SELECT 1")
    with progress.state.transaction() as conn:  # asked again while being read
        conn.execute("UPDATE sync_wanted SET asked_at = ? WHERE id = 3", (NOW + 5,))
    progress.served(wanted)
    assert progress.wanted(10) == [("tasks", 3, NOW + 5)]


def test_a_scan_keeps_its_place_and_a_new_one_gets_a_new_generation(progress: Progress) -> None:
    first = progress.start_scan("tasks", NOW)
    progress.scanned("tasks", 7, 8, 250)
    scan = progress.scan("tasks")
    assert scan is not None and (scan.next_page, scan.last_page, scan.rows_read) == (7, 8, 250)
    progress.finish_scan("tasks", NOW + 60)
    assert progress.scan("tasks").done  # type: ignore[union-attr]
    second = progress.start_scan("tasks", NOW + 3600)
    assert second.generation == first.generation + 1 and second.next_page is None
    assert progress.health(NOW)["state"] == "bootstrap"


def test_a_lease_of_a_process_of_this_host_that_died_is_taken_at_once(progress: Progress) -> None:
    child = subprocess.Popen(["true"])
    dead = owner_id(socket.gethostname(), child.pid, "sync")  # tagged while it runs
    child.wait()  # and reaped: that pid is gone
    assert progress.take_lease(dead, NOW, 120)
    assert progress.take_lease(owner_id(socket.gethostname(), os.getpid(), "sync"), NOW + 1, 120)
    elsewhere = f"otherhost:{os.getpid()}:sync"  # not ours to judge: wait for the expiry
    progress.release_lease(progress.lease_owner(NOW + 1) or "")
    assert progress.take_lease(elsewhere, NOW, 120)
    assert not progress.take_lease("me", NOW + 1, 120)
