"""Blueprint manifests: what loads, and the messages that name the file and field at fault."""

from __future__ import annotations

import gc
import json
import os
from datetime import UTC, datetime
from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest
import shapely
import yaml
from support import (
    EPSG,
    STEEP_BLOCK,
    Rect,
    full_layers,
    parcel_frame,
    rect,
    rect_blueprint,
    rect_frame,
    slope_raster,
)
from typer.testing import CliRunner

import geo.blueprint as blueprint_module
from geo.blueprint import CHECKED, Blueprint, layer_summary, load_blueprint
from geo.cli import app
from geo.errors import BlueprintError, CRSError
from geo.io.blueprint import write_blueprint
from geo.review import review


def _edit(root: Path, **changes: object) -> None:
    path = root / "blueprint.yaml"
    manifest = yaml.safe_load(path.read_text(encoding="utf-8"))
    for dotted, value in changes.items():
        node = manifest
        *parents, last = dotted.split("__")
        for p in parents:
            node = node[p]
        if value is None:
            del node[last]
        else:
            node[last] = value
    path.write_text(yaml.safe_dump(manifest, allow_unicode=True), encoding="utf-8")


@pytest.fixture
def small(tmp_path: Path) -> Path:
    layers = {k: v for k, v in full_layers().items() if k in ("county", "land_use", "mineral")}
    return rect_blueprint(tmp_path / "bp", layers, slope=None)


def test_loads_layers_with_indexes(blueprint: Blueprint) -> None:
    assert blueprint.name == "测试蓝图"
    assert set(blueprint.layers) == set(full_layers()) | {"slope"}
    farmland = blueprint.vector("basic_farmland")
    assert farmland is not None
    indexed = farmland.in_crs(EPSG)
    frame, tree = indexed.frame, indexed.tree
    assert len(tree.query(rect(3.2, 0.2, 3.4, 0.4), predicate="intersects")) == 1
    assert frame.crs.to_epsg() == EPSG
    assert farmland.in_crs(EPSG) is indexed  # projected once, then reused


def test_layer_summary(blueprint: Blueprint) -> None:
    rows = {r["id"]: r for r in layer_summary(blueprint)}
    assert rows["water_source"]["features"] == 3
    assert rows["slope"]["kind"] == "raster"
    minx, miny, maxx, maxy = rows["county"]["bbox"]
    assert 116 < minx < maxx < 117.5 and 35 < miny < maxy < 36


def test_field_mapping(tmp_path: Path) -> None:
    layers = {"mineral": [((0, 0, 1, 1), {"KZ": "煤"})]}
    root = rect_blueprint(tmp_path / "bp", layers, slope=None)
    _edit(root, layers__mineral__fields={"kind": "KZ"})
    bp = load_blueprint(root)
    layer = bp.vector("mineral")
    # the optional attributes the file lacks (矿业权人, 矿种) read as null
    assert layer is not None and list(layer.frame.columns) == ["kind", "holder", "mineral", "geometry"]


def test_pinned_zone_keeps_layers_in_that_crs(tmp_path: Path) -> None:
    root = rect_blueprint(
        tmp_path / "bp", {"basic_farmland": [((0, 0, 1, 1), {})]}, slope=None, extra={"gk_zone_epsg": EPSG}
    )
    bp = load_blueprint(root)
    layer = bp.vector("basic_farmland")
    assert layer is not None and layer.frame.crs.to_epsg() == EPSG
    assert layer.frame.geometry.iloc[0].equals(rect(0, 0, 1, 1))


def _pin_zone(root: Path, written: str) -> None:
    """The manifest's ``gk_zone_epsg`` line as a person types it (YAML, unquoted unless ``written`` quotes)."""
    manifest = root / "blueprint.yaml"
    text = manifest.read_text(encoding="utf-8")
    assert "gk_zone_epsg: null\n" in text
    manifest.write_text(text.replace("gk_zone_epsg: null\n", f"gk_zone_epsg: {written}\n"), encoding="utf-8")


