"""One report model: the rows, notes and sums every renderer of a review shows.

:func:`report_model` turns a :class:`~geo.review.result.ReviewResult` into plain,
already formatted text (审查报告的行、说明与合计). The HTML report, the PDF and the map
popups render this model and nothing else, so they cannot drift apart, and every
note is read from the result (the area CRS, the tolerance, the standard table's own
label, the repair flag) instead of being a fixed sentence that can be false.

All strings here are *data*: they may hold a planner's parcel name or id verbatim
(``<b>`` included). Each renderer escapes them for its own markup.
"""

from __future__ import annotations

import itertools
import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import shapely

from geo.blueprint import Blueprint
from geo.catalog import layer_catalog
from geo.crs import GK_FAMILIES, Area, gk_epsg, percent, reproject
from geo.errors import LantuError
from geo.io.coordtxt import survey_rings
from geo.papers import NUMBER_LABEL, DocumentNumber, Issuer, time_zh
from geo.review.profile import load_profile
from geo.review.result import CountyPart, ItemResult, ParcelResult, ReviewResult
from geo.vocabulary import (
    BEYOND_COVERAGE_ZH,
    STATUS_ZH,
    VERDICT_STATUS,
    VERDICT_ZH,
    Status,
    Verdict,
    facilities,
    project_types,
)

TITLE = "建设项目落地可行性审查报告"
SUMMARY_COLUMNS = ("地块", "名称", "面积（m² / 公顷 / 亩）", "所在区县", "结论")
COORDINATE_COLUMNS = ("点号", "圈号", "X（m）", "Y（m）", "边长（m）")
AREA_UNITS = ("m²", "公顷", "亩")  # every area a table gives, in these three columns (geo.crs.Area)
ITEM_COLUMNS = ("#", "审查项", "结果", *(f"涉及面积（{u}）" for u in AREA_UNITS), "占比", "说明")
QUOTA_COLUMNS = ("类别", *(f"面积（{u}）" for u in AREA_UNITS))
TOTAL = "合计"
UNCOVERED = "未被土地利用现状图层覆盖"  # land the 三调 layer holds no 图斑 on (outside the surveyed county, a gap)
OVERLAPPING = "土地利用现状图斑重叠（重复计入）"  # the layer's 图斑 overlap: the classes count it twice
ROUNDING = "分类面积舍入差"  # each figure is rounded to 0.01 m² on its own
ROUNDING_M2 = 0.05
SUPPLEMENTARY = "（补充）"
REPAIRED_NOTE = "几何已自动修复（面积不变）"
SYNTHETIC_NOTE = "示例蓝图的管控图层为合成数据，仅供演示。"
# on every page of a paper drawn on the demo blueprint (running head, Word header, the first line): a page
# printed alone still says it is no real review
SYNTHETIC_MARK = "示例（合成数据，仅供演示）"
# where the same places carry it: a paper of a review file whose signature could not be checked (``geo.signing``)
UNVERIFIED_MARK = "本审查结果文件未经 lantu 签名核验 / This review file could not be verified as written by lantu"
UNITS_NOTE = "1 公顷 = 10 000 m²，1 亩 = 666.67 m²。"
MISSING = "缺图层"
STOCK_LAND = "批而未供及闲置土地"
NOT_SET = "不核定"  # a rejected or not wholly reviewed parcel's quota figures: nothing is allotted (the ledger agrees)
RECORD_LABEL = "系统记录号"  # the review's id in the service (GET /api/v1/reviews/{id}): where the paper comes from

WARNING_CHARS = 300  # of each input warning a report shows (a 400,000-character one took the PDF minutes)


@dataclass(frozen=True)
class Fact:
    """One labelled fact of a parcel's header (面积、计算坐标系、所在区县…)."""

    label: str
    value: str

    @property
    def text(self) -> str:
        return f"{self.label}：{self.value}"


@dataclass(frozen=True)
class HeaderCell:
    """One cell of a table's header on two rows: a column's label over both, or a label over its
    units (涉及面积 over m², 公顷, 亩: three figures a planner reads side by side, under one name)."""

    label: str
    units: tuple[str, ...] = ()  # the second row's cells under it; () for a label spanning both rows

    @property
    def span(self) -> int:
        return max(len(self.units), 1)


_UNIT_COLUMN = re.compile(rf"(.+)（({'|'.join(map(re.escape, AREA_UNITS))})）")


