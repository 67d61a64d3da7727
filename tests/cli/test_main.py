"""`leoweb-bot report` as a subprocess against `leoweb-bot sandbox` on loopback."""

from __future__ import annotations

import json
import subprocess
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import pytz

from leoweb_bot.amocrm.models import Task
from leoweb_bot.reports import is_overdue
from leoweb_bot.sandbox import Sandbox
from leoweb_bot.sandbox import generate
from tests.kit.cli import run_cli
from tests.kit.fakebot import FakeBotAPI

ZONES = ["UTC", "Asia/Almaty", "America/New_York", "Pacific/Kiritimati"]


def auth_env(info: dict[str, Any], mode: str, tmp_path: Path) -> dict[str, str]:
    env = {
        "LEOWEB_AMOCRM_BASE_URL": info["base_url"],
        "LEOWEB_AMOCRM_AUTH": mode,
        "LEOWEB_BOT_STATE_PATH": str(tmp_path / "state.sqlite3"),
    }
    if mode == "token":
        env["LEOWEB_AMOCRM_TOKEN"] = info["token"]
    elif mode == "session":
        env.update(LEOWEB_AMOCRM_LOGIN=info["login"], LEOWEB_AMOCRM_API_KEY=info["api_key"])
    else:
        env.update(
            LEOWEB_AMOCRM_CLIENT_ID=info["client_id"],
            LEOWEB_AMOCRM_CLIENT_SECRET=info["client_secret"],
            LEOWEB_AMOCRM_REDIRECT_URI=info["redirect_uri"],
            LEOWEB_AMOCRM_AUTH_CODE=info["auth_code"],
        )
    return env


def expected_counts(info: dict[str, Any], now: int) -> Counter[int]:
    """Count overdue tasks straight from the sandbox's data (same seed, sizes and anchor time)."""
    data = generate(seed=7, tasks=2000, managers=12, now=info["now"])
    tz = pytz.timezone("Asia/Almaty")
    tasks = (Task.from_v4(raw) for raw in data.tasks)
    return Counter(t.responsible_user_id for t in tasks if is_overdue(t, now, tz))


@pytest.mark.parametrize("mode", ["token", "oauth", "session"])
def test_report_json_matches_sandbox_data(mode: str, sandbox_2000: dict, tmp_path: Path) -> None:
    now = sandbox_2000["now"]
    result = run_cli(
        "report",
        "--json",
        "--now",
        str(now),
        cwd=tmp_path,
        **auth_env(sandbox_2000, mode, tmp_path),
    )
    assert result.returncode == 0, result.stderr
    payload = json.loads(result.stdout)
    counts = expected_counts(sandbox_2000, now)
    assert sum(counts.values()) > 250  # several pages of overdue tasks
    assert payload["total_overdue"] == sum(counts.values())
    assert {m["amocrm_user_id"]: m["overdue"] for m in payload["managers"]} == dict(counts)
    order = [(-m["overdue"], m["amocrm_user_id"]) for m in payload["managers"]]
    assert order == sorted(order)


def test_report_json_is_identical_under_any_server_timezone(
    sandbox_2000: dict, tmp_path: Path
) -> None:
    env = auth_env(sandbox_2000, "token", tmp_path)
    now = str(sandbox_2000["now"])
    outputs = {
        zone: run_cli("report", "--json", "--now", now, cwd=tmp_path, TZ=zone, **env)
        for zone in ZONES
    }
    assert all(r.returncode == 0 for r in outputs.values())
    assert len({r.stdout for r in outputs.values()}) == 1
    assert json.loads(outputs["UTC"].stdout)["generated_at"].endswith("+05:00")


def test_report_table_for_one_manager(sandbox_2000: dict, tmp_path: Path) -> None:
    env = auth_env(sandbox_2000, "token", tmp_path)
    result = run_cli("report", "--manager", "Зелимхан", cwd=tmp_path, **env)
    assert result.returncode == 0, result.stderr
    assert "Зелимхан" in result.stdout
    assert "Милана" not in result.stdout
    assert "(Asia/Almaty)" in result.stdout


