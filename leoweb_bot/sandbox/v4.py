"""API v4 routes of the sandbox: account, users, tasks (read and PATCH), leads, contacts.

Shapes and parameters follow docs/amocrm.md. Authentication and faults are
handled before these views run (see server.py), so every view here is an authorised call.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import TYPE_CHECKING
from typing import Any

import pytz
from flask import Blueprint
from flask import Response
from flask import current_app
from flask import request
from werkzeug.datastructures import MultiDict

from leoweb_bot.sandbox import catalog
from leoweb_bot.sandbox.queries import LeadQuery
from leoweb_bot.sandbox.queries import TaskQuery
from leoweb_bot.sandbox.replies import ApiError
from leoweb_bot.sandbox.replies import flag
from leoweb_bot.sandbox.replies import hal
from leoweb_bot.sandbox.replies import hal_page
from leoweb_bot.sandbox.replies import int_values
from leoweb_bot.sandbox.replies import no_content
from leoweb_bot.sandbox.replies import order_of
from leoweb_bot.sandbox.replies import page_and_limit
from leoweb_bot.sandbox.replies import self_link
from leoweb_bot.sandbox.replies import time_range
from leoweb_bot.sandbox.replies import with_links
from leoweb_bot.sandbox.store import Store

if TYPE_CHECKING:
    from leoweb_bot.sandbox.server import Sandbox

Json = dict[str, Any]

v4 = Blueprint("amocrm_v4", __name__, url_prefix="/api/v4")

_ENTITY_TYPES = ("leads", "contacts", "companies", "customers")
_MAX_BATCH = 250  # entities per write (docs/amocrm.md#rate-limits)
# Fields a PATCH may change, with their JSON types; others are ignored, as amoCRM ignores
# unknown fields (UNCONFIRMED).
_EDITABLE: dict[str, type] = {
    "is_completed": bool,
    "result": dict,
    "text": str,
    "complete_till": int,
    "responsible_user_id": int,
}


def _sandbox() -> Sandbox:
    sandbox: Sandbox = current_app.extensions["leoweb_sandbox"]
    return sandbox


def _store() -> Store:
    return _sandbox().store


def _with(args: MultiDict[str, str]) -> set[str]:
    return {part.strip() for part in args.get("with", "").split(",") if part.strip()}


@v4.get("/account")
def account() -> Response:
    sandbox = _sandbox()
    body = with_links(sandbox.data.account, "/api/v4/account")
    wanted = _with(request.args)
    embedded: Json = {}
    if "datetime_settings" in wanted:
        embedded["datetime_settings"] = _datetime_settings(sandbox.clock())
    if "users_groups" in wanted:
        embedded["users_groups"] = [{"id": 0, "name": "Отдел продаж", "uuid": None}]
    if "task_types" in wanted:
        embedded["task_types"] = list(catalog.TASK_TYPES)
    if embedded:
        body["_embedded"] = embedded
    return hal(body)


def _datetime_settings(now: float) -> Json:
    offset = datetime.fromtimestamp(now, pytz.timezone(catalog.TIMEZONE)).strftime("%z")
    return {
        "date_pattern": "d.m.Y H:i",
        "short_date_pattern": "d.m.Y",
        "short_time_pattern": "H:i",
        # The docs spell it "date_formant"; the PHP SDK reads "date_format"
        # (docs/amocrm.md#account-and-time).
        "date_formant": "d.m.Y",
        "date_format": "d.m.Y",
        "time_format": "H:i:s",
        "timezone": catalog.TIMEZONE,
        "timezone_offset": f"{offset[:3]}:{offset[3:]}",
    }


@v4.get("/users")
def users() -> Response:
    sandbox = _sandbox()
    if sandbox.users_forbidden:
        # /users is for administrators only (docs/amocrm.md#users).
        raise ApiError(403, "Access to the users list is allowed to account administrators only")
    page, limit = page_and_limit(request.args)
    return hal_page(
        sandbox.data.users,
        "users",
        page,
        limit,
        lambda user: with_links(user, f"/api/v4/users/{user['id']}"),
        totals=True,
    )


def _task_view(task: Json) -> Json:
    return with_links(task, f"/api/v4/tasks/{task['id']}")


@v4.get("/tasks")
def tasks() -> Response:
    args = request.args
    page, limit = page_and_limit(args)
    entity_type = args.get("filter[entity_type]") or None
    if entity_type not in (None, *_ENTITY_TYPES):
        raise ApiError(400, f"unknown entity type {entity_type}", path="filter[entity_type]")
    query = TaskQuery(
        is_completed=flag(args, "filter[is_completed]"),
        responsible=int_values(args, "filter[responsible_user_id]"),
        entity_type=entity_type,
        entity_ids=int_values(args, "filter[entity_id]"),
        ids=int_values(args, "filter[id]"),
        updated_at=time_range(args, "filter[updated_at]"),
        # Tasks cannot be ordered by updated_at (docs/amocrm.md#tasks): that answers 400 here;
        # whether amoCRM refuses it or ignores it is UNCONFIRMED.
        order=order_of(args, ("complete_till", "created_at", "id")),
    )
    return hal_page(_store().select_tasks(query), "tasks", page, limit, _task_view)


@v4.get("/tasks/<int:task_id>")
def task(task_id: int) -> Response:
    # A missing entity answers 204 as the leads docs say (docs/amocrm.md#empty-answers-204);
    # that tasks do the same is UNCONFIRMED (some endpoints answer 404).
    found = _store().get("tasks", task_id)
    return no_content() if found is None else hal(_task_view(found))


@v4.patch("/tasks/<int:task_id>")
def update_task(task_id: int) -> Response:
    changes = _task_changes(request.get_json(silent=True), 0)
    (updated,) = _update([(task_id, changes)])
    return hal(_update_receipt(updated))


@v4.patch("/tasks")
def update_tasks() -> Response:
    body = request.get_json(silent=True)
    if not isinstance(body, list) or not 1 <= len(body) <= _MAX_BATCH:
        raise ApiError(400, f"send a list of 1 to {_MAX_BATCH} tasks", path="tasks")
    changes = []
    for index, item in enumerate(body):
        task_id = item.get("id") if isinstance(item, dict) else None
        if not isinstance(task_id, int) or isinstance(task_id, bool):
            raise ApiError(400, "each task needs an integer id", path="id", request_id=index)
        changes.append((task_id, _task_changes(item, index)))
    receipts = [_update_receipt(t) for t in _update(changes)]
    return hal({"_links": self_link("/api/v4/tasks"), "_embedded": {"tasks": receipts}})


def _task_changes(body: Any, index: int) -> Json:
    if not isinstance(body, dict):
        raise ApiError(400, "a task must be a JSON object", path="body", request_id=index)
    changes: Json = {}
    for field, kind in _EDITABLE.items():
        if field not in body:
            continue
        value = body[field]
        if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
            raise ApiError(400, f"{field} must be {kind.__name__}", path=field, request_id=index)
        changes[field] = value
    if "result" in changes:
        text = changes["result"].get("text")
        if not isinstance(text, str):
            raise ApiError(400, "result.text must be a string", path="result", request_id=index)
        changes["result"] = {"text": text}
    return changes


def _update(changes: list[tuple[int, Json]]) -> list[Json]:
    try:
        return _store().update("tasks", changes)
    except KeyError as missing:
        # The status for PATCHing an unknown task is UNCONFIRMED; 404 is the least surprising.
        raise ApiError(404, f"task {missing.args[0]} not found") from None


def _update_receipt(task: Json) -> Json:
    # A write answers only id and updated_at (docs/amocrm.md#tasks).
    return {
        "id": task["id"],
        "updated_at": task["updated_at"],
        "_links": self_link(f"/api/v4/tasks/{task['id']}"),
    }


def _lead_view(lead: Json, with_contacts: bool) -> Json:
    embedded: Json = {"tags": [], "companies": []}
    if with_contacts:  # embedded only on request (docs/amocrm.md#leads-contacts-pipelines)
        embedded["contacts"] = [
            with_links(c, f"/api/v4/contacts/{c['id']}") for c in lead["_embedded"]["contacts"]
        ]
    return {**with_links(lead, f"/api/v4/leads/{lead['id']}"), "_embedded": embedded}


@v4.get("/leads")
def leads() -> Response:
    args = request.args
    page, limit = page_and_limit(args)
    query = LeadQuery(
        ids=int_values(args, "filter[id]"),
        responsible=int_values(args, "filter[responsible_user_id]"),
        pipelines=int_values(args, "filter[pipeline_id]"),
        statuses=_status_pairs(args),
        closed_at=time_range(args, "filter[closed_at]"),
        created_at=time_range(args, "filter[created_at]"),
        updated_at=time_range(args, "filter[updated_at]"),
        text=args.get("query"),
        order=order_of(args, ("created_at", "updated_at", "id")),
    )
    with_contacts = "contacts" in _with(args)
    rows = _store().select_leads(query)
    return hal_page(rows, "leads", page, limit, lambda lead: _lead_view(lead, with_contacts))


def _status_pairs(args: MultiDict[str, str]) -> frozenset[tuple[int, int]] | None:
    """``filter[statuses][i][pipeline_id]`` + ``[status_id]``; 142/143 need the pipeline
    too (docs/amocrm.md#leads-contacts-pipelines)."""
    found: dict[str, dict[str, str]] = {}
    for key in args:
        match = re.fullmatch(r"filter\[statuses\]\[(\d+)\]\[(pipeline_id|status_id)\]", key)
        if match:
            found.setdefault(match.group(1), {})[match.group(2)] = args[key]
    if not found:
        return None
    try:
        return frozenset((int(p["pipeline_id"]), int(p["status_id"])) for p in found.values())
    except (KeyError, ValueError):
        detail = "each filter[statuses][i] needs integer pipeline_id and status_id"
        raise ApiError(400, detail, path="filter[statuses]") from None


@v4.get("/leads/<int:lead_id>")
def lead(lead_id: int) -> Response:
    found = _store().get("leads", lead_id)
    if found is None:
        return no_content()  # a missing lead is a 204 (docs/amocrm.md#empty-answers-204)
    return hal(_lead_view(found, "contacts" in _with(request.args)))


@v4.get("/leads/pipelines")
def pipelines() -> Response:
    rows = [_pipeline_view(p) for p in _sandbox().data.pipelines]
    return hal(
        {
            "_total_items": len(rows),
            "_links": self_link("/api/v4/leads/pipelines"),
            "_embedded": {"pipelines": rows},
        }
    )


def _pipeline_view(pipeline: Json) -> Json:
    path = f"/api/v4/leads/pipelines/{pipeline['id']}"
    statuses = [
        with_links(s, f"{path}/statuses/{s['id']}") for s in pipeline["_embedded"]["statuses"]
    ]
    return {**with_links(pipeline, path), "_embedded": {"statuses": statuses}}


def _contact_view(contact: Json) -> Json:
    return with_links(contact, f"/api/v4/contacts/{contact['id']}")


@v4.get("/contacts")
def contacts() -> Response:
    args = request.args
    page, limit = page_and_limit(args)
    rows = _store().select_contacts(int_values(args, "filter[id]"), args.get("query"))
    return hal_page(rows, "contacts", page, limit, _contact_view)


@v4.get("/contacts/<int:contact_id>")
def contact(contact_id: int) -> Response:
    found = _store().get("contacts", contact_id)
    return no_content() if found is None else hal(_contact_view(found))
