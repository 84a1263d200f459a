"""预审变更比对: exact ratios on rectangles (EPSG:4548), the 聊城 thresholds, the added pieces' review, the CLI."""

from __future__ import annotations

import json
import math
import re
import shutil
import time
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path

import geopandas as gpd
import pytest
import shapely
import shapely.affinity
from fastapi.testclient import TestClient
from support import EPSG, X0, Y0, assert_problem, assert_worker_freed, auth, parcel_frame, rect, star
from typer.testing import CliRunner

from api import work
from api.app import create_app
from api.cli import app
from api.settings import Settings
from geo import compare
from geo.blueprint import Blueprint
from geo.compare import ChangeCheck, boundary_project, change_check_html, compare_boundaries
from geo.errors import GeometryError, InputError
from geo.forked import CAN_FORK
from geo.review import review

runner = CliRunner()


def box(x1: float, y1: float, x2: float, y2: float) -> shapely.Polygon:
    """A rectangle in metres from the test origin (EPSG:4548)."""
    return shapely.box(X0 + x1, Y0 + y1, X0 + x2, Y0 + y2)


def test_ninety_percent_overlap_twelve_percent_more_area_exceeds() -> None:
    old = parcel_frame(box(0, 0, 100, 100))  # 10 000 m²
    new = parcel_frame(box(10, 0, 122, 100))  # 11 200 m², 9 000 m² shared
    check = compare_boundaries(old, new)
    assert check.crs_used == f"EPSG:{EPSG}"
    assert check.prereview_m2 == pytest.approx(10_000, abs=1e-6)
    assert check.new_m2 == pytest.approx(11_200, abs=1e-6)
    assert check.area_change_ratio == pytest.approx(0.12, abs=1e-6)
    assert check.overlap_ratio == pytest.approx(0.90, abs=1e-6)
    assert check.added_m2 == pytest.approx(2_200, abs=1e-6)
    assert check.removed_m2 == pytest.approx(1_000, abs=1e-6)
    assert check.exceeds is True
    assert check.conclusion_zh.startswith("超出 — 不再重新预审")
    assert len(check.reasons_zh) == 1 and "12.0%" in check.reasons_zh[0]  # the overlap is within its threshold
    assert [p.area_m2 for p in check.added] == [pytest.approx(2_200)]
    assert [p.area_m2 for p in check.removed] == [pytest.approx(1_000)]
    assert any("聊城" in b for b in check.basis)


OLD_SQUARE = box(0, 0, 110, 110)  # 12 100 m² = 1.2100 公顷
NEW_SQUARE = box(30.3, 20.3, 145.6, 135.6)  # 115.3² = 13 294.09 m² = 1.329409 → 1.3294 公顷
# by hand: overlap 79.7 × 89.7 = 7 149.09 m², added 13 294.09 − 7 149.09 = 6 145 m²,
# removed 12 100 − 7 149.09 = 4 950.91 m², change +1 194.09 m²; each in 公顷 = m² / 10 000 to 4 decimals
SQUARES_HA = {
    "prereview_ha": 1.21,
    "new_ha": 1.3294,
    "area_change_ha": 0.1194,
    "overlap_ha": 0.7149,
    "added_ha": 0.6145,
    "removed_ha": 0.4951,
}
SQUARES_TEXT = [  # geo.crs.Area's rule: m² 2 decimals, 公顷 4, 亩 2
    "12,100.00 m²（1.2100 公顷，18.15 亩）",
    "13,294.09 m²（1.3294 公顷，19.94 亩）",
    "增加 1,194.09 m²（0.1194 公顷，1.79 亩）",
    "7,149.09 m²（0.7149 公顷，10.72 亩）",
    "6,145.00 m²（0.6145 公顷，",
    "4,950.91 m²（0.4951 公顷，7.43 亩）",
    "<td>0.6145</td>",  # the added and removed pieces' 公顷 column
    "<td>0.4951</td>",
]


def test_every_area_is_given_in_hectares_too() -> None:
    """The contract reports areas in m², 公顷 and 亩: each area of the result has its 公顷 beside it, the
    existing m² and 亩 figures unchanged, and the page writes all three."""
    check = compare_boundaries(parcel_frame(OLD_SQUARE), parcel_frame(NEW_SQUARE))
    assert {key: getattr(check, key) for key in SQUARES_HA} == SQUARES_HA
    assert [p.area_ha for p in check.added] == [0.6145] and [p.area_ha for p in check.removed] == [0.4951]
    assert (check.prereview_m2, check.new_m2, check.overlap_m2) == (12_100, 13_294.09, 7_149.09)
    assert (check.prereview_mu, check.new_mu) == (18.15, 19.9411)
    # 1 亩 = 10,000/15 m²: 1,194.09, 7,149.09, 6,145 and 4,950.91 m² × 0.0015
    assert (check.area_change_mu, check.overlap_mu, check.added_mu, check.removed_mu) == (
        1.7911,
        10.7236,
        9.2175,
        7.4264,
    )
    assert check.exceeds is True and check.overlap_ratio == pytest.approx(7_149.09 / 12_100, abs=1e-6)
    page = change_check_html(check)
    for text in SQUARES_TEXT:
        assert text in page


@pytest.mark.parametrize(
    ("new", "exceeds", "change", "overlap"),
    [
        (box(5, 0, 105, 100), False, 0.0, 0.95),  # shifted 5 m: within both thresholds
        (box(0, 0, 109, 100), False, 0.09, 1.0),  # +9 %: within
        (box(0, 0, 110, 100), True, 0.10, 1.0),  # +10 %: "10%以上" counts the 10 % itself
        (box(25, 0, 125, 100), True, 0.0, 0.75),  # same area, overlap 75 % < 80 %
        (box(20, 0, 120, 100), False, 0.0, 0.80),  # overlap exactly 80 % is not "低于80%"
        (box(0, 0, 80, 100), False, -0.2, 0.8),  # a smaller boundary inside the old one
    ],
)
def test_thresholds(new: shapely.Polygon, exceeds: bool, change: float, overlap: float) -> None:
    check = compare_boundaries(parcel_frame(box(0, 0, 100, 100)), parcel_frame(new))
    assert check.area_change_ratio == pytest.approx(change, abs=1e-9)
    assert check.overlap_ratio == pytest.approx(overlap, abs=1e-9)
    assert check.exceeds is exceeds
    assert check.conclusion_zh.startswith("超出" if exceeds else "未超出")


