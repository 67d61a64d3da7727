"""AmoClient's reads over a faked network (``responses``), API v4: paging, the due-before scan,
users, leads, contacts, pipelines."""

from __future__ import annotations

import json
from urllib.parse import parse_qs
from urllib.parse import urlsplit

import responses
from responses import matchers

from tests.amocrm.fakes import BASE
from tests.amocrm.fakes import NOW
from tests.amocrm.fakes import TOKEN
from tests.amocrm.fakes import make_client
from tests.amocrm.fakes import task_v4
from tests.amocrm.fakes import tasks_page

# -- pagination -----------------------------------------------------------------------------------


def test_iter_tasks_follows_next_links_over_three_pages_then_stops(rsps, clock):
    first = {"limit": "250", "filter[is_completed]": "0"}
    rsps.add(
        responses.GET,
        f"{BASE}/api/v4/tasks",
        match=[matchers.query_param_matcher(first)],
        json=tasks_page([task_v4(1, NOW), task_v4(2, NOW)], f"{BASE}/api/v4/tasks?page=2"),
    )
    rsps.add(
        responses.GET,
        f"{BASE}/api/v4/tasks?page=2",
        json=tasks_page([task_v4(3, NOW), task_v4(4, NOW)], f"{BASE}/api/v4/tasks?page=3"),
    )
    rsps.add(responses.GET, f"{BASE}/api/v4/tasks?page=3", json=tasks_page([task_v4(5, NOW)]))

    tasks = list(make_client(clock).iter_tasks(is_completed=False))

    assert [t.id for t in tasks] == [1, 2, 3, 4, 5]
    assert len(rsps.calls) == 3


def test_list_answering_204_is_empty(rsps, clock):
    rsps.add(responses.GET, f"{BASE}/api/v4/tasks", status=204)

    assert list(make_client(clock).iter_tasks()) == []
    assert len(rsps.calls) == 1


def test_next_link_to_another_host_is_rebuilt_on_the_account_host(rsps, clock):
    rsps.add(
        responses.GET,
        f"{BASE}/api/v4/leads",
        match=[matchers.query_param_matcher({"limit": "250"})],
        json={
            "_links": {"next": {"href": "https://evil.example/api/v4/leads?page=2"}},
            "_embedded": {"leads": [{"id": 1}]},
        },
    )
    rsps.add(
        responses.GET, f"{BASE}/api/v4/leads?page=2", json={"_embedded": {"leads": [{"id": 2}]}}
    )

    assert [lead.id for lead in make_client(clock).iter_leads()] == [1, 2]


def test_due_before_scan_stops_at_the_first_task_not_due_before_now(rsps, clock):
    first = {"limit": "250", "filter[is_completed]": "0", "order[complete_till]": "asc"}
    rsps.add(
        responses.GET,
        f"{BASE}/api/v4/tasks",
        match=[matchers.query_param_matcher(first)],
        json=tasks_page(
            [task_v4(1, None), task_v4(2, NOW - 900), task_v4(3, NOW - 60)],
            f"{BASE}/api/v4/tasks?page=2",
        ),
    )
    # Page 2 holds the first task that is not overdue (due == now); pages 3+ are not
    # registered, so any request for them would fail the test.
    rsps.add(
        responses.GET,
        f"{BASE}/api/v4/tasks?page=2",
        json=tasks_page(
            [
                task_v4(4, NOW - 1),
                task_v4(5, NOW - 1, done=True),
                task_v4(6, NOW),
                task_v4(7, NOW - 5),
            ],
            f"{BASE}/api/v4/tasks?page=3",
        ),
    )

    due = make_client(clock).open_tasks_due_before(NOW)

    assert [t.id for t in due] == [2, 3, 4]
    assert len(rsps.calls) == 2


def test_due_before_scan_filters_by_responsible_user(rsps, clock):
    wanted = {
        "limit": "250",
        "filter[is_completed]": "0",
        "order[complete_till]": "asc",
        "filter[responsible_user_id]": "7",
    }
    rsps.add(
        responses.GET,
        f"{BASE}/api/v4/tasks",
        match=[matchers.query_param_matcher(wanted)],
        json=tasks_page([task_v4(1, NOW - 10)]),
    )

    assert [t.id for t in make_client(clock).open_tasks_due_before(NOW, responsible_user_id=7)] == [
        1
    ]


