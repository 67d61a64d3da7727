"""One owner per table: every SQL statement on a table is in that table's module of state/."""

from __future__ import annotations

import ast
import re
import sqlite3
from pathlib import Path

from leoweb_bot.state.schema import migrate
from tests.kit.paths import ROOT

PACKAGE = ROOT / "leoweb_bot"
OWNERS = {
    "inbox": "state/inbox.py",
    "kv": "state/kv.py",
    "audit": "state/audit.py",
    "amo_events": "state/events.py",
    "lead_notices": "state/events.py",
    "jobs": "state/jobs.py",
    "subscriptions": "state/digests.py",
    "digest_log": "state/digests.py",
    "alerts_sent": "state/overdue.py",
    "alert_managers": "state/overdue.py",
    "incidents": "state/incidents.py",
    "snapshot_days": "state/snapshots.py",
    "snapshots": "state/snapshots.py",
    "members": "state/people.py",
    "invites": "state/people.py",
    "join_requests": "state/people.py",
    "join_cards": "state/people.py",
    "mirror_tasks": "state/mirror.py",
    "mirror_leads": "state/mirror.py",
    "mirror_users": "state/mirror.py",
    "mirror_pipelines": "state/mirror.py",
    "mirror_stages": "state/mirror.py",
    "sync_status": "state/progress.py",
    "sync_scans": "state/progress.py",
    "sync_wanted": "state/progress.py",
    "sync_lease": "state/progress.py",
}
TABLE_RE = re.compile(r"\b(?:FROM|INTO|UPDATE|JOIN|TABLE)\s+([a-z_]+)\b")
CTE_RE = re.compile(r"\bWITH\s+(?:RECURSIVE\s+)?([a-z_]+)\b")  # a query's own name, no table


def tables_named(path: Path) -> set[str]:
    """Tables named by the SQL in the file's string literals (f-string parts included)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    texts = [
        n.value for n in ast.walk(tree) if isinstance(n, ast.Constant) and isinstance(n.value, str)
    ]
    ctes = {name for text in texts for name in CTE_RE.findall(text)}
    return {table for text in texts for table in TABLE_RE.findall(text)} - ctes


def test_every_table_has_an_owner() -> None:
    conn = sqlite3.connect(":memory:", isolation_level=None)
    migrate(conn)
    tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    assert tables - {"sqlite_sequence"} == set(OWNERS)


def test_sql_on_a_table_lives_only_in_its_owner() -> None:
    found: dict[str, set[str]] = {}
    for path in PACKAGE.rglob("*.py"):
        where = path.relative_to(PACKAGE).as_posix()
        if where != "state/schema.py":
            for table in tables_named(path):
                found.setdefault(table, set()).add(where)
    assert set(found) <= set(OWNERS), "SQL on a table that is not in the schema"
    strays = {table: places - {OWNERS[table]} for table, places in found.items()}
    assert {table: places for table, places in strays.items() if places} == {}
    assert set(found) == set(OWNERS)  # and the scan does see each owner's SQL
