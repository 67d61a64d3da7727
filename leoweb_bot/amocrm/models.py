"""CRM entities, parsed from both API v4 and legacy v2 shapes (docs/amocrm.md).

All timestamps stay Unix epoch seconds: they are timezone-free, so nothing here depends on
the server's clock or ``TZ``. Rendering in company time is the job of reports and texts.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from typing import TypeVar

WON_STATUS = 142
LOST_STATUS = 143

# v2 element_type codes (docs/amocrm.md#api-v2-shapes): 1 contact, 2 lead, 3 company, 12 customer.
V2_ELEMENT_TYPES = {1: "contacts", 2: "leads", 3: "companies", 12: "customers"}
CARD_PATHS = {"leads": "leads", "contacts": "contacts", "companies": "companies"}


def card_url(base_url: str, entity_type: str | None, entity_id: int | None) -> str | None:
    """Link to the entity's card in the amoCRM web UI, e.g. ``{base}/leads/detail/42``."""
    if not entity_id or entity_type not in CARD_PATHS:
        return None
    return f"{base_url.rstrip('/')}/{CARD_PATHS[entity_type]}/detail/{entity_id}"


def _int(value: Any) -> int | None:
    if value in (None, "", 0, "0"):
        return None
    return int(value)


def _result_text(result: Any) -> str:
    # v4 lists show "result": [] on open tasks and {"text": ...} on completed ones
    # (docs/amocrm.md#tasks).
    return str(result.get("text") or "") if isinstance(result, Mapping) else ""


@dataclass(frozen=True)
class Task:
    id: int
    text: str
    responsible_user_id: int
    complete_till: int | None
    is_completed: bool
    entity_type: str | None = None
    entity_id: int | None = None
    task_type_id: int | None = None
    result: str = ""
    updated_at: int | None = None  # amoCRM's clock; moves on every change (the mirror's guard)

    @classmethod
    def from_v4(cls, raw: Mapping[str, Any]) -> Task:
        return cls(
            id=int(raw["id"]),
            text=str(raw.get("text") or ""),
            responsible_user_id=int(raw.get("responsible_user_id") or 0),
            complete_till=_int(raw.get("complete_till")),
            is_completed=bool(raw.get("is_completed")),
            entity_type=raw.get("entity_type") or None,
            entity_id=_int(raw.get("entity_id")),
            task_type_id=_int(raw.get("task_type_id")),
            result=_result_text(raw.get("result")),
            updated_at=_int(raw.get("updated_at")),
        )

    @classmethod
    def from_v2(cls, raw: Mapping[str, Any]) -> Task:
        element_type = _int(raw.get("element_type"))
        return cls(
            id=int(raw["id"]),
            text=str(raw.get("text") or ""),
            responsible_user_id=int(raw.get("responsible_user_id") or 0),
            complete_till=_int(raw.get("complete_till_at")),
            is_completed=bool(raw.get("is_completed")),
            entity_type=V2_ELEMENT_TYPES.get(element_type or 0),
            entity_id=_int(raw.get("element_id")),
            task_type_id=_int(raw.get("task_type")),
            result=_result_text(raw.get("result")),
            updated_at=_int(raw.get("updated_at")),
        )


@dataclass(frozen=True)
class TaskQuery:
    """Which tasks a listing asks for, and whether soonest deadline first."""

    is_completed: bool | None = None
    responsible_user_id: int | None = None
    lead_id: int | None = None  # the tasks attached to this lead
    by_deadline: bool = False
    changed_since: int | None = None  # changed (``updated_at``) at or after this moment

    def matches(self, task: Task) -> bool:
        """Whether ``task`` passes the filters (the client re-checks them; v2 cannot ask for
        ``changed_since``, so there it is only checked here)."""
        return (
            (self.is_completed is None or task.is_completed == self.is_completed)
            and (
                self.lead_id is None
                or (task.entity_type, task.entity_id) == ("leads", self.lead_id)
            )
            and (self.changed_since is None or (task.updated_at or 0) >= self.changed_since)
        )