def header(columns: Sequence[str]) -> tuple[HeaderCell, ...]:
    """``columns`` as a two-row header: consecutive ``name（unit）`` columns of one name grouped under it."""
    cells: list[HeaderCell] = []
    for column in columns:
        match = _UNIT_COLUMN.fullmatch(column)
        if match is None:
            cells.append(HeaderCell(column))
        elif cells and cells[-1].units and cells[-1].label == match[1]:
            cells[-1] = HeaderCell(match[1], (*cells[-1].units, match[2]))
        else:
            cells.append(HeaderCell(match[1], (match[2],)))
    return tuple(cells)


@dataclass(frozen=True)
class SummaryRow:
    id: str
    name: str
    area: str
    county: str
    verdict: str
    status: Status  # the verdict's colour class

    @property
    def cells(self) -> tuple[str, ...]:
        return (self.id, self.name, self.area, self.county, self.verdict)


@dataclass(frozen=True)
class ItemRow:
    index: str  # "11（补充）" for a supplementary item
    name: str
    status: Status
    status_label: str
    overlap_m2: str
    overlap_ha: str
    overlap_mu: str
    share: str
    message: str
    basis: tuple[str, ...] = ()  # 审查依据
    procedures: tuple[str, ...] = ()  # 所需手续 (only when the item is not a pass)

    @property
    def cells(self) -> tuple[str, ...]:
        return (
            self.index,
            self.name,
            self.status_label,
            self.overlap_m2,
            self.overlap_ha,
            self.overlap_mu,
            self.share,
            self.message,
        )


@dataclass(frozen=True)
class QuotaRow:
    name: str
    m2: str
    ha: str
    mu: str
    total: bool = False  # the 合计 row: set apart

    @property
    def cells(self) -> tuple[str, ...]:
        return (self.name, self.m2, self.ha, self.mu)


@dataclass(frozen=True)
class CoordinateRow:
    point: str  # J1, J2, …; a ring's closing row repeats its first point
    ring: str  # 圈号: 1 the outer ring, higher numbers further parts and holes
    x: str  # northing, 3 decimals
    y: str  # easting with the zone number in front, 3 decimals
    side: str  # 边长 to the next point; "" on a ring's closing row

    @property
    def cells(self) -> tuple[str, ...]:
        return (self.point, self.ring, self.x, self.y, self.side)


@dataclass(frozen=True)
class CoordinateTable:
    """界址点坐标表: the parcel's boundary points in its Gauss-Krüger zone, numbered as the
    coordinate file writes them (:func:`geo.io.coordtxt.survey_rings`: clockwise from the
    north-western point, outer rings first)."""

    crs: str  # e.g. "CGCS2000 3° 高斯-克吕格投影 第39带（中央经线 117°E，EPSG:4527）"
    rows: tuple[CoordinateRow, ...]


@dataclass(frozen=True)
class ParcelReport:
    id: str
    name: str
    heading: str
    verdict: str
    status: Status
    facts: tuple[Fact, ...]
    notes: tuple[str, ...]
    items: tuple[ItemRow, ...]
    land: tuple[QuotaRow, ...]  # 地类面积: the legal classes, what no class holds, 合计 = the parcel's area
    quota: tuple[QuotaRow, ...]  # 用地指标: stock land, new quota, 占补平衡, 永久基本农田
    coordinates: CoordinateTable | None = None


@dataclass(frozen=True)
class ReportModel:
    title: str
    number: str  # 文号, or a draft's label
    number_line: str  # 审查编号：〔2026〕第N号, the line under the title
    issuer: str  # 审查单位
    date: str  # the paper's date, Beijing time (2026年12月2日)
    header: tuple[Fact, ...]
    notes: tuple[str, ...]
    summary: tuple[SummaryRow, ...]
    summary_total: tuple[str, ...]  # the summary's 合计 row: the count and the total area
    parcels: tuple[ParcelReport, ...]
    signature: tuple[str, ...]  # the signature block's lines, the seal's place last
    conclusion: str = ""  # 综合审查结论: the verdicts counted, kept with the signature on the last page
    mark: str = ""  # SYNTHETIC_MARK on the demo blueprint, UNVERIFIED_MARK from an unverified file, else nothing
    basis: tuple[Fact, ...] = ()  # 审查依据 per item, once
    data: tuple[Fact, ...] = ()  # 数据版本与现势性: the blueprint's version, then each layer's date

    def texts(self) -> list[str]:
        """Every row cell, fact and note: what each renderer must show (used by the tests)."""
        out = [self.title, self.number_line, *(t for f in self.header for t in (f.label, f.value)), *self.notes]
        out += [c for row in self.summary for c in row.cells] + list(self.summary_total)
        out += [t for f in self.basis for t in (f.label, f.value)]
        out += [t for f in self.data for t in (f.label, f.value)]
        for p in self.parcels:
            out += [p.heading, *(t for f in p.facts for t in (f.label, f.value)), *p.notes]
            out += [c for row in p.items for c in row.cells]
            out += [c for row in (*p.land, *p.quota) for c in row.cells]
            if p.coordinates:
                out += [p.coordinates.crs, *(c for row in p.coordinates.rows for c in row.cells)]
        out += [self.conclusion, *self.signature]
        return [t for t in out if t]


