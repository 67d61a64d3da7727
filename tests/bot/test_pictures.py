"""/chart, /chart trend and 📊 through the real stack: the bars are the report's, the trend is the
recorded history plus today, a manager sees only their own, and a failed picture is text."""

from __future__ import annotations

import datetime
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from leoweb_bot.access import who
from leoweb_bot.bot.codec import OverdueChart
from leoweb_bot.bot.codec import Refresh
from leoweb_bot.bot.codec import ReportSummary
from leoweb_bot.bot.codec import TrendChart
from leoweb_bot.bot.codec import encode
from leoweb_bot.bot.pictures import trend_history
from leoweb_bot.bot.screens import overdue_report
from leoweb_bot.charts import bars_data
from leoweb_bot.charts import trend_data
from leoweb_bot.charts.bars import bars_size
from leoweb_bot.charts.trend import SIZE
from leoweb_bot.state.snapshots import record_day
from tests.charts.picture import pixels
from tests.charts.picture import png_size
from tests.charts.picture import red_bars
from tests.kit.botchat import ALMATY
from tests.kit.botchat import DIRECTOR
from tests.kit.botchat import MANAGER
from tests.kit.botchat import MILANA
from tests.kit.botchat import NOW
from tests.kit.botchat import ZELIMKHAN
from tests.kit.botchat import BotChat
from tests.kit.botchat import bot_chat
from tests.kit.botchat import overdue_in
from tests.kit.commandkit import AS_OF

TODAY = datetime.date(2026, 11, 25)
DRAWING = "⏳ Читаю amoCRM и рисую…"


@pytest.fixture
def chat(tmp_path: Path) -> Iterator[BotChat]:
    with bot_chat(tmp_path) as chat:
        yield chat


def record_history(chat: BotChat, days: int) -> None:
    """``days`` recorded days before today: Зелимхан had ``n % 5`` overdue ``n`` days ago."""
    for n in range(1, days + 1):
        rows = [(ZELIMKHAN, "Зелимхан", n % 5, 1, 1), (MILANA, "Милана", 7, 0, 2)]
        record_day(chat.state, TODAY - datetime.timedelta(days=n), rows, NOW)


def test_chart_draws_the_reports_numbers_as_bars_and_replaces_the_placeholder(
    chat: BotChat,
) -> None:
    placeholder, photo = chat.say(DIRECTOR, "/chart")
    assert (placeholder.method, placeholder.text) == ("sendMessage", DRAWING)
    assert photo.method == "sendPhoto" and photo.buttons == [
        ("📈 За 8 недель", encode(TrendChart()))
    ]
    assert chat.fake.calls("deleteMessage") == [
        ("deleteMessage", {"chat_id": str(DIRECTOR), "message_id": str(placeholder.message_id)})
    ]
    # The data the picture is drawn from is the sandbox's overdue tasks, per manager.
    truth = Counter(task.responsible_user_id for task in overdue_in(chat.sandbox))
    data = bars_data(overdue_report(chat.app, chat.app.client.users()))
    assert sorted(bar.overdue for bar in data.bars) == sorted(truth.values())
    assert [bar.overdue for bar in data.bars] == sorted(truth.values(), reverse=True)
    assert photo.text == f"Просрочено задач: {sum(truth.values())}\n{AS_OF}"
    # ...and the same as /report's summary, name for name.
    report = chat.say(DIRECTOR, "/report")[-1]
    listed = [label for label, data_ in report.buttons if data_.startswith("v1:rm:")]
    assert listed == [f"{bar.name} ({bar.overdue})" for bar in data.bars]
    # The picture itself: a PNG of the promised size with one red bar per manager.
    [png] = [p.png for p in chat.fake.photos(DIRECTOR)]
    size = bars_size(data)
    assert png_size(png) == (size.width, size.height) and pixels(png).shape[:2] == (
        size.height,
        size.width,
    )
    lengths = red_bars(png)
    assert len(lengths) == len(data.bars)
    longest = data.bars[0].overdue
    for bar, length in zip(data.bars, lengths, strict=True):  # give or take antialiasing
        assert abs(length - lengths[0] * bar.overdue / longest) <= 3


