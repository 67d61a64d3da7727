"""``leoweb-bot`` sub-commands: one argparse parser, each command loads only what it uses."""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Callable
from collections.abc import Iterator
from collections.abc import Sequence
from contextlib import contextmanager
from dataclasses import replace
from functools import partial

from leoweb_bot import __version__
from leoweb_bot import argtypes
from leoweb_bot.amocrm.errors import AmoError
from leoweb_bot.config import ConfigError
from leoweb_bot.config import Settings
from leoweb_bot.config import load_settings
from leoweb_bot.logs import setup_logging
from leoweb_bot.reports import OverdueReport
from leoweb_bot.reports import days_overdue
from leoweb_bot.reports import local
from leoweb_bot.reports import overdue_by_manager

Command = Callable[[argparse.Namespace], int]


def secrets_of(settings: Settings) -> list[str]:
    t, a = settings.telegram, settings.amocrm
    return [
        t.token,
        t.webhook_secret,
        a.token,
        a.api_key,
        a.client_secret,
        a.auth_code,
        a.webhook_secret,
    ]


SERVERS = frozenset({"serve", "poll", "sandbox"})


def load(args: argparse.Namespace, *sections: str) -> Settings:
    """Load config for a command, set up logging, and validate the sections it needs."""
    settings = load_settings(args.config)
    stream = sys.stdout if args.command in SERVERS else sys.stderr
    setup_logging(os.environ.get("LEOWEB_LOG_LEVEL", "INFO"), secrets_of(settings), stream)
    return settings.require(*sections)


@contextmanager
def sandbox_settings(settings: Settings, tasks: int = 300) -> Iterator[Settings]:
    """Run an in-process sandbox and point the amoCRM settings at it (long-lived token auth)."""
    from leoweb_bot.sandbox import Sandbox

    with Sandbox(seed=1, tasks=tasks, managers=8, rate_limit=0) as sandbox:
        amocrm = replace(
            settings.amocrm,
            base_url=sandbox.base_url,
            auth="token",
            token=sandbox.credentials.token,
        )
        yield replace(settings, amocrm=amocrm)


def cmd_report(args: argparse.Namespace) -> int:
    """Print the overdue report: a table in company time, or the JSON contract."""
    settings = load(args, "bot") if args.sandbox else load(args, "amocrm", "bot")
    if args.sandbox:
        with sandbox_settings(settings) as sandboxed:
            return print_report(sandboxed, args)
    return print_report(settings, args)


def print_report(settings: Settings, args: argparse.Namespace) -> int:
    from leoweb_bot.amocrm import build_client

    now = args.now or int(time.time())
    tz = settings.bot.tz
    with build_client(settings.amocrm, token_store=token_store(settings)) as client:
        users = client.users()
        manager_id = None
        if args.manager:
            manager_id = find_manager(args.manager, users)
            if manager_id is None:
                names = ", ".join(sorted(u.name for u in users.values()))
                print(
                    f"error: no manager matches {args.manager!r}; known: {names}", file=sys.stderr
                )
                return 2
        tasks = client.overdue_tasks(now, responsible_user_id=manager_id)
    report = overdue_by_manager(tasks, users, now, tz)
    if args.json:
        print(json.dumps(report.to_json(), ensure_ascii=False))
    else:
        print(report_table(report, now))
    return 0


def find_manager(query: str, users: dict) -> int | None:
    """An amoCRM user id, or the one user whose name contains ``query`` (case-insensitive)."""
    if query.lstrip("#").isdigit():
        return int(query.lstrip("#"))
    matches = [u.id for u in users.values() if query.casefold() in u.name.casefold()]
    return matches[0] if len(matches) == 1 else None


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


def token_store(settings: Settings):  # type: ignore[no-untyped-def]
    """OAuth needs the state db to keep the rotating refresh token; other modes need nothing."""
    if settings.amocrm.auth != "oauth":
        return None
    from leoweb_bot.state import State

    return State(settings.bot.state_path)


def cmd_sandbox(args: argparse.Namespace) -> int:
    from leoweb_bot.sandbox import run_sandbox

    setup_logging(os.environ.get("LEOWEB_LOG_LEVEL", "INFO"))
    return run_sandbox(
        host=args.host,
        port=args.port,
        seed=args.seed,
        tasks=args.tasks,
        managers=args.managers,
        latency_ms=args.latency_ms,
        rate_limit=args.rate_limit,
        as_json=args.json,
    )


def cmd_check(args: argparse.Namespace) -> int:
    """One line per check; exit 1 if any failed."""
    from leoweb_bot import checks

    try:
        settings = load(args)
    except ConfigError as exc:
        print(f"FAIL config: {exc}")
        return 1
    results = checks.run_all(settings)
    for ok, line in results:
        print(f"{'ok  ' if ok else 'FAIL'} {line}")
    return 0 if all(ok for ok, _ in results) else 1


def cmd_serve(args: argparse.Namespace) -> int:
    from leoweb_bot import server

    settings = load(args, "telegram", "amocrm", "bot", "digest", "alerts", "server")
    # amocrm.rate_limit is the account's budget; each gunicorn worker gets its share, because
    # the limiter is shared by the threads of one process only.
    share = settings.amocrm.rate_limit / settings.server.workers
    return server.serve(replace(settings, amocrm=replace(settings.amocrm, rate_limit=share)))


