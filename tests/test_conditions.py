"""Conditions and procedures per outcome: a parcel's opinion, report notes and result list exactly the
procedures of the outcome that occurred (国家重大项目 vs 一般项目 on 永久基本农田, 有限人为活动 vs 国家重大
on the red line, 采矿权 vs 查明矿产, 蓄滞洪区 vs 河湖管理范围…), never another outcome's."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from support import parcel_frame, rect, rect_blueprint

from geo.blueprint import Blueprint, load_blueprint
from geo.errors import ProfileError
from geo.opinion import opinion
from geo.report_model import report_model
from geo.resources import packaged
from geo.review import ParcelResult, load_profile, review

Rect = tuple[float, float, float, float]
LAYERS: dict[str, list[tuple[Rect, dict[str, Any]]]] = {
    "county": [((0, 0, 10, 5), {"code": "370811", "name": "任城区"})],
    "land_use": [
        ((6, 0, 7, 1), {"class_code": "0301"}),  # 乔木林地
        ((7, 0, 8, 1), {"class_code": "0404"}),  # 其他草地
        ((0, 0, 6, 1), {"class_code": "0601"}),
        ((8, 0, 10, 5), {"class_code": "0601"}),
        ((0, 1, 8, 5), {"class_code": "0601"}),
    ],
    "basic_farmland": [((1, 0, 2, 1), {})],
    "ecological_redline": [((2, 0, 3, 1), {})],
    "geohazard": [((3, 0, 4, 1), {"level": "高"})],
    "mineral": [((4, 0, 5, 1), {"kind": "采矿权"}), ((5, 0, 6, 1), {"kind": "查明重要矿产资源"})],
    "flood_river": [((8, 0, 9, 1), {"kind": "蓄滞洪区"}), ((9, 0, 10, 1), {"kind": "河湖管理范围"})],
    "heritage": [((0, 2, 1, 3), {"zone": "建设控制地带"}), ((1, 2, 2, 3), {"zone": "保护范围"})],
    "buried_heritage": [((2, 2, 3, 3), {})],
    "water_source": [((3, 3, 4, 4), {"level": "一级"})],
}


@pytest.fixture(scope="module")
def outcomes(tmp_path_factory: pytest.TempPathFactory) -> Blueprint:
    return load_blueprint(rect_blueprint(tmp_path_factory.mktemp("outcomes") / "bp", LAYERS, slope=(6, 4, 7, 5)))


def inner(x: float, y: float) -> Rect:
    """A 200 m square inside the 1 km cell at (x, y)."""
    return (x + 0.2, y + 0.2, x + 0.4, y + 0.4)


IND = {"project_type": "industrial"}
# (parcel, project, item, outcome code, a phrase of this outcome's procedures, phrases of the item's other outcomes)
CASES = [
    (inner(1, 0), IND, "basic_farmland", "fail", "调整选址或用地范围", ["踏勘论证", "勘测定界"]),
    (
        inner(1, 0),
        {"project_type": "transport", "major_project": True},
        "basic_farmland",
        "major_project",
        "踏勘论证",
        ["调整选址或用地范围", "勘测定界"],
    ),
    # 1 km² reaching 8 cm into the farmland: 80 m², within 0.01 % of the parcel but over the 1 m² strict minimum
    ((0.00008, 0, 1.00008, 1), IND, "basic_farmland", "minor", "勘测定界", ["踏勘论证"]),
    (
        inner(2, 0),
        {"project_type": "transport", "major_project": True},
        "ecological_redline",
        "major_project",
        "不可避让论证",
        ["认定意见", "调整选址，避让生态保护红线"],
    ),
    (
        inner(2, 0),
        {"project_type": "infrastructure", "redline_exempt": True},
        "ecological_redline",
        "redline_exempt",
        "认定意见",
        ["不可避让论证", "调整选址，避让生态保护红线"],
    ),
    (inner(2, 0), IND, "ecological_redline", "fail", "避让生态保护红线", ["认定意见"]),
    (inner(3, 0), IND, "geohazard", "warn", "地质灾害危险性评估", ["工程地质论证"]),
    (inner(4, 0), IND, "mineral_overlay", "采矿权", "补偿协议", ["调查评估"]),
    (inner(5, 0), IND, "mineral_overlay", "查明重要矿产资源", "压覆重要矿产资源审批", ["补偿协议"]),
    (inner(6, 0), IND, "forest_grass_wetland", "forest", "使用林地审核", ["草原", "湿地"]),
    (inner(7, 0), IND, "forest_grass_wetland", "grassland", "草原征收", ["使用林地", "湿地"]),
    (inner(8, 0), IND, "flood_control", "蓄滞洪区", "洪水影响评价", ["防洪评价", "避让河道"]),
    (
        inner(9, 0),
        {"project_type": "water_conservancy"},
        "flood_control",
        "河湖管理范围/warn",
        "防洪评价",
        ["洪水影响评价", "避让河道"],
    ),
    (inner(9, 0), IND, "flood_control", "河湖管理范围/fail", "避让河道", ["防洪评价"]),
    (inner(0, 2), IND, "cultural_heritage", "建设控制地带", "工程设计方案", ["核定公布", "考古"]),
    (inner(1, 2), IND, "cultural_heritage", "保护范围", "核定公布", ["工程设计方案", "考古"]),
    (inner(2, 2), IND, "cultural_heritage", "warn", "考古调查、勘探", ["工程设计方案"]),
    # a sliver of a strict value with no `minor` wording: the value's own outcome, not a bare note
    ((2.00008, 3, 3.00008, 4), IND, "protected_areas", "一级/fail", "避让饮用水水源一级保护区", ["生态环境部门"]),
    (inner(4, 3), IND, "land_use_standard", "no_investment", "补充项目总投资", ["核减用地规模"]),
    (inner(4, 3), {"project_type": "data_center"}, "land_use_standard", "unknown", "节地评价", ["补充项目总投资"]),
    # 25 ha of public service against the sample table's 10 ha
    ((4.2, 3.2, 4.7, 3.7), {"project_type": "public_service"}, "land_use_standard", "over", "核减", ["补充项目总投资"]),
]


def _one(blueprint: Blueprint, box: Rect, props: dict[str, Any]) -> tuple[ParcelResult, Any]:
    result = review(parcel_frame(rect(*box), id="P", **props), blueprint)
    return result.parcels[0], result


@pytest.mark.parametrize(("box", "props", "code", "outcome", "needle", "others"), CASES)
def test_each_outcome_lists_its_own_procedures(
    outcomes: Blueprint, box: Rect, props: dict[str, Any], code: str, outcome: str, needle: str, others: list[str]
) -> None:
    parcel, result = _one(outcomes, box, props)
    item = parcel.item(code)
    assert item.status in ("warn", "fail")
    assert item.facts.conditions is not None and [c.code for c in item.facts.conditions] == [outcome]
    checks = next(i.checks for i in load_profile("ten-point").items if i.code == code)
    worded = [c.conditions[outcome].procedures for c in checks if outcome in c.conditions]
    assert item.procedures in worded  # exactly that outcome's procedures, in the result
    assert all(c.basis for c in item.facts.conditions)

    drafted = opinion(result).parcels[0]
    prefix = f"【{item.name_zh}】"
    mine = [c.removeprefix(prefix) for c in drafted.conditions if c.startswith(prefix)]
    assert len(mine) == 1 and needle in mine[0] and "依据：" in mine[0], drafted.conditions
    assert not any(o in mine[0] for o in others), mine[0]

    notes = [n.removeprefix(prefix) for n in report_model(result).parcels[0].notes if n.startswith(prefix)]
    assert len(notes) == 1 and needle in notes[0] and not any(o in notes[0] for o in others), notes


def test_a_reject_lists_the_failing_conditions_first(outcomes: Blueprint) -> None:
    # on the mining right (warn) and reaching into the red line (fail) for an industrial project
    parcel, result = _one(outcomes, (1.9, 0.2, 2.4, 0.4), {"project_type": "industrial"})
    assert parcel.verdict == "reject"
    conditions = opinion(result).parcels[0].conditions
    firsts = [c for c in conditions if not c.startswith("补充")]
    assert firsts[0].startswith("【生态保护红线】") or firsts[0].startswith("【占用永久基本农田】"), conditions


def _profile_with(tmp_path: Path, change: Any) -> Path:
    raw = yaml.safe_load(packaged("profiles/ten-point.yaml").read_text(encoding="utf-8"))
    change(raw)
    path = tmp_path / "mine.yaml"
    path.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    return path


def test_item_procedures_remain_the_fallback(outcomes: Blueprint, tmp_path: Path) -> None:
    def item_level(raw: dict[str, Any]) -> None:
        item = next(i for i in raw["items"] if i["code"] == "geohazard")
        for check in item["checks"]:
            check.pop("conditions")
        item["procedures"] = ["地质灾害危险性评估（示例手续）"]

    path = _profile_with(tmp_path, item_level)
    result = review(parcel_frame(rect(*inner(3, 0)), id="P", project_type="industrial"), outcomes, profile=str(path))
    item = result.parcels[0].item("geohazard")
    assert item.facts.conditions is None and item.procedures == ["地质灾害危险性评估（示例手续）"]
    assert "地质灾害危险性评估（示例手续）（地质灾害）。" in opinion(result).parcels[0].conditions


def test_an_item_words_procedures_one_way(tmp_path: Path) -> None:
    def both(raw: dict[str, Any]) -> None:
        next(i for i in raw["items"] if i["code"] == "geohazard")["procedures"] = ["评估"]

    with pytest.raises(ProfileError, match="geohazard"):
        load_profile(_profile_with(tmp_path, both))


@pytest.mark.parametrize("group", ["garden", "wetland"])
def test_a_land_use_family_no_finding_can_name_is_refused_at_load(tmp_path: Path, group: str) -> None:
    """园地 is a 三调 family, but no finding words it: before, a review failed halfway (a KeyError) on a
    parcel with none of it; 湿地 is asked with ``wetland: true``, as a family it matched nothing."""

    def garden(raw: dict[str, Any]) -> None:
        check = next(i for i in raw["items"] if i["code"] == "cultivated_land")["checks"][0]
        check["groups"] = ["cultivated", group]

    with pytest.raises(ProfileError, match=rf"groups \['{group}'\] cannot be named in a finding"):
        load_profile(_profile_with(tmp_path, garden))


def test_worded_outcomes_are_remembered_per_check_and_status_never_per_finding() -> None:
    check = next(c for item in load_profile("ten-point").items for c in item.checks if c.conditions)
    first, again = (check.conditions_for([("无此值", "warn")], "warn", note) for note in ("甲 10 m²", "乙 20 m²"))
    if "warn" not in check.conditions:  # an outcome nothing words states its own finding, not the first one's
        assert [c.condition_zh for c in first] == ["甲 10 m²"] and [c.condition_zh for c in again] == ["乙 20 m²"]
    assert first is not again  # each outcome its own list
    # a copy with other conditions words its outcomes by them, not by what the original remembered
    code, said = next(iter(check.conditions.items()))
    other = check.model_copy(update={"conditions": {code: said.model_copy(update={"condition_zh": "另一条件"})}})
    codes = [(code.split("/")[0], code.split("/")[1] if "/" in code else "warn")]
    status = codes[0][1] if codes[0][1] in ("warn", "fail") else "warn"
    assert check.conditions_for(codes, status, "x")[0].condition_zh == said.condition_zh
    assert other.conditions_for(codes, status, "x")[0].condition_zh == "另一条件"


def test_an_exemption_is_said_as_declared_after_what_was_found(tmp_path: Path) -> None:
    """重大项目 and 有限人为活动 are the applicant's flags: item 4 read 国家重大项目，需开展不可避让论证 with no word
    of the red line it found, items 5 and 9 stated the claim as a fact (国家重大项目位于…, 国家重点建设项目占用基本
    草原), and item 5 gave a water-supply station 管护巡护、保护执法、科研监测 as its kind of limited activity.
    Each says the land and its area first, then 申报为… (the 论证, 认定 or 同意 it needs tests the claim), as item
    2 and item 4's limited activity already did (officer's read; 自然资发〔2022〕142号 一（一）、二,
    《湿地保护法》第十九条, 《草原法》第四十二条)."""
    layers = {
        "county": [((0, 0, 1, 1), {"code": "370811", "name": "任城区"})],
        "land_use": [((0, 0, 0.5, 1), {"class_code": "0404"}), ((0.5, 0, 1, 1), {"class_code": "1106"})],
        "ecological_redline": [((0, 0, 1, 1), {})],
        "nature_reserve": [((0, 0, 1, 1), {"zone": "一般控制区"})],
        "basic_grassland": [((0, 0, 0.5, 1), {})],
        "important_wetland": [((0.5, 0, 1, 1), {})],
    }
    blueprint = load_blueprint(rect_blueprint(tmp_path / "bp", layers, slope=None))
    box = rect(0.4, 0.2, 0.6, 0.4)  # half grassland on 基本草原, half 内陆滩涂 in an important wetland
    major = review(parcel_frame(box, project_type="transport", major_project=True), blueprint).parcels[0]
    half = "20,000.00 m²（2.0000 公顷，30.00 亩）"
    assert major.item("ecological_redline").message_zh.startswith(
        "位于生态保护红线内 40,000.00 m²（4.0000 公顷，60.00 亩），申报为国家重大项目（待核实），"
    )
    assert major.item("protected_areas").message_zh.startswith(
        "位于自然保护地一般控制区 40,000.00 m²（4.0000 公顷，60.00 亩），申报为国家重大项目（待核实），"
    )
    found = major.item("forest_grass_wetland").message_zh
    assert f"占用基本草原 {half}，申报为国家重点建设项目" in found, found
    assert f"占用重要湿地 {half}，申报为国家重大项目（待核实）" in found, found
    limited = review(parcel_frame(box, project_type="infrastructure", redline_exempt=True), blueprint).parcels[0]
    reserve = limited.item("protected_areas").message_zh
    assert reserve.startswith("位于自然保护地一般控制区 40,000.00 m²（4.0000 公顷，60.00 亩），申报为允许的有限人为")
    assert "管护巡护" not in reserve
