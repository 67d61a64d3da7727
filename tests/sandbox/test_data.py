"""The sandbox's demo data: deterministic per seed, like the agency, deadlines clear of now."""

from __future__ import annotations

import re
from collections import Counter
from datetime import datetime

from hypothesis import example
from hypothesis import given
from hypothesis import settings
from hypothesis import strategies as st

from leoweb_bot.sandbox import generate
from leoweb_bot.sandbox.catalog import DELETED_USER_ID
from leoweb_bot.sandbox.schedule import NOW_GAP
from leoweb_bot.sandbox.schedule import overdue_target
from tests.sandbox.kit import ALMATY
from tests.sandbox.kit import NOW

MIDNIGHT = int(ALMATY.localize(datetime(2026, 11, 26)).timestamp())
MANAGERS = ["Зелимхан", "Милана", "Сарбиназ", "Айгерим", "Данияр", "Асель", "Нурлан", "Камила"]


def test_generate_is_deterministic_for_a_seed() -> None:
    first = generate(seed=7, tasks=120, managers=10, now=NOW)
    assert first == generate(seed=7, tasks=120, managers=10, now=NOW)
    assert first.tasks != generate(seed=8, tasks=120, managers=10, now=NOW).tasks


@settings(max_examples=40, deadline=None)
@given(
    tasks=st.integers(0, 400),
    now=st.integers(1_700_000_000, 1_900_000_000),
    seed=st.integers(0, 10_000),
)
@example(tasks=300, now=MIDNIGHT + 600, seed=1)  # just after midnight: yesterday's 23:59 is near
@example(tasks=300, now=MIDNIGHT - 600, seed=1)  # just before: today's 23:59 is near
@example(tasks=10, now=NOW, seed=1)  # 2.5 overdue rounds up to 3
def test_a_quarter_of_open_tasks_is_overdue_and_none_is_due_near_now(
    tasks: int, now: int, seed: int
) -> None:
    data = generate(seed=seed, tasks=tasks, now=now)
    open_tasks = [t for t in data.tasks if not t["is_completed"]]
    assert len(open_tasks) == tasks
    overdue = sum(t["complete_till"] < now for t in open_tasks)
    assert overdue == overdue_target(tasks) == int(tasks / 4 + 0.5)
    assert all(abs(t["complete_till"] - now) > NOW_GAP for t in data.tasks)


def test_demo_looks_like_the_agency() -> None:
    data = generate(tasks=300, now=NOW)
    names = [u["name"] for u in data.users]
    assert names == ["Администратор", *MANAGERS]
    assert data.account["current_user_id"] == data.users[0]["id"]
    assert data.users[0]["rights"]["is_admin"]
    ids = [t["id"] for t in data.tasks]
    assert ids == list(range(5000001, 5000001 + len(ids)))
    deadlines = [t["complete_till"] for t in data.tasks]
    assert deadlines != sorted(deadlines)
    assert 300 < len(data.tasks) <= 330
    owners = {t["responsible_user_id"] for t in data.tasks}
    assert DELETED_USER_ID in owners and DELETED_USER_ID not in {u["id"] for u in data.users}
    all_day = [
        d for d in deadlines if datetime.fromtimestamp(d, ALMATY).strftime("%H:%M") == "23:59"
    ]
    assert 0.04 < len(all_day) / len(deadlines) < 0.16
    assert {t["entity_type"] for t in data.tasks} == {"leads", "contacts", None}
    assert all(t["result"] == [] for t in data.tasks if not t["is_completed"])
    assert all(t["result"]["text"] for t in data.tasks if t["is_completed"])


def test_overdue_tasks_rank_managers_clearly_and_the_oldest_is_weeks_old() -> None:
    data = generate(tasks=300, now=NOW)
    overdue = [t for t in data.tasks if not t["is_completed"] and t["complete_till"] < NOW]
    counts = sorted(Counter(t["responsible_user_id"] for t in overdue).values(), reverse=True)
    assert counts[0] >= 3 * counts[-1]
    assert NOW - min(t["complete_till"] for t in overdue) > 14 * 86400


def test_leads_contacts_and_pipelines_are_realistic() -> None:
    data = generate(tasks=60, now=NOW)
    assert len(data.leads) == 30
    for pipeline in data.pipelines:
        statuses = pipeline["_embedded"]["statuses"]
        assert {142, 143} <= {s["id"] for s in statuses}
        assert [s["type"] for s in statuses].count(1) == 1
    main = next(p for p in data.pipelines if p["is_main"])
    stage_names = [s["name"] for s in main["_embedded"]["statuses"]]
    assert stage_names[1:6] == [
        "Первичный контакт",
        "50%",
        "Рано обратившиеся",
        "Недозвон",
        "Условный отказ",
    ]
    for lead in data.leads:
        assert (lead["closed_at"] is not None) == (lead["status_id"] in (142, 143))
    for contact in data.contacts:
        phone, email = (f["values"][0]["value"] for f in contact["custom_fields_values"])
        assert re.fullmatch(r"\+7 7\d\d \d{3} \d\d \d\d", phone)
        assert re.fullmatch(r"[a-z.]+\d*@[a-z.]+", email)
