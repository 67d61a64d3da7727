"""Screens rendered from hand-made data: escaping, plurals in context, paging, the command menu."""

from __future__ import annotations

import datetime
import re

import pytest
import pytz

from leoweb_bot.access import Person
from leoweb_bot.access import Role
from leoweb_bot.amocrm.models import Task
from leoweb_bot.amocrm.models import User
from leoweb_bot.reports import overdue_by_manager
from leoweb_bot.views import PAGE_SIZE
from leoweb_bot.views import command_menu
from leoweb_bot.views import render_help
from leoweb_bot.views import render_manager_page
from leoweb_bot.views import render_report

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
    manager = overdue_by_manager(tasks, {}, NOW, TZ).manager(1)
    html = render_manager_page(
        manager, "#1", page, lang="ru", tz=TZ, now=NOW, base_url="https://x.amocrm.ru"
    )
    numbers = [int(n) for n in re.findall(r"^(\d+)\. ", html, re.M)]
    assert numbers == list(range(first, last + 1))
    assert f"Стр. {page + 1} из 3" in html
    assert "&lt;&amp;&gt;" in html and "<&>" not in html
    assert '<a href="https://x.amocrm.ru/leads/detail/' in html
    assert len(numbers) <= PAGE_SIZE


def test_manager_page_without_tasks() -> None:
    html = render_manager_page(None, "Милана", 0, lang="ru", tz=TZ, now=NOW, base_url="")
    assert html.startswith("<b>Милана</b> — просроченных задач нет")


@pytest.mark.parametrize("role", [Role.ADMIN, Role.DIRECTOR, Role.MANAGER])
@pytest.mark.parametrize("lang", ["ru", "en"])
def test_command_menu_fits_set_my_commands(role: Role, lang: str) -> None:
    menu = command_menu(lang, role)
    assert menu[0][0] == "start"
    for command, description in menu:
        assert re.fullmatch(r"[a-z0-9_]{1,32}", command)
        assert 1 <= len(description) <= 256 and "<" not in description


def test_help_shows_arguments_except_a_managers_report() -> None:
    manager = render_help("ru", Person(3, Role.MANAGER, 1387123))
    director = render_help("ru", Person(2, Role.DIRECTOR, None))
    assert "/report — мои просроченные задачи" in manager
    assert "/done &lt;id задачи&gt; [результат] — закрыть задачу" in manager
    assert "/report [менеджер] — просроченные задачи по менеджерам" in director
    for person in (manager, director):
        assert "/subscribe [ЧЧ:ММ] — ежедневная сводка в этот чат" in person
        assert "/subscriptions — что приходит в этот чат" in person
