"""预审变更比对: a 报批 (approval) boundary against the boundary its 预审 (pre-review) covered.

聊城市《关于强化要素保障进一步优化产业生态的若干措施》一、3: when the area applied for exceeds the
pre-reviewed area by 10 % or more, or the two boundaries overlap less than 80 %, there is **no new
预审** (the clause says no more). An added part that fails the review is said whatever the ratios
conclude (``added_findings_zh``). The thresholds and wording are the profile's
``change_check`` block. Both boundaries are measured in one projected CRS (the blueprint's pinned
zone, else the Gauss-Krüger zone of the pre-review's centroid), so the ratios are exact.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import geopandas as gpd
import jinja2
import numpy as np
import shapely
from markupsafe import Markup
from pydantic import BaseModel, Field, PrivateAttr

from geo.blueprint import Blueprint
from geo.crs import CGCS2000, Area, check_coordinates, percent, reproject, zone_for_geometry
from geo.errors import GeometryError, InputError, ProfileError
from geo.geometry import clean_parcels, polygonal_part
from geo.report_model import SYNTHETIC_MARK
from geo.review import ReviewResult, load_profile, review
from geo.review.engine import estimate_as_drawn, layers_needed, parcel_ids, project_attributes, project_of
from geo.review.profile import LandUseStandardCheck, Profile
from geo.review.result import ItemResult, ParcelResult
from geo.review.stages import ChangeCheckRule
from geo.vocabulary import VERDICT_ZH

PIECE_MIN_M2 = 1.0  # added/removed slivers at or below this are edge noise, not pieces
# the added and removed parts are cut on a millimetre grid: two boundaries sharing an edge whose ends differ in the last
# bits of a float left a spike a billionth of a metre wide, valid in GK metres and self-intersecting once written in
# degrees (an officer's GIS refused the pieces)
PIECE_GRID_M = 0.001


class ChangePiece(BaseModel):
    """One added or removed part of the boundary."""

    id: str
    area_m2: float
    area_ha: float
    area_mu: float
    geometry: dict[str, Any] = Field(description="EPSG:4490 GeoJSON")
    verdict: str | None = Field(default=None, description="the added piece's own review verdict")
    failed_items: list[str] = Field(default_factory=list, description="review items the added piece fails")
    failed_items_zh: list[str] = Field(default_factory=list, description="their names (生态保护红线 …)")
    failed_items_m2: list[float] = Field(
        default_factory=list, description="the area each of them fails on (its failing pieces', at most its overlap_m2)"
    )


class ChangeCheck(BaseModel):
    """The comparison's figures and its conclusion in the policy's terms. Every area is in m² (2 decimals)
    with 公顷 (``_ha``, 4 decimals: one m²) and 亩 (``_mu``, 4 decimals) beside it, as the contract reports areas."""

    project_id: str | None = Field(default=None, description="项目编号, as the boundaries' parcels give it")
    project_name: str | None = Field(default=None, description="项目名称, as the boundaries' parcels give it")
    crs_used: str
    prereview_m2: float
    prereview_ha: float
    prereview_mu: float
    new_m2: float
    new_ha: float
    new_mu: float
    area_change_m2: float
    area_change_ha: float
    area_change_mu: float
    area_change_ratio: float = Field(description="(new − 预审) / 预审")
    overlap_m2: float
    overlap_ha: float
    overlap_mu: float
    overlap_ratio: float = Field(description="intersection / 预审 area")
    added_m2: float
    added_ha: float
    added_mu: float
    removed_m2: float
    removed_ha: float
    removed_mu: float
    max_area_increase: float
    min_overlap: float
    exceeds: bool
    reasons_zh: list[str]
    reasons_en: list[str]
    conclusion_zh: str
    conclusion_en: str
    basis: list[str]
    added: list[ChangePiece]
    removed: list[ChangePiece]
    added_fails: bool = Field(description="an added piece hits a fail rule of the review")
    added_unreviewed: list[str] = Field(
        default_factory=list, description="added pieces not reviewed: no blueprint given, or beyond its coverage"
    )
    added_findings_zh: list[str] = Field(
        default_factory=list, description="each failing added piece said, whatever the ratios conclude"
    )
    added_findings_en: list[str] = Field(default_factory=list)
    added_review: ReviewResult | None = Field(default=None, description="the added pieces' review (with a blueprint)")
    synthetic: bool = Field(
        default=False, description="the added pieces were reviewed against a generated demo blueprint (示例，合成数据)"
    )
    warnings: list[str] = Field(
        default_factory=list, description="what the boundaries' readers repaired or doubted (a CRS given beside one)"
    )
    # the two boundaries as measured (预审, 报批; projected, ``crs_used``), for the page's sketch only: not
    # in the JSON, so the API's answer keeps its size and its schema; a check read back from JSON has none
    _outlines: tuple[shapely.Geometry, shapely.Geometry] | None = PrivateAttr(default=None)


def _outline(frame: gpd.GeoDataFrame, what_en: str, what_zh: str) -> shapely.Geometry:
    """The union of a file's parcels (a project boundary may have several parts), cleaned."""
    if len(frame) == 0:
        raise InputError(f"the {what_en} file holds no parcel", f"{what_zh}文件中没有地块")
    check_coordinates(frame)
    geoms, _ = clean_parcels(frame, parcel_ids(frame))
    return shapely.union_all(geoms)


