"""Button presses through the real stack: drill-down, paging, ✅, and forged or stale data."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.botchat import DIRECTOR
from tests.botchat import GROUP
from tests.botchat import MANAGER
from tests.botchat import MILANA
from tests.botchat import OTHER_MANAGER
from tests.botchat import STRANGER
from tests.botchat import ZELIMKHAN
from tests.botchat import BotChat
from tests.botchat import Sent
from tests.botchat import bot_chat
from tests.botchat import final
from tests.botchat import overdue_tasks_of


@pytest.fixture
def chat(tmp_path: Path) -> Iterator[BotChat]:
    with bot_chat(tmp_path, tasks=600) as chat:
        yield chat


def busiest_manager(chat: BotChat) -> int:
    ids = [u["id"] for u in chat.sandbox.data.users]
    return max(ids, key=lambda i: len(overdue_tasks_of(chat.sandbox, i)))


def button(sent: Sent, label_or_data: str) -> str:
    return next(data for label, data in sent.buttons if label_or_data in (label, data))


# -- drill-down -------------------------------------------------------------------------------


def test_director_drills_down_pages_and_goes_back(chat: BotChat) -> None:
    summary = final(chat.say(DIRECTOR, "/report"))
    manager = busiest_manager(chat)
    late = overdue_tasks_of(chat.sandbox, manager)
    pages = (len(late) + 9) // 10
    assert pages >= 3

    first = final(chat.press(DIRECTOR, f"rm:{manager}:0", summary))
    assert first.method == "editMessageText" and first.message_id == summary.message_id
    assert f"Стр. 1 из {pages}" in first.text
    assert len(re.findall(r"^\d+\. ", first.text, re.M)) == 10
    assert "/leads/detail/" in first.text or "/contacts/detail/" in first.text
    assert [d for _, d in first.buttons] == [f"rm:{manager}:1", f"rm:{manager}:0", "rr"]

    second = final(chat.press(DIRECTOR, button(first, "▶"), first))
    assert f"Стр. 2 из {pages}" in second.text and second.text.count("\n11. ") == 1
    assert [label for label, _ in second.buttons] == ["◀", "▶", "🔄 Обновить", "⬆ Ко всем"]

    last = final(chat.press(DIRECTOR, f"rm:{manager}:{pages - 1}", second))
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
    refreshed = final(chat.press(DIRECTOR, "rr", summary))
    assert "Зелимхан —" in summary.text and "Зелимхан —" not in refreshed.text
    assert "Зелимхан" in refreshed.text.splitlines()[-1]  # now among the clean ones
    assert chat.answers()[-1] == {"callback_query_id": chat.answers()[-1]["callback_query_id"],
                                  "show_alert": "False"}  # fmt: skip


def test_page_beyond_the_end_shows_the_last_page(chat: BotChat) -> None:
    summary = final(chat.say(DIRECTOR, "/report"))
    shown = final(chat.press(DIRECTOR, f"rm:{MILANA}:999", summary))
    assert shown.text.startswith("<b>Милана</b>")


def test_manager_pages_through_their_own_list(chat: BotChat) -> None:
    own = final(chat.say(MANAGER, "/report"))
    refreshed = final(chat.press(MANAGER, f"rm:{ZELIMKHAN}:0", own))
    assert refreshed.text.startswith("<b>Зелимхан</b>")
    assert "⬆ Ко всем" not in [label for label, _ in refreshed.buttons]


# -- refused and malformed presses ------------------------------------------------------------


def test_forged_button_for_another_managers_tasks_is_refused_and_answered(chat: BotChat) -> None:
    own = final(chat.say(MANAGER, "/report"))
    requests = chat.sandbox.request_count
    sent = chat.press(MANAGER, f"rm:{MILANA}:0", own)
    assert sent == []
    answer = chat.answers()[-1]
    assert answer["text"] == "⛔ Нет доступа" and answer["show_alert"] == "True"
    assert chat.sandbox.request_count == requests
    assert all("Милана" not in text for text in chat.fake.messages())


@pytest.mark.parametrize("data", ["rr", f"mt:{ZELIMKHAN}", "ld:21000001", "td:5000001"])
def test_stranger_pressing_any_button_is_refused_with_their_id(chat: BotChat, data: str) -> None:
    summary = final(chat.say(DIRECTOR, "/report", chat=GROUP, chat_type="group"))
    requests = chat.sandbox.request_count
    assert chat.press(STRANGER, data, summary) == []
    answer = chat.answers()[-1]
    assert answer["text"].startswith("⛔ Нет доступа. Ваш Telegram id: 999")
    assert chat.sandbox.request_count == requests


def test_manager_cannot_refresh_someone_elses_task_list(chat: BotChat) -> None:
    mine = final(chat.say(MANAGER, "/mytasks"))
    assert chat.press(OTHER_MANAGER, f"mt:{ZELIMKHAN}", mine) == []
    assert chat.answers()[-1]["text"] == "⛔ Нет доступа"


@pytest.mark.parametrize("data", ["rm", "rm:abc:0", "rm:1:", "td:-5", "zz:1", "", "ld:1e3"])
def test_malformed_data_is_answered_and_ignored(chat: BotChat, data: str) -> None:
    summary = final(chat.say(DIRECTOR, "/report"))
    requests = chat.sandbox.request_count
    assert chat.press(DIRECTOR, data, summary) == []
    assert chat.answers()[-1]["text"] == "Кнопка устарела — отправьте команду заново"
    assert chat.sandbox.request_count == requests


def test_amocrm_failure_during_a_press_is_shown_and_the_press_answered(chat: BotChat) -> None:
    summary = final(chat.say(DIRECTOR, "/report"))
    chat.sandbox.inject(503, count=20)
    sent = chat.press(DIRECTOR, f"rm:{MILANA}:0", summary)
    assert [s.text for s in sent] == ["amoCRM не отвечает, попробуйте через минуту."]
    assert sent[0].method == "sendMessage"  # the report stays in place
    assert len(chat.answers()) == 1


# -- ✅ and lead buttons -----------------------------------------------------------------------


def test_done_button_closes_the_task_audits_and_refreshes_the_list(chat: BotChat) -> None:
    mine = final(chat.say(MANAGER, "/mytasks"))
    data = button(mine, "✅ 1")
    task_id = int(data.split(":")[1])
    refreshed = final(chat.press(MANAGER, data, mine))
    assert chat.task(task_id)["is_completed"] is True
    assert chat.task(task_id)["result"] == {"text": "Выполнено через Telegram"}
    assert chat.answers()[-1]["text"] == "✅ Задача закрыта"
    assert refreshed.message_id == mine.message_id
    assert f"td:{task_id}" not in [d for _, d in refreshed.buttons]
    (row,) = chat.state.audit_rows(5)
    assert (row.telegram_user_id, row.action) == (MANAGER, "complete_task")
    # pressing the stale ✅ again changes nothing
    chat.press(MANAGER, data, mine)
    assert chat.answers()[-1]["text"] == "Задача уже закрыта"
    assert len(chat.state.audit_rows(5)) == 1


def test_done_button_for_another_managers_task_is_refused(chat: BotChat) -> None:
    mine = final(chat.say(MANAGER, "/mytasks"))
    data = button(mine, "✅ 1")
    assert chat.press(OTHER_MANAGER, data, mine) == []
    assert chat.answers()[-1]["text"] == "⛔ Нет доступа"
    assert chat.task(int(data[3:]))["is_completed"] is False


def test_lead_button_sends_the_card_and_keeps_the_list(chat: BotChat) -> None:
    choice = final(chat.say(MANAGER, "/lead Чехии"))
    data = choice.buttons[1][1]
    (card,) = chat.press(MANAGER, data, choice)
    assert card.method == "sendMessage"
    assert f"· сделка #{data[3:]}" in card.text
    assert len(chat.answers()) == 1
