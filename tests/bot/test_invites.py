"""Invite links through the real stack: made by /invite (typed or walked through buttons),
opened as /start <token>; forged, reused, expired and revoked links let nobody in."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path

import pytest

from leoweb_bot.bot.codec import InviteAdmin
from leoweb_bot.bot.codec import InviteDirector
from leoweb_bot.bot.codec import InviteUser
from leoweb_bot.bot.codec import encode
from tests.kit.botchat import ADMIN
from tests.kit.botchat import DIRECTOR
from tests.kit.botchat import GROUP
from tests.kit.botchat import MANAGER
from tests.kit.botchat import MILANA
from tests.kit.botchat import NOW
from tests.kit.botchat import ZELIMKHAN
from tests.kit.botchat import BotChat
from tests.kit.botchat import Sent
from tests.kit.botchat import bot_chat
from tests.kit.botchat import final
from tests.kit.people import DAY
from tests.kit.people import NEWCOMER
from tests.kit.people import SECOND_NEWCOMER
from tests.kit.people import WELCOME
from tests.kit.people import commands_of
from tests.kit.people import data_of
from tests.kit.people import invite_link
from tests.kit.people import people_audit
from tests.kit.people import to

INVALID = "Эта ссылка-приглашение недействительна.\nПопросить доступ у руководителя — /start"


@pytest.fixture
def chat(tmp_path: Path) -> Iterator[BotChat]:
    with bot_chat(tmp_path) as chat:
        yield chat


def test_a_director_adds_a_manager_whose_first_mytasks_are_their_own(chat: BotChat) -> None:
    token = invite_link(chat, DIRECTOR, "manager Милана")
    sent = chat.say(NEWCOMER, f"/start {token}", first_name="Айдана", username="aidana")
    welcome = to(sent, NEWCOMER)[0].text
    assert welcome.startswith(WELCOME.format("Айдана")) and "Ваша роль: менеджер." in welcome
    assert "/mytasks" in welcome and "/funnel" not in welcome
    notice = to(sent, DIRECTOR)[0].text
    assert notice == (
        "✅ Айдана (@aidana), id <code>555</code> вошёл в бот по вашему приглашению: "
        "менеджер (Милана)."
    )
    assert commands_of(chat, NEWCOMER) == [
        "start", "help", "whoami", "report", "mytasks", "done", "lead", "contact", "chart",
        "subscribe", "unsubscribe", "subscriptions",
    ]  # fmt: skip
    mine = final(chat.say(NEWCOMER, "/mytasks")).text
    assert mine.startswith("<b>Ваши задачи</b>")
    assert "Милана" in final(chat.say(NEWCOMER, "/report")).text  # her own line, as Милана


def test_the_token_is_128_random_bits_kept_only_as_its_hash(chat: BotChat) -> None:
    token = invite_link(chat, DIRECTOR, "director")
    assert len(token) == 22  # token_urlsafe(16): 16 random bytes
    hashes = [row[0] for row in chat.state.query("SELECT token_hash FROM invites")]
    assert hashes == [hashlib.sha256(token.encode()).hexdigest()]
    files = chat.state.path.parent.glob(f"{chat.state.path.name}*")  # the db, its WAL
    assert token.encode() not in b"".join(file.read_bytes() for file in files)
    for _, _, details in people_audit(chat):
        assert token not in str(details)


@pytest.mark.parametrize(
    "token",
    ["AAAAAAAAAAAAAAAAAAAAAA", "x" * 64, "../../etc", "ссылка", "a" * 65, "' OR 1=1 --"],
)
def test_a_forged_token_lets_nobody_in(chat: BotChat, token: str) -> None:
    invite_link(chat, DIRECTOR, "director")  # a real one exists, and is not this
    sent = chat.say(NEWCOMER, f"/start {token}")
    assert [s.text for s in sent] == [INVALID]
    assert final(chat.say(NEWCOMER, "/report")).text.startswith("⛔ Нет доступа")


def test_a_used_link_works_once(chat: BotChat) -> None:
    token = invite_link(chat, DIRECTOR, "manager Зелимхан")
    assert to(chat.say(NEWCOMER, f"/start {token}"), NEWCOMER)[0].text.startswith("Здравствуйте")
    second = chat.say(SECOND_NEWCOMER, f"/start {token}")
    assert [s.text for s in second] == [
        "Эта ссылка-приглашение уже использована.\nПопросить доступ у руководителя — /start"
    ]
    assert final(chat.say(SECOND_NEWCOMER, "/mytasks")).text.startswith("⛔ Нет доступа")
    # the one let in, opening it again, already has access
    again = final(chat.say(NEWCOMER, f"/start {token}")).text
    assert again == "У вас уже есть доступ (менеджер); ссылка не использована."


def test_an_expired_link_lets_nobody_in(chat: BotChat) -> None:
    token = invite_link(chat, DIRECTOR, "director")
    chat.app.clock = lambda: NOW + 7 * DAY  # invite_days = 7: valid until, not at, that second
    sent = chat.say(NEWCOMER, f"/start {token}")
    assert [s.text for s in sent] == [
        "Срок этой ссылки-приглашения истёк.\nПопросить доступ у руководителя — /start"
    ]


def test_a_revoked_link_lets_nobody_in(chat: BotChat) -> None:
    token = invite_link(chat, DIRECTOR, "manager Милана")
    people = final(chat.say(DIRECTOR, "/people"))
    assert "менеджер (Милана) — до 02.12.2026 14:05, создал id 201" in people.text
    revoked = final(chat.press(DIRECTOR, data_of(people, "Отозвать"), people))
    assert "<b>Приглашения</b>" not in revoked.text
    assert chat.answers()[-1]["text"] == "Приглашение отозвано"
    sent = chat.say(NEWCOMER, f"/start {token}")
    assert sent[0].text.startswith("Эту ссылку-приглашение отозвали.")
    # pressing the old ✖ again changes nothing
    chat.press(DIRECTOR, data_of(people, "Отозвать"), people)
    assert chat.answers()[-1]["text"] == "Приглашение уже использовано или отозвано"
    actions = [(who, action) for who, action, _ in people_audit(chat)]
    assert actions == [(DIRECTOR, "invite_created"), (DIRECTOR, "invite_revoked")]


def test_a_manager_may_not_invite(chat: BotChat) -> None:
    assert final(chat.say(MANAGER, "/invite director")).text.startswith(
        "Эта команда вам недоступна"
    )
    # nor through a forged button
    on = final(chat.say(DIRECTOR, "/invite"))
    assert chat.press(MANAGER, encode(InviteDirector()), on) == []
    assert chat.answers()[-1]["text"] == "⛔ Нет доступа"
    assert chat.state.query("SELECT COUNT(*) FROM invites") == [(0,)]


def test_a_director_may_not_make_an_admin(chat: BotChat) -> None:
    answer = final(chat.say(DIRECTOR, "/invite admin")).text
    assert answer == "Это может только администратор."
    choice = final(chat.say(DIRECTOR, "/invite"))
    assert [label for label, _ in choice.buttons] == ["Менеджера…", "Руководителя"]
    assert chat.press(DIRECTOR, encode(InviteAdmin()), choice) == []
    assert chat.answers()[-1]["text"] == "⛔ Нет доступа"
    assert chat.state.query("SELECT COUNT(*) FROM invites") == [(0,)]
    # an admin may
    token = invite_link(chat, ADMIN, "admin")
    welcome = to(chat.say(NEWCOMER, f"/start {token}"), NEWCOMER)[0].text
    assert "Ваша роль: администратор." in welcome and "/version" in welcome


def test_the_buttons_walk_role_then_amocrm_user(chat: BotChat) -> None:
    choice = final(chat.say(ADMIN, "/invite"))
    assert [label for label, _ in choice.buttons] == [
        "Менеджера…",
        "Руководителя",
        "Администратора",
    ]
    token = invite_link(chat, DIRECTOR, "manager Зелимхан")
    chat.say(NEWCOMER, f"/start {token}")  # Зелимхан is now linked twice: the config and here
    users = final(chat.press(ADMIN, data_of(choice, "Менеджера"), choice))
    assert users.text.startswith("Кто этот менеджер в amoCRM?")
    labels = dict((data, label) for label, data in users.buttons)
    assert labels[encode(InviteUser(ZELIMKHAN))] == "🔗 Зелимхан"
    assert labels[encode(InviteUser(MILANA))] == "🔗 Милана"  # in [access.managers]
    unlinked = [label for label in labels.values() if not label.startswith("🔗")]
    assert unlinked, "the sandbox has managers nobody is linked to"
    link = final(chat.press(ADMIN, encode(InviteUser(MILANA)), users))
    assert link.message_id == users.message_id  # in place
    assert link.text.startswith("🔗 Приглашение: менеджер (Милана).")
    # an amoCRM user that does not exist is no link
    chat.press(ADMIN, encode(InviteUser(999)), users)
    assert chat.answers()[-1]["text"] == "Этого пользователя нет среди активных в amoCRM"


def test_a_typed_name_that_matches_several_or_none_offers_the_users(chat: BotChat) -> None:
    none = final(chat.say(DIRECTOR, "/invite manager Никто"))
    assert none.text == "Пользователь amoCRM «Никто» не найден. Выберите:"
    assert len(none.buttons) == len(
        [u for u in chat.sandbox.data.users if u["rights"]["is_active"]]
    )
    by_id = final(chat.say(DIRECTOR, f"/invite manager {MILANA}"))
    assert by_id.text.startswith("🔗 Приглашение: менеджер (Милана).")
    assert final(chat.say(DIRECTOR, "/invite boss")).text.startswith("Формат: /invite")


def test_a_person_of_the_config_keeps_their_role(chat: BotChat) -> None:
    token = invite_link(chat, ADMIN, "manager Милана")
    answer = final(chat.say(DIRECTOR, f"/start {token}")).text
    assert answer == "У вас уже есть доступ (руководитель); ссылка не использована."
    assert chat.state.query("SELECT COUNT(*) FROM members") == [(0,)]


def test_invites_are_made_in_the_private_chat_only(chat: BotChat) -> None:
    answer = final(chat.say(DIRECTOR, "/invite director", chat=GROUP, chat_type="group")).text
    assert answer.startswith("Приглашения — только в личном чате с ботом")
    in_group = Sent("sendMessage", GROUP, "", 1, None)
    assert chat.press(DIRECTOR, encode(InviteDirector()), in_group) == []
    assert chat.answers()[-1]["text"] == "⛔ Нет доступа"
    assert chat.state.query("SELECT COUNT(*) FROM invites") == [(0,)]