def _refuse_speck(area_m2: float, what_en: str, what_zh: str, profile: Profile) -> None:
    """A boundary no larger than the smallest area the review counts (the profile's ``tolerance.min_m2``,
    as :func:`geo.review.engine.review` refuses such parcels) is no boundary, most often coordinates in
    the wrong unit: against a speck of 预审 the area change ratio would be astronomical, so it is refused."""
    floor = profile.tolerance.min_m2
    if not area_m2 > floor:
        raise GeometryError(
            f"the {what_en} boundary has {area_m2:.4g} m², no larger than the {floor:g} m² the review counts: "
            "it is no boundary to compare; check the coordinates' unit and CRS",
            f"{what_zh}面积 {area_m2:.4g} m²，不超过审查计量下限 {floor:g} m²，不能作为比对范围，"
            "请核对坐标单位和坐标系",
        )


# what a strip of the project is, as a parcel (its 工程类别 too: a highway's added strip is rated as a highway)
PIECE_ATTRIBUTES = ("project_type", "facility", "redline_exempt", "major_project")


def boundary_project(
    new: gpd.GeoDataFrame, prereview: gpd.GeoDataFrame, given: dict[str, Any] | None
) -> dict[str, Any] | None:
    """What an added piece is, as a parcel of the project: each of ``PIECE_ATTRIBUTES`` every parcel of the 报批
    boundary gives, with one value (its type, a red-line exemption, a 重大项目 flag), else, where none of them gives
    it, every parcel of the 预审 boundary; ``given`` (a caller's ``--project-type``) over both. An attribute some
    parcels give and others do not, or give otherwise, is no one's: an exemption one parcel claims does not cover a
    strip added to another. The project's id, name and amounts (investment, route, power) are not a piece's: two
    strips of one project summed its investment twice in the land-use standard. A type ``given`` beside the
    boundaries' 工程类别 of another type is refused, naming both, as a review refuses it beside a parcel's: which of
    the two is right is the caller's to say. The added strip of a road whose
    报批 file says ``redline_exempt`` was reviewed without it: "fails the red line" where the whole parcel's
    review allowed it."""
    found = boundaries_give(new, prereview, PIECE_ATTRIBUTES) | (given or {})
    try:  # as a review's flags over a file's parcels: a type beside the boundaries' 工程类别 of another is refused
        project_of(found)
    except InputError as exc:
        en, zh = (
            ("the boundaries' project with the type given", "范围文件的项目属性与所给项目类型不符")
            if given
            else ("the two boundaries' project attributes disagree", "预审范围与报批范围的项目属性不一致")
        )
        raise InputError(f"{en}: {exc.message_en}", f"{zh}：{exc.message_zh}") from exc
    return found or None


