"""Real Telegram updates, as published, for the tolerant reader (telegram/updates.py).

From Telegram's webhook guide ("Testing your bot with updates",
https://core.telegram.org/bots/webhooks#testing-your-bot-with-updates): old payloads without
``is_bot`` (and the first without ``chat.type``), on which pyTelegramBotAPI's strict parser
fails. From teloxide's update tests (crates/teloxide-core/src/types/update.rs,
https://github.com/teloxide/teloxide): captured updates of newer Bot API versions, with fields
and kinds the bot does not read. Copied as published (JSON key order aside).
"""

from __future__ import annotations

from typing import Any

Update = dict[str, Any]

_DOCS_USER = {"last_name": "Test Lastname", "id": 1111111, "first_name": "Test Firstname",
              "username": "Testusername"}  # fmt: skip
_DOCS_CHAT = {**_DOCS_USER, "type": "private"}

# -- the webhook guide -----------------------------------------------------------------------

DOCS_START_WITHOUT_CHAT_TYPE: Update = {
    "update_id": 10000,
    "message": {
        "date": 1441645532,
        "chat": {"last_name": "Test Lastname", "id": 1111111, "first_name": "Test",
                 "username": "Test"},
        "message_id": 1365,
        "from": {"last_name": "Test Lastname", "id": 1111111, "first_name": "Test",
                 "username": "Test"},
        "text": "/start",
    },
}  # fmt: skip
DOCS_START: Update = {
    "update_id": 10000,
    "message": {"date": 1441645532, "chat": _DOCS_CHAT, "message_id": 1365, "from": _DOCS_USER,
                "text": "/start"},
}  # fmt: skip
DOCS_FORWARDED: Update = {
    "update_id": 10000,
    "message": {"date": 1441645532, "chat": _DOCS_CHAT, "message_id": 1365, "from": _DOCS_USER,
                "forward_from": {"last_name": "Forward Lastname", "id": 222222,
                                 "first_name": "Forward Firstname"},
                "forward_date": 1441645550, "text": "/start"},
}  # fmt: skip
DOCS_FORWARDED_FROM_CHANNEL: Update = {
    "update_id": 10000,
    "message": {"date": 1441645532, "chat": _DOCS_CHAT, "message_id": 1365, "from": _DOCS_USER,
                "forward_from": {"id": -10000000000, "type": "channel", "title": "Test channel"},
                "forward_date": 1441645550, "text": "/start"},
}  # fmt: skip
DOCS_REPLY: Update = {
    "update_id": 10000,
    "message": {"date": 1441645532, "chat": _DOCS_CHAT, "message_id": 1365, "from": _DOCS_USER,
                "text": "/start",
                "reply_to_message": {
                    "date": 1441645000,
                    "chat": {"last_name": "Reply Lastname", "type": "private", "id": 1111112,
                             "first_name": "Reply Firstname", "username": "Testusername"},
                    "message_id": 1334, "text": "Original"}},
}  # fmt: skip
DOCS_EDITED: Update = {
    "update_id": 10000,
    "edited_message": {"date": 1441645532, "chat": _DOCS_CHAT, "message_id": 1365,
                       "from": _DOCS_USER, "text": "Edited text", "edit_date": 1441646600},
}  # fmt: skip
DOCS_ENTITIES: Update = {
    "update_id": 10000,
    "message": {"date": 1441645532, "chat": _DOCS_CHAT, "message_id": 1365, "from": _DOCS_USER,
                "text": "Bold and italics",
                "entities": [{"type": "italic", "offset": 9, "length": 7},
                             {"type": "bold", "offset": 0, "length": 4}]},
}  # fmt: skip
DOCS_AUDIO: Update = {
    "update_id": 10000,
    "message": {"date": 1441645532, "chat": _DOCS_CHAT, "message_id": 1365, "from": _DOCS_USER,
                "audio": {"file_id": "AwADBAADbXXXXXXXXXXXGBdhD2l6_XX", "duration": 243,
                          "mime_type": "audio/mpeg", "file_size": 3897500,
                          "title": "Test music file"}},
}  # fmt: skip
DOCS_INLINE_QUERY: Update = {
    "update_id": 10000,
    "inline_query": {"id": 134567890097, "from": {**_DOCS_USER, "type": "private"},
                     "query": "inline query", "offset": ""},
}  # fmt: skip
DOCS_CHOSEN_INLINE_RESULT: Update = {
    "update_id": 10000,
    "chosen_inline_result": {"result_id": "12", "from": {**_DOCS_USER, "type": "private"},
                             "query": "inline query", "inline_message_id": "1234csdbsk4839"},
}  # fmt: skip
DOCS_CALLBACK_QUERY: Update = {
    "update_id": 10000,
    "callback_query": {"id": "4382bfdwdsb323b2d9", "from": {**_DOCS_USER, "type": "private"},
                       "data": "Data from button callback",
                       "inline_message_id": "1234csdbsk4839"},
}  # fmt: skip

# -- teloxide's update tests -----------------------------------------------------------------

_WAFFLE = {"id": 218485655, "is_bot": False, "first_name": "Waffle", "username": "WaffleLapkin",
           "language_code": "en"}  # fmt: skip
TELOXIDE_PRIVATE_TEXT: Update = {
    "update_id": 892252934,
    "message": {"message_id": 6557, "from": _WAFFLE,
                "chat": {"id": 218485655, "first_name": "Waffle", "username": "WaffleLapkin",
                         "type": "private"},
                "date": 1569518342, "text": "hello there",
                "link_preview_options": {"is_disabled": True}},
}  # fmt: skip
_CRYPTO_CHAT = {"id": -1001293752024, "title": "CryptoInside Chat", "type": "supergroup",
                "username": "cryptoinside_talk"}  # fmt: skip
