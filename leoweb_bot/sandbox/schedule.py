"""Demo tasks: who owns them and when they are due, in company time.

The shape of the result is what the overdue report needs to be tested against: exactly a
quarter of the open tasks overdue, spread unevenly over the managers (a clear ranking), the
oldest weeks old, none due within ``NOW_GAP`` of ``now``, and ids shuffled against deadlines.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from datetime import datetime
from datetime import timedelta
from typing import Any

import pytz

from leoweb_bot.sandbox import catalog

Json = dict[str, Any]

NOW_GAP = 1800
_DAY = 86400
# A raw deadline at least this far from now stays outside NOW_GAP after flooring to 5 minutes.
_MIN_OFFSET = NOW_GAP + 301
_ALL_DAY_SHARE = 0.1
_TZ = pytz.timezone(catalog.TIMEZONE)


def overdue_target(open_tasks: int) -> int:
    """How many of ``open_tasks`` the demo makes overdue: a quarter, rounded half up."""
    return (open_tasks + 2) // 4


def closest_task_at(tasks: Sequence[Json], entity_type: str, entity_id: int) -> int | None:
    """Earliest deadline of the entity's open tasks (the v4 ``closest_task_at`` field)."""
    deadlines = [
        t["complete_till"]
        for t in tasks
        if t["entity_id"] == entity_id and t["entity_type"] == entity_type and not t["is_completed"]
    ]
    return min(deadlines, default=None)


class Calendar:
    """Company-time arithmetic around a fixed ``now``.

    Asia/Almaty has no daylight saving; its one recent change (UTC+6 → UTC+5 on 2024-03-01)
    happened at midnight, so "midnight + hours" is exact once midnight comes from pytz.
    """

    def __init__(self, now: int) -> None:
        self.now = now
        self.today = datetime.fromtimestamp(now, _TZ).date()
        self._midnights: dict[int, int] = {}

    def at(self, day_offset: int, hour: int, minute: int) -> int:
        if day_offset not in self._midnights:
            day = self.today + timedelta(days=day_offset)
            local = _TZ.localize(datetime(day.year, day.month, day.day))
            self._midnights[day_offset] = int(local.timestamp())
        return self._midnights[day_offset] + hour * 3600 + minute * 60

    def day_offset(self, moment: int) -> int:
        return (moment - self.at(0, 0, 0)) // _DAY

    def month_start(self) -> int:
        return self.at(1 - self.today.day, 0, 0)


def make_tasks(
    rng: random.Random,
    calendar: Calendar,
    manager_ids: list[int],
    leads: list[Json],
    contacts: list[Json],
    open_count: int,
) -> list[Json]:
    overdue = overdue_target(open_count)
    future = open_count - overdue
    done = (open_count + 5) // 10
    plan = [
        (owner, _deadline(rng, calendar, calendar.now - _overdue_age(rng, i)), False)
        for i, owner in enumerate(_ranked_owners(rng, manager_ids, overdue))
    ]
    plan += [
        (owner, _deadline(rng, calendar, _future_moment(rng, calendar)), False)
        for owner in _spread_owners(rng, manager_ids, future)
    ]
    plan += [
        (owner, _deadline(rng, calendar, _done_moment(rng, calendar)), True)
        for owner in _spread_owners(rng, manager_ids, done)
    ]
    rng.shuffle(plan)  # ids must not follow deadlines, or a client that forgets to sort passes
    attach = _Attacher(rng, leads, contacts)
    creators = [catalog.ADMIN_ID, *manager_ids]
    return [
        _task(rng, catalog.FIRST_TASK_ID + i, owner, deadline, is_done, attach, creators, calendar)
        for i, (owner, deadline, is_done) in enumerate(plan)
    ]


def _deleted_share(count: int) -> int:
    return (count + 50) // 100


def _ranked_owners(rng: random.Random, manager_ids: list[int], count: int) -> list[int]:
    """Owners of the overdue tasks: geometric shares over a seed-shuffled ranking of managers."""
    ranking = manager_ids[:]
    rng.shuffle(ranking)
    deleted = _deleted_share(count)
    shares = _apportion(count - deleted, [0.7**rank for rank in range(len(ranking))])
    owners = [catalog.DELETED_USER_ID] * deleted
    for manager_id, share in zip(ranking, shares, strict=True):
        owners += [manager_id] * share
    rng.shuffle(owners)
    return owners


def _spread_owners(rng: random.Random, manager_ids: list[int], count: int) -> list[int]:
    deleted = _deleted_share(count)
    return [catalog.DELETED_USER_ID] * deleted + [
        rng.choice(manager_ids) for _ in range(count - deleted)
    ]


