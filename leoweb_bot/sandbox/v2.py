"""Legacy API v2 reads: session login, account with users, tasks, leads, contacts.

The v2 docs are gone, so these shapes come from clients and fixtures
(docs/amocrm.md#api-v2-shapes; login: docs/amocrm.md#authentication); UNCONFIRMED fields are
noted where they are produced. Everything is derived from the v4-shaped demo data when served.
"""

from __future__ import annotations

from typing import TYPE_CHECKING
from typing import Any

from flask import Blueprint
from flask import Response
from flask import current_app
from flask import request
from werkzeug.datastructures import MultiDict

from leoweb_bot.sandbox import catalog
from leoweb_bot.sandbox.queries import LeadQuery
from leoweb_bot.sandbox.queries import TaskQuery
from leoweb_bot.sandbox.replies import ApiError
from leoweb_bot.sandbox.replies import body_params
from leoweb_bot.sandbox.replies import hal
from leoweb_bot.sandbox.replies import int_arg
from leoweb_bot.sandbox.replies import int_values
from leoweb_bot.sandbox.replies import no_content
from leoweb_bot.sandbox.replies import plain_json

if TYPE_CHECKING:
    from leoweb_bot.sandbox.auth import Gatekeeper
    from leoweb_bot.sandbox.server import Sandbox

Json = dict[str, Any]

v2 = Blueprint("amocrm_v2", __name__)

_MAX_ROWS = 500  # rows per v2 request, at most (docs/amocrm.md#api-v2-shapes)


def _sandbox() -> Sandbox:
    sandbox: Sandbox = current_app.extensions["leoweb_sandbox"]
    return sandbox


def v2_error(status: int, error: str, code: str) -> Response:
    """The v2 error envelope, as in the failed-login body of UsefulWeb/AmoCRM#3
    (docs/amocrm.md#authentication)."""
    body = {
        "response": {
            "error": error,
            "error_code": code,
            "ip": request.remote_addr,
            "domain": request.host,
            "server_time": int(_sandbox().clock()),
        }
    }
    return plain_json(body, status)


def authorised(gatekeeper: Gatekeeper) -> bool:
    """A live ``session_id`` cookie, a Bearer token (v2 accepts OAuth tokens too), or
    USER_LOGIN/USER_HASH in the query string, as older clients sent on every call."""
    return (
        gatekeeper.session_ok(request.cookies.get("session_id"))
        or gatekeeper.bearer_ok(request.headers.get("Authorization"))
        or gatekeeper.password_ok(request.args.get("USER_LOGIN"), request.args.get("USER_HASH"))
    )


@v2.post("/private/api/auth.php")
def login() -> Response:
    # Without type=json amoCRM answers XML; the sandbox always answers JSON.
    sandbox = _sandbox()
    params = {**request.args.to_dict(), **body_params()}
    if not sandbox.gatekeeper.password_ok(params.get("USER_LOGIN"), params.get("USER_HASH")):
        return v2_error(401, "Неверный логин или пароль", "110")
    account = sandbox.data.account
    summary = {
        "id": account["id"],
        "name": account["name"],
        "subdomain": account["subdomain"],
        "language": "ru",
        "timezone": catalog.TIMEZONE,
    }
    body = {
        "response": {
            "auth": True,
            "accounts": [summary],
            "user": {"id": account["current_user_id"], "language": "ru"},
            "server_time": int(sandbox.clock()),
        }
    }
    response = plain_json(body)
    response.set_cookie("session_id", sandbox.gatekeeper.open_session(), path="/", httponly=True)
    return response


