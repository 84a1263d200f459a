"""Review profiles: YAML files binding rule kinds to layers and thresholds."""

from __future__ import annotations

import re
from collections.abc import Sequence
from functools import cache, cached_property, lru_cache
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, ValidationError, field_validator, model_validator

from geo import resources
from geo.catalog import LandUseClass, landuse_class, layer_catalog
from geo.errors import ProfileError
from geo.review.citations import by_subject, cited_articles, documents, joined, meets
from geo.review.result import Condition
from geo.review.stages import ChangeCheckRule, SitingRule
from geo.review.standards import standard_table
from geo.vocabulary import facilities, project_types


class Note(BaseModel):
    model_config = ConfigDict(extra="forbid")

    zh: str
    en: str


# the 三调 families a land-use check may grade, as its findings name them (湿地: the classes flagged wetland)
GROUP_NAMES = {
    "cultivated": ("耕地", "cultivated land"),
    "forest": ("林地", "forest land"),
    "grassland": ("草地", "grassland"),
    "wetland": ("湿地", "wetland"),
}
ANY_VALUE = "*"  # the value_notes key for the values no other key words


def _value_keys(notes: dict[str, Note]) -> dict[str, Note]:
    """``value_notes`` keys: a value, ``VALUE/STATUS`` (the wording of a value at that status), or ``*``
    (``*/STATUS``) for the values nothing else words. A wording may name the values it covers with ``{value}`` and place
    what was found of them (地类, 名称, the area of each) with ``{found}``; else that follows it."""
    for key, note in notes.items():
        for text in (note.zh, note.en):
            try:
                text.format(value="", found="")
            except (KeyError, IndexError, ValueError) as exc:
                raise ValueError(f"value_notes {key!r}: {text!r} is not a wording ({exc})") from exc
    return notes


class OutcomeCondition(BaseModel):
    """What one outcome of a check requires: the condition (条件) and its procedures (所需手续),
    each with the law or notice it comes from."""

    model_config = ConfigDict(extra="forbid")

    condition_zh: str
    procedures: list[str] = Field(default_factory=list)
    basis: list[str] = Field(min_length=1)
    # codes of the item's other outcomes whose steps this one's include (dropped beside it)
    replaces: list[str] = Field(default_factory=list)


