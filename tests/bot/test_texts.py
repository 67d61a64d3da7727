"""The string catalogue: Russian plurals, company-time dates, escaping, ru/en parity."""

from __future__ import annotations

import datetime
import string
from html.parser import HTMLParser

import pytest
import pytz

from leoweb_bot.bot.formats import format_due
from leoweb_bot.bot.formats import format_money
from leoweb_bot.bot.formats import format_when
from leoweb_bot.bot.formats import overdue_label
from leoweb_bot.bot.formats import shorten
from leoweb_bot.bot.locales.en import EN
from leoweb_bot.bot.locales.ru import RU
from leoweb_bot.bot.texts import CATALOG
from leoweb_bot.bot.texts import Html
from leoweb_bot.bot.texts import escape
from leoweb_bot.bot.texts import join
from leoweb_bot.bot.texts import link
from leoweb_bot.bot.texts import t

ALMATY = pytz.timezone("Asia/Almaty")
# Telegram's HTML mode accepts only these tags (docs/telegram.md#html-formatting).
TELEGRAM_TAGS = {"b", "strong", "i", "em", "u", "ins", "s", "strike", "del", "a", "code", "pre"}


def utc(*args: int) -> int:
    return int(datetime.datetime(*args, tzinfo=datetime.UTC).timestamp())


@pytest.mark.parametrize(
    ("days", "text"),
    [
        (1, "1 день просрочки"),
        (2, "2 дня просрочки"),
        (4, "4 дня просрочки"),
        (5, "5 дней просрочки"),
        (11, "11 дней просрочки"),
        (12, "12 дней просрочки"),
        (14, "14 дней просрочки"),
        (21, "21 день просрочки"),
        (22, "22 дня просрочки"),
        (25, "25 дней просрочки"),
        (101, "101 день просрочки"),
        (111, "111 дней просрочки"),
        (112, "112 дней просрочки"),
        (0, "просрочена сегодня"),
    ],
)
def test_russian_plural_forms(days: int, text: str) -> None:
    assert overdue_label("ru", days) == text


@pytest.mark.parametrize(
    ("days", "text"), [(1, "1 day overdue"), (2, "2 days overdue"), (21, "21 days overdue")]
)
def test_english_plural_forms(days: int, text: str) -> None:
    assert overdue_label("en", days) == text


def test_dates_are_shown_in_company_time() -> None:
    assert format_when(utc(2026, 11, 25, 9, 5), ALMATY) == "25.11.2026 14:05"


def test_almaty_moved_from_utc6_to_utc5_on_2024_03_01() -> None:
    assert format_when(utc(2024, 2, 29, 8, 0), ALMATY) == "29.02.2024 14:00"
    assert format_when(utc(2024, 3, 1, 8, 0), ALMATY) == "01.03.2024 13:00"


def test_all_day_deadline_shows_the_date_only() -> None:
    # amoCRM keeps "all day" tasks at 23:59 company time.
    assert format_due(utc(2026, 11, 25, 18, 59), ALMATY) == "25.11.2026"
    assert format_due(utc(2026, 11, 25, 13, 0), ALMATY) == "25.11.2026 18:00"


def test_values_are_escaped_but_templates_keep_their_markup() -> None:
    text = t("ru", "lead_title", name="<b>Иванов & Ко</b>", id=42)
    assert text == "<b>&lt;b&gt;Иванов &amp; Ко&lt;/b&gt;</b> · сделка #42"


def test_html_values_are_not_escaped_twice() -> None:
    inner = escape("a < b")
    assert t("en", "usage", usage=inner) == "Usage: a &lt; b"
    assert escape(inner) == inner


def test_quotes_become_entities_telegram_reads_and_plain_parts_are_escaped_when_joined() -> None:
    assert (
        t("en", "usage", usage='ООО "Рога" & O\'Neil')
        == "Usage: ООО &#34;Рога&#34; &amp; O&#39;Neil"
    )
    assert (
        join([t("en", "help_title"), "<i>typed</i>"]) == "<b>Commands</b>\n&lt;i&gt;typed&lt;/i&gt;"
    )


def test_link_escapes_the_href_for_an_attribute() -> None:
    html = link('https://x.amocrm.ru/leads/detail/1?a="b"&c', "<card>")
    assert html == (
        '<a href="https://x.amocrm.ru/leads/detail/1?a=&#34;b&#34;&amp;c">&lt;card&gt;</a>'
    )
    assert link(None, "<plain>") == "&lt;plain&gt;"


def test_money_and_shortening() -> None:
    assert format_money(1250000) == "1\u202f250\u202f000"
    assert shorten("  a\n b  ", 10) == "a b"
    assert shorten("x" * 20, 10) == "x" * 9 + "…"


def test_every_key_exists_in_both_languages() -> None:
    assert set(RU) == set(EN)


@pytest.mark.parametrize("key", sorted(RU))
def test_both_languages_take_the_same_placeholders(key: str) -> None:
    def fields(template: str) -> set[str]:
        return {name for _, name, _, _ in string.Formatter().parse(template) if name}

    assert fields(RU[key]) == fields(EN[key])


class _TagChecker(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.open: list[str] = []
        self.problems: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag not in TELEGRAM_TAGS:
            self.problems.append(f"<{tag}>")
        self.open.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if not self.open or self.open.pop() != tag:
            self.problems.append(f"</{tag}>")


@pytest.mark.parametrize("lang", sorted(CATALOG))
def test_every_template_is_valid_telegram_html(lang: str) -> None:
    for key, template in CATALOG[lang].items():
        names = {n for _, n, _, _ in string.Formatter().parse(template) if n}
        checker = _TagChecker()
        checker.feed(t(lang, key, **dict.fromkeys(names, "<x>&")))
        checker.close()
        assert not checker.problems and not checker.open, (key, checker.problems)
        assert "<x>" not in t(lang, key, **dict.fromkeys(names, "<x>&"))


def test_html_marker_is_a_str() -> None:
    assert isinstance(t("ru", "short_help"), Html)
    assert isinstance(t("ru", "short_help"), str)
