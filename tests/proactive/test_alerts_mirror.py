"""Overdue alerts on the mirror: each cycle reads what changed since the last look (a delta),
not every overdue task; the backlog still counts as known, also for managers let in later."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from dataclasses import field
from pathlib import Path
from typing import Any

import pytest

from leoweb_bot.amocrm import build_client
from leoweb_bot.amocrm.models import Task
from leoweb_bot.bot.codec import decode
from leoweb_bot.bot.context import App
from leoweb_bot.proactive import alerts
from leoweb_bot.proactive.scheduler import standard_jobs
from leoweb_bot.reports import SURELY_LATE
from leoweb_bot.reports import is_all_day
from leoweb_bot.state import State
from leoweb_bot.state.people import Member
from leoweb_bot.state.people import put_member
from leoweb_bot.sync.reader import MirrorReader
from leoweb_bot.sync.wiring import Syncing
from leoweb_bot.sync.wiring import build_sync
from tests.kit.proactive import MANAGER
from tests.kit.proactive import MILANA
from tests.kit.proactive import OTHER_MANAGER
from tests.kit.proactive import SARBINAZ
from tests.kit.proactive import ZELIMKHAN
from tests.kit.proactive import Rig
from tests.kit.proactive import rig
from tests.proactive.test_alerts import ALMATY
from tests.proactive.test_alerts import WEDNESDAY_10
from tests.proactive.test_alerts import alert_messages
from tests.proactive.test_alerts import open_tasks

FIRST_LOOK = WEDNESDAY_10 + 600  # the mirror was bootstrapped at 10:00
MAX_STEPS = 500


@dataclass
class Reads:
    """What the alerts read from the mirror: the delta's rows, and full reads per manager."""

    delta: list[list[int]] = field(default_factory=list)
    backlog: list[int | None] = field(default_factory=list)


class Spy(MirrorReader):
    """The mirror's reads as the alerts make them, noted."""

    def __init__(self, reader: MirrorReader, reads: Reads) -> None:
        super().__init__(reader.mirror, reader.progress, reader.settings, reader.clock)
        self.reads = reads

    def went_late(self, since_due: int, written_since: float, before: int) -> list[Task]:
        tasks = super().went_late(since_due, written_since, before)
        self.reads.delta.append([task.id for task in tasks])
        return tasks

    def open_tasks_due_before(
        self, moment: int, responsible_user_id: int | None = None
    ) -> list[Task]:
        self.reads.backlog.append(responsible_user_id)
        return super().open_tasks_due_before(moment, responsible_user_id)


@dataclass
class Mirrored:
    r: Rig
    syncing: Syncing
    reads: Reads

    def app(self) -> App:
        return dataclasses.replace(self.r.app(), client=self.syncing.client)

    def sync_to(self, now: int) -> None:
        """The sync catches up to ``now``, as its thread would."""
        self.r.clock.now = now
        sync = self.syncing.runner.sync
        for _ in range(MAX_STEPS):
            if sync.step() > 0:
                return
        raise AssertionError("the sync never went idle")

    def cycle(self, now: int) -> None:
        """The sync catches up to ``now``, then one alerts cycle runs."""
        self.sync_to(now)
        alerts.run_alerts(self.app(), now)

    def ledger(self, status: str) -> set[int]:
        rows = self.r.states[0].query("SELECT task_id FROM alerts_sent WHERE status = ?", (status,))
        return {task_id for (task_id,) in rows}


@contextmanager
def mirrored(tmp_path: Path, *, bootstrap: bool = True, **sections: Any) -> Iterator[Mirrored]:
    """The scheduler's rig with the server's amoCRM: a MirroredClient over a real sync."""
    with rig(tmp_path, WEDNESDAY_10, **sections) as r:
        state = State(r.path)
        r.states.append(state)
        background = build_client(r.settings.amocrm, clock=r.clock, sleep=lambda _: None)
        syncing = build_sync(r.settings, state, r.client, background, clock=r.clock)
        reads = Reads()
        syncing.client.reader = Spy(syncing.client.reader, reads)
        m = Mirrored(r, syncing, reads)
        try:
            if bootstrap:
                m.sync_to(WEDNESDAY_10)
            yield m
        finally:
            background.close()


