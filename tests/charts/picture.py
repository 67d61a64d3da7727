"""What a test can read back from a PNG: its size from the header, its pixels, glyph warnings."""

from __future__ import annotations

import io
import logging
import struct
import warnings
from collections.abc import Iterator
from contextlib import contextmanager

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
