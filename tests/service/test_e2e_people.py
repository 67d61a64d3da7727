"""End to end: people let in and removed through the webhook of a real `serve` with two gunicorn
workers, and a change made in one worker seen by the other at its next update.

Which worker handles an update is the kernel's choice, so the test makes it: the other worker
is stopped (SIGSTOP) while one works, and continued after. Stopped only once every update is
finished, so nothing of it is in flight; gunicorn's 30 s worker timeout is far away.
"""

from __future__ import annotations

import os
import re
import signal
import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from leoweb_bot.bot.codec import AcceptDirector
from leoweb_bot.bot.codec import MyTasksPage
from leoweb_bot.bot.codec import Refresh
from leoweb_bot.bot.codec import encode
from tests.kit.fakebot import FakeBotAPI
from tests.kit.stack import DIRECTOR
from tests.kit.stack import MILANA
from tests.kit.stack import START_TIMEOUT
from tests.kit.stack import Chat
from tests.kit.stack import Sandbox
from tests.kit.stack import Server
from tests.kit.stack import server_env
from tests.kit.stack import start_sandbox
from tests.kit.stack import stop_group
from tests.kit.stack import user

pytestmark = pytest.mark.e2e

NEWCOMER, ASKER = 555, 556
LINK_RE = re.compile(r"https://t\.me/leoweb_test_bot\?start=([A-Za-z0-9_-]+)")
NO_ACCESS = "⛔ Нет доступа. Ваш Telegram id: <code>555</code>"


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Server, FakeBotAPI]]:
    logs = tmp_path_factory.mktemp("e2e-people")
    with FakeBotAPI() as fake:
        sandbox: Sandbox = start_sandbox(logs, "sandbox", "--rate-limit", "0", "--tasks", "300")
        server = Server(server_env(fake, sandbox, logs / "state.sqlite3"), logs, logs / "serve.log")
        try:
            server.start()
            yield server, fake
        finally:
            server.stop()
            stop_group(sandbox.proc)


def workers(server: Server, count: int = 2) -> list[int]:
    """The pids of the gunicorn workers (the master's children), once ``count`` of them run
    their dispatchers: /healthz answers as soon as the first is up."""
    assert server.proc is not None
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        children = children_of(server.proc.pid)
        if len(children) == count and server.output().count("dispatcher started") >= count:
            return children
        time.sleep(0.02)
    raise AssertionError(f"not {count} workers: {children_of(server.proc.pid)}")


def children_of(parent: int) -> list[int]:
    children = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            after_name = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue  # gone meanwhile
        if int(after_name[1]) == parent:
            children.append(int(stat.parent.name))
    return sorted(children)


def wait_until_idle(server: Server) -> None:
    """Until every update is finished: a worker stopped with one still claimed would hold up
    its chat (each chat's updates go in order) until the claim's lease ran out."""
    deadline = time.monotonic() + START_TIMEOUT
    sql = "SELECT COUNT(*) FROM inbox WHERE status IN ('pending', 'working')"
    while time.monotonic() < deadline:
        conn = sqlite3.connect(f"file:{server.state_path}?mode=ro", uri=True)
        try:
            if conn.execute(sql).fetchone()[0] == 0:
                return
        finally:
            conn.close()
        time.sleep(0.02)
    raise AssertionError("updates still unfinished")


@contextmanager
def only(server: Server, worker: int, every: list[int]) -> Iterator[None]:
    """Every update in this block is handled by ``worker``: the others are stopped."""
    wait_until_idle(server)
    others = [pid for pid in every if pid != worker]
    for pid in others:
        os.kill(pid, signal.SIGSTOP)
    try:
        yield
    finally:
        for pid in others:
            os.kill(pid, signal.SIGCONT)


def chat_of(served: tuple[Server, FakeBotAPI], user_id: int, name: str = "Тест") -> Chat:
    server, fake = served
    return Chat(server, fake, user(user_id, name), user_id)


def test_a_change_in_one_worker_is_seen_by_the_other_at_once(
    served: tuple[Server, FakeBotAPI],
) -> None:
    server, _ = served
    pids = workers(server)
    first, second = pids
    director, newcomer = chat_of(served, DIRECTOR), chat_of(served, NEWCOMER, "Айдана")

    with only(server, first, pids):  # let in by the first worker...
        director.say("/invite manager Милана")
        token = LINK_RE.search(director.expect("🔗 Приглашение: менеджер (Милана)").text)
        assert token is not None
        newcomer.say(f"/start {token.group(1)}")
        newcomer.expect("Здравствуйте, Айдана!", "Ваша роль: менеджер.")
        director.expect("✅ Айдана, id <code>555</code> вошёл в бот по вашему приглашению")

    with only(server, second, pids):  # ...a manager in the second, who has never seen them
        newcomer.say("/mytasks")
        mine = newcomer.expect("<b>Ваши задачи</b>")
        assert encode(Refresh(MyTasksPage(MILANA, 0))) in mine.data(
            "v1:rf:mt"
        )  # 🔄 of their own list
        director.say(f"/remove {NEWCOMER}")  # and removed there
        director.expect("Доступ закрыт: Айдана.")
        newcomer.expect("Вам закрыли доступ к боту.")

    with only(
        server, first, pids
    ):  # the first worker knows at the next update, a button's included
        newcomer.say("/mytasks")
        newcomer.expect(NO_ACCESS)
        answer = newcomer.answer(newcomer.press(mine, encode(MyTasksPage(MILANA, 0))))
        assert answer["text"].startswith("⛔ Нет доступа") and answer["show_alert"] == "True"


def test_a_stranger_asks_and_a_director_lets_them_in(served: tuple[Server, FakeBotAPI]) -> None:
    _, fake = served
    director, asker = chat_of(served, DIRECTOR), chat_of(served, ASKER, "Бекзат")
    asker.say("/start")
    asker.expect("Я спросил руководителя — ответ придёт сюда.")
    card = director.expect("🙋 <b>Просит доступ к боту</b>\nБекзат, id <code>556</code>")
    director.answer(director.press(card, encode(AcceptDirector(1))))
    director.expect("✅ Впущен: руководитель. Решение: id 201")
    asker.expect("Здравствуйте, Бекзат!", "Ваша роль: руководитель.")
    menus = [p for method, p in fake.calls("setMyCommands") if '"chat_id": 556' in p["scope"]]
    assert menus and '"funnel"' in menus[-1]["commands"]
    asker.say("/funnel")
    asker.expect("<b>Воронка</b>")
