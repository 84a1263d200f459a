"""精准选址: find compact candidate sites of a given area where the review would let a project land.

济政办字〔2020〕52号 三（一）2 asks the city to guide projects to suitable land at the siting
stage and to avoid every red line; 聊城《重点项目推进全周期服务办法》第五条 names 精准选址 among the
platform's jobs. The review profile decides, so siting and review cannot disagree:

1. every vector check of the profile is graded for the project (type and flags) feature by
   feature; land where a check would **fail** is excluded (cells it touches), land where it
   would **warn** costs the item's weight (``siting.weights``); slope cells above the raster
   check's threshold cost likewise; distance to ``prefer_near`` layers (城镇开发边界) costs
   up to its weight (a Euclidean distance transform, ``scipy.ndimage``);
2. the surface is a rasterio grid of ``resolution_m`` cells in the area's Gauss-Krüger zone;
   connected feasible regions (``rasterio.features.shapes``) smaller than the asked area are
   dropped;
3. candidates are rectangles of the asked area (a few width:height ratios) whose every
   touched cell is feasible, the cheapest first (window sums on summed-area tables), kept
   ``gap_m`` apart: compact and exact, never raster staircases;
4. each candidate goes through the full vector review (``geo.review``); one that still fails
   is dropped and the next one is taken, so every reported verdict is the review's own.
"""

from __future__ import annotations

import json
import math
from collections import Counter
from collections.abc import Callable
from typing import Any

import geopandas as gpd
import numpy as np
import rasterio.features
import rasterio.warp
import shapely
from pydantic import BaseModel, Field
from rasterio.transform import Affine, from_origin
from scipy import ndimage

from geo.blueprint import Blueprint
from geo.catalog import landuse_class
from geo.crs import CGCS2000, M2_PER_MU, Area, check_coordinates, reproject, zone_for_geometry
from geo.errors import InputError
from geo.forked import gdal_call
from geo.geometry import clean_parcels
from geo.review import ReviewResult, load_profile, review
from geo.review.engine import parcel_ids, project_of
from geo.review.profile import (
    InsideCheck,
    Item,
    LandUseClassesCheck,
    OverlapCheck,
    Profile,
    RasterShareAboveCheck,
    ZoneCompatibleCheck,
)
from geo.review.result import ParcelResult, ProjectAttributes
from geo.review.rules import allowed_zones, exempt_statuses, overlap_status, zone_status
from geo.review.stages import SitingRule
from geo.vocabulary import Status, Verdict

SiteProgress = Callable[[str, int, int], None]  # (what, done, total)
MAX_ROUNDS = 4  # rounds of candidates replaced after a failing review


class FeasibleRegion(BaseModel):
    """A connected area where nothing excludes the project, at least the asked area."""

    id: int
    area_m2: float
    area_mu: float
    geometry: dict[str, Any] = Field(description="EPSG:4490 GeoJSON (cell outlines)")


class Site(BaseModel):
    """One candidate: its place in the ranking and why, its exact area and its review verdict."""

    id: str = Field(description="S1, S2… in rank order; the id of its parcel in the review")
    rank: int
    score: float = Field(description="0–100: 100 minus the weighted share of warn findings and distance (2 decimals)")
    area_m2: float
    area_ha: float
    area_mu: float
    verdict: Verdict
    region: int
    shape: str = Field(description="width:height of the rectangle")
    failed_items: list[str]
    warned_items: list[str]
    unchecked_items: list[str] = Field(description="items whose layer the blueprint lacks (not scored)")
    reasons_zh: list[str]
    reasons_en: list[str]
    geometry: dict[str, Any] = Field(description="EPSG:4490 GeoJSON")


class SiteSearch(BaseModel):
    area_mu: float
    project: ProjectAttributes
    crs_used: str
    resolution_m: float
    searched_m2: float = Field(description="the search area, clipped to the blueprint's coverage")
    feasible_m2: float = Field(description="cells of the feasible regions (each at least the asked area)")
    excluded_m2: dict[str, float] = Field(
        description="area each review item excludes from the cells searched (items overlap)"
    )
    regions: list[FeasibleRegion]
    sites: list[Site]
    rejected: int = Field(description="candidates the vector review still failed (replaced)")
    review: ReviewResult | None = Field(default=None, description="the returned sites' full review")
    basis: list[str]
    warnings: list[str] = Field(default_factory=list)


