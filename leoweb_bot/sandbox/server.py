"""The sandbox: an amoCRM emulator as a Flask app, optionally served on a background thread.

Every API request (paths under /api/, /private/ and /oauth2/) passes one guard, in this
order: count and log it, add ``latency_ms``, answer a fault queued by ``inject()``, apply the
rate limit (faults.py), then check credentials: a Bearer token on /api/v4/, a session cookie,
Bearer token or USER_LOGIN/USER_HASH on /api/v2/. Only then do the v4/v2 views run.

``sandbox.ui`` (and ``POST /_sandbox/ui/…``, outside that guard) changes the data as a person
in amoCRM's web UI would. Every change, from there or from an API write, is recorded in the
events list and, with ``webhook_url``, POSTed there as amoCRM's webhook from a background
thread (events.py, hooks.py, outbox.py).
"""

from __future__ import annotations

import errno
import json
import logging
import signal
import socket
import sys
import threading
import time
from collections.abc import Callable
from collections.abc import Iterable
from types import TracebackType
from typing import Any
from urllib.parse import unquote

from flask import Flask
from flask import Response
from flask import request
from werkzeug.exceptions import HTTPException
from werkzeug.serving import BaseWSGIServer
from werkzeug.serving import WSGIRequestHandler
from werkzeug.serving import make_server

from leoweb_bot.sandbox import catalog
from leoweb_bot.sandbox.auth import Credentials
from leoweb_bot.sandbox.auth import Gatekeeper
from leoweb_bot.sandbox.auth import OAuthFailure
from leoweb_bot.sandbox.changes import Change
from leoweb_bot.sandbox.data import DemoData
from leoweb_bot.sandbox.data import generate
from leoweb_bot.sandbox.events import EventLog
from leoweb_bot.sandbox.faults import FaultQueue
from leoweb_bot.sandbox.faults import RateLimiter
from leoweb_bot.sandbox.hooks import SUBSCRIPTIONS
from leoweb_bot.sandbox.hooks import webhook_form
from leoweb_bot.sandbox.outbox import Outbox
from leoweb_bot.sandbox.replies import ApiError
from leoweb_bot.sandbox.replies import body_params
from leoweb_bot.sandbox.replies import fault
from leoweb_bot.sandbox.replies import html_page
from leoweb_bot.sandbox.replies import plain_json
from leoweb_bot.sandbox.replies import problem
from leoweb_bot.sandbox.store import Store
from leoweb_bot.sandbox.ui import WebUi
from leoweb_bot.sandbox.ui_routes import ui_routes
from leoweb_bot.sandbox.v2 import authorised
from leoweb_bot.sandbox.v2 import v2
from leoweb_bot.sandbox.v2 import v2_error
from leoweb_bot.sandbox.v2_writes import v2_writes
from leoweb_bot.sandbox.v4 import v4
from leoweb_bot.sandbox.v4_events import v4_events

log = logging.getLogger(__name__)

API_PREFIXES = ("/api/", "/private/", "/oauth2/")
_STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


class _QuietHandler(WSGIRequestHandler):
    """werkzeug would print an access line per request; the app logs at DEBUG instead."""

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        pass