@pytest.fixture
def m(tmp_path: Path) -> Iterator[Mirrored]:
    with mirrored(tmp_path) as m:
        yield m


def soonest(r: Rig, owner: int, after: int) -> Task:
    """The open task of ``owner`` due next after ``after``, at a precise time (not all-day)."""
    tasks = [t for t in open_tasks(r, owner) if t.complete_till and t.complete_till > after]
    return min(
        (t for t in tasks if not is_all_day(t.complete_till or 0, ALMATY)),
        key=lambda t: t.complete_till or 0,
    )


def overdue_long_before(r: Rig, owner: int, moment: int) -> set[int]:
    """Open tasks of ``owner`` that were overdue well before ``moment`` (no delta reads them)."""
    limit = moment - SURELY_LATE
    return {t.id for t in open_tasks(r, owner) if (t.complete_till or limit) < limit}


def buttons(r: Rig, chat_id: int) -> set[int]:
    [message] = [m for m in r.sent(chat_id) if m.text in alert_messages(r, chat_id)]
    return {decode(data).task for _, data in message.buttons}


# -- deltas -------------------------------------------------------------------------------------


def test_a_deadline_passing_between_cycles_alerts_without_reading_the_backlog(
    m: Mirrored,
) -> None:
    m.cycle(FIRST_LOOK)
    assert m.reads.delta == [] and m.reads.backlog == [None]  # the first look: a full scan
    backlog = overdue_long_before(m.r, ZELIMKHAN, FIRST_LOOK)
    assert backlog and backlog <= m.ledger("known")

    task = soonest(m.r, ZELIMKHAN, FIRST_LOOK)
    m.cycle((task.complete_till or 0) + 60)

    assert buttons(m.r, MANAGER) == {task.id}
    [read] = m.reads.delta
    assert task.id in read
    assert not backlog & set(read)  # overdue long ago and untouched: not read
    assert m.reads.backlog == [None]  # and no full read since the first look
    assert backlog <= m.ledger("known")


def test_tasks_the_sync_wrote_since_the_last_look_alert_whatever_their_deadline(
    m: Mirrored,
) -> None:
    m.cycle(FIRST_LOOK)
    ui = m.r.sandbox.ui
    backlog = overdue_long_before(m.r, ZELIMKHAN, FIRST_LOOK)
    handed = min(overdue_long_before(m.r, SARBINAZ, FIRST_LOOK))
    ui.reassign_task(handed, ZELIMKHAN)  # from a manager the bot does not know
    redated = soonest(m.r, ZELIMKHAN, FIRST_LOOK).id
    ui.move_deadline(redated, FIRST_LOOK - 5 * 86400)
    created = ui.add_task("Перезвонить", FIRST_LOOK - 3 * 86400, MILANA)["id"]

    m.cycle(FIRST_LOOK + 60)

    assert buttons(m.r, MANAGER) == {handed, redated}
    assert buttons(m.r, OTHER_MANAGER) == {created}
    [read] = m.reads.delta
    assert {handed, redated, created} <= set(read)
    assert backlog and not backlog & set(read)  # untouched: not read
    m.cycle(FIRST_LOOK + 120)
    assert len(alert_messages(m.r)) == 2  # once


def test_a_manager_let_in_later_has_their_backlog_read_once_and_known(m: Mirrored) -> None:
    newcomer = 555
    m.cycle(FIRST_LOOK)
    with m.r.states[0].transaction() as conn:  # as an accepted invite leaves it
        put_member(conn, Member(newcomer, "manager", SARBINAZ, "Сарбиназ", "", FIRST_LOOK, 201))

    m.cycle(FIRST_LOOK + 60)

    backlog = overdue_long_before(m.r, SARBINAZ, FIRST_LOOK)
    assert backlog and backlog <= m.ledger("known")
    assert not backlog & set(m.reads.delta[0])  # read in full for her alone, not by the delta
    assert m.reads.backlog == [None, SARBINAZ]
    assert alert_messages(m.r, newcomer) == []
    task = soonest(m.r, SARBINAZ, FIRST_LOOK)
    m.cycle((task.complete_till or 0) + 60)
    assert buttons(m.r, newcomer) == {task.id}
    assert m.reads.backlog == [None, SARBINAZ]