class _Grid:
    """The search grid: a north-up raster of ``res`` cells in ``epsg`` over the search area."""

    def __init__(self, area: shapely.Geometry, epsg: int, res: float, max_cells: int) -> None:
        minx, miny, maxx, maxy = area.bounds
        self.res, self.epsg = res, epsg
        self.x0, self.y0 = math.floor(minx / res) * res, math.ceil(maxy / res) * res
        self.width = math.ceil((maxx - self.x0) / res)
        self.height = math.ceil((self.y0 - miny) / res)
        if self.width * self.height > max_cells:
            coarser = res * math.ceil(math.sqrt(self.width * self.height / max_cells))
            raise InputError(
                f"the search grid would have {self.width * self.height:,} cells of {res:g} m (limit {max_cells:,}); "
                f"use a coarser resolution (≥ {coarser:g} m) or a smaller area",
                f"选址栅格共 {self.width * self.height:,} 个 {res:g} 米网格，超过上限 {max_cells:,}；"
                f"请使用更粗的分辨率（≥ {coarser:g} 米）或缩小范围",
            )
        self.transform: Affine = from_origin(self.x0, self.y0, res, res)
        self.box = shapely.box(self.x0, self.y0 - self.height * res, self.x0 + self.width * res, self.y0)

    @property
    def shape(self) -> tuple[int, int]:
        return self.height, self.width

    @gdal_call
    def burn(self, geoms: list[shapely.Geometry], *, touched: bool) -> np.ndarray:
        """Cells the shapes touch (``touched``: any contact — for exclusions) or whose centre they hold."""
        shapes = [g for g in geoms if g is not None and not g.is_empty]
        if not shapes:
            return np.zeros(self.shape, dtype=bool)
        burnt: np.ndarray = rasterio.features.rasterize(
            [(g, 1) for g in shapes], out_shape=self.shape, transform=self.transform, all_touched=touched, dtype="uint8"
        )
        return burnt.astype(bool)

    def centre(self, row: int, col: int) -> tuple[float, float]:
        return self.x0 + (col + 0.5) * self.res, self.y0 - (row + 0.5) * self.res


