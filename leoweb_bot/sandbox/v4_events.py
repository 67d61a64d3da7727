"""API v4 events list: ``GET /api/v4/events`` and ``GET /api/v4/events/{id}``.

Filters as documented (docs/amocrm.md#events-api): ``filter[id]``, ``filter[type]`` and
``filter[entity]`` (one value, an array, or a comma list), ``filter[entity_id]`` (only with
exactly one entity), ``filter[created_by]``, ``filter[created_at]`` (``TS``, ``FROM,TO`` or
``[from]``/``[to]``). A page holds at most 100 events; a client that asks for more gets the
default 50 (what clients asking for 250 saw, docs/amocrm.md#events-api), not an error.
"""

from __future__ import annotations

from typing import TYPE_CHECKING
from typing import Any

from flask import Blueprint
from flask import Response
from flask import current_app
from flask import request

from leoweb_bot.sandbox import catalog
from leoweb_bot.sandbox.events import EventLog
from leoweb_bot.sandbox.events import EventQuery
from leoweb_bot.sandbox.replies import DEFAULT_LIMIT
from leoweb_bot.sandbox.replies import ApiError
from leoweb_bot.sandbox.replies import hal
from leoweb_bot.sandbox.replies import hal_page
from leoweb_bot.sandbox.replies import int_values
from leoweb_bot.sandbox.replies import no_content
from leoweb_bot.sandbox.replies import page_and_limit
from leoweb_bot.sandbox.replies import self_link
from leoweb_bot.sandbox.replies import text_values
from leoweb_bot.sandbox.replies import time_range
from leoweb_bot.sandbox.replies import with_links

if TYPE_CHECKING:
    from leoweb_bot.sandbox.server import Sandbox

Json = dict[str, Any]

v4_events = Blueprint("amocrm_v4_events", __name__, url_prefix="/api/v4")

EVENTS_LIMIT = 100
_COLLECTIONS = {**catalog.COLLECTIONS, "task": "tasks"}  # event entity_type → v4 path


def _log() -> EventLog:
    sandbox: Sandbox = current_app.extensions["leoweb_sandbox"]
    return sandbox.events


@v4_events.get("/events")
def events() -> Response:
    args = request.args
    page, asked = page_and_limit(args)
    limit = asked if asked <= EVENTS_LIMIT else DEFAULT_LIMIT
    entities = text_values(args, "filter[entity]")
    if entities is not None and not entities <= set(_COLLECTIONS):
        unknown = ", ".join(sorted(entities - set(_COLLECTIONS)))
        raise ApiError(400, f"unknown entity {unknown}", path="filter[entity]")
    entity_ids = int_values(args, "filter[entity_id]")
    if entity_ids is not None and (entities is None or len(entities) != 1):
        detail = "filter[entity_id] needs exactly one filter[entity]"
        raise ApiError(400, detail, path="filter[entity_id]")
    query = EventQuery(
        ids=text_values(args, "filter[id]"),
        types=text_values(args, "filter[type]"),
        entities=entities,
        entity_ids=entity_ids,
        created_by=int_values(args, "filter[created_by]"),
        created_at=time_range(args, "filter[created_at]"),
    )
    return hal_page(_log().select(query), "events", page, limit, _event_view)


@v4_events.get("/events/<event_id>")
def event(event_id: str) -> Response:
    found = _log().get(event_id)
    return no_content() if found is None else hal(_event_view(found))


def _event_view(event: Json) -> Json:
    path = f"/api/v4/{_COLLECTIONS[event['entity_type']]}/{event['entity_id']}"
    entity = {"id": event["entity_id"], "_links": self_link(path)}
    return {**with_links(event, f"/api/v4/events/{event['id']}"), "_embedded": {"entity": entity}}
