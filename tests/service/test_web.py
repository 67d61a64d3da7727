from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from leoweb_bot import __version__
from leoweb_bot.config import settings_from_mapping
from leoweb_bot.service.web import MAX_BODY
from leoweb_bot.service.web import PROBE_SECONDS
from leoweb_bot.service.web import SECRET_HEADER
from leoweb_bot.service.web import create_app
from leoweb_bot.state import State
from leoweb_bot.state import health
from leoweb_bot.state.kv import get_value
from tests.kit.fakeclock import FakeClock
from tests.kit.webapp import AMO_SECRET
from tests.kit.webapp import SECRET
from tests.kit.webapp import URL
from tests.kit.webapp import make_settings


@pytest.fixture
def state(tmp_path: Path) -> State:
    return State(tmp_path / "state.sqlite3")


@pytest.fixture
def wakes() -> list[int]:
    return []


@pytest.fixture
def app(tmp_path: Path, state: State, wakes: list[int]) -> Flask:
    return create_app(
        make_settings(tmp_path / "state.sqlite3"), state, on_update=lambda: wakes.append(1)
    )


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


def message_update(update_id: int, chat_id: int = 42, text: str = "/start") -> dict[str, Any]:
    return {
        "update_id": update_id,
        "message": {
            "message_id": 1,
            "date": 1764061500,
            "chat": {"id": chat_id, "type": "private"},
            "from": {"id": chat_id, "is_bot": False, "first_name": "Зелимхан"},
            "text": text,
        },
    }


def post(client: FlaskClient, body: Any, secret: str | None = SECRET, **kw: Any) -> Any:
    headers = {SECRET_HEADER: secret} if secret is not None else {}
    data = body if isinstance(body, bytes | str) else json.dumps(body)
    return client.post(URL, data=data, headers=headers, content_type="application/json", **kw)


# -- POST /telegram/webhook ------------------------------------------------------------------------


def test_missing_secret_is_403(client: FlaskClient, state: State) -> None:
    response = post(client, message_update(1), secret=None)
    assert response.status_code == 403
    assert state.inbox.depth() == 0


def test_wrong_secret_is_403(client: FlaskClient, state: State) -> None:
    assert post(client, message_update(1), secret=SECRET + "x").status_code == 403
    assert post(client, message_update(1), secret="").status_code == 403
    assert state.inbox.depth() == 0


def test_an_empty_configured_secret_refuses_everyone(tmp_path: Path, state: State) -> None:
    settings = settings_from_mapping({"bot": {"state_path": str(tmp_path / "state.sqlite3")}})
    client = create_app(settings, state).test_client()
    assert post(client, message_update(1), secret="").status_code == 403


def test_secret_is_checked_before_the_body(client: FlaskClient) -> None:
    too_big = b"x" * (MAX_BODY + 1)
    assert post(client, too_big, secret="wrong").status_code == 403


def test_body_over_one_mib_is_413(client: FlaskClient, state: State) -> None:
    update = message_update(1, text="a" * MAX_BODY)
    response = post(client, update)
    assert response.status_code == 413
    assert response.is_json
    assert state.inbox.depth() == 0


@pytest.mark.parametrize(
    "body",
    [
        b"not json at all",
        b"\xff\xfe garbage",
        b"",
        json.dumps([message_update(1)]),
        json.dumps({"message": {"text": "hi"}}),
        json.dumps({"update_id": True}),
        json.dumps({"update_id": "5"}),
        json.dumps({"update_id": 5.0}),
        json.dumps({"update_id": None}),
        json.dumps({"update_id": 2**64}),
        b"[" * 100000,
    ],
    ids=[
        "non-json",
        "non-utf8",
        "empty",
        "json-array",
        "missing-update_id",
        "bool-update_id",
        "string-update_id",
        "float-update_id",
        "null-update_id",
        "huge-update_id",
        "deeply-nested",
    ],
)
def test_bad_bodies_are_400(client: FlaskClient, state: State, body: bytes | str) -> None:
    response = post(client, body)
    assert response.status_code == 400
    assert response.get_json()["ok"] is False
    assert state.inbox.depth() == 0


