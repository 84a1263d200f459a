"""Verdicts and conditions a bureau officer would overturn, on small rectangles.

生态保护红线内允许的有限人为活动 (自然资发〔2022〕142号 一（一）) decide the same way wherever the rule
reaches: the red line (item 4), the planning zone that is the red line (生态保护区, item 1) and the
general control zone of a nature reserve (item 5, 中办发〔2019〕42号); industry and resorts are not
among them and fail, a patrol post or a water-supply station that says it is one is conditional.
An important wetland that refuses a parcel leaves only 避让 (《湿地保护法》第十九条), and a 重大项目's
wetland steps are said once; a parcel partly outside the urban boundary says 部分位于."""

from __future__ import annotations

import re
from typing import Any

import pytest
import shapely
from support import RectLayers, parcel_frame, rect, rect_blueprint

from geo.blueprint import Blueprint, load_blueprint
from geo.opinion import opinion
from geo.review import ParcelResult, review
from geo.review.profile import Exemption, OverlapCheck, load_profile

# [0,2]×[0,1] km is 生态保护区 and red line; its west half a reserve's 一般控制区, its east half 核心保护区
LAYERS: RectLayers = {
    "county": [((0, 0, 4, 1), {"code": "370811", "name": "任城区"})],
    "urban_boundary": [((3, 0, 4, 1), {})],
    "planned_use": [((0, 0, 2, 1), {"zone": "生态保护区"}), ((2, 0, 4, 1), {"zone": "城镇集中建设区"})],
    "ecological_redline": [((0, 0, 2, 1), {})],
    "nature_reserve": [((0, 0, 1, 1), {"zone": "一般控制区"}), ((1, 0, 2, 1), {"zone": "核心保护区"})],
    "water_source": [((3.5, 0.5, 4, 1), {"level": "准保护区"})],  # item 5's other layer, away from the parcels
    # [2,3]×[0,1]: 内陆滩涂 (a 湿地 class), its west half an important wetland
    "land_use": [
        ((0, 0, 2, 1), {"class_code": "0601"}),
        ((2, 0, 3, 1), {"class_code": "1106"}),
        ((3, 0, 4, 1), {"class_code": "0601"}),
    ],
    "important_wetland": [((2, 0, 2.5, 1), {})],
}
GENERAL = rect(0.2, 0.2, 0.4, 0.4)  # 生态保护区, red line, 一般控制区
CORE = rect(1.2, 0.2, 1.4, 0.4)  # 生态保护区, red line, 核心保护区


@pytest.fixture(scope="module")
def eco(tmp_path_factory: pytest.TempPathFactory) -> Blueprint:
    return load_blueprint(rect_blueprint(tmp_path_factory.mktemp("eco") / "bp", LAYERS, slope=None))


def one(blueprint: Blueprint, geom: shapely.Geometry, **props: Any) -> ParcelResult:
    return review(parcel_frame(geom, **props), blueprint).parcels[0]


def statuses(parcel: ParcelResult) -> dict[str, str]:
    return {c: parcel.item(c).status for c in ("planning_conformity", "ecological_redline", "protected_areas")}


@pytest.mark.parametrize(
    ("props", "expected"),
    [
        # 供水站场 (D06): 必须且无法避让的供水设施 — items 1, 4, 5 conditional alike
        ({"project_type": "infrastructure", "redline_exempt": True}, ("warn", "warn", "warn")),
        # 巡护驿站 (D20): 管护巡护、保护执法
        ({"project_type": "public_service", "redline_exempt": True}, ("warn", "warn", "warn")),
        # a national major project: 不可避让论证 in items 1 and 4, as in 5
        ({"project_type": "transport", "major_project": True}, ("warn", "warn", "warn")),
        # industry (D05) and a resort (D11) are no limited activity, flag or not: every item fails
        ({"project_type": "industrial"}, ("fail", "fail", "fail")),
        ({"project_type": "industrial", "redline_exempt": True}, ("fail", "fail", "fail")),
        ({"project_type": "commercial", "redline_exempt": True}, ("fail", "fail", "fail")),
        # a patrol post that does not claim the exemption is judged as any building
        ({"project_type": "public_service"}, ("fail", "fail", "fail")),
    ],
)
def test_limited_activities_decide_alike_in_items_1_4_and_5(
    eco: Blueprint, props: dict[str, Any], expected: Any
) -> None:
    parcel = one(eco, GENERAL, **props)
    assert tuple(statuses(parcel).values()) == expected
    if expected[0] == "warn":  # the same outcome, worded the same, in item 1 as in item 4
        flag = "redline_exempt" if props.get("redline_exempt") else "major_project"
        zone, red = (
            {c.code: (c.condition_zh, c.procedures) for c in parcel.item(code).facts.conditions or []}
            for code in ("planning_conformity", "ecological_redline")
        )
        assert zone[flag] == red[flag] and "fail" not in zone


