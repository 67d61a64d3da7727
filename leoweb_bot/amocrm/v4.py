"""API v4 shapes (token and OAuth modes): filter and order parameters, ``_embedded`` lists and
``_links.next`` paging. Facts: docs/amocrm.md#paging, docs/amocrm.md#tasks.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

from leoweb_bot.amocrm import v2
from leoweb_bot.amocrm.errors import Forbidden
from leoweb_bot.amocrm.funnel import Funnel
from leoweb_bot.amocrm.funnel import Params
from leoweb_bot.amocrm.models import Account
from leoweb_bot.amocrm.models import Deletion
from leoweb_bot.amocrm.models import Entity
from leoweb_bot.amocrm.models import Lead
from leoweb_bot.amocrm.models import Listed
from leoweb_bot.amocrm.models import Pipeline
from leoweb_bot.amocrm.models import Task
from leoweb_bot.amocrm.models import TaskQuery
from leoweb_bot.amocrm.models import User

logger = logging.getLogger(__name__)

PAGE_LIMIT = 250  # the v4 maximum for tasks, leads, contacts, users (docs/amocrm.md#paging)
EVENTS_LIMIT = 100  # the events list's maximum (docs/amocrm.md#events-api)
# What a full scan lists: open tasks only; every lead (none is filtered reliably by stage).
SCAN: dict[str, Params] = {"tasks": {"filter[is_completed]": 0}, "leads": {}}
# Changed since TS: the documented single value for tasks, [from] for leads; both are read as
# inclusive and the sync overlaps its windows (docs/amocrm.md#incremental-sync).
SINCE = {"tasks": "filter[updated_at]", "leads": "filter[updated_at][from]"}
# A lead's contact ids come only on request (docs/amocrm.md#leads-contacts-pipelines).
WITH: dict[str, Params] = {"leads": {"with": "contacts"}}


class V4:
    """What the client asks of amoCRM, in API v4's words."""

    page_size = PAGE_LIMIT

    def __init__(self, funnel: Funnel) -> None:
        self._funnel = funnel
        self._users_fallback_logged = False

    def account(self) -> Account:
        return Account.from_v4(self._funnel.get("account", {"with": "datetime_settings"}))

    def users(self) -> dict[int, User]:
        """``/api/v4/users`` needs admin rights; without them, v2's account lists the users
        (docs/amocrm.md#users)."""
        try:
            return {u.id: u for u in map(User.from_v4, self._paginate("users", "users"))}
        except Forbidden:
            if not self._users_fallback_logged:
                self._users_fallback_logged = True
                logger.info(
                    "amoCRM /api/v4/users needs admin rights; using /api/v2/account?with=users"
                )
        return v2.named_users(self._funnel)

    def tasks(self, query: TaskQuery) -> Iterator[Task]:
        params: dict[str, Any] = {}
        if query.is_completed is not None:
            params["filter[is_completed]"] = int(query.is_completed)
        if query.responsible_user_id is not None:
            params["filter[responsible_user_id]"] = query.responsible_user_id
        if query.lead_id is not None:
            # filter[entity_id] (int or array) works only with filter[entity_type]
            params.update({"filter[entity_type]": "leads", "filter[entity_id][]": query.lead_id})
        if query.changed_since is not None:
            # the documented single value: "changed after TS" (docs/amocrm.md#incremental-sync)
            params["filter[updated_at]"] = query.changed_since
        if query.by_deadline:
            params["order[complete_till]"] = "asc"
        return map(Task.from_v4, self._paginate("tasks", "tasks", params))

    def complete_task(self, task_id: int, result_text: str) -> int | None:
        body = {"is_completed": True, "result": {"text": result_text}}
        # Completing twice is harmless, so the PATCH is retried (docs/amocrm.md#tasks).
        answer = self._funnel.request("PATCH", f"tasks/{task_id}", json=body) or {}
        return int(answer["updated_at"]) if answer.get("updated_at") else None

    def one(self, model: type[Entity], entity: str, entity_id: int) -> Entity:
        return model.from_v4(self._funnel.get(f"{entity}/{entity_id}", WITH.get(entity)))

    def batch(self, model: type[Entity], entity: str, ids: list[int]) -> Iterator[Entity]:
        """``filter[id][]`` (https://www.amocrm.ru/developers/content/crm_platform/filters-api)."""
        params = {"filter[id][]": ids, **WITH.get(entity, {})}
        return map(model.from_v4, self._paginate(entity, entity, params))

    def search(self, model: type[Entity], entity: str, query: str, limit: int) -> list[Entity]:
        params = {"query": query, "limit": limit, **WITH.get(entity, {})}
        body = self._funnel.request("GET", entity, params=params) or {}
        return [model.from_v4(raw) for raw in (body.get("_embedded") or {}).get(entity) or ()]

    def leads(self, closed_since: int | None) -> Iterator[Lead]:
        params = {} if closed_since is None else {"filter[closed_at][from]": closed_since}
        return map(Lead.from_v4, self._paginate("leads", "leads", params))

    def changed(self, model: type[Listed], entity: str, since: int) -> Iterator[Listed]:
        """Open and completed alike, by id (tasks cannot be ordered by updated_at)."""
        params = {SINCE[entity]: since, "order[id]": "asc"}
        return map(model.from_v4, self._paginate(entity, entity, params))

    def scan_page(self, model: type[Listed], entity: str, number: int) -> list[Listed]:
        """Page ``number`` (from 1) of a full scan, by id ascending; [] past the end."""
        params = {**SCAN[entity], "order[id]": "asc", "page": number, "limit": PAGE_LIMIT}
        body = self._funnel.request("GET", entity, params=params) or {}
        return [model.from_v4(raw) for raw in (body.get("_embedded") or {}).get(entity) or ()]

    def deletions(self, since: int) -> Iterator[Deletion]:
        """Tasks and leads deleted at or after ``since`` (only the events list knows them)."""
        params = {
            "filter[type][]": ["task_deleted", "lead_deleted"],
            "filter[created_at][from]": since,
        }
        for raw in self._paginate("events", "events", params, EVENTS_LIMIT):
            if (deletion := Deletion.from_v4(raw)) is not None:
                yield deletion

    def pipelines(self) -> list[Pipeline]:
        embedded = self._funnel.get("leads/pipelines").get("_embedded") or {}
        return [Pipeline.from_v4(p) for p in embedded.get("pipelines") or ()]

    def _paginate(
        self, path: str, key: str, params: Params | None = None, limit: int = PAGE_LIMIT
    ) -> Iterator[dict]:
        """Items page by page, following ``_links.next`` until it is missing or a 204."""
        url: str | None = path
        page_params: Params | None = {**(params or {}), "limit": limit}
        while url:
            body = self._funnel.request("GET", url, params=page_params)
            if body is None:
                return
            yield from (body.get("_embedded") or {}).get(key) or ()
            next_url = ((body.get("_links") or {}).get("next") or {}).get("href")
            url, page_params = (next_url if next_url != url else None), None
