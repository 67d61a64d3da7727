from __future__ import annotations

import json
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from leoweb_bot.service.dispatcher import Dispatcher
from leoweb_bot.service.dispatcher import poll_updates
from leoweb_bot.state import State
from leoweb_bot.state.inbox import InboxItem
from leoweb_bot.telegram.client import Telegram
from leoweb_bot.telegram.updates import chat_id_of
from leoweb_bot.telegram.updates import sender_id_of
from tests.kit.fakebot import FakeBotAPI


def wait_until(predicate: Callable[[], Any], timeout: float = 10.0) -> bool:
    """Poll ``predicate`` on a short Event wait (no fixed sleeps)."""
    deadline = time.monotonic() + timeout
    tick = threading.Event()
    while not predicate():
        if time.monotonic() > deadline:
            return False
        tick.wait(0.01)
    return True


def update(update_id: int, chat_id: int, text: str = "/start") -> dict[str, Any]:
    return {
        "update_id": update_id,
        "message": {
            "message_id": update_id,
            "chat": {"id": chat_id, "type": "private"},
            "text": text,
        },
    }


class Recorder:
    """A process function: records handled updates, raises for chosen chats or updates."""

    def __init__(self, poison: Callable[[dict[str, Any]], bool] = lambda u: False) -> None:
        self.poison = poison
        self.handled: list[tuple[int, int | None]] = []
        self.attempts: dict[int, int] = {}
        self._lock = threading.Lock()

    def __call__(self, upd: dict[str, Any]) -> None:
        with self._lock:
            self.attempts[upd["update_id"]] = self.attempts.get(upd["update_id"], 0) + 1
        if self.poison(upd):
            raise ValueError(f"cannot handle update {upd['update_id']}")
        with self._lock:
            self.handled.append((upd["update_id"], chat_id_of(upd)))

    def ids(self, chat_id: int | None = None) -> list[int]:
        with self._lock:
            return [u for u, c in self.handled if chat_id is None or c == chat_id]


@pytest.fixture
def state(tmp_path: Path) -> State:
    return State(tmp_path / "state.sqlite3")


@pytest.fixture
def running() -> Iterator[list[Dispatcher]]:
    started: list[Dispatcher] = []
    yield started
    for dispatcher in started:
        dispatcher.stop(5)


def put(state: State, upd: dict[str, Any]) -> None:
    state.inbox.store(upd["update_id"], chat_id_of(upd), json.dumps(upd), time.time())


def start(running: list[Dispatcher], dispatcher: Dispatcher) -> Dispatcher:
    dispatcher.start()
    running.append(dispatcher)
    return dispatcher


def test_a_failing_chat_does_not_stop_the_others(
    state: State, running: list[Dispatcher], caplog: pytest.LogCaptureFixture
) -> None:
    recorder = Recorder(poison=lambda u: u["update_id"] == 1)
    put(state, update(1, chat_id=100))  # poison
    put(state, update(2, chat_id=200))
    put(state, update(3, chat_id=100))  # after the poison, same chat
    put(state, update(4, chat_id=300))
    start(running, Dispatcher(state, recorder, threads=3, poll_interval=0.02))

    # the item is marked failed before "given up" is logged: wait for both
    assert wait_until(
        lambda: (
            len(recorder.handled) == 3
            and state.inbox.depth() == 0
            and "given up after 3 attempts" in caplog.text
        )
    )
    assert sorted(recorder.ids()) == [2, 3, 4]
    assert recorder.attempts[1] == 3
    assert state.inbox.status(1) == "failed"
    assert "update 1 (chat 100) failed" in caplog.text
    assert "given up after 3 attempts" in caplog.text
    # the poisoned chat keeps working afterwards
    put(state, update(5, chat_id=100))
    running[0].wake()
    assert wait_until(lambda: 5 in recorder.ids(100))


def test_the_sender_hears_once_when_an_update_is_given_up(
    state: State, running: list[Dispatcher], caplog: pytest.LogCaptureFixture
) -> None:
    given_up: list[InboxItem] = []

    def tell(item: InboxItem) -> None:
        given_up.append(item)
        raise RuntimeError("Telegram is down too")  # logged; the thread keeps working

    recorder = Recorder(poison=lambda u: u["update_id"] == 1)
    put(state, update(1, chat_id=100))
    put(state, update(2, chat_id=100))
    start(running, Dispatcher(state, recorder, threads=2, poll_interval=0.02, on_give_up=tell))
    # the sender is told after the item is marked failed, so update 2 may run first
    assert wait_until(lambda: recorder.ids() == [2] and "could not tell the sender" in caplog.text)
    assert [(i.update_id, i.chat_id, i.attempts) for i in given_up] == [(1, 100, 3)]
    assert "update 1: could not tell the sender it failed" in caplog.text
    put(state, update(3, chat_id=100))
    running[0].wake()
    assert wait_until(lambda: recorder.ids() == [2, 3])


