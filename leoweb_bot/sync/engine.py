"""What the sync does next, one step at a time (the runner calls ``step`` in a loop).

In order of urgency:

1. *Bootstrap*: until the first full scan is complete (users, pipelines, every open task and
   lead), that scan, a page per step; the screens read amoCRM live meanwhile.
2. *Webhooks*: ids an amoCRM webhook named (``Progress.want``), re-read 50 at a time.
3. *Incremental*: every ``[sync] interval_seconds``, or at once when a 🔄 asked for it.
4. *Reconcile*: a full scan again, daily at ``[sync] reconcile_at`` company time (within
   ``RECONCILE_WINDOW`` of it), or at once when the sync was stopped so long that deletion
   events may have expired (docs/amocrm.md#events-api); incremental cycles go on meanwhile.

API v2 cannot list changes (docs/amocrm.md#incremental-sync), so there every interval starts
another full scan instead. Users and pipelines are read with every full scan and again when a
task or lead names a user the mirror does not know (at most once per ``CATALOG_SECONDS``).
"""

from __future__ import annotations

import datetime
import logging
from collections.abc import Callable
from dataclasses import dataclass

from leoweb_bot.amocrm.client import AmoClient
from leoweb_bot.amocrm.models import Lead
from leoweb_bot.config import Settings
from leoweb_bot.reports import local
from leoweb_bot.reports import local_midnight
from leoweb_bot.reports import month_start
from leoweb_bot.state.mirror import Mirror
from leoweb_bot.state.progress import CATALOG
from leoweb_bot.state.progress import CYCLE
from leoweb_bot.state.progress import FULL
from leoweb_bot.state.progress import REFRESH
from leoweb_bot.state.progress import Progress
from leoweb_bot.sync.changes import Changes
from leoweb_bot.sync.rows import pipeline_rows
from leoweb_bot.sync.rows import user_row
from leoweb_bot.sync.scan import Scanner

log = logging.getLogger(__name__)

CATALOG_SECONDS = 600
FIRST_WINDOW = 600  # the first incremental window reaches this far before the bootstrap began
RECONCILE_WINDOW = 2 * 3600  # a reconcile missed by more than this waits for the next day
EVENTS_TRUSTED = 86400  # deletion events older than this may be gone: scan in full instead
TOMBSTONE_SECONDS = 2 * 86400  # completed and deleted rows are forgotten after this


@dataclass
class Sync:
    """One server's sync: the mirror of ``client``'s account in ``mirror``."""

    client: AmoClient
    mirror: Mirror
    progress: Progress
    settings: Settings
    clock: Callable[[], float]

    def __post_init__(self) -> None:
        self.scanner = Scanner(self.client, self.mirror, self.progress, self.keep)
        self.changes = Changes(self.client, self.mirror, self.progress, self.keep)
        self._cycle_tried = float("-inf")

    @property
    def interval(self) -> float:
        return float(self.settings.sync.interval_seconds)

    def bootstrapped(self) -> bool:
        return self.progress.bootstrapped()

    def step(self) -> float:
        """Do the most urgent thing; returns how many seconds nothing else is due."""
        now = self.clock()
        if not self.bootstrapped():
            self._full_step(now)
        elif self.progress.wanted(1):
            self.changes.refresh_wanted(now)
        elif self.client.incremental and self._events_expired(now):
            log.warning("sync: stopped for over a day; deletions may be lost: full scan")
            self._start_full(now)
        elif self.client.incremental and self._cycle_due(now):
            self._cycle_tried = now
            self._learn_users(self.changes.cycle(now), now)
        elif self.scanner.pending():
            self._full_step(now)
        elif self._cycle_due(now):  # API v2: a full scan is its cycle
            self._cycle_tried = now
            self._start_full(now)
        elif self.client.incremental and self._reconcile_due(now):
            log.info("sync: daily reconcile (a full scan) begins")
            self._start_full(now)
        else:
            return max(0.0, self._cycle_tried + self.interval - now)
        return 0.0

    # -- full scans ----------------------------------------------------------------------------

    def _full_step(self, now: float) -> None:
        entity = self.scanner.pending()
        if entity is None:
            self._start_full(now)
        elif self.scanner.step(entity, now) and self.scanner.pending() is None:
            self._full_done(now)

    def _start_full(self, now: float) -> None:
        self._read_catalog(now)
        self.scanner.start(now)

    def _full_done(self, now: float) -> None:
        scan = self.progress.scan("tasks")
        assert scan is not None
        began = scan.started_at
        for entity in ("tasks", "leads", "deletions"):
            if self.progress.status(entity).cursor is None:
                self.progress.set_cursor(entity, int(began) - FIRST_WINDOW)
        first = not self.bootstrapped()
        self.progress.succeeded(FULL, began)
        if not self.client.incremental:
            self.progress.succeeded(CYCLE, began)  # v2: a full scan is its cycle…
            self._cycle_tried = max(self._cycle_tried, began)  # …and the next is an interval on
        pruned = self.mirror.prune(now - TOMBSTONE_SECONDS, self._leads_since(now))
        counts = self.mirror.counts()
        log.info(
            "sync: %s complete in %.0f s: %d open tasks, %d leads (%d old rows pruned)",
            "bootstrap" if first else "full scan", now - began, counts["tasks"],
            counts["leads"], pruned,
        )  # fmt: skip

    def _events_expired(self, now: float) -> bool:
        """The last look at deletions is older than the events list may keep them, and no
        full scan is under way to make up for it."""
        if self.scanner.pending():
            return False
        full = self.progress.status(FULL).synced_at or 0.0
        cycle = self.progress.status(CYCLE).synced_at or 0.0
        return now - max(cycle, full) > EVENTS_TRUSTED

    def _reconcile_due(self, now: float) -> bool:
        moment = self._reconcile_moment(now)
        full = self.progress.status(FULL).synced_at or 0.0
        return full < moment <= now < moment + RECONCILE_WINDOW

    def _reconcile_moment(self, now: float) -> float:
        """Today's ``reconcile_at`` in company time, or yesterday's if today's is ahead."""
        tz = self.settings.bot.tz
        hours, minutes = map(int, self.settings.sync.reconcile_at.split(":"))
        offset = datetime.timedelta(hours=hours, minutes=minutes).total_seconds()
        today = local(int(now), tz).date()
        moment = local_midnight(today, tz) + offset
        return (
            moment if moment <= now else local_midnight(today - datetime.timedelta(1), tz) + offset
        )

    # -- incremental ---------------------------------------------------------------------------

    def _cycle_due(self, now: float) -> bool:
        asked = self.progress.status(REFRESH).cursor or 0
        return now >= self._cycle_tried + self.interval or asked > self._cycle_tried

    def _learn_users(self, seen: set[int], now: float) -> None:
        known = {u.id for u in self.mirror.users()}
        last = self.progress.status(CATALOG).synced_at or 0.0
        if seen - known - {0} and now - last >= CATALOG_SECONDS:
            self._read_catalog(now)

    def _read_catalog(self, now: float) -> None:
        self.mirror.put_users(map(user_row, self.client.users().values()))
        self.mirror.put_pipelines(*pipeline_rows(self.client.pipelines()))
        self.progress.succeeded(CATALOG, now)

    # -- which leads are kept ------------------------------------------------------------------

    def keep(self, lead: Lead) -> bool:
        """Open leads, and those closed since the previous month began (the funnel's months)."""
        return lead.is_open or (lead.closed_at or 0) >= self._leads_since(self.clock())

    def _leads_since(self, now: float) -> int:
        tz = self.settings.bot.tz
        return month_start(month_start(int(now), tz) - 1, tz)
