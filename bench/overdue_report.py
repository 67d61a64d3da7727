"""Benchmark: the overdue report end to end against a sandbox that behaves like a big account.

Sandbox: 20,000 open tasks (5,000 overdue) across 40 managers, 7 req/s limit, 100 ms latency.
Compares, in the same run, the real report (a `leoweb-bot report --json` subprocess) with
(a) the bound `requests needed / 7 req/s` and (b) a naive scan of every open task.

Usage: python bench/overdue_report.py [--runs 3] [--tasks 20000] [--managers 40]
"""

from __future__ import annotations

import argparse
import json
import math
import os
import statistics
import subprocess
import sys
import time

import pytz

from leoweb_bot.amocrm import build_client
from leoweb_bot.config import AmoSettings
from leoweb_bot.reports import is_overdue
from leoweb_bot.reports import overdue_by_manager
from leoweb_bot.sandbox import Sandbox
from leoweb_bot.sandbox.faults import RateLimiter

PAGE = 250
RATE = 7
ALMATY = pytz.timezone("Asia/Almaty")


class CountingLimiter(RateLimiter):
    """The sandbox's limiter, counting the 429s it answers (the client must absorb them)."""

    rejected = 0

    def admit(self) -> int | None:
        status = super().admit()
        self.rejected += status is not None
        return status


# A child started straight from this (large) process inherits its peak RSS through vfork/exec,
# so the report runs under a small launcher that measures its own child.
LAUNCHER = (
    "import resource, subprocess, sys; r = subprocess.run(sys.argv[1:]); "
    "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, file=sys.stderr); "
    "sys.exit(r.returncode)"
)


def run_report_process(base_url: str, token: str, now: int) -> tuple[float, float, dict]:
    """Time one `leoweb-bot report --json` process; return (seconds, peak RSS MB, its JSON)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("LEOWEB_")}
    env.update(LEOWEB_AMOCRM_BASE_URL=base_url, LEOWEB_AMOCRM_TOKEN=token)
    command = [sys.executable, "-m", "leoweb_bot", "report", "--json", "--now", str(now)]
    start = time.perf_counter()
    out = subprocess.run(
        [sys.executable, "-c", LAUNCHER, *command],
        capture_output=True,
        text=True,
        env=env,
        check=True,
    )
    elapsed = time.perf_counter() - start
    peak_kb = int(out.stderr.strip().splitlines()[-1])
    return elapsed, peak_kb / 1024, json.loads(out.stdout)


def run_report_in_process(base_url: str, token: str, now: int) -> tuple[float, dict]:
    """The report pipeline itself: connect, users, overdue scan, report, JSON."""
    settings = AmoSettings(base_url=base_url, token=token, rate_limit=RATE)
    start = time.perf_counter()
    with build_client(settings) as client:
        users = client.users()
        tasks = client.open_tasks_due_before(now)
    payload = json.loads(json.dumps(overdue_by_manager(tasks, users, now, ALMATY).to_json()))
    return time.perf_counter() - start, payload


def run_naive(base_url: str, token: str, now: int) -> tuple[float, int]:
    """What the original bot would need to do to be correct: read every open task."""
    settings = AmoSettings(base_url=base_url, token=token, rate_limit=RATE)
    start = time.perf_counter()
    with build_client(settings) as client:
        users = client.users()
        late = sum(is_overdue(t, now, ALMATY) for t in client.iter_tasks(is_completed=False))
    assert users
    return time.perf_counter() - start, late


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--tasks", type=int, default=20_000)
    parser.add_argument("--managers", type=int, default=40)
    parser.add_argument("--latency-ms", type=int, default=100)
    args = parser.parse_args()

    with Sandbox(
        seed=1,
        tasks=args.tasks,
        managers=args.managers,
        latency_ms=args.latency_ms,
        rate_limit=RATE,
    ) as sandbox:
        sandbox.limiter = limiter = CountingLimiter(RATE)
        now = sandbox.data.now
        token = sandbox.credentials.token
        overdue = sum(
            1 for t in sandbox.data.tasks if not t["is_completed"] and t["complete_till"] < now
        )
        # overdue pages, the page holding the first task that is not overdue, and the users call
        needed = math.ceil(overdue / PAGE) + (1 if overdue % PAGE == 0 else 0) + 1
        bound = needed / RATE
        print(
            f"sandbox: {args.tasks} open tasks, {overdue} overdue, {args.managers} managers, "
            f"{RATE} req/s, {args.latency_ms} ms latency"
        )
        print(f"bound: {needed} requests / {RATE} req/s = {bound:.2f} s")

        times, process_times, rss = [], [], []
        for run in range(args.runs):
            before_requests, before_429 = sandbox.request_count, limiter.rejected
            elapsed, payload = run_report_in_process(sandbox.base_url, token, now)
            requests_made = sandbox.request_count - before_requests
            assert payload["total_overdue"] == overdue, payload["total_overdue"]
            process_time, peak, process_payload = run_report_process(sandbox.base_url, token, now)
            assert process_payload == payload
            times.append(elapsed)
            process_times.append(process_time)
            rss.append(peak)
            print(
                f"run {run + 1}: report {elapsed:.2f} s in process, {requests_made} requests "
                f"({limiter.rejected - before_429} answered 429 and retried); "
                f"as a CLI process {process_time:.2f} s with interpreter start, peak RSS {peak:.1f} MB"
            )

        naive_time, naive_late = run_naive(sandbox.base_url, token, now)
        assert naive_late >= overdue
        report_time = statistics.median(times)
        print(f"naive scan of all open tasks: {naive_time:.2f} s")
        print(
            f"report median: {report_time:.2f} s = {report_time / bound:.2f}x the bound "
            f"(target <= 1.2x), {naive_time / report_time:.1f}x faster than naive "
            f"(target >= 3x), peak RSS {max(rss):.1f} MB (target <= 80 MB)"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
