"""Who has access now, and every change to it.

Roles come from two places: ``[access]`` in the config (the bootstrap: those people always keep
their role) and the members let in through the bot (``state/people.py``). Both are read here,
from the state db on every update, and put together by the pure ``access.with_members``: a
change made in one process is seen by every other at its next update, with no restart.

A change (someone let in, given another role, removed) goes through :func:`check_change` (the
rules: ``access.may_manage``, config people untouched), is recorded in the audit log, and ends in
:func:`settle`: the person's menu follows their role at once (docs/telegram.md#command-menus).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from collections.abc import Collection
from collections.abc import Iterable
from collections.abc import Mapping
from collections.abc import Sequence

from telebot.types import InlineKeyboardMarkup

from leoweb_bot.access import Member
from leoweb_bot.access import Person
from leoweb_bot.access import Role
from leoweb_bot.access import has_access
from leoweb_bot.access import in_config
from leoweb_bot.access import may_manage
from leoweb_bot.access import who
from leoweb_bot.access import with_members
from leoweb_bot.amocrm.errors import AmoError
from leoweb_bot.amocrm.models import User
from leoweb_bot.bot.codec import Button
from leoweb_bot.bot.context import App
from leoweb_bot.bot.request import Command
from leoweb_bot.bot.request import role_menu
from leoweb_bot.bot.screens import button
from leoweb_bot.bot.texts import Html
from leoweb_bot.bot.texts import join
from leoweb_bot.bot.texts import t
from leoweb_bot.bot.views import render_help
from leoweb_bot.config import AccessSettings
from leoweb_bot.reports import by_name
from leoweb_bot.reports import user_name
from leoweb_bot.state import people as stored
from leoweb_bot.state.audit import record_audit
from leoweb_bot.telegram.client import TelegramError

log = logging.getLogger(__name__)

DAY = 86400
PICKER_LIMIT = 60  # amoCRM users offered as buttons (a keyboard holds 100)
# The audit actions of membership, as /people lists them.
INVITE_CREATED, INVITE_USED, INVITE_REVOKED = "invite_created", "invite_used", "invite_revoked"
REQUEST_DECIDED, ROLE_CHANGED, REMOVED = "request_decided", "role_changed", "member_removed"
ACTIONS = (INVITE_CREATED, INVITE_USED, INVITE_REVOKED, REQUEST_DECIDED, ROLE_CHANGED, REMOVED)


# -- who is who, now --------------------------------------------------------------------------


def access_now(app: App) -> AccessSettings:
    """Everyone with access at this moment: the config's people and the members."""
    return with_members(app.settings.access, map(as_member, stored.members(app.state)))


def person_of(app: App, telegram_id: int) -> Person:
    """Who sends this update: read from the config and the state db, every time."""
    row = stored.member(app.state, telegram_id)
    return who(with_members(app.settings.access, [as_member(row)] if row else []), telegram_id)


def as_member(row: stored.Member) -> Member:
    return Member(row.telegram_id, Role(row.role), row.amocrm_user_id)


def from_config(app: App, telegram_id: int) -> bool:
    return in_config(app.settings.access, telegram_id)


def amocrm_users(app: App) -> Mapping[int, User]:
    """amoCRM's users for naming managers; {} while amoCRM is down (ids are shown instead)."""
    try:
        return app.client.users()
    except AmoError as exc:
        log.warning("people: amoCRM users unavailable (%s); showing ids", type(exc).__name__)
        return {}


# -- the rules --------------------------------------------------------------------------------


def check_change(app: App, by: Person, target: int, role: Role | None) -> stored.Member | Html:
    """The member to whom ``by`` would give ``role`` (None: show, or remove), or, in words, why
    they may not: config people are changed in the config, admins by admins only."""
    if from_config(app, target):
        return t(app.lang, "people_from_config", id=target)
    found = stored.member(app.state, target)
    if found is None:
        return t(app.lang, "people_not_member", id=target)
    if not may_manage(by, Role(found.role)) or (role is not None and not may_manage(by, role)):
        return t(app.lang, "people_admins_only")
    return found


# -- changes ----------------------------------------------------------------------------------


def change(
    app: App, by: Person, target: stored.Member, role: Role, amocrm_user_id: int | None,
    table: Sequence[Command],
) -> bool:  # fmt: skip
    """Give a member another role or amoCRM user; False if they are the last admin."""
    changed = stored.Member(target.telegram_id, role.value, amocrm_user_id, target.name,
                            target.username, app.now(), by.telegram_id)  # fmt: skip
    if not stored.change_member(app.state, changed, len(app.settings.access.admins)):
        return False
    audit(app, by.telegram_id, ROLE_CHANGED, changed, role=role.value)
    settle(app, target.telegram_id, table)
    tell(app, target.telegram_id, t(app.lang, "role_changed_notice", role=role_label(app, role)))
    return True


