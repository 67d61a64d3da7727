"""Fuzz: whatever a stranger sends or presses, amoCRM is not asked and nothing leaks to them."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from hypothesis import HealthCheck
from hypothesis import given
from hypothesis import settings
from hypothesis import strategies as st

from leoweb_bot.bot.codec import VERSION
from tests.kit.botchat import DIRECTOR
from tests.kit.botchat import GROUP
from tests.kit.botchat import STRANGER
from tests.kit.botchat import BotChat
from tests.kit.botchat import Sent
from tests.kit.botchat import bot_chat

NO_ACCESS = "⛔ Нет доступа. Ваш Telegram id: <code>999</code>. Попросить доступ — /start в личном чате с ботом."
# What else a stranger may hear: their /start asks to join (with or without a link that works).
JOINING = {
    NO_ACCESS,
    "Я спросил руководителя — ответ придёт сюда.",
    "Ваш запрос уже у руководителя — ответ придёт сюда.",
    "Эта ссылка-приглашение недействительна.\nПопросить доступ у руководителя — /start",
}

commands = st.sampled_from(
    [
        "/start",
        "/help",
        "/whoami",
        "/report",
        "/mytasks",
        "/done",
        "/lead",
        "/contact",
        "/funnel",
        "/amocrm",
        "/subscribe",
        "/unsubscribe",
        "/subscriptions",
        "/REPORT",
        "/report@leoweb_test_bot",
        "/invite",
        "/people",
        "/remove",
    ]
)
texts = st.one_of(
    st.text(max_size=60),
    st.builds(lambda c, a: f"{c} {a}", commands, st.text(max_size=30)),
)
CODES = ["rm", "mt", "td", "ld", "rr", "lr", "tc", "tr", "tx", "iu", "ir", "qc", "qm", "qd", "qx",
         "pc", "pm", "pd", "pa", "pr", "px"]  # fmt: skip
callback_data = st.one_of(
    st.text(max_size=64),
    st.builds(
        lambda p, n: f"{VERSION}:{p}:{n}",
        st.sampled_from(CODES),
        st.integers(-10, 10**10),
    ),
    st.builds(lambda n, p: f"{VERSION}:rm:{n}:{p}", st.integers(0, 10**8), st.integers(-5, 50)),
    st.builds(
        lambda c, n, u: f"{VERSION}:{c}:{n}:{u}",
        st.sampled_from(["qu", "pu"]),
        st.integers(0, 10**8),
        st.integers(0, 10**8),
    ),
    st.sampled_from([f"{VERSION}:{code}" for code in ("im", "id", "ia", "pl")]),
)


@pytest.fixture(scope="module")
def chat(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BotChat]:
    with bot_chat(tmp_path_factory.mktemp("fuzz")) as chat:
        yield chat


def assert_nothing_leaked(chat: BotChat, sent: list[Sent], before: int) -> None:
    assert chat.sandbox.request_count == before, "a stranger's update reached amoCRM"
    to_them = [s.text for s in sent if s.chat_id in (STRANGER, GROUP)]
    assert all(text in JOINING for text in to_them), to_them
    # the directors hear of a request (once), and of nothing else
    assert all(s.text.startswith("🙋") for s in sent if s.chat_id not in (STRANGER, GROUP))


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(text=texts, in_group=st.booleans())
def test_a_strangers_messages_get_at_most_the_no_access_line(
    chat: BotChat, text: str, in_group: bool
) -> None:
    before = chat.sandbox.request_count
    if in_group:
        sent = chat.say(STRANGER, text, chat=GROUP, chat_type="group")
    else:
        sent = chat.say(STRANGER, text)
    assert_nothing_leaked(chat, sent, before)


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=callback_data)
def test_a_strangers_button_presses_are_answered_and_refused(chat: BotChat, data: str) -> None:
    before = chat.sandbox.request_count
    answers = len(chat.answers())
    on = Sent("sendMessage", STRANGER, "…", 1, None)
    sent = chat.press(STRANGER, data, on)
    assert_nothing_leaked(chat, sent, before)
    assert len(chat.answers()) == answers + 1  # every callback query is answered


def test_fuzz_module_uses_a_real_sandbox(chat: BotChat) -> None:
    # Guard against a vacuous fuzz: the same bot does reach amoCRM for a known director.
    before = chat.sandbox.request_count
    chat.say(DIRECTOR, "/report")
    assert chat.sandbox.request_count > before


# -- ids in any script: "²" and "①" pass str.isdigit(), "٣" and "１" pass int() -----------------

INTERNAL = "Что-то пошло не так"
digit_soup = st.text(alphabet="0123456789²①٣１#", min_size=1, max_size=12)


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(command=st.sampled_from(["/done", "/lead", "/report", "/subscribe"]), arg=digit_soup)
def test_ids_in_any_script_never_break_a_command(chat: BotChat, command: str, arg: str) -> None:
    sent = chat.say(DIRECTOR, f"{command} {arg}")
    assert sent and not any(s.text.startswith(INTERNAL) for s in sent), [s.text for s in sent]


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(prefix=st.sampled_from(["rm", "mt", "td", "ld"]), ids=st.lists(digit_soup, max_size=2))
def test_ids_in_any_script_never_break_a_button(chat: BotChat, prefix: str, ids: list[str]) -> None:
    on = Sent("sendMessage", DIRECTOR, "…", 1, None)
    sent = chat.press(DIRECTOR, ":".join([VERSION, prefix, *ids]), on)
    told = [chat.answers()[-1].get("text") or "", *(s.text for s in sent)]
    assert not any(text.startswith(INTERNAL) for text in told), told
