"""The overdue report and the task lists of the screens, counted and paged over a task source.

A source counts and pages open tasks by deadline. ``ListSource`` answers from a list amoCRM
sent for this screen; the mirror (``sync.reader.MirrorReader``) answers in SQL, so a screen
costs the same on an account of 4,000 tasks as on one of 100,000 (BENCHMARKS.md, "Screens on
the mirror").

The overdue rule stays ``reports.is_overdue``. A task due before ``now`` is overdue unless it is
an all-day one (23:59 company time) whose day is not over, and such a task is due after
``reports.late_before(now)``. So a list counts everything due before ``now`` in bulk, reads the
tasks due in the minute 23:59 of a day not over yet (``not_late_yet``: none but in the last
minute of the day) and lets the rule take out those not late yet.

May import: the standard library, ``amocrm.models`` and ``reports``. Pure: no I/O, no clock.
"""

from __future__ import annotations

import datetime
import math
from collections.abc import Callable
from collections.abc import Collection
from collections.abc import Iterable
from collections.abc import Mapping
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from leoweb_bot.amocrm.models import Task
from leoweb_bot.amocrm.models import User
from leoweb_bot.reports import ALL_DAY_AT
from leoweb_bot.reports import Count
from leoweb_bot.reports import OverdueReport
from leoweb_bot.reports import Tz
from leoweb_bot.reports import by_due
from leoweb_bot.reports import effective_due
from leoweb_bot.reports import is_overdue
from leoweb_bot.reports import late_before
from leoweb_bot.reports import local
from leoweb_bot.reports import next_midnight
from leoweb_bot.reports import overdue_summary
from leoweb_bot.reports import wall_time


class TaskSource(Protocol):
    """Open tasks with a deadline, in deadline order; ``start`` is inclusive, ``end`` not."""

    def counts(
        self, start: int | None, end: int, responsible_user_id: int | None = None
    ) -> dict[int, Count]:
        """Per manager: how many are due in the range, and the oldest deadline."""
        ...

    def tasks(
        self,
        start: int | None,
        end: int,
        responsible_user_id: int | None = None,
        *,
        offset: int = 0,
        limit: int = -1,
        skip: Collection[int] = (),
    ) -> list[Task]:
        """Those due in the range but the ``skip`` ids, a slice of them (``limit`` -1: all)."""
        ...


@dataclass(frozen=True)
class TaskPage:
    """One page of a list: ``tasks`` are those from position ``first``; ``page`` is in range."""

    total: int
    page: int
    size: int
    tasks: tuple[Task, ...]

    @property
    def first(self) -> int:
        return self.page * self.size

    @property
    def pages(self) -> int:
        return page_count(self.total, self.size)


@dataclass(frozen=True)
class MyTaskCounts:
    """A manager's own list: overdue first, then due later today (company time)."""

    overdue: int
    today: int
    shown: TaskPage


def page_count(total: int, size: int) -> int:
    """Pages of ``size`` that ``total`` items fill; an empty list is one (empty) page."""
    return max(1, math.ceil(total / size))


class ListSource:
    """A source over tasks amoCRM sent (every open task of the screen's scope)."""

    def __init__(self, tasks: Iterable[Task]) -> None:
        self.all = sorted(
            (t for t in tasks if not t.is_completed and t.complete_till is not None), key=by_due
        )

    def counts(
        self, start: int | None, end: int, responsible_user_id: int | None = None
    ) -> dict[int, Count]:
        found: dict[int, Count] = {}
        for task in self.tasks(start, end, responsible_user_id):
            n, oldest = found.get(task.responsible_user_id, (0, task.complete_till or 0))
            found[task.responsible_user_id] = (n + 1, oldest)  # deadline order: first is oldest
        return found

    def tasks(
        self,
        start: int | None,
        end: int,
        responsible_user_id: int | None = None,
        *,
        offset: int = 0,
        limit: int = -1,
        skip: Collection[int] = (),
    ) -> list[Task]:
        found = [
            t
            for t in self.all
            if (responsible_user_id is None or t.responsible_user_id == responsible_user_id)
            and (start is None or start <= (t.complete_till or 0))
            and (t.complete_till or 0) < end
            and t.id not in skip
        ]
        return found[offset:] if limit < 0 else found[offset : offset + limit]


def not_late_yet(
    source: TaskSource, now: int, tz: Tz, responsible_user_id: int | None = None
) -> list[Task]:
    """Tasks due before ``now`` that are not overdue: all-day ones whose day is not over.

    Such a task is due in the minute 23:59 of a company day that began at most ``SURELY_LATE``
    ago, a day whose midnight has not come; only those minutes are read, mostly none at all.
    """
    found = []
    for minute in last_minutes(late_before(now), now, tz):
        if minute < now <= effective_due(minute, tz):
            found += source.tasks(minute, min(minute + 60, now), responsible_user_id)
    return [t for t in found if not is_overdue(t, now, tz)]


