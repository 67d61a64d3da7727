"""End to end: a real `leoweb-bot serve` (gunicorn, 2 workers) on loopback, the sandbox as
amoCRM and a loopback fake Bot API, configured through ``LEOWEB_*`` only, as in production.

Every process runs in its own session (process group) and is killed with its group, so a failed
test leaves no server behind. Readiness is polled (the ``serving on`` line, then /healthz) and
replies are awaited with ``FakeBotAPI.wait_for``; nothing sleeps for a fixed time. All output
goes to log files in one directory, which the last test searches for secrets.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import os
import re
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from dataclasses import field
from pathlib import Path
from typing import Any

import pytest
import pytz
import requests

from leoweb_bot.amocrm.models import Task
from leoweb_bot.amocrm.models import User
from leoweb_bot.bot.codec import AskClose
from leoweb_bot.bot.codec import LeadCard
from leoweb_bot.bot.codec import ManagerPage
from leoweb_bot.bot.codec import MyTasksPage
from leoweb_bot.bot.codec import OverdueChart
from leoweb_bot.bot.codec import Refresh
from leoweb_bot.bot.codec import ReportSummary
from leoweb_bot.bot.codec import decode
from leoweb_bot.bot.codec import encode
from leoweb_bot.reports import overdue_by_manager
from leoweb_bot.sandbox import DemoData
from leoweb_bot.sandbox import generate
from leoweb_bot.service.worker import REQUEST_READ_SECONDS
from tests.conftest import leoweb_env
from tests.kit.fakebot import BOT_USER
from tests.kit.fakebot import FakeBotAPI
from tests.kit.fakebot import SentMessage

pytestmark = pytest.mark.e2e

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


@pytest.fixture(scope="module")
def logs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("e2e-logs")


@pytest.fixture(scope="module")
def fake() -> Iterator[FakeBotAPI]:
    with FakeBotAPI() as api:
        yield api


@pytest.fixture(scope="module")
def stack(logs: Path, fake: FakeBotAPI) -> Iterator[Stack]:
    """One sandbox (no latency, no rate limit) and one server shared by the module's tests."""
    sandbox = start_sandbox(logs, "sandbox", "--rate-limit", "0", "--tasks", str(TASKS))
    server = Server(server_env(fake, sandbox, logs / "state.sqlite3"), logs, logs / "serve.log")
    try:
        server.start()
        # the screens read the mirror from here on (tests/service/test_e2e_sync.py: before it)
        assert fake.wait_for(lambda: mirror_state(server) == "ready", START_TIMEOUT)
        data = generate(seed=SEED, tasks=TASKS, managers=MANAGERS, now=sandbox.info["now"])
        yield Stack(logs, fake, sandbox, server, data)
    finally:
        server.stop()
        stop_group(sandbox.proc)


def mirror_state(server: Server) -> str | None:
    return requests.get(f"{server.url}/healthz", timeout=5).json()["sync"]["state"]


# -- the HTTP face ----------------------------------------------------------------------------


def test_bad_requests_are_4xx_and_never_500(stack: Stack) -> None:
    server = stack.server
    good = message_update(user(STRANGER), STRANGER, "/start")
    assert server.post(good, secret=None) == 403
    assert server.post(good, secret="wrong") == 403
    assert server.post(b"{not json") == 400
    assert server.post(b"[1, 2]") == 400
    assert server.post({"update_id": "7", "message": {}}) == 400
    assert server.post(b"x" * (1024 * 1024 + 1)) == 413
    assert requests.get(f"{server.url}/telegram/webhook", timeout=5).status_code == 405
    assert requests.get(f"{server.url}/nowhere", timeout=5).status_code == 404
    # none of those reached the bot
    assert server.inbox_row(good["update_id"]) == {}
    assert stack.fake.sent(STRANGER) == []


# -- commands and buttons as each role --------------------------------------------------------


