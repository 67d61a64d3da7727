"""PHP-style form bodies, as amoCRM's webhooks post them and its v2 API takes them."""

from __future__ import annotations

from urllib.parse import urlencode

import pytest

from leoweb_bot.forms import php_form


def test_bracketed_keys_nest_and_lists_stay_numbered_dicts() -> None:
    body = urlencode({
        "leads[status][0][id]": "7", "leads[status][0][status_id]": "142",
        "leads[status][1][id]": "8", "account[subdomain]": "leo", "plain": "",
    })  # fmt: skip

    assert php_form(body) == {
        "leads": {"status": {"0": {"id": "7", "status_id": "142"}, "1": {"id": "8"}}},
        "account": {"subdomain": "leo"},
        "plain": "",
    }


@pytest.mark.parametrize(
    ("body", "parsed"),
    [
        ("a=1&a=2", {"a": "2"}),  # as PHP: the later field wins
        ("a=1&a[b]=2", {"a": {"b": "2"}}),  # a table replaces a value
        ("a[b]=2&a=1", {"a": "1"}),  # and a value a table
        ("a[b]=1&a[b][c]=2", {"a": {"b": {"c": "2"}}}),
        ("[]=1&a]=2&x[y]][z]=3&ok=4", {"ok": "4"}),  # no name, or stray brackets: skipped
        ("a[]=1", {"a": {"": "1"}}),  # empty brackets are not numbered
    ],
)
def test_clashes_resolve_as_php_does_and_odd_keys_are_skipped(body: str, parsed: dict) -> None:
    assert php_form(body) == parsed
