"""The two types between the router and the handlers: a row of the command table
(:class:`Command`, the rows are in ``table.py``) and what a handler is given (:class:`Request`).
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from collections.abc import Sequence
from dataclasses import dataclass

from leoweb_bot.access import SEES_ALL
from leoweb_bot.access import Person
from leoweb_bot.access import Role
from leoweb_bot.bot.context import App
from leoweb_bot.bot.replies import Reply
from leoweb_bot.bot.texts import t
from leoweb_bot.telegram.updates import Sender


class Menu(enum.Enum):
    """Command menus shared by many people, by their ``setMyCommands`` scope
    (docs/telegram.md#command-menus); each person also gets a menu of their role's commands."""

    DEFAULT = "default"  # the fallback everyone sees, strangers too
    GROUPS = "all_group_chats"


@dataclass(frozen=True)
class Command:
    """One command, declared once: everything else (access, /help, usage, menus) reads this."""

    name: str  # what follows the slash
    run: Callable[[Request], None]  # the handler
    roles: frozenset[Role]  # who may use it
    help: str  # texts key of its line in /help and in the menus
    args: str | None = None  # texts key of its argument syntax, e.g. "args_done"
    needs_args: bool = False  # without arguments it answers with its usage
    own_help: str | None = None  # the line for someone who sees only their own (no arguments)
    menus: tuple[Menu, ...] = ()  # the shared menus it is in

    def allows(self, role: Role) -> bool:
        return role in self.roles

    def help_for(self, role: Role) -> str:
        return self.help if self.own_help is None or role in SEES_ALL else self.own_help

    def args_for(self, role: Role) -> str | None:
        return self.args if self.help_for(role) == self.help else None


@dataclass(frozen=True)
class Request:
    """One command from one person: who, with which arguments, and where to answer."""

    app: App
    person: Person
    sender: Sender  # as Telegram names them
    args: str
    reply: Reply
    command: Command
    table: tuple[Command, ...]  # every command, for /help

    @property
    def lang(self) -> str:
        return self.app.lang

    @property
    def first_name(self) -> str:
        return self.sender.first_name

    @property
    def private(self) -> bool:
        """Asked in the private chat with the bot (whose id is the person's own)."""
        return self.reply.chat_id == self.sender.id


def role_menu(table: Sequence[Command], lang: str, role: Role) -> list[tuple[str, str]]:
    """``(command, description)`` of every command of ``table`` this role may use: its menu."""
    return [(c.name, t(lang, c.help_for(role))) for c in table if c.allows(role)]
