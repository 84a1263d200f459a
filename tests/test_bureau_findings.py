"""What a bureau officer found in the demo's papers (issue 13): 三调 water surface is a 河湖管理范围 (item 11),
基本草原 is for national key projects only (item 9). Exact areas on rectangles (EPSG:4548, km from the origin)."""

from __future__ import annotations

from typing import Any

import pytest
from support import RectLayers, parcel_frame, rect, rect_blueprint, review_item

from geo.blueprint import Blueprint, load_blueprint
from geo.opinion import opinion
from geo.report_model import KEPT_SITE_LEAD, report_model
from geo.review import review

LAYERS: RectLayers = {
    "county": [((0, 0, 10, 5), {"code": "370811", "name": "任城区"})],
    "land_use": [
        ((0, 0, 1, 1), {"class_code": "1102"}),  # 湖泊水面
        ((1, 0, 2, 1), {"class_code": "1101"}),  # 河流水面
        ((2, 0, 3, 1), {"class_code": "1104"}),  # 坑塘水面: not a 河湖管理范围 by class
        ((3, 0, 4, 1), {"class_code": "1106"}),  # 内陆滩涂: the flats below a river's flood level
        ((4, 0, 10, 5), {"class_code": "0601"}),
        ((3, 1, 4, 5), {"class_code": "0601"}),
        ((0, 1, 3, 5), {"class_code": "0404"}),  # 其他草地
    ],
    "flood_river": [
        ((0, 0.5, 1, 1), {"kind": "河湖管理范围"}),  # drawn over part of the lake
        ((3, 0.5, 4, 1), {"kind": "河湖管理范围"}),  # and over part of the flats
    ],
    "basic_grassland": [((1, 2, 2, 3), {})],
}
REL = 1e-4


@pytest.fixture(scope="module")
def bureau(tmp_path_factory: pytest.TempPathFactory) -> Blueprint:
    return load_blueprint(rect_blueprint(tmp_path_factory.mktemp("bureau") / "bp", LAYERS, slope=None))


def area(m2: float) -> str:
    return f"{m2:,.2f} m²（{m2 / 10_000:.4f} 公顷，{m2 / 10_000 * 15:.2f} 亩）"


def within(m2: float) -> str:
    """An area inside brackets (geo.review.rules._area_within): no bracket in a bracket."""
    return f"{m2:,.2f} m²，合 {m2 / 10_000:.4f} 公顷、{m2 / 10_000 * 15:.2f} 亩"


# --- P1-a: item 11 grades 河流水面、湖泊水面、水库水面 as the 河湖管理范围 ---------------------------


@pytest.mark.parametrize("project_type", ["public_service", "industrial", "commercial"])
def test_lake_surface_is_a_river_lake_range(bureau: Blueprint, project_type: str) -> None:
    flood = review_item(bureau, rect(0.2, 0.2, 0.4, 0.4), "flood_control", project_type=project_type)
    assert flood.status == "fail" and flood.overlap_m2 == pytest.approx(40_000, rel=REL)
    assert "位于三调湖泊水面，属河湖管理范围，禁止建设妨碍行洪的建筑物、构筑物（涉及 " + within(40_000) + "）" in (
        flood.message_zh
    )
    assert flood.procedures == ["调整选址，避让河道、湖泊管理范围"]
    assert any("第二十一条" in b for b in flood.basis)


