"""The ten-point review on rectangles whose overlaps are known by arithmetic.

Layer geometry: see support.STANDARD_LAYERS (coordinates in km).
"""

from __future__ import annotations

import io
import re
from importlib.resources import files
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pytest
import shapely
from support import EPSG, X0, Y0, full_layers, km2, parcel_frame, rect, rect_blueprint, star

from geo.blueprint import Blueprint, VectorLayer, load_blueprint
from geo.errors import GeometryError, InputError, ProfileError, TooLargeError
from geo.review import ParcelResult, review, review_cost
from geo.review.engine import (
    CROSSINGS_FROM,
    CROSSINGS_PER_PAIR,
    _crossings,
    _edge_crowding,
    _ring_nesting,
    layers_needed,
    overlay_cost,
)
from geo.review.profile import load_profile

REL = 1e-4  # 0.01 %


def one(blueprint: Blueprint, geom: shapely.Geometry, *, crs: Any = EPSG, **props: Any) -> ParcelResult:
    return review(parcel_frame(geom, crs=crs, **props), blueprint).parcels[0]


def test_clean_parcel_passes_every_item(blueprint: Blueprint) -> None:
    # inside the urban boundary on 0701 residential land, 400 m × 400 m = 16 ha ≤ 20 ha standard
    p = one(blueprint, rect(1.2, 1.2, 1.6, 1.6), project_type="residential")
    assert {i.code: i.status for i in p.items} == {i.code: "pass" for i in p.items}
    assert p.verdict == "pass"
    assert p.area_m2 == pytest.approx(km2(1.2, 1.2, 1.6, 1.6), rel=REL)
    assert p.area_mu == pytest.approx(160_000 / (10000 / 15), rel=REL)
    assert p.area_ha == pytest.approx(16.0, rel=REL)
    assert p.crs_used == "EPSG:4548"
    assert p.county is not None and (p.county.code, p.county.name) == ("370811", "任城区")
    assert len(p.items) == 13  # soil_pollution has no layer in this blueprint: left out
    assert [i.code for i in p.items if i.supplementary] == ["flood_control", "illegal_use", "idle_land"]


def test_basic_farmland_fail_and_major_project_warn(blueprint: Blueprint) -> None:
    # half in basic farmland [3,4]×[0,1]: x 2.9…3.1 → 100 m × 200 m inside
    geom = rect(2.9, 0.1, 3.1, 0.3)
    p = one(blueprint, geom)
    item = p.item("basic_farmland")
    assert item.status == "fail"
    assert item.overlap_m2 == pytest.approx(km2(3.0, 0.1, 3.1, 0.3), rel=REL)
    assert item.overlap_ratio == pytest.approx(0.5, rel=REL)
    assert p.verdict == "reject"
    warned = one(blueprint, geom, major_project=True, project_type="transport").item("basic_farmland")
    assert warned.status == "warn"
    assert "补划" in warned.message_zh and "国务院" in warned.message_zh
    assert any("第三十五条" in b for b in warned.basis) and warned.procedures
    # a major industrial park is not a type that may occupy permanent basic farmland
    industrial = one(blueprint, geom, major_project=True, project_type="industrial").item("basic_farmland")
    assert industrial.status == "fail"


def test_cultivated_land_with_paddy_apart(blueprint: Blueprint) -> None:
    # 0101 paddy on x 2…3, 0102 irrigated on x 3…4: both cultivated
    p = one(blueprint, rect(2.9, 0.1, 3.1, 0.3))
    item = p.item("cultivated_land")
    assert item.status == "warn"
    assert item.overlap_m2 == pytest.approx(km2(2.9, 0.1, 3.1, 0.3), rel=REL)
    facts = item.facts
    assert facts.paddy_m2 == pytest.approx(km2(2.9, 0.1, 3.0, 0.3), rel=REL)
    assert facts.by_class_m2["0102"] == pytest.approx(km2(3.0, 0.1, 3.1, 0.3), rel=REL)
    q = p.land_quota
    assert q.cultivated_m2 == pytest.approx(40_000, rel=REL)
    assert q.paddy_m2 == pytest.approx(20_000, rel=REL)
    assert q.compensation_m2 == pytest.approx(40_000, rel=REL)
    assert q.new_construction_quota_m2 == pytest.approx(40_000, rel=REL)


def test_no_cultivated_land_passes(blueprint: Blueprint) -> None:
    assert one(blueprint, rect(6.2, 4.2, 6.4, 4.4)).item("cultivated_land").status == "pass"


def test_redline_fail_exempt_warn_and_edge_touch(blueprint: Blueprint) -> None:
    inside = rect(4.2, 4.2, 4.4, 4.4)
    assert one(blueprint, inside).item("ecological_redline").status == "fail"
    exempt = one(blueprint, inside, redline_exempt=True, project_type="infrastructure").item("ecological_redline")
    assert exempt.status == "warn" and "省级人民政府" in exempt.message_zh
    touching = one(blueprint, rect(4.5, 3.6, 4.9, 4.0)).item("ecological_redline")
    assert touching.status == "pass" and touching.overlap_m2 == 0.0


def test_sliver_within_tolerance_does_not_count(blueprint: Blueprint) -> None:
    # 400 m × 0.01 m = 4 m² over the mineral field [6,7]×[1,2]; tolerance = max(1, 0.01 % × 160 004) ≈ 16 m²
    sliver = one(blueprint, rect(6.5, 0.6, 6.9, 1.00001))
    assert sliver.tolerance_m2 == pytest.approx(16.0004, rel=1e-3)
    assert sliver.item("mineral_overlay").status == "pass"
    # 400 m × 0.5 m = 200 m² is above it
    assert one(blueprint, rect(6.5, 0.6, 6.9, 1.0005)).item("mineral_overlay").status == "warn"


def test_red_line_counts_every_overlap_above_one_square_metre(blueprint: Blueprint) -> None:
    # the same 4 m² sliver over the red line [4,5]×[4,5] counts: any occupation matters there
    sliver = one(blueprint, rect(4.5, 3.6, 4.9, 4.00001)).item("ecological_redline")
    assert sliver.status == "fail"
    assert sliver.overlap_m2 == pytest.approx(4.0, rel=1e-3)
    # 400 m × 0.002 m = 0.8 m² is within the 1 m² minimum
    assert one(blueprint, rect(4.5, 3.6, 4.9, 4.000002)).item("ecological_redline").status == "pass"


@pytest.mark.parametrize(
    ("box", "status"),
    [
        ((6.2, 0.2, 6.4, 0.4), "fail"),  # nature reserve
        ((7.2, 0.2, 7.4, 0.4), "fail"),  # water source 一级
        ((8.2, 0.2, 8.4, 0.4), "warn"),  # 二级
        ((9.2, 0.2, 9.4, 0.4), "warn"),  # 准保护区
        ((5.2, 3.2, 5.4, 3.4), "pass"),
    ],
)
def test_protected_areas(blueprint: Blueprint, box: tuple[float, ...], status: str) -> None:
    item = one(blueprint, rect(*box)).item("protected_areas")
    assert item.status == status
    assert item.overlap_m2 == pytest.approx(0.0 if status == "pass" else 40_000, rel=REL)


