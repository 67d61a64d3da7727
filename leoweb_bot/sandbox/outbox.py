"""Webhook delivery: one background thread POSTs each body in turn, retrying a few times.

A change never waits for its webhook: ``send`` only queues the body. amoCRM resends a webhook
that was not answered with a 2xx "some time later" (docs/amocrm.md#webhooks); its schedule is
not published, so the sandbox tries ``1 + len(delays)`` times, ``delays`` seconds apart, then
drops the body and logs the failure. Redirects count as failures (they are not followed) and
proxies are not used: the receiver is normally on this machine. The thread starts with the
first body and ends with ``close()``.
"""

from __future__ import annotations

import http.client
import logging
import threading
from collections import deque
from collections.abc import Sequence
from typing import Any
from urllib.parse import urlencode
from urllib.parse import urlsplit
from urllib.request import HTTPRedirectHandler
from urllib.request import ProxyHandler
from urllib.request import Request
from urllib.request import build_opener

log = logging.getLogger(__name__)

USER_AGENT = "amoCRM-WebHook-client/1.0"  # as captured requests show


class _NoRedirect(HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


class Outbox:
    def __init__(
        self, url: str, *, delays: Sequence[float] = (1.0, 5.0), timeout: float = 5.0
    ) -> None:
        if urlsplit(url).scheme not in ("http", "https") or not urlsplit(url).hostname:
            raise ValueError(f"a webhook URL must be http:// or https://, not {url!r}")
        self.url = url
        self.delays = tuple(delays)
        self.timeout = timeout
        self.delivered = 0
        self.dropped = 0
        self._opener = build_opener(ProxyHandler({}), _NoRedirect())
        self._bodies: deque[bytes] = deque()
        self._pending = 0  # queued or being delivered
        self._cond = threading.Condition()
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()  # the running thread's; a new thread gets a new one

    def send(self, pairs: list[tuple[str, str]]) -> None:
        """Queue one form-encoded body; deliver it from the background thread."""
        with self._cond:
            self._bodies.append(urlencode(pairs).encode("ascii"))
            self._pending += 1
            if self._thread is None:
                self._stop = threading.Event()
                self._thread = threading.Thread(
                    target=self._run,
                    args=(self._stop,),
                    name="leoweb-sandbox-webhooks",
                    daemon=True,
                )
                self._thread.start()
            self._cond.notify_all()

    def flush(self, timeout: float) -> bool:
        """Wait until every queued body was delivered or dropped; False if time ran out."""
        with self._cond:
            return self._cond.wait_for(lambda: self._pending == 0, timeout)

    def close(self) -> None:
        """Stop the thread after the attempt under way; drop what is still queued."""
        with self._cond:
            thread, self._thread = self._thread, None
            self._stop.set()
            self._pending -= len(self._bodies)
            self._bodies.clear()
            self._cond.notify_all()
        if thread is not None:
            thread.join(self.timeout + 1)

    def _run(self, stop: threading.Event) -> None:
        while True:
            with self._cond:
                self._cond.wait_for(lambda: self._bodies or stop.is_set())
                if stop.is_set():
                    return
                body = self._bodies.popleft()
            delivered = self._deliver(body, stop)
            with self._cond:
                self.delivered += delivered
                self.dropped += not delivered
                self._pending -= 1
                self._cond.notify_all()

    def _deliver(self, body: bytes, stop: threading.Event) -> bool:
        failure = ""
        for delay in (0.0, *self.delays):
            if delay and self._stopped_within(stop, delay):
                return False
            try:
                self._post(body)
                return True
            except (OSError, http.client.HTTPException) as exc:  # urllib's errors are OSErrors
                failure = str(exc)
        # The path may hold the receiver's secret, so only the host is logged.
        where = urlsplit(self.url).netloc
        tries = 1 + len(self.delays)
        log.warning("webhook to %s dropped after %d attempts: %s", where, tries, failure)
        return False

    def _stopped_within(self, stop: threading.Event, seconds: float) -> bool:
        with self._cond:
            return self._cond.wait_for(stop.is_set, seconds)

    def _post(self, body: bytes) -> None:
        request = Request(
            self.url,
            data=body,
            method="POST",
            headers={"Content-Type": "application/x-www-form-urlencoded", "User-Agent": USER_AGENT},
        )
        with self._opener.open(request, timeout=self.timeout) as response:
            response.read()  # urllib raises HTTPError for anything but 2xx here
