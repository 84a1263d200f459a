"""Parcel readers: GeoJSON (parsed here, so the CRS rule of DESIGN.md is explicit),
GeoPackage, zipped shapefile and KML through pyogrio."""

from __future__ import annotations

import json
import logging
import re
import struct
import tempfile
import warnings
import zipfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final, NamedTuple
from xml.parsers import expat

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import shapely
from pandas.api.types import is_scalar
from pyproj import CRS
from pyproj.exceptions import CRSError as ProjCRSError

from geo.crs import proj_definition, undefined_crs, zone_for_geometry
from geo.errors import CRSError, FormatError, InputError, TooLargeError
from geo.forked import gdal_call, gdal_gate
from geo.geometry import left_out_parts
from geo.io.archive import extract_zip
from geo.io.content import check_content
from geo.io.coordtxt import KEPT_COLUMNS as COORDINATE_TEXT_COLUMNS
from geo.io.coordtxt import parse_coordinate_text, rewritten_texts, write_coordinate_text
from geo.io.dbf import CPG_BYTES, DBF_NAME, Dbf, check_declared, cpg_codec, cpg_name, sidecar
from geo.io.encoding import decoded, field_rows, undeclared_codec
from geo.io.files import input_file
from geo.io.jsonkeys import one_key_each
from geo.vocabulary import CONTROL_CHARACTERS, first_few, id_text, is_blank

log = logging.getLogger(__name__)
SUPPORTED_SUFFIXES = (".geojson", ".json", ".gpkg", ".zip", ".shp", ".kml", ".kmz", ".txt", ".dxf")
GEOJSON_DEFAULT_CRS = "EPSG:4490"  # GeoJSON without a crs member: CGCS2000/WGS84 degrees
CHUNK_FEATURES = 500
MAX_JSON_DIGITS = 40  # an integer in a parcel file: a 不动产单元号 has 28 characters
# distinct property names in one GeoJSON: the frame holds features × names cells, and 400 features of 100 names of
# their own (0.6 MB) made 16 million (2 GB); a 三调-derived parcel table has a few dozen fields
MAX_PROPERTY_NAMES = 200
MAX_CRS_TEXT = 4096  # a CRS named by a user: a Gauss-Krüger zone's WKT2 is about 1,100 characters


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


COORDINATE_DEPTH = 4  # lists in a MultiPolygon's coordinates: polygons, rings, positions, numbers


def _positions(geometry: Any) -> int:
    """Positions a GeoJSON geometry object gives (a collection's members, nested ones too), counted on
    the parsed JSON without building anything: the vertex limit reads them, and a geometry shapely
    built with more has had rings closed (RFC 7946 3.1.6 requires them closed). Coordinates nested deeper than
    a MultiPolygon's are refused here: shapely reads them recursively (900 levels raised a RecursionError)."""
    count, stack = 0, [(geometry, 0)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):  # a geometry: its coordinates, or a collection's members
            stack.append((item.get("coordinates"), 0))
            if isinstance(members := item.get("geometries"), list | tuple):
                stack.extend((g, 0) for g in members if isinstance(g, dict))
        elif _listed(item) and len(item):
            if depth > COORDINATE_DEPTH - 2:  # a ring's list is the third level, its positions the fourth
                raise FormatError(
                    f"coordinates nested deeper than GeoJSON's {COORDINATE_DEPTH} levels (a MultiPolygon's)",
                    f"坐标嵌套超过 GeoJSON 的 {COORDINATE_DEPTH} 层（多面的层数）",
                )
            if not _listed(item[0]):
                count += 1  # a position [x, y(, z)]
            elif len(item[0]) and not _listed(item[0][0]):
                count += len(item)  # a ring or line of positions
            else:
                stack.extend((member, depth + 1) for member in item)
    return count


def _listed(value: Any) -> bool:
    return isinstance(value, list | tuple | np.ndarray)


POSITION_NUMBERS = 3  # what a position gives an area: x, y and a height z (shapely reads no more)


def _without_measures(geometry: dict[str, Any]) -> tuple[dict[str, Any], int]:
    """``geometry`` with every position cut to [x, y, z], and how many positions were cut. GPS tracks and
    QGIS write a measure (M) fourth, which shapely refuses ("dimension should be 2 or 3"); RFC 7946 3.1.1
    lets a parser ignore it, and an area has no use for it. A position of fewer than two numbers, or a line
    mixing [x, y] with [x, y, z], is refused here in words (numpy's were about array shapes)."""
    cut, count = _cut_positions(geometry.get("coordinates"))
    members = geometry.get("geometries")
    if isinstance(members, list | tuple):  # a collection: its members, nested collections too
        parts = [_without_measures(g) if isinstance(g, dict) else (g, 0) for g in members]
        if (inside := sum(n for _, n in parts)) > 0:
            geometry, count = {**geometry, "geometries": [g for g, _ in parts]}, count + inside
    return ({**geometry, "coordinates": cut}, count) if cut is not geometry.get("coordinates") else (geometry, count)


def _cut_positions(coordinates: Any) -> tuple[Any, int]:
    """GeoJSON coordinates with each position cut to ``POSITION_NUMBERS`` elements (the same object where
    none is longer) and how many were; what is not an array of positions is left for shapely to refuse."""
    if not _listed(coordinates) or not len(coordinates):
        return coordinates, 0
    if not _listed(coordinates[0]):  # a point's one position
        cut, count = _cut_line([coordinates])
        return (cut[0] if count else coordinates), count
    if len(coordinates[0]) and not _listed(coordinates[0][0]):  # a line or ring: its positions
        return _cut_line(coordinates)
    parts = [_cut_positions(part) for part in coordinates]
    count = sum(n for _, n in parts)
    return ([c for c, _ in parts] if count else coordinates), count


def _cut_line(positions: Any) -> tuple[Any, int]:
    """A line's or ring's positions cut to [x, y, z] (the same object where none is longer) and how many
    were cut; refused where a position has fewer than two numbers or the line mixes two and three."""
    try:
        lengths = set(map(len, positions))
    except TypeError:  # a member with no length (a number where a position belongs): shapely says so
        return positions, 0
    if min(lengths) < 2:
        raise FormatError(
            f"a position of {min(lengths)} number(s): each needs [x, y] or [x, y, z]",
            f"有坐标只含 {min(lengths)} 个数：每个坐标须为 [x, y] 或 [x, y, z]",
        )
    _numbers_only(positions)
    count = 0
    if max(lengths) > POSITION_NUMBERS:
        count = sum(1 for p in positions if len(p) > POSITION_NUMBERS)
        positions = [p[:POSITION_NUMBERS] for p in positions]
        lengths = {min(n, POSITION_NUMBERS) for n in lengths}
    if len(lengths) > 1:
        raise FormatError(
            "a line or ring mixes positions of [x, y] and [x, y, z]: give each the same numbers",
            "同一条线或同一个圈中既有 [x, y] 又有 [x, y, z] 坐标：请统一坐标的维数",
        )
    return positions, count


def _numbers_only(positions: Any) -> None:
    """Refuse a coordinate written as text ("116.6") or true/false: RFC 7946 has numbers, and numpy read
    "116.6" as 116.6 and true as 1 (probe), so a file other readers refuse was reviewed (a set of the types
    is 2 % of the parse)."""
    if odd := {type(v) for p in positions for v in p} & {str, bool}:
        shown = json.dumps(next(v for p in positions for v in p if type(v) in odd), ensure_ascii=False)[:24]
        raise FormatError(
            f"a coordinate given as {shown}: GeoJSON coordinates are numbers (RFC 7946), written without quotes",
            f"有坐标写作 {shown}：GeoJSON 的坐标须为数字（RFC 7946），不加引号",
        )


