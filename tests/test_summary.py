"""``lantu review … --summary``: the workbook read back with openpyxl, and the CSV."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from support import RectLayers, parcel_frame, rect, rect_blueprint
from typer.testing import CliRunner

from api.cli import app
from geo.blueprint import Blueprint, load_blueprint
from geo.crs import M2_PER_MU
from geo.errors import FormatError
from geo.io.summary import PARCEL_COLUMNS, summary_rows, write_summary
from geo.review import ReviewResult, review
from geo.vocabulary import VERDICT_ZH

runner = CliRunner()


@pytest.fixture(scope="module")
def result(blueprint: Blueprint) -> ReviewResult:
    frame = parcel_frame(
        rect(1.2, 1.2, 1.6, 1.6),  # 任城区, inside the urban boundary on 工业用地: passes
        rect(2.9, 0.1, 3.1, 0.3),  # 任城区, half on basic farmland: reject
        rect(5.5, 2.0, 5.7, 2.2),  # 兖州区, on 农田保护区 (planned use): reject
        project_type="industrial",
        investment_wan=100_000,
    )
    frame["id"] = ["A", "B", "C"]
    frame["name"] = ["甲厂", "乙厂", "丙厂"]
    return review(frame, blueprint)


def test_workbook_read_back(result: ReviewResult, tmp_path: Path) -> None:
    path = write_summary(result, tmp_path / "out" / "summary.xlsx")
    book = openpyxl.load_workbook(path)
    assert book.sheetnames == ["地块清单", "县区汇总", "任城区（370811）", "兖州区（370812）", "审查项统计", "说明"]
    parcels = book["地块清单"]
    assert parcels.freeze_panes == "A2"
    header = [c.value for c in parcels[1]]
    assert header == [h for _, h, _ in PARCEL_COLUMNS] + ["数据说明"]  # item 10 graded on the sample table
    rows = {r[0]: dict(zip(header, r, strict=True)) for r in parcels.iter_rows(min_row=2, values_only=True)}
    assert set(rows) == {"A", "B", "C"}
    a, b = rows["A"], rows["B"]
    assert a["项目名称"] == "甲厂" and a["项目类型"] == "工业" and a["所在县区"] == "任城区"
    assert a["面积（亩）"] == pytest.approx(160_000 / M2_PER_MU, abs=1e-3)
    assert a["面积（公顷）"] == pytest.approx(16.0, abs=1e-6)
    assert a["审查结论"] == "通过" and a["不通过项"] is None
    assert b["审查结论"] == "不通过" and "占用永久基本农田" in b["不通过项"]
    parcel_a = next(p for p in result.parcels if p.id == "A")
    assert a["新增建设用地指标（m²）"] == pytest.approx(parcel_a.land_quota.new_construction_quota_m2, abs=0.01)
    assert a["耕地占补平衡（m²）"] == pytest.approx(parcel_a.land_quota.compensation_m2, abs=0.01)
    # a refused parcel is set no quota, as its papers say (不核定) and the ledger does: none summed either
    parcel_b = next(p for p in result.parcels if p.id == "B")
    assert parcel_b.land_quota.new_construction_quota_m2
    assert b["新增建设用地指标（m²）"] is None and b["耕地占补平衡（m²）"] is None
    area_col = header.index("面积（亩）") + 1
    assert parcels.cell(row=2, column=area_col).number_format == "#,##0.00"
    # one sheet per county, its parcels and a bold total row
    renchen = book["任城区（370811）"]
    assert renchen.freeze_panes == "A2"
    body = list(renchen.iter_rows(min_row=2, values_only=True))
    assert [r[0] for r in body] == ["A", "B", "合计"]
    county_header = [c.value for c in renchen[1]]
    assert county_header == [h for _, h, _ in PARCEL_COLUMNS]
    total = dict(zip(county_header, body[-1], strict=True))
    assert total["面积（公顷）"] == pytest.approx(16.0 + 4.0, abs=1e-4)
    assert renchen.cell(row=renchen.max_row, column=1).font.bold
    overview_sheet = book["县区汇总"]
    overview_header = [c.value for c in overview_sheet[1]]
    overview = {
        r[0]: dict(zip(overview_header, r, strict=True)) for r in overview_sheet.iter_rows(min_row=2, values_only=True)
    }
    assert list(overview) == ["任城区（370811）", "兖州区（370812）", "合计"]
    assert overview["任城区（370811）"]["地块数"] == 2 and overview["任城区（370811）"]["不通过"] == 1
    # the counties' overall total, bold as a county sheet's: A 16 ha, B and C 4 ha each (24 ha = 360 亩)
    overall = overview["合计"]
    assert (overall["地块数"], overall["通过"], overall["不通过"], overall["其中跨县地块"]) == (3, 1, 2, 0)
    assert (overall["面积（公顷）"], overall["面积（亩）"]) == (24.0, 360.0)
    assert overview_sheet.max_row == 4 and all(c.font.bold for c in overview_sheet[4])
    assert not overview_sheet.cell(row=3, column=1).font.bold
    # the items' counts: every parcel counted once per item
    counts = book["审查项统计"]
    count_header = [c.value for c in counts[1]]
    by_item = {r[0]: dict(zip(count_header, r, strict=True)) for r in counts.iter_rows(min_row=2, values_only=True)}
    assert all(row["合计"] == 3 for row in by_item.values())
    assert by_item["basic_farmland"]["不通过"] == 1 and by_item["basic_farmland"]["通过"] == 2


def test_csv(result: ReviewResult, tmp_path: Path) -> None:
    path = write_summary(result, tmp_path / "summary.csv")
    assert path.read_bytes().startswith(b"\xef\xbb\xbf")  # Excel reads the Chinese with the BOM
    with path.open(encoding="utf-8-sig", newline="") as f:
        rows = list(csv.DictReader(f))
    assert [r["地块编号"] for r in rows] == ["A", "B", "C"]
    assert rows[1]["审查结论"] == "不通过"


def test_areas_are_written_to_the_projects_decimals(result: ReviewResult, tmp_path: Path) -> None:
    """亩 to 2 decimals and 公顷 to 4 (geo.crs.Area's rule), not 4 and 6. By hand: 1 234.5678 m² of new quota is
    1.8518517 亩 → 1.85; 4 321.5 m² of 占补平衡 is 6.48225 亩 → 6.48; a parcel carrying 1.23456789 公顷 and
    18.5185185 亩 (a result written elsewhere) → 1.2346 and 18.52."""
    b = result.parcels[1]
    quota = b.land_quota.model_copy(update={"new_construction_quota_m2": 1_234.5678, "compensation_m2": 4_321.5})
    update = {"area_ha": 1.23456789, "area_mu": 18.5185185, "land_quota": quota, "verdict": "conditional"}
    parcel = b.model_copy(update=update)
    odd = result.model_copy(update={"parcels": [result.parcels[0], parcel]})
    (_, row) = summary_rows(odd)
    assert (row["area_mu"], row["area_ha"]) == (18.52, 1.2346)
    assert (row["new_quota_m2"], row["new_quota_mu"]) == (1_234.57, 1.85)
    assert (row["compensation_m2"], row["compensation_mu"]) == (4_321.5, 6.48)
    with write_summary(odd, tmp_path / "s.csv").open(encoding="utf-8-sig", newline="") as f:
        line = list(csv.DictReader(f))[1]
    assert (line["面积（亩）"], line["面积（公顷）"], line["新增建设用地指标（亩）"], line["耕地占补平衡（亩）"]) == (
        "18.52",
        "1.2346",
        "1.85",
        "6.48",
    )


def test_unknown_suffix_refused(result: ReviewResult, tmp_path: Path) -> None:
    with pytest.raises(FormatError):
        write_summary(result, tmp_path / "summary.ods")


def test_cli_summary(tmp_path: Path, blueprint_dir: Path) -> None:
    parcels = tmp_path / "parcels.geojson"
    frame = parcel_frame(rect(1.2, 1.2, 1.6, 1.6), rect(2.9, 0.1, 3.1, 0.3), project_type="industrial")
    frame.to_crs(4490).to_file(parcels, driver="GeoJSON")
    out = tmp_path / "summary.xlsx"
    result = runner.invoke(
        app, ["review", str(parcels), "-b", str(blueprint_dir), "--summary", str(out), "-o", str(tmp_path / "r.json")]
    )
    assert result.exit_code == 0, result.output
    assert openpyxl.load_workbook(out)["地块清单"].max_row == 3
    bad = runner.invoke(app, ["review", str(parcels), "-b", str(blueprint_dir), "--summary", str(tmp_path / "s.txt")])
    assert bad.exit_code == 2 and not (tmp_path / "s.txt").exists()


def test_a_summary_of_a_review_on_the_demo_blueprint_says_so_first(result: ReviewResult, tmp_path: Path) -> None:
    """Its control layers are synthetic: the workbook opens on a sheet that says so (a review records it)."""
    path = write_summary(result.model_copy(update={"synthetic": True}), tmp_path / "demo.xlsx")
    book = openpyxl.load_workbook(path)
    assert book.sheetnames[:2] == ["示例说明", "地块清单"] and book.active is not None
    assert book.active.title == "示例说明" and book["示例说明"]["A1"].value == "示例（合成数据，仅供演示）"


def test_every_sheet_of_a_demo_summary_prints_the_mark(result: ReviewResult, tmp_path: Path) -> None:
    """A sheet printed alone (a county's, handed to that county) still says the data are synthetic: each sheet's
    print header and footer carry the mark, and so do the file's own properties; a real review's do not."""
    demo = openpyxl.load_workbook(write_summary(result.model_copy(update={"synthetic": True}), tmp_path / "d.xlsx"))
    assert len(demo.worksheets) == 6
    for ws in demo.worksheets:
        assert ws.oddHeader.center.text == "示例（合成数据，仅供演示）", ws.title
        assert ws.oddFooter.center.text == "示例（合成数据，仅供演示）", ws.title
    assert demo.properties.title == "示例（合成数据，仅供演示） 用地审查汇总表"
    assert demo.properties.description is not None and demo.properties.description.startswith("示例（合成数据")
    real = openpyxl.load_workbook(write_summary(result, tmp_path / "r.xlsx"))
    assert all(ws.oddHeader.center.text is None and ws.oddFooter.center.text is None for ws in real.worksheets)
    assert real.properties.title == "用地审查汇总表" and not real.properties.description


def test_a_csv_summary_of_a_review_on_the_demo_blueprint_marks_every_row(result: ReviewResult, tmp_path: Path) -> None:
    """A CSV has no sheet to say it on: each row ends with the mark, so a row copied elsewhere keeps it, and with
    the standard table item 10 was graded on; a review on a real blueprint names the table alone."""
    demo = write_summary(result.model_copy(update={"synthetic": True}), tmp_path / "demo.csv")
    with demo.open(encoding="utf-8-sig", newline="") as f:
        rows = list(csv.DictReader(f))
    assert [r["数据说明"] for r in rows] == ["示例（合成数据，仅供演示）；建设用地控制标准依据：样例标准表"] * 3
    assert [r["地块编号"] for r in rows] == ["A", "B", "C"]
    real = write_summary(result, tmp_path / "real.csv")
    with real.open(encoding="utf-8-sig", newline="") as f:
        rows = list(csv.DictReader(f))
    assert [r["数据说明"] for r in rows] == ["建设用地控制标准依据：样例标准表"] * 3


def _without_item(result: ReviewResult, code: str) -> ReviewResult:
    parcels = [p.model_copy(update={"items": [i for i in p.items if i.code != code]}) for p in result.parcels]
    return result.model_copy(update={"parcels": parcels})


def test_the_summary_names_the_standard_table_item_10_was_graded_on(result: ReviewResult, tmp_path: Path) -> None:
    """The ten-point profile grades item 10 on the shipped sample (``# label: 样例标准表``): a review on a real
    blueprint is graded on sample values all the same, and its summary says so by the table's own label, as the
    report and the opinion do; a profile without the item says nothing of a table."""
    book = openpyxl.load_workbook(write_summary(result, tmp_path / "s.xlsx"))
    assert [r[0] for r in book["说明"].iter_rows(values_only=True)] == ["建设用地控制标准依据：样例标准表。"]
    parcels = book["地块清单"]
    assert [c.value for c in parcels[1]][-1] == "数据说明"
    assert [r[-1] for r in parcels.iter_rows(min_row=2, values_only=True)] == ["建设用地控制标准依据：样例标准表"] * 3
    # a province's own table is named by its own label, on the CSV too
    item = result.parcels[0].item("land_use_standard")
    own = item.model_copy(update={"facts": item.facts.model_copy(update={"table_label": "某省建设用地控制标准"})})
    first = result.parcels[0].model_copy(
        update={"items": [own if i.code == "land_use_standard" else i for i in result.parcels[0].items]}
    )
    mixed = result.model_copy(update={"parcels": [first, *result.parcels[1:]]})
    book = openpyxl.load_workbook(write_summary(mixed, tmp_path / "m.xlsx"))
    assert [r[0] for r in book["说明"].iter_rows(values_only=True)] == [
        "建设用地控制标准依据：某省建设用地控制标准。",
        "建设用地控制标准依据：样例标准表。",
    ]
    with write_summary(mixed, tmp_path / "m.csv").open(encoding="utf-8-sig", newline="") as f:
        notes = [r["数据说明"] for r in csv.DictReader(f)]
    assert notes == ["建设用地控制标准依据：某省建设用地控制标准", *["建设用地控制标准依据：样例标准表"] * 2]
    # no item 10, no table: no column, no sheet
    plain = _without_item(result, "land_use_standard")
    book = openpyxl.load_workbook(write_summary(plain, tmp_path / "p.xlsx"))
    assert "说明" not in book.sheetnames and [c.value for c in book["地块清单"][1]] == [h for _, h, _ in PARCEL_COLUMNS]
    with write_summary(plain, tmp_path / "p.csv").open(encoding="utf-8-sig", newline="") as f:
        assert next(csv.reader(f)) == [h for _, h, _ in PARCEL_COLUMNS]


def test_one_county_has_no_overall_total(result: ReviewResult, tmp_path: Path) -> None:
    """The counties' 合计 is added from two counties on: with one, the county's row is the total."""
    one = result.model_copy(update={"parcels": result.parcels[:2]})  # A and B, both in 任城区
    overview = openpyxl.load_workbook(write_summary(one, tmp_path / "one.xlsx"))["县区汇总"]
    assert [r[0] for r in overview.iter_rows(min_row=2, values_only=True)] == ["任城区（370811）"]


@pytest.fixture(scope="module")
def across(blueprint: Blueprint) -> ReviewResult:
    """X straddles the line between 任城区 and 兖州区 at x = 5 km: 0.1 km × 0.128 km = 12,800 m² on each side (on
    农田保护区, where infrastructure is conditional; its 任城区 half on 0404 其他草地, its 兖州区 half on 0601
    工业用地: 12,800 m² of new construction quota, no cultivated land). A (160,000 m², 0701: no new quota) passes
    in 任城区, C (40,000 m²) is refused in 兖州区."""
    frame = parcel_frame(
        rect(1.2, 1.2, 1.6, 1.6), rect(4.9, 1.2, 5.1, 1.328), rect(5.5, 2.0, 5.7, 2.2), investment_wan=100_000
    )
    frame["id"] = ["A", "X", "C"]
    frame["name"] = ["甲厂", "跨县道路", "丙厂"]
    frame["project_type"] = ["industrial", "infrastructure", "industrial"]
    return review(frame, blueprint)


def _sheet_rows(ws: Any) -> dict[str, dict[str, Any]]:
    header = [c.value for c in ws[1]]
    return {r[0]: dict(zip(header, r, strict=True)) for r in ws.iter_rows(min_row=2, values_only=True) if r[0]}


def test_a_parcel_across_a_county_line_counts_each_countys_part(across: ReviewResult, tmp_path: Path) -> None:
    """用地 is 组卷报批 county by county (济政办字〔2020〕52号 三（一）5): each county's sheet and the counties' totals
    count that county's part, 12,800 m² = 1.28 公顷 = 19.20 亩 each; the parcel sheet keeps one row naming both.
    Its land figures, measured for the whole parcel, stay on the county holding most (the review's ``county``,
    任城区 here, the first of two equal parts), blank on 兖州区's sheet, and each sheet says so."""
    x = across.parcels[1]
    assert [(c.name, c.area_m2) for c in x.counties or []] == [("任城区", 12_800.0), ("兖州区", 12_800.0)]
    assert x.county is not None and x.county.name == "任城区" and x.verdict == "conditional"
    assert across.parcels[0].land_quota.new_construction_quota_m2 == 0.0
    book = openpyxl.load_workbook(write_summary(across, tmp_path / "across.xlsx"))
    assert book.sheetnames == ["地块清单", "县区汇总", "任城区（370811）", "兖州区（370812）", "审查项统计", "说明"]

    row = _sheet_rows(book["地块清单"])["X"]
    assert (row["县区代码"], row["所在县区"]) == ("370811；370812", "任城区 1.2800 公顷；兖州区 1.2800 公顷")
    assert (row["面积（公顷）"], row["面积（亩）"]) == (2.56, 38.4)
    assert (row["新增建设用地指标（m²）"], row["新增建设用地指标（亩）"]) == (12_800.0, 19.2)
    assert (row["耕地占补平衡（m²）"], row["耕地占补平衡（亩）"]) == (0.0, 0.0)

    renchen_sheet, yanzhou_sheet = book["任城区（370811）"], book["兖州区（370812）"]
    renchen, yanzhou = _sheet_rows(renchen_sheet), _sheet_rows(yanzhou_sheet)
    assert [k for k in renchen if not k.startswith("注")][:3] == ["A", "X", "合计"]
    assert [k for k in yanzhou if not k.startswith("注")][:3] == ["X", "C", "合计"]
    rx, yx = renchen["X"], yanzhou["X"]
    assert (rx["县区代码"], rx["所在县区"]) == ("370811", "任城区（跨县，另兖州区 1.2800 公顷）")
    assert (yx["县区代码"], yx["所在县区"]) == ("370812", "兖州区（跨县，另任城区 1.2800 公顷）")
    assert (rx["面积（公顷）"], rx["面积（亩）"]) == (yx["面积（公顷）"], yx["面积（亩）"]) == (1.28, 19.2)
    assert (rx["新增建设用地指标（m²）"], rx["新增建设用地指标（亩）"]) == (12_800.0, 19.2)
    assert yx["新增建设用地指标（m²）"] is None and yx["耕地占补平衡（m²）"] is None
    # 任城区: A 16 ha (240 亩) and X's 1.28 ha (19.2 亩); 兖州区: X's 1.28 ha and C 4 ha (60 亩)
    r_total, y_total = renchen["合计"], yanzhou["合计"]
    assert (r_total["面积（公顷）"], r_total["面积（亩）"], r_total["新增建设用地指标（m²）"]) == (17.28, 259.2, 12_800)
    assert (y_total["面积（公顷）"], y_total["面积（亩）"], y_total["新增建设用地指标（m²）"]) == (5.28, 79.2, 0)
    notes = [r[0] for r in renchen_sheet.iter_rows(min_row=5, values_only=True) if r[0]]
    assert notes[0].startswith("注：地块 X 跨县，本表面积为其在本县区的部分")
    assert notes[0].endswith("列在本县区（占地最多的县区）。") and "指标台账不为跨县地块配置指标" in notes[1]
    notes = [r[0] for r in yanzhou_sheet.iter_rows(min_row=5, values_only=True) if r[0]]
    assert notes[0].endswith("全数列在任城区（占地最多的县区），本表不计。")
    assert renchen_sheet.cell(row=4, column=1).value == "合计" and renchen_sheet.cell(row=4, column=1).font.bold

    overview_sheet = book["县区汇总"]
    overview = _sheet_rows(overview_sheet)
    r, y, t = overview["任城区（370811）"], overview["兖州区（370812）"], overview["合计"]
    assert (r["地块数"], r["其中跨县地块"], r["面积（公顷）"], r["面积（亩）"]) == (2, 1, 17.28, 259.2)
    assert (y["地块数"], y["其中跨县地块"], y["面积（公顷）"], y["面积（亩）"]) == (2, 1, 5.28, 79.2)
    assert (r["新增建设用地指标（亩）"], y["新增建设用地指标（亩）"]) == (19.2, 0)
    # three parcels, X once; 16 + 2.56 + 4 = 22.56 ha = 338.4 亩, X's 12,800 m² of new quota once
    assert (t["地块数"], t["其中跨县地块"], t["通过"], t["有条件通过"], t["不通过"]) == (3, 1, 1, 1, 1)
    assert (t["面积（公顷）"], t["面积（亩）"], t["新增建设用地指标（m²）"], t["新增建设用地指标（亩）"]) == (
        22.56,
        338.4,
        12_800,
        19.2,
    )
    assert all(c.font.bold for c in overview_sheet[4])
    assert overview_sheet.cell(row=6, column=1).value.startswith("注：跨县地块的面积按各县区所占部分分列、合计")
    assert "跨县地块的面积按各县区所占部分分列" in book["说明"]["A2"].value

    with write_summary(across, tmp_path / "across.csv").open(encoding="utf-8-sig", newline="") as f:
        line = {r["地块编号"]: r for r in csv.DictReader(f)}["X"]
    assert (line["所在县区"], line["面积（公顷）"], line["面积（亩）"]) == (
        "任城区 1.2800 公顷；兖州区 1.2800 公顷",
        "2.56",
        "38.4",
    )


def test_a_county_part_beyond_the_coverage_is_not_given_the_covered_parts_findings(tmp_path: Path) -> None:
    """The blueprint covers 任城区 (x < 5 km) and a strip of 兖州区 (y > 4 km). W lies 0.5 km in 任城区, on the red
    line there, and 0.6 km in 兖州区, none of it covered: it is refused on 任城区's red line, and 兖州区's sheet read
    不通过 · 生态保护红线 for land no item reviewed (an officer's read). P's 兖州区 part is half covered: its sheet
    keeps the verdict and says the part beyond. The papers say each part's land beyond the coverage."""
    from geo.opinion import opinion
    from geo.report_model import report_model

    layers: RectLayers = {
        "county": [
            ((0, 0, 5, 5), {"code": "370811", "name": "任城区"}),
            ((5, 0, 10, 5), {"code": "370812", "name": "兖州区"}),
        ],
        "extent": [((0, 0, 5, 5), {}), ((5, 4, 10, 5), {})],
        "ecological_redline": [((4, 1, 5, 2), {})],
        "land_use": [((0, 0, 10, 5), {"class_code": "0601"})],
    }
    bp = load_blueprint(rect_blueprint(tmp_path / "bp", layers, slope=None))
    frame = parcel_frame(rect(4.5, 1.2, 5.6, 1.4), rect(4.8, 3.9, 5.3, 4.1), project_type="industrial")
    frame["id"] = ["W", "P"]
    done = review(frame, bp)
    w, p = done.parcels
    assert w.verdict == "reject" and w.item("ecological_redline").status == "fail"
    assert [(c.name, c.area_m2, c.beyond_coverage_m2) for c in w.counties or []] == [
        ("兖州区", 120_000.0, 120_000.0),
        ("任城区", 100_000.0, 0.0),
    ]
    assert [(c.name, c.area_m2, c.beyond_coverage_m2) for c in p.counties or []] == [
        ("兖州区", 60_000.0, 30_000.0),
        ("任城区", 40_000.0, 0.0),
    ]
    book = openpyxl.load_workbook(write_summary(done, tmp_path / "beyond.xlsx"))
    yanzhou_sheet = book["兖州区（370812）"]
    yanzhou, renchen = _sheet_rows(yanzhou_sheet), _sheet_rows(book["任城区（370811）"])
    assert (renchen["W"]["审查结论"], renchen["W"]["不通过项"]) == ("不通过", "生态保护红线")
    yw = yanzhou["W"]
    assert (yw["审查结论"], yw["不通过项"], yw["有条件项"]) == ("超出蓝图覆盖范围", None, None)
    assert yw["未审查项"] == "；".join(i.name_zh for i in w.items)
    assert p.verdict == "out_of_coverage" and yanzhou["P"]["审查结论"] == VERDICT_ZH[p.verdict]  # its own
    notes = [r[0] for r in yanzhou_sheet.iter_rows(min_row=2, values_only=True) if r[0] and r[0].startswith("注")]
    assert "本县区部分有 12.0000 公顷位于蓝图覆盖范围之外，未经审查，地块的审查结论不适用于本县区部分；" in notes[0]
    assert "本县区部分有 3.0000 公顷位于蓝图覆盖范围之外，未经审查；其新增建设用地指标" in notes[1]
    overview = _sheet_rows(book["县区汇总"])  # a county counts its parts by what they say; the 合计 each parcel's own
    assert [(overview[k]["不通过"], overview[k]["超出蓝图覆盖范围"]) for k in ("兖州区（370812）", "合计")] == [
        (0, 2),
        (1, 1),
    ]
    located = dict((f.label, f.value) for f in opinion(done).parcels[0].project)["用地位置"]
    assert located.startswith(
        "跨县级行政区：兖州区（行政区划代码 370812）120,000.00平方米（12.0000公顷，180.00亩）"
        "（其中 120,000.00 m²（12.0000 公顷，180.00 亩）位于蓝图覆盖范围之外，未经审查），任城区"
    ), located
    county = dict((f.label, f.value) for f in report_model(done).parcels[1].facts)["所在区县"]
    assert county.startswith("兖州区（370812）60,000.00 m²（6.0000 公顷，90.00 亩）（其中 30,000.00 m²"), county


def test_the_papers_set_no_quota_where_the_ledger_reserves_none(result: ReviewResult) -> None:
    """One rule for the summary, the opinion and the report (``ParcelResult.quota_set``), the ledger's refusals."""
    from geo.quota.reservations import REFUSED_VERDICTS
    from geo.vocabulary import VERDICTS

    for verdict in VERDICTS:
        parcel = result.parcels[0].model_copy(update={"verdict": verdict})
        assert parcel.quota_set == (verdict not in REFUSED_VERDICTS), verdict
