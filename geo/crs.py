"""CRS rules of DESIGN.md: the CGCS2000 3° Gauss-Krüger zone per parcel, areas in
m²/公顷/亩, and checks that refuse coordinates impossible for their declared CRS.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from functools import cached_property, lru_cache
from typing import Any, TypeVar

import geopandas as gpd
import numpy as np
import shapely
from pyproj import CRS, Transformer

from geo.errors import CRSError

CGCS2000 = CRS.from_epsg(4490)
M2_PER_MU = 10000.0 / 15.0  # 1 亩 = 666.67 m²
M2_PER_HA = 10000.0

# CGCS2000 / 3-degree Gauss-Kruger CM 75E … CM 135E (no zone prefix in the easting).
GK3_CM_FIRST_EPSG = 4534
GK3_CM_MIN, GK3_CM_MAX = 75, 135

# Mainland China with its islands, generously: what any parcel's lon/lat must fall in.
CHINA_LON = (73.0, 136.0)
CHINA_LAT = (3.0, 54.0)
Shapes = TypeVar("Shapes", gpd.GeoDataFrame, gpd.GeoSeries)  # a frame, or its geometry alone
FINITE_CHUNK = 50_000  # geometries whose coordinates are checked at once


def gk3_epsg_for_longitude(lon: float) -> int:
    """EPSG of the CGCS2000 3° GK zone whose central meridian is nearest ``lon``."""
    if not CHINA_LON[0] <= lon <= CHINA_LON[1]:
        raise CRSError(
            f"longitude {lon:.4f} is outside China's Gauss-Krüger zones (73°E–136°E)",
            f"经度 {lon:.4f} 不在我国高斯-克吕格分带范围（东经73°–136°）内",
        )
    # a zone runs from 1.5° west of its meridian to 1.5° east, its west edge its own (115.5°E is zone 39,
    # 117°E): ``round`` would halve to even, to zone 38
    cm = min(max(3 * math.floor(lon / 3 + 0.5), GK3_CM_MIN), GK3_CM_MAX)
    return GK3_CM_FIRST_EPSG + (cm - GK3_CM_MIN) // 3


# (datum, zone width) → (EPSG of zone 0 with the zone prefix, EPSG of zone 0 by CM, first zone, last zone):
# e.g. CGCS2000 3° zone 39 → EPSG:4527 with prefix, EPSG:4548 (CM 117°E) without.
GK_FAMILIES: dict[tuple[str, int], tuple[int, int, int, int]] = {
    ("CGCS2000", 3): (4488, 4509, 25, 45),
    ("CGCS2000", 6): (4478, 4489, 13, 23),
    ("Xian1980", 3): (2324, 2345, 25, 45),
    ("Xian1980", 6): (2314, 2325, 13, 23),
    ("Beijing1954", 3): (2376, 2397, 25, 45),
    ("Beijing1954", 6): (21400, 21440, 13, 23),
}


def gk_epsg(zone: int, *, prefixed: bool, width: int = 3, datum: str = "CGCS2000") -> int:
    """EPSG of a Gauss-Krüger zone (带号) of a Chinese datum, with or without the easting prefix."""
    try:
        prefix_base, cm_base, first, last = GK_FAMILIES[(datum, width)]
    except KeyError:
        raise CRSError(
            f"no Gauss-Krüger family for datum {datum!r} with {width}° zones",
            f"不支持的坐标系 {datum!r} {width}度分带",
        ) from None
    if not first <= zone <= last:
        raise CRSError(
            f"{width}-degree zone number {zone} is outside China's zones {first}–{last}",
            f"{width}度带带号 {zone} 不在我国范围（{first}–{last}）内",
        )
    return (prefix_base if prefixed else cm_base) + zone


# PROJ's names of GK_FAMILIES' datums, and EPSG's codes of Transverse Mercator and two of its parameters
GK_DATUMS = frozenset({"China 2000", "Xian 1980", "Beijing 1954"})
TRANSVERSE_MERCATOR = "9807"
CENTRAL_MERIDIAN = "8802"  # longitude of natural origin
SCALE_FACTOR = "8805"  # scale factor at natural origin


def gk_central_meridian(crs: CRS) -> float:
    """The central meridian of ``crs`` if it is a Gauss-Krüger zone (Transverse Mercator at scale 1, in metres,
    on a Chinese datum); else :class:`CRSError` saying what it is: areas measured in any other projection are
    wrong (Web Mercator's by half at 35°N, UTM's by 0.08 %), however right its coordinates."""
    name = crs.to_string()
    if not crs.is_projected:
        raise CRSError(f"{name} is not a projected CRS", f"{name} 不是投影坐标系")
    conversion = crs.coordinate_operation  # None for a compound CRS (a zone with heights)
    # a parameter's value is a float at run time (pyproj's stub says str)
    params: dict[str, Any] = {p.code: p.value for p in conversion.params} if conversion is not None else {}
    units = sorted({axis.unit_name for axis in crs.axis_info})
    if conversion is None:
        why_en = why_zh = crs.type_name
    elif conversion.method_code != TRANSVERSE_MERCATOR:
        why_en = why_zh = conversion.method_name
    elif params.get(SCALE_FACTOR) != 1.0:
        why_en = f"Transverse Mercator with scale factor {params.get(SCALE_FACTOR)}"
        why_zh = f"横轴墨卡托投影，比例因子 {params.get(SCALE_FACTOR)}"
    elif units != ["metre"]:
        why_en, why_zh = f"in {', '.join(units)}, not metres", f"单位为 {'、'.join(units)}，不是米"
    elif crs.datum is None or crs.datum.name not in GK_DATUMS:
        datum = crs.datum.name if crs.datum is not None else "no datum"
        why_en = f"Transverse Mercator on {datum}, not CGCS2000, Xian 1980 or Beijing 1954"
        why_zh = f"{datum} 上的横轴墨卡托投影，不是 CGCS2000、西安80 或北京54 坐标系"
    else:
        return float(params[CENTRAL_MERIDIAN])
    raise CRSError(
        f"{name} is not a Gauss-Krüger zone ({why_en}): areas in it are wrong",
        f"{name} 不是高斯-克吕格投影带（{why_zh}），在其中量算的面积不准确",
    )


# the Earth's ellipsoids' semi-major axes (Everest 1830's 6,377,276 m to Clarke 1880's 6,378,249 m, the
# authalic sphere's 6,371,007 m) lie within these; PROJ also knows the Moon's and Mars's
EARTH_SEMI_MAJOR_M = (6_350_000.0, 6_400_000.0)
TRANSFORMER_CACHE_SIZE = 64  # each entry holds a PROJ context (~100 KB); clients can name any CRS


@lru_cache(maxsize=TRANSFORMER_CACHE_SIZE)
def _transformer(source: Any, target: Any) -> Transformer:
    return Transformer.from_crs(source, target, always_xy=True)


def _cache_key(crs: Any) -> Any:
    """A CRS object by the text it was made from: hashing a pyproj CRS writes its whole WKT."""
    return crs.srs if isinstance(crs, CRS) else crs


def transformer_for(source: Any, target: Any) -> Transformer:
    """The cached (bounded LRU) transformer between two CRSs given as EPSG codes, strings or CRS objects."""
    return _transformer(_cache_key(source), _cache_key(target))


def box_in_degrees(boxes: np.ndarray, crs: Any) -> np.ndarray:
    """The box (EPSG:4490) around shapes whose own boxes (rows x1, y1, x2, y2 in ``crs``) are given, from those
    boxes' corners reprojected: no wider than around the shapes but for a shape's own tilt (metres), where
    reprojecting a city's shapes takes tens of seconds; NaN for none."""
    if len(boxes) == 0:
        return np.full(4, np.nan)
    xs = np.concatenate([boxes[:, 0], boxes[:, 2], boxes[:, 0], boxes[:, 2]])
    ys = np.concatenate([boxes[:, 1], boxes[:, 1], boxes[:, 3], boxes[:, 3]])
    lon, lat = transformer_for(crs, CGCS2000).transform(xs, ys)
    return np.array([np.min(lon), np.min(lat), np.max(lon), np.max(lat)])


