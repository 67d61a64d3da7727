"""/team chart: the scorecard's order and totals, and the table as a picture (the text table is
the bot's: tests/bot/test_team.py)."""

from __future__ import annotations

import datetime

import pytz

from leoweb_bot.charts import ScoreRow
from leoweb_bot.charts import scorecard_data
from leoweb_bot.charts import scorecard_table
from leoweb_bot.charts.scorecard import LIMIT
from leoweb_bot.charts.scorecard import table_size
from tests.charts.picture import font_complaints
from tests.charts.picture import pixels
from tests.charts.picture import png_size

TZ = pytz.timezone("Asia/Almaty")
NOW = int(datetime.datetime(2026, 11, 25, 9, 5, tzinfo=datetime.UTC).timestamp())
ROWS = [
    ScoreRow(1, "Зелимхан", overdue=3, due_today=1, closed_today=2, idle_leads=0),
    ScoreRow(2, "Милана", overdue=7, due_today=0, closed_today=5, idle_leads=4),
    ScoreRow(3, "Анна", overdue=3, due_today=2, closed_today=0, idle_leads=6),
    ScoreRow(4, "<b>Боб & Co</b>", overdue=0, due_today=0, closed_today=0, idle_leads=0),
]


def test_most_overdue_first_then_most_leads_without_a_task() -> None:
    table = scorecard_data(ROWS)
    assert [r.amocrm_user_id for r in table.rows] == [2, 3, 1, 4]
    assert table.totals == (13, 3, 7, 10) and table.more_managers == 0


def test_past_the_limit_the_totals_still_count_everyone() -> None:
    rows = [ScoreRow(n, f"М{n}", 1, 1, 1, 1) for n in range(LIMIT + 3)]
    table = scorecard_data(rows)
    assert len(table.rows) == LIMIT and table.more_managers == 3
    assert table.totals == (LIMIT + 3,) * 4


def test_the_picture_is_a_png_of_the_promised_size() -> None:
    with font_complaints() as said:
        png = scorecard_table([*ROWS, ScoreRow(5, "Жанар 🚀 $x$", 1, 1, 1, 1)], NOW, TZ)
    assert said == []
    size = table_size(scorecard_data(ROWS + ROWS[:1]))
    assert png_size(png) == (size.width, size.height) == (1080, size.height)
    assert pixels(png).shape == (size.height, size.width, 4)


def test_the_picture_grows_with_the_team_and_stays_sendable() -> None:
    many = [ScoreRow(n, f"Менеджер {n}", n, 0, 0, 0) for n in range(LIMIT + 5)]
    small, big = table_size(scorecard_data(ROWS)), table_size(scorecard_data(many))
    assert small.height < big.height and big.width + big.height <= 10_000
    assert png_size(scorecard_table(many, NOW, TZ, "en")) == (big.width, big.height)
    empty = table_size(scorecard_data([]))
    assert png_size(scorecard_table([], NOW, TZ)) == (empty.width, empty.height)
