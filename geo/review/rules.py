"""Rule kinds. Each takes a check from the profile and a parcel's context and
returns an outcome; the profile decides which layers and thresholds they run on."""

from __future__ import annotations

import functools
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, NamedTuple, TypeVar, cast

import numpy as np
import shapely

from geo.blueprint import Blueprint
from geo.catalog import LandUseClass, landuse_class, layer_catalog
from geo.crs import M2_PER_HA, Area, percent
from geo.overlay import Pieces
from geo.review.profile import (
    ANY_VALUE,
    CHECK_KINDS,
    GROUP_NAMES,
    BaseCheck,
    Exemption,
    InsideCheck,
    LandUseClassesCheck,
    LandUseStandardCheck,
    LayerValues,
    Note,
    OverlapCheck,
    RasterShareAboveCheck,
    ZoneCompatibleCheck,
)
from geo.review.result import ItemFacts, ProjectAttributes
from geo.review.standards import UNITS, PerUnit, StandardTable, standard_table
from geo.vocabulary import Status, facilities, is_blank, project_types, worst


@dataclass(slots=True)  # some thirty a parcel
class Piece:
    """A conflicting part of the parcel, in the parcel's zone CRS."""

    layer: str
    status: Status
    geometry: shapely.Geometry
    attributes: dict[str, Any]
    area_m2: float


class Step(NamedTuple):
    """A step a finding calls for (需办理使用林地/草原审核), the land it is for (the pieces of its group) and the
    clause of the finding that names that land, in Chinese and in English ("" where none is its own), which the
    step follows in each."""

    group: str
    zh: str
    en: str
    land: tuple[shapely.Geometry, ...]
    clause: str = ""
    clause_en: str = ""


@dataclass(slots=True)
class Outcome:
    status: Status
    message_zh: str
    message_en: str
    pieces: list[Piece] = field(default_factory=list)
    facts: ItemFacts | None = None  # None: measured nothing besides its pieces (most outcomes)
    # the area a finding without pieces found (a raster's pixels above its threshold, by their share of the parcel;
    # the area beyond a land-use standard)
    estimated_m2: float | None = None
    # the steps the finding calls for, per group found (forest: 需办理使用林地/草原审核) with the land each is for, said
    # after it where they stand (``geo.review.engine._steps``)
    steps: tuple[Step, ...] = ()


@dataclass(frozen=True)
class ProjectTotal:
    """A project with several parcels in one review (same ``project_id``): the land-use standard
    (item 10) is a project's 核定面积, so its parcels' areas and investments are summed."""

    project_id: str
    parcel_ids: list[str]
    area_m2: float
    investment_wan: float | None


@dataclass(slots=True)
class ClassLand:
    """A 三调 class's land in a parcel, the one accounting that item 3's figures and the land quota (which
    the ledger books) both read: ``area_m2`` the 图斑 area; ``net_m2`` net of the 田坎 deduction (KCXS, a
    耕地 图斑's: 三调 deducts no other class); ``off_stock_m2`` and ``off_stock_net_m2`` the part not on
    批而未供/闲置 land (``StockLand``), gross and net: what new quota and 占补平衡 are owed for."""

    cls: LandUseClass
    area_m2: float = 0.0
    net_m2: float = 0.0
    off_stock_m2: float = 0.0
    off_stock_net_m2: float = 0.0


@dataclass
class ParcelContext:
    """One parcel in its GK zone, with the layer pieces computed once and shared by items."""

    id: str
    geometry: shapely.Geometry
    epsg: int
    project: ProjectAttributes
    blueprint: Blueprint
    tolerance_m2: float
    overlays: dict[str, Pieces] = field(default_factory=dict)
    pixels: dict[str, np.ndarray] = field(default_factory=dict)  # the parcel's pixels of each raster layer read
    strict_tolerance_m2: float = 1.0  # for layers where any occupation matters (the profile's min_m2)
    project_total: ProjectTotal | None = None  # set when other parcels of the review share the project id
    # its stock land (批而未供, 闲置) and each land-use piece's area off it (None: all of it), measured with
    # the overlay (``StockLand``): required, so that no context reads as having none by default
    stock: shapely.Geometry | None = field(kw_only=True)
    off_stock_m2: np.ndarray | None = field(kw_only=True)
    # part of the parcel lies beyond the blueprint's coverage, as its verdict (out_of_coverage) says: set by the
    # review before the rules run; beyond it no layer was drawn, so no rule may find anything there, not even land
    # outside a layer (``run_inside``)
    uncovered: bool = field(default=False, kw_only=True)
    unions: dict[tuple[int, ...], float] = field(default_factory=dict, repr=False)  # union areas, by piece ids
    _classes: dict[str, list[LandUseClass | None]] = field(default_factory=dict, repr=False)
    _sought: dict[int, list[bool]] = field(default_factory=dict, repr=False)  # by the check's identity
    _land: dict[str, dict[str, ClassLand]] = field(default_factory=dict, repr=False)

    @cached_property
    def area_m2(self) -> float:
        """Read by every item: measured once (a GEOS call over every vertex)."""
        return float(self.geometry.area)

    @cached_property
    def disjoint(self) -> dict[str, frozenset[int]]:
        """Per layer whose pieces in the parcel the overlay proved not to overlap (``Pieces.disjoint``),
        the identities of those pieces: a piece a rule made itself (the part outside a boundary) is
        not among them."""
        catalog = layer_catalog()  # a tiling layer's pieces never overlap: union_area knows it
        return {
            lid: frozenset(map(id, found.geometry))
            for lid, found in self.overlays.items()
            if len(found) > 1 and found.disjoint and not catalog[lid].tiling
        }

    @cached_property
    def covered(self) -> shapely.Geometry:
        """The parcel's part inside the blueprint's coverage (read where ``uncovered``)."""
        layer = self.blueprint.coverage_layer
        found = self.overlays.get(layer) if layer else None
        return self.geometry if found is None else shapely.union_all(found.geometry)

    @cached_property
    def project_flags(self) -> dict[str, Any]:
        """The project's attributes as exemptions read them: dumped once, not once per conflict."""
        return self.project.model_dump()

    def classes(self, layer_id: str) -> list[LandUseClass | None]:
        """The 三调 class of each piece in a land-use layer (``class_code``), looked up once per parcel:
        three items and the land figures read them."""
        if layer_id not in self._classes:
            self._classes[layer_id] = [landuse_class(c) for c in self.overlays[layer_id].attributes["class_code"]]
        return self._classes[layer_id]

    def sought(self, check: LandUseClassesCheck) -> list[bool]:
        """Which of the parcel's land-use pieces are of a class ``check`` grades, found once per parcel:
        the batch's shortcut for a parcel with none (``ClearItems``) and the rule read it alike."""
        if id(check) not in self._sought:
            self._sought[id(check)] = [check.sought(c) for c in self.classes(check.layer)]
        return self._sought[id(check)]

    def land_by_class(self, layer_id: str) -> dict[str, ClassLand]:
        """The parcel's land in a land-use layer by 三调 class code, in the order first found (pieces of no
        known class left out), summed once per parcel: item 3 and the land quota read the same figures."""
        if layer_id not in self._land:
            found = self.overlays[layer_id]
            ratios = found.attributes.get("deduction_ratio")
            areas = found.area_m2.tolist()
            off_stock = areas if self.off_stock_m2 is None else self.off_stock_m2.tolist()
            land: dict[str, ClassLand] = {}
            for k, cls in enumerate(self.classes(layer_id)):
                if cls is None:
                    continue
                kept = 1.0 - float(ratios[k] or 0.0) if ratios is not None and cls.group == "cultivated" else 1.0
                sums = land.get(cls.code) or land.setdefault(cls.code, ClassLand(cls))
                sums.area_m2 += areas[k]
                sums.net_m2 += areas[k] * kept
                sums.off_stock_m2 += off_stock[k]
                sums.off_stock_net_m2 += off_stock[k] * kept
            self._land[layer_id] = land
        return self._land[layer_id]

    def pieces(self, layer_id: str) -> Pieces | None:
        """Pieces of the parcel inside ``layer_id``, from the batch's bulk overlay (the engine overlays
        every layer its profile reads); ``None`` when the blueprint lacks the layer."""
        found = self.overlays.get(layer_id)  # read some thirty times a parcel: the dict first
        if found is None and self.blueprint.vector(layer_id) is not None:
            raise KeyError(f"layer {layer_id!r} was not overlaid")
        return found


