"""Every command as each role, through the real stack: sandbox amoCRM ⇄ bot ⇄ fake Bot API."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from leoweb_bot import __version__
from leoweb_bot.amocrm import build_client
from leoweb_bot.bot.codec import VERSION
from leoweb_bot.bot.codec import AskClose
from leoweb_bot.bot.codec import LeadCard
from leoweb_bot.bot.codec import ReportSummary
from leoweb_bot.bot.codec import encode
from leoweb_bot.bot.context import App
from leoweb_bot.bot.router import apologize
from leoweb_bot.config import AmoSettings
from leoweb_bot.state import State
from leoweb_bot.state.inbox import InboxItem
from leoweb_bot.telegram.client import Telegram
from tests.kit.botchat import ADMIN
from tests.kit.botchat import DIRECTOR
from tests.kit.botchat import GROUP
from tests.kit.botchat import MANAGER
from tests.kit.botchat import NOW
from tests.kit.botchat import OTHER_MANAGER
from tests.kit.botchat import STRANGER
from tests.kit.botchat import TOKEN
from tests.kit.botchat import BotChat
from tests.kit.botchat import Sent
from tests.kit.botchat import bot_chat
from tests.kit.botchat import final
from tests.kit.botchat import settings_for
from tests.kit.commandkit import AS_OF
from tests.kit.commandkit import WORKING
from tests.kit.fakebot import FakeBotAPI


@pytest.fixture
def chat(tmp_path: Path) -> Iterator[BotChat]:
    with bot_chat(tmp_path) as chat:
        yield chat


# -- access -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text", ["/help", "/whoami", "/report", "/done 5000001", "/funnel", "привет"]
)
def test_stranger_gets_one_line_with_their_id_and_amocrm_is_not_asked(
    chat: BotChat, text: str
) -> None:
    before = chat.sandbox.request_count
    sent = chat.say(STRANGER, text)
    assert [s.text for s in sent] == [
        "⛔ Нет доступа. Ваш Telegram id: <code>999</code>. "
        "Попросить доступ — /start в личном чате с ботом."
    ]
    assert chat.sandbox.request_count == before


@pytest.mark.parametrize(("sender", "told"), [(MANAGER, True), (STRANGER, False)])
def test_an_update_given_up_is_apologised_for_to_people_with_access_only(
    tmp_path: Path, sender: int, told: bool
) -> None:
    update = {"update_id": 7, "message": {"chat": {"id": GROUP}, "from": {"id": sender}}}
    amo = AmoSettings(base_url="https://leogroup.amocrm.ru", auth="token", token="t")
    with FakeBotAPI() as fake, build_client(amo) as client:
        telegram = Telegram(TOKEN, fake.url)
        app = App(settings_for(), client, telegram, State(tmp_path / "state.sqlite3"))
        apologize(app, InboxItem(7, GROUP, json.dumps(update), 3, "host:1"))
        expected = ["Что-то пошло не так. Ошибка записана, попробуйте ещё раз чуть позже."]
        assert fake.messages(GROUP) == (expected if told else [])


@pytest.fixture(scope="module")
def shared_chat(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BotChat]:
    """One bot for read-only checks (nothing here writes to amoCRM)."""
    with bot_chat(tmp_path_factory.mktemp("matrix")) as chat:
        yield chat


EVERY_COMMAND = ["/start", "/help", "/whoami", "/report", "/mytasks", "/done 1", "/lead 1",
                 "/contact Алия", "/funnel", "/amocrm", "/version"]  # fmt: skip
NOT_FOR = {MANAGER: ("/funnel", "/amocrm", "/version"), DIRECTOR: ("/version",)}
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
        assert refused == ([] if text == "/start" else ["no_access"])  # /start asks to join
        assert shared_chat.sandbox.request_count == requests
    elif text in NOT_FOR.get(user, ()):
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
    assert "/version — версия бота и аккаунт amoCRM" in admin and "/version" not in director


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


def test_version_tells_an_admin_the_running_version_and_the_amocrm_account(chat: BotChat) -> None:
    sent = chat.say(ADMIN, "/version")
    account = chat.sandbox.data.account
    assert [s.text for s in sent] == [
        WORKING,
        f"LeoWeb_bot {__version__} · amoCRM: Leo Group Services (leogroup, id {account['id']})",
    ]


def test_version_shows_an_amocrm_failure_as_the_status(chat: BotChat) -> None:
    chat.sandbox.inject(401, count=20)
    lines = final(chat.say(ADMIN, "/version")).text.splitlines()
    assert lines[0] == "❌ amoCRM: amoCRM отозвала доступ бота. Администратору нужно заново " + (
        "авторизовать интеграцию."
    )
    assert lines[1].startswith("<code>") and lines[1].endswith("</code>")


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


def test_english_texts(tmp_path: Path) -> None:
    with bot_chat(tmp_path, language="en") as chat:
        report = final(chat.say(DIRECTOR, "/report")).text
        done = final(chat.say(MANAGER, "/done")).text
        stranger = final(chat.say(STRANGER, "/help")).text
        chat.sandbox.inject(503, count=20)
        outage = final(chat.say(OTHER_MANAGER, "/mytasks")).text
    assert report.startswith("<b>Overdue tasks</b> as of 25.11.2026 14:05 (Asia/Almaty)")
    assert "days overdue" in report
    assert done == "Usage: /done &lt;task id&gt; [result]"
    assert stranger.startswith("⛔ No access. Your Telegram id is <code>999</code>")
    assert outage == "amoCRM is not answering, try again in a minute."


# -- telling people what went wrong -----------------------------------------------------------

SERVICE = (
    "⛔ Вы пишете от имени группы или канала, и бот не знает, кто вы. Напишите от своего имени."
)
# Telegram's shared senders: anonymous group admins, channel posts, Telegram itself.
SERVICE_IDS = [1087968824, 136817688, 777000]


@pytest.mark.parametrize("query", ["12345", "#12345", "²", "٣"])
def test_report_for_an_unknown_id_says_not_found(chat: BotChat, query: str) -> None:
    text = final(chat.say(DIRECTOR, f"/report {query}")).text
    assert text.splitlines()[:2] == [f"Менеджер «{query}» не найден.", "Формат: /report [менеджер]"]


def test_report_for_an_exact_name_wins_over_longer_names(chat: BotChat) -> None:
    camila = next(u for u in chat.sandbox.data.users if u["name"] == "Камила")
    camila["name"] = "Милана Ким"
    assert final(chat.say(DIRECTOR, "/report милана")).text.startswith("<b>Милана</b> — ")
    assert final(chat.say(DIRECTOR, "/report Милана Ким")).text.startswith("<b>Милана Ким</b> — ")


@pytest.mark.parametrize("service_id", SERVICE_IDS)
def test_a_service_account_is_told_to_write_as_themselves(chat: BotChat, service_id: int) -> None:
    before = chat.sandbox.request_count
    in_group = chat.say(service_id, "/report@leoweb_test_bot", chat=GROUP, chat_type="supergroup")
    in_private = chat.say(service_id, "привет")
    assert [s.text for s in in_group + in_private] == [SERVICE, SERVICE]
    on = Sent("sendMessage", GROUP, "…", 1, None)
    chat.press(service_id, encode(ReportSummary()), on)
    assert chat.answers()[-1]["text"] == SERVICE  # no id to send anyone
    assert chat.sandbox.request_count == before


@pytest.mark.parametrize(
    "text",
    ["/done ²", "/done ①", "/done ٣", "/done １２", "/done 12²", "/done 9999999999999999999"],
)
def test_done_takes_only_ascii_digits(chat: BotChat, text: str) -> None:
    assert [s.text for s in chat.say(DIRECTOR, text)] == [
        "Формат: /done &lt;id задачи&gt; [результат]"
    ]


@pytest.mark.parametrize("query", ["²", "①", "٣", "#²"])
def test_lead_with_unicode_digits_is_a_text_search(chat: BotChat, query: str) -> None:
    assert final(chat.say(DIRECTOR, f"/lead {query}")).text == (
        f"Сделки по запросу «{query}» не найдены."
    )


UNICODE_DIGITS = ["td:²", "td:①", "td:٣", "ld:²", "mt:²:0", "rm:²:0", "rm:1387123:²"]


@pytest.mark.parametrize("data", [f"{VERSION}:{data}" for data in UNICODE_DIGITS])
def test_a_button_with_unicode_digits_is_outdated_not_an_error(chat: BotChat, data: str) -> None:
    on = final(chat.say(DIRECTOR, "/report"))
    before = chat.sandbox.request_count
    assert chat.press(DIRECTOR, data, on) == []
    assert chat.answers()[-1]["text"] == "Кнопка устарела — отправьте команду заново"
    assert chat.sandbox.request_count == before


@pytest.mark.parametrize(
    ("data", "alert"),
    [
        (encode(AskClose(999999999)), "Этой задачи больше нет в amoCRM"),
        (encode(LeadCard(999999999)), "Этой сделки больше нет в amoCRM"),
    ],
)
def test_a_button_for_something_deleted_says_what_is_gone(
    chat: BotChat, data: str, alert: str
) -> None:
    on = final(chat.say(DIRECTOR, "/report"))
    assert chat.press(DIRECTOR, data, on) == []
    assert (chat.answers()[-1]["text"], chat.answers()[-1]["show_alert"]) == (alert, "True")


@pytest.mark.parametrize(
    ("command", "answer"),
    [
        ("/lead", "Сделки по запросу «{}» не найдены."),
        ("/contact", "Контакты по запросу «{}» не найдены."),
        ("/report", "Менеджер «{}» не найден."),
    ],
)
def test_a_long_query_is_not_echoed_whole(chat: BotChat, command: str, answer: str) -> None:
    query = "Очень длинный запрос, " * 30
    first = final(chat.say(DIRECTOR, f"{command} {query}")).text.splitlines()[0]
    assert first == answer.format(query[:39] + "…")