def test_unknown_manager_gets_usage_help(sandbox_2000: dict, tmp_path: Path) -> None:
    env = auth_env(sandbox_2000, "token", tmp_path)
    result = run_cli("report", "--manager", "Nobody", cwd=tmp_path, **env)
    assert result.returncode == 2
    assert "Зелимхан" in result.stderr


def test_report_sandbox_needs_no_config(tmp_path: Path) -> None:
    result = run_cli("report", "--sandbox", "--json", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["total_overdue"] > 0


def test_missing_config_names_the_key_and_where_the_file_was_looked_for(tmp_path: Path) -> None:
    result = run_cli("report", cwd=tmp_path)
    assert result.returncode == 2
    assert "amocrm.base_url" in result.stderr
    assert f"config file not found: {tmp_path / 'config.toml'} (the default)" in result.stderr
    assert result.stderr.count("\n") == 1
    elsewhere = tmp_path / "etc" / "leoweb.toml"
    result = run_cli("report", cwd=tmp_path, LEOWEB_CONFIG=str(elsewhere))
    assert f"config file not found: {elsewhere} (from $LEOWEB_CONFIG)" in result.stderr
    result = run_cli("report", "--config", "nope.toml", cwd=tmp_path)
    assert f"config file not found: {tmp_path / 'nope.toml'} (from --config)" in result.stderr
    assert "Traceback" not in result.stderr


def test_oauth_check_in_one_folder_then_report_in_another_share_the_token_pair(
    tmp_path: Path,
) -> None:
    """README order: `check` spends the single-use code; every later command finds the pair."""
    etc, here, there = tmp_path / "etc", tmp_path / "here", tmp_path / "there"
    for folder in (etc, here, there):
        folder.mkdir()
    with Sandbox(rate_limit=0) as sandbox, FakeBotAPI() as fake:
        creds = sandbox.credentials
        config = etc / "config.toml"
        config.write_text(
            "[telegram]\n"
            'token = "123456789:AAOauthFolderTestTokenValue_abcdefgh"\n'
            'webhook_secret = "folder-test-secret"\n'
            f'api_url = "{fake.url}"\n'
            "[amocrm]\n"
            f'base_url = "{sandbox.base_url}"\n'
            'auth = "oauth"\n'
            f'client_id = "{creds.client_id}"\n'
            f'client_secret = "{creds.client_secret}"\n'
            f'redirect_uri = "{creds.redirect_uri}"\n'
            f'auth_code = "{creds.auth_code}"\n',
            encoding="utf-8",
        )
        check = run_cli("check", cwd=here, LEOWEB_CONFIG=str(config))
        assert check.returncode == 0, check.stdout
        assert f"ok   config file: {config} (from $LEOWEB_CONFIG)" in check.stdout
        state = etc / "leoweb-bot.sqlite3"
        assert f"ok   state db: {state} writable" in check.stdout
        assert "spends amocrm.auth_code and keeps the token pair here" in check.stdout
        report = run_cli("report", "--json", cwd=there, LEOWEB_CONFIG=str(config))
        assert report.returncode == 0, report.stderr
        again = run_cli("check", "--config", str(config), cwd=there)
        assert "holds the amoCRM OAuth token pair" in again.stdout
    assert json.loads(report.stdout)["total_overdue"] > 0
    assert state.exists()
    assert not any(here.iterdir()) and not any(there.iterdir())


def test_check_without_any_config_creates_nothing(tmp_path: Path) -> None:
    result = run_cli("check", cwd=tmp_path)
    assert result.returncode == 1
    assert result.stdout.splitlines() == [
        f"FAIL config file not found: {tmp_path / 'config.toml'} (the default); choose one with "
        "--config PATH or $LEOWEB_CONFIG, or write one with `leoweb-bot init`"
    ]
    assert not any(tmp_path.iterdir())


def test_wrong_token_is_a_clear_error_without_the_token(sandbox_2000: dict, tmp_path: Path) -> None:
    env = auth_env(sandbox_2000, "token", tmp_path)
    env["LEOWEB_AMOCRM_TOKEN"] = "wrong-token-value-123"
    result = run_cli("report", cwd=tmp_path, **env)
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert "wrong-token-value-123" not in result.stderr + result.stdout


# -- report --manager: the same matching as /report in the bot ---------------------------------


@pytest.fixture(scope="module")
def two_milanas() -> Iterator[Sandbox]:
    """A sandbox where one name ("Милана") is part of another ("Милана Ким")."""
    with Sandbox(seed=1, tasks=300, managers=8, rate_limit=0) as sandbox:
        next(u for u in sandbox.data.users if u["name"] == "Камила")["name"] = "Милана Ким"
        yield sandbox


def report_for(sandbox: Sandbox, tmp_path: Path, manager: str) -> subprocess.CompletedProcess[str]:
    env = {
        "LEOWEB_AMOCRM_BASE_URL": sandbox.base_url or "",
        "LEOWEB_AMOCRM_TOKEN": sandbox.credentials.token,
        "LEOWEB_BOT_STATE_PATH": str(tmp_path / "state.sqlite3"),
    }
    return run_cli("report", "--manager", manager, cwd=tmp_path, **env)


KNOWN = "Администратор, Айгерим, Асель, Данияр, Зелимхан, Милана, Милана Ким, Нурлан, Сарбиназ"


def test_manager_exact_name_wins(two_milanas: Sandbox, tmp_path: Path) -> None:
    result = report_for(two_milanas, tmp_path, "милана")
    assert result.returncode == 0, result.stderr
    assert "Милана " in result.stdout and "Милана Ким" not in result.stdout


@pytest.mark.parametrize("query", ["12345", "#12345", "²", "٣", "Вася"])
def test_manager_unknown_id_or_name_is_not_found(
    two_milanas: Sandbox, tmp_path: Path, query: str
) -> None:
    result = report_for(two_milanas, tmp_path, query)
    assert (result.returncode, result.stdout) == (2, "")
    assert result.stderr == f"error: no manager matches {query!r}; known: {KNOWN}\n"


def test_manager_ambiguous_lists_the_candidates(two_milanas: Sandbox, tmp_path: Path) -> None:
    result = report_for(two_milanas, tmp_path, "мил")
    assert (result.returncode, result.stdout) == (2, "")
    assert result.stderr == "error: several managers match 'мил': Милана, Милана Ким\n"


@pytest.mark.parametrize("query", ["", "   "])
def test_manager_empty_is_an_error(two_milanas: Sandbox, tmp_path: Path, query: str) -> None:
    result = report_for(two_milanas, tmp_path, query)
    assert (result.returncode, result.stdout) == (2, "")
    assert result.stderr == "error: --manager needs a manager's name or amoCRM user id\n"


def test_manager_long_query_is_not_echoed_whole(two_milanas: Sandbox, tmp_path: Path) -> None:
    result = report_for(two_milanas, tmp_path, "x" * 300)
    assert result.returncode == 2
    assert result.stderr.startswith(f"error: no manager matches '{'x' * 39}…'; known: ")


def test_check_with_a_missing_or_broken_config_file_is_one_line(tmp_path: Path) -> None:
    result = run_cli("check", "--config", "nope.toml", cwd=tmp_path)
    assert result.returncode == 1
    assert result.stdout.startswith(f"FAIL config: config file not found: {tmp_path / 'nope.toml'}")
    (tmp_path / "config.toml").write_text("[amocrm\n", encoding="utf-8")
    result = run_cli("check", cwd=tmp_path)
    assert result.stdout.startswith(f"FAIL config: {tmp_path / 'config.toml'}: not valid TOML")
    assert len(result.stdout.splitlines()) == 1
    assert not (tmp_path / "leoweb-bot.sqlite3").exists()
