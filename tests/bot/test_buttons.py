"""Button presses through the real stack: drill-down, paging, ✅, and forged or stale data."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from leoweb_bot.bot.closing import RESULT_WAIT
from leoweb_bot.bot.closing import Awaiting
from leoweb_bot.bot.closing import await_result
from leoweb_bot.bot.closing import awaited_result
from leoweb_bot.bot.closing import forget_result
from leoweb_bot.bot.codec import VERSION
from leoweb_bot.bot.codec import AskClose
from leoweb_bot.bot.codec import Button
from leoweb_bot.bot.codec import CancelClose
from leoweb_bot.bot.codec import Close
from leoweb_bot.bot.codec import CloseWithResult
from leoweb_bot.bot.codec import LeadCard
from leoweb_bot.bot.codec import ManagerPage
from leoweb_bot.bot.codec import MyTasksPage
from leoweb_bot.bot.codec import Refresh
from leoweb_bot.bot.codec import ReportSummary
from leoweb_bot.bot.codec import decode
from leoweb_bot.bot.codec import encode
from leoweb_bot.state import State
from leoweb_bot.state.audit import audit_rows
from tests.kit.botchat import DIRECTOR
from tests.kit.botchat import GROUP
from tests.kit.botchat import MANAGER
from tests.kit.botchat import MILANA
from tests.kit.botchat import OTHER_MANAGER
from tests.kit.botchat import STRANGER
from tests.kit.botchat import ZELIMKHAN
from tests.kit.botchat import BotChat
from tests.kit.botchat import Sent
from tests.kit.botchat import bot_chat
from tests.kit.botchat import final
from tests.kit.botchat import overdue_tasks_of


@pytest.fixture
def chat(tmp_path: Path) -> Iterator[BotChat]:
    with bot_chat(tmp_path, tasks=600) as chat:
        yield chat


def busiest_manager(chat: BotChat) -> int:
    ids = [u["id"] for u in chat.sandbox.data.users]
    return max(ids, key=lambda i: len(overdue_tasks_of(chat.sandbox, i)))


def button(sent: Sent, label_or_data: str) -> str:
    return next(data for label, data in sent.buttons if label_or_data in (label, data))


def pressed_on(sent: Sent) -> list[Button]:
    return [decode(data) for _, data in sent.buttons]


def task_of(data: str) -> int:
    pressed = decode(data)
    assert isinstance(pressed, AskClose)
    return pressed.task


SUMMARY = encode(ReportSummary())


# -- drill-down -------------------------------------------------------------------------------


def test_director_drills_down_pages_and_goes_back(chat: BotChat) -> None:
    summary = final(chat.say(DIRECTOR, "/report"))
    manager = busiest_manager(chat)
    late = overdue_tasks_of(chat.sandbox, manager)
    pages = (len(late) + 9) // 10
    assert pages >= 3

    first = final(chat.press(DIRECTOR, encode(ManagerPage(manager, 0)), summary))
    assert first.method == "editMessageText" and first.message_id == summary.message_id
    assert f"Стр. 1 из {pages}" in first.text
    assert len(re.findall(r"^\d+\. ", first.text, re.M)) == 10
    assert "/leads/detail/" in first.text or "/contacts/detail/" in first.text
    pressed = pressed_on(first)
    assert [b for b in pressed if not isinstance(b, AskClose)] == [
        ManagerPage(manager, 1), Refresh(ManagerPage(manager, 0)), ReportSummary()
    ]  # fmt: skip
    assert [b.back for b in pressed if isinstance(b, AskClose)] == [ManagerPage(manager, 0)] * 10

    second = final(chat.press(DIRECTOR, button(first, "▶"), first))
    assert f"Стр. 2 из {pages}" in second.text and second.text.count("\n11. ") == 1
    labels = [label for label, _ in second.buttons]
    assert labels == [f"✅ {n}" for n in range(11, 21)] + ["◀", "▶", "🔄 Обновить", "⬆ Ко всем"]

    last = final(chat.press(DIRECTOR, encode(ManagerPage(manager, pages - 1)), second))
    assert f"Стр. {pages} из {pages}" in last.text
    assert "▶" not in [label for label, _ in last.buttons]

    back = final(chat.press(DIRECTOR, button(last, "⬆ Ко всем"), last))
    assert back.text.startswith("<b>Просроченные задачи</b>")
    assert len(chat.answers()) == 4


def test_refresh_re_reads_amocrm(chat: BotChat) -> None:
    summary = final(chat.say(DIRECTOR, "/report"))
    for task in chat.sandbox.data.tasks:
        if task["responsible_user_id"] == ZELIMKHAN:
            task["is_completed"] = True
    refreshed = final(chat.press(DIRECTOR, SUMMARY, summary))
    assert "Зелимхан —" in summary.text and "Зелимхан —" not in refreshed.text
    assert "Зелимхан" in refreshed.text.splitlines()[-1]  # now among the clean ones
    assert chat.answers()[-1] == {"callback_query_id": chat.answers()[-1]["callback_query_id"],
                                  "show_alert": "False"}  # fmt: skip


def test_page_beyond_the_end_shows_the_last_page(chat: BotChat) -> None:
    summary = final(chat.say(DIRECTOR, "/report"))
    shown = final(chat.press(DIRECTOR, encode(ManagerPage(MILANA, 999)), summary))
    assert shown.text.startswith("<b>Милана</b>")


def test_manager_pages_through_their_own_list(chat: BotChat) -> None:
    own = final(chat.say(MANAGER, "/report"))
    refreshed = final(chat.press(MANAGER, encode(ManagerPage(ZELIMKHAN, 0)), own))
    assert refreshed.text.startswith("<b>Зелимхан</b>")
    assert "⬆ Ко всем" not in [label for label, _ in refreshed.buttons]


# -- refused and malformed presses ------------------------------------------------------------


def test_forged_button_for_another_managers_tasks_is_refused_and_answered(chat: BotChat) -> None:
    own = final(chat.say(MANAGER, "/report"))
    requests = chat.sandbox.request_count
    sent = chat.press(MANAGER, encode(ManagerPage(MILANA, 0)), own)
    assert sent == []
    answer = chat.answers()[-1]
    assert answer["text"] == "⛔ Нет доступа" and answer["show_alert"] == "True"
    assert chat.sandbox.request_count == requests
    assert all("Милана" not in text for text in chat.fake.messages())


@pytest.mark.parametrize(
    "pressed",
    [ReportSummary(), MyTasksPage(ZELIMKHAN, 0), LeadCard(21000001), AskClose(5000001)],
)
def test_stranger_pressing_any_button_is_refused_with_their_id(
    chat: BotChat, pressed: Button
) -> None:
    summary = final(chat.say(DIRECTOR, "/report", chat=GROUP, chat_type="group"))
    requests = chat.sandbox.request_count
    assert chat.press(STRANGER, encode(pressed), summary) == []
    answer = chat.answers()[-1]
    assert answer["text"].startswith("⛔ Нет доступа. Ваш Telegram id: 999")
    assert chat.sandbox.request_count == requests


def test_manager_cannot_refresh_someone_elses_task_list(chat: BotChat) -> None:
    mine = final(chat.say(MANAGER, "/mytasks"))
    assert chat.press(OTHER_MANAGER, encode(MyTasksPage(ZELIMKHAN, 0)), mine) == []
    assert chat.answers()[-1]["text"] == "⛔ Нет доступа"


LAST_RELEASE = ["rr", f"rm:{MILANA}:0", f"td:5000001:mt:{ZELIMKHAN}:0"]  # no version
OTHER_VERSIONS = ["v2:rr", "1:rr", "V1:rr", ":rr"]
MALFORMED = ["", "rm", "rm:abc:0", "rm:1:", "td:-5", "zz:1", "ld:1e3", "rr:1", "td:1:rr",
             "tx:ld:1", f"td:1:rm:{MILANA}:0:9"]  # fmt: skip


@pytest.mark.parametrize(
    "data", [*LAST_RELEASE, *OTHER_VERSIONS, *(f"{VERSION}:{data}" for data in MALFORMED)]
)
def test_old_forged_or_malformed_data_is_answered_as_outdated(chat: BotChat, data: str) -> None:
    summary = final(chat.say(DIRECTOR, "/report"))
    requests = chat.sandbox.request_count
    assert chat.press(DIRECTOR, data, summary) == []
    assert chat.answers()[-1]["text"] == "Кнопка устарела — отправьте команду заново"
    assert chat.sandbox.request_count == requests


def test_amocrm_failure_during_a_press_is_shown_and_the_press_answered(chat: BotChat) -> None:
    summary = final(chat.say(DIRECTOR, "/report"))
    chat.sandbox.inject(503, count=20)
    sent = chat.press(DIRECTOR, encode(ManagerPage(MILANA, 0)), summary)
    assert [s.text for s in sent] == ["amoCRM не отвечает, попробуйте через минуту."]
    assert sent[0].method == "sendMessage"  # the report stays in place
    assert len(chat.answers()) == 1


# -- ✅ and lead buttons -----------------------------------------------------------------------


def test_done_button_asks_naming_the_task_then_closes_it_and_shows_the_list(chat: BotChat) -> None:
    mine = final(chat.say(MANAGER, "/mytasks"))
    data = button(mine, "✅ 1")
    task_id = task_of(data)
    text = chat.task(task_id)["text"]
    question = final(chat.press(MANAGER, data, mine))
    assert question.message_id == mine.message_id  # the list turns into the question
    assert question.text.startswith(f"<b>Закрыть задачу?</b>\n{text}\nсрок ")
    assert question.text.endswith(f" · <code>#{task_id}</code>")
    mytasks = MyTasksPage(ZELIMKHAN, 0)
    assert question.buttons == [
        ("✅ Закрыть", encode(Close(task_id, mytasks))),
        ("✍️ Закрыть с результатом…", encode(CloseWithResult(task_id, mytasks))),
        ("✖ Отмена", encode(CancelClose(mytasks))),
    ]
    assert chat.task(task_id)["is_completed"] is False

    refreshed = final(chat.press(MANAGER, button(question, "✅ Закрыть"), question))
    assert chat.task(task_id)["is_completed"] is True
    assert chat.task(task_id)["result"] == {"text": "Выполнено через Telegram"}
    assert chat.answers()[-1]["text"] == f"✅ Закрыта задача «{text}»"
    assert refreshed.message_id == mine.message_id
    assert refreshed.text.startswith("<b>Ваши задачи</b>")
    assert task_id not in [b.task for b in pressed_on(refreshed) if isinstance(b, AskClose)]
    (row,) = audit_rows(chat.state, 5)
    assert (row.telegram_user_id, row.action) == (MANAGER, "complete_task")
    # the stale ✅ and the stale "Закрыть" change nothing and say so, naming the task
    chat.press(MANAGER, data, mine)
    assert chat.answers()[-1]["text"] == f"Задача «{text}» уже закрыта"
    chat.press(MANAGER, button(question, "✅ Закрыть"), question)
    assert chat.answers()[-1]["text"] == f"Задача «{text}» уже закрыта"
    assert len(audit_rows(chat.state, 5)) == 1


def test_cancel_goes_back_to_the_list_and_closes_nothing(chat: BotChat) -> None:
    mine = final(chat.say(MANAGER, "/mytasks"))
    data = button(mine, "✅ 2")
    question = final(chat.press(MANAGER, data, mine))
    back = final(chat.press(MANAGER, button(question, "✖ Отмена"), question))
    assert back.message_id == mine.message_id and back.text.startswith("<b>Ваши задачи</b>")
    assert chat.task(task_of(data))["is_completed"] is False
    assert audit_rows(chat.state, 5) == []


def test_director_closes_a_task_from_the_drill_down(chat: BotChat) -> None:
    summary = final(chat.say(DIRECTOR, "/report"))
    page = final(chat.press(DIRECTOR, encode(ManagerPage(MILANA, 0)), summary))
    data = button(page, "✅ 1")
    task_id = task_of(data)
    assert chat.task(task_id)["responsible_user_id"] == MILANA
    question = final(chat.press(DIRECTOR, data, page))
    back = final(chat.press(DIRECTOR, button(question, "✅ Закрыть"), question))
    assert chat.task(task_id)["is_completed"] is True
    assert back.text.startswith("<b>Милана</b>") and ("⬆ Ко всем", SUMMARY) in back.buttons
    assert f"#{task_id}<" not in back.text


def ask_for_result(chat: BotChat, user: int, listed: Sent) -> tuple[int, Sent]:
    data = button(listed, "✅ 1")
    question = final(chat.press(user, data, listed))
    prompt = final(chat.press(user, button(question, "✍️ Закрыть с результатом…"), question))
    return task_of(data), prompt


def test_close_with_a_typed_result(chat: BotChat) -> None:
    mine = final(chat.say(MANAGER, "/mytasks"))
    task_id, prompt = ask_for_result(chat, MANAGER, mine)
    text = chat.task(task_id)["text"]
    assert prompt.message_id == mine.message_id
    assert prompt.text.startswith(f"✍️ Напишите результат задачи «{text}» следующим сообщением")
    assert prompt.buttons == [("✖ Отмена", encode(CancelClose(MyTasksPage(ZELIMKHAN, 0))))]
    assert chat.task(task_id)["is_completed"] is False

    sent = chat.say(MANAGER, "Договорились <на> среду & пятницу")
    assert chat.task(task_id)["result"] == {"text": "Договорились <на> среду & пятницу"}
    assert sent[0].method == "sendMessage" and sent[0].text == (
        f"✅ Задача «{text}» (#{task_id}) закрыта с результатом "
        "«Договорились &lt;на&gt; среду &amp; пятницу»."
    )
    assert (sent[-1].method, sent[-1].message_id) == ("editMessageText", mine.message_id)
    assert sent[-1].text.startswith("<b>Ваши задачи</b>")
    # the wait is over: the next text is just text
    assert [s.text for s in chat.say(MANAGER, "ещё")] == ["Не понял. Список команд — /help"]


def test_a_command_or_cancel_ends_the_wait_for_a_result(chat: BotChat) -> None:
    mine = final(chat.say(MANAGER, "/mytasks"))
    task_id, prompt = ask_for_result(chat, MANAGER, mine)
    chat.say(MANAGER, "/whoami")
    chat.say(MANAGER, "привет")
    assert chat.task(task_id)["is_completed"] is False

    mine = final(chat.say(MANAGER, "/mytasks"))
    task_id, prompt = ask_for_result(chat, MANAGER, mine)
    back = final(chat.press(MANAGER, button(prompt, "✖ Отмена"), prompt))
    assert back.text.startswith("<b>Ваши задачи</b>")
    chat.say(MANAGER, "привет")
    assert chat.task(task_id)["is_completed"] is False


def test_in_a_group_the_result_is_a_reply_to_the_question(chat: BotChat) -> None:
    summary = final(chat.say(DIRECTOR, "/report", chat=GROUP, chat_type="group"))
    page = final(chat.press(DIRECTOR, encode(ManagerPage(MILANA, 0)), summary))
    task_id, prompt = ask_for_result(chat, DIRECTOR, page)
    assert chat.say(DIRECTOR, "болтовня", chat=GROUP, chat_type="group") == []
    assert chat.say(MANAGER, "чужой ответ", chat=GROUP, chat_type="group",
                    reply_to=prompt.message_id) == []  # fmt: skip
    assert chat.task(task_id)["is_completed"] is False
    chat.say(DIRECTOR, "Перезвонил", chat=GROUP, chat_type="group", reply_to=prompt.message_id)
    assert chat.task(task_id)["result"] == {"text": "Перезвонил"}


def test_done_button_for_another_managers_task_is_refused(chat: BotChat) -> None:
    mine = final(chat.say(MANAGER, "/mytasks"))
    data = button(mine, "✅ 1")
    task_id = task_of(data)
    forgeries = (Close(task_id), CloseWithResult(task_id, MyTasksPage(ZELIMKHAN, 0)))
    for forged in (data, *map(encode, forgeries)):
        assert chat.press(OTHER_MANAGER, forged, mine) == []
        assert chat.answers()[-1]["text"] == "⛔ Нет доступа"
    assert [s.text for s in chat.say(OTHER_MANAGER, "готово")] == [
        "Не понял. Список команд — /help"
    ]
    assert chat.task(task_id)["is_completed"] is False
    assert all(chat.task(task_id)["text"] not in m for m in chat.fake.messages(OTHER_MANAGER))


def test_lead_button_sends_the_card_and_keeps_the_list(chat: BotChat) -> None:
    choice = final(chat.say(MANAGER, "/lead Чехии"))
    data = choice.buttons[1][1]
    (card,) = chat.press(MANAGER, data, choice)
    assert card.method == "sendMessage"
    pressed = decode(data)
    assert isinstance(pressed, LeadCard) and f"· сделка #{pressed.lead}" in card.text
    assert len(chat.answers()) == 1


def test_the_wait_for_a_result_is_per_chat_and_person_and_ends_in_time(tmp_path: Path) -> None:
    state = State(tmp_path / "state.sqlite3")
    listed_as = encode(MyTasksPage(ZELIMKHAN, 0))
    waiting = Awaiting(task_id=5000001, listed_as=listed_as, message_id=7, since=1000)
    await_result(state, MANAGER, MANAGER, waiting)
    assert awaited_result(State(state.path), MANAGER, MANAGER, 1000 + RESULT_WAIT) == waiting
    assert awaited_result(state, MANAGER, MANAGER, 1000 + RESULT_WAIT + 1) is None
    assert awaited_result(state, MANAGER, OTHER_MANAGER, 1000) is None
    assert awaited_result(state, GROUP, MANAGER, 1000) is None
    forget_result(state, MANAGER, MANAGER)
    assert awaited_result(state, MANAGER, MANAGER, 1000) is None
    state.close()
