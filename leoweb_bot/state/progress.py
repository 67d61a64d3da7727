"""Where the sync stands: per entity a cursor and the times it last worked and failed, the place
of a full scan, the ids webhooks asked to re-read, and the lease that keeps it one per server.

Cursors are amoCRM's ``updated_at`` / ``created_at`` values (its clock); every other time here
is ours. A full scan writes its place after every page, so a process killed mid-scan is
followed by one that goes on from there (leoweb_bot/sync/scan.py).
"""

from __future__ import annotations

import socket
from collections.abc import Iterable
from dataclasses import dataclass

from leoweb_bot.state.db import Database as State
from leoweb_bot.state.owners import owner_alive

LEASE = "sync"
# Status rows beside the entities' own ("tasks", "leads", "deletions"):
FULL = "full"  # full scans; synced_at set = the bootstrap is complete
CYCLE = "cycle"  # whole incremental cycles: the time the screens say their data is from
REFRESH = "refresh"  # its cursor: when a 🔄 last asked for a cycle (our clock)
CATALOG = "catalog"  # users and pipelines
SCANNED = ("tasks", "leads")


@dataclass(frozen=True)
class Status:
    entity: str
    cursor: int | None
    synced_at: float | None  # the last success began then
    failed_at: float | None  # the first failure since that success; None while it works
    error: str | None


@dataclass(frozen=True)
class Scan:
    """A full scan of one entity, going from ``last_page`` down to page 1 (scan.py says why)."""

    entity: str
    generation: int
    started_at: float
    next_page: int | None  # None: the last page is still being looked for
    last_page: int | None
    pages_read: int
    rows_read: int
    done_at: float | None

    @property
    def done(self) -> bool:
        return self.done_at is not None


