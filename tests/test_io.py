"""Every input a planner has: the coordinate text, zipped shapefiles, KML/KMZ, GeoJSON;
round trips; hostile archives; and geometry hygiene."""

from __future__ import annotations

import datetime
import itertools
import json
import re
import sqlite3
import struct
import warnings
import zipfile
from pathlib import Path
from typing import Any

import geopandas as gpd
import pandas as pd
import pyogrio
import pytest
import shapely
from pyproj import CRS, Geod
from support import EPSG, X0, Y0, km2, parcel_frame, rect
from typer.testing import CliRunner

from api.cli import app
from geo.blueprint import Blueprint
from geo.crs import check_coordinates
from geo.errors import CRSError, FormatError, GeometryError, LantuError, TooLargeError
from geo.io import (
    features_geojson_text,
    parse_coordinate_text,
    parse_geojson_bytes,
    read_parcels,
    write_coordinate_text,
    write_parcels,
)
from geo.io.archive import check_zip
from geo.io.parcels import ReadLimits, user_crs
from geo.review import review

DATA = Path(__file__).parent / "data"
REL = 1e-4

SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"  # the workplace data beside the repo


def test_multi_parcel_file_with_hole_and_two_parts() -> None:
    frame = read_parcels(DATA / "multi_parcel_holes_zone39.txt")
    assert frame.crs.to_epsg() == 4527  # CGCS2000 3° zone 39, eastings with prefix
    assert list(frame["id"]) == ["PA", "PB"]
    assert list(frame["name"]) == ["带洞地块", "两部分地块"]
    assert list(frame["class_code"]) == ["0601", "0701"]
    hole, parts = frame.geometry
    assert hole.geom_type == "Polygon" and len(hole.interiors) == 1
    assert hole.area == pytest.approx(200 * 200 - 100 * 100)
    assert parts.geom_type == "MultiPolygon" and len(parts.geoms) == 2
    assert parts.area == pytest.approx(400 * 400 + 200 * 200)
    assert frame.attrs["warnings"] == []  # declared 3.0000 ha and 20.0000 ha match the geometry


def test_gbk_crlf_file_without_prefix() -> None:
    frame = read_parcels(DATA / "gbk_crlf_no_prefix.txt")
    assert frame.crs.to_epsg() == 4548  # zone 39 by 带号, no prefix → CM 117°E
    assert frame["name"].iloc[0] == "带洞地块"
    assert frame["extra"].iloc[0] == "370811"  # the provincial column before @
    assert frame.attrs["coordinate_header"].extension == ["项目名称=示例项目（测试数据）"]
    assert frame.geometry.iloc[0].area == pytest.approx(30_000)


def test_xian80_declared_by_name() -> None:
    frame = read_parcels(DATA / "xian80_zone39.txt")
    assert frame.crs.name == "Xian 1980 / 3-degree Gauss-Kruger zone 39"


@pytest.mark.skipif(not (SHARED_DATA / "coord_txt").is_dir(), reason="shared data folder not beside the repo")
def test_real_messy_sample() -> None:
    frame = read_parcels(SHARED_DATA / "coord_txt" / "real_sample_cgcs2000_zone35.txt")
    assert frame.crs.to_epsg() == 4523  # blank 带号: zone 35 from the easting prefix
    geom = frame.geometry.iloc[0]
    assert geom.is_valid and len(geom.exterior.coords) == 64  # 63 points, closed by us
    warnings = " ".join(frame.attrs["warnings"])
    assert "带号" in warnings and "not closed" in warnings


def test_exact_text_round_trip() -> None:
    """Written once in the survey convention (clockwise from the north-west, 1.01版本), the text is a fixed point."""
    original = (DATA / "multi_parcel_holes_zone39.txt").read_text(encoding="utf-8-sig")
    once = write_coordinate_text(parse_coordinate_text(original), newline="\n")
    assert once.replace("格式版本号=1.01版本", "格式版本号=1.01").splitlines()[:12] == original.splitlines()[:12]
    assert write_coordinate_text(parse_coordinate_text(once), newline="\n") == once


def test_round_trip_from_geojson_to_declared_precision(tmp_path: Path) -> None:
    frame = parcel_frame(rect(1.2, 1.2, 1.6, 1.6), id="G1", name="网页地块").to_crs(4490)
    path = write_parcels(frame, tmp_path / "out.txt", encoding="gbk")
    back = read_parcels(path)
    assert back.crs.to_epsg() == 4527  # the CGCS2000 3° zone of the centroid, with prefix
    expected = frame.to_crs(4527).geometry.iloc[0]
    assert shapely.equals_exact(shapely.normalize(back.geometry.iloc[0]), shapely.normalize(expected), 0.0006)
    assert back["id"].iloc[0] == "G1" and back["name"].iloc[0] == "网页地块"
    again = read_parcels(write_parcels(back, tmp_path / "again.txt"))
    assert again.geometry.iloc[0].equals_exact(back.geometry.iloc[0], 0.0)  # stable once on the 1 mm grid


def test_declared_area_mismatch_warns() -> None:
    text = (DATA / "multi_parcel_holes_zone39.txt").read_text(encoding="utf-8-sig")
    frame = parse_coordinate_text(text.replace(",3.0000,PA,", ",3.0100,PA,"))
    assert len(frame.attrs["warnings"]) == 1 and "PA" in frame.attrs["warnings"][0]
    # within 0.1 %: no warning
    assert parse_coordinate_text(text.replace(",3.0000,PA,", ",3.0020,PA,")).attrs["warnings"] == []


BASE = (DATA / "multi_parcel_holes_zone39.txt").read_text(encoding="utf-8-sig")


@pytest.mark.parametrize(
    ("edit", "error", "needle"),
    [
        (("坐标系=2000国家大地坐标系", "坐标系="), CRSError, "no 坐标系"),
        (("坐标系=2000国家大地坐标系", "坐标系=火星坐标系"), CRSError, "unknown 坐标系"),
        (("带号=39", "带号=40"), CRSError, "prefix 39"),
        (("计量单位=米", "计量单位=英尺"), CRSError, "metres"),
        (("投影类型=高斯克吕格", "投影类型=UTM"), CRSError, "not Gauss"),
        (("J2,1,3918200.000,39467400.000", "J2,1,3918200.000,abc"), FormatError, "line 15"),
        (("J2,1,3918200.000,39467400.000", "J2,x,3918200.000,39467400.000"), FormatError, "圈号"),
        (("J2,1,3918200.000,39467400.000", "J2,1,nan,39467400.000"), FormatError, "not finite"),
        (("J2,1,3918200.000,39467400.000", "J2,1"), FormatError, "点号,圈号,X,Y"),
        (("[地块坐标]\n", "[地块坐标]\nJ0,1,1,1\n"), FormatError, "before any parcel header"),
        (("[地块坐标]", "[其它]"), FormatError, "outside a known section"),
    ],
)
def test_coordinate_file_errors(edit: tuple[str, str], error: type[Exception], needle: str) -> None:
    with pytest.raises(error, match=needle):
        parse_coordinate_text(BASE.replace(*edit, 1))


@pytest.mark.parametrize(
    ("written", "zone"), [("３９", 39), ("第39带", 39), ("39带", 39), ("39.0", None), ("三十九", None)]
)
def test_a_zone_written_otherwise_is_read_or_refused_never_taken_as_blank(written: str, zone: int | None) -> None:
    """Read as blank, a 带号 of full-width digits let a CRS given replace the file's zone: three degrees off."""
    text = (DATA / "gbk_crlf_no_prefix.txt").read_bytes().decode("gbk").replace("带号=39", f"带号={written}")
    if zone is None:
        with pytest.raises(CRSError, match="is not a zone number"):
            parse_coordinate_text(text, crs=CRS.from_epsg(4549))
    else:
        assert parse_coordinate_text(text, crs=CRS.from_epsg(4549)).crs.to_epsg() == 4509 + zone


@pytest.mark.parametrize("text", ["EPSG:4548.0", "EPSG:4548\x00junk"])
def test_crs_text_pyproj_reads_but_cannot_name_is_refused(text: str) -> None:
    """EPSG:4548.0 parsed, then its code could not be read back (a ValueError: a 500 once a review had run);
    PROJ reads text only up to a NUL."""
    with pytest.raises(CRSError):
        user_crs(text)


def test_no_zone_anywhere() -> None:
    text = (DATA / "gbk_crlf_no_prefix.txt").read_bytes().decode("gbk").replace("带号=39", "带号=")
    with pytest.raises(CRSError, match="zone is unknown; give the zone's CRS"):
        parse_coordinate_text(text)


@pytest.mark.filterwarnings("ignore:.*syntax is deprecated:FutureWarning")  # +init=epsg:4548, on purpose
def test_a_blank_zone_is_taken_from_the_crs_given(tmp_path: Path) -> None:
    """带号 blank, eastings without the prefix: the zone of the CRS the caller gives (--crs, ?crs=) when it
    is a zone of the file's datum and width without the prefix, with a warning; any other CRS is refused."""
    text = (DATA / "gbk_crlf_no_prefix.txt").read_bytes().decode("gbk").replace("带号=39", "带号=")
    declared = parse_coordinate_text((DATA / "gbk_crlf_no_prefix.txt").read_bytes())
    path = tmp_path / "blank_zone.txt"
    path.write_text(text, encoding="gbk")
    frame = read_parcels(path, crs="EPSG:4548")
    assert frame.crs.to_epsg() == 4548 and frame.geometry.equals(declared.geometry)
    assert [w for w in frame.attrs["warnings"] if "zone 39 (3°) taken from the CRS given, EPSG:4548" in w]
    assert not [w for w in frame.attrs["warnings"] if "未采用" in w]  # the CRS given was used
    as_proj = "+proj=tmerc +lat_0=0 +lon_0=117 +k=1 +x_0=500000 +y_0=0 +ellps=GRS80 +units=m +no_defs"
    for spelt in (as_proj, "+init=epsg:4548", " epsg:4548 "):  # no EPSG code for pyproj to name: its definition
        frame = read_parcels(path, crs=spelt)
        assert frame.crs.to_epsg() == 4548 and frame.geometry.equals(declared.geometry), spelt
    for other, why in [
        ("EPSG:4527", "CGCS2000 / 3-degree Gauss-Kruger zone 39"),  # the prefixed zone: its eastings would have one
        ("EPSG:2383", "Xian 1980"),  # another datum than the file's 坐标系
        ("EPSG:4509", "CGCS2000 / Gauss-Kruger CM 117E"),  # a 6° zone: 几度分带=3 in the file
        ("EPSG:4490", "China Geodetic Coordinate System 2000"),
    ]:
        with pytest.raises(CRSError, match=f"the CRS given \\({why}"):
            read_parcels(path, crs=other)
    xian = path.with_name("xian.txt")
    xian.write_text(text.replace("2000国家大地坐标系", "80西安坐标系"), encoding="gbk")
    with pytest.raises(CRSError, match=r"e\.g\. EPSG:2384 for Xian1980 3° zone 39"):  # its own datum's zone named
        read_parcels(xian, crs="EPSG:4548")
    six = path.with_name("six.txt")
    six.write_text(text.replace("几度分带=3\r\n", ""), encoding="gbk")  # no 几度分带: the CRS given's width
    frame = read_parcels(six, crs="EPSG:4509")  # CGCS2000 6° zone 20, CM 117°E as zone 39's: the file says no width
    assert frame.crs.to_epsg() == 4509 and not [w for w in frame.attrs["warnings"] if "3-degree zones assumed" in w]


