"""Who holds a claim: the owner tags of inbox claims and job leases, and whether one is alive.

Owns no table. A tag names a process of a host, so a dispatcher can take back the claims of a
process of its own host that died (inbox.py) instead of waiting for their leases to run out.
"""

from __future__ import annotations

import os
from pathlib import Path

from leoweb_bot.ids import parse_id


def owner_id(host: str, pid: int, worker: str = "") -> str:
    """The owner tag of a claim: ``host:pid[@start][:worker]``.

    The process start time tells a live worker from a dead one that had the same pid: a
    restarted container keeps its hostname and its workers often get the same small pids.
    """
    start = _start_time(pid)
    tag = f"{pid}@{start}" if start else str(pid)
    return f"{host}:{tag}:{worker}" if worker else f"{host}:{tag}"


def owner_alive(owner: str) -> bool:
    """Whether the process of a tag of this host may still be running (True when unsure)."""
    parts = owner.split(":")
    pid_text, _, start = parts[1].partition("@") if len(parts) >= 2 else ("", "", "")
    pid = parse_id(pid_text)
    if pid is None:
        return True  # not ours to judge; the lease expiry will reclaim it
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    fields = _proc_stat(pid)
    if not fields:
        return True  # no /proc (macOS): kill() had the last word
    # A killed worker whose parent died too lingers as a zombie until something reaps it, and a
    # zombie still answers kill(pid, 0); proc(5): field 3 is the state, field 22 the start time.
    return fields[0] != "Z" and (not start or fields[19] == start)


def _start_time(pid: int) -> str | None:
    fields = _proc_stat(pid)
    return fields[19] if len(fields) > 19 else None


def _proc_stat(pid: int) -> list[str]:
    """Fields of /proc/<pid>/stat after the command name (which may hold spaces)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text(encoding="ascii", errors="replace")
    except OSError:
        return []
    return stat.rpartition(")")[2].split()
