"""What is wrong with the state db, in words for /healthz, `check` and the admins.

The webhooks answer 503 when the db refuses a write, and Telegram keeps the updates, so nothing
is lost, but someone has to act: /healthz says why it answers 503 (web.py), and the scheduler
tells the admins about a full disk or inbox while the db can still record an incident, and
about refused writes once it takes them again (incidents.watch_state_db, outages.py).
"""

from __future__ import annotations

import shutil
from pathlib import Path

from leoweb_bot.state.db import Database
from leoweb_bot.state.db import StateUnavailable
from leoweb_bot.state.kv import set_value

MIB = 1024 * 1024
# Below this, SQLite may fail at any write: the WAL grows by up to 4 MiB between checkpoints
# (https://www.sqlite.org/wal.html, Automatic Checkpoint), and the checkpoint grows the file.
MIN_FREE_BYTES = 64 * MIB
PROBE_KEY = "health.probe"  # the time of the last probe: can the db take a write right now?


def probe_write(db: Database, now: float) -> str | None:
    """Write one small row, as an ack does; the reason the db refused it, or None."""
    try:
        set_value(db, PROBE_KEY, str(now))
    except StateUnavailable as exc:
        return f"state database not writable: {exc.detail}"
    return None


def disk_problem(path: str | Path, min_free: int | None = None) -> str | None:
    """ "disk almost full: …" when the state db's file system has less than ``min_free`` left
    (default MIN_FREE_BYTES).

    ``free`` is what an unprivileged user may still write (statvfs ``f_bavail``): the service
    runs as one, and the blocks reserved for root are not for it.
    """
    try:
        free = shutil.disk_usage(Path(path).absolute().parent).free
    except OSError as exc:
        return f"disk space unknown: {exc.strerror}"
    if free >= (MIN_FREE_BYTES if min_free is None else min_free):
        return None
    return f"disk almost full: {free // MIB} MiB free where the state database is"


def inbox_problem(depth: int, limit: int) -> str | None:
    """ "inbox full: …" when ``limit`` updates wait (the webhook refuses more meanwhile)."""
    return f"inbox full: {depth} updates waiting" if depth >= limit else None
