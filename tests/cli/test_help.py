"""`--help` documents every command and option, and the README's command table matches it."""

from __future__ import annotations

import argparse
import re

import pytest

from leoweb_bot.cli.main import build_parser
from tests.kit.paths import ROOT

README = (ROOT / "README.md").read_text(encoding="utf-8")
PARSER = build_parser()
COMMANDS: dict[str, argparse.ArgumentParser] = next(
    action.choices for action in PARSER._actions if isinstance(action, argparse._SubParsersAction)
)


def options(command: argparse.ArgumentParser) -> list[argparse.Action]:
    """The documented options: not -h, not the hidden test hooks."""
    return [
        action
        for action in command._actions
        if action.option_strings
        and not isinstance(action, argparse._HelpAction)
        and action.help != argparse.SUPPRESS
    ]


def readme_row(name: str) -> str:
    rows = re.findall(rf"^\| `leoweb-bot {re.escape(name)}(?: [^`]*)?` \|.*$", README, re.M)
    assert len(rows) == 1, f"README's command table has no single row for {name}"
    return rows[0]


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_every_command_has_a_description_and_every_option_a_help_with_its_default(
    name: str,
) -> None:
    command = COMMANDS[name]
    assert command.description, name
    assert command.description in " ".join(command.format_help().split())
    formatter = command._get_formatter()
    for action in options(command):
        flag = action.option_strings[-1]
        assert action.help, f"{name} {flag} has no help text"
        shown = formatter._expand_help(action)  # as --help prints it
        if action.nargs != 0:  # it takes a value, so it has a default worth knowing
            assert "(default: " in shown, f"{name} {flag}: no default shown"


def test_config_is_offered_only_where_it_is_read() -> None:
    ignoring = {"sandbox", "demo"}  # init writes the file --config names
    for name, command in COMMANDS.items():
        flags = {flag for action in command._actions for flag in action.option_strings}
        assert ("--config" in flags) is (name not in ignoring), name


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_readme_command_table_lists_every_command_and_option(name: str) -> None:
    row = readme_row(name)
    for action in options(COMMANDS[name]):
        if action.dest != "config":  # listed once, below the table
            assert action.option_strings[-1] in row, f"README lacks {name} {action.option_strings}"
    if "--config" in COMMANDS[name].format_usage():
        assert f"`{name}`" in README.split("takes `--config PATH`", 1)[1].split("\n\n", 1)[0]
