"""How fresh a screen's data is, and the 🔄 that asks for fresher (docs/architecture.md#sync).

Once the mirror is complete the screens read it (leoweb_bot/sync), and each says when its data
was amoCRM's: «🕓 данные на 14:05», or, once that is older than ``[sync] max_age_seconds``,
«⚠️ amoCRM не отвечает с 13:52, данные на 13:52», never silently stale. A 🔄 button's data ends
in ``:r``: before the screen is drawn again the sync is asked for a cycle (bounded per server).
The handlers read ids by position and never see the mark.
"""

from __future__ import annotations

import datetime
from typing import TYPE_CHECKING

from telebot.types import InlineKeyboardButton

from leoweb_bot.bot.texts import Html
from leoweb_bot.bot.texts import format_when
from leoweb_bot.bot.texts import join
from leoweb_bot.bot.texts import t
from leoweb_bot.reports import local
from leoweb_bot.sync.reader import MirroredClient

if TYPE_CHECKING:
    from leoweb_bot.bot.screens import App

REFRESH = "r"
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


def refresh_button(lang: str, data: str) -> InlineKeyboardButton:
    """🔄 that shows ``data``'s screen again after asking for fresh data."""
    return InlineKeyboardButton(t(lang, "btn_refresh"), callback_data=f"{data}:{REFRESH}")


def refresh_if_asked(app: App, args: tuple[str, ...]) -> None:
    """A 🔄 press: ask the sync for a cycle now, and wait a little for it."""
    if args[-1:] == (REFRESH,) and isinstance(app.client, MirroredClient):
        app.client.refresh()
