"""The state database: everything that must survive a restart, in one SQLite file.

Several gunicorn workers (processes) and their threads share the file. WAL mode lets readers and
one writer work at once; a write of several statements runs in ``BEGIN IMMEDIATE`` so the write
lock is taken before anything is read, and a write of one statement (the webhook's INSERT) runs
alone in autocommit, which holds the lock for the shortest time. Each thread gets its own
connection, and a connection is never reused across ``fork()`` (SQLite forbids it:
https://www.sqlite.org/howtocorrupt.html §2.6), so a forked child opens fresh ones.

The schema and its migrations live in schema.py; every new connection brings the file up to
date first.
"""

from __future__ import annotations

import json
import math
import os
import random
import sqlite3
import threading
import time
import uuid
from collections.abc import Callable
from collections.abc import Iterator
from contextlib import AbstractContextManager
from contextlib import contextmanager
from contextlib import suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from leoweb_bot.ids import parse_id
from leoweb_bot.state.outages import OutageLog
from leoweb_bot.state.outages import is_outage
from leoweb_bot.state.schema import migrate
from leoweb_bot.state.schema import rollback

PENDING = "pending"
WORKING = "working"
DONE = "done"
FAILED = "failed"
_OPEN = (PENDING, WORKING)

TOKENS_KEY = "amocrm.tokens"
TOKEN_LOCK_KEY = "amocrm.tokens.lock"
# Longer than any grant can take (one amoCRM request gives up within 20 s, amocrm/deadline.py),
# so a live holder never loses the lock; a holder that died frees it after this long.
TOKEN_LOCK_SECONDS = 30.0
# Telegram restarts update_ids at random only after a week without updates (Bot API "Update"),
# so two days of done ids is plenty for dedupe and keeps the table small.
KEEP_DONE_SECONDS = 48 * 3600
BUSY_TIMEOUT_SECONDS = 10.0


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


class InboxFull(StateError):
    """Too many updates are waiting; the webhook answers 503 so Telegram retries later."""


@dataclass(frozen=True)
class InboxItem:
    update_id: int
    chat_id: int | None
    payload: str
    attempts: int
    owner: str

    @property
    def update(self) -> dict[str, Any]:
        return json.loads(self.payload)


@dataclass(frozen=True)
class AuditRow:
    id: int
    at: float
    telegram_user_id: int | None
    action: str
    details: str


