"""`lantu quota … --help` read as a user reads it: every command and parameter described, in Chinese and English,
amounts with their unit, and the options a text names are the command's own (``--year``, not ``YEAR``).

The walk and the checks are ``cli_help``'s, shared with ``test_cli_help.py`` (every other command)."""

from __future__ import annotations

import re

import pytest
from cli_help import (
    CJK,
    ROOT,
    assert_actor_default_stated,
    assert_described,
    assert_layout,
    assert_own_options,
    assert_units,
    commands,
    params,
    with_actor,
)

QUOTA = ROOT.commands["quota"]
COMMANDS = dict(commands(QUOTA, ("quota",)))


def test_the_groups_say_what_they_hold() -> None:
    assert CJK.match(QUOTA.help or "") and CJK.match(QUOTA.commands["stock"].help or "")  # its Chinese term first
    for name in QUOTA.commands:  # the quota group names every command it holds
        assert re.search(rf"(?<![\w-]){re.escape(name)}(?![\w-])", QUOTA.help or ""), name


@pytest.mark.parametrize("name", COMMANDS)
def test_every_command_and_parameter_is_described(name: str) -> None:
    assert_described(name, COMMANDS[name])


@pytest.mark.parametrize("name", COMMANDS)
def test_amounts_state_their_unit(name: str) -> None:
    assert_units(name, COMMANDS[name], ("amount", "area_m2", "need", "csv_file"))


@pytest.mark.parametrize("name", COMMANDS)
def test_texts_name_the_commands_own_options(name: str) -> None:
    assert_own_options(name, COMMANDS[name])


@pytest.mark.parametrize("name", with_actor(COMMANDS))
def test_the_actor_default_is_stated_not_the_machines_login(name: str) -> None:
    assert_actor_default_stated(name, COMMANDS[name])


@pytest.mark.parametrize("name", [n for n, c in COMMANDS.items() if any(p.name == "fmt" for p in params(c))])
def test_a_table_offers_its_layout(name: str) -> None:
    assert_layout(name, COMMANDS[name])
