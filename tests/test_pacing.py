"""Pacing: evenly spaced slots overall and per key, thread-safe, on an injected clock."""

from __future__ import annotations

import subprocess
import sys
import threading
import time

import pytest

from leoweb_bot.pacing import RateLimiter
from leoweb_bot.pacing import SharedRateLimiter


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


# -- one budget for every process of a server -------------------------------------------------


def test_processes_sharing_the_file_share_one_budget(tmp_path):
    clock = FakeMonotonic()
    first = SharedRateLimiter(tmp_path / "pace", 5, clock=clock.time, sleep=clock.sleep)
    second = SharedRateLimiter(tmp_path / "pace", 5, clock=clock.time, sleep=clock.sleep)
    started = clock.now

    for _ in range(5):
        first.acquire()
        second.acquire()

    assert clock.now - started == pytest.approx(9 / 5)  # ten slots, 1/5 s apart
    assert (tmp_path / "pace").stat().st_mode & 0o777 == 0o600


def test_the_sync_waits_behind_every_screen_and_alone_uses_the_whole_budget(tmp_path):
    clock = FakeMonotonic(advance_on_sleep=False)  # screens queue up at one moment
    screens = SharedRateLimiter(tmp_path / "pace", 4, clock=clock.time, sleep=clock.sleep)
    waited: list[float] = []

    def sync_sleeps(seconds: float) -> None:  # the sync waits, and time passes meanwhile
        waited.append(seconds)
        clock.now += seconds

    shared = SharedRateLimiter(tmp_path / "pace", 4, clock=clock.time, sleep=sync_sleeps)
    for _ in range(3):  # slots at 0, 0.25 and 0.5 s from now
        screens.acquire()
    assert clock.slept == [0.25, 0.5]

    shared.background.acquire()
    assert waited == [pytest.approx(0.75)]  # after all three
    waited.clear()
    for _ in range(4):  # then alone: every slot, 1/4 s apart
        shared.background.acquire()
    assert waited == [pytest.approx(0.25)] * 4


def test_a_real_second_process_shares_the_budget(tmp_path):
    path, rate, each = tmp_path / "pace", 100.0, 10
    code = (
        "import sys; from leoweb_bot.pacing import SharedRateLimiter\n"
        "limiter = SharedRateLimiter(sys.argv[1], float(sys.argv[2]))\n"
        "print('ready', flush=True); sys.stdin.readline()\n"
        "for _ in range(int(sys.argv[3])): limiter.acquire()\n"
    )
    other = subprocess.Popen(
        [sys.executable, "-c", code, str(path), str(rate), str(each)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert other.stdout is not None and other.stdin is not None
    assert other.stdout.readline() == "ready\n"
    mine = SharedRateLimiter(path, rate)
    started = time.monotonic()
    other.stdin.write("go\n")
    other.stdin.flush()
    for _ in range(each):
        mine.acquire()
    assert other.wait(timeout=30) == 0
    # twenty slots 1/100 s apart take at least 0.19 s however the two interleave
    assert time.monotonic() - started >= (2 * each - 1) / rate - 0.02
