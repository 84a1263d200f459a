"""Parcel readers: GeoJSON (parsed here, so the CRS rule of DESIGN.md is explicit),
GeoPackage, zipped shapefile and KML through pyogrio."""

from __future__ import annotations

import json
import logging
import re
import tempfile
import warnings
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import geopandas as gpd
import pandas as pd
import pyogrio
import shapely
from pyproj import CRS
from pyproj.exceptions import CRSError as ProjCRSError

from geo.errors import CRSError, FormatError, TooLargeError
from geo.io.archive import extract_zip
from geo.io.coordtxt import parse_coordinate_text, write_coordinate_text

log = logging.getLogger(__name__)
SUPPORTED_SUFFIXES = (".geojson", ".json", ".gpkg", ".zip", ".shp", ".kml", ".kmz", ".txt", ".dxf")
GEOJSON_DEFAULT_CRS = "EPSG:4490"  # GeoJSON without a crs member: CGCS2000/WGS84 degrees
CHUNK_FEATURES = 500


@dataclass(frozen=True)
class ReadLimits:
    """What one input may hold, enforced while it is read (the reader stops at the first excess).

    ``max_bytes`` caps what an archive may expand to, ``max_text_bytes`` (default: the
    same) a text file (GeoJSON, coordinate text) wherever it comes from, since parsed
    JSON takes several times its size in memory; ``max_parcels`` and ``max_vertices``
    are counted as features are read, before any geometry work is spent on them.
    """

    max_bytes: int
    max_parcels: int
    max_vertices: int
    max_text_bytes: int | None = None

    @property
    def text_bytes(self) -> int:
        return self.max_text_bytes if self.max_text_bytes is not None else self.max_bytes

    def parcels(self, count: int) -> None:
        if count > self.max_parcels:
            raise TooLargeError(
                f"more than {self.max_parcels} parcels; the limit is {self.max_parcels}",
                f"地块数超过上限 {self.max_parcels}",
            )

    def vertices(self, count: int) -> None:
        if count > self.max_vertices:
            raise TooLargeError(
                f"more than {self.max_vertices} vertices; the limit is {self.max_vertices}",
                f"顶点数超过上限 {self.max_vertices}",
            )

    def size(self, count: int, what: str) -> None:
        if count > self.text_bytes:
            raise TooLargeError(
                f"{what}: {count} bytes; the limit is {self.text_bytes}",
                f"{what}：{count} 字节，超过 {self.text_bytes} 字节的上限",
            )


# "[" then a number: every GeoJSON position starts so (and so does any array of numbers in properties)
_POSITION_BYTES = re.compile(rb"\[\s*[-+0-9.]")
_POSITION_TEXT = re.compile(r"\[\s*[-+0-9.]")


def _precount_positions(data: bytes | str, limits: ReadLimits) -> None:
    """Refuse a text with more positions than allowed before ``json.loads`` builds it (a scan, ~4 ms/MB)."""
    matches = _POSITION_BYTES.finditer(data) if isinstance(data, bytes) else _POSITION_TEXT.finditer(data)
    for seen, _ in enumerate(matches, start=1):
        if seen > limits.max_vertices:
            limits.vertices(seen)


def _count_positions(geometry: dict[str, Any], limits: ReadLimits, seen: int) -> int:
    """Positions in a GeoJSON geometry object, counted without building it; raises past the limit."""
    stack: list[Any] = [geometry.get("coordinates")]
    pending = [g for g in geometry.get("geometries") or [] if isinstance(g, dict)][:1000]
    stack += [g.get("coordinates") for g in pending]
    while stack:
        item = stack.pop()
        if not isinstance(item, list) or not item:
            continue
        if not isinstance(item[0], list):  # a position [x, y(, z)]
            seen += 1
            continue
        if not isinstance(item[0][0] if item[0] else None, list):
            seen += len(item)  # a ring or line of positions
            limits.vertices(seen)
            continue
        stack.extend(item)
    limits.vertices(seen)
    return seen


def parcels_from_geojson(obj: Any, *, limits: ReadLimits | None = None) -> gpd.GeoDataFrame:
    """A FeatureCollection, Feature or bare geometry as a frame with an explicit CRS.

    With ``limits``, features and vertices are counted on the parsed JSON before any
    geometry is built.
    """
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
    if limits is not None:
        limits.parcels(len(features))
        seen = 0
        for feature in features:
            if isinstance(feature, dict) and isinstance(feature.get("geometry"), dict):
                seen = _count_positions(feature["geometry"], limits, seen)
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


