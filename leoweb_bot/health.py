"""What is wrong with the state db, in words for /healthz and for the admins.

A write can fail for reasons the bot cannot fix: a full disk, a file system remounted read-only,
files a restore left owned by root. The webhooks then answer 503 and Telegram keeps the updates,
so nothing is lost, but someone has to act. /healthz says why it answers 503 (web.py), and the
scheduler tells the admins: a full disk or inbox while the db can still record an incident, and
an outage of writes once they work again (incidents.watch_state_db). Each ``State`` remembers
its own failed writes in an ``OutageLog`` until they have been reported.
"""

from __future__ import annotations

import shutil
import sqlite3
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

MIB = 1024 * 1024
# Below this, SQLite may fail at any write: the WAL grows by up to 4 MiB between checkpoints
# (SQLite "Write-Ahead Logging" §Automatic Checkpoint), and the checkpoint grows the file.
MIN_FREE_BYTES = 64 * MIB


# SQLite result codes (their low byte) that mean the file cannot be read or written as it is.
_OUTAGE_CODES = frozenset(
    (
        sqlite3.SQLITE_PERM,
        sqlite3.SQLITE_READONLY,
        sqlite3.SQLITE_IOERR,
        sqlite3.SQLITE_CORRUPT,
        sqlite3.SQLITE_FULL,
        sqlite3.SQLITE_CANTOPEN,
        sqlite3.SQLITE_NOTADB,
    )
)


def is_outage(exc: sqlite3.Error | OSError) -> bool:
    """Whether the error says the state db cannot be used as it is (not a lock wait, not a
    constraint, not a bug)."""
    code = getattr(exc, "sqlite_errorcode", None) or 0  # None: raised by Python itself
    return isinstance(exc, OSError) or code & 0xFF in _OUTAGE_CODES


@dataclass(frozen=True)
class Outage:
    since: float  # the first failed write
    detail: str  # SQLite's words for the last one, e.g. "database or disk is full"


class OutageLog:
    """Failed writes of one ``State`` since they were last reported (thread-safe)."""

    def __init__(self, clock: Callable[[], float]) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._outage: Outage | None = None

    def failed(self, detail: str) -> None:
        with self._lock:
            since = self._outage.since if self._outage else self._clock()
            self._outage = Outage(since, detail)

    def current(self) -> Outage | None:
        with self._lock:
            return self._outage

    def reported(self, outage: Outage) -> None:
        """Forget ``outage``, unless the log has moved on to another since it was read."""
        with self._lock:
            if self._outage is not None and self._outage.since == outage.since:
                self._outage = None


def disk_problem(path: str | Path, min_free: int | None = None) -> str | None:
    """ "disk almost full: …" when the state db's file system has less than ``min_free`` left
    (default MIN_FREE_BYTES).

    ``free`` is what an unprivileged user may still write (statvfs ``f_bavail``): the service
    runs as one, and the blocks reserved for root are not for it.
    """
    try:
        free = shutil.disk_usage(Path(path).absolute().parent).free
    except OSError as exc:
        return f"disk space unknown: {exc.strerror}"
    if free >= (MIN_FREE_BYTES if min_free is None else min_free):
        return None
    return f"disk almost full: {free // MIB} MiB free where the state database is"


def inbox_problem(depth: int, limit: int) -> str | None:
    """ "inbox full: …" when ``limit`` updates wait (the webhook refuses more meanwhile)."""
    return f"inbox full: {depth} updates waiting" if depth >= limit else None