@pytest.mark.parametrize("written", ["EPSG:4548", "'4548'", "epsg:4548", "' EPSG:4548 '", "4548"])
def test_pinned_zone_as_a_person_writes_it(small: Path, written: str) -> None:
    """``gk_zone_epsg`` written as the manifest's ``crs`` is (``EPSG:4548``) or quoted is the same zone."""
    _pin_zone(small, written)
    bp = load_blueprint(small)
    assert bp.gk_zone_epsg == EPSG
    layer = bp.vector("county")
    assert layer is not None and layer.frame.crs.to_epsg() == EPSG


@pytest.mark.parametrize(
    ("written", "en", "zh"),
    [
        ("EPSG:abc", "'EPSG:abc' is not an EPSG code", "'EPSG:abc' 不是 EPSG 代码"),
        ("WGS84", "'WGS84' is not an EPSG code", "'WGS84' 不是 EPSG 代码"),
        ("EPSG:4326", "EPSG:4326 is not a projected CRS", "EPSG:4326 不是投影坐标系"),
        ("'4490'", "EPSG:4490 is not a projected CRS", "EPSG:4490 不是投影坐标系"),
        ("EPSG:999999", "EPSG:999999 is not a known CRS", "EPSG:999999 不是已知的坐标系"),
        ("EPSG:4548.0", "'EPSG:4548.0' is not an EPSG code", "'EPSG:4548.0' 不是 EPSG 代码"),
        ("true", "true is not an EPSG code", "true 不是 EPSG 代码"),  # not read as EPSG:1
        ("'４５４８'", "'４５４８' is not an EPSG code", "'４５４８' 不是 EPSG 代码"),  # full-width digits
        ("'٤٥٤٨'", "'٤٥٤٨' is not an EPSG code", "'٤٥٤٨' 不是 EPSG 代码"),  # Arabic-Indic digits
        (
            "EPSG:3857",
            "EPSG:3857 is not a Gauss-Krüger zone (Popular Visualisation Pseudo Mercator): areas in it are wrong",
            "EPSG:3857 不是高斯-克吕格投影带（Popular Visualisation Pseudo Mercator），在其中量算的面积不准确",
        ),
        (
            "32650",  # UTM zone 50N
            "EPSG:32650 is not a Gauss-Krüger zone (Transverse Mercator with scale factor 0.9996): "
            "areas in it are wrong",
            "EPSG:32650 不是高斯-克吕格投影带（横轴墨卡托投影，比例因子 0.9996），在其中量算的面积不准确",
        ),
        (
            "31466",  # DHDN / 3-degree Gauss-Kruger zone 2: Germany's
            "EPSG:31466 is not a Gauss-Krüger zone (Transverse Mercator on Deutsches Hauptdreiecksnetz, "
            "not CGCS2000, Xian 1980 or Beijing 1954): areas in it are wrong",
            "EPSG:31466 不是高斯-克吕格投影带（Deutsches Hauptdreiecksnetz 上的横轴墨卡托投影，"
            "不是 CGCS2000、西安80 或北京54 坐标系），在其中量算的面积不准确",
        ),
        (
            "5972",  # ETRS89 / UTM zone 32N + NN2000 height
            "EPSG:5972 is not a Gauss-Krüger zone (Compound CRS): areas in it are wrong",
            "EPSG:5972 不是高斯-克吕格投影带（Compound CRS），在其中量算的面积不准确",
        ),
    ],
)
def test_pinned_zone_that_is_none_is_refused_in_both_languages(small: Path, written: str, en: str, zh: str) -> None:
    _pin_zone(small, written)
    with pytest.raises(BlueprintError) as info:
        load_blueprint(small)
    assert "blueprint.yaml" in info.value.message_en and f"gk_zone_epsg: {en}" in info.value.message_en
    assert "Value error" not in info.value.message_en  # pydantic's prefix to a validator's own message
    assert f"gk_zone_epsg：{zh}" in info.value.message_zh


