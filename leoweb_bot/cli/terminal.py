"""The terminal stand-in for Telegram: a chat with the bot in a console.

:class:`TerminalTelegram` has the interface of :class:`leoweb_bot.telegram.client.Telegram` that the
bot uses and prints instead of calling the Bot API: HTML as readable text (bold via ANSI on a
terminal, links as ``text (url)``), inline buttons as numbered choices, edits re-printed and
marked, and a photo saved as a PNG file whose path is printed with its caption. :class:`TerminalChat` turns typed lines into Bot API Update dicts for the bot's router
(the same one as in production): text becomes a message, a number a press of that button on the
chat's last keyboard. ``as <name>`` plays someone new (with a made-up id of their own), and a
pasted invite link is opened as Telegram opens it: ``/start <token>``.
"""

from __future__ import annotations

import html.parser
import itertools
import logging
import re
import tempfile
import time
from collections.abc import Callable
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from typing import TextIO

from telebot import types

from leoweb_bot.cli.console import AS_WORDS
from leoweb_bot.cli.console import CONSOLE
from leoweb_bot.cli.console import QUIT
from leoweb_bot.cli.console import ROLE_NAMES
from leoweb_bot.cli.console import ROLE_WORDS
from leoweb_bot.ids import parse_id

log = logging.getLogger(__name__)

# Made-up Telegram ids of the demo's people; [access] maps them to their roles.
DIRECTOR_ID = 1001
MANAGER_ID = 2001
ADMIN_ID = 3001
BOT_USER = {"id": 7000000000, "is_bot": True, "first_name": "LeoWeb", "username": "leoweb_demo_bot"}
ROLE_IDS = {"director": DIRECTOR_ID, "manager": MANAGER_ID, "admin": ADMIN_ID}
FIRST_GUEST_ID = 5001  # the made-up ids of the people played with `as`, in order of appearance
# An invite link, as Telegram opens it: the bot gets /start with the link's parameter.
INVITE_LINK_RE = re.compile(r"https://t\.me/\w+\?start=([A-Za-z0-9_-]+)")
BOLD_ON, BOLD_OFF = "\x1b[1m", "\x1b[22m"
ITALIC_ON, ITALIC_OFF = "\x1b[3m", "\x1b[23m"


# -- HTML to terminal text --------------------------------------------------------------------


_STYLE_TAGS = {"b": "b", "strong": "b", "i": "i", "em": "i"}


class _TerminalText(html.parser.HTMLParser):
    """Telegram HTML → plain text: bold and italic as ANSI (optional), links as ``text (url)``."""

    def __init__(self, ansi: bool) -> None:
        super().__init__(convert_charrefs=True)  # &lt; &amp; &#8470; … become characters
        self.ansi = ansi
        self.parts: list[str] = []
        self.depth = {"b": 0, "i": 0}
        self.links: list[tuple[str, int]] = []  # (href, where its text starts in parts)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        kind = _STYLE_TAGS.get(tag)
        if kind:
            self._style(kind, +1)
        elif tag == "a":
            self.links.append((dict(attrs).get("href") or "", len(self.parts)))

    def handle_endtag(self, tag: str) -> None:
        kind = _STYLE_TAGS.get(tag)
        if kind:
            self._style(kind, -1)
        elif tag == "a" and self.links:
            href, start = self.links.pop()
            label = "".join(self.parts[start:])
            if href and href != label:
                self.parts.append(f" ({href})")

    def handle_data(self, data: str) -> None:
        self.parts.append(data)

    def _style(self, kind: str, step: int) -> None:
        before = self.depth[kind]
        self.depth[kind] = max(before + step, 0)
        if self.ansi and (before == 0) != (self.depth[kind] == 0):
            on, off = (BOLD_ON, BOLD_OFF) if kind == "b" else (ITALIC_ON, ITALIC_OFF)
            self.parts.append(on if step > 0 else off)


def html_to_text(text: str, *, ansi: bool = False) -> str:
    """Render Telegram HTML for a terminal; unknown tags are dropped, their text kept."""
    parser = _TerminalText(ansi)
    parser.feed(text)
    parser.close()
    return "".join(parser.parts)


# -- inline keyboards as numbered choices -----------------------------------------------------


def keyboard_rows(markup: Any) -> list[list[dict[str, Any]]]:
    """The button rows of a telebot markup or a plain ``{"inline_keyboard": ...}`` dict."""
    if markup is None:
        return []
    if isinstance(markup, types.InlineKeyboardMarkup):
        markup = markup.to_dict()
    if not isinstance(markup, Mapping):
        return []
    return [list(row) for row in markup.get("inline_keyboard") or []]


