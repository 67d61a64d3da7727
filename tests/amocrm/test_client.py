"""AmoClient over a faked network (``responses``): pagination, retries, errors, v2 and v4 reads."""

from __future__ import annotations

import email.utils
import json
from urllib.parse import parse_qs
from urllib.parse import urlsplit

import pytest
import requests
import responses
from responses import matchers

from leoweb_bot.amocrm import AmoClient
from leoweb_bot.amocrm import AmoError
from leoweb_bot.amocrm import AuthError
from leoweb_bot.amocrm import BadRequest
from leoweb_bot.amocrm import Blocked
from leoweb_bot.amocrm import Forbidden
from leoweb_bot.amocrm import NotFound
from leoweb_bot.amocrm import PaymentRequired
from leoweb_bot.amocrm import RateLimited
from leoweb_bot.amocrm import RateLimiter
from leoweb_bot.amocrm import Unavailable
from leoweb_bot.amocrm import build_client
from leoweb_bot.config import AmoSettings
from tests.kit.fakeclock import FakeClock

BASE = "https://leo.amocrm.ru"
TOKEN = "long-lived-token-5f2a9c"
API_KEY = "user-hash-0c1d2e3f"
NOW = 1_764_000_000
HTML_429 = "<html><head><title>429 Too Many Requests</title></head><body>nginx</body></html>"
HTML_403 = "<html><head><title>403 Forbidden</title></head><body>nginx</body></html>"


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(NOW)


def make_client(clock: FakeClock, **settings: object) -> AmoClient:
    values = {"base_url": BASE, "auth": "token", "token": TOKEN, **settings}
    return build_client(
        AmoSettings(**values),  # type: ignore[arg-type]
        clock=clock.time,
        sleep=clock.sleep,
        monotonic=clock.time,  # the operation's deadline runs on the same test clock
        # Throttle waits advance the clock but are not retry sleeps, so keep them apart.
        limiter=RateLimiter(7, clock=clock.time, sleep=clock.advance),
    )


def session_client(rsps: responses.RequestsMock, clock: FakeClock) -> AmoClient:
    rsps.add(
        responses.POST,
        f"{BASE}/private/api/auth.php",
        json={"response": {"auth": True, "accounts": [{"name": "Leo"}]}},
        headers={"Set-Cookie": "session_id=sess-1; path=/; secure; HttpOnly"},
    )
    return make_client(clock, auth="session", login="boss@leo.kz", api_key=API_KEY)


def task_v4(task_id: int, due: int | None, *, done: bool = False, user: int = 7) -> dict:
    return {
        "id": task_id,
        "text": f"Позвонить {task_id}",
        "responsible_user_id": user,
        "complete_till": due,
        "is_completed": done,
        "entity_type": "leads",
        "entity_id": 100 + task_id,
        "task_type_id": 1,
        "result": [],
    }


def tasks_page(tasks: list[dict], next_href: str | None = None) -> dict:
    links = {"self": {"href": "..."}}
    if next_href:
        links["next"] = {"href": next_href}
    return {"_page": 1, "_links": links, "_embedded": {"tasks": tasks}}


# -- pagination ------------------------------------------------------------------------------


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


def test_overdue_scan_stops_at_the_first_task_not_overdue(rsps, clock):
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

    overdue = make_client(clock).overdue_tasks(NOW)

    assert [t.id for t in overdue] == [2, 3, 4]
    assert len(rsps.calls) == 2


def test_overdue_tasks_filters_by_responsible_user(rsps, clock):
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

    assert [t.id for t in make_client(clock).overdue_tasks(NOW, responsible_user_id=7)] == [1]


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


# -- retries ---------------------------------------------------------------------------------


def test_429_with_html_body_is_retried_then_succeeds(rsps, clock):
    rsps.add(
        responses.GET, f"{BASE}/api/v4/account", status=429, body=HTML_429, content_type="text/html"
    )
    rsps.add(responses.GET, f"{BASE}/api/v4/account", json={"id": 1, "name": "Leo"})

    account = make_client(clock).account()

    assert account.name == "Leo"
    assert len(rsps.calls) == 2
    assert len(clock.slept) == 1


def test_429_storm_ends_in_rate_limited_within_the_wait_cap(rsps, clock):
    rsps.add(
        responses.GET, f"{BASE}/api/v4/account", status=429, body=HTML_429, content_type="text/html"
    )

    with pytest.raises(RateLimited):
        make_client(clock).account()

    assert sum(clock.slept) <= 20
    assert 2 <= len(rsps.calls) <= 8


