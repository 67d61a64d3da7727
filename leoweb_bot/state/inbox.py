"""The inbox: Telegram updates acknowledged to Telegram and waiting for, or done by, a worker.

Owns the ``inbox`` table. The webhook stores an update (one autocommit INSERT: the hot path,
BENCHMARKS.md); dispatcher threads in every process claim updates, keeping each chat's updates
in update_id order, and finish or fail them; finished ones are pruned after two days.
"""

from __future__ import annotations

import enum
import json
import math
import threading
from dataclasses import dataclass
from typing import Any

from leoweb_bot.state.db import Database
from leoweb_bot.state.db import StateError
from leoweb_bot.state.owners import owner_alive


class InboxStatus(enum.StrEnum):
    PENDING = "pending"
    WORKING = "working"  # claimed by ``owner`` until its lease runs out
    DONE = "done"
    FAILED = "failed"  # its attempts are used up


_OPEN = (InboxStatus.PENDING, InboxStatus.WORKING)
# Telegram restarts update_ids at random only after a week without updates (Bot API "Update"),
# so two days of done ids is plenty for dedupe and keeps the table small.
KEEP_DONE_SECONDS = 48 * 3600


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


class Inbox:
    """The inbox of one process's state db; ``max_pending`` updates waiting make it full."""

    def __init__(self, db: Database, max_pending: int = 10000) -> None:
        self.db = db
        self.max_pending = max_pending
        self._backlog = _Backlog(max_pending)

    def store(self, update_id: int, chat_id: int | None, payload: str, now: float) -> bool:
        """Store an update once; False when this update_id was already seen (still ack it).

        One statement, and the only one holding the write lock that every ack queues behind:
        ``ON CONFLICT`` drops a repeat. Only when the inbox is full is a repeat looked up, so that
        it is still acknowledged; ``max_pending`` is a soft bound (see _Backlog).
        """
        try:
            self._check_room()
        except InboxFull:
            if self.db.scalar("SELECT 1 FROM inbox WHERE update_id = ?", (update_id,)):
                return False
            raise
        cursor = self.db.write(
            "INSERT INTO inbox (update_id, chat_id, payload, status, received_at)"
            " VALUES (?, ?, ?, ?, ?) ON CONFLICT (update_id) DO NOTHING",
            (update_id, chat_id, payload, InboxStatus.PENDING, now),
        )
        stored = cursor.rowcount == 1
        if stored:
            self._backlog.stored()
        return stored

    def _check_room(self) -> None:
        """Raise InboxFull when ``max_pending`` updates are waiting."""
        now = self.db.clock()
        if not self._backlog.needs_count(now):
            return
        waiting = self.depth()
        self._backlog.counted(waiting, now)
        if waiting >= self.max_pending:
            raise InboxFull(f"{waiting} updates waiting (max_pending = {self.max_pending})")

    def claim(
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
        if self.db.scalar("SELECT 1 FROM inbox WHERE status IN (?, ?) LIMIT 1", _OPEN) is None:
            return None
        with self.db.transaction() as conn:
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
                        (InboxStatus.FAILED, update_id),
                    )
                    continue
                conn.execute(
                    "UPDATE inbox SET status = ?, owner = ?, claimed_at = ?, attempts = ?"
                    " WHERE update_id = ?",
                    (InboxStatus.WORKING, owner, now, attempts + 1, update_id),
                )
                return InboxItem(update_id, chat_id, payload, attempts + 1, owner)

    def finish(self, update_id: int) -> None:
        self.db.write(
            "UPDATE inbox SET status = ?, owner = NULL, error = NULL WHERE update_id = ?",
            (InboxStatus.DONE, update_id),
        )

    def fail(
        self, update_id: int, error: str, max_attempts: int = 3, *, owner: str | None = None
    ) -> InboxStatus | None:
        """Record a failed attempt: back to pending, or ``failed`` once attempts are used up.

        Returns the new status, or None when the update is not ours any more (given ``owner``,
        our lease expired and another worker took it; its outcome wins).
        """
        with self.db.transaction() as conn:
            row = conn.execute(
                "SELECT attempts, status, owner FROM inbox WHERE update_id = ?", (update_id,)
            ).fetchone()
            taken = owner is not None and row is not None and row[2] != owner
            if row is None or row[1] != InboxStatus.WORKING or taken:
                return None
            status = InboxStatus.FAILED if row[0] >= max_attempts else InboxStatus.PENDING
            conn.execute(
                "UPDATE inbox SET status = ?, owner = NULL, error = ? WHERE update_id = ?",
                (status, error[:2000], update_id),
            )
        return status

    def reclaim_dead_owners(self, host: str) -> int:
        """Put back updates claimed by processes of ``host`` that no longer exist."""
        prefix = f"{host}:"
        rows = self.db.query(
            "SELECT update_id, owner FROM inbox WHERE status = ? AND substr(owner, 1, ?) = ?",
            (InboxStatus.WORKING, len(prefix), prefix),
        )
        dead = [uid for uid, owner in rows if not owner_alive(owner)]
        if not dead:
            return 0
        with self.db.transaction() as conn:
            conn.executemany(
                "UPDATE inbox SET status = ?, owner = NULL, error = 'worker lost'"
                " WHERE update_id = ? AND status = ?",
                [(InboxStatus.PENDING, uid, InboxStatus.WORKING) for uid in dead],
            )
        return len(dead)

    def depth(self) -> int:
        """Updates not yet handled (pending or being worked on)."""
        return int(self.db.scalar("SELECT count(*) FROM inbox WHERE status IN (?, ?)", _OPEN))

    def status(self, update_id: int) -> InboxStatus | None:
        status = self.db.scalar("SELECT status FROM inbox WHERE update_id = ?", (update_id,))
        return None if status is None else InboxStatus(status)

    def prune(self, now: float, keep: float = KEEP_DONE_SECONDS) -> int:
        """Forget finished updates older than ``keep`` seconds; returns how many were removed."""
        return self.db.delete_in_batches(
            "inbox",
            "status IN (?, ?) AND received_at < ?",
            (InboxStatus.DONE, InboxStatus.FAILED, now - keep),
        )


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
_BLOCKERS = f"""
  AND NOT EXISTS (
    SELECT 1 FROM inbox AS e
    WHERE e.chat_id = c.chat_id AND e.status IN ('{InboxStatus.PENDING}', '{InboxStatus.WORKING}')
      AND e.update_id < c.update_id)
  AND NOT EXISTS (
    SELECT 1 FROM inbox AS w
    WHERE w.chat_id = c.chat_id AND w.status = '{InboxStatus.WORKING}' AND w.claimed_at > ?
      AND w.update_id <> c.update_id)
ORDER BY c.update_id
LIMIT 1
"""
_EXPIRED_SQL = (
    "SELECT c.update_id, c.chat_id, c.payload, c.attempts FROM inbox AS c"
    f" WHERE c.status = '{InboxStatus.WORKING}' AND c.claimed_at <= ?" + _BLOCKERS
)
_PENDING_SQL = (
    "SELECT c.update_id, c.chat_id, c.payload, c.attempts FROM inbox AS c"
    f" WHERE c.status = '{InboxStatus.PENDING}'" + _BLOCKERS
)
