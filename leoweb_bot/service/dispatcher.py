"""Worker threads that drain the inbox, and the long-polling feeder for `poll` mode.

The web request only stores an update; these threads do the work. Each process runs its own
dispatcher (started after fork), and all of them claim from the same SQLite inbox, which keeps
each chat's updates in order across processes (Inbox.claim). Telegram stops delivering to
a chat while one of its updates is unanswered (docs/telegram.md#delivery-and-retries), so the
webhook acks at once and a failing update is retried here a bounded number of times instead.
"""

from __future__ import annotations

import json
import logging
import os
import socket
import threading
import time
from collections.abc import Callable
from typing import Any
from typing import Protocol

from leoweb_bot.state import State
from leoweb_bot.state.db import StateError
from leoweb_bot.state.inbox import InboxItem
from leoweb_bot.state.inbox import InboxStatus
from leoweb_bot.state.owners import owner_id
from leoweb_bot.telegram.updates import chat_id_of

log = logging.getLogger(__name__)

MAINTENANCE_INTERVAL = 600.0  # seconds between prune / dead-owner sweeps
POLL_ERROR_BACKOFF = 5.0


class Dispatcher:
    """A pool of threads: claim an update → ``process(update)`` → finish, or fail and retry."""

    def __init__(
        self,
        state: State,
        process: Callable[[dict[str, Any]], None],
        *,
        threads: int = 4,
        owner: str | None = None,
        clock: Callable[[], float] = time.time,
        poll_interval: float = 0.5,
        lease: float = 120.0,
        max_attempts: int = 3,
        on_give_up: Callable[[InboxItem], None] | None = None,
    ) -> None:
        """``on_give_up(item)`` runs once an update has failed its last attempt (to tell the
        sender; every earlier failure was retried instead)."""
        self._state = state
        self._process = process
        self._threads_wanted = threads
        self._owner = owner
        self._clock = clock
        self._poll_interval = poll_interval
        self._lease = lease
        self._max_attempts = max_attempts
        self._on_give_up = on_give_up
        self._cond = threading.Condition()
        self._generation = 0
        self._stopping = False
        self._threads: list[threading.Thread] = []
        self._next_maintenance = 0.0

    @property
    def owner(self) -> str:
        """This process's owner tag; computed at start() because the pid changes on fork."""
        return self._owner or owner_id(socket.gethostname(), os.getpid())

    def start(self) -> None:
        if self._threads:
            raise RuntimeError("dispatcher already started")
        self._stopping = False
        self._sweep(force=True)
        for n in range(self._threads_wanted):
            thread = threading.Thread(
                target=self._run, args=(f"{self.owner}:{n}",), name=f"dispatcher-{n}", daemon=True
            )
            thread.start()
            self._threads.append(thread)
        log.info("dispatcher started with %d threads", len(self._threads))

    def stop(self, timeout: float = 10.0) -> bool:
        """Ask the threads to finish their current update and exit; True if all did in time."""
        with self._cond:
            self._stopping = True
            self._cond.notify_all()
        deadline = time.monotonic() + timeout
        for thread in self._threads:
            thread.join(max(0.0, deadline - time.monotonic()))
        alive = [t.name for t in self._threads if t.is_alive()]
        self._threads = []
        if alive:
            log.warning("dispatcher stop: %s still busy after %.0f s", ", ".join(alive), timeout)
        return not alive

    def wake(self) -> None:
        """A new update is in the inbox: one idle thread stops waiting for the next poll tick.

        One, not all: every woken thread tries a claim, a write transaction, and the webhook's
        acknowledgements queue behind the write lock (bench/webhook_load.py).
        """
        with self._cond:
            self._generation += 1
            self._cond.notify()

    def _run(self, owner: str) -> None:
        while not self._stopping:
            try:
                item = self._next_item(owner)
                if item is not None:
                    self._handle(item, owner)
            except Exception:  # a dead worker thread would silently shrink the pool
                log.exception("dispatcher thread %s: unexpected error", owner)
                with self._cond:
                    self._cond.wait(self._poll_interval)

    def _next_item(self, owner: str) -> InboxItem | None:
        with self._cond:
            generation = self._generation
        item = None
        try:
            self._sweep()
            item = self._state.inbox.claim(owner, self._clock(), self._lease, self._max_attempts)
        except StateError as exc:
            log.error("dispatcher: inbox unavailable: %s", exc)
        if item is None:
            with self._cond:
                if self._generation == generation and not self._stopping:
                    self._cond.wait(self._poll_interval)
        return item

    def _handle(self, item: InboxItem, owner: str) -> None:
        try:
            self._process(item.update)
        except Exception as exc:
            log.exception(
                "update %d (chat %s) failed on attempt %d",
                item.update_id,
                item.chat_id,
                item.attempts,
            )
            self._record_failure(item, owner, f"{type(exc).__name__}: {exc}")
            return
        try:
            self._state.inbox.finish(item.update_id)
        except StateError as exc:
            log.error("update %d handled but not marked done: %s", item.update_id, exc)

    def _record_failure(self, item: InboxItem, owner: str, error: str) -> None:
        try:
            status = self._state.inbox.fail(item.update_id, error, self._max_attempts, owner=owner)
        except StateError as exc:
            log.error("update %d: could not record the failure: %s", item.update_id, exc)
            return
        if status != InboxStatus.FAILED:
            return
        log.error(
            "update %d (chat %s) given up after %d attempts",
            item.update_id,
            item.chat_id,
            item.attempts,
        )
        if self._on_give_up is None:
            return
        try:
            self._on_give_up(item)
        except Exception:
            log.exception("update %d: could not tell the sender it failed", item.update_id)

    def _sweep(self, force: bool = False) -> None:
        """Now and then: forget old done updates and take back those of dead local processes."""
        now = self._clock()
        with self._cond:
            if not force and now < self._next_maintenance:
                return
            self._next_maintenance = now + MAINTENANCE_INTERVAL
        try:
            reclaimed = self._state.inbox.reclaim_dead_owners(socket.gethostname())
            pruned = self._state.inbox.prune(now)
        except StateError as exc:
            log.error("dispatcher maintenance failed: %s", exc)
            return
        if reclaimed or pruned:
            log.info(
                "inbox: %d reclaimed from dead workers, %d old updates pruned", reclaimed, pruned
            )


