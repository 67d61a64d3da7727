"""Imports only point inward (DESIGN.md): checked on the source, so a shortcut cannot creep in."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "leoweb_bot"


def imports_of(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


def module_files(name: str) -> list[Path]:
    target = PACKAGE / name
    return sorted(target.rglob("*.py")) if target.is_dir() else [target.with_suffix(".py")]


FORBIDDEN = {
    "reports": (
        "leoweb_bot.amocrm.client",
        "leoweb_bot.amocrm.auth",
        "telebot",
        "flask",
        "requests",
    ),
    "amocrm": ("telebot", "flask", "leoweb_bot.state", "leoweb_bot.telegram"),
    "web": ("leoweb_bot.amocrm", "telebot", "requests"),
    "commands": ("requests",),
    "callbacks": ("requests",),
    "screens": ("requests",),
}


@pytest.mark.parametrize("module", sorted(FORBIDDEN))
def test_module_does_not_import_outward(module: str) -> None:
    for path in module_files(module):
        bad = {name for name in imports_of(path) if name.startswith(FORBIDDEN[module])}
        assert not bad, f"{path.name} imports {sorted(bad)}"


def test_only_the_cli_side_imports_the_sandbox() -> None:
    allowed = {"cli.py", "demo.py"}  # demo is the CLI's `demo` command
    for path in PACKAGE.rglob("*.py"):
        if "sandbox" in path.parts or path.name in allowed:
            continue
        assert not any(n.startswith("leoweb_bot.sandbox") for n in imports_of(path)), path.name


def test_only_telegram_module_calls_the_bot_api_and_only_amocrm_calls_requests() -> None:
    for path in PACKAGE.rglob("*.py"):
        names = imports_of(path)
        if "requests" in names:
            assert "amocrm" in path.parts or path.name == "telegram.py", path.name


def test_importing_every_module_has_no_side_effects() -> None:
    code = (
        "import threading, pkgutil, importlib, leoweb_bot\n"
        "before = threading.active_count()\n"
        "for m in pkgutil.walk_packages(leoweb_bot.__path__, 'leoweb_bot.'):\n"
        "    if m.name != 'leoweb_bot.__main__': importlib.import_module(m.name)\n"
        "assert threading.active_count() == before, threading.enumerate()\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)
