"""Pacing: evenly spaced slots overall and per key, thread-safe, on an injected clock."""

from __future__ import annotations

import threading

import pytest

from leoweb_bot.pacing import RateLimiter


class FakeMonotonic:
    def __init__(self, advance_on_sleep: bool = True) -> None:
        self.now = 100.0
        self.slept: list[float] = []
        self._advance = advance_on_sleep
        self._lock = threading.Lock()

    def time(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        with self._lock:
            self.slept.append(seconds)
            if self._advance:
                self.now += seconds


def test_n_acquisitions_cost_n_minus_one_intervals_of_sleep():
    clock = FakeMonotonic()
    limiter = RateLimiter(7, clock=clock.time, sleep=clock.sleep)

    for _ in range(15):
        limiter.acquire()

    assert sum(clock.slept) == pytest.approx(14 / 7)
    assert all(s == pytest.approx(1 / 7) for s in clock.slept)


def test_idle_time_is_not_banked_into_a_burst():
    clock = FakeMonotonic()
    limiter = RateLimiter(5, clock=clock.time, sleep=clock.sleep)
    limiter.acquire()
    clock.now += 60  # a quiet minute does not earn 300 free requests

    for _ in range(3):
        limiter.acquire()

    assert sum(clock.slept) == pytest.approx(2 / 5)


def test_threads_get_distinct_evenly_spaced_slots():
    # A frozen clock: every caller sees the same "now", so each wait is its slot's offset.
    clock = FakeMonotonic(advance_on_sleep=False)
    limiter = RateLimiter(7, clock=clock.time, sleep=clock.sleep)
    waits: list[float] = []
    lock = threading.Lock()
    start = threading.Barrier(8)

    def worker() -> None:
        start.wait()
        for _ in range(5):
            wait = limiter.acquire()
            with lock:
                waits.append(wait)

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(5)

    slots = sorted(round(w * 7) for w in waits)
    assert slots == list(range(40))
    assert all(w == pytest.approx(round(w * 7) / 7) for w in waits)


def test_rate_must_be_positive():
    with pytest.raises(ValueError):
        RateLimiter(0)


def test_a_key_is_spaced_by_its_own_interval_and_others_by_the_rate_only():
    clock = FakeMonotonic()
    limiter = RateLimiter(30, clock=clock.time, sleep=clock.sleep)

    limiter.acquire(42, 1.0)
    limiter.acquire(43, 1.0)  # another chat: one global slot later
    limiter.acquire(42, 1.0)  # the same chat: a second after its first

    assert clock.slept == pytest.approx([1 / 30, 1.0 - 1 / 30])
