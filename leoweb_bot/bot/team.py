"""``/team``: one scorecard line per manager — overdue now, due today, closed today, open leads
without a next task — as a table a phone shows in one screen, and each manager's leads without a
task with links to their cards. ``/team chart`` is the same table drawn (``charts``).

The text is a ``<pre>`` block: Telegram shows it in a monospace font, so the columns line up as
long as every name takes the same number of columns (:func:`fit`). Under it, a button per manager
opens their overdue list, and one per "leads without a task" number opens those leads.
"""

from __future__ import annotations

import datetime
import unicodedata
from collections.abc import Iterable
from collections.abc import Sequence

from telebot.types import InlineKeyboardMarkup

from leoweb_bot import tasklists
from leoweb_bot.amocrm.models import Lead
from leoweb_bot.amocrm.models import card_url
from leoweb_bot.bot.codec import IdleLeads
from leoweb_bot.bot.codec import ManagerPage
from leoweb_bot.bot.codec import TeamCard
from leoweb_bot.bot.context import App
from leoweb_bot.bot.formats import as_of
from leoweb_bot.bot.freshness import with_freshness
from leoweb_bot.bot.pictures import Picture
from leoweb_bot.bot.pictures import send_picture
from leoweb_bot.bot.request import Request
from leoweb_bot.bot.screens import Screen
from leoweb_bot.bot.screens import button
from leoweb_bot.bot.texts import Html
from leoweb_bot.bot.texts import join
from leoweb_bot.bot.texts import link
from leoweb_bot.bot.texts import plain
from leoweb_bot.bot.texts import t
from leoweb_bot.bot.views import stage_name
from leoweb_bot.bot.views import usage
from leoweb_bot.charts import scorecard_data
from leoweb_bot.charts import scorecard_table
from leoweb_bot.reports import ScoreRow
from leoweb_bot.reports import Scores
from leoweb_bot.reports import closed_today
from leoweb_bot.reports import leads_without_task
from leoweb_bot.reports import local
from leoweb_bot.reports import local_midnight
from leoweb_bot.reports import next_midnight
from leoweb_bot.reports import scorecard
from leoweb_bot.reports import team_scorecard
from leoweb_bot.reports import user_name
from leoweb_bot.tasklists import due_today

CHART = ("chart", "график")
COLUMNS = ("overdue", "today", "closed", "idle")
NAME_CELLS = 14  # with four numbers of 4 columns a line is 30 columns: a phone's width
IDLE_SHOWN = 30  # leads listed under one manager; the rest are a count


def team(req: Request) -> None:
    """The scorecard as text with buttons, or (``/team chart``) as a picture."""
    drawn = req.args.strip().casefold()
    if drawn and drawn not in CHART:
        req.reply.show(usage(req.lang, req.command))
        return
    req.reply.working(t(req.lang, "chart_working" if drawn else "working"))
    app, rows = req.app, read_scorecard(req.app)
    if not drawn:
        screen = team_screen(app, rows)
        req.reply.show(screen.html, screen.markup)
        return
    now, tz, lang = app.now(), app.tz, app.lang
    caption = t(lang, "team_caption", as_of=as_of(lang, now, tz))
    picture = Picture(lambda: scorecard_table(rows, now, tz, lang), caption)
    send_picture(app, req.reply, picture, lambda: team_screen(app, rows))


def read_scorecard(app: App, *, leads: bool = True) -> tuple[ScoreRow, ...]:
    """The scorecard now: from the mirror's counts once the screens read it, else from amoCRM's
    every open task and lead (without ``leads``, only the tasks due by tonight and no leads, so
    the leads column is 0); today's completed tasks are always asked of amoCRM (the mirror
    keeps open tasks)."""
    now, tz = app.now(), app.tz
    closed = app.client.tasks_completed_since(local_midnight(local(now, tz).date(), tz))
    users = app.client.users()
    if mirror := app.mirror():
        report = tasklists.overdue_report(mirror, users, now, tz)
        overdue = {m.amocrm_user_id: m.overdue for m in report.managers}
        idle = mirror.lone_counts() if leads else {}
        scores = Scores(overdue, due_today(mirror, now, tz), closed_today(closed, now, tz), idle)
        return scorecard(scores, users)
    if leads:
        open_tasks, found = app.client.open_tasks(), list(app.client.iter_leads())
    else:
        open_tasks, found = app.client.open_tasks_due_before(next_midnight(now, tz)), []
    return team_scorecard([*open_tasks, *closed], found, users, now, tz)


