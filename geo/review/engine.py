"""Run a profile over parcels: the ten-point siting review (落地可行性审查)."""

from __future__ import annotations

import json
import logging
import math
import threading
import unicodedata
import uuid
from collections import Counter, defaultdict, deque
from collections.abc import Callable, Collection, Generator, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import closing
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import shapely
from pydantic import TypeAdapter, ValidationError
from shapely.strtree import STRtree

from geo.blueprint import Blueprint, VectorLayer
from geo.catalog import landuse_class, layer_catalog
from geo.crs import (
    CGCS2000,
    M2_PER_MU,
    Area,
    approximate_datum,
    check_coordinates,
    gk3_epsg_for_longitude,
    percent,
    reproject,
)
from geo.errors import GeometryError, InputError, TooLargeError, validation_zh
from geo.geometry import POLYGONAL, clean_parcels, polygons_drawn
from geo.overlay import Pieces, bulk_pieces
from geo.raster import parcel_pixels
from geo.review.profile import (
    Check,
    Found,
    Item,
    LandUseClassesCheck,
    OverlapCheck,
    Profile,
    RasterShareAboveCheck,
    ZoneCompatibleCheck,
    load_profile,
)
from geo.review.result import (
    MAX_ID_CHARS,
    County,
    CountyPart,
    ItemFacts,
    ItemResult,
    LandQuota,
    ParcelResult,
    PieceResult,
    ProjectAttributes,
    ReviewResult,
    ToleranceRule,
    is_declared_area,
    standing_conditions,
)
from geo.review.rules import Outcome, ParcelContext, Piece, ProjectTotal, run_check
from geo.threads import CORES, gc_paused, short_switches
from geo.vocabulary import (
    BEYOND_COVERAGE_ZH,
    check_facility,
    check_project_type,
    first_few,
    hidden_character,
    id_text,
    is_blank,
    line_fault,
    verdict_of,
    worst,
)

log = logging.getLogger(__name__)

Progress = Callable[[int, int], None]
CHUNK_PARCELS = 2000  # parcels overlaid together: bounds the pieces held in memory at once
PIPELINE_CHUNKS = 8  # chunks of a pipelined batch: the first overlay and the last grading run alone
PIPELINE_CHUNK_MIN = 50  # each chunk costs a pass over the layers
PIPELINE_TAIL_MIN = 16  # the batch's last chunk is halved down to this: its grading runs alone
OVERLAPS_COUNTED = 1_000  # pairs of a batch's parcels overlapping one another counted before "or more"
OVERLAP_PAIRS_AT_A_TIME = 4_096  # candidate pairs whose shared area is measured at once
OVERLAP_QUERY_PARCELS = 256  # parcels whose boxes are queried at once for the overlap warning


def parcel_ids(frame: gpd.GeoDataFrame) -> list[str]:
    """A parcel's ``id`` property (地块编号) as written (``id_text``: 5 stays "5" in a column pandas made float),
    else its 1-based position; ids must be unique, single-line and short: they link the review to the ledger
    and the 地块编号 records, and head the parcel's paragraph in every paper."""
    given = frame["id"].tolist() if "id" in frame.columns else [None] * len(frame)
    odd = [v for v in given if isinstance(v, dict | list | bool) or (isinstance(v, float) and math.isinf(v))]
    if odd:  # {"a": 1} became the id "{'a': 1}", 1e309 the id "inf"
        raise InputError(
            f"parcel ids must be text or numbers, not {str(odd[0])[:40]!r}",
            f"地块编号须为文本或数字，不能是 {str(odd[0])[:40]!r}",
        )

    def one(value: Any, position: int) -> str:  # a number that may have lost digits is refused, naming the parcel
        if is_blank(value):
            return str(position)
        try:
            return id_text(value)
        except InputError as exc:
            raise InputError(
                f"parcel {position}'s id: {exc.message_en}", f"第 {position} 个地块的编号：{exc.message_zh}"
            ) from exc

    ids = [one(v, n) for n, v in enumerate(given, start=1)]
    too_long = [i for i in ids if len(i) > MAX_ID_CHARS]
    if too_long:
        raise InputError(
            f"parcel ids of more than {MAX_ID_CHARS} characters: {[i[:40] + '…' for i in too_long[:3]]!r}",
            f"地块编号超过 {MAX_ID_CHARS} 个字符：{[i[:40] + '…' for i in too_long[:3]]!r}",
        )
    unprintable = [(i, fault) for i in ids if (fault := line_fault(i) or _hidden(i)) is not None]
    if unprintable:
        shown, (en, zh) = [i for i, _ in unprintable[:5]], unprintable[0][1]
        raise InputError(
            f"parcel ids must be one line of printable text: {shown!r} ({en})",
            f"地块编号须为单行可打印文字：{shown!r}（含有{zh}）",
        )
    # two ids that print alike are one: Dé typed precomposed and as e + U+0301 were two parcels (probe)
    printed = Counter(unicodedata.normalize("NFC", i) for i in ids)
    dupes = sorted(i for i in dict.fromkeys(ids) if printed[unicodedata.normalize("NFC", i)] > 1)
    if dupes:
        unnamed = [pid for pid, v in zip(ids, given, strict=True) if pid in dupes and is_blank(v)]
        why_en = f" (parcel(s) {unnamed} have no id and were numbered by position)" if unnamed else ""
        why_zh = f"（地块 {unnamed} 未填编号，按序号编号）" if unnamed else ""
        raise InputError(f"duplicate parcel ids: {dupes}{why_en}", f"地块编号重复：{dupes}{why_zh}")
    return ids


def _hidden(parcel_id: str) -> tuple[str, str] | None:
    """An invisible character in a parcel id, named (English, Chinese), or None: D0\u200b1 beside D01 passed the
    duplicate check and printed as it in every paper (probe)."""
    char = hidden_character(parcel_id)
    return None if char is None else (f"an invisible character U+{ord(char):04X}", f"不可见字符 U+{ord(char):04X}")


def project_attributes(
    frame: gpd.GeoDataFrame, overrides: dict[str, Any] | None, ids: list[str] | None = None
) -> list[ProjectAttributes]:
    """Each parcel's project attributes; an error names the parcel of several (by ``ids``, else its
    position): in a batch of 2,000 the one at fault is otherwise a search."""
    columns = set(frame.columns) - {frame.active_geometry_name}
    present = [f for f in ProjectAttributes.model_fields if f in columns]
    values = {f: frame[f].tolist() for f in present}  # column by column: no frame of records per call
    if overrides:
        overrides = as_applied(overrides)
    out = []
    for row in range(len(frame)):
        given = {f: values[f][row] for f in present if not is_blank(values[f][row])}
        try:
            out.append(project_of(given | (overrides or {})))
        except InputError as exc:
            if len(frame) == 1:
                raise
            pid = ids[row] if ids is not None else str(row + 1)
            raise type(exc)(f"parcel {pid}: {exc.message_en}", f"地块 {pid}：{exc.message_zh}") from exc
    return out


SHOWN_VALUE_CHARS = 60  # of a bad value, echoed in its error


def as_applied(overrides: dict[str, Any]) -> dict[str, Any]:
    """Values given for every parcel (flags, query fields) as a review applies them over each parcel's own: a 工程类别
    without a type sets the type it implies too. A bad value is refused as the flag's, no parcel's."""
    flags = project_of(overrides)
    if flags.facility and not overrides.get("project_type"):
        return {**overrides, "project_type": flags.project_type}
    return overrides


def project_of(given: dict[str, Any]) -> ProjectAttributes:
    """The project's attributes from what was given (a parcel's properties, flags, a site search); an
    input error names each bad field with the value it was given (a flag's, not the file's)."""
    # closed lists, named; a 工程类别 implies its project type
    facility, ptype = check_facility(given.get("facility"), check_project_type(given.get("project_type")))
    merged = {**given, "project_type": ptype, "facility": facility}
    try:
        return ProjectAttributes.model_validate(merged)
    except ValidationError as exc:
        en, zh = [], []
        for e in exc.errors():
            shown = repr(e.get("input"))  # cut: a 3 MB name came back three times in a 9 MB answer (probe)
            shown = shown if len(shown) <= SHOWN_VALUE_CHARS else f"{shown[: SHOWN_VALUE_CHARS - 1]}…"
            where, cause = f"{'.'.join(map(str, e['loc']))}={shown}", (e.get("ctx") or {}).get("error")
            # a validator's own words, else pydantic's: in Chinese by the error's type (validation_zh)
            en.append(f"{where}: {cause.message_en if isinstance(cause, InputError) else e['msg']}")
            zh.append(f"{where}：{validation_zh(e)}")
        raise InputError(f"bad project attributes: {'; '.join(en)}", f"项目属性不合法：{'；'.join(zh)}") from exc


def project_totals(ids: list[str], attrs: list[ProjectAttributes], areas: np.ndarray) -> dict[str, ProjectTotal]:
    """Projects with several parcels in this review: their summed GK area and investment."""
    members: dict[str, list[int]] = defaultdict(list)
    for i, a in enumerate(attrs):
        if a.project_id:
            members[a.project_id].append(i)
    totals = {}
    for pid, idx in members.items():
        if len(idx) > 1:
            given = [v for i in idx if (v := attrs[i].investment_wan) is not None]
            totals[pid] = ProjectTotal(
                pid, [ids[i] for i in idx], float(areas[idx].sum()), sum(given) if given else None
            )
    return totals