def _g(value: float) -> str:
    """A configured number as written in the profile (1, 0.01, 2.5), not 1.000000."""
    return f"{value:.6g}"


def area_crs_note(result: ReviewResult) -> str:
    """Where the areas were computed: each parcel's centroid zone, or the zone the blueprint pins."""
    used = sorted({p.crs_used for p in result.parcels})
    if result.area_crs == "centroid_zone":
        return (
            f"面积与距离均在各地块质心所在的 CGCS2000 3° 高斯-克吕格投影带中计算（本次使用 {'、'.join(used) or '—'}）。"
        )
    note = f"面积与距离均在蓝图指定的投影坐标系 {result.area_crs} 中计算"
    others = [c for c in used if c != result.area_crs]
    return note + (f"（另有地块使用 {'、'.join(others)}）。" if others else "。")


def tolerance_note(result: ReviewResult) -> str:
    """The sliver tolerance the profile set; without the rule (older results) each parcel's own value."""
    if result.tolerance is not None:
        rule = f"（{_g(result.tolerance.min_m2)}平方米与地块面积的{_g(result.tolerance.ratio * 100)}%两者中的较大值）"
        strict = ""
        if result.tolerance.strict:
            strict = (
                f"占用即须审查的图层（{'、'.join(layer_zh(s) for s in result.tolerance.strict)}）"
                f"超过{_g(result.tolerance.min_m2)}平方米的重叠均计入。"
            )
        return (
            f"重叠面积不超过容差{rule}的边缘接触不计；{strict}"
            if strict
            else f"重叠面积不超过容差{rule}的边缘接触不计。"
        )
    return "重叠面积不超过各地块容差（见地块信息）的边缘接触不计。"


def layer_zh(layer: str) -> str:
    """A layer id (``water_source:一级`` for one value of it) by its catalog name: 饮用水水源保护区（一级）."""
    layer_id, _, value = layer.partition(":")
    info = layer_catalog().get(layer_id)
    name = info.name_zh if info else layer_id
    return f"{name}（{value}）" if value else name


def table_labels(parcels: Iterable[ParcelResult]) -> list[str]:
    """The land-use standard tables' own labels (样例标准表), once each, in the order first used."""
    return list(dict.fromkeys(i.facts.table_label for p in parcels for i in p.items if i.facts.table_label))


def standard_note(label: str) -> str:
    """What a paper or a table says of the standard table item 10 was graded on, by its own label."""
    return f"建设用地控制标准依据：{label}"


def table_notes(result: ReviewResult) -> list[str]:
    """The review's standard tables, each said once (the notes of a report and an opinion)."""
    return [f"{standard_note(label)}。" for label in table_labels(result.parcels)]


# the area a rule appends to its note (geo.review.rules._area_after): （涉及 X m²，合 Y 公顷、Z 亩）, or
# ，涉及 X m²（Y 公顷，Z 亩） after a note ending in a bracket; a result written before either, （涉及 X m²（Y 公顷，
# Z 亩））. A row and a paragraph give the areas themselves
AREA_NOTE = re.compile(r"[（，]涉及 ([\d,.]+) m²(?:，合 [\d,.]+ 公顷、[\d,.]+ 亩）|（[\d,.]+ 公顷，[\d,.]+ 亩））?)")


def without_area(message: str, overlap_m2: float) -> str:
    """A result message without the area notes the row's columns (the opinion's paragraph) state: those of the
    item's own total. An outcome's area that is a part of it stays (全部位于城镇开发边界外 25,600 m² beside
    位于生态保护区 14,098.44 m²): the total alone after it would read as its own. An outcome's area within the
    rounding of figures each rounded on its own (``ROUNDING_M2``) is the total: the union of two layers' pieces
    over one 内陆滩涂 came to 21,131.58 m² where each said 21,131.57, and the paper read 合计 beside two parts."""
    total = round(overlap_m2, 2)

    def said(found: re.Match[str]) -> str:
        return "" if abs(float(found.group(1).replace(",", "")) - total) < ROUNDING_M2 else found.group(0)

    return AREA_NOTE.sub(said, message)


