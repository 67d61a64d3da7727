"""The proactive side of the bot: one thread per server process that runs jobs on a timer.

Every gunicorn worker (and `poll`) runs a Scheduler, so there is no extra daemon to deploy. A
job is claimed in the state database before it runs (``jobs`` table, ``BEGIN IMMEDIATE``): a
live lease means another process is on it, and ``last_run`` spaces runs across all processes,
so each job runs once per interval however many processes tick. A job that works in steps is a
generator: at each ``yield`` the lease is renewed, so it holds however long the work goes on,
and a job whose lease was taken over (it stalled past it) stops there. Whatever a job sends is
also recorded under a UNIQUE key before it goes out (digest.py, alerts.py, notices.py), so even
two processes that both think they hold a job cannot send the same thing twice.

The clock is injectable and ``tick(now)`` runs one round synchronously: tests never sleep.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import socket
import time
from collections.abc import Callable
from collections.abc import Iterator
from collections.abc import Sequence
from dataclasses import dataclass

from leoweb_bot.amocrm.errors import AmoError
from leoweb_bot.bot.context import App
from leoweb_bot.loop import Loop
from leoweb_bot.proactive import alerts
from leoweb_bot.proactive import digest
from leoweb_bot.proactive import incidents
from leoweb_bot.proactive import keepalive
from leoweb_bot.proactive import notices
from leoweb_bot.proactive import retention
from leoweb_bot.proactive import snapshots
from leoweb_bot.state import State
from leoweb_bot.state.db import StateError
from leoweb_bot.state.jobs import release_job_lease
from leoweb_bot.state.jobs import renew_job_lease
from leoweb_bot.state.jobs import take_job_lease
from leoweb_bot.state.owners import owner_id

log = logging.getLogger(__name__)

TICK_SECONDS = 15.0  # amoCRM webhooks wait at most this long; a tick without work is 1-2 reads
DEFAULT_LEASE = 600.0  # a process that dies mid-job holds it this long at most
HEALTH_SECONDS = 300.0  # amoCRM probe and Telegram webhook check: often enough, 1 request each
KEEPALIVE_SECONDS = 600.0  # a failed token refresh is retried this often


@dataclass(frozen=True)
class Job:
    """``run(app, now)`` every ``every`` seconds across all processes (0: every tick).

    ``run`` may return an iterator: the job then runs as long as it yields, renewing its lease
    at every step.
    """

    name: str
    every: float
    run: Callable[[App, int], Iterator[None] | None]
    lease: float = DEFAULT_LEASE


class Scheduler:
    """Ticks every ``interval`` seconds on its own thread; ``tick(now)`` runs one round."""

    def __init__(
        self,
        app: App,
        jobs: Sequence[Job],
        *,
        clock: Callable[[], float] = time.time,
        interval: float = TICK_SECONDS,
        owner: str | None = None,
    ) -> None:
        self.app = app
        self.jobs = tuple(jobs)
        self._clock = clock
        self._interval = interval
        self._owner = owner
        self._loop = Loop("scheduler", self._turn)
        # Leases the state db refused to take back (a full disk): given back as soon as it can,
        # or the job (the one telling admins the disk has room again) would wait for expiry.
        self._unreleased: dict[str, tuple[Job, int]] = {}

    @property
    def state(self) -> State:
        return self.app.state

    @property
    def owner(self) -> str:
        """``host:pid:scheduler``; computed late because the pid changes on fork."""
        return self._owner or owner_id(socket.gethostname(), os.getpid(), "scheduler")

    def tick(self, now: float | None = None) -> list[str]:
        """Run every job that is due and free; returns the names of the jobs that ran."""
        at = int(self._clock() if now is None else now)
        # One "now" for the whole round: screens read app.now(), and a digest built at 09:00:05
        # must not say 09:00:07 halfway through.
        app = dataclasses.replace(self.app, clock=lambda: at)
        for job, started in list(self._unreleased.values()):
            self._release(job, started)
        ran = []
        for job in self.jobs:
            try:
                if not claim_job(self.state, job, self.owner, at):
                    continue
            except StateError as exc:
                log.error("scheduler: cannot claim %s: %s", job.name, exc)
                continue
            ran.append(job.name)
            try:
                self._run_job(job, app, at)
            except AmoError as exc:
                log.warning("job %s: amoCRM %s: %s", job.name, type(exc).__name__, exc)
                incidents.observe(app, exc, at)
            except Exception:  # one broken job must not stop the others or the thread
                log.exception("job %s failed", job.name)
            finally:
                self._release(job, at)
        return ran

    def _release(self, job: Job, started: int) -> None:
        if release_job(self.state, job, self.owner, started):
            self._unreleased.pop(job.name, None)
        else:
            self._unreleased[job.name] = (job, started)

    def _run_job(self, job: Job, app: App, at: int) -> None:
        steps = job.run(app, at)
        if steps is None:
            return
        for _ in steps:
            if not renew_job(self.state, job, self.owner, self._clock()):
                log.warning(
                    "scheduler: %s outlived its lease and was taken over; stopping", job.name
                )
                return

    def start(self) -> None:
        self._loop.start()
        log.info("scheduler started: %s", ", ".join(job.name for job in self.jobs))

    def stop(self, timeout: float = 10.0) -> bool:
        """Finish the current job and stop; True if the thread ended in time."""
        return self._loop.stop(timeout)

    def wake(self) -> None:
        """Tick now instead of at the next interval (e.g. an amoCRM webhook just arrived)."""
        self._loop.wake()

    def _turn(self) -> float:
        try:
            self.tick()
        except Exception:
            log.exception("scheduler tick failed")
        return self._interval


def claim_job(state: State, job: Job, owner: str, now: float) -> bool:
    """Take the job's lease if nobody holds it and its interval has passed."""
    return take_job_lease(state, job.name, owner, now, every=job.every, lease=job.lease)


