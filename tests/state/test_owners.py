"""Claims of processes of this host that died are taken back; anything unsure waits its lease."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from leoweb_bot.state import State
from leoweb_bot.state.inbox import Inbox
from leoweb_bot.state.inbox import InboxStatus
from leoweb_bot.state.owners import owner_id

HOST = "testhost"


@pytest.fixture
def inbox(tmp_path: Path) -> Inbox:
    return State(tmp_path / "state.sqlite3").inbox


def store(inbox: Inbox, update_id: int, chat_id: int) -> None:
    assert inbox.store(update_id, chat_id, f'{{"update_id": {update_id}}}', 0.0)


def test_dead_owner_on_this_host_is_reclaimed(inbox: Inbox) -> None:
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    store(inbox, 1, 100)
    store(inbox, 2, 200)
    store(inbox, 3, 300)
    inbox.claim(f"{HOST}:{dead.pid}:0", now=0)
    inbox.claim(f"{HOST}:{os.getpid()}:0", now=0)  # alive
    inbox.claim(f"otherhost:{dead.pid}:0", now=0)  # not ours to judge

    assert inbox.reclaim_dead_owners(HOST) == 1
    assert [inbox.status(i) for i in (1, 2, 3)] == ["pending", "working", "working"]
    again = inbox.claim(f"{HOST}:{os.getpid()}:1", now=1)
    assert again is not None and again.update_id == 1


def test_claims_of_a_zombie_worker_are_taken_back(inbox: Inbox) -> None:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    try:
        # Wait for the exit without reaping: the child stays a zombie, and kill(pid, 0) works.
        os.waitid(os.P_PID, child.pid, os.WEXITED | os.WNOWAIT)
        os.kill(child.pid, 0)
        store(inbox, 1, 10)
        assert inbox.claim(f"{HOST}:{child.pid}:0", now=0.0) is not None
        assert inbox.reclaim_dead_owners(HOST) == 1
        assert inbox.status(1) == InboxStatus.PENDING
    finally:
        child.wait()


def test_a_reused_pid_is_not_mistaken_for_the_dead_owner(inbox: Inbox) -> None:
    # A restarted container keeps its hostname and may give a new worker the old pid: the
    # owner tag carries the process start time, so only the very same process counts as alive.
    me = owner_id(HOST, os.getpid())
    assert "@" in me
    pid, _, start = me.split(":")[1].partition("@")
    store(inbox, 1, 10)
    store(inbox, 2, 20)
    inbox.claim(f"{HOST}:{pid}@{int(start) + 1}", now=0.0)  # same pid, other process
    inbox.claim(me, now=0.0)
    assert inbox.reclaim_dead_owners(HOST) == 1
    assert [inbox.status(i) for i in (1, 2)] == ["pending", "working"]


def test_an_owner_whose_pid_is_not_ascii_digits_is_left_to_its_lease(inbox: Inbox) -> None:
    store(inbox, 1, 100)
    inbox.claim(f"{HOST}:²:0", now=0)  # "²".isdigit() is true, int("²") fails
    assert inbox.reclaim_dead_owners(HOST) == 0
    assert inbox.status(1) == InboxStatus.WORKING
