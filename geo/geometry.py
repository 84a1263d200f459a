"""Parcel geometry hygiene: polygons only, 2D, valid — repaired only when the
repair keeps the area, otherwise refused with the reason and where."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Literal

import geopandas as gpd
import numpy as np
import shapely

from geo.errors import GeometryError, TooLargeError

REPAIR_AREA_TOLERANCE = 1e-3  # a repair may change the area by at most 0.1 %
# Where a parcel's edges meet each other (pairs of edges not next to each other in a ring) a repair has to
# re-node them; GEOS's repair time grows faster than their number (a 41-point star, 759 crossings: 0.6 s;
# 151 points: 58 s and gigabytes). A drawing error crosses itself a few times; past this many, refused.
REPAIR_MAX_CROSSINGS = 200
# Edges meeting at vertices they share add no node to re-node, but every pair is work, and rings drawn over
# each other (copies stacked up) meet pairwise: their pairs grow as the square of their number. Lots drawn
# side by side meet 9 to 13 other edges an edge on average (12.5 in a grid whose corners four lots share; 13
# for eight lots round one point), eight stacked copies of a ring 23. Past this many: refused.
REPAIR_MAX_MEETINGS_PER_EDGE = 24
PAIRS_AT_A_TIME = 1_000_000  # edge pairs the crossing count holds at once (bounded memory)
PROBES_PER_EDGE = 8  # boxes the crossing count may look up to size its runs, per edge counted
POLYGONAL = (shapely.GeometryType.POLYGON, shapely.GeometryType.MULTIPOLYGON)
# how a location in a refusal is written: a 坐标 text's own order (X the northing, first), a projected
# CRS's easting and northing, a geographic one's longitude and latitude
AxisOrder = Literal["coordinate text", "projected", "geographic"]
_LOCATED = re.compile(r"^(?P<what>.*?)\s*\[(?P<x>\S+) (?P<y>\S+)\]$")


def polygonal_part(geom: shapely.Geometry) -> shapely.Geometry:
    """Keep only the polygons of a geometry (intersections may add lines and points)."""
    if shapely.get_type_id(geom) in POLYGONAL:
        return geom
    polys = _polygons(_simple_parts(geom))
    return shapely.union_all(polys) if len(polys) else shapely.Polygon()


def _simple_parts(geom: shapely.Geometry) -> np.ndarray:
    """The polygons, lines and points of a geometry: multi-part ones and collections (within
    collections too) opened."""
    parts: np.ndarray = shapely.get_parts(geom)
    while (nested := shapely.get_type_id(parts) >= shapely.GeometryType.MULTIPOINT).any():
        parts = np.concatenate([parts[~nested], shapely.get_parts(parts[nested])])
    return parts


def _drawn_parts(geom: shapely.Geometry) -> np.ndarray:
    """The non-empty polygons, lines and points of a geometry collection: what a parcel of it is read from."""
    parts = _simple_parts(geom)
    drawn: np.ndarray = parts[~shapely.is_empty(parts)]
    return drawn


def left_out_parts(geoms: np.ndarray) -> dict[int, list[str]]:
    """Where a geometry collection holds polygons (``_clean_parcel`` reads it as them), the kinds of its other
    parts, a point or line of no area left out: by the position of each such geometry. A KML MultiGeometry
    or a GeoJSON GeometryCollection of a polygon and a point lost the point unsaid (probe)."""
    found: dict[int, list[str]] = {}
    for k in np.flatnonzero(shapely.get_type_id(geoms) == shapely.GeometryType.GEOMETRYCOLLECTION).tolist():
        parts = _drawn_parts(geoms[k])
        if 0 < len(_polygons(parts)) < len(parts):
            found[k] = sorted(p.geom_type for p in parts if p.geom_type != "Polygon")
    return found


def polygons_drawn(geom: shapely.Geometry) -> shapely.Geometry:
    """Every polygon of a geometry (of a collection's too) as one multipolygon, as drawn: no union, no
    repair (GEOS calls that cost as the parts do), for an estimate of what they will cost."""
    return shapely.multipolygons(_polygons(_simple_parts(geom)))


def _polygons(parts: np.ndarray) -> np.ndarray:
    polygons: np.ndarray = parts[shapely.get_type_id(parts) == shapely.GeometryType.POLYGON]
    return polygons


def _ring_area(geom: shapely.Geometry) -> float:
    """Area a planner drew: outer rings minus holes, by the shoelace formula per ring.

    This is what the parcel is meant to cover even when the rings cross, so it is
    the yardstick a repair must keep.
    """
    total = 0.0
    for poly in shapely.get_parts(geom):
        total += shapely.Polygon(poly.exterior).area
        total -= sum(shapely.Polygon(r).area for r in poly.interiors)
    return total


def _repaired(geom: shapely.Geometry) -> shapely.Geometry | None:
    """The invalid polygon made valid with the area it was drawn with, else None. GEOS reads it two ways:
    its structure (the union of its parts less their holes: parts drawn side by side, such as a site's
    adjacent lots, whose shared borders the other reading cancels out, leaving a checkerboard) and its
    linework (the faces its edges enclose: a ring looping round a hole keeps the hole). The reading
    nearer the drawn area stands (a lot drawn twice inside the site is no hole), structure when equal."""
    drawn = _ring_area(geom)
    if drawn <= 0:
        return None
    readings = (polygonal_part(shapely.make_valid(geom, method=m)) for m in ("structure", "linework"))
    nearest = min((r for r in readings if not r.is_empty), key=lambda r: abs(r.area - drawn), default=None)
    if nearest is None or abs(nearest.area - drawn) > REPAIR_AREA_TOLERANCE * drawn:
        return None
    return nearest


def _tangle(geom: shapely.Geometry) -> str | None:
    """Why the invalid polygon is too tangled to repair, before any repair is tried: "crossings" when its
    edges cross each other more than ``REPAIR_MAX_CROSSINGS`` times (within a ring, pairs of edges that
    meet and are not neighbours; between rings, pairs that meet away from a vertex both have), "stacked"
    when its edges meet more than ``REPAIR_MAX_MEETINGS_PER_EDGE`` others each on average, shared
    vertices included (rings drawn over each other); else None. Counted against an STRtree of the edges a
    run at a time, so that a hostile drawing is found out after its first edges, in bounded memory."""
    xy, ring = shapely.get_coordinates(shapely.get_rings(shapely.get_parts(geom)), return_index=True)
    edge = np.flatnonzero((ring[1:] == ring[:-1]) & (xy[1:] != xy[:-1]).any(axis=1))  # a repeated point is none
    if len(edge) == 0:  # every point the same: nothing to cross (the repair finds no area)
        return None
    start, end = xy[edge], xy[edge + 1]
    edges = shapely.linestrings(np.stack([start, end], axis=1))
    ring = ring[edge]
    n = np.bincount(ring)[ring]  # edges in each edge's ring
    at = np.arange(len(edge)) - np.searchsorted(ring, ring)  # its place in the ring
    tree = shapely.STRtree(edges)
    most_meetings = max(2 * REPAIR_MAX_CROSSINGS, REPAIR_MAX_MEETINGS_PER_EDGE * len(edges))
    ends = [(start, start), (start, end), (end, start), (end, end)]  # the ways two edges can share a vertex
    crossed = met = 0  # edge pairs, each found from both its edges
    for run in _runs_of_bounded_pairs(edges, tree):
        mine, other = tree.query(edges[run], predicate="intersects")
        mine += run.start
        met += int((mine != other).sum())
        same = ring[mine] == ring[other]
        gap = (at[other] - at[mine]) % n[mine]
        crossed += int((same & (gap > 1) & (gap != n[mine] - 1)).sum())
        mine, other = mine[~same], other[~same]
        shared = np.any([(a[mine] == b[other]).all(axis=1) for a, b in ends], axis=0)  # a vertex both rings have
        crossed += int((~shared).sum())
        if crossed / 2 > REPAIR_MAX_CROSSINGS:
            return "crossings"
        if met > most_meetings:
            return "stacked"
    return None


def _runs_of_bounded_pairs(edges: np.ndarray, tree: shapely.STRtree) -> Iterator[slice]:
    """Runs of consecutive edges that meet at most ``PAIRS_AT_A_TIME`` edges' boxes in all: a run's
    partners lie in its bounding box, so ``k`` edges whose box holds ``m`` boxes have at most k·m pairs.
    Runs grow from one edge (a hostile drawing is found out at its first edges) to the size safe for the
    worst case, every edge meeting every other (one edge at a time past a million edges), and do not
    shrink below it; a longer one is looked up first, as long as the lookups have cost under
    ``PROBES_PER_EDGE`` boxes per edge counted. A ring's edges follow each other closely, so
    its runs grow to about a thousand edges; parts listed in no order, whose every run spans the
    drawing, stop being looked up."""
    safe = max(1, PAIRS_AT_A_TIME // len(edges))
    first, size, budget = 0, 1, 0
    while first < len(edges):
        size = min(2 * size, len(edges) - first)
        while size > safe:
            if budget < 0:
                size = safe
                break
            near = len(tree.query(shapely.box(*shapely.total_bounds(edges[first : first + size]))))
            budget -= size + near
            if size * near <= PAIRS_AT_A_TIME:
                break
            size = max(safe, size // 2)
        run = slice(first, min(first + size, len(edges)))
        yield run
        budget += PROBES_PER_EDGE * (run.stop - run.start)
        first = run.stop


def check_size(frame: gpd.GeoDataFrame, *, max_parcels: int, max_vertices: int) -> gpd.GeoDataFrame:
    """Refuse more parcels or vertices than configured, before any geometry work is spent on them."""
    if len(frame) > max_parcels:
        raise TooLargeError(
            f"{len(frame)} parcels; the limit is {max_parcels}", f"地块数 {len(frame)} 超过上限 {max_parcels}"
        )
    vertices = int(shapely.get_num_coordinates(frame.geometry.values).sum())
    if vertices > max_vertices:
        raise TooLargeError(
            f"{vertices} vertices; the limit is {max_vertices}", f"顶点数 {vertices} 超过上限 {max_vertices}"
        )
    return frame


def axis_order(frame: gpd.GeoDataFrame | gpd.GeoSeries) -> AxisOrder:
    """How a location in the parcels' refusal is written: read from a 坐标 text (its header kept in the frame's
    attrs), in the file's own order, X (the northing) first; otherwise by the CRS's kind."""
    if frame.attrs.get("coordinate_header") is not None:
        return "coordinate text"
    crs = frame.crs
    return "geographic" if crs is not None and crs.is_geographic else "projected"


def located(reason: str, order: AxisOrder) -> tuple[str, str]:
    """GEOS's reason (``Self-intersection[39465150 3917750]``: easting first) with its location's axes named,
    in English and Chinese. A 坐标 text lists X (the northing) first: a surveyor told the bare
    ``[easting northing]`` looked for the wrong point (probe)."""
    match = _LOCATED.match(reason)
    if match is None:
        return reason, reason
    what, x, y = match["what"], match["x"], match["y"]
    if order == "coordinate text":
        return (
            f"{what} at X={y} (northing, 北坐标), Y={x} (easting, 东坐标)",
            f"{what}，位置 X={y}（北坐标）、Y={x}（东坐标）",
        )
    if order == "geographic":
        return f"{what} at longitude {x}, latitude {y}", f"{what}，位置 经度 {x}、纬度 {y}"
    return (
        f"{what} at easting {x} (东坐标), northing {y} (北坐标)",
        f"{what}，位置 东坐标 {x}、北坐标 {y}",
    )


def clean_parcels(frame: gpd.GeoDataFrame | gpd.GeoSeries, ids: list[str]) -> tuple[np.ndarray, list[bool]]:
    """2D, valid polygon geometries (in the frame's CRS, as an array) and a per-parcel ``repaired`` flag.

    The parcels that are plainly fine (valid, finite, non-empty polygons of some area: a batch's all
    but a few) are found and normalised in a few vectorised calls; only the others go one by one
    through the checks and repairs (``_clean_parcel``), in input order, so the first bad one is named,
    where it is wrong said in the axes of the input (``axis_order``)."""
    geoms = np.asarray(shapely.force_2d(frame.geometry.values), dtype=object)
    if len(ids) != len(geoms):
        raise ValueError(f"{len(ids)} ids for {len(geoms)} parcels")
    coords, owner = shapely.get_coordinates(geoms, return_index=True)
    finite = np.ones(len(geoms), dtype=bool)
    finite[owner[~np.isfinite(coords).all(axis=1)]] = False
    types = shapely.get_type_id(geoms)  # compared, not ``np.isin``: its setup alone is a single parcel's 50 µs
    plain = ((types == POLYGONAL[0]) | (types == POLYGONAL[1])) & ~shapely.is_empty(geoms) & finite
    plain[plain] = shapely.is_valid(geoms[plain]) & (shapely.area(geoms[plain]) > 0)
    out = np.empty(len(geoms), dtype=object)
    out[plain] = shapely.normalize(geoms[plain])
    repaired = [False] * len(geoms)
    bad = np.flatnonzero(~plain).tolist()
    order = axis_order(frame) if bad else "projected"
    for k in bad:
        out[k], repaired[k] = _clean_parcel(ids[k], geoms[k], order)
    return out, repaired


def _flat(geom: shapely.Geometry) -> bool:
    """Whether every part's outline encloses nothing: its points on one line, or one point repeated. GEOS calls
    such a ring a "Self-intersection" (or "Too few points"), which sent the planner looking for a crossing
    (probe); a part of no area beside others of some is left to the repair, which drops it, keeping the area."""
    shells = shapely.get_exterior_ring(shapely.get_parts(geom))
    return bool((shapely.area(shapely.convex_hull(shells)) == 0).all())


def _clean_parcel(
    pid: str, geom: shapely.Geometry | None, order: AxisOrder = "projected"
) -> tuple[shapely.Geometry, bool]:
    """One parcel's geometry checked, repaired where that keeps its drawn area, normalised; a clear
    error otherwise."""
    if geom is None or shapely.is_empty(geom):
        raise GeometryError(f"parcel {pid}: geometry is empty", f"地块 {pid}：几何为空")
    fixed = False
    if shapely.get_type_id(geom) == shapely.GeometryType.GEOMETRYCOLLECTION:
        # its polygons are the parcel, as a multipolygon (parts that overlap are repaired below, if
        # that keeps the drawn area); a line or point in it has no area, left out and said so (repaired)
        parts = _drawn_parts(geom)
        polygons = _polygons(parts)
        if not len(polygons):
            raise GeometryError(
                f"parcel {pid}: the geometry collection holds no polygon",
                f"地块 {pid}：几何集合中没有面",
            )
        geom = polygons[0] if len(polygons) == 1 else shapely.multipolygons(polygons)
        fixed = len(polygons) < len(parts)
    if shapely.get_type_id(geom) not in POLYGONAL:
        raise GeometryError(
            f"parcel {pid}: a parcel must be a polygon, got {geom.geom_type}",
            f"地块 {pid}：地块必须是面，实际为 {geom.geom_type}",
        )
    if not np.isfinite(shapely.get_coordinates(geom)).all():
        raise GeometryError(f"parcel {pid}: coordinates contain NaN or infinity", f"地块 {pid}：坐标含非数值")
    if not shapely.is_valid(geom) and _flat(geom):
        raise GeometryError(
            f"parcel {pid}: polygon has no area: its points lie on one line or repeat one point",
            f"地块 {pid}：面积为零，界址点共线或重复",
        )
    if not shapely.is_valid(geom):
        reason, reason_zh = located(shapely.is_valid_reason(geom), order)
        tangle = _tangle(geom)
        if tangle == "crossings":
            raise GeometryError(
                f"parcel {pid}: invalid geometry whose edges cross or overlap each other more than "
                f"{REPAIR_MAX_CROSSINGS} times: not repaired, fix the drawing ({reason})",
                f"地块 {pid}：几何无效，边界自相交或重叠超过 {REPAIR_MAX_CROSSINGS} 处，"
                f"不予自动修复，请修正图形（{reason_zh}）",
                where=reason,
            )
        if tangle == "stacked":
            raise GeometryError(
                f"parcel {pid}: invalid geometry whose parts or rings lie over each other (each edge meets "
                f"more than {REPAIR_MAX_MEETINGS_PER_EDGE} others on average): not repaired, fix the drawing "
                f"({reason})",
                f"地块 {pid}：几何无效，各部分或各环相互叠压（平均每条边与超过 {REPAIR_MAX_MEETINGS_PER_EDGE} "
                f"条边相交），不予自动修复，请修正图形（{reason_zh}）",
                where=reason,
            )
        candidate = _repaired(geom)
        if candidate is None:
            raise GeometryError(
                f"parcel {pid}: invalid geometry that cannot be repaired without changing its area: {reason}",
                f"地块 {pid}：几何无效且无法在保持面积的前提下修复：{reason_zh}",
                where=reason,
            )
        geom, fixed = candidate, True
    if geom.area <= 0:
        raise GeometryError(f"parcel {pid}: polygon has zero area", f"地块 {pid}：面积为零")
    return shapely.normalize(geom), fixed
