"""Overdue alerts: a manager hears about a task of theirs when it goes overdue, once.

amoCRM has no "task became overdue" webhook (docs/amocrm.md#webhooks), so a cycle looks for
what went overdue since the previous one (docs/architecture.md#overdue-alerts):

* **Delta** (the mirror is complete and a cycle looked before): one local query of the mirror
  (``Mirror.went_late``) for the open tasks due before now that fell due since the last look
  (further back only for an all-day deadline whose day ended since: ``tasklists.fell_due_since``)
  or that the sync wrote
  since (created, reassigned, re-dated, reopened); the untouched backlog is not read. A manager
  never looked at before has their overdue tasks read in full, once, to record them ``known``.
  With the mirror the job runs every ``[sync] interval_seconds`` (``[alerts] interval_minutes``
  at most), so an alert comes within one sync interval of the data.
* **Full scan** (the first cycle, a live amoCRM client, a mirror still bootstrapping, and once a
  day): every open task due before now, as ``open_tasks_due_before(now)`` answers it. Live, it
  runs every ``[alerts] interval_minutes``. The daily one forgets settled rows (below) and
  catches anything a delta missed.

Either way the overdue rule (``reports.is_overdue``) picks the late ones.

``alerts_sent`` is keyed by (task id, deadline). A task alerts once per deadline: moving the
deadline and missing it again alerts again, a second cycle or a restart does not. Choices:

* First look at a manager (the first run after install, or a manager newly let in, through the
  config or the bot): their tasks that are already overdue are recorded as ``known`` and
  not sent; the daily digest and /mytasks cover the backlog. Only what goes overdue later alerts.
* Quiet hours (company time, may wrap midnight): new alerts wait as ``pending`` and go out in one
  message per manager on the first cycle after the quiet hours; tasks closed meanwhile are dropped.
* Several tasks of one manager that went overdue in one cycle share one message.
* A task reassigned after its alert does not alert its new owner for the same deadline.
* A settled row is deleted 30 days after it was found, once its task is no longer overdue at
  that deadline (closed, re-dated, deleted); while the task stays overdue, the row stays. Only
  full scans know that of every row (most settled rows are a backlog that stays overdue, tens of
  thousands on a large account), and a 30-day horizon needs no more than the daily one.
"""

from __future__ import annotations

import datetime
import logging
from collections import defaultdict
from collections.abc import Mapping
from collections.abc import Sequence
from collections.abc import Set
from dataclasses import dataclass

from telebot.types import InlineKeyboardMarkup

from leoweb_bot.amocrm.models import Task
from leoweb_bot.bot.codec import AskClose
from leoweb_bot.bot.context import App
from leoweb_bot.bot.members import access_now
from leoweb_bot.bot.screens import button
from leoweb_bot.bot.texts import Html
from leoweb_bot.bot.texts import join
from leoweb_bot.bot.texts import t
from leoweb_bot.bot.views import task_line
from leoweb_bot.reports import by_due
from leoweb_bot.reports import is_overdue
from leoweb_bot.reports import local
from leoweb_bot.state import State
from leoweb_bot.state.kv import get_value
from leoweb_bot.state.kv import set_value
from leoweb_bot.state.overdue import AlertStatus
from leoweb_bot.state.overdue import Key
from leoweb_bot.state.overdue import Overdue
from leoweb_bot.state.overdue import forget_settled_alerts
from leoweb_bot.state.overdue import pending_managers
from leoweb_bot.state.overdue import record_overdue
from leoweb_bot.state.overdue import settle_alerts
from leoweb_bot.state.overdue import take_pending
from leoweb_bot.state.overdue import unseen_managers
from leoweb_bot.sync.reader import MirroredClient
from leoweb_bot.sync.reader import MirrorReader
from leoweb_bot.tasklists import fell_due_since
from leoweb_bot.telegram.client import TelegramError
from leoweb_bot.values import quiet_hours

log = logging.getLogger(__name__)

