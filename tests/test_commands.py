"""Every command as each role, through the real stack: sandbox amoCRM ⇄ bot ⇄ fake Bot API."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from leoweb_bot.amocrm.models import Task
from tests.botchat import ADMIN
from tests.botchat import DIRECTOR
from tests.botchat import GROUP
from tests.botchat import MANAGER
from tests.botchat import MILANA
from tests.botchat import NOW
from tests.botchat import OTHER_MANAGER
from tests.botchat import STRANGER
from tests.botchat import ZELIMKHAN
from tests.botchat import BotChat
from tests.botchat import bot_chat
from tests.botchat import final
from tests.botchat import overdue_tasks_of

AS_OF = "на 25.11.2026 14:05 (Asia/Almaty)"
WORKING = "⏳ Читаю amoCRM…"


@pytest.fixture
def chat(tmp_path: Path) -> Iterator[BotChat]:
    with bot_chat(tmp_path) as chat:
        yield chat


def open_task_of(chat: BotChat, user_id: int) -> Task:
    raw = next(
        t for t in chat.sandbox.data.tasks
        if t["responsible_user_id"] == user_id and not t["is_completed"]
    )  # fmt: skip
    return Task.from_v4(raw)


# -- access -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text", ["/start", "/help", "/whoami", "/report", "/done 5000001", "/funnel", "привет"]
)
def test_stranger_gets_one_line_with_their_id_and_amocrm_is_not_asked(
    chat: BotChat, text: str
) -> None:
    before = chat.sandbox.request_count
    sent = chat.say(STRANGER, text)
    assert [s.text for s in sent] == [
        "⛔ Нет доступа. Ваш Telegram id: <code>999</code> — отправьте его администратору бота."
    ]
    assert chat.sandbox.request_count == before


@pytest.fixture(scope="module")
def shared_chat(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BotChat]:
    """One bot for read-only checks (nothing here writes to amoCRM)."""
    with bot_chat(tmp_path_factory.mktemp("matrix")) as chat:
        yield chat


EVERY_COMMAND = ["/start", "/help", "/whoami", "/report", "/mytasks", "/done 1", "/lead 1",
                 "/contact Алия", "/funnel", "/amocrm"]  # fmt: skip
REFUSALS = {
    "no_access": "⛔ Нет доступа",
    "not_allowed": "Эта команда вам недоступна",
    "internal": "Что-то пошло не так",
}


@pytest.mark.parametrize("text", EVERY_COMMAND)
@pytest.mark.parametrize("user", [ADMIN, DIRECTOR, MANAGER, STRANGER])
def test_every_command_as_each_role(shared_chat: BotChat, user: int, text: str) -> None:
    requests = shared_chat.sandbox.request_count
    answer = final(shared_chat.say(user, text)).text
    refused = [kind for kind, start in REFUSALS.items() if answer.startswith(start)]
    if user == STRANGER:
        assert refused == ["no_access"]
    elif user == MANAGER and text in ("/funnel", "/amocrm"):
        assert refused == ["not_allowed"]
    else:
        assert refused == [], answer
    if refused:  # refused before amoCRM was asked anything
        assert shared_chat.sandbox.request_count == requests


def test_help_lists_only_the_commands_of_the_role(chat: BotChat) -> None:
    manager = final(chat.say(MANAGER, "/help")).text
    director = final(chat.say(DIRECTOR, "/help")).text
    admin = final(chat.say(ADMIN, "/start")).text
    for command in (
        "/report",
        "/mytasks",
        "/done",
        "/lead",
        "/contact",
        "/whoami",
        "/subscribe",
        "/unsubscribe",
        "/subscriptions",
    ):
        assert command in manager and command in director
    assert "/funnel" not in manager and "/amocrm" not in manager
    assert "/funnel" in director and "/amocrm" in director
    assert admin.startswith("Здравствуйте, Тест!") and "/amocrm" in admin


@pytest.mark.parametrize(
    ("user", "expected"),
    [
        (MANAGER, "Роль: менеджер\nПользователь amoCRM: Зелимхан (#1387123)"),
        (DIRECTOR, "Роль: руководитель\nПользователь amoCRM: не привязан"),
        (ADMIN, "Роль: администратор\nПользователь amoCRM: не привязан"),
    ],
)
def test_whoami(chat: BotChat, user: int, expected: str) -> None:
    text = final(chat.say(user, "/whoami")).text
    assert text == f"Telegram id: <code>{user}</code>\n{expected}"


def test_unknown_command_and_plain_text_get_short_help_in_private(chat: BotChat) -> None:
    assert final(chat.say(MANAGER, "/nonsense")).text == "Не понял. Список команд — /help"
    assert final(chat.say(DIRECTOR, "как дела?")).text == "Не понял. Список команд — /help"


@pytest.mark.parametrize(
    "update",
    [
        {"message": {"message_id": 1, "date": NOW, "chat": {"id": 301, "type": "private"},
                     "from": {"id": 301, "is_bot": False, "first_name": "Т"},
                     "photo": [{"file_id": "x", "file_unique_id": "x", "width": 1, "height": 1}],
                     "caption": "/report"}},
        {"edited_message": {"message_id": 1, "date": NOW, "edit_date": NOW,
                            "chat": {"id": 201, "type": "private"},
                            "from": {"id": 201, "is_bot": False, "first_name": "Т"},
                            "text": "/report"}},
        {"channel_post": {"message_id": 1, "date": NOW, "chat": {"id": -1001, "type": "channel"},
                          "text": "/report"}},
        {"message": {"message_id": 1, "date": NOW, "chat": {"id": -1001, "type": "supergroup"},
                     "sender_chat": {"id": -1001, "type": "supergroup"}, "text": "/report"}},
    ],
)  # fmt: skip
def test_updates_that_are_not_a_users_text_command_are_ignored(
    chat: BotChat, update: dict[str, object]
) -> None:
    assert chat.process({"update_id": 1, **update}) == []


# -- groups -----------------------------------------------------------------------------------


@pytest.mark.parametrize("text", ["/report@leoweb_test_bot", "/REPORT", "/Report@LEOWEB_TEST_BOT"])
def test_group_commands_addressed_to_this_bot_count(chat: BotChat, text: str) -> None:
    sent = chat.say(DIRECTOR, text, chat=GROUP, chat_type="supergroup")
    assert sent[0].text == WORKING
    assert final(sent).text.startswith(f"<b>Просроченные задачи</b> {AS_OF}")
    assert {s.chat_id for s in sent} == {GROUP}


@pytest.mark.parametrize("text", ["/report@otherbot", "/nonsense", "просто текст", "/start@x_bot"])
def test_group_messages_not_meant_for_this_bot_are_ignored(chat: BotChat, text: str) -> None:
    before = chat.sandbox.request_count
    assert chat.say(DIRECTOR, text, chat=GROUP, chat_type="group") == []
    assert chat.sandbox.request_count == before


def test_unknown_command_addressed_to_this_bot_in_a_group_gets_help(chat: BotChat) -> None:
    sent = chat.say(MANAGER, "/nonsense@leoweb_test_bot", chat=GROUP, chat_type="group")
    assert [s.text for s in sent] == ["Не понял. Список команд — /help"]


def test_stranger_in_a_group_gets_the_no_access_line(chat: BotChat) -> None:
    sent = chat.say(STRANGER, "/report@leoweb_test_bot", chat=GROUP, chat_type="group")
    assert [s.text.count("\n") for s in sent] == [0]
    assert "<code>999</code>" in sent[0].text


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
    total = sum(1 for raw in chat.sandbox.data.tasks if Task.from_v4(raw).is_overdue(NOW))
    assert f"Всего просрочено: <b>{total}</b>" in text
    buttons = dict((data, label) for label, data in sent[1].buttons)
    assert buttons[f"rm:{ZELIMKHAN}:0"] == f"Зелимхан ({len(zelimkhan)})"
    assert buttons["rr"] == "🔄 Обновить"
    assert all(len(data.encode()) <= 64 for data in buttons)


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
    assert all(data.startswith(f"rm:{ZELIMKHAN}:") for _, data in sent.buttons)


def test_manager_cannot_ask_for_another_managers_report(chat: BotChat) -> None:
    assert [s.text for s in chat.say(MANAGER, "/report Милана")] == [
        "Вам доступны только ваши задачи."
    ]


@pytest.mark.parametrize("query", ["милана", "МИЛАН", "1387124", "#1387124"])
def test_director_report_for_one_manager_by_name_or_id(chat: BotChat, query: str) -> None:
    sent = final(chat.say(DIRECTOR, f"/report {query}"))
    assert sent.text.startswith("<b>Милана</b> — ")
    assert ("⬆ Ко всем", "rr") in sent.buttons


def test_report_for_an_ambiguous_name_lists_the_candidates(chat: BotChat) -> None:
    text = final(chat.say(DIRECTOR, "/report мил")).text
    assert text.splitlines()[0] == "Под «мил» подходят несколько менеджеров."
    assert text.splitlines()[-1] == "Менеджеры: Милана, Камила"


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
        late = [t for t in chat.sandbox.data.tasks if Task.from_v4(t).is_overdue(NOW)]
        for n, task in enumerate(late):  # every manager gets a line of the summary
            task["responsible_user_id"] = managers[n % len(managers)]
        sent = chat.say(DIRECTOR, "/report")
    methods = [s.method for s in sent]
    assert methods[:2] == ["sendMessage", "editMessageText"] and len(methods) >= 3
    assert set(methods[2:]) == {"sendMessage"}
    assert sent[1].message_id == sent[0].message_id
    assert all(len(s.text) <= 4096 for s in sent)
    assert [s.markup is None for s in sent[1:]] == [True] * (len(sent) - 2) + [False]
    assert sent[1].text.startswith("<b>Просроченные задачи</b>")
    assert f"Всего просрочено: <b>{len(late)}</b>" in sent[-1].text
    assert ("🔄 Обновить", "rr") in sent[-1].buttons


# -- /mytasks and /done -----------------------------------------------------------------------


def test_mytasks_lists_overdue_and_today_with_done_buttons(chat: BotChat) -> None:
    sent = final(chat.say(MANAGER, "/mytasks"))
    assert sent.text.startswith(f"<b>Ваши задачи</b> {AS_OF}\n\n<b>Просрочены</b>\n1. ")
    assert "<b>На сегодня</b>" in sent.text
    done_buttons = [data for label, data in sent.buttons if label.startswith("✅")]
    assert done_buttons and all(re.fullmatch(r"td:\d+", data) for data in done_buttons)
    owners = {chat.task(int(data[3:]))["responsible_user_id"] for data in done_buttons}
    assert owners == {ZELIMKHAN}
    assert sent.buttons[-1] == ("🔄 Обновить", f"mt:{ZELIMKHAN}")


def test_mytasks_explains_when_no_amocrm_user_is_linked(chat: BotChat) -> None:
    text = final(chat.say(DIRECTOR, "/mytasks")).text
    assert text.startswith("К вашему Telegram не привязан пользователь amoCRM")


def test_done_closes_own_task_and_writes_the_audit_log(chat: BotChat) -> None:
    task = open_task_of(chat, ZELIMKHAN)
    sent = chat.say(MANAGER, f"/done {task.id} Перезвонил, <договорились> & ок")
    assert final(sent).text == (
        f"✅ Задача {task.id} закрыта с результатом «Перезвонил, &lt;договорились&gt; &amp; ок»."
    )
    stored = chat.task(task.id)
    assert stored["is_completed"] is True
    assert stored["result"] == {"text": "Перезвонил, <договорились> & ок"}
    (row,) = chat.state.audit_rows(10)
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
    (row,) = chat.state.audit_rows(10)
    assert row.action == "complete_task_denied"


def test_done_twice_says_already_closed(chat: BotChat) -> None:
    task = open_task_of(chat, ZELIMKHAN)
    chat.say(MANAGER, f"/done {task.id}")
    assert final(chat.say(MANAGER, f"/done {task.id}")).text == f"Задача {task.id} уже закрыта."


@pytest.mark.parametrize("text", ["/done", "/done abc", "/done 12x готово", "/done   "])
def test_done_with_wrong_arguments_shows_usage(chat: BotChat, text: str) -> None:
    assert [s.text for s in chat.say(MANAGER, text)] == [
        "Формат: /done &lt;id задачи&gt; [результат]"
    ]


def test_done_on_a_missing_task_says_not_found(chat: BotChat) -> None:
    assert final(chat.say(DIRECTOR, "/done 999999999")).text == "Не найдено."


# -- look-ups ---------------------------------------------------------------------------------


def test_lead_by_id_shows_the_card(chat: BotChat) -> None:
    raw = chat.sandbox.data.leads[0]
    text = final(chat.say(MANAGER, f"/lead {raw['id']}")).text
    assert text.startswith(f"<b>{raw['name']}</b> · сделка #{raw['id']}\nЭтап: ")
    assert "Ответственный: " in text and "Бюджет: " in text
    assert text.endswith(
        f'<a href="{chat.sandbox.base_url}/leads/detail/{raw["id"]}">открыть в amoCRM</a>'
    )


def test_lead_search_with_several_matches_offers_buttons(chat: BotChat) -> None:
    sent = final(chat.say(DIRECTOR, "/lead Чехии"))
    assert sent.text.startswith("Нашлось сделок: ")
    assert 1 < len(sent.buttons) <= 10
    assert all(re.fullmatch(r"ld:\d+", data) for _, data in sent.buttons)


@pytest.mark.parametrize(("text", "reply"), [
    ("/lead", "Формат: /lead &lt;id или текст&gt;"),
    ("/lead 123456789012", "Сделки по запросу «123456789012» не найдены."),
    ("/lead qwertyuiop", "Сделки по запросу «qwertyuiop» не найдены."),
    ("/contact", "Формат: /contact &lt;имя, телефон или e-mail&gt;"),
    ("/contact qwertyuiop", "Контакты по запросу «qwertyuiop» не найдены."),
])  # fmt: skip
def test_lookup_usage_and_misses(chat: BotChat, text: str, reply: str) -> None:
    assert final(chat.say(MANAGER, text)).text == reply


def test_contact_shows_phones_emails_responsible_and_link(chat: BotChat) -> None:
    raw = chat.sandbox.data.contacts[0]
    text = final(chat.say(MANAGER, f"/contact {raw['name']}")).text
    assert f"<b>{raw['name']}</b> · контакт #{raw['id']}" in text
    assert "Телефон: +7" in text and "E-mail: " in text and "Ответственный: " in text
    assert f'href="{chat.sandbox.base_url}/contacts/detail/{raw["id"]}"' in text


def test_crm_text_is_escaped(chat: BotChat) -> None:
    task = open_task_of(chat, ZELIMKHAN)
    chat.task(task.id)["text"] = "Позвонить <b>ООО «Рога & Копыта»</b>"
    chat.task(task.id)["complete_till"] = NOW - 86400
    lead = chat.sandbox.data.leads[0]
    lead["name"] = "<script>&"
    assert (
        "Позвонить &lt;b&gt;ООО «Рога &amp; Копыта»&lt;/b&gt;"
        in final(chat.say(MANAGER, "/report")).text
    )
    assert final(chat.say(MANAGER, f"/lead {lead['id']}")).text.startswith(
        "<b>&lt;script&gt;&amp;</b>"
    )


# -- /funnel and /amocrm ----------------------------------------------------------------------


def test_funnel_shows_open_leads_per_stage_and_this_month(chat: BotChat) -> None:
    text = final(chat.say(DIRECTOR, "/funnel")).text
    assert text.startswith(f"<b>Воронка</b> {AS_OF}\n\n<b>Продажи</b> — открытых сделок: ")
    assert "• Первичный контакт: " in text
    assert "Успешно в этом месяце: " in text and "Не реализовано в этом месяце: " in text


def test_amocrm_shows_status_and_account_summary(chat: BotChat) -> None:
    lines = final(chat.say(ADMIN, "/amocrm")).text.splitlines()
    assert lines[0] == f"✅ amoCRM на связи: {chat.sandbox.base_url}"
    assert lines[1] == "Аккаунт: <b>Leo Group Services</b> (leogroup)"
    assert lines[2] == f"Пользователей: {len(chat.sandbox.data.users)}"
    assert lines[3].startswith("Открытых сделок: ") and lines[4].startswith("Успешных в этом")


def test_amocrm_reports_a_failed_connection_as_status(chat: BotChat) -> None:
    chat.sandbox.inject(401, count=5)
    text = final(chat.say(ADMIN, "/amocrm")).text
    assert text.startswith("❌ amoCRM: amoCRM отозвала доступ бота.")


def test_english_texts(tmp_path: Path) -> None:
    with bot_chat(tmp_path, language="en") as chat:
        report = final(chat.say(DIRECTOR, "/report")).text
        done = final(chat.say(MANAGER, "/done")).text
        stranger = final(chat.say(STRANGER, "/start")).text
        chat.sandbox.inject(503, count=20)
        outage = final(chat.say(OTHER_MANAGER, "/mytasks")).text
    assert report.startswith("<b>Overdue tasks</b> as of 25.11.2026 14:05 (Asia/Almaty)")
    assert "days overdue" in report
    assert done == "Usage: /done &lt;task id&gt; [result]"
    assert stranger.startswith("⛔ No access. Your Telegram id is <code>999</code>")
    assert outage == "amoCRM is not answering, try again in a minute."


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
    assert f"<code>{DIRECTOR}</code>" in shown


def test_subscribe_with_a_bad_time_shows_the_format(chat: BotChat) -> None:
    assert final(chat.say(MANAGER, "/subscribe 25:00")).text == "Формат: /subscribe [ЧЧ:ММ]"
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
