"""Verdicts a planner can sign (issue 9): every rule branch on exact rectangles, areas by arithmetic.

Two blueprints: the shared rectangle blueprint (``support.STANDARD_LAYERS``, county [0,10]×[0,5] km)
for coverage end to end, and ``graded`` below, whose layers carry the attributes the graded rules
read (zones of protected areas, river kinds, water-source levels spelt as real data spell them and
mapped in the manifest, integer 三调 codes with a KCXS deduction).
"""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import geopandas as gpd
import pytest
import shapely
import yaml
from fastapi.testclient import TestClient
from support import RectLayers, assert_problem, auth, km2, parcel_frame, rect, rect_blueprint
from typer.testing import CliRunner

from api.app import create_app
from api.cli import app
from api.settings import Settings
from geo.blueprint import Blueprint, load_blueprint
from geo.crs import Area
from geo.errors import InputError
from geo.review import ParcelResult, ProjectAttributes, review

REL = 1e-4

# layer id → [(rectangle in km, attributes)]; attribute names are the files' own (mapped in the manifest)
GRADED: RectLayers = {
    "county": [((0, 0, 10, 5), {"code": "370811", "name": "任城区"})],
    "urban_boundary": [((0, 0, 4, 2), {})],
    "planned_use": [
        ((0, 0, 2, 2), {"zone": "城镇集中建设区"}),
        ((2, 0, 4, 2), {"zone": "城镇弹性发展区"}),
        ((0, 2, 4, 4), {"zone": "特别用途区"}),
        ((4, 0, 10, 5), {"zone": "一般农业区"}),
        ((0, 4, 4, 5), {"zone": "一般农业区"}),
    ],
    "nature_reserve": [((4, 0, 5, 1), {"zone": "核心保护区"}), ((5, 0, 6, 1), {"zone": "一般控制区"})],
    "water_source": [((6, 0, 7, 1), {"BHQJB": "一级保护区"}), ((7, 0, 8, 1), {"BHQJB": "二级保护区"})],
    "flood_river": [((4, 1, 5, 2), {"kind": "河湖管理范围"}), ((5, 1, 6, 2), {"kind": "蓄滞洪区"})],
    "land_use": [
        ((6, 1, 7, 2), {"DLBM": 101, "KCXS": 0.1}),  # 水田, 10 % 田坎
        ((7, 1, 8, 2), {"DLBM": 102, "KCXS": 0.2}),  # 水浇地, 20 % 田坎
        ((0, 0, 6, 1), {"DLBM": 601, "KCXS": None}),
    ],
    "approved_unsupplied": [((7, 1, 7.5, 2), {})],
    "basic_farmland": [((8, 0, 9, 1), {})],
    "heritage": [((8, 1, 9, 2), {"zone": "保护范围"}), ((9, 1, 10, 2), {"zone": "建设控制地带"})],
    "ecological_redline": [((8, 2, 9, 3), {})],
    "geohazard": [((9, 0, 10, 1), {"level": "低"})],
}
MAPPING = {
    "water_source": {"fields": {"level": "BHQJB"}, "values": {"level": {"一级保护区": "一级", "二级保护区": "二级"}}},
    "land_use": {"fields": {"class_code": "DLBM", "deduction_ratio": "KCXS"}},
}


def _with_mapping(root: Path, mapping: dict[str, dict[str, Any]]) -> Path:
    manifest = root / "blueprint.yaml"
    data = yaml.safe_load(manifest.read_text(encoding="utf-8"))
    for layer_id, spec in mapping.items():
        data["layers"][layer_id] |= spec
    manifest.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return root


@pytest.fixture(scope="module")
def graded(tmp_path_factory: pytest.TempPathFactory) -> Blueprint:
    root = rect_blueprint(tmp_path_factory.mktemp("graded") / "bp", GRADED, slope=None)
    return load_blueprint(_with_mapping(root, MAPPING))


def one(blueprint: Blueprint, geom: shapely.Geometry, **props: Any) -> ParcelResult:
    return review(parcel_frame(geom, **props), blueprint).parcels[0]


# --- vocabulary -------------------------------------------------------------------------------


@pytest.mark.parametrize(("value", "said"), [("NaN", "应为有限数值"), ("-5", "应不小于 0"), ("abc", "应为数字")])
def test_a_bad_project_attribute_is_said_in_chinese_naming_its_parcel(
    blueprint: Blueprint, value: str, said: str
) -> None:
    """``message_zh`` carried pydantic's English ("Input should be a finite number") and named no parcel: in a
    batch of 2,000 the user had to search for it (probe)."""
    frame = gpd.GeoDataFrame(
        {"id": ["P1", "P2"], "investment_wan": ["5", value]},
        geometry=[rect(1.2, 1.2, 1.3, 1.3), rect(1.4, 1.2, 1.5, 1.3)],
        crs=parcel_frame(rect(1.2, 1.2, 1.3, 1.3)).crs,
    )
    with pytest.raises(InputError) as err:
        review(frame, blueprint)
    assert err.value.message_zh.startswith("地块 P2：项目属性不合法：investment_wan=") and said in err.value.message_zh
    assert "Input should" not in err.value.message_zh and err.value.message_en.startswith("parcel P2: ")