def boundaries_give(new: gpd.GeoDataFrame, prereview: gpd.GeoDataFrame, fields: Sequence[str]) -> dict[str, Any]:
    """Each of ``fields`` every parcel of the 报批 boundary gives, with one value, else, where none of them gives it,
    every parcel of the 预审 boundary; a field some parcels give and others do not, or give otherwise, is left out."""
    found: dict[str, Any] = {}
    for frame, (en, zh) in (
        (new, ("the new boundary", "报批范围")),
        (prereview, ("the pre-review boundary", "预审范围")),
    ):
        try:
            attrs = project_attributes(frame, None)
        except InputError as exc:
            raise InputError(f"{en}: {exc.message_en}", f"{zh}：{exc.message_zh}") from exc
        for field in fields:
            values = {getattr(a, field) if field in a.model_fields_set else None for a in attrs}
            if field not in found and values != {None}:  # the first boundary that gives it at all decides
                found[field] = values.pop() if len(values) == 1 else None
    return {k: v for k, v in found.items() if v is not None}


def compare_boundaries(
    prereview: gpd.GeoDataFrame,
    new: gpd.GeoDataFrame,
    *,
    blueprint: Blueprint | None = None,
    profile: str | Profile = "ten-point",
    project: dict[str, Any] | None = None,
    max_cost: int | None = None,
) -> ChangeCheck:
    """Compare the 报批 boundary ``new`` with the 预审 boundary ``prereview``.

    With a ``blueprint``, the added pieces are reviewed on their own, as parcels of the project
    (:func:`boundary_project`: the attributes the boundaries' parcels give, ``project``'s over them): a piece
    that hits a fail rule is named, whatever the ratios say. ``max_cost``
    (a service's cap) refuses a new boundary whose review would cost more, before it is cleaned,
    unioned or cut (:func:`geo.review.engine.estimate_as_drawn`).
    """
    prof = load_profile(profile) if isinstance(profile, str) else profile
    rule = prof.change_check
    if rule is None:
        raise ProfileError(
            f"profile {prof.name} has no change_check block",
            f"审查方案 {prof.name} 未配置 change_check（预审变更比对）",
        )
    old_geom = _outline(prereview, "pre-review", "预审范围")
    pinned = blueprint.gk_zone_epsg if blueprint is not None else None
    epsg = pinned or zone_for_geometry(reproject(old_geom, prereview.crs, CGCS2000), CGCS2000)
    if max_cost is not None:  # its parcels as drawn
        check_coordinates(new)
        layers = layers_needed(prof, blueprint) if blueprint is not None else []
        estimate_as_drawn(parcel_ids(new), new.geometry, blueprint, layers, max_cost)
    new_geom = _outline(new, "new boundary", "报批范围")
    old = reproject(old_geom, prereview.crs, epsg)
    cur = reproject(new_geom, new.crs, epsg)
    old_m2, new_m2 = float(old.area), float(cur.area)
    _refuse_speck(old_m2, "pre-review (预审)", "预审范围", prof)
    _refuse_speck(new_m2, "new (报批)", "报批范围", prof)
    overlap_m2 = float(old.intersection(cur).area)
    gained, lost = cur.difference(old, grid_size=PIECE_GRID_M), old.difference(cur, grid_size=PIECE_GRID_M)
    added = [p for p in shapely.get_parts(polygonal_part(gained)) if p.area > PIECE_MIN_M2]
    removed = [p for p in shapely.get_parts(polygonal_part(lost)) if p.area > PIECE_MIN_M2]
    # decided on the ratios as reported: +10 % exactly is float noise either side of 0.1 (42.9 / 39 − 1)
    change = _figure((new_m2 - old_m2) / old_m2, 6)
    overlap = _figure(overlap_m2 / old_m2, 6)
    reasons_zh: list[str] = []
    reasons_en: list[str] = []
    # each figure with the decimals that show its side of the threshold (79.99 % is no "80.0 %，低于 80%")
    grown, shared = percent(change, rule.max_area_increase), percent(overlap, rule.min_overlap)
    if change >= rule.max_area_increase:
        reasons_zh.append(f"报批面积超出预审面积 {grown}（达到 {rule.max_area_increase:.0%} 以上）")
        reasons_en.append(f"the area grew by {grown} (at least {rule.max_area_increase:.0%})")
    if overlap < rule.min_overlap:
        reasons_zh.append(f"范围重合度 {shared}，低于 {rule.min_overlap:.0%}")
        reasons_en.append(f"the boundaries overlap {shared}, below {rule.min_overlap:.0%}")
    exceeds = bool(reasons_zh)
    added_pieces = _pieces("A", added, epsg)
    removed_pieces = _pieces("R", removed, epsg)
    added_review = None
    findings_zh: list[str] = []  # each added piece that fails or sets conditions, its items with the areas they find
    findings_en: list[str] = []
    if blueprint is not None and added:
        pieces = gpd.GeoDataFrame({"id": [p.id for p in added_pieces]}, geometry=list(added), crs=f"EPSG:{epsg}")
        whose = boundary_project(new, prereview, project)
        added_review = review(
            pieces, blueprint, profile=_strip_profile(prof), project=whose, pieces=False, max_cost=max_cost
        )
        for piece, result in zip(added_pieces, added_review.parcels, strict=True):
            piece.verdict = result.verdict
            failed = [i for i in result.items if i.status == "fail"]
            piece.failed_items, piece.failed_items_zh = [i.code for i in failed], [i.name_zh for i in failed]
            piece.failed_items_m2 = [_failing_m2(i) for i in failed]
            said = _piece_finding(piece, result)
            if said is not None:
                findings_zh.append(said[0])
                findings_en.append(said[1])
    failing = [p for p in added_pieces if p.failed_items]
    # not reviewed: no blueprint at hand, or land beyond its coverage (out_of_coverage: nothing drawn there)
    unreviewed = [p.id for p in added_pieces if p.verdict in (None, "out_of_coverage")]
    conditional = any(p.verdict == "conditional" for p in added_pieces)
    conclusion = _conclusion(rule, exceeds, bool(failing), bool(unreviewed), conditional)
    named = boundaries_give(new, prereview, ("project_id", "name"))
    check = ChangeCheck(
        project_id=named.get("project_id"),
        project_name=named.get("name"),
        crs_used=f"EPSG:{epsg}",
        prereview_m2=round(old_m2, 2),
        prereview_ha=_ha(old_m2),
        prereview_mu=_mu(old_m2),
        new_m2=round(new_m2, 2),
        new_ha=_ha(new_m2),
        new_mu=_mu(new_m2),
        area_change_m2=_figure(new_m2 - old_m2, 2),
        area_change_ha=_ha(new_m2 - old_m2),
        area_change_mu=_mu(new_m2 - old_m2),
        area_change_ratio=change,
        overlap_m2=round(overlap_m2, 2),
        overlap_ha=_ha(overlap_m2),
        overlap_mu=_mu(overlap_m2),
        overlap_ratio=overlap,
        added_m2=round(float(gained.area), 2),
        added_ha=_ha(float(gained.area)),
        added_mu=_mu(float(gained.area)),
        removed_m2=round(float(lost.area), 2),
        removed_ha=_ha(float(lost.area)),
        removed_mu=_mu(float(lost.area)),
        max_area_increase=rule.max_area_increase,
        min_overlap=rule.min_overlap,
        exceeds=exceeds,
        reasons_zh=reasons_zh,
        reasons_en=reasons_en,
        conclusion_zh=conclusion[0],
        conclusion_en=conclusion[1],
        basis=rule.basis,
        added=added_pieces,
        removed=removed_pieces,
        added_fails=bool(failing),
        added_unreviewed=unreviewed,
        added_findings_zh=findings_zh,
        added_findings_en=findings_en,
        added_review=added_review,
        synthetic=added_review is not None and added_review.synthetic,
        # as a review says them: a CRS given beside a declared one, a ring closed, M values left out (probe)
        warnings=[
            f"{what}: {warning}"
            for boundary, what in ((prereview, "预审范围 pre-review"), (new, "报批范围 new"))
            for warning in boundary.attrs.get("warnings", [])
        ],
    )
    check._outlines = (old, cur)
    return check


