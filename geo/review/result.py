"""The review result schema of DESIGN.md, shared by the CLI JSON and the API body."""

from __future__ import annotations

import math
from typing import Annotated, Any

import numpy as np
from pydantic import BaseModel, ConfigDict, FailFast, Field, field_serializer, field_validator, model_validator

from geo.errors import InputError
from geo.review.citations import merged_basis
from geo.vocabulary import BEYOND_COVERAGE_ZH, Status, Verdict, id_text, is_blank, line_fault, project_id_text

AttributeValue = str | int | float | bool | None

# a list read from a file stops at its first bad entry: a review file of 400,000 bad ones kept 400,000 errors (GBs)
FIRST_ERROR = FailFast()
MAX_NAME_CHARS = 200  # a project's name: the longest official ones run to about 60 characters
MAX_ID_CHARS = 100  # an id or number: a 不动产单元号 has 28 characters
MAX_INVESTMENT_WAN = 1e9  # 万元: 10 万亿元, beyond any one project
MAX_ROUTE_KM = 10_000.0  # longer than any one road project
MAX_POWER_MW = 100_000.0  # four times 三峡's 22,500 MW
_TRUE = {"1", "true", "yes", "y", "是", "t"}
_FALSE = {"0", "false", "no", "n", "否", "f", ""}


def plain_figure(value: Any) -> Any:
    """A figure as given, unless it is JSON's true or false (true is no 1 万元, no 1 m² of quota) or text with an
    underscore, which Python reads as a digit separator ("1_5" was booked as 15 m²)."""
    if isinstance(value, bool):
        raise InputError("a number is needed, not true or false", "应为数字，不能是 true 或 false")
    if isinstance(value, str) and "_" in value:
        raise InputError(
            f"{value[:20]!r} is no number: an underscore is no digit separator here",
            f"{value[:20]!r} 不是数字：下划线不能作为数字分隔符",
        )
    return value


class ProjectAttributes(BaseModel):
    """Project facts riding on a parcel's properties (or CLI flags / API fields)."""

    model_config = ConfigDict(extra="ignore")

    # bounded: a name goes into a report's table cell, and a PDF cell of 1,500 characters could not be laid out
    name: str | None = Field(default=None, max_length=MAX_NAME_CHARS)
    project_id: str | None = Field(
        default=None, max_length=MAX_ID_CHARS, description="项目编号: parcels sharing it are one project"
    )
    project_type: str | None = None
    facility: str | None = Field(
        default=None, description="工程类别 (highway 公路, wind_farm 风电场…): what a per-unit indicator rates"
    )
    # finite and bounded: an infinite investment or route would pass item 10 against any standard
    investment_wan: float | None = Field(
        default=None, ge=0, le=MAX_INVESTMENT_WAN, allow_inf_nan=False, description="总投资（万元）"
    )
    # the project's size where the land-use indicator counts per unit of it (a project figure, not a share)
    route_km: float | None = Field(
        default=None,
        gt=0,
        le=MAX_ROUTE_KM,
        allow_inf_nan=False,
        description="路线长度（公里）: 公路 (highway) indicators per km",
    )
    power_mw: float | None = Field(
        default=None,
        gt=0,
        le=MAX_POWER_MW,
        allow_inf_nan=False,
        description="装机容量（兆瓦）: 风电场 (wind_farm) indicators per MW",
    )
    major_project: bool = False
    redline_exempt: bool = False

    @field_validator("major_project", "redline_exempt", mode="before")
    @classmethod
    def _flag(cls, value: Any) -> Any:
        if value is None:
            return False
        if isinstance(value, str):
            text = value.strip().lower()
            if text in _TRUE:
                return True
            if text in _FALSE:
                return False
        return value

    @field_validator("investment_wan", "route_km", "power_mw", mode="before")
    @classmethod
    def _plain_figure(cls, value: Any) -> Any:
        return plain_figure(value)

    @field_validator("investment_wan", "route_km", "power_mw")
    @classmethod
    def _unsigned_zero(cls, value: float | None) -> float | None:
        """-0.0 as 0.0: an investment of "-0 万元" supported "-0.0000 ha" in the land-use standard's words."""
        return None if value is None else value + 0.0

    @field_validator("name", "project_id")
    @classmethod
    def _single_line(cls, value: str | None) -> str | None:
        """One printable line: a name heads the parcel's paragraph and fills a table's cell in Word, Excel and
        Markdown, where a line break would write a line of its own (审查结论：通过 under a rejected parcel)."""
        fault = line_fault(value) if value is not None else None
        if fault is not None:  # an InputError: its Chinese reaches the message as it is (``project_of``)
            en, zh = fault
            raise InputError(f"must be one line of printable text; it holds {en}", f"须为单行文字，不能含有{zh}")
        return value

    @field_validator("name", "project_id", "project_type", "facility", mode="before")
    @classmethod
    def _blank_is_none(cls, value: Any) -> Any:
        """No value for NaN (a missing cell); a number as its digits (项目编号 stored as a number, or made float
        by pandas where another parcel has none: 2026001.0 is "2026001")."""
        if is_blank(value):
            return None
        if isinstance(value, int | np.integer) and not isinstance(value, bool | np.bool_):
            return id_text(value)
        if isinstance(value, float | np.floating) and float(value).is_integer():
            return id_text(value)  # beyond 2**53 an InputError: it may not be the number written
        return value or None

    @field_validator("project_id", mode="before")
    @classmethod
    def _normal_project_id(cls, value: Any) -> Any:
        """The 项目编号 as the project library keeps it (:func:`~geo.vocabulary.project_id_text`): ``ＸＭ-1`` from a
        Chinese input method is ``XM-1``, so parcels typed either way are one project and link to the library's.
        Before the length bound, which then counts what is kept; blank once normalised (an ideographic space) is
        none."""
        return (project_id_text(value) or None) if isinstance(value, str) else value


