"""``/chart trend``: the last 8 weeks of overdue tasks, the total and the five managers with the
most, one point per recorded company-time day, gaps where no day was recorded."""

from __future__ import annotations

import datetime
from collections.abc import Iterable
from typing import TYPE_CHECKING

from leoweb_bot.charts.canvas import GRID
from leoweb_bot.charts.canvas import INK
from leoweb_bot.charts.canvas import MARGIN
from leoweb_bot.charts.canvas import Size
from leoweb_bot.charts.canvas import box
from leoweb_bot.charts.canvas import drawable
from leoweb_bot.charts.canvas import header
from leoweb_bot.charts.canvas import note
from leoweb_bot.charts.canvas import render
from leoweb_bot.charts.history import DailySnapshot
from leoweb_bot.charts.history import Points
from leoweb_bot.charts.history import TrendData
from leoweb_bot.charts.history import trend_data
from leoweb_bot.charts.texts import as_of
from leoweb_bot.charts.texts import label
from leoweb_bot.charts.texts import shorten

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

SIZE = Size(1080, 1320)
# Two panels, because the total would flatten the managers' lines on a shared scale. Pixels
# from the top: (top, bottom) of each panel; then the dates, the note and the legend.
TOTAL_PANEL, TOP_PANEL = (250, 540), (660, 1010)
LEFT, NOTE_AT, LEGEND_AT = 120, 1115, 1130
NAME_CHARS = 20
COLOURS = ("#1f77b4", "#ff7f0e", "#2ca02c", "#9467bd", "#8c564b")  # matplotlib's tab10, no red


def trend_lines(
    history: Iterable[DailySnapshot], now: int, tz: datetime.tzinfo, lang: str = "ru"
) -> bytes:
    """The PNG for ``/chart trend``; says so when history is shorter than the window."""
    return trend_picture(trend_data(history, now, tz), as_of(lang, now, tz), lang)


def trend_picture(data: TrendData, moment: str, lang: str) -> bytes:
    def draw(figure: Figure) -> None:
        header(figure, SIZE, label(lang, "trend_title"), moment)
        if not data.recorded_days:
            figure.text(0.5, 0.5, label(lang, "trend_none"), ha="center", va="center",
                        fontsize=13, color=INK)  # fmt: skip
            return
        total = panel(figure, data, TOTAL_PANEL, label(lang, "trend_total"))
        plot(total, data.total, "", INK, width=3)
        total.tick_params(labelbottom=False)
        top = panel(figure, data, TOP_PANEL, label(lang, "trend_top"))
        for series, colour in zip(data.top, COLOURS, strict=False):
            plot(top, series.points, drawable(shorten(series.name, NAME_CHARS)), colour, width=2)
        if data.is_short:
            day = data.first_day.strftime("%d.%m.%Y") if data.first_day else ""
            note(figure, SIZE, SIZE.height - NOTE_AT, label(lang, "trend_short", day=day))
        if data.top:
            legend = top.legend(loc="upper left", ncols=2, fontsize=11, frameon=False,
                                bbox_to_anchor=(MARGIN / SIZE.width, 1 - LEGEND_AT / SIZE.height),
                                bbox_transform=figure.transFigure)  # fmt: skip
            for text in legend.get_texts():
                text.set_parse_math(False)  # a "$" in a name is a dollar, not TeX

    return render(SIZE, draw)


def panel(figure: Figure, data: TrendData, rows: tuple[int, int], title: str) -> Axes:
    """Axes over the whole window (a short history sits at the right), a tick each week."""
    from matplotlib.ticker import MaxNLocator

    top, bottom = rows
    axes = figure.add_axes(box(SIZE, LEFT, top, MARGIN, SIZE.height - bottom))
    axes.set_title(title, loc="left", fontsize=11, color=INK)
    last = len(data.days) - 1
    weekly = range(last % 7, last + 1, 7)  # ends on today
    axes.set_xticks(weekly, [data.days[i].strftime("%d.%m") for i in weekly])
    axes.set_xlim(-0.5, last + 0.5)
    axes.set_ylim(0, 1)  # from zero; each line raises the top to fit
    axes.yaxis.set_major_locator(MaxNLocator(integer=True, nbins=5))
    axes.tick_params(labelsize=10, colors=INK)
    axes.grid(axis="y", color=GRID)
    for side in ("top", "right"):
        axes.spines[side].set_visible(False)
    return axes


def plot(axes: Axes, points: Points, name: str, colour: str, width: float) -> None:
    """One series; an unrecorded day is NaN, which matplotlib leaves as a gap, not a guess."""
    values = [float("nan") if p is None else p for p in points]
    axes.plot(range(len(values)), values, color=colour, linewidth=width, marker="o",
              markersize=width + 1.5, label=name)  # fmt: skip
    highest = max((p for p in points if p is not None), default=0)
    axes.set_ylim(0, max(highest * 1.15, axes.get_ylim()[1], 1))