class State:
    """The SQLite state database (inbox, key-value store, audit log, amoCRM events, schedules)."""

    def __init__(
        self,
        path: str | Path,
        *,
        max_pending: int = 10000,
        checkpoints: bool = True,
        clock: Callable[[], float] = time.time,
    ) -> None:
        """``checkpoints=False``: this object's commits never run SQLite's automatic WAL
        checkpoint, for the webhook's acknowledgements (see ``_open``)."""
        self.path = Path(path)
        self.max_pending = max_pending
        self._backlog = _Backlog(max_pending)
        self._checkpoints = checkpoints
        self._clock = clock
        self._local = threading.local()
        self.outages = OutageLog(clock)

    def __repr__(self) -> str:
        return f"State({str(self.path)!r})"

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

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
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

    def _write(self, sql: str, params: tuple[Any, ...] = ()) -> sqlite3.Cursor:
        """One statement as its own transaction (autocommit).

        Lock, change and commit happen in one call into SQLite, during which Python's GIL is
        released; in a ``_transaction`` the lock stays held between statements while the thread
        waits for the GIL, and under load the other writers queue behind that wait.
        """
        conn = self._connection()
        try:
            return _when_unlocked(conn, sql, params)
        except sqlite3.Error as exc:
            raise self._unavailable(exc) from None

    def _read(self, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        conn = self._connection()
        try:
            return _when_unlocked(conn, sql, params).fetchall()
        except sqlite3.Error as exc:
            raise self._unavailable(exc) from None

    def _scalar(self, sql: str, params: tuple[Any, ...] = ()) -> Any:
        """The first column of the first row, or None."""
        rows = self._read(sql, params)
        return rows[0][0] if rows else None

    # The schedulers' stores (digest.py, alerts.py, …) keep their SQL next to their logic and
    # use these two doors, so this file stays about the connection rules.
    def transaction(self) -> AbstractContextManager[sqlite3.Connection]:
        """A ``BEGIN IMMEDIATE`` transaction; sqlite errors become StateUnavailable."""
        return self._transaction()

    def query(self, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        """Rows of a read outside any transaction."""
        return self._read(sql, params)

    def close(self) -> None:
        """Close this thread's connection (others close when their threads end)."""
        conn = getattr(self._local, "conn", None)
        if conn is not None and self._local.pid == os.getpid():
            conn.close()
        self._local.conn = None

    def ping(self) -> None:
        """Raise StateUnavailable unless the database answers and has our schema."""
        self._read("SELECT count(*) FROM inbox WHERE 0")

    def schema_version(self) -> int:
        return int(self._scalar("PRAGMA user_version"))

    # -- inbox ---------------------------------------------------------------------------------

    def store_update(self, update_id: int, chat_id: int | None, payload: str, now: float) -> bool:
        """Store an update once; False when this update_id was already seen (still ack it).

        One statement, and the only one holding the write lock that every ack queues behind:
        ``ON CONFLICT`` drops a repeat. Only when the inbox is full is a repeat looked up, so that
        it is still acknowledged; ``max_pending`` is a soft bound (see _Backlog).
        """
        try:
            self._check_room()
        except InboxFull:
            if self._scalar("SELECT 1 FROM inbox WHERE update_id = ?", (update_id,)):
                return False
            raise
        cursor = self._write(
            "INSERT INTO inbox (update_id, chat_id, payload, status, received_at)"
            " VALUES (?, ?, ?, ?, ?) ON CONFLICT (update_id) DO NOTHING",
            (update_id, chat_id, payload, PENDING, now),
        )
        stored = cursor.rowcount == 1
        if stored:
            self._backlog.stored()
        return stored

    def _check_room(self) -> None:
        """Raise InboxFull when ``max_pending`` updates are waiting."""
        now = self._clock()
        if not self._backlog.needs_count(now):
            return
        waiting = self.inbox_depth()
        self._backlog.counted(waiting, now)
        if waiting >= self.max_pending:
            raise InboxFull(f"{waiting} updates waiting (max_pending = {self.max_pending})")

    def claim_update(
        self, owner: str, now: float, lease: float = 120.0, max_attempts: int = 3
    ) -> InboxItem | None:
        """Take the oldest runnable update, keeping each chat's updates in update_id order.

        Runnable: pending, or working under an expired lease (its worker died or hung), and
        no earlier unfinished update of the same chat, and no live lease in that chat.
        Every claim counts as an attempt, so an update that crashes its worker each time still
        ends ``failed`` instead of looping.
        """
        expired = now - lease
        # Idle dispatchers poll often: answer "nothing to do" without taking the write lock.
        if self._scalar("SELECT 1 FROM inbox WHERE status IN (?, ?) LIMIT 1", _OPEN) is None:
            return None
        with self._transaction() as conn:
            while True:
                row = (
                    conn.execute(_EXPIRED_SQL, (expired, expired)).fetchone()
                    or conn.execute(_PENDING_SQL, (expired,)).fetchone()
                )
                if row is None:
                    return None
                update_id, chat_id, payload, attempts = row
                if attempts >= max_attempts:
                    conn.execute(
                        "UPDATE inbox SET status = ?, owner = NULL,"
                        " error = coalesce(error, 'worker lost') || ' (attempts exhausted)'"
                        " WHERE update_id = ?",
                        (FAILED, update_id),
                    )
                    continue
                conn.execute(
                    "UPDATE inbox SET status = ?, owner = ?, claimed_at = ?, attempts = ?"
                    " WHERE update_id = ?",
                    (WORKING, owner, now, attempts + 1, update_id),
                )
                return InboxItem(update_id, chat_id, payload, attempts + 1, owner)

    def finish(self, update_id: int) -> None:
        self._write(
            "UPDATE inbox SET status = ?, owner = NULL, error = NULL WHERE update_id = ?",
            (DONE, update_id),
        )

    def fail(
        self, update_id: int, error: str, max_attempts: int = 3, *, owner: str | None = None
    ) -> str | None:
        """Record a failed attempt: back to pending, or ``failed`` once attempts are used up.

        Returns the new status, or None when the update is not ours any more (given ``owner``,
        our lease expired and another worker took it; its outcome wins).
        """
        with self._transaction() as conn:
            row = conn.execute(
                "SELECT attempts, status, owner FROM inbox WHERE update_id = ?", (update_id,)
            ).fetchone()
            if row is None or row[1] != WORKING or (owner is not None and row[2] != owner):
                return None
            status = FAILED if row[0] >= max_attempts else PENDING
            conn.execute(
                "UPDATE inbox SET status = ?, owner = NULL, error = ? WHERE update_id = ?",
                (status, error[:2000], update_id),
            )
        return status

    def reclaim_dead_owners(self, host: str) -> int:
        """Put back updates claimed by processes of ``host`` that no longer exist."""
        prefix = f"{host}:"
        rows = self._read(
            "SELECT update_id, owner FROM inbox WHERE status = ? AND substr(owner, 1, ?) = ?",
            (WORKING, len(prefix), prefix),
        )
        dead = [uid for uid, owner in rows if not _owner_alive(owner)]
        if not dead:
            return 0
        with self._transaction() as conn:
            conn.executemany(
                "UPDATE inbox SET status = ?, owner = NULL, error = 'worker lost'"
                " WHERE update_id = ? AND status = ?",
                [(PENDING, uid, WORKING) for uid in dead],
            )
        return len(dead)

    def inbox_depth(self) -> int:
        """Updates not yet handled (pending or being worked on)."""
        return int(self._scalar("SELECT count(*) FROM inbox WHERE status IN (?, ?)", _OPEN))

    def inbox_status(self, update_id: int) -> str | None:
        return self._scalar("SELECT status FROM inbox WHERE update_id = ?", (update_id,))

    def prune(self, now: float, keep: float = KEEP_DONE_SECONDS) -> int:
        """Forget finished updates older than ``keep`` seconds; returns how many were removed."""
        with self._transaction() as conn:
            cursor = conn.execute(
                "DELETE FROM inbox WHERE status IN (?, ?) AND received_at < ?",
                (DONE, FAILED, now - keep),
            )
        return cursor.rowcount

    # -- key-value and tokens ------------------------------------------------------------------

    def get_value(self, key: str) -> str | None:
        return self._scalar("SELECT value FROM kv WHERE key = ?", (key,))

    def set_value(self, key: str, value: str) -> None:
        with self._transaction() as conn:
            conn.execute(
                "INSERT INTO kv (key, value) VALUES (?, ?)"
                " ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                (key, value),
            )

    def load_tokens(self) -> dict[str, Any] | None:
        """TokenStore: the saved amoCRM OAuth token pair, or None."""
        raw = self.get_value(TOKENS_KEY)
        if raw is None:
            return None
        tokens = json.loads(raw)
        return tokens if isinstance(tokens, dict) else None

    def save_tokens(self, tokens: dict[str, Any]) -> None:
        """TokenStore: replace the token pair in one transaction (refresh tokens are single-use)."""
        self.set_value(TOKENS_KEY, json.dumps(tokens))

    @contextmanager
    def token_lock(self) -> Iterator[None]:
        """TokenStore: one OAuth grant at a time across every process sharing this file.

        A refresh token works once, so two workers refreshing together leave the slower one
        holding a revoked token. The lock is a lease row in ``kv``, not an open transaction:
        the grant is an HTTP call, and SQLite's write lock held through it would stall every
        webhook acknowledgement.
        """
        owner = uuid.uuid4().hex
        give_up = time.monotonic() + TOKEN_LOCK_SECONDS
        while not self._take_token_lock(owner):
            if time.monotonic() > give_up:
                raise StateUnavailable(self.path, "the OAuth token lock stays taken")
            time.sleep(0.05)
        try:
            yield
        finally:
            self._write(
                "DELETE FROM kv WHERE key = ? AND json_extract(value, '$.owner') = ?",
                (TOKEN_LOCK_KEY, owner),
            )

    def _take_token_lock(self, owner: str) -> bool:
        now = self._clock()
        lease = json.dumps({"owner": owner, "until": now + TOKEN_LOCK_SECONDS})
        cursor = self._write(
            "INSERT INTO kv (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE"
            " SET value = excluded.value WHERE json_extract(kv.value, '$.until') < ?",
            (TOKEN_LOCK_KEY, lease, now),
        )
        return cursor.rowcount == 1

    # -- audit ---------------------------------------------------------------------------------

    def audit(self, telegram_user_id: int | None, action: str, details: str) -> None:
        with self._transaction() as conn:
            conn.execute(
                "INSERT INTO audit (at, telegram_user_id, action, details) VALUES (?, ?, ?, ?)",
                (self._clock(), telegram_user_id, action, details),
            )

    def audit_rows(self, limit: int = 100) -> list[AuditRow]:
        """The newest audit rows first."""
        rows = self._read(
            "SELECT id, at, telegram_user_id, action, details FROM audit ORDER BY id DESC LIMIT ?",
            (limit,),
        )
        return [AuditRow(*row) for row in rows]

    # -- amoCRM webhook events -----------------------------------------------------------------

    def store_amo_event(self, key: str, payload: str) -> bool:
        """Store a raw amoCRM webhook body once; False when this key was already stored."""
        with self._transaction() as conn:
            cursor = conn.execute(
                "INSERT INTO amo_events (key, payload, status, received_at) VALUES (?, ?, ?, ?)"
                " ON CONFLICT (key) DO NOTHING",
                (key, payload, PENDING, self._clock()),
            )
        return cursor.rowcount == 1


class _Backlog:
    """How many updates wait, for the inbox limit, without counting them on every ack.

    The count scans every open update, and a burst leaves thousands of them (replies go out at
    Telegram's 30 messages/s): at 300 acks/s, counting each time cost a twentieth of a core.
    Between counts, at most RECOUNT_SECONDS apart, the estimate grows by what this process
    stores; near the limit every ack counts again. Other processes' acks show at the next
    count, so the limit may be passed by about a second of their traffic.
    """

    RECOUNT_SECONDS = 1.0

    def __init__(self, limit: int) -> None:
        self._limit = limit
        self._lock = threading.Lock()
        self._waiting = 0
        self._counted_at = -math.inf

    def needs_count(self, now: float) -> bool:
        with self._lock:
            stale = not 0 <= now - self._counted_at < self.RECOUNT_SECONDS  # or clock set back
            return stale or self._waiting >= self._limit

    def counted(self, waiting: int, now: float) -> None:
        with self._lock:
            self._waiting, self._counted_at = waiting, now

    def stored(self) -> None:
        with self._lock:
            self._waiting += 1


# A candidate is pending or holds an expired lease; it must be the first unfinished update of
# its chat and that chat must have no live lease. chat_id NULL (no chat) never blocks anything.
_BLOCKERS = """
  AND NOT EXISTS (
    SELECT 1 FROM inbox AS e
    WHERE e.chat_id = c.chat_id AND e.status IN ('pending', 'working')
      AND e.update_id < c.update_id)
  AND NOT EXISTS (
    SELECT 1 FROM inbox AS w
    WHERE w.chat_id = c.chat_id AND w.status = 'working' AND w.claimed_at > ?
      AND w.update_id <> c.update_id)
ORDER BY c.update_id
LIMIT 1
"""
_EXPIRED_SQL = (
    "SELECT c.update_id, c.chat_id, c.payload, c.attempts FROM inbox AS c"
    " WHERE c.status = 'working' AND c.claimed_at <= ?" + _BLOCKERS
)
_PENDING_SQL = (
    "SELECT c.update_id, c.chat_id, c.payload, c.attempts FROM inbox AS c"
    " WHERE c.status = 'pending'" + _BLOCKERS
)


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

    Connections run with ``busy_timeout = 0`` (see ``State._open``) because SQLite's own busy
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


def owner_id(host: str, pid: int, worker: str = "") -> str:
    """The owner tag of a claim: ``host:pid[@start][:worker]``.

    The process start time tells a live worker from a dead one that had the same pid: a
    restarted container keeps its hostname and its workers often get the same small pids.
    """
    start = _start_time(pid)
    tag = f"{pid}@{start}" if start else str(pid)
    return f"{host}:{tag}:{worker}" if worker else f"{host}:{tag}"


def _owner_alive(owner: str) -> bool:
    parts = owner.split(":")
    pid_text, _, start = parts[1].partition("@") if len(parts) >= 2 else ("", "", "")
    pid = parse_id(pid_text)
    if pid is None:
        return True  # not ours to judge; the lease expiry will reclaim it
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    fields = _proc_stat(pid)
    if not fields:
        return True  # no /proc (macOS): kill() had the last word
    # A killed worker whose parent died too lingers as a zombie until something reaps it, and a
    # zombie still answers kill(pid, 0); proc(5): field 3 is the state, field 22 the start time.
    return fields[0] != "Z" and (not start or fields[19] == start)


def _start_time(pid: int) -> str | None:
    fields = _proc_stat(pid)
    return fields[19] if len(fields) > 19 else None


def _proc_stat(pid: int) -> list[str]:
    """Fields of /proc/<pid>/stat after the command name (which may hold spaces)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text(encoding="ascii", errors="replace")
    except OSError:
        return []
    return stat.rpartition(")")[2].split()
