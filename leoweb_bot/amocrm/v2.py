"""Legacy API v2 shapes (session mode): ``_embedded.items`` lists paged by ``limit_rows`` and
``limit_offset``, objects keyed by id, no sort and no ``closed_at`` filter.

The v2 docs are gone, so these shapes come from client libraries and fixtures and many are
unconfirmed (docs/amocrm.md#api-v2-shapes).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from collections.abc import Iterator
from collections.abc import Mapping
from typing import Any

from leoweb_bot.amocrm.errors import AuthError
from leoweb_bot.amocrm.errors import BadRequest
from leoweb_bot.amocrm.errors import Forbidden
from leoweb_bot.amocrm.errors import NotFound
from leoweb_bot.amocrm.funnel import Body
from leoweb_bot.amocrm.funnel import Funnel
from leoweb_bot.amocrm.funnel import Params
from leoweb_bot.amocrm.models import Account
from leoweb_bot.amocrm.models import Entity
from leoweb_bot.amocrm.models import Lead
from leoweb_bot.amocrm.models import Listed
from leoweb_bot.amocrm.models import Pipeline
from leoweb_bot.amocrm.models import Task
from leoweb_bot.amocrm.models import TaskQuery
from leoweb_bot.amocrm.models import User

logger = logging.getLogger(__name__)

PAGE_LIMIT = 500  # the v2 maximum of limit_rows
SCAN: dict[str, Params] = {"tasks": {"filter[status]": 0}, "leads": {}}  # as v4.SCAN


class V2:
    """What the client asks of amoCRM, in API v2's words."""

    page_size = PAGE_LIMIT

    def __init__(self, funnel: Funnel, clock: Callable[[], float]) -> None:
        self._funnel = funnel
        self._clock = clock

    def account(self) -> Account:
        return Account.from_v2(self._funnel.get("account", api="v2"))

    def users(self) -> dict[int, User]:
        return named_users(self._funnel)

    def tasks(self, query: TaskQuery) -> Iterator[Task]:
        params: dict[str, Any] = {}
        if query.is_completed is not None:
            params["filter[status]"] = int(query.is_completed)
        if query.responsible_user_id is not None:
            params["responsible_user_id"] = query.responsible_user_id
        if query.lead_id is not None:
            # element_id with type=lead, as the R and PHP v2 clients send them
            params.update(element_id=query.lead_id, type="lead")
        tasks = map(Task.from_v2, self._paginate("tasks", params))
        if not query.by_deadline:
            return tasks
        # No sort parameter: sort here, tasks without a deadline last.
        return iter(sorted(tasks, key=lambda t: (t.complete_till is None, t.complete_till or 0)))

    def complete_task(self, task_id: int, result_text: str) -> int | None:
        # POST {"update": [...]} needs updated_at and text; send the task's own text so the
        # description is not overwritten.
        task = self.one(Task, "tasks", task_id)
        update = {
            "id": task_id,
            "updated_at": int(self._clock()),
            "is_completed": True,
            "text": task.text,
            "result": {"text": result_text},
        }
        reply = self._funnel.request(
            "POST", "tasks", json={"update": [update]}, api="v2", idempotent=True
        )
        errors = ((reply or {}).get("_embedded") or {}).get("errors")
        if errors:
            raise BadRequest("amoCRM did not complete the task", 200, str(errors)[:300])
        return update["updated_at"]  # v2 takes ours; what it answers is unconfirmed

    def one(self, model: type[Entity], entity: str, entity_id: int) -> Entity:
        found = items(self._funnel.request("GET", entity, params={"id": entity_id}, api="v2"))
        if not found:
            raise NotFound(f"{entity} {entity_id} not found", 204)
        return model.from_v2(found[0])

    def batch(self, model: type[Entity], entity: str, ids: list[int]) -> Iterator[Entity]:
        return map(model.from_v2, self._paginate(entity, {"id[]": ids}))

    def search(self, model: type[Entity], entity: str, query: str, limit: int) -> list[Entity]:
        params = {"query": query, "limit_rows": limit}
        return [model.from_v2(raw) for raw in items(self._request_list(entity, params))]

    def leads(self, closed_since: int | None) -> Iterator[Lead]:
        leads = map(Lead.from_v2, self._paginate("leads", {}))
        if not closed_since:
            return leads
        return (lead for lead in leads if (lead.closed_at or 0) >= closed_since)  # no filter

    def scan_page(self, model: type[Listed], entity: str, number: int) -> list[Listed]:
        """Page ``number`` (from 1) of a full scan, in v2's own order (it takes no sort)."""
        page = {**SCAN[entity], "limit_rows": PAGE_LIMIT, "limit_offset": (number - 1) * PAGE_LIMIT}
        return [model.from_v2(raw) for raw in items(self._request_list(entity, page))]

    def pipelines(self) -> list[Pipeline]:
        return [Pipeline.from_v2(p) for p in account_part(self._funnel, "pipelines")]

    def _request_list(self, path: str, params: Params) -> Body | None:
        return self._funnel.request("GET", path, params=params, api="v2")

    def _paginate(self, path: str, params: Params) -> Iterator[dict]:
        """Items by ``limit_rows``/``limit_offset`` until a 204 or a short page."""
        offset = 0
        while True:
            page = {**params, "limit_rows": PAGE_LIMIT, "limit_offset": offset}
            found = items(self._request_list(path, page))
            yield from found
            if len(found) < PAGE_LIMIT:
                return
            offset += PAGE_LIMIT


def named_users(funnel: Funnel) -> dict[int, User]:
    """Users by id from ``/api/v2/account?with=users``; {} when amoCRM will not name them."""
    try:
        return {u.id: u for u in map(User.from_v2, account_part(funnel, "users"))}
    except (AuthError, Forbidden, NotFound, BadRequest) as exc:
        logger.info("amoCRM user names unavailable (%s); reports show #id", exc)
        return {}


def account_part(funnel: Funnel, part: str) -> list[dict[str, Any]]:
    """``/api/v2/account?with=users|pipelines``: an object keyed by id, not a list."""
    embedded = funnel.get("account", {"with": part}, api="v2").get("_embedded") or {}
    raw = embedded.get(part) or {}
    pairs = raw.items() if isinstance(raw, Mapping) else ((i.get("id"), i) for i in raw)
    return [{"id": key, **item} for key, item in pairs if isinstance(item, Mapping)]


def items(body: Mapping[str, Any] | None) -> list[dict[str, Any]]:
    return list(((body or {}).get("_embedded") or {}).get("items") or ())