def find_sites(
    blueprint: Blueprint,
    *,
    area_mu: float,
    n: int = 5,
    project: dict[str, Any] | None = None,
    county: str | None = None,
    within: gpd.GeoDataFrame | None = None,
    profile: str | Profile = "ten-point",
    resolution_m: float | None = None,
    progress: SiteProgress | None = None,
) -> SiteSearch:
    """The best ``n`` sites of ``area_mu`` 亩 for ``project`` in a county, inside ``within``, or anywhere
    in the blueprint's coverage; each reviewed in full (see the module's docstring)."""
    if not area_mu > 0 or n < 1:
        raise InputError("the area must be positive and n at least 1", "选址面积须大于 0，数量至少为 1")
    prof = load_profile(profile) if isinstance(profile, str) else profile
    rule = prof.siting
    attrs = project_of(dict(project or {}))
    step = progress or (lambda _what, _done, _total: None)
    area, epsg, asked_m2 = _search_area(blueprint, county, within)
    target_m2 = area_mu * M2_PER_MU * (1 + rule.area_margin)
    warnings = _coverage_warnings(area.area, asked_m2, area_mu)
    grid = _Grid(area, epsg, resolution_m or rule.resolution_m, rule.max_cells)
    # the grid spans the area's bounding box: only cells wholly inside the area are searched, the rest
    # is excluded like any fail rule; excluded and feasible areas count searched cells only
    searched = ~grid.burn([grid.box.difference(area)], touched=True)
    excluded = ~searched
    cost = np.zeros(grid.shape, dtype="float32")
    near_cost = np.zeros(grid.shape, dtype="float32")
    excluded_m2: dict[str, float] = {}
    items = [i for i in prof.items if any(_spatial(c) for c in i.checks)]
    for k, item in enumerate(items):
        step("约束图层 constraints", k, len(items))
        fail, warn = _item_masks(item, blueprint, grid, attrs)
        excluded_m2[item.code] = round(float((fail & searched).sum()) * grid.res**2, 2)
        excluded |= fail
        cost += rule.weights.get(item.code, rule.default_weight) * warn
    for near in rule.prefer_near:
        layer = blueprint.vector(near.layer)
        if layer is None:
            warnings.append(f"prefer_near: the blueprint has no {near.layer} layer; not used")
            continue
        inside = grid.burn(list(layer.in_crs(epsg).geometry), touched=False)
        if not (~inside & ~excluded).any():
            continue  # every open cell is inside the layer (城镇开发边界 required for the type): no distance
        distance = ndimage.distance_transform_edt(~inside) * grid.res if inside.any() else np.full(grid.shape, np.inf)
        near_cost += near.weight * np.minimum(distance / near.within_m, 1.0)
    cost += near_cost
    step("可行区域 feasible regions", len(items), len(items))
    regions, labels = _regions(~excluded, grid, target_m2)
    feasible = labels > 0
    sites: list[tuple[shapely.Polygon, str, int]] = []
    results: list[ParcelResult] = []
    rejected = 0
    refused_by: Counter[tuple[str, str]] = Counter()  # the items that failed the candidates rejected: (中文, English)
    beyond = 0  # candidates reaching beyond the blueprint's coverage: not reviewed there, no 不通过
    blocked = ~feasible
    for _round in range(MAX_ROUNDS):
        wanted = n - len(results)
        fresh = _candidates(blocked, cost, grid, target_m2, rule.shapes, rule.gap_m, wanted, labels)
        if not fresh:
            break
        for poly, _, _ in fresh:  # whatever the review says, this footprint is taken
            blocked |= grid.burn([poly.buffer(rule.gap_m)], touched=True)
        step("逐一审查 reviewing candidates", len(results), n)
        frame = gpd.GeoDataFrame(
            {"id": [f"C{len(sites) + rejected + k + 1}" for k in range(len(fresh))]},
            geometry=[p for p, _, _ in fresh],
            crs=f"EPSG:{epsg}",
        )
        checked = review(frame, blueprint, profile=prof, project=attrs.model_dump(exclude_none=True), pieces=False)
        for candidate, result in zip(fresh, checked.parcels, strict=True):
            if result.verdict in ("reject", "out_of_coverage"):
                rejected += 1
                beyond += result.verdict == "out_of_coverage"
                refused_by.update((i.name_zh, i.name_en) for i in result.items if i.status == "fail")
                continue
            sites.append(candidate)
            results.append(result)
        if len(results) >= n:
            break
    step("逐一审查 reviewing candidates", len(results), n)
    if not regions:
        warnings.append(
            f"no feasible region of {area_mu:g} mu in the search area / 搜索范围内没有面积达到 {area_mu:g} 亩的可行区域"
        )
    elif len(results) < n:
        # why: a search whose every candidate failed one item (an investment of 0 万元 supports no land) said nothing
        why_en = why_zh = ""
        if refused_by:
            failed = rejected - beyond
            why_en = f"; {failed} candidate(s) failed: " + ", ".join(f"{en} ({k})" for (_, en), k in refused_by.items())
            why_zh = f"；{failed} 处候选地块审查不通过：" + "、".join(
                f"{zh}（{k} 处）" for (zh, _), k in refused_by.items()
            )
        if beyond:
            why_en += f"; {beyond} reached beyond the blueprint's coverage, not reviewed there"
            why_zh += f"；{beyond} 处超出蓝图覆盖范围（该部分未审查）"
        warnings.append(
            f"only {len(results)} of {n} sites found{why_en} / 仅找到 {len(results)} 处（要求 {n} 处）{why_zh}"
        )
    ranked = _ranked(sites, results, near_cost, grid, rule, prof)
    final_review = checked.model_copy(update={"parcels": [r for _, r in ranked], "warnings": []}) if ranked else None
    return SiteSearch(
        area_mu=area_mu,
        project=attrs,
        crs_used=f"EPSG:{epsg}",
        resolution_m=grid.res,
        searched_m2=round(float(area.area), 2),
        feasible_m2=round(float(feasible.sum()) * grid.res**2, 2),
        excluded_m2=excluded_m2,
        regions=regions,
        sites=[site for site, _ in ranked],
        rejected=rejected,
        review=final_review,
        basis=rule.basis,
        warnings=warnings,
    )


