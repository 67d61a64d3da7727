"""Screens shared by commands and buttons: read amoCRM, compute a report, render it, add buttons.

A screen is HTML plus an optional inline keyboard. Each button carries one of the small types
of :mod:`leoweb_bot.bot.codec`; whoever presses it is checked again in
:mod:`leoweb_bot.bot.buttons`, so nothing here trusts the ids it is given.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from collections.abc import Mapping
from collections.abc import Sequence
from dataclasses import dataclass
from functools import partial

from telebot.types import InlineKeyboardButton
from telebot.types import InlineKeyboardMarkup

from leoweb_bot import tasklists
from leoweb_bot.access import Person
from leoweb_bot.access import can_close_task
from leoweb_bot.access import can_see_all
from leoweb_bot.access import can_see_manager
from leoweb_bot.access import can_see_task
from leoweb_bot.amocrm.models import Contact
from leoweb_bot.amocrm.models import Lead
from leoweb_bot.amocrm.models import Task
from leoweb_bot.amocrm.models import User
from leoweb_bot.bot.codec import AskClose
from leoweb_bot.bot.codec import Button
from leoweb_bot.bot.codec import LeadCard
from leoweb_bot.bot.codec import LeadRefresh
from leoweb_bot.bot.codec import ManagerPage
from leoweb_bot.bot.codec import MyTasksPage
from leoweb_bot.bot.codec import OverdueChart
from leoweb_bot.bot.codec import ReportSummary
from leoweb_bot.bot.codec import TaskList
from leoweb_bot.bot.codec import encode
from leoweb_bot.bot.context import App
from leoweb_bot.bot.freshness import refresh_button
from leoweb_bot.bot.freshness import with_freshness
from leoweb_bot.bot.search import count_label
from leoweb_bot.bot.texts import DEFAULT_RESULT
from leoweb_bot.bot.texts import Html
from leoweb_bot.bot.texts import join
from leoweb_bot.bot.texts import t
from leoweb_bot.bot.views import PAGE_SIZE
from leoweb_bot.bot.views import lead_button_label
from leoweb_bot.bot.views import render_account
from leoweb_bot.bot.views import render_contacts
from leoweb_bot.bot.views import render_funnel
from leoweb_bot.bot.views import render_lead
from leoweb_bot.bot.views import render_manager_page
from leoweb_bot.bot.views import render_my_tasks
from leoweb_bot.bot.views import render_report
from leoweb_bot.bot.views import task_text
from leoweb_bot.reports import Funnel
from leoweb_bot.reports import OverdueReport
from leoweb_bot.reports import funnel
from leoweb_bot.reports import funnel_of
from leoweb_bot.reports import month_start
from leoweb_bot.reports import sellers
from leoweb_bot.reports import user_name
from leoweb_bot.state.audit import record_audit
from leoweb_bot.tasklists import ListSource
from leoweb_bot.tasklists import TaskSource
from leoweb_bot.tasklists import my_tasks_page
from leoweb_bot.tasklists import overdue_page

REPORT_BUTTONS_LIMIT = 60
SEARCH_LIMIT = 10  # search results shown; the rest are counted


@dataclass(frozen=True)
class Screen:
    html: Html
    markup: InlineKeyboardMarkup | None = None


def button(text: str, pressed: Button) -> InlineKeyboardButton:
    return InlineKeyboardButton(text, callback_data=encode(pressed))


def visible(person: Person, tasks: list[Task]) -> tuple[list[Task], int]:
    """The tasks this person may see, and how many others there are (shown only as a count)."""
    seen = [task for task in tasks if can_see_task(person, task)]
    return seen, len(tasks) - len(seen)


def paging_row(
    lang: str, at: Callable[[int], TaskList], page: int, pages: int
) -> list[InlineKeyboardButton]:
    """◀ ▶ of a paged list, ``at(page)`` being its page; empty on a single page."""
    paging = []
    if page > 0:
        paging.append(button(t(lang, "btn_prev"), at(page - 1)))
    if page < pages - 1:
        paging.append(button(t(lang, "btn_next"), at(page + 1)))
    return paging


def add_done_buttons(
    markup: InlineKeyboardMarkup, tasks: Sequence[Task], first: int, back: TaskList
) -> None:
    """``✅ n`` for each task numbered from ``first``; ``back`` is the list to go back to."""
    markup.add(*(button(f"✅ {n}", AskClose(task.id, back)) for n, task in enumerate(tasks, first)))


# -- the overdue report ---------------------------------------------------------------------------


def report_screen(app: App, person: Person) -> Screen:
    """Directors and admins get the summary with a button per manager; a manager, their own list."""
    if not can_see_all(person):
        return manager_screen(app, person, person.amocrm_user_id or 0, 0, back=False)
    users = app.client.users()
    report = overdue_report(app, users)
    html = render_report(report, app.lang, app.tz, clean_managers(report, users))
    if len(report.managers) > REPORT_BUTTONS_LIMIT:
        more = t(app.lang, "report_buttons_more", shown=REPORT_BUTTONS_LIMIT)
        html = join([html, Html(""), more])
    return Screen(with_freshness(app, html), report_keyboard(app.lang, report))


def task_source(app: App, fetch: Callable[[], list[Task]]) -> TaskSource:
    """The mirror, counted and paged in SQL, once the screens read it; else what ``fetch``
    reads from amoCRM for this screen."""
    mirror = app.mirror()
    return mirror if mirror else ListSource(fetch())


def own_tasks(
    app: App, person: Person, amocrm_user_id: int, fetch: Callable[[], list[Task]]
) -> TaskSource:
    """One manager's tasks, if this person may see them (the buttons check it too): else none."""
    if not can_see_manager(person, amocrm_user_id):
        return ListSource([])
    return task_source(app, fetch)


