"""One deadline per operation, so a sick amoCRM costs one bounded wait and then a clear message.

An operation is what a person waits for: a report, a screen, a check. Its deadline is an
absolute time on a monotonic clock, set once when the operation starts; every connect and read
timeout is cut to the time left and every back-off sleep must fit in it, so the total wait is
bounded however the time goes. The deadline travels with the thread's context (``contextvars``),
so the client's methods need no extra argument and an operation opened inside another shares
the outer deadline.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass


@dataclass(frozen=True)
class RetryPolicy:
    """How hard the client tries: attempts per request, and seconds for a whole operation."""

    attempts: int
    seconds: float


# The server rides out a blip (a gateway restart, a burst of 429s) within the same 20 s.
SERVER = RetryPolicy(attempts=8, seconds=20.0)
# Someone waits at a terminal: one retry, then say what is wrong.
ONE_SHOT = RetryPolicy(attempts=2, seconds=20.0)


class Deadline:
    """The moment an operation must be over; reads an injectable monotonic clock."""

    def __init__(self, seconds: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.seconds = seconds
        self._clock = clock
        self._started = clock()

    def elapsed(self) -> float:
        return self._clock() - self._started

    def left(self) -> float:
        return max(0.0, self.seconds - self.elapsed())

    def clip(self, timeout: tuple[float, float]) -> tuple[float, float]:
        """(connect, read) timeouts cut to the time left."""
        left = self.left()
        return (min(timeout[0], left), min(timeout[1], left))


_current: ContextVar[Deadline | None] = ContextVar("amocrm_deadline", default=None)


def current() -> Deadline | None:
    """The deadline of the operation this thread is in, if any."""
    return _current.get()


@contextmanager
def operation(seconds: float, clock: Callable[[], float] = time.monotonic) -> Iterator[Deadline]:
    """Run the block as one operation; inside another operation, share its deadline."""
    outer = _current.get()
    if outer is not None:
        yield outer
        return
    deadline = Deadline(seconds, clock)
    token = _current.set(deadline)
    try:
        yield deadline
    finally:
        _current.reset(token)


__all__ = ["ONE_SHOT", "SERVER", "Deadline", "RetryPolicy", "current", "operation"]
