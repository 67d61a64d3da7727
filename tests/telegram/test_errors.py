"""Bot API failures read as one line an admin can act on: the host and cause, never the token."""

from __future__ import annotations

import re
import socket

import pytest
import responses

from leoweb_bot.telegram.client import Telegram
from leoweb_bot.telegram.client import TelegramError
from tests.kit.fakebot import FakeBotAPI

TOKEN = "123456789:AATelegramErrorsTestTokenValue_abcd"


def test_unreachable_api_names_host_and_cause() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    telegram = Telegram(TOKEN, f"http://127.0.0.1:{port}")
    with pytest.raises(TelegramError) as error:
        telegram.get_me()
    message = str(error.value)
    assert message == f"Telegram getMe: cannot reach 127.0.0.1:{port}: Connection refused"
    assert error.value.code is None


@pytest.mark.parametrize(
    ("status", "description", "remedy"),
    [
        (401, "Unauthorized", "check telegram.token (the Bot API refused it)"),
        (404, "Not Found", "check telegram.token and telegram.api_url"),
    ],
)
def test_refusals_that_mean_wrong_settings_say_which(
    status: int, description: str, remedy: str
) -> None:
    with FakeBotAPI() as fake:
        fake.fail_next(
            "getMe", status, {"ok": False, "error_code": status, "description": description}
        )
        with pytest.raises(TelegramError) as error:
            Telegram(TOKEN, fake.url).get_me()
    assert str(error.value) == f"Telegram getMe: {status} {description}; {remedy}"
    assert error.value.description == description  # callers match on Telegram's own words


def test_an_answer_that_is_not_the_bot_api_names_the_host(rsps: responses.RequestsMock) -> None:
    page = "<html>502 Bad Gateway</html>"
    rsps.add(responses.GET, re.compile(r"https://proxy\.example/.*"), body=page, status=502)
    with pytest.raises(TelegramError) as error:
        Telegram(TOKEN, "https://proxy.example").get_me()
    assert str(error.value) == "Telegram getMe: 502 proxy.example answered without a Bot API reply"
    assert TOKEN not in str(error.value)