def _in_zones(geoms: np.ndarray, crs: Any, zones: np.ndarray) -> np.ndarray:
    """Each parcel in its GK zone (``zones``: its EPSG), where its areas are measured."""
    out = np.empty(len(geoms), dtype=object)
    for epsg in np.unique(zones).tolist():
        at = np.flatnonzero(zones == epsg)
        out[at] = reproject(geoms[at], crs, epsg)
    return out


def _refuse_specks(ids: list[str], areas: np.ndarray, profile: Profile) -> None:
    """A parcel no larger than the smallest overlap that counts (the tolerance's ``min_m2``) would pass
    every item whatever it lies in (a red line, outside the blueprint): it is no parcel, most often
    coordinates in the wrong unit, and refused."""
    specks = np.flatnonzero(areas <= profile.tolerance.min_m2)
    if len(specks):
        named = first_few([f"{ids[i]} ({areas[i]:.4g} m²)" for i in specks])
        raise GeometryError(
            f"parcel(s) {named} no larger than the {profile.tolerance.min_m2:g} m² the review counts: "
            "check the coordinates' unit and CRS",
            f"地块 {named} 面积不超过审查计量下限 {profile.tolerance.min_m2:g} m²，请核对坐标单位和坐标系",
        )


PAIR_VERTICES = 100  # a (parcel, feature) pair's fixed cost in the overlay and the rules, in vertex pairs
CROSSINGS_PER_PAIR = 40  # ``_crossings`` that cost as much as one vertex pair (combs of 2,500 to 40,000 teeth)
CROSSINGS_FROM = 1_000  # vertices from which ``_crossings`` may matter: below, at most 1,000² / 40 = 25,000
NESTED_RING_COST = 8  # per vertex of two rings of one parcel whose boxes meet (GEOS relates such rings pairwise)
NESTING_BATCH = 256  # rings whose box pairs are listed at once (bounds the pairs held for a pathological parcel)


def overlay_cost(
    projected: np.ndarray, zones: np.ndarray, blueprint: Blueprint | None, layer_ids: list[str], *, exact_above: int = 0
) -> np.ndarray:
    """Each parcel's review cost, estimated before its overlay, in vertex pairs (about 0.1 µs each on
    a 2-core EPYC, measured on jagged and smooth outlines of 2,000 to 150,000 vertices), part by part:
    its vertices and ``_edge_crowding`` once and again for each blueprint feature its outline meets
    (GEOS walks and nodes the part's edges for each feature it cuts), ``PAIR_VERTICES`` for each
    feature whose box meets the part's; then ``_crossings`` and ``_ring_nesting``. The vertex cap bounds a parcel's
    size, not this. Where the batch's total, every near feature counted as met, is at most
    ``exact_above``, that bound is given: testing the outlines costs more than a small parcel's
    review; above it, the nesting count may stop early, past the cap."""
    parts, owner = shapely.get_parts(projected, return_index=True)
    in_zone = zones[owner]
    own = shapely.get_num_coordinates(parts) + _edge_crowding(parts)
    boxes = degree_boxes(projected, zones)[owner]
    trees = {
        epsg: [
            layer.in_crs(epsg).tree
            for lid in layer_ids
            if not (layer := _vector(blueprint, lid)).misses(boxes[in_zone == epsg])
        ]
        if blueprint is not None
        else []
        for epsg in np.unique(zones).tolist()
    }
    near = np.zeros(len(parts), dtype=np.int64)
    for epsg, layers in trees.items():
        at = np.flatnonzero(in_zone == epsg)
        for tree in layers:
            near[at] += np.bincount(tree.query(parts[at])[0], minlength=len(at))
    met = near
    if (near * PAIR_VERTICES + (near + 1) * own).sum() > exact_above:
        met = np.zeros(len(parts), dtype=np.int64)
        for epsg, layers in trees.items():
            at = np.flatnonzero(in_zone == epsg)
            outlines = shapely.boundary(parts[at])
            for tree in layers:
                met[at] += np.bincount(tree.query(outlines, predicate="intersects")[0], minlength=len(at))
    per_part = near * PAIR_VERTICES + (met + 1) * own
    cost: np.ndarray = np.bincount(owner, per_part, minlength=len(projected)).astype(np.int64)
    many = np.flatnonzero(shapely.get_num_coordinates(projected) > CROSSINGS_FROM)
    cost[many] += _crossings(projected[many]) // CROSSINGS_PER_PAIR
    cost += _ring_nesting(projected, stop_above=exact_above - int(cost.sum()) if exact_above else 0)
    return cost


def degree_boxes(projected: np.ndarray, zones: np.ndarray) -> np.ndarray:
    """Each parcel's box in EPSG:4490 degrees (its envelope reprojected from its zone, ``zones``), for
    ``VectorLayer.misses``."""
    out = np.empty((len(projected), 4))
    for epsg in np.unique(zones).tolist():
        at = np.flatnonzero(zones == epsg)
        out[at] = shapely.bounds(reproject(shapely.envelope(projected[at]), epsg, CGCS2000))
    return out


def _edge_crowding(polygons: np.ndarray) -> np.ndarray:
    """Each polygon's edges times the share of its box that the boxes of its pairs of consecutive edges
    cover: about how many others each pair's box meets, were they spread evenly. GEOS nodes edges in
    monotone runs whose boxes meet pair by pair, and a spiky outline's long, thin spikes (or a comb's
    teeth) meet thousands: a star of 40,000 vertices (spikes 300 m long, 16 cm apart) took 4.8 s to
    review, a smooth outline of 150,000 0.7 s."""
    parts, of_polygon = shapely.get_parts(polygons, return_index=True)
    polygonal = shapely.get_type_id(parts) == shapely.GeometryType.POLYGON  # not yet cleaned: a collection's lines
    rings, of_part = shapely.get_rings(parts[polygonal], return_index=True)
    xy, of_ring = shapely.get_coordinates(rings, return_index=True)
    owner = of_polygon[polygonal][of_part[of_ring]]
    window = np.stack([xy[:-2], xy[1:-1], xy[2:]])  # three vertices in a row: two edges
    boxes = (window.max(axis=0) - window.min(axis=0)).prod(axis=1) * (of_ring[2:] == of_ring[:-2])  # in one ring
    x1, y1, x2, y2 = shapely.bounds(polygons).T
    share = np.bincount(owner[:-2], boxes, minlength=len(polygons)) / np.maximum((x2 - x1) * (y2 - y1), 1e-9)
    crowding: np.ndarray = (share * shapely.get_num_coordinates(polygons)).astype(np.int64)
    return crowding


def _crossings(polygons: np.ndarray) -> np.ndarray:
    """Each polygon's vertices weighed by the edges (its own, every part's and ring's) that the line
    through each vertex meets, across or along, the larger of the two sums. GEOS locates points and
    edges through indexes of edges' extents, each lookup checking every edge whose extent spans the
    point: a comb's 20,000 teeth 1 km deep put 40,000 edges on the line through each of its 80,000
    vertices (12.3 s to review; its edges are short, so ``_edge_crowding`` sees nothing). A polygon of
    n vertices comes to at most n², so only those above ``CROSSINGS_FROM`` are weighed."""
    parts, of_polygon = shapely.get_parts(polygons, return_index=True)
    polygonal = shapely.get_type_id(parts) == shapely.GeometryType.POLYGON  # not yet cleaned: a collection's lines
    rings, of_part = shapely.get_rings(parts[polygonal], return_index=True)
    xy, of_ring = shapely.get_coordinates(rings, return_index=True)
    owner = of_polygon[polygonal][of_part[of_ring]]
    edge = of_ring[1:] == of_ring[:-1]  # two vertices in a row of one ring
    bounds = shapely.bounds(polygons)
    out = np.zeros(len(polygons), dtype=np.int64)
    for axis in (0, 1):
        low, span = bounds[owner, axis], np.maximum(bounds[owner, axis + 2] - bounds[owner, axis], 1e-9)
        key = owner + (xy[:, axis] - low) / span * 0.5  # each polygon's vertices within [its index, + 0.5]
        a, b = key[:-1][edge], key[1:][edge]
        starts, ends = np.sort(np.minimum(a, b)), np.sort(np.maximum(a, b))
        met = np.searchsorted(starts, key, "right") - np.searchsorted(ends, key, "left")
        out = np.maximum(out, np.bincount(owner, met, minlength=len(polygons)).astype(np.int64))
    return out


