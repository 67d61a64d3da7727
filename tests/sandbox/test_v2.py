"""The sandbox's legacy API v2: tasks, leads, contacts and task updates behind a session."""

from __future__ import annotations

from flask.testing import FlaskClient

from leoweb_bot.amocrm import build_client
from leoweb_bot.config import AmoSettings
from leoweb_bot.sandbox import Sandbox
from tests.kit.fakeclock import FakeClock
from tests.sandbox.kit import NOW


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
            assert amo.contacts([raw["id"]]) == found
            ids = [c["id"] for c in sandbox.data.contacts[:5]][::-1]
            assert [c.id for c in amo.contacts([*ids, 1])] == ids
        methods = {(method, path.split("?")[0]) for method, path in sandbox.requests_log}
        assert ("POST", "/api/v2/tasks") in methods
        assert not any(method == "PATCH" for method, _ in methods)  # no v4 fallback needed


def test_v2_task_update_with_other_digits_is_a_400_not_a_crash(
    sandbox: Sandbox, client: FlaskClient
) -> None:
    _v2_login(client, sandbox)
    for body in ({"update": [{"id": "²", "updated_at": NOW}]}, {"update[²][id]": "1"}):
        sent = {"json": body} if "update" in body else {"data": body}
        assert client.post("/api/v2/tasks", **sent).status_code == 400