@pytest.mark.parametrize(
    ("layer_ids", "slope", "written", "en", "zh"),
    [
        (
            ("county", "mineral"),
            None,
            "4528",  # CGCS2000 3° zone 40, with the zone number in front of the easting
            "the data (layer county) lie at 116.7°E, 3.3° from EPSG:4528's central meridian 120°E: "
            "pin the zone the data lie in, e.g. EPSG:4548",
            "数据（图层 county）位于东经 116.7°，距 EPSG:4528 的中央经线（东经 120°）3.3°："
            "请指定数据所在的投影带，如 EPSG:4548",
        ),
        (
            ("mineral", "land_use"),
            None,
            "EPSG:2385",  # Xian 1980 / 3-degree Gauss-Kruger CM 120E
            "the data (all layers) lie at 116.7°E, 3.3° from EPSG:2385's central meridian 120°E",
            "数据（全部图层）位于东经 116.7°，距 EPSG:2385 的中央经线（东经 120°）3.3°",
        ),
        (
            (),
            STEEP_BLOCK,  # a slope raster alone
            "4554",  # CGCS2000 3° CM 135E
            "the data (all layers) lie at 116.7°E, 18.3° from EPSG:4554's central meridian 135°E",
            "数据（全部图层）位于东经 116.7°，距 EPSG:4554 的中央经线（东经 135°）18.3°",
        ),
    ],
)
def test_pinned_zone_far_from_the_data_is_refused_in_both_languages(
    tmp_path: Path, layer_ids: tuple[str, ...], slope: Rect | None, written: str, en: str, zh: str
) -> None:
    """Every area is measured in the pinned zone: one whose central meridian lies beyond a zone's half width
    from the data measures them too large (EPSG:4528 for data at 116.6°E: +0.23 %)."""
    layers = {k: v for k, v in full_layers().items() if k in layer_ids}
    root = rect_blueprint(tmp_path / "bp", layers, slope=slope)
    _pin_zone(root, written)
    with pytest.raises(BlueprintError) as info:
        load_blueprint(root)
    assert f"blueprint.yaml: gk_zone_epsg: {en}" in info.value.message_en
    assert f"blueprint.yaml：gk_zone_epsg：{zh}" in info.value.message_zh


@pytest.mark.parametrize(
    "written",
    [
        "EPSG:4548",  # CGCS2000 3° CM 117E
        "4509",  # CGCS2000 6° CM 117E
        "2345",  # Xian 1980 6° CM 117E
        "2436",  # Beijing 1954 3° CM 117E
        "4547",  # CGCS2000 3° CM 114E: 2.7° off, inside a 6° zone's reach
    ],
)
def test_pinned_gauss_kruger_zone_the_data_lie_in_loads(small: Path, written: str) -> None:
    _pin_zone(small, written)
    assert load_blueprint(small).gk_zone_epsg == int(written.removeprefix("EPSG:"))


def test_pinned_zone_measures_areas_exactly(small: Path) -> None:
    """A 100 m square of EPSG:4548 reviewed under the pinned EPSG:4548 is 10,000 m² (EPSG:3857 made it 15,084)."""
    _pin_zone(small, "EPSG:4548")
    result = review(parcel_frame(rect(1.2, 1.2, 1.3, 1.3), id="A"), load_blueprint(small))
    assert result.parcels[0].area_m2 == pytest.approx(10_000.0, abs=0.01)
    assert result.area_crs == "EPSG:4548"


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"layers__mineral__fields": {"kind": "KZ"}}, "field 'KZ' (for 'kind') not in mineral.gpkg"),
        ({"layers__mineral__fields": {"kind": "kind", "colour": "YS"}}, "['colour'] not used"),
        ({"layers__mineral__path": "nowhere.gpkg"}, "file 'nowhere.gpkg' does not exist"),
        ({"layers__mineral__path": "../outside.gpkg"}, "outside the blueprint directory"),
        ({"layers__roads": {"path": "county.gpkg"}}, "unknown layer id(s) ['roads']"),
        ({"crs": "EPSG:999999"}, "unknown CRS"),
        ({"gk_zone_epsg": 4490}, "not a projected CRS"),
        ({"name": None}, "name: Field required"),
        ({"layers__mineral__layer": "nope"}, "cannot read mineral.gpkg layer 'nope'"),
    ],
)
def test_validation_errors_name_file_and_field(small: Path, change: dict[str, object], message: str) -> None:
    _edit(small, **change)
    with pytest.raises(BlueprintError) as info:
        load_blueprint(small)
    assert message in str(info.value)
    assert "blueprint.yaml" in str(info.value)


