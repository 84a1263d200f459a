"""The blueprint's layers: a catalog, and features by bounding box for web maps."""

from __future__ import annotations

import json
from typing import Annotated, Any

import shapely
from fastapi import APIRouter, Depends, Query

from api.deps import BlueprintDep, require
from geo.blueprint import layer_summary
from geo.errors import InputError, NotFoundError

router = APIRouter(tags=["layers"])


@router.get("/layers", summary="Layer catalog: id, 中文 name, feature count, bbox, CRS")
def list_layers(blueprint: BlueprintDep, _who: Annotated[object, Depends(require("layers:read"))]) -> dict[str, Any]:
    return {"blueprint": blueprint.name, "synthetic": blueprint.synthetic, "layers": layer_summary(blueprint)}


@router.get("/layers/{layer_id}/items", summary="Features of a vector layer as GeoJSON (EPSG:4490), paged")
def layer_items(
    layer_id: str,
    blueprint: BlueprintDep,
    _who: Annotated[object, Depends(require("layers:read"))],
    bbox: Annotated[str | None, Query(description="minlon,minlat,maxlon,maxlat", max_length=200)] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
) -> dict[str, Any]:
    if layer_id not in blueprint.layers:
        raise NotFoundError(
            f"no layer {layer_id!r} in this blueprint; layers: {sorted(blueprint.layers)}",
            f"蓝图中没有图层 {layer_id!r}",
        )
    layer = blueprint.vector(layer_id)
    if layer is None:
        raise InputError(f"layer {layer_id!r} is a raster and has no features", f"图层 {layer_id!r} 为栅格，没有要素")
    indexed = layer.in_crs(4490)
    frame = indexed.frame
    if bbox is not None:
        hits = sorted(indexed.tree.query(_parse_bbox(bbox), predicate="intersects"))
        frame = frame.iloc[hits]
    matched = len(frame)
    page = frame.iloc[offset : offset + limit]
    collection = json.loads(page.to_json(drop_id=True))
    collection.update({"numberMatched": matched, "numberReturned": len(page)})
    if offset + limit < matched:
        collection["next"] = {"offset": offset + limit, "limit": limit}
    return collection


def _parse_bbox(text: str) -> shapely.Geometry:
    try:
        minx, miny, maxx, maxy = (float(v) for v in text.split(","))
    except ValueError as exc:
        raise InputError(
            f"bbox must be four numbers minlon,minlat,maxlon,maxlat; got {text!r}",
            "bbox 须为四个数：最小经度,最小纬度,最大经度,最大纬度",
        ) from exc
    if not (-180 <= minx < maxx <= 180 and -90 <= miny < maxy <= 90):
        raise InputError(f"bbox {text!r} is not a lon/lat box with min < max", f"bbox {text!r} 不是有效的经纬度范围")
    return shapely.box(minx, miny, maxx, maxy)