def test_unknown_project_type_names_the_allowed_values(blueprint: Blueprint) -> None:
    with pytest.raises(InputError) as err:
        one(blueprint, rect(1.2, 1.2, 1.6, 1.6), project_type="factory")
    assert "'factory'" in err.value.message_en
    assert "water_conservancy" in err.value.message_en and "水利" in err.value.message_zh


def test_unknown_project_type_cli_exit_2_and_api_422(
    blueprint_dir: Path, tmp_path: Path, settings: Settings, keys: dict[str, str]
) -> None:
    parcels = tmp_path / "p.geojson"
    parcel_frame(rect(1.2, 1.2, 1.6, 1.6)).to_crs(4490).to_file(parcels, driver="GeoJSON")
    result = CliRunner().invoke(app, ["review", str(parcels), "-b", str(blueprint_dir), "--project-type", "factory"])
    assert result.exit_code == 2 and "transport" in result.output
    with TestClient(create_app(settings)) as client:
        body = parcels.read_text(encoding="utf-8")
        r = client.post(
            "/api/v1/reviews?project_type=factory",
            content=body,
            headers=auth(keys) | {"Content-Type": "application/json"},
        )
        assert "military" in assert_problem(r, 422)["message_en"]


def test_value_outside_the_vocabulary_is_a_load_error(tmp_path: Path) -> None:
    root = rect_blueprint(tmp_path / "bp", {"water_source": GRADED["water_source"]}, slope=None)
    _with_mapping(root, {"water_source": {"fields": {"level": "BHQJB"}}})
    with pytest.raises(OSError) as err:  # BlueprintError
        load_blueprint(root)
    text = str(err.value)
    assert "water_source" in text and "BHQJB" in text and "一级保护区" in text


def test_manifest_values_map_source_words(graded: Blueprint) -> None:
    layer = graded.vector("water_source")
    assert layer is not None and sorted(layer.frame["level"]) == ["一级", "二级"]


# --- coverage ---------------------------------------------------------------------------------


def test_partly_outside_the_county_layer_is_out_of_coverage(blueprint: Blueprint) -> None:
    # 400 m × 400 m across the county's corner (10, 5): a quarter inside
    p = one(blueprint, rect(9.8, 4.8, 10.2, 5.2), project_type="infrastructure")
    assert p.verdict == "out_of_coverage"
    assert p.covered_ratio == pytest.approx(0.25, rel=REL)
    assert all(i.status != "pass" for i in p.items)
    assert "75.0%" in p.item("basic_farmland").message_zh


def test_wholly_outside_and_inside(blueprint: Blueprint) -> None:
    far = one(blueprint, rect(20, 20, 20.2, 20.2))
    assert far.verdict == "out_of_coverage" and far.covered_ratio == 0.0 and far.county is None
    inside = one(blueprint, rect(1.2, 1.2, 1.6, 1.6), project_type="residential")
    assert inside.verdict == "pass" and inside.covered_ratio == pytest.approx(1.0)


def test_extent_layer_wins_over_county(tmp_path: Path) -> None:
    layers = {"county": [((0, 0, 10, 5), {"code": "370811", "name": "任城区"})], "extent": [((0, 0, 5, 5), {})]}
    bp = load_blueprint(rect_blueprint(tmp_path / "bp", layers, slope=None))
    p = one(bp, rect(4.5, 1, 5.5, 2))
    assert p.verdict == "out_of_coverage" and p.covered_ratio == pytest.approx(0.5, rel=REL)