def _ring_nesting(polygons: np.ndarray, *, stop_above: int = 0) -> np.ndarray:
    """Each polygon's pairs of rings (shells and holes of all its parts) whose boxes meet, weighed by
    their vertices (``NESTED_RING_COST``): GEOS checks such rings against each other, and rings nested
    in one another all meet (700 nested square annuli, 7,000 vertices, took 7.9 s to review; 850, 23 s).
    Counting stops once the total passes ``stop_above`` (if set), the parcels counted so far holding it."""
    parts, of_polygon = shapely.get_parts(polygons, return_index=True)
    polygonal = shapely.get_type_id(parts) == shapely.GeometryType.POLYGON  # not yet cleaned: a collection's lines
    rings, of_part = shapely.get_rings(parts[polygonal], return_index=True)
    owner = of_polygon[polygonal][of_part]
    vertices = shapely.get_num_coordinates(rings)
    out = np.zeros(len(polygons), dtype=np.int64)
    if len(np.unique(owner)) == len(owner):  # one ring a parcel (most batches): no pair
        return out
    # each parcel's ring boxes moved along x to a span of their own, so that only a parcel's own rings
    # meet (2,000 parcels stacked on one another must not make 2,000² pairs to drop)
    box, own = shapely.bounds(rings), shapely.bounds(polygons)[owner]
    span = np.nanmax(own[:, 2] - own[:, 0]) + 1.0
    shift = owner * span - own[:, 0]
    boxes = shapely.box(box[:, 0] + shift, box[:, 1], box[:, 2] + shift, box[:, 3])
    tree = STRtree(boxes)
    for lo in range(0, len(rings), NESTING_BATCH):
        a, b = tree.query(boxes[lo : lo + NESTING_BATCH])
        a += lo
        pair = (a < b) & (owner[a] == owner[b])
        weight = (vertices[a] + vertices[b])[pair] * NESTED_RING_COST
        out += np.bincount(owner[a[pair]], weight, minlength=len(out)).astype(np.int64)
        if stop_above and out.sum() > stop_above:
            break
    return out


def _refuse_costly(ids: list[str], cost: np.ndarray, max_cost: int) -> int:
    """The batch's total ``overlay_cost``, refused above a service's cap: a review that would hold a
    worker for long is refused before any parcel is cut."""
    total = int(cost.sum())
    if total <= max_cost:
        return total
    costliest = np.argsort(-cost, kind="stable")[:3]
    named = ", ".join(f"{ids[i]} ({int(cost[i]):,})" for i in costliest)
    raise TooLargeError(
        f"too costly to review here: an estimated {total:,} vertex pairs (the limit is {max_cost:,}; "
        f"costliest parcels: {named}); simplify the outlines (fewer vertices, no spikes or rings nested in "
        "one another), send fewer parcels at a time, or review offline with `lantu review`",
        f"审查计算量过大：估计 {total:,} 个顶点对（上限 {max_cost:,}；最大的地块：{named}）。"
        "请简化界址（减少拐点，避免尖刺和层层嵌套的环）、分批提交，或离线使用 `lantu review` 审查",
    )


def review_cost(
    parcels: gpd.GeoDataFrame,
    blueprint: Blueprint,
    *,
    profile: str | Profile = "ten-point",
    data_dir: Path | None = None,
    max_cost: int,
) -> int:
    """What reviewing ``parcels`` is estimated to cost (``overlay_cost``, in vertex pairs), and refused
    for above ``max_cost`` (``TooLargeError``): what ``review(…, max_cost=…)`` checks first. A service
    estimates a batch on its worker's thread, then reviews a costly one where it can be stopped."""
    prof = _applicable(load_profile(profile, data_dir=data_dir) if isinstance(profile, str) else profile, blueprint)
    shapes = parcels.geometry
    check_coordinates(shapes)
    return estimate_as_drawn(parcel_ids(parcels), shapes, blueprint, layers_needed(prof, blueprint), max_cost)


def estimate_as_drawn(
    ids: list[str], shapes: gpd.GeoSeries, blueprint: Blueprint | None, layer_ids: list[str], max_cost: int
) -> int:
    """The parcels' ``overlay_cost`` as they came, refused above ``max_cost``: before GEOS checks or
    repairs them, which may cost as much as their review (a comb's validity check, nested rings): a
    collection by its polygons. What holds no polygon, or not a finite one, costs nothing here:
    ``clean_parcels`` refuses it."""
    raw = np.asarray(shapely.force_2d(shapes.values), dtype=object)
    collections = shapely.get_type_id(raw) == shapely.GeometryType.GEOMETRYCOLLECTION
    raw[collections] = [polygons_drawn(g) for g in raw[collections]]
    types = shapely.get_type_id(raw)
    box = shapely.bounds(raw)
    polygons = ((types == POLYGONAL[0]) | (types == POLYGONAL[1])) & np.isfinite(box).all(axis=1)
    cost = np.zeros(len(raw), dtype=np.int64)
    if polygons.any():
        # by the boxes' centres: a polygon not yet repaired may have no centroid (a bow-tie's halves cancel out)
        boxes = shapely.envelope(raw[polygons])
        zones = parcel_zones(boxes, shapes.crs, blueprint.gk_zone_epsg if blueprint is not None else None)
        projected = _in_zones(raw[polygons], shapes.crs, zones)
        cost[polygons] = overlay_cost(projected, zones, blueprint, layer_ids, exact_above=max_cost)
    return _refuse_costly(ids, cost, max_cost)


def review(
    parcels: gpd.GeoDataFrame,
    blueprint: Blueprint,
    *,
    profile: str | Profile = "ten-point",
    project: dict[str, Any] | None = None,
    progress: Progress | None = None,
    pieces: bool = True,
    workers: int | None = None,
    data_dir: Path | None = None,
    max_cost: int | None = None,
) -> ReviewResult:
    """Review every parcel against the blueprint; ``project`` overrides per-parcel attributes.

    Parcels go through each layer together (per GK zone, in chunks) in one bulk overlay.
    ``workers`` (default: every core) bounds the threads: with more than one, the overlay of
    the next chunk runs while the rules grade the current one (``_in_process``); with one,
    everything runs on the calling thread (a dask worker's setting). ``pieces=False`` leaves
    the pieces' geometries out of the result: a lean batch output. ``max_cost`` (a service's cap)
    refuses parcels whose ``overlay_cost`` exceeds it, before any is cut.
    """
    return reviewing(
        parcels,
        blueprint,
        profile=profile,
        project=project,
        progress=progress,
        pieces=pieces,
        workers=workers,
        data_dir=data_dir,
        max_cost=max_cost,
    ).result()


@dataclass(frozen=True)
class Reviewing:
    """A batch under review (``reviewing``): its result's header, known before any parcel is graded
    (``parcels`` empty), and the parcels' results chunk by chunk in input order, graded as they are
    drawn. A caller that writes each chunk as it comes (``lantu review -o``) holds one chunk of a
    city's batch at a time, not the whole (about 90 KB per parcel without pieces)."""

    header: ReviewResult
    count: int
    chunks: Generator[list[ParcelResult], None, None]

    def result(self) -> ReviewResult:
        """The whole result: every chunk drawn (``chunks`` is drawn once) and held, the collector
        paused meanwhile (the results hold no cycles)."""
        with gc_paused():
            return self.header.model_copy(update={"parcels": [p for chunk in self.chunks for p in chunk]})


def reviewing(
    parcels: gpd.GeoDataFrame,
    blueprint: Blueprint,
    *,
    profile: str | Profile = "ten-point",
    project: dict[str, Any] | None = None,
    progress: Progress | None = None,
    pieces: bool = True,
    workers: int | None = None,
    data_dir: Path | None = None,
    max_cost: int | None = None,
) -> Reviewing:
    """``review``'s batch, its results to be drawn chunk by chunk; the input is checked here, so that
    bad parcels are refused before anything is written."""
    prof = _applicable(load_profile(profile, data_dir=data_dir) if isinstance(profile, str) else profile, blueprint)
    if len(parcels) == 0:
        raise InputError("no parcels to review", "没有需要审查的地块")
    shapes = parcels.geometry  # read once: each read of a frame's geometry builds a GeoSeries (a single parcel's cost)
    check_coordinates(shapes)
    ids = parcel_ids(parcels)
    attrs = project_attributes(parcels, project, ids)
    layer_ids = layers_needed(prof, blueprint)
    if max_cost is not None:
        estimate_as_drawn(ids, shapes, blueprint, layer_ids, max_cost)
    geoms, repaired = clean_parcels(shapes, ids)
    crs = shapes.crs
    zones = parcel_zones(geoms, crs, blueprint.gk_zone_epsg)
    projected = _in_zones(geoms, crs, zones)
    areas = shapely.area(projected)
    _refuse_specks(ids, areas, prof)
    declared = list(parcels["declared_area_ha"]) if "declared_area_ha" in parcels.columns else [None] * len(ids)
    unusable = [
        f"parcel {pid}: declared_area_ha {str(v)[:40]!r} is no area; not compared "
        f"（地块 {pid}：申报面积 {str(v)[:40]!r} 不是有效面积，未比对）"
        for pid, v in zip(ids, declared, strict=True)
        if not is_blank(v) and not is_declared_area(v)
    ]
    totals = project_totals(ids, attrs, areas)
    batch = _Batch(
        projected,
        ids,
        attrs,
        repaired,
        declared,
        totals,
        prof,
        blueprint,
        layer_ids,
        _rasters_needed(prof, blueprint),
        pieces,
        ClearItems.of(prof),
        degree_boxes(projected, zones),
    )
    tasks = _tasks(zones, workers)
    header = ReviewResult(
        review_id=uuid.uuid4().hex,
        profile=prof.name,
        blueprint=blueprint.name,
        blueprint_version=blueprint.version,
        synthetic=blueprint.synthetic,
        created=datetime.now(UTC).isoformat(timespec="seconds"),
        area_crs=f"EPSG:{blueprint.gk_zone_epsg}" if blueprint.gk_zone_epsg else "centroid_zone",
        tolerance=ToleranceRule(min_m2=prof.tolerance.min_m2, ratio=prof.tolerance.ratio, strict=_strict_rule(prof)),
        parcels=[],
        warnings=[
            *parcels.attrs.get("warnings", []),
            *filter(None, [approximate_datum(crs)]),
            *unusable,
            *_untyped(ids, attrs),
            *_overlapping_parcels(ids, projected, zones, prof.tolerance.min_m2),
        ],
    )
    return Reviewing(header, len(ids), _in_order(batch, tasks, workers, progress))