@v2.get("/api/v2/account")
def account() -> Response:
    data = _sandbox().data
    wanted = {part.strip() for part in request.args.get("with", "").split(",")}
    body: Json = {
        "_links": {"self": {"href": "/api/v2/account", "method": "get"}},
        "id": data.account["id"],
        "name": data.account["name"],
        "subdomain": data.account["subdomain"],
        "currency": data.account["currency"],
        "timezone": catalog.TIMEZONE,
        "language": "ru",
        "current_user": data.account["current_user_id"],
    }
    embedded: Json = {}
    if "users" in wanted:
        # An object keyed by user id, not a list (docs/amocrm.md#api-v2-shapes).
        embedded["users"] = {str(u["id"]): _v2_user(u) for u in data.users}
    if "pipelines" in wanted:
        embedded["pipelines"] = {str(p["id"]): _v2_pipeline(p) for p in data.pipelines}
    if embedded:
        body["_embedded"] = embedded
    return hal(body)


def _v2_user(user: Json) -> Json:
    rights = user["rights"]
    return {
        "id": user["id"],
        "name": user["name"],
        "login": user["email"],
        "language": user["lang"],
        "group_id": 0,
        "is_admin": rights["is_admin"],
        "is_active": rights["is_active"],
        "is_free": rights["is_free"],
    }


def _v2_pipeline(pipeline: Json) -> Json:
    # Keyed-object layout by analogy with users; the exact v2 pipeline shape is UNCONFIRMED.
    statuses = {
        str(s["id"]): {
            "id": s["id"],
            "name": s["name"],
            "color": s["color"],
            "sort": s["sort"],
            "editable": "Y" if s["is_editable"] else "N",
        }
        for s in pipeline["_embedded"]["statuses"]
    }
    keys = ("id", "name", "sort", "is_main")
    return {**{k: pipeline[k] for k in keys}, "statuses": statuses}


def _window(args: MultiDict[str, str]) -> tuple[int, int]:
    limit = int_arg(args, "limit_rows", _MAX_ROWS)
    offset = int_arg(args, "limit_offset", 0)
    # What amoCRM does above 500 rows is unknown; the sandbox refuses, to expose client bugs.
    if not 1 <= limit <= _MAX_ROWS or offset < 0:
        raise ApiError(400, f"limit_rows must be 1-{_MAX_ROWS}, limit_offset >= 0", path="limit")
    return offset, limit


def _items(rows: list[Json], path: str) -> Response:
    if not rows:
        return no_content()  # code 2002 "nothing found" is a 204 (docs/amocrm.md#empty-answers-204)
    return hal({"_links": {"self": {"href": path, "method": "get"}}, "_embedded": {"items": rows}})


@v2.get("/api/v2/tasks")
def tasks() -> Response:
    args = request.args
    offset, limit = _window(args)
    status = args.get("filter[status]")
    if status not in (None, "", "0", "1"):
        raise ApiError(400, "filter[status] must be 0 (open) or 1 (done)", path="filter[status]")
    query = TaskQuery(
        is_completed=None if not status else status == "1",
        # responsible_user_id[] goes at top level, not inside filter (docs/amocrm.md#api-v2-shapes).
        responsible=int_values(args, "responsible_user_id"),
        entity_type=catalog.COLLECTIONS.get(args.get("type", "")),
        entity_ids=int_values(args, "element_id"),
        ids=int_values(args, "id"),
    )
    rows = _sandbox().store.select_tasks(query)[offset : offset + limit]
    return _items([_v2_task(t) for t in rows], "/api/v2/tasks")


def _v2_task(task: Json) -> Json:
    # Field set from docs/amocrm.md#api-v2-shapes; the exact set and the `result` shape are
    # UNCONFIRMED.
    # A task attached to nothing gets element_id/element_type 0, also UNCONFIRMED.
    result = task["result"]
    return {
        "id": task["id"],
        "element_id": task["entity_id"] or 0,
        "element_type": catalog.ELEMENT_TYPES.get(task["entity_type"], 0),
        "complete_till_at": task["complete_till"],
        "task_type": task["task_type_id"],
        "text": task["text"],
        "responsible_user_id": task["responsible_user_id"],
        "is_completed": task["is_completed"],
        "created_by": task["created_by"],
        "created_at": task["created_at"],
        "updated_at": task["updated_at"],
        "account_id": task["account_id"],
        "group_id": task["group_id"],
        "duration": task["duration"],
        # The result is a note; its id here is synthetic.
        "result": {"id": task["id"] + 900_000_000, **result} if result else {},
        "_links": {"self": {"href": f"/api/v2/tasks?id={task['id']}", "method": "get"}},
    }