class County(BaseModel):
    code: str
    name: str


class CountyPart(County):
    """A county a parcel across a county line lies in, with the parcel's area in it, and how much of that area lies
    beyond the blueprint's coverage, never reviewed (a county's sheet does not carry the other part's findings there:
    an officer's read of the summary)."""

    area_m2: float
    beyond_coverage_m2: float = 0.0


class PieceResult(BaseModel):
    """One feature's share of the parcel (DESIGN.md ``details``): layer, status, area, attributes."""

    layer: str
    layer_name_zh: str
    status: Status
    area_m2: float
    area_mu: float
    attributes: dict[str, AttributeValue] = Field(default_factory=dict)
    geometry: dict[str, Any] | None = Field(default=None, description="EPSG:4490 GeoJSON; null with --no-pieces")


class StandardRow(BaseModel):
    name_zh: str
    min_intensity_wan_per_ha: float | None = None
    max_area_ha: float | None = None


class Condition(BaseModel):
    """One conditional outcome of an item (国家重大项目占用永久基本农田, 建设控制地带…): the condition it
    sets, the procedures (所需手续) it requires and their basis, as the profile words that outcome."""

    code: str = Field(description="the outcome: an attribute value, exemption flag, class group, or the status")
    condition_zh: str
    procedures: Annotated[list[str], FIRST_ERROR] = Field(default_factory=list)
    basis: Annotated[list[str], FIRST_ERROR] = Field(default_factory=list)
    status: str | None = Field(default=None, description="the outcome's status (warn, fail)")
    replaces: Annotated[list[str] | None, FIRST_ERROR] = Field(
        default=None, description="codes of the item's other outcomes whose steps this one's include"
    )


