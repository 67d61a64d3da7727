"""Join requests: a stranger's ``/start`` asks the directors, and the first decision wins.

Every director and admin gets one card (name, @username, id) with *Manager…* (then the amoCRM
user, a match by name suggested), *Director* and *Decline*. The decision is one conditional
UPDATE (``state/people.decide_request``), so of two directors pressing at once exactly one
decides; every card then says who decided. One open request per person, a declined person may
ask again after a day, and at most ``[access] max_open_requests`` wait at once, so a flood of
strangers reaches the directors as that many cards at most; a request nobody decided in
``invite_days`` lapses. Service ids never get here: ``/start`` answers them first.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import TYPE_CHECKING

from telebot.types import InlineKeyboardMarkup

from leoweb_bot.access import Role
from leoweb_bot.access import may_manage
from leoweb_bot.bot.codec import AcceptDirector
from leoweb_bot.bot.codec import AcceptManager
from leoweb_bot.bot.codec import Decline
from leoweb_bot.bot.codec import PickManager
from leoweb_bot.bot.codec import RequestCard
from leoweb_bot.bot.context import App
from leoweb_bot.bot.formats import format_when
from leoweb_bot.bot.members import DAY
from leoweb_bot.bot.members import REQUEST_DECIDED
from leoweb_bot.bot.members import access_now
from leoweb_bot.bot.members import active_users
from leoweb_bot.bot.members import audit
from leoweb_bot.bot.members import name_of
from leoweb_bot.bot.members import person_label
from leoweb_bot.bot.members import person_of
from leoweb_bot.bot.members import role_label
from leoweb_bot.bot.members import settle
from leoweb_bot.bot.members import tell
from leoweb_bot.bot.members import user_picker
from leoweb_bot.bot.members import welcome
from leoweb_bot.bot.request import Command
from leoweb_bot.bot.request import Request
from leoweb_bot.bot.screens import Screen
from leoweb_bot.bot.screens import button
from leoweb_bot.bot.texts import Html
from leoweb_bot.bot.texts import join
from leoweb_bot.bot.texts import plain
from leoweb_bot.bot.texts import t
from leoweb_bot.reports import match_managers
from leoweb_bot.state import people as stored
from leoweb_bot.state.people import Asked
from leoweb_bot.state.people import JoinRequest
from leoweb_bot.state.people import RequestStatus
from leoweb_bot.telegram.client import TelegramError

if TYPE_CHECKING:
    from leoweb_bot.bot.buttons import Press

log = logging.getLogger(__name__)

RequestButton = RequestCard | PickManager | AcceptManager | AcceptDirector | Decline


# -- asking -----------------------------------------------------------------------------------


def ask(req: Request) -> None:
    """A stranger's /start in a private chat: open a request and show it to the directors."""
    app, sender = req.app, req.sender
    now, access = app.now(), app.settings.access
    asker = stored.Member(sender.id, "", None, sender.name or str(sender.id), sender.username,
                          now, None)  # fmt: skip
    asked, request = stored.ask_to_join(
        app.state, asker, cap=access.max_open_requests,
        lapse_before=now - access.invite_days * DAY, retry_before=now - DAY,
    )  # fmt: skip
    if asked is Asked.OPENED and request is not None:
        log.info("user %s asks to join (request %s)", sender.id, request.id)
        req.reply.show(t(req.lang, "join_asked"))
        send_cards(app, request)
    elif asked is Asked.DECLINED and request is not None:
        again = format_when(int(request.decided_at or now) + DAY, app.tz)
        req.reply.show(t(req.lang, "join_declined_recently", when=again))
    else:
        if asked is Asked.FULL:
            cap = access.max_open_requests
            log.info("join request of user %s turned away: %d open", sender.id, cap)
        req.reply.show(t(req.lang, f"join_{asked.value}"))


def send_cards(app: App, request: JoinRequest) -> None:
    """One card to each director and admin (in their private chat); where it went is kept."""
    everyone = access_now(app)
    screen = request_card(app, request)
    for leader in sorted({*everyone.admins, *everyone.directors}):
        try:
            sent = app.telegram.send(leader, screen.html, reply_markup=screen.markup)
        except TelegramError as exc:
            log.warning("request %s: no card for user %s: %s", request.id, leader, exc)
            continue
        if sent:  # [] when they blocked the bot
            stored.add_card(app.state, request.id, leader, sent[-1])


def request_card(app: App, request: JoinRequest) -> Screen:
    """The card: who asks; the decision buttons while open, who decided once decided."""
    who = person_label(request.name, request.username, request.telegram_id)
    lines = [t(app.lang, "join_card", who=who, when=format_when(int(request.asked_at), app.tz))]
    if request.status is RequestStatus.OPEN:
        markup = InlineKeyboardMarkup(row_width=2)
        markup.add(button(t(app.lang, "btn_join_manager"), PickManager(request.id)),
                   button(t(app.lang, "btn_join_director"), AcceptDirector(request.id)),
                   button(t(app.lang, "btn_join_decline"), Decline(request.id)))  # fmt: skip
        return Screen(join(lines), markup)
    lines.append(decision(app, request))
    return Screen(join(lines))