class BaseCheck(BaseModel):
    """A check of an item. ``conditions`` word each outcome it can give, keyed by outcome code
    (what geo.review.rules reports for the outcome):

    - ``overlap``: an exemption's flag (``major_project``, ``redline_exempt``) when one applied;
      else each attribute value found (``采矿权``, ``建设控制地带``; ``VALUE/STATUS`` first, for a
      value whose status depends on the project type: ``一级/warn``); ``minor`` when only a strict
      check's tiny overlap (within the relative tolerance) counts;
    - ``zone_compatible``: the zone (``城镇弹性发展区``); ``land_use_classes``: the groups found
      (``cultivated``, ``forest``, ``grassland``, ``wetland``) and ``paddy``;
      ``land_use_standard``: ``over``, ``refuse`` (far below the standard), ``unknown`` (no standard),
      ``no_investment``, ``no_km`` or ``no_MW`` (a per-km / per-MW indicator without the project's figure),
      ``no_facility`` (a type its table rates per unit for some kinds of work only, and no kind given; the
      type's own ``no_facility_<type>`` where the profile words one), ``unrated``
      (a kind of work the table does not rate);
    - every kind: the status (``warn``, ``fail``) for what no code above words.
    """

    model_config = ConfigDict(extra="forbid")

    status: Literal["warn", "fail"]
    note_zh: str
    note_en: str
    # the wording for an outcome of a given status when it differs from note_zh/note_en
    notes: dict[Literal["warn", "fail"], Note] = Field(default_factory=dict)
    conditions: dict[str, OutcomeCondition] = Field(default_factory=dict)
    # its finding is stated even when it passes, beside another check's conflict (the zone found, for a
    # parcel outside the urban boundary); otherwise an item states only its conflicts
    stated: bool = False

    def note(self, status: str) -> tuple[str, str]:
        chosen = self.notes.get(status)  # type: ignore[call-overload]
        return (chosen.zh, chosen.en) if chosen else (self.note_zh, self.note_en)

    def conditions_for(self, codes: Sequence[tuple[str, str]], status: str, note_zh: str) -> list[Condition] | None:
        """The conditions of an outcome of ``status`` whose ``codes`` are (code, its status) pairs: each
        code's own (``CODE/STATUS`` before ``CODE``), the status's for codes without one (or when there
        are none); an outcome nothing words states its note with no procedure. None when the check
        words no outcome: the item's own ``procedures`` apply. The conditions of one (codes, status) are
        shared between the outcomes that find them (a result is replaced, never edited), the list is
        each one's own."""
        if not self.conditions:
            return None
        said = _worded(_Same(self), tuple(codes), status)
        return list(said) if said else [Condition(code=status, condition_zh=note_zh, status=status)]

    def worded_conditions(self, codes: Sequence[tuple[str, str]], status: str) -> list[Condition]:
        """``conditions_for`` without the memo; empty when nothing words the outcome."""
        found: dict[str, tuple[OutcomeCondition, str]] = {}
        unworded = not codes
        for code, code_status in codes:
            key = next((k for k in (f"{code}/{code_status}", code) if k in self.conditions), None)
            if key is None:
                unworded = True
            else:
                found[key] = (self.conditions[key], code_status)
        if unworded and status in self.conditions:
            found[status] = (self.conditions[status], status)
        return [
            Condition(
                code=k,
                status=st,
                condition_zh=c.condition_zh,
                procedures=c.procedures,
                basis=c.basis,
                replaces=c.replaces or None,
            )
            for k, (c, st) in found.items()
        ]


class _Same:
    """A check as a cache key, by identity (a profile's checks are models, which do not hash); the cache
    holds the check, so no other object takes its identity while the entry lives."""

    __slots__ = ("check",)

    def __init__(self, check: BaseCheck) -> None:
        self.check = check

    def __hash__(self) -> int:
        return id(self.check)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _Same) and other.check is self.check


@lru_cache(maxsize=4096)  # a city's batch words the same few outcomes of each check over and over
def _worded(check: _Same, codes: tuple[tuple[str, str], ...], status: str) -> tuple[Condition, ...]:
    return tuple(check.check.worded_conditions(codes, status))


class LayerValues(BaseModel):
    """A layer's features by the values of one attribute (自然保护地 by ``zone``: 核心保护区)."""

    model_config = ConfigDict(extra="forbid")

    layer: str
    attribute: str
    values: list[str] = Field(min_length=1)


class Exemption(BaseModel):
    """A project flag that softens a forbidden overlap (重大项目, 红线内允许的有限人为活动),
    honoured only for the listed project types when ``project_types`` is given, and only for the
    forbidden pieces with one of ``values`` (自然保护地一般控制区, not 核心保护区; 生态保护区) when given:
    the others still fail."""

    model_config = ConfigDict(extra="forbid")

    flag: Literal["major_project", "redline_exempt"]
    project_types: list[str] | None = None
    values: list[str] | None = None
    status: Literal["warn"]
    note_zh: str
    note_en: str
    # nor a piece reaching into these features of another layer: 自然资发〔2022〕142号 一（一） allows the limited
    # activities in the red line only outside a 自然保护地's 核心保护区 (``geo.review.rules._reaches``)
    not_within: LayerValues | None = None

    def applies(self, flags: dict[str, object], project_type: str | None) -> bool:
        if not flags.get(self.flag):
            return False
        return self.project_types is None or project_type in self.project_types

    def covers(self, value: object) -> bool:
        """Whether a forbidden piece with attribute ``value`` is one the exemption softens."""
        return self.values is None or (value is not None and str(value).strip() in self.values)