def _strip_profile(profile: Profile) -> Profile:
    """The profile an added strip is reviewed with: without the land-use standard (item 10), which weighs a whole
    project's land against its investment or size; a strip alone was "not given the investment" or weighed apart."""
    kept = [i for i in profile.items if not any(isinstance(c, LandUseStandardCheck) for c in i.checks)]
    return profile if len(kept) == len(profile.items) else profile.model_copy(update={"items": kept})


def _failing_m2(item: ItemResult) -> float:
    """The area an item's failing pieces find (a 规划符合性 failing on a 生态保护区 and warning on a 弹性发展区
    fails on the first alone), at most the item's own (pieces of two layers may overlap); the item's own where no
    piece fails (steep land, found by the slope raster's pixels)."""
    return min(sum(d.area_m2 for d in item.details if d.status == "fail"), item.overlap_m2) or item.overlap_m2


def _piece_finding(piece: ChangePiece, result: ParcelResult) -> tuple[str, str] | None:
    """What an added piece's review found that the conclusion rests on (Chinese, English): the items it fails with
    the area each fails on (须调整报批范围避让: a failing item has no procedure), the part beyond the blueprint's
    coverage (not reviewed there: a strip half beyond it read 未经审查 whole), else the items that set it conditions."""
    failed = list(zip((i for i in result.items if i.status == "fail"), piece.failed_items_m2, strict=True))
    warned = [(i, i.overlap_m2) for i in result.items if i.status == "warn"]
    head_zh, head_en = (
        f"新增部分 {piece.id}（{Area(piece.area_m2).bracketed_zh}）",
        f"added piece {piece.id} ({Area(piece.area_m2).en})",
    )
    if result.verdict == "out_of_coverage":
        beyond = Area(piece.area_m2 * (1.0 - (result.covered_ratio or 0.0)))
        return (
            f"{head_zh}有 {beyond.zh}位于蓝图覆盖范围外，该部分未经审查",
            f"{head_en}: {beyond.en} lies beyond the blueprint's coverage and was not reviewed",
        )
    if failed:
        found, verdict, ask = (
            failed,
            ("审查不通过", "fails the review"),
            ("须调整报批范围避让", "the boundary must leave it"),
        )
    elif result.verdict == "conditional" and warned:
        found, verdict = warned, ("有条件通过", "passes on conditions")
        ask = ("须按其审查意见办理所列手续", "the procedures its review lists are to be followed")
    else:
        return None
    return (
        f"{head_zh}{verdict[0]}："
        + "；".join(f"{i.name_zh}（涉及 {Area(m2).bracketed_zh}）" for i, m2 in found)
        + f"，{ask[0]}",
        f"{head_en} {verdict[1]}: " + "; ".join(f"{i.name_en} ({Area(m2).en})" for i, m2 in found) + f"; {ask[1]}",
    )


