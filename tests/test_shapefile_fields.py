"""Shapefile uploads a hostile probe broke: two fields standing for one attribute (``proj_type`` beside
``project_ty`` became two ``project_type`` columns, a 500 in the review), a .cpg declaring UTF-16 or holding no
name at all (a traceback), and text no .cpg declares read as UTF-8 with its last character dropped (Latin-1
``café`` as ``caf``, GBK ``B岐`` as ``B``) because a character cut at the end of any value passed, not only at
the end of a value filling its field."""

from __future__ import annotations

import io
import re
import struct
import zipfile
from pathlib import Path

import numpy as np
import pytest
from support import parcel_frame, rect

from geo.errors import FormatError, InputError
from geo.io import read_parcels, write_parcels
from geo.io.dbf import check_declared
from geo.io.encoding import field_rows, undeclared_codec

# --- files -------------------------------------------------------------------------------------------------------


def _shapefile(folder: Path, count: int, **columns: list[object]) -> Path:
    """``count`` parcels written by GDAL as ``folder/p.shp`` with ``columns`` (names of at most ten bytes), no
    .cpg: each test adds what it probes."""
    folder.mkdir(exist_ok=True)
    frame = parcel_frame(*(rect(1.2 + k, 1.2, 1.6 + k, 1.6) for k in range(count)))
    for name, values in columns.items():
        frame[name] = values
    frame.to_file(folder / "p.shp", engine="pyogrio")
    (folder / "p.cpg").unlink()
    return folder / "p.shp"


def _dbf(fields: list[tuple[bytes, int]], rows: list[list[bytes]]) -> bytes:
    """A dBASE III table of text fields ``(name, width)``, each value padded with spaces to its width, as every
    writer pads it; no code page in its header (byte 29), so GDAL reads the text as Latin-1."""
    header, record = 32 + 32 * len(fields) + 1, 1 + sum(width for _, width in fields)
    head = struct.pack("<BBBBIHH20x", 3, 124, 1, 1, len(rows), header, record)
    described = b"".join(
        name.ljust(11, b"\0") + b"C" + bytes(4) + bytes([width, 0]) + bytes(14) for name, width in fields
    )
    body = b"".join(b" " + b"".join(v.ljust(w) for v, (_, w) in zip(row, fields, strict=True)) for row in rows)
    return head + described + b"\r" + body + b"\x1a"


def _with_table(folder: Path, fields: list[tuple[bytes, int]], rows: list[list[bytes]]) -> Path:
    """A shapefile of ``len(rows)`` parcels whose .dbf is written by hand (``_dbf``), zipped as ``地块.zip``."""
    _shapefile(folder, len(rows))
    (folder / "p.dbf").write_bytes(_dbf(fields, rows))
    return _zipped(folder)


def _zipped(folder: Path, cpg: bytes | None = None) -> Path:
    """The shapefile in ``folder`` zipped (with ``cpg`` as its .cpg, if given), as an upload sends it."""
    archive = folder.parent / "地块.zip"
    with zipfile.ZipFile(archive, "w") as z:
        for part in sorted(folder.iterdir()):
            z.write(part, part.name)
        if cpg is not None:
            z.writestr("p.cpg", cpg)
    return archive


# --- 1. two fields standing for one attribute ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("short", "cut", "long", "values"),
    [
        ("proj_type", "project_ty", "project_type", ["industrial", "residential"]),
        ("invest_wan", "investment", "investment_wan", [500.0, 800.0]),
    ],
)
def test_a_short_name_beside_a_cut_long_name_of_one_attribute_is_refused_naming_both(
    short: str, cut: str, long: str, values: list[object], tmp_path: Path
) -> None:
    """Both were renamed to the long name: two columns of one name, and the review's ``.tolist()`` on them a 500."""
    _shapefile(tmp_path / "p", 2, id=["A", "B"], **{short: values, cut: values})
    with pytest.raises(
        FormatError, match=rf"^地块.zip: fields '{short}' and '{cut}' both stand for '{long}'"
    ) as refused:
        read_parcels(_zipped(tmp_path / "p", b"UTF-8"))
    zh = refused.value.message_zh
    assert zh.startswith("地块.zip：") and f"'{short}'" in zh and f"'{cut}'" in zh and f"'{long}'" in zh


