"""A sick amoCRM over real loopback sockets: one bounded wait per operation, then a clear cause.

Silent (accepts, never answers), refused (a port nobody listens on), no such host (``.invalid``
never resolves, RFC 6761 §6.4), TLS spoken to a plain-HTTP server, and a URL that cannot be
parsed. Timeouts are small so the suite stays fast; the bounds are what the issue asks for.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from contextlib import suppress
from pathlib import Path

import pytest
import requests
import responses

from leoweb_bot.amocrm import AmoClient
from leoweb_bot.amocrm import RateLimiter
from leoweb_bot.amocrm import Unavailable
from leoweb_bot.amocrm import build_client
from leoweb_bot.amocrm.deadline import SERVER
from leoweb_bot.amocrm.deadline import RetryPolicy
from leoweb_bot.amocrm.errors import BadBaseUrl
from leoweb_bot.bot.context import App
from leoweb_bot.bot.replies import error_text
from leoweb_bot.bot.texts import t
from leoweb_bot.config import AmoSettings
from leoweb_bot.config import ConfigError
from leoweb_bot.sandbox import Sandbox
from leoweb_bot.state import State
from leoweb_bot.telegram.client import Telegram
from tests.cli.test_main import run_cli
from tests.kit.botchat import ADMIN
from tests.kit.botchat import DIRECTOR
from tests.kit.botchat import TOKEN
from tests.kit.botchat import BotChat
from tests.kit.botchat import FakeTime
from tests.kit.botchat import final
from tests.kit.botchat import settings_for
from tests.kit.fakebot import FakeBotAPI
from tests.kit.fakeclock import FakeClock

NOW = 1_764_000_000
MARGIN = 1.0  # scheduling slack on a loaded machine
FIRST_BACKOFF_MAX = 1.0  # the first back-off sleeps 0.5-1 s
ONE_TRY = RetryPolicy(attempts=1, seconds=5)


@pytest.fixture
def silent() -> Iterator[str]:
    """amoCRM that accepts the connection (the kernel's backlog does) and never answers."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(64)
        yield f"http://127.0.0.1:{listener.getsockname()[1]}"


@pytest.fixture
def refused() -> Iterator[str]:
    """A port that is bound but not listening, so every connect is refused."""
    with socket.socket() as bound:
        bound.bind(("127.0.0.1", 0))
        yield f"http://127.0.0.1:{bound.getsockname()[1]}"


@pytest.fixture
def hangs_up() -> Iterator[str]:
    """amoCRM that takes the request and closes the connection without an answer."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(8)

        def serve() -> None:
            with suppress(OSError):  # the listener is shut down when the test ends
                while True:
                    conn, _ = listener.accept()
                    conn.recv(65536)
                    conn.close()

        server = threading.Thread(target=serve, daemon=True)
        server.start()
        yield f"http://127.0.0.1:{listener.getsockname()[1]}"
        listener.shutdown(socket.SHUT_RDWR)  # wakes the blocked accept() (close alone may not)
        server.join(5)


def client_for(base_url: str, *, timeout: float, policy: RetryPolicy = SERVER) -> AmoClient:
    settings = AmoSettings(base_url=base_url, auth="token", token="t0k3n-abcd", timeout=timeout)
    return build_client(settings, limiter=RateLimiter(1000), policy=policy)


def failure(client: AmoClient) -> tuple[Unavailable, float]:
    """Run a report-sized operation; the error it ends in and how long it took."""
    started = time.monotonic()
    with pytest.raises(Unavailable) as caught, client, client.operation():
        client.users()
        client.open_tasks_due_before(NOW)
    return caught.value, time.monotonic() - started


def test_a_silent_amocrm_costs_one_deadline_including_every_timeout(silent: str) -> None:
    # Each read timeout (3 s) is longer than the whole deadline: only the deadline may stop it.
    client = client_for(silent, timeout=3, policy=RetryPolicy(attempts=8, seconds=1.5))

    error, took = failure(client)

    assert took <= 1.5 + MARGIN
    host = silent.removeprefix("http://")
    assert f"amoCRM at {host} (amocrm.base_url)" in str(error)
    assert "(timeout)" in str(error)


def test_a_refused_connection_names_the_host_and_the_cause(refused: str) -> None:
    error, took = failure(client_for(refused, timeout=1, policy=RetryPolicy(2, 5)))

    host = refused.removeprefix("http://")
    assert str(error).startswith(
        f"amocrm: cannot reach amoCRM at {host} (amocrm.base_url): connection refused; 2 tries in"
    )
    assert took <= FIRST_BACKOFF_MAX + MARGIN


def test_a_connection_closed_without_an_answer_names_the_host(hangs_up: str) -> None:
    error, _ = failure(client_for(hangs_up, timeout=1, policy=ONE_TRY))

    host = hangs_up.removeprefix("http://")
    assert str(error).startswith(
        f"amocrm: the connection to amoCRM at {host} (amocrm.base_url) broke: "
    )
    assert "ConnectionError" not in str(error)  # the socket's reason, not requests' wrapper


def test_an_unknown_host_is_a_dns_failure_and_not_retried(
    caplog: pytest.LogCaptureFixture,
) -> None:
    error, _ = failure(client_for("https://leo.amocrm.invalid", timeout=1))

    assert str(error) == (
        "amocrm: cannot reach amoCRM at leo.amocrm.invalid (amocrm.base_url): "
        "DNS lookup failed, no such host"
    )
    assert "retry" not in caplog.text  # a name that does not exist will not start to


def test_tls_spoken_to_a_plain_http_server_is_a_tls_failure() -> None:
    with Sandbox(tasks=1, managers=1) as sandbox:
        assert sandbox.base_url
        https = sandbox.base_url.replace("http://", "https://")
        error, _ = failure(client_for(https, timeout=2))

    host = https.removeprefix("https://")
    assert f"cannot reach amoCRM at {host} (amocrm.base_url): TLS failed: " in str(error)
    assert sandbox.request_count == 0  # no HTTP request ever got through


@pytest.mark.parametrize("base_url", ["https://leo amocrm.ru", "https://leo.amocrm.ru:port"])
def test_an_unparsable_base_url_is_a_config_error_naming_the_key(base_url: str) -> None:
    with pytest.raises(BadBaseUrl) as caught, client_for(base_url, timeout=1) as client:
        client.account()

    assert isinstance(caught.value, ConfigError)  # the CLI says "config error: …"
    message = str(caught.value)
    assert message.startswith("amocrm.base_url: not a usable URL (")
    assert base_url.removeprefix("https://").split(":")[0] in message  # the part at fault
    # A bot user is not told that amoCRM answered badly: it was never asked.
    assert (
        error_text("en", caught.value)
        == "The bot's amoCRM address is misconfigured. Please tell the admin."
    )


# -- the deadline on an injected clock -----------------------------------------------------------


def test_every_try_gets_only_the_time_left_of_the_operation() -> None:
    clock = FakeClock(NOW)

    def slow(request: requests.PreparedRequest) -> tuple[int, dict, str]:
        clock.advance(request.req_kwargs["timeout"][1])  # type: ignore[attr-defined]
        raise requests.ReadTimeout("silent")

    settings = AmoSettings(base_url="https://leo.amocrm.ru", auth="token", token="t", timeout=10)
    client = build_client(
        settings,
        clock=clock.time,
        sleep=clock.sleep,
        monotonic=clock.time,
        limiter=RateLimiter(1000, clock=clock.time, sleep=clock.advance),
    )
    with responses.RequestsMock() as rsps:
        rsps.add_callback(responses.GET, "https://leo.amocrm.ru/api/v4/account", callback=slow)
        with pytest.raises(Unavailable), client.operation():
            client.account()
        timeouts = [call.request.req_kwargs["timeout"] for call in rsps.calls]

    assert timeouts[0] == (3.05, 10)
    assert timeouts[1][1] < 10  # cut to what the first try and its back-off left
    assert clock.now - NOW <= 20


# -- the bot ------------------------------------------------------------------------------------


@contextmanager
def bot_with(
    tmp_path: Path, sandbox: Sandbox, base_url: str, policy: RetryPolicy
) -> Iterator[BotChat]:
    """The bot, its amoCRM client pointed at ``base_url`` (the sandbox's token either way)."""
    settings = AmoSettings(
        base_url=base_url, auth="token", token=sandbox.credentials.token, rate_limit=1000
    )
    times = FakeTime()
    state = State(tmp_path / "state.sqlite3")
    with FakeBotAPI() as fake, build_client(settings, policy=policy) as client:
        telegram = Telegram(TOKEN, fake.url, clock=times.clock, sleep=times.sleep)
        yield BotChat(App(settings_for(), client, telegram, state), fake, sandbox)
    state.close()


def test_a_bot_command_is_one_operation_with_one_deadline(tmp_path: Path) -> None:
    # Every request answers, slowly: together they outlast the command's deadline.
    with Sandbox(tasks=300, managers=8, latency_ms=600, rate_limit=0) as sandbox:
        policy = RetryPolicy(attempts=8, seconds=1.0)
        with bot_with(tmp_path, sandbox, sandbox.base_url or "", policy) as chat:
            started = time.monotonic()
            answer = final(chat.say(DIRECTOR, "/report"))
            took = time.monotonic() - started

    assert answer.text == t("ru", "err_unavailable")
    assert took <= 1.0 + MARGIN


def test_amocrm_status_shows_an_admin_the_host_and_the_cause(tmp_path: Path, refused: str) -> None:
    with (
        Sandbox(tasks=1, managers=1) as sandbox,
        bot_with(tmp_path, sandbox, refused, ONE_TRY) as chat,
    ):
        lines = final(chat.say(ADMIN, "/amocrm")).text.splitlines()

    assert lines[0] == "❌ amoCRM: amoCRM не отвечает, попробуйте через минуту."
    host = refused.removeprefix("http://")
    assert lines[1].startswith(
        f"<code>amocrm: cannot reach amoCRM at {host} (amocrm.base_url): connection refused"
    )


# -- the CLI ------------------------------------------------------------------------------------


def test_report_against_a_silent_amocrm_tries_twice_then_says_why(
    silent: str, tmp_path: Path
) -> None:
    started = time.monotonic()
    result = run_cli(
        "report",
        cwd=tmp_path,
        LEOWEB_AMOCRM_BASE_URL=silent,
        LEOWEB_AMOCRM_TOKEN="t0k3n-abcd",
        LEOWEB_AMOCRM_TIMEOUT="0.5",
    )
    took = time.monotonic() - started

    assert result.returncode == 1
    host = silent.removeprefix("http://")
    *logs, last = result.stderr.strip().splitlines()
    assert last.startswith(
        f"error: amocrm: amoCRM at {host} (amocrm.base_url) did not answer within 0.5 s "
        "(timeout); 2 tries in"
    )
    assert len(logs) == 1 and "retry 1" in logs[0]  # one retry, not five
    assert took <= 0.5 + FIRST_BACKOFF_MAX + 0.5 + 5  # two tries plus interpreter start-up


def test_report_with_an_unparsable_base_url_is_a_config_error(tmp_path: Path) -> None:
    result = run_cli(
        "report",
        cwd=tmp_path,
        LEOWEB_AMOCRM_BASE_URL="https://leo amocrm.ru",
        LEOWEB_AMOCRM_TOKEN="t0k3n-abcd",
    )

    assert result.returncode == 2
    assert result.stderr.startswith("config error: amocrm.base_url: ")


def test_check_against_a_refused_port_names_the_host_and_the_cause(
    refused: str, tmp_path: Path
) -> None:
    result = run_cli(
        "check",
        cwd=tmp_path,
        LEOWEB_AMOCRM_BASE_URL=refused,
        LEOWEB_AMOCRM_TOKEN="t0k3n-abcd",
        LEOWEB_BOT_STATE_PATH=str(tmp_path / "state.sqlite3"),
    )

    host = refused.removeprefix("http://")
    [line] = [line for line in result.stdout.splitlines() if "amoCRM account" in line]
    assert line.startswith(
        f"FAIL amoCRM account: amocrm: cannot reach amoCRM at {host} (amocrm.base_url): "
        "connection refused; 2 tries in"
    )
