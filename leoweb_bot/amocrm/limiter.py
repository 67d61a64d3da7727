"""The throttle of each amoCRM account: "not more than 7 requests per second".

amoCRM answers an over-eager client with 429 and, after repeated violations, blocks the account or
IP with 403 until support lifts it (docs/amocrm.md#rate-limits). So all clients of one account in
a process take their slots from one ``RateLimiter``, and all processes of a server from one
``SharedRateLimiter`` beside its state db (leoweb_bot/pacing.py), where the sync's requests
queue behind the screens'.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path

from leoweb_bot.pacing import RateLimiter
from leoweb_bot.pacing import SharedRateLimiter

# Send at 95% of the configured rate: network jitter can bunch evenly spaced requests so that
# eight land inside one second of the server's window; at 95% eight span 1.05 s, which leaves
# 50 ms of jitter (bench/overdue_report.py shows no 429 at 7 req/s and 100 ms latency).
RATE_HEADROOM = 0.95

_shared: dict[str, RateLimiter] = {}
_shared_lock = threading.Lock()


def shared_limiter(key: str, rate: float) -> RateLimiter:
    """The process-wide limiter for one amoCRM account, so all clients of it share one budget."""
    with _shared_lock:
        limiter = _shared.get(key)
        if limiter is None:
            limiter = _shared[key] = RateLimiter(rate)
        return limiter


def server_budget(state_path: str | Path, rate_limit: float) -> SharedRateLimiter | None:
    """The one budget of every process that shares this state db (the server, and a CLI run
    beside it); None where its folder cannot be written (a CLI run as another user)."""
    folder = Path(state_path).absolute().parent
    if not os.access(folder, os.W_OK):
        return None
    return SharedRateLimiter(f"{state_path}.amocrm-pace", rate_limit * RATE_HEADROOM)