def test_a_stranger_gets_their_id_and_nothing_else(stack: Stack) -> None:
    chat = stack.chat(STRANGER)
    no_access = "⛔ Нет доступа. Ваш Telegram id: <code>999</code>"
    for text in ("/report", "/mytasks", "привет"):  # /start asks to join: test_e2e_people.py
        chat.say(text)
        assert chat.expect(no_access).method == "sendMessage"
    # a forged button on a fabricated message: refused in the callback answer, nothing shown
    forged = SentMessage("sendMessage", STRANGER, 1, "", None)
    query = chat.press(forged, encode(ManagerPage(ZELIMKHAN, 0)))
    answer = chat.answer(query)
    assert "Нет доступа" in answer["text"] and answer["show_alert"] == "True"
    assert chat.new_messages() == []


def test_admin_report_drill_down_and_refresh(stack: Stack) -> None:
    chat = stack.chat(ADMIN)
    chat.say("/start")
    greeting = chat.expect("Здравствуйте, Тест!")
    assert "/funnel" in greeting.text and "/amocrm" in greeting.text

    before = int(time.time())
    chat.say("/report")
    summary = chat.expect("<b>Просроченные задачи</b> на ", "(Asia/Almaty)")
    after = int(time.time())
    # from the mirror: at once, no "⏳" to edit (read live, the "⏳" becomes the report:
    # tests/bot/test_commands_tasks.py)
    assert summary.method == "sendMessage" and "🕓 данные на " in summary.text
    total = re.search(r"Всего просрочено: <b>(\d+)</b>", summary.text)
    assert total is not None
    # what amoCRM holds, at some moment while the bot was reading it
    assert stack.overdue(before) <= int(total.group(1)) <= stack.overdue(after)
    refresh = encode(Refresh(ReportSummary()))
    assert summary.data(refresh) == [refresh]  # 🔄: sync first
    query = chat.press(summary, encode(OverdueChart()))  # drawn by a dispatcher thread
    photo = chat.expect("Просрочено задач: ")
    chat.answer(query)
    assert photo.method == "sendPhoto" and stack.fake.photos(ADMIN)[-1].png[:4] == b"\x89PNG"
    counts = {data: label for label, data in summary.buttons}
    zelimkhan = re.fullmatch(r"Зелимхан \((\d+)\)", counts[encode(ManagerPage(ZELIMKHAN, 0))])
    assert zelimkhan is not None

    query = chat.press(summary, encode(ManagerPage(ZELIMKHAN, 0)))
    page = chat.expect(f"<b>Зелимхан</b> — просрочено <b>{zelimkhan.group(1)}</b>")
    assert chat.answer(query).get("show_alert") in (None, "False")
    assert page.message_id == summary.message_id  # drilled down in place
    assert page.data(SUMMARY) == [SUMMARY]  # ⬆ back to everyone

    query = chat.press(page, SUMMARY)
    again = chat.expect("<b>Просроченные задачи</b>")
    chat.answer(query)
    assert again.message_id == summary.message_id

    query = chat.press(again, refresh)
    refreshed = chat.expect("<b>Просроченные задачи</b>")
    chat.answer(query)
    assert refreshed.message_id == summary.message_id


def test_admin_account_commands_and_unknown_input(stack: Stack) -> None:
    chat = stack.chat(SECOND_ADMIN)
    steps = [
        ("/whoami", ["Telegram id: <code>102</code>", "Роль: администратор"]),
        ("/funnel", ["<b>Воронка</b>", "открытых сделок"]),
        ("/amocrm", ["✅ amoCRM на связи", f"Пользователей: {len(stack.data.users)}"]),
        ("/done", ["Формат: /done"]),
        ("/nonsense", ["Не понял. Список команд — /help"]),
        ("просто текст", ["Не понял. Список команд — /help"]),
    ]
    for text, fragments in steps:
        chat.say(text)
        chat.expect(*fragments)