def _conclusion(
    rule: ChangeCheckRule, exceeds: bool, failing: bool, unreviewed: bool, conditional: bool
) -> tuple[str, str]:
    """The check's conclusion: the thresholds' (聊城 一、3), then what the added land asks. Beyond the thresholds no
    new 预审 follows, so this check is the only look the added land gets: its failing, unreviewed or conditional land
    is said after the clause (an officer's read: a 15 % growth onto the red line read 不再重新预审 alone); within them
    failing or unreviewed land is not approved on the old 预审 (``within_failing``, ``within_unreviewed``)."""
    if exceeds:
        if failing:
            said = rule.added_failing_zh, rule.added_failing_en
        elif unreviewed:
            said = rule.added_unreviewed_zh, rule.added_unreviewed_en
        elif conditional:
            said = rule.added_conditional_zh, rule.added_conditional_en
        else:
            return rule.exceeds_zh, rule.exceeds_en
        return f"{rule.exceeds_zh}；{said[0]}", f"{rule.exceeds_en}; {said[1]}"
    if failing:
        return rule.within_failing_zh, rule.within_failing_en
    if unreviewed:
        return rule.within_unreviewed_zh, rule.within_unreviewed_en
    if conditional:
        return f"{rule.within_zh}；{rule.added_conditional_zh}", f"{rule.within_en}; {rule.added_conditional_en}"
    return rule.within_zh, rule.within_en


