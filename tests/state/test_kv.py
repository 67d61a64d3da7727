"""Named values and leases in ``kv``, and the amoCRM OAuth pair and its lock kept there."""

from __future__ import annotations

import threading
import time
from pathlib import Path

from leoweb_bot.state import State
from leoweb_bot.state.kv import delete_value
from leoweb_bot.state.kv import drop_lease
from leoweb_bot.state.kv import get_value
from leoweb_bot.state.kv import set_value
from leoweb_bot.state.kv import stamp_unless_since
from leoweb_bot.state.kv import take_lease
from leoweb_bot.state.tokens import TOKEN_LOCK_KEY
from leoweb_bot.state.tokens import TOKEN_LOCK_SECONDS
from leoweb_bot.state.tokens import Tokens
from tests.kit.fakeclock import FakeClock


def test_values_are_set_replaced_and_deleted(state: State, db_path: Path) -> None:
    assert get_value(state, "k") is None
    set_value(state, "k", "1")
    set_value(state, "k", "2")
    assert get_value(State(db_path), "k") == "2"  # another process sees it
    delete_value(state, "k")
    delete_value(state, "k")  # gone already: nothing to do
    assert get_value(state, "k") is None


def test_a_stamp_is_taken_once_per_moment_by_whoever_comes_first(state: State) -> None:
    assert stamp_unless_since(state, "told", since=100, now=130)  # first to see the event
    assert not stamp_unless_since(state, "told", since=100, now=145)  # the same event, later
    assert get_value(state, "told") == "130"
    assert stamp_unless_since(state, "told", since=200, now=210)  # a later event
    assert get_value(state, "told") == "210"


def test_a_lease_is_held_until_given_back_or_expired(state: State) -> None:
    assert take_lease(state, "lock", "a", now=0, seconds=30)
    assert not take_lease(state, "lock", "b", now=29, seconds=30)
    drop_lease(state, "lock", "b")  # not b's to give back
    assert not take_lease(state, "lock", "b", now=29, seconds=30)
    assert take_lease(state, "lock", "b", now=31, seconds=30)  # a's ran out
    drop_lease(state, "lock", "b")
    assert take_lease(state, "lock", "a", now=32, seconds=30)


def test_tokens_round_trip(state: State, db_path: Path) -> None:
    tokens = Tokens(state)
    assert tokens.load_tokens() is None
    tokens.save_tokens({"access_token": "a1", "refresh_token": "r1", "expires_at": 100})
    tokens.save_tokens({"access_token": "a2", "refresh_token": "r2", "expires_at": 200})
    assert Tokens(State(db_path)).load_tokens() == {
        "access_token": "a2",
        "refresh_token": "r2",
        "expires_at": 200,
    }


def test_the_token_lock_keeps_a_second_holder_waiting_until_the_first_lets_go(
    db_path: Path,
) -> None:
    taken: list[str] = []

    def second() -> None:
        with Tokens(State(db_path)).token_lock():  # another process
            taken.append("second")

    with Tokens(State(db_path)).token_lock():
        waiting = threading.Thread(target=second)
        waiting.start()
        waiting.join(0.3)
        assert waiting.is_alive() and taken == []
    waiting.join(5)
    assert taken == ["second"]
    assert get_value(State(db_path), TOKEN_LOCK_KEY) is None


def test_a_token_lock_left_by_a_dead_process_expires(db_path: Path) -> None:
    clock = FakeClock(1000)
    dead = Tokens(State(db_path, clock=clock.time)).token_lock()
    dead.__enter__()  # taken, then the process was killed: never let go
    clock.advance(TOKEN_LOCK_SECONDS + 1)
    started = time.monotonic()
    with Tokens(State(db_path, clock=clock.time)).token_lock():
        assert time.monotonic() - started < 1
    assert dead  # held to the end: a collected generator would let go in its `finally`
