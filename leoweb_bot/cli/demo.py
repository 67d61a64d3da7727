"""``leoweb-bot demo``: the whole bot on the built-in sandbox, with no config and no accounts.

In the terminal, :mod:`leoweb_bot.cli.terminal` stands in for Telegram, so every command runs
exactly as in production except for the network. With ``--telegram-token`` the same bot runs in
real Telegram by long polling, with the sandbox as the CRM.
"""

from __future__ import annotations

import logging
import os
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from collections.abc import Iterable
from collections.abc import Iterator
from collections.abc import Mapping
from contextlib import contextmanager
from contextlib import suppress
from dataclasses import dataclass
from dataclasses import replace
from functools import partial
from pathlib import Path
from typing import Any
from typing import TextIO
from typing import cast

from leoweb_bot.cli.console import ROLE_NAMES
from leoweb_bot.cli.failures import CliError
from leoweb_bot.cli.terminal import ADMIN_ID
from leoweb_bot.cli.terminal import CONSOLE
from leoweb_bot.cli.terminal import DIRECTOR_ID
from leoweb_bot.cli.terminal import MANAGER_ID
from leoweb_bot.cli.terminal import TerminalChat
from leoweb_bot.cli.terminal import TerminalTelegram
from leoweb_bot.config import AmoSettings
from leoweb_bot.config import Settings
from leoweb_bot.config import settings_from_mapping
from leoweb_bot.logs import setup_logging

log = logging.getLogger(__name__)

DEMO_MANAGER = "Зелимхан"  # the sandbox's first manager; the demo manager is linked to them
POLL_TIMEOUT = 25  # seconds of getUpdates long polling
POLL_RETRY = 5


# -- wiring -----------------------------------------------------------------------------------


@dataclass
class DemoCrm:
    """The sandbox, a client for it, a throw-away state db, and the demo manager's amoCRM id."""

    amo: AmoSettings
    state_path: Path
    manager_id: int
    client: Any  # leoweb_bot.amocrm.AmoClient
    state: Any  # leoweb_bot.state.State


@contextmanager
def demo_crm() -> Iterator[DemoCrm]:
    from leoweb_bot.amocrm import build_client
    from leoweb_bot.sandbox import Sandbox
    from leoweb_bot.state import State
    from leoweb_bot.state.tokens import Tokens

    with (
        Sandbox(seed=1, tasks=300, managers=8, rate_limit=0) as sandbox,
        tempfile.TemporaryDirectory(prefix="leoweb-demo-") as tmp,
    ):
        assert sandbox.base_url is not None
        amo = AmoSettings(
            base_url=sandbox.base_url, auth="token", token=sandbox.credentials.token, rate_limit=50
        )
        state_path = Path(tmp) / "demo.sqlite3"
        state = State(state_path)
        client = build_client(amo, token_store=Tokens(state))
        try:
            yield DemoCrm(amo, state_path, demo_manager_id(sandbox.data.users), client, state)
        finally:
            client.close()
            state.close()


def demo_manager_id(users: Iterable[Mapping[str, Any]]) -> int:
    """The amoCRM id of «Зелимхан», or of the first non-admin user if the data changes."""
    users = list(users)
    for user in users:
        if str(user["name"]).startswith(DEMO_MANAGER):
            return int(user["id"])
    return next(int(u["id"]) for u in users if not u["rights"]["is_admin"])


def demo_settings(
    crm: DemoCrm, lang: str, *, token: str = "", directors: tuple[int, ...] = ()
) -> Settings:
    """Settings built in memory (no file, no environment): the sandbox CRM and demo access.

    In the terminal (no ``token``) the demo's made-up people are the manager and the admin.
    """
    settings = settings_from_mapping(
        {
            "telegram": {"token": token},
            "bot": {"language": lang, "state_path": str(crm.state_path)},
            "access": {
                "admins": [] if token else [ADMIN_ID],
                "directors": list(directors),
                "managers": {} if token else {str(MANAGER_ID): crm.manager_id},
            },
        }
    )
    return replace(settings, amocrm=crm.amo)


def demo_route(
    crm: DemoCrm, settings: Settings, telegram: Any
) -> Callable[[Mapping[str, Any]], None]:
    """The bot's router in the demo's context: the sandbox CRM, its state db, this Telegram."""
    from leoweb_bot.bot.context import App
    from leoweb_bot.bot.router import route

    app = App(
        settings=settings, client=crm.client, telegram=telegram, state=crm.state, clock=time.time
    )
    return partial(route, app)


# -- entry points -----------------------------------------------------------------------------


def run(script: str | None, telegram_token: str | None, lang: str) -> int:
    """``leoweb-bot demo``: the terminal chat (interactive or a script), or real Telegram."""
    if telegram_token:
        setup_logging(os.environ.get("LEOWEB_LOG_LEVEL", "INFO"), [telegram_token])
        return run_in_telegram(telegram_token, lang)
    # Only warnings, and into a file: a log line would break into the conversation.
    words = CONSOLE.get(lang, CONSOLE["ru"])
    log_file = DeferredFile(lambda path: print(words["log"].format(path=path), flush=True))
    setup_logging(os.environ.get("LEOWEB_LOG_LEVEL", "WARNING"), stream=cast(TextIO, log_file))
    if script is not None:
        try:
            lines = Path(script).read_text(encoding="utf-8").splitlines()
        except OSError as exc:
            raise CliError(f"cannot read the script {script}: {exc.strerror}", code=2) from None
        return run_in_terminal(lines, lang, out=sys.stdout, echo=True)
    return run_in_terminal(None, lang, out=sys.stdout, echo=False)


