"""Daily digest subscriptions, and the log that sends each digest once per chat and day.

Owns ``subscriptions`` (one per chat; the subscriber's role decides what is sent) and
``digest_log``, whose primary key (chat, local date) is the promise "at most one digest per chat
per local day": a digest is claimed by inserting that row before anything is sent
(proactive/digest.py).
"""

from __future__ import annotations

import datetime
import enum
from dataclasses import dataclass

from leoweb_bot.state.db import Database

RETRY_AFTER = 300  # amoCRM failed while building the digest: try again in 5 minutes
MAX_ATTEMPTS = 12  # about an hour of retries, then the day's digest is given up


class DigestStatus(enum.StrEnum):
    SENDING = "sending"  # claimed: being built and sent
    SENT = "sent"
    RETRY = "retry"  # amoCRM failed: claimable again from ``retry_at``
    FAILED = "failed"
    SKIPPED = "skipped"  # the subscriber may no longer read the report


@dataclass(frozen=True)
class Subscription:
    chat_id: int
    telegram_user_id: int  # the subscriber; their role decides what the chat receives
    at: str  # HH:MM company time
    since: float  # when it was made or last changed


# -- subscriptions ----------------------------------------------------------------------------


def save_subscription(
    db: Database, chat_id: int, telegram_user_id: int, at: str, now: float
) -> None:
    """Subscribe the chat (or change its time or subscriber): one subscription per chat."""
    db.write(
        "INSERT INTO subscriptions (chat_id, telegram_user_id, at, since) VALUES (?, ?, ?, ?)"
        " ON CONFLICT (chat_id) DO UPDATE SET telegram_user_id = excluded.telegram_user_id,"
        " at = excluded.at, since = excluded.since",
        (chat_id, telegram_user_id, at, now),
    )


def drop_subscription(db: Database, chat_id: int) -> bool:
    cursor = db.write("DELETE FROM subscriptions WHERE chat_id = ?", (chat_id,))
    return cursor.rowcount == 1


def subscription_of(db: Database, chat_id: int) -> Subscription | None:
    rows = db.query(
        "SELECT chat_id, telegram_user_id, at, since FROM subscriptions WHERE chat_id = ?",
        (chat_id,),
    )
    return Subscription(*rows[0]) if rows else None


def all_subscriptions(db: Database) -> list[Subscription]:
    rows = db.query(
        "SELECT chat_id, telegram_user_id, at, since FROM subscriptions ORDER BY chat_id"
    )
    return [Subscription(*row) for row in rows]


# -- the log: claim before sending ------------------------------------------------------------


def sent_on(db: Database, chat_id: int, day: datetime.date) -> bool:
    """Whether today's digest for this chat is already taken care of (sent or being sent)."""
    status = db.scalar(
        "SELECT status FROM digest_log WHERE chat_id = ? AND local_date = ?",
        (chat_id, day.isoformat()),
    )
    return status is not None and status != DigestStatus.RETRY


def claim_digest(db: Database, chat_id: int, day: datetime.date, now: int, late: bool) -> bool:
    """Take (chat, day): a new row, or a retry whose time has come. False if it is not ours."""
    key = (chat_id, day.isoformat())
    with db.transaction() as conn:
        row = conn.execute(
            "SELECT status, retry_at FROM digest_log WHERE chat_id = ? AND local_date = ?", key
        ).fetchone()
        if row is None:
            conn.execute(
                "INSERT INTO digest_log (chat_id, local_date, status, late, attempts, updated_at)"
                " VALUES (?, ?, ?, ?, 1, ?)",
                (*key, DigestStatus.SENDING, int(late), now),
            )
            return True
        if row[0] != DigestStatus.RETRY or (row[1] or 0) > now:
            return False
        conn.execute(
            "UPDATE digest_log SET status = ?, late = ?, attempts = attempts + 1, updated_at = ?"
            " WHERE chat_id = ? AND local_date = ?",
            (DigestStatus.SENDING, int(late), now, *key),
        )
    return True


def settle_digest(
    db: Database, chat_id: int, day: datetime.date, status: DigestStatus, now: int
) -> None:
    """Record how the claimed digest ended; a retry is given up after MAX_ATTEMPTS."""
    if status == DigestStatus.RETRY:
        db.write(
            "UPDATE digest_log SET status = CASE WHEN attempts >= ? THEN ? ELSE ? END,"
            " retry_at = ?, updated_at = ? WHERE chat_id = ? AND local_date = ?",
            (
                MAX_ATTEMPTS,
                DigestStatus.FAILED,
                DigestStatus.RETRY,
                now + RETRY_AFTER,
                now,
                chat_id,
                day.isoformat(),
            ),
        )
    else:
        db.write(
            "UPDATE digest_log SET status = ?, updated_at = ? WHERE chat_id = ? AND local_date = ?",
            (status, now, chat_id, day.isoformat()),
        )


def skip_digest(db: Database, chat_id: int, day: datetime.date, now: int) -> None:
    """The subscriber may no longer read the report: log the day as skipped, send nothing."""
    db.write(
        "INSERT INTO digest_log (chat_id, local_date, status, updated_at) VALUES (?, ?, ?, ?)"
        " ON CONFLICT (chat_id, local_date) DO NOTHING",
        (chat_id, day.isoformat(), DigestStatus.SKIPPED, now),
    )


def prune_digest_log(db: Database, before: float) -> int:
    """Forget log rows last changed before ``before``; returns how many went."""
    return db.delete_in_batches("digest_log", "updated_at < ?", (before,))
