"""``/team``: one line per manager — overdue now, due today, closed today, open leads without a
next task — as Telegram HTML text and as the same table in a picture."""

from __future__ import annotations

import datetime
import html
import unicodedata
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

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

LIMIT = 40  # managers listed; the totals still count everyone
NAME_CHARS = 16  # in the picture
TEXT_NAME_CELLS = 14  # in the text: with four numbers of 4 columns a line is 30, a phone's width
COLUMNS = ("overdue", "today", "closed", "idle")
WIDTH, HEAD, TITLES, ROW, FOOT, NOTE = 1080, 170, 110, 64, 30, 70  # pixels
NAME_SHARE = 0.36  # of the table's width; the four numbers share the rest


@dataclass(frozen=True)
class ScoreRow:
    amocrm_user_id: int
    name: str
    overdue: int
    due_today: int
    closed_today: int
    idle_leads: int  # open leads without a next task

    @property
    def numbers(self) -> tuple[int, int, int, int]:
        return (self.overdue, self.due_today, self.closed_today, self.idle_leads)


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


def scorecard_text(
    rows: Iterable[ScoreRow], now: int, tz: datetime.tzinfo, lang: str = "ru"
) -> str:
    """Telegram HTML: a title, the table in ``<pre>`` (monospace, names escaped) and a legend."""
    table = scorecard_data(rows)
    title = f"<b>{html.escape(label(lang, 'team_title'))}</b> {html.escape(as_of(lang, now, tz))}"
    if not table.rows:
        return f"{title}\n{html.escape(label(lang, 'team_none'))}"
    heads = [label(lang, f"team_head_{c}") for c in COLUMNS]
    lines = [text_line("", heads)]
    lines += [text_line(r.name, r.numbers) for r in table.rows]
    lines.append(text_line(label(lang, "team_total"), table.totals))
    more = label(lang, "team_more", managers=table.more_managers) if table.more_managers else ""
    body = html.escape("\n".join(lines))
    notes = "\n".join(html.escape(n) for n in (more, label(lang, "team_legend")) if n)
    return f"{title}\n<pre>{body}</pre>\n{notes}"


def text_line(name: str, cells: Iterable[object]) -> str:
    return fit(name, TEXT_NAME_CELLS) + "".join(f"{cell!s:>4}" for cell in cells)


def fit(text: str, width: int) -> str:
    """``text`` padded or cut ("…") to ``width`` monospace columns; an emoji takes two."""
    text = " ".join(text.split())
    if columns(text) > width:
        while columns(text) > width - 1:
            text = text[:-1]
        text += "…"
    return text + " " * (width - columns(text))


def columns(text: str) -> int:
    return sum(columns_of(ch) for ch in text)


def columns_of(ch: str) -> int:
    if unicodedata.category(ch) in ("Mn", "Me", "Cf"):  # accents, variation selectors, joiners
        return 0
    return 2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1


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