def features_beside(check: BaseCheck) -> list[LayerValues]:
    """The other layers' features a check reads besides its own layer: those its exemptions stop at
    (``Exemption.not_within``) and those beyond which it grades (``LandUseClassesCheck.except_within``)."""
    limits = [e.not_within for e in getattr(check, "exempt", []) if e.not_within is not None]
    return limits + [w for w in [getattr(check, "except_within", None)] if w is not None]


def _one_or_many(value: object) -> object:
    return [value] if isinstance(value, dict) else value


class OverlapCheck(BaseCheck):
    """Any overlap with the layer gives ``status``; ``by_value`` grades by an attribute."""

    kind: Literal["overlap"]
    layer: str
    attribute: str | None = None
    by_value: dict[str, Literal["pass", "warn", "fail"]] = Field(default_factory=dict)
    # per attribute value, a status for given project types (一级保护区: 供水工程 warn)
    by_value_type: dict[str, dict[str, Literal["pass", "warn", "fail"]]] = Field(default_factory=dict)
    exempt: list[Exemption] = Field(default_factory=list)
    # any occupation matters (永久基本农田, 红线…): pieces count above the tolerance's min_m2 alone,
    # not the relative share; ``strict_values`` limits that to pieces with those attribute values
    strict: bool = False
    strict_values: list[str] = Field(default_factory=list)
    # the wording per attribute value found (矿业权 vs 查明重要矿产资源, 一级 vs 二级保护区): the finding names
    # what the parcel hits, not every grade the rule knows (keys: see _value_keys)
    value_notes: dict[str, Note] = Field(default_factory=dict)
    # optional attributes the finding quotes where the layer has them (文物保护单位名称、级别, 矿业权人), by label
    describe: dict[str, Note] = Field(default_factory=dict)
    # a supplementary layer (地下文物埋藏区, 公益林…): absent from the blueprint, the check is skipped
    # (recorded in the item's facts) instead of turning the item into missing_layer
    optional: bool = False

    _exempt_list = field_validator("exempt", mode="before")(_one_or_many)
    _value_notes = field_validator("value_notes")(_value_keys)


class InsideCheck(BaseCheck):
    """The parcel must lie inside the layer; the part outside gives ``status``."""

    kind: Literal["inside"]
    layer: str
    by_type: dict[str, Literal["warn", "fail"]] = Field(default_factory=dict)  # status per project type


class ZoneCompatibleCheck(BaseCheck):
    """Overlap with a zone not listed for the project's type gives ``status``."""

    kind: Literal["zone_compatible"]
    layer: str
    attribute: str
    compatible: dict[str, list[str]]
    conditional: dict[str, Literal["warn"]] = Field(default_factory=dict)  # admitted zones needing a step
    # zones any occupation of which counts, above the absolute minimum alone, as an overlap check's ``strict``
    # layer does (生态保护区, which is the red line's land and judged as it is)
    strict_values: list[str] = Field(default_factory=list)
    # a zone admitting exactly what a flag claims (生态保护区: 红线内允许的有限人为活动, 国家重大项目) gives
    # the exemption's status, as the overlap check of the same rule does
    exempt: list[Exemption] = Field(default_factory=list)
    # the wording per zone found (城镇弹性发展区; ``*`` names any other zone the type may not use)
    value_notes: dict[str, Note] = Field(default_factory=dict)

    _exempt_list = field_validator("exempt", mode="before")(_one_or_many)
    _value_notes = field_validator("value_notes")(_value_keys)


