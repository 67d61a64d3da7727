"""Benchmark: the screens through the real webhook, on the mirror and on the live path.

For each account size (default 4 000, 20 000 and 100 000 open tasks, about a quarter overdue,
40 managers): an in-process sandbox at 7 req/s with 100 ms latency (the 429s it answers are
counted), a fake Bot API, and `leoweb-bot serve` (gunicorn, 2 workers) run twice on fresh state
dbs:

1. *live*, today's path: the bench holds the sync lease, so no process bootstraps and every
   screen reads amoCRM as it did before the mirror;
2. *mirror*: the server bootstraps (time, requests and rate against the 7 req/s bound), the
   first cycle runs, and the screens read the mirror.

The session, each screen timed from the webhook POST to its message at the fake Bot API, with
the amoCRM requests it caused (the sync's own are counted apart): the director's `/report`, a
tap on the manager with the most overdue tasks, ▶, ⬆ back, `/report` again, a manager's
`/mytasks`, and 🔄 on the report, each tap 1.2 s after the screen before it (as a person
reads it; faster, Telegram's pacing of one message per second per chat is what one would
measure). Then, mirror only, the requests of an idle server over
``--idle-seconds`` (per hour), and each worker's RSS. Overdue alerts are off in both runs, so
that only the screens and the sync ask amoCRM.

Usage: PYTHONPATH=. python bench/screens.py [--sizes 4000,20000,100000] [--idle-seconds 130]
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from dataclasses import field
from pathlib import Path
from typing import Any

import requests
from overdue_report import CountingLimiter

from leoweb_bot.bot.codec import ManagerPage
from leoweb_bot.bot.codec import Refresh
from leoweb_bot.bot.codec import ReportSummary
from leoweb_bot.bot.codec import decode
from leoweb_bot.bot.codec import encode
from leoweb_bot.sandbox import Sandbox
from leoweb_bot.sandbox.catalog import FIRST_MANAGER_ID
from leoweb_bot.state import State
from leoweb_bot.state.progress import CYCLE
from leoweb_bot.state.progress import Progress
from tests.kit.fakebot import FakeBotAPI
from tests.kit.fakebot import SentMessage

RATE, LATENCY_MS, MANAGERS = 7, 100, 40
TOKEN = "123456789:AAbenchTokenForScreens_0123456789abcd"
SECRET = "bench-screens-secret"
DIRECTOR, MANAGER = 201, 301
TIMEOUT = 600.0  # a live /report on the largest account takes tens of seconds
HUMAN_PACE = 1.2  # seconds from one screen to the next tap in the same chat
SYNC_PATHS = ("filter[updated_at]", "/api/v4/events", "order[id]")  # what only the sync asks
_ids = itertools.count(1)


@dataclass
class Screen:
    name: str
    seconds: float
    requests: int  # by the screen (the live path), not by the sync
    sync_requests: int


@dataclass
class Run:
    screens: list[Screen] = field(default_factory=list)
    rss_mb: list[float] = field(default_factory=list)
    rejected: int = 0
    bootstrap: str = ""
    idle_per_hour: float | None = None


class Server:
    """`leoweb-bot serve` in its own process group, on a fresh state db."""

    def __init__(self, sandbox: Sandbox, fake: FakeBotAPI, folder: Path) -> None:
        self.state_path = folder / "state.sqlite3"
        self.log = folder / "serve.log"
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("LEOWEB_")}
        self.env.update(
            LEOWEB_TELEGRAM_TOKEN=TOKEN, LEOWEB_TELEGRAM_WEBHOOK_SECRET=SECRET,
            LEOWEB_TELEGRAM_API_URL=fake.url, LEOWEB_AMOCRM_BASE_URL=sandbox.base_url or "",
            LEOWEB_AMOCRM_TOKEN=sandbox.credentials.token, LEOWEB_AMOCRM_RATE_LIMIT=str(RATE),
            LEOWEB_BOT_STATE_PATH=str(self.state_path), LEOWEB_ACCESS_DIRECTORS=str(DIRECTOR),
            LEOWEB_ACCESS_MANAGERS=f"{MANAGER}={FIRST_MANAGER_ID}", LEOWEB_ALERTS_ENABLED="false",
            LEOWEB_SERVER_PORT=str(self.port), LEOWEB_SERVER_WORKERS="2",
        )  # fmt: skip
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        with self.log.open("ab") as out:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "leoweb_bot", "serve"],
                stdout=out, stderr=subprocess.STDOUT, env=self.env, start_new_session=True,
            )  # fmt: skip
        wait_until(lambda: self.health() is not None, 60, "the server to answer")

    def health(self) -> dict[str, Any] | None:
        try:
            return requests.get(f"{self.url}/healthz", timeout=5).json()
        except (requests.RequestException, ValueError):
            return None

    def post(self, update: dict[str, Any]) -> None:
        headers = {"X-Telegram-Bot-Api-Secret-Token": SECRET}
        response = requests.post(
            f"{self.url}/telegram/webhook", json=update, headers=headers, timeout=10
        )
        assert response.status_code == 200, response.text

    def workers_rss_mb(self) -> list[float]:
        assert self.proc is not None
        children = Path(f"/proc/{self.proc.pid}/task/{self.proc.pid}/children").read_text()
        return [rss_mb(int(pid)) for pid in children.split()]

    def stop(self) -> None:
        if self.proc is not None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def wait_until(done: Callable[[], Any], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not done():
        if time.monotonic() > deadline:
            raise TimeoutError(f"no {what} within {timeout:.0f} s")
        time.sleep(0.05)


def message(user: int, text: str) -> dict[str, Any]:
    n = next(_ids)
    entities = [{"type": "bot_command", "offset": 0, "length": len(text.split()[0])}]
    chat = {"id": user, "type": "private"}
    sender = {"id": user, "is_bot": False, "first_name": "Bench"}
    body = {"message_id": n, "date": int(time.time()), "chat": chat, "from": sender}
    return {"update_id": n, "message": {**body, "text": text, "entities": entities}}


def press(user: int, on: SentMessage, data: str) -> dict[str, Any]:
    n = next(_ids)
    chat = {"id": user, "type": "private"}
    shown = {"message_id": on.message_id, "date": int(time.time()), "chat": chat, "text": on.text}
    sender = {"id": user, "is_bot": False, "first_name": "Bench"}
    query = {"id": f"q{n}", "from": sender, "chat_instance": "b", "data": data, "message": shown}
    return {"update_id": n, "callback_query": query}


class Session:
    """Screens of one run, each timed and its amoCRM requests counted."""

    def __init__(self, sandbox: Sandbox, fake: FakeBotAPI, server: Server, run: Run) -> None:
        self.sandbox, self.fake, self.server, self.run = sandbox, fake, server, run
        self._last: dict[int, float] = {}

    def screen(self, name: str, user: int, update: dict[str, Any], fragment: str) -> SentMessage:
        # A person reads a screen before the next tap; faster, the bot's one-message-per-second
        # pacing per chat (docs/telegram.md#limits) would be what this measures.
        time.sleep(max(0.0, self._last.get(user, 0.0) + HUMAN_PACE - time.monotonic()))
        seen = len(self.fake.sent(user))
        log_before = len(self.sandbox.requests_log)
        started = time.perf_counter()
        self.server.post(update)
        found: list[SentMessage] = []

        def arrived() -> bool:
            found[:] = [m for m in self.fake.sent(user)[seen:] if fragment in m.text]
            return bool(found)

        assert self.fake.wait_for(arrived, TIMEOUT), f"{name}: no message with {fragment!r}"
        seconds = time.perf_counter() - started
        self._last[user] = time.monotonic()
        paths = [p for _, p in self.sandbox.requests_log[log_before:]]
        sync = sum(1 for p in paths if any(mark in p for mark in SYNC_PATHS))
        self.run.screens.append(Screen(name, seconds, len(paths) - sync, sync))
        return found[-1]

    def director_and_manager(self) -> None:
        total = "Всего просрочено"
        report = self.screen("/report (director)", DIRECTOR, message(DIRECTOR, "/report"), total)
        tapped = next(b for _, d in report.buttons if isinstance(b := decode(d), ManagerPage))
        manager, second = encode(tapped), encode(ManagerPage(tapped.user, 1))
        page = self.screen(
            "tap a manager", DIRECTOR, press(DIRECTOR, report, manager), "— просрочено"
        )
        page = self.screen("next page", DIRECTOR, press(DIRECTOR, page, second), "Стр. 2 из")
        summary = encode(ReportSummary())
        back = self.screen("back to all", DIRECTOR, press(DIRECTOR, page, summary), total)
        self.screen("/report again", DIRECTOR, message(DIRECTOR, "/report"), total)
        self.screen("/mytasks (manager)", MANAGER, message(MANAGER, "/mytasks"), "Ваши задачи")
        refresh = encode(Refresh(ReportSummary()))
        self.screen("🔄 refresh", DIRECTOR, press(DIRECTOR, back, refresh), total)


def hold_lease(path: Path, stop: threading.Event) -> None:
    """The live path: the bench holds the sync lease, renewed, so no process bootstraps."""
    state = State(path)
    progress = Progress(state)
    while not stop.is_set():
        progress.take_lease("bench: the live path", time.time(), 120)
        stop.wait(20)
    progress.release_lease("bench: the live path")
    state.close()


def live_run(sandbox: Sandbox, fake: FakeBotAPI, folder: Path) -> Run:
    run, server = Run(), Server(sandbox, fake, folder)
    State(server.state_path).close()  # the schema, for the lease
    stop = threading.Event()
    holder = threading.Thread(target=hold_lease, args=(server.state_path, stop), daemon=True)
    holder.start()
    before = sandbox.limiter.rejected  # type: ignore[attr-defined]
    try:
        server.start()
        Session(sandbox, fake, server, run).director_and_manager()
        run.rss_mb = server.workers_rss_mb()
    finally:
        server.stop()
        stop.set()
        holder.join()
    run.rejected = sandbox.limiter.rejected - before  # type: ignore[attr-defined]
    return run


def mirror_run(sandbox: Sandbox, fake: FakeBotAPI, folder: Path, idle: float) -> Run:
    run, server = Run(), Server(sandbox, fake, folder)
    before = sandbox.limiter.rejected  # type: ignore[attr-defined]
    try:
        log_before = len(sandbox.requests_log)
        server.start()
        wait_until(lambda: len(sandbox.requests_log) > log_before, 60, "the first request")
        started = time.perf_counter()
        wait_until(lambda: (server.health() or {}).get("sync", {}).get("state") == "ready",
                   TIMEOUT, "bootstrap")  # fmt: skip
        seconds = time.perf_counter() - started
        made = len(sandbox.requests_log) - log_before
        run.bootstrap = (
            f"{made} requests in {seconds:.1f} s = {made / seconds:.2f} req/s"
            f" ({made / seconds / RATE:.0%} of the {RATE} req/s bound)"
        )
        state = State(server.state_path)
        wait_until(lambda: Progress(state).status(CYCLE).synced_at, 60, "the first cycle")
        Session(sandbox, fake, server, run).director_and_manager()
        if idle > 0:
            quiet_from = len(sandbox.requests_log)
            time.sleep(idle)  # an idle server: what does it ask amoCRM meanwhile?
            run.idle_per_hour = (len(sandbox.requests_log) - quiet_from) * 3600 / idle
        run.rss_mb = server.workers_rss_mb()
        state.close()
    finally:
        server.stop()
    run.rejected = sandbox.limiter.rejected - before  # type: ignore[attr-defined]
    return run


def report(size: int, overdue: int, live: Run, mirror: Run) -> dict[str, Any]:
    print(f"\n== {size:,} open tasks ({overdue:,} overdue), {MANAGERS} managers, "
          f"{RATE} req/s, {LATENCY_MS} ms latency ==")  # fmt: skip
    print(f"bootstrap: {mirror.bootstrap}")
    print(f"{'screen':<20} {'live s':>8} {'req':>4} {'mirror s':>9} {'req':>4} {'live/mirror':>12}")
    for a, b in zip(live.screens, mirror.screens, strict=True):
        print(f"{a.name:<20} {a.seconds:>8.2f} {a.requests:>4} {b.seconds:>9.3f} "
              f"{b.requests:>4} {a.seconds / b.seconds:>11.0f}×")  # fmt: skip
    times = [s.seconds for s in mirror.screens if s.name != "🔄 refresh"]
    refresh = mirror.screens[-1]
    print(f"mirror screens: median {statistics.median(times):.3f} s, max {max(times):.3f} s; "
          f"🔄 {refresh.seconds:.2f} s with {refresh.sync_requests} sync requests")  # fmt: skip
    if mirror.idle_per_hour is not None:
        per_hour = mirror.idle_per_hour
        print(f"idle: {per_hour:.0f} amoCRM requests/hour ({per_hour / 60:.1f}/min)")
    print(f"worker RSS: live {'/'.join(f'{m:.0f}' for m in live.rss_mb)} MB, "
          f"mirror {'/'.join(f'{m:.0f}' for m in mirror.rss_mb)} MB")  # fmt: skip
    print(f"429 answered by amoCRM (and retried): live {live.rejected}, mirror {mirror.rejected}")
    return {"median": statistics.median(times), "max": max(times)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="4000,20000,100000")
    parser.add_argument("--idle-seconds", type=float, default=130.0)
    args = parser.parse_args()
    print(f"command: {' '.join([sys.executable, *sys.argv])}")
    summary = {}
    for size in (int(s) for s in args.sizes.split(",")):
        with Sandbox(seed=1, tasks=size, managers=MANAGERS, latency_ms=LATENCY_MS,
                     rate_limit=RATE) as sandbox, FakeBotAPI() as fake, \
                tempfile.TemporaryDirectory() as tmp:  # fmt: skip
            sandbox.limiter = CountingLimiter(RATE)
            now = sandbox.data.now
            overdue = sum(1 for t in sandbox.data.tasks if t["complete_till"] < now)
            (Path(tmp) / "live").mkdir()
            (Path(tmp) / "mirror").mkdir()
            live = live_run(sandbox, fake, Path(tmp) / "live")
            mirror = mirror_run(sandbox, fake, Path(tmp) / "mirror", args.idle_seconds)
            summary[size] = report(size, overdue, live, mirror)
    if len(summary) > 1:
        small, large = min(summary), max(summary)
        ratio = summary[large]["median"] / summary[small]["median"]
        print(f"\n{large:,} vs {small:,} tasks: median screen ×{ratio:.2f}")
    print(json.dumps(summary))
    return 0


if __name__ == "__main__":
    sys.exit(main())
