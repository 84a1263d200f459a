"""``lantu review … --summary``: the workbook read back with openpyxl, and the CSV."""

from __future__ import annotations

import csv
from pathlib import Path

import openpyxl
import pytest
from support import parcel_frame, rect
from typer.testing import CliRunner

from api.cli import app
from geo.blueprint import Blueprint
from geo.crs import M2_PER_MU
from geo.errors import FormatError
from geo.io.summary import PARCEL_COLUMNS, summary_rows, write_summary
from geo.review import ReviewResult, review

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
    assert book.sheetnames == ["地块清单", "县区汇总", "任城区（370811）", "兖州区（370812）", "审查项统计"]
    parcels = book["地块清单"]
    assert parcels.freeze_panes == "A2"
    header = [c.value for c in parcels[1]]
    assert header == [h for _, h, _ in PARCEL_COLUMNS]
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
    total = dict(zip(header, body[-1], strict=True))
    assert total["面积（公顷）"] == pytest.approx(16.0 + 4.0, abs=1e-4)
    assert renchen.cell(row=renchen.max_row, column=1).font.bold
    overview = {r[0]: r for r in book["县区汇总"].iter_rows(min_row=2, values_only=True)}
    overview_header = [c.value for c in book["县区汇总"][1]]
    assert overview["任城区（370811）"][overview_header.index("地块数")] == 2
    assert overview["任城区（370811）"][overview_header.index("不通过")] == 1
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


def test_a_csv_summary_of_a_review_on_the_demo_blueprint_marks_every_row(result: ReviewResult, tmp_path: Path) -> None:
    """A CSV has no sheet to say it on: each row ends with the mark, so a row copied elsewhere keeps it; a review
    on a real blueprint has no such column."""
    demo = write_summary(result.model_copy(update={"synthetic": True}), tmp_path / "demo.csv")
    with demo.open(encoding="utf-8-sig", newline="") as f:
        rows = list(csv.DictReader(f))
    assert [r["数据说明"] for r in rows] == ["示例（合成数据，仅供演示）"] * 3
    assert [r["地块编号"] for r in rows] == ["A", "B", "C"]
    real = write_summary(result, tmp_path / "real.csv")
    with real.open(encoding="utf-8-sig", newline="") as f:
        assert "数据说明" not in next(csv.reader(f))


def test_the_papers_set_no_quota_where_the_ledger_reserves_none(result: ReviewResult) -> None:
    """One rule for the summary, the opinion and the report (``ParcelResult.quota_set``), the ledger's refusals."""
    from geo.quota.reservations import REFUSED_VERDICTS
    from geo.vocabulary import VERDICTS

    for verdict in VERDICTS:
        parcel = result.parcels[0].model_copy(update={"verdict": verdict})
        assert parcel.quota_set == (verdict not in REFUSED_VERDICTS), verdict
