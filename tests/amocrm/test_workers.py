"""Two processes, one refresh token: the sandbox spends each refresh token and code once, so
two gunicorn workers granting at once must spend it once between them."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from leoweb_bot.amocrm import AmoClient
from leoweb_bot.amocrm import AmoError
from leoweb_bot.amocrm import build_client
from leoweb_bot.config import AmoSettings
from leoweb_bot.sandbox import Sandbox
from leoweb_bot.state import State
from leoweb_bot.state.tokens import Tokens


@pytest.mark.parametrize("first_start", [False, True], ids=["refresh", "code-exchange"])
def test_two_workers_granting_at_once_spend_the_single_use_token_once(
    tmp_path: Path, first_start: bool
) -> None:
    """Both workers find the pair due (or, on a first start, no pair and one code to exchange)."""
    path = tmp_path / "state.sqlite3"
    with Sandbox(tasks=1, managers=1, rate_limit=0) as sandbox:
        creds = sandbox.credentials
        settings = AmoSettings(
            base_url=sandbox.base_url or "", auth="oauth", client_id=creds.client_id,
            client_secret=creds.client_secret, redirect_uri=creds.redirect_uri,
            auth_code=creds.auth_code, rate_limit=1000,
        )  # fmt: skip
        db = State(path)
        setup = Tokens(db)
        if not first_start:
            with build_client(settings, setup) as client:
                client.account()  # the code is exchanged and the pair stored
            setup.save_tokens({**(setup.load_tokens() or {}), "expires_at": 0})  # due everywhere
        sandbox.latency_ms = 300  # a slow grant: both workers would be inside it together
        before = grants(sandbox)
        # Two gunicorn workers: each its own State (connections) and client (in-process locks).
        workers = [build_client(settings, Tokens(State(path))) for _ in range(2)]
        start = threading.Barrier(len(workers))
        errors: list[AmoError] = []

        def work(worker: AmoClient) -> None:
            start.wait()
            try:
                worker.account()
            except AmoError as exc:
                errors.append(exc)

        threads = [threading.Thread(target=work, args=(w,)) for w in workers]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(30)
        for worker in workers:
            worker.close()
        spent = grants(sandbox) - before
        stored = setup.load_tokens()
        db.close()

    assert errors == []  # nobody is told «amoCRM отозвала доступ»
    assert spent == 1
    assert stored is not None and stored["expires_at"] > 0  # the winner's pair, read by both


def grants(sandbox: Sandbox) -> int:
    return sum(path.startswith("/oauth2/access_token") for _, path in sandbox.requests_log)
