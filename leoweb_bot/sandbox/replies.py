"""Response builders and query-string parsing shared by the sandbox's v4, v2 and OAuth routes.

Shapes follow docs/amocrm.md#errors-and-html-429: success is ``application/hal+json``, errors are
``application/problem+json``, an empty list is HTTP 204 with an empty body, and gateway-level
faults (429, a 403 block, 5xx) are nginx HTML pages rather than JSON.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from collections.abc import Sequence
from http import HTTPStatus
from typing import Any
from urllib.parse import urlencode

from flask import Response
from flask import request
from werkzeug.datastructures import MultiDict

Json = dict[str, Any]

MAX_LIMIT = 250  # v4 list pages (docs/amocrm.md#paging)
DEFAULT_LIMIT = 50  # the PHP SDK's default; the server's own is UNCONFIRMED (docs/amocrm.md#paging)


class ApiError(Exception):
    """A v4-style failure, rendered as problem JSON by the app's error handler."""

    def __init__(
        self, status: int, detail: str, *, path: str | None = None, request_id: int = 0
    ) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.path = path
        self.request_id = request_id  # which entity of a batch was rejected

    def response(self) -> Response:
        extra: Json = {}
        if self.status == 400 and self.path:
            # 400 carries per-field errors (docs/amocrm.md#errors-and-html-429).
            errors = [{"code": "InvalidValue", "path": self.path, "detail": self.detail}]
            extra["validation-errors"] = [{"request_id": str(self.request_id), "errors": errors}]
        return problem(self.status, self.detail, **extra)


def dumps(body: Any) -> str:
    return json.dumps(body, ensure_ascii=False, separators=(",", ":"))


def hal(body: Any, status: int = 200) -> Response:
    return Response(dumps(body), status, content_type="application/hal+json; charset=utf-8")


def plain_json(body: Any, status: int = 200) -> Response:
    return Response(dumps(body), status, content_type="application/json; charset=utf-8")


def problem(status: int, detail: str, **extra: Any) -> Response:
    body = {
        "title": HTTPStatus(status).phrase,
        "type": f"https://httpstatus.es/{status}",
        "status": status,
        "detail": detail,
        **extra,
    }
    return Response(dumps(body), status, content_type="application/problem+json")


def no_content() -> Response:
    # amoCRM's "nothing found" (code 2002) is a 204 with an empty body
    # (docs/amocrm.md#empty-answers-204).
    return Response(b"", 204)


def html_page(status: int) -> Response:
    phrase = HTTPStatus(status).phrase
    page = f"<html><body><h1>{status} {phrase}</h1><hr><center>nginx</center></body></html>"
    return Response(page, status, content_type="text/html; charset=utf-8")


def fault(status: int, body: str | None = None) -> Response:
    """An injected or gateway fault: JSON-looking bodies as problem JSON, anything else HTML."""
    if body is None:
        if status in (400, 401, 402, 404):
            return problem(status, f"Sandbox fault {status}")
        return html_page(status)
    looks_json = body.lstrip().startswith(("{", "["))
    kind = "application/problem+json" if looks_json else "text/html; charset=utf-8"
    return Response(body, status, content_type=kind)


def root_url() -> str:
    """Scheme and host the client used, so ``_links`` point back at this server."""
    return request.host_url.rstrip("/")


def self_link(path: str) -> Json:
    return {"self": {"href": f"{root_url()}{path}"}}


def with_links(entity: Json, path: str) -> Json:
    return {**entity, "_links": self_link(path)}


def int_arg(args: MultiDict[str, str], name: str, default: int) -> int:
    raw = args.get(name)
    if raw in (None, ""):
        return default
    try:
        return int(raw)
    except ValueError:
        raise ApiError(400, f"{name} must be an integer", path=name) from None


def page_and_limit(args: MultiDict[str, str]) -> tuple[int, int]:
    page = int_arg(args, "page", 1)
    limit = int_arg(args, "limit", DEFAULT_LIMIT)
    if page < 1:
        raise ApiError(400, "page must be 1 or more", path="page")
    if not 1 <= limit <= MAX_LIMIT:
        raise ApiError(400, f"limit must be between 1 and {MAX_LIMIT}", path="limit")
    return page, limit


