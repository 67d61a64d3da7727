"""/chart trend: one point per recorded company-time day, never an invented one."""

from __future__ import annotations

import datetime
import math

import pytest
import pytz

from leoweb_bot.charts import DailySnapshot
from leoweb_bot.charts import trend_data
from leoweb_bot.charts import trend_lines
from leoweb_bot.charts.trend import SIZE
from tests.charts.picture import font_complaints
from tests.charts.picture import pixels
from tests.charts.picture import png_size

TZ = pytz.timezone("Asia/Almaty")
# 20:30 UTC on the 24th is already 01:30 on the 25th in Almaty: "today" is company time's
NOW = int(datetime.datetime(2026, 11, 24, 20, 30, tzinfo=datetime.UTC).timestamp())
TODAY = datetime.date(2026, 11, 25)
WINDOW = 56


def day(n: int) -> datetime.date:
    """``n`` days before today."""
    return TODAY - datetime.timedelta(days=n)


def history(days: int, managers: int = 7, skip: tuple[int, ...] = ()) -> list[DailySnapshot]:
    """``days`` recorded days up to today; manager ``u`` has ``u`` overdue on each."""
    return [
        DailySnapshot(day(n), uid, f"Менеджер {uid}", overdue=uid, due_today=1, closed=2)
        for n in range(days)
        if n not in skip
        for uid in range(1, managers + 1)
    ]


def recorded(points: tuple[int | None, ...]) -> list[int]:
    return [i for i, p in enumerate(points) if p is not None]


def test_no_history_has_no_points_and_says_it_is_short() -> None:
    data = trend_data([], NOW, TZ)
    assert len(data.days) == WINDOW and data.days[-1] == TODAY and data.days[0] == day(55)
    assert data.total == (None,) * WINDOW
    assert data.top == () and data.recorded_days == 0
    assert data.first_day is None and data.is_short


def test_one_day_is_one_point_today() -> None:
    data = trend_data(history(1), NOW, TZ)
    assert recorded(data.total) == [WINDOW - 1]
    assert data.total[-1] == sum(range(1, 8))
    assert all(recorded(s.points) == [WINDOW - 1] for s in data.top)
    assert data.recorded_days == 1 and data.is_short and data.first_day == TODAY


def test_sixty_days_fill_the_window_and_drop_what_is_older() -> None:
    data = trend_data(history(60), NOW, TZ)
    assert data.recorded_days == WINDOW
    assert data.total == (28,) * WINDOW
    assert data.first_day == day(59) and not data.is_short


def test_the_top_five_have_the_most_overdue_over_the_window() -> None:
    data = trend_data(history(10), NOW, TZ)
    assert [s.amocrm_user_id for s in data.top] == [7, 6, 5, 4, 3]
    assert data.top[0].points[-10:] == (7,) * 10


def test_missing_days_stay_empty_and_are_never_filled_in() -> None:
    data = trend_data(history(20, skip=(3, 4, 10)), NOW, TZ)
    gaps = [WINDOW - 1 - n for n in (3, 4, 10)]
    assert all(data.total[i] is None for i in gaps)
    assert all(series.points[i] is None for series in data.top for i in gaps)
    assert data.recorded_days == 17
    assert data.total[: WINDOW - 20] == (None,) * (WINDOW - 20)  # before the first run: nothing


def test_a_manager_without_a_row_on_a_recorded_day_had_none() -> None:
    snaps = [
        DailySnapshot(day(1), 1, "Анна", 4),
        DailySnapshot(day(1), 2, "Борис", 2),
        DailySnapshot(day(0), 1, "Анна", 3),  # Борис closed his tasks: no row today
    ]
    data = trend_data(snaps, NOW, TZ)
    boris = next(s for s in data.top if s.amocrm_user_id == 2)
    assert boris.points[-2:] == (2, 0)
    assert data.total[-2:] == (6, 3)


def test_the_latest_row_wins_and_the_future_is_ignored() -> None:
    snaps = [
        DailySnapshot(day(0), 1, "Анна", 4),
        DailySnapshot(day(0), 1, "Анна Петрова", 5),  # recorded again later the same day
        DailySnapshot(TODAY + datetime.timedelta(days=1), 1, "Анна", 99),
    ]
    data = trend_data(snaps, NOW, TZ)
    assert data.total[-1] == 5 and data.top[0].name == "Анна Петрова"
    assert data.recorded_days == 1 and data.first_day == TODAY


def test_history_older_than_the_window_means_it_is_not_short() -> None:
    data = trend_data([*history(1), DailySnapshot(day(90), 1, "Анна", 1)], NOW, TZ)
    assert data.recorded_days == 1 and not data.is_short


def test_managers_with_nothing_overdue_are_not_drawn() -> None:
    snaps = [DailySnapshot(day(0), uid, f"М{uid}", 0) for uid in range(3)]
    data = trend_data(snaps, NOW, TZ)
    assert data.top == () and data.total[-1] == 0 and data.recorded_days == 1


@pytest.mark.parametrize("days", [0, 1, 60])
def test_the_picture_is_a_png_of_the_fixed_size(days: int) -> None:
    with font_complaints() as said:
        png = trend_lines(history(days), NOW, TZ)
    assert said == []
    assert png_size(png) == (SIZE.width, SIZE.height)
    image = pixels(png)
    assert image.shape == (SIZE.height, SIZE.width, 4)
    assert not math.isclose(float(image[:, :, :3].min()), 1.0)  # not a blank page


def test_names_with_emoji_and_dollars_draw_quietly() -> None:
    snaps = [DailySnapshot(day(0), 1, "Анна 🔥 $x$", 3), DailySnapshot(day(0), 2, "🚀", 1)]
    with font_complaints() as said:
        png = trend_lines(snaps, NOW, TZ, "en")
    assert said == [] and png_size(png) == (SIZE.width, SIZE.height)