class Progress:
    """The sync tables of one state database."""

    def __init__(self, state: State) -> None:
        self.state = state

    # -- cursors and outcomes ------------------------------------------------------------------

    def status(self, entity: str) -> Status:
        rows = self.state.query(
            "SELECT entity, cursor, synced_at, failed_at, error FROM sync_status WHERE entity = ?",
            (entity,),
        )
        return Status(*rows[0]) if rows else Status(entity, None, None, None, None)

    def succeeded(self, entity: str, began: float, cursor: int | None = None) -> None:
        """A sync of ``entity`` that began at ``began`` worked; ``cursor`` moves only forward."""
        with self.state.transaction() as conn:
            conn.execute(
                "INSERT INTO sync_status (entity, cursor, synced_at) VALUES (?, ?, ?)"
                " ON CONFLICT (entity) DO UPDATE SET"
                " cursor = max(coalesce(cursor, excluded.cursor), coalesce(excluded.cursor, 0)),"
                " synced_at = excluded.synced_at, failed_at = NULL, error = NULL",
                (entity, cursor, began),
            )

    def failed(self, entity: str, now: float, error: str) -> None:
        """A sync of ``entity`` failed; ``failed_at`` keeps the first failure of a run of them."""
        with self.state.transaction() as conn:
            conn.execute(
                "INSERT INTO sync_status (entity, failed_at, error) VALUES (?, ?, ?)"
                " ON CONFLICT (entity) DO UPDATE SET"
                " failed_at = coalesce(failed_at, excluded.failed_at), error = excluded.error",
                (entity, now, error[:500]),
            )

    def ask(self, entity: str, now: float, gap: float) -> int:
        """Record a request (a 🔄) at ``now`` unless one was recorded less than ``gap`` seconds
        before; returns the time of the request that stands."""
        with self.state.transaction() as conn:
            conn.execute(
                "INSERT INTO sync_status (entity, cursor) VALUES (?, ?)"
                " ON CONFLICT (entity) DO UPDATE SET cursor = excluded.cursor"
                " WHERE coalesce(cursor, 0) <= excluded.cursor - ? OR cursor > excluded.cursor",
                (entity, int(now), gap),
            )
            return int(
                conn.execute(
                    "SELECT cursor FROM sync_status WHERE entity = ?", (entity,)
                ).fetchone()[0]
            )

    def set_cursor(self, entity: str, cursor: int) -> None:
        """Put the cursor anywhere, back included (a full scan's start)."""
        with self.state.transaction() as conn:
            conn.execute(
                "INSERT INTO sync_status (entity, cursor) VALUES (?, ?)"
                " ON CONFLICT (entity) DO UPDATE SET cursor = excluded.cursor",
                (entity, cursor),
            )

    def bootstrapped(self) -> bool:
        return self.status(FULL).synced_at is not None

    def health(self, now: float) -> dict[str, object]:
        """For /healthz: the bootstrap's progress, or how old the data is and since when
        amoCRM fails (no names, ids or errors: /healthz is public)."""
        if not self.bootstrapped():
            scans = {}
            for entity in SCANNED:
                scan = self.scan(entity)
                if scan is not None:
                    page = (scan.last_page or 0) - (scan.next_page or 0)
                    scans[entity] = {"pages": scan.last_page, "read": page, "rows": scan.rows_read}
            return {"state": "bootstrap", "scans": scans}
        full, cycle = self.status(FULL), self.status(CYCLE)
        as_of = max(full.synced_at or 0, cycle.synced_at or 0)
        failing = cycle.failed_at or full.failed_at
        return {
            "state": "ready",
            "data_age_seconds": int(now - as_of),
            "failing_for_seconds": None if failing is None else int(now - failing),
        }

    # -- full scans ----------------------------------------------------------------------------

    def scan(self, entity: str) -> Scan | None:
        rows = self.state.query(
            "SELECT entity, generation, started_at, next_page, last_page, pages_read, rows_read,"
            " done_at FROM sync_scans WHERE entity = ?",
            (entity,),
        )
        return Scan(*rows[0]) if rows else None

    def start_scan(self, entity: str, now: float) -> Scan:
        """A new full scan of ``entity``, with a generation no earlier scan used."""
        with self.state.transaction() as conn:
            conn.execute(
                "INSERT INTO sync_scans (entity, generation, started_at) VALUES (?, 1, ?)"
                " ON CONFLICT (entity) DO UPDATE SET generation = generation + 1,"
                " started_at = excluded.started_at, next_page = NULL, last_page = NULL,"
                " pages_read = 0, rows_read = 0, done_at = NULL",
                (entity, now),
            )
        found = self.scan(entity)
        assert found is not None
        return found

    def scanned(self, entity: str, next_page: int, last_page: int, rows: int) -> None:
        """A page is in: go on at ``next_page`` (0: nothing left to read)."""
        with self.state.transaction() as conn:
            conn.execute(
                "UPDATE sync_scans SET next_page = ?, last_page = ?, pages_read = pages_read + 1,"
                " rows_read = rows_read + ? WHERE entity = ?",
                (next_page, last_page, rows, entity),
            )

    def finish_scan(self, entity: str, now: float) -> None:
        with self.state.transaction() as conn:
            conn.execute("UPDATE sync_scans SET done_at = ? WHERE entity = ?", (now, entity))

    # -- ids webhooks asked for ----------------------------------------------------------------

    def want(self, entity: str, ids: Iterable[int], now: float) -> int:
        """Ask the sync to re-read these ids soon; returns how many were new."""
        with self.state.transaction() as conn:
            cursor = conn.executemany(
                "INSERT INTO sync_wanted (entity, id, asked_at) VALUES (?, ?, ?)"
                " ON CONFLICT DO NOTHING",
                [(entity, int(i), now) for i in ids],
            )
        return cursor.rowcount

    def wanted(self, limit: int) -> list[tuple[str, int, float]]:
        """The oldest requests first: ``(entity, id, asked_at)``."""
        rows = self.state.query(
            "SELECT entity, id, asked_at FROM sync_wanted ORDER BY asked_at, entity, id LIMIT ?",
            (limit,),
        )
        return [(entity, entity_id, asked) for entity, entity_id, asked in rows]

    def served(self, done: Iterable[tuple[str, int, float]]) -> None:
        """Forget requests that were read; one asked again since then stays."""
        with self.state.transaction() as conn:
            conn.executemany(
                "DELETE FROM sync_wanted WHERE entity = ? AND id = ? AND asked_at <= ?",
                list(done),
            )

    # -- the lease -----------------------------------------------------------------------------

    def take_lease(self, owner: str, now: float, seconds: float) -> bool:
        """Hold (or keep holding) the sync for ``seconds``; False while another owner holds it.

        An expiry further ahead than ``seconds`` means a clock stepped back; it does not count.
        A holder that was a process of this host and is gone (killed, restarted) is not waited
        for (``owner_id`` tags say host and pid, as the inbox's claims do).
        """
        holder = self.lease_owner(now)
        if holder not in (None, owner) and _gone_here(holder):
            self.release_lease(holder)
        with self.state.transaction() as conn:
            cursor = conn.execute(
                "INSERT INTO sync_lease (name, owner, until) VALUES (?, ?, ?)"
                " ON CONFLICT (name) DO UPDATE SET owner = excluded.owner, until = excluded.until"
                " WHERE sync_lease.owner = excluded.owner OR sync_lease.until <= ?"
                " OR sync_lease.until > ?",
                (LEASE, owner, now + seconds, now, now + seconds),
            )
        return cursor.rowcount == 1

    def release_lease(self, owner: str) -> None:
        with self.state.transaction() as conn:
            conn.execute("DELETE FROM sync_lease WHERE name = ? AND owner = ?", (LEASE, owner))

    def lease_owner(self, now: float) -> str | None:
        rows = self.state.query(
            "SELECT owner FROM sync_lease WHERE name = ? AND until > ?", (LEASE, now)
        )
        return rows[0][0] if rows else None


def _gone_here(owner: str) -> bool:
    return owner.startswith(f"{socket.gethostname()}:") and not owner_alive(owner)
