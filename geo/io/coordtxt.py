"""The land-survey coordinate exchange text (界址点坐标交换格式) used in 用地预审/报批/勘测定界.

    [属性描述]                 坐标系=2000国家大地坐标系, 几度分带=3, 投影类型=高斯克吕格,
                               计量单位=米, 带号=39, 精度=0.001, 转换参数=,,,,,,
    [地块坐标]
    界址点数,地块面积(公顷),地块编号,地块名称,面,图幅号,地块用途,地类编码,@
    J1,1,X,Y                   X northing, Y easting (zone number as prefix or not)

Reading. Files arrive from many tools, so the reader accepts what can be read
without guessing and says what it did in ``frame.attrs["warnings"]``:

- UTF-8 (with or without BOM) or GBK/GB18030; LF or CRLF; spaces or tabs after
  the commas; full-width commas (，, a Chinese input method's) as separators in a
  line whose ASCII commas are too few for its fields (else they are text: the writer
  puts a comma inside a name so); an optional ``[扩展信息]`` section; provincial
  columns before ``@`` (kept as ``extra``); a column-title line (界址点数,地块面积,…)
  is skipped.
- X, Y and 圈号 in decimal digits with a point (``3917732.007``), ASCII or the full-width digits, point and
  sign of a Chinese input method (``３９１７７３２．００７``); what else Python's float() takes is refused naming
  the line and the text: a digit separator (``3917_732.007``), an exponent (``3.92E+06``: a spreadsheet's
  display of a narrow column, its digits lost), ``inf``/``nan``, another script's digits (``٣``).
- 坐标系 2000国家大地坐标系 / 80西安坐标系 / 54北京坐标系 (by name), 3° or 6° zones,
  eastings with or without the zone prefix.
- 地块面积 as a number (公顷, the format's unit) or with a unit: ``0.7655公顷``,
  ``11.48亩``, ``7655平方米``, ``7655m²``/``m2``/``㎡``, ``ha``; kept as
  ``declared_area_ha`` and compared with the coordinates (a warning above 0.1 %).
- Columns written east-first (a converter's "XY 坐标标反"): a northing in China is
  1–7 million metres, an easting 0.1–1 million, or 13–46 million with the zone
  prefix, so when *every* point has X in the easting range and Y in the northing
  range the columns are swapped back with a warning; when some points are one way
  and some the other (or fit neither) the file is refused ("columns look
  swapped / mixed").
- Rings repeat their first point to close; an unclosed ring is closed (warning).
  圈号 1 is the outer ring; a later ring inside an outer ring is a hole, outside
  every outer ring (or inside a hole) a further part.
- A record is ``面`` (or blank: an area), ``线`` or ``点``; any other type is refused.
  ``线`` and ``点`` records are refused, naming the record: a siting review needs an
  area. With ``line_buffer`` (CLI ``--line-buffer METRES``) they become a corridor
  of that many metres each side, stated in the warnings.
- Every parcel gets a stable unique ``id``: its 地块编号; a blank 地块编号 takes the
  record's 1-based position; a repeated one (or a position already used as an
  地块编号) takes ``-2``, ``-3``… in file order. Each such choice is a warning.

Writing (``write_coordinate_text``) follows survey practice so that a receiving
system reads every ring the same way whichever rule it applies:

- 格式版本号=1.01版本; 数据产生单位 from the caller (the service's settings), else
  the one the frame was read with.
- Outer rings clockwise (as seen on the map, north up), holes anticlockwise; each
  ring starts at its north-western point — the vertex nearest the north-west corner
  of the ring's bounding box — as J1 (J-numbers run on across rings; a ring's
  closing point repeats its first number).
- 圈号: the outer rings of a parcel's parts come first, numbered 1…k, then the
  holes, k+1…, grouped by their part in part order. So a part is never numbered
  after a hole, is always clockwise, and lies outside every other outer ring: read
  by number, orientation or containment it is a part, and a hole is a hole.

What cannot be read is a FormatError or CRSError naming the line, in Chinese and
English; never a guess.
"""

from __future__ import annotations

import codecs
import math
import re
import unicodedata
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cache
from typing import Any

import geopandas as gpd
import numpy as np
import shapely
from pyproj import CRS

from geo.crs import CGCS2000, GK_FAMILIES, gk3_epsg_for_longitude, gk_epsg, proj_definition, reproject
from geo.errors import CRSError, FormatError, GeometryError, InputError, TooLargeError
from geo.figures import DECIMAL, FULL_WIDTH_NUMBER, decimal
from geo.vocabulary import CONTROL_CHARACTERS, first_few

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
FORMAT_VERSION = "1.01版本"
TEXT_COLUMNS = ("id", "name", "sheet", "use", "class_code")  # a header line's text fields, in their order
KEPT_COLUMNS = (*TEXT_COLUMNS, "extra")  # the attributes the file holds (extra: the provincial columns)
GAUSS_KRUGER = re.compile(r"高斯|gauss|\bgk\b", re.IGNORECASE)  # 高斯-克吕格, Gauss-Krüger, Gauss-Kruger, GK
METRES = ("米", "m", "metre", "meter", "metres", "meters")
AREA_TOLERANCE = 1e-3  # warn when the declared 地块面积 differs from the geometry by more than 0.1 %
# a line ends at CR, LF or CRLF only: str.splitlines also breaks at a vertical tab, a form feed and other
# separators, and cut a header line in two, whose first half was then "a point before any parcel header"
LINE_BREAKS = re.compile(r"\r\n|\r|\n")
MAX_LINE_BUFFER_M = 5_000.0  # a corridor wider than 10 km is not a linear project's land
MAX_NESTING_TESTS = 2_000_000  # a ring's vertices tested against each ring whose box meets its own: ~1 s
MAX_RINGS = 500  # rings (outer rings, holes, parts) of one record: more is no parcel a project asks for
# 地块面积 units → hectares per unit; a bare number is 公顷, the format's unit
AREA_UNITS = {
    "公顷": 1.0,
    "ha": 1.0,
    "hm²": 1.0,
    "hm2": 1.0,
    "亩": 1 / 15,
    "平方米": 1e-4,
    "m²": 1e-4,
    "m2": 1e-4,
    "㎡": 1e-4,
    "平米": 1e-4,
}
_AREA = re.compile(rf"({DECIMAL})\s*(" + "|".join(map(re.escape, AREA_UNITS)) + r")?", re.I)
AREA_KINDS = ("面", "")  # an area record; 线 and 点 are lines and points
LINE_KINDS = ("线", "点")


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


