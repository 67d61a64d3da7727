"""The state database schema, versioned by ``PRAGMA user_version``.

``MIGRATIONS[i]`` takes the schema from version ``i`` to ``i + 1``. To change the schema, append
a tuple of statements; never edit one that has shipped. ``migrate`` runs the missing ones in one
``BEGIN IMMEDIATE`` transaction, so several processes starting at once cannot race.
"""

from __future__ import annotations

import sqlite3
from contextlib import suppress

MIGRATIONS: tuple[tuple[str, ...], ...] = (
    (
        """CREATE TABLE inbox (
            update_id INTEGER PRIMARY KEY,
            chat_id INTEGER,
            payload TEXT NOT NULL,
            status TEXT NOT NULL DEFAULT 'pending',
            attempts INTEGER NOT NULL DEFAULT 0,
            owner TEXT,
            claimed_at REAL,
            received_at REAL NOT NULL,
            error TEXT
        )""",
        "CREATE INDEX inbox_status ON inbox (status, update_id)",
        "CREATE INDEX inbox_chat ON inbox (chat_id, status, update_id)",
        "CREATE TABLE kv (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
        """CREATE TABLE audit (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            at REAL NOT NULL,
            telegram_user_id INTEGER,
            action TEXT NOT NULL,
            details TEXT NOT NULL
        )""",
        """CREATE TABLE amo_events (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            key TEXT NOT NULL UNIQUE,
            payload TEXT NOT NULL,
            status TEXT NOT NULL DEFAULT 'pending',
            received_at REAL NOT NULL
        )""",
    ),
    (
        # jobs.py: one row per job; a live lease means another process is running it.
        """CREATE TABLE jobs (
            name TEXT PRIMARY KEY,
            lease_owner TEXT,
            lease_until REAL NOT NULL DEFAULT 0,
            last_run REAL
        )""",
        # digests.py: one subscription per chat; the subscriber's role decides what is sent.
        """CREATE TABLE subscriptions (
            chat_id INTEGER PRIMARY KEY,
            telegram_user_id INTEGER NOT NULL,
            at TEXT NOT NULL,
            since REAL NOT NULL
        )""",
        # The primary key is the promise "at most one digest per chat per local day".
        """CREATE TABLE digest_log (
            chat_id INTEGER NOT NULL,
            local_date TEXT NOT NULL,
            status TEXT NOT NULL,
            owner TEXT,
            late INTEGER NOT NULL DEFAULT 0,
            attempts INTEGER NOT NULL DEFAULT 0,
            retry_at REAL,
            updated_at REAL NOT NULL,
            PRIMARY KEY (chat_id, local_date)
        )""",
        # overdue.py: a task alerts once per deadline; "known" rows were overdue before we looked.
        """CREATE TABLE alerts_sent (
            task_id INTEGER NOT NULL,
            due INTEGER NOT NULL,
            amocrm_user_id INTEGER NOT NULL,
            status TEXT NOT NULL,
            found_at REAL NOT NULL,
            sent_at REAL,
            PRIMARY KEY (task_id, due)
        )""",
        "CREATE INDEX alerts_pending ON alerts_sent (status, amocrm_user_id)",
        "CREATE TABLE alert_managers (amocrm_user_id INTEGER PRIMARY KEY, since REAL NOT NULL)",
        # events.py: one notice per lead event and chat, whatever body it arrived in.
        "CREATE TABLE lead_notices (key TEXT PRIMARY KEY, sent_at REAL NOT NULL)",
        "ALTER TABLE amo_events ADD COLUMN attempts INTEGER NOT NULL DEFAULT 0",
        "ALTER TABLE amo_events ADD COLUMN note TEXT",
        "CREATE INDEX amo_events_status ON amo_events (status, id)",
        # incidents.py: an open incident has a row; opening and closing each notify admins once.
        """CREATE TABLE incidents (
            kind TEXT PRIMARY KEY,
            opened_at REAL NOT NULL,
            detail TEXT NOT NULL
        )""",
    ),
    (
        # snapshots.py: a company day is recorded once (its snapshot_days row, inserted in the
        # same transaction as its rows), with one row per manager, zeros included.
        "CREATE TABLE snapshot_days (day TEXT PRIMARY KEY, taken_at REAL NOT NULL)",
        """CREATE TABLE snapshots (
            day TEXT NOT NULL,
            amocrm_user_id INTEGER NOT NULL,
            name TEXT NOT NULL,
            overdue INTEGER NOT NULL,
            due_today INTEGER NOT NULL,
            closed INTEGER NOT NULL,
            PRIMARY KEY (day, amocrm_user_id)
        )""",
    ),
    (
        # people.py: who was let in through the bot; [access] in the config is not here.
        """CREATE TABLE members (
            telegram_id INTEGER PRIMARY KEY,
            role TEXT NOT NULL,
            amocrm_user_id INTEGER,
            name TEXT NOT NULL,
            username TEXT NOT NULL DEFAULT '',
            since REAL NOT NULL,
            added_by INTEGER
        )""",
        # An invite's token is kept only as its SHA-256: the db alone lets nobody in.
        """CREATE TABLE invites (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            token_hash TEXT NOT NULL UNIQUE,
            role TEXT NOT NULL,
            amocrm_user_id INTEGER,
            created_by INTEGER NOT NULL,
            created_at REAL NOT NULL,
            expires_at REAL NOT NULL,
            status TEXT NOT NULL DEFAULT 'open',
            used_by INTEGER,
            closed_at REAL
        )""",
        "CREATE INDEX invites_status ON invites (status, expires_at)",
        """CREATE TABLE join_requests (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            telegram_id INTEGER NOT NULL,
            name TEXT NOT NULL,
            username TEXT NOT NULL DEFAULT '',
            asked_at REAL NOT NULL,
            status TEXT NOT NULL DEFAULT 'open',
            decided_by INTEGER,
            decided_at REAL,
            role TEXT,
            amocrm_user_id INTEGER
        )""",
        # The promise "one open request per person".
        "CREATE UNIQUE INDEX join_requests_open ON join_requests (telegram_id)"
        " WHERE status = 'open'",
        "CREATE INDEX join_requests_status ON join_requests (status, asked_at)",
        # Where each director's card of a request is, to say there who decided.
        """CREATE TABLE join_cards (
            request_id INTEGER NOT NULL,
            chat_id INTEGER NOT NULL,
            message_id INTEGER NOT NULL,
            PRIMARY KEY (request_id, chat_id, message_id)
        )""",
    ),
    (
        # mirror.py: what the screens read instead of asking amoCRM. A completed or deleted task
        # stays a while as a tombstone, so an older copy read before the change cannot bring it
        # back (updated_at decides); only open ones are indexed. ``scan`` marks the rows a full
        # scan saw, ``synced_at`` when we last wrote a row (our clock).
        """CREATE TABLE mirror_tasks (
            id INTEGER PRIMARY KEY,
            responsible_user_id INTEGER NOT NULL,
            complete_till INTEGER,
            is_completed INTEGER NOT NULL,
            is_deleted INTEGER NOT NULL DEFAULT 0,
            entity_type TEXT,
            entity_id INTEGER,
            task_type_id INTEGER,
            text TEXT NOT NULL,
            updated_at INTEGER NOT NULL,
            synced_at REAL NOT NULL,
            scan INTEGER NOT NULL DEFAULT 0
        )""",
        "CREATE INDEX mirror_tasks_due ON mirror_tasks (complete_till)"
        " WHERE is_completed = 0 AND is_deleted = 0",
        "CREATE INDEX mirror_tasks_user ON mirror_tasks (responsible_user_id, complete_till)"
        " WHERE is_completed = 0 AND is_deleted = 0",
        "CREATE INDEX mirror_tasks_entity ON mirror_tasks (entity_type, entity_id)"
        " WHERE is_completed = 0 AND is_deleted = 0",
        """CREATE TABLE mirror_leads (
            id INTEGER PRIMARY KEY,
            name TEXT NOT NULL,
            price INTEGER NOT NULL,
            status_id INTEGER NOT NULL,
            pipeline_id INTEGER NOT NULL,
            responsible_user_id INTEGER NOT NULL,
            created_at INTEGER,
            closed_at INTEGER,
            updated_at INTEGER NOT NULL,
            is_deleted INTEGER NOT NULL DEFAULT 0,
            synced_at REAL NOT NULL,
            scan INTEGER NOT NULL DEFAULT 0
        )""",
        """CREATE TABLE mirror_users (
            id INTEGER PRIMARY KEY,
            name TEXT NOT NULL,
            is_admin INTEGER NOT NULL,
            is_active INTEGER NOT NULL
        )""",
        """CREATE TABLE mirror_pipelines (
            id INTEGER PRIMARY KEY,
            name TEXT NOT NULL,
            is_main INTEGER NOT NULL,
            is_archive INTEGER NOT NULL,
            position INTEGER NOT NULL
        )""",
        """CREATE TABLE mirror_stages (
            pipeline_id INTEGER NOT NULL,
            id INTEGER NOT NULL,
            name TEXT NOT NULL,
            sort INTEGER NOT NULL,
            type INTEGER NOT NULL,
            PRIMARY KEY (pipeline_id, id)
        )""",
        # progress.py: per entity, where the next incremental read starts (amoCRM's clock) and
        # when it last worked or failed (ours); a full scan's place; ids webhooks asked for;
        # the one sync of the server (a lease).
        """CREATE TABLE sync_status (
            entity TEXT PRIMARY KEY,
            cursor INTEGER,
            synced_at REAL,
            failed_at REAL,
            error TEXT
        )""",
        """CREATE TABLE sync_scans (
            entity TEXT PRIMARY KEY,
            generation INTEGER NOT NULL,
            started_at REAL NOT NULL,
            next_page INTEGER,
            last_page INTEGER,
            pages_read INTEGER NOT NULL DEFAULT 0,
            rows_read INTEGER NOT NULL DEFAULT 0,
            done_at REAL
        )""",
        """CREATE TABLE sync_wanted (
            entity TEXT NOT NULL,
            id INTEGER NOT NULL,
            asked_at REAL NOT NULL,
            PRIMARY KEY (entity, id)
        )""",
        """CREATE TABLE sync_lease (
            name TEXT PRIMARY KEY,
            owner TEXT NOT NULL,
            until REAL NOT NULL
        )""",
    ),
    (
        # mirror.py: what the sync wrote lately (the overdue alerts' delta reads only that).
        "CREATE INDEX mirror_tasks_written ON mirror_tasks (synced_at)"
        " WHERE is_completed = 0 AND is_deleted = 0",
    ),
)


def migrate(conn: sqlite3.Connection) -> int:
    """Bring the schema up to ``len(MIGRATIONS)``; safe to run from many processes at once."""
    target = len(MIGRATIONS)
    if conn.execute("PRAGMA user_version").fetchone()[0] == target:
        return target
    conn.execute("BEGIN IMMEDIATE")
    try:
        version = conn.execute("PRAGMA user_version").fetchone()[0]
        if version > target:
            raise sqlite3.DatabaseError(
                f"schema version {version} is newer than this program's ({target})"
            )
        for statements in MIGRATIONS[version:]:
            for sql in statements:
                conn.execute(sql)
        conn.execute(f"PRAGMA user_version = {target}")
        conn.execute("COMMIT")
    except BaseException:
        rollback(conn)
        raise
    return target


def rollback(conn: sqlite3.Connection) -> None:
    """Roll back an open transaction, ignoring a failure to do so (the error being handled wins)."""
    if conn.in_transaction:
        with suppress(sqlite3.Error):
            conn.execute("ROLLBACK")
