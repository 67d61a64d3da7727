"""AmoClient in session mode: the legacy API v2 shapes over a faked network (``responses``)."""

from __future__ import annotations

import pytest
import responses
from responses import matchers

from leoweb_bot.amocrm import AmoClient
from leoweb_bot.amocrm import NotFound
from tests.amocrm.fakes import BASE
from tests.amocrm.fakes import NOW
from tests.amocrm.fakes import add_login
from tests.amocrm.fakes import session_client
from tests.kit.fakeclock import FakeClock


@pytest.fixture
def client(rsps: responses.RequestsMock, clock: FakeClock) -> AmoClient:
    add_login(rsps, "sess-1")
    return session_client(clock)


def test_v2_task_shapes_parse(rsps, client):
    rsps.add(
        responses.GET,
        f"{BASE}/api/v2/tasks",
        match=[
            matchers.query_param_matcher(
                {"filter[status]": "0", "limit_rows": "500", "limit_offset": "0"}
            )
        ],
        json={
            "_embedded": {
                "items": [
                    {
                        "id": 1,
                        "element_id": 456,
                        "element_type": 2,
                        "task_type": 1,
                        "text": "Звонок",
                        "responsible_user_id": 7,
                        "is_completed": False,
                        "complete_till_at": NOW - 100,
                        "result": {},
                    },
                    {
                        "id": 2,
                        "element_id": None,
                        "element_type": None,
                        "text": "Без сделки",
                        "responsible_user_id": 8,
                        "is_completed": False,
                        "complete_till_at": NOW - 50,
                        "result": [],
                    },
                    {
                        "id": 3,
                        "element_id": 5,
                        "element_type": 1,
                        "text": "Потом",
                        "responsible_user_id": 8,
                        "is_completed": False,
                        "complete_till_at": NOW + 50,
                    },
                ]
            }
        },
    )

    overdue = client.open_tasks_due_before(NOW)

    assert [t.id for t in overdue] == [1, 2]
    assert (overdue[0].entity_type, overdue[0].entity_id, overdue[0].complete_till) == (
        "leads",
        456,
        NOW - 100,
    )
    assert (overdue[1].entity_type, overdue[1].entity_id, overdue[1].result) == (None, None, "")


def test_v2_lead_tasks_ask_by_element_id_and_are_sorted_and_rechecked_here(rsps, client):
    query = {
        "filter[status]": "0",
        "element_id": "456",
        "type": "lead",
        "limit_rows": "500",
        "limit_offset": "0",
    }
    item = {"text": "t", "responsible_user_id": 7, "element_id": 456, "element_type": 2}
    rsps.add(
        responses.GET,
        f"{BASE}/api/v2/tasks",
        match=[matchers.query_param_matcher(query)],
        json={
            "_embedded": {
                "items": [
                    {**item, "id": 1, "complete_till_at": NOW + 50},
                    {**item, "id": 2, "complete_till_at": NOW - 50},
                    {**item, "id": 3, "element_type": 1},  # contact 456, not the lead
                    {**item, "id": 4, "element_id": 457},
                    {**item, "id": 5, "is_completed": True},
                ]
            }
        },
    )

    assert [t.id for t in client.lead_tasks(456)] == [2, 1]


def test_v2_open_tasks_are_sorted_by_deadline_here_since_v2_cannot(rsps, client):
    rsps.add(
        responses.GET,
        f"{BASE}/api/v2/tasks",
        match=[
            matchers.query_param_matcher(
                {
                    "filter[status]": "0",
                    "responsible_user_id": "7",
                    "limit_rows": "500",
                    "limit_offset": "0",
                }
            )
        ],
        json={
            "_embedded": {
                "items": [
                    {"id": 1, "text": "a", "responsible_user_id": 7, "complete_till_at": NOW + 50},
                    {"id": 2, "text": "b", "responsible_user_id": 7},
                    {"id": 3, "text": "c", "responsible_user_id": 7, "complete_till_at": NOW - 50},
                ]
            }
        },
    )

    assert [t.id for t in client.open_tasks(7)] == [3, 1, 2]


