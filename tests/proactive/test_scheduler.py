"""The job loop: claimed in the state db, so several processes run each job once per interval."""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from leoweb_bot.amocrm.errors import PaymentRequired
from leoweb_bot.bot.context import App
from leoweb_bot.proactive.scheduler import Job
from leoweb_bot.proactive.scheduler import Scheduler
from leoweb_bot.proactive.scheduler import claim_job
from leoweb_bot.proactive.scheduler import standard_jobs
from leoweb_bot.service.server import build_runtime
from tests.kit.proactive import ADMIN
from tests.kit.proactive import Rig
from tests.kit.proactive import at
from tests.kit.proactive import rig

NOW = at("Asia/Almaty", 2026, 11, 25, 11, 0)


@pytest.fixture
def r(tmp_path: Path) -> Iterator[Rig]:
    with rig(tmp_path, NOW) as r:
        yield r


class Counter:
    def __init__(self) -> None:
        self.runs: list[int] = []

    def __call__(self, app: App, now: int) -> None:
        self.runs.append(now)


def test_two_processes_run_a_job_once_per_interval(r: Rig) -> None:
    counter = Counter()
    job = Job("count", 600, counter)
    a, b = r.scheduler("host:1", [job]), r.scheduler("host:2", [job])
    for seconds in range(0, 1800, 15):
        a.tick(NOW + seconds)
        b.tick(NOW + seconds)
    assert counter.runs == [NOW, NOW + 600, NOW + 1200]


def test_a_running_job_is_not_started_again_elsewhere(r: Rig) -> None:
    inner: list[list[str]] = []
    other = r.scheduler("host:2", [])

    def long_job(app: App, now: int) -> None:
        inner.append(other.tick(now + 5))  # the other process ticks while this one works

    job = Job("slow", 0, long_job)
    other.jobs = (job,)
    r.scheduler("host:1", [job]).tick(NOW)
    assert inner == [[]]


def test_a_long_job_keeps_its_lease_while_it_works(r: Rig) -> None:
    other = r.scheduler("host:2", [])
    seen: list[list[str]] = []

    def long_job(app: App, now: int) -> Iterator[None]:
        for _ in range(3):
            r.clock.now += 400  # a step of work: 1200 s in all, twice the 600 s lease
            yield
            seen.append(other.tick(r.clock.now))  # the other process ticks meanwhile

    job = Job("slow", 0, long_job, lease=600)
    other.jobs = (job,)
    r.scheduler("host:1", [job]).tick(NOW)
    assert seen == [[], [], []]


def test_a_job_that_stalled_past_its_lease_and_was_taken_over_stops(r: Rig) -> None:
    steps: list[int] = []

    def stalling_job(app: App, now: int) -> Iterator[None]:
        for step in range(3):
            steps.append(step)
            r.clock.now += 700  # stalled past the lease: another process may take the job
            assert claim_job(r.app().state, job, "host:2", r.clock.now)
            yield

    job = Job("stalls", 0, stalling_job, lease=600)
    r.scheduler("host:1", [job]).tick(NOW)
    assert steps == [0]


def test_the_lease_of_a_dead_process_expires(r: Rig) -> None:
    counter = Counter()
    job = Job("count", 60, counter, lease=300)
    assert claim_job(r.app().state, job, "host:dead", NOW)  # it died without releasing
    survivor = r.scheduler("host:2", [job])
    survivor.tick(NOW + 299)
    assert counter.runs == []
    survivor.tick(NOW + 301)
    assert counter.runs == [NOW + 301]


def test_a_lease_the_db_refused_to_take_back_is_given_back_once_it_can(r: Rig) -> None:
    """A full disk refuses the release; the job must not then wait for its lease to expire
    (the state watch is what tells the admins the disk has room again)."""
    counter = Counter()

    def jam(app: App, now: int) -> None:
        counter(app, now)
        app.state.query("PRAGMA query_only = 1")  # every write of this connection now fails

    scheduler = r.scheduler("host:1", [Job("jam", 60, jam)])
    scheduler.tick(NOW)
    scheduler.state.query("PRAGMA query_only = 0")  # room again
    scheduler.tick(NOW + 60)
    assert counter.runs == [NOW, NOW + 60]


def test_a_clock_stepped_back_does_not_stall_a_job(r: Rig) -> None:
    counter = Counter()
    scheduler = r.scheduler("a", [Job("count", 3600, counter)])
    scheduler.tick(NOW)
    scheduler.tick(NOW - 7200)  # an NTP correction
    assert counter.runs == [NOW, NOW - 7200]


def test_a_failing_job_spares_the_others_and_amocrm_trouble_is_an_incident(r: Rig) -> None:
    counter = Counter()

    def broken(app: App, now: int) -> None:
        raise RuntimeError("bug")

    def unpaid(app: App, now: int) -> None:
        raise PaymentRequired("subscription ended", 402)

    scheduler = r.scheduler(
        "a", [Job("broken", 0, broken), Job("unpaid", 0, unpaid), Job("count", 0, counter)]
    )
    assert scheduler.tick(NOW) == ["broken", "unpaid", "count"]
    assert scheduler.tick(NOW + 15) == ["broken", "unpaid", "count"]
    assert counter.runs == [NOW, NOW + 15]
    assert len(r.sent(ADMIN)) == 1  # one incident message, not one per tick


def test_one_round_sees_one_now(r: Rig) -> None:
    seen: list[int] = []
    r.clock.now = NOW + 999  # the wall clock moves on; the round keeps the tick's moment
    scheduler = r.scheduler("a", [Job("now", 0, lambda app, now: seen.extend([now, app.now()]))])
    scheduler.tick(NOW)
    assert seen == [NOW, NOW]


def test_the_thread_ticks_and_stops(r: Rig) -> None:
    ran = threading.Event()
    app = r.app()
    scheduler = Scheduler(app, [Job("signal", 0, lambda app, now: ran.set())], interval=3600)
    scheduler.start()
    try:
        assert ran.wait(5)  # the first tick is at start
        ran.clear()
        scheduler.wake()
        assert ran.wait(5)  # wake() does not wait for the hour
    finally:
        assert scheduler.stop(5)
    scheduler.start()
    try:
        with pytest.raises(RuntimeError):
            scheduler.start()
    finally:
        assert scheduler.stop(5)


def test_standard_jobs_follow_the_configuration(tmp_path: Path) -> None:
    with rig(tmp_path, NOW, alerts={"enabled": False}, amocrm={"auth": "oauth"}) as r:
        names = [job.name for job in standard_jobs(r.app(), watch_webhook=True)]
    assert names == [
        "amo_events",
        "digests",
        "amocrm_health",
        "state_watch",
        "retention",
        "snapshots",
        "token_keepalive",
        "webhook_watch",
    ]


def test_build_runtime_wires_a_scheduler_per_process(r: Rig, tmp_path: Path) -> None:
    bot = dataclasses.replace(r.settings.bot, state_path=str(tmp_path / "runtime.sqlite3"))
    runtime = build_runtime(dataclasses.replace(r.settings, bot=bot), watch_webhook=False)
    try:
        names = [job.name for job in runtime.scheduler.jobs]
        assert names == [
            "amo_events",
            "digests",
            "amocrm_health",
            "state_watch",
            "retention",
            "snapshots",
            "overdue_alerts",
        ]
        assert runtime.scheduler.app is runtime.app  # one context, built once
    finally:
        runtime.close()
