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
import typing
from collections.abc import Mapping
from dataclasses import dataclass
from dataclasses import field
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytz

from leoweb_bot.values import ConfigError
from leoweb_bot.values import check_url
from leoweb_bot.values import coerce
from leoweb_bot.values import masked_repr
from leoweb_bot.values import parse_time
from leoweb_bot.values import quiet_hours
from leoweb_bot.values import secret_field

WEBHOOK_SECRET_RE = re.compile(r"^[A-Za-z0-9_-]{1,256}$")
AUTH_MODES = ("token", "oauth", "session")
LANGUAGES = ("ru", "en")
# Telegram's shared senders, not people: a message sent on behalf of a chat carries a fake
# sender user (https://core.telegram.org/bots/api#message, "from"). Whoever writes as one of
# them is unknown, so these ids never get access, whatever the config lists.
SERVICE_ACCOUNTS: Mapping[int, str] = {
    1087968824: "Telegram's shared account of anonymous group admins (GroupAnonymousBot)",
    136817688: "Telegram's shared account of posts on behalf of a channel (Channel_Bot)",
    777000: "Telegram's own service account",
}


@dataclass(frozen=True, repr=False)
class TelegramSettings:
    token: str = secret_field()
    webhook_secret: str = secret_field()
    public_url: str = ""
    api_url: str = "https://api.telegram.org"

    __repr__ = masked_repr

    @property
    def webhook_url(self) -> str:
        return f"{self.public_url.rstrip('/')}/telegram/webhook"


@dataclass(frozen=True, repr=False)
class AmoSettings:
    base_url: str = ""
    auth: str = "token"
    token: str = secret_field()
    login: str = ""
    api_key: str = secret_field()
    client_id: str = ""
    client_secret: str = secret_field()
    redirect_uri: str = ""
    auth_code: str = secret_field()
    rate_limit: float = 7
    timeout: float = 10
    webhook_secret: str = secret_field()

    __repr__ = masked_repr


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
    invite_days: int = 7  # an invite link expires after this many days
    max_open_requests: int = 20  # join requests waiting for a decision, at most


@dataclass(frozen=True)
class DigestSettings:
    time: str = "09:00"
    weekdays_only: bool = True
    chart: bool = True  # a director's digest also brings the overdue chart


@dataclass(frozen=True)
class AlertsSettings:
    enabled: bool = True
    interval_minutes: int = 10
    quiet_hours: str = "21:00-09:00"


@dataclass(frozen=True)
class SyncSettings:  # the local mirror of amoCRM (docs/architecture.md#sync)
    interval_seconds: int = 60  # incremental poll: changed tasks and leads, deletions
    max_age_seconds: int = 180  # older than this, screens say the data is stale and since when
    reconcile_at: str = "03:30"  # company time: the daily full resync


@dataclass(frozen=True)
class ServerSettings:
    host: str = "127.0.0.1"
    port: int = 8080
    workers: int = 2
    threads: int = 8


@dataclass(frozen=True)
class ConfigSource:
    """Where settings came from: the file looked at (found or not) and the env overrides."""

    path: Path  # absolute
    origin: str  # "--config", "$LEOWEB_CONFIG" or "default"
    found: bool
    env_keys: tuple[str, ...] = ()
    named: str = "config.toml"  # as the person wrote it, for the commands we suggest

    def describe(self) -> str:
        """The file and how it was chosen, for `check` and for errors."""
        how = "the default" if self.origin == "default" else f"from {self.origin}"
        if self.found:
            return f"{self.path} ({how})"
        return (
            f"config file not found: {self.path} ({how}); choose one with --config PATH or "
            "$LEOWEB_CONFIG, or write one with `leoweb-bot init`"
        )


@dataclass(frozen=True)
class Settings:
    telegram: TelegramSettings = field(default_factory=TelegramSettings)
    amocrm: AmoSettings = field(default_factory=AmoSettings)
    bot: BotSettings = field(default_factory=BotSettings)
    access: AccessSettings = field(default_factory=AccessSettings)
    digest: DigestSettings = field(default_factory=DigestSettings)
    alerts: AlertsSettings = field(default_factory=AlertsSettings)
    sync: SyncSettings = field(default_factory=SyncSettings)
    server: ServerSettings = field(default_factory=ServerSettings)
    source: ConfigSource | None = field(default=None, compare=False)  # None: not from a file

    def require(self, *sections: str) -> Settings:
        """Check that the named sections are usable; raise ConfigError naming the first bad key.

        Without a config file, the error also says where the file was looked for: a key
        "missing" because the file is elsewhere is the likelier mistake.
        """
        try:
            for section in sections:
                _CHECKS[section](self)
        except ConfigError as exc:
            if self.source is None or self.source.found:
                raise
            raise ConfigError(f"{exc}; {self.source.describe()}") from None
        return self

    def secrets(self) -> list[str]:
        """The value of every secret key, for the log formatter to scrub."""
        return [
            getattr(getattr(self, section), f.name)
            for section, cls in SECTIONS.items()
            for f in dataclasses.fields(cls)
            if f.metadata.get("secret")
        ]


SECTIONS: dict[str, type] = {
    "telegram": TelegramSettings,
    "amocrm": AmoSettings,
    "bot": BotSettings,
    "access": AccessSettings,
    "digest": DigestSettings,
    "alerts": AlertsSettings,
    "sync": SyncSettings,
    "server": ServerSettings,
}
ENV_PREFIXES = tuple(f"LEOWEB_{section.upper()}_" for section in SECTIONS)


