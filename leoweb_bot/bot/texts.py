"""Every user-visible string, in Russian and English, and the Telegram HTML built from them.

Telegram's HTML mode needs ``<``, ``>`` and ``&`` escaped outside tags and ``"`` inside
``href`` (docs/telegram.md#html-formatting). ``t()`` escapes every value it
is given unless the value is already :class:`Html`, so CRM text can never inject markup.
Rendering of whole screens lives in :mod:`leoweb_bot.bot.views`; this module is the catalogue.
"""

from __future__ import annotations

import datetime
import html

from leoweb_bot.reports import is_all_day
from leoweb_bot.reports import local

ECHO_LIMIT = 40  # characters of a query quoted back in "not found" answers
DEFAULT_RESULT = {"ru": "Выполнено через Telegram", "en": "Done via Telegram"}


class Html(str):
    """Text that is already valid Telegram HTML and must not be escaped again."""


RU: dict[str, str] = {
    # access and help
    "no_access": "⛔ Нет доступа. Ваш Telegram id: <code>{id}</code> — отправьте его администратору бота.",
    "no_access_service": "⛔ Вы пишете от имени группы или канала, и бот не знает, кто вы. "
    "Напишите от своего имени.",
    "greeting": "Здравствуйте, {name}! Я показываю задачи и клиентов из amoCRM.",
    "help_title": "<b>Команды</b>",
    "short_help": "Не понял. Список команд — /help",
    "not_allowed": "Эта команда вам недоступна. Ваши команды — /help",
    "role_admin": "администратор",
    "role_director": "руководитель",
    "role_manager": "менеджер",
    "role_none": "без доступа",
    "whoami": "Telegram id: <code>{id}</code>\nРоль: {role}\nПользователь amoCRM: {amo_user}",
    "amo_user_none": "не привязан",
    "cmd_start": "приветствие",
    "cmd_help": "список команд",
    "cmd_whoami": "мой Telegram id и роль",
    "cmd_report": "просроченные задачи по менеджерам",
    "cmd_report_own": "мои просроченные задачи",
    "cmd_mytasks": "мои задачи: просроченные и на сегодня",
    "cmd_done": "закрыть задачу",
    "cmd_lead": "карточка сделки",
    "cmd_contact": "поиск контакта",
    "cmd_funnel": "воронка: сделки по этапам",
    "cmd_amocrm": "состояние подключения к amoCRM",
    "args_report": "[менеджер]",
    "args_done": "&lt;id задачи&gt; [результат]",
    "args_lead": "&lt;id или текст&gt;",
    "args_contact": "&lt;имя, телефон или e-mail&gt;",
    "usage": "Формат: {usage}",
    # feedback
    "working": "⏳ Читаю amoCRM…",
    "as_of": "на {when} ({tz})",
    "data_as_of": "🕓 данные на {time}",
    "data_stale": "⚠️ amoCRM не отвечает с {since}, данные на {time}",
    # report
    "report_title": "<b>Просроченные задачи</b> {as_of}",
    "report_line": "{n}. {name} — <b>{count}</b>, самая старая с {oldest} ({days})",
    "report_total": "Всего просрочено: <b>{total}</b>",
    "report_clean": "Без просрочек: {names}",
    "report_none": "Просроченных задач нет 🎉",
    "report_no_match": "Менеджер «{query}» не найден.",
    "report_ambiguous": "Под «{query}» подходят несколько менеджеров.",
    "report_names": "Менеджеры: {names}",
    "report_own_only": "Вам доступны только ваши задачи.",
    "report_buttons_more": "Кнопки — у первых {shown}; остальные: /report &lt;имя&gt;",
    "manager_title": "<b>{name}</b> — просрочено <b>{count}</b> {as_of}",
    "manager_clean": "<b>{name}</b> — просроченных задач нет 👍 {as_of}",
    "page": "Стр. {page} из {pages}",
    "task_line": "{n}. {text}\n    {details}",
    "task_due": "срок {due}",
    "task_late": "срок {due}, {days}",
    "task_id": "<code>#{id}</code>",
    "task_no_text": "(без текста)",
    "days_today": "просрочена сегодня",
    "days_one": "{n} день просрочки",
    "days_few": "{n} дня просрочки",
    "days_many": "{n} дней просрочки",
    "link_leads": "сделка",
    "link_contacts": "контакт",
    "link_companies": "компания",
    "btn_prev": "◀",
    "btn_next": "▶",
    "btn_refresh": "🔄 Обновить",
    "btn_back": "⬆ Ко всем",
    # my tasks and closing
    "mytasks_title": "<b>Ваши задачи</b> {as_of}",
    "mytasks_overdue": "<b>Просрочены</b>",
    "mytasks_today": "<b>На сегодня</b>",
    "mytasks_empty": "Ни просроченных задач, ни задач на сегодня 👍",
    "mytasks_counts": "Просрочено: <b>{overdue}</b>, на сегодня: <b>{today}</b>",
    "mytasks_unlinked": "К вашему Telegram не привязан пользователь amoCRM, своих задач нет. "
    "Все просроченные задачи — /report.",
    "done_ok": "✅ Задача «{text}» (#{id}) закрыта с результатом «{result}».",
    "done_already": "Задача «{text}» (#{id}) уже закрыта.",
    "done_not_yours": "⛔ Задача {id} не ваша: закрыть её может ответственный или руководитель.",
    "done_not_found": "Задачи {id} нет в amoCRM: проверьте номер.",
    "cb_task_gone": "Этой задачи больше нет в amoCRM",
    "cb_lead_gone": "Этой сделки больше нет в amoCRM",
    "cb_done": "✅ Закрыта задача «{text}»",
    "cb_already": "Задача «{text}» уже закрыта",
    "close_confirm": "<b>Закрыть задачу?</b>\n{text}\n{details}",
    "close_ask_result": "✍️ Напишите результат задачи «{text}» следующим сообщением "
    "(в группе — ответом на это сообщение).",
    "close_cancelled": "Задача не закрыта.",
    "btn_close": "✅ Закрыть",
    "btn_close_result": "✍️ Закрыть с результатом…",
    "btn_cancel": "✖ Отмена",
    "cb_denied": "⛔ Нет доступа",
    "cb_no_access": "⛔ Нет доступа. Ваш Telegram id: {id} — отправьте его администратору бота.",
    "cb_stale": "Кнопка устарела — отправьте команду заново",
    "cb_failed": "Не получилось, попробуйте ещё раз",
    # look-ups
    "lead_title": "<b>{name}</b> · сделка #{id}",
    "lead_stage": "Этап: {stage} ({pipeline})",
    "lead_responsible": "Ответственный: {name}",
    "lead_price": "Бюджет: {price}",
    "lead_contacts": "Контакты: {contacts}",
    "lead_tasks": "<b>Открытые задачи</b>",
    "lead_no_tasks": "Открытых задач нет",
    "lead_tasks_more": "…и ещё {count} — все в карточке amoCRM",
    "lead_tasks_others": "Открытых задач других сотрудников: {count}",
    "lead_matches": "Нашлось сделок: {count}. Выберите:",
    "lead_matches_more": "Нашлось сделок: {count}, ниже первые {shown}. "
    "Уточните запрос: больше слов из названия, телефон или id сделки.",
    "lead_none": "Сделки по запросу «{query}» не найдены.",
    "contact_title": "<b>{name}</b> · контакт #{id}",
    "contact_phones": "Телефон: {values}",
    "contact_emails": "E-mail: {values}",
    "contact_none": "Контакты по запросу «{query}» не найдены.",
    "contact_more": "Нашлось контактов: {count}, показаны первые {shown}. "
    "Уточните запрос: имя с фамилией, телефон или e-mail.",
    "open_card": "открыть в amoCRM",
    "unnamed": "(без названия)",
    "unknown_stage": "этап #{id}",
    # funnel and account
    "funnel_title": "<b>Воронка</b> {as_of}",
    "funnel_pipeline": "<b>{name}</b> — открытых сделок: {count}",
    "funnel_stage": "• {stage}: {count}{amount}",
    "funnel_won": "Успешно в этом месяце: {count}{amount}",
    "funnel_lost": "Не реализовано в этом месяце: {count}",
    "funnel_empty": "В amoCRM нет активных воронок.",
    "amocrm_ok": "✅ amoCRM на связи: {url}",
    "amocrm_failed": "❌ amoCRM: {reason}",
    "amocrm_cause": "<code>{cause}</code>",
    "amocrm_account": "Аккаунт: <b>{name}</b> ({subdomain})",
    "amocrm_users": "Пользователей: {count}",
    "amocrm_open": "Открытых сделок: {count}",
    "amocrm_won": "Успешных в этом месяце: {count}{amount}",
    # digests and subscriptions
    "cmd_subscribe": "ежедневная сводка в этот чат",
    "cmd_unsubscribe": "отключить сводку в этом чате",
    "cmd_subscriptions": "что приходит в этот чат",
    "args_subscribe": "[ЧЧ:ММ]",
    "digest_title": "☀️ <b>Ежедневная сводка</b>",
    "digest_late": "⏰ С опозданием: в {time} бот был недоступен.",
    "digest_what_all": "просроченные задачи по менеджерам",
    "digest_what_own": "ваши просроченные задачи",
    "digest_weekdays": "по будням",
    "digest_daily": "каждый день",
    "subscribed": "✅ Сводка подключена: {what}, {days} в {time} ({tz}).\nБлижайшая: {next}.",
    "subscription_show": "В этот чат приходит сводка: {what}, {days} в {time} ({tz}).\n"
    "Кто подключил: {name}. Отключить — /unsubscribe",
    "subscriber_you": "вы",
    "subscriber_role": "{role}, Telegram id <code>{id}</code>",
    "subscription_none": "В этот чат сводка не приходит. Подключить — /subscribe [ЧЧ:ММ]",
    "subscribe_bad_time": "«{text}» — не время суток: от 00:00 до 23:59.",
    "unsubscribed": "Сводка в этот чат больше не придёт.",
    "subscription_taken": "⛔ Сводку в этом чате подключил другой пользователь; "
    "изменить её может он или руководитель.",
    # overdue alerts
    "alert_one": "⏰ <b>Задача просрочена</b>",
    "alert_many": "⏰ <b>Просрочены задачи: {count}</b>",
    "alert_more": "…и ещё {count}. Все — /mytasks",
    # amoCRM webhooks
    "lead_new": "🆕 <b>Новая сделка</b>",
    "lead_assigned": "👤 <b>Вам передали сделку</b>",
    "lead_won": "🏆 <b>Сделка успешно реализована</b>",
    "lead_lost": "🚫 <b>Сделка закрыта и не реализована</b>",
    "lead_notices": "🔔 <b>События по сделкам: {count}</b>",
    # incidents (to admins)
    "incident_amocrm_auth": "🔴 amoCRM не принимает доступ бота (401). Авторизуйте интеграцию "
    "заново: новый amocrm.auth_code или долгосрочный токен.",
    "incident_amocrm_blocked": "🔴 amoCRM заблокировала доступ по API (403). Снять блокировку "
    "может поддержка amoCRM: сообщите ей IP сервера и поддомен.",
    "incident_amocrm_payment": "🔴 Подписка amoCRM закончилась (402): запись уже недоступна, "
    "чтение закроется через 30 дней.",
    "incident_oauth_refresh": "🟠 Не удалось обновить OAuth-токены amoCRM. Бот повторяет "
    "попытку каждые 10 минут.",
    "incident_telegram_webhook": "🔴 Telegram не может доставить боту сообщения: очередь растёт.",
    "incident_detail": "Причина: {detail}",
    "incident_recovered": "🟢 Восстановлено: {what}.",
    "incident_name_amocrm_auth": "доступ к amoCRM",
    "incident_name_amocrm_blocked": "доступ к API amoCRM, блокировки больше нет",
    "incident_name_amocrm_payment": "подписка amoCRM",
    "incident_name_oauth_refresh": "обновление токенов amoCRM",
    "incident_name_telegram_webhook": "доставка сообщений из Telegram",
    "incident_disk_low": "🟠 На диске бота почти нет места: скоро он не сможет принимать "
    "сообщения. Освободите место.",
    "incident_name_disk_low": "место на диске",
    "incident_inbox_full": "🔴 Бот не успевает обрабатывать сообщения: очередь полна, новые "
    "Telegram придержит.",
    "incident_name_inbox_full": "очередь сообщений",
    "incident_state_outage": "🟠 База бота не принимала записи с {since} до {until}: вебхуки "
    "получали 503, Telegram присылает такие сообщения повторно. Проверьте место на диске и права "
    "на файл bot.state_path.",
    # errors
    "err_unavailable": "amoCRM не отвечает, попробуйте через минуту.",
    "err_auth": "amoCRM отозвала доступ бота. Администратору нужно заново авторизовать интеграцию.",
    "err_payment": "Подписка amoCRM закончилась — продлите её, и бот снова заработает.",
    "err_blocked": "amoCRM временно заблокировала доступ по API. Попробуйте позже.",
    "err_forbidden": "У интеграции нет прав на это действие в amoCRM.",
    "err_not_found": "Не найдено.",
    "err_bad_request": "amoCRM отклонила запрос.",
    "err_amo": "amoCRM ответила ошибкой, попробуйте позже.",
    "err_config": "Адрес amoCRM в настройках бота неверен. Сообщите администратору.",
    "err_internal": "Что-то пошло не так. Ошибка записана, попробуйте ещё раз чуть позже.",
}

