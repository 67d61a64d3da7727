"""Running ``leoweb-bot`` as a person would: a real subprocess, its own directory and env."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.conftest import leoweb_env


def run_cli(*args: str, cwd: Path, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "leoweb_bot", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        env=leoweb_env(**env),
        timeout=120,
    )