def is_secret(key: str) -> bool:
    """Whether ``section.key`` (e.g. ``amocrm.api_key``) holds a secret."""
    section, _, name = key.partition(".")
    fields = {f.name: f for f in dataclasses.fields(SECTIONS[section])}
    return bool(fields[name].metadata.get("secret"))


def config_source(explicit: str | None, env: Mapping[str, str]) -> ConfigSource:
    """Where the config file is: the flag, else $LEOWEB_CONFIG, else ./config.toml."""
    if explicit:
        path, origin = explicit, "--config"
    elif env.get("LEOWEB_CONFIG"):
        path, origin = env["LEOWEB_CONFIG"], "$LEOWEB_CONFIG"
    else:
        path, origin = "config.toml", "default"
    file = Path(path).expanduser().absolute()
    overrides = tuple(sorted(key for key in env if key.startswith(ENV_PREFIXES)))
    return ConfigSource(file, origin, file.exists(), overrides, path)


def load_settings(
    path: str | Path | None = None,
    env: Mapping[str, str] | None = None,
    *,
    required_file: bool = False,
) -> Settings:
    """Read the TOML file (if present) and the environment into validated Settings.

    A file named by ``--config`` must exist. Without ./config.toml or the $LEOWEB_CONFIG file
    (the Docker image names /config/config.toml), the environment may carry every setting;
    ``Settings.require`` then says where the file was looked for.
    """
    env = os.environ if env is None else env
    source = config_source(str(path) if path else None, env)
    raw: dict[str, Any] = {}
    if source.found:
        raw = _read_toml(source.path)
    elif required_file or source.origin == "--config":
        raise ConfigError(source.describe())
    settings = settings_from_mapping(raw, env)
    bot = replace(settings.bot, state_path=_state_path(settings.bot.state_path, source, env))
    return replace(settings, bot=bot, source=source)


def _read_toml(file: Path) -> dict[str, Any]:
    try:
        return tomllib.loads(file.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{file}: not valid TOML ({exc})") from None
    except OSError as exc:
        raise ConfigError(
            f"{file}: cannot read ({exc.strerror}); it must be readable by the service user"
        ) from None


def _state_path(value: str, source: ConfigSource, env: Mapping[str, str]) -> str:
    """An absolute path; a relative one is read from where it was written.

    That is the config file's folder for the file's value or the default, and the current
    directory for $LEOWEB_BOT_STATE_PATH (or with no file). So `check` run in one folder and
    the server in another share one state db, and with it the OAuth token pair.
    """
    if not value:
        return value  # reported as missing by require("bot")
    written_in_file = source.found and "LEOWEB_BOT_STATE_PATH" not in env
    base = source.path.parent if written_in_file else Path.cwd()
    return str(base / Path(value).expanduser())


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
    types = typing.get_type_hints(cls)
    for key, value in raw.items():
        if key not in types:
            raise ConfigError(f"{name}.{key}: unknown key")
        values[key] = value
    for key in types:
        env_name = f"LEOWEB_{name.upper()}_{key.upper()}"
        if env_name in env:
            values[key] = env[env_name]
    return cls(**{key: coerce(f"{name}.{key}", types[key], v) for key, v in values.items()})


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
    check_url("telegram.api_url", t.api_url)


def _check_amocrm(s: Settings) -> None:
    a = s.amocrm
    if not a.base_url:
        raise ConfigError("amocrm.base_url: missing, e.g. https://SUBDOMAIN.amocrm.ru")
    check_url("amocrm.base_url", a.base_url)
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
    if parse_time(s.digest.time) is None:
        raise ConfigError(f"digest.time: must be HH:MM, got {s.digest.time!r}")
    if s.alerts.quiet_hours and quiet_hours(s.alerts.quiet_hours) is None:
        raise ConfigError("alerts.quiet_hours: must be HH:MM-HH:MM or empty")
    if s.alerts.interval_minutes < 1:
        raise ConfigError("alerts.interval_minutes: must be at least 1")
    if s.sync.interval_seconds < 1:
        raise ConfigError("sync.interval_seconds: must be at least 1")
    if s.sync.max_age_seconds <= s.sync.interval_seconds:
        raise ConfigError("sync.max_age_seconds: must be above sync.interval_seconds")
    if parse_time(s.sync.reconcile_at) is None:
        raise ConfigError(f"sync.reconcile_at: must be HH:MM, got {s.sync.reconcile_at!r}")


def _check_server(s: Settings) -> None:
    if not 0 <= s.server.port <= 65535:
        raise ConfigError("server.port: must be 0-65535")
    for key in ("workers", "threads"):
        if getattr(s.server, key) < 1:
            raise ConfigError(f"server.{key}: must be at least 1")


def _check_access(s: Settings) -> None:
    """No service account in a list: granting one would grant everyone who writes as it."""
    access = s.access
    for key in ("invite_days", "max_open_requests"):
        if getattr(access, key) < 1:
            raise ConfigError(f"access.{key}: must be at least 1")
    lists = (("admins", access.admins), ("directors", access.directors))
    for key, ids in (*lists, ("managers", access.managers)):  # managers: the Telegram ids
        for telegram_id in ids:
            if telegram_id in SERVICE_ACCOUNTS:
                raise ConfigError(
                    f"access.{key}: {telegram_id} is {SERVICE_ACCOUNTS[telegram_id]}, not a "
                    "person; list each person's own id (/whoami shows it, sent as themselves)"
                )


_CHECKS = {
    "telegram": _check_telegram,
    "amocrm": _check_amocrm,
    "bot": _check_bot,
    "access": _check_access,
    "digest": _check_schedule,
    "alerts": _check_schedule,
    "sync": _check_schedule,
    "server": _check_server,
}
