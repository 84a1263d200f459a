"""Inputs a hostile probe found read wrong without a word: a DXF's nested outlines and their labels, a
shapefile's undeclared UTF-8, a Finder zip and a zip of one name twice, and conversions that drop
attributes or change ids. Each is now read right, refused or said, in both languages."""

from __future__ import annotations

import warnings
import zipfile
from pathlib import Path

import geopandas as gpd
import pytest
import shapely
from support import EPSG, X0, Y0, parcel_frame, rect
from typer.testing import CliRunner

from api.cli import app
from geo.errors import CRSError, FormatError
from geo.io import read_parcels, write_parcels
from geo.io.archive import check_zip
from geo.io.encoding import decoded, undeclared_codec
from geo.io.parcels import kept_columns, unkept_columns

runner = CliRunner()

# --- DXF: which outline a label names -------------------------------------------------------------


def _square(x: float, y: float, side: float) -> list[tuple[float, float]]:
    return [(X0 + x, Y0 + y), (X0 + x + side, Y0 + y), (X0 + x + side, Y0 + y + side), (X0 + x, Y0 + y + side)]


def _polyline(points: list[tuple[float, float]], *, closed: bool = True) -> str:
    """An old-style POLYLINE entity (as AutoCAD R12 writes it), closed by its flag 70 = 1."""
    head = f"0\nPOLYLINE\n8\n0\n66\n1\n70\n{1 if closed else 0}\n10\n0.0\n20\n0.0\n30\n0.0\n"
    return head + "".join(f"0\nVERTEX\n8\n0\n10\n{x:.3f}\n20\n{y:.3f}\n30\n0.0\n" for x, y in points) + "0\nSEQEND\n"


def _text(x: float, y: float, text: str, layer: str = "parcel_id") -> str:
    return f"0\nTEXT\n8\n{layer}\n10\n{X0 + x}\n20\n{Y0 + y}\n30\n0.0\n40\n5.0\n1\n{text}\n"


def _drawing(path: Path, *entities: str) -> Path:
    path.write_text("0\nSECTION\n2\nENTITIES\n" + "".join(entities) + "0\nENDSEC\n0\nEOF\n", encoding="ascii")
    return path


OUTER, INNER = _square(0, 0, 160), _square(40, 40, 80)


def test_a_label_names_the_innermost_outline_around_it_and_nested_parcels_overlap(tmp_path: Path) -> None:
    """P1 between an outer and an inner square, P2 in the inner one: the review got one parcel P2 of the
    outer square's area, P1 lost (every enclosing outline took a label, the last one winning)."""
    path = _drawing(
        tmp_path / "nested.dxf", _polyline(OUTER), _polyline(INNER), _text(10, 10, "P1"), _text(80, 80, "P2")
    )
    frame = read_parcels(path, crs=f"EPSG:{EPSG}")
    assert list(frame["id"]) == ["P1", "P2"]
    assert list(frame.area) == pytest.approx([160 * 160, 80 * 80])  # two parcels overlapping, as drawn
    assert [w for w in frame.attrs["warnings"] if "'P2' in 'P1'" in w and "not as a hole" in w and "相互重叠" in w]


def test_an_unlabelled_outline_inside_a_parcel_is_said_not_taken_for_a_hole(tmp_path: Path) -> None:
    frame = read_parcels(
        _drawing(tmp_path / "inner.dxf", _polyline(OUTER), _polyline(INNER), _text(10, 10, "P1")), crs=f"EPSG:{EPSG}"
    )
    assert frame["id"].iloc[0] == "P1" and frame["id"].isna().tolist() == [False, True]
    assert list(frame.area) == pytest.approx([25_600, 6_400])
    assert [w for w in frame.attrs["warnings"] if "#2 in 'P1'" in w and "unlabelled" in w]


