"""The only module that calls the Telegram Bot API.

Built on pyTelegramBotAPI's API methods (no polling, no threads of its own). It adds what the
library leaves to us (docs/telegram.md#pytelegrambotapi): a send rate of about 1 message per
second per chat and 30 per second overall (docs/telegram.md#limits), waiting out
429 ``retry_after``, splitting texts over 4096 characters, and errors that never carry the token
(request URLs contain it, so we log method names only and drop the underlying exception).
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from collections.abc import Mapping
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from typing import TypeVar
from urllib.parse import urlsplit

import requests
import telebot
from telebot import apihelper
from telebot import types
from telebot import util

from leoweb_bot.config import Settings
from leoweb_bot.pacing import RateLimiter

log = logging.getLogger(__name__)

T = TypeVar("T")
Markup = types.InlineKeyboardMarkup | Mapping[str, Any]

MAX_TEXT = util.MAX_MESSAGE_LENGTH  # 4096 characters after entity parsing
PHOTO_NAME = "chart.png"  # the upload's file name; Telegram shows photos without it
MAX_429_RETRIES = 3
MAX_RETRY_AFTER = 60.0  # longer flood waits are not worth holding a worker thread for
GROUP_INTERVAL = 3.0  # groups: 20 messages per minute (Bots FAQ)
GLOBAL_RATE = 30.0  # messages per second for the whole bot, however many processes send (Bots FAQ)
_SCOPES: dict[str, Callable[[], types.BotCommandScope]] = {
    "default": types.BotCommandScopeDefault,
    "all_private_chats": types.BotCommandScopeAllPrivateChats,
    "all_group_chats": types.BotCommandScopeAllGroupChats,
    "all_chat_administrators": types.BotCommandScopeAllChatAdministrators,
}
_NOT_EDITABLE = (
    "message can't be edited",
    "message to edit not found",
    "there is no text in the message to edit",
)


class TelegramError(Exception):
    """A Bot API call failed. Carries the method and Telegram's description, never a URL."""

    def __init__(self, method: str, code: int | None, description: str) -> None:
        shown = f"{code} {description}" if code else description
        super().__init__(f"Telegram {method}: {shown}{_REMEDIES.get(code or 0, '')}")
        self.method = method
        self.code = code
        self.description = description


# What an admin can do about an answer that means the bot's own settings are wrong.
_REMEDIES = {
    401: "; check telegram.token (the Bot API refused it)",
    404: "; check telegram.token and telegram.api_url",
}


@dataclass(frozen=True)
class WebhookInfo:
    url: str
    pending_update_count: int
    last_error_date: int | None
    last_error_message: str | None
    max_connections: int | None
    allowed_updates: tuple[str, ...]

    @classmethod
    def from_api(cls, raw: Mapping[str, Any]) -> WebhookInfo:
        return cls(
            url=raw.get("url") or "",
            pending_update_count=int(raw.get("pending_update_count") or 0),
            last_error_date=raw.get("last_error_date"),
            last_error_message=raw.get("last_error_message"),
            max_connections=raw.get("max_connections"),
            allowed_updates=tuple(raw.get("allowed_updates") or ()),
        )