def _apportion(total: int, weights: list[float]) -> list[int]:
    """Split ``total`` in proportion to ``weights`` (largest remainder), summing exactly."""
    exact = [w * total / sum(weights) for w in weights]
    counts = [int(x) for x in exact]
    by_remainder = sorted(range(len(exact)), key=lambda i: (counts[i] - exact[i], i))
    for i in by_remainder[: total - sum(counts)]:
        counts[i] += 1
    return counts


def _overdue_age(rng: random.Random, index: int) -> int:
    if index == 0:  # the oldest overdue task is weeks old
        return rng.randint(21 * _DAY, 35 * _DAY)
    return _MIN_OFFSET + min(int(rng.expovariate(1 / (3 * _DAY))), 20 * _DAY)


def _future_moment(rng: random.Random, calendar: Calendar) -> int:
    """About a third due later today (when today has room left), the rest in the next 30 days."""
    end_of_today = calendar.at(0, 23, 55)
    earliest = calendar.now + _MIN_OFFSET
    if rng.random() < 0.35 and end_of_today - earliest > 600:
        return rng.randint(earliest, end_of_today)
    return calendar.at(rng.randint(1, 30), rng.randint(9, 18), rng.choice((0, 15, 30, 45)))


def _done_moment(rng: random.Random, calendar: Calendar) -> int:
    """Completed tasks were mostly due in the past month; some were closed ahead of time."""
    if rng.random() < 0.9:
        return calendar.now - rng.randint(_MIN_OFFSET, 30 * _DAY)
    return calendar.now + rng.randint(_MIN_OFFSET, 7 * _DAY)


def _deadline(rng: random.Random, calendar: Calendar, moment: int) -> int:
    """Snap a raw deadline: ~10 % become "all day" (23:59 company time), the rest 5-minute marks.

    The 23:59 convention is from the legacy task docs; that it is local time is UNCONFIRMED
    (docs/amocrm.md#all-day-tasks), but it is what the amoCRM UI does for an account's users.
    """
    if rng.random() >= _ALL_DAY_SHARE:
        return moment - moment % 300
    offset = calendar.day_offset(moment)
    step = -1 if moment < calendar.now else 1
    deadline = calendar.at(offset, 23, 59)
    while abs(deadline - calendar.now) <= NOW_GAP or (deadline < calendar.now) != (step < 0):
        offset += step
        deadline = calendar.at(offset, 23, 59)
    return deadline


class _Attacher:
    """Picks what a task is attached to: mostly the owner's leads, some contacts, a few nothing."""

    def __init__(self, rng: random.Random, leads: list[Json], contacts: list[Json]) -> None:
        self._rng = rng
        self._leads = _by_owner(leads)
        self._contacts = _by_owner(contacts)
        self._all = {"leads": leads, "contacts": contacts}

    def pick(self, owner: int) -> tuple[str | None, int | None]:
        roll = self._rng.random()
        if roll < 0.05:
            return None, None  # a task may be attached to nothing (docs/amocrm.md#tasks)
        kind = "contacts" if roll < 0.15 else "leads"
        pool = (self._contacts if kind == "contacts" else self._leads).get(owner) or self._all[kind]
        return kind, self._rng.choice(pool)["id"]


def _by_owner(entities: list[Json]) -> dict[int, list[Json]]:
    grouped: dict[int, list[Json]] = {}
    for entity in entities:
        grouped.setdefault(entity["responsible_user_id"], []).append(entity)
    return grouped


def _task(
    rng: random.Random,
    task_id: int,
    owner: int,
    deadline: int,
    is_done: bool,
    attach: _Attacher,
    creators: list[int],
    calendar: Calendar,
) -> Json:
    text, type_id, duration = rng.choice(catalog.TASK_KINDS)
    entity_type, entity_id = attach.pick(owner)
    created = min(deadline, calendar.now) - rng.randint(3600, 7 * _DAY)
    creator = rng.choice(creators)
    return {
        "id": task_id,
        "created_by": creator,
        "updated_by": owner if is_done else creator,
        "created_at": created,
        "updated_at": rng.randint(created + 60, calendar.now) if is_done else created,
        "responsible_user_id": owner,
        "group_id": 0,
        "entity_id": entity_id,
        "entity_type": entity_type,
        "duration": duration,
        "is_completed": is_done,
        "task_type_id": type_id,
        "text": text,
        # v4 lists show [] on an open task and {"text": ...} on a completed one
        # (docs/amocrm.md#tasks).
        "result": {"text": rng.choice(catalog.TASK_RESULTS)} if is_done else [],
        "complete_till": deadline,
        "account_id": catalog.ACCOUNT_ID,
    }
