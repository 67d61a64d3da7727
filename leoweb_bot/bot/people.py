"""``/people`` and ``/remove``: who has access, the pending invites and requests, the last
changes; and the buttons that change a role, relink the amoCRM user, remove, or revoke.

Every press is checked again against the rules (``members.check_change``): admins manage
everyone, directors managers and directors, nobody the people of the config; the last admin
stays (``state/people``). A removed person's next update, a press on an old message included,
finds no role (``members.person_of``).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from collections.abc import Sequence
from typing import TYPE_CHECKING

from telebot.types import InlineKeyboardMarkup

from leoweb_bot.access import Person
from leoweb_bot.access import Role
from leoweb_bot.access import may_manage
from leoweb_bot.access import who
from leoweb_bot.amocrm.models import User
from leoweb_bot.bot.codec import AskRemove
from leoweb_bot.bot.codec import LinkUser
from leoweb_bot.bot.codec import MakeAdmin
from leoweb_bot.bot.codec import MakeDirector
from leoweb_bot.bot.codec import PeopleButton
from leoweb_bot.bot.codec import PeopleList
from leoweb_bot.bot.codec import PersonCard
from leoweb_bot.bot.codec import PickUser
from leoweb_bot.bot.codec import Remove
from leoweb_bot.bot.codec import RequestCard
from leoweb_bot.bot.codec import RevokeInvite
from leoweb_bot.bot.context import App
from leoweb_bot.bot.formats import format_when
from leoweb_bot.bot.invites import InviteButton
from leoweb_bot.bot.invites import on_invite_button
from leoweb_bot.bot.joining import RequestButton
from leoweb_bot.bot.joining import on_request_button
from leoweb_bot.bot.members import ACTIONS
from leoweb_bot.bot.members import INVITE_REVOKED
from leoweb_bot.bot.members import REQUEST_DECIDED
from leoweb_bot.bot.members import access_now
from leoweb_bot.bot.members import active_users
from leoweb_bot.bot.members import amocrm_users
from leoweb_bot.bot.members import audit
from leoweb_bot.bot.members import change
from leoweb_bot.bot.members import check_change
from leoweb_bot.bot.members import name_of
from leoweb_bot.bot.members import person_label
from leoweb_bot.bot.members import remove
from leoweb_bot.bot.members import role_label
from leoweb_bot.bot.members import user_picker
from leoweb_bot.bot.request import Command
from leoweb_bot.bot.request import Request
from leoweb_bot.bot.screens import Screen
from leoweb_bot.bot.screens import button
from leoweb_bot.bot.texts import Html
from leoweb_bot.bot.texts import join
from leoweb_bot.bot.texts import plain
from leoweb_bot.bot.texts import t
from leoweb_bot.bot.views import usage
from leoweb_bot.config import AccessSettings
from leoweb_bot.ids import typed_id
from leoweb_bot.reports import user_name
from leoweb_bot.state import people as stored
from leoweb_bot.state.audit import AuditRow
from leoweb_bot.state.audit import audit_rows

if TYPE_CHECKING:
    from leoweb_bot.bot.buttons import Press

CHANGES_SHOWN = 10  # the last changes under /people
ROLES = (Role.ADMIN, Role.DIRECTOR, Role.MANAGER)  # the order /people lists them in


# -- commands ---------------------------------------------------------------------------------


def people(req: Request) -> None:
    """/people: everyone with access, the open invites and requests, the last changes."""
    screen = people_screen(req.app, req.person)
    req.reply.show(screen.html, screen.markup)


def remove_command(req: Request) -> None:
    """/remove <telegram id>: the text form of the ✖ on a person's card."""
    target = typed_id(req.args.split()[0])
    if target is None:
        req.reply.show(usage(req.lang, req.command))
        return
    found = check_change(req.app, req.person, target, None)
    if isinstance(found, Html):
        req.reply.show(found)
    elif not remove(req.app, req.person, found):
        req.reply.show(t(req.lang, "people_last_admin"))
    else:
        req.reply.show(t(req.lang, "people_removed", name=found.name))


# -- the screens ------------------------------------------------------------------------------