def test_out_of_coverage_end_to_end_cli_and_api(
    blueprint_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, settings: Settings, keys: dict[str, str]
) -> None:
    monkeypatch.setenv("LANTU_DATABASE_URL", f"sqlite:///{tmp_path / 'ledger.db'}")
    runner = CliRunner()
    parcels = tmp_path / "out.geojson"
    edge = parcel_frame(rect(9.8, 4.8, 10.2, 5.2), id="OUT", project_type="infrastructure")  # fails nothing covered
    edge.to_crs(4490).to_file(parcels, driver="GeoJSON")
    out = tmp_path / "out.json"
    assert runner.invoke(app, ["review", str(parcels), "-b", str(blueprint_dir), "-o", str(out)]).exit_code == 0
    assert '"out_of_coverage"' in out.read_text(encoding="utf-8")
    assert runner.invoke(app, ["quota", "init", "--blueprint", str(blueprint_dir)]).exit_code == 0
    refused = runner.invoke(app, ["quota", "reserve", str(out), "--year", "2026"])
    assert refused.exit_code == 2 and "out_of_coverage" in refused.output
    with TestClient(create_app(settings)) as client:
        feature = edge.to_crs(4490).to_json(drop_id=True)
        created = client.post(
            "/api/v1/reviews", content=feature, headers=auth(keys) | {"Content-Type": "application/json"}
        )
        body = created.json()
        assert created.status_code == 201, created.text
        assert body["parcels"][0]["verdict"] == "out_of_coverage"
        r = client.post(
            "/api/v1/quotas/reserve",
            json={"review_id": body["review_id"], "year": 2026, "project_id": "XM-OUT"},
            headers=auth(keys, "project-system"),
        )
        assert "超出蓝图覆盖范围" in assert_problem(r, 409)["message_zh"]


# --- tolerance --------------------------------------------------------------------------------


def test_80_square_metres_of_basic_farmland_on_100_ha_count(blueprint: Blueprint) -> None:
    # 1 km × 1 km reaching 0.08 m into the farmland [3,4]×[0,1]: 80 m² < 0.01 % × 100 ha = 100 m²
    p = one(blueprint, rect(2.00008, 0, 3.00008, 1), project_type="industrial")
    item = p.item("basic_farmland")
    assert item.status == "fail"
    assert item.overlap_m2 == pytest.approx(80.0, rel=1e-3)
    assert p.land_quota.basic_farmland_m2 == pytest.approx(80.0, rel=1e-3)
    # the same sliver of a non-strict layer (mineral [6,7]×[1,2]) stays within the relative tolerance
    assert one(blueprint, rect(6.00008 - 1, 1, 6.00008, 2)).item("mineral_overlay").status == "pass"


def test_heritage_protection_range_strict_control_zone_relative(graded: Blueprint) -> None:
    # 1 km × 1 km parcels reaching 0.08 m north into [8,9]×[1,2] (保护范围) and [9,10]×[1,2] (建设控制地带)
    protection = one(graded, rect(8, 0.00008, 9, 1.00008)).item("cultural_heritage")
    assert protection.status == "fail" and protection.overlap_m2 == pytest.approx(80.0, rel=1e-3)
    assert one(graded, rect(9, 0.00008, 10, 1.00008)).item("cultural_heritage").status == "pass"


# --- item rules -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("project_type", "status"),
    [("industrial", "fail"), ("logistics", "fail"), ("residential", "fail"), ("energy", "warn"), ("mining", "warn")],
)
def test_outside_the_urban_boundary_by_type(graded: Blueprint, project_type: str, status: str) -> None:
    # [4.2,4.4]×[4.2,4.4] lies outside the boundary [0,4]×[0,2], in 一般农业区
    item = one(graded, rect(4.2, 4.2, 4.4, 4.4), project_type=project_type).item("planning_conformity")
    assert item.status == status
    assert item.facts.outside_m2 == pytest.approx(40_000, rel=REL)
    assert item.basis and (item.procedures if status != "pass" else True)


def test_flexible_zone_warns_and_special_use_refuses_public_service(graded: Blueprint) -> None:
    flexible = one(graded, rect(2.2, 0.2, 2.6, 0.6), project_type="industrial", investment_wan=1e6)
    item = flexible.item("planning_conformity")
    assert item.status == "warn" and "布局" in item.message_zh
    assert item.overlap_m2 == pytest.approx(160_000, rel=REL)
    # 特别用途区 [0,4]×[2,4] (outside the boundary too): public service is not admitted there
    special = one(graded, rect(1.2, 2.2, 1.4, 2.4), project_type="public_service").item("planning_conformity")
    assert special.status == "fail"
    assert "特别用途区" not in (special.facts.allowed_zones or [])


@pytest.mark.parametrize(
    ("props", "status"),
    [
        ({"project_type": "industrial", "major_project": True}, "fail"),
        ({"project_type": "infrastructure", "major_project": True}, "fail"),
        ({"project_type": "transport", "major_project": True}, "warn"),
        ({"project_type": "energy", "major_project": True}, "warn"),
        ({"project_type": "water_conservancy", "major_project": True}, "warn"),
        ({"project_type": "military", "major_project": True}, "warn"),
        ({"project_type": "transport"}, "fail"),
    ],
)
def test_basic_farmland_by_type(graded: Blueprint, props: dict[str, Any], status: str) -> None:
    item = one(graded, rect(8.2, 0.2, 8.4, 0.4), **props).item("basic_farmland")
    assert item.status == status
    assert item.overlap_m2 == pytest.approx(40_000, rel=REL)


