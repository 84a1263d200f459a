"""What a finding says (issue 13): the grade, zone, kind or class the parcel actually hits, named with
the area of each when there are several, not the rule quoted for every grade; item 10 refuses an
investment far below the standard and names the figure a per-km / per-MW indicator needs; documents
cited as 《标题》（文号）. Exact areas on rectangles (EPSG:4548, km from the origin)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import shapely
import yaml
from support import EPSG, RectLayers, parcel_frame, rect, rect_blueprint, review_item

from geo.blueprint import Blueprint, load_blueprint
from geo.crs import reproject
from geo.errors import InputError, ProfileError
from geo.opinion import opinion
from geo.report_model import basis_facts, report_model
from geo.resources import packaged
from geo.review import ParcelResult, review
from geo.review.profile import load_profile
from geo.review.standards import standard_table

LAYERS: RectLayers = {
    "county": [((0, 0, 10, 5), {"code": "370811", "name": "任城区"})],
    "urban_boundary": [((0, 0, 10, 5), {})],
    "planned_use": [
        ((0, 0, 2, 5), {"zone": "农田保护区"}),
        ((2, 0, 4, 5), {"zone": "生态保护区"}),
        ((4, 0, 10, 5), {"zone": "城镇集中建设区"}),
    ],
    "land_use": [
        ((0, 0, 6, 5), {"class_code": "0601"}),
        ((6, 0, 7, 5), {"class_code": "0301"}),  # 乔木林地
        ((7, 0, 8, 5), {"class_code": "0404"}),  # 其他草地
        ((8, 0, 9, 5), {"class_code": "1108"}),  # 沼泽地 (wetland)
        ((9, 0, 10, 5), {"class_code": "0601"}),
    ],
    "water_source": [
        ((4, 0, 5, 1), {"level": "一级"}),
        ((5, 0, 6, 1), {"level": "二级"}),
        ((6, 0, 7, 1), {"level": "准保护区"}),
    ],
    "heritage": [
        ((4, 1, 5, 2), {"zone": "保护范围", "site": "孔庙", "level": "全国重点文物保护单位"}),
        ((5, 1, 6, 2), {"zone": "建设控制地带", "site": None, "level": None}),
    ],
    "nature_reserve": [((9, 4, 10, 5), {"zone": "核心保护区"})],
    "flood_river": [((4, 2, 5, 3), {"kind": "河湖管理范围"}), ((5, 2, 6, 3), {"kind": "蓄滞洪区"})],
    "geohazard": [((7, 2, 8, 3), {"level": "高"}), ((8, 2, 9, 3), {"level": "中"})],
    "mineral": [
        ((7, 3, 8, 4), {"kind": "采矿权", "holder": "济宁某矿业有限公司"}),
        ((8, 3, 9, 4), {"kind": "煤", "holder": None}),
    ],
}
REL = 1e-4


@pytest.fixture(scope="module")
def found(tmp_path_factory: pytest.TempPathFactory) -> Blueprint:
    # the slope raster's steep block (30°) is [6,7]×[3,4]
    return load_blueprint(rect_blueprint(tmp_path_factory.mktemp("findings") / "bp", LAYERS))


def area(m2: float) -> str:
    """The area as a finding writes it (geo.review.rules._area_text)."""
    return f"{m2:,.2f} m²（{m2 / 10_000:.4f} 公顷，{m2 / 10_000 * 15:.2f} 亩）"


def within(m2: float) -> str:
    """The area as a finding writes it inside brackets (geo.review.rules._area_within): no bracket in a bracket."""
    return f"{m2:,.2f} m²，合 {m2 / 10_000:.4f} 公顷、{m2 / 10_000 * 15:.2f} 亩"


# --- item 5: the grade of the water source found ---------------------------------------------


@pytest.mark.parametrize(
    ("box", "project_type", "status", "named", "not_named"),
    [
        ((4.2, 0.2, 4.4, 0.4), "industrial", "fail", "一级保护区", ["二级", "准保护区"]),
        ((5.2, 0.2, 5.4, 0.4), "transport", "warn", "二级保护区，项目不得排放污染物", ["一级", "准保护区"]),
        ((5.2, 0.2, 5.4, 0.4), "industrial", "fail", "二级保护区内禁止新建排放污染物", ["一级", "准保护区"]),
        ((6.2, 0.2, 6.4, 0.4), "transport", "warn", "准保护区", ["一级", "二级"]),
    ],
)
def test_water_source_names_the_grade_found(
    found: Blueprint, box: Any, project_type: str, status: str, named: str, not_named: list[str]
) -> None:
    protected = review_item(found, rect(*box), "protected_areas", project_type=project_type)
    assert protected.status == status and protected.overlap_m2 == pytest.approx(40_000, rel=REL)
    assert named in protected.message_zh, protected.message_zh
    assert not [w for w in not_named if w in protected.message_zh], protected.message_zh


def test_two_grades_each_with_its_area(found: Blueprint) -> None:
    # [4.8,5.2]×[0.2,0.4]: 0.2 × 0.2 km in 一级, the same in 二级
    protected = review_item(found, rect(4.8, 0.2, 5.2, 0.4), "protected_areas", project_type="industrial")
    text = protected.message_zh
    assert "一级保护区（面积 " + within(40_000) + "）" in text and "二级保护区（面积 " + within(40_000) + "）" in text
    assert text.index("一级保护区") < text.index("二级保护区")  # the profile's order
    assert "准保护区" not in text


# --- item 8: 保护范围 or 建设控制地带, the site's name and level where the layer has them --------


def test_heritage_names_the_zone_and_the_listed_site(found: Blueprint) -> None:
    protection = review_item(found, rect(4.2, 1.2, 4.4, 1.4), "cultural_heritage", project_type="commercial")
    assert protection.status == "fail"
    assert "位于文物保护单位保护范围（文物保护单位：孔庙；保护级别：全国重点文物保护单位）" in protection.message_zh
    assert "建设控制地带" not in protection.message_zh
    control = review_item(found, rect(5.2, 1.2, 5.4, 1.4), "cultural_heritage", project_type="commercial")
    assert control.status == "warn" and "位于文物保护单位建设控制地带，" in control.message_zh
    assert "保护范围" not in control.message_zh and "孔庙" not in control.message_zh
    assert [d.attributes["site"] for d in protection.details] == ["孔庙"]


# --- item 11: 河湖管理范围 or 蓄滞洪区 ---------------------------------------------------------


def test_flood_control_names_which(found: Blueprint) -> None:
    storage = review_item(found, rect(5.2, 2.2, 5.4, 2.4), "flood_control", project_type="logistics")
    assert storage.status == "warn" and "位于蓄滞洪区，需编制洪水影响评价报告" in storage.message_zh
    assert "河湖管理范围" not in storage.message_zh and "河道" not in storage.message_zh
    both = review_item(found, rect(4.8, 2.2, 5.2, 2.4), "flood_control", project_type="logistics")
    assert both.status == "fail" and both.overlap_m2 == pytest.approx(80_000, rel=REL)
    assert "位于河道、湖泊管理范围（面积 " + within(40_000) + "），禁止建设妨碍行洪" in both.message_zh
    assert "位于蓄滞洪区（面积 " + within(40_000) + "）" in both.message_zh


# --- item 9: which of 林地/草地/湿地, and how much of each ------------------------------------


def test_forest_grass_wetland_names_each_group_with_its_classes_and_area(found: Blueprint) -> None:
    # [6.9,7.2]×[0.2,0.4]: 0.1 × 0.2 km of 乔木林地, 0.2 × 0.2 km of 其他草地
    fgw = review_item(found, rect(6.9, 0.2, 7.2, 0.4), "forest_grass_wetland", project_type="infrastructure")
    assert fgw.status == "warn"
    assert "占用林地（乔木林地 " + within(20_000) + "）" in fgw.message_zh
    assert "占用草地（其他草地 " + within(40_000) + "）" in fgw.message_zh
    assert "湿地" not in fgw.message_zh
    wetland = review_item(found, rect(8.2, 0.2, 8.4, 0.4), "forest_grass_wetland", project_type="infrastructure")
    assert "占用湿地（沼泽地）" in wetland.message_zh  # one group: the item's area is its area
    assert "林地" not in wetland.message_zh and "草原" not in wetland.message_zh


# --- item 1: the planning zones found ---------------------------------------------------------


def test_planning_conformity_names_the_zones(found: Blueprint) -> None:
    # [1.8,2.2]×[0.2,0.4]: half 农田保护区, half 生态保护区; neither admits industry
    zones = review_item(found, rect(1.8, 0.2, 2.2, 0.4), "planning_conformity", project_type="industrial")
    assert zones.status == "fail"
    assert (
        f"位于农田保护区、生态保护区（农田保护区 {within(40_000)}；生态保护区 {within(40_000)}），该分区不允许此类项目"
        in zones.message_zh
    ), zones.message_zh
    one_zone = review_item(found, rect(0.2, 0.2, 0.4, 0.4), "planning_conformity", project_type="industrial")
    assert "位于农田保护区，" in one_zone.message_zh and "生态保护区" not in one_zone.message_zh
    admitted = review_item(found, rect(4.2, 4.2, 4.4, 4.4), "planning_conformity", project_type="industrial")
    assert admitted.status == "pass" and "规划用途分区（城镇集中建设区）与项目用途相符" in admitted.message_zh


def test_a_zone_admitted_on_condition_is_not_called_forbidden(found: Blueprint, tmp_path: Path) -> None:
    # a city admitting 城镇集中建设区 on condition only: the */fail wording (不允许) must not say it
    raw = yaml.safe_load(packaged("profiles/ten-point.yaml").read_text(encoding="utf-8"))
    zones = next(c for c in raw["items"][0]["checks"] if c["kind"] == "zone_compatible")
    zones["conditional"]["城镇集中建设区"] = "warn"
    path = tmp_path / "city.yaml"
    path.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    frame = parcel_frame(rect(4.2, 4.2, 4.4, 4.4), project_type="industrial")
    zoned = review(frame, found, profile=str(path)).parcels[0].item("planning_conformity")
    assert zoned.status == "warn" and "所在规划分区需按程序调整规划布局" in zoned.message_zh
    assert "不允许" not in zoned.message_zh


# --- item 7: 高/中易发区, and the steep share's area ---------------------------------------------


def test_geohazard_names_the_levels_and_the_steep_area(found: Blueprint) -> None:
    hazard = review_item(found, rect(7.8, 2.2, 8.2, 2.4), "geohazard", project_type="industrial")
    # both grades in one sentence, the assessment asked once (officer's second read: once per grade)
    assert "位于地质灾害高、中易发区（高 " + within(40_000) + "；中 " + within(40_000) + "）" in hazard.message_zh
    assert hazard.message_zh.count("需地质灾害危险性评估") == 1 and "低" not in hazard.message_zh
    steep = review_item(found, rect(6.2, 3.2, 6.6, 3.6), "geohazard", project_type="industrial")  # all 30°
    assert steep.status == "warn" and "占比 100.0%，约 " + within(160_000) in steep.message_zh
    # the item's area is the one its message states (it was 0.00 m² beside "约 160,000.00 m²": officer's probe)
    assert steep.overlap_m2 == pytest.approx(160_000, abs=0.01) and steep.overlap_ratio == pytest.approx(1.0)
    half = review_item(found, rect(6.9, 3.2, 7.1, 3.4), "geohazard", project_type="industrial")  # its west half 30°
    assert half.status == "warn" and half.overlap_m2 == pytest.approx(20_000, abs=0.01)


# --- item 6: the mineral kind, the right holder ------------------------------------------------


def test_mineral_names_the_kind_and_the_holder(found: Blueprint) -> None:
    right = review_item(found, rect(7.2, 3.2, 7.4, 3.4), "mineral_overlay", project_type="industrial")
    assert "压覆采矿权（矿业权人：济宁某矿业有限公司）" in right.message_zh, right.message_zh
    assert "探矿权" not in right.message_zh
    coal = review_item(found, rect(8.2, 3.2, 8.4, 3.4), "mineral_overlay", project_type="industrial")
    assert "压覆矿产资源（煤）" in coal.message_zh and "调查评估" in coal.message_zh
    assert "采矿权" not in coal.message_zh and "矿业权人：" not in coal.message_zh


def test_a_profile_describing_an_attribute_its_layer_lacks_is_refused(tmp_path: Path) -> None:
    raw = yaml.safe_load(packaged("profiles/ten-point.yaml").read_text(encoding="utf-8"))
    for it in raw["items"]:
        for check in it["checks"]:
            if check.get("layer") == "water_source":
                check["describe"] = {"owner": {"zh": "管理单位", "en": "manager"}}
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    with pytest.raises(ProfileError) as err:
        load_profile(path)
    assert "owner" in err.value.message_en and "water_source" in err.value.message_en


def test_a_profile_whose_exemption_reads_an_attribute_its_layer_lacks_is_refused(tmp_path: Path) -> None:
    """An exemption's ``not_within`` names another layer's attribute: a typo is refused when the profile loads, not
    met as a KeyError in the middle of a review (a read-through)."""
    raw = yaml.safe_load(packaged("profiles/ten-point.yaml").read_text(encoding="utf-8"))
    for it in raw["items"]:
        for check in it["checks"]:
            exempt = check.get("exempt", [])
            for e in [exempt] if isinstance(exempt, dict) else exempt:  # one exemption may be given bare
                if e.get("not_within"):
                    e["not_within"] = {**e["not_within"], "attribute": "zones"}
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    with pytest.raises(ProfileError) as err:
        load_profile(path)
    assert "'zones'" in err.value.message_en and "nature_reserve" in err.value.message_en


# --- item 10: refused far below the standard, reduced between --------------------------------


def test_an_investment_far_below_the_standard_is_refused(found: Blueprint) -> None:
    # 2.56 ha asked for (160 m × 160 m); 100 万元 at 3 000 万元/公顷 supports 0.0333 ha, 1.3 %
    box = rect(4.2, 4.2, 4.36, 4.36)
    result = review(parcel_frame(box, project_type="industrial", investment_wan=100), found)
    standard = result.parcels[0].item("land_use_standard")
    assert standard.status == "fail"
    for figure in ("100 万元", "每公顷 3,000 万元", "申请用地 " + area(25_600), "仅可支持用地 " + area(333.33), "1.3%"):
        assert figure in standard.message_zh, (figure, standard.message_zh)
    assert "不予供地" in standard.message_zh and "核减" not in standard.message_zh
    assert standard.facts.max_area_m2 == pytest.approx(100 / 3000 * 10_000, rel=REL)
    # the area the finding is about, beyond what the investment supports (it was 0.00 m² under 涉及面积: officer)
    assert standard.overlap_m2 == pytest.approx(25_600 - 333.33, abs=0.01)
    assert standard.overlap_ratio == pytest.approx((25_600 - 333.33) / 25_600, abs=1e-6)
    assert [c.code for c in standard.facts.conditions or []] == ["refuse"]
    assert any("国土资发〔2008〕24号" in b for c in standard.facts.conditions or [] for b in c.basis)
    written = opinion(result).parcels[0]
    assert written.verdict_zh == "不通过"
    assert any("不予供地" in f.text for f in written.findings if f.code == "land_use_standard")
    # the English as the Chinese: the 50 % is the profile's value (本方案取值), not the standard table's, and the
    # land not supplied is said once (it read '… below the refusal threshold of 50% (样例标准表); the land is not
    # supplied (不予供地)' after 'no land is supplied': officer's second read of demo D18)
    assert "低于本方案取值 50%" in standard.message_zh, standard.message_zh
    assert standard.message_en.endswith("below the profile's threshold of 50% (本方案取值)"), standard.message_en
    assert standard.message_en.count("supplied") == 1, standard.message_en


@pytest.mark.parametrize(
    ("investment", "status"),
    [
        (3840, "warn"),  # 1.28 ha: exactly half of 2.56 ha, not below it: 核减
        (3839, "fail"),
        (4608, "warn"),  # 60 %
        (7680, "pass"),
    ],
)
def test_the_refusal_threshold(found: Blueprint, investment: float, status: str) -> None:
    box = rect(4.2, 4.2, 4.36, 4.36)
    standard = review_item(found, box, "land_use_standard", project_type="industrial", investment_wan=investment)
    assert standard.status == status, standard.message_zh
    if status == "warn":
        assert "核减" in standard.message_zh and f"项目总投资 {investment:,} 万元" in standard.message_zh


@pytest.mark.parametrize(("investment", "status"), [(3000, "pass"), (1500, "warn")])
def test_item_10_compares_the_areas_it_states(found: Blueprint, investment: float, status: str) -> None:
    """A 1 ha square drawn in the zone's coordinates with its zone number (EPSG:4527) is 10,000.00000018 m² in
    EPSG:4548: against the 1 ha that 3,000 万元 supports it passes, and the 0.5 ha of 1,500 万元 is half of it,
    not below half (an officer's probe: warn and 不予供地 where a square drawn elsewhere passed)."""
    square = shapely.affinity.translate(rect(4.6, 4.2, 4.7, 4.3), 39_000_000)
    assert reproject(np.array([square]), 4527, EPSG)[0].area > 10_000  # the noise this test is about
    item = review_item(
        found, square, "land_use_standard", crs=4527, project_type="industrial", investment_wan=investment
    )
    assert item.status == status, item.message_zh
    assert item.facts.area_m2 == 10_000.0


def test_item_10_says_by_how_much_and_how_far_below(found: Blueprint) -> None:
    """Four decimals of 公顷 wrote 1.0000 for both the parcel and 2,999.99 万元's approved area, and 50.0 % for
    1,499.99 万元's share said to be below 50 %: the excess is stated, the share with the decimals that show it."""
    box = rect(4.6, 4.2, 4.7, 4.3)  # 1 ha
    over = review_item(found, box, "land_use_standard", project_type="industrial", investment_wan=2999.99)
    assert over.status == "warn" and "超出 0.03 m²" in over.message_zh and "0.03 m² (" in over.message_en
    refused = review_item(found, box, "land_use_standard", project_type="industrial", investment_wan=1499.99)
    assert refused.status == "fail"
    assert "（样例标准表：每公顷 3,000 万元）" in refused.message_zh  # the table's figure named, not lantu's 50 %
    assert refused.message_zh.endswith("的 49.9997%，低于本方案取值 50%") and "49.9997% of the" in refused.message_en


def test_the_threshold_is_the_profiles_and_applies_to_its_types(found: Blueprint) -> None:
    refuse = next(
        c.refuse for it in load_profile("ten-point").items for c in it.checks if getattr(c, "refuse", None) is not None
    )
    assert refuse is not None and refuse.share == 0.5 and refuse.project_types == ["industrial"]
    # logistics (not an industrial project under 国土资发〔2008〕24号): reduced, not refused
    box = rect(4.2, 4.2, 4.36, 4.36)
    logistics = review_item(found, box, "land_use_standard", project_type="logistics", investment_wan=10)
    assert logistics.status == "warn" and "核减" in logistics.message_zh


# --- item 10: highway and wind farm say which figure sets the area -------------------------


@pytest.mark.parametrize(
    ("facility", "needs", "indicator", "code"),
    [
        ("highway", "未提供路线长度（公里）", "《公路工程项目建设用地指标》（建标〔2011〕124号）", "no_km"),
        ("wind_farm", "未提供装机容量（兆瓦）", "《电力工程项目建设用地指标（风电场）》（建标〔2011〕209号）", "no_MW"),
    ],
)
def test_per_unit_indicators_name_the_input_they_need(
    found: Blueprint, facility: str, needs: str, indicator: str, code: str
) -> None:
    standard = review_item(found, rect(4.2, 4.2, 4.36, 4.36), "land_use_standard", facility=facility)
    assert standard.status == "warn"
    assert "无控制标准" not in standard.message_zh
    assert needs in standard.message_zh and "样例" in standard.message_zh
    assert [c.code for c in standard.facts.conditions or []] == [code]
    # the figure the table rates by, and no other (公路等级和车道数 were asked for, which no table here reads)
    assert (standard.facts.conditions or [])[0].procedures == [f"提供{needs[3:]}后核定用地规模，或开展节地评价"]
    number = indicator.split("（")[-1].rstrip("）")  # the condition refers back by 文号
    assert (standard.facts.conditions or [])[0].basis[0] == number and any(indicator in b for b in standard.basis)
    assert standard.facts.standard is not None


@pytest.mark.parametrize(
    ("props", "status", "approved_m2", "why"),
    [
        # 2.56 ha against 0.3 km × 7.5 ha/km (sample) = 2.25 ha: reduce; 1 km: 7.5 ha, within
        ({"project_type": "transport", "facility": "highway", "route_km": 0.3}, "warn", 22_500, "路线长度 0.3 公里"),
        ({"project_type": "transport", "facility": "highway", "route_km": 1}, "pass", 75_000, "路线长度 1 公里"),
        # 5 MW × 0.3 ha/MW (sample) = 1.5 ha
        ({"project_type": "energy", "facility": "wind_farm", "power_mw": 5}, "warn", 15_000, "装机容量 5 兆瓦"),
    ],
)
def test_per_unit_indicators_with_the_figure_set_the_approved_area(
    found: Blueprint, props: dict[str, Any], status: str, approved_m2: float, why: str
) -> None:
    standard = review_item(found, rect(4.2, 4.2, 4.36, 4.36), "land_use_standard", **props)
    assert standard.status == status and standard.facts.max_area_m2 == pytest.approx(approved_m2, rel=REL)
    assert why in standard.message_zh and "样例标准表" in standard.message_zh
    assert ("核减" in standard.message_zh) == (status == "warn")
    assert standard.facts.facility == props["facility"]
    # within it, the figure is the whole project's: a part reviewed alone is within it only with the rest
    assert ("应合并核定" in standard.message_zh) == (status == "pass")
    assert ("the indicator rates the whole project" in standard.message_en) == (status == "pass")


@pytest.mark.parametrize(
    ("props", "rated"),
    [
        (
            {"project_type": "transport", "route_km": 1},
            "交通项目按工程类别核定用地（样例标准表：公路按路线长度核定，每公里 7.5 公顷）",
        ),
        (
            {"project_type": "energy", "power_mw": 5},
            "能源项目按工程类别核定用地（样例标准表：风电场按装机容量核定，每兆瓦 0.3 公顷）",
        ),
    ],
)
def test_a_per_unit_indicator_rates_no_project_that_does_not_say_its_kind_of_work(
    found: Blueprint, props: dict[str, Any], rated: str
) -> None:
    """Every energy project was rated a wind farm and every transport one a highway (officer's read): 5 MW of
    anything passed or failed by the 风电场 indicator's 0.3 ha/MW. Without a 工程类别 no area is approved; the
    finding names the kinds the table rates and asks for the project's, citing no indicator."""
    standard = review_item(found, rect(4.2, 4.2, 4.36, 4.36), "land_use_standard", **props)
    assert standard.status == "warn" and standard.facts.max_area_m2 is None and standard.overlap_m2 == 0
    assert standard.message_zh == rated + "，未说明工程类别，需补充工程类别及其规模后核定，或开展节地评价"
    assert "no kind (facility) was given" in standard.message_en
    # the figure the project's type is rated by, not 装机容量 asked of a road (officer's read)
    ptype = props["project_type"]
    assert [c.code for c in standard.facts.conditions or []] == [f"no_facility_{ptype}"]
    (procedure,) = standard.procedures
    asked = ("路线长度（公里）" in procedure, "装机容量（兆瓦）" in procedure)
    assert asked == (ptype == "transport", ptype == "energy")
    assert not any("建标" in b for b in standard.basis)


def test_a_figure_of_another_unit_is_said_not_to_apply(found: Blueprint) -> None:
    """A wind farm given its route length (km) rather than its capacity was asked for the capacity with no word
    of the figure it gave (officer's read)."""
    standard = review_item(found, rect(4.2, 4.2, 4.36, 4.36), "land_use_standard", facility="wind_farm", route_km=12)
    assert "未提供装机容量（兆瓦），所给路线长度不适用于该指标，需补充后核定" in standard.message_zh
    assert "was not given (the route length given does not apply to it)" in standard.message_en
    alone = review_item(found, rect(4.2, 4.2, 4.36, 4.36), "land_use_standard", facility="wind_farm")
    assert "不适用" not in alone.message_zh


@pytest.mark.parametrize(
    ("props", "work"),
    [({"facility": "solar_pv", "power_mw": 5}, "光伏发电站工程"), ({"facility": "power_grid"}, "输变电工程")],
)
def test_a_kind_of_work_the_table_does_not_rate_is_rated_by_its_own_indicator(
    found: Blueprint, props: dict[str, Any], work: str
) -> None:
    """A solar station's 5 MW is not weighed by the wind farm's indicator (1.5 ha approved, 核减 asked), nor a
    railway's 100 km by the highway's (750 ha, passed). Its own national indicator sets the area, 节地评价 where none
    does: "无控制标准" read as if none existed (officer's read)."""
    standard = review_item(found, rect(4.2, 4.2, 4.36, 4.36), "land_use_standard", **props)
    assert standard.status == "warn" and standard.facts.max_area_m2 is None
    assert standard.message_zh == (
        f"样例标准表未列{work}的用地指标（仅风电场按装机容量核定，每兆瓦 0.3 公顷），"
        "应按国家相应的工程项目建设用地指标核定用地规模，无适用指标的开展节地评价"
    )
    assert [c.code for c in standard.facts.conditions or []] == ["unrated"]
    assert standard.procedures == ["按国家相应的工程项目建设用地指标核定用地规模；无适用指标的，开展建设项目节地评价"]
    assert not any("建标" in b for b in standard.basis)
    railway = review_item(found, rect(4.2, 4.2, 4.36, 4.36), "land_use_standard", facility="railway", route_km=100)
    assert railway.message_zh.startswith("样例标准表未列铁路工程的用地指标（仅公路按路线长度核定")


def test_a_facility_implies_its_project_type_and_must_agree_with_one_given(found: Blueprint) -> None:
    box = rect(4.2, 4.2, 4.36, 4.36)
    implied = review(parcel_frame(box, facility="highway", route_km=1), found).parcels[0]
    assert implied.item("land_use_standard").facts.project_type == "transport"
    with pytest.raises(
        InputError, match=r"facility 'highway' \(highway\) is a work of project type 'transport', not of 'energy'"
    ) as mismatch:
        review(parcel_frame(box, project_type="energy", facility="highway"), found)
    assert "属于交通项目，与项目类型 energy 不符" in mismatch.value.message_zh
    with pytest.raises(InputError, match="unknown facility 'maglev'") as unknown:
        review(parcel_frame(box, project_type="transport", facility="maglev"), found)
    assert "highway（公路）" in unknown.value.message_zh


def test_the_papers_state_the_kind_of_work_the_standard_rated(found: Blueprint) -> None:
    """The 工程类别 decides which indicator rated item 10: each paper's 项目类型 says it, the result keeps it, and a
    result stored before it had one still reads (none)."""
    result = review(parcel_frame(rect(4.2, 4.2, 4.36, 4.36), facility="highway", route_km=1), found)
    parcel = result.parcels[0]
    assert parcel.facility == "highway" and parcel.project_type == "transport"
    assert {f.label: f.value for f in opinion(result).parcels[0].project}["项目类型"] == "交通项目（公路）"
    assert {f.label: f.value for f in report_model(result).parcels[0].facts}["项目类型"] == "交通项目（公路）"
    stored = parcel.model_dump(mode="json")
    del stored["facility"]
    assert ParcelResult.model_validate(stored).facility is None


def test_a_finding_cites_no_document_only_a_check_that_found_nothing_rests_on(found: Blueprint) -> None:
    """A 水源二级 finding cites no 自然保护地 rule (officer's read: each item's whole basis was cited whatever it
    found); what a check that found something may rest on stays, whatever its outcome (a read-through: the
    1106 line went beside a failing range, 193号 beside a failing zone), and the city's 完善落地审查 always."""
    items = {i.code: i for i in load_profile("ten-point").items}
    water_only = "；".join(items["protected_areas"].basis_cited("industrial", (False, True)))
    assert "《水污染防治法》" in water_only and "中办发〔2019〕42号" not in water_only
    assert "济政办字〔2020〕52号" in water_only
    assert "中办发〔2019〕42号" in "；".join(items["protected_areas"].basis_cited("industrial", (True, True)))
    flood = items["flood_control"]
    drawn_and_flats = "；".join(flood.basis_cited("industrial", (True, False, True)))
    assert "GB/T 21010—2017" in drawn_and_flats and "第二十二条" in drawn_and_flats


@pytest.mark.parametrize(
    ("props", "cited", "not_cited"),
    [
        ({"project_type": "industrial"}, ["国土资发〔2008〕24号"], ["建标〔2011〕124号", "建标〔2011〕209号"]),
        ({"facility": "highway"}, ["建标〔2011〕124号"], ["国土资发〔2008〕24号", "建标〔2011〕209号"]),
        ({"facility": "wind_farm"}, ["建标〔2011〕209号"], ["国土资发〔2008〕24号", "建标〔2011〕124号"]),
        # the indicator of a kind of work the project is not, or does not say it is, is no basis of its own
        ({"facility": "railway"}, [], ["国土资发〔2008〕24号", "建标〔2011〕124号", "建标〔2011〕209号"]),
        ({"project_type": "energy"}, [], ["国土资发〔2008〕24号", "建标〔2011〕124号", "建标〔2011〕209号"]),
        ({"project_type": "residential"}, [], ["国土资发〔2008〕24号", "建标〔2011〕124号", "建标〔2011〕209号"]),
        ({}, [], ["国土资发〔2008〕24号", "建标〔2011〕124号", "建标〔2011〕209号"]),
    ],
)
def test_item_10_cites_the_national_indicator_of_the_projects_type_only(
    found: Blueprint, props: dict[str, str], cited: list[str], not_cited: list[str]
) -> None:
    """A factory's 审查依据 does not cite the 公路 or 风电场 indicator, nor a railway's the 公路 one; the city's rule
    and 节地评价 always."""
    basis = "；".join(review_item(found, rect(4.2, 4.2, 4.36, 4.36), "land_use_standard", **props).basis)
    assert "济政办字〔2020〕52号" in basis and "国土资源部令第61号" in basis
    assert all(number in basis for number in cited) and not any(number in basis for number in not_cited)


def test_a_report_cites_each_items_basis_once_across_parcels_of_several_types(found: Blueprint) -> None:
    frame = parcel_frame(rect(4.2, 4.2, 4.36, 4.36), rect(4.5, 4.2, 4.66, 4.36), project_type="industrial")
    frame.loc[1, "project_type"] = "transport"
    frame["facility"] = [None, "highway"]
    cited = {f.label: f.value for f in basis_facts(review(frame, found))}["建设用地控制标准（节约集约）"]
    assert cited.count("国土资发〔2008〕24号") == 1 and cited.count("建标〔2011〕124号") == 1
    assert "建标〔2011〕209号" not in cited and cited.count("国土资源部令第61号") == 1


def test_a_typed_basis_naming_an_unknown_project_type_is_refused(tmp_path: Path) -> None:
    raw = yaml.safe_load(packaged("profiles/ten-point.yaml").read_text(encoding="utf-8"))
    raw["items"][-1]["basis"].append({"text": "《某标准》", "project_types": ["spaceport"]})
    path = tmp_path / "typed.yaml"
    path.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    with pytest.raises(ProfileError, match="spaceport"):
        load_profile(path)


def test_a_typed_basis_naming_a_facility_of_another_type_is_refused(tmp_path: Path) -> None:
    raw = yaml.safe_load(packaged("profiles/ten-point.yaml").read_text(encoding="utf-8"))
    standard = next(item for item in raw["items"] if item["code"] == "land_use_standard")
    typed = next(b for b in standard["basis"] if isinstance(b, dict) and b.get("facilities") == ["highway"])
    typed["facilities"] = ["wind_farm"]  # an energy work under a transport entry
    path = tmp_path / "typed.yaml"
    path.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    with pytest.raises(ProfileError, match=r"facilities \['wind_farm'\]"):
        load_profile(path)


@pytest.mark.parametrize(
    ("row", "refused"),
    [
        ("energy,能源项目,,,0.3,MW,,《某指标》", "ha_per_unit without the facility it rates"),
        ("energy,能源项目,,,,,wind_farm,《某指标》", "a facility without ha_per_unit"),
        ("energy,能源项目,,,0.3,MW,highway,《某指标》", "facility 'highway' is no work of project type 'energy'"),
        # an intensity beside a per-unit figure would word a refusal by the wrong figure
        ("energy,能源项目,3000,,0.3,MW,wind_farm,《某指标》", "beside an intensity or a maximum area"),
        ("industrial,工业项目,2000,,,,,", "two rows for 'industrial'"),
    ],
)
def test_a_standard_tables_per_unit_row_names_the_kind_of_work_it_rates(tmp_path: Path, row: str, refused: str) -> None:
    """The sample rated every energy project by the 风电场 figure: a per-unit row names its 工程类别, of its type."""
    table = tmp_path / "standard.csv"
    table.write_text(
        "# label: 测试标准表\nproject_type,name_zh,min_intensity_wan_per_ha,max_area_ha,ha_per_unit,unit,facility,"
        f"indicator\nindustrial,工业项目,3000,,,,,\n{row}\n",
        encoding="utf-8",
    )
    with pytest.raises(ProfileError, match=re.escape(refused)):
        standard_table(table)


def test_a_bad_per_unit_figure_is_refused(found: Blueprint) -> None:
    with pytest.raises(InputError):
        review_item(found, rect(4.2, 4.2, 4.36, 4.36), "land_use_standard", project_type="transport", route_km=-1)


# --- citations ------------------------------------------------------------------------------

DOC_NUMBER = re.compile(r"[\u4e00-\u9fff]+〔\d{4}〕第?\d+号")


def test_documents_are_cited_as_title_then_number() -> None:
    # an item's 审查依据 cites each document in full, 《标题》（文号）; its outcome conditions refer back by 文号
    profile = load_profile("ten-point")
    for text in (*(b for it in profile.items for b in it.cited), *profile.siting.basis):
        for m in DOC_NUMBER.finditer(text):
            before, after = text[: m.start()], text[m.end() :]
            assert before.endswith("》（") and after.startswith("）"), (m.group(), text)
    for it in profile.items:
        full = "".join(it.cited)
        for c in it.checks:
            for o in c.conditions.values():
                for b in o.basis:
                    for m in DOC_NUMBER.finditer(b):
                        assert f"》（{m.group()}）" in full, (it.code, m.group())
    cited = [
        *(b for it in profile.items for b in it.cited),
        *(b for it in profile.items for c in it.checks for o in c.conditions.values() for b in o.basis),
    ]
    mineral_law = [b for b in cited if "矿产资源法" in b]
    assert mineral_law and all("中华人民共和国矿产资源法》（2024年" in b for b in mineral_law)
    assert any("2024年11月8日修订，2025年7月1日起施行" in b for b in profile.items[5].cited)
    assert not [b for b in mineral_law if "第三十三条" in b or "2009" in b]


def test_no_condition_cites_a_section_with_a_gloss_in_brackets() -> None:
    """An outcome's basis is said in the opinion's （依据：…） and the report's notes: 自然资发〔2022〕142号 一（一）
    （生态保护红线内允许的有限人为活动） closed three brackets in a row after a condition that had just said the same
    (属生态保护红线内允许的有限人为活动), as did 142号 二（…） and 济政办字〔2020〕52号 三（一）3（…） (officer's
    read). A section is cited by its number; what it says is the condition's."""
    for item in load_profile("ten-point").items:
        for check in item.checks:
            for code, said in check.conditions.items():
                for reference in said.basis:
                    assert "）（" not in f"（依据：{reference}）", (item.code, code, reference)
