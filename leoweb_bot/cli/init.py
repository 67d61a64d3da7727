"""``leoweb-bot init``: write a starter config.toml with fresh webhook secrets, mode 600.

Values come from flags, or from prompts when stdin is a terminal and ``--no-input`` is absent.
The output path is checked first, then every flag, then each answer as it is typed (a wrong
answer is explained and asked again), with the same rules ``leoweb-bot check`` applies; missing
values are listed as the next thing to fill in. Secrets (the bot token, amoCRM credentials, the
generated webhook secrets) are read without echo and never printed.
"""

from __future__ import annotations

import argparse
import getpass
import json
import os
import re
import secrets
import string
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

from leoweb_bot.config import ConfigError
from leoweb_bot.config import config_source
from leoweb_bot.config import is_secret
from leoweb_bot.config import load_settings
from leoweb_bot.config import settings_from_mapping
from leoweb_bot.values import check_public_url

DEFAULT_TIMEZONE = "Asia/Almaty"
# What each amoCRM auth mode needs before ``leoweb-bot check`` can pass (config._check_amocrm).
AUTH_KEYS = {
    "token": ("token",),
    "session": ("login", "api_key"),
    "oauth": ("client_id", "client_secret", "redirect_uri", "auth_code"),
}
PROMPTS = {
    "telegram.token": "Telegram bot token from @BotFather",
    "amocrm.base_url": "amoCRM address (https://SUBDOMAIN.amocrm.ru or SUBDOMAIN.kommo.com)",
    "amocrm.auth": "amoCRM auth: token (long-lived token), oauth, or session (login + API key)",
    "amocrm.token": "amoCRM long-lived token (Settings → Integrations → Keys)",
    "amocrm.login": "amoCRM login e-mail (USER_LOGIN)",
    "amocrm.api_key": "amoCRM API key (USER_HASH)",
    "amocrm.client_id": "amoCRM integration id",
    "amocrm.client_secret": "amoCRM integration secret key",
    "amocrm.redirect_uri": "redirect URI, exactly as in the integration settings",
    "amocrm.auth_code": "authorization code (valid 20 minutes)",
    "bot.timezone": "company timezone",
    "telegram.public_url": "public HTTPS address of this server (https://bot.example.com)",
}
BARE_HOST_RE = re.compile(r"^[A-Za-z0-9.-]+$")  # `leogroup`, `leogroup.kommo.com`
DEFAULTS = {"amocrm.auth": "token", "bot.timezone": DEFAULT_TIMEZONE}
# Stand-ins for missing values, so the given ones can be validated on their own.
PLACEHOLDERS = {
    "telegram.token": "0:placeholder",
    "amocrm.base_url": "https://placeholder.amocrm.ru",
    **DEFAULTS,
}
# Flags init takes, as ``section.key`` → argparse destination.
FLAGS = {
    "telegram.token": "telegram_token",
    "telegram.public_url": "public_url",
    "amocrm.base_url": "amocrm_url",
    "amocrm.auth": "auth",
    "amocrm.token": "amocrm_token",
    "bot.timezone": "timezone",
}

Asker = Callable[[str, str, bool], str]  # (prompt, default, secret) -> answer

TEMPLATE = string.Template("""\
# LeoWeb_bot configuration, written by `leoweb-bot init`. Check it with `leoweb-bot check`.
# Every key can be overridden by an environment variable LEOWEB_<SECTION>_<KEY>,
# e.g. LEOWEB_TELEGRAM_TOKEN or LEOWEB_AMOCRM_BASE_URL. Keep this file mode 600: it holds secrets.

[telegram]
token = $telegram_token  # from @BotFather (LEOWEB_TELEGRAM_TOKEN)
webhook_secret = $telegram_webhook_secret  # generated; Telegram sends it back in a header
public_url = $telegram_public_url  # https://bot.example.com ; the webhook is <public_url>/telegram/webhook
api_url = "https://api.telegram.org"  # a local Bot API server, or a fake one in tests

[amocrm]
base_url = $amocrm_base_url  # https://SUBDOMAIN.amocrm.ru or https://SUBDOMAIN.kommo.com
auth = $amocrm_auth  # token (API v4 long-lived token) | oauth (API v4) | session (legacy v2)
token = $amocrm_token  # auth = "token": Settings → Integrations → Keys → long-lived token
login = $amocrm_login  # auth = "session": the user's e-mail (USER_LOGIN)
api_key = $amocrm_api_key  # auth = "session": the user's API key (USER_HASH)
client_id = $amocrm_client_id  # auth = "oauth": integration id
client_secret = $amocrm_client_secret  # auth = "oauth": secret key
redirect_uri = $amocrm_redirect_uri  # auth = "oauth": exactly as in the integration settings
auth_code = $amocrm_auth_code  # auth = "oauth": one-time code (valid 20 min); rotated tokens live in the state db
rate_limit = 7  # requests per second to amoCRM for the whole server: one budget shared by every worker
timeout = 10  # seconds per request
webhook_secret = $amocrm_webhook_secret  # generated; path part of POST /amocrm/webhook/<secret>

[bot]
timezone = $bot_timezone  # company time: "today", digest times and every date shown
language = "ru"  # ru | en
state_path = "leoweb-bot.sqlite3"  # SQLite state; env LEOWEB_BOT_STATE_PATH (Docker and systemd set it)
audit_days = 365  # audit log rows older than this are deleted; 0 keeps them forever

[access]  # the bootstrap: everyone else is invited in chat (/invite, /people)
admins = []  # Telegram user ids; send /whoami to the bot to learn yours
directors = []
invite_days = 7  # invite links expire after this many days
max_open_requests = 20  # join requests waiting for a decision, at most
[access.managers]  # Telegram user id = amoCRM user id
# 123456789 = 1387123

[digest]
time = "09:00"  # company time
weekdays_only = true
chart = true  # a director's digest also brings the overdue chart (a picture)

[alerts]
enabled = true  # tell a manager when a task of theirs becomes overdue
interval_minutes = 10
quiet_hours = "21:00-09:00"  # company time; alerts wait and arrive as one message at the end

[sync]  # the local mirror of amoCRM that every screen reads
interval_seconds = 60  # ask amoCRM what changed (3 small requests) this often
max_age_seconds = 180  # older than this, screens say amoCRM is not answering
reconcile_at = "03:30"  # company time: the daily full resync

[server]
host = "127.0.0.1"  # behind a TLS reverse proxy; 0.0.0.0 inside Docker (LEOWEB_SERVER_HOST)
port = 8080
workers = 2
threads = 8
""")


