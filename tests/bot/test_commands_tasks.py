"""/report, /mytasks and /done through the real stack: sandbox amoCRM ⇄ bot ⇄ fake Bot API."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
import pytz

from leoweb_bot.amocrm.models import Task
from leoweb_bot.bot.codec import AskClose
from leoweb_bot.bot.codec import ManagerPage
from leoweb_bot.bot.codec import MyTasksPage
from leoweb_bot.bot.codec import Refresh
from leoweb_bot.bot.codec import ReportSummary
from leoweb_bot.bot.codec import decode
from leoweb_bot.bot.codec import encode
from leoweb_bot.reports import my_tasks
from leoweb_bot.state.audit import audit_rows
from tests.kit.botchat import ADMIN
from tests.kit.botchat import DIRECTOR
from tests.kit.botchat import MANAGER
from tests.kit.botchat import MILANA
from tests.kit.botchat import NOW
from tests.kit.botchat import ZELIMKHAN
from tests.kit.botchat import BotChat
from tests.kit.botchat import bot_chat
from tests.kit.botchat import final
from tests.kit.botchat import overdue_in
from tests.kit.botchat import overdue_tasks_of
from tests.kit.commandkit import AS_OF
from tests.kit.commandkit import WORKING
from tests.kit.commandkit import open_task_of

ALMATY = pytz.timezone("Asia/Almaty")


@pytest.fixture
def chat(tmp_path: Path) -> Iterator[BotChat]:
    with bot_chat(tmp_path) as chat:
        yield chat


# -- /report ----------------------------------------------------------------------------------


def test_director_report_edits_the_working_message_into_the_summary(chat: BotChat) -> None:
    sent = chat.say(DIRECTOR, "/report")
    assert [s.method for s in sent] == ["sendMessage", "editMessageText"]
    assert sent[0].text == WORKING
    assert sent[1].message_id == sent[0].message_id
    assert chat.fake.calls("sendChatAction")
    text = sent[1].text
    assert text.startswith(f"<b>Просроченные задачи</b> {AS_OF}")
    zelimkhan = overdue_tasks_of(chat.sandbox, ZELIMKHAN)
    assert re.search(rf"\d+\. Зелимхан — <b>{len(zelimkhan)}</b>, самая старая с ", text)
    total = len(overdue_in(chat.sandbox))
    assert f"Всего просрочено: <b>{total}</b>" in text
    buttons = dict((decode(data), label) for label, data in sent[1].buttons)
    assert buttons[ManagerPage(ZELIMKHAN, 0)] == f"Зелимхан ({len(zelimkhan)})"
    assert buttons[Refresh(ReportSummary())] == "🔄 Обновить"


def test_managers_with_nothing_overdue_are_listed_as_clean(chat: BotChat) -> None:
    for task in chat.sandbox.data.tasks:
        if task["responsible_user_id"] == MILANA:
            task["is_completed"] = True
    text = final(chat.say(ADMIN, "/report")).text
    assert text.endswith("Без просрочек: Милана")
    assert "Администратор" not in text


def test_manager_report_shows_only_their_own_line_and_list(chat: BotChat) -> None:
    sent = final(chat.say(MANAGER, "/report"))
    own = overdue_tasks_of(chat.sandbox, ZELIMKHAN)
    assert sent.text.startswith(f"<b>Зелимхан</b> — просрочено <b>{len(own)}</b> {AS_OF}")
    for other in ("Милана", "Сарбиназ", "Всего"):
        assert other not in sent.text
    own = ManagerPage(ZELIMKHAN, 0)
    for pressed in (decode(data) for _, data in sent.buttons):
        assert pressed in (own, Refresh(own), ManagerPage(ZELIMKHAN, 1)) or pressed == AskClose(
            pressed.task, own
        )


def test_manager_cannot_ask_for_another_managers_report(chat: BotChat) -> None:
    assert [s.text for s in chat.say(MANAGER, "/report Милана")] == [
        "Вам доступны только ваши задачи."
    ]


@pytest.mark.parametrize("query", ["милана", "МИЛАН", "1387124", "#1387124"])
def test_director_report_for_one_manager_by_name_or_id(chat: BotChat, query: str) -> None:
    sent = final(chat.say(DIRECTOR, f"/report {query}"))
    assert sent.text.startswith("<b>Милана</b> — ")
    assert ("⬆ Ко всем", encode(ReportSummary())) in sent.buttons


def test_report_for_an_ambiguous_name_lists_the_candidates(chat: BotChat) -> None:
    text = final(chat.say(DIRECTOR, "/report мил")).text
    assert text.splitlines()[0] == "Под «мил» подходят несколько менеджеров."
    assert text.splitlines()[-1] == "Менеджеры: Камила, Милана"


def test_report_for_an_unknown_manager_shows_usage_and_names(chat: BotChat) -> None:
    text = final(chat.say(DIRECTOR, "/report Вася")).text
    assert text.splitlines() == [
        "Менеджер «Вася» не найден.",
        "Формат: /report [менеджер]",
        "Менеджеры: Администратор, Айгерим, Асель, Данияр, Зелимхан, Камила, Милана, Нурлан, "
        "Сарбиназ",
    ]


def test_long_report_is_split_with_buttons_on_the_last_part(tmp_path: Path) -> None:
    with bot_chat(tmp_path, tasks=900, managers=120) as chat:
        managers = [u["id"] for u in chat.sandbox.data.users if not u["rights"]["is_admin"]]
        late = {t.id for t in overdue_in(chat.sandbox)}
        for n, task in enumerate(t for t in chat.sandbox.data.tasks if t["id"] in late):
            task["responsible_user_id"] = managers[n % len(managers)]  # a line for each
        sent = chat.say(DIRECTOR, "/report")
    methods = [s.method for s in sent]
    assert methods[:2] == ["sendMessage", "editMessageText"] and len(methods) >= 3
    assert set(methods[2:]) == {"sendMessage"}
    assert sent[1].message_id == sent[0].message_id
    assert all(len(s.text) <= 4096 for s in sent)
    assert [s.markup is None for s in sent[1:]] == [True] * (len(sent) - 2) + [False]
    assert sent[1].text.startswith("<b>Просроченные задачи</b>")
    assert f"Всего просрочено: <b>{len(late)}</b>" in sent[-1].text
    # 120 managers, 60 buttons: the summary says so instead of leaving 60 names without one
    assert sent[-1].text.endswith("Кнопки — у первых 60; остальные: /report &lt;имя&gt;")
    assert len([d for _, d in sent[-1].buttons if isinstance(decode(d), ManagerPage)]) == 60
    assert ("🔄 Обновить", encode(Refresh(ReportSummary()))) in sent[-1].buttons


# -- /mytasks and /done -----------------------------------------------------------------------


def test_mytasks_lists_overdue_and_today_with_done_buttons(chat: BotChat) -> None:
    sent = final(chat.say(MANAGER, "/mytasks"))
    assert sent.text.startswith(f"<b>Ваши задачи</b> {AS_OF}\nПросрочено: <b>")
    assert "\n\n<b>Просрочены</b>\n1. " in sent.text
    done_buttons = [decode(data) for label, data in sent.buttons if label.startswith("✅")]
    assert done_buttons and {b.back for b in done_buttons} == {MyTasksPage(ZELIMKHAN, 0)}
    assert {chat.task(b.task)["responsible_user_id"] for b in done_buttons} == {ZELIMKHAN}
    assert sent.buttons[-1] == ("🔄 Обновить", encode(Refresh(MyTasksPage(ZELIMKHAN, 0))))


def due_today_of(chat: BotChat, owner: int, more: int) -> set[int]:
    """Give ``owner`` ``more`` open tasks due later today; the ids of all that are due today."""
    spare = [t for t in chat.sandbox.data.tasks if t["responsible_user_id"] != owner]
    for n, task in enumerate(spare[:more]):
        task.update(responsible_user_id=owner, is_completed=False, complete_till=NOW + 600 + n)
    tasks = (Task.from_v4(raw) for raw in chat.sandbox.data.tasks)
    mine = my_tasks((t for t in tasks if t.responsible_user_id == owner), NOW, ALMATY)
    return {t.id for t in mine.today}


def test_mytasks_pages_through_every_task_and_counts_both_kinds(chat: BotChat) -> None:
    """15 tasks used to be shown and the rest sent to /report, which holds no task due today."""
    today = due_today_of(chat, ZELIMKHAN, 25)
    overdue = {t.id for t in overdue_tasks_of(chat.sandbox, ZELIMKHAN)}
    pages = (len(today | overdue) + 9) // 10
    assert len(today) > 25 and pages >= 3
    sent = final(chat.say(MANAGER, "/mytasks"))
    counts = f"Просрочено: <b>{len(overdue)}</b>, на сегодня: <b>{len(today)}</b>"
    assert sent.text.splitlines()[1:3] == [counts, f"Стр. 1 из {pages}"]
    seen: list[int] = []
    for page in range(pages):
        pressed = [decode(data) for _, data in sent.buttons]
        seen += [b.task for b in pressed if isinstance(b, AskClose)]
        headings = re.findall(r"<b>(Просрочены|На сегодня)</b>", sent.text)
        assert headings and len(re.findall(r"^\d+\. ", sent.text, re.M)) <= 10
        if page < pages - 1:
            sent = final(chat.press(MANAGER, encode(MyTasksPage(ZELIMKHAN, page + 1)), sent))
    assert "▶" not in [label for label, _ in sent.buttons]
    assert sorted(seen) == sorted(today | overdue)


def test_task_lines_show_the_id_that_done_takes(chat: BotChat) -> None:
    listed = final(chat.say(MANAGER, "/mytasks")).text
    first_id = int(re.search(r"^1\. .*\n.* · <code>#(\d+)</code>$", listed, re.M).group(1))
    assert chat.task(first_id)["responsible_user_id"] == ZELIMKHAN
    chat.say(MANAGER, f"/done {first_id}")
    assert chat.task(first_id)["is_completed"] is True


def test_mytasks_explains_when_no_amocrm_user_is_linked(chat: BotChat) -> None:
    text = final(chat.say(DIRECTOR, "/mytasks")).text
    assert text.startswith("К вашему Telegram не привязан пользователь amoCRM")


def test_done_closes_own_task_and_writes_the_audit_log(chat: BotChat) -> None:
    task = open_task_of(chat, ZELIMKHAN)
    sent = chat.say(MANAGER, f"/done {task.id} Перезвонил, <договорились> & ок")
    assert final(sent).text == (
        f"✅ Задача «{task.text}» (#{task.id}) закрыта с результатом "
        "«Перезвонил, &lt;договорились&gt; &amp; ок»."
    )
    stored = chat.task(task.id)
    assert stored["is_completed"] is True
    assert stored["result"] == {"text": "Перезвонил, <договорились> & ок"}
    (row,) = audit_rows(chat.state, 10)
    assert (row.telegram_user_id, row.action) == (MANAGER, "complete_task")
    assert json.loads(row.details) == {
        "task_id": task.id,
        "result": "Перезвонил, <договорились> & ок",
    }


def test_done_uses_the_default_result(chat: BotChat) -> None:
    task = open_task_of(chat, MILANA)
    chat.say(DIRECTOR, f"/done {task.id}")
    assert chat.task(task.id)["result"] == {"text": "Выполнено через Telegram"}


def test_done_result_may_start_on_the_next_line(chat: BotChat) -> None:
    task = open_task_of(chat, ZELIMKHAN)
    chat.say(MANAGER, f"/done #{task.id}\nДоговор подписан\nоплата завтра")
    assert chat.task(task.id)["result"] == {"text": "Договор подписан\nоплата завтра"}


def test_done_on_another_managers_task_is_refused(chat: BotChat) -> None:
    task = open_task_of(chat, MILANA)
    text = final(chat.say(MANAGER, f"/done {task.id} готово")).text
    assert text.startswith(f"⛔ Задача {task.id} не ваша")
    assert chat.task(task.id)["is_completed"] is False
    (row,) = audit_rows(chat.state, 10)
    assert row.action == "complete_task_denied"


def test_done_twice_says_already_closed(chat: BotChat) -> None:
    task = open_task_of(chat, ZELIMKHAN)
    chat.say(MANAGER, f"/done {task.id}")
    again = final(chat.say(MANAGER, f"/done {task.id}")).text
    assert again == f"Задача «{task.text}» (#{task.id}) уже закрыта."


@pytest.mark.parametrize("text", ["/done", "/done abc", "/done 12x готово", "/done   "])
def test_done_with_wrong_arguments_shows_usage(chat: BotChat, text: str) -> None:
    assert [s.text for s in chat.say(MANAGER, text)] == [
        "Формат: /done &lt;id задачи&gt; [результат]"
    ]


def test_done_on_a_missing_task_says_not_found(chat: BotChat) -> None:
    text = final(chat.say(DIRECTOR, "/done 999999999")).text
    assert text == "Задачи 999999999 нет в amoCRM: проверьте номер."
