"""A rig for the scheduler's tests: sandbox amoCRM, fake Bot API, a real state db, a test clock.

Every ``scheduler()`` call opens its own ``State`` on the same file, as a second gunicorn worker
or a restarted process would; ``tick(now)`` runs one round synchronously, so nothing sleeps.
"""

from __future__ import annotations

import dataclasses
import datetime
from collections.abc import Iterator
from collections.abc import Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from dataclasses import field
from pathlib import Path
from typing import Any

import pytz

from leoweb_bot.amocrm import build_client
from leoweb_bot.amocrm.client import AmoClient
from leoweb_bot.bot.context import App
from leoweb_bot.config import AmoSettings
from leoweb_bot.config import Settings
from leoweb_bot.config import settings_from_mapping
from leoweb_bot.proactive.scheduler import Job
from leoweb_bot.proactive.scheduler import Scheduler
from leoweb_bot.proactive.scheduler import standard_jobs
from leoweb_bot.sandbox import Sandbox
from leoweb_bot.state import State
from leoweb_bot.state.tokens import Tokens
from leoweb_bot.telegram.client import Telegram
from tests.kit.botchat import FakeTime
from tests.kit.fakebot import FakeBotAPI
from tests.kit.fakebot import SentMessage

TOKEN = "123456:TEST-token_for_scheduler"
ADMIN, DIRECTOR, MANAGER, OTHER_MANAGER = 101, 201, 301, 302
ZELIMKHAN, MILANA, SARBINAZ = 1387123, 1387124, 1387125  # the sandbox's first managers
GROUP = -100500


class Clock:
    """The one clock of a test: amoCRM client, sandbox and scheduler all read it."""

    def __init__(self, now: float) -> None:
        self.now = float(now)

    def __call__(self) -> float:
        return self.now


def at(tz_name: str, *args: int) -> int:
    """Epoch seconds of a wall-clock time in ``tz_name`` (``is_dst=None``: never ambiguous)."""
    tz = pytz.timezone(tz_name)
    return int(tz.localize(datetime.datetime(*args), is_dst=None).timestamp())


def utc(*args: int) -> int:
    return int(datetime.datetime(*args, tzinfo=datetime.UTC).timestamp())


@dataclass
class Rig:
    sandbox: Sandbox
    fake: FakeBotAPI
    path: Path
    settings: Settings
    clock: Clock
    client: AmoClient
    telegram: Telegram
    states: list[State] = field(default_factory=list)

    def app(self) -> App:
        """A process's view: a fresh State on the shared file (its own connections)."""
        state = State(self.path)
        self.states.append(state)
        return App(
            settings=self.settings,
            client=self.client,
            telegram=self.telegram,
            state=state,
            clock=self.clock,
        )

    def scheduler(self, owner: str = "a", jobs: Sequence[Job] | None = None) -> Scheduler:
        app = self.app()
        chosen = standard_jobs(app) if jobs is None else jobs
        return Scheduler(app, chosen, clock=self.clock, owner=owner)

    def sent(self, chat_id: int | None = None) -> list[SentMessage]:
        """Messages the bot sent (not edits), optionally to one chat."""
        return [m for m in self.fake.sent(chat_id) if m.method == "sendMessage"]


def make_settings(tz: str, **sections: dict[str, Any]) -> Settings:
    raw: dict[str, Any] = {
        "telegram": {"token": TOKEN},
        "bot": {"timezone": tz, "language": "ru"},
        "access": {
            "admins": [ADMIN],
            "directors": [DIRECTOR],
            "managers": {str(MANAGER): ZELIMKHAN, str(OTHER_MANAGER): MILANA},
        },
        "digest": {"time": "09:00", "weekdays_only": True},
        "alerts": {"enabled": True, "interval_minutes": 10, "quiet_hours": ""},
    }
    for name, values in sections.items():
        raw[name] = {**raw.get(name, {}), **values}
    return settings_from_mapping(raw)


@contextmanager
def rig(
    tmp_path: Path,
    start: int,
    *,
    tz: str = "Asia/Almaty",
    tasks: int = 60,
    managers: int = 3,
    **sections: dict[str, Any],
) -> Iterator[Rig]:
    """Sandbox data generated around ``start``; the clock starts there too."""
    clock = Clock(start)
    sandbox = Sandbox(tasks=tasks, managers=managers, rate_limit=0, now=start, clock=clock)
    with sandbox, FakeBotAPI() as fake:
        settings = make_settings(tz, **sections)
        amo = amo_settings(settings, sandbox)
        state = State(tmp_path / "state.sqlite3")
        client = build_client(amo, token_store=Tokens(state), clock=clock, sleep=lambda _: None)
        throttle = FakeTime()
        telegram = Telegram(TOKEN, fake.url, clock=throttle.clock, sleep=throttle.sleep)
        settings = dataclasses.replace(settings, amocrm=amo)
        r = Rig(sandbox, fake, tmp_path / "state.sqlite3", settings, clock, client, telegram)
        r.states.append(state)
        try:
            yield r
        finally:
            client.close()
            for s in r.states:
                s.close()


def amo_settings(settings: Settings, sandbox: Sandbox) -> AmoSettings:
    creds = sandbox.credentials
    base = dict(base_url=sandbox.base_url or "", rate_limit=1000, webhook_secret="amo-secret")
    if settings.amocrm.auth == "oauth":
        return AmoSettings(
            auth="oauth",
            client_id=creds.client_id,
            client_secret=creds.client_secret,
            redirect_uri=creds.redirect_uri,
            auth_code=creds.auth_code,
            **base,
        )
    return AmoSettings(auth="token", token=creds.token, **base)