def _search_area(
    blueprint: Blueprint, county: str | None, within: gpd.GeoDataFrame | None
) -> tuple[shapely.Geometry, int, float]:
    """The search area in its GK zone (the blueprint's pinned zone wins), clipped to the coverage, and the
    area asked for before the clip (m², in the same zone)."""
    coverage_id = blueprint.coverage_layer
    coverage = blueprint.vector(coverage_id) if coverage_id else None
    if within is not None:
        if len(within) == 0:
            raise InputError(
                "the search area (--within, the API's within) holds no polygon", "选址范围（--within）中没有面"
            )
        check_coordinates(within)
        geoms, _ = clean_parcels(within, parcel_ids(within))
        shape, crs = shapely.union_all(geoms), within.crs
    elif county is not None:
        layer = blueprint.vector("county")
        if layer is None:
            raise InputError("the blueprint has no county layer to find --county in", "蓝图没有县级行政区图层")
        codes = layer.frame["code"].astype(str)
        if county not in set(codes):
            raise InputError(
                f"no county {county!r} in the blueprint; codes: {sorted(set(codes))}",
                f"蓝图中没有县区代码 {county!r}；可选：{sorted(set(codes))}",
            )
        shape, crs = shapely.union_all(layer.frame.geometry[codes == county].values), layer.frame.crs
    elif coverage is not None:
        shape, crs = shapely.union_all(coverage.frame.geometry.values), coverage.frame.crs
    else:
        raise InputError(
            "the blueprint has no county or extent layer: give --within",
            "蓝图没有县级行政区或范围图层：请用 --within 指定选址范围",
        )
    asked, asked_crs = shape, crs
    if coverage is not None:  # clipped first: the part searched sets the zone (a --within of all China is not)
        covered = shapely.union_all(reproject(coverage.frame.geometry.values, coverage.frame.crs, CGCS2000))
        shape, crs = reproject(shape, crs, CGCS2000).intersection(covered), CGCS2000
    if shape.is_empty or shape.area == 0:
        raise InputError("the search area lies outside the blueprint's coverage", "选址范围不在蓝图覆盖范围内")
    epsg = blueprint.gk_zone_epsg or zone_for_geometry(reproject(shape, crs, CGCS2000), CGCS2000)
    return reproject(shape, crs, epsg), epsg, float(reproject(asked, asked_crs, epsg).area)


COVERED_IN_FULL = 0.999  # a search area this much inside the coverage is searched in full (its edges' slivers)


def _coverage_warnings(covered_m2: float, asked_m2: float, area_mu: float) -> list[str]:
    """Refuse a search area whose part inside the blueprint's coverage cannot hold one site (a county that
    only touches the coverage was searched over 0.29 m² and answered "no feasible land"); warn where only part
    of it was searched."""
    if covered_m2 < area_mu * M2_PER_MU:
        covered = Area(covered_m2)
        raise InputError(
            f"only {covered.en} of the search area lies inside the blueprint's coverage, less than one site of "
            f"{area_mu:g} mu: search inside the coverage",
            f"选址范围位于蓝图覆盖范围内的部分仅 {covered.zh}，不足一处 {area_mu:g} 亩的用地：请在覆盖范围内选址",
        )
    share = covered_m2 / asked_m2 if asked_m2 > 0 else 1.0
    if share >= COVERED_IN_FULL:
        return []
    return [
        f"{share:.1%} of the search area lies inside the blueprint's coverage; sites were sought there only / "
        f"选址范围仅 {share:.1%} 位于蓝图覆盖范围内，仅在该部分选址"
    ]


VECTOR_KINDS = (OverlapCheck, InsideCheck, ZoneCompatibleCheck, LandUseClassesCheck)


def _spatial(check: Any) -> bool:
    return isinstance(check, (*VECTOR_KINDS, RasterShareAboveCheck))


