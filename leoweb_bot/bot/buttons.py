"""Button presses: check the presser against what the button names, act, and answer.

The router (router.py) has decoded the press (codec.py), checked that the presser has access,
and answers the callback query whatever happens here. ``callback_data`` comes from the client
and can be forged, so a button is a request, never a permission: each handler checks the
presser's role against the ids in it. Telegram shows a spinner until ``answerCallbackQuery``
(docs/telegram.md#buttons-and-callbacks): a handler answers as soon as it knows what to say.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from leoweb_bot.access import Person
from leoweb_bot.access import can_close_task
from leoweb_bot.access import can_look_up
from leoweb_bot.access import can_see_all
from leoweb_bot.access import can_see_manager
from leoweb_bot.amocrm.errors import NotFound
from leoweb_bot.amocrm.models import Task
from leoweb_bot.bot.closing import Awaiting
from leoweb_bot.bot.closing import ask_result_screen
from leoweb_bot.bot.closing import await_result
from leoweb_bot.bot.closing import awaited_result
from leoweb_bot.bot.closing import confirm_screen
from leoweb_bot.bot.closing import forget_result
from leoweb_bot.bot.closing import toast
from leoweb_bot.bot.codec import AskClose
from leoweb_bot.bot.codec import Button
from leoweb_bot.bot.codec import CancelClose
from leoweb_bot.bot.codec import Close
from leoweb_bot.bot.codec import CloseWithResult
from leoweb_bot.bot.codec import IdleLeads
from leoweb_bot.bot.codec import LeadCard
from leoweb_bot.bot.codec import LeadRefresh
from leoweb_bot.bot.codec import ManagerPage
from leoweb_bot.bot.codec import MyTasksPage
from leoweb_bot.bot.codec import Outdated
from leoweb_bot.bot.codec import OverdueChart
from leoweb_bot.bot.codec import PeopleButton
from leoweb_bot.bot.codec import ReportSummary
from leoweb_bot.bot.codec import TaskList
from leoweb_bot.bot.codec import TeamCard
from leoweb_bot.bot.codec import TrendChart
from leoweb_bot.bot.codec import decode
from leoweb_bot.bot.codec import encode
from leoweb_bot.bot.context import App
from leoweb_bot.bot.members import person_of
from leoweb_bot.bot.people import on_people_button
from leoweb_bot.bot.pictures import send_chart
from leoweb_bot.bot.replies import Reply
from leoweb_bot.bot.replies import guard
from leoweb_bot.bot.screens import Closing
from leoweb_bot.bot.screens import Screen
from leoweb_bot.bot.screens import close_task
from leoweb_bot.bot.screens import closing_text
from leoweb_bot.bot.screens import lead_screen
from leoweb_bot.bot.screens import manager_screen
from leoweb_bot.bot.screens import mytasks_screen
from leoweb_bot.bot.screens import report_screen
from leoweb_bot.bot.table import COMMANDS
from leoweb_bot.bot.table import may_use
from leoweb_bot.bot.team import idle_screen
from leoweb_bot.bot.team import read_scorecard
from leoweb_bot.bot.team import team_screen
from leoweb_bot.bot.texts import Html
from leoweb_bot.bot.texts import plain
from leoweb_bot.bot.texts import t
from leoweb_bot.telegram.updates import Message

log = logging.getLogger(__name__)


@dataclass
class Press:
    """One button press: who pressed, and the message it was pressed on."""

    app: App
    person: Person
    call_id: str
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

    def show(self, screen: Screen) -> None:
        self.reply.typing()
        self.reply.show(screen.html, screen.markup)


def act(press: Press, pressed: Button) -> None:
    """Do what the button says, for this presser."""
    if isinstance(pressed, PeopleButton):  # invites, join requests, /people
        on_people_button(press, pressed, COMMANDS)
        return
    match pressed:
        case ReportSummary():
            report_summary(press)
        case ManagerPage():
            manager_page(press, pressed)
        case MyTasksPage():
            my_tasks_page(press, pressed)
        case LeadCard():
            lead_card(press, pressed)
        case LeadRefresh():
            lead_refresh(press, pressed)
        case AskClose():
            ask_close(press, pressed)
        case Close():
            close(press, pressed)
        case CloseWithResult():
            close_with_result(press, pressed)
        case CancelClose():
            cancel_close(press, pressed)
        case OverdueChart() | TrendChart():
            chart_pressed(press, trend=isinstance(pressed, TrendChart))
        case TeamCard():
            team_card(press)
        case IdleLeads():
            idle_leads(press, pressed)


# -- buttons ----------------------------------------------------------------------------------


def report_summary(press: Press) -> None:
    """🔄 / ⬆: the overdue report again, in the same message."""
    if not may_use(press.person, "report"):
        press.deny("report")
        return
    press.answer()
    press.show(report_screen(press.app, press.person))


def manager_page(press: Press, shown: ManagerPage) -> None:
    """A manager's button, ◀ ▶ or 🔄: that manager's overdue tasks, if the presser may see them."""
    if not can_see_manager(press.person, shown.user):
        press.deny(f"tasks of amoCRM user {shown.user}")
        return
    press.answer()
    back = can_see_all(press.person)
    press.show(manager_screen(press.app, press.person, shown.user, shown.page, back=back))


def my_tasks_page(press: Press, shown: MyTasksPage) -> None:
    """◀ ▶ or 🔄 under /mytasks: the same person's list again."""
    if not may_use(press.person, "mytasks") or not can_see_manager(press.person, shown.user):
        press.deny(f"my tasks of amoCRM user {shown.user}")
        return
    press.answer()
    press.show(mytasks_screen(press.app, press.person, shown.user, shown.page))