@pytest.mark.parametrize(
    ("props", "status", "needle"),
    [
        ({"project_type": "energy", "major_project": True}, "warn", "不可避让"),
        ({"project_type": "industrial", "major_project": True}, "fail", "禁止"),
        ({"project_type": "water_conservancy", "redline_exempt": True}, "warn", "有限人为活动"),
        ({"project_type": "industrial", "redline_exempt": True}, "fail", "禁止"),
        ({"redline_exempt": True}, "fail", "禁止"),
    ],
)
def test_red_line_paths(graded: Blueprint, props: dict[str, Any], status: str, needle: str) -> None:
    item = one(graded, rect(8.2, 2.2, 8.4, 2.4), **props).item("ecological_redline")
    assert item.status == status and needle in item.message_zh


@pytest.mark.parametrize(
    ("box", "project_type", "status"),
    [
        ((4.2, 0.2, 4.4, 0.4), None, "fail"),  # 核心保护区
        ((5.2, 0.2, 5.4, 0.4), None, "fail"),  # 一般控制区: only the limited activities (tests/test_limited_activities)
        ((6.2, 0.2, 6.4, 0.4), "industrial", "fail"),  # 一级 (source 一级保护区, mapped)
        ((6.2, 0.2, 6.4, 0.4), "water_conservancy", "warn"),  # 一级, water-supply works
        ((7.2, 0.2, 7.4, 0.4), "industrial", "fail"),  # 二级, discharges pollutants
        ((7.2, 0.2, 7.4, 0.4), "transport", "warn"),  # 二级, does not
    ],
)
def test_protected_areas_graded(graded: Blueprint, box: Any, project_type: str | None, status: str) -> None:
    item = one(graded, rect(*box), project_type=project_type).item("protected_areas")
    assert item.status == status and item.overlap_m2 == pytest.approx(40_000, rel=REL)


def test_low_geohazard_zone_warns(graded: Blueprint) -> None:
    item = one(graded, rect(9.2, 0.2, 9.4, 0.4)).item("geohazard")  # no slope raster: missing_layer beside it
    assert [(d.status, d.attributes["level"]) for d in item.details] == [("warn", "低")]
    assert "危险性评估" in item.message_zh


@pytest.mark.parametrize(
    ("box", "project_type", "status"),
    [
        ((4.2, 1.2, 4.4, 1.4), "logistics", "fail"),  # building in the river management range
        ((4.2, 1.2, 4.4, 1.4), "water_conservancy", "warn"),
        ((5.2, 1.2, 5.4, 1.4), "logistics", "warn"),  # flood storage: 洪水影响评价
    ],
)
def test_flood_control_by_kind(graded: Blueprint, box: Any, project_type: str, status: str) -> None:
    item = one(graded, rect(*box), project_type=project_type).item("flood_control")
    assert item.status == status


def test_land_use_standard_exceeded_asks_for_reduction(blueprint: Blueprint) -> None:
    # 16 ha against 47 000 / 3 000 = 15.6667 ha
    item = one(blueprint, rect(1.2, 1.2, 1.6, 1.6), project_type="industrial", investment_wan=47_000).item(
        "land_use_standard"
    )
    assert item.status == "warn"
    assert "核定面积 156,666.67 m²（15.6667 公顷，235.00 亩）" in item.message_zh and "节地评价" in item.message_zh
    assert item.facts.max_area_m2 == pytest.approx(47_000 / 3_000 * 10_000, rel=REL)


def _project_review(blueprint: Blueprint, rows: list[tuple[Any, dict[str, Any]]]) -> dict[str, ParcelResult]:
    frame = gpd.GeoDataFrame([props for _, props in rows], geometry=[g for g, _ in rows], crs="EPSG:4548")
    return {p.id: p for p in review(frame, blueprint).parcels}


def test_land_use_standard_sums_a_projects_parcels(blueprint: Blueprint) -> None:
    # two 8 ha parcels of project P1; alone B (4 000 万元 → 1.3333 ha allowed) exceeds, together
    # 16 ha against (46 000 + 4 000) / 3 000 = 16.6667 ha is within the standard
    rows = [
        (rect(1.2, 1.2, 1.4, 1.6), {"id": "A", "project_id": "P1", "investment_wan": 46_000}),
        (rect(1.4, 1.2, 1.6, 1.6), {"id": "B", "project_id": "P1", "investment_wan": 4_000}),
        (rect(1.2, 1.6, 1.4, 2.0), {"id": "C", "project_id": "P2", "investment_wan": 4_000}),
    ]
    for row in rows:
        row[1]["project_type"] = "industrial"
    parcels = _project_review(blueprint, rows)
    for pid in ("A", "B"):
        item = parcels[pid].item("land_use_standard")
        assert item.status == "pass"
        assert item.facts.area_m2 == pytest.approx(160_000, rel=REL)
        assert item.facts.investment_wan == 50_000
        assert item.facts.project_parcels == ["A", "B"]
        assert "项目 P1 共 2 个地块合计" in item.message_zh
    # the only parcel of P2: its own figures, 1.3333 ha of 8 ha asked for (below half: 不予供地)
    alone = parcels["C"].item("land_use_standard")
    assert alone.status == "fail" and alone.facts.project_parcels is None
    assert alone.facts.max_area_m2 == pytest.approx(4_000 / 3_000 * 10_000, rel=REL)


