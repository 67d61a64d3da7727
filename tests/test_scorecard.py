"""The team scorecard is pure: per manager, overdue now, due later today, closed today (in
company time) and open leads without a next task."""

from __future__ import annotations

import datetime

import pytz

from leoweb_bot.amocrm.models import LOST_STATUS
from leoweb_bot.amocrm.models import WON_STATUS
from leoweb_bot.amocrm.models import Lead
from leoweb_bot.amocrm.models import Task
from leoweb_bot.amocrm.models import User
from leoweb_bot.reports import ScoreRow
from leoweb_bot.reports import leads_without_task
from leoweb_bot.reports import sellers
from leoweb_bot.reports import team_scorecard

ALMATY = pytz.timezone("Asia/Almaty")
ZELIMKHAN, MILANA, ADMIN, FORMER = 1, 2, 3, 4
USERS = {
    ZELIMKHAN: User(ZELIMKHAN, "Зелимхан"),
    MILANA: User(MILANA, "Милана"),
    ADMIN: User(ADMIN, "Директор", is_admin=True),
    FORMER: User(FORMER, "Уволен", is_active=False),
}


def at(*args: int) -> int:
    return int(ALMATY.localize(datetime.datetime(*args)).timestamp())


NOW = at(2026, 11, 25, 14, 5)
MIDNIGHT = at(2026, 11, 25, 0, 0)


def task(
    id: int, user: int, due: int | None, *, done_at: int | None = None, lead: int | None = None
) -> Task:
    return Task(
        id=id, text=f"t{id}", responsible_user_id=user, complete_till=due,
        is_completed=done_at is not None, entity_type="leads" if lead else None, entity_id=lead,
        updated_at=done_at,
    )  # fmt: skip


def lead(id: int, user: int, status: int = 142_000) -> Lead:
    return Lead(id, f"lead {id}", 0, status, 10, user)


def test_each_number_counts_by_the_bots_rules_in_company_time() -> None:
    tasks = [
        task(1, ZELIMKHAN, NOW - 60),  # overdue
        task(2, ZELIMKHAN, at(2026, 11, 25, 23, 59)),  # all day today: due today, not overdue
        task(3, ZELIMKHAN, at(2026, 11, 26, 0, 0)),  # tomorrow
        task(4, ZELIMKHAN, None),  # no deadline
        task(5, MILANA, NOW + 60),  # due today
        task(6, MILANA, NOW - 86400, done_at=MIDNIGHT),  # closed today, at the first second
        task(7, MILANA, NOW - 86400, done_at=MIDNIGHT - 1),  # closed yesterday
    ]
    rows = team_scorecard(tasks, [], USERS, NOW, ALMATY)
    assert rows == (
        ScoreRow(ZELIMKHAN, "Зелимхан", overdue=1, due_today=1, closed_today=0, idle_leads=0),
        ScoreRow(MILANA, "Милана", overdue=0, due_today=1, closed_today=1, idle_leads=0),
    )


def test_a_lead_without_an_open_task_is_idle_whoever_owns_its_task() -> None:
    leads = [
        lead(10, ZELIMKHAN),  # its only task is Milana's, still open: followed up
        lead(11, ZELIMKHAN),  # its task is done: forgotten
        lead(12, ZELIMKHAN),  # no task at all: forgotten
        lead(13, ZELIMKHAN, WON_STATUS),  # closed leads need no task
        lead(14, MILANA, LOST_STATUS),
        lead(15, MILANA),
    ]
    tasks = [
        task(1, MILANA, NOW + 3600, lead=10),
        task(2, ZELIMKHAN, NOW - 60, done_at=NOW - 30, lead=11),
        task(3, ZELIMKHAN, None, lead=15),  # an open task without a deadline still follows up
    ]
    assert [x.id for x in leads_without_task(tasks, leads)] == [11, 12]
    rows = {r.amocrm_user_id: r for r in team_scorecard(tasks, leads, USERS, NOW, ALMATY)}
    assert rows[ZELIMKHAN].idle_leads == 2 and rows[MILANA].idle_leads == 0
    assert rows[ZELIMKHAN].closed_today == 1 and rows[MILANA].due_today == 1


def test_every_seller_has_a_row_and_anyone_else_only_with_a_number() -> None:
    assert sellers(USERS) == {ZELIMKHAN, MILANA}
    quiet = team_scorecard([], [], USERS, NOW, ALMATY)
    assert [(r.name, r.numbers) for r in quiet] == [
        ("Зелимхан", (0, 0, 0, 0)),
        ("Милана", (0, 0, 0, 0)),
    ]
    busy = team_scorecard(
        [task(1, ADMIN, NOW - 60), task(2, 999, NOW + 60)], [lead(5, FORMER)], USERS, NOW, ALMATY
    )
    assert [(r.name, r.numbers) for r in busy] == [
        ("#999", (0, 1, 0, 0)),  # a deleted user shows their id
        ("Директор", (1, 0, 0, 0)),
        ("Зелимхан", (0, 0, 0, 0)),
        ("Милана", (0, 0, 0, 0)),
        ("Уволен", (0, 0, 0, 1)),
    ]
