"""What the state db forgets, and when: processed work after a while, the audit log after a year.

Without pruning the file only grows, and it keeps client data (the raw amoCRM webhook bodies)
long after anyone needs it. Nothing still waiting to be processed is touched, and every dedupe
record outlives what it deduplicates: a lead notice is kept longer than the raw body that could
be delivered again. Two ledgers are pruned where their rules live: the inbox of Telegram updates
by the dispatcher (``Inbox.prune``, 48 hours), the overdue alerts by their cycle
(``alerts.forget_settled``), which alone knows whether a task is still overdue.
"""

from __future__ import annotations

import logging

from leoweb_bot.bot.context import App
from leoweb_bot.state.audit import prune_audit
from leoweb_bot.state.digests import prune_digest_log
from leoweb_bot.state.events import prune_amo_events
from leoweb_bot.state.events import prune_notices

log = logging.getLogger(__name__)

DAY = 86400
EVERY_SECONDS = 6 * 3600
KEEP_BODIES = 7 * DAY  # long enough to look into a body that failed
KEEP_LEDGERS = 30 * DAY  # lead notices, the digest log: needed for a day, kept for a month


def prune(app: App, now: int) -> None:
    """The scheduler's job: delete what is past its retention (in batches, state/db.py)."""
    removed = {
        "amoCRM webhook bodies": prune_amo_events(app.state, now - KEEP_BODIES),
        "lead notices": prune_notices(app.state, now - KEEP_LEDGERS),
        "digest log rows": prune_digest_log(app.state, now - KEEP_LEDGERS),
    }
    audit_days = app.settings.bot.audit_days
    if audit_days:  # 0: keep the audit log forever
        removed["audit rows"] = prune_audit(app.state, now - audit_days * DAY)
    done = ", ".join(f"{count} {what}" for what, count in removed.items() if count)
    if done:
        log.info("retention: deleted %s", done)