def test_updates_of_one_chat_are_handled_in_order(state: State, running: list[Dispatcher]) -> None:
    recorder = Recorder()
    for n in range(1, 41):
        put(state, update(n, chat_id=100 + n % 3))
    start(running, Dispatcher(state, recorder, threads=4, poll_interval=0.02))
    assert wait_until(lambda: len(recorder.handled) == 40)
    for chat in (100, 101, 102):
        assert recorder.ids(chat) == sorted(recorder.ids(chat))


def test_wake_picks_up_a_new_update_without_waiting_for_the_poll(
    state: State, running: list[Dispatcher]
) -> None:
    recorder = Recorder()
    dispatcher = start(running, Dispatcher(state, recorder, threads=2, poll_interval=30))
    put(state, update(1, chat_id=100))
    dispatcher.wake()
    assert wait_until(lambda: recorder.ids() == [1], timeout=5)


def test_stop_joins_every_thread(state: State) -> None:
    dispatcher = Dispatcher(state, Recorder(), threads=3, poll_interval=30)
    dispatcher.start()
    assert sum(t.name.startswith("dispatcher-") for t in threading.enumerate()) == 3
    assert dispatcher.stop(5) is True
    assert not any(t.name.startswith("dispatcher-") for t in threading.enumerate())


def test_start_reclaims_updates_of_dead_workers(state: State, running: list[Dispatcher]) -> None:
    put(state, update(1, chat_id=100))
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    state.inbox.claim(f"{socket.gethostname()}:{gone.pid}:0", now=time.time())
    recorder = Recorder()
    start(running, Dispatcher(state, recorder, threads=1, poll_interval=0.02))
    assert wait_until(lambda: recorder.ids() == [1])


# -- chat_id_of ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("upd", "expected"),
    [
        (update(1, chat_id=-100123), -100123),
        ({"update_id": 1, "edited_message": {"chat": {"id": 5}}}, 5),
        (
            {"update_id": 1, "callback_query": {"from": {"id": 7}, "message": {"chat": {"id": 9}}}},
            9,
        ),
        ({"update_id": 1, "callback_query": {"from": {"id": 7}}}, 7),
        ({"update_id": 1, "inline_query": {"from": {"id": 8}}}, 8),
        ({"update_id": 1, "my_chat_member": {"chat": {"id": -5}}}, -5),
        ({"update_id": 1, "poll": {"id": "x"}}, None),
        ({"update_id": 1, "message": "not an object"}, None),
        ({"update_id": 1, "message": {"chat": {"id": True}}}, None),
        ({"update_id": 1, "message": {"chat": {"id": "12"}}}, None),
        ({"update_id": 1, "message": {"chat": {"id": 2**70}}}, None),
    ],
)
def test_chat_id_of(upd: dict[str, Any], expected: int | None) -> None:
    assert chat_id_of(upd) == expected


@pytest.mark.parametrize(
    ("upd", "expected"),
    [
        ({"update_id": 1, "message": {"from": {"id": 7}, "chat": {"id": -5}}}, 7),
        ({"update_id": 1, "edited_message": {"from": {"id": 8}}}, 8),
        ({"update_id": 1, "callback_query": {"from": {"id": 9}, "message": {"chat": {}}}}, 9),
        ({"update_id": 1, "channel_post": {"chat": {"id": -5}}}, None),
        ({"update_id": 1, "message": {"from": {"id": "7"}}}, None),
        ({"update_id": 1}, None),
    ],
)
def test_sender_id_of(upd: dict[str, Any], expected: int | None) -> None:
    assert sender_id_of(upd) == expected


# -- long polling --------------------------------------------------------------------------------


def test_poll_updates_feeds_the_inbox(state: State, running: list[Dispatcher]) -> None:
    recorder = Recorder()
    dispatcher = start(running, Dispatcher(state, recorder, threads=2, poll_interval=0.02))
    stop = threading.Event()
    with FakeBotAPI() as fake:
        telegram = Telegram("123:ABC", fake.url)
        fake.push_update(update(10, chat_id=100))
        fake.push_update(update(11, chat_id=200))
        poller = threading.Thread(
            target=poll_updates, args=(telegram, state, dispatcher, stop), kwargs={"timeout": 1}
        )
        poller.start()
        try:
            assert wait_until(lambda: sorted(recorder.ids()) == [10, 11])
            fake.push_update(update(12, chat_id=100))
            assert wait_until(lambda: 12 in recorder.ids())
        finally:
            stop.set()
            poller.join(10)
    assert not poller.is_alive()
    assert sorted(recorder.ids()) == [10, 11, 12]
    offsets = [params.get("offset") for _, params in fake.calls("getUpdates")]
    assert offsets[0] is None and "12" in offsets  # the offset confirms what was stored
