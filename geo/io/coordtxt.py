"""The land-survey coordinate exchange text (界址点坐标交换格式) used in 用地预审/报批/勘测定界.

    [属性描述]                 坐标系=2000国家大地坐标系, 几度分带=3, 投影类型=高斯克吕格,
                               计量单位=米, 带号=39, 精度=0.001, 转换参数=,,,,,,
    [地块坐标]
    界址点数,地块面积(公顷),地块编号,地块名称,面,图幅号,地块用途,地类编码,@
    J1,1,X,Y                   X northing, Y easting (zone number as prefix or not)

Rings repeat their first point to close; 圈号 1 is the outer ring, higher numbers
are holes when inside it and further parts otherwise. Real files are messy
(blank 带号, unclosed rings, extra columns); what is repaired is reported as a
warning, what cannot be read is a FormatError naming the line.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from typing import Any

import geopandas as gpd
import shapely
from pyproj import CRS

from geo.crs import GK_FAMILIES, gk_epsg, zone_for_geometry
from geo.errors import CRSError, FormatError, GeometryError

DATUM_NAMES = {
    "CGCS2000": ("2000国家大地坐标系", ("2000", "CGCS")),
    "Xian1980": ("80西安坐标系", ("西安", "XIAN", "1980", "80")),
    "Beijing1954": ("54北京坐标系", ("北京", "BEIJING", "1954", "54")),
}
HEADER_KEYS = (
    "格式版本号",
    "数据产生单位",
    "数据产生日期",
    "坐标系",
    "几度分带",
    "投影类型",
    "计量单位",
    "带号",
    "精度",
    "转换参数",
)
AREA_TOLERANCE = 1e-3  # warn when the declared 地块面积 differs from the geometry by more than 0.1 %


@dataclass
class CoordinateHeader:
    """The [属性描述] section, with the CRS it names."""

    datum: str
    width: int
    zone: int
    prefixed: bool
    precision: float = 0.001
    values: dict[str, str] = field(default_factory=dict)  # every attribute line as written
    extension: list[str] = field(default_factory=list)  # the optional [扩展信息] section

    @property
    def epsg(self) -> int:
        return gk_epsg(self.zone, prefixed=self.prefixed, width=self.width, datum=self.datum)

    @property
    def decimals(self) -> int:
        return max(0, -math.floor(math.log10(self.precision) + 1e-9))


def decode(data: bytes) -> str:
    """UTF-8 (with or without BOM) or GBK/GB18030, as approval systems write them."""
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise FormatError("the coordinate file is neither UTF-8 nor GBK text", "坐标文件既不是 UTF-8 也不是 GBK 编码的文本")


def _datum(text: str) -> str:
    upper = text.upper().replace(" ", "")
    for datum, (_, needles) in DATUM_NAMES.items():
        if any(n in upper for n in needles):
            return datum
    raise CRSError(
        f"unknown 坐标系 {text!r}; expected 2000国家大地坐标系, 80西安坐标系 or 54北京坐标系",
        f"无法识别的坐标系 {text!r}（应为2000国家大地坐标系、80西安坐标系或54北京坐标系）",
    )


def parse_coordinate_text(data: bytes | str) -> gpd.GeoDataFrame:
    """Parcels of a coordinate file; ``frame.attrs`` holds the header and any warnings."""
    text = decode(data) if isinstance(data, bytes) else data
    section = ""
    values: dict[str, str] = {}
    extension: list[str] = []
    parcels: list[dict[str, Any]] = []
    warnings: list[str] = []
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip().lstrip("\ufeff")
        if not line:
            continue
        if line.startswith("[") and line.endswith("]"):
            section = line[1:-1].strip()
            continue
        if section == "属性描述":
            key, _, value = line.partition("=")
            values[key.strip()] = value.strip()
        elif section == "扩展信息":
            extension.append(line)
        elif section == "地块坐标":
            if line.rstrip(",").endswith("@"):
                parcels.append(_parcel_header(line, number))
            elif not parcels:
                raise FormatError(
                    f"line {number}: a point before any parcel header line (ending with @)",
                    f"第 {number} 行：界址点出现在地块属性行（以 @ 结尾）之前",
                )
            else:
                parcels[-1]["points"].append(_point(line, number))
        else:
            raise FormatError(
                f"line {number}: text outside a known section ([属性描述], [地块坐标])",
                f"第 {number} 行：内容不在已知的节（[属性描述]、[地块坐标]）中",
            )
    if not parcels:
        raise FormatError(
            "no parcels: the file has no [地块坐标] section with a header line ending in @",
            "文件中没有地块：缺少 [地块坐标] 节或以 @ 结尾的地块属性行",
        )
    header = _header(values, extension, parcels, warnings)
    rows, geoms = [], []
    for parcel in parcels:
        geom = _polygon(parcel, warnings)
        declared = parcel.pop("declared_area_ha")
        parcel.pop("points")
        parcel.pop("line")
        if declared is not None and declared > 0:
            computed_ha = geom.area / 10_000
            if abs(computed_ha - declared) > AREA_TOLERANCE * declared:
                warnings.append(
                    f"parcel {parcel['id']}: declared area {declared} ha, geometry {computed_ha:.4f} ha "
                    f"(地块面积与坐标计算面积相差 {abs(computed_ha - declared) / declared:.2%})"
                )
        rows.append({**parcel, "declared_area_ha": declared})
        geoms.append(geom)
    frame = gpd.GeoDataFrame(rows, geometry=geoms, crs=CRS.from_epsg(header.epsg))
    frame.attrs["coordinate_header"] = header
    frame.attrs["warnings"] = warnings
    return frame


def _number(text: str, number: int, what: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise FormatError(
            f"line {number}: {what} {text!r} is not a number", f"第 {number} 行：{what} {text!r} 不是数字"
        ) from None
    if not math.isfinite(value):
        raise FormatError(f"line {number}: {what} is not finite", f"第 {number} 行：{what} 不是有限数值")
    return value


def _parcel_header(line: str, number: int) -> dict[str, Any]:
    parts = [p.strip() for p in line.rstrip(",").split(",")]
    parts = parts[:-1] if parts[-1] == "@" else [*parts[:-1], parts[-1].rstrip("@")]
    parts += [""] * (8 - len(parts))
    area = parts[1]
    return {
        "id": parts[2] or None,
        "name": parts[3] or None,
        "point_count": int(parts[0]) if parts[0].isdigit() else None,
        "declared_area_ha": _number(area, number, "地块面积") if area else None,
        "geometry_kind": parts[4] or None,
        "sheet": parts[5] or None,
        "use": parts[6] or None,
        "class_code": parts[7] or None,
        "extra": ",".join(parts[8:]) or None,
        "line": number,
        "points": [],
    }


def _point(line: str, number: int) -> tuple[str, int, float, float, int]:
    parts = [p.strip() for p in line.split(",")]
    if len(parts) < 4:
        raise FormatError(
            f"line {number}: a point needs 点号,圈号,X,Y; got {line[:60]!r}",
            f"第 {number} 行：界址点应为“点号,圈号,X,Y”",
        )
    ring = _number(parts[1], number, "圈号")
    if ring != int(ring) or ring < 1:
        raise FormatError(
            f"line {number}: 圈号 {parts[1]!r} must be a positive integer", f"第 {number} 行：圈号须为正整数"
        )
    northing = _number(parts[2], number, "X")
    easting = _number(parts[3], number, "Y")
    return parts[0], int(ring), easting, northing, number


def _header(
    values: dict[str, str], extension: list[str], parcels: list[dict[str, Any]], warnings: list[str]
) -> CoordinateHeader:
    if not values.get("坐标系"):
        raise CRSError("the file declares no 坐标系 in [属性描述]", "坐标文件 [属性描述] 中未声明坐标系")
    datum = _datum(values["坐标系"])
    width_text = values.get("几度分带") or values.get("分带") or ""
    width = int(m.group()) if (m := re.search(r"\d+", width_text)) else 3
    if not width_text:
        warnings.append("几度分带 not given: 3-degree zones assumed (未声明分带，按3度带处理)")
    projection = values.get("投影类型", "")
    if projection and "高斯" not in projection:
        raise CRSError(f"投影类型 {projection!r} is not Gauss-Krüger", f"投影类型 {projection!r} 不是高斯-克吕格投影")
    unit = values.get("计量单位", "")
    if unit and unit not in ("米", "m", "M"):
        raise CRSError(f"计量单位 {unit!r}: only metres are supported", f"计量单位 {unit!r}：仅支持米")
    eastings = [p[2] for parcel in parcels for p in parcel["points"]]
    if not eastings:
        raise FormatError("the parcels have no points", "地块没有界址点")
    prefixes = {int(e // 1_000_000) for e in eastings}
    prefixed = min(eastings) >= 1_000_000
    if prefixed and len(prefixes) > 1:
        raise CRSError(
            f"eastings carry different zone prefixes {sorted(prefixes)}",
            f"横坐标带号前缀不一致：{sorted(prefixes)}",
        )
    declared = values.get("带号", "")
    zone: int | None = int(declared) if declared.isdigit() else None
    if prefixed:
        prefix = prefixes.pop()
        if zone is not None and zone != prefix:
            raise CRSError(
                f"带号={zone} but the eastings carry zone prefix {prefix}",
                f"带号={zone}，但横坐标的带号前缀为 {prefix}",
            )
        if zone is None:
            warnings.append(
                f"带号 blank: zone {prefix} taken from the easting prefix (带号为空，按横坐标前缀取 {prefix} 带)"
            )
        zone = prefix
    elif zone is None:
        raise CRSError(
            "带号 is blank and the eastings carry no zone prefix: the zone is unknown",
            "带号为空且横坐标不含带号前缀，无法确定投影带",
        )
    precision_text = values.get("精度", "")
    precision = float(precision_text) if re.fullmatch(r"0*\.?\d+(\.\d+)?", precision_text or "x") else 0.001
    if precision <= 0:
        precision = 0.001
    header = CoordinateHeader(datum, width, zone, prefixed, precision, values, extension)
    header.epsg  # noqa: B018 — raises CRSError for a zone outside the datum's range
    return header


def _polygon(parcel: dict[str, Any], warnings: list[str]) -> shapely.Geometry:
    points = parcel["points"]
    pid = parcel["id"] or f"line {parcel['line']}"
    if parcel["point_count"] is not None and parcel["point_count"] != len(points):
        warnings.append(
            f"parcel {pid}: header says {parcel['point_count']} points, file has {len(points)} (界址点数与实际点数不符)"
        )
    rings: list[tuple[int, list[tuple[float, float]]]] = []
    current: list[tuple[float, float]] = []
    current_ring = None
    for _, ring, x, y, _line in points:
        if ring != current_ring and current:
            rings.append((current_ring, current))  # type: ignore[arg-type]
            current = []
        current_ring = ring
        current.append((x, y))
        if len(current) > 3 and current[-1] == current[0]:
            rings.append((ring, current))
            current = []
    if current:
        if current[0] != current[-1]:
            warnings.append(f"parcel {pid}: ring {current_ring} not closed; closed it (圈未闭合，已自动闭合)")
            current.append(current[0])
        rings.append((current_ring, current))  # type: ignore[arg-type]
    for ring, coords in rings:
        if len(set(coords)) < 3:
            raise GeometryError(
                f"parcel {pid}: ring {ring} has fewer than 3 distinct points",
                f"地块 {pid}：第 {ring} 圈不足 3 个不同的点",
            )
    outers = [[shapely.LinearRing(c), []] for r, c in rings if r == 1] or [[shapely.LinearRing(rings[0][1]), []]]
    for ring, coords in rings:
        if ring == 1:
            continue
        inner = shapely.LinearRing(coords)
        host = next(
            (o for o in outers if shapely.Polygon(o[0]).contains(shapely.Polygon(inner).representative_point())),
            None,
        )
        if host is None:
            outers.append([inner, []])  # a further part (多部件)
        else:
            host[1].append(inner)
    polygons = [shapely.Polygon(o[0], o[1]) for o in outers]
    return polygons[0] if len(polygons) == 1 else shapely.MultiPolygon(polygons)


def _family(epsg: int | None) -> tuple[str, int, int, bool] | None:
    """(datum, width, zone, prefixed) of a Chinese GK EPSG code, or None."""
    if epsg is None:
        return None
    for (datum, width), (prefix_base, cm_base, first, last) in GK_FAMILIES.items():
        if first <= epsg - prefix_base <= last:
            return datum, width, epsg - prefix_base, True
        if first <= epsg - cm_base <= last:
            return datum, width, epsg - cm_base, False
    return None


def write_coordinate_text(frame: gpd.GeoDataFrame, *, precision: float | None = None, newline: str = "\r\n") -> str:
    """The parcels as a coordinate file; encode the text as the receiving system wants (GBK, UTF-8).

    A frame in a Chinese Gauss-Krüger CRS keeps it; any other frame goes to the
    CGCS2000 3° zone (with prefix) of its centroid. A frame read from a coordinate
    file keeps its header lines.
    """
    if frame.crs is None:
        raise CRSError("the parcels carry no CRS", "地块数据未声明坐标系")
    family = _family(frame.crs.to_epsg())
    if family is None:
        cm_family = _family(zone_for_geometry(frame.geometry.union_all(), frame.crs))
        assert cm_family is not None  # zone_for_geometry answers within the CGCS2000 3° CM family
        zone = cm_family[2]
        frame = frame.to_crs(gk_epsg(zone, prefixed=True))
        family = ("CGCS2000", 3, zone, True)
    datum, width, zone, prefixed = family
    original: CoordinateHeader | None = frame.attrs.get("coordinate_header")
    values = dict(original.values) if original else {}
    header = CoordinateHeader(
        datum, width, zone, prefixed, precision or (original.precision if original else 0.001), values
    )
    values.update(
        {
            "坐标系": values["坐标系"] if original and original.datum == datum else DATUM_NAMES[datum][0],
            "几度分带": str(width),
            "投影类型": "高斯克吕格",
            "计量单位": "米",
            "带号": str(zone),
            "精度": f"{header.precision:g}",
            "转换参数": values.get("转换参数", ",,,,,,"),
        }
    )
    lines = []
    if original and original.extension:
        lines += ["[扩展信息]", *original.extension]
    lines.append("[属性描述]")
    lines += [f"{k}={values.get(k, '')}" for k in HEADER_KEYS if k in values or k in ("格式版本号",)]
    lines += [f"{k}={v}" for k, v in values.items() if k not in (*HEADER_KEYS, "分带")]
    lines.append("[地块坐标]")
    d = header.decimals
    for position, (geom, row) in enumerate(zip(frame.geometry, frame.to_dict("records"), strict=True), start=1):
        points: list[str] = []
        ring_number = 0
        numbered = 0  # 界址点号 run on across rings; a ring's closing point repeats its first number
        for polygon in shapely.get_parts(geom):
            for ring in [polygon.exterior, *polygon.interiors]:
                ring_number += 1
                coords = list(ring.coords)
                first = numbered + 1
                for x, y in coords[:-1]:
                    numbered += 1
                    points.append(f"J{numbered},{ring_number},{y:.{d}f},{x:.{d}f}")
                x, y = coords[-1]
                points.append(f"J{first},{ring_number},{y:.{d}f},{x:.{d}f}")
        fields = [
            str(len(points)),
            f"{geom.area / 10_000:.4f}",
            _text(row.get("id")) or str(position),
            _text(row.get("name")),
            "面",
            _text(row.get("sheet")),
            _text(row.get("use")),
            _text(row.get("class_code")),
        ]
        if _text(row.get("extra")):
            fields.append(_text(row.get("extra")))
        lines.append(",".join(fields) + ",@")
        lines += points
    return newline.join(lines) + newline


def _text(value: Any) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    return str(value).replace(",", "，")
