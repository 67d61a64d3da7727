"""The sync's thread: one per process, and the one holding the lease in the state db does the
work, so a server syncs once however many processes it has. The others only look whether the
lease has lapsed (a read every ``LEASE_RETRY`` seconds); when its holder dies, one of them
takes over within ``LEASE_SECONDS`` and goes on from the cursors and the scan's place.

A failed step (amoCRM unreachable, the state db locked) is logged and retried after
``FAILURE_BACKOFF``; the screens meanwhile say how old their data is.
"""

from __future__ import annotations

import logging
import os
import socket
import time
from collections.abc import Callable

from leoweb_bot.amocrm.errors import AmoError
from leoweb_bot.loop import Loop
from leoweb_bot.state.db import StateError
from leoweb_bot.state.owners import owner_id
from leoweb_bot.state.progress import Progress
from leoweb_bot.sync.engine import Sync

log = logging.getLogger(__name__)

LEASE_SECONDS = 120.0  # a holder that died is replaced after this long at most
RENEW_SECONDS = 30.0
LEASE_RETRY = 15.0  # how often a process without the lease looks whether it lapsed
POLL_SECONDS = 0.5  # the holder looks for webhook ids and 🔄 requests this often when idle
FAILURE_BACKOFF = 15.0


class SyncRunner:
    """Runs ``sync.step`` on a thread while this process holds the lease."""

    def __init__(
        self,
        sync: Sync,
        progress: Progress,
        *,
        clock: Callable[[], float] = time.time,
        owner: str | None = None,
    ) -> None:
        self.sync = sync
        self.progress = progress
        self._clock = clock
        self._owner = owner
        self._renewed = float("-inf")
        self._loop = Loop("sync", self.run_once)

    @property
    def owner(self) -> str:
        """``host:pid:sync``; computed late because the pid changes on fork."""
        return self._owner or owner_id(socket.gethostname(), os.getpid(), "sync")

    def start(self) -> None:
        self._loop.start()

    def stop(self, timeout: float = 10.0) -> bool:
        """Finish the current step, give the lease back, stop; True if it ended in time."""
        stopped = self._loop.stop(timeout)
        if stopped and self._renewed != float("-inf"):
            try:
                self.progress.release_lease(self.owner)
            except StateError as exc:
                log.error("sync: cannot release the lease (it will lapse): %s", exc)
        return stopped

    def wake(self) -> None:
        """Step now (a 🔄 or a webhook in this process), not after the current wait."""
        self._loop.wake()

    def holds(self) -> bool:
        """Take or keep the lease (renewed every ``RENEW_SECONDS``); False if another has it."""
        now = self._clock()
        if 0 <= now - self._renewed < RENEW_SECONDS:
            return True
        held = self.progress.take_lease(self.owner, now, LEASE_SECONDS)
        if held and self._renewed == float("-inf"):
            log.info("sync: this process syncs the mirror (%s)", self.owner)
        self._renewed = now if held else float("-inf")
        return held

    def run_once(self) -> float:
        """One turn: a step if this process holds the lease; returns how long to wait."""
        try:
            if not self.holds():
                return LEASE_RETRY
            return min(self.sync.step(), POLL_SECONDS)
        except AmoError as exc:
            log.warning("sync: amoCRM %s: %s", type(exc).__name__, exc)
        except StateError as exc:
            log.error("sync: state db: %s", exc)
        except Exception:  # the thread must outlive any bug in a step
            log.exception("sync: step failed")
        return FAILURE_BACKOFF
