"""Role resolution and what each role may see: default deny, highest role wins."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from leoweb_bot.access import Member
from leoweb_bot.access import Person
from leoweb_bot.access import Role
from leoweb_bot.access import can_change_subscription
from leoweb_bot.access import can_close_task
from leoweb_bot.access import can_look_up
from leoweb_bot.access import can_see_all
from leoweb_bot.access import can_see_manager
from leoweb_bot.access import can_see_task
from leoweb_bot.access import has_access
from leoweb_bot.access import in_config
from leoweb_bot.access import may_manage
from leoweb_bot.access import who
from leoweb_bot.access import with_members
from leoweb_bot.amocrm.models import Task
from leoweb_bot.cli.check import check_config
from leoweb_bot.config import AccessSettings
from leoweb_bot.config import ConfigError
from leoweb_bot.config import settings_from_mapping
from tests.conftest import leoweb_env

ACCESS = AccessSettings(
    admins=(1, 5),
    directors=(2, 6),
    managers={3: 1387123, 4: 1387124, 5: 1387125, 6: 1387126},
)


@pytest.mark.parametrize(
    ("telegram_id", "role", "amocrm_user_id"),
    [
        (1, Role.ADMIN, None),
        (2, Role.DIRECTOR, None),
        (3, Role.MANAGER, 1387123),
        (4, Role.MANAGER, 1387124),
        (5, Role.ADMIN, 1387125),  # an admin who is also a manager keeps admin
        (6, Role.DIRECTOR, 1387126),  # likewise a director
        (7, Role.NONE, None),  # anyone else: no access
        (0, Role.NONE, None),
        (-100123, Role.NONE, None),  # a chat id is not a user
    ],
)
def test_role_resolution(telegram_id: int, role: Role, amocrm_user_id: int | None) -> None:
    assert who(ACCESS, telegram_id) == Person(telegram_id, role, amocrm_user_id)


def test_empty_config_denies_everyone() -> None:
    assert not has_access(who(AccessSettings(), 1))


def test_managers_see_only_their_own_tasks() -> None:
    manager = who(ACCESS, 3)
    assert can_see_manager(manager, 1387123)
    assert not can_see_manager(manager, 1387124)
    assert not can_see_all(manager)
    assert can_see_manager(who(ACCESS, 2), 1387124)
    assert can_see_all(who(ACCESS, 1))
    assert not can_see_manager(who(ACCESS, 7), 0)


@pytest.mark.parametrize("rule", [can_see_task, can_close_task])
def test_seeing_and_closing_depend_on_the_task_responsible(
    rule: Callable[[Person, Task], bool],
) -> None:
    task = Task(id=5000001, text="Позвонить", responsible_user_id=1387124, complete_till=1,
                is_completed=False)  # fmt: skip
    assert rule(who(ACCESS, 4), task)
    assert not rule(who(ACCESS, 3), task)
    assert rule(who(ACCESS, 2), task)
    assert rule(who(ACCESS, 1), task)
    assert not rule(who(ACCESS, 7), task)


def test_lookups_are_open_to_every_role_but_strangers() -> None:
    assert can_look_up(who(ACCESS, 3))
    assert can_look_up(who(ACCESS, 2))
    assert not can_look_up(who(ACCESS, 7))


def test_a_chats_digest_is_changed_by_its_subscriber_or_a_director() -> None:
    assert can_change_subscription(who(ACCESS, 3), subscriber_id=3)
    assert not can_change_subscription(who(ACCESS, 4), subscriber_id=3)
    assert can_change_subscription(who(ACCESS, 2), subscriber_id=3)
    assert can_change_subscription(who(ACCESS, 1), subscriber_id=2)


# Telegram's shared senders: anonymous group admins, channel posts, Telegram's own messages.
SERVICE_IDS = [1087968824, 136817688, 777000]


@pytest.mark.parametrize("service_id", SERVICE_IDS)
def test_a_service_account_never_gets_access_even_if_listed(service_id: int) -> None:
    listed = AccessSettings(
        admins=(service_id,), directors=(service_id,), managers={service_id: 1387123}
    )
    assert who(listed, service_id) == Person(service_id, Role.NONE, None)


@pytest.mark.parametrize("service_id", SERVICE_IDS)
@pytest.mark.parametrize("key", ["admins", "directors", "managers"])
def test_the_config_refuses_a_service_account_in_any_list(key: str, service_id: int) -> None:
    value = {str(service_id): 1387123} if key == "managers" else [7, service_id]
    settings = settings_from_mapping({"access": {key: value}})
    with pytest.raises(
        ConfigError, match=rf"^access\.{key}: {service_id} is Telegram's .*not a person"
    ):
        settings.require("access")


def test_commands_that_grant_access_refuse_such_a_config(tmp_path: Path) -> None:
    env = leoweb_env(
        LEOWEB_TELEGRAM_TOKEN="123456:AccessTestTokenValue",
        LEOWEB_TELEGRAM_WEBHOOK_SECRET="hook_secret",
        LEOWEB_TELEGRAM_PUBLIC_URL="https://bot.example.com",
        LEOWEB_ACCESS_DIRECTORS="201 1087968824",
    )
    result = subprocess.run(
        [sys.executable, "-m", "leoweb_bot", "set-webhook"],
        capture_output=True, text=True, cwd=tmp_path, env=env, timeout=60,
    )  # fmt: skip
    assert result.returncode == 2  # before anything is sent to Telegram
    assert result.stderr.startswith("config error: access.directors: 1087968824 is Telegram's")
    settings = settings_from_mapping({}, env)
    ok, line = next(r for r in check_config(settings) if r[1].startswith("config [access]"))
    assert not ok and "anonymous group admins" in line


# -- members let in through the bot -----------------------------------------------------------

LET_IN = [
    Member(8, Role.MANAGER, 1387128),
    Member(9, Role.DIRECTOR, None),
    Member(10, Role.ADMIN, 1387130),
    Member(3, Role.ADMIN, None),  # a config manager: the config wins
    Member(1087968824, Role.ADMIN, None),  # a service account: never
]


@pytest.mark.parametrize(
    ("telegram_id", "role", "amocrm_user_id"),
    [
        (8, Role.MANAGER, 1387128),
        (9, Role.DIRECTOR, None),
        (10, Role.ADMIN, 1387130),
        (3, Role.MANAGER, 1387123),
        (1, Role.ADMIN, None),
        (1087968824, Role.NONE, None),
        (11, Role.NONE, None),
    ],
)
def test_members_join_the_config_which_keeps_its_roles(
    telegram_id: int, role: Role, amocrm_user_id: int | None
) -> None:
    everyone = with_members(ACCESS, LET_IN)
    assert who(everyone, telegram_id) == Person(telegram_id, role, amocrm_user_id)
    assert in_config(everyone, telegram_id) is (telegram_id in (1, 3, 8, 9, 10))
    assert not in_config(ACCESS, 8)


@pytest.mark.parametrize(
    ("role", "by_admin", "by_director", "by_manager"),
    [
        (Role.ADMIN, True, False, False),
        (Role.DIRECTOR, True, True, False),
        (Role.MANAGER, True, True, False),
    ],
)
def test_admins_manage_everyone_directors_not_admins_managers_no_one(
    role: Role, by_admin: bool, by_director: bool, by_manager: bool
) -> None:
    assert may_manage(who(ACCESS, 1), role) is by_admin
    assert may_manage(who(ACCESS, 2), role) is by_director
    assert may_manage(who(ACCESS, 3), role) is by_manager
    assert not may_manage(who(ACCESS, 7), role)
