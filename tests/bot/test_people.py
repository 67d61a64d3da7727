"""/people and /remove: who has access, changing a role in chat, removing someone; the rules
(admins manage everyone, directors not admins, config people not at all, the last admin stays)
and the audit trail."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from leoweb_bot.bot.codec import AcceptDirector
from leoweb_bot.bot.codec import AskRemove
from leoweb_bot.bot.codec import LinkUser
from leoweb_bot.bot.codec import MakeAdmin
from leoweb_bot.bot.codec import MakeDirector
from leoweb_bot.bot.codec import ManagerPage
from leoweb_bot.bot.codec import PersonCard
from leoweb_bot.bot.codec import PickUser
from leoweb_bot.bot.codec import Remove
from leoweb_bot.bot.codec import encode
from leoweb_bot.state.audit import audit_rows
from tests.kit.botchat import ADMIN
from tests.kit.botchat import DIRECTOR
from tests.kit.botchat import MANAGER
from tests.kit.botchat import MILANA
from tests.kit.botchat import ZELIMKHAN
from tests.kit.botchat import BotChat
from tests.kit.botchat import bot_chat
from tests.kit.botchat import final
from tests.kit.people import NEWCOMER
from tests.kit.people import SECOND_NEWCOMER
from tests.kit.people import commands_of
from tests.kit.people import invite_link
from tests.kit.people import people_audit
from tests.kit.people import to

REMOVED = "Вам закрыли доступ к боту."


@pytest.fixture
def chat(tmp_path: Path) -> Iterator[BotChat]:
    with bot_chat(tmp_path) as chat:
        yield chat


def join(chat: BotChat, user: int, by: int, args: str, name: str) -> None:
    token = invite_link(chat, by, args)
    assert to(chat.say(user, f"/start {token}", first_name=name), user)[0].text.startswith(
        "Здравствуйте"
    )


def test_people_lists_everyone_by_role(chat: BotChat) -> None:
    join(chat, NEWCOMER, DIRECTOR, "manager Зелимхан", "Айдана")
    join(chat, SECOND_NEWCOMER, ADMIN, "admin", "Ержан")
    people = final(chat.say(DIRECTOR, "/people"))
    assert people.text.startswith("<b>Доступ к боту</b>\n\n<b>Администраторы</b>\n")
    for line in (
        "• id <code>101</code> — из настроек",
        "• Ержан, id <code>556</code> — с 25.11.2026 14:05, добавил id 101",
        "<b>Руководители</b>\n• id <code>201</code> — из настроек",
        "• id <code>301</code> → Зелимхан — из настроек",
        "• Айдана, id <code>555</code> → Зелимхан — с 25.11.2026 14:05, добавил id 201",
        "id 201: приглашение: менеджер (Зелимхан)",
        "Айдана: вошёл по приглашению: менеджер (Зелимхан)",
        "Ержан: вошёл по приглашению: администратор",
    ):
        assert line in people.text
    # a director may act on the manager, not on the admin; nobody on the config's people
    assert [label for label, _ in people.buttons] == ["👤 Айдана", "🔄 Обновить"]
    as_admin = final(chat.say(ADMIN, "/people"))
    assert [label for label, _ in as_admin.buttons] == ["👤 Ержан", "👤 Айдана", "🔄 Обновить"]
    assert final(chat.say(MANAGER, "/people")).text.startswith("Эта команда вам недоступна")


def test_a_role_changes_in_chat_and_the_menu_follows(chat: BotChat) -> None:
    join(chat, NEWCOMER, DIRECTOR, "manager Зелимхан", "Айдана")
    people = final(chat.say(DIRECTOR, "/people"))
    card = final(chat.press(DIRECTOR, encode(PersonCard(NEWCOMER)), people))
    assert card.text.startswith("Айдана, id <code>555</code>\nРоль: менеджер (Зелимхан)\n")
    assert [label for label, _ in card.buttons] == [
        "Другой пользователь amoCRM…", "Сделать руководителем", "✖ Закрыть доступ", "⬆ Ко всем",
    ]  # fmt: skip
    sent = chat.press(DIRECTOR, encode(MakeDirector(NEWCOMER)), card)
    assert [s.text for s in to(sent, NEWCOMER)] == [
        "Ваша роль в боте теперь: руководитель. Команды — /help"
    ]
    assert "Роль: руководитель (Зелимхан)" in final(sent).text
    assert "funnel" in (commands_of(chat, NEWCOMER) or [])
    assert final(chat.say(NEWCOMER, "/funnel")).text.startswith("<b>Воронка</b>")
    # relinked as a manager of another amoCRM user
    users = final(chat.press(DIRECTOR, encode(PickUser(NEWCOMER)), card))
    chat.press(DIRECTOR, encode(LinkUser(NEWCOMER, MILANA)), users)
    assert chat.state.query("SELECT role, amocrm_user_id FROM members") == [("manager", MILANA)]
    assert final(chat.say(NEWCOMER, "/funnel")).text.startswith("Эта команда вам недоступна")
    assert [(who, action, details["role"]) for who, action, details in people_audit(chat)][-2:] == [
        (DIRECTOR, "role_changed", "director"),
        (DIRECTOR, "role_changed", "manager"),
    ]


def test_a_removed_person_loses_access_at_once_even_on_an_old_button(chat: BotChat) -> None:
    join(chat, NEWCOMER, DIRECTOR, "manager Зелимхан", "Айдана")
    report = final(chat.say(NEWCOMER, "/report"))
    assert report.text.startswith("<b>Зелимхан</b>")
    sent = chat.say(DIRECTOR, f"/remove {NEWCOMER}")
    assert [s.text for s in to(sent, DIRECTOR)] == ["Доступ закрыт: Айдана."]
    assert [s.text for s in to(sent, NEWCOMER)] == [REMOVED]
    assert commands_of(chat, NEWCOMER) is None  # deleteMyCommands: the shared menu again
    before = chat.sandbox.request_count
    assert chat.press(NEWCOMER, encode(ManagerPage(ZELIMKHAN, 0)), report) == []
    assert chat.answers()[-1]["text"].startswith("⛔ Нет доступа. Ваш Telegram id: 555")
    assert final(chat.say(NEWCOMER, "/mytasks")).text.startswith("⛔ Нет доступа")
    assert chat.sandbox.request_count == before
    who, action, details = people_audit(chat)[-1]
    assert (who, action, details["telegram_id"], details["role"]) == (
        DIRECTOR, "member_removed", NEWCOMER, "manager",
    )  # fmt: skip


def test_removing_from_the_card_asks_first(chat: BotChat) -> None:
    join(chat, NEWCOMER, DIRECTOR, "director", "Айдана")
    people = final(chat.say(ADMIN, "/people"))
    card = final(chat.press(ADMIN, encode(PersonCard(NEWCOMER)), people))
    ask = final(chat.press(ADMIN, encode(AskRemove(NEWCOMER)), card))
    assert ask.text == "Закрыть доступ к боту для Айдана?"
    assert [label for label, _ in ask.buttons] == ["✖ Закрыть доступ", "✖ Отмена"]
    sent = chat.press(ADMIN, encode(Remove(NEWCOMER)), ask)
    assert chat.answers()[-1]["text"] == "Доступ закрыт"
    assert final(sent).text.startswith("<b>Доступ к боту</b>")  # back to everyone
    assert "Айдана, id" not in final(sent).text.split("<b>Последние изменения</b>")[0]
    # the same button again: nobody to remove
    chat.press(ADMIN, encode(Remove(NEWCOMER)), ask)
    assert chat.answers()[-1]["text"].startswith("Telegram id 555 нет среди тех")


def test_a_director_may_not_touch_an_admin_nor_make_one(chat: BotChat) -> None:
    join(chat, NEWCOMER, ADMIN, "admin", "Ержан")
    join(chat, SECOND_NEWCOMER, DIRECTOR, "director", "Айдана")
    assert (
        final(chat.say(DIRECTOR, f"/remove {NEWCOMER}")).text == "Это может только администратор."
    )
    on = final(chat.say(DIRECTOR, "/people"))
    for pressed in (PersonCard(NEWCOMER), Remove(NEWCOMER), MakeDirector(NEWCOMER)):
        chat.press(DIRECTOR, encode(pressed), on)
        assert chat.answers()[-1]["text"] == "Это может только администратор."
    chat.press(DIRECTOR, encode(MakeAdmin(SECOND_NEWCOMER)), on)
    assert chat.answers()[-1]["text"] == "Это может только администратор."
    roles = dict(chat.state.query("SELECT telegram_id, role FROM members"))
    assert roles == {NEWCOMER: "admin", SECOND_NEWCOMER: "director"}


def test_a_manager_manages_no_one(chat: BotChat) -> None:
    join(chat, NEWCOMER, DIRECTOR, "director", "Айдана")
    assert final(chat.say(MANAGER, f"/remove {NEWCOMER}")).text.startswith("Эта команда")
    on = final(chat.say(MANAGER, "/help"))
    assert chat.press(MANAGER, encode(Remove(NEWCOMER)), on) == []
    assert chat.answers()[-1]["text"] == "⛔ Нет доступа"


def test_the_config_people_are_not_changed_in_chat(chat: BotChat) -> None:
    for target in (MANAGER, DIRECTOR):
        answer = final(chat.say(ADMIN, f"/remove {target}")).text
        assert answer.endswith("задана в настройках бота: изменить её можно только там.")
    assert final(chat.say(ADMIN, "/remove 12345")).text == (
        "Telegram id 12345 нет среди тех, кого впустили через бот."
    )
    assert final(chat.say(ADMIN, "/remove")).text.startswith("Формат: /remove")


def test_nobody_removes_themselves_as_the_last_admin(tmp_path: Path) -> None:
    with bot_chat(tmp_path) as chat:
        join(chat, NEWCOMER, ADMIN, "admin", "Ержан")
        # from here on, only the admin let in through the bot is an admin
        settings = chat.app.settings
        chat.app.settings = replace(settings, access=replace(settings.access, admins=()))
        assert final(chat.say(NEWCOMER, f"/remove {NEWCOMER}")).text == (
            "Нельзя: это последний администратор бота."
        )
        on = final(chat.say(NEWCOMER, "/people"))
        chat.press(NEWCOMER, encode(MakeDirector(NEWCOMER)), on)
        assert chat.answers()[-1]["text"] == "Нельзя: это последний администратор бота."
        assert chat.state.query("SELECT role FROM members") == [("admin",)]
        join(chat, SECOND_NEWCOMER, NEWCOMER, "admin", "Айдана")  # a second admin: now it may
        assert final(chat.say(NEWCOMER, f"/remove {NEWCOMER}")).text == "Доступ закрыт: Ержан."


def test_every_change_is_in_the_audit_trail_and_people_shows_the_last(chat: BotChat) -> None:
    invite_link(chat, DIRECTOR, "director")  # made, then revoked below
    join(chat, NEWCOMER, DIRECTOR, "manager Зелимхан", "Айдана")  # made and used
    people = final(chat.say(DIRECTOR, "/people"))
    chat.press(DIRECTOR, next(d for t, d in people.buttons if t.startswith("✖ Отозвать")), people)
    card = to(chat.say(SECOND_NEWCOMER, "/start", first_name="Бекзат"), ADMIN)[0]  # asks...
    chat.press(ADMIN, encode(AcceptDirector(1)), card)  # ...and is let in
    chat.press(DIRECTOR, encode(MakeDirector(NEWCOMER)), people)
    chat.say(DIRECTOR, f"/remove {SECOND_NEWCOMER}")
    trail = [(who, action) for who, action, _ in people_audit(chat)]
    assert trail == [
        (DIRECTOR, "invite_created"),
        (DIRECTOR, "invite_created"),
        (NEWCOMER, "invite_used"),
        (DIRECTOR, "invite_revoked"),
        (ADMIN, "request_decided"),
        (DIRECTOR, "role_changed"),
        (DIRECTOR, "member_removed"),
    ]
    assert all(row.at > 0 for row in audit_rows(chat.state, 100))  # and when
    changes = final(chat.say(ADMIN, "/people")).text.split("<b>Последние изменения</b>\n")[1]
    assert [line.split(" · ", 1)[1] for line in changes.split("\n")[:4]] == [
        "id 201: закрыл доступ Бекзат (руководитель)",
        "id 201: Айдана — теперь руководитель (Зелимхан)",
        "id 101: впустил Бекзат: руководитель",
        "id 201: отозвал приглашение: руководитель",
    ]