def overdue_report(
    app: App, users: Mapping[int, User], amocrm_user_id: int | None = None
) -> OverdueReport:
    """Overdue tasks per manager now (of one manager with ``amocrm_user_id``)."""
    now = app.now()
    source = task_source(
        app, lambda: app.client.open_tasks_due_before(now, responsible_user_id=amocrm_user_id)
    )
    return tasklists.overdue_report(source, users, now, app.tz, amocrm_user_id)


def clean_managers(report: OverdueReport, users: Mapping[int, User]) -> list[str]:
    """Sellers with nothing overdue, by name."""
    late = {m.amocrm_user_id for m in report.managers}
    return sorted(users[uid].name for uid in sellers(users) - late)


def report_keyboard(lang: str, report: OverdueReport) -> InlineKeyboardMarkup:
    markup = InlineKeyboardMarkup(row_width=2)
    markup.add(*(
        button(f"{m.name} ({m.overdue})", ManagerPage(m.amocrm_user_id, 0))
        for m in report.managers[:REPORT_BUTTONS_LIMIT]
    ))  # fmt: skip
    markup.row(
        refresh_button(lang, ReportSummary()),
        button(t(lang, "btn_chart"), OverdueChart()),
    )
    return markup


def manager_screen(
    app: App, person: Person, amocrm_user_id: int, page: int, *, back: bool
) -> Screen:
    """One manager's overdue tasks, a page at a time, with ✅, ◀ ▶, 🔄 and (for directors) ⬆."""
    now = app.now()
    source = own_tasks(
        app, person, amocrm_user_id,
        lambda: app.client.open_tasks_due_before(now, responsible_user_id=amocrm_user_id),
    )  # fmt: skip
    shown = overdue_page(source, amocrm_user_id, now, app.tz, page, PAGE_SIZE)
    users = app.client.users()
    html = render_manager_page(
        shown, user_name(users, amocrm_user_id), lang=app.lang, tz=app.tz, now=now,
        base_url=app.base_url,
    )  # fmt: skip
    at = partial(ManagerPage, amocrm_user_id)
    markup = InlineKeyboardMarkup(row_width=5)
    add_done_buttons(markup, shown.tasks, shown.first + 1, at(shown.page))
    if paging := paging_row(app.lang, at, shown.page, shown.pages):
        markup.row(*paging)
    tools = [refresh_button(app.lang, at(shown.page))]
    if back:
        tools.append(button(t(app.lang, "btn_back"), ReportSummary()))
    markup.row(*tools)
    return Screen(with_freshness(app, html), markup)


# -- my tasks and closing them ----------------------------------------------------------------


def mytasks_screen(app: App, person: Person, amocrm_user_id: int, page: int) -> Screen:
    """Own overdue and due-today tasks, a page at a time, with ✅, ◀ ▶ and 🔄."""
    now = app.now()
    source = own_tasks(app, person, amocrm_user_id, lambda: app.client.open_tasks(amocrm_user_id))
    mine = my_tasks_page(source, amocrm_user_id, now, app.tz, page, PAGE_SIZE)
    html = render_my_tasks(mine, lang=app.lang, tz=app.tz, now=now, base_url=app.base_url)
    at = partial(MyTasksPage, amocrm_user_id)
    markup = InlineKeyboardMarkup(row_width=5)
    add_done_buttons(markup, mine.shown.tasks, mine.shown.first + 1, at(mine.shown.page))
    if paging := paging_row(app.lang, at, mine.shown.page, mine.shown.pages):
        markup.row(*paging)
    markup.row(refresh_button(app.lang, at(mine.shown.page)))
    return Screen(with_freshness(app, html), markup)