def test_an_outline_drawn_twice_keeps_its_one_label(tmp_path: Path) -> None:
    path = _drawing(tmp_path / "twice.dxf", _polyline(OUTER), _polyline(OUTER), _text(10, 10, "P1"))
    frame = read_parcels(path, crs=f"EPSG:{EPSG}")
    assert list(frame["id"]) == ["P1"] and list(frame.area) == pytest.approx([25_600])


def test_an_outline_holding_two_labels_is_refused_naming_both(tmp_path: Path) -> None:
    path = _drawing(tmp_path / "two.dxf", _polyline(OUTER), _text(10, 10, "A"), _text(20, 20, "B"))
    with pytest.raises(FormatError, match="one outline holds the parcel_id labels 'A', 'B'") as refused:
        read_parcels(path, crs=f"EPSG:{EPSG}")
    assert "同一闭合边界内有多个" in refused.value.message_zh


def test_open_polylines_are_counted_and_a_label_they_leave_without_an_outline_refused(tmp_path: Path) -> None:
    """An unclosed polyline was dropped without a word, and the parcel it outlined with it."""
    aside = [(x + 300, y) for x, y in OUTER]
    frame = read_parcels(
        _drawing(tmp_path / "open.dxf", _polyline(OUTER), _polyline(aside, closed=False)), crs=f"EPSG:{EPSG}"
    )
    assert len(frame) == 1
    assert [w for w in frame.attrs["warnings"] if "1 open (unclosed) polyline(s) not read" in w and "未闭合" in w]
    labelled = _drawing(
        tmp_path / "open_labelled.dxf",
        _polyline(OUTER),
        _polyline(_square(300, 0, 160), closed=False),
        _text(10, 10, "P1"),
        _text(310, 10, "P9"),
    )
    with pytest.raises(FormatError, match=r"label\(s\) 'P9' lie in no closed outline; 'P9' lie in open polylines"):
        read_parcels(labelled, crs=f"EPSG:{EPSG}")


def test_a_label_outside_every_outline_is_refused(tmp_path: Path) -> None:
    path = _drawing(tmp_path / "stray.dxf", _polyline(OUTER), _text(10, 10, "P1"), _text(500, 500, "P2"))
    with pytest.raises(FormatError, match="'P2' lie in no closed outline"):
        read_parcels(path, crs=f"EPSG:{EPSG}")


def test_a_drawing_without_a_crs_is_told_where_a_drawing_declares_one(tmp_path: Path) -> None:
    """The message said "a shapefile needs its .prj" of a DXF."""
    with pytest.raises(CRSError, match="a DXF drawing has no CRS of its own") as refused:
        read_parcels(_drawing(tmp_path / "site.dxf", _polyline(OUTER)))
    assert ".prj" not in str(refused.value) and "DXF 图纸" in refused.value.message_zh


# --- shapefile text no .cpg declares ---------------------------------------------------------------


def _shapefile_zip(tmp_path: Path, encoding: str, cpg: bytes | None, **values: list[str]) -> Path:
    """Two parcels written in ``encoding`` and zipped with ``cpg`` as their .cpg (None: none)."""
    frame = parcel_frame(rect(1.2, 1.2, 1.6, 1.6), rect(2.2, 2.2, 2.6, 2.6))
    for column, given in values.items():
        frame[column] = given
    frame.to_file(tmp_path / "p.shp", engine="pyogrio", encoding=encoding)
    archive = tmp_path / f"p_{encoding}.zip"
    with zipfile.ZipFile(archive, "w") as z:
        for part in ("shp", "shx", "dbf", "prj"):
            z.write(tmp_path / f"p.{part}", f"p.{part}")
        if cpg is not None:
            z.writestr("p.cpg", cpg)
    return archive


CHINESE = {"id": ["地块1", "D2"], "name": ["合规住宅项目", "工业园区扩建"], "备注": ["水田", "旱地"]}


