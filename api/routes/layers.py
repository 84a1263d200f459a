"""The blueprint's layers: a catalog, and features by bounding box for web maps."""

from __future__ import annotations

import math
from typing import Annotated, Any, Literal

import numpy as np
from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

from api.compression import packed_response
from api.deps import BlueprintDep, PoolDep, VectorLayerDep, require
from api.jsonbody import JSONRoute
from geo.blueprint import VectorLayer, layer_summary
from geo.errors import InputError
from geo.io import features_geojson_text
from geo.review.result import plain_figure
from geo.snapping import nearest_boundary_point

router = APIRouter(route_class=JSONRoute, tags=["layers"], dependencies=[Depends(require("layers:read"))])


class LayerInfo(BaseModel):
    id: str
    name_zh: str
    name_en: str
    kind: Literal["vector", "raster"]
    features: int | None = Field(description="feature count (vector layers)")
    crs: str
    bbox: list[float] | None = Field(default=None, description="minlon, minlat, maxlon, maxlat (EPSG:4490)")
    size: list[int] | None = Field(default=None, description="width, height in pixels (raster layers)")


class LayerCatalog(BaseModel):
    blueprint: str
    blueprint_version: str = Field(description="the version served (build date + content hash)")
    synthetic: bool
    layers: list[LayerInfo]


class FeaturePage(BaseModel):
    """A GeoJSON FeatureCollection page (OGC API Features style)."""

    model_config = ConfigDict(extra="allow")

    type: Literal["FeatureCollection"]
    features: list[dict[str, Any]]
    numberMatched: int
    numberReturned: int
    next: dict[str, int] | None = None


@router.get("/layers", response_model=LayerCatalog, summary="Layer catalog: id, 中文 name, feature count, bbox, CRS")
def list_layers(blueprint: BlueprintDep) -> LayerCatalog:
    rows = [LayerInfo.model_validate(row) for row in layer_summary(blueprint)]
    return LayerCatalog(
        blueprint=blueprint.name, blueprint_version=blueprint.version, synthetic=blueprint.synthetic, layers=rows
    )


class BoundarySnap(BaseModel):
    """The nearest point of a layer's exact boundary (EPSG:4490), for a corner drawn on the viewer."""

    found: bool = Field(description="false: no boundary within the distance asked")
    lon: float | None = None
    lat: float | None = None
    layer: str | None = Field(default=None, description="the layer whose boundary it is")
    layer_name_zh: str | None = None
    distance_m: float | None = Field(default=None, description="from the point asked, in the GK zone (metres)")


@router.get(
    "/layers/nearest-boundary",
    response_model=BoundarySnap,
    response_model_exclude_none=True,
    summary="Snap a point onto the nearest exact layer boundary (界线吸附)",
)
async def nearest_boundary(
    blueprint: BlueprintDep,
    pool: PoolDep,
    # finite first: nan fails every bound, and was told "at most 180" (finite_number, 应为有限数值)
    lon: Annotated[float, Query(ge=-180, le=180, allow_inf_nan=False), BeforeValidator(plain_figure)],
    lat: Annotated[float, Query(ge=-90, le=90, allow_inf_nan=False), BeforeValidator(plain_figure)],
    within_m: Annotated[
        float,
        Query(gt=0, le=500, allow_inf_nan=False, description="search radius in metres"),
        BeforeValidator(plain_figure),
    ] = 10.0,
    layers: Annotated[str | None, Query(max_length=2000, description="comma list of layer ids; default all")] = None,
) -> BoundarySnap:
    ids = [s.strip() for s in layers.split(",") if s.strip()] if layers is not None else None
    if ids == []:  # "layers=," searched no layer and answered found: false, as if no boundary were near (probe)
        raise InputError(
            f"layers names no layer id ({layers!r}): give a comma list of layer ids, or leave it out for all layers",
            f"layers 中没有图层编号（{layers!r}）：请给出以逗号分隔的图层编号，或不填以查找全部图层",
        )
    unknown = sorted(set(ids or []) - set(blueprint.layers))
    if unknown:
        raise InputError(f"unknown layers {unknown}", f"蓝图中没有图层 {unknown}")
    rasters = [lid for lid in ids or [] if blueprint.vector(lid) is None]
    if rasters:  # skipped, they answered found: false, as if no boundary were near (probe)
        raise InputError(
            f"layers {rasters} are rasters: a raster has no boundary to snap to; name vector layers",
            f"图层 {rasters} 为栅格图层，没有可吸附的界线；请指定矢量图层",
        )
    hit = await pool.run(nearest_boundary_point, blueprint, lon, lat, within_m, ids)
    if hit is None:
        return BoundarySnap(found=False)
    return BoundarySnap(
        found=True,
        lon=hit.lon,
        lat=hit.lat,
        layer=hit.layer,
        layer_name_zh=hit.layer_name_zh,
        distance_m=round(hit.distance_m, 3),
    )


@router.get(
    "/layers/{layer_id}/items",
    response_model=FeaturePage,
    response_model_exclude_none=True,
    summary="Features of a vector layer as GeoJSON (EPSG:4490), paged; gzip where the client takes it",
)
async def layer_items(
    request: Request,
    layer: VectorLayerDep,
    pool: PoolDep,
    bbox: Annotated[str | None, Query(description="minlon,minlat,maxlon,maxlat", max_length=200)] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
) -> Response:
    box = _parse_bbox(bbox) if bbox is not None else None
    return await pool.run(_page_response, request, layer, box, limit, offset)


def _page_response(
    request: Request, layer: VectorLayer, box: tuple[float, float, float, float] | None, limit: int, offset: int
) -> Response:
    return packed_response(request, _page(layer, box, limit, offset).encode(), "application/json")


def _page(layer: VectorLayer, box: tuple[float, float, float, float] | None, limit: int, offset: int) -> str:
    """One page of the features meeting ``box`` (all without) as GeoJSON text, only that page reprojected to
    EPSG:4490: written as the review's record is (a city's 1,000 图斑 went through geopandas' writer, parsed
    back and validated before they were written again)."""
    matched = layer.meeting(box) if box is not None else np.arange(len(layer.frame))
    page = layer.in_4490(matched[offset : offset + limit])
    members: dict[str, Any] = {"numberMatched": len(matched), "numberReturned": len(page)}
    if offset + limit < len(matched):
        members["next"] = {"offset": offset + limit, "limit": limit}
    return features_geojson_text(page, members)


def _parse_bbox(text: str) -> tuple[float, float, float, float]:
    try:
        minx, miny, maxx, maxy = (float(plain_figure(v)) for v in text.split(","))  # 116.5_1 is no 116.51
    except ValueError as exc:
        raise InputError(
            f"bbox must be four numbers minlon,minlat,maxlon,maxlat; got {text!r}",
            "bbox 须为四个数：最小经度,最小纬度,最大经度,最大纬度",
        ) from exc
    if not all(math.isfinite(v) for v in (minx, miny, maxx, maxy)):  # float() reads nan and inf
        raise InputError(
            f"bbox must be four finite numbers minlon,minlat,maxlon,maxlat; got {text!r}",
            "bbox 须为四个有限数值：最小经度,最小纬度,最大经度,最大纬度",
        )
    if not (-180 <= minx < maxx <= 180 and -90 <= miny < maxy <= 90):
        raise InputError(f"bbox {text!r} is not a lon/lat box with min < max", f"bbox {text!r} 不是有效的经纬度范围")
    return minx, miny, maxx, maxy
