"""Button data: every button reads back as itself, fits 64 bytes, and old data is outdated."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from leoweb_bot.bot.codec import VERSION
from leoweb_bot.bot.codec import AskClose
from leoweb_bot.bot.codec import Button
from leoweb_bot.bot.codec import CancelClose
from leoweb_bot.bot.codec import Close
from leoweb_bot.bot.codec import CloseWithResult
from leoweb_bot.bot.codec import IdleLeads
from leoweb_bot.bot.codec import LeadCard
from leoweb_bot.bot.codec import LeadRefresh
from leoweb_bot.bot.codec import ManagerPage
from leoweb_bot.bot.codec import MyTasksPage
from leoweb_bot.bot.codec import Outdated
from leoweb_bot.bot.codec import OverdueChart
from leoweb_bot.bot.codec import ReportSummary
from leoweb_bot.bot.codec import TeamCard
from leoweb_bot.bot.codec import TrendChart
from leoweb_bot.bot.codec import decode
from leoweb_bot.bot.codec import encode

BIGGEST = 10**18 - 1  # ids are up to 18 digits (leoweb_bot.ids)
ids = st.integers(0, BIGGEST)
pages = st.integers(0, 9999)
task_lists = st.one_of(
    st.builds(ManagerPage, ids, pages),
    st.builds(MyTasksPage, ids, pages),
    st.builds(LeadRefresh, ids),
)
backs = st.none() | task_lists
buttons = st.one_of(
    st.just(ReportSummary()),
    task_lists,
    st.builds(LeadCard, ids),
    st.builds(AskClose, ids, backs),
    st.builds(Close, ids, backs),
    st.builds(CloseWithResult, ids, backs),
    st.builds(CancelClose, backs),
    st.sampled_from([OverdueChart(), TrendChart(), TeamCard()]),
    st.builds(IdleLeads, ids),
)


@given(buttons)
def test_every_button_reads_back_as_itself_within_64_bytes(button: Button) -> None:
    data = encode(button)
    assert decode(data) == button
    assert len(data.encode()) <= 64 and data.startswith(f"{VERSION}:")


@pytest.mark.parametrize(
    ("button", "data"),
    [
        (ReportSummary(), "v1:rr"),
        (ManagerPage(1387123, 2), "v1:rm:1387123:2"),
        (AskClose(5000123), "v1:td:5000123"),
        (Close(5000123, ManagerPage(1387123, 0)), "v1:tc:5000123:rm:1387123:0"),
        (CancelClose(LeadRefresh(21000001)), "v1:tx:lr:21000001"),
        (OverdueChart(), "v1:ch"),
        (TrendChart(), "v1:ct"),
        (TeamCard(), "v1:tm"),
        (IdleLeads(1387123), "v1:il:1387123"),
    ],
)
def test_the_layout(button: Button, data: str) -> None:
    assert encode(button) == data


def test_the_longest_button_has_room_to_spare() -> None:
    longest = encode(CloseWithResult(BIGGEST, MyTasksPage(BIGGEST, 9999)))
    assert len(longest.encode()) == 51


def test_a_button_that_would_not_fit_is_a_bug_caught_when_it_is_made() -> None:
    with pytest.raises(ValueError, match="over 64 bytes"):
        encode(CloseWithResult(10**30, ManagerPage(10**30, 0)))


@pytest.mark.parametrize(
    "data",
    [
        "rr",  # the last release wrote no version
        "rm:1387123:0",
        "td:5000123:mt:1387123:0",
        "v0:rr",
        "v1:tx:ld:1",  # a lead card is not a list to go back to
        "v1:td:5000123:rr",
        "v1:rm:1387123",
        "v1:rm:1387123:0:0",
        "v1:rm:-1:0",
        "v1:rm:1e3:0",
        "v1:ld:" + "9" * 19,
    ],
)
def test_data_this_version_did_not_write_is_outdated(data: str) -> None:
    with pytest.raises(Outdated):
        decode(data)
