"""A shapefile's .dbf checked against its own header, and its .shx and .shp against it, before GDAL reads it.

GDAL reads the shapes alone of a shapefile whose .dbf it cannot open, stops at the first record cut
short without a word (the features after it are dropped), and reads the fields it can make out of a
damaged header, misaligning every record: parcels would lose their ids and project types, a
blueprint layer its features or their 一级/二级. It reads as many features as the shorter of the
.dbf and the .shx holds, and none past the shapes the .shx indexes, again without a word (a probe's
parcel refused by the review was dropped, and the rest passed). Both the parcel reader and the
blueprint builder refuse such a file instead. Records the .dbf marks deleted (an edit not yet packed
away) are skipped by GDAL as by every GIS, and said."""

from __future__ import annotations

import codecs
import re
import struct
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass, replace
from pathlib import Path, PurePosixPath
from typing import IO, cast

import numpy as np

from geo.errors import FormatError
from geo.io.encoding import dbf_codec, declared_wrongly, field_rows

CPG_BYTES = 1024  # of a .cpg read: an encoding's name is a few bytes
DBF_HEADER = 32  # a .dbf's fixed header (its record count, header and record lengths at 4–11)
DBF_FIELD = 32  # a field's descriptor, after the fixed header; 0x0D ends them
DBF_NAME = 10  # a field name's bytes (then a NUL): one that fills them may end in a character its writer cut
DBF_MAX_HEADER = 0xFFFF  # the header's length is a 16-bit number
DELETED = ord("*")  # a record's first byte where it is deleted (a space where it is not)
DETECT_BYTES = 16 * 1024 * 1024  # of a .dbf's records read to tell or check its encoding: every text field's words
SCAN_BYTES = 4 * 1024 * 1024  # of records read at once to count the deleted ones
SHX_HEADER = 100  # a .shx's fixed header (as a .shp's); then 8 bytes a shape: its offset and length in 16-bit words
SHAPE_HEADER = 8  # a .shp record's own header (its number and length), before the content its .shx entry measures
# the files GDAL opens beside a .shp, each only as the .shp's own name with the suffix in lower or upper case
# (p.dbf, p.DBF; not P.dbf, p.Dbf), and what it reads without one spelt otherwise: (what, 中文, lost, 中文). A .cpg
# spelt otherwise is not one: the text's encoding is then detected and said (geo.io.encoding)
SIDECARS = {
    ".shx": ("index", "索引文件", "no shapes at all", "读不出任何图形"),
    ".dbf": ("table", "属性表", "the shapes without their attributes", "只读出图形、读不到属性"),
    ".prj": ("projection", "坐标系文件", "the shapes without their coordinate system", "读不到坐标系"),
}


