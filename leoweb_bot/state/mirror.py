"""The local mirror of amoCRM: open tasks, leads, users, pipelines and stages, as plain rows.

One writer per server (the sync, leoweb_bot/sync) and any number of readers (every screen of
every process). Rows are tuples in the order of their NamedTuple; turning them into amoCRM
models is the sync package's job, so this module stays free of amoCRM.

A write never goes back in time: a row is replaced only by a copy with a later ``updated_at``
(amoCRM's clock, which moves on every change), or an equal one unless the row is a tombstone.
So a page read before a change and written after it, or a webhook's refresh racing the poll,
cannot bring back what was completed or deleted. Tombstones are forgotten after a while
(``prune``): by then no copy older than them is still on its way.
"""

from __future__ import annotations

from collections.abc import Collection
from collections.abc import Iterable
from typing import NamedTuple

from leoweb_bot.state.db import Database as State

OPEN = "is_completed = 0 AND is_deleted = 0"  # the condition of the partial indexes


class TaskRow(NamedTuple):
    id: int
    responsible_user_id: int
    complete_till: int | None
    is_completed: bool
    entity_type: str | None
    entity_id: int | None
    task_type_id: int | None
    text: str
    updated_at: int


class LeadRow(NamedTuple):  # the funnel's order: where a lead stands, then what it is worth
    id: int
    pipeline_id: int
    status_id: int
    name: str
    price: int
    responsible_user_id: int
    created_at: int | None
    closed_at: int | None
    updated_at: int


class UserRow(NamedTuple):
    id: int
    name: str
    is_admin: bool
    is_active: bool


class PipelineRow(NamedTuple):
    id: int
    name: str
    is_main: bool
    is_archive: bool


class StageRow(NamedTuple):
    pipeline_id: int
    id: int
    name: str
    sort: int
    type: int


TASK_COLUMNS = ", ".join(TaskRow._fields)
# The responsible managers of open tasks, each found by one index seek from the one before.
MANAGERS = f"""WITH RECURSIVE managers(id) AS (
    SELECT min(responsible_user_id) FROM mirror_tasks WHERE {OPEN}
    UNION ALL
    SELECT (SELECT min(responsible_user_id) FROM mirror_tasks
            WHERE {OPEN} AND responsible_user_id > managers.id)
    FROM managers WHERE managers.id IS NOT NULL)"""
LEAD_COLUMNS = ", ".join(LeadRow._fields)
TABLES = {"tasks": ("mirror_tasks", TaskRow), "leads": ("mirror_leads", LeadRow)}


def _upsert_sql(table: str, fields: tuple[str, ...]) -> str:
    columns = ", ".join((*fields, "is_deleted", "synced_at"))
    marks = ", ".join("?" * (len(fields) + 2))
    updates = ", ".join(f"{f} = excluded.{f}" for f in (*fields[1:], "is_deleted", "synced_at"))
    # Two changes in one second share an updated_at: then a tie never undoes a deletion or a
    # completion (a reopening in the same second is the rarer case, and reconcile repairs it).
    tie = f"excluded.updated_at = {table}.updated_at AND {table}.is_deleted = 0"
    if "is_completed" in fields:
        tie += f" AND excluded.is_completed >= {table}.is_completed"
    return (
        f"INSERT INTO {table} ({columns}) VALUES ({marks}) ON CONFLICT (id) DO UPDATE SET {updates}"
        f" WHERE excluded.updated_at > {table}.updated_at OR ({tie})"
    )


_UPSERT = {entity: _upsert_sql(table, row._fields) for entity, (table, row) in TABLES.items()}


def _lone(closed: Collection[int]) -> tuple[str, tuple[int, ...]]:
    """Leads kept, in a stage not in ``closed``, that no open task is attached to."""
    marks = ", ".join("?" * len(closed))
    return (
        f"lead.is_deleted = 0 AND lead.status_id NOT IN ({marks}) AND NOT EXISTS (SELECT 1"
        f" FROM mirror_tasks WHERE {OPEN} AND entity_type = 'leads' AND entity_id = lead.id)",
        tuple(closed),
    )


