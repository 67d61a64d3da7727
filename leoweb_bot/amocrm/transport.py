"""The one road to amoCRM: throttle, timeout, bounded retries, status → error, block cool-down.

Every HTTP exchange of the package, API calls and auth calls alike, goes through
``Transport.send`` so none of them can skip the rate limit, the retry budget, the operation's
deadline (deadline.py) or the block guard.
Facts behind the policy (docs/amocrm.md#errors-and-html-429): 429 bodies are HTML and usually carry
no Retry-After; a 403 after repeated 429s means the account or IP is blocked and only amo
support can lift it (docs/amocrm.md#rate-limits); 502/503/504 are transient.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable
from collections.abc import Iterator
from collections.abc import Mapping
from contextlib import contextmanager
from typing import Any
from urllib.parse import urlsplit

import requests
from urllib3.exceptions import InvalidHeader
from urllib3.util import Retry

from leoweb_bot.amocrm import deadline as deadlines
from leoweb_bot.amocrm.deadline import SERVER
from leoweb_bot.amocrm.deadline import Deadline
from leoweb_bot.amocrm.deadline import RetryPolicy
from leoweb_bot.amocrm.errors import AmoError
from leoweb_bot.amocrm.errors import AuthError
from leoweb_bot.amocrm.errors import BadRequest
from leoweb_bot.amocrm.errors import Blocked
from leoweb_bot.amocrm.errors import Forbidden
from leoweb_bot.amocrm.errors import NotFound
from leoweb_bot.amocrm.errors import PaymentRequired
from leoweb_bot.amocrm.errors import RateLimited
from leoweb_bot.amocrm.errors import Unavailable
from leoweb_bot.amocrm.network import Failure
from leoweb_bot.amocrm.network import failure_for
from leoweb_bot.amocrm.network import host_of
from leoweb_bot.pacing import Pacer

logger = logging.getLogger(__name__)

RETRYABLE_5XX = frozenset({502, 503, 504})
BACKOFF_BASE = 0.5  # seconds; doubles per attempt, plus up to as much again of jitter
RECENT_429_WINDOW = 60.0  # a 403 this soon after a 429 is the block, not a rights problem
BLOCK_COOLDOWN = 600.0  # after a block, keep quiet for 10 minutes: more calls only prolong it

ERROR_CLASSES: dict[int, type[AmoError]] = {
    400: BadRequest,
    401: AuthError,
    402: PaymentRequired,
    403: Forbidden,
    404: NotFound,
    429: RateLimited,
}
DEFAULT_MESSAGES: dict[type[AmoError], str] = {
    AuthError: "not authorized: the token or session was refused",
    PaymentRequired: "the amoCRM subscription has ended (402): "
    "writes stop at once, reads 30 days later",
    Blocked: "amoCRM has blocked this account or IP (403 after rate limiting); "
    "ask amo support to lift it, giving them the server IP and the subdomain",
    Forbidden: "access denied (403): this user lacks the rights for the call",
    NotFound: "not found",
    RateLimited: "too many requests (429)",
    Unavailable: "amoCRM answered with a server error",
    BadRequest: "amoCRM rejected the request",
}


def _no_redaction(text: str) -> str:
    return text


def _is_html(response: requests.Response) -> bool:
    content_type = response.headers.get("Content-Type", "").lower()
    return "html" in content_type or response.text.lstrip()[:1] == "<"


def _json_body(response: requests.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return None


def _validation_errors(body: Mapping[str, Any]) -> str:
    # 400 problem+json: "validation-errors": [{"request_id", "errors": [{code, path, detail}]}]
    parts = []
    for item in body.get("validation-errors") or ():
        for err in (item or {}).get("errors") or ():
            parts.append(f"{err.get('path', '?')}: {err.get('detail') or err.get('code', '?')}")
    return "; ".join(parts)


def describe(response: requests.Response) -> tuple[str, str]:
    """(message, detail) from a problem+json, a v2 ``response.error`` or a bare status line."""
    body = _json_body(response)
    if isinstance(body, Mapping):
        legacy = body.get("response")
        if isinstance(legacy, Mapping) and legacy.get("error"):
            return str(legacy["error"]), f"error_code {legacy.get('error_code', '?')}"
        message = str(body.get("detail") or body.get("title") or body.get("hint") or "")
        details = [str(body["hint"])] if body.get("hint") and body["hint"] != message else []
        if validation := _validation_errors(body):
            details.append(validation)
        return message, "; ".join(details)
    return "", ""


def error_for(
    response: requests.Response,
    *,
    after_429: bool = False,
    redact: Callable[[str], str] = _no_redaction,
) -> AmoError:
    """The typed error for a failed response: a status table with 4xx/5xx fallbacks."""
    status = response.status_code
    if status == 403 and (after_429 or _is_html(response)):
        cls: type[AmoError] = Blocked
    else:
        cls = ERROR_CLASSES.get(status) or (Unavailable if status >= 500 else AmoError)
    message, detail = describe(response)
    if cls is Blocked or not message:
        message = DEFAULT_MESSAGES.get(cls) or f"unexpected answer {status} {response.reason}"
    return cls(redact(message), status, redact(detail))


def _retry_after(response: requests.Response | None) -> float | None:
    """Seconds from a Retry-After header, by urllib3's rule (delta seconds or an HTTP date);
    None without a usable one. amoCRM rarely sends one (docs/amocrm.md#errors-and-html-429)."""
    value = response.headers.get("Retry-After") if response is not None else None
    if not value:
        return None
    try:
        return Retry.DEFAULT.parse_retry_after(value)
    except InvalidHeader:
        return None


class Transport:
    """Send over one ``requests.Session`` within the rate limit, retry budget and deadline."""

    def __init__(
        self,
        session: requests.Session,
        *,
        timeout: tuple[float, float],
        limiter: Pacer,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
        monotonic: Callable[[], float] = time.monotonic,
        policy: RetryPolicy = SERVER,
        redact: Callable[[str], str] = _no_redaction,
        jitter: Callable[[], float] = random.random,
    ) -> None:
        self.session = session
        self.timeout = timeout
        self.limiter = limiter
        self.policy = policy
        self._clock = clock
        self._sleep = sleep
        self._monotonic = monotonic
        self._redact = redact
        self._jitter = jitter
        self._lock = threading.Lock()
        self._last_429: float | None = None
        self._blocked_until: float | None = None

    @contextmanager
    def operation(self) -> Iterator[Deadline]:
        """One deadline (``policy.seconds``) for every request sent inside the block."""
        with deadlines.operation(self.policy.seconds, self._monotonic) as deadline:
            yield deadline

    def send(
        self,
        method: str,
        url: str,
        *,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
        data: Mapping[str, str] | None = None,
        auth: requests.auth.AuthBase | None = None,
        idempotent: bool = True,
    ) -> requests.Response:
        """Send with retries; return any non-retryable response, raise once the budget is spent.

        The budget is ``policy.attempts`` tries within the deadline of the current operation
        (or, outside any, a deadline for this request alone); each try's timeouts are cut to the
        time left. A non-idempotent request is retried only when amoCRM surely did not act on it
        (no connection, 429): after a read timeout the write may already have happened.
        """
        self._refuse_while_blocked()
        deadline = deadlines.current() or Deadline(self.policy.seconds, self._monotonic)
        started = self._monotonic()
        path = urlsplit(url).path
        attempt = 0
        while True:
            attempt += 1
            try:
                return self._attempt(method, url, path, params, json, data, auth, deadline)
            except Failure as failure:
                delay = self._delay(attempt, failure.response)
                retry = failure.retryable and (failure.always_safe or idempotent)
                if not retry or attempt >= self.policy.attempts or delay >= deadline.left():
                    raise _final(failure.error, attempt, self._monotonic() - started) from None
                logger.warning(
                    "amoCRM %s %s: %s; retry %d in %.1f s", method, path, failure, attempt, delay
                )
                self._sleep(delay)

    def fail(self, response: requests.Response) -> AmoError:
        """The typed error for ``response``; a block also starts the cool-down."""
        error = error_for(response, after_429=self._recent_429(), redact=self._redact)
        if isinstance(error, Blocked):
            with self._lock:
                self._blocked_until = self._clock() + BLOCK_COOLDOWN
            logger.error("amoCRM blocked us (403); no requests for %d min", BLOCK_COOLDOWN // 60)
        return error

    def _attempt(
        self,
        method: str,
        url: str,
        path: str,
        params: Mapping[str, Any] | None,
        json: Any,
        data: Mapping[str, str] | None,
        auth: requests.auth.AuthBase | None,
        deadline: Deadline,
    ) -> requests.Response:
        """One try: the response, or a Failure saying what to raise if no retry helps."""
        self.limiter.acquire()
        timeout = deadline.clip(self.timeout)
        if min(timeout) <= 0:
            raise Failure(_out_of_time(url, deadline), always_safe=True, retryable=False)
        started = time.monotonic()
        try:
            response = self.session.request(
                method, url, params=params, json=json, data=data, auth=auth, timeout=timeout
            )
        except requests.RequestException as exc:
            raise failure_for(exc, url, timeout) from None
        elapsed_ms = (time.monotonic() - started) * 1000
        logger.debug("%s %s -> %d in %.0f ms", method, path, response.status_code, elapsed_ms)
        status = response.status_code
        if status == 429:
            with self._lock:
                self._last_429 = self._clock()
            # A 429 was refused before any work, so a retry is safe for writes too.
            error: AmoError = RateLimited("still rate limited (429) after retries", 429)
            raise Failure(error, response, always_safe=True)
        if status in RETRYABLE_5XX:
            error = Unavailable(f"amoCRM answered {status} {response.reason}", status)
            raise Failure(error, response)
        return response

    def _delay(self, attempt: int, response: requests.Response | None) -> float:
        retry_after = _retry_after(response)
        if retry_after is not None:
            return retry_after
        base = BACKOFF_BASE * 2 ** (attempt - 1)
        return base + base * self._jitter()

    def _recent_429(self) -> bool:
        with self._lock:
            last = self._last_429
        return last is not None and self._clock() - last <= RECENT_429_WINDOW

    def _refuse_while_blocked(self) -> None:
        with self._lock:
            until = self._blocked_until
        if until is not None and self._clock() < until:
            minutes = max(1, round((until - self._clock()) / 60))
            raise Blocked(
                f"{DEFAULT_MESSAGES[Blocked]}; not calling amoCRM for another {minutes} min", 403
            )


def _out_of_time(url: str, deadline: Deadline) -> Unavailable:
    return Unavailable(
        f"amoCRM at {host_of(url)} (amocrm.base_url) is too slow: "
        f"the {deadline.seconds:g} s allowed for this operation ran out (timeout)"
    )


def _final(error: AmoError, attempts: int, seconds: float) -> AmoError:
    """The error to raise once retrying stops; says how long it tried when it tried again."""
    if attempts > 1 and isinstance(error, Unavailable):
        tried = f"{attempts} tries in {seconds:.0f} s"
        return Unavailable(f"{error.message}; {tried}", error.status, error.detail)
    return error


def json_or_error(response: requests.Response) -> Any:
    """The decoded body of a 2xx answer; amoCRM always answers JSON (hal+json) on success."""
    try:
        return response.json()
    except ValueError:
        raise AmoError(
            f"expected JSON, got {response.headers.get('Content-Type', 'no content type')}",
            response.status_code,
        ) from None


__all__ = ["Transport", "describe", "error_for", "json_or_error"]
