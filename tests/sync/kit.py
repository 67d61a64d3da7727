"""A rig for the sync's tests: an in-process sandbox, a real state db, one clock for both.

``step_until_idle`` runs the sync's steps the way its thread would, without the thread; the
ground truth is what amoCRM (the sandbox) answers live at the same moment.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from leoweb_bot.amocrm import build_client
from leoweb_bot.amocrm.client import AmoClient
from leoweb_bot.amocrm.models import Task
from leoweb_bot.config import AmoSettings
from leoweb_bot.config import Settings
from leoweb_bot.config import settings_from_mapping
from leoweb_bot.reports import overdue_by_manager
from leoweb_bot.sandbox import Sandbox
from leoweb_bot.state import State
from leoweb_bot.sync.engine import Sync
from leoweb_bot.sync.reader import MirroredClient
from leoweb_bot.sync.wiring import Syncing
from leoweb_bot.sync.wiring import build_sync
from tests.kit.proactive import Clock
from tests.kit.proactive import at

START = at("Asia/Almaty", 2026, 11, 25, 14, 5)
MAX_STEPS = 2000


@dataclass
class Rig:
    sandbox: Sandbox
    clock: Clock
    path: Path
    settings: Settings
    live: AmoClient
    syncing: Syncing
    states: list[State]

    @property
    def sync(self) -> Sync:
        return self.syncing.runner.sync

    @property
    def client(self) -> MirroredClient:
        return self.syncing.client

    def restart(self) -> Rig:
        """Another process on the same state db (as after a SIGKILL): nothing in memory kept."""
        state = State(self.path)
        self.states.append(state)
        syncing = build_sync(self.settings, state, self.live, self._client(), clock=self.clock)
        return dataclasses.replace(self, syncing=syncing)

    def _client(self) -> AmoClient:
        return build_client(self.settings.amocrm, clock=self.clock, sleep=lambda _: None)

    def step_until_idle(self) -> int:
        """Run steps until the sync has nothing due; returns the amoCRM requests they made."""
        before = self.sandbox.request_count
        for _ in range(MAX_STEPS):
            if self.sync.step() > 0:
                return self.sandbox.request_count - before
        raise AssertionError("the sync never went idle")

    def bootstrap(self) -> int:
        """Steps until the bootstrap is complete, and not one more (the first cycle is next);
        returns the amoCRM requests they made."""
        before = self.sandbox.request_count
        for _ in range(MAX_STEPS):
            if self.sync.bootstrapped():
                return self.sandbox.request_count - before
            self.sync.step()
        raise AssertionError("the bootstrap never ended")

    def next_cycle(self) -> int:
        """Let one interval pass and sync; returns the requests it took."""
        self.clock.now += self.settings.sync.interval_seconds
        return self.step_until_idle()

    def truth(self) -> dict[str, Any]:
        """The overdue report as amoCRM answers it live now."""
        now = int(self.clock())
        return overdue_by_manager(
            self.live.open_tasks_due_before(now), self.live.users(), now, self.settings.bot.tz
        ).to_json()

    def mirrored(self) -> dict[str, Any]:
        """The same report as the screens now read it."""
        now = int(self.clock())
        client = self.client
        return overdue_by_manager(
            client.open_tasks_due_before(now), client.users(), now, self.settings.bot.tz
        ).to_json()

    def open_tasks(self, client: AmoClient | MirroredClient) -> dict[int, Task]:
        users = client.users()
        return {t.id: t for u in users for t in client.open_tasks(u)} | {
            t.id: t for t in client.open_tasks_due_before(2**40)
        }

    def open_ids(self) -> list[int]:
        return sorted(t["id"] for t in self.sandbox.data.tasks if not t["is_completed"])


def amo(sandbox: Sandbox, auth: str) -> dict[str, Any]:
    creds = sandbox.credentials
    if auth == "session":
        return {"auth": "session", "login": creds.login, "api_key": creds.api_key}
    return {"auth": "token", "token": creds.token}


@contextmanager
def rig(
    tmp_path: Path, *, tasks: int = 600, managers: int = 4, auth: str = "token", **sync: Any
) -> Iterator[Rig]:
    clock = Clock(START)
    sandbox = Sandbox(tasks=tasks, managers=managers, rate_limit=0, now=START, clock=clock)
    with sandbox:
        settings = settings_from_mapping({
            "amocrm": {"base_url": sandbox.base_url, "rate_limit": 1000, **amo(sandbox, auth)},
            "bot": {"timezone": "Asia/Almaty"},
            "sync": sync,
        })  # fmt: skip
        path = tmp_path / "state.sqlite3"
        state = State(path)
        live = build_client(settings.amocrm, clock=clock, sleep=lambda _: None)
        background = build_client(settings.amocrm, clock=clock, sleep=lambda _: None)
        syncing = build_sync(settings, state, live, background, clock=clock)
        r = Rig(sandbox, clock, path, settings, live, syncing, [state])
        try:
            yield r
        finally:
            live.close()
            for s in r.states:
                s.close()


def open_task_ids(sandbox: Sandbox, count: int, *, overdue: bool | None = None) -> list[int]:
    """The first ``count`` open tasks (optionally only overdue / not yet due ones), by id."""
    now = sandbox.clock()
    found = [
        t["id"] for t in sorted(sandbox.data.tasks, key=lambda t: t["id"])
        if not t["is_completed"] and (overdue is None or (t["complete_till"] < now) == overdue)
    ]  # fmt: skip
    return found[:count]


__all__ = ["START", "AmoSettings", "Rig", "open_task_ids", "rig"]
