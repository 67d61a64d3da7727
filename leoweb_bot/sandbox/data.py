"""Deterministic demo data for the sandbox, stored in the API v4 JSON shape.

``generate`` is a pure function of ``(seed, tasks, managers, now)``. What tests may rely on:

* ``tasks`` open tasks, exactly ``schedule.overdue_target(tasks)`` (25 %, rounded half up) of them overdue,
  plus about 10 % extra completed tasks;
* no deadline lies within ``NOW_GAP`` (30 min) of ``now`` either side, so counts stay stable
  while a test clock moves a little;
* about 10 % of deadlines are "all day": 23:59 company time (docs/amocrm.md#all-day-tasks);
* task ids start at ``FIRST_TASK_ID`` and are shuffled against deadlines, so sorting matters;
* about 1 % of tasks belong to ``DELETED_USER_ID``, a user missing from ``users``.

``_links`` are not stored: they hold the server's address and are added when serving.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from leoweb_bot.sandbox import catalog
from leoweb_bot.sandbox.catalog import ACCOUNT_ID
from leoweb_bot.sandbox.catalog import ADMIN_ID
from leoweb_bot.sandbox.schedule import Calendar
from leoweb_bot.sandbox.schedule import make_tasks

Json = dict[str, Any]

_DAY = 86400
_ACCOUNT_CREATED_AT = 1514764800  # 2018-01-01, long before any realistic `now`


@dataclass
class DemoData:
    seed: int
    now: int
    account: Json
    users: list[Json]
    pipelines: list[Json]
    leads: list[Json]
    contacts: list[Json]
    tasks: list[Json]


def generate(*, seed: int = 1, tasks: int = 300, managers: int = 8, now: int) -> DemoData:
    if tasks < 0 or managers < 1:
        raise ValueError("need tasks >= 0 and managers >= 1")
    rng = random.Random(seed)
    calendar = Calendar(now)
    users = _users(rng, managers)
    manager_ids = [u["id"] for u in users if u["id"] != ADMIN_ID]
    pipelines = _pipelines()
    leads, contacts = _leads_and_contacts(
        rng, calendar, pipelines, manager_ids, max(30, tasks // 3)
    )
    task_list = make_tasks(rng, calendar, manager_ids, leads, contacts, tasks)
    _set_closest_task_at(task_list, "leads", leads)
    _set_closest_task_at(task_list, "contacts", contacts)
    return DemoData(seed, now, _account(), users, pipelines, leads, contacts, task_list)


def _set_closest_task_at(tasks: Sequence[Json], entity_type: str, entities: list[Json]) -> None:
    nearest: dict[int, int] = {}
    for task in tasks:
        if task["entity_type"] == entity_type and not task["is_completed"]:
            due, entity_id = task["complete_till"], task["entity_id"]
            nearest[entity_id] = min(nearest.get(entity_id, due), due)
    for entity in entities:
        entity["closest_task_at"] = nearest.get(entity["id"])


def _account() -> Json:
    return {
        "id": ACCOUNT_ID,
        "name": "Leo Group Services",
        "subdomain": "leogroup",
        "created_at": _ACCOUNT_CREATED_AT,
        "created_by": ADMIN_ID,
        "updated_at": _ACCOUNT_CREATED_AT,
        "updated_by": ADMIN_ID,
        "current_user_id": ADMIN_ID,
        "country": "KZ",
        "currency": "KZT",
        "currency_symbol": "₸",
        "customers_mode": "disabled",
        "is_unsorted_on": True,
        "is_loss_reason_enabled": True,
        "is_helpbot_enabled": False,
        "is_technical_account": False,
        "contact_name_display_order": 1,
    }


def _users(rng: random.Random, managers: int) -> list[Json]:
    names = list(catalog.MANAGER_NAMES[:managers])
    if managers > len(names):
        pool = [f"{first} {last}" for first in catalog.MALE_NAMES for last in catalog.SURNAMES]
        pool += [f"{first} {last}а" for first in catalog.FEMALE_NAMES for last in catalog.SURNAMES]
        rng.shuffle(pool)
        names += pool[: managers - len(names)]
        names += [f"Менеджер {n}" for n in range(len(names) + 1, managers + 1)]
    users = [_user(ADMIN_ID, "Администратор", "director@leogroup.kz", is_admin=True)]
    for index, name in enumerate(names):
        email = ".".join(catalog.latin(part) for part in name.split()) + "@leogroup.kz"
        users.append(_user(catalog.FIRST_MANAGER_ID + index, name, email, is_admin=False))
    return users


def _user(user_id: int, name: str, email: str, *, is_admin: bool) -> Json:
    rights = {"is_admin": is_admin, "is_free": False, "is_active": True, "group_id": None}
    return {"id": user_id, "name": name, "email": email, "lang": "ru", "rights": rights}


def _pipelines() -> list[Json]:
    return [
        _pipeline(catalog.SALES_PIPELINE_ID, "Продажи", 1, catalog.SALES_STAGES),
        _pipeline(catalog.REPEAT_PIPELINE_ID, "Повторные продажи", 2, catalog.REPEAT_STAGES),
    ]


def _pipeline(
    pipeline_id: int, name: str, number: int, stages: Sequence[tuple[str, str, int]]
) -> Json:
    statuses = [
        _status(
            pipeline_id, 40000000 + number * 100 + i, stage_name, i * 10, color, unsorted=i == 1
        )
        for i, (stage_name, color, _share) in enumerate(stages, start=1)
    ]
    # Won/lost exist in every pipeline with the same ids (docs/amocrm.md#leads-contacts-pipelines),
    # sorted last.
    for sort, (status_id, stage_name, color, _share) in enumerate(
        (catalog.WON_STAGE, catalog.LOST_STAGE), start=10
    ):
        statuses.append(_status(pipeline_id, status_id, stage_name, sort * 1000, color))
    return {
        "id": pipeline_id,
        "name": name,
        "sort": number,
        "is_main": number == 1,
        "is_unsorted_on": True,
        "is_archive": False,
        "account_id": ACCOUNT_ID,
        "_embedded": {"statuses": statuses},
    }


def _status(
    pipeline_id: int, status_id: int, name: str, sort: int, color: str, *, unsorted: bool = False
) -> Json:
    return {
        "id": status_id,
        "name": name,
        "sort": sort,
        # Only ordinary working stages can be renamed; unsorted, won and lost are system ones.
        "is_editable": status_id not in (catalog.WON_STATUS, catalog.LOST_STATUS) and not unsorted,
        "pipeline_id": pipeline_id,
        "color": color,
        "type": 1 if unsorted else 0,  # 1 = "unsorted" (docs/amocrm.md#leads-contacts-pipelines)
        "account_id": ACCOUNT_ID,
    }


def _stage_choices(pipelines: list[Json]) -> tuple[list[tuple[int, int]], list[int]]:
    """(pipeline_id, status_id) pairs with weights: 80 % of leads in the main pipeline."""
    pairs: list[tuple[int, int]] = []
    weights: list[int] = []
    share = {catalog.SALES_PIPELINE_ID: 4, catalog.REPEAT_PIPELINE_ID: 1}
    for pipeline, stages in zip(
        pipelines, (catalog.SALES_STAGES, catalog.REPEAT_STAGES), strict=True
    ):
        stage_shares = [s[2] for s in stages] + [catalog.WON_STAGE[3], catalog.LOST_STAGE[3]]
        for status, weight in zip(pipeline["_embedded"]["statuses"], stage_shares, strict=True):
            pairs.append((pipeline["id"], status["id"]))
            weights.append(weight * share[pipeline["id"]])
    return pairs, weights


def _leads_and_contacts(
    rng: random.Random,
    calendar: Calendar,
    pipelines: list[Json],
    manager_ids: list[int],
    count: int,
) -> tuple[list[Json], list[Json]]:
    """Each lead has its own main contact (the student) and, a quarter of the time, a parent."""
    pairs, weights = _stage_choices(pipelines)
    leads: list[Json] = []
    contacts: list[Json] = []
    for index in range(count):
        owner = rng.choice(manager_ids)
        created = calendar.now - rng.randint(_DAY, 180 * _DAY)
        people = [_contact(rng, catalog.FIRST_CONTACT_ID + len(contacts), owner, created)]
        if rng.random() < 0.25:
            people.append(_contact(rng, people[0]["id"] + 1, owner, created))
        contacts += people
        stage = rng.choices(pairs, weights)[0]
        leads.append(_lead(rng, calendar, catalog.FIRST_LEAD_ID + index, stage, people))
    return leads, contacts


def _lead(
    rng: random.Random, calendar: Calendar, lead_id: int, stage: tuple[int, int], people: list[Json]
) -> Json:
    pipeline_id, status_id = stage
    owner, created = people[0]["responsible_user_id"], people[0]["created_at"]
    is_closed = status_id in (catalog.WON_STATUS, catalog.LOST_STATUS)
    closed = _closed_at(rng, calendar, created) if is_closed else None
    name = rng.choice(catalog.PROGRAMMES)
    if rng.random() < 0.7:
        name += f" — {people[0]['first_name']} {people[0]['last_name'][0]}."
    return {
        "id": lead_id,
        "name": name,
        "price": rng.randrange(450_000, 9_000_000, 10_000),  # KZT
        "responsible_user_id": owner,
        "group_id": 0,
        "status_id": status_id,
        "pipeline_id": pipeline_id,
        "loss_reason_id": None,
        "created_by": owner,
        "updated_by": owner,
        "created_at": created,
        "updated_at": closed or rng.randint(created, calendar.now),
        "closed_at": closed,
        "closest_task_at": None,
        "is_deleted": False,
        "custom_fields_values": None,
        "score": None,
        "account_id": ACCOUNT_ID,
        "_embedded": {
            "tags": [],
            "companies": [],
            "contacts": [{"id": p["id"], "is_main": i == 0} for i, p in enumerate(people)],
        },
    }


def _closed_at(rng: random.Random, calendar: Calendar, created: int) -> int:
    """Half of the closed leads close this month (company time), the rest any time earlier."""
    latest = calendar.now - 3600
    month_start = calendar.month_start()
    if rng.random() < 0.5 and month_start < latest:
        return rng.randint(max(created, month_start), latest)
    return rng.randint(created, latest)


def _contact(rng: random.Random, contact_id: int, owner: int, created: int) -> Json:
    female = rng.random() < 0.6
    first = rng.choice(catalog.FEMALE_NAMES if female else catalog.MALE_NAMES)
    last = rng.choice(catalog.SURNAMES) + ("а" if female else "")
    digits = f"{rng.randrange(10_000_000):07d}"
    phone = f"+7 {rng.choice(catalog.PHONE_CODES)} {digits[:3]} {digits[3:5]} {digits[5:]}"
    email = f"{catalog.latin(first)}.{catalog.latin(last)}{contact_id % 100}@" + rng.choice(
        catalog.EMAIL_DOMAINS
    )
    return {
        "id": contact_id,
        "name": f"{first} {last}",
        "first_name": first,
        "last_name": last,
        "responsible_user_id": owner,
        "group_id": 0,
        "created_by": owner,
        "updated_by": owner,
        "created_at": created,
        "updated_at": created,
        "closest_task_at": None,
        "is_deleted": False,
        "is_unsorted": False,
        "custom_fields_values": [
            _multitext(catalog.PHONE_FIELD_ID, "Телефон", "PHONE", phone, 901001),
            _multitext(catalog.EMAIL_FIELD_ID, "Email", "EMAIL", email, 901011),
        ],
        "account_id": ACCOUNT_ID,
        "_embedded": {"tags": [], "companies": []},
    }


def _multitext(field_id: int, name: str, code: str, value: str, enum_id: int) -> Json:
    return {
        "field_id": field_id,
        "field_name": name,
        "field_code": code,
        "field_type": "multitext",
        "values": [{"value": value, "enum_id": enum_id, "enum_code": "WORK"}],
    }