# The values init fills in (``section.key``); the rest of the template is fixed text.
TEMPLATE_KEYS = (
    "telegram.token",
    "telegram.webhook_secret",
    "telegram.public_url",
    "amocrm.base_url",
    "amocrm.auth",
    "amocrm.token",
    "amocrm.login",
    "amocrm.api_key",
    "amocrm.client_id",
    "amocrm.client_secret",
    "amocrm.redirect_uri",
    "amocrm.auth_code",
    "amocrm.webhook_secret",
    "bot.timezone",
)


def run_init(args: argparse.Namespace) -> int:
    """Write the starter config: 0 when written, 1 if it exists (without --force) or can't be."""
    if args.output and args.config and Path(args.output) != Path(args.config):
        print("error: --output and --config name different files; give one", file=sys.stderr)
        return 2
    output = Path(args.output or config_source(args.config, os.environ).named)
    problem = output_problem(output, args.force)
    if problem:
        print(f"error: {problem}", file=sys.stderr)
        return 1
    interactive = not args.no_input and sys.stdin.isatty()
    try:
        values = collect(args, prompt if interactive else None)
    except EOFError:  # Ctrl+D at a prompt
        print("\nerror: input ended; nothing written", file=sys.stderr)
        return 1
    missing = missing_keys(values)
    validate(values)
    try:
        write_private(output, render(values))
    except OSError as exc:
        print(f"error: cannot write {output}: {exc.strerror}", file=sys.stderr)
        return 1
    load_settings(output, env={})  # what we wrote must load exactly as written
    print_next_steps(output, missing)
    return 0


def output_problem(path: Path, force: bool) -> str | None:
    """Why ``path`` cannot be written, found before any question is asked; None if it can."""
    folder = path.parent
    if path.is_dir():
        return f"{path} is a folder; give a file name, e.g. {path / 'config.toml'}"
    if path.exists() and not force:
        return f"{path} already exists; use --force to overwrite it"
    if not folder.is_dir():
        return f"cannot write {path}: folder {folder} does not exist"
    if not os.access(folder, os.W_OK | os.X_OK):
        return f"cannot write {path}: folder {folder} is not writable"
    return None


def collect(args: argparse.Namespace, ask: Asker | None) -> dict[str, str]:
    """Every value of the starter config as ``section.key`` → text; prompts fill the gaps.

    Flags are checked before the first question, so a wrong one costs no typed answers.
    """
    values = dict.fromkeys(TEMPLATE_KEYS, "")
    for key, dest in FLAGS.items():
        values[key] = checked(key, getattr(args, dest) or "")
    if ask is not None:
        ask_missing(values, ask)
    for key, default in DEFAULTS.items():
        values[key] = values[key] or default
    values["telegram.webhook_secret"] = new_secret()
    values["amocrm.webhook_secret"] = new_secret()
    return values


def ask_missing(values: dict[str, str], ask: Asker) -> None:
    """Prompt for each value not given as a flag, in the order an admin has them at hand."""
    for key in ("telegram.token", "amocrm.base_url", "amocrm.auth"):
        values[key] = values[key] or ask_valid(key, ask)
    for name in AUTH_KEYS[values["amocrm.auth"]]:
        key = f"amocrm.{name}"
        values[key] = values[key] or ask_valid(key, ask)
    for key in ("bot.timezone", "telegram.public_url"):
        values[key] = values[key] or ask_valid(key, ask)


