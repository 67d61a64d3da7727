"""The mirror's SQL counts as the pure reports do over the same rows: the overdue report, every
page of a manager's overdue tasks, /mytasks, and the funnel's stages."""

from __future__ import annotations

import tempfile
from collections import Counter
from pathlib import Path

from hypothesis import given
from hypothesis import settings
from hypothesis import strategies as st

from leoweb_bot.amocrm.models import LOST_STATUS
from leoweb_bot.amocrm.models import WON_STATUS
from leoweb_bot.amocrm.models import Lead
from leoweb_bot.amocrm.models import Task
from leoweb_bot.config import SyncSettings
from leoweb_bot.reports import leads_without_task
from leoweb_bot.reports import stage_counts
from leoweb_bot.state import State
from leoweb_bot.state.mirror import Mirror
from leoweb_bot.state.progress import Progress
from leoweb_bot.sync.reader import MirrorReader
from leoweb_bot.sync.rows import lead_row
from leoweb_bot.sync.rows import task_row
from leoweb_bot.tasklists import ListSource
from leoweb_bot.tasklists import due_today
from leoweb_bot.tasklists import my_tasks_page
from leoweb_bot.tasklists import overdue_page
from leoweb_bot.tasklists import overdue_report
from tests.sync.kit import rig
from tests.test_tasklists import NOW
from tests.test_tasklists import Account
from tests.test_tasklists import accounts


def mirrored(tasks: list[Task], folder: str, now: int) -> MirrorReader:
    state = State(Path(folder) / "state.sqlite3")
    rows = [task_row(t) for t in tasks]
    Mirror(state).put("tasks", rows, now)
    return MirrorReader(Mirror(state), Progress(state), SyncSettings(), lambda: now)


@settings(max_examples=40, deadline=None)
@given(accounts(), st.integers(0, 4))
def test_the_mirror_counts_and_pages_as_the_list_does(account: Account, page: int) -> None:
    tasks, tz, now, user = account
    with tempfile.TemporaryDirectory() as folder:
        mirror, listed = mirrored(tasks, folder, now), ListSource(tasks)
        assert overdue_report(mirror, {}, now, tz) == overdue_report(listed, {}, now, tz)
        one = overdue_report(mirror, {}, now, tz, user)
        assert one == overdue_report(listed, {}, now, tz, user)
        assert overdue_page(mirror, user, now, tz, page, 3) == overdue_page(
            listed, user, now, tz, page, 3
        )
        assert my_tasks_page(mirror, user, now, tz, page, 3) == my_tasks_page(
            listed, user, now, tz, page, 3
        )
        assert due_today(mirror, now, tz) == due_today(listed, now, tz)


def test_every_open_task_of_everyone_reads_from_the_mirror(tmp_path: Path) -> None:
    """/team asks for every open task (no manager): the mirror answers that too."""
    with rig(tmp_path) as r:
        r.bootstrap()
        before = r.sandbox.request_count
        everyone = r.client.open_tasks()
        assert r.sandbox.request_count == before
        assert sorted(t.id for t in everyone) == sorted(t.id for t in r.live.open_tasks())


LEADS = st.lists(
    st.tuples(
        st.sampled_from([1, 2]),  # pipeline
        st.sampled_from([10, 11, WON_STATUS, LOST_STATUS]),
        st.integers(0, 10_000),  # price
        st.one_of(st.none(), st.integers(NOW - 90 * 86400, NOW + 86400)),  # closed_at
    ),
    max_size=25,
)


@settings(max_examples=40, deadline=None)
@given(LEADS, st.integers(NOW - 60 * 86400, NOW), st.lists(st.integers(1, 30), max_size=15))
def test_the_mirror_counts_the_funnel_and_lone_leads_as_the_reports_do(
    rows: list, since: int, followed: list[int]
) -> None:
    leads = [
        Lead(i, f"lead {i}", price, status, pipeline, i % 3, closed_at=closed, updated_at=NOW)
        for i, (pipeline, status, price, closed) in enumerate(rows, 1)
    ]
    tasks = [  # open tasks on some leads (and a closed one on every lead: it follows nothing)
        *(
            Task(90 + n, "t", 1, NOW, False, "leads", lead, updated_at=NOW)
            for n, lead in enumerate(followed)
        ),
        *(Task(900 + x.id, "t", 1, NOW, True, "leads", x.id, updated_at=NOW) for x in leads),
    ]
    with tempfile.TemporaryDirectory() as folder:
        state = State(Path(folder) / "state.sqlite3")
        Mirror(state).put("leads", [lead_row(x) for x in leads], NOW)
        Mirror(state).put("tasks", [task_row(t) for t in tasks], NOW)
        reader = MirrorReader(Mirror(state), Progress(state), SyncSettings(), lambda: NOW)
        assert reader.stage_counts(since, NOW) == stage_counts(leads, since, NOW)
        lone = leads_without_task(tasks, leads)
        assert reader.lone_counts() == dict(Counter(x.responsible_user_id for x in lone))
        for user in range(3):
            assert reader.lone_leads(user) == [x for x in lone if x.responsible_user_id == user]