def test_lead_tasks_ask_for_the_leads_open_tasks_and_recheck_them(rsps, clock):
    query = {
        "limit": "250",
        "filter[is_completed]": "0",
        "filter[entity_type]": "leads",
        "filter[entity_id][]": "101",
        "order[complete_till]": "asc",
    }
    mine = {"entity_type": "leads", "entity_id": 101}
    rsps.add(
        responses.GET,
        f"{BASE}/api/v4/tasks",
        match=[matchers.query_param_matcher(query)],
        # A server that half-ignored the filters: only 1 and 2 are this lead's open tasks.
        json=tasks_page([
            {**task_v4(1, NOW - 60), **mine},
            {**task_v4(2, NOW + 60), **mine},
            {**task_v4(3, NOW, done=True), **mine},
            {**task_v4(4, NOW), "entity_id": 102},
            {**task_v4(5, NOW), "entity_type": "contacts", "entity_id": 101},
        ]),
    )  # fmt: skip

    tasks = make_client(clock).lead_tasks(101)

    assert [t.id for t in tasks] == [1, 2]
    assert "filter%5Bentity_id%5D%5B%5D=101" in rsps.calls[0].request.url


# -- users ----------------------------------------------------------------------------------------


def test_users_forbidden_on_v4_fall_back_to_v2_account(rsps, clock, caplog):
    rsps.add(
        responses.GET,
        f"{BASE}/api/v4/users",
        status=403,
        json={"title": "Forbidden", "status": 403, "detail": "Access denied"},
    )
    rsps.add(
        responses.GET,
        f"{BASE}/api/v2/account",
        match=[matchers.query_param_matcher({"with": "users"})],
        json={
            "id": 1,
            "_embedded": {
                "users": {
                    "7": {"id": 7, "name": "Зелимхан", "is_admin": "N"},
                    "8": {"id": 8, "name": "Милана", "is_admin": "Y"},
                }
            },
        },
    )
    caplog.set_level("INFO", logger="leoweb_bot.amocrm")

    users = make_client(clock).users()

    assert {i: u.name for i, u in users.items()} == {7: "Зелимхан", 8: "Милана"}
    assert users[8].is_admin
    assert sum("needs admin rights" in r.message for r in caplog.records) == 1


def test_users_are_empty_when_both_endpoints_refuse(rsps, clock):
    rsps.add(responses.GET, f"{BASE}/api/v4/users", status=403, json={"title": "Forbidden"})
    rsps.add(responses.GET, f"{BASE}/api/v2/account", status=404, json={"title": "Not Found"})

    assert make_client(clock).users() == {}


def test_users_are_cached_for_ten_minutes_by_the_clock(rsps, clock):
    page = {"_embedded": {"users": [{"id": 7, "name": "Зелимхан", "rights": {"is_admin": False}}]}}
    rsps.add(responses.GET, f"{BASE}/api/v4/users", json=page)
    client = make_client(clock)

    client.users()
    clock.advance(9 * 60)
    client.users()
    assert len(rsps.calls) == 1

    clock.advance(61)
    assert client.users()[7].name == "Зелимхан"
    assert len(rsps.calls) == 2


# -- leads, contacts, pipelines, account ----------------------------------------------------------


def test_account_asks_for_datetime_settings(rsps, clock):
    rsps.add(
        responses.GET,
        f"{BASE}/api/v4/account",
        match=[matchers.query_param_matcher({"with": "datetime_settings"})],
        json={
            "id": 1,
            "name": "Leo",
            "subdomain": "leo",
            "current_user_id": 7,
            "_embedded": {"datetime_settings": {"timezone": "Asia/Almaty"}},
        },
    )

    account = make_client(clock).account()

    assert (account.subdomain, account.timezone, account.current_user_id) == (
        "leo",
        "Asia/Almaty",
        7,
    )


