"""The overdue-alert ledger: which task deadlines were alerted, and which managers were seen.

Owns ``alerts_sent`` (one row per task and deadline: a task alerts once per deadline) and
``alert_managers`` (a manager's tasks that were overdue before we first looked are ``known``,
never sent). The rules are told in proactive/alerts.py.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from collections.abc import Set
from dataclasses import dataclass

from leoweb_bot.state.db import Database

Key = tuple[int, int]  # (task id, deadline)


class AlertStatus(enum.StrEnum):
    KNOWN = "known"  # already overdue when we first looked: never sent
    PENDING = "pending"  # waiting for the next cycle outside quiet hours
    SENDING = "sending"
    SENT = "sent"
    DROPPED = "dropped"  # closed, re-dated or unmapped before it could be sent
    FAILED = "failed"


SETTLED = (AlertStatus.KNOWN, AlertStatus.SENT, AlertStatus.DROPPED, AlertStatus.FAILED)


@dataclass(frozen=True)
class Overdue:
    """A task found overdue at its deadline ``due``, with the manager it belongs to."""

    task_id: int
    due: int
    amocrm_user_id: int


def record_overdue(
    db: Database, found: Iterable[Overdue], managers: Iterable[int], now: int
) -> int:
    """Note newly overdue tasks as pending; a manager seen for the first time gets ``known`` rows.

    Returns how many pending alerts this call added. One transaction, so two processes agree on
    which manager was new.
    """
    added = 0
    with db.transaction() as conn:
        seen = {row[0] for row in conn.execute("SELECT amocrm_user_id FROM alert_managers")}
        conn.executemany(
            "INSERT INTO alert_managers (amocrm_user_id, since) VALUES (?, ?)"
            " ON CONFLICT DO NOTHING",
            [(manager, now) for manager in set(managers) - seen],
        )
        for task in found:
            status = AlertStatus.PENDING if task.amocrm_user_id in seen else AlertStatus.KNOWN
            cursor = conn.execute(
                "INSERT INTO alerts_sent (task_id, due, amocrm_user_id, status, found_at)"
                " VALUES (?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
                (task.task_id, task.due, task.amocrm_user_id, status, now),
            )
            added += cursor.rowcount if status == AlertStatus.PENDING else 0
    return added


def unseen_managers(db: Database, managers: Iterable[int]) -> set[int]:
    """Which of these managers were never looked at: their backlog is still to be recorded."""
    seen = {row[0] for row in db.query("SELECT amocrm_user_id FROM alert_managers")}
    return set(managers) - seen


def pending_managers(db: Database) -> list[int]:
    rows = db.query(
        "SELECT DISTINCT amocrm_user_id FROM alerts_sent WHERE status = ? ORDER BY 1",
        (AlertStatus.PENDING,),
    )
    return [row[0] for row in rows]


def take_pending(db: Database, amocrm_user_id: int) -> list[Key]:
    """Claim a manager's pending alerts (pending → sending) so that no one else sends them."""
    with db.transaction() as conn:
        rows = conn.execute(
            "SELECT task_id, due FROM alerts_sent WHERE status = ? AND amocrm_user_id = ?",
            (AlertStatus.PENDING, amocrm_user_id),
        ).fetchall()
        conn.executemany(
            "UPDATE alerts_sent SET status = ? WHERE task_id = ? AND due = ? AND status = ?",
            [(AlertStatus.SENDING, task_id, due, AlertStatus.PENDING) for task_id, due in rows],
        )
    return [(task_id, due) for task_id, due in rows]


def settle_alerts(db: Database, keys: Iterable[Key], status: AlertStatus, now: int) -> None:
    with db.transaction() as conn:
        conn.executemany(
            "UPDATE alerts_sent SET status = ?, sent_at = ? WHERE task_id = ? AND due = ?",
            [(status, now, task_id, due) for task_id, due in keys],
        )


def forget_settled_alerts(db: Database, still_overdue: Set[Key], before: float) -> int:
    """Delete settled rows found before ``before`` unless their task is still overdue at that
    deadline (that row is what keeps it from alerting again); returns how many went."""
    marks = ", ".join("?" * len(SETTLED))
    rows = db.query(
        f"SELECT task_id, due FROM alerts_sent WHERE status IN ({marks}) AND found_at < ?",
        (*SETTLED, before),
    )
    gone = [(task_id, due) for task_id, due in rows if (task_id, due) not in still_overdue]
    if gone:
        with db.transaction() as conn:
            conn.executemany("DELETE FROM alerts_sent WHERE task_id = ? AND due = ?", gone)
    return len(gone)