def _item_row(n: int, item: ItemResult) -> ItemRow:
    area = Area(item.overlap_m2)
    return ItemRow(
        index=f"{n}{SUPPLEMENTARY}" if item.supplementary else str(n),
        name=item.name_zh,
        status=item.status,
        status_label=STATUS_ZH[item.status],
        overlap_m2=area.m2_text,
        overlap_ha=area.ha_text,
        overlap_mu=area.mu_text,
        share=f"{item.overlap_ratio * 100:.2f} %",
        message=without_area(item.message_zh, item.overlap_m2),
        basis=tuple(item.basis),
        procedures=tuple(item.procedures),
    )


# a rejected parcel's warning items, after its failing ones: the words of the opinion's ``kept_site_lead`` (a city's
# opinion template may word its own; layers/opinions/default.yaml)
KEPT_SITE_LEAD = (
    "上述不符合情形依法消除后（如依法修改规划、取得相关批准或调整用地范围）仍使用该用地全部或部分的，"
    "还须办理以下手续、落实以下条件："
)


def item_notes(parcel: ParcelResult) -> list[str]:
    """For each item that is not a pass: each outcome's condition with exactly its procedures (所需手续)
    and their basis; for an item whose profile words no outcome, the item's procedures (its basis is
    cited once for the whole report: :func:`basis_facts`). A rejected parcel's failing items come first, then,
    behind a line saying they stand where the site is kept (a failing item's remedy may keep it: 城镇开发边界局部
    优化, 核减用地面积), its warning items' (济政办字〔2020〕52号 三（一）3: 全面考量; officer's read)."""
    if parcel.verdict != "reject":
        return _notes_of([i for i in parcel.items if i.status != "pass"])
    warned = _notes_of([i for i in parcel.items if i.status == "warn"])  # the opinion's order (geo.opinion)
    return _notes_of([i for i in parcel.items if i.status == "fail"]) + ([KEPT_SITE_LEAD, *warned] if warned else [])


def _notes_of(items: list[ItemResult]) -> list[str]:
    notes: list[str] = []
    for item in items:
        for c in item.facts.conditions or []:
            needs = f"所需手续：{'；'.join(c.procedures)}" if c.procedures else "须符合该项管控要求"
            basis = f"（依据：{'；'.join(c.basis)}）" if c.basis else ""
            notes.append(f"【{item.name_zh}】{c.condition_zh}。{needs}{basis}。")
        if item.facts.conditions is None and item.procedures:
            notes.append(f"【{item.name_zh}】所需手续：" + "；".join(item.procedures) + "。")
    return notes


def basis_facts(result: ReviewResult) -> tuple[Fact, ...]:
    """审查依据 once per item of the review: what its parcels were reviewed on, each cited once in the order
    first met (the profile's; a standard cited for some project types only appears where such a parcel is)."""
    names: dict[str, str] = {}
    cited: dict[str, dict[str, None]] = {}
    for parcel in result.parcels:
        for item in parcel.items:
            if item.basis:
                names.setdefault(item.code, item.name_zh)
                cited.setdefault(item.code, {}).update(dict.fromkeys(item.basis))
    return tuple(Fact(names[code], "；".join(texts) + "。") for code, texts in cited.items())


def farmland_replaced(parcel: ParcelResult) -> bool:
    """Whether the review let the parcel occupy permanent basic farmland (the 重大建设项目 path of
    自然资规〔2018〕3号, which then 补划 it, 数量不减少、质量不降低); every other occupation avoids it
    (《土地管理法》第三十五条: 调整选址予以避让), so no paper asks a refused parcel for 补划."""
    item = next((i for i in parcel.items if i.code == "basic_farmland"), None)
    if item is None or item.status != "warn":
        return False
    return any(c.code == "major_project" for c in item.facts.conditions or [])


