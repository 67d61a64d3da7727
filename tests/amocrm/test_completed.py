"""What was closed since a moment: v4 asks ``filter[updated_at]`` with ``filter[is_completed]=1``,
v2 cannot and reads every completed task; both answer the same, against the sandbox."""

from __future__ import annotations

import pytest

from leoweb_bot.amocrm import build_client
from leoweb_bot.config import AmoSettings
from leoweb_bot.sandbox import Sandbox
from tests.kit.fakeclock import FakeClock

NOW = 1_795_000_000
ZELIMKHAN = 1387123


def client_for(sandbox: Sandbox, auth: str):  # an AmoClient in token (v4) or session (v2) mode
    creds = sandbox.credentials
    settings = AmoSettings(
        base_url=sandbox.base_url or "", auth=auth, token=creds.token, login=creds.login,
        api_key=creds.api_key, rate_limit=1000,
    )  # fmt: skip
    return build_client(settings, sleep=lambda _: None)


@pytest.mark.parametrize("auth", ["token", "session"])
def test_tasks_completed_since_a_moment_and_nothing_else(auth: str) -> None:
    clock = FakeClock(NOW)
    with Sandbox(tasks=120, managers=3, rate_limit=0, now=NOW, clock=clock.time) as sandbox:
        before = {t["id"] for t in sandbox.data.tasks if t["is_completed"]}
        first, second, moved = [t["id"] for t in sandbox.data.tasks if not t["is_completed"]][:3]
        clock.advance(60)
        sandbox.ui.complete_task(first, "Договор подписан", by=ZELIMKHAN)
        clock.advance(60)
        sandbox.ui.complete_task(second)
        sandbox.ui.move_deadline(moved, NOW + 86400)  # changed, but still open
        with client_for(sandbox, auth) as client:
            since_start = client.tasks_completed_since(NOW + 1)
            since_second = client.tasks_completed_since(NOW + 120)  # inclusive bound
            everything = client.tasks_completed_since(0)
    assert [t.id for t in since_start] == [first, second]
    assert all(t.is_completed for t in since_start)
    assert (since_start[0].updated_at, since_start[0].result) == (NOW + 60, "Договор подписан")
    assert [t.id for t in since_second] == [second]
    assert {t.id for t in everything} == before | {first, second}
