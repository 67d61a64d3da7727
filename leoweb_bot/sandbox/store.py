"""The sandbox's live copy of the demo data: queries, indexes, and every write.

Threads of the werkzeug server read and write concurrently. Writes never edit a row in
place: they swap in a new dict under the lock, so a page being serialised elsewhere keeps a
consistent snapshot. Task selections (filter + sort) are cached per query until the next
write, so walking 20 000 tasks page by page sorts them once, not once per page.

Every write reports its ``Change`` list to ``on_change`` while still holding the lock, so the
events log sees changes in the order they were made. ``on_change`` must not call back into
the store.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from collections.abc import Iterable
from typing import Any

from leoweb_bot.sandbox import catalog
from leoweb_bot.sandbox.changes import Change
from leoweb_bot.sandbox.data import DemoData
from leoweb_bot.sandbox.queries import OPEN
from leoweb_bot.sandbox.queries import Bounds
from leoweb_bot.sandbox.queries import LeadQuery
from leoweb_bot.sandbox.queries import TaskQuery
from leoweb_bot.sandbox.queries import contact_text
from leoweb_bot.sandbox.queries import needle
from leoweb_bot.sandbox.queries import sort_rows
from leoweb_bot.sandbox.schedule import closest_task_at
from leoweb_bot.sandbox.timeline import Timeline

Json = dict[str, Any]
Owner = tuple[str | None, int | None]  # what a task is attached to: (entity_type, entity_id)

WRITABLE = ("tasks", "leads")
_CACHE_SIZE = 64
_FIRST_ID = {"tasks": catalog.FIRST_TASK_ID, "leads": catalog.FIRST_LEAD_ID}
_CLOSED = (catalog.WON_STATUS, catalog.LOST_STATUS)


def _ignore(changes: list[Change]) -> None:
    pass


class Store:
    def __init__(
        self,
        data: DemoData,
        clock: Callable[[], float],
        on_change: Callable[[list[Change]], None] = _ignore,
    ) -> None:
        self.data = data
        self._clock = clock
        self._on_change = on_change
        self._lock = threading.Lock()
        self._index = {
            kind: {row["id"]: i for i, row in enumerate(self._rows(kind))}
            for kind in ("tasks", "leads", "contacts")
        }
        self._timelines = {kind: Timeline(self._rows(kind)) for kind in WRITABLE}
        self._next_id = {
            kind: max([_FIRST_ID[kind] - 1, *self._index[kind]]) + 1 for kind in WRITABLE
        }
        self._selections: dict[TaskQuery, list[Json]] = {}
        # Which open or done tasks hang on each lead or contact, for closest_task_at.
        self._tasks_of: dict[Owner, set[int]] = {}
        for task in data.tasks:
            self._tasks_of.setdefault(_owner(task), set()).add(task["id"])
        self._contact_text = {c["id"]: contact_text(c) for c in data.contacts}
        self._lead_text = {lead["id"]: self._text_of(lead) for lead in data.leads}
        # Which leads a contact belongs to: fixed, since the sandbox never relinks them.
        self._contact_leads: dict[int, list[int]] = {}
        for lead in data.leads:
            for link in lead["_embedded"]["contacts"]:
                self._contact_leads.setdefault(link["id"], []).append(lead["id"])

    def get(self, kind: str, entity_id: int) -> Json | None:
        """One task, lead or contact by id (``kind`` is the v4 entity name)."""
        with self._lock:
            return self._get(kind, entity_id)

    def _get(self, kind: str, entity_id: int) -> Json | None:
        index = self._index[kind].get(entity_id)
        return None if index is None else self._rows(kind)[index]

    def _rows(self, kind: str) -> list[Json]:
        rows: list[Json] = getattr(self.data, kind)
        return rows

    def select_tasks(self, query: TaskQuery) -> list[Json]:
        with self._lock:
            rows = self._selections.get(query)
            if rows is None:
                candidates = self._candidates("tasks", query.ids, query.updated_at)
                rows = sort_rows([t for t in candidates if query.matches(t)], query.order)
                if len(self._selections) >= _CACHE_SIZE:
                    self._selections.clear()
                self._selections[query] = rows
            return rows

    def select_leads(self, query: LeadQuery) -> list[Json]:
        wanted = needle(query.text)
        with self._lock:
            candidates = self._candidates("leads", query.ids, query.updated_at)
            rows = [
                lead
                for lead in candidates
                if query.matches(lead) and (wanted is None or wanted in self._lead_text[lead["id"]])
            ]
        return sort_rows(rows, query.order)

    def _candidates(self, kind: str, ids: frozenset[int] | None, updated_at: Bounds) -> list[Json]:
        """Rows that may match, in id order: from an index when the query names ids or times."""
        if ids is not None:
            chosen = sorted(i for i in ids if i in self._index[kind])
        elif updated_at != OPEN:
            chosen = sorted(self._timelines[kind].ids(*updated_at))
        else:
            return self._rows(kind)
        rows, index = self._rows(kind), self._index[kind]
        return [rows[index[i]] for i in chosen]

    def select_contacts(
        self,
        ids: frozenset[int] | None,
        text: str | None,
        responsible: frozenset[int] | None = None,
    ) -> list[Json]:
        wanted = needle(text)
        return [
            c
            for c in self.data.contacts
            if (ids is None or c["id"] in ids)
            and (responsible is None or c["responsible_user_id"] in responsible)
            and (wanted is None or wanted in self._contact_text[c["id"]])
        ]

    def lead_ids_of(self, contact_id: int) -> list[int]:
        """Ids of the leads the contact is linked to, in lead id order."""
        return list(self._contact_leads.get(contact_id, ()))

    def update(
        self, kind: str, changes: Iterable[tuple[int, Json]], by: int = catalog.ADMIN_ID
    ) -> list[Json]:
        """Apply validated field changes atomically; KeyError names the first unknown id."""
        changes = list(changes)
        with self._lock:
            for entity_id, _ in changes:
                if entity_id not in self._index[kind]:
                    raise KeyError(entity_id)
            now = int(self._clock())
            done = [
                self._replace(kind, entity_id, fields, by, now) for entity_id, fields in changes
            ]
            self._changed(done)
            return [change.after for change in done if change.after is not None]

    def _replace(self, kind: str, entity_id: int, fields: Json, by: int, now: int) -> Change:
        rows, index = self._rows(kind), self._index[kind][entity_id]
        before = rows[index]
        after = _settled(kind, before, {**before, **fields, "updated_at": now, "updated_by": by})
        self._timelines[kind].discard(before)
        rows[index] = after
        self._timelines[kind].add(after)
        return Change(kind, before, after, by, now)

    def insert(self, kind: str, fields: Json, by: int) -> Json:
        """Add an entity with the next free id, created and updated now by ``by``."""
        with self._lock:
            now = int(self._clock())
            entity_id = self._next_id[kind]
            self._next_id[kind] += 1
            stamps = {"created_by": by, "updated_by": by, "created_at": now, "updated_at": now}
            row = _settled(kind, None, {"id": entity_id, **fields, **stamps})
            row["account_id"] = catalog.ACCOUNT_ID
            rows = self._rows(kind)
            rows.append(row)  # ids only grow, so the list stays in id order
            self._index[kind][entity_id] = len(rows) - 1
            self._timelines[kind].add(row)
            if kind == "leads":
                self._lead_text[entity_id] = self._text_of(row)
            self._changed([Change(kind, None, row, by, now)])
            return row

    def delete(self, kind: str, entity_id: int, by: int) -> Json:
        """Remove an entity for good (amoCRM's API then just stops listing it); KeyError if none."""
        with self._lock:
            index = self._index[kind].pop(entity_id)
            rows = self._rows(kind)
            row = rows.pop(index)
            for position in range(index, len(rows)):
                self._index[kind][rows[position]["id"]] = position
            self._timelines[kind].discard(row)
            self._changed([Change(kind, row, None, by, int(self._clock()))])
            return row

    def _changed(self, changes: list[Change]) -> None:
        self._selections.clear()
        owners: set[Owner] = set()
        for change in changes:
            if change.kind == "tasks":
                owners |= self._relink(change)
        for owner in owners:
            self._refresh_closest(owner)
        self._on_change(changes)

    def _relink(self, change: Change) -> set[Owner]:
        """Move the task between owners' sets; return the owners whose nearest deadline moved."""
        owners = set()
        if change.before is not None:
            owners.add(_owner(change.before))
            self._tasks_of[_owner(change.before)].discard(change.before["id"])
        if change.after is not None:
            owners.add(_owner(change.after))
            self._tasks_of.setdefault(_owner(change.after), set()).add(change.after["id"])
        return owners

    def _refresh_closest(self, owner: Owner) -> None:
        kind, entity_id = owner
        index = self._index.get(kind or "", {}).get(entity_id or 0)
        if index is None:
            return
        tasks = [self._get("tasks", task_id) for task_id in self._tasks_of.get(owner, ())]
        due = closest_task_at([t for t in tasks if t is not None], *owner)
        # Only the derived field moves: whether amoCRM also bumps the lead's updated_at when
        # one of its tasks changes is UNCONFIRMED, and the sandbox does not.
        rows = self._rows(kind or "")
        rows[index] = {**rows[index], "closest_task_at": due}

    def _text_of(self, lead: Json) -> str:
        contacts = lead["_embedded"]["contacts"]
        return "\n".join([lead["name"].lower()] + [self._contact_text[c["id"]] for c in contacts])


def _owner(task: Json) -> Owner:
    return task["entity_type"], task["entity_id"]


def _settled(kind: str, before: Json | None, row: Json) -> Json:
    """Fields amoCRM derives from others: a task's ``result``, a lead's ``closed_at``."""
    if kind == "tasks":
        if not row["is_completed"]:
            row["result"] = []
        elif not isinstance(row["result"], dict):
            # Completing without a result text: amoCRM's stored shape is UNCONFIRMED.
            row["result"] = {"text": ""}
    elif row["status_id"] not in _CLOSED:
        row["closed_at"] = None
    elif before is None or before["status_id"] not in _CLOSED:
        row["closed_at"] = row["updated_at"]
    return row
