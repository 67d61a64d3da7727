"""The inbox: dedupe and limits on store, per-chat order and leases on claim, prune."""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

import pytest

from leoweb_bot.state import State
from leoweb_bot.state.inbox import KEEP_DONE_SECONDS
from leoweb_bot.state.inbox import Inbox
from leoweb_bot.state.inbox import InboxFull
from leoweb_bot.state.inbox import InboxStatus
from tests.kit.fakeclock import FakeClock


@pytest.fixture
def inbox(db_path: Path) -> Inbox:
    return State(db_path).inbox


def store(inbox: Inbox, update_id: int, chat_id: int | None, now: float = 0.0) -> bool:
    return inbox.store(update_id, chat_id, f'{{"update_id": {update_id}}}', now)


# -- statuses --------------------------------------------------------------------------------------


def test_statuses_are_stored_as_the_strings_older_versions_wrote(
    inbox: Inbox, db_path: Path
) -> None:
    store(inbox, 1, 10)
    store(inbox, 2, 20)
    inbox.finish(1)
    with sqlite3.connect(db_path) as raw:
        rows = raw.execute("SELECT update_id, status, typeof(status) FROM inbox ORDER BY 1")
        assert rows.fetchall() == [(1, "done", "text"), (2, "pending", "text")]
        # a row as an older version left it: read back as the enum
        raw.execute(
            "INSERT INTO inbox (update_id, chat_id, payload, status, received_at)"
            " VALUES (3, 30, '{}', 'pending', 0)"
        )
    assert inbox.status(3) is InboxStatus.PENDING
    assert inbox.status(1) == "done"
    assert inbox.status(99) is None


# -- dedupe and limits ------------------------------------------------------------------------------


def test_store_dedupes_by_update_id(inbox: Inbox) -> None:
    assert store(inbox, 5, 10) is True
    assert store(inbox, 5, 10) is False
    assert inbox.depth() == 1


def test_concurrent_deliveries_of_one_update_store_it_once(db_path: Path) -> None:
    # The dedupe read runs before the write lock, so deliveries race; ON CONFLICT settles it.
    inboxes = [State(db_path).inbox for _ in range(4)]
    stored: list[bool] = []
    barrier = threading.Barrier(len(inboxes))

    def deliver(inbox: Inbox) -> None:
        barrier.wait()
        stored.extend(store(inbox, update_id, update_id) for update_id in range(1, 101))

    threads = [threading.Thread(target=deliver, args=(i,)) for i in inboxes]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert stored.count(True) == 100
    assert inboxes[0].depth() == 100


def test_the_inbox_limit_sees_other_processes_acks_within_a_second(db_path: Path) -> None:
    clock = FakeClock(1000.0)
    mine, theirs = (State(db_path, max_pending=3, clock=clock.time).inbox for _ in range(2))
    store(mine, 1, 1)
    store(theirs, 2, 2)
    store(theirs, 3, 3)
    assert store(mine, 4, 4) is True  # counted a moment ago, before the other's two
    clock.advance(1.0)
    with pytest.raises(InboxFull):
        store(mine, 5, 5)
    assert mine.depth() == 4


def wal_frames(db_path: Path) -> int:
    """Frames in the WAL right now (a PASSIVE checkpoint reports them; it copies, never resets)."""
    with sqlite3.connect(db_path) as conn:
        return conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()[1]


def test_acks_without_checkpoints_leave_the_wal_to_the_dispatchers(db_path: Path) -> None:
    acks = State(db_path, checkpoints=False).inbox
    for update_id in range(1, 601):
        store(acks, update_id, update_id)
    grown = wal_frames(db_path)
    assert grown > 1000  # SQLite's automatic checkpoint would have reset it at 1000 pages

    dispatcher = State(db_path).inbox
    dispatcher.finish(dispatcher.claim("h:1", now=0).update_id)  # type: ignore[union-attr]
    store(acks, 601, 601)
    assert wal_frames(db_path) < grown


def test_a_full_inbox_refuses_new_updates_but_still_acks_duplicates(db_path: Path) -> None:
    inbox = State(db_path, max_pending=2).inbox
    store(inbox, 1, 10)
    store(inbox, 2, 11)
    with pytest.raises(InboxFull):
        store(inbox, 3, 12)
    assert store(inbox, 2, 11) is False
    assert inbox.depth() == 2


