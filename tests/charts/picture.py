"""What a test can read back from a PNG: its size from the header, its pixels, the red bars of
/chart, glyph warnings."""

from __future__ import annotations

import io
import logging
import struct
import warnings
from collections.abc import Iterator
from contextlib import contextmanager

from leoweb_bot.charts.canvas import ALARM

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
GLYPH_TROUBLE = ("glyph", "missing from font", "findfont")


def png_size(png: bytes) -> tuple[int, int]:
    """(width, height) from the IHDR chunk, which the PNG format puts first."""
    assert png[:8] == PNG_MAGIC, png[:8]
    assert png[12:16] == b"IHDR"
    width, height = struct.unpack(">II", png[16:24])
    return width, height


def pixels(png: bytes):  # numpy array (height, width, 4) of floats 0..1
    from matplotlib.image import imread

    return imread(io.BytesIO(png), format="png")


@contextmanager
def font_complaints() -> Iterator[list[str]]:
    """Collects what matplotlib says about fonts while drawing, as warnings or as log lines."""
    said: list[str] = []

    class Collect(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            said.append(record.getMessage())

    handler = Collect(logging.WARNING)
    logger = logging.getLogger("matplotlib")
    logger.addHandler(handler)
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            yield said
        said.extend(str(w.message) for w in caught)
    finally:
        logger.removeHandler(handler)
    said[:] = [s for s in said if any(word in s.lower() for word in GLYPH_TROUBLE)]


def red_bars(png: bytes) -> list[int]:
    """The red bars' lengths in pixels, top to bottom, measured across the middle of each."""
    import numpy

    image = pixels(png)[:, :, :3]
    red = numpy.array([int(ALARM[i : i + 2], 16) / 255 for i in (1, 3, 5)])
    mask = (abs(image - red) < 0.02).all(axis=2)
    rows = mask.sum(axis=1)
    lengths, start = [], None
    for y, count in enumerate([*rows, 0]):
        if count and start is None:
            start = y
        elif not count and start is not None:
            lengths.append(int(rows[(start + y) // 2]))
            start = None
    return lengths