@pytest.mark.parametrize("project_type", ["water_conservancy", "transport", "infrastructure", "energy"])
def test_water_works_on_water_surface_need_the_water_authority(bureau: Blueprint, project_type: str) -> None:
    """防洪法第二十七条: 跨河、穿河、穿堤、临河的桥梁、码头、道路、渡口、管道、缆线、取水、排水等工程设施 go to
    the water authority's review, not to refusal. The type cannot tell a pipeline from its station, which is no such
    work (第二十二条: a 站场 in a lake was sent to 防洪评价 alone, officer's read): the work is to be verified first."""
    flood = review_item(bureau, rect(0.2, 0.2, 0.4, 0.4), "flood_control", project_type=project_type)
    assert flood.status == "warn", flood.message_zh
    assert "须核实是否属于跨河、穿河、穿堤、临河的工程设施（其建设方案须经水行政主管部门审查同意）" in flood.message_zh
    assert flood.message_zh.endswith("妨碍行洪的站场等建筑物、构筑物不得建设（涉及 " + within(40_000) + "）")
    assert flood.procedures == [
        "核实本项目属于跨河、穿河、穿堤、临河的桥梁、码头、道路、管道、缆线、取水、排水等工程设施；"
        "妨碍行洪的站场等建筑物、构筑物须调整选址",
        "工程建设方案报水行政主管部门审查同意（防洪评价）",
    ]
    assert any("第二十二条" in b for b in flood.basis) and any("第二十七条" in b for b in flood.basis)


def test_each_water_class_named_with_its_area(bureau: Blueprint) -> None:
    # [0.8,1.3]×[0.2,0.4]: 0.2 × 0.2 km of 湖泊水面, 0.3 × 0.2 km of 河流水面
    flood = review_item(bureau, rect(0.8, 0.2, 1.3, 0.4), "flood_control", project_type="industrial")
    assert flood.status == "fail" and flood.overlap_m2 == pytest.approx(100_000, rel=REL)
    assert "湖泊水面 " + within(40_000) in flood.message_zh and "河流水面 " + within(60_000) in flood.message_zh


def test_a_range_drawn_on_its_water_surface_states_the_outcome_once(bureau: Blueprint) -> None:
    # [0.2,0.4]×[0.6,0.8]: 湖泊水面 inside the 河湖管理范围 the flood layer draws: both say it, one condition
    flood = review_item(bureau, rect(0.2, 0.6, 0.4, 0.8), "flood_control", project_type="industrial")
    assert flood.status == "fail" and flood.overlap_m2 == pytest.approx(40_000, rel=REL)
    # the range's finding alone: the water's repeated its area and its step (officer's second read)
    assert "位于河道、湖泊管理范围" in flood.message_zh and "位于三调湖泊水面" not in flood.message_zh
    assert flood.facts.conditions is not None and len(flood.facts.conditions) == 1
    assert flood.procedures == ["调整选址，避让河道、湖泊管理范围"]


@pytest.mark.parametrize("project_type", ["industrial", "transport"])
def test_inland_flats_are_verified_as_a_river_lake_range(bureau: Blueprint, project_type: str) -> None:
    """内陆滩涂 (GB/T 21010—2017 1106) is mostly a river's or lake's flats below its flood level, inside the
    河湖管理范围 (河道管理条例第二十条), but a 坑塘's flats are 1106 too: a warning to verify, for every type, not
    the range's refusal (it passed item 11: probe; graded as the range it failed pond flats: read-through)."""
    flood = review_item(bureau, rect(3.2, 0.2, 3.4, 0.4), "flood_control", project_type=project_type)
    assert flood.status == "warn" and flood.overlap_m2 == pytest.approx(40_000, rel=REL)
    assert flood.message_zh.startswith("位于三调内陆滩涂，需核实是否属河湖管理范围")
    assert flood.procedures[0].startswith("核实是否位于河道、湖泊管理范围")


def test_water_surface_partly_inside_a_drawn_range_states_only_the_rest(bureau: Blueprint) -> None:
    # [0.2,0.4]×[0.4,0.6]: half the lake inside the range drawn from y = 0.5
    flood = review_item(bureau, rect(0.2, 0.4, 0.4, 0.6), "flood_control", project_type="industrial")
    assert flood.status == "fail" and flood.overlap_m2 == pytest.approx(40_000, rel=REL)
    assert "位于三调湖泊水面" in flood.message_zh
    assert "（涉及 " + within(20_000) + "；另 " + within(20_000) + "，位于蓝图划定的河湖管理范围内" in flood.message_zh


