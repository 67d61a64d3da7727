"""amoCRM access for the bot: one client, three auth modes, typed errors, parsed models."""

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
from leoweb_bot.amocrm.limiter import RateLimiter

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