def lead_card(press: Press, card: LeadCard) -> None:
    """A search result's button: that lead's card as a new message (the list stays)."""
    if not can_look_up(press.person):
        press.deny("lead")
        return
    try:
        found = press.app.client.lead(card.lead)
    except NotFound:
        press.answer(t(press.app.lang, "cb_lead_gone"), alert=True)
        return
    press.answer()
    screen = lead_screen(press.app, press.person, found)
    press.reply.send(screen.html, screen.markup)


def lead_refresh(press: Press, card: LeadRefresh) -> None:
    """🔄 on a lead card: the card again, in place."""
    if not can_look_up(press.person):
        press.deny("lead")
        return
    press.answer()
    press.show(lead_screen(press.app, press.person, press.app.client.lead(card.lead)))


# -- pictures and the team scorecard ---------------------------------------------------------


def chart_pressed(press: Press, *, trend: bool) -> None:
    """📊 / 📈: the chart as a new photo under the message (a manager's: their own 8 weeks)."""
    if not may_use(press.person, "chart"):
        press.deny("chart")
        return
    if not can_see_all(press.person) and press.person.amocrm_user_id is None:
        press.answer(plain(press.app.lang, "chart_unlinked"), alert=True)
        return
    press.answer(plain(press.app.lang, "cb_drawing"))
    press.reply.typing()
    below = Reply(press.app.telegram, press.reply.chat_id)  # a new message; this one stays
    send_chart(press.app, press.person, below, trend=trend)


def team_card(press: Press) -> None:
    """🔄 / ⬆ on the scorecard: the scorecard again, in place."""
    if not may_use(press.person, "team"):
        press.deny("team")
        return
    press.answer()
    press.show(team_screen(press.app, read_scorecard(press.app)))


def idle_leads(press: Press, shown: IdleLeads) -> None:
    """A "leads without a task" number: those leads of that manager, in place, with links."""
    if not may_use(press.person, "team"):
        press.deny(f"leads without a task of amoCRM user {shown.user}")
        return
    press.answer()
    press.show(idle_screen(press.app, shown.user))


# -- closing a task: ✅, then Закрыть / Закрыть с результатом… / Отмена ----------------------------


def closable(press: Press, task_id: int) -> Task | None:
    """The task of a ✅ press if this person may close it; denied (and None) otherwise."""
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