def test_director_reports_a_manager_and_looks_up_leads_and_contacts(stack: Stack) -> None:
    chat = stack.chat(DIRECTOR)
    chat.say("/report Милана")
    page = chat.expect("<b>Милана</b> — просрочено")
    assert page.data(SUMMARY) == [SUMMARY]  # directors get ⬆ back to everyone

    lead = stack.data.leads[0]
    chat.say(f"/lead {lead['id']}")
    chat.expect(f"сделка #{lead['id']}", "Этап:", "Ответственный:")

    chat.say("/lead Мальте")
    choice = chat.expect("Нашлось сделок:")
    leads = [decode(data) for _, data in choice.buttons]
    assert 1 < len(leads) <= 10 and all(isinstance(b, LeadCard) for b in leads)
    query = chat.press(choice, choice.buttons[0][1])
    card = chat.expect(f"сделка #{leads[0].lead}")
    assert card.method == "sendMessage"  # the list stays; the card is a new message
    chat.answer(query)

    contact = stack.data.contacts[0]
    chat.say(f"/contact {contact['name']}")
    chat.expect(f"контакт #{contact['id']}", "Телефон:")


def test_a_manager_sees_and_closes_only_their_own_tasks(stack: Stack) -> None:
    chat = stack.chat(MANAGER)
    chat.say("/help")
    help_text = chat.expect("<b>Команды</b>").text
    assert "/mytasks" in help_text and "/funnel" not in help_text

    chat.say("/report")
    own = chat.expect("<b>Зелимхан</b> — просрочено")
    assert own.data(SUMMARY) == []  # no way up to everyone's report

    chat.say("/funnel")
    chat.expect("Эта команда вам недоступна")

    # a forged button for another manager's list: refused, and nothing of hers is shown
    query = chat.press(own, encode(ManagerPage(MILANA, 0)))
    assert chat.answer(query) == {
        "callback_query_id": query,
        "text": "⛔ Нет доступа",
        "show_alert": "True",  # pyTelegramBotAPI sends str(True)
    }

    milanas = next(
        t for t in stack.data.tasks if t["responsible_user_id"] == MILANA and not t["is_completed"]
    )
    chat.say(f"/done {milanas['id']}")
    chat.expect(f"⛔ Задача {milanas['id']} не ваша")
    assert not any("Милана" in m.text for m in chat.new_messages())

    chat.say("/mytasks")
    tasks = chat.expect("<b>Ваши задачи</b>")
    done_buttons = [data for label, data in tasks.buttons if label.startswith("✅")]
    assert done_buttons and tasks.buttons[-1][1] == encode(Refresh(MyTasksPage(ZELIMKHAN, 0)))  # 🔄
    task_id = task_of(done_buttons[0])
    text = next(t["text"] for t in stack.data.tasks if t["id"] == task_id)
    stack.closed.add(task_id)
    chat.press(tasks, done_buttons[0])
    question = chat.expect("<b>Закрыть задачу?</b>", f"<code>#{task_id}</code>")
    query = chat.press(question, dict(question.buttons)["✅ Закрыть"])
    assert chat.answer(query)["text"] == f"✅ Закрыта задача «{text}»"
    refreshed = chat.expect("<b>Ваши задачи</b>")
    again = [task_of(data) for label, data in refreshed.buttons if label.startswith("✅")]
    assert task_id not in again

    chat.say(f"/done {task_id}")  # the write reached amoCRM: the task is closed there now
    chat.expect(f"Задача «{text}» (#{task_id}) уже закрыта.")
    audit = stack.server.audit()
    assert (MANAGER, "complete_task_denied", json.dumps({"task_id": milanas["id"]})) in audit
    assert (
        MANAGER,
        "complete_task",
        json.dumps({"task_id": task_id, "result": "Выполнено через Telegram"}, ensure_ascii=False),
    ) in audit


