"""`lantu … --help` read as a user reads it: the walk over a group's commands and the checks every command's
texts pass, shared by ``test_quota_help.py`` and ``test_cli_help.py`` (imported as ``from cli_help import …``)."""

from __future__ import annotations

import re
from collections.abc import Collection, Iterator
from typing import Any

import typer
from typer.testing import CliRunner

from api.cli import app

CJK = re.compile(r"[\u4e00-\u9fff]")
OPTION = re.compile(r"--[a-z][a-z0-9-]*")
PLACEHOLDER = re.compile(r"\b[A-Z][A-Z_]*\b")  # N, YEAR, COUNTY: an option written as an argument's metavar
UNITS = re.compile(r"m²|公顷|亩|万元|\btce\b|\bt\b|\bkg\b|\bmetres\b|\bdays\b")
ROOT: Any = typer.main.get_command(app)  # typer's own click: duck-typed


def commands(group: Any, path: tuple[str, ...]) -> Iterator[tuple[str, Any]]:
    """(command line, command) of every command under ``group``, whose command line is ``path``."""
    for name, command in group.commands.items():
        if hasattr(command, "commands"):
            yield from commands(command, (*path, name))
        else:
            yield " ".join((*path, name)), command


def params(command: Any) -> list[Any]:
    return [p for p in command.params if p.name != "help"]


def texts(command: Any) -> list[str]:
    return [command.help or "", *(getattr(p, "help", None) or "" for p in params(command))]


def options(command: Any) -> set[str]:
    """Every spelling of the command's options, ``--no-…`` and the short ones included."""
    return {o for p in params(command) if p.param_type_name == "option" for o in (*p.opts, *p.secondary_opts)}


def with_actor(found: dict[str, Any]) -> list[str]:
    """The commands of ``found`` (command line → command) that take ``--actor``."""
    return [name for name, command in found.items() if any(p.name == "actor" for p in params(command))]


def help_output(name: str, columns: int = 200) -> str:
    """What ``lantu NAME --help`` prints in a terminal of ``columns`` (a wide one by default)."""
    return CliRunner().invoke(app, [*name.split(), "--help"], env={"COLUMNS": str(columns)}).output


def assert_described(name: str, command: Any) -> None:
    """A one-line summary that starts with its Chinese term (``下达: issue …``); every parameter has help."""
    summary = (command.help or "").split("\n\n")[0]  # the line the group's --help lists: a line break shows there
    assert CJK.match(summary), f"lantu {name}: its summary does not start with its Chinese term"
    assert "\n" not in summary, f"lantu {name}: its summary is broken over lines"
    for param in params(command):
        assert (getattr(param, "help", None) or "").strip(), f"lantu {name} {param.name}: no help"


def assert_units(name: str, command: Any, amounts: Collection[str]) -> None:
    """The parameters named in ``amounts`` say their unit."""
    for param in params(command):
        if param.name in amounts:
            assert UNITS.search(getattr(param, "help", "")), f"lantu {name} {param.name}: no unit"


def assert_own_options(name: str, command: Any) -> None:
    """The options a text names are the command's own, and none is written as a placeholder (``YEAR``, ``N``;
    an option's own help may say ``CRS``)."""
    own = options(command)
    for text, itself in (
        (command.help or "", ()),
        *((getattr(p, "help", None) or "", p.opts) for p in params(command)),
    ):
        for option in OPTION.findall(text):
            assert option in own, f"lantu {name}: {option!r} is not one of its options"
        for word in PLACEHOLDER.findall(text):
            spelt = f"-{word.lower()}" if len(word) == 1 else f"--{word.lower().replace('_', '-')}"
            assert spelt not in own or spelt in itself, f"lantu {name}: {word} is the option {spelt}"


def assert_actor_default_stated(name: str, command: Any) -> None:
    """``--actor`` states its rule (your login name), not the login of whoever ran ``--help``."""
    (actor,) = (p for p in params(command) if p.name == "actor")
    assert "login name" in (actor.help or ""), f"lantu {name} --actor: the default is not stated"
    line = help_output(name).split("--actor", 1)[1].split("\n", 1)[0]
    assert "[default: " not in line, f"lantu {name} --actor shows a login: {line.strip()!r}"


def assert_layout(name: str, command: Any) -> None:
    """A command that writes a table (``--format``) lets its reader choose how: ``--layout auto | table | records``,
    described in Chinese and English, its default (auto) shown."""
    (layout,) = (p for p in params(command) if p.name == "layout")
    assert layout.default == "auto" and (layout.help or "").startswith("显示方式 / layout"), f"lantu {name} --layout"
    line = help_output(name).split("--layout", 1)[1]
    assert "auto|table|records" in line.split("\n", 1)[0] and "[default: auto]" in line.split("--help", 1)[0]
