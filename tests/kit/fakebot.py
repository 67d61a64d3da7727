"""A loopback fake of the Telegram Bot API for tests.

pyTelegramBotAPI sends a method's parameters in the URL query string, with ``reply_markup`` as a
JSON string (docs/telegram.md#pytelegrambotapi), so parameters are read from the
query first and from a form, JSON or multipart body second (a photo comes as the multipart
``photo`` part). Answers follow the Bot API's ``{"ok": true, "result": ...}`` shape.

    with FakeBotAPI() as fake:
        telegram = Telegram("123:ABC", fake.url)
        ...
        assert fake.wait_for(lambda: fake.messages(42))

``photos()`` returns the photos sent, PNG bytes and caption; ``sent()`` returns the messages as
the chat shows them (with message ids and keyboards), so a
test can press a button on a message the bot sent; ``reject_text`` makes every send or edit of
a matching text fail, which makes a handler raise deterministically.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from email.parser import BytesParser
from email.policy import HTTP
from http.server import BaseHTTPRequestHandler
from http.server import ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl
from urllib.parse import urlsplit

BOT_USER = {
    "id": 7000000001,
    "is_bot": True,
    "first_name": "LeoWeb Test",
    "username": "leoweb_test_bot",
    "can_join_groups": True,
    "can_read_all_group_messages": False,
    "supports_inline_queries": False,
}
TRUE_METHODS = frozenset(
    {
        "answerCallbackQuery",
        "sendChatAction",
        "setWebhook",
        "deleteWebhook",
        "setMyCommands",
        "deleteMyCommands",
        "deleteMessage",
    }
)
MAX_LONG_POLL = 5.0
MESSAGE_METHODS = ("sendMessage", "editMessageText")


@dataclass(frozen=True)
class SentMessage:
    """A sendMessage, editMessageText or sendPhoto (``text`` is its caption) call with the
    message id it produced or changed."""

    method: str
    chat_id: int
    message_id: int
    text: str
    markup: dict[str, Any] | None

    @property
    def buttons(self) -> list[tuple[str, str]]:
        """(label, callback_data) of every inline button, row by row."""
        rows = (self.markup or {}).get("inline_keyboard") or []
        return [(b["text"], b.get("callback_data", "")) for row in rows for b in row]

    def data(self, prefix: str) -> list[str]:
        """The callback_data of the buttons starting with ``prefix``."""
        return [data for _, data in self.buttons if data.startswith(prefix)]


@dataclass(frozen=True)
class SentPhoto:
    """A sendPhoto call: the uploaded bytes, the caption and its parse mode, the keyboard."""

    chat_id: int
    message_id: int
    png: bytes
    caption: str
    parse_mode: str
    markup: dict[str, Any] | None


class FakeBotAPI:
    """A threaded HTTP server on 127.0.0.1:0 that answers Bot API methods and records calls."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._calls: list[tuple[str, dict[str, str]]] = []
        self._failures: dict[str, deque[tuple[int, dict[str, Any]]]] = {}
        self._rejections: list[tuple[str, int | None, int, dict[str, Any]]] = []
        self._sent: list[SentMessage] = []
        self._photos: list[SentPhoto] = []
        self._updates: list[dict[str, Any]] = []
        self._update_ids = itertools.count(1)
        self._message_ids = itertools.count(1)
        self._closed = False
        self.tokens: set[str] = set()
        self.webhook_info: dict[str, Any] = {
            "url": "",
            "has_custom_certificate": False,
            "pending_update_count": 0,
        }
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(self))
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> FakeBotAPI:
        self._thread.start()
        return self

    def close(self) -> None:
        with self._cond:
            self._closed = True
            self._cond.notify_all()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(5)

    def __enter__(self) -> FakeBotAPI:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- what tests use ------------------------------------------------------------------------

    def calls(self, method: str | None = None) -> list[tuple[str, dict[str, str]]]:
        with self._cond:
            return [call for call in self._calls if method is None or call[0] == method]

    def messages(self, chat_id: int | None = None) -> list[str]:
        """Texts of sendMessage and editMessageText calls, in order."""
        return [
            params.get("text", "")
            for method, params in self.calls()
            if method in ("sendMessage", "editMessageText")
            and (chat_id is None or params.get("chat_id") == str(chat_id))
        ]

    def sent(self, chat_id: int | None = None) -> list[SentMessage]:
        """Messages sent or edited and photos sent (successfully), in order, optionally of one
        chat."""
        with self._cond:
            return [m for m in self._sent if chat_id is None or m.chat_id == chat_id]

    def photos(self, chat_id: int | None = None) -> list[SentPhoto]:
        """Photos sent (successfully), in order, optionally to one chat."""
        with self._cond:
            return [p for p in self._photos if chat_id is None or p.chat_id == chat_id]

    def answers(self) -> dict[str, dict[str, str]]:
        """answerCallbackQuery parameters by callback_query_id."""
        return {p.get("callback_query_id", ""): p for _, p in self.calls("answerCallbackQuery")}

    def wait_for(self, predicate: Callable[[], Any], timeout: float = 5.0) -> bool:
        """Wait until ``predicate()`` is truthy; re-checked on every call and every 50 ms."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while not predicate():
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self._cond.wait(min(remaining, 0.05))
        return True

    def fail_next(self, method: str, status: int, body: dict[str, Any] | None = None) -> None:
        """Answer the next call of ``method`` with ``status`` and ``body`` (a Bot API error)."""
        body = body or {"ok": False, "error_code": status, "description": f"Error {status}"}
        with self._cond:
            self._failures.setdefault(method, deque()).append((status, body))

    def reject_text(
        self, marker: str, status: int = 400, description: str = "", chat_id: int | None = None
    ) -> None:
        """From now on, answer every send or edit whose text contains ``marker`` (in the chat
        ``chat_id``, or in any) with an error."""
        body = {"ok": False, "error_code": status, "description": description or f"Error {status}"}
        with self._cond:
            self._rejections.append((marker, chat_id, status, body))

    def push_update(self, update: dict[str, Any]) -> dict[str, Any]:
        """Queue an Update for getUpdates; an update_id is assigned when missing."""
        update = dict(update)
        update.setdefault("update_id", next(self._update_ids))
        with self._cond:
            self._updates.append(update)
            self._cond.notify_all()
        return update

    def reset(self) -> None:
        with self._cond:
            self._calls.clear()
            self._failures.clear()
            self._rejections.clear()
            self._sent.clear()
            self._photos.clear()

    # -- the server side -----------------------------------------------------------------------

    def handle(
        self, token: str, method: str, params: dict[str, str], files: dict[str, bytes] | None = None
    ) -> tuple[int, dict[str, Any]]:
        with self._cond:
            self.tokens.add(token)
            self._calls.append((method, params))
            self._cond.notify_all()
            queued = self._failures.get(method)
            if queued:
                return queued.popleft()
            rejected = self._rejection(method, params)
            if rejected is not None:
                return rejected
        if method == "getUpdates":
            return 200, {"ok": True, "result": self._long_poll(params)}
        result = self._result(method, params, files or {})
        if result is None:
            return 404, {"ok": False, "error_code": 404, "description": "Not Found"}
        return 200, {"ok": True, "result": result}

    def _result(self, method: str, params: dict[str, str], files: dict[str, bytes]) -> Any:
        if method in TRUE_METHODS:
            self._apply_webhook(method, params)
            return True
        if method == "getMe":
            return BOT_USER
        if method == "getWebhookInfo":
            return dict(self.webhook_info)
        if method == "sendMessage":
            return self._message(params, next(self._message_ids), method)
        if method == "editMessageText":
            return self._message(params, int(params.get("message_id", 0)), method)
        if method == "sendPhoto" and "photo" in files:
            return self._photo(params, files["photo"])
        return None

    def _rejection(self, method: str, params: dict[str, str]) -> tuple[int, dict[str, Any]] | None:
        if method not in MESSAGE_METHODS:
            return None
        text, chat = params.get("text", ""), params.get("chat_id")
        for marker, chat_id, status, body in self._rejections:
            if marker in text and chat_id in (None, int(chat or 0)):
                return status, body
        return None

    def _apply_webhook(self, method: str, params: dict[str, str]) -> None:
        if method == "setWebhook":
            self.webhook_info["url"] = params.get("url", "")
        elif method == "deleteWebhook":
            self.webhook_info["url"] = ""

    def _message(self, params: dict[str, str], message_id: int, method: str) -> dict[str, Any]:
        text = params.get("text", "")
        self._record(SentMessage(method, int(params.get("chat_id", 0)), message_id, text,
                                 _markup_of(params)))  # fmt: skip
        return {**_envelope(params, message_id), "text": text}

    def _photo(self, params: dict[str, str], png: bytes) -> dict[str, Any]:
        chat_id, message_id = int(params.get("chat_id", 0)), next(self._message_ids)
        caption, markup = params.get("caption", ""), _markup_of(params)
        mode = params.get("parse_mode", "")
        self._record(SentMessage("sendPhoto", chat_id, message_id, caption, markup),
                     SentPhoto(chat_id, message_id, png, caption, mode, markup))  # fmt: skip
        size = {"width": 1080, "height": 1080, "file_size": len(png)}
        photo = {"file_id": f"photo{message_id}", "file_unique_id": f"p{message_id}", **size}
        return {**_envelope(params, message_id), "photo": [photo], "caption": caption}

    def _record(self, message: SentMessage, photo: SentPhoto | None = None) -> None:
        with self._cond:
            self._sent.append(message)
            if photo is not None:
                self._photos.append(photo)
            self._cond.notify_all()

    def _long_poll(self, params: dict[str, str]) -> list[dict[str, Any]]:
        offset = int(params.get("offset", 0) or 0)
        deadline = time.monotonic() + min(float(params.get("timeout", 0) or 0), MAX_LONG_POLL)
        with self._cond:
            # Like the Bot API, a call with an offset confirms (forgets) every earlier update.
            self._updates = [u for u in self._updates if u["update_id"] >= offset]
            while not self._updates and not self._closed:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    break
                self._cond.wait(remaining)
            return list(self._updates)


def _handler_for(fake: FakeBotAPI) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        disable_nagle_algorithm = True  # headers and body go out in two writes: no 40 ms stalls

        def handle(self) -> None:
            # A client that dies mid-connection (a SIGKILLed server) needs no traceback.
            with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                super().handle()

        def do_GET(self) -> None:
            self._serve()

        def do_POST(self) -> None:
            self._serve()

        def _serve(self) -> None:
            url = urlsplit(self.path)
            parts = url.path.strip("/").split("/")
            params = dict(parse_qsl(url.query, keep_blank_values=True))
            files: dict[str, bytes] = {}
            params.update(self._body_params(files))
            if len(parts) != 2 or not parts[0].startswith("bot"):
                self._reply(404, {"ok": False, "error_code": 404, "description": "Not Found"})
                return
            status, body = fake.handle(parts[0][3:], parts[1], params, files)
            self._reply(status, body)

        def _body_params(self, files: dict[str, bytes]) -> dict[str, str]:
            """The body's parameters; the uploaded files of a multipart body go into ``files``."""
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            if not raw:
                return {}
            kind = self.headers.get_content_type()
            if kind == "application/json":
                data = json.loads(raw)
                return {k: v if isinstance(v, str) else json.dumps(v) for k, v in data.items()}
            if kind == "multipart/form-data":
                return multipart(self.headers["Content-Type"], raw, files)
            return dict(parse_qsl(raw.decode("utf-8"), keep_blank_values=True))

        def _reply(self, status: int, body: dict[str, Any]) -> None:
            data = json.dumps(body).encode("utf-8")
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            if status == 429:
                retry = body.get("parameters", {}).get("retry_after")
                if retry is not None:
                    self.send_header("Retry-After", str(retry))
            try:
                self.end_headers()
                self.wfile.write(data)
            except (BrokenPipeError, ConnectionResetError):
                self.close_connection = True  # the client gave up (e.g. a long poll at exit)

        def log_message(self, format: str, *args: Any) -> None:
            """Silent: request lines carry the bot token."""

    return Handler


def _envelope(params: dict[str, str], message_id: int) -> dict[str, Any]:
    """What every Message the bot sent carries: its id, date, chat and author."""
    chat_id = int(params.get("chat_id", 0))
    chat = {"id": chat_id, "type": "private" if chat_id > 0 else "group"}
    return {"message_id": message_id, "date": int(time.time()), "chat": chat, "from": BOT_USER}


def _markup_of(params: dict[str, str]) -> dict[str, Any] | None:
    return json.loads(params["reply_markup"]) if params.get("reply_markup") else None


def multipart(content_type: str, raw: bytes, files: dict[str, bytes]) -> dict[str, str]:
    """A multipart/form-data body: its fields, and its file parts (by field name) into ``files``."""
    head = f"Content-Type: {content_type}\r\n\r\n".encode()
    params: dict[str, str] = {}
    for part in BytesParser(policy=HTTP).parsebytes(head + raw).iter_parts():
        name = str(part.get_param("name", header="content-disposition"))
        payload = part.get_payload(decode=True)
        if part.get_filename() is not None:
            files[name] = payload
        else:
            params[name] = payload.decode("utf-8")
    return params
