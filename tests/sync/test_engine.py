"""What the sync does when: the daily reconcile, a full scan after a long stop, API v2's full
scans, users it does not know, and one sync per server (the lease)."""

from __future__ import annotations

import re
from pathlib import Path

from leoweb_bot.state.progress import Progress
from leoweb_bot.sync.runner import LEASE_RETRY
from leoweb_bot.sync.runner import LEASE_SECONDS
from leoweb_bot.sync.runner import SyncRunner
from tests.kit.proactive import at
from tests.sync.kit import Rig
from tests.sync.kit import open_task_ids
from tests.sync.kit import rig

TZ = "Asia/Almaty"


def full_scans(r: Rig) -> int:
    """How many full scans of tasks began, by the first page of their search for the end."""
    paths = [p for m, p in r.sandbox.requests_log if p.startswith("/api/v4/tasks?")]
    return sum(1 for p in paths if "is_completed" in p and re.search(r"[?&]page=1(&|$)", p)) or 0


def test_the_daily_reconcile_repairs_what_the_events_did_not_say(tmp_path: Path) -> None:
    with rig(tmp_path, reconcile_at="03:30") as r:
        r.bootstrap()
        r.next_cycle()
        (lost,) = open_task_ids(r.sandbox, 1, overdue=True)
        r.sandbox.ui.delete_task(lost)
        # its event expired before we asked: the deletions cursor is past it
        Progress(r.states[0]).set_cursor("deletions", int(r.clock()) + 3600)
        r.next_cycle()
        assert lost in r.open_tasks(r.client)

        r.sandbox.requests_log.clear()
        r.clock.now = at(TZ, 2026, 11, 26, 3, 29)
        r.step_until_idle()
        assert full_scans(r) == 0
        r.clock.now = at(TZ, 2026, 11, 26, 3, 30)
        r.step_until_idle()
        assert full_scans(r) == 1
        assert lost not in r.open_tasks(r.client)
        assert r.open_tasks(r.client) == r.open_tasks(r.live)
        r.clock.now = at(TZ, 2026, 11, 26, 4, 30)
        r.step_until_idle()
        assert full_scans(r) == 1  # once a day


def test_a_reconcile_missed_by_hours_waits_for_the_next_night(tmp_path: Path) -> None:
    with rig(tmp_path, reconcile_at="03:30") as r:
        r.bootstrap()
        r.sandbox.requests_log.clear()
        r.clock.now = at(TZ, 2026, 11, 26, 6, 0)  # down over the night
        r.step_until_idle()
        assert full_scans(r) == 0
        r.clock.now = at(TZ, 2026, 11, 27, 3, 45)
        r.step_until_idle()
        assert full_scans(r) == 1


def test_after_a_stop_longer_than_events_are_kept_it_scans_in_full(tmp_path: Path) -> None:
    with rig(tmp_path, reconcile_at="03:30") as r:
        r.bootstrap()
        r.next_cycle()
        r.sandbox.requests_log.clear()
        r.clock.now += 25 * 3600
        r.step_until_idle()
        assert full_scans(r) == 1
        assert r.open_tasks(r.client) == r.open_tasks(r.live)


def test_api_v2_is_mirrored_by_full_scans(tmp_path: Path) -> None:
    with rig(tmp_path, auth="session", tasks=700) as r:
        r.bootstrap()
        assert r.sync.step() > 0  # the next full scan waits for the interval
        assert r.mirrored() == r.truth()
        (task_id,) = open_task_ids(r.sandbox, 1, overdue=True)
        r.sandbox.ui.complete_task(task_id)
        r.next_cycle()
        assert r.mirrored() == r.truth()
        fresh = r.client.freshness()
        assert fresh is not None and fresh.stale_since is None


def test_a_user_the_mirror_does_not_know_makes_it_read_the_users_again(tmp_path: Path) -> None:
    with rig(tmp_path) as r:
        r.bootstrap()
        r.next_cycle()
        (task_id,) = open_task_ids(r.sandbox, 1, overdue=True)
        newcomer = max(r.live.users())
        with r.states[0].transaction() as conn:  # the mirror's copy predates this user
            conn.execute("DELETE FROM mirror_users WHERE id = ?", (newcomer,))
        r.sandbox.ui.reassign_task(task_id, newcomer)
        r.clock.now += 600
        r.step_until_idle()
        assert newcomer in r.client.users()
        assert r.mirrored() == r.truth()


def test_one_process_syncs_and_another_takes_over_when_it_dies(tmp_path: Path) -> None:
    with rig(tmp_path) as r:
        other = r.restart()
        first = SyncRunner(r.sync, r.syncing.runner.progress, clock=r.clock, owner="a")
        second = SyncRunner(other.sync, other.syncing.runner.progress, clock=r.clock, owner="b")
        assert first.run_once() == 0  # it holds the lease and works
        before = r.sandbox.request_count
        assert second.run_once() == LEASE_RETRY
        assert r.sandbox.request_count == before  # the other only looked at the lease
        r.clock.now += LEASE_SECONDS  # "a" was killed: nothing renews its lease
        while second.run_once() == 0:
            pass
        assert other.sync.bootstrapped()
        assert other.mirrored() == other.truth()


def test_a_stopped_runner_gives_the_lease_back(tmp_path: Path) -> None:
    with rig(tmp_path) as r:
        runner = r.syncing.runner
        runner.start()
        assert runner.stop()
        assert Progress(r.states[0]).lease_owner(r.clock()) is None
