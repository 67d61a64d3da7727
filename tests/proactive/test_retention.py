"""Retention: processed rows go after a while, pending ones never; the audit log after a year."""

from __future__ import annotations

import datetime
from collections.abc import Iterator
from pathlib import Path

import pytest

from leoweb_bot.bot.codec import AskClose
from leoweb_bot.bot.codec import encode
from leoweb_bot.proactive import alerts
from leoweb_bot.proactive import retention
from leoweb_bot.proactive.scheduler import Job
from leoweb_bot.proactive.scheduler import standard_jobs
from leoweb_bot.state import State
from leoweb_bot.state.audit import audit_rows
from leoweb_bot.state.audit import record_audit
from leoweb_bot.state.digests import skip_digest
from leoweb_bot.state.events import AmoEventStatus
from leoweb_bot.state.events import claim_notice
from leoweb_bot.state.events import mark_amo_event
from leoweb_bot.state.events import store_amo_event
from tests.kit.proactive import MANAGER
from tests.kit.proactive import ZELIMKHAN
from tests.kit.proactive import Clock
from tests.kit.proactive import Rig
from tests.kit.proactive import at
from tests.kit.proactive import rig
from tests.proactive.test_alerts import alert_messages
from tests.proactive.test_alerts import future_task
from tests.proactive.test_alerts import set_task

DAY = 86400
START = at("Asia/Almaty", 2026, 11, 25, 10, 0)


@pytest.fixture
def day(tmp_path: Path) -> Iterator[Rig]:
    with rig(tmp_path, START) as r:
        yield r


def count(state: State, table: str) -> int:
    return int(state.query(f"SELECT count(*) FROM {table}")[0][0])


def fill(state: State, clock: Clock, stamp: str) -> None:
    """One row of each kind at ``clock.now``: processed, and still pending where that exists."""
    for n, status in enumerate((AmoEventStatus.DONE, AmoEventStatus.PENDING)):
        assert store_amo_event(state, f"{stamp}-{n}", "leads[add][0][id]=1")
        [(event_id,)] = state.query("SELECT max(id) FROM amo_events")
        if status != AmoEventStatus.PENDING:
            mark_amo_event(state, event_id, status)
    claim_notice(state, f"add:{stamp}:{MANAGER}", int(clock.now))
    local_day = datetime.date.fromtimestamp(clock.now)
    skip_digest(state, MANAGER, local_day, int(clock.now))
    record_audit(state, MANAGER, "subscribe", stamp)


def test_processed_rows_go_after_their_retention_and_pending_ones_stay(day: Rig) -> None:
    state = State(day.path, clock=day.clock)
    day.states.append(state)
    fill(state, day.clock, "old")
    day.clock.now += 40 * DAY
    fill(state, day.clock, "new")
    assert [count(state, t) for t in ("amo_events", "lead_notices", "digest_log")] == [4, 2, 2]

    retention.prune(day.app(), int(day.clock.now))

    bodies = state.query("SELECT key, status FROM amo_events ORDER BY id")
    assert bodies == [("old-1", "pending"), ("new-0", "done"), ("new-1", "pending")]
    assert [key for (key,) in state.query("SELECT key FROM lead_notices")] == [f"add:new:{MANAGER}"]
    assert count(state, "digest_log") == 1
    assert count(state, "audit") == 2  # a year by default


def test_the_audit_log_is_kept_for_audit_days(tmp_path: Path) -> None:
    with rig(tmp_path, START, bot={"audit_days": 30}) as short:
        state = State(short.path, clock=short.clock)
        short.states.append(state)
        record_audit(state, MANAGER, "subscribe", "old")
        short.clock.now += 31 * DAY
        record_audit(state, MANAGER, "subscribe", "new")
        retention.prune(short.app(), int(short.clock.now))
        assert [row.details for row in audit_rows(state)] == ["new"]


def test_audit_days_zero_keeps_the_audit_log_forever(tmp_path: Path) -> None:
    with rig(tmp_path, START, bot={"audit_days": 0}) as forever:
        state = State(forever.path, clock=forever.clock)
        forever.states.append(state)
        record_audit(state, MANAGER, "subscribe", "old")
        forever.clock.now += 5000 * DAY
        retention.prune(forever.app(), int(forever.clock.now))
        assert count(state, "audit") == 1


def test_the_scheduler_runs_retention(day: Rig) -> None:
    jobs = {job.name: job for job in standard_jobs(day.app())}
    assert jobs["retention"] == Job("retention", retention.EVERY_SECONDS, retention.prune)


# -- overdue alerts: pruned by their cycle, which knows what is still overdue ---------------------


def test_old_alerts_are_forgotten_once_their_task_is_no_longer_overdue(day: Rig) -> None:
    scheduler = day.scheduler(jobs=[Job("overdue_alerts", 600, alerts.run_alerts)])
    scheduler.tick(START)  # the backlog: "known" rows, never sent
    still, closed = (future_task(day, ZELIMKHAN, START, n) for n in range(2))
    for task in (still, closed):
        set_task(day, task.id, complete_till=START + 5 * 60)
    scheduler.tick(START + 10 * 60)
    assert len(alert_messages(day, MANAGER)) == 1  # both tasks in one message
    set_task(day, closed.id, is_completed=True)
    state = day.app().state
    known = state.query("SELECT task_id FROM alerts_sent WHERE status = 'known'")
    assert known

    later = START + 31 * DAY
    day.clock.now = later
    scheduler.tick(later)

    rows = {task_id for (task_id,) in state.query("SELECT task_id FROM alerts_sent")}
    assert still.id in rows  # still overdue: its row keeps it from alerting again
    assert closed.id not in rows
    assert {task_id for (task_id,) in known} - rows == set()  # the backlog is still overdue
    later_alerts = [m for m in day.sent(MANAGER)[1:] if m.text in alert_messages(day, MANAGER)]
    assert later_alerts  # tasks that went overdue in the 31 days did alert
    assert encode(AskClose(still.id)) not in [data for m in later_alerts for _, data in m.buttons]