def standing_conditions(conditions: list[Condition], status: str) -> list[Condition]:
    """The outcomes that stand for an item of ``status``: a failed item keeps its failing outcomes only
    (the parcel moves away: no 湿地占用论证 beside 调整选址), and no outcome another one ``replaces``
    (重大项目占用重要湿地 includes 占用湿地's steps), and an outcome two checks word alike once, on the basis of both
    (the flood layer's 河湖管理范围 on 《防洪法》第二十二条 and the 三调 water surface beyond it, a range by 第二十一条
    as well)."""
    if status == "fail" and any(c.status == "fail" for c in conditions):
        conditions = [c for c in conditions if c.status != "warn"]
    replaced = {code for c in conditions for code in c.replaces or []}
    said: dict[tuple[str, tuple[str, ...]], Condition] = {}
    for c in conditions:
        if c.code in replaced:
            continue
        key = (c.condition_zh, tuple(c.procedures))
        first = said.setdefault(key, c)
        if first is not c and first.basis != c.basis:
            said[key] = first.model_copy(update={"basis": merged_basis(first.basis, c.basis)})
    return list(said.values())


class ItemFacts(BaseModel):
    """What a rule measured besides its pieces; only the fields its rule kind sets are written."""

    model_config = ConfigDict(extra="forbid")

    outside_m2: float | None = Field(default=None, description="inside: part of the parcel outside the layer")
    project_type: str | None = None
    allowed_zones: Annotated[list[str] | None, FIRST_ERROR] = Field(
        default=None, description="zone_compatible: zones admitting the type"
    )
    by_class_m2: dict[str, float] | None = Field(default=None, description="land_use_classes: area per 三调 code")
    paddy_m2: float | None = Field(default=None, description="水田 (0101) within the cultivated land")
    share_above: float | None = Field(default=None, description="raster: share of pixels above the threshold")
    threshold: float | None = None
    max_share: float | None = None
    pixels: int | None = None
    table: str | None = Field(default=None, description="land_use_standard: the table file")
    table_label: str | None = Field(default=None, description="the table's own label (e.g. sample values)")
    standard: StandardRow | None = None
    facility: str | None = Field(default=None, description="land_use_standard: the 工程类别 its indicator rates")
    max_area_m2: float | None = None
    area_m2: float | None = None
    project_parcels: Annotated[list[str] | None, FIRST_ERROR] = Field(
        default=None, description="land_use_standard: the project's parcels whose area and investment were summed"
    )
    investment_wan: float | None = Field(default=None, description="land_use_standard: the investment compared")
    skipped_layers: Annotated[list[str] | None, FIRST_ERROR] = Field(
        default=None, description="optional layers absent from the blueprint: those checks were not run"
    )
    conditions: Annotated[list[Condition] | None, FIRST_ERROR] = Field(
        default=None, description="the conditional outcomes found, each with its procedures (profiles that word them)"
    )
    beyond_coverage: bool | None = Field(
        default=None,
        description="not reviewed (missing_layer) for the parcel's part beyond the blueprint's coverage, not for a "
        "missing layer: its covered part passed (the parcel's covered_ratio says how much)",
    )

    def merged(self, other: ItemFacts) -> ItemFacts:
        """These facts with ``other``'s set ones over them; lists several checks make add up."""
        update = {name: value for name in other.model_fields_set if (value := getattr(other, name)) is not None}
        for listed in ("skipped_layers", "conditions"):
            if getattr(self, listed) and update.get(listed):
                update[listed] = [*getattr(self, listed), *update[listed]]
        return self.model_copy(update=update)


def _beyond_coverage_marked(data: Any) -> Any:
    """Results stored before ``facts.beyond_coverage`` said so in their message's first clause alone
    (``geo.review.engine._uncovered``'s words): marked, so that no paper asks them for a layer."""
    if not isinstance(data, dict) or data.get("status") != "missing_layer":
        return data
    facts = data.get("facts") or {}
    if not isinstance(facts, dict) or "beyond_coverage" in facts:  # a model: the review's own, marked by it
        return data
    if BEYOND_COVERAGE_ZH not in str(data.get("message_zh", "")).split("，", 1)[0]:
        return data
    return {**data, "facts": {**facts, "beyond_coverage": True}}


