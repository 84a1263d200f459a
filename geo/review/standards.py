"""The land-use standard tables (建设用地控制标准) item 10 weighs a parcel's area against: one row per project type,
a sample shipped (labelled as such), a province's own named by a profile."""

from __future__ import annotations

import csv
from collections.abc import Hashable
from dataclasses import dataclass, field
from functools import cache
from importlib.resources.abc import Traversable
from typing import Any, cast

from geo.errors import ProfileError
from geo.figures import decimal
from geo.review.result import StandardRow
from geo.vocabulary import facilities

# the measures a per-unit indicator counts (公路 per km of route, 风电场 per MW installed), as a table's
# ``unit`` column names them: (the project attribute giving it, measure zh, unit zh, measure en, unit en)
UNITS = {
    "km": ("route_km", "路线长度", "公里", "route length", "km"),
    "MW": ("power_mw", "装机容量", "兆瓦", "installed capacity", "MW"),
}


@dataclass(frozen=True)
class PerUnit:
    """A national indicator per unit of the project's size (公顷/公里, 公顷/兆瓦), from a table row: written for one
    kind of work (the 公路 indicator for highways, not railways; the 风电场 one for wind farms, not solar stations)."""

    row: StandardRow  # its name (交通项目（公路工程）)
    ha_per_unit: float
    unit: str  # a key of UNITS
    indicator: str  # the national document, cited as 《标题》（文号）


@dataclass(frozen=True)
class StandardTable:
    label: str  # the table's own words for what it is, from its ``# label:`` line
    rows: dict[str, StandardRow]  # by project type: the rows naming no 工程类别
    # project type → 工程类别 (``facility``) → its per-km / per-MW indicator
    per_unit: dict[str, dict[str, PerUnit]] = field(default_factory=dict)


def standard_table(source: Traversable) -> StandardTable:
    """The table a ``land_use_standard`` check names, read once (its profile's load reads it first, so that a
    malformed table is refused before any review)."""
    return _read_standard_table(cast(Hashable, source))  # a Traversable is hashable; its ABC does not say so


@cache
def _read_standard_table(source: Any) -> StandardTable:
    with source.open(encoding="utf-8") as f:
        lines = f.read().splitlines()
    label = next((line.split(":", 1)[1].strip() for line in lines if line.startswith("# label:")), source.name)
    rows = list(csv.DictReader(line for line in lines if not line.startswith("#")))

    table: dict[str, StandardRow] = {}
    per_unit: dict[str, dict[str, PerUnit]] = {}
    try:
        for r in rows:
            row = StandardRow(
                name_zh=r["name_zh"],
                min_intensity_wan_per_ha=_standard_figure(r, "min_intensity_wan_per_ha", source.name),
                max_area_ha=_standard_figure(r, "max_area_ha", source.name),
            )
            figure = _standard_figure(r, "ha_per_unit", source.name, optional=True)
            facility = _facility(r, row, figure, source.name)
            ptype = r["project_type"]
            if facility in per_unit.get(ptype, {}) if facility else ptype in table:
                raise ProfileError(
                    f"standard table {source.name}: two rows for {ptype[:40]!r}"
                    + (f", {facility}" if facility else ""),
                    f"用地标准表 {source.name}：{ptype[:40]}{'、' + facility if facility else ''} 有两行",
                )
            if facility is not None and figure is not None:  # both or neither (_facility)
                per_unit.setdefault(ptype, {})[facility] = PerUnit(row, figure, r["unit"], r.get("indicator") or "")
            else:
                table[ptype] = row
    except ProfileError:
        raise
    except (KeyError, ValueError) as exc:
        raise ProfileError(f"standard table {source.name}: {exc}", f"用地标准表 {source.name} 格式错误") from exc
    unknown_units = sorted({u.unit for kinds in per_unit.values() for u in kinds.values()} - set(UNITS))
    if unknown_units:
        raise ProfileError(
            f"standard table {source.name}: unit(s) {unknown_units} not in {sorted(UNITS)}",
            f"用地标准表 {source.name}：计量单位 {unknown_units} 不在 {sorted(UNITS)} 之中",
        )
    return StandardTable(label, table, per_unit)


def _facility(row: dict[str, str | None], standard: StandardRow, figure: float | None, table: str) -> str | None:
    """The 工程类别 a row's per-unit indicator is written for, which it must name (a 风电场 figure applied to every
    energy project rated a solar station by the wind farm's land), one of the project type's (vocabulary); such a
    row sets the area by the indicator alone (an intensity beside it would word a refusal by the wrong figure). A
    table written before the column (``ha_per_unit`` without ``facility``) is refused naming the kinds to choose."""
    given = (row.get("facility") or "").strip() or None
    ptype = str(row.get("project_type"))[:40]
    allowed = [k for k, f in facilities().items() if f.project_type == ptype]
    if (figure is None) != (given is None):
        raise ProfileError(
            f"standard table {table}: row {ptype!r} gives "
            + ("a facility without ha_per_unit" if figure is None else "ha_per_unit without the facility it rates")
            + f": a per-unit indicator is written for one kind of work (facility, of {ptype!r}: {allowed})",
            f"用地标准表 {table}：{ptype} 行的按单位指标（ha_per_unit）与工程类别（facility）须同时填写"
            f"（按单位指标只适用于一类工程，可选：{allowed}）",
        )
    if given is None:
        return None
    if given not in allowed:
        raise ProfileError(
            f"standard table {table}: facility {given[:40]!r} is no work of project type {ptype!r}; allowed: {allowed}",
            f"用地标准表 {table}：工程类别 {given[:40]} 不属于项目类型 {ptype}，可选：{allowed}",
        )
    if standard.min_intensity_wan_per_ha is not None or standard.max_area_ha is not None:
        raise ProfileError(
            f"standard table {table}: row {ptype!r}, {given} gives ha_per_unit beside an intensity or a maximum "
            "area: a per-unit row sets the area by its indicator alone",
            f"用地标准表 {table}：{ptype}、{given} 行的按单位指标不能与投资强度或最大面积同时填写",
        )
    return given


def _standard_figure(row: dict[str, str | None], column: str, table: str, *, optional: bool = False) -> float | None:
    """A standard table's figure: none for a blank cell, else a decimal above zero as a person writes it
    (``geo.figures.decimal``: full-width digits of a Chinese input method read). ``float()`` alone took "nan" (item
    10 then stated 核定面积 nan m² to the planner), "inf", "-5" and "1_000" (an underscore as a digit separator, read
    as 1000). A table without the column (unless ``optional``) raises ``KeyError``."""
    text = ((row.get(column) if optional else row[column]) or "").strip()
    if not text:
        return None
    figure = decimal(text)
    if figure is None or figure <= 0:
        ptype, shown = str(row.get("project_type"))[:40], text[:20]
        raise ProfileError(
            f"standard table {table}: {column} of {ptype!r} is {shown!r}; a plain number above zero is needed, "
            "or a blank cell for none",
            f"用地标准表 {table}：{ptype} 的 {column} 为 {shown!r}，应为大于零的数字，无此项时留空",
        )
    return figure
