"""OAuth over a faked network: the code exchange, single-use refresh tokens rotated and saved
before use, one grant at a time across threads and processes; no secret ever shown."""

from __future__ import annotations

import threading
from typing import Any

import pytest
import requests
import responses
from responses import matchers

from leoweb_bot.amocrm import AmoClient
from leoweb_bot.amocrm import AuthError
from leoweb_bot.amocrm import MemoryTokenStore
from leoweb_bot.amocrm import Unavailable
from leoweb_bot.amocrm.auth import OAuth
from leoweb_bot.amocrm.auth import SessionAuth
from leoweb_bot.amocrm.auth import TokenAuth
from tests.amocrm.fakes import API_KEY
from tests.amocrm.fakes import BASE
from tests.amocrm.fakes import NOW
from tests.amocrm.fakes import TOKEN
from tests.amocrm.fakes import make_client
from tests.kit.fakeclock import FakeClock

TOKEN_URL = f"{BASE}/oauth2/access_token"
ACCOUNT_URL = f"{BASE}/api/v4/account"
CLIENT_SECRET = "client-secret-77aa"
AUTH_CODE = "def50200-auth-code"
OAUTH = {
    "client_id": "integration-uuid",
    "client_secret": CLIENT_SECRET,
    "redirect_uri": "https://bot.leo.kz/oauth",
}


class RecordingStore(MemoryTokenStore):
    """A TokenStore that remembers every save and can be told to fail."""

    def __init__(self, tokens: dict[str, Any] | None = None) -> None:
        super().__init__(tokens)
        self.saved: list[dict[str, Any]] = []
        self.fail_next_save = False

    def save_tokens(self, tokens: dict[str, Any]) -> None:
        if self.fail_next_save:
            self.fail_next_save = False
            raise OSError("disk full")
        self.saved.append(dict(tokens))
        super().save_tokens(tokens)


def stored_pair(n: int, expires_at: float) -> dict[str, Any]:
    return {
        "access_token": f"access-{n}",
        "refresh_token": f"refresh-{n}",
        "expires_at": int(expires_at),
        "refreshed_at": NOW - 3600,
    }


def grant_reply(n: int) -> dict[str, Any]:
    return {
        "token_type": "Bearer",
        "expires_in": 86400,
        "access_token": f"access-{n}",
        "refresh_token": f"refresh-{n}",
    }


def refresh_body(refresh_token: str) -> dict[str, str]:
    return {**OAUTH, "grant_type": "refresh_token", "refresh_token": refresh_token}


def add_refresh(rsps: responses.RequestsMock, spent: int, new: int) -> None:
    """The token endpoint trades refresh token ``spent`` for pair ``new``."""
    rsps.add(
        responses.POST,
        TOKEN_URL,
        match=[matchers.json_params_matcher(refresh_body(f"refresh-{spent}"))],
        json=grant_reply(new),
    )


def bearer(n: int) -> list:
    return [matchers.header_matcher({"Authorization": f"Bearer access-{n}"})]


def oauth_client(clock: FakeClock, store: RecordingStore, *, code: str = AUTH_CODE) -> AmoClient:
    return make_client(clock, store, auth="oauth", auth_code=code, **OAUTH)


def test_code_exchange_persists_the_pair_before_using_it(rsps, clock):
    store = RecordingStore()
    expected = {**OAUTH, "grant_type": "authorization_code", "code": AUTH_CODE}
    rsps.add(
        responses.POST,
        TOKEN_URL,
        match=[matchers.json_params_matcher(expected)],
        json=grant_reply(1),
    )

    def account(request):
        assert store.saved, "the pair must be saved before its first use"
        return 200, {}, '{"id": 1}'

    rsps.add_callback(responses.GET, ACCOUNT_URL, callback=account, match=bearer(1))

    oauth_client(clock, store).account()

    assert store.saved == [
        {
            "access_token": "access-1",
            "refresh_token": "refresh-1",
            "expires_at": NOW + 86400,
            "refreshed_at": NOW,
        }
    ]