def _area_text(m2: float) -> tuple[str, str]:
    a = Area(m2)
    return a.zh, a.en


def _area_within(m2: float) -> tuple[str, str]:
    """An area written inside brackets (``Area.bracketed_zh``)."""
    a = Area(m2)
    return a.bracketed_zh, a.en


def _area_after(note_zh: str, m2: float) -> str:
    """The area a finding appends to its note: in brackets, or after a comma where the note ends in a bracket
    of its own (占用湿地（内陆滩涂）（涉及 …） read as two asides)."""
    if note_zh.endswith("）"):
        return f"，涉及 {Area(m2).zh}"
    return f"（涉及 {_area_within(m2)[0]}）"


def _missing(layer_id: str) -> Outcome:
    info = layer_catalog()[layer_id]
    return Outcome(
        "missing_layer",
        f"缺少图层“{info.name_zh}”，无法审查",
        f"layer '{layer_id}' ({info.name_en}) is missing; not reviewed",
    )


def _skipped(layer_id: str) -> Outcome:
    """An optional layer the blueprint lacks: not reviewed, said so, and recorded in the facts."""
    info = layer_catalog()[layer_id]
    return Outcome(
        "pass",
        f"蓝图未提供可选图层“{info.name_zh}”，该项未核查",
        f"optional layer '{layer_id}' ({info.name_en}) is not in the blueprint; not checked",
        facts=ItemFacts(skipped_layers=[layer_id]),
    )


def _graded(
    layer: str,
    found: Pieces,
    statuses: list[Status],
    ctx: ParcelContext,
    attributes: list[str],
    strict: list[bool] | None = None,
    values: Sequence[object] | None = None,
) -> list[Piece]:
    """Pieces with their status, dropping every status group whose total is within tolerance, and in a
    group that counts, the pieces of each of its ``values`` (the graded attribute's) whose own total is
    within it too, unless all of them are (the group's pieces then count together): a 0.00 m² edge
    contact with a 河道管理范围 beside a real 蓄滞洪区 names neither that value nor its procedure
    (DESIGN.md: the tolerance keeps edge-touching slivers from counting).

    Strict pieces (any occupation matters: 永久基本农田, 生态保护红线, 自然保护地, 一级水源保护区,
    文物保护范围, 基本草原, 国家重要湿地: the profile's ``strict`` checks) form their own groups, which count
    above the absolute minimum alone."""
    groups = list(zip(statuses, strict or [False] * len(statuses), strict=True))
    areas = found.area_m2.tolist()
    counted = {group for group, total in _totals(groups, areas).items() if total > _tolerance(ctx, group)}
    if not counted:
        return []
    keep = [group in counted for group in groups]
    if values is not None:
        keys = list(zip(groups, values, strict=True))
        named = {key for key, total in _totals(keys, areas).items() if total > _tolerance(ctx, key[0])}
        whole = counted - {group for group, _ in named}  # no value counts alone: the group's pieces together
        keep = [k and (group in whole or key in named) for k, group, key in zip(keep, groups, keys, strict=True)]
    columns = [(name, found.values(name)) for name in attributes]
    geoms = found.geometry
    return [
        Piece(layer, group[0], geoms[i], {name: column[i] for name, column in columns}, areas[i])
        for i, group in enumerate(groups)
        if keep[i]
    ]


def _totals(keys: Sequence[Hashable], areas: list[float]) -> dict[Any, float]:
    """The pieces' total area by key (a status group, a group and a value, a class)."""
    totals: dict[Any, float] = {}
    for key, area in zip(keys, areas, strict=True):
        totals[key] = totals.get(key, 0.0) + area
    return totals


def _tolerance(ctx: ParcelContext, group: tuple[Status, bool]) -> float:
    """A status group's tolerance: the absolute minimum for a strict one, else the parcel's."""
    return ctx.strict_tolerance_m2 if group[1] else ctx.tolerance_m2


def _worst(pieces: list[Piece]) -> Status:
    return worst(p.status for p in pieces)


def _conflict(
    check: BaseCheck,
    status: Status,
    pieces: list[Piece],
    *,
    note: tuple[str, str] | _Worded | None = None,
    facts: ItemFacts | None = None,
    codes: Sequence[tuple[str, str]] = (),
) -> Outcome:
    """A non-pass outcome: its note with the area (where the note places it, ``{area}`` in the three units,
    ``{ha}`` or ``{m2}`` in one; else after it, unless the note gives each value's area (``_Worded.areas``):
    a total after the last would read as that value's), and the conditions the profile words for its outcome
    ``codes`` (see :class:`geo.review.profile.BaseCheck`)."""
    area = Area(sum(p.area_m2 for p in pieces if p.status != "pass"))
    zh, en = area.zh, area.en
    note_zh, note_en = (note[0], note[1]) if note else check.note(status)
    placed = {
        "{area}": (zh, en),
        "{ha}": (f"{area.ha_text} 公顷", f"{area.ha_text} ha"),
        "{m2}": (f"{area.m2_text} m²",) * 2,
    }
    key = next((k for k in placed if k in note_zh), None)
    condition_zh = note_zh.replace(key, "") if key else note_zh  # the condition states no area
    facts = _with_conditions(check, facts or ItemFacts(), codes, status, condition_zh)
    if key is not None:  # the area first (占用永久基本农田 X 公顷), before what the exemption claims
        said_zh, said_en = placed[key]
        return Outcome(status, note_zh.replace(key, f" {said_zh}"), note_en.replace(key, f" {said_en}"), pieces, facts)
    if isinstance(note, _Worded) and note.areas:
        return Outcome(status, note_zh, note_en, pieces, facts)
    return Outcome(status, note_zh + _area_after(note_zh, area.m2), f"{note_en} (affected: {en})", pieces, facts)


def _with_conditions(
    check: BaseCheck, facts: ItemFacts, codes: Sequence[tuple[str, str]], status: Status, note_zh: str
) -> ItemFacts:
    conditions = check.conditions_for(codes, status, note_zh)
    if conditions is not None:  # unset otherwise: the facts of a check that words no outcome stay empty
        facts.conditions = conditions
    return facts


