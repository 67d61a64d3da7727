"""The demo console's own words (not the bot's, which are in bot/locales): the banner, the
prompts and the notes the terminal chat prints around the conversation, in each language."""

CONSOLE: dict[str, dict[str, str]] = {
    "ru": {
        "banner": (
            "LeoWeb_bot: демо на встроенной песочнице amoCRM (данные вымышленные).\n"
            "Пишите команды как в Telegram: /help, /report, /chart, /team, /mytasks, /lead Алихан.\n"
            "Кнопки нажимаются вводом их номера. «role manager» или «role director» — сменить"
            " роль, «as Айдана» — стать новым человеком (вставьте ему ссылку из /invite —"
            " он войдёт по ней; /start без ссылки — попросит доступ), /quit — выход."
        ),
        "ask_role": (
            "Роль: [1] руководитель  [2] менеджер ({manager})  [3] администратор."
            " Enter = руководитель: "
        ),
        "role": "Вы — {role}. Telegram id {id}.",
        "director": "руководитель",
        "director_name": "Руководитель",
        "manager": "менеджер {manager}",
        "admin": "администратор",
        "admin_name": "Администратор",
        "bot": "бот",
        "edited": "изменено",
        "to": "в чат id {id}",
        "no_buttons": "(здесь нет кнопок с таким номером)",
        "pressed": "нажата кнопка «{label}»",
        "bad_role": (
            "(роль: руководитель, менеджер или администратор — или director, manager, admin)"
        ),
        "guest": "Вы — {name}, новый человек. Telegram id {id}.",
        "bad_guest": "(«as» и имя: например, as Айдана)",
        "log": "(журнал демо: {path})",
        "picture": "🖼 картинка: {path}",
    },
    "en": {
        "banner": (
            "LeoWeb_bot demo on the built-in amoCRM sandbox (made-up data).\n"
            "Type commands as in Telegram: /help, /report, /chart, /team, /mytasks, /lead Алихан.\n"
            "Press a button by typing its number. 'role manager' or 'role director' switches"
            " the role, 'as Aidana' makes you someone new (paste them a link from /invite to"
            " join with it; /start without one asks for access), /quit exits."
        ),
        "ask_role": "Role: [1] director  [2] manager ({manager})  [3] admin. Enter = director: ",
        "role": "You are the {role}. Telegram id {id}.",
        "director": "director",
        "director_name": "Director",
        "manager": "manager {manager}",
        "admin": "admin",
        "admin_name": "Admin",
        "bot": "bot",
        "edited": "edited",
        "to": "to the chat of id {id}",
        "no_buttons": "(no button with that number here)",
        "pressed": "pressed «{label}»",
        "bad_role": (
            "(role: director, manager or admin — or руководитель, менеджер, администратор)"
        ),
        "guest": "You are {name}, someone new. Telegram id {id}.",
        "bad_guest": "('as' and a name: e.g. as Aidana)",
        "log": "(demo log: {path})",
        "picture": "🖼 picture: {path}",
    },
}

# What people type after `role`, in either language, including the words the chat itself uses.
ROLE_NAMES = {
    "director": "director",
    "директор": "director",
    "руководитель": "director",
    "manager": "manager",
    "менеджер": "manager",
    "admin": "admin",
    "админ": "admin",
    "администратор": "admin",
}
ROLE_WORDS = ("role", "роль")
AS_WORDS = ("as", "как")  # `as Айдана`: play someone the bot does not know yet
QUIT = ("/quit", "/exit")
