"""Daily digests: the /report screen, pushed to subscribed chats at a set company time.

Exactly once per chat per local day: ``digest_log`` has the primary key (chat_id, local date)
and a digest is claimed by inserting that row before anything is sent, so two processes, a
restart or a replayed tick cannot send a second one. "Today", the weekday and the due moment
are computed in company time with
pytz, so DST change days and Asia/Almaty's move to UTC+5 (2024-03-01) need nothing special.

A director's digest brings the overdue chart as a photo after it (``[digest] chart``, on by
default); a manager's is their own list only. After downtime the digest goes out on the next
tick of the same local day, marked late; a day that ended while the server was down has no
digest (it would be stale). A subscription made after today's time starts tomorrow:
subscribing at 15:00 to 09:00 is not a late digest.
"""

from __future__ import annotations

import datetime
import logging
from collections.abc import Iterator
from dataclasses import dataclass
from dataclasses import field

import pytz

from leoweb_bot.access import Person
from leoweb_bot.access import can_see_all
from leoweb_bot.access import has_access
from leoweb_bot.amocrm.errors import AmoError
from leoweb_bot.bot.context import App
from leoweb_bot.bot.members import person_of
from leoweb_bot.bot.pictures import Picture
from leoweb_bot.bot.pictures import overdue_picture
from leoweb_bot.bot.screens import Screen
from leoweb_bot.bot.screens import overdue_report
from leoweb_bot.bot.screens import report_screen
from leoweb_bot.bot.texts import Html
from leoweb_bot.bot.texts import escape
from leoweb_bot.bot.texts import join
from leoweb_bot.bot.texts import t
from leoweb_bot.reports import local
from leoweb_bot.state.digests import DigestStatus
from leoweb_bot.state.digests import Subscription
from leoweb_bot.state.digests import all_subscriptions
from leoweb_bot.state.digests import claim_digest
from leoweb_bot.state.digests import sent_on
from leoweb_bot.state.digests import settle_digest
from leoweb_bot.state.digests import skip_digest
from leoweb_bot.telegram.client import TelegramError

log = logging.getLogger(__name__)

Tz = datetime.tzinfo
LATE_AFTER = 600  # seconds after the set time; ticks are 15 s apart, so only downtime gets here


# -- time -------------------------------------------------------------------------------------


def due_at(day: datetime.date, hhmm: str, tz: Tz) -> int:
    """Epoch seconds of HH:MM company time on ``day``.

    On a spring-forward day a time inside the skipped hour is read with the offset from before
    the jump, as PEP 495 does (Berlin 02:30 → 03:30 CEST); on a fall-back day a time that
    happens twice means its first occurrence, so the digest does not wait an extra hour.
    """
    hour, minute = map(int, hhmm.split(":"))
    naive = datetime.datetime.combine(day, datetime.time(hour, minute))
    localize = getattr(tz, "localize", None)
    if localize is None:  # a zoneinfo-style tz; settings always give pytz
        return int(naive.replace(tzinfo=tz).timestamp())
    try:
        aware = localize(naive, is_dst=None)
    except pytz.AmbiguousTimeError:
        aware = localize(naive, is_dst=True)
    except pytz.NonExistentTimeError:
        aware = localize(naive, is_dst=False)
    return int(aware.timestamp())


def is_digest_day(day: datetime.date, weekdays_only: bool) -> bool:
    return not weekdays_only or day.weekday() < 5


def due_today(
    sub: Subscription, now: int, tz: Tz, weekdays_only: bool
) -> tuple[datetime.date, int] | None:
    """(local date, due moment) when this chat's digest for today is due by ``now``."""
    today = local(now, tz).date()
    if not is_digest_day(today, weekdays_only):
        return None
    due = due_at(today, sub.at, tz)
    if now < due or sub.since > due:
        return None
    return today, due


def next_digest(
    sub: Subscription, now: int, tz: Tz, weekdays_only: bool, sent_today: bool = False
) -> int:
    """When this chat gets its next digest: ``now`` if today's is due and not yet sent."""
    today = local(now, tz).date()
    for offset in range(8):
        day = today + datetime.timedelta(days=offset)
        if not is_digest_day(day, weekdays_only):
            continue
        due = due_at(day, sub.at, tz)
        if offset == 0 and (sent_today or sub.since > due):
            continue
        return max(due, now)
    raise AssertionError("every week has a weekday")


# -- subscriptions ----------------------------------------------------------------------------


