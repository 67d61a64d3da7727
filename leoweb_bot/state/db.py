"""The connection rules of the state db: one SQLite file, several processes and threads.

Owns no table: each table family has its own module (see the package docstring), which holds
every statement on its tables and reaches the file through a ``Database``.

Several gunicorn workers (processes) and their threads share the file. WAL mode lets readers and
one writer work at once; a write of several statements runs in ``BEGIN IMMEDIATE`` so the write
lock is taken before anything is read, and a write of one statement (the webhook's INSERT) runs
alone in autocommit, which holds the lock for the shortest time. Each thread gets its own
connection, and a connection is never reused across ``fork()`` (SQLite forbids it:
https://www.sqlite.org/howtocorrupt.html §2.6), so a forked child opens fresh ones. The file and its
WAL are private to the service's user (they hold the OAuth refresh token and raw updates).

The schema and its migrations live in schema.py; every new connection brings the file up to
date first.
"""

from __future__ import annotations

import os
import random
import sqlite3
import threading
import time
from collections.abc import Callable
from collections.abc import Iterator
from contextlib import contextmanager
from contextlib import suppress
from pathlib import Path
from typing import Any

from leoweb_bot.state import schema
from leoweb_bot.state.outages import OutageLog
from leoweb_bot.state.outages import is_outage
from leoweb_bot.state.schema import migrate
from leoweb_bot.state.schema import rollback

BUSY_TIMEOUT_SECONDS = 10.0
DELETE_BATCH = 500  # rows per transaction of a prune: the webhook's acks never wait long behind it


class StateError(Exception):
    """Base class for state database problems."""


class StateUnavailable(StateError):
    """The database cannot be opened or used (missing directory, corrupt file, lock timeout).

    ``detail`` is the cause without the file's path (SQLite's words, e.g. "database or disk is
    full"), for /healthz, which is public.
    """

    def __init__(self, path: Path, detail: str) -> None:
        super().__init__(f"state db {path}: {detail}")
        self.detail = detail