def test_retry_after_is_honoured(rsps, clock):
    rsps.add(responses.GET, f"{BASE}/api/v4/account", status=429, headers={"Retry-After": "3"})
    rsps.add(responses.GET, f"{BASE}/api/v4/account", json={"id": 1})

    make_client(clock).account()

    assert clock.slept == [3.0]


def test_retry_after_beyond_the_cap_gives_up_at_once(rsps, clock):
    rsps.add(responses.GET, f"{BASE}/api/v4/account", status=429, headers={"Retry-After": "60"})

    with pytest.raises(RateLimited):
        make_client(clock).account()

    assert clock.slept == []
    assert len(rsps.calls) == 1


@pytest.mark.parametrize("status", [502, 503, 504])
def test_gateway_errors_are_retried(rsps, clock, status):
    rsps.add(responses.GET, f"{BASE}/api/v4/account", status=status)
    rsps.add(responses.GET, f"{BASE}/api/v4/account", json={"id": 1})

    assert make_client(clock).account().id == 1
    assert len(rsps.calls) == 2


def test_persistent_server_error_ends_in_unavailable(rsps, clock):
    rsps.add(responses.GET, f"{BASE}/api/v4/account", status=503)

    with pytest.raises(Unavailable) as exc:
        make_client(clock).account()

    assert exc.value.status == 503
    assert sum(clock.slept) <= 20


def test_read_timeout_ends_in_unavailable(rsps, clock):
    rsps.add(responses.GET, f"{BASE}/api/v4/account", body=requests.ReadTimeout("slow"))

    with pytest.raises(Unavailable):
        make_client(clock).account()

    assert sum(clock.slept) <= 20


def test_connection_error_ends_in_unavailable(rsps, clock):
    rsps.add(responses.GET, f"{BASE}/api/v4/account", body=requests.ConnectionError("refused"))

    with pytest.raises(Unavailable):
        make_client(clock).account()


def test_completing_a_task_is_retried_after_a_timeout_since_patch_is_idempotent(rsps, clock):
    rsps.add(responses.PATCH, f"{BASE}/api/v4/tasks/5", body=requests.ReadTimeout("slow"))
    rsps.add(
        responses.PATCH,
        f"{BASE}/api/v4/tasks/5",
        match=[matchers.json_params_matcher({"is_completed": True, "result": {"text": "Готово"}})],
        json={"id": 5, "updated_at": NOW},
    )

    make_client(clock).complete_task(5, "Готово")

    assert len(rsps.calls) == 2


# -- status → error --------------------------------------------------------------------------


def test_402_raises_payment_required(rsps, clock):
    rsps.add(
        responses.GET,
        f"{BASE}/api/v4/leads",
        status=402,
        json={"title": "Payment Required", "status": 402, "detail": "Account not paid"},
    )

    with pytest.raises(PaymentRequired) as exc:
        list(make_client(clock).iter_leads())

    assert "Account not paid" in str(exc.value)


def test_400_carries_problem_detail_and_validation_errors(rsps, clock):
    problem = {
        "title": "Bad Request",
        "status": 400,
        "detail": "Request validation failed",
        "validation-errors": [
            {
                "request_id": "0",
                "errors": [
                    {
                        "code": "NotSupportedChoice",
                        "path": "result.text",
                        "detail": "The value you selected is not valid",
                    }
                ],
            }
        ],
    }
    rsps.add(
        responses.PATCH,
        f"{BASE}/api/v4/tasks/5",
        status=400,
        json=problem,
        content_type="application/problem+json",
    )

    with pytest.raises(BadRequest) as exc:
        make_client(clock).complete_task(5, "x")

    assert str(exc.value) == "amocrm 400: Request validation failed"
    assert "result.text: The value you selected is not valid" in exc.value.detail


def test_401_with_a_long_lived_token_raises_auth_error_naming_the_remedy(rsps, clock):
    rsps.add(
        responses.GET,
        f"{BASE}/api/v4/account",
        status=401,
        json={"title": "Unauthorized", "status": 401, "detail": "Token expired"},
    )

    with pytest.raises(AuthError) as exc:
        make_client(clock).account()

    assert "long-lived token" in str(exc.value)
    assert TOKEN not in str(exc.value)
    assert len(rsps.calls) == 1


def test_404_and_204_on_one_entity_raise_not_found(rsps, clock):
    rsps.add(responses.GET, f"{BASE}/api/v4/leads/1", status=404, json={"title": "Not Found"})
    rsps.add(responses.GET, f"{BASE}/api/v4/leads/2", status=204)
    client = make_client(clock)

    with pytest.raises(NotFound):
        client.lead(1)
    with pytest.raises(NotFound):
        client.lead(2)


