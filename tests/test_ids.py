"""Ids are read one way everywhere: 1-18 ASCII digits, nothing else."""

from __future__ import annotations

import pytest

from leoweb_bot.ids import parse_id
from leoweb_bot.ids import typed_id


@pytest.mark.parametrize(
    ("text", "value"), [("0", 0), ("5000001", 5000001), ("9" * 18, 10**18 - 1)]
)
def test_ascii_digits_are_an_id(text: str, value: int) -> None:
    assert parse_id(text) == value


# "²" and "①" pass str.isdigit() and then break int(); "٣" and "１" pass int() and \d.
NOT_IDS = ["", "²", "①", "٣", "１２", "12²", " 12", "12 ", "+12", "-12", "1_000", "1.0", "9" * 19]


@pytest.mark.parametrize("text", NOT_IDS)
def test_anything_else_is_not(text: str) -> None:
    assert parse_id(text) is None
    assert typed_id(text) is None


def test_people_may_write_an_id_as_amocrm_shows_it() -> None:
    assert typed_id("#123") == typed_id("123") == 123
    assert typed_id("##123") is None
    assert parse_id("#123") is None  # button data and amoCRM never carry the #