def parse_geojson_bytes(data: bytes | str, *, limits: ReadLimits | None = None) -> gpd.GeoDataFrame:
    """Parcels from GeoJSON text, refusing what is not JSON or is nested beyond reason."""
    if limits is not None:
        limits.size(len(data), "GeoJSON")
        _precount_positions(data, limits)
    try:
        obj = json.loads(data)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise FormatError(f"not valid JSON ({exc})", "不是有效的 JSON") from exc
    except RecursionError as exc:
        raise FormatError("JSON nested too deeply", "JSON 嵌套层数过深") from exc
    return parcels_from_geojson(obj, limits=limits)


def user_crs(text: Any) -> CRS:
    """A CRS named by a user (``EPSG:4527``, a WKT or a PROJ CRS string), or :class:`CRSError`.

    Only a geographic or projected CRS is accepted: PROJ pipelines, transformations
    and other operations are refused, as is anything too long to be a CRS name.
    """
    if not isinstance(text, str) or not text.strip() or len(text) > 4096:
        raise CRSError("a CRS must be given as text such as EPSG:4527", "坐标系须以文本给出，如 EPSG:4527")
    shown = text[:80]
    lowered = text.lower()
    if "+proj=pipeline" in lowered or "+step" in lowered or "+inv" in lowered:
        raise CRSError(f"{shown!r} is a PROJ pipeline, not a CRS", f"{shown!r} 是 PROJ 转换管道，不是坐标系")
    try:
        crs = CRS.from_user_input(text)
    except (ProjCRSError, ValueError, TypeError) as exc:
        raise CRSError(f"unknown CRS {shown!r}", f"无法识别的坐标系 {shown!r}") from exc
    if not (crs.is_geographic or crs.is_projected) or crs.is_bound or crs.is_compound:
        raise CRSError(f"{shown!r} is not a geographic or projected CRS", f"{shown!r} 不是地理坐标系或投影坐标系")
    return crs


def _geojson_crs(obj: dict[str, Any]) -> CRS:
    member = obj.get("crs")
    if member is None:
        return CRS.from_user_input(GEOJSON_DEFAULT_CRS)
    try:
        name = member["properties"]["name"]
    except (KeyError, TypeError) as exc:
        raise CRSError("unreadable GeoJSON crs member", "GeoJSON 的 crs 声明无法识别") from exc
    try:
        return user_crs(name)
    except CRSError as exc:
        raise CRSError(
            f"unreadable GeoJSON crs member: {exc.message_en}", f"GeoJSON 的 crs 声明无法识别：{exc.message_zh}"
        ) from exc