def test_prune_forgets_old_finished_updates_but_keeps_recent_ids(inbox: Inbox) -> None:
    store(inbox, 1, 10, now=0)  # will be done, old
    store(inbox, 2, 11, now=0)  # will be failed, old
    store(inbox, 4, 13, now=KEEP_DONE_SECONDS)  # will be done, recent
    inbox.finish(inbox.claim("h:1", now=0).update_id)  # type: ignore[union-attr]
    inbox.fail(inbox.claim("h:1", now=0).update_id, "boom", max_attempts=1)  # type: ignore[union-attr]
    inbox.finish(inbox.claim("h:1", now=0).update_id)  # type: ignore[union-attr]
    store(inbox, 3, 12, now=0)  # old but never handled: must survive

    assert inbox.prune(now=KEEP_DONE_SECONDS + 10) == 2
    assert [inbox.status(i) for i in (1, 2, 3, 4)] == [None, None, "pending", "done"]
    assert store(inbox, 4, 13) is False  # recent id: still deduped
    assert store(inbox, 1, 10) is True  # forgotten, so accepted again


# -- claiming --------------------------------------------------------------------------------------


def test_claims_follow_update_order_within_a_chat(inbox: Inbox) -> None:
    store(inbox, 1, 100)
    store(inbox, 2, 200)
    store(inbox, 3, 100)
    first = inbox.claim("h:1", now=0)
    second = inbox.claim("h:1", now=0)
    assert (first.update_id, second.update_id) == (1, 2)  # type: ignore[union-attr]
    assert inbox.claim("h:1", now=0) is None  # 3 waits for 1 (same chat)
    inbox.finish(1)
    third = inbox.claim("h:1", now=0)
    assert third is not None and third.update_id == 3
    assert third.update == {"update_id": 3}


def test_updates_without_a_chat_do_not_wait_for_each_other(inbox: Inbox) -> None:
    store(inbox, 1, None)
    store(inbox, 2, None)
    claimed = {inbox.claim("h:1", 0).update_id, inbox.claim("h:1", 0).update_id}  # type: ignore[union-attr]
    assert claimed == {1, 2}


def test_an_expired_lease_is_reclaimed_and_counted(inbox: Inbox) -> None:
    store(inbox, 1, 100)
    store(inbox, 2, 100)
    assert inbox.claim("h:1", now=0, lease=120).attempts == 1  # type: ignore[union-attr]
    assert inbox.claim("h:2", now=100, lease=120) is None
    again = inbox.claim("h:2", now=121, lease=120)
    assert again is not None and (again.update_id, again.attempts) == (1, 2)
    # the first owner's late failure does not override the new owner's claim
    assert inbox.fail(1, "late", owner="h:1") is None
    assert inbox.status(1) == InboxStatus.WORKING


def test_an_update_that_keeps_killing_its_worker_ends_failed(inbox: Inbox) -> None:
    store(inbox, 1, 100)
    store(inbox, 2, 100)
    now = 0.0
    for _ in range(3):  # claimed, then the lease expires without finish/fail
        item = inbox.claim("h:1", now=now, lease=10)
        assert item is not None and item.update_id == 1
        now += 11
    item = inbox.claim("h:1", now=now, lease=10)
    assert item is not None and item.update_id == 2
    assert inbox.status(1) == InboxStatus.FAILED


def test_a_poison_update_fails_after_bounded_attempts_and_blocks_no_one(inbox: Inbox) -> None:
    store(inbox, 1, 100)  # poison
    store(inbox, 2, 200)
    store(inbox, 3, 100)  # same chat as the poison, later
    handled = []
    outcomes = []
    for _ in range(10):
        item = inbox.claim("h:1", now=0)
        if item is None:
            break
        if item.update_id == 1:
            outcomes.append(inbox.fail(1, "ValueError: boom", max_attempts=3))
        else:
            handled.append(item.update_id)
            inbox.finish(item.update_id)
    assert outcomes == [InboxStatus.PENDING, InboxStatus.PENDING, InboxStatus.FAILED]
    assert handled == [2, 3]
    row = inbox.db.query("SELECT attempts, error FROM inbox WHERE update_id = 1")[0]
    assert row == (3, "ValueError: boom")


def test_two_processes_never_claim_the_same_update(db_path: Path) -> None:
    """Two State objects on one file, four threads each, claiming as fast as they can."""
    processes = [State(db_path).inbox, State(db_path).inbox]
    for update_id in range(1, 201):
        store(processes[0], update_id, update_id % 7)
    claims: list[tuple[int, int | None]] = []
    lock = threading.Lock()
    errors: list[BaseException] = []

    def worker(inbox: Inbox, name: str) -> None:
        try:
            while True:
                item = inbox.claim(name, now=0)
                if item is None:
                    if inbox.depth() == 0:
                        return
                    continue
                with lock:
                    claims.append((item.update_id, item.chat_id))
                inbox.finish(item.update_id)
        except BaseException as exc:  # surfaced below
            errors.append(exc)

    threads = [
        threading.Thread(target=worker, args=(processes[n % 2], f"h:{n % 2}:{n}")) for n in range(8)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert not errors
    ids = [update_id for update_id, _ in claims]
    assert sorted(ids) == list(range(1, 201))  # each exactly once
    for chat in range(7):
        in_chat = [update_id for update_id, chat_id in claims if chat_id == chat]
        assert in_chat == sorted(in_chat)
