"""``lantu blueprint build`` from the files a city has: a 三调 File Geodatabase, a GBK shapefile
without .cpg, a zone-prefixed layer, a 西安80 layer, a 国土空间规划 GeoPackage; then reviews of
exact rectangles against the result, the report, diff of two builds, and bad input (exit 2).

Every fixture is written here with GDAL (pyogrio): rectangles on the km grid of ``support``
(EPSG:4548 metres), written in the CRS each department would use.
"""

from __future__ import annotations

import json
import shutil
import sqlite3
import struct
import zipfile
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pytest
import rasterio
import rasterio.transform
import shapely
from shapely.affinity import translate
from support import EPSG, STANDARD_LAYERS, parcel_frame, rect, rect_blueprint
from typer.testing import CliRunner

from geo.blueprint import CHECKED, load_blueprint
from geo.build import build_blueprint
from geo.cli import app
from geo.crs import Area, reproject
from geo.errors import CRSError, InputError, LantuError
from geo.review import review

runner = CliRunner()
ZONE_PREFIX = 39_000_000.0  # zone 39 (CM 117°E): the number written in front of the easting
XIAN80_CM117 = 2384  # Xian 1980 / 3-degree Gauss-Kruger CM 117E (no prefix)


def _frame(rows: list[tuple[shapely.Geometry, dict[str, Any]]], crs: int, *, shift: float = 0.0) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame([a for _, a in rows], geometry=[translate(g, shift) for g, _ in rows], crs=crs)


def _dltb_rows() -> list[tuple[shapely.Geometry, dict[str, Any]]]:
    base = {"DLMC": "", "TBMJ": 1e6, "QSXZ": "30", "ZLDWDM": "370811001001"}
    bowtie = shapely.Polygon(  # self-intersecting: repaired into two triangles of 0.25 km² each
        [
            (464_000 + 3000, 3_918_000),
            (464_000 + 4000, 3_918_000 + 1000),
            (464_000 + 4000, 3_918_000),
            (464_000 + 3000, 3_918_000 + 1000),
        ]
    )
    return [
        (rect(0, 0, 1, 1), base | {"BSM": "1", "DLBM": "0101", "DLMC": "水田", "KCXS": 0.1}),
        (rect(1, 0, 2, 1), base | {"BSM": "2", "DLBM": "0601", "DLMC": "工业用地", "KCXS": 0.0}),
        (rect(2, 0, 3, 1), base | {"BSM": "3", "DLBM": "103", "DLMC": "旱地", "KCXS": 0.08}),  # integer-like export
        (rect(2, 0, 3, 1), base | {"BSM": "3", "DLBM": "103", "DLMC": "旱地", "KCXS": 0.08}),  # exact duplicate
        (bowtie, base | {"BSM": "4", "DLBM": "0301", "DLMC": "乔木林地", "KCXS": 0.0}),
        (rect(0, 1, 1, 2), base | {"BSM": "5", "DLBM": "9999", "DLMC": "未知", "KCXS": 0.0}),  # not a 三调 code
        (rect(1, 1, 4, 2), base | {"BSM": "6", "DLBM": "0701", "DLMC": "城镇住宅用地", "KCXS": 0.0}),
    ]


def write_sandiao_gdb(path: Path, *, dltb: list[tuple[shapely.Geometry, dict[str, Any]]] | None = None) -> Path:
    """A 三调 export: DLTB and XZQ in CGCS2000 zone 39 with the zone prefix (EPSG:4527), plus a layer
    no preset knows (XZQJX), as a File Geodatabase."""
    _frame(dltb or _dltb_rows(), 4527, shift=ZONE_PREFIX).to_file(path, layer="DLTB", driver="OpenFileGDB")
    xzq = [
        (rect(-1, -1, 4, 3), {"XZQDM": "370811", "XZQMC": "任城区"}),
        (rect(4, -1, 8, 3), {"XZQDM": "370812", "XZQMC": "兖州区"}),
    ]
    _frame(xzq, 4527, shift=ZONE_PREFIX).to_file(path, layer="XZQ", driver="OpenFileGDB")
    _frame([(rect(0, 0, 1, 1), {"JXLX": "1"})], 4527, shift=ZONE_PREFIX).to_file(
        path, layer="XZQJX", driver="OpenFileGDB"
    )
    return path


def write_gbk_shapefile(folder: Path, name: str, rows: list[tuple[shapely.Geometry, dict[str, Any]]], crs: int) -> Path:
    """A shapefile whose .dbf is GBK, with no .cpg and no code page byte: what departments send."""
    folder.mkdir(parents=True, exist_ok=True)
    shp = folder / f"{name}.shp"
    _frame(rows, crs).to_file(shp, encoding="GBK")
    (folder / f"{name}.cpg").unlink()
    with (folder / f"{name}.dbf").open("r+b") as f:
        f.seek(29)
        f.write(b"\0")  # language driver id: unknown
    return shp