def parcels_from_geojson(obj: Any, *, limits: ReadLimits | None = None, crs: str | None = None) -> gpd.GeoDataFrame:
    """A FeatureCollection, Feature or bare geometry as a frame with an explicit CRS: its ``crs``
    member's, else ``crs`` (the CRS a caller names for a body that declares none, such as GK
    coordinates), else EPSG:4490 degrees.

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
    given = [
        _positions(f["geometry"]) if isinstance(f, dict) and isinstance(f.get("geometry"), dict) else 0
        for f in features
    ]
    if limits is not None:
        limits.vertices(sum(given))
    geoms, props, warned = [], [], []
    names: set[str] = set()  # every property name so far: the frame has a column for each, a cell per feature
    for n, feature in enumerate(features, start=1):
        if not isinstance(feature, dict) or not isinstance(feature.get("geometry"), dict):
            raise FormatError(f"feature {n} has no geometry", f"第 {n} 个要素没有几何")
        try:
            geometry, measured = _without_measures(feature["geometry"])
            with warnings.catch_warnings():  # NaN coordinates: refused with a reason by check_coordinates
                warnings.simplefilter("ignore", RuntimeWarning)
                geoms.append(shapely.geometry.shape(geometry))
        except FormatError as exc:
            raise FormatError(f"feature {n}: {exc.message_en}", f"第 {n} 个要素：{exc.message_zh}") from exc
        except (
            ValueError,
            TypeError,
            AttributeError,
            KeyError,
            IndexError,
            OverflowError,  # an integer beyond a double's range (10**400), from a JSON body parsed elsewhere
            shapely.errors.ShapelyError,
        ) as exc:
            # shapely's own words where it has them; a KeyError's are a bare key ("unreadable geometry (0)")
            kind = str(feature["geometry"].get("type"))[:20]
            why = str(exc) if isinstance(exc, ValueError | shapely.errors.ShapelyError) else ""
            why = why or f"its coordinates are not arrays of [x, y] numbers as a {kind} needs"
            raise FormatError(f"feature {n}: unreadable geometry ({why})", f"第 {n} 个要素：几何无法解析") from exc
        if measured:
            warned.append(
                f"feature {n}: {measured} position(s) give more than x, y, z (a measure M); read without it"
                f" (第 {n} 个要素有 {measured} 个坐标含 x、y、z 之外的值（M 值），已忽略)"
            )
        if (unclosed := int(shapely.get_num_coordinates(geoms[-1])) - given[n - 1]) > 0:
            warned.append(
                f"feature {n}: {unclosed} ring(s) not closed; closed them"
                f" (第 {n} 个要素有 {unclosed} 个圈未闭合，已自动闭合)"
            )
        properties = feature.get("properties") or {}
        if not isinstance(properties, dict):
            raise FormatError(f"feature {n}: properties must be an object", f"第 {n} 个要素：属性须为对象")
        if "id" not in properties and "id" in feature:
            properties = {"id": feature["id"], **properties}
        _check_unicode(properties, n)
        props.append(properties)
        names.update(properties)
        if len(names) > MAX_PROPERTY_NAMES:
            raise FormatError(
                f"the features carry more than {MAX_PROPERTY_NAMES} distinct property names (by feature {n}): a "
                "parcel file's attribute table has one set of fields",
                f"要素的属性名合计超过 {MAX_PROPERTY_NAMES} 个（至第 {n} 个要素）：地块文件的属性表应为同一组字段",
            )
    declared = obj.get("crs") is not None
    frame = gpd.GeoDataFrame(props, geometry=geoms, crs=_geojson_crs(obj) if declared or crs is None else user_crs(crs))
    if warned:
        frame.attrs["warnings"] = warned
    _finite_heights(frame, None)
    frame = _points_and_lines_left_out(frame, None)
    return _given_crs_unused(frame, crs, "the GeoJSON", "该 GeoJSON") if declared else frame


def _finite_heights(frame: gpd.GeoDataFrame, shown: str | None) -> None:
    """Refuse a parcel with a height (z) that is no finite number: x and y are checked (``check_coordinates``), z
    was not, so a GeoJSON z of 1e999 or a KML altitude of inf was reviewed and the parcels kept for the review's
    record with a position [x, y, null], which no GeoJSON reader takes back (known leftover)."""
    geoms = np.asarray(frame.geometry.values, dtype=object)
    with_z = np.flatnonzero(shapely.has_z(geoms))
    if not len(with_z):
        return
    points, owner = shapely.get_coordinates(geoms[with_z], include_z=True, return_index=True)
    infinite = np.flatnonzero(~np.isfinite(points[:, 2]))
    if not len(infinite):
        return
    bad = int(with_z[owner[infinite[0]]])
    named_en, named_zh = (f"{shown}: ", f"{shown}：") if shown else ("", "")
    raise FormatError(
        f"{named_en}feature {bad + 1}: a height (z) that is no finite number (infinite or NaN); give each position "
        "a finite z, or none",
        f"{named_zh}第 {bad + 1} 个要素：有坐标的高程（z）不是有限数值（无穷大或 NaN）；请给出有限的高程，或不写高程",
    )


def _points_and_lines_left_out(frame: gpd.GeoDataFrame, shown: str | None) -> gpd.GeoDataFrame:
    """``frame`` with a warning naming the points and lines its geometry collections (a KML MultiGeometry) hold
    beside polygons: the polygons are the parcel, and what has no area was dropped unsaid (probe)."""
    found = left_out_parts(np.asarray(frame.geometry.values, dtype=object))
    if not found:
        return frame
    which_en = first_few([f"#{k + 1}: {'/'.join(kinds)}" for k, kinds in found.items()])
    which_zh = first_few([f"第 {k + 1} 个：{'/'.join(kinds)}" for k, kinds in found.items()])
    named_en, named_zh = (f"{shown}: ", f"{shown}：") if shown else ("", "")
    return _warned(
        frame,
        f"{named_en}{len(found)} feature(s) hold points or lines beside their polygons ({which_en}): only the "
        "polygons are read, a point or line encloses no area",
        f"{named_zh}{len(found)} 个要素除面外还含有点或线（{which_zh}）：只读取其中的面，点和线不围成面积",
    )


def _given_crs_unused(frame: gpd.GeoDataFrame, crs: str | None, shown_en: str, shown_zh: str) -> gpd.GeoDataFrame:
    """``frame`` (read with the CRS its file declares) with a warning where the caller named another
    CRS: a CRS given never overrides a declared one, and a caller who meant it learns it was not used."""
    if crs is None or frame.crs is None:
        return frame
    given = user_crs(crs)
    definition = proj_definition(frame.crs)  # one CRS spelt two ways (EPSG:4548, its PROJ string) is no other
    if frame.crs.equals(given, ignore_axis_order=True) or (
        definition is not None and definition == proj_definition(given)
    ):
        return frame
    used, named = frame.crs.to_string(), given.to_string()
    frame.attrs["warnings"] = [
        *frame.attrs.get("warnings", []),
        f"{shown_en} declares {used}: the CRS given ({named}) was not used"
        f" ({shown_zh} 已声明坐标系 {used}，未采用指定的 {named})",
    ]
    return frame


def _check_unicode(properties: dict[str, Any], n: int) -> None:
    """Refuse a property whose name or text (nested ones too) is not Unicode: an unpaired surrogate
    such as JSON's ``"\\ud800"``, which no column, database or file can hold."""
    for key, value in properties.items():
        stack: list[Any] = [key, value]
        while stack:
            item = stack.pop()
            if isinstance(item, dict):
                stack += [*item, *item.values()]
            elif isinstance(item, list):
                stack += item
            elif isinstance(item, str) and not _encodable(item, "utf-8"):
                shown = str(key)[:40]
                raise FormatError(
                    f"feature {n}: property {shown!r} holds text that is not valid Unicode (an unpaired surrogate)",
                    f"第 {n} 个要素：属性 {shown!r} 含有无效的 Unicode 字符（未配对的代理项）",
                )


def _no_constant(name: str) -> None:
    """JSON has no NaN or Infinity (RFC 8259), though Python writes them: read as missing, an
    investment of NaN would pass the land-use standard unchecked."""
    raise FormatError(
        f"{name} is not a JSON value; write null for a missing one", f"{name} 不是合法的 JSON 值；缺失值请写 null"
    )


def _json_int(text: str) -> int:
    """An integer of the JSON, refused past ``MAX_JSON_DIGITS`` (Python would convert up to 4,300 digits, and
    a coordinate of 400 could not become a double)."""
    if len(text) > MAX_JSON_DIGITS:
        raise FormatError(
            f"a number of {len(text):,} digits: no coordinate or value has more than {MAX_JSON_DIGITS}",
            f"数字长达 {len(text):,} 位：坐标和属性值不超过 {MAX_JSON_DIGITS} 位",
        )
    return int(text)


def parse_geojson_bytes(
    data: bytes | str, *, limits: ReadLimits | None = None, crs: str | None = None
) -> gpd.GeoDataFrame:
    """Parcels from GeoJSON text, refusing what is not JSON or is nested beyond reason; ``crs`` as
    for ``parcels_from_geojson``."""
    if limits is not None:
        limits.size(len(data), "GeoJSON")
        _precount_positions(data, limits)
    try:
        obj = json.loads(data, parse_constant=_no_constant, parse_int=_json_int, object_pairs_hook=one_key_each)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise FormatError(f"not valid JSON ({exc})", "不是有效的 JSON") from exc
    except RecursionError as exc:
        raise FormatError("JSON nested too deeply", "JSON 嵌套层数过深") from exc
    return parcels_from_geojson(obj, limits=limits, crs=crs)


def features_geojson_text(frame: gpd.GeoDataFrame, members: dict[str, Any] | None = None) -> str:
    """Features as GeoJSON text in EPSG:4490, with any further ``members`` of the collection (a page's
    counts): the input a review keeps for its record, a layer's page. Geometries are written by GEOS in one
    vectorised call and properties column by column: geopandas' own writer walks the frame row by row (and
    refuses a date), which costs more than a single parcel's review."""
    geo = frame.geometry if frame.crs is not None and frame.crs.to_epsg() == 4490 else frame.geometry.to_crs(4490)
    shapes = shapely.to_geojson(np.asarray(geo.array, dtype=object)).tolist()
    columns = {c: frame[c].tolist() for c in frame.columns if c != frame.geometry.name}
    rows = [
        {c: None if is_scalar(v[i]) and pd.isna(v[i]) else v[i] for c, v in columns.items()} for i in range(len(geo))
    ]
    properties = [json.dumps(row, ensure_ascii=False, default=_json_value) for row in rows]
    features = ",".join(
        f'{{"type":"Feature","properties":{props},"geometry":{shape or "null"}}}'
        for props, shape in zip(properties, shapes, strict=True)
    )
    more = "".join(f",{json.dumps(k)}:{json.dumps(v, ensure_ascii=False)}" for k, v in (members or {}).items())
    return f'{{"type":"FeatureCollection","features":[{features}]{more}}}'


def _json_value(value: Any) -> str:
    """A value JSON has no type for: a date or time as ISO 8601 text, anything else as its text."""
    return value.isoformat() if hasattr(value, "isoformat") else str(value)


def user_crs(text: Any) -> CRS:
    """A CRS named by a user (``EPSG:4527``, a WKT or a PROJ CRS string), or :class:`CRSError`.

    Only a geographic or projected CRS is accepted: PROJ pipelines, transformations
    and other operations are refused, as is anything too long to be a CRS name.
    """
    if not isinstance(text, str) or not text.strip() or len(text) > MAX_CRS_TEXT:
        raise CRSError("a CRS must be given as text such as EPSG:4527", "坐标系须以文本给出，如 EPSG:4527")
    shown = text[:80]
    if (control := CONTROL_CHARACTERS.search(text)) is not None:  # PROJ reads a C string: text after a NUL is lost
        raise CRSError(
            f"the CRS text holds control character U+{ord(control.group()):04X}",
            f"坐标系文本含有控制字符 U+{ord(control.group()):04X}",
        )
    lowered = text.lower()
    if "+proj=pipeline" in lowered or "+step" in lowered or "+inv" in lowered:
        raise CRSError(f"{shown!r} is a PROJ pipeline, not a CRS", f"{shown!r} 是 PROJ 转换管道，不是坐标系")
    try:
        crs = CRS.from_user_input(text)
    except (ProjCRSError, ValueError, TypeError) as exc:
        raise CRSError(f"unknown CRS {shown!r}", f"无法识别的坐标系 {shown!r}") from exc
    if not (crs.is_geographic or crs.is_projected) or crs.is_bound or crs.is_compound:
        raise CRSError(f"{shown!r} is not a geographic or projected CRS", f"{shown!r} 不是地理坐标系或投影坐标系")
    try:
        crs.to_epsg()  # "EPSG:4548.0" parses, then its code cannot be read back (a ValueError, once a review ran)
    except ValueError as exc:
        raise CRSError(f"unknown CRS {shown!r}", f"无法识别的坐标系 {shown!r}") from exc
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
    shown: str | None = None,
) -> gpd.GeoDataFrame:
    """Read parcels from a file by its suffix; the frame always carries a CRS or raises.

    ``crs`` is for files that cannot carry one (DXF, a shapefile without .prj); it never
    overrides a CRS the file declares. With ``limits``, sizes, features and vertices
    are checked while reading: an archive is extracted under a byte budget, GDAL
    formats are read in chunks of features, and reading stops at the first excess.
    ``line_buffer`` (metres each side) turns the ``线``/``点`` records of a coordinate
    text into corridors; other formats do not take it. Messages and warnings call the file
    ``shown``, else by its own name: a server's copy of an upload goes by the name its sender gave it.
    """
    path = Path(path)
    called = shown or path.name
    suffix = path.suffix.lower()
    if line_buffer is not None and suffix != ".txt":
        raise FormatError(
            f"a line buffer applies to coordinate text (.txt) files, not {called!r}",
            f"线状缓冲只适用于界址点坐标文本（.txt），不适用于 {called!r}",
        )
    input_file(path)  # a regular file: none, a folder, a device or a pipe said for what it is
    if suffix not in SUPPORTED_SUFFIXES:
        raise FormatError(
            f"unsupported parcel file {called!r}; use one of {', '.join(SUPPORTED_SUFFIXES)}",
            f"不支持的地块文件 {called!r}；支持：{'、'.join(SUPPORTED_SUFFIXES)}",
        )
    # a GeoParquet named .gpkg was "not a readable gpkg file" (GDAL goes by the content), a GeoJSON named .gpkg
    # read by GDAL past the GeoJSON reader's checks: the content is what the name says, or the file is refused
    check_content(path, suffix=suffix, shown=called, readable=SUPPORTED_SUFFIXES)
    if suffix in (".zip", ".kmz"):
        with tempfile.TemporaryDirectory(prefix="lantu-zip-") as tmp:
            budget = {"max_total": limits.max_bytes} if limits is not None else {}
            files = extract_zip(path, Path(tmp), shown=called, **budget)
            wanted = (".shp", ".gpkg", ".kml", ".geojson") if suffix == ".zip" else (".kml",)
            found = [f for f in files if f.suffix.lower() in wanted]
            chosen = _kmz_document(found, Path(tmp), called) if suffix == ".kmz" else found
            if len(chosen) != 1:
                raise FormatError(
                    f"{called}: expected one {'/'.join(wanted)} file inside, found {len(found)}",
                    f"{called}：压缩包内应有且只有一个 {'/'.join(wanted)} 文件，实际 {len(found)} 个",
                )
            member = chosen[0].relative_to(tmp).as_posix()
            check_content(
                chosen[0], suffix=chosen[0].suffix.lower(), shown=f"{called}: {member}", readable=wanted, name=member
            )
            frame = _read_file(chosen[0], layer=layer, crs=crs, limits=limits, shown=called)
            if frame.crs is None and suffix == ".kmz":
                frame = frame.set_crs(4326)
            return _others_unread(frame, found, chosen[0], Path(tmp), called)
    return _read_file(path, layer=layer, crs=crs, limits=limits, shown=called, line_buffer=line_buffer)


