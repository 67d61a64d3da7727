"""/team through the real stack: every number equals what the sandbox holds, after people changed
things in amoCRM; each manager opens their overdue list, each number of leads without a task
opens those leads; the text table lines up on a phone; /team chart is the same table drawn."""

from __future__ import annotations

import datetime
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
import pytz

from leoweb_bot.amocrm.models import Task
from leoweb_bot.bot.codec import IdleLeads
from leoweb_bot.bot.codec import ManagerPage
from leoweb_bot.bot.codec import TeamCard
from leoweb_bot.bot.codec import encode
from leoweb_bot.bot.team import fit
from leoweb_bot.bot.team import read_scorecard
from leoweb_bot.bot.team import scorecard_text
from leoweb_bot.charts import scorecard_data
from leoweb_bot.charts.scorecard import LIMIT
from leoweb_bot.charts.scorecard import table_size
from leoweb_bot.reports import ScoreRow
from leoweb_bot.reports import is_overdue
from leoweb_bot.reports import local_midnight
from leoweb_bot.sandbox import Sandbox
from tests.charts.picture import png_size
from tests.kit.botchat import ALMATY
from tests.kit.botchat import DIRECTOR
from tests.kit.botchat import MANAGER
from tests.kit.botchat import MILANA
from tests.kit.botchat import NOW
from tests.kit.botchat import ZELIMKHAN
from tests.kit.botchat import BotChat
from tests.kit.botchat import bot_chat
from tests.kit.botchat import final

TZ = pytz.timezone("Asia/Almaty")
TODAY = datetime.date(2026, 11, 25)
ROWS = [
    ScoreRow(1, "Зелимхан", overdue=3, due_today=1, closed_today=2, idle_leads=0),
    ScoreRow(2, "Милана", overdue=7, due_today=0, closed_today=5, idle_leads=4),
    ScoreRow(3, "Анна", overdue=3, due_today=2, closed_today=0, idle_leads=6),
    ScoreRow(4, "<b>Боб & Co</b>", overdue=0, due_today=0, closed_today=0, idle_leads=0),
]


@pytest.fixture
def chat(tmp_path: Path) -> Iterator[BotChat]:
    with bot_chat(tmp_path) as chat:
        yield chat


# -- ground truth, from the sandbox's own rows ------------------------------------------------


def idle_in(sandbox: Sandbox) -> dict[int, list[int]]:
    """Open leads (not won 142 or lost 143) without an open task, per manager."""
    followed = {
        t["entity_id"] for t in sandbox.data.tasks
        if not t["is_completed"] and t["entity_type"] == "leads"
    }  # fmt: skip
    idle: dict[int, list[int]] = {}
    for lead in sandbox.data.leads:
        if lead["status_id"] not in (142, 143) and lead["id"] not in followed:
            idle.setdefault(lead["responsible_user_id"], []).append(lead["id"])
    return idle


def truth(sandbox: Sandbox) -> dict[int, tuple[int, int, int, int]]:
    """(overdue, due today, closed today, idle leads) of everyone with a number."""
    today = local_midnight(TODAY, ALMATY)
    tonight = local_midnight(TODAY + datetime.timedelta(days=1), ALMATY)
    counts: dict[int, list[int]] = {}
    for raw in sandbox.data.tasks:
        row = counts.setdefault(raw["responsible_user_id"], [0, 0, 0, 0])
        if raw["is_completed"]:
            row[2] += raw["updated_at"] >= today
        elif is_overdue(Task.from_v4(raw), NOW, ALMATY):
            row[0] += 1
        elif raw["complete_till"] is not None and raw["complete_till"] < tonight:
            row[1] += 1
    for uid, leads in idle_in(sandbox).items():
        counts.setdefault(uid, [0, 0, 0, 0])[3] = len(leads)
    return {uid: (a, b, c, d) for uid, (a, b, c, d) in counts.items() if a + b + c + d}


def shown(text: str, sandbox: Sandbox) -> dict[int, tuple[int, int, int, int]]:
    """The table of a /team answer, by amoCRM id: the numbers of everyone with any."""
    ids = {u["name"]: u["id"] for u in sandbox.data.users}
    table = re.search(r"<pre>(.*)</pre>", text, re.S)
    assert table, text
    rows = {}
    for line in table.group(1).split("\n")[1:-1]:  # the heads and the totals aside
        *name, a, b, c, d = line.split()
        numbers = (int(a), int(b), int(c), int(d))
        who = " ".join(name)
        rows[ids[who] if who in ids else int(who.lstrip("#"))] = numbers
    return {uid: numbers for uid, numbers in rows.items() if any(numbers)}


def change_amocrm(sandbox: Sandbox) -> None:
    """What people did in amoCRM's web UI this morning, before the director asked."""
    ui, tasks = sandbox.ui, sandbox.data.tasks
    late = [t["id"] for t in tasks if is_overdue(Task.from_v4(t), NOW, ALMATY)]
    ui.complete_task(late[0], "Перезвонил", by=ZELIMKHAN)  # closed today
    ui.delete_task(late[1])  # gone from every list
    ui.move_deadline(late[2], NOW + 86_400 * 3)  # no longer overdue
    ui.reassign_task(late[3], MILANA)
    forgotten = ui.add_lead("Курсы английского — Алия С.", ZELIMKHAN)  # no task: idle
    idle = [i for ids in idle_in(sandbox).values() for i in ids if i != forgotten["id"]]
    ui.add_task("Позвонить", NOW + 3600, MILANA, entity_type="leads", entity_id=idle[0])
    ui.close_lead(idle[1], won=True)  # a closed lead needs no next task
    ui.add_task("Встреча", at_today(18), ZELIMKHAN)  # due today