@dataclass
class _Point:
    name: str
    ring: int
    x: float  # the X column as written (a northing unless the columns are swapped)
    y: float
    line: int


@dataclass
class _Record:
    """One parcel header line (…,@) and its points."""

    line: int
    position: int
    number: str  # 地块编号 as written, "" when blank
    name: str | None
    point_count: int | None
    declared_area_ha: float | None
    kind: str
    sheet: str | None
    use: str | None
    class_code: str | None
    extra: str | None
    points: list[_Point] = field(default_factory=list)
    id: str = ""

    @property
    def label(self) -> str:
        shown = self.number or self.name or f"#{self.position}"
        return f"{shown} (line {self.line})"

    @property
    def label_zh(self) -> str:
        shown = self.number or self.name or f"第 {self.position} 个"
        return f"{shown}（第 {self.line} 行）"


def decode(data: bytes) -> str:
    """UTF-8 (with or without BOM) or GBK/GB18030, as approval systems write them; a UTF-8 BOM in front of GBK text
    (an editor's save) is left out, not read as GBK's 锘 (its first line was "text outside a known section": probe)."""
    for encoding, text in (("utf-8-sig", data), ("gb18030", data.removeprefix(codecs.BOM_UTF8))):
        try:
            return text.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise FormatError("the coordinate file is neither UTF-8 nor GBK text", "坐标文件既不是 UTF-8 也不是 GBK 编码的文本")


def _datum(text: str) -> str:
    upper = text.upper().replace(" ", "")
    for datum, (_, needles) in DATUM_NAMES.items():
        if any(n in upper for n in needles):
            return datum
    raise CRSError(
        f"unknown 坐标系 {_shown(text)}; expected 2000国家大地坐标系, 80西安坐标系 or 54北京坐标系",
        f"无法识别的坐标系 {_shown(text)}（应为2000国家大地坐标系、80西安坐标系或54北京坐标系）",
    )


def _check_line_buffer(line_buffer: float | None) -> None:
    if line_buffer is None:
        return
    if not (math.isfinite(line_buffer) and 0 < line_buffer <= MAX_LINE_BUFFER_M):
        raise InputError(
            f"line buffer {line_buffer!r} m: give metres each side, above 0 and at most {MAX_LINE_BUFFER_M:g}",
            f"线状缓冲距离 {line_buffer!r} 米无效：须为大于 0、不超过 {MAX_LINE_BUFFER_M:g} 的单侧米数",
        )


