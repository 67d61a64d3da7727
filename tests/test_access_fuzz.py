"""Fuzz: whatever a stranger sends or presses, amoCRM is not asked and nothing leaks to them."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from hypothesis import HealthCheck
from hypothesis import given
from hypothesis import settings
from hypothesis import strategies as st

from tests.botchat import GROUP
from tests.botchat import STRANGER
from tests.botchat import BotChat
from tests.botchat import Sent
from tests.botchat import bot_chat

NO_ACCESS = "⛔ Нет доступа. Ваш Telegram id: <code>999</code> — отправьте его администратору бота."

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
    ]
)
texts = st.one_of(
    st.text(max_size=60),
    st.builds(lambda c, a: f"{c} {a}", commands, st.text(max_size=30)),
)
callback_data = st.one_of(
    st.text(max_size=64),
    st.builds(
        lambda p, n: f"{p}:{n}",
        st.sampled_from(["rm", "mt", "td", "ld", "rr"]),
        st.integers(-10, 10**10),
    ),
    st.builds(lambda n, p: f"rm:{n}:{p}", st.integers(0, 10**8), st.integers(-5, 50)),
)


@pytest.fixture(scope="module")
def chat(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BotChat]:
    with bot_chat(tmp_path_factory.mktemp("fuzz")) as chat:
        yield chat


def assert_nothing_leaked(chat: BotChat, sent: list[Sent], before: int) -> None:
    assert chat.sandbox.request_count == before, "a stranger's update reached amoCRM"
    assert all(s.text == NO_ACCESS for s in sent), [s.text for s in sent]


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
    from tests.botchat import DIRECTOR

    before = chat.sandbox.request_count
    chat.say(DIRECTOR, "/report")
    assert chat.sandbox.request_count > before