@pytest.mark.parametrize(
    ("width", "grown", "shrunk"),
    [(13, 14.3, 10.4), (1.7, 1.87, 1.36), (7.3, 8.03, 5.84), (123.4, 135.74, 98.72), (2.9, 3.19, 2.32)],
)
def test_the_thresholds_themselves_decide_as_written(width: float, grown: float, shrunk: float) -> None:
    """+10 % exactly is "10%以上" and 80 % exactly is not "低于80%", whatever float noise the areas carry (a 13 × 3 m
    boundary grown to 14.3 × 3 m came out 0.09999999999999998 and passed): decided on the ratios as reported."""
    old = parcel_frame(box(0, 0, width, 3))
    more = compare_boundaries(old, parcel_frame(box(0, 0, grown, 3)))
    assert (more.area_change_ratio, more.exceeds) == (0.1, True)
    assert more.conclusion_zh.startswith("超出")
    less = compare_boundaries(old, parcel_frame(box(0, 0, shrunk, 3)))
    assert (less.overlap_ratio, less.area_change_ratio, less.exceeds) == (0.8, -0.2, False)


def test_a_figure_near_its_threshold_is_written_on_its_side() -> None:
    """An overlap of 79.99 % read "范围重合度 80.0%，低于 80%" and a gain of 9.99 % "+10.0%" beside 未超出 (an
    officer's probe): each figure has the decimals that show which side of its threshold it lies."""
    old = parcel_frame(box(0, 0, 100, 100))
    shifted = compare_boundaries(old, parcel_frame(box(20.01, 0, 120.01, 100)))  # overlap 7,999 m² of 10,000
    assert shifted.exceeds and "范围重合度 79.99%，低于 80%" in shifted.reasons_zh[0]
    assert "overlap 79.99%, below 80%" in shifted.reasons_en[0]
    assert "79.99%（阈值 80 %）" in change_check_html(shifted)
    grown = compare_boundaries(old, parcel_frame(box(0, 0, 100, 109.99)))  # +9.99 %
    assert not grown.exceeds and "+9.99%（阈值 10 %）" in change_check_html(grown)
    exact = compare_boundaries(old, parcel_frame(box(0, 0, 110, 100)))  # +10 % exactly: the figure as it is
    assert "报批面积超出预审面积 10.0%（达到 10% 以上）" in exact.reasons_zh[0]


def test_an_unchanged_boundary_reads_unchanged() -> None:
    """No -0.0 from a shrink of a hundredth of a millimetre, and the page says 不变 rather than 增加 0.00 m²."""
    check = compare_boundaries(parcel_frame(box(0, 0, 100, 100)), parcel_frame(box(0, 0, 100, 99.99999)))
    figures = (check.area_change_m2, check.area_change_ha, check.area_change_mu, check.area_change_ratio)
    assert figures == (0, 0, 0, 0) and all(math.copysign(1, f) == 1 for f in figures)
    page = change_check_html(check)
    assert "不变 unchanged" in page and "-0.00" not in page


def test_multi_part_boundary_and_other_crs() -> None:
    """A boundary of two parts is one project; a boundary given in EPSG:4490 is measured in the same zone."""
    old = parcel_frame(box(0, 0, 100, 50), box(0, 50, 100, 100))
    new = parcel_frame(box(0, 0, 100, 100)).to_crs(4490)
    check = compare_boundaries(old, new)
    assert check.overlap_ratio == pytest.approx(1.0, abs=1e-6)
    assert abs(check.area_change_ratio) < 1e-6
    assert check.added == [] and check.removed == []


def test_added_piece_on_the_red_line_is_reviewed(blueprint: Blueprint) -> None:
    old = parcel_frame(rect(3.85, 4.2, 3.95, 4.3))
    new = parcel_frame(rect(3.85, 4.2, 4.05, 4.3))  # the added half reaches 50 m into the red line at x ≥ 4 km
    check = compare_boundaries(old, new, blueprint=blueprint, project={"project_type": "industrial"})
    assert check.exceeds is True and check.area_change_ratio == pytest.approx(1.0)
    assert check.added_fails is True
    (piece,) = check.added
    assert piece.verdict == "reject" and "ecological_redline" in piece.failed_items
    assert check.added_review is not None and check.added_review.parcels[0].id == piece.id
    page = change_check_html(check)
    assert "超出 — 不再重新预审" in page and "<svg" in page and "生态保护红线" in page and "不通过" in page
    # no new 预审 follows: this check is the only look the strip gets, and its conclusion says what it asks (an
    # officer's read: a growth onto the red line read 不再重新预审 alone)
    assert check.conclusion_zh == "超出 — 不再重新预审（取消重新预审）；新增部分审查不通过，须调整报批范围避让"
    assert check.added_findings_zh[0].endswith("，须调整报批范围避让")  # a failing item has no procedure to follow