def test_a_project_id_typed_full_width_is_the_librarys_id(blueprint: Blueprint) -> None:
    """项目编号 Ｐ１ (a Chinese input method) and P1 are one project: its parcels are summed under P1, the id the
    project library keeps (``lantu projects add P1``); the 地块编号 stay as the parcels' file has them."""
    assert ProjectAttributes.model_validate({"project_id": "ＸＭ－１\u3000"}).project_id == "XM-1"
    assert ProjectAttributes.model_validate({"project_id": "\u3000"}).project_id is None  # blank once normalised
    rows = [
        (rect(1.2, 1.2, 1.4, 1.6), {"id": "ＤＫ-A", "project_id": "P1", "investment_wan": 46_000}),
        (rect(1.4, 1.2, 1.6, 1.6), {"id": "B", "project_id": "Ｐ１", "investment_wan": 4_000}),
    ]
    for row in rows:
        row[1]["project_type"] = "industrial"
    parcels = _project_review(blueprint, rows)
    assert list(parcels) == ["ＤＫ-A", "B"]
    for pid in parcels:
        item = parcels[pid].item("land_use_standard")
        assert item.status == "pass" and item.facts.project_parcels == ["ＤＫ-A", "B"]
        assert "项目 P1 共 2 个地块合计" in item.message_zh


def test_a_projects_parcels_exceed_together_what_each_meets_alone(blueprint: Blueprint) -> None:
    # residential: at most 20 ha per project (sample table); two 16 ha parcels pass alone and
    # exceed together (32 ha); the integer project id 7 (as DBF columns store it) names the project
    a, b = rect(1.2, 1.2, 1.6, 1.6), rect(1.6, 1.2, 2.0, 1.6)
    alone = _project_review(blueprint, [(a, {"id": "A", "project_type": "residential"})])["A"]
    assert alone.item("land_use_standard").status == "pass"
    rows = [(g, {"id": pid, "project_id": 7, "project_type": "residential"}) for g, pid in ((a, "A"), (b, "B"))]
    item = _project_review(blueprint, rows)["B"].item("land_use_standard")
    assert item.status == "warn"
    assert item.facts.area_m2 == pytest.approx(320_000, rel=REL)
    assert (
        "项目 7 共 2 个地块合计用地 320,000.00 m²（32.0000 公顷，480.00 亩），按样例标准表，核定面积 200,000.00 m²"
        in item.message_zh
    )


# --- quota figures ----------------------------------------------------------------------------


def test_integer_codes_and_kcxs_deduction(graded: Blueprint) -> None:
    # [6.2,6.6]×[1.2,1.6]: 160 000 m² of 水田 (DLBM 101) with 10 % 田坎
    p = one(graded, rect(6.2, 1.2, 6.6, 1.6))
    item = p.item("cultivated_land")
    assert item.status == "warn"
    assert item.facts.paddy_m2 == pytest.approx(144_000, rel=REL)
    assert p.land_quota.paddy_m2 == pytest.approx(144_000, rel=REL)
    assert p.land_quota.cultivated_m2 == pytest.approx(144_000, rel=REL)
    assert p.land_quota.agricultural_m2 == pytest.approx(160_000, rel=REL)
    assert "144,000.0" in item.message_zh


def test_compensation_excludes_stock_land(graded: Blueprint) -> None:
    # [7.2,7.8]×[1.2,1.4] on 水浇地 (20 % 田坎); x 7.2…7.5 is 批而未供
    p = one(graded, rect(7.2, 1.2, 7.8, 1.4))
    q = p.land_quota
    assert q.stock_m2 == pytest.approx(km2(7.2, 1.2, 7.5, 1.4), rel=REL)
    assert q.new_construction_quota_m2 == pytest.approx(km2(7.5, 1.2, 7.8, 1.4), rel=REL)
    assert q.compensation_m2 == pytest.approx(km2(7.5, 1.2, 7.8, 1.4) * 0.8, rel=REL)
    assert q.cultivated_m2 == pytest.approx(km2(7.2, 1.2, 7.8, 1.4) * 0.8, rel=REL)
    # the item says the same: 96,000 m² taken, 48,000 of it on the 批而未供 land, 48,000 to compensate
    message = p.item("cultivated_land").message_zh
    assert message.startswith("占用耕地 96,000.00 m²")
    assert "所占耕地中 48,000.00 m²（4.8000 公顷，72.00 亩）位于批而未供或闲置土地" in message
    assert message.endswith("尚需补充耕地 48,000.00 m²（4.8000 公顷，72.00 亩）")


