"""/lead, /contact, /funnel and /amocrm through the real stack (sandbox ⇄ bot ⇄ fake Bot API)."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import parse_qs
from urllib.parse import urlsplit

import pytest

from leoweb_bot.amocrm import build_client
from leoweb_bot.amocrm.models import Task
from leoweb_bot.bot.codec import AskClose
from leoweb_bot.bot.codec import LeadCard
from leoweb_bot.bot.codec import LeadRefresh
from leoweb_bot.bot.codec import Refresh
from leoweb_bot.bot.codec import decode
from leoweb_bot.bot.codec import encode
from leoweb_bot.bot.search import phone_forms
from leoweb_bot.bot.views import PAGE_SIZE
from leoweb_bot.config import AmoSettings
from tests.kit.botchat import ADMIN
from tests.kit.botchat import DIRECTOR
from tests.kit.botchat import MANAGER
from tests.kit.botchat import NOW
from tests.kit.botchat import ZELIMKHAN
from tests.kit.botchat import BotChat
from tests.kit.botchat import bot_chat
from tests.kit.botchat import final
from tests.kit.commandkit import AS_OF
from tests.kit.commandkit import open_task_of


@pytest.fixture
def chat(tmp_path: Path) -> Iterator[BotChat]:
    with bot_chat(tmp_path) as chat:
        yield chat


# -- look-ups ---------------------------------------------------------------------------------


def test_lead_by_id_shows_the_card(chat: BotChat) -> None:
    raw = chat.sandbox.data.leads[0]
    text = final(chat.say(MANAGER, f"/lead {raw['id']}")).text
    assert text.startswith(f"<b>{raw['name']}</b> · сделка #{raw['id']}\nЭтап: ")
    assert "Ответственный: " in text and "Бюджет: " in text
    assert text.endswith(
        f'<a href="{chat.sandbox.base_url}/leads/detail/{raw["id"]}">открыть в amoCRM</a>'
    )


def scan_open_tasks_of_lead(chat: BotChat, lead_id: int) -> tuple[list[Task], int]:
    """What the card used to do: walk every open task of the account, keep the lead's."""
    creds, before = chat.sandbox.credentials, chat.sandbox.request_count
    settings = AmoSettings(
        base_url=chat.sandbox.base_url or "", auth="token", token=creds.token, rate_limit=1000
    )
    with build_client(settings, sleep=lambda _: None) as amo:
        tasks = amo.iter_tasks(is_completed=False, order_by_deadline=True)
        mine = [t for t in tasks if (t.entity_type, t.entity_id) == ("leads", lead_id)]
    return mine, chat.sandbox.request_count - before


def test_lead_card_lists_its_open_tasks_from_one_filtered_request(chat: BotChat) -> None:
    on_leads = (t for t in chat.sandbox.data.tasks if t["entity_type"] == "leads")
    ((lead_id, _),) = Counter(t["entity_id"] for t in on_leads).most_common(1)
    expected, scan_requests = scan_open_tasks_of_lead(chat, lead_id)
    start = len(chat.sandbox.requests_log)

    card = final(chat.say(DIRECTOR, f"/lead {lead_id}"))
    text = card.text

    assert "<b>Открытые задачи</b>" in text
    assert re.findall(r"^\d+\. (.+)$", text, re.M) == [t.text for t in expected][:PAGE_SIZE]
    card_again = LeadRefresh(lead_id)
    assert [decode(d) for _, d in card.buttons] == [
        *(AskClose(t.id, card_again) for t in expected[:PAGE_SIZE]),
        Refresh(card_again),
    ]
    reads = [urlsplit(path) for _, path in chat.sandbox.requests_log[start:]]
    task_reads = [parse_qs(r.query) for r in reads if r.path == "/api/v4/tasks"]
    assert task_reads == [{
        "filter[is_completed]": ["0"], "filter[entity_type]": ["leads"],
        "filter[entity_id][]": [str(lead_id)], "order[complete_till]": ["asc"], "limit": ["250"],
    }]  # fmt: skip
    assert len(task_reads) < scan_requests  # 300 open tasks: the scan read 2 pages