def parse_coordinate_text(
    data: bytes | str, *, line_buffer: float | None = None, crs: CRS | None = None
) -> gpd.GeoDataFrame:
    """Parcels of a coordinate file; ``frame.attrs`` holds the header and any warnings.

    ``line_buffer`` (metres each side) turns ``线``/``点`` records into corridors;
    without it such records are refused. ``crs``, the CRS the caller gave (``--crs``, ``?crs=``),
    supplies the zone where 带号 is blank and the eastings carry no prefix; the header rules otherwise.
    """
    _check_line_buffer(line_buffer)
    text = decode(data) if isinstance(data, bytes) else data
    section = ""
    values: dict[str, str] = {}
    extension: list[str] = []
    records: list[_Record] = []
    warnings: list[str] = []
    for number, raw in enumerate(LINE_BREAKS.split(text), start=1):
        line = raw.strip().lstrip("\ufeff").strip()
        if (control := CONTROL_CHARACTERS.search(line)) is not None:
            raise FormatError(
                f"line {number}: control character U+{ord(control.group()):04X} in the text",
                f"第 {number} 行：含有控制字符 U+{ord(control.group()):04X}",
            )
        if not line:
            continue
        if line.startswith("[") and line.endswith("]"):
            section = line[1:-1].strip()
            continue
        if section == "属性描述":
            key, _, value = line.replace("＝", "=", 1).partition("=")  # a full-width ＝ typed in a Chinese IME
            values[key.strip()] = value.strip()
        elif section == "扩展信息":
            extension.append(line)
        elif section == "地块坐标":
            if line.rstrip(",，").endswith("@"):
                if line.startswith("界址点数"):
                    continue  # a column-title line some exporters write
                records.append(_record(line, number, len(records) + 1, warnings))
            elif not records:
                raise FormatError(
                    f"line {number}: a point before any parcel header line (ending with @)",
                    f"第 {number} 行：界址点出现在地块属性行（以 @ 结尾）之前",
                )
            else:
                records[-1].points.append(_point(line, number))
        else:
            raise FormatError(
                f"line {number}: text outside a known section ([属性描述], [地块坐标])",
                f"第 {number} 行：内容不在已知的节（[属性描述]、[地块坐标]）中",
            )
    if not records:
        raise FormatError(
            "no parcels: the file has no [地块坐标] section with a header line ending in @",
            "文件中没有地块：缺少 [地块坐标] 节或以 @ 结尾的地块属性行",
        )
    for record in records:
        if not record.points:
            raise FormatError(f"parcel {record.label} has no points", f"地块 {record.label_zh} 没有界址点")
        if record.kind in LINE_KINDS and line_buffer is None:
            raise FormatError(
                f"parcel {record.label} is a {record.kind} record (a line or points), but a siting review needs an "
                "area; for a linear project give a corridor width (CLI: --line-buffer METRES)",
                f"地块 {record.label_zh} 为“{record.kind}”记录，选址审查需要面状范围；"
                "线性工程可指定缓冲宽度（命令行 --line-buffer 米数）按廊道审查",
            )
    _orient_columns(records, warnings)
    _assign_ids(records, warnings)
    header = _header(values, extension, records, warnings, crs)
    rows: list[dict[str, Any]] = []
    geoms: list[shapely.Geometry] = []
    for record in records:
        if record.kind in LINE_KINDS:
            assert line_buffer is not None
            geom = _corridor(record, line_buffer, warnings)
        else:
            geom = _polygon(record, warnings)
        declared = record.declared_area_ha
        if declared is not None:
            computed_ha = geom.area / 10_000
            if abs(computed_ha - declared) > AREA_TOLERANCE * declared:
                share = abs(computed_ha - declared) / declared
                warnings.append(
                    f"parcel {record.id}: declared area {declared:g} ha, geometry {computed_ha:.4f} ha "
                    f"(地块面积与坐标计算面积相差 {share:.2%}){_unit_hint(declared, computed_ha)}"
                )
        rows.append(
            {
                "id": record.id,
                "name": record.name,
                "point_count": record.point_count,
                "declared_area_ha": declared,
                "geometry_kind": record.kind or None,
                "sheet": record.sheet,
                "use": record.use,
                "class_code": record.class_code,
                "extra": record.extra,
                "line_buffer_m": line_buffer if record.kind in LINE_KINDS else None,
            }
        )
        geoms.append(geom)
    frame = gpd.GeoDataFrame(rows, geometry=geoms, crs=CRS.from_epsg(header.epsg))
    frame.attrs["coordinate_header"] = header
    frame.attrs["warnings"] = warnings
    return frame


def _unit_hint(declared: float, computed: float) -> str:
    """A hint when the declared figure is the area in another unit written without it."""
    for unit, per_ha in (("平方米", 1e-4), ("亩", 1 / 15)):
        if computed > 0 and abs(declared * per_ha - computed) <= AREA_TOLERANCE * computed:
            return f"; the figure matches the area in {unit} (该数值与以{unit}计的面积相符，请注明单位)"
    return ""


def _number(text: str, number: int, what: str) -> float:
    value = decimal(text)
    if value is not None:
        return value
    if text.strip().lstrip("+-").lower() in ("nan", "inf", "infinity"):
        raise FormatError(
            f"line {number}: {what} {_shown(text)} is not finite", f"第 {number} 行：{what} {_shown(text)} 不是有限数值"
        )
    raise FormatError(
        f"line {number}: {what} {_shown(text)} is not a number in decimal digits (such as 3917732.007): no digit "
        "separator (_), exponent (e), inf/nan or digits of another script",
        f"第 {number} 行：{what} {_shown(text)} 不是十进制数字（应如 3917732.007）：不能含分隔符（_）、指数（e）、"
        "inf/nan 或其他文字的数字",
    )


def area_ha(text: str) -> float | None:
    """地块面积 as written (``0.7655``, ``0.7655公顷``, ``11.48亩``, ``7655m²``…) in hectares; None if unreadable."""
    match = _AREA.fullmatch(text.strip().replace(",", "").translate(FULL_WIDTH_NUMBER))
    if match is None:
        return None
    value = float(match.group(1))
    unit = (match.group(2) or "公顷").lower()
    per_unit = next(v for k, v in AREA_UNITS.items() if k.lower() == unit)
    return value * per_unit if math.isfinite(value) else None


def _fields(line: str, needed: int) -> list[str]:
    """A line's fields, header or point alike. Full-width commas (，) separate too when the ASCII ones
    give fewer than ``needed`` fields (a line typed with a Chinese input method); otherwise they are
    text, as :func:`write_coordinate_text` writes a comma inside a name."""
    parts = line.split(",")
    if len(parts) < needed:
        parts = line.replace("，", ",").split(",")
    return [p.strip() for p in parts]


