"""``report``: the overdue report on stdout, read live from amoCRM (the reference a suspicious
admin compares against), or with ``--mirror STATE_DB`` as the server's mirror sees it."""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Protocol

from leoweb_bot.amocrm.models import Task
from leoweb_bot.amocrm.models import User
from leoweb_bot.bot.formats import echo
from leoweb_bot.bot.formats import format_when
from leoweb_bot.cli.failures import CliError
from leoweb_bot.config import Settings
from leoweb_bot.reports import OverdueReport
from leoweb_bot.reports import by_name
from leoweb_bot.reports import days_overdue
from leoweb_bot.reports import local
from leoweb_bot.reports import match_managers
from leoweb_bot.reports import overdue_by_manager
from leoweb_bot.state import State
from leoweb_bot.state.mirror import Mirror
from leoweb_bot.state.progress import Progress
from leoweb_bot.sync.reader import MirrorReader


def print_report(settings: Settings, args: argparse.Namespace) -> int:
    from leoweb_bot.cli.amo import one_shot_client

    client = one_shot_client(settings)
    with client, client.operation():
        report = overdue_report(client, settings, args)
    return show_report(report, args)


class TaskSource(Protocol):
    """amoCRM live (AmoClient), or the server's mirror of it (MirrorReader)."""

    def users(self) -> dict[int, User]: ...

    def open_tasks_due_before(
        self, moment: int, responsible_user_id: int | None = None
    ) -> list[Task]: ...


def overdue_report(
    source: TaskSource, settings: Settings, args: argparse.Namespace
) -> OverdueReport:
    now = args.now or int(time.time())
    users = source.users()
    manager_id = None
    if args.manager is not None:
        found = match_managers(args.manager, users)
        if len(found) != 1:
            raise CliError(no_single_manager(args.manager, found, users), code=2)
        manager_id = found[0].id
    tasks = source.open_tasks_due_before(now, responsible_user_id=manager_id)
    return overdue_by_manager(tasks, users, now, settings.bot.tz)


def show_report(report: OverdueReport, args: argparse.Namespace) -> int:
    if args.json:
        print(json.dumps(report.to_json(), ensure_ascii=False))
    else:
        print(report_table(report, int(report.generated_at.timestamp())))
    return 0


def no_single_manager(query: str, found: list[User], users: Mapping[int, User]) -> str:
    """Why ``--manager`` picked nobody: no query, several candidates, or no match at all."""
    if not query.strip():
        return "--manager needs a manager's name or amoCRM user id"
    if found:
        return f"several managers match {echo(query)!r}: {', '.join(u.name for u in found)}"
    known = ", ".join(u.name for u in by_name(users.values()))
    return f"no manager matches {echo(query)!r}; known: {known}"


def report_table(report: OverdueReport, now: int) -> str:
    tz = report.generated_at.tzinfo
    assert tz is not None
    stamp = report.generated_at.strftime("%d.%m.%Y %H:%M")
    lines = [f"Overdue tasks as of {stamp} ({report.timezone})", ""]
    if not report.managers:
        return "\n".join([*lines, "No overdue tasks. 🎉"])
    width = max(12, *(len(m.name) for m in report.managers))
    lines.append(f"{'Manager':<{width}}  {'Overdue':>7}  {'Oldest deadline':<16}  {'Days':>4}")
    for m in report.managers:
        oldest = local(m.oldest_due, tz).strftime("%d.%m.%Y %H:%M")
        days = days_overdue(m.oldest_due, now, tz)
        lines.append(f"{m.name:<{width}}  {m.overdue:>7}  {oldest:<16}  {days:>4}")
    lines += ["", f"Total overdue: {report.total_overdue}"]
    return "\n".join(lines)


def print_mirror_report(settings: Settings, args: argparse.Namespace) -> int:
    """The report from the mirror in the state db ``args.mirror``, and how fresh it is."""
    path = Path(args.mirror)
    if not path.is_file():
        raise CliError(f"--mirror {path}: no such state db")
    state = State(path)
    try:
        now = args.now or int(time.time())
        reader = MirrorReader(Mirror(state), Progress(state), settings.sync, lambda: now)
        if not reader.ready():
            raise CliError(f"the mirror in {path} is not complete yet: its bootstrap is running")
        report = overdue_report(reader, settings, args)
        fresh = reader.freshness()
    finally:
        state.close()
    show_report(report, args)
    if not args.json:
        tz = settings.bot.tz
        line = f"Mirror data as of {format_when(fresh.as_of, tz)}"
        if fresh.stale_since is not None:
            line += f"; amoCRM has not answered since {format_when(fresh.stale_since, tz)}"
        print(line)
    return 0