def _figure(value: float, digits: int) -> float:
    """``value`` rounded, never -0.0 (a boundary shrunk by a hundredth of a millimetre did not shrink)."""
    return round(value, digits) + 0.0


def _ha(m2: float) -> float:
    """公顷 to 4 decimals (one m²), rounded from the unrounded m² as the review's ``area_ha`` is."""
    return _figure(Area(m2).ha, 4)


def _mu(m2: float) -> float:
    """亩 to 4 decimals, rounded from the unrounded m²."""
    return _figure(Area(m2).mu, 4)


def _pieces(prefix: str, parts: list[shapely.Geometry], epsg: int) -> list[ChangePiece]:
    """The parts as pieces, their GeoJSON's rings wound as RFC 7946 asks (exterior counterclockwise): GEOS's
    difference leaves them clockwise, which a strict reader refuses (an officer's check)."""
    wound = shapely.orient_polygons(np.array(parts, dtype=object)) if parts else []
    shapes = reproject(wound, epsg, CGCS2000) if parts else []
    return [
        ChangePiece(
            id=f"{prefix}{k}",
            area_m2=round(float(part.area), 2),
            area_ha=_ha(float(part.area)),
            area_mu=_mu(float(part.area)),
            geometry=shapely.geometry.mapping(shape),
        )
        for k, (part, shape) in enumerate(zip(parts, shapes, strict=True), start=1)
    ]


_ENV = jinja2.Environment(
    loader=jinja2.FileSystemLoader(Path(__file__).parent / "templates"),
    autoescape=jinja2.select_autoescape(["html"]),
)
_ENV.filters["area"] = Area  # the page writes areas by the one rule of every text (m², 公顷, 亩)
_ENV.filters["percent"] = percent  # and shares with the decimals that show their side of a threshold
_ENV.filters["verdict_zh"] = VERDICT_ZH.get


def change_check_html(check: ChangeCheck, size: int = 300) -> str:
    """The comparison as a page: figures, conclusion, pieces and an SVG sketch of the changes with its legend;
    ``SYNTHETIC_MARK`` on top where its added pieces were reviewed against the demo blueprint (``check.synthetic``),
    as on every paper."""
    sketch = _sketch(check, size)
    legend = [(kind, *SKETCH_LABELS[kind], Markup(_swatch(kind))) for kind in sketch[1]] if sketch else []
    return _ENV.get_template("compare.html").render(
        c=check,
        sketch=Markup(sketch[0]) if sketch else None,
        legend=legend,
        mark=SYNTHETIC_MARK if check.synthetic else "",
    )


