"""The incremental sync: what changed since the last look, and the ids webhooks asked about.

A cycle asks three things (docs/amocrm.md#incremental-sync): tasks changed since the tasks
cursor (``filter[updated_at]``, completed ones too, so completions are seen), leads changed
since the leads cursor, and tasks and leads deleted since the deletions cursor (the events
list: a deleted task just disappears from the other lists). Each cursor is the latest
``updated_at`` / ``created_at`` seen, on amoCRM's clock, and every window starts ``OVERLAP``
seconds before it: equal timestamps, a change committed late, bounds that may be exclusive.
Reading a change twice is harmless, since rows never go back in time (state/mirror.py).

A cycle counts as a success only when all three answered; its start is then the time the
screens say their data is from.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

from leoweb_bot.amocrm.client import IDS_BATCH
from leoweb_bot.amocrm.client import AmoClient
from leoweb_bot.amocrm.errors import BadRequest
from leoweb_bot.amocrm.models import Lead
from leoweb_bot.amocrm.models import Task
from leoweb_bot.state.mirror import Mirror
from leoweb_bot.state.progress import CYCLE
from leoweb_bot.state.progress import Progress
from leoweb_bot.sync.rows import lead_row
from leoweb_bot.sync.rows import task_row

log = logging.getLogger(__name__)

OVERLAP = 120  # seconds each window reaches back before its cursor


@dataclass
class Changes:
    client: AmoClient
    mirror: Mirror
    progress: Progress
    keep: Callable[[Lead], bool]

    def cycle(self, began: float) -> set[int]:
        """One incremental cycle; returns the responsible users it saw (to spot new ones).

        Raises AmoError (after recording it) when amoCRM did not answer all of it.
        """
        try:
            users = self._tasks(began) | self._leads(began)
            self._deletions(began)
        except Exception as exc:
            self.progress.failed(CYCLE, began, f"{type(exc).__name__}: {exc}")
            raise
        self.progress.succeeded(CYCLE, began)
        return users

    def _tasks(self, now: float) -> set[int]:
        since = self._since("tasks")
        tasks = list(self.client.changed_tasks(since))
        self.mirror.put("tasks", map(task_row, tasks), now)
        self.progress.succeeded("tasks", now, max((t.updated_at or 0 for t in tasks), default=None))
        if tasks:
            log.info("sync: %d tasks changed", len(tasks))
        return {t.responsible_user_id for t in tasks}

    def _leads(self, now: float) -> set[int]:
        leads = list(self.client.changed_leads(self._since("leads")))
        self.mirror.put("leads", (lead_row(x) for x in leads if self.keep(x)), now)
        self.progress.succeeded("leads", now, max((x.updated_at or 0 for x in leads), default=None))
        if leads:
            log.info("sync: %d leads changed", len(leads))
        return {x.responsible_user_id for x in leads}

    def _deletions(self, now: float) -> None:
        found = list(self.client.deletions(self._since("deletions")))
        for entity in ("tasks", "leads"):
            gone = [(d.entity_id, d.at) for d in found if d.entity == entity]
            if gone:
                self.mirror.bury(entity, gone, now)
                log.info("sync: %d %s deleted", len(gone), entity)
        self.progress.succeeded("deletions", now, max((d.at for d in found), default=None))

    def _since(self, entity: str) -> int:
        cursor = self.progress.status(entity).cursor
        assert cursor is not None, f"no {entity} cursor before the first full scan ended"
        return max(0, cursor - OVERLAP)

    def refresh_wanted(self, now: float) -> int:
        """Re-read the ``IDS_BATCH`` oldest ids webhooks asked about; returns how many.

        An id amoCRM does not return any more was deleted (or is out of our token's sight).
        """
        wanted = self.progress.wanted(IDS_BATCH)
        try:
            self._reread("tasks", [i for kind, i, _ in wanted if kind == "tasks"], now)
            self._reread("leads", [i for kind, i, _ in wanted if kind == "leads"], now)
        except BadRequest as exc:  # these ids will never read: do not ask again and again
            log.warning("sync: amoCRM refused to re-read %d ids: %s", len(wanted), exc)
        self.progress.served(wanted)
        return len(wanted)

    def _reread(self, entity: str, ids: list[int], now: float) -> None:
        if not ids:
            return
        if entity == "tasks":
            found: list[Task] | list[Lead] = self.client.tasks(ids)
            self.mirror.put("tasks", map(task_row, found), now)
        else:
            found = self.client.leads(ids)
            self.mirror.put("leads", (lead_row(x) for x in found if self.keep(x)), now)
        missing = set(ids) - {x.id for x in found}
        self.mirror.bury(entity, ((i, int(now)) for i in missing), now)
