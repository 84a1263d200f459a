"""What a bureau officer found in the demo's papers (issue 13): 三调 water surface is a 河湖管理范围 (item 11),
基本草原 is for national key projects only (item 9). Exact areas on rectangles (EPSG:4548, km from the origin)."""

from __future__ import annotations

from typing import Any

import pytest
import shapely
from support import parcel_frame, rect, rect_blueprint

from geo.blueprint import Blueprint, load_blueprint
from geo.review import ItemResult, review

LAYERS: dict[str, list[tuple[tuple[float, float, float, float], dict[str, Any]]]] = {
    "county": [((0, 0, 10, 5), {"code": "370811", "name": "任城区"})],
    "land_use": [
        ((0, 0, 1, 1), {"class_code": "1102"}),  # 湖泊水面
        ((1, 0, 2, 1), {"class_code": "1101"}),  # 河流水面
        ((2, 0, 3, 1), {"class_code": "1104"}),  # 坑塘水面: not a 河湖管理范围 by class
        ((3, 0, 10, 5), {"class_code": "0601"}),
        ((0, 1, 3, 5), {"class_code": "0404"}),  # 其他草地
    ],
    "flood_river": [((0, 0.5, 1, 1), {"kind": "河湖管理范围"})],  # drawn over part of the lake
    "basic_grassland": [((1, 2, 2, 3), {})],
}
REL = 1e-4


@pytest.fixture(scope="module")
def bureau(tmp_path_factory: pytest.TempPathFactory) -> Blueprint:
    return load_blueprint(rect_blueprint(tmp_path_factory.mktemp("bureau") / "bp", LAYERS, slope=None))


def item(blueprint: Blueprint, geom: shapely.Geometry, code: str, **props: Any) -> ItemResult:
    return review(parcel_frame(geom, **props), blueprint).parcels[0].item(code)


def area(m2: float) -> str:
    return f"{m2:,.2f} m²（{m2 / 10_000:.4f} 公顷，{m2 / 10_000 * 15:.2f} 亩）"


# --- P1-a: item 11 grades 河流水面、湖泊水面、水库水面 as the 河湖管理范围 ---------------------------


@pytest.mark.parametrize("project_type", ["infrastructure", "public_service", "industrial"])
def test_lake_surface_is_a_river_lake_range(bureau: Blueprint, project_type: str) -> None:
    flood = item(bureau, rect(0.2, 0.2, 0.4, 0.4), "flood_control", project_type=project_type)
    assert flood.status == "fail" and flood.overlap_m2 == pytest.approx(40_000, rel=REL)
    assert "位于三调湖泊水面，属河湖管理范围，禁止建设妨碍行洪的建筑物、构筑物（涉及 " + area(40_000) + "）" in (
        flood.message_zh
    )
    assert flood.procedures == ["调整选址，避让河道、湖泊管理范围"]
    assert any("第二十一条" in b for b in flood.basis)


@pytest.mark.parametrize("project_type", ["water_conservancy", "transport"])
def test_water_works_on_water_surface_need_the_water_authority(bureau: Blueprint, project_type: str) -> None:
    flood = item(bureau, rect(0.2, 0.2, 0.4, 0.4), "flood_control", project_type=project_type)
    assert flood.status == "warn", flood.message_zh
    assert "工程建设方案须经水行政主管部门审查同意" in flood.message_zh
    assert flood.procedures == ["工程建设方案报水行政主管部门审查同意（防洪评价）"]


def test_each_water_class_named_with_its_area(bureau: Blueprint) -> None:
    # [0.8,1.3]×[0.2,0.4]: 0.2 × 0.2 km of 湖泊水面, 0.3 × 0.2 km of 河流水面
    flood = item(bureau, rect(0.8, 0.2, 1.3, 0.4), "flood_control", project_type="infrastructure")
    assert flood.status == "fail" and flood.overlap_m2 == pytest.approx(100_000, rel=REL)
    assert "湖泊水面 " + area(40_000) in flood.message_zh and "河流水面 " + area(60_000) in flood.message_zh


def test_a_range_drawn_on_its_water_surface_states_the_outcome_once(bureau: Blueprint) -> None:
    # [0.2,0.4]×[0.6,0.8]: 湖泊水面 inside the 河湖管理范围 the flood layer draws: both say it, one condition
    flood = item(bureau, rect(0.2, 0.6, 0.4, 0.8), "flood_control", project_type="infrastructure")
    assert flood.status == "fail" and flood.overlap_m2 == pytest.approx(40_000, rel=REL)
    assert "位于河道、湖泊管理范围" in flood.message_zh and "位于三调湖泊水面" in flood.message_zh
    assert flood.facts.conditions is not None and len(flood.facts.conditions) == 1
    assert flood.procedures == ["调整选址，避让河道、湖泊管理范围"]


def test_other_water_and_dry_land_pass(bureau: Blueprint) -> None:
    for box in [(2.2, 0.2, 2.4, 0.4), (4.2, 0.2, 4.4, 0.4)]:  # 坑塘水面, 工业用地
        flood = item(bureau, rect(*box), "flood_control", project_type="infrastructure")
        assert flood.status == "pass", flood.message_zh


# --- P1-b: 基本草原 only for a national key project --------------------------------------------


def test_basic_grassland_refuses_an_ordinary_project(bureau: Blueprint) -> None:
    fgw = item(bureau, rect(1.2, 2.2, 1.4, 2.4), "forest_grass_wetland", project_type="infrastructure")
    assert fgw.status == "fail"
    assert "占用基本草原" in fgw.message_zh and "需调整选址" in fgw.message_zh
    assert "（涉及 " + area(40_000) + "）" in fgw.message_zh
    assert "调整选址，避让基本草原" in fgw.procedures
    assert "经省级以上草原行政主管部门审核同意" not in fgw.procedures
    assert any("林草规〔2020〕2号" in b for b in fgw.basis)


def test_basic_grassland_for_a_major_project_needs_the_approval(bureau: Blueprint) -> None:
    fgw = item(bureau, rect(1.2, 2.2, 1.4, 2.4), "forest_grass_wetland", project_type="energy", major_project=True)
    assert fgw.status == "warn"
    assert "国家重点建设项目占用基本草原" in fgw.message_zh and area(40_000) in fgw.message_zh
    assert "经省级以上草原行政主管部门审核同意" in fgw.procedures
    assert "调整选址，避让基本草原" not in fgw.procedures