def test_added_pieces_are_reviewed_as_parcels_of_the_project_the_boundaries_give(blueprint: Blueprint) -> None:
    """The added strip was reviewed without the project's attributes the 报批 file gives: a road the review allowed
    in the red line (redline_exempt) "failed" it in its added strip. The boundaries' own attributes go with it,
    the 报批 file's first, a caller's project type over them."""
    old = parcel_frame(rect(3.85, 4.2, 3.95, 4.3), project_type="transport", redline_exempt=True)
    new = parcel_frame(rect(3.85, 4.2, 4.05, 4.3), project_type="transport", redline_exempt=True)
    whole = review(new, blueprint).parcels[0]
    redline = next(i for i in whole.items if i.code == "ecological_redline")
    assert redline.status == "warn"  # the exemption, claimed by the parcel: 有限人为活动
    check = compare_boundaries(old, new, blueprint=blueprint)
    (piece,) = check.added
    assert "ecological_redline" not in piece.failed_items and not check.added_fails
    assert check.added_review is not None
    assert next(i for i in check.added_review.parcels[0].items if i.code == "ecological_redline").status == "warn"
    unclaimed = compare_boundaries(
        parcel_frame(rect(3.85, 4.2, 3.95, 4.3)), new.drop(columns="redline_exempt"), blueprint=blueprint
    )
    assert "ecological_redline" in unclaimed.added[0].failed_items  # no claim, no exemption
    assert boundary_project(new, old, {"project_type": "industrial"}) == {
        "project_type": "industrial",
        "redline_exempt": True,
    }
    mixed = parcel_frame(rect(0, 0, 1, 1), rect(2, 0, 3, 1))
    mixed["project_type"] = ["transport", "industrial"]  # two types in the 报批 file: neither is the project's
    assert boundary_project(mixed, old, None) == {"redline_exempt": True}  # nor the 预审's: the 报批 file said
    # one road claims the exemption, the other parcel does not: a strip added to either is reviewed without it (a
    # probe found the claim of one covering a strip that failed the red line for the other)
    claims = parcel_frame(rect(0, 0, 1, 1), rect(2, 0, 3, 1), project_type="transport")
    claims["redline_exempt"] = ["是", None]
    assert boundary_project(claims, old, None) == {"project_type": "transport"}
    claims["redline_exempt"] = ["是", "否"]
    assert boundary_project(claims, old, None) == {"project_type": "transport"}
    # a highway's added strip is rated as a highway (its 工程类别); a caller's type of another is refused, naming both,
    # as a review refuses it beside a parcel's 工程类别
    claims["facility"] = "highway"
    assert boundary_project(claims, old, None) == {"project_type": "transport", "facility": "highway"}
    assert boundary_project(claims, old, {"project_type": "transport"}) == {
        "project_type": "transport",
        "facility": "highway",
    }
    with pytest.raises(InputError, match=r"highway.*transport.*energy") as refused:
        boundary_project(claims, old, {"project_type": "energy"})
    assert "范围文件的项目属性与所给项目类型不符" in refused.value.message_zh and "公路" in refused.value.message_zh


def test_added_land_that_fails_is_said_within_the_thresholds_too(blueprint: Blueprint) -> None:
    """+5 % into the red line is within the 聊城 thresholds, and the page said "未超出 … 按原预审意见报批" (in green,
    then above the failing piece): within the thresholds, land that fails is not approved on the old 预审, and how
    much of the strip each item finds is said (an officer's read)."""
    old = parcel_frame(rect(3.90, 4.2, 4.0, 4.3))
    new = parcel_frame(rect(3.90, 4.2, 4.005, 4.3))  # 5 m × 100 m into the red line at x ≥ 4 km
    check = compare_boundaries(old, new, blueprint=blueprint, project={"project_type": "industrial"})
    assert (check.exceeds, check.added_fails, check.area_change_ratio) == (False, True, 0.05)
    assert check.conclusion_zh.startswith("未超出")
    assert "不得按原预审意见报批，须调整报批范围避让" in check.conclusion_zh
    assert "not to be approved on the existing pre-review" in check.conclusion_en
    (piece,) = check.added
    assert piece.area_m2 == 500 and "生态保护红线" in piece.failed_items_zh
    assert piece.failed_items_m2[piece.failed_items.index("ecological_redline")] == 500
    (said,) = check.added_findings_zh
    # no bracket inside another: the areas inside one read "，合 … 公顷、… 亩"
    assert said.startswith("新增部分 A1（500.00 m²，合 0.0500 公顷、0.75 亩）审查不通过：")
    assert "生态保护红线（涉及 500.00 m²，合 0.0500 公顷、0.75 亩）" in said
    assert "ecological protection red line (500.00 m² (0.0500 ha, 0.75 mu))" in check.added_findings_en[0]
    page = change_check_html(check)
    assert 'class="within"' not in page and 'class="caution">未超出' in page and said in page


def test_added_land_not_reviewed_is_no_pass_within_the_thresholds() -> None:
    """Without a blueprint the added pieces are not reviewed: within the thresholds the page said 按原预审意见报批 in
    green beside "未审查" in the pieces' table."""
    old = parcel_frame(rect(3.90, 4.2, 4.0, 4.3))
    check = compare_boundaries(old, parcel_frame(rect(3.90, 4.2, 4.005, 4.3)))
    assert (check.exceeds, check.added_fails, check.added_review) == (False, False, None)
    assert check.added_unreviewed == ["A1"]
    assert check.conclusion_zh.endswith("新增部分未经审查，须经审查后方可按原预审意见报批")
    page = change_check_html(check)
    assert 'class="within"' not in page and 'class="caution">未超出' in page
    same = compare_boundaries(old, parcel_frame(rect(3.90, 4.2, 4.0, 4.3)))  # nothing added: nothing to review
    assert same.conclusion_zh.endswith("按原预审意见报批") and "未经审查" not in same.conclusion_zh
    assert 'class="within"' in change_check_html(same)


def test_added_land_that_sets_conditions_is_said_within_the_thresholds(blueprint: Blueprint) -> None:
    """A road's strip on land that admits it only on conditions read 按原预审意见报批 in green, its conditions said
    nowhere (an officer's read: 水浇地 asking 占补平衡, 林地 asking 使用林地审核)."""
    old = parcel_frame(rect(3.0, 3.0, 3.2, 3.2), project_type="transport")
    check = compare_boundaries(
        old, parcel_frame(rect(3.0, 3.0, 3.21, 3.2), project_type="transport"), blueprint=blueprint
    )
    (piece,) = check.added
    assert (check.exceeds, check.added_fails, piece.verdict) == (False, False, "conditional")
    assert check.conclusion_zh.endswith("按原预审意见报批；新增部分另须按其审查意见办理所列手续")
    (said,) = check.added_findings_zh
    assert said.startswith(
        "新增部分 A1（2,000.00 m²，合 0.2000 公顷、3.00 亩）有条件通过：规划符合性（涉及 2,000.00 m²"
    )
    assert said.endswith("，须按其审查意见办理所列手续")
    assert 'class="within"' not in change_check_html(check)


