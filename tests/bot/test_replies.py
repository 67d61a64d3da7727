"""amoCRM errors become clear texts; the guard turns any failure into a message."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import pytest

from leoweb_bot.amocrm.errors import AmoError
from leoweb_bot.amocrm.errors import AuthError
from leoweb_bot.amocrm.errors import BadRequest
from leoweb_bot.amocrm.errors import Blocked
from leoweb_bot.amocrm.errors import Forbidden
from leoweb_bot.amocrm.errors import NotFound
from leoweb_bot.amocrm.errors import PaymentRequired
from leoweb_bot.amocrm.errors import RateLimited
from leoweb_bot.amocrm.errors import Unavailable
from leoweb_bot.bot import commands
from leoweb_bot.bot.replies import error_text
from leoweb_bot.bot.replies import guard
from leoweb_bot.bot.texts import Html
from tests.kit.botchat import DIRECTOR
from tests.kit.botchat import BotChat
from tests.kit.botchat import bot_chat
from tests.kit.botchat import final

WORKING = "⏳ Читаю amoCRM…"


@pytest.fixture
def chat(tmp_path: Path) -> Iterator[BotChat]:
    with bot_chat(tmp_path) as chat:
        yield chat


@pytest.mark.parametrize(("error", "start"), [
    (Unavailable, "amoCRM не отвечает"),
    (RateLimited, "amoCRM не отвечает"),
    (AuthError, "amoCRM отозвала доступ"),
    (PaymentRequired, "Подписка amoCRM закончилась"),
    (Blocked, "amoCRM временно заблокировала"),
    (Forbidden, "У интеграции нет прав"),
    (NotFound, "Не найдено"),
    (BadRequest, "amoCRM отклонила запрос"),
    (AmoError, "amoCRM ответила ошибкой"),
])  # fmt: skip
def test_each_amocrm_error_has_its_own_text(error: type[AmoError], start: str) -> None:
    assert error_text("ru", error("detail that the user never sees", 500)).startswith(start)


def test_english_error_text() -> None:
    assert error_text("en", Unavailable("x")) == "amoCRM is not answering, try again in a minute."


def test_guard_logs_and_notifies(caplog: pytest.LogCaptureFixture) -> None:
    told: list[Html] = []
    with caplog.at_level(logging.WARNING, logger="leoweb_bot"):
        with guard("ru", told.append, "/report", 42):
            raise Blocked("blocked", 403)
        with guard("ru", told.append, "/report", 42):
            raise KeyError("oops")
    assert told == [
        "amoCRM временно заблокировала доступ по API. Попробуйте позже.",
        "Что-то пошло не так. Ошибка записана, попробуйте ещё раз чуть позже.",
    ]
    assert [r.levelname for r in caplog.records] == ["WARNING", "ERROR"]
    assert caplog.records[1].exc_info is not None


def test_guard_lets_a_failure_to_notify_propagate() -> None:
    def unreachable(_: Html) -> None:
        raise ConnectionError("telegram down")

    with pytest.raises(ConnectionError), guard("ru", unreachable, "/x", 1):
        raise Unavailable("down")


# -- through the whole stack ---------------------------------------------------------------------------------


@pytest.mark.parametrize(("status", "message"), [
    (503, "amoCRM не отвечает, попробуйте через минуту."),
    (401, "amoCRM отозвала доступ бота. Администратору нужно заново авторизовать интеграцию."),
    (402, "Подписка amoCRM закончилась — продлите её, и бот снова заработает."),
])  # fmt: skip
def test_amocrm_failures_become_clear_messages(chat: BotChat, status: int, message: str) -> None:
    chat.sandbox.inject(status, count=20)
    sent = chat.say(DIRECTOR, "/report")
    assert [s.text for s in sent] == [WORKING, message]


def test_handler_exception_gives_a_polite_message_and_is_logged(
    chat: BotChat, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("boom inside the report")

    monkeypatch.setattr(commands, "report_screen", broken)
    with caplog.at_level(logging.ERROR, logger="leoweb_bot"):
        sent = chat.say(DIRECTOR, "/report")
    assert final(sent).text == (
        "Что-то пошло не так. Ошибка записана, попробуйте ещё раз чуть позже."
    )
    assert all("boom" not in s.text and "Traceback" not in s.text for s in sent)
    (record,) = [r for r in caplog.records if r.exc_info]
    assert "/report in chat 201 failed" in record.getMessage()
    # The chat keeps working afterwards.
    monkeypatch.undo()
    assert final(chat.say(DIRECTOR, "/whoami")).text.startswith("Telegram id:")