def test_missing_manifest(tmp_path: Path) -> None:
    with pytest.raises(BlueprintError, match=r"no blueprint\.yaml"):
        load_blueprint(tmp_path)


def test_unknown_land_use_code(tmp_path: Path) -> None:
    root = rect_blueprint(tmp_path / "bp", {"land_use": [((0, 0, 1, 1), {"class_code": "9999"})]}, slope=None)
    with pytest.raises(BlueprintError, match=r"9999"):
        load_blueprint(root)


def test_line_layer_refused(tmp_path: Path) -> None:
    root = rect_blueprint(tmp_path / "bp", {}, slope=None)
    gpd.GeoDataFrame(geometry=[shapely.LineString([(464000, 3918000), (465000, 3919000)])], crs=EPSG).to_file(
        root / "river.gpkg"
    )
    _edit(root, layers__flood_river={"path": "river.gpkg"})
    with pytest.raises(BlueprintError, match="must hold polygons"):
        load_blueprint(root)


@pytest.mark.filterwarnings("ignore:'crs' was not provided")  # the file is written without one on purpose
def test_layer_without_crs_takes_manifest_crs(tmp_path: Path) -> None:
    root = rect_blueprint(tmp_path / "bp", {}, slope=None)
    gpd.GeoDataFrame(geometry=[rect(0, 0, 1, 1)]).to_file(root / "farm.geojson", driver="GeoJSON")
    _edit(root, layers__basic_farmland={"path": "farm.geojson"}, crs=f"EPSG:{EPSG}")
    layer = load_blueprint(root).vector("basic_farmland")
    assert layer is not None
    assert layer.in_crs(EPSG).frame.area.iloc[0] == pytest.approx(1e6, rel=1e-9)


def test_layer_with_impossible_coordinates_refused(tmp_path: Path) -> None:
    root = rect_blueprint(tmp_path / "bp", {}, slope=None)
    # metres written under a geographic CRS
    gpd.GeoDataFrame(geometry=[rect(0, 0, 1, 1)], crs=4490).to_file(root / "farm.gpkg")
    _edit(root, layers__basic_farmland={"path": "farm.gpkg"})
    with pytest.raises(BlueprintError, match=r"farm\.gpkg.*not degrees"):
        load_blueprint(root)


# --- the one blueprint writer (geo.io.blueprint), shared by the demo and these fixtures --------------------


def test_writer_manifest_fields_raster_and_round_trip(tmp_path: Path) -> None:
    mineral = rect_frame([((0, 0, 1, 1), {"kind": "煤"})])
    root = write_blueprint(
        tmp_path / "bp",
        {"mineral": mineral},
        name="写出的蓝图",
        fields={"mineral": {"kind": "KZ"}},
        rasters={"slope": slope_raster(STEEP_BLOCK)},
        gk_zone_epsg=EPSG,
        to_crs=4490,
        comment="first line\nsecond line",
    )
    text = (root / "blueprint.yaml").read_text(encoding="utf-8")
    assert text.startswith("# first line\n# second line\n")
    written = yaml.safe_load(text)
    version = written.pop("version")
    assert written.pop("built") == version[:4] + "-" + version[4:6] + "-" + version[6:8]  # YYYYMMDD-<hash>
    assert written == {
        "name": "写出的蓝图",
        "crs": "EPSG:4490",
        "gk_zone_epsg": EPSG,
        "layers": {
            "mineral": {"path": "mineral.gpkg", "layer": "mineral", "fields": {"kind": "KZ"}},
            "slope": {"path": "slope.tif"},
        },
    }
    on_disk = gpd.read_file(root / "mineral.gpkg", layer="mineral")
    assert list(on_disk.columns) == ["KZ", "geometry"] and on_disk.crs.to_epsg() == 4490
    assert list(mineral.columns) == ["kind", "geometry"] and mineral.crs.to_epsg() == EPSG  # input untouched
    bp = load_blueprint(root)
    assert bp.version == version
    layer = bp.vector("mineral")
    assert layer is not None and list(layer.frame.columns) == ["kind", "holder", "mineral", "geometry"]
    assert layer.in_crs(EPSG).frame.area.iloc[0] == pytest.approx(1e6, rel=1e-6)
    assert set(bp.layers) == {"mineral", "slope"}


