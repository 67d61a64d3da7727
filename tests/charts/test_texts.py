"""The charts' words: every key in both languages, with the same placeholders."""

from __future__ import annotations

import string

from leoweb_bot.charts.texts import EN
from leoweb_bot.charts.texts import RU
from leoweb_bot.charts.texts import label
from leoweb_bot.charts.texts import shorten


def fields(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


def test_both_languages_have_every_key_with_the_same_placeholders() -> None:
    assert RU.keys() == EN.keys()
    for key in RU:
        assert fields(RU[key]) == fields(EN[key]), key


def test_an_unknown_language_falls_back_to_russian() -> None:
    assert label("de", "bars_none") == RU["bars_none"]


def test_shorten_keeps_one_line_and_cuts_with_an_ellipsis() -> None:
    assert shorten("  Анна \n Петрова ", 20) == "Анна Петрова"
    assert shorten("Александра Петрова", 10) == "Александр…"
    assert shorten("Анна Петрова", 6) == "Анна…"  # no space before the ellipsis
