"""Token keep-alive and admin incidents: one message when it breaks, one when it is fixed."""

from __future__ import annotations

from pathlib import Path

import pytest

from leoweb_bot.amocrm import build_client
from leoweb_bot.proactive import keepalive
from leoweb_bot.proactive.scheduler import Job
from leoweb_bot.proactive.scheduler import Scheduler
from leoweb_bot.state.progress import CYCLE
from leoweb_bot.state.progress import Progress
from leoweb_bot.state.tokens import Tokens
from tests.kit.proactive import ADMIN
from tests.kit.proactive import MANAGER
from tests.kit.proactive import Rig
from tests.kit.proactive import at
from tests.kit.proactive import rig

START = at("Asia/Almaty", 2026, 11, 25, 11, 0)
DAY = 86400
OAUTH = {"auth": "oauth"}
REFRESH_FAILED = "🟠 Не удалось обновить OAuth-токены amoCRM"
AUTH_FAILED = "🔴 amoCRM не принимает доступ бота (401)"


def only(r: Rig, name: str, every: float, run: object) -> Scheduler:
    return r.scheduler("a", jobs=[Job(name, every, run)])  # type: ignore[arg-type]


def tick(r: Rig, scheduler: Scheduler, now: int) -> None:
    r.clock.now = now  # the client and the sandbox read the same clock as the tick
    scheduler.tick(now)


def grants(r: Rig) -> int:
    return sum(1 for _, path in r.sandbox.requests_log if path.startswith("/oauth2/access_token"))


def admin_texts(r: Rig) -> list[str]:
    return [m.text for m in r.sent(ADMIN)]


# -- OAuth keep-alive ---------------------------------------------------------------------------


def test_oauth_pair_is_rotated_weekly_and_persisted(tmp_path: Path) -> None:
    with rig(tmp_path, START, amocrm=OAUTH) as r:
        scheduler = only(r, "token_keepalive", 600, keepalive.keep_tokens_alive)
        tick(r, scheduler, START)  # first run: the authorization code becomes a pair
        first = Tokens(r.app().state).load_tokens()
        assert first is not None and first["refreshed_at"] == START
        for days in (1, 3, 6):
            tick(r, scheduler, START + days * DAY)
        assert grants(r) == 1  # nothing to do inside the week
        week = START + 7 * DAY + 600
        tick(r, scheduler, week)
        assert grants(r) == 2
        second = Tokens(r.app().state).load_tokens()
        assert second is not None
        assert second["refreshed_at"] == week
        assert second["refresh_token"] != first["refresh_token"]
        assert second["access_token"] != first["access_token"]
        # The new pair is the one in use, and the spent refresh token is dead at amoCRM.
        assert r.client.account().name
        assert admin_texts(r) == []


def test_a_pair_rotated_by_another_process_is_not_rotated_again(tmp_path: Path) -> None:
    with rig(tmp_path, START, amocrm=OAUTH) as r:
        first = only(r, "token_keepalive", 600, keepalive.keep_tokens_alive)
        tick(r, first, START)
        other_app = r.app()  # a second worker: its own client, holding the day-0 pair
        other_client = build_client(
            r.settings.amocrm,
            token_store=Tokens(other_app.state),
            clock=r.clock,
            sleep=lambda _: None,
        )
        other_app.client = other_client
        try:
            assert other_client.account().name
            other = Scheduler(other_app, first.jobs, clock=r.clock, owner="b")
            tick(r, first, START + 7 * DAY)
            assert grants(r) == 2
            tick(r, other, START + 7 * DAY + 600)
            assert grants(r) == 2
            assert other_client.account().name  # it picks up the pair the first one stored
        finally:
            other_client.close()


def test_refresh_failures_are_retried_and_told_to_admins_once(tmp_path: Path) -> None:
    with rig(tmp_path, START, amocrm=OAUTH) as r:
        scheduler = only(r, "token_keepalive", 600, keepalive.keep_tokens_alive)
        tick(r, scheduler, START)
        due = START + 7 * DAY
        r.sandbox.inject(500, count=3)  # the token endpoint is down for three tries
        for minutes in (0, 10, 20):
            tick(r, scheduler, due + minutes * 60)
        assert grants(r) == 4
        assert len(admin_texts(r)) == 1 and admin_texts(r)[0].startswith(REFRESH_FAILED)
        tick(r, scheduler, due + 30 * 60)
        assert grants(r) == 5
        assert admin_texts(r)[1] == "🟢 Восстановлено: обновление токенов amoCRM."
        assert Tokens(r.app().state).load_tokens()["refreshed_at"] == due + 30 * 60  # type: ignore[index]
        tick(r, scheduler, due + 40 * 60)
        assert len(admin_texts(r)) == 2 and r.sent(MANAGER) == []


