"""Settings: one TOML file, overridable key by key from the environment.

Load order: built-in defaults → TOML file (``--config``, ``$LEOWEB_CONFIG`` or ``./config.toml``)
→ ``LEOWEB_<SECTION>_<KEY>`` environment variables. Each command validates only the sections it
uses, so ``report`` does not ask for a Telegram token and ``demo`` needs no file at all.
"""

from __future__ import annotations

import dataclasses
import datetime
import os
import re
import tomllib
from collections.abc import Iterable
from collections.abc import Mapping
from dataclasses import dataclass
from dataclasses import field
from pathlib import Path
from typing import Any

import pytz

SECRET_KEYS = frozenset({"token", "webhook_secret", "api_key", "client_secret", "auth_code"})
WEBHOOK_SECRET_RE = re.compile(r"^[A-Za-z0-9_-]{1,256}$")
HHMM_RE = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$")
AUTH_MODES = ("token", "oauth", "session")
LANGUAGES = ("ru", "en")


class ConfigError(Exception):
    """A setting is missing or invalid; the message names the key in one line."""


def _mask(value: str) -> str:
    return "***" if value else "''"


def _secret_repr(self: object) -> str:
    parts = []
    for f in dataclasses.fields(self):  # type: ignore[arg-type]
        value = getattr(self, f.name)
        shown = _mask(value) if f.name in SECRET_KEYS else repr(value)
        parts.append(f"{f.name}={shown}")
    return f"{type(self).__name__}({', '.join(parts)})"


@dataclass(frozen=True, repr=False)
class TelegramSettings:
    token: str = ""
    webhook_secret: str = ""
    public_url: str = ""
    api_url: str = "https://api.telegram.org"

    __repr__ = _secret_repr

    @property
    def webhook_url(self) -> str:
        return f"{self.public_url.rstrip('/')}/telegram/webhook"


@dataclass(frozen=True, repr=False)
class AmoSettings:
    base_url: str = ""
    auth: str = "token"
    token: str = ""
    login: str = ""
    api_key: str = ""
    client_id: str = ""
    client_secret: str = ""
    redirect_uri: str = ""
    auth_code: str = ""
    rate_limit: float = 7
    timeout: float = 10
    webhook_secret: str = ""

    __repr__ = _secret_repr


@dataclass(frozen=True)
class BotSettings:
    timezone: str = "Asia/Almaty"
    language: str = "ru"
    state_path: str = "leoweb-bot.sqlite3"
    audit_days: int = 365  # audit rows older than this are deleted; 0 keeps them forever

    @property
    def tz(self) -> datetime.tzinfo:
        return pytz.timezone(self.timezone)


@dataclass(frozen=True)
class AccessSettings:
    admins: tuple[int, ...] = ()
    directors: tuple[int, ...] = ()
    managers: Mapping[int, int] = field(default_factory=dict)  # Telegram id -> amoCRM user id


@dataclass(frozen=True)
class DigestSettings:
    time: str = "09:00"
    weekdays_only: bool = True


@dataclass(frozen=True)
class AlertsSettings:
    enabled: bool = True
    interval_minutes: int = 10
    quiet_hours: str = "21:00-09:00"


@dataclass(frozen=True)
class ServerSettings:
    host: str = "127.0.0.1"
    port: int = 8080
    workers: int = 2
    threads: int = 8


@dataclass(frozen=True)
class Settings:
    telegram: TelegramSettings = field(default_factory=TelegramSettings)
    amocrm: AmoSettings = field(default_factory=AmoSettings)
    bot: BotSettings = field(default_factory=BotSettings)
    access: AccessSettings = field(default_factory=AccessSettings)
    digest: DigestSettings = field(default_factory=DigestSettings)
    alerts: AlertsSettings = field(default_factory=AlertsSettings)
    server: ServerSettings = field(default_factory=ServerSettings)

    def require(self, *sections: str) -> Settings:
        """Check that the named sections are usable; raise ConfigError naming the first bad key."""
        for section in sections:
            _CHECKS[section](self)
        return self


SECTIONS: dict[str, type] = {
    "telegram": TelegramSettings,
    "amocrm": AmoSettings,
    "bot": BotSettings,
    "access": AccessSettings,
    "digest": DigestSettings,
    "alerts": AlertsSettings,
    "server": ServerSettings,
}


