"""Screens rendered from hand-made data: escaping, plurals in context, paging, the command menu."""

from __future__ import annotations

import datetime
import re
from dataclasses import replace

import pytest
import pytz

from leoweb_bot.amocrm.models import Lead
from leoweb_bot.amocrm.models import Task
from leoweb_bot.amocrm.models import User
from leoweb_bot.bot.views import PAGE_SIZE
from leoweb_bot.bot.views import render_lead
from leoweb_bot.bot.views import render_manager_page
from leoweb_bot.bot.views import render_my_tasks
from leoweb_bot.bot.views import render_report
from leoweb_bot.bot.views import task_line
from leoweb_bot.reports import overdue_by_manager
from leoweb_bot.tasklists import ListSource
from leoweb_bot.tasklists import my_tasks_page
from leoweb_bot.tasklists import overdue_page

TZ = pytz.timezone("Asia/Almaty")
NOW = int(datetime.datetime(2026, 11, 25, 9, 5, tzinfo=datetime.UTC).timestamp())
DAY = 86400


def task(n: int, owner: int, days_late: int, text: str = "Позвонить") -> Task:
    return Task(
        id=5000000 + n, text=text, responsible_user_id=owner,
        complete_till=NOW - days_late * DAY - 3600, is_completed=False,
        entity_type="leads", entity_id=21000000 + n,
    )  # fmt: skip


def test_report_escapes_names_and_counts_days() -> None:
    users = {1: User(1, "<b>Боб & Co</b>"), 2: User(2, "Милана")}
    tasks = [task(1, 1, 5), task(2, 1, 1), task(3, 2, 21)]
    report = overdue_by_manager(tasks, users, NOW, TZ)
    text = render_report(report, "ru", TZ, ["Сарбиназ <x>"])
    assert text.splitlines() == [
        "<b>Просроченные задачи</b> на 25.11.2026 14:05 (Asia/Almaty)",
        "",
        "1. &lt;b&gt;Боб &amp; Co&lt;/b&gt; — <b>2</b>, самая старая с 20.11.2026 13:05 "
        "(5 дней просрочки)",
        "2. Милана — <b>1</b>, самая старая с 04.11.2026 13:05 (21 день просрочки)",
        "",
        "Всего просрочено: <b>3</b>",
        "Без просрочек: Сарбиназ &lt;x&gt;",
    ]


def test_empty_report_says_so() -> None:
    report = overdue_by_manager([], {}, NOW, TZ)
    assert render_report(report, "en", TZ, []).splitlines()[-1] == "No overdue tasks 🎉"


@pytest.mark.parametrize(("page", "first", "last"), [(0, 1, 10), (1, 11, 20), (2, 21, 23)])
def test_manager_page_numbers_continue_across_pages(page: int, first: int, last: int) -> None:
    tasks = [task(n, 1, 30 - n, text=f"Задача {n} <&>") for n in range(23)]
    shown = overdue_page(ListSource(tasks), 1, NOW, TZ, page, PAGE_SIZE)
    html = render_manager_page(
        shown, "#1", lang="ru", tz=TZ, now=NOW, base_url="https://x.amocrm.ru"
    )
    numbers = [int(n) for n in re.findall(r"^(\d+)\. ", html, re.M)]
    assert numbers == list(range(first, last + 1))
    assert f"Стр. {page + 1} из 3" in html
    assert "&lt;&amp;&gt;" in html and "<&>" not in html
    assert '<a href="https://x.amocrm.ru/leads/detail/' in html
    assert len(numbers) <= PAGE_SIZE


def test_manager_page_without_tasks() -> None:
    shown = overdue_page(ListSource([]), 1, NOW, TZ, 0, PAGE_SIZE)
    html = render_manager_page(shown, "Милана", lang="ru", tz=TZ, now=NOW, base_url="")
    assert html.startswith("<b>Милана</b> — просроченных задач нет")


def test_a_task_line_ends_with_the_id_that_done_takes() -> None:
    line = task_line(3, task(7, 1, 5), lang="ru", tz=TZ, now=NOW, base_url="https://x.amocrm.ru")
    assert line == (
        "3. Позвонить\n    срок 20.11.2026 13:05, 5 дней просрочки · "
        '<a href="https://x.amocrm.ru/leads/detail/21000007">сделка</a> · <code>#5000007</code>'
    )


def test_my_tasks_page_by_page_under_the_heading_of_their_kind() -> None:
    overdue = tuple(task(n, 1, 3) for n in range(12))
    today = tuple(replace(task(n, 1, 0), complete_till=NOW + 3600) for n in range(12, 20))
    source = ListSource([*today, *overdue])
    pages = [
        render_my_tasks(
            my_tasks_page(source, 1, NOW, TZ, p, PAGE_SIZE), lang="ru", tz=TZ, now=NOW, base_url=""
        )
        for p in (0, 1)
    ]
    for html in pages:
        assert "Просрочено: <b>12</b>, на сегодня: <b>8</b>" in html
    assert "Стр. 1 из 2" in pages[0] and "Стр. 2 из 2" in pages[1]
    assert re.findall(r"<b>(Просрочены|На сегодня)</b>|^(\d+)\. ", pages[1], re.M) == [
        ("Просрочены", ""), ("", "11"), ("", "12"), ("На сегодня", ""),
        *(("", str(n)) for n in range(13, 21)),
    ]  # fmt: skip
    assert "На сегодня" not in pages[0]


def test_a_lead_card_counts_the_tasks_it_does_not_list() -> None:
    lead = Lead(21000001, "Сделка", price=0, status_id=1, pipeline_id=1, responsible_user_id=1)
    tasks = [task(n, 1, 2) for n in range(12)]
    html = render_lead(
        lead, lang="ru", tz=TZ, now=NOW, base_url="https://x", pipelines=[], users={},
        contacts=[], tasks=tasks, others=3,
    )  # fmt: skip
    assert len(re.findall(r"^\d+\. ", html, re.M)) == PAGE_SIZE
    assert "…и ещё 2 — все в карточке amoCRM\nОткрытых задач других сотрудников: 3" in html
    only_others = render_lead(
        lead, lang="ru", tz=TZ, now=NOW, base_url="https://x", pipelines=[], users={},
        contacts=[], tasks=[], others=3,
    )  # fmt: skip
    assert "Открытые задачи" not in only_others and "Открытых задач нет" not in only_others
    assert "Открытых задач других сотрудников: 3" in only_others
