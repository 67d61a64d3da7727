"""Fixtures of the Bot API client tests: a fake Bot API on loopback, and a client pointed at it
whose throttle sleeps on a test clock."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from leoweb_bot.telegram.client import Telegram
from tests.kit.fakebot import FakeBotAPI

TOKEN = "123456:SECRET-token_value"


class FakeTime:
    """An injected clock whose sleep() advances it, recording each wait."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(round(seconds, 6))
        self.now += seconds


@pytest.fixture
def fake() -> Iterator[FakeBotAPI]:
    with FakeBotAPI() as server:
        yield server


@pytest.fixture
def time_() -> FakeTime:
    return FakeTime()


@pytest.fixture
def telegram(fake: FakeBotAPI, time_: FakeTime) -> Telegram:
    return Telegram(TOKEN, fake.url, clock=time_.clock, sleep=time_.sleep)