def test_a_task_held_through_the_quiet_hours_goes_out_though_no_delta_reads_it(
    tmp_path: Path,
) -> None:
    with mirrored(tmp_path, alerts={"quiet_hours": "21:00-09:00"}) as m:
        m.cycle(FIRST_LOOK)
        evening = WEDNESDAY_10 + 12 * 3600
        m.r.clock.now = evening
        handed = min(overdue_long_before(m.r, SARBINAZ, FIRST_LOOK))
        m.r.sandbox.ui.reassign_task(handed, ZELIMKHAN)
        m.cycle(evening + 60)  # 22:01: pending
        # Later changes move the sync's window on, so nothing rewrites that task's row again.
        m.r.clock.now = evening + 3600
        later = soonest(m.r, MILANA, evening + 86400)
        m.r.sandbox.ui.move_deadline(later.id, (later.complete_till or 0) + 3600)
        for hour in range(1, 11):  # 23:01 … 08:01
            m.cycle(evening + hour * 3600 + 60)
        m.cycle(WEDNESDAY_10 + 23 * 3600)  # 09:00
        assert handed not in m.reads.delta[-1]
        assert handed in buttons(m.r, MANAGER)


def test_settled_rows_are_forgotten_by_the_daily_full_scan_not_by_deltas(m: Mirrored) -> None:
    m.cycle(FIRST_LOOK)
    task = soonest(m.r, ZELIMKHAN, FIRST_LOOK)
    alerted = (task.complete_till or 0) + 60
    m.cycle(alerted)
    m.r.sandbox.ui.complete_task(task.id)
    month = alerted + alerts.KEEP_SETTLED
    m.cycle(month - 600)  # a day since the last full scan: a full one, too early to forget
    m.cycle(month + 60)  # a delta: does not know which settled rows are still overdue
    assert task.id in m.ledger("sent")
    assert m.reads.backlog == [None, None]
    m.cycle(month - 600 + alerts.FULL_SCAN_EVERY)
    assert m.reads.backlog == [None, None, None]
    assert task.id not in m.ledger("sent")
    assert overdue_long_before(m.r, ZELIMKHAN, FIRST_LOOK) <= m.ledger("known")  # still overdue


# -- the job's pace -----------------------------------------------------------------------------


def test_with_the_mirror_the_job_runs_every_sync_interval_at_most_every_interval_minutes(
    m: Mirrored,
) -> None:
    def every(app: App) -> float:
        [job] = [job for job in standard_jobs(app) if job.name == "overdue_alerts"]
        return job.every

    app = m.app()
    assert every(app) == 60  # [sync] interval_seconds
    slow = dataclasses.replace(app.settings.sync, interval_seconds=900)
    assert (
        every(dataclasses.replace(app, settings=dataclasses.replace(app.settings, sync=slow)))
        == 600
    )
    assert every(m.r.app()) == 600  # a live client: [alerts] interval_minutes


def test_while_the_mirror_bootstraps_live_scans_keep_the_interval_minutes_pace(
    tmp_path: Path,
) -> None:
    with mirrored(tmp_path, bootstrap=False) as m:
        app, sandbox = m.app(), m.r.sandbox

        def requests(now: int) -> int:
            before = sandbox.request_count
            alerts.run_alerts(app, now)
            return sandbox.request_count - before

        assert requests(WEDNESDAY_10) > 0
        assert requests(WEDNESDAY_10 + 60) == 0  # the job's next run: too soon for amoCRM
        assert requests(WEDNESDAY_10 + 600) > 0
        assert m.reads.delta == []
