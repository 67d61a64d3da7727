"""``/team chart``: one line per manager — overdue now, due today, closed today, open leads
without a next task — as a table in a picture. ``scorecard_data`` is also the order and the totals
of the bot's text table (``bot/team.py``)."""

from __future__ import annotations

import datetime
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from leoweb_bot.charts.canvas import ALARM
from leoweb_bot.charts.canvas import INK
from leoweb_bot.charts.canvas import MARGIN
from leoweb_bot.charts.canvas import MUTED
from leoweb_bot.charts.canvas import Size
from leoweb_bot.charts.canvas import box
from leoweb_bot.charts.canvas import drawable
from leoweb_bot.charts.canvas import header
from leoweb_bot.charts.canvas import note
from leoweb_bot.charts.canvas import render
from leoweb_bot.charts.texts import as_of
from leoweb_bot.charts.texts import label
from leoweb_bot.charts.texts import shorten
from leoweb_bot.reports import ScoreRow

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

LIMIT = 40  # managers listed; the totals still count everyone
NAME_CHARS = 16  # in the picture
COLUMNS = ("overdue", "today", "closed", "idle")
WIDTH, HEAD, TITLES, ROW, FOOT, NOTE = 1080, 170, 110, 64, 30, 70  # pixels
NAME_SHARE = 0.36  # of the table's width; the four numbers share the rest


@dataclass(frozen=True)
class ScoreTable:
    rows: tuple[ScoreRow, ...]  # the managers shown, most overdue first
    totals: tuple[int, int, int, int]  # over every manager, the ones not shown included
    more_managers: int


def scorecard_data(rows: Iterable[ScoreRow], limit: int = LIMIT) -> ScoreTable:
    """Most overdue first, then most leads without a task, then by name; totals over all."""
    ranked = sorted(
        rows, key=lambda r: (-r.overdue, -r.idle_leads, -r.due_today, r.name.casefold(), r.amocrm_user_id)
    )  # fmt: skip
    totals = (
        sum(r.overdue for r in ranked),
        sum(r.due_today for r in ranked),
        sum(r.closed_today for r in ranked),
        sum(r.idle_leads for r in ranked),
    )
    return ScoreTable(tuple(ranked[:limit]), totals, more_managers=max(0, len(ranked) - limit))


def scorecard_table(
    rows: Iterable[ScoreRow], now: int, tz: datetime.tzinfo, lang: str = "ru"
) -> bytes:
    """The PNG for ``/team chart``: the same table as :func:`scorecard_text`, zebra-striped,
    overdue counts in red."""
    table = scorecard_data(rows)
    size = table_size(table)

    def draw(figure: Figure) -> None:
        header(figure, size, label(lang, "team_title"), as_of(lang, now, tz))
        if not table.rows:
            note(figure, size, FOOT, label(lang, "team_none"))
            return
        bottom = FOOT + (NOTE if table.more_managers else 0)
        axes = figure.add_axes(box(size, MARGIN, HEAD, MARGIN, bottom))
        axes.set_axis_off()
        draw_cells(axes, grid_lines(table, lang))
        if table.more_managers:
            note(figure, size, FOOT, label(lang, "team_more", managers=table.more_managers))

    return render(size, draw)


def table_size(table: ScoreTable) -> Size:
    if not table.rows:
        return Size(WIDTH, HEAD + ROW + FOOT)
    rows = ROW * (len(table.rows) + 1)  # the managers and the totals
    return Size(WIDTH, HEAD + TITLES + rows + FOOT + (NOTE if table.more_managers else 0))


def grid_lines(table: ScoreTable, lang: str) -> list[tuple[str, ...]]:
    head = (label(lang, "team_name"), *(label(lang, f"team_{c}") for c in COLUMNS))
    body = [(drawable(shorten(r.name, NAME_CHARS)), *map(str, r.numbers)) for r in table.rows]
    return [head, *body, (label(lang, "team_total"), *map(str, table.totals))]


def draw_cells(axes: Axes, grid: list[tuple[str, ...]]) -> None:
    """matplotlib's Table, one cell at a time: names left, numbers right, the totals in bold and
    overdue counts in red."""
    from matplotlib.table import Table

    table = Table(axes, bbox=(0, 0, 1, 1))
    share = (1 - NAME_SHARE) / len(COLUMNS)
    last = len(grid) - 1
    for row, values in enumerate(grid):
        edge = row in (0, last)
        shade = "#eeeeee" if edge else "#f7f7f7" if row % 2 else "white"
        for col, value in enumerate(values):
            cell = table.add_cell(
                row, col, NAME_SHARE if col == 0 else share, TITLES / ROW if row == 0 else 1,
                text=value, loc="left" if col == 0 else "right", facecolor=shade, edgecolor="white",
            )  # fmt: skip
            cell.PAD = 0.05  # of the cell's width, each side; the default 0.1 cuts names short
            text = cell.get_text()
            text.set_parse_math(False)  # a "$" in a name is a dollar, not TeX
            text.set_fontsize(10 if row == 0 else 12)
            alarm = col == 1 and 0 < row < last and value != "0"
            text.set_color(ALARM if alarm else MUTED if row == 0 else INK)
            if row == last or alarm:
                text.set_fontweight("bold")
    table.auto_set_font_size(False)
    axes.add_table(table)