def int_values(args: MultiDict[str, str], name: str) -> frozenset[int] | None:
    """Values of ``name``, ``name[]`` and ``name[N]``: amoCRM takes an int or an array."""
    raw = _values(args, name)
    if not raw:
        return None
    try:
        return frozenset(int(v) for v in raw)
    except ValueError:
        raise ApiError(400, f"{name} must hold integers", path=name) from None


def text_values(args: MultiDict[str, str], name: str) -> frozenset[str] | None:
    """Like ``int_values``, also splitting ``a,b``: the events docs allow comma lists."""
    found = frozenset(part for v in _values(args, name) for part in v.split(",") if part)
    return found or None


def _values(args: MultiDict[str, str], name: str) -> list[str]:
    pattern = re.compile(re.escape(name) + r"(\[\d*\])?")
    return [v for key in args if pattern.fullmatch(key) for v in args.getlist(key)]


def flag(args: MultiDict[str, str], name: str) -> bool | None:
    raw = args.get(name)
    if raw in (None, ""):
        return None
    if raw.lower() in ("1", "true"):
        return True
    if raw.lower() in ("0", "false"):
        return False
    raise ApiError(400, f"{name} must be 0 or 1", path=name)


def time_range(args: MultiDict[str, str], name: str) -> tuple[int | None, int | None]:
    """``name[from]``/``name[to]``, or ``name=TS`` (from TS on), or ``name=FROM,TO``.

    The events docs describe all three; the tasks and leads docs the first two
    (docs/amocrm.md#incremental-sync). Both bounds are inclusive (see queries.py).
    """
    plain = args.get(name)
    if plain:
        low, _, high = plain.partition(",")
    else:
        low, high = args.get(f"{name}[from]", ""), args.get(f"{name}[to]", "")
    try:
        return (int(low) if low else None, int(high) if high else None)
    except ValueError:
        raise ApiError(400, f"{name} bounds must be Unix timestamps", path=name) from None


def order_of(args: MultiDict[str, str], allowed: Sequence[str]) -> tuple[str, bool] | None:
    """The first ``order[field]=asc|desc`` as (field, descending)."""
    for key in args:
        match = re.fullmatch(r"order\[(\w+)\]", key)
        if not match:
            continue
        field, direction = match.group(1), args[key].lower()
        if field not in allowed or direction not in ("asc", "desc"):
            raise ApiError(400, f"cannot order by {field} {direction}", path=key)
        return field, direction == "desc"
    return None


def hal_page(
    items: Sequence[Json],
    key: str,
    page: int,
    limit: int,
    render: Callable[[Json], Json],
    *,
    totals: bool = False,
) -> Response:
    """One v4 list page: ``_page``, ``_links`` (self/next/first/prev), ``_embedded.<key>``.

    ``totals`` adds ``_total_items``/``_page_count``, which only some endpoints send
    (docs/amocrm.md#paging).
    """
    chunk = items[(page - 1) * limit : page * limit]
    if not chunk:
        return no_content()
    body: Json = {"_page": page}
    if totals:
        body.update(_total_items=len(items), _page_count=-(-len(items) // limit))
    links = {"self": {"href": page_url(page)}}
    if page * limit < len(items):
        links["next"] = {"href": page_url(page + 1)}
    if page > 1:
        links["first"] = {"href": page_url(1)}
        links["prev"] = {"href": page_url(page - 1)}
    body.update(_links=links, _embedded={key: [render(x) for x in chunk]})
    return hal(body)


def page_url(page: int) -> str:
    """This request's absolute URL with ``page`` replaced; brackets stay readable."""
    pairs = [(k, v) for k, v in request.args.items(multi=True) if k != "page"]
    query = urlencode([*pairs, ("page", str(page))], safe="[]")
    return f"{request.base_url}?{query}"


def body_params() -> dict[str, str]:
    """Form fields or a JSON object: amoCRM's auth endpoints take either
    (docs/amocrm.md#authentication)."""
    payload = request.get_json(silent=True)
    if isinstance(payload, dict):
        return {str(k): str(v) for k, v in payload.items()}
    return request.form.to_dict()