def land_gap(parcel: ParcelResult) -> tuple[str, float] | None:
    """What the three legal classes leave of the parcel's area, named: land the 三调 layer does not
    cover (a parcel reaching past the surveyed county), 图斑 that overlap (counted twice), or the
    rounding of figures each rounded on its own; None when the classes add up (or are not known)."""
    q = parcel.land_quota
    if q.agricultural_m2 is None or q.construction_m2 is None or q.unused_m2 is None:
        return None
    gap = round(parcel.area_m2 - (q.agricultural_m2 + q.construction_m2 + q.unused_m2), 2)
    if gap == 0:
        return None
    if abs(gap) < ROUNDING_M2:
        return ROUNDING, gap
    return (UNCOVERED if gap > 0 else OVERLAPPING), gap


def _row(name: str, m2: float | None, *, total: bool = False) -> QuotaRow:
    if m2 is None:
        return QuotaRow(name, MISSING, "", "")
    area = Area(m2)
    return QuotaRow(name, area.m2_text, area.ha_text, area.mu_text, total)


def _land_rows(parcel: ParcelResult) -> tuple[QuotaRow, ...]:
    """农用地 (其中耕地, 其中水田 inside it), 建设用地, 未利用地, what no class holds, and 合计 = the parcel's
    area: the 农用地, 建设用地, 未利用地 and gap rows add up to it (其中 rows are part of 农用地)."""
    q = parcel.land_quota
    gap = land_gap(parcel)
    return (
        _row("农用地", q.agricultural_m2),
        _row("其中耕地", q.cultivated_m2),
        _row("其中水田", q.paddy_m2),
        _row("建设用地", q.construction_m2),
        _row("未利用地", q.unused_m2),
        *([_row(*gap)] if gap else []),
        _row(TOTAL, parcel.area_m2, total=True),
    )


def _quota_rows(parcel: ParcelResult) -> tuple[QuotaRow, ...]:
    q = parcel.land_quota
    farmland = "占用永久基本农田" + (
        ("（需补划）" if farmland_replaced(parcel) else "（须避让）") if q.basic_farmland_m2 else ""
    )
    if parcel.quota_set:
        needs = (_row("新增建设用地指标", q.new_construction_quota_m2), _row("占补平衡指标", q.compensation_m2))
    else:  # a refused site owes no 占补平衡 (it moves), nor does a partly unreviewed parcel yet (as its opinion)
        needs = (QuotaRow("新增建设用地指标", NOT_SET, "", ""), QuotaRow("占补平衡指标", NOT_SET, "", ""))
    # stock land of any 三调 class (a 批而未供 field is still 耕地), not a part of 建设用地
    return (_row(STOCK_LAND, q.stock_m2), *needs, _row(farmland, q.basic_farmland_m2))


def _area(parcel: ParcelResult) -> str:
    a = Area(parcel.area_m2)
    return f"{a.m2_text} / {a.ha_text} / {a.mu_text}"


def gk_zone(crs_used: str) -> tuple[int, int] | None:
    """(zone number, EPSG with the zone prefix) of a CGCS2000 3° Gauss-Krüger CRS, None for any other."""
    try:
        epsg = int(crs_used.removeprefix("EPSG:"))
    except ValueError:
        return None
    prefix_base, cm_base, first, last = GK_FAMILIES[("CGCS2000", 3)]
    for base in (cm_base, prefix_base):
        if first <= epsg - base <= last:
            return epsg - base, gk_epsg(epsg - base, prefixed=True)
    return None


def crs_label(crs_used: str) -> str:
    """The area CRS in words: CGCS2000 3度带高斯-克吕格投影 第39带 中央经线东经117°（EPSG:4548）."""
    zone = gk_zone(crs_used)
    if zone is None:
        return crs_used
    return f"{_gk_words(zone[0])}（{crs_used}）"


def _gk_words(zone: int) -> str:
    """A 3° zone as a Chinese paper writes it; the EPSG code follows once, in brackets."""
    return f"CGCS2000 3度带高斯-克吕格投影 第{zone}带 中央经线东经{zone * 3}°"


def coordinate_table(parcel: ParcelResult) -> CoordinateTable | None:
    """The parcel's 界址点坐标表 in its zone (Y with the zone number in front, as survey files write it)."""
    if parcel.geometry is None:
        return None
    zone = gk_zone(parcel.crs_used)
    target = f"EPSG:{zone[1]}" if zone else parcel.crs_used
    geom = reproject(shapely.geometry.shape(parcel.geometry), 4490, target)
    rows: list[CoordinateRow] = []
    numbered = 0
    for ring, coords in survey_rings(geom):
        first = numbered + 1
        closed = [*coords, coords[0]]
        for (x, y), (nx, ny) in itertools.pairwise(closed):
            numbered += 1
            side = math.hypot(nx - x, ny - y)
            rows.append(CoordinateRow(f"J{numbered}", str(ring), f"{y:.3f}", f"{x:.3f}", f"{side:.3f}"))
        x, y = coords[0]
        rows.append(CoordinateRow(f"J{first}", str(ring), f"{y:.3f}", f"{x:.3f}", ""))
    label = f"{_gk_words(zone[0])}（EPSG:{zone[1]}，Y 含带号）" if zone else parcel.crs_used
    return CoordinateTable(label, tuple(rows))


