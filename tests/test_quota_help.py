"""`lantu quota … --help` read as a user reads it: every command and parameter described, in Chinese and English,
amounts with their unit, and the options a text names are the command's own (``--year``, not ``YEAR``)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
import typer
from typer.testing import CliRunner

from api.cli import app

CJK = re.compile(r"[\u4e00-\u9fff]")
OPTION = re.compile(r"--[a-z][a-z0-9-]*")
PLACEHOLDER = re.compile(r"\b[A-Z][A-Z_]{2,}\b")
UNITS = re.compile(r"m²|公顷|亩|\btce\b|\bt\b|\bkg\b")


def _commands(group: Any, path: tuple[str, ...] = ("quota",)) -> Iterator[tuple[str, Any]]:
    """(command line, command) of every command under ``group`` (typer's own click: duck-typed)."""
    for name, command in group.commands.items():
        if hasattr(command, "commands"):
            yield from _commands(command, (*path, name))
        else:
            yield " ".join((*path, name)), command


QUOTA: Any = typer.main.get_command(app).commands["quota"]  # type: ignore[attr-defined]
COMMANDS = dict(_commands(QUOTA))


def _params(command: Any) -> list[Any]:
    return [p for p in command.params if p.name != "help"]


def _texts(command: Any) -> list[str]:
    return [command.help or "", *(getattr(p, "help", None) or "" for p in _params(command))]


def test_the_groups_say_what_they_hold() -> None:
    assert CJK.search(QUOTA.help or "") and CJK.search(QUOTA.commands["stock"].help or "")
    for name in ("issue", "reserve", "confirm", "report", "stock"):  # the quota group names its commands
        assert name in (QUOTA.help or "")


@pytest.mark.parametrize("name", COMMANDS)
def test_every_command_and_parameter_is_described(name: str) -> None:
    command = COMMANDS[name]
    assert CJK.search(command.help or ""), f"lantu {name}: no Chinese in its description"
    summary = (command.help or "").split("\n\n")[0]  # the line `lantu quota --help` lists: a line break shows there
    assert "\n" not in summary, f"lantu {name}: its summary is broken over lines"
    for param in _params(command):
        assert (getattr(param, "help", None) or "").strip(), f"lantu {name} {param.name}: no help"


@pytest.mark.parametrize("name", COMMANDS)
def test_amounts_state_their_unit(name: str) -> None:
    for param in _params(COMMANDS[name]):
        if param.name in ("amount", "area_m2", "need", "csv_file"):
            assert UNITS.search(getattr(param, "help", "")), f"lantu {name} {param.name}: no unit"


@pytest.mark.parametrize("name", COMMANDS)
def test_texts_name_the_commands_own_options(name: str) -> None:
    command = COMMANDS[name]
    options = {o for p in _params(command) if p.param_type_name == "option" for o in p.opts}
    for text in _texts(command):
        for option in OPTION.findall(text):
            assert option in options, f"lantu {name}: {option!r} is not one of its options"
    for word in PLACEHOLDER.findall(command.help or ""):  # "at the end of YEAR": an option written as an argument
        assert f"--{word.lower().replace('_', '-')}" not in options, f"lantu {name}: {word} is an option"


def test_the_actor_default_is_stated_not_the_machines_login() -> None:
    out = CliRunner().invoke(app, ["quota", "confirm", "--help"], env={"COLUMNS": "200"}).output
    assert "login name" in out and "[default: " not in out.split("--actor", 1)[1].split("\n", 1)[0]
