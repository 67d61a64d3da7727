"""Reports are pure: every case passes `now` and a timezone in explicitly."""

from __future__ import annotations

import datetime

import pytest
import pytz
from hypothesis import given
from hypothesis import strategies as st

from leoweb_bot.amocrm.models import Lead
from leoweb_bot.amocrm.models import Pipeline
from leoweb_bot.amocrm.models import Stage
from leoweb_bot.amocrm.models import Task
from leoweb_bot.amocrm.models import User
from leoweb_bot.reports import SURELY_LATE
from leoweb_bot.reports import days_overdue
from leoweb_bot.reports import effective_due
from leoweb_bot.reports import funnel
from leoweb_bot.reports import is_overdue
from leoweb_bot.reports import match_managers
from leoweb_bot.reports import month_start
from leoweb_bot.reports import my_tasks
from leoweb_bot.reports import overdue_by_manager

ALMATY = pytz.timezone("Asia/Almaty")
USERS = {1: User(1, "Зелимхан"), 2: User(2, "Милана")}


def at(*args: int, tz: datetime.tzinfo = ALMATY) -> int:
    return int(tz.localize(datetime.datetime(*args)).timestamp())  # type: ignore[attr-defined]


def task(id: int, due: int | None, user: int = 1, done: bool = False) -> Task:
    return Task(
        id=id, text=f"t{id}", responsible_user_id=user, complete_till=due, is_completed=done
    )


NOW = at(2026, 11, 25, 14, 5)


def test_due_equal_to_now_is_not_overdue() -> None:
    report = overdue_by_manager([task(1, NOW)], USERS, NOW, ALMATY)
    assert report.total_overdue == 0
    assert overdue_by_manager([task(1, NOW - 1)], USERS, NOW, ALMATY).total_overdue == 1


def test_completed_and_undated_tasks_never_count() -> None:
    tasks = [task(1, NOW - 3600, done=True), task(2, None), task(3, NOW - 60)]
    report = overdue_by_manager(tasks, USERS, NOW, ALMATY)
    assert report.total_overdue == 1
    assert (report.managers[0].amocrm_user_id, report.managers[0].oldest_due) == (1, NOW - 60)


def test_unknown_user_is_shown_by_id() -> None:
    report = overdue_by_manager([task(1, NOW - 60, user=999001)], USERS, NOW, ALMATY)
    assert report.to_json()["managers"][0]["name"] == "#999001"


@pytest.mark.parametrize(
    ("due", "done", "overdue"),
    [
        (NOW - 1, False, True),
        (NOW, False, False),  # due == now is not overdue yet
        (NOW + 1, False, False),
        (NOW - 86400, True, False),  # completed tasks never are
        (None, False, False),  # no deadline, never overdue
    ],
)
def test_overdue_means_open_and_due_strictly_before_now(
    due: int | None, done: bool, overdue: bool
) -> None:
    assert is_overdue(task(1, due, done=done), NOW, ALMATY) is overdue


def test_all_day_task_is_overdue_only_after_local_midnight() -> None:
    all_day = task(1, at(2026, 11, 24, 23, 59))
    assert not is_overdue(all_day, at(2026, 11, 24, 23, 59, 30), ALMATY)
    assert not is_overdue(all_day, at(2026, 11, 25, 0, 0), ALMATY)
    assert is_overdue(all_day, at(2026, 11, 25, 0, 0, 1), ALMATY)
    # a 23:58 deadline is an ordinary one
    assert is_overdue(task(2, at(2026, 11, 24, 23, 58)), at(2026, 11, 24, 23, 59), ALMATY)


def test_sorted_by_count_then_user_id_with_oldest_due() -> None:
    tasks = [
        task(1, NOW - 100, user=2),
        task(2, NOW - 5000, user=2),
        task(3, NOW - 10, user=1),
        task(4, NOW - 10, user=3),
        task(5, NOW - 9, user=3),
    ]
    payload = overdue_by_manager(tasks, USERS, NOW, ALMATY).to_json()
    assert [(m["amocrm_user_id"], m["overdue"]) for m in payload["managers"]] == [
        (2, 2),
        (3, 2),
        (1, 1),
    ]
    assert payload["managers"][0]["oldest_due"] == "2026-11-25T12:41:40+05:00"
    assert payload["generated_at"] == "2026-11-25T14:05:00+05:00"
    assert payload["timezone"] == "Asia/Almaty"
    assert payload["total_overdue"] == 5


def test_almaty_offset_follows_the_2024_change() -> None:
    old = at(2023, 6, 1, 12, 0)
    new = at(2025, 6, 1, 12, 0)
    assert overdue_by_manager([], {}, old, ALMATY).to_json()["generated_at"].endswith("+06:00")
    assert overdue_by_manager([], {}, new, ALMATY).to_json()["generated_at"].endswith("+05:00")


def test_days_overdue_counts_calendar_days_in_company_time() -> None:
    assert days_overdue(at(2026, 11, 25, 9, 0), NOW, ALMATY) == 0
    assert days_overdue(at(2026, 11, 24, 23, 0), NOW, ALMATY) == 1
    assert days_overdue(at(2026, 11, 20, 18, 0), NOW, ALMATY) == 5