def read_parcels(
    path: str | Path,
    *,
    layer: str | None = None,
    crs: str | None = None,
    limits: ReadLimits | None = None,
    line_buffer: float | None = None,
) -> gpd.GeoDataFrame:
    """Read parcels from a file by its suffix; the frame always carries a CRS or raises.

    ``crs`` is for files that cannot carry one (DXF, a shapefile without .prj); it never
    overrides a CRS the file declares. With ``limits``, sizes, features and vertices
    are checked while reading: an archive is extracted under a byte budget, GDAL
    formats are read in chunks of features, and reading stops at the first excess.
    ``line_buffer`` (metres each side) turns the ``线``/``点`` records of a coordinate
    text into corridors; other formats do not take it.
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if line_buffer is not None and suffix != ".txt":
        raise FormatError(
            f"a line buffer applies to coordinate text (.txt) files, not {path.name!r}",
            f"线状缓冲只适用于界址点坐标文本（.txt），不适用于 {path.name!r}",
        )
    if not path.is_file():
        raise FormatError(f"file not found: {path}", f"文件不存在：{path}")
    if suffix not in SUPPORTED_SUFFIXES:
        raise FormatError(
            f"unsupported parcel file {path.name!r}; use one of {', '.join(SUPPORTED_SUFFIXES)}",
            f"不支持的地块文件 {path.name!r}；支持：{'、'.join(SUPPORTED_SUFFIXES)}",
        )
    if suffix in (".zip", ".kmz"):
        with tempfile.TemporaryDirectory(prefix="lantu-zip-") as tmp:
            budget = {"max_total": limits.max_bytes} if limits is not None else {}
            files = extract_zip(path, Path(tmp), **budget)
            wanted = (".shp", ".gpkg", ".kml", ".geojson") if suffix == ".zip" else (".kml",)
            found = [f for f in files if f.suffix.lower() in wanted]
            if len(found) != 1:
                raise FormatError(
                    f"{path.name}: expected one {'/'.join(wanted)} file inside, found {len(found)}",
                    f"{path.name}：压缩包内应有且只有一个 {'/'.join(wanted)} 文件，实际 {len(found)} 个",
                )
            frame = _read_file(found[0], layer=layer, crs=crs, limits=limits, shown=path.name)
            if frame.crs is None and suffix == ".kmz":
                frame = frame.set_crs(4326)
            return frame
    return _read_file(path, layer=layer, crs=crs, limits=limits, shown=path.name, line_buffer=line_buffer)


def _read_file(
    path: Path,
    *,
    layer: str | None,
    crs: str | None,
    limits: ReadLimits | None,
    shown: str,
    line_buffer: float | None = None,
) -> gpd.GeoDataFrame:
    suffix = path.suffix.lower()
    if limits is not None and suffix in (".geojson", ".json", ".txt"):
        limits.size(path.stat().st_size, shown)
    if suffix in (".geojson", ".json"):
        raw = path.read_bytes()
        return parse_geojson_bytes(raw[3:] if raw.startswith(b"\xef\xbb\xbf") else raw, limits=limits)
    if suffix == ".txt":
        frame = parse_coordinate_text(path.read_bytes(), line_buffer=line_buffer)
        if limits is not None:
            limits.parcels(len(frame))
            limits.vertices(int(shapely.get_num_coordinates(frame.geometry.values).sum()))
        return frame
    try:
        frame = _read_gdal(path, layer=layer, limits=limits, entity_factor=10 if suffix == ".dxf" else 1)
    except (pyogrio.errors.DataSourceError, pyogrio.errors.DataLayerError) as exc:
        log.info("GDAL could not read %s: %s", path, exc)
        raise FormatError(
            f"{shown}: not a readable {suffix.lstrip('.')} file",
            f"{shown}：无法读取，文件损坏或格式不符",
        ) from exc
    if suffix == ".dxf":
        frame = _dxf_polygons(frame, shown)
    if frame.crs is None and suffix in (".kml", ".kmz"):
        frame = frame.set_crs(4326)  # KML is WGS84 by definition
    if frame.crs is None and crs is not None:
        frame = frame.set_crs(user_crs(crs))
    if frame.crs is None:
        raise CRSError(
            f"{shown} declares no CRS (a shapefile needs its .prj; for DXF give the CRS, e.g. --crs EPSG:4527)",
            f"{shown} 未声明坐标系（shapefile 需附 .prj 文件；DXF 请指定坐标系，如 --crs EPSG:4527）",
        )
    return frame


def _read_gdal(path: Path, *, layer: str | None, limits: ReadLimits | None, entity_factor: int = 1) -> gpd.GeoDataFrame:
    """Read with pyogrio; under ``limits``, in chunks of features, counting vertices as it goes."""
    if limits is None:
        return gpd.read_file(path, layer=layer, engine="pyogrio")
    max_features = limits.max_parcels * entity_factor
    declared = pyogrio.read_info(path, layer=layer).get("features", -1)
    if declared is not None and declared > max_features:
        limits.parcels(declared // entity_factor + 1)
    chunks: list[gpd.GeoDataFrame] = []
    read = vertices = 0
    while True:
        chunk = gpd.read_file(path, layer=layer, engine="pyogrio", skip_features=read, max_features=CHUNK_FEATURES)
        if len(chunk) == 0:
            break
        read += len(chunk)
        if read > max_features:
            limits.parcels(read // entity_factor + 1)
        vertices += int(shapely.get_num_coordinates(chunk.geometry.values).sum())
        limits.vertices(vertices)
        chunks.append(chunk)
        if len(chunk) < CHUNK_FEATURES:
            break
    if not chunks:
        return gpd.read_file(path, layer=layer, engine="pyogrio", max_features=0)
    if len(chunks) == 1:
        return chunks[0]
    return gpd.GeoDataFrame(pd.concat(chunks, ignore_index=True), crs=chunks[0].crs)


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


def write_parcels(
    frame: gpd.GeoDataFrame, path: str | Path, *, encoding: str = "utf-8", producer: str | None = None
) -> Path:
    """Write parcels by the suffix of ``path``; ``encoding`` and ``producer`` (数据产生单位) apply to
    the coordinate text (.txt)."""
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
            path.write_bytes(write_coordinate_text(frame, producer=producer).encode(encoding))
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
