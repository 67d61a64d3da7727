"""Reading Telegram updates: which chat an update belongs to and who sent it.

Updates are JSON objects with one optional field per kind
(https://core.telegram.org/bots/api#update); these functions read only what they need and
answer None for anything they do not recognise, so a field a future Bot API adds is no error.
"""

from __future__ import annotations

from collections.abc import Mapping
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


def _get(obj: Any, *path: str) -> int | None:
    for key in path:
        if not isinstance(obj, Mapping):
            return None
        obj = obj.get(key)
    if isinstance(obj, bool) or not isinstance(obj, int) or obj not in _INT64:
        return None
    return obj