def _piece_codes(pieces: list[Piece], attribute: str) -> list[tuple[str, str]]:
    """(value, status) of the non-pass pieces, once each in order: the outcome codes of a graded layer."""
    found = ((_text(p.attributes.get(attribute)), p.status) for p in pieces if p.status != "pass")
    return list(dict.fromkeys((v, st) for v, st in found if v))


CheckT = TypeVar("CheckT", bound=BaseCheck)
Rule = Callable[[CheckT, "ParcelContext"], Outcome]
_RULES: dict[type[BaseCheck], Callable[[Any, ParcelContext], Outcome]] = {}


def rule(kind: type[CheckT]) -> Callable[[Rule[CheckT]], Rule[CheckT]]:
    """Register the function that runs checks of ``kind`` (one per kind)."""

    def register(run: Rule[CheckT]) -> Rule[CheckT]:
        _RULES[kind] = run
        return run

    return register


def run_check(check: BaseCheck, ctx: ParcelContext) -> Outcome:
    return _RULES[type(check)](check, ctx)


def unregistered_kinds() -> list[str]:
    """Check kinds a profile may name that no rule runs (empty when the registry is complete)."""
    return [kind.__name__ for kind in CHECK_KINDS if kind not in _RULES]


def overlap_status(check: OverlapCheck, value: str | None, project_type: str) -> Status:
    """A feature's status for a project type: by value and type, by value, else the check's
    (exemptions aside; the site finder grades whole layers with it too)."""
    by_type = check.by_value_type.get(value or "", {})
    return by_type.get(project_type, check.by_value.get(value or "", check.status))


def allowed_zones(check: ZoneCompatibleCheck, project_type: str | None) -> set[str]:
    """The planned-use zones that admit the project type (the ``default`` list for none/other)."""
    return set(check.compatible.get(project_type or "default", check.compatible.get("default", [])))


def zone_status(check: ZoneCompatibleCheck, zone: str, allowed: set[str]) -> Status:
    return check.conditional.get(zone, "pass") if zone in allowed else check.status


@rule(OverlapCheck)
def run_overlap(check: OverlapCheck, ctx: ParcelContext) -> Outcome:
    found = ctx.pieces(check.layer)
    if found is None:
        return _skipped(check.layer) if check.optional else _missing(check.layer)
    attributes = [check.attribute, *check.describe] if check.attribute else []
    ptype = ctx.project.project_type or ""
    values = [_text(v) or None for v in (found.attributes[check.attribute] if check.attribute else [None] * len(found))]
    statuses = [overlap_status(check, v, ptype) for v in values]
    strict = [check.strict or (v is not None and v in check.strict_values) for v in values]
    kept = _graded(check.layer, found, statuses, ctx, attributes, strict, values if check.attribute else None)
    status = _worst(kept)
    info = layer_catalog()[check.layer]
    if status == "pass":
        return Outcome("pass", f"未涉及{info.name_zh}", f"no conflict with the {info.name_en}", kept)
    exempted = _exempted(check, kept, status, ctx, rest=lambda others: _overlap_finding(check, ctx, others))
    return exempted or _overlap_finding(check, ctx, kept)


def _overlap_finding(check: OverlapCheck, ctx: ParcelContext, kept: list[Piece]) -> Outcome:
    """An overlap check's conflict, in the words of the values its pieces found."""
    status = _worst(kept)
    # counted although within the relative tolerance: only a strict layer's tiny overlap (any occupation
    # counts), an outcome of its own where the profile words it (勘测定界核实 rather than 调整选址)
    minor = "minor" in check.conditions and sum(p.area_m2 for p in kept if p.status != "pass") <= ctx.tolerance_m2
    codes = [("minor", status)] if minor else _piece_codes(kept, check.attribute) if check.attribute else []
    found_values = _found_values(kept, check.attribute, check.describe) if check.attribute else []
    note = _value_note(check.value_notes, found_values, check.note(status))
    return _conflict(check, status, kept, note=note, codes=codes)


def _exempted(
    check: OverlapCheck | ZoneCompatibleCheck,
    kept: list[Piece],
    status: Status,
    ctx: ParcelContext,
    facts: ItemFacts | None = None,
    *,
    rest: Callable[[list[Piece]], Outcome],
) -> Outcome | None:
    """The outcome under the exemptions the project claims, each in turn softening the forbidden pieces it
    covers that none before it did (a 生态保护红线 有限人为活动 in 一般控制区 but not in 核心保护区), each stated
    with its pieces' own area; then what ``rest`` words for the others where the check found more (a
    城镇弹性发展区 beside the 生态保护区 such an activity may use; the 核心保护区 beside its 一般控制区, which still
    fails). ``None`` where no exemption covers any."""
    if status != check.status:
        return None
    forbidden = [p for p in kept if p.status == status]
    parts: list[Outcome] = []
    softened: list[Piece] = []
    for e in check.exempt:
        if not e.applies(ctx.project_flags, ctx.project.project_type):
            continue
        covered = [
            p
            for p in forbidden
            if all(p is not s for s in softened)
            and e.covers(p.attributes.get(check.attribute) if check.attribute else None)
            and not _reaches(e.not_within, p, ctx)
        ]
        if not covered:
            continue
        for p in covered:
            p.status = e.status
        note, codes = (e.note_zh, e.note_en), [(e.flag, e.status)]
        parts.append(_conflict(check, e.status, covered, note=note, facts=None if parts else facts, codes=codes))
        softened += covered
    if not parts:
        return None
    others = [p for p in kept if all(p is not s for s in softened)]
    if any(p.status != "pass" for p in others):
        parts.append(rest(others))
    out = functools.reduce(_joined, parts)
    out.pieces = kept
    return out


def _reaches(into: LayerValues | None, piece: Piece, ctx: ParcelContext) -> bool:
    """Whether ``piece`` reaches, beyond the absolute minimum, into the features ``into`` names (a red-line
    piece into a 自然保护地核心保护区); never where the blueprint lacks their layer."""
    named = _named(into, ctx)
    return named is not None and float(shapely.intersection(piece.geometry, named).area) > ctx.strict_tolerance_m2


def _named(features: LayerValues | None, ctx: ParcelContext) -> shapely.Geometry | None:
    """The union of the parcel's pieces of the features ``features`` names; None for none, or where the
    blueprint lacks their layer."""
    found = ctx.pieces(features.layer) if features is not None else None
    if features is None or found is None or len(found) == 0:
        return None
    values = found.values(features.attribute)
    named = [g for g, v in zip(found.geometry, values, strict=True) if _text(v) in features.values]
    return shapely.union_all(named) if named else None


def _joined(first: Outcome, then: Outcome) -> Outcome:
    """Two findings of one check as its outcome: the worse status, both said, their facts (conditions) merged."""
    facts = first.facts or then.facts
    if first.facts is not None and then.facts is not None:
        facts = first.facts.merged(then.facts)
    return Outcome(
        worst([first.status, then.status]),
        f"{first.message_zh}；{then.message_zh}",
        f"{first.message_en}; {then.message_en}",
        [*first.pieces, *then.pieces],
        facts,
    )