def _kmz_document(found: list[Path], tmp: Path, called: str) -> list[Path]:
    """The main document among a KMZ's .kml files (``found``, extracted under ``tmp``): the only one; else
    doc.kml at the archive's root, else the only .kml there. Google's KML reference has the first root-level
    .kml read, by convention doc.kml, and the others ignored; several at the root and none doc.kml are refused,
    since which comes first is an accident of the archiver."""
    if len(found) <= 1:
        return found
    root = [f for f in found if f.parent == tmp]
    main = [f for f in root if f.name.casefold() == "doc.kml"] or root
    if len(main) == 1:
        return main
    names = first_few([f.relative_to(tmp).as_posix() for f in found])
    raise FormatError(
        f"{called}: {len(found)} .kml files ({names}) and no doc.kml at the archive's root: which is the main "
        "document cannot be told; name it doc.kml",
        f"{called}：压缩包内有 {len(found)} 个 .kml 文件（{names}），根目录下却没有 doc.kml：无法确定哪个是主文档；"
        "请将其命名为 doc.kml",
    )


def _others_unread(frame: gpd.GeoDataFrame, found: list[Path], read: Path, tmp: Path, called: str) -> gpd.GeoDataFrame:
    """``frame`` (read from ``read``) with a warning naming the archive's other files of its kind, not read."""
    others = [f.relative_to(tmp).as_posix() for f in found if f != read]
    if not others:
        return frame
    main, names = read.relative_to(tmp).as_posix(), first_few(others)
    return _warned(
        frame,
        f"{called}: its main document {main} was read; {len(others)} other file(s) not read ({names})",
        f"{called}：已读取主文档 {main}；其余 {len(others)} 个文件未读取（{names}）",
    )


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
    if layer is not None and suffix in (".geojson", ".json", ".txt"):
        _no_layers(suffix, layer, shown)
    if limits is not None and suffix in (".geojson", ".json", ".txt"):
        limits.size(path.stat().st_size, shown)
    if suffix in (".geojson", ".json"):
        raw = path.read_bytes()
        with named_by(shown):
            return parse_geojson_bytes(raw[3:] if raw.startswith(b"\xef\xbb\xbf") else raw, limits=limits, crs=crs)
    if suffix == ".txt":
        given = None if crs is None else user_crs(crs)
        with named_by(shown):
            frame = parse_coordinate_text(path.read_bytes(), line_buffer=line_buffer, crs=given)
        if limits is not None:
            limits.parcels(len(frame))
            limits.vertices(int(shapely.get_num_coordinates(frame.geometry.values).sum()))
        return _given_crs_unused(frame, crs, shown, shown)
    dbf = Dbf.beside(path, shown) if suffix == ".shp" else None
    cpg = _cpg_text(path, shown) if suffix == ".shp" else None
    codec = cpg_codec(cpg) if cpg else None  # read as declared: not as GDAL reads the name (ANSI 936 as Latin-1)
    if cpg and codec is not None:  # its text checked before the read
        with named_by(shown):
            _declared_text(path, codec, cpg)
    written = _kml_written(path, shown) if suffix == ".kml" else None
    try:
        with named_by(shown):
            frame, rows = _read_gdal(
                path, layer=layer, limits=limits, entity_factor=10 if suffix == ".dxf" else 1, encoding=codec
            )
    except (pyogrio.errors.DataSourceError, pyogrio.errors.DataLayerError) as exc:
        log.info("GDAL could not read %s: %s", path, exc)
        if suffix == ".kml":  # windows-1252, which expat decodes and GDAL does not: said as such
            _kml_encoding_refused(path, shown)
        raise FormatError(
            f"{shown}: not a readable {suffix.lstrip('.')} file",
            f"{shown}：无法读取，文件损坏或格式不符",
        ) from exc
    except UnicodeDecodeError as exc:  # an attribute's bytes are not text in the declared encoding (.cpg, UTF-8)
        raise FormatError(
            f"{shown}: an attribute holds text that is not valid in the file's encoding",
            f"{shown}：属性中有不符合文件编码的文字",
        ) from exc
    if suffix == ".dxf":
        frame = _dxf_polygons(frame, shown, _dxf_header(path))
        if frame.attrs.get("dxf_crs"):  # the CRS lantu wrote into its own drawing
            frame = _dxf_declared_crs(frame, crs, shown)
    elif suffix == ".shp":
        if dbf is not None:
            dbf.check_fields(len(frame.columns) - 1)
            dbf.check_features(len(frame))
            if (said := dbf.deleted_said) is not None:
                frame = _warned(frame, *said)
        with named_by(shown):
            declared = codec is not None
            widths = dbf.widths if dbf is not None else ()
            frame = _long_field_names(frame if declared else _undeclared_text(frame, shown, cpg, widths), path)
        if dbf is None:  # GDAL reads the shapes alone
            frame = _warned(
                frame,
                f"{shown}: the shapefile has no .dbf: its parcels carry no attributes (ids by position, no project "
                "type)",
                f"{shown}：shapefile 缺少 .dbf 文件，地块没有属性：编号按顺序，无项目类型",
            )
    elif suffix in (".kml", ".kmz"):
        if written is not None and layer is not None:  # the overlays and links of the folder read, not the file's
            written = _kml_in_layer(written, path, str(_parcel_layers(path, layer)[0]))
        frame = _kml_attributes(_kml_features(frame, rows, written, shown))
        if frame.crs is None:
            frame = frame.set_crs(4326)  # KML is WGS84 by definition
    _finite_heights(frame, shown)
    frame = _points_and_lines_left_out(frame, shown)
    if undefined_crs(frame.crs):
        frame = frame.set_crs(None, allow_override=True)
    if frame.crs is not None:
        return _given_crs_unused(frame, crs, shown, shown)
    if crs is not None:
        return frame.set_crs(user_crs(crs))
    hint_en, hint_zh = _crs_hint(suffix)
    raise CRSError(
        f"{shown} declares no CRS ({hint_en}; else give the CRS: --crs or ?crs=, e.g. EPSG:4527)",
        f"{shown} 未声明坐标系（{hint_zh}；否则请用 --crs 或 ?crs= 指定，如 EPSG:4527）",
    )


def _no_layers(suffix: str, layer: str, shown: str) -> None:
    """Refuse a layer named for a GeoJSON or coordinate text, read here, not by GDAL, as the one set of parcels
    it is: the name was ignored and every parcel reviewed (probe). GDAL would call the layer after the file (or a
    GeoJSON's "name" member), a name no user gave a layer, and an upload's copy goes by another."""
    kind_en, kind_zh = ("coordinate text", "界址点坐标文本") if suffix == ".txt" else ("GeoJSON", "GeoJSON")
    raise FormatError(
        f"{shown}: a {kind_en} file has one layer, so no layer can be named ({layer[:80]!r}); a layer is named "
        "in a GeoPackage, KML/KMZ, shapefile or DXF",
        f"{shown}：{kind_zh} 文件只有一个图层，不能指定图层（{layer[:80]!r}）；图层只适用于 GeoPackage、KML/KMZ、"
        "shapefile 或 DXF",
    )


def _crs_hint(suffix: str) -> tuple[str, str]:
    """Where a file of ``suffix`` declares its CRS, for the message refusing one that declares none: a DXF
    drawing told it "needs its .prj" sent its author looking for a file CAD never writes."""
    if suffix == ".dxf":
        return (
            "a DXF drawing has no CRS of its own: only text such as EPSG:4548 on its crs layer declares one",
            f"DXF 图纸本身不含坐标系，只能在 {DXF_CRS_LAYER} 图层上以文字（如 EPSG:4548）声明",
        )
    if suffix == ".shp":
        return "a shapefile needs its .prj", "shapefile 需附 .prj 文件"
    return "the file names none", "文件中没有坐标系信息"


@contextmanager
def named_by(shown: str | None, *kinds: type[InputError]) -> Iterator[None]:
    """Errors (of ``kinds``, else any input error) that name a line, a feature, a parcel or a limit but no
    file, named by the file as well: a review of an upload, or of one of a batch of files, says which file is
    at fault. ``shown`` None (parcels sent as JSON, no file) leaves them as they are."""
    caught = kinds or (InputError,)
    try:
        yield
    except caught as exc:
        if shown is None:
            raise
        raise type(exc)(f"{shown}: {exc.message_en}", f"{shown}：{exc.message_zh}", where=exc.where) from exc


def _cpg_text(shp: Path, shown: str) -> str | None:
    """What the shapefile's .cpg says (``geo.io.dbf.cpg_name``), None where it has none."""
    cpg = next((shp.with_suffix(s) for s in (".cpg", ".CPG") if shp.with_suffix(s).is_file()), None)
    if cpg is None:
        return None
    with cpg.open("rb") as file:
        return cpg_name(file.read(CPG_BYTES), shown)


def _declared_text(shp: Path, codec: str, cpg: str) -> None:
    """Refuse a shapefile whose .dbf's text is not in the encoding its .cpg declares (``check_declared``)."""
    dbf = sidecar([p.name for p in shp.parent.iterdir()], shp.name, ".dbf")
    if dbf is None:
        return
    with (shp.parent / dbf).open("rb") as file:
        check_declared(file, codec, cpg)


_LATIN1_ONLY = re.compile(r"^[\x00-\xff]*[\x80-\xff][\x00-\xff]*$")