@dataclass(frozen=True)
class User:
    id: int
    name: str
    is_admin: bool = False
    is_active: bool = True

    @classmethod
    def from_v4(cls, raw: Mapping[str, Any]) -> User:
        rights = raw.get("rights") or {}
        return cls(
            id=int(raw["id"]),
            name=str(raw.get("name") or f"#{raw['id']}"),
            is_admin=bool(rights.get("is_admin")),
            is_active=bool(rights.get("is_active", True)),
        )

    @classmethod
    def from_v2(cls, raw: Mapping[str, Any]) -> User:
        return cls(
            id=int(raw["id"]),
            name=str(raw.get("name") or f"#{raw['id']}"),
            is_admin=str(raw.get("is_admin", "")).upper() in ("Y", "TRUE", "1"),
            is_active=str(raw.get("is_active", "Y")).upper() not in ("N", "FALSE", "0"),
        )


@dataclass(frozen=True)
class Lead:
    id: int
    name: str
    price: int
    status_id: int
    pipeline_id: int
    responsible_user_id: int
    created_at: int | None = None
    closed_at: int | None = None
    contact_ids: tuple[int, ...] = ()
    updated_at: int | None = None

    @classmethod
    def from_v4(cls, raw: Mapping[str, Any]) -> Lead:
        contacts = (raw.get("_embedded") or {}).get("contacts") or []
        return cls(
            id=int(raw["id"]),
            name=str(raw.get("name") or ""),
            price=int(raw.get("price") or 0),
            status_id=int(raw.get("status_id") or 0),
            pipeline_id=int(raw.get("pipeline_id") or 0),
            responsible_user_id=int(raw.get("responsible_user_id") or 0),
            created_at=_int(raw.get("created_at")),
            closed_at=_int(raw.get("closed_at")),
            contact_ids=tuple(int(c["id"]) for c in contacts),
            updated_at=_int(raw.get("updated_at")),
        )

    @classmethod
    def from_v2(cls, raw: Mapping[str, Any]) -> Lead:
        pipeline = raw.get("pipeline")
        pipeline_id = (
            pipeline.get("id") if isinstance(pipeline, Mapping) else raw.get("pipeline_id")
        )
        contacts = raw.get("contacts")
        ids = contacts.get("id") if isinstance(contacts, Mapping) else None
        return cls(
            id=int(raw["id"]),
            name=str(raw.get("name") or ""),
            price=int(raw.get("sale") or raw.get("price") or 0),
            status_id=int(raw.get("status_id") or 0),
            pipeline_id=int(pipeline_id or 0),
            responsible_user_id=int(raw.get("responsible_user_id") or 0),
            created_at=_int(raw.get("created_at")),
            closed_at=_int(raw.get("closed_at")),
            contact_ids=tuple(int(i) for i in ids or ()),
            updated_at=_int(raw.get("updated_at")),
        )

    @property
    def is_open(self) -> bool:
        return self.status_id not in (WON_STATUS, LOST_STATUS)


def _field_values(fields: Any, code: str) -> tuple[str, ...]:
    values: list[str] = []
    for f in fields or ():
        if str(f.get("field_code") or f.get("code") or "").upper() == code:
            values.extend(str(v.get("value")) for v in f.get("values") or () if v.get("value"))
    return tuple(values)


@dataclass(frozen=True)
class Contact:
    id: int
    name: str
    responsible_user_id: int
    phones: tuple[str, ...] = ()
    emails: tuple[str, ...] = ()

    @classmethod
    def from_v4(cls, raw: Mapping[str, Any]) -> Contact:
        fields = raw.get("custom_fields_values")
        return cls(
            id=int(raw["id"]),
            name=str(raw.get("name") or ""),
            responsible_user_id=int(raw.get("responsible_user_id") or 0),
            phones=_field_values(fields, "PHONE"),
            emails=_field_values(fields, "EMAIL"),
        )

    @classmethod
    def from_v2(cls, raw: Mapping[str, Any]) -> Contact:
        # v2 names the list "custom_fields" and each field's "code"; _field_values reads both.
        return cls.from_v4({**raw, "custom_fields_values": raw.get("custom_fields")})


