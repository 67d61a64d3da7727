"""`leoweb-bot check`: validate config and reach every dependency, one line per check."""

from __future__ import annotations

import time
from collections.abc import Callable

from leoweb_bot.amocrm.errors import AmoError
from leoweb_bot.config import ConfigError
from leoweb_bot.config import Settings

Check = tuple[bool, str]


class CheckFailed(Exception):
    """A dependency answered, but not the way a working deployment needs."""


def run_all(settings: Settings) -> list[Check]:
    """Run every check, continuing after failures so the admin sees all problems at once."""
    results: list[Check] = []
    for check in (check_config, check_state, check_amocrm, check_telegram):
        results.extend(check(settings))
    return results


def _guard(label: str, fn: Callable[[], str]) -> Check:
    try:
        return True, f"{label}: {fn()}"
    except (ConfigError, AmoError, CheckFailed) as exc:
        return False, f"{label}: {exc}"
    except Exception as exc:  # a check must report, never crash
        return False, f"{label}: {type(exc).__name__}: {exc}"


def check_config(settings: Settings) -> list[Check]:
    return [
        _guard(f"config [{section}]", lambda s=section: _require(settings, s))
        for section in ("amocrm", "telegram", "bot", "digest", "server")
    ]


def _require(settings: Settings, section: str) -> str:
    settings.require(section)
    return "valid"


def check_state(settings: Settings) -> list[Check]:
    def probe() -> str:
        from leoweb_bot import health
        from leoweb_bot.state import State

        state = State(settings.bot.state_path)
        state.ping()
        problem = health.probe_write(state, time.time()) or health.disk_problem(state.path)
        if problem:
            raise CheckFailed(problem)
        return f"{settings.bot.state_path} writable, inbox depth {state.inbox_depth()}"

    return [_guard("state db", probe)]


def check_amocrm(settings: Settings) -> list[Check]:
    try:
        settings.require("amocrm")
    except ConfigError:
        return [(False, "amoCRM: skipped, [amocrm] is not configured")]
    from leoweb_bot.amocrm import build_client
    from leoweb_bot.cli import token_store

    with build_client(settings.amocrm, token_store=token_store(settings)) as client:
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
    from leoweb_bot.telegram import build_telegram

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