@pytest.mark.parametrize(("project_type", "status"), [("industrial", "fail"), ("transport", "warn")])
def test_inland_flats_inside_a_drawn_range_are_graded_as_the_range(
    bureau: Blueprint, project_type: str, status: str
) -> None:
    """Where the flood layer draws the 河湖管理范围 over 内陆滩涂, it is verified: the range's finding says what
    holds, and a second one asking to verify it would contradict the blueprint (read-through)."""
    flood = review_item(bureau, rect(3.2, 0.6, 3.4, 0.8), "flood_control", project_type=project_type)
    assert flood.status == status and flood.overlap_m2 == pytest.approx(40_000, rel=REL)
    assert flood.message_zh.startswith("位于河道、湖泊管理范围") and "需核实" not in flood.message_zh
    assert not any(p.startswith("核实是否位于") for p in flood.procedures), flood.procedures


def test_inland_flats_partly_inside_a_drawn_range_say_which_part(bureau: Blueprint) -> None:
    # [3.2,3.4]×[0.4,0.6]: half the flats inside the range drawn from y = 0.5
    flood = review_item(bureau, rect(3.2, 0.4, 3.4, 0.6), "flood_control", project_type="transport")
    assert flood.status == "warn" and flood.overlap_m2 == pytest.approx(40_000, rel=REL)
    assert "需核实是否属河湖管理范围（涉及 " + within(20_000) + "；另 " + within(
        20_000
    ) + "，位于蓝图划定的河湖管理范围内" in (flood.message_zh), flood.message_zh
    assert any(p.startswith("核实是否位于") for p in flood.procedures)


def test_other_water_and_dry_land_pass(bureau: Blueprint) -> None:
    for box in [(2.2, 0.2, 2.4, 0.4), (4.2, 0.2, 4.4, 0.4)]:  # 坑塘水面, 工业用地
        flood = review_item(bureau, rect(*box), "flood_control", project_type="infrastructure")
        assert flood.status == "pass", flood.message_zh


# --- P1-b: 基本草原 only for a national key project --------------------------------------------


def test_basic_grassland_refuses_an_ordinary_project(bureau: Blueprint) -> None:
    fgw = review_item(bureau, rect(1.2, 2.2, 1.4, 2.4), "forest_grass_wetland", project_type="infrastructure")
    assert fgw.status == "fail"
    assert "占用基本草原" in fgw.message_zh and "需调整选址" in fgw.message_zh
    assert "（涉及 " + within(40_000) + "）" in fgw.message_zh
    assert "调整选址，避让基本草原" in fgw.procedures
    assert "经省级以上草原行政主管部门审核同意" not in fgw.procedures
    assert any("林草规〔2020〕2号" in b for b in fgw.basis)


def test_basic_grassland_for_a_major_project_needs_the_approval(bureau: Blueprint) -> None:
    fgw = review_item(
        bureau, rect(1.2, 2.2, 1.4, 2.4), "forest_grass_wetland", project_type="energy", major_project=True
    )
    assert fgw.status == "warn"
    assert "占用基本草原 " + area(40_000) + "，申报为国家重点建设项目" in fgw.message_zh
    assert "经省级以上草原行政主管部门审核同意" in fgw.procedures
    assert "调整选址，避让基本草原" not in fgw.procedures
    # one approval for one land: 占用草地's own (草原征收、使用审核) is the same 省级 one (officer's second read)
    assert not any(p.startswith("办理草原征收、使用审核") for p in fgw.procedures), fgw.procedures
    assert "需办理使用林地/草原审核" not in fgw.message_zh


def _forest_beside_basic_grassland(tmp_path: Any) -> Blueprint:
    """[0,1]×[0,1] km 乔木林地, [1,2]×[0,1] 其他草地 on 基本草原."""
    layers = {
        "county": [((0, 0, 2, 1), {"code": "370811", "name": "任城区"})],
        "land_use": [((0, 0, 1, 1), {"class_code": "0301"}), ((1, 0, 2, 1), {"class_code": "0404"})],
        "basic_grassland": [((1, 0, 2, 1), {})],
    }
    return load_blueprint(rect_blueprint(tmp_path / "bp", layers, slope=None))


