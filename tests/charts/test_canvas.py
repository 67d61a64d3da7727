"""The drawing surface: exact sizes, the glyph filter, and one drawing at a time per process."""

from __future__ import annotations

import datetime
import threading

import pytz

from leoweb_bot.charts import overdue_bars
from leoweb_bot.charts.bars import Bar
from leoweb_bot.charts.bars import BarsData
from leoweb_bot.charts.canvas import Size
from leoweb_bot.charts.canvas import drawable
from leoweb_bot.charts.canvas import render
from tests.charts.picture import font_complaints
from tests.charts.picture import png_size

TZ = pytz.timezone("Asia/Almaty")
NOW = int(datetime.datetime(2026, 11, 25, 9, 5, tzinfo=datetime.UTC).timestamp())


def test_render_makes_a_png_of_exactly_the_size_asked() -> None:
    for size in (Size(1080, 317), Size(401, 1999)):
        assert png_size(render(size, lambda figure: None)) == (size.width, size.height)


def test_drawable_keeps_every_script_the_font_has_and_drops_emoji() -> None:
    assert drawable("Зелимхан Қуанышұлы Ёлкин") == "Зелимхан Қуанышұлы Ёлкин"
    assert drawable("Ivan Müller-Łukasz") == "Ivan Müller-Łukasz"
    assert drawable("Анна 🔥 Петрова") == "Анна Петрова"
    assert drawable("Эмма 👩‍💻") == "Эмма"
    assert drawable("🚀🚀") == "?"
    assert drawable("Анна\tПетрова\n") == "Анна Петрова"


def test_the_glyph_check_would_catch_an_emoji_drawn_as_is() -> None:
    """Without drawable(), matplotlib complains: the check the renderers pass is not vacuous."""
    with font_complaints() as said:
        render(Size(200, 100), lambda figure: figure.text(0.1, 0.5, "Анна 🔥"))
    assert said and "missing from font" in said[0]


def test_threads_drawing_at_once_each_get_their_own_picture() -> None:
    pictures = {
        n: BarsData(tuple(Bar(f"Менеджер {i}", i + n) for i in range(1, 8)), total=n)
        for n in range(1, 5)
    }
    alone = {n: overdue_bars(data, NOW, TZ) for n, data in pictures.items()}
    together: dict[int, bytes] = {}

    def draw(n: int) -> None:
        together[n] = overdue_bars(pictures[n], NOW, TZ)

    threads = [threading.Thread(target=draw, args=(n,)) for n in pictures]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert together == alone