@dataclass(frozen=True)
class Dbf:
    """A .dbf as its header describes it: refused at once where it holds fewer bytes than the header
    declares (a header, then records × record length; the 0x1A after them is optional) or where its .shx
    indexes another number of shapes, or the .shp holds other than those shapes (``Shx``), and after the
    read where GDAL made out fewer fields than the header describes (``check_fields``) or other than its
    records not deleted (``check_features``)."""

    called_en: str
    called_zh: str
    fields: int  # the descriptors before the header's 0x0D
    records: int = 0  # as the header declares them, the deleted ones included
    deleted: int = 0  # records marked deleted, which GDAL skips
    widths: tuple[int, ...] = ()  # each field's, in bytes: GDAL strips a value's pad, which tells a value cut short

    @classmethod
    def beside(cls, shp: Path, shown: str) -> Dbf | None:
        """The .dbf beside the file ``shp`` (None where there is none)."""
        names = [p.name for p in shp.parent.iterdir()]
        gdal_opens(names, shp.name, shown)
        name = sidecar(names, shp.name, ".dbf")
        if name is None:
            return None
        dbf = shp.parent / name
        with dbf.open("rb") as file:
            found = cls.checked(file, dbf.stat().st_size, f"{shown}: {name}", f"{shown}：{name}")
        if (shx := sidecar(names, shp.name, ".shx")) is not None:
            with (shp.parent / shx).open("rb") as index:
                found.check_index(index, (shp.parent / shx).stat().st_size, shx, shp.stat().st_size, shp.name, shown)
        return found

    @classmethod
    def in_zip(cls, archive: Path, shp_member: str, shown: str) -> Dbf | None:
        """The .dbf beside the member ``shp_member`` of the zip ``archive`` (read in place through
        /vsizip/), None where there is none."""
        with zipfile.ZipFile(archive) as zf:
            names = zf.namelist()
            gdal_opens(names, shp_member, shown)
            name = sidecar(names, shp_member, ".dbf")
            if name is None:
                return None
            info = zf.getinfo(name)
            with zf.open(info) as file:
                found = cls.checked(file, info.file_size, f"{shown}: {name}", f"{shown}：{name}")
            if (shx := sidecar(names, shp_member, ".shx")) is not None:
                with zf.open(shx) as index:
                    size, shp_size = zf.getinfo(shx).file_size, zf.getinfo(shp_member).file_size
                    found.check_index(index, size, shx, shp_size, PurePosixPath(shp_member).name, shown)
        return found

    @classmethod
    def checked(cls, file: IO[bytes], size: int, called_en: str, called_zh: str) -> Dbf:
        """The .dbf read from ``file`` (at its start) of ``size`` bytes, refused where it is cut short; its
        deleted records counted."""
        head = file.read(DBF_MAX_HEADER)
        records, header, record = fixed_header(head)
        described = descriptors(head)
        found = cls(called_en, called_zh, len(described), records, widths=tuple(d[16] for d in described))
        if records and record:
            found.check_widths(described, record)
        declared = max(header, DBF_HEADER + 1) + records * record
        if size < declared:
            found.damaged(
                f"it holds {size:,} of the {declared:,} bytes its header declares",
                f"其文件头声明 {declared:,} 字节，实际只有 {size:,} 字节",
            )
        return replace(found, deleted=_deleted(file, head, header, records, record)) if records and record else found

    def check_index(self, index: IO[bytes], size: int, shx: str, shp_size: int, shp: str, shown: str) -> None:
        """Refuse this .dbf where its records are not the shapes its .shx (``index``, ``size`` bytes, named ``shx``)
        lists, and the .shp (``shp``, ``shp_size`` bytes) where it holds other than those shapes: GDAL reads the
        shorter of the two, and the indexed shapes alone."""
        shapes = Shx.read(index, size, f"{shown}: {shx}", f"{shown}：{shx}")
        self.check_shapes(shapes, PurePosixPath(shx).name)
        shapes.check_shp(shp_size, f"{shown}: {shp}", f"{shown}：{shp}")

    def check_shapes(self, shx: Shx, shx_name: str) -> None:
        """Refuse a .dbf whose records are not the shapes its .shx indexes: GDAL reads the shorter of the two."""
        if shx.shapes != self.records:
            raise FormatError(
                f"{self.called_en} and {shx_name} disagree: the table holds {self.records:,} record(s) and the index "
                f"{shx.shapes:,} shape(s); each shape needs its record: the shapefile is damaged",
                f"{self.called_zh} 与 {shx_name} 不一致：属性表有 {self.records:,} 条记录，"
                f"索引有 {shx.shapes:,} 个图形，图形与属性记录须一一对应：shapefile 已损坏",
            )

    def check_features(self, read: int) -> None:
        """Refuse a shapefile of which GDAL read other than the records not deleted."""
        if read != self.records - self.deleted:
            self.damaged(
                f"{read:,} features were read of its {self.records - self.deleted:,} records",
                f"其记录有 {self.records - self.deleted:,} 条，读出的要素为 {read:,} 个",
            )

    @property
    def deleted_said(self) -> tuple[str, str] | None:
        """The warning that records marked deleted were not read, None where none is."""
        if not self.deleted:
            return None
        return (
            f"{self.called_en}: {self.deleted:,} record(s) marked deleted (an edit not packed away) were not read, "
            "as a GIS shows them",
            f"{self.called_zh}：有 {self.deleted:,} 条记录已标记删除（编辑后未压缩清除），与 GIS 软件所示一致，未读取",
        )

    def check_fields(self, read: int) -> None:
        """Refuse a .dbf of which GDAL read fewer fields than its header describes (its header length or
        record length damaged)."""
        if read < self.fields:
            self.damaged(
                f"its header describes {self.fields} fields, {read} of which could be read",
                f"其文件头描述了 {self.fields} 个字段，只能读出 {read} 个",
            )

    def check_widths(self, described: list[bytes], record: int) -> None:
        """Refuse a table whose fields, as GDAL reads their widths (a byte each, 255 at most), overrun its records:
        a text field 300 bytes wide (its width's high byte in the next, a Clipper extension) was read 44 bytes wide,
        and the field after it out of the first one's text, with nothing said (a probe)."""
        wide = [(d, d[16] + 256 * d[17]) for d in described if d[11:12] not in (b"N", b"F") and d[17]]
        if wide and 1 + sum(self.widths) + 256 * sum(d[17] for d, _ in wide) == record:
            d, width = wide[0]
            name = d[:11].split(b"\0", 1)[0].decode("latin-1")
            raise FormatError(
                f"{self.called_en}: field {name!r} is {width} bytes wide, more than the 255 a field's width byte "
                f"holds (an extension GDAL does not read: it reads {d[16]}, and the fields after it out of its text); "
                "save the table with text fields of at most 254 bytes",
                f"{self.called_zh}：字段 {name!r} 宽 {width} 字节，超过字段宽度所能记录的 255 字节（GDAL 不支持该扩展，"
                f"会按 {d[16]} 字节读取，其后字段随之错位）：请将文本字段宽度改为不超过 254 字节后重新导出",
            )
        if 1 + sum(self.widths) <= record:  # a record padded past its fields is read as written
            return
        self.damaged(
            f"its fields are {1 + sum(self.widths):,} bytes a record and its header declares {record:,}",
            f"其字段宽度合计每条记录 {1 + sum(self.widths):,} 字节，文件头声明为 {record:,} 字节",
        )

    def damaged(self, why_en: str, why_zh: str) -> None:
        raise FormatError(f"{self.called_en} is damaged: {why_en}", f"{self.called_zh} 已损坏：{why_zh}")