def test_a_refused_items_warning_keeps_its_step_for_land_the_refusal_leaves(tmp_path: Any) -> None:
    """乔木林地 beside 其他草地 on 基本草原: the item fails for the grassland (草原法第四十二条, 调整选址), and the
    forest land, which no refusal covers, still needs 使用林地审核 (森林法第三十七条) once the parcel leaves the
    grassland. The step of every warning beside a failing finding was dropped, so the forest land read as asking
    nothing; the grassland's own step stays dropped (it moves away), and each step follows the land it is for."""
    grass = _forest_beside_basic_grassland(tmp_path)
    both = review_item(grass, rect(0.8, 0.2, 1.2, 0.4), "forest_grass_wetland", project_type="infrastructure")
    assert both.status == "fail"
    forest, grassland, refused = both.message_zh.split("；")
    assert forest.startswith("占用林地（乔木林地 40,000.00 m²"), forest
    assert forest.endswith("），需办理使用林地/草原审核"), forest
    assert grassland.startswith("占用草地（其他草地 40,000.00 m²") and grassland.endswith("）"), grassland
    assert refused.startswith("占用基本草原")
    assert "调整选址，避让基本草原" in both.procedures  # the refused parcel's procedures are its refusal's alone
    only = review_item(grass, rect(1.2, 0.2, 1.4, 0.4), "forest_grass_wetland", project_type="infrastructure")
    assert only.status == "fail" and "审核" not in only.message_zh.split("；")[0], only.message_zh


def test_the_english_finding_says_a_step_after_the_land_it_is_for(tmp_path: Any) -> None:
    """The Chinese says 使用林地/草原审核 after the forest land it is for (the grassland beside it is refused on
    基本草原, 草原法第四十二条); the English said it at the end of the class finding, after 'occupies grassland', so it
    asked an approval for the refused grassland (demo D11, officer's second read). It now follows the forest land's
    clause in both, and a finding of one class still ends with its step."""
    grass = _forest_beside_basic_grassland(tmp_path)
    both = review_item(grass, rect(0.8, 0.2, 1.2, 0.4), "forest_grass_wetland", project_type="infrastructure")
    forest, step, grassland, refused = both.message_en.split("; ", 3)
    assert forest.startswith("occupies forest land (0301 40,000.00 m²"), both.message_en
    assert step == "needs approval to use forest land or grassland", both.message_en
    assert grassland.startswith("occupies grassland (0404 40,000.00 m²"), both.message_en
    assert refused.startswith("occupies basic grassland") and both.message_en.count("needs approval to use") == 1
    alone = review_item(grass, rect(0.2, 0.2, 0.4, 0.4), "forest_grass_wetland", project_type="infrastructure")
    assert alone.message_en.endswith("; needs approval to use forest land or grassland"), alone.message_en
    assert alone.message_zh.endswith("，需办理使用林地/草原审核"), alone.message_zh


# --- P2: item 3 states the farmland found, class by class ------------------------------------

FARMLAND: RectLayers = {
    "county": [((0, 0, 10, 5), {"code": "370811", "name": "任城区"})],
    "land_use": [
        ((0, 0, 1, 5), {"class_code": "0101", "deduction_ratio": 0.1}),  # 水田, 10 % 田坎
        ((1, 0, 2, 5), {"class_code": "0102"}),  # 水浇地
        ((2, 0, 3, 5), {"class_code": "0103"}),  # 旱地
        ((3, 0, 4, 1), {"class_code": "1106"}),  # 内陆滩涂: the flats below a river's flood level
        ((4, 0, 10, 5), {"class_code": "0601"}),
        ((3, 1, 4, 5), {"class_code": "0601"}),
    ],
    "basic_farmland": [((0, 0, 1, 1), {})],
    "ecological_redline": [((5, 0, 6, 1), {})],
}


@pytest.fixture(scope="module")
def farmland(tmp_path_factory: pytest.TempPathFactory) -> Blueprint:
    return load_blueprint(rect_blueprint(tmp_path_factory.mktemp("farmland") / "bp", FARMLAND, slope=None))


