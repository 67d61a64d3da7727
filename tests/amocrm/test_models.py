"""Parsing of amoCRM entities from the v4 and the legacy v2 shapes."""

from __future__ import annotations

import pytest

from leoweb_bot.amocrm.models import LOST_STATUS
from leoweb_bot.amocrm.models import WON_STATUS
from leoweb_bot.amocrm.models import Account
from leoweb_bot.amocrm.models import Contact
from leoweb_bot.amocrm.models import Lead
from leoweb_bot.amocrm.models import Pipeline
from leoweb_bot.amocrm.models import Task
from leoweb_bot.amocrm.models import User
from leoweb_bot.amocrm.models import card_url

NOW = 1_764_000_000

# The task example of the v4 docs (docs/amocrm.md#tasks).
V4_TASK = {
    "id": 56981,
    "created_by": 54224,
    "updated_by": 3987910,
    "created_at": 1575910123,
    "updated_at": 1576767989,
    "responsible_user_id": 123123,
    "group_id": 0,
    "entity_id": 180765,
    "entity_type": "leads",
    "duration": 0,
    "is_completed": False,
    "task_type_id": 1,
    "text": "Назначить встречу",
    "result": [],
    "complete_till": 1575910423,
    "account_id": 321312,
    "_links": {"self": {"href": "https://example.amocrm.ru/api/v4/tasks/56981"}},
}
# The reconstructed v2 task (docs/amocrm.md#api-v2-shapes).
V2_TASK = {
    "id": 123,
    "element_id": 456,
    "element_type": 2,
    "task_type": 1,
    "text": "Call back",
    "responsible_user_id": 777,
    "is_completed": False,
    "complete_till_at": 1567321200,
    "created_at": 1567000000,
    "updated_at": 1567000000,
    "result": {},
}


def test_v4_task_parses_the_documented_example():
    task = Task.from_v4(V4_TASK)

    assert task == Task(
        id=56981,
        text="Назначить встречу",
        responsible_user_id=123123,
        complete_till=1575910423,
        is_completed=False,
        entity_type="leads",
        entity_id=180765,
        task_type_id=1,
        result="",
        updated_at=1576767989,
    )


def test_v2_task_reads_complete_till_at_and_element_type():
    task = Task.from_v2(V2_TASK)

    assert (task.complete_till, task.entity_type, task.entity_id) == (1567321200, "leads", 456)
    assert (task.responsible_user_id, task.task_type_id, task.result) == (777, 1, "")


@pytest.mark.parametrize(
    ("result", "text"),
    [([], ""), ({}, ""), (None, ""), ({"text": "Удалось связаться"}, "Удалось связаться")],
)
def test_task_result_is_an_empty_list_when_open_and_an_object_when_done(result, text):
    assert Task.from_v4({**V4_TASK, "result": result}).result == text
    assert Task.from_v2({**V2_TASK, "result": result}).result == text


def test_task_attached_to_nothing_has_no_entity():
    v4 = Task.from_v4({**V4_TASK, "entity_id": None, "entity_type": None})
    v2 = Task.from_v2({**V2_TASK, "element_id": None, "element_type": None})

    assert (v4.entity_type, v4.entity_id) == (None, None)
    assert (v2.entity_type, v2.entity_id) == (None, None)


def test_v4_user_reads_rights():
    user = User.from_v4(
        {"id": 7, "name": "Зелимхан", "rights": {"is_admin": True, "is_active": False}}
    )

    assert (user.id, user.name, user.is_admin, user.is_active) == (7, "Зелимхан", True, False)


@pytest.mark.parametrize(
    ("flag", "admin"), [("Y", True), ("N", False), (True, True), (False, False)]
)
def test_v2_user_accepts_y_n_and_booleans(flag, admin):
    assert User.from_v2({"id": "8", "name": "Милана", "is_admin": flag}).is_admin is admin


def test_user_without_a_name_shows_its_id():
    assert User.from_v4({"id": 9}).name == "#9"