def ask_valid(key: str, ask: Asker) -> str:
    """Ask until the answer passes ``checked``, saying what was wrong; empty skips the key."""
    secret = is_secret(key)
    while True:
        answer = ask(PROMPTS[key], DEFAULTS.get(key, ""), secret)
        try:
            return checked(key, answer)
        except ConfigError as exc:
            print(f"  {exc}; try again", file=sys.stderr)


def checked(key: str, text: str) -> str:
    """One value, tidied (``leogroup`` → ``https://leogroup.amocrm.ru``) and validated alone.

    Raises ConfigError with `check`'s own message: the same rules, called with stand-ins for
    the other values.
    """
    value = text.strip()
    if key == "amocrm.base_url":
        value = amocrm_url(value)
    elif key == "telegram.public_url":
        value = value.rstrip("/")
    elif key == "amocrm.auth":
        value = value.lower()
    validate({**dict.fromkeys(TEMPLATE_KEYS, ""), key: value})
    return value


def prompt(text: str, default: str, secret: bool) -> str:
    """Ask on the terminal; secrets are read without echo."""
    shown = f"{text} [{default}]: " if default else f"{text}: "
    answer = getpass.getpass(shown) if secret else input(shown)
    return answer.strip() or default


def amocrm_url(text: str) -> str:
    """``leogroup`` or ``leogroup.amocrm.ru`` → ``https://leogroup.amocrm.ru``."""
    text = text.strip().rstrip("/")
    if not BARE_HOST_RE.match(text):
        return text  # a full address, or not an address at all: `check` says which
    return f"https://{text}" if "." in text else f"https://{text}.amocrm.ru"


def new_secret() -> str:
    """256 random bits as URL-safe base64: only A-Z a-z 0-9 _ -, as setWebhook requires."""
    return secrets.token_urlsafe(32)


def missing_keys(values: dict[str, str]) -> list[str]:
    """Keys still empty that `check` (or, for public_url, `set-webhook`) will need."""
    needed = ["telegram.token", "amocrm.base_url"]
    needed += [f"amocrm.{name}" for name in AUTH_KEYS.get(values["amocrm.auth"], ())]
    needed.append("telegram.public_url")
    return [key for key in needed if not values[key]]


def validate(values: dict[str, str]) -> None:
    """Raise ConfigError for any given value that is wrong; missing ones are allowed for now."""
    probe = {key: value or PLACEHOLDERS.get(key, "placeholder") for key, value in values.items()}
    settings_from_mapping(as_mapping(probe)).require("telegram", "amocrm", "bot")
    if values["telegram.public_url"]:
        check_public_url(values["telegram.public_url"])


def as_mapping(values: dict[str, str]) -> dict[str, dict[str, str]]:
    tables: dict[str, dict[str, str]] = {}
    for key, value in values.items():
        section, name = key.split(".")
        tables.setdefault(section, {})[name] = value
    return tables


def render(values: dict[str, str]) -> str:
    """The config file text; values become TOML basic strings (JSON escapes are valid TOML)."""
    fields = {
        key.replace(".", "_"): json.dumps(values[key], ensure_ascii=False) for key in TEMPLATE_KEYS
    }
    return TEMPLATE.substitute(fields)


def write_private(path: Path, text: str) -> None:
    """Write ``text`` with mode 600 from the first byte, replacing ``path`` atomically."""
    directory = path.parent if str(path.parent) else Path(".")
    fd, tmp = tempfile.mkstemp(dir=directory, prefix=f".{path.name}.", suffix=".tmp")
    try:
        os.fchmod(fd, 0o600)  # mkstemp already uses 0600; say so explicitly
        with os.fdopen(fd, "w", encoding="utf-8") as file:
            file.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def print_next_steps(path: Path, missing: list[str]) -> None:
    found = path.absolute() == config_source(None, os.environ).path  # read without --config
    cli = "leoweb-bot" if found else f"leoweb-bot --config {path}"
    print(f"Wrote {path} (mode 600) with freshly generated webhook secrets.")
    if missing:
        print(f"Still to fill in (edit {path} or set LEOWEB_* variables): {', '.join(missing)}")
    print("Next steps:")
    print(f"  1. {cli} check")
    print("     validates the config and reaches amoCRM and Telegram, one line per check")
    print("  2. start the server: `docker compose up -d --build` (compose.yaml),")
    print(f"     the systemd unit in deploy/, or `{cli} serve` behind an HTTPS proxy")
    print(f"  3. {cli} set-webhook")
    print("     once per deploy, when https://<public_url>/healthz answers")
    print("  4. send /whoami to the bot in Telegram, put your id in [access] directors and")
    print("     restart the server; then let everyone else in with /invite in the chat")
