"""amoCRM webhook bodies waiting to be told, and the lead notices already sent for them.

Owns the ``amo_events`` table (one row per distinct body: the webhook stores it, the scheduler's
``amo_events`` job settles it, proactive/notices.py) and ``lead_notices`` (one row per lead
event and chat, claimed before the notice goes out, so a body delivered again sends nothing).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from leoweb_bot.state.db import Database


class AmoEventStatus(enum.StrEnum):
    PENDING = "pending"
    DONE = "done"  # its lead events were told
    IGNORED = "ignored"  # nothing in it to tell
    FAILED = "failed"  # it broke the parser, or amoCRM stayed unreachable


SETTLED = (AmoEventStatus.DONE, AmoEventStatus.IGNORED, AmoEventStatus.FAILED)


@dataclass(frozen=True)
class AmoEvent:
    id: int
    payload: str  # the form-encoded body as it came
    attempts: int


def store_amo_event(db: Database, key: str, payload: str) -> bool:
    """Store a raw amoCRM webhook body once; False when this key was already stored.

    One autocommit statement, as the Telegram webhook's ack (inbox.py).
    """
    cursor = db.write(
        "INSERT INTO amo_events (key, payload, status, received_at) VALUES (?, ?, ?, ?)"
        " ON CONFLICT (key) DO NOTHING",
        (key, payload, AmoEventStatus.PENDING, db.clock()),
    )
    return cursor.rowcount == 1


def pending_amo_events(db: Database, limit: int) -> list[AmoEvent]:
    """The oldest bodies not yet settled."""
    rows = db.query(
        "SELECT id, payload, attempts FROM amo_events WHERE status = ? ORDER BY id LIMIT ?",
        (AmoEventStatus.PENDING, limit),
    )
    return [AmoEvent(*row) for row in rows]


def mark_amo_event(
    db: Database, event_id: int, status: AmoEventStatus, note: str | None = None
) -> None:
    """Count an attempt at the body and set its status (PENDING: try again next time)."""
    db.write(
        "UPDATE amo_events SET status = ?, attempts = attempts + 1, note = ? WHERE id = ?",
        (status, note, event_id),
    )


def prune_amo_events(db: Database, before: float) -> int:
    """Forget settled bodies received before ``before`` (pending ones stay); how many went."""
    marks = ", ".join("?" * len(SETTLED))
    return db.delete_in_batches(
        "amo_events", f"status IN ({marks}) AND received_at < ?", (*SETTLED, before)
    )


def claim_notice(db: Database, key: str, now: float) -> bool:
    """Record the notice ``key`` as sent; False when it was already (it must not go twice)."""
    cursor = db.write(
        "INSERT INTO lead_notices (key, sent_at) VALUES (?, ?) ON CONFLICT DO NOTHING",
        (key, now),
    )
    return cursor.rowcount == 1


def prune_notices(db: Database, before: float) -> int:
    """Forget notices sent before ``before``; returns how many went."""
    return db.delete_in_batches("lead_notices", "sent_at < ?", (before,))
