"""`leoweb-bot init`: a starter config that loads, is private, and never shows its secrets."""

from __future__ import annotations

import re
import stat
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

import pytest

from leoweb_bot.cli.init import amocrm_url
from leoweb_bot.cli.init import collect
from leoweb_bot.cli.init import run_init
from leoweb_bot.config import WEBHOOK_SECRET_RE
from leoweb_bot.config import ConfigError
from leoweb_bot.config import load_settings
from tests.conftest import leoweb_env
from tests.kit.initargs import AMO_TOKEN
from tests.kit.initargs import BOT_TOKEN
from tests.kit.initargs import full_args
from tests.kit.initargs import init_args
from tests.kit.paths import ROOT


def secrets_in(path: Path) -> list[str]:
    raw = tomllib.loads(path.read_text(encoding="utf-8"))
    return [raw["telegram"]["webhook_secret"], raw["amocrm"]["webhook_secret"]]


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_flags_only_write_a_config_that_passes_validation(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    assert run_init(full_args(path)) == 0
    settings = load_settings(path, env={}).require("telegram", "amocrm", "bot")
    assert settings.telegram.token == BOT_TOKEN
    assert settings.telegram.public_url == "https://bot.example.com"
    assert settings.amocrm.base_url == "https://leogroup.amocrm.ru"
    assert settings.amocrm.auth == "token"
    assert settings.amocrm.token == AMO_TOKEN
    assert settings.bot.timezone == "Asia/Almaty"


def test_the_file_is_mode_600(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    run_init(full_args(path))
    assert mode(path) == 0o600


def test_webhook_secrets_are_strong_distinct_and_allowed_by_telegram(tmp_path: Path) -> None:
    first, second = tmp_path / "a.toml", tmp_path / "b.toml"
    run_init(full_args(first))
    run_init(full_args(second))
    all_secrets = secrets_in(first) + secrets_in(second)
    for secret in all_secrets:
        assert WEBHOOK_SECRET_RE.match(secret)
        assert len(secret) >= 43  # 32 random bytes
    assert len(set(all_secrets)) == 4


def test_no_secret_is_printed(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "config.toml"
    run_init(full_args(path))
    printed = "".join(capsys.readouterr())
    for secret in [BOT_TOKEN, AMO_TOKEN, *secrets_in(path)]:
        assert secret not in printed
    assert "leoweb-bot --config" in printed and "check" in printed and "set-webhook" in printed


def test_refuses_to_overwrite(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "config.toml"
    path.write_text("# mine\n")
    assert run_init(full_args(path)) == 1
    assert path.read_text() == "# mine\n"
    assert "--force" in capsys.readouterr().err


def test_force_overwrites_and_makes_the_file_private(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text("# mine\n")
    path.chmod(0o644)
    assert run_init(full_args(path, force=True)) == 0
    assert mode(path) == 0o600
    assert load_settings(path, env={}).telegram.token == BOT_TOKEN
    assert [p.name for p in tmp_path.iterdir()] == ["config.toml"]  # no temp file left


def test_an_unwritable_place_is_one_line_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run_init(full_args(tmp_path / "no" / "such" / "config.toml")) == 1
    assert capsys.readouterr().err.startswith("error: cannot write ")


def test_every_key_of_the_example_config_is_in_the_starter(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    run_init(init_args(path))
    example = tomllib.loads((ROOT / "config.example.toml").read_text(encoding="utf-8"))
    written = tomllib.loads(path.read_text(encoding="utf-8"))
    assert keys(written) == keys(example)


def keys(table: dict[str, Any], prefix: str = "") -> set[str]:
    found = set()
    for name, value in table.items():
        found.add(prefix + name)
        if isinstance(value, dict):
            found |= keys(value, f"{prefix}{name}.")
    return found


def test_missing_values_are_listed_and_the_file_still_loads(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "config.toml"
    assert run_init(init_args(path, auth="session")) == 0
    out = capsys.readouterr().out
    assert f"Still to fill in (edit {path} or set LEOWEB_* variables): " in out
    assert "telegram.token, amocrm.base_url, amocrm.login, amocrm.api_key" in out
    with pytest.raises(ConfigError, match=r"^telegram\.token: missing"):
        load_settings(path, env={}).require("telegram")


@pytest.mark.parametrize(
    ("flags", "key"),
    [
        ({"timezone": "Mars/Olympus"}, "bot.timezone"),
        ({"telegram_token": "not a token"}, "telegram.token"),
        ({"amocrm_url": "ftp://leogroup.amocrm.ru"}, "amocrm.base_url"),
        ({"amocrm_url": "not a url"}, "amocrm.base_url"),
        ({"amocrm_url": "http://leogroup.amocrm.ru"}, "amocrm.base_url"),
        ({"public_url": "http://bot.example.com"}, "telegram.public_url"),
        ({"public_url": "https://bot.example.com:8080"}, "telegram.public_url"),
    ],
)
def test_a_wrong_value_is_refused_before_writing(
    tmp_path: Path, flags: dict[str, str], key: str
) -> None:
    path = tmp_path / "config.toml"
    with pytest.raises(ConfigError, match="^" + re.escape(f"{key}:")):
        run_init(init_args(path, **flags))
    assert not path.exists()


@pytest.mark.parametrize(
    ("given", "url"),
    [
        ("leogroup", "https://leogroup.amocrm.ru"),
        ("leogroup.kommo.com/", "https://leogroup.kommo.com"),
        ("https://leogroup.amocrm.ru/", "https://leogroup.amocrm.ru"),
        ("", ""),
    ],
)
def test_amocrm_address_is_completed(given: str, url: str) -> None:
    assert amocrm_url(given) == url


def test_prompts_ask_for_what_the_auth_mode_needs(tmp_path: Path) -> None:
    answers = {
        "Telegram bot token": BOT_TOKEN,
        "amoCRM address": "leogroup",
        "amoCRM auth": ["sessoin", "session"],  # a typo is asked again
        "amoCRM login": "director@leogroup.kz",
        "amoCRM API key": "abc123",
        "company timezone": ["Asia/Almati", ""],  # empty takes the default
        "public HTTPS address": "https://bot.example.com/",
    }
    asked: list[tuple[str, bool]] = []

    def ask(prompt: str, default: str, secret: bool) -> str:
        asked.append((prompt, secret))
        key = next(k for k in answers if prompt.startswith(k))
        answer = answers[key]
        value = answer.pop(0) if isinstance(answer, list) else answer
        return value or default

    values = collect(init_args(tmp_path / "c.toml", no_input=False), ask)
    assert values["amocrm.auth"] == "session"
    assert values["amocrm.base_url"] == "https://leogroup.amocrm.ru"
    assert values["amocrm.login"] == "director@leogroup.kz"
    assert values["bot.timezone"] == "Asia/Almaty"
    assert values["telegram.public_url"] == "https://bot.example.com"
    secret_prompts = {p.split(" (")[0] for p, secret in asked if secret}
    assert secret_prompts == {"Telegram bot token from @BotFather", "amoCRM API key"}


def test_the_cli_writes_the_file(tmp_path: Path) -> None:
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "leoweb_bot",
            "init",
            "--no-input",
            "--telegram-token",
            BOT_TOKEN,
            "--amocrm-url",
            "leogroup",
            "--amocrm-token",
            AMO_TOKEN,
            "--timezone",
            "Asia/Almaty",
        ],
        cwd=tmp_path,
        env=leoweb_env(),
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        timeout=30,
    )
    assert result.returncode == 0, result.stderr
    path = tmp_path / "config.toml"
    assert mode(path) == 0o600
    assert "leoweb-bot check" in result.stdout
    for secret in [BOT_TOKEN, AMO_TOKEN, *secrets_in(path)]:
        assert secret not in result.stdout + result.stderr