def unreviewed_part(part: CountyPart) -> str:
    """What a county's part of a parcel across a county line says of its land beyond the blueprint's coverage,
    which no item reviewed ("" where none): the findings of the covered part are not that county's."""
    if not part.beyond_coverage_m2:
        return ""
    return f"（其中 {Area(part.beyond_coverage_m2).zh}{BEYOND_COVERAGE_ZH}，未经审查）"


def _parcel(parcel: ParcelResult) -> ParcelReport:
    county = f"{parcel.county.name}（{parcel.county.code}）" if parcel.county else "—"
    if parcel.counties:  # across a county line: each county with its part
        county = "；".join(f"{c.name}（{c.code}）{Area(c.area_m2).zh}{unreviewed_part(c)}" for c in parcel.counties)
    facts = (
        Fact("审查结论", VERDICT_ZH.get(parcel.verdict, parcel.verdict)),
        Fact("项目名称", parcel.name or "未填报"),
        Fact("项目类型", project_type_zh(parcel.project_type, parcel.facility)),
        Fact("所在区县", county),
        Fact("面积", Area(parcel.area_m2).zh),
        *_declared_area(parcel),
        Fact("计算坐标系", crs_label(parcel.crs_used)),
        *_coverage(parcel),
        Fact("容差", f"{Area(parcel.tolerance_m2).m2_text} m²"),
    )
    paddy = parcel.land_quota.paddy_to_replace_m2 or 0.0  # off stock land; an edge contact asks nothing
    notes = [REPAIRED_NOTE] if parcel.repaired else []
    worded = any(c.code == "paddy" for i in parcel.items for c in i.facts.conditions or [])
    # a parcel set no quota (不核定) owes no 占水田补水田 yet; where the profile words it, the item's note says it
    if paddy > parcel.tolerance_m2 and not worded and parcel.quota_set:
        notes.append(f"占用水田 {Area(paddy).zh}，须占水田补水田。")
    gap = land_gap(parcel)
    if gap and gap[0] == UNCOVERED:
        notes.append(
            f"地块有 {Area(gap[1]).zh}未被土地利用现状图层覆盖，其地类未能核实，"
            "未计入新增建设用地指标和占补平衡，须补充土地利用现状数据后核实。"
        )
    if parcel.reaches_beyond:
        notes.append("地块未全部位于蓝图覆盖范围内，覆盖范围外的部分未经审查，不能据此配置用地指标。")
    notes += item_notes(parcel)
    return ParcelReport(
        id=parcel.id,
        name=parcel.name or "",
        heading=f"地块 {parcel.id} {parcel.name or ''}".rstrip(),
        verdict=VERDICT_ZH.get(parcel.verdict, parcel.verdict),
        status=VERDICT_STATUS.get(parcel.verdict, "fail"),
        facts=facts,
        notes=tuple(notes),
        items=tuple(_item_row(n, i) for n, i in enumerate(parcel.items, start=1)),
        land=_land_rows(parcel),
        quota=_quota_rows(parcel),
        coordinates=coordinate_table(parcel),
    )


def project_type_zh(code: str | None, facility: str | None = None) -> str:
    """The project type's Chinese label (工业项目 for ``industrial``), with its 工程类别 where given (交通项目（公路）:
    what item 10's indicator rated); a type or facility outside the vocabulary as given."""
    if not code:
        return "未填报"
    known = project_types().get(code)
    label = f"{known.name_zh}项目" if known else code
    if not facility:
        return label
    kind = facilities().get(facility)
    return f"{label}（{kind.name_zh if kind else facility}）"


def profile_zh(name: str, data_dir: Path | None = None) -> str:
    """The profile's Chinese name (十项落地可行性审查); a profile that no longer loads shows its name."""
    try:
        return load_profile(name, data_dir=data_dir).name_zh
    except LantuError:
        return name


def _coverage(parcel: ParcelResult) -> tuple[Fact, ...]:
    if parcel.covered_ratio is None or parcel.covered_ratio >= 1.0:
        return ()
    return (Fact("蓝图覆盖", f"地块面积的 {percent(parcel.covered_ratio, 1.0, digits=2)} 位于蓝图覆盖范围内"),)


