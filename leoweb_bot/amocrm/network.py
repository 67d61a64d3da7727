"""What went wrong on the way to amoCRM, in words an admin can act on.

``requests`` wraps the real cause several layers deep (ConnectionError → urllib3's MaxRetryError
→ NewConnectionError → the socket error), so the chain is walked to find it. Every message
names ``amocrm.base_url`` and the host, and says which of DNS, refused, TLS, timeout or a broken
answer it was; a URL that cannot even be parsed is a configuration error, never retried.
"""

from __future__ import annotations

import socket
import ssl
from collections.abc import Iterator
from typing import TypeVar
from urllib.parse import urlsplit

import requests
import urllib3
from urllib3.exceptions import NameResolutionError

from leoweb_bot.amocrm.errors import AmoError
from leoweb_bot.amocrm.errors import BadBaseUrl
from leoweb_bot.amocrm.errors import Unavailable

E = TypeVar("E", bound=BaseException)
# getaddrinfo's "no such name" answers (EAI_NODATA is missing on some platforms); anything else,
# such as EAI_AGAIN, may pass.
_NO_SUCH_HOST = {socket.EAI_NONAME, getattr(socket, "EAI_NODATA", socket.EAI_NONAME)}


class Failure(Exception):
    """A failed try: the error to raise if no retry helps, and whether a retry may help.

    ``always_safe``: nothing reached amoCRM (no connection, or a 429 refused before any work),
    so even a write may be sent again. ``retryable``: the cause may pass by itself.
    """

    def __init__(
        self,
        error: AmoError,
        response: requests.Response | None = None,
        *,
        always_safe: bool = False,
        retryable: bool = True,
    ) -> None:
        reason = f"{response.status_code} {response.reason}" if response is not None else ""
        super().__init__(reason or error.message)
        self.error = error
        self.response = response
        self.always_safe = always_safe
        self.retryable = retryable


def host_of(url: str) -> str:
    """``host[:port]`` of a URL, without any credentials."""
    return urlsplit(url).netloc.rpartition("@")[2] or url


def failure_for(exc: requests.RequestException, url: str, timeout: tuple[float, float]) -> Failure:
    """The Failure for an exception raised by ``requests`` while sending to ``url``."""
    if isinstance(exc, requests.exceptions.InvalidURL | requests.exceptions.MissingSchema):
        error: AmoError = BadBaseUrl(f"amocrm.base_url: not a usable URL ({exc})")
        return Failure(error, retryable=False)
    host = host_of(url)
    unreachable = f"cannot reach amoCRM at {host} (amocrm.base_url): "
    if isinstance(exc, requests.ConnectTimeout):
        error = Unavailable(f"{unreachable}no connection within {timeout[0]:.3g} s (timeout)")
        return Failure(error, always_safe=True)
    if isinstance(exc, requests.Timeout):
        error = Unavailable(
            f"amoCRM at {host} (amocrm.base_url) did not answer within {timeout[1]:.3g} s (timeout)"
        )
        return Failure(error)
    if isinstance(exc, requests.exceptions.SSLError):
        # A certificate or protocol mismatch does not fix itself between two tries.
        return Failure(Unavailable(f"{unreachable}TLS failed: {_tls_reason(exc)}"), retryable=False)
    gai = _find(exc, socket.gaierror)
    if gai is not None or _find(exc, NameResolutionError) is not None:
        permanent = gai is None or gai.errno in _NO_SUCH_HOST
        why = "no such host" if permanent else "no answer from the DNS server"
        error = Unavailable(f"{unreachable}DNS lookup failed, {why}")
        return Failure(error, always_safe=True, retryable=not permanent)
    if _find(exc, ConnectionRefusedError) is not None:
        return Failure(Unavailable(f"{unreachable}connection refused"), always_safe=True)
    if isinstance(exc, requests.ConnectionError):
        # requests' own errors are OSErrors too: the cause is the socket's, behind them.
        causes = (e for e in _chain(exc) if isinstance(e, OSError) and not _wrapper(e))
        cause = next(causes, None)
        why = (cause.strerror or type(cause).__name__) if cause is not None else "connection lost"
        return Failure(
            Unavailable(f"the connection to amoCRM at {host} (amocrm.base_url) broke: {why}")
        )
    error = Unavailable(
        f"amoCRM at {host} (amocrm.base_url) sent a broken answer ({type(exc).__name__})"
    )
    return Failure(error)


def _chain(exc: BaseException) -> Iterator[BaseException]:
    """``exc`` and every exception behind it: causes, contexts, urllib3 reasons, wrapped args."""
    seen: set[int] = set()
    stack = [exc]
    while stack:
        item = stack.pop()
        if id(item) in seen:
            continue
        seen.add(id(item))
        yield item
        behind = [item.__cause__, item.__context__, getattr(item, "reason", None), *item.args]
        stack.extend(b for b in behind if isinstance(b, BaseException))


def _find(exc: BaseException, kind: type[E]) -> E | None:
    return next((e for e in _chain(exc) if isinstance(e, kind)), None)


def _wrapper(exc: BaseException) -> bool:
    return isinstance(exc, requests.RequestException | urllib3.exceptions.HTTPError)


def _tls_reason(exc: BaseException) -> str:
    verify = _find(exc, ssl.SSLCertVerificationError)
    if verify is not None and verify.verify_message:
        return str(verify.verify_message)  # e.g. "certificate has expired"
    tls = _find(exc, ssl.SSLError)
    if tls is not None and tls.reason:
        return str(tls.reason).lower().replace("_", " ")  # e.g. "wrong version number"
    return "handshake failed"


__all__ = ["Failure", "failure_for", "host_of"]