@pytest.mark.parametrize("cpg", [None, b"", b"KLINGON"], ids=["no-cpg", "empty-cpg", "unknown-cpg"])
def test_utf8_text_no_cpg_declares_is_read_as_utf8_and_said(cpg: bytes | None, tmp_path: Path) -> None:
    """Read as GBK it came out as 鍦板潡1 / 鍚堣…, with no warning (hostile probe)."""
    frame = read_parcels(_shapefile_zip(tmp_path, "utf-8", cpg, **CHINESE))
    assert frame["id"].tolist() == CHINESE["id"] and frame["name"].tolist() == CHINESE["name"]
    assert frame["备注"].tolist() == CHINESE["备注"]  # a field's name too
    said = [w for w in frame.attrs["warnings"] if "read as UTF-8" in w and "已按其字节所符合的 UTF-8" in w]
    assert said and (cpg != b"KLINGON" or "'KLINGON'" in said[0])


def test_gbk_text_under_an_unknown_cpg_is_read_as_gbk_naming_the_cpg(tmp_path: Path) -> None:
    frame = read_parcels(_shapefile_zip(tmp_path, "gbk", b"KLINGON", **CHINESE))
    assert frame["name"].tolist() == CHINESE["name"]
    assert [w for w in frame.attrs["warnings"] if "'KLINGON'" in w and "GB18030 (GBK)" in w]


def test_an_unknown_cpg_over_plain_ascii_is_still_said(tmp_path: Path) -> None:
    frame = read_parcels(_shapefile_zip(tmp_path, "utf-8", b"KLINGON", id=["A", "B"]))
    assert frame["id"].tolist() == ["A", "B"]
    assert [w for w in frame.attrs["warnings"] if "unknown encoding 'KLINGON'; ignored" in w]


@pytest.mark.parametrize("cpg", [b"ANSI 936", b"936", b"GBK", b"GB2312", b"CP936"])
def test_gbk_text_under_a_code_page_cpg_is_read_as_declared(cpg: bytes, tmp_path: Path) -> None:
    """A .cpg of ``ANSI 936`` (as ArcGIS writes a code page) is GBK to Python, not to GDAL, which read its text
    as Latin-1 (合规住宅项目 as ºÏ¹æ×¡Õ¬ÏîÄ¿) with nothing said: the reader reads it as the .cpg declares."""
    frame = read_parcels(_shapefile_zip(tmp_path, "gbk", cpg, **CHINESE))
    assert frame["id"].tolist() == CHINESE["id"] and frame["name"].tolist() == CHINESE["name"]
    assert frame["备注"].tolist() == CHINESE["备注"]
    assert not frame.attrs.get("warnings")  # declared: nothing to say


def _wide_field_table(tmp_path: Path, width: int, record: int | None = None) -> Path:
    """A parcel whose .dbf has a text field ``name`` of ``width`` bytes (its width's high byte in the descriptor's
    next, a Clipper extension) and a field ``id`` after it; ``record`` overrides the header's record length."""
    frame = parcel_frame(rect(1.2, 1.2, 1.6, 1.6), name="n", id="P1")
    frame.to_file(tmp_path / "w.shp", engine="pyogrio", encoding="utf-8")
    head = bytearray(32)
    head[0] = 3
    fields = bytearray(64)
    fields[0:4], fields[11], fields[16], fields[17] = b"name", ord("C"), width % 256, width // 256
    fields[32:34], fields[43], fields[48] = b"id", ord("C"), 10
    head[4:12] = (
        (1).to_bytes(4, "little") + (97).to_bytes(2, "little") + (record or 1 + width + 10).to_bytes(2, "little")
    )
    row = (b" " + b"n" * width + b"P1".ljust(10)).ljust(record or 0)
    (tmp_path / "w.dbf").write_bytes(bytes(head + fields) + b"\r" + row + b"\x1a")
    return tmp_path / "w.shp"