def _declared_area(parcel: ParcelResult) -> tuple[Fact, ...]:
    """The 地块面积 the input file declares, and how far the coordinates' area is from it."""
    if parcel.declared_area_ha is None:
        return ()
    return (Fact("申报面积", f"{parcel.declared_area_ha:.4f} 公顷{declared_area_note(parcel)}"),)


def declared_area_note(parcel: ParcelResult) -> str:
    """How far the coordinates' area is from the declared 地块面积, with 请核实 beyond 0.1 % (every paper says it:
    the opinion listed a declared 10,000 公顷 beside 1 公顷 and concluded 同意通过)."""
    diff = parcel.declared_area_diff_pct
    if diff is None:
        return ""
    flag = "，超过 0.1%，请核实" if abs(diff) > 0.1 else ""
    return f"（计算面积与之相差 {diff:+.3f}%{flag}）"


def _version(result: ReviewResult) -> tuple[Fact, ...]:
    """The data version the review used (build date + content hash); results from before versions have none."""
    return (Fact("蓝图版本", result.blueprint_version),) if result.blueprint_version else ()


NOT_STATED = "未注明"


def data_versions(result: ReviewResult, blueprint: Blueprint | None) -> tuple[Fact, ...]:
    """数据版本与现势性: the blueprint version the review used, then each of its layers with the date
    the data describe (未注明 where the build states none). The dates are the loaded blueprint's: for a
    review made on another version they are not listed, and the facts say so."""
    if blueprint is None:
        return ()
    facts = [Fact("蓝图版本", result.blueprint_version or NOT_STATED)]
    if result.blueprint_version and blueprint.version != result.blueprint_version:
        facts.append(
            Fact("图层现势性", f"审查后蓝图已更新为版本 {blueprint.version}，审查所用版本的各图层现势性未能列出")
        )
        return tuple(facts)
    for layer_id in blueprint.layers:
        facts.append(Fact(layer_zh(layer_id), blueprint.dates.get(layer_id) or NOT_STATED))
    return tuple(facts)


def layer_dates(facts: Sequence[Fact]) -> list[tuple[str, str]]:
    """The layers' 现势性 (``data_versions`` after the version) by date, in the order first met: the layers of one
    date named together before it, 均 said where they are several (a city's blueprint dates most layers alike, and
    twenty-two "：未注明" in a row pushed the demo's cover onto a third page for one line)."""
    groups: dict[str, list[str]] = {}
    for f in facts:
        groups.setdefault(f.value, []).append(f.label)
    several = {NOT_STATED: f"均{NOT_STATED}"}
    return [
        ("、".join(labels), (several.get(value) or f"均为{value}") if len(labels) > 1 else value)
        for value, labels in groups.items()
    ]


def data_line(facts: Sequence[Fact]) -> str:
    """The data versions as one sentence (蓝图版本：…；土地利用现状：2023-12-31；永久基本农田、…：均未注明。)."""
    if not facts:
        return ""
    head, layers = (facts[:1], facts[1:]) if facts[0].label == "蓝图版本" else ((), facts)
    return "；".join([*(f.text for f in head), *(f"{labels}：{date}" for labels, date in layer_dates(layers))]) + "。"


def signature(issuer: Issuer, number: DocumentNumber) -> tuple[str, ...]:
    """The signature block: who reviewed and checked (blank lines to sign), the unit, the date, the seal."""
    return (
        f"审查人：{issuer.reviewer or '＿＿＿＿＿＿'}　　审核人：{issuer.signer or '＿＿＿＿＿＿'}",
        issuer.unit,
        number.date_zh,
        "（盖章）",
    )


def unverified_note(why_zh: str, why_en: str, accepted_zh: str, accepted_en: str) -> str:
    """The line a command that accepted an unverified review file (``--accept-unsigned``) adds to its warnings, so
    that the papers made from it later carry the mark (:func:`noted_unverified`)."""
    zh, en = UNVERIFIED_MARK.split(" / ")
    return f"{zh}（{why_zh}），{accepted_zh} / {en} ({why_en}); {accepted_en}"


def noted_unverified(result: ReviewResult) -> bool:
    """Whether the review came from a file that could not be verified and a command said so in its warnings
    (:func:`unverified_note`: a consultation started with ``--accept-unsigned``)."""
    head = UNVERIFIED_MARK.split(" / ")[0] + "（"
    return any(w.startswith(head) for w in result.warnings)