def test_refresh_rotates_and_a_second_refresh_spends_the_new_token(rsps, clock):
    store = RecordingStore(stored_pair(1, NOW + 86000))
    add_refresh(rsps, 1, 2)
    add_refresh(rsps, 2, 3)
    client = oauth_client(clock, store)

    client.refresh_tokens()
    assert store.tokens["refresh_token"] == "refresh-2"
    clock.advance(10)
    client.refresh_tokens()

    assert [s["refresh_token"] for s in store.saved] == ["refresh-2", "refresh-3"]
    assert client.token_info() == {"expires_at": NOW + 10 + 86400, "refreshed_at": NOW + 10}


def test_401_refreshes_once_and_repeats_the_call(rsps, clock):
    store = RecordingStore(stored_pair(1, NOW + 86000))
    rsps.add(
        responses.GET,
        ACCOUNT_URL,
        match=bearer(1),
        status=401,
        json={"title": "Unauthorized", "status": 401},
    )
    add_refresh(rsps, 1, 2)
    rsps.add(responses.GET, ACCOUNT_URL, match=bearer(2), json={"id": 1})

    assert oauth_client(clock, store).account().id == 1
    assert store.tokens["access_token"] == "access-2"


def test_access_token_within_five_minutes_of_expiry_is_refreshed_first(rsps, clock):
    store = RecordingStore(stored_pair(1, NOW + 299))
    add_refresh(rsps, 1, 2)
    rsps.add(responses.GET, ACCOUNT_URL, match=bearer(2), json={"id": 1})

    oauth_client(clock, store).account()

    assert [c.request.method for c in rsps.calls] == ["POST", "GET"]


def test_fresh_access_token_is_used_without_refreshing(rsps, clock):
    store = RecordingStore(stored_pair(1, NOW + 301))
    rsps.add(responses.GET, ACCOUNT_URL, match=bearer(1), json={"id": 1})

    oauth_client(clock, store).account()

    assert store.saved == []


def test_revoked_refresh_token_raises_auth_error_asking_for_a_new_code(rsps, clock):
    store = RecordingStore(stored_pair(1, NOW + 10))
    rsps.add(
        responses.POST,
        TOKEN_URL,
        status=401,
        json={"title": "Unauthorized", "status": 401, "hint": "Token has been revoked"},
    )

    with pytest.raises(AuthError) as exc:
        oauth_client(clock, store, code="").account()

    text = f"{exc.value} {exc.value.detail}"
    assert "auth_code" in text
    assert "Token has been revoked" in text
    for secret in (CLIENT_SECRET, "refresh-1", "access-1"):
        assert secret not in text


def test_revoked_refresh_token_falls_back_to_a_newly_configured_code(rsps, clock):
    store = RecordingStore(stored_pair(1, NOW + 10))
    rsps.add(
        responses.POST,
        TOKEN_URL,
        match=[matchers.json_params_matcher(refresh_body("refresh-1"))],
        status=401,
        json={"hint": "Token has been revoked"},
    )
    code = {**OAUTH, "grant_type": "authorization_code", "code": AUTH_CODE}
    rsps.add(
        responses.POST, TOKEN_URL, match=[matchers.json_params_matcher(code)], json=grant_reply(9)
    )
    rsps.add(responses.GET, ACCOUNT_URL, match=bearer(9), json={"id": 1})

    oauth_client(clock, store).account()

    assert store.tokens["refresh_token"] == "refresh-9"


def test_refresh_is_not_repeated_after_a_read_timeout(rsps, clock):
    store = RecordingStore(stored_pair(1, NOW + 10))
    rsps.add(responses.POST, TOKEN_URL, body=requests.ReadTimeout("slow"))

    with pytest.raises(Unavailable):
        oauth_client(clock, store, code="").account()

    assert len(rsps.calls) == 1  # the single-use refresh token may already be spent


