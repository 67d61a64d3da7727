"""One update in: read it once, find what it asks for, check who asks, answer.

A text message is routed by the command table (``table.py``), a button press by its data
(``codec.py``). Both check who asks first; then the handler runs as one amoCRM operation (one
deadline for all its calls, ``amocrm/deadline.py``) with every failure turned into words
(``replies.guard``). What is left is plain text: a typed task result (``buttons.typed_result``),
or a short help in a private chat and silence in a group. Updates the bot does not act on are
ignored (``telegram/updates.py``). Commands are matched here, not by pyTelegramBotAPI, whose
filter ignores the ``@botname`` suffix and case (docs/telegram.md#groups-and-commands).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from leoweb_bot.access import has_access
from leoweb_bot.bot.buttons import Press
from leoweb_bot.bot.buttons import act
from leoweb_bot.bot.buttons import typed_result
from leoweb_bot.bot.closing import forget_result
from leoweb_bot.bot.codec import Outdated
from leoweb_bot.bot.codec import decode
from leoweb_bot.bot.context import App
from leoweb_bot.bot.freshness import answers_at_once
from leoweb_bot.bot.freshness import refresh_if_asked
from leoweb_bot.bot.members import person_of
from leoweb_bot.bot.replies import Reply
from leoweb_bot.bot.replies import guard
from leoweb_bot.bot.replies import no_access_text
from leoweb_bot.bot.request import Command
from leoweb_bot.bot.request import Request
from leoweb_bot.bot.table import BY_NAME
from leoweb_bot.bot.table import COMMANDS
from leoweb_bot.bot.texts import t
from leoweb_bot.bot.views import usage
from leoweb_bot.state.inbox import InboxItem
from leoweb_bot.telegram.updates import Callback
from leoweb_bot.telegram.updates import Message
from leoweb_bot.telegram.updates import Sender
from leoweb_bot.telegram.updates import read_update
from leoweb_bot.telegram.updates import sender_id_of

log = logging.getLogger(__name__)


def route(app: App, update: Mapping[str, Any]) -> None:
    """Handle one Bot API update; anything but a text message or a press is not for the bot."""
    read = read_update(update)
    if isinstance(read, Message):
        on_message(app, read)
    elif isinstance(read, Callback):
        on_press(app, read)


# -- messages ---------------------------------------------------------------------------------


def on_message(app: App, message: Message) -> None:
    sender, command = message.sender, message.command
    if sender is None:
        return  # sent on behalf of a chat (a channel post): nobody to answer
    if command is not None and command.name in BY_NAME and for_us(app, command.target):
        run_command(app, BY_NAME[command.name], message, sender, command.args)
        return
    if command is None and typed_result(app, message):
        return
    if meant_for_us(app, message):
        person = person_of(app, sender.id)
        reply = Reply(app.telegram, message.chat_id)
        if has_access(person):
            reply.show(t(app.lang, "short_help"))
        else:
            reply.show(no_access_text(app.lang, person.telegram_id))


def for_us(app: App, target: str | None) -> bool:
    """``/cmd`` and ``/cmd@thisbot`` are ours (case-insensitive); ``/cmd@otherbot`` is not."""
    return target is None or target.casefold() == app.bot_username().casefold()


def meant_for_us(app: App, message: Message) -> bool:
    """Whether text the table does not know still gets an answer: anything in a private chat,
    and in a group an unknown command addressed to this bot by name."""
    command = message.command
    if command is None or command.target is None:
        return message.private
    return for_us(app, command.target)


def run_command(app: App, command: Command, message: Message, sender: Sender, args: str) -> None:
    """Check access again for this command, then run it with every failure turned into text."""
    reply = Reply(app.telegram, message.chat_id, placeholder=not answers_at_once(app, command.name))
    person = person_of(app, sender.id)
    if not command.allows(person.role) and not has_access(person):
        log.info("refused /%s: user %s has no access", command.name, person.telegram_id)
        reply.show(no_access_text(app.lang, person.telegram_id))
        return
    if not command.allows(person.role):
        reply.show(t(app.lang, "not_allowed"))
        return
    forget_result(app.state, message.chat_id, person.telegram_id)  # a command ends that wait
    log.info("/%s from user %s in chat %s", command.name, person.telegram_id, message.chat_id)
    req = Request(app, person, sender, args, reply, command, COMMANDS)
    with guard(app.lang, reply.show, f"/{command.name}", message.chat_id), app.client.operation():
        if command.needs_args and not args:
            reply.show(usage(app.lang, command))
        else:
            command.run(req)


# -- button presses ---------------------------------------------------------------------------


def on_press(app: App, callback: Callback) -> None:
    """Check the presser, read the button, act; the query is answered whatever happens."""
    if callback.chat_id is None:  # a button on an inline-mode message: not one of ours
        app.telegram.answer_callback(callback.id, t(app.lang, "cb_stale"))
        return
    person = person_of(app, callback.sender.id)
    reply = Reply(app.telegram, callback.chat_id, callback.message_id)
    press = Press(app, person, callback.id, reply)
    try:
        if not has_access(person):
            log.info("refused button %r: user %s has no access", callback.data, person.telegram_id)
            press.answer(no_access_text(app.lang, person.telegram_id, alert=True), alert=True)
            return
        try:
            pressed = decode(callback.data)
        except Outdated:
            log.info("outdated button data %r from user %s", callback.data, person.telegram_id)
            press.answer(t(app.lang, "cb_stale"))
            return
        what = f"button {pressed.code}"
        with guard(app.lang, press.notify, what, callback.chat_id), app.client.operation():
            act(press, refresh_if_asked(app, pressed))
    finally:
        press.answer()


# -- an update that failed every attempt ------------------------------------------------------


def apologize(app: App, item: InboxItem) -> None:
    """An update failed every attempt, before or outside any handler's own error message:
    tell its sender, if they may use the bot."""
    sender = sender_id_of(item.update)
    if item.chat_id is None or sender is None:
        return
    if not has_access(person_of(app, sender)):
        return  # a stranger hears nothing but the no-access line, and only from a handler
    Reply(app.telegram, item.chat_id).send(t(app.lang, "err_internal"))
