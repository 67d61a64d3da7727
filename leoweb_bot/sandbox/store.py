"""The sandbox's live copy of the demo data: queries, a cache of sorted selections, updates.

Threads of the werkzeug server read and PATCH concurrently. Updates never edit a task in
place: they swap in a new dict under the lock, so a page being serialised elsewhere keeps a
consistent snapshot. Selections (filter + sort) are cached per query until the next update,
so walking 20 000 tasks page by page sorts them once, not once per page.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from leoweb_bot.sandbox.catalog import ADMIN_ID
from leoweb_bot.sandbox.data import DemoData
from leoweb_bot.sandbox.schedule import closest_task_at

Json = dict[str, Any]

_CACHE_SIZE = 64
_PHONE_QUERY = re.compile(r"[\d\s()+-]+")


@dataclass(frozen=True)
class TaskQuery:
    is_completed: bool | None = None
    responsible: frozenset[int] | None = None
    entity_type: str | None = None
    entity_ids: frozenset[int] | None = None
    ids: frozenset[int] | None = None
    order: tuple[str, bool] | None = None  # (field, descending); None = by id ascending

    def matches(self, task: Json) -> bool:
        return (
            (self.is_completed is None or task["is_completed"] == self.is_completed)
            and (self.responsible is None or task["responsible_user_id"] in self.responsible)
            and (self.entity_type is None or task["entity_type"] == self.entity_type)
            and (self.entity_ids is None or task["entity_id"] in self.entity_ids)
            and (self.ids is None or task["id"] in self.ids)
        )


@dataclass(frozen=True)
class LeadQuery:
    ids: frozenset[int] | None = None
    responsible: frozenset[int] | None = None
    pipelines: frozenset[int] | None = None
    statuses: frozenset[tuple[int, int]] | None = None  # (pipeline_id, status_id) pairs
    status_ids: frozenset[int] | None = None  # v2 `status[]`: ids without a pipeline
    closed_at: tuple[int | None, int | None] = (None, None)
    created_at: tuple[int | None, int | None] = (None, None)
    text: str | None = None
    order: tuple[str, bool] | None = None

    def matches(self, lead: Json) -> bool:
        return (
            (self.ids is None or lead["id"] in self.ids)
            and (self.responsible is None or lead["responsible_user_id"] in self.responsible)
            and (self.pipelines is None or lead["pipeline_id"] in self.pipelines)
            and (self.statuses is None or (lead["pipeline_id"], lead["status_id"]) in self.statuses)
            and (self.status_ids is None or lead["status_id"] in self.status_ids)
            and _within(lead["closed_at"], self.closed_at)
            and _within(lead["created_at"], self.created_at)
        )


def _within(value: int | None, bounds: tuple[int | None, int | None]) -> bool:
    low, high = bounds
    if low is None and high is None:
        return True
    return value is not None and (low is None or value >= low) and (high is None or value <= high)


class Store:
    def __init__(self, data: DemoData, clock: Callable[[], float]) -> None:
        self.data = data
        self._clock = clock
        self._lock = threading.Lock()
        self._index = {
            kind: {row["id"]: i for i, row in enumerate(self._rows(kind))}
            for kind in ("tasks", "leads", "contacts")
        }
        self._selections: dict[TaskQuery, list[Json]] = {}
        self._contact_text = {c["id"]: _contact_text(c) for c in data.contacts}
        self._lead_text = {
            lead["id"]: "\n".join(
                [lead["name"].lower()]
                + [self._contact_text[c["id"]] for c in lead["_embedded"]["contacts"]]
            )
            for lead in data.leads
        }
        # Which leads a contact belongs to: fixed, since the sandbox never relinks them.
        self._contact_leads: dict[int, list[int]] = {}
        for lead in data.leads:
            for link in lead["_embedded"]["contacts"]:
                self._contact_leads.setdefault(link["id"], []).append(lead["id"])

    def get(self, kind: str, entity_id: int) -> Json | None:
        """One task, lead or contact by id (``kind`` is the v4 entity name)."""
        index = self._index[kind].get(entity_id)
        return None if index is None else self._rows(kind)[index]

    def _rows(self, kind: str) -> list[Json]:
        rows: list[Json] = getattr(self.data, kind)
        return rows

    def select_tasks(self, query: TaskQuery) -> list[Json]:
        with self._lock:
            rows = self._selections.get(query)
            if rows is None:
                rows = _sorted([t for t in self.data.tasks if query.matches(t)], query.order)
                if len(self._selections) >= _CACHE_SIZE:
                    self._selections.clear()
                self._selections[query] = rows
            return rows

    def select_leads(self, query: LeadQuery) -> list[Json]:
        needle = _needle(query.text)
        rows = [
            lead
            for lead in self.data.leads
            if query.matches(lead) and (needle is None or needle in self._lead_text[lead["id"]])
        ]
        return _sorted(rows, query.order)

    def select_contacts(
        self,
        ids: frozenset[int] | None,
        text: str | None,
        responsible: frozenset[int] | None = None,
    ) -> list[Json]:
        needle = _needle(text)
        return [
            c
            for c in self.data.contacts
            if (ids is None or c["id"] in ids)
            and (responsible is None or c["responsible_user_id"] in responsible)
            and (needle is None or needle in self._contact_text[c["id"]])
        ]

    def lead_ids_of(self, contact_id: int) -> list[int]:
        """Ids of the leads the contact is linked to, in lead id order."""
        return list(self._contact_leads.get(contact_id, ()))

    def update_tasks(self, changes: Iterable[tuple[int, Json]]) -> list[Json]:
        """Apply validated field changes atomically; KeyError names the first unknown id."""
        changes = list(changes)
        with self._lock:
            for task_id, _ in changes:
                if task_id not in self._index["tasks"]:
                    raise KeyError(task_id)
            updated = [self._apply(task_id, fields) for task_id, fields in changes]
            self._selections.clear()
            for task in updated:
                self._refresh_closest(task)
            return updated

    def _apply(self, task_id: int, fields: Json) -> Json:
        index = self._index["tasks"][task_id]
        task = {**self.data.tasks[index], **fields}
        task["updated_at"] = int(self._clock())
        task["updated_by"] = ADMIN_ID  # every sandbox credential acts as the admin
        if not task["is_completed"]:
            task["result"] = []
        elif not isinstance(task["result"], dict):
            # Completing without a result text: amoCRM's stored shape is UNCONFIRMED.
            task["result"] = {"text": ""}
        self.data.tasks[index] = task
        return task

    def _refresh_closest(self, task: Json) -> None:
        kind, entity_id = task["entity_type"], task["entity_id"]
        index = self._index.get(kind, {}).get(entity_id)
        if index is not None:
            rows = self._rows(kind)
            due = closest_task_at(self.data.tasks, kind, entity_id)
            rows[index] = {**rows[index], "closest_task_at": due}


def _sorted(rows: list[Json], order: tuple[str, bool] | None) -> list[Json]:
    # Rows arrive in id order and sort() is stable, so ties stay by id ascending either way.
    if order is not None:
        field, descending = order
        rows.sort(key=lambda row: row[field], reverse=descending)
    return rows


def _contact_text(contact: Json) -> str:
    values = [v["value"] for f in contact["custom_fields_values"] for v in f["values"]]
    digits = ["".join(ch for ch in v if ch.isdigit()) for v in values if v.startswith("+")]
    return "\n".join([contact["name"].lower(), *(v.lower() for v in values), *digits])


def _needle(text: str | None) -> str | None:
    """What to look for: phone-like queries by their digits, anything else case-insensitively.

    How amoCRM matches ``query`` against phone numbers is UNCONFIRMED (its docs say only "search
    in filled fields"). The sandbox takes the strict reading: the digits as a substring, so
    ``8 701 123 45 67`` does not find ``+7 701 123 45 67``; the bot searches both forms.
    """
    if not text or not text.strip():
        return None
    if _PHONE_QUERY.fullmatch(text) and sum(ch.isdigit() for ch in text) >= 4:
        return "".join(ch for ch in text if ch.isdigit())
    return text.strip().lower()