@pytest.mark.parametrize(
    ("table", "fields"),
    [
        ("short,long\na,project_type\nb,project_type\n", ("a", "b")),  # two short names for one long one
        ("short,long\npt,name\n", ("pt", "name")),  # a long name another field keeps
    ],
    ids=["two-to-one", "onto-another"],
)
def test_a_field_name_table_giving_two_fields_one_name_is_refused_naming_them(
    table: str, fields: tuple[str, str], tmp_path: Path
) -> None:
    _shapefile(tmp_path / "p", 2, id=["A", "B"], a=["x", "y"], b=["x", "y"], pt=["x", "y"], name=["n", "m"])
    (tmp_path / "p" / "p.fields.csv").write_text(table, encoding="utf-8")
    first, second = fields
    said = rf"^地块.zip: fields '{first}' and '{second}' both stand for '\w+' \(as p.fields.csv names them\)"
    with pytest.raises(FormatError, match=said) as refused:
        read_parcels(_zipped(tmp_path / "p", b"UTF-8"))
    assert "p.fields.csv" in refused.value.message_zh and f"'{first}'" in refused.value.message_zh


@pytest.mark.parametrize("order", [("project_type", "proj_type"), ("proj_type", "project_type")])
def test_a_field_named_as_another_fields_short_name_comes_back_as_written(
    order: tuple[str, str], tmp_path: Path
) -> None:
    """lantu's own shapefile of ``project_type`` and a field of its own called ``proj_type``: its table lists every
    field it renamed (``proj_typ~1`` for the second, or ``project_ty`` for the first), and the field it did not
    rename kept its name, not the fixed table's."""
    frame = parcel_frame(rect(1.2, 1.2, 1.6, 1.6), id="A")
    for column in order:
        frame[column] = [f"{column} value"]
    write_parcels(frame, tmp_path / "p.zip")
    read = read_parcels(tmp_path / "p.zip")
    assert {c: read[c].tolist() for c in order} == {c: [f"{c} value"] for c in order}


# --- 2. a .cpg no .dbf can be in ----------------------------------------------------------------------------------


@pytest.mark.parametrize("cpg", ["UTF-16", "utf-16le", "UTF-32", "cp037", "hex"])
def test_a_cpg_naming_an_encoding_no_dbf_can_be_in_is_refused_naming_it(cpg: str, tmp_path: Path) -> None:
    """``UTF-16`` beside UTF-8 text: "UTF-16 stream does not start with BOM", a 500. A .dbf's pad, numbers and
    field names are ASCII: an encoding that spells them otherwise (UTF-16/32, EBCDIC) or no text encoding at all
    cannot be a .dbf's."""
    _shapefile(tmp_path / "p", 2, id=["地块一", "B"])
    said = f"its .cpg declares {cpg!r}, an encoding no .dbf can be in"
    with pytest.raises(FormatError, match=f"^地块.zip: {re.escape(said)}") as refused:
        read_parcels(_zipped(tmp_path / "p", cpg.encode()))
    assert refused.value.message_zh.startswith("地块.zip：") and f"{cpg!r}" in refused.value.message_zh
    with pytest.raises(FormatError, match=re.escape(said)):  # the blueprint builder's check alike
        check_declared(io.BytesIO((tmp_path / "p" / "p.dbf").read_bytes()), cpg.lower(), cpg)


@pytest.mark.parametrize("cpg", [b"\xff\xfe\x00bogus", b"\xe9", b"UTF-8 \xe9", b"\xff\xfeU\x00T\x00F\x00-\x008\x00"])
def test_a_cpg_that_is_no_encodings_name_is_refused_naming_what_it_holds(cpg: bytes, tmp_path: Path) -> None:
    """``\\xff\\xfe\\x00bogus`` was "embedded null character", a 500; GDAL reads such a .cpg up to its first NUL
    and takes ``\\xff\\xfe`` for UTF-8, dropping what is not (Latin-1 café as caf)."""
    _shapefile(tmp_path / "p", 2, id=["A", "B"])
    held = cpg.split(b"\0", 1)[0].decode("ascii", "backslashreplace")
    with pytest.raises(FormatError, match=f"^地块.zip: its .cpg holds '{re.escape(held)}', which names no encoding"):
        read_parcels(_zipped(tmp_path / "p", cpg))


@pytest.mark.parametrize("cpg", [b"\xef\xbb\xbfUTF-8", b"UTF-8\x00junk", b"UTF-8\r\n"])
def test_a_cpg_gdal_reads_as_utf8_is_utf8(cpg: bytes, tmp_path: Path) -> None:
    """GDAL skips a byte-order mark and stops at a NUL: these declare UTF-8, read without a word."""
    _shapefile(tmp_path / "p", 2, id=["地块一", "B"])
    read = read_parcels(_zipped(tmp_path / "p", cpg))
    assert read["id"].tolist() == ["地块一", "B"] and not read.attrs.get("warnings")


