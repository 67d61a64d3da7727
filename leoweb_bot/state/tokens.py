"""The amoCRM OAuth token pair, kept across restarts and shared by every process.

Owns no table: the pair and its lock are rows of ``kv`` (kv.py).
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from leoweb_bot.state.db import Database
from leoweb_bot.state.db import StateUnavailable
from leoweb_bot.state.kv import drop_lease
from leoweb_bot.state.kv import get_value
from leoweb_bot.state.kv import set_value
from leoweb_bot.state.kv import take_lease

TOKENS_KEY = "amocrm.tokens"
TOKEN_LOCK_KEY = "amocrm.tokens.lock"
# Longer than any grant can take (one amoCRM request gives up within 20 s, amocrm/deadline.py),
# so a live holder never loses the lock; a holder that died frees it after this long.
TOKEN_LOCK_SECONDS = 30.0


class Tokens:
    """The amoCRM client's TokenStore in the state db."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def load_tokens(self) -> dict[str, Any] | None:
        """The saved amoCRM OAuth token pair, or None."""
        raw = get_value(self.db, TOKENS_KEY)
        if raw is None:
            return None
        tokens = json.loads(raw)
        return tokens if isinstance(tokens, dict) else None

    def save_tokens(self, tokens: dict[str, Any]) -> None:
        """Replace the token pair in one statement (refresh tokens are single-use)."""
        set_value(self.db, TOKENS_KEY, json.dumps(tokens))

    @contextmanager
    def token_lock(self) -> Iterator[None]:
        """One OAuth grant at a time across every process sharing this file.

        A refresh token works once, so two workers refreshing together leave the slower one
        holding a revoked token. The lock is a lease row in ``kv``, not an open transaction:
        the grant is an HTTP call, and SQLite's write lock held through it would stall every
        webhook acknowledgement.
        """
        owner = uuid.uuid4().hex
        give_up = time.monotonic() + TOKEN_LOCK_SECONDS
        while not take_lease(self.db, TOKEN_LOCK_KEY, owner, self.db.clock(), TOKEN_LOCK_SECONDS):
            if time.monotonic() > give_up:
                raise StateUnavailable(self.db.path, "the OAuth token lock stays taken")
            time.sleep(0.05)
        try:
            yield
        finally:
            drop_lease(self.db, TOKEN_LOCK_KEY, owner)
