"""Join requests: a stranger's /start asks every director and admin once, the first decision
wins and every card says who decided; floods, repeats and service ids never reach them."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from leoweb_bot.bot.codec import AcceptDirector
from leoweb_bot.bot.codec import AcceptManager
from leoweb_bot.bot.codec import Button
from leoweb_bot.bot.codec import Decline
from leoweb_bot.bot.codec import PickManager
from leoweb_bot.bot.codec import encode
from leoweb_bot.config import SERVICE_ACCOUNTS
from tests.kit.botchat import ADMIN
from tests.kit.botchat import DIRECTOR
from tests.kit.botchat import MANAGER
from tests.kit.botchat import MILANA
from tests.kit.botchat import NOW
from tests.kit.botchat import ZELIMKHAN
from tests.kit.botchat import BotChat
from tests.kit.botchat import Sent
from tests.kit.botchat import bot_chat
from tests.kit.botchat import final
from tests.kit.people import ASKED
from tests.kit.people import DAY
from tests.kit.people import NEWCOMER
from tests.kit.people import commands_of
from tests.kit.people import invite_link
from tests.kit.people import people_audit
from tests.kit.people import to

CARD = "🙋 <b>Просит доступ к боту</b>\nЗелимхан Б. (@zelim), id <code>555</code>\n"
LEADERS = (ADMIN, DIRECTOR)


@pytest.fixture
def chat(tmp_path: Path) -> Iterator[BotChat]:
    with bot_chat(tmp_path) as chat:
        yield chat


def ask(chat: BotChat, user: int = NEWCOMER) -> dict[int, Sent]:
    """The stranger asks; the cards the leaders got, by leader."""
    sent = chat.say(user, "/start", first_name="Зелимхан Б.", username="zelim")
    assert [s.text for s in to(sent, user)] == [ASKED]
    return {s.chat_id: s for s in sent if s.chat_id != user}


def test_every_director_and_admin_gets_one_card(chat: BotChat) -> None:
    before = chat.sandbox.request_count
    cards = ask(chat)
    assert sorted(cards) == sorted(LEADERS)
    for card in cards.values():
        assert card.text == CARD + "Запрос от 25.11.2026 14:05"
        assert [label for label, _ in card.buttons] == ["Менеджер…", "Руководитель", "Отклонить"]
    assert chat.sandbox.request_count == before  # a stranger costs amoCRM nothing
    # asking again: the same request, no new card
    again = chat.say(NEWCOMER, "/start")
    assert [s.text for s in again] == ["Ваш запрос уже у руководителя — ответ придёт сюда."]


def test_accepted_as_a_manager_with_the_suggested_amocrm_user(chat: BotChat) -> None:
    cards = ask(chat)
    card = cards[DIRECTOR]
    users = final(chat.press(DIRECTOR, encode(PickManager(1)), card))
    assert users.message_id == card.message_id
    labels = {data: label for label, data in users.buttons}
    assert labels[encode(AcceptManager(1, ZELIMKHAN))] == "⭐ 🔗 Зелимхан"  # named alike; linked
    assert users.buttons[0][1] == encode(AcceptManager(1, ZELIMKHAN))  # the suggestion first
    assert users.buttons[-1][0] == "✖ Отмена"
    sent = chat.press(DIRECTOR, encode(AcceptManager(1, ZELIMKHAN)), users)
    welcome = to(sent, NEWCOMER)[0].text
    assert welcome.startswith("Здравствуйте, Зелимхан!") and "Ваша роль: менеджер." in welcome
    decided = "✅ Впущен: менеджер (Зелимхан). Решение: id 201"
    assert [s.text for s in to(sent, DIRECTOR)] == [CARD + "Запрос от 25.11.2026 14:05\n" + decided]
    assert [(s.text.endswith(decided), s.buttons) for s in to(sent, ADMIN)] == [(True, [])]
    assert to(sent, ADMIN)[0].message_id == cards[ADMIN].message_id  # the admin's card, edited
    assert "mytasks" in (commands_of(chat, NEWCOMER) or [])
    assert final(chat.say(NEWCOMER, "/mytasks")).text.startswith("<b>Ваши задачи</b>")
    assert people_audit(chat) == [
        (DIRECTOR, "request_decided", {"request": 1, "role": "manager", "telegram_id": NEWCOMER,
                                       "name": "Зелимхан Б.", "amocrm_user_id": ZELIMKHAN}),
    ]  # fmt: skip


def test_accepted_as_a_director(chat: BotChat) -> None:
    cards = ask(chat)
    sent = chat.press(ADMIN, encode(AcceptDirector(1)), cards[ADMIN])
    assert "Ваша роль: руководитель." in to(sent, NEWCOMER)[0].text
    assert to(sent, DIRECTOR)[0].text.endswith("✅ Впущен: руководитель. Решение: id 101")
    assert "funnel" in (commands_of(chat, NEWCOMER) or [])


def test_declined_hears_so_and_may_ask_again_after_a_day(chat: BotChat) -> None:
    cards = ask(chat)
    sent = chat.press(DIRECTOR, encode(Decline(1)), cards[DIRECTOR])
    assert [s.text for s in to(sent, NEWCOMER)] == [
        "Руководитель отклонил ваш запрос на доступ к боту."
    ]
    assert to(sent, ADMIN)[0].text.endswith("✖ Отклонено. Решение: id 201")
    refused = chat.say(NEWCOMER, "/start")
    assert [s.text for s in refused] == [
        "Руководитель отклонил ваш запрос. Спросить снова можно после 26.11.2026 14:05."
    ]
    chat.app.clock = lambda: NOW + DAY + 1
    assert sorted(ask(chat)) == sorted(LEADERS)  # a new request, new cards


def test_the_first_decision_wins_and_the_late_one_is_told(chat: BotChat) -> None:
    cards = ask(chat)
    chat.press(ADMIN, encode(Decline(1)), cards[ADMIN])
    late = chat.press(DIRECTOR, encode(AcceptDirector(1)), cards[DIRECTOR])
    assert chat.answers()[-1]["text"] == "Уже решено: id 101"
    assert late[-1].text.endswith("✖ Отклонено. Решение: id 101")
    assert final(chat.say(NEWCOMER, "/help")).text.startswith("⛔ Нет доступа")


def test_two_directors_deciding_at_once_exactly_one_wins(chat: BotChat) -> None:
    for attempt in range(5):
        user, request = NEWCOMER + attempt, attempt + 1
        cards = ask(chat, user)
        start = threading.Barrier(2)
        presses = [(ADMIN, AcceptDirector(request)), (DIRECTOR, Decline(request))]
        threads = [
            threading.Thread(target=press_at_once, args=(chat, start, who, pressed, cards[who]))
            for who, pressed in presses
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        decisions = [row for row in people_audit(chat) if row[2].get("request") == request]
        assert len(decisions) == 1, decisions
        told = [text for text in chat.fake.messages(user) if "Здравствуйте" in text
                or "отклонил ваш запрос" in text]  # fmt: skip
        assert len(told) == 1, told
        member = chat.state.query("SELECT role FROM members WHERE telegram_id = ?", (user,))
        assert member == ([("director",)] if decisions[0][0] == ADMIN else [])


def press_at_once(
    chat: BotChat, start: threading.Barrier, who: int, pressed: Button, card: Sent
) -> None:
    start.wait()
    chat.press(who, encode(pressed), card)


def test_a_stranger_flood_reaches_the_directors_as_the_cap_at_most(chat: BotChat) -> None:
    cap = chat.app.settings.access.max_open_requests
    turned_away = 0
    for n in range(cap + 15):
        sent = chat.say(10_000 + n, "/start", first_name=f"Бот {n}")
        turned_away += sent[0].text == "Сейчас слишком много запросов на доступ. Попробуйте позже."
    cards = [text for text in chat.fake.messages(DIRECTOR) if text.startswith("🙋")]
    assert len(cards) == cap and turned_away == 15
    # once decided, a place frees up
    chat.app.clock = lambda: NOW + 60
    on = Sent("sendMessage", DIRECTOR, "", 1, None)
    chat.press(DIRECTOR, encode(Decline(1)), on)
    assert chat.say(20_000, "/start")[0].text == ASKED
    # and a request nobody decided lapses after invite_days, so the flood does not block forever
    chat.app.clock = lambda: NOW + 8 * DAY
    assert chat.say(20_001, "/start")[0].text == ASKED


@pytest.mark.parametrize("service", sorted(SERVICE_ACCOUNTS))
def test_service_ids_never_make_a_request_nor_use_a_link(chat: BotChat, service: int) -> None:
    token = invite_link(chat, DIRECTOR, "director")
    for text in ("/start", f"/start {token}"):
        sent = chat.say(service, text)
        assert [s.text for s in sent] == [
            "⛔ Вы пишете от имени группы или канала, и бот не знает, кто вы. "
            "Напишите от своего имени."
        ]
    assert chat.state.query("SELECT COUNT(*) FROM join_requests") == [(0,)]
    assert chat.state.query("SELECT status FROM invites") == [("open",)]


def test_a_stranger_in_a_group_makes_no_request(chat: BotChat) -> None:
    sent = chat.say(NEWCOMER, "/start@leoweb_test_bot", chat=-100500, chat_type="group")
    assert [s.text[:16] for s in sent] == ["⛔ Нет доступа. В"]
    assert chat.state.query("SELECT COUNT(*) FROM join_requests") == [(0,)]


def test_a_manager_cannot_decide_even_with_a_forged_button(chat: BotChat) -> None:
    cards = ask(chat)
    forged = Sent("sendMessage", MANAGER, cards[DIRECTOR].text, 1, None)
    for pressed in (AcceptDirector(1), AcceptManager(1, MILANA), Decline(1), PickManager(1)):
        assert chat.press(MANAGER, encode(pressed), forged) == []
        assert chat.answers()[-1]["text"] == "⛔ Нет доступа"
    assert chat.state.query("SELECT status FROM join_requests") == [("open",)]


def test_open_requests_are_decided_from_people_too(chat: BotChat) -> None:
    cards = ask(chat)
    people = final(chat.say(ADMIN, "/people"))
    assert "<b>Запросы</b>\n• Зелимхан Б. (@zelim), id <code>555</code> — с 25.11.2026 14:05" in (
        people.text
    )
    card = final(
        chat.press(ADMIN, next(d for t, d in people.buttons if t.startswith("🙋")), people)
    )
    assert card.message_id == people.message_id and card.text.startswith("🙋")
    sent = chat.press(ADMIN, encode(AcceptDirector(1)), card)
    edited = {(s.chat_id, s.message_id) for s in sent if s.text.endswith("Решение: id 101")}
    assert edited == {(ADMIN, people.message_id), (ADMIN, cards[ADMIN].message_id),
                      (DIRECTOR, cards[DIRECTOR].message_id)}  # fmt: skip
