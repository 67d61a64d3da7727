"""`set-webhook`, `delete-webhook`, `webhook-info`: manage the Telegram webhook once per deploy.

setWebhook is rate-limited per bot and every gunicorn worker calling it at start-up can fail
with 429 (reference/telegram-bot-api.md §1), so it is an explicit admin step, not a boot step.
"""

from __future__ import annotations

from collections.abc import Mapping
from collections.abc import Sequence

from leoweb_bot.access import Role
from leoweb_bot.access import who
from leoweb_bot.config import ConfigError
from leoweb_bot.config import Settings
from leoweb_bot.telegram import build_telegram
from leoweb_bot.views import command_menu

ALLOWED_UPDATES = ("message", "edited_message", "callback_query")


def menus(settings: Settings) -> dict[str | int, Sequence[tuple[str, str]]]:
    """Command menus by scope: the basics for everyone, the role's own menu in each private chat."""
    lang = settings.bot.language
    access = settings.access
    people = {*access.admins, *access.directors, *access.managers}
    scoped: dict[str | int, Sequence[tuple[str, str]]] = {
        "default": _basics(lang),
        "all_group_chats": [c for c in command_menu(lang, Role.DIRECTOR) if c[0] in GROUP_COMMANDS],
    }
    for telegram_id in sorted(people):
        # In a private chat the chat id is the user's id, so a chat scope is a per-person menu.
        scoped[telegram_id] = command_menu(lang, who(access, telegram_id).role)
    return scoped


GROUP_COMMANDS = frozenset(
    {"report", "funnel", "subscribe", "unsubscribe", "subscriptions", "help"}
)


def _basics(lang: str) -> list[tuple[str, str]]:
    """What a stranger may use: enough to greet and to learn their id for the admin."""
    return [c for c in command_menu(lang, Role.MANAGER) if c[0] in ("start", "help", "whoami")]


def set_webhook(settings: Settings) -> int:
    url = settings.telegram.public_url
    if not url.startswith("https://"):
        raise ConfigError(
            "telegram.public_url: must be the bot's https:// address (Telegram calls only HTTPS)"
        )
    telegram = build_telegram(settings)
    telegram.set_webhook(
        settings.telegram.webhook_url, settings.telegram.webhook_secret, ALLOWED_UPDATES
    )
    print(f"webhook set: {settings.telegram.webhook_url}")
    scoped = menus(settings)
    telegram.set_commands(scoped)
    print(f"command menus set: {len(scoped) - 2} people, plus defaults and group chats")
    return 0


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
