"""AmoClient: the bot's only door to amoCRM, for API v4 (token, OAuth) and legacy v2 (session).

Public methods are named for what the bot needs and return models, never raw JSON. Every API call
goes through ``_request`` (auth, one renewal after a 401, status → error, JSON), which sends
through ``Transport`` (rate limit, timeout, retries, block cool-down).
Facts behind the endpoints and parameters: docs/amocrm.md.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from collections.abc import Iterable
from collections.abc import Iterator
from collections.abc import Mapping
from contextlib import AbstractContextManager
from contextlib import suppress
from typing import Any
from typing import TypeVar
from urllib.parse import urlsplit

import requests

from leoweb_bot import __version__
from leoweb_bot.amocrm.auth import AmoAuth
from leoweb_bot.amocrm.auth import OAuth
from leoweb_bot.amocrm.auth import TokenStore
from leoweb_bot.amocrm.auth import build_auth
from leoweb_bot.amocrm.deadline import SERVER
from leoweb_bot.amocrm.deadline import Deadline
from leoweb_bot.amocrm.deadline import RetryPolicy
from leoweb_bot.amocrm.errors import AmoError
from leoweb_bot.amocrm.errors import AuthError
from leoweb_bot.amocrm.errors import BadRequest
from leoweb_bot.amocrm.errors import Forbidden
from leoweb_bot.amocrm.errors import NotFound
from leoweb_bot.amocrm.limiter import RateLimiter
from leoweb_bot.amocrm.limiter import shared_limiter
from leoweb_bot.amocrm.models import Account
from leoweb_bot.amocrm.models import Contact
from leoweb_bot.amocrm.models import Lead
from leoweb_bot.amocrm.models import Pipeline
from leoweb_bot.amocrm.models import Task
from leoweb_bot.amocrm.models import User
from leoweb_bot.amocrm.transport import Transport
from leoweb_bot.amocrm.transport import json_or_error
from leoweb_bot.config import AmoSettings
from leoweb_bot.ids import parse_id

logger = logging.getLogger(__name__)

USER_AGENT = f"leoweb-bot/{__version__}"
CONNECT_TIMEOUT = 3.05  # "slightly larger than a multiple of 3" (requests docs, Timeouts)
PAGE_LIMIT = 250  # v4 maximum for tasks, leads, contacts, users (docs/amocrm.md#paging)
V2_PAGE_LIMIT = 500  # v2 maximum limit_rows (docs/amocrm.md#api-v2-shapes)
USERS_TTL = 600  # /users is slow on big accounts: the docs advise caching (docs/amocrm.md#users)
# Ids per filter[id][] request: keeps the query string short. How many amoCRM takes in one
# request is not documented; 50 is the batch it recommends for writes
# (https://www.amocrm.ru/developers/content/api/recommendations).
IDS_BATCH = 50
# Send at 95% of the configured rate: network jitter can bunch evenly spaced requests so that
# eight land inside one second of the server's window; at 95% eight span 1.05 s, which leaves
# 50 ms of jitter (bench/overdue_report.py shows no 429 at 7 req/s and 100 ms latency).
RATE_HEADROOM = 0.95

Params = Mapping[str, Any]
E = TypeVar("E", Task, Lead, Contact)


def build_client(
    settings: AmoSettings,
    token_store: TokenStore | None = None,
    *,
    session: requests.Session | None = None,
    clock: Callable[[], float] = time.time,
    sleep: Callable[[float], None] = time.sleep,
    limiter: RateLimiter | None = None,
    monotonic: Callable[[], float] = time.monotonic,
    policy: RetryPolicy = SERVER,
) -> AmoClient:
    """The client for ``settings.auth``; by default it shares the process-wide rate limiter.

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
        limiter: RateLimiter | None = None,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
        monotonic: Callable[[], float] = time.monotonic,
        policy: RetryPolicy = SERVER,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self._auth = auth
        self._v2 = auth.api == "v2"
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
        self._users_lock = threading.Lock()
        self._users: dict[int, User] | None = None
        self._users_at = 0.0
        self._users_fallback_logged = False

    def operation(self) -> AbstractContextManager[Deadline]:
        """Calls inside the block are one operation (a report, a screen, a check): they share
        one deadline, after which amoCRM's trouble is raised as a clear error."""
        return self._http.operation()

    def account(self) -> Account:
        """Account name, subdomain, timezone and current user."""
        if self._v2:
            return Account.from_v2(self._get("account", api="v2"))
        return Account.from_v4(self._get("account", {"with": "datetime_settings"}))

    def users(self) -> dict[int, User]:
        """Users by id, cached for 10 minutes; {} when no endpoint will name them."""
        with self._users_lock:
            if self._users is None or self._clock() - self._users_at >= USERS_TTL:
                self._users, self._users_at = self._fetch_users(), self._clock()
            return dict(self._users)

    def _fetch_users(self) -> dict[int, User]:
        if not self._v2:
            try:
                return {u.id: u for u in map(User.from_v4, self._paginate("users", "users"))}
            except Forbidden:
                self._log_users_fallback()
        try:
            return self._users_v2()
        except (AuthError, Forbidden, NotFound, BadRequest) as exc:
            logger.info("amoCRM user names unavailable (%s); reports show #id", exc)
            return {}

    def _users_v2(self) -> dict[int, User]:
        return {u.id: u for u in map(User.from_v2, self._v2_account_part("users"))}

    def _log_users_fallback(self) -> None:
        if not self._users_fallback_logged:
            self._users_fallback_logged = True
            logger.info("amoCRM /api/v4/users needs admin rights; using /api/v2/account?with=users")

    def iter_tasks(
        self,
        *,
        is_completed: bool | None = None,
        responsible_user_id: int | None = None,
        lead_id: int | None = None,
        order_by_deadline: bool = False,
    ) -> Iterator[Task]:
        """Tasks page by page, optionally filtered and sorted by deadline (soonest first).

        ``lead_id`` keeps the tasks attached to that lead.
        """
        if self._v2:
            tasks = self._iter_tasks_v2(
                is_completed, responsible_user_id, lead_id, order_by_deadline
            )
        else:
            params = _task_params_v4(is_completed, responsible_user_id, lead_id, order_by_deadline)
            tasks = map(Task.from_v4, self._paginate("tasks", "tasks", params))
        # Re-check the filters: one script reports filter[is_completed] misbehaving
        # (docs/amocrm.md#tasks), and v2's element_id/type are known from client libraries only
        # (docs/amocrm.md#api-v2-shapes).
        return (t for t in tasks if _task_matches(t, is_completed, lead_id))

    def _iter_tasks_v2(
        self,
        is_completed: bool | None,
        responsible_user_id: int | None,
        lead_id: int | None,
        by_deadline: bool,
    ) -> Iterator[Task]:
        params: dict[str, Any] = {}
        if is_completed is not None:
            params["filter[status]"] = int(is_completed)
        if responsible_user_id is not None:
            params["responsible_user_id"] = responsible_user_id
        if lead_id is not None:
            # element_id with type=lead, as the R and PHP v2 clients send them
            # (docs/amocrm.md#api-v2-shapes).
            params.update(element_id=lead_id, type="lead")
        tasks = map(Task.from_v2, self._paginate_v2("tasks", params))
        if not by_deadline:
            return tasks
        # v2 has no sort parameter: sort here, tasks without a deadline last.
        return iter(sorted(tasks, key=lambda t: (t.complete_till is None, t.complete_till or 0)))

    def overdue_tasks(self, now: int, responsible_user_id: int | None = None) -> list[Task]:
        """Open tasks due strictly before ``now``; on v4 stops paging at the first one not due."""
        overdue = []
        for task in self._open_by_deadline(responsible_user_id):
            if task.complete_till is None:
                continue  # no deadline, never overdue; where amoCRM sorts these is UNCONFIRMED
            if task.complete_till >= now:
                break  # sorted by deadline: nothing after this is overdue, so no more pages
            overdue.append(task)
        return overdue

    def open_tasks(self, responsible_user_id: int) -> list[Task]:
        """One user's open tasks, soonest deadline first."""
        return list(self._open_by_deadline(responsible_user_id))

    def lead_tasks(self, lead_id: int) -> list[Task]:
        """The open tasks attached to one lead, soonest deadline first."""
        return list(self.iter_tasks(is_completed=False, lead_id=lead_id, order_by_deadline=True))

    def _open_by_deadline(self, responsible_user_id: int | None) -> Iterator[Task]:
        return self.iter_tasks(
            is_completed=False, responsible_user_id=responsible_user_id, order_by_deadline=True
        )

    def task(self, task_id: int) -> Task:
        """One task; NotFound if it does not exist."""
        return self._entity(Task, "tasks", task_id)

    def complete_task(self, task_id: int, result_text: str) -> None:
        """Mark the task done with ``result_text`` as its result."""
        if self._v2:
            self._complete_task_v2(int(task_id), result_text)
            return
        body = {"is_completed": True, "result": {"text": result_text}}
        self._request("PATCH", f"tasks/{int(task_id)}", json=body)  # idempotent, so retried

    def _complete_task_v2(self, task_id: int, result_text: str) -> None:
        # UNCONFIRMED shape (the v2 docs are gone): POST /api/v2/tasks {"update": [...]} needs
        # updated_at and text; send the task's own text so the description is not overwritten.
        task = self.task(task_id)
        update = {
            "id": task_id,
            "updated_at": int(self._clock()),
            "is_completed": True,
            "text": task.text,
            "result": {"text": result_text},
        }
        reply = self._request("POST", "tasks", json={"update": [update]}, api="v2", idempotent=True)
        errors = ((reply or {}).get("_embedded") or {}).get("errors")
        if errors:
            raise BadRequest("amoCRM did not complete the task", 200, str(errors)[:300])

    def lead(self, lead_id: int) -> Lead:
        """One lead with its contact ids; NotFound if it does not exist."""
        return self._entity(Lead, "leads", lead_id, {"with": "contacts"})

    def search_leads(self, query: str, limit: int = 10) -> list[Lead]:
        """Leads matching ``query`` in any filled field; an all-digit query also tries it as an id."""
        query = query.strip()
        found: dict[int, Lead] = {}
        lead_id = parse_id(query)
        if lead_id is not None:
            with suppress(NotFound):
                lead = self.lead(lead_id)
                found[lead.id] = lead
        parse = Lead.from_v2 if self._v2 else Lead.from_v4
        for raw in self._search("leads", query, limit, {"with": "contacts"}):
            found.setdefault(int(raw["id"]), parse(raw))
        return list(found.values())[:limit]

    def iter_leads(self, *, closed_since: int | None = None) -> Iterator[Lead]:
        """All leads page by page; with ``closed_since`` only those closed at or after it."""
        if self._v2:
            # v2 has no closed_at filter: filter here.
            leads = map(Lead.from_v2, self._paginate_v2("leads", {}))
            since = closed_since or 0
            return (lead for lead in leads if not since or (lead.closed_at or 0) >= since)
        params = {} if closed_since is None else {"filter[closed_at][from]": closed_since}
        return map(Lead.from_v4, self._paginate("leads", "leads", params))

    def contact(self, contact_id: int) -> Contact:
        """One contact; NotFound if it does not exist."""
        return self._entity(Contact, "contacts", contact_id)

    def contacts(self, ids: Iterable[int]) -> list[Contact]:
        """The contacts with these ids, in the given order; unknown ids are skipped."""
        return self._by_ids(Contact, "contacts", ids)

    def leads(self, ids: Iterable[int]) -> list[Lead]:
        """The leads with these ids and their contact ids, in the given order; unknown ids
        (deleted, or never ours) are skipped. One request per 50 ids, not one per lead."""
        return self._by_ids(Lead, "leads", ids, {"with": "contacts"})

    def _by_ids(
        self, model: type[E], entity: str, ids: Iterable[int], extra: Params | None = None
    ) -> list[E]:
        """Leads or contacts by id, ``filter[id][]`` (v2: ``id[]``) in batches
        (https://www.amocrm.ru/developers/content/crm_platform/filters-api)."""
        wanted = list(dict.fromkeys(int(i) for i in ids))
        found: dict[int, E] = {}
        for start in range(0, len(wanted), IDS_BATCH):
            batch = wanted[start : start + IDS_BATCH]
            if self._v2:
                raws = self._paginate_v2(entity, {"id[]": batch})
                found.update((x.id, x) for x in map(model.from_v2, raws))
            else:
                params = {"filter[id][]": batch, **(extra or {})}
                found.update(
                    (x.id, x) for x in map(model.from_v4, self._paginate(entity, entity, params))
                )
        return [found[i] for i in wanted if i in found]

    def search_contacts(self, query: str, limit: int = 10) -> list[Contact]:
        """Contacts matching ``query`` (name, phone, e-mail...)."""
        parse = Contact.from_v2 if self._v2 else Contact.from_v4
        return [parse(raw) for raw in self._search("contacts", query.strip(), limit)]

    def pipelines(self) -> list[Pipeline]:
        """Lead pipelines with their stages in board order."""
        if self._v2:
            return [Pipeline.from_v2(p) for p in self._v2_account_part("pipelines")]
        embedded = self._get("leads/pipelines").get("_embedded") or {}
        return [Pipeline.from_v4(p) for p in embedded.get("pipelines") or ()]

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

    def _request(
        self,
        method: str,
        path: str,
        *,
        params: Params | None = None,
        json: Any = None,
        api: str = "v4",
        idempotent: bool | None = None,
    ) -> dict[str, Any] | None:
        """Call the API; the decoded body, or None for 204 (amoCRM's "nothing found":
        docs/amocrm.md#empty-answers-204)."""
        url = self._url(path, api)
        idempotent = method != "POST" if idempotent is None else idempotent
        send = dict(params=params, json=json, auth=self._auth, idempotent=idempotent)
        fresh = self._auth.prepare(self._http)
        response = self._http.send(method, url, **send)
        if response.status_code == 401 and not fresh and self._auth.renew(self._http, response):
            response = self._http.send(method, url, **send)  # at most one renewal per call
        if response.status_code == 204:
            return None
        if response.status_code == 401:
            error = self._http.fail(response)
            raise AuthError(f"{error.message}; {self._auth.remedy}", 401, error.detail)
        if not 200 <= response.status_code < 300:
            raise self._http.fail(response)
        body = json_or_error(response)
        if not isinstance(body, dict):
            raise AmoError("expected a JSON object", response.status_code)
        return body

    def _url(self, path: str, api: str) -> str:
        if not path.startswith(("http://", "https://")):
            return f"{self.base_url}/api/{api}/{path.lstrip('/')}"
        # A next link is absolute; never let it carry our credentials to another host.
        link, base = urlsplit(path), urlsplit(self.base_url)
        if (link.scheme, link.netloc) == (base.scheme, base.netloc):
            return path
        return f"{self.base_url}{link.path}" + (f"?{link.query}" if link.query else "")

    def _get(self, path: str, params: Params | None = None, *, api: str = "v4") -> dict[str, Any]:
        body = self._request("GET", path, params=params, api=api)
        if body is None:
            raise NotFound(f"{path} not found", 204)  # 204 for one entity = it does not exist
        return body

    def _entity(
        self, model: type[E], entity: str, entity_id: int, params: Params | None = None
    ) -> E:
        """One task, lead or contact by id; NotFound if it does not exist."""
        if not self._v2:
            return model.from_v4(self._get(f"{entity}/{int(entity_id)}", params))
        items = _v2_items(self._request("GET", entity, params={"id": int(entity_id)}, api="v2"))
        if not items:
            raise NotFound(f"{entity} {int(entity_id)} not found", 204)
        return model.from_v2(items[0])

    def _v2_account_part(self, part: str) -> list[dict[str, Any]]:
        # /api/v2/account?with=users|pipelines: an object keyed by id, not a list
        # (docs/amocrm.md#api-v2-shapes)
        embedded = self._get("account", {"with": part}, api="v2").get("_embedded") or {}
        raw = embedded.get(part) or {}
        pairs = raw.items() if isinstance(raw, Mapping) else ((i.get("id"), i) for i in raw)
        return [{"id": key, **item} for key, item in pairs if isinstance(item, Mapping)]

    def _search(
        self, entity: str, query: str, limit: int, extra: Params | None = None
    ) -> list[dict[str, Any]]:
        if not query:
            return []
        if self._v2:
            params = {"query": query, "limit_rows": limit}
            return _v2_items(self._request("GET", entity, params=params, api="v2"))
        params = {"query": query, "limit": limit, **(extra or {})}
        body = self._request("GET", entity, params=params) or {}
        return list((body.get("_embedded") or {}).get(entity) or ())

    def _paginate(self, path: str, key: str, params: Params | None = None) -> Iterator[dict]:
        """v4 items page by page, following ``_links.next`` until it is missing or a 204
        (docs/amocrm.md#paging)."""
        url: str | None = path
        page_params: Params | None = {**(params or {}), "limit": PAGE_LIMIT}
        while url:
            body = self._request("GET", url, params=page_params)
            if body is None:
                return
            yield from (body.get("_embedded") or {}).get(key) or ()
            next_url = ((body.get("_links") or {}).get("next") or {}).get("href")
            url, page_params = (next_url if next_url != url else None), None

    def _paginate_v2(self, path: str, params: Params) -> Iterator[dict]:
        """v2 items by ``limit_rows``/``limit_offset`` until a 204 or a short page."""
        offset = 0
        while True:
            page = {**params, "limit_rows": V2_PAGE_LIMIT, "limit_offset": offset}
            items = _v2_items(self._request("GET", path, params=page, api="v2"))
            yield from items
            if len(items) < V2_PAGE_LIMIT:
                return
            offset += V2_PAGE_LIMIT


def _task_params_v4(
    is_completed: bool | None,
    responsible_user_id: int | None,
    lead_id: int | None,
    by_deadline: bool,
) -> dict[str, Any]:
    params: dict[str, Any] = {}
    if is_completed is not None:
        params["filter[is_completed]"] = int(is_completed)
    if responsible_user_id is not None:
        params["filter[responsible_user_id]"] = responsible_user_id
    if lead_id is not None:
        # filter[entity_id] (int or array) works only with filter[entity_type]
        # (docs/amocrm.md#tasks)
        params.update({"filter[entity_type]": "leads", "filter[entity_id][]": lead_id})
    if by_deadline:
        params["order[complete_till]"] = "asc"
    return params


def _task_matches(task: Task, is_completed: bool | None, lead_id: int | None) -> bool:
    return (is_completed is None or task.is_completed == is_completed) and (
        lead_id is None or (task.entity_type, task.entity_id) == ("leads", lead_id)
    )


def _v2_items(body: Mapping[str, Any] | None) -> list[dict[str, Any]]:
    return list(((body or {}).get("_embedded") or {}).get("items") or ())
