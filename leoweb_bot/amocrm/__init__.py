"""amoCRM access: one client (one HTTP funnel), the v4 and v2 shapes, three auth modes, typed
errors, parsed models, a deadline per operation and a shared throttle.

May import: the standard library, ``requests``/``urllib3``, ``leoweb_bot.config`` (its settings),
``leoweb_bot.ids`` and ``leoweb_bot.pacing``. Never the bot, Telegram, the state db (tokens come
through the ``TokenStore`` protocol) or Flask.
Facts it relies on: docs/amocrm.md.
"""

from leoweb_bot.amocrm.auth import MemoryTokenStore
from leoweb_bot.amocrm.auth import TokenStore
from leoweb_bot.amocrm.client import AmoClient
from leoweb_bot.amocrm.client import build_client
from leoweb_bot.amocrm.errors import AmoError
from leoweb_bot.amocrm.errors import AuthError
from leoweb_bot.amocrm.errors import BadRequest
from leoweb_bot.amocrm.errors import Blocked
from leoweb_bot.amocrm.errors import Forbidden
from leoweb_bot.amocrm.errors import NotFound
from leoweb_bot.amocrm.errors import PaymentRequired
from leoweb_bot.amocrm.errors import RateLimited
from leoweb_bot.amocrm.errors import Unavailable
from leoweb_bot.pacing import RateLimiter

__all__ = [
    "AmoClient",
    "AmoError",
    "AuthError",
    "BadRequest",
    "Blocked",
    "Forbidden",
    "MemoryTokenStore",
    "NotFound",
    "PaymentRequired",
    "RateLimited",
    "RateLimiter",
    "TokenStore",
    "Unavailable",
    "build_client",
]