class Telegram:
    """Bot API calls with throttling, 429 back-off and splitting."""

    def __init__(
        self,
        token: str,
        api_url: str,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
        per_chat_interval: float = 1.0,
        global_rate: float = GLOBAL_RATE,
    ) -> None:
        use_api_url(api_url)
        self._host = urlsplit(api_url).netloc
        self._bot = telebot.TeleBot(token, threaded=False, parse_mode="HTML")
        self._token = token
        self._sleep = sleep
        self._pacer = RateLimiter(global_rate, clock=clock, sleep=sleep)
        self._chat_spacing = per_chat_interval
        self._group_spacing = max(GROUP_INTERVAL, per_chat_interval)

    def __repr__(self) -> str:
        return "Telegram(token=***)"

    # -- messages ------------------------------------------------------------------------------

    def send(
        self,
        chat_id: int,
        html: str,
        reply_markup: Markup | None = None,
        disable_preview: bool = True,
    ) -> list[int]:
        """Send ``html``, split on line boundaries when longer than 4096 characters.

        The keyboard goes on the last part only. Returns the message ids; [] when the user
        has blocked the bot (nothing to retry).
        """
        parts = split_text(html)
        ids: list[int] = []
        for n, part in enumerate(parts):
            markup = _markup(reply_markup) if n == len(parts) - 1 else None
            message = self._send_part(chat_id, part, markup, disable_preview)
            if message is None:
                return ids
            ids.append(message.message_id)
        return ids

    def _send_part(
        self, chat_id: int, text: str, markup: Any, disable_preview: bool
    ) -> types.Message | None:
        preview = types.LinkPreviewOptions(is_disabled=disable_preview)
        return self._deliver(
            "sendMessage",
            lambda: self._bot.send_message(
                chat_id, text, reply_markup=markup, link_preview_options=preview
            ),
            chat_id,
        )

    def send_photo(
        self, chat_id: int, png: bytes, caption: str = "", reply_markup: Markup | None = None
    ) -> int | None:
        """Upload ``png`` as a photo (multipart) under an HTML ``caption`` of at most 1024
        characters (docs/telegram.md#photos). Returns its message id; None when the user has
        blocked the bot."""
        photo = (PHOTO_NAME, png, "image/png")  # bytes, so a retry after a 429 sends them again
        message = self._deliver(
            "sendPhoto",
            lambda: self._bot.send_photo(
                chat_id, photo, caption=caption or None, reply_markup=_markup(reply_markup)
            ),
            chat_id,
        )
        return message.message_id if message is not None else None

    def _deliver(
        self, method: str, call: Callable[[], types.Message], chat_id: int
    ) -> types.Message | None:
        """A paced send to ``chat_id``; None when the user has blocked the bot (403)."""
        try:
            return self._call(method, call, chat_id=chat_id)
        except TelegramError as exc:
            if exc.code == 403:
                log.info("chat %s: %s; message dropped", chat_id, exc.description)
                return None
            raise

    def delete(self, chat_id: int, message_id: int) -> None:
        """Delete one of the bot's messages (a "⏳" placeholder a photo replaced); a message that
        cannot be deleted any more stays, which is only cosmetic, so failures are logged."""
        try:
            self._call("deleteMessage", lambda: self._bot.delete_message(chat_id, message_id))
        except TelegramError as exc:
            log.info("message %s in chat %s not deleted: %s", message_id, chat_id, exc.description)

    def edit(
        self,
        chat_id: int,
        message_id: int,
        html: str,
        reply_markup: Markup | None = None,
        disable_preview: bool = True,
    ) -> list[int]:
        """Replace a message's text; send a new message when that one can no longer be edited.

        A text over 4096 characters fills the edited message with its first part and sends the
        rest. Returns the ids of the messages now showing the text.
        """
        parts = split_text(html)
        markup = _markup(reply_markup) if len(parts) == 1 else None
        preview = types.LinkPreviewOptions(is_disabled=disable_preview)
        try:
            self._call(
                "editMessageText",
                lambda: self._bot.edit_message_text(
                    parts[0], chat_id, message_id, reply_markup=markup, link_preview_options=preview
                ),
                chat_id=chat_id,
            )
        except TelegramError as exc:
            description = exc.description.lower()
            if "message is not modified" in description:
                return [message_id]
            if exc.code == 400 and any(reason in description for reason in _NOT_EDITABLE):
                return self.send(chat_id, html, reply_markup, disable_preview)
            raise
        if len(parts) == 1:
            return [message_id]
        rest = "\n".join(parts[1:])
        return [message_id, *self.send(chat_id, rest, reply_markup, disable_preview)]

    def answer_callback(
        self, callback_id: str, text: str | None = None, alert: bool = False
    ) -> None:
        """Stop the button's spinner; a query older than ~150 s can't be answered (logged only)."""
        try:
            self._call(
                "answerCallbackQuery",
                lambda: self._bot.answer_callback_query(callback_id, text, show_alert=alert),
            )
        except TelegramError as exc:
            if exc.code != 400:
                raise
            log.info("callback not answered: %s", exc.description)

    def typing(self, chat_id: int) -> None:
        """Show "typing…"; purely cosmetic, so failures are logged and ignored."""
        try:
            self._call("sendChatAction", lambda: self._bot.send_chat_action(chat_id, "typing"))
        except TelegramError as exc:
            log.debug("typing indicator failed: %s", exc)

    # -- bot management ------------------------------------------------------------------------

    def get_me(self) -> types.User:
        return self._call("getMe", self._bot.get_me)

    def set_webhook(self, url: str, secret: str, allowed_updates: Sequence[str]) -> None:
        self._call(
            "setWebhook",
            lambda: self._bot.set_webhook(
                url=url, secret_token=secret, allowed_updates=list(allowed_updates)
            ),
        )

    def delete_webhook(self) -> None:
        self._call("deleteWebhook", self._bot.delete_webhook)

    def webhook_info(self) -> WebhookInfo:
        raw = self._call("getWebhookInfo", lambda: apihelper.get_webhook_info(self._token))
        return WebhookInfo.from_api(raw or {})

    def set_commands(
        self, commands_by_scope: Mapping[str | int, Sequence[tuple[str, str]]]
    ) -> None:
        """Set the command menu per scope.

        Keys: "default", "all_private_chats", "all_group_chats", "all_chat_administrators", or a
        chat id (that chat only). Values: (command, description) pairs.
        """
        for key, commands in commands_by_scope.items():
            scope = types.BotCommandScopeChat(key) if isinstance(key, int) else _SCOPES[key]()
            menu = [types.BotCommand(command, description) for command, description in commands]
            self._call("setMyCommands", lambda s=scope, m=menu: self._bot.set_my_commands(m, s))

    def delete_commands(self, chat_id: int) -> None:
        """Drop the menu of one chat: the shared menus apply there again."""
        scope = types.BotCommandScopeChat(chat_id)
        self._call("deleteMyCommands", lambda: self._bot.delete_my_commands(scope))

    def get_updates(self, offset: int | None, timeout: int) -> list[dict[str, Any]]:
        """Raw Update dicts from getUpdates (long polling for ``timeout`` seconds)."""
        result = self._call(
            "getUpdates",
            lambda: apihelper.get_updates(self._token, offset, long_polling_timeout=timeout),
        )
        return list(result or [])

    # -- the funnel ----------------------------------------------------------------------------

    def _call(self, method: str, call: Callable[[], T], chat_id: int | None = None) -> T:
        """Run one API call: throttle, wait out 429s (bounded), translate errors."""
        for attempt in range(MAX_429_RETRIES + 1):
            if chat_id is not None:
                # Group chats have negative ids (Bot API "Chat").
                spacing = self._group_spacing if chat_id < 0 else self._chat_spacing
                self._pacer.acquire(chat_id, spacing)
            try:
                return call()
            except apihelper.ApiTelegramException as exc:
                retry_after = _retry_after(exc)
                if retry_after is None or attempt == MAX_429_RETRIES:
                    raise TelegramError(method, exc.error_code, str(exc.description)) from None
                log.warning("telegram %s: flood limit, retrying in %.0f s", method, retry_after)
                self._sleep(retry_after)
            except apihelper.ApiException as exc:
                status = getattr(exc.result, "status_code", None)
                detail = f"{self._host} answered without a Bot API reply"
                raise TelegramError(method, status, detail) from None
            except requests.RequestException as exc:
                # The message of a requests error quotes the URL, and the URL holds the token.
                detail = f"cannot reach {self._host}: {_network_cause(exc)}"
                raise TelegramError(method, None, detail) from None
        raise AssertionError("unreachable")


