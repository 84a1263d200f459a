"""Snapping a drawn corner onto the blueprint's exact boundaries (界线吸附).

A web map draws its layers simplified (a few metres off their true edges); a corner
snapped to such an edge would leave a sliver of the control layer inside the drawn
parcel, or a gap beside it. The service answers with the nearest point of the exact
boundary instead, measured in the blueprint's Gauss-Krüger zone.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import shapely

from geo.blueprint import Blueprint
from geo.catalog import layer_catalog
from geo.crs import CGCS2000, gk3_epsg_for_longitude, reproject


@dataclass(frozen=True)
class BoundaryPoint:
    """The nearest point on a layer's exact boundary, in EPSG:4490, and how far the asked point was."""

    lon: float
    lat: float
    layer: str
    layer_name_zh: str
    distance_m: float


def nearest_boundary_point(
    blueprint: Blueprint, lon: float, lat: float, within_m: float, layer_ids: list[str] | None = None
) -> BoundaryPoint | None:
    """The point of any feature's boundary (rings, holes included) nearest to ``lon, lat`` within
    ``within_m`` metres, over ``layer_ids`` (default: every vector layer); ``None`` when none is that near."""
    epsg = blueprint.gk_zone_epsg or gk3_epsg_for_longitude(lon)
    here = reproject(shapely.Point(lon, lat), CGCS2000, epsg)
    best: tuple[float, shapely.Geometry, str] | None = None
    for layer_id in layer_ids if layer_ids is not None else sorted(blueprint.layers):
        layer = blueprint.vector(layer_id)
        if layer is None:
            continue
        indexed = layer.in_crs(epsg)
        near = indexed.tree.query(here, predicate="dwithin", distance=within_m)
        if len(near) == 0:
            continue
        edges = shapely.boundary(indexed.geometry[near])
        distance = shapely.distance(edges, here)
        k = int(np.argmin(distance))
        if distance[k] <= within_m and (best is None or distance[k] < best[0]):
            best = (float(distance[k]), edges[k], layer_id)
    if best is None:
        return None
    distance, edge, layer_id = best
    on_edge = shapely.get_point(shapely.shortest_line(edge, here), 0)  # the line runs from the edge to the point
    point = reproject(on_edge, epsg, CGCS2000)
    return BoundaryPoint(float(point.x), float(point.y), layer_id, layer_catalog()[layer_id].name_zh, distance)
