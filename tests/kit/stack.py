"""The end-to-end rig: real `leoweb-bot serve` and sandbox processes on loopback, a loopback
fake Bot API, chats that talk to the server through its webhook, and the log files they write.

Every process runs in its own session (process group) and is killed with its group, so a failed
test leaves no server behind. Readiness is polled (the ``serving on`` line, then /healthz) and
replies are awaited with ``FakeBotAPI.wait_for``; nothing sleeps for a fixed time.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import os
import re
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from collections.abc import Sequence
from dataclasses import dataclass
from dataclasses import field
from pathlib import Path
from typing import Any

import pytz
import requests

from leoweb_bot.amocrm.models import Task
from leoweb_bot.amocrm.models import User
from leoweb_bot.bot.codec import AskClose
from leoweb_bot.bot.codec import ReportSummary
from leoweb_bot.bot.codec import decode
from leoweb_bot.bot.codec import encode
from leoweb_bot.reports import overdue_by_manager
from leoweb_bot.sandbox import DemoData
from tests.conftest import leoweb_env
from tests.kit.fakebot import BOT_USER
from tests.kit.fakebot import FakeBotAPI
from tests.kit.fakebot import SentMessage

BOT_TOKEN = "123456789:AAE2eTokenThatMustNeverBeLogged_xyz12"
WEBHOOK_SECRET = "e2e-Webhook_Secret-7f3a9c"
AMO_WEBHOOK_SECRET = "e2e-Amo_Hook-Secret-b81d2e"
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
ADMIN, SECOND_ADMIN, DIRECTOR, MANAGER, OTHER_MANAGER, STRANGER = 101, 102, 201, 301, 302, 999
ZELIMKHAN, MILANA = 1387123, 1387124  # the sandbox's first two managers
GROUP = -100500
TASKS, MANAGERS, SEED = 300, 8, 1
SUMMARY = encode(ReportSummary())
TZ = pytz.timezone("Asia/Almaty")  # the default bot.timezone
START_TIMEOUT = 30.0
REPLY_TIMEOUT = 30.0
WORKING = "⏳ Читаю amoCRM…"

_update_ids = itertools.count(1)


# -- processes --------------------------------------------------------------------------------


def spawn(
    args: list[str], env: dict[str, str], log: Path, cwd: Path, wrap: Sequence[str] = ()
) -> subprocess.Popen[bytes]:
    """``python -m leoweb_bot ARGS`` in a new session, stdout and stderr appended to ``log``;
    ``wrap`` is a command that runs it (and execs it, so the pid stays the server's)."""
    with log.open("ab") as out:
        return subprocess.Popen(
            [*wrap, sys.executable, "-m", "leoweb_bot", *args],
            stdout=out,
            stderr=subprocess.STDOUT,
            env=env,
            cwd=cwd,
            start_new_session=True,
        )


def kill_group(proc: subprocess.Popen[bytes], sig: int = signal.SIGKILL) -> None:
    """Signal the process and everything it forked (gunicorn master and workers)."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, sig)


def stop_group(proc: subprocess.Popen[bytes], grace: float = 15.0) -> None:
    kill_group(proc, signal.SIGTERM)
    with contextlib.suppress(subprocess.TimeoutExpired):
        proc.wait(timeout=grace)
    kill_group(proc, signal.SIGKILL)  # stragglers of the group, even if the leader exited
    proc.wait(timeout=10)


def wait_for_line(
    log: Path, pattern: str, proc: subprocess.Popen[bytes], offset: int = 0
) -> re.Match[str]:
    """Poll ``log`` (from ``offset``) until a line matches; fail early if ``proc`` exits."""
    regex = re.compile(pattern, re.MULTILINE)
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        text = log.read_bytes()[offset:].decode("utf-8", "replace")
        match = regex.search(text)
        if match:
            return match
        if proc.poll() is not None:
            raise AssertionError(f"process exited ({proc.returncode}):\n{text[-3000:]}")
        time.sleep(0.02)
    raise AssertionError(f"no line matching {pattern!r} in {log} after {START_TIMEOUT} s")


@dataclass
class Sandbox:
    proc: subprocess.Popen[bytes]
    info: dict[str, Any]

    @property
    def secrets(self) -> list[str]:
        return [self.info[k] for k in ("token", "api_key", "client_secret", "auth_code")]


def start_sandbox(logs: Path, name: str, *args: str) -> Sandbox:
    log = logs / f"{name}.log"
    env = leoweb_env(LEOWEB_LOG_LEVEL="DEBUG")
    proc = spawn(["sandbox", "--port", "0", "--json", "--seed", str(SEED), *args], env, log, logs)
    try:
        line = wait_for_line(log, r'^\{"base_url".*$', proc)
    except BaseException:
        stop_group(proc)
        raise
    return Sandbox(proc, json.loads(line.group(0)))


class Server:
    """`leoweb-bot serve` in its own process group, restartable on the same state database."""

    def __init__(
        self, env: dict[str, str], workdir: Path, log: Path, wrap: Sequence[str] = ()
    ) -> None:
        self.env = env
        self.workdir = workdir
        self.log = log
        self.wrap = wrap
        self.proc: subprocess.Popen[bytes] | None = None
        self.url = ""
        self.offset = 0  # where this run's output starts in the log

    @property
    def state_path(self) -> Path:
        return Path(self.env["LEOWEB_BOT_STATE_PATH"])

    def start(self) -> None:
        self.offset = self.log.stat().st_size if self.log.exists() else 0
        self.proc = spawn(["serve"], self.env, self.log, self.workdir, self.wrap)
        try:
            served = wait_for_line(self.log, r"serving on (http://\S+)", self.proc, self.offset)
            self.url = served.group(1)
            self._wait_healthy()
        except BaseException:
            self.stop()
            raise

    def _wait_healthy(self) -> None:
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            with contextlib.suppress(requests.ConnectionError):
                if requests.get(f"{self.url}/healthz", timeout=2).status_code == 200:
                    return
            assert self.proc is not None and self.proc.poll() is None, "serve exited"
            time.sleep(0.02)
        raise AssertionError("/healthz never answered 200")

    def output(self) -> str:
        """What the current (or last) run has logged so far."""
        return self.log.read_bytes()[self.offset :].decode("utf-8", "replace")

    def kill(self) -> None:
        """SIGKILL master and workers at once: no graceful anything."""
        assert self.proc is not None
        kill_group(self.proc)
        self.proc.wait(timeout=10)
        self.proc = None

    def stop(self) -> None:
        if self.proc is not None:
            stop_group(self.proc)
            self.proc = None

    def post(self, update: dict[str, Any] | bytes, secret: str | None = WEBHOOK_SECRET) -> int:
        headers = {SECRET_HEADER: secret} if secret is not None else {}
        body = update if isinstance(update, bytes) else json.dumps(update).encode()
        headers["Content-Type"] = "application/json"
        response = requests.post(
            f"{self.url}/telegram/webhook", data=body, headers=headers, timeout=10
        )
        return response.status_code

    def inbox_row(self, update_id: int) -> dict[str, Any]:
        conn = sqlite3.connect(f"file:{self.state_path}?mode=ro", uri=True)
        try:
            conn.row_factory = sqlite3.Row
            row = conn.execute("SELECT * FROM inbox WHERE update_id = ?", (update_id,)).fetchone()
            return dict(row) if row else {}
        finally:
            conn.close()

    def audit(self) -> list[tuple[int, str, str]]:
        conn = sqlite3.connect(f"file:{self.state_path}?mode=ro", uri=True)
        try:
            sql = "SELECT telegram_user_id, action, details FROM audit ORDER BY id"
            return conn.execute(sql).fetchall()
        finally:
            conn.close()


def server_env(
    fake: FakeBotAPI, sandbox: Sandbox, state: Path, *, auth: str = "token"
) -> dict[str, str]:
    """The whole configuration, as environment variables (no config file)."""
    amo = {"LEOWEB_AMOCRM_TOKEN": sandbox.info["token"]}
    if auth == "session":
        amo = {
            "LEOWEB_AMOCRM_LOGIN": sandbox.info["login"],
            "LEOWEB_AMOCRM_API_KEY": sandbox.info["api_key"],
        }
    return leoweb_env(
        LEOWEB_TELEGRAM_TOKEN=BOT_TOKEN,
        LEOWEB_TELEGRAM_WEBHOOK_SECRET=WEBHOOK_SECRET,
        LEOWEB_TELEGRAM_API_URL=fake.url,
        LEOWEB_AMOCRM_BASE_URL=sandbox.info["base_url"],
        LEOWEB_AMOCRM_AUTH=auth,
        LEOWEB_AMOCRM_WEBHOOK_SECRET=AMO_WEBHOOK_SECRET,
        LEOWEB_AMOCRM_RATE_LIMIT="50",
        LEOWEB_BOT_STATE_PATH=str(state),
        LEOWEB_ACCESS_ADMINS=f"{ADMIN},{SECOND_ADMIN}",
        LEOWEB_ACCESS_DIRECTORS=str(DIRECTOR),
        LEOWEB_ACCESS_MANAGERS=f"{MANAGER}={ZELIMKHAN},{OTHER_MANAGER}={MILANA}",
        LEOWEB_SERVER_HOST="127.0.0.1",
        LEOWEB_SERVER_PORT="0",
        LEOWEB_SERVER_WORKERS="2",
        LEOWEB_LOG_LEVEL="DEBUG",
        **amo,
    )


# -- chats ------------------------------------------------------------------------------------


def user(user_id: int, first_name: str = "Тест") -> dict[str, Any]:
    return {"id": user_id, "is_bot": False, "first_name": first_name, "language_code": "ru"}


def message_update(sender: dict[str, Any], chat_id: int, text: str) -> dict[str, Any]:
    update_id = next(_update_ids)
    message: dict[str, Any] = {
        "message_id": update_id,
        "date": int(time.time()),
        "chat": {"id": chat_id, "type": "private" if chat_id > 0 else "group"},
        "from": sender,
        "text": text,
    }
    if text.startswith("/"):
        length = len(text.split()[0])
        message["entities"] = [{"type": "bot_command", "offset": 0, "length": length}]
    return {"update_id": update_id, "message": message}


@dataclass
class Chat:
    """One user in one chat: posts updates to the server and reads what the fake received."""

    server: Server
    fake: FakeBotAPI
    sender: dict[str, Any]
    chat_id: int
    seen: int = 0  # messages of this chat already looked at by expect()

    def say(self, text: str) -> int:
        update = message_update(self.sender, self.chat_id, text)
        assert self.server.post(update) == 200
        return update["update_id"]

    def press(self, on: SentMessage, data: str) -> str:
        """Press a button with ``data`` on message ``on``; returns the callback query id."""
        update_id = next(_update_ids)
        query_id = f"cb-{update_id}"
        message = {
            "message_id": on.message_id,
            "date": int(time.time()),
            "chat": {"id": self.chat_id, "type": "private" if self.chat_id > 0 else "group"},
            "from": BOT_USER,
            "text": on.text,
        }
        query = {
            "id": query_id,
            "from": self.sender,
            "chat_instance": "e2e",
            "data": data,
            "message": message,
        }
        assert self.server.post({"update_id": update_id, "callback_query": query}) == 200
        return query_id

    def expect(self, *fragments: str) -> SentMessage:
        """The next message sent or edited here whose text has every fragment (skips others)."""
        found: list[SentMessage] = []

        def arrived() -> bool:
            for n, message in enumerate(self.fake.sent(self.chat_id)[self.seen :], self.seen):
                if all(f in message.text for f in fragments):
                    found.append(message)
                    self.seen = n + 1
                    return True
            return False

        assert self.fake.wait_for(arrived, REPLY_TIMEOUT), (
            f"chat {self.chat_id}: no message with {fragments!r}; got "
            f"{[m.text[:120] for m in self.fake.sent(self.chat_id)[self.seen :]]}"
        )
        return found[0]

    def new_messages(self) -> list[SentMessage]:
        """Everything sent or edited here since the last ``expect``/``new_messages``."""
        messages = self.fake.sent(self.chat_id)[self.seen :]
        self.seen += len(messages)
        return messages

    def answer(self, query_id: str) -> dict[str, str]:
        """The answerCallbackQuery call for ``query_id`` (waits for it)."""
        assert self.fake.wait_for(lambda: query_id in self.fake.answers(), REPLY_TIMEOUT), (
            f"callback {query_id} was never answered"
        )
        return self.fake.answers()[query_id]


@dataclass
class Stack:
    logs: Path
    fake: FakeBotAPI
    sandbox: Sandbox
    server: Server
    data: DemoData
    closed: set[int] = field(default_factory=set)  # task ids closed through the bot

    def chat(self, user_id: int, chat_id: int | None = None, first_name: str = "Тест") -> Chat:
        return Chat(self.server, self.fake, user(user_id, first_name), chat_id or user_id)

    def overdue(self, now: int, manager: int | None = None) -> int:
        """Overdue tasks in the sandbox at ``now`` (minus those the tests closed)."""
        tasks = [
            Task.from_v4(raw)
            for raw in self.data.tasks
            if raw["id"] not in self.closed
            and (manager is None or raw["responsible_user_id"] == manager)
        ]
        users = {u["id"]: User.from_v4(u) for u in self.data.users}
        return overdue_by_manager(tasks, users, now, TZ).total_overdue


def mirror_state(server: Server) -> str | None:
    return requests.get(f"{server.url}/healthz", timeout=5).json()["sync"]["state"]


def log_lines(logs: Path) -> Iterator[tuple[str, str]]:
    for path in sorted(logs.glob("*.log")):
        for line in path.read_text("utf-8", "replace").splitlines():
            if not line.startswith('{"base_url"'):  # the sandbox's announcement, by design
                yield path.name, line


def task_of(data: str) -> int:
    pressed = decode(data)
    assert isinstance(pressed, AskClose)
    return pressed.task


def assert_no_secret_logged(stack: Stack) -> None:
    """One more round trip through amoCRM and the Bot API, then no line of any log the stack's
    processes wrote carries a token, key or secret."""
    chat = stack.chat(ADMIN, -100333)
    chat.say("/amocrm")  # one more round trip through amoCRM and the Bot API
    chat.expect("✅ amoCRM на связи")
    secrets = {BOT_TOKEN, WEBHOOK_SECRET, AMO_WEBHOOK_SECRET, *stack.sandbox.secrets}
    lines = list(log_lines(stack.logs))
    text = "\n".join(line for _, line in lines)
    # the logs are the verbose ones (DEBUG, HTTP client lines), so the search means something
    assert " DEBUG urllib3.connectionpool: " in text and "/bot***/sendMessage" in text
    leaks = [(name, line) for name, line in lines if any(s in line for s in secrets)]
    assert leaks == []
