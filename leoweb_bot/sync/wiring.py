"""One process's share of the sync: its runner (not started) and the client the bot reads
through; the amoCRM client the sync itself uses is its own, so its requests queue behind the
screens' (leoweb_bot/pacing.py)."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from leoweb_bot.amocrm.client import AmoClient
from leoweb_bot.config import Settings
from leoweb_bot.state import State
from leoweb_bot.state.mirror import Mirror
from leoweb_bot.state.progress import Progress
from leoweb_bot.sync.engine import Sync
from leoweb_bot.sync.reader import MirroredClient
from leoweb_bot.sync.reader import MirrorReader
from leoweb_bot.sync.runner import SyncRunner


@dataclass
class Syncing:
    runner: SyncRunner
    client: MirroredClient  # what the bot is given as its amoCRM
    background: AmoClient  # the sync's own

    def start(self) -> None:
        self.runner.start()

    def close(self, timeout: float = 10.0) -> None:
        self.runner.stop(timeout)
        self.background.close()


def build_sync(
    settings: Settings,
    state: State,
    live: AmoClient,
    background: AmoClient,
    *,
    clock: Callable[[], float] = time.time,
) -> Syncing:
    """Wire the sync over ``state``: ``live`` answers the bot, ``background`` the sync."""
    mirror, progress = Mirror(state), Progress(state)
    sync = Sync(background, mirror, progress, settings, clock)
    runner = SyncRunner(sync, progress, clock=clock)
    reader = MirrorReader(mirror, progress, settings.sync, clock)
    return Syncing(runner, MirroredClient(live, reader, wake=runner.wake), background)