# how the sketch draws each kind of shape (SVG presentation attributes); the legend's swatches are drawn so too
SKETCH_STYLES: dict[str, dict[str, str]] = {
    "removed": {"fill": "#1e88e5", "fill-opacity": "0.4", "stroke": "#1e88e5", "stroke-width": "0.5"},
    "added": {"fill": "#fb8c00", "fill-opacity": "0.6", "stroke": "#e65100", "stroke-width": "0.5"},
    "added-fail": {"fill": "url(#lantu-fail-hatch)", "stroke": "#b71c1c", "stroke-width": "1.5"},
    "new": {"fill": "none", "stroke": "#212121", "stroke-width": "1.5"},
    "prereview": {"fill": "none", "stroke": "#0d47a1", "stroke-width": "2", "stroke-dasharray": "6 4"},
}
SKETCH_LABELS: dict[str, tuple[str, str]] = {  # the legend's order: the boundaries, then what changed
    "prereview": ("原预审范围", "pre-review boundary"),
    "new": ("新报批范围", "new boundary"),
    "added": ("新增", "added"),
    "added-fail": ("新增（审查不通过）", "added, fails the review"),
    "removed": ("减少", "removed"),
}
# red and hatched: a failing added piece stands apart from the others, in grey print too
FAIL_HATCH = (
    '<pattern id="lantu-fail-hatch" width="6" height="6" patternUnits="userSpaceOnUse" '
    'patternTransform="rotate(45)"><rect width="6" height="6" fill="#c62828" fill-opacity="0.85"/>'
    '<line x1="0" y1="0" x2="0" y2="6" stroke="#ffffff" stroke-width="2"/></pattern>'
)
MARGIN = 0.05  # blank around the drawing on each side, a share of its larger extent
STRIP_PX = 36  # the band under the drawing that holds the scale bar and the north arrow
PIECE_KINDS = ("added", "added-fail", "removed")
PIECE_ID_PX = 16  # a piece at least this wide and high in the sketch carries its id (A1, R1: the table's)


def _sketch(check: ChangeCheck, size: int) -> tuple[str, list[str]] | None:
    """An SVG of the two boundaries (预审 dashed, 报批 solid), the added pieces (orange; a failing one red and
    hatched) and the removed ones (blue), to scale in the projected CRS the areas were measured in
    (``crs_used``, GK metres, north up), with a scale bar in metres and a north arrow; and the kinds drawn,
    for the legend. None when there is nothing to draw (an unchanged boundary read back from JSON)."""
    failing = {p.id for p in check.added if p.failed_items}
    kinds = [("added-fail" if p.id in failing else "added", p.id) for p in check.added]
    kinds += [("removed", p.id) for p in check.removed]
    shapes = [shapely.geometry.shape(p.geometry) for p in (*check.added, *check.removed)]
    if shapes:
        shapes = list(reproject(np.array(shapes, dtype=object), CGCS2000, check.crs_used))
    if check._outlines is not None:  # the new boundary under the dashed 预审 one: where they run together both show
        kinds += [("new", "new"), ("prereview", "prereview")]
        shapes += [check._outlines[1], check._outlines[0]]
    if not shapes:
        return None
    drawn = np.array(shapes, dtype=object)
    minx, miny, maxx, maxy = shapely.total_bounds(drawn)
    span = max(maxx - minx, maxy - miny) * (1 + 2 * MARGIN) or 1.0  # metres across the drawing
    centre = np.array([(minx + maxx) / 2, (miny + maxy) / 2])
    scaled = shapely.transform(drawn, lambda xy: ((xy - centre) / span * size + size / 2) * (1, -1) + (0, size))
    body = "".join(_path(g, kind, name) for g, (kind, name) in zip(scaled, kinds, strict=True))
    body += "".join(_piece_id(g, name) for g, (kind, name) in zip(scaled, kinds, strict=True) if kind in PIECE_KINDS)
    height = size + STRIP_PX
    svg = (
        f'<svg xmlns="http://www.w3.org/2000/svg" class="change-sketch" width="{size}" height="{height}" '
        f'viewBox="0 0 {size} {height}" role="img" aria-label="变更示意图 sketch of the change">'
        f"<defs>{FAIL_HATCH}</defs>{body}{_scale_bar(span, size)}{_north_arrow(size)}</svg>"
    )
    return svg, [kind for kind in SKETCH_LABELS if kind in {k for k, _ in kinds}]


