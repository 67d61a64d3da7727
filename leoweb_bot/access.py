"""Who someone is and what they may see: roles come from ``[access]`` in the config and from the
members let in through the bot (read from the state db by ``bot/members.py`` and passed in
here), and the default is deny. Which role may use which command is said once, in the command
table (``bot/table.py``); who may let whom in is :func:`may_manage`.

Roles are never taken from anything a user types: a name anyone can type proves nothing.
Every command and every button press asks these functions again, because callback data is
client-supplied and can be forged.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from dataclasses import dataclass
from dataclasses import replace

from leoweb_bot.amocrm.models import Task
from leoweb_bot.config import SERVICE_ACCOUNTS
from leoweb_bot.config import AccessSettings


class Role(enum.Enum):
    ADMIN = "admin"
    DIRECTOR = "director"
    MANAGER = "manager"
    NONE = "none"


@dataclass(frozen=True)
class Person:
    telegram_id: int
    role: Role
    amocrm_user_id: int | None  # a manager's; admins and directors may have one too


@dataclass(frozen=True)
class Member:
    """Someone let in through the bot (an invite or a request), not listed in the config."""

    telegram_id: int
    role: Role
    amocrm_user_id: int | None


SEES_ALL = frozenset({Role.ADMIN, Role.DIRECTOR})  # every manager's tasks, not only their own
# Whom each role may invite, change or remove: admins anyone, directors managers and directors.
MANAGES = {
    Role.ADMIN: frozenset({Role.ADMIN, Role.DIRECTOR, Role.MANAGER}),
    Role.DIRECTOR: frozenset({Role.DIRECTOR, Role.MANAGER}),
}


def who(access: AccessSettings, telegram_user_id: int) -> Person:
    """Resolve a Telegram user to a role; the highest role wins (an admin listed as manager stays admin).

    A service account gets no role even if listed: it stands for every anonymous admin of every
    group (or every channel), not for one person.
    """
    if is_service_account(telegram_user_id):
        return Person(telegram_id=telegram_user_id, role=Role.NONE, amocrm_user_id=None)
    amocrm_user_id = access.managers.get(telegram_user_id)
    if telegram_user_id in access.admins:
        role = Role.ADMIN
    elif telegram_user_id in access.directors:
        role = Role.DIRECTOR
    elif amocrm_user_id is not None:
        role = Role.MANAGER
    else:
        role = Role.NONE
    return Person(telegram_id=telegram_user_id, role=role, amocrm_user_id=amocrm_user_id)


def with_members(config: AccessSettings, members: Iterable[Member]) -> AccessSettings:
    """Everyone with access: the config's people, who keep their config role whatever else is
    said, and the members let in through the bot (never a service account)."""
    added = [
        m for m in members
        if not in_config(config, m.telegram_id) and not is_service_account(m.telegram_id)
    ]  # fmt: skip
    return replace(
        config,
        admins=(*config.admins, *(m.telegram_id for m in added if m.role is Role.ADMIN)),
        directors=(*config.directors, *(m.telegram_id for m in added if m.role is Role.DIRECTOR)),
        managers={
            **config.managers,
            **{m.telegram_id: m.amocrm_user_id for m in added if m.amocrm_user_id is not None},
        },
    )


def in_config(config: AccessSettings, telegram_user_id: int) -> bool:
    """Listed in ``[access]``: such a person's role is changed in the config only, never in chat."""
    return telegram_user_id in (*config.admins, *config.directors, *config.managers)


def may_manage(person: Person, role: Role) -> bool:
    """Whether this person may invite, give or take away ``role``: admins any, directors
    managers and directors, managers none."""
    return role in MANAGES.get(person.role, frozenset())


def is_service_account(telegram_user_id: int) -> bool:
    """Telegram's shared senders (anonymous group admins, channels, Telegram itself)."""
    return telegram_user_id in SERVICE_ACCOUNTS


def has_access(person: Person) -> bool:
    return person.role is not Role.NONE


def can_see_all(person: Person) -> bool:
    """Directors and admins see every manager's tasks."""
    return person.role in SEES_ALL


def can_see_manager(person: Person, amocrm_user_id: int) -> bool:
    """Whether this person may see the tasks of that amoCRM user."""
    if can_see_all(person):
        return True
    return person.role is Role.MANAGER and person.amocrm_user_id == amocrm_user_id


def can_see_task(person: Person, task: Task) -> bool:
    """Whether this person may see the task's text and deadline: managers only their own, directors
    and admins any. Everywhere else (say, another manager's task on a lead card) it is a count."""
    return can_see_manager(person, task.responsible_user_id)


def can_close_task(person: Person, task: Task) -> bool:
    """Whoever may see a task may close it: managers their own, directors and admins any."""
    return can_see_task(person, task)


def can_look_up(person: Person) -> bool:
    """Lead and contact cards are open to every role with access, as in amoCRM where managers
    usually see the whole base; only tasks are scoped to their owner."""
    return has_access(person)


def can_change_subscription(person: Person, subscriber_id: int) -> bool:
    """A chat's digest is changed by whoever set it up, or by a director or admin (a manager
    must not turn off the director's digest in a shared group)."""
    return person.telegram_id == subscriber_id or can_see_all(person)
