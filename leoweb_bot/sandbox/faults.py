"""Faults the sandbox can produce: amoCRM's rate limit, its block, and injected answers.

amoCRM allows 7 requests a second (docs/amocrm.md#rate-limits). Beyond that it answers 429 with an
HTML page and no Retry-After; after repeated violations "the account is blocked and any API
request returns 403". The block is emulated as: ``BLOCK_AFTER`` consecutive 429s within
``BLOCK_WINDOW`` seconds → every API request answers an HTML 403 for ``BLOCK_FOR`` seconds.
The thresholds are the sandbox's own choice; amoCRM does not publish them.

The limiter runs on ``time.monotonic``, not on the sandbox's injectable clock: a test that
freezes business time must not freeze the rate window and starve every later request.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable

BLOCK_AFTER = 20
BLOCK_WINDOW = 10.0
BLOCK_FOR = 60.0
_WINDOW = 1.0


class RateLimiter:
    """Sliding one-second window over accepted requests; rejected ones use no budget."""

    def __init__(self, limit: int, monotonic: Callable[[], float] = time.monotonic) -> None:
        self.limit = limit  # 0 disables the limit (and so the block)
        self._monotonic = monotonic
        self._lock = threading.Lock()
        self._accepted: deque[float] = deque()
        self._rejected: deque[float] = deque()  # consecutive 429s, oldest first
        self._blocked_until = float("-inf")

    def admit(self) -> int | None:
        """None when the request may proceed, else the status to answer: 429 or 403."""
        with self._lock:
            now = self._monotonic()
            if now < self._blocked_until:
                return 403
            while self._accepted and self._accepted[0] <= now - _WINDOW:
                self._accepted.popleft()
            if self.limit <= 0 or len(self._accepted) < self.limit:
                self._accepted.append(now)
                self._rejected.clear()
                return None
            return self._reject(now)

    def _reject(self, now: float) -> int:
        self._rejected.append(now)
        while self._rejected[0] < now - BLOCK_WINDOW:
            self._rejected.popleft()
        if len(self._rejected) >= BLOCK_AFTER:
            self._blocked_until = now + BLOCK_FOR
            self._rejected.clear()
        return 429


class FaultQueue:
    """Answers queued by ``Sandbox.inject``: each one replaces the next API response."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._queue: deque[tuple[int, str | None]] = deque()

    def add(self, status: int, count: int, body: str | None) -> None:
        if not 100 <= status <= 599 or count < 1:
            raise ValueError("need an HTTP status 100-599 and count >= 1")
        with self._lock:
            self._queue.extend([(status, body)] * count)

    def take(self) -> tuple[int, str | None] | None:
        with self._lock:
            return self._queue.popleft() if self._queue else None