def test_v4_lead_with_embedded_contacts():
    lead = Lead.from_v4(
        {
            "id": 42,
            "name": "Обучение в Праге",
            "price": 150000,
            "status_id": WON_STATUS,
            "pipeline_id": 5,
            "responsible_user_id": 7,
            "closed_at": NOW,
            "_embedded": {"contacts": [{"id": 9, "is_main": True}, {"id": 10, "is_main": False}]},
        }
    )

    assert (lead.price, lead.contact_ids, lead.closed_at, lead.is_open) == (
        150000,
        (9, 10),
        NOW,
        False,
    )


def test_v2_lead_reads_sale_pipeline_object_and_contacts_ids():
    lead = Lead.from_v2(
        {
            "id": 42,
            "name": "Виза",
            "sale": 5000,
            "status_id": 11,
            "pipeline": {"id": 5},
            "responsible_user_id": 7,
            "contacts": {"id": [9, 10]},
            "main_contact": {"id": 9},
        }
    )

    assert (lead.price, lead.pipeline_id, lead.contact_ids, lead.is_open) == (
        5000,
        5,
        (9, 10),
        True,
    )


def test_lost_lead_is_closed():
    assert not Lead.from_v4({"id": 1, "status_id": LOST_STATUS}).is_open


def test_contact_phones_and_emails_from_v4_and_v2_fields():
    v4 = Contact.from_v4(
        {
            "id": 9,
            "name": "Айгерим",
            "custom_fields_values": [
                {"field_code": "PHONE", "values": [{"value": "+77010000000"}]},
                {"field_code": "EMAIL", "values": [{"value": "a@leo.kz"}]},
            ],
        }
    )
    v2 = Contact.from_v2(
        {
            "id": 9,
            "name": "Айгерим",
            "custom_fields": [{"code": "PHONE", "values": [{"value": "+7701"}]}],
        }
    )

    assert (v4.phones, v4.emails) == (("+77010000000",), ("a@leo.kz",))
    assert (v2.phones, v2.emails) == (("+7701",), ())


def test_v4_pipeline_sorts_stages_and_finds_them():
    pipeline = Pipeline.from_v4(
        {
            "id": 5,
            "name": "Продажи",
            "is_main": True,
            "_embedded": {
                "statuses": [
                    {"id": 143, "name": "Закрыто и не реализовано", "sort": 10001},
                    {"id": 11, "name": "Первичный контакт", "sort": 10, "type": 0},
                    {"id": 1, "name": "Неразобранное", "sort": 0, "type": 1},
                ]
            },
        }
    )

    assert [s.id for s in pipeline.stages] == [1, 11, 143]
    assert pipeline.stage(11).name == "Первичный контакт"
    assert pipeline.stage(999) is None
    assert pipeline.stages[0].type == 1


def test_v2_pipeline_statuses_keyed_by_id():
    pipeline = Pipeline.from_v2(
        {
            "id": 5,
            "name": "Продажи",
            "statuses": {
                "142": {"name": "Успешно", "sort": 10000},
                "11": {"id": 11, "name": "50%", "sort": 20},
            },
        }
    )

    assert [(s.id, s.name, s.pipeline_id) for s in pipeline.stages] == [
        (11, "50%", 5),
        (142, "Успешно", 5),
    ]


def test_account_timezone_from_v4_datetime_settings_and_v2_top_level():
    v4 = Account.from_v4(
        {
            "id": 1,
            "name": "Leo",
            "subdomain": "leo",
            "current_user_id": 7,
            "_embedded": {"datetime_settings": {"timezone": "Asia/Almaty"}},
        }
    )
    v2 = Account.from_v2(
        {"id": 1, "name": "Leo", "subdomain": "leo", "timezone": "Asia/Almaty", "current_user": 7}
    )

    assert v4 == v2 == Account(1, "Leo", "leo", "Asia/Almaty", 7)


@pytest.mark.parametrize(
    ("entity_type", "entity_id", "url"),
    [
        ("leads", 42, "https://leo.amocrm.ru/leads/detail/42"),
        ("contacts", 9, "https://leo.amocrm.ru/contacts/detail/9"),
        ("customers", 3, None),
        (None, None, None),
        ("leads", None, None),
    ],
)
def test_card_url(entity_type, entity_id, url):
    assert card_url("https://leo.amocrm.ru/", entity_type, entity_id) == url
