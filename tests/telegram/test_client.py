from __future__ import annotations

import json
import logging
import socket

import pytest
from telebot import types

from leoweb_bot.config import settings_from_mapping
from leoweb_bot.telegram.client import Telegram
from leoweb_bot.telegram.client import TelegramError
from leoweb_bot.telegram.client import build_telegram
from leoweb_bot.telegram.client import split_text
from tests.kit.fakebot import FakeBotAPI
from tests.telegram.conftest import TOKEN
from tests.telegram.conftest import FakeTime


def keyboard() -> types.InlineKeyboardMarkup:
    markup = types.InlineKeyboardMarkup()
    markup.add(types.InlineKeyboardButton("Далее", callback_data="page:2"))
    return markup


# -- sending -------------------------------------------------------------------------------------


def test_send_posts_html_without_preview(telegram: Telegram, fake: FakeBotAPI) -> None:
    ids = telegram.send(42, "<b>Просрочено</b>: 3")
    assert ids == [1]
    (_, params), *_ = fake.calls("sendMessage")
    assert params["chat_id"] == "42"
    assert params["text"] == "<b>Просрочено</b>: 3"
    assert params["parse_mode"] == "HTML"
    assert json.loads(params["link_preview_options"]) == {"is_disabled": True}
    assert fake.tokens == {TOKEN}


def test_long_text_is_split_on_lines_with_markup_on_the_last_part(
    telegram: Telegram, fake: FakeBotAPI
) -> None:
    lines = [f"{n:04d} · Задача «Перезвонить клиенту» — просрочена на {n} дн." for n in range(400)]
    html = "\n".join(lines)
    assert len(html) > 3 * 4096

    ids = telegram.send(42, html, reply_markup=keyboard())

    sent = fake.calls("sendMessage")
    assert len(ids) == len(sent) >= 4
    texts = [params["text"] for _, params in sent]
    assert all(0 < len(text) <= 4096 for text in texts)
    assert "\n".join(texts).split("\n") == lines  # nothing lost, no line cut in half
    markups = [params.get("reply_markup") for _, params in sent]
    assert markups[:-1] == [None] * (len(sent) - 1)
    assert json.loads(markups[-1])["inline_keyboard"][0][0]["callback_data"] == "page:2"


def test_split_text_keeps_short_texts_whole() -> None:
    assert split_text("one\ntwo") == ["one\ntwo"]
    assert all(len(part) <= 10 for part in split_text("aaaa\nbbbb\ncccc\ndddd", 10))


def test_a_dict_keyboard_is_sent_as_json(telegram: Telegram, fake: FakeBotAPI) -> None:
    markup = {"inline_keyboard": [[{"text": "ok", "callback_data": "x"}]]}
    telegram.send(42, "hi", reply_markup=markup)
    assert json.loads(fake.calls("sendMessage")[0][1]["reply_markup"]) == markup


def test_429_waits_retry_after_then_succeeds(
    telegram: Telegram, fake: FakeBotAPI, time_: FakeTime
) -> None:
    fake.fail_next(
        "sendMessage",
        429,
        {
            "ok": False,
            "error_code": 429,
            "description": "Too Many Requests: retry after 7",
            "parameters": {"retry_after": 7},
        },
    )
    assert telegram.send(42, "hi") == [1]
    assert len(fake.calls("sendMessage")) == 2
    assert 7 in time_.sleeps


def test_429_retries_are_bounded(telegram: Telegram, fake: FakeBotAPI) -> None:
    for _ in range(10):
        fake.fail_next(
            "sendMessage",
            429,
            {
                "ok": False,
                "error_code": 429,
                "description": "Too Many",
                "parameters": {"retry_after": 1},
            },
        )
    with pytest.raises(TelegramError) as error:
        telegram.send(42, "hi")
    assert error.value.code == 429
    assert len(fake.calls("sendMessage")) == 4


def test_per_chat_throttle_spaces_messages_one_second_apart(
    telegram: Telegram, fake: FakeBotAPI, time_: FakeTime
) -> None:
    telegram.send(42, "one")
    telegram.send(42, "two")
    telegram.send(42, "three")
    assert time_.sleeps == [1.0, 1.0]