def exempt_statuses(
    check: BaseCheck,
    exempt: list[Exemption],
    flags: dict[str, Any],
    project_type: str | None,
    statuses: list[Status],
    values: Sequence[object],
) -> list[Status]:
    """Features' statuses under the exemptions the project claims, each feature by its own value (the
    site finder grades whole layers: a 一般控制区 feature softens, a 核心保护区 one does not)."""
    claimed = [e for e in exempt if e.applies(flags, project_type)]
    return [
        next((e.status for e in claimed if e.covers(v)), s) if s == check.status else s
        for s, v in zip(statuses, values, strict=True)
    ]


@dataclass(slots=True)
class _Found:
    """One value an outcome found (一级保护区, 林地, 农田保护区): its status, area and what the finding quotes
    of it (文物保护单位名称, 地类)."""

    value: str
    status: Status
    area_m2: float
    quoted_zh: list[str] = field(default_factory=list)
    quoted_en: list[str] = field(default_factory=list)
    label: tuple[str, str] | None = None  # what names the value beside its area (the 三调 classes of a group)


def _text(value: object) -> str:
    """An attribute value as a finding names it; "" for none (``is_blank``)."""
    return "" if is_blank(value) else str(value).strip()


def _found_values(pieces: list[Piece], attribute: str, describe: dict[str, Note] | None = None) -> list[_Found]:
    """The values of ``attribute`` among the non-pass pieces, in order, each with its worst status, its area
    and the values of the ``describe``d attributes (``label：value``)."""
    found: dict[str, _Found] = {}
    described: dict[tuple[str, str], list[str]] = {}  # (value, described attribute) → its values, in order
    for p in pieces:
        if p.status == "pass":
            continue
        value = _text(p.attributes.get(attribute))
        f = found.setdefault(value, _Found(value, p.status, 0.0))
        f.status, f.area_m2 = worst([f.status, p.status]), f.area_m2 + p.area_m2
        for name in describe or {}:
            if said := _text(p.attributes.get(name)):
                described.setdefault((value, name), []).append(said)
    for f in found.values():
        for name, label in (describe or {}).items():
            if (f.value, name) in described:
                names = list(dict.fromkeys(described[(f.value, name)]))
                f.quoted_zh.append(f"{label.zh}：{'、'.join(names)}")
                f.quoted_en.append(f"{label.en}: {', '.join(names)}")
    return list(found.values())


class _Worded(NamedTuple):
    """A finding in the words of the values found (``_value_note``); ``areas``: each value's area is stated;
    ``clauses``: each value's clause of ``zh`` and of ``en`` (values sharing a wording share one)."""

    zh: str
    en: str
    areas: bool
    clauses: tuple[tuple[str, str, str], ...] = ()


def _value_note(notes: dict[str, Note], found: list[_Found], own: tuple[str, str]) -> _Worded | None:
    """The finding in the words of each value found (in the profile's order; ``VALUE/STATUS`` before
    ``VALUE``, ``*/STATUS`` and ``*`` for the rest, the check's ``own`` note for values nothing words), values sharing a
    wording said once; each with what it quotes and, where several are found, the area of each (m², 公顷, 亩).
    ``None`` when the check words no value."""
    if not notes:
        return None
    areas = len(found) > 1
    order: dict[str, int] = {}
    for name in notes:
        order.setdefault(name.split("/", 1)[0], len(order))
    groups: dict[tuple[str, str, bool], list[_Found]] = {}
    for f in sorted(found, key=lambda f: order.get(f.value, len(order))):
        keys = (f"{f.value}/{f.status}", f.value, f"{ANY_VALUE}/{f.status}", ANY_VALUE)
        note = next((notes[k] for k in keys if k in notes), None) if f.value else None
        groups.setdefault((note.zh, note.en, True) if note else (*own, False), []).append(f)
    zh: list[str] = []
    en: list[str] = []
    clauses: list[tuple[str, str, str]] = []
    for (note_zh, note_en, worded), values in groups.items():
        said_zh = list(dict.fromkeys(q for f in values for q in f.quoted_zh))
        said_en = list(dict.fromkeys(q for f in values for q in f.quoted_en))
        for f in values:
            named = f.label or ((f.value, f.value) if len(values) > 1 and f.value else None)
            if areas:
                a_zh, a_en = _area_within(f.area_m2)
                said_zh.append(f"{named[0] if named else '面积'} {a_zh}")
                said_en.append(f"{named[1] if named else 'area'} {a_en}")
            elif f.label:
                said_zh.append(f.label[0])
                said_en.append(f.label[1])
        names = [f.value for f in values]
        found_zh = f"（{'；'.join(said_zh)}）" if said_zh else ""
        found_en = f" ({'; '.join(said_en)})" if said_en else ""
        zh.append(_filled(note_zh, worded, "、".join(names), found_zh))
        en.append(_filled(note_en, worded, ", ".join(names), found_en))
        clauses += [(name, zh[-1], en[-1]) for name in names]
    return _Worded("；".join(zh), "; ".join(en), areas, tuple(clauses))


def _filled(note: str, worded: bool, value: str, found: str) -> str:
    """A value's wording with its ``{value}`` and ``{found}`` filled (what was found follows a wording
    that does not place it, and the check's own note)."""
    if not worded:
        return note + found
    text = note.format(value=value, found=found)
    return text if "{found}" in note else text + found


@rule(InsideCheck)
def run_inside(check: InsideCheck, ctx: ParcelContext) -> Outcome:
    found = ctx.pieces(check.layer)
    if found is None:
        return _missing(check.layer)
    info = layer_catalog()[check.layer]
    outside = _outside(ctx.geometry, found)
    if ctx.uncovered:  # beyond the coverage no boundary was drawn: the parcel is not "outside" it there
        outside = outside.intersection(ctx.covered)
    outside_m2 = float(outside.area)
    facts = ItemFacts(outside_m2=round(outside_m2, 2) if outside_m2 > ctx.tolerance_m2 else 0.0)
    if outside_m2 <= ctx.tolerance_m2:
        return Outcome("pass", f"地块位于{info.name_zh}内", f"the parcel lies inside the {info.name_en}", facts=facts)
    status: Status = check.by_type.get(ctx.project.project_type or "", check.status)
    facts.project_type = ctx.project.project_type
    piece = Piece(check.layer, status, outside, {"position": "outside"}, outside_m2)
    note_zh, note_en = check.note(status)
    if note_zh.startswith("位于"):  # 部分位于 or 全部位于城镇开发边界外: a planner reads how much from the words
        checked_m2 = float(ctx.covered.area) if ctx.uncovered else ctx.area_m2  # beyond the coverage: unknown
        whole = checked_m2 - outside_m2 <= ctx.tolerance_m2
        note_zh = ("全部" if whole else "部分") + note_zh
        note_en = ("wholly " if whole else "partly ") + note_en
        if ctx.uncovered:
            note_zh, note_en = (
                f"蓝图覆盖范围内的部分{note_zh}",
                f"the part inside the blueprint's coverage lies {note_en}",
            )
    return _conflict(check, status, [piece], note=(note_zh, note_en), facts=facts)


_NOTHING = shapely.Polygon()  # built once: an empty polygon is parsed from WKT each time


def _outside(parcel: shapely.Geometry, found: Pieces) -> shapely.Geometry:
    """The part of ``parcel`` outside the layer whose pieces are ``found``. Two cases, most parcels
    of a batch against an urban boundary, need no overlay: no piece (the whole parcel lies outside)
    and the parcel as its own piece (the overlay's shortcut for a feature covering it: none does)."""
    if len(found) == 0:
        return parcel
    if any(piece is parcel for piece in found.geometry):
        return _NOTHING
    return parcel.difference(shapely.union_all(found.geometry))


