"""End to end with the mirror: a real `serve` (2 workers), the sandbox as amoCRM sending its
task and lead webhooks to the server, a fake Bot API.

The poll interval is an hour here, so only the webhooks can bring amoCRM's changes in: after a
person completes, deletes, re-dates, reassigns and adds tasks in amoCRM's web UI, the report
equals amoCRM's own within seconds. A server SIGKILLed in the middle of its bootstrap goes on
from the page it reached. Waits poll with a deadline; nothing sleeps for a fixed time.
"""

from __future__ import annotations

import contextlib
import re
import socket
import sqlite3
import time
from collections.abc import Callable
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from leoweb_bot.amocrm import build_client
from leoweb_bot.amocrm.client import AmoClient
from leoweb_bot.config import AmoSettings
from leoweb_bot.reports import overdue_by_manager
from tests.kit.fakebot import FakeBotAPI
from tests.kit.stack import AMO_WEBHOOK_SECRET
from tests.kit.stack import DIRECTOR
from tests.kit.stack import TZ
from tests.kit.stack import ZELIMKHAN
from tests.kit.stack import Chat
from tests.kit.stack import Sandbox
from tests.kit.stack import Server
from tests.kit.stack import server_env
from tests.kit.stack import start_sandbox
from tests.kit.stack import stop_group
from tests.kit.stack import user

pytestmark = pytest.mark.e2e

WAIT = 30.0


def wait_until(what: str, done: Callable[[], bool], timeout: float = WAIT) -> None:
    deadline = time.monotonic() + timeout
    while not done():
        assert time.monotonic() < deadline, f"not within {timeout:.0f} s: {what}"
        time.sleep(0.05)


def free_port() -> int:
    """A port for the server, known before it starts (the sandbox's webhooks go there)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def health(server: Server) -> dict[str, Any]:
    with contextlib.suppress(requests.RequestException):
        return requests.get(f"{server.url}/healthz", timeout=5).json()["sync"]
    return {}


def mirror_scan(server: Server) -> tuple[int, int, int] | None:
    """The task scan's (generation, next page, pages read) in the server's state db."""
    conn = sqlite3.connect(f"file:{server.state_path}?mode=ro", uri=True)
    try:
        row = conn.execute(
            "SELECT generation, next_page, pages_read FROM sync_scans WHERE entity = 'tasks'"
        ).fetchone()
        return tuple(row) if row and row[1] is not None else None
    except sqlite3.Error:
        return None
    finally:
        conn.close()


def amocrm(sandbox: Sandbox) -> AmoClient:
    settings = AmoSettings(base_url=sandbox.info["base_url"], token=sandbox.info["token"])
    return build_client(settings)


def overdue_total(client: AmoClient) -> int:
    """amoCRM's own answer: the ground truth."""
    now = int(time.time())
    return overdue_by_manager(client.open_tasks_due_before(now), {}, now, TZ).total_overdue


def ui(sandbox: Sandbox, path: str, **body: Any) -> dict[str, Any]:
    """A click in amoCRM's web UI."""
    response = requests.post(
        f"{sandbox.info['base_url']}/_sandbox/ui/{path}", json=body, timeout=10
    )
    assert response.status_code in (200, 201), response.text
    return response.json()


def shown_total(chat: Chat) -> int:
    chat.say("/report")
    summary = chat.expect("<b>Просроченные задачи</b>", "🕓 данные на ")
    total = re.search(r"Всего просрочено: <b>(\d+)</b>", summary.text)
    assert total is not None
    return int(total.group(1))


@pytest.fixture
def stack(tmp_path: Path) -> Iterator[tuple[Sandbox, Server, FakeBotAPI]]:
    port = free_port()
    hook = f"http://127.0.0.1:{port}/amocrm/webhook/{AMO_WEBHOOK_SECRET}"
    sandbox = start_sandbox(
        tmp_path, "sandbox", "--rate-limit", "0", "--tasks", "1200", "--webhook-url", hook
    )
    with FakeBotAPI() as fake:
        env = server_env(fake, sandbox, tmp_path / "state.sqlite3")
        env.update(LEOWEB_SERVER_PORT=str(port), LEOWEB_SYNC_INTERVAL_SECONDS="3600")
        env["LEOWEB_SYNC_MAX_AGE_SECONDS"] = "7200"
        server = Server(env, tmp_path, tmp_path / "serve.log")
        try:
            yield sandbox, server, fake
        finally:
            server.stop()
            stop_group(sandbox.proc)


def test_changes_in_amocrm_reach_the_report_within_seconds_by_webhook(stack: Any) -> None:
    sandbox, server, fake = stack
    server.start()
    wait_until("the bootstrap", lambda: health(server).get("state") == "ready")
    # one process syncs, however many workers serve
    assert server.output().count("this process syncs the mirror") == 1
    client = amocrm(sandbox)
    chat = Chat(server, fake, user(DIRECTOR), DIRECTOR)
    assert shown_total(chat) == overdue_total(client)

    now = int(time.time())
    late = [t for t in client.open_tasks_due_before(now) if t.responsible_user_id == ZELIMKHAN]
    later = next(t for t in client.open_tasks(ZELIMKHAN) if (t.complete_till or 0) > now + 3600)
    ui(sandbox, f"tasks/{late[0].id}/complete", result="Позвонил")
    ui(sandbox, f"tasks/{late[1].id}/delete")
    ui(sandbox, f"tasks/{late[2].id}/deadline", complete_till=now + 86400)
    ui(sandbox, f"tasks/{late[3].id}/responsible", responsible_user_id=ZELIMKHAN + 1)
    ui(sandbox, f"tasks/{later.id}/deadline", complete_till=now - 60)  # newly overdue
    ui(sandbox, "tasks", text="Перезвонить", complete_till=now - 120, responsible_user_id=ZELIMKHAN)
    truth = overdue_total(client)

    started = time.monotonic()
    wait_until("the report to equal amoCRM's", lambda: shown_total(chat) == truth)
    assert time.monotonic() - started < 15  # webhooks, not the hourly poll


def test_a_bootstrap_killed_midway_goes_on_from_its_page(tmp_path: Path) -> None:
    sandbox = start_sandbox(
        tmp_path, "sandbox", "--rate-limit", "0", "--tasks", "6000", "--latency-ms", "100"
    )
    try:
        with FakeBotAPI() as fake:
            env = server_env(fake, sandbox, tmp_path / "state.sqlite3")
            env["LEOWEB_SERVER_PORT"] = str(free_port())
            server = Server(env, tmp_path, tmp_path / "serve.log")
            server.start()
            wait_until("a few pages", lambda: (mirror_scan(server) or (0, 0, 0))[2] >= 4)
            server.kill()  # SIGKILL, master and workers
            generation, next_page, _ = mirror_scan(server) or (0, 0, 0)
            assert next_page > 1

            server.start()
            wait_until("the bootstrap", lambda: health(server).get("state") == "ready", 60)
            # the same scan went on: a fresh one would have a new generation
            assert (mirror_scan(server) or (0,))[0] == generation
            assert not re.search(r"full scan of tasks: \d+ pages", server.output())  # no new search
            chat = Chat(server, fake, user(DIRECTOR), DIRECTOR)
            assert shown_total(chat) == overdue_total(amocrm(sandbox))
            server.stop()
    finally:
        stop_group(sandbox.proc)