class Database:
    """The state db file: a connection per thread, transactions, and errors as StateError."""

    def __init__(
        self,
        path: str | Path,
        *,
        checkpoints: bool = True,
        clock: Callable[[], float] = time.time,
    ) -> None:
        """``checkpoints=False``: this object's commits never run SQLite's automatic WAL
        checkpoint, for the webhook's acknowledgements (see ``_open``). ``clock`` stamps the
        rows that record when they were written."""
        self.path = Path(path)
        self.clock = clock
        self.outages = OutageLog(clock)
        self._checkpoints = checkpoints
        self._local = threading.local()

    def __repr__(self) -> str:
        return f"{type(self).__name__}({str(self.path)!r})"

    # -- connections ---------------------------------------------------------------------------

    def _connection(self) -> sqlite3.Connection:
        pid = os.getpid()
        conn = getattr(self._local, "conn", None)
        if conn is not None and self._local.pid == pid:
            return conn
        # A connection inherited through fork() is never used again; the child opens its own.
        conn = self._open()
        self._local.conn, self._local.pid = conn, pid
        return conn

    def _open(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = None
        try:
            _make_private(self.path)
            conn = sqlite3.connect(
                str(self.path), timeout=BUSY_TIMEOUT_SECONDS, isolation_level=None
            )
            conn.execute(f"PRAGMA busy_timeout = {int(BUSY_TIMEOUT_SECONDS * 1000)}")
            conn.execute("PRAGMA journal_mode = WAL")
            # NORMAL in WAL mode: a committed update survives the process being killed (SIGKILL,
            # OOM, deploy), which is the promise behind our 200; only an OS crash or power loss
            # may roll back the last commits. FULL fsyncs every ack and made the p99 ack latency
            # 10x worse under load (bench/webhook_load.py, BENCHMARKS.md).
            conn.execute("PRAGMA synchronous = NORMAL")
            if not self._checkpoints:
                # The commit that takes the WAL past 1000 pages copies it into the database and
                # fsyncs (https://www.sqlite.org/wal.html, Automatic Checkpoint): 5 ms on this disk,
                # far more on a busy cloud volume, every ~300 acks. Connections opened with the
                # default, such as the dispatcher's, claim and finish every acked update, so
                # their commits keep the WAL short instead.
                conn.execute("PRAGMA wal_autocheckpoint = 0")
            migrate(conn)
            # From here on every statement that can meet another connection's lock goes through
            # _when_unlocked, which waits in short steps; SQLite's handler (used above, while the
            # processes start together) sleeps in steps up to 100 ms.
            conn.execute("PRAGMA busy_timeout = 0")
        except (sqlite3.Error, OSError) as exc:
            if conn is not None:
                conn.close()
            raise self._unavailable(exc) from None
        return conn

    def _unavailable(self, exc: sqlite3.Error | OSError) -> StateUnavailable:
        """``exc`` as StateUnavailable; one that says the file cannot be written is logged as
        an outage (a lock wait or a constraint is not one)."""
        if is_outage(exc):
            self.outages.failed(str(exc))
        return StateUnavailable(self.path, str(exc))

    def close(self) -> None:
        """Close this thread's connection (others close when their threads end)."""
        conn = getattr(self._local, "conn", None)
        if conn is not None and self._local.pid == os.getpid():
            conn.close()
        self._local.conn = None

    # -- statements ----------------------------------------------------------------------------

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """``BEGIN IMMEDIATE`` … ``COMMIT``; sqlite errors become StateUnavailable."""
        conn = self._connection()
        try:
            _begin_immediate(conn)
        except sqlite3.Error as exc:
            raise self._unavailable(exc) from None
        try:
            yield conn
            conn.execute("COMMIT")
        except BaseException as exc:
            rollback(conn)
            if isinstance(exc, sqlite3.Error):
                raise self._unavailable(exc) from None
            raise

    def write(self, sql: str, params: tuple[Any, ...] = ()) -> sqlite3.Cursor:
        """One statement as its own transaction (autocommit).

        Lock, change and commit happen in one call into SQLite, during which Python's GIL is
        released; in a ``transaction`` the lock stays held between statements while the thread
        waits for the GIL, and under load the other writers queue behind that wait.
        """
        conn = self._connection()
        try:
            return _when_unlocked(conn, sql, params)
        except sqlite3.Error as exc:
            raise self._unavailable(exc) from None

    def query(self, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        """Rows of a read outside any transaction."""
        conn = self._connection()
        try:
            return _when_unlocked(conn, sql, params).fetchall()
        except sqlite3.Error as exc:
            raise self._unavailable(exc) from None

    def scalar(self, sql: str, params: tuple[Any, ...] = ()) -> Any:
        """The first column of the first row, or None."""
        rows = self.query(sql, params)
        return rows[0][0] if rows else None

    def delete_in_batches(self, table: str, where: str, params: tuple[Any, ...]) -> int:
        """Delete the rows of ``table`` matching ``where``, DELETE_BATCH per transaction, so no
        prune holds the write lock for long; returns how many went. For the table's own module:
        ``table`` and ``where`` are its SQL, never a caller's input."""
        total = 0
        while True:
            with self.transaction() as conn:
                cursor = conn.execute(
                    f"DELETE FROM {table} WHERE rowid IN"
                    f" (SELECT rowid FROM {table} WHERE {where} LIMIT {DELETE_BATCH})",
                    params,
                )
            total += cursor.rowcount
            if cursor.rowcount < DELETE_BATCH:
                return total

    # -- health --------------------------------------------------------------------------------

    def schema_version(self) -> int:
        return int(self.scalar("PRAGMA user_version"))

    def ping(self) -> None:
        """Raise StateUnavailable unless the database answers and has our schema."""
        version, ours = self.schema_version(), len(schema.MIGRATIONS)
        if version != ours:  # a newer program migrated the file since this connection opened
            raise StateUnavailable(self.path, f"schema version {version} is not ours ({ours})")


def _make_private(path: Path) -> None:
    """Create the database file 0600, and take group and other access from one left open.

    It holds the OAuth refresh token and raw updates. SQLite gives the -wal and -shm files the
    mode of the database file ("findCreateFileMode" in SQLite's os_unix.c), so a private
    database file makes them private too, whatever the umask.
    """
    os.close(os.open(path, os.O_RDWR | os.O_CREAT, 0o600))
    for name in (str(path), f"{path}-wal", f"{path}-shm"):
        with suppress(FileNotFoundError, PermissionError):  # not there yet; not ours to change
            if os.stat(name).st_mode & 0o077:
                os.chmod(name, 0o600)


def _begin_immediate(conn: sqlite3.Connection) -> None:
    """Start a write transaction: take the write lock (see _when_unlocked)."""
    _when_unlocked(conn, "BEGIN IMMEDIATE")


def _when_unlocked(
    conn: sqlite3.Connection, sql: str, params: tuple[Any, ...] = ()
) -> sqlite3.Cursor:
    """Run a statement, retrying every few ms while another connection's lock is in its way.

    Connections run with ``busy_timeout = 0`` (see ``Database._open``) because SQLite's own busy
    handler backs off in steps up to 100 ms: under load a webhook ack could wait 100 ms for a
    lock held 1 ms. Short jittered retries keep the wait near the hold time.
    """
    deadline = time.monotonic() + BUSY_TIMEOUT_SECONDS
    delay = 0.0005
    while True:
        try:
            return conn.execute(sql, params)
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
        time.sleep(delay * (0.5 + random.random()))
        delay = min(delay * 1.5, 0.004)