@rule(ZoneCompatibleCheck)
def run_zone_compatible(check: ZoneCompatibleCheck, ctx: ParcelContext) -> Outcome:
    found = ctx.pieces(check.layer)
    if found is None:
        return _missing(check.layer)
    ptype = ctx.project.project_type
    allowed = allowed_zones(check, ptype)
    values = [str(z) for z in found.attributes[check.attribute]]
    statuses = [zone_status(check, z, allowed) for z in values]
    strict = [z in check.strict_values for z in values]
    kept = _graded(check.layer, found, statuses, ctx, [check.attribute], strict, values=values)
    status = _worst(kept)
    facts = ItemFacts(project_type=ptype, allowed_zones=sorted(allowed))

    def rest(others: list[Piece]) -> Outcome:  # the other zones' finding, with facts of its own
        return _zone_finding(check, others, ItemFacts(project_type=ptype, allowed_zones=sorted(allowed)))

    exempted = _exempted(check, kept, status, ctx, facts, rest=rest)
    if exempted is not None:
        return exempted
    if status == "pass":
        zones = list(dict.fromkeys(str(p.attributes[check.attribute]) for p in kept))
        if not zones:
            return Outcome("pass", "规划用途分区与项目用途相符", "the planned land-use zones admit the project's use")
        # a zone beyond those every type may use (农田保护区 for a road) admits the type under its controls: said so,
        # not as a use the zone is for (officer's read)
        beyond = [z for z in zones if z not in check.compatible.get("default", [])]
        said_zh, said_en = (
            ("准入此类项目，须符合该分区管控要求", "admit this type of project, under the zone's controls")
            if beyond
            else ("与项目用途相符", "admit the project's use")
        )
        return Outcome(
            "pass",
            f"规划用途分区（{'、'.join(zones)}）{said_zh}",
            f"the planned land-use zones ({', '.join(zones)}) {said_en}",
            kept,
            facts,
        )
    return _zone_finding(check, kept, facts)


def _zone_finding(check: ZoneCompatibleCheck, kept: list[Piece], facts: ItemFacts) -> Outcome:
    """A zone check's conflict, in the words of the zones its pieces found."""
    status = _worst(kept)
    note = _value_note(check.value_notes, _found_values(kept, check.attribute), check.note(status))
    return _conflict(check, status, kept, note=note, facts=facts, codes=_piece_codes(kept, check.attribute))


@rule(LandUseClassesCheck)
def run_land_use_classes(check: LandUseClassesCheck, ctx: ParcelContext) -> Outcome:
    found = ctx.pieces(check.layer)
    if found is None:
        return _missing(check.layer)
    status = check.status_for(ctx.project.project_type)
    # only the pieces of the classes sought are graded (the parcel's other land is not this item's); they
    # share one status, so they count together or not at all (``_graded``'s rule for a single group)
    at = [k for k, sought in enumerate(ctx.sought(check)) if sought]
    all_areas = found.area_m2.tolist()
    areas = [all_areas[k] for k in at]
    if status == "pass" or not sum(areas) > ctx.tolerance_m2:
        names = [GROUP_NAMES[g] for g in check.groups] + ([GROUP_NAMES["wetland"]] if check.wetland else [])
        names += [(c.name_zh, c.name_en) for c in map(landuse_class, check.classes) if c is not None]
        return Outcome(
            "pass",
            "未占用" + "、".join(n[0] for n in names),
            "no " + ", ".join(n[1] for n in names) + " occupied",
        )
    classes = ctx.classes(check.layer)
    land = {code: c for code, c in ctx.land_by_class(check.layer).items() if check.sought(c.cls)}
    # a class whose own total is within tolerance is an edge contact beside the land taken (a 0.00 m² 水田
    # would ask for 占水田补水田): not named, unless no class counts alone (then all are named together), but
    # counted in the figures, which the land quota, and so the ledger, counts whole
    named = {code for code, c in land.items() if c.area_m2 > ctx.tolerance_m2} or set(land)
    ratios = found.values("deduction_ratio") if "deduction_ratio" in found.attributes else None
    kept: list[Piece] = []
    kept_classes: list[LandUseClass] = []
    for k, area in zip(at, areas, strict=True):
        cls = cast(LandUseClass, classes[k])  # a class sought is a known one
        attributes: dict[str, Any] = {"class_code": cls.code}
        if ratios is not None:
            attributes["deduction_ratio"] = ratios[k]
        attributes["class_name"] = cls.name_zh
        kept.append(Piece(check.layer, status, found.geometry[k], attributes, area))
        kept_classes.append(cls)
    # the figures net of the 田坎 deduction (KCXS), as the land quota's
    facts = ItemFacts(by_class_m2={code: round(c.net_m2, 2) for code, c in sorted(land.items())})
    hit_classes = [c.cls for c in land.values() if c.cls.code in named]
    groups_hit = [g for g in check.groups if any(c.group == g for c in hit_classes)]
    groups_hit += ["wetland"] if check.wetland and any(c.wetland for c in hit_classes) else []
    codes = [(g, str(status)) for g in groups_hit]
    worded = [(p, c) for p, c in zip(kept, kept_classes, strict=True) if c.code in named]
    listed = [p for p, c in worded if c.code in check.classes]  # each named (湖泊水面…)
    found_groups = _found_groups([p for p, _ in worded], [c for _, c in worded], groups_hit, status) + _found_values(
        listed, "class_name"
    )
    note = _value_note(check.value_notes, found_groups, check.note(status))
    if "cultivated" in check.groups:
        # 占水田补水田 for 水田 off stock land (as the land quota's paddy_compensation_m2), more than an edge contact
        paddy_off = land["0101"].off_stock_net_m2 if "0101" in land else 0.0
        paddy = paddy_off if "0101" in named and round(paddy_off, 2) > 0 else 0.0
        facts.paddy_m2 = round(land["0101"].net_m2, 2) if "0101" in land else 0.0
        taken = Area(sum(c.net_m2 for c in land.values()))
        owed = sum(c.off_stock_net_m2 for c in land.values())  # the land quota's compensation_m2
        # the farmland found, net of 田坎, then class by class (水田、水浇地、旱地), each in the three units: the
        # classes after the total, not in its bracket (officer's read: the classes gave m² alone, inside it)
        each_zh, each_en = _classes_taken(land, hit_classes)
        ridges_zh = ridges_en = ""
        if any(c.net_m2 < c.area_m2 for c in land.values()):
            gz, ge = _area_within(sum(areas))
            ridges_zh, ridges_en = f"；已扣除田坎，图斑面积 {gz}", f"; net of field ridges (KCXS), patches {ge}"
        taken_zh = f"占用耕地 {taken.m2_text} m²（{taken.ha_text} 公顷，{taken.mu_text} 亩{ridges_zh}），{each_zh}"
        taken_en = (
            f"occupies cultivated land {taken.m2_text} m² ({taken.ha_text} ha, {taken.mu_text} mu{ridges_en}), "
            f"{each_en}"
        )
        # nothing owed, as the land quota's compensation_m2 (which the ledger books) states it, to 0.01 m²
        if round(owed, 2) <= 0 and all(c.group == "cultivated" for c in hit_classes):
            return _compensated(kept, facts, taken_zh, taken_en)
        out = _conflict(
            check,
            status,
            kept,
            note=note,
            facts=facts,
            codes=codes + ([("paddy", str(status))] if paddy else []),
        )
        note_zh, note_en = (note.zh, note.en) if note else check.note(status)
        out.message_zh, out.message_en = f"{taken_zh}，{note_zh}", f"{taken_en}; {note_en}"
        if paddy > 0:
            out.message_zh += "，所占水田须占水田补水田"
            out.message_en += "; the paddy taken must be replaced by paddy"
        # stock land's conversion was approved, and its 占补平衡 with it: the land figures leave it out
        if round(taken.m2 - owed, 2) > 0:
            (sz, se), (nz, ne) = _area_text(taken.m2 - owed), _area_text(owed)
            out.message_zh += (
                f"；所占耕地中 {sz}位于批而未供或闲置土地，农用地转用已经批准，占补平衡随批准落实，尚需补充耕地 {nz}"
            )
            out.message_en += (
                f"; of it {se} lies on approved-unsupplied or idle land, whose conversion was approved with its "
                f"compensation: {ne} remains to be compensated"
            )
        return _with_steps(out, check, groups_hit, note)
    out = _with_steps(_conflict(check, status, kept, note=note, facts=facts, codes=codes), check, groups_hit, note)
    return _beyond_drawn(out, check, ctx)


