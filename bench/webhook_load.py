"""Benchmark: webhook acknowledgement latency under load while amoCRM answers in 2 s.

Starts, all on 127.0.0.1: the sandbox (`leoweb-bot sandbox --latency-ms 2000`), a counting fake
Bot API (a child process, so its work does not share a GIL with the load generator) and
`leoweb-bot serve` (gunicorn, 2 workers × 8 threads, state database in a temporary directory
on disk). Then, open loop at a fixed rate with keep-alive connections on several client threads:

0. warm-up: ``GET /healthz``, and a few updates answered before anything is measured;
1. baseline: ``GET /healthz`` at the same rate, to show what the machine and client cost;
2. load: ``POST /telegram/webhook``, each update a new update_id, mostly ``/start`` across many
   private chats (no amoCRM) plus a share of ``/report`` (each in a group chat of its own,
   waiting 2 s per amoCRM request): the bot waits on amoCRM, the acknowledgements must not.
   Alongside it, ``GET /healthz`` at 30/s: what the same moments cost a request that writes
   nothing, so a slow moment of the machine shows in both.

Each phase also reports the machine's CPU use and steal (/proc/stat): a run with high steal
measured the hypervisor's neighbours more than this program.

Latency is measured per request from when it was sent and, to expose queueing in the client,
from when it was scheduled. Afterwards it waits until every update has its reply at the fake
Bot API (each /start greeting names its update, each /report has its own chat) and counts the
lost and the duplicated. Exit status 1 when a target is missed (p99 ≤ 25 ms at the rate, none
lost, none duplicated).

Usage: python bench/webhook_load.py [--rate 300] [--duration 10] [--clients 16]
                                    [--report-share 0.01] [--chats 400] [--amo-latency-ms 2000]
"""

from __future__ import annotations

import argparse
import http.client
import itertools
import json
import multiprocessing
import os
import re
import shlex
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable
from collections.abc import Iterator
from contextlib import contextmanager
from contextlib import suppress
from dataclasses import dataclass
from functools import partial
from http.server import BaseHTTPRequestHandler
from http.server import ThreadingHTTPServer
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl
from urllib.parse import urlsplit

import requests

BOT_TOKEN = "123456789:AAbenchTokenForWebhookLoad_0123456789"
SECRET = "bench-webhook-secret"
ADMIN_BASE = 500_000_000  # private chats: user ids ADMIN_BASE + 1 … ADMIN_BASE + chats
REPORT_CHAT_BASE = -1_000_000_000_000  # a group chat of its own for every /report
TARGET_P99_MS = 25.0
WARM_UPDATES = 40  # /start before the measured phases, answered before they begin
PROBE_RATE = 30.0  # GET /healthz per second alongside the webhook load
START_TIMEOUT = 30.0
GREETING_RE = re.compile(r"Hello, u(\d+)!")
BOT_USER = {"id": 7000000001, "is_bot": True, "first_name": "Bench", "username": "bench_bot"}


# -- the counting fake Bot API (child process) -------------------------------------------------


