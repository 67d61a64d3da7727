"""The words on the pictures, in Russian and English.

Only what the pictures draw (charts may not import the bot, whose catalogue is
``bot/locales``); the photo's caption is the picture's subtitle too, so it lives here as well.
Every string is plain text: the callers of :func:`label` escape what goes into HTML.
"""

from __future__ import annotations

import datetime

from leoweb_bot.reports import local

RU: dict[str, str] = {
    "as_of": "на {when} ({tz})",
    "bars_title": "Просроченные задачи по менеджерам",
    "bars_caption": "Просрочено задач: {total}\n{as_of}",
    "bars_none": "Просроченных задач нет",
    "bars_more": "и ещё {managers} менеджеров: {tasks} задач",
    "trend_title": "Просроченные задачи за 8 недель",
    "trend_total": "Всего просрочено",
    "trend_top": "Менеджеры с наибольшей просрочкой за 8 недель",
    "trend_none": "Истории пока нет.\nБот записывает её раз в день с первого запуска.",
    "trend_short": "История с {day} — с первого запуска бота",
    "team_title": "Команда",
    "team_name": "Менеджер",
    "team_overdue": "Просроч.\nсейчас",
    "team_today": "Срок\nсегодня",
    "team_closed": "Закрыто\nсегодня",
    "team_idle": "Сделки\nбез задач",
    "team_total": "Итого",
    "team_more": "и ещё {managers} менеджеров",
    "team_none": "Менеджеров нет",
}

EN: dict[str, str] = {
    "as_of": "as of {when} ({tz})",
    "bars_title": "Overdue tasks per manager",
    "bars_caption": "Overdue tasks: {total}\n{as_of}",
    "bars_none": "No overdue tasks",
    "bars_more": "and {managers} more managers: {tasks} tasks",
    "trend_title": "Overdue tasks, last 8 weeks",
    "trend_total": "All overdue tasks",
    "trend_top": "Managers with the most overdue over 8 weeks",
    "trend_none": "No history yet.\nThe bot records it once a day since it first ran.",
    "trend_short": "History since {day}, when the bot first ran",
    "team_title": "Team",
    "team_name": "Manager",
    "team_overdue": "Overdue\nnow",
    "team_today": "Due\ntoday",
    "team_closed": "Closed\ntoday",
    "team_idle": "Leads\nwithout task",
    "team_total": "Total",
    "team_more": "and {managers} more managers",
    "team_none": "No managers",
}

CATALOGUE = {"ru": RU, "en": EN}


def label(lang: str, key: str, **values: object) -> str:
    """The string for ``key`` in ``lang`` (Russian for an unknown language), filled in."""
    return CATALOGUE.get(lang, RU)[key].format(**values)


def as_of(lang: str, now: int, tz: datetime.tzinfo) -> str:
    """``на 25.11.2026 14:05 (Asia/Almaty)``: the moment a picture shows, in company time."""
    return label(lang, "as_of", when=local(now, tz).strftime("%d.%m.%Y %H:%M"), tz=str(tz))


def shorten(name: str, limit: int) -> str:
    """A name on one line, cut to ``limit`` characters with "…" so long names keep bars readable."""
    name = " ".join(name.split())
    return name if len(name) <= limit else name[: limit - 1].rstrip() + "…"
