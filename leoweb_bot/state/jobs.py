"""The scheduler's job leases: which process runs a job now, and when it last ran.

Owns the ``jobs`` table, one row per job name. A live lease means another process is on the job;
``last_run`` spaces runs across all processes (proactive/scheduler.py).
"""

from __future__ import annotations

from leoweb_bot.state.db import Database


def take_job_lease(
    db: Database, name: str, owner: str, now: float, *, every: float, lease: float
) -> bool:
    """Lease the job to ``owner`` for ``lease`` seconds if nobody holds it and ``every``
    seconds have passed since its last run began."""
    with db.transaction() as conn:
        row = conn.execute(
            "SELECT lease_until, last_run FROM jobs WHERE name = ?", (name,)
        ).fetchone()
        if row is None:
            conn.execute("INSERT INTO jobs (name) VALUES (?)", (name,))
            row = (0.0, None)
        lease_until, last_run = row
        # Bounds on both sides: a wall clock stepped back must not stall a job for hours.
        if now < lease_until <= now + lease:
            return False
        if last_run is not None and last_run <= now < last_run + every:
            return False
        conn.execute(
            "UPDATE jobs SET lease_owner = ?, lease_until = ? WHERE name = ?",
            (owner, now + lease, name),
        )
    return True


def renew_job_lease(db: Database, name: str, owner: str, until: float) -> bool:
    """Extend the lease of a job still at work; False if it is no longer ``owner``'s."""
    cursor = db.write(
        "UPDATE jobs SET lease_until = ? WHERE name = ? AND lease_owner = ?",
        (until, name, owner),
    )
    return cursor.rowcount == 1


def release_job_lease(db: Database, name: str, owner: str, started: float) -> None:
    """Give the lease back and record the run as begun at ``started``."""
    db.write(
        "UPDATE jobs SET lease_owner = NULL, lease_until = 0, last_run = ?"
        " WHERE name = ? AND lease_owner = ?",
        (started, name, owner),
    )
