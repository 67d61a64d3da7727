"""Telegram commands: check who asks, parse the arguments, show a screen. Thin by design.

``build_bot`` returns a ``telebot.TeleBot(threaded=False)`` used only for routing: the dispatcher
feeds it one update at a time and every reply goes through :class:`leoweb_bot.telegram.client.Telegram`.
pyTelegramBotAPI's ``commands=`` filter ignores the ``@botname`` suffix and is case-sensitive
(docs/telegram.md#pytelegrambotapi), so commands are matched here instead
(docs/telegram.md#groups-and-commands).
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable
from collections.abc import Mapping
from dataclasses import dataclass
from functools import partial

import telebot
from telebot.types import Message

from leoweb_bot.access import Person
from leoweb_bot.access import can_change_subscription
from leoweb_bot.access import can_see_all
from leoweb_bot.access import has_access
from leoweb_bot.access import may_use
from leoweb_bot.access import who
from leoweb_bot.amocrm.client import AmoClient
from leoweb_bot.amocrm.errors import AmoError
from leoweb_bot.amocrm.errors import NotFound
from leoweb_bot.amocrm.models import User
from leoweb_bot.bot.buttons import register_callbacks
from leoweb_bot.bot.buttons import typed_result
from leoweb_bot.bot.closing import forget_result
from leoweb_bot.bot.freshness import answers_at_once
from leoweb_bot.bot.replies import Reply
from leoweb_bot.bot.replies import error_text
from leoweb_bot.bot.replies import guard
from leoweb_bot.bot.replies import no_access_text
from leoweb_bot.bot.screens import App
from leoweb_bot.bot.screens import Screen
from leoweb_bot.bot.screens import account_screen
from leoweb_bot.bot.screens import close_task
from leoweb_bot.bot.screens import closing_text
from leoweb_bot.bot.screens import contacts_screen
from leoweb_bot.bot.screens import funnel_screen
from leoweb_bot.bot.screens import lead_screen
from leoweb_bot.bot.screens import leads_choice
from leoweb_bot.bot.screens import manager_screen
from leoweb_bot.bot.screens import mytasks_screen
from leoweb_bot.bot.screens import report_screen
from leoweb_bot.bot.search import find_contacts
from leoweb_bot.bot.search import find_leads
from leoweb_bot.bot.texts import Html
from leoweb_bot.bot.texts import echo
from leoweb_bot.bot.texts import format_when
from leoweb_bot.bot.texts import join
from leoweb_bot.bot.texts import t
from leoweb_bot.bot.views import render_help
from leoweb_bot.bot.views import render_whoami
from leoweb_bot.bot.views import usage
from leoweb_bot.config import Settings
from leoweb_bot.ids import typed_id
from leoweb_bot.proactive.digest import Subscription
from leoweb_bot.proactive.digest import drop_subscription
from leoweb_bot.proactive.digest import next_digest
from leoweb_bot.proactive.digest import save_subscription
from leoweb_bot.proactive.digest import sent_on
from leoweb_bot.proactive.digest import subscriber_name
from leoweb_bot.proactive.digest import subscription_of
from leoweb_bot.reports import by_name
from leoweb_bot.reports import local
from leoweb_bot.reports import match_managers
from leoweb_bot.state.db import InboxItem
from leoweb_bot.state.db import State
from leoweb_bot.telegram.client import Telegram
from leoweb_bot.telegram.updates import sender_id_of
from leoweb_bot.values import parse_time

log = logging.getLogger(__name__)

# Bot API BotCommand: 1-32 characters of a-z, 0-9 and _; we also accept upper case (/REPORT).
COMMAND_RE = re.compile(r"/([A-Za-z0-9_]{1,32})(?:@([A-Za-z0-9_]+))?(?:\s+(.*))?", re.DOTALL)


@dataclass(frozen=True)
class Request:
    """One command from one person: who, with which arguments, and where to answer."""

    app: App
    person: Person
    first_name: str
    args: str
    reply: Reply

    @property
    def lang(self) -> str:
        return self.app.lang


def build_bot(
    *,
    settings: Settings,
    client: AmoClient,
    telegram: Telegram,
    state: State,
    clock: Callable[[], float] = time.time,
) -> telebot.TeleBot:
    """Wire every command and button to a TeleBot that only routes (it never sends anything)."""
    app = App(settings=settings, client=client, telegram=telegram, state=state, clock=clock)
    bot = telebot.TeleBot(settings.telegram.token or "0:demo", threaded=False)
    on = partial(register_command, bot, app)
    # commands, in the order /help lists them
    on("start", start)
    on("help", help_command)
    on("whoami", whoami)
    on("report", report)
    on("mytasks", mytasks)
    on("done", done)
    on("lead", lead)
    on("contact", contact)
    on("funnel", funnel)
    on("amocrm", amocrm)
    on("subscribe", subscribe)
    on("unsubscribe", unsubscribe)
    on("subscriptions", subscriptions)
    # anything else: unknown commands and plain text
    bot.register_message_handler(partial(other_message, app), func=lambda message: True)
    register_callbacks(bot, app)
    return bot


# -- routing ----------------------------------------------------------------------------------


def parse_command(text: str | None) -> tuple[str, str | None, str] | None:
    """``/Report@Bot  Зелимхан`` → ``("report", "Bot", "Зелимхан")``; None for plain text."""
    match = COMMAND_RE.fullmatch(text or "")
    if not match:
        return None
    name, target, args = match.groups()
    return name.lower(), target, (args or "").strip()


def is_for_us(app: App, target: str | None) -> bool:
    """``/cmd`` and ``/cmd@thisbot`` are ours (case-insensitive); ``/cmd@otherbot`` is not."""
    return target is None or target.casefold() == app.bot_username().casefold()


def addressed(app: App, name: str, message: Message) -> bool:
    """Whether this message is the command ``name`` meant for this bot, from a user."""
    command = parse_command(message.text)
    if command is None or command[0] != name or message.from_user is None:
        return False
    return is_for_us(app, command[1])


def register_command(
    bot: telebot.TeleBot, app: App, name: str, handler: Callable[[Request], None]
) -> None:
    bot.register_message_handler(
        partial(run_command, app, name, handler), func=partial(addressed, app, name)
    )


def run_command(app: App, name: str, handler: Callable[[Request], None], message: Message) -> None:
    """Check access again for this command, then run it with every failure turned into text."""
    reply = Reply(app.telegram, message.chat.id, placeholder=not answers_at_once(app, name))
    person = who(app.settings.access, message.from_user.id)
    if not has_access(person):
        log.info("refused /%s: user %s has no access", name, person.telegram_id)
        reply.show(no_access_text(app.lang, person.telegram_id))
        return
    if not may_use(person, name):
        reply.show(t(app.lang, "not_allowed"))
        return
    command = parse_command(message.text)
    args = command[2] if command else ""
    forget_result(app.state, message.chat.id, person.telegram_id)  # a command ends that wait
    log.info("/%s from user %s in chat %s", name, person.telegram_id, message.chat.id)
    # One command is one operation: all its amoCRM calls share one deadline (amocrm/deadline.py).
    with guard(app.lang, reply.show, f"/{name}", message.chat.id), app.client.operation():
        handler(Request(app, person, message.from_user.first_name or "", args, reply))


def other_message(app: App, message: Message) -> None:
    """A typed task result; unknown commands and plain text: short help in a private chat;
    silence in groups."""
    command = parse_command(message.text)
    if command is None and typed_result(app, message):
        return
    private = message.chat.type == "private"
    if command is not None:
        target = command[1]
        if not is_for_us(app, target) or (target is None and not private):
            return  # a group command for another bot, or not clearly meant for us
    elif not private or message.text is None:
        return
    if message.from_user is None:
        return  # a channel post or similar: nobody to answer
    person = who(app.settings.access, message.from_user.id)
    reply = Reply(app.telegram, message.chat.id)
    if not has_access(person):
        reply.show(no_access_text(app.lang, person.telegram_id))
    else:
        reply.show(t(app.lang, "short_help"))


def apologize(app: App, item: InboxItem) -> None:
    """An update failed every attempt, before or outside any handler's own error message (say,
    pyTelegramBotAPI could not parse it): tell its sender, if they may use the bot."""
    sender = sender_id_of(item.update)
    if item.chat_id is None or sender is None:
        return
    if not has_access(who(app.settings.access, sender)):
        return  # a stranger hears nothing but the no-access line, and only from a handler
    Reply(app.telegram, item.chat_id).send(t(app.lang, "err_internal"))


def show(req: Request, screen: Screen) -> None:
    req.reply.show(screen.html, screen.markup)


# -- commands ---------------------------------------------------------------------------------


def start(req: Request) -> None:
    """Greet the user and list the commands their role may use."""
    greeting = t(req.lang, "greeting", name=req.first_name)
    req.reply.show(join([greeting, Html(""), render_help(req.lang, req.person)]))


def help_command(req: Request) -> None:
    """List the commands this user's role may use."""
    req.reply.show(render_help(req.lang, req.person))


