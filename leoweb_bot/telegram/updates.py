"""Reading Telegram updates: the bot's own small types, the chat an update belongs to, its sender.

Updates are JSON objects with one optional field per kind
(https://core.telegram.org/bots/api#update). The bot acts on two: a text ``message`` and a
``callback_query`` (docs/telegram.md#update-types). :func:`read_update` reads only the fields
the bot uses and answers None for everything else, so a field a future Bot API adds, one an old
payload lacks (``is_bot``, ``chat.type``) or an update kind the bot does not need is never an
error: it is read as far as it is needed, or ignored.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cached_property
from typing import Any

# Update fields whose object carries the chat ("chat") or, failing that, the sender ("from").
_CHAT_FIELDS = (
    "message",
    "edited_message",
    "channel_post",
    "edited_channel_post",
    "business_message",
    "edited_business_message",
    "my_chat_member",
    "chat_member",
    "chat_join_request",
    "message_reaction",
    "message_reaction_count",
    "chat_boost",
    "removed_chat_boost",
)
_INT64 = range(-(2**63), 2**63)
# Bot API BotCommand: 1-32 characters of a-z, 0-9 and _; we also accept upper case (/REPORT).
_COMMAND_RE = re.compile(r"/([A-Za-z0-9_]{1,32})(?:@([A-Za-z0-9_]+))?(?:\s+(.*))?", re.DOTALL)


@dataclass(frozen=True)
class Sender:
    """The person behind a message or a press (``from``)."""

    id: int
    first_name: str = ""
    last_name: str = ""
    username: str = ""  # without the @; many people have none

    @property
    def name(self) -> str:
        """The name as Telegram shows it: first and last name."""
        return " ".join(part for part in (self.first_name, self.last_name) if part)


@dataclass(frozen=True)
class CommandText:
    """``/Report@Bot  Зелимхан`` read as name ``report``, target ``Bot``, args ``Зелимхан``."""

    name: str  # lower case
    target: str | None  # the @username it is addressed to, as typed
    args: str

    @classmethod
    def parse(cls, text: str) -> CommandText | None:
        """The command a text is, or None for plain text."""
        match = _COMMAND_RE.fullmatch(text)
        if not match:
            return None
        name, target, args = match.groups()
        return cls(name.lower(), target, (args or "").strip())


@dataclass(frozen=True)
class Message:
    """A text message: where it was written, by whom, and what it says.

    ``sender`` is None for a message sent on behalf of a chat with no ``from`` (a channel post
    in a group); ``chat_type`` is "" when the update does not say.
    """

    chat_id: int
    chat_type: str
    sender: Sender | None
    text: str
    reply_to: int | None = None  # message_id of the message this one replies to

    @property
    def private(self) -> bool:
        return self.chat_type == "private"

    @cached_property
    def command(self) -> CommandText | None:
        return CommandText.parse(self.text)


@dataclass(frozen=True)
class Callback:
    """A press on an inline button: who pressed, the button's data and the message it is on.

    ``chat_id`` and ``message_id`` are None for a button on an inline-mode message (the bot's
    buttons are never there) or on a message Telegram no longer shows the bot.
    """

    id: str
    sender: Sender
    data: str
    chat_id: int | None
    message_id: int | None


def read_update(update: Mapping[str, Any]) -> Message | Callback | None:
    """The part of an update the bot acts on; None for anything it does not need."""
    if isinstance(message := update.get("message"), Mapping):
        return _message(message)
    if isinstance(query := update.get("callback_query"), Mapping):
        return _callback(query)
    return None


def _message(message: Mapping[str, Any]) -> Message | None:
    chat_id, text = _get(message, "chat", "id"), message.get("text")
    if chat_id is None or not isinstance(text, str):
        return None  # not a text message (a photo, a service message): nothing to answer
    chat_type = _text(message, "chat", "type")
    return Message(
        chat_id, chat_type, _sender(message), text, _get(message, "reply_to_message", "message_id")
    )


def _callback(query: Mapping[str, Any]) -> Callback | None:
    sender, query_id = _sender(query), query.get("id")
    if sender is None or not isinstance(query_id, str):
        return None  # cannot be answered: not from a client
    chat_id, message_id = _get(query, "message", "chat", "id"), _get(query, "message", "message_id")
    return Callback(query_id, sender, _text(query, "data"), chat_id, message_id)


def _sender(obj: Mapping[str, Any]) -> Sender | None:
    user_id = _get(obj, "from", "id")
    if user_id is None:
        return None
    names = (_text(obj, "from", key) for key in ("first_name", "last_name", "username"))
    return Sender(user_id, *names)


def chat_id_of(update: Mapping[str, Any]) -> int | None:
    """The chat an update belongs to, for per-chat ordering; None when it has none.

    Telegram queues webhook updates per chat, and per user for callback and inline queries
    (telegram-bot-api WebhookActor ``webhook_queue_id``); we key ours the same way.
    """
    for field in _CHAT_FIELDS:
        chat = _get(update, field, "chat", "id")
        if chat is not None:
            return chat
    callback_chat = _get(update, "callback_query", "message", "chat", "id")
    if callback_chat is not None:
        return callback_chat
    for field in ("callback_query", "inline_query", "chosen_inline_result", "shipping_query"):
        user = _get(update, field, "from", "id")
        if user is not None:
            return user
    return None


def sender_id_of(update: Mapping[str, Any]) -> int | None:
    """The Telegram user who sent an update (its object's ``from``); None when it names none."""
    for field in (*_CHAT_FIELDS, "callback_query"):
        user = _get(update, field, "from", "id")
        if user is not None:
            return user
    return None


def _value(obj: Any, path: tuple[str, ...]) -> Any:
    for key in path:
        if not isinstance(obj, Mapping):
            return None
        obj = obj.get(key)
    return obj


def _get(obj: Any, *path: str) -> int | None:
    """The 64-bit integer at ``path``; None when it is absent or anything else."""
    value = _value(obj, path)
    if isinstance(value, bool) or not isinstance(value, int) or value not in _INT64:
        return None
    return value


def _text(obj: Any, *path: str) -> str:
    """The string at ``path``; "" when it is absent or anything else."""
    value = _value(obj, path)
    return value if isinstance(value, str) else ""