# --- 3. a character cut at the end of a value that does not fill its field ----------------------------------------


def test_latin1_text_no_cpg_declares_is_never_read_as_utf8_cut_short(tmp_path: Path) -> None:
    """``caf\\xe9`` in a field of 20 bytes passed as UTF-8 ``caf`` and a cut é: said "read as UTF-8"."""
    archive = _with_table(
        tmp_path / "p", [(b"id", 10), (b"name", 20)], [[b"A", "café".encode("latin-1")], [b"B", b"x"]]
    )
    read = read_parcels(archive)
    assert read["name"].tolist() == ["café", "x"]
    assert not [w for w in read.attrs["warnings"] if "read as UTF-8" in w]
    assert [w for w in read.attrs["warnings"] if "neither UTF-8 nor GB18030" in w and "Latin-1" in w]


@pytest.mark.parametrize("where", ["value", "name"])
def test_gbk_text_ending_in_what_utf8_would_cut_is_read_as_gbk(where: str, tmp_path: Path) -> None:
    """``B岐`` in GBK is ``B`` and the first two bytes of a UTF-8 character: it came back ``B``, as a value or as
    a field's name (of fewer than its ten bytes)."""
    text = "B岐".encode("gbk")
    name, value = (b"name", text) if where == "value" else (text, b"x")
    archive = _with_table(tmp_path / "p", [(b"id", 10), (name, 20)], [[b"A", value], [b"B", b"y"]])
    read = read_parcels(archive)
    column = "name" if where == "value" else "B岐"
    assert read[column].tolist() == (["B岐", "y"] if where == "value" else ["x", "y"])
    assert [w for w in read.attrs["warnings"] if "read as GB18030 (GBK)" in w]


def test_utf8_text_a_writer_cut_at_its_fields_width_is_still_utf8(tmp_path: Path) -> None:
    """A value filling its field may end in a character its writer cut by bytes: 规划用地 in ten bytes is 规划用
    and the first byte of 地. That one stays UTF-8 (its cut character left out); 地块一 beside it is whole."""
    rows = [[b"A", "规划用地".encode()[:10]], [b"B", "地块一".encode()]]
    read = read_parcels(_with_table(tmp_path / "p", [(b"id", 10), (b"name", 10)], rows))
    assert read["name"].tolist() == ["规划用", "地块一"]
    assert [w for w in read.attrs["warnings"] if "read as UTF-8" in w]


def test_a_cut_character_counts_only_at_the_end_of_a_value_filling_its_field() -> None:
    cafe = "café".encode("latin-1")
    assert undeclared_codec([field_rows([cafe, b"x"], 8)]) is None  # padded: whole, and no UTF-8 nor GB18030
    assert undeclared_codec([field_rows([cafe, b"x"], 4)]) == "utf-8"  # as wide as its field: the é may be cut
    assert undeclared_codec([field_rows(["B岐".encode("gbk")], 8)]) == "gb18030"
    assert undeclared_codec([field_rows([cafe], None)]) is None  # no fixed width (a DXF label): never cut
    rows = field_rows([b"ab", b"abc"], 3)
    assert rows.shape == (2, 3) and rows.tobytes() == b"ab\0abc"


def test_the_builder_refuses_latin1_text_no_cpg_declares_naming_its_field() -> None:
    """A blueprint source's .dbf is detected by the same rule: Latin-1 ``café`` passed as UTF-8 ``caf``."""
    from geo.build.sources import detect_dbf_encoding

    table = _dbf([(b"id", 10), (b"name", 20)], [[b"A", "café".encode("latin-1")]])
    with pytest.raises(InputError, match="field 'name': text is neither UTF-8 nor GBK"):
        detect_dbf_encoding(io.BytesIO(table), Path("SYSBHQ.shp"))


def test_a_drawings_latin1_label_is_not_read_as_utf8_cut_short() -> None:
    """A DXF label has no fixed width: ``caf\\xe9`` is no UTF-8 ``caf`` (its id would change), left as read."""
    from geo.io.parcels import _dxf_texts

    labels, said = _dxf_texts(np.array(["café", "P2"], dtype=object), ("AC1015", ""), "site.dxf")
    assert labels.tolist() == ["café", "P2"] and said is not None and "Latin-1" in said