def _overlapping_parcels(ids: list[str], projected: np.ndarray, zones: np.ndarray, min_m2: float) -> list[str]:
    """A warning naming the parcels of the batch that overlap one another by more than ``min_m2``: each is
    reviewed, and its land figures counted, in full (five copies of one parcel asked five times its quota: probe;
    the ledger refuses the second reservation of the same land, the batch's figures do not). Up to
    ``OVERLAPS_COUNTED`` pairs are counted (``_overlaps``)."""
    pairs: list[tuple[str, str, float]] = []
    stopped = False
    for found in _overlaps(ids, projected, zones, min_m2):
        pairs += found
        stopped = len(pairs) >= OVERLAPS_COUNTED
        if stopped:
            break
    if not pairs:
        return []
    shown = first_few([f"{p} / {q} ({Area(m2).m2_text} m²)" for p, q, m2 in pairs], 3)
    en, zh = (f"{len(pairs)} or more", f"至少 {len(pairs)}") if stopped else (f"{len(pairs)}", f"{len(pairs)}")
    return [
        f"{en} pair(s) of parcels overlap one another ({shown}): each parcel is reviewed and its land counted "
        f"in full, the land they share once for each（{zh} 对地块相互重叠（{shown}）：每个地块均按全部面积审查和核算，"
        "重叠部分重复计算）"
    ]


def _overlaps(
    ids: list[str], projected: np.ndarray, zones: np.ndarray, min_m2: float
) -> Iterator[list[tuple[str, str, float]]]:
    """The pairs of parcels (ids, area shared) sharing more than ``min_m2``, zone by zone, a block of candidates at
    a time, for the caller to stop at: 100,000 random parcels hold 134,117, whose intersections took 4.7 s. Past a
    zone's first block, only pairs with a parcel GEOS's coverage check finds not fitting beside the others are
    measured (100,000 parcels tiling an area: 4.1 s measuring each pair, 1.1 s so)."""
    for epsg in np.unique(zones).tolist() if len(ids) > 1 else []:
        at = np.flatnonzero(zones == epsg)
        measured, misfit = 0, None
        for a, b in _sharing_boxes(projected, at, min_m2):
            if measured >= OVERLAP_PAIRS_AT_A_TIME:  # past the first block: a tiling's parcels fit, and are left
                misfit = _misfits(projected, at) if misfit is None else misfit
                a, b = a[misfit[a] | misfit[b]], b[misfit[a] | misfit[b]]  # of one inside another, the inner one
            for k in range(0, len(a), OVERLAP_PAIRS_AT_A_TIME):
                i, j = a[k : k + OVERLAP_PAIRS_AT_A_TIME], b[k : k + OVERLAP_PAIRS_AT_A_TIME]
                measured += len(i)
                yield _shared(ids, projected, i, j, min_m2)


def _sharing_boxes(projected: np.ndarray, at: np.ndarray, min_m2: float) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """The pairs of parcels ``at`` whose boxes share more than ``min_m2`` (two parcels share no more than their
    boxes do; parcels side by side share none), as positions in ``projected``, each pair once: the boxes queried
    ``OVERLAP_QUERY_PARCELS`` parcels at a time, so that 2,000 copies of one parcel never list 2,000² pairs."""
    tree = STRtree(projected[at])
    box = shapely.bounds(projected[at])
    for s in range(0, len(at), OVERLAP_QUERY_PARCELS):
        a, b = tree.query(projected[at[s : s + OVERLAP_QUERY_PARCELS]])
        a = a + s
        w = np.minimum(box[a, 2], box[b, 2]) - np.maximum(box[a, 0], box[b, 0])
        h = np.minimum(box[a, 3], box[b, 3]) - np.maximum(box[a, 1], box[b, 1])
        near = (a < b) & (w > 0) & (h > 0) & (w * h > min_m2)
        yield at[a[near]], at[b[near]]


def _misfits(projected: np.ndarray, at: np.ndarray) -> np.ndarray:
    """Which parcels (a mask over ``projected``) of ``at`` GEOS's coverage check finds not fitting beside the others
    (an overlap, or edges not noded alike; of a parcel inside another, the inner one): parcels that tile an area
    fit."""
    misfit = np.zeros(len(projected), dtype=bool)
    misfit[at] = ~shapely.is_empty(shapely.coverage_invalid_edges(projected[at]))
    return misfit


def _shared(
    ids: list[str], projected: np.ndarray, a: np.ndarray, b: np.ndarray, min_m2: float
) -> list[tuple[str, str, float]]:
    """The pairs (ids, area shared) of parcels ``a``, ``b`` that share more than ``min_m2``."""
    shared = shapely.area(shapely.intersection(projected[a], projected[b]))
    over = shared > min_m2
    return list(zip([ids[n] for n in a[over]], [ids[n] for n in b[over]], shared[over].tolist(), strict=True))


def _untyped(ids: list[str], attrs: list[ProjectAttributes]) -> list[str]:
    """A warning for the parcels of no project type (a DXF keeps none, a plain GeoJSON may have none): each is
    graded as a general construction project, which the red line, the farmland and the zones admit least, and
    its verdict may change once the type is given."""
    untyped = [pid for pid, a in zip(ids, attrs, strict=True) if a.project_type is None]
    if not untyped:
        return []
    return [
        f"{len(untyped)} parcel(s) without a project type ({first_few(untyped)}): graded as a general construction "
        "project, which red lines, farmland and planning zones admit least; give project_type (--project-type) "
        f"for the verdict of its type（{len(untyped)} 个地块未提供项目类型（{first_few(untyped)}），按一般建设项目"
        "审查，其结论可能因项目类型而不同；请提供 project_type（--project-type））"
    ]


def _in_order(
    batch: _Batch, tasks: list[tuple[int, np.ndarray]], workers: int | None, progress: Progress | None
) -> Generator[list[ParcelResult], None, None]:
    """The batch's results in input order: chunks come zone by zone, so a parcel of a later zone
    waits for the parcels before it (a batch in one zone waits for nothing)."""
    yield from in_input_order(_in_process(batch, tasks, workers), len(batch.ids), progress)
    log.info(
        "reviewed %d parcel(s) against %r with profile %s", len(batch.ids), batch.blueprint.name, batch.profile.name
    )


def in_input_order(
    reviewed: Chunks, total: int, progress: Progress | None
) -> Generator[list[ParcelResult], None, None]:
    """Results reviewed chunk by chunk, each chunk with its parcels' positions in the input (a zone's,
    a partition's), handed on in input order as soon as every parcel before them is: the parcels
    drawn ahead of their turn wait. The collector is paused while a chunk is reviewed, not while the
    caller holds it: a caller that stops halfway (an error writing the output) leaves nothing paused."""
    done, ready = 0, 0
    waiting: dict[int, ParcelResult] = {}
    with closing(reviewed):  # a caller that stops halfway stops the review, here and now
        while True:
            with gc_paused():
                drawn = next(reviewed, None)
            if drawn is None:
                return
            chunk, found = drawn
            waiting.update(zip(chunk.tolist(), found, strict=True))
            done += len(chunk)
            if progress:
                progress(done, total)
            start = ready
            while ready in waiting:
                ready += 1
            if ready > start:
                yield [waiting.pop(i) for i in range(start, ready)]


