"""The account's events list (``GET /api/v4/events``), written as the store changes.

Every change, whether a person's in the web UI (ui.py) or a write through the API, becomes
the events amoCRM documents for it (docs/amocrm.md#events-api): ``task_added``,
``task_deleted``, ``task_completed``, ``task_result_added``, ``task_deadline_changed``,
``task_text_changed``, ``task_type_changed``, ``lead_added``, ``lead_status_changed`` and
``entity_responsible_changed`` (for tasks too, which is UNCONFIRMED).

An event is ``{id, type, entity_id, entity_type, created_by, created_at, value_after,
value_before, account_id}``; ids are strings (amoCRM's look like lowercase ULIDs) and the entity
type is singular (``task``, ``lead``). The ``value_*`` shapes of ``lead_status`` and
``responsible_user`` are documented; those of the task events are UNCONFIRMED, so clients
should read no more than the type and the entity id from a task event. Events are listed
newest first, which is UNCONFIRMED too (the docs give no order): a client paging while events
arrive sees some twice, as it may on amoCRM, and must de-duplicate by id.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from leoweb_bot.sandbox.catalog import ACCOUNT_ID
from leoweb_bot.sandbox.changes import Change
from leoweb_bot.sandbox.queries import OPEN
from leoweb_bot.sandbox.queries import Bounds
from leoweb_bot.sandbox.queries import within

Json = dict[str, Any]
Values = list[Json]

ENTITY_NAMES = {"tasks": "task", "leads": "lead"}  # v4 collection → event entity_type
_CROCKFORD = "0123456789abcdefghjkmnpqrstvwxyz"


@dataclass(frozen=True)
class EventQuery:
    ids: frozenset[str] | None = None
    types: frozenset[str] | None = None
    entities: frozenset[str] | None = None
    entity_ids: frozenset[int] | None = None
    created_by: frozenset[int] | None = None
    created_at: Bounds = OPEN

    def matches(self, event: Json) -> bool:
        return (
            (self.ids is None or event["id"] in self.ids)
            and (self.types is None or event["type"] in self.types)
            and (self.entities is None or event["entity_type"] in self.entities)
            and (self.entity_ids is None or event["entity_id"] in self.entity_ids)
            and (self.created_by is None or event["created_by"] in self.created_by)
            and within(event["created_at"], self.created_at)
        )


class EventLog:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._events: list[Json] = []  # oldest first
        self._by_id: dict[str, Json] = {}

    def record(self, changes: Iterable[Change]) -> None:
        with self._lock:
            for change in changes:
                for kind, before, after in describe(change):
                    self._append(change, kind, before, after)

    def _append(self, change: Change, kind: str, before: Values, after: Values) -> None:
        entity = change.entity
        event = {
            "id": _event_id(change.at, len(self._events)),
            "type": kind,
            "entity_id": entity["id"],
            "entity_type": ENTITY_NAMES[change.kind],
            "created_by": change.by,
            "created_at": change.at,
            "value_after": after,
            "value_before": before,
            "account_id": ACCOUNT_ID,
        }
        self._events.append(event)
        self._by_id[event["id"]] = event

    def select(self, query: EventQuery) -> list[Json]:
        """Matching events, newest first."""
        with self._lock:
            return [event for event in reversed(self._events) if query.matches(event)]

    def get(self, event_id: str) -> Json | None:
        with self._lock:
            return self._by_id.get(event_id)


def describe(change: Change) -> list[tuple[str, Values, Values]]:
    """The events one change makes: (type, value_before, value_after)."""
    noun = ENTITY_NAMES[change.kind]
    if change.before is None:
        return [(f"{noun}_added", [], [])]
    if change.after is None:
        return [(f"{noun}_deleted", [], [])]
    found = _task_events(change) if change.kind == "tasks" else _lead_events(change)
    if change.moved("responsible_user_id"):
        found.append(_pair(change, "entity_responsible_changed", "responsible_user", _responsible))
    return found


def _task_events(change: Change) -> list[tuple[str, Values, Values]]:
    before, after = change.before or {}, change.after or {}
    found: list[tuple[str, Values, Values]] = []
    if after["is_completed"] and not before["is_completed"]:
        found.append(("task_completed", [], []))
    if after["result"] and after["result"] != before["result"] and after["result"]["text"]:
        found.append(
            ("task_result_added", [], [{"task_result": {"text": after["result"]["text"]}}])
        )
    if change.moved("complete_till"):
        found.append(_pair(change, "task_deadline_changed", "task_deadline", _deadline))
    if change.moved("text"):
        found.append(_pair(change, "task_text_changed", "task_text", _text))
    if change.moved("task_type_id"):
        found.append(_pair(change, "task_type_changed", "task_type", _task_type))
    return found


def _lead_events(change: Change) -> list[tuple[str, Values, Values]]:
    if change.moved("status_id", "pipeline_id"):
        return [_pair(change, "lead_status_changed", "lead_status", _status)]
    return []


def _pair(change: Change, kind: str, key: str, value: Any) -> tuple[str, Values, Values]:
    return kind, [{key: value(change.before)}], [{key: value(change.after)}]


def _responsible(row: Json) -> Json:
    return {"id": row["responsible_user_id"]}


def _status(row: Json) -> Json:
    return {"id": row["status_id"], "pipeline_id": row["pipeline_id"]}


def _deadline(row: Json) -> Json:
    return {"timestamp": row["complete_till"]}


def _text(row: Json) -> Json:
    return {"text": row["text"]}


def _task_type(row: Json) -> Json:
    return {"id": row["task_type_id"]}


def _event_id(at: int, serial: int) -> str:
    """A lowercase ULID: 48 bits of milliseconds, then 80 bits (here a serial, not random)."""
    value = (at * 1000) << 80 | serial
    return "".join(_CROCKFORD[(value >> shift) & 31] for shift in range(125, -1, -5))
