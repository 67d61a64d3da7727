"""Logging to stdout, one line per event, with every secret scrubbed at every level.

Secrets reach log lines by paths we do not control: urllib3 logs full request URLs at DEBUG,
and the Bot API puts the bot token in the URL (``/bot<token>/sendMessage``); exceptions from
requests repeat that URL. So redaction happens in the formatter, on the final text,
including tracebacks.
"""

from __future__ import annotations

import logging
import os
import re
import sys
from collections.abc import Iterable
from collections.abc import Mapping
from typing import TextIO

from leoweb_bot.values import ConfigError

MASK = "***"

# Shapes of secrets we may not know in advance (rotated OAuth tokens, a token typed on the CLI).
# Group 1, when present, is kept: it is the label in front of the secret.
_PATTERNS = (
    re.compile(r"(/bot)\d+:[A-Za-z0-9_-]+"),
    re.compile(r"()\b\d{6,}:[A-Za-z0-9_-]{30,}\b"),
    re.compile(r"(?i)(bearer )[A-Za-z0-9._~+/=-]+"),
    re.compile(
        r"(?i)((?:access_token|refresh_token|client_secret|user_hash|api_key|session_id)"
        r"[\"']?\s*[=:]\s*[\"']?)[A-Za-z0-9._~+/=-]{6,}"
    ),
)


class RedactingFormatter(logging.Formatter):
    """Format as usual, then mask configured secrets and anything shaped like a token."""

    def __init__(self, fmt: str, secrets: Iterable[str] = ()) -> None:
        super().__init__(fmt)
        self.secrets = sorted({s for s in secrets if s and len(s) >= 4}, key=len, reverse=True)

    def format(self, record: logging.LogRecord) -> str:
        return redact(super().format(record), self.secrets)


def redact(text: str, secrets: Iterable[str] = ()) -> str:
    for secret in secrets:
        text = text.replace(secret, MASK)
    for pattern in _PATTERNS:
        text = pattern.sub(lambda m: m.group(1) + MASK, text)
    return text


def log_level(env: Mapping[str, str] | None = None) -> str:
    """$LEOWEB_LOG_LEVEL (default INFO), checked: a typo must not end in a traceback."""
    level = (os.environ if env is None else env).get("LEOWEB_LOG_LEVEL", "INFO").strip().upper()
    if not isinstance(logging.getLevelNamesMapping().get(level), int):
        raise ConfigError(f"LEOWEB_LOG_LEVEL: must be DEBUG, INFO, WARNING or ERROR, got {level!r}")
    return level


def setup_logging(
    level: str = "INFO", secrets: Iterable[str] = (), stream: TextIO | None = None
) -> None:
    """Send all logs through the redacting formatter (replaces earlier handlers).

    Servers log to stdout (the container convention); one-shot commands pass stderr so their
    stdout stays clean for output such as ``report --json``.
    """
    handler = logging.StreamHandler(stream or sys.stdout)
    handler.setFormatter(
        RedactingFormatter("%(asctime)s %(levelname)s %(name)s: %(message)s", secrets)
    )
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level.upper() if isinstance(level, str) else level)
    if root.level > logging.DEBUG:
        # urllib3 and telebot are chatty at INFO about connections; keep them for DEBUG runs.
        logging.getLogger("urllib3").setLevel(logging.WARNING)
        logging.getLogger("TeleBot").setLevel(logging.WARNING)
