"""The bootstrap: a full scan, a page per step, read from the last page down, resumable.

Screens read amoCRM live until it is complete, the mirror after; a change in amoCRM during the
scan loses nothing, and a process killed mid-scan is followed by one that goes on from there.
"""

from __future__ import annotations

import re
from pathlib import Path

from leoweb_bot.state.progress import Progress
from tests.sync.kit import open_task_ids
from tests.sync.kit import rig


def task_pages(requests: list[tuple[str, str]]) -> list[int]:
    """The page numbers of the open-task listings among the sandbox's requests, in order."""
    pages = []
    for method, path in requests:
        if method == "GET" and path.startswith("/api/v4/tasks?") and "is_completed" in path:
            pages.append(int(re.search(r"page=(\d+)", path).group(1)))  # type: ignore[union-attr]
    return pages


def test_screens_read_amocrm_live_until_the_bootstrap_is_complete(tmp_path: Path) -> None:
    with rig(tmp_path, tasks=1100) as r:
        assert r.client.freshness() is None
        before = r.sandbox.request_count
        assert r.mirrored() == r.truth()  # answered live: amoCRM was asked
        assert r.sandbox.request_count > before + 2
        for _ in range(4):  # users and pipelines, then the open tasks' last page, then pages
            r.sync.step()
        assert r.client.freshness() is None and not r.sync.bootstrapped()
        assert Progress(r.syncing.runner.progress.state).health(r.clock())["state"] == "bootstrap"

        requests = r.bootstrap()

        assert r.client.freshness() is not None
        before = r.sandbox.request_count
        mirrored = r.mirrored()
        assert r.sandbox.request_count == before  # the mirror answered
        assert mirrored == r.truth() and mirrored["total_overdue"] > 0
        assert r.open_tasks(r.client) == r.open_tasks(r.live)
        # 5 pages of tasks (250 each), 1 of leads: each read once, plus the search for the end
        # and the catalog (users, pipelines).
        assert requests < 25


def test_the_scan_reads_pages_downwards_after_finding_the_last(tmp_path: Path) -> None:
    with rig(tmp_path, tasks=2100) as r:  # 9 pages of 250, the last one short
        r.bootstrap()
        pages = task_pages(r.sandbox.requests_log)
        search, scan = [1, 2, 4, 8, 16, 12, 10, 9], [9, 8, 7, 6, 5, 4, 3, 2, 1]
        assert pages == [*search, *scan]  # doubling then halving, then downwards
        # the next full scan starts its search from the last one's end
        r.sandbox.requests_log.clear()
        r.sync._start_full(r.clock())
        r.step_until_idle()
        assert task_pages(r.sandbox.requests_log) == [9, 9, 8, 7, 6, 5, 4, 3, 2, 1]


def test_tasks_closed_or_added_during_the_scan_cost_no_unchanged_task(tmp_path: Path) -> None:
    with rig(tmp_path, tasks=1900) as r:
        ids = open_task_ids(r.sandbox, 1900)
        for _ in range(8):  # catalog, the search for the last page, pages 8 to 3
            r.sync.step()
        # Below the place reached. Read upwards, each would slide an unchanged task from an
        # unread page into one already read, and it would be missed.
        for task_id in ids[:120]:
            r.sandbox.ui.complete_task(task_id)
        for task_id in ids[120:140]:
            r.sandbox.ui.delete_task(task_id)
        for task_id in ids[-10:]:  # above it, in pages already read
            r.sandbox.ui.complete_task(task_id)
        added = r.sandbox.ui.add_task("Новая", int(r.clock()) + 3600, r.live.users().popitem()[0])
        r.bootstrap()

        mirrored, live = r.open_tasks(r.client), r.open_tasks(r.live)
        assert set(live) - set(mirrored) == {added["id"]}  # new: the first cycle brings it
        assert set(mirrored) - set(live) == set(ids[-10:])  # read before they closed
        r.next_cycle()
        assert r.open_tasks(r.client) == r.open_tasks(r.live)


def test_a_killed_bootstrap_goes_on_from_the_page_it_reached(tmp_path: Path) -> None:
    with rig(tmp_path, tasks=1900) as r:
        for _ in range(6):  # catalog, search, pages 8..5
            r.sync.step()
        scan = r.syncing.runner.progress.scan("tasks")
        assert scan is not None and scan.next_page == 4
        r.sandbox.requests_log.clear()

        second = r.restart()  # SIGKILL: a new process, same state db
        second.bootstrap()

        assert task_pages(r.sandbox.requests_log) == [4, 3, 2, 1]  # no page read twice
        assert second.open_tasks(second.client) == second.open_tasks(second.live)
        assert second.mirrored() == second.truth()