def decision(app: App, request: JoinRequest) -> Html:
    if request.status is RequestStatus.LAPSED:
        return t(app.lang, "join_lapsed")
    by = name_of(app, request.decided_by)
    if request.role is None:
        return t(app.lang, "join_declined", by=by)
    role = role_label(app, Role(request.role), request.amocrm_user_id)
    return t(app.lang, "join_accepted", role=role, by=by)


# -- deciding ---------------------------------------------------------------------------------


def on_request_button(press: Press, pressed: RequestButton, table: Sequence[Command]) -> None:
    """A director's press on a card: show it, pick the amoCRM user, or decide."""
    app = press.app
    request = stored.join_request(app.state, pressed.request)
    if request is None:
        press.answer(plain(app.lang, "cb_stale"))
        return
    role = Role.DIRECTOR if isinstance(pressed, AcceptDirector) else Role.MANAGER
    if not may_manage(press.person, role):
        press.deny(f"request {request.id} as {role.value}")
        return
    if isinstance(pressed, RequestCard) or request.status is not RequestStatus.OPEN:
        press.answer(None if request.status is RequestStatus.OPEN else decided_toast(app, request))
        press.show(request_card(app, request))
    elif isinstance(pressed, PickManager):
        press.answer()
        press.show(manager_choice(app, request))
    elif isinstance(pressed, AcceptManager):
        if pressed.user not in active_users(app):
            press.answer(plain(app.lang, "cb_user_gone"), alert=True)
            return
        decide(press, request, Role.MANAGER, pressed.user, table)
    else:
        decide(press, request, None if isinstance(pressed, Decline) else role, None, table)


def manager_choice(app: App, request: JoinRequest) -> Screen:
    """The card with the amoCRM users to pick from, those named like the person first."""
    users = active_users(app)
    found = match_managers(request.name, users) or match_managers(first_word(request.name), users)
    suggested = {u.id for u in found}
    pick = user_picker(app, users.values(), lambda user: AcceptManager(request.id, user),
                       suggested=suggested, back=RequestCard(request.id))  # fmt: skip
    card = request_card(app, request).html
    return Screen(join([card, t(app.lang, "join_pick_user")]), pick)


def decide(
    press: Press, request: JoinRequest, role: Role | None, amocrm_user_id: int | None,
    table: Sequence[Command],
) -> None:  # fmt: skip
    """Accept (with ``role``) or decline; of two directors at once the first wins, and every
    card says who decided. The person hears the answer in their chat."""
    app, by = press.app, press.person.telegram_id
    grant = None
    if role is not None:
        grant = stored.Member(request.telegram_id, role.value, amocrm_user_id, request.name,
                              request.username, app.now(), by)  # fmt: skip
    if not stored.decide_request(app.state, request.id, grant, by, app.now()):
        decided = stored.join_request(app.state, request.id) or request
        press.answer(decided_toast(app, decided))
        press.show(request_card(app, decided))
        return
    subject = grant or stored.Member(request.telegram_id, "", None, request.name,
                                     request.username, app.now(), None)  # fmt: skip
    audit(app, by, REQUEST_DECIDED, subject, request=request.id,
          role=role.value if role else None)  # fmt: skip
    press.answer()
    decided = stored.join_request(app.state, request.id) or request
    update_cards(press, request.id, request_card(app, decided))
    if role is None:
        tell(app, request.telegram_id, t(app.lang, "join_you_declined"))
        return
    settle(app, request.telegram_id, table)
    person = person_of(app, request.telegram_id)
    tell(app, request.telegram_id, welcome(app, person, first_word(request.name), table))


def update_cards(press: Press, request_id: int, screen: Screen) -> None:
    """Every card of the request says the decision; the pressed message too (it may be /people)."""
    here = (press.reply.chat_id, press.reply.message_id)
    for chat_id, message_id in stored.cards(press.app.state, request_id):
        if (chat_id, message_id) == here:
            continue
        try:
            press.app.telegram.edit(chat_id, message_id, screen.html)
        except TelegramError as exc:
            log.warning("card in chat %s not updated: %s", chat_id, exc)
    press.show(screen)


def decided_toast(app: App, request: JoinRequest) -> str:
    return plain(app.lang, "cb_decided", by=name_of(app, request.decided_by))


def first_word(name: str) -> str:
    """«Айдана» of «Айдана Бекова»: a greeting's name, a search for the amoCRM user."""
    return next(iter(name.split()), name)