def test_added_land_beyond_the_blueprint_is_no_pass_within_the_thresholds(blueprint: Blueprint) -> None:
    """A strip 5 m past the blueprint's edge (x = 10 km) is out_of_coverage with no failing item: within the thresholds
    it read 按原预审意见报批 in green (a fresh pair of eyes)."""
    old = parcel_frame(rect(9.90, 4.2, 10.0, 4.3))
    check = compare_boundaries(old, parcel_frame(rect(9.90, 4.2, 10.005, 4.3)), blueprint=blueprint)
    (piece,) = check.added
    assert piece.verdict == "out_of_coverage" and not check.added_fails and check.added_unreviewed == [piece.id]
    assert check.conclusion_zh.endswith("新增部分未经审查，须经审查后方可按原预审意见报批")
    assert 'class="caution">未超出' in change_check_html(check)
    # how much lies beyond, said (a strip half beyond the edge read 未经审查 whole: an officer's second read)
    (said,) = check.added_findings_zh
    assert said.startswith("新增部分 A1（500.00 m²，合 0.0500 公顷、0.75 亩）有 500.00 m²（0.0500 公顷，0.75 亩）")
    assert said.endswith("位于蓝图覆盖范围外，该部分未经审查")
    road = parcel_frame(rect(9.90, 4.2, 9.995, 4.3), project_type="transport")
    half = compare_boundaries(
        road, parcel_frame(rect(9.90, 4.2, 10.005, 4.3), project_type="transport"), blueprint=blueprint
    )
    (said,) = half.added_findings_zh  # 10 m × 100 m added, its eastern 5 m beyond x = 10 km
    assert said.startswith(
        "新增部分 A1（1,000.00 m²，合 0.1000 公顷、1.50 亩）有 500.00 m²（0.0500 公顷，0.75 亩）位于"
    )
    assert half.added_unreviewed == ["A1"] and "was not reviewed" in half.added_findings_en[0]


def test_the_two_boundaries_disagreeing_on_the_project_is_said_so(blueprint: Blueprint) -> None:
    """No type was given: the clash is the two files', not the caller's (the message blamed "the one given")."""
    old = parcel_frame(rect(3.85, 4.2, 3.95, 4.3), facility="highway")
    new = parcel_frame(rect(3.85, 4.2, 4.05, 4.3), project_type="industrial")
    with pytest.raises(InputError, match="the two boundaries' project attributes disagree") as refused:
        boundary_project(new, old, None)
    assert refused.value.message_zh.startswith("预审范围与报批范围的项目属性不一致")


def test_added_and_removed_pieces_are_valid_as_written_in_degrees() -> None:
    """A square moved 16 m east, drawn in degrees: the two boundaries' shared edges differ in the last bits once
    reprojected, and the cut left a spike a billionth of a metre wide, valid in GK metres and self-intersecting in
    the GeoJSON (an officer's GIS refused it). Cut on a millimetre grid, each piece is the 16 m strip."""
    square = rect(0.4, 0.4, 0.56, 0.56)
    old = parcel_frame(square).to_crs(4490)
    new = parcel_frame(shapely.affinity.translate(square, 16.0, 0.0)).to_crs(4490)
    check = compare_boundaries(old, new)
    assert [p.area_m2 for p in check.added] == [2560.0] and [p.area_m2 for p in check.removed] == [2560.0]
    for piece in [*check.added, *check.removed]:
        written = shapely.geometry.shape(piece.geometry)
        assert written.is_valid, shapely.is_valid_reason(written)
        assert len(written.exterior.coords) == 5  # the strip's four corners, no spike
        assert written.exterior.is_ccw  # RFC 7946: exterior rings counterclockwise
    assert check.overlap_ratio == 0.9


SVG = "{http://www.w3.org/2000/svg}"


def _sketch(page: str) -> ET.Element:
    """The page's sketch of the change, parsed (an inline SVG is well-formed XML)."""
    found = re.search(r'<svg xmlns="http://www.w3.org/2000/svg" class="change-sketch".*?</svg>', page, re.S)
    assert found, "no sketch on the page"
    return ET.fromstring(found.group())


def _drawn(svg: ET.Element) -> dict[str, ET.Element]:
    return {e.get("class", ""): e for e in svg.iter(f"{SVG}path") if e.get("class")}


def _xs(path: ET.Element) -> list[float]:
    return [float(x) for x in re.findall(r"([-\d.]+),[-\d.]+", path.get("d", ""))]


def _scale_bar(svg: ET.Element) -> tuple[str, float]:
    """The scale bar's label and its drawn length in pixels (from end tick to end tick)."""
    (bar,) = [g for g in svg.iter(f"{SVG}g") if g.get("class") == "scale-bar"]
    text, ticks = bar.find(f"{SVG}text"), bar.find(f"{SVG}path")
    assert text is not None and ticks is not None
    return "".join(text.itertext()), max(_xs(ticks)) - min(_xs(ticks))


def _legend(page: str) -> dict[str, str]:
    return {k: re.sub(r"<[^>]+>", "", text) for k, text in re.findall(r'<li data-kind="([\w-]+)">(.*?)</li>', page)}


