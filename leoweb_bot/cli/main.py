"""``leoweb-bot`` sub-commands: one argparse parser, each command loads only what it uses.

Every failure ends in ``main``: one line on stderr and a non-zero exit, never a traceback.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from collections.abc import Iterator
from collections.abc import Sequence
from contextlib import contextmanager
from dataclasses import replace
from functools import partial

from leoweb_bot import __version__
from leoweb_bot.cli import argtypes
from leoweb_bot.cli.failures import failure
from leoweb_bot.cli.failures import output_closed
from leoweb_bot.config import AUTH_MODES
from leoweb_bot.config import ConfigError
from leoweb_bot.config import Settings
from leoweb_bot.config import load_settings
from leoweb_bot.logs import log_level
from leoweb_bot.logs import setup_logging

Command = Callable[[argparse.Namespace], int]


SERVERS = frozenset({"serve", "poll", "sandbox"})


def load(args: argparse.Namespace, *sections: str) -> Settings:
    """Load config for a command, set up logging, and validate the sections it needs."""
    settings = load_settings(args.config)
    stream = sys.stdout if args.command in SERVERS else sys.stderr
    setup_logging(log_level(), settings.secrets(), stream)
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
    from leoweb_bot.cli.report import print_mirror_report
    from leoweb_bot.cli.report import print_report

    if args.mirror:
        return print_mirror_report(load(args, "bot", "sync"), args)
    settings = load(args, "bot") if args.sandbox else load(args, "amocrm", "bot")
    if args.sandbox:
        with sandbox_settings(settings) as sandboxed:
            return print_report(sandboxed, args)
    return print_report(settings, args)


def cmd_sandbox(args: argparse.Namespace) -> int:
    from leoweb_bot.sandbox import run_sandbox

    setup_logging(log_level())
    return run_sandbox(
        host=args.host,
        port=args.port,
        seed=args.seed,
        tasks=args.tasks,
        managers=args.managers,
        latency_ms=args.latency_ms,
        rate_limit=args.rate_limit,
        webhook_url=args.webhook_url,
        as_json=args.json,
    )


def cmd_check(args: argparse.Namespace) -> int:
    """One line per check; exit 1 if any failed."""
    from leoweb_bot.cli import check

    try:
        results = check.run_all(load(args))
    except ConfigError as exc:  # the file itself is unusable (not found, not TOML, unreadable)
        results = [(False, f"config: {exc}")]
    for ok, line in results:
        print(f"{'ok  ' if ok else 'FAIL'} {line}")
    return 0 if all(ok for ok, _ in results) else 1


def cmd_serve(args: argparse.Namespace) -> int:
    from leoweb_bot.service import server

    settings = load(
        args, "telegram", "amocrm", "bot", "access", "digest", "alerts", "sync", "server"
    )
    # amocrm.rate_limit is the account's budget: every worker takes its slots from one
    # budget beside the state db (amocrm/limiter.py, server_budget).
    return server.serve(settings)


def cmd_poll(args: argparse.Namespace) -> int:
    from leoweb_bot.service import server

    settings = load(args, "amocrm", "bot", "access", "digest", "alerts", "sync")
    if not settings.telegram.token:
        raise ConfigError("telegram.token: missing (LEOWEB_TELEGRAM_TOKEN)")
    return server.poll(settings, force=args.force)


def cmd_set_webhook(args: argparse.Namespace) -> int:
    from leoweb_bot.cli import webhook

    return webhook.set_webhook(load(args, "telegram", "bot", "access"))


def cmd_delete_webhook(args: argparse.Namespace) -> int:
    from leoweb_bot.cli import webhook

    return webhook.delete_webhook(load(args, "telegram"))


def cmd_webhook_info(args: argparse.Namespace) -> int:
    from leoweb_bot.cli import webhook

    return webhook.webhook_info(load(args, "telegram"))


def cmd_demo(args: argparse.Namespace) -> int:
    from leoweb_bot.cli import demo

    return demo.run(script=args.script, telegram_token=args.telegram_token, lang=args.lang)


def cmd_init(args: argparse.Namespace) -> int:
    from leoweb_bot.cli import init

    return init.run_init(args)


class HelpFormatter(argparse.HelpFormatter):
    """Shows an option's default after its help text, when it has one worth showing."""

    def _get_help_string(self, action: argparse.Action) -> str | None:
        text = action.help or ""
        default = action.default
        shown = default is not None and default is not False and default != argparse.SUPPRESS
        if action.option_strings and shown and "default:" not in text:
            text += " (default: %(default)s)"
        return text


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="leoweb-bot",
        description="amoCRM in Telegram: overdue tasks, digests, look-ups.",
        formatter_class=HelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"leoweb-bot {__version__}")
    parser.add_argument("--config", metavar="PATH", help=CONFIG_HELP)
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    add = partial(add_command, sub)

    report = add("report", cmd_report)
    report.add_argument(
        "--manager", metavar="NAME_OR_ID", help="only this manager (default: every manager)"
    )
    report.add_argument("--json", action="store_true", help="print the JSON contract")
    report.add_argument("--sandbox", action="store_true", help="use a built-in demo amoCRM")
    report.add_argument(
        "--mirror",
        metavar="STATE_DB",
        help="as the server's mirror of amoCRM in this state db sees it (default: live)",
    )
    report.add_argument("--now", type=int, help=argparse.SUPPRESS)  # epoch seconds, for tests

    sandbox = add("sandbox", cmd_sandbox, config=False)
    sandbox.add_argument("--host", default="127.0.0.1", help="address to listen on")
    sandbox.add_argument("--port", type=argtypes.port, default=8800, help="0 = any free port")
    for option, minimum, default, about in SANDBOX_NUMBERS:
        sandbox.add_argument(
            option, type=argtypes.at_least(minimum), default=default, metavar="N", help=about
        )
    sandbox.add_argument(
        "--webhook-url",
        metavar="URL",
        help="POST amoCRM's webhooks here on every change, e.g. the bot's "
        "/amocrm/webhook/SECRET (default: none)",
    )
    sandbox.add_argument(
        "--json", action="store_true", help="print the address and credentials as one JSON line"
    )

    add("check", cmd_check)
    add("serve", cmd_serve)
    poll = add("poll", cmd_poll)
    poll.add_argument("--force", action="store_true", help="delete a set webhook first")
    add("set-webhook", cmd_set_webhook)
    add("delete-webhook", cmd_delete_webhook)
    add("webhook-info", cmd_webhook_info)

    demo = add("demo", cmd_demo, config=False)
    demo.add_argument(
        "--script", metavar="FILE", help="run these inputs (default: read the keyboard)"
    )
    demo.add_argument(
        "--telegram-token", metavar="T", help="run it in real Telegram (default: the terminal)"
    )
    demo.add_argument("--lang", choices=("ru", "en"), default="ru", help="the bot's language")

    init = add("init", cmd_init)  # --config names the file to write, as the others read it
    init.add_argument(
        "--output",
        metavar="PATH",
        help="where to write (default: --config, $LEOWEB_CONFIG or ./config.toml)",
    )
    for option, metavar, about in INIT_VALUES:
        init.add_argument(option, metavar=metavar, help=f"{about} (default: asked)")
    init.add_argument(
        "--auth", choices=AUTH_MODES, help="how the bot logs in to amoCRM (default: asked)"
    )
    init.add_argument("--force", action="store_true", help="overwrite an existing file")
    init.add_argument(
        "--no-input", action="store_true", help="never prompt; use flags and defaults"
    )
    return parser