def whoami(req: Request) -> None:
    """Show the Telegram id, the role and the linked amoCRM user."""
    users: Mapping[int, User] = {}
    if req.person.amocrm_user_id:
        try:
            users = req.app.client.users()
        except AmoError:
            log.warning("whoami: amoCRM users unavailable, showing the id only")
    req.reply.show(render_whoami(req.lang, req.person, users))


def report(req: Request) -> None:
    """Overdue tasks: the summary per manager, one manager's list, or (managers) their own."""
    if req.args and not can_see_all(req.person):
        req.reply.show(t(req.lang, "report_own_only"))
        return
    req.reply.working(t(req.lang, "working"))
    if not req.args:
        show(req, report_screen(req.app, req.person))
        return
    users = req.app.client.users()
    found = match_managers(req.args, users)
    if len(found) == 1:
        show(req, manager_screen(req.app, req.person, found[0].id, 0, back=True))
        return
    problem = "report_ambiguous" if found else "report_no_match"
    names = ", ".join(u.name for u in found or by_name(users.values()))
    req.reply.show(join([
        t(req.lang, problem, query=echo(req.args)),
        usage(req.lang, "report"),
        t(req.lang, "report_names", names=names),
    ]))  # fmt: skip


def mytasks(req: Request) -> None:
    """Own overdue and due-today tasks, a page at a time, each with a ✅ button."""
    if req.person.amocrm_user_id is None:
        req.reply.show(t(req.lang, "mytasks_unlinked"))
        return
    req.reply.working(t(req.lang, "working"))
    show(req, mytasks_screen(req.app, req.person, req.person.amocrm_user_id, 0))


