"""The shared end-to-end stack of this package's e2e modules: one sandbox and one server each."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from leoweb_bot.sandbox import generate
from tests.kit.fakebot import FakeBotAPI
from tests.kit.stack import MANAGERS
from tests.kit.stack import SEED
from tests.kit.stack import START_TIMEOUT
from tests.kit.stack import TASKS
from tests.kit.stack import Server
from tests.kit.stack import Stack
from tests.kit.stack import mirror_state
from tests.kit.stack import server_env
from tests.kit.stack import start_sandbox
from tests.kit.stack import stop_group


@pytest.fixture(scope="module")
def logs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("e2e-logs")


@pytest.fixture(scope="module")
def fake() -> Iterator[FakeBotAPI]:
    with FakeBotAPI() as api:
        yield api


@pytest.fixture(scope="module")
def stack(logs: Path, fake: FakeBotAPI) -> Iterator[Stack]:
    """One sandbox (no latency, no rate limit) and one server shared by the module's tests."""
    sandbox = start_sandbox(logs, "sandbox", "--rate-limit", "0", "--tasks", str(TASKS))
    server = Server(server_env(fake, sandbox, logs / "state.sqlite3"), logs, logs / "serve.log")
    try:
        server.start()
        # the screens read the mirror from here on (tests/service/test_e2e_sync.py: before it)
        assert fake.wait_for(lambda: mirror_state(server) == "ready", START_TIMEOUT)
        data = generate(seed=SEED, tasks=TASKS, managers=MANAGERS, now=sandbox.info["now"])
        yield Stack(logs, fake, sandbox, server, data)
    finally:
        server.stop()
        stop_group(sandbox.proc)
