"""Every user-visible string, in Russian and English, and the Telegram HTML built from them.

Telegram's HTML mode needs ``<``, ``>`` and ``&`` escaped outside tags and ``"`` inside
``href`` (docs/telegram.md#html-formatting). :class:`Html` is ``markupsafe.Markup``: ``t()``
escapes every value it is given unless the value is already :class:`Html`, so CRM text can never
inject markup (markupsafe also writes quotes as numeric entities, which Telegram reads).
Rendering of whole screens lives in :mod:`leoweb_bot.bot.views`, dates, money and plurals in
:mod:`leoweb_bot.bot.formats`; the strings themselves are in :mod:`leoweb_bot.bot.locales`, one module per language.
"""

from __future__ import annotations

from markupsafe import Markup
from markupsafe import escape

from leoweb_bot.bot.locales.en import EN
from leoweb_bot.bot.locales.ru import RU

DEFAULT_RESULT = {"ru": "Выполнено через Telegram", "en": "Done via Telegram"}
Html = Markup  # text that is already valid Telegram HTML and must not be escaped again


CATALOG: dict[str, dict[str, str]] = {"ru": RU, "en": EN}


def plain(lang: str, key: str, **values: object) -> str:
    """The catalogue entry ``key`` for a plain-text place (a callback toast): nothing escaped."""
    return CATALOG.get(lang, RU)[key].format(**values)


def t(lang: str, key: str, **values: object) -> Html:
    """The catalogue entry ``key`` in ``lang`` with every value escaped and filled in."""
    return Html(CATALOG.get(lang, RU)[key]).format(**values)


def join(parts: list[Html] | tuple[Html, ...], sep: str = "\n") -> Html:
    """Join rendered fragments (a plain string among them would be escaped)."""
    return Html(sep).join(parts)


def link(url: str | None, label: object) -> Html:
    """An ``<a href>`` with the URL escaped for an attribute, or just the label without a URL."""
    if not url:
        return escape(label)
    return Html('<a href="{}">{}</a>').format(url, label)