def done(req: Request) -> None:
    """Close a task with a result text; managers may close only their own tasks."""
    task_arg, *result = req.args.split(None, 1) or [""]
    task_id = typed_id(task_arg)
    if task_id is None:
        req.reply.show(usage(req.lang, "done"))
        return
    req.reply.working(t(req.lang, "working"))
    try:
        closing = close_task(req.app, req.person, task_id, "".join(result) or None)
    except NotFound:
        req.reply.show(t(req.lang, "done_not_found", id=task_id))
        return
    req.reply.show(closing_text(req.lang, closing))


def lead(req: Request) -> None:
    """The lead card by id, or a search by text (one match: the card; several: buttons)."""
    if not req.args:
        req.reply.show(usage(req.lang, "lead"))
        return
    req.reply.working(t(req.lang, "working"))
    # An all-digit query is tried as an id first, then as text (a phone number, say).
    query = req.args.removeprefix("#") if typed_id(req.args) is not None else req.args
    found = find_leads(req.app.client, query)
    if not found:
        req.reply.show(t(req.lang, "lead_none", query=echo(req.args)))
    elif len(found) == 1:
        show(req, lead_screen(req.app, req.person, found[0]))
    else:
        show(req, leads_choice(req.app, found))


def contact(req: Request) -> None:
    """Contacts matching a name, phone or e-mail, with their details and card links."""
    if not req.args:
        req.reply.show(usage(req.lang, "contact"))
        return
    req.reply.working(t(req.lang, "working"))
    found = find_contacts(req.app.client, req.args)
    if not found:
        req.reply.show(t(req.lang, "contact_none", query=echo(req.args)))
        return
    show(req, contacts_screen(req.app, found))


