"""`set-webhook`, `delete-webhook`, `webhook-info`: manage the Telegram webhook once per deploy.

setWebhook is rate-limited per bot and every gunicorn worker calling it at start-up can fail
with 429 (docs/telegram.md#webhooks), so it is an explicit admin step, not a boot step.
"""

from __future__ import annotations

from collections.abc import Iterable
from collections.abc import Mapping
from collections.abc import Sequence
from pathlib import Path

from leoweb_bot.access import Member
from leoweb_bot.access import who
from leoweb_bot.access import with_members
from leoweb_bot.bot.members import as_member
from leoweb_bot.bot.request import Menu
from leoweb_bot.bot.table import menu
from leoweb_bot.bot.table import shared_menu
from leoweb_bot.cli.failures import CliError
from leoweb_bot.config import ConfigError
from leoweb_bot.config import Settings
from leoweb_bot.state import State
from leoweb_bot.state.people import members
from leoweb_bot.telegram.client import Telegram
from leoweb_bot.telegram.client import TelegramError
from leoweb_bot.telegram.client import build_telegram
from leoweb_bot.values import check_public_url

ALLOWED_UPDATES = ("message", "edited_message", "callback_query")


def menus(
    settings: Settings, let_in: Iterable[Member] = ()
) -> dict[str | int, Sequence[tuple[str, str]]]:
    """Command menus by scope, from the command table: the shared ones (the basics for
    everyone, the group commands), and the role's own menu in the chat of each person of the
    config and each one ``let_in`` through the bot."""
    lang, access = settings.bot.language, with_members(settings.access, let_in)
    scoped: dict[str | int, Sequence[tuple[str, str]]] = {
        m.value: shared_menu(lang, m) for m in Menu
    }
    for telegram_id in sorted({*access.admins, *access.directors, *access.managers}):
        # In a private chat the chat id is the user's id, so a chat scope is a per-person menu.
        scoped[telegram_id] = menu(lang, who(access, telegram_id).role)
    return scoped


def set_webhook(settings: Settings) -> int:
    """Register the webhook, then every menu Telegram accepts; name the menus it refused."""
    if not settings.telegram.public_url:
        raise ConfigError(
            "telegram.public_url: missing; the bot's https:// address, e.g. https://bot.example.com"
        )
    check_public_url(settings.telegram.public_url)
    telegram = build_telegram(settings)
    telegram.set_webhook(
        settings.telegram.webhook_url, settings.telegram.webhook_secret, ALLOWED_UPDATES
    )
    print(f"webhook set: {settings.telegram.webhook_url}")
    scoped = menus(settings, let_in(settings))
    refused = set_menus(telegram, scoped)
    print(f"command menus set: {len(scoped) - len(refused)} of {len(scoped)}")
    if refused:
        raise CliError(
            f"Telegram refused {len(refused)} command menus: {'; '.join(refused)} (a person's "
            "menu needs a private chat with the bot: ask them to send /start, then run "
            "set-webhook again)"
        )
    return 0


def let_in(settings: Settings) -> list[Member]:
    """The people let in through the bot, from the server's state db (none before it exists)."""
    path = Path(settings.bot.state_path)
    if not path.exists():
        return []
    state = State(path)
    try:
        return [as_member(row) for row in members(state)]
    finally:
        state.close()


def set_menus(
    telegram: Telegram, scoped: Mapping[str | int, Sequence[tuple[str, str]]]
) -> list[str]:
    """Set each scope's menu on its own, so one refusal costs one menu; the refusals."""
    refused = []
    for scope, commands in scoped.items():
        try:
            telegram.set_commands({scope: commands})
        except TelegramError as exc:
            if exc.code is None or exc.code in (401, 404):
                raise  # Telegram unreachable or the token refused: no menu can be set
            refused.append(f"{scope}: {exc.description}")
    return refused


def delete_webhook(settings: Settings) -> int:
    build_telegram(settings).delete_webhook()
    print("webhook deleted (pending updates are kept; `poll` will receive them)")
    return 0


def webhook_info(settings: Settings) -> int:
    info = build_telegram(settings).webhook_info()
    print(_describe(vars(info)))
    return 0


def _describe(fields: Mapping[str, object]) -> str:
    return "\n".join(f"{key}: {'' if value is None else value}" for key, value in fields.items())
