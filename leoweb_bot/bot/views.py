"""Screens as Telegram HTML: reports, task lists, cards. Pure functions of already-fetched data.

Every CRM string goes through :func:`leoweb_bot.bot.texts.t` (escaped) and every card link through
:func:`leoweb_bot.bot.texts.link` (its ``href`` escaped for an attribute). Task texts are shortened
so that one page of ten tasks always fits in a single 4096-character message.
"""

from __future__ import annotations

import datetime
from collections.abc import Mapping
from collections.abc import Sequence

from leoweb_bot.access import Person
from leoweb_bot.access import Role
from leoweb_bot.amocrm.models import Account
from leoweb_bot.amocrm.models import Contact
from leoweb_bot.amocrm.models import Lead
from leoweb_bot.amocrm.models import Pipeline
from leoweb_bot.amocrm.models import Task
from leoweb_bot.amocrm.models import User
from leoweb_bot.amocrm.models import card_url
from leoweb_bot.bot.formats import as_of
from leoweb_bot.bot.formats import format_due
from leoweb_bot.bot.formats import format_money
from leoweb_bot.bot.formats import overdue_label
from leoweb_bot.bot.formats import shorten
from leoweb_bot.bot.request import Command
from leoweb_bot.bot.texts import Html
from leoweb_bot.bot.texts import join
from leoweb_bot.bot.texts import link
from leoweb_bot.bot.texts import t
from leoweb_bot.reports import Funnel
from leoweb_bot.reports import OverdueReport
from leoweb_bot.reports import days_overdue
from leoweb_bot.reports import is_overdue
from leoweb_bot.reports import user_name
from leoweb_bot.tasklists import MyTaskCounts
from leoweb_bot.tasklists import TaskPage

Tz = datetime.tzinfo
PAGE_SIZE = 10
TASK_TEXT_LIMIT = 120


def usage(lang: str, command: Command) -> Html:
    """``Формат: /done <id задачи> [результат]``."""
    return t(lang, "usage", usage=syntax(lang, command.name, command.args))


def syntax(lang: str, name: str, args: str | None) -> Html:
    """``/done <id задачи> [результат]``: the command with its arguments, if it has any."""
    return Html("/{} {}").format(name, t(lang, args)) if args else Html("/{}").format(name)


def render_help(lang: str, role: Role, table: Sequence[Command]) -> Html:
    """The commands this role may use, with their arguments, in the table's order."""
    lines = [t(lang, "help_title")]
    for command in (c for c in table if c.allows(role)):
        shown = syntax(lang, command.name, command.args_for(role))
        lines.append(Html("{} — {}").format(shown, t(lang, command.help_for(role))))
    return join(lines)


def render_whoami(lang: str, person: Person, users: Mapping[int, User]) -> Html:
    """Telegram id, role and the linked amoCRM user (``#id`` when its name is unknown)."""
    amo_id = person.amocrm_user_id
    amo_user = f"{user_name(users, amo_id)} (#{amo_id})" if amo_id else t(lang, "amo_user_none")
    role = t(lang, f"role_{person.role.value}")
    return t(lang, "whoami", id=person.telegram_id, role=role, amo_user=amo_user)


def render_report(report: OverdueReport, lang: str, tz: Tz, clean_users: Sequence[str]) -> Html:
    """The summary: one line per manager with overdue tasks, the total, the clean managers."""
    now = int(report.generated_at.timestamp())
    lines = [t(lang, "report_title", as_of=as_of(lang, now, tz)), Html("")]
    for n, manager in enumerate(report.managers, 1):
        days = overdue_label(lang, days_overdue(manager.oldest_due, now, tz))
        oldest = format_due(manager.oldest_due, tz)
        lines.append(
            t(lang, "report_line", n=n, name=manager.name, count=manager.overdue, oldest=oldest,
              days=days)
        )  # fmt: skip
    if report.managers:
        lines += [Html(""), t(lang, "report_total", total=report.total_overdue)]
    else:
        lines.append(t(lang, "report_none"))
    if clean_users:
        lines.append(t(lang, "report_clean", names=", ".join(clean_users)))
    return join(lines)