class Sandbox:
    def __init__(
        self,
        *,
        seed: int = 1,
        tasks: int = 300,
        managers: int = 8,
        latency_ms: int = 0,
        rate_limit: int = 7,
        now: int | None = None,
        clock: Callable[[], float] = time.time,
        session_ttl: int = 900,
        access_token_ttl: int = 86400,
        users_forbidden: bool = False,
        webhook_url: str | None = None,
        webhook_events: Iterable[str] = SUBSCRIPTIONS,
    ) -> None:
        self.clock = clock
        self.data: DemoData = generate(
            seed=seed, tasks=tasks, managers=managers, now=int(clock()) if now is None else now
        )
        self.latency_ms = latency_ms
        self.users_forbidden = users_forbidden  # make /api/v4/users answer 403 (non-admin token)
        self.events = EventLog()
        # ValueError for a URL that is not http(s); the codes are those of amoCRM's settings.
        self.outbox = Outbox(webhook_url) if webhook_url else None
        self.webhook_events = frozenset(webhook_events)
        self.store = Store(self.data, clock, on_change=self._changed)
        self.ui = WebUi(self.store, self.data)
        self.gatekeeper = Gatekeeper(
            login=self.data.users[0]["email"],  # the admin; the director logs in on v2
            account_id=catalog.ACCOUNT_ID,
            user_id=catalog.ADMIN_ID,
            clock=clock,
            session_ttl=session_ttl,
            access_token_ttl=access_token_ttl,
        )
        self.credentials: Credentials = self.gatekeeper.credentials
        self.limiter = RateLimiter(rate_limit)
        self.base_url: str | None = None
        self.requests_log: list[tuple[str, str]] = []  # (method, unquoted path?query)
        self._faults = FaultQueue()
        self._count_lock = threading.Lock()
        self._request_count = 0
        self._server: BaseWSGIServer | None = None
        self._thread: threading.Thread | None = None
        self.app = self._build_app()

    @property
    def request_count(self) -> int:
        """API requests received, including those answered with a fault."""
        with self._count_lock:
            return self._request_count

    def inject(self, status: int, count: int = 1, body: str | None = None) -> None:
        """Answer the next ``count`` API requests with ``status`` (and ``body``, if given)."""
        self._faults.add(status, count, body)

    def start(self, host: str = "127.0.0.1", port: int = 0) -> str:
        """Listen on ``host:port`` (0 = any free port) and serve; OSError if that cannot be."""
        if self._server is not None:
            raise RuntimeError("sandbox already started")
        with _listening(host, port) as listener:
            self._server = make_server(
                host,
                port,
                self.app,
                threaded=True,
                request_handler=_QuietHandler,
                fd=listener.fileno(),  # werkzeug serves on a duplicate of it
            )
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},  # quick stop() in tests
            name="leoweb-sandbox",
            daemon=True,
        )
        self._thread.start()
        self.base_url = f"http://{_reachable(host)}:{self._server.port}"
        return self.base_url

    def stop(self) -> None:
        if self.outbox is not None:
            self.outbox.close()
        if self._server is None:
            return
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._server = self._thread = None
        self.base_url = None

    def __enter__(self) -> Sandbox:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def _build_app(self) -> Flask:
        app = Flask("leoweb_bot.sandbox")
        app.extensions["leoweb_sandbox"] = self
        app.register_blueprint(v4)
        app.register_blueprint(v4_events)
        app.register_blueprint(ui_routes)
        app.register_blueprint(v2)
        app.register_blueprint(v2_writes)
        app.add_url_rule("/oauth2/access_token", "oauth_token", self._oauth, methods=["POST"])
        app.before_request(self._guard)
        app.after_request(_log_response)
        app.register_error_handler(ApiError, _api_error)
        app.register_error_handler(HTTPException, _http_error)
        return app

    def _guard(self) -> Response | None:
        query = request.query_string.decode("utf-8", "replace")
        self.requests_log.append((request.method, unquote(f"{request.path}?{query}".rstrip("?"))))
        if not request.path.startswith(API_PREFIXES):
            return None
        with self._count_lock:
            self._request_count += 1
        if self.latency_ms:
            time.sleep(self.latency_ms / 1000)
        injected = self._faults.take()
        if injected is not None:
            return fault(*injected)
        refused = self.limiter.admit()
        if refused is not None:
            return html_page(refused)  # HTML, no Retry-After (docs/amocrm.md#errors-and-html-429)
        return self._authorise()

    def _authorise(self) -> Response | None:
        if request.path.startswith("/api/v4/"):
            if self.gatekeeper.bearer_ok(request.headers.get("Authorization")):
                return None
            return problem(401, "Неверный логин или пароль")
        if request.path.startswith("/api/v2/") and not authorised(self.gatekeeper):
            # What an expired session answers is UNCONFIRMED beyond "401"
            # (docs/amocrm.md#authentication).
            return v2_error(401, "Требуется авторизация", "401")
        return None

    def _changed(self, changes: list[Change]) -> None:
        """Called by the store under its lock: record the events, queue the webhook."""
        self.events.record(changes)
        if self.outbox is None:
            return
        account: dict[str, Any] = {key: self.data.account[key] for key in ("subdomain", "id")}
        if self.base_url:
            account["_links"] = {"self": self.base_url}
        form = webhook_form(changes, self.webhook_events, account)
        if form:
            self.outbox.send(form)

    def _oauth(self) -> Response:
        try:
            return plain_json(self.gatekeeper.grant(body_params()))
        except OAuthFailure as failure:
            return plain_json(failure.body(), failure.status)


def _api_error(error: ApiError) -> Response:
    if request.path.startswith("/api/v2/"):
        return v2_error(error.status, error.detail, str(error.status))
    return error.response()