def lead_with_tasks_of_several(chat: BotChat) -> tuple[int, list[Task], list[Task]]:
    """A lead with open tasks of Зелимхан and of others: its id, his tasks, the others'."""
    tasks = [Task.from_v4(raw) for raw in chat.sandbox.data.tasks]
    on_leads = [t for t in tasks if t.entity_type == "leads" and not t.is_completed]
    ((lead_id, _),) = Counter(t.entity_id for t in on_leads).most_common(1)
    on_lead = [t for t in on_leads if t.entity_id == lead_id]
    chat.task(on_lead[0].id)["responsible_user_id"] = ZELIMKHAN  # at least one of his
    mine = [t.id for t in on_lead if chat.task(t.id)["responsible_user_id"] == ZELIMKHAN]
    return lead_id, [t for t in on_lead if t.id in mine], [t for t in on_lead if t.id not in mine]


def test_a_manager_sees_other_peoples_tasks_on_a_card_only_as_a_count(chat: BotChat) -> None:
    lead_id, mine, others = lead_with_tasks_of_several(chat)
    assert mine and others
    card = final(chat.say(MANAGER, f"/lead {lead_id}"))
    shown = [int(n) for n in re.findall(r"<code>#(\d+)</code>", card.text)]
    assert shown == [t.id for t in mine]  # task texts repeat, so the ids tell them apart
    assert f"Открытых задач других сотрудников: {len(others)}" in card.text
    assert [decode(d) for label, d in card.buttons if label.startswith("✅")] == [
        AskClose(t.id, LeadRefresh(lead_id)) for t in mine
    ]
    # the same card from a search result's button, and its 🔄
    buttons = (encode(LeadCard(lead_id)), encode(LeadRefresh(lead_id)))
    again = [sent for data in buttons for sent in chat.press(MANAGER, data, card)]
    assert [s.text for s in again] == [card.text, card.text]


def test_a_director_sees_every_task_on_a_card(chat: BotChat) -> None:
    lead_id, mine, others = lead_with_tasks_of_several(chat)
    text = final(chat.say(DIRECTOR, f"/lead {lead_id}")).text
    shown = {int(n) for n in re.findall(r"<code>#(\d+)</code>", text)}
    assert shown == {t.id for t in mine + others}
    assert "других сотрудников" not in text


def test_lead_search_with_several_matches_offers_buttons(chat: BotChat) -> None:
    sent = final(chat.say(DIRECTOR, "/lead Чехии"))
    assert sent.text == "Нашлось сделок: 6. Выберите:"
    assert len(sent.buttons) == 6
    assert all(isinstance(decode(data), LeadCard) for _, data in sent.buttons)


def test_lead_search_says_how_many_match_and_how_to_narrow(chat: BotChat) -> None:
    """100 leads match «в»: the answer used to be «Нашлось сделок: 10»."""
    sent = final(chat.say(MANAGER, "/lead в"))
    assert sent.text == (
        "Нашлось сделок: 100, ниже первые 10. "
        "Уточните запрос: больше слов из названия, телефон или id сделки."
    )
    assert len(sent.buttons) == 10


def test_contact_search_says_how_many_match_and_how_to_narrow(chat: BotChat) -> None:
    text = final(chat.say(MANAGER, "/contact в")).text
    assert text.startswith(
        "Нашлось контактов: 118, показаны первые 10. "
        "Уточните запрос: имя с фамилией, телефон или e-mail.\n\n<b>"
    )
    assert text.count("· контакт #") == 10


@pytest.mark.parametrize("typed", ["8 771 197 83 47", "87711978347", "+7 (771) 197-83-47"])
def test_phone_search_finds_both_national_forms(chat: BotChat, typed: str) -> None:
    contact = chat.sandbox.data.contacts[0]
    assert contact["custom_fields_values"][0]["values"][0]["value"] == "+7 771 197 83 47"
    text = final(chat.say(MANAGER, f"/contact {typed}")).text
    assert f"· контакт #{contact['id']}" in text
    leads = final(chat.say(MANAGER, f"/lead {typed}")).text
    assert "не найдены" not in leads


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


@pytest.mark.parametrize(("typed", "forms"), [
    ("8 701 123 45 67", ["8 701 123 45 67", "+7 701 123 45 67"]),
    ("+77011234567", ["+77011234567", "87011234567"]),
    ("77011234567", ["77011234567", "+77011234567", "87011234567"]),
    ("8 (701) 123-45-67", ["8 (701) 123-45-67", "+7 (701) 123-45-67"]),
    ("8 701 123", ["8 701 123"]),  # part of a number: as typed
    ("+1 650 253 00 00", ["+1 650 253 00 00"]),
    ("Алихан", ["Алихан"]),
])  # fmt: skip
def test_phone_forms(typed: str, forms: list[str]) -> None:
    assert phone_forms(typed) == forms
