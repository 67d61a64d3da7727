"""Credentials the sandbox accepts: a long-lived token, OAuth2 codes/tokens, v2 sessions.

Lifetimes follow docs/amocrm.md#authentication: a v2 session lasts ``session_ttl`` (15 min) from
login; an OAuth access token ``access_token_ttl`` (24 h); a refresh token works exactly once;
the authorization code works once. Expiry is judged by the sandbox's injectable ``clock``.
Tokens are JWT-shaped (header.claims.signature with ``exp``) because real access tokens are
JWTs and some clients read ``exp``; the signature is random, not verifiable.
"""

from __future__ import annotations

import base64
import hmac
import json
import secrets
import threading
import uuid
from collections.abc import Callable
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

Json = dict[str, Any]

REDIRECT_URI = "https://bot.example.com/amocrm/oauth"
_LONG_LIVED_YEARS = 5  # the longest a long-lived token can live (docs/amocrm.md#authentication)
# OAuth failures look like league/oauth2-server problems, as amoCRM's do (amocrm-api-php#123).
_OAUTH_PROBLEM = "https://developers.amocrm.ru/v3/errors/OAuthProblemJson"


@dataclass(frozen=True)
class Credentials:
    token: str  # long-lived v4 bearer token (never expires in the sandbox)
    login: str  # v2 USER_LOGIN (an e-mail)
    api_key: str  # v2 USER_HASH
    client_id: str
    client_secret: str
    redirect_uri: str
    auth_code: str  # one-time OAuth code, exchangeable once at /oauth2/access_token

    def __repr__(self) -> str:
        # Secrets stay out of logs and tracebacks even in the sandbox.
        return f"Credentials(login={self.login!r}, client_id={self.client_id!r}, ...)"


class OAuthFailure(Exception):
    def __init__(self, status: int, hint: str) -> None:
        super().__init__(hint)
        self.status = status
        self.hint = hint

    def body(self) -> Json:
        return {
            "hint": self.hint,
            "title": "Некорректный запрос",
            "type": _OAUTH_PROBLEM,
            "status": self.status,
            "detail": "В запросе отсутствует ряд параметров или параметры невалидны",
        }


def _b64(payload: Json) -> str:
    raw = json.dumps(payload, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _jwt(claims: Json) -> str:
    header = {"typ": "JWT", "alg": "RS256"}
    return f"{_b64(header)}.{_b64(claims)}.{secrets.token_urlsafe(32)}"


def _same(a: str, b: str) -> bool:
    return hmac.compare_digest(a.encode(), b.encode())


class Gatekeeper:
    """Issues and checks every kind of sandbox credential; safe to share between threads."""

    def __init__(
        self,
        *,
        login: str,
        account_id: int,
        user_id: int,
        clock: Callable[[], float],
        session_ttl: int,
        access_token_ttl: int,
    ) -> None:
        self._clock = clock
        self._session_ttl = session_ttl
        self._access_ttl = access_token_ttl
        self._claims = {"account_id": account_id, "sub": str(user_id), "scopes": ["crm"]}
        client_id = str(uuid.uuid4())
        self.credentials = Credentials(
            token=self._token(client_id, _LONG_LIVED_YEARS * 365 * 86400),
            login=login,
            api_key=secrets.token_hex(20),  # USER_HASH was a 40-hex-digit key
            client_id=client_id,
            client_secret=secrets.token_urlsafe(48),
            redirect_uri=REDIRECT_URI,
            auth_code="def50200" + secrets.token_hex(64),
        )
        self._lock = threading.Lock()
        self._code_used = False
        self._access: dict[str, float] = {}  # access token -> expiry
        self._refresh: dict[str, bool] = {}  # refresh token -> already used
        self._sessions: dict[str, float] = {}  # session_id -> expiry

    def _token(self, audience: str, ttl: int) -> str:
        now = int(self._clock())
        claims = {**self._claims, "aud": audience, "jti": uuid.uuid4().hex}
        return _jwt({**claims, "iat": now, "nbf": now, "exp": now + ttl})

    def bearer_ok(self, authorization: str | None) -> bool:
        scheme, _, token = (authorization or "").partition(" ")
        if scheme.lower() != "bearer" or not token:
            return False
        if _same(token.strip(), self.credentials.token):
            return True
        with self._lock:
            expiry = self._access.get(token.strip())
        return expiry is not None and self._clock() < expiry

    def password_ok(self, login: str | None, api_key: str | None) -> bool:
        return (
            login is not None
            and api_key is not None
            and _same(login.strip().lower(), self.credentials.login)
            and _same(api_key.strip(), self.credentials.api_key)
        )

    def open_session(self) -> str:
        session_id = secrets.token_hex(16)
        with self._lock:
            self._sessions[session_id] = self._clock() + self._session_ttl
        return session_id

    def session_ok(self, session_id: str | None) -> bool:
        with self._lock:
            expiry = self._sessions.get(session_id or "")
        return expiry is not None and self._clock() < expiry

    def grant(self, params: Mapping[str, str]) -> Json:
        """POST /oauth2/access_token; raises OAuthFailure with amoCRM's hint texts."""
        creds = self.credentials
        if not (
            _same(params.get("client_id", ""), creds.client_id)
            and _same(params.get("client_secret", ""), creds.client_secret)
        ):
            raise OAuthFailure(400, "Client authentication failed")
        if params.get("redirect_uri") != creds.redirect_uri:
            # amoCRM wants the integration's exact redirect URI on both grants
            # (docs/amocrm.md#authentication).
            raise OAuthFailure(400, "redirect_uri does not match the integration's settings")
        grant_type = params.get("grant_type")
        with self._lock:
            if grant_type == "authorization_code":
                self._spend_code(params.get("code", ""))
            elif grant_type == "refresh_token":
                self._spend_refresh(params.get("refresh_token", ""))
            else:
                raise OAuthFailure(400, "The authorization grant type is not supported")
            return self._issue_pair()

    def _spend_code(self, code: str) -> None:
        if not _same(code, self.credentials.auth_code):
            raise OAuthFailure(400, "Cannot decrypt the authorization code")
        if self._code_used:
            raise OAuthFailure(400, "Authorization code has been revoked")
        self._code_used = True

    def _spend_refresh(self, refresh_token: str) -> None:
        used = self._refresh.get(refresh_token)
        if used is None:
            raise OAuthFailure(400, "Cannot decrypt the refresh token")
        if used:
            # Reusing a refresh token is a 401 (docs/amocrm.md#authentication).
            raise OAuthFailure(401, "Token has been revoked")
        self._refresh[refresh_token] = True

    def _issue_pair(self) -> Json:
        now = int(self._clock())
        access = self._token(self.credentials.client_id, self._access_ttl)
        refresh = "def50200" + secrets.token_hex(96)
        self._access[access] = now + self._access_ttl
        self._refresh[refresh] = False
        return {
            "token_type": "Bearer",
            "expires_in": self._access_ttl,
            "access_token": access,
            "refresh_token": refresh,
            "server_time": now,
        }