def _item_masks(
    item: Item, blueprint: Blueprint, grid: _Grid, project: ProjectAttributes
) -> tuple[np.ndarray, np.ndarray]:
    """Cells where one of the item's checks would fail (touched) and where one would warn (centres)."""
    fail = np.zeros(grid.shape, dtype=bool)
    warn = np.zeros(grid.shape, dtype=bool)
    ptype = project.project_type or ""
    flags = project.model_dump()
    for check in item.checks:
        if isinstance(check, RasterShareAboveCheck):
            steep = _raster_above(blueprint, check, grid)
            (fail if check.status == "fail" else warn)[steep] = True
            continue
        if not isinstance(check, VECTOR_KINDS):
            continue
        layer = blueprint.vector(check.layer)
        if layer is None:
            continue  # the review reports it (missing_layer, or skipped when optional)
        indexed = layer.in_crs(grid.epsg)
        geoms = list(indexed.geometry)
        statuses: list[Status]
        if isinstance(check, InsideCheck):
            status: Status = check.by_type.get(ptype, check.status)
            outside = [grid.box.difference(shapely.union_all(indexed.geometry))]
            fail |= grid.burn(outside, touched=True) if status == "fail" else False
            warn |= grid.burn(outside, touched=False) if status == "warn" else False
            continue
        if isinstance(check, OverlapCheck):
            values = list(indexed.columns[check.attribute]) if check.attribute else [None] * len(geoms)
            statuses = [overlap_status(check, None if v is None else str(v).strip(), ptype) for v in values]
            statuses = exempt_statuses(check, check.exempt, flags, project.project_type, statuses, values)
        elif isinstance(check, ZoneCompatibleCheck):
            allowed = allowed_zones(check, project.project_type)
            zones = list(indexed.columns[check.attribute])
            statuses = [zone_status(check, str(z), allowed) for z in zones]
            statuses = exempt_statuses(check, check.exempt, flags, project.project_type, statuses, zones)
        else:
            classes = [landuse_class(c) for c in indexed.columns["class_code"]]
            statuses = [check.status_for(project.project_type) if check.sought(c) else "pass" for c in classes]
        fail |= grid.burn([g for g, s in zip(geoms, statuses, strict=True) if s == "fail"], touched=True)
        warn |= grid.burn([g for g, s in zip(geoms, statuses, strict=True) if s == "warn"], touched=False)
    return fail, warn & ~fail


@gdal_call
def _raster_above(blueprint: Blueprint, check: RasterShareAboveCheck, grid: _Grid) -> np.ndarray:
    """Cells whose raster value (averaged onto the grid) is above the check's threshold (slope > 25°)."""
    layer = blueprint.raster(check.layer)
    if layer is None:
        return np.zeros(grid.shape, dtype=bool)
    out = np.full(grid.shape, np.nan, dtype="float32")
    with layer.opened() as ds:
        rasterio.warp.reproject(
            rasterio.band(ds, 1),
            out,
            dst_transform=grid.transform,
            dst_crs=f"EPSG:{grid.epsg}",
            dst_nodata=np.nan,
            resampling=rasterio.warp.Resampling.average,
        )
    above: np.ndarray = np.nan_to_num(out, nan=0.0) > check.threshold
    return above


@gdal_call
def _regions(ok: np.ndarray, grid: _Grid, target_m2: float) -> tuple[list[FeasibleRegion], np.ndarray]:
    """Connected feasible regions (4-connected cells) of at least the target area, and a label grid."""
    shapes = rasterio.features.shapes(ok.astype("uint8"), mask=ok, connectivity=4, transform=grid.transform)
    polygons = [shapely.geometry.shape(g) for g, _ in shapes]
    kept = sorted((p for p in polygons if p.area >= target_m2), key=lambda p: -p.area)
    labels = np.zeros(grid.shape, dtype="int32")
    if kept:
        labels = rasterio.features.rasterize(
            [(p, k) for k, p in enumerate(kept, start=1)],
            out_shape=grid.shape,
            transform=grid.transform,
            dtype="int32",
        )
    outlines = reproject(np.array(kept, dtype=object), grid.epsg, CGCS2000) if kept else []
    regions = [
        FeasibleRegion(
            id=k,
            area_m2=m2,
            area_mu=mu,
            geometry=shapely.geometry.mapping(o),
        )
        for k, (p, o) in enumerate(zip(kept, outlines, strict=True), start=1)
        for m2, _, mu in [Area(float(p.area)).rounded]
    ]
    return regions, labels


