"""Client-side throttle so bursts never exceed amoCRM's "not more than 7 requests per second".

amoCRM answers an over-eager client with 429 and, after repeated violations, blocks the account or
IP with 403 until support lifts it (docs/amocrm.md#rate-limits). So every thread of the
process takes an evenly spaced slot from one limiter before it sends anything.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable


class RateLimiter:
    """Hand out send slots ``1 / rate`` seconds apart; thread-safe, clock and sleep injectable."""

    def __init__(
        self,
        rate: float,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if rate <= 0:
            raise ValueError("rate must be above 0")
        self.rate = rate
        self._interval = 1.0 / rate
        self._clock = clock
        self._sleep = sleep
        self._lock = threading.Lock()
        self._next_slot: float | None = None

    def acquire(self) -> float:
        """Wait for the next free slot; return how long this caller slept."""
        with self._lock:
            now = self._clock()
            slot = now if self._next_slot is None else max(now, self._next_slot)
            self._next_slot = slot + self._interval
        # Sleep outside the lock: the slot is already reserved, so other threads can queue
        # behind it without waiting for this one to wake up.
        wait = slot - now
        if wait > 0:
            self._sleep(wait)
        return max(wait, 0.0)

    def __repr__(self) -> str:
        return f"RateLimiter(rate={self.rate})"


_shared: dict[str, RateLimiter] = {}
_shared_lock = threading.Lock()


def shared_limiter(key: str, rate: float) -> RateLimiter:
    """The process-wide limiter for one amoCRM account, so all clients of it share one budget."""
    with _shared_lock:
        limiter = _shared.get(key)
        if limiter is None:
            limiter = _shared[key] = RateLimiter(rate)
        return limiter
