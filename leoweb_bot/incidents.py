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
from leoweb_bot.screens import App
from leoweb_bot.state import StateError
from leoweb_bot.telegram import TelegramError
from leoweb_bot.texts import Html
from leoweb_bot.texts import join
from leoweb_bot.texts import shorten
from leoweb_bot.texts import t

log = logging.getLogger(__name__)

AMOCRM_AUTH = "amocrm_auth"
AMOCRM_BLOCKED = "amocrm_blocked"
AMOCRM_PAYMENT = "amocrm_payment"
OAUTH_REFRESH = "oauth_refresh"
TELEGRAM_WEBHOOK = "telegram_webhook"
AMOCRM_KINDS = (AMOCRM_AUTH, AMOCRM_BLOCKED, AMOCRM_PAYMENT)
DETAIL_LIMIT = 300

# Most specific first: the amoCRM failures an admin must act on (reference/amocrm-api.md §4).
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


def open_incident(app: App, kind: str, detail: str, now: int) -> bool:
    """Record the incident; the first to record it tells the admins. True if this call did."""
    try:
        with app.state.transaction() as conn:
            cursor = conn.execute(
                "INSERT INTO incidents (kind, opened_at, detail) VALUES (?, ?, ?)"
                " ON CONFLICT (kind) DO NOTHING",
                (kind, now, shorten(detail, DETAIL_LIMIT)),
            )
    except StateError as exc:
        log.error("incident %s not recorded: %s", kind, exc)
        return False
    if cursor.rowcount != 1:
        return False
    log.error("incident opened: %s (%s)", kind, detail)
    reason = t(app.lang, "incident_detail", detail=shorten(detail, DETAIL_LIMIT))
    tell_admins(app, join([t(app.lang, f"incident_{kind}"), reason]))
    return True


def close_incident(app: App, kind: str) -> bool:
    """The condition cleared: forget the incident and tell the admins, once. True if this call did."""
    try:
        with app.state.transaction() as conn:
            cursor = conn.execute("DELETE FROM incidents WHERE kind = ?", (kind,))
    except StateError as exc:
        log.error("incident %s not closed: %s", kind, exc)
        return False
    if cursor.rowcount != 1:
        return False
    log.info("incident closed: %s", kind)
    tell_admins(app, t(app.lang, "incident_recovered", what=t(app.lang, f"incident_name_{kind}")))
    return True


def open_kinds(app: App) -> set[str]:
    return {kind for (kind,) in app.state.query("SELECT kind FROM incidents")}


def tell_admins(app: App, html: Html) -> None:
    """Send to every admin's private chat; a failure is logged (the incident stays recorded)."""
    for admin in app.settings.access.admins:
        try:
            app.telegram.send(admin, html)
        except TelegramError as exc:
            log.error("could not tell admin %s about an incident: %s", admin, exc)