def people_screen(app: App, viewer: Person) -> Screen:
    """Everyone by role (the config's marked), invites, requests, the last changes; a button for
    each person, invite and request this viewer may act on."""
    users, everyone = amocrm_users(app), access_now(app)
    members = {m.telegram_id: m for m in stored.members(app.state)}
    markup = InlineKeyboardMarkup(row_width=2)
    lines = [t(app.lang, "people_title")]
    for role, ids in by_role(everyone).items():
        lines += [Html(""), t(app.lang, f"people_{role.value}s")]
        lines += [member_line(app, tid, members.get(tid), users, everyone.managers.get(tid))
                  for tid in ids] or [t(app.lang, "people_nobody")]  # fmt: skip
        if may_manage(viewer, role):
            markup.add(*(button(f"👤 {members[tid].name}", PersonCard(tid))
                         for tid in ids if tid in members))  # fmt: skip
    lines += pending(app, viewer, users, markup)
    changes = audit_rows(app.state, CHANGES_SHOWN, ACTIONS)
    lines += [Html(""), t(app.lang, "people_changes")]
    lines += [change_line(app, row, users) for row in changes] or [t(app.lang, "people_nobody")]
    lines += [Html(""), t(app.lang, "people_hint")]
    markup.row(button(t(app.lang, "btn_refresh"), PeopleList()))
    return Screen(join(lines), markup)


def by_role(everyone: AccessSettings) -> dict[Role, list[int]]:
    """Telegram ids of everyone with access, each under the role ``who`` gives them."""
    ids = dict.fromkeys([*everyone.admins, *everyone.directors, *everyone.managers])
    return {role: [tid for tid in ids if who(everyone, tid).role is role] for role in ROLES}


def member_line(
    app: App, telegram_id: int, member: stored.Member | None, users: Mapping[int, User],
    amocrm_user_id: int | None,
) -> Html:  # fmt: skip
    """One person: name, amoCRM user, since when and by whom (or «from the config»)."""
    amo = t(app.lang, "people_amo", user=user_name(users, amocrm_user_id)) if amocrm_user_id else ""
    if member is None:
        return t(app.lang, "people_line_config", id=telegram_id, amo=amo)
    who_ = person_label(member.name, member.username, telegram_id)
    since = format_when(int(member.since), app.tz)
    return t(app.lang, "people_line", who=who_, amo=amo, since=since,
             by=name_of(app, member.added_by))  # fmt: skip


def pending(
    app: App, viewer: Person, users: Mapping[int, User], markup: InlineKeyboardMarkup
) -> list[Html]:
    """The open invites (✖ to revoke) and requests (🙋 to decide), with their buttons."""
    lines: list[Html] = []
    invites = stored.open_invites(app.state, app.now())
    if invites:
        lines += [Html(""), t(app.lang, "people_invites")]
    for found in invites:
        role = role_label(app, Role(found.role), found.amocrm_user_id, users)
        until = format_when(int(found.expires_at), app.tz)
        by = name_of(app, found.created_by)
        lines.append(t(app.lang, "people_invite_line", role=role, until=until, by=by))
        if may_manage(viewer, Role(found.role)):
            markup.row(button(plain(app.lang, "btn_revoke", role=role), RevokeInvite(found.id)))
    requests = stored.open_requests(app.state)
    if requests:
        lines += [Html(""), t(app.lang, "people_requests")]
    for request in requests:
        asker = person_label(request.name, request.username, request.telegram_id)
        when = format_when(int(request.asked_at), app.tz)
        lines.append(t(app.lang, "people_request_line", who=asker, when=when))
        markup.row(button(f"🙋 {request.name}", RequestCard(request.id)))
    return lines


def change_line(app: App, row: AuditRow, users: Mapping[int, User]) -> Html:
    """«25.11.2026 14:05 · Директор: Айдана — менеджер (Зелимхан)»."""
    details = json.loads(row.details)
    role = details.get("role")
    action = row.action if row.action != REQUEST_DECIDED or role else "request_declined"
    label = role_label(app, Role(role), details.get("amocrm_user_id"), users) if role else ""
    what = t(app.lang, f"audit_{action}", name=details.get("name", ""), role=label)
    when = format_when(int(row.at), app.tz)
    return t(app.lang, "people_change_line", when=when, by=name_of(app, row.telegram_user_id),
             what=what)  # fmt: skip


def person_screen(app: App, viewer: Person, member: stored.Member) -> Screen:
    """One member's card, with what this viewer may do about them."""
    role = Role(member.role)
    since = format_when(int(member.since), app.tz)
    html = t(app.lang, "person_card", who=person_label(member.name, member.username,
             member.telegram_id), role=role_label(app, role, member.amocrm_user_id), since=since,
             by=name_of(app, member.added_by))  # fmt: skip
    tid = member.telegram_id
    offers = [
        (Role.MANAGER, "btn_relink" if role is Role.MANAGER else "btn_make_manager", PickUser(tid)),
        (Role.DIRECTOR, "btn_make_director", MakeDirector(tid)),
        (Role.ADMIN, "btn_make_admin", MakeAdmin(tid)),
    ]
    markup = InlineKeyboardMarkup(row_width=1)
    markup.add(
        *(
            button(t(app.lang, key), pressed)
            for offered, key, pressed in offers
            if may_manage(viewer, offered) and (offered is not role or role is Role.MANAGER)
        )
    )
    markup.row(button(t(app.lang, "btn_remove"), AskRemove(tid)),
               button(t(app.lang, "btn_people"), PeopleList()))  # fmt: skip
    return Screen(html, markup)


