"""Screens shared by commands and buttons: read amoCRM, compute a report, render it, add buttons.

A screen is HTML plus an optional inline keyboard. ``callback_data`` carries ids only and stays
far below Telegram's 64-byte limit (reference/telegram-bot-api.md §2): ``rr`` (report summary),
``rm:<amo user>:<page>`` (one manager's overdue tasks), ``mt:<amo user>`` (my tasks), ``td:<task>`` (close a
task), ``ld:<lead>`` (lead card). Whoever presses a button is checked again in
:mod:`leoweb_bot.callbacks`; nothing here trusts the data it is given.
"""

from __future__ import annotations

import datetime
import json
import time
from collections.abc import Callable
from collections.abc import Mapping
from collections.abc import Sequence
from dataclasses import dataclass
from dataclasses import field

from telebot.types import InlineKeyboardButton
from telebot.types import InlineKeyboardMarkup

from leoweb_bot.access import Person
from leoweb_bot.access import can_close_task
from leoweb_bot.access import can_see_all
from leoweb_bot.amocrm.client import AmoClient
from leoweb_bot.amocrm.models import Lead
from leoweb_bot.amocrm.models import User
from leoweb_bot.config import Settings
from leoweb_bot.reports import Funnel
from leoweb_bot.reports import OverdueReport
from leoweb_bot.reports import funnel
from leoweb_bot.reports import my_tasks
from leoweb_bot.reports import overdue_by_manager
from leoweb_bot.reports import user_name
from leoweb_bot.state import State
from leoweb_bot.telegram import Telegram
from leoweb_bot.texts import DEFAULT_RESULT
from leoweb_bot.texts import Html
from leoweb_bot.texts import t
from leoweb_bot.views import lead_button_label
from leoweb_bot.views import page_count
from leoweb_bot.views import render_account
from leoweb_bot.views import render_funnel
from leoweb_bot.views import render_lead
from leoweb_bot.views import render_manager_page
from leoweb_bot.views import render_my_tasks
from leoweb_bot.views import render_report

MY_TASKS_LIMIT = 15  # with ✅ buttons; keeps the list within one 4096-character message
REPORT_BUTTONS_LIMIT = 60
SEARCH_LIMIT = 10


@dataclass
class App:
    """What every handler needs: settings and the two clients, the audit log and a clock."""

    settings: Settings
    client: AmoClient
    telegram: Telegram
    state: State
    clock: Callable[[], float] = time.time
    username: str | None = field(default=None, repr=False)

    @property
    def lang(self) -> str:
        return self.settings.bot.language

    @property
    def tz(self) -> datetime.tzinfo:
        return self.settings.bot.tz

    @property
    def base_url(self) -> str:
        return self.client.base_url

    def now(self) -> int:
        return int(self.clock())

    def bot_username(self) -> str:
        """This bot's @username, asked from Telegram once (group commands are matched against it)."""
        if self.username is None:
            self.username = str(self.telegram.get_me().username or "")
        return self.username


@dataclass(frozen=True)
class Screen:
    html: Html
    markup: InlineKeyboardMarkup | None = None


def button(text: str, data: str) -> InlineKeyboardButton:
    return InlineKeyboardButton(text, callback_data=data)


# -- the overdue report ---------------------------------------------------------------------------


def report_screen(app: App, person: Person) -> Screen:
    """Directors and admins get the summary with a button per manager; a manager, their own list."""
    if not can_see_all(person):
        return manager_screen(app, person.amocrm_user_id or 0, 0, back=False)
    now = app.now()
    users = app.client.users()
    report = overdue_by_manager(app.client.overdue_tasks(now), users, now, app.tz)
    html = render_report(report, app.lang, app.tz, clean_managers(report, users))
    return Screen(html, report_keyboard(app.lang, report))


def clean_managers(report: OverdueReport, users: Mapping[int, User]) -> list[str]:
    """Active amoCRM users with nothing overdue, by name.

    amoCRM account admins are left out: usually the director or the integrator, not a seller.
    """
    late = {m.amocrm_user_id for m in report.managers}
    return sorted(
        u.name for u in users.values() if u.is_active and not u.is_admin and u.id not in late
    )


def report_keyboard(lang: str, report: OverdueReport) -> InlineKeyboardMarkup:
    markup = InlineKeyboardMarkup(row_width=2)
    markup.add(*(
        button(f"{m.name} ({m.overdue})", f"rm:{m.amocrm_user_id}:0")
        for m in report.managers[:REPORT_BUTTONS_LIMIT]
    ))  # fmt: skip
    markup.row(button(t(lang, "btn_refresh"), "rr"))
    return markup


def manager_screen(app: App, amocrm_user_id: int, page: int, *, back: bool) -> Screen:
    """One manager's overdue tasks, a page at a time, with ◀ ▶, 🔄 and (for directors) ⬆."""
    now = app.now()
    tasks = app.client.overdue_tasks(now, responsible_user_id=amocrm_user_id)
    users = app.client.users()
    manager = overdue_by_manager(tasks, users, now, app.tz).manager(amocrm_user_id)
    pages = page_count(manager.overdue if manager else 0)
    page = min(max(page, 0), pages - 1)
    html = render_manager_page(
        manager, user_name(users, amocrm_user_id), page, lang=app.lang, tz=app.tz, now=now,
        base_url=app.base_url,
    )  # fmt: skip
    return Screen(html, manager_keyboard(app.lang, amocrm_user_id, page, pages, back=back))


