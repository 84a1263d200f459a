"""The words and colours every renderer shares: statuses, verdicts, their Chinese labels,
the status and layer colours. Reports, maps and the viewer read them from here (no folium)."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import cache
from typing import Final, Literal, cast

import numpy as np
import pandas as pd
import yaml

from geo.errors import InputError
from geo.resources import packaged


def is_blank(value: object) -> bool:
    """No value, as every reader of attributes takes it: null, NaN, pandas' NA and NaT, or blank text
    (a spreadsheet's empty cell, a GeoJSON ``""``)."""
    if isinstance(value, str):
        return not value.strip()
    return (
        value is None
        or value is pd.NA
        or value is pd.NaT
        or (isinstance(value, float | np.floating) and value != value)
    )


Status = Literal["pass", "warn", "fail", "missing_layer"]
# out_of_coverage: the parcel is not wholly inside the blueprint's coverage (its county layer
# or extent layer) and fails nothing on the part inside; what lies outside was never reviewed, so no other
# verdict can be signed (a fail inside rejects it: DESIGN)
Verdict = Literal["pass", "conditional", "reject", "out_of_coverage"]
# what XML 1.0 forbids (C0 controls but tab, line feed, carriage return): a Word opinion or an Excel summary
# cannot hold them, and no id or name needs them; DEL and the C1 controls (U+009B opens an escape sequence in a
# terminal as ESC [ does); the bidirectional overrides and isolates, which make a table's cell read otherwise
# than it is stored ("Trojan Source")
CONTROL_CHARACTERS = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


# what starts another line, or another cell of a table: tab, line feed, vertical tab, form feed, carriage return,
# the file/group/record separators, NEL and the Unicode line and paragraph separators (what ``str.splitlines``
# splits on). A name or an id is one line of a heading, a table's cell, a Markdown paragraph, a terminal's
# table: a break in it forges a line of its own (物流园\n审查结论：通过 under a rejected parcel's heading)
LINE_BREAKS = re.compile("[\t\n\x0b\x0c\r\x1c-\x1e\x85\u2028\u2029]")
_BREAK_NAMES: Final[dict[str, tuple[str, str]]] = {
    "\t": ("a tab", "制表符"),
    "\n": ("a line feed", "换行符"),
    "\r": ("a carriage return", "回车符"),
    "\u2028": ("a line separator", "行分隔符"),
    "\u2029": ("a paragraph separator", "段分隔符"),
}
# integers above this lose digits as a float64 (pandas makes a column of ids float where one is missing)
EXACT_FLOAT_INTEGERS: Final = 2**53


def first_few(names: Sequence[str], most: int = 5) -> str:
    """The first ``most`` of ``names`` for a message, and "…" where there are more: an answer names a few, not
    all of a batch."""
    return ", ".join(names[:most]) + (", …" if len(names) > most else "")


def check_printable(text: str | None, what_en: str, what_zh: str) -> None:
    """Refuse text holding a control character (``CONTROL_CHARACTERS``): names, reasons and answers end up
    in Word, Excel and on paper, and an escape sequence in a terminal's table."""
    if text is not None and (found := CONTROL_CHARACTERS.search(text)) is not None:
        raise InputError(
            f"the {what_en} holds control character U+{ord(found.group()):04X}",
            f"{what_zh}含有控制字符 U+{ord(found.group()):04X}",
        )


# Unicode's Default_Ignorable_Code_Point (DerivedCoreProperties.txt: drawn as nothing where not supported) outside
# category C, and U+2800 BRAILLE PATTERN BLANK: variation selectors, the combining grapheme joiner, the Hangul and
# Khmer fillers and the Mongolian selectors are marks or letters by category, and passed where D\ufe0f01 beside D01
# printed as it (probe)
_IGNORABLE: Final = re.compile(
    "[\u034f\u115f\u1160\u17b4\u17b5\u180b-\u180f\u2800\u3164\ufe00-\ufe0f\uffa0"
    "\U0001d173-\U0001d17a\U000e0100-\U000e01ef]"
)


def hidden_character(text: str) -> str | None:
    """The first character of ``text`` that prints as nothing or as something else: Unicode's category C (controls,
    formats such as U+200B ZERO WIDTH SPACE, U+FEFF and the bidi marks, private use, unassigned) and the other
    default-ignorable characters (``_IGNORABLE``: variation selectors, fillers). An id holding one prints as another
    id does (D0\u200b1 as D01), in a paper and in the ledger alike."""
    return next((c for c in text if unicodedata.category(c).startswith("C") or _IGNORABLE.match(c)), None)


def line_fault(text: str) -> tuple[str, str] | None:
    """Why ``text`` is not one printable line (English, Chinese), or None: the first control character or line
    break it holds, named with its code point."""
    found = CONTROL_CHARACTERS.search(text) or LINE_BREAKS.search(text)
    if found is None:
        return None
    char = found.group()
    en, zh = _BREAK_NAMES.get(char, ("a control character", "控制字符"))
    return f"{en} U+{ord(char):04X}", f"{zh} U+{ord(char):04X}"


ACTOR_CHARS: Final = 100  # the actor columns of the journal, the project history and the answers (String(100))


def check_actor(text: str) -> None:
    """Refuse an actor (经办人) the record cannot name anyone by: blank, padded, longer than its column, or not
    one printable line (``line_fault``). The command line's ``--actor`` (``geo.cli_context``) and an API key's
    name were checked so, the project library not: a caller of its own recorded a blank or control-character
    actor in a project's history (probe)."""
    if not text.strip() or len(text) > ACTOR_CHARS:
        raise InputError(
            f"the actor must have 1 to {ACTOR_CHARS} characters, not all blank",
            f"经办人应为 1 到 {ACTOR_CHARS} 个字符，且不能全为空白",
        )
    if text != text.strip():
        raise InputError(f"the actor must not begin or end with a space: {text!r}", "经办人首尾不能有空白")
    if (fault := line_fault(text)) is not None:
        raise InputError(
            f"the actor must be one line of text; it holds {fault[0]}", f"经办人须为单行文字，不能含有{fault[1]}"
        )


def check_single_line(text: str | None, what_en: str, what_zh: str) -> None:
    """Refuse a name or an id that is not one printable line (``line_fault``): each is a heading, a table's
    cell or a line of a paper, and a line break in it would write a line of its own there."""
    if text is not None and (fault := line_fault(text)) is not None:
        raise InputError(
            f"the {what_en} must be one line of text; it holds {fault[0]}", f"{what_zh}须为单行文字，不能含有{fault[1]}"
        )


def id_text(value: object) -> str:
    """An id or number as the user wrote it: an integer's digits, an integral float without its ``.0`` (pandas
    makes a column of numbers float where one is missing: 5 became "5.0"), other text as given. A float
    beyond 2**53 may not be the integer written (12345678901234567 reads 12345678901234568): refused, not
    changed, since ids link a review to the ledger and the 地块编号 records."""
    if isinstance(value, np.integer):
        return str(int(value))
    if not isinstance(value, float | np.floating) or not float(value).is_integer():
        return str(value)  # numpy's own shortest text for a float32 (0.1, not 0.10000000149011612)
    number = float(value)
    if abs(number) >= EXACT_FLOAT_INTEGERS:
        raise InputError(
            f"the number read as {number:.0f} is 2**53 or more: a floating-point number cannot hold every integer "
            "that large, so it may not be the one written; write it as text, in quotes",
            f"数字按浮点数读取为 {number:.0f}，不小于 2^53，浮点数无法精确表示这么大的整数，可能已不是原来的数字；"
            "请将其写成文本（加引号）",
        )
    return str(int(number))


# hyphens NFKC keeps apart from "-" that a word processor or an input method types in an id (‐ ‑ ‒ – −)
DASHES: Final = str.maketrans(dict.fromkeys("\u2010\u2011\u2012\u2013\u2212", "-"))


def project_id_text(text: str) -> str:
    """A 项目编号 as the project library, the ledger and a review's parcels keep it: Unicode NFKC, then stripped.

    A Chinese input method types full-width letters and digits (ＸＭ－１) and an ideographic space; NFKC makes
    them the ASCII ``XM-1`` a planner types, and the hyphens a word processor substitutes (‐ – −) are "-", so one
    project is one id wherever it is named (the library, the ledger's ``project:<id>`` accounts, the parcels of a
    review that share it). Letter case is kept: ``xm-1`` and
    ``XM-1`` stay two ids, as they always were. 地块编号 are not normalised: a review answers with the ids of the
    parcels' file, which the user matches row by row."""
    return unicodedata.normalize("NFKC", text).translate(DASHES).strip()


VERDICTS: Final[tuple[Verdict, ...]] = ("pass", "conditional", "reject", "out_of_coverage")

# how an item's message begins where the parcel reaching beyond the blueprint leaves it unreviewed (its first clause)
BEYOND_COVERAGE_ZH: Final = "位于蓝图覆盖范围之外"
# severity: a missing layer outranks a warning (nothing was checked), a failure outranks all
STATUS_ORDER: Final[dict[Status, int]] = {"pass": 0, "warn": 1, "missing_layer": 2, "fail": 3}
# per status: Chinese label, English label, colour on maps and in reports
STATUS_LABELS: Final[dict[Status, tuple[str, str, str]]] = {
    "pass": ("通过", "pass", "#2e7d32"),
    "warn": ("有条件", "conditional", "#f9a825"),
    "fail": ("不通过", "fail", "#c62828"),
    # not reviewed: the blueprint lacks the layer, or the parcel reaches beyond its coverage (the message says which)
    "missing_layer": ("未审查", "not reviewed", "#757575"),
}
STATUS_ZH: Final[dict[Status, str]] = {s: zh for s, (zh, _, _) in STATUS_LABELS.items()}
STATUS_EN: Final[dict[Status, str]] = {s: en for s, (_, en, _) in STATUS_LABELS.items()}
STATUS_COLOURS: Final[dict[Status, str]] = {s: colour for s, (_, _, colour) in STATUS_LABELS.items()}
# a status written as text on white, 4.5:1 at least (WCAG AA): the map's amber (#f9a825) reads at 1.9:1 there
STATUS_TEXT_COLOURS: Final[dict[Status, str]] = {**STATUS_COLOURS, "warn": "#9a5b00", "missing_layer": "#616161"}
# per verdict: Chinese label, the status whose colour shows it
VERDICT_LABELS: Final[dict[Verdict, tuple[str, Status]]] = {
    "pass": ("通过", "pass"),
    "conditional": ("有条件通过", "warn"),
    "reject": ("不通过", "fail"),
    "out_of_coverage": ("超出蓝图覆盖范围", "missing_layer"),
}
VERDICT_ZH: Final[dict[Verdict, str]] = {v: zh for v, (zh, _) in VERDICT_LABELS.items()}
VERDICT_STATUS: Final[dict[Verdict, Status]] = {v: status for v, (_, status) in VERDICT_LABELS.items()}
LAYER_COLOURS: Final[dict[str, str]] = {
    "ecological_redline": "#d32f2f",
    "basic_farmland": "#fbc02d",
    "land_use": "#8d6e63",
    "urban_boundary": "#7b1fa2",
    "planned_use": "#5c6bc0",
    "mineral": "#424242",
    "geohazard": "#e64a19",
    "nature_reserve": "#1b5e20",
    "water_source": "#0288d1",
    "heritage": "#6d4c41",
    "flood_river": "#0277bd",
    "illegal_use": "#000000",
    "approved_unsupplied": "#00897b",
    "idle_land": "#9e9d24",
    "county": "#37474f",
}


_MOST_SEVERE_FIRST: Final[tuple[Status, ...]] = tuple(sorted(STATUS_ORDER, key=STATUS_ORDER.__getitem__, reverse=True))


def worst(statuses: Iterable[Status]) -> Status:
    """The most severe status; ``pass`` for none. By membership in the set of those found, not by a key per status:
    a batch's grading asks it some 16 times a parcel."""
    found = set(statuses)
    if not found.issubset(STATUS_ORDER):  # a misspelt status is no pass
        raise KeyError(f"unknown status(es) {sorted(map(str, found - STATUS_ORDER.keys()))}")
    for status in _MOST_SEVERE_FIRST:
        if status in found:
            return status
    return "pass"


def verdict_of(statuses: Iterable[Status], *, beyond: bool = False) -> Verdict:
    """reject if any item fails, wherever the parcel lies (a fail on the covered part stands whatever the data beyond
    it says: 50 % on 永久基本农田 read 超出蓝图覆盖范围 and 暂不出具审查结论, an officer's 不通过); else out_of_coverage
    where it reaches ``beyond`` the blueprint's coverage; else conditional if any warns or lacks its layer, else pass
    (DESIGN.md)."""
    status = worst(statuses)
    if status == "fail":
        return "reject"
    if beyond:
        return "out_of_coverage"
    return "conditional" if status in ("warn", "missing_layer") else "pass"


@dataclass(frozen=True)
class ProjectType:
    id: str
    name_zh: str
    name_en: str


@dataclass(frozen=True)
class Facility:
    """A 工程类别 within a project type (公路 of 交通): what a per-unit land-use indicator is written for."""

    id: str
    name_zh: str
    name_en: str
    project_type: str


@cache
def _vocabulary() -> dict[str, dict[str, dict[str, str]]]:
    return cast(dict[str, dict[str, dict[str, str]]], yaml.safe_load(packaged("vocabulary.yaml").read_text("utf-8")))


@cache
def project_types() -> dict[str, ProjectType]:
    """The closed list of project types (``layers/vocabulary.yaml``), id → labels."""
    return {k: ProjectType(k, v["name_zh"], v["name_en"]) for k, v in _vocabulary()["project_types"].items()}


@cache
def facilities() -> dict[str, Facility]:
    """The closed list of 工程类别 (``layers/vocabulary.yaml``), id → labels and project type."""
    return {
        k: Facility(k, v["name_zh"], v["name_en"], v["project_type"]) for k, v in _vocabulary()["facilities"].items()
    }


def check_project_type(value: object) -> str | None:
    """``value`` as a known project type id (``None`` when not given); anything else is an
    :class:`InputError` naming the allowed values with their Chinese labels."""
    if is_blank(value):
        return None
    text = str(value).strip()
    known = project_types()
    if text in known:
        return text
    allowed = ", ".join(f"{k}（{t.name_zh}）" for k, t in known.items())
    raise InputError(
        f"unknown project_type {text!r}; allowed: {', '.join(known)}",
        f"未知项目类型 {text!r}；可选：{allowed}",
    )


def check_facility(value: object, project_type: str | None) -> tuple[str | None, str | None]:
    """(facility, project type): ``value`` as a known 工程类别 id (``None`` when not given) and the project type it
    belongs to, which it implies where none was given; a value not in the list, or of another type than the one
    given (a highway of an energy project), is an :class:`InputError` naming the allowed values."""
    if is_blank(value):
        return None, project_type
    text = str(value).strip()
    known = facilities()
    found = known.get(text)
    if found is None:
        allowed = ", ".join(f"{k}（{f.name_zh}）" for k, f in known.items())
        raise InputError(
            f"unknown facility {text[:40]!r}; allowed: {', '.join(known)}",
            f"未知工程类别 {text[:40]!r}；可选：{allowed}",
        )
    if project_type is not None and project_type != found.project_type:
        kind = project_types()[found.project_type]
        raise InputError(
            f"facility {text!r} ({found.name_en}) is a work of project type {kind.id!r}, not of {project_type!r}",
            f"工程类别 {text}（{found.name_zh}）属于{kind.name_zh}项目，与项目类型 {project_type} 不符",
        )
    return text, found.project_type
