"""Daily digests: exactly once per chat per local day, across processes, restarts and DST."""

from __future__ import annotations

import datetime
from collections.abc import Iterator
from pathlib import Path

import pytest
import pytz

from leoweb_bot.bot.codec import ManagerPage
from leoweb_bot.bot.codec import Refresh
from leoweb_bot.bot.codec import ReportSummary
from leoweb_bot.bot.codec import decode
from leoweb_bot.bot.codec import encode
from leoweb_bot.proactive import digest
from leoweb_bot.proactive.digest import due_at
from leoweb_bot.proactive.digest import next_digest
from leoweb_bot.proactive.scheduler import Job
from leoweb_bot.proactive.scheduler import Scheduler
from leoweb_bot.state.digests import Subscription
from leoweb_bot.state.digests import save_subscription
from leoweb_bot.values import parse_time
from tests.kit.proactive import DIRECTOR
from tests.kit.proactive import GROUP
from tests.kit.proactive import MANAGER
from tests.kit.proactive import Rig
from tests.kit.proactive import at
from tests.kit.proactive import rig
from tests.kit.proactive import utc

BERLIN = pytz.timezone("Europe/Berlin")
ALMATY = pytz.timezone("Asia/Almaty")
TITLE = "☀️ <b>Ежедневная сводка</b>"
LATE = "⏰ С опозданием"
# Wednesday 25.11.2026, 08:00 in Almaty.
WEDNESDAY_8 = at("Asia/Almaty", 2026, 11, 25, 8, 0)


def digest_only(r: Rig, owner: str) -> Scheduler:
    """A scheduler with just the digest job: these tests count digests, nothing else."""
    return r.scheduler(owner, jobs=[Job("digests", 0, digest.send_due_digests)])


def digests(r: Rig, chat_id: int | None = None) -> list[str]:
    return [m.text for m in r.sent(chat_id) if m.text.startswith(TITLE)]


def subscribe(r: Rig, chat_id: int, user: int, hhmm: str = "09:00", since: int = 0) -> None:
    save_subscription(r.app().state, chat_id, user, hhmm, since)


@pytest.fixture
def almaty(tmp_path: Path) -> Iterator[Rig]:
    with rig(tmp_path, WEDNESDAY_8) as r:
        subscribe(r, DIRECTOR, DIRECTOR)
        subscribe(r, GROUP, DIRECTOR)
        subscribe(r, MANAGER, MANAGER)
        yield r


# -- pure time ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "parsed"),
    [
        ("9:00", "09:00"),
        ("09:30", "09:30"),
        ("7.05", "07:05"),
        ("23:59", "23:59"),
        ("24:00", None),
        ("9", None),
        ("09:60", None),
        ("", None),
        ("noon", None),
    ],
)
def test_parse_time(text: str, parsed: str | None) -> None:
    assert parse_time(text) == parsed


def test_due_at_follows_berlin_offsets_on_change_days() -> None:
    assert due_at(datetime.date(2026, 3, 28), "09:00", BERLIN) == utc(2026, 3, 28, 8, 0)  # CET
    assert due_at(datetime.date(2026, 3, 29), "09:00", BERLIN) == utc(2026, 3, 29, 7, 0)  # CEST
    assert due_at(datetime.date(2026, 10, 25), "09:00", BERLIN) == utc(2026, 10, 25, 8, 0)
    # 02:30 does not exist on 29.03: read with the offset before the jump (03:30 CEST).
    assert due_at(datetime.date(2026, 3, 29), "02:30", BERLIN) == utc(2026, 3, 29, 1, 30)
    # 02:30 happens twice on 25.10: the first one (CEST).
    assert due_at(datetime.date(2026, 10, 25), "02:30", BERLIN) == utc(2026, 10, 25, 0, 30)


def test_due_at_knows_almaty_moved_to_utc_plus_5() -> None:
    assert due_at(datetime.date(2024, 2, 29), "09:00", ALMATY) == utc(2024, 2, 29, 3, 0)
    assert due_at(datetime.date(2024, 3, 1), "09:00", ALMATY) == utc(2024, 3, 1, 4, 0)


def test_next_digest_skips_the_weekend_and_a_time_already_past() -> None:
    friday_10 = at("Asia/Almaty", 2026, 11, 27, 10, 0)
    sub = Subscription(1, 1, "09:00", friday_10)
    monday_9 = at("Asia/Almaty", 2026, 11, 30, 9, 0)
    assert next_digest(sub, friday_10, ALMATY, weekdays_only=True) == monday_9
    saturday_9 = at("Asia/Almaty", 2026, 11, 28, 9, 0)
    assert next_digest(sub, friday_10, ALMATY, weekdays_only=False) == saturday_9


# -- exactly once ---------------------------------------------------------------------------------


