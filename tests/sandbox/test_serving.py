"""The sandbox as a server: faults (rate limit, injected answers, latency), real HTTP, the CLI."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import tomllib
from pathlib import Path
from typing import Any

import pytest
import requests
from flask.testing import FlaskClient

from leoweb_bot.config import Settings
from leoweb_bot.config import settings_from_mapping
from leoweb_bot.sandbox import Sandbox
from leoweb_bot.sandbox.faults import BLOCK_AFTER
from leoweb_bot.sandbox.faults import RateLimiter
from tests.conftest import leoweb_env
from tests.kit.fakeclock import FakeClock
from tests.sandbox.kit import NOW

# --- faults ----------------------------------------------------------------------------------


def test_rate_limit_answers_html_429_without_retry_after(
    sandbox: Sandbox, client: FlaskClient, auth: dict[str, str]
) -> None:
    monotonic = FakeClock(100.0)
    sandbox.limiter = RateLimiter(3, monotonic=monotonic.time)
    assert [client.get("/api/v4/account", headers=auth).status_code for _ in range(3)] == [200] * 3
    refused = client.get("/api/v4/account", headers=auth)
    assert refused.status_code == 429
    assert refused.content_type.startswith("text/html")
    assert b"429 Too Many Requests" in refused.data and "Retry-After" not in refused.headers
    monotonic.now += 1.0
    assert client.get("/api/v4/account", headers=auth).status_code == 200


def test_limiter_counts_accepted_requests_and_blocks_after_a_storm() -> None:
    monotonic = FakeClock(0.0)
    limiter = RateLimiter(2, monotonic=monotonic.time)
    assert [limiter.admit(), limiter.admit(), limiter.admit()] == [None, None, 429]
    monotonic.now = 0.999
    assert limiter.admit() == 429
    monotonic.now = 1.0  # rejected requests used no budget: the window is free again
    assert limiter.admit() is None
    assert limiter.admit() is None
    statuses = [limiter.admit() for _ in range(BLOCK_AFTER)]
    assert statuses == [429] * BLOCK_AFTER
    monotonic.now = 5.0
    assert limiter.admit() == 403
    monotonic.now = 62.0
    assert limiter.admit() is None


def test_unlimited_when_rate_limit_is_zero() -> None:
    limiter = RateLimiter(0)
    assert all(limiter.admit() is None for _ in range(100))


def test_inject_answers_the_next_requests(
    sandbox: Sandbox, client: FlaskClient, auth: dict[str, str]
) -> None:
    sandbox.inject(503, count=2)
    sandbox.inject(402)
    sandbox.inject(403, body="<html><body>blocked</body></html>")
    first, second = (client.get("/api/v4/tasks", headers=auth) for _ in range(2))
    assert (first.status_code, second.status_code) == (503, 503)
    assert first.content_type.startswith("text/html")
    unpaid = client.get("/api/v4/tasks", headers=auth)
    assert (unpaid.status_code, unpaid.get_json()["status"]) == (402, 402)
    blocked = client.get("/api/v4/tasks", headers=auth)
    assert (blocked.status_code, blocked.data) == (403, b"<html><body>blocked</body></html>")
    assert client.get("/api/v4/tasks", headers=auth).status_code == 200
    assert sandbox.request_count == 5
    assert sandbox.requests_log[-1] == ("GET", "/api/v4/tasks")


def test_latency_delays_each_api_answer() -> None:
    sandbox = Sandbox(now=NOW, latency_ms=60, rate_limit=0)
    started = time.perf_counter()
    sandbox.app.test_client().get("/api/v4/account")
    assert time.perf_counter() - started >= 0.06


# --- serving ---------------------------------------------------------------------------------


def test_start_and_stop_serve_real_http() -> None:
    with Sandbox(now=NOW, rate_limit=0) as sandbox:
        base_url = sandbox.base_url
        assert base_url is not None and re.fullmatch(r"http://127\.0\.0\.1:\d+", base_url)
        auth = {"Authorization": f"Bearer {sandbox.credentials.token}"}
        params = {"filter[is_completed]": 0, "limit": 250}
        response = requests.get(f"{base_url}/api/v4/tasks", params=params, headers=auth, timeout=5)
        assert response.status_code == 200
        follow = requests.get(response.json()["_links"]["next"]["href"], headers=auth, timeout=5)
        assert len(follow.json()["_embedded"]["tasks"]) == 50
        assert sandbox.request_count == 2
        assert sandbox.requests_log[0] == ("GET", "/api/v4/tasks?filter[is_completed]=0&limit=250")
    assert sandbox.base_url is None
    with pytest.raises(requests.ConnectionError):
        requests.get(f"{base_url}/api/v4/account", timeout=2)


def _python(code: str, **kwargs: Any) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    return subprocess.Popen([sys.executable, "-c", code], text=True, env=env, **kwargs)


def test_importing_the_package_starts_nothing() -> None:
    code = "import threading, leoweb_bot.sandbox; assert threading.active_count() == 1"
    assert _python(code).wait(timeout=20) == 0


def test_run_sandbox_says_how_to_point_the_bot_at_it_and_stops_on_sigterm() -> None:
    code = "from leoweb_bot.sandbox import run_sandbox; raise SystemExit(run_sandbox(port=0, tasks=40))"
    process = _python(code, stdout=subprocess.PIPE)
    try:
        assert process.stdout is not None
        first = process.stdout.readline()
        assert first.startswith("amoCRM sandbox at http://127.0.0.1:")
        assert "40 open tasks" in first
        greeting = [first, *(process.stdout.readline() for _ in range(9))]
        assert greeting[-1] == (
            "Ctrl+C stops the sandbox. With --json it prints every credential as one JSON line.\n"
        )
        # The config.toml lines it shows, pasted as they are, give working amoCRM settings.
        snippet = "".join(line.removeprefix("  ") for line in greeting if line.startswith("  "))
        amocrm = load_config_text(snippet).require("amocrm").amocrm
        headers = {"Authorization": f"Bearer {amocrm.token}"}
        account = requests.get(f"{amocrm.base_url}/api/v4/account", headers=headers, timeout=5)
        assert account.json()["id"] == 31000001
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=10) == 0
    finally:
        process.kill()


def load_config_text(text: str) -> Settings:
    return settings_from_mapping(tomllib.loads(text))


def _cli(*args: str, **kwargs: Any) -> subprocess.Popen[str]:
    return subprocess.Popen(_command(*args), text=True, env=_env(), **kwargs)


def _cli_run(*args: str) -> subprocess.CompletedProcess[str]:
    """Run a sandbox command that should stop by itself (killed after 30 s if it does not)."""
    return subprocess.run(_command(*args), env=_env(), capture_output=True, text=True, timeout=30)


def _command(*args: str) -> list[str]:
    return [sys.executable, "-m", "leoweb_bot", "sandbox", *args]


def _env() -> dict[str, str]:
    return {**leoweb_env(), "PYTHONPATH": str(Path(__file__).resolve().parents[2])}


def test_json_flag_prints_every_credential_as_one_line() -> None:
    process = _cli("--port", "0", "--json", "--tasks", "40", stdout=subprocess.PIPE)
    try:
        assert process.stdout is not None
        announced = json.loads(process.stdout.readline())
        assert set(announced) >= {"base_url", "token", "login", "api_key", "auth_code", "now"}
        headers = {"Authorization": f"Bearer {announced['token']}"}
        account = requests.get(
            f"{announced['base_url']}/api/v4/account", headers=headers, timeout=5
        )
        assert account.json()["id"] == 31000001
        process.send_signal(signal.SIGINT)  # Ctrl+C
        assert process.wait(timeout=10) == 0
    finally:
        process.kill()


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (("--port", "99999"), "argument --port: 99999 is not a port (0-65535; 0 = any free port)"),
        (("--port", "-1"), "argument --port: -1 is not a port (0-65535; 0 = any free port)"),
        (("--port", "eighty"), "argument --port: 'eighty' is not a whole number"),
        (("--tasks", "-1"), "argument --tasks: must be at least 0, got -1"),
        (("--managers", "0"), "argument --managers: must be at least 1, got 0"),
        (("--latency-ms", "-5"), "argument --latency-ms: must be at least 0, got -5"),
        (("--rate-limit", "-1"), "argument --rate-limit: must be at least 0, got -1"),
        (("--seed", "1.5"), "argument --seed: '1.5' is not a whole number"),
    ],
)
def test_a_bad_number_is_a_usage_error(args: tuple[str, ...], says: str) -> None:
    result = _cli_run(*args)
    assert result.returncode == 2
    assert result.stdout == ""  # nothing started
    assert result.stderr.splitlines()[-1] == f"leoweb-bot sandbox: error: {says}"


def test_a_taken_port_is_one_line() -> None:
    with socket.create_server(("127.0.0.1", 0)) as taken:
        port = taken.getsockname()[1]
        result = _cli_run("--port", str(port))
    assert result.returncode == 1
    assert result.stdout == ""
    assert result.stderr == (
        f"error: cannot listen on 127.0.0.1:{port}: Address already in use; another program "
        "has it: use --port N, or --port 0 for any free port\n"
    )