def test_the_sketch_outlines_both_boundaries_with_a_legend_and_a_true_scale_bar() -> None:
    """A 100 m square grown to 110 m (east and north): the sketch outlines the 预审 boundary dashed and the new
    one solid, says so in a legend (中文 and English), and its scale bar's label is the length it is drawn."""
    check = compare_boundaries(parcel_frame(box(0, 0, 100, 100)), parcel_frame(box(0, 0, 110, 110)))
    page = change_check_html(check)
    svg = _sketch(page)
    drawn = _drawn(svg)
    old, new = drawn["prereview"], drawn["new"]
    assert old.get("fill") == new.get("fill") == "none"  # outlines, not fills
    assert old.get("stroke-dasharray") and new.get("stroke-dasharray") is None  # dashed against solid
    # by hand: 300 px across the 110 m the two boundaries cover, plus 5 % of blank each side: 300 / 121 px per metre
    px_per_m = 300 / 121
    assert max(_xs(old)) - min(_xs(old)) == pytest.approx(100 * px_per_m, abs=0.02)
    assert max(_xs(new)) - min(_xs(new)) == pytest.approx(110 * px_per_m, abs=0.02)
    assert drawn["added"].get("data-id") == "A1" and "removed" not in drawn  # nothing was taken off
    # a fifth of the 121 m drawn is 24.2 m: the round length nearest is 20 m, drawn 20 × 300 / 121 = 49.59 px
    label, length_px = _scale_bar(svg)
    assert label == "20 m" and length_px == pytest.approx(20 * px_per_m, abs=0.01)
    assert [g for g in svg.iter(f"{SVG}g") if g.get("class") == "north-arrow"]
    assert _legend(page) == {
        "prereview": "原预审范围 pre-review boundary",
        "new": "新报批范围 new boundary",
        "added": "新增 added",
    }
    # the legend's samples are drawn as the sketch draws: dashed 预审, solid 报批
    assert re.search(r'data-kind="prereview"><svg[^>]*><path[^>]*stroke-dasharray="6 4"', page)
    assert re.search(r'data-kind="new"><svg[^>]*><path (?:(?!dasharray)[^>])*/>', page)


@pytest.mark.parametrize(("width", "bar", "label"), [(1.7, 0.5, "0.5 m"), (900, 200, "200 m"), (21_000, 5000, "5 km")])
def test_the_scale_bar_is_a_round_length_near_a_fifth_of_the_sketch(width: float, bar: float, label: str) -> None:
    """1.1 × the larger extent is drawn in 300 px; the bar is the 1, 2 or 5 × 10ⁿ m nearest a fifth of it, e.g.
    1.87 m grown from 1.7 m: 2.057 m drawn, a fifth 0.41 m, 0.5 m is nearest."""
    check = compare_boundaries(parcel_frame(box(0, 0, width, width)), parcel_frame(box(0, 0, width * 1.1, width)))
    drawn, length_px = _scale_bar(_sketch(change_check_html(check)))
    assert drawn == label and length_px == pytest.approx(bar * 300 / (width * 1.1 * 1.1), abs=0.01)


def test_failing_added_pieces_are_drawn_apart(blueprint: Blueprint) -> None:
    """An added piece that fails the review is red and hatched in the sketch and has its own legend entry; the
    same piece unreviewed (no blueprint) is an ordinary added one. What was taken off has its entry too."""
    old = parcel_frame(rect(3.85, 4.2, 3.97, 4.3))
    new = parcel_frame(rect(3.90, 4.2, 4.05, 4.3))  # 50 m off the west; 80 m added, 50 m of it in the red line
    failing = change_check_html(
        compare_boundaries(old, new, blueprint=blueprint, project={"project_type": "industrial"})
    )
    plain = change_check_html(compare_boundaries(old, new))
    fail_piece, piece = _drawn(_sketch(failing))["added-fail"], _drawn(_sketch(plain))["added"]
    assert fail_piece.get("fill") == "url(#lantu-fail-hatch)" and piece.get("fill") != fail_piece.get("fill")
    assert "added" not in _drawn(_sketch(failing)) and "added-fail" not in _drawn(_sketch(plain))
    assert _legend(failing)["added-fail"] == "新增（审查不通过） added, fails the review"
    assert _legend(failing)["removed"] == _legend(plain)["removed"] == "减少 removed"
    assert "added-fail" not in _legend(plain)
    assert re.findall(r'<text class="piece-id"[^>]*>(\w+)</text>', failing) == ["A1", "R1"]  # named as in the table


def test_a_check_read_back_from_json_still_draws_its_pieces() -> None:
    """The boundaries are kept for the page only (the JSON, the API's answer, has no new member): a check read
    back from its JSON draws the pieces, and its legend does not name outlines it cannot draw."""
    check = compare_boundaries(parcel_frame(OLD_SQUARE), parcel_frame(NEW_SQUARE))
    assert set(json.loads(check.model_dump_json())) == set(ChangeCheck.model_fields)
    page = change_check_html(ChangeCheck.model_validate_json(check.model_dump_json()))
    assert set(_drawn(_sketch(page))) == {"added", "removed"} and set(_legend(page)) == {"added", "removed"}


def test_empty_file_and_flat_boundary_are_refused() -> None:
    with pytest.raises(InputError):
        compare_boundaries(parcel_frame(box(0, 0, 100, 100)).iloc[:0], parcel_frame(box(0, 0, 100, 100)))
    flat = shapely.Polygon([(X0, Y0), (X0 + 100, Y0), (X0 + 200, Y0), (X0, Y0)])
    with pytest.raises(InputError):
        compare_boundaries(parcel_frame(flat), parcel_frame(box(0, 0, 100, 100)))


SPECK = box(0, 0, 1e-9**0.5, 1e-9**0.5)  # 1e-9 m²: against it the area change ratio was about 1e13


@pytest.mark.parametrize(
    ("old", "new", "which"), [(SPECK, box(0, 0, 100, 100), "预审"), (box(0, 0, 100, 100), SPECK, "报批")]
)
def test_a_speck_boundary_is_refused_not_compared(old: shapely.Polygon, new: shapely.Polygon, which: str) -> None:
    """A boundary no larger than the profile's tolerance.min_m2 (1 m², the review's own floor) is refused, naming
    which boundary and its area, instead of an astronomical area_change_ratio."""
    with pytest.raises(GeometryError) as refused:
        compare_boundaries(parcel_frame(old), parcel_frame(new))
    assert refused.value.message_zh.startswith(f"{which}范围面积 1e-09 m²，不超过审查计量下限 1 m²")
    assert f"({which}) boundary has 1e-09 m², no larger than the 1 m²" in refused.value.message_en