def test_group_commands_count_only_when_addressed_to_this_bot(stack: Stack) -> None:
    chat = stack.chat(ADMIN, GROUP)
    chat.say("/report@otherbot")
    chat.say("/whoami@otherbot")
    chat.say("всем привет")
    chat.say("/WhoAmI@LeoWeb_Test_Bot")  # case-insensitive, as Telegram clients send it
    chat.expect("Telegram id: <code>101</code>")
    # updates of one chat are handled in order, so the three before it were ignored
    assert len(chat.fake.sent(GROUP)) == 1

    chat.say("/report@leoweb_test_bot")
    chat.expect("<b>Просроченные задачи</b>")


# -- delivery guarantees ----------------------------------------------------------------------


def test_the_same_update_three_times_gets_one_reply(stack: Stack) -> None:
    chat = stack.chat(DIRECTOR, -100777)
    update = message_update(chat.sender, chat.chat_id, "/whoami")
    with ThreadPoolExecutor(3) as pool:
        statuses = list(pool.map(lambda _: stack.server.post(update), range(3)))
    assert statuses == [200, 200, 200]
    chat.expect("Роль: руководитель")
    chat.say("/help")  # handled after any copy of the first, were one stored
    chat.expect("<b>Команды</b>")
    assert len(stack.fake.sent(chat.chat_id)) == 2


def test_a_failing_update_does_not_block_its_chat(stack: Stack) -> None:
    poison_name = "Ядовитый"
    stack.fake.reject_text(poison_name)  # every message carrying this name fails to send
    chat = stack.chat(SECOND_ADMIN, -100888, first_name=poison_name)
    chat.say("/start")  # the greeting names the user: its handler raises
    chat.expect("Что-то пошло не так")  # ...and the user is told politely
    chat.say("/whoami")
    chat.expect("Роль: администратор")

    # an update without "date", which pyTelegramBotAPI could not parse: the bot reads what it needs
    old = message_update(chat.sender, chat.chat_id, "/help")
    del old["message"]["date"]
    assert stack.server.post(old) == 200
    chat.expect("<b>Команды</b>")

    # an answer Telegram refuses every time (outside any handler's guard): every attempt raises
    stack.fake.reject_text("Не понял", chat_id=chat.chat_id)
    update = message_update(chat.sender, chat.chat_id, "/nonsense@leoweb_test_bot")
    assert stack.server.post(update) == 200
    chat.say("/whoami")
    chat.expect("Роль: администратор")
    # once given up, its sender is told too (the reply to /whoami may come first)
    assert stack.fake.wait_for(lambda: apologies(stack.fake.sent(chat.chat_id)) == 2, REPLY_TIMEOUT)
    row = stack.server.inbox_row(update["update_id"])
    assert (row["status"], row["attempts"]) == ("failed", 3)
    assert "TelegramError" in row["error"]
    log = (stack.logs / "serve.log").read_text("utf-8")
    failures = re.findall(rf"update {update['update_id']} \(chat -100888\) failed on attempt", log)
    assert len(failures) == 3
    assert f"update {update['update_id']} (chat -100888) given up after 3 attempts" in log


def task_of(data: str) -> int:
    pressed = decode(data)
    assert isinstance(pressed, AskClose)
    return pressed.task


def apologies(messages: list[SentMessage]) -> int:
    return sum("Что-то пошло не так" in m.text for m in messages)


