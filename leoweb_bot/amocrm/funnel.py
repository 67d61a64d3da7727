"""The one HTTP funnel every API call goes through, whichever API version shapes it.

``Funnel.request`` builds the URL, makes the auth ready, renews it once after a 401, turns a
failed status into a typed error and decodes the JSON; it sends through ``Transport`` (rate
limit, timeout, retries, block cool-down). The v4 and v2 adapters (v4.py, v2.py) only shape
requests and read answers.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from leoweb_bot.amocrm.auth import AmoAuth
from leoweb_bot.amocrm.errors import AmoError
from leoweb_bot.amocrm.errors import AuthError
from leoweb_bot.amocrm.errors import NotFound
from leoweb_bot.amocrm.transport import Transport
from leoweb_bot.amocrm.transport import json_or_error

Params = Mapping[str, Any]
Body = dict[str, Any]


class Funnel:
    """Calls to ``{base_url}/api/{v4|v2}/…`` with one auth and one transport."""

    def __init__(self, base_url: str, auth: AmoAuth, http: Transport) -> None:
        self.base_url = base_url.rstrip("/")
        self.auth = auth
        self.http = http

    def request(
        self,
        method: str,
        path: str,
        *,
        params: Params | None = None,
        json: Any = None,
        api: str = "v4",
        idempotent: bool | None = None,
    ) -> Body | None:
        """The decoded body, or None for a 204 (amoCRM's "nothing found":
        docs/amocrm.md#empty-answers-204). A POST is not retried unless ``idempotent``."""
        url = self._url(path, api)
        idempotent = method != "POST" if idempotent is None else idempotent
        send = dict(params=params, json=json, auth=self.auth, idempotent=idempotent)
        fresh = self.auth.prepare(self.http)
        response = self.http.send(method, url, **send)
        if response.status_code == 401 and not fresh and self.auth.renew(self.http, response):
            response = self.http.send(method, url, **send)  # at most one renewal per call
        if response.status_code == 204:
            return None
        if response.status_code == 401:
            error = self.http.fail(response)
            raise AuthError(f"{error.message}; {self.auth.remedy}", 401, error.detail)
        if not 200 <= response.status_code < 300:
            raise self.http.fail(response)
        body = json_or_error(response)
        if not isinstance(body, dict):
            raise AmoError("expected a JSON object", response.status_code)
        return body

    def get(self, path: str, params: Params | None = None, *, api: str = "v4") -> Body:
        """A body that must be there: a 204 for one entity means it does not exist."""
        body = self.request("GET", path, params=params, api=api)
        if body is None:
            raise NotFound(f"{path} not found", 204)
        return body

    def _url(self, path: str, api: str) -> str:
        if not path.startswith(("http://", "https://")):
            return f"{self.base_url}/api/{api}/{path.lstrip('/')}"
        # A next link is absolute; never let it carry our credentials to another host.
        link, base = urlsplit(path), urlsplit(self.base_url)
        if (link.scheme, link.netloc) == (base.scheme, base.netloc):
            return path
        return f"{self.base_url}{link.path}" + (f"?{link.query}" if link.query else "")
