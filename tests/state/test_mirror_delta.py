"""``Mirror.went_late``: what can have gone overdue since a look, without the untouched backlog."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from leoweb_bot.state import State
from leoweb_bot.state.mirror import Mirror
from leoweb_bot.state.mirror import TaskRow

LOOK = 1_800_000_000  # the previous look
NOW = LOOK + 600
WINDOW = LOOK - 2 * 86400  # deadlines this late or later are read whatever the row's age


@pytest.fixture
def mirror(tmp_path: Path) -> Iterator[Mirror]:
    state = State(tmp_path / "state.sqlite3")
    yield Mirror(state)
    state.close()


def task(task_id: int, due: int | None, updated_at: int = 100, *, done: bool = False) -> TaskRow:
    return TaskRow(task_id, 7, due, done, None, None, 1, f"task {task_id}", updated_at)


def late_ids(mirror: Mirror) -> list[int]:
    return [row.id for row in mirror.went_late(WINDOW, LOOK, NOW)]


def test_deadlines_crossed_in_the_window_are_read_and_the_untouched_backlog_is_not(
    mirror: Mirror,
) -> None:
    mirror.put(
        "tasks",
        [
            task(1, NOW - 60),  # went overdue since the look
            task(2, WINDOW + 60),  # in the window: read (the ledger knows it already)
            task(3, WINDOW - 60),  # overdue long ago, untouched since
            task(4, NOW),  # not due yet: a deadline equal to now is not late
            task(5, NOW + 3600),
            task(6, None),  # no deadline
            task(7, NOW - 120, done=True),
        ],
        now=LOOK - 3600,
    )
    assert late_ids(mirror) == [2, 1]  # soonest deadline first


def test_rows_written_since_the_look_are_read_whatever_their_deadline(mirror: Mirror) -> None:
    old = [task(task_id, WINDOW - 86400 * task_id) for task_id in (1, 2, 3, 4)]
    mirror.put("tasks", old, now=LOOK - 3600)
    assert late_ids(mirror) == []
    # after the look the sync writes a newer copy: reassigned, re-dated, reopened, created
    mirror.put("tasks", [task(2, WINDOW - 172800, 200), task(9, WINDOW - 10, 200)], now=LOOK)
    mirror.put("tasks", [task(3, NOW + 60, 200)], now=LOOK + 1)  # re-dated into the future
    mirror.put("tasks", [task(1, WINDOW - 86400, 200)], now=LOOK - 1)  # written before the look
    assert late_ids(mirror) == [2, 9]
    mirror.complete_task(2, 300, LOOK + 2)
    mirror.bury("tasks", [(9, 300)], LOOK + 2)
    assert late_ids(mirror) == []  # completed and deleted ones are not open
