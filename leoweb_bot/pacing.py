"""Client-side pacing, so bursts never exceed what the far side allows: amoCRM's 7 requests
per second (docs/amocrm.md#rate-limits) and Telegram's 30 messages per second overall and one
per second per chat (docs/telegram.md#limits).

Every thread of the process takes an evenly spaced slot from one ``RateLimiter`` before it
sends. Standard library only, so both the amoCRM and the Telegram package may import it.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from collections.abc import Hashable

MAX_KEYS = 10_000  # per-key slots remembered; past it, keys with no pending slot are forgotten


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
        if rate <= 0:
            raise ValueError("rate must be above 0")
        self.rate = rate
        self._interval = 1.0 / rate
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
