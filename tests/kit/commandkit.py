"""What the /command test files share: the stamp and placeholder the bot shows, an open task."""

from __future__ import annotations

from leoweb_bot.amocrm.models import Task
from tests.kit.botchat import BotChat

AS_OF = "на 25.11.2026 14:05 (Asia/Almaty)"
WORKING = "⏳ Читаю amoCRM…"


def open_task_of(chat: BotChat, user_id: int) -> Task:
    raw = next(
        t for t in chat.sandbox.data.tasks
        if t["responsible_user_id"] == user_id and not t["is_completed"]
    )  # fmt: skip
    return Task.from_v4(raw)
