"""A shapefile's .dbf checked against its own header before GDAL reads it.

GDAL reads the shapes alone of a shapefile whose .dbf it cannot open, stops at the first record cut
short without a word (the features after it are dropped), and reads the fields it can make out of a
damaged header, misaligning every record: parcels would lose their ids and project types, a
blueprint layer its features or their 一级/二级. Both the parcel reader and the blueprint builder
refuse such a file instead."""

from __future__ import annotations

import struct
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import cast

from geo.errors import FormatError

DBF_HEADER = 32  # a .dbf's fixed header (its record count, header and record lengths at 4–11)
DBF_FIELD = 32  # a field's descriptor, after the fixed header; 0x0D ends them
DBF_MAX_HEADER = 0xFFFF  # the header's length is a 16-bit number
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
    declares (a header, then records × record length; the 0x1A after them is optional), and after the
    read where GDAL made out fewer fields than the header describes (``check_fields``)."""

    called_en: str
    called_zh: str
    fields: int  # the descriptors before the header's 0x0D

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
            head = file.read(DBF_MAX_HEADER)
        return cls.checked(head, dbf.stat().st_size, f"{shown}: {name}", f"{shown}：{name}")

    @classmethod
    def in_zip(cls, archive: Path, shp_member: str, shown: str) -> Dbf | None:
        """The .dbf beside the member ``shp_member`` of the zip ``archive`` (read in place through
        /vsizip/), None where there is none."""
        with zipfile.ZipFile(archive) as zf:
            gdal_opens(zf.namelist(), shp_member, shown)
            name = sidecar(zf.namelist(), shp_member, ".dbf")
            if name is None:
                return None
            info = zf.getinfo(name)
            with zf.open(info) as file:
                head = file.read(DBF_MAX_HEADER)
        return cls.checked(head, info.file_size, f"{shown}: {name}", f"{shown}：{name}")

    @classmethod
    def checked(cls, head: bytes, size: int, called_en: str, called_zh: str) -> Dbf:
        """The .dbf whose first bytes are ``head`` and whose size is ``size``, refused where it is cut short."""
        found = cls(called_en, called_zh, len(descriptors(head)))
        records, header, record = fixed_header(head)
        declared = max(header, DBF_HEADER + 1) + records * record
        if size < declared:
            found.damaged(
                f"it holds {size:,} of the {declared:,} bytes its header declares",
                f"其文件头声明 {declared:,} 字节，实际只有 {size:,} 字节",
            )
        return found

    def check_fields(self, read: int) -> None:
        """Refuse a .dbf of which GDAL read fewer fields than its header describes (its header length or
        record length damaged)."""
        if read < self.fields:
            self.damaged(
                f"its header describes {self.fields} fields, {read} of which could be read",
                f"其文件头描述了 {self.fields} 个字段，只能读出 {read} 个",
            )

    def damaged(self, why_en: str, why_zh: str) -> None:
        raise FormatError(f"{self.called_en} is damaged: {why_en}", f"{self.called_zh} 已损坏：{why_zh}")


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