def render_manager_page(
    shown: TaskPage, name: str, *, lang: str, tz: Tz, now: int, base_url: str
) -> Html:
    """One manager's overdue tasks, a page of them, oldest first, with card links."""
    stamp = as_of(lang, now, tz)
    if not shown.total:
        return t(lang, "manager_clean", name=name, as_of=stamp)
    lines = [t(lang, "manager_title", name=name, count=shown.total, as_of=stamp)]
    if shown.pages > 1:
        lines.append(t(lang, "page", page=shown.page + 1, pages=shown.pages))
    lines.append(Html(""))
    for n, task in enumerate(shown.tasks, shown.first + 1):
        lines.append(task_line(n, task, lang=lang, tz=tz, now=now, base_url=base_url))
    return join(lines)


def task_line(n: int, task: Task, *, lang: str, tz: Tz, now: int, base_url: str | None) -> Html:
    """``3. Позвонить\n    срок 20.11.2026 18:00, 5 дней просрочки · сделка · #5000123``."""
    details = task_details(task, lang=lang, tz=tz, now=now, base_url=base_url)
    return t(lang, "task_line", n=n, text=task_text(lang, task), details=details)


def task_text(lang: str, task: Task) -> str:
    return shorten(task.text, TASK_TEXT_LIMIT) or t(lang, "task_no_text")


def task_details(task: Task, *, lang: str, tz: Tz, now: int, base_url: str | None) -> Html:
    """Deadline (and days late), the card link, and the id that ``/done`` takes."""
    due = format_due(task.complete_till, tz) if task.complete_till else "—"
    if task.complete_till and is_overdue(task, now, tz):
        days = overdue_label(lang, days_overdue(task.complete_till, now, tz))
        parts = [t(lang, "task_late", due=due, days=days)]
    else:
        parts = [t(lang, "task_due", due=due)]
    url = card_url(base_url, task.entity_type, task.entity_id) if base_url else None
    if url:
        parts.append(link(url, t(lang, f"link_{task.entity_type}")))
    parts.append(t(lang, "task_id", id=task.id))
    return join(parts, " · ")


def render_my_tasks(mine: MyTaskCounts, *, lang: str, tz: Tz, now: int, base_url: str) -> Html:
    """One page of the overdue and due-today tasks, with both counts.

    Numbers continue across pages, and each page starts under the heading of its first task.
    """
    shown = mine.shown
    lines = [t(lang, "mytasks_title", as_of=as_of(lang, now, tz))]
    if not shown.total:
        return join([*lines, t(lang, "mytasks_empty")])
    lines.append(t(lang, "mytasks_counts", overdue=mine.overdue, today=mine.today))
    if shown.pages > 1:
        lines.append(t(lang, "page", page=shown.page + 1, pages=shown.pages))
    for n, task in enumerate(shown.tasks, shown.first + 1):
        if n in (shown.first + 1, mine.overdue + 1):
            heading = "mytasks_overdue" if n <= mine.overdue else "mytasks_today"
            lines += [Html(""), t(lang, heading)]
        lines.append(task_line(n, task, lang=lang, tz=tz, now=now, base_url=base_url))
    return join(lines)


def render_close_confirm(task: Task, *, lang: str, tz: Tz, now: int, base_url: str) -> Html:
    """The question before a task is closed: which task, its deadline, its card."""
    details = task_details(task, lang=lang, tz=tz, now=now, base_url=base_url)
    return t(lang, "close_confirm", text=task_text(lang, task), details=details)


def stage_name(lang: str, pipelines: Sequence[Pipeline], lead: Lead) -> tuple[str, str]:
    """The lead's stage and pipeline names (``этап #id`` for a stage we do not know)."""
    pipeline = next((p for p in pipelines if p.id == lead.pipeline_id), None)
    stage = pipeline.stage(lead.status_id) if pipeline else None
    stage_text = stage.name if stage else t(lang, "unknown_stage", id=lead.status_id)
    return stage_text, pipeline.name if pipeline else f"#{lead.pipeline_id}"


def render_lead(
    lead: Lead, *, lang: str, tz: Tz, now: int, base_url: str, pipelines: Sequence[Pipeline],
    users: Mapping[int, User], contacts: Sequence[Contact], tasks: Sequence[Task] | None,
    others: int = 0,
) -> Html:  # fmt: skip
    """The lead card: name, stage, pipeline, responsible, budget, contacts, open tasks, link.

    ``tasks`` are the open tasks the reader may see, ``others`` how many more there are (other
    people's, shown as a count). ``tasks=None`` leaves the task section out (a notice saves the
    request for them).
    """
    stage, pipeline = stage_name(lang, pipelines, lead)
    people = join(
        [
            link(card_url(base_url, "contacts", c.id), c.name or t(lang, "unnamed"))
            for c in contacts
        ],
        ", ",
    )
    lines = [
        t(lang, "lead_title", name=lead.name or t(lang, "unnamed"), id=lead.id),
        t(lang, "lead_stage", stage=stage, pipeline=pipeline),
        t(lang, "lead_responsible", name=user_name(users, lead.responsible_user_id)),
        t(lang, "lead_price", price=format_money(lead.price)),
    ]
    if people:
        lines.append(t(lang, "lead_contacts", contacts=people))
    if tasks is not None:
        lines += [Html(""), *lead_tasks(tasks, others, lang=lang, tz=tz, now=now)]
    lines += [Html(""), link(card_url(base_url, "leads", lead.id), t(lang, "open_card"))]
    return join(lines)


