"""/chart: the bars are the overdue report, most overdue on top, drawn readable on a phone."""

from __future__ import annotations

import datetime

import pytest
import pytz

from leoweb_bot.amocrm.models import Task
from leoweb_bot.amocrm.models import User
from leoweb_bot.charts import bars_caption
from leoweb_bot.charts import bars_data
from leoweb_bot.charts import overdue_bars
from leoweb_bot.charts.bars import LIMIT
from leoweb_bot.charts.bars import NAME_CHARS
from leoweb_bot.charts.bars import Bar
from leoweb_bot.charts.bars import BarsData
from leoweb_bot.charts.bars import bars_size
from leoweb_bot.reports import overdue_by_manager
from tests.charts.picture import font_complaints
from tests.charts.picture import pixels
from tests.charts.picture import png_size
from tests.charts.picture import red_bars

TZ = pytz.timezone("Asia/Almaty")
NOW = int(datetime.datetime(2026, 11, 25, 9, 5, tzinfo=datetime.UTC).timestamp())  # 14:05 local
CYRILLIC = ("Зелимхан Абдурахманов", "Милана", "Сарбиназ Ёлкина", "Жанар Қуанышқызы")


def late_tasks(counts: dict[int, int]) -> list[Task]:
    """``counts[user]`` overdue tasks for each user, plus one open task not yet due."""
    tasks = [
        Task(user * 1000 + n, "Позвонить", user, NOW - 3600 * (n + 2), is_completed=False)
        for user, count in counts.items()
        for n in range(count)
    ]
    return [*tasks, Task(1, "Завтра", 1, NOW + 86400, False)]


def report_of(counts: dict[int, int], names: dict[int, str]):
    users = {uid: User(uid, name) for uid, name in names.items()}
    return overdue_by_manager(late_tasks(counts), users, NOW, TZ)


def test_bars_are_the_report_most_overdue_first() -> None:
    report = report_of({1: 3, 2: 7, 3: 1, 4: 3}, dict(enumerate(CYRILLIC, start=1)))
    data = bars_data(report)
    assert [(b.name, b.overdue) for b in data.bars] == [
        ("Милана", 7),
        ("Зелимхан Абдурахманов", 3),  # a tie keeps the report's order (by amoCRM id)
        ("Жанар Қуанышқызы", 3),
        ("Сарбиназ Ёлкина", 1),
    ]
    assert data.total == report.total_overdue == 14
    assert (data.more_managers, data.more_overdue) == (0, 0)
    assert {(m.name, m.overdue) for m in report.managers} == {
        (b.name, b.overdue) for b in data.bars
    }


def test_bars_sort_whatever_order_the_report_has() -> None:
    report = report_of({1: 1, 2: 5, 3: 2}, {1: "А", 2: "Б", 3: "В"})
    shuffled = type(report)(report.generated_at, report.timezone, report.managers[::-1])
    assert [b.overdue for b in bars_data(shuffled).bars] == [5, 2, 1]


def test_long_names_are_cut_on_one_line_and_unknown_users_show_their_id() -> None:
    long = "Александра  Константиновна\nВасилевская-Долгорукова"
    report = report_of({1: 2, 99: 1}, {1: long})
    first, unknown = bars_data(report).bars
    assert len(first.name) == NAME_CHARS
    assert first.name == "Александра Константино…"[: NAME_CHARS - 1].rstrip() + "…"
    assert "\n" not in first.name and "  " not in first.name
    assert unknown.name == "#99"


def test_past_the_limit_the_rest_are_summed_into_one_note() -> None:
    counts = {uid: 100 - uid for uid in range(1, LIMIT + 6)}  # 45 managers
    report = report_of(counts, {uid: f"Менеджер {uid}" for uid in counts})
    data = bars_data(report)
    assert len(data.bars) == LIMIT
    assert data.bars[-1] == Bar(f"Менеджер {LIMIT}", 100 - LIMIT)
    assert data.more_managers == 5
    assert data.more_overdue == sum(100 - uid for uid in range(LIMIT + 1, LIMIT + 6))
    assert data.total == sum(counts.values())


def test_caption_has_the_total_and_the_moment_in_company_time() -> None:
    data = bars_data(report_of({1: 2, 2: 1}, {1: "А", 2: "Б"}))
    assert bars_caption(data, NOW, TZ) == "Просрочено задач: 3\nна 25.11.2026 14:05 (Asia/Almaty)"
    assert bars_caption(data, NOW, TZ, "en").startswith("Overdue tasks: 3\nas of 25.11.2026 14:05")


def test_the_picture_is_a_png_of_the_promised_size_with_one_bar_per_manager() -> None:
    report = report_of({1: 12, 2: 6, 3: 3, 4: 9}, dict(enumerate(CYRILLIC, start=1)))
    data = bars_data(report)
    png = overdue_bars(data, NOW, TZ)
    size = bars_size(data)
    assert png_size(png) == (size.width, size.height) == (1080, size.height)
    assert pixels(png).shape == (size.height, size.width, 4)  # it decodes
    lengths = red_bars(png)
    assert len(lengths) == 4
    for bar, length in zip(data.bars, lengths, strict=True):  # proportional, give or take the
        # antialiased pixel at either end
        assert abs(length - lengths[0] * bar.overdue / data.bars[0].overdue) <= 2


def test_height_grows_with_the_managers_and_the_note() -> None:
    one = bars_size(BarsData((Bar("А", 1),), total=1))
    forty = bars_size(BarsData(tuple(Bar("А", 1) for _ in range(40)), total=40))
    more = bars_size(BarsData(tuple(Bar("А", 1) for _ in range(40)), 45, 5, 5))
    assert one.width == forty.width == more.width
    assert one.height < forty.height < more.height
    assert forty.width + forty.height <= 10_000 and forty.height / forty.width <= 20  # sendPhoto


def test_cyrillic_names_draw_without_missing_glyphs() -> None:
    data = BarsData(tuple(Bar(name, n + 1) for n, name in enumerate(CYRILLIC)), total=10)
    with font_complaints() as said:
        png = overdue_bars(data, NOW, TZ)
    assert said == []
    assert png_size(png) == (1080, bars_size(data).height)


@pytest.mark.parametrize(
    "name", ["Анна 🔥 Петрова", "🚀", "Иван $500$ x_1^2 \\frac", "Эмма 👩‍💻", "<b>&amp;"]
)
def test_emoji_and_tex_in_names_neither_crash_nor_complain(name: str) -> None:
    data = BarsData((Bar(name, 3), Bar("Милана", 1)), total=4)
    with font_complaints() as said:
        png = overdue_bars(data, NOW, TZ, "en")
    assert said == []
    assert len(red_bars(png)) == 2


def test_no_overdue_tasks_is_still_a_picture() -> None:
    data = bars_data(report_of({}, {}))
    assert data == BarsData((), total=0)
    png = overdue_bars(data, NOW, TZ)
    assert png_size(png) == (bars_size(data).width, bars_size(data).height)
    assert red_bars(png) == []