def test_general_control_zone_refuses_development_with_its_own_condition(eco: Blueprint) -> None:
    item = one(eco, GENERAL, project_type="commercial").item("protected_areas")
    assert item.status == "fail" and item.overlap_m2 == pytest.approx(40_000, rel=1e-4)
    assert [c.code for c in item.facts.conditions or []] == ["一般控制区"]
    assert any("避让自然保护地" in p for p in item.procedures)
    assert not any("征得" in p for p in item.procedures)


def test_core_zone_is_not_opened_by_a_limited_activity(eco: Blueprint) -> None:
    """自然资发〔2022〕142号 一（一） allows the limited activities in the red line outside a 自然保护地's 核心保护区
    only: items 1 and 4 called red-line land in a core zone an allowed activity while item 5 refused it (officer's
    probe). All three refuse it now, and a parcel across both zones is softened where the rule allows it."""
    parcel = one(eco, CORE, project_type="public_service", redline_exempt=True)
    assert parcel.item("protected_areas").status == "fail"  # 核心保护区原则上禁止人为活动
    assert statuses(parcel) == {"planning_conformity": "fail", "ecological_redline": "fail", "protected_areas": "fail"}
    assert "有限人为活动" not in parcel.item("ecological_redline").message_zh
    # a parcel across both zones: the core part still forbids it, in every item
    across = one(eco, rect(0.9, 0.2, 1.1, 0.4), project_type="public_service", redline_exempt=True)
    assert set(statuses(across).values()) == {"fail"}
    # beside the core zone (a metre off it) the activity is allowed as before
    beside = one(eco, rect(0.8, 0.2, 0.999, 0.4), project_type="public_service", redline_exempt=True)
    assert set(statuses(beside).values()) == {"warn"}


@pytest.mark.parametrize(
    ("props", "status", "codes"),
    [
        # refused (D13, D15, D22): the wetland's 占用论证 goes; 调整选址 remains
        ({"project_type": "logistics"}, "fail", ["fail"]),
        # a national major project (D23): its 不可避让论证…修复 covers 占用湿地's steps; said once
        ({"project_type": "transport", "major_project": True}, "warn", ["major_project"]),
    ],
)
def test_important_wetland_conditions_do_not_contradict_or_repeat(
    eco: Blueprint, props: dict[str, Any], status: str, codes: list[str]
) -> None:
    item = one(eco, rect(2.2, 0.2, 2.4, 0.4), **props).item("forest_grass_wetland")
    assert item.status == status
    assert [c.code for c in item.facts.conditions or []] == codes
    assert not any(p.startswith("避让湿地") for p in item.procedures)
    assert any(("调整选址" in p) == (status == "fail") for p in item.procedures)
    # nor does its finding say the wetland's step: beside 调整选址 (refused), or inside the major project's own
    assert "湿地应当避让" not in item.message_zh, item.message_zh
    # off the important wetland, the 湿地 class alone still asks to avoid it or keep it small (湿地保护法第十九条)
    plain = one(eco, rect(2.7, 0.2, 2.9, 0.4), **props).item("forest_grass_wetland")
    assert plain.status == "warn" and any(p.startswith("避让湿地") for p in plain.procedures)
    assert plain.message_zh.endswith("，湿地应当避让，无法避让的应当尽量减少占用"), plain.message_zh


@pytest.mark.parametrize(("box", "words"), [(rect(2.9, 0.2, 3.1, 0.4), "部分位于"), (GENERAL, "全部位于")])
def test_outside_the_urban_boundary_says_how_much(eco: Blueprint, box: shapely.Geometry, words: str) -> None:
    item = one(eco, box, project_type="industrial").item("planning_conformity")
    assert item.status == "fail" and f"{words}城镇开发边界外" in item.message_zh


def test_an_outcome_two_items_share_is_one_condition(eco: Blueprint) -> None:
    # a water-supply station in 生态保护区 and the red line (D06): one 认定意见, naming both items
    conditions = (
        opinion(review(parcel_frame(GENERAL, project_type="infrastructure", redline_exempt=True), eco))
        .parcels[0]
        .conditions
    )
    assert [c for c in conditions if "认定意见" in c] == [
        next(c for c in conditions if c.startswith("【规划符合性、生态保护红线】属生态保护红线内允许的有限人为活动"))
    ]