def test_a_water_project_in_a_level_1_source_zone_is_verified_not_assumed(blueprint: Blueprint) -> None:
    """水污染防治法第六十五条 admits in 一级 only projects serving water supply or source protection; a 水利
    project may be a sluice: it warns to verify, and did not say it was a water-supply project."""
    item = one(blueprint, rect(7.2, 0.2, 7.4, 0.4), project_type="water_conservancy").item("protected_areas")
    assert item.status == "warn" and "需核实本项目属此类" in item.message_zh, item.message_zh
    assert "属与供水设施有关" not in item.message_zh
    assert item.procedures[0].startswith("核实项目与供水设施或保护水源有关"), item.procedures


@pytest.mark.parametrize(("box", "status"), [((6.5, 1.5, 7.5, 1.7), "warn"), ((5.2, 3.2, 5.4, 3.4), "pass")])
def test_mineral_overlay(blueprint: Blueprint, box: tuple[float, ...], status: str) -> None:
    item = one(blueprint, rect(*box)).item("mineral_overlay")
    assert item.status == status
    if status == "warn":
        assert item.overlap_m2 == pytest.approx(km2(6.5, 1.5, 7.0, 1.7), rel=REL)


@pytest.mark.parametrize(
    ("box", "status", "steep_share"),
    [
        ((7.2, 1.2, 7.4, 1.4), "warn", 0.0),  # 高 易发区
        ((8.2, 1.2, 8.4, 1.4), "warn", 0.0),  # 低 易发区: still prone, needs the assessment
        ((6.2, 3.2, 6.4, 3.4), "warn", 1.0),  # all steeper than 25°
        ((6.9, 3.2, 7.1, 3.4), "warn", 0.5),  # half steep, above the 15 % limit
        ((6.98, 3.2, 7.1, 3.4), "warn", 20 / 120),  # 16.7 % > 15 %
        ((6.99, 3.2, 7.09, 3.4), "pass", 0.10),
    ],  # 10 % ≤ 15 %
)
def test_geohazard(blueprint: Blueprint, box: tuple[float, ...], status: str, steep_share: float) -> None:
    item = one(blueprint, rect(*box)).item("geohazard")
    facts = item.facts
    assert facts.share_above == pytest.approx(steep_share, abs=1e-3)
    assert item.status == status


@pytest.mark.parametrize(
    ("box", "status"),
    [((6.2, 2.2, 6.4, 2.4), "fail"), ((7.2, 2.2, 7.4, 2.4), "warn"), ((5.2, 3.2, 5.4, 3.4), "pass")],
)
def test_cultural_heritage(blueprint: Blueprint, box: tuple[float, ...], status: str) -> None:
    assert one(blueprint, rect(*box)).item("cultural_heritage").status == status


@pytest.mark.parametrize(
    ("box", "status", "overlap"),
    [
        ((4.2, 0.2, 4.4, 0.4), "warn", 40_000),  # 0301 forest
        ((4.2, 1.2, 4.4, 1.4), "warn", 40_000),  # 0404 grassland
        ((5.2, 0.2, 5.4, 0.4), "warn", 40_000),  # 1106 inland tidal flat (wetland)
        ((4.9, 0.2, 5.1, 0.4), "warn", 40_000),  # half forest, half wetland
        ((5.2, 3.2, 5.4, 3.4), "pass", 0.0),
    ],
)
def test_forest_grass_wetland(blueprint: Blueprint, box: tuple[float, ...], status: str, overlap: float) -> None:
    item = one(blueprint, rect(*box)).item("forest_grass_wetland")
    assert item.status == status
    assert item.overlap_m2 == pytest.approx(overlap, rel=REL, abs=1e-6)


def test_item_7_counts_steep_land_beyond_a_hazard_zone(tmp_path: Path) -> None:
    """Both findings warn: a 高易发区 on part of the parcel, slope above 25° on all of it. The item's area was
    the 易发区's alone (160,000 m²); it is at least the steep land's, here the whole parcel."""
    layers = {
        "county": [((0, 0, 2, 1), {"code": "370811", "name": "任城区"})],
        "geohazard": [((0, 0, 1, 1), {"level": "高"})],
    }
    hazard = load_blueprint(rect_blueprint(tmp_path / "bp", layers, slope=(0, 0, 2, 1)))
    item = one(hazard, rect(0.6, 0.2, 1.4, 0.6)).item("geohazard")
    assert item.status == "warn" and "地质灾害危险性评估" in item.message_zh
    assert item.facts.share_above == pytest.approx(1.0)
    assert item.overlap_m2 == pytest.approx(km2(0.6, 0.2, 1.4, 0.6), rel=REL)


def test_planning_conformity(blueprint: Blueprint) -> None:
    # half outside the urban boundary [0,2]², all inside 城镇集中建设区 [0,3]²
    partly = one(blueprint, rect(1.5, 0.5, 2.5, 1.5), project_type="industrial", investment_wan=1e6)
    item = partly.item("planning_conformity")
    assert item.status == "fail"  # no urban construction outside the boundary
    assert item.overlap_m2 == pytest.approx(km2(2.0, 0.5, 2.5, 1.5), rel=REL)
    single_site = one(blueprint, rect(1.5, 0.5, 2.5, 1.5), project_type="energy").item("planning_conformity")
    assert single_site.status == "warn"
    # in 农田保护区, incompatible with industry
    far = one(blueprint, rect(5.2, 3.2, 5.4, 3.4), project_type="industrial").item("planning_conformity")
    assert far.status == "fail"
    # infrastructure is admitted there, but it is still outside the urban boundary
    infra = one(blueprint, rect(5.2, 3.2, 5.4, 3.4), project_type="infrastructure").item("planning_conformity")
    assert infra.status == "warn"


@pytest.mark.parametrize(
    ("props", "status"),
    [
        ({"project_type": "industrial", "investment_wan": 48_000}, "pass"),  # 16 ha ≤ 48000/3000
        ({"project_type": "industrial", "investment_wan": 47_000}, "warn"),  # 16 ha > 15.67 ha: 核减或节地评价
        ({"project_type": "industrial"}, "warn"),  # no investment given
        ({"project_type": "public_service"}, "warn"),  # 16 ha > 10 ha
        ({"project_type": "transport"}, "warn"),  # no standard → 节地评价
        ({}, "warn"),
    ],
)
def test_land_use_standard(blueprint: Blueprint, props: dict[str, Any], status: str) -> None:
    item = one(blueprint, rect(1.2, 1.2, 1.6, 1.6), **props).item("land_use_standard")
    assert item.status == status