class LandUseClassesCheck(BaseCheck):
    """Overlap with 三调 classes of the given families (and wetland classes if asked), or with the listed
    ``classes`` (河流水面、湖泊水面、水库水面: land that is a 河湖管理范围 by definition)."""

    kind: Literal["land_use_classes"]
    layer: str
    groups: list[str] = Field(default_factory=list)
    classes: list[str] = Field(default_factory=list)  # 三调 codes sought besides the groups, each named in the finding
    wetland: bool = False
    by_type: dict[str, Literal["pass", "warn", "fail"]] = Field(default_factory=dict)  # status per project type
    # the wording per group found (forest, grassland, wetland), or per class (``*`` for any), with its area
    value_notes: dict[str, Note] = Field(default_factory=dict)
    # graded only beyond these features of another layer, whose own check grades the land inside them: 内陆滩涂
    # where the flood layer draws the 河湖管理范围 over it is no longer to verify (``geo.review.rules._beyond_drawn``)
    except_within: LayerValues | None = None
    # the step each group found calls for (需办理使用林地/草原审核), said once after the findings: groups that
    # share a step (林地, 草地) name it once
    steps: dict[str, Note] = Field(default_factory=dict)

    _value_notes = field_validator("value_notes")(_value_keys)

    @field_validator("groups")
    @classmethod
    def _worded_groups(cls, groups: list[str]) -> list[str]:
        """Only the families a finding can name (耕地, 林地, 草地): any other would fail a review halfway
        through its wording; 湿地 is asked with ``wetland: true`` (a wetland class belongs to other families)."""
        unworded = [g for g in groups if g not in GROUP_NAMES or g == "wetland"]
        if unworded:
            raise ValueError(
                f"groups {unworded} cannot be named in a finding; use {sorted(set(GROUP_NAMES) - {'wetland'})}, "
                "wetland: true for 湿地, or list the 三调 codes under classes"
            )
        return groups

    @field_validator("classes")
    @classmethod
    def _known_classes(cls, codes: list[str]) -> list[str]:
        unknown = [c for c in codes if landuse_class(c) is None]
        if unknown:
            raise ValueError(f"unknown 三调 class code(s) {unknown} (see layers/landuse_classes.csv)")
        return codes

    @model_validator(mode="after")
    def _seeks_something(self) -> LandUseClassesCheck:
        if not (self.groups or self.classes or self.wetland):
            raise ValueError("a land_use_classes check names groups, classes or wetland")
        unsought = sorted(set(self.steps) - {*self.groups, *(["wetland"] if self.wetland else [])})
        if unsought:
            raise ValueError(f"steps for groups the check does not seek: {unsought}")
        return self

    def sought(self, cls: LandUseClass | None) -> bool:
        """Whether a 三调 class is one this check grades (the review and the site finder alike)."""
        return cls is not None and (
            cls.group in self.groups or cls.code in self.classes or (self.wetland and cls.wetland)
        )

    def status_for(self, project_type: str | None) -> Literal["pass", "warn", "fail"]:
        return self.by_type.get(project_type or "", self.status)


class RasterShareAboveCheck(BaseCheck):
    """Share of the parcel's pixels above ``threshold`` must not exceed ``max_share``."""

    kind: Literal["raster_share_above"]
    layer: str
    threshold: float
    max_share: float = Field(ge=0, le=1)


class Refusal(BaseModel):
    """An investment far below the standard: where the area it supports is below ``share`` of the area
    asked for, the land is refused (不予供地) rather than reduced (核减) — 《工业项目建设用地控制指标》
    leaves both to the authority; ``share`` is the profile's line between them."""

    model_config = ConfigDict(extra="forbid")

    share: float = Field(gt=0, lt=1)
    project_types: list[str] | None = None  # the types it applies to (None: every type the table rates by intensity)
    note_zh: str
    note_en: str


class LandUseStandardCheck(BaseCheck):
    """Parcel area against the standard table for the project's type and investment."""

    kind: Literal["land_use_standard"]
    table: str
    unknown_status: Literal["warn", "fail"]
    unknown_note_zh: str
    unknown_note_en: str
    refuse: Refusal | None = None
    _source: Traversable | None = PrivateAttr(default=None)

    @property
    def source(self) -> Traversable:
        """The table file, resolved when the profile was loaded."""
        if self._source is None:
            raise ProfileError(f"standard table {self.table} was not resolved", f"用地标准表 {self.table} 未定位")
        return self._source