def cmd_poll(args: argparse.Namespace) -> int:
    from leoweb_bot import server

    settings = load(args, "amocrm", "bot", "digest", "alerts")
    if not settings.telegram.token:
        raise ConfigError("telegram.token: missing (LEOWEB_TELEGRAM_TOKEN)")
    return server.poll(settings, force=args.force)


def cmd_set_webhook(args: argparse.Namespace) -> int:
    from leoweb_bot import webhook_admin

    return webhook_admin.set_webhook(load(args, "telegram", "bot"))


def cmd_delete_webhook(args: argparse.Namespace) -> int:
    from leoweb_bot import webhook_admin

    return webhook_admin.delete_webhook(load(args, "telegram"))


def cmd_webhook_info(args: argparse.Namespace) -> int:
    from leoweb_bot import webhook_admin

    return webhook_admin.webhook_info(load(args, "telegram"))


def cmd_demo(args: argparse.Namespace) -> int:
    from leoweb_bot import demo

    return demo.run(script=args.script, telegram_token=args.telegram_token, lang=args.lang)


def cmd_init(args: argparse.Namespace) -> int:
    from leoweb_bot import starter

    return starter.run_init(args)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="leoweb-bot", description="amoCRM in Telegram: overdue tasks, digests, look-ups."
    )
    parser.add_argument("--version", action="version", version=f"leoweb-bot {__version__}")
    parser.add_argument(
        "--config", metavar="PATH", help="config file (default: $LEOWEB_CONFIG or ./config.toml)"
    )
    # --config is accepted before or after the sub-command.
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--config", metavar="PATH", default=argparse.SUPPRESS, help="config file")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    sub.add_parser = partial(sub.add_parser, parents=[common])  # type: ignore[method-assign]

    report = sub.add_parser("report", help="print the overdue-tasks report")
    report.add_argument("--manager", metavar="NAME_OR_ID", help="only this manager")
    report.add_argument("--json", action="store_true", help="print the JSON contract")
    report.add_argument("--sandbox", action="store_true", help="use a built-in demo amoCRM")
    report.add_argument("--now", type=int, help=argparse.SUPPRESS)  # epoch seconds, for tests
    report.set_defaults(func=cmd_report)

    sandbox = sub.add_parser("sandbox", help="run the amoCRM emulator")
    sandbox.add_argument("--host", default="127.0.0.1")
    sandbox.add_argument("--port", type=argtypes.port, default=8800, help="0 = any free port")
    sandbox.add_argument("--seed", type=argtypes.whole_number, default=1)
    sandbox.add_argument("--tasks", type=argtypes.at_least(0), default=300, help="open tasks")
    sandbox.add_argument("--managers", type=argtypes.at_least(1), default=8)
    sandbox.add_argument("--latency-ms", type=argtypes.at_least(0), default=0)
    sandbox.add_argument(
        "--rate-limit", type=argtypes.at_least(0), default=7, help="requests/s, 0 = off"
    )
    sandbox.add_argument(
        "--json", action="store_true", help="print the address and credentials as one JSON line"
    )
    sandbox.set_defaults(func=cmd_sandbox)

    sub.add_parser("check", help="validate config, reach amoCRM and Telegram").set_defaults(
        func=cmd_check
    )
    sub.add_parser("serve", help="run the webhook server (gunicorn)").set_defaults(func=cmd_serve)
    poll = sub.add_parser("poll", help="run the bot by long polling")
    poll.add_argument("--force", action="store_true", help="delete a set webhook first")
    poll.set_defaults(func=cmd_poll)
    sub.add_parser("set-webhook", help="register the webhook and menus").set_defaults(
        func=cmd_set_webhook
    )
    sub.add_parser("delete-webhook", help="remove the webhook").set_defaults(
        func=cmd_delete_webhook
    )
    sub.add_parser("webhook-info", help="show Telegram's view of the webhook").set_defaults(
        func=cmd_webhook_info
    )

    demo = sub.add_parser("demo", help="try the bot in the terminal on the sandbox, no accounts")
    demo.add_argument("--script", metavar="FILE", help="run these inputs non-interactively")
    demo.add_argument("--telegram-token", metavar="T", help="run the demo in real Telegram")
    demo.add_argument("--lang", choices=("ru", "en"), default="ru")
    demo.set_defaults(func=cmd_demo)

    init = sub.add_parser("init", help="write a starter config.toml")
    init.add_argument(
        "--output",
        metavar="PATH",
        help="where to write (default: --config, $LEOWEB_CONFIG or ./config.toml)",
    )
    init.add_argument("--telegram-token", metavar="T")
    init.add_argument("--amocrm-url", metavar="URL")
    init.add_argument("--auth", choices=("token", "oauth", "session"))
    init.add_argument("--amocrm-token", metavar="T")
    init.add_argument("--timezone", metavar="TZ")
    init.add_argument("--public-url", metavar="URL")
    init.add_argument("--force", action="store_true", help="overwrite an existing file")
    init.add_argument(
        "--no-input", action="store_true", help="never prompt; use flags and defaults"
    )
    init.set_defaults(func=cmd_init)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args))
    except ConfigError as exc:
        print(f"config error: {exc}", file=sys.stderr)
        return 2
    except AmoError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
