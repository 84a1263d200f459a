"""Parcel × layer: the pieces of a parcel inside a layer, via the layer's STRtree
and vectorised shapely 2 calls (no Python loop over the layer's features)."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import shapely
from shapely.strtree import STRtree

from geo.geometry import polygonal_part


def pieces(parcel: shapely.Geometry, frame: gpd.GeoDataFrame, tree: STRtree) -> gpd.GeoDataFrame:
    """Pieces of ``parcel`` inside each feature of ``frame`` (both in the same projected CRS).

    Returns the features' attributes, the piece geometry and ``area_m2``; pieces
    with zero area (edge or corner contacts) are dropped here, slivers above zero
    are left to the review's tolerance.
    """
    shapely.prepare(parcel)
    hits = tree.query(parcel, predicate="intersects")
    if len(hits) == 0:
        return frame.iloc[:0].assign(area_m2=np.empty(0))
    cut = shapely.intersection(frame.geometry.values[hits], parcel)
    areas = shapely.area(cut)
    keep = areas > 0
    result = frame.iloc[hits[keep]].copy()
    result["geometry"] = [polygonal_part(g) for g in cut[keep]]
    result["area_m2"] = areas[keep]
    return result.reset_index(drop=True)


def union_area(geoms: gpd.GeoSeries | list[shapely.Geometry]) -> float:
    """Area of the union: pieces of overlapping features count once."""
    values = list(geoms)
    return float(shapely.union_all(values).area) if values else 0.0
