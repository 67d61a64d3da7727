"""``/chart``, ``/chart trend`` and the 📊 buttons: pictures sent as photos.

Directors and admins get the overdue tasks per manager now (``/chart``) or the last 8 weeks
(``/chart trend``); a manager gets their own 8 weeks either way and can never name anyone else.
amoCRM is read first (its failures are the router's to word); then the picture is drawn here, in
the dispatcher's thread, never in a web request (the web adapter only stores updates). A picture
that cannot be drawn or sent becomes the text of the same screen under one line of apology.

The trend is the daily history (``state/snapshots.py``, recorded by ``proactive/snapshots.py``)
with today's point taken now: days the bot did not record stay empty, never filled in.
"""

from __future__ import annotations

import datetime
import functools
import logging
from collections.abc import Callable
from collections.abc import Mapping
from dataclasses import dataclass

from telebot.types import InlineKeyboardMarkup

from leoweb_bot.access import Person
from leoweb_bot.access import can_see_all
from leoweb_bot.amocrm.models import User
from leoweb_bot.bot.codec import OverdueChart
from leoweb_bot.bot.codec import TrendChart
from leoweb_bot.bot.context import App
from leoweb_bot.bot.formats import as_of
from leoweb_bot.bot.replies import Reply
from leoweb_bot.bot.request import Request
from leoweb_bot.bot.screens import Screen
from leoweb_bot.bot.screens import button
from leoweb_bot.bot.screens import overdue_report
from leoweb_bot.bot.screens import report_screen
from leoweb_bot.bot.texts import Html
from leoweb_bot.bot.texts import escape
from leoweb_bot.bot.texts import join
from leoweb_bot.bot.texts import t
from leoweb_bot.bot.views import usage
from leoweb_bot.charts import DailySnapshot
from leoweb_bot.charts import bars_caption
from leoweb_bot.charts import bars_data
from leoweb_bot.charts import overdue_bars
from leoweb_bot.charts import trend_lines
from leoweb_bot.charts.history import WEEKS
from leoweb_bot.reports import OverdueReport
from leoweb_bot.reports import local
from leoweb_bot.reports import sellers
from leoweb_bot.reports import user_name
from leoweb_bot.state.snapshots import history

log = logging.getLogger(__name__)

TREND = ("trend", "тренд")


@dataclass(frozen=True)
class Picture:
    """A photo to send: how to draw it (the data is read already), its caption and buttons."""

    draw: Callable[[], bytes]
    caption: Html
    markup: InlineKeyboardMarkup | None = None

    @functools.cached_property
    def png(self) -> bytes:
        """The picture, drawn at the first use only (a digest sends one to many chats)."""
        return self.draw()


def chart(req: Request) -> None:
    """``/chart`` or ``/chart trend``; a manager's own 8 weeks, whatever they ask."""
    trend = req.args.strip().casefold() in TREND
    if req.args and not trend:
        own = not can_see_all(req.person)
        req.reply.show(t(req.lang, "chart_own_only") if own else usage(req.lang, req.command))
        return
    if not can_see_all(req.person) and req.person.amocrm_user_id is None:
        req.reply.show(t(req.lang, "chart_unlinked"))
        return
    req.reply.working(t(req.lang, "chart_working"))
    send_chart(req.app, req.person, req.reply, trend=trend)


def send_chart(app: App, person: Person, reply: Reply, *, trend: bool) -> None:
    """Read, draw and send the chart this person may see; the text report if drawing fails."""
    if trend or not can_see_all(person):
        picture = trend_picture(app, person)
    else:
        picture = overdue_picture(app, overdue_report(app, app.client.users()))
    send_picture(app, reply, picture, lambda: report_screen(app, person))


def send_picture(app: App, reply: Reply, picture: Picture, fallback: Callable[[], Screen]) -> None:
    """Draw and send ``picture``, then take away the "⏳" placeholder; if it cannot be drawn or
    sent, show ``fallback()`` in its place with one line of apology."""
    try:
        app.telegram.send_photo(reply.chat_id, picture.png, picture.caption, picture.markup)
    except Exception:
        log.exception("picture for chat %s not drawn or not sent; sending text", reply.chat_id)
        screen = fallback()
        reply.show(join([t(app.lang, "chart_failed"), screen.html]), screen.markup)
        return
    if reply.message_id is not None:
        app.telegram.delete(reply.chat_id, reply.message_id)


def overdue_picture(app: App, report: OverdueReport) -> Picture:
    """The bars: overdue tasks per manager now, with 📈 for the trend."""
    now, tz, lang = app.now(), app.tz, app.lang
    data = bars_data(report)
    markup = InlineKeyboardMarkup()
    markup.row(button(t(lang, "btn_trend"), TrendChart()))
    caption = escape(bars_caption(data, now, tz, lang))
    return Picture(lambda: overdue_bars(data, now, tz, lang), caption, markup)


def trend_picture(app: App, person: Person) -> Picture:
    """The last 8 weeks: every manager's for directors (with 📊 for now), a manager's own."""
    now, tz, lang = app.now(), app.tz, app.lang
    mine = None if can_see_all(person) else person.amocrm_user_id
    users = app.client.users()
    snapshots = trend_history(app, overdue_report(app, users, mine), users, mine)
    key = "trend_caption" if mine is None else "trend_caption_own"
    markup = None
    if mine is None:
        markup = InlineKeyboardMarkup()
        markup.row(button(t(lang, "btn_now"), OverdueChart()))
    caption = t(lang, key, as_of=as_of(lang, now, tz))
    return Picture(lambda: trend_lines(snapshots, now, tz, lang), caption, markup)


def trend_history(
    app: App, now_report: OverdueReport, users: Mapping[int, User], mine: int | None
) -> list[DailySnapshot]:
    """The recorded days of the window (one manager's with ``mine``), then today as it is now:
    every seller's count, zeros included, so that a day without overdue tasks is a 0, not a gap."""
    today = local(app.now(), app.tz).date()
    since = today - datetime.timedelta(days=7 * WEEKS)
    recorded = [DailySnapshot(*row) for row in history(app.state, since, mine)]
    counts = dict.fromkeys(sellers(users) if mine is None else {mine}, 0)
    counts |= {m.amocrm_user_id: m.overdue for m in now_report.managers}
    taken_now = [DailySnapshot(today, uid, user_name(users, uid), n) for uid, n in counts.items()]
    return [*recorded, *taken_now]
