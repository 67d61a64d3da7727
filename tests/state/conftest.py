"""Fixtures of the state db tests: a file path in the test's own directory, and a State on it."""

from __future__ import annotations

from pathlib import Path

import pytest

from leoweb_bot.state import State


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "state.sqlite3"


@pytest.fixture
def state(db_path: Path) -> State:
    return State(db_path)
