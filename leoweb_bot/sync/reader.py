"""The screens' side of the mirror: the reads they make of amoCRM, answered from the state db.

``MirrorReader`` answers the read methods the screens call on ``AmoClient`` (same names, same
results) from the mirror, and says how fresh that is. ``MirroredClient`` is what the bot is
given as its amoCRM: those reads from the mirror once the bootstrap is complete (live before),
everything else (look-ups, search, closing a task) live; closing a task also updates the
mirror from amoCRM's answer at once, so the next screen no longer lists it.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from collections.abc import Collection
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from leoweb_bot.amocrm.client import AmoClient
from leoweb_bot.amocrm.models import LOST_STATUS
from leoweb_bot.amocrm.models import WON_STATUS
from leoweb_bot.amocrm.models import Lead
from leoweb_bot.amocrm.models import Pipeline
from leoweb_bot.amocrm.models import Task
from leoweb_bot.amocrm.models import User
from leoweb_bot.config import SyncSettings
from leoweb_bot.reports import Count
from leoweb_bot.reports import StageKey
from leoweb_bot.state.mirror import Mirror
from leoweb_bot.state.progress import CYCLE
from leoweb_bot.state.progress import FULL
from leoweb_bot.state.progress import REFRESH
from leoweb_bot.state.progress import Progress
from leoweb_bot.sync.rows import lead_of
from leoweb_bot.sync.rows import pipeline_of
from leoweb_bot.sync.rows import task_of
from leoweb_bot.sync.rows import user_of

REFRESH_GAP = 10  # seconds: at most one 🔄 cycle this often per server, whoever presses
REFRESH_WAIT = 5.0  # seconds a 🔄 waits for its cycle before showing what the mirror has
REFRESH_POLL = 0.1


@dataclass(frozen=True)
class Freshness:
    """How old the mirror's data is: amoCRM's as of ``as_of``; ``stale_since`` is set once that
    is older than ``[sync] max_age_seconds``: when amoCRM stopped answering (epoch seconds)."""

    as_of: int
    stale_since: int | None


class MirrorReader:
    """Reads of amoCRM data, from the mirror."""

    def __init__(
        self, mirror: Mirror, progress: Progress, settings: SyncSettings, clock: Callable[[], float]
    ) -> None:
        self.mirror = mirror
        self.progress = progress
        self.settings = settings
        self.clock = clock
        self._ready = False

    def ready(self) -> bool:
        """Whether the bootstrap is complete (once it is, it stays so)."""
        if not self._ready:
            self._ready = self.progress.bootstrapped()
        return self._ready

    def freshness(self) -> Freshness:
        full, cycle = self.progress.status(FULL), self.progress.status(CYCLE)
        as_of = int(max(full.synced_at or 0, cycle.synced_at or 0))
        if self.clock() - as_of <= self.settings.max_age_seconds:
            return Freshness(as_of, None)
        return Freshness(as_of, int(cycle.failed_at or full.failed_at or as_of))

    def users(self) -> dict[int, User]:
        return {row.id: user_of(row) for row in self.mirror.users()}

    def open_tasks_due_before(
        self, moment: int, responsible_user_id: int | None = None
    ) -> list[Task]:
        rows = self.mirror.open_tasks(due_before=moment, responsible_user_id=responsible_user_id)
        return [task_of(row) for row in rows]

    def open_tasks(self, responsible_user_id: int | None = None) -> list[Task]:
        return [
            task_of(row) for row in self.mirror.open_tasks(responsible_user_id=responsible_user_id)
        ]

    # -- tasklists.TaskSource: what the report and the task lists count and page, in SQL -----

    def counts(
        self, start: int | None, end: int, responsible_user_id: int | None = None
    ) -> dict[int, Count]:
        rows = self.mirror.due_counts(start, end, responsible_user_id)
        return {uid: (n, oldest) for uid, n, oldest in rows}

    def tasks(
        self,
        start: int | None,
        end: int,
        responsible_user_id: int | None = None,
        *,
        offset: int = 0,
        limit: int = -1,
        skip: Collection[int] = (),
    ) -> list[Task]:
        rows = self.mirror.open_tasks(
            due_from=start, due_before=end, responsible_user_id=responsible_user_id,
            skip=skip, limit=limit, offset=offset,
        )  # fmt: skip
        return [task_of(row) for row in rows]

    def lead_tasks(self, lead_id: int) -> list[Task]:
        return [task_of(row) for row in self.mirror.open_tasks(lead_id=lead_id)]

    def pipelines(self) -> list[Pipeline]:
        return [pipeline_of(row, stages) for row, stages in self.mirror.pipelines()]

    def iter_leads(self, *, closed_since: int | None = None) -> Iterator[Lead]:
        leads = map(lead_of, self.mirror.leads())
        return (x for x in leads if closed_since is None or (x.closed_at or 0) >= closed_since)

    def stage_counts(self, since: int, now: int) -> dict[StageKey, tuple[int, int]]:
        """``reports.stage_counts`` of every lead kept, counted in SQL."""
        rows = self.mirror.stage_counts((WON_STATUS, LOST_STATUS), since, now)
        return {(pipeline, stage): (n, amount) for pipeline, stage, n, amount in rows}

    def lone_counts(self) -> dict[int, int]:
        """Per manager: open leads without an open task (``reports.leads_without_task``)."""
        return self.mirror.lone_counts((WON_STATUS, LOST_STATUS))

    def lone_leads(self, responsible_user_id: int) -> list[Lead]:
        """One manager's open leads without an open task, by id."""
        rows = self.mirror.lone_leads((WON_STATUS, LOST_STATUS), responsible_user_id)
        return [lead_of(row) for row in rows]

    def went_late(self, since_due: int, written_since: float, before: int) -> list[Task]:
        """What may have gone overdue since an earlier look (``Mirror.went_late``)."""
        return [task_of(row) for row in self.mirror.went_late(since_due, written_since, before)]