def number_buttons(markup: Any) -> tuple[list[str], list[tuple[str, str]]]:
    """Lines like ``[1] Зелимхан (12)  [2] Милана (9)`` and the numbered (label, data) pairs.

    Only callback buttons get a number; a URL button is shown as ``label (url)``.
    """
    lines: list[str] = []
    choices: list[tuple[str, str]] = []
    for row in keyboard_rows(markup):
        shown = []
        for b in row:
            if b.get("callback_data") is not None:
                choices.append((b["text"], b["callback_data"]))
                shown.append(f"[{len(choices)}] {b['text']}")
            elif b.get("url"):
                shown.append(f"{b['text']} ({b['url']})")
        if shown:
            lines.append("  ".join(shown))
    return lines, choices


# -- a Telegram that prints -------------------------------------------------------------------


@dataclass
class Shown:
    """A message the demo printed: where it is, its HTML and its pressable buttons."""

    chat_id: int
    message_id: int
    html: str
    choices: list[tuple[str, str]]


class TerminalTelegram:
    """The subset of :class:`leoweb_bot.telegram.client.Telegram` the bot uses, printing to a terminal."""

    def __init__(
        self, out: TextIO, *, ansi: bool = False, lang: str = "ru", pictures: Path | None = None
    ) -> None:
        self.out = out
        self.pictures = pictures  # where photos are saved; a temp folder made at the first one
        self.ansi = ansi
        self.lang = lang
        self.closed = False  # the reader of ``out`` went away (`leoweb-bot demo | head`)
        self.words = CONSOLE.get(lang, CONSOLE["ru"])
        self.messages: dict[int, Shown] = {}
        self.keyboards: dict[int, int] = {}  # chat id → id of its last message with buttons
        self.here: int | None = None  # the chat of whoever is typing now
        self._ids = itertools.count(1)

    def send(
        self,
        chat_id: int,
        html: str,
        reply_markup: Any = None,
        disable_preview: bool = True,
    ) -> list[int]:
        message_id = next(self._ids)
        self._show(chat_id, message_id, html, reply_markup, edited=False)
        return [message_id]

    def edit(self, chat_id: int, message_id: int, html: str, reply_markup: Any = None) -> list[int]:
        self._show(chat_id, message_id, html, reply_markup, edited=True)
        return [message_id]

    def send_photo(
        self, chat_id: int, png: bytes, caption: str = "", reply_markup: Any = None
    ) -> int:
        """Save the picture as a file and print its path under the caption."""
        if self.pictures is None:
            self.pictures = Path(tempfile.mkdtemp(prefix="leoweb-demo-pictures-"))
        message_id = next(self._ids)
        path = self.pictures / f"picture-{message_id}.png"
        path.write_bytes(png)
        self._show(chat_id, message_id, caption, reply_markup, edited=False, picture=path)
        return message_id

    def delete(self, chat_id: int, message_id: int) -> None:
        """A printed line cannot be taken back: the "⏳" placeholder stays on the screen."""

    def answer_callback(
        self, callback_id: str, text: str | None = None, alert: bool = False
    ) -> None:
        if text:  # plain text, as in Telegram: a toast has no parse mode
            self.note(f"{'⚠' if alert else 'ⓘ'} {text}")

    def typing(self, chat_id: int) -> None:
        """Nothing to show: the answer follows at once."""

    def set_commands(self, commands_by_scope: Mapping[str | int, Any]) -> None:
        """A terminal has no command menu."""

    def delete_commands(self, chat_id: int) -> None:
        """A terminal has no command menu."""

    def get_me(self) -> types.User:
        return types.User.de_json(dict(BOT_USER))

    def last_choices(self, chat_id: int) -> Shown | None:
        """The latest message in this chat that has buttons (what a typed number presses)."""
        message_id = self.keyboards.get(chat_id)
        return self.messages.get(message_id) if message_id is not None else None

    def _show(
        self,
        chat_id: int,
        message_id: int,
        html: str,
        markup: Any,
        edited: bool,
        picture: Path | None = None,
    ) -> None:
        lines, choices = number_buttons(markup)
        self.messages[message_id] = Shown(chat_id, message_id, html, choices)
        if choices:
            self.keyboards[chat_id] = message_id
        elif self.keyboards.get(chat_id) == message_id:
            del self.keyboards[chat_id]  # an edit removed the buttons
        mark = f" · {self.words['edited']}" if edited else ""
        if self.here not in (None, chat_id):  # someone else's chat: a card to the director, say
            mark += f" · {self.words['to'].format(id=chat_id)}"
        self.note(f"── {self.words['bot']} #{message_id}{mark} ──")
        if picture is not None:
            self.note(self.words["picture"].format(path=picture))
        self.note(html_to_text(html, ansi=self.ansi))
        for line in lines:
            self.note(line)
        self.note("")

    def note(self, text: str) -> None:
        if self.closed:
            return
        try:
            print(text, file=self.out, flush=True)
        except BrokenPipeError:
            # Nobody reads any more: the user has left, as with /quit. Not a bot failure, so
            # the bot's own error handling must not see it (it would log and answer, to a
            # closed pipe, once per line).
            self.closed = True


