"""Important wetlands as 《湿地保护法》第十九条 has them: 禁止占用国家重要湿地, national major projects
excepted whatever their type (the exemption once held for four types only, so a major public-service
project was refused with the exception quoted in its own message), the State Council's forestry and
grassland authority consulted for a national one; a 省级重要湿地 avoided or kept small, with the
authorised department's opinion, not refused; a wetland of no stated level reviewed as a national one."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from support import RectLayers, rect, rect_blueprint, review_item

from geo.blueprint import Blueprint, load_blueprint
from geo.review import ItemResult

LAYERS: RectLayers = {
    "county": [((0, 0, 4, 1), {"code": "370811", "name": "任城区"})],
    "land_use": [((0, 0, 4, 1), {"class_code": "1106"})],  # 内陆滩涂 throughout
    "important_wetland": [
        ((0, 0, 1, 1), {"level": "国家重要湿地"}),
        ((1, 0, 2, 1), {"level": "省级重要湿地"}),
        ((2, 0, 3, 1), {"level": None}),
    ],
}
NATIONAL, PROVINCIAL, UNSTATED = rect(0.2, 0.2, 0.4, 0.4), rect(1.2, 0.2, 1.4, 0.4), rect(2.2, 0.2, 2.4, 0.4)


@pytest.fixture(scope="module")
def wetlands(tmp_path_factory: pytest.TempPathFactory) -> Blueprint:
    return load_blueprint(rect_blueprint(tmp_path_factory.mktemp("wet") / "bp", LAYERS, slope=None))


def wetland_item(blueprint: Blueprint, box: Any, **props: Any) -> ItemResult:
    return review_item(blueprint, box, "forest_grass_wetland", **props)


@pytest.mark.parametrize("project_type", ["public_service", "industrial", "transport"])
def test_a_national_major_project_of_any_type_is_conditional_with_the_state_councils_opinion(
    wetlands: Blueprint, project_type: str
) -> None:
    found = wetland_item(wetlands, NATIONAL, project_type=project_type, major_project=True)
    assert found.status == "warn"
    assert any("国务院林业草原主管部门" in p for p in found.procedures)
    # the claim is verified first (the flag is the applicant's word): it moves only where the claim fails
    verify, *steps = found.procedures
    assert verify.startswith("核实项目属于国家重大项目") and verify.endswith("不属于的调整选址避让重要湿地")
    assert not any("调整选址" in p for p in steps)
    # a wetland of no stated level is reviewed as national: the State Council's opinion is asked outright, not "涉及
    # 国家重要湿地的" (officer's read of D23 beside D13's reading of the same layer)
    unstated = wetland_item(wetlands, UNSTATED, project_type=project_type, major_project=True)
    assert "征求国务院林业草原主管部门意见" in unstated.procedures
    assert not any("涉及国家重要湿地的" in p for p in [*unstated.procedures, unstated.message_zh])


@pytest.mark.parametrize("box", [NATIONAL, UNSTATED], ids=["national", "no-level"])
def test_an_ordinary_project_in_a_national_or_unstated_important_wetland_is_refused(
    wetlands: Blueprint, box: Any
) -> None:
    found = wetland_item(wetlands, box, project_type="public_service")
    assert found.status == "fail"
    assert "调整选址，避让国家重要湿地" in found.procedures


def test_a_provincial_important_wetland_is_avoided_or_kept_small_not_refused(wetlands: Blueprint) -> None:
    found = wetland_item(wetlands, PROVINCIAL, project_type="industrial")
    assert found.status == "warn"
    assert "省级重要湿地" in found.message_zh
    assert "征求县级以上地方人民政府授权部门的意见" in found.procedures
    assert not any("调整选址" in p for p in found.procedures)
    # restoration or the fee (湿地保护法第二十一条: 重要湿地, 省级 among them), and 占用湿地's steps said once, within
    # its own (officer's second read: twice, and no fee)
    assert any("湿地恢复费" in p for p in found.procedures) and "湿地恢复费" in found.message_zh
    assert found.message_zh.count("应当尽量减少占用") == 1, found.message_zh
    assert not any(p.startswith("避让湿地") for p in found.procedures), found.procedures


def test_a_finding_cites_the_articles_its_words_rest_on(wetlands: Blueprint, tmp_path: Path) -> None:
    """A citation was matched by the law's title, so a finding cited every article of a law its item uses: a plain
    湿地 finding (第十九条: 避让、减少占用) cited 第二十一条 (重要湿地's restoration or 湿地恢复费), forest land alone
    《草原法》 and 《湿地保护法》, a 河湖管理范围 the 蓄滞洪区's 第三十三条. It now cites the articles its outcomes
    refer to, from the same conditions (no second table); the 三调 water surface rests on 第二十一条 as well (it is
    a range as water), said once beside the drawn range's outcome, on the basis of both (officer's read)."""
    plain = "；".join(wetland_item(wetlands, rect(3.2, 0.2, 3.4, 0.4), project_type="logistics").basis)
    assert "《湿地保护法》第十九条" in plain and "第二十一条" not in plain, plain
    assert "《森林法》" not in plain and "《草原法》" not in plain and "济政办字〔2020〕52号" in plain
    national = "；".join(wetland_item(wetlands, NATIONAL, project_type="public_service").basis)
    assert "第十九条" in national and "第二十一条" not in national  # refused: it moves, nothing to restore
    provincial = "；".join(wetland_item(wetlands, PROVINCIAL, project_type="industrial").basis)
    assert "第十九条" in provincial and "第二十一条" in provincial
    layers = {
        "county": [((0, 0, 2, 1), {"code": "370811", "name": "任城区"})],
        "land_use": [((0, 0, 1, 1), {"class_code": "1102"}), ((1, 0, 2, 1), {"class_code": "0601"})],
        "flood_river": [((1, 0, 2, 1), {"kind": "河湖管理范围"})],
    }
    river = load_blueprint(rect_blueprint(tmp_path / "bp", layers, slope=None))
    drawn = review_item(river, rect(1.2, 0.2, 1.4, 0.4), "flood_control", project_type="industrial")
    assert [b.split("（")[0] for b in drawn.basis] == ["《防洪法》第二十二条"], drawn.basis
    lake = review_item(river, rect(0.2, 0.2, 0.4, 0.4), "flood_control", project_type="industrial")
    assert any(b.startswith("《防洪法》第二十一条、《河道管理条例》第二十条") for b in lake.basis), lake.basis
    both = review_item(river, rect(0.8, 0.2, 1.2, 0.4), "flood_control", project_type="industrial")
    assert both.facts.conditions is not None and len(both.facts.conditions) == 1
    assert both.facts.conditions[0].basis == ["《防洪法》第二十一条、第二十二条", "《河道管理条例》第二十条"]
