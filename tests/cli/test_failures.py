"""Every command ends with one clear line and a non-zero exit on failure, never a traceback."""

from __future__ import annotations

import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from leoweb_bot.amocrm.errors import AuthError
from leoweb_bot.cli.failures import CliError
from leoweb_bot.cli.failures import failure
from leoweb_bot.config import ConfigError
from leoweb_bot.state.db import StateUnavailable
from leoweb_bot.telegram.client import TelegramError
from tests.conftest import leoweb_env
from tests.kit.cli import run_cli
from tests.kit.fakebot import FakeBotAPI
from tests.kit.paths import ROOT

TOKEN = "123456789:AAFailureTestTokenValue_abcdefghijk"


def one_clear_line(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    return lines[0]


def closed_port() -> int:
    """A loopback port nobody listens on (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def telegram_env(api_url: str) -> dict[str, str]:
    return {
        "LEOWEB_TELEGRAM_TOKEN": TOKEN,
        "LEOWEB_TELEGRAM_WEBHOOK_SECRET": "failure-test-secret",
        "LEOWEB_TELEGRAM_PUBLIC_URL": "https://bot.example.com",
        "LEOWEB_TELEGRAM_API_URL": api_url,
    }


@pytest.fixture
def fake() -> Iterator[FakeBotAPI]:
    with FakeBotAPI() as bot_api:
        yield bot_api


@pytest.mark.parametrize("command", ["set-webhook", "webhook-info", "delete-webhook"])
def test_unreachable_telegram_is_one_line_naming_host_and_cause(
    command: str, tmp_path: Path
) -> None:
    port = closed_port()
    result = run_cli(command, cwd=tmp_path, **telegram_env(f"http://127.0.0.1:{port}"))
    line = one_clear_line(result)
    assert result.returncode == 1
    assert f"cannot reach 127.0.0.1:{port}: Connection refused" in line
    assert TOKEN not in result.stdout + result.stderr


@pytest.mark.parametrize(
    ("command", "method"),
    [
        ("set-webhook", "setWebhook"),
        ("webhook-info", "getWebhookInfo"),
        ("delete-webhook", "deleteWebhook"),
    ],
)
def test_refused_token_says_to_check_it(
    command: str, method: str, fake: FakeBotAPI, tmp_path: Path
) -> None:
    fake.fail_next(method, 401, {"ok": False, "error_code": 401, "description": "Unauthorized"})
    result = run_cli(command, cwd=tmp_path, **telegram_env(fake.url))
    line = one_clear_line(result)
    assert (
        line
        == f"error: Telegram {method}: 401 Unauthorized; check telegram.token (the Bot API refused it)"
    )


@pytest.mark.parametrize(
    ("args", "complaint"),
    [
        (["sandbox", "--tasks", "-5"], "argument --tasks: must be at least 0, got -5"),
        (["sandbox", "--managers", "0"], "argument --managers: must be at least 1, got 0"),
        (
            ["sandbox", "--latency-ms", "fast"],
            "argument --latency-ms: 'fast' is not a whole number",
        ),
        (["sandbox", "--rate-limit", "-1"], "argument --rate-limit: must be at least 0, got -1"),
        (["demo", "--config", "x.toml"], "unrecognized arguments: --config x.toml"),
    ],
)
def test_bad_options_get_usage_help(args: list[str], complaint: str, tmp_path: Path) -> None:
    result = run_cli(*args, cwd=tmp_path)
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert result.stderr.startswith("usage: leoweb-bot")
    assert complaint in result.stderr.splitlines()[-1]


def test_a_bad_log_level_is_a_config_error(tmp_path: Path) -> None:
    result = run_cli("report", "--sandbox", cwd=tmp_path, LEOWEB_LOG_LEVEL="loud")
    line = one_clear_line(result)
    assert (
        line == "config error: LEOWEB_LOG_LEVEL: must be DEBUG, INFO, WARNING or ERROR, got 'LOUD'"
    )


def test_demo_into_a_pipe_closed_early_ends_quietly(tmp_path: Path) -> None:
    """`leoweb-bot demo … | head -1`: the reader leaves after one line."""
    script = ROOT / "demo" / "quickstart.txt"
    proc = subprocess.Popen(
        [sys.executable, "-m", "leoweb_bot", "demo", "--script", str(script)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=tmp_path,
        env=leoweb_env(),
    )
    assert proc.stdout is not None and proc.stderr is not None
    assert proc.stdout.readline().startswith("LeoWeb_bot")
    proc.stdout.close()
    errors = proc.stderr.read()
    assert proc.wait(timeout=120) == 1
    assert errors == ""


@pytest.mark.parametrize(
    ("exc", "line", "code"),
    [
        (ConfigError("amocrm.token: missing"), "config error: amocrm.token: missing", 2),
        (CliError("no manager matches 'x'", code=2), "error: no manager matches 'x'", 2),
        (AuthError("refused", 401), "error: amocrm 401: refused", 1),
        (TelegramError("getMe", 401, "Unauthorized"), "error: Telegram getMe: 401 Unauthorized", 1),
        (StateUnavailable(Path("s.db"), "locked"), "error: state db s.db: locked", 1),
        (
            FileNotFoundError(2, "No such file or directory", "demo.txt"),
            "error: No such file or directory: demo.txt",
            1,
        ),
        (
            ValueError(f"bad\nanswer from /bot{TOKEN}/getMe"),
            "error: unexpected ValueError: bad answer from /bot***/getMe "
            "(LEOWEB_LOG_LEVEL=DEBUG shows where)",
            1,
        ),
    ],
)
def test_every_failure_is_one_line_and_an_exit_status(exc: Exception, line: str, code: int) -> None:
    message, status = failure(exc)
    assert message.startswith(line)
    assert "\n" not in message
    assert status == code
