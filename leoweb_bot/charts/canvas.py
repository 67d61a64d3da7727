"""The one place that touches matplotlib: a Figure of an exact pixel size, drawn and saved as PNG.

matplotlib is imported inside these functions, never at module level, so importing the charts
(or the bot that uses them) does not load it. Only the object API is used — ``Figure`` and
``FigureCanvasAgg`` — because pyplot keeps global figures and a backend per process, which a
threaded server must not share. matplotlib is not thread-safe (font caches, the text layout
cache), so one lock serialises drawing within a process.
"""

from __future__ import annotations

import functools
import io
import threading
import unicodedata
from collections.abc import Callable
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from matplotlib.figure import Figure
    from matplotlib.text import Text

Rect = tuple[float, float, float, float]  # left, bottom, width, height: fractions of the figure
# Pictures are laid out for a phone: 5.4 inches wide at 200 dpi is 1080 pixels, and a 12 pt font
# is 1/30 of the width, about 12 pt again when Telegram shows the photo across a phone's screen.
DPI = 200
FONT = "DejaVu Sans"  # ships with matplotlib and covers Cyrillic
INK = "#222222"
MUTED = "#666666"
ALARM = "#c0392b"
GRID = "#dddddd"
MARGIN = 30  # pixels at the left edge, where the titles and notes start
_DRAWING = threading.Lock()


@dataclass(frozen=True)
class Size:
    width: int
    height: int


def render(size: Size, draw: Callable[[Figure], None]) -> bytes:
    """A PNG of exactly ``size`` pixels with whatever ``draw`` puts on a fresh Figure."""
    from matplotlib import rc_context
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    # rc_context sets process-wide defaults for the duration: safe under the lock, and it keeps a
    # matplotlibrc on the server (another font, usetex) from changing what the bot draws.
    with _DRAWING, rc_context({"font.family": [FONT], "text.usetex": False}):
        figure = Figure(figsize=(size.width / DPI, size.height / DPI), dpi=DPI)
        figure.set_facecolor("white")
        canvas = FigureCanvasAgg(figure)
        draw(figure)
        out = io.BytesIO()
        # zlib level 1: a third of the default's time for 5 % more bytes, and Telegram
        # re-encodes photos anyway (bench/charts.py)
        canvas.print_png(out, pil_kwargs={"compress_level": 1})
        return out.getvalue()


def box(size: Size, left: float, top: float, right: float, bottom: float) -> Rect:
    """An axes rectangle from margins in pixels (matplotlib wants fractions from bottom left)."""
    width, height = size.width - left - right, size.height - top - bottom
    return (left / size.width, bottom / size.height, width / size.width, height / size.height)


def header(figure: Figure, size: Size, title: str, subtitle: str) -> None:
    """The title and, under it in grey, what the picture shows and when: the same on each."""
    figure.text(MARGIN / size.width, 1 - 24 / size.height, title, fontsize=16, weight="bold",
                va="top", color=INK)  # fmt: skip
    figure.text(MARGIN / size.width, 1 - 100 / size.height, subtitle, fontsize=11, va="top",
                color=MUTED)  # fmt: skip


def note(figure: Figure, size: Size, bottom: float, text: str) -> None:
    """A grey line under the chart, ``bottom`` pixels above the picture's lower edge."""
    figure.text(MARGIN / size.width, bottom / size.height, text, fontsize=11, color=MUTED)


def widest(figure: Figure, texts: Iterable[Text]) -> float:
    """The width in pixels of the widest of ``texts`` as they will be drawn."""
    renderer = figure.canvas.get_renderer()  # type: ignore[attr-defined]
    return max((text.get_window_extent(renderer).width for text in texts), default=0.0)


def drawable(text: str) -> str:
    """``text`` without the characters the font has no glyph for (emoji, mostly).

    Without this, matplotlib draws an empty box and warns "Glyph … missing from font(s)" for each
    one; a name like "Анна 🔥" reads better as "Анна". A name left empty becomes "?".
    """
    glyphs = _charmap()
    text = " ".join(text.split())
    # Cf too: the zero-width joiners an emoji sequence leaves behind are invisible anyway
    kept = "".join(ch for ch in text if ord(ch) in glyphs and unicodedata.category(ch) != "Cf")
    return " ".join(kept.split()) or "?"


@functools.cache
def _charmap() -> frozenset[int]:
    from matplotlib import font_manager
    from matplotlib.ft2font import FT2Font

    path = font_manager.findfont(
        font_manager.FontProperties(family=FONT), fallback_to_default=False
    )
    return frozenset(FT2Font(path).get_charmap())
