"""What the sandbox test files share: the demo's "now" in company time, a webhook receiver."""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Iterable
from datetime import datetime
from http.server import BaseHTTPRequestHandler
from http.server import ThreadingHTTPServer
from urllib.parse import parse_qsl

import pytz

ALMATY = pytz.timezone("Asia/Almaty")
NOW = int(ALMATY.localize(datetime(2026, 11, 25, 14, 5)).timestamp())

Form = dict[str, str]


class Receiver:
    """An HTTP server on loopback that records each POSTed form; answers from ``statuses``
    in turn, then 200. While ``gate`` is clear it holds every answer back."""

    def __init__(self, statuses: Iterable[int] = ()) -> None:
        self.forms: list[Form] = []
        self.headers: list[dict[str, str]] = []
        self.statuses = deque(statuses)
        self.gate = threading.Event()
        self.gate.set()
        self._arrived = threading.Condition()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._thread = threading.Thread(
            target=self._server.serve_forever, args=(0.05,), daemon=True
        )
        self._thread.start()
        self.url = f"http://127.0.0.1:{self._server.server_port}/amocrm/webhook/s3cret"

    def wait_for(self, count: int, timeout: float = 10.0) -> list[Form]:
        """The first ``count`` forms, once that many arrived (AssertionError if they do not)."""
        with self._arrived:
            arrived = self._arrived.wait_for(lambda: len(self.forms) >= count, timeout)
        assert arrived, f"{len(self.forms)} of {count} webhooks arrived"
        return self.forms[:count]

    def close(self) -> None:
        self.gate.set()
        self._server.shutdown()
        self._server.server_close()

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"])).decode("ascii")
                receiver.gate.wait(10)
                with receiver._arrived:
                    status = receiver.statuses.popleft() if receiver.statuses else 200
                    receiver.forms.append(dict(parse_qsl(body)))
                    receiver.headers.append(dict(self.headers))
                    receiver._arrived.notify_all()
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        return Handler