def config_path(explicit: str | None, env: Mapping[str, str]) -> Path:
    """Where the config file is: the flag, else $LEOWEB_CONFIG, else ./config.toml."""
    return Path(explicit or env.get("LEOWEB_CONFIG") or "config.toml")


def load_settings(
    path: str | Path | None = None,
    env: Mapping[str, str] | None = None,
    *,
    required_file: bool = False,
) -> Settings:
    """Read the TOML file (if present) and the environment into validated Settings."""
    env = os.environ if env is None else env
    file = config_path(str(path) if path else None, env)
    raw: dict[str, Any] = {}
    if file.exists():
        try:
            raw = tomllib.loads(file.read_text(encoding="utf-8"))
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise ConfigError(f"{file}: not valid TOML ({exc})") from None
        except OSError as exc:
            raise ConfigError(
                f"{file}: cannot read ({exc.strerror}); it must be readable by the service user"
            ) from None
    elif required_file or path:
        raise ConfigError(f"{file}: config file not found (run `leoweb-bot init` to create one)")
    return settings_from_mapping(raw, env)


def settings_from_mapping(raw: Mapping[str, Any], env: Mapping[str, str] | None = None) -> Settings:
    """Build Settings from a parsed TOML mapping plus ``LEOWEB_<SECTION>_<KEY>`` overrides."""
    env = {} if env is None else env
    unknown = set(raw) - set(SECTIONS)
    if unknown:
        raise ConfigError(f"[{sorted(unknown)[0]}]: unknown section")
    sections = {name: _section(name, cls, raw.get(name, {}), env) for name, cls in SECTIONS.items()}
    return Settings(**sections)


def _section(name: str, cls: type, raw: Any, env: Mapping[str, str]) -> Any:
    if not isinstance(raw, Mapping):
        raise ConfigError(f"[{name}]: must be a table")
    values: dict[str, Any] = {}
    fields = {f.name: f for f in dataclasses.fields(cls)}
    for key, value in raw.items():
        if key not in fields:
            raise ConfigError(f"{name}.{key}: unknown key")
        values[key] = value
    for key in fields:
        env_name = f"LEOWEB_{name.upper()}_{key.upper()}"
        if env_name in env:
            values[key] = env[env_name]
    for key, value in values.items():
        values[key] = _coerce(f"{name}.{key}", fields[key], value)
    return cls(**values)


def _coerce(key: str, f: dataclasses.Field[Any], value: Any) -> Any:
    kind = str(f.type)  # a string: this module uses postponed annotations
    if kind == "str":
        if isinstance(value, bool) or not isinstance(value, str | int | float):
            raise ConfigError(f"{key}: must be a string")
        return str(value).strip()
    if kind == "bool":
        return _as_bool(key, value)
    if kind in ("int", "float"):
        return _as_number(key, value, int if kind == "int" else float)
    if kind == "tuple[int, ...]":
        return tuple(_as_ids(key, value))
    if kind == "Mapping[int, int]":
        return _as_manager_map(key, value)
    raise AssertionError(f"no coercion for {kind}")


def _as_bool(key: str, value: Any) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("1", "true", "yes", "on"):
        return True
    if text in ("0", "false", "no", "off"):
        return False
    raise ConfigError(f"{key}: must be true or false, got {value!r}")


def _as_number(key: str, value: Any, kind: type) -> int | float:
    if isinstance(value, bool):
        raise ConfigError(f"{key}: must be a number")
    try:
        number = kind(value)
    except (TypeError, ValueError):
        raise ConfigError(f"{key}: must be a number, got {value!r}") from None
    if number < 0:
        raise ConfigError(f"{key}: must not be negative")
    return number


def _as_ids(key: str, value: Any) -> Iterable[int]:
    if isinstance(value, str):
        value = [part for part in re.split(r"[,\s]+", value) if part]
    if not isinstance(value, list | tuple):
        raise ConfigError(f"{key}: must be a list of Telegram user ids")
    for item in value:
        yield int(_as_number(key, item, int))


