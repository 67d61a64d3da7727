"""How a command ends when it fails: one line on stderr and an exit status, never a traceback.

``cli.main`` is the one place that catches; commands and the modules they call just raise.
"""

from __future__ import annotations

import logging
import os
import sys

from leoweb_bot.amocrm.errors import AmoError
from leoweb_bot.config import ConfigError
from leoweb_bot.logs import redact
from leoweb_bot.state.db import StateError
from leoweb_bot.telegram.client import TelegramError

log = logging.getLogger(__name__)


class CliError(Exception):
    """A command cannot do what was asked; ``main`` prints the message as one line."""

    def __init__(self, message: str, code: int = 1) -> None:
        super().__init__(message)
        self.code = code


# Failures whose message is written for the person at the keyboard.
FAILURES = (AmoError, TelegramError, StateError)


def failure(exc: Exception) -> tuple[str, int]:
    """The one line and the exit status for a command that failed with ``exc``."""
    if isinstance(exc, ConfigError):
        return f"config error: {exc}", 2
    if isinstance(exc, CliError):
        return f"error: {exc}", exc.code
    if isinstance(exc, FAILURES):
        return f"error: {exc}", 1
    if isinstance(exc, OSError):  # the machine said no: a port in use, a file not readable
        where = f": {exc.filename}" if exc.filename else ""
        return f"error: {exc.strerror or exc}{where}", 1
    log.debug("unexpected failure", exc_info=True)
    text = " ".join(redact(str(exc)).split())
    return f"error: unexpected {type(exc).__name__}: {text} (LEOWEB_LOG_LEVEL=DEBUG shows where)", 1


def output_closed() -> int:
    """stdout's reader went away (`leoweb-bot report | head`): end quietly.

    Python flushes stdout once more at exit; pointing it at /dev/null keeps that from failing
    too (https://docs.python.org/3/library/signal.html#note-on-sigpipe).
    """
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    return 1