@dataclass(frozen=True)
class Closing:
    """What happened to a request to close a task: ``closed``, ``already`` or ``denied``."""

    outcome: str
    task: Task
    result: str


def close_task(app: App, person: Person, task_id: int, result: str | None) -> Closing:
    """Close the task in amoCRM if this person may, and record the write in the audit log.

    The task is fetched first: its responsible user decides, never the caller's claim.
    """
    result = result or DEFAULT_RESULT.get(app.lang, DEFAULT_RESULT["ru"])
    task = app.client.task(task_id)
    if not can_close_task(person, task):
        record_audit(app.state, person.telegram_id, "complete_task_denied", audit_details(task_id))
        return Closing("denied", task, result)
    if task.is_completed:
        return Closing("already", task, result)
    app.client.complete_task(task_id, result)
    record_audit(app.state, person.telegram_id, "complete_task", audit_details(task_id, result))
    return Closing("closed", task, result)


def closing_text(lang: str, closing: Closing) -> Html:
    """The answer to ``/done`` or a typed result: which task, and what became of it."""
    key = {"closed": "done_ok", "already": "done_already", "denied": "done_not_yours"}
    task = closing.task  # done_not_yours names the id only: not this person's task to read
    return t(
        lang, key[closing.outcome], id=task.id, text=task_text(lang, task), result=closing.result
    )


def audit_details(task_id: int, result: str | None = None) -> str:
    details: dict[str, object] = {"task_id": task_id}
    if result is not None:
        details["result"] = result
    return json.dumps(details, ensure_ascii=False)


# -- look-ups ---------------------------------------------------------------------------------


def lead_screen(app: App, person: Person, lead: Lead) -> Screen:
    """The full card of one lead: other people's tasks only as a count; ✅ for the rest, 🔄."""
    now = app.now()
    contacts = app.client.contacts(list(lead.contact_ids)) if lead.contact_ids else []
    tasks, others = visible(person, app.client.lead_tasks(lead.id))
    html = render_lead(
        lead, lang=app.lang, tz=app.tz, now=now, base_url=app.base_url,
        pipelines=app.client.pipelines(), users=app.client.users(), contacts=contacts,
        tasks=tasks, others=others,
    )  # fmt: skip
    markup = InlineKeyboardMarkup(row_width=5)
    add_done_buttons(markup, tasks[:PAGE_SIZE], 1, LeadRefresh(lead.id))
    markup.row(refresh_button(app.lang, LeadRefresh(lead.id)))
    return Screen(with_freshness(app, html), markup)


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
    """Several leads matched: a button for each of the first ``SEARCH_LIMIT``, and how many
    there are in all, with how to narrow the search when not all of them have a button."""
    pipelines = app.client.pipelines()
    shown = leads[:SEARCH_LIMIT]
    markup = InlineKeyboardMarkup(row_width=1)
    markup.add(*(button(lead_button_label(app.lang, x, pipelines), LeadCard(x.id)) for x in shown))
    count = count_label(leads)
    if len(leads) > len(shown):
        return Screen(t(app.lang, "lead_matches_more", count=count, shown=len(shown)), markup)
    return Screen(t(app.lang, "lead_matches", count=count), markup)


def contacts_screen(app: App, contacts: list[Contact]) -> Screen:
    """The first ``SEARCH_LIMIT`` contacts found, under how many there are and how to narrow."""
    shown = contacts[:SEARCH_LIMIT]
    html = render_contacts(shown, lang=app.lang, users=app.client.users(), base_url=app.base_url)
    if len(contacts) > len(shown):
        more = t(app.lang, "contact_more", count=count_label(contacts), shown=len(shown))
        html = join([more, Html(""), html])
    return Screen(html)


def funnel_screen(app: App) -> Screen:
    """Open leads per stage, won and lost this month."""
    result = this_month_funnel(app)
    return Screen(with_freshness(app, render_funnel(result, lang=app.lang, tz=app.tz)))


def this_month_funnel(app: App) -> Funnel:
    """Open leads per stage and the leads closed this month.

    All leads are read: amoCRM's ``filter[statuses]`` would cut the pages, but Kommo's leads
    reference says only one stage of one pipeline can be filtered at a time
    (docs/amocrm.md#leads-contacts-pipelines, UNCONFIRMED either way), and an account that
    honoured only the first pair would show a wrong funnel with no error. A correct count is
    worth a few more pages.
    """
    now = app.now()
    if mirror := app.mirror():
        counts = mirror.stage_counts(month_start(now, app.tz), now)
        return funnel_of(counts, mirror.pipelines(), now, app.tz)
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