@dataclass(frozen=True)
class Shx:
    """A shapefile's index: how many shapes it lists, and where in the .shp the last of them ends (None for none):
    the furthest end, since an edit in place (shapelib's) writes a grown shape after the others."""

    shapes: int
    shp_bytes: int | None

    @classmethod
    def read(cls, file: IO[bytes], size: int, called_en: str, called_zh: str) -> Shx:
        """The index read from ``file`` of ``size`` bytes (8 of them a shape: its offset and content length in
        16-bit words, big-endian)."""
        if size < SHX_HEADER or (size - SHX_HEADER) % 8:
            raise FormatError(
                f"{called_en} is damaged: {size:,} bytes are no index of shapes (100 bytes, then 8 a shape)",
                f"{called_zh} 已损坏：{size:,} 字节不是有效的图形索引（100 字节文件头，其后每个图形 8 字节）",
            )
        shapes = (size - SHX_HEADER) // 8
        file.read(SHX_HEADER)  # a zip member cannot seek: read through
        end, left = 0, b""
        for block in iter(lambda: file.read(SCAN_BYTES), b""):
            block, left = left + block, b""
            whole = len(block) // 8 * 8
            block, left = block[:whole], block[whole:]
            entries = np.frombuffer(block, ">i4").reshape(-1, 2).astype(np.int64)
            if len(entries):
                end = max(end, int(((entries[:, 0] + entries[:, 1]) * 2).max()) + SHAPE_HEADER)
        return cls(shapes, end if shapes else None)

    def check_shp(self, size: int, called_en: str, called_zh: str) -> None:
        """Refuse a .shp of ``size`` bytes that holds other than the shapes this index lists: GDAL reads those
        alone, without a word, and stops short at a shape cut off."""
        if self.shp_bytes is not None and self.shp_bytes != size:
            raise FormatError(
                f"{called_en} is damaged: the shapes its .shx indexes end at byte {self.shp_bytes:,}, and it holds "
                f"{size:,}",
                f"{called_zh} 已损坏：其 .shx 索引的图形止于第 {self.shp_bytes:,} 字节，而文件共有 {size:,} 字节",
            )


