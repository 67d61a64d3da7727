"""Form bodies with PHP-style keys, read as PHP reads them: ``a[b][0][c]=v`` becomes
``{"a": {"b": {"0": {"c": "v"}}}}``.

amoCRM is written in PHP: its webhooks post such forms and its v2 API takes them, so the bot
(webhook bodies) and the sandbox (v2 writes) read them with this one parser. Standard library
only, so every package may import it.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import parse_qsl

KEY_RE = re.compile(r"([^\[\]]+)((?:\[[^\[\]]*\])*)")  # name, then any [part]s
PART_RE = re.compile(r"\[([^\[\]]*)\]")


def php_form(body: str) -> dict[str, Any]:
    """The url-encoded ``body`` as nested dicts; lists stay dicts keyed "0", "1", …

    As in PHP, a later field replaces an earlier one with the same key, also when one is a value
    and the other a table: ``a=1&a[b]=2`` gives ``{"a": {"b": "2"}}``
    (https://www.php.net/manual/en/function.parse-str.php). A key that is no name followed by
    brackets (``[]=1``, ``a]=1``) is skipped. Unlike PHP, empty brackets (``a[]``) are not
    numbered: amoCRM numbers its fields.
    """
    root: dict[str, Any] = {}
    for key, value in parse_qsl(body, keep_blank_values=True):
        match = KEY_RE.fullmatch(key)
        if match is None:
            continue
        *parents, last = [match.group(1), *PART_RE.findall(match.group(2))]
        node = root
        for part in parents:
            child = node.get(part)
            if not isinstance(child, dict):
                child = node[part] = {}
            node = child
        node[last] = value
    return root