def _beyond_drawn(out: Outcome, check: LandUseClassesCheck, ctx: ParcelContext) -> Outcome:
    """The finding where the land lies inside the features ``except_within`` names (内陆滩涂 inside the
    河湖管理范围 the flood layer draws): verified, and graded by that layer's check. Wholly inside, it passes (a
    second finding would ask to verify what the blueprint states); partly, the part inside is said."""
    within = check.except_within
    drawn = _named(within, ctx)
    if within is None or drawn is None or out.status == "pass":
        return out
    land = shapely.union_all([p.geometry for p in out.pieces])
    inside = float(shapely.intersection(land, drawn).area)
    if inside <= ctx.strict_tolerance_m2:
        return out
    name_zh, name_en = "、".join(within.values), ", ".join(within.values)
    if float(land.area) - inside <= ctx.strict_tolerance_m2:
        for piece in out.pieces:
            piece.status = "pass"
        classes = "、".join(dict.fromkeys(p.attributes["class_name"] for p in out.pieces))
        return Outcome(
            "pass",
            f"所涉{classes}均位于蓝图划定的{name_zh}内，按{name_zh}审查",
            f"the land found lies wholly inside the {name_en} the blueprint draws, and is graded as such",
            out.pieces,
        )
    # the area left to this finding, and the part the drawn features' own finding grades (officer's read: a total
    # with "其中" after it read as all of it to verify, and lost its referent where the opinion states the total)
    total = sum(p.area_m2 for p in out.pieces if p.status != "pass")
    rest, part = max(total - inside, 0.0), inside
    inside_zh = f"位于蓝图划定的{name_zh}内，按{name_zh}审查"
    beyond_en = (
        f" (affected: {Area(rest).en}; another {Area(part).en} lies inside the {name_en} the blueprint draws, "
        "graded as such)"
    )
    bracketed, after = f"（涉及 {_area_within(total)[0]}）", f"，涉及 {Area(total).zh}"  # ``_area_after``'s
    if out.message_zh.endswith(bracketed):
        out.message_zh = out.message_zh.removesuffix(bracketed) + (
            f"（涉及 {_area_within(rest)[0]}；另 {_area_within(part)[0]}，{inside_zh}）"
        )
        out.message_en = out.message_en.replace(f" (affected: {Area(total).en})", beyond_en)
    elif out.message_zh.endswith(after):
        out.message_zh = out.message_zh.removesuffix(after) + f"，涉及 {Area(rest).zh}，另有 {Area(part).zh}{inside_zh}"
        out.message_en = out.message_en.replace(f" (affected: {Area(total).en})", beyond_en)
    else:  # each value's own area stated
        out.message_zh += f"（另 {_area_within(part)[0]}，{inside_zh}）"
        out.message_en += f" (another {Area(part).en} lies inside the {name_en} the blueprint draws, graded as such)"
    return out


def _with_steps(out: Outcome, check: LandUseClassesCheck, groups: list[str], note: _Worded | None) -> Outcome:
    """The finding with the step each group found calls for, that group's land and its clause in ``note``."""
    clauses = {name: (zh, en) for name, zh, en in note.clauses} if note is not None else {}
    steps = []
    for group in groups:
        if (step := check.steps.get(group)) is None:
            continue
        land = tuple(
            p.geometry
            for p in out.pieces
            if (c := landuse_class(p.attributes.get("class_code"))) is not None
            and (c.wetland if group == "wetland" else c.group == group)
        )
        steps.append(Step(group, step.zh, step.en, land, *clauses.get(group, ("", ""))))
    out.steps = tuple(steps)
    return out


def _classes_taken(land: dict[str, ClassLand], hit: list[LandUseClass]) -> tuple[str, str]:
    """The cultivated classes taken, each with its area in the three units (net of 田坎): 均为水浇地 where one
    class is all of it, else 其中水田 …、旱地 … (edge contacts are counted in the total, not named)."""
    named = [c for c in sorted(hit, key=lambda c: c.code) if c.group == "cultivated"]
    if len(land) == 1 and len(named) == 1:
        return f"均为{named[0].name_zh}", f"all of it {named[0].name_en}"
    each = [(c, Area(land[c.code].net_m2)) for c in named]
    return (
        "其中" + "、".join(f"{c.name_zh} {a.zh}" for c, a in each),
        "of it " + ", ".join(f"{c.name_en} {a.en}" for c, a in each),
    )


def _compensated(kept: list[Piece], facts: ItemFacts, taken_zh: str, taken_en: str) -> Outcome:
    """Cultivated land that lies wholly on 批而未供 or 闲置 land: its conversion was approved, and its 占补平衡
    with it (土地管理法第四十四条 with 第三十条; DESIGN.md ``compensation_m2``), so nothing is left to compensate
    and the item asks for nothing; it says how much it found, and its pieces pass."""
    for piece in kept:
        piece.status = "pass"
    return Outcome(
        "pass",
        f"{taken_zh}，全部位于批而未供或闲置土地：农用地转用已经批准，占补平衡随批准落实，无需另行补充耕地",
        f"{taken_en}, all of it on approved-unsupplied or idle land, whose conversion was approved with its "
        "compensation: nothing remains to be compensated",
        kept,
        facts,
    )


def _found_groups(kept: list[Piece], classes: list[LandUseClass], groups: list[str], status: Status) -> list[_Found]:
    """The class groups found (林地, 草地, 湿地: a 森林沼泽 is both 林地 and 湿地), each with its area and
    its 三调 classes (``classes``: the pieces' own, all of status ``status``)."""
    found = []
    for group in groups:
        mine = [
            (p, c)
            for p, c in zip(kept, classes, strict=True)
            if (c.wetland if group == "wetland" else c.group == group)
        ]
        names = list(dict.fromkeys(c.name_zh for _, c in mine if c.name_zh))
        codes = list(dict.fromkeys(c.code for _, c in mine))
        label = ("、".join(names or codes), ", ".join(codes))
        found.append(_Found(group, status, sum(p.area_m2 for p, _ in mine), label=label))
    return found