class Replies:
    """What the bot sent, reduced to one key per update it answers, and sends per second."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.keys: Counter[str] = Counter()
        self.per_second: Counter[int] = Counter()
        self.message_ids = itertools.count(1)

    def record(self, method: str, params: dict[str, str]) -> dict[str, Any]:
        text = params.get("text", "")
        chat_id = int(params.get("chat_id", "0") or 0)
        key = None
        if method == "sendMessage" and (greeting := GREETING_RE.search(text)):
            key = f"u{greeting.group(1)}"
        elif method == "editMessageText" and "<b>Overdue tasks</b>" in text:
            key = f"r{chat_id}"
        with self.lock:
            self.per_second[int(time.time())] += 1
            if key is not None:
                self.keys[key] += 1
        message_id = int(params.get("message_id", 0)) or next(self.message_ids)
        chat = {"id": chat_id, "type": "private" if chat_id > 0 else "group"}
        return {"message_id": message_id, "date": int(time.time()), "chat": chat, "text": text}

    def snapshot(self) -> dict[str, Any]:
        with self.lock:
            return {"keys": dict(self.keys), "per_second": dict(self.per_second)}


def fake_bot_api(pipe: Connection) -> None:
    """Serve a minimal Bot API on 127.0.0.1:0 until terminated; the port goes down ``pipe``."""
    replies = Replies()

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        disable_nagle_algorithm = True

        def do_GET(self) -> None:
            self.serve()

        def do_POST(self) -> None:
            self.serve()

        def serve(self) -> None:
            url = urlsplit(self.path)
            length = int(self.headers.get("Content-Length") or 0)
            if length:
                self.rfile.read(length)
            if url.path == "/stats":
                self.reply(replies.snapshot())
                return
            method = url.path.rsplit("/", 1)[-1]
            params = dict(parse_qsl(url.query, keep_blank_values=True))
            result: Any = True
            if method in ("sendMessage", "editMessageText"):
                result = replies.record(method, params)
            elif method == "getMe":
                result = BOT_USER
            elif method == "getWebhookInfo":
                result = {"url": "", "has_custom_certificate": False, "pending_update_count": 0}
            self.reply({"ok": True, "result": result})

        def reply(self, body: dict[str, Any]) -> None:
            data = json.dumps(body).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: Any) -> None:
            """Silent: request lines carry the bot token."""

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    pipe.send(server.server_address[1])
    server.serve_forever()


# -- processes ----------------------------------------------------------------------------------


def spawn(args: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    with log.open("ab") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "leoweb_bot", *args],
            stdout=out,
            stderr=subprocess.STDOUT,
            env=env,
            cwd=log.parent,
            start_new_session=True,  # one process group: the gunicorn workers die with it
        )


def stop_group(proc: subprocess.Popen[bytes]) -> None:
    with suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        with suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


def wait_for_line(log: Path, pattern: str, proc: subprocess.Popen[bytes]) -> re.Match[str]:
    regex = re.compile(pattern, re.MULTILINE)
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        match = regex.search(log.read_text("utf-8", "replace"))
        if match:
            return match
        if proc.poll() is not None:
            sys.exit(f"{proc.args} exited; see {log}")
        time.sleep(0.02)
    sys.exit(f"no {pattern!r} in {log} after {START_TIMEOUT} s")


def clean_env(**overrides: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LEOWEB_")}
    env.update(overrides)
    return env


@contextmanager
def running_stack(args: argparse.Namespace, workdir: Path) -> Iterator[tuple[str, str]]:
    """Sandbox, fake Bot API and server; yields (server URL, fake Bot API URL)."""
    procs: list[subprocess.Popen[bytes]] = []
    receiver, sender = multiprocessing.Pipe(duplex=False)
    fake = multiprocessing.get_context("spawn").Process(
        target=fake_bot_api, args=(sender,), daemon=True
    )
    try:
        sandbox_log = workdir / "sandbox.log"
        procs.append(spawn(
            ["sandbox", "--port", "0", "--json", "--latency-ms", str(args.amo_latency_ms),
             "--rate-limit", str(args.amo_rate_limit)],
            clean_env(), sandbox_log,
        ))  # fmt: skip
        sandbox = json.loads(wait_for_line(sandbox_log, r'^\{"base_url".*$', procs[0]).group(0))
        fake.start()
        if not receiver.poll(START_TIMEOUT):
            sys.exit("the fake Bot API did not start")
        bot_url = f"http://127.0.0.1:{receiver.recv()}"
        admins = ",".join(str(ADMIN_BASE + n) for n in range(1, args.chats + 1))
        env = clean_env(
            LEOWEB_TELEGRAM_TOKEN=BOT_TOKEN,
            LEOWEB_TELEGRAM_WEBHOOK_SECRET=SECRET,
            LEOWEB_TELEGRAM_API_URL=bot_url,
            LEOWEB_AMOCRM_BASE_URL=sandbox["base_url"],
            LEOWEB_AMOCRM_TOKEN=sandbox["token"],
            LEOWEB_BOT_STATE_PATH=str(workdir / "state.sqlite3"),
            LEOWEB_BOT_LANGUAGE="en",
            LEOWEB_ACCESS_ADMINS=admins,
            LEOWEB_SERVER_PORT="0",
            LEOWEB_SERVER_WORKERS=str(args.workers),
            LEOWEB_SERVER_THREADS=str(args.threads),
            LEOWEB_LOG_LEVEL=args.log_level,
        )
        server_log = workdir / "serve.log"
        procs.append(spawn(["serve"], env, server_log))
        url = wait_for_line(server_log, r"serving on (http://\S+)", procs[1]).group(1)
        wait_healthy(url)
        yield url, bot_url
    finally:
        for proc in reversed(procs):
            stop_group(proc)
        if fake.is_alive():
            fake.terminate()
            fake.join(5)


def wait_healthy(url: str) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        with suppress(requests.ConnectionError):
            if requests.get(f"{url}/healthz", timeout=2).status_code == 200:
                return
        time.sleep(0.02)
    sys.exit("/healthz never answered 200")


# -- load ---------------------------------------------------------------------------------------


@dataclass
class Phase:
    name: str
    latencies: list[float]  # seconds, from send to response
    delays: list[float]  # seconds, from the scheduled time to response
    statuses: Counter[int]
    elapsed: float  # first scheduled send to last response
    rate_sent: float  # requests per second as scheduled
    cpu: CpuShare | None = None  # the whole machine's CPU during the phase (Linux)

    def save(self, path: Path) -> None:
        """One line per request: when it was due (s into the phase), latency and delay (ms)."""
        with path.open("w", encoding="utf-8") as out:
            out.write("due_s,latency_ms,delay_ms\n")
            for i, (latency, delay) in enumerate(zip(self.latencies, self.delays, strict=True)):
                out.write(f"{i / self.rate_sent:.4f},{latency * 1000:.2f},{delay * 1000:.2f}\n")

    @property
    def rate(self) -> float:
        return len(self.latencies) / self.elapsed

    def line(self) -> str:
        ms = sorted(x * 1000 for x in self.latencies)
        late = sorted(x * 1000 for x in self.delays)
        statuses = ", ".join(f"{code}×{n}" for code, n in sorted(self.statuses.items()))
        return (
            f"{self.name:<24} n={len(ms):<5} {self.rate:6.1f}/s  "
            f"p50 {pct(ms, 50):5.1f}  p90 {pct(ms, 90):5.1f}  p99 {pct(ms, 99):5.1f}  "
            f"max {ms[-1]:6.1f} ms | from schedule p99 {pct(late, 99):5.1f} ms | {statuses}"
            + (f" | {self.cpu}" if self.cpu else "")
        )


@dataclass(frozen=True)
class CpuShare:
    """The machine's CPU time over an interval, from /proc/stat: busy and stolen shares.

    Steal is time the hypervisor gave to other guests: when it is high, no figure of the run
    says much about this program.
    """

    busy: float
    steal: float

    def __str__(self) -> str:
        return f"CPU busy {self.busy:.0%}, steal {self.steal:.1%}"


def cpu_times() -> list[int] | None:
    """The aggregate ``cpu`` line of /proc/stat (proc(5)), or None off Linux."""
    try:
        with open("/proc/stat", encoding="ascii") as stat:
            return [int(x) for x in stat.readline().split()[1:9]]
    except OSError:
        return None


def cpu_share(before: list[int] | None, after: list[int] | None) -> CpuShare | None:
    if before is None or after is None:
        return None
    delta = [b - a for a, b in zip(before, after, strict=True)]
    total = sum(delta) or 1
    idle = delta[3] + delta[4]  # idle, iowait
    return CpuShare(busy=(total - idle) / total, steal=delta[7] / total)


def pct(sorted_values: list[float], p: float) -> float:
    index = min(len(sorted_values) - 1, max(0, round(p / 100 * len(sorted_values)) - 1))
    return sorted_values[index]


Request = tuple[str, str, bytes | None, dict[str, str]]  # method, path, body, headers


def open_loop(
    name: str, url: str, request: Callable[[int], Request], rate: float, count: int, clients: int
) -> Phase:
    """Send request ``i`` at ``start + i / rate`` whatever the earlier ones are doing.

    Each client thread keeps one connection open, as Telegram does. The client is http.client
    rather than requests, which costs several times the CPU per call: on two cores shared with
    the server, a heavy load generator shows up in the very latencies it measures.
    """
    results: list[tuple[float, float, int] | None] = [None] * count
    indexes = itertools.count()
    lock = threading.Lock()
    start = time.perf_counter() + 0.2
    address = urlsplit(url)

    def connect() -> http.client.HTTPConnection:
        return http.client.HTTPConnection(address.hostname, address.port, timeout=10)

    def client() -> None:
        conn = connect()
        while True:
            with lock:
                i = next(indexes)
            if i >= count:
                conn.close()
                return
            due = start + i / rate
            if (wait := due - time.perf_counter()) > 0:
                time.sleep(wait)
            method, path, body, headers = request(i)
            sent = time.perf_counter()
            try:
                conn.request(method, path, body, headers)
                reply = conn.getresponse()
                reply.read()
                status = reply.status
            except (OSError, http.client.HTTPException):
                conn.close()
                conn = connect()
                status = 0
            done = time.perf_counter()
            results[i] = (done - sent, done - due, status)

    threads = [threading.Thread(target=client) for _ in range(clients)]
    cpu_before = cpu_times()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    cpu = cpu_share(cpu_before, cpu_times())
    finished = [r for r in results if r is not None]
    end = max(start + i / rate + r[1] for i, r in enumerate(results) if r is not None)
    return Phase(
        name,
        [r[0] for r in finished],
        [r[1] for r in finished],
        Counter(r[2] for r in finished),
        end - start,
        rate,
        cpu,
    )


def post(bodies: list[bytes], i: int) -> Request:
    """Update ``i`` delivered as Telegram does."""
    headers = {"X-Telegram-Bot-Api-Secret-Token": SECRET, "Content-Type": "application/json"}
    return "POST", "/telegram/webhook", bodies[i], headers


def healthz(i: int) -> Request:
    return "GET", "/healthz", None, {}


def update_for(
    n: int, update_id: int, args: argparse.Namespace, *, report: bool = True
) -> tuple[dict[str, Any], str]:
    """The n-th update of the run and the reply key it must produce exactly once."""
    report_every = round(1 / args.report_share) if args.report_share > 0 and report else 0
    if report_every and n % report_every == report_every - 1:
        chat = {"id": REPORT_CHAT_BASE - n, "type": "group"}
        sender, text, key = ADMIN_BASE + 1, "/report", f"r{REPORT_CHAT_BASE - n}"
    else:
        sender = ADMIN_BASE + 1 + n % args.chats
        chat = {"id": sender, "type": "private"}
        text, key = "/start", f"u{update_id}"
    message = {
        "message_id": update_id,
        "date": int(time.time()),
        "chat": chat,
        "from": {"id": sender, "is_bot": False, "first_name": f"u{update_id}"},
        "text": text,
        "entities": [{"type": "bot_command", "offset": 0, "length": len(text)}],
    }
    return {"update_id": update_id, "message": message}, key


def handler_ms(server_log: Path) -> list[float]:
    """Time inside the webhook handler (web.py logs it per request at INFO), sorted."""
    pattern = re.compile(r"POST /telegram/webhook \d+ ([\d.]+)ms$", re.MULTILINE)
    return sorted(float(ms) for ms in pattern.findall(server_log.read_text("utf-8", "replace")))


def wait_for_replies(
    bot_url: str, expected: set[str], timeout: float
) -> tuple[dict[str, int], float]:
    """Poll the fake until every expected key has a reply (or time is up)."""
    started = time.monotonic()
    keys: dict[str, int] = {}
    while time.monotonic() - started < timeout:
        keys = requests.get(f"{bot_url}/stats", timeout=10).json()["keys"]
        if expected <= keys.keys():
            break
        time.sleep(0.25)
    return keys, time.monotonic() - started


@contextmanager
def workdir(keep: str | None) -> Iterator[Path]:
    """Logs and the state database: a temporary directory, or ``--keep DIR`` to read them later."""
    if keep:
        Path(keep).mkdir(parents=True, exist_ok=True)
        yield Path(keep)
        return
    with tempfile.TemporaryDirectory(prefix="webhook-load-") as tmp:
        yield Path(tmp)


def run(args: argparse.Namespace) -> int:
    count = int(args.rate * args.duration)
    with workdir(args.keep) as tmp, running_stack(args, tmp) as (url, bot_url):
        first_id = 10_000_000
        updates = [update_for(n, first_id + n, args) for n in range(count)]
        bodies = [json.dumps(update).encode() for update, _ in updates]

        # Warm-up: each dispatcher thread's first update pays for its first Bot API connection
        # (once per process lifetime); answer a few before anything is measured.
        warm = [update_for(n, first_id - WARM_UPDATES + n, args, report=False)
                for n in range(WARM_UPDATES)]  # fmt: skip
        warm_bodies = [json.dumps(update).encode() for update, _ in warm]
        open_loop("warm-up GET /healthz", url, healthz, 100, 200, args.clients)
        open_loop("warm-up POST", url, partial(post, warm_bodies), 50, WARM_UPDATES, args.clients)
        wait_for_replies(bot_url, {key for _, key in warm}, args.drain_timeout)

        baseline = open_loop("baseline GET /healthz", url, healthz, args.rate, count, args.clients)
        # While the webhook is loaded, a light probe of /healthz shows what the same moments
        # cost a request that touches no inbox write: the machine's share of the latency.
        probe_count = int(PROBE_RATE * args.duration)
        probe: list[Phase] = []
        prober = threading.Thread(
            target=lambda: probe.append(
                open_loop("  GET /healthz alongside", url, healthz, PROBE_RATE, probe_count, 2)
            )
        )
        prober.start()
        load = open_loop("POST /telegram/webhook", url, partial(post, bodies), args.rate, count,
                         args.clients)  # fmt: skip
        prober.join()
        expected = {key for _, key in updates}
        keys, drain = wait_for_replies(bot_url, expected, args.drain_timeout)
        stats = requests.get(f"{bot_url}/stats", timeout=10).json()
        inside = handler_ms(tmp / "serve.log")
        if args.keep:
            baseline.save(tmp / "healthz.csv")
            load.save(tmp / "webhook.csv")

    lost = sorted(expected - keys.keys())
    duplicates = {k: n for k, n in keys.items() if n > 1}
    reports = sum(1 for k in expected if k.startswith("r"))
    sends = stats["per_second"].values()
    p99 = pct(sorted(x * 1000 for x in load.latencies), 99)
    print(f"command: {shlex.join([sys.executable, *sys.argv])}")
    print(
        f"setup: {os.cpu_count()} CPUs; serve {args.workers} workers × {args.threads} threads; "
        f"amoCRM latency {args.amo_latency_ms} ms, rate limit {args.amo_rate_limit or 'off'}; "
        f"{count} updates = {count - reports} /start over {args.chats} chats + {reports} /report"
    )
    print(baseline.line())
    print(load.line())
    print(probe[0].line())
    if inside:  # the warm-up's acks are in the log too
        print(
            f"  inside the handler      n={len(inside):<5}          p50 {pct(inside, 50):5.1f}  "
            f"p90 {pct(inside, 90):5.1f}  p99 {pct(inside, 99):5.1f}  max {inside[-1]:6.1f} ms"
        )
    print(
        f"replies: {len(expected & keys.keys())}/{len(expected)} updates answered, lost {len(lost)}, "
        f"duplicates {len(duplicates)}; all answered {drain:.1f} s after the last ack; "
        f"Bot API sends peak {max(sends, default=0)}/s"
    )
    ok = p99 <= TARGET_P99_MS and load.rate >= 0.95 * args.rate and not lost and not duplicates
    ok = ok and set(load.statuses) == {200}
    print(f"targets (p99 ≤ {TARGET_P99_MS:.0f} ms at {args.rate:.0f}/s, none lost, none twice): "
          f"{'met' if ok else 'MISSED'}")  # fmt: skip
    return 0 if ok else 1


def main() -> int:
    # SIGTERM ends the run through the finally blocks, so no server is left behind.
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(128 + signum))
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rate", type=float, default=300, help="updates per second")
    parser.add_argument("--duration", type=float, default=10, help="seconds of load per phase")
    parser.add_argument("--clients", type=int, default=16, help="client threads (keep-alive)")
    parser.add_argument("--chats", type=int, default=400, help="private chats sending /start")
    parser.add_argument("--report-share", type=float, default=0.01, help="share of /report")
    parser.add_argument("--amo-latency-ms", type=int, default=2000)
    parser.add_argument("--amo-rate-limit", type=int, default=0, help="sandbox req/s, 0 = off")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--log-level", default="INFO")
    parser.add_argument("--drain-timeout", type=float, default=300)
    parser.add_argument(
        "--keep", metavar="DIR", help="keep logs, the state database and per-request CSVs in DIR"
    )
    return run(parser.parse_args())


if __name__ == "__main__":
    sys.exit(main())
