"""Invite links: ``/invite`` makes one, opening it (``/start <token>``) lets the person in.

A link is ``https://t.me/<bot>?start=<token>``: Telegram opens the bot and sends ``/start
<token>`` (docs/telegram.md#deep-links). The token is 128 random bits; the state db keeps only its
SHA-256, so reading the db lets nobody in, and no log line carries it. A link is single use,
valid ``[access] invite_days``, revocable from /people; a used, revoked, expired or unknown one
gives one clear line and no access. Without arguments /invite walks through buttons: the role,
then for a manager the amoCRM user.
"""

from __future__ import annotations

import hashlib
import logging
import re
import secrets
from typing import TYPE_CHECKING

from telebot.types import InlineKeyboardMarkup

from leoweb_bot.access import Person
from leoweb_bot.access import Role
from leoweb_bot.access import has_access
from leoweb_bot.access import may_manage
from leoweb_bot.bot.codec import InviteAdmin
from leoweb_bot.bot.codec import InviteDirector
from leoweb_bot.bot.codec import InviteManager
from leoweb_bot.bot.codec import InviteUser
from leoweb_bot.bot.context import App
from leoweb_bot.bot.formats import echo
from leoweb_bot.bot.formats import format_when
from leoweb_bot.bot.members import DAY
from leoweb_bot.bot.members import INVITE_CREATED
from leoweb_bot.bot.members import INVITE_USED
from leoweb_bot.bot.members import active_users
from leoweb_bot.bot.members import audit
from leoweb_bot.bot.members import person_label
from leoweb_bot.bot.members import person_of
from leoweb_bot.bot.members import role_label
from leoweb_bot.bot.members import settle
from leoweb_bot.bot.members import tell
from leoweb_bot.bot.members import user_picker
from leoweb_bot.bot.members import welcome
from leoweb_bot.bot.request import Request
from leoweb_bot.bot.screens import Screen
from leoweb_bot.bot.screens import button
from leoweb_bot.bot.texts import Html
from leoweb_bot.bot.texts import join
from leoweb_bot.bot.texts import plain
from leoweb_bot.bot.texts import t
from leoweb_bot.bot.views import usage
from leoweb_bot.reports import match_managers
from leoweb_bot.state import people as stored
from leoweb_bot.state.people import InviteStatus

if TYPE_CHECKING:
    from leoweb_bot.bot.buttons import Press

log = logging.getLogger(__name__)

# What may follow /invite: the contract's English words, and the chat's own Russian ones.
ROLE_WORDS = {
    "manager": Role.MANAGER,
    "менеджер": Role.MANAGER,
    "director": Role.DIRECTOR,
    "директор": Role.DIRECTOR,
    "руководитель": Role.DIRECTOR,
    "admin": Role.ADMIN,
    "админ": Role.ADMIN,
    "администратор": Role.ADMIN,
}
BUTTON_ROLES: dict[type, Role] = {
    InviteManager: Role.MANAGER,
    InviteUser: Role.MANAGER,
    InviteDirector: Role.DIRECTOR,
    InviteAdmin: Role.ADMIN,
}
InviteButton = InviteManager | InviteUser | InviteDirector | InviteAdmin
TOKEN_RE = re.compile(r"[A-Za-z0-9_-]{1,64}")  # what a deep link's start parameter may hold


# -- /invite ----------------------------------------------------------------------------------


def invite(req: Request) -> None:
    """/invite: the buttons walk; /invite manager <user>, /invite director, /invite admin.
    Only in the private chat: a link shown in a group would let in whoever opens it first."""
    word, _, query = req.args.partition(" ")
    role = ROLE_WORDS.get(word.casefold())
    if not req.private:
        req.reply.show(t(req.lang, "invite_private"))
    elif not word:
        show(req, role_choice(req.app, req.person))
    elif role is None:
        req.reply.show(usage(req.lang, req.command))
    elif not may_manage(req.person, role):
        req.reply.show(t(req.lang, "people_admins_only"))
    elif role is Role.MANAGER:
        invite_manager(req, query.strip())
    else:
        req.reply.show(new_invite(req.app, req.person, role, None))


