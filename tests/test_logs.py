"""Log lines never carry a secret, at any level, even inside tracebacks."""

from __future__ import annotations

import logging

import pytest

from leoweb_bot.logs import RedactingFormatter
from leoweb_bot.logs import redact

BOT_TOKEN = "123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw"


@pytest.mark.parametrize(
    ("line", "secret"),
    [
        (f"GET /bot{BOT_TOKEN}/sendMessage?chat_id=1", BOT_TOKEN),
        (f"token was {BOT_TOKEN}", BOT_TOKEN),
        ("Authorization: Bearer eyJhbGciOi.JIUzI1NiJ9.abc-def", "eyJhbGciOi.JIUzI1NiJ9.abc-def"),
        ('{"refresh_token": "def50200abcdef0123"}', "def50200abcdef0123"),
        ("USER_HASH=0123456789abcdef&USER_LOGIN=a@b.kz", "0123456789abcdef"),
        ("Cookie: session_id=k1j2h3g4f5d6", "k1j2h3g4f5d6"),
    ],
)
def test_secret_shapes_are_masked(line: str, secret: str) -> None:
    assert secret not in redact(line)


def test_configured_secrets_masked_in_message_args_and_traceback() -> None:
    formatter = RedactingFormatter("%(levelname)s %(message)s", ["amo-long-lived-token"])
    try:
        raise RuntimeError("failed with amo-long-lived-token")
    except RuntimeError:
        import sys

        record = logging.LogRecord(
            "x", logging.DEBUG, __file__, 1, "using %s", ("amo-long-lived-token",), sys.exc_info()
        )
    text = formatter.format(record)
    assert "amo-long-lived-token" not in text
    assert "using ***" in text


def test_ordinary_text_is_untouched() -> None:
    line = "update 42 from chat 1387123 handled in 12 ms"
    assert redact(line, ["secret-value"]) == line


def test_gunicorn_lines_go_through_the_redaction() -> None:
    """gunicorn's error log (e.g. a bad request line with the amoCRM webhook path) is masked."""
    import io

    from gunicorn.config import Config

    from leoweb_bot.logs import setup_logging
    from leoweb_bot.service.server import RedactingGunicornLog

    out = io.StringIO()
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    try:
        setup_logging("INFO", ["amo-hook-secret-1234"], out)
        gunicorn_log = RedactingGunicornLog(Config())
        gunicorn_log.warning("Invalid request line: 'GET /amocrm/webhook/amo-hook-secret-1234/x'")
    finally:
        root.handlers[:] = handlers
        root.setLevel(level)
        logging.getLogger("gunicorn.error").propagate = False
    assert out.getvalue().endswith(
        "WARNING gunicorn.error: Invalid request line: 'GET /amocrm/webhook/***/x'\n"
    )
