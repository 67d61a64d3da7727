"""The terminal stand-in for Telegram: HTML as text, buttons as numbers, edits re-printed."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pytest
from telebot.types import InlineKeyboardButton
from telebot.types import InlineKeyboardMarkup

from leoweb_bot.cli.terminal import ADMIN_ID
from leoweb_bot.cli.terminal import BOLD_OFF
from leoweb_bot.cli.terminal import BOLD_ON
from leoweb_bot.cli.terminal import DIRECTOR_ID
from leoweb_bot.cli.terminal import MANAGER_ID
from leoweb_bot.cli.terminal import TerminalChat
from leoweb_bot.cli.terminal import TerminalTelegram
from leoweb_bot.cli.terminal import html_to_text
from leoweb_bot.cli.terminal import number_buttons
from leoweb_bot.telegram.updates import Callback
from leoweb_bot.telegram.updates import Message
from leoweb_bot.telegram.updates import read_update


def test_bold_is_plain_without_a_terminal() -> None:
    assert html_to_text("<b>Зелимхан</b> — 3") == "Зелимхан — 3"


def test_bold_is_ansi_on_a_terminal_and_nesting_closes_once() -> None:
    text = html_to_text("<b>a <b>b</b> c</b> d", ansi=True)
    assert text == f"{BOLD_ON}a b c{BOLD_OFF} d"


def test_links_show_their_address() -> None:
    html = '<a href="https://x.amocrm.ru/leads/detail/7">сделка</a>'
    assert html_to_text(html) == "сделка (https://x.amocrm.ru/leads/detail/7)"


def test_a_link_whose_text_is_its_address_is_not_doubled() -> None:
    assert html_to_text('<a href="https://a.b">https://a.b</a>') == "https://a.b"


def test_entities_are_unescaped_and_unknown_tags_dropped() -> None:
    html = "&lt;b&gt; &amp; &quot;ООО&quot; <code>#42</code> <tg-spoiler>x</tg-spoiler>"
    assert html_to_text(html) == '<b> & "ООО" #42 x'


def test_buttons_are_numbered_across_rows() -> None:
    markup = InlineKeyboardMarkup(row_width=2)
    markup.add(
        InlineKeyboardButton("Зелимхан (12)", callback_data="rm:1:0"),
        InlineKeyboardButton("Милана (9)", callback_data="rm:2:0"),
        InlineKeyboardButton("Сарбиназ (1)", callback_data="rm:3:0"),
    )
    markup.row(InlineKeyboardButton("🔄", callback_data="rr"))
    lines, choices = number_buttons(markup)
    assert lines == ["[1] Зелимхан (12)  [2] Милана (9)", "[3] Сарбиназ (1)", "[4] 🔄"]
    assert choices[3] == ("🔄", "rr")


def test_url_buttons_are_shown_but_not_numbered() -> None:
    markup = {
        "inline_keyboard": [
            [{"text": "amoCRM", "url": "https://x.amocrm.ru"}, {"text": "ok", "callback_data": "a"}]
        ]
    }
    lines, choices = number_buttons(markup)
    assert lines == ["amoCRM (https://x.amocrm.ru)  [1] ok"]
    assert choices == [("ok", "a")]


def test_a_photo_is_saved_as_a_file_whose_path_is_printed_with_its_caption(tmp_path: Path) -> None:
    out = io.StringIO()
    telegram = TerminalTelegram(out, lang="ru", pictures=tmp_path)
    markup = {"inline_keyboard": [[{"text": "📈 За 8 недель", "callback_data": "v1:ct"}]]}
    telegram.send(5, "⏳ Рисую…")
    message_id = telegram.send_photo(5, b"\x89PNG fake", "Просрочено задач: <b>3</b>", markup)
    telegram.delete(5, 1)  # a printed line stays printed
    path = tmp_path / f"picture-{message_id}.png"
    assert path.read_bytes() == b"\x89PNG fake"
    assert out.getvalue().split("\n")[-6:] == [
        f"── бот #{message_id} ──",
        f"🖼 картинка: {path}",
        "Просрочено задач: 3",
        "[1] 📈 За 8 недель",
        "",
        "",
    ]
    shown = telegram.last_choices(5)
    assert shown is not None and shown.choices == [("📈 За 8 недель", "v1:ct")]


def test_edits_are_reprinted_and_track_the_buttons() -> None:
    out = io.StringIO()
    telegram = TerminalTelegram(out, lang="en")
    markup = {"inline_keyboard": [[{"text": "next", "callback_data": "n"}]]}
    (message_id,) = telegram.send(5, "<b>one</b>", markup)
    shown = telegram.last_choices(5)
    assert shown is not None and shown.choices == [("next", "n")]
    telegram.edit(5, message_id, "two")
    assert f"#{message_id} · edited" in out.getvalue()
    assert out.getvalue().rstrip().endswith("two")
    assert telegram.last_choices(5) is None  # the edit removed the buttons


def test_typed_lines_become_updates_for_the_router() -> None:
    out = io.StringIO()
    telegram = TerminalTelegram(out)
    updates: list[dict[str, Any]] = []
    chat = TerminalChat(updates.append, telegram, "Зелимхан", clock=lambda: 1_700_000_000)
    markup = {
        "inline_keyboard": [
            [{"text": "a", "callback_data": "rm:1:0"}],
            [{"text": "b", "callback_data": "rr"}],
        ]
    }
    (message_id,) = telegram.send(DIRECTOR_ID, "report", markup)

    assert chat.handle("/report Милана")
    assert chat.handle("2")
    assert chat.handle("role manager")
    assert chat.handle("1")  # the manager's chat has no keyboard: nothing is pressed
    assert not chat.handle("/quit")

    message, press = map(read_update, updates)
    assert isinstance(message, Message) and message.text == "/report Милана"
    assert message.sender is not None and message.sender.id == DIRECTOR_ID and message.private
    assert updates[0]["message"]["date"] == 1_700_000_000
    assert updates[0]["message"]["entities"] == [{"type": "bot_command", "offset": 0, "length": 7}]
    assert isinstance(press, Callback) and press.data == "rr" and press.sender.id == DIRECTOR_ID
    assert (press.message_id, press.chat_id) == (message_id, DIRECTOR_ID)
    assert f"Telegram id {MANAGER_ID}" in out.getvalue()


def test_a_number_in_other_digits_is_text_not_a_button() -> None:
    updates: list[dict[str, Any]] = []
    chat = TerminalChat(updates.append, TerminalTelegram(io.StringIO()), "Зелимхан")
    assert chat.handle("²") and chat.handle("٣")
    assert [update["message"]["text"] for update in updates] == ["²", "٣"]


def test_a_toast_is_plain_text_as_in_telegram() -> None:
    out = io.StringIO()
    TerminalTelegram(out).answer_callback("cb1", "✅ Закрыта задача «<b>Рога & Копыта</b>»")
    assert out.getvalue() == "ⓘ ✅ Закрыта задача «<b>Рога & Копыта</b>»\n"


def quiet_chat(lang: str = "ru") -> tuple[TerminalChat, io.StringIO]:
    """A chat whose updates go nowhere: only what the terminal itself prints is seen."""
    out = io.StringIO()
    return TerminalChat(lambda update: None, TerminalTelegram(out, lang=lang), "Зелимхан"), out


@pytest.mark.parametrize(
    ("line", "user_id", "said"),
    [
        ("role менеджер", MANAGER_ID, "Вы — менеджер Зелимхан. Telegram id 2001."),
        ("role manager", MANAGER_ID, "Вы — менеджер Зелимхан. Telegram id 2001."),
        ("role директор", DIRECTOR_ID, "Вы — руководитель. Telegram id 1001."),
        ("role руководитель", DIRECTOR_ID, "Вы — руководитель. Telegram id 1001."),
        ("role Director", DIRECTOR_ID, "Вы — руководитель. Telegram id 1001."),
        ("role админ", ADMIN_ID, "Вы — администратор. Telegram id 3001."),
        ("role администратор", ADMIN_ID, "Вы — администратор. Telegram id 3001."),
        ("role admin", ADMIN_ID, "Вы — администратор. Telegram id 3001."),
        ("роль менеджер", MANAGER_ID, "Вы — менеджер Зелимхан. Telegram id 2001."),
        ("Роль  Админ ", ADMIN_ID, "Вы — администратор. Telegram id 3001."),
    ],
)
def test_roles_are_named_in_russian_or_english(line: str, user_id: int, said: str) -> None:
    chat, out = quiet_chat()
    chat.set_role("manager" if user_id != MANAGER_ID else "director")  # start elsewhere
    out.truncate(0)
    out.seek(0)
    assert chat.handle(line)
    assert chat.user_id == user_id
    assert out.getvalue() == said + "\n"


@pytest.mark.parametrize("line", ["role nobody", "role", "роль стажёр"])
def test_an_unknown_role_lists_the_names_and_changes_nothing(line: str) -> None:
    chat, out = quiet_chat()
    assert chat.handle(line)
    assert chat.user_id == DIRECTOR_ID
    assert out.getvalue() == (
        "(роль: руководитель, менеджер или администратор — или director, manager, admin)\n"
    )


def test_the_admin_introduces_themselves_as_the_admin() -> None:
    chat, _ = quiet_chat("en")
    chat.set_role("admin")
    assert chat.prompt == "admin> "
    assert chat.sender()["first_name"] == "Admin" and chat.sender()["id"] == ADMIN_ID