def _undeclared_text(
    frame: gpd.GeoDataFrame, shown: str, cpg: str | None, widths: Sequence[int] = ()
) -> gpd.GeoDataFrame:
    """A shapefile whose .cpg is missing, empty or names an unknown encoding has its text read by GDAL as
    Latin-1 (its bytes kept one to one): 合规住宅项目 came out as ºÏ¹æ×¡Õ¬ÏîÄ¿. Such text, names of fields
    included, is read again from its bytes in the encoding :func:`undeclared_codec` finds them valid in
    (UTF-8 first, else GB18030), and the encoding assumed is said; bytes valid in neither stay Latin-1,
    said too. Text GDAL decoded otherwise (by the code page in the .dbf's header) is left as read. Each value is
    checked as its field held it (``widths``, the .dbf's, field by field; GDAL strips the pad): only one that fills
    its field may end in a character its writer cut, or Latin-1 café passed as UTF-8 caf."""
    names = [c for c in frame.columns if c != frame.geometry.name]
    texts = [c for c in names if any(isinstance(v, str) for v in frame[c])]
    width = dict(zip(names, widths, strict=True)) if len(widths) == len(names) else {}
    latin = {c: [v.encode("latin-1") for v in frame[c] if isinstance(v, str) and _LATIN1_ONLY.match(v)] for c in texts}
    found = [field_rows(values, width.get(c)) for c, values in latin.items() if values]
    found += [field_rows([str(c).encode("latin-1")], DBF_NAME) for c in names if _LATIN1_ONLY.match(str(c))]
    why_en, why_zh = _cpg_problem(cpg)
    if not found:  # ASCII (the same in every encoding), or decoded by the .dbf's code page
        if not cpg:
            return frame
        return _warned(frame, f"{shown}: {why_en}; ignored", f"{shown}：{why_zh}，已忽略")
    codec = undeclared_codec(found)
    if codec is None:
        return _warned(
            frame,
            f"{shown}: {why_en}, and its text is neither UTF-8 nor GB18030 (GBK): it was read as Latin-1 "
            "(ISO-8859-1); add a .cpg naming its encoding if that is wrong",
            f"{shown}：{why_zh}，且属性文字既不是 UTF-8 也不是 GB18030（GBK）编码，已按 Latin-1（ISO-8859-1）读取；"
            "如有误请补充 .cpg 文件声明编码",
        )

    def again(value: Any) -> Any:
        return (
            decoded(value.encode("latin-1"), codec) if isinstance(value, str) and _LATIN1_ONLY.match(value) else value
        )

    out = frame.copy()
    for c in texts:
        out[c] = [again(v) for v in out[c]]
    out = out.rename(columns={c: again(str(c)) for c in names})
    named = "UTF-8" if codec == "utf-8" else "GB18030 (GBK)"
    return _warned(
        out,
        f"{shown}: {why_en}; its text was read as {named}, the encoding its bytes are valid in "
        "(add a .cpg naming the encoding if that is wrong)",
        f"{shown}：{why_zh}，属性文字已按其字节所符合的 {named} 编码读取（如有误，请补充 .cpg 文件声明编码）",
    )


def _cpg_problem(cpg: str | None) -> tuple[str, str]:
    """Why a shapefile's text encoding is undeclared, in English and Chinese."""
    if cpg is None:
        return "no .cpg declares the text encoding", "缺少声明文字编码的 .cpg 文件"
    if not cpg:
        return "its .cpg is empty", ".cpg 文件为空"
    return f"its .cpg names an unknown encoding {cpg!r}", f".cpg 文件声明了未知编码 {cpg!r}"


def _warned(frame: gpd.GeoDataFrame, en: str, zh: str) -> gpd.GeoDataFrame:
    """``frame`` with one more warning, in English with the Chinese after it."""
    frame.attrs["warnings"] = [*frame.attrs.get("warnings", []), f"{en}（{zh}）"]
    return frame


# GDAL's options for reading parcels, set before each read (they are global; every reader wants them so). A
# shapefile's rings are outer or holes by where they lie, not by their turning: written the other way round (outer
# anticlockwise), a parcel with a hole came back as a hole holding its own outer ring ("Hole lies outside shell",
# refused: probe). A KML's GroundOverlay, an image draped on the map, is not read: LIBKML made its LatLonBox a
# feature, reviewed as a parcel (probe: id 2, reject); ``_kml_features`` says it was left out.
GDAL_READING: Final = {"OGR_ORGANIZE_POLYGONS": "DEFAULT", "LIBKML_READ_GROUND_OVERLAY": "NO"}


