"""A person at amoCRM's web interface: what tests and the demo do to the data behind the bot.

Each call is one change, as one click in the UI would be: it moves ``updated_at`` to the
sandbox clock's now, lands in the events list and fires the subscribed webhooks (the store
reports it; see server.py). ``by`` is the user who clicks (the administrator unless given).
Unknown ids raise ``LookupError``; values the UI would not allow raise ``ValueError``.
ui_routes.py offers the same over HTTP under ``/_sandbox/ui/`` for tests in other processes.
"""

from __future__ import annotations

from typing import Any

from leoweb_bot.sandbox import catalog
from leoweb_bot.sandbox.data import DemoData
from leoweb_bot.sandbox.store import Store

Json = dict[str, Any]

ADMIN = catalog.ADMIN_ID
_ATTACHABLE = ("leads", "contacts")  # the demo account has no companies or customers
_CLOSED = (catalog.WON_STATUS, catalog.LOST_STATUS)


class WebUi:
    def __init__(self, store: Store, data: DemoData) -> None:
        self._store = store
        self._data = data

    def complete_task(self, task_id: int, result: str = "", *, by: int = ADMIN) -> Json:
        """Tick the task done, with the result text the completion dialog asks for."""
        if self._task(task_id)["is_completed"]:
            raise ValueError(f"task {task_id} is already completed")
        fields: Json = {"is_completed": True}
        if result:
            fields["result"] = {"text": result}
        return self._update("tasks", task_id, fields, by)

    def delete_task(self, task_id: int, *, by: int = ADMIN) -> Json:
        """Delete the task: it leaves every list; only the events list remembers it."""
        self._task(task_id)
        return self._store.delete("tasks", task_id, self._user(by))

    def move_deadline(self, task_id: int, complete_till: int, *, by: int = ADMIN) -> Json:
        self._task(task_id)
        return self._update("tasks", task_id, {"complete_till": complete_till}, by)

    def reassign_task(self, task_id: int, user_id: int, *, by: int = ADMIN) -> Json:
        self._task(task_id)
        return self._update("tasks", task_id, {"responsible_user_id": self._user(user_id)}, by)

    def add_task(
        self,
        text: str,
        complete_till: int,
        responsible_user_id: int,
        *,
        entity_type: str | None = None,
        entity_id: int | None = None,
        task_type_id: int = 1,
        by: int = ADMIN,
    ) -> Json:
        """A new open task, attached to a lead or contact, or to nothing."""
        if not text.strip():
            raise ValueError("a task needs a text")
        if task_type_id not in {t["id"] for t in catalog.TASK_TYPES}:
            raise ValueError(f"no task type {task_type_id}")
        if (entity_type is None) != (entity_id is None) or entity_type not in (None, *_ATTACHABLE):
            raise ValueError("attach a task to leads or contacts by type and id, or to nothing")
        if entity_type is not None and self._store.get(entity_type, entity_id or 0) is None:
            raise LookupError(f"no {entity_type} {entity_id}")
        fields = {
            "responsible_user_id": self._user(responsible_user_id),
            "group_id": 0,
            "entity_id": entity_id,
            "entity_type": entity_type,
            "duration": 0,
            "is_completed": False,
            "task_type_id": task_type_id,
            "text": text,
            "result": [],
            "complete_till": complete_till,
        }
        return self._store.insert("tasks", fields, self._user(by))

    def add_lead(
        self,
        name: str,
        responsible_user_id: int,
        *,
        pipeline_id: int = catalog.SALES_PIPELINE_ID,
        status_id: int | None = None,
        price: int = 0,
        by: int = ADMIN,
    ) -> Json:
        """A new lead, by default in the pipeline's first stage after "unsorted"."""
        if not name.strip():
            raise ValueError("a lead needs a name")
        stages = self._stages(pipeline_id)
        if status_id is None:
            status_id = next(s["id"] for s in stages if s["type"] == 0)
        self._stage(pipeline_id, status_id)
        fields = {
            "name": name,
            "price": price,
            "responsible_user_id": self._user(responsible_user_id),
            "group_id": 0,
            "status_id": status_id,
            "pipeline_id": pipeline_id,
            "loss_reason_id": None,
            "closed_at": None,  # the store sets it when the stage is won or lost
            "closest_task_at": None,
            "is_deleted": False,
            "custom_fields_values": None,
            "score": None,
            "_embedded": {"tags": [], "companies": [], "contacts": []},
        }
        return self._store.insert("leads", fields, self._user(by))

    def move_lead(
        self, lead_id: int, status_id: int, *, pipeline_id: int | None = None, by: int = ADMIN
    ) -> Json:
        """Drag the lead to another stage (of its pipeline unless ``pipeline_id`` is given)."""
        lead = self._lead(lead_id)
        pipeline_id = lead["pipeline_id"] if pipeline_id is None else pipeline_id
        self._stage(pipeline_id, status_id)
        if (lead["pipeline_id"], lead["status_id"]) == (pipeline_id, status_id):
            raise ValueError(f"lead {lead_id} is already in that stage")
        return self._update(
            "leads", lead_id, {"status_id": status_id, "pipeline_id": pipeline_id}, by
        )

    def close_lead(self, lead_id: int, *, won: bool, by: int = ADMIN) -> Json:
        """Close the lead as won (142) or lost (143), in its own pipeline."""
        return self.move_lead(lead_id, _CLOSED[0] if won else _CLOSED[1], by=by)

    def reassign_lead(self, lead_id: int, user_id: int, *, by: int = ADMIN) -> Json:
        self._lead(lead_id)
        return self._update("leads", lead_id, {"responsible_user_id": self._user(user_id)}, by)

    def _update(self, kind: str, entity_id: int, fields: Json, by: int) -> Json:
        (updated,) = self._store.update(kind, [(entity_id, fields)], self._user(by))
        return updated

    def _task(self, task_id: int) -> Json:
        return self._found("tasks", task_id)

    def _lead(self, lead_id: int) -> Json:
        return self._found("leads", lead_id)

    def _found(self, kind: str, entity_id: int) -> Json:
        row = self._store.get(kind, entity_id)
        if row is None:
            raise LookupError(f"no {kind[:-1]} {entity_id}")
        return row

    def _user(self, user_id: int) -> int:
        if not any(user["id"] == user_id for user in self._data.users):
            raise ValueError(f"no user {user_id} in the account")
        return user_id

    def _stages(self, pipeline_id: int) -> list[Json]:
        for pipeline in self._data.pipelines:
            if pipeline["id"] == pipeline_id:
                stages: list[Json] = pipeline["_embedded"]["statuses"]
                return stages
        raise ValueError(f"no pipeline {pipeline_id}")

    def _stage(self, pipeline_id: int, status_id: int) -> None:
        if all(stage["id"] != status_id for stage in self._stages(pipeline_id)):
            raise ValueError(f"pipeline {pipeline_id} has no stage {status_id}")