@v2.get("/api/v2/leads")
def leads() -> Response:
    args = request.args
    offset, limit = _window(args)
    query = LeadQuery(
        ids=int_values(args, "id"),
        responsible=int_values(args, "responsible_user_id"),
        status_ids=int_values(args, "status"),
        text=args.get("query"),
    )
    rows = _sandbox().store.select_leads(query)[offset : offset + limit]
    return _items([_v2_lead(lead) for lead in rows], "/api/v2/leads")


def _v2_lead(lead: Json) -> Json:
    # Shape of a public v2 test fixture (docs/amocrm.md#api-v2-shapes); open leads carry
    # closed_at 0 there.
    contact_ids = [c["id"] for c in lead["_embedded"]["contacts"]]
    main = next((c["id"] for c in lead["_embedded"]["contacts"] if c["is_main"]), None)
    return {
        "id": lead["id"],
        "name": lead["name"],
        "responsible_user_id": lead["responsible_user_id"],
        "created_by": lead["created_by"],
        "created_at": lead["created_at"],
        "updated_at": lead["updated_at"],
        "updated_by": lead["updated_by"],
        "account_id": lead["account_id"],
        "group_id": lead["group_id"],
        "is_deleted": lead["is_deleted"],
        "status_id": lead["status_id"],
        "pipeline_id": lead["pipeline_id"],
        "pipeline": {"id": lead["pipeline_id"]},
        "sale": lead["price"],
        "closed_at": lead["closed_at"] or 0,
        "closest_task_at": lead["closest_task_at"] or 0,
        "main_contact": {"id": main} if main else {},
        "contacts": {"id": contact_ids} if contact_ids else {},
        "company": {},
        "tags": {},
        "custom_fields": [],
        "_links": {"self": {"href": f"/api/v2/leads?id={lead['id']}", "method": "get"}},
    }


@v2.get("/api/v2/contacts")
def contacts() -> Response:
    args = request.args
    offset, limit = _window(args)
    store = _sandbox().store
    rows = store.select_contacts(
        int_values(args, "id"), args.get("query"), int_values(args, "responsible_user_id")
    )[offset : offset + limit]
    return _items([_v2_contact(c, store.lead_ids_of(c["id"])) for c in rows], "/api/v2/contacts")


def _v2_contact(contact: Json, lead_ids: list[int]) -> Json:
    # Field set as public v2 clients model a contact; exact shape UNCONFIRMED
    # (docs/amocrm.md#unconfirmed).
    return {
        "id": contact["id"],
        "name": contact["name"],
        "responsible_user_id": contact["responsible_user_id"],
        "created_by": contact["created_by"],
        "created_at": contact["created_at"],
        "updated_at": contact["updated_at"],
        "updated_by": contact["updated_by"],
        "account_id": contact["account_id"],
        "group_id": contact["group_id"],
        "closest_task_at": contact["closest_task_at"] or 0,
        "company": {},
        "leads": {"id": lead_ids} if lead_ids else {},
        "customers": {},
        "tags": [],
        "custom_fields": [_v2_field(f) for f in contact["custom_fields_values"] or ()],
        "_links": {"self": {"href": f"/api/v2/contacts?id={contact['id']}", "method": "get"}},
    }


def _v2_field(field: Json) -> Json:
    # v2 names the field code `code` (v4: `field_code`) and a value's enum `enum` (v4:
    # `enum_id`); serving the enum id as a string is UNCONFIRMED.
    return {
        "id": field["field_id"],
        "name": field["field_name"],
        "code": field["field_code"],
        "is_system": field["field_code"] is not None,
        "values": [
            {"value": v["value"], **({"enum": str(v["enum_id"])} if v.get("enum_id") else {})}
            for v in field["values"]
        ],
    }