@rule(RasterShareAboveCheck)
def run_raster_share_above(check: RasterShareAboveCheck, ctx: ParcelContext) -> Outcome:
    values = ctx.pixels.get(check.layer)
    if values is None:
        return _missing(check.layer)
    if values.size == 0:
        info = layer_catalog()[check.layer]
        return Outcome(
            "missing_layer",
            f"{info.name_zh}栅格未覆盖该地块",
            f"the {info.name_en} raster does not cover the parcel",
        )
    share = np.count_nonzero(values > check.threshold) / values.size
    facts = ItemFacts(
        share_above=round(share, 4), threshold=check.threshold, max_share=check.max_share, pixels=int(values.size)
    )
    if share <= check.max_share:
        return Outcome(
            "pass",
            f"坡度大于{check.threshold:g}°的面积占比 {share:.1%}，未超过本方案取值 {check.max_share:.0%}",
            f"{share:.1%} of the parcel is steeper than {check.threshold:g}° "
            f"(the profile's limit {check.max_share:.0%})",
            facts=facts,
        )
    steep_m2 = share * ctx.area_m2  # by pixel count: the share of the parcel's area
    steep_zh, steep_en = _area_within(steep_m2)
    return Outcome(
        check.status,
        f"{check.note_zh}（占比 {share:.1%}，约 {steep_zh}；本方案取值 {check.max_share:.0%}）",
        f"{check.note_en} ({share:.1%}, about {steep_en}; the profile's limit {check.max_share:.0%})",
        facts=_with_conditions(check, facts, [], check.status, check.note_zh),
        estimated_m2=steep_m2,
    )


def _wan(amount: float) -> str:
    """万元 as a paper writes them: 47,000, 12.5."""
    return f"{amount:,.2f}".rstrip("0").rstrip(".")


@rule(LandUseStandardCheck)
def run_land_use_standard(check: LandUseStandardCheck, ctx: ParcelContext) -> Outcome:
    table = standard_table(check.source)
    total = ctx.project_total
    ptype = ctx.project.project_type
    invest = total.investment_wan if total else ctx.project.investment_wan
    area_m2 = total.area_m2 if total else ctx.area_m2
    whose_zh, whose_en = (
        (
            f"项目 {total.project_id} 共 {len(total.parcel_ids)} 个地块合计",
            f"project {total.project_id}, {len(total.parcel_ids)} parcels together: ",
        )
        if total
        else ("", "")
    )
    # a per-unit indicator rates its own kind of work (公路 per km), the type's row the rest of its projects
    kinds = table.per_unit.get(ptype or "", {})
    facility = ctx.project.facility
    per_unit = kinds.get(facility or "")
    row = per_unit.row if per_unit is not None else table.rows.get(ptype or "")
    unknown_facts = ItemFacts(project_type=ptype, facility=facility, table=check.table, table_label=table.label)
    unknown = Outcome(
        check.unknown_status,
        check.unknown_note_zh,
        check.unknown_note_en,
        facts=_with_conditions(
            check, unknown_facts, [("unknown", check.unknown_status)], check.unknown_status, check.unknown_note_zh
        ),
    )
    if row is None:
        if not ptype:  # not "no standard for this type": the type was not given
            unknown.message_zh = "未提供项目类型，无法对照用地控制标准核定面积，需补充项目类型后核定或开展节地评价"
            unknown.message_en = (
                "no project type was given, so no standard sets the approved area; give the type, or carry out a "
                "land-saving evaluation (节地评价)"
            )
        elif kinds:
            _facility_unrated(check, table, kinds, ctx, unknown, unknown_facts)
        return unknown
    intensity = row.min_intensity_wan_per_ha
    why_zh = why_en = ""  # what set the approved area, beside the figures
    if per_unit is not None:
        attr, measure_zh, unit_zh, measure_en, unit_en = UNITS[per_unit.unit]
        measure = getattr(ctx.project, attr)
        if measure is None:
            return _per_unit_unmeasured(check, table, per_unit, unknown, unknown_facts, ctx.project)
        max_ha = measure * per_unit.ha_per_unit
        why_zh = f"按{measure_zh} {measure:g} {unit_zh}、{table.label}每{unit_zh} {per_unit.ha_per_unit:g} 公顷"
        why_en = f" ({measure_en} {measure:g} {unit_en} at {per_unit.ha_per_unit:g} ha per {unit_en})"
    elif intensity is not None:
        if invest is None:
            _with_conditions(
                check, unknown_facts, [("no_investment", check.unknown_status)], unknown.status, check.unknown_note_zh
            )
            unknown.message_zh = f"{row.name_zh}按投资强度控制，但未提供投资额，需开展节地评价"
            unknown.message_en = (
                "the standard limits investment intensity but no investment was given; needs a land-saving evaluation"
            )
            return unknown
        max_ha = invest / intensity
        why_zh = f"按项目总投资 {_wan(invest)} 万元、{table.label}投资强度控制指标每公顷 {_wan(intensity)} 万元"
        why_en = f" (investment {_wan(invest)} 万元 at the standard's {_wan(intensity)} 万元/ha)"
    elif row.max_area_ha is not None:
        max_ha = row.max_area_ha
        why_zh = f"按{table.label}"
    else:
        if kinds:  # the type's row sets nothing; its per-unit indicators rate other kinds of work
            _facility_unrated(check, table, kinds, ctx, unknown, unknown_facts)
        return unknown
    # compared as the result states them, to 0.01 m²: a 1 ha square drawn in another zone's coordinates is
    # 10,000.00000018 m² in this one, and must pass a 1 ha standard (and half of it is not below half)
    stated_m2, max_m2 = round(area_m2, 2), round(max_ha * M2_PER_HA, 2)
    facts = ItemFacts(
        project_type=ptype,
        facility=facility if per_unit is not None else None,
        standard=row,
        max_area_m2=max_m2,
        area_m2=stated_m2,
        investment_wan=invest,
        project_parcels=total.parcel_ids if total else None,
        table=check.table,
        table_label=table.label,
    )
    # every area in the three units, and what set the standard said before its figure, naming the table there
    # (officer's read: 公顷 alone, and a second bracket after the figures' own read 公顷）（样例标准表）)
    used, allowed = Area(stated_m2), Area(max_m2)
    if stated_m2 <= max_m2:
        # a pass set by the investment names the table alone: the figures of a standard met are not argued
        how_zh = f"按{table.label}" if intensity is not None else why_zh
        # a per-unit indicator sets the whole project's land (a highway's km): a part reviewed alone (an interchange,
        # a wind farm's substation) is within it only with the rest of the project's land (officer's read)
        whole_zh, whole_en = (
            (
                "；该指标按项目整体核定，项目另有用地未纳入本次审查的，应合并核定",
                "; the indicator rates the whole project: land of the project outside this review counts with it",
            )
            if per_unit is not None
            else ("", "")
        )
        return Outcome(
            "pass",
            f"{whose_zh}用地 {used.zh}，未超过{how_zh}核定的控制标准 {allowed.zh}{whole_zh}",
            f"{whose_en}{used.en} is within the standard's {allowed.en}{why_en if intensity is None else ''} "
            f"({table.label}{whole_en})",
            facts=facts,
        )
    refuse = check.refuse
    if (
        refuse is not None
        and intensity is not None
        and invest is not None
        and (refuse.project_types is None or ptype in refuse.project_types)
        and max_m2 < round(refuse.share * stated_m2, 2)
    ):
        share = percent(max_m2 / stated_m2, refuse.share)
        _with_conditions(check, facts, [("refuse", "fail")], "fail", refuse.note_zh)
        return Outcome(
            "fail",
            f"{refuse.note_zh}：{whose_zh}项目总投资 {_wan(invest)} 万元，"
            f"按投资强度控制指标（{table.label}：每公顷 {_wan(intensity)} 万元）仅可支持用地 {allowed.zh}，"
            f"为申请用地 {used.zh}的 {share}，低于本方案取值 {refuse.share:.0%}",
            f"{refuse.note_en}: {whose_en}an investment of {_wan(invest)} 万元 at the standard's {_wan(intensity)} "
            f"万元/ha supports {allowed.en}, {share} of the {used.en} requested, below the "
            f"profile's threshold of {refuse.share:.0%} (本方案取值)",
            facts=facts,
            estimated_m2=_beyond_standard(stated_m2, max_m2, ctx),
        )
    note_zh, note_en = check.note(check.status)
    _with_conditions(check, facts, [("over", check.status)], check.status, note_zh)
    over_zh, over_en = _area_text(stated_m2 - max_m2)
    return Outcome(
        check.status,
        f"{note_zh}：{whose_zh}用地 {used.zh}，{why_zh}，核定面积 {allowed.zh}，超出 {over_zh}，"
        "需核减至核定面积或开展节地评价",
        f"{note_en}: {whose_en}{used.en} against an approved area of {allowed.en}{why_en} "
        f"({table.label}), {over_en} over; reduce to the approved area or carry out a land-saving evaluation "
        "(节地评价)",
        facts=facts,
        estimated_m2=_beyond_standard(stated_m2, max_m2, ctx),
    )


