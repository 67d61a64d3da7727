"""The daily snapshot: at the end of each company day, one row per manager — overdue, due today,
closed that day — recorded once across processes, and never for a day the bot did not see end."""

from __future__ import annotations

import datetime
from pathlib import Path

import pytz

from leoweb_bot.amocrm.models import Task
from leoweb_bot.proactive import snapshots
from leoweb_bot.proactive.scheduler import Job
from leoweb_bot.reports import is_overdue
from leoweb_bot.reports import local_midnight
from leoweb_bot.sandbox import Sandbox
from leoweb_bot.state.snapshots import history
from tests.kit.proactive import MILANA
from tests.kit.proactive import ZELIMKHAN
from tests.kit.proactive import Rig
from tests.kit.proactive import at
from tests.kit.proactive import rig

ALMATY = pytz.timezone("Asia/Almaty")
DAY = datetime.date(2026, 11, 25)
EVENING = at("Asia/Almaty", 2026, 11, 25, 23, 44, 59)  # a second before the day ends for the bot
DAY_ENDS = at("Asia/Almaty", 2026, 11, 25, 23, 45)
Row = tuple[int, int, int]  # overdue, due today, closed that day


def only_snapshots(r: Rig, owner: str):  # a Scheduler with the snapshot job alone
    return r.scheduler(owner, jobs=[Job("snapshots", 0, snapshots.record_snapshot)])


def truth(sandbox: Sandbox, now: int, managers: list[int]) -> dict[int, Row]:
    """Each manager's numbers at ``now`` (every one of ``managers``, and anyone else with a
    number), counted from the sandbox's own rows."""
    today = local_midnight(DAY, ALMATY)
    tonight = local_midnight(DAY + datetime.timedelta(days=1), ALMATY)
    counts = {uid: [0, 0, 0] for uid in managers}
    for raw in sandbox.data.tasks:
        task, uid = Task.from_v4(raw), raw["responsible_user_id"]
        counts.setdefault(uid, [0, 0, 0])
        if raw["is_completed"]:
            counts[uid][2] += raw["updated_at"] >= today
        elif is_overdue(task, now, ALMATY):
            counts[uid][0] += 1
        elif raw["complete_till"] is not None and raw["complete_till"] < tonight:
            counts[uid][1] += 1
    return {uid: (a, b, c) for uid, (a, b, c) in counts.items() if uid in managers or a + b + c}


def recorded(r: Rig) -> dict[int, Row]:
    return {uid: (o, d, c) for day, uid, _, o, d, c in history(r.app().state, DAY) if day == DAY}


def sellers(sandbox: Sandbox) -> list[int]:
    return [u["id"] for u in sandbox.data.users if not u["rights"]["is_admin"]]


def test_the_day_is_recorded_at_its_end_once_with_every_manager(tmp_path: Path) -> None:
    with rig(tmp_path, EVENING, tasks=120, managers=3) as r:
        a, b = only_snapshots(r, "host:1"), only_snapshots(r, "host:2")
        # what a person did in amoCRM during the day counts
        done = next(t["id"] for t in r.sandbox.data.tasks if not t["is_completed"])
        r.sandbox.ui.complete_task(done, "Перезвонил", by=ZELIMKHAN)
        tonight = at("Asia/Almaty", 2026, 11, 25, 23, 59)  # "all day": due until midnight
        r.sandbox.ui.add_task("Отправить договор", tonight, MILANA)
        a.tick(EVENING)
        assert recorded(r) == {}
        r.clock.now = DAY_ENDS
        expected = truth(r.sandbox, DAY_ENDS, sellers(r.sandbox))
        a.tick(DAY_ENDS)
        b.tick(DAY_ENDS + 15)  # another worker's tick: the day is taken
        assert recorded(r) == expected
        assert set(sellers(r.sandbox)) <= set(expected) and expected[ZELIMKHAN][2] >= 1
        assert all(sum(column) for column in zip(*expected.values(), strict=True))  # no blank
        assert expected[MILANA][1] >= 1
        # later changes the same evening do not rewrite the day
        open_task = next(t["id"] for t in r.sandbox.data.tasks if not t["is_completed"])
        r.sandbox.ui.complete_task(open_task)
        r.clock.now = DAY_ENDS + 600
        a.tick(DAY_ENDS + 600)
        assert recorded(r) == expected


def test_a_day_whose_end_the_bot_missed_stays_empty(tmp_path: Path) -> None:
    before = at("Asia/Almaty", 2026, 11, 24, 23, 0)
    with rig(tmp_path, before, tasks=40, managers=2) as r:
        job = only_snapshots(r, "host:1")
        job.tick(before)  # the 24th before its end; then the server is down until after midnight
        r.clock.now = at("Asia/Almaty", 2026, 11, 25, 0, 10)
        job.tick(r.clock.now)
        r.clock.now = DAY_ENDS
        job.tick(DAY_ENDS)
        days = {row[0] for row in history(r.app().state, DAY - datetime.timedelta(days=7))}
    assert days == {DAY}  # history starts on the first day the bot saw end
