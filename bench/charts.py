"""Benchmark: what the director's pictures cost — render time, worker memory, installed size.

1. Render time, in this process after one warm-up: ``/chart`` for 40 managers (45 with overdue
   tasks: 40 bars and a "+5 more" note), ``/chart trend`` for 60 days of 40 managers, and the
   ``/team`` picture for 40 managers; median of ``--runs``, each against a baseline measured in
   the same run: saving an empty Figure of the same size (what any PNG of that size costs).
2. A worker's memory: a fresh process builds what a gunicorn worker holds (web app and runtime,
   not started, as ``server._Gunicorn`` does), reads its RSS from /proc/self/status, draws its
   first chart (importing matplotlib then), and reads it again; the first chart's time there
   includes the import. Once more with an empty MPLCONFIGDIR: a new machine, where matplotlib
   first builds its font list.
3. The installed size matplotlib adds: the files of matplotlib and of every package it needs
   that the bot did not already need, as their installed metadata lists them.

Usage: python bench/charts.py [--runs 21]
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from importlib import metadata
from pathlib import Path

import pytz
from packaging.requirements import Requirement

from leoweb_bot.amocrm.models import Task
from leoweb_bot.amocrm.models import User
from leoweb_bot.charts import DailySnapshot
from leoweb_bot.charts import ScoreRow
from leoweb_bot.charts import bars_data
from leoweb_bot.charts import overdue_bars
from leoweb_bot.charts import scorecard_table
from leoweb_bot.charts import trend_lines
from leoweb_bot.charts.bars import bars_size
from leoweb_bot.charts.canvas import render
from leoweb_bot.charts.scorecard import scorecard_data
from leoweb_bot.charts.scorecard import table_size
from leoweb_bot.charts.trend import SIZE as TREND_SIZE
from leoweb_bot.reports import OverdueReport
from leoweb_bot.reports import overdue_by_manager

TZ = pytz.timezone("Asia/Almaty")
NOW = int(TZ.localize(datetime.datetime(2026, 11, 25, 14, 5)).timestamp())
FIRST = ("Айгерим", "Зелимхан", "Милана", "Сарбиназ", "Ерлан", "Дмитрий", "Жанар", "Анна")
LAST = ("Абдурахманова", "Қуанышұлы", "Петрова", "Ким", "Смагулов", "Иванов-Петров")


def names(count: int, seed: int = 1) -> dict[int, str]:
    pick = random.Random(seed).choice
    return {uid: f"{pick(FIRST)} {pick(LAST)}" for uid in range(1, count + 1)}


def report(managers: int) -> OverdueReport:
    users = {uid: User(uid, name) for uid, name in names(managers).items()}
    late = random.Random(2)
    tasks = [
        Task(n, "Позвонить", 1 + n % managers, NOW - late.randint(3600, 30 * 86400), False)
        for n in range(managers * 25)
    ]
    return overdue_by_manager(tasks, users, NOW, TZ)


def history(days: int, managers: int) -> list[DailySnapshot]:
    today = datetime.date(2026, 11, 25)
    noise = random.Random(3)
    return [
        DailySnapshot(today - datetime.timedelta(days=d), uid, name, noise.randint(0, 40))
        for d in range(days)
        for uid, name in names(managers).items()
    ]


def scores(managers: int) -> list[ScoreRow]:
    noise = random.Random(4)
    return [
        ScoreRow(uid, name, *(noise.randint(0, 30) for _ in range(4)))
        for uid, name in names(managers).items()
    ]


def median_ms(draw, runs: int) -> float:
    draw()  # warm-up: fonts and the text layout cache
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        draw()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


def render_times(runs: int) -> None:
    bars, table = bars_data(report(45)), scores(40)
    days = history(60, 40)
    cases = [
        ("/chart, 40 of 45 managers", lambda: overdue_bars(bars, NOW, TZ), bars_size(bars)),
        ("/chart trend, 60 days x 40", lambda: trend_lines(days, NOW, TZ), TREND_SIZE),
        ("/team chart, 40 managers", lambda: scorecard_table(table, NOW, TZ),
         table_size(scorecard_data(table))),
    ]  # fmt: skip
    print(f"render time, median of {runs} (target <= 300 ms for the first two):")
    for name, draw, size in cases:
        chart = median_ms(draw, runs)
        empty = median_ms(lambda size=size: render(size, lambda figure: None), runs)
        print(
            f"  {name:28} {chart:6.1f} ms   empty {size.width}x{size.height} Figure saved: "
            f"{empty:5.1f} ms   ratio {chart / empty:4.1f}x   PNG {len(draw()) / 1024:.0f} KiB"
        )


def worker_memory() -> dict[str, float]:
    """Runs in a fresh process (``--worker``): RSS of a built worker before and after a chart."""
    from leoweb_bot.config import settings_from_mapping
    from leoweb_bot.service import server
    from leoweb_bot.service import web
    from leoweb_bot.state import State

    def rss_mb(field: str = "VmRSS") -> float:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
        raise LookupError(field)

    with tempfile.TemporaryDirectory() as tmp:
        settings = settings_from_mapping({
            "telegram": {"token": "123:bench", "webhook_secret": "s", "api_url": "http://127.0.0.1:9"},
            "amocrm": {"base_url": "http://127.0.0.1:9", "token": "bench"},
            "bot": {"state_path": str(Path(tmp) / "state.sqlite3")},
        })  # fmt: skip
        app = web.create_app(settings, State(settings.bot.state_path, checkpoints=False))
        runtime = server.build_runtime(settings, watch_webhook=True)
        bars = bars_data(report(40))
        figures = {"worker_mb": rss_mb(), "matplotlib_loaded": "matplotlib" in sys.modules}
        started = time.perf_counter()
        overdue_bars(bars, NOW, TZ)
        figures["first_chart_ms"] = (time.perf_counter() - started) * 1000
        figures["after_first_mb"] = rss_mb()
        trend_lines(history(60, 40), NOW, TZ)
        scorecard_table(scores(40), NOW, TZ)
        figures["after_all_three_mb"] = rss_mb()
        figures["peak_mb"] = rss_mb("VmHWM")
        runtime.close()
        app.extensions["leoweb_state"].close()
    return figures


def run_worker(env: dict[str, str]) -> dict[str, float]:
    child = subprocess.run(
        [sys.executable, __file__, "--worker"],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, **env},
    )
    worker = json.loads(child.stdout)
    assert not worker["matplotlib_loaded"], "a built worker should not have loaded matplotlib"
    return worker


def installed_size() -> None:
    """matplotlib and the packages only it brings, by their installed files."""
    ours = closure(r for r in requirements("leoweb-bot") if r != "matplotlib")
    added = sorted(closure(["matplotlib"]) - ours)
    total = 0
    print("installed size matplotlib adds (packages the bot did not already need):")
    for name in added:
        files = metadata.distribution(name).files or []
        size = sum(f.locate().stat().st_size for f in files if Path(f.locate()).is_file())
        total += size
        print(f"  {name:18} {metadata.version(name):10} {size / 2**20:6.1f} MiB")
    print(f"  {'total':29} {total / 2**20:6.1f} MiB")


def requirements(name: str) -> list[str]:
    """The packages ``name`` needs as installed here (no extras; markers for this Python)."""
    needed = []
    for text in metadata.requires(name) or []:
        req = Requirement(text)
        if req.marker is None or req.marker.evaluate({"extra": ""}):
            needed.append(req.name.lower())
    return needed


def closure(names: object) -> set[str]:
    seen: set[str] = set()
    todo = list(names)  # type: ignore[call-overload]
    while todo:
        name = todo.pop()
        if name not in seen:
            seen.add(name)
            todo.extend(requirements(name))
    return seen


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=21)
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        print(json.dumps(worker_memory()))
        return 0
    print(f"command: {' '.join([sys.executable, *sys.argv])}")
    worker = run_worker({})
    with tempfile.TemporaryDirectory() as empty:
        fresh = run_worker({"MPLCONFIGDIR": empty})  # as on a new machine: no font cache yet
    print(
        f"worker RSS (fresh process, runtime built): {worker['worker_mb']:.1f} MB before any "
        f"chart, {worker['after_first_mb']:.1f} MB after the first "
        f"(+{worker['after_first_mb'] - worker['worker_mb']:.1f} MB), "
        f"{worker['after_all_three_mb']:.1f} MB after all three; peak {worker['peak_mb']:.1f} MB"
    )
    print(
        f"first chart in that worker, matplotlib import included: {worker['first_chart_ms']:.0f} ms;"
        f" {fresh['first_chart_ms']:.0f} ms when matplotlib builds its font cache first"
    )
    render_times(args.runs)
    installed_size()
    return 0


if __name__ == "__main__":
    sys.exit(main())
