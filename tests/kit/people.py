"""What the people tests share: someone new, an invite link made through the chat, the words."""

from __future__ import annotations

import json
import re

from leoweb_bot.state.audit import audit_rows
from tests.kit.botchat import BotChat
from tests.kit.botchat import Sent
from tests.kit.botchat import final

NEWCOMER, SECOND_NEWCOMER = 555, 556  # nobody the config knows
LINK_RE = re.compile(r"https://t\.me/leoweb_test_bot\?start=([A-Za-z0-9_-]+)")
ASKED = "Я спросил руководителя — ответ придёт сюда."
WELCOME = "Здравствуйте, {}!"
DAY = 86400


def invite_link(chat: BotChat, by: int, args: str) -> str:
    """``/invite <args>`` as ``by``; the token of the link it answered with."""
    text = final(chat.say(by, f"/invite {args}")).text
    found = LINK_RE.search(text)
    assert found, text
    return found.group(1)


def to(sent: list[Sent], chat_id: int) -> list[Sent]:
    return [s for s in sent if s.chat_id == chat_id]


def data_of(sent: Sent, label: str) -> str:
    """The callback data of the button whose label contains ``label``."""
    return next(data for text, data in sent.buttons if label in text)


def people_audit(chat: BotChat) -> list[tuple[int | None, str, dict[str, object]]]:
    """(who, action, details) of the audit rows of membership, oldest first."""
    rows = audit_rows(chat.state, 1000)
    return [
        (row.telegram_user_id, row.action, json.loads(row.details))
        for row in reversed(rows)
        if row.action.startswith(("invite_", "request_", "role_", "member_"))
    ]


def commands_of(chat: BotChat, chat_id: int) -> list[str] | None:
    """The menu last set for this person's chat (None: deleted, or never set)."""
    menu: list[str] | None = None
    for method, params in chat.fake.calls():
        scope = json.loads(params.get("scope") or "{}")
        if scope.get("chat_id") != chat_id:
            continue
        if method == "setMyCommands":
            menu = [c["command"] for c in json.loads(params["commands"])]
        elif method == "deleteMyCommands":
            menu = None
    return menu
