"""Config: TOML + LEOWEB_<SECTION>_<KEY> overrides, one-line errors naming the key, masked secrets."""

from __future__ import annotations

import datetime
from pathlib import Path

import pytest

from leoweb_bot.config import ConfigError
from leoweb_bot.config import is_secret
from leoweb_bot.config import load_settings
from leoweb_bot.config import settings_from_mapping
from leoweb_bot.proactive.alerts import quiet_window
from leoweb_bot.values import parse_time
from tests.kit.paths import ROOT

TOKEN = "123456:ABCdefGhIJKlmNoPQRsTUVwxyZ0123456789"


def test_example_config_parses_and_covers_every_key() -> None:
    import tomllib

    raw = tomllib.loads((ROOT / "config.example.toml").read_text(encoding="utf-8"))
    settings = settings_from_mapping(raw)
    defaults = settings_from_mapping({})
    for section in ("telegram", "amocrm", "bot", "digest", "alerts", "server"):
        import dataclasses

        keys = {f.name for f in dataclasses.fields(getattr(defaults, section))}
        assert keys <= set(raw[section]), f"config.example.toml misses keys of [{section}]"
    assert settings.bot.timezone == "Asia/Almaty"


def test_env_overrides_file(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text('[amocrm]\nbase_url = "https://a.amocrm.ru"\ntoken = "t1"\n', encoding="utf-8")
    env = {
        "LEOWEB_AMOCRM_TOKEN": "t2",
        "LEOWEB_BOT_TIMEZONE": "Europe/Berlin",
        "LEOWEB_AMOCRM_RATE_LIMIT": "3.5",
        "LEOWEB_ALERTS_ENABLED": "false",
        "LEOWEB_ACCESS_ADMINS": "1, 2",
        "LEOWEB_ACCESS_MANAGERS": "10=100,11=101",
    }
    settings = load_settings(path, env).require("amocrm", "bot")
    assert settings.amocrm.token == "t2"
    assert settings.amocrm.base_url == "https://a.amocrm.ru"
    assert settings.bot.timezone == "Europe/Berlin"
    assert settings.amocrm.rate_limit == 3.5
    assert settings.alerts.enabled is False
    assert settings.access.admins == (1, 2)
    assert settings.access.managers == {10: 100, 11: 101}


def test_config_path_from_env(tmp_path: Path) -> None:
    path = tmp_path / "other.toml"
    path.write_text('[bot]\nlanguage = "en"\n', encoding="utf-8")
    assert load_settings(None, {"LEOWEB_CONFIG": str(path)}).bot.language == "en"


def test_missing_default_file_is_fine_but_explicit_one_is_not(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert load_settings(None, {}).bot.timezone == "Asia/Almaty"
    with pytest.raises(ConfigError, match="not found") as flag:
        load_settings(tmp_path / "nope.toml", {})
    assert f"{tmp_path / 'nope.toml'} (from --config" in str(flag.value)
    # $LEOWEB_CONFIG may name a file that is not mounted: the environment then carries it all.
    settings = load_settings(None, {"LEOWEB_CONFIG": "elsewhere.toml"})
    with pytest.raises(ConfigError, match="not found") as env:
        settings.require("amocrm")
    assert f"{tmp_path / 'elsewhere.toml'} (from $LEOWEB_CONFIG" in str(env.value)


def test_a_missing_key_without_a_file_says_where_the_file_was_looked_for(
    tmp_path: Path, monkeypatch
) -> None:
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ConfigError) as info:
        load_settings(None, {}).require("amocrm")
    message = str(info.value)
    assert message.startswith("amocrm.base_url: missing")
    assert f"config file not found: {tmp_path / 'config.toml'} (the default" in message
    assert "\n" not in message


def test_relative_state_path_is_read_from_the_config_files_folder(
    tmp_path: Path, monkeypatch
) -> None:
    etc, elsewhere = tmp_path / "etc", tmp_path / "elsewhere"
    etc.mkdir()
    elsewhere.mkdir()
    config = etc / "config.toml"
    config.write_text('[bot]\nstate_path = "data/bot.sqlite3"\n', encoding="utf-8")
    monkeypatch.chdir(elsewhere)
    assert load_settings(config, {}).bot.state_path == str(etc / "data" / "bot.sqlite3")
    config.write_text("", encoding="utf-8")  # the default, leoweb-bot.sqlite3, is relative too
    assert load_settings(config, {}).bot.state_path == str(etc / "leoweb-bot.sqlite3")
    # A path in the environment is relative to the current directory, as any shell path is.
    env = {"LEOWEB_BOT_STATE_PATH": "here.sqlite3"}
    assert load_settings(config, env).bot.state_path == str(elsewhere / "here.sqlite3")
    env = {"LEOWEB_BOT_STATE_PATH": "/var/lib/leoweb-bot/leoweb-bot.sqlite3"}
    assert load_settings(config, env).bot.state_path == env["LEOWEB_BOT_STATE_PATH"]


@pytest.mark.parametrize("written", ["9:00", "09:00", "9.00"])
def test_a_time_of_day_has_one_rule_in_config_and_chat(written: str) -> None:
    settings = settings_from_mapping(
        {"digest": {"time": written}, "alerts": {"quiet_hours": f"21:00-{written}"}}
    ).require("digest", "alerts")
    assert parse_time(settings.digest.time) == "09:00"  # what /subscribe reads
    assert quiet_window(settings.alerts.quiet_hours) == (datetime.time(21), datetime.time(9))


@pytest.mark.parametrize(
    "url", ["http://127.0.0.1:8800", "http://localhost:8800", "http://[::1]:1", "https://a.b"]
)
def test_http_is_allowed_only_on_this_machine(url: str) -> None:
    raw = {
        "amocrm": {"base_url": url, "token": "t"},
        "telegram": {"token": TOKEN, "webhook_secret": "s", "api_url": url},
    }
    settings_from_mapping(raw).require("amocrm", "telegram")


def test_access_managers_table() -> None:
    settings = settings_from_mapping({"access": {"admins": [5], "managers": {"123": 1387123}}})
    assert settings.access.managers == {123: 1387123}
    assert settings.access.admins == (5,)


@pytest.mark.parametrize(
    ("raw", "sections", "key"),
    [
        ({}, ("amocrm",), "amocrm.base_url"),
        ({"amocrm": {"base_url": "x.amocrm.ru", "token": "t"}}, ("amocrm",), "amocrm.base_url"),
        ({"amocrm": {"base_url": "https://a", "auth": "magic"}}, ("amocrm",), "amocrm.auth"),
        ({"amocrm": {"base_url": "https://a"}}, ("amocrm",), "amocrm.token"),
        (
            {"amocrm": {"base_url": "https://a", "auth": "session", "login": "a@b"}},
            ("amocrm",),
            "amocrm.api_key",
        ),
        (
            {"amocrm": {"base_url": "https://a", "auth": "oauth", "client_id": "c"}},
            ("amocrm",),
            "amocrm.client_secret",
        ),
        ({"amocrm": {"rate_limit": "fast"}}, (), "amocrm.rate_limit"),
        ({"amocrm": {"tokn": "x"}}, (), "amocrm.tokn"),
        ({"bot": {"timezone": "Mars/Olympus"}}, ("bot",), "bot.timezone"),
        ({"bot": {"language": "de"}}, ("bot",), "bot.language"),
        ({}, ("telegram",), "telegram.token"),
        (
            {"telegram": {"token": TOKEN, "webhook_secret": "bad secret!"}},
            ("telegram",),
            "telegram.webhook_secret",
        ),
        ({"digest": {"time": "09:5٩"}}, ("digest",), "digest.time"),  # an Arabic-Indic 9
        ({"digest": {"time": "9:60"}}, ("digest",), "digest.time"),
        ({"alerts": {"quiet_hours": "21:00-25:00"}}, ("alerts",), "alerts.quiet_hours"),
        ({"access": {"admins": [12.5]}}, (), "access.admins"),
        ({"access": {"managers": {"5": 1.5}}}, (), "access.managers"),
        ({"server": {"port": 8080.5}}, (), "server.port"),
        ({"server": {"threads": 0}}, ("server",), "server.threads"),
        ({"amocrm": {"base_url": "http://a.amocrm.ru", "token": "t"}}, ("amocrm",), "https://"),
        (
            {"telegram": {"token": TOKEN, "webhook_secret": "s", "api_url": "http://tg.example"}},
            ("telegram",),
            "telegram.api_url",
        ),
        ({"alerts": {"quiet_hours": "21-9"}}, ("alerts",), "alerts.quiet_hours"),
        ({"alerts": {"enabled": "maybe"}}, (), "alerts.enabled"),
        ({"sync": {"interval_seconds": 0}}, ("sync",), "sync.interval_seconds"),
        ({"sync": {"max_age_seconds": 60}}, ("sync",), "sync.max_age_seconds"),
        ({"sync": {"reconcile_at": "3 30"}}, ("sync",), "sync.reconcile_at"),
        ({"server": {"port": 70000}}, ("server",), "server.port"),
        ({"access": {"admins": "abc"}}, (), "access.admins"),
        ({"nonsense": {}}, (), "nonsense"),
    ],
)
def test_errors_name_the_key_in_one_line(raw: dict, sections: tuple, key: str) -> None:
    with pytest.raises(ConfigError) as info:
        settings_from_mapping(raw).require(*sections)
    message = str(info.value)
    assert key in message
    assert "\n" not in message


def test_invalid_toml_is_one_line(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text("[amocrm\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_settings(path, {})


def test_repr_masks_secrets() -> None:
    settings = settings_from_mapping(
        {
            "telegram": {"token": TOKEN, "webhook_secret": "hook-secret-value"},
            "amocrm": {
                "token": "amo-secret-token",
                "api_key": "user-hash-value",
                "client_secret": "client-secret-value",
            },
        }
    )
    text = repr(settings)
    for secret in (
        TOKEN,
        "hook-secret-value",
        "amo-secret-token",
        "user-hash-value",
        "client-secret-value",
    ):
        assert secret not in text
    assert "token=***" in text


def test_secret_in_invalid_value_is_not_echoed() -> None:
    with pytest.raises(ConfigError) as info:
        settings_from_mapping({"telegram": {"token": "has space:secretvalue"}}).require("telegram")
    assert "secretvalue" not in str(info.value)


def test_unreadable_file_is_one_line(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.mkdir()  # reading a directory fails with OSError, as an unreadable file does for non-root
    with pytest.raises(ConfigError, match="cannot read"):
        load_settings(path, {})


def test_every_secret_key_is_scrubbed_from_logs_and_asked_without_echo() -> None:
    secret_keys = {
        "telegram.token", "telegram.webhook_secret", "amocrm.token", "amocrm.api_key",
        "amocrm.client_secret", "amocrm.auth_code", "amocrm.webhook_secret",
    }  # fmt: skip
    raw: dict[str, dict[str, str]] = {"telegram": {}, "amocrm": {}}
    for key in secret_keys:
        section, name = key.split(".")
        raw[section][name] = f"value-of-{key}"
    settings = settings_from_mapping({**raw, "amocrm": {**raw["amocrm"], "login": "a@b.kz"}})

    assert sorted(settings.secrets()) == sorted(f"value-of-{key}" for key in secret_keys)
    assert all(is_secret(key) for key in secret_keys)
    assert not any(is_secret(key) for key in ("amocrm.login", "amocrm.base_url", "bot.language"))


def test_values_from_the_environment_are_read_as_each_keys_type() -> None:
    env = {
        "LEOWEB_SERVER_PORT": "8081",
        "LEOWEB_ALERTS_ENABLED": "no",
        "LEOWEB_AMOCRM_TIMEOUT": "2.5",
        "LEOWEB_ACCESS_ADMINS": "1, 2",
        "LEOWEB_ACCESS_MANAGERS": "5=7",
        "LEOWEB_BOT_LANGUAGE": " en ",
        "LEOWEB_SYNC_INTERVAL_SECONDS": "30",
    }
    s = settings_from_mapping({}, env)
    assert (s.sync.interval_seconds, s.sync.reconcile_at) == (30, "03:30")

    assert (s.server.port, s.alerts.enabled, s.amocrm.timeout) == (8081, False, 2.5)
    assert (s.access.admins, s.access.managers, s.bot.language) == ((1, 2), {5: 7}, "en")