EN: dict[str, str] = {
    "no_access": "⛔ No access. Your Telegram id is <code>{id}</code> — send it to the bot's admin.",
    "no_access_service": "⛔ You are writing on behalf of a group or channel, so the bot cannot "
    "tell who you are. Write as yourself.",
    "greeting": "Hello, {name}! I show tasks and clients from amoCRM.",
    "help_title": "<b>Commands</b>",
    "short_help": "I did not understand that. Commands: /help",
    "not_allowed": "This command is not available to you. Your commands: /help",
    "role_admin": "admin",
    "role_director": "director",
    "role_manager": "manager",
    "role_none": "no access",
    "whoami": "Telegram id: <code>{id}</code>\nRole: {role}\namoCRM user: {amo_user}",
    "amo_user_none": "not linked",
    "cmd_start": "greeting",
    "cmd_help": "list of commands",
    "cmd_whoami": "my Telegram id and role",
    "cmd_report": "overdue tasks per manager",
    "cmd_report_own": "my overdue tasks",
    "cmd_mytasks": "my tasks: overdue and due today",
    "cmd_done": "close a task",
    "cmd_lead": "lead card",
    "cmd_contact": "find a contact",
    "cmd_funnel": "funnel: leads per stage",
    "cmd_amocrm": "amoCRM connection status",
    "args_report": "[manager]",
    "args_done": "&lt;task id&gt; [result]",
    "args_lead": "&lt;id or text&gt;",
    "args_contact": "&lt;name, phone or e-mail&gt;",
    "usage": "Usage: {usage}",
    "working": "⏳ Reading amoCRM…",
    "as_of": "as of {when} ({tz})",
    "data_as_of": "🕓 data as of {time}",
    "data_stale": "⚠️ amoCRM has not answered since {since}; data as of {time}",
    "report_title": "<b>Overdue tasks</b> {as_of}",
    "report_line": "{n}. {name} — <b>{count}</b>, oldest since {oldest} ({days})",
    "report_total": "Total overdue: <b>{total}</b>",
    "report_clean": "Nothing overdue: {names}",
    "report_none": "No overdue tasks 🎉",
    "report_no_match": "No manager matches “{query}”.",
    "report_ambiguous": "Several managers match “{query}”.",
    "report_names": "Managers: {names}",
    "report_own_only": "You can see only your own tasks.",
    "report_buttons_more": "Buttons for the first {shown}; for the others: /report &lt;name&gt;",
    "manager_title": "<b>{name}</b> — <b>{count}</b> overdue {as_of}",
    "manager_clean": "<b>{name}</b> — nothing overdue 👍 {as_of}",
    "page": "Page {page} of {pages}",
    "task_line": "{n}. {text}\n    {details}",
    "task_due": "due {due}",
    "task_late": "due {due}, {days}",
    "task_id": "<code>#{id}</code>",
    "task_no_text": "(no text)",
    "days_today": "overdue today",
    "days_one": "{n} day overdue",
    "days_few": "{n} days overdue",
    "days_many": "{n} days overdue",
    "link_leads": "lead",
    "link_contacts": "contact",
    "link_companies": "company",
    "btn_prev": "◀",
    "btn_next": "▶",
    "btn_refresh": "🔄 Refresh",
    "btn_back": "⬆ All managers",
    "mytasks_title": "<b>Your tasks</b> {as_of}",
    "mytasks_overdue": "<b>Overdue</b>",
    "mytasks_today": "<b>Due today</b>",
    "mytasks_empty": "Nothing overdue and nothing due today 👍",
    "mytasks_counts": "Overdue: <b>{overdue}</b>, due today: <b>{today}</b>",
    "mytasks_unlinked": "Your Telegram account is not linked to an amoCRM user, so you have no "
    "tasks of your own. All overdue tasks: /report.",
    "done_ok": "✅ Task “{text}” (#{id}) closed with result “{result}”.",
    "done_already": "Task “{text}” (#{id}) is already closed.",
    "done_not_yours": "⛔ Task {id} is not yours: only its owner or a director can close it.",
    "done_not_found": "There is no task {id} in amoCRM: check the number.",
    "cb_task_gone": "This task is no longer in amoCRM",
    "cb_lead_gone": "This lead is no longer in amoCRM",
    "cb_done": "✅ Closed task “{text}”",
    "cb_already": "Task “{text}” is already closed",
    "close_confirm": "<b>Close this task?</b>\n{text}\n{details}",
    "close_ask_result": "✍️ Type the result of task “{text}” as your next message "
    "(in a group, as a reply to this message).",
    "close_cancelled": "The task was not closed.",
    "btn_close": "✅ Close",
    "btn_close_result": "✍️ Close with a result…",
    "btn_cancel": "✖ Cancel",
    "cb_denied": "⛔ No access",
    "cb_no_access": "⛔ No access. Your Telegram id is {id} — send it to the bot's admin.",
    "cb_stale": "This button is outdated — send the command again",
    "cb_failed": "That did not work, please try again",
    "lead_title": "<b>{name}</b> · lead #{id}",
    "lead_stage": "Stage: {stage} ({pipeline})",
    "lead_responsible": "Responsible: {name}",
    "lead_price": "Budget: {price}",
    "lead_contacts": "Contacts: {contacts}",
    "lead_tasks": "<b>Open tasks</b>",
    "lead_no_tasks": "No open tasks",
    "lead_tasks_more": "…and {count} more, all on the amoCRM card",
    "lead_tasks_others": "Open tasks of other people: {count}",
    "lead_matches": "Leads found: {count}. Pick one:",
    "lead_matches_more": "Leads found: {count}; the first {shown} are below. "
    "Narrow the search: more words of the name, a phone number or the lead id.",
    "lead_none": "No leads match “{query}”.",
    "contact_title": "<b>{name}</b> · contact #{id}",
    "contact_phones": "Phone: {values}",
    "contact_emails": "E-mail: {values}",
    "contact_none": "No contacts match “{query}”.",
    "contact_more": "Contacts found: {count}; the first {shown} are shown. "
    "Narrow the search: first and last name, a phone number or an e-mail.",
    "open_card": "open in amoCRM",
    "unnamed": "(no name)",
    "unknown_stage": "stage #{id}",
    "funnel_title": "<b>Funnel</b> {as_of}",
    "funnel_pipeline": "<b>{name}</b> — open leads: {count}",
    "funnel_stage": "• {stage}: {count}{amount}",
    "funnel_won": "Won this month: {count}{amount}",
    "funnel_lost": "Lost this month: {count}",
    "funnel_empty": "amoCRM has no active pipelines.",
    "amocrm_ok": "✅ amoCRM is connected: {url}",
    "amocrm_failed": "❌ amoCRM: {reason}",
    "amocrm_cause": "<code>{cause}</code>",
    "amocrm_account": "Account: <b>{name}</b> ({subdomain})",
    "amocrm_users": "Users: {count}",
    "amocrm_open": "Open leads: {count}",
    "amocrm_won": "Won this month: {count}{amount}",
    "cmd_subscribe": "daily digest in this chat",
    "cmd_unsubscribe": "stop the digest in this chat",
    "cmd_subscriptions": "what this chat receives",
    "args_subscribe": "[HH:MM]",
    "digest_title": "☀️ <b>Daily digest</b>",
    "digest_late": "⏰ Late: the bot was down at {time}.",
    "digest_what_all": "overdue tasks per manager",
    "digest_what_own": "your overdue tasks",
    "digest_weekdays": "on weekdays",
    "digest_daily": "every day",
    "subscribed": "✅ Digest on: {what}, {days} at {time} ({tz}).\nNext one: {next}.",
    "subscription_show": "This chat receives a digest: {what}, {days} at {time} ({tz}).\n"
    "Set up by {name}. To stop it: /unsubscribe",
    "subscriber_you": "you",
    "subscriber_role": "{role}, Telegram id <code>{id}</code>",
    "subscription_none": "This chat receives no digest. To start one: /subscribe [HH:MM]",
    "subscribe_bad_time": "“{text}” is not a time of day: 00:00 to 23:59.",
    "unsubscribed": "No more digests in this chat.",
    "subscription_taken": "⛔ Another user set up the digest in this chat; "
    "only they or a director can change it.",
    "alert_one": "⏰ <b>A task is overdue</b>",
    "alert_many": "⏰ <b>Tasks overdue: {count}</b>",
    "alert_more": "…and {count} more. All of them: /mytasks",
    "lead_new": "🆕 <b>New lead</b>",
    "lead_assigned": "👤 <b>A lead was handed to you</b>",
    "lead_won": "🏆 <b>Lead won</b>",
    "lead_lost": "🚫 <b>Lead closed as lost</b>",
    "lead_notices": "🔔 <b>Lead events: {count}</b>",
    "incident_amocrm_auth": "🔴 amoCRM refuses the bot's access (401). Authorise the integration "
    "again: a new amocrm.auth_code or long-lived token.",
    "incident_amocrm_blocked": "🔴 amoCRM has blocked API access (403). Only amoCRM support can "
    "lift it: give them the server's IP address and the subdomain.",
    "incident_amocrm_payment": "🔴 The amoCRM subscription has ended (402): writes are blocked "
    "now, reads stop in 30 days.",
    "incident_oauth_refresh": "🟠 Could not refresh the amoCRM OAuth tokens. The bot retries "
    "every 10 minutes.",
    "incident_telegram_webhook": "🔴 Telegram cannot deliver updates to the bot: the backlog grows.",
    "incident_detail": "Reason: {detail}",
    "incident_recovered": "🟢 Recovered: {what}.",
    "incident_name_amocrm_auth": "amoCRM access",
    "incident_name_amocrm_blocked": "amoCRM API access, no longer blocked",
    "incident_name_amocrm_payment": "the amoCRM subscription",
    "incident_name_oauth_refresh": "amoCRM token refresh",
    "incident_name_telegram_webhook": "update delivery from Telegram",
    "incident_disk_low": "🟠 The bot's disk is almost full: soon it cannot take messages. "
    "Free some space.",
    "incident_name_disk_low": "disk space",
    "incident_inbox_full": "🔴 The bot cannot keep up: its inbox is full, Telegram holds new "
    "updates back.",
    "incident_name_inbox_full": "the update inbox",
    "incident_state_outage": "🟠 The bot's database refused writes from {since} to {until}: "
    "webhooks got 503, and Telegram sends those updates again. Check the free disk space and "
    "the permissions of the bot.state_path file.",
    "err_unavailable": "amoCRM is not answering, try again in a minute.",
    "err_auth": "amoCRM revoked the bot's access. The admin must authorise the integration again.",
    "err_payment": "The amoCRM subscription has ended — renew it and the bot will work again.",
    "err_blocked": "amoCRM has blocked API access for a while. Please try again later.",
    "err_forbidden": "The integration has no rights for this in amoCRM.",
    "err_not_found": "Not found.",
    "err_bad_request": "amoCRM rejected the request.",
    "err_amo": "amoCRM answered with an error, please try later.",
    "err_config": "The bot's amoCRM address is misconfigured. Please tell the admin.",
    "err_internal": "Something went wrong. The error is logged — please try again a bit later.",
}

