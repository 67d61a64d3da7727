"""The context every handler and job works in: settings, the two clients, the state db, a clock.

One :class:`App` per process, built where the process is wired (``service.server.build_runtime``,
``cli.demo``) and handed to the router and the scheduler alike.
"""

from __future__ import annotations

import datetime
import time
from collections.abc import Callable
from dataclasses import dataclass
from dataclasses import field

from leoweb_bot.amocrm.client import AmoClient
from leoweb_bot.config import Settings
from leoweb_bot.state import State
from leoweb_bot.sync.reader import MirroredClient
from leoweb_bot.sync.reader import MirrorReader
from leoweb_bot.telegram.client import Telegram


@dataclass
class App:
    """What every handler and job needs: settings, amoCRM, Telegram, the state db and a clock."""

    settings: Settings
    client: AmoClient
    telegram: Telegram
    state: State
    clock: Callable[[], float] = time.time
    username: str | None = field(default=None, repr=False)

    @property
    def lang(self) -> str:
        return self.settings.bot.language

    @property
    def tz(self) -> datetime.tzinfo:
        return self.settings.bot.tz

    @property
    def base_url(self) -> str:
        return self.client.base_url

    def now(self) -> int:
        return int(self.clock())

    def mirror(self) -> MirrorReader | None:
        """The mirror, to count and page in SQL, once the screens read it; None while they read
        amoCRM live (the bootstrap, the demo)."""
        client = self.client
        return (
            client.reader if isinstance(client, MirroredClient) and client.reader.ready() else None
        )

    def bot_username(self) -> str:
        """This bot's @username, asked from Telegram once (group commands are matched against it)."""
        if self.username is None:
            self.username = str(self.telegram.get_me().username or "")
        return self.username
