"""The sandbox's credentials: OAuth codes and single-use refresh tokens, v2 session cookies."""

from __future__ import annotations

from typing import Any

from flask.testing import FlaskClient

from leoweb_bot.sandbox import Sandbox
from tests.kit.fakeclock import FakeClock


def _exchange(client: FlaskClient, sandbox: Sandbox, **fields: str) -> Any:
    creds = sandbox.credentials
    base = {
        "client_id": creds.client_id,
        "client_secret": creds.client_secret,
        "redirect_uri": creds.redirect_uri,
    }
    return client.post("/oauth2/access_token", json={**base, **fields})


def test_oauth_code_works_once(sandbox: Sandbox, client: FlaskClient) -> None:
    code = sandbox.credentials.auth_code
    first = _exchange(client, sandbox, grant_type="authorization_code", code=code)
    assert first.status_code == 200
    assert first.get_json()["token_type"] == "Bearer"
    assert first.get_json()["expires_in"] == 86400
    again = _exchange(client, sandbox, grant_type="authorization_code", code=code)
    assert again.status_code == 400 and again.get_json()["hint"]
    wrong_client = _exchange(
        client, sandbox, grant_type="authorization_code", code=code, client_secret="x"
    )
    assert wrong_client.status_code == 400


def test_refresh_tokens_rotate_and_are_single_use(
    sandbox: Sandbox, client: FlaskClient, clock: FakeClock
) -> None:
    code = sandbox.credentials.auth_code
    pair = _exchange(client, sandbox, grant_type="authorization_code", code=code).get_json()
    form = {
        "client_id": sandbox.credentials.client_id,
        "client_secret": sandbox.credentials.client_secret,
        "redirect_uri": sandbox.credentials.redirect_uri,
        "grant_type": "refresh_token",
        "refresh_token": pair["refresh_token"],
    }
    renewed = client.post("/oauth2/access_token", data=form)  # form-encoded works too
    assert renewed.status_code == 200
    reused = client.post("/oauth2/access_token", data=form)
    assert reused.status_code == 401
    assert reused.get_json()["hint"] == "Token has been revoked"
    new_access = {"Authorization": f"Bearer {renewed.get_json()['access_token']}"}
    assert client.get("/api/v4/account", headers=new_access).status_code == 200
    clock.now += 86400
    assert client.get("/api/v4/account", headers=new_access).status_code == 401


def test_v2_login_cookie_expires_by_the_clock(
    sandbox: Sandbox, client: FlaskClient, clock: FakeClock
) -> None:
    creds = sandbox.credentials
    url = "/private/api/auth.php?type=json"
    denied = client.post(url, data={"USER_LOGIN": creds.login, "USER_HASH": "wrong"})
    assert denied.status_code == 401
    assert denied.get_json()["response"]["error_code"] == "110"
    assert client.get("/api/v2/account").status_code == 401
    login = client.post(url, json={"USER_LOGIN": creds.login, "USER_HASH": creds.api_key})
    assert login.get_json()["response"]["auth"] is True
    assert (
        "session_id=" in login.headers["Set-Cookie"] and "HttpOnly" in login.headers["Set-Cookie"]
    )
    account = client.get("/api/v2/account?with=users").get_json()
    assert account["timezone"] == "Asia/Almaty"
    assert account["_embedded"]["users"]["1387123"]["name"] == "Зелимхан"
    clock.now += 899
    assert client.get("/api/v2/account").status_code == 200
    clock.now += 2
    assert client.get("/api/v2/account").status_code == 401