def renew_job(state: State, job: Job, owner: str, now: float) -> bool:
    """Extend the lease of a job still at work; False if it is no longer ``owner``'s."""
    return renew_job_lease(state, job.name, owner, now + job.lease)


def release_job(state: State, job: Job, owner: str, started: float) -> bool:
    """Give the lease back; the next run is due ``every`` seconds after this one started.
    False if the state db refused (the caller tries again)."""
    try:
        release_job_lease(state, job.name, owner, started)
    except StateError as exc:
        log.error("scheduler: cannot release %s yet (will try again): %s", job.name, exc)
        return False
    return True


def standard_jobs(app: App, *, watch_webhook: bool = False) -> list[Job]:
    """The jobs this configuration asks for."""
    settings = app.settings
    jobs = [
        Job("amo_events", 0, notices.process_events),
        Job("digests", 0, digest.send_due_digests),
        Job("amocrm_health", HEALTH_SECONDS, keepalive.check_amocrm),
        Job("state_watch", 0, incidents.watch_state_db),
        Job("retention", retention.EVERY_SECONDS, retention.prune),
        Job("snapshots", 0, snapshots.record_snapshot),  # one cheap query until the day ends
    ]
    if settings.alerts.enabled:
        jobs.append(Job("overdue_alerts", alerts.cycle_seconds(app), alerts.run_alerts))
    if settings.amocrm.auth == "oauth":
        jobs.append(Job("token_keepalive", KEEPALIVE_SECONDS, keepalive.keep_tokens_alive))
    if watch_webhook:  # only `serve` has a webhook; in `poll` getWebhookInfo says nothing
        jobs.append(Job("webhook_watch", HEALTH_SECONDS, keepalive.watch_webhook))
    return jobs


def build_scheduler(
    app: App,
    *,
    watch_webhook: bool = False,
    clock: Callable[[], float] = time.time,
    interval: float = TICK_SECONDS,
    owner: str | None = None,
) -> Scheduler:
    return Scheduler(
        app,
        standard_jobs(app, watch_webhook=watch_webhook),
        clock=clock,
        interval=interval,
        owner=owner,
    )