def test_item_10_s_area_is_the_area_beyond_the_standard(blueprint: Blueprint) -> None:
    """A finding over its standard states 超出 …: the item's overlap_m2 says the same area (it was 0.00, and a
    paper's 涉及面积 read 0.00 m² beside it: officer's read); within the standard, none. A project's parcels
    weighed together: at most each parcel's own area."""
    over = one(blueprint, rect(1.2, 1.2, 1.6, 1.6), project_type="public_service").item("land_use_standard")
    assert over.status == "warn" and "超出 60,000.00 m²" in over.message_zh  # 16 ha against 10 ha
    assert (over.overlap_m2, over.overlap_ratio) == (60_000.0, 0.375)
    within = one(blueprint, rect(1.2, 1.2, 1.6, 1.6), project_type="industrial", investment_wan=48_000)
    assert within.item("land_use_standard").overlap_m2 == 0.0
    frame = parcel_frame(rect(1.2, 1.2, 1.6, 1.6), rect(2.2, 1.2, 2.25, 1.25), project_type="public_service")
    frame["id"], frame["project_id"] = ["A", "B"], "XM-1"  # 16.25 ha against 10 ha: the project's 6.25 ha over
    small = review(frame, blueprint).parcels[1].item("land_use_standard")
    assert small.overlap_m2 == 2_500.0 and small.overlap_ratio == 1.0


def test_item_10_says_when_the_type_was_not_given(blueprint: Blueprint) -> None:
    """Without a type there is no table row to read, which is not the same as a type without a standard."""
    untyped = one(blueprint, rect(1.2, 1.2, 1.6, 1.6)).item("land_use_standard")
    assert untyped.message_zh.startswith("未提供项目类型") and "no project type was given" in untyped.message_en
    unrated = one(blueprint, rect(1.2, 1.2, 1.6, 1.6), project_type="mining").item("land_use_standard")
    assert unrated.message_zh == "该项目类型无控制标准，需节地评价"


@pytest.mark.parametrize(
    ("box", "code", "props", "phrase"),
    [
        (
            (3.2, 0.2, 3.4, 0.4),
            "basic_farmland",
            {"project_type": "transport", "major_project": True},
            "需踏勘论证并补划",
        ),
        ((6.2, 1.2, 6.4, 1.4), "mineral_overlay", {"project_type": "industrial"}, "需压覆矿产资源调查评估"),
        ((7.2, 1.2, 7.4, 1.4), "geohazard", {"project_type": "industrial"}, "需地质灾害危险性评估"),
        ((1.2, 1.2, 1.6, 1.6), "land_use_standard", {"project_type": "mining"}, "需节地评价"),
        ((4.2, 0.2, 4.4, 0.4), "forest_grass_wetland", {"project_type": "industrial"}, "需办理使用林地/草原审核"),
        ((4.2, 1.2, 4.4, 1.4), "forest_grass_wetland", {"project_type": "industrial"}, "需办理使用林地/草原审核"),
    ],
)
def test_the_contracts_warnings_are_worded_as_it_quotes_them(
    blueprint: Blueprint, box: tuple[float, float, float, float], code: str, props: dict[str, Any], phrase: str
) -> None:
    """The shared contract's ten-item table quotes these warnings; the profile's longer words had them as
    需开展…, 需踏勘论证、报国务院批准并补划 (contract check)."""
    item = one(blueprint, rect(*box), **props).item(code)
    assert item.status == "warn" and phrase in item.message_zh, item.message_zh


def test_item_9_names_each_step_once(blueprint: Blueprint) -> None:
    """林地 and 草地 share one step, said once after the findings; 湿地 alone is not sent to 林草审核."""
    both = one(blueprint, rect(4.2, 0.9, 4.4, 1.3)).item("forest_grass_wetland")  # 0301 below y=1, 0404 above
    assert both.message_zh.count("需办理使用林地/草原审核") == 1, both.message_zh
    assert both.message_zh.index("占用草地") < both.message_zh.index("需办理"), both.message_zh
    wet = one(blueprint, rect(5.2, 0.2, 5.4, 0.4)).item("forest_grass_wetland")
    assert wet.message_zh.endswith("，湿地应当避让，无法避让的应当尽量减少占用"), wet.message_zh
    assert "林地/草原审核" not in wet.message_zh
    assert wet.message_en.endswith("; the wetland is to be avoided, or its occupation kept as small as possible")


def test_the_review_warns_of_parcels_graded_without_a_project_type(blueprint: Blueprint) -> None:
    """A parcel of no type is graded as a general construction project (a DXF keeps no attribute: a road on
    farmland read 不通过 and nothing said why); the review says which parcels were, in both languages."""
    frame = parcel_frame(rect(1.2, 1.2, 1.6, 1.6), rect(2.2, 1.2, 2.6, 1.6), rect(3.2, 1.2, 3.6, 1.6))
    frame["id"], frame["project_type"] = ["A", "B", "C"], ["industrial", None, ""]
    (said,) = review(frame, blueprint).warnings
    assert said.startswith("2 parcel(s) without a project type (B, C): graded as a general construction project")
    assert "2 个地块未提供项目类型（B, C），按一般建设项目审查" in said
    assert review(frame.iloc[:1], blueprint).warnings == []


def test_the_review_warns_of_parcels_that_overlap_one_another(blueprint: Blueprint) -> None:
    """Five copies of one parcel were each reviewed and counted in full, the batch asking five times its land's
    quota, without a word (probe): the review names the pairs that overlap and by how much; parcels that only
    share an edge, or overlap by the tolerance's minimum or less, do not."""
    frame = parcel_frame(
        rect(1.2, 1.2, 1.6, 1.6), rect(1.4, 1.2, 1.8, 1.6), rect(1.8, 1.2, 2.0, 1.6), rect(3.2, 1.2, 3.6, 1.6),
        rect(3.5995, 1.3, 3.8, 1.301),  # 0.5 m × 1 m into D: within the 1 m² minimum
        project_type="industrial",
    )  # fmt: skip
    frame["id"] = ["A", "B", "C", "D", "E"]
    (said,) = review(frame, blueprint).warnings
    assert said.startswith("1 pair(s) of parcels overlap one another (A / B (80,000.00 m²)): each parcel is"), said
    assert "1 对地块相互重叠（A / B (80,000.00 m²)）" in said
    assert review(frame.iloc[1:], blueprint).warnings == []  # B and C share an edge


def test_overlapping_parcels_are_found_among_many_that_tile_an_area() -> None:
    """Past a first block of pairs the search measures only pairs with a parcel that does not fit beside the others
    (GEOS's coverage check): a tiling of 3,000 parcels has none; a copy of one, and a parcel inside another (the
    coverage check flags the inner one alone), are found there all the same."""
    from geo.review.engine import OVERLAP_PAIRS_AT_A_TIME, _overlapping_parcels, _sharing_boxes

    rng = np.random.default_rng(7)
    seeds = shapely.multipoints(shapely.points(rng.uniform(0, 20_000, 3_000), rng.uniform(0, 20_000, 3_000)))
    tiles = shapely.get_parts(shapely.voronoi_polygons(seeds, extend_to=shapely.box(0, 0, 20_000, 20_000)))
    tiles = shapely.intersection(tiles, shapely.box(0, 0, 20_000, 20_000))
    ids = [f"T{k}" for k in range(len(tiles))]
    zones = np.full(len(tiles), EPSG)
    candidates = sum(len(a) for a, _ in _sharing_boxes(tiles, np.arange(len(tiles)), 1.0))
    assert candidates > 2 * OVERLAP_PAIRS_AT_A_TIME  # the second path
    assert _overlapping_parcels(ids, tiles, zones, 1.0) == []
    inner = shapely.buffer(shapely.centroid(tiles[-1]), 5.0)  # 78.5 m² inside the last tile
    more = np.array([*tiles, tiles[-2], inner], dtype=object)
    (said,) = _overlapping_parcels([*ids, "COPY", "INNER"], more, np.full(len(more), EPSG), 1.0)
    assert said.startswith("2 pair(s) of parcels overlap one another (") and "对地块相互重叠" in said
    last, second = ids[-1], ids[-2]
    assert f"{second} / COPY (" in said and f"{last} / INNER (78." in said
    stacked = np.array([tiles[0]] * 2_000, dtype=object)  # 2,000 copies: their boxes are not listed 2,000² at once
    (said,) = _overlapping_parcels([f"C{k}" for k in range(2_000)], stacked, np.full(2_000, EPSG), 1.0)
    assert re.match(r"\d{4,} or more pair\(s\) of parcels overlap one another \(C0 / C\d+ \(", said), said