CONFIG_HELP = "config file (default: $LEOWEB_CONFIG, else ./config.toml)"
SANDBOX_NUMBERS = (  # option, least value, default, help
    ("--seed", 0, 1, "demo data seed"),
    ("--tasks", 0, 300, "open tasks"),
    ("--managers", 1, 8, "sales managers"),
    ("--latency-ms", 0, 0, "added to every answer"),
    ("--rate-limit", 0, 7, "requests/s, 0 = off"),
)
INIT_VALUES = (  # option, metavar, help; each is asked for unless given (or --no-input)
    ("--telegram-token", "T", "bot token from @BotFather"),
    ("--amocrm-url", "URL", "https://SUBDOMAIN.amocrm.ru"),
    ("--amocrm-token", "T", "long-lived token (auth = token)"),
    ("--timezone", "TZ", "company time zone, e.g. Asia/Almaty"),
    ("--public-url", "URL", "the bot's public https:// address"),
)
# Each command: the line in `leoweb-bot --help`, and the description atop its own --help.
ABOUT = {
    "report": (
        "print the overdue-tasks report",
        "Print the overdue tasks per manager in company time, read live from amoCRM (with "
        "--mirror: from a server's mirror of it, to compare).",
    ),
    "sandbox": (
        "run the amoCRM emulator",
        "Run the built-in amoCRM emulator; it prints its address and credentials as JSON.",
    ),
    "check": (
        "validate config, reach amoCRM and Telegram",
        "Check the config file, the state db, amoCRM and Telegram, one line each; exit 1 if "
        "any failed. With auth = oauth it spends amocrm.auth_code into the state db it names.",
    ),
    "serve": (
        "run the webhook server (gunicorn)",
        "Run the production server: gunicorn with the webhook, dispatcher and scheduler.",
    ),
    "poll": (
        "run the bot by long polling",
        "Run the same bot by long polling: no public HTTPS address needed.",
    ),
    "set-webhook": (
        "register the webhook and the command menus",
        "Point Telegram at {public_url}/telegram/webhook and set each person's command menu.",
    ),
    "delete-webhook": (
        "remove the webhook",
        "Remove the webhook (pending updates are kept), e.g. before `poll`.",
    ),
    "webhook-info": (
        "show Telegram's view of the webhook",
        "Show Telegram's view of the webhook: URL, pending updates, last delivery error.",
    ),
    "demo": (
        "try the bot in the terminal on the sandbox, no accounts",
        "Chat with the bot in the terminal, with the sandbox as amoCRM: no accounts needed.",
    ),
    "init": (
        "write a starter config.toml",
        "Write a starter config.toml (mode 600) with generated webhook secrets.",
    ),
}


def add_command(
    sub: argparse._SubParsersAction, name: str, func: Command, *, config: bool = True
) -> argparse.ArgumentParser:
    """A sub-command; ``config`` says whether it reads the config file (and takes --config)."""
    summary, description = ABOUT[name]
    parser = sub.add_parser(
        name, help=summary, description=description, formatter_class=HelpFormatter
    )
    if config:  # --config is accepted before or after the sub-command
        parser.add_argument("--config", metavar="PATH", default=argparse.SUPPRESS, help=CONFIG_HELP)
    parser.set_defaults(func=func, reads_config=config)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.config and not args.reads_config:
        parser.error(f"--config: `{args.command}` reads no config file")
    try:
        setup_logging(log_level(), stream=sys.stderr)  # until the command sets its own
        code = int(args.func(args))
        sys.stdout.flush()  # a reader gone away (`| head`) shows up here at the latest
    except BrokenPipeError:
        return output_closed()
    except KeyboardInterrupt:
        return 130
    except Exception as exc:
        message, code = failure(exc)
        print(message, file=sys.stderr)
    return code
