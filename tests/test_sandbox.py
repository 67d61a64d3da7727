"""The amoCRM sandbox: deterministic demo data, API shapes, auth lifetimes and faults."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from collections import Counter
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
import pytz
import requests
from flask.testing import FlaskClient
from hypothesis import example
from hypothesis import given
from hypothesis import settings
from hypothesis import strategies as st

from leoweb_bot.amocrm import build_client
from leoweb_bot.config import AmoSettings
from leoweb_bot.sandbox import Sandbox
from leoweb_bot.sandbox import generate
from leoweb_bot.sandbox.catalog import DELETED_USER_ID
from leoweb_bot.sandbox.catalog import SALES_PIPELINE_ID
from leoweb_bot.sandbox.faults import BLOCK_AFTER
from leoweb_bot.sandbox.faults import RateLimiter
from leoweb_bot.sandbox.schedule import NOW_GAP
from leoweb_bot.sandbox.schedule import overdue_target

ALMATY = pytz.timezone("Asia/Almaty")
NOW = int(ALMATY.localize(datetime(2026, 11, 25, 14, 5)).timestamp())
MIDNIGHT = int(ALMATY.localize(datetime(2026, 11, 26)).timestamp())
MANAGERS = ["Зелимхан", "Милана", "Сарбиназ", "Айгерим", "Данияр", "Асель", "Нурлан", "Камила"]


class FakeClock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(NOW)


@pytest.fixture
def sandbox(clock: FakeClock) -> Sandbox:
    return Sandbox(now=NOW, clock=clock, rate_limit=0)


@pytest.fixture
def client(sandbox: Sandbox) -> FlaskClient:
    return sandbox.app.test_client()


@pytest.fixture
def auth(sandbox: Sandbox) -> dict[str, str]:
    return {"Authorization": f"Bearer {sandbox.credentials.token}"}


def _embedded(client: FlaskClient, url: str, auth: dict[str, str], key: str) -> list[Any]:
    response = client.get(url, headers=auth)
    assert response.status_code == 200, response.data
    return response.get_json()["_embedded"][key]


def _walk(client: FlaskClient, url: str, auth: dict[str, str]) -> list[dict[str, Any]]:
    """Every task of a listing, following ``_links.next`` until it is absent."""
    tasks: list[dict[str, Any]] = []
    while url:
        response = client.get(url, headers=auth)
        assert response.status_code == 200, response.data
        body = response.get_json()
        tasks += body["_embedded"]["tasks"]
        url = body["_links"].get("next", {}).get("href")
    return tasks


# --- demo data -------------------------------------------------------------------------------


def test_generate_is_deterministic_for_a_seed() -> None:
    first = generate(seed=7, tasks=120, managers=10, now=NOW)
    assert first == generate(seed=7, tasks=120, managers=10, now=NOW)
    assert first.tasks != generate(seed=8, tasks=120, managers=10, now=NOW).tasks


@settings(max_examples=40, deadline=None)
@given(
    tasks=st.integers(0, 400),
    now=st.integers(1_700_000_000, 1_900_000_000),
    seed=st.integers(0, 10_000),
)
@example(tasks=300, now=MIDNIGHT + 600, seed=1)  # just after midnight: yesterday's 23:59 is near
@example(tasks=300, now=MIDNIGHT - 600, seed=1)  # just before: today's 23:59 is near
@example(tasks=10, now=NOW, seed=1)  # 2.5 overdue rounds up to 3
def test_a_quarter_of_open_tasks_is_overdue_and_none_is_due_near_now(
    tasks: int, now: int, seed: int
) -> None:
    data = generate(seed=seed, tasks=tasks, now=now)
    open_tasks = [t for t in data.tasks if not t["is_completed"]]
    assert len(open_tasks) == tasks
    overdue = sum(t["complete_till"] < now for t in open_tasks)
    assert overdue == overdue_target(tasks) == int(tasks / 4 + 0.5)
    assert all(abs(t["complete_till"] - now) > NOW_GAP for t in data.tasks)


def test_demo_looks_like_the_agency() -> None:
    data = generate(tasks=300, now=NOW)
    names = [u["name"] for u in data.users]
    assert names == ["Администратор", *MANAGERS]
    assert data.account["current_user_id"] == data.users[0]["id"]
    assert data.users[0]["rights"]["is_admin"]
    ids = [t["id"] for t in data.tasks]
    assert ids == list(range(5000001, 5000001 + len(ids)))
    deadlines = [t["complete_till"] for t in data.tasks]
    assert deadlines != sorted(deadlines)
    assert 300 < len(data.tasks) <= 330
    owners = {t["responsible_user_id"] for t in data.tasks}
    assert DELETED_USER_ID in owners and DELETED_USER_ID not in {u["id"] for u in data.users}
    all_day = [
        d for d in deadlines if datetime.fromtimestamp(d, ALMATY).strftime("%H:%M") == "23:59"
    ]
    assert 0.04 < len(all_day) / len(deadlines) < 0.16
    assert {t["entity_type"] for t in data.tasks} == {"leads", "contacts", None}
    assert all(t["result"] == [] for t in data.tasks if not t["is_completed"])
    assert all(t["result"]["text"] for t in data.tasks if t["is_completed"])


def test_overdue_tasks_rank_managers_clearly_and_the_oldest_is_weeks_old() -> None:
    data = generate(tasks=300, now=NOW)
    overdue = [t for t in data.tasks if not t["is_completed"] and t["complete_till"] < NOW]
    counts = sorted(Counter(t["responsible_user_id"] for t in overdue).values(), reverse=True)
    assert counts[0] >= 3 * counts[-1]
    assert NOW - min(t["complete_till"] for t in overdue) > 14 * 86400


def test_leads_contacts_and_pipelines_are_realistic() -> None:
    data = generate(tasks=60, now=NOW)
    assert len(data.leads) == 30
    for pipeline in data.pipelines:
        statuses = pipeline["_embedded"]["statuses"]
        assert {142, 143} <= {s["id"] for s in statuses}
        assert [s["type"] for s in statuses].count(1) == 1
    main = next(p for p in data.pipelines if p["is_main"])
    stage_names = [s["name"] for s in main["_embedded"]["statuses"]]
    assert stage_names[1:6] == [
        "Первичный контакт",
        "50%",
        "Рано обратившиеся",
        "Недозвон",
        "Условный отказ",
    ]
    for lead in data.leads:
        assert (lead["closed_at"] is not None) == (lead["status_id"] in (142, 143))
    for contact in data.contacts:
        phone, email = (f["values"][0]["value"] for f in contact["custom_fields_values"])
        assert re.fullmatch(r"\+7 7\d\d \d{3} \d\d \d\d", phone)
        assert re.fullmatch(r"[a-z.]+\d*@[a-z.]+", email)


def test_twenty_thousand_tasks_page_in_deadline_order() -> None:
    # Speed is measured by bench/overdue_report.py, not asserted here (machines are noisy).
    sandbox = Sandbox(tasks=20_000, now=NOW, rate_limit=0)
    client = sandbox.app.test_client()
    auth = {"Authorization": f"Bearer {sandbox.credentials.token}"}
    url = "/api/v4/tasks?filter[is_completed]=0&order[complete_till]=asc&limit=250&page={}"
    dues = []
    for page in (1, 2, 3):
        tasks = _embedded(client, url.format(page), auth, "tasks")
        assert len(tasks) == 250
        dues += [t["complete_till"] for t in tasks]
    assert dues == sorted(dues)


# --- API v4 ----------------------------------------------------------------------------------


@pytest.mark.parametrize("header", [None, "Bearer wrong", "Basic abc"])
def test_v4_without_a_valid_token_is_401_problem_json(client: FlaskClient, header: str) -> None:
    response = client.get("/api/v4/tasks", headers={"Authorization": header} if header else {})
    assert response.status_code == 401
    assert response.content_type == "application/problem+json"
    body = response.get_json()
    assert (body["title"], body["status"], body["type"]) == (
        "Unauthorized",
        401,
        "https://httpstatus.es/401",
    )


def test_account_tells_the_company_timezone(client: FlaskClient, auth: dict[str, str]) -> None:
    response = client.get("/api/v4/account?with=datetime_settings", headers=auth)
    assert response.content_type.startswith("application/hal+json")
    body = response.get_json()
    assert (body["name"], body["subdomain"]) == ("Leo Group Services", "leogroup")
    assert body["_embedded"]["datetime_settings"]["timezone"] == "Asia/Almaty"
    assert body["_embedded"]["datetime_settings"]["timezone_offset"] == "+05:00"


def test_pages_follow_next_links_and_end_with_204(
    sandbox: Sandbox, client: FlaskClient, auth: dict[str, str]
) -> None:
    tasks = _walk(client, "/api/v4/tasks?filter[is_completed]=0&limit=40", auth)
    ids = [t["id"] for t in tasks]
    assert ids == sorted(ids)  # no order given: by id
    assert set(ids) == {t["id"] for t in sandbox.data.tasks if not t["is_completed"]}
    last = client.get("/api/v4/tasks?filter[is_completed]=0&limit=40&page=8", headers=auth)
    assert last.get_json()["_page"] == 8 and "next" not in last.get_json()["_links"]
    beyond = client.get("/api/v4/tasks?filter[is_completed]=0&limit=40&page=9", headers=auth)
    assert (beyond.status_code, beyond.data) == (204, b"")


@pytest.mark.parametrize("direction", ["asc", "desc"])
def test_order_by_complete_till(client: FlaskClient, auth: dict[str, str], direction: str) -> None:
    tasks = _walk(client, f"/api/v4/tasks?order[complete_till]={direction}&limit=250", auth)
    deadlines = [t["complete_till"] for t in tasks]
    assert deadlines == sorted(deadlines, reverse=direction == "desc")
    assert len(tasks) == 330


def test_task_filters(sandbox: Sandbox, client: FlaskClient, auth: dict[str, str]) -> None:
    everything = sandbox.data.tasks

    def ids(query: str) -> set[int]:
        return {t["id"] for t in _walk(client, f"/api/v4/tasks?limit=250&{query}", auth)}

    mine = {t["id"] for t in everything if t["responsible_user_id"] == 1387123}
    assert ids("filter[responsible_user_id]=1387123") == mine
    pair = {t["id"] for t in everything if t["responsible_user_id"] in (1387123, 1387124)}
    assert (
        ids("filter[responsible_user_id][]=1387123&filter[responsible_user_id][]=1387124") == pair
    )
    assert (
        ids("filter[responsible_user_id][0]=1387123&filter[responsible_user_id][1]=1387124") == pair
    )
    assert ids("filter[is_completed]=1") == {t["id"] for t in everything if t["is_completed"]}
    on_contact = next(t for t in everything if t["entity_type"] == "contacts")
    query = f"filter[entity_type]=contacts&filter[entity_id]={on_contact['entity_id']}"
    assert on_contact["id"] in ids(query)
    assert ids("filter[id][]=5000003&filter[id][]=5000007") == {5000003, 5000007}


def test_bad_paging_is_400_problem_json(client: FlaskClient, auth: dict[str, str]) -> None:
    response = client.get("/api/v4/tasks?limit=251", headers=auth)
    assert response.status_code == 400
    assert response.content_type == "application/problem+json"
    errors = response.get_json()["validation-errors"][0]["errors"]
    assert errors[0]["path"] == "limit"
    assert client.get("/api/v4/tasks?limit=250", headers=auth).status_code == 200
    assert client.get("/api/v4/tasks?page=0", headers=auth).status_code == 400
    assert client.get("/api/v4/tasks?order[text]=asc", headers=auth).status_code == 400


def test_single_lead_is_204_when_missing_and_embeds_contacts_on_request(
    sandbox: Sandbox, client: FlaskClient, auth: dict[str, str]
) -> None:
    missing = client.get("/api/v4/leads/1", headers=auth)
    assert (missing.status_code, missing.data) == (204, b"")
    lead_id = sandbox.data.leads[0]["id"]
    plain = client.get(f"/api/v4/leads/{lead_id}", headers=auth).get_json()
    assert "contacts" not in plain["_embedded"]
    full = client.get(f"/api/v4/leads/{lead_id}?with=contacts", headers=auth).get_json()
    assert full["_embedded"]["contacts"][0]["is_main"] is True
    assert full["_links"]["self"]["href"] == f"http://localhost/api/v4/leads/{lead_id}"


def test_lead_search_and_filters(
    sandbox: Sandbox, client: FlaskClient, auth: dict[str, str]
) -> None:
    url = "/api/v4/leads?limit=250&"
    for lead in _embedded(client, url + "query=ЧЕХИИ", auth, "leads"):
        assert "чехии" in lead["name"].lower()
    contact = sandbox.data.contacts[0]
    phone = contact["custom_fields_values"][0]["values"][0]["value"]
    by_phone = _embedded(client, url + f"query={phone[3:12]}&with=contacts", auth, "leads")
    assert any(c["id"] == contact["id"] for lead in by_phone for c in lead["_embedded"]["contacts"])
    won = f"filter[statuses][0][pipeline_id]={SALES_PIPELINE_ID}&filter[statuses][0][status_id]=142"
    for lead in _embedded(client, url + won, auth, "leads"):
        assert (lead["pipeline_id"], lead["status_id"]) == (SALES_PIPELINE_ID, 142)
    since = NOW - 10 * 86400
    for lead in _embedded(client, url + f"filter[closed_at][from]={since}", auth, "leads"):
        assert lead["closed_at"] >= since
    assert client.get(url + "query=nobody-has-this", headers=auth).status_code == 204


def test_pipelines_contacts_and_users(
    sandbox: Sandbox, client: FlaskClient, auth: dict[str, str]
) -> None:
    pipelines = _embedded(client, "/api/v4/leads/pipelines", auth, "pipelines")
    assert [p["name"] for p in pipelines] == ["Продажи", "Повторные продажи"]
    contact = sandbox.data.contacts[3]
    found = _embedded(client, f"/api/v4/contacts?query={contact['last_name']}", auth, "contacts")
    assert contact["id"] in {c["id"] for c in found}
    card = client.get(f"/api/v4/contacts/{contact['id']}", headers=auth).get_json()
    assert card["custom_fields_values"][0]["field_code"] == "PHONE"
    users = client.get("/api/v4/users?limit=5", headers=auth).get_json()
    assert (users["_total_items"], users["_page_count"]) == (9, 2)
    assert users["_embedded"]["users"][1]["name"] == "Зелимхан"
    sandbox.users_forbidden = True
    assert client.get("/api/v4/users", headers=auth).status_code == 403


def test_patch_completes_tasks(sandbox: Sandbox, client: FlaskClient, auth: dict[str, str]) -> None:
    open_url = "/api/v4/tasks?filter[is_completed]=0&limit=250&order[complete_till]=asc"
    first, second, third = _walk(client, open_url, auth)[:3]
    body = {"is_completed": True, "result": {"text": "Созвонились"}}
    response = client.patch(f"/api/v4/tasks/{first['id']}", json=body, headers=auth)
    assert response.status_code == 200
    assert response.get_json()["id"] == first["id"] and "updated_at" in response.get_json()
    card = client.get(f"/api/v4/tasks/{first['id']}", headers=auth).get_json()
    assert card["is_completed"] is True and card["result"] == {"text": "Созвонились"}
    batch = [{"id": t["id"], "is_completed": True} for t in (second, third)]
    receipts = client.patch("/api/v4/tasks", json=batch, headers=auth).get_json()
    assert [r["id"] for r in receipts["_embedded"]["tasks"]] == [second["id"], third["id"]]
    assert len(_walk(client, open_url, auth)) == 297
    assert sum(not t["is_completed"] for t in sandbox.data.tasks) == 297
    missing = client.patch("/api/v4/tasks/1", json={"is_completed": True}, headers=auth)
    assert missing.status_code == 404
    wrong = client.patch(f"/api/v4/tasks/{first['id']}", json={"is_completed": "yes"}, headers=auth)
    assert wrong.status_code == 400


# --- OAuth and v2 sessions -------------------------------------------------------------------


def _exchange(client: FlaskClient, sandbox: Sandbox, **fields: str) -> Any:
    creds = sandbox.credentials
    base = {
        "client_id": creds.client_id,
        "client_secret": creds.client_secret,
        "redirect_uri": creds.redirect_uri,
    }
    return client.post("/oauth2/access_token", json={**base, **fields})


def test_oauth_code_works_once(sandbox: Sandbox, client: FlaskClient) -> None:
    code = sandbox.credentials.auth_code
    first = _exchange(client, sandbox, grant_type="authorization_code", code=code)
    assert first.status_code == 200
    assert first.get_json()["token_type"] == "Bearer"
    assert first.get_json()["expires_in"] == 86400
    again = _exchange(client, sandbox, grant_type="authorization_code", code=code)
    assert again.status_code == 400 and again.get_json()["hint"]
    wrong_client = _exchange(
        client, sandbox, grant_type="authorization_code", code=code, client_secret="x"
    )
    assert wrong_client.status_code == 400


def test_refresh_tokens_rotate_and_are_single_use(
    sandbox: Sandbox, client: FlaskClient, clock: FakeClock
) -> None:
    code = sandbox.credentials.auth_code
    pair = _exchange(client, sandbox, grant_type="authorization_code", code=code).get_json()
    form = {
        "client_id": sandbox.credentials.client_id,
        "client_secret": sandbox.credentials.client_secret,
        "redirect_uri": sandbox.credentials.redirect_uri,
        "grant_type": "refresh_token",
        "refresh_token": pair["refresh_token"],
    }
    renewed = client.post("/oauth2/access_token", data=form)  # form-encoded works too
    assert renewed.status_code == 200
    reused = client.post("/oauth2/access_token", data=form)
    assert reused.status_code == 401
    assert reused.get_json()["hint"] == "Token has been revoked"
    new_access = {"Authorization": f"Bearer {renewed.get_json()['access_token']}"}
    assert client.get("/api/v4/account", headers=new_access).status_code == 200
    clock.now += 86400
    assert client.get("/api/v4/account", headers=new_access).status_code == 401


def test_v2_login_cookie_expires_by_the_clock(
    sandbox: Sandbox, client: FlaskClient, clock: FakeClock
) -> None:
    creds = sandbox.credentials
    url = "/private/api/auth.php?type=json"
    denied = client.post(url, data={"USER_LOGIN": creds.login, "USER_HASH": "wrong"})
    assert denied.status_code == 401
    assert denied.get_json()["response"]["error_code"] == "110"
    assert client.get("/api/v2/account").status_code == 401
    login = client.post(url, json={"USER_LOGIN": creds.login, "USER_HASH": creds.api_key})
    assert login.get_json()["response"]["auth"] is True
    assert (
        "session_id=" in login.headers["Set-Cookie"] and "HttpOnly" in login.headers["Set-Cookie"]
    )
    account = client.get("/api/v2/account?with=users").get_json()
    assert account["timezone"] == "Asia/Almaty"
    assert account["_embedded"]["users"]["1387123"]["name"] == "Зелимхан"
    clock.now += 899
    assert client.get("/api/v2/account").status_code == 200
    clock.now += 2
    assert client.get("/api/v2/account").status_code == 401


def test_v2_tasks_and_leads(sandbox: Sandbox, client: FlaskClient) -> None:
    creds = sandbox.credentials
    client.post(
        "/private/api/auth.php?type=json",
        data={"USER_LOGIN": creds.login, "USER_HASH": creds.api_key},
    )
    url = "/api/v2/tasks?filter[status]=0&responsible_user_id[]=1387123&limit_rows=500"
    items = client.get(url).get_json()["_embedded"]["items"]
    expected = [
        t["id"]
        for t in sandbox.data.tasks
        if not t["is_completed"] and t["responsible_user_id"] == 1387123
    ]
    assert [i["id"] for i in items] == expected
    assert {i["element_type"] for i in items} <= {0, 1, 2}
    assert all("complete_till_at" in i and i["result"] == {} for i in items)
    assert client.get(url + "&limit_offset=500").status_code == 204
    assert client.get("/api/v2/tasks?limit_rows=501").status_code == 400
    leads = client.get("/api/v2/leads?limit_rows=5&limit_offset=5").get_json()["_embedded"]["items"]
    assert [lead["id"] for lead in leads] == [lead["id"] for lead in sandbox.data.leads[5:10]]
    assert all("main_contact" in lead and "sale" in lead for lead in leads)
    bearer = {"Authorization": f"Bearer {creds.token}"}
    assert sandbox.app.test_client().get("/api/v2/tasks", headers=bearer).status_code == 200


def _v2_login(client: FlaskClient, sandbox: Sandbox) -> None:
    creds = sandbox.credentials
    form = {"USER_LOGIN": creds.login, "USER_HASH": creds.api_key}
    assert client.post("/private/api/auth.php?type=json", data=form).status_code == 200


def test_v2_task_update_completes_like_the_v4_patch(
    sandbox: Sandbox, client: FlaskClient, clock: FakeClock
) -> None:
    first, second = [t for t in sandbox.data.tasks if not t["is_completed"]][:2]
    update = {"id": first["id"], "updated_at": NOW, "is_completed": True, "text": first["text"]}
    body = {"update": [{**update, "result": {"text": "Созвонились"}}]}
    assert client.post("/api/v2/tasks", json=body).status_code == 401
    _v2_login(client, sandbox)
    clock.now += 60
    reply = client.post("/api/v2/tasks", json=body)
    assert reply.status_code == 200
    assert reply.get_json() == {
        "_links": {"self": {"href": "/api/v2/tasks", "method": "post"}},
        "_embedded": {
            "items": [
                {
                    "id": first["id"],
                    "_links": {
                        "self": {"href": f"/api/v2/tasks?id={first['id']}", "method": "get"}
                    },
                }
            ]
        },
    }
    stored = sandbox.store.get("tasks", first["id"])
    assert stored is not None
    assert (stored["is_completed"], stored["result"]) == (True, {"text": "Созвонились"})
    assert (stored["text"], stored["updated_at"]) == (first["text"], NOW + 60)
    listed = client.get(f"/api/v2/tasks?id={first['id']}").get_json()["_embedded"]["items"][0]
    assert listed["is_completed"] is True and listed["result"]["text"] == "Созвонились"
    # PHP-style form fields work too; an unknown id and a stale updated_at fail per item.
    form = {
        "update[0][id]": str(second["id"]),
        "update[0][updated_at]": str(NOW),
        "update[0][is_completed]": "1",
        "update[0][result][text]": "Отправили КП",
        "update[1][id]": "1",
        "update[1][updated_at]": str(NOW),
        "update[2][id]": str(first["id"]),
        "update[2][updated_at]": str(NOW),  # older than the write above
    }
    mixed = client.post("/api/v2/tasks", data=form).get_json()["_embedded"]
    assert [item["id"] for item in mixed["items"]] == [second["id"]]
    assert mixed["errors"] == {
        "update": {
            "1": "Element not found",
            str(first["id"]): "Last modified date is older than in database",
        }
    }
    assert sandbox.store.get("tasks", second["id"])["result"] == {"text": "Отправили КП"}
    bad = client.post("/api/v2/tasks", json={"update": [{"id": "x", "updated_at": NOW}]})
    assert bad.status_code == 400 and bad.get_json()["response"]["error_code"] == "400"
    bearer = {"Authorization": f"Bearer {sandbox.credentials.token}"}
    undo = {"update": [{"id": first["id"], "updated_at": NOW + 60, "is_completed": False}]}
    fresh = sandbox.app.test_client()
    assert fresh.post("/api/v2/tasks", json=undo, headers=bearer).status_code == 200
    assert sandbox.store.get("tasks", first["id"])["result"] == []


def test_v2_contacts_carry_phone_email_and_leads(sandbox: Sandbox, client: FlaskClient) -> None:
    _v2_login(client, sandbox)
    raw = sandbox.data.contacts[2]
    (item,) = client.get(f"/api/v2/contacts?id={raw['id']}").get_json()["_embedded"]["items"]
    phone, email = (f["values"][0]["value"] for f in raw["custom_fields_values"])
    assert (item["id"], item["name"]) == (raw["id"], raw["name"])
    assert item["responsible_user_id"] == raw["responsible_user_id"]
    assert [(f["name"], f["code"]) for f in item["custom_fields"]] == [
        ("Телефон", "PHONE"),
        ("Email", "EMAIL"),
    ]
    assert [f["values"][0]["value"] for f in item["custom_fields"]] == [phone, email]
    linked = [
        lead["id"]
        for lead in sandbox.data.leads
        if raw["id"] in {c["id"] for c in lead["_embedded"]["contacts"]}
    ]
    assert item["leads"] == {"id": linked} and linked
    assert item["_links"]["self"]["href"] == f"/api/v2/contacts?id={raw['id']}"
    ids = [c["id"] for c in sandbox.data.contacts[:3]]
    url = "/api/v2/contacts?" + "&".join(f"id[]={i}" for i in [*ids, 1])
    assert [c["id"] for c in client.get(url).get_json()["_embedded"]["items"]] == ids
    by_phone = client.get(f"/api/v2/contacts?query={phone[3:12]}").get_json()["_embedded"]
    assert raw["id"] in {c["id"] for c in by_phone["items"]}
    owner = raw["responsible_user_id"]
    mine = client.get(f"/api/v2/contacts?responsible_user_id={owner}&limit_rows=500")
    expected = [c["id"] for c in sandbox.data.contacts if c["responsible_user_id"] == owner]
    assert [c["id"] for c in mine.get_json()["_embedded"]["items"]] == expected
    page = client.get("/api/v2/contacts?limit_rows=3&limit_offset=3").get_json()["_embedded"]
    assert [c["id"] for c in page["items"]] == [c["id"] for c in sandbox.data.contacts[3:6]]
    assert client.get("/api/v2/contacts?query=nobody-has-this").status_code == 204
    assert client.get("/api/v2/contacts?limit_rows=501").status_code == 400


def test_session_client_completes_tasks_and_finds_contacts_over_v2() -> None:
    with Sandbox(tasks=40, rate_limit=0) as sandbox:
        assert sandbox.base_url is not None
        creds = sandbox.credentials
        settings = AmoSettings(
            base_url=sandbox.base_url,
            auth="session",
            login=creds.login,
            api_key=creds.api_key,
            rate_limit=1000,
        )
        with build_client(settings) as amo:
            task = next(amo.iter_tasks(is_completed=False))
            amo.complete_task(task.id, "Созвонились")
            done = amo.task(task.id)
            assert (done.is_completed, done.result, done.text) == (True, "Созвонились", task.text)
            raw = sandbox.data.contacts[4]
            phone, email = (f["values"][0]["value"] for f in raw["custom_fields_values"])
            found = amo.search_contacts(phone)
            assert [c.id for c in found] == [raw["id"]]
            assert (found[0].name, found[0].phones, found[0].emails) == (
                raw["name"],
                (phone,),
                (email,),
            )
            assert amo.contact(raw["id"]) == found[0]
            ids = [c["id"] for c in sandbox.data.contacts[:5]][::-1]
            assert [c.id for c in amo.contacts([*ids, 1])] == ids
        methods = {(method, path.split("?")[0]) for method, path in sandbox.requests_log}
        assert ("POST", "/api/v2/tasks") in methods
        assert not any(method == "PATCH" for method, _ in methods)  # no v4 fallback needed


# --- faults ----------------------------------------------------------------------------------


def test_rate_limit_answers_html_429_without_retry_after(
    sandbox: Sandbox, client: FlaskClient, auth: dict[str, str]
) -> None:
    monotonic = FakeClock(100.0)
    sandbox.limiter = RateLimiter(3, monotonic=monotonic)
    assert [client.get("/api/v4/account", headers=auth).status_code for _ in range(3)] == [200] * 3
    refused = client.get("/api/v4/account", headers=auth)
    assert refused.status_code == 429
    assert refused.content_type.startswith("text/html")
    assert b"429 Too Many Requests" in refused.data and "Retry-After" not in refused.headers
    monotonic.now += 1.0
    assert client.get("/api/v4/account", headers=auth).status_code == 200


def test_limiter_counts_accepted_requests_and_blocks_after_a_storm() -> None:
    monotonic = FakeClock(0.0)
    limiter = RateLimiter(2, monotonic=monotonic)
    assert [limiter.admit(), limiter.admit(), limiter.admit()] == [None, None, 429]
    monotonic.now = 0.999
    assert limiter.admit() == 429
    monotonic.now = 1.0  # rejected requests used no budget: the window is free again
    assert limiter.admit() is None
    assert limiter.admit() is None
    statuses = [limiter.admit() for _ in range(BLOCK_AFTER)]
    assert statuses == [429] * BLOCK_AFTER
    monotonic.now = 5.0
    assert limiter.admit() == 403
    monotonic.now = 62.0
    assert limiter.admit() is None


def test_unlimited_when_rate_limit_is_zero() -> None:
    limiter = RateLimiter(0)
    assert all(limiter.admit() is None for _ in range(100))


def test_inject_answers_the_next_requests(
    sandbox: Sandbox, client: FlaskClient, auth: dict[str, str]
) -> None:
    sandbox.inject(503, count=2)
    sandbox.inject(402)
    sandbox.inject(403, body="<html><body>blocked</body></html>")
    first, second = (client.get("/api/v4/tasks", headers=auth) for _ in range(2))
    assert (first.status_code, second.status_code) == (503, 503)
    assert first.content_type.startswith("text/html")
    unpaid = client.get("/api/v4/tasks", headers=auth)
    assert (unpaid.status_code, unpaid.get_json()["status"]) == (402, 402)
    blocked = client.get("/api/v4/tasks", headers=auth)
    assert (blocked.status_code, blocked.data) == (403, b"<html><body>blocked</body></html>")
    assert client.get("/api/v4/tasks", headers=auth).status_code == 200
    assert sandbox.request_count == 5
    assert sandbox.requests_log[-1] == ("GET", "/api/v4/tasks")


def test_latency_delays_each_api_answer() -> None:
    sandbox = Sandbox(now=NOW, latency_ms=60, rate_limit=0)
    started = time.perf_counter()
    sandbox.app.test_client().get("/api/v4/account")
    assert time.perf_counter() - started >= 0.06


# --- serving ---------------------------------------------------------------------------------


def test_start_and_stop_serve_real_http() -> None:
    with Sandbox(now=NOW, rate_limit=0) as sandbox:
        base_url = sandbox.base_url
        assert base_url is not None and re.fullmatch(r"http://127\.0\.0\.1:\d+", base_url)
        auth = {"Authorization": f"Bearer {sandbox.credentials.token}"}
        params = {"filter[is_completed]": 0, "limit": 250}
        response = requests.get(f"{base_url}/api/v4/tasks", params=params, headers=auth, timeout=5)
        assert response.status_code == 200
        follow = requests.get(response.json()["_links"]["next"]["href"], headers=auth, timeout=5)
        assert len(follow.json()["_embedded"]["tasks"]) == 50
        assert sandbox.request_count == 2
        assert sandbox.requests_log[0] == ("GET", "/api/v4/tasks?filter[is_completed]=0&limit=250")
    assert sandbox.base_url is None
    with pytest.raises(requests.ConnectionError):
        requests.get(f"{base_url}/api/v4/account", timeout=2)


def _python(code: str, **kwargs: Any) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    return subprocess.Popen([sys.executable, "-c", code], text=True, env=env, **kwargs)


def test_importing_the_package_starts_nothing() -> None:
    code = "import threading, leoweb_bot.sandbox; assert threading.active_count() == 1"
    assert _python(code).wait(timeout=20) == 0


def test_run_sandbox_prints_one_json_line_and_stops_on_sigterm() -> None:
    code = "from leoweb_bot.sandbox import run_sandbox; raise SystemExit(run_sandbox(port=0, tasks=40))"
    process = _python(code, stdout=subprocess.PIPE)
    try:
        assert process.stdout is not None
        announced = json.loads(process.stdout.readline())
        assert set(announced) >= {
            "base_url",
            "token",
            "login",
            "api_key",
            "auth_code",
            "seed",
            "now",
        }
        headers = {"Authorization": f"Bearer {announced['token']}"}
        account = requests.get(
            f"{announced['base_url']}/api/v4/account", headers=headers, timeout=5
        )
        assert account.json()["id"] == 31000001
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=10) == 0
    finally:
        process.kill()
