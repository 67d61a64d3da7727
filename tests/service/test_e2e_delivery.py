"""End to end through a real `leoweb-bot serve`: delivery guarantees (duplicates, failures,
SIGKILL), gunicorn's own edges (malformed requests, slow clients), a full disk, and no secret in
any log line. The rig is tests/kit/stack.py."""

from __future__ import annotations

import contextlib
import re
import shutil
import socket
import subprocess
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import requests

from leoweb_bot.service.worker import REQUEST_READ_SECONDS
from tests.kit.fakebot import FakeBotAPI
from tests.kit.fakebot import SentMessage
from tests.kit.stack import ADMIN
from tests.kit.stack import AMO_WEBHOOK_SECRET
from tests.kit.stack import DIRECTOR
from tests.kit.stack import REPLY_TIMEOUT
from tests.kit.stack import SECOND_ADMIN
from tests.kit.stack import SECRET_HEADER
from tests.kit.stack import WEBHOOK_SECRET
from tests.kit.stack import WORKING
from tests.kit.stack import Chat
from tests.kit.stack import Server
from tests.kit.stack import Stack
from tests.kit.stack import assert_no_secret_logged
from tests.kit.stack import log_lines
from tests.kit.stack import message_update
from tests.kit.stack import server_env
from tests.kit.stack import start_sandbox
from tests.kit.stack import stop_group
from tests.kit.stack import user
from tests.kit.stack import wait_for_line

pytestmark = pytest.mark.e2e


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
    leaks = [(n, line) for n, line in log_lines(stack.logs) if AMO_WEBHOOK_SECRET in line]
    assert leaks == []


def test_no_log_line_carries_a_secret(stack: Stack) -> None:
    assert_no_secret_logged(stack)