def funnel(req: Request) -> None:
    """Open leads per stage for each pipeline, won and lost this month."""
    req.reply.working(t(req.lang, "working"))
    show(req, funnel_screen(req.app))


def amocrm(req: Request) -> None:
    """The connection status and an account summary; a failure is the status, not an error."""
    req.reply.working(t(req.lang, "working"))
    try:
        screen = account_screen(req.app)
    except AmoError as exc:
        log.warning("/amocrm: amoCRM check failed: %s", exc)
        failed = t(req.lang, "amocrm_failed", reason=error_text(req.lang, exc))
        # The admin's status screen: the technical cause too (host, DNS/refused/TLS/timeout).
        req.reply.show(join([failed, t(req.lang, "amocrm_cause", cause=exc)]))
        return
    show(req, screen)


# -- daily digest -----------------------------------------------------------------------------


def subscribe(req: Request) -> None:
    """Send the report to this chat every (working) day at HH:MM company time."""
    at = parse_time(req.args or req.app.settings.digest.time)
    if at is None:
        bad_time = t(req.lang, "subscribe_bad_time", text=echo(req.args))
        req.reply.show(join([bad_time, usage(req.lang, "subscribe")]))
        return
    app, chat_id = req.app, req.reply.chat_id
    current = subscription_of(app.state, chat_id)
    if current and not can_change_subscription(req.person, current.telegram_user_id):
        req.reply.show(t(req.lang, "subscription_taken"))
        return
    now = app.now()
    save_subscription(app.state, chat_id, req.person.telegram_id, at, now)
    sub = Subscription(chat_id, req.person.telegram_id, at, now)
    weekdays_only = app.settings.digest.weekdays_only
    sent_today = sent_on(app.state, chat_id, local(now, app.tz).date())
    upcoming = next_digest(sub, now, app.tz, weekdays_only, sent_today)
    text = t(req.lang, "subscribed", next=format_when(upcoming, app.tz), **digest_terms(req, sub))
    req.reply.show(text)


def unsubscribe(req: Request) -> None:
    """Stop this chat's digest (its subscriber, a director or an admin)."""
    current = subscription_of(req.app.state, req.reply.chat_id)
    if current is None:
        req.reply.show(t(req.lang, "subscription_none"))
    elif not can_change_subscription(req.person, current.telegram_user_id):
        req.reply.show(t(req.lang, "subscription_taken"))
    else:
        drop_subscription(req.app.state, req.reply.chat_id)
        req.reply.show(t(req.lang, "unsubscribed"))


def subscriptions(req: Request) -> None:
    """What this chat receives, when, and who set it up."""
    current = subscription_of(req.app.state, req.reply.chat_id)
    if current is None:
        req.reply.show(t(req.lang, "subscription_none"))
        return
    name = subscriber_name(req.app, req.person.telegram_id, current.telegram_user_id)
    req.reply.show(t(req.lang, "subscription_show", name=name, **digest_terms(req, current)))


def digest_terms(req: Request, sub: Subscription) -> dict[str, object]:
    """What comes (by the subscriber's role), on which days, at what time, in which timezone."""
    subscriber = who(req.app.settings.access, sub.telegram_user_id)
    what = "digest_what_all" if can_see_all(subscriber) else "digest_what_own"
    days = "digest_weekdays" if req.app.settings.digest.weekdays_only else "digest_daily"
    return {
        "what": t(req.lang, what),
        "days": t(req.lang, days),
        "time": sub.at,
        "tz": str(req.app.tz),
    }
