"""What changed between two blueprints, layer by layer, before a yearly update goes live.

Features are matched by their exact geometry (normalised, to the millimetre, in the new
blueprint's CRS for that layer) and their standard attributes: a feature of NEW with no match
in OLD is added, one of OLD with none in NEW is removed, and a geometry found in both with other
attributes counts as changed attributes (三调 年度变更: a patch re-classed in place).
"""

from __future__ import annotations

from collections import Counter

import numpy as np
import shapely
from pydantic import BaseModel, Field

from geo.blueprint import Blueprint, RasterLayer, VectorLayer
from geo.crs import gk3_epsg_for_longitude
from geo.io.blueprint import file_sha256

PRECISION_M = 0.001


class LayerDiff(BaseModel):
    layer: str
    kind: str = Field(default="vector", description="vector | raster (a raster's grid and pixels, compared whole)")
    status: str = Field(description="changed | unchanged | added | removed (the whole layer)")
    old_features: int = Field(description="features; a raster's pixels")
    new_features: int = Field(description="features; a raster's pixels")
    added: int
    removed: int
    attributes_changed: int
    old_area_m2: float | None = Field(description="None for a raster")
    new_area_m2: float | None = Field(description="None for a raster")
    added_m2: float | None = Field(description="area of the added features; None for a raster")
    removed_m2: float | None = Field(description="area of the removed features; None for a raster")


class BlueprintDiff(BaseModel):
    old_version: str
    new_version: str
    layers: list[LayerDiff]


def diff_blueprints(old: Blueprint, new: Blueprint) -> BlueprintDiff:
    """Per vector layer: features added, removed, attributes changed, and the areas (in m², GK); per raster layer
    (坡度): whether its grid or pixels changed (it was left out, unsaid)."""
    rows = []
    for layer_id in sorted(set(old.layers) | set(new.layers)):
        a, b = old.vector(layer_id), new.vector(layer_id)
        if a is None and b is None:
            rows.append(_compare_raster(layer_id, old.raster(layer_id), new.raster(layer_id)))
            continue
        epsg = _metric_epsg(b or a)  # type: ignore[arg-type]
        ka = _keys(a, epsg) if a is not None else ([], [], np.array([]))
        kb = _keys(b, epsg) if b is not None else ([], [], np.array([]))
        rows.append(_compare(layer_id, ka, kb, a is not None, b is not None))
    return BlueprintDiff(old_version=old.version, new_version=new.version, layers=rows)


def _compare_raster(layer_id: str, old: RasterLayer | None, new: RasterLayer | None) -> LayerDiff:
    """A raster layer's grid (CRS, transform, size) and its pixels (the file's bytes, hashed) compared whole."""
    pixels = [0 if r is None else r.width * r.height for r in (old, new)]
    if old is None or new is None:
        status = "added" if old is None else "removed"
    else:
        same_grid = (old.crs, old.transform, old.width, old.height) == (new.crs, new.transform, new.width, new.height)
        status = "unchanged" if same_grid and file_sha256(old.source) == file_sha256(new.source) else "changed"
    return LayerDiff(
        layer=layer_id,
        kind="raster",
        status=status,
        old_features=pixels[0],
        new_features=pixels[1],
        added=0,
        removed=0,
        attributes_changed=0,
        old_area_m2=None,
        new_area_m2=None,
        added_m2=None,
        removed_m2=None,
    )


def _metric_epsg(layer: VectorLayer) -> int:
    crs = layer.frame.crs
    if crs.is_projected:
        return int(crs.to_epsg())
    minx, _, maxx, _ = layer.frame.total_bounds
    return gk3_epsg_for_longitude((minx + maxx) / 2)


def _keys(layer: VectorLayer, epsg: int) -> tuple[list[bytes], list[tuple[object, ...]], np.ndarray]:
    frame = layer.in_crs(epsg).frame
    geoms = shapely.normalize(shapely.set_precision(np.asarray(frame.geometry.values, dtype=object), PRECISION_M))
    attrs = frame.drop(columns="geometry").astype(object).where(frame.drop(columns="geometry").notna(), None)
    return list(shapely.to_wkb(geoms)), [tuple(r) for r in attrs.itertuples(index=False)], shapely.area(geoms)


def _compare(
    layer_id: str,
    old: tuple[list[bytes], list[tuple[object, ...]], np.ndarray],
    new: tuple[list[bytes], list[tuple[object, ...]], np.ndarray],
    had: bool,
    has: bool,
) -> LayerDiff:
    old_full = Counter(zip(old[0], old[1], strict=True))
    new_full = Counter(zip(new[0], new[1], strict=True))
    gone = old_full - new_full
    came = new_full - old_full
    gone_geoms = Counter(g for (g, _), n in gone.items() for _ in range(n))
    came_geoms = Counter(g for (g, _), n in came.items() for _ in range(n))
    reattributed = sum((gone_geoms & came_geoms).values())
    area_of = {g: float(a) for g, a in zip([*old[0], *new[0]], [*old[2], *new[2]], strict=True)}
    added_m2 = sum(area_of[g] * n for g, n in (came_geoms - gone_geoms).items())
    removed_m2 = sum(area_of[g] * n for g, n in (gone_geoms - came_geoms).items())
    added = sum(came.values()) - reattributed
    removed = sum(gone.values()) - reattributed
    status = (
        "added" if not had else "removed" if not has else "changed" if added or removed or reattributed else "unchanged"
    )
    return LayerDiff(
        layer=layer_id,
        status=status,
        old_features=len(old[0]),
        new_features=len(new[0]),
        added=added,
        removed=removed,
        attributes_changed=reattributed,
        old_area_m2=round(float(np.sum(old[2])), 2),
        new_area_m2=round(float(np.sum(new[2])), 2),
        added_m2=round(added_m2, 2),
        removed_m2=round(removed_m2, 2),
    )
