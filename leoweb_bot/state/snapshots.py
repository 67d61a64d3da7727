"""The daily history behind ``/chart trend``: each manager's numbers at the end of a company day.

Owns ``snapshot_days`` (a day is recorded once: its row is inserted in the same transaction as
the day's rows, so two processes that both took a snapshot keep only the first) and
``snapshots`` (one row per day and manager, zeros included). History starts on the first day
the bot recorded; nothing here ever writes a day it did not see (proactive/snapshots.py).
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable

from leoweb_bot.state.db import Database

# (amoCRM user id, name, overdue, due today, closed that day): one manager on one day
Numbers = tuple[int, str, int, int, int]
# (company day, amoCRM user id, name, overdue, due today, closed that day)
SnapshotRow = tuple[datetime.date, int, str, int, int, int]


def is_recorded(db: Database, day: datetime.date) -> bool:
    """Whether ``day`` (a company-time date) has its snapshot already."""
    return db.scalar("SELECT 1 FROM snapshot_days WHERE day = ?", (day.isoformat(),)) is not None


def record_day(db: Database, day: datetime.date, rows: Iterable[Numbers], now: float) -> bool:
    """Record ``day`` with ``rows``; False (and nothing written) if it was recorded already."""
    with db.transaction() as conn:
        taken = conn.execute(
            "INSERT INTO snapshot_days (day, taken_at) VALUES (?, ?) ON CONFLICT DO NOTHING",
            (day.isoformat(), now),
        )
        if taken.rowcount != 1:
            return False
        conn.executemany(
            "INSERT INTO snapshots (day, amocrm_user_id, name, overdue, due_today, closed)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            [(day.isoformat(), *row) for row in rows],
        )
    return True


def history(
    db: Database, since: datetime.date, amocrm_user_id: int | None = None
) -> list[SnapshotRow]:
    """Rows from ``since`` on, and those of the first day ever recorded (which says since when
    there is history at all), oldest first; with ``amocrm_user_id``, that manager's only."""
    who = "" if amocrm_user_id is None else " AND amocrm_user_id = ?"
    mine = () if amocrm_user_id is None else (amocrm_user_id,)
    rows = db.query(
        "SELECT day, amocrm_user_id, name, overdue, due_today, closed FROM snapshots"
        f" WHERE (day >= ? OR day = (SELECT MIN(day) FROM snapshots WHERE 1 = 1{who})){who}"
        " ORDER BY day, amocrm_user_id",
        (since.isoformat(), *mine, *mine),
    )
    return [(datetime.date.fromisoformat(day), *rest) for day, *rest in rows]