def run_in_terminal(lines: Iterable[str] | None, lang: str, *, out: TextIO, echo: bool) -> int:
    """Chat with the bot: ``lines`` is a script, or None to read the keyboard until /quit."""
    words = CONSOLE.get(lang, CONSOLE["ru"])
    with demo_crm() as crm:
        telegram = TerminalTelegram(out, ansi=out.isatty(), lang=lang)
        settings = demo_settings(crm, lang, directors=(DIRECTOR_ID,))
        chat = TerminalChat(demo_route(crm, settings, telegram), telegram, DEMO_MANAGER)
        print(words["banner"], file=out, end="\n\n", flush=True)
        if lines is None:
            enable_line_editing()
            chat.set_role(ask_role(words))
            lines = typed_lines(lambda: chat.prompt)
        for line in lines:
            if echo and line.lstrip().startswith("#"):
                continue  # a comment in a script
            if echo:
                print(f"> {line}", file=out, flush=True)
            if not chat.handle(line):
                break
    return 1 if chat.failures and echo else 0


class DeferredFile:
    """A log file in the temp folder, made at the first write; ``created`` hears its path.

    Each write appends and closes, so the rare warning is on disk at once and no handle lingers.
    """

    def __init__(self, created: Callable[[str], None]) -> None:
        self._created = created
        self._path: str | None = None

    def write(self, text: str) -> int:
        if self._path is None:
            fd, self._path = tempfile.mkstemp(prefix="leoweb-demo-", suffix=".log", text=True)
            os.close(fd)
            self._created(self._path)
        with open(self._path, "a", encoding="utf-8") as file:
            return file.write(text)


def enable_line_editing() -> None:
    """Arrow keys and history for input(): importing readline is what switches them on."""
    with suppress(ImportError):  # readline is not built on every platform
        import readline  # noqa: F401


def ask_role(words: Mapping[str, str]) -> str:
    """The role to start in: a number from the menu or a role's name; Enter for the director."""
    numbers = {"": "director", "1": "director", "2": "manager", "3": "admin"}
    while True:
        try:
            answer = input(words["ask_role"].format(manager=DEMO_MANAGER)).strip().casefold()
        except EOFError:
            return "director"
        role = numbers.get(answer) or ROLE_NAMES.get(answer)
        if role is not None:
            return role
        print(words["bad_role"], flush=True)


def typed_lines(prompt: Callable[[], str]) -> Iterator[str]:
    """Lines from the keyboard until EOF (Ctrl+D)."""
    while True:
        try:
            yield input(prompt())
        except EOFError:
            return


def run_in_telegram(token: str, lang: str, api_url: str = "https://api.telegram.org") -> int:
    """The demo in real Telegram by long polling; whoever sends /start first is the director."""
    from leoweb_bot.telegram.client import Telegram

    try:
        telegram = Telegram(token, api_url)
    except ValueError:  # pyTelegramBotAPI checks the token's shape (util.validate_token)
        raise CliError("that does not look like a bot token (123456:ABC...)", code=2) from None
    me = telegram.get_me()  # a TelegramError says what is wrong in one line
    if telegram.webhook_info().url:
        raise CliError(
            "this bot has a webhook set, so long polling would fail. Use a separate bot for "
            "the demo, or run `leoweb-bot delete-webhook` first."
        )
    print(f"Demo bot @{me.username} is running with the sandbox as its amoCRM.", flush=True)
    print("Open it in Telegram and send /start: the FIRST person to do so becomes the director.")
    print("Anyone else who sends /start asks you for access; /invite makes a link to let them in.")
    print("Ctrl+C stops the demo.", flush=True)
    with demo_crm() as crm:
        try:
            poll_demo(crm, telegram, token, lang, threading.Event())
        except KeyboardInterrupt:
            print("stopped")
    return 0


def poll_demo(crm: DemoCrm, telegram: Any, token: str, lang: str, stop: threading.Event) -> None:
    """getUpdates → router, one update at a time, until ``stop`` is set.

    There is no way to learn the token owner's Telegram id in advance, so the first private
    /start claims the director role and the router's context is rebuilt with that id in
    ``[access]``.
    """
    route = demo_route(crm, demo_settings(crm, lang, token=token), telegram)
    director: int | None = None
    offset: int | None = None
    while not stop.is_set():
        try:
            updates = telegram.get_updates(offset, POLL_TIMEOUT)
        except Exception as exc:
            log.error("getUpdates failed (%s); retrying in %d s", exc, POLL_RETRY)
            stop.wait(POLL_RETRY)
            continue
        for update in updates:
            offset = int(update["update_id"]) + 1
            if director is None and (director := start_sender(update)) is not None:
                print(f"Telegram user {director} sent /start and is now the director.", flush=True)
                settings = demo_settings(crm, lang, token=token, directors=(director,))
                route = demo_route(crm, settings, telegram)
            try:
                route(update)
            except Exception:
                log.exception("update %s failed", update["update_id"])


def start_sender(update: Mapping[str, Any]) -> int | None:
    """The sender's id if this update is a private /start message, else None."""
    from leoweb_bot.telegram.updates import Message
    from leoweb_bot.telegram.updates import read_update

    message = read_update(update)
    if not isinstance(message, Message) or not message.private or message.sender is None:
        return None
    command = message.command
    return message.sender.id if command and command.name == "start" else None
