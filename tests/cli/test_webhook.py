"""set-webhook / delete-webhook / webhook-info / check, through the CLI against loopback fakes."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from leoweb_bot.cli import check
from leoweb_bot.cli.main import main
from leoweb_bot.sandbox import Sandbox
from leoweb_bot.state import State
from leoweb_bot.state.people import Member
from leoweb_bot.state.people import put_member
from tests.kit.fakebot import FakeBotAPI

TOKEN = "123456789:AAWebhookAdminTestTokenValue_abcdefg"
SECRET = "s3cret_hook-value"


@pytest.fixture
def fake() -> Iterator[FakeBotAPI]:
    with FakeBotAPI() as bot_api:
        yield bot_api


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch, fake: FakeBotAPI, tmp_path) -> pytest.MonkeyPatch:
    for key, value in {
        "LEOWEB_TELEGRAM_TOKEN": TOKEN,
        "LEOWEB_TELEGRAM_WEBHOOK_SECRET": SECRET,
        "LEOWEB_TELEGRAM_PUBLIC_URL": "https://bot.example.com",
        "LEOWEB_TELEGRAM_API_URL": fake.url,
        "LEOWEB_ACCESS_ADMINS": "1",
        "LEOWEB_ACCESS_DIRECTORS": "2",
        "LEOWEB_ACCESS_MANAGERS": "3=1387123",
        "LEOWEB_BOT_STATE_PATH": str(tmp_path / "state.sqlite3"),
    }.items():
        monkeypatch.setenv(key, value)
    monkeypatch.chdir(tmp_path)
    return monkeypatch


def test_set_webhook_registers_url_secret_updates_and_menus(env, fake, capsys) -> None:
    assert main(["set-webhook"]) == 0
    (webhook,) = [params for method, params in fake.calls("setWebhook")]
    assert webhook["url"] == "https://bot.example.com/telegram/webhook"
    assert webhook["secret_token"] == SECRET
    assert json.loads(webhook["allowed_updates"]) == ["message", "edited_message", "callback_query"]
    menus = {
        json.loads(p["scope"]).get("chat_id", json.loads(p["scope"])["type"]): [
            c["command"] for c in json.loads(p["commands"])
        ]
        for _, p in fake.calls("setMyCommands")
    }
    assert "funnel" in menus[2] and "funnel" not in menus[3]
    assert "version" in menus[1] and "version" not in menus[2]  # admins only
    assert "mytasks" in menus[3]
    assert set(menus["default"]) == {"start", "help", "whoami"}
    assert "report" in menus["all_group_chats"]
    assert TOKEN not in capsys.readouterr().out


def test_set_webhook_also_sets_the_menus_of_people_let_in_through_the_bot(
    env, fake, tmp_path, capsys
) -> None:
    state = State(tmp_path / "state.sqlite3")
    with state.transaction() as conn:
        put_member(conn, Member(8, "director", None, "Айдана", "", 0, 2))
    state.close()
    assert main(["set-webhook"]) == 0
    scopes = {
        json.loads(p["scope"]).get("chat_id"): p["commands"] for _, p in fake.calls("setMyCommands")
    }
    assert '"funnel"' in scopes[8] and '"version"' not in scopes[8]
    assert "command menus set: 6 of 6" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("url", "complaint"),
    [
        ("", "missing"),
        ("http://bot.example.com", "https://"),
        ("https://bot.example.com:8080", "ports 443, 80, 88 or 8443"),
    ],
)
def test_set_webhook_needs_an_https_public_url_telegram_delivers_to(
    url: str, complaint: str, env, fake, capsys
) -> None:
    env.setenv("LEOWEB_TELEGRAM_PUBLIC_URL", url)
    assert main(["set-webhook"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("config error: telegram.public_url: ") and complaint in err
    assert not fake.calls("setWebhook")


def test_delete_and_info(env, fake, capsys) -> None:
    fake.webhook_info = {
        "url": "https://bot.example.com/telegram/webhook",
        "pending_update_count": 4,
    }
    assert main(["webhook-info"]) == 0
    out = capsys.readouterr().out
    assert "pending_update_count: 4" in out
    assert main(["delete-webhook"]) == 0
    assert fake.calls("deleteWebhook")


def test_check_reports_every_dependency_in_one_line_each(env, fake, capsys) -> None:
    with Sandbox(rate_limit=0) as sandbox:
        env.setenv("LEOWEB_AMOCRM_BASE_URL", sandbox.base_url)
        env.setenv("LEOWEB_AMOCRM_TOKEN", sandbox.credentials.token)
        fake.webhook_info = {"url": "https://bot.example.com/telegram/webhook"}
        code = main(["check"])
    lines = capsys.readouterr().out.splitlines()
    assert code == 0, lines
    assert all(line.startswith("ok ") for line in lines)
    assert any("Leo Group Services" in line for line in lines)
    assert any("@leoweb_test_bot" in line for line in lines)


def test_check_fails_with_exit_1_and_names_the_problem(env, fake, capsys) -> None:
    with Sandbox(rate_limit=0) as sandbox:
        env.setenv("LEOWEB_AMOCRM_BASE_URL", sandbox.base_url)
        env.setenv("LEOWEB_AMOCRM_TOKEN", "wrong-amo-token-value")
        fake.webhook_info = {"url": "https://elsewhere.example.com/hook"}
        code = main(["check"])
    out = capsys.readouterr().out
    assert code == 1
    assert "FAIL amoCRM account" in out
    assert "FAIL Telegram webhook" in out
    assert "wrong-amo-token-value" not in out
    assert "Traceback" not in out


def test_set_webhook_sets_every_menu_it_can_and_names_the_refused(env, fake, capsys) -> None:
    # A person who never opened a chat with the bot: Telegram refuses their chat scope.
    env.setenv("LEOWEB_ACCESS_MANAGERS", "3=1387123,4=1387124")
    refused = {"ok": False, "error_code": 400, "description": "Bad Request: chat not found"}
    fake.fail_next("setMyCommands", 400, refused)  # the first menu: the default scope
    assert main(["set-webhook"]) == 1
    scopes = [json.loads(p["scope"]) for _, p in fake.calls("setMyCommands")]
    assert len(scopes) == 6  # default, group chats, people 1, 2, 3, 4: each one tried
    out, err = capsys.readouterr()
    assert "command menus set: 5 of 6" in out
    assert err.count("\n") == 1
    assert err.startswith("error: Telegram refused 1 command menus: default: Bad Request: chat")
    assert "send /start" in err


def test_set_webhook_stops_when_telegram_refuses_the_token(env, fake, capsys) -> None:
    fake.fail_next(
        "setMyCommands", 401, {"ok": False, "error_code": 401, "description": "Unauthorized"}
    )
    assert main(["set-webhook"]) == 1
    assert len(fake.calls("setMyCommands")) == 1
    assert "check telegram.token" in capsys.readouterr().err


def test_check_names_the_config_file_and_state_db(env, fake, tmp_path, capsys) -> None:
    config = tmp_path / "etc" / "leoweb.toml"
    config.parent.mkdir()
    config.write_text('[bot]\nstate_path = "bot.sqlite3"\n', encoding="utf-8")
    env.delenv("LEOWEB_BOT_STATE_PATH")
    main(["check", "--config", str(config)])
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == f"ok   config file: {config} (from --config)"
    assert f"ok   state db: {config.parent / 'bot.sqlite3'} writable, inbox depth 0" in lines


def test_check_says_what_to_do_when_telegram_refuses_the_token(env, fake, capsys) -> None:
    fake.fail_next("getMe", 401, {"ok": False, "error_code": 401, "description": "Unauthorized"})
    assert main(["check"]) == 1
    out = capsys.readouterr().out
    assert (
        "FAIL Telegram bot: Telegram getMe: 401 Unauthorized; check telegram.token "
        "(the Bot API refused it)"
    ) in out.splitlines()


def test_an_unexpected_failure_in_a_check_is_reported_without_the_token() -> None:
    def crash() -> str:
        raise ValueError(f"no answer from https://api.telegram.org/bot{TOKEN}/getMe")

    ok, line = check._guard("Telegram bot", crash)
    assert not ok
    assert line == "Telegram bot: ValueError: no answer from https://api.telegram.org/bot***/getMe"