def test_a_revoked_refresh_token_is_an_auth_incident(tmp_path: Path) -> None:
    with rig(tmp_path, START, amocrm=OAUTH) as r:
        scheduler = only(r, "token_keepalive", 600, keepalive.keep_tokens_alive)
        tick(r, scheduler, START)
        r.sandbox.inject(401, count=5, body='{"hint": "Token has been revoked", "status": 401}')
        for minutes in (0, 10, 20):
            tick(r, scheduler, START + 7 * DAY + minutes * 60)
        [text] = admin_texts(r)
        assert text.startswith(AUTH_FAILED)
        assert "Token has been revoked" in text


# -- amoCRM probe ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "first_line", "name"),
    [
        (401, AUTH_FAILED, "доступ к amoCRM"),
        (402, "🔴 Подписка amoCRM закончилась (402)", "подписка amoCRM"),
        (403, "🔴 amoCRM заблокировала доступ по API (403)", "доступ к API amoCRM"),
    ],
)
def test_amocrm_failures_open_one_incident_and_one_recovery(
    tmp_path: Path, status: int, first_line: str, name: str
) -> None:
    with rig(tmp_path, START) as r:
        scheduler = only(r, "amocrm_health", 300, keepalive.check_amocrm)
        tick(r, scheduler, START)
        r.sandbox.inject(status, count=3)  # 403 comes as amoCRM's HTML page: a block
        for minutes in (5, 10, 15):
            tick(r, scheduler, START + minutes * 60)
        [text] = admin_texts(r)
        assert text.startswith(first_line)
        # A block keeps our client quiet for 10 minutes; after that the probe succeeds.
        for minutes in (30, 35, 40):
            tick(r, scheduler, START + minutes * 60)
        assert len(admin_texts(r)) == 2
        assert admin_texts(r)[1].startswith(f"🟢 Восстановлено: {name}")


def test_transient_amocrm_trouble_is_no_incident(tmp_path: Path) -> None:
    with rig(tmp_path, START) as r:
        scheduler = only(r, "amocrm_health", 300, keepalive.check_amocrm)
        r.sandbox.inject(503, count=20)
        tick(r, scheduler, START)
        assert admin_texts(r) == []


def test_a_recent_sync_cycle_answers_the_probe_without_a_request(tmp_path: Path) -> None:
    with rig(tmp_path, START) as r:
        scheduler = only(r, "amocrm_health", 300, keepalive.check_amocrm)
        progress = Progress(r.states[0])
        progress.succeeded(CYCLE, START - 60)
        before = r.sandbox.request_count
        tick(r, scheduler, START)
        assert r.sandbox.request_count == before
        progress.failed(CYCLE, START + 100, "AuthError: 401")  # the sync fails: ask amoCRM
        r.sandbox.inject(401, count=3)
        tick(r, scheduler, START + 300)
        assert admin_texts(r)[0].startswith(AUTH_FAILED)


# -- Telegram webhook -----------------------------------------------------------------------------


def test_a_growing_webhook_backlog_with_fresh_errors_alerts_once(tmp_path: Path) -> None:
    with rig(tmp_path, START) as r:
        scheduler = only(r, "webhook_watch", 300, keepalive.watch_webhook)
        info = r.fake.webhook_info
        info.update(url="https://bot.example.com/telegram/webhook", pending_update_count=1)
        tick(r, scheduler, START)
        for n, pending in enumerate((4, 9, 15), 1):
            now = START + n * 300
            info.update(
                pending_update_count=pending,
                last_error_date=now - 30,
                last_error_message="Connection refused",
            )
            tick(r, scheduler, now)
        [text] = admin_texts(r)
        assert text.startswith("🔴 Telegram не может доставить боту сообщения")
        assert "4 updates waiting (was 1); last error: Connection refused" in text
        info.update(pending_update_count=0)
        tick(r, scheduler, START + 20 * 60)
        assert admin_texts(r)[1] == "🟢 Восстановлено: доставка сообщений из Telegram."