def test_sigkill_after_the_ack_still_gets_the_reply_after_restart(
    stack: Stack, logs: Path, fake: FakeBotAPI
) -> None:
    """amoCRM answers in 1.5 s, so a /report takes seconds; the server dies in the middle.

    This server logs in to amoCRM in session mode (login + API key), so the secrets check at
    the end also covers that mode.
    """
    sandbox = start_sandbox(
        logs, "sandbox-slow", "--rate-limit", "0", "--latency-ms", "1500", "--tasks", "50"
    )
    env = server_env(fake, sandbox, logs / "killed.sqlite3", auth="session")
    server = Server(env, logs, logs / "serve-killed.log")
    try:
        first = Chat(server, fake, user(ADMIN), -200001)
        second = Chat(server, fake, user(SECOND_ADMIN), -200002)
        report = "<b>Просроченные задачи</b>"
        server.start()
        first_id = first.say("/report")
        first.expect(WORKING)  # claimed by a worker, which now waits on amoCRM
        second_id = second.say("/report")
        server.kill()  # the ack is in; master and workers die at once
        assert not any(
            report in m.text for m in fake.sent(first.chat_id) + fake.sent(second.chat_id)
        )
        assert server.inbox_row(first_id)["status"] == "working"  # claimed by a dead worker

        server.start()
        # The dispatchers take the dead workers' claims back as they start (not after the
        # 120 s lease), so both reports arrive within seconds.
        first.expect(report)
        second.expect(report)
        assert re.search(r"inbox: [12] reclaimed from dead workers", server.output())
        # the reply goes out just before the update is marked done
        assert fake.wait_for(
            lambda: {server.inbox_row(i)["status"] for i in (first_id, second_id)} == {"done"},
            REPLY_TIMEOUT,
        )
    finally:
        server.stop()
        stop_group(sandbox.proc)


# -- the HTTP server's own edges (gunicorn) ------------------------------------------------------


def raw_exchange(server: Server, request: bytes) -> bytes:
    """Send bytes as they are on one connection; what came back before the server closed it."""
    host, port = server.url.removeprefix("http://").rsplit(":", 1)
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        sock.sendall(request)
        sock.shutdown(socket.SHUT_WR)
        reply = b""
        while chunk := sock.recv(65536):
            reply += chunk
    return reply


def test_gunicorn_logs_a_malformed_request_line_without_its_secret(stack: Stack) -> None:
    server = stack.server
    offset = server.log.stat().st_size
    # A path with raw (not percent-encoded) Cyrillic: gunicorn rejects the line and logs it.
    line = f"GET /amocrm/webhook/{AMO_WEBHOOK_SECRET}/лид HTTP/1.1\r\nHost: x\r\n\r\n"
    assert raw_exchange(server, line.encode()).startswith(b"HTTP/1.1 400 ")
    assert server.proc is not None
    logged = wait_for_line(server.log, r"^.*Invalid request from ip=.*$", server.proc, offset)
    assert "/amocrm/webhook/***" in logged.group(0)
    assert AMO_WEBHOOK_SECRET not in server.log.read_bytes()[offset:].decode("utf-8", "replace")


def test_a_malformed_chunked_body_is_400_without_a_traceback(stack: Stack) -> None:
    server = stack.server
    offset = server.log.stat().st_size
    head = (
        f"POST /telegram/webhook HTTP/1.1\r\nHost: x\r\n{SECRET_HEADER}: {WEBHOOK_SECRET}\r\n"
        "Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
    )
    reply = raw_exchange(server, head.encode() + b"zz\r\n{}\r\n0\r\n\r\n")
    assert reply.startswith(b"HTTP/1.1 400 ")
    assert server.proc is not None
    wait_for_line(server.log, r"POST /telegram/webhook 400 ", server.proc, offset)
    assert "Traceback" not in server.log.read_bytes()[offset:].decode("utf-8", "replace")


SLOW_CLIENTS = 32  # twice the server's threads (2 workers x 8): all of them, however spread
TRICKLE_SECONDS = 2.0


