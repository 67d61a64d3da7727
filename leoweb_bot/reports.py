"""Pure reports: ``(tasks, users, now, tz) -> Report``. No I/O and no clock reads in here.

``now`` is always epoch seconds passed in by the caller. The original bot built "now" with
``time.mktime(almaty_now.timetuple())``, which shifts it by the server's UTC offset; comparing
epoch seconds makes every result independent of the server's ``TZ``.
"""

from __future__ import annotations

import datetime
from collections import defaultdict
from collections.abc import Iterable
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from leoweb_bot.amocrm.models import LOST_STATUS
from leoweb_bot.amocrm.models import WON_STATUS
from leoweb_bot.amocrm.models import Lead
from leoweb_bot.amocrm.models import Pipeline
from leoweb_bot.amocrm.models import Stage
from leoweb_bot.amocrm.models import Task
from leoweb_bot.amocrm.models import User
from leoweb_bot.ids import typed_id

Tz = datetime.tzinfo
# A deadline older than this is late whatever its time of day: an all-day one (23:59) is due at
# the next local midnight, a minute later, or up to three hours more when the clocks change at
# midnight (Antarctica/Casey moved 3 h in 2019; tests/test_reports.py checks every zone). Only
# younger deadlines need the all-day check, a timezone conversion each.
SURELY_LATE = 6 * 3600
ALL_DAY_AT = datetime.time(23, 59)  # the wall time amoCRM gives an all-day deadline


def local(ts: int, tz: Tz) -> datetime.datetime:
    """Epoch seconds as an aware datetime in company time (pytz-safe: goes through fromutc)."""
    return datetime.datetime.fromtimestamp(ts, tz)


def local_midnight(day: datetime.date, tz: Tz) -> int:
    """Epoch seconds of 00:00 company time on ``day``."""
    return wall_time(day, datetime.time(), tz)


def wall_time(day: datetime.date, at: datetime.time, tz: Tz, *, dst: bool = False) -> int:
    """Epoch seconds of the wall time ``at`` on ``day`` in company time; ``dst`` picks the
    reading of a wall time the clocks pass twice (or skip)."""
    naive = datetime.datetime.combine(day, at)
    localize = getattr(tz, "localize", None)  # pytz zones need localize(), not replace()
    aware = localize(naive, is_dst=dst) if localize else naive.replace(tzinfo=tz, fold=int(dst))
    return int(aware.timestamp())


def is_all_day(due: int, tz: Tz) -> bool:
    """amoCRM stores "all day" tasks at 23:59 local time (docs/amocrm.md#all-day-tasks)."""
    moment = local(due, tz)
    return (moment.hour, moment.minute) == (ALL_DAY_AT.hour, ALL_DAY_AT.minute)


def effective_due(due: int, tz: Tz) -> int:
    """When a task really becomes late: an all-day task only after the local midnight."""
    if is_all_day(due, tz):
        return local_midnight(local(due, tz).date() + datetime.timedelta(days=1), tz)
    return due


def is_overdue(task: Task, now: int, tz: Tz) -> bool:
    """The overdue rule, the only one: open and past its effective deadline.

    A deadline equal to ``now`` is not late yet, and an all-day task (23:59 company time) is
    late only once its local day is over (docs/amocrm.md#all-day-tasks).
    """
    if task.is_completed or task.complete_till is None:
        return False
    if task.complete_till < now - SURELY_LATE:
        return True  # an all-day deadline moves to the next midnight, hours later at most
    return effective_due(task.complete_till, tz) < now


def days_overdue(due: int, now: int, tz: Tz) -> int:
    """Whole calendar days between the deadline and today, both in company time."""
    return max(0, (local(now, tz).date() - local(due, tz).date()).days)


def user_name(users: Mapping[int, User], user_id: int) -> str:
    """The manager's name, or ``#<id>`` for a deleted or unknown user."""
    user = users.get(user_id)
    return user.name if user else f"#{user_id}"


def match_managers(query: str, users: Mapping[int, User]) -> list[User]:
    """The amoCRM users that ``/report <query>`` and ``report --manager <query>`` mean, by name.

    An id (``123`` or ``#123``) means that user if amoCRM has one, else nobody: an unknown id is
    "not found", like an unknown name, never a manager with nothing overdue. A name that
    matches exactly (any case) wins; else every name containing the query is a candidate.
    """
    wanted = " ".join(query.split()).casefold()
    if not wanted:
        return []
    user_id = typed_id(wanted)
    if user_id is not None:
        return [users[user_id]] if user_id in users else []
    exact = [u for u in users.values() if u.name.casefold() == wanted]
    return by_name(exact or [u for u in users.values() if wanted in u.name.casefold()])


def by_name(users: Iterable[User]) -> list[User]:
    return sorted(users, key=lambda u: (u.name.casefold(), u.id))


def sellers(users: Mapping[int, User]) -> set[int]:
    """The ids of active amoCRM users who are not account admins: the managers a report lists
    even with nothing to show (an admin is usually the director or the integrator)."""
    return {u.id for u in users.values() if u.is_active and not u.is_admin}


