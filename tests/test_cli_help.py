"""`lantu … --help` of every command of the command line (``api.cli``: the library's and the service's) but the
ledger's (those are
``test_quota_help.py``'s), read as a user reads it: the checks of ``cli_help``, and what a text must state
besides — the default of an option that has no default value, the unit of an area, more than a list of choices."""

from __future__ import annotations

import re
from typing import Any

import pytest
import typer
from cli_help import (
    CJK,
    UNITS,
    assert_actor_default_stated,
    assert_described,
    assert_layout,
    assert_own_options,
    assert_units,
    commands,
    help_output,
    params,
    texts,
    with_actor,
)

from api import cli as lantu_cli

LIBRARY: Any = typer.main.get_command(lantu_cli.app)  # typer's own click: duck-typed
COMMANDS = {name: command for name, command in commands(LIBRARY, ()) if name.split()[0] != "quota"}
GROUPS = [name for name, command in LIBRARY.commands.items() if hasattr(command, "commands") and name != "quota"]
AMOUNTS = ("area_mu", "investment_wan", "resolution", "line_buffer", "due_days")
AREA = re.compile(r"\bareas?\b|面积", re.IGNORECASE)
LISTING = re.compile(r"[\w-]+((\s*[|/,]\s*|\s+or\s+)[\w-]+)+\.?")  # "table | json", "table or json.": choices only


def test_the_walk_holds_every_command() -> None:
    assert {
        "review",
        "compare",
        "find-sites",
        "papers",
        "blueprint diff",
        "projects stage",
        "consult start",
        "serve",
        "keys create",
    } <= set(COMMANDS)
    assert GROUPS == ["blueprint", "projects", "consult", "keys"]


@pytest.mark.parametrize("group", GROUPS)
def test_the_groups_say_what_they_hold(group: str) -> None:
    text = LIBRARY.commands[group].help or ""
    assert CJK.match(text), f"lantu {group}: its description does not start with its Chinese term"
    for name in LIBRARY.commands[group].commands:
        assert name in text, f"lantu {group}: its description does not name {name}"


@pytest.mark.parametrize("name", COMMANDS)
def test_every_command_and_parameter_is_described(name: str) -> None:
    assert_described(name, COMMANDS[name])


@pytest.mark.parametrize("name", COMMANDS)
def test_amounts_state_their_unit(name: str) -> None:
    assert_units(name, COMMANDS[name], AMOUNTS)


@pytest.mark.parametrize("name", COMMANDS)
def test_texts_name_the_commands_own_options(name: str) -> None:
    assert_own_options(name, COMMANDS[name])


@pytest.mark.parametrize("name", COMMANDS)
def test_areas_state_their_unit(name: str) -> None:
    for text in texts(COMMANDS[name]):
        if AREA.search(text):
            assert UNITS.search(text), f"lantu {name}: {text!r} speaks of areas without their unit"


@pytest.mark.parametrize("name", COMMANDS)
def test_a_help_is_more_than_its_choices(name: str) -> None:
    for param in params(COMMANDS[name]):
        help_ = getattr(param, "help", None) or ""
        assert not LISTING.fullmatch(help_.strip()), f"lantu {name} {param.name}: {help_!r} only lists its choices"


@pytest.mark.parametrize("name", COMMANDS)
def test_an_option_without_a_default_value_states_its_default(name: str) -> None:
    for param in params(COMMANDS[name]):
        if param.param_type_name == "option" and not param.required and param.default is None:
            assert re.search("default|默认", param.help or "", re.IGNORECASE), (
                f"lantu {name} {param.opts[0]}: what happens without it is not said"
            )


@pytest.mark.parametrize("name", COMMANDS)
def test_arguments_are_shown_by_their_name(name: str) -> None:
    for param in params(COMMANDS[name]):
        if param.param_type_name == "argument":
            assert param.metavar in (None, param.name.upper()), f"lantu {name}: {param.name} shown as {param.metavar}"


