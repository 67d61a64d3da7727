"""Small named values that must survive a restart, and leases taken across processes.

Owns the ``kv`` table: the amoCRM OAuth pair and its lock (tokens.py), a close waiting for its
typed result (bot/closing.py), the last write probe (health.py), when the admins last heard of
an outage (proactive/incidents.py), the Telegram webhook backlog last seen
(proactive/keepalive.py), the overdue alerts' last look and full scan (proactive/alerts.py).
Each key belongs to the module that names it.
"""

from __future__ import annotations

import json

from leoweb_bot.state.db import Database


def get_value(db: Database, key: str) -> str | None:
    return db.scalar("SELECT value FROM kv WHERE key = ?", (key,))


def set_value(db: Database, key: str, value: str) -> None:
    db.write(
        "INSERT INTO kv (key, value) VALUES (?, ?)"
        " ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        (key, value),
    )


def delete_value(db: Database, key: str) -> None:
    db.write("DELETE FROM kv WHERE key = ?", (key,))


def stamp_unless_since(db: Database, key: str, since: float, now: float) -> bool:
    """Store the time ``now`` under ``key`` unless it holds a time at or after ``since``.

    True if this call stored it: of several processes that saw the same event, one is first.
    """
    cursor = db.write(
        "INSERT INTO kv (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE"
        " SET value = excluded.value WHERE CAST(kv.value AS REAL) < ?",
        (key, str(now), since),
    )
    return cursor.rowcount == 1


def take_lease(db: Database, key: str, owner: str, now: float, seconds: float) -> bool:
    """Hold ``key`` for ``owner`` until ``now + seconds``, unless someone else's lease is live."""
    lease = json.dumps({"owner": owner, "until": now + seconds})
    cursor = db.write(
        "INSERT INTO kv (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE"
        " SET value = excluded.value WHERE json_extract(kv.value, '$.until') < ?",
        (key, lease, now),
    )
    return cursor.rowcount == 1


def drop_lease(db: Database, key: str, owner: str) -> None:
    """Give the lease back, if ``owner`` still holds it."""
    db.write(
        "DELETE FROM kv WHERE key = ? AND json_extract(value, '$.owner') = ?",
        (key, owner),
    )
