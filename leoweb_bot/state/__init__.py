"""The state database: everything that must survive a restart, in one SQLite file.

One module per table family, and every statement on a table lives in its module:

* ``db`` — the connection rules, transactions, errors, the file's mode (no table);
* ``schema`` — the tables and their migrations;
* ``inbox`` — ``inbox``: Telegram updates, acked and waiting for a worker;
* ``kv`` — ``kv``: small named values and cross-process leases; ``tokens`` keeps the amoCRM
  OAuth pair and its lock there;
* ``audit`` — ``audit``: who did what through the bot;
* ``events`` — ``amo_events`` and ``lead_notices``: amoCRM webhook bodies and what they told;
* ``jobs`` — ``jobs``: the scheduler's leases;
* ``digests`` — ``subscriptions`` and ``digest_log``;
* ``overdue`` — ``alerts_sent`` and ``alert_managers``: the overdue-alert ledger;
* ``incidents`` — ``incidents``: what the admins were told is broken;
* ``snapshots`` — ``snapshot_days`` and ``snapshots``: each manager's numbers at each day's end;
* ``mirror``, ``progress`` — the local mirror of amoCRM (tasks, leads, users, pipelines) and
  the sync's place in it: cursors, full-scan pages, ids webhooks asked for, the sync lease;
* ``people`` — ``members``, ``invites``, ``join_requests``, ``join_cards``: who was let in
  through the bot, and how;
* ``owners``, ``outages``, ``health`` — who holds a claim, failed writes, and what is wrong, in
  words (no table).

Statuses are ``enum.StrEnum``s stored as their strings. ``State`` is what a process opens: the
connection rules with its inbox. May import only the standard library, ``config`` and ``ids``:
never amoCRM, Telegram, the bot or the service, so any of them can use it.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

from leoweb_bot.state.db import Database
from leoweb_bot.state.inbox import Inbox


class State(Database):
    """A process's handle on the state db: ``Database`` plus the inbox, whose backlog estimate
    is per object. The table modules' functions take it as their ``Database``."""

    def __init__(
        self,
        path: str | Path,
        *,
        max_pending: int = 10000,
        checkpoints: bool = True,
        clock: Callable[[], float] = time.time,
    ) -> None:
        super().__init__(path, checkpoints=checkpoints, clock=clock)
        self.inbox = Inbox(self, max_pending)
