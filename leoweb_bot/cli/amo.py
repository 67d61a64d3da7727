"""The amoCRM client of a one-shot command (``report``, ``check``)."""

from __future__ import annotations

from leoweb_bot.amocrm import AmoClient
from leoweb_bot.amocrm import build_client
from leoweb_bot.amocrm.deadline import ONE_SHOT
from leoweb_bot.config import Settings
from leoweb_bot.state import State
from leoweb_bot.state.tokens import Tokens


def one_shot_client(settings: Settings) -> AmoClient:
    """A client that gives up sooner than the server's (``deadline.ONE_SHOT``). OAuth keeps its
    rotating refresh token in the state db, shared with the server; other modes need no store."""
    store = Tokens(State(settings.bot.state_path)) if settings.amocrm.auth == "oauth" else None
    return build_client(settings.amocrm, token_store=store, policy=ONE_SHOT)
