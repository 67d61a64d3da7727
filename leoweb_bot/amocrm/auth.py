"""The three ways to log in to amoCRM, each a ``requests`` auth object that never shows its secret.

* ``TokenAuth`` — API v4 with a long-lived token (1 day – 5 years, no refresh).
* ``OAuth`` — API v4 with the code flow: the access token lives 24 h, the refresh token 3 months
  and is single-use, so every rotated pair is persisted before it is used, and one
  process at a time spends it, under the store's lock.
* ``SessionAuth`` — legacy API v2: ``auth.php`` with login + API key, cookie ``session_id`` that
  lives 15 minutes.

Facts: docs/amocrm.md#authentication.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import Any
from typing import Protocol

import requests

from leoweb_bot.amocrm.errors import AmoError
from leoweb_bot.amocrm.errors import AuthError
from leoweb_bot.amocrm.transport import Transport
from leoweb_bot.amocrm.transport import describe
from leoweb_bot.amocrm.transport import json_or_error
from leoweb_bot.config import AmoSettings

logger = logging.getLogger(__name__)

REFRESH_MARGIN = 5 * 60  # refresh an access token this close to its expiry
SESSION_TTL = 14 * 60  # v2 sessions live 15 minutes; log in again a minute early
DEFAULT_EXPIRES_IN = 86400  # access tokens live 24 h
# auth.php error codes (docs/amocrm.md#authentication)
LOGIN_ERRORS = {
    "101": "no such amoCRM account: check amocrm.base_url",
    "110": "wrong login or API key: check amocrm.login and amocrm.api_key",
    "111": "too many failed logins: log in once in a browser (captcha), then try again",
    "112": "this user is disabled or not a member of the account",
    "113": "this server's IP address is not on the account's API whitelist",
}


class TokenStore(Protocol):
    """Where the rotated OAuth pair survives restarts (implemented by ``state.tokens.Tokens``)."""

    def load_tokens(self) -> dict[str, Any] | None: ...

    def save_tokens(self, tokens: dict[str, Any]) -> None: ...

    def token_lock(self) -> AbstractContextManager[Any]:
        """Held around every grant, by one user of the store at a time (processes included)."""
        ...


class MemoryTokenStore:
    """A store that forgets on exit: only for tests and one-shot CLI runs."""

    def __init__(self, tokens: dict[str, Any] | None = None) -> None:
        self.tokens = dict(tokens) if tokens else None
        self._lock = threading.Lock()

    def token_lock(self) -> AbstractContextManager[Any]:
        return self._lock

    def load_tokens(self) -> dict[str, Any] | None:
        return dict(self.tokens) if self.tokens else None

    def save_tokens(self, tokens: dict[str, Any]) -> None:
        self.tokens = dict(tokens)


class AmoAuth(requests.auth.AuthBase):
    """What the client needs from an auth mode: headers, readiness, recovery after a 401."""

    api = "v4"
    remedy = ""

    def prepare(self, http: Transport) -> bool:
        """Make sure credentials are usable; True if this just logged in or refreshed."""
        return False

    def renew(self, http: Transport, response: requests.Response) -> bool:
        """After a 401, get fresh credentials; True if the call is worth repeating once."""
        return False

    def token_info(self) -> dict[str, int] | None:
        return None

    def secrets(self) -> tuple[str, ...]:
        return ()

    def redact(self, text: str) -> str:
        """``text`` with every credential this object knows replaced by ``***``."""
        for secret in self.secrets():
            if secret and len(secret) >= 4:
                text = text.replace(secret, "***")
        return text


class TokenAuth(AmoAuth):
    """A long-lived token sent as ``Authorization: Bearer``; nothing to refresh."""

    remedy = "generate a new long-lived token (Settings → Integrations → Keys), set amocrm.token"

    def __init__(self, token: str) -> None:
        self._token = token

    def __call__(self, r: requests.PreparedRequest) -> requests.PreparedRequest:
        r.headers["Authorization"] = f"Bearer {self._token}"
        return r

    def secrets(self) -> tuple[str, ...]:
        return (self._token,)

    def __repr__(self) -> str:
        return "TokenAuth(token=***)"


class OAuth(AmoAuth):
    """The OAuth 2.0 code flow with single-use refresh tokens, safe across threads."""

    remedy = "issue a new authorization code for the integration and set amocrm.auth_code"

    def __init__(
        self,
        base_url: str,
        *,
        client_id: str,
        client_secret: str,
        redirect_uri: str,
        auth_code: str,
        store: TokenStore,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._token_url = f"{base_url.rstrip('/')}/oauth2/access_token"
        self._client = {
            "client_id": client_id,
            "client_secret": client_secret,
            "redirect_uri": redirect_uri,
        }
        self._auth_code = auth_code
        self._store = store
        self._clock = clock
        # One lock for every token decision: two threads must never spend the same refresh token.
        self._lock = threading.RLock()
        self._tokens: dict[str, Any] | None = None
        self._unsaved: dict[str, Any] | None = None
        self._code_spent = False

    def __call__(self, r: requests.PreparedRequest) -> requests.PreparedRequest:
        if self._tokens:
            r.headers["Authorization"] = f"Bearer {self._tokens['access_token']}"
        return r

    def prepare(self, http: Transport) -> bool:
        with self._lock:
            if self._unsaved:
                self._adopt(self._unsaved)
            if self._tokens is None or self._expiring():
                self._sync_from_store()
            if self._tokens is not None and not self._expiring():
                return False
            with self._store.token_lock():
                # Whoever held the lock before us may have rotated the pair: then it is fresh.
                self._sync_from_store()
                if self._tokens is None or self._expiring():
                    self._rotate(http)
            return True

    def renew(self, http: Transport, response: requests.Response) -> bool:
        sent = response.request.headers.get("Authorization") if response.request else None
        with self._lock, self._store.token_lock():
            self._sync_from_store()
            if self._tokens and sent != f"Bearer {self._tokens['access_token']}":
                return True  # another thread or process refreshed while this call was in flight
            self._rotate(http)
            return True

    def refresh(self, http: Transport) -> None:
        """Rotate the pair now (the keep-alive job calls this so the refresh token never idles out)."""
        with self._lock, self._store.token_lock():
            self._sync_from_store()
            self._rotate(http)

    def token_info(self) -> dict[str, int] | None:
        with self._lock:
            if self._tokens is None:
                self._sync_from_store()
            if self._tokens is None:
                return None
            return {k: int(self._tokens[k]) for k in ("expires_at", "refreshed_at")}

    def secrets(self) -> tuple[str, ...]:
        tokens = self._tokens or {}
        return (
            self._client["client_secret"],
            self._auth_code,
            str(tokens.get("access_token") or ""),
            str(tokens.get("refresh_token") or ""),
        )

    def __repr__(self) -> str:
        state = "tokens loaded" if self._tokens else "no tokens"
        return f"OAuth(client_id={self._client['client_id']!r}, client_secret=***, {state})"

    def _expiring(self) -> bool:
        assert self._tokens is not None
        return float(self._tokens["expires_at"]) - self._clock() <= REFRESH_MARGIN

    def _sync_from_store(self) -> None:
        # Another process (a gunicorn worker, the CLI) may have rotated the pair since we read it;
        # its refresh token is then the only live one.
        stored = self._store.load_tokens()
        if stored and stored.get("access_token") and stored.get("refresh_token"):
            stored.setdefault("expires_at", 0)
            stored.setdefault("refreshed_at", 0)
            self._tokens = stored

    def _rotate(self, http: Transport) -> None:
        """A new pair from the refresh token, or from the code when there is none yet.

        Only under the store's lock, right after reading the store: the refresh token spent is
        then the live one, never one another process has already spent.
        """
        if self._tokens is None:
            self._exchange_code(http)
        else:
            self._refresh(http)

    def _exchange_code(self, http: Transport) -> None:
        if not self._auth_code or self._code_spent:
            raise AuthError(f"no usable OAuth tokens: {self.remedy}")
        self._code_spent = True  # single-use: never send the same code twice from this process
        grant = {"grant_type": "authorization_code", "code": self._auth_code}
        self._grant(
            http, grant, f"amoCRM refused amocrm.auth_code (it is single-use): {self.remedy}"
        )
        logger.info("amoCRM OAuth: exchanged the authorization code for tokens")

    def _refresh(self, http: Transport) -> None:
        assert self._tokens is not None
        grant = {"grant_type": "refresh_token", "refresh_token": self._tokens["refresh_token"]}
        try:
            self._grant(http, grant, f"amoCRM refused the refresh token: {self.remedy}")
        except AuthError:
            if not self._auth_code or self._code_spent:
                raise
            # The admin may have issued a new code after a revocation: try it before giving up.
            logger.warning("amoCRM OAuth: refresh token refused; trying amocrm.auth_code")
            self._exchange_code(http)
            return
        logger.info("amoCRM OAuth: tokens refreshed")

    def _grant(self, http: Transport, grant: dict[str, str], refused: str) -> None:
        # Not idempotent: a grant that reached amoCRM has spent the code or refresh token.
        response = http.send(
            "POST", self._token_url, json={**self._client, **grant}, idempotent=False
        )
        if response.status_code in (400, 401):
            message, detail = describe(response)  # e.g. hint "Token has been revoked"
            raise AuthError(refused, response.status_code, self.redact(detail or message))
        if not response.ok:
            raise http.fail(response)
        payload = json_or_error(response)
        if not isinstance(payload, dict) or not payload.get("refresh_token"):
            raise AmoError("the OAuth token endpoint answered without a token pair")
        now = int(self._clock())
        self._adopt(
            {
                "access_token": str(payload["access_token"]),
                "refresh_token": str(payload["refresh_token"]),
                "expires_at": now + int(payload.get("expires_in") or DEFAULT_EXPIRES_IN),
                "refreshed_at": now,
            }
        )

    def _adopt(self, tokens: dict[str, Any]) -> None:
        # Persist first: the old refresh token is already spent, so a pair used but not saved
        # would be lost on a crash. If saving fails, keep it aside and save before its first use.
        self._unsaved = tokens
        try:
            self._store.save_tokens(dict(tokens))
        except Exception:
            logger.error("amoCRM OAuth: could not save the rotated tokens; will retry before use")
            raise
        self._tokens, self._unsaved = tokens, None


class SessionAuth(AmoAuth):
    """Legacy API v2 login: cookie ``session_id`` from ``auth.php``, renewed before 15 minutes."""

    api = "v2"
    remedy = "check amocrm.login and amocrm.api_key"

    def __init__(
        self, base_url: str, login: str, api_key: str, *, clock: Callable[[], float] = time.time
    ) -> None:
        self._login_url = f"{base_url.rstrip('/')}/private/api/auth.php"
        self._login = login
        self._api_key = api_key
        self._clock = clock
        self._lock = threading.Lock()
        self._session_id = ""
        self._logged_in_at = 0.0

    def __call__(self, r: requests.PreparedRequest) -> requests.PreparedRequest:
        # Set explicitly rather than trusting the cookie jar: the header then always matches the
        # session this object believes in, which lets renew() see whether it is stale.
        if self._session_id:
            r.headers["Cookie"] = f"session_id={self._session_id}"
        return r

    def prepare(self, http: Transport) -> bool:
        with self._lock:
            if self._session_id and self._clock() - self._logged_in_at < SESSION_TTL:
                return False
            self._log_in(http)
            return True

    def renew(self, http: Transport, response: requests.Response) -> bool:
        with self._lock:
            sent = response.request.headers.get("Cookie") if response.request else None
            if sent != f"session_id={self._session_id}":
                return True  # another thread logged in again while this call was in flight
            self._log_in(http)
            return True

    def secrets(self) -> tuple[str, ...]:
        return (self._api_key, self._session_id)

    def __repr__(self) -> str:
        return f"SessionAuth(login={self._login!r}, api_key=***)"

    def _log_in(self, http: Transport) -> None:
        response = http.send(
            "POST",
            self._login_url,
            params={"type": "json"},
            data={"USER_LOGIN": self._login, "USER_HASH": self._api_key},
        )
        self._raise_for_login(http, response)
        session_id = response.cookies.get("session_id")
        if not session_id:
            raise AuthError("auth.php answered without a session_id cookie", response.status_code)
        self._session_id, self._logged_in_at = session_id, self._clock()
        logger.debug("amoCRM: logged in (API v2 session)")  # routine: every 14 minutes

    def _raise_for_login(self, http: Transport, response: requests.Response) -> None:
        # Failure body: {"response": {"auth": false, "error": "...", "error_code": "110"}}
        try:
            body = response.json()
        except ValueError:
            body = None
        legacy = body.get("response") if isinstance(body, dict) else None
        legacy = legacy if isinstance(legacy, dict) else {}
        code = str(legacy.get("error_code") or "")
        if code or legacy.get("auth") is False:
            message = LOGIN_ERRORS.get(code) or f"amoCRM refused the login: {self.remedy}"
            said = [f"error_code {code}" if code else "", str(legacy.get("error") or "")]
            detail = self.redact(": ".join(part for part in said if part))
            raise AuthError(message, response.status_code, detail)
        if not response.ok:
            raise http.fail(response)


def build_auth(
    settings: AmoSettings, token_store: TokenStore | None, *, clock: Callable[[], float]
) -> AmoAuth:
    """The auth object for ``settings.auth`` (token, oauth or session)."""
    if settings.auth == "session":
        return SessionAuth(settings.base_url, settings.login, settings.api_key, clock=clock)
    if settings.auth == "oauth":
        if token_store is None:
            logger.warning(
                "amoCRM OAuth without a token store: rotated tokens die with the process"
            )
            token_store = MemoryTokenStore()
        return OAuth(
            settings.base_url,
            client_id=settings.client_id,
            client_secret=settings.client_secret,
            redirect_uri=settings.redirect_uri,
            auth_code=settings.auth_code,
            store=token_store,
            clock=clock,
        )
    return TokenAuth(settings.token)
