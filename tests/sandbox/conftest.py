"""Fixtures of the sandbox tests: an in-process sandbox on a clock the test moves."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from flask.testing import FlaskClient

from leoweb_bot.sandbox import Sandbox
from tests.kit.fakeclock import FakeClock
from tests.sandbox.kit import NOW
from tests.sandbox.kit import Receiver


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(NOW)


@pytest.fixture
def sandbox(clock: FakeClock) -> Sandbox:
    return Sandbox(now=NOW, clock=clock.time, rate_limit=0)


@pytest.fixture
def client(sandbox: Sandbox) -> FlaskClient:
    return sandbox.app.test_client()


@pytest.fixture
def auth(sandbox: Sandbox) -> dict[str, str]:
    return {"Authorization": f"Bearer {sandbox.credentials.token}"}


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    receiver = Receiver()
    yield receiver
    receiver.close()
