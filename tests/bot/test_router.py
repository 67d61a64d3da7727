"""Real updates through the router: read tolerantly, answered as before, the rest ignored."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.kit import updates as real
from tests.kit.botchat import DIRECTOR
from tests.kit.botchat import GROUP
from tests.kit.botchat import BotChat
from tests.kit.botchat import bot_chat
from tests.kit.botchat import final

NO_ACCESS = "⛔ Нет доступа. Ваш Telegram id: <code>{}</code>. Попросить доступ — /start в личном чате с ботом."
ASKED = ("Я спросил руководителя — ответ придёт сюда.",)  # the first /start, then the same ask
WAITING = ("Ваш запрос уже у руководителя — ответ придёт сюда.",)


@pytest.fixture(scope="module")
def chat(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BotChat]:
    with bot_chat(tmp_path_factory.mktemp("router")) as chat:
        yield chat


@pytest.mark.parametrize(
    "update",
    [
        real.DOCS_START_WITHOUT_CHAT_TYPE,  # pyTelegramBotAPI: "missing 'is_bot'", every attempt
        real.DOCS_START,
        real.DOCS_FORWARDED,
        real.DOCS_FORWARDED_FROM_CHANNEL,
        real.DOCS_REPLY,
    ],
)
def test_the_docs_examples_without_is_bot_are_answered(chat: BotChat, update: Any) -> None:
    # a stranger's /start in their private chat asks the directors to let them in
    answered = [s.text for s in chat.process(update) if s.chat_id == 1111111]
    assert answered in ([ASKED[0]], [WAITING[0]])


def test_a_group_command_replying_to_a_story_is_answered(chat: BotChat) -> None:
    sent = chat.process(real.TELOXIDE_GROUP_REPORT_REPLYING_TO_A_STORY)
    assert [(s.chat_id, s.text) for s in sent] == [(-1001293752024, NO_ACCESS.format(5964236329))]


@pytest.mark.parametrize("name", sorted(real.NOT_FOR_THE_BOT))
def test_updates_the_bot_does_not_act_on_are_no_error_and_get_no_answer(
    chat: BotChat, name: str
) -> None:
    calls, requests = len(chat.fake.calls()), chat.sandbox.request_count
    assert chat.process(real.NOT_FOR_THE_BOT[name]) == []
    assert (len(chat.fake.calls()), chat.sandbox.request_count) == (calls, requests)


def test_the_bot_removed_from_a_group_is_no_error(chat: BotChat) -> None:
    member = real.TELOXIDE_MY_CHAT_MEMBER["my_chat_member"]
    in_group = {**member, "chat": {"id": GROUP, "title": "Продажи", "type": "supergroup"}}
    assert chat.process({"update_id": 5, "my_chat_member": in_group}) == []


def test_a_press_on_an_inline_message_is_answered_as_outdated(chat: BotChat) -> None:
    assert chat.process(real.DOCS_CALLBACK_QUERY) == []
    answer = chat.answers()[-1]
    assert answer["callback_query_id"] == "4382bfdwdsb323b2d9"
    assert answer["text"] == "Кнопка устарела — отправьте команду заново"


def test_a_director_in_an_old_payload_is_greeted(chat: BotChat) -> None:
    message = {**real.DOCS_START["message"], "from": {"id": DIRECTOR, "first_name": "Алия"},
               "chat": {"id": DIRECTOR, "type": "private"}, "text": "/start"}  # fmt: skip
    greeting = final(chat.process({"update_id": 6, "message": message})).text
    assert greeting.startswith("Здравствуйте, Алия!")
