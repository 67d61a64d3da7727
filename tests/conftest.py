"""Shared fixtures: a `leoweb-bot sandbox` subprocess on loopback, and a clean environment."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import pytest
import responses


def leoweb_env(**overrides: str) -> dict[str, str]:
    """The process environment minus any LEOWEB_* the developer may have exported."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("LEOWEB_")}
    env.update(overrides)
    return env


def start_sandbox(*args: str) -> tuple[subprocess.Popen[str], dict[str, Any]]:
    """Start `leoweb-bot sandbox --port 0 --json ...`; read the JSON line it prints when ready."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "leoweb_bot", "sandbox", "--port", "0", "--json", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env=leoweb_env(),
    )
    assert proc.stdout is not None
    line = proc.stdout.readline()
    if not line:
        proc.kill()
        raise RuntimeError("sandbox exited before printing its address")
    return proc, json.loads(line)


def stop(proc: subprocess.Popen[str]) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


@pytest.fixture(scope="session")
def sandbox_2000() -> Iterator[dict[str, Any]]:
    """A sandbox subprocess with 2,000 open tasks across 12 managers (several pages)."""
    proc, info = start_sandbox("--tasks", "2000", "--managers", "12", "--seed", "7")
    try:
        yield info
    finally:
        stop(proc)


@pytest.fixture
def rsps() -> Iterator[responses.RequestsMock]:
    """HTTP faked with `responses`; a registered call that never happens fails the test."""
    with responses.RequestsMock() as mock:
        yield mock


@pytest.fixture(autouse=True)
def root_logging() -> Iterator[None]:
    """Give back the root logger as each test found it.

    ``cli.main`` calls ``setup_logging``, which replaces the root handlers with one on the
    test's captured stderr; left there, it would write to a closed stream in later tests and
    take pytest's ``caplog`` handler away from them.
    """
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    for handler in list(root.handlers):
        if handler not in handlers:
            root.removeHandler(handler)
    for handler in handlers:
        if handler not in root.handlers:
            root.addHandler(handler)
    root.setLevel(level)
