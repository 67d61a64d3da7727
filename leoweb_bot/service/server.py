"""Process wiring for `serve` (gunicorn + per-worker dispatcher and scheduler) and `poll`.

Threads never start before fork: with ``preload_app`` the WSGI app is built in the gunicorn
master, but the runtime (amoCRM client, bot, dispatcher threads) is built in each worker after
the fork (the ``post_worker_init`` hook). Threads created in the master would not exist in the workers, and queued
work would never run (docs/telegram.md#pytelegrambotapi).
"""

from __future__ import annotations

import gc
import logging
import signal
import threading
import time
from dataclasses import dataclass
from functools import partial
from types import FrameType
from typing import TYPE_CHECKING
from typing import Any

from gunicorn.app.base import BaseApplication
from gunicorn.glogging import Logger as GunicornLogger

from leoweb_bot.bot.context import App
from leoweb_bot.config import Settings
from leoweb_bot.proactive.scheduler import Scheduler
from leoweb_bot.proactive.scheduler import build_scheduler
from leoweb_bot.service import web
from leoweb_bot.service.dispatcher import Dispatcher
from leoweb_bot.service.dispatcher import poll_updates
from leoweb_bot.service.worker import Worker
from leoweb_bot.state import State
from leoweb_bot.state.db import StateError
from leoweb_bot.state.tokens import Tokens
from leoweb_bot.telegram.client import Telegram
from leoweb_bot.telegram.client import TelegramError
from leoweb_bot.telegram.client import build_telegram

if TYPE_CHECKING:  # amoCRM and the sync are imported in the workers only (see build_runtime)
    from leoweb_bot.sync.wiring import Syncing

log = logging.getLogger(__name__)

DISPATCHER_THREADS = 4
STOP_TIMEOUT = 20.0  # below gunicorn's graceful_timeout (30 s), so workers exit cleanly
# An idle connection is closed after this; the proxy's own idle limit for its connections to us
# is shorter (deploy/Caddyfile), so it never sends a request on one we are closing.
KEEPALIVE_SECONDS = 5


@dataclass
class Runtime:
    """Everything one process needs to handle updates: the context, and the threads using it."""

    app: App
    dispatcher: Dispatcher
    scheduler: Scheduler
    sync: Syncing

    def start(self) -> None:
        self.dispatcher.start()
        self.scheduler.start()
        self.sync.start()

    def close(self) -> None:
        # The sync and the scheduler first: a step or a job in flight may still be using the
        # client and the database.
        self.sync.close(STOP_TIMEOUT)
        self.scheduler.stop(STOP_TIMEOUT)
        self.dispatcher.stop(STOP_TIMEOUT)
        self.app.client.close()
        self.app.state.close()


def build_runtime(settings: Settings, *, watch_webhook: bool = False) -> Runtime:
    """Build the process's context (state, Telegram, the amoCRM client), then the dispatcher
    that routes updates in it and the scheduler that runs jobs in it (neither started).

    ``watch_webhook``: let the scheduler check getWebhookInfo (`serve` only; `poll` has no webhook).
    """
    from leoweb_bot.amocrm import build_client
    from leoweb_bot.amocrm.limiter import server_budget
    from leoweb_bot.bot.router import apologize
    from leoweb_bot.bot.router import route
    from leoweb_bot.sync.wiring import build_sync

    state = State(settings.bot.state_path)
    # In serve mode every gunicorn worker sends for the same bot, so each takes its share.
    telegram = build_telegram(settings, processes=settings.server.workers if watch_webhook else 1)
    # One amoCRM budget for every worker; the sync's requests wait behind the screens'.
    budget = server_budget(settings.bot.state_path, settings.amocrm.rate_limit)
    tokens = Tokens(state)
    live = build_client(settings.amocrm, token_store=tokens, limiter=budget)
    background = budget.background if budget else None
    sync = build_sync(
        settings, state, live, build_client(settings.amocrm, token_store=tokens, limiter=background)
    )
    client = sync.client  # the screens read the mirror once it is complete
    app = App(settings=settings, client=client, telegram=telegram, state=state, clock=time.time)
    dispatcher = Dispatcher(
        state, partial(route, app), threads=DISPATCHER_THREADS, on_give_up=partial(apologize, app)
    )
    return Runtime(app, dispatcher, build_scheduler(app, watch_webhook=watch_webhook), sync)