def test_two_point_ring_is_refused() -> None:
    text = (
        "[属性描述]\n坐标系=2000国家大地坐标系\n带号=39\n[地块坐标]\n3,,Z,,面,,,,@\n"
        "J1,1,3918000,39464000\nJ2,1,3918100,39464000\nJ1,1,3918000,39464000\n"
    )
    with pytest.raises(GeometryError, match="fewer than 3"):
        parse_coordinate_text(text)


def test_binary_garbage_is_a_format_error() -> None:
    with pytest.raises(FormatError):
        parse_coordinate_text(bytes(range(256)) * 10)


def test_formats_review_like_geojson(tmp_path: Path, blueprint: Blueprint) -> None:
    """The same two parcels as coordinate text, GeoJSON, GeoPackage, zipped shapefile, KML and KMZ."""
    frame = read_parcels(DATA / "multi_parcel_holes_zone39.txt")[["id", "name", "geometry"]]
    expected = review(frame, blueprint)
    paths = [write_parcels(frame, tmp_path / f"p{s}") for s in (".geojson", ".gpkg", ".zip", ".kml", ".kmz")]
    for path in [DATA / "multi_parcel_holes_zone39.txt", *paths]:
        got = review(read_parcels(path), blueprint)
        for a, b in zip(got.parcels, expected.parcels, strict=True):
            assert a.area_m2 == pytest.approx(b.area_m2, rel=REL), path.name
            assert [(i.code, i.status) for i in a.items] == [(i.code, i.status) for i in b.items], path.name
            assert [i.overlap_m2 for i in a.items] == pytest.approx(
                [i.overlap_m2 for i in b.items], rel=1e-3, abs=0.5
            ), path.name
    farmland = expected.parcels[0].item("basic_farmland")
    assert farmland.overlap_m2 == pytest.approx(30_000, rel=REL)  # the hole is not counted
    # the drawing's id texts put the two-part parcel together again; the hole is kept
    drawing = read_parcels(write_parcels(frame, tmp_path / "p.dxf"))
    assert drawing.crs.to_epsg() == 4527  # the CRS written as text into the drawing
    assert list(drawing["id"]) == ["PA", "PB"]
    assert list(drawing.area) == pytest.approx([30_000, 200_000])


def test_cli_convert_round_trip(tmp_path: Path) -> None:
    runner = CliRunner()
    out = tmp_path / "p.geojson"
    result = runner.invoke(app, ["convert", str(DATA / "gbk_crlf_no_prefix.txt"), str(out)])
    assert result.exit_code == 0, result.output
    back = tmp_path / "back.txt"
    assert runner.invoke(app, ["convert", str(out), str(back)]).exit_code == 0
    assert back.read_bytes().decode("gbk").startswith("[属性描述]")
    assert read_parcels(back).to_crs(EPSG).geometry.iloc[0].area == pytest.approx(30_000, rel=1e-6)
    bad = runner.invoke(app, ["convert", str(out), str(tmp_path / "x.xlsx")])
    assert bad.exit_code == 2 and "cannot write" in bad.stderr
    before = out.read_bytes()
    same = runner.invoke(app, ["convert", str(out), str(tmp_path / "." / out.name)])  # one file, two names
    assert same.exit_code == 2 and "name the same file" in same.stderr and out.read_bytes() == before


def _zip(path: Path, entries: dict[str, bytes], *, symlink: str | None = None) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in entries.items():
            z.writestr(name, data)
        if symlink:
            info = zipfile.ZipInfo(symlink)
            info.external_attr = 0o120777 << 16
            z.writestr(info, "/etc/passwd")
    return path


@pytest.mark.parametrize(
    ("entries", "symlink", "error", "needle"),
    [
        ({"../evil.shp": b"x"}, None, FormatError, "outside the archive"),
        ({"/etc/evil.shp": b"x"}, None, FormatError, "outside the archive"),
        ({"C:/evil.shp": b"x"}, None, FormatError, "outside the archive"),
        ({"a.shp": b"x"}, "link.shp", FormatError, "symbolic link"),
        ({"inner.zip": b"PK"}, None, FormatError, "nested archive"),
        ({"bomb.shp": b"\0" * (50 * 1024 * 1024)}, None, TooLargeError, "zip bomb"),
        ({f"f{i}.txt": b"x" for i in range(300)}, None, TooLargeError, "entries"),
    ],
)
def test_hostile_zips(
    tmp_path: Path, entries: dict[str, bytes], symlink: str | None, error: type[Exception], needle: str
) -> None:
    path = _zip(tmp_path / "x.zip", entries, symlink=symlink)
    with pytest.raises(error, match=needle):
        check_zip(path)
    with pytest.raises(error):
        read_parcels(path)


def test_zip_total_size_cap(tmp_path: Path) -> None:
    path = _zip(tmp_path / "x.zip", {"a.dbf": bytes(range(256)) * 4000})
    with pytest.raises(TooLargeError, match="uncompressed"):
        check_zip(path, max_total=500_000)


def test_zip_without_or_with_two_shapefiles(tmp_path: Path) -> None:
    with pytest.raises(FormatError, match="found 0"):
        read_parcels(_zip(tmp_path / "a.zip", {"readme.txt": b"hi"}))
    with pytest.raises(FormatError, match="found 2"):
        read_parcels(_zip(tmp_path / "b.zip", {"a.shp": b"x", "b.shp": b"y"}))


@pytest.mark.parametrize(
    "entries",
    [[".", "p.geojson"], ["a", "a/b.txt", "p.geojson"], ["a/b.txt", "a", "p.geojson"]],
    ids=["dot", "file-then-folder", "folder-then-file"],
)
def test_zip_entries_that_collide_are_a_format_error(tmp_path: Path, entries: list[str]) -> None:
    archive = tmp_path / "collide.zip"
    with zipfile.ZipFile(archive, "w") as z:
        for name in entries:
            z.writestr(name, parcel_frame(rect(1, 1, 2, 2)).to_crs(4490).to_json() if name.endswith("json") else "x")
    with pytest.raises(FormatError, match="collides with another entry"):
        read_parcels(archive)


def test_a_geopackage_attribute_table_is_a_format_error(tmp_path: Path) -> None:
    import pandas as pd
    import pyogrio

    path = tmp_path / "table.gpkg"
    pyogrio.write_dataframe(pd.DataFrame({"a": [1]}), path)
    with pytest.raises(FormatError, match="has no geometry"):
        read_parcels(path)


def _rings_turned(shp: Path) -> None:
    """Every ring of a one-polygon shapefile written the other way round (the spec's outer rings turn
    clockwise; some exporters turn them anticlockwise and their holes clockwise)."""
    data = bytearray(shp.read_bytes())
    start = 100 + 8 + 4 + 32  # file header, record header, shape type, box
    parts, points = struct.unpack_from("<2i", data, start)
    first = [*struct.unpack_from(f"<{parts}i", data, start + 8), points]
    xy = start + 8 + 4 * parts
    for a, b in itertools.pairwise(first):
        ring = [struct.unpack_from("<2d", data, xy + 16 * k) for k in range(a, b)][::-1]
        for k, point in enumerate(ring, start=a):
            struct.pack_into("<2d", data, xy + 16 * k, *point)
    shp.write_bytes(bytes(data))


def test_a_shapefile_with_its_rings_turned_the_other_way_is_read_by_where_they_lie(tmp_path: Path) -> None:
    """Outer ring anticlockwise, hole clockwise: GDAL made the hole the outer ring ("Hole lies outside shell",
    refused as an unrepairable parcel: probe). Rings are sorted by where they lie."""
    holed = shapely.Polygon(rect(1, 1, 1.2, 1.2).exterior, [rect(1.05, 1.05, 1.1, 1.1).exterior])
    parcel_frame(holed, id="H1").to_file(tmp_path / "h.shp", engine="pyogrio")
    _rings_turned(tmp_path / "h.shp")
    read = read_parcels(tmp_path / "h.shp")
    assert read.geometry.iloc[0].is_valid and read.geometry.iloc[0].area == pytest.approx(km2(0, 0, 0.2, 0.2) - 2500)


def test_shapefile_without_prj_is_a_crs_error(tmp_path: Path) -> None:
    parcel_frame(rect(1, 1, 1.1, 1.1)).to_file(tmp_path / "p.shp")
    (tmp_path / "p.prj").unlink()
    with pytest.raises(CRSError, match=r"\.prj"):
        read_parcels(tmp_path / "p.shp")


@pytest.mark.parametrize("srs_id", [0, -1])
def test_a_geopackage_of_undefined_srs_is_a_crs_error(tmp_path: Path, srs_id: int) -> None:
    """GeoPackage's srs_id 0 and -1 are its "undefined" geographic and Cartesian systems: GDAL gives them
    as a CRS of unknown datum, which read as degrees would be reviewed as CGCS2000 without a word."""
    path = tmp_path / "p.gpkg"
    parcel_frame(rect(1, 1, 1.1, 1.1)).to_crs(4490).to_file(path, layer="p")
    with sqlite3.connect(path) as db:
        db.execute("UPDATE gpkg_geometry_columns SET srs_id = ?", (srs_id,))
    with pytest.raises(CRSError, match=r"p\.gpkg declares no CRS"):
        read_parcels(path)
    assert read_parcels(path, crs="EPSG:4490").crs == CRS.from_epsg(4490)  # named by the caller: used


def _placemark(name: str, x: float) -> str:
    ring = " ".join(f"{a:.3f},{b:.3f}" for a, b in [(x, 35.4), (x + 0.001, 35.4), (x + 0.001, 35.401), (x, 35.4)])
    return (
        f"<Placemark><name>{name}</name><Polygon><outerBoundaryIs><LinearRing><coordinates>{ring}"
        "</coordinates></LinearRing></outerBoundaryIs></Polygon></Placemark>"
    )


def test_every_folder_of_a_kml_is_read(tmp_path: Path) -> None:
    """GDAL reads each KML folder, nested ones too, as a layer: the first alone dropped the rest (D03 on
    farmland was once missing from a 201 so). A planner's folders are one set of parcels."""
    path = tmp_path / "folders.kml"
    path.write_text(
        '<?xml version="1.0" encoding="UTF-8"?><kml xmlns="http://www.opengis.net/kml/2.2"><Document>'
        f"{_placemark('R0', 116.60)}<Folder><name>A</name>{_placemark('A1', 116.61)}</Folder>"
        f"<Folder><name>B</name><Folder><name>B-inner</name>{_placemark('B1', 116.62)}</Folder>"
        f"{_placemark('B2', 116.63)}</Folder><Folder><name>empty</name></Folder>{_placemark('R1', 116.64)}"
        "</Document></kml>",
        encoding="utf-8",
    )
    written = ["R0", "A1", "B1", "B2", "R1"]  # GDAL's folder by folder: R0, R1, A1, B2, B1
    assert read_parcels(path)["name"].tolist() == written
    limits = ReadLimits(max_bytes=10**7, max_parcels=5, max_vertices=10**6)
    assert read_parcels(path, limits=limits)["name"].tolist() == written  # read in chunks: the same order
    assert "warnings" not in read_parcels(path).attrs
    with pytest.raises(TooLargeError, match="more than 4 parcels"):  # the limit counts over all folders
        read_parcels(path, limits=ReadLimits(max_bytes=10**7, max_parcels=4, max_vertices=10**6))