def test_html_403_after_429s_is_a_block_and_the_cool_down_sends_nothing(rsps, clock):
    rsps.add(
        responses.GET, f"{BASE}/api/v4/account", status=429, body=HTML_429, content_type="text/html"
    )
    rsps.add(
        responses.GET, f"{BASE}/api/v4/account", status=403, body=HTML_403, content_type="text/html"
    )
    client = make_client(clock)

    with pytest.raises(Blocked) as exc:
        client.account()
    assert "support" in str(exc.value)
    assert len(rsps.calls) == 2

    clock.advance(9 * 60)
    with pytest.raises(Blocked):
        client.account()
    assert len(rsps.calls) == 2  # refused without a request

    clock.advance(2 * 60)
    rsps.add(responses.GET, f"{BASE}/api/v4/account", json={"id": 1})
    assert client.account().id == 1


def test_json_403_long_after_any_429_is_forbidden_not_blocked(rsps, clock):
    rsps.add(
        responses.GET,
        f"{BASE}/api/v4/leads/pipelines",
        status=403,
        json={"title": "Forbidden", "status": 403, "detail": "Access denied"},
    )

    with pytest.raises(Forbidden):
        make_client(clock).pipelines()


def test_non_json_success_body_raises_amo_error(rsps, clock):
    rsps.add(
        responses.GET,
        f"{BASE}/api/v4/account",
        body="<html>maintenance</html>",
        content_type="text/html",
    )

    with pytest.raises(AmoError, match="expected JSON"):
        make_client(clock).account()


# -- users -----------------------------------------------------------------------------------


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
    caplog.set_level("INFO", logger="leoweb_bot.amocrm.client")

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


# -- leads, contacts, pipelines, account -----------------------------------------------------


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


# -- the HTTP session ------------------------------------------------------------------------


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


# -- API v2 (session mode) -------------------------------------------------------------------


def test_v2_task_shapes_parse(rsps, clock):
    client = session_client(rsps, clock)
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

    overdue = client.overdue_tasks(NOW)

    assert [t.id for t in overdue] == [1, 2]
    assert (overdue[0].entity_type, overdue[0].entity_id, overdue[0].complete_till) == (
        "leads",
        456,
        NOW - 100,
    )
    assert (overdue[1].entity_type, overdue[1].entity_id, overdue[1].result) == (None, None, "")


def test_v2_lead_tasks_ask_by_element_id_and_are_sorted_and_rechecked_here(rsps, clock):
    client = session_client(rsps, clock)
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


def test_v2_paging_stops_on_a_short_page(rsps, clock):
    client = session_client(rsps, clock)
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


def test_v2_users_are_an_object_keyed_by_id(rsps, clock):
    client = session_client(rsps, clock)
    rsps.add(
        responses.GET,
        f"{BASE}/api/v2/account",
        match=[matchers.query_param_matcher({"with": "users"})],
        json={
            "_embedded": {"users": {"7": {"name": "Сарбиназ"}, "8": {"id": 8, "name": "Милана"}}}
        },
    )

    assert {i: u.name for i, u in client.users().items()} == {7: "Сарбиназ", 8: "Милана"}


def test_v2_pipelines_with_statuses_keyed_by_id(rsps, clock):
    client = session_client(rsps, clock)
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


def test_v2_complete_task_posts_an_update_keeping_the_task_text(rsps, clock):
    client = session_client(rsps, clock)
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


def test_retry_after_as_an_http_date_is_measured_on_the_injected_clock(rsps, clock):
    when = email.utils.formatdate(NOW + 4, usegmt=True)
    rsps.add(responses.GET, f"{BASE}/api/v4/account", status=503, headers={"Retry-After": when})
    rsps.add(responses.GET, f"{BASE}/api/v4/account", json={"id": 1})

    make_client(clock).account()

    assert clock.slept == [4.0]


def test_a_broken_answer_is_unavailable(rsps, clock):
    rsps.add(
        responses.GET, f"{BASE}/api/v4/account", body=requests.exceptions.ChunkedEncodingError()
    )

    with pytest.raises(Unavailable):
        make_client(clock).account()


def test_v2_open_tasks_are_sorted_by_deadline_here_since_v2_cannot(rsps, clock):
    client = session_client(rsps, clock)
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


def test_a_retry_after_in_other_digits_is_ignored_not_a_crash(rsps, clock):
    # A header is latin-1: "²" can arrive, and str.isdigit() accepts what float() rejects.
    rsps.add(responses.GET, f"{BASE}/api/v4/account", status=429, headers={"Retry-After": "²"})
    rsps.add(responses.GET, f"{BASE}/api/v4/account", json={"id": 1, "name": "Leo"})

    assert make_client(clock).account().name == "Leo"
    assert len(clock.slept) == 1