def subscriber_name(app: App, asking: int, subscriber: int) -> Html:
    """Who set a chat's digest up, as the one asking knows them: "you", a linked manager's
    amoCRM name, else the role and Telegram id (the bot knows nothing more about a director)."""
    if asking == subscriber:
        return t(app.lang, "subscriber_you")
    person = person_of(app, subscriber)
    if person.amocrm_user_id is not None:
        try:
            user = app.client.users().get(person.amocrm_user_id)
        except AmoError:
            user = None  # the role and id still say who it is
        if user is not None:
            return escape(user.name)
    role = t(app.lang, f"role_{person.role.value}")
    return t(app.lang, "subscriber_role", role=role, id=subscriber)


# -- the job ----------------------------------------------------------------------------------


def send_due_digests(app: App, now: int) -> Iterator[None]:
    """Send every digest that is due now and not yet claimed; one failing chat spares the rest.

    Yields after each digest sent, so the scheduler keeps the job's lease through a long round.
    """
    built = Built()
    for sub in all_subscriptions(app.state):
        due = due_today(sub, now, app.tz, app.settings.digest.weekdays_only)
        if due is None or sent_on(app.state, sub.chat_id, due[0]):
            continue
        send_digest(app, sub, due, now, built)
        yield


@dataclass
class Built:
    """What a round of digests builds once for every chat: the same report for every director
    (and the same chart), each manager's own list; amoCRM is read once per round."""

    screens: dict[str, Screen] = field(default_factory=dict)  # "all", or a manager's amoCRM id
    chart: Picture | None = None


def send_digest(
    app: App,
    sub: Subscription,
    due: tuple[datetime.date, int],
    now: int,
    built: Built,
) -> None:
    day, due_moment = due
    person = person_of(app, sub.telegram_user_id)
    if not has_access(person):  # the subscriber was removed
        log.info(
            "digest for chat %s skipped: user %s has no access", sub.chat_id, person.telegram_id
        )
        skip_digest(app.state, sub.chat_id, day, now)
        return
    late = now - due_moment > LATE_AFTER
    if not claim_digest(app.state, sub.chat_id, day, now, late):
        return
    try:
        screen = digest_screen(app, person, built.screens)
    except AmoError:
        settle_digest(app.state, sub.chat_id, day, DigestStatus.RETRY, now)
        raise  # amoCRM is down for everyone: the scheduler logs it, maybe opens an incident
    except Exception:
        log.exception("digest for chat %s could not be built", sub.chat_id)
        settle_digest(app.state, sub.chat_id, day, DigestStatus.FAILED, now)
        return
    status = deliver(app, sub.chat_id, digest_html(app, screen, sub, late), screen)
    settle_digest(app.state, sub.chat_id, day, status, now)
    log.info("digest for chat %s (%s%s): %s", sub.chat_id, day, ", late" if late else "", status)
    if status == DigestStatus.SENT and app.settings.digest.chart and can_see_all(person):
        send_chart(app, sub.chat_id, built)


def digest_screen(app: App, person: Person, screens: dict[str, Screen]) -> Screen:
    """What /report shows this person: the summary for directors, the own list for managers."""
    key = "all" if can_see_all(person) else str(person.amocrm_user_id)
    if key not in screens:
        screens[key] = report_screen(app, person)
    return screens[key]


def send_chart(app: App, chat_id: int, built: Built) -> None:
    """``[digest] chart``: the overdue chart under a director's digest. The digest is out
    already, so a failure here costs only the picture (logged, not retried)."""
    try:
        if built.chart is None:
            built.chart = overdue_picture(app, overdue_report(app, app.client.users()))
        chart = built.chart
        app.telegram.send_photo(chat_id, chart.png, chart.caption, chart.markup)
    except (AmoError, TelegramError) as exc:
        log.warning("digest chart for chat %s not sent: %s", chat_id, exc)
    except Exception:
        log.exception("digest chart for chat %s could not be drawn", chat_id)


def digest_html(app: App, screen: Screen, sub: Subscription, late: bool) -> Html:
    lines = [t(app.lang, "digest_title")]
    if late:
        lines.append(t(app.lang, "digest_late", time=sub.at))
    return join([*lines, screen.html])


def deliver(app: App, chat_id: int, html: Html, screen: Screen) -> DigestStatus:
    """Send once. A Telegram failure is not retried: it may have been delivered already."""
    try:
        app.telegram.send(chat_id, html, reply_markup=screen.markup)
    except TelegramError as exc:
        log.error("digest for chat %s not sent: %s", chat_id, exc)
        return DigestStatus.FAILED
    return DigestStatus.SENT