def _record(line: str, number: int, position: int, warnings: list[str]) -> _Record:
    parts = _fields(line.rstrip(",，"), 9)  # eight columns and @
    parts = parts[:-1] if parts[-1] == "@" else [*parts[:-1], parts[-1].rstrip("@").strip()]
    parts += [""] * (8 - len(parts))
    if parts[4] not in (*AREA_KINDS, *LINE_KINDS):
        raise FormatError(
            f"line {number}: record type {parts[4][:20]!r} is not 面, 线 or 点 (blank is 面)",
            f"第 {number} 行：地块属性 {parts[4][:20]!r} 应为“面”“线”或“点”（空为面）",
        )
    area_text = parts[1]
    declared = area_ha(area_text) if area_text else None
    if area_text and (declared is None or declared <= 0):
        declared = None
        warnings.append(
            f"line {number}: 地块面积 {_shown(area_text)} is not an area (a positive number with 公顷, 亩 or 平方米); "
            f"ignored (第 {number} 行：地块面积 {_shown(area_text)} 无法识别或不为正数，已忽略)"
        )
    return _Record(
        line=number,
        position=position,
        number=parts[2],
        name=parts[3] or None,
        # a count of more than 9 digits is no count (and past 4,300 digits int() refuses it)
        point_count=int(parts[0]) if parts[0].isascii() and parts[0].isdigit() and len(parts[0]) <= 9 else None,
        declared_area_ha=declared,
        kind=parts[4],
        sheet=parts[5] or None,
        use=parts[6] or None,
        class_code=parts[7] or None,
        extra=",".join(parts[8:]) or None,
    )


def _point(line: str, number: int) -> _Point:
    parts = _fields(line, 4)
    if len(parts) < 4:
        raise FormatError(
            f"line {number}: a point needs 点号,圈号,X,Y; got {line[:60]!r}",
            f"第 {number} 行：界址点应为“点号,圈号,X,Y”",
        )
    if len(parts) == 6 and all(p.isascii() and p.isdigit() for p in parts[2:]):  # 3921585,002 read as X and Y
        raise FormatError(
            f"line {number}: a point needs 点号,圈号,X,Y; {line[:60]!r} has six fields, its last four digits: X and Y "
            "each split by a decimal comma? Write them with a decimal point (3921585.002)",
            f"第 {number} 行：界址点应为“点号,圈号,X,Y”，该行有六个字段、后四个为数字，疑为 X、Y 以逗号作小数点；"
            "坐标小数请用小数点（如 3921585.002）",
        )
    ring = _number(parts[1], number, "圈号")
    if ring != int(ring) or ring < 1:
        raise FormatError(
            f"line {number}: 圈号 {_shown(parts[1])} must be a positive integer", f"第 {number} 行：圈号须为正整数"
        )
    return _Point(parts[0], int(ring), _number(parts[2], number, "X"), _number(parts[3], number, "Y"), number)


def _is_northing(v: float) -> bool:
    return 1_000_000 <= v < 7_000_000


def _is_easting(v: float) -> bool:
    return 100_000 <= v < 1_000_000 or 13_000_000 <= v < 46_000_000


def _orient_columns(records: list[_Record], warnings: list[str]) -> None:
    """Swap X and Y back when every point is written east-first; refuse a file that mixes the orders."""
    points = [p for r in records for p in r.points]
    if all(abs(p.x) < 1_000 and abs(p.y) < 1_000 for p in points):
        raise CRSError(
            "the coordinates look like longitude/latitude degrees, not Gauss-Krüger metres",
            "坐标像是经纬度（度），而不是高斯-克吕格平面坐标（米）",
        )
    north_first = [p for p in points if _is_northing(p.x) and _is_easting(p.y)]
    east_first = [p for p in points if _is_easting(p.x) and _is_northing(p.y)]
    if not east_first:
        return  # as the format says (or beyond these ranges: the zone checks below speak)
    if len(east_first) == len(points):
        first = east_first[0]
        warnings.append(
            f"columns look swapped: X holds eastings and Y northings (line {first.line}: X={first.x:.3f}, "
            f"Y={first.y:.3f}); read east-first (X、Y 坐标列疑似标反，已按先东坐标后北坐标读取)"
        )
        for p in points:
            p.x, p.y = p.y, p.x
        return
    other = north_first[0] if north_first else next(p for p in points if p not in east_first)
    raise FormatError(
        f"columns look swapped / mixed: line {east_first[0].line} is east-first (X={east_first[0].x:.3f}), "
        f"line {other.line} is not (X={other.x:.3f}, Y={other.y:.3f}); write every point as 点号,圈号,X(北),Y(东)",
        f"坐标列疑似标反或混用：第 {east_first[0].line} 行为先东后北，第 {other.line} 行不是；"
        "请统一按“点号,圈号,X(北坐标),Y(东坐标)”书写",
    )


def _assign_ids(records: list[_Record], warnings: list[str]) -> None:
    """Stable unique ids in file order: 地块编号, else the position; repeats get -2, -3…"""
    given = Counter(r.number for r in records if r.number)
    taken: set[str] = set()
    next_k: dict[str, int] = {}  # per base, the suffix to try next: 22,000 records all numbered A stay linear
    for record in records:
        base = record.number or str(record.position)
        candidate = base
        if candidate in taken or (not record.number and candidate in given):
            k = next_k.get(base, 2)
            while f"{base}-{k}" in taken or f"{base}-{k}" in given:
                k += 1
            next_k[base] = k + 1
            candidate = f"{base}-{k}"
        taken.add(candidate)
        record.id = candidate
        if not record.number:
            warnings.append(
                f"line {record.line}: no 地块编号; id {candidate} from the record's position "
                f"(第 {record.line} 行：地块编号为空，按顺序编号为 {candidate})"
            )
        elif candidate != record.number:
            warnings.append(
                f"line {record.line}: 地块编号 {record.number} repeats; this parcel's id is {candidate} "
                f"(第 {record.line} 行：地块编号 {record.number} 重复，本地块编号记为 {candidate})"
            )