def _window_sum(table: np.ndarray, half_rows: int, half_cols: int) -> np.ndarray:
    """Sum over the (2·half_rows+1) × (2·half_cols+1) window centred on each cell (summed-area table);
    cells whose window leaves the grid get +inf."""
    rows, cols = table.shape[0] - 1, table.shape[1] - 1
    out = np.full((rows, cols), np.inf)
    r0, r1 = half_rows, rows - half_rows
    c0, c1 = half_cols, cols - half_cols
    if r1 <= r0 or c1 <= c0:
        return out
    top, bottom = slice(0, r1 - r0), slice(2 * half_rows + 1, rows + 1)
    left, right = slice(0, c1 - c0), slice(2 * half_cols + 1, cols + 1)
    out[r0:r1, c0:c1] = table[bottom, right] - table[top, right] - table[bottom, left] + table[top, left]
    return out


def _integral(values: np.ndarray) -> np.ndarray:
    table = np.zeros((values.shape[0] + 1, values.shape[1] + 1))
    table[1:, 1:] = values.cumsum(0).cumsum(1)
    return table


def _candidates(
    blocked: np.ndarray,
    cost: np.ndarray,
    grid: _Grid,
    target_m2: float,
    ratios: list[tuple[float, float]],
    gap_m: float,
    count: int,
    labels: np.ndarray,
) -> list[tuple[shapely.Polygon, str, int]]:
    """Up to ``count`` rectangles of ``target_m2``, cheapest mean cost first, each on feasible cells only
    and ``gap_m`` from the others.

    The window sums are computed once per shape over the feasible regions' bounding box; after a
    pick, every centre whose window reaches the pick's footprint (buffered by the gap) is dropped.
    """
    rows, cols = np.nonzero(~blocked)
    if rows.size == 0:
        return []
    r_lo, r_hi, c_lo, c_hi = rows.min(), rows.max() + 1, cols.min(), cols.max() + 1
    bad = _integral(blocked[r_lo:r_hi, c_lo:c_hi].astype("float64"))
    costs = _integral(cost[r_lo:r_hi, c_lo:c_hi])
    options = []  # per shape: width, height, half sizes, mean cost per centre (inf where it does not fit)
    for w, h in ratios:
        width = math.sqrt(target_m2 * w / h)
        height = target_m2 / width
        half_c, half_r = (max(math.ceil(size / (2 * grid.res) + 0.5) - 1, 0) for size in (width, height))
        fits = _window_sum(bad, half_r, half_c) == 0
        cells = (2 * half_r + 1) * (2 * half_c + 1)
        mean = np.where(fits, _window_sum(costs, half_r, half_c) / cells, np.inf).astype("float32")
        options.append((f"{w:g}:{h:g}", width, height, half_r, half_c, mean))
    picked: list[tuple[shapely.Polygon, str, int]] = []
    for _ in range(count):
        best = min(
            ((float(mean.min()), k) for k, (*_, mean) in enumerate(options) if mean.size and np.isfinite(mean.min())),
            default=None,
        )
        if best is None:
            break
        label, width, height, _, _, mean = options[best[1]]
        r, c = (int(v) for v in np.unravel_index(int(np.argmin(mean)), mean.shape))
        x, y = grid.centre(r + int(r_lo), c + int(c_lo))
        poly = shapely.box(x - width / 2, y - height / 2, x + width / 2, y + height / 2)
        picked.append((poly, label, int(labels[r + r_lo, c + c_lo])))
        # cells the pick and its gap take, as a row/column range in the cropped grid
        minx, miny, maxx, maxy = poly.buffer(gap_m).bounds
        t0 = math.floor((grid.y0 - maxy) / grid.res) - int(r_lo)
        t1 = math.ceil((grid.y0 - miny) / grid.res) - int(r_lo)
        l0 = math.floor((minx - grid.x0) / grid.res) - int(c_lo)
        l1 = math.ceil((maxx - grid.x0) / grid.res) - int(c_lo)
        for _, _, _, half_r, half_c, other in options:
            other[max(t0 - half_r, 0) : max(t1 + half_r, 0), max(l0 - half_c, 0) : max(l1 + half_c, 0)] = np.inf
    return picked