def test_cultivated_land_states_each_class_found(farmland: Blueprint) -> None:
    # [0.8,2.3]×[0.2,0.4]: 0.2 × 0.2 km of 水田 (36 000 m² net of 田坎), 1 × 0.2 of 水浇地, 0.3 × 0.2 of 旱地
    land = review_item(farmland, rect(0.8, 0.2, 2.3, 0.4), "cultivated_land", project_type="industrial")
    assert land.status == "warn"
    assert land.message_zh.startswith(
        f"占用耕地 296,000.00 m²（29.6000 公顷，444.00 亩；已扣除田坎，图斑面积 {within(300_000)}），"
        f"其中水田 {area(36_000)}、水浇地 {area(200_000)}、旱地 {area(60_000)}，需落实耕地占补平衡"
    ), land.message_zh
    assert "所占水田须占水田补水田" in land.message_zh


def test_cultivated_land_names_only_the_classes_found(farmland: Blueprint) -> None:
    land = review_item(farmland, rect(1.8, 0.2, 2.0, 0.4), "cultivated_land", project_type="industrial")
    assert land.message_zh.startswith("占用耕地 40,000.00 m²（4.0000 公顷，60.00 亩），均为水浇地，"), land.message_zh
    assert "水田" not in land.message_zh and "旱地" not in land.message_zh and "田坎" not in land.message_zh


# --- P2: items 2 and 4 state the area before the exemption; the major-project claim is verified ------


def test_major_project_on_basic_farmland_states_the_area_and_verifies_the_claim(farmland: Blueprint) -> None:
    bf = review_item(farmland, rect(0.2, 0.2, 0.4, 0.4), "basic_farmland", project_type="transport", major_project=True)
    assert bf.status == "warn"
    # in the three units every other finding gives (it said 公顷 alone: officer's read)
    assert bf.message_zh.startswith("占用永久基本农田 " + area(40_000) + "，申报为重大建设项目（待核实"), bf.message_zh
    assert "申报为重大建设项目（待核实是否属于自然资规〔2018〕3号所列范围）" in bf.message_zh
    assert bf.procedures[0] == "核实项目属于自然资规〔2018〕3号所列重大建设项目范围，不属于的调整选址避让永久基本农田"
    assert "（涉及" not in bf.message_zh  # the area said once, first


def test_limited_activity_in_the_red_line_states_the_area_first(farmland: Blueprint) -> None:
    red = review_item(
        farmland, rect(5.2, 0.2, 5.4, 0.4), "ecological_redline", project_type="infrastructure", redline_exempt=True
    )
    assert red.status == "warn"
    assert red.message_zh.startswith("位于生态保护红线内 " + area(40_000) + "，申报为允许的有限人为活动"), (
        red.message_zh
    )
    assert red.facts.conditions and "{area}" not in red.facts.conditions[0].condition_zh


# --- P2: item 1 says how much lies outside the boundary and names the zone; a refusing zone prints no 预审 ---

PLANNED: RectLayers = {
    "county": [((0, 0, 10, 5), {"code": "370811", "name": "任城区"})],
    "urban_boundary": [((0, 0, 2, 5), {})],
    "planned_use": [((0, 0, 2, 5), {"zone": "城镇集中建设区"}), ((2, 0, 10, 5), {"zone": "一般农业区"})],
    "land_use": [((0, 0, 10, 5), {"class_code": "0103"})],  # 旱地
    "basic_farmland": [((6, 0, 7, 1), {})],
    "geohazard": [((0, 0, 10, 5), {"level": "低"})],
}


@pytest.fixture(scope="module")
def planned(tmp_path_factory: pytest.TempPathFactory) -> Blueprint:
    return load_blueprint(rect_blueprint(tmp_path_factory.mktemp("planned") / "bp", PLANNED))