CATALOG: dict[str, dict[str, str]] = {"ru": RU, "en": EN}


def plain(lang: str, key: str, **values: object) -> str:
    """The catalogue entry ``key`` for a plain-text place (a callback toast): nothing escaped."""
    return CATALOG.get(lang, RU)[key].format(**values)


def escape(value: object) -> Html:
    """Escape text for Telegram HTML (``<``, ``>``, ``&``); :class:`Html` passes through."""
    if isinstance(value, Html):
        return value
    return Html(html.escape(str(value), quote=False))


def t(lang: str, key: str, **values: object) -> Html:
    """The catalogue entry ``key`` in ``lang`` with every value escaped and filled in."""
    template = CATALOG.get(lang, RU)[key]
    return Html(template.format(**{name: escape(v) for name, v in values.items()}))


def join(parts: list[Html] | tuple[Html, ...], sep: str = "\n") -> Html:
    """Join already-rendered fragments."""
    return Html(sep.join(parts))


def link(url: str | None, label: object) -> Html:
    """An ``<a href>`` with the URL escaped for an attribute, or just the label without a URL."""
    if not url:
        return escape(label)
    return Html(f'<a href="{html.escape(url, quote=True)}">{escape(label)}</a>')


def plural_key(lang: str, n: int) -> str:
    """``one``/``few``/``many`` by the Russian rule (1 день, 2 дня, 5 дней, 11 дней, 21 день)."""
    if lang == "en":
        return "one" if n == 1 else "many"
    if n % 10 == 1 and n % 100 != 11:
        return "one"
    if 2 <= n % 10 <= 4 and not 12 <= n % 100 <= 14:
        return "few"
    return "many"