def team_screen(app: App, rows: Sequence[ScoreRow]) -> Screen:
    """The table, then a button per manager (their overdue list) and per number of leads
    without a task (those leads), and 🔄."""
    markup = InlineKeyboardMarkup()
    for row in scorecard_data(rows).rows:
        buttons = [button(f"{row.name} ({row.overdue})", ManagerPage(row.amocrm_user_id, 0))]
        if row.idle_leads:
            label = t(app.lang, "btn_idle", count=row.idle_leads)
            buttons.append(button(label, IdleLeads(row.amocrm_user_id)))
        markup.row(*buttons)
    markup.row(button(t(app.lang, "btn_refresh"), TeamCard()))
    return Screen(with_freshness(app, scorecard_text(app.lang, rows, app.now(), app.tz)), markup)


def scorecard_text(lang: str, rows: Iterable[ScoreRow], now: int, tz: datetime.tzinfo) -> Html:
    """The title, the table in ``<pre>`` (names escaped) and a legend."""
    table = scorecard_data(rows)
    title = t(lang, "team_title", as_of=as_of(lang, now, tz))
    if not table.rows:
        return join([title, t(lang, "team_none")])
    lines = [text_line("", [plain(lang, f"team_head_{c}") for c in COLUMNS])]
    lines += [text_line(r.name, r.numbers) for r in table.rows]
    lines.append(text_line(plain(lang, "team_total"), table.totals))
    body = Html("<pre>{}</pre>").format("\n".join(lines))
    more = [t(lang, "team_more", managers=table.more_managers)] if table.more_managers else []
    return join([title, body, *more, t(lang, "team_legend")])


def text_line(name: str, cells: Iterable[object]) -> str:
    return fit(name, NAME_CELLS) + "".join(f"{cell!s:>4}" for cell in cells)


def fit(text: str, width: int) -> str:
    """``text`` padded or cut ("…") to ``width`` monospace columns; an emoji takes two."""
    text = " ".join(text.split())
    if columns(text) > width:
        while columns(text) > width - 1:
            text = text[:-1]
        text += "…"
    return text + " " * (width - columns(text))


def columns(text: str) -> int:
    return sum(columns_of(ch) for ch in text)


def columns_of(ch: str) -> int:
    if unicodedata.category(ch) in ("Mn", "Me", "Cf"):  # accents, variation selectors, joiners
        return 0
    return 2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1


# -- one manager's open leads without a next task --------------------------------------------


def idle_screen(app: App, amocrm_user_id: int) -> Screen:
    """The manager's open leads with no open task, each linked to its card; 🔄 and ⬆."""
    now, lang = app.now(), app.lang
    if mirror := app.mirror():
        leads = mirror.lone_leads(amocrm_user_id)
    else:
        everyone = leads_without_task(app.client.open_tasks(), app.client.iter_leads())
        leads = [x for x in everyone if x.responsible_user_id == amocrm_user_id]
    name = user_name(app.client.users(), amocrm_user_id)
    stamp = as_of(lang, now, app.tz)
    if leads:
        lines = [t(lang, "idle_title", name=name, count=len(leads), as_of=stamp), Html("")]
        lines += idle_lines(app, leads[:IDLE_SHOWN])
        if len(leads) > IDLE_SHOWN:
            lines.append(t(lang, "idle_more", count=len(leads) - IDLE_SHOWN))
    else:
        lines = [t(lang, "idle_none", name=name, as_of=stamp)]
    markup = InlineKeyboardMarkup()
    markup.row(
        button(t(lang, "btn_refresh"), IdleLeads(amocrm_user_id)),
        button(t(lang, "btn_team"), TeamCard()),
    )
    return Screen(with_freshness(app, join(lines)), markup)


def idle_lines(app: App, leads: Sequence[Lead]) -> list[Html]:
    pipelines = app.client.pipelines()
    lines = []
    for n, lead in enumerate(leads, 1):
        title = link(card_url(app.base_url, "leads", lead.id), lead.name or t(app.lang, "unnamed"))
        stage, pipeline = stage_name(app.lang, pipelines, lead)
        lines.append(t(app.lang, "idle_line", n=n, lead=title, stage=stage, pipeline=pipeline))
    return lines