def test_a_text_field_wider_than_255_bytes_is_refused_not_misread(tmp_path: Path) -> None:
    """GDAL reads a field's width from one byte: a 300-byte field (44 + 256) was read 44 bytes wide and the id
    after it out of its text (nnnnnnnnnn for P1), with nothing said (a probe). A table whose fields overrun its
    records is damaged."""
    with pytest.raises(FormatError, match="field 'name' is 300 bytes wide") as refused:
        read_parcels(_wide_field_table(tmp_path, 300))
    assert "字段 'name' 宽 300 字节" in refused.value.message_zh and "其后字段随之错位" in refused.value.message_zh
    with pytest.raises(FormatError, match="its fields are 55 bytes a record and its header declares 40"):
        read_parcels(_wide_field_table(tmp_path, 44, record=40))
    padded = read_parcels(_wide_field_table(tmp_path, 44, record=80))  # padded past its fields: read as written
    assert padded["id"].tolist() == ["P1"]


def test_text_neither_utf8_nor_gb18030_stays_latin1_and_is_said(tmp_path: Path) -> None:
    frame = read_parcels(_shapefile_zip(tmp_path, "ISO-8859-1", None, name=["café au lait", "Ære"]))
    assert frame["name"].tolist() == ["café au lait", "Ære"]
    assert [w for w in frame.attrs["warnings"] if "neither UTF-8 nor GB18030" in w and "Latin-1" in w]


def test_utf8_shapefile_on_disk_without_cpg(tmp_path: Path) -> None:
    frame = parcel_frame(rect(1.2, 1.2, 1.6, 1.6), name="合规住宅项目")
    frame.to_file(tmp_path / "x.shp", engine="pyogrio", encoding="utf-8")
    (tmp_path / "x.cpg").unlink()
    read = read_parcels(tmp_path / "x.shp")
    assert read["name"].tolist() == ["合规住宅项目"] and any("UTF-8" in w for w in read.attrs["warnings"])


def test_the_detector_tries_utf8_strictly_then_gb18030() -> None:
    text = "合规住宅项目"
    assert undeclared_codec([text.encode("utf-8")]) == "utf-8"
    assert undeclared_codec([text.encode("gbk")]) == "gb18030"
    assert undeclared_codec([b"caf\xe9 au lait"]) is None
    cut = text.encode("utf-8")[:-1]  # a dBASE field cuts by bytes
    assert undeclared_codec([cut]) == "utf-8" and decoded(cut, "utf-8") == "合规住宅项"


# --- zips ----------------------------------------------------------------------------------------


def _parts(tmp_path: Path) -> dict[str, bytes]:
    write_parcels(parcel_frame(rect(1.2, 1.2, 1.6, 1.6), id="D1"), tmp_path / "w.zip")
    with zipfile.ZipFile(tmp_path / "w.zip") as z:
        return {Path(n).suffix: z.read(n) for n in z.namelist()}


def test_a_zip_made_by_macos_finder_is_read(tmp_path: Path) -> None:
    """Its __MACOSX/…/._p.shp made "found 2" shapefiles."""
    archive = tmp_path / "mac.zip"
    with zipfile.ZipFile(archive, "w") as z:
        for suffix, data in _parts(tmp_path).items():
            z.writestr(f"parcels/p{suffix}", data)
            z.writestr(f"__MACOSX/parcels/._p{suffix}", b"\x00\x05\x16\x07 AppleDouble")
            z.writestr(f"parcels/._p{suffix}", b"\x00\x05\x16\x07 AppleDouble")
    assert read_parcels(archive)["id"].tolist() == ["D1"]
    assert not [n for n in check_zip(archive) if "._" in n or "MACOSX" in n]


@pytest.mark.parametrize("second", ["p.dbf", "P.DBF", "./p.dbf", ".//p.dbf", "./P.DBF"])
def test_a_zip_holding_one_name_twice_is_refused(second: str, tmp_path: Path) -> None:
    """zipfile writes a name twice with a warning only, and the reader silently took the last one; a name
    written another way (./p.dbf) is extracted to the same file, and its attributes were reviewed (probe)."""
    parts = _parts(tmp_path)
    archive = tmp_path / "dup.zip"
    with zipfile.ZipFile(archive, "w") as z, warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # "Duplicate name": that is the point
        for suffix, data in parts.items():
            z.writestr(f"p{suffix}", data)
        z.writestr(second, parts[".dbf"])
    with pytest.raises(FormatError, match="two entries named") as refused:
        read_parcels(archive)
    assert "同名条目" in refused.value.message_zh


