"""End to end through a real `leoweb-bot serve` (gunicorn, 2 workers): the HTTP face, and
commands and buttons as each role. The rig is tests/kit/stack.py; the last test searches every log
line this module's processes wrote for a secret."""

from __future__ import annotations

import json
import re
import time

import pytest
import requests

from leoweb_bot.bot.codec import LeadCard
from leoweb_bot.bot.codec import ManagerPage
from leoweb_bot.bot.codec import MyTasksPage
from leoweb_bot.bot.codec import OverdueChart
from leoweb_bot.bot.codec import Refresh
from leoweb_bot.bot.codec import ReportSummary
from leoweb_bot.bot.codec import decode
from leoweb_bot.bot.codec import encode
from tests.kit.fakebot import SentMessage
from tests.kit.stack import ADMIN
from tests.kit.stack import DIRECTOR
from tests.kit.stack import GROUP
from tests.kit.stack import MANAGER
from tests.kit.stack import MILANA
from tests.kit.stack import SECOND_ADMIN
from tests.kit.stack import STRANGER
from tests.kit.stack import SUMMARY
from tests.kit.stack import ZELIMKHAN
from tests.kit.stack import Stack
from tests.kit.stack import assert_no_secret_logged
from tests.kit.stack import message_update
from tests.kit.stack import task_of
from tests.kit.stack import user

pytestmark = pytest.mark.e2e


# -- the HTTP face ----------------------------------------------------------------------------


def test_bad_requests_are_4xx_and_never_500(stack: Stack) -> None:
    server = stack.server
    good = message_update(user(STRANGER), STRANGER, "/start")
    assert server.post(good, secret=None) == 403
    assert server.post(good, secret="wrong") == 403
    assert server.post(b"{not json") == 400
    assert server.post(b"[1, 2]") == 400
    assert server.post({"update_id": "7", "message": {}}) == 400
    assert server.post(b"x" * (1024 * 1024 + 1)) == 413
    assert requests.get(f"{server.url}/telegram/webhook", timeout=5).status_code == 405
    assert requests.get(f"{server.url}/nowhere", timeout=5).status_code == 404
    # none of those reached the bot
    assert server.inbox_row(good["update_id"]) == {}
    assert stack.fake.sent(STRANGER) == []


# -- commands and buttons as each role --------------------------------------------------------


def test_a_stranger_gets_their_id_and_nothing_else(stack: Stack) -> None:
    chat = stack.chat(STRANGER)
    no_access = "⛔ Нет доступа. Ваш Telegram id: <code>999</code>"
    for text in ("/report", "/mytasks", "привет"):  # /start asks to join: test_e2e_people.py
        chat.say(text)
        assert chat.expect(no_access).method == "sendMessage"
    # a forged button on a fabricated message: refused in the callback answer, nothing shown
    forged = SentMessage("sendMessage", STRANGER, 1, "", None)
    query = chat.press(forged, encode(ManagerPage(ZELIMKHAN, 0)))
    answer = chat.answer(query)
    assert "Нет доступа" in answer["text"] and answer["show_alert"] == "True"
    assert chat.new_messages() == []


def test_admin_report_drill_down_and_refresh(stack: Stack) -> None:
    chat = stack.chat(ADMIN)
    chat.say("/start")
    greeting = chat.expect("Здравствуйте, Тест!")
    assert "/funnel" in greeting.text and "/amocrm" in greeting.text

    before = int(time.time())
    chat.say("/report")
    summary = chat.expect("<b>Просроченные задачи</b> на ", "(Asia/Almaty)")
    after = int(time.time())
    # from the mirror: at once, no "⏳" to edit (read live, the "⏳" becomes the report:
    # tests/bot/test_commands_tasks.py)
    assert summary.method == "sendMessage" and "🕓 данные на " in summary.text
    total = re.search(r"Всего просрочено: <b>(\d+)</b>", summary.text)
    assert total is not None
    # what amoCRM holds, at some moment while the bot was reading it
    assert stack.overdue(before) <= int(total.group(1)) <= stack.overdue(after)
    refresh = encode(Refresh(ReportSummary()))
    assert summary.data(refresh) == [refresh]  # 🔄: sync first
    query = chat.press(summary, encode(OverdueChart()))  # drawn by a dispatcher thread
    photo = chat.expect("Просрочено задач: ")
    chat.answer(query)
    assert photo.method == "sendPhoto" and stack.fake.photos(ADMIN)[-1].png[:4] == b"\x89PNG"
    counts = {data: label for label, data in summary.buttons}
    zelimkhan = re.fullmatch(r"Зелимхан \((\d+)\)", counts[encode(ManagerPage(ZELIMKHAN, 0))])
    assert zelimkhan is not None

    query = chat.press(summary, encode(ManagerPage(ZELIMKHAN, 0)))
    page = chat.expect(f"<b>Зелимхан</b> — просрочено <b>{zelimkhan.group(1)}</b>")
    assert chat.answer(query).get("show_alert") in (None, "False")
    assert page.message_id == summary.message_id  # drilled down in place
    assert page.data(SUMMARY) == [SUMMARY]  # ⬆ back to everyone

    query = chat.press(page, SUMMARY)
    again = chat.expect("<b>Просроченные задачи</b>")
    chat.answer(query)
    assert again.message_id == summary.message_id

    query = chat.press(again, refresh)
    refreshed = chat.expect("<b>Просроченные задачи</b>")
    chat.answer(query)
    assert refreshed.message_id == summary.message_id