def _ranked(
    sites: list[tuple[shapely.Polygon, str, int]],
    results: list[ParcelResult],
    near_cost: np.ndarray,
    grid: _Grid,
    rule: SitingRule,
    profile: Profile,
) -> list[tuple[Site, ParcelResult]]:
    """Each site with its review, ranked: pass before conditional, then by score. The score is 100 minus
    the weighted shares of the exact review's warned items and the mean distance cost, over all weights."""
    weights = {i.code: rule.weights.get(i.code, rule.default_weight) for i in profile.items}
    unchecked = {i.code for r in results for i in r.items if i.status == "missing_layer"}
    total = sum(w for code, w in weights.items() if code not in unchecked) + sum(p.weight for p in rule.prefer_near)
    outlines = reproject(np.array([p for p, _, _ in sites], dtype=object), grid.epsg, CGCS2000) if sites else []
    scored: list[tuple[float, Site, ParcelResult]] = []
    for (poly, shape, region), result, outline in zip(sites, results, outlines, strict=True):
        penalty = 0.0
        reasons_zh: list[str] = []
        reasons_en: list[str] = []
        for item in result.items:
            if item.status != "warn":  # a missing layer is the blueprint's gap, the same for every site
                continue
            weight = weights.get(item.code, rule.default_weight)
            if item.overlap_ratio:  # land of the site the item finds (item 10: beyond its standard): its share counts
                share = item.overlap_ratio
                said_zh, said_en = (
                    f"{item.overlap_m2:,.0f} m²，占 {share:.1%}",
                    f"{item.overlap_m2:,.0f} m², {share:.1%}",
                )
            elif item.facts.share_above is not None:  # pixels above a threshold (坡度)
                share = item.facts.share_above
                said_zh, said_en = f"超过阈值的像元占 {share:.1%}", f"{share:.1%} of its pixels above the threshold"
            else:  # a condition of the whole site, not of some of its land (需开展节地评价): all of its weight
                share = 1.0
                said_zh, said_en = item.message_zh, item.message_en
            penalty += weight * share
            reasons_zh.append(f"{item.name_zh}：有条件（{said_zh}，权重 {weight:g}）")
            reasons_en.append(f"{item.name_en}: conditional ({said_en}, weight {weight:g})")
        cells = grid.burn([poly], touched=False)
        near = float(near_cost[cells].mean()) if cells.any() else 0.0
        if near > 0.005:
            penalty += near
            layers = "、".join(p.layer for p in rule.prefer_near)
            reasons_zh.append(f"距优先布局区域（{layers}）较远，距离代价 {near:.2f}")
            reasons_en.append(f"away from the preferred layers, distance cost {near:.2f}")
        if not reasons_zh:
            reasons_zh.append("各审查项均通过")
            reasons_en.append("every review item passes")
        score = max(0.0, 100.0 * (1 - penalty / (total or 1.0)))
        site = Site(
            id="",
            rank=0,
            score=round(score, 2),
            area_m2=result.area_m2,
            area_ha=result.area_ha,
            area_mu=result.area_mu,
            verdict=result.verdict,
            region=region,
            shape=shape,
            failed_items=[i.code for i in result.items if i.status == "fail"],
            warned_items=[i.code for i in result.items if i.status == "warn"],
            unchecked_items=[i.code for i in result.items if i.status == "missing_layer"],
            reasons_zh=reasons_zh,
            reasons_en=reasons_en,
            geometry=shapely.geometry.mapping(outline),
        )
        scored.append((score, site, result))
    return in_rank_order(scored)


def in_rank_order(scored: list[tuple[float, Site, ParcelResult]]) -> list[tuple[Site, ParcelResult]]:
    """The sites in rank order, each with its id (S1, S2…) and its review under that id: pass before
    conditional, then by score as computed, not as shown (a conditional site's hundred square metres of
    warning cost thousandths of a point: rounded, such sites tied and kept the order they were placed in)."""
    out = []
    ordered = sorted(scored, key=lambda entry: (entry[2].verdict != "pass", -entry[0]))
    for rank, (_, site, result) in enumerate(ordered, start=1):
        site.rank, site.id = rank, f"S{rank}"
        out.append((site, result.model_copy(update={"id": site.id})))
    return out


def sites_geojson(search: SiteSearch) -> str:
    """The sites as a GeoJSON FeatureCollection (EPSG:4490) with ``rank``, ``score``, ``area_mu``, ``verdict``…"""
    features = [
        {"type": "Feature", "id": s.id, "properties": s.model_dump(exclude={"geometry"}), "geometry": s.geometry}
        for s in search.sites
    ]
    return json.dumps({"type": "FeatureCollection", "features": features}, ensure_ascii=False, indent=2)