def test_the_report_summary_has_a_chart_button_that_sends_it_below(chat: BotChat) -> None:
    report = chat.say(DIRECTOR, "/report")[-1]
    assert (("📊 График", encode(OverdueChart())) in report.buttons) and (
        ("🔄 Обновить", encode(Refresh(ReportSummary()))) in report.buttons
    )
    [photo] = chat.press(DIRECTOR, encode(OverdueChart()), report)  # the report stays as it was
    assert photo.method == "sendPhoto" and photo.text.startswith("Просрочено задач:")
    assert chat.answers()[-1]["text"] == "📊 Рисую…"
    [trend] = chat.press(DIRECTOR, encode(TrendChart()), photo)
    assert trend.text == f"📈 <b>Просроченные задачи за 8 недель</b>\n{AS_OF}"
    assert trend.buttons == [("📊 Сейчас", encode(OverdueChart()))]


@pytest.mark.parametrize(("days", "shown", "short"), [(0, 1, True), (1, 2, True), (60, 56, False)])
def test_the_trend_is_the_recorded_days_and_today(
    chat: BotChat, days: int, shown: int, short: bool
) -> None:
    record_history(chat, days)
    *_, photo = chat.say(DIRECTOR, "/chart trend")
    assert photo.method == "sendPhoto"
    assert png_size(chat.fake.photos()[-1].png) == (SIZE.width, SIZE.height)
    users = chat.app.client.users()
    history = trend_history(chat.app, overdue_report(chat.app, users), users, None)
    data = trend_data(history, NOW, ALMATY)
    assert data.recorded_days == shown and data.is_short is short
    now = Counter(task.responsible_user_id for task in overdue_in(chat.sandbox))
    assert data.total[-1] == sum(now.values())  # today is taken now, not made up
    if days:
        assert data.total[-2] == (1 % 5) + 7  # yesterday as recorded
        assert data.first_day == TODAY - datetime.timedelta(days=days)
    assert data.total[: 56 - shown] == (None,) * (56 - shown)  # before the history: nothing


def test_a_manager_charts_only_their_own_history(chat: BotChat) -> None:
    record_history(chat, 10)
    for text in ("/chart", "/chart trend"):
        *_, photo = chat.say(MANAGER, text)
        assert photo.text == f"📈 <b>Ваши просроченные задачи за 8 недель</b>\n{AS_OF}"
        assert photo.buttons == []
    for text in ("/chart Милана", f"/chart {MILANA}", "/chart trend Милана"):
        assert [m.text for m in chat.say(MANAGER, text)] == [
            "Вам доступен только ваш график: /chart"
        ]
    # A forged 📊 still draws the presser's own history, never everyone's bars.
    report = chat.say(MANAGER, "/report")[-1]
    [photo] = chat.press(MANAGER, encode(OverdueChart()), report)
    assert photo.text.startswith("📈 <b>Ваши")
    assert len(chat.fake.photos(MANAGER)) == 3
    person = who(chat.app.settings.access, MANAGER)
    users = chat.app.client.users()
    own = overdue_report(chat.app, users, person.amocrm_user_id)
    history = trend_history(chat.app, own, users, person.amocrm_user_id)
    assert {snap.amocrm_user_id for snap in history} == {ZELIMKHAN}
    data = trend_data(history, NOW, ALMATY)
    assert [series.amocrm_user_id for series in data.top] == [ZELIMKHAN]


def test_a_picture_that_cannot_be_sent_becomes_the_report_with_an_apology(chat: BotChat) -> None:
    chat.fake.fail_next("sendPhoto", 400, {"ok": False, "error_code": 400,
                                           "description": "Bad Request: PHOTO_INVALID_DIMENSIONS"})  # fmt: skip
    placeholder, answer = chat.say(DIRECTOR, "/chart")
    assert answer.method == "editMessageText" and answer.message_id == placeholder.message_id
    apology, _, title = answer.text.partition("\n")
    assert apology == "⚠️ Картинка не получилась, простите — вот то же текстом."
    assert title.startswith("<b>Просроченные задачи</b>")
    assert ("📊 График", encode(OverdueChart())) in answer.buttons
    assert chat.fake.photos() == [] and chat.fake.calls("deleteMessage") == []