def fell_due_since(since: int, now: int, tz: Tz) -> int:
    """The oldest deadline a task can have and still have turned overdue after ``since``:
    ``since`` itself, or the minute 23:59 of a day that ended after it (all-day tasks)."""
    minutes = last_minutes(late_before(since), now, tz)
    return min([since, *(m for m in minutes if effective_due(m, tz) >= since)])


def last_minutes(start: int, end: int, tz: Tz) -> list[int]:
    """The starts of the minutes 23:59 of the company days from ``start`` to ``end`` (both
    readings of a wall time the clocks pass twice)."""
    first, last = local(start, tz).date(), local(end, tz).date()
    days = [first + datetime.timedelta(days=n) for n in range((last - first).days + 1)]
    minutes = {wall_time(day, ALL_DAY_AT, tz, dst=dst) for day in days for dst in (True, False)}
    return sorted(minutes)


def overdue_report(
    source: TaskSource,
    users: Mapping[int, User],
    now: int,
    tz: Tz,
    responsible_user_id: int | None = None,
) -> OverdueReport:
    """Overdue tasks per manager now (of one manager with ``responsible_user_id``)."""
    counts = source.counts(None, now, responsible_user_id)
    waiting: dict[int, list[int]] = {}
    for task in not_late_yet(source, now, tz, responsible_user_id):
        waiting.setdefault(task.responsible_user_id, []).append(task.id)
    for uid, ids in waiting.items():
        n, _ = counts.pop(uid)
        if n > len(ids):
            (oldest,) = source.tasks(None, now, uid, limit=1, skip=ids)
            counts[uid] = (n - len(ids), oldest.complete_till or 0)
    return overdue_summary(counts, users, now, tz)


@dataclass(frozen=True)
class Run:
    """A run of one list's tasks: how many, and how to read a slice ``(offset, limit)``."""

    count: int
    read: Callable[[int, int], list[Task]]


def listed(tasks: Sequence[Task]) -> Run:
    return Run(len(tasks), lambda offset, limit: list(tasks[offset : offset + limit]))


def overdue_page(
    source: TaskSource, responsible_user_id: int, now: int, tz: Tz, page: int, size: int
) -> TaskPage:
    """One manager's overdue tasks, oldest deadline first, page ``page`` (clamped)."""
    waiting = [t.id for t in not_late_yet(source, now, tz, responsible_user_id)]
    return paged([_late(source, responsible_user_id, now, waiting)], page, size)


def my_tasks_page(
    source: TaskSource, responsible_user_id: int, now: int, tz: Tz, page: int, size: int
) -> MyTaskCounts:
    """A manager's overdue tasks, then those due later today, page ``page`` (clamped)."""
    uid = responsible_user_id
    tomorrow = next_midnight(now, tz)
    waiting = not_late_yet(source, now, tz, uid)
    late = _late(source, uid, now, [t.id for t in waiting])
    later = source.counts(now, tomorrow, uid).get(uid, (0, 0))[0]
    due_later = Run(later, lambda o, n: source.tasks(now, tomorrow, uid, offset=o, limit=n))
    shown = paged([late, listed(waiting), due_later], page, size)
    return MyTaskCounts(late.count, len(waiting) + later, shown)


def due_today(source: TaskSource, now: int, tz: Tz) -> dict[int, int]:
    """Per manager: open tasks due later today, with all-day ones whose day is not over."""
    counts = {uid: n for uid, (n, _) in source.counts(now, next_midnight(now, tz)).items()}
    for task in not_late_yet(source, now, tz):
        counts[task.responsible_user_id] = counts.get(task.responsible_user_id, 0) + 1
    return counts


def _late(source: TaskSource, uid: int, now: int, waiting: list[int]) -> Run:
    count = source.counts(None, now, uid).get(uid, (0, 0))[0] - len(waiting)
    return Run(count, lambda o, n: source.tasks(None, now, uid, offset=o, limit=n, skip=waiting))


def paged(runs: Sequence[Run], page: int, size: int) -> TaskPage:
    """Page ``page`` (clamped) of the runs one after the other, reading only what it shows."""
    total = sum(run.count for run in runs)
    page = min(max(page, 0), page_count(total, size) - 1)
    offset, shown = page * size, []
    for run in runs:
        if offset < run.count and len(shown) < size:
            shown += run.read(offset, size - len(shown))
        offset = max(0, offset - run.count)
    return TaskPage(total, page, size, tuple(shown))