# --- convert: what a target cannot keep ------------------------------------------------------------


def _source(tmp_path: Path, **columns: list[object]) -> Path:
    frame = parcel_frame(rect(1.2, 1.2, 1.6, 1.6), rect(2.2, 2.2, 2.6, 2.6))
    for column, values in columns.items():
        frame[column] = values
    path = tmp_path / "in.geojson"
    frame.to_file(path, engine="pyogrio")
    return path


def test_convert_to_text_names_the_ids_it_must_change(tmp_path: Path) -> None:
    """A\\nB became A B and A,B@ became A，B＠ without a word: read back, other ids."""
    source = _source(tmp_path, id=["A\nB", "A,B@"], name=["x", "y"])
    target = tmp_path / "out.txt"
    result = runner.invoke(app, ["convert", str(source), str(target)])
    assert result.exit_code == 0, result.output
    assert "2 id(s) hold a line break" in result.stderr and "'A\\nB' → 'A B'" in result.stderr
    assert "'A,B@' → 'A，B＠'" in result.stderr and "读回的地块编号将与原编号不同" in result.stderr
    assert read_parcels(target)["id"].tolist() == ["A B", "A，B＠"]  # as the warning said


def test_convert_to_a_drawing_names_the_attributes_it_drops(tmp_path: Path) -> None:
    source = _source(tmp_path, id=["D1", "D2"], project_type=["industrial", None], investment_wan=[500.0, None])
    result = runner.invoke(app, ["convert", str(source), str(tmp_path / "out.dxf")])
    assert result.exit_code == 0, result.output
    assert "out.dxf cannot keep these attributes, not written: project_type, investment_wan" in result.stderr
    assert "--project-type, --investment-wan" in result.stderr and "无法保存以下属性" in result.stderr
    kept = runner.invoke(app, ["convert", str(source), str(tmp_path / "out.gpkg")])
    assert kept.exit_code == 0 and "cannot keep" not in kept.stderr


def test_which_attributes_a_target_keeps() -> None:
    frame = gpd.GeoDataFrame(
        {"id": ["a"], "name": ["n"], "project_type": ["industrial"], "note": [None], "point_count": [5]},
        geometry=[shapely.box(0, 0, 1, 1)],
        crs=EPSG,
    )
    assert kept_columns("x.DXF") == ("id",) and kept_columns("x.gpkg") is None
    assert unkept_columns(frame, "x.dxf") == ["name", "project_type"]  # no value, or the file's own: not lost
    assert unkept_columns(frame, "x.txt") == ["project_type"] and unkept_columns(frame, "x.zip") == []


@pytest.mark.parametrize("suffix", [".dxf", ".txt"])
def test_a_drawing_or_a_coordinate_text_writes_ids_as_a_review_reads_them(tmp_path: Path, suffix: str) -> None:
    """A numeric id beside a parcel of none (pandas makes the column float) was written "5.0", and the missing one
    "nan" in a drawing: read back, the parcels were 5.0 and nan. Written 5 and 2, as a review numbers them."""
    source = tmp_path / "two.geojson"
    frame = parcel_frame(rect(1.2, 1.2, 1.4, 1.4), rect(1.6, 1.2, 1.8, 1.4))
    frame["id"] = [5, None]
    frame.to_crs(4490).to_file(source)
    assert read_parcels(source)["id"].tolist()[0] == 5.0  # as pandas reads it
    target = tmp_path / f"two{suffix}"
    done = runner.invoke(app, ["convert", str(source), str(target)])
    assert done.exit_code == 0, done.output
    crs = ["--crs", f"EPSG:{EPSG}"] if suffix == ".dxf" else []
    back = read_parcels(target, crs=crs[1] if crs else None)
    assert sorted(map(str, back["id"])) == ["2", "5"]
