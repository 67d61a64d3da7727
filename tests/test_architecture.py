"""Imports only point inward (docs/architecture.md#import-rules): checked on the source, so a
shortcut cannot creep in."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

from tests.kit.paths import ROOT

PACKAGE = ROOT / "leoweb_bot"


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


P = "leoweb_bot."
OUTER = (f"{P}service", f"{P}cli", f"{P}sandbox")  # the wiring and the entry points
# What each package must not import: every arrow points inward, towards the domain.
FORBIDDEN = {
    "reports": (*OUTER, f"{P}amocrm.client", f"{P}amocrm.auth", f"{P}state", f"{P}bot",
                f"{P}telegram", "telebot", "flask", "requests"),
    "tasklists": (*OUTER, f"{P}amocrm.client", f"{P}state", f"{P}sync", f"{P}bot",
                  f"{P}telegram", "telebot", "flask", "requests"),
    "access": (*OUTER, f"{P}amocrm.client", f"{P}state", f"{P}bot", f"{P}telegram", "requests"),
    "config": (*OUTER, f"{P}amocrm", f"{P}state", f"{P}bot", f"{P}telegram", "requests"),
    "amocrm": (*OUTER, f"{P}state", f"{P}telegram", f"{P}bot", f"{P}proactive", "telebot",
               "flask"),
    "telegram": (*OUTER, f"{P}amocrm", f"{P}state", f"{P}bot", f"{P}proactive", "flask"),
    "state": (*OUTER, f"{P}amocrm", f"{P}telegram", f"{P}bot", f"{P}proactive", "telebot",
              "flask", "requests"),
    "sync": (*OUTER, f"{P}bot", f"{P}telegram", f"{P}proactive", "telebot", "flask", "requests"),
    "bot": (*OUTER, "flask", "requests"),
    "charts": (*OUTER, f"{P}amocrm", f"{P}state", f"{P}bot", f"{P}telegram", f"{P}proactive",
               "telebot", "flask", "requests"),
    "proactive": (*OUTER, "flask", "requests"),
    "service/web": (f"{P}amocrm", f"{P}bot", f"{P}cli", "telebot", "requests"),
}  # fmt: skip


@pytest.mark.parametrize("module", sorted(FORBIDDEN))
def test_module_does_not_import_outward(module: str) -> None:
    for path in module_files(module):
        bad = {name for name in imports_of(path) if name.startswith(FORBIDDEN[module])}
        assert not bad, f"{path.relative_to(PACKAGE)} imports {sorted(bad)}"


def test_only_the_cli_imports_the_sandbox() -> None:
    for path in PACKAGE.rglob("*.py"):
        if {"sandbox", "cli"} & set(path.relative_to(PACKAGE).parts):
            continue
        names = imports_of(path)
        assert not any(n.startswith(f"{P}sandbox") for n in names), path.relative_to(PACKAGE)


def test_only_amocrm_and_telegram_do_http() -> None:
    for path in PACKAGE.rglob("*.py"):
        where = path.relative_to(PACKAGE).parts[0]
        if {"requests", "urllib3"} & imports_of(path):
            assert where in ("amocrm", "telegram", "sandbox"), path.relative_to(PACKAGE)


def test_every_package_says_what_lives_there_and_what_it_may_import() -> None:
    for init in PACKAGE.glob("*/__init__.py"):
        doc = ast.get_docstring(ast.parse(init.read_text(encoding="utf-8"))) or ""
        assert "import" in doc, f"{init.relative_to(PACKAGE)} has no docstring with its rules"


def test_importing_every_module_has_no_side_effects() -> None:
    code = (
        "import threading, pkgutil, importlib, leoweb_bot\n"
        "before = threading.active_count()\n"
        "for m in pkgutil.walk_packages(leoweb_bot.__path__, 'leoweb_bot.'):\n"
        "    if m.name != 'leoweb_bot.__main__': importlib.import_module(m.name)\n"
        "assert threading.active_count() == before, threading.enumerate()\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)
