"""Legacy API v2 task writes: ``POST /api/v2/tasks`` with ``{"update": [...]}``.

The v2 docs are gone, so the request and reply shapes are UNCONFIRMED
(docs/amocrm.md#api-v2-shapes). They follow the client's ``_complete_task_v2`` and v2 replies
that public clients quote in comments:
``{"_links": ..., "_embedded": {"items": [{"id", "_links"}], "errors": {"update": {id: why}}}}``,
with per-item failures reported as ``errors`` in a 200 reply rather than as an HTTP error.
"""

from __future__ import annotations

from typing import TYPE_CHECKING
from typing import Any

from flask import Blueprint
from flask import Response
from flask import current_app
from flask import request

from leoweb_bot.forms import php_form
from leoweb_bot.ids import parse_id
from leoweb_bot.sandbox.replies import ApiError
from leoweb_bot.sandbox.replies import hal

if TYPE_CHECKING:
    from leoweb_bot.sandbox.server import Sandbox

Json = dict[str, Any]

v2_writes = Blueprint("amocrm_v2_writes", __name__)

_MAX_BATCH = 500  # as many as one v2 page holds; the real write limit is UNCONFIRMED
_TRUE = (True, "1", "true", "y")  # 1 == True, so a JSON 1 counts too
_FALSE = (False, "0", "false", "n")
# Quoted verbatim from v2 replies in public clients: updated_at must not go back in time.
STALE = "Last modified date is older than in database"
NOT_FOUND = "Element not found"  # wording UNCONFIRMED


def _sandbox() -> Sandbox:
    sandbox: Sandbox = current_app.extensions["leoweb_sandbox"]
    return sandbox


@v2_writes.post("/api/v2/tasks")
def update_tasks() -> Response:
    items = _update_items(_payload())
    store = _sandbox().store
    done: list[int] = []
    errors: dict[str, str] = {}
    changes: list[tuple[int, Json]] = []
    for index, item in enumerate(items):
        task_id, updated_at, fields = _task_update(item, index)
        stored = store.get("tasks", task_id)
        if stored is None:
            errors[str(task_id)] = NOT_FOUND
        elif updated_at < stored["updated_at"]:
            errors[str(task_id)] = STALE
        else:
            changes.append((task_id, fields))
            done.append(task_id)
    if changes:
        store.update("tasks", changes)  # the same store update as the v4 PATCH
    embedded: Json = {"items": [_receipt(task_id) for task_id in done]}
    if errors:
        embedded["errors"] = {"update": errors}
    return hal(
        {"_links": {"self": {"href": "/api/v2/tasks", "method": "post"}}, "_embedded": embedded}
    )


def _receipt(task_id: int) -> Json:
    return {
        "id": task_id,
        "_links": {"self": {"href": f"/api/v2/tasks?id={task_id}", "method": "get"}},
    }


def _payload() -> Json:
    """A JSON body, or PHP-style form fields such as ``update[0][result][text]``."""
    body = request.get_json(silent=True)
    if isinstance(body, dict):
        return body
    return php_form(request.get_data(as_text=True))


def _update_items(payload: Json) -> list[Any]:
    if set(payload) - {"update"}:
        raise ApiError(400, "the sandbox emulates only v2 task updates", path="update")
    items = payload.get("update")
    if isinstance(items, dict) and all(parse_id(k) is not None for k in items):
        items = [items[k] for k in sorted(items, key=int)]  # form fields: update[0], update[1]
    if not isinstance(items, list) or not 1 <= len(items) <= _MAX_BATCH:
        raise ApiError(400, f"update must list 1 to {_MAX_BATCH} tasks", path="update")
    return items


def _task_update(item: Any, index: int) -> tuple[int, int, Json]:
    """(task id, the caller's updated_at, v4-named field changes) of one ``update`` item."""
    if not isinstance(item, dict):
        raise ApiError(400, "each update must be an object", path="update", request_id=index)
    task_id = _integer(item, "id", index)
    updated_at = _integer(item, "updated_at", index)  # v2 updates require it (UNCONFIRMED)
    fields: Json = {}
    if "is_completed" in item:
        fields["is_completed"] = _flag(item["is_completed"], index)
    if "text" in item:
        fields["text"] = _text(item["text"], "text", index)
    if "result" in item:
        result = item["result"]
        text = result.get("text") if isinstance(result, dict) else None
        fields["result"] = {"text": _text(text, "result.text", index)}
    if "complete_till_at" in item:
        fields["complete_till"] = _integer(item, "complete_till_at", index)
    if "responsible_user_id" in item:
        fields["responsible_user_id"] = _integer(item, "responsible_user_id", index)
    return task_id, updated_at, fields


def _integer(item: Json, name: str, index: int) -> int:
    value = item.get(name)
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str) and (number := parse_id(value)) is not None:
        return number
    raise ApiError(400, f"{name} must be an integer", path=name, request_id=index)


def _flag(value: Any, index: int) -> bool:
    if isinstance(value, str):
        value = value.lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ApiError(400, "is_completed must be true or false", path="is_completed", request_id=index)


def _text(value: Any, name: str, index: int) -> str:
    if not isinstance(value, str):
        raise ApiError(400, f"{name} must be a string", path=name, request_id=index)
    return value