@dataclass(frozen=True)
class ManagerOverdue:
    amocrm_user_id: int
    name: str
    overdue: int
    oldest_due: int


@dataclass(frozen=True)
class OverdueReport:
    generated_at: datetime.datetime
    timezone: str
    managers: tuple[ManagerOverdue, ...]

    @property
    def total_overdue(self) -> int:
        return sum(m.overdue for m in self.managers)

    def manager(self, amocrm_user_id: int) -> ManagerOverdue | None:
        return next((m for m in self.managers if m.amocrm_user_id == amocrm_user_id), None)

    def to_json(self) -> dict[str, Any]:
        """The ``report --json`` contract (README.md, "Command line")."""
        tz = self.generated_at.tzinfo
        assert tz is not None
        return {
            "generated_at": self.generated_at.isoformat(),
            "timezone": self.timezone,
            "total_overdue": self.total_overdue,
            "managers": [
                {
                    "amocrm_user_id": m.amocrm_user_id,
                    "name": m.name,
                    "overdue": m.overdue,
                    "oldest_due": local(m.oldest_due, tz).isoformat(),
                }
                for m in self.managers
            ],
        }


Count = tuple[int, int]  # one manager's overdue tasks: how many, and the oldest deadline


def late_before(now: int) -> int:
    """Tasks due before this moment are late whatever their time of day (``SURELY_LATE``), so
    they can be counted in bulk (say in SQL); only later ones need :func:`is_overdue` one by one."""
    return now - SURELY_LATE


def count_overdue(tasks: Iterable[Task], now: int, tz: Tz) -> dict[int, Count]:
    """Per responsible manager, how many of ``tasks`` are overdue and the oldest deadline."""
    found: dict[int, Count] = {}
    for task in tasks:
        if is_overdue(task, now, tz):
            due = task.complete_till or 0
            n, oldest = found.get(task.responsible_user_id, (0, due))
            found[task.responsible_user_id] = (n + 1, min(oldest, due))
    return found


def overdue_summary(
    counts: Mapping[int, Count], users: Mapping[int, User], now: int, tz: Tz
) -> OverdueReport:
    """The report from per-manager counts: most overdue first, then by user id."""
    managers = [
        ManagerOverdue(uid, user_name(users, uid), n, oldest) for uid, (n, oldest) in counts.items()
    ]
    managers.sort(key=lambda m: (-m.overdue, m.amocrm_user_id))
    return OverdueReport(generated_at=local(now, tz), timezone=str(tz), managers=tuple(managers))


def overdue_by_manager(
    tasks: Iterable[Task], users: Mapping[int, User], now: int, tz: Tz
) -> OverdueReport:
    """Count each responsible manager's overdue tasks; most overdue first, then by user id."""
    return overdue_summary(count_overdue(tasks, now, tz), users, now, tz)


def by_due(task: Task) -> tuple[int, int]:
    return (task.complete_till or 0, task.id)


@dataclass(frozen=True)
class MyTasks:
    overdue: tuple[Task, ...]
    today: tuple[Task, ...]


def next_midnight(now: int, tz: Tz) -> int:
    """Epoch seconds of the coming 00:00 company time: where "due today" ends."""
    return local_midnight(local(now, tz).date() + datetime.timedelta(days=1), tz)


def my_tasks(tasks: Iterable[Task], now: int, tz: Tz) -> MyTasks:
    """Split one manager's open tasks into overdue and still due today (company time)."""
    tomorrow = next_midnight(now, tz)
    overdue, today = [], []
    for task in tasks:
        if task.is_completed or task.complete_till is None:
            continue
        if is_overdue(task, now, tz):
            overdue.append(task)
        elif task.complete_till < tomorrow:
            today.append(task)
    return MyTasks(
        overdue=tuple(sorted(overdue, key=by_due)), today=tuple(sorted(today, key=by_due))
    )


@dataclass(frozen=True)
class ScoreRow:
    """One manager's line of the team scorecard (``/team``) and of the daily history."""

    amocrm_user_id: int
    name: str
    overdue: int
    due_today: int
    closed_today: int
    idle_leads: int  # open leads without a next task

    @property
    def numbers(self) -> tuple[int, int, int, int]:
        return (self.overdue, self.due_today, self.closed_today, self.idle_leads)


def leads_without_task(open_tasks: Iterable[Task], leads: Iterable[Lead]) -> list[Lead]:
    """Open leads (neither won nor lost) with no open task attached, by id: amoCRM's classic
    sign of a forgotten client."""
    followed = {t.entity_id for t in open_tasks if not t.is_completed and t.entity_type == "leads"}
    return sorted((x for x in leads if x.is_open and x.id not in followed), key=lambda x: x.id)


