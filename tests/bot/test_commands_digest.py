"""The digest commands /subscribe, /unsubscribe and /subscriptions through the real stack."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.kit.botchat import ADMIN
from tests.kit.botchat import DIRECTOR
from tests.kit.botchat import GROUP
from tests.kit.botchat import MANAGER
from tests.kit.botchat import STRANGER
from tests.kit.botchat import BotChat
from tests.kit.botchat import bot_chat
from tests.kit.botchat import final


@pytest.fixture
def chat(tmp_path: Path) -> Iterator[BotChat]:
    with bot_chat(tmp_path) as chat:
        yield chat


# -- daily digest subscriptions ------------------------------------------------------------------

SUBSCRIBED_ALL = (
    "✅ Сводка подключена: просроченные задачи по менеджерам, по будням в {time} (Asia/Almaty).\n"
    "Ближайшая: {next}."
)


@pytest.mark.parametrize(
    ("text", "time", "upcoming"),
    [
        ("/subscribe", "09:00", "26.11.2026 09:00"),  # the default [digest] time, tomorrow
        ("/subscribe 15:30", "15:30", "25.11.2026 15:30"),  # still today
        ("/subscribe 7.05", "07:05", "26.11.2026 07:05"),
    ],
)
def test_subscribe_says_what_comes_and_when(
    chat: BotChat, text: str, time: str, upcoming: str
) -> None:
    answer = final(chat.say(DIRECTOR, text)).text
    assert answer == SUBSCRIBED_ALL.format(time=time, next=upcoming)
    shown = final(chat.say(DIRECTOR, "/subscriptions")).text
    assert shown.startswith(
        f"В этот чат приходит сводка: просроченные задачи по менеджерам, по будням в {time}"
    )
    assert "Кто подключил: вы." in shown


@pytest.mark.parametrize("time", ["25:00", "25:99", "9:60", "٠٩:٠٠", "09:٣٠", "²:00", "завтра"])
def test_subscribe_with_a_bad_time_says_so_and_shows_the_format(chat: BotChat, time: str) -> None:
    assert final(chat.say(MANAGER, f"/subscribe {time}")).text == (
        f"«{time}» — не время суток: от 00:00 до 23:59.\nФормат: /subscribe [ЧЧ:ММ]"
    )
    assert final(chat.say(MANAGER, "/subscriptions")).text.startswith(
        "В этот чат сводка не приходит"
    )


def test_a_manager_subscribes_to_their_own_list_and_unsubscribes(chat: BotChat) -> None:
    assert "ваши просроченные задачи" in final(chat.say(MANAGER, "/subscribe 08:30")).text
    assert final(chat.say(MANAGER, "/unsubscribe")).text == "Сводка в этот чат больше не придёт."
    assert final(chat.say(MANAGER, "/unsubscribe")).text.startswith("В этот чат сводка не приходит")


def test_in_a_group_a_manager_cannot_take_over_the_directors_digest(chat: BotChat) -> None:
    def say(user: int, text: str) -> str:
        return final(chat.say(user, text, chat=GROUP, chat_type="group")).text

    assert say(DIRECTOR, "/subscribe 09:15").startswith("✅ Сводка подключена")
    taken = "⛔ Сводку в этом чате подключил другой пользователь"
    assert say(MANAGER, "/subscribe").startswith(taken)
    assert say(MANAGER, "/unsubscribe").startswith(taken)
    assert "по будням в 09:15" in say(MANAGER, "/subscriptions")
    assert say(ADMIN, "/unsubscribe") == "Сводка в этот чат больше не придёт."


def test_strangers_cannot_subscribe(chat: BotChat) -> None:
    assert final(chat.say(STRANGER, "/subscribe")).text.startswith("⛔ Нет доступа")
    assert chat.state.query("SELECT count(*) FROM subscriptions") == [(0,)]


def test_subscriptions_names_who_set_the_digest_up(chat: BotChat) -> None:
    def say(user: int, text: str) -> str:
        return final(chat.say(user, text, chat=GROUP, chat_type="group")).text

    say(MANAGER, "/subscribe 08:30")
    assert "Кто подключил: вы." in say(MANAGER, "/subscriptions")
    assert "Кто подключил: Зелимхан." in say(DIRECTOR, "/subscriptions")  # the amoCRM name
    say(DIRECTOR, "/subscribe 09:15")
    # A director linked to no amoCRM user: the bot knows only the role and the Telegram id.
    shown = say(MANAGER, "/subscriptions")
    assert f"Кто подключил: руководитель, Telegram id <code>{DIRECTOR}</code>." in shown


def test_a_long_bad_time_is_not_echoed_whole(chat: BotChat) -> None:
    first = final(chat.say(MANAGER, "/subscribe " + "9" * 500)).text.splitlines()[0]
    assert first == f"«{'9' * 39}…» — не время суток: от 00:00 до 23:59."
