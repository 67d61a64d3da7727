"""Admin alerts: one Telegram message when something breaks, one when it is fixed.

An open incident is a row in ``incidents``. Opening inserts it and closing deletes it, each in
one transaction, and only the process whose statement changed the row tells the admins. So a
condition that lasts a week costs two messages, not one per tick, also with several processes.
"""

from __future__ import annotations

import logging

from leoweb_bot.amocrm.errors import AmoError
from leoweb_bot.amocrm.errors import AuthError
from leoweb_bot.amocrm.errors import Blocked
from leoweb_bot.amocrm.errors import PaymentRequired
from leoweb_bot.bot.context import App
from leoweb_bot.bot.formats import format_when
from leoweb_bot.bot.formats import shorten
from leoweb_bot.bot.members import access_now
from leoweb_bot.bot.texts import Html
from leoweb_bot.bot.texts import join
from leoweb_bot.bot.texts import t
from leoweb_bot.state import health
from leoweb_bot.state.db import StateError
from leoweb_bot.state.incidents import clear_incident
from leoweb_bot.state.incidents import incident_kinds
from leoweb_bot.state.incidents import record_incident
from leoweb_bot.state.kv import stamp_unless_since
from leoweb_bot.telegram.client import TelegramError

log = logging.getLogger(__name__)

AMOCRM_AUTH = "amocrm_auth"
AMOCRM_BLOCKED = "amocrm_blocked"
AMOCRM_PAYMENT = "amocrm_payment"
OAUTH_REFRESH = "oauth_refresh"
TELEGRAM_WEBHOOK = "telegram_webhook"
DISK_LOW = "disk_low"
INBOX_FULL = "inbox_full"
OUTAGE_TOLD_KEY = "incidents.state_outage_told_at"  # kv: when the admins last heard of one
AMOCRM_KINDS = (AMOCRM_AUTH, AMOCRM_BLOCKED, AMOCRM_PAYMENT)
DETAIL_LIMIT = 300

# Most specific first: the amoCRM failures an admin must act on
# (docs/amocrm.md#errors-and-html-429).
_KIND_OF: tuple[tuple[type[AmoError], str], ...] = (
    (AuthError, AMOCRM_AUTH),
    (Blocked, AMOCRM_BLOCKED),
    (PaymentRequired, AMOCRM_PAYMENT),
)


def kind_of(exc: AmoError) -> str | None:
    """The incident an amoCRM error means, or None for a transient one (timeouts, 5xx, 429)."""
    return next((kind for cls, kind in _KIND_OF if isinstance(exc, cls)), None)


def observe(app: App, exc: AmoError, now: int) -> None:
    """A job hit an amoCRM error: open the incident it stands for, if any."""
    kind = kind_of(exc)
    if kind is not None:
        open_incident(app, kind, describe(exc), now)


def describe(exc: AmoError) -> str:
    """The error and amoCRM's own words (e.g. the hint "Token has been revoked"); both redacted."""
    return f"{exc} ({exc.detail})" if exc.detail else str(exc)


def open_incident(app: App, kind: str, detail: str, now: int) -> None:
    """Record the incident; the first to record it tells the admins."""
    try:
        opened = record_incident(app.state, kind, now, shorten(detail, DETAIL_LIMIT))
    except StateError as exc:
        log.error("incident %s not recorded: %s", kind, exc)
        return
    if not opened:
        return
    log.error("incident opened: %s (%s)", kind, detail)
    reason = t(app.lang, "incident_detail", detail=shorten(detail, DETAIL_LIMIT))
    tell_admins(app, join([t(app.lang, f"incident_{kind}"), reason]))


def close_incident(app: App, kind: str) -> None:
    """The condition cleared: forget the incident and tell the admins, once."""
    try:
        closed = clear_incident(app.state, kind)
    except StateError as exc:
        log.error("incident %s not closed: %s", kind, exc)
        return
    if not closed:
        return
    log.info("incident closed: %s", kind)
    tell_admins(app, t(app.lang, "incident_recovered", what=t(app.lang, f"incident_name_{kind}")))


def watch_state_db(app: App, now: int) -> None:
    """The scheduler's job, every tick: an outage of writes, a full disk, a full inbox.

    A full disk or inbox is an incident while the db can still record one. An outage of writes
    cannot be recorded while it lasts; each process remembers its own (``State.outages``) and
    the first to write again tells the admins. Closing waits for twice the margin, so a disk or
    inbox at the edge does not flap.
    """
    report_outage(app, now)
    opened = incident_kinds(app.state)
    margin = 2 if DISK_LOW in opened else 1
    disk = health.disk_problem(app.state.path, health.MIN_FREE_BYTES * margin)
    follow(app, DISK_LOW, disk, opened, now)
    inbox = app.state.inbox
    limit = inbox.max_pending // (2 if INBOX_FULL in opened else 1)
    follow(app, INBOX_FULL, health.inbox_problem(inbox.depth(), limit), opened, now)


def follow(app: App, kind: str, problem: str | None, opened: set[str], now: int) -> None:
    """Open ``kind`` while ``problem`` is there, close it when it is gone."""
    if problem and kind not in opened:
        open_incident(app, kind, problem, now)
    elif not problem and kind in opened:
        close_incident(app, kind)


def report_outage(app: App, now: int) -> None:
    """Writes failed in this process and work again: tell the admins, unless another process
    already told them about this outage."""
    outage = app.state.outages.current()
    if outage is None:
        return
    try:
        first = stamp_unless_since(app.state, OUTAGE_TOLD_KEY, outage.since, now)
    except StateError:
        return  # still failing: the outage goes on
    app.state.outages.reported(outage)
    if not first:
        return  # another process told them
    since, until = (format_when(int(ts), app.tz) for ts in (outage.since, now))
    log.warning("state db refused writes from %s to %s: %s", since, until, outage.detail)
    reason = t(app.lang, "incident_detail", detail=shorten(outage.detail, DETAIL_LIMIT))
    tell_admins(app, join([t(app.lang, "incident_state_outage", since=since, until=until), reason]))


def tell_admins(app: App, html: Html) -> None:
    """Send to every admin's private chat; a failure is logged (the incident stays recorded)."""
    for admin in access_now(app).admins:
        try:
            app.telegram.send(admin, html)
        except TelegramError as exc:
            log.error("could not tell admin %s about an incident: %s", admin, exc)