def test_two_schedulers_on_one_db_send_each_chat_one_digest_a_day(almaty: Rig) -> None:
    a, b = digest_only(almaty, "host:1"), digest_only(almaty, "host:2")
    for minutes in (0, 30, 59, 60, 60, 61, 75, 120, 600, 900):
        for scheduler in (a, b, b, a):
            scheduler.tick(WEDNESDAY_8 + minutes * 60)
    assert len(digests(almaty)) == 3
    assert [len(digests(almaty, chat)) for chat in (DIRECTOR, GROUP, MANAGER)] == [1, 1, 1]
    a.tick(WEDNESDAY_8 + 86400 + 3600)  # Thursday 09:00
    b.tick(WEDNESDAY_8 + 86400 + 3600)
    assert len(digests(almaty)) == 6


def test_director_gets_the_summary_with_buttons_and_a_manager_their_own_list(almaty: Rig) -> None:
    digest_only(almaty, "a").tick(WEDNESDAY_8 + 3600)
    director = next(m for m in almaty.sent(DIRECTOR) if m.text.startswith(TITLE))
    assert "<b>Просроченные задачи</b> на 25.11.2026 09:00 (Asia/Almaty)" in director.text
    assert ("🔄 Обновить", encode(Refresh(ReportSummary()))) in director.buttons
    assert any(isinstance(decode(data), ManagerPage) for _, data in director.buttons)
    manager = next(m for m in almaty.sent(MANAGER) if m.text.startswith(TITLE))
    assert "<b>Зелимхан</b> — просрочено" in manager.text
    assert LATE not in director.text + manager.text


def test_a_directors_digest_brings_the_chart_once_drawn_and_a_managers_does_not(
    almaty: Rig,
) -> None:
    digest_only(almaty, "a").tick(WEDNESDAY_8 + 3600)
    digest_only(almaty, "b").tick(WEDNESDAY_8 + 3660)
    photos = almaty.fake.photos()
    assert sorted(p.chat_id for p in photos) == sorted([DIRECTOR, GROUP])  # not the manager
    assert len({p.png for p in photos}) == 1  # one report, one drawing for every director's chat
    for chat in (DIRECTOR, GROUP):
        assert [m.method for m in almaty.fake.sent(chat)] == ["sendMessage", "sendPhoto"]
    assert photos[0].caption.startswith("Просрочено задач: ")
    assert photos[0].caption.endswith("\nна 25.11.2026 09:00 (Asia/Almaty)")


def test_without_the_chart_the_digest_comes_alone(tmp_path: Path) -> None:
    with rig(tmp_path, WEDNESDAY_8, digest={"chart": False}) as off:
        subscribe(off, DIRECTOR, DIRECTOR)
        digest_only(off, "a").tick(WEDNESDAY_8 + 3600)
        assert len(digests(off, DIRECTOR)) == 1 and off.fake.photos() == []


@pytest.mark.parametrize(
    ("restart_at", "expected_late"),
    [(-60, False), (0, False), (5, False), (180, True)],  # minutes from 09:00
)
def test_restart_before_at_and_after_the_time(
    almaty: Rig, restart_at: int, expected_late: bool
) -> None:
    first = digest_only(almaty, "host:1")
    first.tick(WEDNESDAY_8 + 30 * 60)  # 08:30: nothing yet
    assert digests(almaty) == []
    restarted = digest_only(almaty, "host:2")  # a new process, same db file
    moment = WEDNESDAY_8 + 3600 + restart_at * 60
    restarted.tick(moment)
    expected = 0 if restart_at < 0 else 3
    assert len(digests(almaty)) == expected
    if expected:
        assert all((LATE in text) == expected_late for text in digests(almaty))
    again = digest_only(almaty, "host:3")
    for minutes in (restart_at + 1, restart_at + 120, 14 * 60):
        again.tick(WEDNESDAY_8 + 3600 + minutes * 60)
    assert len(digests(almaty)) == 3


def test_downtime_through_the_time_sends_late_the_same_day_and_never_the_next(
    almaty: Rig,
) -> None:
    digest_only(almaty, "before").tick(WEDNESDAY_8)
    # Down from 08:00 Wednesday to 10:00 Thursday: Wednesday's digest is gone for good.
    back = digest_only(almaty, "after")
    back.tick(WEDNESDAY_8 + 26 * 3600)
    texts = digests(almaty)
    assert len(texts) == 3
    assert all(LATE in text and "в 09:00 бот был недоступен" in text for text in texts)
    assert all("на 26.11.2026 10:00" in text for text in texts)
    back.tick(WEDNESDAY_8 + 26 * 3600 + 60)
    back.tick(WEDNESDAY_8 + 49 * 3600)  # Friday 09:00: on time again
    assert len(digests(almaty)) == 6
    assert sum(LATE in text for text in digests(almaty)) == 3