def test_different_chats_only_share_the_global_rate(
    telegram: Telegram, fake: FakeBotAPI, time_: FakeTime
) -> None:
    for chat in range(1, 61):
        telegram.send(chat, "digest")
    # 60 messages at 30/s take two seconds, not a minute
    assert sum(time_.sleeps) == pytest.approx(59 / 30, abs=1e-3)


def test_a_blocked_bot_drops_the_message(
    telegram: Telegram, fake: FakeBotAPI, caplog: pytest.LogCaptureFixture
) -> None:
    fake.fail_next(
        "sendMessage",
        403,
        {"ok": False, "error_code": 403, "description": "Forbidden: bot was blocked by the user"},
    )
    with caplog.at_level(logging.INFO, logger="leoweb_bot.telegram.client"):
        assert telegram.send(42, "hi") == []
    assert "blocked" in caplog.text


def test_other_errors_raise_telegram_error(telegram: Telegram, fake: FakeBotAPI) -> None:
    fake.fail_next(
        "sendMessage",
        400,
        {"ok": False, "error_code": 400, "description": "Bad Request: chat not found"},
    )
    with pytest.raises(TelegramError, match="chat not found") as error:
        telegram.send(42, "hi")
    assert error.value.code == 400
    assert error.value.method == "sendMessage"


# -- editing -------------------------------------------------------------------------------------


def test_edit_replaces_the_text_with_markup(telegram: Telegram, fake: FakeBotAPI) -> None:
    assert telegram.edit(42, 9, "page 2", reply_markup=keyboard()) == [9]
    (_, params), *_ = fake.calls("editMessageText")
    assert (params["chat_id"], params["message_id"], params["text"]) == ("42", "9", "page 2")
    assert "reply_markup" in params


def test_a_long_edit_fills_the_message_and_sends_the_rest(
    telegram: Telegram, fake: FakeBotAPI
) -> None:
    lines = [f"строка {n}" for n in range(1000)]
    ids = telegram.edit(42, 9, "\n".join(lines), reply_markup=keyboard())
    (_, edited), *_ = fake.calls("editMessageText")
    sent = fake.calls("sendMessage")
    assert ids[0] == 9 and len(ids) == 1 + len(sent)
    assert "reply_markup" not in edited
    assert "reply_markup" in sent[-1][1]
    texts = [edited["text"]] + [params["text"] for _, params in sent]
    assert all(len(text) <= 4096 for text in texts)
    assert "\n".join(texts).split("\n") == lines


def test_message_is_not_modified_is_ignored(telegram: Telegram, fake: FakeBotAPI) -> None:
    fake.fail_next(
        "editMessageText",
        400,
        {
            "ok": False,
            "error_code": 400,
            "description": "Bad Request: message is not modified: specified new message content "
            "and reply markup are exactly the same",
        },
    )
    assert telegram.edit(42, 9, "same") == [9]
    assert fake.calls("sendMessage") == []


def test_an_uneditable_message_falls_back_to_send(telegram: Telegram, fake: FakeBotAPI) -> None:
    fake.fail_next(
        "editMessageText",
        400,
        {"ok": False, "error_code": 400, "description": "Bad Request: message can't be edited"},
    )
    assert telegram.edit(42, 9, "fresh") == [1]
    assert fake.messages(42) == ["fresh", "fresh"]  # the failed edit, then the send


# -- other methods -------------------------------------------------------------------------------


def test_answer_callback_and_typing(telegram: Telegram, fake: FakeBotAPI) -> None:
    telegram.answer_callback("cb-1", "Готово", alert=True)
    telegram.typing(42)
    (_, answer), *_ = fake.calls("answerCallbackQuery")
    assert answer["callback_query_id"] == "cb-1"
    assert answer["text"] == "Готово"
    assert answer["show_alert"] == "True"
    assert fake.calls("sendChatAction")[0][1]["action"] == "typing"


def test_a_too_old_callback_query_is_not_an_error(telegram: Telegram, fake: FakeBotAPI) -> None:
    fake.fail_next(
        "answerCallbackQuery",
        400,
        {"ok": False, "error_code": 400, "description": "Bad Request: query is too old"},
    )
    telegram.answer_callback("cb-1")


