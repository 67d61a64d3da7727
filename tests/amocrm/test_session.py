"""The legacy v2 session over a faked network: login, renewal before 15 minutes and after a 401,
login errors that say what to fix."""

from __future__ import annotations

import pytest
import responses
from responses import matchers

from leoweb_bot.amocrm import AuthError
from leoweb_bot.amocrm.auth import SessionAuth
from tests.amocrm.fakes import API_KEY
from tests.amocrm.fakes import BASE
from tests.amocrm.fakes import LOGIN_URL
from tests.amocrm.fakes import add_login
from tests.amocrm.fakes import session_client

V2_ACCOUNT_URL = f"{BASE}/api/v2/account"


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


def test_redact_masks_every_known_secret():
    auth = SessionAuth(BASE, "boss@leo.kz", API_KEY)

    assert auth.redact(f"bad hash {API_KEY}!") == "bad hash ***!"