def _as_manager_map(key: str, value: Any) -> dict[int, int]:
    if isinstance(value, str):  # env form: "123456789=1387123,987654321=1387124"
        pairs = [part.split("=", 1) for part in re.split(r"[,\s]+", value) if part]
        if any(len(pair) != 2 for pair in pairs):
            raise ConfigError(f"{key}: use TELEGRAM_ID=AMOCRM_USER_ID pairs")
        value = dict(pairs)
    if not isinstance(value, Mapping):
        raise ConfigError(f"{key}: must be a table of telegram_id = amocrm_user_id")
    return {
        int(_as_number(key, tg, int)): int(_as_number(key, amo, int)) for tg, amo in value.items()
    }


def _check_telegram(s: Settings) -> None:
    t = s.telegram
    if not t.token:
        raise ConfigError(
            "telegram.token: missing (LEOWEB_TELEGRAM_TOKEN); get one from @BotFather"
        )
    if t.token.count(":") != 1 or " " in t.token:
        raise ConfigError("telegram.token: does not look like a bot token (123456:ABC...)")
    if not WEBHOOK_SECRET_RE.match(t.webhook_secret):
        raise ConfigError("telegram.webhook_secret: 1-256 characters of A-Z a-z 0-9 _ - required")
    if not t.api_url.startswith(("http://", "https://")):
        raise ConfigError("telegram.api_url: must start with https://")


def _check_amocrm(s: Settings) -> None:
    a = s.amocrm
    if not a.base_url:
        raise ConfigError("amocrm.base_url: missing, e.g. https://SUBDOMAIN.amocrm.ru")
    if not a.base_url.startswith(("http://", "https://")):
        raise ConfigError("amocrm.base_url: must start with https://")
    if a.auth not in AUTH_MODES:
        raise ConfigError(f"amocrm.auth: must be one of {', '.join(AUTH_MODES)}, got {a.auth!r}")
    needed = {
        "token": ("token",),
        "session": ("login", "api_key"),
        "oauth": ("client_id", "client_secret", "redirect_uri"),
    }[a.auth]
    for key in needed:
        if not getattr(a, key):
            raise ConfigError(f"amocrm.{key}: missing (needed for auth = {a.auth!r})")
    if a.rate_limit <= 0:
        raise ConfigError("amocrm.rate_limit: must be above 0")
    if a.timeout <= 0:
        raise ConfigError("amocrm.timeout: must be above 0")
    if a.webhook_secret and not WEBHOOK_SECRET_RE.match(a.webhook_secret):
        raise ConfigError("amocrm.webhook_secret: 1-256 characters of A-Z a-z 0-9 _ - required")


def _check_bot(s: Settings) -> None:
    if s.bot.timezone not in pytz.all_timezones_set:
        raise ConfigError(f"bot.timezone: unknown timezone {s.bot.timezone!r}")
    if s.bot.language not in LANGUAGES:
        raise ConfigError(f"bot.language: must be one of {', '.join(LANGUAGES)}")
    if not s.bot.state_path:
        raise ConfigError("bot.state_path: missing")


def _check_schedule(s: Settings) -> None:
    if not HHMM_RE.match(s.digest.time):
        raise ConfigError(f"digest.time: must be HH:MM, got {s.digest.time!r}")
    start, _, end = s.alerts.quiet_hours.partition("-")
    if s.alerts.quiet_hours and not (HHMM_RE.match(start) and HHMM_RE.match(end)):
        raise ConfigError("alerts.quiet_hours: must be HH:MM-HH:MM or empty")
    if s.alerts.interval_minutes < 1:
        raise ConfigError("alerts.interval_minutes: must be at least 1")


def _check_server(s: Settings) -> None:
    if not 0 <= s.server.port <= 65535:
        raise ConfigError("server.port: must be 0-65535")
    if s.server.workers < 1 or s.server.threads < 1:
        raise ConfigError("server.workers: workers and threads must be at least 1")


def _check_access(s: Settings) -> None:
    """Access lists are already typed by coercion; nothing else can be wrong."""


_CHECKS = {
    "telegram": _check_telegram,
    "amocrm": _check_amocrm,
    "bot": _check_bot,
    "access": _check_access,
    "digest": _check_schedule,
    "alerts": _check_schedule,
    "server": _check_server,
}
