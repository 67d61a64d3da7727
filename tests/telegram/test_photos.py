"""sendPhoto: PNG bytes as a multipart upload under an HTML caption, paced and retried like a
text; deleteMessage for the placeholder a photo replaces (docs/telegram.md#photos)."""

from __future__ import annotations

import pytest
from telebot import types

from leoweb_bot.telegram.client import Telegram
from leoweb_bot.telegram.client import TelegramError
from tests.kit.fakebot import FakeBotAPI
from tests.telegram.conftest import TOKEN
from tests.telegram.conftest import FakeTime

# A PNG's signature, then bytes a text encoding would mangle: NUL, CR LF, 0xFF
PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)) * 40


def flood(retry_after: int) -> dict[str, object]:
    return {
        "ok": False,
        "error_code": 429,
        "description": f"Too Many Requests: retry after {retry_after}",
        "parameters": {"retry_after": retry_after},
    }


def test_the_photo_arrives_byte_for_byte_under_an_html_caption_with_its_keyboard(
    telegram: Telegram, fake: FakeBotAPI
) -> None:
    markup = types.InlineKeyboardMarkup()
    markup.add(types.InlineKeyboardButton("📈 За 8 недель", callback_data="v1:ct"))
    assert telegram.send_photo(42, PNG, "<b>Просрочено</b> &amp; всё", markup) == 1
    [photo] = fake.photos()
    assert photo.png == PNG and photo.chat_id == 42 and photo.message_id == 1
    assert photo.caption == "<b>Просрочено</b> &amp; всё" and photo.parse_mode == "HTML"
    assert photo.markup == {
        "inline_keyboard": [[{"text": "📈 За 8 недель", "callback_data": "v1:ct"}]]
    }
    assert fake.tokens == {TOKEN}


def test_a_photo_shares_the_chats_pace_with_its_texts(
    telegram: Telegram, fake: FakeBotAPI, time_: FakeTime
) -> None:
    start = time_.now
    telegram.send(42, "⏳")
    telegram.send_photo(42, PNG)
    assert time_.now - start == pytest.approx(1.0)  # one second apart, as two texts would be
    assert [m.method for m in fake.sent(42)] == ["sendMessage", "sendPhoto"]


def test_after_a_429_the_same_bytes_go_again(
    telegram: Telegram, fake: FakeBotAPI, time_: FakeTime
) -> None:
    fake.fail_next("sendPhoto", 429, flood(7))
    start = time_.now
    assert telegram.send_photo(42, PNG, "график") is not None
    assert len(fake.calls("sendPhoto")) == 2 and time_.now - start >= 7
    assert [p.png for p in fake.photos()] == [PNG]


def test_a_blocked_bot_drops_the_photo_and_other_errors_raise(
    telegram: Telegram, fake: FakeBotAPI
) -> None:
    blocked = {"ok": False, "error_code": 403, "description": "Forbidden: bot was blocked"}
    fake.fail_next("sendPhoto", 403, blocked)
    assert telegram.send_photo(42, PNG) is None
    fake.fail_next("sendPhoto", 400, {"ok": False, "error_code": 400,
                                      "description": "Bad Request: PHOTO_INVALID_DIMENSIONS"})  # fmt: skip
    with pytest.raises(TelegramError, match="PHOTO_INVALID_DIMENSIONS") as error:
        telegram.send_photo(42, PNG)
    assert TOKEN not in str(error.value) and fake.photos() == []


def test_delete_takes_a_message_away_and_a_refusal_is_only_logged(
    telegram: Telegram, fake: FakeBotAPI
) -> None:
    telegram.delete(42, 7)
    assert fake.calls("deleteMessage") == [("deleteMessage", {"chat_id": "42", "message_id": "7"})]
    gone = {"ok": False, "error_code": 400, "description": "Bad Request: message can't be deleted"}
    fake.fail_next("deleteMessage", 400, gone)
    telegram.delete(42, 7)  # no exception: the placeholder just stays