class UpdateSource(Protocol):
    def get_updates(self, offset: int | None, timeout: int) -> list[dict[str, Any]]: ...


def poll_updates(
    telegram: UpdateSource,
    state: State,
    dispatcher: Dispatcher,
    stop_event: threading.Event,
    *,
    timeout: int = 25,
    clock: Callable[[], float] = time.time,
) -> None:
    """Long-poll getUpdates into the inbox until ``stop_event`` is set.

    The offset moves past an update only once it is stored, so nothing is lost if storing
    fails: getUpdates hands the same updates back next time (Bot API "getUpdates": an update
    is confirmed by calling with a higher offset).
    """
    offset: int | None = None
    while not stop_event.is_set():
        try:
            updates = telegram.get_updates(offset, timeout)
        except Exception as exc:
            log.error("getUpdates failed (%s); retrying in %.0f s", exc, POLL_ERROR_BACKOFF)
            stop_event.wait(POLL_ERROR_BACKOFF)
            continue
        offset, complete = _store_all(updates, state, clock, offset)
        dispatcher.wake()
        if not complete:
            stop_event.wait(POLL_ERROR_BACKOFF)


def _store_all(
    updates: list[dict[str, Any]], state: State, clock: Callable[[], float], offset: int | None
) -> tuple[int | None, bool]:
    """Store updates in order; return the offset after the last one stored and whether all were."""
    for update in updates:
        update_id = update.get("update_id")
        if isinstance(update_id, bool) or not isinstance(update_id, int):
            continue
        try:
            state.inbox.store(update_id, chat_id_of(update), json.dumps(update), clock())
        except StateError as exc:
            log.error("update %d not stored (%s); will fetch it again", update_id, exc)
            return offset, False
        offset = update_id + 1
    return offset, True