Entity = TypeVar("Entity", Task, Lead, Contact)
Listed = TypeVar("Listed", Task, Lead)  # what the mirror keeps and reads in pages


@dataclass(frozen=True)
class Deletion:
    """A task or lead deleted in amoCRM, from the events list (docs/amocrm.md#events-api)."""

    entity: str  # "tasks" or "leads"
    entity_id: int
    at: int  # the event's created_at

    @classmethod
    def from_v4(cls, raw: Mapping[str, Any]) -> Deletion | None:
        """None for an event of another entity (only tasks and leads are asked for)."""
        entity = {"task": "tasks", "lead": "leads"}.get(str(raw.get("entity_type") or ""))
        if entity is None or raw.get("entity_id") is None:
            return None
        return cls(
            entity, int(raw["entity_id"]), int(raw.get("created_at") or 0)
        )  # what the API reads one by one, by id or by query


@dataclass(frozen=True)
class Stage:
    id: int
    name: str
    sort: int
    pipeline_id: int
    type: int = 0  # 1 = "unsorted" (docs/amocrm.md#leads-contacts-pipelines)


@dataclass(frozen=True)
class Pipeline:
    id: int
    name: str
    is_main: bool
    is_archive: bool
    stages: tuple[Stage, ...]

    @classmethod
    def from_v4(cls, raw: Mapping[str, Any]) -> Pipeline:
        statuses = (raw.get("_embedded") or {}).get("statuses") or []
        stages = tuple(
            Stage(
                id=int(s["id"]),
                name=str(s.get("name") or ""),
                sort=int(s.get("sort") or 0),
                pipeline_id=int(raw["id"]),
                type=int(s.get("type") or 0),
            )
            for s in sorted(statuses, key=lambda s: int(s.get("sort") or 0))
        )
        return cls(
            id=int(raw["id"]),
            name=str(raw.get("name") or ""),
            is_main=bool(raw.get("is_main")),
            is_archive=bool(raw.get("is_archive")),
            stages=stages,
        )

    @classmethod
    def from_v2(cls, raw: Mapping[str, Any]) -> Pipeline:
        # UNCONFIRMED (v2 docs are gone): /api/v2/account?with=pipelines keys the statuses of a
        # pipeline by id, {"statuses": {"142": {...}}}; accept a list too.
        statuses = raw.get("statuses") or {}
        items = statuses.items() if isinstance(statuses, Mapping) else enumerate(statuses)
        listed = [{"id": key, **s} for key, s in items if isinstance(s, Mapping)]
        return cls.from_v4({**raw, "_embedded": {"statuses": listed}})

    def stage(self, status_id: int) -> Stage | None:
        return next((s for s in self.stages if s.id == status_id), None)


@dataclass(frozen=True)
class Account:
    id: int
    name: str
    subdomain: str
    timezone: str | None
    current_user_id: int | None

    @classmethod
    def from_v4(cls, raw: Mapping[str, Any]) -> Account:
        settings = (raw.get("_embedded") or {}).get("datetime_settings") or {}
        return cls(
            id=int(raw["id"]),
            name=str(raw.get("name") or ""),
            subdomain=str(raw.get("subdomain") or ""),
            timezone=settings.get("timezone") or None,
            current_user_id=_int(raw.get("current_user_id")),
        )

    @classmethod
    def from_v2(cls, raw: Mapping[str, Any]) -> Account:
        return cls(
            id=int(raw["id"]),
            name=str(raw.get("name") or ""),
            subdomain=str(raw.get("subdomain") or ""),
            timezone=raw.get("timezone") or None,
            current_user_id=_int(raw.get("current_user")),
        )
