"""Reading updates tolerantly: real updates from Telegram's docs and teloxide's test suite."""

from __future__ import annotations

from typing import Any

import pytest

from leoweb_bot.telegram.updates import Callback
from leoweb_bot.telegram.updates import CommandText
from leoweb_bot.telegram.updates import Message
from leoweb_bot.telegram.updates import Sender
from leoweb_bot.telegram.updates import read_update
from tests.kit import updates as real


def test_a_docs_update_without_is_bot_or_chat_type_is_read() -> None:
    assert read_update(real.DOCS_START_WITHOUT_CHAT_TYPE) == Message(
        chat_id=1111111,
        chat_type="",
        sender=Sender(1111111, "Test", "Test Lastname", "Test"),
        text="/start",
    )
    message = read_update(real.DOCS_START)
    assert isinstance(message, Message) and message.private


@pytest.mark.parametrize("update", [real.DOCS_FORWARDED, real.DOCS_FORWARDED_FROM_CHANNEL])
def test_a_forwarded_message_is_read_as_its_forwarders(update: dict[str, Any]) -> None:
    message = read_update(update)
    assert isinstance(message, Message)
    assert (message.sender, message.text) == (
        Sender(1111111, "Test Firstname", "Test Lastname", "Testusername"),
        "/start",
    )


def test_a_reply_names_the_message_it_replies_to() -> None:
    message = read_update(real.DOCS_REPLY)
    assert isinstance(message, Message) and message.reply_to == 1334


def test_a_text_with_entities_is_plain_text() -> None:
    message = read_update(real.DOCS_ENTITIES)
    assert isinstance(message, Message) and message.command is None
    assert message.text == "Bold and italics"


def test_a_group_command_in_a_thread_replying_to_a_story() -> None:
    message = read_update(real.TELOXIDE_GROUP_REPORT_REPLYING_TO_A_STORY)
    assert message == Message(
        chat_id=-1001293752024,
        chat_type="supergroup",
        sender=Sender(5964236329, "the Cable Guy", "", "spacewhaleblues"),
        text="/report",
        reply_to=134545,
    )
    assert message.command == CommandText("report", None, "")


def test_newer_fields_are_ignored() -> None:
    message = read_update(real.TELOXIDE_PRIVATE_TEXT)
    assert message == Message(
        218485655, "private", Sender(218485655, "Waffle", "", "WaffleLapkin"), "hello there"
    )


def test_a_press_on_an_inline_message_has_no_chat() -> None:
    press = read_update(real.DOCS_CALLBACK_QUERY)
    assert press == Callback(
        id="4382bfdwdsb323b2d9",
        sender=Sender(1111111, "Test Firstname", "Test Lastname", "Testusername"),
        data="Data from button callback",
        chat_id=None,
        message_id=None,
    )


@pytest.mark.parametrize("name", sorted(real.NOT_FOR_THE_BOT))
def test_updates_the_bot_does_not_act_on_read_as_nothing(name: str) -> None:
    assert read_update(real.NOT_FOR_THE_BOT[name]) is None


@pytest.mark.parametrize(
    "update",
    [
        {"update_id": 1},
        {"update_id": 1, "message": "not an object"},
        {"update_id": 1, "message": {"chat": {"id": "12"}, "text": "/start"}},
        {"update_id": 1, "message": {"chat": {"id": 2**70}, "text": "/start"}},
        {"update_id": 1, "message": {"chat": {"id": 5}, "text": 42}},
        {"update_id": 1, "message": {"chat": {"id": 5}, "caption": "/report"}},
        {"update_id": 1, "callback_query": {"id": "c", "data": "x"}},  # nobody pressed
        {"update_id": 1, "callback_query": {"id": 7, "from": {"id": 5}}},  # cannot be answered
    ],
)
def test_broken_updates_read_as_nothing(update: dict[str, Any]) -> None:
    assert read_update(update) is None


def test_a_message_from_a_chat_has_no_sender_and_odd_fields_read_as_empty() -> None:
    update = {"message": {"chat": {"id": -5, "type": 3}, "sender_chat": {"id": -5}, "text": "x",
                          "reply_to_message": {"message_id": "7"}}}  # fmt: skip
    assert read_update(update) == Message(-5, "", None, "x", None)
    press = {"callback_query": {"id": "c", "from": {"id": 5, "first_name": None}}}
    assert read_update(press) == Callback("c", Sender(5, ""), "", None, None)


@pytest.mark.parametrize(
    ("text", "command"),
    [
        ("/report", CommandText("report", None, "")),
        ("/Report@LeoWeb_Bot  Зелимхан ", CommandText("report", "LeoWeb_Bot", "Зелимхан")),
        ("/done 12\nготово", CommandText("done", None, "12\nготово")),
        ("/start@x_bot", CommandText("start", "x_bot", "")),
        ("привет", None),
        ("/", None),
        (" /report", None),
        ("/отчёт", None),
        ("/" + "a" * 33, None),
    ],
)
def test_commands_are_read_once_with_their_target_and_arguments(
    text: str, command: CommandText | None
) -> None:
    assert CommandText.parse(text) == command