def test_v2_paging_stops_on_a_short_page(rsps, client):
    full = [{"id": i, "text": "t", "responsible_user_id": 7} for i in range(500)]
    rsps.add(
        responses.GET,
        f"{BASE}/api/v2/tasks",
        match=[matchers.query_param_matcher({"limit_rows": "500", "limit_offset": "0"})],
        json={"_embedded": {"items": full}},
    )
    rsps.add(
        responses.GET,
        f"{BASE}/api/v2/tasks",
        match=[matchers.query_param_matcher({"limit_rows": "500", "limit_offset": "500"})],
        json={"_embedded": {"items": full[:3]}},
    )

    assert len(list(client.iter_tasks())) == 503
    assert len(rsps.calls) == 3  # login + two pages


def test_v2_users_are_an_object_keyed_by_id(rsps, client):
    rsps.add(
        responses.GET,
        f"{BASE}/api/v2/account",
        match=[matchers.query_param_matcher({"with": "users"})],
        json={
            "_embedded": {"users": {"7": {"name": "Сарбиназ"}, "8": {"id": 8, "name": "Милана"}}}
        },
    )

    assert {i: u.name for i, u in client.users().items()} == {7: "Сарбиназ", 8: "Милана"}


def test_v2_pipelines_with_statuses_keyed_by_id(rsps, client):
    rsps.add(
        responses.GET,
        f"{BASE}/api/v2/account",
        match=[matchers.query_param_matcher({"with": "pipelines"})],
        json={
            "_embedded": {
                "pipelines": {
                    "5": {
                        "id": 5,
                        "name": "Продажи",
                        "is_main": True,
                        "statuses": {
                            "142": {"id": 142, "name": "Успешно", "sort": 10000},
                            "11": {"name": "Недозвон", "sort": 20},
                        },
                    }
                }
            }
        },
    )

    [pipeline] = client.pipelines()

    assert [(s.id, s.name) for s in pipeline.stages] == [(11, "Недозвон"), (142, "Успешно")]


def test_v2_complete_task_posts_an_update_keeping_the_task_text(rsps, client):
    rsps.add(
        responses.GET,
        f"{BASE}/api/v2/tasks",
        match=[matchers.query_param_matcher({"id": "5"})],
        json={"_embedded": {"items": [{"id": 5, "text": "Перезвонить", "responsible_user_id": 7}]}},
    )
    expected = {
        "update": [
            {
                "id": 5,
                "updated_at": NOW,
                "is_completed": True,
                "text": "Перезвонить",
                "result": {"text": "Дозвонился"},
            }
        ]
    }
    rsps.add(
        responses.POST,
        f"{BASE}/api/v2/tasks",
        match=[matchers.json_params_matcher(expected)],
        json={"_embedded": {"items": [{"id": 5}]}},
    )

    client.complete_task(5, "Дозвонился")


def test_v2_leads_by_id_ask_id_brackets_and_keep_the_order_asked(rsps, client):
    rsps.add(
        responses.GET,
        f"{BASE}/api/v2/leads",
        match=[
            matchers.query_param_matcher(
                {"id[]": ["3", "1"], "limit_rows": "500", "limit_offset": "0"}
            )
        ],
        json={"_embedded": {"items": [{"id": 1, "sale": 500}, {"id": 3, "sale": 700}]}},
    )

    assert [(lead.id, lead.price) for lead in client.leads([3, 1, 3])] == [(3, 700), (1, 500)]


def test_v2_search_asks_query_and_limit_rows(rsps, client):
    rsps.add(
        responses.GET,
        f"{BASE}/api/v2/contacts",
        match=[matchers.query_param_matcher({"query": "Айгерим", "limit_rows": "10"})],
        json={"_embedded": {"items": [{"id": 5, "name": "Айгерим"}]}},
    )

    assert [c.name for c in client.search_contacts(" Айгерим ")] == ["Айгерим"]


def test_v2_one_lead_missing_is_not_found(rsps, client):
    rsps.add(
        responses.GET,
        f"{BASE}/api/v2/leads",
        match=[matchers.query_param_matcher({"id": "42"})],
        status=204,
    )

    with pytest.raises(NotFound):
        client.lead(42)


def test_v2_leads_closed_since_are_filtered_here_since_v2_cannot(rsps, client):
    rsps.add(
        responses.GET,
        f"{BASE}/api/v2/leads",
        match=[matchers.query_param_matcher({"limit_rows": "500", "limit_offset": "0"})],
        json={
            "_embedded": {
                "items": [
                    {"id": 1, "closed_at": 0},
                    {"id": 2, "closed_at": NOW - 1},
                    {"id": 3, "closed_at": NOW},
                ]
            }
        },
    )

    assert [lead.id for lead in client.iter_leads(closed_since=NOW)] == [3]