@pytest.fixture(scope="module")
def sources(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("sources")
    gdb = write_sandiao_gdb(root / "370811三调.gdb")
    water = write_gbk_shapefile(
        root / "环保局",
        "SYSBHQ",
        [(rect(4, 0, 5, 1), {"保护级别": "一级保护区"}), (rect(5, 0, 6, 1), {"保护级别": "二级保护区"})],
        EPSG,
    )
    # a layer whose .prj says CM 117°E (no prefix) while its eastings carry zone 39
    urban = root / "CZKFBJ.shp"
    _frame([(rect(1, 1, 4, 2), {"MC": "中心城区"})], EPSG, shift=ZONE_PREFIX).to_file(urban, encoding="UTF-8")
    # 生态保护红线 in 西安80
    redline = root / "STBHHX.gpkg"
    _frame([(rect(6, 0, 7, 1), {"HXMC": "微山湖"})], EPSG).to_crs(XIAN80_CM117).to_file(redline, layer="STBHHX")
    # 国土空间规划 database: 永久基本农田 and 规划分区
    plan = root / "国土空间规划.gpkg"
    _frame([(rect(0, 0, 1, 1), {"BSM": "J1"})], 4527, shift=ZONE_PREFIX).to_file(plan, layer="YJJBNT")
    zones = [(rect(-1, -1, 1, 3), {"GHFQMC": "农田保护区"}), (rect(1, -1, 8, 3), {"GHFQMC": "城镇集中建设区"})]
    _frame(zones, 4527, shift=ZONE_PREFIX).to_file(plan, layer="GHFQ")
    return {"gdb": gdb, "water": water, "urban": urban, "redline": redline, "plan": plan, "root": root}


@pytest.fixture(scope="module")
def built(sources: dict[str, Path], tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("built") / "blueprint"
    result = runner.invoke(
        app,
        [
            "blueprint", "build",
            str(sources["gdb"]), str(sources["water"].parent), str(sources["urban"]),
            str(sources["redline"]), str(sources["plan"]),
            "-o", str(out), "--date", "2023-12-31", "--name", "任城区蓝图",
        ],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    return out


def test_build_writes_geoparquet_metadata_and_a_version(built: Path, sources: dict[str, Path]) -> None:
    manifest = (built / "blueprint.yaml").read_text(encoding="utf-8")
    assert "version: " in manifest and "built: " in manifest
    bp = load_blueprint(built)
    assert set(bp.layers) == {
        "land_use", "county", "water_source", "urban_boundary", "ecological_redline", "basic_farmland", "planned_use",
    }  # fmt: skip
    assert all(Path(layer.source).suffix == ".parquet" for layer in bp.layers.values())  # type: ignore[union-attr]
    assert bp.name == "任城区蓝图" and bp.version == json.loads((built / "build.json").read_text())["version"]
    meta = json.loads((built / "land_use.meta.json").read_text(encoding="utf-8"))
    source = meta["sources"][0]
    assert source["path"] == str(sources["gdb"]) and source["layer"] == "DLTB" and source["preset"] == "sandiao"
    assert len(source["sha256"]) == 64 and source["crs"] == "EPSG:4527"
    assert meta["features"] == 5 and meta["date"] == "2023-12-31" and meta["crs"] == "EPSG:4548"
    x1, y1, x2, y2 = meta["extent"]
    assert (x1, y1, x2, y2) == pytest.approx((464_000, 3_918_000, 468_000, 3_920_000))
    assert meta["extent_4490"][0] == pytest.approx(116.60, abs=0.01)


def test_build_records_its_check_of_every_polygon(built: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Its load in staging tested every polygon it wrote; a later load of the unchanged files tests none."""
    for meta_path in built.glob("*.meta.json"):
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
        assert meta[CHECKED]["path"] == meta["path"] and meta[CHECKED]["bytes"] == (built / meta["path"]).stat().st_size
    tested: list[object] = []
    monkeypatch.setattr(shapely, "is_valid", lambda geoms: tested.append(geoms))
    assert len(load_blueprint(built).layers) == 7 and tested == []


def test_build_report_says_what_it_repaired(built: Path) -> None:
    report = json.loads((built / "build.json").read_text(encoding="utf-8"))
    repairs = {(layer, r["kind"]): r for layer, m in report["layers"].items() for r in m["repairs"]}
    assert (
        repairs[("land_use", "unknown_code")]["count"] == 1
        and "9999" in repairs[("land_use", "unknown_code")]["detail"]
    )
    assert repairs[("land_use", "duplicate")]["count"] == 1
    assert repairs[("land_use", "invalid_geometry")]["count"] == 1
    assert repairs[("land_use", "invalid_geometry")]["area_m2"] == pytest.approx(500_000.0)  # two triangles
    assert repairs[("water_source", "encoding")]["detail"].endswith("gb18030 (detected)")
    assert "39" in repairs[("urban_boundary", "zone_prefix")]["detail"]
    assert "EPSG:4527" in repairs[("urban_boundary", "zone_prefix")]["detail"]
    assert "approximate" in repairs[("ecological_redline", "datum_shift")]["detail"]
    assert {"path": str(Path(report["layers"]["land_use"]["sources"][0]["path"])), "layer": "XZQJX",
            "reason": "no preset names this layer"} in report["skipped"]  # fmt: skip
    water = report["layers"]["water_source"]["sources"][0]
    assert water["encoding"] == "gb18030" and water["fields"] == {"level": "保护级别"}


def test_a_land_use_layer_short_of_the_coverage_is_warned(
    built: Path, sources: dict[str, Path], tmp_path: Path
) -> None:
    """The 三调 layer fills 6.5 km² (1 + 1 + 1 + 0.5 + 3: the unknown code dropped, the duplicate once) of the
    two counties' 36 km² (5 × 4 and 4 × 4), and of 任城区's 20 km² once clipped to it: a parcel on the rest
    would read no land, so the build says so."""
    report = json.loads((built / "build.json").read_text(encoding="utf-8"))
    [warning] = [w for w in report["warnings"] if "land-use layer" in w]
    assert "6.50 km², 18.1% of the coverage (36.00 km²)" in warning and "三调图斑面积合计 6.50 平方公里" in warning
    clipped = build_blueprint([sources["gdb"]], tmp_path / "rencheng", county="370811")
    assert [w for w in clipped.warnings if "6.50 km², 32.5% of the coverage (20.00 km²)" in w]


def test_reviews_of_exact_rectangles_against_the_build(built: Path) -> None:
    bp = load_blueprint(built)
    parcels = parcel_frame(
        rect(0.25, 0.25, 0.75, 0.75),  # 水田 with KCXS 0.1, on 永久基本农田, 农田保护区, outside the urban boundary
        rect(4.25, 0.25, 4.75, 0.75),  # 一级 water source (the GBK shapefile)
        rect(6.25, 0.25, 6.75, 0.75),  # the 西安80 red line
        rect(2.0, 1.2, 3.0, 1.8),  # inside the zone-prefixed urban boundary, 城镇住宅用地
        project_type="industrial",
        investment_wan=100_000,
    )
    parcels["id"] = ["farm", "water", "redline", "town"]
    result = review(parcels, bp)
    farm, water, redline, town = result.parcels
    assert farm.item("basic_farmland").status == "fail"
    assert farm.item("basic_farmland").overlap_m2 == pytest.approx(250_000.0, abs=0.01)
    assert farm.land_quota.paddy_m2 == pytest.approx(250_000.0 * 0.9, abs=0.01)  # KCXS carried through
    assert farm.land_quota.cultivated_m2 == pytest.approx(225_000.0, abs=0.01)
    assert farm.county is not None and farm.county.code == "370811"
    assert water.item("protected_areas").status == "fail"
    assert water.item("protected_areas").overlap_m2 == pytest.approx(250_000.0, abs=0.01)
    assert redline.item("ecological_redline").status == "fail"
    assert redline.item("ecological_redline").overlap_m2 == pytest.approx(250_000.0, abs=0.01)
    assert town.item("planning_conformity").status == "pass"
    assert town.land_quota.construction_m2 == pytest.approx(600_000.0, abs=0.01)


def test_county_clip_and_coverage(sources: dict[str, Path], tmp_path: Path) -> None:
    out = tmp_path / "rencheng"
    report = build_blueprint(
        [sources["gdb"], sources["water"], sources["redline"], sources["plan"]], out, county="370811"
    )
    bp = load_blueprint(out)
    counties = bp.vector("county")
    assert counties is not None and list(counties.frame["code"]) == ["370811"]
    for outside in ("water_source", "ecological_redline"):  # wholly in the other county: kept, empty
        layer = bp.vector(outside)
        assert layer is not None and layer.frame.empty
    planned = bp.vector("planned_use")
    assert planned is not None and planned.frame.area.sum() == pytest.approx(5_000 * 4_000)
    clipped = [r for r in report.layers["planned_use"].repairs if r.kind == "clipped"]
    assert clipped and clipped[0].area_m2 == pytest.approx(-4_000 * 4_000)
    # a parcel astride the county line is out of coverage
    result = review(parcel_frame(rect(3.5, 0.2, 4.5, 0.8), project_type="industrial"), bp)
    assert result.parcels[0].verdict == "out_of_coverage"


def test_township_codes_merge_to_their_county(tmp_path: Path) -> None:
    gdb = tmp_path / "xz.gdb"
    _frame(_dltb_rows()[:2], 4527, shift=ZONE_PREFIX).to_file(gdb, layer="DLTB", driver="OpenFileGDB")
    towns = [
        (rect(0, 0, 1, 1), {"XZQDM": "370811001", "XZQMC": "甲街道"}),
        (rect(1, 0, 2, 1), {"XZQDM": "370811002", "XZQMC": "乙镇"}),
    ]
    _frame(towns, 4527, shift=ZONE_PREFIX).to_file(gdb, layer="XZQ", driver="OpenFileGDB")
    report = build_blueprint([gdb], tmp_path / "bp")
    county = load_blueprint(tmp_path / "bp").vector("county")
    assert county is not None and list(county.frame["code"]) == ["370811"]
    assert county.frame.area.sum() == pytest.approx(2e6)
    assert any(r.kind == "merged_codes" for r in report.layers["county"].repairs)


def test_zipped_shapefiles_and_a_user_preset(sources: dict[str, Path], tmp_path: Path) -> None:
    folder = sources["water"].parent
    archive = tmp_path / "环保局.zip"
    with zipfile.ZipFile(archive, "w") as z:
        for f in folder.iterdir():
            z.write(f, f"data/{f.name}")
    # the department's own name for its layer, taught by a user preset
    preset = tmp_path / "city.yaml"
    preset.write_text(
        "name: city\ntitle_zh: 本市\ntitle_en: city\ndate: '2024-06-30'\nlayers:\n"
        "  water_source:\n    names: [SYSBHQ]\n    fields: {level: [保护级别]}\n"
        "    values: {level: {一级保护区: 一级, 二级保护区: 二级}}\n",
        encoding="utf-8",
    )
    report = build_blueprint([archive], tmp_path / "bp", presets=[str(preset)])
    assert report.layers["water_source"].features == 2 and report.layers["water_source"].date == "2024-06-30"
    assert report.layers["water_source"].sources[0].encoding_how == "detected"
    water = load_blueprint(tmp_path / "bp").vector("water_source")
    assert water is not None and sorted(water.frame["level"]) == ["一级", "二级"]


def test_diff_of_two_versions(sources: dict[str, Path], built: Path, tmp_path: Path) -> None:
    rows = _dltb_rows()
    rows[1] = (rows[1][0], rows[1][1] | {"DLBM": "0702"})  # re-classed in place (年度变更)
    rows.append((rect(0, 2, 1, 3), rows[0][1] | {"BSM": "7", "DLBM": "0102"}))  # a new patch
    del rows[6]  # 城镇住宅用地 gone
    gdb = write_sandiao_gdb(tmp_path / "2024.gdb", dltb=rows)
    new = tmp_path / "v2"
    build_blueprint([gdb, sources["water"], sources["urban"], sources["redline"], sources["plan"]], new)
    result = runner.invoke(app, ["blueprint", "diff", str(built), str(new), "--format", "json"])
    assert result.exit_code == 0, result.output
    body = json.loads(result.stdout)
    land = next(r for r in body["layers"] if r["layer"] == "land_use")
    assert (land["added"], land["removed"], land["attributes_changed"]) == (1, 1, 1)
    assert land["added_m2"] == pytest.approx(1e6) and land["removed_m2"] == pytest.approx(3e6)
    assert land["new_area_m2"] - land["old_area_m2"] == pytest.approx(-2e6)
    water = next(r for r in body["layers"] if r["layer"] == "water_source")
    assert water["status"] == "unchanged"
    assert body["old_version"] != body["new_version"]
    table = runner.invoke(app, ["blueprint", "diff", str(built), str(new)])
    assert table.exit_code == 0 and "land_use" in table.stdout
    for area in (Area(land["old_area_m2"]), Area(land["new_area_m2"])):  # m², 公顷 and 亩, one under another
        assert all(t in table.stdout for t in (f"{area.m2_text} m²", f"{area.ha_text} 公顷", f"{area.mu_text} 亩"))


def test_diff_compares_the_slope_raster_too(tmp_path: Path) -> None:
    """`blueprint diff` listed the vector layers and left the slope raster out, unsaid: a new DEM's slope went
    live unreviewed. It is compared whole, its grid and pixels."""
    layers = {"county": STANDARD_LAYERS["county"]}
    old = rect_blueprint(tmp_path / "old", layers)
    same = rect_blueprint(tmp_path / "same", layers)
    steeper = rect_blueprint(tmp_path / "steeper", layers, slope=(1, 1, 3, 3))
    flat = rect_blueprint(tmp_path / "flat", layers, slope=None)

    def slope(new: Path) -> dict[str, Any]:
        done = runner.invoke(app, ["blueprint", "diff", str(old), str(new), "--format", "json"])
        assert done.exit_code == 0, done.output
        return next(r for r in json.loads(done.stdout)["layers"] if r["layer"] == "slope")

    assert slope(same)["status"] == "unchanged" and slope(same)["kind"] == "raster"
    assert slope(steeper)["status"] == "changed" and slope(steeper)["old_area_m2"] is None
    assert slope(flat)["status"] == "removed" and slope(flat)["new_features"] == 0
    table = runner.invoke(app, ["blueprint", "diff", str(old), str(steeper)])
    assert table.exit_code == 0 and "slope" in table.stdout and "changed" in table.stdout


def test_check_prints_the_report_and_catches_changed_files(built: Path, tmp_path: Path) -> None:
    result = runner.invoke(app, ["blueprint", "check", str(built), "--format", "json"])
    assert result.exit_code == 0, result.output
    body = json.loads(result.stdout)
    assert body["version_ok"] and body["version"] == load_blueprint(built).version
    assert body["build"]["layers"]["water_source"]["sources"][0]["encoding"] == "gb18030"
    table = runner.invoke(app, ["blueprint", "check", str(built)])
    assert table.exit_code == 0 and "unknown_code" in table.stdout and "✓" in table.stdout
    copy = tmp_path / "copy"
    copy.mkdir()
    for f in built.iterdir():
        (copy / f.name).write_bytes(f.read_bytes())
    frame = gpd.read_parquet(copy / "water_source.parquet")
    frame.iloc[:1].to_parquet(copy / "water_source.parquet")
    tampered = runner.invoke(app, ["blueprint", "check", str(copy)])
    assert tampered.exit_code == 2 and "version" in tampered.output
    assert "✓" not in tampered.stdout and "文件与版本号不符" in tampered.stdout  # the table's title says it too


def test_a_failed_build_leaves_the_old_blueprint(built: Path, tmp_path: Path) -> None:
    before = {f.name: f.read_bytes() for f in built.iterdir()}
    bad = tmp_path / "foo.shp"
    _frame([(rect(0, 0, 1, 1), {"A": "x"})], EPSG).to_file(bad)
    result = runner.invoke(app, ["blueprint", "build", str(bad), "-o", str(built)])
    assert result.exit_code == 2
    assert "foo.shp" in result.output and "no layer recognised" in result.output
    assert {f.name: f.read_bytes() for f in built.iterdir()} == before
    assert not [p for p in built.parent.iterdir() if p.name.startswith(".")]  # no staging left behind


def test_a_build_refuses_to_replace_the_folder_its_sources_lie_in(built: Path, tmp_path: Path) -> None:
    """The output folder is replaced as a whole: sources inside it would be deleted by their own build."""
    target = shutil.copytree(built, tmp_path / "blueprint")  # the module's blueprint stays as it is
    source = target / "sources" / "dltb.gpkg"
    source.parent.mkdir()
    _frame(_dltb_rows(), EPSG).to_file(source, layer="DLTB")
    before = {f.name for f in target.iterdir()}
    result = runner.invoke(app, ["blueprint", "build", str(source), "-o", str(target)])
    assert result.exit_code == 2
    assert "inside" in result.output and "dltb.gpkg" in result.output
    assert source.is_file() and {f.name for f in target.iterdir()} == before


def test_a_piped_build_report_keeps_its_sources_whole(tmp_path: Path) -> None:
    """Written to a log (a pipe, not a terminal), the build's report was 80 columns wide, its sources' paths cut
    to "build/demo/s…"; it keeps them whole, as `blueprint check` piped does."""
    source = tmp_path / "a-folder-name-long-enough-to-be-cut-at-eighty-columns" / "dltb.gpkg"
    source.parent.mkdir()
    _frame(_dltb_rows(), EPSG).to_file(source, layer="DLTB")
    result = runner.invoke(app, ["blueprint", "build", str(source), "-o", str(tmp_path / "bp")])
    assert result.exit_code == 0, result.output
    assert str(source) in result.stderr.replace("\n", "")


def _bad_sources(tmp: Path) -> dict[str, tuple[Path, list[str]]]:
    """Each bad source and the words its error must name (file, layer, field)."""
    out: dict[str, tuple[Path, list[str]]] = {}
    no_crs = tmp / "nocrs" / "YJJBNT.shp"
    no_crs.parent.mkdir()
    _frame([(rect(0, 0, 1, 1), {"A": "x"})], EPSG).to_file(no_crs)
    no_crs.with_suffix(".prj").unlink()
    out["no_crs"] = (no_crs, ["YJJBNT.shp", "--crs"])
    undefined = tmp / "undefined.gpkg"  # srs_id 0: GeoPackage's undefined geographic SRS, a CRS of no datum
    _frame([(rect(0, 0, 1, 1), {"A": "x"})], EPSG).to_crs(4490).to_file(undefined, layer="STBHHX")
    with sqlite3.connect(undefined) as db:
        db.execute("UPDATE gpkg_geometry_columns SET srs_id = 0")
    out["undefined_crs"] = (undefined, ["undefined.gpkg", "--crs"])
    latin = tmp / "latin"
    latin.mkdir()
    _frame([(rect(0, 0, 1, 1), {"BHQJB": "qqq"})], EPSG).to_file(latin / "SYSBHQ.shp")
    (latin / "SYSBHQ.cpg").unlink()
    dbf = latin / "SYSBHQ.dbf"
    dbf.write_bytes(dbf.read_bytes().replace(b"qqq", b"\xff\xfe\xff"))  # neither UTF-8 nor GBK
    out["encoding"] = (latin / "SYSBHQ.shp", ["SYSBHQ.shp", "BHQJB", "GBK"])
    gdb = tmp / "nofield.gdb"
    _frame([(rect(0, 0, 1, 1), {"DLMC": "水田"})], EPSG).to_file(gdb, layer="DLTB", driver="OpenFileGDB")
    out["field"] = (gdb, ["nofield.gdb", "DLTB", "DLBM"])
    empty = tmp / "empty.gpkg"
    _frame([(rect(0, 0, 1, 1), {"A": "x"})], EPSG).iloc[:0].to_file(empty, layer="STBHHX")
    out["empty"] = (empty, ["empty.gpkg", "STBHHX", "empty"])
    degrees = tmp / "CZKFBJ.geojson"
    _frame([(rect(0, 0, 1, 1), {"A": "x"})], EPSG).to_crs(4490).set_crs(EPSG, allow_override=True).to_file(degrees)
    out["not_fitting"] = (degrees, ["CZKFBJ.geojson", "EPSG:4548"])
    value = tmp / "value"
    write_gbk_shapefile(value, "SYSBHQ", [(rect(0, 0, 1, 1), {"BHQJB": "三级"})], EPSG)
    out["value"] = (value / "SYSBHQ.shp", ["SYSBHQ.shp", "BHQJB", "三级"])
    # a .dbf cut short: GDAL read the 一级 zones before the cut and dropped the rest without a word
    cut = tmp / "cut"
    cut.mkdir()
    rows = [(rect(i, 0, i + 0.9, 1), {"BHQJB": "一级保护区", "MC": f"水源{i}"}) for i in range(5)]
    _frame(rows, EPSG).to_file(cut / "SYSBHQ.shp", encoding="UTF-8")
    dbf = cut / "SYSBHQ.dbf"
    dbf.write_bytes(dbf.read_bytes()[:-60])
    out["dbf_cut"] = (cut / "SYSBHQ.shp", ["SYSBHQ.shp", "SYSBHQ.dbf is damaged", "bytes its header declares"])
    zipped = tmp / "水源.zip"
    with zipfile.ZipFile(zipped, "w") as zf:
        for part in cut.iterdir():
            zf.write(part, f"环保局/{part.name}")
    out["dbf_cut_zipped"] = (zipped, ["水源.zip", "环保局/SYSBHQ.dbf is damaged"])
    # an index listing one shape fewer than the records: GDAL read the shapes it lists and dropped the last zone
    unindexed = tmp / "unindexed"
    unindexed.mkdir()
    _frame(rows, EPSG).to_file(unindexed / "SYSBHQ.shp", encoding="UTF-8")
    shx = unindexed / "SYSBHQ.shx"
    shx.write_bytes(shx.read_bytes()[:-8])
    out["shx_short"] = (
        unindexed / "SYSBHQ.shp",
        ["SYSBHQ.dbf and SYSBHQ.shx disagree", "holds 5 record(s) and the index 4"],
    )
    zipped_index = tmp / "索引.zip"
    with zipfile.ZipFile(zipped_index, "w") as zf:
        for part in unindexed.iterdir():
            zf.write(part, f"环保局/{part.name}")
    out["shx_short_zipped"] = (
        zipped_index,
        ["索引.zip", "环保局/SYSBHQ.dbf and SYSBHQ.shx disagree", "the index 4 shape(s)"],
    )
    # a UTF-8 table beside a .cpg saying GBK: GDAL read 一级保护区 as other characters, with a log line alone
    mislabelled = tmp / "mislabelled"
    mislabelled.mkdir()
    _frame(rows, EPSG).to_file(mislabelled / "SYSBHQ.shp", encoding="UTF-8")
    (mislabelled / "SYSBHQ.cpg").write_text("GBK", encoding="ascii")
    out["cpg_wrong"] = (mislabelled / "SYSBHQ.shp", ["SYSBHQ.shp", "its .cpg declares 'GBK'", "not in that encoding"])
    # a .cpg of bytes naming nothing, a NUL among them: codecs.lookup raised ValueError, a traceback (probe); read
    # as the upload reader reads one (geo.io.dbf.cpg_name)
    garbled = tmp / "garbled"
    garbled.mkdir()
    _frame(rows, EPSG).to_file(garbled / "SYSBHQ.shp", encoding="UTF-8")
    (garbled / "SYSBHQ.cpg").write_bytes(b"\xff\xfe\x00bogus")
    said = ["SYSBHQ.shp", "its .cpg holds '\\xff\\xfe', which names no encoding"]
    out["cpg_garbled"] = (garbled / "SYSBHQ.shp", said)
    utf16 = tmp / "utf16"
    utf16.mkdir()
    _frame(rows, EPSG).to_file(utf16 / "SYSBHQ.shp", encoding="UTF-8")
    (utf16 / "SYSBHQ.cpg").write_text("UTF-16", encoding="ascii")
    out["cpg_utf16"] = (utf16 / "SYSBHQ.shp", ["SYSBHQ.shp", "an encoding no .dbf can be in"])
    # its header length one descriptor short: GDAL read one field of two and every record off by 32 bytes
    short = tmp / "short"
    short.mkdir()
    _frame(rows, EPSG).to_file(short / "SYSBHQ.shp", encoding="UTF-8")
    head = bytearray((short / "SYSBHQ.dbf").read_bytes())
    struct.pack_into("<H", head, 8, struct.unpack_from("<H", head, 8)[0] - 32)
    (short / "SYSBHQ.dbf").write_bytes(bytes(head))
    out["dbf_header"] = (short / "SYSBHQ.shp", ["SYSBHQ.dbf is damaged", "its header describes 2 fields, 1 of"])
    # a table spelt x.Dbf: GDAL opens .dbf and .DBF only, and read the zones without their 一级/二级
    mixed = tmp / "mixed"
    mixed.mkdir()
    _frame(rows, EPSG).to_file(mixed / "SYSBHQ.shp", encoding="UTF-8")
    (mixed / "SYSBHQ.dbf").rename(mixed / "SYSBHQ.Dbf")
    out["dbf_case"] = (mixed / "SYSBHQ.shp", ["SYSBHQ.shp", "SYSBHQ.Dbf", "only as .dbf or .DBF", "rename it"])
    mixed_zip = tmp / "大小写.zip"
    with zipfile.ZipFile(mixed_zip, "w") as zf:
        for part in mixed.iterdir():
            zf.write(part, f"环保局/{part.name}")
    out["dbf_case_zipped"] = (mixed_zip, ["大小写.zip", "环保局/SYSBHQ.Dbf", "rename it"])
    # a File Geodatabase whose DLTB table is cut short: GDAL read the 图斑 before the cut and said nothing
    base = _dltb_rows()[0][1]
    many = [(rect(i % 20 * 0.1, i // 20 * 0.1, i % 20 * 0.1 + 0.09, i // 20 * 0.1 + 0.09), base) for i in range(400)]
    cut_gdb = write_sandiao_gdb(tmp / "cut.gdb", dltb=many)  # DLTB the largest table
    table = max(cut_gdb.glob("*.gdbtable"), key=lambda f: f.stat().st_size)
    with table.open("r+b") as f:
        f.truncate(table.stat().st_size // 2)
    out["gdb_cut"] = (cut_gdb, ["cut.gdb", "features the layer declares could be read", "damaged"])
    fake = tmp / "fake.gdb"  # a folder named like a geodatabase: a traceback and exit 1
    fake.mkdir()
    (fake / "readme.txt").write_text("hi", encoding="utf-8")
    out["fake_gdb"] = (fake, ["fake.gdb", "cannot be opened as a dataset"])
    inner = tmp / "inner"  # the output inside a source folder: the next build read it as a source
    inner.mkdir()
    _frame([(rect(0, 0, 1, 1), {"A": "x"})], EPSG).to_file(inner / "STBHHX.gpkg", layer="STBHHX")
    out["out_in_source"] = (inner, ["lies inside the source folder", "build into another directory"])
    far = tmp / "far"  # a slope GeoTIFF in Web Mercator over Switzerland: copied, and no review ever had a pixel
    far.mkdir()
    with rasterio.open(
        far / "PD.tif", "w", driver="GTiff", width=10, height=10, count=1, dtype="float32", crs="EPSG:3857",
        transform=rasterio.transform.from_origin(1_000_000, 6_000_000, 10, 10),
    ) as ds:  # fmt: skip
        ds.write(np.full((10, 10), 5.0, dtype="float32"), 1)
    _frame([(rect(0, 0, 1, 1), {"A": "x"})], EPSG).to_file(far / "STBHHX.gpkg", layer="STBHHX")  # a red line beside it
    out["raster_far"] = (far, ["PD.tif", "lies outside China", "check its CRS"])
    unknown = tmp / "unknown.shp"
    _frame([(rect(0, 0, 1, 1), {"A": "x"})], EPSG).to_file(unknown)
    out["unrecognised"] = (unknown, ["unknown.shp", "'unknown'"])
    named = tmp / "STBHHX.gpkg"  # GeoParquet (no source format of a build) named .gpkg: GDAL spoke of libduckdb
    _frame([(rect(0, 0, 1, 1), {"A": "x"})], EPSG).to_parquet(named)
    said = ["STBHHX.gpkg", "holds GeoParquet", "says a GeoPackage", "export the data as one of"]
    out["content_not_name"] = (named, said)
    return out


@pytest.mark.parametrize(
    "case",
    [
        "no_crs", "undefined_crs", "encoding", "field", "empty", "not_fitting", "value", "unrecognised",
        "dbf_cut", "dbf_cut_zipped", "shx_short", "shx_short_zipped", "dbf_header", "dbf_case", "dbf_case_zipped",
        "cpg_wrong", "cpg_garbled", "cpg_utf16", "gdb_cut", "fake_gdb",
        "out_in_source", "raster_far", "content_not_name",
    ],
)  # fmt: skip
def test_bad_input_exits_2_naming_file_layer_and_field(case: str, tmp_path: Path) -> None:
    source, words = _bad_sources(tmp_path)[case]
    out = source / "out" if case == "out_in_source" else tmp_path / "out"
    result = runner.invoke(app, ["blueprint", "build", str(source), "-o", str(out)])
    assert result.exit_code == 2, result.output
    text = " ".join(result.output.split())
    for word in words:
        assert word in text, (word, text)
    assert not out.exists()


def test_library_errors_are_typed(tmp_path: Path) -> None:
    sources = _bad_sources(tmp_path)
    with pytest.raises(CRSError):
        build_blueprint([sources["no_crs"][0]], tmp_path / "a")
    with pytest.raises(InputError, match="preset"):
        build_blueprint([sources["field"][0]], tmp_path / "b", presets=["nonexistent"])


def test_z_is_dropped_and_provenance_carried(tmp_path: Path) -> None:
    folder = tmp_path / "src"
    folder.mkdir()
    (folder / "SOURCES.txt").write_text("某市自然资源局 2024年度变更调查成果\n", encoding="utf-8")
    rows = _dltb_rows()[:2]
    with_z = [(shapely.force_3d(g, 35.0), a) for g, a in rows]
    _frame(with_z, 4527, shift=ZONE_PREFIX).to_file(folder / "dltb.gdb", layer="DLTB", driver="OpenFileGDB")
    report = build_blueprint([folder], tmp_path / "bp")
    assert [r.count for r in report.layers["land_use"].repairs if r.kind == "z_dropped"] == [2]
    land = load_blueprint(tmp_path / "bp").vector("land_use")
    assert land is not None and not shapely.has_z(land.frame.geometry.values).any()
    assert "2024年度变更调查" in (tmp_path / "bp" / "SOURCES.txt").read_text(encoding="utf-8")


def test_a_hand_written_manifest_gets_a_version_that_follows_its_files(tmp_path: Path) -> None:
    root = tmp_path / "hand"
    root.mkdir()
    _frame([(rect(0, 0, 1, 1), {})], EPSG).to_file(root / "jbnt.gpkg")
    (root / "blueprint.yaml").write_text("name: 手写\nlayers:\n  basic_farmland: {path: jbnt.gpkg}\n", encoding="utf-8")
    first = load_blueprint(root).version
    assert first == load_blueprint(root).version and len(first) == len("YYYYMMDD-") + 12
    _frame([(rect(0, 0, 2, 1), {})], EPSG).to_file(root / "jbnt.gpkg")
    assert load_blueprint(root).version != first
    check = runner.invoke(app, ["blueprint", "check", str(root), "--format", "json"])
    assert check.exit_code == 0 and json.loads(check.stdout)["build"] is None


def test_flatgeobuf_store_reviews_the_same(sources: dict[str, Path], built: Path, tmp_path: Path) -> None:
    out = tmp_path / "fgb"
    result = runner.invoke(
        app,
        ["blueprint", "build", str(sources["gdb"]), str(sources["water"]), str(sources["plan"]),
         "-o", str(out), "--store", "fgb"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in out.glob("*.fgb")) == [
        "basic_farmland.fgb", "county.fgb", "land_use.fgb", "planned_use.fgb", "water_source.fgb",
    ]  # fmt: skip
    parcels = parcel_frame(rect(0.25, 0.25, 0.75, 0.75), rect(4.25, 0.25, 4.75, 0.75), project_type="industrial")
    a, b = (review(parcels, load_blueprint(d)) for d in (out, built))
    for p, q in zip(a.parcels, b.parcels, strict=True):
        for code in ("basic_farmland", "protected_areas", "cultivated_land"):
            assert (p.item(code).status, p.item(code).overlap_m2) == (q.item(code).status, q.item(code).overlap_m2)
        assert p.land_quota == q.land_quota


def test_papers_print_each_layers_date(built: Path, tmp_path: Path) -> None:
    """现势性 per layer in the report, the PDF and the 审查意见: the build's date, 未注明 where a layer's
    metadata states none, and the blueprint version; a review of another version lists no dates."""
    import io
    import re
    import shutil

    import pypdf

    from geo.opinion import opinion
    from geo.report import review_report
    from geo.report_model import data_line, layer_zh, report_model
    from geo.report_pdf import review_report_pdf

    copy = tmp_path / "bp"
    shutil.copytree(built, copy)
    meta = copy / "water_source.meta.json"
    meta.write_text(json.dumps(json.loads(meta.read_text("utf-8")) | {"date": None}), encoding="utf-8")
    bp = load_blueprint(copy)
    assert bp.dates["land_use"] == "2023-12-31" and bp.dates["water_source"] is None
    result = review(parcel_frame(rect(2.0, 1.2, 3.0, 1.8), project_type="industrial"), bp)

    data = {f.label: f.value for f in report_model(result, blueprint=bp).data}
    assert data["蓝图版本"] == bp.version
    assert data["土地利用现状（三调地类图斑）"] == "2023-12-31" and data["饮用水水源保护区"] == "未注明"
    assert len(data) == 1 + len(bp.layers)
    others = "、".join(layer_zh(lid) for lid in bp.layers if lid != "water_source")
    assert f"{others}：均为2023-12-31；饮用水水源保护区：未注明。" in review_report(result, blueprint=bp)
    pdf = pypdf.PdfReader(io.BytesIO(review_report_pdf(result, blueprint=bp)))
    text = re.sub(r"\s+", "", "".join(p.extract_text() for p in pdf.pages))
    assert "数据版本与现势性" in text and f"蓝图版本：{bp.version}" in text
    # the layers of one date named together before it once: the dated layers, then the undated one (alone here)
    assert re.sub(r"\s+", "", f"{others}：均为2023-12-31；饮用水水源保护区：未注明。") in text
    notes = "".join(opinion(result, blueprint=bp).notes)
    assert f"{others}（均为2023-12-31）；饮用水水源保护区（未注明）。" in notes
    assert "现势性" not in "".join(opinion(result).notes)  # no blueprint given: nothing claimed

    older = result.model_copy(update={"blueprint_version": "20200101-000000000000"})
    listed = data_line(report_model(older, blueprint=bp).data)
    assert "未能列出" in listed and "2023-12-31" not in listed


def test_a_province_wider_than_a_zone_is_built_and_loaded(tmp_path: Path) -> None:
    """The builder stores every layer in the one zone nearest the data's middle; 甘孜 and 达州 (97.5–108.4°E) lie
    6.6° from it. The parcels' meridian-reach check refused the blueprint it had just written (read-through): a
    layer spans a province, a parcel is measured in its own zone."""
    counties = gpd.GeoDataFrame(
        {"code": ["513300", "511700"], "name": ["甘孜", "达州"]},
        geometry=[shapely.box(97.5, 29, 102, 33), shapely.box(106.5, 30, 108.4, 32)],
        crs=4490,
    )
    counties.to_file(tmp_path / "county.gpkg", layer="county")
    build_blueprint([tmp_path / "county.gpkg"], tmp_path / "bp")
    county = load_blueprint(tmp_path / "bp").vector("county")
    assert county is not None and sorted(county.frame["code"]) == ["511700", "513300"]
    # a layer with X and Y swapped still lands beyond any zone's reach (三亚 in EPSG:4545: 13.8° off) and is refused
    x, y = reproject(np.array([shapely.Point(109.5, 18.25)]), 4490, 4545)[0].coords[0]
    swapped = shapely.transform(shapely.box(x, y, x + 20_000, y + 20_000), lambda xy: xy[:, ::-1])
    gpd.GeoDataFrame({"code": ["460200"], "name": ["三亚"]}, geometry=[swapped], crs=4545).to_file(
        tmp_path / "sanya.gpkg", layer="county"
    )
    with pytest.raises(LantuError, match="central meridian 108°E, beyond any Gauss-Krüger zone's reach"):
        build_blueprint([tmp_path / "sanya.gpkg"], tmp_path / "bp2")


def test_a_source_record_marked_deleted_is_left_out_and_reported(tmp_path: Path) -> None:
    """A shapefile's record the .dbf marks deleted (an edit not packed away) is gone in every GIS, and GDAL skips
    it: the layer is built from the others, and the build report says how many were left out."""
    rows = [(rect(i, 0, i + 0.9, 1), {"BHQJB": "一级保护区", "MC": f"水源{i}"}) for i in range(5)]
    folder = tmp_path / "src"
    folder.mkdir()
    _frame(rows, EPSG).to_file(folder / "SYSBHQ.shp", encoding="UTF-8")
    dbf = folder / "SYSBHQ.dbf"
    data = dbf.read_bytes()
    _, header, record = struct.unpack_from("<IHH", data, 4)
    dbf.write_bytes(data[: header + record] + b"*" + data[header + record + 1 :])  # the second record
    report = build_blueprint([folder], tmp_path / "bp")
    deleted = [r for r in report.layers["water_source"].repairs if r.kind == "deleted_records"]
    assert [r.count for r in deleted] == [1]
    layer = load_blueprint(tmp_path / "bp").vector("water_source")
    assert layer is not None and len(layer.frame) == 4
    kept = [rect(i, 0, i + 0.9, 1).bounds[0] for i in (0, 2, 3, 4)]  # the second zone's left out
    assert sorted(layer.frame.geometry.bounds["minx"]) == pytest.approx(kept, abs=1e-3)


@pytest.mark.parametrize(("cpg", "codec"), [("ANSI 936", "gbk"), ("936", "gbk"), ("GB2312", "gbk"), ("UTF-8", "utf-8")])
def test_a_cpg_naming_a_code_page_as_arcgis_writes_it_is_read(tmp_path: Path, cpg: str, codec: str) -> None:
    """``ANSI 936`` was refused as an unknown encoding; the builder and the uploads' reader read a .cpg alike
    (``geo.io.dbf.cpg_codec``), GB2312 as GBK, which files declaring it hold."""
    from geo.build.sources import shapefile_encoding

    shp = write_gbk_shapefile(tmp_path, "SYSBHQ", [(rect(0, 0, 1, 1), {"BHQJB": "一级保护区"})], EPSG)
    if codec == "utf-8":
        _frame([(rect(0, 0, 1, 1), {"BHQJB": "一级保护区"})], EPSG).to_file(shp, encoding="UTF-8")
    shp.with_suffix(".cpg").write_text(cpg, encoding="ascii")
    assert shapefile_encoding(shp) == (codec, ".cpg")