def manager_keyboard(
    lang: str, amocrm_user_id: int, page: int, pages: int, *, back: bool
) -> InlineKeyboardMarkup:
    markup = InlineKeyboardMarkup()
    paging = []
    if page > 0:
        paging.append(button(t(lang, "btn_prev"), f"rm:{amocrm_user_id}:{page - 1}"))
    if page < pages - 1:
        paging.append(button(t(lang, "btn_next"), f"rm:{amocrm_user_id}:{page + 1}"))
    if paging:
        markup.row(*paging)
    tools = [button(t(lang, "btn_refresh"), f"rm:{amocrm_user_id}:{page}")]
    if back:
        tools.append(button(t(lang, "btn_back"), "rr"))
    markup.row(*tools)
    return markup


# -- my tasks and closing them ----------------------------------------------------------------


def mytasks_screen(app: App, amocrm_user_id: int) -> Screen:
    """Own overdue and due-today tasks, each with a ✅ button, plus 🔄."""
    now = app.now()
    mine = my_tasks(app.client.open_tasks(amocrm_user_id), now, app.tz)
    html, shown = render_my_tasks(
        mine, lang=app.lang, tz=app.tz, now=now, base_url=app.base_url, limit=MY_TASKS_LIMIT
    )
    markup = InlineKeyboardMarkup(row_width=5)
    markup.add(*(button(f"✅ {n}", f"td:{task.id}") for n, task in enumerate(shown, 1)))
    markup.row(button(t(app.lang, "btn_refresh"), f"mt:{amocrm_user_id}"))
    return Screen(html, markup)


@dataclass(frozen=True)
class Closing:
    """What happened to a request to close a task: ``closed``, ``already`` or ``denied``."""

    outcome: str
    task_id: int
    result: str
    responsible_user_id: int


def close_task(app: App, person: Person, task_id: int, result: str | None) -> Closing:
    """Close the task in amoCRM if this person may, and record the write in the audit log.

    The task is fetched first: its responsible user decides, never the caller's claim.
    """
    result = result or DEFAULT_RESULT.get(app.lang, DEFAULT_RESULT["ru"])
    task = app.client.task(task_id)
    if not can_close_task(person, task):
        app.state.audit(person.telegram_id, "complete_task_denied", audit_details(task_id))
        return Closing("denied", task_id, result, task.responsible_user_id)
    if task.is_completed:
        return Closing("already", task_id, result, task.responsible_user_id)
    app.client.complete_task(task_id, result)
    app.state.audit(person.telegram_id, "complete_task", audit_details(task_id, result))
    return Closing("closed", task_id, result, task.responsible_user_id)


def audit_details(task_id: int, result: str | None = None) -> str:
    details: dict[str, object] = {"task_id": task_id}
    if result is not None:
        details["result"] = result
    return json.dumps(details, ensure_ascii=False)


# -- look-ups ---------------------------------------------------------------------------------


def lead_screen(app: App, lead: Lead) -> Screen:
    """The full card of one lead."""
    now = app.now()
    contacts = app.client.contacts(list(lead.contact_ids)) if lead.contact_ids else []
    html = render_lead(
        lead, lang=app.lang, tz=app.tz, now=now, base_url=app.base_url,
        pipelines=app.client.pipelines(), users=app.client.users(), contacts=contacts,
        tasks=app.client.lead_tasks(lead.id),
    )  # fmt: skip
    return Screen(html)


def lead_cards(app: App, leads: Sequence[Lead]) -> dict[int, Html]:
    """Cards without task lists, for notices, by lead id: pipelines, users and every lead's
    contacts are read once for all of them, not once per lead."""
    if not leads:
        return {}
    pipelines, users = app.client.pipelines(), app.client.users()
    contacts = {c.id: c for c in app.client.contacts(i for x in leads for i in x.contact_ids)}

    def card(lead: Lead) -> Html:
        return render_lead(
            lead, lang=app.lang, tz=app.tz, now=app.now(), base_url=app.base_url,
            pipelines=pipelines, users=users, tasks=None,
            contacts=[contacts[i] for i in lead.contact_ids if i in contacts],
        )  # fmt: skip

    return {lead.id: card(lead) for lead in leads}


def leads_choice(app: App, leads: list[Lead]) -> Screen:
    """Several leads matched: one button per lead."""
    pipelines = app.client.pipelines()
    markup = InlineKeyboardMarkup(row_width=1)
    markup.add(*(button(lead_button_label(app.lang, x, pipelines), f"ld:{x.id}") for x in leads))
    return Screen(t(app.lang, "lead_matches", count=len(leads)), markup)


def funnel_screen(app: App) -> Screen:
    """Open leads per stage, won and lost this month."""
    result = this_month_funnel(app)
    return Screen(render_funnel(result, lang=app.lang, tz=app.tz))


def this_month_funnel(app: App) -> Funnel:
    """Open leads per stage and the leads closed this month.

    All leads are read: amoCRM's ``filter[statuses]`` would cut the pages, but Kommo's leads
    reference says only one stage of one pipeline can be filtered at a time (amocrm-api.md §3.4,
    UNCONFIRMED either way), and an account that honoured only the first pair would show a
    wrong funnel with no error. A correct count is worth a few more pages.
    """
    now = app.now()
    return funnel(app.client.iter_leads(), app.client.pipelines(), now, app.tz)


def account_screen(app: App) -> Screen:
    """Connection status and account summary; raises AmoError when amoCRM cannot be read."""
    account = app.client.account()
    users = app.client.users()
    html = render_account(
        account, lang=app.lang, base_url=app.base_url, users=len(users),
        funnel=this_month_funnel(app),
    )  # fmt: skip
    return Screen(html)
