"""amoCRM's task and lead webhooks as the sync's accelerator: a body stored by the web app names
its ids for the sync, which re-reads them at its next step instead of the next poll."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlencode

from leoweb_bot.proactive import notices
from leoweb_bot.proactive.scheduler import Job
from leoweb_bot.service.web import create_app
from leoweb_bot.state.progress import Progress
from leoweb_bot.sync.wiring import build_sync
from tests.kit.proactive import ZELIMKHAN
from tests.kit.proactive import at
from tests.kit.proactive import rig

NOW = at("Asia/Almaty", 2026, 11, 25, 11, 0)


def test_a_task_webhook_gets_its_task_reread_at_the_next_step(tmp_path: Path) -> None:
    with rig(tmp_path, NOW) as r:
        app = r.app()
        sync = build_sync(r.settings, app.state, r.client, r.client, clock=r.clock).runner.sync
        while not sync.bootstrapped():
            sync.step()
        sync.step()  # the first cycle
        mine = [t.id for t in sync.mirror.open_tasks(responsible_user_id=ZELIMKHAN)]
        done, deleted = (mine[0], mine[1])
        r.sandbox.ui.complete_task(done, by=ZELIMKHAN)
        r.sandbox.ui.delete_task(deleted)
        lead = r.sandbox.data.leads[0]["id"]
        body = urlencode([
            ("task[update][0][id]", str(done)), ("task[update][0][status]", "1"),
            ("task[delete][0][id]", str(deleted)),
            ("leads[update][0][id]", str(lead)), ("account[subdomain]", "leogroup"),
        ])  # fmt: skip
        web = create_app(r.settings, app.state).test_client()
        posted = web.post(
            f"/amocrm/webhook/{r.settings.amocrm.webhook_secret}",
            data=body,
            content_type="application/x-www-form-urlencoded",
        )
        assert posted.status_code == 200
        r.scheduler("a", jobs=[Job("amo_events", 0, notices.process_events)]).tick(NOW)
        progress = Progress(app.state)
        wanted = {(entity, entity_id) for entity, entity_id, _ in progress.wanted(10)}
        assert wanted == {("leads", lead), ("tasks", done), ("tasks", deleted)}
        assert app.state.query("SELECT status FROM amo_events") == [("done",)]

        before = r.sandbox.request_count
        sync.step()

        assert r.sandbox.request_count - before == 2  # filter[id][] of the tasks, of the lead
        assert {done, deleted}.isdisjoint(t.id for t in sync.mirror.open_tasks())
        assert progress.wanted(10) == []