def test_writer_with_a_timestamp_gives_the_same_bytes(tmp_path: Path) -> None:
    layers = {k: rect_frame(v) for k, v in full_layers().items() if k in ("county", "water_source")}
    when = datetime(2026, 1, 1, tzinfo=UTC)
    a = write_blueprint(tmp_path / "a", layers, name="同", rasters={"slope": slope_raster(STEEP_BLOCK)}, timestamp=when)
    b = write_blueprint(tmp_path / "b", layers, name="同", rasters={"slope": slope_raster(STEEP_BLOCK)}, timestamp=when)
    names = sorted(p.name for p in a.iterdir())
    assert names == ["blueprint.yaml", "county.gpkg", "slope.tif", "water_source.gpkg"]
    assert all((a / n).read_bytes() == (b / n).read_bytes() for n in names)


@pytest.mark.filterwarnings("ignore:'crs' was not provided")
def test_writer_refuses_what_it_would_have_to_guess(tmp_path: Path) -> None:
    farm = rect_frame([((0, 0, 1, 1), {})])
    with pytest.raises(CRSError, match="has no CRS"):
        write_blueprint(tmp_path / "bp", {"basic_farmland": gpd.GeoDataFrame(geometry=[rect(0, 0, 1, 1)])}, name="x")
    with pytest.raises(BlueprintError, match=r"fields \['kind'\] of layer 'basic_farmland'"):
        write_blueprint(tmp_path / "bp", {"basic_farmland": farm}, name="x", fields={"basic_farmland": {"kind": "KZ"}})
    with pytest.raises(BlueprintError, match="absent layer"):
        write_blueprint(tmp_path / "bp", {"basic_farmland": farm}, name="x", fields={"mineral": {"kind": "KZ"}})
    with pytest.raises(BlueprintError, match="as vector and raster"):
        write_blueprint(tmp_path / "bp", {"slope": farm}, name="x", rasters={"slope": slope_raster(STEEP_BLOCK)})
    assert not (tmp_path / "bp").exists()  # refused before anything was written


