"""What amoCRM POSTs to a webhook URL when tasks and leads change (docs/amocrm.md#webhooks).

The body is ``application/x-www-form-urlencoded`` with PHP-style keys and string values:
``task[add][0][id]=…``, ``task[update][0][…]``, ``task[delete][0][id]``,
``task[responsible][0][…]``, ``leads[add][0][…]``, ``leads[update][0][…]``,
``leads[status][0][…]`` (with ``old_status_id`` and ``old_pipeline_id``),
``leads[responsible][0][…]``, then ``account[subdomain]``, ``account[id]`` and
``account[_links][self]``. The lead fields are those of captured requests; the singular
``task`` key and the task fields (legacy v2 names: ``element_id``, ``element_type``,
``status``, ``complete_till``) are UNCONFIRMED.

Each store write is one request holding every section its changes make, as amoCRM batches
events: a reassigned lead is both ``leads[update]`` and ``leads[responsible]``, a moved one
``leads[update]`` and ``leads[status]`` (that both are sent is UNCONFIRMED). Writes through the
API fire webhooks too, so a bot sees its own completions come back.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from leoweb_bot.sandbox import catalog
from leoweb_bot.sandbox.changes import Change

Json = dict[str, Any]
Pairs = list[tuple[str, str]]

# Subscription codes of POST /api/v4/webhooks `settings`, by (body key, action).
CODES = {
    ("task", "add"): "add_task",
    ("task", "update"): "update_task",
    ("task", "delete"): "delete_task",
    ("task", "responsible"): "responsible_task",
    ("leads", "add"): "add_lead",
    ("leads", "update"): "update_lead",
    ("leads", "delete"): "delete_lead",
    ("leads", "status"): "status_lead",
    ("leads", "responsible"): "responsible_lead",
}
SUBSCRIPTIONS = frozenset(CODES.values())


def webhook_form(changes: Iterable[Change], subscribed: frozenset[str], account: Json) -> Pairs:
    """The form fields of one webhook request; empty when nothing subscribed changed."""
    sections: dict[tuple[str, str], list[Json]] = {}
    for change in changes:
        for key, action, item in _sections(change):
            if CODES[key, action] in subscribed:
                sections.setdefault((key, action), []).append(item)
    if not sections:
        return []
    pairs: Pairs = []
    for (key, action), items in sections.items():
        for number, item in enumerate(items):
            pairs += _flatten(f"{key}[{action}][{number}]", item)
    return pairs + _flatten("account", account)


def _sections(change: Change) -> list[tuple[str, str, Json]]:
    key, item = ("task", _task_item) if change.kind == "tasks" else ("leads", _lead_item)
    if change.before is None:
        return [(key, "add", item(change.entity))]
    if change.after is None:
        return [(key, "delete", _deleted_item(change.before))]
    found = [(key, "update", item(change.after))]
    if change.kind == "leads" and change.moved("status_id", "pipeline_id"):
        old = {"old_status_id": change.before["status_id"],
               "old_pipeline_id": change.before["pipeline_id"]}  # fmt: skip
        found.append((key, "status", {**item(change.after), **old}))
    if change.moved("responsible_user_id"):
        found.append((key, "responsible", item(change.after)))
    return found


def _common(row: Json) -> Json:
    return {
        "id": row["id"],
        "responsible_user_id": row["responsible_user_id"],
        "created_user_id": row["created_by"],
        "modified_user_id": row["updated_by"],
        "date_create": row["created_at"],
        "last_modified": row["updated_at"],
        "account_id": row["account_id"],
    }


def _task_item(task: Json) -> Json:
    attached = {}
    if task["entity_type"] is not None:
        attached = {
            "element_id": task["entity_id"],
            "element_type": catalog.ELEMENT_TYPES[task["entity_type"]],
        }
    return {
        **_common(task),
        **attached,
        "task_type": task["task_type_id"],
        "text": task["text"],
        "status": int(task["is_completed"]),
        "complete_till": task["complete_till"],
    }


def _lead_item(lead: Json) -> Json:
    return {
        **_common(lead),
        "name": lead["name"],
        "status_id": lead["status_id"],
        "pipeline_id": lead["pipeline_id"],
        "price": lead["price"],
    }


def _deleted_item(row: Json) -> Json:
    # A deleted lead names its stage in captured requests; a deleted task only its id (UNCONFIRMED).
    if "status_id" in row:
        return {"id": row["id"], "status_id": row["status_id"], "pipeline_id": row["pipeline_id"]}
    return {"id": row["id"]}


def _flatten(prefix: str, value: Any) -> Pairs:
    """PHP-style form fields: nested keys in brackets, every value a string (None → empty)."""
    if isinstance(value, dict):
        return [
            pair for key, inner in value.items() for pair in _flatten(f"{prefix}[{key}]", inner)
        ]
    return [(prefix, "" if value is None else str(value))]