def test_search_leads_with_digits_also_tries_the_id(rsps, clock):
    rsps.add(
        responses.GET,
        f"{BASE}/api/v4/leads/42",
        match=[matchers.query_param_matcher({"with": "contacts"})],
        json={"id": 42, "name": "Сделка 42", "_embedded": {"contacts": [{"id": 9}]}},
    )
    rsps.add(
        responses.GET,
        f"{BASE}/api/v4/leads",
        match=[matchers.query_param_matcher({"query": "42", "limit": "10", "with": "contacts"})],
        json={
            "_embedded": {"leads": [{"id": 42, "name": "Сделка 42"}, {"id": 7, "name": "Дом 42"}]}
        },
    )

    leads = make_client(clock).search_leads("42")

    assert [lead.id for lead in leads] == [42, 7]
    assert leads[0].contact_ids == (9,)


def test_search_leads_by_text_with_no_match_is_empty(rsps, clock):
    rsps.add(responses.GET, f"{BASE}/api/v4/leads", status=204)

    assert make_client(clock).search_leads("Айгерим") == []


def test_iter_leads_filters_by_closed_since(rsps, clock):
    rsps.add(
        responses.GET,
        f"{BASE}/api/v4/leads",
        match=[matchers.query_param_matcher({"limit": "250", "filter[closed_at][from]": str(NOW)})],
        json={"_embedded": {"leads": [{"id": 1, "status_id": 142, "closed_at": NOW + 5}]}},
    )

    assert [lead.id for lead in make_client(clock).iter_leads(closed_since=NOW)] == [1]


def test_contacts_are_fetched_in_batches_and_returned_in_order(rsps, clock):
    ids = list(range(1, 61))

    def reply(request):
        got = [int(v) for v in parse_qs(urlsplit(request.url).query)["filter[id][]"]]
        body = {"_embedded": {"contacts": [{"id": i, "name": f"К{i}"} for i in reversed(got)]}}
        return 200, {}, json.dumps(body)

    rsps.add_callback(responses.GET, f"{BASE}/api/v4/contacts", callback=reply)

    contacts = make_client(clock).contacts([*ids, 3])

    assert [c.id for c in contacts] == ids
    assert len(rsps.calls) == 2


def test_leads_are_read_by_id_in_batches_with_their_contacts(rsps, clock):
    ids = list(range(1, 121))

    def reply(request):
        query = parse_qs(urlsplit(request.url).query)
        assert query["with"] == ["contacts"]
        got = [int(v) for v in query["filter[id][]"] if int(v) != 7]  # 7 was deleted
        leads = [{"id": i, "_embedded": {"contacts": [{"id": i * 10}]}} for i in reversed(got)]
        return 200, {}, json.dumps({"_embedded": {"leads": leads}})

    rsps.add_callback(responses.GET, f"{BASE}/api/v4/leads", callback=reply)

    leads = make_client(clock).leads(ids)

    assert [lead.id for lead in leads] == [i for i in ids if i != 7]
    assert leads[0].contact_ids == (10,)
    assert len(rsps.calls) == 3  # 50 ids a request, not a request a lead


def test_pipelines_parse_v4_stages_in_board_order(rsps, clock):
    rsps.add(
        responses.GET,
        f"{BASE}/api/v4/leads/pipelines",
        json={
            "_embedded": {
                "pipelines": [
                    {
                        "id": 5,
                        "name": "Продажи",
                        "is_main": True,
                        "_embedded": {
                            "statuses": [
                                {"id": 142, "name": "Успешно реализовано", "sort": 10000},
                                {"id": 11, "name": "Первичный контакт", "sort": 10},
                            ]
                        },
                    }
                ]
            }
        },
    )

    [pipeline] = make_client(clock).pipelines()

    assert [s.name for s in pipeline.stages] == ["Первичный контакт", "Успешно реализовано"]


# -- the HTTP session -----------------------------------------------------------------------------


def test_requests_carry_user_agent_bearer_and_default_timeout(rsps, clock):
    rsps.add(responses.GET, f"{BASE}/api/v4/account", json={"id": 1})

    make_client(clock, timeout=12).account()

    request = rsps.calls[0].request
    assert request.headers["User-Agent"].startswith("leoweb-bot/")
    assert request.headers["Authorization"] == f"Bearer {TOKEN}"
    assert request.req_kwargs["timeout"] == (3.05, 12)


def test_client_repr_hides_the_token(clock):
    client = make_client(clock)

    assert TOKEN not in repr(client)
    assert "***" in repr(client)


def test_client_is_a_context_manager(clock):
    with make_client(clock) as client:
        assert client.base_url == BASE