def test_cultivated_land_wholly_on_stock_land_asks_for_nothing(graded: Blueprint) -> None:
    """水浇地 wholly on 批而未供 land: its conversion and 占补平衡 were approved with it. The item read warn and asked
    for 落实耕地占补平衡 while saying "尚需补充耕地 0.00 m²", the parcel's only condition (officer's probe)."""
    p = one(graded, rect(7.2, 1.2, 7.5, 1.4))  # x 7.2…7.5 is 批而未供, 20 % 田坎
    item = p.item("cultivated_land")
    assert item.status == "pass" and item.procedures == [] and item.overlap_m2 == 0.0
    assert item.message_zh.startswith(
        "占用耕地 48,000.00 m²（4.8000 公顷，72.00 亩；已扣除田坎，图斑面积 60,000.00 m²，合 6.0000 公顷、90.00 亩），"
        "均为水浇地，"
    )
    assert "全部位于批而未供或闲置土地" in item.message_zh and "nothing remains to be compensated" in item.message_en
    assert sum((item.facts.by_class_m2 or {}).values()) == pytest.approx(48_000, rel=REL)
    assert p.land_quota.compensation_m2 == 0.0


def test_item_3_counts_the_edge_contact_it_does_not_name(blueprint: Blueprint) -> None:
    """A 6 m² edge of 水田 beside 9 ha of 水浇地 (tolerance 9 m²): not named and no 占水田补水田, but counted, so
    that the item's figures are the land quota's, which the ledger books (they differed by the sliver)."""
    p = one(blueprint, rect(2.99998, 0.2, 3.3, 0.5))  # x < 3 is 水田, the rest 水浇地
    item = p.item("cultivated_land")
    assert item.status == "warn"
    assert item.facts.paddy_m2 == pytest.approx(6.0, abs=0.01) and p.land_quota.paddy_m2 == item.facts.paddy_m2
    assert sum((item.facts.by_class_m2 or {}).values()) == pytest.approx(p.land_quota.cultivated_m2, abs=0.02)
    assert item.message_zh.startswith("占用耕地 90,006.00 m²") and "水田" not in item.message_zh
    assert "paddy" not in {c.code for c in item.facts.conditions or []}


def test_item_3_and_the_land_quota_agree_with_exact_geometry(graded: Blueprint) -> None:
    """Random rectangles over 水田 (10 % 田坎), 水浇地 (20 %) and 批而未供 land: item 3's figures and the land quota
    (which the ledger books) are one accounting, and both equal the rectangles' exact overlaps."""
    rng = random.Random(7)

    def overlap(a: tuple[float, float, float, float], b: tuple[float, float, float, float]) -> float:
        w, h = min(a[2], b[2]) - max(a[0], b[0]), min(a[3], b[3]) - max(a[1], b[1])
        return km2(0, 0, w, h) if w > 0 and h > 0 else 0.0

    for _ in range(8):
        x0, y0 = rng.uniform(5.8, 7.6), rng.uniform(0.8, 1.6)
        box = (x0, y0, x0 + rng.uniform(0.2, 0.6), y0 + rng.uniform(0.2, 0.6))
        paddy = overlap(box, (6, 1, 7, 2)) * 0.9
        irrigated = overlap(box, (7, 1, 8, 2)) * 0.8
        owed = paddy + overlap(box, (7.5, 1, 8, 2)) * 0.8
        p = one(graded, rect(*box))
        q, item = p.land_quota, p.item("cultivated_land")
        assert q.paddy_m2 == pytest.approx(paddy, abs=0.01) and q.paddy_compensation_m2 == q.paddy_m2
        assert q.cultivated_m2 == pytest.approx(paddy + irrigated, abs=0.01)
        assert q.compensation_m2 == pytest.approx(owed, abs=0.01)
        figures = item.facts.by_class_m2 or {} if item.facts else {}
        assert figures.get("0101", 0.0) == pytest.approx(paddy, abs=0.01)
        assert figures.get("0102", 0.0) == pytest.approx(irrigated, abs=0.01)
        if item.status == "warn" and owed < paddy + irrigated - 0.01:  # part on stock land: the item says what is owed
            assert item.message_zh.endswith(f"尚需补充耕地 {Area(q.compensation_m2 or 0.0).zh}")


# --- item 6 by mineral kind, optional layers (buried heritage, forest/grass/wetland, soil) -------

