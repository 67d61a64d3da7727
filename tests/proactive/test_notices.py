"""amoCRM webhooks end to end: web app → state db → scheduler tick → the right manager's chat."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest
from flask.testing import FlaskClient

from leoweb_bot.forms import php_form
from leoweb_bot.proactive import notices
from leoweb_bot.proactive.notices import lead_events
from leoweb_bot.proactive.scheduler import Job
from leoweb_bot.proactive.scheduler import Scheduler
from leoweb_bot.service.web import create_app
from tests.kit.proactive import ADMIN
from tests.kit.proactive import MANAGER
from tests.kit.proactive import MILANA
from tests.kit.proactive import OTHER_MANAGER
from tests.kit.proactive import ZELIMKHAN
from tests.kit.proactive import Rig
from tests.kit.proactive import at
from tests.kit.proactive import rig

NOW = at("Asia/Almaty", 2026, 11, 25, 11, 0)
SECRET = "amo-secret"
ROBOT, DIRECTOR_AMO = "0", "1387100"  # amoCRM's "system" user, the account admin


class Hook:
    """amoCRM's side of the webhook plus our processing."""

    def __init__(self, r: Rig) -> None:
        self.r = r
        self.web: FlaskClient = create_app(r.settings, r.app().state).test_client()
        self.scheduler: Scheduler = r.scheduler(
            "a", jobs=[Job("amo_events", 0, notices.process_events)]
        )

    def post(self, body: str | bytes, secret: str = SECRET) -> int:
        response = self.web.post(
            f"/amocrm/webhook/{secret}",
            data=body,
            content_type="application/x-www-form-urlencoded",
            headers={"User-Agent": "amoCRM-WebHook-client/1.0"},
        )
        return response.status_code

    def deliver(self, body: str | bytes, secret: str = SECRET) -> int:
        status = self.post(body, secret)
        self.scheduler.tick(NOW)
        return status

    def lead_of(self, owner: int, *, status: int | None = None) -> dict[str, Any]:
        return next(
            lead
            for lead in self.r.sandbox.data.leads
            if lead["responsible_user_id"] == owner
            and (status is None or lead["status_id"] == status)
        )

    def texts(self, chat_id: int | None = None) -> list[str]:
        return [m.text for m in self.r.sent(chat_id)]


def form(event: str, **fields: object) -> str:
    """One lead event in amoCRM's PHP-style keys, plus the account part amoCRM always adds."""
    pairs = [(f"leads[{event}][0][{k}]", str(v)) for k, v in fields.items()]
    return urlencode([*pairs, ("account[subdomain]", "leogroup"), ("account[id]", "31000001")])


@pytest.fixture
def hook(tmp_path: Path) -> Iterator[Hook]:
    with rig(tmp_path, NOW) as r:
        yield Hook(r)


# -- parsing ----------------------------------------------------------------------------------


def test_php_style_keys_become_nested_events() -> None:
    body = (
        "leads%5Badd%5D%5B0%5D%5Bid%5D=101&leads%5Badd%5D%5B0%5D%5Bname%5D=%D0%90"
        "&leads%5Badd%5D%5B1%5D%5Bid%5D=102"
        "&leads%5Bstatus%5D%5B0%5D%5Bid%5D=103&leads%5Bstatus%5D%5B0%5D%5Bstatus_id%5D=142"
        "&leads%5Bupdate%5D%5B0%5D%5Bid%5D=104&contacts%5Badd%5D%5B0%5D%5Bid%5D=5"
        "&account%5Bsubdomain%5D=leogroup"
    )
    parsed = php_form(body)
    assert parsed["leads"]["add"]["0"] == {"id": "101", "name": "А"}
    assert parsed["account"] == {"subdomain": "leogroup"}
    events, ignored = lead_events(parsed)
    assert [(e.kind, e.lead_id) for e in events] == [("add", 101), ("add", 102), ("status", 103)]
    assert sorted(ignored) == ["contacts", "leads[update]"]


