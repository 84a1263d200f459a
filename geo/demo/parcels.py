"""The demo parcels: squares placed on the features of the case each one demonstrates.

The recipe lists the cases (``parcels:``); between them they reach every status of
every review item, which the tests check.
"""

from __future__ import annotations

from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from geo.demo.synthesis import random_points

# layers a "clean" parcel keeps 50 m away from
CONTROL_LAYERS = (
    "basic_farmland",
    "ecological_redline",
    "nature_reserve",
    "water_source",
    "mineral",
    "geohazard",
    "heritage",
    "flood_river",
    "illegal_use",
    "approved_unsupplied",
    "idle_land",
    "buried_heritage",
    "protected_forest",
    "basic_grassland",
    "important_wetland",
    "soil_pollution",
)
CLEAN_URBAN_CLASSES = ["0701", "0601", "05H1"]


def demo_parcels(
    rng: np.random.Generator,
    layers: dict[str, gpd.GeoDataFrame],
    cases: list[dict[str, Any]],
    *,
    urban: shapely.Geometry,
    steep: shapely.Geometry,
    county: shapely.Geometry,
    side: float,
    zone: int,
) -> gpd.GeoDataFrame:
    """The recipe's demo parcels (in ``zone``), each inside (or, ``place: edge``, across the edge of)
    the features of its case's ``layer`` filtered by ``where``; ``clean_urban`` is urban construction
    land clear of every control layer, ``steep`` the land steeper than 25° (``DemoLayers.steep``). Every
    parcel lies in ``county``, the one the detailed layers cover."""
    clean = urban
    for layer_id in CONTROL_LAYERS:
        clean = clean.difference(shapely.union_all(layers[layer_id].geometry.values).buffer(50))
    urban_land = layers["land_use"][layers["land_use"]["class_code"].isin(CLEAN_URBAN_CLASSES)]
    clean_urban = shapely.union_all(urban_land[urban_land.within(clean)].geometry.values)

    rows, geoms = [], []
    for case in cases:
        if case["layer"] == "clean_urban":
            area = clean_urban
        elif case["layer"] == "steep":
            area = steep
        else:
            frame = layers[case["layer"]]
            for column, value in case.get("where", {}).items():
                frame = frame[frame[column] == value]
            area = shapely.union_all(frame.geometry.values)
        size = side * float(case.get("size", 1.0))
        area = area.intersection(county)
        geoms.append(_on_edge(area, size, county) if case.get("place") == "edge" else _square_in(rng, area, size))
        rows.append(
            {"id": case["id"], "name": case["name"], "major_project": False, "redline_exempt": False, **case["project"]}
        )
    return gpd.GeoDataFrame(pd.DataFrame(rows), geometry=geoms, crs=zone)


def _square(centre: shapely.Point, size: float) -> shapely.Polygon:
    return shapely.box(centre.x - size / 2, centre.y - size / 2, centre.x + size / 2, centre.y + size / 2)


def _square_in(rng: np.random.Generator, area: shapely.Geometry, size: float) -> shapely.Polygon:
    """A square wholly inside ``area`` (200 tries), else a half-size one on a point of it."""
    for p in random_points(rng, area, 200):
        if area.contains(candidate := _square(p, size)):
            return candidate
    return _square(area.representative_point(), size / 2)


def _on_edge(area: shapely.Geometry, size: float, county: shapely.Geometry) -> shapely.Polygon:
    """A square half inside the largest part of ``area``: centred on a vertex of its boundary, the first
    whose square stays in ``county`` (a feature clipped to the county has vertices on the county line)."""
    largest = max(shapely.get_parts(area), key=lambda g: g.area)
    squares = (_square(shapely.Point(xy), size) for xy in largest.exterior.coords)
    return next((s for s in squares if county.contains(s)), _square(shapely.get_point(largest.exterior, 0), size))