def remove(app: App, by: Person, target: stored.Member) -> bool:
    """Take a member's access away: audit, menu reset, one line to them. False: the last admin."""
    gone = stored.remove_member(app.state, target.telegram_id, len(app.settings.access.admins))
    if gone is None:
        return False
    audit(app, by.telegram_id, REMOVED, gone, role=gone.role)
    settle(app, gone.telegram_id, ())
    tell(app, gone.telegram_id, t(app.lang, "removed_notice"))
    return True


def settle(app: App, telegram_id: int, table: Sequence[Command]) -> None:
    """The person's own menu (a chat scope: their private chat) follows their role now; without
    access, their menu goes and the shared one shows again. A refusal is logged, not fatal."""
    person = person_of(app, telegram_id)
    try:
        if has_access(person):
            app.telegram.set_commands({telegram_id: role_menu(table, app.lang, person.role)})
        else:
            app.telegram.delete_commands(telegram_id)
    except TelegramError as exc:
        log.warning("menu of user %s not changed: %s", telegram_id, exc)


def welcome(app: App, person: Person, name: str, table: Sequence[Command]) -> Html:
    """The first words to someone just let in: their role and their commands."""
    greeting = t(app.lang, "greeting", name=name)
    role = t(app.lang, "people_your_role", role=role_label(app, person.role))
    return join([greeting, role, Html(""), render_help(app.lang, person.role, table)])


def tell(app: App, telegram_id: int, html: Html) -> None:
    """A line to someone in their private chat; if it cannot be delivered, it is logged."""
    try:
        app.telegram.send(telegram_id, html)
    except TelegramError as exc:
        log.warning("user %s not told: %s", telegram_id, exc)


def audit(
    app: App, by: int | None, action: str, subject: stored.Member | None = None, **details: object
) -> None:
    """One line of the audit log: who did it (``by``), to whom, and what."""
    if subject is not None:
        details |= {"telegram_id": subject.telegram_id, "name": subject.name}
        if subject.amocrm_user_id is not None:
            details["amocrm_user_id"] = subject.amocrm_user_id
    record_audit(app.state, by, action, json.dumps(details, ensure_ascii=False))


# -- words and pickers ------------------------------------------------------------------------


def role_label(
    app: App, role: Role, amocrm_user_id: int | None = None, users: Mapping[int, User] | None = None
) -> Html:
    """«менеджер (Зелимхан)», «руководитель»; amoCRM is asked for the name unless ``users``."""
    label = t(app.lang, f"role_{role.value}")
    if amocrm_user_id is None:
        return label
    name = user_name(amocrm_users(app) if users is None else users, amocrm_user_id)
    return t(app.lang, "role_linked", role=label, user=name)


def person_label(name: str, username: str, telegram_id: int) -> Html:
    """«Айдана Б. (@aidana), id 555»."""
    shown = Html("{} (@{})").format(name, username) if username else Html("{}").format(name)
    return Html("{}, id <code>{}</code>").format(shown, telegram_id)


def active_users(app: App) -> dict[int, User]:
    """The amoCRM users a manager can be: active ones (amoCRM failing is the handler's error)."""
    return {u.id: u for u in app.client.users().values() if u.is_active}


def user_picker(
    app: App, users: Iterable[User], pick: Callable[[int], Button], *,
    suggested: Collection[int] = (), back: Button | None = None,
) -> InlineKeyboardMarkup:  # fmt: skip
    """A button per amoCRM user (the suggested first, ⭐), 🔗 on those already linked to
    someone in the bot; ``back`` below, if given."""
    linked = set(access_now(app).managers.values())
    ordered = sorted(by_name(users), key=lambda u: u.id not in suggested)[:PICKER_LIMIT]
    markup = InlineKeyboardMarkup(row_width=2)
    markup.add(*(
        button(f"{'⭐ ' * (u.id in suggested)}{'🔗 ' * (u.id in linked)}{u.name}", pick(u.id))
        for u in ordered
    ))  # fmt: skip
    if back is not None:
        markup.row(button(t(app.lang, "btn_cancel"), back))
    return markup


def name_of(app: App, telegram_id: int | None) -> str:
    """A member's name as Telegram gave it; the id for anyone else (the config's people)."""
    if telegram_id is None:
        return "—"
    found = stored.member(app.state, telegram_id)
    return found.name if found else f"id {telegram_id}"
