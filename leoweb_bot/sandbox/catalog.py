"""Fixed facts of the demo account: ids, people, programmes, task texts and funnel stages.

Kept apart from the generators so that they read as logic rather than as vocabulary. The
company is modelled on the original client: an education agency in Almaty that sells study
abroad, summer camps and language courses.
"""

from __future__ import annotations

import functools

TIMEZONE = "Asia/Almaty"
ACCOUNT_ID = 31000001
ADMIN_ID = 1387100
FIRST_MANAGER_ID = 1387123
DELETED_USER_ID = 999001  # owns ~1 % of tasks but is missing from the users list
FIRST_TASK_ID = 5000001
FIRST_LEAD_ID = 21000001
FIRST_CONTACT_ID = 41000001
SALES_PIPELINE_ID = 7000001
REPEAT_PIPELINE_ID = 7000002
WON_STATUS = 142
LOST_STATUS = 143
PHONE_FIELD_ID = 601001
EMAIL_FIELD_ID = 601003

# The original bot's managers, in the order the first user ids are given out.
MANAGER_NAMES: tuple[str, ...] = (
    "Зелимхан",
    "Милана",
    "Сарбиназ",
    "Айгерим",
    "Данияр",
    "Асель",
    "Нурлан",
    "Камила",
)
MALE_NAMES: tuple[str, ...] = (
    "Алихан", "Ерлан", "Тимур", "Арман", "Санжар", "Дмитрий",
    "Максим", "Руслан", "Бауыржан", "Азамат", "Ильяс", "Артём",
)  # fmt: skip
FEMALE_NAMES: tuple[str, ...] = (
    "Алия", "Дана", "Жанна", "Карина", "Мадина", "Анастасия",
    "Томирис", "Айжан", "Диана", "Екатерина", "Аружан", "Софья",
)  # fmt: skip
# Male forms; every one ends in -ов/-ев, so the female form is the same word plus "а".
SURNAMES: tuple[str, ...] = (
    "Ахметов", "Серикбаев", "Жумабеков", "Касымов", "Нурпеисов", "Омаров", "Абдрахманов",
    "Исмаилов", "Тулегенов", "Сапаров", "Байжанов", "Есенов", "Кенжебаев", "Иванов",
    "Смирнов", "Попов", "Кузнецов", "Петров", "Соколов", "Мухамеджанов",
)  # fmt: skip

PROGRAMMES: tuple[str, ...] = (
    "Обучение в Чехии",
    "Летний лагерь в Англии",
    "Магистратура в Германии",
    "Языковые курсы на Мальте",
    "Бакалавриат в Польше",
    "Foundation в Великобритании",
    "Школа-пансион в Швейцарии",
    "Колледж в Канаде",
    "Магистратура в Италии",
    "Языковой лагерь в Ирландии",
    "Бакалавриат в Южной Корее",
    "Подготовка к IELTS",
)

# (text, task_type_id, duration in seconds). Built-in types: 1 = follow-up/call, 2 = meeting
# (docs/amocrm.md#tasks).
TASK_KINDS: tuple[tuple[str, int, int], ...] = (
    ("Перезвонить клиенту", 1, 0),
    ("Отправить договор", 1, 0),
    ("Назначить встречу в офисе", 2, 3600),
    ("Напомнить об оплате", 1, 0),
    ("Уточнить документы для визы", 1, 0),
    ("Отправить список документов для поступления", 1, 0),
    ("Записать на бесплатную консультацию", 2, 1800),
    ("Согласовать даты лагеря с родителями", 1, 0),
    ("Проверить оплату по счёту", 1, 0),
    ("Подготовить пакет документов в посольство", 1, 0),
    ("Встреча с родителями в офисе", 2, 3600),
    ("Отправить подборку университетов", 1, 0),
    ("Уточнить результаты IELTS", 1, 0),
    ("Перезвонить: клиент просил после обеда", 1, 0),
)
TASK_RESULTS: tuple[str, ...] = (
    "Клиент подтвердил встречу",
    "Договор отправлен на почту",
    "Оплата получена",
    "Документы собраны",
    "Не дозвонились, перенесли на завтра",
    "Клиент думает, перезвонить через неделю",
)
# GET /api/v4/account?with=task_types (docs/amocrm.md#account-and-time).
TASK_TYPES: tuple[dict[str, object], ...] = (
    {"id": 1, "name": "Связаться", "color": None, "icon_id": None, "code": "FOLLOW_UP"},
    {"id": 2, "name": "Встреча", "color": None, "icon_id": None, "code": "MEETING"},
)

# What a task can be attached to: the singular names of v2 and the events list, the v4
# collections, and the v2 `element_type` numbers (also in webhooks).
COLLECTIONS = {"lead": "leads", "contact": "contacts", "company": "companies",
               "customer": "customers"}  # fmt: skip
ELEMENT_TYPES = {"contacts": 1, "leads": 2, "companies": 3, "customers": 12}

# Working stages per pipeline: (name, colour, share of the pipeline's leads). The first one is
# the "unsorted" stage (type 1); won 142 and lost 143 are appended to every pipeline.
SALES_STAGES: tuple[tuple[str, str, int], ...] = (
    ("Неразобранное", "#c1c1c1", 5),
    ("Первичный контакт", "#99ccff", 25),
    ("50%", "#ffff99", 15),
    ("Рано обратившиеся", "#ffcc66", 10),
    ("Недозвон", "#ff8f92", 10),
    ("Условный отказ", "#d6eaff", 10),
)
REPEAT_STAGES: tuple[tuple[str, str, int], ...] = (
    ("Неразобранное", "#c1c1c1", 10),
    ("Повторное обращение", "#98cbff", 35),
    ("Оформление документов", "#fffd7f", 30),
)
WON_STAGE: tuple[int, str, str, int] = (WON_STATUS, "Успешно реализовано", "#CCFF66", 15)
LOST_STAGE: tuple[int, str, str, int] = (LOST_STATUS, "Закрыто и не реализовано", "#D5D8DB", 10)

# Kazakhstan mobile operator codes, written "+7 7xx xxx xx xx".
PHONE_CODES: tuple[str, ...] = (
    "700", "701", "702", "705", "707", "708", "747", "771", "775", "776", "777", "778",
)  # fmt: skip
EMAIL_DOMAINS: tuple[str, ...] = ("mail.ru", "gmail.com", "mail.kz", "inbox.ru")

_TRANSLIT = {
    "а": "a", "б": "b", "в": "v", "г": "g", "д": "d", "е": "e", "ё": "e", "ж": "zh", "з": "z",
    "и": "i", "й": "i", "к": "k", "л": "l", "м": "m", "н": "n", "о": "o", "п": "p", "р": "r",
    "с": "s", "т": "t", "у": "u", "ф": "f", "х": "kh", "ц": "ts", "ч": "ch", "ш": "sh",
    "щ": "shch", "ъ": "", "ы": "y", "ь": "", "э": "e", "ю": "yu", "я": "ya", "ә": "a", "ғ": "g",
    "қ": "k", "ң": "n", "ө": "o", "ұ": "u", "ү": "u", "һ": "h", "і": "i",
}  # fmt: skip


@functools.cache  # names come from the short lists above
def latin(word: str) -> str:
    """Lower-case Latin spelling of a Cyrillic name, for e-mail addresses."""
    return "".join(_TRANSLIT.get(ch, ch) for ch in word.lower() if ch.isalnum())