def test_a_blank_attribute_is_no_value(blueprint: Blueprint) -> None:
    """An empty cell (GeoJSON ``""``, blank text) is an attribute not given, as for the service's defaults:
    not a refused input, and not a value."""
    blank = one(blueprint, rect(1.2, 1.2, 1.6, 1.6), project_type="industrial", investment_wan="  ", name="")
    assert blank.item("land_use_standard").facts.investment_wan is None  # as if not given: 需开展节地评价
    assert "未提供投资额" in blank.item("land_use_standard").message_zh and blank.name is None


@pytest.mark.parametrize(
    ("box", "code", "status"),
    [
        ((8.2, 2.2, 8.4, 2.4), "flood_control", "warn"),
        ((9.2, 2.2, 9.4, 2.4), "illegal_use", "fail"),
        ((5.2, 3.2, 5.4, 3.4), "flood_control", "pass"),
        ((5.2, 3.2, 5.4, 3.4), "illegal_use", "pass"),
    ],
)
def test_supplementary_items(blueprint: Blueprint, box: tuple[float, ...], code: str, status: str) -> None:
    assert one(blueprint, rect(*box)).item(code).status == status


def test_parcel_with_hole(blueprint: Blueprint) -> None:
    outer = rect(3.2, 0.2, 3.8, 0.8)
    hole = rect(3.4, 0.4, 3.6, 0.6)
    p = one(blueprint, shapely.Polygon(outer.exterior.coords, [hole.exterior.coords]))
    assert p.area_m2 == pytest.approx(360_000 - 40_000, rel=REL)
    assert p.item("basic_farmland").overlap_m2 == pytest.approx(320_000, rel=REL)
    assert p.item("basic_farmland").overlap_ratio == pytest.approx(1.0, rel=REL)


def test_multipolygon_parcel(blueprint: Blueprint) -> None:
    geom = shapely.MultiPolygon([rect(3.2, 0.2, 3.4, 0.4), rect(4.2, 4.2, 4.4, 4.4)])
    p = one(blueprint, geom)
    assert p.area_m2 == pytest.approx(80_000, rel=REL)
    assert p.item("basic_farmland").overlap_m2 == pytest.approx(40_000, rel=REL)
    assert p.item("ecological_redline").overlap_m2 == pytest.approx(40_000, rel=REL)
    assert p.item("basic_farmland").overlap_ratio == pytest.approx(0.5, rel=REL)


def test_parcel_given_in_degrees_matches_metres(blueprint: Blueprint) -> None:
    geom = rect(2.9, 0.1, 3.1, 0.3)
    in_degrees = gpd.GeoSeries([geom], crs=EPSG).to_crs(4490).iloc[0]
    p = one(blueprint, in_degrees, crs=4490)
    assert p.crs_used == "EPSG:4548"
    assert p.area_m2 == pytest.approx(40_000, rel=REL)
    assert p.item("basic_farmland").overlap_m2 == pytest.approx(20_000, rel=REL)


def test_parcel_across_zone_boundary_uses_centroid_zone(blueprint: Blueprint) -> None:
    # In zone 4549 (CM 120°E), easting 360–380 km spans 118.5°E; the centroid (370 km) is east of it.
    geom = shapely.box(360_000, 3_918_000, 380_000, 3_919_000)
    p = one(blueprint, geom, crs=4549)
    assert p.crs_used == "EPSG:4549"
    assert p.area_m2 == pytest.approx(20_000 * 1_000, rel=REL)
    # the same box moved so its centroid is west of 118.5°E is measured in 4548
    west = one(blueprint, shapely.box(345_000, 3_918_000, 365_000, 3_919_000), crs=4549)
    assert west.crs_used == "EPSG:4548"
    assert west.area_m2 == pytest.approx(20_000 * 1_000, rel=2e-3)  # GK scale distortion at 140 km


def test_missing_layer_is_never_pass(tmp_path: Path) -> None:
    layers = full_layers()
    del layers["mineral"], layers["heritage"]
    bp = load_blueprint(rect_blueprint(tmp_path / "bp", layers, slope=None))
    p = review(parcel_frame(rect(1.2, 1.2, 1.6, 1.6), project_type="residential"), bp).parcels[0]
    assert p.item("mineral_overlay").status == "missing_layer"
    assert p.item("cultural_heritage").status == "missing_layer"
    assert p.item("geohazard").status == "missing_layer"  # the slope raster is gone
    assert p.verdict == "conditional"
    assert "缺少图层" in p.item("mineral_overlay").message_zh


def test_stock_land_reduces_new_quota(blueprint: Blueprint) -> None:
    # [0.5,1.5]×[0,1]: approved_unsupplied on x<1, idle on x 1…1.5 (y<0.5); all 0701 construction
    p = one(blueprint, rect(0.5, 0.0, 1.5, 1.0))
    q = p.land_quota
    assert q.stock_m2 == pytest.approx(km2(0.5, 0, 1, 1) + km2(1, 0, 1.5, 0.5), rel=REL)
    assert q.stock_ratio == pytest.approx(0.75, rel=REL)
    assert q.construction_m2 == pytest.approx(1e6, rel=REL)
    assert q.new_construction_quota_m2 == 0.0
    # on paddy (agricultural) next to no stock: the whole parcel needs new quota
    paddy = one(blueprint, rect(2.2, 0.2, 2.4, 0.4)).land_quota
    assert paddy.agricultural_m2 == pytest.approx(40_000, rel=REL)
    assert paddy.new_construction_quota_m2 == pytest.approx(40_000, rel=REL)


def test_idle_land_is_disposed_of_before_another_project_uses_it(blueprint: Blueprint) -> None:
    """闲置土地 was supplied (出让, 划拨): its holder keeps the right until the land is disposed of, so a parcel on it
    passed every item while no other project could be granted it (officer's read). Item 14 warns, with the area
    on it, and asks for the disposal (《闲置土地处置办法》); the 批而未供 beside it is stock land without a holder."""
    p = one(blueprint, rect(0.5, 0.0, 1.5, 1.0), project_type="residential")  # idle on x 1…1.5, y < 0.5
    idle = p.item("idle_land")
    assert idle.status == "warn" and idle.supplementary and p.verdict == "conditional"
    assert idle.overlap_m2 == pytest.approx(km2(1, 0, 1.5, 0.5), rel=REL)
    assert idle.message_zh == (
        "涉及闲置土地，其国有建设用地使用权已出让或划拨，须依法处置；另行供应的，收回后按规定重新供应"
        "（涉及 250,000.00 m²，合 25.0000 公顷、375.00 亩）"
    )
    assert idle.procedures == [
        "依照《闲置土地处置办法》先行处置闲置土地：由原土地使用权人开发的按处置方案办理，"
        "另行供应的依法收回国有建设用地使用权后重新供应"
    ]
    assert any(b.startswith("《闲置土地处置办法》（国土资源部令第53号）") for b in idle.basis)
    assert any("（济政办字〔2020〕52号）三（一）1" in b and "三（一）8" in b for b in idle.basis)
    on_unsupplied = one(blueprint, rect(0.2, 0.6, 0.4, 0.8), project_type="residential").item("idle_land")
    assert on_unsupplied.status == "pass" and on_unsupplied.message_zh == "未涉及闲置土地"