CHECK_KINDS: tuple[type[BaseCheck], ...] = (
    OverlapCheck,
    InsideCheck,
    ZoneCompatibleCheck,
    LandUseClassesCheck,
    RasterShareAboveCheck,
    LandUseStandardCheck,
)
Check = Annotated[
    OverlapCheck
    | InsideCheck
    | ZoneCompatibleCheck
    | LandUseClassesCheck
    | RasterShareAboveCheck
    | LandUseStandardCheck,
    Field(discriminator="kind"),
]


# what a check's finding rests on (``Item.basis_cited``): the references its outcomes' conditions cite, True for the
# check's documents as a whole, False where it found nothing
Found = tuple[str, ...] | bool


class TypedBasis(BaseModel):
    """A 审查依据 cited only for the listed project types: the 公路 indicator says nothing about a factory's
    land, and an opinion that cites it there cites a rule that does not apply."""

    model_config = ConfigDict(extra="forbid")

    text: str
    project_types: list[str] = Field(min_length=1)
    # and of them only these 工程类别 (the 公路 indicator for highways: a railway's opinion does not cite it)
    facilities: list[str] | None = Field(default=None, min_length=1)

    def cited_for(self, project_type: str | None, facility: str | None) -> bool:
        return project_type in self.project_types and (self.facilities is None or facility in self.facilities)


class Item(BaseModel):
    model_config = ConfigDict(extra="forbid")

    code: str
    name_zh: str
    name_en: str
    supplementary: bool = False
    basis: list[str | TypedBasis] = Field(
        default_factory=list, description="审查依据: law, regulation or notice and article; some for given types only"
    )
    # 所需手续 of any outcome, for an item whose checks word none (their ``conditions``)
    procedures: list[str] = Field(default_factory=list, description="所需手续 a conditional result requires")
    checks: list[Check] = Field(min_length=1)

    @model_validator(mode="after")
    def _one_way_of_procedures(self) -> Item:
        worded = [bool(c.conditions) for c in self.checks]
        if any(worded) and (self.procedures or not all(worded)):
            raise ValueError(
                f"item {self.code}: give procedures per outcome (every check's conditions) or for the item, not both"
            )
        return self

    def layers(self) -> list[str]:
        """The layers the item's checks read, with those their exemptions read."""
        own = [c.layer for c in self.checks if hasattr(c, "layer")]
        return own + [within.layer for c in self.checks for within in features_beside(c)]

    @property
    def cited(self) -> list[str]:
        """Every text the item may cite, whatever the project's type."""
        return [b if isinstance(b, str) else b.text for b in self.basis]

    @property
    def typed_basis(self) -> bool:
        """Whether what the item cites depends on the project's type (``TypedBasis``)."""
        return any(isinstance(b, TypedBasis) for b in self.basis)

    def basis_cited(self, project_type: str | None, found: tuple[Found, ...], facility: str | None = None) -> list[str]:
        """What a finding cites, ``found`` saying per check of the item what its finding rests on: the references of
        the outcomes it found (its conditions' basis, every outcome found whether or not it stands: the finding
        states them all), True for the check's documents as a whole (an outcome its profile words no basis for),
        False for a check that found nothing. Of the item's basis: every entry naming no document the checks' outcomes
        refer to (the city's 完善落地审查), the standard of the project's type (a typed entry: what item 10 reads the
        parcel against), and each entry naming a document cited, at an article cited where both name articles: a
        plain 湿地 finding rests on 《湿地保护法》第十九条, not on 第二十一条 (重要湿地's restoration), a 水源二级 one
        on no 自然保护地 rule (officer's reads)."""
        key = (project_type, facility, found)
        if (known := self._cited.get(key)) is not None:  # a batch's parcels find the same few combinations
            return list(known)
        checks = self._documents_of_checks
        ruled = {d for check in checks for d in check}
        entries = [entry for entry in self.basis if isinstance(entry, str)]
        # a law cited by subject (《文物保护法》, no article): the entries opening with the reference, not the law's all
        subjects = {ref for hit in found if not isinstance(hit, bool) for ref in hit if by_subject(ref, entries)}
        cited = joined(
            reference
            for documents_of, hit in zip(checks, found, strict=True)
            if hit is not False
            for reference in (
                [dict.fromkeys(documents_of)]
                if hit is True
                else [cited_articles(ref) for ref in hit if ref not in subjects]
            )
        )
        lines: list[str] = []
        for entry in self.basis:
            if not isinstance(entry, str):
                lines += [entry.text] if entry.cited_for(project_type, facility) else []
                continue
            named = cited_articles(entry)
            if not named.keys() & ruled or meets(named, cited) or any(entry.startswith(ref) for ref in subjects):
                lines.append(entry)
        self._cited[key] = lines
        return list(lines)

    @cached_property  # a plain attribute once made: a private attribute is read through pydantic's __getattr__
    def _cited(self) -> dict[tuple[str | None, str | None, tuple[Found, ...]], list[str]]:
        """What ``basis_cited`` found, by its arguments."""
        return {}

    @cached_property
    def _documents_of_checks(self) -> list[frozenset[str]]:
        """The documents each check's outcomes refer to."""
        return [
            frozenset(doc for o in c.conditions.values() for ref in o.basis for doc in documents(ref))
            for c in self.checks
        ]


