"""The HTTP face: a thin Flask adapter that verifies, stores and acknowledges.

Nothing here waits for amoCRM or Telegram. An accepted update is committed to the inbox before
the 200, and the dispatcher threads do the work. Telegram re-sends anything that is not a 2xx and
holds back the rest of that chat meanwhile (docs/telegram.md#delivery-and-retries), so a 2xx means
"stored", 503 + Retry-After means "come back later", and a 500 is never sent.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl

from flask import Flask
from flask import Response
from flask import g
from flask import jsonify
from flask import request
from werkzeug.exceptions import BadRequest
from werkzeug.exceptions import HTTPException

from leoweb_bot import __version__
from leoweb_bot.config import Settings
from leoweb_bot.state import State
from leoweb_bot.state import health
from leoweb_bot.state.db import StateError
from leoweb_bot.state.db import StateUnavailable
from leoweb_bot.state.events import store_amo_event
from leoweb_bot.state.progress import Progress
from leoweb_bot.telegram.updates import chat_id_of

log = logging.getLogger(__name__)

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
MAX_BODY = 1024 * 1024  # an Update is a few KiB; anything near this is not from Telegram
RETRY_AFTER_SECONDS = 5
PROBE_SECONDS = 5.0
_INT64 = range(-(2**63), 2**63)


class BadUpdate(ValueError):
    """The body is not a JSON object with an integer update_id."""


@dataclass
class Writes:
    """What /healthz knows of the state db's writes: why the last webhook was refused (until
    one is stored again), and what the last write probe found. Probes are PROBE_SECONDS apart,
    so a monitor that polls /healthz often does not become a stream of writes."""

    refused: str | None = None
    probed_at: float = -math.inf
    probe_problem: str | None = None

    def probe(self, state: State, now: float) -> str | None:
        if not 0 <= now - self.probed_at < PROBE_SECONDS:  # or the clock went back
            self.probe_problem = health.probe_write(state, now)
            self.probed_at = now
        return self.probe_problem


def create_app(
    settings: Settings,
    state: State | None = None,
    *,
    on_update: Callable[[], None] | None = None,
    on_amo_event: Callable[[], None] | None = None,
    clock: Callable[[], float] = time.time,
) -> Flask:
    """The WSGI app. ``on_update`` / ``on_amo_event`` are called after a new Telegram update /
    amoCRM event is stored (they wake the dispatcher / the scheduler)."""
    app = Flask(__name__)
    app.config["MAX_CONTENT_LENGTH"] = MAX_BODY
    db = state if state is not None else State(settings.bot.state_path)
    app.extensions["leoweb_state"] = db
    writes = app.extensions["leoweb_writes"] = Writes()
    sync = Progress(db)

    @app.post("/telegram/webhook")
    def telegram_webhook() -> tuple[Response, int]:
        if not _secret_matches(
            request.headers.get(SECRET_HEADER), settings.telegram.webhook_secret
        ):
            return _error("forbidden", 403)
        if request.content_length is not None and request.content_length > MAX_BODY:
            return _error("request entity too large", 413)
        try:
            update, text = parse_update(request_body())
        except BadUpdate as exc:
            return _error(str(exc), 400)
        stored = db.inbox.store(update["update_id"], chat_id_of(update), text, clock())
        writes.refused = None
        if stored:
            _notify(on_update)
        return jsonify(ok=True), 200

    @app.get("/healthz")
    def healthz() -> tuple[Response, int]:
        try:
            depth = db.inbox.depth()
        except StateError as exc:
            log.error("healthz: %s", exc)
            return jsonify(status="error", error="state database unavailable"), 503
        problem = (
            writes.refused
            or writes.probe(db, clock())
            or health.disk_problem(db.path)
            or health.inbox_problem(depth, db.inbox.max_pending)
        )
        if problem:
            log.warning("healthz: %s", problem)
            return jsonify(status="error", error=problem, inbox_depth=depth), 503
        # The mirror's state is news, not health: amoCRM down is not this server down.
        mirror = sync.health(clock())
        return jsonify(status="ok", inbox_depth=depth, version=__version__, sync=mirror), 200

    @app.post("/amocrm/webhook/<secret>")
    def amocrm_webhook(secret: str) -> tuple[Response, int]:
        if not _secret_matches(secret, settings.amocrm.webhook_secret):
            return _error("forbidden", 403)
        body = request_body()
        if is_form_body(body):
            if store_amo_event(db, hashlib.sha256(body).hexdigest(), body.decode("utf-8")):
                _notify(on_amo_event)
            writes.refused = None
        return jsonify(ok=True), 200

    _install_error_handlers(app)
    _install_request_log(app)
    return app


def request_body() -> bytes:
    """The request body; one that cannot be read is the client's fault: 400, not a 503.

    Reading it is the first time the server parses a chunked body (a bad chunk size raises
    the server's own parse error) and waits on a slow client (a socket timeout).
    """
    try:
        return request.get_data(cache=False)
    except HTTPException:
        raise
    except Exception as exc:  # the WSGI server's parse errors and socket errors: not our bug
        log.info("%s %s: unreadable body (%s)", request.method, _route(), type(exc).__name__)
        raise BadRequest("unreadable body") from None


def parse_update(body: bytes) -> tuple[dict[str, Any], str]:
    """Decode a webhook body into (Update dict, JSON text to store), or raise BadUpdate."""
    try:
        text = body.decode("utf-8")
        update = json.loads(text)
    except (ValueError, RecursionError):
        raise BadUpdate("body is not JSON") from None
    if not isinstance(update, dict):
        raise BadUpdate("body is not a JSON object")
    update_id = update.get("update_id")
    if isinstance(update_id, bool) or not isinstance(update_id, int) or update_id not in _INT64:
        raise BadUpdate("update_id must be an integer")
    return update, text


def is_form_body(body: bytes) -> bool:
    """True for a non-empty UTF-8 form-encoded body, the only shape amoCRM sends."""
    try:
        text = body.decode("utf-8")
        return bool(parse_qsl(text, keep_blank_values=True, strict_parsing=True))
    except ValueError:
        return False


def _secret_matches(given: str | None, expected: str) -> bool:
    # An empty configured secret would match an empty header: refuse instead.
    if not expected or given is None:
        return False
    return hmac.compare_digest(given.encode("utf-8", "replace"), expected.encode("utf-8"))


def _notify(on_update: Callable[[], None] | None) -> None:
    if on_update is None:
        return
    try:
        on_update()
    except Exception:
        log.exception("on_update callback failed (the update is stored; polling picks it up)")


def _error(message: str, status: int) -> tuple[Response, int]:
    return jsonify(ok=False, error=message), status


def _unavailable(message: str) -> tuple[Response, int]:
    response, status = _error(message, 503)
    response.headers["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return response, status


def _install_error_handlers(app: Flask) -> None:
    """Every failure becomes a JSON 4xx or a 503 + Retry-After; never a 500."""

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException) -> tuple[Response, int]:
        status = exc.code or 400
        if status >= 500:
            return _unavailable(exc.name)
        return _error(exc.name, status)

    @app.errorhandler(StateError)
    def state_error(exc: StateError) -> tuple[Response, int]:
        log.error("%s %s: %s", request.method, _route(), exc)
        if isinstance(exc, StateUnavailable):
            app.extensions["leoweb_writes"].refused = f"webhooks refused: {exc.detail}"
        return _unavailable("inbox unavailable")

    @app.errorhandler(Exception)
    def unexpected(exc: Exception) -> tuple[Response, int]:
        log.exception("%s %s: unexpected error", request.method, _route())
        return _unavailable("internal error")


def _install_request_log(app: Flask) -> None:
    """One line per request; the route template is logged, never the path (it holds secrets)."""

    @app.before_request
    def start_timer() -> None:
        g.started = time.monotonic()

    @app.after_request
    def log_request(response: Response) -> Response:
        elapsed_ms = (time.monotonic() - g.get("started", time.monotonic())) * 1000
        level = logging.DEBUG if request.endpoint == "healthz" else logging.INFO
        log.log(
            level,
            "%s %s %d %.1fms",
            request.method,
            _route(),
            response.status_code,
            elapsed_ms,
        )
        return response


def _route() -> str:
    rule = request.url_rule
    return rule.rule if rule is not None else "(unknown route)"
