"""The audit log: who did what through the bot (a task closed, a close refused, someone let in
or removed).

Owns the ``audit`` table; rows older than ``bot.audit_days`` are pruned (proactive/retention.py).
"""

from __future__ import annotations

from dataclasses import dataclass

from leoweb_bot.state.db import Database


@dataclass(frozen=True)
class AuditRow:
    id: int
    at: float
    telegram_user_id: int | None
    action: str
    details: str


def record_audit(db: Database, telegram_user_id: int | None, action: str, details: str) -> None:
    db.write(
        "INSERT INTO audit (at, telegram_user_id, action, details) VALUES (?, ?, ?, ?)",
        (db.clock(), telegram_user_id, action, details),
    )


def audit_rows(
    db: Database, limit: int = 100, actions: tuple[str, ...] | None = None
) -> list[AuditRow]:
    """The newest audit rows first; only those of ``actions``, if given."""
    where = f"WHERE action IN ({', '.join('?' * len(actions))})" if actions else ""
    rows = db.query(
        f"SELECT id, at, telegram_user_id, action, details FROM audit {where}"
        " ORDER BY id DESC LIMIT ?",
        (*(actions or ()), limit),
    )
    return [AuditRow(*row) for row in rows]


def prune_audit(db: Database, before: float) -> int:
    """Forget the rows written before ``before``; returns how many went."""
    return db.delete_in_batches("audit", "at < ?", (before,))
