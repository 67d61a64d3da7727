"""The command handlers: each gets a :class:`~leoweb_bot.bot.request.Request` from the router,
already checked (who asks, whether their role may, whether the arguments it needs are there),
and shows a screen. Which command runs which handler, for whom, is ``table.py``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from collections.abc import Mapping

from leoweb_bot import __version__
from leoweb_bot.access import can_change_subscription
from leoweb_bot.access import can_see_all
from leoweb_bot.access import has_access
from leoweb_bot.access import is_service_account
from leoweb_bot.amocrm.errors import AmoError
from leoweb_bot.amocrm.errors import NotFound
from leoweb_bot.amocrm.models import User
from leoweb_bot.bot.formats import echo
from leoweb_bot.bot.formats import format_when
from leoweb_bot.bot.invites import redeem
from leoweb_bot.bot.joining import ask
from leoweb_bot.bot.members import person_of
from leoweb_bot.bot.replies import error_text
from leoweb_bot.bot.replies import no_access_text
from leoweb_bot.bot.request import Request
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
from leoweb_bot.bot.texts import join
from leoweb_bot.bot.texts import t
from leoweb_bot.bot.views import render_help
from leoweb_bot.bot.views import render_whoami
from leoweb_bot.bot.views import usage
from leoweb_bot.ids import typed_id
from leoweb_bot.proactive.digest import next_digest
from leoweb_bot.proactive.digest import subscriber_name
from leoweb_bot.reports import by_name
from leoweb_bot.reports import local
from leoweb_bot.reports import match_managers
from leoweb_bot.state.digests import Subscription
from leoweb_bot.state.digests import drop_subscription
from leoweb_bot.state.digests import save_subscription
from leoweb_bot.state.digests import sent_on
from leoweb_bot.state.digests import subscription_of
from leoweb_bot.values import parse_time

log = logging.getLogger(__name__)


def show(req: Request, screen: Screen) -> None:
    req.reply.show(screen.html, screen.markup)


# -- commands ---------------------------------------------------------------------------------


def start(req: Request) -> None:
    """Greet the user and list the commands their role may use. In a private chat, a token
    (an invite link opened) lets a stranger in, and a stranger without one asks to join."""
    if req.private and not is_service_account(req.sender.id):
        if req.args:
            redeem(req)
            return
        if not has_access(req.person):
            ask(req)
            return
    if not has_access(req.person):
        req.reply.show(no_access_text(req.lang, req.sender.id))
        return
    greeting = t(req.lang, "greeting", name=req.first_name)
    req.reply.show(join([greeting, Html(""), render_help(req.lang, req.person.role, req.table)]))


def help_command(req: Request) -> None:
    """List the commands this user's role may use."""
    req.reply.show(render_help(req.lang, req.person.role, req.table))


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
        usage(req.lang, req.command),
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
    task_arg, *result = req.args.split(None, 1)
    task_id = typed_id(task_arg)
    if task_id is None:
        req.reply.show(usage(req.lang, req.command))
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
    account_status(req, lambda: account_screen(req.app).html)


def version(req: Request) -> None:
    """The running version and the amoCRM account it works with; a failure is the status."""
    account_status(req, lambda: version_line(req))


def version_line(req: Request) -> Html:
    account = req.app.client.account()
    return t(req.lang, "version", version=__version__, name=account.name,
             subdomain=account.subdomain, id=account.id)  # fmt: skip


def account_status(req: Request, read: Callable[[], Html]) -> None:
    """An admin's view of the amoCRM account: what ``read`` renders, or why amoCRM failed,
    with the technical cause (host, DNS/refused/TLS/timeout)."""
    req.reply.working(t(req.lang, "working"))
    try:
        html = read()
    except AmoError as exc:
        log.warning("/%s: amoCRM check failed: %s", req.command.name, exc)
        failed = t(req.lang, "amocrm_failed", reason=error_text(req.lang, exc))
        req.reply.show(join([failed, t(req.lang, "amocrm_cause", cause=exc)]))
        return
    req.reply.show(html)


# -- daily digest -----------------------------------------------------------------------------


def subscribe(req: Request) -> None:
    """Send the report to this chat every (working) day at HH:MM company time."""
    at = parse_time(req.args or req.app.settings.digest.time)
    if at is None:
        bad_time = t(req.lang, "subscribe_bad_time", text=echo(req.args))
        req.reply.show(join([bad_time, usage(req.lang, req.command)]))
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
    subscriber = person_of(req.app, sub.telegram_user_id)
    what = "digest_what_all" if can_see_all(subscriber) else "digest_what_own"
    days = "digest_weekdays" if req.app.settings.digest.weekdays_only else "digest_daily"
    return {
        "what": t(req.lang, what),
        "days": t(req.lang, days),
        "time": sub.at,
        "tz": str(req.app.tz),
    }
