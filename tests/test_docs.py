"""The README's promises stay true: CI runs its test command and its demo script exists."""

from __future__ import annotations

import re

from tests.kit.paths import ROOT

README = (ROOT / "README.md").read_text(encoding="utf-8")


def quick_start_commands() -> list[str]:
    section = README.split("## Quick start", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"```sh\n(.+?)\n```", section)


def test_quick_start_is_two_commands_and_ci_runs_the_test_one() -> None:
    demo, tests = quick_start_commands()
    assert "demo --script demo/quickstart.txt" in demo
    assert (ROOT / "demo" / "quickstart.txt").is_file()
    assert tests in (ROOT / ".ci" / "run").read_text(encoding="utf-8").splitlines()


def test_every_config_key_is_in_the_readme_table() -> None:
    import dataclasses

    from leoweb_bot.config import SECTIONS

    for section, cls in SECTIONS.items():
        for field in dataclasses.fields(cls):
            env = f"LEOWEB_{section.upper()}_{field.name.upper()}"
            assert f"| `{section}.{field.name}` | `{env}` |" in README


def test_readme_and_example_config_say_the_same_about_rate_limit() -> None:
    # amocrm.rate_limit is the server's budget: every worker takes its slots from one (pacing.py).
    example = (ROOT / "config.example.toml").read_text(encoding="utf-8").splitlines()
    line = next(text for text in example if text.startswith("rate_limit ="))
    promise = "for the whole server: one budget shared by every worker"
    assert promise in line
    assert (
        f"| `amocrm.rate_limit` | `LEOWEB_AMOCRM_RATE_LIMIT` | `7` requests/s {promise}" in README
    )