# [1,2]×[0,1] km is 生态保护区 and red line, between a 一般农业区 and a 城镇弹性发展区
ZONES: RectLayers = {
    "county": [((0, 0, 3, 1), {"code": "370811", "name": "任城区"})],
    "urban_boundary": [((2, 0, 3, 1), {})],
    "planned_use": [
        ((0, 0, 1, 1), {"zone": "一般农业区"}),
        ((1, 0, 2, 1), {"zone": "生态保护区"}),
        ((2, 0, 3, 1), {"zone": "城镇弹性发展区"}),
    ],
    "ecological_redline": [((1, 0, 2, 1), {})],
    "land_use": [((0, 0, 3, 1), {"class_code": "0601"})],
}


@pytest.fixture(scope="module")
def zones(tmp_path_factory: pytest.TempPathFactory) -> Blueprint:
    return load_blueprint(rect_blueprint(tmp_path_factory.mktemp("zones") / "bp", ZONES, slope=None))


def test_an_exemption_states_its_own_area_and_leaves_the_other_findings(zones: Blueprint) -> None:
    """A 有限人为活动 across the 生态保护区 and a 城镇弹性发展区: the exemption spoke for the whole parcel
    ("涉及 40,000.00 m²") and the 弹性区's 布局调整 was lost from the item and the opinion (officer's probe)."""
    item = one(zones, rect(1.9, 0.2, 2.1, 0.4), project_type="water_conservancy", redline_exempt=True).item(
        "planning_conformity"
    )
    assert item.status == "warn"
    assert "申报为生态保护红线内允许的有限人为活动，需省级人民政府认定意见（涉及 20,000.00 m²" in item.message_zh
    assert "位于城镇弹性发展区" in item.message_zh and "flexible urban development zone" in item.message_en
    # the half outside the urban boundary is the boundary check's own (warn)
    assert {c.code for c in item.facts.conditions or []} == {"warn", "redline_exempt", "城镇弹性发展区"}
    assert any("布局调整" in p for p in item.procedures) and any("省级人民政府" in p for p in item.procedures)


def test_an_exemption_softens_the_zone_it_covers_beside_one_that_fails(zones: Blueprint) -> None:
    """A patrol post across a 一般农业区 (which does not admit it) and the 生态保护区: item 1 said the 生态保护区
    does not admit it while item 4 called the same land a limited activity; now both say so, and item 1 still
    fails for the 一般农业区 alone, with only its own steps."""
    parcel = one(zones, rect(0.9, 0.2, 1.1, 0.4), project_type="public_service", redline_exempt=True)
    zone, red = parcel.item("planning_conformity"), parcel.item("ecological_redline")
    assert (zone.status, red.status) == ("fail", "warn")
    assert "位于生态保护区，申报为生态保护红线内允许的有限人为活动" in zone.message_zh
    assert "位于一般农业区，该分区不允许此类项目（涉及 20,000.00 m²" in zone.message_zh
    assert "位于生态保护区（" not in zone.message_zh
    assert [c.code for c in zone.facts.conditions or []] == ["fail"]  # a failed item keeps its failing steps


def test_a_sliver_of_the_ecological_zone_counts_in_item_1_as_the_red_line_does_in_item_4(zones: Blueprint) -> None:
    """5 m² of a 15 ha parcel in the 生态保护区 (the red line's land): item 4 failed it (any occupation above
    1 m²) while item 1 said the zones admitted the project, the sliver being within the relative tolerance."""
    result = review(parcel_frame(rect(0.4, 0.2, 1.00002, 0.45), project_type="infrastructure"), zones)
    parcel = result.parcels[0]
    zone, red = parcel.item("planning_conformity"), parcel.item("ecological_redline")
    assert red.status == "fail" and red.overlap_m2 == pytest.approx(5.0, abs=0.01)
    assert zone.status == "fail" and "位于生态保护区，该分区不允许此类项目（涉及 5.00 m²" in zone.message_zh
    assert "planned_use:生态保护区" in result.tolerance.strict


def plain_message(woods: Blueprint) -> str:
    return one(woods, rect(1.2, 0.2, 1.4, 0.4), project_type="infrastructure").item("forest_grass_wetland").message_zh