class MirroredClient:
    """The bot's amoCRM: the screens' reads from the mirror once it is ready, the rest live.

    Any attribute not defined here is the live client's (``operation``, ``task``, ``lead``,
    ``search_leads``, ``base_url``…), so the bot cannot tell the two apart except by
    ``freshness`` and ``refresh``.
    """

    def __init__(
        self,
        live: AmoClient,
        reader: MirrorReader,
        *,
        wake: Callable[[], None] = lambda: None,
        monotonic: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.live = live
        self.reader = reader
        self._wake = wake
        self._monotonic = monotonic
        self._sleep = sleep

    def __getattr__(self, name: str) -> Any:
        return getattr(self.live, name)

    def _reads(self) -> MirrorReader | AmoClient:
        return self.reader if self.reader.ready() else self.live

    def users(self) -> dict[int, User]:
        return self._reads().users()

    def open_tasks_due_before(
        self, moment: int, responsible_user_id: int | None = None
    ) -> list[Task]:
        return self._reads().open_tasks_due_before(moment, responsible_user_id)

    def open_tasks(self, responsible_user_id: int | None = None) -> list[Task]:
        return self._reads().open_tasks(responsible_user_id)

    def lead_tasks(self, lead_id: int) -> list[Task]:
        return self._reads().lead_tasks(lead_id)

    def pipelines(self) -> list[Pipeline]:
        return self._reads().pipelines()

    def iter_leads(self, *, closed_since: int | None = None) -> Iterator[Lead]:
        return self._reads().iter_leads(closed_since=closed_since)

    def complete_task(self, task_id: int, result_text: str) -> int | None:
        """Close it in amoCRM, then in the mirror with the ``updated_at`` amoCRM answered."""
        updated_at = self.live.complete_task(task_id, result_text)
        now = self.reader.clock()
        self.reader.mirror.complete_task(int(task_id), updated_at or int(now), now)
        return updated_at

    def freshness(self) -> Freshness | None:
        """How fresh the screens' data is; None while they read amoCRM live."""
        return self.reader.freshness() if self.reader.ready() else None

    def refresh(self) -> None:
        """A 🔄: ask the sync for a cycle now (one per ``REFRESH_GAP`` per server) and wait a
        little for it, so the screen about to be drawn shows its result."""
        if not self.reader.ready():
            return  # live reads are as fresh as it gets
        progress = self.reader.progress
        asked = progress.ask(REFRESH, self.reader.clock(), REFRESH_GAP)
        self._wake()
        if not self.live.incremental or progress.status(CYCLE).failed_at is not None:
            return  # v2: the answer is a full scan, too long to wait for; or amoCRM is down
        give_up = self._monotonic() + REFRESH_WAIT
        while self._monotonic() < give_up:
            cycle = progress.status(CYCLE)
            if max(cycle.synced_at or 0, cycle.failed_at or 0) >= asked:
                return
            self._sleep(REFRESH_POLL)