_STORY_MESSAGE = {
    "chat": _CRYPTO_CHAT, "date": 1721592028,
    "from": {"first_name": "Wert", "id": 6962620676, "is_bot": False, "username": "WertCrypto"},
    "message_id": 134545,
    "story": {"chat": {"id": -1002149282975, "title": "TON Spin", "type": "channel",
                       "username": "TONSpinChannel"}, "id": 2},
}  # fmt: skip
TELOXIDE_STORY: Update = {"message": _STORY_MESSAGE, "update_id": 439432599}
TELOXIDE_GROUP_REPORT_REPLYING_TO_A_STORY: Update = {
    "message": {"chat": _CRYPTO_CHAT, "date": 1721592580,
                "entities": [{"length": 7, "offset": 0, "type": "bot_command"}],
                "from": {"first_name": "the Cable Guy", "id": 5964236329, "is_bot": False,
                         "language_code": "en", "username": "spacewhaleblues"},
                "message_id": 134546, "message_thread_id": 134545,
                "reply_to_message": _STORY_MESSAGE, "text": "/report"},
    "update_id": 439432600,
}  # fmt: skip
_TELOXIDE_DEV = {"id": -1001276785818, "title": "teloxide dev", "type": "supergroup",
                 "username": "teloxide_dev"}  # fmt: skip
_HIRROLOT = {"first_name": "Hirrolot", "id": 408258968, "is_bot": False, "username": "hirrolot"}
TELOXIDE_PINNED: Update = {
    "message": {"chat": _TELOXIDE_DEV, "date": 1582134655, "from": _HIRROLOT, "message_id": 20225,
                "pinned_message": {"chat": _TELOXIDE_DEV, "date": 1582134643, "from": _HIRROLOT,
                                   "message_id": 20224, "text": "Faster than a bullet"}},
    "update_id": 845402291,
}  # fmt: skip
TELOXIDE_DICE: Update = {
    "message": {"chat": {**_TELOXIDE_DEV, "title": "bla bla bla chat"}, "date": 1596014550,
                "dice": {"emoji": "🎲", "value": 2},
                "from": {**_HIRROLOT, "language_code": "en"}, "message_id": 35410},
    "update_id": 573255266,
}  # fmt: skip
TELOXIDE_MY_CHAT_MEMBER: Update = {
    "update_id": 0,
    "my_chat_member": {
        "chat": {"id": 0, "first_name": "FN", "last_name": "LN", "username": "UN",
                 "type": "private"},
        "from": {"id": 0, "is_bot": False, "first_name": "FN", "last_name": "LN",
                 "username": "UN"},
        "date": 1644677726,
        "old_chat_member": {"user": {"id": 1, "is_bot": True, "first_name": "bot",
                                     "username": "unBot"}, "status": "member"},
        "new_chat_member": {"user": {"id": 1, "is_bot": True, "first_name": "bot",
                                     "username": "unBot"}, "status": "kicked", "until_date": 0},
    },
}  # fmt: skip
_SHADOWCHAIN = {"id": 1459074222, "is_bot": False, "first_name": "shadowchain",
                "username": "shdwchn10", "language_code": "en", "is_premium": True}  # fmt: skip
TELOXIDE_MESSAGE_REACTION: Update = {
    "update_id": 71651249,
    "message_reaction": {"chat": {"id": -1002184233434, "title": "Test", "type": "supergroup"},
                         "message_id": 35, "user": _SHADOWCHAIN, "date": 1721306082,
                         "old_reaction": [], "new_reaction": [{"type": "emoji", "emoji": "🌭"}]},
}  # fmt: skip
_TEST_CHANNEL = {"id": -1002236736395, "title": "Test", "type": "channel"}
TELOXIDE_REACTION_COUNT: Update = {
    "update_id": 71651251,
    "message_reaction_count": {
        "chat": _TEST_CHANNEL, "message_id": 36, "date": 1721306391,
        "reactions": [{"type": {"type": "emoji", "emoji": "🗿"}, "total_count": 2},
                      {"type": {"type": "emoji", "emoji": "🌭"}, "total_count": 1}]},
}  # fmt: skip
TELOXIDE_CHAT_BOOST: Update = {
    "update_id": 71651297,
    "chat_boost": {"chat": _TEST_CHANNEL,
                   "boost": {"boost_id": "4506e1b7e866e33fcbde78fe1746ec3a",
                             "add_date": 1721399621, "expiration_date": 1745088963,
                             "source": {"source": "premium", "user": _SHADOWCHAIN}}},
}  # fmt: skip
TELOXIDE_NEW_UPDATE_KIND: Update = {"new_update_kind": {"some_field_idk": 1}, "update_id": 1}

# Updates the bot does not act on: none of them may be an error.
NOT_FOR_THE_BOT = {
    "docs_edited": DOCS_EDITED,
    "docs_audio": DOCS_AUDIO,
    "docs_inline_query": DOCS_INLINE_QUERY,
    "docs_chosen_inline_result": DOCS_CHOSEN_INLINE_RESULT,
    "teloxide_story": TELOXIDE_STORY,
    "teloxide_pinned": TELOXIDE_PINNED,
    "teloxide_dice": TELOXIDE_DICE,
    "teloxide_my_chat_member": TELOXIDE_MY_CHAT_MEMBER,
    "teloxide_message_reaction": TELOXIDE_MESSAGE_REACTION,
    "teloxide_reaction_count": TELOXIDE_REACTION_COUNT,
    "teloxide_chat_boost": TELOXIDE_CHAT_BOOST,
    "teloxide_new_update_kind": TELOXIDE_NEW_UPDATE_KIND,
}
