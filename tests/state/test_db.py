from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from leoweb_bot.state import schema
from leoweb_bot.state.db import FAILED
from leoweb_bot.state.db import KEEP_DONE_SECONDS
from leoweb_bot.state.db import TOKEN_LOCK_KEY
from leoweb_bot.state.db import TOKEN_LOCK_SECONDS
from leoweb_bot.state.db import InboxFull
from leoweb_bot.state.db import State
from leoweb_bot.state.db import StateUnavailable
from leoweb_bot.state.db import owner_id
from leoweb_bot.state.schema import MIGRATIONS
from tests.kit.fakeclock import FakeClock

HOST = "testhost"


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "state.sqlite3"


@pytest.fixture
def state(db_path: Path) -> State:
    return State(db_path)


def store(state: State, update_id: int, chat_id: int | None, now: float = 0.0) -> bool:
    return state.store_update(update_id, chat_id, f'{{"update_id": {update_id}}}', now)


# -- schema --------------------------------------------------------------------------------------


def test_new_database_is_at_the_latest_version_in_wal_mode(state: State, db_path: Path) -> None:
    state.ping()
    assert state.schema_version() == len(MIGRATIONS)
    conn = sqlite3.connect(db_path)
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    assert {"inbox", "kv", "audit", "amo_events"} <= tables


def test_reopening_keeps_data_and_version(db_path: Path) -> None:
    first = State(db_path)
    assert store(first, 1, 10)
    first.close()
    second = State(db_path)
    assert second.schema_version() == len(MIGRATIONS)
    assert not store(second, 1, 10)
    assert schema.migrate(sqlite3.connect(db_path, isolation_level=None)) == len(MIGRATIONS)


