"""Numbers read from text: ids typed in chat, carried in button data or sent by amoCRM.

One way, ASCII digits only. ``str.isdigit()`` is true for "²" and "①", which ``int()`` then
rejects with a ValueError; ``int()`` and the regex ``\\d`` accept "٣" (an Arabic-Indic three)
and other Unicode digits. Both let text nobody meant as an id through, so neither is used.
"""

from __future__ import annotations

import re

ID_RE = re.compile(r"[0-9]{1,18}")  # 18 digits: every id fits a signed 64-bit integer


def parse_id(text: str) -> int | None:
    """``"123"`` → 123; None for anything but 1-18 ASCII digits."""
    return int(text) if ID_RE.fullmatch(text) else None


def typed_id(text: str) -> int | None:
    """An id as people type it: ``123`` or ``#123`` (amoCRM shows ids with a ``#``)."""
    return parse_id(text.removeprefix("#"))