@pytest.mark.parametrize(
    "body",
    [
        "a=1&a[b]=2",
        "leads=1",
        "leads[add]=1",
        "leads[add][0]=x",
        "leads[add][0][id]=abc",
        "leads[add][0][id]=%C2%B2",  # "²": str.isdigit() says yes, int() says no
        "leads[add][0][id]=%D9%A3",  # "٣": int() reads it as 3
        "[]=1",
        "leads[add][0][id]=1[",
        "x[y]][z]=1",
    ],
)
def test_odd_shapes_parse_without_errors(body: str) -> None:
    events, _ = lead_events(php_form(body))
    assert events == [] or [e.lead_id for e in events] == [1]


# -- through the stack --------------------------------------------------------------------------


def test_a_new_lead_reaches_its_responsible_manager(hook: Hook) -> None:
    lead = hook.lead_of(ZELIMKHAN)
    body = form(
        "add",
        id=lead["id"],
        name=lead["name"],
        responsible_user_id=ZELIMKHAN,
        created_user_id=ROBOT,
        status_id=lead["status_id"],
    )
    assert hook.deliver(body) == 200
    [text] = hook.texts()
    assert text.startswith("🆕 <b>Новая сделка</b>")
    assert f"сделка #{lead['id']}" in text
    assert f"/leads/detail/{lead['id']}" in text
    assert "Ответственный: Зелимхан" in text
    assert hook.texts(MANAGER) == [text]


def test_the_responsible_manager_comes_from_the_api_not_the_body(hook: Hook) -> None:
    lead = hook.lead_of(ZELIMKHAN)
    hook.deliver(form("add", id=lead["id"], responsible_user_id=MILANA, created_user_id=ROBOT))
    assert len(hook.texts(MANAGER)) == 1
    assert hook.texts(OTHER_MANAGER) == []


def test_a_handed_over_lead_reaches_its_new_manager(hook: Hook) -> None:
    lead = hook.lead_of(MILANA)
    body = form(
        "responsible",
        id=lead["id"],
        responsible_user_id=MILANA,
        old_responsible_user_id=ZELIMKHAN,
        modified_user_id=DIRECTOR_AMO,
        last_modified=NOW - 5,
    )
    hook.deliver(body)
    [text] = hook.texts(OTHER_MANAGER)
    assert text.startswith("👤 <b>Вам передали сделку</b>")
    assert hook.texts(MANAGER) == []


def test_a_lead_closed_by_someone_else_is_news_a_move_inside_the_funnel_is_not(
    hook: Hook,
) -> None:
    lead = hook.lead_of(ZELIMKHAN)
    lead["status_id"] = 142  # closed as won in amoCRM (the API answers what the CRM holds)
    won = form(
        "status",
        id=lead["id"],
        status_id=142,
        old_status_id=1,
        pipeline_id=lead["pipeline_id"],
        modified_user_id=DIRECTOR_AMO,
        last_modified=NOW - 5,
    )
    hook.deliver(won)
    [text] = hook.texts(MANAGER)
    assert text.startswith("🏆 <b>Сделка успешно реализована</b>")
    open_lead = hook.lead_of(MILANA)
    moved = form(
        "status",
        id=open_lead["id"],
        status_id=open_lead["status_id"],
        old_status_id=1,
        modified_user_id=DIRECTOR_AMO,
        last_modified=NOW - 4,
    )
    hook.deliver(moved)
    lead["status_id"] = 143
    own = form(
        "status", id=lead["id"], status_id=143, modified_user_id=ZELIMKHAN, last_modified=NOW
    )
    hook.deliver(own)
    assert len(hook.texts()) == 1


def test_what_a_manager_did_themselves_is_not_told_back(hook: Hook) -> None:
    lead = hook.lead_of(ZELIMKHAN)
    hook.deliver(form("add", id=lead["id"], created_user_id=ZELIMKHAN))
    assert hook.texts() == []


def test_several_leads_in_one_body_each_reach_their_manager(hook: Hook) -> None:
    z, m = hook.lead_of(ZELIMKHAN), hook.lead_of(MILANA)
    body = urlencode([("leads[add][0][id]", z["id"]), ("leads[add][1][id]", m["id"])])
    hook.deliver(body)
    assert len(hook.texts(MANAGER)) == 1
    assert len(hook.texts(OTHER_MANAGER)) == 1


