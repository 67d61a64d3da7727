"""The daily history: at the end of each company day, each manager's numbers (``/chart trend``).

From :data:`DAY_ENDS` company time until midnight, the first tick that finds today unrecorded
reads amoCRM (tasks due by tonight, tasks completed today) and records one row per manager —
overdue, due today, closed today, zeros included. Recording inserts the day's key in the same
transaction as its rows (``state/snapshots.py``), so two processes, a restart or a replayed tick
record a day once. A day the bot was not running at its end stays unrecorded: the trend shows a
gap there, and history starts on the first day the bot saw end, never earlier.
"""

from __future__ import annotations

import datetime
import logging

from leoweb_bot.bot.context import App
from leoweb_bot.bot.team import read_scorecard
from leoweb_bot.reports import local
from leoweb_bot.state.snapshots import is_recorded
from leoweb_bot.state.snapshots import record_day

log = logging.getLogger(__name__)

# Late enough that the day's work is done, early enough that a tick every 15 s (or a short
# restart) still lands before midnight; "due today" is then what is left for tonight.
DAY_ENDS = datetime.time(23, 45)


def record_snapshot(app: App, now: int) -> None:
    """Record today's numbers if the day is ending and nobody has yet."""
    moment = local(now, app.tz)
    day = moment.date()
    if moment.time() < DAY_ENDS or is_recorded(app.state, day):
        return
    rows = read_scorecard(app, leads=False)
    numbers = [(r.amocrm_user_id, r.name, r.overdue, r.due_today, r.closed_today) for r in rows]
    if record_day(app.state, day, numbers, now):
        log.info("daily snapshot of %s: %d managers", day, len(numbers))