def test_refresh_is_not_repeated_after_a_gateway_error_but_is_after_a_429(rsps, clock):
    store = RecordingStore(stored_pair(1, NOW + 10))
    rsps.add(
        responses.POST, TOKEN_URL, status=429, body="<html>429</html>", content_type="text/html"
    )
    rsps.add(responses.POST, TOKEN_URL, status=502)
    client = oauth_client(clock, store, code="")

    with pytest.raises(Unavailable):
        client.account()

    # The 429 was refused before any work, so it was safe to repeat; the 502 may not have been.
    assert [c.response.status_code for c in rsps.calls] == [429, 502]
    assert store.saved == []


def test_a_pair_that_could_not_be_saved_is_saved_before_first_use(rsps, clock):
    store = RecordingStore(stored_pair(1, NOW + 10))
    store.fail_next_save = True
    rsps.add(responses.POST, TOKEN_URL, json=grant_reply(2))
    rsps.add(responses.GET, ACCOUNT_URL, match=bearer(2), json={"id": 1})
    client = oauth_client(clock, store, code="")

    with pytest.raises(OSError):
        client.account()
    assert [c.request.method for c in rsps.calls] == ["POST"]

    client.account()  # saves the pending pair, then uses it; no second refresh
    assert [c.request.method for c in rsps.calls] == ["POST", "GET"]
    assert store.tokens["refresh_token"] == "refresh-2"


def test_a_pair_rotated_by_another_process_is_picked_up_from_the_store(rsps, clock):
    store = RecordingStore(stored_pair(1, NOW + 86000))
    rsps.add(responses.GET, ACCOUNT_URL, match=bearer(1), json={"id": 1})
    client = oauth_client(clock, store)
    client.account()

    store.tokens = stored_pair(2, NOW + 86000)  # another worker refreshed meanwhile
    rsps.add(responses.GET, ACCOUNT_URL, match=bearer(1), status=401)
    rsps.add(responses.GET, ACCOUNT_URL, match=bearer(2), json={"id": 2})

    assert client.account().id == 2
    assert all(c.request.url != TOKEN_URL for c in rsps.calls)


def test_threads_never_spend_the_same_refresh_token_twice(rsps, clock):
    store = RecordingStore(stored_pair(1, NOW + 10))
    add_refresh(rsps, 1, 2)
    rsps.add(responses.GET, ACCOUNT_URL, match=bearer(2), json={"id": 1})
    client = make_client(clock, store, auth="oauth", auth_code="", **OAUTH)
    errors: list[BaseException] = []

    def call() -> None:
        try:
            client.account()
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=call) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(5)

    assert errors == []
    assert sum(c.request.method == "POST" for c in rsps.calls) == 1


def test_oauth_without_tokens_or_code_explains_what_to_do(rsps, clock):
    with pytest.raises(AuthError, match="auth_code"):
        oauth_client(clock, RecordingStore(), code="").account()
    assert len(rsps.calls) == 0


def test_a_spent_authorization_code_raises_auth_error(rsps, clock):
    rsps.add(
        responses.POST,
        TOKEN_URL,
        status=400,
        json={"hint": "Authorization code has been revoked", "status": 400},
    )

    with pytest.raises(AuthError, match="single-use") as exc:
        oauth_client(clock, RecordingStore()).account()

    assert AUTH_CODE not in f"{exc.value} {exc.value.detail}"
    assert "revoked" in exc.value.detail


def test_token_info_is_none_before_any_tokens_and_for_other_modes(clock):
    assert oauth_client(clock, RecordingStore()).token_info() is None
    assert make_client(clock, auth="token", token="t0k3n").token_info() is None


def test_auth_objects_and_the_client_never_show_secrets(rsps, clock):
    store = RecordingStore(stored_pair(1, NOW + 86000))
    oauth = OAuth(BASE, auth_code=AUTH_CODE, store=store, clock=clock.time, **OAUTH)
    oauth.token_info()  # loads the pair
    objects = [
        TokenAuth(TOKEN),
        SessionAuth(BASE, "boss@leo.kz", API_KEY),
        oauth,
        oauth_client(clock, store),
    ]
    text = " ".join(repr(o) for o in objects)

    for secret in (
        TOKEN,
        API_KEY,
        CLIENT_SECRET,
        AUTH_CODE,
        "access-1",
        "refresh-1",
    ):
        assert secret not in text
    assert "***" in text
