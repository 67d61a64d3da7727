"""``POST /_sandbox/ui/…``: the web-UI person of ui.py over HTTP, for tests in other processes.

Not an amoCRM path, so no token, rate limit or injected fault applies. Bodies are JSON
objects; every one may carry ``by`` (the user who clicks). Answers are the entity as it now
is (as it was, for a delete) in plain JSON; an unknown id is a 404, a refused value a 400.

    POST /_sandbox/ui/tasks                        {text, complete_till, responsible_user_id,
                                                    entity_type?, entity_id?, task_type_id?}
    POST /_sandbox/ui/tasks/<id>/complete          {result?}
    POST /_sandbox/ui/tasks/<id>/delete            {}
    POST /_sandbox/ui/tasks/<id>/deadline          {complete_till}
    POST /_sandbox/ui/tasks/<id>/responsible       {responsible_user_id}
    POST /_sandbox/ui/leads                        {name, responsible_user_id, pipeline_id?,
                                                    status_id?, price?}
    POST /_sandbox/ui/leads/<id>/status            {status_id, pipeline_id?}
    POST /_sandbox/ui/leads/<id>/close             {won}
    POST /_sandbox/ui/leads/<id>/responsible       {responsible_user_id}
"""

from __future__ import annotations

from typing import TYPE_CHECKING
from typing import Any

from flask import Blueprint
from flask import Response
from flask import current_app
from flask import request

from leoweb_bot.sandbox.replies import ApiError
from leoweb_bot.sandbox.replies import plain_json
from leoweb_bot.sandbox.ui import ADMIN
from leoweb_bot.sandbox.ui import WebUi

if TYPE_CHECKING:
    from leoweb_bot.sandbox.server import Sandbox

Json = dict[str, Any]

ui_routes = Blueprint("sandbox_ui", __name__, url_prefix="/_sandbox/ui")


def _ui() -> WebUi:
    sandbox: Sandbox = current_app.extensions["leoweb_sandbox"]
    return sandbox.ui


@ui_routes.errorhandler(LookupError)
def _unknown(error: LookupError) -> Response:
    return ApiError(404, str(error).strip("'\"")).response()


@ui_routes.errorhandler(ValueError)
def _refused(error: ValueError) -> Response:
    return ApiError(400, str(error)).response()


@ui_routes.post("/tasks")
def add_task() -> Response:
    body = _body()
    options: Json = {
        name: _number(body, name) for name in ("entity_id", "task_type_id") if name in body
    }
    if "entity_type" in body:
        options["entity_type"] = _text(body, "entity_type")
    added = _ui().add_task(
        _text(body, "text"),
        _number(body, "complete_till"),
        _number(body, "responsible_user_id"),
        by=_by(body),
        **options,
    )
    return plain_json(added, 201)


@ui_routes.post("/tasks/<int:task_id>/complete")
def complete_task(task_id: int) -> Response:
    body = _body()
    result = _text(body, "result") if "result" in body else ""
    return plain_json(_ui().complete_task(task_id, result, by=_by(body)))


@ui_routes.post("/tasks/<int:task_id>/delete")
def delete_task(task_id: int) -> Response:
    return plain_json(_ui().delete_task(task_id, by=_by(_body())))


@ui_routes.post("/tasks/<int:task_id>/deadline")
def move_deadline(task_id: int) -> Response:
    body = _body()
    due = _number(body, "complete_till")
    return plain_json(_ui().move_deadline(task_id, due, by=_by(body)))


@ui_routes.post("/tasks/<int:task_id>/responsible")
def reassign_task(task_id: int) -> Response:
    body = _body()
    user = _number(body, "responsible_user_id")
    return plain_json(_ui().reassign_task(task_id, user, by=_by(body)))


@ui_routes.post("/leads")
def add_lead() -> Response:
    body = _body()
    names = ("pipeline_id", "status_id", "price")
    options = {name: _number(body, name) for name in names if name in body}
    added = _ui().add_lead(
        _text(body, "name"), _number(body, "responsible_user_id"), by=_by(body), **options
    )
    return plain_json(added, 201)


@ui_routes.post("/leads/<int:lead_id>/status")
def move_lead(lead_id: int) -> Response:
    body = _body()
    pipeline = _number(body, "pipeline_id") if "pipeline_id" in body else None
    moved = _ui().move_lead(lead_id, _number(body, "status_id"), pipeline_id=pipeline, by=_by(body))
    return plain_json(moved)


@ui_routes.post("/leads/<int:lead_id>/close")
def close_lead(lead_id: int) -> Response:
    body = _body()
    won = body.get("won")
    if not isinstance(won, bool):
        raise ApiError(400, "won must be true or false", path="won")
    return plain_json(_ui().close_lead(lead_id, won=won, by=_by(body)))


@ui_routes.post("/leads/<int:lead_id>/responsible")
def reassign_lead(lead_id: int) -> Response:
    body = _body()
    user = _number(body, "responsible_user_id")
    return plain_json(_ui().reassign_lead(lead_id, user, by=_by(body)))


def _body() -> Json:
    body = request.get_json(silent=True) if request.content_length else {}
    if not isinstance(body, dict):
        raise ApiError(400, "send a JSON object", path="body")
    return body


def _by(body: Json) -> int:
    return _number(body, "by") if "by" in body else ADMIN


def _number(body: Json, name: str) -> int:
    value = body.get(name)
    if not isinstance(value, int) or isinstance(value, bool):
        raise ApiError(400, f"{name} must be an integer", path=name)
    return value


def _text(body: Json, name: str) -> str:
    value = body.get(name)
    if not isinstance(value, str):
        raise ApiError(400, f"{name} must be a string", path=name)
    return value