class ItemResult(BaseModel):
    code: str
    name_zh: str
    name_en: str
    supplementary: bool = False
    status: Status
    overlap_m2: float
    overlap_ratio: float
    message_zh: str
    message_en: str
    details: Annotated[list[PieceResult], FIRST_ERROR] = Field(
        default_factory=list, description="the pieces, per feature"
    )
    facts: ItemFacts = Field(default_factory=ItemFacts)
    basis: Annotated[list[str], FIRST_ERROR] = Field(default_factory=list, description="审查依据 (the profile item's)")
    procedures: Annotated[list[str], FIRST_ERROR] = Field(
        default_factory=list, description="所需手续 when the item is not a pass"
    )

    @model_validator(mode="before")
    @classmethod
    def _facts_out_of_details(cls, data: Any) -> Any:
        """Results stored before facts had their own field kept them as ``{"facts": …}`` entries in details."""
        details = data.get("details") if isinstance(data, dict) else None
        # the review's own results hold models, a file's dicts: only a file's are searched (every item's was)
        if (
            isinstance(details, list)
            and details
            and isinstance(details[0], dict)
            and any("facts" in d for d in details if isinstance(d, dict))
        ):
            facts: dict[str, Any] = {}
            for d in data["details"]:
                facts |= d.get("facts", {}) if isinstance(d, dict) else {}
            data = {**data, "details": [d for d in data["details"] if "facts" not in d], "facts": facts}
        return _beyond_coverage_marked(data)

    @field_serializer("facts")
    def _facts_set(self, facts: ItemFacts) -> dict[str, Any]:
        return facts.model_dump(exclude_none=True)


class LandQuota(BaseModel):
    """Land figures that feed the ledger; ``None`` when the land-use layer is missing."""

    agricultural_m2: float | None
    cultivated_m2: float | None
    paddy_m2: float | None
    construction_m2: float | None
    unused_m2: float | None
    stock_m2: float
    stock_ratio: float
    new_construction_quota_m2: float | None
    compensation_m2: float | None
    basic_farmland_m2: float | None = Field(default=None, description="永久基本农田 occupied: the 补划 need")
    paddy_compensation_m2: float | None = Field(
        default=None,
        description="水田 not on stock land, net of 田坎: the part of compensation_m2 that 占水田补水田 asks for "
        "(paddy_m2 counts all 水田, as cultivated_m2 counts all 耕地)",
    )

    @property
    def paddy_to_replace_m2(self) -> float | None:
        """The 水田 占水田补水田 asks for: ``paddy_compensation_m2``, or all 水田 in a review written before it."""
        return self.paddy_m2 if self.paddy_compensation_m2 is None else self.paddy_compensation_m2


# the land figures that allot quota (the rest measure the land, 永久基本农田 occupied included): none for a parcel
# whose quota the papers do not set
ALLOTTED = ("new_construction_quota_m2", "compensation_m2", "paddy_compensation_m2")


