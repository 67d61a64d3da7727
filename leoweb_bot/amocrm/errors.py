"""The amoCRM error tree: one root, intent-named branches the bot turns into clear messages.

Status mapping follows the vendor docs (docs/amocrm.md#errors-and-html-429): 401 auth, 402 payment,
403 after 429s = blocked, 204/404 for one entity = not found, timeouts and 5xx = unavailable.
"""

from __future__ import annotations

from leoweb_bot.config import ConfigError


class AmoError(Exception):
    """Anything that went wrong talking to amoCRM."""

    def __init__(self, message: str, status: int | None = None, detail: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.detail = detail

    def __str__(self) -> str:
        prefix = f"amocrm {self.status}: " if self.status else "amocrm: "
        return prefix + self.message


class AuthError(AmoError):
    """The credentials were refused (401, wrong login/API key, revoked OAuth token)."""


class PaymentRequired(AmoError):
    """The account's subscription has ended (402): writes stop at once, reads after 30 days."""


class Blocked(AmoError):
    """The account or IP is blocked (403 after repeated 429s); only amo support lifts it."""


class Forbidden(AmoError):
    """This user or token lacks the rights for the call (403 that is not a block)."""


class NotFound(AmoError):
    """The entity does not exist (404, or 204 for a single entity)."""


class RateLimited(AmoError):
    """Still 429 after the bounded retries."""


class Unavailable(AmoError):
    """amoCRM did not answer in time or answered with a server error."""


class BadRequest(AmoError):
    """amoCRM rejected the request (400 validation errors)."""


class BadBaseUrl(AmoError, ConfigError):
    """``amocrm.base_url`` cannot be turned into a request; a config error, so never retried."""

    def __str__(self) -> str:
        return self.message  # it names the key itself, as every config error does


__all__ = [
    "AmoError",
    "AuthError",
    "BadBaseUrl",
    "BadRequest",
    "Blocked",
    "Forbidden",
    "NotFound",
    "PaymentRequired",
    "RateLimited",
    "Unavailable",
]