def test_city_blueprint_is_kept_out_of_the_collectors_walks(
    blueprint_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A blueprint of a city's size is frozen at load: the cyclic collector no longer walks its
    geometries (each full collection walked them all); a smaller one is left to the collector."""
    assert gc.get_freeze_count() == 0
    small = load_blueprint(blueprint_dir)
    assert gc.get_freeze_count() == 0
    geometry = small.vector("basic_farmland").frame.geometry.iloc[0]
    assert gc.is_tracked(geometry) and any(o is geometry for o in gc.get_objects())
    monkeypatch.setattr(blueprint_module, "CITY_FEATURES", 1)
    try:
        city = load_blueprint(blueprint_dir)
        geometry = city.vector("basic_farmland").frame.geometry.iloc[0]
        assert gc.get_freeze_count() > 0
        assert not any(o is geometry for o in gc.get_objects())
        # frozen is not kept: a blueprint holds no reference cycle, so a replaced one is freed all the same
        features = sum(len(layer.frame) for layer in city.layers.values() if hasattr(layer, "frame"))
        frozen = gc.get_freeze_count()
        del city, geometry
        assert gc.get_freeze_count() <= frozen - features
    finally:
        gc.unfreeze()


def test_a_layer_gdal_cannot_read_gives_its_reason_in_chinese_too(small: Path) -> None:
    """The Chinese message said only 无法读取 mineral.gpkg, with no reason: the English one had GDAL's (the input
    probe's left list). Both carry it now (GDAL speaks English)."""
    _edit(small, layers__mineral__layer="nope")
    with pytest.raises(BlueprintError) as info:
        load_blueprint(small)
    reason = str(info.value.__cause__)
    assert reason and reason in info.value.message_en and reason in info.value.message_zh


# --- a check of a layer's polygons, recorded, and trusted while its file is unchanged ----------------------


def _bowtie() -> shapely.Polygon:
    """The 1 km square's corners in a crossing order: its shoelace area is 0; repaired, two triangles of 0.25 km²."""
    (a, b, c, d, _) = rect(0, 0, 1, 1).exterior.coords
    return shapely.Polygon([a, c, b, d])


def _farmland(root: Path, geometry: shapely.Polygon) -> Path:
    """The blueprint's basic farmland, one polygon in ``farm.gpkg``."""
    path = root / "farm.gpkg"
    gpd.GeoDataFrame(geometry=[geometry], crs=EPSG).to_file(path)
    _edit(root, layers__basic_farmland={"path": "farm.gpkg"})
    return path


def _validity_tests(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """How many polygons each of the loader's validity tests was given, from now on."""
    given: list[int] = []
    real = shapely.is_valid

    def counted(geoms: object) -> object:
        given.append(len(geoms))  # type: ignore[arg-type]
        return real(geoms)

    monkeypatch.setattr(shapely, "is_valid", counted)
    return given


def _farmland_area(bp: Blueprint) -> float:
    layer = bp.vector("basic_farmland")
    assert layer is not None
    return float(layer.frame.area.sum())


def test_a_recorded_check_is_trusted_while_the_file_is_unchanged(small: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _farmland(small, rect(0, 0, 1, 1))
    load_blueprint(small, record=True)
    recorded = {p.name for p in small.glob("*.meta.json")}
    assert recorded == {f"{layer}.meta.json" for layer in ("county", "land_use", "mineral", "basic_farmland")}
    assert json.loads((small / "basic_farmland.meta.json").read_text(encoding="utf-8"))[CHECKED]["path"] == "farm.gpkg"
    given = _validity_tests(monkeypatch)
    assert _farmland_area(load_blueprint(small)) == pytest.approx(1e6, rel=1e-12)
    assert given == []  # no layer's polygons tested again
    load_blueprint(small, recheck=True)
    assert len(given) == 4 and all(given)  # each vector layer's polygons, every one


def test_a_file_changed_after_its_check_is_checked_again(small: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    farm = _farmland(small, rect(0, 0, 1, 1))
    load_blueprint(small, record=True)
    checked = farm.stat().st_mtime_ns
    _farmland(small, _bowtie())
    os.utime(farm, ns=(checked + 10**9, checked + 10**9))  # an edit a second later (a clock's tick may be coarser)
    assert _farmland_area(load_blueprint(small)) == pytest.approx(0.5e6, rel=1e-12)  # repaired, not the bowtie's 0
    given = _validity_tests(monkeypatch)
    _farmland(small, rect(0, 0, 1, 1))
    os.utime(farm, ns=(checked, checked + 10**9))  # the first content back, a new time: tested again
    load_blueprint(small)
    assert given == [1]


def test_a_file_replaced_keeping_size_and_time_is_trusted_and_recheck_sees_it(small: Path) -> None:
    """The record's limit (as make's and rsync's): a file rewritten with the same size and time is taken for the
    checked one. ``recheck`` (``lantu blueprint check``) tests every polygon whatever is recorded."""
    farm = _farmland(small, rect(0, 0, 1, 1))
    load_blueprint(small, record=True)
    size, checked = farm.stat().st_size, farm.stat().st_mtime_ns
    _farmland(small, _bowtie())
    os.utime(farm, ns=(checked, checked))
    assert farm.stat().st_size == size
    assert _farmland_area(load_blueprint(small)) == pytest.approx(0.0, abs=1e-6)
    assert _farmland_area(load_blueprint(small, recheck=True)) == pytest.approx(0.5e6, rel=1e-12)


def test_a_layer_with_invalid_polygons_is_not_recorded(small: Path) -> None:
    _farmland(small, _bowtie())
    (small / "basic_farmland.meta.json").write_text('{"date": "2023-12-31"}', encoding="utf-8")
    (small / "land_use.meta.json").write_text('{"date": "2024-06-30"}', encoding="utf-8")
    bp = load_blueprint(small, record=True)
    assert _farmland_area(bp) == pytest.approx(0.5e6, rel=1e-12)
    farm = json.loads((small / "basic_farmland.meta.json").read_text(encoding="utf-8"))
    assert farm == {"date": "2023-12-31"}  # repaired at every load, until its file is mended
    land_use = json.loads((small / "land_use.meta.json").read_text(encoding="utf-8"))
    assert land_use["date"] == "2024-06-30" and land_use[CHECKED]["bytes"] == (small / "land_use.gpkg").stat().st_size
    assert load_blueprint(small).dates["land_use"] == "2024-06-30"


def test_a_layer_metadata_file_that_is_no_mapping_is_refused(small: Path) -> None:
    (small / "mineral.meta.json").write_text("[1, 2]", encoding="utf-8")
    with pytest.raises(BlueprintError, match=r"mineral\.meta\.json: not a layer metadata file"):
        load_blueprint(small)


def test_check_records_only_when_asked(small: Path) -> None:
    runner = CliRunner()
    plain = runner.invoke(app, ["blueprint", "check", str(small)])
    assert plain.exit_code == 0, plain.output
    assert list(small.glob("*.meta.json")) == []
    recorded = runner.invoke(app, ["blueprint", "check", str(small), "--record"])
    assert recorded.exit_code == 0, recorded.output
    assert len(list(small.glob("*.meta.json"))) == 3


# --- a lon/lat box sought in the layer's own CRS ---------------------------------------------------------------


def test_features_meeting_a_lonlat_box_are_those_the_reprojected_layer_finds(blueprint_dir: Path) -> None:
    """``meeting`` asks the layer's own index with the box's image (its edges followed every 0.001°) instead of
    reprojecting a city's layer whole: on random boxes, and on boxes whose edge runs a millimetre inside or outside
    a feature's edge, it finds exactly the features the layer reprojected to EPSG:4490 meets."""
    bp = load_blueprint(blueprint_dir)
    layer = bp.vector("land_use")
    assert layer is not None
    reprojected = layer.frame.to_crs(4490)
    tree = shapely.STRtree(reprojected.geometry.values)
    rng = np.random.default_rng(7)
    x1, y1, x2, y2 = reprojected.total_bounds
    boxes = []
    for _ in range(200):
        lon, lat = np.sort(rng.uniform(x1, x2, 2)), np.sort(rng.uniform(y1, y2, 2))
        boxes.append((lon[0], lat[0], lon[1], lat[1]))
    edge = reprojected.geometry.values[7].bounds[2]  # a feature's east edge: boxes starting just east or west of it
    for nudge in (-1e-8, 1e-8):  # about a millimetre
        boxes.append((edge + nudge, y1, x2, y2))
    for box in boxes:
        expected = np.sort(tree.query(shapely.box(*box), predicate="intersects"))
        assert np.array_equal(layer.meeting(box), expected), box
    assert {4490} & layer.zones == set()  # never reprojected whole


def test_a_layers_lonlat_bounds_come_without_reprojecting_it(blueprint_dir: Path) -> None:
    bp = load_blueprint(blueprint_dir)
    for layer_id in ("land_use", "county", "water_source"):
        layer = bp.vector(layer_id)
        assert layer is not None
        exact = layer.frame.to_crs(4490).total_bounds  # the test's layers are rectangles: their corners are exact
        assert layer.bounds_4490 == pytest.approx(exact, abs=1e-9)
        assert 4490 not in layer.zones
    rows = {r["id"]: r for r in layer_summary(bp)}
    assert rows["water_source"]["bbox"] == [round(float(v), 6) for v in bp.vector("water_source").bounds_4490]  # type: ignore[union-attr]
