"""Full scans: every open task and every lead, a page per step, resumable after a kill.

A scan pages by id ascending but reads the pages from the last one down to page 1. Paging by
``page``/``limit`` shifts when the list changes under it, and the common change, a task
completed or deleted, takes a row out: read upwards, every row above it would slide one place
down and the first row of the next page into the page already read, and be missed. Read
downwards, a row taken out below the place reached moves rows from read pages into unread ones,
which only reads them twice; a new task gets the highest id and lands above, in pages already
read, where the incremental sync finds it (it is new). Only a completed task that is reopened
moves a row the wrong way; the daily reconcile repairs that.

The last page is found first: pages 1, 2, 4, … until one is empty or short, then halving
between the last full one and that (a reconcile starts from the previous scan's last page).
The place reached is written after every page, so the next holder of the sync lease goes on
from there. When page 1 is in, what the scan did not see and nothing wrote since it began is
no longer there in amoCRM, and leaves the mirror (``Mirror.sweep``).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from collections.abc import Sequence
from dataclasses import dataclass

from leoweb_bot.amocrm.client import AmoClient
from leoweb_bot.amocrm.models import Lead
from leoweb_bot.amocrm.models import Task
from leoweb_bot.state.mirror import Mirror
from leoweb_bot.state.progress import SCANNED
from leoweb_bot.state.progress import Progress
from leoweb_bot.state.progress import Scan
from leoweb_bot.sync.rows import lead_row
from leoweb_bot.sync.rows import task_row

log = logging.getLogger(__name__)

LOG_EVERY = 20  # pages between progress lines


@dataclass
class Scanner:
    """Full scans of tasks and leads; ``keep`` says which leads the mirror holds."""

    client: AmoClient
    mirror: Mirror
    progress: Progress
    keep: Callable[[Lead], bool]

    def start(self, now: float) -> None:
        """Begin a full scan of both entities (any unfinished one starts over)."""
        for entity in SCANNED:
            self.progress.start_scan(entity, now)

    def pending(self) -> str | None:
        """The entity whose scan is under way, or None when every scan is done."""
        for entity in SCANNED:
            scan = self.progress.scan(entity)
            if scan is not None and not scan.done:
                return entity
        return None

    def step(self, entity: str, now: float) -> bool:
        """Read one page (or find the last page) of ``entity``; True once its scan is done."""
        scan = self.progress.scan(entity)
        assert scan is not None and not scan.done
        if scan.next_page is None:
            last = self._last_page(entity, self._hint(entity))
            self.progress.scanned(entity, last, last, 0)
            log.info("sync: full scan of %s: %d pages", entity, last)
            return self._finish_if_read(entity, last, now)
        rows = self._store(entity, scan, self._page(entity, scan.next_page), now)
        self.progress.scanned(entity, scan.next_page - 1, scan.last_page or 0, rows)
        if scan.pages_read % LOG_EVERY == 0:
            done = (scan.last_page or 0) - scan.next_page + 1
            log.info("sync: full scan of %s: page %d of %d", entity, done, scan.last_page)
        return self._finish_if_read(entity, scan.next_page - 1, now)

    def _finish_if_read(self, entity: str, next_page: int, now: float) -> bool:
        if next_page > 0:
            return False
        scan = self.progress.scan(entity)
        assert scan is not None
        gone = self.mirror.sweep(entity, scan.generation, scan.started_at)
        self.progress.finish_scan(entity, now)
        log.info(
            "sync: full scan of %s done: %d rows read in %d pages, %d gone since",
            entity, scan.rows_read, scan.pages_read, gone,
        )  # fmt: skip
        return True

    def _store(self, entity: str, scan: Scan, found: Sequence[Task | Lead], now: float) -> int:
        if entity == "tasks":
            rows = [task_row(t) for t in found if isinstance(t, Task) and not t.is_completed]
            return self.mirror.put("tasks", rows, now, scan.generation)
        leads = [lead_row(x) for x in found if isinstance(x, Lead) and self.keep(x)]
        return self.mirror.put("leads", leads, now, scan.generation)

    def _page(self, entity: str, number: int) -> Sequence[Task | Lead]:
        if entity == "tasks":
            return self.client.task_page(number)
        return self.client.lead_page(number)

    def _hint(self, entity: str) -> int:
        """Where to start looking for the last page: the previous scan's, else page 1."""
        status = self.progress.status(f"pages:{entity}")
        return max(1, status.cursor or 1)

    def _last_page(self, entity: str, hint: int) -> int:
        """The number of the last non-empty page (0 when there is none)."""

        def probe(page: int) -> str:
            rows = len(self._page(entity, page))
            return "empty" if not rows else "full" if rows >= self.client.page_size else "short"

        known, page = 0, hint  # the highest page known full, the next one to try
        while (kind := probe(page)) == "full":
            known, page = page, page * 2
        if kind == "short":
            return self._remember(entity, page)
        beyond = page  # the lowest page known empty
        while beyond - known > 1:
            middle = (known + beyond) // 2
            kind = probe(middle)
            if kind == "short":
                return self._remember(entity, middle)
            known, beyond = (middle, beyond) if kind == "full" else (known, middle)
        return self._remember(entity, known)

    def _remember(self, entity: str, last: int) -> int:
        self.progress.set_cursor(f"pages:{entity}", last)
        return last
