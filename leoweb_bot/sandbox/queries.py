"""What a list request asks for: v4/v2 task and lead filters, matched against stored rows.

Queries are frozen so that the store can cache a selection per query. ``updated_at`` bounds
are inclusive on both ends (docs/amocrm.md#incremental-sync): whether amoCRM's single-value
``filter[updated_at]=TS`` means "after" or "from" is UNCONFIRMED, and an inclusive bound is
the reading that costs a client only a duplicate, never a miss.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

Json = dict[str, Any]
Bounds = tuple[int | None, int | None]

OPEN: Bounds = (None, None)
_PHONE_QUERY = re.compile(r"[\d\s()+-]+")


@dataclass(frozen=True)
class TaskQuery:
    is_completed: bool | None = None
    responsible: frozenset[int] | None = None
    entity_type: str | None = None
    entity_ids: frozenset[int] | None = None
    ids: frozenset[int] | None = None
    updated_at: Bounds = OPEN
    order: tuple[str, bool] | None = None  # (field, descending); None = by id ascending

    def matches(self, task: Json) -> bool:
        return (
            (self.is_completed is None or task["is_completed"] == self.is_completed)
            and (self.responsible is None or task["responsible_user_id"] in self.responsible)
            and (self.entity_type is None or task["entity_type"] == self.entity_type)
            and (self.entity_ids is None or task["entity_id"] in self.entity_ids)
            and (self.ids is None or task["id"] in self.ids)
            and within(task["updated_at"], self.updated_at)
        )


@dataclass(frozen=True)
class LeadQuery:
    ids: frozenset[int] | None = None
    responsible: frozenset[int] | None = None
    pipelines: frozenset[int] | None = None
    statuses: frozenset[tuple[int, int]] | None = None  # (pipeline_id, status_id) pairs
    status_ids: frozenset[int] | None = None  # v2 `status[]`: ids without a pipeline
    closed_at: Bounds = OPEN
    created_at: Bounds = OPEN
    updated_at: Bounds = OPEN
    text: str | None = None
    order: tuple[str, bool] | None = None

    def matches(self, lead: Json) -> bool:
        return (
            (self.ids is None or lead["id"] in self.ids)
            and (self.responsible is None or lead["responsible_user_id"] in self.responsible)
            and (self.pipelines is None or lead["pipeline_id"] in self.pipelines)
            and (self.statuses is None or (lead["pipeline_id"], lead["status_id"]) in self.statuses)
            and (self.status_ids is None or lead["status_id"] in self.status_ids)
            and within(lead["closed_at"], self.closed_at)
            and within(lead["created_at"], self.created_at)
            and within(lead["updated_at"], self.updated_at)
        )


def within(value: int | None, bounds: Bounds) -> bool:
    low, high = bounds
    if low is None and high is None:
        return True
    return value is not None and (low is None or value >= low) and (high is None or value <= high)


def sort_rows(rows: list[Json], order: tuple[str, bool] | None) -> list[Json]:
    # Rows arrive in id order and sort() is stable, so ties stay by id ascending either way.
    if order is not None:
        field, descending = order
        rows.sort(key=lambda row: row[field], reverse=descending)
    return rows


def contact_text(contact: Json) -> str:
    values = [v["value"] for f in contact["custom_fields_values"] for v in f["values"]]
    digits = ["".join(ch for ch in v if ch.isdigit()) for v in values if v.startswith("+")]
    return "\n".join([contact["name"].lower(), *(v.lower() for v in values), *digits])


def needle(text: str | None) -> str | None:
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
