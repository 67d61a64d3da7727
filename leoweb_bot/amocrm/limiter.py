"""The process-wide throttle of each amoCRM account: "not more than 7 requests per second".

amoCRM answers an over-eager client with 429 and, after repeated violations, blocks the account or
IP with 403 until support lifts it (docs/amocrm.md#rate-limits). So all clients of one account in
a process take their slots from one ``RateLimiter`` (leoweb_bot/pacing.py).
"""

from __future__ import annotations

import threading

from leoweb_bot.pacing import RateLimiter

_shared: dict[str, RateLimiter] = {}
_shared_lock = threading.Lock()


def shared_limiter(key: str, rate: float) -> RateLimiter:
    """The process-wide limiter for one amoCRM account, so all clients of it share one budget."""
    with _shared_lock:
        limiter = _shared.get(key)
        if limiter is None:
            limiter = _shared[key] = RateLimiter(rate)
        return limiter