@dataclass(frozen=True)
class _Batch:
    """What a chunk of parcels needs to be reviewed, shared by the overlay thread and the grading one."""

    projected: np.ndarray  # each parcel in its GK zone
    ids: list[str]
    attrs: list[ProjectAttributes]
    repaired: list[bool]
    declared: list[Any]
    totals: dict[str, ProjectTotal]
    profile: Profile
    blueprint: Blueprint
    layer_ids: list[str]
    raster_ids: list[str]
    pieces: bool
    clear: ClearItems  # see review_parcel
    # each parcel's box in degrees (``degree_boxes``): a layer no parcel of a chunk reaches is not cut
    boxes: np.ndarray

    def overlaying(self, epsg: int, chunk: np.ndarray) -> _Overlaying:
        """The overlay of the parcels ``chunk`` (positions in the batch), all in zone ``epsg``, to be cut
        layer by layer by one thread or shared by two (``_Overlaying``)."""
        layers = sorted(self.layer_ids, key=lambda lid: -len(_vector(self.blueprint, lid).frame))
        return _Overlaying(self, epsg, chunk, self.projected[chunk], deque(layers))

    def overlay(self, epsg: int, chunk: np.ndarray, workers: int | None) -> _Overlay:
        """The chunk through every layer on this thread (its cuts on ``workers`` threads)."""
        overlaying = self.overlaying(epsg, chunk)
        overlaying.cut(workers)
        return overlaying.result()

    def grade(self, found: _Overlay) -> list[ParcelResult]:
        """The rules over an overlaid chunk: the Python part of the review, which holds the GIL
        (``_in_process`` has it handed over to the overlay thread in short switches)."""
        prof, blueprint = self.profile, self.blueprint
        out = []
        for k, i in enumerate(found.chunk.tolist()):
            ctx = ParcelContext(
                self.ids[i],
                found.projected[k],
                found.epsg,
                self.attrs[i],
                blueprint,
                prof.tolerance.for_area(float(found.projected[k].area)),
                {lid: per_parcel[k] for lid, per_parcel in found.overlays.items()},
                {lid: per_parcel[k] for lid, per_parcel in found.pixels.items()},
                prof.tolerance.min_m2,
                self.totals.get(self.attrs[i].project_id or ""),
                stock=found.stock.geometry[k],
                off_stock_m2=found.stock.off_stock_m2[k],
            )
            result = review_parcel(
                ctx,
                prof,
                repaired=self.repaired[i],
                outline=None if found.outlines is None else found.outlines[k],
                pieces=self.pieces,
                clear=self.clear,
            )
            out.append(result.with_declared_area(self.declared[i]))
        return out

    def review_chunk(self, epsg: int, chunk: np.ndarray, workers: int | None) -> list[ParcelResult]:
        return self.grade(self.overlay(epsg, chunk, workers))


@dataclass
class _Overlaying:
    """A chunk's overlay, the geometry of its review (GEOS and GDAL release the GIL), so that grading is
    left with rules: every layer through a few vectorised calls, then each parcel's pixels of each raster
    layer, its stock land and its outline. Its layers (the largest first) may be cut by two threads at
    once: the overlay thread, and the grading thread once it is done with the chunk before (the overlay
    is the longer half of a review), each taking the next layer left (``cut``)."""

    batch: _Batch
    epsg: int
    chunk: np.ndarray
    projected: np.ndarray  # the parcels in their zone
    left: deque[str]  # the layers no thread has taken yet
    overlays: dict[str, list[Pieces]] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _running: Future[None] | None = None  # the overlay thread's share (``started``)

    def started(self, pool: ThreadPoolExecutor, workers: int) -> _Overlaying:
        """This chunk being cut on ``pool``'s thread (its cuts on ``workers`` threads)."""
        self._running = pool.submit(self.cut, workers)
        return self

    def joined(self) -> _Overlaying:
        """This chunk with every layer cut: those the pool's thread has not reached cut on this one, with
        copies of the parcels (``cut``). Where this thread's cut fails, its error is raised (a stop signal
        stays one) once the pool's thread has stopped, with that thread's own error, if any, in a note."""
        try:
            self.cut(1, copies=True)
        except BaseException as error:
            if self._running is not None and (other := self._running.exception()) is not None:
                error.add_note(f"the overlay thread failed as well: {other!r}")
            raise
        if self._running is not None:
            self._running.result()
        return self

    def cut(self, workers: int | None, *, copies: bool = False) -> None:
        """Cut the layers left, one by one, until none is; ``copies``: with this thread's own copies of the
        parcels, for the second thread on a chunk (``bulk_pieces``). An error leaves no layer to the other
        thread (``abandon``)."""
        catalog = layer_catalog()
        own = None
        try:
            while True:
                with self._lock:
                    if not self.left:
                        return
                    lid = self.left.popleft()
                vector = _vector(self.batch.blueprint, lid)
                if vector.misses(self.batch.boxes[self.chunk]):  # nothing to cut, in any zone: not projected
                    self.overlays[lid] = [vector.native.no_pieces] * len(self.chunk)
                    continue
                if copies and own is None:  # made once a layer is left to this thread
                    own = shapely.from_wkb(shapely.to_wkb(self.projected))
                layer = vector.in_crs(self.epsg)
                self.overlays[lid] = bulk_pieces(
                    self.projected, layer, workers=workers, overlaps=not catalog[lid].tiling, copies=own
                )
        except BaseException:
            self.abandon()
            raise

    def abandon(self) -> None:
        """No layer left to take: after an error the other thread stops at the layer it is cutting, and the
        error reaches the caller without the rest of the chunk being cut first."""
        with self._lock:
            self.left.clear()

    def result(self) -> _Overlay:
        """The chunk overlaid, once every layer is cut."""
        batch, projected, epsg = self.batch, self.projected, self.epsg
        overlays = {lid: self.overlays[lid] for lid in batch.layer_ids}
        pixels = {
            lid: parcel_pixels(raster, reproject(projected, epsg, raster.crs))
            for lid in batch.raster_ids
            if (raster := batch.blueprint.raster(lid)) is not None
        }
        stock = StockLand.of(overlays, batch.profile.stock_layers, len(self.chunk))
        outlines = None if batch.pieces else _to_geojson(list(projected), epsg)  # with pieces: with theirs
        return _Overlay(epsg, self.chunk, projected, overlays, outlines, pixels, stock)


@dataclass(frozen=True)
class _Overlay:
    """A chunk of parcels after the overlay: each one's pieces per layer, outline as GeoJSON and pixels
    per raster layer."""

    epsg: int
    chunk: np.ndarray
    projected: np.ndarray
    overlays: dict[str, list[Pieces]]
    outlines: list[dict[str, Any]] | None  # None: each reprojected with the parcel's pieces (``review_parcel``)
    pixels: dict[str, list[np.ndarray]]
    stock: StockLand


@dataclass(frozen=True)
class StockLand:
    """Each parcel's stock land (批而未供, 闲置: the union of its pieces of the profile's stock layers;
    None for none) and each of its land-use pieces' area off it (None: all of it; a construction
    piece keeps its own), measured with the overlay (GEOS, without the GIL) rather than by the rules,
    which hold the GIL: the land figures read them."""

    geometry: list[shapely.Geometry | None]
    off_stock_m2: list[np.ndarray | None]

    @classmethod
    def of(cls, overlays: dict[str, list[Pieces]], stock_layers: list[str], parcels: int) -> StockLand:
        layers = [overlays[lid] for lid in stock_layers if lid in overlays]
        stock: list[shapely.Geometry | None] = [None] * parcels
        for k in range(parcels):
            parts = [g for per_parcel in layers for g in per_parcel[k].geometry]
            if parts:
                stock[k] = shapely.union_all(parts)
        land = overlays.get("land_use")
        off: list[np.ndarray | None] = [None] * parcels
        if land is None:
            return cls(stock, off)
        rows = [k for k in range(parcels) if stock[k] is not None and len(land[k])]
        if not rows:
            return cls(stock, off)
        counts = [len(land[k]) for k in rows]
        geoms = np.concatenate([land[k].geometry for k in rows])
        areas = np.concatenate([land[k].area_m2 for k in rows])
        codes = np.concatenate([land[k].attributes["class_code"] for k in rows])
        # construction land owes neither quota nor compensation: no need to cut the stock land out of it
        owing = np.array([(c := landuse_class(code)) is not None and c.legal_class != "construction" for code in codes])
        owner = np.empty(len(rows), dtype=object)
        owner[:] = [stock[k] for k in rows]
        shapely.prepare(owner)
        each = np.repeat(owner, counts)
        out = areas.copy()
        cut = np.flatnonzero(owing)
        cut = cut[shapely.intersects(each[cut], geoms[cut])]
        covered = shapely.covers(each[cut], geoms[cut])
        out[cut[covered]] = 0.0  # a piece the stock land covers has no area off it (most 图斑 on a 批而未供 parcel)
        part = cut[~covered]
        out[part] = shapely.area(shapely.difference(geoms[part], each[part]))
        ends = np.cumsum(counts).tolist()
        for k, a, b in zip(rows, [0, *ends[:-1]], ends, strict=True):
            off[k] = out[a:b]
        return cls(stock, off)


Chunks = Generator[tuple[np.ndarray, list[ParcelResult]], None, None]  # (positions in the input, their results)


def _in_process(batch: _Batch, tasks: list[tuple[int, np.ndarray]], workers: int | None) -> Chunks:
    """Chunks reviewed in this process. With more than one worker the overlay of the next chunk
    (GEOS, without the GIL) runs on a thread while this one grades the current chunk (Python):
    the two halves of a review on two cores. Done grading, this thread cuts the layers the overlay
    thread has not reached (``_Overlaying.joined``) rather than wait; the overlay thread's cuts take any further
    cores (``workers`` beyond two)."""
    if (workers or CORES) <= 1 or len(tasks) == 1:
        for epsg, chunk in tasks:
            yield chunk, batch.review_chunk(epsg, chunk, workers)
        return
    beside = max(1, (workers or CORES) - 1)  # the overlay thread's cuts: the cores but this thread's
    with ThreadPoolExecutor(1) as pool:
        with short_switches():  # nothing to grade yet: both threads cut the first chunk
            current = batch.overlaying(*tasks[0]).started(pool, beside).joined()
        for nxt in [*tasks[1:], None]:
            with short_switches():  # while this thread cuts and grades, not while its caller holds the chunk
                ahead = batch.overlaying(*nxt).started(pool, beside) if nxt is not None else None
                try:
                    found = current.result()
                    graded = batch.grade(found)
                except BaseException:
                    if ahead is not None:
                        ahead.abandon()  # the pool's thread stops at the layer it is cutting
                    raise
                if ahead is not None:
                    current = ahead.joined()  # the layers the overlay thread has not reached yet
            yield found.chunk, graded


