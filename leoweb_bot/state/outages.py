"""Failed writes to the state db, remembered by each ``State`` until the admins have been told.

A write can fail for reasons the bot cannot fix (a full disk, a file system remounted read-only,
files a restore left owned by root), and while that lasts nothing can be recorded in the db
itself; so each process keeps the first failure in memory, and its scheduler reports it once
writes work again (incidents.watch_state_db).
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Callable
from dataclasses import dataclass

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