class Mirror:
    """The mirror tables of one state database."""

    def __init__(self, state: State) -> None:
        self.state = state

    # -- writes (the sync) ---------------------------------------------------------------------

    def put(
        self, entity: str, rows: Iterable[TaskRow | LeadRow], now: float, scan: int | None = None
    ) -> int:
        """Upsert ``tasks`` or ``leads`` rows (never over a newer copy); ``scan`` marks them seen
        by that full scan. Returns how many rows were given."""
        table = TABLES[entity][0]
        batch = [(*row, 0, now) for row in rows]
        with self.state.transaction() as conn:
            conn.executemany(_UPSERT[entity], batch)
            if scan is not None:
                conn.executemany(
                    f"UPDATE {table} SET scan = ? WHERE id = ?", [(scan, r[0]) for r in batch]
                )
        return len(batch)

    def bury(self, entity: str, gone: Iterable[tuple[int, int]], now: float) -> None:
        """Tombstones for deleted ``(id, deleted_at)``; a deletion is final unless amoCRM shows a
        later copy (a lead restored from the trash)."""
        table = TABLES[entity][0]
        with self.state.transaction() as conn:
            for entity_id, at in gone:
                conn.execute(
                    f"UPDATE {table} SET is_deleted = 1, synced_at = ?,"
                    " updated_at = max(updated_at, ?) WHERE id = ?",
                    (now, at, entity_id),
                )

    def complete_task(self, task_id: int, updated_at: int, now: float) -> None:
        """Our own completion, from the PATCH answer: gone from every open list at once."""
        with self.state.transaction() as conn:
            conn.execute(
                "UPDATE mirror_tasks SET is_completed = 1, synced_at = ?,"
                " updated_at = max(updated_at, ?) WHERE id = ?",
                (now, updated_at, task_id),
            )

    def sweep(self, entity: str, scan: int, started: float) -> int:
        """After a full scan: what it did not see and nothing wrote since it began is no longer
        there (completed, deleted, or closed long ago); returns how many rows went."""
        table = TABLES[entity][0]
        alive = OPEN if entity == "tasks" else "is_deleted = 0"
        with self.state.transaction() as conn:
            cursor = conn.execute(
                f"UPDATE {table} SET is_deleted = 1 WHERE {alive} AND scan <> ? AND synced_at < ?",
                (scan, started),
            )
        return cursor.rowcount

    def prune(self, before: float, leads_closed_before: int) -> int:
        """Forget tombstones written before ``before`` and leads closed before the funnel's
        oldest month; returns how many rows went."""
        with self.state.transaction() as conn:
            gone = conn.execute(
                f"DELETE FROM mirror_tasks WHERE NOT ({OPEN}) AND synced_at < ?", (before,)
            ).rowcount
            gone += conn.execute(
                "DELETE FROM mirror_leads WHERE (is_deleted = 1 AND synced_at < ?)"
                " OR closed_at < ?",
                (before, leads_closed_before),
            ).rowcount
        return gone

    def put_users(self, users: Iterable[UserRow]) -> None:
        """The account's users, replacing the previous list."""
        with self.state.transaction() as conn:
            conn.execute("DELETE FROM mirror_users")
            conn.executemany("INSERT INTO mirror_users VALUES (?, ?, ?, ?)", list(users))

    def put_pipelines(self, pipelines: Iterable[PipelineRow], stages: Iterable[StageRow]) -> None:
        """The pipelines in board order and their stages, replacing the previous ones."""
        with self.state.transaction() as conn:
            conn.execute("DELETE FROM mirror_pipelines")
            conn.execute("DELETE FROM mirror_stages")
            conn.executemany(
                "INSERT INTO mirror_pipelines VALUES (?, ?, ?, ?, ?)",
                [(*p, n) for n, p in enumerate(pipelines)],
            )
            conn.executemany("INSERT INTO mirror_stages VALUES (?, ?, ?, ?, ?)", list(stages))

    # -- reads (every screen) ------------------------------------------------------------------

    def open_tasks(
        self,
        *,
        due_from: int | None = None,
        due_before: int | None = None,
        responsible_user_id: int | None = None,
        lead_id: int | None = None,
        skip: Collection[int] = (),
        limit: int = -1,
        offset: int = 0,
    ) -> list[TaskRow]:
        """Open tasks, soonest deadline first (then by id); those without one last, unless a
        deadline bound leaves them out; ``skip`` leaves out these ids; ``limit`` and ``offset``
        page through them."""
        where, params = self._where(due_from, due_before, responsible_user_id)
        if lead_id is not None:
            where.append("entity_type = 'leads' AND entity_id = ?")
            params.append(lead_id)
        if skip:
            where.append(f"id NOT IN ({', '.join('?' * len(skip))})")
            params.extend(skip)
        # Without NULLs the order is the index's own (complete_till, then the rowid: the id).
        bounded = due_from is not None or due_before is not None
        order = "complete_till, id" if bounded else "complete_till IS NULL, complete_till, id"
        rows = self.state.query(
            f"SELECT {TASK_COLUMNS} FROM mirror_tasks WHERE {' AND '.join(where)}"
            f" ORDER BY {order} LIMIT ? OFFSET ?",
            (*params, limit, offset),
        )
        return [TaskRow._make(row) for row in rows]

    def due_counts(
        self, due_from: int | None, due_before: int, responsible_user_id: int | None = None
    ) -> list[tuple[int, int, int]]:
        """Per manager: how many open tasks are due in the range, and the oldest deadline.

        Only the index ``mirror_tasks_user`` is read, and only the ranges counted: the managers
        are found by jumping from one to the next (``MANAGERS``), not by a pass over every open
        task as a GROUP BY would make (2.3 ms instead of 5 on a 100k-task mirror).
        """
        if responsible_user_id is not None:
            managers, chosen = "SELECT ? AS id", [responsible_user_id]
        else:
            managers, chosen = "SELECT id FROM managers WHERE id IS NOT NULL", []
        where, bounds = f"{OPEN} AND responsible_user_id = m.id AND complete_till < ?", [due_before]
        if due_from is not None:
            where, bounds = f"{where} AND complete_till >= ?", [due_before, due_from]
        rows = self.state.query(
            f"{MANAGERS} SELECT id, n, oldest FROM (SELECT m.id AS id,"
            f" (SELECT count(*) FROM mirror_tasks WHERE {where}) AS n,"
            f" (SELECT min(complete_till) FROM mirror_tasks WHERE {where}) AS oldest"
            f" FROM ({managers}) AS m) WHERE n > 0",
            (*bounds, *bounds, *chosen),
        )
        return [(uid, n, oldest) for uid, n, oldest in rows]

    @staticmethod
    def _where(
        due_from: int | None, due_before: int | None, responsible_user_id: int | None
    ) -> tuple[list[str], list[int]]:
        where, params = [OPEN], []
        for condition, value in (
            ("complete_till >= ?", due_from),
            ("complete_till < ?", due_before),
            ("responsible_user_id = ?", responsible_user_id),
        ):
            if value is not None:
                where.append(condition)
                params.append(value)
        return where, params

    def leads(self) -> list[LeadRow]:
        """Every lead kept: the open ones and those closed since the previous month began."""
        rows = self.state.query(
            f"SELECT {LEAD_COLUMNS} FROM mirror_leads WHERE is_deleted = 0 ORDER BY id"
        )
        return [LeadRow._make(row) for row in rows]

    def stage_counts(
        self, closed: Collection[int], since: int, until: int
    ) -> list[tuple[int, int, int, int]]:
        """``(pipeline, stage, leads, amount)`` of the leads kept that are in a stage not in
        ``closed``, or were closed from ``since`` to ``until`` (reports.stage_counts' rule)."""
        marks = ", ".join("?" * len(closed))
        return self.state.query(
            "SELECT pipeline_id, status_id, count(*), sum(price) FROM mirror_leads"
            f" WHERE is_deleted = 0 AND (status_id NOT IN ({marks})"
            " OR (closed_at >= ? AND closed_at <= ?)) GROUP BY pipeline_id, status_id",
            (*closed, since, until),
        )

    def lone_leads(self, closed: Collection[int], responsible_user_id: int) -> list[LeadRow]:
        """One manager's leads in a stage not in ``closed`` with no open task, by id
        (reports.leads_without_task's rule)."""
        where, params = _lone(closed)
        rows = self.state.query(
            f"SELECT {LEAD_COLUMNS} FROM mirror_leads AS lead WHERE {where}"
            " AND responsible_user_id = ? ORDER BY id",
            (*params, responsible_user_id),
        )
        return [LeadRow._make(row) for row in rows]

    def lone_counts(self, closed: Collection[int]) -> dict[int, int]:
        """Per manager: how many :meth:`lone_leads` they have."""
        where, params = _lone(closed)
        rows = self.state.query(
            "SELECT responsible_user_id, count(*) FROM mirror_leads AS lead"
            f" WHERE {where} GROUP BY responsible_user_id",
            params,
        )
        return dict(rows)

    def task_ids(self, ids: Iterable[int]) -> set[int]:
        """Which of these task ids the mirror holds open."""
        wanted = list(ids)
        marks = ", ".join("?" * len(wanted))
        rows = self.state.query(
            f"SELECT id FROM mirror_tasks WHERE {OPEN} AND id IN ({marks})", tuple(wanted)
        )
        return {row[0] for row in rows}

    def users(self) -> list[UserRow]:
        rows = self.state.query("SELECT id, name, is_admin, is_active FROM mirror_users")
        return [UserRow(i, name, bool(admin), bool(active)) for i, name, admin, active in rows]

    def pipelines(self) -> list[tuple[PipelineRow, list[StageRow]]]:
        """Pipelines in board order, each with its stages by ``sort``."""
        stages: dict[int, list[StageRow]] = {}
        for row in self.state.query("SELECT * FROM mirror_stages ORDER BY sort, id"):
            stages.setdefault(row[0], []).append(StageRow._make(row))
        rows = self.state.query(
            "SELECT id, name, is_main, is_archive FROM mirror_pipelines ORDER BY position"
        )
        return [
            (PipelineRow(i, name, bool(main), bool(archive)), stages.get(i, []))
            for i, name, main, archive in rows
        ]

    def counts(self) -> dict[str, int]:
        """Open tasks and kept leads, for /healthz and the log."""
        tasks = self.state.query(f"SELECT count(*) FROM mirror_tasks WHERE {OPEN}")[0][0]
        leads = self.state.query("SELECT count(*) FROM mirror_leads WHERE is_deleted = 0")[0][0]
        return {"tasks": tasks, "leads": leads}

    def went_late(self, since_due: int, written_since: float, before: int) -> list[TaskRow]:
        """Open tasks due before ``before`` that either fell due at or after ``since_due`` or
        were written at or after ``written_since`` (created, reassigned, re-dated, reopened):
        all that can have gone overdue since an earlier look, without the untouched backlog.
        Soonest deadline first, then by id."""
        # Two index ranges, not one OR: SQLite would walk the whole backlog by deadline.
        rows = self.state.query(
            f"SELECT {TASK_COLUMNS} FROM mirror_tasks INDEXED BY mirror_tasks_due"
            f" WHERE {OPEN} AND complete_till >= ? AND complete_till < ?"
            f" UNION SELECT {TASK_COLUMNS} FROM mirror_tasks INDEXED BY mirror_tasks_written"
            f" WHERE {OPEN} AND synced_at >= ? AND complete_till < ? ORDER BY complete_till, id",
            (since_due, before, written_since, before),
        )
        return [TaskRow._make(row) for row in rows]
