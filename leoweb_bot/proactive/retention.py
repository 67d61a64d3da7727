"""What the state db forgets, and when: processed work after a while, the audit log after a year.

Without pruning the file only grows, and it keeps client data (the raw amoCRM webhook bodies)
long after anyone needs it. Nothing still waiting to be processed is touched, and every dedupe
record outlives what it deduplicates: a lead notice is kept longer than the raw body that could
be delivered again. Two ledgers are pruned where their rules live: the inbox of Telegram updates
by the dispatcher (``State.prune``, 48 hours), the overdue alerts by their cycle
(``alerts.forget_settled``), which alone knows whether a task is still overdue.
"""

from __future__ import annotations

import logging

from leoweb_bot.bot.context import App
from leoweb_bot.proactive import notices
from leoweb_bot.state.db import State

log = logging.getLogger(__name__)

DAY = 86400
EVERY_SECONDS = 6 * 3600
KEEP_BODIES = 7 * DAY  # long enough to look into a body that failed
KEEP_LEDGERS = 30 * DAY  # lead notices, the digest log: needed for a day, kept for a month
BATCH = 500  # rows per transaction: the webhook's acks never wait long behind a prune

_SETTLED_BODIES = (notices.DONE, notices.IGNORED, notices.FAILED)


def prune(app: App, now: int) -> None:
    """The scheduler's job: delete what is past its retention, a batch per transaction."""
    bodies = ", ".join("?" * len(_SETTLED_BODIES))
    removed = {
        "amoCRM webhook bodies": delete_older(
            app.state,
            "amo_events",
            f"status IN ({bodies}) AND received_at < ?",
            (*_SETTLED_BODIES, now - KEEP_BODIES),
        ),
        "lead notices": delete_older(
            app.state, "lead_notices", "sent_at < ?", (now - KEEP_LEDGERS,)
        ),
        "digest log rows": delete_older(
            app.state, "digest_log", "updated_at < ?", (now - KEEP_LEDGERS,)
        ),
    }
    audit_days = app.settings.bot.audit_days
    if audit_days:  # 0: keep the audit log forever
        removed["audit rows"] = delete_older(
            app.state, "audit", "at < ?", (now - audit_days * DAY,)
        )
    done = ", ".join(f"{count} {what}" for what, count in removed.items() if count)
    if done:
        log.info("retention: deleted %s", done)


def delete_older(state: State, table: str, where: str, params: tuple[object, ...]) -> int:
    """Delete the rows of ``table`` matching ``where``, BATCH at a time; returns how many."""
    total = 0
    while True:
        with state.transaction() as conn:
            cursor = conn.execute(
                f"DELETE FROM {table} WHERE rowid IN"
                f" (SELECT rowid FROM {table} WHERE {where} LIMIT {BATCH})",
                params,
            )
        total += cursor.rowcount
        if cursor.rowcount < BATCH:
            return total