def test_wrong_secret_is_403_and_nothing_is_sent(hook: Hook) -> None:
    lead = hook.lead_of(ZELIMKHAN)
    assert hook.deliver(form("add", id=lead["id"]), secret="guess") == 403
    assert hook.texts() == []


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"\xff\xfe\x00",
        b"&&&",
        b"no equals sign",
        b"contacts[add][0][id]=5",
        b"leads[delete][0][id]=21000001",
        b"leads[add][0][id]=99999999",
    ],
)
def test_garbage_and_unknown_shapes_are_200_and_nothing_is_sent(hook: Hook, body: bytes) -> None:
    assert hook.deliver(body) == 200
    assert hook.texts() == []
    statuses = hook.r.app().state.query("SELECT status FROM amo_events")
    assert {s for (s,) in statuses} <= {"ignored", "done"}


def test_a_replayed_event_produces_one_message(hook: Hook) -> None:
    lead = hook.lead_of(ZELIMKHAN)
    body = form("add", id=lead["id"], created_user_id=ROBOT)
    hook.deliver(body)
    hook.deliver(body)  # amoCRM retrying the same body
    reordered = urlencode([("account[id]", "31000001"), ("leads[add][0][id]", lead["id"])])
    hook.deliver(reordered)  # the same event in another body
    assert len(hook.texts(MANAGER)) == 1


def test_amocrm_down_keeps_the_event_for_the_next_tick(hook: Hook) -> None:
    lead = hook.lead_of(ZELIMKHAN)
    hook.r.sandbox.inject(402)
    hook.deliver(form("add", id=lead["id"], created_user_id=ROBOT))
    assert hook.texts(MANAGER) == []
    assert len(hook.texts(ADMIN)) == 1  # the 402 is an incident the admin hears about
    hook.scheduler.tick(NOW + 15)
    assert len(hook.texts(MANAGER)) == 1


# -- a bulk change: one body, many leads ---------------------------------------------------------


@pytest.fixture
def bulk(tmp_path: Path) -> Iterator[Hook]:
    with rig(tmp_path, NOW, tasks=300) as r:  # 100 leads over three managers
        yield Hook(r)


def bulk_body(hook: Hook) -> str:
    leads = hook.r.sandbox.data.leads
    pairs = [(f"leads[add][{i}][id]", lead["id"]) for i, lead in enumerate(leads)]
    pairs += [(f"leads[add][{i}][created_user_id]", ROBOT) for i in range(len(leads))]
    return urlencode(pairs)


def api_reads(hook: Hook, since: int) -> list[str]:
    return [path for method, path in hook.r.sandbox.requests_log[since:] if method == "GET"]


def test_a_body_of_a_hundred_leads_is_read_back_in_a_few_requests(bulk: Hook) -> None:
    since = len(bulk.r.sandbox.requests_log)
    bulk.deliver(bulk_body(bulk))

    reads = api_reads(bulk, since)
    lead_reads = [p for p in reads if p.startswith("/api/v4/leads?")]
    assert len(lead_reads) == 2 and all("filter[id][]" in p for p in lead_reads)  # 50 ids each
    assert not [p for p in reads if p.startswith("/api/v4/leads/")]  # no read per lead
    assert len(reads) <= 6  # + pipelines, users and the contacts, once for all cards


def test_a_chat_with_many_notices_from_one_body_gets_one_list(bulk: Hook) -> None:
    mine = [x for x in bulk.r.sandbox.data.leads if x["responsible_user_id"] == ZELIMKHAN]
    body = bulk_body(bulk)
    bulk.deliver(body)
    bulk.deliver(body)  # amoCRM retrying: nothing new

    [text] = bulk.texts(MANAGER)
    lines = text.splitlines()
    assert lines[0] == f"🔔 <b>События по сделкам: {len(mine)}</b>"
    assert len(lines) == 1 + len(mine)
    assert lines[1].startswith("🆕 <b>Новая сделка</b> · <a href=")
    assert f"/leads/detail/{mine[0]['id']}" in lines[1]
    assert len(bulk.texts(OTHER_MANAGER)) == 1


def test_leads_past_the_cap_of_one_body_are_logged_not_read(
    bulk: Hook, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(notices, "MAX_LEADS", 10)
    since = len(bulk.r.sandbox.requests_log)
    bulk.deliver(bulk_body(bulk))

    [lead_read] = [p for p in api_reads(bulk, since) if p.startswith("/api/v4/leads?")]
    assert lead_read.count("filter[id][]") == 10
    assert "100 leads in one body (a bulk change); telling about the first 10" in caplog.text