def test_a_valid_update_is_stored_before_the_200(
    client: FlaskClient, state: State, wakes: list[int]
) -> None:
    response = post(client, message_update(7, chat_id=42))
    assert response.status_code == 200
    assert response.get_json() == {"ok": True}
    item = state.inbox.claim("test:1", now=0)
    assert item is not None
    assert (item.update_id, item.chat_id) == (7, 42)
    assert item.update == message_update(7, chat_id=42)
    assert wakes == [1]


def test_a_duplicate_is_acked_and_stored_once(
    client: FlaskClient, state: State, wakes: list[int]
) -> None:
    assert post(client, message_update(7)).status_code == 200
    assert post(client, message_update(7)).status_code == 200
    assert state.inbox.depth() == 1
    assert wakes == [1]  # only the new update wakes the dispatcher


def test_a_failing_wake_callback_does_not_fail_the_request(tmp_path: Path, state: State) -> None:
    def broken() -> None:
        raise RuntimeError("dispatcher gone")

    client = create_app(make_settings(tmp_path / "s"), state, on_update=broken).test_client()
    assert post(client, message_update(1)).status_code == 200
    assert state.inbox.depth() == 1


def test_full_inbox_is_503_with_retry_after(tmp_path: Path) -> None:
    state = State(tmp_path / "state.sqlite3", max_pending=1)
    client = create_app(make_settings(tmp_path / "state.sqlite3"), state).test_client()
    assert post(client, message_update(1)).status_code == 200
    response = post(client, message_update(2))
    assert response.status_code == 503
    assert response.headers["Retry-After"] == "5"
    assert post(client, message_update(1)).status_code == 200  # a duplicate is still acked


def test_unusable_database_is_503_with_retry_after(tmp_path: Path) -> None:
    broken = State(tmp_path)  # a directory: cannot be opened
    client = create_app(make_settings(tmp_path / "x"), broken).test_client()
    response = post(client, message_update(1))
    assert response.status_code == 503
    assert response.headers["Retry-After"] == "5"


def test_other_methods_and_paths_are_json_4xx(client: FlaskClient) -> None:
    assert client.get(URL).status_code == 405
    missing = client.get("/nope")
    assert missing.status_code == 404
    assert missing.is_json


# -- GET /healthz --------------------------------------------------------------------------------


def test_healthz_reports_inbox_depth(client: FlaskClient) -> None:
    post(client, message_update(1))
    post(client, message_update(2))
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.get_json() == {
        "status": "ok",
        "inbox_depth": 2,
        "version": __version__,
        "sync": {"state": "bootstrap", "scans": {}},  # the mirror's progress (tests/sync)
    }


def test_healthz_is_503_when_the_database_is_unusable(tmp_path: Path) -> None:
    client = create_app(make_settings(tmp_path / "x"), State(tmp_path)).test_client()
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.get_json()["status"] == "error"


def limit_growth(state: State, pages: int | None = None) -> None:
    """Cap the file at its current size (or ``pages``) as seen by this thread's connection, which
    is the one the test client's requests use: SQLite then refuses any write that needs a new
    page with SQLITE_FULL, "database or disk is full", as on a full disk."""
    current = state.query("PRAGMA page_count")[0][0]
    state.query(f"PRAGMA max_page_count = {pages or current}")


def test_healthz_is_503_with_the_reason_while_webhooks_are_refused(
    client: FlaskClient, state: State
) -> None:
    assert post(client, message_update(1)).status_code == 200
    limit_growth(state)
    big = message_update(2, text="x" * 20_000)  # needs pages the file cannot have
    assert post(client, big).status_code == 503
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.get_json() == {
        "status": "error",
        "error": "webhooks refused: database or disk is full",
        "inbox_depth": 1,
    }
    limit_growth(state, 1_000_000)  # space again: Telegram's next try is stored
    assert post(client, big).status_code == 200
    assert client.get("/healthz").get_json()["status"] == "ok"