def test_idle_land_is_named_by_its_register_id(tmp_path: Path) -> None:
    """The 标识码 of each feature found, with its area where there are several: what the 闲置土地台账 looks up."""
    layers = {
        "county": [((0, 0, 2, 2), {"code": "370811", "name": "任城区"})],
        "idle_land": [((0, 0, 1, 1), {"feature_id": "XZTD001"}), ((1, 0, 2, 1), {"feature_id": "XZTD002"})],
    }
    found = load_blueprint(rect_blueprint(tmp_path / "bp", layers, slope=None))
    both = one(found, rect(0.8, 0.2, 1.1, 0.4)).item("idle_land")
    assert both.message_zh.startswith(
        "涉及闲置土地（标识码 XZTD001、XZTD002）（XZTD001 40,000.00 m²，合 4.0000 公顷、60.00 亩；"
        "XZTD002 20,000.00 m²，合 2.0000 公顷、30.00 亩），其国有建设用地使用权已出让或划拨"
    )
    assert "on idle land (id XZTD001, XZTD002)" in both.message_en
    # a blueprint without the layer leaves the supplementary item out rather than asking for the layer
    bare = load_blueprint(rect_blueprint(tmp_path / "bare", {"county": layers["county"]}, slope=None))
    assert "idle_land" not in {i.code for i in one(bare, rect(0.8, 0.2, 1.1, 0.4)).items}


def test_unused_land_needs_new_quota(blueprint: Blueprint) -> None:
    q = one(blueprint, rect(4.2, 1.2, 4.4, 1.4)).land_quota  # 0404 其他草地 = 未利用地
    assert q.unused_m2 == pytest.approx(40_000, rel=REL)
    assert q.new_construction_quota_m2 == pytest.approx(40_000, rel=REL)
    assert q.compensation_m2 == 0.0


def test_bad_inputs_raise_project_errors(blueprint: Blueprint) -> None:
    with pytest.raises(GeometryError, match="polygon"):
        review(parcel_frame(shapely.Point(464_500, 3_918_500)), blueprint)
    with pytest.raises(GeometryError, match="empty"):
        review(parcel_frame(shapely.Polygon()), blueprint)
    with pytest.raises(InputError, match="duplicate"):
        review(parcel_frame(rect(1, 1, 1.1, 1.1), rect(1, 1, 1.2, 1.2), id="A"), blueprint)
    with pytest.raises(InputError, match="no parcels"):
        review(parcel_frame(), blueprint)


def test_bowtie_refused_but_area_keeping_repair_accepted(blueprint: Blueprint) -> None:
    a = rect(1.2, 1.2, 1.6, 1.6)
    x1, y1, x2, y2 = a.bounds
    bowtie = shapely.Polygon([(x1, y1), (x2, y2), (x2, y1), (x1, y2), (x1, y1)])
    with pytest.raises(GeometryError, match="Self-intersection"):
        review(parcel_frame(bowtie), blueprint)
    # a ring that touches itself at one vertex (two squares sharing a corner) repairs with its area
    xm, ym = (x1 + x2) / 2, (y1 + y2) / 2
    pinched = shapely.Polygon(
        [(x1, y1), (xm, y1), (xm, ym), (x2, ym), (x2, y2), (xm, y2), (xm, ym), (x1, ym), (x1, y1)]
    )
    assert not pinched.is_valid
    p = one(blueprint, pinched)
    assert p.repaired is True
    assert p.area_m2 == pytest.approx(a.area / 2, rel=REL)


def test_results_drawn_chunk_by_chunk_equal_the_whole_and_write_as_it_would(
    blueprint: Blueprint, monkeypatch: pytest.MonkeyPatch
) -> None:
    from geo.io import write_result_json
    from geo.review import engine, reviewing

    frame = parcel_frame(rect(1.2, 1.2, 1.6, 1.6), rect(2.9, 0.1, 3.1, 0.3), rect(0.2, 0.2, 0.4, 0.3))
    whole = review(frame, blueprint, pieces=False)
    monkeypatch.setattr(engine, "PIPELINE_CHUNK_MIN", 1)  # a chunk per parcel
    batch = reviewing(frame, blueprint, pieces=False)
    assert batch.count == 3 and batch.header.parcels == []
    chunks = list(batch.chunks)
    assert [len(c) for c in chunks] == [1, 1, 1]  # each handed over as soon as it is graded
    assert [p for c in chunks for p in c] == whole.parcels
    written = io.StringIO()
    assert write_result_json(whole, chunks, written) == 3  # the header's own parcels are not written
    assert written.getvalue() == whole.model_dump_json(indent=2)  # byte for byte what the model writes
    empty = io.StringIO()
    write_result_json(whole.model_copy(update={"parcels": []}), [], empty)
    assert empty.getvalue() == whole.model_copy(update={"parcels": []}).model_dump_json(indent=2)


def test_a_pipelined_batch_stopped_halfway_by_its_caller(blueprint: Blueprint, monkeypatch: pytest.MonkeyPatch) -> None:
    # the caller holds a chunk with the process's settings its own (the collector on, the default switch
    # interval); one that stops there (a failed write) stops the review and leaves no thread behind
    import gc
    import sys
    import threading

    from geo.review import engine, reviewing

    frame = parcel_frame(*(rect(1.2 + k / 20, 1.2, 1.24 + k / 20, 1.24) for k in range(4)))
    whole = review(frame, blueprint, pieces=False, workers=1)
    monkeypatch.setattr(engine, "PIPELINE_CHUNK_MIN", 1)  # a chunk per parcel
    threads, interval = threading.active_count(), sys.getswitchinterval()
    chunks = reviewing(frame, blueprint, pieces=False, workers=2).chunks
    assert next(chunks) == whole.parcels[:1]
    assert sys.getswitchinterval() == interval and gc.isenabled()  # short switches and the pause are not the caller's
    assert threading.active_count() == threads + 1  # the overlay thread, its pool held for the next chunk
    chunks.close()
    assert threading.active_count() == threads and gc.isenabled() and sys.getswitchinterval() == interval
    drawn = list(reviewing(frame, blueprint, pieces=False, workers=2).chunks)
    assert [p for c in drawn for p in c] == whole.parcels  # the pipeline's results are the one thread's


