"""Look-ups by what people type: both ways of writing a phone number, merged, and counted.

amoCRM's ``query`` looks for the text in the filled fields (API v4 leads list, ``query``:
https://www.amocrm.ru/developers/content/crm_platform/leads-api); nothing says it takes
``8 701 123 45 67`` for a contact saved as ``+7 701 123 45 67``. Kazakhstan and Russia share the
+7 code and the trunk prefix 8, so a number in either form is searched in both, merged by id.
A search reads one page at amoCRM's maximum: enough to count the matches or say "250+".
"""

from __future__ import annotations

import re
from collections.abc import Callable
from collections.abc import Sequence
from typing import TypeVar

from leoweb_bot.amocrm.client import PAGE_LIMIT
from leoweb_bot.amocrm.client import AmoClient
from leoweb_bot.amocrm.models import Contact
from leoweb_bot.amocrm.models import Lead

SEARCH_CAP = PAGE_LIMIT
PHONE_RE = re.compile(r"\s*(\+7|7|8)([\d\s()-]+)")
NATIONAL_DIGITS = 10  # +7 701 123 45 67: ten digits after the country code


F = TypeVar("F", Lead, Contact)


def phone_forms(text: str) -> list[str]:
    """``8 701 123 45 67`` → itself and ``+7 701 123 45 67``; any other text → just itself."""
    match = PHONE_RE.fullmatch(text)
    if not match or sum(ch.isdigit() for ch in match.group(2)) != NATIONAL_DIGITS:
        return [text]
    rest = match.group(2)
    return list(dict.fromkeys([text, f"+7{rest}", f"8{rest}"]))


def merged(text: str, search: Callable[[str], Sequence[F]]) -> list[F]:
    """Every match of every form of ``text``, each once, in the order amoCRM gave them."""
    found: dict[int, F] = {}
    for form in phone_forms(text):
        for item in search(form):
            found.setdefault(item.id, item)
    return list(found.values())


def find_leads(client: AmoClient, text: str) -> list[Lead]:
    return merged(text, lambda q: client.search_leads(q, limit=SEARCH_CAP))


def find_contacts(client: AmoClient, text: str) -> list[Contact]:
    return merged(text, lambda q: client.search_contacts(q, limit=SEARCH_CAP))


def count_label(found: Sequence[object]) -> str:
    """``37``, or ``250+`` when a full page came back and there may be more."""
    return f"{SEARCH_CAP}+" if len(found) >= SEARCH_CAP else str(len(found))