def _write(frame_geom: shapely.Polygon, path: Path) -> Path:
    parcel_frame(frame_geom).to_crs(4490).to_file(path, driver="GeoJSON")
    return path


def test_cli_says_what_the_readers_repaired_or_doubted(tmp_path: Path) -> None:
    """A CRS given beside the one a file declares is kept and said (a review said it; the comparison did not)."""
    old = _write(box(0, 0, 100, 100), tmp_path / "prereview.geojson")
    new = tmp_path / "new.geojson"
    parcel_frame(box(10, 0, 122, 100)).to_file(new, driver="GeoJSON")  # declares EPSG:4548
    out = tmp_path / "change.html"
    result = runner.invoke(app, ["compare", str(old), str(new), "--crs", "EPSG:4549", "-f", "html", "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert "警告 warning" in result.stderr and "EPSG:4549" in result.stderr
    page = out.read_text(encoding="utf-8")
    assert "警告 warning: 报批范围 new: " in page and "EPSG:4548" in page


def test_cli_json_and_html(tmp_path: Path, blueprint_dir: Path) -> None:
    old = _write(box(0, 0, 100, 100), tmp_path / "prereview.geojson")
    new = _write(box(10, 0, 122, 100), tmp_path / "new.geojson")
    result = runner.invoke(app, ["compare", str(old), str(new), "--format", "json"])
    assert result.exit_code == 0, result.output
    body = json.loads(result.stdout)
    for key in ("area_change_ratio", "overlap_ratio", "exceeds", "added_m2", "removed_m2"):
        assert key in body
    assert body["exceeds"] is True and body["overlap_ratio"] == pytest.approx(0.9, abs=1e-6)
    assert "超出 exceeds" in result.stderr and "新增部分未经审查 / added land not reviewed: A1" in result.stderr
    out = tmp_path / "change.html"
    result = runner.invoke(app, ["compare", str(old), str(new), "-f", "html", "-b", str(blueprint_dir), "-o", str(out)])
    assert result.exit_code == 0, result.output
    page = out.read_text(encoding="utf-8")
    assert "预审变更比对" in page and "合成数据" not in page
    # the added pieces reviewed against the demo blueprint: its findings are synthetic, and the page says so
    demo = shutil.copytree(blueprint_dir, tmp_path / "demo")  # the session's blueprint stays as it is
    (demo / "SOURCES.txt").write_text("SYNTHETIC demo layers\n", encoding="utf-8")
    result = runner.invoke(app, ["compare", str(old), str(new), "-f", "html", "-b", str(demo), "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert '<p class="mark">示例（合成数据，仅供演示）</p>' in out.read_text(encoding="utf-8")
    result = runner.invoke(app, ["compare", str(old), str(new), "-b", str(demo)])  # the JSON says it too
    assert result.exit_code == 0 and json.loads(result.stdout)["synthetic"] is True
    result = runner.invoke(app, ["compare", str(old), str(new), "-b", str(blueprint_dir)])
    assert result.exit_code == 0 and json.loads(result.stdout)["synthetic"] is False


def test_the_comparison_names_the_project_its_boundaries_give(tmp_path: Path) -> None:
    """The page named no project (an officer's read): which project's boundary changed is the first thing a paper
    says. Named as the 报批 boundary gives it, else the 预审's; a boundary that names none reads 未填报."""
    old, new = tmp_path / "prereview.geojson", tmp_path / "new.geojson"
    parcel_frame(box(0, 0, 100, 100), name="物流园", project_id="XM-2026-01").to_crs(4490).to_file(old)
    _write(box(10, 0, 122, 100), new)  # the 报批 file names no project: the 预审's name stands
    result = runner.invoke(app, ["compare", str(old), str(new), "--format", "json"])
    assert result.exit_code == 0, result.output
    body = json.loads(result.stdout)
    assert (body["project_name"], body["project_id"]) == ("物流园", "XM-2026-01")
    page = change_check_html(ChangeCheck.model_validate(body))
    assert '<p class="project">项目 project：物流园（项目编号 XM-2026-01）</p>' in page
    assert "<title>预审变更比对 · change check · 物流园</title>" in page
    parcel_frame(box(10, 0, 122, 100), name="物流园二期").to_crs(4490).to_file(new)
    renamed = compare_boundaries(gpd.read_file(old), gpd.read_file(new))
    assert (renamed.project_name, renamed.project_id) == ("物流园二期", "XM-2026-01")
    unnamed = compare_boundaries(parcel_frame(box(0, 0, 100, 100)), parcel_frame(box(0, 0, 100, 104)))
    assert unnamed.project_name is None
    assert '<p class="project">项目 project：未填报</p>' in change_check_html(unnamed)


def test_cli_gives_hectares_in_json_and_html(tmp_path: Path) -> None:
    old = _write(OLD_SQUARE, tmp_path / "prereview.geojson")
    new = _write(NEW_SQUARE, tmp_path / "new.geojson")
    result = runner.invoke(app, ["compare", str(old), str(new), "--format", "json"])
    assert result.exit_code == 0, result.output
    body = json.loads(result.stdout)
    assert {key: body[key] for key in SQUARES_HA} == SQUARES_HA
    assert [p["area_ha"] for p in body["added"]] == [0.6145] and [p["area_ha"] for p in body["removed"]] == [0.4951]
    out = tmp_path / "change.html"
    result = runner.invoke(app, ["compare", str(old), str(new), "-f", "html", "-o", str(out)])
    assert result.exit_code == 0, result.output
    page = out.read_text(encoding="utf-8")
    for text in SQUARES_TEXT:
        assert text in page


def test_cli_bad_input_exits_2(tmp_path: Path) -> None:
    old = _write(box(0, 0, 100, 100), tmp_path / "prereview.geojson")
    result = runner.invoke(app, ["compare", str(old), str(tmp_path / "missing.geojson")])
    assert result.exit_code == 2
    assert "error" in result.stderr
    speck = _write(SPECK, tmp_path / "speck.geojson")
    result = runner.invoke(app, ["compare", str(speck), str(old), "--format", "json"])
    assert result.exit_code == 2 and result.stdout == ""  # no JSON with a ratio of 1e13
    assert "预审范围面积 1e-09 m²" in result.stderr and "pre-review (预审) boundary has 1e-09 m²" in result.stderr


@pytest.fixture
def client(settings: Settings, keys: dict[str, str]) -> Iterator[TestClient]:
    with TestClient(create_app(settings)) as c:
        yield c


def test_api_compare_with_a_stored_review(client: TestClient, keys: dict[str, str]) -> None:
    old = parcel_frame(box(0, 0, 100, 100), project_type="industrial", name="物流园").to_crs(4490)
    created = client.post("/api/v1/reviews", json=old.__geo_interface__, headers=auth(keys))
    assert created.status_code == 201, created.text
    review_id = created.json()["review_id"]
    new = parcel_frame(box(10, 0, 122, 100)).to_crs(4490).__geo_interface__
    r = client.post(f"/api/v1/reviews/{review_id}/compare", json=new, headers=auth(keys))
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["exceeds"] is True and body["project_name"] == "物流园"  # the stored 预审 names it
    # the 预审 boundary is the parcels as sent (full precision), reprojected GK → 4490 → GK: exact to 1e-4 m²
    assert (body["area_change_ratio"], body["overlap_ratio"]) == (0.12, 0.9)
    assert (body["prereview_m2"], body["added_m2"], body["removed_m2"]) == (10_000, 2_200, 1_000)
    assert (body["new_ha"], body["added"][0]["area_ha"]) == (1.12, 0.22)
    assert body["added"][0]["verdict"] is not None  # reviewed against the service's blueprint
    assert body["warnings"] == []
    # a boundary declaring its CRS beside ?crs=: the declared one is kept and it is said, as a review says it (probe)
    gk = json.loads(parcel_frame(box(10, 0, 122, 100)).to_json())  # a crs member: EPSG:4548
    warned = client.post(f"/api/v1/reviews/{review_id}/compare?crs=EPSG:4549", json=gk, headers=auth(keys)).json()
    assert warned["area_change_ratio"] == 0.12
    (said,) = warned["warnings"]
    assert said.startswith("报批范围 new: ") and "EPSG:4548" in said and "EPSG:4549" in said
    same = client.post(f"/api/v1/reviews/{review_id}/compare", json=old.__geo_interface__, headers=auth(keys)).json()
    # the result's outline keeps 1e-7°: measured on it, the same square came back 9,999.81 m², +0.19 m²
    assert (same["prereview_m2"], same["area_change_m2"], same["added_m2"], same["removed_m2"]) == (10_000, 0, 0, 0)
    r = client.post(f"/api/v1/reviews/{review_id}/compare?parcel=nope", json=new, headers=auth(keys))
    assert_problem(r, 404)
    r = client.post(
        f"/api/v1/reviews/{review_id}/compare", content=b"x", headers={**auth(keys), "content-type": "text/plain"}
    )
    assert_problem(r, 415)
    r = client.post(f"/api/v1/reviews/{review_id}/compare", json={"type": "Point"}, headers=auth(keys))
    assert r.status_code in (400, 422)
    assert_problem(client.post("/api/v1/reviews/unknown/compare", json=new, headers=auth(keys)), 404)
    speck = parcel_frame(SPECK).to_crs(4490).__geo_interface__  # the stored 预审 passed the review's own floor
    problem = assert_problem(client.post(f"/api/v1/reviews/{review_id}/compare", json=speck, headers=auth(keys)), 422)
    assert "报批范围面积" in problem["message_zh"] and "new (报批) boundary has" in problem["message_en"]


def test_api_compare_keeps_the_values_the_review_was_given_for_every_parcel(
    client: TestClient, keys: dict[str, str]
) -> None:
    """A road's red-line claim sent as query fields (override) held for its review, not for the strip its 报批 boundary
    adds: the stored parcels were the file's, without them (a probe: a 重大项目's added strip failed 永久基本农田)."""
    old = parcel_frame(rect(3.85, 4.2, 3.95, 4.3)).to_crs(4490)
    sent = client.post(
        "/api/v1/reviews?project_type=transport&redline_exempt=true", json=old.__geo_interface__, headers=auth(keys)
    )
    assert sent.status_code == 201, sent.text
    new = parcel_frame(rect(3.85, 4.2, 4.05, 4.3)).to_crs(4490).__geo_interface__  # 50 m into the red line
    body = client.post(f"/api/v1/reviews/{sent.json()['review_id']}/compare", json=new, headers=auth(keys)).json()
    (piece,) = body["added"]
    assert "ecological_redline" not in piece["failed_items"] and body["added_fails"] is False
    (strip,) = body["added_review"]["parcels"]
    assert strip["project_type"] == "transport"
    assert next(i for i in strip["items"] if i["code"] == "ecological_redline")["status"] == "warn"


def test_api_compare_takes_one_parcel_of_a_stored_review_by_its_id(client: TestClient, keys: dict[str, str]) -> None:
    """The 预审 parcels are the stored input's, chosen as the review's parcels are ordered (input order)."""
    both = parcel_frame(box(0, 0, 100, 100), box(300, 0, 350, 100)).to_crs(4490)
    both["id"] = ["A", "B"]
    review_id = client.post("/api/v1/reviews", json=both.__geo_interface__, headers=auth(keys)).json()["review_id"]
    new = parcel_frame(box(300, 0, 350, 110)).to_crs(4490).__geo_interface__
    body = client.post(f"/api/v1/reviews/{review_id}/compare?parcel=B", json=new, headers=auth(keys)).json()
    assert (body["prereview_m2"], body["new_m2"], body["area_change_ratio"]) == (5_000, 5_500, 0.1)


def test_api_compare_takes_a_crs_and_the_review_cost_cap(settings: Settings, keys: dict[str, str]) -> None:
    """The service's cap holds for a 报批 boundary as for a review (it was reviewed uncapped, after being
    unioned and cut against the 预审); a boundary without a crs member is read in ``?crs=``."""
    limited = settings.model_copy(update={"max_review_cost": 100_000})
    with TestClient(create_app(limited)) as c:
        old = parcel_frame(rect(4, 2, 6, 3), project_type="industrial").to_crs(4490)
        review_id = c.post("/api/v1/reviews", json=old.__geo_interface__, headers=auth(keys)).json()["review_id"]
        spiky = json.loads(parcel_frame(star(2000, (5, 2.5), 1.0, 1.3)).to_json())
        gk = json.loads(parcel_frame(rect(4, 2, 6.2, 3)).to_json())
        for body in (spiky, gk):
            del body["crs"]  # GK metres, named by the request
        url = f"/api/v1/reviews/{review_id}/compare?crs=EPSG:{EPSG}"
        assert "too costly" in assert_problem(c.post(url, json=spiky, headers=auth(keys)), 413)["detail"]
        r = c.post(url, json=gk, headers=auth(keys))
        assert r.status_code == 200, r.text
        assert r.json()["area_change_ratio"] == pytest.approx(0.1, abs=1e-3)


@pytest.mark.skipif(not CAN_FORK, reason="a stoppable comparison needs fork (Linux)")
def test_api_compare_runs_in_a_child_stopped_at_the_timeout(
    settings: Settings, keys: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every comparison runs in a child forked for it (the union of the boundary's parcels and the review of
    what it adds are not weighed before): the answer a worker's thread gives, what it adds reviewed under
    the cap, and a comparison that hangs stopped at the work timeout, its worker free with the 503."""
    quick = settings.model_copy(update={"work_timeout": 2.0, "max_review_cost": 1_000_000})
    old = parcel_frame(rect(4, 2, 6, 3), project_type="industrial").to_crs(4490)
    new = parcel_frame(rect(4, 2, 6.2, 3)).to_crs(4490).__geo_interface__
    # two parcels of 30 strips each, cheap alone, whose union is a lattice: 2.8 M vertex pairs to review
    x, y = X0 + 1200, Y0 + 1200  # beyond the 预审 boundary: all of it is added
    strips = [
        shapely.MultiPolygon([shapely.box(x, y + 10 * i, x + 300, y + 10 * i + 2) for i in range(30)]),
        shapely.MultiPolygon([shapely.box(x + 10 * i, y, x + 10 * i + 2, y + 300) for i in range(30)]),
    ]
    lattice = gpd.GeoDataFrame({"id": ["H", "V"]}, geometry=strips, crs=EPSG).to_crs(4490).__geo_interface__
    answers = []
    with TestClient(create_app(quick)) as c:
        review_id = c.post("/api/v1/reviews", json=old.__geo_interface__, headers=auth(keys)).json()["review_id"]
        url = f"/api/v1/reviews/{review_id}/compare"
        for fork in (True, False):
            monkeypatch.setattr(work, "CAN_FORK", fork)
            r = c.post(url, json=new, headers=auth(keys))
            assert r.status_code == 200, r.text
            answer = r.json()
            answer["added_review"] |= {"review_id": None, "created": None}  # a review's own, each time
            answers.append(answer)
        monkeypatch.undo()
        assert answers[0] == answers[1] and answers[0]["added"]
        r = c.post(url, json=lattice, headers=auth(keys))
        assert r.status_code == 413, r.text[:300]
        detail = r.json()["detail"]
        assert "too costly" in detail and "A1 (" in detail  # the piece it adds, not the boundary itself
        monkeypatch.setattr(compare, "_refuse_speck", lambda *_: time.sleep(60))  # as a GEOS call nothing stops
        r = c.post(url, json=new, headers=auth(keys))
        assert "longer than 2 s" in assert_problem(r, 503)["detail"]
        assert_worker_freed(c)


def test_a_bad_attribute_names_the_boundary_that_gives_it(blueprint: Blueprint) -> None:
    """The 预审 file's attributes are read for the added pieces' review: a bad one named neither file nor parcel."""
    old = parcel_frame(rect(3.85, 4.2, 3.95, 4.3), investment_wan="abc")
    new = parcel_frame(rect(3.85, 4.2, 4.05, 4.3))
    with pytest.raises(InputError, match=r"^the pre-review boundary: bad project attributes: investment_wan='abc'"):
        compare_boundaries(old, new, blueprint=blueprint)


def test_a_project_figure_is_not_a_pieces(blueprint: Blueprint) -> None:
    """Two strips added to a project of 2,000 万元 were reviewed as two parcels of it with 2,000 万元 each: "project
    XM-9, 2 parcels together: an investment of 4,000 万元" judged the land-use standard on the strips; without the
    amounts a strip of an industrial project was then "not given the investment" (有条件通过 for every one: an
    officer's read). A piece takes the project's type and flags, not its id, name or amounts, and the land-use
    standard, which weighs a whole project's land, is not graded on a strip."""
    old = parcel_frame(rect(1.0, 1.0, 1.2, 1.2), project_type="industrial", project_id="XM-9", investment_wan=2000)
    new = parcel_frame(rect(0.9, 1.0, 1.3, 1.2), project_type="industrial", project_id="XM-9", investment_wan=2000)
    assert boundary_project(new, old, None) == {"project_type": "industrial"}
    check = compare_boundaries(old, new, blueprint=blueprint)
    assert check.added_review is not None and len(check.added_review.parcels) == 2
    for parcel in check.added_review.parcels:
        assert "land_use_standard" not in {i.code for i in parcel.items}
    whole = review(new, blueprint).parcels[0]  # the 报批 boundary's own review still grades it
    assert whole.item("land_use_standard").facts.investment_wan == 2000
