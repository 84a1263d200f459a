"""What a file holds, told by its first bytes, for a reader to refuse a file whose name says another format.

lantu's readers go by a file's suffix (a GeoJSON and a coordinate text are read by lantu, a GeoPackage, a
shapefile, a KML and a DXF by GDAL, each with the checks of its kind), and GDAL goes by the content. So a
GeoParquet file named ``parcels.gpkg`` was "not a readable gpkg file", or, to ``lantu blueprint build``, GDAL's
own words on a driver it could not load ("libduckdb.so: cannot open shared object file"); and a GeoJSON named
``.gpkg`` was read by GDAL, past the reader of GeoJSON and its checks. As a DXF that is not one and a .dbf
named otherwise than its .shp are refused, a file whose content is another format than its name says is
refused (FormatError), saying both and what to do: rename it where its content is a format read here, else
export it as one that is. Content that none of these signatures tells is left to the format's reader.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from geo.errors import FormatError


@dataclass(frozen=True)
class Kind:
    """A file format as its first bytes tell it, and the suffixes a file of it goes by (the first: the one
    to rename it to)."""

    en: str
    zh: str
    suffixes: tuple[str, ...] = ()


GEOPACKAGE: Final = Kind("a GeoPackage", "GeoPackage", (".gpkg",))
GEOPARQUET: Final = Kind("GeoParquet", "GeoParquet", (".parquet",))
ZIP: Final = Kind("a zip archive", "zip 压缩包", (".zip", ".kmz"))
SHAPEFILE: Final = Kind("a shapefile's .shp", "shapefile 的 .shp", (".shp",))
FLATGEOBUF: Final = Kind("FlatGeobuf", "FlatGeobuf", (".fgb",))
TIFF: Final = Kind("a TIFF image", "TIFF 影像", (".tif", ".tiff"))
DWG: Final = Kind("an AutoCAD DWG drawing", "AutoCAD DWG 图纸")
OTHER_ARCHIVE: Final = Kind("a gzip, 7z or RAR archive", "gzip、7z 或 RAR 压缩包")
PDF: Final = Kind("a PDF document", "PDF 文档")
JSON: Final = Kind("GeoJSON", "GeoJSON", (".geojson", ".json"))
KML: Final = Kind("KML", "KML", (".kml",))
XML: Final = Kind("XML other than KML", "非 KML 的 XML")
DXF: Final = Kind("a DXF drawing", "DXF 图纸", (".dxf",))
TEXT: Final = Kind("a coordinate text (界址点坐标)", "界址点坐标文本", (".txt",))

SIGNATURES: Final[tuple[tuple[bytes, Kind], ...]] = (
    (b"SQLite format 3\x00", GEOPACKAGE),
    (b"PAR1", GEOPARQUET),
    (b"PK\x03\x04", ZIP),
    (b"PK\x05\x06", ZIP),  # an empty archive
    (b"\x00\x00\x27\x0a", SHAPEFILE),  # the file code 9994, big-endian
    (b"fgb\x03", FLATGEOBUF),
    (b"II*\x00", TIFF),
    (b"MM\x00*", TIFF),
    (b"II+\x00", TIFF),  # BigTIFF
    (b"MM\x00+", TIFF),
    (b"AutoCAD Binary DXF", DXF),
    (b"AC10", DWG),
    (b"\x1f\x8b", OTHER_ARCHIVE),
    (b"7z\xbc\xaf\x27\x1c", OTHER_ARCHIVE),
    (b"Rar!\x1a\x07", OTHER_ARCHIVE),
    (b"%PDF-", PDF),
)
BY_SUFFIX: Final = {
    suffix: kind
    for kind in (GEOPACKAGE, GEOPARQUET, ZIP, SHAPEFILE, FLATGEOBUF, TIFF, JSON, KML, DXF, TEXT)
    for suffix in kind.suffixes
}
HEAD_BYTES: Final = 4096  # the signatures, and a text's first line past a BOM and blank lines
_DXF_TEXT = re.compile(rb"\s*0\s*\r?\n\s*SECTION\s", re.ASCII)  # an ASCII DXF's first group: 0 / SECTION


def content_kind(head: bytes) -> Kind | None:
    """The format ``head`` (a file's first bytes) is in, where its signature tells one; else None."""
    for signature, kind in SIGNATURES:
        if head.startswith(signature):
            return kind
    text = head.removeprefix(b"\xef\xbb\xbf")
    if _DXF_TEXT.match(text):
        return DXF
    start = text.lstrip()[:1]
    if start == b"{":  # a GeoJSON is an object; "[" also opens a coordinate text's [属性描述]
        return JSON
    if start == b"<":
        return KML if b"<kml" in text else XML
    return None


def check_content(path: Path, *, suffix: str, shown: str, readable: Iterable[str], name: str | None = None) -> None:
    """Refuse ``path`` (called ``shown`` in the message, read as a ``suffix`` file) when its first bytes say it
    is another format than that suffix's, naming both: rename it (``name``, its own name, else ``shown``'s, with
    the suffix of its content) where its content is a format of ``readable`` (the suffixes the caller reads),
    else export it as one."""
    expected = BY_SUFFIX.get(suffix)
    if expected is None:
        return
    with path.open("rb") as file:
        found = content_kind(file.read(HEAD_BYTES))
    if found is None or found is expected or (expected is KML and found is XML):  # a long prologue hides <kml
        return
    readable = tuple(readable)
    named = (".kmz", ".zip") if found is ZIP and expected is KML else found.suffixes  # a KMZ named .kml
    rename = next((x for x in named if x in readable), None)
    if rename is not None:
        to = f"{Path(name or shown).stem}{rename}"
        todo_en, todo_zh = f"rename it {to!r}", f"请将文件改名为 {to!r}"
    else:
        todo_en = f"{found.en} is not read here; export the data as one of {', '.join(readable)}"
        todo_zh = f"此处不读取 {found.zh}，请将数据导出为 {'、'.join(readable)} 之一"
    raise FormatError(
        f"{shown}: the file holds {found.en}, but its name ({suffix}) says {expected.en}: {todo_en}",
        f"{shown}：文件内容为 {found.zh}，但扩展名 {suffix} 表明是 {expected.zh}：{todo_zh}",
    )