def reproject(geoms: Any, source: Any, target: Any) -> Any:
    """Shapely geometries (one or an array) from ``source`` to ``target`` (EPSG codes, strings or CRS).

    The transformer is kept in a bounded LRU per (source, target) as given, so the hot path
    builds no CRS and a stream of distinct client CRSs cannot grow memory without end.
    """
    transformer = transformer_for(source, target)
    if transformer.name == "noop":  # one CRS spelled two ways (4548, "EPSG:4548", a raster's CRS): nothing moves
        return geoms
    return shapely.transform(geoms, lambda xy: np.column_stack(transformer.transform(xy[:, 0], xy[:, 1])))


OLD_DATUMS = {"Xian 1980": "西安80", "Beijing 1954": "北京54"}  # PROJ's name → the planner's


def approximate_datum(crs: Any) -> str | None:
    """A warning (both languages) where coordinates on 西安80 or 北京54 come to CGCS2000 by a transformation PROJ
    itself calls approximate (a "ballpark" shift: no parameters, metres to tens of metres off), else None: a
    verdict near a red line or a farmland edge may turn on those metres."""
    source = CRS.from_user_input(crs)
    datum = source.datum.name if source.datum is not None else ""
    named = OLD_DATUMS.get(datum)
    if named is None:
        return None
    how = transformer_for(source, CGCS2000).description or "PROJ"
    if "ballpark" not in how.lower():
        return None
    return (
        f"the parcels' coordinates are on {datum} ({source.name}): moved to CGCS2000 by PROJ's "
        f"approximate shift ({how}), off by metres to tens of metres; check a finding near a layer's edge with "
        f"CGCS2000 coordinates（地块坐标为{named}坐标系（{source.name}），按 PROJ 近似转换至 CGCS2000（未使用转换参数，"
        "偏差可达数米至数十米）；临近图层边界的审查结论请以 CGCS2000 坐标复核）"
    )