def paper_mark(*, synthetic: bool, unverified: bool) -> str:
    """What heads every page of a paper (the PDF's running head, the Word header, the HTML's and the Markdown's
    first line): the demo's mark, the unverified file's, both, or nothing."""
    return "　".join(m for m, on in ((SYNTHETIC_MARK, synthetic), (UNVERIFIED_MARK, unverified)) if on)


def report_model(
    result: ReviewResult,
    *,
    synthetic: bool = False,
    issuer: Issuer | None = None,
    number: DocumentNumber | None = None,
    data_dir: Path | None = None,
    blueprint: Blueprint | None = None,
    unverified: bool = False,
) -> ReportModel:
    """The report of ``result`` as rows, facts and notes of plain text (see the module docstring).

    ``number`` is the document number the service assigned (:func:`geo.papers.document_number`);
    without one the report is a draft and its number says so. ``blueprint`` (the one reviewed
    against) gives each layer's 现势性. ``unverified``: ``result`` was read from a file whose signature could not
    be checked (``UNVERIFIED_MARK`` where the demo's mark goes).
    """
    issuer = issuer or Issuer()
    number = number or DocumentNumber.draft(issuer)
    synthetic = synthetic or result.synthetic  # the review's own flag: papers printed later, with no blueprint
    notes = [area_crs_note(result), UNITS_NOTE, tolerance_note(result), *table_notes(result)]
    # a reader's warning quotes the file: each cut to a paragraph a page lays out in linear time
    notes += [f"输入提示：{w if len(w) <= WARNING_CHARS else w[:WARNING_CHARS] + '…'}" for w in result.warnings]
    if synthetic:
        notes.append(SYNTHETIC_NOTE)
    return ReportModel(
        mark=paper_mark(synthetic=synthetic, unverified=unverified),
        title=TITLE,
        number=number.text,
        number_line=number.labelled,
        issuer=issuer.unit,
        date=number.date_zh,
        header=(
            Fact("审查单位", issuer.unit),
            Fact("蓝图", result.blueprint),
            *_version(result),
            Fact("审查方案", profile_zh(result.profile, data_dir)),
            Fact("审查时间", time_zh(result.created)),
            Fact(NUMBER_LABEL, number.text),
            Fact(RECORD_LABEL, result.review_id),
        ),
        notes=tuple(notes),
        summary=tuple(
            SummaryRow(
                id=p.id,
                name=p.name or "",
                area=_area(p),
                county=p.county.name if p.county else "—",
                verdict=VERDICT_ZH.get(p.verdict, p.verdict),
                status=VERDICT_STATUS.get(p.verdict, "fail"),
            )
            for p in result.parcels
        ),
        summary_total=(TOTAL, f"{len(result.parcels)} 宗", _area_sum(result), "", ""),
        parcels=tuple(_parcel(p) for p in result.parcels),
        signature=signature(issuer, number),
        conclusion=conclusion(result),
        basis=basis_facts(result),
        data=data_versions(result, blueprint),
    )


CONCLUSION_TITLE = "综合审查结论"
# per verdict: what follows for its parcels (the opinion's conclusions say it per parcel)
CONSEQUENCE: dict[Verdict, str] = {
    "pass": "",
    "conditional": "，须办理各地块所列手续、落实相关条件后方可办理用地报批",
    "reject": "，须调整选址或用地方案后重新申请审查",
    "out_of_coverage": "，覆盖范围外部分未经审查，须补充数据后另行审查",
}


def conclusion(result: ReviewResult) -> str:
    """The report's closing conclusion: how many parcels, their area, and each verdict with its parcels."""
    parts = []
    for verdict, then in CONSEQUENCE.items():
        ids = [p.id for p in result.parcels if p.verdict == verdict]
        if ids:
            label = "未全部位于蓝图覆盖范围" if verdict == "out_of_coverage" else VERDICT_ZH[verdict]
            parts.append(f"{label} {len(ids)} 宗（{'、'.join(ids)}）{then}")
    return f"本次共审查地块 {len(result.parcels)} 宗，面积合计 {Area(sum(p.area_m2 for p in result.parcels)).zh}。" + (
        "其中" + "；".join(parts) + "。" if parts else ""
    )


def _area_sum(result: ReviewResult) -> str:
    total = Area(sum(p.area_m2 for p in result.parcels))
    return f"{total.m2_text} / {total.ha_text} / {total.mu_text}"