def invite_manager(req: Request, query: str) -> None:
    """A manager's link is for one amoCRM user: the one named, or picked from a list."""
    users = active_users(req.app)
    found = match_managers(query, users) if query else []
    if len(found) == 1:
        req.reply.show(new_invite(req.app, req.person, Role.MANAGER, found[0].id))
        return
    key = "invite_pick_user"
    if query:
        key = "invite_ambiguous" if found else "invite_no_user"
    markup = user_picker(req.app, found or users.values(), InviteUser)
    show(req, Screen(t(req.lang, key, query=echo(query)), markup))


def role_choice(app: App, person: Person) -> Screen:
    """Whom to invite: the roles this person may give."""
    markup = InlineKeyboardMarkup(row_width=3)
    markup.add(*(
        button(t(app.lang, f"btn_invite_{role.value}"), kind())
        for kind, role in BUTTON_ROLES.items()
        if kind is not InviteUser and may_manage(person, role)
    ))  # fmt: skip
    return Screen(t(app.lang, "invite_ask_role"), markup)


def new_invite(app: App, by: Person, role: Role, amocrm_user_id: int | None) -> Html:
    """Make a single-use link and say what it is for and until when."""
    token = secrets.token_urlsafe(16)  # 16 bytes: 128 random bits
    now = app.now()
    expires = now + app.settings.access.invite_days * DAY
    invite_id = stored.create_invite(
        app.state, token_hash(token), role.value, amocrm_user_id, by.telegram_id, now, expires
    )
    audit(app, by.telegram_id, INVITE_CREATED, invite=invite_id, role=role.value,
          amocrm_user_id=amocrm_user_id)  # fmt: skip
    log.info("user %s made invite %s (%s)", by.telegram_id, invite_id, role.value)
    link = f"https://t.me/{app.bot_username()}?start={token}"
    until = format_when(expires, app.tz)
    return t(app.lang, "invite_link", role=role_label(app, role, amocrm_user_id), until=until,
             link=link)  # fmt: skip


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


# -- /start <token> ---------------------------------------------------------------------------


def redeem(req: Request) -> None:
    """Someone opened a link: let them in with its role, welcome them, tell who invited them."""
    app, sender = req.app, req.sender
    if has_access(req.person):
        role = role_label(app, req.person.role)
        req.reply.show(t(req.lang, "invite_have_access", role=role))
        return
    token = req.args.split()[0]
    joiner = stored.Member(sender.id, "", None, sender.name or str(sender.id), sender.username,
                           app.now(), None)  # fmt: skip
    status, found = InviteStatus.UNKNOWN, None
    if TOKEN_RE.fullmatch(token):
        status, found = stored.redeem_invite(app.state, token_hash(token), joiner)
    if status is not InviteStatus.OPEN or found is None:
        log.info("user %s opened an invite link: %s", sender.id, status.value)
        req.reply.show(join([t(req.lang, f"invite_{status.value}"), t(req.lang, "invite_ask")]))
        return
    role = Role(found.role)
    joined = stored.Member(sender.id, found.role, found.amocrm_user_id, joiner.name,
                           joiner.username, joiner.since, found.created_by)  # fmt: skip
    audit(app, sender.id, INVITE_USED, joined, invite=found.id, role=found.role)
    settle(app, sender.id, req.table)
    req.reply.show(welcome(app, person_of(app, sender.id), sender.first_name, req.table))
    who = person_label(joiner.name, joiner.username, sender.id)
    label = role_label(app, role, found.amocrm_user_id)
    tell(app, found.created_by, t(req.lang, "invite_used_notice", who=who, role=label))


# -- the buttons walk -------------------------------------------------------------------------


def on_invite_button(press: Press, pressed: InviteButton) -> None:
    """A role (or, for a manager, the amoCRM user) was picked: the link, in place."""
    app, person = press.app, press.person
    role = BUTTON_ROLES[type(pressed)]
    if not may_manage(person, role) or press.reply.chat_id != person.telegram_id:
        press.deny(f"invite a {role.value} in chat {press.reply.chat_id}")
        return
    if isinstance(pressed, InviteManager):
        press.answer()
        picker = user_picker(app, active_users(app).values(), InviteUser)
        press.show(Screen(t(app.lang, "invite_pick_user"), picker))
        return
    user = pressed.user if isinstance(pressed, InviteUser) else None
    if user is not None and user not in active_users(app):
        press.answer(plain(app.lang, "cb_user_gone"), alert=True)
        return
    press.answer()
    press.show(Screen(new_invite(app, person, role, user)))


def show(req: Request, screen: Screen) -> None:
    req.reply.show(screen.html, screen.markup)
