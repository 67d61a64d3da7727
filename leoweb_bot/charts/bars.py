"""``/chart``: overdue tasks per manager right now, as horizontal bars, most overdue on top."""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from typing import TYPE_CHECKING

from leoweb_bot.charts.canvas import ALARM
from leoweb_bot.charts.canvas import INK
from leoweb_bot.charts.canvas import MARGIN
from leoweb_bot.charts.canvas import Size
from leoweb_bot.charts.canvas import box
from leoweb_bot.charts.canvas import drawable
from leoweb_bot.charts.canvas import header
from leoweb_bot.charts.canvas import note
from leoweb_bot.charts.canvas import render
from leoweb_bot.charts.canvas import widest
from leoweb_bot.charts.texts import as_of
from leoweb_bot.charts.texts import label
from leoweb_bot.charts.texts import shorten
from leoweb_bot.reports import OverdueReport

if TYPE_CHECKING:
    from matplotlib.figure import Figure

LIMIT = 40  # bars on one picture; a phone still reads 40 names, the rest are summed in a note
NAME_CHARS = 22
WIDTH = 1080
HEAD, ROW, FOOT, NOTE = 180, 60, 30, 70  # pixels: title, one bar, bottom margin, "+N more"
GAP = 16  # pixels between a name and its bar


@dataclass(frozen=True)
class Bar:
    name: str
    overdue: int


@dataclass(frozen=True)
class BarsData:
    bars: tuple[Bar, ...]  # most overdue first
    total: int  # every overdue task, the summed-up managers included
    more_managers: int = 0
    more_overdue: int = 0


def bars_data(report: OverdueReport, limit: int = LIMIT) -> BarsData:
    """The bars of ``report``: most overdue first (ties keep the report's order), names cut to
    one line, and past ``limit`` managers the rest summed into one "+N more" note."""
    ranked = sorted(report.managers, key=lambda m: -m.overdue)
    shown, rest = ranked[:limit], ranked[limit:]
    return BarsData(
        bars=tuple(Bar(shorten(m.name, NAME_CHARS), m.overdue) for m in shown),
        total=report.total_overdue,
        more_managers=len(rest),
        more_overdue=sum(m.overdue for m in rest),
    )


def bars_caption(data: BarsData, now: int, tz: datetime.tzinfo, lang: str = "ru") -> str:
    """The photo's caption: the total and the moment, e.g. "на 25.11.2026 14:05 (Asia/Almaty)"."""
    return label(lang, "bars_caption", total=data.total, as_of=as_of(lang, now, tz))


def bars_size(data: BarsData) -> Size:
    """Fixed width; the height grows with the number of bars, so each bar keeps its size."""
    note = NOTE if data.more_managers else 0
    return Size(WIDTH, HEAD + ROW * max(len(data.bars), 1) + FOOT + note)


def overdue_bars(data: BarsData, now: int, tz: datetime.tzinfo, lang: str = "ru") -> bytes:
    """The PNG for ``/chart``: one bar per manager with its count on it, the total in the title."""
    size = bars_size(data)
    subtitle = bars_caption(data, now, tz, lang).replace("\n", " · ")

    def draw(figure: Figure) -> None:
        from matplotlib.transforms import offset_copy

        header(figure, size, label(lang, "bars_title"), subtitle)
        if not data.bars:
            figure.text(0.5, 0.3, label(lang, "bars_none"), ha="center", fontsize=14, color=INK)
            return
        axes = figure.add_axes((0, 0, 1, 1))  # placed below, once the names are measured
        counts = [bar.overdue for bar in data.bars]
        rows = range(len(data.bars))
        bars = axes.barh(rows, counts, height=0.7, color=ALARM)
        # Names as plain texts left of the axis: 40 ticks cost matplotlib twice as much.
        beside = offset_copy(axes.get_yaxis_transform(), figure, x=-GAP, units="dots")
        names = [
            axes.text(0, row, drawable(bar.name), transform=beside, ha="right", va="center",
                      fontsize=12, color=INK, parse_math=False)
            for row, bar in zip(rows, data.bars, strict=True)
        ]  # fmt: skip
        axes.set_yticks([])
        axes.bar_label(bars, padding=4, fontsize=12, color=INK)
        axes.set_ylim(len(data.bars) - 0.5, -0.5)  # first bar on top, no empty band
        axes.set_xlim(0, max(counts) * 1.15)  # room for the count after the longest bar
        axes.set_xticks([])
        for side in ("top", "right", "bottom"):
            axes.spines[side].set_visible(False)
        bottom = FOOT + (NOTE if data.more_managers else 0)
        left = MARGIN + widest(figure, names) + GAP
        axes.set_position(box(size, left=left, top=HEAD, right=MARGIN, bottom=bottom))
        if data.more_managers:
            more = label(lang, "bars_more", managers=data.more_managers, tasks=data.more_overdue)
            note(figure, size, FOOT, more)

    return render(size, draw)
