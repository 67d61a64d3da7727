"""Button presses: check who pressed (again), act, and always answer the callback query.

``callback_data`` comes from the client and can be forged, so it is treated as a request, never
as a permission: the presser's role is resolved anew and checked against the ids in the data.
Telegram shows a spinner until ``answerCallbackQuery`` (docs/telegram.md#buttons-and-callbacks), so
every press is answered, even when it is refused, malformed or fails.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from dataclasses import replace
from functools import partial

import telebot
from telebot.types import CallbackQuery
from telebot.types import Message

from leoweb_bot.access import Person
from leoweb_bot.access import can_close_task
from leoweb_bot.access import can_look_up
from leoweb_bot.access import can_see_all
from leoweb_bot.access import can_see_manager
from leoweb_bot.access import has_access
from leoweb_bot.access import may_use
from leoweb_bot.access import who
from leoweb_bot.amocrm.errors import NotFound
from leoweb_bot.amocrm.models import Task
from leoweb_bot.bot.closing import Awaiting
from leoweb_bot.bot.closing import ask_result_screen
from leoweb_bot.bot.closing import await_result
from leoweb_bot.bot.closing import awaited_result
from leoweb_bot.bot.closing import confirm_screen
from leoweb_bot.bot.closing import forget_result
from leoweb_bot.bot.closing import toast
from leoweb_bot.bot.freshness import refresh_if_asked
from leoweb_bot.bot.replies import Reply
from leoweb_bot.bot.replies import guard
from leoweb_bot.bot.replies import no_access_text
from leoweb_bot.bot.screens import App
from leoweb_bot.bot.screens import Closing
from leoweb_bot.bot.screens import Screen
from leoweb_bot.bot.screens import close_task
from leoweb_bot.bot.screens import closing_text
from leoweb_bot.bot.screens import lead_screen
from leoweb_bot.bot.screens import manager_screen
from leoweb_bot.bot.screens import mytasks_screen
from leoweb_bot.bot.screens import report_screen
from leoweb_bot.bot.texts import Html
from leoweb_bot.bot.texts import t
from leoweb_bot.ids import parse_id

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
        value = parse_id(self.args[index]) if index < len(self.args) else None
        if value is None:
            raise Malformed(f"argument {index}")
        return value

    def show(self, screen: Screen) -> None:
        self.reply.typing()
        self.reply.show(screen.html, screen.markup)


def register_callbacks(bot: telebot.TeleBot, app: App) -> None:
    """Route each ``prefix:ids`` to its handler; anything else is answered as outdated."""
    on = partial(register_button, bot, app)
    on("rr", report_summary)
    on("rm", manager_page)
    on("mt", my_tasks_page)
    on("td", task_done)
    on("tc", task_close)
    on("tr", task_close_with_result)
    on("tx", task_close_cancel)
    on("ld", lead_card)
    on("lr", lead_refresh)
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
            press.answer(no_access_text(app.lang, person.telegram_id, alert=True), alert=True)
            return
        with guard(app.lang, press.notify, f"button {prefix}", chat_id), app.client.operation():
            try:
                refresh_if_asked(app, press.args)
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
    press.show(manager_screen(press.app, press.person, amocrm_user_id, page, back=back))


def my_tasks_page(press: Press) -> None:
    """◀ ▶ or 🔄 under /mytasks: the same person's list again (``mt:<id>`` of old: page 1)."""
    amocrm_user_id = press.number(0)
    page = press.number(1) if len(press.args) > 1 else 0
    if not may_use(press.person, "mytasks") or not can_see_manager(press.person, amocrm_user_id):
        press.deny(f"my tasks of amoCRM user {amocrm_user_id}")
        return
    press.answer()
    press.show(mytasks_screen(press.app, press.person, amocrm_user_id, page))


def lead_card(press: Press) -> None:
    """A search result's button: that lead's card as a new message (the list stays)."""
    lead_id = press.number(0)
    if not can_look_up(press.person):
        press.deny("lead")
        return
    try:
        found = press.app.client.lead(lead_id)
    except NotFound:
        press.answer(t(press.app.lang, "cb_lead_gone"), alert=True)
        return
    press.answer()
    screen = lead_screen(press.app, press.person, found)
    press.reply.send(screen.html, screen.markup)


def lead_refresh(press: Press) -> None:
    """🔄 on a lead card: the card again, in place."""
    lead_id = press.number(0)
    if not can_look_up(press.person):
        press.deny("lead")
        return
    press.answer()
    press.show(lead_screen(press.app, press.person, press.app.client.lead(lead_id)))


# Task lists by the first part of their callback data; closing a task goes back to its list.
LISTS: dict[str, Callable[[Press], None]] = {
    "rm": manager_page,
    "mt": my_tasks_page,
    "lr": lead_refresh,
}