def ask_close(press: Press, asked: AskClose) -> None:
    """✅: ask first, naming the task; on a list, in place of it; elsewhere (an alert), below."""
    task = closable(press, asked.task)
    if task is None:
        return
    if task.is_completed:
        press.answer(toast(press.app.lang, "cb_already", task))
        if asked.back:
            act(press, asked.back)
        return
    press.answer()
    screen = confirm_screen(press.app, task, asked.back)
    if asked.back:
        press.show(screen)
    else:
        press.reply.send(screen.html, screen.markup)


def close(press: Press, asked: Close) -> None:
    """Закрыть: close with the default result; the toast names the task; back to the list."""
    if not may_use(press.person, "done"):
        press.deny("done")
        return
    try:
        closing = close_task(press.app, press.person, asked.task, None)  # checks the presser
    except NotFound:
        press.answer(t(press.app.lang, "cb_task_gone"), alert=True)
        return
    if closing.outcome == "denied":
        press.deny(f"close task {asked.task}")
        return
    key = "cb_done" if closing.outcome == "closed" else "cb_already"
    press.answer(toast(press.app.lang, key, closing.task))
    after_closing(press, asked.back, closing)


def after_closing(press: Press, back: TaskList | None, closing: Closing) -> None:
    """The list again (its own handler checks the presser again), or, for a question asked
    outside a list, what became of the task."""
    if back:
        act(press, back)
    else:
        press.show(Screen(closing_text(press.app.lang, closing)))


def close_with_result(press: Press, asked: CloseWithResult) -> None:
    """Закрыть с результатом…: wait for this person's next message in this chat."""
    task = closable(press, asked.task)
    if task is None:
        return
    listed_as = encode(asked.back) if asked.back else ""
    message_id = press.reply.message_id or 0
    waiting = Awaiting(task.id, listed_as, message_id, press.app.now())
    await_result(press.app.state, press.reply.chat_id, press.person.telegram_id, waiting)
    press.answer()
    press.show(ask_result_screen(press.app, task, asked.back))


def cancel_close(press: Press, asked: CancelClose) -> None:
    """Отмена: stop waiting for a result; the list again, or a word that nothing was closed."""
    forget_result(press.app.state, press.reply.chat_id, press.person.telegram_id)
    press.answer()
    if asked.back:
        act(press, asked.back)
    else:
        press.show(Screen(t(press.app.lang, "close_cancelled")))


def typed_result(app: App, message: Message) -> bool:
    """The message after "Закрыть с результатом…": close the task with it as the result.

    False when no task waits for this person's message here; in a group the message must reply
    to the question (privacy mode delivers nothing else). The list goes back in its place.
    """
    if message.sender is None or not message.text:
        return False
    chat_id, sender = message.chat_id, message.sender.id
    waiting = awaited_result(app.state, chat_id, sender, app.now())
    if waiting is None or (not message.private and message.reply_to != waiting.message_id):
        return False
    person = person_of(app, sender)
    if not may_use(person, "done"):
        return False
    forget_result(app.state, chat_id, sender)
    reply = Reply(app.telegram, chat_id)
    with guard(app.lang, reply.show, "typed result", chat_id):
        closing = close_task(app, person, waiting.task_id, message.text.strip())
        reply.show(closing_text(app.lang, closing))
        # The question becomes the list again, as after "Закрыть"; nobody is left to answer.
        where = Reply(app.telegram, chat_id, waiting.message_id)
        press = Press(app, person, "", where, answered=True)
        try:
            after_closing(press, list_of(waiting), closing)
        except Outdated:  # the bot was upgraded while it waited
            log.info("typed result: list %r not shown again", waiting.listed_as)
    return True


def list_of(waiting: Awaiting) -> TaskList | None:
    """The list a closed task's question came from; Outdated if it cannot be read any more."""
    if not waiting.listed_as:
        return None
    back = decode(waiting.listed_as)
    if not isinstance(back, TaskList):
        raise Outdated(waiting.listed_as)
    return back