# -- the chat: typed lines → updates ----------------------------------------------------------


class TerminalChat:
    """Turns what the user types into Bot API updates for the router; the answers are printed
    by the :class:`TerminalTelegram` the router's context sends through."""

    def __init__(
        self,
        route: Callable[[dict[str, Any]], None],
        telegram: TerminalTelegram,
        manager_name: str,
        *,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.route = route
        self.telegram = telegram
        self.manager_name = manager_name
        self.clock = clock
        self.role = "director"
        self.guest: str | None = None  # the name of the new person played with `as`, if any
        self.guests: dict[str, int] = {}  # name → made-up Telegram id
        self.failures = 0
        self._update_ids = itertools.count(1)
        self._message_ids = itertools.count(100_000)

    @property
    def words(self) -> dict[str, str]:
        return self.telegram.words

    @property
    def user_id(self) -> int:
        return self.guests[self.guest] if self.guest else ROLE_IDS[self.role]

    @property
    def prompt(self) -> str:
        return f"{self.guest or self.words[self.role].format(manager=self.manager_name)}> "

    def set_role(self, name: str) -> None:
        """Become the person with role ``name`` (English or Russian, any case)."""
        role = ROLE_NAMES.get(name.strip().casefold())
        if role is None:
            self.telegram.note(self.words["bad_role"])
            return
        self.role, self.guest = role, None
        shown = self.words[role].format(manager=self.manager_name)
        self.telegram.note(self.words["role"].format(role=shown, id=self.user_id))

    def handle(self, line: str) -> bool:
        """Act on one typed line; False when the user wants to leave (or stopped reading)."""
        text = line.strip()
        if self.telegram.closed or text.casefold() in QUIT:
            return False
        if not text:
            return True
        if text.casefold() in QUIT:
            return False
        first, _, rest = text.partition(" ")
        if first.casefold() in ROLE_WORDS:
            self.set_role(rest)
        elif first.casefold() in AS_WORDS:
            self.play(rest)
        elif (number := parse_id(text)) is not None:
            self.press(number)
        else:
            link = INVITE_LINK_RE.fullmatch(text)
            self.process(self.message_update(f"/start {link.group(1)}" if link else text))
        return True

    def play(self, rest: str) -> None:
        """``as Айдана [text]``: become someone new to the bot (the same one for the same
        name), and send ``text`` as them, if given."""
        name, _, text = rest.strip().partition(" ")
        if not name:
            self.telegram.note(self.words["bad_guest"])
            return
        self.guest = name
        self.guests.setdefault(name, FIRST_GUEST_ID + len(self.guests))
        self.telegram.note(self.words["guest"].format(name=name, id=self.user_id))
        if text.strip():
            self.handle(text)

    def press(self, number: int) -> None:
        shown = self.telegram.last_choices(self.user_id)
        if shown is None or not 1 <= number <= len(shown.choices):
            self.telegram.note(self.words["no_buttons"])
            return
        label, data = shown.choices[number - 1]
        self.telegram.note(f"({self.words['pressed'].format(label=label)})")
        self.process(self.callback_update(shown, data))

    def process(self, update: dict[str, Any]) -> None:
        self.telegram.here = self.user_id
        try:
            self.route(update)
        except Exception:
            # The bot turns amoCRM and Telegram failures into replies; anything else is a bug,
            # logged with its traceback, and the demo goes on.
            self.failures += 1
            log.exception("update %s failed", update["update_id"])

    def sender(self) -> dict[str, Any]:
        name = self.manager_name if self.role == "manager" else self.words[f"{self.role}_name"]
        name = self.guest or name
        lang = self.telegram.lang
        return {"id": self.user_id, "is_bot": False, "first_name": name, "language_code": lang}

    def message_update(self, text: str) -> dict[str, Any]:
        message: dict[str, Any] = {
            "message_id": next(self._message_ids),
            "date": int(self.clock()),
            "chat": {"id": self.user_id, "type": "private"},
            "from": self.sender(),
            "text": text,
        }
        if text.startswith("/"):
            length = len(text.split()[0])
            message["entities"] = [{"type": "bot_command", "offset": 0, "length": length}]
        return {"update_id": next(self._update_ids), "message": message}

    def callback_update(self, shown: Shown, data: str) -> dict[str, Any]:
        update_id = next(self._update_ids)
        query = {
            "id": f"demo-{update_id}",
            "from": self.sender(),
            "chat_instance": str(shown.chat_id),
            "data": data,
            "message": {
                "message_id": shown.message_id,
                "date": int(self.clock()),
                "chat": {"id": shown.chat_id, "type": "private"},
                "from": dict(BOT_USER),
                "text": html_to_text(shown.html),
            },
        }
        return {"update_id": update_id, "callback_query": query}
