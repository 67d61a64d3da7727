"""Auth modes over a faked network: v2 session login and renewal, OAuth code flow and rotation."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import pytest
import requests
import responses
from responses import matchers

from leoweb_bot.amocrm import AmoClient
from leoweb_bot.amocrm import AmoError
from leoweb_bot.amocrm import AuthError
from leoweb_bot.amocrm import MemoryTokenStore
from leoweb_bot.amocrm import RateLimiter
from leoweb_bot.amocrm import Unavailable
from leoweb_bot.amocrm import build_client
from leoweb_bot.amocrm.auth import OAuth
from leoweb_bot.amocrm.auth import SessionAuth
from leoweb_bot.amocrm.auth import TokenAuth
from leoweb_bot.config import AmoSettings
from leoweb_bot.sandbox import Sandbox
from leoweb_bot.state import State
from leoweb_bot.state.tokens import Tokens
from tests.kit.fakeclock import FakeClock

BASE = "https://leo.amocrm.ru"
LOGIN_URL = f"{BASE}/private/api/auth.php"
TOKEN_URL = f"{BASE}/oauth2/access_token"
ACCOUNT_URL = f"{BASE}/api/v4/account"
V2_ACCOUNT_URL = f"{BASE}/api/v2/account"
API_KEY = "user-hash-0c1d2e3f"
CLIENT_SECRET = "client-secret-77aa"
AUTH_CODE = "def50200-auth-code"
NOW = 1_764_000_000
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


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(NOW)


def make_client(
    clock: FakeClock, store: RecordingStore | None = None, **settings: Any
) -> AmoClient:
    return build_client(
        AmoSettings(base_url=BASE, **settings),
        store,
        clock=clock.time,
        sleep=clock.sleep,
        monotonic=clock.time,  # the operation's deadline runs on the same test clock
        limiter=RateLimiter(7, clock=clock.time, sleep=clock.advance),
    )


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


def bearer(n: int) -> list:
    return [matchers.header_matcher({"Authorization": f"Bearer access-{n}"})]


# -- session (API v2) ------------------------------------------------------------------------


def add_login(rsps: responses.RequestsMock, session_id: str) -> None:
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
    return make_client(clock, auth="session", login="boss@leo.kz", api_key=API_KEY)


def cookie(session_id: str) -> list:
    return [matchers.header_matcher({"Cookie": f"session_id={session_id}"})]


def test_session_logs_in_once_and_sends_the_cookie(rsps, clock):
    add_login(rsps, "s1")
    rsps.add(responses.GET, V2_ACCOUNT_URL, match=cookie("s1"), json={"id": 1, "name": "Leo"})
    client = session_client(clock)

    client.account()
    client.account()

    assert [c.request.method for c in rsps.calls] == ["POST", "GET", "GET"]


def test_session_401_logs_in_again_exactly_once_then_succeeds(rsps, clock):
    add_login(rsps, "s1")
    rsps.add(responses.GET, V2_ACCOUNT_URL, match=cookie("s1"), json={"id": 1})
    client = session_client(clock)
    client.account()
    # amoCRM dropped the session early: the next call gets 401, logs in again and repeats once.
    rsps.replace(responses.GET, V2_ACCOUNT_URL, match=cookie("s1"), status=401)
    add_login(rsps, "s2")
    rsps.add(responses.GET, V2_ACCOUNT_URL, match=cookie("s2"), json={"id": 2})

    assert client.account().id == 2
    assert [c.request.method for c in rsps.calls[2:]] == ["GET", "POST", "GET"]


def test_session_second_401_raises_auth_error_after_one_login(rsps, clock):
    add_login(rsps, "s1")
    rsps.add(responses.GET, V2_ACCOUNT_URL, json={"id": 1})
    client = session_client(clock)
    client.account()
    rsps.replace(responses.GET, V2_ACCOUNT_URL, status=401)
    add_login(rsps, "s2")

    with pytest.raises(AuthError, match="api_key"):
        client.account()

    assert [c.request.method for c in rsps.calls[2:]] == ["GET", "POST", "GET"]


def test_401_right_after_a_fresh_login_is_not_worth_another_login(rsps, clock):
    add_login(rsps, "s1")
    rsps.add(responses.GET, V2_ACCOUNT_URL, status=401)

    with pytest.raises(AuthError):
        session_client(clock).account()

    assert [c.request.method for c in rsps.calls] == ["POST", "GET"]


def test_session_older_than_fourteen_minutes_logs_in_before_the_call(rsps, clock):
    add_login(rsps, "s1")
    rsps.add(responses.GET, V2_ACCOUNT_URL, match=cookie("s1"), json={"id": 1})
    client = session_client(clock)
    client.account()
    clock.advance(13 * 60)
    client.account()
    assert len(rsps.calls) == 3

    clock.advance(60)
    add_login(rsps, "s2")
    rsps.add(responses.GET, V2_ACCOUNT_URL, match=cookie("s2"), json={"id": 2})

    assert client.account().id == 2
    assert [c.request.method for c in rsps.calls[3:]] == ["POST", "GET"]


def test_wrong_login_raises_auth_error_without_the_api_key(rsps, clock):
    rsps.add(
        responses.POST,
        LOGIN_URL,
        status=401,
        json={
            "response": {
                "error": "Неверный логин или пароль",
                "error_code": "110",
                "ip": "10.0.0.1",
                "domain": "leo.amocrm.ru",
            }
        },
    )

    with pytest.raises(AuthError) as exc:
        session_client(clock).account()

    assert "wrong login or API key" in str(exc.value)
    assert API_KEY not in str(exc.value)
    assert API_KEY not in exc.value.detail
    assert len(rsps.calls) == 1


@pytest.mark.parametrize(
    ("code", "status", "words"),
    [("111", 401, "captcha"), ("112", 401, "disabled"), ("113", 403, "whitelist")],
)
def test_login_error_codes_explain_themselves(rsps, clock, code, status, words):
    rsps.add(
        responses.POST,
        LOGIN_URL,
        status=status,
        json={"response": {"error": "...", "error_code": code}},
    )

    with pytest.raises(AuthError, match=words):
        session_client(clock).account()


def test_login_without_a_session_cookie_is_an_auth_error(rsps, clock):
    rsps.add(responses.POST, LOGIN_URL, json={"response": {"auth": True}})

    with pytest.raises(AuthError, match="session_id"):
        session_client(clock).account()


# -- OAuth -----------------------------------------------------------------------------------


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
    rsps.add(
        responses.POST,
        TOKEN_URL,
        match=[matchers.json_params_matcher(refresh_body("refresh-1"))],
        json=grant_reply(2),
    )
    rsps.add(
        responses.POST,
        TOKEN_URL,
        match=[matchers.json_params_matcher(refresh_body("refresh-2"))],
        json=grant_reply(3),
    )
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
    rsps.add(
        responses.POST,
        TOKEN_URL,
        match=[matchers.json_params_matcher(refresh_body("refresh-1"))],
        json=grant_reply(2),
    )
    rsps.add(responses.GET, ACCOUNT_URL, match=bearer(2), json={"id": 1})

    assert oauth_client(clock, store).account().id == 1
    assert store.tokens["access_token"] == "access-2"


def test_access_token_within_five_minutes_of_expiry_is_refreshed_first(rsps, clock):
    store = RecordingStore(stored_pair(1, NOW + 299))
    rsps.add(
        responses.POST,
        TOKEN_URL,
        match=[matchers.json_params_matcher(refresh_body("refresh-1"))],
        json=grant_reply(2),
    )
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
    rsps.add(
        responses.POST,
        TOKEN_URL,
        match=[matchers.json_params_matcher(refresh_body("refresh-1"))],
        json=grant_reply(2),
    )
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


def test_token_info_is_none_before_any_tokens_and_for_other_modes(clock):
    assert oauth_client(clock, RecordingStore()).token_info() is None
    assert make_client(clock, auth="token", token="t0k3n").token_info() is None


# -- secrets ---------------------------------------------------------------------------------


def test_auth_objects_and_the_client_never_show_secrets(rsps, clock):
    store = RecordingStore(stored_pair(1, NOW + 86000))
    oauth = OAuth(BASE, auth_code=AUTH_CODE, store=store, clock=clock.time, **OAUTH)
    oauth.token_info()  # loads the pair
    objects = [
        TokenAuth("long-lived-token-5f2a9c"),
        SessionAuth(BASE, "boss@leo.kz", API_KEY),
        oauth,
        oauth_client(clock, store),
    ]
    text = " ".join(repr(o) for o in objects)

    for secret in (
        "long-lived-token-5f2a9c",
        API_KEY,
        CLIENT_SECRET,
        AUTH_CODE,
        "access-1",
        "refresh-1",
    ):
        assert secret not in text
    assert "***" in text


def test_redact_masks_every_known_secret():
    auth = SessionAuth(BASE, "boss@leo.kz", API_KEY)

    assert auth.redact(f"bad hash {API_KEY}!") == "bad hash ***!"


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


# -- two processes, one refresh token (the sandbox spends each refresh token once) ---------------


@pytest.mark.parametrize("first_start", [False, True], ids=["refresh", "code-exchange"])
def test_two_workers_granting_at_once_spend_the_single_use_token_once(
    tmp_path: Path, first_start: bool
) -> None:
    """Both workers find the pair due (or, on a first start, no pair and one code to exchange)."""
    path = tmp_path / "state.sqlite3"
    with Sandbox(tasks=1, managers=1, rate_limit=0) as sandbox:
        creds = sandbox.credentials
        settings = AmoSettings(
            base_url=sandbox.base_url or "", auth="oauth", client_id=creds.client_id,
            client_secret=creds.client_secret, redirect_uri=creds.redirect_uri,
            auth_code=creds.auth_code, rate_limit=1000,
        )  # fmt: skip
        setup = Tokens(State(path))
        if not first_start:
            with build_client(settings, setup) as client:
                client.account()  # the code is exchanged and the pair stored
            setup.save_tokens({**(setup.load_tokens() or {}), "expires_at": 0})  # due everywhere
        sandbox.latency_ms = 300  # a slow grant: both workers would be inside it together
        before = grants(sandbox)
        # Two gunicorn workers: each its own State (connections) and client (in-process locks).
        workers = [build_client(settings, Tokens(State(path))) for _ in range(2)]
        start = threading.Barrier(len(workers))
        errors: list[AmoError] = []

        def work(worker: AmoClient) -> None:
            start.wait()
            try:
                worker.account()
            except AmoError as exc:
                errors.append(exc)

        threads = [threading.Thread(target=work, args=(w,)) for w in workers]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(30)
        for worker in workers:
            worker.close()
        spent = grants(sandbox) - before
        stored = setup.load_tokens()
        setup.db.close()

    assert errors == []  # nobody is told «amoCRM отозвала доступ»
    assert spent == 1
    assert stored is not None and stored["expires_at"] > 0  # the winner's pair, read by both


def grants(sandbox: Sandbox) -> int:
    return sum(path.startswith("/oauth2/access_token") for _, path in sandbox.requests_log)
