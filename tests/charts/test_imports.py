"""The charts' import rules (see leoweb_bot/charts/__init__.py): matplotlib only lazily, only its
object API; otherwise the standard library, pytz and the reports."""

from __future__ import annotations

import ast
import subprocess
import sys

from tests.kit.paths import ROOT

CHARTS = ROOT / "leoweb_bot" / "charts"
ALLOWED = ("pytz", "leoweb_bot.reports", "leoweb_bot.charts", "__future__")


def imported(node: ast.AST) -> list[str]:
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names]
    if isinstance(node, ast.ImportFrom) and node.module:
        return [node.module]
    return []


def is_type_checking(node: ast.AST) -> bool:
    return isinstance(node, ast.If) and ast.unparse(node.test) == "TYPE_CHECKING"


def test_modules_import_only_the_stdlib_pytz_and_the_reports_at_load_time() -> None:
    for path in sorted(CHARTS.glob("*.py")):
        for node in ast.parse(path.read_text(encoding="utf-8")).body:
            for name in imported(node):
                top = name.split(".")[0]
                assert top in sys.stdlib_module_names or name.startswith(ALLOWED), (path, name)


def test_matplotlib_is_imported_inside_functions_and_never_pyplot() -> None:
    for path in sorted(CHARTS.glob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            names = imported(node)
            assert not any(n.startswith("matplotlib.pyplot") or n == "pylab" for n in names), path
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
                assert node.func.attr != "use", f"{path.name}: matplotlib.use changes the process"
        lazy = {
            id(n) for f in ast.walk(tree) if isinstance(f, ast.FunctionDef) for n in ast.walk(f)
        }
        guarded = {id(n) for g in tree.body if is_type_checking(g) for n in ast.walk(g)}
        for node in ast.walk(tree):
            if any(n.startswith("matplotlib") for n in imported(node)):
                assert id(node) in lazy | guarded, f"{path.name}:{node.lineno} loads matplotlib"


def test_importing_the_charts_or_the_bot_or_preparing_data_does_not_load_matplotlib() -> None:
    code = """
import sys, datetime, pytz
import leoweb_bot.charts as charts
import leoweb_bot.bot.router, leoweb_bot.proactive.scheduler  # a worker starting up
from leoweb_bot.reports import overdue_by_manager
tz = pytz.timezone("Asia/Almaty")
charts.bars_data(overdue_by_manager([], {}, 0, tz))
charts.trend_data([charts.DailySnapshot(datetime.date(1970, 1, 1), 1, "А", 1)], 0, tz)
charts.scorecard_data([charts.ScoreRow(1, "А", 1, 0, 0, 0)])
assert not [m for m in sys.modules if m.startswith("matplotlib")], "matplotlib loaded early"
charts.overdue_bars(charts.bars_data(overdue_by_manager([], {}, 0, tz)), 0, tz)
assert "matplotlib" in sys.modules, "the renderer should have loaded it"
assert "matplotlib.pyplot" not in sys.modules, "pyplot loaded"
"""
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120)
