"""Parcel readers: GeoJSON (parsed here, so the CRS rule of DESIGN.md is explicit),
GeoPackage, zipped shapefile and KML through pyogrio."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import geopandas as gpd
import pyogrio
import shapely
from pyproj import CRS
from pyproj.exceptions import CRSError as ProjCRSError

from geo.errors import CRSError, FormatError

SUPPORTED_SUFFIXES = (".geojson", ".json", ".gpkg", ".zip", ".shp", ".kml")
GEOJSON_DEFAULT_CRS = "EPSG:4490"  # GeoJSON without a crs member: CGCS2000/WGS84 degrees


def parcels_from_geojson(obj: Any) -> gpd.GeoDataFrame:
    """A FeatureCollection, Feature or bare geometry as a frame with an explicit CRS."""
    if not isinstance(obj, dict) or "type" not in obj:
        raise FormatError("not a GeoJSON object", "不是 GeoJSON 对象")
    kind = obj["type"]
    if kind == "FeatureCollection":
        features = obj.get("features")
        if not isinstance(features, list):
            raise FormatError("FeatureCollection without a features list", "要素集合缺少 features 列表")
    elif kind == "Feature":
        features = [obj]
    else:
        features = [{"type": "Feature", "geometry": obj, "properties": {}}]
    geoms, props = [], []
    for n, feature in enumerate(features, start=1):
        if not isinstance(feature, dict) or not isinstance(feature.get("geometry"), dict):
            raise FormatError(f"feature {n} has no geometry", f"第 {n} 个要素没有几何")
        try:
            geoms.append(shapely.geometry.shape(feature["geometry"]))
        except (ValueError, TypeError, AttributeError, KeyError, IndexError) as exc:
            raise FormatError(
                f"feature {n}: unreadable geometry ({exc})", f"第 {n} 个要素：几何无法解析"
            ) from exc
        properties = feature.get("properties") or {}
        if not isinstance(properties, dict):
            raise FormatError(f"feature {n}: properties must be an object", f"第 {n} 个要素：属性须为对象")
        if "id" not in properties and "id" in feature:
            properties = {"id": feature["id"], **properties}
        props.append(properties)
    return gpd.GeoDataFrame(props, geometry=geoms, crs=_geojson_crs(obj))


def parse_geojson_bytes(data: bytes | str) -> gpd.GeoDataFrame:
    """Parcels from GeoJSON text, refusing what is not JSON or is nested beyond reason."""
    try:
        obj = json.loads(data)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise FormatError(f"not valid JSON ({exc})", "不是有效的 JSON") from exc
    except RecursionError as exc:
        raise FormatError("JSON nested too deeply", "JSON 嵌套层数过深") from exc
    return parcels_from_geojson(obj)


def _geojson_crs(obj: dict[str, Any]) -> CRS:
    member = obj.get("crs")
    if member is None:
        return CRS.from_user_input(GEOJSON_DEFAULT_CRS)
    try:
        return CRS.from_user_input(member["properties"]["name"])
    except (KeyError, TypeError, ProjCRSError) as exc:
        raise CRSError(f"unreadable GeoJSON crs member: {member!r}", "GeoJSON 的 crs 声明无法识别") from exc


def read_parcels(path: str | Path, *, layer: str | None = None) -> gpd.GeoDataFrame:
    """Read parcels from a file by its suffix; the frame always carries a CRS or raises."""
    path = Path(path)
    suffix = path.suffix.lower()
    if not path.is_file():
        raise FormatError(f"file not found: {path}", f"文件不存在：{path}")
    if suffix not in SUPPORTED_SUFFIXES:
        raise FormatError(
            f"unsupported parcel file {path.name!r}; use one of {', '.join(SUPPORTED_SUFFIXES)}",
            f"不支持的地块文件 {path.name!r}；支持：{'、'.join(SUPPORTED_SUFFIXES)}",
        )
    if suffix in (".geojson", ".json"):
        raw = path.read_bytes()
        return parse_geojson_bytes(raw[3:] if raw.startswith(b"\xef\xbb\xbf") else raw)
    source = f"/vsizip/{path}" if suffix == ".zip" else str(path)
    try:
        frame = gpd.read_file(source, layer=layer, engine="pyogrio")
    except (pyogrio.errors.DataSourceError, pyogrio.errors.DataLayerError) as exc:
        raise FormatError(f"{path.name}: cannot read ({exc})", f"{path.name}：无法读取") from exc
    if frame.crs is None:
        raise CRSError(
            f"{path.name} declares no CRS (a shapefile needs its .prj)",
            f"{path.name} 未声明坐标系（shapefile 需附 .prj 文件）",
        )
    return frame


def write_geojson(frame: gpd.GeoDataFrame, path: str | Path) -> None:
    frame.to_file(path, driver="GeoJSON", engine="pyogrio")
