"""amoCRM webhook bodies, the notices they told, and the audit log: stored once, pruned late."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from leoweb_bot.state import State
from leoweb_bot.state.audit import audit_rows
from leoweb_bot.state.audit import prune_audit
from leoweb_bot.state.audit import record_audit
from leoweb_bot.state.events import AmoEvent
from leoweb_bot.state.events import AmoEventStatus
from leoweb_bot.state.events import claim_notice
from leoweb_bot.state.events import mark_amo_event
from leoweb_bot.state.events import pending_amo_events
from leoweb_bot.state.events import prune_amo_events
from leoweb_bot.state.events import prune_notices
from leoweb_bot.state.events import store_amo_event
from tests.kit.fakeclock import FakeClock

BODY = "leads[add][0][id]=1"


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(1000)


@pytest.fixture
def state(db_path: Path, clock: FakeClock) -> State:
    return State(db_path, clock=clock.time)


def test_amo_events_are_stored_once_per_key(state: State) -> None:
    assert store_amo_event(state, "k1", BODY) is True
    assert store_amo_event(state, "k1", BODY) is False
    assert store_amo_event(state, "k2", "leads[add][0][id]=2") is True
    assert state.query("SELECT key, status FROM amo_events ORDER BY id") == [
        ("k1", "pending"),
        ("k2", "pending"),
    ]


def test_pending_bodies_come_oldest_first_until_settled(state: State) -> None:
    for key in ("a", "b", "c"):
        store_amo_event(state, key, f"{BODY}&key={key}")
    first, second = pending_amo_events(state, limit=2)
    assert first == AmoEvent(1, f"{BODY}&key=a", 0)
    mark_amo_event(state, first.id, AmoEventStatus.PENDING, "amoCRM unavailable")  # try again
    mark_amo_event(state, second.id, AmoEventStatus.IGNORED)
    assert pending_amo_events(state, limit=5) == [
        AmoEvent(1, f"{BODY}&key=a", 1),
        AmoEvent(3, f"{BODY}&key=c", 0),
    ]
    assert state.query("SELECT note FROM amo_events WHERE id = 1") == [("amoCRM unavailable",)]


def test_bodies_stored_by_an_older_version_are_read_and_settled_alike(
    state: State, db_path: Path
) -> None:
    state.ping()  # the schema is in place
    with sqlite3.connect(db_path) as raw:
        raw.execute(
            "INSERT INTO amo_events (key, payload, status, received_at)"
            " VALUES ('old', ?, 'pending', 0)",
            (BODY,),
        )
    [old] = pending_amo_events(state, limit=5)
    mark_amo_event(state, old.id, AmoEventStatus.DONE)
    assert state.query("SELECT status, typeof(status) FROM amo_events") == [("done", "text")]


def test_settled_bodies_go_after_their_time_and_pending_ones_stay(
    state: State, clock: FakeClock
) -> None:
    for status in AmoEventStatus:
        store_amo_event(state, status, BODY)
        [(event_id,)] = state.query("SELECT max(id) FROM amo_events")
        mark_amo_event(state, event_id, status)
    clock.advance(100)
    store_amo_event(state, "recent", BODY)
    mark_amo_event(state, 5, AmoEventStatus.DONE)
    assert prune_amo_events(state, before=1050) == 3
    assert state.query("SELECT key FROM amo_events ORDER BY id") == [("pending",), ("recent",)]


def test_a_notice_is_claimed_once_and_forgotten_after_its_time(state: State) -> None:
    assert claim_notice(state, "add:1:42", now=100)
    assert not claim_notice(state, "add:1:42", now=200)  # the same event in another body
    assert claim_notice(state, "add:2:42", now=300)
    assert prune_notices(state, before=250) == 1
    assert claim_notice(state, "add:1:42", now=400)  # forgotten: its body is long gone too


def test_audit_rows_newest_first_and_pruned_by_age(state: State, clock: FakeClock) -> None:
    record_audit(state, 42, "complete_task", "task 7")
    clock.advance(100)
    record_audit(state, None, "digest", "sent to 3 chats")
    rows = audit_rows(state, limit=10)
    assert [(r.at, r.telegram_user_id, r.action, r.details) for r in rows] == [
        (1100.0, None, "digest", "sent to 3 chats"),
        (1000.0, 42, "complete_task", "task 7"),
    ]
    assert len(audit_rows(state, limit=1)) == 1
    assert prune_audit(state, before=1050) == 1
    assert [r.action for r in audit_rows(state)] == ["digest"]