BATCH_LIMIT = 15  # tasks with ✅ buttons in one message; the rest are counted
KEEP_SETTLED = 30 * 86400  # seconds a settled alert is kept once its task is no longer overdue
FULL_SCAN_EVERY = 86400  # seconds between full scans when deltas are possible
# The sync stamps the rows of a cycle with the moment it began and commits them after its reads,
# so a row can land up to a cycle's length "in the past": a delta reaches this far back for them.
IN_FLIGHT = 120
LOOKED_AT = "alerts.looked_at"  # kv: the previous cycle's now, where the next delta starts
SCANNED_AT = "alerts.scanned_at"  # kv: the last full scan's now


# -- quiet hours ------------------------------------------------------------------------------


def quiet_window(spec: str) -> tuple[datetime.time, datetime.time] | None:
    """``"21:00-9:00"`` → (21:00, 09:00); None when empty or zero-length (no quiet hours)."""
    window = quiet_hours(spec)
    if window is None:
        return None
    begins, ends = (datetime.time.fromisoformat(hhmm) for hhmm in window)
    return None if begins == ends else (begins, ends)


def is_quiet(now: int, tz: datetime.tzinfo, spec: str) -> bool:
    """Whether ``now`` falls in the quiet hours, read in company time."""
    window = quiet_window(spec)
    if window is None:
        return False
    begins, ends = window
    moment = local(now, tz).time()
    if begins < ends:
        return begins <= moment < ends
    return moment >= begins or moment < ends  # wraps midnight


# -- the ledger -------------------------------------------------------------------------------


def forget_settled(state: State, still_overdue: Set[Key], now: int) -> int:
    """Forget settled alerts KEEP_SETTLED after they were found, once their task is no longer
    overdue at that deadline; returns how many went."""
    gone = forget_settled_alerts(state, still_overdue, now - KEEP_SETTLED)
    if gone:
        log.info("overdue alerts: forgot %d settled alerts of tasks no longer overdue", gone)
    return gone


def key_of(task: Task) -> Key:
    return (task.id, task.complete_till or 0)


# -- the job ----------------------------------------------------------------------------------


def chats_by_manager(managers: Mapping[int, int]) -> dict[int, list[int]]:
    """The managers (Telegram id → amoCRM id) turned around; one person may have two."""
    chats: dict[int, list[int]] = defaultdict(list)
    for telegram_id, amocrm_user_id in sorted(managers.items()):
        chats[amocrm_user_id].append(telegram_id)
    return dict(chats)


def longest_gap(app: App) -> int:
    """``[alerts] interval_minutes`` in seconds: the longest gap between two cycles."""
    return app.settings.alerts.interval_minutes * 60


def cycle_seconds(app: App) -> int:
    """How often the job runs: with the mirror a delta is one local query, so every sync
    interval, the longest gap at most; live, every longest gap."""
    if isinstance(app.client, MirroredClient):
        return min(longest_gap(app), app.settings.sync.interval_seconds)
    return longest_gap(app)


@dataclass(frozen=True)
class Look:
    """What a cycle read: every open task due before now (a full scan), or with ``mirror`` set
    only those that can have gone overdue since the previous look (a delta)."""

    tasks: list[Task]
    mirror: MirrorReader | None = None


def moment(state: State, key: str) -> int | None:
    value = get_value(state, key)
    return None if value is None else int(float(value))


def look(app: App, managers: Set[int], now: int) -> Look | None:
    """This cycle's read: a delta when the mirror is ready, a cycle looked before and the last
    full scan is under a day old; otherwise a full scan. None while the mirror bootstraps and
    the last (live) scan is younger than the longest gap."""
    looked_at, scanned_at = moment(app.state, LOOKED_AT), moment(app.state, SCANNED_AT)
    mirror = app.mirror()
    if mirror is None:
        if isinstance(app.client, MirroredClient) and now - (looked_at or 0) < longest_gap(app):
            return None  # until the mirror is complete, live scans keep their old pace
    elif looked_at is not None and now - (scanned_at or 0) < FULL_SCAN_EVERY:
        since = fell_due_since(looked_at, now, app.tz)
        return Look(delta(app.state, mirror, managers, (since, looked_at), now), mirror)
    return Look(app.client.open_tasks_due_before(now))


