"""The command table and what is read from it: who may use what, /help, usage, the menus."""

from __future__ import annotations

import re

import pytest

from leoweb_bot.access import Person
from leoweb_bot.access import Role
from leoweb_bot.access import who
from leoweb_bot.bot.request import Command
from leoweb_bot.bot.request import Menu
from leoweb_bot.bot.request import Request
from leoweb_bot.bot.table import COMMANDS
from leoweb_bot.bot.table import LEADERS
from leoweb_bot.bot.table import may_use
from leoweb_bot.bot.table import menu
from leoweb_bot.bot.table import shared_menu
from leoweb_bot.bot.texts import CATALOG
from leoweb_bot.bot.views import render_help
from leoweb_bot.bot.views import usage
from leoweb_bot.config import AccessSettings

ACCESS = AccessSettings(admins=(1,), directors=(2,), managers={3: 1387123})
STRANGER = 7


@pytest.mark.parametrize(
    ("command", "manager", "director", "admin"),
    [
        ("start", True, True, True),
        ("help", True, True, True),
        ("whoami", True, True, True),
        ("report", True, True, True),
        ("mytasks", True, True, True),
        ("done", True, True, True),
        ("lead", True, True, True),
        ("contact", True, True, True),
        ("funnel", False, True, True),
        ("chart", True, True, True),  # a manager's is their own
        ("team", False, True, True),
        ("amocrm", False, True, True),
        ("subscribe", True, True, True),
        ("unsubscribe", True, True, True),
        ("subscriptions", True, True, True),
        ("version", False, False, True),
        ("invite", False, True, True),
        ("people", False, True, True),
        ("remove", False, True, True),
        ("nonsense", False, False, False),
    ],
)
def test_commands_per_role(command: str, manager: bool, director: bool, admin: bool) -> None:
    assert may_use(who(ACCESS, 3), command) is manager
    assert may_use(who(ACCESS, 2), command) is director
    assert may_use(who(ACCESS, 1), command) is admin
    assert may_use(who(ACCESS, STRANGER), command) is (command == "start")  # to ask to join


@pytest.mark.parametrize("lang", sorted(CATALOG))
def test_every_row_has_its_strings_in_every_language(lang: str) -> None:
    for command in COMMANDS:
        keys = (command.help, command.own_help, command.args)
        assert all(CATALOG[lang].get(key) for key in keys if key), command.name
        assert re.fullmatch(r"[a-z0-9_]{1,32}", command.name)  # Bot API BotCommand


@pytest.mark.parametrize("role", [Role.ADMIN, Role.DIRECTOR, Role.MANAGER])
@pytest.mark.parametrize("lang", ["ru", "en"])
def test_a_roles_menu_fits_set_my_commands(role: Role, lang: str) -> None:
    commands = menu(lang, role)
    assert commands[0][0] == "start"
    assert [name for name, _ in commands] == [c.name for c in COMMANDS if c.allows(role)]
    for _, description in commands:
        assert 1 <= len(description) <= 256 and "<" not in description


def test_shared_menus() -> None:
    assert [name for name, _ in shared_menu("ru", Menu.DEFAULT)] == ["start", "help", "whoami"]
    groups = ["help", "report", "funnel", "chart", "team", "subscribe", "unsubscribe",
              "subscriptions"]  # fmt: skip
    assert [name for name, _ in shared_menu("ru", Menu.GROUPS)] == groups
    assert ("report", "просроченные задачи по менеджерам") in shared_menu("ru", Menu.GROUPS)


def test_help_shows_arguments_except_a_managers_report() -> None:
    manager = render_help("ru", Role.MANAGER, COMMANDS)
    director = render_help("ru", Role.DIRECTOR, COMMANDS)
    assert "/report — мои просроченные задачи" in manager
    assert "/done &lt;id задачи&gt; [результат] — закрыть задачу" in manager
    assert "/report [менеджер] — просроченные задачи по менеджерам" in director
    for person in (manager, director):
        assert "/subscribe [ЧЧ:ММ] — ежедневная сводка в этот чат" in person
        assert "/subscriptions — что приходит в этот чат" in person
    assert "/funnel" not in manager and "/funnel" in director
    assert "/chart — мой график просрочки за 8 недель" in manager and "/team" not in manager
    assert "/chart [trend] — " in director and "/team [chart] — " in director


def test_usage_is_the_commands_syntax() -> None:
    done = next(c for c in COMMANDS if c.name == "done")
    assert usage("en", done) == "Usage: /done &lt;task id&gt; [result]"
    assert usage("ru", next(c for c in COMMANDS if c.name == "funnel")) == "Формат: /funnel"


def test_a_new_row_is_in_help_for_the_roles_it_names_only() -> None:
    def invite(req: Request) -> None: ...

    row = Command("invite", invite, LEADERS, "cmd_help", "args_report", menus=(Menu.GROUPS,))
    table = (*COMMANDS, row)
    assert "/invite [manager] — list of commands" in render_help("en", Role.DIRECTOR, table)
    assert "/invite" not in render_help("en", Role.MANAGER, table)
    assert not row.allows(who(ACCESS, 3).role) and row.allows(Person(1, Role.ADMIN, None).role)
