"""Parcel readers: GeoJSON (parsed here, so the CRS rule of DESIGN.md is explicit),
GeoPackage, zipped shapefile and KML through pyogrio."""

from __future__ import annotations

import json
import logging
import tempfile
import warnings
import zipfile
from pathlib import Path
from typing import Any

import geopandas as gpd
import pyogrio
import shapely
from pyproj import CRS
from pyproj.exceptions import CRSError as ProjCRSError

from geo.errors import CRSError, FormatError
from geo.io.archive import check_zip
from geo.io.coordtxt import parse_coordinate_text, write_coordinate_text

log = logging.getLogger(__name__)
SUPPORTED_SUFFIXES = (".geojson", ".json", ".gpkg", ".zip", ".shp", ".kml", ".kmz", ".txt", ".dxf")
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
            with warnings.catch_warnings():  # NaN coordinates: refused with a reason by check_coordinates
                warnings.simplefilter("ignore", RuntimeWarning)
                geoms.append(shapely.geometry.shape(feature["geometry"]))
        except (
            ValueError,
            TypeError,
            AttributeError,
            KeyError,
            IndexError,
            shapely.errors.ShapelyError,
        ) as exc:
            raise FormatError(f"feature {n}: unreadable geometry ({exc})", f"第 {n} 个要素：几何无法解析") from exc
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


def read_parcels(path: str | Path, *, layer: str | None = None, crs: str | None = None) -> gpd.GeoDataFrame:
    """Read parcels from a file by its suffix; the frame always carries a CRS or raises.

    ``crs`` is for files that cannot carry one (DXF, a shapefile without .prj); it never
    overrides a CRS the file declares.
    """
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
    if suffix == ".txt":
        return parse_coordinate_text(path.read_bytes())
    source = str(path)
    if suffix in (".zip", ".kmz"):
        entries = check_zip(path)
        wanted = (".shp", ".gpkg", ".kml", ".geojson") if suffix == ".zip" else (".kml",)
        found = [e for e in entries if Path(e).suffix.lower() in wanted]
        if len(found) != 1:
            raise FormatError(
                f"{path.name}: expected one {'/'.join(wanted)} file inside, found {len(found)}",
                f"{path.name}：压缩包内应有且只有一个 {'/'.join(wanted)} 文件，实际 {len(found)} 个",
            )
        source = f"/vsizip/{path}/{found[0]}"
    try:
        frame = gpd.read_file(source, layer=layer, engine="pyogrio")
    except (pyogrio.errors.DataSourceError, pyogrio.errors.DataLayerError) as exc:
        log.info("GDAL could not read %s: %s", path, exc)
        raise FormatError(
            f"{path.name}: not a readable {suffix.lstrip('.')} file",
            f"{path.name}：无法读取，文件损坏或格式不符",
        ) from exc
    if suffix == ".dxf":
        frame = _dxf_polygons(frame, path.name)
    if frame.crs is None and suffix in (".kml", ".kmz"):
        frame = frame.set_crs(4326)  # KML is WGS84 by definition
    if frame.crs is None and crs is not None:
        try:
            frame = frame.set_crs(crs)
        except (ValueError, TypeError, ProjCRSError) as exc:
            raise CRSError(f"unknown CRS {crs!r}", f"无法识别的坐标系 {crs!r}") from exc
    if frame.crs is None:
        raise CRSError(
            f"{path.name} declares no CRS (a shapefile needs its .prj; for DXF give the CRS, e.g. --crs EPSG:4527)",
            f"{path.name} 未声明坐标系（shapefile 需附 .prj 文件；DXF 请指定坐标系，如 --crs EPSG:4527）",
        )
    return frame


def _dxf_polygons(frame: gpd.GeoDataFrame, name: str) -> gpd.GeoDataFrame:
    """Parcels in a CAD drawing: closed polylines become polygons; open lines, points and text are dropped."""
    geoms = frame.geometry.values
    rings = shapely.is_closed(geoms) & (shapely.get_type_id(geoms) == shapely.GeometryType.LINESTRING)
    polygons = shapely.get_type_id(geoms) == shapely.GeometryType.POLYGON
    keep = frame[rings | polygons].copy()
    keep["geometry"] = [shapely.Polygon(g) if g.geom_type == "LineString" else g for g in keep.geometry]
    if keep.empty:
        raise FormatError(f"{name}: no closed polylines or polygons in the drawing", f"{name}：图中没有闭合多段线或面")
    return keep[["Layer", "geometry"]].rename(columns={"Layer": "cad_layer"}).reset_index(drop=True)


WRITABLE_SUFFIXES = (".geojson", ".json", ".gpkg", ".zip", ".kml", ".kmz", ".dxf", ".txt")


def write_parcels(frame: gpd.GeoDataFrame, path: str | Path, *, encoding: str = "utf-8") -> Path:
    """Write parcels by the suffix of ``path``; ``encoding`` applies to the coordinate text (.txt)."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in WRITABLE_SUFFIXES:
        raise FormatError(
            f"cannot write {path.name!r}; use one of {', '.join(WRITABLE_SUFFIXES)}",
            f"无法写出 {path.name!r}；支持：{'、'.join(WRITABLE_SUFFIXES)}",
        )
    columns = [c for c in frame.columns if c != frame.geometry.name]
    plain = frame[[*columns, frame.geometry.name]].copy()
    for column in columns:  # lists and dicts from GeoJSON properties do not fit every format
        if plain[column].map(lambda v: isinstance(v, list | dict)).any():
            plain[column] = plain[column].map(json.dumps)
    if suffix == ".txt":
        try:
            path.write_bytes(write_coordinate_text(frame).encode(encoding))
        except UnicodeEncodeError as exc:
            raise FormatError(
                f"the parcels' text cannot be written as {encoding}", f"地块文字无法以 {encoding} 编码写出"
            ) from exc
    elif suffix in (".geojson", ".json"):
        plain.to_crs(4490).to_file(path, driver="GeoJSON", engine="pyogrio")
    elif suffix == ".kml":
        plain.to_crs(4326).to_file(path, driver="KML", engine="pyogrio")
    elif suffix == ".kmz":  # a zip holding doc.kml
        with tempfile.TemporaryDirectory() as tmp:
            kml = Path(tmp) / "doc.kml"
            plain.to_crs(4326).to_file(kml, driver="KML", engine="pyogrio")
            with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
                archive.write(kml, "doc.kml")
    elif suffix == ".dxf":  # CAD keeps no CRS or attributes: geometry in the frame's (projected) CRS
        gpd.GeoDataFrame(geometry=plain.geometry.values, crs=None).to_file(path, driver="DXF", engine="pyogrio")
    elif suffix == ".gpkg":
        plain.to_file(path, driver="GPKG", engine="pyogrio")
    else:  # a zipped shapefile, UTF-8 attributes declared in a .cpg
        with tempfile.TemporaryDirectory() as tmp:
            shp = Path(tmp) / f"{path.stem}.shp"
            plain.to_file(shp, driver="ESRI Shapefile", engine="pyogrio", encoding="UTF-8")
            with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
                for part in sorted(Path(tmp).iterdir()):
                    archive.write(part, part.name)
    return path