def test_typing_failures_are_ignored(telegram: Telegram, fake: FakeBotAPI) -> None:
    fake.fail_next("sendChatAction", 500, {"ok": False, "error_code": 500, "description": "oops"})
    telegram.typing(42)


def test_webhook_management(telegram: Telegram, fake: FakeBotAPI) -> None:
    assert telegram.webhook_info().url == ""
    telegram.set_webhook("https://bot.example.com/telegram/webhook", "s3cret", ["message"])
    (_, params), *_ = fake.calls("setWebhook")
    assert params["secret_token"] == "s3cret"
    assert json.loads(params["allowed_updates"]) == ["message"]
    info = telegram.webhook_info()
    assert info.url == "https://bot.example.com/telegram/webhook"
    assert info.pending_update_count == 0
    telegram.delete_webhook()
    assert telegram.webhook_info().url == ""


def test_get_me_and_commands(telegram: Telegram, fake: FakeBotAPI) -> None:
    assert telegram.get_me().username == "leoweb_test_bot"
    telegram.set_commands(
        {"default": [("start", "Начать"), ("overdue", "Просрочки")], 777: [("admin", "Админ")]}
    )
    calls = fake.calls("setMyCommands")
    assert [json.loads(p["scope"])["type"] for _, p in calls] == ["default", "chat"]
    assert json.loads(calls[0][1]["commands"])[1] == {
        "command": "overdue",
        "description": "Просрочки",
    }
    assert json.loads(calls[1][1]["scope"])["chat_id"] == 777


def test_get_updates_returns_raw_dicts(telegram: Telegram, fake: FakeBotAPI) -> None:
    fake.push_update({"update_id": 10, "message": {"text": "hi"}})
    fake.push_update({"update_id": 11, "message": {"text": "again"}})
    assert [u["update_id"] for u in telegram.get_updates(None, timeout=1)] == [10, 11]
    assert telegram.get_updates(11, timeout=1) == [{"update_id": 11, "message": {"text": "again"}}]


def test_build_telegram_uses_the_configured_api_url(fake: FakeBotAPI) -> None:
    settings = settings_from_mapping({"telegram": {"token": TOKEN, "api_url": fake.url + "/"}})
    assert build_telegram(settings).get_me().username == "leoweb_test_bot"
    assert "***" in repr(build_telegram(settings))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# -- secrets -------------------------------------------------------------------------------------


def test_the_token_never_reaches_logs_or_errors(
    fake: FakeBotAPI, time_: FakeTime, caplog: pytest.LogCaptureFixture
) -> None:
    telegram = Telegram(TOKEN, fake.url, clock=time_.clock, sleep=time_.sleep)
    flood = {"ok": False, "error_code": 429, "description": "x", "parameters": {"retry_after": 1}}
    errors: list[str] = []
    with caplog.at_level(logging.DEBUG):
        fake.fail_next("sendMessage", 429, flood)
        telegram.send(42, "hi")
        telegram.edit(42, 1, "x" * 5000)
        fake.fail_next("editMessageText", 502, {"ok": False, "error_code": 502, "description": "-"})
        with pytest.raises(TelegramError) as error:
            telegram.edit(42, 1, "y")
        errors.append(str(error.value))
        # connection refused: requests' own message quotes the URL
        dead = Telegram(TOKEN, f"http://127.0.0.1:{free_port()}", sleep=time_.sleep)
        with pytest.raises(TelegramError) as refused:
            dead.send(42, "nobody listens")
        errors.append(str(refused.value))
    # urllib3 logs full request URLs at DEBUG; the lead's logs.py redacts them on the handler.
    ours = [r for r in caplog.records if not r.name.startswith("urllib3")]
    assert ours, "expected some DEBUG records"
    secret_part = TOKEN.split(":")[1]
    for record in ours:
        assert secret_part not in record.getMessage(), record.name
    for message in errors:
        assert secret_part not in message
    assert refused.value.__cause__ is None and refused.value.__suppress_context__
