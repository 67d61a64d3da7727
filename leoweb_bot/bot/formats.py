"""How values look in the bot's messages: dates in company time, deadlines, money, plurals, and
CRM text shortened to fit.
"""

from __future__ import annotations

import datetime

from leoweb_bot.bot.texts import Html
from leoweb_bot.bot.texts import t
from leoweb_bot.reports import is_all_day
from leoweb_bot.reports import local

ECHO_LIMIT = 40  # characters of a query quoted back in "not found" answers


def plural_key(lang: str, n: int) -> str:
    """``one``/``few``/``many`` by the Russian rule (1 день, 2 дня, 5 дней, 11 дней, 21 день)."""
    if lang == "en":
        return "one" if n == 1 else "many"
    if n % 10 == 1 and n % 100 != 11:
        return "one"
    if 2 <= n % 10 <= 4 and not 12 <= n % 100 <= 14:
        return "few"
    return "many"


def overdue_label(lang: str, days: int) -> Html:
    """``5 дней просрочки`` / ``5 days overdue``; 0 days means it went overdue today."""
    if days <= 0:
        return t(lang, "days_today")
    return t(lang, f"days_{plural_key(lang, days)}", n=days)


def format_when(ts: int, tz: datetime.tzinfo) -> str:
    """``25.11.2026 14:05`` in company time."""
    return local(ts, tz).strftime("%d.%m.%Y %H:%M")


def format_due(ts: int, tz: datetime.tzinfo) -> str:
    """A deadline: just the date for amoCRM "all day" tasks (stored at 23:59), else date and time."""
    if is_all_day(ts, tz):
        return local(ts, tz).strftime("%d.%m.%Y")
    return format_when(ts, tz)


def as_of(lang: str, ts: int, tz: datetime.tzinfo) -> Html:
    """``на 25.11.2026 14:05 (Asia/Almaty)``."""
    return t(lang, "as_of", when=format_when(ts, tz), tz=str(tz))


def format_money(amount: int) -> str:
    """``1 250 000`` — digits grouped by thin spaces, as amoCRM shows budgets."""
    return f"{amount:,}".replace(",", "\u202f")


def shorten(text: str, limit: int) -> str:
    """Cut CRM text to ``limit`` characters so one page always fits in a Telegram message."""
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def echo(query: str) -> str:
    """What someone typed, as quoted back to them: a pasted page is not sent back whole."""
    return shorten(query, ECHO_LIMIT)