def show_list(press: Press, listed_as: tuple[str, ...]) -> None:
    """The list a ✅ was pressed on, read anew; its own handler checks the presser again."""
    handler = LISTS.get(listed_as[0]) if listed_as else None
    if handler is None:
        raise Malformed(":".join(listed_as))
    handler(replace(press, args=listed_as[1:]))


# -- closing a task: ✅, then Закрыть / Закрыть с результатом… / Отмена ----------------------------


def closable(press: Press) -> Task | None:
    """The task of a ✅ press if this person may close it; denied (and None) otherwise."""
    task_id = press.number(0)
    if not may_use(press.person, "done"):
        press.deny("done")
        return None
    try:
        task = press.app.client.task(task_id)
    except NotFound:
        press.answer(t(press.app.lang, "cb_task_gone"), alert=True)
        return None
    if not can_close_task(press.person, task):
        press.deny(f"close task {task_id}")
        return None
    return task


def task_done(press: Press) -> None:
    """✅: ask first, naming the task; on a list, in place of it; elsewhere (an alert), below."""
    task = closable(press)
    if task is None:
        return
    listed_as = press.args[1:]
    if task.is_completed:
        press.answer(toast(press.app.lang, "cb_already", task))
        if listed_as:
            show_list(press, listed_as)
        return
    press.answer()
    screen = confirm_screen(press.app, task, ":".join(listed_as))
    if listed_as:
        press.show(screen)
    else:
        press.reply.send(screen.html, screen.markup)


def task_close(press: Press) -> None:
    """Закрыть: close with the default result; the toast names the task; back to the list."""
    task_id = press.number(0)
    if not may_use(press.person, "done"):
        press.deny("done")
        return
    try:
        closing = close_task(press.app, press.person, task_id, None)  # checks the presser again
    except NotFound:
        press.answer(t(press.app.lang, "cb_task_gone"), alert=True)
        return
    if closing.outcome == "denied":
        press.deny(f"close task {task_id}")
        return
    key = "cb_done" if closing.outcome == "closed" else "cb_already"
    press.answer(toast(press.app.lang, key, closing.task))
    after_closing(press, press.args[1:], closing)


def after_closing(press: Press, listed_as: tuple[str, ...], closing: Closing) -> None:
    """The list again, or, for a question asked outside a list, what became of the task."""
    if listed_as:
        show_list(press, listed_as)
    else:
        press.show(Screen(closing_text(press.app.lang, closing)))


def task_close_with_result(press: Press) -> None:
    """Закрыть с результатом…: wait for this person's next message in this chat."""
    task = closable(press)
    if task is None:
        return
    listed_as = ":".join(press.args[1:])
    message_id = press.reply.message_id or 0
    waiting = Awaiting(task.id, listed_as, message_id, press.app.now())
    await_result(press.app.state, press.reply.chat_id, press.person.telegram_id, waiting)
    press.answer()
    press.show(ask_result_screen(press.app, task, listed_as))


def task_close_cancel(press: Press) -> None:
    """Отмена: stop waiting for a result; the list again, or a word that nothing was closed."""
    forget_result(press.app.state, press.reply.chat_id, press.person.telegram_id)
    press.answer()
    if press.args:
        show_list(press, press.args)
    else:
        press.show(Screen(t(press.app.lang, "close_cancelled")))


def typed_result(app: App, message: Message) -> bool:
    """The message after "Закрыть с результатом…": close the task with it as the result.

    False when no task waits for this person's message here; in a group the message must reply
    to the question (privacy mode delivers nothing else). The list goes back in its place.
    """
    if message.from_user is None or not message.text:
        return False
    chat_id, sender = message.chat.id, message.from_user.id
    waiting = awaited_result(app.state, chat_id, sender, app.now())
    replied = message.reply_to_message.message_id if message.reply_to_message else None
    if waiting is None or (message.chat.type != "private" and replied != waiting.message_id):
        return False
    person = who(app.settings.access, sender)
    if not may_use(person, "done"):
        return False
    forget_result(app.state, chat_id, sender)
    reply = Reply(app.telegram, chat_id)
    with guard(app.lang, reply.show, "typed result", chat_id):
        closing = close_task(app, person, waiting.task_id, message.text.strip())
        reply.show(closing_text(app.lang, closing))
        # The question becomes the list again, as after "Закрыть"; nobody is left to answer.
        where = Reply(app.telegram, chat_id, waiting.message_id)
        press = Press(app, person, "", (), where, answered=True)
        try:
            after_closing(press, tuple(filter(None, waiting.listed_as.split(":"))), closing)
        except Malformed:
            log.info("typed result: list %r not shown again", waiting.listed_as)
    return True
