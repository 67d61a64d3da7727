"""The state db file: schema and migrations, connections, lock waits, batched deletes, modes."""

from __future__ import annotations

import os
import sqlite3
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from leoweb_bot.state import State
from leoweb_bot.state import schema
from leoweb_bot.state.db import DELETE_BATCH
from leoweb_bot.state.db import StateUnavailable
from leoweb_bot.state.events import store_amo_event
from leoweb_bot.state.schema import MIGRATIONS


def store(state: State, update_id: int, chat_id: int | None = None) -> bool:
    return state.inbox.store(update_id, chat_id, f'{{"update_id": {update_id}}}', 0.0)


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
    upgraded.ping()
    assert upgraded.schema_version() == len(MIGRATIONS) + 1
    assert upgraded.inbox.depth() == 1
    assert upgraded.query("SELECT count(*) FROM later_feature") == [(0,)]


def test_a_version_1_database_gains_the_scheduler_tables_and_keeps_its_events(
    db_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(schema, "MIGRATIONS", MIGRATIONS[:1])
    old = State(db_path)
    assert store_amo_event(old, "k1", "leads[add][0][id]=1")
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


def test_ping_notices_a_newer_program_migrating_the_open_file(state: State, db_path: Path) -> None:
    state.ping()  # this connection stays open, at our version
    conn = sqlite3.connect(db_path)
    conn.execute(f"PRAGMA user_version = {len(MIGRATIONS) + 1}")
    conn.close()
    with pytest.raises(StateUnavailable, match="is not ours"):
        state.ping()


def test_unusable_paths_raise_state_unavailable(tmp_path: Path) -> None:
    with pytest.raises(StateUnavailable):
        State(tmp_path).ping()  # a directory
    garbage = tmp_path / "garbage.sqlite3"
    garbage.write_bytes(b"this is not a database" * 100)
    with pytest.raises(StateUnavailable):
        State(garbage).inbox.depth()
    with pytest.raises(StateUnavailable):
        State(tmp_path / "missing-dir" / "state.sqlite3").ping()


# -- connections ---------------------------------------------------------------------------------


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


def test_a_forked_child_opens_its_own_connection(state: State) -> None:
    store(state, 1, 100)  # the parent's thread now holds a connection
    pid = os.fork()
    if pid == 0:  # child: must not reuse the parent's connection
        code = 0 if store(state, 2, 200) and state.inbox.depth() == 2 else 1
        os._exit(code)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    assert state.inbox.depth() == 2


def test_a_failed_transaction_changes_nothing(state: State) -> None:
    with pytest.raises(ZeroDivisionError), state.transaction() as conn:
        conn.execute("INSERT INTO kv (key, value) VALUES ('k', 'v')")
        raise ZeroDivisionError
    assert state.query("SELECT count(*) FROM kv") == [(0,)]


def test_a_big_backlog_is_deleted_in_batches(state: State) -> None:
    rows = DELETE_BATCH * 2 + 7
    with state.transaction() as conn:
        conn.executemany(
            "INSERT INTO lead_notices (key, sent_at) VALUES (?, ?)",
            [(f"k{n}", n % 2) for n in range(rows)],
        )
    assert state.delete_in_batches("lead_notices", "sent_at < ?", (1,)) == (rows + 1) // 2
    assert state.query("SELECT count(*) FROM lead_notices") == [(rows // 2,)]


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