def proj_definition(crs: CRS) -> str | None:
    """The CRS as a PROJ string (projection, its parameters, ellipsoid, datum shift; no names): one CRS
    written two ways (EPSG:4548, its PROJ string, ``+init=epsg:4548``) comes to one definition, which
    pyproj neither calls equal nor, for a PROJ string, gives an EPSG code."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # "you will lose projection information": names only
        definition: str | None = crs.to_proj4()
        return definition


def zone_for_geometry(geom: shapely.Geometry, crs: Any) -> int:
    """Zone EPSG for one geometry given in ``crs``: by its centroid's longitude.

    A parcel straddling two zones still uses one zone, its centroid's (DESIGN.md).
    """
    return gk3_epsg_for_longitude(reproject(geom.centroid, crs, CGCS2000).x)


def _fixed(value: float, digits: int) -> str:
    """``value`` with thousands separators and ``digits`` decimals; never "-0.00"."""
    text = f"{value:,.{digits}f}"
    return text[1:] if text.startswith("-") and not text.strip("-0.,") else text


def percent(share: float, apart_from: float = 0.0, *, digits: int = 1, sign: bool = False) -> str:
    """``share`` as a percentage with the fewest decimals (``digits`` at least) that keep it apart from
    ``apart_from``, the threshold it is said to be above or below: 0.016 % beyond a coverage is no "0.0 %",
    49.9997 % said to be below 50 % no "50.0 %", an overlap of 79.99 % below 80 % no "80.0 %"; a share equal to
    it keeps ``digits``. ``sign``: "+" before a gain."""
    if share != apart_from:
        while digits < 6 and round(share * 100, digits) == round(apart_from * 100, digits):
            digits += 1
    return f"{share:{'+' if sign else ''}.{digits}%}"


@dataclass(frozen=True)
class Area:
    """An area with the three units a Chinese planner reads side by side, and how every text writes
    them (one rule for the messages, the report, the PDF and the 审查意见): m² to 2 decimals (the
    result's own precision), 公顷 to 4 (one m²), 亩 to 2, or 4 where 2 would write an area found as none
    (2.36 m² is 0.0035 亩, not 0.00)."""

    m2: float

    @property
    def ha(self) -> float:
        return self.m2 / M2_PER_HA

    @property
    def mu(self) -> float:
        return self.m2 / M2_PER_MU

    @property
    def _mu_digits(self) -> int:
        mu = abs(self.mu)
        return 4 if mu < 0.005 and abs(self.m2) >= 0.005 else 2

    @cached_property  # a message writes each figure twice (zh, en): the three read once per area
    def _texts(self) -> tuple[str, str, str]:
        return _area_texts(self.m2)

    @property
    def rounded(self) -> tuple[float, float, float]:
        """m², 公顷 and 亩 as numbers to the decimals the texts write: JSON and a CSV beside a table's text."""
        return round(self.m2, 2), round(self.ha, 4), round(self.mu, self._mu_digits)

    @property
    def m2_text(self) -> str:
        return self._texts[0]

    @property
    def ha_text(self) -> str:
        return self._texts[1]

    @property
    def mu_text(self) -> str:
        return self._texts[2]

    @property
    def zh(self) -> str:
        """25,600.00 m²（2.5600 公顷，38.40 亩）."""
        m2, ha, mu = self._texts
        return f"{m2} m²（{ha} 公顷，{mu} 亩）"

    @property
    def en(self) -> str:
        m2, ha, mu = self._texts
        return f"{m2} m² ({ha} ha, {mu} mu)"

    @property
    def bracketed_zh(self) -> str:
        """12,852.35 m²，合 1.2852 公顷、19.28 亩: the area written inside a bracket, so that no bracket opens inside
        another (officer's read: 位于城镇弹性发展区（面积 12,747.65 m²（1.2748 公顷，19.12 亩））)."""
        m2, ha, mu = self._texts
        return f"{m2} m²，合 {ha} 公顷、{mu} 亩"

    @property
    def stacked(self) -> str:
        """One cell of a terminal table: m², 公顷 and 亩 one under another (three side by side make a ledger's
        table too wide to read)."""
        m2, ha, mu = self._texts
        return f"{m2} m²\n{ha} 公顷\n{mu} 亩"


@lru_cache(maxsize=4096)
def _area_texts(m2: float) -> tuple[str, str, str]:
    """An area's three texts, written once per value: a parcel's grading writes a figure in several places (the
    finding, its bracket, the conditions) from areas made apart: 16 areas a city parcel, of 9 values."""
    area = Area(m2)
    return _fixed(m2, 2), _fixed(area.ha, 4), _fixed(area.mu, area._mu_digits)


def undefined_crs(crs: Any) -> bool:
    """Whether ``crs`` is GDAL's stand-in for a GeoPackage's srs_id 0 or -1 ("Undefined geographic SRS",
    "Undefined Cartesian SRS"): degrees or metres of no known datum or zone, read as no CRS at all (a
    file without one is refused unless the caller names it)."""
    return crs is not None and CRS.from_user_input(crs).name.startswith("Undefined ")


def check_coordinates(frame: Shapes, *, layer: bool = False, every_vertex: bool = True) -> Shapes:
    """Refuse a frame (or its geometry) whose numbers cannot be right for its CRS; return it unchanged.

    Catches the mistakes planners make: no CRS at all, latitude and longitude
    swapped, projected metres declared as degrees, GK eastings with or without the
    zone prefix under the wrong EPSG, places outside China, and Gauss-Krüger coordinates farther from their
    meridian than any zone reaches: 6° for parcels, 12° for a blueprint's ``layer``, which is stored in one zone
    however wide its province (a parcel is measured in its own zone); its pinned zone is checked apart
    (``geo.blueprint``). ``every_vertex=False`` leaves out the scan for NaN and infinite numbers, for shapes
    found valid (GEOS's validity test refuses those).
    """
    declared = frame.crs  # read once: a GeoDataFrame finds it through its geometry column each time
    if declared is None:
        raise CRSError(
            "the parcels carry no CRS; declare one (e.g. EPSG:4490) or use a format that has it",
            "地块数据未声明坐标系，请声明（如 EPSG:4490）或使用带坐标系的格式",
        )
    geoms = np.asarray(frame.geometry.values, dtype=object)
    non_empty = geoms[~(shapely.is_missing(geoms) | shapely.is_empty(geoms))]  # no shape: its reader says so
    if len(non_empty) == 0:
        return frame
    for start in range(0, len(non_empty) if every_vertex else 0, FINITE_CHUNK):  # a city layer has 10⁸ vertices
        if not np.isfinite(shapely.get_coordinates(non_empty[start : start + FINITE_CHUNK])).all():
            raise CRSError("coordinates contain NaN or infinite values", "坐标中含有非数值或无穷大")
    minx, miny, maxx, maxy = shapely.total_bounds(non_empty)
    crs = CRS.from_user_input(declared)
    ellipsoid = crs.ellipsoid
    if ellipsoid is None or not EARTH_SEMI_MAJOR_M[0] <= ellipsoid.semi_major_metre <= EARTH_SEMI_MAJOR_M[1]:
        raise CRSError(
            f"{crs.to_string()} is not a coordinate system on the Earth's ellipsoid "
            f"({ellipsoid.name if ellipsoid else 'none'}); declare e.g. EPSG:4490 or a CGCS2000 Gauss-Krüger zone",
            f"{crs.to_string()} 不是地球椭球上的坐标系（{ellipsoid.name if ellipsoid else '无椭球'}），"
            "请声明如 EPSG:4490 或 CGCS2000 高斯-克吕格投影带",
        )
    if crs.is_geographic:
        _check_lonlat(np.array([minx, maxx]), np.array([miny, maxy]), crs)
        return frame
    _check_zone_prefix(minx, maxx, crs)
    # China's test is a lon/lat box; over a projected box lon and lat are extreme on its boundary
    t = np.linspace(0.0, 1.0, 33)
    xs = np.concatenate(
        [minx + t * (maxx - minx), np.full_like(t, maxx), maxx - t * (maxx - minx), np.full_like(t, minx)]
    )
    ys = np.concatenate(
        [np.full_like(t, miny), miny + t * (maxy - miny), np.full_like(t, maxy), maxy - t * (maxy - miny)]
    )
    lon, lat = transformer_for(crs, CGCS2000).transform(xs, ys)
    if not (np.isfinite(lon).all() and inside_china(np.asarray(lon), np.asarray(lat))):
        raise CRSError(
            f"projected coordinates (x {_metres(minx)}…{_metres(maxx)}, "
            f"y {_metres(miny)}…{_metres(maxy)}) do not fall in China under "
            f"{crs.to_string()}; check the zone, the zone-number prefix of the easting, and X/Y order",
            f"投影坐标在 {crs.to_string()} 下不在我国范围内；请核对带号、横坐标是否含带号前缀及 X/Y 顺序",
        )
    reach = LAYER_MERIDIAN_REACH_DEG if layer else MERIDIAN_REACH_DEG
    _check_meridian_reach(np.asarray(lon), crs, (minx, miny, maxx, maxy), reach)
    return frame


# No Gauss-Krüger data lie farther from their central meridian: a 6° zone reaches 3° (a province kept in one
# 3° zone, 6°, with areas 0.7 % too large at 35°N). A northing read as an easting lands 13° or more off.
MERIDIAN_REACH_DEG = 6.0
# a blueprint's layer, stored in the one zone of its middle however wide its province (新疆 spans 23°), reaches
# farther; a swapped layer still lands 13° or more off
LAYER_MERIDIAN_REACH_DEG = 12.0


def _check_meridian_reach(lon: np.ndarray, crs: CRS, box: tuple[float, float, float, float], reach: float) -> None:
    """Refuse transverse Mercator coordinates far from their zone: X and Y swapped (a northing of 2,019 km
    read as an easting put a parcel at Sanya 13.6° east of EPSG:4545's meridian, still inside China's box, and
    reviewed it 5 % too small) or a zone that is not theirs."""
    meridian = tm_params(crs)[1]
    if not np.isfinite(meridian):
        return
    off = float(np.abs((lon - meridian + 180.0) % 360.0 - 180.0).max())
    if off <= reach:
        return
    x, y = (f"{_metres(box[k])}…{_metres(box[k + 2])}" for k in (0, 1))
    raise CRSError(
        f"projected coordinates (x {x}, y {y}) lie {off:.1f}° from {crs.to_string()}'s central meridian "
        f"{meridian:g}°E, beyond any Gauss-Krüger zone's reach ({reach:g}°): check X/Y order and the zone",
        f"投影坐标（x {x}，y {y}）距 {crs.to_string()} 的中央经线（东经 {meridian:g}°）{off:.1f}°，"
        f"超出高斯-克吕格投影带的范围（{reach:g}°）：请核对 X/Y 顺序及投影带",
    )


def _metres(value: float) -> str:
    """A coordinate in a message: whole metres, or in short where no place has it (1e300 printed 301 digits)."""
    return f"{value:.0f}" if abs(value) < 1e12 else f"{value:.3g}"


def tm_params(crs: CRS) -> tuple[float, float]:
    """(false easting, central meridian) of a transverse Mercator CRS; (nan, nan) for any other."""
    op = crs.coordinate_operation if crs.is_projected else None
    if op is None or "Transverse Mercator" not in op.method_name:
        return float("nan"), float("nan")
    params = {p.name: float(p.value) for p in op.params}
    return params.get("False easting", float("nan")), params.get("Longitude of natural origin", float("nan"))


def _check_zone_prefix(minx: float, maxx: float, crs: CRS) -> None:
    """Refuse eastings whose zone-number prefix (39 of 39 465 337) is not the one a prefixed Gauss-Krüger
    CRS declares: zone 39's eastings under zone 40's CRS lie 1,000 km west, still in China, and would be
    reviewed there. A zone's eastings all begin with its number (±330 km of 500 km in a 6° zone)."""
    false_easting = tm_params(crs)[0]
    if not false_easting >= 1e6:  # not transverse Mercator (nan), or no prefix declared: eastings that carry
        return  # one fall outside China (check_coordinates)
    zone = int(false_easting // 1e6)
    carried = sorted({int(minx // 1e6), int(maxx // 1e6)})
    if carried == [zone]:
        return
    name = crs.to_string()
    if len(carried) > 1:
        why_en, why_zh = f"carry two zone numbers ({carried[0]}, {carried[1]})", "含两个不同的带号前缀"
    elif carried[0] == 0:
        why_en, why_zh = "carry no zone-number prefix", "不含带号前缀"
    else:
        why_en, why_zh = f"carry zone number {carried[0]}", f"带号前缀为 {carried[0]}"
    raise CRSError(
        f"eastings {_metres(minx)}…{_metres(maxx)} {why_en}, but {name} is zone {zone} (eastings {zone}xxxxxx); "
        "declare the CRS of the zone the coordinates are in",
        f"横坐标{why_zh}，与坐标系 {name} 的带号 {zone} 不符；请声明坐标所在投影带的坐标系",
    )


PROJECTED_AT_LEAST = 1_000.0  # no degree is this large, and no projected coordinate of China this small


def inside_china(lon: np.ndarray, lat: np.ndarray) -> bool:
    return bool(
        (lon >= CHINA_LON[0]).all()
        and (lon <= CHINA_LON[1]).all()
        and (lat >= CHINA_LAT[0]).all()
        and (lat <= CHINA_LAT[1]).all()
    )


def _check_lonlat(lon: np.ndarray, lat: np.ndarray, crs: CRS) -> None:
    if inside_china(lon, lat):
        return
    if inside_china(lat, lon):
        raise CRSError(
            "latitude and longitude look swapped (x must be longitude, y latitude)",
            "经纬度顺序疑似颠倒（x 应为经度，y 应为纬度）",
        )
    largest = float(max(np.abs(lon).max(), np.abs(lat).max()))
    if largest >= PROJECTED_AT_LEAST:
        raise CRSError(
            f"coordinates up to {largest:,.6g} are not degrees; "
            f"projected metres were read as {crs.to_string()}; declare the projected CRS "
            "(in the file, or --crs / ?crs= for a file that declares none, e.g. EPSG:4527)",
            f"坐标值（最大 {largest:,.6g}）不是经纬度，"
            f"投影坐标被声明为 {crs.to_string()}，请声明正确的投影坐标系"
            "（在文件中声明；文件未声明时用 --crs 或 ?crs= 指定，如 EPSG:4527）",
        )
    if np.abs(lon).max() > 180 or np.abs(lat).max() > 90:  # [116.6, 95]: a typing error, not metres
        raise CRSError(
            f"coordinates (lon {lon.min():.6g}…{lon.max():.6g}, lat {lat.min():.6g}…{lat.max():.6g}) are not "
            "valid degrees: longitude lies within ±180°, latitude within ±90°",
            f"坐标（经度 {lon.min():.6g}…{lon.max():.6g}，纬度 {lat.min():.6g}…{lat.max():.6g}）不是有效的经纬度："
            "经度应在 ±180° 以内，纬度应在 ±90° 以内",
        )
    raise CRSError(
        f"coordinates (lon {lon.min():.3f}…{lon.max():.3f}, lat {lat.min():.3f}…{lat.max():.3f}) are outside China",
        f"坐标（经度 {lon.min():.3f}…{lon.max():.3f}，纬度 {lat.min():.3f}…{lat.max():.3f}）不在我国范围内",
    )