def test_forest_land_in_public_welfare_forest_asks_for_one_approval(tmp_path: Any) -> None:
    """Forest land in a 公益林: one 使用林地审核, at the 省级 level the 公益林 needs; the 县级 step of plain forest
    land was listed beside it, two authorities for one approval (officer's probe)."""
    layers = {
        "county": [((0, 0, 2, 1), {"code": "370811", "name": "任城区"})],
        "land_use": [((0, 0, 2, 1), {"class_code": "0301"})],
        "protected_forest": [((0, 0, 1, 1), {})],
    }
    woods = load_blueprint(rect_blueprint(tmp_path / "bp", layers, slope=None))
    inside = one(woods, rect(0.2, 0.2, 0.4, 0.4), project_type="infrastructure").item("forest_grass_wetland")
    assert [p for p in inside.procedures if "使用林地审核" in p] == [
        "办理使用林地审核（限于可使用的建设项目范围，省级以上林业主管部门审核）"
    ]
    # Ⅰ级保护林地 no construction project may use (35号令第四条（一）): the level is verified first
    assert inside.procedures[0] == "核实林地保护等级：属Ⅰ级保护林地的调整选址"
    assert "Ⅰ级保护林地各类建设项目不得使用" in inside.message_zh
    # the 公益林's approval includes plain forest land's: its step is not said beside it
    assert "需办理使用林地/草原审核" not in inside.message_zh, inside.message_zh
    assert "需办理使用林地/草原审核" in plain_message(woods)
    plain = one(woods, rect(1.2, 0.2, 1.4, 0.4), project_type="infrastructure").item("forest_grass_wetland")
    assert [p for p in plain.procedures if "使用林地审核" in p] == ["办理使用林地审核（县级以上林业主管部门）"]


def test_each_exemption_claimed_softens_what_the_ones_before_it_left(eco: Blueprint) -> None:
    """Exemptions are tried in turn on the pieces still forbidden: the first that covered any piece used to stop
    the others, so a piece a later one covers failed (a read-through; no shipped profile has two such)."""
    profile = load_profile("ten-point").model_copy(deep=True)  # the shipped one is cached: not to be edited
    item = next(i for i in profile.items if i.code == "protected_areas")
    check = next(c for c in item.checks if getattr(c, "layer", None) == "nature_reserve")
    assert isinstance(check, OverlapCheck)
    first = Exemption(
        flag="major_project", values=["核心保护区"], status="warn", note_zh="重大项目甲", note_en="major A"
    )
    second = Exemption(
        flag="redline_exempt", values=["一般控制区"], status="warn", note_zh="有限活动乙", note_en="limited B"
    )
    check.exempt = [first, second]
    frame = parcel_frame(
        rect(0.9, 0.2, 1.1, 0.4), project_type="public_service", major_project=True, redline_exempt=True
    )
    found = review(frame, eco, profile=profile).parcels[0].item("protected_areas")
    assert found.status == "warn", found.message_zh
    assert "重大项目甲（涉及 20,000.00 m²" in found.message_zh and "有限活动乙（涉及 20,000.00 m²" in found.message_zh


# --- areas read in m², 公顷 and 亩, with no bracket opened inside another ------------------------------------

# [0,2]×[0,1] km inside the urban boundary: 城镇集中建设区 west of 1, 城镇弹性发展区 east of it; 一般农业区 beyond 2.
# 水田 (10 % 田坎) west of 0.5, 旱地 to 1, 内陆滩涂 from 3, its west half an important wetland
UNITS_LAYERS: RectLayers = {
    "county": [((0, 0, 4, 1), {"code": "370811", "name": "任城区"})],
    "urban_boundary": [((0, 0, 2, 1), {})],
    "planned_use": [
        ((0, 0, 1, 1), {"zone": "城镇集中建设区"}),
        ((1, 0, 2, 1), {"zone": "城镇弹性发展区"}),
        ((2, 0, 4, 1), {"zone": "一般农业区"}),
    ],
    "land_use": [
        ((0, 0, 0.5, 1), {"class_code": "0101", "deduction_ratio": 0.1}),
        ((0.5, 0, 1, 1), {"class_code": "0103"}),
        ((1, 0, 3, 1), {"class_code": "0601"}),
        ((3, 0, 4, 1), {"class_code": "1106"}),
    ],
    "important_wetland": [((3, 0, 3.5, 1), {})],
}
# one area in the three units, as a finding or the quota paragraph writes it: in a bracket of its own, or inside one
_THREE_UNITS = re.compile(
    r"[\d,]+\.\d{2}平方米(?:（[\d,]+\.\d{4}公顷，[\d,]+\.\d{2,4}亩[）；]|，合[\d,]+\.\d{4}公顷、[\d,]+\.\d{2,4}亩)"
)
_AREA_FIGURE = re.compile(r"[\d,.]+ ?(?:平方米|m²|公顷|亩)")


