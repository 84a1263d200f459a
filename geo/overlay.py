"""Parcel × layer: the pieces of a parcel inside a layer, via the layer's STRtree
and vectorised shapely 2 calls (no Python loop over the layer's features, and no
DataFrame built per parcel: a review makes hundreds of these calls)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import geopandas as gpd
import numpy as np
import shapely
from shapely.strtree import STRtree

from geo.geometry import polygonal_part


@dataclass(frozen=True)
class IndexedLayer:
    """A layer in one CRS: the frame, its STRtree, and its columns as arrays for fast slicing."""

    frame: gpd.GeoDataFrame
    tree: STRtree = field(repr=False)
    geometry: np.ndarray = field(repr=False)
    columns: dict[str, np.ndarray] = field(repr=False)

    @classmethod
    def build(cls, frame: gpd.GeoDataFrame) -> IndexedLayer:
        geometry = np.asarray(frame.geometry.array, dtype=object)
        columns = {c: frame[c].to_numpy() for c in frame.columns if c != frame.geometry.name}
        return cls(frame, STRtree(geometry), geometry, columns)


@dataclass(frozen=True)
class Pieces:
    """Pieces of one parcel inside one layer, as parallel arrays (geometry in the parcel's zone)."""

    geometry: np.ndarray
    area_m2: np.ndarray
    attributes: dict[str, np.ndarray]

    def __len__(self) -> int:
        return len(self.geometry)

    def attributes_of(self, index: int, names: list[str]) -> dict[str, Any]:
        return {name: self.attributes[name][index] for name in names}


def pieces(parcel: shapely.Geometry, layer: IndexedLayer) -> Pieces:
    """Pieces of ``parcel`` inside each feature of ``layer`` (both in the same projected CRS).

    Pieces with zero area (edge or corner contacts) are dropped here; slivers above
    zero are left to the review's tolerance.
    """
    shapely.prepare(parcel)
    hits = layer.tree.query(parcel, predicate="intersects")
    cut = shapely.intersection(layer.geometry[hits], parcel)
    areas = shapely.area(cut)
    keep = areas > 0
    rows = hits[keep]
    geometry = np.array([polygonal_part(g) for g in cut[keep]], dtype=object)
    return Pieces(geometry, areas[keep], {name: values[rows] for name, values in layer.columns.items()})
