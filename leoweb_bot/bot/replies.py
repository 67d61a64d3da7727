"""Where an answer goes, and how a failure becomes a polite message instead of a stack trace."""

from __future__ import annotations

import logging
from collections.abc import Callable
from collections.abc import Iterator
from contextlib import contextmanager

from telebot.types import InlineKeyboardMarkup

from leoweb_bot.access import is_service_account
from leoweb_bot.amocrm.errors import AmoError
from leoweb_bot.amocrm.errors import AuthError
from leoweb_bot.amocrm.errors import BadBaseUrl
from leoweb_bot.amocrm.errors import BadRequest
from leoweb_bot.amocrm.errors import Blocked
from leoweb_bot.amocrm.errors import Forbidden
from leoweb_bot.amocrm.errors import NotFound
from leoweb_bot.amocrm.errors import PaymentRequired
from leoweb_bot.amocrm.errors import RateLimited
from leoweb_bot.amocrm.errors import Unavailable
from leoweb_bot.bot.texts import Html
from leoweb_bot.bot.texts import t
from leoweb_bot.telegram.client import Telegram

log = logging.getLogger(__name__)

ERROR_KEYS: dict[type[AmoError], str] = {
    Unavailable: "err_unavailable",
    RateLimited: "err_unavailable",
    AuthError: "err_auth",
    PaymentRequired: "err_payment",
    Blocked: "err_blocked",
    Forbidden: "err_forbidden",
    NotFound: "err_not_found",
    BadRequest: "err_bad_request",
    BadBaseUrl: "err_config",
}


def no_access_text(lang: str, telegram_id: int, *, alert: bool = False) -> Html:
    """The answer to someone without access: their id, and /start to ask for it. A service account
    (an anonymous group admin, a channel) is told to write as themselves instead: that id is
    shared by strangers, so sending it to the admin must never be the advice."""
    if is_service_account(telegram_id):
        return t(lang, "no_access_service")  # plain text: also fits a button's alert
    return t(lang, "cb_no_access" if alert else "no_access", id=telegram_id)


def error_text(lang: str, exc: AmoError) -> Html:
    """What the user is told about an amoCRM failure (most specific class first)."""
    key = next((ERROR_KEYS[c] for c in type(exc).__mro__ if c in ERROR_KEYS), "err_amo")
    return t(lang, key)


class Reply:
    """One chat's answer: a new message, or an edit of the "⏳" (or button's) message."""

    def __init__(
        self,
        telegram: Telegram,
        chat_id: int,
        message_id: int | None = None,
        *,
        placeholder: bool = True,
    ) -> None:
        """``placeholder=False``: the answer is at hand (the mirror), so ``working`` sends no
        "⏳" to edit; Telegram would hold the edit a second behind it (one message per second
        per chat: docs/telegram.md#limits)."""
        self.telegram = telegram
        self.chat_id = chat_id
        self.message_id = message_id
        self.placeholder = placeholder

    def working(self, text: Html) -> None:
        """Show that the bot is busy: "typing…", plus a placeholder to edit if there is none."""
        self.typing()
        if self.message_id is None and self.placeholder:
            ids = self.telegram.send(self.chat_id, text)
            self.message_id = ids[0] if ids else None

    def typing(self) -> None:
        self.telegram.typing(self.chat_id)

    def show(self, html: Html, markup: InlineKeyboardMarkup | None = None) -> None:
        """Put the answer in place of the placeholder, or send it (Telegram splits long texts)."""
        if self.message_id is None:
            self.telegram.send(self.chat_id, html, reply_markup=markup)
        else:
            self.telegram.edit(self.chat_id, self.message_id, html, reply_markup=markup)

    def send(self, html: Html, markup: InlineKeyboardMarkup | None = None) -> None:
        """A new message, leaving the current one as it is."""
        self.telegram.send(self.chat_id, html, reply_markup=markup)


@contextmanager
def guard(lang: str, notify: Callable[[Html], None], what: str, chat_id: int) -> Iterator[None]:
    """Turn any failure inside into a message: a clear one for amoCRM, a polite one otherwise.

    Log first, so the failure is on record even if telling the user fails too; a failure to
    notify propagates to the dispatcher, which retries the update a bounded number of times.
    """
    try:
        yield
    except AmoError as exc:
        log.warning("%s in chat %s: amoCRM %s: %s", what, chat_id, type(exc).__name__, exc)
        notify(error_text(lang, exc))
    except Exception:
        log.exception("%s in chat %s failed", what, chat_id)
        notify(t(lang, "err_internal"))
