"""Correctness under change: after what a person does in amoCRM's web UI, one incremental
cycle (three requests) makes the screens' report equal amoCRM's own; webhooks make it within
the next step; a failing amoCRM shows as staleness, never as other numbers."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from leoweb_bot.amocrm.errors import Unavailable
from leoweb_bot.sandbox import Sandbox
from leoweb_bot.state.progress import Progress
from tests.kit.proactive import MILANA
from tests.kit.proactive import ZELIMKHAN
from tests.sync.kit import open_task_ids
from tests.sync.kit import rig


def test_one_cycle_after_changes_in_the_web_ui_and_the_report_is_amocrms(tmp_path: Path) -> None:
    with rig(tmp_path) as r:
        r.bootstrap()
        r.next_cycle()
        now = int(r.clock())
        done, deleted, moved, handed = open_task_ids(r.sandbox, 4, overdue=True)
        (later,) = open_task_ids(r.sandbox, 1, overdue=False)
        r.clock.now += 5
        r.sandbox.ui.complete_task(done, "Позвонил")
        r.sandbox.ui.delete_task(deleted)
        r.sandbox.ui.move_deadline(moved, now + 86400)
        r.sandbox.ui.reassign_task(
            handed, MILANA if r.live.task(handed).responsible_user_id != MILANA else ZELIMKHAN
        )
        r.sandbox.ui.move_deadline(later, now - 3600)  # newly overdue
        r.sandbox.ui.add_task("Перезвонить", now - 60, ZELIMKHAN)  # added already late
        assert r.mirrored() != r.truth()

        assert r.next_cycle() == 3  # changed tasks, changed leads, deletions

        assert r.mirrored() == r.truth()
        assert r.open_tasks(r.client) == r.open_tasks(r.live)


def test_an_idle_cycle_costs_three_requests_and_changes_nothing(tmp_path: Path) -> None:
    with rig(tmp_path) as r:
        r.bootstrap()
        r.next_cycle()
        before = r.open_tasks(r.client)
        assert [r.next_cycle() for _ in range(3)] == [3, 3, 3]
        assert r.open_tasks(r.client) == before
        assert r.sync.step() > 0 and r.sandbox.request_count == r.sandbox.request_count


def test_a_change_made_just_before_a_window_closes_is_read_by_the_overlap(tmp_path: Path) -> None:
    with rig(tmp_path) as r:
        r.bootstrap()
        r.next_cycle()
        cursor = Progress(r.states[0]).status("tasks").cursor
        assert cursor is not None
        (task_id,) = open_task_ids(r.sandbox, 1, overdue=True)
        # amoCRM stamps it a minute before the newest change we saw (a late commit, skew)
        now, r.clock.now = r.clock.now, cursor - 60
        r.sandbox.ui.complete_task(task_id)
        r.clock.now = now
        assert r.next_cycle() == 3
        assert task_id not in r.open_tasks(r.client)


def test_leads_follow_for_the_funnel(tmp_path: Path) -> None:
    with rig(tmp_path) as r:
        r.bootstrap()
        r.next_cycle()
        lead = next(x for x in r.live.iter_leads() if x.is_open)
        r.clock.now += 5
        r.sandbox.ui.close_lead(lead.id, won=True)
        new = r.sandbox.ui.add_lead("Новая сделка", ZELIMKHAN, price=500)
        r.next_cycle()
        assert sorted(r.client.iter_leads(), key=lambda x: x.id) == sorted(
            (x for x in r.live.iter_leads() if r.sync.keep(x)), key=lambda x: x.id
        )
        assert new["id"] in {x.id for x in r.client.iter_leads()}


def test_webhook_ids_are_reread_at_the_next_step_deleted_ones_dropped(tmp_path: Path) -> None:
    with rig(tmp_path) as r:
        r.bootstrap()
        r.next_cycle()
        done, deleted = open_task_ids(r.sandbox, 2, overdue=True)
        r.sandbox.ui.complete_task(done)
        r.sandbox.ui.delete_task(deleted)
        lead = next(x for x in r.live.iter_leads() if x.is_open)
        r.sandbox.ui.move_lead(
            lead.id,
            next(
                s.id for s in r.live.pipelines()[0].stages if s.id != lead.status_id and s.type == 0
            ),
        )
        progress = Progress(r.states[0])
        progress.want("tasks", [done, deleted], r.clock())
        progress.want("leads", [lead.id], r.clock())

        assert r.step_until_idle() == 2  # one filter[id][] read of tasks, one of leads

        assert r.mirrored() == r.truth()
        assert {done, deleted}.isdisjoint(r.open_tasks(r.client))
        mirrored = {x.id: x.status_id for x in r.client.iter_leads()}
        assert mirrored[lead.id] == r.live.lead(lead.id).status_id
        assert progress.wanted(10) == []


def test_while_amocrm_fails_the_screens_show_the_last_numbers_and_since_when(
    tmp_path: Path,
) -> None:
    with rig(tmp_path, max_age_seconds=180) as r:
        r.bootstrap()
        r.next_cycle()
        good, as_of = r.mirrored(), r.client.freshness()
        assert as_of is not None and as_of.stale_since is None
        (task_id,) = open_task_ids(r.sandbox, 1, overdue=True)
        r.sandbox.ui.complete_task(task_id)  # a change the mirror cannot learn of yet

        with amocrm_down(r.sandbox):
            failed_at = r.clock.now + 60
            for minute in range(1, 5):  # four minutes of failing cycles
                r.clock.now += 60
                with pytest.raises(Unavailable):
                    r.sync.step()
                assert r.mirrored() == {**good, "generated_at": r.mirrored()["generated_at"]}
                fresh = r.client.freshness()
                assert fresh is not None and fresh.as_of == as_of.as_of
                assert fresh.stale_since == (None if minute <= 3 else int(failed_at))  # > 180 s

        r.next_cycle()  # amoCRM is back
        fresh = r.client.freshness()
        assert fresh is not None and fresh.stale_since is None
        assert r.mirrored() == r.truth()


@contextmanager
def amocrm_down(sandbox: Sandbox) -> Iterator[None]:
    """amoCRM unreachable (connection refused) inside the block, back on the same URL after."""
    port = int((sandbox.base_url or "").rsplit(":", 1)[1])
    sandbox.stop()
    try:
        yield
    finally:
        sandbox.start(port=port)
