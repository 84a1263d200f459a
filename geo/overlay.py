"""Parcels × layer: the pieces of each parcel inside a layer.

A batch goes through a layer in one STRtree bulk query and vectorised shapely 2
calls over the intersecting pairs, in chunks on a thread pool (shapely releases
the GIL). Two shortcuts skip the intersection: a feature the parcel covers is its
own piece, and a parcel a feature covers is the piece. No Python loop runs over
features, and none over parcels but the final split into per-parcel views.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import geopandas as gpd
import numpy as np
import shapely
from shapely.strtree import STRtree

from geo.geometry import POLYGONAL, polygonal_part
from geo.threads import CORES, map_chunks

CHUNK_PAIRS = 2048  # pairs per thread-pool task: large enough to amortise, small enough to balance


@dataclass(frozen=True)
class IndexedLayer:
    """A layer in one CRS: its STRtree, and geometry, areas, bounds and columns as arrays."""

    frame: gpd.GeoDataFrame
    tree: STRtree = field(repr=False)
    geometry: np.ndarray = field(repr=False)
    area: np.ndarray = field(repr=False)
    bounds: np.ndarray = field(repr=False)
    columns: dict[str, np.ndarray] = field(repr=False)

    @classmethod
    def build(cls, frame: gpd.GeoDataFrame) -> IndexedLayer:
        geometry = np.asarray(frame.geometry.array, dtype=object)
        columns = {c: frame[c].to_numpy() for c in frame.columns if c != frame.geometry.name}
        area, bounds = map_chunks(shapely.area, geometry), map_chunks(shapely.bounds, geometry)
        return cls(frame, STRtree(geometry), geometry, area, bounds, columns)

    @cached_property
    def no_pieces(self) -> Pieces:
        """A parcel's pieces where it touches no feature: one for all such parcels (most of a batch's,
        in most layers)."""
        return Pieces(np.empty(0, dtype=object), np.empty(0), {name: v[:0] for name, v in self.columns.items()})


@dataclass(frozen=True, slots=True)  # one per parcel and layer
class Pieces:
    """Pieces of one parcel inside one layer, as parallel arrays (geometry in the parcel's zone)."""

    geometry: np.ndarray
    area_m2: np.ndarray
    attributes: dict[str, np.ndarray]
    disjoint: bool = True  # no two of them overlap: the area of the union of any of them is their sum

    def __len__(self) -> int:
        return len(self.geometry)

    def values(self, name: str) -> list[Any]:
        """A column's values as a rule reads them: integers, booleans and doubles as Python's (what the
        result stores), others as the column holds them (a float32 0.3 is not 0.30000001192092896 in a
        finding's words, a date not nanoseconds)."""
        column = self.attributes[name]
        return column.tolist() if column.dtype.kind in "biu" or column.dtype == np.float64 else list(column)


def _cut(
    parcels: np.ndarray, features: np.ndarray, feature_area: np.ndarray, feature_bounds: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Piece geometry and area for aligned (parcel, feature) pairs, shortcuts first; and the pairs whose
    piece is the parcel itself (a feature covers it)."""
    pieces = np.empty(len(parcels), dtype=object)
    areas = np.empty(len(parcels))
    inside = shapely.covers(parcels, features)  # parcels are prepared: cheap
    pieces[inside], areas[inside] = features[inside], feature_area[inside]
    rest = np.flatnonzero(~inside)
    # a feature covering the parcel: only worth asking where its box holds the parcel's box
    pb = shapely.bounds(parcels[rest])
    fb = feature_bounds[rest]
    boxed = np.flatnonzero(
        (fb[:, 0] <= pb[:, 0]) & (fb[:, 1] <= pb[:, 1]) & (fb[:, 2] >= pb[:, 2]) & (fb[:, 3] >= pb[:, 3])
    )
    covered = boxed[shapely.covers(features[rest[boxed]], parcels[rest[boxed]])]  # positions in ``rest``
    whole = rest[covered]
    pieces[whole] = parcels[whole]
    areas[whole] = shapely.area(parcels[whole])
    cut_here = np.ones(len(rest), dtype=bool)
    cut_here[covered] = False
    todo = rest[cut_here]
    cut = shapely.intersection(features[todo], parcels[todo])
    types = shapely.get_type_id(cut)
    mixed = (types != POLYGONAL[0]) & (types != POLYGONAL[1])
    if mixed.any():  # an edge or corner contact adds lines and points: keep the polygons
        cut[mixed] = [polygonal_part(g) for g in cut[mixed]]
    pieces[todo], areas[todo] = cut, shapely.area(cut)
    return pieces, areas, whole


def bulk_pieces(
    parcels: np.ndarray,
    layer: IndexedLayer,
    *,
    workers: int | None = None,
    overlaps: bool = True,
    copies: np.ndarray | None = None,
) -> list[Pieces]:
    """Pieces of every parcel inside each feature of ``layer``, both in the same projected CRS.

    Pieces with zero area (edge or corner contacts) are dropped here; slivers above
    zero are left to the review's tolerance. ``overlaps``: whether the layer's features may
    overlap (a tiling layer's never do); if so each parcel's pieces are checked (``Pieces.disjoint``).
    ``copies``: this thread's own copies of the parcels to cut with, where another thread cuts the
    same parcels through other layers at the same time (GEOS builds a prepared geometry's indexes
    lazily, without a lock: two threads must never share one); a piece that is a whole parcel is
    still the parcel itself, as the rules expect.
    """
    probes = parcels if copies is None else copies
    shapely.prepare(probes)
    parcel_idx, feature_idx = layer.tree.query(probes, predicate="intersects")
    none = layer.no_pieces
    if len(parcel_idx) == 0:  # common for a single parcel and a sparse layer: nothing to cut
        return [none] * len(parcels)
    order = np.argsort(parcel_idx, kind="stable")
    parcel_idx, feature_idx = parcel_idx[order], feature_idx[order]
    geometry = np.empty(len(parcel_idx), dtype=object)
    area = np.empty(len(parcel_idx))
    whole = np.zeros(len(parcel_idx), dtype=bool)  # pairs whose piece is the parcel

    # chunks end where a parcel's pairs end: a prepared parcel is never used by two threads at once
    # (GEOS builds a prepared geometry's indexes lazily, without a lock)
    if len(parcel_idx) <= CHUNK_PAIRS:
        chunks = [(0, len(parcel_idx))]
    else:
        parcel_start = np.flatnonzero(np.diff(parcel_idx, prepend=-1))  # where each parcel's pairs begin
        nominal = np.arange(0, len(parcel_idx), CHUNK_PAIRS)
        cuts = np.unique(parcel_start[np.searchsorted(parcel_start, nominal, side="right") - 1]).tolist()
        chunks = list(zip(cuts, [*cuts[1:], len(parcel_idx)], strict=True))

    def run(chunk: tuple[int, int]) -> None:
        lo, hi = chunk
        f = feature_idx[lo:hi]
        geometry[lo:hi], area[lo:hi], covered = _cut(
            probes[parcel_idx[lo:hi]], layer.geometry[f], layer.area[f], layer.bounds[f]
        )
        whole[lo + covered] = True

    threads = min(workers or CORES, len(chunks))
    if threads > 1:
        with ThreadPoolExecutor(threads) as pool:
            list(pool.map(run, chunks))
    else:
        for chunk in chunks:
            run(chunk)
    keep = area > 0
    parcel_idx, feature_idx, geometry, area = parcel_idx[keep], feature_idx[keep], geometry[keep], area[keep]
    whole = whole[keep]
    columns = {name: values[feature_idx] for name, values in layer.columns.items()}
    ends = np.searchsorted(parcel_idx, np.arange(len(parcels)), side="right")
    starts_ = np.concatenate([[0], ends[:-1]])
    overlapping = _overlapping(parcel_idx, geometry, len(parcels)) if overlaps else np.zeros(len(parcels), bool)
    # only now the parcels themselves: ``_overlapping`` above runs relate_pattern, which uses a prepared first
    # argument, and the parcels may be prepared and in use on the other thread
    if copies is not None:
        geometry[whole] = parcels[parcel_idx[whole]]
    return [
        Pieces(geometry[s:e], area[s:e], {name: values[s:e] for name, values in columns.items()}, not over)
        if e > s
        else none
        for s, e, over in zip(starts_.tolist(), ends.tolist(), overlapping.tolist(), strict=True)
    ]


def _overlapping(parcel_idx: np.ndarray, geometry: np.ndarray, parcels: int) -> np.ndarray:
    """Which parcels hold two pieces whose interiors meet (the layer's features overlap there, or one
    piece is the parcel itself): for the others the area of a union of pieces is their sum. A few
    vectorised calls for the whole batch: candidate pairs by their boxes, then the DE-9IM relation."""
    out = np.zeros(parcels, dtype=bool)
    several = np.flatnonzero(np.bincount(parcel_idx, minlength=parcels)[parcel_idx] >= 2)
    if len(several) == 0:
        return out
    a, b = STRtree(geometry[several]).query(geometry[several])
    pair = (a < b) & (parcel_idx[several[a]] == parcel_idx[several[b]])
    a, b = several[a[pair]], several[b[pair]]
    meet = shapely.relate_pattern(geometry[a], geometry[b], "T********")  # interiors intersect
    out[parcel_idx[a[meet]]] = True
    return out


def pieces(parcel: shapely.Geometry, layer: IndexedLayer) -> Pieces:
    """Pieces of one parcel inside ``layer`` (the bulk path with a batch of one)."""
    return bulk_pieces(np.array([parcel], dtype=object), layer, workers=1)[0]