def use_api_url(api_url: str) -> None:
    """Point pyTelegramBotAPI at ``api_url`` (a module global: it applies process-wide)."""
    apihelper.API_URL = api_url.rstrip("/") + "/bot{0}/{1}"


def build_telegram(settings: Settings, *, processes: int = 1) -> Telegram:
    """The Bot API client of one process; ``processes`` is how many send for this bot at once.

    Telegram's 30 messages per second is per bot, and each process throttles on its own, so
    every one of ``processes`` (the gunicorn workers) gets an equal share.
    """
    rate = GLOBAL_RATE / max(processes, 1)
    return Telegram(settings.telegram.token, settings.telegram.api_url, global_rate=rate)


def split_text(html: str, limit: int = MAX_TEXT) -> list[str]:
    """Split on line boundaries into parts of at most ``limit`` characters, none blank."""
    parts = [part.strip("\n") for part in util.smart_split(html, limit)]
    return [part for part in parts if part.strip()] or [html]


def _markup(markup: Markup | None) -> Any:
    # telebot serialises its own markup objects; a plain dict must be JSON already.
    if markup is None or isinstance(markup, types.JsonSerializable):
        return markup
    return json.dumps(markup)


def _network_cause(exc: requests.RequestException) -> str:
    """Why no answer came ("Connection refused", "Name or service not known"), without the URL.

    requests wraps urllib3's errors, which wrap the socket's; the innermost OS error says it
    plainly, while the outer messages quote the URL.
    """
    if isinstance(exc, requests.Timeout):
        return "timed out"
    pending: list[BaseException | None] = [exc]
    seen: set[int] = set()
    while pending:
        error = pending.pop(0)
        if error is None or id(error) in seen:
            continue
        seen.add(id(error))
        if isinstance(error, OSError) and error.strerror:
            return str(error.strerror)
        nested = [a for a in error.args if isinstance(a, BaseException)]
        pending += [getattr(error, "reason", None), error.__cause__, error.__context__, *nested]
    return type(exc).__name__


def _retry_after(exc: apihelper.ApiTelegramException) -> float | None:
    if exc.error_code != 429:
        return None
    parameters = exc.result_json.get("parameters") or {}
    retry_after = parameters.get("retry_after", 1)
    if not isinstance(retry_after, int | float) or retry_after > MAX_RETRY_AFTER:
        return None
    return max(float(retry_after), 0.0)
