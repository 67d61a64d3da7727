"""Config: TOML + LEOWEB_<SECTION>_<KEY> overrides, one-line errors naming the key, masked secrets."""

from __future__ import annotations

from pathlib import Path

import pytest

from leoweb_bot.config import ConfigError
from leoweb_bot.config import load_settings
from leoweb_bot.config import settings_from_mapping

ROOT = Path(__file__).resolve().parent.parent
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
    with pytest.raises(ConfigError, match="not found"):
        load_settings(tmp_path / "nope.toml", {})


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
        ({"digest": {"time": "9:00"}}, ("digest",), "digest.time"),
        ({"digest": {"time": "09:5٩"}}, ("digest",), "digest.time"),  # an Arabic-Indic 9
        ({"alerts": {"quiet_hours": "21-9"}}, ("alerts",), "alerts.quiet_hours"),
        ({"alerts": {"enabled": "maybe"}}, (), "alerts.enabled"),
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