class _Gunicorn(BaseApplication):  # type: ignore[misc]
    """gunicorn driven from Python: our options, our WSGI app, our hooks."""

    def __init__(self, settings: Settings, *, preload: bool) -> None:
        self.settings = settings
        self.preload = preload
        self.runtime: Runtime | None = None
        self.inbox: State | None = None  # the web app's State
        super().__init__()

    def load_config(self) -> None:
        server = self.settings.server
        level = logging.getLevelName(logging.getLogger().getEffectiveLevel()).lower()
        options: dict[str, Any] = {
            "bind": [f"{server.host}:{server.port}"],
            "workers": server.workers,
            "threads": server.threads,
            # gthread that gives a request a thread only once it has arrived (httpworker.py).
            "worker_class": Worker,
            "keepalive": KEEPALIVE_SECONDS,
            # Half gunicorn's default: a head is held whole before it is parsed (httpworker.py),
            # and ours come from Telegram, amoCRM and the proxy, a dozen headers each.
            "limit_request_fields": 50,
            "preload_app": self.preload,
            # Off: request paths can carry the amoCRM webhook secret; web.py logs route templates.
            "accesslog": None,
            "logger_class": RedactingGunicornLog,
            "loglevel": level if level in ("debug", "info", "warning", "error") else "info",
            "proc_name": "leoweb-bot",
            "graceful_timeout": 30,
            "control_socket_disable": True,  # gunicorn ≥ 24 would create ~/.gunicorn/gunicorn.ctl
            "post_worker_init": self._start_worker,
            "worker_exit": self._worker_exit,
            "when_ready": _when_ready,
            # gunicorn's default pre_request logs the request path at DEBUG, and the amoCRM
            # webhook path holds its secret; web.py logs the route template instead.
            "pre_request": _pre_request,
        }
        for key, value in options.items():
            self.cfg.set(key, value)

    def load(self) -> Any:
        # With preload this runs in the master: it must not start threads or open the database.
        # Acks never pay for a WAL checkpoint; the runtime's commits run them (state.py).
        self.inbox = State(self.settings.bot.state_path, checkpoints=False)
        return web.create_app(
            self.settings,
            self.inbox,
            on_update=self._wake,
            on_amo_event=self._wake_scheduler,
        )

    def _wake(self) -> None:
        if self.runtime is not None:
            self.runtime.dispatcher.wake()

    def _wake_scheduler(self) -> None:
        # A new lead should reach its manager within seconds, not at the next 15 s tick.
        if self.runtime is not None:
            self.runtime.scheduler.wake()

    def _start_worker(self, worker: Any) -> None:
        # post_worker_init, not post_fork: the worker's SIGTERM handler is installed by now, so a
        # stop that arrives while the runtime is being built is not lost.
        self.runtime = build_runtime(self.settings, watch_webhook=True)
        if self.inbox is not None:
            # One outage log per process: writes the state db refused to the webhooks are told
            # by this process's scheduler once it takes them again (incidents.watch_state_db).
            self.inbox.outages = self.runtime.app.state.outages
        # Everything built so far lives as long as the worker. Frozen, the collector stops
        # walking it: a full collection of these few hundred thousand objects stopped every
        # thread of the worker for 25-40 ms, the longest webhook acks (gc.freeze docs;
        # bench/webhook_load.py, BENCHMARKS.md).
        gc.freeze()
        self.runtime.start()

    def _worker_exit(self, server: Any, worker: Any) -> None:
        # Also called in the master for a worker that vanished; there runtime is None.
        if self.runtime is not None:
            self.runtime.close()
            self.runtime = None


class RedactingGunicornLog(GunicornLogger):  # type: ignore[misc]
    """gunicorn's own log lines go through the root handler and its redaction (logs.py).

    gunicorn logs a request line it cannot parse as it came, path and all, and the amoCRM
    webhook's path carries its secret; gunicorn's own handlers would print that as is.
    """

    def setup(self, cfg: Any) -> None:
        super().setup(cfg)
        for own in (self.error_log, self.access_log):
            for handler in list(own.handlers):
                own.removeHandler(handler)
            own.propagate = True


def _pre_request(worker: Any, request: Any) -> None:
    """Log nothing before a request (see load_config)."""


def _when_ready(server: Any) -> None:
    for listener in server.LISTENERS:
        log.info("serving on %s", listener)


def serve(settings: Settings, *, preload: bool = False) -> int:
    """Run the production server until SIGTERM/SIGINT; returns the exit status."""
    if not _state_usable(settings):
        return 1
    try:
        _Gunicorn(settings, preload=preload).run()
    except SystemExit as exc:  # gunicorn's arbiter leaves through sys.exit()
        return exc.code if isinstance(exc.code, int) else 1
    return 0


def _state_usable(settings: Settings) -> bool:
    state = State(settings.bot.state_path)
    try:
        state.ping()
    except StateError as exc:
        log.error("%s", exc)
        return False
    finally:
        state.close()
    return True


def poll(settings: Settings, force: bool = False) -> int:
    """Run the bot by long polling until SIGINT/SIGTERM; returns the exit status."""
    if not _state_usable(settings):
        return 1
    runtime = build_runtime(settings)
    try:
        if not _webhook_cleared(runtime.app.telegram, force):
            return 1
        _run_polling(runtime)
    except TelegramError as exc:
        log.error("%s", exc)
        return 1
    finally:
        runtime.close()
    return 0


def _webhook_cleared(telegram: Telegram, force: bool) -> bool:
    """getUpdates fails while a webhook is set; delete it only when asked to."""
    url = telegram.webhook_info().url
    if not url:
        return True
    if not force:
        log.error(
            "a webhook is set (%s), so polling would fail; run `leoweb-bot delete-webhook` "
            "or `leoweb-bot poll --force` (which deletes it)",
            url,
        )
        return False
    telegram.delete_webhook()
    log.warning("webhook %s deleted for polling", url)
    return True


def _run_polling(runtime: Runtime) -> None:
    stop = threading.Event()

    def request_stop(signum: int, frame: FrameType | None) -> None:
        stop.set()

    previous = {sig: signal.signal(sig, request_stop) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        runtime.start()
        poller = threading.Thread(
            target=poll_updates,
            args=(runtime.app.telegram, runtime.app.state, runtime.dispatcher, stop),
            name="poller",
            daemon=True,  # a long poll in flight must not hold up exit; the offset is not lost
        )
        poller.start()
        log.info("polling for updates; Ctrl+C to stop")
        while not stop.wait(1.0):
            pass
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        log.info("stopping")