def overdue_label(lang: str, days: int) -> Html:
    """``5 дней просрочки`` / ``5 days overdue``; 0 days means it went overdue today."""
    if days <= 0:
        return t(lang, "days_today")
    return t(lang, f"days_{plural_key(lang, days)}", n=days)


def format_when(ts: int, tz: datetime.tzinfo) -> str:
    """``25.11.2026 14:05`` in company time."""
    return local(ts, tz).strftime("%d.%m.%Y %H:%M")


def format_due(ts: int, tz: datetime.tzinfo) -> str:
    """A deadline: just the date for amoCRM "all day" tasks (stored at 23:59), else date and time."""
    if is_all_day(ts, tz):
        return local(ts, tz).strftime("%d.%m.%Y")
    return format_when(ts, tz)


def as_of(lang: str, ts: int, tz: datetime.tzinfo) -> Html:
    """``на 25.11.2026 14:05 (Asia/Almaty)``."""
    return t(lang, "as_of", when=format_when(ts, tz), tz=str(tz))


def format_money(amount: int) -> str:
    """``1 250 000`` — digits grouped by thin spaces, as amoCRM shows budgets."""
    return f"{amount:,}".replace(",", "\u202f")


def shorten(text: str, limit: int) -> str:
    """Cut CRM text to ``limit`` characters so one page always fits in a Telegram message."""
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def echo(query: str) -> str:
    """What someone typed, as quoted back to them: a pasted page is not sent back whole."""
    return shorten(query, ECHO_LIMIT)