class Tolerance(BaseModel):
    """Overlaps at or below max(min_m2, ratio × parcel) do not count; for strict checks
    (any occupation matters) only min_m2 applies."""

    min_m2: float = Field(default=1.0, ge=0)
    ratio: float = Field(default=1e-4, ge=0, lt=1)

    def for_area(self, parcel_m2: float) -> float:
        return max(self.min_m2, self.ratio * parcel_m2)


class Profile(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str
    name_zh: str
    tolerance: Tolerance = Field(default_factory=Tolerance)
    stock_layers: list[str] = Field(default_factory=list)
    items: list[Item]
    siting: SitingRule = Field(default_factory=SitingRule)  # 精准选址 (geo.sites)
    change_check: ChangeCheckRule | None = None  # 预审变更比对 (geo.compare)


_NAME = re.compile(r"^[A-Za-z0-9_-]+$")


def available_profiles(data_dir: Path | None = None) -> list[str]:
    """The review profiles by name: ``profiles/`` also holds the ledger's rules and the allocation
    weights, which have no items to review."""
    search = [data_dir] if data_dir else []
    return [name for name in resources.names("profiles", ".yaml", search) if _reviews(name, search)]


def _reviews(name: str, search: Sequence[Path]) -> bool:
    path = resources.find(f"profiles/{name}.yaml", search)
    try:
        return path is not None and "items" in resources.read_yaml_mapping(path, ProfileError)
    except (ProfileError, OSError, UnicodeDecodeError):  # a broken file is said to be broken when loaded by name
        return True


def load_profile(name_or_path: str | Path, *, data_dir: Path | None = None) -> Profile:
    """A profile by name (``ten-point``) from ``data_dir/profiles`` or the shipped ones, or by a YAML path.

    Its standard tables are looked up beside the profile file, then in ``data_dir``, then
    among the shipped tables.
    """
    return _load_profile(str(name_or_path), data_dir)


@cache
def _load_profile(name_or_path: str, data_dir: Path | None) -> Profile:
    search: Sequence[Path] = [data_dir] if data_dir else []
    path: Traversable | None
    if _NAME.match(name_or_path):
        path = resources.find(f"profiles/{name_or_path}.yaml", search)
        if path is None:
            raise ProfileError(
                f"unknown profile {name_or_path!r}; available: {available_profiles(data_dir)}",
                f"未知审查方案 {name_or_path!r}；可用：{available_profiles(data_dir)}",
            )
    else:
        path = Path(name_or_path)
        if (why := resources.not_a_file(path)) is not None:  # /dev/zero, a folder: there, but no profile
            raise ProfileError(*why)
        if not path.is_file():
            raise ProfileError(f"profile file {name_or_path} not found", f"审查方案文件 {name_or_path} 不存在")
        search = [path.parent, *search]
    name = path.name
    raw = resources.read_yaml_mapping(
        path, lambda en, zh: ProfileError(f"{name}: {en}", f"审查方案 {name} 格式错误：{zh}")
    )
    if "items" not in raw:  # the ledger's rules or the allocation weights, beside the review profiles
        raise ProfileError(
            f"{name} is not a review profile (it has no items); available: {available_profiles(data_dir)}",
            f"{name} 不是审查方案（没有审查项）；可用：{available_profiles(data_dir)}",
        )
    try:
        profile = Profile.model_validate(raw)
    except ValidationError as exc:
        raise ProfileError(f"{name}: {exc}", f"审查方案 {name} 格式错误") from exc
    for item in profile.items:
        unknown = set(item.layers()) - set(layer_catalog())
        if unknown:
            raise ProfileError(
                f"{path.name}: item {item.code} names unknown layer(s) {sorted(unknown)}",
                f"审查方案 {path.name}：审查项 {item.code} 引用了未知图层 {sorted(unknown)}",
            )
        named = _project_types_named(item)
        unknown_types = sorted(named - set(project_types()) - {"default"})
        if unknown_types:
            raise ProfileError(
                f"{path.name}: item {item.code} names unknown project type(s) {unknown_types}; "
                f"allowed: {list(project_types())}",
                f"审查方案 {path.name}：审查项 {item.code} 引用了未知项目类型 {unknown_types}",
            )
        kinds = facilities()
        for entry in (b for b in item.basis if isinstance(b, TypedBasis)):
            wrong = [
                f for f in entry.facilities or [] if f not in kinds or kinds[f].project_type not in entry.project_types
            ]
            if wrong:
                raise ProfileError(
                    f"{path.name}: item {item.code} names facilities {wrong} that are no work of the entry's project "
                    f"types; allowed: {list(kinds)}",
                    f"审查方案 {path.name}：审查项 {item.code} 引用的工程类别 {wrong} 不存在或不属于所列项目类型",
                )
        for check in item.checks:
            if isinstance(check, OverlapCheck) and check.describe:
                info = layer_catalog()[check.layer]
                unread = sorted(set(check.describe) - {*info.attributes, *info.optional})
                if unread:
                    raise ProfileError(
                        f"{path.name}: item {item.code} describes {unread}, not attributes of layer {check.layer}",
                        f"审查方案 {path.name}：审查项 {item.code} 引用了图层 {check.layer} 没有的属性 {unread}",
                    )
            for within in features_beside(check):
                info = layer_catalog()[within.layer]
                if within.attribute not in {*info.attributes, *info.optional}:
                    raise ProfileError(
                        f"{path.name}: item {item.code}: a check reads {within.attribute!r} of layer {within.layer} "
                        "(not_within, except_within), which it does not have",
                        f"审查方案 {path.name}：审查项 {item.code} 引用了图层 {within.layer} 没有的属性 "
                        f"{within.attribute}（not_within、except_within）",
                    )
            if isinstance(check, LandUseStandardCheck):
                check._source = resources.find(check.table, search)
                if check._source is None:
                    raise ProfileError(
                        f"{path.name}: standard table {check.table} not found",
                        f"审查方案 {path.name}：用地标准表 {check.table} 不存在",
                    )
                standard_table(check._source)  # a malformed table refused with its profile, before any review
    return profile


def _project_types_named(item: Item) -> set[str]:
    """Every project type an item names (its typed basis; its checks' zones, statuses per type, exemptions)."""
    named = {t for b in item.basis if isinstance(b, TypedBasis) for t in b.project_types}
    for check in item.checks:
        if isinstance(check, InsideCheck | LandUseClassesCheck):
            named |= set(check.by_type)
        elif isinstance(check, ZoneCompatibleCheck):
            named |= set(check.compatible)
            named |= {t for e in check.exempt for t in e.project_types or []}
        elif isinstance(check, OverlapCheck):
            named |= {t for by_type in check.by_value_type.values() for t in by_type}
            named |= {t for e in check.exempt for t in e.project_types or []}
        elif isinstance(check, LandUseStandardCheck) and check.refuse is not None:
            named |= set(check.refuse.project_types or [])
    return named
