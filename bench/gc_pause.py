"""Benchmark: how long a full garbage collection stops a `serve` worker, before and after freeze.

Builds what a gunicorn worker holds (the web app and the runtime: amoCRM client, bot,
dispatcher, scheduler, not started) in this process, as ``server._Gunicorn`` does. Then it times
``gc.collect()`` — what CPython runs on its own now and then, with every thread of the process
stopped — first as is, then after ``gc.freeze()``, which `serve` calls once the runtime is built. Same process, same objects:
what freezing takes off each pause is the figure.

Usage: python bench/gc_pause.py [--runs 5]
"""

from __future__ import annotations

import argparse
import gc
import statistics
import sys
import tempfile
import time
from pathlib import Path

from leoweb_bot.config import settings_from_mapping
from leoweb_bot.sandbox import Sandbox
from leoweb_bot.service import server
from leoweb_bot.service import web
from leoweb_bot.state import State


def collect_ms(runs: int) -> list[float]:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        gc.collect()
        times.append((time.perf_counter() - started) * 1000)
    return times


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp, Sandbox(rate_limit=0) as sandbox:
        settings = settings_from_mapping({
            "telegram": {"token": "123:bench", "webhook_secret": "s", "api_url": "http://127.0.0.1:9"},
            "amocrm": {"base_url": sandbox.base_url, "token": sandbox.credentials.token},
            "bot": {"state_path": str(Path(tmp) / "state.sqlite3")},
        })  # fmt: skip
        app = web.create_app(settings, State(settings.bot.state_path, checkpoints=False))
        runtime = server.build_runtime(settings, watch_webhook=True)
        tracked = len(gc.get_objects())
        before = collect_ms(args.runs)
        gc.freeze()
        after = collect_ms(args.runs)
        runtime.close()
        app.extensions["leoweb_state"].close()

    median_before, median_after = statistics.median(before), statistics.median(after)
    print(f"command: {' '.join([sys.executable, *sys.argv])}")
    print(f"objects tracked by the collector in a worker: {tracked:,}")
    print(f"full collection, as is:       median {median_before:6.1f} ms  (runs: "
          f"{', '.join(f'{x:.1f}' for x in before)})")  # fmt: skip
    print(f"full collection, after freeze: median {median_after:6.1f} ms  (runs: "
          f"{', '.join(f'{x:.1f}' for x in after)})")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
