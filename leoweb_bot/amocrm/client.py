"""AmoClient: the bot's only door to amoCRM, for API v4 (token, OAuth) and legacy v2 (session).

Public methods are named for what the bot needs and return models, never raw JSON. The API
version is chosen once, when the client is built: an adapter (v4.py or v2.py) shapes the
requests and reads the answers, and every call goes through the one ``Funnel`` (auth, one
renewal after a 401, status → error, JSON) and its ``Transport`` (rate limit, timeout, retries,
block cool-down). Facts behind the endpoints and parameters: docs/amocrm.md.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from collections.abc import Iterable
from collections.abc import Iterator
from contextlib import AbstractContextManager
from contextlib import suppress
from typing import Protocol

import requests

from leoweb_bot import __version__
from leoweb_bot.amocrm.auth import AmoAuth
from leoweb_bot.amocrm.auth import OAuth
from leoweb_bot.amocrm.auth import TokenStore
from leoweb_bot.amocrm.auth import build_auth
from leoweb_bot.amocrm.deadline import SERVER
from leoweb_bot.amocrm.deadline import Deadline
from leoweb_bot.amocrm.deadline import RetryPolicy
from leoweb_bot.amocrm.errors import NotFound
from leoweb_bot.amocrm.funnel import Funnel
from leoweb_bot.amocrm.limiter import RATE_HEADROOM
from leoweb_bot.amocrm.limiter import shared_limiter
from leoweb_bot.amocrm.models import Account
from leoweb_bot.amocrm.models import Contact
from leoweb_bot.amocrm.models import Deletion
from leoweb_bot.amocrm.models import Entity
from leoweb_bot.amocrm.models import Lead
from leoweb_bot.amocrm.models import Listed
from leoweb_bot.amocrm.models import Pipeline
from leoweb_bot.amocrm.models import Task
from leoweb_bot.amocrm.models import TaskQuery
from leoweb_bot.amocrm.models import User
from leoweb_bot.amocrm.transport import Transport
from leoweb_bot.amocrm.v2 import V2
from leoweb_bot.amocrm.v4 import PAGE_LIMIT
from leoweb_bot.amocrm.v4 import V4
from leoweb_bot.config import AmoSettings
from leoweb_bot.ids import parse_id
from leoweb_bot.pacing import Pacer

USER_AGENT = f"leoweb-bot/{__version__}"
CONNECT_TIMEOUT = 3.05  # "slightly larger than a multiple of 3" (requests docs, Timeouts)
USERS_TTL = 600  # /users is slow on big accounts; the docs advise caching it (docs/amocrm.md#users)
# Ids per filter[id][] request: keeps the query string short. How many amoCRM takes in one
# request is not documented; 50 is the batch it recommends for writes
# (https://www.amocrm.ru/developers/content/api/recommendations).
IDS_BATCH = 50


class Api(Protocol):
    """What an API version (v4.py, v2.py) answers; the client adds what both share."""

    page_size: int  # rows in a full page of a list

    def account(self) -> Account: ...

    def users(self) -> dict[int, User]: ...

    def tasks(self, query: TaskQuery) -> Iterator[Task]: ...

    def complete_task(self, task_id: int, result_text: str) -> int | None: ...

    def scan_page(self, model: type[Listed], entity: str, number: int) -> list[Listed]: ...

    def one(self, model: type[Entity], entity: str, entity_id: int) -> Entity: ...

    def batch(self, model: type[Entity], entity: str, ids: list[int]) -> Iterator[Entity]: ...

    def search(self, model: type[Entity], entity: str, query: str, limit: int) -> list[Entity]: ...

    def leads(self, closed_since: int | None) -> Iterator[Lead]: ...

    def pipelines(self) -> list[Pipeline]: ...


def build_client(
    settings: AmoSettings,
    token_store: TokenStore | None = None,
    *,
    session: requests.Session | None = None,
    clock: Callable[[], float] = time.time,
    sleep: Callable[[float], None] = time.sleep,
    limiter: Pacer | None = None,
    monotonic: Callable[[], float] = time.monotonic,
    policy: RetryPolicy = SERVER,
) -> AmoClient:
    """The client for ``settings.auth``; by default it shares the process-wide rate limiter
    (a server passes its ``server_budget``).

    ``policy``: the server's by default; one-shot commands pass ``deadline.ONE_SHOT``.
    """
    base_url = settings.base_url.rstrip("/")
    return AmoClient(
        base_url,
        build_auth(settings, token_store, clock=clock),
        session=session,
        timeout=settings.timeout,
        limiter=limiter or shared_limiter(base_url, settings.rate_limit * RATE_HEADROOM),
        clock=clock,
        sleep=sleep,
        monotonic=monotonic,
        policy=policy,
    )


class AmoClient:
    """Read tasks, users, leads, contacts and pipelines from amoCRM; complete tasks."""

    def __init__(
        self,
        base_url: str,
        auth: AmoAuth,
        *,
        session: requests.Session | None = None,
        timeout: float = 10.0,
        limiter: Pacer | None = None,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
        monotonic: Callable[[], float] = time.monotonic,
        policy: RetryPolicy = SERVER,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self._auth = auth
        self._clock = clock
        http = session or requests.Session()
        http.headers.update({"User-Agent": USER_AGENT, "Accept": "application/json"})
        self._http = Transport(
            http,
            timeout=(CONNECT_TIMEOUT, timeout),
            limiter=limiter or shared_limiter(self.base_url, 7 * RATE_HEADROOM),
            clock=clock,
            sleep=sleep,
            monotonic=monotonic,
            policy=policy,
            redact=auth.redact,
        )
        funnel = Funnel(self.base_url, auth, self._http)
        self._api: Api = V2(funnel, clock) if auth.api == "v2" else V4(funnel)
        self._users_lock = threading.Lock()
        self._users: dict[int, User] | None = None
        self._users_at = 0.0

    def operation(self) -> AbstractContextManager[Deadline]:
        """Calls inside the block are one operation (a report, a screen, a check): they share
        one deadline, after which amoCRM's trouble is raised as a clear error."""
        return self._http.operation()

    def account(self) -> Account:
        """Account name, subdomain, timezone and current user."""
        return self._api.account()

    def users(self) -> dict[int, User]:
        """Users by id, cached for 10 minutes; {} when no endpoint will name them."""
        with self._users_lock:
            if self._users is None or self._clock() - self._users_at >= USERS_TTL:
                self._users, self._users_at = self._api.users(), self._clock()
            return dict(self._users)

    def iter_tasks(
        self,
        *,
        is_completed: bool | None = None,
        responsible_user_id: int | None = None,
        lead_id: int | None = None,
        order_by_deadline: bool = False,
        changed_since: int | None = None,
    ) -> Iterator[Task]:
        """Tasks page by page, optionally filtered and sorted by deadline (soonest first).

        ``lead_id`` keeps the tasks attached to that lead; ``changed_since`` those whose
        ``updated_at`` is at or after it.
        """
        query = TaskQuery(
            is_completed, responsible_user_id, lead_id, order_by_deadline, changed_since
        )
        # Re-check the filters: one script reports filter[is_completed] misbehaving
        # (docs/amocrm.md#tasks), and v2's element_id and type are known from client libraries
        # only (docs/amocrm.md#api-v2-shapes).
        return filter(query.matches, self._api.tasks(query))

    def open_tasks_due_before(
        self, moment: int, responsible_user_id: int | None = None
    ) -> list[Task]:
        """Open tasks with a deadline strictly before ``moment``: a query bound, not the overdue
        rule. ``reports.is_overdue`` decides which of them are late (an all-day task is not
        yet at 23:59). On v4 paging stops at the first task not due before ``moment``."""
        due = []
        for task in self._open_by_deadline(responsible_user_id):
            if task.complete_till is None:
                continue  # no deadline; where amoCRM sorts these is unconfirmed
            if task.complete_till >= moment:
                break  # sorted by deadline: nothing after this is due before, so no more pages
            due.append(task)
        return due

    def open_tasks(self, responsible_user_id: int | None = None) -> list[Task]:
        """One user's open tasks (everyone's without an id), soonest deadline first."""
        return list(self._open_by_deadline(responsible_user_id))

    def tasks_completed_since(self, moment: int) -> list[Task]:
        """Tasks completed and last changed at or after ``moment``: what was closed since then.

        amoCRM keeps no completion time, so ``updated_at`` stands for it (a completed task
        changed later counts on that day). v4 filters by it; v2 has no such filter
        (docs/amocrm.md#incremental-sync), so there every completed task is read and checked.
        """
        return list(self.iter_tasks(is_completed=True, changed_since=moment))

    def lead_tasks(self, lead_id: int) -> list[Task]:
        """The open tasks attached to one lead, soonest deadline first."""
        return list(self.iter_tasks(is_completed=False, lead_id=lead_id, order_by_deadline=True))

    def _open_by_deadline(self, responsible_user_id: int | None) -> Iterator[Task]:
        return self.iter_tasks(
            is_completed=False, responsible_user_id=responsible_user_id, order_by_deadline=True
        )

    def task(self, task_id: int) -> Task:
        """One task; NotFound if it does not exist."""
        return self._api.one(Task, "tasks", int(task_id))

    def complete_task(self, task_id: int, result_text: str) -> int | None:
        """Mark the task done with ``result_text`` as its result; returns the task's new
        ``updated_at`` when amoCRM tells it (v4's answer carries only that and the id)."""
        return self._api.complete_task(int(task_id), result_text)

    def lead(self, lead_id: int) -> Lead:
        """One lead with its contact ids; NotFound if it does not exist."""
        return self._api.one(Lead, "leads", int(lead_id))

    def search_leads(self, query: str, limit: int = 10) -> list[Lead]:
        """Leads matching ``query`` in any filled field; an all-digit query also tries it as an id."""
        query = query.strip()
        found: dict[int, Lead] = {}
        lead_id = parse_id(query)
        if lead_id is not None:
            with suppress(NotFound):
                lead = self.lead(lead_id)
                found[lead.id] = lead
        for lead in self._search(Lead, "leads", query, limit):
            found.setdefault(lead.id, lead)
        return list(found.values())[:limit]

    def search_contacts(self, query: str, limit: int = 10) -> list[Contact]:
        """Contacts matching ``query`` (name, phone, e-mail...)."""
        return self._search(Contact, "contacts", query.strip(), limit)

    def iter_leads(self, *, closed_since: int | None = None) -> Iterator[Lead]:
        """All leads page by page; with ``closed_since`` only those closed at or after it."""
        return self._api.leads(closed_since)

    def contacts(self, ids: Iterable[int]) -> list[Contact]:
        """The contacts with these ids, in the given order; unknown ids are skipped."""
        return self._by_ids(Contact, "contacts", ids)

    def leads(self, ids: Iterable[int]) -> list[Lead]:
        """The leads with these ids and their contact ids, in the given order; unknown ids
        (deleted, or never ours) are skipped. One request per 50 ids, not one per lead."""
        return self._by_ids(Lead, "leads", ids)

    def pipelines(self) -> list[Pipeline]:
        """Lead pipelines with their stages in board order."""
        return self._api.pipelines()

    # -- what the mirror reads (leoweb_bot/sync; docs/amocrm.md#incremental-sync) ----------------

    @property
    def incremental(self) -> bool:
        """Whether amoCRM can list what changed since a moment (v4); v2 only full scans."""
        return isinstance(self._api, V4)

    def tasks(self, ids: Iterable[int]) -> list[Task]:
        """The tasks with these ids, open or completed; deleted ones are simply missing."""
        return self._by_ids(Task, "tasks", ids)

    def changed_tasks(self, since: int) -> Iterator[Task]:
        """Tasks changed at or after ``since`` (amoCRM's ``updated_at``), completed ones too."""
        return self._v4().changed(Task, "tasks", since)

    def changed_leads(self, since: int) -> Iterator[Lead]:
        """Leads changed at or after ``since``."""
        return self._v4().changed(Lead, "leads", since)

    def deletions(self, since: int) -> Iterator[Deletion]:
        """Tasks and leads deleted at or after ``since``, from the events list."""
        return self._v4().deletions(since)

    @property
    def page_size(self) -> int:
        """Rows in a full page of ``task_page`` and ``lead_page``."""
        return self._api.page_size

    def task_page(self, number: int) -> list[Task]:
        """Page ``number`` (from 1) of all open tasks in a stable order; [] past the end."""
        return self._api.scan_page(Task, "tasks", number)

    def lead_page(self, number: int) -> list[Lead]:
        """Page ``number`` (from 1) of all leads in a stable order; [] past the end."""
        return self._api.scan_page(Lead, "leads", number)

    def _v4(self) -> V4:
        if not isinstance(self._api, V4):
            raise TypeError("API v2 cannot list changes; scan it in full instead")
        return self._api

    def refresh_tokens(self) -> None:
        """Rotate the OAuth pair now (keeps the 3-month refresh token alive); no-op otherwise."""
        if isinstance(self._auth, OAuth):
            self._auth.refresh(self._http)

    def token_info(self) -> dict[str, int] | None:
        """``expires_at`` and ``refreshed_at`` of the OAuth tokens (no secrets); None otherwise."""
        return self._auth.token_info()

    def close(self) -> None:
        self._http.session.close()

    def __enter__(self) -> AmoClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"AmoClient(base_url={self.base_url!r}, auth={self._auth!r})"

    def _search(self, model: type[Entity], entity: str, query: str, limit: int) -> list[Entity]:
        """One page of matches: at most ``PAGE_LIMIT``, v4's page maximum."""
        return self._api.search(model, entity, query, min(limit, PAGE_LIMIT)) if query else []

    def _by_ids(self, model: type[Entity], entity: str, ids: Iterable[int]) -> list[Entity]:
        """Entities by id, ``IDS_BATCH`` ids a request, in the order asked."""
        wanted = list(dict.fromkeys(int(i) for i in ids))
        found: dict[int, Entity] = {}
        for start in range(0, len(wanted), IDS_BATCH):
            batch = self._api.batch(model, entity, wanted[start : start + IDS_BATCH])
            found.update((x.id, x) for x in batch)
        return [found[i] for i in wanted if i in found]