def lead_tasks(tasks: Sequence[Task], others: int, *, lang: str, tz: Tz, now: int) -> list[Html]:
    """The card's first ``PAGE_SIZE`` visible tasks; the rest, and other people's, as counts."""
    if not tasks and not others:
        return [t(lang, "lead_no_tasks")]
    lines = [t(lang, "lead_tasks")] if tasks else []
    for n, task in enumerate(tasks[:PAGE_SIZE], 1):
        lines.append(task_line(n, task, lang=lang, tz=tz, now=now, base_url=None))
    if len(tasks) > PAGE_SIZE:
        lines.append(t(lang, "lead_tasks_more", count=len(tasks) - PAGE_SIZE))
    if others:
        lines.append(t(lang, "lead_tasks_others", count=others))
    return lines


def lead_button_label(lang: str, lead: Lead, pipelines: Sequence[Pipeline]) -> str:
    """Plain text for a search-result button: ``Name · stage`` (buttons are not HTML)."""
    stage, _ = stage_name(lang, pipelines, lead)
    return shorten(f"{lead.name or t(lang, 'unnamed')} · {stage}", 60)


def render_contacts(
    contacts: Sequence[Contact], *, lang: str, users: Mapping[int, User], base_url: str
) -> Html:
    """Each contact with phones, e-mails, responsible and a link to its card."""
    blocks = []
    for contact in contacts:
        lines = [t(lang, "contact_title", name=contact.name or t(lang, "unnamed"), id=contact.id)]
        if contact.phones:
            lines.append(t(lang, "contact_phones", values=", ".join(contact.phones)))
        if contact.emails:
            lines.append(t(lang, "contact_emails", values=", ".join(contact.emails)))
        lines.append(
            t(lang, "lead_responsible", name=user_name(users, contact.responsible_user_id))
        )
        lines.append(link(card_url(base_url, "contacts", contact.id), t(lang, "open_card")))
        blocks.append(join(lines))
    return join(blocks, "\n\n")


def amount(value: int) -> str:
    return f" ({format_money(value)})" if value else ""


def render_funnel(funnel: Funnel, *, lang: str, tz: Tz) -> Html:
    """Open leads per stage for each pipeline, then won and lost this month."""
    now = int(funnel.generated_at.timestamp())
    lines = [t(lang, "funnel_title", as_of=as_of(lang, now, tz))]
    if not funnel.pipelines:
        lines.append(t(lang, "funnel_empty"))
    for pf in funnel.pipelines:
        lines += [Html(""), t(lang, "funnel_pipeline", name=pf.pipeline.name, count=pf.open_leads)]
        for sc in pf.stages:
            lines.append(
                t(
                    lang,
                    "funnel_stage",
                    stage=sc.stage.name,
                    count=sc.count,
                    amount=amount(sc.amount),
                )
            )
        lines.append(t(lang, "funnel_won", count=pf.won, amount=amount(pf.won_amount)))
        lines.append(t(lang, "funnel_lost", count=pf.lost))
    return join(lines)


def render_account(
    account: Account, *, lang: str, base_url: str, users: int, funnel: Funnel
) -> Html:
    """Connection status and the account summary of ``/amocrm``."""
    won = sum(p.won for p in funnel.pipelines)
    won_amount = sum(p.won_amount for p in funnel.pipelines)
    return join([
        t(lang, "amocrm_ok", url=base_url),
        t(lang, "amocrm_account", name=account.name, subdomain=account.subdomain),
        t(lang, "amocrm_users", count=users),
        t(lang, "amocrm_open", count=sum(p.open_leads for p in funnel.pipelines)),
        t(lang, "amocrm_won", count=won, amount=amount(won_amount)),
    ])  # fmt: skip
