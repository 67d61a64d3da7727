"""Closing a task from a button: the question first, then the close, or a result typed after.

✅ turns the list into a question that names the task, with "Закрыть", "Закрыть с результатом…"
and "Отмена". For a typed result the bot waits for that person's next message in that chat; the
wait is kept in the state database (the ``kv`` table, one row per chat and person), because the
next message may reach another worker process. Any command in between, "Отмена", or
``RESULT_WAIT`` seconds end the wait. In a group, with privacy mode on, Telegram delivers a plain
message to the bot only when it replies to one of the bot's, so there the result must be a reply
to the question (https://core.telegram.org/bots/features#privacy-mode).
"""

from __future__ import annotations

import json
from dataclasses import asdict
from dataclasses import dataclass

from telebot.types import InlineKeyboardMarkup

from leoweb_bot.amocrm.models import Task
from leoweb_bot.bot.codec import CancelClose
from leoweb_bot.bot.codec import Close
from leoweb_bot.bot.codec import CloseWithResult
from leoweb_bot.bot.codec import TaskList
from leoweb_bot.bot.context import App
from leoweb_bot.bot.formats import shorten
from leoweb_bot.bot.screens import Screen
from leoweb_bot.bot.screens import button
from leoweb_bot.bot.texts import plain
from leoweb_bot.bot.texts import t
from leoweb_bot.bot.views import render_close_confirm
from leoweb_bot.bot.views import task_text
from leoweb_bot.state import State
from leoweb_bot.state.kv import delete_value
from leoweb_bot.state.kv import get_value
from leoweb_bot.state.kv import set_value

RESULT_WAIT = 15 * 60
TOAST_TEXT_LIMIT = 150  # answerCallbackQuery text is at most 200 characters


@dataclass(frozen=True)
class Awaiting:
    """A task waiting for its result text: where the question is and which list it came from."""

    task_id: int
    listed_as: str  # the encoded button of the list to show again, "" when there is none
    message_id: int
    since: int


def confirm_screen(app: App, task: Task, back: TaskList | None) -> Screen:
    """Close this task? With or without a result, or not at all; then ``back`` again."""
    html = render_close_confirm(
        task, lang=app.lang, tz=app.tz, now=app.now(), base_url=app.base_url
    )
    markup = InlineKeyboardMarkup(row_width=1)
    markup.add(
        button(t(app.lang, "btn_close"), Close(task.id, back)),
        button(t(app.lang, "btn_close_result"), CloseWithResult(task.id, back)),
        button(t(app.lang, "btn_cancel"), CancelClose(back)),
    )
    return Screen(html, markup)


def ask_result_screen(app: App, task: Task, back: TaskList | None) -> Screen:
    """Type the result as the next message; "Отмена" still goes back."""
    markup = InlineKeyboardMarkup()
    markup.row(button(t(app.lang, "btn_cancel"), CancelClose(back)))
    return Screen(t(app.lang, "close_ask_result", text=task_text(app.lang, task)), markup)


def toast(lang: str, key: str, task: Task) -> str:
    """A plain-text callback answer that names the task (toasts are not HTML)."""
    return plain(
        lang, key, text=shorten(task.text, TOAST_TEXT_LIMIT) or plain(lang, "task_no_text")
    )


# -- waiting for a typed result ---------------------------------------------------------------


def wait_key(chat_id: int, telegram_user_id: int) -> str:
    return f"close.result:{chat_id}:{telegram_user_id}"


def await_result(state: State, chat_id: int, telegram_user_id: int, awaiting: Awaiting) -> None:
    set_value(state, wait_key(chat_id, telegram_user_id), json.dumps(asdict(awaiting)))


def awaited_result(state: State, chat_id: int, telegram_user_id: int, now: int) -> Awaiting | None:
    """The task this person's next message in this chat closes, unless the wait is over."""
    raw = get_value(state, wait_key(chat_id, telegram_user_id))
    if raw is None:
        return None
    awaiting = Awaiting(**json.loads(raw))
    return awaiting if now - awaiting.since <= RESULT_WAIT else None


def forget_result(state: State, chat_id: int, telegram_user_id: int) -> None:
    """End the wait (read first: most messages have none, and a read takes no write lock)."""
    key = wait_key(chat_id, telegram_user_id)
    if get_value(state, key) is not None:
        delete_value(state, key)
