"""What the amoCRM client tests share: one account, a client on a fake clock, canned answers."""

from __future__ import annotations

from typing import Any

import responses
from responses import matchers

from leoweb_bot.amocrm import AmoClient
from leoweb_bot.amocrm import MemoryTokenStore
from leoweb_bot.amocrm import RateLimiter
from leoweb_bot.amocrm import build_client
from leoweb_bot.config import AmoSettings
from tests.kit.fakeclock import FakeClock

BASE = "https://leo.amocrm.ru"
LOGIN_URL = f"{BASE}/private/api/auth.php"
TOKEN = "long-lived-token-5f2a9c"
API_KEY = "user-hash-0c1d2e3f"
NOW = 1_764_000_000
HTML_429 = "<html><head><title>429 Too Many Requests</title></head><body>nginx</body></html>"
HTML_403 = "<html><head><title>403 Forbidden</title></head><body>nginx</body></html>"


def make_client(
    clock: FakeClock, store: MemoryTokenStore | None = None, **settings: Any
) -> AmoClient:
    """A client of ``BASE`` (long-lived token unless ``settings`` say otherwise)."""
    values = {"base_url": BASE, "auth": "token", "token": TOKEN, **settings}
    return build_client(
        AmoSettings(**values),
        store,
        clock=clock.time,
        sleep=clock.sleep,
        monotonic=clock.time,  # the operation's deadline runs on the same test clock
        # Throttle waits advance the clock but are not retry sleeps, so keep them apart.
        limiter=RateLimiter(7, clock=clock.time, sleep=clock.advance),
    )


def add_login(rsps: responses.RequestsMock, session_id: str) -> None:
    """``auth.php`` accepts the login once and hands out ``session_id``."""
    rsps.add(
        responses.POST,
        LOGIN_URL,
        match=[
            matchers.query_param_matcher({"type": "json"}),
            matchers.urlencoded_params_matcher({"USER_LOGIN": "boss@leo.kz", "USER_HASH": API_KEY}),
        ],
        json={"response": {"auth": True, "accounts": [{"name": "Leo"}]}},
        headers={"Set-Cookie": f"session_id={session_id}; path=/; secure; HttpOnly"},
    )


def session_client(clock: FakeClock) -> AmoClient:
    """A legacy v2 client (login + API key)."""
    return make_client(clock, auth="session", login="boss@leo.kz", api_key=API_KEY)


def task_v4(task_id: int, due: int | None, *, done: bool = False, user: int = 7) -> dict:
    return {
        "id": task_id,
        "text": f"Позвонить {task_id}",
        "responsible_user_id": user,
        "complete_till": due,
        "is_completed": done,
        "entity_type": "leads",
        "entity_id": 100 + task_id,
        "task_type_id": 1,
        "result": [],
    }


def tasks_page(tasks: list[dict], next_href: str | None = None) -> dict:
    links = {"self": {"href": "..."}}
    if next_href:
        links["next"] = {"href": next_href}
    return {"_page": 1, "_links": links, "_embedded": {"tasks": tasks}}