def _bracket_in_bracket(text: str) -> list[str]:
    """The bracketed passages opened inside another bracket that hold an area."""
    found, opened = [], []
    for at, char in enumerate(text):
        if char == "（":
            opened.append(at)
        elif char == "）" and opened:
            start = opened.pop()
            if opened and _AREA_FIGURE.search(text[start:at]):
                found.append(text[opened[-1] : at + 1])
    return found


def test_every_area_reads_in_three_units_without_a_bracket_in_a_bracket(tmp_path: Any) -> None:
    """The product's rule: 亩 and 公顷 beside m² wherever an area is stated for a person to read. Item 3 gave its
    classes in m² alone, item 10 公顷 alone, the opinion's 用地指标 公顷 and 亩 alone; areas in brackets opened a
    bracket in a bracket (位于城镇弹性发展区（面积 12,747.65 m²（1.2748 公顷，19.12 亩））), and an area after a note
    ending in one a second beside it (占用湿地（内陆滩涂）（涉及 …）) (officer's read)."""
    import geopandas as gpd
    from support import EPSG

    blueprint = load_blueprint(rect_blueprint(tmp_path / "bp", UNITS_LAYERS, slope=None))
    rows = [
        # 水田 with 田坎 and 旱地; 8 ha where 18,000 万元 supports 6 (item 10 over the standard, under half)
        (rect(0.3, 0.2, 0.7, 0.4), {"id": "A", "project_type": "industrial", "investment_wan": 18_000}),
        # across 城镇弹性发展区 and 一般农业区, partly outside the boundary: each zone with its area
        (rect(1.8, 0.2, 2.4, 0.4), {"id": "B", "project_type": "industrial", "investment_wan": 90_000}),
        # 内陆滩涂 on an important wetland: two findings whose notes end in brackets
        (rect(3.2, 0.2, 3.4, 0.4), {"id": "C", "project_type": "logistics", "investment_wan": 90_000}),
        # a pass of item 10 and a quota set
        (rect(0.1, 0.5, 0.3, 0.7), {"id": "D", "project_type": "industrial", "investment_wan": 90_000}),
    ]
    frame = gpd.GeoDataFrame([p for _, p in rows], geometry=[g for g, _ in rows], crs=EPSG)
    result = review(frame, blueprint)
    drafted = opinion(result)
    a, b, _, d = drafted.parcels
    texts = [f.text for p in drafted.parcels for f in p.findings] + [p.quota for p in drafted.parcels]
    for text in texts:
        assert "）（" not in text, text
        assert _bracket_in_bracket(text) == [], text
        rest = _THREE_UNITS.sub("", re.sub(r"每(?:公顷|公里|兆瓦)[\d,. ]*(?:万元|公顷)?", "", text))
        assert not _AREA_FIGURE.search(rest), (text, _AREA_FIGURE.findall(rest))
    cultivated = next(f.text for f in a.findings if f.code == "cultivated_land")
    assert "其中水田36,000.00平方米（3.6000公顷，54.00亩）、旱地40,000.00平方米（4.0000公顷，60.00亩）" in cultivated
    assert "已扣除田坎，图斑面积80,000.00平方米，合8.0000公顷、120.00亩" in cultivated
    standard = next(f.text for f in a.findings if f.code == "land_use_standard")
    assert "用地80,000.00平方米（8.0000公顷，120.00亩），按项目总投资18,000万元、" in standard
    assert "核定面积60,000.00平方米（6.0000公顷，90.00亩）" in standard
    zones = next(f.text for f in b.findings if f.code == "planning_conformity")
    assert "位于城镇弹性发展区（面积40,000.00平方米，合4.0000公顷、60.00亩）" in zones
    wetland = result.parcels[2].item("forest_grass_wetland").message_zh  # the opinion leaves out the total
    assert "占用湿地（内陆滩涂），涉及 40,000.00 m²（4.0000 公顷，60.00 亩）" in wetland
    for message in (i.message_zh for p in result.parcels for i in p.items):
        assert "）（" not in message and _bracket_in_bracket(message) == [], message
    assert "用地总面积40,000.00平方米（4.0000公顷，60.00亩）" in d.quota
    assert "农用地中耕地36,000.00平方米（3.6000公顷，54.00亩），其中水田36,000.00平方米" in d.quota
