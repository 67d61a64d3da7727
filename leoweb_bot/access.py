"""Who someone is and what they may see: roles come from ``[access]`` in the config, and the
default is deny. Which role may use which command is said once, in the command table
(``bot/table.py``).

Roles are never taken from anything a user types: a name anyone can type proves nothing.
Every command and every button press asks these functions again, because callback data is
client-supplied and can be forged.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

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
    amocrm_user_id: int | None  # linked via [access.managers]; admins and directors may have one


SEES_ALL = frozenset({Role.ADMIN, Role.DIRECTOR})  # every manager's tasks, not only their own


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
