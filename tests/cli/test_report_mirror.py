"""``report --mirror STATE_DB``: the server's view, to compare with the live ``report``."""

from __future__ import annotations

import json
from pathlib import Path

from tests.cli.test_main import run_cli
from tests.sync.kit import open_task_ids
from tests.sync.kit import rig


def test_the_mirror_report_equals_the_live_one_and_says_how_fresh(tmp_path: Path) -> None:
    (tmp_path / "server").mkdir()
    with rig(tmp_path / "server") as r:
        r.bootstrap()
        r.next_cycle()
        now = str(int(r.clock()))
        env = {
            "LEOWEB_AMOCRM_BASE_URL": r.sandbox.base_url or "",
            "LEOWEB_AMOCRM_TOKEN": r.sandbox.credentials.token,
            "LEOWEB_BOT_STATE_PATH": str(tmp_path / "cli.sqlite3"),
        }
        live = run_cli("report", "--json", "--now", now, cwd=tmp_path, **env)
        mirrored = run_cli("report", "--mirror", str(r.path), "--json", "--now", now, cwd=tmp_path)
        assert live.returncode == mirrored.returncode == 0, live.stderr + mirrored.stderr
        assert json.loads(mirrored.stdout) == json.loads(live.stdout) == r.truth()

        (task_id,) = open_task_ids(r.sandbox, 1, overdue=True)
        r.sandbox.ui.complete_task(task_id)  # amoCRM moves on; the mirror has not synced yet
        table = run_cli("report", "--mirror", str(r.path), "--now", now, cwd=tmp_path)
        total = json.loads(mirrored.stdout)["total_overdue"]  # not the change: it was not synced
        assert table.stdout.endswith(
            f"Total overdue: {total}\nMirror data as of 25.11.2026 14:06\n"
        )
        assert json.loads(
            run_cli("report", "--json", "--now", now, cwd=tmp_path, **env).stdout
        ) != json.loads(mirrored.stdout)


def test_a_mirror_still_bootstrapping_or_missing_is_an_error(tmp_path: Path) -> None:
    with rig(tmp_path) as r:
        r.sync.step()
        result = run_cli("report", "--mirror", str(r.path), cwd=tmp_path)
        assert (result.returncode, result.stdout) == (1, "")
        assert "not complete yet: its bootstrap is running" in result.stderr
    missing = run_cli("report", "--mirror", str(tmp_path / "nothing.sqlite3"), cwd=tmp_path)
    assert missing.returncode == 1 and "no such state db" in missing.stderr