def test_chunks_graded_out_of_order_come_out_in_input_order(
    blueprint: Blueprint, monkeypatch: pytest.MonkeyPatch
) -> None:
    # parcels of two GK zones interleaved in the input: the engine grades zone by zone
    from geo.review import engine, reviewing

    frame = parcel_frame(*(rect(1.2 + k / 10, 1.2, 1.25 + k / 10, 1.25) for k in range(4)))
    real = engine._in_process

    def zone_by_zone(batch: Any, tasks: Any, workers: Any) -> Any:
        (epsg, chunk), *_ = tasks
        for part in (chunk[[1, 3]], chunk[[0]], chunk[[2]]):  # as the second zone's chunk would come first
            yield from real(batch, [(epsg, part)], workers)

    monkeypatch.setattr(engine, "_in_process", zone_by_zone)
    drawn = [[p.id for p in c] for c in reviewing(frame, blueprint, pieces=False).chunks]
    assert drawn == [["1", "2"], ["3", "4"]]  # 2 waits for 1, 4 for 3


def test_overlay_cost_counts_features_met_near_and_crowded_edges(blueprint: Blueprint) -> None:
    # near (boxes meet): county 任城区, planned 城镇集中建设区, urban boundary, 批而未供 (0,0,1,1), 闲置 (1,0,2,0.5) and
    # four land-use cells; the outline meets all nine (a line inside the county meets it). The square's own cost:
    # 5 vertices and a crowding of 15 (each of its 3 pairs of edges spans its box, × 5 coordinates), paid once
    # and for each feature met: 9 × 100 + (9 + 1) × 20
    parcel = np.array([rect(0.4, 0.4, 1.4, 1.4)])
    layers = layers_needed(load_profile("ten-point"), blueprint)
    assert overlay_cost(parcel, np.array([EPSG]), blueprint, layers).tolist() == [1100]
    # the bound, every near feature taken as met, where the batch stays under exact_above: the same here
    assert overlay_cost(parcel, np.array([EPSG]), blueprint, layers, exact_above=10_000).tolist() == [1100]
    # part by part: two such squares far apart in one parcel cost what they cost apart, not each other's features
    apart = np.array([rect(0.4, 0.4, 1.4, 1.4), rect(6.1, 3.1, 6.9, 3.9)])
    both = np.array([shapely.multipolygons(apart)])
    zones = np.array([EPSG] * 2)
    assert overlay_cost(both, zones[:1], blueprint, layers) == overlay_cost(apart, zones, blueprint, layers).sum()
    square, triangle = shapely.box(0, 0, 10, 10), shapely.Polygon([(0, 0), (10, 10), (0, 10)])
    holed = shapely.Polygon(square.exterior.coords, [shapely.box(4, 4, 6, 6).exterior.coords])
    # pairs of edges' boxes over the polygon's box, × coordinates: 3 × 5; (3 + 3 × 0.04) × 10; 2 × 4
    assert _edge_crowding(np.array([square, holed, triangle])).tolist() == [15, 31, 8]
    # a circle of n edges: two edges' box is about (2·2πr/n)²/π, 4π/n of its box (2r)², × n + 1 coordinates: 4π.
    # A star's spikes 300 m long: thousands
    crowding = _edge_crowding(np.array([star(2000, (5, 2.5), 1.0, 1.3), star(2000, (5, 2.5), 1.0, 1.0)]))
    assert crowding[1] == int(4 * np.pi) and crowding[0] > 1000 * crowding[1]


def annuli(count: int) -> shapely.MultiPolygon:
    """``count`` square annuli nested in one another, 0.5 wide, 1 apart."""
    return shapely.multipolygons(
        [
            shapely.box(-r - 0.5, -r - 0.5, r + 0.5, r + 0.5).difference(shapely.box(-r, -r, r, r))
            for r in range(1, 2 * count, 2)
        ]
    )