SUPPLEMENTARY: RectLayers = {
    "county": [((0, 0, 10, 5), {"code": "370811", "name": "任城区"})],
    "land_use": [((0, 0, 10, 5), {"class_code": "0601"})],
    "heritage": [((0, 4, 1, 5), {"zone": "保护范围"})],
    "mineral": [
        ((0, 0, 1, 1), {"kind": "采矿权"}),
        ((1, 0, 2, 1), {"kind": "探矿权"}),
        ((2, 0, 3, 1), {"kind": "查明重要矿产资源"}),
        ((3, 0, 4, 1), {"kind": "战略性矿产"}),
        ((4, 0, 5, 1), {"kind": "煤"}),  # a mineral name, not a category: the general wording
    ],
    "buried_heritage": [((0, 1, 1, 2), {})],
    "protected_forest": [((1, 1, 2, 2), {})],
    "basic_grassland": [((2, 1, 3, 2), {})],
    "important_wetland": [((3, 1, 4, 2), {})],
    "soil_pollution": [((4, 1, 5, 2), {"kind": "疑似污染地块"}), ((5, 1, 6, 2), {"kind": "污染地块"})],
}


@pytest.fixture(scope="module")
def supplementary(tmp_path_factory: pytest.TempPathFactory) -> Blueprint:
    return load_blueprint(rect_blueprint(tmp_path_factory.mktemp("supplementary") / "bp", SUPPLEMENTARY, slope=None))


@pytest.mark.parametrize(
    ("box", "needles", "procedure"),
    [
        ((0.2, 0.2, 0.4, 0.4), ["矿业权人", "补偿协议"], "补偿协议"),  # 采矿权
        ((1.2, 0.2, 1.4, 0.4), ["矿业权人", "补偿协议"], "补偿协议"),  # 探矿权
        ((2.2, 0.2, 2.4, 0.4), ["压覆重要矿产资源审批", "省级以上"], "压覆重要矿产资源审批"),  # 查明重要矿产资源
        ((3.2, 0.2, 3.4, 0.4), ["战略性矿产", "压覆重要矿产资源审批"], "从严论证"),
        ((4.2, 0.2, 4.4, 0.4), ["调查评估"], "调查评估"),  # 煤: no category, the general wording
    ],
)
def test_mineral_overlay_by_kind(supplementary: Blueprint, box: Any, needles: list[str], procedure: str) -> None:
    item = one(supplementary, rect(*box), project_type="industrial").item("mineral_overlay")
    assert item.status == "warn" and item.overlap_m2 == pytest.approx(40_000, rel=REL)
    assert all(n in item.message_zh for n in needles), item.message_zh
    assert any(procedure in p for p in item.procedures)
    # a mining right's compensation only where a right is overlain
    assert any("矿业权人" in p for p in item.procedures) == (procedure == "补偿协议")


def test_mineral_overlay_two_kinds_one_wording_each(supplementary: Blueprint) -> None:
    # [0.8,1.2]×[0.2,0.4]: 0.2 × 0.2 km on 采矿权 and on 探矿权 (one wording), then [1.8,2.2] 探矿权 + 查明
    both_rights = one(supplementary, rect(0.8, 0.2, 1.2, 0.4)).item("mineral_overlay")
    assert both_rights.message_zh.count("矿业权人") == 1
    assert both_rights.overlap_m2 == pytest.approx(80_000, rel=REL)
    mixed = one(supplementary, rect(1.8, 0.2, 2.2, 0.4)).item("mineral_overlay")
    assert "矿业权人" in mixed.message_zh and "查明的重要矿产资源" in mixed.message_zh
    assert sorted(d.attributes["kind"] for d in mixed.details) == ["探矿权", "查明重要矿产资源"]


def test_buried_heritage_warns_archaeology_first(supplementary: Blueprint) -> None:
    item = one(supplementary, rect(0.2, 1.2, 0.4, 1.4), project_type="industrial").item("cultural_heritage")
    assert item.status == "warn" and "考古调查、勘探" in item.message_zh
    assert item.overlap_m2 == pytest.approx(40_000, rel=REL)
    assert [d.layer for d in item.details] == ["buried_heritage"]
    assert item.facts.skipped_layers is None


@pytest.mark.parametrize(
    ("box", "props", "status", "needle"),
    [
        ((1.2, 1.2, 1.4, 1.4), {"project_type": "industrial"}, "warn", "使用林地审核"),  # 公益林/Ⅰ级保护林地
        ((2.2, 1.2, 2.4, 1.4), {"project_type": "industrial"}, "fail", "基本草原实行严格管理"),
        ((2.2, 1.2, 2.4, 1.4), {"project_type": "energy", "major_project": True}, "warn", "基本草原"),
        ((3.2, 1.2, 3.4, 1.4), {"project_type": "industrial"}, "fail", "重要湿地禁止占用"),
        # 湿地保护法第十九条 excepts national major projects whatever their type
        ((3.2, 1.2, 3.4, 1.4), {"project_type": "industrial", "major_project": True}, "warn", "不可避让"),
        ((3.2, 1.2, 3.4, 1.4), {"project_type": "water_conservancy", "major_project": True}, "warn", "不可避让"),
    ],
)
def test_forest_grass_wetland_optional_layers(
    supplementary: Blueprint, box: Any, props: dict[str, Any], status: str, needle: str
) -> None:
    item = one(supplementary, rect(*box), **props).item("forest_grass_wetland")
    assert item.status == status and needle in item.message_zh
    assert item.overlap_m2 == pytest.approx(40_000, rel=REL)
    assert item.procedures