def _overlay(name: str) -> str:
    box = "<north>35.41</north><south>35.4</south><east>116.66</east><west>116.65</west>"
    image = "<Icon><href>map.png</href></Icon>"
    return f"<GroundOverlay><name>{name}</name>{image}<LatLonBox>{box}</LatLonBox></GroundOverlay>"


def test_kml_folders_that_cannot_be_matched_keep_gdals_order_and_say_so(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The file's placemarks are counted per folder against GDAL's layers; where the counts differ (here: the
    walk counts a GroundOverlay GDAL does not read) the order is GDAL's, said, and the file is not refused."""
    path = tmp_path / "overlay.kml"
    path.write_text(
        '<?xml version="1.0" encoding="UTF-8"?><kml xmlns="http://www.opengis.net/kml/2.2"><Document>'
        f"{_placemark('R0', 116.60)}{_overlay('go')}<Folder>{_placemark('A1', 116.61)}</Folder>"
        f"{_placemark('R1', 116.62)}</Document></kml>",
        encoding="utf-8",
    )
    assert read_parcels(path)["name"].tolist() == ["R0", "A1", "R1"]
    monkeypatch.setattr("geo.io.parcels.KML_FEATURES", frozenset({"Placemark", "GroundOverlay"}))
    frame = read_parcels(path)
    assert frame["name"].tolist() == ["R0", "R1", "A1"]
    assert frame.attrs["warnings"][0].startswith("overlay.kml: its placemarks are listed folder by folder")


def test_a_kml_image_overlay_is_no_parcel(tmp_path: Path) -> None:
    """LIBKML read a GroundOverlay (an image draped on the map) as a feature, its LatLonBox a polygon: it was
    reviewed as parcel 2 and rejected (probe). Overlays are left out, said, and the placemarks keep the file's
    order among folders, overlays and subfolders, read whole or in chunks."""
    path = tmp_path / "mixed.kml"
    path.write_text(
        '<?xml version="1.0" encoding="UTF-8"?><kml xmlns="http://www.opengis.net/kml/2.2"><Document>'
        f"{_placemark('R0', 116.60)}{_overlay('base')}<Folder><name>A</name>{_overlay('scan')}"
        f"{_placemark('A1', 116.61)}<Folder><name>A-inner</name>{_placemark('B1', 116.62)}</Folder>"
        f"{_overlay('scan2')}</Folder>{_placemark('R1', 116.63)}<Folder><name>images</name>{_overlay('x')}</Folder>"
        f"<Folder><name>C</name>{_placemark('C1', 116.64)}</Folder></Document></kml>",
        encoding="utf-8",
    )
    written = ["R0", "A1", "B1", "R1", "C1"]
    limits = ReadLimits(max_bytes=10**7, max_parcels=5, max_vertices=10**6)
    for frame in (read_parcels(path), read_parcels(path, limits=limits)):
        assert frame["name"].tolist() == written
        assert frame.attrs["warnings"] == [
            "mixed.kml: 4 image overlay(s) (GroundOverlay) left out: an image over the map is no parcel"
            "（mixed.kml：4 个图像叠加层（GroundOverlay）未作为地块读取：叠加在地图上的图片不是地块）"
        ]


def test_a_kml_with_an_undeclared_prefix_keeps_the_files_order_and_says_its_overlays(tmp_path: Path) -> None:
    """A ``gx:`` element whose prefix the file never declares: GDAL reads past it, ElementTree refused it
    ("unbound prefix"), and the placemarks came folder by folder, the overlays skipped unsaid."""
    path = tmp_path / "loose.kml"
    path.write_text(
        '<?xml version="1.0" encoding="UTF-8"?><kml xmlns="http://www.opengis.net/kml/2.2"><Document>'
        f"{_placemark('R0', 116.60)}<Folder>{_overlay('scan').replace('</name>', '</name><gx:altitudeMode/>')}"
        f"{_placemark('A1', 116.61)}</Folder>{_placemark('R1', 116.62)}</Document></kml>",
        encoding="utf-8",
    )
    frame = read_parcels(path)
    assert frame["name"].tolist() == ["R0", "A1", "R1"]
    assert frame.attrs["warnings"] == [
        "loose.kml: 1 image overlay(s) (GroundOverlay) left out: an image over the map is no parcel"
        "（loose.kml：1 个图像叠加层（GroundOverlay）未作为地块读取：叠加在地图上的图片不是地块）"
    ]


@pytest.mark.parametrize("root", ["Document", "none"])
def test_a_kml_of_image_overlays_alone_has_no_parcels(root: str, tmp_path: Path) -> None:
    """A KML holding overlays and no placemark is refused as no parcels, not reviewed as the images' boxes
    (nor, an overlay at the root, called unreadable)."""
    body = _overlay("scan") if root == "none" else f"<Document>{_overlay('scan')}{_overlay('scan2')}</Document>"
    path = tmp_path / "images.kml"
    path.write_text(
        f'<?xml version="1.0" encoding="UTF-8"?><kml xmlns="http://www.opengis.net/kml/2.2">{body}</kml>',
        encoding="utf-8",
    )
    with pytest.raises(FormatError, match=r"images\.kml: no parcels: the file holds only image overlays") as caught:
        read_parcels(path)
    assert "只有图像叠加层" in caught.value.message_zh


def test_a_kml_link_to_another_document_is_not_followed_and_said(tmp_path: Path) -> None:
    """A NetworkLink was dropped unsaid: a placemark and a link to a file of another parcel had one parcel
    reviewed, and a file of links alone was "no parcels to review", naming neither file nor link (probe).
    Nothing linked is fetched (no network, no file beside the upload); the links are counted and said, and
    a file of links alone is refused as such."""
    beside = tmp_path / "linked.kml"
    beside.write_text(_kml(_placemark("B1", 116.62)), encoding="utf-8")
    link = f"<NetworkLink><name>nl</name><Link><href>{beside}</href></Link></NetworkLink>"
    path = tmp_path / "linking.kml"
    path.write_text(_kml(_placemark("A1", 116.61), f"<Folder>{link}</Folder>", link), encoding="utf-8")
    frame = read_parcels(path)
    assert frame["name"].tolist() == ["A1"]
    assert frame.attrs["warnings"] == [
        "linking.kml: 2 link(s) to other documents (NetworkLink) not followed: parcels in a linked document are not "
        "read; send that document itself to review them（linking.kml：2 个指向其他文档的链接（NetworkLink）未读取："
        "被链接文档中的地块未审查；如需审查，请直接提交该文档）"
    ]
    only = tmp_path / "links.kml"
    only.write_text(_kml(link, _overlay("scan")), encoding="utf-8")
    with pytest.raises(
        FormatError,
        match=r"^links\.kml: no parcels: the file holds only image overlays \(1: GroundOverlay\), images draped on "
        r"the map and links to other documents \(1 NetworkLink\), which are not fetched; .* or send the linked",
    ) as caught:
        read_parcels(only)
    assert "指向其他文档的链接（1 个 NetworkLink）" in caught.value.message_zh


def test_points_and_lines_beside_a_parcels_polygon_are_said_left_out(tmp_path: Path) -> None:
    """A KML MultiGeometry or a GeoJSON GeometryCollection of a polygon with a point or a line kept the polygon and
    dropped the rest with nothing said (probe): the dropped kinds are named, by feature."""
    from geo.io import parcels_from_geojson

    mixed = _placemark("M1", 116.60).replace("<Polygon>", "<MultiGeometry><Polygon>")
    mixed = mixed.replace(
        "</Polygon>",
        "</Polygon><Point><coordinates>116.6,35.4</coordinates></Point>"
        "<LineString><coordinates>116.6,35.4 116.61,35.41</coordinates></LineString></MultiGeometry>",
    )
    path = tmp_path / "multi.kml"
    path.write_text(_kml(_placemark("P1", 116.61), mixed), encoding="utf-8")
    frame = read_parcels(path)
    assert frame["name"].tolist() == ["P1", "M1"]
    assert frame.attrs["warnings"] == [
        "multi.kml: 1 feature(s) hold points or lines beside their polygons (#2: LineString/Point): only the "
        "polygons are read, a point or line encloses no area（multi.kml：1 个要素除面外还含有点或线（第 2 个："
        "LineString/Point）：只读取其中的面，点和线不围成面积）"
    ]
    polygon = {"type": "Polygon", "coordinates": [SQUARE]}
    collection = {
        "type": "GeometryCollection",
        "geometries": [polygon, {"type": "Point", "coordinates": [116.6, 35.4]}],
    }
    features = [{"type": "Feature", "properties": {}, "geometry": g} for g in (polygon, collection)]
    read = parcels_from_geojson({"type": "FeatureCollection", "features": features})
    assert read.attrs["warnings"][0].startswith("1 feature(s) hold points or lines beside their polygons (#2: Point)")
    alone = parcels_from_geojson({"type": "GeometryCollection", "geometries": [polygon, polygon]})
    assert "warnings" not in alone.attrs


def _kmz(path: Path, entries: dict[str, str]) -> Path:
    with zipfile.ZipFile(path, "w") as archive:
        for name, text in entries.items():
            archive.writestr(name, text)
    return path


def _kml(*placemarks: str) -> str:
    body = "".join(placemarks)
    return f'<?xml version="1.0" encoding="UTF-8"?><kml xmlns="http://www.opengis.net/kml/2.2"><Document>{body}</Document></kml>'


def test_an_empty_kml_has_no_parcels(tmp_path: Path) -> None:
    """A KML of an empty Document has no layer; pyogrio's default layer of none was an IndexError (a traceback)."""
    path = tmp_path / "empty.kml"
    path.write_text(_kml(), encoding="utf-8")
    for layer in (None, "parcels"):
        with pytest.raises(FormatError, match=r"^empty\.kml: no parcels: the file holds no layer$"):
            read_parcels(path, layer=layer)


def test_a_kmz_reads_its_main_document_and_says_the_other_kml_files_were_not(tmp_path: Path) -> None:
    """A KMZ of doc.kml and another .kml was refused ("expected one .kml file inside, found 2"): Google's KML
    reference has the first root-level .kml, by convention doc.kml, read and the others ignored. doc.kml at the
    root is read, else the only root-level .kml; the others are named as not read. Several at the root and none
    doc.kml: which comes first is the archiver's accident, refused."""
    a, b = _placemark("A1", 116.61), _placemark("B1", 116.62)
    path = _kmz(tmp_path / "p.kmz", {"files/old.kml": _kml(b), "extra.kml": _kml(b), "doc.kml": _kml(a)})
    frame = read_parcels(path)
    assert frame["name"].tolist() == ["A1"]
    assert frame.attrs["warnings"] == [
        "p.kmz: its main document doc.kml was read; 2 other file(s) not read (files/old.kml, extra.kml)"
        "（p.kmz：已读取主文档 doc.kml；其余 2 个文件未读取（files/old.kml, extra.kml））"
    ]
    one_at_root = _kmz(tmp_path / "q.kmz", {"files/linked.kml": _kml(b), "parcels.kml": _kml(a)})
    assert read_parcels(one_at_root)["name"].tolist() == ["A1"]
    assert read_parcels(_kmz(tmp_path / "r.kmz", {"files/only.kml": _kml(a)}))["name"].tolist() == ["A1"]
    two_at_root = _kmz(tmp_path / "s.kmz", {"a.kml": _kml(a), "b.kml": _kml(b)})
    with pytest.raises(
        FormatError, match=r"s\.kmz: 2 \.kml files \(a\.kml, b\.kml\) and no doc\.kml at the archive's root"
    ):
        read_parcels(two_at_root)
    beside = _kmz(tmp_path / "t.kmz", {"doc.kml": _kml(a), "../up.kml": _kml(b)})  # every entry checked, read or not
    with pytest.raises(FormatError, match="points outside the archive"):
        read_parcels(beside)


def test_a_kml_id_data_field_without_an_xml_id_is_kept(tmp_path: Path) -> None:
    """Google Earth writes ``<Data name="id">`` and no XML id; LIBKML then shows the field as ``id`` and an empty
    ``id2``, which replaced it: the ids became 1 and 2 (probe). Where a placemark has both, the field wins."""

    def data(pid: str) -> str:
        return f'<ExtendedData><Data name="id"><value>{pid}</value></Data></ExtendedData>'

    path = tmp_path / "earth.kml"
    path.write_text(
        '<?xml version="1.0" encoding="UTF-8"?><kml xmlns="http://www.opengis.net/kml/2.2"><Document>'
        + _placemark("甲", 116.60).replace("</name>", "</name>" + data("XM-001"))
        + _placemark("乙", 116.61).replace("</name>", "</name>" + data("XM-002"))
        + _placemark("丙", 116.62)
        .replace("<Placemark>", '<Placemark id="xml-3">')
        .replace("</name>", "</name>" + data("XM-003"))
        + "</Document></kml>",
        encoding="utf-8",
    )
    assert read_parcels(path)["id"].tolist() == ["XM-001", "XM-002", "XM-003"]


def test_a_geopackage_of_several_layers_is_read_by_the_one_named(tmp_path: Path) -> None:
    path = tmp_path / "p.gpkg"
    parcel_frame(rect(1, 1, 1.1, 1.1), id="S1").to_file(path, layer="a")
    parcel_frame(rect(2, 1, 2.1, 1.1), id="S2").to_file(path, layer="b")
    with pytest.raises(FormatError, match=r"p\.gpkg: the GeoPackage holds 2 layers with geometry \(a, b\)"):
        read_parcels(path)
    assert list(read_parcels(path, layer="b")["id"]) == ["S2"]
    tables = tmp_path / "q.gpkg"  # one layer with geometry beside an attribute table: that layer
    parcel_frame(rect(1, 1, 1.1, 1.1), id="S1").to_file(tables, layer="a")
    pyogrio.write_dataframe(pd.DataFrame({"k": [1]}), tables, layer="attrs")
    assert list(read_parcels(tables)["id"]) == ["S1"]


def test_a_layer_named_that_the_file_lacks_is_said_so(tmp_path: Path) -> None:
    """``--layer`` naming no layer of a sound GeoPackage or KML was "not a readable gpkg file": now the file's
    layers with geometry are named (not its attribute tables), and a name differing in case is GDAL's match."""
    gpkg = tmp_path / "p.gpkg"
    parcel_frame(rect(1, 1, 1.1, 1.1), id="S1").to_file(gpkg, layer="parcels")
    parcel_frame(rect(2, 1, 2.1, 1.1), id="S2").to_file(gpkg, layer="roads")
    pyogrio.write_dataframe(pd.DataFrame({"k": [1]}), gpkg, layer="attrs")
    with pytest.raises(
        FormatError, match=r"^p\.gpkg: no layer named 'parcel' in the file: its layers are parcels, roads$"
    ):
        read_parcels(gpkg, layer="parcel")
    assert list(read_parcels(gpkg, layer="Parcels")["id"]) == ["S1"]
    kml = tmp_path / "f.kml"
    kml.write_text(
        '<?xml version="1.0" encoding="UTF-8"?><kml xmlns="http://www.opengis.net/kml/2.2"><Document>'
        f"<Folder><name>A</name>{_placemark('A1', 116.61)}</Folder><Folder><name>C</name>{_placemark('C1', 116.62)}"
        "</Folder></Document></kml>",
        encoding="utf-8",
    )
    result = CliRunner().invoke(app, ["convert", str(kml), str(tmp_path / "out.geojson"), "--layer", "B"])
    assert result.exit_code == 2
    assert "f.kml: no layer named 'B' in the file: its layers are A, C" in " ".join(result.output.split())


def _folders(path: Path, *folders: tuple[str, str]) -> Path:
    body = "".join(
        f"<Folder><name>{name}</name>{_placemark(pid, 116.6 + k / 100)}</Folder>"
        for k, (name, pid) in enumerate(folders)
    )
    path.write_text(_kml(body), encoding="utf-8")
    return path


def test_a_layer_is_named_as_the_file_writes_it_and_a_name_of_several_is_refused(tmp_path: Path) -> None:
    """Folders "A" (D01) and "a" (D03), listed by GDAL as A and "a (#2)": ``--layer a`` reviewed D01, GDAL taking
    the first layer matching regardless of case (probe). A name GDAL lists is taken first, then a folder's name as
    written, then either regardless of case; a name several layers answer to is refused, naming them, and the
    refusal of a name of none names the layers as a user can pass them."""
    path = _folders(tmp_path / "case.kml", ("A", "D01"), ("a", "D03"))
    for layer, read in (("a", "D03"), ("A", "D01"), ("a (#2)", "D03")):
        assert read_parcels(path, layer=layer)["name"].tolist() == [read], layer
    with pytest.raises(
        FormatError, match=r"^case\.kml: no layer named 'b' in the file: its layers are A, a \(#2\) \(GDAL"
    ):
        read_parcels(path, layer="b")
    three = _folders(tmp_path / "three.kml", ("A", "D01"), ("a", "D03"), ("a", "D05"))
    with pytest.raises(
        FormatError, match=r"^three\.kml: 'a' names 2 layers of the file \(a \(#2\), a \(#3\)\)"
    ) as caught:
        read_parcels(three, layer="a")
    assert "对应文件中的 2 个图层" in caught.value.message_zh
    assert read_parcels(three, layer="a (#3)")["name"].tolist() == ["D05"]
    folded = _folders(tmp_path / "folded.kml", ("Ab", "D01"), ("aB", "D03"))
    with pytest.raises(FormatError, match=r"^folded\.kml: 'ab' names 2 layers of the file \(Ab, aB \(#2\)\)"):
        read_parcels(folded, layer="ab")
    assert read_parcels(folded, layer="aB")["name"].tolist() == ["D03"]


def test_a_layer_named_for_a_file_of_one_layer_is_refused(tmp_path: Path) -> None:
    """``--layer nonexistent`` on a GeoJSON was ignored and every parcel reviewed (probe): lantu reads a GeoJSON
    and a coordinate text itself, each one set of parcels, and a layer named for one is refused, in a zip too."""
    frame = parcel_frame(rect(1, 1, 1.1, 1.1), id="S1")
    for path in (write_parcels(frame, tmp_path / "p.geojson"), write_parcels(frame, tmp_path / "p.txt")):
        assert list(read_parcels(path)["id"]) == ["S1"]
        with pytest.raises(FormatError, match=rf"^{path.name}: a .* file has one layer, so no layer can be named"):
            read_parcels(path, layer="nonexistent")
    zipped = tmp_path / "g.zip"
    with zipfile.ZipFile(zipped, "w") as archive:
        archive.write(tmp_path / "p.geojson", "p.geojson")
    with pytest.raises(FormatError, match=r"^g\.zip: a GeoJSON file has one layer") as caught:
        read_parcels(zipped, layer="p")
    assert "GeoJSON 文件只有一个图层" in caught.value.message_zh


# --- geometry hygiene ---------------------------------------------------------------------------

SQUARE = [[116.60, 35.40], [116.61, 35.40], [116.61, 35.41], [116.60, 35.41], [116.60, 35.40]]


def _geojson(geometry: dict[str, Any]) -> gpd.GeoDataFrame:
    from geo.io import parcels_from_geojson

    return parcels_from_geojson({"type": "Feature", "properties": {"id": "H"}, "geometry": geometry})


def _area(blueprint: Blueprint, geometry: dict[str, Any]) -> float:
    return review(_geojson(geometry), blueprint).parcels[0].area_m2


def test_hygiene_accepts_what_keeps_the_area(blueprint: Blueprint) -> None:
    plain = _area(blueprint, {"type": "Polygon", "coordinates": [SQUARE]})
    # independent yardstick: the geodesic area on the GRS80 ellipsoid (CGCS2000's), no projection at all;
    # 36 km from the zone's central meridian the GK scale error is about 3e-5 in area
    geodesic, _ = Geod(ellps="GRS80").geometry_area_perimeter(shapely.Polygon(SQUARE))
    assert plain == pytest.approx(abs(geodesic), rel=1e-4)
    clockwise = _area(blueprint, {"type": "Polygon", "coordinates": [SQUARE[::-1]]})
    duplicated = _area(blueprint, {"type": "Polygon", "coordinates": [[SQUARE[0], *SQUARE]]})
    three_d = _area(blueprint, {"type": "Polygon", "coordinates": [[[*p, 42.0] for p in SQUARE]]})
    collection = _area(
        blueprint,
        {
            "type": "GeometryCollection",
            "geometries": [
                {"type": "Polygon", "coordinates": [SQUARE]},
                {"type": "Point", "coordinates": [116.6, 35.4]},
            ],
        },
    )
    assert clockwise == duplicated == three_d == collection == plain


def test_spike_is_repaired_without_changing_the_area(blueprint: Blueprint) -> None:
    spiked = [
        SQUARE[0],
        SQUARE[1],
        [116.62, 35.405],
        SQUARE[1],
        *SQUARE[2:],
    ]  # a zero-width spike out and back
    result = review(_geojson({"type": "Polygon", "coordinates": [spiked]}), blueprint).parcels[0]
    assert result.repaired is True
    assert result.area_m2 == pytest.approx(_area(blueprint, {"type": "Polygon", "coordinates": [SQUARE]}), rel=1e-6)


@pytest.mark.parametrize(
    ("geometry", "error", "needle"),
    [
        ({"type": "LineString", "coordinates": SQUARE}, GeometryError, "must be a polygon"),
        ({"type": "Polygon", "coordinates": [SQUARE[:2]]}, FormatError, "unreadable geometry"),
        # a map for coordinates read "unreadable geometry (0)": a KeyError's bare key
        ({"type": "Polygon", "coordinates": {"a": 1}}, FormatError, r"not arrays of \[x, y\] numbers as a Polygon"),
        (
            {
                "type": "Polygon",
                "coordinates": [[[116.6, 35.4], [116.61, 35.41], [116.61, 35.4], [116.6, 35.41], [116.6, 35.4]]],
            },
            GeometryError,
            "Self-intersection",
        ),
        ({"type": "Polygon", "coordinates": []}, GeometryError, "empty"),
        (
            {"type": "GeometryCollection", "geometries": [{"type": "Point", "coordinates": [116.6, 35.4]}]},
            GeometryError,
            "no polygon",
        ),
        (
            {
                "type": "Polygon",
                "coordinates": [[[116.6, 35.4], [float("nan"), 35.4], [116.61, 35.41], [116.6, 35.4]]],
            },
            CRSError,
            "NaN",
        ),
    ],
)
def test_hygiene_refuses_with_reason(
    blueprint: Blueprint, geometry: dict[str, Any], error: type[Exception], needle: str
) -> None:
    with pytest.raises(error, match=needle):
        review(_geojson(geometry), blueprint)


def test_unclosed_ring_in_geojson(blueprint: Blueprint) -> None:
    # shapely closes an unclosed ring of four corners; the area is the square's
    area = _area(blueprint, {"type": "Polygon", "coordinates": [SQUARE[:-1]]})
    assert area == pytest.approx(_area(blueprint, {"type": "Polygon", "coordinates": [SQUARE]}), rel=1e-9)


def test_a_measure_after_x_y_z_is_dropped_and_said(blueprint: Blueprint) -> None:
    """RFC 7946 3.1.1 lets a parser ignore a position's elements after the third: QGIS and GPS exports write a
    measure (M) there, and shapely refused the whole file ("dimension should be 2 or 3, got 4")."""
    measured = {"type": "Polygon", "coordinates": [[[*p, 42.0, 7.5] for p in SQUARE]]}
    frame = _geojson(measured)
    assert frame.geometry.iloc[0].has_z and shapely.get_coordinates(frame.geometry, include_z=True)[0, 2] == 42.0
    said = "feature 1: 5 position(s) give more than x, y, z (a measure M); read without it"
    assert frame.attrs["warnings"][0].startswith(said)
    result = review(frame, blueprint)
    assert any(w.startswith(said) for w in result.warnings)
    assert result.parcels[0].area_m2 == _area(blueprint, {"type": "Polygon", "coordinates": [SQUARE]})
    point = {"type": "Point", "coordinates": [116.6, 35.4, 0, 1]}
    collection = {"type": "GeometryCollection", "geometries": [measured, point]}
    assert _geojson(collection).attrs["warnings"][0].startswith("feature 1: 6 position(s)")  # members too
    assert "warnings" not in _geojson({"type": "Polygon", "coordinates": [SQUARE]}).attrs


@pytest.mark.parametrize(
    ("geometry", "needle"),
    [
        (
            {"type": "Polygon", "coordinates": [[[p[0]] for p in SQUARE]]},
            r"a position of 1 number\(s\): each needs \[x, y\] or \[x, y, z\]",
        ),
        ({"type": "Point", "coordinates": [116.6]}, "a position of 1 number"),  # numpy's words on array dimensions
        (
            {"type": "Polygon", "coordinates": [[SQUARE[0], [*SQUARE[1], 1.0], *SQUARE[2:]]]},
            r"mixes positions of \[x, y\] and \[x, y, z\]",  # numpy's words on an inhomogeneous shape
        ),
        ({"type": "Polygon", "coordinates": [[["东经", "北纬"], *SQUARE[1:]]]}, 'a coordinate given as "东经"'),
        # numpy read "116.6" as 116.6 and true as 1 (probe): RFC 7946 has numbers
        (
            {"type": "Polygon", "coordinates": [[[str(x), str(y)] for x, y in SQUARE]]},
            r'a coordinate given as "116.6": GeoJSON coordinates are numbers \(RFC 7946\), written without quotes',
        ),
        ({"type": "Polygon", "coordinates": [[[*p, True] for p in SQUARE]]}, "a coordinate given as true"),
        ({"type": "Point", "coordinates": [116.6, "35.4"]}, 'a coordinate given as "35.4"'),
        ({"type": "Polygon", "coordinates": [[SQUARE[0], 5, *SQUARE[2:]]]}, r"not arrays of \[x, y\] numbers"),
    ],
)
def test_a_position_short_of_x_y_or_not_of_numbers_is_a_format_error(geometry: dict[str, Any], needle: str) -> None:
    with pytest.raises(FormatError, match=f"feature 1: .*{needle}"):
        _geojson(geometry)


def test_hygiene_errors_are_lantu_errors() -> None:
    assert issubclass(GeometryError, LantuError) and issubclass(GeometryError, ValueError)


def test_geojson_with_crs_member(blueprint: Blueprint) -> None:
    obj = json.loads(parcel_frame(rect(2.9, 0.1, 3.1, 0.3)).to_json())
    obj["crs"] = {"type": "name", "properties": {"name": "urn:ogc:def:crs:EPSG::4548"}}
    from geo.io import parcels_from_geojson

    frame = parcels_from_geojson(obj)
    assert frame.crs.to_epsg() == 4548
    assert review(frame, blueprint).parcels[0].item("basic_farmland").overlap_m2 == pytest.approx(20_000, rel=REL)
    obj["crs"] = {"type": "name", "properties": {"name": "EPSG:nope"}}
    with pytest.raises(CRSError, match="crs member"):
        parcels_from_geojson(obj)


def test_a_crs_given_is_used_where_the_file_declares_none_and_said_unused_where_it_does(tmp_path: Path) -> None:
    gk = json.loads(parcel_frame(rect(2.9, 0.1, 3.1, 0.3)).to_json(drop_id=True))  # metres
    del gk["crs"]  # as RFC 7946 GeoJSON has none
    path = tmp_path / "gk.geojson"
    path.write_text(json.dumps(gk))
    with pytest.raises(CRSError, match=r"not degrees.*--crs / \?crs="):
        check_coordinates(read_parcels(path).geometry)  # GeoJSON's own default: degrees
    frame = read_parcels(path, crs=f"EPSG:{EPSG}")
    assert frame.crs.to_epsg() == EPSG and "warnings" not in frame.attrs
    assert frame.geometry.area.iloc[0] == pytest.approx(km2(2.9, 0.1, 3.1, 0.3), rel=1e-9)
    path.write_text(json.dumps({**gk, "crs": {"type": "name", "properties": {"name": f"EPSG:{EPSG}"}}}))
    parcel_frame(rect(2.9, 0.1, 3.1, 0.3)).to_file(tmp_path / "p.gpkg")
    for declared in (path, tmp_path / "p.gpkg"):
        assert "warnings" not in read_parcels(declared, crs=f"EPSG:{EPSG}").attrs  # the same CRS: nothing to say
        as_proj = "+proj=tmerc +lat_0=0 +lon_0=117 +k=1 +x_0=500000 +y_0=0 +ellps=GRS80 +units=m +no_defs"
        assert "warnings" not in read_parcels(declared, crs=as_proj).attrs  # EPSG:4548 spelt as PROJ: the same
        frame = read_parcels(declared, crs="EPSG:4549")
        assert frame.crs.to_epsg() == EPSG, declared
        en, zh = ("the GeoJSON", "该 GeoJSON") if declared == path else ("p.gpkg", "p.gpkg")
        assert frame.attrs["warnings"] == [
            f"{en} declares EPSG:{EPSG}: the CRS given (EPSG:4549) was not used"
            f" ({zh} 已声明坐标系 EPSG:{EPSG}，未采用指定的 EPSG:4549)"
        ]


def test_bom_geojson_file(tmp_path: Path) -> None:
    path = tmp_path / "bom.geojson"
    path.write_bytes(b"\xef\xbb\xbf" + json.dumps({"type": "Polygon", "coordinates": [SQUARE]}).encode())
    assert len(read_parcels(path)) == 1


@pytest.mark.filterwarnings("ignore:'crs' was not provided")  # a DXF has no CRS: that is the point
def test_dxf_closed_polylines_with_a_given_crs(tmp_path: Path, blueprint: Blueprint) -> None:
    drawing = gpd.GeoDataFrame(
        {"Layer": ["红线"] * 3},
        geometry=[rect(3.2, 0.2, 3.4, 0.4).exterior, shapely.LineString([(0, 0), (1, 1)]), rect(1.2, 1.2, 1.3, 1.3)],
    )
    path = tmp_path / "site.dxf"
    drawing.to_file(path, driver="DXF", engine="pyogrio")
    with pytest.raises(CRSError, match="else give the CRS: --crs or"):
        read_parcels(path)
    frame = read_parcels(path, crs=f"EPSG:{EPSG}")
    assert len(frame) == 2 and list(frame.geom_type) == ["Polygon", "Polygon"]  # the open line is dropped
    result = review(frame, blueprint)
    assert result.parcels[0].item("basic_farmland").overlap_m2 == pytest.approx(40_000, rel=REL)
    converted = tmp_path / "site.geojson"
    runner = CliRunner()
    assert runner.invoke(app, ["convert", str(path), str(converted), "--crs", "EPSG:4548"]).exit_code == 0
    assert len(read_parcels(converted)) == 2


@pytest.mark.filterwarnings("ignore:'crs' was not provided")
def test_a_dxf_whose_crs_text_names_no_crs(tmp_path: Path) -> None:
    """Text on a drawing's crs layer that names no CRS declares nothing: refused with the text quoted,
    or read in the CRS given, with a warning."""
    source, areas = _two_rectangles(tmp_path)
    path = write_parcels(read_parcels(source), tmp_path / "p.dxf")
    path.write_bytes(path.read_bytes().replace(f"EPSG:{EPSG}".encode(), b"CGCS2000 zone 39"))
    with pytest.raises(CRSError, match="the text on its crs layer, 'CGCS2000 zone 39', names no CRS; give"):
        read_parcels(path)
    frame = read_parcels(path, crs=f"EPSG:{EPSG}")
    assert frame.crs.to_epsg() == EPSG and list(frame.area) == pytest.approx(areas, rel=1e-9)
    assert [w for w in frame.attrs["warnings"] if f"the CRS given (EPSG:{EPSG}) was used" in w]


def test_zipped_shapefile_in_gbk_with_cpg(tmp_path: Path) -> None:
    frame = parcel_frame(rect(1.2, 1.2, 1.3, 1.3), name="济宁高新区地块")
    frame.to_file(tmp_path / "p.shp", encoding="GBK")
    assert "济宁".encode("gbk") in (tmp_path / "p.dbf").read_bytes()  # really GBK on disk, declared in p.cpg
    archive = tmp_path / "p.zip"
    with zipfile.ZipFile(archive, "w") as z:
        for part in tmp_path.glob("p.*"):
            if part.suffix != ".zip":
                z.write(part, part.name)
    assert read_parcels(archive)["name"].iloc[0] == "济宁高新区地块"


@pytest.mark.parametrize(
    ("declared", "epsg_name"),
    [
        ("2000国家大地坐标系", "CGCS2000 / 3-degree Gauss-Kruger zone 39"),
        ("CGCS2000", "CGCS2000 / 3-degree Gauss-Kruger zone 39"),
        ("80西安坐标系", "Xian 1980 / 3-degree Gauss-Kruger zone 39"),
        ("西安80坐标系", "Xian 1980 / 3-degree Gauss-Kruger zone 39"),
        ("54北京坐标系", "Beijing 1954 / 3-degree Gauss-Kruger zone 39"),
        ("北京54", "Beijing 1954 / 3-degree Gauss-Kruger zone 39"),
    ],
)
def test_datum_declared_by_name(declared: str, epsg_name: str) -> None:
    frame = parse_coordinate_text(BASE.replace("坐标系=2000国家大地坐标系", f"坐标系={declared}"))
    assert frame.crs.name == epsg_name


def test_six_degree_zones() -> None:
    # 6° zone 20 (CM 117°E) with prefix: eastings 20 464 000…
    text = BASE.replace("几度分带=3", "几度分带=6").replace("带号=39", "带号=20").replace(",39467", ",20467")
    text = text.replace(",39468", ",20468").replace(",39465", ",20465")
    frame = parse_coordinate_text(text)
    assert frame.crs.name == "CGCS2000 / Gauss-Kruger zone 20"


# --- round trips: GeoJSON → each format → GeoJSON ----------------------------------------------------

ATTRS = {"name": "济宁高新区地块", "project_type": "transport", "investment_wan": 12_500.0, "major_project": True}
# what each format can carry besides the geometry: CAD keeps only the ids, the coordinate text its own columns
KEPT: dict[str, tuple[str, ...]] = {
    ".zip": ("id", *ATTRS),
    ".kml": ("id", *ATTRS),
    ".kmz": ("id", *ATTRS),
    ".gpkg": ("id", *ATTRS),
    ".dxf": ("id",),
    ".txt": ("id", "name"),
}


def _two_rectangles(tmp_path: Path) -> tuple[Path, list[float]]:
    """Two exact rectangles (one of them two parts) as a GeoJSON file in degrees; their areas by arithmetic."""
    frame = gpd.GeoDataFrame(
        [{"id": "R1", **ATTRS}, {"id": "R/2", **ATTRS, "name": "b[red]x", "major_project": False}],
        geometry=[rect(2.5, 0.5, 2.7, 0.8), shapely.MultiPolygon([rect(1.2, 1.2, 1.3, 1.3), rect(1.5, 1.5, 1.7, 1.6)])],
        crs=EPSG,
    )
    path = tmp_path / "source.geojson"
    write_parcels(frame.to_crs(4490), path)
    return path, [km2(2.5, 0.5, 2.7, 0.8), km2(1.2, 1.2, 1.3, 1.3) + km2(1.5, 1.5, 1.7, 1.6)]


@pytest.mark.parametrize("suffix", list(KEPT))
def test_round_trip_keeps_ids_attributes_and_areas(suffix: str, tmp_path: Path, blueprint: Blueprint) -> None:
    source, areas = _two_rectangles(tmp_path)
    original = read_parcels(source)
    written = write_parcels(original, tmp_path / f"out{suffix}", encoding="utf-8")
    back = read_parcels(written)
    again = read_parcels(write_parcels(back, tmp_path / "back.geojson"))  # and home again as GeoJSON
    assert list(again["id"]) == ["R1", "R/2"]
    for column in KEPT[suffix]:
        assert [again[column].iloc[i] for i in range(2)] == [original[column].iloc[i] for i in range(2)], column
    # to the declared 1 mm of the coordinate text, exactly elsewhere (up to reprojection)
    assert list(again.to_crs(EPSG).area) == pytest.approx(areas, rel=1e-5 if suffix == ".txt" else 1e-9)
    if "project_type" in KEPT[suffix]:  # outside the urban boundary a transport project warns, industry fails
        assert [p.verdict for p in review(again, blueprint).parcels] == [
            p.verdict for p in review(original, blueprint).parcels
        ]


def test_shapefile_field_names_fit_dbase_and_come_back(tmp_path: Path) -> None:
    long_zh = "项目建设单位名称"  # 24 bytes in UTF-8, 16 in GBK
    frame = parcel_frame(
        rect(1.2, 1.2, 1.3, 1.3),
        id="S1",
        project_type="industrial",
        redline_exempt=False,
        approval_document="自然资规〔2019〕1号",
        approval_date="2026-01-01",
        **{long_zh: "济宁某公司"},
    )
    for encoding, cpg in (("gbk", "GBK"), ("utf-8", "UTF-8")):
        path = write_parcels(frame, tmp_path / f"p-{encoding}.zip", encoding=encoding)
        with zipfile.ZipFile(path) as archive:
            assert archive.read(f"p-{encoding}.cpg").decode() == cpg
            sidecar = archive.read(f"p-{encoding}.fields.csv").decode("utf-8")
        assert "proj_type,project_type" in sidecar and "rl_exempt,redline_exempt" in sidecar
        raw = gpd.read_file(f"zip://{path}!p-{encoding}.shp", engine="pyogrio")
        assert all(len(c.encode(encoding)) <= 10 for c in raw.columns if c != "geometry"), list(raw.columns)
        assert len(set(raw.columns)) == len(raw.columns)  # approval_document and approval_date stay apart
        back = read_parcels(path)
        assert list(back.columns) == list(frame.columns), encoding
        assert back[long_zh].iloc[0] == "济宁某公司" and back["approval_date"].iloc[0] == "2026-01-01"
    # without the sidecar the project attributes still come back by their fixed short names
    bare = tmp_path / "bare.zip"
    with zipfile.ZipFile(tmp_path / "p-gbk.zip") as src, zipfile.ZipFile(bare, "w") as dst:
        for name in src.namelist():
            if not name.endswith(".fields.csv"):
                dst.writestr(name, src.read(name))
    assert read_parcels(bare)["project_type"].iloc[0] == "industrial"


def test_shapefile_fields_cut_by_gdal_come_back(tmp_path: Path) -> None:
    """geopandas, QGIS and ArcGIS cut a long field name to its first ten bytes (``project_ty``): the project's
    type, investment and exemption must come back, or the review grades another project."""
    frame = parcel_frame(
        rect(1.2, 1.2, 1.3, 1.3), id="S1", project_type="industrial", investment_wan=500.0, redline_exempt=True
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # GDAL says what it cut
        frame.to_file(tmp_path / "cut.shp", engine="pyogrio")
    assert {"project_ty", "investment", "redline_ex"} <= set(gpd.read_file(tmp_path / "cut.shp").columns)
    back = read_parcels(tmp_path / "cut.shp")
    assert back["project_type"].iloc[0] == "industrial" and back["investment_wan"].iloc[0] == 500.0
    assert bool(back["redline_exempt"].iloc[0])


def test_json_nan_and_infinity_are_refused_not_read_as_missing() -> None:
    text = parcel_frame(rect(1.2, 1.2, 1.3, 1.3), investment_wan=123.5).to_crs(4490).to_json()
    assert "123.5" in text
    for constant in ("NaN", "Infinity", "-Infinity"):
        with pytest.raises(FormatError, match=f"{constant} is not a JSON value"):
            parse_geojson_bytes(text.replace("123.5", constant))


def test_shapefile_in_gbk_refuses_what_gbk_cannot_spell(tmp_path: Path) -> None:
    frame = parcel_frame(rect(1.2, 1.2, 1.3, 1.3), id="S1", name="地块 \U0001f600")
    with pytest.raises(FormatError, match="gbk"):
        write_parcels(frame, tmp_path / "p.zip", encoding="gbk")


def test_kml_carries_ids_and_attributes_as_extended_data(tmp_path: Path) -> None:
    source, _ = _two_rectangles(tmp_path)
    text = write_parcels(read_parcels(source), tmp_path / "p.kml").read_text(encoding="utf-8")
    assert "<ExtendedData>" in text
    assert '<SimpleData name="id">R/2</SimpleData>' in text
    assert '<SimpleData name="project_type">transport</SimpleData>' in text


@pytest.mark.filterwarnings("ignore:'crs' was not provided")
def test_dxf_is_drawn_in_gauss_kruger_metres_with_id_texts(tmp_path: Path) -> None:
    source, areas = _two_rectangles(tmp_path)
    path = write_parcels(read_parcels(source), tmp_path / "p.dxf")  # lon/lat in, GK zone out
    raw = gpd.read_file(path, engine="pyogrio")
    texts = raw[raw["Text"].notna()]
    assert sorted(texts.loc[texts["Layer"] == "parcel_id", "Text"]) == ["R/2", "R/2", "R1"]  # one per part
    assert list(texts.loc[texts["Layer"] == "crs", "Text"]) == [f"EPSG:{EPSG}"]  # CM 117°E, the parcels' zone
    outlines = raw[raw["Layer"] == "parcel"]
    minx, miny, _, _ = outlines.total_bounds
    assert minx == pytest.approx(X0 + 1200, abs=1e-3) and miny == pytest.approx(Y0 + 500, abs=1e-3)  # metres
    back = read_parcels(path)
    assert list(back["id"]) == ["R1", "R/2"] and list(back.area) == pytest.approx(areas, rel=1e-9)


# --- CLI messages: user data is text, never Rich markup -----------------------------------------------


def test_cli_prints_ids_and_names_as_they_are(tmp_path: Path, blueprint_dir: Path) -> None:
    source, _ = _two_rectangles(tmp_path)
    frame = read_parcels(source)
    frame["id"] = ["/a", "b[red]x"]
    hostile = tmp_path / "[bold]in.geojson"
    write_parcels(frame, hostile)
    runner = CliRunner()
    out = tmp_path / "r.json"
    done = runner.invoke(app, ["review", str(hostile), "-b", str(blueprint_dir), "-o", str(out)])
    assert done.exit_code == 0, done.output
    assert "/a=" in done.stderr and "b[red]x=" in done.stderr and "已审查" in done.stderr
    converted = runner.invoke(app, ["convert", str(hostile), str(tmp_path / "[red]out.zip")])
    assert converted.exit_code == 0, converted.output
    assert "[bold]in.geojson" in converted.stderr and "[red]out.zip" in converted.stderr


def test_cli_pdf_for_a_terminal_says_so_in_both_languages(
    tmp_path: Path, blueprint_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    source, _ = _two_rectangles(tmp_path)
    monkeypatch.setattr("geo.cli.stdout_is_terminal", lambda: True)
    done = CliRunner().invoke(app, ["review", str(source), "-b", str(blueprint_dir), "-f", "pdf"])
    assert done.exit_code == 2
    assert "-o" in done.stderr and "须用 -o 指定输出文件" in done.stderr and "binary file" in done.stderr


def test_features_geojson_text_is_what_geopandas_writes() -> None:
    """The review's record of its input: a GK frame written in EPSG:4490, blanks as null, the same
    features and properties geopandas' own (slower) writer gives."""
    frame = parcel_frame(rect(0, 0, 1, 1), rect(2, 0, 3, 0.5), rect(4, 0, 4.2, 0.2), project_type="industrial")
    frame["id"] = ["甲", "b", None]
    frame["investment_wan"] = [1.5, float("nan"), 3.0]
    ours = json.loads(features_geojson_text(frame))
    theirs = json.loads(frame.to_crs(4490).to_json(drop_id=True))
    assert [f["properties"] for f in ours["features"]] == [f["properties"] for f in theirs["features"]]
    assert ours["features"][1]["properties"]["investment_wan"] is None
    for a, b in zip(ours["features"], theirs["features"], strict=True):
        assert shapely.geometry.shape(a["geometry"]).equals_exact(shapely.geometry.shape(b["geometry"]), 1e-9)
    back = parse_geojson_bytes(features_geojson_text(frame)).to_crs(EPSG)
    assert back.geometry.area.tolist() == pytest.approx([km2(0, 0, 1, 1), km2(2, 0, 3, 0.5), km2(4, 0, 4.2, 0.2)])


def test_features_geojson_text_writes_dates_as_iso_text_and_a_pages_members() -> None:
    """A layer's page: a date column (批准日期, as pyogrio reads a GeoPackage DATE) is ISO 8601 text, where
    geopandas' writer refused it (an /items page of such a layer was a 500), and the page's counts follow."""
    frame = parcel_frame(rect(0, 0, 1, 1), rect(2, 0, 3, 1))
    frame["approved"] = pd.to_datetime(["2024-03-01", None])
    frame["day"] = [datetime.date(2024, 3, 2), None]
    page = json.loads(features_geojson_text(frame, {"numberMatched": 7, "next": {"offset": 2, "limit": 2}}))
    assert [f["properties"]["approved"] for f in page["features"]] == ["2024-03-01T00:00:00", None]
    assert [f["properties"]["day"] for f in page["features"]] == ["2024-03-02", None]
    assert page["numberMatched"] == 7 and page["next"] == {"offset": 2, "limit": 2}
    with pytest.raises(TypeError):
        frame.to_crs(4490).to_json(drop_id=True)  # what the page was written with


@pytest.mark.parametrize("suffix", [".gpkg", ".fgb", ".geojson", ".parquet"])
def test_a_layer_read_batch_by_batch_equals_it_read_whole(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, suffix: str
) -> None:
    """A layer is decoded Arrow batch by batch (a city layer's WKB is never held whole beside its
    shapes), GeoParquet as GDAL's formats: features, order, attributes, index and CRS as one whole read
    gives them, and an empty layer too."""
    import pyogrio

    from geo.io import blueprint as io_blueprint

    def write(frame: gpd.GeoDataFrame, path: Path) -> None:
        frame.to_parquet(path) if suffix == ".parquet" else frame.to_file(path)

    def whole(path: Path) -> gpd.GeoDataFrame:
        return gpd.read_parquet(path) if suffix == ".parquet" else pyogrio.read_dataframe(path)

    frame = gpd.GeoDataFrame(
        {"code": [f"{i:04d}" for i in range(23)], "ratio": [i / 10 for i in range(23)]},
        geometry=[rect(i, 0, i + 0.5, 0.5 + i / 50) for i in range(23)],
        crs=EPSG,
    )
    path = tmp_path / f"layer{suffix}"
    write(frame, path)
    monkeypatch.setattr(io_blueprint, "READ_BATCH", 5)  # five batches, the last one short
    got = io_blueprint.read_layer(path, layer=None, default_crs=EPSG)
    expected = whole(path)
    assert list(got.columns) == list(expected.columns)
    assert got.drop(columns="geometry").equals(expected.drop(columns="geometry"))
    assert shapely.equals_exact(got.geometry.values, expected.geometry.values).all()
    assert got.crs.to_epsg() == EPSG
    empty = tmp_path / f"empty{suffix}"
    write(frame.iloc[:0], empty)
    nothing = io_blueprint.read_layer(empty, layer=None, default_crs=EPSG)
    assert len(nothing) == 0 and list(nothing.columns) == list(whole(empty).columns)
    assert nothing.crs.to_epsg() == EPSG
    if suffix == ".parquet":  # an index of its own, stored as a column: read back as the index
        named = frame.set_index(frame["code"].rename("key"))
        write(named, path)
        assert io_blueprint.read_layer(path, layer=None, default_crs=EPSG).index.equals(named.index)


# --- text that no column can hold, files named for another format ------------------------------------


@pytest.mark.parametrize(
    ("feature", "named"),
    [
        ({"properties": {"id": "\ud800"}}, "'id'"),
        ({"properties": {"name": "济宁\udc00"}}, "'name'"),
        ({"properties": {"\ud800": "x"}}, r"'\ud800'"),
        ({"properties": {"tags": ["a", {"k": "\udbff"}]}}, "'tags'"),  # nested: kept as JSON, written later
        ({"id": "\ud800", "properties": {}}, "'id'"),  # the Feature's own id
    ],
)
def test_text_that_is_not_unicode_is_refused_naming_the_property(feature: dict[str, Any], named: str) -> None:
    """A lone surrogate escape (\\ud800) is valid JSON but no text: refused, not a 500 from Arrow."""
    data = json.dumps({"type": "Feature", **feature, "geometry": {"type": "Polygon", "coordinates": [SQUARE]}})
    with pytest.raises(FormatError, match="not valid Unicode") as info:
        parse_geojson_bytes(data.encode())
    assert named in info.value.message_en and "第 1 个要素" in info.value.message_zh


def test_attribute_not_in_the_declared_encoding_is_refused(tmp_path: Path) -> None:
    parcel_frame(rect(1.2, 1.2, 1.3, 1.3), name="xxxx").to_file(tmp_path / "p.shp", encoding="UTF-8")
    dbf = tmp_path / "p.dbf"
    dbf.write_bytes(dbf.read_bytes().replace(b"xxxx", b"\xed\xa0\x80\xff"))  # a surrogate's bytes: not UTF-8
    with pytest.raises(FormatError, match="encoding"):
        read_parcels(tmp_path / "p.shp")


def test_a_file_named_dxf_that_is_no_drawing_is_refused(tmp_path: Path, blueprint_dir: Path) -> None:
    kml = write_parcels(parcel_frame(rect(1.2, 1.2, 1.3, 1.3), id="K1"), tmp_path / "p.kml")
    renamed = tmp_path / "kml_as.dxf"
    renamed.write_bytes(kml.read_bytes())  # GDAL reads it by its content, as KML
    said = "kml_as.dxf: the file holds KML, but its name (.dxf) says a DXF drawing: rename it 'kml_as.kml'"
    with pytest.raises(FormatError) as info:
        read_parcels(renamed)
    assert info.value.message_en == said
    assert "文件内容为 KML，但扩展名 .dxf 表明是 DXF 图纸" in info.value.message_zh
    done = CliRunner().invoke(app, ["review", str(renamed), "-b", str(blueprint_dir)])
    assert done.exit_code == 2 and said in done.stderr and "Traceback" not in done.output
    renamed.write_text("no drawing\n", encoding="utf-8")  # content nothing tells: GDAL's reader says what it is not
    with pytest.raises(FormatError, match="not a"):
        read_parcels(renamed)


# --- a damaged .dbf -------------------------------------------------------------------------------


def _shapefile_with_dbf(tmp_path: Path, damage: Any) -> Path:
    """Five parcels written as a shapefile, its .dbf's bytes then replaced by ``damage(bytes)``."""
    frame = parcel_frame(rect(1.2, 1.2, 1.6, 1.6), id="A", project_type="residential")
    five = gpd.GeoDataFrame(frame.loc[[0] * 5].reset_index(drop=True), crs=frame.crs)
    five["id"] = list("ABCDE")
    with warnings.catch_warnings():  # project_type is cut to ten bytes, as every shapefile writer does
        warnings.simplefilter("ignore")
        five.to_file(tmp_path / "p.shp")
    dbf = tmp_path / "p.dbf"
    dbf.write_bytes(damage(dbf.read_bytes()))
    return tmp_path / "p.shp"


def _header(data: bytes, at: int, value: int) -> bytes:
    return data[:at] + value.to_bytes(2, "little") + data[at + 2 :]


@pytest.mark.parametrize(
    ("damage", "said"),
    [
        (lambda d: d[:40], "it holds 40 of the 902 bytes its header declares"),  # its header cut short
        (lambda d: b"", "it holds 0 of the 33 bytes its header declares"),
        (lambda d: d[:96], "it holds 96 of the 902 bytes its header declares"),  # no record left
        (lambda d: d[: 97 + 2 * 161 + 5], "it holds 424 of the 902 bytes its header declares"),  # records cut short
        (lambda d: _header(d, 8, 20), "its header describes 2 fields, 0 of which could be read"),  # header length
        (lambda d: _header(d, 8, 65), "its header describes 2 fields, 1 of which could be read"),
        (lambda d: _header(d, 10, 0), "its header describes 2 fields, 0 of which could be read"),  # record length
    ],
    ids=["header-cut", "empty", "no-records", "records-cut", "header-length-20", "header-length-65", "record-length-0"],
)
def test_a_damaged_dbf_is_refused_not_read_as_no_attributes(tmp_path: Path, damage: Any, said: str) -> None:
    """GDAL reads the shapes alone of a shapefile whose .dbf it cannot open (or some of its fields, shifted), and
    says nothing: every parcel would lose its id and project type. On disk, zipped (the message naming the
    archive) and in either language."""
    shp = _shapefile_with_dbf(tmp_path, damage)
    with pytest.raises(FormatError, match=f"^p.shp: p.dbf is damaged: {said}$"):
        read_parcels(shp)
    archive = tmp_path / "地块.zip"
    with zipfile.ZipFile(archive, "w") as z:
        for part in tmp_path.glob("p.*"):
            z.write(part, f"folder/{part.name}")
    with pytest.raises(FormatError, match=f"^地块.zip: p.dbf is damaged: {said}$") as refused:
        read_parcels(archive)
    assert refused.value.message_zh.startswith("地块.zip：p.dbf 已损坏：")


def _records(data: bytes, count: int) -> bytes:
    """A .dbf's bytes with ``count`` records, its header saying so: the records past it cut off, or copies of
    the last one added."""
    records, header, record = struct.unpack_from("<IHH", data, 4)
    rows = [data[header + k * record : header + (k + 1) * record] for k in range(records)]
    rows = (rows + [rows[-1]] * count)[:count]
    return data[:4] + struct.pack("<I", count) + data[8:header] + b"".join(rows) + b"\x1a"


def _zipped(tmp_path: Path) -> Path:
    archive = tmp_path / "地块.zip"
    with zipfile.ZipFile(archive, "w") as z:
        for part in tmp_path.glob("p.*"):
            z.write(part, f"folder/{part.name}")
    return archive


@pytest.mark.parametrize(
    ("damage", "said"),
    [
        (
            lambda shp: _damaged(shp, ".dbf", lambda d: _records(d, 4)),
            "p.dbf and p.shx disagree: the table holds 4 record(s)",
        ),
        (
            lambda shp: _damaged(shp, ".dbf", lambda d: _records(d, 6)),
            "p.dbf and p.shx disagree: the table holds 6 record(s)",
        ),
        (lambda shp: _damaged(shp, ".shx", lambda d: d[:-8]), "p.dbf and p.shx disagree: the table holds 5 record(s)"),
        (lambda shp: _damaged(shp, ".shx", lambda d: d[:-3]), "p.shx is damaged: 137 bytes are no index of shapes"),
        (lambda shp: _damaged(shp, ".shp", lambda d: d + d[100:236]), "p.shp is damaged: the shapes its .shx indexes"),
        (lambda shp: _damaged(shp, ".shp", lambda d: d[:-20]), "p.shp is damaged: the shapes its .shx indexes"),
    ],
    ids=["fewer-records", "more-records", "fewer-indexed", "index-cut", "shapes-beyond-index", "shapes-cut"],
)
def test_a_shapefile_whose_records_are_not_its_shapes_is_refused(tmp_path: Path, damage: Any, said: str) -> None:
    """GDAL read as many parcels as the shorter of the .dbf and the .shx holds, and no shape the .shx does not
    index, without a word: a probe's rejected parcel was dropped and the batch passed. Refused, on disk and
    zipped."""
    shp = _shapefile_with_dbf(tmp_path, lambda d: d)
    damage(shp)
    with pytest.raises(FormatError, match=f"^p.shp: {re.escape(said)}"):
        read_parcels(shp)
    with pytest.raises(FormatError, match=f"^地块.zip: {re.escape(said)}") as refused:
        read_parcels(_zipped(tmp_path))
    assert refused.value.message_zh.startswith("地块.zip：p.")


def _damaged(shp: Path, suffix: str, damage: Any) -> None:
    part = shp.with_suffix(suffix)
    part.write_bytes(damage(part.read_bytes()))


def test_a_record_marked_deleted_is_not_read_and_said(tmp_path: Path) -> None:
    """A record the .dbf marks deleted (an edit not packed away) is gone in every GIS, and GDAL skips it: the
    others are read, and the warning says one was not, on disk and zipped."""

    def delete_c(data: bytes) -> bytes:
        _, header, record = struct.unpack_from("<IHH", data, 4)
        at = header + 2 * record
        return data[:at] + b"*" + data[at + 1 :]

    shp = _shapefile_with_dbf(tmp_path, delete_c)
    for read in (read_parcels(shp), read_parcels(_zipped(tmp_path))):
        assert read["id"].tolist() == ["A", "B", "D", "E"]
        assert any("1 record(s) marked deleted" in w and "有 1 条记录已标记删除" in w for w in read.attrs["warnings"])


def test_a_shapefile_read_in_chunks_past_a_deleted_record_reads_each_parcel_once(tmp_path: Path) -> None:
    """Under read limits (an upload) parcels are read 500 at a time, and GDAL skips a shapefile's features by shape
    id, a deleted record's too: counting the features read re-read the parcel before each chunk past it (reviewed
    twice; then refused as damaged). Each is read once, in order, the deleted one left out and said."""
    boxes = [shapely.box(X0 + 20 * k, Y0, X0 + 20 * k + 10, Y0 + 10) for k in range(1_200)]
    frame = gpd.GeoDataFrame({"id": [f"P{k}" for k in range(1_200)]}, geometry=boxes, crs=EPSG)
    frame.to_file(tmp_path / "p.shp")
    dbf = tmp_path / "p.dbf"
    data = dbf.read_bytes()
    _, header, record = struct.unpack_from("<IHH", data, 4)
    at = header + 10 * record  # P10
    dbf.write_bytes(data[:at] + b"*" + data[at + 1 :])
    limits = ReadLimits(max_bytes=10**8, max_parcels=2_000, max_vertices=10**6)
    for read in (read_parcels(tmp_path / "p.shp", limits=limits), read_parcels(_zipped(tmp_path), limits=limits)):
        assert read["id"].tolist() == [f"P{k}" for k in range(1_200) if k != 10]
        assert any("1 record(s) marked deleted" in w for w in read.attrs["warnings"])


def test_a_table_gdal_would_not_open_is_refused_and_upper_case_read(tmp_path: Path) -> None:
    """GDAL opens a shapefile's table as p.dbf or p.DBF only: a p.Dbf was read as five shapes of no id or
    project type. Refused naming it; p.SHP beside p.DBF is read whole."""
    shp = _shapefile_with_dbf(tmp_path, lambda d: d)
    (tmp_path / "p.dbf").rename(tmp_path / "p.Dbf")
    with pytest.raises(FormatError, match=r"^p.shp: p.Dbf: GDAL opens a shapefile's table only as .dbf or .DBF"):
        read_parcels(shp)
    (tmp_path / "p.Dbf").rename(tmp_path / "p.DBF")
    shp.rename(tmp_path / "p.SHP")
    read = read_parcels(tmp_path / "p.SHP")
    assert read["id"].tolist() == list("ABCDE") and set(read["project_type"]) == {"residential"}


def test_a_dbf_without_its_end_of_file_mark_is_whole(tmp_path: Path) -> None:
    """The 0x1A after the last record is optional: a .dbf without it is read, attributes and all."""
    read = read_parcels(_shapefile_with_dbf(tmp_path, lambda d: d[:-1] if d.endswith(b"\x1a") else d))
    assert read["id"].tolist() == list("ABCDE") and set(read["project_type"]) == {"residential"}


def test_an_unreadable_field_name_table_is_named_by_its_archive(tmp_path: Path) -> None:
    archive = tmp_path / "地块.zip"
    write_parcels(parcel_frame(rect(1.2, 1.2, 1.6, 1.6), id="A"), archive)  # short names: no table of its own
    with zipfile.ZipFile(archive, "a") as z:
        z.writestr("地块.fields.csv", b"garbage\xff")
    with pytest.raises(FormatError, match=r"^地块.zip: 地块.fields.csv: unreadable field-name table") as refused:
        read_parcels(archive)
    assert refused.value.message_zh.startswith("地块.zip：地块.fields.csv：")


# --- a file whose content is another format than its name says ------------------------------------------------


def _named_otherwise(tmp_path: Path) -> dict[str, Path]:
    """The same parcel as GeoParquet, GeoPackage and GeoJSON, each under a name of another format."""
    frame = parcel_frame(rect(0, 0, 1, 1), id="A")
    frame.to_parquet(tmp_path / "parquet.gpkg")
    frame.to_file(tmp_path / "p.gpkg")
    frame.to_file(tmp_path / "p.geojson")
    (tmp_path / "gpkg.txt").write_bytes((tmp_path / "p.gpkg").read_bytes())
    (tmp_path / "p.gpkg").rename(tmp_path / "gpkg.geojson")
    (tmp_path / "p.geojson").rename(tmp_path / "geojson.gpkg")
    with zipfile.ZipFile(tmp_path / "kmz.kml", "w") as archive:
        archive.writestr("doc.kml", "<kml/>")
    with zipfile.ZipFile(tmp_path / "inside.zip", "w") as archive:
        archive.write(tmp_path / "parquet.gpkg", "parcels/p.gpkg")
    return {p.name: p for p in tmp_path.iterdir()}


@pytest.mark.parametrize(
    ("name", "said_en", "said_zh"),
    [
        (
            "parquet.gpkg",
            "parquet.gpkg: the file holds GeoParquet, but its name (.gpkg) says a GeoPackage: GeoParquet is not read "
            "here; export the data as one of .geojson, .json, .gpkg, .zip, .shp, .kml, .kmz, .txt, .dxf",
            "parquet.gpkg：文件内容为 GeoParquet，但扩展名 .gpkg 表明是 GeoPackage：此处不读取 GeoParquet，"
            "请将数据导出为 .geojson、.json、.gpkg、.zip、.shp、.kml、.kmz、.txt、.dxf 之一",
        ),
        (
            "geojson.gpkg",
            "geojson.gpkg: the file holds GeoJSON, but its name (.gpkg) says a GeoPackage: rename it 'geojson.geojson'",
            "geojson.gpkg：文件内容为 GeoJSON，但扩展名 .gpkg 表明是 GeoPackage：请将文件改名为 'geojson.geojson'",
        ),
        (
            "gpkg.geojson",
            "gpkg.geojson: the file holds a GeoPackage, but its name (.geojson) says GeoJSON: rename it 'gpkg.gpkg'",
            "gpkg.geojson：文件内容为 GeoPackage，但扩展名 .geojson 表明是 GeoJSON：请将文件改名为 'gpkg.gpkg'",
        ),
        (
            "gpkg.txt",
            "gpkg.txt: the file holds a GeoPackage, but its name (.txt) says a coordinate text (界址点坐标): rename it "
            "'gpkg.gpkg'",
            "gpkg.txt：文件内容为 GeoPackage，但扩展名 .txt 表明是 界址点坐标文本：请将文件改名为 'gpkg.gpkg'",
        ),
        (
            "kmz.kml",
            "kmz.kml: the file holds a zip archive, but its name (.kml) says KML: rename it 'kmz.kmz'",
            "kmz.kml：文件内容为 zip 压缩包，但扩展名 .kml 表明是 KML：请将文件改名为 'kmz.kmz'",
        ),
        (
            "inside.zip",
            "inside.zip: parcels/p.gpkg: the file holds GeoParquet, but its name (.gpkg) says a GeoPackage: GeoParquet "
            "is not read here; export the data as one of .shp, .gpkg, .kml, .geojson",
            "inside.zip: parcels/p.gpkg：文件内容为 GeoParquet，但扩展名 .gpkg 表明是 GeoPackage：此处不读取 "
            "GeoParquet，请将数据导出为 .shp、.gpkg、.kml、.geojson 之一",
        ),
    ],
)
def test_a_file_whose_content_is_another_format_than_its_name_says_is_refused_saying_both(
    tmp_path: Path, name: str, said_en: str, said_zh: str
) -> None:
    """A GeoParquet named .gpkg was "not a readable gpkg file" (GDAL, going by the content, found no driver it
    could load: libduckdb), and a GeoJSON named .gpkg was read by GDAL, not by lantu's GeoJSON reader and its
    checks: the content is told by its first bytes, and a file named otherwise is refused saying what it holds."""
    with pytest.raises(FormatError) as refused:
        read_parcels(_named_otherwise(tmp_path)[name])
    assert (refused.value.message_en, refused.value.message_zh) == (said_en, said_zh)


def test_a_layer_whose_content_is_another_format_than_its_name_says_is_refused(tmp_path: Path) -> None:
    """A blueprint layer (or a build's source) of GeoParquet named .gpkg was GDAL's "libduckdb.so: cannot open
    shared object file"; GeoParquet is a layer format, so the name is what to change."""
    from geo.io.blueprint import read_layer

    path = _named_otherwise(tmp_path)["parquet.gpkg"]
    with pytest.raises(FormatError) as refused:
        read_layer(path, layer=None, default_crs=None)
    assert refused.value.message_en == (
        "parquet.gpkg: the file holds GeoParquet, but its name (.gpkg) says a GeoPackage: rename it 'parquet.parquet'"
    )
    assert len(read_layer(path.rename(tmp_path / "p.parquet"), layer=None, default_crs=None)) == 1
