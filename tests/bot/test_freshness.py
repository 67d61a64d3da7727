"""Screens read from the mirror say how fresh they are, plainly when amoCRM stopped answering;
🔄 syncs before it draws."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from leoweb_bot.bot.codec import IdleLeads
from leoweb_bot.bot.codec import ManagerPage
from leoweb_bot.bot.codec import Refresh
from leoweb_bot.bot.codec import ReportSummary
from leoweb_bot.bot.codec import decode
from leoweb_bot.bot.codec import encode
from leoweb_bot.bot.context import App
from leoweb_bot.state.progress import CYCLE
from leoweb_bot.state.progress import Progress
from leoweb_bot.sync.reader import MirroredClient
from leoweb_bot.telegram.client import Telegram
from tests.kit.botchat import DIRECTOR
from tests.kit.botchat import MANAGER
from tests.kit.botchat import TOKEN
from tests.kit.botchat import ZELIMKHAN
from tests.kit.botchat import BotChat
from tests.kit.botchat import FakeTime
from tests.kit.botchat import final
from tests.kit.botchat import settings_for
from tests.kit.fakebot import FakeBotAPI
from tests.sync.kit import Rig
from tests.sync.kit import open_task_ids
from tests.sync.kit import rig

FRESH = "🕓 данные на 14:05"
REFRESH = encode(Refresh(ReportSummary()))


@dataclass
class Mirrored:
    r: Rig
    chat: BotChat


@pytest.fixture
def mirrored(tmp_path: Path) -> Iterator[Mirrored]:
    """The bot on a mirror bootstrapped at 14:04 and synced at 14:05 (Asia/Almaty)."""
    with rig(tmp_path, tasks=300, managers=8) as r, FakeBotAPI() as fake:
        r.clock.now -= 60
        r.bootstrap()
        r.next_cycle()
        # a 🔄 waits for its cycle: here each wait is a step of the sync's thread
        client = MirroredClient(r.live, r.client.reader, sleep=lambda _: r.sync.step())
        times = FakeTime()
        telegram = Telegram(TOKEN, fake.url, clock=times.clock, sleep=times.sleep)
        settings = settings_for()
        app = App(settings, client, telegram, r.states[0], clock=r.clock)
        yield Mirrored(r, BotChat(app, fake, r.sandbox))


def test_every_screen_says_when_its_data_was_amocrms(mirrored: Mirrored) -> None:
    chat, r = mirrored.chat, mirrored.r
    r.clock.now += 30
    sent = chat.say(DIRECTOR, "/report")
    assert [m.method for m in sent] == ["sendMessage"]  # at once: no "⏳" to edit
    report = final(sent)
    assert report.text.endswith(f"\n\n{FRESH}")
    page = final(chat.press(DIRECTOR, encode(ManagerPage(ZELIMKHAN, 0)), report))
    assert page.text.endswith(FRESH)
    assert final(chat.say(MANAGER, "/mytasks")).text.endswith(FRESH)
    assert final(chat.say(DIRECTOR, "/funnel")).text.endswith(FRESH)
    lead = next(iter(r.live.iter_leads()))
    assert final(chat.say(DIRECTOR, f"/lead {lead.id}")).text.endswith(FRESH)


def test_when_amocrm_stops_answering_the_screen_says_since_when(mirrored: Mirrored) -> None:
    chat, r = mirrored.chat, mirrored.r
    before = final(chat.say(DIRECTOR, "/report")).text
    Progress(r.states[0]).failed(CYCLE, r.clock() + 60, "Unavailable: amoCRM answered 503")
    r.clock.now += 181
    stale = final(chat.say(DIRECTOR, "/report")).text
    assert stale.endswith("⚠️ amoCRM не отвечает с 14:06, данные на 14:05")
    # the same numbers, never other ones
    assert stale.split("\n\n")[1] == before.split("\n\n")[1]


def test_refresh_syncs_before_drawing_paging_does_not(mirrored: Mirrored) -> None:
    chat, r = mirrored.chat, mirrored.r
    report = final(chat.say(DIRECTOR, "/report"))
    assert ("🔄 Обновить", REFRESH) in report.buttons
    (task_id,) = open_task_ids(r.sandbox, 1, overdue=True)
    r.clock.now += 15
    r.sandbox.ui.complete_task(task_id)

    before = r.sandbox.request_count
    page = final(chat.press(DIRECTOR, encode(ManagerPage(ZELIMKHAN, 0)), report))
    assert r.sandbox.request_count == before  # a screen costs amoCRM nothing
    refreshed = final(chat.press(DIRECTOR, REFRESH, page))
    assert r.sandbox.request_count == before + 3  # one cycle
    assert refreshed.text.endswith("🕓 данные на 14:05")
    assert f"#{task_id}" not in refreshed.text
    assert r.mirrored() == r.truth()


def test_screens_from_the_mirror_are_the_live_ones_and_cost_amocrm_next_to_nothing(
    mirrored: Mirrored,
) -> None:
    """The same screens drawn from the mirror's SQL and from amoCRM live: equal but for the
    freshness line; the second page, /funnel, /team and its leads without a task included."""
    chat, r = mirrored.chat, mirrored.r
    app = chat.app
    live = BotChat(
        App(app.settings, r.live, app.telegram, app.state, clock=r.clock), chat.fake, r.sandbox
    )

    def screens(bot: BotChat) -> list[str]:
        report = final(bot.say(DIRECTOR, "/report"))
        most = next(b for _, d in report.buttons if isinstance(b := decode(d), ManagerPage))
        page = final(bot.press(DIRECTOR, encode(ManagerPage(most.user, 1)), report))
        texts = [report.text, page.text, final(bot.say(MANAGER, "/mytasks")).text]
        team = final(bot.say(DIRECTOR, "/team"))
        lone = next(d for _, d in team.buttons if isinstance(decode(d), IdleLeads))
        idle = final(bot.press(DIRECTOR, lone, team))
        return [*texts, final(bot.say(DIRECTOR, "/funnel")).text, team.text, idle.text]

    before = r.sandbox.request_count
    mirror = screens(chat)
    assert r.sandbox.request_count == before + 1  # /team asks who closed what today
    assert "Стр. 2 из" in mirror[1]
    assert all(text.endswith(f"\n\n{FRESH}") for text in mirror)
    assert [text.removesuffix(f"\n\n{FRESH}") for text in mirror] == screens(live)
