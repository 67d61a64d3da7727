"""The gunicorn worker: gthread, except that a thread gets a request only once it has arrived.

gunicorn's threaded worker gives a connection a thread as soon as its first byte arrives, and
the thread then blocks until the whole request head is in. A client that sends a byte every few
seconds holds a thread for as long as it likes, and as many such clients as there are threads
stop the server, /healthz included. Here every time the socket is readable a thread takes what
has arrived, without blocking, and gives the connection back to gunicorn's poller, until the
head and a body of known length are in; only then does gunicorn parse it and the app run. A
request still incomplete REQUEST_READ_SECONDS after its first byte is answered 408 and closed,
and a connection that sends nothing is closed after gunicorn's ``keepalive`` seconds. Closing,
which waits for the client to close too, also waits in the poller rather than in a thread.

What this cannot wait for without parsing more of HTTP (a chunked body, ``Expect:
100-continue``) is handed over at the end of the head; from there every read and write of the
connection times out after REQUEST_READ_SECONDS. gunicorn is still never to be exposed without
the TLS proxy in front (README), which reads whole requests itself.

This leans on gthread's internals (``TConn``, the ``_DEFER`` answer of gunicorn 26 and later);
tests/test_e2e.py runs it in a real gunicorn.
"""

from __future__ import annotations

import contextlib
import http.client
import io
import socket
import time
from dataclasses import dataclass
from dataclasses import field
from typing import Any

from gunicorn import util
from gunicorn.workers import gthread

from leoweb_bot.service.web import MAX_BODY

REQUEST_READ_SECONDS = 10.0  # behind the proxy a request arrives in one piece, in milliseconds
CLOSE_LINGER_SECONDS = 2.0  # as gunicorn's util.close_graceful
_HEAD_END = b"\r\n\r\n"


@dataclass
class _Arrival:
    """The bytes of one request so far, and when its first byte came."""

    started: float
    data: bytearray = field(default_factory=bytearray)


class Worker(gthread.ThreadWorker):  # type: ignore[misc]
    """gunicorn's ``gthread`` worker that gathers each request before a thread serves it."""

    def handle(self, conn: Any) -> Any:
        if getattr(conn, "leoweb_close_by", None) is not None:
            return _linger(conn)
        keep = self._serve(conn)
        if keep is not False:
            return keep
        # A connection to close first waits for the client to close too, so that what it still
        # sends does not reset the answer (RFC 9112 §9.6). gunicorn waits up to 2 s in the
        # thread that accepts connections (util.close_graceful), so a client that never closes
        # stalls everyone; here the wait is in the poller, like any other.
        try:
            conn.sock.shutdown(socket.SHUT_WR)
        except OSError:
            return _closing(conn)
        conn.leoweb_close_by = time.monotonic() + CLOSE_LINGER_SECONDS
        return _linger(conn)

    def _serve(self, conn: Any) -> Any:
        if self.cfg.is_ssl or conn.is_http2 or _read_ahead(conn):
            return super().handle(conn)
        arrival = _take_arrived(conn)
        if arrival is None:
            return False  # the client closed or reset the connection
        if not arrival.data:
            return gthread._DEFER  # nothing yet: wait in the poller, not in a thread
        if request_complete(bytes(arrival.data), self.max_head):
            conn.leoweb_arrival = None
            conn.init()
            conn.parser.unreader.unread(bytes(arrival.data))
            conn.data_ready = True
            return super().handle(conn)
        if time.monotonic() - arrival.started > REQUEST_READ_SECONDS:
            self.log.debug("request not in after %.0f s: 408", REQUEST_READ_SECONDS)
            with contextlib.suppress(OSError):
                util.write_error(conn.sock, 408, "Request Timeout", "")
            return False
        return gthread._DEFER

    def handle_request(self, req: Any, conn: Any) -> Any:
        # Whatever the app still reads (a chunked body) or writes is bounded too.
        conn.sock.settimeout(REQUEST_READ_SECONDS)
        return super().handle_request(req, conn)

    @property
    def max_head(self) -> int:
        """The longest head gunicorn's parser accepts; past it, the parser refuses at once."""
        cfg = self.cfg
        return cfg.limit_request_line + cfg.limit_request_fields * (
            cfg.limit_request_field_size + 2
        )


def _linger(conn: Any) -> Any:
    """Drop what the client still sends; once it has closed, or the time is up, close."""
    conn.sock.setblocking(False)
    try:
        while conn.sock.recv(65536) and time.monotonic() < conn.leoweb_close_by:
            pass
    except (BlockingIOError, InterruptedError):
        if time.monotonic() < conn.leoweb_close_by:
            return gthread._DEFER
    except OSError:
        pass
    return _closing(conn)


def _closing(conn: Any) -> bool:
    """False for gunicorn to close the connection, and nothing left for it to wait for."""
    with contextlib.suppress(OSError):
        conn.sock.shutdown(socket.SHUT_RDWR)
    return False


def _read_ahead(conn: Any) -> bool:
    """Bytes of a next request already read with the previous one (pipelining) are gunicorn's."""
    return bool(conn.initialized and conn.parser.unreader.buf.getvalue())


def _take_arrived(conn: Any) -> _Arrival | None:
    """Add what the socket holds now to the connection's arrival; None if the client left."""
    arrival: _Arrival | None = getattr(conn, "leoweb_arrival", None)
    conn.sock.setblocking(False)
    try:
        chunk = conn.sock.recv(65536)
    except (BlockingIOError, InterruptedError):
        chunk = None  # woken with nothing to read (a new connection, before its first byte)
    except OSError:
        return None
    if chunk == b"":
        return None
    if arrival is None:
        arrival = _Arrival(time.monotonic())
        if chunk:  # the clock starts at the first byte
            conn.leoweb_arrival = arrival
    if chunk:
        arrival.data += chunk
    return arrival


def request_complete(data: bytes, max_head: int) -> bool:
    """Whether gunicorn can parse ``data`` without waiting for the client.

    True once the head is in and, with a ``Content-Length`` up to MAX_BODY, the body too. A
    longer body is refused by the app without reading it; a chunked body, or one the client
    sends only after ``100 Continue``, is read by gunicorn (with a timeout per read). Anything
    malformed is complete: gunicorn's parser answers 400.
    """
    end = data.find(_HEAD_END)
    if end < 0:
        return len(data) > max_head
    line_end = data.find(b"\r\n")
    try:
        headers = http.client.parse_headers(io.BytesIO(data[line_end + 2 : end + 4]))
        length = int(headers.get("Content-Length") or 0)
    except (http.client.HTTPException, ValueError):
        return True
    if headers.get("Transfer-Encoding") or headers.get("Expect"):
        return True
    return length > MAX_BODY or len(data) - (end + 4) >= length