def test_admin_account_commands_and_unknown_input(stack: Stack) -> None:
    chat = stack.chat(SECOND_ADMIN)
    steps = [
        ("/whoami", ["Telegram id: <code>102</code>", "Роль: администратор"]),
        ("/funnel", ["<b>Воронка</b>", "открытых сделок"]),
        ("/amocrm", ["✅ amoCRM на связи", f"Пользователей: {len(stack.data.users)}"]),
        ("/done", ["Формат: /done"]),
        ("/nonsense", ["Не понял. Список команд — /help"]),
        ("просто текст", ["Не понял. Список команд — /help"]),
    ]
    for text, fragments in steps:
        chat.say(text)
        chat.expect(*fragments)


def test_director_reports_a_manager_and_looks_up_leads_and_contacts(stack: Stack) -> None:
    chat = stack.chat(DIRECTOR)
    chat.say("/report Милана")
    page = chat.expect("<b>Милана</b> — просрочено")
    assert page.data(SUMMARY) == [SUMMARY]  # directors get ⬆ back to everyone

    lead = stack.data.leads[0]
    chat.say(f"/lead {lead['id']}")
    chat.expect(f"сделка #{lead['id']}", "Этап:", "Ответственный:")

    chat.say("/lead Мальте")
    choice = chat.expect("Нашлось сделок:")
    leads = [decode(data) for _, data in choice.buttons]
    assert 1 < len(leads) <= 10 and all(isinstance(b, LeadCard) for b in leads)
    query = chat.press(choice, choice.buttons[0][1])
    card = chat.expect(f"сделка #{leads[0].lead}")
    assert card.method == "sendMessage"  # the list stays; the card is a new message
    chat.answer(query)

    contact = stack.data.contacts[0]
    chat.say(f"/contact {contact['name']}")
    chat.expect(f"контакт #{contact['id']}", "Телефон:")


def test_a_manager_sees_and_closes_only_their_own_tasks(stack: Stack) -> None:
    chat = stack.chat(MANAGER)
    chat.say("/help")
    help_text = chat.expect("<b>Команды</b>").text
    assert "/mytasks" in help_text and "/funnel" not in help_text

    chat.say("/report")
    own = chat.expect("<b>Зелимхан</b> — просрочено")
    assert own.data(SUMMARY) == []  # no way up to everyone's report

    chat.say("/funnel")
    chat.expect("Эта команда вам недоступна")

    # a forged button for another manager's list: refused, and nothing of hers is shown
    query = chat.press(own, encode(ManagerPage(MILANA, 0)))
    assert chat.answer(query) == {
        "callback_query_id": query,
        "text": "⛔ Нет доступа",
        "show_alert": "True",  # pyTelegramBotAPI sends str(True)
    }

    milanas = next(
        t for t in stack.data.tasks if t["responsible_user_id"] == MILANA and not t["is_completed"]
    )
    chat.say(f"/done {milanas['id']}")
    chat.expect(f"⛔ Задача {milanas['id']} не ваша")
    assert not any("Милана" in m.text for m in chat.new_messages())

    chat.say("/mytasks")
    tasks = chat.expect("<b>Ваши задачи</b>")
    done_buttons = [data for label, data in tasks.buttons if label.startswith("✅")]
    assert done_buttons and tasks.buttons[-1][1] == encode(Refresh(MyTasksPage(ZELIMKHAN, 0)))  # 🔄
    task_id = task_of(done_buttons[0])
    text = next(t["text"] for t in stack.data.tasks if t["id"] == task_id)
    stack.closed.add(task_id)
    chat.press(tasks, done_buttons[0])
    question = chat.expect("<b>Закрыть задачу?</b>", f"<code>#{task_id}</code>")
    query = chat.press(question, dict(question.buttons)["✅ Закрыть"])
    assert chat.answer(query)["text"] == f"✅ Закрыта задача «{text}»"
    refreshed = chat.expect("<b>Ваши задачи</b>")
    again = [task_of(data) for label, data in refreshed.buttons if label.startswith("✅")]
    assert task_id not in again

    chat.say(f"/done {task_id}")  # the write reached amoCRM: the task is closed there now
    chat.expect(f"Задача «{text}» (#{task_id}) уже закрыта.")
    audit = stack.server.audit()
    assert (MANAGER, "complete_task_denied", json.dumps({"task_id": milanas["id"]})) in audit
    assert (
        MANAGER,
        "complete_task",
        json.dumps({"task_id": task_id, "result": "Выполнено через Telegram"}, ensure_ascii=False),
    ) in audit


def test_group_commands_count_only_when_addressed_to_this_bot(stack: Stack) -> None:
    chat = stack.chat(ADMIN, GROUP)
    chat.say("/report@otherbot")
    chat.say("/whoami@otherbot")
    chat.say("всем привет")
    chat.say("/WhoAmI@LeoWeb_Test_Bot")  # case-insensitive, as Telegram clients send it
    chat.expect("Telegram id: <code>101</code>")
    # updates of one chat are handled in order, so the three before it were ignored
    assert len(chat.fake.sent(GROUP)) == 1

    chat.say("/report@leoweb_test_bot")
    chat.expect("<b>Просроченные задачи</b>")


# -- secrets (keep last: it reads the logs of every test above) ----------------------------------


def test_no_log_line_carries_a_secret(stack: Stack) -> None:
    assert_no_secret_logged(stack)
