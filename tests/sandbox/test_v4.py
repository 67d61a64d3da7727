"""The sandbox's API v4: tokens, paging, order, filters, leads, pipelines, contacts, PATCH."""

from __future__ import annotations

from typing import Any

import pytest
from flask.testing import FlaskClient

from leoweb_bot.sandbox import Sandbox
from leoweb_bot.sandbox.catalog import SALES_PIPELINE_ID
from tests.sandbox.kit import NOW


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