def team_scorecard(
    tasks: Iterable[Task], leads: Iterable[Lead], users: Mapping[int, User], now: int, tz: Tz
) -> tuple[ScoreRow, ...]:
    """Per manager: overdue now, due later today, closed today and open leads without a task.

    ``tasks`` are the open tasks (all of them, or leads look forgotten) and the tasks completed
    today; a completed task counts as closed today when its ``updated_at`` is today in company
    time (amoCRM keeps no completion time). Every seller has a row, zeros included, and so does
    anyone else with a number; by name.
    """
    tasks = list(tasks)
    open_by_manager: dict[int, list[Task]] = defaultdict(list)
    for task in tasks:
        if not task.is_completed:
            open_by_manager[task.responsible_user_id].append(task)
    idle: dict[int, int] = defaultdict(int)
    for lead in leads_without_task(tasks, leads):
        idle[lead.responsible_user_id] += 1
    mine = {uid: my_tasks(own, now, tz) for uid, own in open_by_manager.items()}
    overdue = {uid: len(m.overdue) for uid, m in mine.items() if m.overdue}
    due_today = {uid: len(m.today) for uid, m in mine.items() if m.today}
    return scorecard(Scores(overdue, due_today, closed_today(tasks, now, tz), idle), users)


def closed_today(tasks: Iterable[Task], now: int, tz: Tz) -> dict[int, int]:
    """Per manager: tasks completed today in company time, by their ``updated_at`` (amoCRM keeps
    no completion time)."""
    today = local_midnight(local(now, tz).date(), tz)
    closed: dict[int, int] = defaultdict(int)
    for task in tasks:
        if task.is_completed and (task.updated_at or 0) >= today:
            closed[task.responsible_user_id] += 1
    return dict(closed)


@dataclass(frozen=True)
class Scores:
    """The scorecard's numbers per manager (a manager with none need not be there)."""

    overdue: Mapping[int, int]
    due_today: Mapping[int, int]
    closed_today: Mapping[int, int]
    idle_leads: Mapping[int, int]


def scorecard(scores: Scores, users: Mapping[int, User]) -> tuple[ScoreRow, ...]:
    """A row for every seller, zeros included, and for anyone else with a number; by name."""
    columns = (scores.overdue, scores.due_today, scores.closed_today, scores.idle_leads)
    counted = {uid for column in columns for uid, n in column.items() if n}
    rows = [
        ScoreRow(uid, user_name(users, uid), *(column.get(uid, 0) for column in columns))
        for uid in sellers(users) | counted
    ]
    return tuple(sorted(rows, key=lambda r: (r.name.casefold(), r.amocrm_user_id)))


def month_start(now: int, tz: Tz) -> int:
    """Epoch seconds of the first day of the current month, 00:00 company time."""
    return local_midnight(local(now, tz).date().replace(day=1), tz)


@dataclass(frozen=True)
class StageCount:
    stage: Stage
    count: int
    amount: int


@dataclass(frozen=True)
class PipelineFunnel:
    pipeline: Pipeline
    stages: tuple[StageCount, ...]
    won: int
    won_amount: int
    lost: int

    @property
    def open_leads(self) -> int:
        return sum(s.count for s in self.stages)


@dataclass(frozen=True)
class Funnel:
    generated_at: datetime.datetime
    pipelines: tuple[PipelineFunnel, ...]


StageKey = tuple[int, int]  # (pipeline id, stage id)


def stage_counts(leads: Iterable[Lead], since: int, now: int) -> dict[StageKey, tuple[int, int]]:
    """Per stage: the leads open now or closed from ``since`` to ``now``, and their amount (the
    mirror counts the same in SQL: ``state.mirror.Mirror.stage_counts``)."""
    counts: dict[StageKey, tuple[int, int]] = {}
    for lead in leads:
        closed_in_time = lead.closed_at is not None and since <= lead.closed_at <= now
        if lead.is_open or closed_in_time:
            n, amount = counts.get((lead.pipeline_id, lead.status_id), (0, 0))
            counts[(lead.pipeline_id, lead.status_id)] = (n + 1, amount + lead.price)
    return counts


def funnel(leads: Iterable[Lead], pipelines: Iterable[Pipeline], now: int, tz: Tz) -> Funnel:
    """Open leads per stage for each active pipeline, plus won and lost since the month began."""
    return funnel_of(stage_counts(leads, month_start(now, tz), now), pipelines, now, tz)


def funnel_of(
    counts: Mapping[StageKey, tuple[int, int]], pipelines: Iterable[Pipeline], now: int, tz: Tz
) -> Funnel:
    """The funnel from :func:`stage_counts` of this month (``month_start``)."""
    result = []
    for pipeline in pipelines:
        if pipeline.is_archive:
            continue
        stages = tuple(
            StageCount(stage, *counts.get((pipeline.id, stage.id), (0, 0)))
            for stage in pipeline.stages
            if stage.id not in (WON_STATUS, LOST_STATUS)
        )
        won, won_amount = counts.get((pipeline.id, WON_STATUS), (0, 0))
        lost, _ = counts.get((pipeline.id, LOST_STATUS), (0, 0))
        result.append(PipelineFunnel(pipeline, stages, won, won_amount, lost))
    return Funnel(generated_at=local(now, tz), pipelines=tuple(result))
