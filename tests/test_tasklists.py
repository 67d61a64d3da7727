"""The report and the task lists over a source equal the rule applied task by task, page by page,
in any timezone: the bulk count (due before ``late_before``) and the one-by-one rule agree."""

from __future__ import annotations

import datetime

import pytz
from hypothesis import given
from hypothesis import strategies as st

from leoweb_bot.amocrm.models import Task
from leoweb_bot.reports import SURELY_LATE
from leoweb_bot.reports import by_due
from leoweb_bot.reports import is_overdue
from leoweb_bot.reports import my_tasks
from leoweb_bot.reports import overdue_by_manager
from leoweb_bot.tasklists import ListSource
from leoweb_bot.tasklists import TaskSource
from leoweb_bot.tasklists import due_today
from leoweb_bot.tasklists import fell_due_since
from leoweb_bot.tasklists import my_tasks_page
from leoweb_bot.tasklists import overdue_page
from leoweb_bot.tasklists import overdue_report

ZONES = ["Asia/Almaty", "UTC", "America/New_York", "Pacific/Kiritimati", "Australia/Lord_Howe"]
NOW = int(datetime.datetime(2026, 11, 25, 12, 0, tzinfo=datetime.UTC).timestamp())
SIZE = 3


def task(i: int, due: int | None, user: int, done: bool = False) -> Task:
    return Task(
        id=i, text=f"t{i}", responsible_user_id=user, complete_till=due, is_completed=done,
        updated_at=NOW,
    )  # fmt: skip


def all_day(days_ago: int, tz: datetime.tzinfo) -> int:
    """A deadline amoCRM stores for an all-day task: 23:59 company time."""
    day = datetime.datetime.fromtimestamp(NOW, tz).date() - datetime.timedelta(days=days_ago)
    at = datetime.datetime.combine(day, datetime.time(23, 59))
    return int(tz.localize(at).timestamp())  # type: ignore[attr-defined]


Account = tuple[list[Task], datetime.tzinfo, int, int]  # tasks, company zone, now, a manager


@st.composite
def accounts(draw: st.DrawFn) -> Account:
    """Tasks around a ``now`` close to the end of a company day, when all-day tasks of that
    day are due before ``now`` but not late yet."""
    tz = pytz.timezone(draw(st.sampled_from(ZONES)))
    now = all_day(0, tz) + draw(st.integers(-90, 120))
    near = st.integers(now - SURELY_LATE - 7200, now + 86400)  # around the bulk/rule split
    far = st.integers(now - 40 * 86400, now + 40 * 86400)
    dues = st.one_of(st.none(), near, far, st.integers(-1, 3).map(lambda d: all_day(d, tz)))
    rows = draw(st.lists(st.tuples(dues, st.integers(1, 3), st.booleans()), max_size=30))
    tasks = [task(i, due, user, done) for i, (due, user, done) in enumerate(rows, 1)]
    return tasks, tz, now, draw(st.integers(1, 3))


def pages_of(source: TaskSource, user: int, tz: datetime.tzinfo, now: int) -> list[Task]:
    first = overdue_page(source, user, now, tz, 0, SIZE)
    pages = [overdue_page(source, user, now, tz, p, SIZE) for p in range(first.pages)]
    assert all(p.total == first.total for p in pages)
    return [t for p in pages for t in p.tasks]


@given(accounts())
def test_the_report_over_a_source_is_the_rule_task_by_task(account: Account) -> None:
    tasks, tz, now, _ = account
    expected = overdue_by_manager(tasks, {}, now, tz)
    assert overdue_report(ListSource(tasks), {}, now, tz) == expected
    assert expected.total_overdue == sum(is_overdue(t, now, tz) for t in tasks)


@given(accounts())
def test_a_managers_pages_are_their_overdue_tasks_oldest_first(account: Account) -> None:
    tasks, tz, now, user = account
    own = (t for t in tasks if t.responsible_user_id == user and is_overdue(t, now, tz))
    shown = pages_of(ListSource(tasks), user, tz, now)
    assert shown == sorted(own, key=by_due)
    assert overdue_page(ListSource(tasks), user, now, tz, 0, SIZE).total == len(shown)


@given(accounts(), st.integers(-2, 12))
def test_my_tasks_pages_are_overdue_then_today(account: Account, page: int) -> None:
    tasks, tz, now, user = account
    mine = my_tasks([t for t in tasks if t.responsible_user_id == user], now, tz)
    got = my_tasks_page(ListSource(tasks), user, now, tz, page, SIZE)
    assert (got.overdue, got.today) == (len(mine.overdue), len(mine.today))
    everything = [*mine.overdue, *mine.today]
    assert 0 <= got.shown.page < got.shown.pages
    assert list(got.shown.tasks) == everything[got.shown.first : got.shown.first + SIZE]


def test_an_all_day_task_is_due_today_until_the_day_is_over() -> None:
    tz = pytz.timezone("Asia/Almaty")
    due = all_day(0, tz)
    tasks = [task(1, due, 1), task(2, due - 3600, 1)]
    for now, late in ((due + 30, [2]), (due + 61, [2, 1])):
        assert [t.id for t in pages_of(ListSource(tasks), 1, tz, now)] == late
        mine = my_tasks_page(ListSource(tasks), 1, now, tz, 0, SIZE)
        assert (mine.overdue, mine.today) == (len(late), 2 - len(late))


def test_a_page_past_the_end_shows_the_last_one() -> None:
    tasks = [task(i, NOW - 3 * 86400 - i, 1) for i in range(7)]
    shown = overdue_page(ListSource(tasks), 1, NOW, pytz.UTC, 99, SIZE)
    assert (shown.page, shown.pages, shown.total, len(shown.tasks)) == (2, 3, 7, 1)


@given(accounts(), st.integers(1, 6 * 3600))
def test_what_turned_late_since_a_look_fell_due_after_fell_due_since(
    account: Account, gap: int
) -> None:
    tasks, tz, now, _ = account
    since = now - gap
    turned = [t for t in tasks if is_overdue(t, now, tz) and not is_overdue(t, since, tz)]
    assert all((t.complete_till or 0) >= fell_due_since(since, now, tz) for t in turned)


def test_fell_due_since_reaches_back_only_past_a_midnight() -> None:
    tz = pytz.timezone("Asia/Almaty")
    evening = all_day(1, tz)  # yesterday 23:59
    assert fell_due_since(evening + 30, evening + 600, tz) == evening  # midnight came between
    assert fell_due_since(evening + 3600, evening + 4000, tz) == evening + 3600


@given(accounts())
def test_due_today_counts_what_my_tasks_calls_today(account: Account) -> None:
    tasks, tz, now, _ = account
    expected = {}
    for user in {t.responsible_user_id for t in tasks}:
        today = my_tasks([t for t in tasks if t.responsible_user_id == user], now, tz).today
        if today:
            expected[user] = len(today)
    assert due_today(ListSource(tasks), now, tz) == expected
