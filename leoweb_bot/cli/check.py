"""`leoweb-bot check`: validate config and reach every dependency, one line per check."""

from __future__ import annotations

import time
from collections.abc import Callable

from leoweb_bot.cli.failures import FAILURES
from leoweb_bot.config import ConfigError
from leoweb_bot.config import Settings
from leoweb_bot.logs import redact

Check = tuple[bool, str]


class CheckFailed(Exception):
    """A dependency answered, but not the way a working deployment needs."""


def run_all(settings: Settings) -> list[Check]:
    """Run every check, continuing after failures so the admin sees all problems at once.

    With neither a config file nor any LEOWEB_* setting there is nothing to check, and no
    state db is created in whatever folder `check` happened to run in.
    """
    results = check_source(settings)
    if not results[0][0]:
        return results
    for check in (check_config, check_state, check_amocrm, check_telegram):
        results.extend(check(settings))
    return results


def _guard(label: str, fn: Callable[[], str]) -> Check:
    try:
        return True, f"{label}: {fn()}"
    except (ConfigError, CheckFailed, *FAILURES) as exc:
        return False, f"{label}: {exc}"
    except Exception as exc:  # a check must report, never crash, and print no token
        return False, f"{label}: {type(exc).__name__}: {redact(str(exc))}"


def check_source(settings: Settings) -> list[Check]:
    """Which config file was read, or where it was looked for."""
    source = settings.source
    if source is None or source.found:
        return [(True, f"config file: {source.describe() if source else 'none (built in)'}")]
    if source.env_keys:
        count = len(source.env_keys)
        return [(True, f"config file: none at {source.path}; {count} LEOWEB_* variables set")]
    return [(False, source.describe())]


def check_config(settings: Settings) -> list[Check]:
    return [
        _guard(f"config [{section}]", lambda s=section: _require(settings, s))
        for section in ("amocrm", "telegram", "bot", "access", "digest", "sync", "server")
    ]


def _require(settings: Settings, section: str) -> str:
    settings.require(section)
    return "valid"


def check_state(settings: Settings) -> list[Check]:
    def probe() -> str:
        from leoweb_bot.state import State
        from leoweb_bot.state import health
        from leoweb_bot.state.tokens import Tokens

        state = State(settings.bot.state_path)
        try:
            state.ping()
            problem = health.probe_write(state, time.time()) or health.disk_problem(state.path)
            if problem:
                raise CheckFailed(problem)
            line = f"{settings.bot.state_path} writable, inbox depth {state.inbox.depth()}"
            if settings.amocrm.auth == "oauth":
                line += _oauth_note(Tokens(state).load_tokens() is not None)
            return line
        finally:
            state.close()

    return [_guard("state db", probe)]


def _oauth_note(has_tokens: bool) -> str:
    if has_tokens:
        return "; holds the amoCRM OAuth token pair"
    # amoCRM codes are single-use: the pair lives only in the state db that spent the code.
    return (
        "; no amoCRM OAuth tokens yet: the check below spends amocrm.auth_code and keeps the "
        "token pair here, so the server must use this state db"
    )


def check_amocrm(settings: Settings) -> list[Check]:
    try:
        settings.require("amocrm")
    except ConfigError:
        return [(False, "amoCRM: skipped, [amocrm] is not configured")]
    from leoweb_bot.cli.amo import one_shot_client

    client = one_shot_client(settings)
    with client, client.operation():
        account = _guard(
            "amoCRM account",
            lambda: (
                f"«{client.account().name}» at {settings.amocrm.base_url} "
                f"(auth = {settings.amocrm.auth})"
            ),
        )
        if not account[0]:
            return [account]
        users = _guard("amoCRM users", lambda: f"{len(client.users())} visible")
    return [account, users]


def check_telegram(settings: Settings) -> list[Check]:
    try:
        settings.require("telegram")
    except ConfigError:
        return [(False, "Telegram: skipped, [telegram] is not configured")]
    from leoweb_bot.telegram.client import build_telegram

    telegram = build_telegram(settings)
    me = _guard("Telegram bot", lambda: f"@{telegram.get_me().username}")
    if not me[0]:
        return [me]
    return [me, _guard("Telegram webhook", lambda: _webhook_state(settings, telegram))]


def _webhook_state(settings: Settings, telegram) -> str:  # type: ignore[no-untyped-def]
    info = telegram.webhook_info()
    if not info.url:
        return "not set (fine for `poll`; run `leoweb-bot set-webhook` for `serve`)"
    if settings.telegram.public_url and info.url != settings.telegram.webhook_url:
        raise CheckFailed(f"set to {info.url}, expected {settings.telegram.webhook_url}")
    if info.last_error_message:
        raise CheckFailed(
            f"{info.url}: {info.pending_update_count} pending, last error: {info.last_error_message}"
        )
    return f"{info.url} ({info.pending_update_count} pending)"