def test_wholly_outside_the_boundary_names_the_zone(planned: Blueprint) -> None:
    conformity = review_item(planned, rect(4.2, 0.2, 4.4, 0.4), "planning_conformity", project_type="infrastructure")
    assert conformity.status == "warn"
    assert conformity.message_zh.startswith("全部位于城镇开发边界外，须符合所在规划分区准入"), conformity.message_zh
    # admitted as a type the zone takes under its controls, not a use the zone is for (officer's read)
    assert "规划用途分区（一般农业区）准入此类项目，须符合该分区管控要求" in conformity.message_zh
    assert "的部分" not in conformity.message_zh and "单独选址" not in conformity.message_zh
    partly = review_item(planned, rect(1.9, 0.2, 2.1, 0.4), "planning_conformity", project_type="infrastructure")
    assert partly.message_zh.startswith("部分位于城镇开发边界外"), partly.message_zh
    assert "（涉及 " + within(20_000) + "）" in partly.message_zh


def test_a_refusing_zone_is_not_read_beside_a_pre_review_step(planned: Blueprint) -> None:
    # a 展示馆 (public_service) in 一般农业区: the zone refuses it; it is no 单独选址 project
    conformity = review_item(planned, rect(4.2, 0.2, 4.4, 0.4), "planning_conformity", project_type="public_service")
    assert conformity.status == "fail"
    assert "位于一般农业区，该分区不允许此类项目" in conformity.message_zh
    assert "用地预审" not in conformity.message_zh and "单独选址" not in conformity.message_zh
    assert not [p for p in conformity.procedures if "用地预审" in p], conformity.procedures


# --- P2: a rejected parcel is told to change its site, with no procedure as if it could proceed -------


def test_a_rejected_parcel_lists_no_procedures_as_if_it_could_proceed_and_no_quota(planned: Blueprint) -> None:
    """Its failing items' remedies first; its warnings' steps only behind the line that they stand where the site
    is kept (a failing item's remedy may keep it: an officer's read found D02's 占补平衡 lost when they were left
    out; 济政办字〔2020〕52号 三（一）3 全面考量); no quota either way."""
    # an industrial plant on basic farmland (旱地, 地质灾害低易发区) outside the boundary: rejected
    result = review(parcel_frame(rect(6.2, 0.2, 6.4, 0.4), id="R1", project_type="industrial"), planned)
    parcel = result.parcels[0]
    assert parcel.verdict == "reject"
    assert parcel.item("cultivated_land").status == "warn" and parcel.item("geohazard").status == "warn"
    drafted = opinion(result).parcels[0]
    said = " ".join(drafted.conditions)
    assert "调整选址" in said and "避让永久基本农田" in said and "占补平衡" not in said
    assert drafted.kept_site_lead == KEPT_SITE_LEAD
    kept = " ".join(drafted.kept_site)
    assert kept.index("占补平衡") < kept.index("地质灾害危险性评估"), kept
    assert (
        "在按上述意见调整选址或用地方案前，不核定新增建设用地计划指标和耕地占补平衡" in drafted.quota
        and "需使用新增建设用地计划指标" not in drafted.quota
    )  # not "须调整选址" alone: a parcel refused for its scheme (投资强度) is told to cut its area, not to move
    assert "须调整选址予以避让" in drafted.quota  # the basic farmland found is still stated
    page = report_model(result).parcels[0]
    notes = list(page.notes)
    lead = notes.index(KEPT_SITE_LEAD)
    assert all(i > lead for i, n in enumerate(notes) if "占补平衡" in n or "危险性评估" in n), notes
    assert {r.name: r.m2 for r in page.quota}["新增建设用地指标"] == "不核定"


def test_a_conditional_parcel_keeps_its_procedures_and_quota(planned: Blueprint) -> None:
    result = review(parcel_frame(rect(4.2, 0.2, 4.4, 0.4), id="C1", project_type="infrastructure"), planned)
    drafted = opinion(result).parcels[0]
    assert result.parcels[0].verdict == "conditional"
    assert "占补平衡" in " ".join(drafted.conditions)
    assert "需使用新增建设用地计划指标40,000.00平方米（4.0000公顷" in drafted.quota
