"""The people tables: an invite is used once, the first decision on a request wins, the cap
holds, and the last admin stays, also when several connections (processes) race."""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path

import pytest

from leoweb_bot.state import State
from leoweb_bot.state import schema
from leoweb_bot.state.people import Asked
from leoweb_bot.state.people import InviteStatus
from leoweb_bot.state.people import Member
from leoweb_bot.state.people import ask_to_join
from leoweb_bot.state.people import change_member
from leoweb_bot.state.people import create_invite
from leoweb_bot.state.people import decide_request
from leoweb_bot.state.people import member
from leoweb_bot.state.people import members
from leoweb_bot.state.people import open_invites
from leoweb_bot.state.people import open_requests
from leoweb_bot.state.people import redeem_invite
from leoweb_bot.state.people import remove_member
from leoweb_bot.state.people import revoke_invite

NOW, DAY = 1_764_061_500.0, 86400.0
DIRECTOR = 201


@pytest.fixture
def state(tmp_path: Path) -> State:
    return State(tmp_path / "state.sqlite3")


def joiner(telegram_id: int, at: float = NOW) -> Member:
    return Member(telegram_id, "", None, f"Person {telegram_id}", "", at, None)


def at_once(count: int, attempt: Callable[[], object]) -> list[object]:
    """Run ``attempt`` in ``count`` threads released together; their results."""
    start, results = threading.Barrier(count), []

    def run() -> None:
        start.wait()
        results.append(attempt())

    threads = [threading.Thread(target=run) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


def test_an_invite_lets_one_person_in_once(state: State) -> None:
    invite_id = create_invite(state, "h1", "manager", 1387123, DIRECTOR, NOW, NOW + 7 * DAY)
    status, found = redeem_invite(state, "h1", joiner(555, NOW + 60))
    assert status is InviteStatus.OPEN and found is not None and found.id == invite_id
    assert member(state, 555) == Member(555, "manager", 1387123, "Person 555", "", NOW + 60,
                                        DIRECTOR)  # fmt: skip
    assert redeem_invite(state, "h1", joiner(556))[0] is InviteStatus.USED
    assert redeem_invite(state, "nope", joiner(556)) == (InviteStatus.UNKNOWN, None)
    assert member(state, 556) is None and open_invites(state, NOW) == []


def test_an_invite_expires_and_can_be_revoked(state: State) -> None:
    create_invite(state, "late", "director", None, DIRECTOR, NOW, NOW + DAY)
    assert redeem_invite(state, "late", joiner(555, NOW + DAY))[0] is InviteStatus.EXPIRED
    revoked = create_invite(state, "gone", "director", None, DIRECTOR, NOW, NOW + DAY)
    assert revoke_invite(state, revoked, NOW) is True
    assert revoke_invite(state, revoked, NOW) is False
    assert redeem_invite(state, "gone", joiner(555))[0] is InviteStatus.REVOKED
    assert members(state) == []


def test_racing_connections_use_an_invite_once(tmp_path: Path) -> None:
    path = tmp_path / "state.sqlite3"
    create_invite(State(path), "h", "director", None, DIRECTOR, NOW, NOW + DAY)
    ids = iter(range(600, 608))
    results = at_once(8, lambda: redeem_invite(State(path), "h", joiner(next(ids)))[0])
    assert sorted(results) == sorted([InviteStatus.OPEN] + [InviteStatus.USED] * 7)
    assert len(members(State(path))) == 1


def test_racing_connections_decide_a_request_once(tmp_path: Path) -> None:
    path = tmp_path / "state.sqlite3"
    for n in range(10):
        asked, request = ask_to_join(State(path), joiner(700 + n), cap=20, lapse_before=0,
                                     retry_before=0)  # fmt: skip
        assert asked is Asked.OPENED and request is not None
        grant = Member(700 + n, "director", None, "x", "", NOW, DIRECTOR)
        outcomes = at_once(
            4, lambda r=request.id, g=grant: decide_request(State(path), r, g, DIRECTOR, NOW)
        )
        assert outcomes.count(True) == 1
    assert open_requests(State(path)) == []


def test_one_open_request_per_person_and_a_cap_for_everyone(state: State) -> None:
    def ask(telegram_id: int, at: float = NOW) -> Asked:
        return ask_to_join(state, joiner(telegram_id, at), cap=3, lapse_before=at - 7 * DAY,
                           retry_before=at - DAY)[0]  # fmt: skip

    assert [ask(1), ask(1), ask(2), ask(3), ask(4)] == [
        Asked.OPENED, Asked.WAITING, Asked.OPENED, Asked.OPENED, Asked.FULL,
    ]  # fmt: skip
    assert decide_request(state, 1, None, DIRECTOR, NOW) is True
    assert ask(1, NOW + DAY - 1) is Asked.DECLINED  # declined less than a day ago
    assert ask(4) is Asked.OPENED  # the declined one freed a place
    assert ask(1, NOW + DAY + 1) is Asked.FULL
    # eight days on, nobody decided: those requests lapse and no longer hold places
    assert ask(5, NOW + 8 * DAY) is Asked.OPENED
    assert [r.telegram_id for r in open_requests(state)] == [5]


def test_the_last_admin_stays(state: State) -> None:
    admin = Member(1, "admin", None, "A", "", NOW, None)
    second = Member(2, "admin", None, "B", "", NOW, None)
    decide_request(state, *_grant(state, admin))
    assert change_member(state, Member(1, "director", None, "A", "", NOW, None), 0) is False
    assert remove_member(state, 1, config_admins=0) is None
    assert remove_member(state, 1, config_admins=1) == admin  # the config has another admin
    decide_request(state, *_grant(state, admin))
    decide_request(state, *_grant(state, second))
    assert remove_member(state, 1, config_admins=0) == admin
    assert remove_member(state, 2, config_admins=0) is None
    assert remove_member(state, 3, config_admins=0) is None  # not a member at all


def _grant(state: State, who: Member) -> tuple[int, Member, int, float]:
    """A request of ``who``, to be accepted with their role."""
    _, request = ask_to_join(state, joiner(who.telegram_id), cap=99, lapse_before=0,
                             retry_before=0)  # fmt: skip
    assert request is not None
    return request.id, who, DIRECTOR, NOW


def test_an_older_database_gains_the_people_tables(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "state.sqlite3"
    monkeypatch.setattr(schema, "MIGRATIONS", schema.MIGRATIONS[:2])
    old = State(path)
    assert old.schema_version() == 2
    old.write("INSERT INTO kv (key, value) VALUES ('k', 'v')")
    old.close()
    monkeypatch.undo()
    upgraded = State(path)
    assert upgraded.scalar("SELECT value FROM kv WHERE key = 'k'") == "v"
    assert members(upgraded) == [] and open_requests(upgraded) == []