def delta(
    state: State, mirror: MirrorReader, managers: Set[int], since: tuple[int, int], now: int
) -> list[Task]:
    """What can have gone overdue since the last look: ``since`` is (the oldest deadline that
    can have turned late since, the last look); and the whole backlog of managers never
    looked at (it is recorded ``known``, never sent)."""
    due, looked_at = since
    tasks = mirror.went_late(due, looked_at - IN_FLIGHT, now)
    for manager in sorted(unseen_managers(state, managers)):
        tasks += mirror.open_tasks_due_before(now, manager)
    return list({task.id: task for task in tasks}.values())


def run_alerts(app: App, now: int) -> None:
    """One cycle: read, record what went overdue, and send unless it is quiet."""
    chats = chats_by_manager(access_now(app).managers)
    if not chats:
        return
    seen = look(app, chats.keys(), now)
    if seen is None:
        return
    overdue = [
        task
        for task in seen.tasks
        if task.responsible_user_id in chats and is_overdue(task, now, app.tz)
    ]
    found = [Overdue(*key_of(task), task.responsible_user_id) for task in overdue]
    added = record_overdue(app.state, found, chats, now)
    if seen.mirror is None:
        forget_settled(app.state, {key_of(task) for task in seen.tasks}, now)
        set_value(app.state, SCANNED_AT, str(now))
    set_value(app.state, LOOKED_AT, str(now))
    quiet = is_quiet(now, app.tz, app.settings.alerts.quiet_hours)
    if added:
        log.info("overdue alerts: %d new%s", added, " (quiet hours: held)" if quiet else "")
    if quiet:
        return
    current = {key_of(task): task for task in overdue}
    for amocrm_user_id in pending_managers(app.state):
        send_pending(app, amocrm_user_id, chats.get(amocrm_user_id, []), current, now, seen.mirror)


def send_pending(
    app: App,
    amocrm_user_id: int,
    chats: Sequence[int],
    current: Mapping[Key, Task],
    now: int,
    mirror: MirrorReader | None = None,
) -> None:
    """One message per chat of this manager with every pending task that is still overdue.

    After a delta, a task held through the quiet hours may not be in ``current``: then this
    manager's overdue tasks are read from the ``mirror`` to tell."""
    keys = take_pending(app.state, amocrm_user_id)
    if mirror is not None and any(key not in current for key in keys):
        late = mirror.open_tasks_due_before(now, amocrm_user_id)
        current = {key_of(task): task for task in late if is_overdue(task, now, app.tz)}
    live = [key for key in keys if key in current and chats]
    settle_alerts(app.state, [key for key in keys if key not in live], AlertStatus.DROPPED, now)
    if not live:
        return
    tasks = sorted((current[key] for key in live), key=by_due)
    html, markup = alert_message(app, tasks, now)
    status = AlertStatus.SENT
    for chat_id in chats:
        try:
            app.telegram.send(chat_id, html, reply_markup=markup)
        except TelegramError as exc:
            # Not retried: it may have been delivered, and an alert must never come twice.
            log.error("overdue alert to chat %s not sent: %s", chat_id, exc)
            status = AlertStatus.FAILED
    settle_alerts(app.state, live, status, now)


def alert_message(app: App, tasks: Sequence[Task], now: int) -> tuple[Html, InlineKeyboardMarkup]:
    """Task text, deadline, days late and card link for each task, with a ✅ button each."""
    shown = tasks[:BATCH_LIMIT]
    title = (
        t(app.lang, "alert_one") if len(tasks) == 1 else t(app.lang, "alert_many", count=len(tasks))
    )
    lines = [title, Html("")]
    for n, task in enumerate(shown, 1):
        lines.append(task_line(n, task, lang=app.lang, tz=app.tz, now=now, base_url=app.base_url))
    if len(tasks) > len(shown):
        lines += [Html(""), t(app.lang, "alert_more", count=len(tasks) - len(shown))]
    markup = InlineKeyboardMarkup(row_width=5)
    markup.add(*(button(f"✅ {n}", AskClose(task.id)) for n, task in enumerate(shown, 1)))
    return join(lines), markup