def _http_error(error: HTTPException) -> Response | HTTPException:
    # Unknown API paths and wrong methods answer problem JSON like the real API
    # (docs/amocrm.md#errors-and-html-429).
    if request.path.startswith(API_PREFIXES) and error.code:
        return problem(error.code, f"{request.method} {request.path}: {error.name}")
    return error


def _log_response(response: Response) -> Response:
    log.debug("%s %s -> %s", request.method, request.full_path.rstrip("?"), response.status_code)
    return response


def _listening(host: str, port: int) -> socket.socket:
    """A socket listening on ``host:port``.

    Bound here rather than by werkzeug, which prints its own lines and exits on OSError, and
    not by socket.create_server, which appends the address to the error's text.
    """
    listener = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET)
    try:
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind((host, port))
        listener.listen()
    except BaseException:
        listener.close()
        raise
    return listener


def _reachable(host: str) -> str:
    """How a client on this machine reaches a server bound to ``host``."""
    if host in ("", "0.0.0.0"):
        return "127.0.0.1"
    if host == "::":
        return "[::1]"
    return f"[{host}]" if ":" in host else host


def run_sandbox(
    *,
    host: str = "127.0.0.1",
    port: int = 8800,
    seed: int = 1,
    tasks: int = 300,
    managers: int = 8,
    latency_ms: int = 0,
    rate_limit: int = 7,
    webhook_url: str | None = None,
    as_json: bool = False,
) -> int:
    """Serve a sandbox until SIGINT/SIGTERM; say how to use it, or print one JSON line."""
    try:
        sandbox = Sandbox(
            seed=seed,
            tasks=tasks,
            managers=managers,
            latency_ms=latency_ms,
            rate_limit=rate_limit,
            webhook_url=webhook_url,
        )
    except ValueError as exc:  # a webhook URL that is not http(s)
        print(f"error: --webhook-url: {exc}", file=sys.stderr)
        return 2
    stopping = threading.Event()
    handlers = {sig: signal.signal(sig, lambda *_: stopping.set()) for sig in _STOP_SIGNALS}
    try:
        try:
            base_url = sandbox.start(host, port)
        except OSError as exc:
            print(f"error: {_cannot_listen(host, port, exc)}", file=sys.stderr)
            return 1
        if as_json:
            print(json.dumps(_announcement(sandbox, base_url, seed), ensure_ascii=False))
        else:
            print(_greeting(sandbox, base_url, tasks, managers))
        sys.stdout.flush()
        while not stopping.wait(0.5):
            pass
    finally:
        sandbox.stop()
        for sig, previous in handlers.items():
            signal.signal(sig, previous)
    return 0


def _cannot_listen(host: str, port: int, exc: OSError) -> str:
    why = f"cannot listen on {host}:{port}: {exc.strerror or exc}"
    if exc.errno == errno.EADDRINUSE:
        return f"{why}; another program has it: use --port N, or --port 0 for any free port"
    return why


def _greeting(sandbox: Sandbox, base_url: str, tasks: int, managers: int) -> str:
    """What a person needs to point the bot at this sandbox, and to play amoCRM's users."""
    lines = [
        f"amoCRM sandbox at {base_url}, made-up data: {tasks} open tasks, {managers} managers.",
        "To run the bot against it, set these keys in the [amocrm] table of config.toml, or",
        "the same values in LEOWEB_AMOCRM_BASE_URL, LEOWEB_AMOCRM_AUTH, LEOWEB_AMOCRM_TOKEN:",
        "  [amocrm]",
        f'  base_url = "{base_url}"',
        '  auth = "token"',
        f'  token = "{sandbox.credentials.token}"',
        f"To change data as a person in amoCRM would: POST {base_url}/_sandbox/ui/…",
        "(tasks/ID/complete, tasks/ID/deadline, leads/ID/status…: see sandbox/ui_routes.py).",
    ]
    if sandbox.outbox is not None:
        lines.append("Every change is POSTed to --webhook-url as amoCRM's webhook.")
    lines.append(
        "Ctrl+C stops the sandbox. With --json it prints every credential as one JSON line."
    )
    return "\n".join(lines)


def _announcement(sandbox: Sandbox, base_url: str, seed: int) -> dict[str, Any]:
    creds = sandbox.credentials
    return {
        "base_url": base_url,
        "ui_url": f"{base_url}/_sandbox/ui",
        "token": creds.token,
        "login": creds.login,
        "api_key": creds.api_key,
        "client_id": creds.client_id,
        "client_secret": creds.client_secret,
        "redirect_uri": creds.redirect_uri,
        "auth_code": creds.auth_code,
        "seed": seed,
        "now": sandbox.data.now,
    }
