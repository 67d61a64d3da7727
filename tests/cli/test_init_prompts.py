"""`leoweb-bot init` asks well: each answer checked as given, the output path first, and the file
written where the other commands will read it."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from leoweb_bot.cli.init import checked
from leoweb_bot.cli.init import run_init
from leoweb_bot.config import ConfigError
from leoweb_bot.config import load_settings
from leoweb_bot.config import settings_from_mapping
from tests.conftest import leoweb_env
from tests.kit.initargs import BOT_TOKEN
from tests.kit.initargs import init_args

# -- each answer checked as it is given, the output path first ---------------------------------


class Terminal(io.StringIO):
    """stdin that says it is a terminal, so init prompts."""

    def isatty(self) -> bool:
        return True


def scripted(answers: dict[str, list[str]]) -> Any:
    """An asker that answers each prompt (matched by its start) from a list, in order."""

    def ask(prompt: str, default: str, secret: bool) -> str:
        key = next(k for k in answers if prompt.startswith(k))
        return answers[key].pop(0) or default

    return ask


def never_asked(prompt: str, default: str, secret: bool) -> str:
    raise AssertionError(f"asked {prompt!r} although init should have stopped already")


def test_a_wrong_answer_is_explained_and_asked_again_keeping_the_others(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    answers = {
        "Telegram bot token": ["not a token", BOT_TOKEN],
        "amoCRM address": ["not a url", "http://leogroup.amocrm.ru", "leogroup"],
        "amoCRM auth": ["sessoin", "session"],
        "amoCRM login": ["director@leogroup.kz"],
        "amoCRM API key": ["abc123"],
        "company timezone": ["Asia/Almati", ""],
        "public HTTPS address": ["http://bot.example.com", "https://bot.example.com"],
    }
    monkeypatch.setattr("sys.stdin", Terminal())
    monkeypatch.setattr("leoweb_bot.cli.init.prompt", scripted(answers))
    path = tmp_path / "config.toml"
    assert run_init(init_args(path, no_input=False)) == 0
    assert all(not left for left in answers.values())  # every wrong answer was asked again
    reasons = capsys.readouterr().err.splitlines()
    assert reasons == [
        "  telegram.token: does not look like a bot token (123456:ABC...); try again",
        "  amocrm.base_url: not an address like https://SUBDOMAIN.amocrm.ru, got 'not a url';"
        " try again",
        "  amocrm.base_url: must start with https:// (http:// only on this machine: 127.0.0.1,"
        " localhost), got 'http://leogroup.amocrm.ru'; try again",
        "  amocrm.auth: must be one of token, oauth, session, got 'sessoin'; try again",
        "  bot.timezone: unknown timezone 'Asia/Almati'; try again",
        "  telegram.public_url: must be the bot's https:// address (Telegram calls only HTTPS);"
        " try again",
    ]
    settings = load_settings(path, env={}).require("telegram", "amocrm", "bot")
    assert settings.telegram.token == BOT_TOKEN
    assert settings.amocrm.base_url == "https://leogroup.amocrm.ru"
    assert (settings.amocrm.auth, settings.amocrm.api_key) == ("session", "abc123")
    assert settings.bot.timezone == "Asia/Almaty"


def test_a_wrong_flag_stops_init_before_the_first_question(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("sys.stdin", Terminal())
    monkeypatch.setattr("leoweb_bot.cli.init.prompt", never_asked)
    path = tmp_path / "config.toml"
    with pytest.raises(ConfigError, match=r"^bot\.timezone: unknown timezone 'Mars/Olympus'"):
        run_init(init_args(path, no_input=False, timezone="Mars/Olympus"))
    assert not path.exists()


@pytest.mark.parametrize(
    ("where", "says"),
    [
        ("exists.toml", "exists.toml already exists; use --force to overwrite it"),
        ("no/such/config.toml", "cannot write {dir}/no/such/config.toml: folder {dir}/no/such"),
        ("folder", "{dir}/folder is a folder; give a file name, e.g. {dir}/folder/config.toml"),
    ],
)
def test_the_output_path_is_checked_before_the_first_question(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    where: str,
    says: str,
) -> None:
    (tmp_path / "exists.toml").write_text("# mine\n")
    (tmp_path / "folder").mkdir()
    monkeypatch.setattr("sys.stdin", Terminal())
    monkeypatch.setattr("leoweb_bot.cli.init.prompt", never_asked)
    assert run_init(init_args(tmp_path / where, no_input=False)) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: ") and says.format(dir=tmp_path) in err
    assert err.count("\n") == 1


@pytest.mark.skipif(os.geteuid() == 0, reason="root may write anywhere")
def test_an_unwritable_folder_is_found_before_the_first_question(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    locked = tmp_path / "locked"
    locked.mkdir(mode=0o500)
    monkeypatch.setattr("sys.stdin", Terminal())
    monkeypatch.setattr("leoweb_bot.cli.init.prompt", never_asked)
    assert run_init(init_args(locked / "config.toml", no_input=False)) == 1
    assert f"folder {locked} is not writable" in capsys.readouterr().err


def test_input_ending_at_a_prompt_writes_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def ctrl_d(prompt: str, default: str, secret: bool) -> str:
        raise EOFError

    monkeypatch.setattr("sys.stdin", Terminal())
    monkeypatch.setattr("leoweb_bot.cli.init.prompt", ctrl_d)
    path = tmp_path / "config.toml"
    assert run_init(init_args(path, no_input=False)) == 1
    assert "error: input ended; nothing written" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    ("url", "valid"),
    [
        ("https://leogroup.amocrm.ru", True),
        ("https://leogroup.kommo.com", True),
        ("http://127.0.0.1:8800", True),  # the sandbox on this machine
        ("http://localhost:8800", True),
        ("http://[::1]:8800", True),
        ("not a url", False),
        ("https://", False),
        ("https://leo group.amocrm.ru", False),
        ("https://leogroup.amocrm.ru:99999", False),
        ("http://leogroup.amocrm.ru", False),
        ("http://10.0.0.5:8800", False),
    ],
)
def test_init_and_check_share_one_rule_for_the_amocrm_address(url: str, valid: bool) -> None:
    def passes(check: Callable[[], object]) -> bool:
        try:
            check()
        except ConfigError as exc:
            assert str(exc).startswith("amocrm.base_url: ")
            return False
        return True

    raw = {"amocrm": {"base_url": url, "token": "t"}}
    assert passes(lambda: settings_from_mapping(raw).require("amocrm")) is valid
    assert passes(lambda: checked("amocrm.base_url", url)) is valid


def run_cli(tmp_path: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "leoweb_bot", *args],
        cwd=tmp_path,
        env=leoweb_env(**env),
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        timeout=30,
    )


@pytest.mark.parametrize(
    ("args", "env", "next_step"),
    [
        (("--config", "bot.toml", "init", "--no-input"), {}, "leoweb-bot --config bot.toml check"),
        (("init", "--no-input", "--config", "bot.toml"), {}, "leoweb-bot --config bot.toml check"),
        (("init", "--no-input"), {"LEOWEB_CONFIG": "bot.toml"}, "leoweb-bot check"),
    ],
)
def test_init_writes_where_the_other_commands_will_read(
    tmp_path: Path, args: tuple[str, ...], env: dict[str, str], next_step: str
) -> None:
    result = run_cli(tmp_path, *args, **env)
    assert result.returncode == 0, result.stderr
    assert [p.name for p in tmp_path.iterdir()] == ["bot.toml"]
    assert next_step in result.stdout


def test_output_and_config_naming_different_files_is_an_error(tmp_path: Path) -> None:
    result = run_cli(tmp_path, "--config", "a.toml", "init", "--no-input", "--output", "b.toml")
    assert result.returncode == 2
    assert result.stderr == "error: --output and --config name different files; give one\n"
    assert list(tmp_path.iterdir()) == []


def test_next_steps_name_the_file_when_commands_would_read_another(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("LEOWEB_CONFIG", str(tmp_path / "elsewhere.toml"))
    monkeypatch.chdir(tmp_path)
    assert run_init(init_args(Path("config.toml"))) == 0
    assert "leoweb-bot --config config.toml check" in capsys.readouterr().out