def at_today(hour: int) -> int:
    return int(TZ.localize(datetime.datetime(2026, 11, 25, hour)).timestamp())


# -- /team ---------------------------------------------------------------------------------------


def test_every_number_equals_the_sandbox_after_changes_in_amocrm(chat: BotChat) -> None:
    before = truth(chat.sandbox)
    change_amocrm(chat.sandbox)
    after = truth(chat.sandbox)
    assert after != before
    answer = final(chat.say(DIRECTOR, "/team"))
    assert shown(answer.text, chat.sandbox) == after
    assert all(sum(column) for column in zip(*after.values(), strict=True))  # no column is blank
    totals = re.search(r"\nИтого +(\d+) +(\d+) +(\d+) +(\d+)", answer.text)
    assert totals and tuple(map(int, totals.groups())) == tuple(
        sum(column) for column in zip(*after.values(), strict=True)
    )


def test_a_manager_opens_their_overdue_list_and_a_number_opens_those_leads(chat: BotChat) -> None:
    answer = final(chat.say(DIRECTOR, "/team"))
    idle = idle_in(chat.sandbox)
    manager = max(idle, key=lambda uid: len(idle[uid]))
    name = next(u["name"] for u in chat.sandbox.data.users if u["id"] == manager)
    assert (f"📋 без задач: {len(idle[manager])}", encode(IdleLeads(manager))) in answer.buttons
    assert answer.buttons[-1] == ("🔄 Обновить", encode(TeamCard()))
    opened = final(chat.press(DIRECTOR, encode(IdleLeads(manager)), answer))
    assert opened.message_id == answer.message_id  # in place
    assert opened.text.startswith(
        f"<b>{name}</b> — открытые сделки без задач: <b>{len(idle[manager])}</b>"
    )
    base = chat.app.base_url
    linked = [
        int(i) for i in re.findall(rf'<a href="{re.escape(base)}/leads/detail/(\d+)">', opened.text)
    ]
    assert sorted(linked) == sorted(idle[manager])
    back = final(chat.press(DIRECTOR, encode(TeamCard()), opened))
    assert back.text.startswith("<b>Команда</b>")
    listed = final(chat.press(DIRECTOR, encode(ManagerPage(ZELIMKHAN, 0)), back))
    assert listed.text.startswith("<b>Зелимхан</b> — просрочено")


def test_managers_see_neither_the_team_nor_anyones_leads_without_a_task(chat: BotChat) -> None:
    assert [m.text for m in chat.say(MANAGER, "/team")] == [
        "Эта команда вам недоступна. Ваши команды — /help"
    ]
    mine = final(chat.say(MANAGER, "/report"))
    assert chat.press(MANAGER, encode(IdleLeads(ZELIMKHAN)), mine) == []
    assert chat.answers()[-1]["text"] == "⛔ Нет доступа"


def test_team_chart_is_the_same_table_as_a_picture(chat: BotChat) -> None:
    placeholder, photo = chat.say(DIRECTOR, "/team chart")
    assert placeholder.text == "⏳ Читаю amoCRM и рисую…" and photo.method == "sendPhoto"
    assert photo.text == "👥 <b>Команда</b> на 25.11.2026 14:05 (Asia/Almaty)"
    size = table_size(scorecard_data(read_scorecard(chat.app)))
    assert png_size(chat.fake.photos()[-1].png) == (size.width, size.height)
    assert [m.text for m in chat.say(DIRECTOR, "/team everything")] == ["Формат: /team [chart]"]


# -- the text table ---------------------------------------------------------------------------


def test_text_is_a_monospace_table_with_names_escaped() -> None:
    title, rest = scorecard_text("ru", ROWS, NOW, TZ).split("\n", 1)
    assert title == "<b>Команда</b> на 25.11.2026 14:05 (Asia/Almaty)"
    table, legend = rest.removeprefix("<pre>").split("</pre>\n")
    assert table.split("\n") == [
        "               Прс Сег Зкр  БЗ",
        "Милана           7   0   5   4",
        "Анна             3   2   0   6",
        "Зелимхан         3   1   2   0",
        "&lt;b&gt;Боб &amp; Co&lt;/…   0   0   0   0",  # cut at 14 columns, then escaped
        "Итого           13   3   7  10",
    ]
    assert legend.startswith("Прс — просрочено сейчас")


def test_text_lines_line_up_with_emoji_and_long_names() -> None:
    rows = [
        ScoreRow(1, "Анна 🔥", 1, 0, 0, 0),
        ScoreRow(2, "Константин Константинопольский", 0, 0, 0, 0),
    ]
    text = scorecard_text("en", rows, NOW, TZ)
    lines = text.split("<pre>")[1].split("</pre>")[0].split("\n")
    assert lines[1] == "Анна 🔥" + " " * 7 + "   1   0   0   0"  # the emoji takes two columns
    assert lines[2] == "Константин Ко…   0   0   0   0"
    assert fit("Анна 🔥", 8) == "Анна 🔥 " and fit("🔥🔥🔥🔥", 6) == "🔥🔥… "


def test_more_managers_and_nobody_are_said_in_words() -> None:
    rows = [ScoreRow(n, f"М{n}", 0, 0, 0, 0) for n in range(LIMIT + 2)]
    assert "и ещё 2 менеджеров" in scorecard_text("ru", rows, NOW, TZ)
    assert scorecard_text("en", [], NOW, TZ).endswith("\nNo managers")