@pytest.mark.parametrize("name", with_actor(COMMANDS))
def test_the_actor_default_is_stated_not_the_machines_login(name: str) -> None:
    assert_actor_default_stated(name, COMMANDS[name])


@pytest.mark.parametrize(
    "name", [n for n, c in COMMANDS.items() if n.startswith("projects ") and any(p.name == "fmt" for p in params(c))]
)
def test_a_project_listing_offers_its_layout(name: str) -> None:
    assert_layout(name, COMMANDS[name])


EVERY_COMMAND = dict(commands(LIBRARY, ()))


@pytest.mark.parametrize("name", EVERY_COMMAND)
def test_no_help_loses_words_in_an_80_column_terminal(name: str) -> None:
    """A Rich table cell cut a word wider than itself with "…", and Chinese has no spaces: "生态保护红线内允 …"
    (``geo.cli_context._folding_help`` folds it instead). No "…" but the texts' own."""
    own = sum(text.count("…") for text in texts(EVERY_COMMAND[name]))
    shown = help_output(name, columns=80)
    assert shown.count("…") <= own, f"lantu {name} --help at 80 columns:\n{shown}"


@pytest.mark.parametrize("name", EVERY_COMMAND)
def test_a_description_is_drawn_in_whole_paragraphs(name: str) -> None:
    """Typer 0.29 kept a docstring's line breaks in the description: "(先入库后保障). Reserving the parcel again" ended
    a line at 80 columns and "for the same project" began the next. Each paragraph is drawn as one, wrapped to
    the terminal: in a terminal wide enough, every paragraph of the docstring is one line of the help."""
    help_text = (EVERY_COMMAND[name].help or "").partition("\f")[0]
    paragraphs = [" ".join(p.split()) for p in help_text.split("\n\n")[1:] if p.strip()]
    lines = [" ".join(line.split()) for line in help_output(name, columns=2000).splitlines()]
    for paragraph in paragraphs:
        assert any(paragraph in line for line in lines), f"lantu {name} --help breaks its paragraph:\n{paragraph}"


def _figure_parser(param: Any) -> Any:
    """The parser of an option typed as a figure (``geo.cli_context.figure``), else None."""
    parser = getattr(getattr(getattr(param, "type_descriptor", None), "parameter_info", None), "parser", None)
    return parser if getattr(parser, "__qualname__", "").startswith("figure.") else None


FIGURES = [(name, p.name) for name, c in EVERY_COMMAND.items() for p in params(c) if _figure_parser(p) is not None]
STATED_RANGE = re.compile(r"Range: a finite number(?: ≥ (\S+))? \(取值：(?:不小于 (\S+) 的)?有限数\)\.$")


def test_the_walk_finds_the_figure_options() -> None:
    assert {("review", "investment_wan"), ("find-sites", "area_mu"), ("quota advance", "amount")} <= set(FIGURES)


@pytest.mark.parametrize(("name", "option"), FIGURES)
def test_a_figure_option_states_the_range_its_parser_takes(name: str, option: str) -> None:
    """``--help`` showed ``<float>`` alone: that ``inf`` or a negative investment is refused was learnt by trying.
    Each figure option ends its help with the range, the bound its parser holds, shown in the rendered help."""
    (param,) = (p for p in params(EVERY_COMMAND[name]) if p.name == option)
    stated = STATED_RANGE.search(param.help or "")
    assert stated, f"lantu {name} {param.opts[0]}: no range in {param.help!r}"
    parse = _figure_parser(param)
    with pytest.raises(typer.BadParameter):
        parse("inf")
    if stated.group(1) is None:
        assert parse("-1e300") == -1e300
    else:
        bound = float(stated.group(1))
        assert stated.group(2) == stated.group(1) and parse(stated.group(1)) == bound
        with pytest.raises(typer.BadParameter):
            parse(repr(bound - max(abs(bound), 1) * 1e-6))
    assert stated.group(0) in " ".join(help_output(name, columns=2000).split()), f"lantu {name}: range not shown"
