"""How fresh a screen's data is, and the 🔄 that asks for fresher (docs/architecture.md#sync).

Once the mirror is complete the screens read it (leoweb_bot/sync), and each says when its data
was amoCRM's: «🕓 данные на 14:05», or, once that is older than ``[sync] max_age_seconds``,
«⚠️ amoCRM не отвечает с 13:52, данные на 13:52», never silently stale. A 🔄 button is a
:class:`~leoweb_bot.bot.codec.Refresh` around the screen it shows again: before that screen is
drawn the sync is asked for a cycle (bounded per server); the screen's handler never sees it.
"""

from __future__ import annotations

import datetime
from typing import TYPE_CHECKING

from telebot.types import InlineKeyboardButton

from leoweb_bot.bot.codec import Button
from leoweb_bot.bot.codec import Refresh
from leoweb_bot.bot.codec import encode
from leoweb_bot.bot.formats import format_when
from leoweb_bot.bot.texts import Html
from leoweb_bot.bot.texts import join
from leoweb_bot.bot.texts import t
from leoweb_bot.reports import local
from leoweb_bot.sync.reader import MirroredClient

if TYPE_CHECKING:
    from leoweb_bot.bot.context import App

MIRRORED = frozenset({"report", "mytasks", "funnel"})  # commands that read only the mirror


def with_freshness(app: App, html: Html) -> Html:
    """The screen with its freshness line under it (nothing while amoCRM is read live)."""
    fresh = app.client.freshness() if isinstance(app.client, MirroredClient) else None
    if fresh is None:
        return html
    now = app.now()
    time = clock_time(fresh.as_of, now, app.tz)
    if fresh.stale_since is None:
        line = t(app.lang, "data_as_of", time=time)
    else:
        line = t(
            app.lang, "data_stale", since=clock_time(fresh.stale_since, now, app.tz), time=time
        )
    return join([html, Html(""), line])


def clock_time(ts: int, now: int, tz: datetime.tzinfo) -> str:
    """``14:05`` today (company time), ``24.11.2026 14:05`` before."""
    moment = local(ts, tz)
    return (
        moment.strftime("%H:%M") if moment.date() == local(now, tz).date() else format_when(ts, tz)
    )


def answers_at_once(app: App, command: str) -> bool:
    """Whether ``/command`` reads only the mirror now, so needs no "⏳" placeholder."""
    return (
        command in MIRRORED
        and isinstance(app.client, MirroredClient)
        and app.client.freshness() is not None
    )


def refresh_button(lang: str, screen: Button) -> InlineKeyboardButton:
    """🔄 that shows ``screen`` again after asking for fresh data."""
    return InlineKeyboardButton(t(lang, "btn_refresh"), callback_data=encode(Refresh(screen)))


def refresh_if_asked(app: App, pressed: Button) -> Button:
    """A 🔄 press asks the sync for a cycle now (and waits a little); the screen to show."""
    if not isinstance(pressed, Refresh):
        return pressed
    if isinstance(app.client, MirroredClient):
        app.client.refresh()
    return pressed.screen
