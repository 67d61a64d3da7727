"""The daily history behind ``/chart trend``: snapshots in, one point per company-time day out.

History starts when the bot first recorded a day; a day it did not record stays empty (no point,
a gap in the line), because a chart that fills in the past would be inventing it.
"""

from __future__ import annotations

import datetime
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

from leoweb_bot.reports import local

WEEKS = 8
TOP = 5  # managers drawn besides the total: more lines than this do not read on a phone


@dataclass(frozen=True)
class DailySnapshot:
    """One manager's numbers on one company-time day, as the bot recorded them.

    A recorded day should hold a row for every manager the bot counted, zeros included; a
    manager missing from a day that has rows counts as 0 that day, and a later row for the same
    day and manager replaces an earlier one.
    """

    day: datetime.date
    amocrm_user_id: int
    name: str
    overdue: int
    due_today: int = 0
    closed: int = 0


Points = tuple[int | None, ...]  # one per day of the window; None: the day was not recorded


@dataclass(frozen=True)
class Series:
    amocrm_user_id: int
    name: str  # as recorded on the manager's latest day in the window
    points: Points


@dataclass(frozen=True)
class TrendData:
    days: tuple[datetime.date, ...]  # the whole window, oldest first, ending today
    total: Points  # every manager's overdue tasks added up
    top: tuple[Series, ...]  # the managers with the most overdue over the window, most first
    first_day: datetime.date | None  # the earliest day ever recorded, in the window or before

    @property
    def recorded_days(self) -> int:
        return sum(point is not None for point in self.total)

    @property
    def is_short(self) -> bool:
        """History does not yet reach back to the start of the window: the chart says so."""
        return self.first_day is None or self.first_day > self.days[0]


def trend_data(
    history: Iterable[DailySnapshot],
    now: int,
    tz: datetime.tzinfo,
    weeks: int = WEEKS,
    top: int = TOP,
) -> TrendData:
    """The last ``weeks`` weeks up to today (company time): the total and the ``top`` managers
    with the most overdue tasks summed over the window's days (ties: by name, then id)."""
    today = local(now, tz).date()
    days = tuple(today - datetime.timedelta(days=n) for n in reversed(range(7 * weeks)))
    recorded: dict[datetime.date, dict[int, DailySnapshot]] = defaultdict(dict)
    first_day = None
    for snap in history:
        if snap.day > today:
            continue  # a clock set wrong once must not draw the future
        first_day = snap.day if first_day is None else min(first_day, snap.day)
        if snap.day >= days[0]:
            recorded[snap.day][snap.amocrm_user_id] = snap
    total = tuple(
        sum(s.overdue for s in recorded[day].values()) if day in recorded else None for day in days
    )
    return TrendData(days, total, managers_with_most(days, recorded, top), first_day)


def managers_with_most(
    days: tuple[datetime.date, ...],
    recorded: dict[datetime.date, dict[int, DailySnapshot]],
    top: int,
) -> tuple[Series, ...]:
    sums: dict[int, int] = defaultdict(int)
    names: dict[int, str] = {}
    for day in sorted(recorded):
        for user_id, snap in recorded[day].items():
            sums[user_id] += snap.overdue
            names[user_id] = snap.name
    chosen = sorted((u for u in sums if sums[u] > 0), key=lambda u: (-sums[u], names[u], u))
    return tuple(
        Series(user_id, names[user_id], points_of(user_id, days, recorded))
        for user_id in chosen[:top]
    )


def points_of(
    user_id: int,
    days: tuple[datetime.date, ...],
    recorded: dict[datetime.date, dict[int, DailySnapshot]],
) -> Points:
    """A manager's overdue count on each recorded day (0 if the day has no row for them)."""
    points: list[int | None] = []
    for day in days:
        snap = recorded[day].get(user_id) if day in recorded else None
        points.append(None if day not in recorded else snap.overdue if snap else 0)
    return tuple(points)
