"""The admins hear about a state db that refused writes (once it takes them again), a full disk
and a full inbox; several processes tell them once."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from leoweb_bot.bot.context import App
from leoweb_bot.proactive import incidents
from leoweb_bot.proactive.scheduler import Job
from leoweb_bot.proactive.scheduler import Scheduler
from leoweb_bot.state import State
from leoweb_bot.state import health
from leoweb_bot.state.db import StateUnavailable
from leoweb_bot.state.kv import get_value
from leoweb_bot.state.outages import Outage
from leoweb_bot.state.outages import OutageLog
from tests.kit.proactive import ADMIN
from tests.kit.proactive import Rig
from tests.kit.proactive import at
from tests.kit.proactive import rig

START = at("Asia/Almaty", 2026, 11, 25, 10, 0)
OUTAGE = "🟠 База бота не принимала записи с 25.11.2026 10:00 до 25.11.2026 10:30"


@pytest.fixture
def r(tmp_path: Path) -> Iterator[Rig]:
    with rig(tmp_path, START) as started:
        yield started


def process(r: Rig, owner: str, **state_options: int) -> Scheduler:
    """One server process: its own State (and so its own outage log), ticking the watch job."""
    state = State(r.path, clock=r.clock, **state_options)
    r.states.append(state)
    app = App(settings=r.settings, client=r.client, telegram=r.telegram, state=state, clock=r.clock)
    jobs = [Job("state_watch", 0, incidents.watch_state_db)]
    return Scheduler(app, jobs, clock=r.clock, owner=owner)


def read_only(scheduler: Scheduler, on: bool) -> None:
    """SQLite refuses this process's writes, as on a read-only file (ticks run on this thread)."""
    scheduler.state.query(f"PRAGMA query_only = {int(on)}")


def admin_texts(r: Rig) -> list[str]:
    return [m.text for m in r.sent(ADMIN)]


def test_an_outage_of_writes_is_told_once_when_writes_work_again(r: Rig) -> None:
    first, second = process(r, "a"), process(r, "b")
    for scheduler in (first, second):
        read_only(scheduler, True)
        assert scheduler.tick(START) == []  # the job cannot even be claimed
        r.clock.now += 5
    assert admin_texts(r) == []  # nothing can be recorded, so nothing is said yet
    assert first.state.outages.current() == Outage(START, "attempt to write a readonly database")

    r.clock.now = START + 30 * 60
    read_only(first, False)
    assert first.tick() == ["state_watch"]
    [told] = admin_texts(r)
    assert told.startswith(OUTAGE)
    assert "Причина: attempt to write a readonly database" in told
    assert first.state.outages.current() is None

    read_only(second, False)  # the other process saw the same outage: it stays quiet
    r.clock.now += 15
    assert second.tick() == ["state_watch"]
    assert len(admin_texts(r)) == 1
    assert second.state.outages.current() is None

    r.clock.now += 3600  # a new outage later is a new message
    read_only(second, True)
    second.tick()
    read_only(second, False)
    r.clock.now += 60
    second.tick()
    assert len(admin_texts(r)) == 2


def test_a_lock_wait_or_a_constraint_is_no_outage(r: Rig) -> None:
    state = State(r.path, clock=r.clock)
    r.states.append(state)
    state.inbox.store(1, 1, "{}", START)
    with pytest.raises(StateUnavailable, match="UNIQUE"), state.transaction() as conn:
        conn.execute("INSERT INTO inbox (update_id, payload, received_at) VALUES (1, '{}', 0)")
    assert state.outages.current() is None


def test_a_full_disk_is_an_incident_until_twice_the_margin_is_free(
    r: Rig, monkeypatch: pytest.MonkeyPatch
) -> None:
    scheduler = process(r, "a")
    free = shutil.disk_usage(r.path.parent).free
    monkeypatch.setattr(health, "MIN_FREE_BYTES", free + 2**30)  # this disk is "almost full"
    scheduler.tick(START)
    [opened] = admin_texts(r)
    assert opened.startswith("🟠 На диске бота почти нет места")
    assert "Причина: disk almost full: " in opened
    monkeypatch.setattr(health, "MIN_FREE_BYTES", free * 2 // 3)  # free, but not twice that
    scheduler.tick(START + 15)
    assert len(admin_texts(r)) == 1
    monkeypatch.setattr(health, "MIN_FREE_BYTES", free // 3)
    scheduler.tick(START + 30)
    assert admin_texts(r)[1] == "🟢 Восстановлено: место на диске."


def test_a_full_inbox_is_an_incident_until_half_of_it_is_worked_off(r: Rig) -> None:
    scheduler = process(r, "a", max_pending=4)
    for update_id in range(1, 5):
        scheduler.state.inbox.store(update_id, update_id, "{}", START)
    scheduler.tick(START)
    [opened] = admin_texts(r)
    assert opened.startswith("🔴 Бот не успевает обрабатывать сообщения")
    assert "Причина: inbox full: 4 updates waiting" in opened
    scheduler.state.inbox.finish(1)
    scheduler.tick(START + 15)  # 3 waiting: below the limit, not yet below half
    assert len(admin_texts(r)) == 1
    scheduler.state.inbox.finish(2)
    scheduler.state.inbox.finish(3)
    scheduler.tick(START + 30)  # 1 waiting: below half
    assert admin_texts(r)[1] == "🟢 Восстановлено: очередь сообщений."


def test_the_outage_log_keeps_the_first_failure_and_forgets_only_what_was_reported() -> None:
    now = [100.0]
    log = OutageLog(lambda: now[0])
    log.failed("disk I/O error")
    now[0] = 200.0
    log.failed("database or disk is full")
    seen = log.current()
    assert seen == Outage(100.0, "database or disk is full")
    log.reported(Outage(50.0, "older"))  # not the one in the log: kept
    assert log.current() == seen
    log.reported(seen)
    assert log.current() is None


def test_check_writes_to_the_state_db_and_looks_at_its_disk(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from leoweb_bot.cli import check
    from leoweb_bot.config import settings_from_mapping

    settings = settings_from_mapping({"bot": {"state_path": str(tmp_path / "state.sqlite3")}})
    [(ok, line)] = check.check_state(settings)
    assert ok and line.endswith("state.sqlite3 writable, inbox depth 0")
    assert get_value(State(tmp_path / "state.sqlite3"), health.PROBE_KEY) is not None
    monkeypatch.setattr(health, "MIN_FREE_BYTES", 2**62)
    [(ok, line)] = check.check_state(settings)
    assert not ok and line.startswith("state db: disk almost full: ")