# -- the buttons ------------------------------------------------------------------------------


def on_people_button(press: Press, pressed: PeopleButton, table: Sequence[Command]) -> None:
    """Any button of invites, requests or /people: for directors and admins only."""
    if not may_manage(press.person, Role.MANAGER):
        press.deny("people")
    elif isinstance(pressed, InviteButton):
        on_invite_button(press, pressed)
    elif isinstance(pressed, RequestButton):
        on_request_button(press, pressed, table)
    elif isinstance(pressed, RevokeInvite):
        revoke(press, pressed.invite)
    elif isinstance(pressed, PeopleList):
        press.answer()
        press.show(people_screen(press.app, press.person))
    else:
        on_person_button(press, pressed, table)


def revoke(press: Press, invite_id: int) -> None:
    app = press.app
    found = stored.invite(app.state, invite_id)
    if found is not None and not may_manage(press.person, Role(found.role)):
        press.deny(f"revoke invite {invite_id}")
        return
    if found is not None and stored.revoke_invite(app.state, invite_id, app.now()):
        audit(app, press.person.telegram_id, INVITE_REVOKED, invite=invite_id, role=found.role,
              amocrm_user_id=found.amocrm_user_id)  # fmt: skip
        press.answer(plain(app.lang, "cb_revoked"))
    else:
        press.answer(plain(app.lang, "cb_invite_gone"))
    press.show(people_screen(app, press.person))


PersonButton = PersonCard | PickUser | LinkUser | MakeDirector | MakeAdmin | AskRemove | Remove
TARGET_ROLES: dict[type, Role] = {
    PickUser: Role.MANAGER, LinkUser: Role.MANAGER, MakeDirector: Role.DIRECTOR,
    MakeAdmin: Role.ADMIN,
}  # fmt: skip


def on_person_button(press: Press, pressed: PersonButton, table: Sequence[Command]) -> None:
    """A button on a member's card: checked against the rules, then done."""
    app, tid = press.app, pressed.member
    role = TARGET_ROLES.get(type(pressed))
    found = check_change(app, press.person, tid, role)
    if isinstance(found, Html):  # refused: the rule, in words
        press.answer(found.striptags(), alert=True)
        return
    if isinstance(pressed, PickUser):
        press.answer()
        pick = user_picker(app, active_users(app).values(), lambda user: LinkUser(tid, user),
                           back=PersonCard(tid))  # fmt: skip
        press.show(Screen(join([person_screen(app, press.person, found).html,
                                t(app.lang, "invite_pick_user")]), pick))  # fmt: skip
    elif isinstance(pressed, AskRemove):
        press.answer()
        markup = InlineKeyboardMarkup(row_width=2)
        markup.add(button(t(app.lang, "btn_remove"), Remove(tid)),
                   button(t(app.lang, "btn_cancel"), PersonCard(tid)))  # fmt: skip
        press.show(Screen(t(app.lang, "people_remove_confirm", name=found.name), markup))
    elif isinstance(pressed, Remove):
        done = remove(app, press.person, found)
        press.answer(plain(app.lang, "cb_removed" if done else "people_last_admin"), alert=not done)
        press.show(people_screen(app, press.person))
    elif isinstance(pressed, PersonCard):
        press.answer()
        press.show(person_screen(app, press.person, found))
    else:
        give(press, found, pressed, table)


def give(press: Press, found: stored.Member, pressed: LinkUser | MakeDirector | MakeAdmin,
         table: Sequence[Command]) -> None:  # fmt: skip
    """A new role, or a new amoCRM user for a manager; the card again."""
    app = press.app
    role, user = TARGET_ROLES[type(pressed)], found.amocrm_user_id
    if isinstance(pressed, LinkUser):
        user = pressed.user
        if user not in active_users(app):
            press.answer(plain(app.lang, "cb_user_gone"), alert=True)
            return
    if not change(app, press.person, found, role, user, table):
        press.answer(plain(app.lang, "people_last_admin"), alert=True)
        return
    press.answer(plain(app.lang, "cb_changed"))
    changed = stored.member(app.state, found.telegram_id) or found
    press.show(person_screen(app, press.person, changed))
