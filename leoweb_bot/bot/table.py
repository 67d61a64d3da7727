"""The command table: every Telegram command, declared once.

A row says what follows the slash, which handler in ``commands.py`` answers, which roles may use
it, the texts keys of its /help line and argument syntax, whether it needs arguments, and which
shared menus list it. Everything else is read from here: the router's access check and usage
answer, /help, and the ``setMyCommands`` menus (``cli/webhook.py``). Adding a command is a row
here, its handler and its strings in ``locales/``. Buttons have their own table: ``codec.py``.
"""

from __future__ import annotations

from leoweb_bot.access import Person
from leoweb_bot.access import Role
from leoweb_bot.bot import commands
from leoweb_bot.bot import invites
from leoweb_bot.bot import people
from leoweb_bot.bot import pictures
from leoweb_bot.bot import team
from leoweb_bot.bot.request import Command
from leoweb_bot.bot.request import Menu
from leoweb_bot.bot.request import role_menu
from leoweb_bot.bot.texts import t

ANYONE = frozenset({Role.ADMIN, Role.DIRECTOR, Role.MANAGER})  # everyone with access
EVERYONE = ANYONE | {Role.NONE}  # strangers too: /start is how they get in
LEADERS = frozenset({Role.ADMIN, Role.DIRECTOR})
ADMINS = frozenset({Role.ADMIN})
BASICS = (Menu.DEFAULT,)  # a stranger's menu: enough to greet and to learn their id
GROUPS = (Menu.GROUPS,)

# In the order /help lists them.
COMMANDS: tuple[Command, ...] = (
    Command("start", commands.start, EVERYONE, "cmd_start", menus=BASICS),
    Command("help", commands.help_command, ANYONE, "cmd_help", menus=(*BASICS, *GROUPS)),
    Command("whoami", commands.whoami, ANYONE, "cmd_whoami", menus=BASICS),
    Command("report", commands.report, ANYONE, "cmd_report", "args_report",
            own_help="cmd_report_own", menus=GROUPS),
    Command("mytasks", commands.mytasks, ANYONE, "cmd_mytasks"),
    Command("done", commands.done, ANYONE, "cmd_done", "args_done", needs_args=True),
    Command("lead", commands.lead, ANYONE, "cmd_lead", "args_lead", needs_args=True),
    Command("contact", commands.contact, ANYONE, "cmd_contact", "args_contact", needs_args=True),
    Command("funnel", commands.funnel, LEADERS, "cmd_funnel", menus=GROUPS),
    # Pictures and the team scorecard: a manager's /chart is their own 8 weeks.
    Command("chart", pictures.chart, ANYONE, "cmd_chart", "args_chart",
            own_help="cmd_chart_own", menus=GROUPS),
    Command("team", team.team, LEADERS, "cmd_team", "args_team", menus=GROUPS),
    Command("amocrm", commands.amocrm, LEADERS, "cmd_amocrm"),
    Command("version", commands.version, ADMINS, "cmd_version"),
    # Whoever may read the report may have it sent daily: the subscriber's role decides what.
    Command("subscribe", commands.subscribe, ANYONE, "cmd_subscribe", "args_subscribe",
            menus=GROUPS),
    Command("unsubscribe", commands.unsubscribe, ANYONE, "cmd_unsubscribe", menus=GROUPS),
    Command("subscriptions", commands.subscriptions, ANYONE, "cmd_subscriptions", menus=GROUPS),
    # People: invite links, who has access, removing someone (bot/invites.py, bot/people.py).
    Command("invite", invites.invite, LEADERS, "cmd_invite", "args_invite"),
    Command("people", people.people, LEADERS, "cmd_people"),
    Command("remove", people.remove_command, LEADERS, "cmd_remove", "args_remove",
            needs_args=True),
)  # fmt: skip
BY_NAME = {command.name: command for command in COMMANDS}


def may_use(person: Person, name: str) -> bool:
    """Whether this person's role may use the command ``name`` (a button asks for its command)."""
    command = BY_NAME.get(name)
    return command is not None and command.allows(person.role)


def menu(lang: str, role: Role) -> list[tuple[str, str]]:
    """``(command, description)`` of every command this role may use: its private menu."""
    return role_menu(COMMANDS, lang, role)


def shared_menu(lang: str, scope: Menu) -> list[tuple[str, str]]:
    """``(command, description)`` of the commands in a menu shared by many people."""
    return [(c.name, t(lang, c.help)) for c in COMMANDS if scope in c.menus]