class SlowClients:
    """Connections that send a request one byte every TRICKLE_SECONDS (a "slowloris")."""

    def __init__(self, server: Server, count: int, at_once: bytes, trickled: bytes) -> None:
        host, port = server.url.removeprefix("http://").rsplit(":", 1)
        self.request = trickled
        self.socks = [socket.create_connection((host, int(port)), timeout=30) for _ in range(count)]
        for sock in self.socks:
            sock.sendall(at_once)
        self.rounds = 0
        self.two_rounds = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._trickle, daemon=True)
        self._thread.start()

    def _trickle(self) -> None:
        for n in range(len(self.request)):  # bounded: the request is sent in full at most
            for sock in self.socks:
                with contextlib.suppress(OSError):  # the server may have closed it
                    sock.send(self.request[n : n + 1])
            self.rounds += 1
            if self.rounds == 2:
                self.two_rounds.set()
            if self._stop.wait(TRICKLE_SECONDS):
                return

    def replies(self, timeout: float) -> list[bytes]:
        """What each connection got back before the server closed it (within ``timeout``)."""
        deadline = time.monotonic() + timeout
        replies = []
        for sock in self.socks:
            sock.settimeout(max(deadline - time.monotonic(), 0.01))
            reply = b""
            with contextlib.suppress(OSError):
                while chunk := sock.recv(65536):
                    reply += chunk
            replies.append(reply)
        return replies

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=10)
        for sock in self.socks:
            sock.close()


SLOW_HEAD = (
    f"POST /telegram/webhook HTTP/1.1\r\nHost: x\r\n{SECRET_HEADER}: {WEBHOOK_SECRET}\r\n"
    "Content-Type: application/json\r\nContent-Length: 16\r\n\r\n"
).encode()


@pytest.mark.parametrize(
    ("at_once", "trickled"),
    [(b"", SLOW_HEAD), (SLOW_HEAD, b'{"update_id": 1}')],
    ids=["slow head", "slow body"],
)
def test_slow_clients_do_not_stall_the_server(
    stack: Stack, at_once: bytes, trickled: bytes
) -> None:
    server = stack.server
    slow = SlowClients(server, SLOW_CLIENTS, at_once, trickled)
    try:
        assert slow.two_rounds.wait(10)  # every connection has started its request
        for _ in range(3):
            started = time.monotonic()
            response = requests.get(f"{server.url}/healthz", timeout=15)
            assert response.status_code == 200
            assert time.monotonic() - started < 1.0
        # and none of them may hold on for long: each gets a 408 once its time is up
        replies = slow.replies(timeout=REQUEST_READ_SECONDS + 2 * TRICKLE_SECONDS + 5)
    finally:
        slow.close()
    assert all(reply.startswith(b"HTTP/1.1 408 ") for reply in replies), replies[:2]


def test_clients_that_do_not_close_after_an_error_do_not_stall_the_server(stack: Stack) -> None:
    """After an error answer the server waits up to 2 s for the client to close; never in the
    thread that accepts connections."""
    server = stack.server
    host, port = server.url.removeprefix("http://").rsplit(":", 1)
    socks = [socket.create_connection((host, int(port)), timeout=10) for _ in range(SLOW_CLIENTS)]
    try:
        for sock in socks:
            sock.sendall(b"GET /healthz HTTP/9.9\r\nHost: x\r\n\r\n")  # 400, then close
        for sock in socks:
            assert sock.recv(65536).startswith(b"HTTP/1.1 400 ")  # answered; we keep it open
        started = time.monotonic()
        assert requests.get(f"{server.url}/healthz", timeout=30).status_code == 200
        assert time.monotonic() - started < 1.0
    finally:
        for sock in socks:
            sock.close()


# -- a full disk ----------------------------------------------------------------------------------

SMALL_DISK = "96m"  # above the 64 MiB that /healthz wants free (health.MIN_FREE_BYTES)
OUTAGE_TOLD = "База бота не принимала записи с "


def small_disk(mount_point: Path) -> list[str]:
    """A command prefix that runs a command with a tmpfs of SMALL_DISK on ``mount_point``, in a
    mount namespace of its own (an unprivileged user namespace: no root needed)."""
    mount = f'mount -t tmpfs -o size={SMALL_DISK},mode=700 tmpfs "$0" && exec "$@"'
    return ["unshare", "--user", "--map-root-user", "--mount", "sh", "-c", mount, str(mount_point)]


def small_disks_work(tmp: Path) -> bool:
    if shutil.which("unshare") is None:
        return False
    probe = subprocess.run([*small_disk(tmp), "true"], capture_output=True, check=False)
    return probe.returncode == 0