def test_weekends_are_skipped_unless_every_day_is_asked_for(tmp_path: Path) -> None:
    friday_8 = at("Asia/Almaty", 2026, 11, 27, 8, 0)
    for weekdays_only, expected in ((True, 2), (False, 4)):
        folder = tmp_path / str(weekdays_only)
        folder.mkdir()
        with rig(folder, friday_8, digest={"weekdays_only": weekdays_only}) as r:
            subscribe(r, DIRECTOR, DIRECTOR)
            scheduler = digest_only(r, "a")
            for day in range(4):  # Friday to Monday, 09:00 and 18:00
                scheduler.tick(friday_8 + day * 86400 + 3600)
                scheduler.tick(friday_8 + day * 86400 + 10 * 3600)
            assert len(digests(r)) == expected


def test_a_subscription_made_after_todays_time_starts_tomorrow(almaty: Rig) -> None:
    subscribe(almaty, -42, DIRECTOR, "09:00", since=WEDNESDAY_8 + 5 * 3600)
    scheduler = digest_only(almaty, "a")
    scheduler.tick(WEDNESDAY_8 + 6 * 3600)
    assert digests(almaty, -42) == []
    scheduler.tick(WEDNESDAY_8 + 25 * 3600)
    assert len(digests(almaty, -42)) == 1


def test_a_subscriber_who_lost_access_gets_nothing(almaty: Rig) -> None:
    subscribe(almaty, -43, 777)  # not in [access]
    digest_only(almaty, "a").tick(WEDNESDAY_8 + 3600)
    assert digests(almaty, -43) == []


def test_amocrm_failing_at_the_time_is_retried_later_and_marked_late(almaty: Rig) -> None:
    scheduler = digest_only(almaty, "a")
    almaty.sandbox.inject(402)  # the first chat's report fails; the round stops there
    scheduler.tick(WEDNESDAY_8 + 3600)
    assert digests(almaty) == []
    scheduler.tick(WEDNESDAY_8 + 3600 + 60)  # the others go; the failed one waits 5 minutes
    assert [m.chat_id for m in almaty.sent() if m.text.startswith(TITLE)] == [DIRECTOR, MANAGER]
    scheduler.tick(WEDNESDAY_8 + 3600 + 20 * 60)
    assert len(digests(almaty, GROUP)) == 1
    assert LATE in digests(almaty, GROUP)[0]
    scheduler.tick(WEDNESDAY_8 + 3600 + 40 * 60)
    assert len(digests(almaty)) == 3


# -- company time --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("day", "hhmm", "due"),
    [
        ((2026, 3, 28), "09:00", utc(2026, 3, 28, 8, 0)),  # Saturday, still CET
        ((2026, 3, 29), "09:00", utc(2026, 3, 29, 7, 0)),  # the spring change: CEST
        ((2026, 3, 29), "02:30", utc(2026, 3, 29, 1, 30)),  # inside the skipped hour
        ((2026, 10, 25), "09:00", utc(2026, 10, 25, 8, 0)),  # the autumn change: CET again
        ((2026, 10, 25), "02:30", utc(2026, 10, 25, 0, 30)),  # 02:30 comes twice
    ],
)
def test_berlin_change_days_send_once_at_the_local_time(
    tmp_path: Path, day: tuple[int, int, int], hhmm: str, due: int
) -> None:
    start = due - 6 * 3600
    with rig(tmp_path, start, tz="Europe/Berlin", digest={"weekdays_only": False}) as r:
        subscribe(r, DIRECTOR, DIRECTOR, hhmm)
        scheduler = digest_only(r, "a")
        scheduler.tick(due - 1)
        assert digests(r) == []
        scheduler.tick(due)
        assert len(digests(r)) == 1
        assert LATE not in digests(r)[0]
        for later in (1800, 3600, 3600 + 1800, 7200, 12 * 3600):  # the repeated hour included
            digest_only(r, "b").tick(due + later)
        assert len(digests(r)) == 1
        local_day = datetime.datetime.fromtimestamp(due, BERLIN).date()
        assert local_day == datetime.date(*day)


def test_almaty_digest_follows_the_2024_move_to_utc_plus_5(tmp_path: Path) -> None:
    thursday = at("Asia/Almaty", 2024, 2, 29, 8, 0)
    with rig(tmp_path, thursday) as r:
        subscribe(r, DIRECTOR, DIRECTOR)
        scheduler = digest_only(r, "a")
        scheduler.tick(utc(2024, 2, 29, 3, 0))  # 09:00 at UTC+6
        assert len(digests(r)) == 1
        scheduler.tick(utc(2024, 3, 1, 3, 30))  # 08:30 at UTC+5: not yet
        assert len(digests(r)) == 1
        scheduler.tick(utc(2024, 3, 1, 4, 0))  # 09:00 at UTC+5
        assert len(digests(r)) == 2
        assert "на 01.03.2024 09:00 (Asia/Almaty)" in digests(r)[1]