class ParcelResult(BaseModel):
    id: str
    name: str | None = None
    project_type: str | None = None
    facility: str | None = Field(default=None, description="工程类别 the project gave (item 10 rates it)")
    area_m2: float
    area_ha: float
    area_mu: float
    crs_used: str
    verdict: Verdict
    repaired: bool
    tolerance_m2: float
    covered_ratio: float | None = Field(
        default=None, description="share of the parcel inside the blueprint's coverage (null: not checked)"
    )
    county: County | None
    counties: Annotated[list[CountyPart] | None, FIRST_ERROR] = Field(
        default=None,
        description="every county the parcel lies in with its area, where it lies in more than one (the ledger "
        "charges ``county``, the one holding most); null for a parcel in one county",
    )
    items: Annotated[list[ItemResult], FIRST_ERROR]
    land_quota: LandQuota
    geometry: dict[str, Any] | None = Field(default=None, description="parcel in EPSG:4490, GeoJSON")
    declared_area_ha: float | None = Field(
        default=None, description="地块面积 the input file declares (coordinate text), in ha; None when not declared"
    )
    declared_area_diff_pct: float | None = Field(
        default=None, description="(computed − declared) / declared × 100; a warning above 0.1 %"
    )

    def item(self, code: str) -> ItemResult:
        return next(i for i in self.items if i.code == code)

    @property
    def reaches_beyond(self) -> bool:
        """Whether more of the parcel than its tolerance lies outside the blueprint's coverage, as the review judged
        it (its verdict ``out_of_coverage``, or its ``covered_ratio``, rounded to six decimals: a margin of a millionth
        of the area): 0.5 m² of 10 ha past a county line is inside, as the review found it."""
        if self.verdict == "out_of_coverage":
            return True
        covered = self.covered_ratio
        return covered is not None and self.area_m2 * (1 - covered) > self.tolerance_m2 + self.area_m2 * 1e-6

    @property
    def quota_set(self) -> bool:
        """Whether the papers set this parcel's quota: not for a parcel refused (its site moves) or not wholly
        reviewed (不核定), which the ledger refuses to reserve (``geo.quota.reservations.REFUSED_VERDICTS``)."""
        return self.verdict not in ("reject", "out_of_coverage")

    def land_figures(self) -> dict[str, float | None]:
        """The land figures as a table states them: what the review measured, and what it allots (新增建设用地指标,
        占补平衡) only where the papers set it: a rejected parcel's CSV row read 新增 12,000 m² beside the
        opinion's 不核定 (officer's read). The JSON keeps every figure of every parcel, beside its verdict."""
        figures = self.land_quota.model_dump()
        if not self.quota_set:
            figures |= dict.fromkeys(ALLOTTED)
        return figures

    def without_piece_geometry(self) -> ParcelResult:
        """This result with its pieces' geometries left out (the lean batch output)."""
        items = [
            i.model_copy(update={"details": [d.model_copy(update={"geometry": None}) for d in i.details]})
            for i in self.items
        ]
        return self.model_copy(update={"items": items})

    def with_declared_area(self, declared_ha: Any) -> ParcelResult:
        """This result with the area its file declares and the difference in % (nothing when none)."""
        if not is_declared_area(declared_ha):
            return self
        diff = (self.area_m2 / 10_000 - float(declared_ha)) / float(declared_ha) * 100
        return self.model_copy(
            update={"declared_area_ha": round(float(declared_ha), 6), "declared_area_diff_pct": round(diff, 3)}
        )


def is_declared_area(value: Any) -> bool:
    """Whether a file's declared area (公顷) is one to compare: a finite number above zero."""
    return isinstance(value, int | float) and not isinstance(value, bool) and 0 < value < math.inf


class ToleranceRule(BaseModel):
    """The profile's sliver tolerance: max(min_m2, ratio × parcel area)."""

    min_m2: float
    ratio: float
    strict: Annotated[list[str], FIRST_ERROR] = Field(
        default_factory=list, description="layers (layer:value) where any overlap above min_m2 counts"
    )


class ReviewResult(BaseModel):
    review_id: str
    profile: str
    blueprint: str
    blueprint_version: str | None = Field(
        default=None, description="the blueprint's version (build date + content hash); null in results from before"
    )
    synthetic: bool = Field(
        default=False,
        description="reviewed against a generated demo blueprint (示例，合成数据): every paper of it says so, the "
        "consultation's 预审意见 too, which has no blueprint at hand; false in results from before",
    )
    created: str
    area_crs: str = Field(
        default="centroid_zone",
        description="'centroid_zone' (the CGCS2000 3° zone of each parcel's centroid) or the EPSG the blueprint pins",
    )
    tolerance: ToleranceRule | None = None
    parcels: Annotated[list[ParcelResult], FIRST_ERROR]
    warnings: Annotated[list[str], FIRST_ERROR] = Field(
        default_factory=list, description="what the input reader repaired or doubted"
    )