def test_my_tasks_splits_overdue_and_today() -> None:
    tasks = [
        task(1, NOW - 60),
        task(2, NOW + 60),
        task(3, at(2026, 11, 25, 23, 59)),
        task(4, at(2026, 11, 26, 0, 0)),
        task(5, NOW + 10, done=True),
    ]
    mine = my_tasks(tasks, NOW, ALMATY)
    assert [t.id for t in mine.overdue] == [1]
    assert [t.id for t in mine.today] == [2, 3]


def test_funnel_counts_open_leads_and_this_months_outcomes() -> None:
    stages = (
        Stage(10, "Первичный контакт", 10, 7),
        Stage(20, "50%", 20, 7),
        Stage(142, "Успешно реализовано", 10000, 7),
        Stage(143, "Закрыто", 10001, 7),
    )
    pipeline = Pipeline(7, "Продажи", True, False, stages)
    archived = Pipeline(8, "Старая", False, True, ())

    def lead(id: int, status: int, price: int = 100, closed: int | None = None) -> Lead:
        return Lead(id, "x", price, status, 7, 1, None, closed)

    leads = [
        lead(1, 10),
        lead(2, 10),
        lead(3, 20),
        lead(4, 142, 500, at(2026, 11, 3, 10)),
        lead(5, 142, 700, at(2026, 10, 31, 23)),
        lead(6, 143, 0, at(2026, 11, 1, 0, 0)),
    ]
    result = funnel(leads, [pipeline, archived], NOW, ALMATY)
    (only,) = result.pipelines
    assert [(s.stage.name, s.count, s.amount) for s in only.stages] == [
        ("Первичный контакт", 2, 200),
        ("50%", 1, 100),
    ]
    assert (only.won, only.won_amount, only.lost, only.open_leads) == (1, 500, 1, 3)


def test_month_start_is_local_midnight() -> None:
    assert month_start(NOW, ALMATY) == at(2026, 11, 1, 0, 0)


@given(
    dues=st.lists(st.one_of(st.none(), st.integers(NOW - 10**7, NOW + 10**7)), max_size=40),
    zone=st.sampled_from(["Asia/Almaty", "UTC", "America/New_York", "Pacific/Kiritimati"]),
)
def test_total_matches_a_direct_count_in_any_timezone(dues: list[int | None], zone: str) -> None:
    tz = pytz.timezone(zone)
    tasks = [task(i, due, user=i % 3) for i, due in enumerate(dues)]
    report = overdue_by_manager(tasks, USERS, NOW, tz)
    assert report.total_overdue == sum(is_overdue(t, NOW, tz) for t in tasks)
    for m in report.managers:
        late = [
            t for t in tasks if t.responsible_user_id == m.amocrm_user_id and is_overdue(t, NOW, tz)
        ]
        assert (m.overdue, m.oldest_due) == (len(late), min(t.complete_till or 0 for t in late))


# -- which manager a query means ----------------------------------------------------------------

TEAM = {u.id: u for u in [
    User(11, "Милана"), User(12, "Камила"), User(13, "Милана Ким"), User(14, "Зелимхан"),
]}  # fmt: skip


def named(query: str) -> list[str]:
    return [u.name for u in match_managers(query, TEAM)]


@pytest.mark.parametrize("query", ["14", "#14", " зелимхан ", "ЗЕЛИМ"])
def test_a_manager_is_found_by_id_or_name(query: str) -> None:
    assert named(query) == ["Зелимхан"]


@pytest.mark.parametrize("query", ["12345", "#12345", "²", "٣", "Вася", "", "   "])
def test_an_unknown_id_is_not_found_like_an_unknown_name(query: str) -> None:
    assert named(query) == []


def test_an_exact_name_wins_over_names_that_contain_it() -> None:
    assert named("милана") == ["Милана"]
    assert named("милана  ким") == ["Милана Ким"]


def test_an_ambiguous_query_lists_the_candidates_by_name() -> None:
    assert named("мил") == ["Камила", "Милана", "Милана Ким"]


def test_an_all_day_deadline_is_late_within_surely_late_in_every_zone() -> None:
    """``SURELY_LATE`` bounds how long after its 23:59 an all-day task turns late, even when the
    clocks change around midnight: checked at every zone's offset changes since 1990."""
    worst = 0
    for name in pytz.all_timezones:
        tz = pytz.timezone(name)
        changes = getattr(tz, "_utc_transition_times", [])  # pytz's own table of offset changes
        for change in changes:
            if change.year < 1990:
                continue
            day = change.replace(tzinfo=datetime.UTC).astimezone(tz).date()
            for shift in (-1, 0, 1):
                at = datetime.datetime.combine(
                    day + datetime.timedelta(days=shift), datetime.time(23, 59)
                )
                due = int(tz.localize(at).timestamp())
                worst = max(worst, effective_due(due, tz) - due)
    assert 60 <= worst < SURELY_LATE
