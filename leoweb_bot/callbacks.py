"""Button presses: check who pressed (again), act, and always answer the callback query.

``callback_data`` comes from the client and can be forged, so it is treated as a request, never
as a permission: the presser's role is resolved anew and checked against the ids in the data.
Telegram shows a spinner until ``answerCallbackQuery`` (reference/telegram-bot-api.md §2), so
every press is answered, even when it is refused, malformed or fails.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial

import telebot
from telebot.types import CallbackQuery

from leoweb_bot.access import Person
from leoweb_bot.access import can_look_up
from leoweb_bot.access import can_see_all
from leoweb_bot.access import can_see_manager
from leoweb_bot.access import has_access
from leoweb_bot.access import may_use
from leoweb_bot.access import who
from leoweb_bot.replies import Reply
from leoweb_bot.replies import guard
from leoweb_bot.screens import App
from leoweb_bot.screens import Screen
from leoweb_bot.screens import close_task
from leoweb_bot.screens import lead_screen
from leoweb_bot.screens import manager_screen
from leoweb_bot.screens import mytasks_screen
from leoweb_bot.screens import report_screen
from leoweb_bot.texts import Html
from leoweb_bot.texts import t

log = logging.getLogger(__name__)


class Malformed(ValueError):
    """Callback data this bot did not produce."""


@dataclass
class Press:
    """One button press: who pressed, the ids from the data, the message to update."""

    app: App
    person: Person
    call_id: str
    args: tuple[str, ...]
    reply: Reply
    answered: bool = False

    def answer(self, text: str | None = None, alert: bool = False) -> None:
        """Answer the callback query; only the first answer counts."""
        if not self.answered:
            self.answered = True
            self.app.telegram.answer_callback(self.call_id, text, alert)

    def deny(self, why: str) -> None:
        log.info("refused button from user %s: %s", self.person.telegram_id, why)
        self.answer(t(self.app.lang, "cb_denied"), alert=True)

    def notify(self, text: Html) -> None:
        """Report a failure: as an alert while the press is unanswered, else as a new message."""
        if self.answered:
            self.reply.send(text)
        else:
            self.answer(text, alert=True)  # error texts are plain words, no markup

    def number(self, index: int) -> int:
        value = self.args[index] if index < len(self.args) else ""
        if not value.isdigit() or len(value) > 18:
            raise Malformed(value)
        return int(value)

    def show(self, screen: Screen) -> None:
        self.reply.typing()
        self.reply.show(screen.html, screen.markup)


def register_callbacks(bot: telebot.TeleBot, app: App) -> None:
    """Route each ``prefix:ids`` to its handler; anything else is answered as outdated."""
    on = partial(register_button, bot, app)
    on("rr", report_summary)
    on("rm", manager_page)
    on("mt", my_tasks_refresh)
    on("td", task_done)
    on("ld", lead_card)
    bot.register_callback_query_handler(partial(stale_button, app), func=lambda call: True)


def register_button(
    bot: telebot.TeleBot, app: App, prefix: str, handler: Callable[[Press], None]
) -> None:
    bot.register_callback_query_handler(
        partial(run_button, app, prefix, handler), func=partial(has_prefix, prefix)
    )


def has_prefix(prefix: str, call: CallbackQuery) -> bool:
    return (call.data or "").split(":")[0] == prefix


def run_button(
    app: App, prefix: str, handler: Callable[[Press], None], call: CallbackQuery
) -> None:
    """Check access for this press, run the handler with failures turned into text, answer."""
    if call.message is None:  # a button on an inline-mode message: not one of ours
        stale_button(app, call)
        return
    chat_id = call.message.chat.id
    person = who(app.settings.access, call.from_user.id)
    reply = Reply(app.telegram, chat_id, call.message.message_id)
    press = Press(app, person, call.id, tuple((call.data or "").split(":")[1:]), reply)
    try:
        if not has_access(person):
            log.info("refused button %s: user %s has no access", prefix, person.telegram_id)
            press.answer(t(app.lang, "cb_no_access", id=person.telegram_id), alert=True)
            return
        with guard(app.lang, press.notify, f"button {prefix}", chat_id), app.client.operation():
            try:
                handler(press)
            except Malformed:
                log.info("malformed button data %r from user %s", call.data, person.telegram_id)
                press.answer(t(app.lang, "cb_stale"))
    finally:
        press.answer()


def stale_button(app: App, call: CallbackQuery) -> None:
    """Data we do not recognise (an old button or a forged one): answer, do nothing."""
    log.info("unknown button data %r from user %s", call.data, call.from_user.id)
    app.telegram.answer_callback(call.id, t(app.lang, "cb_stale"))


# -- buttons ----------------------------------------------------------------------------------


def report_summary(press: Press) -> None:
    """🔄 / ⬆: the overdue report again, in the same message."""
    if not may_use(press.person, "report"):
        press.deny("report")
        return
    press.answer()
    press.show(report_screen(press.app, press.person))


def manager_page(press: Press) -> None:
    """A manager's button, ◀ ▶ or 🔄: that manager's overdue tasks, if the presser may see them."""
    amocrm_user_id, page = press.number(0), press.number(1)
    if not can_see_manager(press.person, amocrm_user_id):
        press.deny(f"tasks of amoCRM user {amocrm_user_id}")
        return
    press.answer()
    back = can_see_all(press.person)
    press.show(manager_screen(press.app, amocrm_user_id, page, back=back))


def my_tasks_refresh(press: Press) -> None:
    """🔄 under /mytasks: the same person's list again."""
    amocrm_user_id = press.number(0)
    if not may_use(press.person, "mytasks") or not can_see_manager(press.person, amocrm_user_id):
        press.deny(f"my tasks of amoCRM user {amocrm_user_id}")
        return
    press.answer()
    press.show(mytasks_screen(press.app, amocrm_user_id))


def task_done(press: Press) -> None:
    """✅: close the task with the default result, then refresh the list it was on."""
    task_id = press.number(0)
    if not may_use(press.person, "done"):
        press.deny("done")
        return
    closing = close_task(press.app, press.person, task_id, None)
    if closing.outcome == "denied":
        press.deny(f"close task {task_id}")
        return
    press.answer(t(press.app.lang, "cb_done" if closing.outcome == "closed" else "cb_already"))
    press.show(mytasks_screen(press.app, closing.responsible_user_id))


def lead_card(press: Press) -> None:
    """A search result's button: that lead's card as a new message (the list stays)."""
    lead_id = press.number(0)
    if not can_look_up(press.person):
        press.deny("lead")
        return
    press.answer()
    screen = lead_screen(press.app, press.app.client.lead(lead_id))
    press.reply.send(screen.html, screen.markup)