def _header(
    values: dict[str, str], extension: list[str], records: list[_Record], warnings: list[str], given: CRS | None
) -> CoordinateHeader:
    if not values.get("坐标系"):
        raise CRSError("the file declares no 坐标系 in [属性描述]", "坐标文件 [属性描述] 中未声明坐标系")
    datum = _datum(values["坐标系"])
    width_text = values.get("几度分带") or values.get("分带") or ""
    width = _zone_width(width_text)
    projection = values.get("投影类型", "")
    if projection and not GAUSS_KRUGER.search(projection):
        raise CRSError(
            f"投影类型 {_shown(projection)} is not Gauss-Krüger", f"投影类型 {_shown(projection)} 不是高斯-克吕格投影"
        )
    unit = values.get("计量单位", "")
    if unit and unit.lower() not in METRES:
        raise CRSError(f"计量单位 {_shown(unit)}: only metres are supported", f"计量单位 {_shown(unit)}：仅支持米")
    eastings = [p.y for record in records for p in record.points]
    prefixes = {int(e // 1_000_000) for e in eastings}
    prefixed = min(eastings) >= 1_000_000
    if prefixed and len(prefixes) > 1:
        raise CRSError(
            f"eastings carry different zone prefixes {sorted(prefixes)}",
            f"横坐标带号前缀不一致：{sorted(prefixes)}",
        )
    declared = values.get("带号", "")
    width_assumed = not width_text
    zone = _declared_zone(declared)
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
        zone, width = _zone_given(given, datum, width, declared_width=bool(width_text), warnings=warnings)
        width_assumed = False
    six = GK_FAMILIES[(datum, 6)]
    if width_assumed and six[2] <= zone <= six[3]:  # 13–23: only a 6° zone's number (3° zones are 25–45)
        width = 6
        warnings.append(
            f"几度分带 not given: zone {zone} is a 6-degree zone's number; 6-degree zones assumed "
            f"(未声明分带，带号 {zone} 为6度带带号，按6度带处理)"
        )
    elif width_assumed:
        warnings.append("几度分带 not given: 3-degree zones assumed (未声明分带，按3度带处理)")
    precision = decimal(values.get("精度", "")) or 0.001
    if not 1e-6 <= precision <= 1:
        precision = 0.001  # 精度 blank or unusable: millimetres
    header = CoordinateHeader(datum, width, zone, prefixed, precision, values, extension)
    header.epsg  # noqa: B018 — raises CRSError for a zone outside the datum's range
    return header


def _zone_width(text: str) -> int:
    """几度分带 as written (``3``, ``６``, ``3度``, ``3度带``, ``6°``), 3 where it is blank; anything else is refused:
    the first digits were taken, so ``1.5`` (a 1.5° zone, which lantu does not read) was "1° zones", and ``3.5``
    or ``3/6`` read as 3 without a word."""
    if not text:
        return 3
    found = re.fullmatch(r"0*([36])\s*(?:度|°)?\s*(?:分?带)?", unicodedata.normalize("NFKC", text).strip())
    if found is None:
        raise CRSError(f"几度分带 {_shown(text)} is not 3 or 6", f"几度分带 {_shown(text)} 无效：应为 3 或 6")
    return int(found.group(1))


def _declared_zone(text: str) -> int | None:
    """带号 as written (``39``, ``３９``, ``第39带``), or None where it is blank; anything else is refused:
    read as blank, it let a CRS given replace the file's zone, three degrees off."""
    if not text:
        return None
    found = re.fullmatch(r"第?\s*(\d{1,9})\s*带?", unicodedata.normalize("NFKC", text))
    if found is None or not found.group(1).isascii():
        raise CRSError(f"带号 {text[:20]!r} is not a zone number", f"带号 {text[:20]!r} 不是投影带号")
    return int(found.group(1))


@cache
def _zones_by_definition(datum: str, width: int) -> dict[str | None, int]:
    """The PROJ string of each zone of a family without the prefix → its 带号: a CRS given as a PROJ
    string or ``+init=`` has no EPSG code for pyproj to name, and is still that zone."""
    _, cm_base, first, last = GK_FAMILIES[(datum, width)]
    return {proj_definition(CRS.from_epsg(cm_base + zone)): zone for zone in range(first, last + 1)}


def _zone_given(
    given: CRS | None, datum: str, width: int, *, declared_width: bool, warnings: list[str]
) -> tuple[int, int]:
    """(带号, zone width) where 带号 is blank and the eastings carry no prefix: those of the CRS the caller
    gave, if it is a Gauss-Krüger zone of the file's datum without the prefix (and of its 几度分带 where
    the file gives one). A surveyor who left 带号 blank knows the zone; nothing in the file does."""
    widths = (width,) if declared_width else (3, 6)
    example = gk_epsg(39 if width == 3 else 20, prefixed=False, width=width, datum=datum)
    example_en = f"e.g. EPSG:{example} for {datum} {width}° zone {39 if width == 3 else 20}"
    example_zh = f"如 EPSG:{example} 即 {datum} {width}度带第 {39 if width == 3 else 20} 带"
    if given is None:
        raise CRSError(
            f"带号 is blank and the eastings carry no zone prefix: the zone is unknown; give the zone's CRS "
            f"(--crs or ?crs=, {example_en})",
            f"带号为空且横坐标不含带号前缀，无法确定投影带；请指定该带的坐标系（--crs 或 ?crs=，{example_zh}）",
        )
    found = _family(given.to_epsg())
    if found is None or found[3]:  # no EPSG code, or a prefixed zone: the zone its definition matches, if any
        matches = [(w, z) for w in widths if (z := _zones_by_definition(datum, w).get(proj_definition(given)))]
        found = (datum, *matches[0], False) if matches else found
    if found is None or found[0] != datum or found[3] or found[1] not in widths:
        raise CRSError(
            f"带号 is blank and the eastings carry no zone prefix, and the CRS given ({given.name}) is not a "
            f"{' or '.join(map(str, widths))}-degree Gauss-Krüger zone of {datum} without the zone prefix "
            f"({example_en})",
            f"带号为空且横坐标不含带号前缀，指定的坐标系（{given.name}）也不是 {datum} 不加带号的"
            f"{'或'.join(map(str, widths))}度带坐标系（{example_zh}）",
        )
    _, given_width, zone, _ = found
    epsg = gk_epsg(zone, prefixed=False, width=given_width, datum=datum)
    warnings.append(
        f"带号 blank: zone {zone} ({given_width}°) taken from the CRS given, EPSG:{epsg} "
        f"(带号为空，按指定的坐标系 EPSG:{epsg} 取 {given_width} 度带第 {zone} 带)"
    )
    return zone, given_width


def _rings(record: _Record, warnings: list[str]) -> list[tuple[int, list[tuple[float, float]]]]:
    """The record's rings as (圈号, [(easting, northing)…]), each closed."""
    if record.point_count is not None and record.point_count != len(record.points):
        warnings.append(
            f"parcel {record.id}: header says {record.point_count} points, file has {len(record.points)} "
            "(界址点数与实际点数不符)"
        )
    rings: list[tuple[int, list[tuple[float, float]]]] = []
    current: list[tuple[float, float]] = []
    current_ring = record.points[0].ring
    points = record.points
    for k, point in enumerate(points):
        if point.ring != current_ring and current:
            rings.append((current_ring, current))
            current = []
        closed_again = not current and rings and rings[-1][0] == point.ring and rings[-1][1][-1] == (point.y, point.x)
        if closed_again and not _reopens(points, k):
            # the closing point written twice: no ring of one point (it was refused as "fewer than 3 points"); a
            # further part of the same 圈号 starting where the last closed (lots touching at a corner) is no repeat
            warnings.append(
                f"parcel {record.id}: point {point.name} repeats ring {point.ring}'s closing point; dropped"
                f"（第 {point.ring} 圈的闭合点重复，已忽略）"
            )
            continue
        current_ring = point.ring
        current.append((point.y, point.x))
        if len(current) > 3 and current[-1] == current[0]:
            rings.append((current_ring, current))
            current = []
    if current:
        rings.append((current_ring, current))
    return rings


def _reopens(points: Sequence[_Point], k: int) -> bool:
    """Whether point ``k`` opens a part of its 圈号 that closes on it again, rather than repeating a closing point."""
    for later in points[k + 1 :]:
        if later.ring != points[k].ring:
            return False
        if (later.y, later.x) == (points[k].y, points[k].x):
            return True
    return False


def _polygon(record: _Record, warnings: list[str]) -> shapely.Geometry:
    rings = _rings(record, warnings)
    for ring, coords in rings:
        if len(set(coords)) < 3:
            raise GeometryError(
                f"parcel {record.id}: ring {ring} has fewer than 3 distinct points",
                f"地块 {record.id}：第 {ring} 圈不足 3 个不同的点",
            )
        if coords[0] != coords[-1]:
            warnings.append(f"parcel {record.id}: ring {ring} not closed; closed it (圈未闭合，已自动闭合)")
            coords.append(coords[0])
    if len(rings) > MAX_RINGS:  # their nesting is compared pair by pair: stacked rings cost the square
        raise TooLargeError(
            f"parcel {record.id}: {len(rings):,} rings; a parcel has at most {MAX_RINGS:,} (outer rings, holes, parts)",
            f"地块 {record.id}：共 {len(rings):,} 圈，一个地块最多 {MAX_RINGS:,} 圈（外圈、内圈与多部件合计）",
        )
    # by nesting, whatever the numbering: a ring inside an even number of others is an outer ring
    # (圈号 1, or a further part 多部件, an island in a hole included), inside an odd number a hole
    # of the innermost outer ring holding it
    shapes = np.array([shapely.Polygon(coords) for _, coords in rings], dtype=object)
    vertices = np.array([shapely.MultiPoint(coords) for _, coords in rings], dtype=object)
    ring, host = shapely.STRtree(shapes).query(shapes)  # boxes first: a file of many small rings stays linear
    pair = ring != host
    ring, host = ring[pair], host[pair]
    tests = int(shapely.get_num_geometries(vertices)[ring].sum())  # a vertex against a host, each
    if tests > MAX_NESTING_TESTS:  # rings stacked on each other: every pair, every vertex
        raise TooLargeError(
            f"parcel {record.id}: its {len(rings):,} rings lie over each other ({tests:,} vertex tests to nest "
            f"them, at most {MAX_NESTING_TESTS:,})",
            f"地块 {record.id}：{len(rings):,} 个圈相互叠压（判断嵌套需 {tests:,} 次点测试，"
            f"上限 {MAX_NESTING_TESTS:,}）",
        )
    shapely.prepare(shapes)
    # every vertex of the ring on or inside the host, and its inside too: a lot filling another's notch has
    # every vertex on that lot's outline and lies beside it, not in it (it was read as a hole: probe)
    held = shapely.covers(shapes[host], vertices[ring])
    held[held] = shapely.contains(shapes[host[held]], shapely.point_on_surface(shapes[ring[held]]))
    inside: list[list[int]] = [[] for _ in rings]
    for i, j in zip(ring[held].tolist(), host[held].tolist(), strict=True):
        inside[i].append(j)
    depth = [len(c) for c in inside]
    holes: dict[int, list[int]] = {}
    for i, containers in enumerate(inside):
        hosts = [j for j in containers if depth[j] % 2 == 0]
        if depth[i] % 2 == 0 or not hosts:
            holes.setdefault(i, [])
        else:
            holes.setdefault(max(hosts, key=lambda j: depth[j]), []).append(i)
    polygons = [shapely.Polygon(shapes[o].exterior, [shapes[h].exterior for h in inner]) for o, inner in holes.items()]
    return polygons[0] if len(polygons) == 1 else shapely.MultiPolygon(polygons)


def _corridor(record: _Record, width: float, warnings: list[str]) -> shapely.Geometry:
    """A 线 or 点 record as the area within ``width`` metres of it."""
    rings = _rings(record, warnings)
    if record.kind == "点":
        shape: shapely.Geometry = shapely.MultiPoint([c for _, coords in rings for c in coords])
    else:
        lines = [coords for _, coords in rings if len(set(coords)) >= 2]
        if not lines:
            raise GeometryError(
                f"parcel {record.id}: a 线 record needs at least 2 distinct points",
                f"地块 {record.id}：“线”记录至少需要 2 个不同的点",
            )
        shape = shapely.MultiLineString(lines)
    corridor = shapely.union_all(shapely.get_parts(shape.buffer(width)))
    warnings.append(
        f"parcel {record.id}: {record.kind} record buffered {width:g} m each side into an area of "
        f"{corridor.area:.2f} m² (“{record.kind}”记录按两侧各 {width:g} 米缓冲为廊道面，"
        f"面积 {corridor.area:.2f} 平方米)"
    )
    return corridor


def _shown(text: str, limit: int = 40) -> str:
    """Text of the file quoted in a message, at most ``limit`` characters of it: a 地块面积 of 200,000
    characters, quoted whole twice, made the review's PDF take minutes."""
    return repr(text if len(text) <= limit else text[:limit] + "…")


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


def _survey_ring(ring: Any, *, clockwise: bool) -> list[tuple[float, float]]:
    """A ring's vertices (unclosed) turned as asked and started at its north-western vertex."""
    coords = [(float(c[0]), float(c[1])) for c in ring.coords[:-1]]
    if ring.is_ccw == clockwise:
        coords.reverse()
    west = min(x for x, _ in coords)
    north = max(y for _, y in coords)
    start = min(range(len(coords)), key=lambda i: (coords[i][0] - west) ** 2 + (north - coords[i][1]) ** 2)
    return coords[start:] + coords[:start]


def survey_rings(geom: shapely.Geometry) -> list[tuple[int, list[tuple[float, float]]]]:
    """(圈号, vertices) of a parcel as the writer numbers them: the parts' outer rings first, then the holes."""
    if geom.geom_type not in ("Polygon", "MultiPolygon"):
        raise GeometryError(
            f"a {geom.geom_type} cannot be written as a parcel; only polygons can",
            f"{geom.geom_type} 不能写为地块，只能写出面",
        )
    parts = [p for p in shapely.get_parts(geom) if not p.is_empty]
    if not parts:
        raise GeometryError("an empty geometry cannot be written as a parcel", "空几何不能写为地块")
    outers = [_survey_ring(p.exterior, clockwise=True) for p in parts]
    holes = [_survey_ring(h, clockwise=False) for p in parts for h in p.interiors]
    return list(enumerate([*outers, *holes], start=1))


def write_coordinate_text(
    frame: gpd.GeoDataFrame,
    *,
    precision: float | None = None,
    newline: str = "\r\n",
    producer: str | None = None,
) -> str:
    """The parcels as a coordinate file; encode the text as the receiving system wants (GBK, UTF-8).

    A frame in a Chinese Gauss-Krüger CRS keeps it; any other frame goes to the
    CGCS2000 3° zone (with prefix) of its centroid. A frame read from a coordinate
    file keeps its header lines. ``producer`` is the 数据产生单位 (the service's
    setting); without it the one read with the frame is kept. Rings are numbered
    and turned as the module docstring says.
    """
    if frame.crs is None:
        raise CRSError("the parcels carry no CRS", "地块数据未声明坐标系")
    family = _family(frame.crs.to_epsg())
    if family is None:
        zone = _one_zone(frame)
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
            "格式版本号": FORMAT_VERSION,
            "数据产生单位": _text(producer) or values.get("数据产生单位", ""),
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
    lines += [f"{k}={values[k]}" for k in HEADER_KEYS if k in values]
    lines += [f"{k}={v}" for k, v in values.items() if k not in (*HEADER_KEYS, "分带")]
    lines.append("[地块坐标]")
    d = header.decimals
    for position, (geom, row) in enumerate(zip(frame.geometry, frame.to_dict("records"), strict=True), start=1):
        points: list[str] = []
        numbered = 0  # 界址点号 run on across rings; a ring's closing point repeats its first number
        for ring_number, coords in survey_rings(geom):
            first = numbered + 1
            for x, y in coords:
                numbered += 1
                points.append(f"J{numbered},{ring_number},{y:.{d}f},{x:.{d}f}")
            x, y = coords[0]
            points.append(f"J{first},{ring_number},{y:.{d}f},{x:.{d}f}")
        pid, name, sheet, use, class_code = _record_texts(row, position)
        fields = [str(len(points)), f"{geom.area / 10_000:.4f}", pid, name, "面", sheet, use, class_code]
        extra = _text(row.get("extra"), columns=True)
        if extra:
            fields.append(extra)  # the provincial columns, as read
        lines.append(",".join(fields) + ",@")
        lines += points
    return newline.join(lines) + newline


# how far from a file's meridian a parcel may lie, in degrees of longitude times cos φ: a zone's own reach (1.5°) and
# a margin for a project straddling a zone edge (北京 lies across 115.5°E), up to where an area is 0.1 % too large
# (the reader's warning): (Δλ·cos φ)² ≤ 0.001, 1.81°; 2.2° of longitude at 35°N, 1.9° at 18°N
ZONE_MARGIN_DEG = 1.8


def _one_zone(frame: gpd.GeoDataFrame) -> int:
    """The CGCS2000 3° zone a file of one 带号 is written in: the zone of the parcels' middle, every parcel (by its
    centroid) within ``ZONE_MARGIN_DEG`` (× sec φ) of its meridian. Written in another zone's plane, a parcel 3.4°
    from its meridian had its coordinates and its 地块面积 0.23 % too large (probe: three cities' parcels all written
    in the middle one's zone): refused, naming each zone's parcels."""
    centroids = reproject(shapely.centroid(np.asarray(frame.geometry.values, dtype=object)), frame.crs, CGCS2000)
    lons, lats = shapely.get_x(centroids), shapely.get_y(centroids)
    middle = _family(gk3_epsg_for_longitude(float((lons.min() + lons.max()) / 2)))
    assert middle is not None  # a CGCS2000 3° zone by its meridian
    if float((np.abs(lons - 3 * middle[2]) * np.cos(np.radians(lats))).max()) <= ZONE_MARGIN_DEG:
        return middle[2]
    zones: dict[int, list[str]] = {}
    for position, (lon, row) in enumerate(zip(lons.tolist(), frame.to_dict("records"), strict=True), start=1):
        family = _family(gk3_epsg_for_longitude(lon))
        assert family is not None
        zones.setdefault(family[2], []).append(_record_texts(row, position)[0])
    each = "; ".join(
        f"zone {z}: {', '.join(ids[:5])}{', …' if len(ids) > 5 else ''}" for z, ids in sorted(zones.items())
    )
    each_zh = "；".join(
        f"{z} 带：{'、'.join(ids[:5])}{'等' if len(ids) > 5 else ''}" for z, ids in sorted(zones.items())
    )
    raise CRSError(
        f"the parcels lie in {len(zones)} 3-degree zones ({each}), too far from one meridian for their areas "
        "(0.1 %); a coordinate text holds one 带号: write each zone's parcels to a file of its own, or give the "
        "parcels in one Gauss-Krüger zone's CRS",
        f"地块分属 {len(zones)} 个3度投影带（{each_zh}），距同一中央经线过远（面积偏差超过 0.1%）；一个界址点坐标文件"
        "只有一个带号：请按投影带分别写出，或先将地块转换到同一高斯-克吕格投影带的坐标系",
    )


def _record_texts(row: dict[str, Any], position: int) -> list[str]:
    """The text fields of a parcel's header line (``TEXT_COLUMNS``) as written: the id, else the position."""
    texts = [_text(row.get(column)) for column in TEXT_COLUMNS]
    return [texts[0] or str(position), *texts[1:]]


def rewritten_texts(frame: gpd.GeoDataFrame) -> list[str]:
    """Warnings naming what the file cannot hold as it is: a line break, a comma or an @ in a text field
    is the format's own separator, written as a space, ， or ＠, and space at either end is lost on
    reading, so the file read back gives other ids and names. Said, not refused: the ids a receiving
    system reads are then known (an id changed so may meet another's, which the reader numbers apart)."""
    ids: list[str] = []
    others: dict[str, int] = {}
    for position, row in enumerate(frame.to_dict("records"), start=1):
        for column, written in zip(TEXT_COLUMNS, _record_texts(row, position), strict=True):
            value = row.get(column)
            if _text(value) == "" or str(value) == written.strip():
                continue
            if column == "id":
                ids.append(f"{_shown(str(value))} → {_shown(written.strip())}")
            else:
                others[column] = others.get(column, 0) + 1
    found = []
    if ids:
        found.append(
            f"{len(ids)} id(s) hold a line break, a comma, an @ or space at an end, which the coordinate text cannot "
            f"hold as they are: written as {first_few(ids)}, the file read back gives other ids than these parcels'"
            f"（{len(ids)} 个地块编号含有换行、逗号、@ 或首尾空格，坐标文本无法原样保存，已写为 {first_few(ids)}；"
            "读回的地块编号将与原编号不同）"
        )
    if others:
        counted = ", ".join(f"{column} ({n})" for column, n in others.items())
        counted_zh = "、".join(f"{column}（{n} 个）" for column, n in others.items())
        found.append(
            f"text holding a line break, a comma, an @ or space at an end was changed to fit the coordinate text: "
            f"{counted} (换行、逗号、@ 或首尾空格无法原样写入坐标文本，已改写：{counted_zh})"
        )
    return found


def _text(value: Any, *, columns: bool = False) -> str:
    """A field as one line; a comma inside a field becomes a full-width one unless it separates ``columns``."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    text = str(value).replace("\r", " ").replace("\n", " ").replace("@", "＠")
    return text if columns else text.replace(",", "，")