def test_rings_nested_in_one_another_are_counted_pairwise() -> None:
    """Every two rings of a parcel whose boxes meet, × their vertices × 8: 30 nested square annuli are 60
    rings of 5 coordinates, all meeting: 1,770 pairs × 10 × 8; a square with a hole, one pair; a plain
    square, none; a line in a collection, no ring."""
    square = shapely.box(0, 0, 10, 10)
    holed = square.difference(shapely.box(4, 4, 6, 6))
    stray = shapely.GeometryCollection([square, shapely.LineString([(0, 0), (5, 5)])])
    assert _ring_nesting(np.array([annuli(30), holed, square, stray])).tolist() == [1770 * 10 * 8, 80, 0, 0]
    many = annuli(150)  # 300 rings: listed in two batches of 256, the count stops after the first
    assert _ring_nesting(np.array([many]))[0] == 300 * 299 // 2 * 10 * 8
    assert _ring_nesting(np.array([many]), stop_above=1)[0] == (300 * 299 // 2 - 44 * 43 // 2) * 10 * 8


def comb(teeth: int, left_km: float, bottom_km: float, width_km: float, depth_km: float) -> shapely.Polygon:
    """A comb of ``teeth`` teeth ``depth_km`` deep, half as wide as the gaps between them are long, on a
    back 100 m deep, in EPSG:4548 metres."""
    step = width_km * 1000 / teeth
    x, y, depth = X0 + left_km * 1000 + np.arange(teeth) * step, Y0 + bottom_km * 1000, depth_km * 1000
    top = np.stack([x, x, x + step / 2, x + step / 2], axis=1).ravel()
    rise = np.tile([y, y + depth, y + depth, y], teeth)
    right = x[0] + width_km * 1000
    ring = np.r_[[[x[0], y - 100]], np.c_[top, rise], [[right, y], [right, y - 100]]]
    return shapely.Polygon(ring)


def test_a_comb_is_weighed_by_the_edges_on_the_line_through_each_vertex(
    blueprint: Blueprint, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``_crossings``: a square's 5 coordinates each lie on the line of 3 of its 4 edges, 15. A comb of t teeth:
    2t + 1 vertices on its base line, which 3t + 2 edges touch (teeth sides, gaps, the back's two sides), 2t on
    the teeth's tips (3t edges) and 3 coordinates on the back (3 edges): 12t² + 7t + 11, across or along."""
    teeth = 2000
    shapes = np.array([shapely.box(0, 0, 10, 10), comb(teeth, 1.2, 1.2, 0.5, 0.3)])
    sideways = shapely.transform(shapes[1:], lambda xy: xy[:, ::-1])  # teeth along the other axis
    assert _crossings(np.r_[shapes, sideways]).tolist() == [15, *[12 * teeth**2 + 7 * teeth + 11] * 2]
    layers, zone = layers_needed(load_profile("ten-point"), blueprint), np.array([EPSG])
    weighed = overlay_cost(shapes[1:], zone, blueprint, layers)[0]
    assert weighed >= (12 * teeth**2) // CROSSINGS_PER_PAIR  # 1.2 M: more than its vertices and features (~0.1 M)
    with pytest.raises(TooLargeError, match="too costly"):
        review(parcel_frame(shapes[1], id="comb"), blueprint, max_cost=weighed - 1)
    # under CROSSINGS_FROM vertices (at most CROSSINGS_FROM² / 40 = 25,000) a parcel is not weighed at all
    few = np.array([comb(CROSSINGS_FROM // 4 - 1, 1.2, 1.2, 0.5, 0.3)])
    unweighed = overlay_cost(few, zone, blueprint, layers)
    from geo.review import engine

    monkeypatch.setattr(engine, "_crossings", lambda polygons: np.full(len(polygons), 10**12))
    assert overlay_cost(few, zone, blueprint, layers) == unweighed
    assert overlay_cost(shapes[1:], zone, blueprint, layers)[0] > 10**12 // CROSSINGS_PER_PAIR


def test_a_costly_batch_is_refused_before_its_overlay(blueprint: Blueprint) -> None:
    spiky = parcel_frame(star(2000, (5, 2.5), 1.0, 1.3), id="S")
    with pytest.raises(TooLargeError, match=r"too costly to review here.*S \(") as caught:
        review(spiky, blueprint, max_cost=100_000)
    assert "请简化界址" in caught.value.message_zh
    assert review(spiky, blueprint).parcels[0].area_m2 == pytest.approx(spiky.geometry.iloc[0].area, rel=1e-6)
    clean = parcel_frame(rect(1.2, 1.2, 1.6, 1.6), project_type="residential")  # as in the first test
    assert review(clean, blueprint, max_cost=100_000).parcels[0].verdict == "pass"


def test_a_batch_is_estimated_before_geos_checks_or_repairs_it(
    blueprint: Blueprint, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The validity check and repair of a hostile outline may cost as much as its review (a comb turned
    45°: 58 s to check), so the estimate comes first, from the parcels as drawn; ``review_cost`` is that
    estimate, the one a service weighs before it decides where to review. A collection is weighed by
    its polygons: wrapping a comb in one with a point does not make it free."""
    from geo.review import engine

    spiky = star(2000, (5, 2.5), 1.0, 1.3)
    frame = parcel_frame(spiky, id="S")
    estimate = review_cost(frame, blueprint, max_cost=10**12)
    assert estimate > 100_000
    wrapped = parcel_frame(shapely.GeometryCollection([spiky, shapely.Point(X0, Y0)]), id="S")
    assert review_cost(wrapped, blueprint, max_cost=10**12) == estimate
    assert review_cost(parcel_frame(shapely.Point(X0, Y0), id="P"), blueprint, max_cost=10) == 0  # refused later
    with pytest.raises(GeometryError):
        review(parcel_frame(shapely.Point(X0, Y0), id="P"), blueprint, max_cost=10)

    def unchecked(*_: Any) -> None:
        raise AssertionError("checked before it was estimated")

    monkeypatch.setattr(engine, "clean_parcels", unchecked)
    for parcels in (frame, wrapped):
        with pytest.raises(TooLargeError, match=f"an estimated {estimate:,} vertex pairs"):
            review(parcels, blueprint, max_cost=estimate - 1)
        with pytest.raises(TooLargeError):
            review_cost(parcels, blueprint, max_cost=estimate - 1)


def test_layers_are_not_projected_to_a_zone_no_parcel_reaches(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A parcel far from the blueprint (here 100°E, its own 3° zone) meets no feature in any zone: the layers
    are not projected to its zone (a city's, kept for good, in every zone a request names), and its result
    is the one the layers projected there give."""
    bp = load_blueprint(rect_blueprint(tmp_path / "bp", full_layers()))
    far = gpd.GeoDataFrame({"id": ["far"]}, geometry=[shapely.box(100.0, 30.0, 100.01, 30.01)], crs=4490)
    skipped = review(far, bp, max_cost=1_000_000).parcels[0]
    vectors = [layer for layer in bp.layers.values() if isinstance(layer, VectorLayer)]
    assert skipped.verdict == "out_of_coverage" and {layer.zones for layer in vectors} == {frozenset({EPSG})}
    monkeypatch.setattr(VectorLayer, "misses", lambda self, boxes: False)
    projected = review(far, bp).parcels[0]
    assert all(len(layer.zones) == 2 for layer in vectors)
    assert skipped.model_dump() == projected.model_dump()


def test_land_beyond_the_coverage_is_not_outside_the_urban_boundary(blueprint: Blueprint) -> None:
    """A parcel beyond the blueprint's coverage (another county: no layer drawn there) was found
    "全部位于城镇开发边界外" and failed 规划符合性, a finding about land of which the blueprint knows nothing. Only the
    covered part can lie outside a boundary: half a parcel on the county line is outside by its covered half, and
    one wholly beyond the coverage is not reviewed, said so without a "covered part"."""
    astride = parcel_frame(rect(9.8, 4.0, 10.2, 4.1), project_type="industrial")  # the coverage ends at x = 10 km
    beyond = parcel_frame(rect(10.5, 4.0, 10.7, 4.1), project_type="industrial")
    half, away = review(astride, blueprint).parcels[0], review(beyond, blueprint).parcels[0]
    # the covered half fails 规划符合性, which stands whatever the other half holds: rejected (officer's read)
    assert (half.verdict, away.verdict) == ("reject", "out_of_coverage")
    assert half.covered_ratio == pytest.approx(0.5) and away.covered_ratio == 0.0
    planning = next(i for i in half.items if i.code == "planning_conformity")
    assert planning.status == "fail" and planning.facts.outside_m2 == pytest.approx(km2(9.8, 4.0, 10.0, 4.1))
    # its covered half lies wholly outside; of the other half nothing is known (a probe read "部分位于" as some inside)
    assert planning.message_zh.startswith("蓝图覆盖范围内的部分全部位于城镇开发边界外")
    assert planning.message_en.startswith("the part inside the blueprint's coverage lies wholly outside the urban")
    far = next(i for i in away.items if i.code == "planning_conformity")
    assert far.status == "missing_layer" and far.message_zh == "地块全部位于蓝图覆盖范围之外，未审查"
    assert {i.status for i in away.items if i.code != "land_use_standard"} == {"missing_layer"}


def test_a_sliver_beyond_the_coverage_is_said_as_measured_and_item_10_on_the_whole_parcel(
    blueprint: Blueprint,
) -> None:
    """30 m² of a 10 ha parcel beyond the coverage read "地块有 0.0% 位于蓝图覆盖范围之外"; and item 10, which
    weighs the parcel's own area against its standard and reads no layer, gave the whole parcel's area as its
    "covered part" (officer's probe). It gives no finding while the review is incomplete (no item of an
    out-of-coverage parcel passes: DESIGN), and says what it found on the whole parcel."""
    parcel = review(
        parcel_frame(rect(9.0, 4.0, 10.0003, 4.1), project_type="industrial", investment_wan=48_000), blueprint
    ).parcels[0]
    assert parcel.verdict == "reject"  # its covered part fails 规划符合性 (outside the urban boundary): that stands
    red = parcel.item("ecological_redline")
    assert red.status == "missing_layer" and red.message_zh.startswith("地块有 0.03% 位于蓝图覆盖范围之外")
    assert red.message_en.startswith("0.03% of the parcel lies outside")
    standard = parcel.item("land_use_standard")
    assert standard.status == "missing_layer" and "覆盖部分" not in standard.message_zh
    assert standard.message_zh.startswith(
        "地块有 0.03% 位于蓝图覆盖范围之外，该项暂不作结论；按地块全部面积：用地 100,030.00 m²（10.0030 公顷，"
        "150.05 亩）"
    )
    assert "(on the whole parcel: 100,030.00 m² (10.0030 ha, 150.05 mu) is within" in standard.message_en


def test_parcels_on_xian80_or_beijing54_are_reviewed_with_a_warning_that_their_shift_is_approximate(
    blueprint: Blueprint,
) -> None:
    """西安80 and 北京54 come to CGCS2000 by PROJ's ballpark shift (no parameters: metres to tens of metres off),
    which a blueprint build says and a review did not: a verdict at a red line's edge may turn on it."""
    parcel = parcel_frame(rect(2.9, 0.1, 3.1, 0.3), project_type="industrial")
    own = review(parcel, blueprint)
    assert not [w for w in own.warnings if "CGCS2000" in w]
    for epsg, named in ((4610, "西安80"), (4214, "北京54")):
        moved = review(parcel.to_crs(4490).set_crs(epsg, allow_override=True), blueprint)
        (said,) = [w for w in moved.warnings if "approximate shift" in w]
        assert f"地块坐标为{named}坐标系" in said and "Ballpark" in said and "复核" in said


def test_a_parcel_across_a_county_line_names_each_county_with_its_part(tmp_path: Path) -> None:
    """A parcel 60 % in 任城区 and 40 % in 邹城市: the opinion's 用地位置 and the report's 所在区县 named 任城区 alone
    (the county the ledger charges, holding most), so a road across the line read as one county's land (officer's
    read of a drawn parcel; 用地 is reported and approved county by county). Each county is named with its part;
    ``county`` stays the one holding most, and a parcel in one county reads as before."""
    from geo.opinion import opinion
    from geo.report_model import report_model

    layers = {
        "county": [
            ((0, 0, 1, 1), {"code": "370811", "name": "任城区"}),
            ((1, 0, 2, 1), {"code": "370883", "name": "邹城市"}),
        ],
        "land_use": [((0, 0, 2, 1), {"class_code": "0601"})],
    }
    blueprint = load_blueprint(rect_blueprint(tmp_path / "bp", layers, slope=None))
    result = review(
        parcel_frame(rect(0.7, 0.2, 1.2, 0.4), rect(0.2, 0.2, 0.4, 0.4), project_type="transport"), blueprint
    )
    across, inside = result.parcels
    assert across.county is not None and across.county.name == "任城区"
    assert [(c.name, c.area_m2) for c in across.counties or []] == [("任城区", 60_000.0), ("邹城市", 40_000.0)]
    assert inside.counties is None
    located = [dict((f.label, f.value) for f in p.project)["用地位置"] for p in opinion(result).parcels]
    assert located[0].startswith(
        "跨县级行政区：任城区（行政区划代码 370811）60,000.00平方米（6.0000公顷，90.00亩），"
        "邹城市（行政区划代码 370883）40,000.00平方米（4.0000公顷，60.00亩）"
    ), located[0]
    assert located[1].startswith("任城区（行政区划代码 370811），中心点")
    facts = [dict((f.label, f.value) for f in p.facts)["所在区县"] for p in report_model(result).parcels]
    assert facts == [
        "任城区（370811）60,000.00 m²（6.0000 公顷，90.00 亩）；邹城市（370883）40,000.00 m²（4.0000 公顷，60.00 亩）",
        "任城区（370811）",
    ]


@pytest.mark.parametrize(
    ("figure", "column"),
    [
        *[(odd, "max_area_ha") for odd in ("nan", "inf", "-5", "0", "1_0", "٣0", "9" * 400)],
        *[(odd, "min_intensity_wan_per_ha") for odd in ("NaN", "3e3")],
        ("nan", "ha_per_unit"),
    ],
)
def test_a_standard_table_s_figure_is_a_plain_number_above_zero(tmp_path: Path, figure: str, column: str) -> None:
    """float() took "nan" from a standard table (item 10 then stated 核定面积 nan m²), "inf", a sign or "1_0" (an
    underscore as a digit separator, read as 10) and another script's digits (٣, Arabic-Indic): such a table is
    refused with the profile naming it, before any review, and the refusal names the cell."""
    shipped = files("geo.layers") / "standards" / "land_use_standard_sample.csv"
    table = shipped.read_text(encoding="utf-8")
    row = "public_service,公共服务设施,,10,,,"
    assert row in table
    cells = {"min_intensity_wan_per_ha": 2, "max_area_ha": 3, "ha_per_unit": 4}
    changed = row.split(",")
    changed[cells[column]] = figure
    if column == "ha_per_unit":
        changed[5] = "km"  # a unit beside it, as a row rated per unit has
    (tmp_path / "standards").mkdir()
    (tmp_path / "standards" / "odd.csv").write_text(table.replace(row, ",".join(changed)), encoding="utf-8")
    profile_text = (files("geo.layers") / "profiles" / "ten-point.yaml").read_text(encoding="utf-8")
    assert "table: standards/land_use_standard_sample.csv" in profile_text
    profile = tmp_path / "odd.yaml"
    profile.write_text(profile_text.replace("land_use_standard_sample.csv", "odd.csv"), encoding="utf-8")
    with pytest.raises(ProfileError) as refused:
        load_profile(str(profile))  # with its profile: no review starts
    assert f"{column} of 'public_service' is {figure[:20]!r}" in str(refused.value)  # at most 20 characters shown
    assert f"public_service 的 {column} 为 {figure[:20]!r}" in refused.value.message_zh


def test_a_standard_table_s_plain_figures_are_read(tmp_path: Path) -> None:
    """Blanks and spaces around a figure, and full-width digits (a Chinese input method's, as the coordinate files
    and quota plans take them), are read."""
    from geo.review.standards import standard_table

    path = tmp_path / "plain.csv"
    path.write_text(
        "project_type,name_zh,min_intensity_wan_per_ha,max_area_ha,ha_per_unit,unit,facility,indicator\n"
        "a,甲, 3000 ,,,,,\nb,乙,,12.5,,,,\nenergy,丙,,,0.3,MW,wind_farm,某指标\nd,丁,３０００,１２．５,,,,\n",
        encoding="utf-8",
    )
    table = standard_table(path)
    assert table.rows["a"].min_intensity_wan_per_ha == 3000.0 and table.rows["a"].max_area_ha is None
    assert table.rows["b"].max_area_ha == 12.5
    assert table.rows["d"].min_intensity_wan_per_ha == 3000.0 and table.rows["d"].max_area_ha == 12.5
    wind = table.per_unit["energy"]["wind_farm"]
    assert wind.ha_per_unit == 0.3 and wind.unit == "MW" and wind.row.name_zh == "丙" and "energy" not in table.rows
    lean = tmp_path / "lean.csv"  # no per-unit columns: none rated per unit
    lean.write_text("project_type,name_zh,min_intensity_wan_per_ha,max_area_ha\na,甲,,20\n", encoding="utf-8")
    assert standard_table(lean).rows["a"].max_area_ha == 20.0 and standard_table(lean).per_unit == {}
    short = tmp_path / "short.csv"  # a required column missing
    short.write_text("project_type,name_zh,max_area_ha\na,甲,20\n", encoding="utf-8")
    with pytest.raises(ProfileError, match="min_intensity_wan_per_ha"):
        standard_table(short)
