"""Benchmark: the mirror's reads behind /funnel, /team and the overdue alerts, by account size.

For each size, the sandbox's data (seed 1, 40 managers) goes into a fresh mirror, then each read
runs once to warm up and ``--runs`` times timed, in this process: the SQL and the Python around
it, no webhook and no Telegram (bench/screens.py measures whole screens). Where a read replaced
a Python pass over the mirror's rows, that pass is timed too, as the baseline of the same run.

Usage: PYTHONPATH=. python bench/mirror_reads.py [--sizes 4000,100000] [--runs 10]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import pytz

from leoweb_bot import tasklists
from leoweb_bot.amocrm.models import Lead
from leoweb_bot.amocrm.models import Task
from leoweb_bot.amocrm.models import User
from leoweb_bot.config import SyncSettings
from leoweb_bot.reports import leads_without_task
from leoweb_bot.reports import month_start
from leoweb_bot.reports import stage_counts
from leoweb_bot.sandbox.data import generate
from leoweb_bot.state import State
from leoweb_bot.state.mirror import Mirror
from leoweb_bot.state.progress import Progress
from leoweb_bot.sync.reader import MirrorReader
from leoweb_bot.sync.rows import lead_row
from leoweb_bot.sync.rows import task_row
from leoweb_bot.sync.rows import user_row

TZ = pytz.timezone("Asia/Almaty")
NOW = 1_796_000_000


Read = Callable[[], object]


def timed(runs: int, read: Read) -> float:
    """Milliseconds per call, after one warm-up call."""
    read()
    started = time.perf_counter()
    for _ in range(runs):
        read()
    return (time.perf_counter() - started) / runs * 1000


def mirrored(size: int, folder: Path) -> tuple[MirrorReader, dict[int, User], int]:
    data = generate(seed=1, tasks=size, managers=40, now=NOW)
    mirror = Mirror(State(folder / "state.sqlite3"))
    tasks = [Task.from_v4(raw) for raw in data.tasks if not raw["is_completed"]]
    mirror.put("tasks", [task_row(t) for t in tasks], data.now)
    mirror.put("leads", [lead_row(Lead.from_v4(raw)) for raw in data.leads], data.now)
    users = {raw["id"]: User.from_v4(raw) for raw in data.users}
    mirror.put_users([user_row(u) for u in users.values()])
    print(f"\n== {len(tasks):,} open tasks, {len(data.leads):,} leads ==")
    reader = MirrorReader(mirror, Progress(mirror.state), SyncSettings(), lambda: data.now)
    return reader, users, data.now


def reads(r: MirrorReader, users: dict[int, User], now: int) -> list[tuple[str, Read]]:
    since = month_start(now, TZ)
    return [
        ("/funnel stages, SQL", lambda: r.stage_counts(since, now)),
        ("/funnel stages, Python (before)", lambda: stage_counts(r.iter_leads(), since, now)),
        ("/team overdue counts", lambda: tasklists.overdue_report(r, users, now, TZ)),
        ("/team due today", lambda: tasklists.due_today(r, now, TZ)),
        ("/team lone leads, SQL", r.lone_counts),
        ("/team lone leads, Python (before)",
         lambda: leads_without_task(r.open_tasks(), r.iter_leads())),
        ("alerts' delta, nothing changed", lambda: r.went_late(now - 60, now + 1, now)),
    ]  # fmt: skip


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="4000,100000")
    parser.add_argument("--runs", type=int, default=10)
    args = parser.parse_args()
    print(f"command: {' '.join([sys.executable, *sys.argv])}")
    for size in (int(s) for s in args.sizes.split(",")):
        with tempfile.TemporaryDirectory() as folder:
            for label, read in reads(*mirrored(size, Path(folder))):
                print(f"{label:<36} {timed(args.runs, read):>9.1f} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