def _beyond_standard(stated_m2: float, max_m2: float, ctx: ParcelContext) -> float:
    """The area a standard's finding is about, the item's ``overlap_m2`` (DESIGN: at least what a finding without
    pieces states): the area beyond the approved one, as the finding states it (超出 …; beyond what the investment
    supports), at most the parcel's own where the project's several parcels are weighed together. It was 0.00,
    and a paper's 涉及面积 read 0.00 m² beside 不通过 (officer's read)."""
    return min(stated_m2 - max_m2, ctx.area_m2)


def _reworded(check: LandUseStandardCheck, unknown: Outcome, facts: ItemFacts, code: str, zh: str, en: str) -> Outcome:
    """``unknown`` (with ``facts``, its own) as the outcome ``code`` of the check's unknown status, in these words."""
    _with_conditions(check, facts, [(code, check.unknown_status)], unknown.status, check.unknown_note_zh)
    unknown.message_zh, unknown.message_en = zh, en
    return unknown


def _per_unit_unmeasured(
    check: LandUseStandardCheck,
    table: StandardTable,
    per_unit: PerUnit,
    unknown: Outcome,
    facts: ItemFacts,  # ``unknown``'s
    project: ProjectAttributes,
) -> Outcome:
    """A kind of work whose national indicator counts per km or per MW: the review has the parcel, not the route's
    length or the installed capacity, so it says which figure sets the approved area instead of "no standard"; a
    figure of another unit the project gave is said not to apply (a wind farm's route_km was left out unsaid)."""
    _, measure_zh, unit_zh, measure_en, unit_en = UNITS[per_unit.unit]
    facts.standard = per_unit.row
    other = [
        (zh, en)
        for unit, (attr, zh, _, en, _) in UNITS.items()
        if unit != per_unit.unit and getattr(project, attr) is not None
    ]
    said_zh = "".join(f"，所给{zh}不适用于该指标" for zh, _ in other)
    said_en = "".join(f" (the {en} given does not apply to it)" for _, en in other)
    return _reworded(
        check,
        unknown,
        facts,
        f"no_{per_unit.unit}",
        f"{per_unit.row.name_zh}按{measure_zh}核定用地（{table.label}：每{unit_zh} {per_unit.ha_per_unit:g} 公顷），"
        f"未提供{measure_zh}（{unit_zh}）{said_zh}，需补充后核定或开展节地评价",
        f"the national indicator for this kind of work ({per_unit.indicator}) is per {unit_en} of {measure_en} "
        f"({table.label}: {per_unit.ha_per_unit:g} ha per {unit_en}); the {measure_en} ({unit_en}) was not given"
        f"{said_en}, which sets the approved area; until then a land-saving evaluation (节地评价)",
    )


def _facility_unrated(
    check: LandUseStandardCheck,
    table: StandardTable,
    kinds: dict[str, PerUnit],
    ctx: ParcelContext,
    unknown: Outcome,
    facts: ItemFacts,  # ``unknown``'s
) -> None:
    """A type whose table rates some kinds of work per unit (交通: 公路 per km) and nothing else: without the
    project's 工程类别 the review says which kinds are rated and asks for it (``no_facility``); for a kind the table
    does not rate (铁路, 光伏发电站) the national indicator of its own kind sets the area, else 节地评价 (``unrated``:
    "无控制标准" read as if none existed, officer's read). Every energy project was rated a wind farm, every
    transport one a highway (officer's read). ``unknown`` is reworded in place."""
    known = facilities()
    rated_zh, rated_en = [], []
    for name, unit in kinds.items():
        _, measure_zh, unit_zh, measure_en, unit_en = UNITS[unit.unit]
        kind_zh = known[name].name_zh if name in known else name
        rated_zh.append(f"{kind_zh}按{measure_zh}核定，每{unit_zh} {unit.ha_per_unit:g} 公顷")
        rated_en.append(f"{name} per {unit_en} of {measure_en}, {unit.ha_per_unit:g} ha per {unit_en}")
    facility, ptype = ctx.project.facility, ctx.project.project_type or ""
    if facility is None:
        label = project_types().get(ptype)
        type_zh, type_en = (label.name_zh, label.name_en) if label else (ptype, ptype)
        own = f"no_facility_{ptype}"  # the figure the type is rated by (a road's km), where the profile words it
        _reworded(
            check,
            unknown,
            facts,
            own if own in check.conditions else "no_facility",
            f"{type_zh}项目按工程类别核定用地（{table.label}：{'；'.join(rated_zh)}），未说明工程类别，"
            "需补充工程类别及其规模后核定，或开展节地评价",
            f"{type_en} projects are rated by the kind of work ({table.label}: {'; '.join(rated_en)}); no kind "
            "(facility) was given, which with its size sets the approved area; until then a land-saving evaluation "
            "(节地评价)",
        )
        return
    kind = known.get(facility)
    work_zh = kind.name_zh if kind else facility
    work_zh += "" if work_zh.endswith("工程") else "工程"
    _reworded(
        check,
        unknown,
        facts,
        "unrated",
        f"{table.label}未列{work_zh}的用地指标（仅{'；'.join(rated_zh)}），应按国家相应的工程项目建设用地指标"
        "核定用地规模，无适用指标的开展节地评价",
        f"{table.label} has no indicator for a {kind.name_en if kind else facility} (it rates only: "
        f"{'; '.join(rated_en)}); the national land-use indicator of its kind of work sets the area, else a "
        "land-saving evaluation (节地评价)",
    )
