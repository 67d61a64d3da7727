"""The daily history: a day is recorded once, whoever records it; reading it back gives the
window asked for and the first day ever, so a chart knows since when there is history."""

from __future__ import annotations

import datetime
from pathlib import Path

from leoweb_bot.state import State
from leoweb_bot.state.snapshots import history
from leoweb_bot.state.snapshots import is_recorded
from leoweb_bot.state.snapshots import record_day

DAY = datetime.date(2026, 11, 25)


def day(n: int) -> datetime.date:
    return DAY - datetime.timedelta(days=n)


def test_a_day_is_recorded_once_with_its_zeros_and_a_second_process_writes_nothing(
    state: State, db_path: Path
) -> None:
    assert not is_recorded(state, DAY)
    rows = [(1, "Зелимхан", 3, 1, 2), (2, "Милана", 0, 0, 0)]
    assert record_day(state, DAY, rows, 100.0)
    other = State(db_path)  # another gunicorn worker took its own snapshot a moment later
    assert not record_day(other, DAY, [(1, "Зелимхан", 9, 9, 9), (3, "Новый", 1, 1, 1)], 101.0)
    assert is_recorded(other, DAY)
    assert history(state, DAY) == [(DAY, 1, "Зелимхан", 3, 1, 2), (DAY, 2, "Милана", 0, 0, 0)]
    other.close()


def test_a_day_with_nobody_to_count_is_still_recorded(state: State) -> None:
    assert record_day(state, DAY, [], 100.0)
    assert is_recorded(state, DAY) and history(state, day(7)) == []


def test_history_is_the_window_and_the_first_day_oldest_first(state: State) -> None:
    for n in (90, 89, 10, 3, 0):
        record_day(state, day(n), [(1, "Зелимхан", n, 0, 0), (2, "Милана", 1, 0, 0)], 0.0)
    read = history(state, day(10))
    assert sorted({row[0] for row in read}) == [day(90), day(10), day(3), day(0)]
    assert read[:2] == [(day(90), 1, "Зелимхан", 90, 0, 0), (day(90), 2, "Милана", 1, 0, 0)]


def test_a_managers_history_starts_on_their_own_first_day(state: State) -> None:
    record_day(state, day(30), [(1, "Зелимхан", 5, 0, 0)], 0.0)
    record_day(state, day(20), [(1, "Зелимхан", 4, 0, 0), (2, "Милана", 2, 1, 0)], 0.0)
    record_day(state, day(1), [(1, "Зелимхан", 3, 0, 0), (2, "Милана", 1, 0, 1)], 0.0)
    assert history(state, day(7), amocrm_user_id=2) == [
        (day(20), 2, "Милана", 2, 1, 0),
        (day(1), 2, "Милана", 1, 0, 1),
    ]
    assert [row[0] for row in history(state, day(7), amocrm_user_id=1)] == [day(30), day(1)]
