"""Open incidents: conditions the admins were told about and have not yet heard are fixed.

Owns the ``incidents`` table, one row per open incident kind. Opening inserts the row and closing
deletes it, each one statement, so of several processes only the one whose statement changed
the row tells the admins (proactive/incidents.py).
"""

from __future__ import annotations

from leoweb_bot.state.db import Database


def record_incident(db: Database, kind: str, opened_at: float, detail: str) -> bool:
    """Open ``kind``; False when it is open already."""
    cursor = db.write(
        "INSERT INTO incidents (kind, opened_at, detail) VALUES (?, ?, ?)"
        " ON CONFLICT (kind) DO NOTHING",
        (kind, opened_at, detail),
    )
    return cursor.rowcount == 1


def clear_incident(db: Database, kind: str) -> bool:
    """Close ``kind``; False when it was not open."""
    return db.write("DELETE FROM incidents WHERE kind = ?", (kind,)).rowcount == 1


def incident_kinds(db: Database) -> set[str]:
    """The kinds open now."""
    return {kind for (kind,) in db.query("SELECT kind FROM incidents")}