def _deleted(file: IO[bytes], head: bytes, header: int, records: int, record: int) -> int:
    """How many of the .dbf's records are marked deleted: ``file`` read on from ``head``, its first bytes."""
    kept = head[header:] if len(head) > header else b""
    if len(head) < header:
        file.read(header - len(head))
    left = records * record
    count, at, step = 0, 0, max(record, SCAN_BYTES // record * record)
    while left > 0:
        block = kept[:left] if kept else file.read(min(step, left))
        kept = b""
        if not block:
            break
        first = (-at) % record  # the first record start inside this block
        count += int(np.count_nonzero(np.frombuffer(block, np.uint8)[first::record] == DELETED))
        at += len(block)
        left -= len(block)
    return count


def cpg_name(raw: bytes, shown: str) -> str:
    """What a .cpg's bytes ``raw`` say (stripped, at most 40 characters), read as GDAL reads them: up to the first NUL
    and past a UTF-8 byte-order mark; the reader of uploads and the blueprint builder alike. Refused where that is no
    ASCII text, so no encoding's name (``\\xff\\xfe\\x00bogus`` was "embedded null character", a 500): GDAL took
    ``\\xff\\xfe`` for UTF-8 and dropped what was not, Latin-1 café read as caf. ``shown`` names the file."""
    held = raw.split(b"\0", 1)[0].removeprefix(codecs.BOM_UTF8).strip()
    if not held.isascii():
        said = held.decode("ascii", "backslashreplace")[:40]
        raise FormatError(
            f"{shown}: its .cpg holds '{said}', which names no encoding (a .cpg names its table's encoding in plain "
            "ASCII, such as UTF-8 or GBK): correct the .cpg, or remove it to have the encoding found from the text",
            f"{shown}：.cpg 文件内容为 '{said}'，不是编码名称（.cpg 应以 ASCII 文字写明编码，如 UTF-8、GBK）："
            "请更正 .cpg 文件，或将其删除以按文字识别编码",
        )
    return held.decode("ascii")[:40]


# names a .cpg gives that Python reads narrower than the files declaring them are: GB2312 files hold GBK characters
WIDER_CODECS = {"gb2312": "gbk"}


def cpg_codec(name: str) -> str | None:
    """The codec a .cpg's ``name`` (``cpg_name``) declares: an encoding's name (UTF-8, GBK) or a code page's, bare or
    as ArcGIS writes it (936, ANSI 936, 1252), else None. The uploads' reader and the builder read the .dbf with it,
    not with what GDAL makes of the name: GDAL read a .cpg of ``ANSI 936`` as Latin-1 (合规住宅项目 as ºÏ¹æ×¡Õ¬ÏîÄ¿)."""
    page = re.search(r"\d+", name)
    for candidate in [name.strip(), *([f"cp{page.group()}"] if page else [])]:
        try:
            codec = codecs.lookup(candidate).name
        except (LookupError, ValueError):  # ValueError: a name Python cannot look up at all
            continue
        return WIDER_CODECS.get(codec, codec)
    return None


def check_declared(file: IO[bytes], codec: str, cpg: str, where: str | None = None) -> None:
    """Refuse a .dbf (read from ``file``) whose text is not in the encoding ``codec`` its .cpg (``cpg``, as written)
    declares (``geo.io.encoding.declared_wrongly``): GDAL read a UTF-8 table declared GBK into other characters
    (地块一 as 鍦板潡涓€, ids and 一级/二级 among them) with a log line alone. ``where`` names the file, if given.
    An encoding no .dbf can be in (``geo.io.encoding.dbf_codec``: UTF-16, EBCDIC) is refused as such: checking text
    in it was a traceback ("UTF-16 stream does not start with BOM")."""
    if not dbf_codec(codec):
        en = (
            f"its .cpg declares {cpg[:40]!r}, an encoding no .dbf can be in (a .dbf's text keeps ASCII as it is, as "
            "UTF-8 and GBK do): correct the .cpg, or remove it to have the encoding found from the text"
        )
        zh = (
            f".cpg 文件声明的编码为 {cpg[:40]!r}，.dbf 属性表不可能采用该编码（须兼容 ASCII，如 UTF-8、GBK）："
            "请更正 .cpg 文件，或将其删除以按文字识别编码"
        )
        raise FormatError(f"{where}: {en}", f"{where}：{zh}") if where else FormatError(en, zh)
    if not declared_wrongly((values for _, values in text_values(file)), codec):
        return
    en = (
        f"its .cpg declares {cpg[:40]!r}, but its text is not in that encoding: correct the .cpg, or remove it to "
        "have the encoding found from the text"
    )
    zh = f".cpg 文件声明的编码为 {cpg[:40]!r}，但属性文字并非该编码：请更正 .cpg 文件，或将其删除以按文字识别编码"
    raise FormatError(f"{where}: {en}", f"{where}：{zh}") if where else FormatError(en, zh)


def text_values(file: IO[bytes]) -> list[tuple[bytes, np.ndarray]]:
    """Each field's name, and each text field's values over the first ``DETECT_BYTES`` of records, one row of bytes
    a value (``file`` read from its start): what an encoding is told or checked by
    (``geo.io.encoding.decodes`` takes the rows)."""
    head = file.read(DBF_HEADER)
    count, header, record = fixed_header(head)
    head += file.read(max(header - DBF_HEADER, 0))
    data = file.read(min(count * record, DETECT_BYTES // record * record)) if record else b""  # 0: damaged
    rows = np.frombuffer(data[: len(data) // record * record] if record else b"", np.uint8).reshape(-1, record or 1)
    found: list[tuple[bytes, np.ndarray]] = []
    offset = 1  # the deletion flag
    for d in descriptors(head):
        name, kind, length = d[:11].split(b"\0", 1)[0], d[11:12], d[16]
        found.append((name, field_rows([name], DBF_NAME)))
        if kind == b"C":
            found.append((name, rows[:, offset : offset + length]))
        offset += length
    return found


def fixed_header(head: bytes) -> tuple[int, int, int]:
    """A .dbf's record count, header length and record length (zeros where ``head`` is too short for them)."""
    return cast(tuple[int, int, int], struct.unpack_from("<IHH", head, 4)) if len(head) >= 12 else (0, 0, 0)


def descriptors(head: bytes) -> list[bytes]:
    """The field descriptors in a .dbf's first bytes ``head``, up to the 0x0D that ends them: counted on
    the bytes, not on the header length, which may be the damaged part."""
    found = []
    at = DBF_HEADER
    while at + DBF_FIELD <= len(head) and head[at] != 0x0D:
        found.append(head[at : at + DBF_FIELD])
        at += DBF_FIELD
    return found


def gdal_opens(names: Iterable[str], shp: str, shown: str) -> None:
    """Refuse a file beside the shapefile ``shp`` (among ``names``, a folder's or a zip's members) that tools
    match without regard to case and GDAL does not open: it opens p.dbf or p.DBF beside p.shp, never p.Dbf nor
    P.DBF (a Windows folder's Parcels.shp beside parcels.dbf), and read the shapes alone, called a damaged
    table ("0 of 6 fields could be read"), a file declaring no CRS beside its .prj, or no readable file."""
    names = list(names)
    stem = shp[: -len(".shp")]
    for suffix, (what_en, what_zh, lost_en, lost_zh) in SIDECARS.items():
        opened = (stem + suffix, stem + suffix.upper())
        name = sidecar(names, shp, suffix)
        if name is None or any(n in opened for n in names):
            continue
        own, own_zh = (joint.join(PurePosixPath(n).name for n in opened) for joint in (" or ", " 或 "))
        raise FormatError(
            f"{shown}: {name}: GDAL opens a shapefile's {what_en} only as {suffix} or {suffix.upper()} named as its "
            f".shp is ({own}) and would read {lost_en}: rename it",
            f"{shown}：{name} 的文件名须与 .shp 一致、扩展名为 {suffix} 或 {suffix.upper()}（{own_zh}），"
            f"否则 GDAL 找不到该{what_zh}，{lost_zh}：请改名",
        )


def sidecar(names: Iterable[str], shp: str, suffix: str) -> str | None:
    """The one of ``names`` that is the ``suffix`` file (.dbf, .cpg) of the shapefile ``shp`` (names of one
    folder, or members of one zip with their folders), matched without regard to case as tools spell
    them (x.SHP, x.Dbf)."""
    wanted = (shp[: -len(".shp")] + suffix).lower()
    return next((name for name in names if name.lower() == wanted), None)
