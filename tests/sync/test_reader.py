"""MirroredClient, the bot's amoCRM: our own writes reach the mirror at once, and a 🔄 asks
for one cycle per server however often it is pressed."""

from __future__ import annotations

from pathlib import Path

from leoweb_bot.state.progress import CYCLE
from leoweb_bot.state.progress import Progress
from leoweb_bot.sync.reader import REFRESH_GAP
from leoweb_bot.sync.reader import MirroredClient
from tests.sync.kit import Rig
from tests.sync.kit import open_task_ids
from tests.sync.kit import rig


def test_a_task_closed_through_the_bot_is_gone_from_the_next_read(tmp_path: Path) -> None:
    with rig(tmp_path) as r:
        r.bootstrap()
        r.next_cycle()
        task_id, other = open_task_ids(r.sandbox, 2, overdue=True)
        r.clock.now += 5

        updated_at = r.client.complete_task(task_id, "Готово")

        assert updated_at == int(r.clock())  # from amoCRM's answer
        assert task_id not in r.open_tasks(r.client)
        assert r.mirrored() == r.truth()
        # the next cycle reads the completion back: nothing changes
        r.next_cycle()
        assert task_id not in r.open_tasks(r.client) and other in r.open_tasks(r.client)
        assert r.live.task(task_id).result == "Готово"


def test_lookups_and_writes_go_to_amocrm_reads_to_the_mirror(tmp_path: Path) -> None:
    with rig(tmp_path) as r:
        r.bootstrap()
        lead = next(iter(r.live.iter_leads()))
        before = r.sandbox.request_count
        assert r.client.lead(lead.id) == r.live.lead(lead.id)  # live, both
        assert r.sandbox.request_count == before + 2
        r.client.users(), r.client.pipelines(), r.client.lead_tasks(lead.id)
        list(r.client.iter_leads())
        assert r.sandbox.request_count == before + 2
        assert r.client.lead_tasks(lead.id) == r.live.lead_tasks(lead.id)
        assert r.client.pipelines() == r.live.pipelines()
        assert r.client.users() == r.live.users()


def refresh_with_runner(r: Rig) -> int:
    """A 🔄 while the sync's thread runs: each of its waits lets the thread take a step."""
    client = MirroredClient(r.live, r.client.reader, sleep=lambda _: r.sync.step())
    before = r.sandbox.request_count
    client.refresh()
    return r.sandbox.request_count - before


def test_a_refresh_runs_one_cycle_and_presses_in_the_gap_share_it(tmp_path: Path) -> None:
    with rig(tmp_path) as r:
        r.bootstrap()
        r.next_cycle()
        r.clock.now += 20  # within the interval: no cycle due of its own
        (task_id,) = open_task_ids(r.sandbox, 1, overdue=True)
        r.sandbox.ui.complete_task(task_id)

        assert refresh_with_runner(r) == 3  # one cycle, and the screen waited for it
        assert task_id not in r.open_tasks(r.client)
        progress = Progress(r.states[0])
        assert progress.status(CYCLE).synced_at == r.clock()

        r.clock.now += REFRESH_GAP - 1
        assert refresh_with_runner(r) == 0  # a refresh storm costs nothing more
        r.clock.now += 1
        assert refresh_with_runner(r) == 3


def test_a_refresh_before_the_bootstrap_or_while_amocrm_fails_does_not_wait(
    tmp_path: Path,
) -> None:
    with rig(tmp_path) as r:
        slept: list[float] = []
        client = MirroredClient(r.live, r.client.reader, sleep=slept.append)
        client.refresh()  # screens read live: nothing to refresh
        r.bootstrap()
        r.next_cycle()
        Progress(r.states[0]).failed(CYCLE, r.clock(), "Unavailable: down")
        r.clock.now += REFRESH_GAP
        client.refresh()
        assert slept == []
