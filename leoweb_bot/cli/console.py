"""The demo console's own words (not the bot's), in Russian and English: its banner, the roles,
how it marks edits, presses and the pictures it saves."""

CONSOLE: dict[str, dict[str, str]] = {
    "ru": {
        "banner": (
            "LeoWeb_bot: демо на встроенной песочнице amoCRM (данные вымышленные).\n"
            "Пишите команды как в Telegram: /help, /report, /chart, /team, /mytasks, /lead Алихан.\n"
            "Кнопки нажимаются вводом их номера. «role manager» или «role director» — сменить"
            " роль, /quit — выход."
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
        "no_buttons": "(здесь нет кнопок с таким номером)",
        "pressed": "нажата кнопка «{label}»",
        "bad_role": (
            "(роль: руководитель, менеджер или администратор — или director, manager, admin)"
        ),
        "log": "(журнал демо: {path})",
        "picture": "🖼 картинка: {path}",
    },
    "en": {
        "banner": (
            "LeoWeb_bot demo on the built-in amoCRM sandbox (made-up data).\n"
            "Type commands as in Telegram: /help, /report, /chart, /team, /mytasks, /lead Алихан.\n"
            "Press a button by typing its number. 'role manager' or 'role director' switches"
            " the role, /quit exits."
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
        "no_buttons": "(no button with that number here)",
        "pressed": "pressed «{label}»",
        "bad_role": (
            "(role: director, manager or admin — or руководитель, менеджер, администратор)"
        ),
        "log": "(demo log: {path})",
        "picture": "🖼 picture: {path}",
    },
}