def test_an_appended_migration_upgrades_an_existing_database(
    db_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    old = State(db_path)
    store(old, 1, 10)
    old.close()
    extra = (("CREATE TABLE later_feature (id INTEGER PRIMARY KEY)",),)
    monkeypatch.setattr(schema, "MIGRATIONS", MIGRATIONS + extra)

    upgraded = State(db_path)
    assert upgraded.schema_version() == len(MIGRATIONS) + 1
    assert upgraded.inbox_depth() == 1
    assert upgraded._read("SELECT count(*) FROM later_feature") == [(0,)]


def test_a_version_1_database_gains_the_scheduler_tables_and_keeps_its_events(
    db_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(schema, "MIGRATIONS", MIGRATIONS[:1])
    old = State(db_path)
    assert old.store_amo_event("k1", "leads[add][0][id]=1")
    old.close()
    monkeypatch.setattr(schema, "MIGRATIONS", MIGRATIONS)
    upgraded = State(db_path)
    assert upgraded.schema_version() == len(MIGRATIONS)
    tables = {row[0] for row in upgraded.query("SELECT name FROM sqlite_master WHERE type='table'")}
    assert {
        "jobs",
        "subscriptions",
        "digest_log",
        "alerts_sent",
        "alert_managers",
        "lead_notices",
        "incidents",
    } <= tables
    assert upgraded.query("SELECT key, status, attempts, note FROM amo_events") == [
        ("k1", "pending", 0, None)
    ]


def test_the_digest_log_refuses_a_second_row_for_a_chat_and_day(state: State) -> None:
    with state.transaction() as conn:
        conn.execute(
            "INSERT INTO digest_log (chat_id, local_date, status, updated_at)"
            " VALUES (1, '2026-11-25', 'sent', 0)"
        )
    with pytest.raises(StateUnavailable, match="UNIQUE"), state.transaction() as conn:
        conn.execute(
            "INSERT INTO digest_log (chat_id, local_date, status, updated_at)"
            " VALUES (1, '2026-11-25', 'sending', 0)"
        )


def test_a_database_from_a_newer_program_is_refused(db_path: Path) -> None:
    State(db_path).ping()
    conn = sqlite3.connect(db_path)
    conn.execute(f"PRAGMA user_version = {len(MIGRATIONS) + 5}")
    conn.close()
    with pytest.raises(StateUnavailable, match="newer"):
        State(db_path).ping()


def test_unusable_paths_raise_state_unavailable(tmp_path: Path) -> None:
    with pytest.raises(StateUnavailable):
        State(tmp_path).ping()  # a directory
    garbage = tmp_path / "garbage.sqlite3"
    garbage.write_bytes(b"this is not a database" * 100)
    with pytest.raises(StateUnavailable):
        State(garbage).inbox_depth()
    with pytest.raises(StateUnavailable):
        State(tmp_path / "missing-dir" / "state.sqlite3").ping()


# -- inbox: dedupe and limits ----------------------------------------------------------------------


def test_store_update_dedupes_by_update_id(state: State) -> None:
    assert store(state, 5, 10) is True
    assert store(state, 5, 10) is False
    assert state.inbox_depth() == 1


def test_concurrent_deliveries_of_one_update_store_it_once(db_path: Path) -> None:
    # The dedupe read runs before the write lock, so deliveries race; ON CONFLICT settles it.
    states = [State(db_path) for _ in range(4)]
    stored: list[bool] = []
    barrier = threading.Barrier(len(states))

    def deliver(state: State) -> None:
        barrier.wait()
        stored.extend(store(state, update_id, update_id) for update_id in range(1, 101))

    threads = [threading.Thread(target=deliver, args=(s,)) for s in states]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert stored.count(True) == 100
    assert states[0].inbox_depth() == 100


def test_an_ack_waits_out_another_writers_lock_instead_of_failing(db_path: Path) -> None:
    state = State(db_path)
    state.ping()  # schema in place before the other writer takes the lock
    other = sqlite3.connect(db_path, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    results: list[bool | Exception] = []
    done = threading.Event()

    def ack() -> None:
        try:
            results.append(store(state, 1, 1))
        except Exception as exc:
            results.append(exc)
        done.set()

    threading.Thread(target=ack).start()
    assert not done.wait(0.2)  # still waiting for the lock, not failed
    other.execute("COMMIT")
    other.close()
    assert done.wait(10)
    assert results == [True]


def test_the_inbox_limit_sees_other_processes_acks_within_a_second(db_path: Path) -> None:
    clock = FakeClock(1000.0)
    mine, theirs = (State(db_path, max_pending=3, clock=clock.time) for _ in range(2))
    store(mine, 1, 1)
    store(theirs, 2, 2)
    store(theirs, 3, 3)
    assert store(mine, 4, 4) is True  # counted a moment ago, before the other's two
    clock.advance(1.0)
    with pytest.raises(InboxFull):
        store(mine, 5, 5)
    assert mine.inbox_depth() == 4


def wal_frames(db_path: Path) -> int:
    """Frames in the WAL right now (a PASSIVE checkpoint reports them; it copies, never resets)."""
    with sqlite3.connect(db_path) as conn:
        return conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()[1]


def test_acks_without_checkpoints_leave_the_wal_to_the_dispatchers(db_path: Path) -> None:
    acks = State(db_path, checkpoints=False)
    for update_id in range(1, 601):
        store(acks, update_id, update_id)
    grown = wal_frames(db_path)
    assert grown > 1000  # SQLite's automatic checkpoint would have reset it at 1000 pages

    dispatcher = State(db_path)
    dispatcher.finish(dispatcher.claim_update("h:1", now=0).update_id)  # type: ignore[union-attr]
    store(acks, 601, 601)
    assert wal_frames(db_path) < grown


def test_a_full_inbox_refuses_new_updates_but_still_acks_duplicates(db_path: Path) -> None:
    state = State(db_path, max_pending=2)
    store(state, 1, 10)
    store(state, 2, 11)
    with pytest.raises(InboxFull):
        store(state, 3, 12)
    assert store(state, 2, 11) is False
    assert state.inbox_depth() == 2


def test_prune_forgets_old_finished_updates_but_keeps_recent_ids(state: State) -> None:
    store(state, 1, 10, now=0)  # will be done, old
    store(state, 2, 11, now=0)  # will be failed, old
    store(state, 4, 13, now=KEEP_DONE_SECONDS)  # will be done, recent
    state.finish(state.claim_update("h:1", now=0).update_id)  # type: ignore[union-attr]
    state.fail(state.claim_update("h:1", now=0).update_id, "boom", max_attempts=1)  # type: ignore[union-attr]
    state.finish(state.claim_update("h:1", now=0).update_id)  # type: ignore[union-attr]
    store(state, 3, 12, now=0)  # old but never handled: must survive

    assert state.prune(now=KEEP_DONE_SECONDS + 10) == 2
    assert [state.inbox_status(i) for i in (1, 2, 3, 4)] == [None, None, "pending", "done"]
    assert store(state, 4, 13) is False  # recent id: still deduped
    assert store(state, 1, 10) is True  # forgotten, so accepted again


# -- inbox: claiming -----------------------------------------------------------------------------


def test_claims_follow_update_order_within_a_chat(state: State) -> None:
    store(state, 1, 100)
    store(state, 2, 200)
    store(state, 3, 100)
    first = state.claim_update("h:1", now=0)
    second = state.claim_update("h:1", now=0)
    assert (first.update_id, second.update_id) == (1, 2)  # type: ignore[union-attr]
    assert state.claim_update("h:1", now=0) is None  # 3 waits for 1 (same chat)
    state.finish(1)
    third = state.claim_update("h:1", now=0)
    assert third is not None and third.update_id == 3
    assert third.update == {"update_id": 3}


def test_updates_without_a_chat_do_not_wait_for_each_other(state: State) -> None:
    store(state, 1, None)
    store(state, 2, None)
    claimed = {state.claim_update("h:1", 0).update_id, state.claim_update("h:1", 0).update_id}  # type: ignore[union-attr]
    assert claimed == {1, 2}


def test_an_expired_lease_is_reclaimed_and_counted(state: State) -> None:
    store(state, 1, 100)
    store(state, 2, 100)
    assert state.claim_update("h:1", now=0, lease=120).attempts == 1  # type: ignore[union-attr]
    assert state.claim_update("h:2", now=100, lease=120) is None
    again = state.claim_update("h:2", now=121, lease=120)
    assert again is not None and (again.update_id, again.attempts) == (1, 2)
    # the first owner's late failure does not override the new owner's claim
    assert state.fail(1, "late", owner="h:1") is None
    assert state.inbox_status(1) == "working"


def test_an_update_that_keeps_killing_its_worker_ends_failed(state: State) -> None:
    store(state, 1, 100)
    store(state, 2, 100)
    now = 0.0
    for _ in range(3):  # claimed, then the lease expires without finish/fail
        item = state.claim_update("h:1", now=now, lease=10)
        assert item is not None and item.update_id == 1
        now += 11
    item = state.claim_update("h:1", now=now, lease=10)
    assert item is not None and item.update_id == 2
    assert state.inbox_status(1) == FAILED


def test_dead_owner_on_this_host_is_reclaimed(state: State) -> None:
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    store(state, 1, 100)
    store(state, 2, 200)
    store(state, 3, 300)
    state.claim_update(f"{HOST}:{dead.pid}:0", now=0)
    state.claim_update(f"{HOST}:{os.getpid()}:0", now=0)  # alive
    state.claim_update(f"otherhost:{dead.pid}:0", now=0)  # not ours to judge

    assert state.reclaim_dead_owners(HOST) == 1
    assert [state.inbox_status(i) for i in (1, 2, 3)] == ["pending", "working", "working"]
    again = state.claim_update(f"{HOST}:{os.getpid()}:1", now=1)
    assert again is not None and again.update_id == 1


def test_a_poison_update_fails_after_bounded_attempts_and_blocks_no_one(state: State) -> None:
    store(state, 1, 100)  # poison
    store(state, 2, 200)
    store(state, 3, 100)  # same chat as the poison, later
    handled = []
    for _ in range(10):
        item = state.claim_update("h:1", now=0)
        if item is None:
            break
        if item.update_id == 1:
            state.fail(1, "ValueError: boom", max_attempts=3)
        else:
            handled.append(item.update_id)
            state.finish(item.update_id)
    assert state.inbox_status(1) == FAILED
    assert handled == [2, 3]
    row = state._read("SELECT attempts, error FROM inbox WHERE update_id = 1")[0]
    assert row == (3, "ValueError: boom")


def test_two_processes_never_claim_the_same_update(db_path: Path) -> None:
    """Two State objects on one file, four threads each, claiming as fast as they can."""
    processes = [State(db_path), State(db_path)]
    for update_id in range(1, 201):
        store(processes[0], update_id, update_id % 7)
    claims: list[tuple[int, int | None]] = []
    lock = threading.Lock()
    errors: list[BaseException] = []

    def worker(state: State, name: str) -> None:
        try:
            while True:
                item = state.claim_update(name, now=0)
                if item is None:
                    if state.inbox_depth() == 0:
                        return
                    continue
                with lock:
                    claims.append((item.update_id, item.chat_id))
                state.finish(item.update_id)
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


def test_a_forked_child_opens_its_own_connection(state: State) -> None:
    store(state, 1, 100)  # the parent's thread now holds a connection
    pid = os.fork()
    if pid == 0:  # child: must not reuse the parent's connection
        code = 0 if store(state, 2, 200) and state.inbox_depth() == 2 else 1
        os._exit(code)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    assert state.inbox_depth() == 2


# -- key-value, tokens, audit, amoCRM events -------------------------------------------------------


def test_tokens_round_trip(state: State, db_path: Path) -> None:
    assert state.load_tokens() is None
    state.save_tokens({"access_token": "a1", "refresh_token": "r1", "expires_at": 100})
    state.save_tokens({"access_token": "a2", "refresh_token": "r2", "expires_at": 200})
    assert State(db_path).load_tokens() == {
        "access_token": "a2",
        "refresh_token": "r2",
        "expires_at": 200,
    }


def test_the_token_lock_keeps_a_second_holder_waiting_until_the_first_lets_go(
    db_path: Path,
) -> None:
    taken: list[str] = []

    def second() -> None:
        with State(db_path).token_lock():  # another process
            taken.append("second")

    with State(db_path).token_lock():
        waiting = threading.Thread(target=second)
        waiting.start()
        waiting.join(0.3)
        assert waiting.is_alive() and taken == []
    waiting.join(5)
    assert taken == ["second"]
    assert State(db_path).get_value(TOKEN_LOCK_KEY) is None


def test_a_token_lock_left_by_a_dead_process_expires(db_path: Path) -> None:
    clock = FakeClock(1000)
    dead = State(db_path, clock=clock.time).token_lock()
    dead.__enter__()  # taken, then the process was killed: never let go
    clock.advance(TOKEN_LOCK_SECONDS + 1)
    started = time.monotonic()
    with State(db_path, clock=clock.time).token_lock():
        assert time.monotonic() - started < 1
    assert dead  # held to the end: a collected generator would let go in its `finally`


def test_audit_rows_newest_first(db_path: Path) -> None:
    ticks = iter([100.0, 200.0])
    state = State(db_path, clock=lambda: next(ticks))
    state.audit(42, "complete_task", "task 7")
    state.audit(None, "digest", "sent to 3 chats")
    rows = state.audit_rows(limit=10)
    assert [(r.at, r.telegram_user_id, r.action, r.details) for r in rows] == [
        (200.0, None, "digest", "sent to 3 chats"),
        (100.0, 42, "complete_task", "task 7"),
    ]
    assert len(state.audit_rows(limit=1)) == 1


def test_amo_events_are_stored_once_per_key(state: State) -> None:
    assert state.store_amo_event("k1", "leads[add][0][id]=1") is True
    assert state.store_amo_event("k1", "leads[add][0][id]=1") is False
    assert state.store_amo_event("k2", "leads[add][0][id]=2") is True
    assert state._read("SELECT key, status FROM amo_events ORDER BY id") == [
        ("k1", "pending"),
        ("k2", "pending"),
    ]


def test_claims_of_a_zombie_worker_are_taken_back(state: State) -> None:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    try:
        # Wait for the exit without reaping: the child stays a zombie, and kill(pid, 0) works.
        os.waitid(os.P_PID, child.pid, os.WEXITED | os.WNOWAIT)
        os.kill(child.pid, 0)
        store(state, 1, 10)
        assert state.claim_update(f"{HOST}:{child.pid}:0", now=0.0) is not None
        assert state.reclaim_dead_owners(HOST) == 1
        assert state.inbox_status(1) == "pending"
    finally:
        child.wait()


def test_a_reused_pid_is_not_mistaken_for_the_dead_owner(state: State) -> None:
    # A restarted container keeps its hostname and may give a new worker the old pid: the
    # owner tag carries the process start time, so only the very same process counts as alive.
    me = owner_id(HOST, os.getpid())
    assert "@" in me
    pid, _, start = me.split(":")[1].partition("@")
    store(state, 1, 10)
    store(state, 2, 20)
    state.claim_update(f"{HOST}:{pid}@{int(start) + 1}", now=0.0)  # same pid, other process
    state.claim_update(me, now=0.0)
    assert state.reclaim_dead_owners(HOST) == 1
    assert [state.inbox_status(i) for i in (1, 2)] == ["pending", "working"]


def test_an_owner_whose_pid_is_not_ascii_digits_is_left_to_its_lease(state: State) -> None:
    store(state, 1, 100)
    state.claim_update(f"{HOST}:²:0", now=0)  # "²".isdigit() is true, int("²") fails
    assert state.reclaim_dead_owners(HOST) == 0
    assert state.inbox_status(1) == "working"


# -- file permissions (#9 item 22) ----------------------------------------------------------------


@pytest.fixture
def open_umask() -> Iterator[None]:
    """A umask that lets everyone read new files, as outside the provided units."""
    previous = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(previous)


def modes(db_path: Path) -> dict[str, int]:
    files = (db_path, Path(f"{db_path}-wal"), Path(f"{db_path}-shm"))
    return {path.name: path.stat().st_mode & 0o777 for path in files}


def test_the_database_and_its_wal_files_are_created_private(
    open_umask: None, db_path: Path
) -> None:
    state = State(db_path)
    assert store(state, 1, 10)  # a write: the -wal and -shm files exist now
    assert modes(db_path) == {
        "state.sqlite3": 0o600,
        "state.sqlite3-wal": 0o600,
        "state.sqlite3-shm": 0o600,
    }


def test_a_database_left_readable_by_others_is_made_private(
    open_umask: None, db_path: Path
) -> None:
    older = sqlite3.connect(db_path)  # as an older version created it: 0644 under umask 022
    older.execute("PRAGMA journal_mode = WAL")
    older.execute("CREATE TABLE t (x)")
    older.execute("INSERT INTO t VALUES (1)")
    older.commit()
    assert set(modes(db_path).values()) == {0o644}
    state = State(db_path)
    assert store(state, 1, 10)
    older.close()
    assert set(modes(db_path).values()) == {0o600}
