"""set-webhook / delete-webhook / webhook-info / check, through the CLI against loopback fakes."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from leoweb_bot.cli import main
from leoweb_bot.sandbox import Sandbox
from tests.fakebot import FakeBotAPI

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
    assert "mytasks" in menus[3]
    assert set(menus["default"]) == {"start", "help", "whoami"}
    assert "report" in menus["all_group_chats"]
    assert TOKEN not in capsys.readouterr().out


def test_set_webhook_needs_https_public_url(env, fake, capsys) -> None:
    env.setenv("LEOWEB_TELEGRAM_PUBLIC_URL", "http://bot.example.com")
    assert main(["set-webhook"]) == 2
    assert "telegram.public_url" in capsys.readouterr().err
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