def test_healthz_writes_so_an_unwritable_database_shows_without_traffic(
    tmp_path: Path, state: State
) -> None:
    clock = FakeClock(1000.0)
    app = create_app(make_settings(tmp_path / "state.sqlite3"), state, clock=clock.time)
    client = app.test_client()
    state.query("PRAGMA query_only = 1")  # SQLite refuses writes, as on a read-only file
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.get_json()["error"] == (
        "state database not writable: attempt to write a readonly database"
    )
    state.query("PRAGMA query_only = 0")
    clock.advance(PROBE_SECONDS - 1)  # probes are spaced: the last one still stands
    assert client.get("/healthz").status_code == 503
    clock.advance(1)
    assert client.get("/healthz").status_code == 200
    assert get_value(state, health.PROBE_KEY) == "1005.0"
    clock.advance(1)
    assert client.get("/healthz").status_code == 200
    assert get_value(state, health.PROBE_KEY) == "1005.0"  # no write for this one


def test_healthz_is_503_when_the_inbox_is_full(tmp_path: Path) -> None:
    state = State(tmp_path / "state.sqlite3", max_pending=2)
    client = create_app(make_settings(tmp_path / "state.sqlite3"), state).test_client()
    for update_id in (1, 2):
        assert post(client, message_update(update_id)).status_code == 200
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.get_json()["error"] == "inbox full: 2 updates waiting"


def test_healthz_is_503_when_the_disk_is_almost_full(
    client: FlaskClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(health, "MIN_FREE_BYTES", 2**62)  # more than any disk has
    response = client.get("/healthz")
    assert response.status_code == 503
    assert re.fullmatch(
        r"disk almost full: \d+ MiB free where the state database is", response.get_json()["error"]
    )


# -- POST /amocrm/webhook/<secret> ---------------------------------------------------------------

AMO_BODY = "leads%5Badd%5D%5B0%5D%5Bid%5D=101&account%5Bsubdomain%5D=leogroup"


def amo_post(client: FlaskClient, secret: str, body: bytes | str = AMO_BODY) -> Any:
    return client.post(
        f"/amocrm/webhook/{secret}",
        data=body,
        content_type="application/x-www-form-urlencoded",
    )


def amo_events(state: State) -> list[tuple[str]]:
    return state.query("SELECT payload FROM amo_events ORDER BY id")


def test_amocrm_webhook_wrong_secret_is_403(client: FlaskClient, state: State) -> None:
    assert amo_post(client, "wrong").status_code == 403
    assert amo_events(state) == []


def test_amocrm_webhook_with_no_configured_secret_is_403(tmp_path: Path, state: State) -> None:
    client = create_app(make_settings(tmp_path / "s", amo_secret=""), state).test_client()
    assert amo_post(client, "anything").status_code == 403


def test_amocrm_webhook_stores_the_raw_body_once(client: FlaskClient, state: State) -> None:
    assert amo_post(client, AMO_SECRET).status_code == 200
    assert amo_post(client, AMO_SECRET).status_code == 200  # amoCRM retry: same body
    assert amo_events(state) == [(AMO_BODY,)]


@pytest.mark.parametrize("body", [b"", b"\xff\xfe\x00", b"&&&", b"no equals sign"])
def test_amocrm_webhook_garbage_is_200_and_ignored(
    client: FlaskClient, state: State, body: bytes
) -> None:
    assert amo_post(client, AMO_SECRET, body).status_code == 200
    assert amo_events(state) == []


def test_a_new_amocrm_event_wakes_the_scheduler_once(tmp_path: Path, state: State) -> None:
    woken: list[int] = []
    settings = make_settings(tmp_path / "state.sqlite3")
    client = create_app(settings, state, on_amo_event=lambda: woken.append(1)).test_client()
    amo_post(client, AMO_SECRET)
    amo_post(client, AMO_SECRET)  # a replay is stored once and wakes no one
    amo_post(client, AMO_SECRET, b"&&&")
    amo_post(client, "wrong")
    assert woken == [1]
