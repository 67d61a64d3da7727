"""Keep the amoCRM OAuth tokens alive and watch the connections an admin must fix by hand.

* The refresh token dies after 3 months unused and is single-use (docs/amocrm.md#authentication:
  an integration that idles for a quarter needs a manual re-authorisation), so the
  pair is rotated once a week even when nobody uses the bot. A failed refresh is retried on the
  next run (every 10 minutes) and reported once as an incident.
* A cheap amoCRM probe every 5 minutes opens or closes the auth / blocked / payment incidents.
* In `serve` mode, getWebhookInfo every 5 minutes: a backlog that grows while Telegram reports
  recent delivery errors means updates are not reaching us (docs/telegram.md#webhooks).
"""

from __future__ import annotations

import logging

from leoweb_bot.amocrm.errors import AmoError
from leoweb_bot.bot.context import App
from leoweb_bot.proactive import incidents
from leoweb_bot.state.kv import get_value
from leoweb_bot.state.kv import set_value
from leoweb_bot.state.progress import CYCLE
from leoweb_bot.state.progress import Progress
from leoweb_bot.state.tokens import Tokens
from leoweb_bot.telegram.client import TelegramError
from leoweb_bot.telegram.client import WebhookInfo

log = logging.getLogger(__name__)

REFRESH_AFTER = 7 * 86400  # weekly: far inside the 3-month life, rare enough to be harmless
WEBHOOK_PENDING_KEY = "webhook.pending_update_count"
WEBHOOK_ERROR_RECENT = 600  # seconds: a delivery error this fresh means it is still failing
WEBHOOK_MIN_BACKLOG = 3  # one stray update waiting during a deploy is not an incident
HEALTH_PROOF_SECONDS = 300  # a sync cycle this recent answers the amoCRM probe (its interval)


def refresh_due(last_rotation: int | None, now: int) -> bool:
    """No tokens yet (the code is still to be exchanged) or the last rotation is a week old."""
    return last_rotation is None or now - last_rotation >= REFRESH_AFTER


def last_rotation(app: App) -> int | None:
    """When the pair was last rotated, by any process.

    The state db first: this process's copy may predate a rotation by another worker, and
    rotating again on its word would spend a refresh token for nothing.
    """
    tokens = Tokens(app.state).load_tokens() or app.client.token_info() or {}
    value = tokens.get("refreshed_at")
    return int(value) if value is not None else None


def keep_tokens_alive(app: App, now: int) -> None:
    """Rotate the OAuth pair when due; the client persists the new pair before using it."""
    if not refresh_due(last_rotation(app), now):
        return
    try:
        app.client.refresh_tokens()
    except AmoError as exc:
        log.error("amoCRM OAuth keep-alive refresh failed (retrying in 10 min): %s", exc)
        if incidents.kind_of(exc) is None:
            detail = incidents.describe(exc)
            incidents.open_incident(app, incidents.OAUTH_REFRESH, detail, now)
        else:
            incidents.observe(app, exc, now)
        return
    log.info("amoCRM OAuth keep-alive: token pair rotated")
    incidents.close_incident(app, incidents.OAUTH_REFRESH)
    incidents.close_incident(app, incidents.AMOCRM_AUTH)


def check_amocrm(app: App, now: int) -> None:
    """Probe amoCRM: an auth / block / payment failure opens its incident, success closes them.

    A sync cycle that worked since the last probe is proof enough, and saves the request (an
    idle bot's amoCRM cost is the sync's: docs/architecture.md#sync).
    """
    cycle = Progress(app.state).status(CYCLE)
    if cycle.failed_at is None and now - (cycle.synced_at or 0) < HEALTH_PROOF_SECONDS:
        for kind in incidents.AMOCRM_KINDS:
            incidents.close_incident(app, kind)
        return
    try:
        app.client.account()
    except AmoError as exc:
        if incidents.kind_of(exc) is None:
            log.info("amoCRM probe: %s (transient, no verdict)", exc)
        incidents.observe(app, exc, now)
        return
    for kind in incidents.AMOCRM_KINDS:
        incidents.close_incident(app, kind)


def watch_webhook(app: App, now: int) -> None:
    """Open an incident when Telegram's backlog for us grows with fresh errors; close it after."""
    try:
        info = app.telegram.webhook_info()
    except TelegramError as exc:
        log.warning("getWebhookInfo failed: %s", exc)
        return
    previous = int(get_value(app.state, WEBHOOK_PENDING_KEY) or 0)
    set_value(app.state, WEBHOOK_PENDING_KEY, str(info.pending_update_count))
    if webhook_failing(info, previous, now):
        detail = (
            f"{info.pending_update_count} updates waiting (was {previous}); "
            f"last error: {info.last_error_message or '?'}"
        )
        incidents.open_incident(app, incidents.TELEGRAM_WEBHOOK, detail, now)
    elif not error_recent(info, now) or info.pending_update_count == 0:
        incidents.close_incident(app, incidents.TELEGRAM_WEBHOOK)


def webhook_failing(info: WebhookInfo, previous: int, now: int) -> bool:
    growing = info.pending_update_count > previous
    return growing and info.pending_update_count >= WEBHOOK_MIN_BACKLOG and error_recent(info, now)


def error_recent(info: WebhookInfo, now: int) -> bool:
    return (
        bool(info.last_error_date) and now - int(info.last_error_date or 0) <= WEBHOOK_ERROR_RECENT
    )
