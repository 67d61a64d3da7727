"""Overdue alerts: once per task and deadline, never for the backlog, batched after quiet hours."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import pytz

from leoweb_bot.amocrm.models import Task
from leoweb_bot.bot.codec import AskClose
from leoweb_bot.bot.codec import decode
from leoweb_bot.bot.codec import encode
from leoweb_bot.bot.router import route
from leoweb_bot.proactive import alerts
from leoweb_bot.proactive.alerts import is_quiet
from leoweb_bot.proactive.scheduler import Job
from leoweb_bot.proactive.scheduler import Scheduler
from leoweb_bot.reports import is_all_day
from leoweb_bot.reports import is_overdue
from leoweb_bot.state.people import Member
from leoweb_bot.state.people import put_member
from leoweb_bot.state.people import remove_member
from tests.kit.fakebot import BOT_USER
from tests.kit.proactive import MANAGER
from tests.kit.proactive import MILANA
from tests.kit.proactive import OTHER_MANAGER
from tests.kit.proactive import SARBINAZ
from tests.kit.proactive import ZELIMKHAN
from tests.kit.proactive import Rig
from tests.kit.proactive import at
from tests.kit.proactive import rig

ALMATY = pytz.timezone("Asia/Almaty")
WEDNESDAY_10 = at("Asia/Almaty", 2026, 11, 25, 10, 0)
WEDNESDAY_20 = at("Asia/Almaty", 2026, 11, 25, 20, 0)
ONE = "⏰ <b>Задача просрочена</b>"
MANY = "⏰ <b>Просрочены задачи:"
MAPPED = (ZELIMKHAN, MILANA)


def alerts_only(r: Rig, owner: str = "a") -> Scheduler:
    return r.scheduler(owner, jobs=[Job("overdue_alerts", 600, alerts.run_alerts)])


def alert_messages(r: Rig, chat_id: int | None = None) -> list[str]:
    return [m.text for m in r.sent(chat_id) if m.text.startswith((ONE, MANY))]


def open_tasks(r: Rig, owner: int) -> list[Task]:
    tasks = (Task.from_v4(raw) for raw in r.sandbox.data.tasks)
    return [t for t in tasks if t.responsible_user_id == owner and not t.is_completed]


def future_task(r: Rig, owner: int, now: int, skip: int = 0) -> Task:
    """An open task of ``owner`` not yet due, with a deadline at a precise time (not all-day)."""
    tasks = [t for t in open_tasks(r, owner) if t.complete_till and t.complete_till > now]
    timed = [t for t in tasks if not is_all_day(t.complete_till or 0, ALMATY)]
    return sorted(timed, key=lambda t: t.id)[skip]


def set_task(r: Rig, task_id: int, **fields: object) -> None:
    r.sandbox.store.update("tasks", [(task_id, dict(fields))])


def newly_overdue(r: Rig, owner: int, before: int, after: int) -> set[int]:
    return {
        t.id
        for t in open_tasks(r, owner)
        if is_overdue(t, after, ALMATY) and not is_overdue(t, before, ALMATY)
    }


@pytest.fixture
def day(tmp_path: Path) -> Iterator[Rig]:
    with rig(tmp_path, WEDNESDAY_10) as r:
        yield r


# -- quiet hours ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("spec", "hhmm", "quiet"),
    [
        ("21:00-09:00", (20, 59), False),
        ("21:00-09:00", (21, 0), True),
        ("21:00-09:00", (3, 0), True),
        ("21:00-09:00", (8, 59), True),
        ("21:00-09:00", (9, 0), False),
        ("13:00-14:00", (13, 30), True),
        ("13:00-14:00", (14, 0), False),
        ("", (3, 0), False),
        ("09:00-09:00", (9, 0), False),
    ],
)
def test_quiet_hours_in_company_time(spec: str, hhmm: tuple[int, int], quiet: bool) -> None:
    moment = at("Asia/Almaty", 2026, 11, 25, *hhmm)
    assert is_quiet(moment, ALMATY, spec) is quiet


# -- alerts -------------------------------------------------------------------------------------------


def test_the_backlog_at_first_run_is_known_not_sent(day: Rig) -> None:
    assert any(is_overdue(t, WEDNESDAY_10, ALMATY) for t in open_tasks(day, ZELIMKHAN))
    alerts_only(day).tick(WEDNESDAY_10)
    assert day.sent() == []


def test_a_task_crossing_its_deadline_alerts_its_manager_once(day: Rig) -> None:
    alerts_only(day).tick(WEDNESDAY_10)
    task = future_task(day, ZELIMKHAN, WEDNESDAY_10)
    set_task(day, task.id, complete_till=WEDNESDAY_10 + 20 * 60)
    later = WEDNESDAY_10 + 25 * 60
    assert newly_overdue(day, ZELIMKHAN, WEDNESDAY_10, later) == {task.id}
    alerts_only(day).tick(later)
    [message] = [m for m in day.sent() if m.text.startswith(ONE)]
    assert message.chat_id == MANAGER
    assert task.text in message.text
    assert "срок 25.11.2026 10:20, просрочена сегодня" in message.text
    assert f"/{task.entity_type}/detail/{task.entity_id}" in message.text
    assert message.buttons == [("✅ 1", encode(AskClose(task.id)))]
    # A second cycle, and a restarted process, say nothing more.
    alerts_only(day, "a").tick(later + 600)
    alerts_only(day, "restarted").tick(later + 1200)
    assert len(alert_messages(day)) == 1
    assert alert_messages(day, OTHER_MANAGER) == []


def test_a_task_given_a_new_deadline_alerts_again_when_it_misses_that_one(day: Rig) -> None:
    scheduler = alerts_only(day)
    scheduler.tick(WEDNESDAY_10)
    task = future_task(day, MILANA, WEDNESDAY_10)
    set_task(day, task.id, complete_till=WEDNESDAY_10 + 5 * 60)
    scheduler.tick(WEDNESDAY_10 + 10 * 60)
    set_task(day, task.id, complete_till=WEDNESDAY_10 + 15 * 60)
    scheduler.tick(WEDNESDAY_10 + 20 * 60)
    texts = alert_messages(day, OTHER_MANAGER)
    assert len(texts) == 2
    assert "срок 25.11.2026 10:05" in texts[0] and "срок 25.11.2026 10:15" in texts[1]


def test_unmapped_managers_are_never_alerted(day: Rig) -> None:
    scheduler = alerts_only(day)
    scheduler.tick(WEDNESDAY_10)
    task = future_task(day, SARBINAZ, WEDNESDAY_10)
    set_task(day, task.id, complete_till=WEDNESDAY_10 + 5 * 60)
    scheduler.tick(WEDNESDAY_10 + 10 * 60)
    assert day.sent() == []


def test_two_processes_racing_send_one_alert(day: Rig) -> None:
    first, second = day.app(), day.app()
    alerts.run_alerts(first, WEDNESDAY_10)
    task = future_task(day, ZELIMKHAN, WEDNESDAY_10)
    set_task(day, task.id, complete_till=WEDNESDAY_10 + 5 * 60)
    # Both run the cycle (as if both held the job): the ledger still lets one message out.
    alerts.run_alerts(first, WEDNESDAY_10 + 10 * 60)
    alerts.run_alerts(second, WEDNESDAY_10 + 10 * 60)
    assert len(alert_messages(day)) == 1


def test_quiet_hours_collect_alerts_into_one_message_per_manager_at_their_end(
    tmp_path: Path,
) -> None:
    with rig(tmp_path, WEDNESDAY_20, alerts={"quiet_hours": "21:00-09:00"}) as night:
        scheduler = alerts_only(night)
        scheduler.tick(WEDNESDAY_20)
        z1, z2, closed = (future_task(night, ZELIMKHAN, WEDNESDAY_20, n) for n in range(3))
        m1 = future_task(night, MILANA, WEDNESDAY_20)
        set_task(night, z1.id, complete_till=WEDNESDAY_20 + 2 * 3600)  # 22:00
        set_task(night, z2.id, complete_till=WEDNESDAY_20 + 6 * 3600)  # 02:00
        set_task(night, closed.id, complete_till=WEDNESDAY_20 + 3 * 3600)  # 23:00
        set_task(night, m1.id, complete_till=WEDNESDAY_20 + 9 * 3600)  # 05:00
        thursday_9 = WEDNESDAY_20 + 13 * 3600
        for minutes in range(10, 13 * 60, 10):
            if minutes == 5 * 60:  # 01:00: Зелимхан closes one from home
                set_task(night, closed.id, is_completed=True)
            scheduler.tick(WEDNESDAY_20 + minutes * 60)
        assert night.sent() == []
        scheduler.tick(thursday_9)
        for chat, owner in ((MANAGER, ZELIMKHAN), (OTHER_MANAGER, MILANA)):
            [message] = [m for m in night.sent(chat)]
            expected = newly_overdue(night, owner, WEDNESDAY_20, thursday_9)
            assert {decode(data).task for _, data in message.buttons} == expected
            assert closed.id not in expected
        assert {z1.id, z2.id} <= newly_overdue(night, ZELIMKHAN, WEDNESDAY_20, thursday_9)
        scheduler.tick(thursday_9 + 600)
        assert len(night.sent()) == 2


def test_the_done_button_on_an_alert_asks_below_it_then_closes_the_task(day: Rig) -> None:
    alerts_only(day).tick(WEDNESDAY_10)
    task = future_task(day, ZELIMKHAN, WEDNESDAY_10)
    set_task(day, task.id, complete_till=WEDNESDAY_10 + 5 * 60)
    alerts_only(day).tick(WEDNESDAY_10 + 10 * 60)
    alert = day.sent(MANAGER)[0]
    [(_, data)] = alert.buttons
    app = day.app()

    def press(data: str, message_id: int) -> None:
        query = {
            "id": f"cb{message_id}",
            "from": {"id": MANAGER, "is_bot": False, "first_name": "Зелимхан"},
            "chat_instance": "1",
            "data": data,
            "message": {
                "message_id": message_id,
                "date": 0,
                "chat": {"id": MANAGER, "type": "private"},
                "from": BOT_USER,
                "text": "alert",
            },
        }
        update = {"update_id": message_id, "callback_query": query}
        route(app, update)

    press(data, alert.message_id)
    question = day.sent(MANAGER)[-1]  # the alert stays as it was; the question comes below it
    assert question.message_id != alert.message_id
    assert question.text.startswith("<b>Закрыть задачу?</b>")
    press(dict(question.buttons)["✅ Закрыть"], question.message_id)
    stored = next(t for t in day.sandbox.data.tasks if t["id"] == task.id)
    assert stored["is_completed"] is True
    answers = [p for method, p in day.fake.calls() if method == "answerCallbackQuery"]
    assert answers[-1]["text"] == f"✅ Закрыта задача «{stored['text']}»"
    closed = day.fake.sent(MANAGER)[-1]  # the question turns into what became of the task
    assert (closed.method, closed.message_id) == ("editMessageText", question.message_id)
    assert closed.text.startswith(f"✅ Задача «{stored['text']}» (#{task.id}) закрыта")


def test_a_manager_let_in_through_the_bot_is_alerted_until_removed(day: Rig) -> None:
    newcomer = 555
    state = day.app().state
    with state.transaction() as conn:  # as an accepted invite leaves it (state/people.py)
        put_member(conn, Member(newcomer, "manager", SARBINAZ, "Сарбиназ", "", WEDNESDAY_10, 201))
    scheduler = alerts_only(day)
    scheduler.tick(WEDNESDAY_10)
    task = future_task(day, SARBINAZ, WEDNESDAY_10)
    set_task(day, task.id, complete_till=WEDNESDAY_10 + 5 * 60)
    scheduler.tick(WEDNESDAY_10 + 10 * 60)
    assert len(alert_messages(day, newcomer)) == 1
    assert remove_member(state, newcomer, config_admins=1) is not None
    later = future_task(day, SARBINAZ, WEDNESDAY_10 + 20 * 60)
    set_task(day, later.id, complete_till=WEDNESDAY_10 + 25 * 60)
    scheduler.tick(WEDNESDAY_10 + 30 * 60)
    assert len(alert_messages(day, newcomer)) == 1  # nothing more once removed