def _style(kind: str) -> str:
    return " ".join(f'{key}="{value}"' for key, value in SKETCH_STYLES[kind].items())


def _path(geom: shapely.Geometry, kind: str, name: str) -> str:
    """One shape as an SVG path (its holes cut out), in pixels."""
    rings = [ring for part in shapely.get_parts(polygonal_part(geom)) for ring in (part.exterior, *part.interiors)]
    d = " ".join("M" + " L".join(f"{x:.2f},{y:.2f}" for x, y in ring.coords[:-1]) + " Z" for ring in rings)
    return f'<path class="{kind}" data-id="{name}" fill-rule="evenodd" {_style(kind)} d="{d}"/>'


def _piece_id(geom: shapely.Geometry, name: str) -> str:
    minx, miny, maxx, maxy = geom.bounds
    if min(maxx - minx, maxy - miny) < PIECE_ID_PX:
        return ""
    at = geom.point_on_surface()
    return (
        f'<text class="piece-id" x="{at.x:.1f}" y="{at.y:.1f}" text-anchor="middle" dominant-baseline="central" '
        f'font-size="11" fill="#222" stroke="#fff" stroke-width="3" paint-order="stroke">{name}</text>'
    )


def _scale_length(span_m: float) -> float:
    """The scale bar's length: the round length (1, 2 or 5 × 10ⁿ m) nearest a fifth of ``span_m`` (by ratio)."""
    target = span_m / 5
    power = 10.0 ** math.floor(math.log10(target))
    return min((step * power for step in (1, 2, 5, 10)), key=lambda metres: abs(math.log(metres / target)))


def _scale_bar(span_m: float, size: int) -> str:
    """A bar of :func:`_scale_length` metres, drawn at the sketch's scale (``size`` px for ``span_m`` m),
    in the band under the drawing; its length in metres and pixels on it for anyone who checks."""
    metres = _scale_length(span_m)
    px = metres / span_m * size
    label = f"{metres:g} m" if metres < 1000 else f"{metres / 1000:g} km"
    x0, y = 10.0, size + 26.0
    return (
        f'<g class="scale-bar" data-metres="{metres:g}" data-px="{px:.3f}" stroke="#222" stroke-width="1.5">'
        f'<path fill="none" d="M{x0:.2f},{y - 5:.2f} L{x0:.2f},{y:.2f} L{x0 + px:.3f},{y:.2f} '
        f'L{x0 + px:.3f},{y - 5:.2f}"/><text x="{x0 + px / 2:.2f}" y="{y - 8:.2f}" text-anchor="middle" '
        f'font-size="12" stroke="none" fill="#222">{label}</text></g>'
    )


def _north_arrow(size: int) -> str:
    """An arrow pointing up (GK grid north) at the right of the band under the drawing."""
    x, top = size - 16.0, size + 6.0
    return (
        f'<g class="north-arrow" fill="#222"><path d="M{x:.1f},{top:.1f} L{x + 6:.1f},{top + 22:.1f} '
        f'L{x:.1f},{top + 17:.1f} L{x - 6:.1f},{top + 22:.1f} Z"/>'
        f'<text x="{x - 10:.1f}" y="{top + 20:.1f}" text-anchor="end" font-size="12">北 N</text></g>'
    )


def _swatch(kind: str) -> str:
    """The legend's sample of ``kind`` in the sketch's own style (a failing piece's hatch is the sketch's)."""
    shape = '<path d="M2,10 L30,10"' if kind in ("new", "prereview") else '<rect x="3" y="3" width="26" height="14"'
    return f'<svg class="swatch" width="32" height="20" aria-hidden="true">{shape} {_style(kind)}/></svg>'
