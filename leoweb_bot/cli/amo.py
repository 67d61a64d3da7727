"""The amoCRM client of a one-shot command (``report``, ``check``)."""

from __future__ import annotations

from pathlib import Path

from leoweb_bot.amocrm import AmoClient
from leoweb_bot.amocrm import build_client
from leoweb_bot.amocrm.deadline import ONE_SHOT
from leoweb_bot.amocrm.limiter import server_budget
from leoweb_bot.config import Settings
from leoweb_bot.state import State
from leoweb_bot.state.tokens import Tokens


def one_shot_client(settings: Settings) -> AmoClient:
    """A client that gives up sooner than the server's (``deadline.ONE_SHOT``). OAuth keeps its
    rotating refresh token in the state db, shared with the server; other modes need no store.
    Beside a server's state db it takes its requests from the server's amoCRM budget."""
    store = Tokens(State(settings.bot.state_path)) if settings.amocrm.auth == "oauth" else None
    budget = None
    if settings.bot.state_path and Path(settings.bot.state_path).exists():
        budget = server_budget(settings.bot.state_path, settings.amocrm.rate_limit)
    return build_client(settings.amocrm, token_store=store, policy=ONE_SHOT, limiter=budget)