def _chunk_size(parcels: int, workers: int | None) -> int:
    """Parcels per chunk: a pipelined batch in ``PIPELINE_CHUNKS`` (the first chunk's overlay and
    the last one's grading run alone, so they are kept short), else ``CHUNK_PARCELS``."""
    if (workers or CORES) > 1:
        return min(CHUNK_PARCELS, max(PIPELINE_CHUNK_MIN, -(-parcels // PIPELINE_CHUNKS)))
    return CHUNK_PARCELS


def _tasks(zones: np.ndarray, workers: int | None) -> list[tuple[int, np.ndarray]]:
    """The batch cut into chunks (zone EPSG, positions), zone by zone, of ``_chunk_size``; a pipelined
    batch's last chunk ``_tapered``."""
    size = _chunk_size(len(zones), workers)
    tasks = [
        (int(epsg), chunk)
        for epsg in np.unique(zones).tolist()
        for in_zone in [np.flatnonzero(zones == epsg)]
        for chunk in np.array_split(in_zone, max(1, -(-len(in_zone) // size)))
    ]
    if (workers or CORES) > 1:
        epsg, last = tasks.pop()
        tasks += [(epsg, chunk) for chunk in _tapered(last)]
    return tasks


def _tapered(chunk: np.ndarray) -> list[np.ndarray]:
    """A pipelined batch's last chunk cut in halves, quarters… down to ``PIPELINE_TAIL_MIN`` parcels:
    each chunk's overlay runs beside the grading of the one before, but the last grading runs alone,
    one core idle, so it is kept short (a smaller chunk's overlay waits for no one)."""
    out = []
    while len(chunk) >= 2 * PIPELINE_TAIL_MIN:
        half = len(chunk) // 2
        out.append(chunk[:half])
        chunk = chunk[half:]
    return [*out, chunk]


def _strict_rule(profile: Profile) -> list[str]:
    """Where any overlap above the absolute minimum counts: ``layer`` or ``layer:value``."""
    out: list[str] = []
    for item in profile.items:
        for check in item.checks:
            if isinstance(check, OverlapCheck) and check.strict:
                out.append(check.layer)
            if isinstance(check, OverlapCheck | ZoneCompatibleCheck):
                out += [f"{check.layer}:{v}" for v in check.strict_values]
    return out


def _vector(blueprint: Blueprint, layer_id: str) -> VectorLayer:
    layer = blueprint.vector(layer_id)
    if layer is None:
        raise KeyError(layer_id)
    return layer


def _applicable(profile: Profile, blueprint: Blueprint) -> Profile:
    """The profile without the items this blueprint cannot speak to at all: an item whose every
    check reads an optional layer the blueprint lacks (土壤污染 without its layer) is left out,
    never reported as a pass nobody checked."""

    def absent(item: Item) -> bool:
        return all(
            getattr(c, "optional", False) and getattr(c, "layer", None) not in blueprint.layers for c in item.checks
        )

    kept = [item for item in profile.items if not absent(item)]
    return profile if len(kept) == len(profile.items) else profile.model_copy(update={"items": kept})


def parcel_zones(geoms: np.ndarray, crs: Any, pinned: int | None) -> np.ndarray:
    """Each parcel's area CRS: the pinned one, else the 3° zone of its centroid (DESIGN.md)."""
    if pinned:
        return np.full(len(geoms), pinned)
    lon = shapely.get_x(reproject(shapely.centroid(geoms), crs, CGCS2000))
    return np.array([gk3_epsg_for_longitude(float(x)) for x in lon])


def layers_needed(profile: Profile, blueprint: Blueprint) -> list[str]:
    """The vector layers a review reads: the profile's, the county's, the land use and stock layers."""
    wanted = {lid for item in profile.items for lid in item.layers()}
    wanted |= {"county", "extent", "land_use", "basic_farmland", *profile.stock_layers}
    return sorted(lid for lid in wanted if blueprint.vector(lid) is not None)


def _rasters_needed(profile: Profile, blueprint: Blueprint) -> list[str]:
    """The raster layers a review reads (坡度): each parcel's pixels are taken with its overlay."""
    wanted = {c.layer for item in profile.items for c in item.checks if isinstance(c, RasterShareAboveCheck)}
    return sorted(lid for lid in wanted if blueprint.raster(lid) is not None)


def review_parcel(
    ctx: ParcelContext,
    profile: Profile,
    *,
    repaired: bool,
    outline: dict[str, Any] | None,
    pieces: bool = True,
    clear: ClearItems | None = None,
) -> ParcelResult:
    """One parcel's items, verdict and land figures, from its context's layer pieces; ``clear`` (a
    batch's) grades each item whose layers the parcel does not touch at all once for the batch;
    ``outline``: the parcel as GeoJSON, None to reproject it here, with its pieces."""
    area_m2, area_ha, area_mu = Area(ctx.area_m2).rounded
    covered = _covered_ratio(ctx)
    outside = covered is not None and ctx.area_m2 * (1.0 - covered) > ctx.tolerance_m2
    ctx.uncovered = outside  # the rules measure only what the blueprint covers
    runs = [
        (found, []) if clear is not None and (found := clear.result(item, ctx)) is not None else _run_item(item, ctx)
        for item in profile.items
    ]
    items = [result for result, _ in runs]
    # every geometry of the parcel reprojected in one call: its outline where not given, then its pieces
    own = [ctx.geometry] if outline is None else []
    shapes = iter(_to_geojson(own + ([g for _, geoms in runs for g in geoms] if pieces else []), ctx.epsg))
    outline = next(shapes) if outline is None else outline
    if pieces:
        for result in items:
            for detail in result.details:
                detail.geometry = next(shapes)
    if outside and covered is not None:
        items = [_uncovered(i, covered, own=not item.layers()) for item, i in zip(profile.items, items, strict=True)]
    county, counties = _counties(ctx)
    return ParcelResult(
        id=ctx.id,
        name=ctx.project.name,
        project_type=ctx.project.project_type,
        facility=ctx.project.facility,
        area_m2=area_m2,
        area_ha=area_ha,
        area_mu=area_mu,
        crs_used=f"EPSG:{ctx.epsg}",
        verdict=verdict_of((i.status for i in items), beyond=outside),
        repaired=repaired,
        tolerance_m2=round(ctx.tolerance_m2, 4),
        covered_ratio=None if covered is None else round(covered, 6),
        county=county,
        counties=counties,
        items=items,
        land_quota=_land_quota(ctx),
        geometry=outline,
    )


def _covered_ratio(ctx: ParcelContext) -> float | None:
    """Share of the parcel inside the blueprint's coverage (extent or county union); None without either."""
    layer = ctx.blueprint.coverage_layer
    found = ctx.pieces(layer) if layer else None
    if layer is None or found is None:
        return None
    if len(found) == 0:
        return 0.0
    covered = union_area(found.geometry, found.area_m2, [layer], parcel=ctx.geometry, disjoint=ctx.disjoint)
    return min(1.0, covered / ctx.area_m2)


def _uncovered(item: ItemResult, covered: float, *, own: bool = False) -> ItemResult:
    """An item of a parcel reaching beyond the blueprint: what lies outside was never checked, so
    a pass there cannot be signed; it reads as 'layer missing' for the uncovered part. ``own``: an item
    that reads no layer (item 10 weighs the parcel's own area): it gives no finding while the rest of the
    review is incomplete, and says what it found on the whole parcel, not on a "covered part"."""
    if item.status != "pass":
        return item
    share = percent(1.0 - covered)
    if own:  # after the clause, not in a bracket: the finding's figures carry brackets of their own (its areas)
        zh = f"地块有 {share} {BEYOND_COVERAGE_ZH}，该项暂不作结论；按地块全部面积：{item.message_zh}"
        en = (
            f"{share} of the parcel lies outside the blueprint's coverage: no finding is given for this item "
            f"(on the whole parcel: {item.message_en})"
        )
    elif covered <= 0.0:  # no covered part to speak of
        zh, en = (
            f"地块全部{BEYOND_COVERAGE_ZH}，未审查",
            "the parcel lies wholly outside the blueprint's coverage: not reviewed",
        )
    else:
        zh = f"地块有 {share} {BEYOND_COVERAGE_ZH}，该部分未审查（覆盖部分：{item.message_zh}）"
        en = (
            f"{share} of the parcel lies outside the blueprint's coverage and was not reviewed "
            f"(covered part: {item.message_en})"
        )
    facts = item.facts.model_copy(update={"beyond_coverage": True})
    return item.model_copy(update={"status": "missing_layer", "message_zh": zh, "message_en": en, "facts": facts})


@dataclass
class ClearItems:
    """A batch's items that only grade overlaps (by code, their checks), and the result each gives a
    parcel clear of all its checks (未涉及…, 未占用…: no feature of an overlap's layer, no land of the
    classes a land-use check seeks; an optional layer the blueprint lacks is not checked for any
    parcel): the same for every such parcel, whatever the project (an item whose basis depends on the
    project's type is not one: ``Item.typed_basis``). In a city's
    batch over half of all items are such (red line, reserves, minerals, flood areas, forest land…):
    each is graded once per batch, and its result shared by those parcels (a result is replaced,
    never edited: ``model_copy``)."""

    checks: dict[str, list[OverlapCheck | LandUseClassesCheck]]
    results: dict[str, ItemResult] = field(default_factory=dict)

    @classmethod
    def of(cls, profile: Profile) -> ClearItems:
        overlaps_only = (OverlapCheck, LandUseClassesCheck)
        return cls(
            {
                item.code: [c for c in item.checks if isinstance(c, overlaps_only)]  # all of them, as typed
                for item in profile.items
                if all(isinstance(c, overlaps_only) for c in item.checks) and not item.typed_basis
            }
        )

    def result(self, item: Item, ctx: ParcelContext) -> ItemResult | None:
        """The item's result for a parcel clear of all its checks, else None."""
        checks = self.checks.get(item.code)
        if checks is None:
            return None
        for check in checks:
            if not _clear(check, ctx):
                return None
        if item.code not in self.results:
            self.results[item.code] = _run_item(item, ctx)[0]
        return self.results[item.code]


def _clear(check: OverlapCheck | LandUseClassesCheck, ctx: ParcelContext) -> bool:
    """Whether the check's outcome is the batch's for the parcel: it touches nothing the check grades,
    or the blueprint lacks the layer (not checked, or missing, for every parcel alike)."""
    found = ctx.pieces(check.layer)
    if found is None:
        return True
    if isinstance(check, LandUseClassesCheck):
        return not any(ctx.sought(check))
    return len(found) == 0


def _rests_on(check: Check, outcome: Outcome) -> Found:
    """What the finding a check states rests on (``Item.basis_cited``): the basis of every outcome it found,
    standing or not (the finding states them all: the 1106 warning beside a failing range, 193号 beside a failing
    zone); a check that names the zone it finds whatever the outcome (``stated``), or states a figure (a slope
    share), rests on its own outcome's basis too, on which the same rule is read either way (自然资办发〔2020〕46号's
    规划分区 where a 生态保护区 admits a limited activity); False where it found nothing, True (its documents as a
    whole) where no outcome it found is worded with a basis."""
    own = check.conditions.get(check.status)
    stated = check.stated or not isinstance(check, (OverlapCheck, LandUseClassesCheck))
    said = tuple(own.basis) if own is not None and stated and (outcome.pieces or outcome.status == "pass") else ()
    if outcome.status != "pass":
        conditions = outcome.facts.conditions if outcome.facts is not None else None
        return tuple(dict.fromkeys([*(ref for c in conditions or [] for ref in c.basis), *said])) or True
    if said or (stated and own is None):
        return said or True
    return False


def _run_item(item: Item, ctx: ParcelContext) -> tuple[ItemResult, list[shapely.Geometry]]:
    """The item's result (pieces without geometry) and its pieces' geometries, in the same order."""
    outcomes = [run_check(check, ctx) for check in item.checks]
    status = worst(o.status for o in outcomes)
    relevant = [o for o, c in zip(outcomes, item.checks, strict=True) if o.status != "pass" or (c.stated and o.pieces)]
    relevant = relevant if any(o.status != "pass" for o in relevant) else outcomes
    conflict = [p for o in outcomes for p in o.pieces if p.status != "pass"]
    overlap = (
        union_area(
            [p.geometry for p in conflict],
            [p.area_m2 for p in conflict],
            {p.layer for p in conflict},
            ctx.unions,
            parcel=ctx.geometry,
            disjoint=ctx.disjoint,
        )
        if conflict
        else 0.0
    )
    # a finding of no pieces (the slope raster's) still has its area, the one its message states: the item's
    # is at least that, beside the pieces' (steep land beyond a 易发区 was left out when both warned)
    overlap = max([overlap, *(o.estimated_m2 or 0.0 for o in outcomes if o.status != "pass")])
    # what each check's finding rests on, read before the outcomes stand: a finding states them all
    rests_on = tuple(
        _rests_on(c, o) if any(o is r for r in relevant) else False for c, o in zip(item.checks, outcomes, strict=True)
    )
    measured = [o.facts for o in outcomes if o.facts is not None and o.facts.model_fields_set]
    facts = measured[0] if measured else ItemFacts()
    for other in measured[1:]:
        facts = facts.merged(other)
    procedures = list(item.procedures) if status != "pass" else []
    if facts.conditions is not None:  # a profile that words each outcome: exactly the procedures of those that stand
        facts.conditions = standing_conditions(facts.conditions, status)  # the item's own: its outcomes' or merged
        procedures = list(dict.fromkeys(p for c in facts.conditions or [] for p in c.procedures))
    found = [p for o in outcomes for p in o.pieces]
    replaced = {code for c in facts.conditions or [] for code in c.replaces or []}
    refused = _Refused([p.geometry for o in outcomes for p in o.pieces if p.status == "fail"])
    said = [(o, *_steps(o, status, replaced, refused, ctx.tolerance_m2)) for o in relevant]
    result = ItemResult(
        code=item.code,
        name_zh=item.name_zh,
        name_en=item.name_en,
        supplementary=item.supplementary,
        status=status,
        overlap_m2=round(overlap, 2),
        overlap_ratio=round(overlap / ctx.area_m2, 6),
        message_zh="；".join(zh for _, zh, _ in said),
        message_en="; ".join(en for _, _, en in said),
        details=_piece_results(found),
        facts=facts,
        basis=item.basis_cited(ctx.project.project_type, rests_on, ctx.project.facility),
        procedures=procedures,
    )
    return result, [p.geometry for p in found]


@dataclass
class _Refused:
    """The land an item's failing findings cover (their pieces), joined once and only when a warning asks."""

    pieces: list[shapely.Geometry]
    _land: shapely.Geometry | None = None

    def beyond(self, land: tuple[shapely.Geometry, ...]) -> float:
        """The area of ``land`` outside it."""
        if not self.pieces:
            return float(shapely.union_all(land).area)
        if self._land is None:
            self._land = shapely.union_all(self.pieces)
        return float(shapely.difference(shapely.union_all(land), self._land).area)


def _steps(
    outcome: Outcome, status: str, replaced: set[str], refused: _Refused, tolerance_m2: float
) -> tuple[str, str]:
    """The finding's message with the steps it calls for where they stand: not a group's another standing
    outcome includes (公益林's 使用林地审核 covers 林地's), a step two groups share (林地, 草地) said once, after the
    clause of the last group it is said for where another clause follows that one (占用林地（…），需办理使用林地/草原
    审核；占用湿地（…），湿地应当避让…), else at the end. Beside a failing finding of the item a warning's step
    stands only for land the failing findings do not cover: there the parcel moves away (no 草原审核 for the
    grassland a 基本草原 refuses), elsewhere its land stays the project's to use once the refused part is left,
    and the step it needs is said as any other item's warning says it on a refused parcel (林地 beside that
    基本草原: 济政办字〔2020〕52号 三（一）3 asks a review to consider the whole siting, 全面考量)."""
    zh, en = outcome.message_zh, outcome.message_en
    if not outcome.steps or (outcome.status != status and (status, outcome.status) != ("fail", "warn")):
        return zh, en
    steps = [s for s in outcome.steps if s.group not in replaced]
    if outcome.status != status:  # a warning in a failing item
        steps = [s for s in steps if refused.beyond(s.land) > tolerance_m2]
    # the English message says each step where the Chinese does, after its land's clause (it was said at the end,
    # after 占用草地's, so the 基本草原's grassland read as asking 使用林地/草原审核: officer's second read)
    return _placed(zh, [(s.zh, s.clause) for s in steps], "；", "，"), _placed(
        en, [(s.en, s.clause_en) for s in steps], "; ", "; "
    )


def _placed(message: str, steps: list[tuple[str, str]], between: str, before: str) -> str:
    """``message`` with each step (its words, the clause it follows) said once, after the clause of the last group it
    is said for where another clause follows that one (``between`` them), else at the end; ``before`` each step."""
    after: dict[str, int] = {}  # each step, by its words: where it goes (the end of the last clause it follows)
    for said, clause in steps:
        at = message.find(clause) + len(clause) if clause and clause in message else -1
        after[said] = max(after.get(said, -1), at if message.startswith(between, at) else len(message))
    for said, at in sorted(after.items(), key=lambda step: -step[1]):
        message = f"{message[:at]}{before}{said}{message[at:]}"
    return message


_PIECE_RESULTS = TypeAdapter(list[PieceResult])


def _piece_results(pieces: list[Piece]) -> list[PieceResult]:
    """The pieces as results, validated in one call (a city's parcel has some thirty)."""
    if not pieces:
        return []
    catalog = layer_catalog()
    generic = np.generic
    return _PIECE_RESULTS.validate_python(
        [
            {
                "layer": p.layer,
                "layer_name_zh": catalog[p.layer].name_zh,
                "status": p.status,
                "area_m2": round(p.area_m2, 2),
                "area_mu": round(p.area_m2 / M2_PER_MU, 4),
                "attributes": {k: v.item() if isinstance(v, generic) else v for k, v in p.attributes.items()},
            }
            for p in pieces
        ]
    )


def _to_geojson(geoms: list[shapely.Geometry], epsg: int) -> list[dict[str, Any]]:
    """Geometries as GeoJSON dicts in EPSG:4490, 1e-7° (about 1 cm) precision."""
    if not geoms:
        return []
    geo = reproject(np.array(geoms, dtype=object), epsg, CGCS2000)
    rounded = shapely.transform(geo, lambda xy: np.round(xy, 7))
    types = shapely.get_type_id(rounded)
    if ((types == POLYGONAL[0]) | (types == POLYGONAL[1])).all() and not shapely.is_empty(rounded).any():
        return _polygons_as_geojson(rounded, types)
    return [json.loads(text) for text in shapely.to_geojson(rounded)]  # plain lists, as JSON reads back


def _polygons_as_geojson(polygons: np.ndarray, types: np.ndarray) -> list[dict[str, Any]]:
    """(Multi)polygons as GeoJSON dicts straight from their coordinate arrays: what
    ``json.loads(shapely.to_geojson(g))`` gives, without writing and parsing text for each."""
    kind, coords, offsets = shapely.to_ragged_array(polygons)
    xy = coords.tolist()
    bounds = [o.tolist() for o in offsets]
    rings = [xy[a:b] for a, b in zip(bounds[0][:-1], bounds[0][1:], strict=True)]
    shells = [rings[a:b] for a, b in zip(bounds[1][:-1], bounds[1][1:], strict=True)]
    if kind == shapely.GeometryType.POLYGON:
        return [{"type": "Polygon", "coordinates": p} for p in shells]
    parts = [shells[a:b] for a, b in zip(bounds[2][:-1], bounds[2][1:], strict=True)]
    return [
        {"type": "Polygon", "coordinates": m[0]} if t == POLYGONAL[0] else {"type": "MultiPolygon", "coordinates": m}
        for t, m in zip(types.tolist(), parts, strict=True)
    ]


def _counties(ctx: ParcelContext) -> tuple[County | None, list[CountyPart] | None]:
    """The county holding most of the parcel (the one the ledger charges), and every county it lies in with its
    area where it lies in more than one beyond the tolerance (a road across a county line: the papers name both)."""
    found = ctx.pieces("county")
    if found is None or len(found) == 0:
        return None, None
    areas: dict[tuple[str, str], float] = {}
    codes, names = found.attributes["code"], found.attributes["name"]
    for code, name, area in zip(codes, names, found.area_m2.tolist(), strict=True):
        areas[(str(code), str(name))] = areas.get((str(code), str(name)), 0.0) + area
    (code, name), _ = max(areas.items(), key=lambda part: part[1])
    parts = sorted(((k, a) for k, a in areas.items() if a > ctx.tolerance_m2), key=lambda part: -part[1])
    if len(parts) < 2:
        return County(code=code, name=name), None
    beyond = _beyond_by_county(ctx, found, [k for k, _ in parts]) if ctx.uncovered else {}
    several = [
        CountyPart(code=c, name=n, area_m2=round(a, 2), beyond_coverage_m2=round(beyond.get((c, n), 0.0), 2))
        for (c, n), a in parts
    ]
    return County(code=code, name=name), several


def _beyond_by_county(ctx: ParcelContext, found: Pieces, keys: list[tuple[str, str]]) -> dict[tuple[str, str], float]:
    """Each county part's area beyond the blueprint's coverage, where above the tolerance (a parcel across the
    coverage's edge and a county line: the demo covers 任城区 alone, its county layer every county of 济宁)."""
    codes, names = found.attributes["code"], found.attributes["name"]
    beyond = {}
    for key in keys:
        mine = [g for g, c, n in zip(found.geometry, codes, names, strict=True) if (str(c), str(n)) == key]
        outside = float(shapely.difference(shapely.union_all(mine), ctx.covered).area)
        if outside > ctx.tolerance_m2:
            beyond[key] = outside
    return beyond


def _land_quota(ctx: ParcelContext) -> LandQuota:
    """Land figures for the ledger. Stock land (批而未供/闲置) owes neither new-construction quota
    nor farmland compensation; cultivated areas are net of the 田坎 deduction (KCXS) where the
    land-use layer maps one; 永久基本农田 occupied is the 补划 need."""
    stock_m2 = 0.0 if ctx.stock is None else float(ctx.stock.area)
    farmland = ctx.pieces("basic_farmland")
    farmland_m2 = (
        None
        if farmland is None
        else round(
            union_area(farmland.geometry, farmland.area_m2, ["basic_farmland"], ctx.unions, disjoint=ctx.disjoint), 2
        )
    )
    land = ctx.pieces("land_use")
    if land is None:
        return LandQuota(
            agricultural_m2=None,
            cultivated_m2=None,
            paddy_m2=None,
            construction_m2=None,
            unused_m2=None,
            stock_m2=round(stock_m2, 2),
            stock_ratio=round(stock_m2 / ctx.area_m2, 6),
            new_construction_quota_m2=None,
            compensation_m2=None,
            basic_farmland_m2=farmland_m2,
        )
    sums = {"agricultural": 0.0, "construction": 0.0, "unused": 0.0, "cultivated": 0.0, "paddy": 0.0}
    new_quota = compensation = paddy_compensation = 0.0
    for c in ctx.land_by_class("land_use").values():  # item 3's figures, summed once
        sums[c.cls.legal_class] += c.area_m2
        if c.cls.legal_class == "construction":
            continue
        if c.cls.group == "cultivated":
            sums["cultivated"] += c.net_m2
            compensation += c.off_stock_net_m2
            if c.cls.code == "0101":
                sums["paddy"] += c.net_m2
                paddy_compensation += c.off_stock_net_m2
        new_quota += c.off_stock_m2  # 农用地 and 未利用地 not on stock land
    return LandQuota(
        agricultural_m2=round(sums["agricultural"], 2),
        cultivated_m2=round(sums["cultivated"], 2),
        paddy_m2=round(sums["paddy"], 2),
        construction_m2=round(sums["construction"], 2),
        unused_m2=round(sums["unused"], 2),
        stock_m2=round(stock_m2, 2),
        stock_ratio=round(stock_m2 / ctx.area_m2, 6),
        new_construction_quota_m2=round(new_quota, 2),
        compensation_m2=round(compensation, 2),
        basic_farmland_m2=farmland_m2,
        paddy_compensation_m2=round(paddy_compensation, 2),
    )


def union_area(
    geoms: Sequence[shapely.Geometry] | np.ndarray,
    areas: Sequence[float] | np.ndarray,
    layers: Iterable[str],
    memo: dict[tuple[int, ...], float] | None = None,
    *,
    parcel: shapely.Geometry | None = None,
    disjoint: Mapping[str, Collection[int]] | None = None,
) -> float:
    """Area of the union of pieces: their sum when they come from one tiling layer (features of a
    planar partition never overlap) or are all among a layer's pieces that the overlay proved not
    to overlap (``disjoint``: by layer, their identities: ``ParcelContext.disjoint``), the parcel's
    area when one of them is ``parcel`` itself (the overlay's piece where a feature covers the
    parcel: every other piece lies inside it), their sum when they are proven disjoint
    (``_disjoint``), else the area of their union. ``memo`` (a parcel's) keeps unions already
    computed, by the pieces' identities: the basic-farmland item and the land figures union the
    same pieces."""
    if len(geoms) <= 1:
        return float(sum(areas))
    layer_ids = set(layers)
    one_layer = layer_ids.pop() if len(layer_ids) == 1 else None
    distinct = len({id(g) for g in geoms}) == len(geoms)  # not one piece twice (two checks of one layer)
    proven = (disjoint or {}).get(one_layer or "", ())
    if (
        one_layer is not None
        and distinct
        and (layer_catalog()[one_layer].tiling or all(id(g) in proven for g in geoms))
    ):
        return float(sum(areas))
    if parcel is not None and any(g is parcel for g in geoms):
        return float(parcel.area)
    key = tuple(map(id, geoms))
    if memo is not None and key in memo:
        return memo[key]
    area = float(sum(areas)) if _disjoint(geoms) else float(shapely.union_all(geoms).area)
    if memo is not None:
        memo[key] = area
    return area


def _disjoint(pieces: Sequence[shapely.Geometry] | np.ndarray) -> bool:
    """Whether pieces (valid polygons) are proven not to overlap, so that the area of their union is
    the sum of theirs: GEOS finds them a valid polygonal coverage (no two interiors meet, shared
    edges match vertex for vertex), a check about three times cheaper than their union. Pieces of a
    clean layer (基本农田图斑 do not overlap) pass; any overlap, containment or duplicate fails it,
    and so does a shared edge whose vertices differ (the union then decides)."""
    return bool(shapely.coverage_is_valid(np.asarray(pieces, dtype=object)))
