"""A wall clock for tests: reads return `now`; sleeping moves it forward and is recorded."""

from __future__ import annotations


class FakeClock:
    def __init__(self, now: float) -> None:
        self.now = float(now)
        self.slept: list[float] = []

    def time(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds

    def advance(self, seconds: float) -> None:
        self.now += seconds
