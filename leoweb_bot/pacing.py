"""Client-side pacing, so bursts never exceed what the far side allows: amoCRM's 7 requests
per second (docs/amocrm.md#rate-limits) and Telegram's 30 messages per second overall and one
per second per chat (docs/telegram.md#limits).

Every thread of the process takes an evenly spaced slot from one ``RateLimiter`` before it
sends; every process of a server takes its amoCRM slots from one ``SharedRateLimiter``.
Standard library only, so both the amoCRM and the Telegram package may import it.
"""

from __future__ import annotations

import fcntl
import os
import struct
import threading
import time
from collections.abc import Callable
from collections.abc import Hashable
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Protocol

MAX_KEYS = 10_000  # per-key slots remembered; past it, keys with no pending slot are forgotten


def interval_of(rate: float) -> float:
    """Seconds between two slots at ``rate`` per second."""
    if rate <= 0:
        raise ValueError("rate must be above 0")
    return 1.0 / rate


class RateLimiter:
    """Hand out send slots ``1 / rate`` seconds apart and, for a key (a chat), ``spacing``
    seconds apart; thread-safe, clock and sleep injectable. Idle time earns no burst."""

    def __init__(
        self,
        rate: float,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.rate = rate
        self._interval = interval_of(rate)
        self._clock = clock
        self._sleep = sleep
        self._lock = threading.Lock()
        self._next_slot = float("-inf")
        self._next_by_key: dict[Hashable, float] = {}

    def acquire(self, key: Hashable | None = None, spacing: float = 0.0) -> float:
        """Wait for the next free slot (of ``key`` too, if given); return how long this slept."""
        with self._lock:
            now = self._clock()
            slot = max(now, self._next_slot, self._next_by_key.get(key, now))
            self._next_slot = slot + self._interval
            if key is not None:
                self._next_by_key[key] = slot + spacing
                if len(self._next_by_key) > MAX_KEYS:
                    self._next_by_key = {k: t for k, t in self._next_by_key.items() if t > now}
        # Sleep outside the lock: the slot is already reserved, so other threads can queue
        # behind it without waiting for this one to wake up.
        wait = slot - now
        if wait > 0:
            self._sleep(wait)
        return max(wait, 0.0)

    def __repr__(self) -> str:
        return f"RateLimiter(rate={self.rate})"


class Pacer(Protocol):
    """What a sender needs: wait for the next slot, and say how long that took."""

    def acquire(self) -> float: ...


class SharedRateLimiter:
    """Slots ``1 / rate`` seconds apart for every process that opens the same ``path``: one
    amoCRM budget per server, however many workers it runs.

    The next free slot is 8 bytes in a file, read and moved under ``flock``, on the monotonic
    clock, which Linux keeps system-wide (CLOCK_MONOTONIC), so processes agree on it. A caller
    reserves the next slot and sleeps until it. The ``background`` view (the sync) takes a slot
    only once none is reserved ahead of now: interactive requests queue in front of it, so a
    screen's request waits at most for one background request, and a lone one can use the whole
    budget. A separate file, never the SQLite database: a POSIX lock on that one would be
    dropped by SQLite's own closes (https://www.sqlite.org/howtocorrupt.html §2.2).
    """

    def __init__(
        self,
        path: str | Path,
        rate: float,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.path = Path(path)
        self.rate = rate
        self._interval = interval_of(rate)
        self._clock, self._sleep = clock, sleep
        self.background = _Background(self)

    def acquire(self) -> float:
        """Reserve the next slot and wait for it; returns how long this slept."""
        return self._take(background=False)

    def _take(self, *, background: bool) -> float:
        slept = 0.0
        while True:
            with self._locked() as slots:
                now = self._clock()
                free = _read_slot(slots)
                if not background or free <= now:
                    slot = max(now, free)
                    _write_slot(slots, slot + self._interval)
                    wait, done = slot - now, True
                else:
                    wait, done = free - now, False  # someone is queued: look again then
            if wait > 0:
                self._sleep(wait)
                slept += wait
            if done:
                return slept

    @contextmanager
    def _locked(self) -> Iterator[int]:
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield fd
        finally:
            os.close(fd)  # closing releases the lock

    def __repr__(self) -> str:
        return f"SharedRateLimiter({str(self.path)!r}, rate={self.rate})"


class _Background:
    """The sync's side of a SharedRateLimiter: only free slots, after every waiting screen."""

    def __init__(self, shared: SharedRateLimiter) -> None:
        self._shared = shared

    def acquire(self) -> float:
        return self._shared._take(background=True)


def _read_slot(fd: int) -> float:
    raw = os.pread(fd, 8, 0)
    return struct.unpack("<d", raw)[0] if len(raw) == 8 else float("-inf")


def _write_slot(fd: int, slot: float) -> None:
    os.pwrite(fd, struct.pack("<d", slot), 0)