def test_important_wetland_any_occupation_counts(supplementary: Blueprint) -> None:
    # 1 km × 1 km reaching 0.08 m east into the wetland [3,4]×[1,2]: 80 m² < 0.01 % × 100 ha = 100 m²
    # (the rest of the parcel is basic grassland [2,3]×[1,2]: a warn beside the fail)
    item = one(supplementary, rect(2.00008, 1, 3.00008, 2)).item("forest_grass_wetland")
    assert item.status == "fail"
    wetland = [d for d in item.details if d.layer == "important_wetland"]
    assert [d.status for d in wetland] == ["fail"] and wetland[0].area_m2 == pytest.approx(80.0, rel=1e-3)
    assert item.overlap_m2 == pytest.approx(1_000_000, rel=REL)


@pytest.mark.parametrize(
    ("box", "project_type", "status", "needle"),
    [
        ((4.2, 1.2, 4.4, 1.4), "residential", "warn", "土壤污染状况调查"),  # suspected: investigate first
        ((5.2, 1.2, 5.4, 1.4), "industrial", "warn", "修复目标"),  # listed: remediate before work starts
        ((5.2, 1.2, 5.4, 1.4), "residential", "fail", "不得作为住宅"),  # listed: no housing (第六十一条)
        ((5.2, 1.2, 5.4, 1.4), "public_service", "fail", "不得作为住宅、公共管理与公共服务用地"),
    ],
)
def test_soil_pollution_by_plot_and_use(
    supplementary: Blueprint, box: Any, project_type: str, status: str, needle: str
) -> None:
    item = one(supplementary, rect(*box), project_type=project_type).item("soil_pollution")
    assert item.status == status and needle in item.message_zh
    assert item.overlap_m2 == pytest.approx(40_000, rel=REL)
    assert item.supplementary and item.basis and item.procedures


def test_absent_optional_layers_are_skipped_not_missing(blueprint: Blueprint) -> None:
    # the shared rectangle blueprint has none of the optional layers; [5.2,5.4]×[3.2,3.4] touches no layer
    p = one(blueprint, rect(5.2, 3.2, 5.4, 3.4), project_type="industrial")
    heritage = p.item("cultural_heritage")
    assert heritage.status == "pass" and heritage.facts.skipped_layers == ["buried_heritage"]
    assert "未核查" in heritage.message_zh
    forest = p.item("forest_grass_wetland")
    assert forest.status == "pass"
    assert forest.facts.skipped_layers == ["protected_forest", "basic_grassland", "important_wetland"]
    # an item with no layer at all in this blueprint is left out, not passed unchecked
    assert "soil_pollution" not in [i.code for i in p.items]
    assert all(i.status != "missing_layer" for i in p.items if i.code != "geohazard")


def test_supplementary_layers_are_read_by_optional_checks_only() -> None:
    from geo.catalog import layer_catalog
    from geo.review.profile import OverlapCheck, load_profile

    catalog = layer_catalog()
    checks = [c for item in load_profile("ten-point").items for c in item.checks if isinstance(c, OverlapCheck)]
    on_supplementary = {c.layer: c.optional for c in checks if catalog[c.layer].supplementary}
    assert set(on_supplementary) == {k for k, v in catalog.items() if v.supplementary}
    assert all(on_supplementary.values())
    assert not any(c.optional for c in checks if not catalog[c.layer].supplementary)


def test_an_outcomes_area_within_rounding_of_the_total_is_the_total() -> None:
    """Two findings over one 内陆滩涂 (占用湿地, 占用重要湿地) said 21,131.57 m² each, the item's union 21,131.58 m²:
    the paper kept both parts and read 合计涉及面积 21,131.58 beside them, as if two areas were added (officer's
    read of a drawn parcel). Figures each rounded to 0.01 m² on their own differ by less than ROUNDING_M2; a part
    that is a part stays."""
    from geo.report_model import without_area

    part = "（涉及 21,131.57 m²（2.1132 公顷，31.70 亩））"
    message = f"占用湿地{part}；占用重要湿地，而国家重要湿地禁止占用{part}"
    assert without_area(message, 21_131.58) == "占用湿地；占用重要湿地，而国家重要湿地禁止占用"
    assert without_area(message, 21_131.7) == message
