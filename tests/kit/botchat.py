"""A chat with the bot through the real stack, faked only at the network boundary.

The router's context has a real ``Telegram`` pointed at ``FakeBotAPI`` and a real ``AmoClient``
talking to an in-process ``Sandbox``; updates go in as Bot API JSON, and the tests read what the
fake Bot API received.
"""

from __future__ import annotations

import datetime
import itertools
import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytz

from leoweb_bot.amocrm import build_client
from leoweb_bot.amocrm.models import Task
from leoweb_bot.bot.context import App
from leoweb_bot.bot.router import route
from leoweb_bot.config import AmoSettings
from leoweb_bot.config import Settings
from leoweb_bot.config import settings_from_mapping
from leoweb_bot.reports import is_overdue
from leoweb_bot.sandbox import Sandbox
from leoweb_bot.state import State
from leoweb_bot.telegram.client import Telegram
from tests.kit.fakebot import BOT_USER
from tests.kit.fakebot import FakeBotAPI

TOKEN = "123456:TEST-token_for_commands"
ALMATY = pytz.timezone("Asia/Almaty")  # the bot's timezone in these chats
# 25.11.2026 14:05 in Asia/Almaty (UTC+5).
NOW = int(datetime.datetime(2026, 11, 25, 9, 5, tzinfo=datetime.UTC).timestamp())
ADMIN, DIRECTOR, MANAGER, OTHER_MANAGER, STRANGER = 101, 201, 301, 302, 999
ZELIMKHAN, MILANA = 1387123, 1387124  # the sandbox's first two managers
GROUP = -100500


class FakeTime:
    """Telegram's throttle sleeps on this clock, so a test never waits for real."""

    def __init__(self) -> None:
        self.now = 1000.0

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


def settings_for(language: str = "ru") -> Settings:
    return settings_from_mapping(
        {
            "telegram": {"token": TOKEN},
            "bot": {"language": language, "timezone": "Asia/Almaty"},
            "access": {
                "admins": [ADMIN],
                "directors": [DIRECTOR],
                "managers": {str(MANAGER): ZELIMKHAN, str(OTHER_MANAGER): MILANA},
            },
        }
    )


@dataclass
class Sent:
    """One message as the fake Bot API saw it."""

    method: str
    chat_id: int
    text: str
    message_id: int
    markup: dict[str, Any] | None

    @property
    def buttons(self) -> list[tuple[str, str]]:
        rows = (self.markup or {}).get("inline_keyboard") or []
        return [(b["text"], b.get("callback_data", "")) for row in rows for b in row]


class BotChat:
    """Drives the bot with updates and reads back what it sent."""

    def __init__(self, app: App, fake: FakeBotAPI, sandbox: Sandbox) -> None:
        self.app = app
        self.fake = fake
        self.sandbox = sandbox
        self.state = app.state
        self._ids = itertools.count(1)

    # -- input ------------------------------------------------------------------------------

    def say(
        self,
        user: int,
        text: str,
        *,
        chat: int | None = None,
        chat_type: str = "private",
        reply_to: int | None = None,
        first_name: str = "Тест",
        username: str | None = None,
    ) -> list[Sent]:
        """Process a text message (a reply to the bot's message ``reply_to``) from a person of
        that name; return the messages sent or edited in response."""
        n = next(self._ids)
        where = {"id": chat or user, "type": chat_type}
        sender = {"id": user, "is_bot": False, "first_name": first_name, "language_code": "ru"}
        if username:
            sender["username"] = username
        message: dict[str, Any] = {
            "message_id": 10_000 + n,
            "date": NOW,
            "chat": where,
            "from": sender,
            "text": text,
        }
        if reply_to is not None:
            original = {"message_id": reply_to, "date": NOW, "chat": where, "from": BOT_USER}
            message["reply_to_message"] = original
        if text.startswith("/"):
            length = len(text.split()[0])
            message["entities"] = [{"type": "bot_command", "offset": 0, "length": length}]
        return self.process({"update_id": n, "message": message})

    def press(self, user: int, data: str, on: Sent) -> list[Sent]:
        """Press a button with ``data`` on the message ``on``."""
        n = next(self._ids)
        query = {
            "id": f"cb{n}",
            "from": {"id": user, "is_bot": False, "first_name": "Тест"},
            "chat_instance": "1",
            "data": data,
            "message": {
                "message_id": on.message_id,
                "date": NOW,
                "chat": {"id": on.chat_id, "type": "private" if on.chat_id > 0 else "group"},
                "from": BOT_USER,
                "text": on.text,
            },
        }
        return self.process({"update_id": n, "callback_query": query})

    def process(self, update: dict[str, Any]) -> list[Sent]:
        before = len(self.fake.sent())
        route(self.app, json.loads(json.dumps(update)))  # as it comes: JSON
        return [
            Sent(m.method, m.chat_id, m.text, m.message_id, m.markup)
            for m in self.fake.sent()[before:]
        ]

    # -- output -----------------------------------------------------------------------------

    def answers(self) -> list[dict[str, str]]:
        return [params for method, params in self.fake.calls() if method == "answerCallbackQuery"]

    def task(self, task_id: int) -> dict[str, Any]:
        return next(t for t in self.sandbox.data.tasks if t["id"] == task_id)


MESSAGE_METHODS = ("sendMessage", "editMessageText")


def final(sent: list[Sent]) -> Sent:
    """The message the user ends up looking at (the last one sent or edited)."""
    assert sent, "the bot did not answer"
    return sent[-1]


def overdue_in(sandbox: Sandbox) -> list[Task]:
    """What the sandbox holds as overdue at NOW, by the bot's one rule (reports.is_overdue)."""
    tasks = (Task.from_v4(raw) for raw in sandbox.data.tasks)
    return [t for t in tasks if is_overdue(t, NOW, ALMATY)]


def overdue_tasks_of(sandbox: Sandbox, user_id: int) -> list[Task]:
    """What the sandbox holds as overdue at NOW for one manager."""
    return [t for t in overdue_in(sandbox) if t.responsible_user_id == user_id]


@contextmanager
def bot_chat(
    tmp_path: Path, *, language: str = "ru", tasks: int = 300, managers: int = 8
) -> Iterator[BotChat]:
    """A fresh sandbox, fake Bot API, state database and bot."""
    times = FakeTime()
    sandbox = Sandbox(tasks=tasks, managers=managers, rate_limit=0, now=NOW, clock=lambda: NOW)
    with sandbox, FakeBotAPI() as fake:
        amo = AmoSettings(
            base_url=sandbox.base_url or "", auth="token", token=sandbox.credentials.token,
            rate_limit=1000,
        )  # fmt: skip
        client = build_client(amo, sleep=lambda _: None)
        telegram = Telegram(TOKEN, fake.url, clock=times.clock, sleep=times.sleep)
        state = State(tmp_path / "state.sqlite3")
        app = App(settings_for(language), client, telegram, state, clock=lambda: NOW)
        try:
            yield BotChat(app, fake, sandbox)
        finally:
            client.close()
            state.close()
