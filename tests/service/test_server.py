"""`leoweb-bot poll` as a real process: the same dispatcher as `serve`, fed by getUpdates.

The webhook side of server.py is covered end to end in test_e2e.py; this is the polling side,
against the fake Bot API (which implements getUpdates with offsets) and the sandbox.
"""

from __future__ import annotations

import gc
import signal
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from leoweb_bot.config import settings_from_mapping
from leoweb_bot.service import server
from leoweb_bot.service.worker import request_complete
from tests.kit.fakebot import FakeBotAPI
from tests.kit.stack import ADMIN
from tests.kit.stack import Sandbox
from tests.kit.stack import server_env
from tests.kit.stack import spawn
from tests.kit.stack import start_sandbox
from tests.kit.stack import stop_group
from tests.kit.stack import user
from tests.kit.stack import wait_for_line

pytestmark = pytest.mark.e2e

WEBHOOK = "https://bot.example.com/telegram/webhook"


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sandbox]:
    started = start_sandbox(tmp_path_factory.mktemp("poll-sandbox"), "sandbox", "--rate-limit", "0")
    try:
        yield started
    finally:
        stop_group(started.proc)


@pytest.fixture
def fake() -> Iterator[FakeBotAPI]:
    with FakeBotAPI() as api:
        yield api


def start_poll(
    fake: FakeBotAPI, sandbox: Sandbox, tmp_path: Path, *flags: str
) -> tuple[subprocess.Popen[bytes], Path]:
    log = tmp_path / "poll.log"
    env = server_env(fake, sandbox, tmp_path / "state.sqlite3")
    return spawn(["poll", *flags], env, log, tmp_path), log


def test_poll_refuses_while_a_webhook_is_set(
    fake: FakeBotAPI, sandbox: Sandbox, tmp_path: Path
) -> None:
    fake.webhook_info["url"] = WEBHOOK
    proc, log = start_poll(fake, sandbox, tmp_path)
    try:
        assert proc.wait(timeout=30) == 1
    finally:
        stop_group(proc)
    assert "a webhook is set" in log.read_text("utf-8")
    assert fake.webhook_info["url"] == WEBHOOK  # left alone
    assert fake.calls("getUpdates") == []


def test_poll_force_deletes_the_webhook_answers_and_stops_on_sigterm(
    fake: FakeBotAPI, sandbox: Sandbox, tmp_path: Path
) -> None:
    fake.webhook_info["url"] = WEBHOOK
    proc, log = start_poll(fake, sandbox, tmp_path, "--force")
    try:
        wait_for_line(log, r"polling for updates", proc)
        assert fake.webhook_info["url"] == ""
        chat = {"id": ADMIN, "type": "private"}
        for text in ("/whoami", "/report"):  # one chat: answered in order
            fake.push_update({"message": {
                "message_id": 1, "date": 1, "chat": chat, "from": user(ADMIN), "text": text,
            }})  # fmt: skip
        assert fake.wait_for(
            lambda: any("<b>Просроченные задачи</b>" in m.text for m in fake.sent(ADMIN)), 30
        )
        texts = [m.text for m in fake.sent(ADMIN)]
        assert "Роль: администратор" in texts[0]
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=30) == 0
    finally:
        stop_group(proc)
    # each update was confirmed by a later offset, so a restart would not see them again
    offsets = [int(p.get("offset") or 0) for _, p in fake.calls("getUpdates")]
    assert max(offsets) == 3


def test_a_serve_worker_freezes_what_it_built_so_full_collections_skip_it(
    fake: FakeBotAPI, sandbox: Sandbox, tmp_path: Path
) -> None:
    """The gunicorn hook that builds a worker's runtime also freezes it (server.py, gc.freeze)."""
    env = server_env(fake, sandbox, tmp_path / "state.sqlite3")
    settings = settings_from_mapping({}, {k: v for k, v in env.items() if k.startswith("LEOWEB_")})
    app = server._Gunicorn(settings, preload=False)
    assert gc.get_freeze_count() == 0
    try:
        app._start_worker(worker=None)
        assert gc.get_freeze_count() > 10_000  # the modules, the app and the runtime
    finally:
        app._worker_exit(server=None, worker=None)
        gc.unfreeze()


# -- the HTTP worker: when a request has arrived in full ----------------------------------------

HEAD = b"POST /telegram/webhook HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
MAX_HEAD = 8192


@pytest.mark.parametrize(
    ("data", "complete"),
    [
        (b"POST /telegram/web", False),  # the head is still coming
        (b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n", True),  # no body
        (HEAD + b"Content-Length: 16\r\n\r\n", False),  # the body is still coming
        (HEAD + b"Content-Length: 16\r\n\r\n" + b'{"update_id": 1', False),
        (HEAD + b"Content-Length: 16\r\n\r\n" + b'{"update_id": 1}', True),
        (HEAD + b"Content-Length: 9999999\r\n\r\n", True),  # over MAX_BODY: the app says 413
        (HEAD + b"Content-Length: nine\r\n\r\n", True),  # malformed: gunicorn says 400
        (HEAD + b"Transfer-Encoding: chunked\r\n\r\n", True),  # read by gunicorn, with timeouts
        (HEAD + b"Content-Length: 16\r\nExpect: 100-continue\r\n\r\n", True),  # waits for 100
        (b"GET /" + b"a" * MAX_HEAD, True),  # too long to be a head: gunicorn refuses it
    ],
)
def test_a_request_is_complete_when_gunicorn_can_parse_it_without_waiting(
    data: bytes, complete: bool
) -> None:
    assert request_complete(data, MAX_HEAD) is complete