def fill(path: Path) -> None:
    """Write zeros to ``path`` until its file system is full."""
    chunk = bytes(1024 * 1024)
    with path.open("wb") as out, contextlib.suppress(OSError):  # ENOSPC: full
        for _ in range(4096):  # bounded: far beyond SMALL_DISK
            out.write(chunk)
            out.flush()


def test_a_full_disk_shows_in_healthz_and_the_admins_hear_once_it_is_over(
    stack: Stack, logs: Path, fake: FakeBotAPI
) -> None:
    disk = logs / "small-disk"
    disk.mkdir()
    if not small_disks_work(disk):
        pytest.skip("no unprivileged user and mount namespaces (unshare) here")
    env = server_env(fake, stack.sandbox, disk / "state.sqlite3")
    server = Server(env, logs, logs / "serve-full-disk.log", wrap=small_disk(disk))
    chat = Chat(server, fake, user(DIRECTOR), -300001)
    try:
        server.start()
        assert server.proc is not None
        inside = Path(f"/proc/{server.proc.pid}/root") / disk.relative_to("/")
        fill(inside / "filler")
        refused = None
        for _ in range(200):  # each big update needs new pages; a few fit in the WAL's slack
            update = message_update(chat.sender, chat.chat_id, "/help " + "x" * 60_000)
            if server.post(update) == 503:
                refused = update
                break
        assert refused is not None, "the full disk never refused an update"
        health = requests.get(f"{server.url}/healthz", timeout=10)
        assert health.status_code == 503
        assert "full" in health.json()["error"], health.json()

        (inside / "filler").unlink()  # space again
        assert server.post(refused) == 200  # Telegram's next try is stored
        chat.expect("<b>Команды</b>")
        assert fake.wait_for(
            lambda: any(OUTAGE_TOLD in m.text for m in fake.sent(ADMIN)), REPLY_TIMEOUT
        )
        [told] = [m.text for m in fake.sent(ADMIN) if OUTAGE_TOLD in m.text]
        assert "Причина: database or disk is full" in told
    finally:
        server.stop()


# -- secrets (keep last: it reads the logs of every test above) ----------------------------------


def _log_lines(logs: Path) -> Iterator[tuple[str, str]]:
    for path in sorted(logs.glob("*.log")):
        for line in path.read_text("utf-8", "replace").splitlines():
            if not line.startswith('{"base_url"'):  # the sandbox's announcement, by design
                yield path.name, line


def test_amocrm_webhook_secret_is_not_logged(stack: Stack) -> None:
    response = requests.post(
        f"{stack.server.url}/amocrm/webhook/{AMO_WEBHOOK_SECRET}",
        data="leads[status][0][id]=1",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
        timeout=5,
    )
    assert response.status_code == 200
    chat = stack.chat(ADMIN, -100999)
    chat.say("/whoami")  # the request above has been logged by the time this is answered
    chat.expect("Роль: администратор")
    leaks = [(n, line) for n, line in _log_lines(stack.logs) if AMO_WEBHOOK_SECRET in line]
    assert leaks == []


def test_no_log_line_carries_a_secret(stack: Stack) -> None:
    chat = stack.chat(ADMIN, -100333)
    chat.say("/amocrm")  # one more round trip through amoCRM and the Bot API
    chat.expect("✅ amoCRM на связи")
    secrets = {BOT_TOKEN, WEBHOOK_SECRET, AMO_WEBHOOK_SECRET, *stack.sandbox.secrets}
    lines = list(_log_lines(stack.logs))
    text = "\n".join(line for _, line in lines)
    # the logs are the verbose ones (DEBUG, HTTP client lines), so the search means something
    assert " DEBUG urllib3.connectionpool: " in text and "/bot***/sendMessage" in text
    leaks = [(name, line) for name, line in lines if any(s in line for s in secrets)]
    assert leaks == []