def _read_gdal(
    path: Path, *, layer: str | None, limits: ReadLimits | None, entity_factor: int = 1, encoding: str | None = None
) -> tuple[gpd.GeoDataFrame, list[int]]:
    """Read with pyogrio every layer the parcels are in (``_parcel_layers``), one after the other, and how
    many features each gave; under ``limits``, in chunks of features, counting features and vertices over
    all of them as it goes. ``encoding``: a shapefile's, as its .cpg declares it (None: GDAL's reading)."""
    with gdal_gate.inside():
        pyogrio.set_gdal_config_options(GDAL_READING)
    layers = _parcel_layers(path, layer)
    if limits is None:
        frames = [_read_layer(path, name, encoding=encoding) for name in layers]
        return _joined(frames), [len(f) for f in frames]
    max_features = limits.max_parcels * entity_factor
    with gdal_gate.inside():
        declared = sum(pyogrio.read_info(path, layer=name).get("features", -1) or 0 for name in layers)
    if declared > max_features:
        limits.parcels(declared // entity_factor + 1)
    chunks: list[gpd.GeoDataFrame] = []
    rows: list[int] = []
    read = vertices = 0
    # a shapefile's features are skipped by shape id, a deleted record's too: counting the features read re-read
    # the one before each chunk past it (a parcel reviewed twice); the next chunk starts after the last shape read
    by_id = path.suffix.lower() == ".shp"
    for name in layers:
        done = start = 0
        while True:
            chunk = _read_layer(
                path, name, encoding=encoding, skip_features=start, max_features=CHUNK_FEATURES, fid_as_index=by_id
            )
            if by_id and len(chunk):
                start = int(chunk.index.max()) + 1
                chunk = chunk.reset_index(drop=True)
            else:
                start += len(chunk)
            done += len(chunk)
            read += len(chunk)
            if read > max_features:
                limits.parcels(read // entity_factor + 1)
            vertices += int(shapely.get_num_coordinates(chunk.geometry.values).sum())
            limits.vertices(vertices)
            if len(chunk):
                chunks.append(chunk)
            if len(chunk) < CHUNK_FEATURES:
                break
        rows.append(done)
    return (_joined(chunks) if chunks else _read_layer(path, layers[0], encoding=encoding, max_features=0)), rows


def _joined(frames: list[gpd.GeoDataFrame]) -> gpd.GeoDataFrame:
    if len(frames) == 1:
        return frames[0]
    return gpd.GeoDataFrame(pd.concat(frames, ignore_index=True), crs=frames[0].crs)


def _parcel_layers(path: Path, layer: str | None) -> Sequence[str | None]:
    """The layers holding the parcels: the one named (refused, naming the file's, where it has none of that
    name); else the file's only layer; every folder of a KML (GDAL reads each folder, nested ones too, as a
    layer: a planner's folders are one set of parcels); the one layer with geometry of a GeoPackage, whose
    other layers are attribute tables. A GeoPackage of several geometry layers is refused, naming them: its
    first alone was once reviewed without a word."""
    if layer is None and path.suffix.lower() not in (".gpkg", ".kml"):
        return [layer]
    with gdal_gate.inside():
        listed = [(str(name), kind) for name, kind in pyogrio.list_layers(path)]
    if not listed:  # an empty KML Document: pyogrio's default layer of none was an IndexError, a traceback
        raise FormatError("no parcels: the file holds no layer", "没有地块：文件中没有图层")
    if layer is not None:
        return [_named_layer(layer, listed)]
    if len(listed) <= 1:
        return [None]
    if path.suffix.lower() == ".kml":
        return [name for name, _ in listed]
    spatial = [name for name, kind in listed if kind is not None]
    if len(spatial) == 1:
        return spatial
    names = first_few(spatial, 10)
    raise FormatError(
        f"the GeoPackage holds {len(spatial)} layers with geometry ({names}): name the one with the parcels "
        "(--layer NAME), or send a GeoPackage of that layer alone",
        f"GeoPackage 中有 {len(spatial)} 个含几何的图层（{names}）：请指定地块所在图层（--layer 图层名），"
        "或只上传含该图层的 GeoPackage",
    )


def _named_layer(layer: str, listed: list[tuple[str, Any]]) -> str:
    """The layer ``layer`` names, as GDAL lists it: a name GDAL lists or the name the file writes
    (``_written_names``: a KML folder "a" beside a folder "A" is GDAL's "a (#2)"), else "F (#1)" for the first of
    folders written "F", else either regardless of case. GDAL itself takes the first layer matching regardless of
    case: ``a`` read folder "A" (probe: the wrong parcel reviewed). Several layers of the name (two folders written
    "F": "F" took the first unsaid) or, regardless of case only, of the name are refused, naming them as a user
    can pass them; a name of none is refused naming the file's layers (GDAL's refusal read as the file being
    unreadable)."""
    names = [name for name, _ in listed]
    written = _written_names(names)
    folded = layer.casefold()
    for found in (
        [name for name, seen in zip(names, written, strict=True) if layer in (name, seen)],
        _first_of_its_name(layer, names, written),
        [name for name, seen in zip(names, written, strict=True) if folded in (name.casefold(), seen.casefold())],
    ):
        if len(found) == 1:
            return found[0]
        if found:
            some = first_few([_passable(name, names, written) for name in found], 10)
            raise FormatError(
                f"{layer[:80]!r} names {len(found)} layers of the file ({some}): pass one of these names",
                f"{layer[:80]!r} 对应文件中的 {len(found)} 个图层（{some}）：请指定其中一个名称",
            )
    shown = [name for name, kind in listed if kind is not None] or names
    numbered = [(name, seen) for name, seen in zip(names, written, strict=True) if name != seen and name in shown]
    note_en = note_zh = ""
    if numbered:
        name, seen = numbered[0]
        note_en = f" (GDAL numbers a folder whose name another already has: {name!r} is the folder {seen!r})"
        note_zh = f"（GDAL 为与已有图层同名的文件夹编号：{name!r} 即文件夹 {seen!r}）"
    passable = first_few([_passable(name, names, written) for name in shown], 10)
    raise FormatError(
        f"no layer named {layer[:80]!r} in the file: its layers are {passable}{note_en}",
        f"文件中没有名为 {layer[:80]!r} 的图层；其图层为：{passable}{note_zh}",
    )


_NUMBERED: Final = re.compile(r"(?P<name>.*) \(#\d+\)", re.DOTALL)
_FIRST: Final = re.compile(r"(?P<name>.*) \(#1\)", re.DOTALL)


def _passable(name: str, names: list[str], written: list[str]) -> str:
    """How a user names the layer GDAL lists as ``name``: that name, but "F (#1)" for the first of several KML
    folders written "F" (GDAL lists them F, F (#2)…, and "F" names them all)."""
    others = [seen for other, seen in zip(names, written, strict=True) if other != name]
    return f"{name} (#1)" if name in others else name


def _first_of_its_name(layer: str, names: list[str], written: list[str]) -> list[str]:
    """The layer "F (#1)" names: the first of several KML folders written "F", which GDAL lists as F beside
    F (#2)… (the name "F" is refused as naming them all); none where the file has no such folders."""
    found = _FIRST.fullmatch(layer)
    if found is None:
        return []
    base = found.group("name")
    if sum(seen == base for seen in written) < 2:
        return []
    return [name for name, seen in zip(names, written, strict=True) if name == seen == base][:1]


def _written_names(names: list[str]) -> list[str]:
    """Each layer's name as the file writes it. GDAL gives a KML folder whose name an earlier layer has
    (regardless of case) that name and " (#2)" (" (#3)" where that is taken too); the suffix is cut where the
    name left is an earlier layer's. A folder written "X (#2)" after one written "X" reads as a second "X":
    GDAL's list cannot tell them apart, and ``_named_layer`` takes a name GDAL lists first."""
    out = []
    for k, name in enumerate(names):
        found = _NUMBERED.fullmatch(name)
        base = found.group("name").casefold() if found else None
        out.append(found.group("name") if found and any(n.casefold() == base for n in names[:k]) else name)
    return out


@gdal_call
def _read_layer(path: Path, layer: str | None, *, encoding: str | None = None, **window: int) -> gpd.GeoDataFrame:
    """One layer through pyogrio, which gives a plain table for a layer without geometry (a GeoPackage's
    attribute table): that is no parcels. Its errors name no file (``_read_file`` names it as shown)."""
    try:
        frame = gpd.read_file(path, layer=layer, engine="pyogrio", encoding=encoding, **window)
    except shapely.errors.GEOSException as exc:  # GDAL hands on what GEOS refuses: a ring unclosed or too short
        if _refused_kind(path, layer, window) in WKB_LINES:
            raise FormatError(
                "a line of one point (a GPS track or path), not a polygon: a parcel is a polygon; draw its outline",
                "一条只有一个点的线（GPS 轨迹或路径），不是面：地块须为面，请绘制地块边界",
            ) from exc
        raise FormatError(
            f"unreadable geometry ({exc}); each ring must end at its first point and have at least 4 points",
            f"几何无法解析（{exc}）；每个圈须首尾点相同且至少 4 个点",
        ) from exc
    if not isinstance(frame, gpd.GeoDataFrame):
        named = f"layer {layer!r}" if layer else "its layer"
        raise FormatError(
            f"{named} has no geometry (an attribute table?)",
            f"{'图层 ' + repr(layer) if layer else '该图层'}没有几何字段（属性表？）",
        )
    return frame


WKB_LINES: Final = frozenset({2, 5})  # LineString, MultiLineString: how GDAL reads a KML gx:Track, gx:MultiTrack


def _refused_kind(path: Path, layer: str | None, window: dict[str, int]) -> int | None:
    """The geometry type (WKB's code, without Z or M) of the first feature in ``window`` of the layer that GEOS
    refuses to build, read again as WKB: GEOS says the same ("point array must contain 0 or >1 elements") of a
    track of one point and of a polygon's ring of one, and only the first is no polygon at all."""
    _, _, wkbs, _ = pyogrio.raw.read(path, layer=layer, columns=[], **window)
    built = shapely.from_wkb(wkbs, on_invalid="ignore")
    for wkb, shape in zip(wkbs, built, strict=True):
        if wkb is not None and shape is None:
            code = struct.unpack_from("<I" if wkb[0] == 1 else ">I", wkb, 1)[0]
            return int(code & 0xFFFF) % 1000  # ISO's Z/M (1000s) and the high bits of GDAL's Z flag cut
    return None


def _dxf_declared_crs(frame: gpd.GeoDataFrame, crs: str | None, shown: str) -> gpd.GeoDataFrame:
    """The drawing in the CRS the text on its ``crs`` layer names. Text there that names none declares
    nothing: the CRS given is used, with a warning, else the drawing is refused with the text quoted."""
    text = str(frame.attrs["dxf_crs"])
    try:
        return frame.set_crs(user_crs(text))
    except CRSError as exc:
        quoted = repr(text[:80])
        if crs is None:
            raise CRSError(
                f"{shown}: the text on its crs layer, {quoted}, names no CRS; give the CRS: --crs or ?crs=, "
                "e.g. EPSG:4548",
                f"{shown}：crs 图层上的文字 {quoted} 不是可识别的坐标系；请指定坐标系：--crs 或 ?crs=，如 EPSG:4548",
            ) from exc
    given = frame.set_crs(user_crs(crs))
    given.attrs["warnings"] = [
        *frame.attrs.get("warnings", []),
        f"{shown}: the text on its crs layer, {quoted}, names no CRS: the CRS given ({crs[:80]}) was used"
        f"（{shown}：crs 图层上的文字 {quoted} 不是可识别的坐标系，已采用指定的坐标系 {crs[:80]}）",
    ]
    return given


def _dxf_polygons(frame: gpd.GeoDataFrame, name: str, header: tuple[str, str] = ("", "")) -> gpd.GeoDataFrame:
    """Parcels in a CAD drawing: closed polylines (and hatches) become outlines; points other than text
    are dropped, and so are open polylines, counted in ``attrs["warnings"]``: a line left unclosed
    encloses no area, and a parcel drawn with one would vanish unsaid.

    Text on the ``parcel_id`` layer (as :func:`write_parcels` puts it) names the innermost outline it
    lies in (:func:`_dxf_label_ids`); outlines with the same id are one parcel's parts again. An outline
    inside another of a different label (or of none) is a parcel of its own, overlapping the other, as
    the drawing shows: a polyline is no hole (a hatch's island is, and GDAL reads it so), and two labels
    name two parcels; each is reviewed as drawn, and a warning names the pairs. Text on the ``crs`` layer
    (``EPSG:4548``) declares the drawing's CRS, kept in ``attrs["dxf_crs"]``.
    """
    if "Layer" not in frame.columns:  # GDAL picks its driver by the content, not the name: another format
        raise FormatError(f"{name}: not a DXF file", f"{name}：不是有效的 DXF 文件")
    geoms = frame.geometry.values
    if not np.isfinite(shapely.get_coordinates(geoms)).all():  # NaN != NaN: a closed outline read as an open one
        raise CRSError(f"{name}: coordinates contain NaN or infinite values", f"{name}：坐标中含有非数值或无穷大")
    kinds = shapely.get_type_id(geoms)
    lines = kinds == shapely.GeometryType.LINESTRING
    rings = shapely.is_closed(geoms) & lines
    polygons = kinds == shapely.GeometryType.POLYGON
    opened = geoms[(lines & ~rings) | (kinds == shapely.GeometryType.MULTILINESTRING)]
    keep = frame[rings | polygons].copy()
    keep["geometry"] = [shapely.Polygon(g) if g.geom_type == "LineString" else g for g in keep.geometry]
    if keep.empty:
        some = f" ({len(opened)} open polyline(s): close them)" if len(opened) else ""
        some_zh = f"（有 {len(opened)} 条未闭合的多段线：请闭合）" if len(opened) else ""
        raise FormatError(
            f"{name}: no closed polylines or polygons in the drawing{some}", f"{name}：图中没有闭合多段线或面{some_zh}"
        )
    out = keep[["Layer", "geometry"]].rename(columns={"Layer": "cad_layer"}).reset_index(drop=True)
    texts = frame[(kinds == shapely.GeometryType.POINT) & frame["Text"].notna()] if "Text" in frame.columns else None
    labels = texts[texts["Layer"] == DXF_ID_LAYER] if texts is not None else frame.iloc[:0]
    points, said = labels.geometry.values, labels["Text"].astype(str).to_numpy() if len(labels) else np.array([])
    said, decoding = _dxf_texts(said, header, name)
    around = _open_outline_labels(opened, points, said)
    found = [decoding] if decoding else []
    if len(opened):
        which = f" (around the label(s) {_quoted(around)})" if around else ""
        which_zh = f"（其中围有标注 {_quoted(around)}）" if around else ""
        found.append(
            f"{name}: {len(opened)} open (unclosed) polyline(s) not read as parcels{which}: close them in CAD if "
            f"they outline parcels（{name}：{len(opened)} 条未闭合的多段线未作为地块读取{which_zh}；"
            "如为地块边界，请在 CAD 中闭合）"
        )
    if len(labels):
        out.insert(0, "id", _dxf_label_ids(out.geometry.values, points, said, name, around))
    found += _nested_outlines(out, name)
    if len(labels):
        out = _dissolve_parts(out)
    if texts is not None and len(crs_text := texts.loc[texts["Layer"] == DXF_CRS_LAYER, "Text"]):
        out.attrs["dxf_crs"] = str(crs_text.iloc[0])
    if found:
        out.attrs["warnings"] = found
    return out


_DXF_VERSION = re.compile(rb"\$ACADVER\s*\r?\n\s*1\s*\r?\n([^\r\n]{1,16})")
_DXF_CODE_PAGE = re.compile(rb"\$DWGCODEPAGE\s*\r?\n\s*3\s*\r?\n([^\r\n]{1,32})")
_DXF_UNICODE = re.compile(r"\\U\+([0-9A-Fa-f]{4})")
UTF8_DXF = "AC1021"  # AutoCAD 2007: from this version on a DXF is UTF-8 text, whatever its $DWGCODEPAGE


def _dxf_header(path: Path) -> tuple[str, str]:
    """A DXF's $ACADVER and $DWGCODEPAGE as its header writes them ("" where it writes none)."""
    with path.open("rb") as file:
        head = file.read(1 << 18)
    found = [pattern.search(head) for pattern in (_DXF_VERSION, _DXF_CODE_PAGE)]
    version, page = (m.group(1).decode("ascii", "replace").strip().upper() if m else "" for m in found)
    return version, page


def _dxf_texts(texts: np.ndarray, header: tuple[str, str], name: str) -> tuple[np.ndarray, str | None]:
    """The ``parcel_id`` labels as written, and a warning where their encoding was assumed. GDAL decodes a DXF's
    text in the code page its header declares, and one declaring none (or ANSI_1252, AutoCAD's western default)
    as Latin-1, a drawing of AutoCAD 2007 or later (UTF-8 by definition) too: 地块A came out as "å\x9c°å\x9d\x97A",
    refused for its control characters, and GBK text as "µØ¿éA", an id no one wrote. Such text is read again
    from its bytes: a 2007 drawing's, or an ANSI_1252 one's that are UTF-8 (as converters write it under the
    default header), as UTF-8; a drawing declaring no code page in the encoding :func:`undeclared_codec` finds
    them valid in (UTF-8, else GB18030), said. Western text of an ANSI_1252 drawing is left as read, and the
    \\U+XXXX escapes a drawing writes for a character outside its code page are decoded."""
    version, page = header
    if not len(texts):
        return texts, None
    out = np.array([_DXF_UNICODE.sub(lambda m: chr(int(m.group(1), 16)), str(t)) for t in texts], dtype=object)
    found = [t.encode("latin-1") for t in out if _LATIN1_ONLY.match(t)]
    if not found or page not in ("", "ANSI_1252"):  # ASCII, or decoded by the code page the drawing declares
        return out, None
    codec = undeclared_codec([field_rows(found, None)])  # a label has no fixed width: none was cut (café no caf)
    if page or (version >= UTF8_DXF and version.startswith("AC")):  # declared: its bytes are UTF-8 or as read
        codec = "utf-8" if codec == "utf-8" else None
        said = None
    elif codec is None:
        return out, (
            f"{name}: the drawing declares no code page ($DWGCODEPAGE) and its {DXF_ID_LAYER} labels are neither "
            f"UTF-8 nor GB18030 (GBK): they were read as Latin-1（{name}：图纸未声明代码页（$DWGCODEPAGE），"
            f"{DXF_ID_LAYER} 标注既不是 UTF-8 也不是 GB18030（GBK）编码，已按 Latin-1 读取）"
        )
    else:
        named = "UTF-8" if codec == "utf-8" else "GB18030 (GBK)"
        said = (
            f"{name}: the drawing declares no code page ($DWGCODEPAGE); its {DXF_ID_LAYER} labels were read as "
            f"{named}, the encoding their bytes are valid in（{name}：图纸未声明代码页（$DWGCODEPAGE），"
            f"{DXF_ID_LAYER} 标注已按其字节所符合的 {named} 编码读取）"
        )
    if codec is None:
        return out, None
    return np.array(
        [decoded(t.encode("latin-1"), codec) if _LATIN1_ONLY.match(t) else t for t in out], dtype=object
    ), said


def _dxf_label_ids(
    outlines: np.ndarray, points: np.ndarray, texts: np.ndarray, name: str, around: list[str]
) -> np.ndarray:
    """The id of each outline: the text of the ``parcel_id`` label lying in it and in no smaller outline
    (None where none does). Every outline around a label once took it, the last written winning: a
    label inside an inner outline renamed the outer one and the outer's own label was lost. Outlines
    drawn twice (of one area) both take it. Refused: a label in no closed outline (a parcel that would
    go missing; ``around`` names those an open polyline encloses) and an outline holding two labels
    (which one names the parcel is a guess)."""
    label, outline = shapely.STRtree(outlines).query(points, predicate="within")
    pairs = pd.DataFrame({"label": label, "outline": outline, "area": shapely.area(outlines)[outline]})
    pairs = pairs[pairs["area"] <= pairs.groupby("label")["area"].transform("min") * (1 + 1e-9)]
    if len(lost := [str(t) for t in texts[np.setdiff1d(np.arange(len(points)), label)]]):
        hint = f"; {_quoted(around)} lie in open polylines: close them" if around else ""
        hint_zh = f"；其中 {_quoted(around)} 位于未闭合的多段线内：请闭合" if around else ""
        raise FormatError(
            f"{name}: the {DXF_ID_LAYER} label(s) {_quoted(lost)} lie in no closed outline{hint}; each label "
            "names the closed polyline around it",
            f"{name}：{DXF_ID_LAYER} 图层的标注 {_quoted(lost)} 不在任何闭合边界内{hint_zh}；"
            "每个标注须位于其地块的闭合多段线内",
        )
    pairs["text"] = texts[pairs["label"].to_numpy()]
    per_outline = pairs.groupby("outline")["text"].unique()
    if len(crowded := per_outline[per_outline.map(len) > 1]):
        both = _quoted([str(t) for t in crowded.iloc[0]])
        raise FormatError(
            f"{name}: one outline holds the {DXF_ID_LAYER} labels {both} ({len(crowded)} such outline(s)): which "
            "names the parcel cannot be told; keep one label per outline, or draw each parcel's own outline",
            f"{name}：同一闭合边界内有多个 {DXF_ID_LAYER} 标注 {both}（共 {len(crowded)} 处），无法确定地块编号；"
            "请每个边界只保留一个标注，或为每个地块单独绘制边界",
        )
    ids = np.full(len(outlines), None, dtype=object)
    ids[per_outline.index.to_numpy()] = [str(t[0]) for t in per_outline]
    return ids


def _open_outline_labels(opened: np.ndarray, points: np.ndarray, texts: np.ndarray) -> list[str]:
    """The labels lying where an open polyline would enclose them once closed: a parcel drawn but left open."""
    closable = [shapely.Polygon(g.coords) for g in opened if g.geom_type == "LineString" and len(g.coords) >= 3]
    if not closable or not len(points):
        return []
    label, _ = shapely.STRtree(shapely.make_valid(np.array(closable))).query(points, predicate="within")
    return [str(t) for t in texts[np.unique(label)]]


def _nested_outlines(outlines: gpd.GeoDataFrame, name: str) -> list[str]:
    """A warning naming the outlines lying inside another of a different id (or of none): read as
    overlapping parcels, as drawn, not as holes (see :func:`_dxf_polygons`)."""
    geoms = outlines.geometry.values
    outer, inner = shapely.STRtree(geoms).query(geoms, predicate="contains")
    ids = outlines["id"].to_numpy() if "id" in outlines.columns else np.full(len(geoms), None, dtype=object)
    pairs = [
        (o, i)
        for o, i in zip(outer.tolist(), inner.tolist(), strict=True)
        if o != i and (pd.isna(ids[o]) or ids[o] != ids[i])
    ]
    if not pairs:
        return []

    def called(k: int) -> str:
        return repr(str(ids[k])[:40]) if not pd.isna(ids[k]) else f"#{k + 1}"

    shown = first_few([f"{called(i)} in {called(o)}" for o, i in pairs])
    shown_zh = first_few([f"{called(i)} 在 {called(o)} 内" for o, i in pairs])
    numbered = any(pd.isna(ids[k]) for pair in pairs for k in pair)
    note = "; #n: the n-th outline of the drawing, unlabelled" if numbered else ""
    note_zh = "；#n：图中第 n 个闭合边界，无标注" if numbered else ""
    return [
        f"{name}: {len(pairs)} outline(s) lie inside another ({shown}{note}): each is read as a parcel of its "
        "own overlapping the other, as drawn, not as a hole"
        f"（{name}：有 {len(pairs)} 个闭合边界位于另一边界之内（{shown_zh}{note_zh}），"
        "均按图读作相互重叠的独立地块，而不是洞）"
    ]


def _quoted(texts: Sequence[str]) -> str:
    """A few labels of a drawing quoted for a message, each cut to 40 characters."""
    return first_few([repr(t[:40]) for t in texts])


def _dissolve_parts(frame: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Outlines sharing an id become one (multi)polygon, in the order the ids first appear; outlines
    without an id stay apart, after them."""
    named = frame[frame["id"].notna()]
    merged = named.dissolve(by="id", sort=False, as_index=False, aggfunc="first")
    return gpd.GeoDataFrame(pd.concat([merged, frame[frame["id"].isna()]], ignore_index=True), crs=frame.crs)


# dBASE field names hold at most 10 bytes. The project attributes get fixed short names (read back even
# from a shapefile whose sidecar was lost); any other long name a unique truncated one. Every renamed
# field is listed in a sidecar ``<name>.fields.csv`` (short,long) that the reader applies.
SHAPEFILE_SHORT: Final[dict[str, str]] = {
    "project_type": "proj_type",
    "investment_wan": "invest_wan",
    "major_project": "major_proj",
    "redline_exempt": "rl_exempt",
    "declared_area_ha": "decl_ha",
    "geometry_kind": "geom_kind",
    "point_count": "pt_count",
    "line_buffer_m": "buffer_m",
}
FIELD_SIDECAR = ".fields.csv"
DXF_ID_LAYER, DXF_CRS_LAYER, DXF_PARCEL_LAYER = "parcel_id", "crs", "parcel"


def shapefile_names(columns: list[str], encoding: str) -> dict[str, str]:
    """Long column name → a dBASE name of at most 10 bytes in ``encoding``, unique (case-insensitive)."""
    taken: set[str] = set()
    names: dict[str, str] = {}
    for column in columns:
        short = column if len(column.encode(encoding, "replace")) <= DBF_NAME else SHAPEFILE_SHORT.get(column)
        if short is None or short.lower() in taken:
            stem = column
            while len(stem.encode(encoding, "replace")) > DBF_NAME:
                stem = stem[:-1]
            short, n = stem, 1
            while short.lower() in taken:
                tail = f"~{n}"
                cut = stem
                while len((cut + tail).encode(encoding, "replace")) > DBF_NAME:
                    cut = cut[:-1]
                short, n = cut + tail, n + 1
        taken.add(short.lower())
        names[column] = short
    return names


def _long_field_names(frame: gpd.GeoDataFrame, shp: Path) -> gpd.GeoDataFrame:
    """Restore the long names of a shapefile's fields: from its sidecar, which lists every field lantu renamed (one
    it does not list kept its own name, ``proj_type`` among them), else the fixed table, else as GDAL, QGIS and
    ArcGIS cut them (the first ten bytes: ``project_ty``, ``investment``, ``redline_ex``). Two fields that would
    come out under one name are refused (``_one_field_each``)."""
    sidecar = shp.with_name(shp.stem + FIELD_SIDECAR)
    if sidecar.is_file():
        try:
            table = pd.read_csv(sidecar, dtype=str, encoding="utf-8", keep_default_na=False)
            restore = dict(zip(table["short"], table["long"], strict=True))
        except (ValueError, KeyError, UnicodeDecodeError) as exc:
            raise FormatError(
                f"{sidecar.name}: unreadable field-name table (short,long)", f"{sidecar.name}：字段名对照表无法读取"
            ) from exc
        how = (f"as {sidecar.name} names them", f"据 {sidecar.name}")
    else:
        restore = {long[:DBF_NAME]: long for long in SHAPEFILE_SHORT}
        restore.update({short: long for long, short in SHAPEFILE_SHORT.items()})
        how = (
            "a shapefile's field names hold 10 bytes, and both are short for it",
            "shapefile 字段名最长 10 字节，二者都是它的简写",
        )
    renames = {c: restore[c] for c in frame.columns if c in restore}
    _one_field_each([str(c) for c in frame.columns], renames, how)
    return frame.rename(columns=renames)


def _one_field_each(columns: list[str], renames: dict[str, str], how: tuple[str, str]) -> None:
    """Refuse fields that would come out under one name (renamed ``renames``, all at once: ``proj_typ~1`` may take
    the name ``proj_type`` leaves): ``proj_type`` beside ``project_ty`` were both ``project_type``, and the review
    read two columns for one attribute, a 500. Which field holds the parcels' attribute cannot be told."""
    named: dict[str, list[str]] = {}
    for column in columns:
        named.setdefault(renames.get(column, column), []).append(column)
    clash = next(((name, fields) for name, fields in named.items() if len(fields) > 1), None)
    if clash is None:
        return
    name, fields = clash
    listed_en = ", ".join(repr(f) for f in fields[:-1]) + f" and {fields[-1]!r}"
    listed_zh = "、".join(repr(f) for f in fields[:-1]) + f" 与 {fields[-1]!r}"
    raise FormatError(
        f"fields {listed_en} {'both' if len(fields) == 2 else 'all'} stand for {name!r} ({how[0]}): an attribute is "
        "read from one field; keep one, and remove or rename the others",
        f"字段 {listed_zh} 都表示 {name!r}（{how[1]}）：一个属性只能取自一个字段；请保留其一，其余删除或改名",
    )


# what GDAL's KML readers add to every placemark (LIBKML's style and time members, the KML driver's labels)
_KML_MEMBERS = ("timestamp", "begin", "end", "altitudeMode", "tessellate", "extrude", "visibility", "drawOrder", "icon")


KML_CONTAINERS: Final = frozenset({"kml", "Document", "Folder"})
# what GDAL's LIBKML reads as a feature of its container's layer (GDAL_READING has it skip a GroundOverlay)
KML_FEATURES: Final = frozenset({"Placemark"})
# an image draped on the map (GroundOverlay: LIBKML read its LatLonBox as a polygon, reviewed as a parcel), taken
# (PhotoOverlay) or fixed on the screen (ScreenOverlay, a legend): never a parcel
KML_OVERLAYS: Final = frozenset({"GroundOverlay", "PhotoOverlay", "ScreenOverlay"})
# a link to a KML elsewhere (a server, a file beside this one): never fetched, an upload is read alone (GDAL skips it)
KML_LINK: Final = "NetworkLink"
# the encodings an XML declaration may name that GDAL's KML readers (expat, without a converter) decode
KML_ENCODINGS: Final = frozenset({"utf-8", "utf8", "utf-16", "utf16", "iso-8859-1", "latin1", "us-ascii", "ascii"})
KML_DECLARED = re.compile(rb"<\?xml[^>]{0,200}?encoding\s*=\s*[\"']([^\"'\s]{1,40})[\"']")


class KmlWritten(NamedTuple):
    """What a KML writes, walked with expat: the container of each feature in the order written (numbered
    as they open: the order GDAL lists them as layers), the kind of each image overlay, and how many links
    to other documents it holds; and the container of each overlay and of each link (``_kml_in_layer``)."""

    containers: list[int]
    overlays: list[str]
    links: int
    overlays_in: list[int]
    links_in: list[int]
    # a placemark's data field written twice with two values (GDAL keeps the last, unsaid): the placemark's
    # number in the file, its <name>, the field, the two values; the first such, or None
    repeated: tuple[int, str | None, str, str, str] | None = None


def _kml_written(path: Path, shown: str) -> KmlWritten | None:
    """The KML at ``path`` walked (None where expat cannot parse it: GDAL's order is kept, said by
    ``_in_file_order``); a file of image overlays or links and no placemark is refused, as no parcels, saying
    what it holds (a file of one NetworkLink was "no parcels to review", naming neither file nor link)."""
    try:
        written = _kml_containers(path)
    except (expat.ExpatError, OSError):
        return None
    except (ValueError, LookupError):  # a declared encoding expat cannot decode (GBK, a made-up name): a traceback
        _kml_encoding_refused(path, shown)
        return None  # left to GDAL, which refuses it or reads it in its own order (said)
    if written.repeated is not None:
        number, name, field, first, then = written.repeated
        called = f"placemark {number}" + ("" if name is None else f" ({name[:80]!r})")
        called_zh = f"第 {number} 个地标" + ("" if name is None else f"（{name[:80]!r}）")
        raise FormatError(
            f"{shown}: {called} gives its data field {field[:80]!r} twice, as {first[:80]!r} and as {then[:80]!r}: "
            "which is meant cannot be told; keep one",
            f"{shown}：{called_zh}的数据字段 {field[:80]!r} 出现两次，分别为 {first[:80]!r} 和 {then[:80]!r}："
            "无法确定以哪个为准；请只保留一个",
        )
    if written.containers or not (written.overlays or written.links):
        return written
    held_en, held_zh = _kml_unread(written)
    send_en, send_zh = (
        (" or send the linked document itself", "，或直接提交被链接的文档") if written.links else ("", "")
    )
    raise FormatError(
        f"{shown}: no parcels: the file holds only {' and '.join(held_en)}; draw the parcels as polygons "
        f"(placemarks){send_en}",
        f"{shown}：没有地块：文件中只有{'和'.join(held_zh)}；请将地块绘制为多边形（地标）{send_zh}",
    )


def _kml_encoding_refused(path: Path, shown: str) -> None:
    """Refuse a KML whose XML declaration names an encoding GDAL does not decode (GBK, GB2312, windows-1252, a
    made-up one), naming it: expat raised a ValueError on a multi-byte one, a traceback (500) where GDAL would
    have refused the file as unreadable, and GDAL's refusal did not say why. Nothing where it names none or one
    GDAL reads."""
    try:
        with path.open("rb") as file:
            found = KML_DECLARED.search(file.read(1024))
    except OSError:
        return
    if found is None:
        return
    named = found.group(1).decode("ascii", "replace")
    if named.lower() in KML_ENCODINGS:
        return
    raise FormatError(
        f"{shown}: the file declares the encoding {named!r}, which the KML reader cannot decode: KML is UTF-8 "
        'text (OGC KML 2.2); save it as UTF-8 (encoding="UTF-8")',
        f"{shown}：文件声明的编码为 {named!r}，KML 读取程序无法解码：KML 应为 UTF-8 文本（OGC KML 2.2）；"
        '请另存为 UTF-8 编码（encoding="UTF-8"）',
    )


def _kml_unread(written: KmlWritten) -> tuple[list[str], list[str]]:
    """What a KML holds that is read as no parcel (its image overlays, its links), in English and in Chinese."""
    held_en, held_zh = [], []
    if written.overlays:
        count, kinds = len(written.overlays), first_few(sorted(set(written.overlays)))
        held_en.append(f"image overlays ({count}: {kinds}), images draped on the map")
        held_zh.append(f"图像叠加层（{count} 个：{kinds}），即叠加在地图上的图片")
    if written.links:
        held_en.append(f"links to other documents ({written.links} {KML_LINK}), which are not fetched")
        held_zh.append(f"指向其他文档的链接（{written.links} 个 {KML_LINK}），被链接的文档不会读取")
    return held_en, held_zh


def _kml_features(frame: gpd.GeoDataFrame, rows: list[int], written: KmlWritten | None, shown: str) -> gpd.GeoDataFrame:
    """A KML's placemarks in the file's order (``_in_file_order``), with a warning naming the image overlays
    GDAL was told to skip (``GDAL_READING``): an overlay is a picture, never a parcel; and one counting the
    links to other documents, not fetched: parcels there were lost unsaid (probe: one of two reviewed)."""
    frame = _in_file_order(frame, rows, None if written is None else written.containers, shown)
    if written is not None and written.overlays:
        count, kinds = len(written.overlays), first_few(sorted(set(written.overlays)))
        frame = _warned(
            frame,
            f"{shown}: {count} image overlay(s) ({kinds}) left out: an image over the map is no parcel",
            f"{shown}：{count} 个图像叠加层（{kinds}）未作为地块读取：叠加在地图上的图片不是地块",
        )
    if written is not None and written.links:
        frame = _warned(
            frame,
            f"{shown}: {written.links} link(s) to other documents ({KML_LINK}) not followed: parcels in a linked "
            "document are not read; send that document itself to review them",
            f"{shown}：{written.links} 个指向其他文档的链接（{KML_LINK}）未读取：被链接文档中的地块未审查；"
            "如需审查，请直接提交该文档",
        )
    return frame


def _in_file_order(frame: gpd.GeoDataFrame, rows: list[int], written: list[int] | None, shown: str) -> gpd.GeoDataFrame:
    """A KML's placemarks in the order the file writes them. GDAL reads each folder as a layer of its own
    placemarks, so a placemark after a folder, or one in a folder's subfolder, came after others written
    later (R0, A1, B1, B2, R1 came back R0, R1, A1, B2, B1): the ids numbered by position, and the report's
    order, were not the file's. ``rows``: what each layer gave; ``written``: the container of each feature as
    the file writes them. Folders that cannot be matched with GDAL's layers (a file expat cannot parse, None)
    leave GDAL's order, said."""
    if sum(1 for n in rows if n) < 2:  # one folder holds them all: GDAL keeps its order
        return frame
    order = None if written is None else _kml_order(written, [n for n in rows if n])
    if order is None:
        return _warned(
            frame,
            f"{shown}: its placemarks are listed folder by folder, not in the order the file writes them (its "
            "folders could not be matched with what GDAL read)",
            f"{shown}：地块按文件夹依次列出，未能按文件中的书写顺序排列（文件夹与 GDAL 读出的图层无法对应）",
        )
    return frame.iloc[order].reset_index(drop=True)


def _kml_order(written: list[int], held: list[int]) -> list[int] | None:
    """Where each feature ``written`` (the container of each, in the file's order) lies among GDAL's layers read
    one after the other (``held``: the features of each layer that has any), or None where the containers
    holding features do not give those counts."""
    _, folder = np.unique(np.asarray(written, dtype=int), return_inverse=True)  # the containers with features
    if np.bincount(folder, minlength=len(held)).tolist() != held:
        return None
    starts, seen, order = np.cumsum([0, *held[:-1]]).tolist(), [0] * len(held), []
    for k in folder.tolist():
        order.append(starts[k] + seen[k])
        seen[k] += 1
    return order


def _kml_containers(path: Path) -> KmlWritten:
    """The container (kml, Document or Folder) of each feature of a KML in the order the file writes them, its
    image overlays and its links (NetworkLink). expat expands no external entity and bounds the expansion of
    internal ones; it reads names as written, prefix and all, so a prefix the file never declares (gx:, which
    GDAL reads past) is no error: ElementTree's "unbound prefix" had the order left GDAL's and the overlays
    unsaid."""
    opened, links, written, overlays = -1, 0, [], []
    overlays_in: list[int] = []
    links_in: list[int] = []
    stack: list[int] = []  # the container each open element is, or -1
    tags: list[str] = []  # the open elements' names (no prefix)
    data = _KmlData()

    def start(name: str, attributes: dict[str, str]) -> None:
        nonlocal opened, links
        tag = name.rpartition(":")[2]  # kml:Placemark where a file gives KML's namespace a prefix
        inside = stack[-1] if stack else -1
        data.start(tag, tags, attributes)
        tags.append(tag)
        if tag in KML_FEATURES and inside >= 0:
            written.append(inside)
        if tag in KML_OVERLAYS:
            overlays.append(tag)
            overlays_in.append(inside)
        if tag == KML_LINK:
            links += 1
            links_in.append(inside)
        opened += tag in KML_CONTAINERS
        stack.append(opened if tag in KML_CONTAINERS else -1)

    def end(_: str) -> None:
        stack.pop()
        data.end(tags.pop(), tags)

    parser = expat.ParserCreate()
    parser.StartElementHandler, parser.EndElementHandler = start, end
    parser.CharacterDataHandler = data.text
    with path.open("rb") as file:
        parser.ParseFile(file)
    return KmlWritten(written, overlays, links, overlays_in, links_in, data.repeated)


_KML_TEXTS: Final = frozenset({("value", "Data"), ("name", "Placemark")})  # (element, its parent) whose text is read


class _KmlData:
    """A KML's placemarks' data fields (``<Data name><value>`` and ``<SimpleData name>``) as expat walks them,
    kept only to find the first field a placemark writes twice with two values: GDAL reads the last as the
    column, so a placemark with two ``<Data name="id">`` was reviewed under the second id, the first lost unsaid
    (probe)."""

    def __init__(self) -> None:
        self.placemarks = 0
        self.fields: dict[str, str] | None = None  # the open placemark's fields so far
        self.name: str | None = None  # the open placemark's <name>
        self.field: str | None = None  # the open Data or SimpleData's name
        self.chunks: list[str] | None = None  # the text being read (a value, a name), else None
        self.repeated: tuple[int, str | None, str, str, str] | None = None

    def start(self, tag: str, open_tags: list[str], attributes: dict[str, str]) -> None:
        if tag in KML_FEATURES:
            self.placemarks += 1
            self.fields, self.name = {}, None
        elif self.fields is not None and tag in ("Data", "SimpleData"):
            self.field = attributes.get("name")
            self.chunks = [] if tag == "SimpleData" else None
        elif (
            self.fields is not None and open_tags and (tag, open_tags[-1]) in (("value", "Data"), ("name", "Placemark"))
        ):
            self.chunks = []

    def text(self, chunk: str) -> None:
        if self.chunks is not None:
            self.chunks.append(chunk)

    def end(self, tag: str, open_tags: list[str]) -> None:
        if self.fields is None:
            return
        if tag in KML_FEATURES:
            self.fields = None
        elif tag == "name" and self.chunks is not None and open_tags[-1:] == ["Placemark"]:
            self.name, self.chunks = "".join(self.chunks).strip(), None
        elif tag in ("value", "SimpleData") and self.chunks is not None:
            self._kept("".join(self.chunks).strip())
            self.chunks = None
        if tag in ("Data", "SimpleData"):
            self.field = None

    def _kept(self, value: str) -> None:
        if self.field is None or self.fields is None:
            return
        first = self.fields.setdefault(self.field, value)
        if first != value and self.repeated is None:
            self.repeated = (self.placemarks, self.name, self.field, first, value)


def _kml_in_layer(written: KmlWritten, path: Path, layer: str) -> KmlWritten:
    """What the KML ``written`` holds in the layer (folder) GDAL lists as ``layer``: its overlays and links, to be
    said for the parcels read from it (--layer B warned of the overlays and links of every folder). The folder is
    the one whose placemarks GDAL reads as that layer: the containers holding placemarks, in the order they open,
    are GDAL's layers holding features, in its order (``_kml_order``); where they do not match, the whole file's."""
    with gdal_gate.inside():
        held = [
            (name, pyogrio.read_info(path, layer=name).get("features", -1) or 0)
            for name, _ in pyogrio.list_layers(path)
        ]
    with_features = [str(name) for name, count in held if count]
    containers = sorted(set(written.containers))
    if layer not in with_features or len(containers) != len(with_features):
        return written
    own = containers[with_features.index(layer)]
    overlays = [kind for kind, at in zip(written.overlays, written.overlays_in, strict=True) if at == own]
    links = [at for at in written.links_in if at == own]
    return KmlWritten(written.containers, overlays, len(links), [own] * len(overlays), links)


def _kml_attributes(frame: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """A KML's placemarks with their ExtendedData as plain columns: ``<name>`` → ``name``, the
    ``id`` data field over the placemark's own XML id. LIBKML shows the XML id as ``id`` and the field as
    ``id2`` where a placemark has both, but the field as ``id`` (``id2`` empty) where it has no XML id."""
    out = frame.drop(columns=[c for c in _KML_MEMBERS if c in frame.columns])
    for label in ("description", "Description"):
        if label in out.columns and out[label].isna().all():
            out = out.drop(columns=label)
    if "id2" in out.columns:
        field = out["id2"] if "id" not in out.columns else out["id2"].where(out["id2"].notna(), out["id"])
        out = out.assign(id=field).drop(columns="id2")
    if "Name" in out.columns and "name" not in out.columns:
        out = out.rename(columns={"Name": "name"})
    return out


WRITABLE_SUFFIXES = (".geojson", ".json", ".gpkg", ".zip", ".kml", ".kmz", ".dxf", ".txt")
# the attributes a format keeps, where it cannot keep them all: a drawing its outlines' id labels, the
# coordinate text its header line's fields
KEPT_COLUMNS: Final[dict[str, tuple[str, ...]]] = {".dxf": ("id",), ".txt": COORDINATE_TEXT_COLUMNS}
# what a reader notes about the file itself, which a writer writes anew (地块面积, 界址点数) or has no use for
FILE_COLUMNS: Final = ("cad_layer", "point_count", "declared_area_ha", "geometry_kind", "line_buffer_m")


def kept_columns(path: str | Path) -> tuple[str, ...] | None:
    """The attributes a file named ``path`` keeps of parcels written to it; None where it keeps them all."""
    return KEPT_COLUMNS.get(Path(path).suffix.lower())


def unkept_columns(frame: gpd.GeoDataFrame, path: str | Path) -> list[str]:
    """The attributes of ``frame`` holding a value that a file named ``path`` cannot keep: converted to a
    drawing, parcels lose their project type and investment, and a review of the drawing needs them again."""
    kept = kept_columns(path)
    if kept is None:
        return []
    return [
        str(c)
        for c in frame.columns
        if c != frame.geometry.name and c not in kept and c not in FILE_COLUMNS and frame[c].notna().any()
    ]


def rewritten_values(frame: gpd.GeoDataFrame, path: str | Path) -> list[str]:
    """Warnings naming the values a file named ``path`` cannot hold as they are (the coordinate text's
    separators in an id): written changed, they are read back changed."""
    return rewritten_texts(frame) if Path(path).suffix.lower() == ".txt" else []


@gdal_call
def write_parcels(
    frame: gpd.GeoDataFrame, path: str | Path, *, encoding: str = "utf-8", producer: str | None = None
) -> Path:
    """Write parcels by the suffix of ``path``.

    ``encoding`` is the coordinate text's (.txt) and the shapefile's (.zip, declared in its
    ``.cpg``: UTF-8 or GBK); ``producer`` (数据产生单位) goes into the coordinate text.
    KML keeps every attribute as ExtendedData; DXF draws the outlines in metres of a
    Gauss-Krüger zone with the ids as text (CAD keeps no other attribute).
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in WRITABLE_SUFFIXES:
        raise FormatError(
            f"cannot write {path.name!r}; use one of {', '.join(WRITABLE_SUFFIXES)}",
            f"无法写出 {path.name!r}；支持：{'、'.join(WRITABLE_SUFFIXES)}",
        )
    if suffix in KEPT_COLUMNS and "id" in frame.columns:  # a drawing's label, a record's field: the id as text
        frame = frame.assign(id=_ids_as_text(frame["id"].tolist()))
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
    elif suffix == ".dxf":
        _write_dxf(plain, path)
    elif suffix == ".gpkg":
        plain.to_file(path, driver="GPKG", engine="pyogrio")
    else:
        _write_shapefile_zip(plain, path, encoding)
    return path


def _write_shapefile_zip(frame: gpd.GeoDataFrame, path: Path, encoding: str) -> None:
    """A zipped shapefile whose .cpg declares ``encoding``; long field names shortened and listed in a sidecar."""
    columns = [c for c in frame.columns if c != frame.geometry.name]
    try:
        names = shapefile_names(columns, encoding)
    except LookupError as exc:
        raise FormatError(f"unknown text encoding {encoding!r}", f"未知的文字编码 {encoding!r}") from exc
    renamed = {long: short for long, short in names.items() if long != short}
    for column in columns:  # GDAL would write "?" for what the code page lacks, and only warn
        for value in frame[column]:
            if isinstance(value, str) and not _encodable(value, encoding):
                raise FormatError(
                    f"{column} = {value[:40]!r} cannot be written as {encoding} (use --encoding utf-8)",
                    f"属性 {column} 的值 {value[:40]!r} 无法以 {encoding} 编码写出（可用 --encoding utf-8）",
                )
    with tempfile.TemporaryDirectory() as tmp:
        shp = Path(tmp) / f"{path.stem}.shp"
        frame.rename(columns=renamed).to_file(shp, driver="ESRI Shapefile", engine="pyogrio", encoding=encoding)
        if renamed:
            pd.DataFrame({"short": list(renamed.values()), "long": list(renamed)}).to_csv(
                shp.with_name(shp.stem + FIELD_SIDECAR), index=False, encoding="utf-8"
            )
        with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
            for part in sorted(Path(tmp).iterdir()):
                archive.write(part, part.name)


def _write_dxf(frame: gpd.GeoDataFrame, path: Path) -> None:
    """Outlines in metres (a projected frame keeps its CRS; lon/lat goes to the Gauss-Krüger zone of the
    parcels' centre), each part's id as text inside it, and the CRS as text, all read back by
    :func:`read_parcels`."""
    if frame.crs is None:
        raise CRSError("parcels without a CRS cannot be drawn in metres", "地块未声明坐标系，无法按米制写出 DXF")
    projected = (
        frame
        if frame.crs.is_projected
        else frame.to_crs(zone_for_geometry(shapely.box(*frame.total_bounds), frame.crs))
    )
    ids = projected["id"] if "id" in projected.columns else pd.Series(range(1, len(projected) + 1))
    outlines, labels, styles = [], [], []
    for geom, pid in zip(projected.geometry.values, ids, strict=True):
        parts = shapely.get_parts(geom)
        outlines.extend(parts)
        for part in parts:
            height = max(1.0, min(50.0, float(np.sqrt(part.area)) / 10))
            labels.append(part.point_on_surface())
            styles.append(f'LABEL(t:"{_dxf_text(pid)}",s:{height:.1f}g,p:5)')
    minx, miny, _, _ = projected.total_bounds
    crs_name = projected.crs.to_string()
    drawing = gpd.GeoDataFrame(
        {
            "Layer": [DXF_PARCEL_LAYER] * len(outlines) + [DXF_ID_LAYER] * len(labels) + [DXF_CRS_LAYER],
            "OGR_STYLE": [None] * len(outlines) + styles + [f'LABEL(t:"{_dxf_text(crs_name)}",s:5g)'],
        },
        geometry=[*outlines, *labels, shapely.Point(minx, miny)],
        crs=None,
    )
    path.unlink(missing_ok=True)  # GDAL's DXF driver cannot replace a drawing, only fail to add to it
    with warnings.catch_warnings():  # a DXF has no CRS: it is written as text instead
        warnings.filterwarnings("ignore", "'crs' was not provided")
        drawing.to_file(path, driver="DXF", engine="pyogrio")


def _ids_as_text(ids: list[object]) -> list[str]:
    """The ids a drawing or a coordinate text writes, as a review reads them back: a number as written
    (``id_text``: 5, not the "5.0" of a column pandas made float), a missing one its 1-based position, not
    "nan" (a review numbers it so)."""
    return [str(n) if is_blank(v) else id_text(v) for n, v in enumerate(ids, start=1)]


def _dxf_text(value: object) -> str:
    """A value as the text of an OGR LABEL style (its quotes and backslashes escaped)."""
    return str(value).replace("\\", "\\\\").replace('"', '\\"')


def _encodable(text: str, encoding: str) -> bool:
    try:
        text.encode(encoding)
    except UnicodeEncodeError:
        return False
    return True
