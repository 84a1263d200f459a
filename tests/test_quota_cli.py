"""`lantu quota …`: the reviewer's walk-through of the ledger from the command line."""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from support import display_width, parcel_frame, read_records, rect
from typer.testing import CliRunner

from api.cli import app
from geo import cli_context
from geo.cli_context import Layout, show_table
from geo.crs import Area
from geo.io.tables import write_table
from geo.quota.report import amount_text


@pytest.fixture
def run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    monkeypatch.setenv("LANTU_DATABASE_URL", f"sqlite:///{tmp_path / 'ledger.db'}")
    runner = CliRunner()

    def invoke(*args: str, code: int = 0) -> object:
        result = runner.invoke(app, [str(a) for a in args])
        assert result.exit_code == code, result.output
        return result

    return invoke


COMPENSATION = (
    "370811,land_compensation,60000\n370811,land_compensation_paddy,50000\n370811,land_compensation_grain,100000\n"
)


def _issue(run, tmp_path: Path, blueprint_dir: Path, plan: str) -> None:  # type: ignore[no-untyped-def]
    """A ledger with the blueprint's counties, issued ``plan`` (CSV rows county_code,factor,amount) for 2026."""
    run("quota", "init", "--blueprint", blueprint_dir)
    csv_file = tmp_path / "plan.csv"
    csv_file.write_text("county_code,factor,amount\n" + plan, encoding="utf-8")
    run("quota", "issue", "--year", "2026", "--csv", csv_file)


def _enter(run, project_id: str, level: str = "市重点", county: str = "370811") -> None:  # type: ignore[no-untyped-def]
    """先入库后保障: the project enters the library at 储备 before it may receive quota."""
    run(
        *("projects", "add", project_id, "--name", f"项目{project_id}", "--type", "industrial"),
        *("--level", level, "--county", county, "--stage", "储备"),
    )


def _review(run, tmp_path: Path, blueprint_dir: Path, name: str, box: tuple[float, ...], **props: Any) -> Path:  # type: ignore[no-untyped-def]
    parcels = tmp_path / f"{name}.geojson"
    parcel_frame(rect(*box), id=name, **props).to_crs(4490).to_file(parcels, driver="GeoJSON")
    out = tmp_path / f"{name}.json"
    run("review", parcels, "-b", blueprint_dir, "-o", out)
    return out


def test_reviewer_walk_through(run, tmp_path: Path, blueprint_dir: Path) -> None:  # type: ignore[no-untyped-def]
    _issue(run, tmp_path, blueprint_dir, "370811,land_new,100000\n370812,land_new,50000\n" + COMPENSATION)
    paddy = _review(run, tmp_path, blueprint_dir, "PADDY", (2.2, 0.2, 2.4, 0.4))  # conditional: 0101
    clean = _review(run, tmp_path, blueprint_dir, "CLEAN", (1.2, 1.2, 1.3, 1.3))  # pass, on construction land
    farmland = _review(run, tmp_path, blueprint_dir, "FARM", (3.2, 0.2, 3.4, 0.4))  # reject: basic farmland
    not_entered = run("quota", "reserve", paddy, "--year", "2026", code=2)
    assert "先入库后保障" in not_entered.stderr
    _enter(run, "PADDY")
    run("quota", "reserve", paddy, "--year", "2026")
    refused = run("quota", "reserve", farmland, "--year", "2026", code=2)
    assert "不通过" in refused.stderr and len(refused.stderr.strip().splitlines()) == 1
    no_need = run("quota", "reserve", clean, "--year", "2026", code=2)
    assert "no land quota" in no_need.stderr
    balances = json.loads(run("quota", "balances", "--year", "2026", "--format", "json").stdout)
    row = {(b["holder"], b["factor"], b["bucket"]): b["balance"] for b in balances}
    assert row[("370811", "land_new", "available")] == pytest.approx(70_000 - 40_000)
    assert row[("city", "land_new", "available")] == pytest.approx(45_000)
    assert row[("PADDY", "land_compensation_paddy", "reserved")] == pytest.approx(40_000)
    assert {"holder", "factor", "year", "balance"} <= set(balances[0])
    journal = list(csv.DictReader(io.StringIO(run("quota", "journal").stdout)))
    assert {j["类型"] for j in journal} == {"下达", "配置"}  # the CSV is for people: Chinese headers and kinds
    run("quota", "revoke", "PADDY")
    balances = json.loads(run("quota", "balances", "--year", "2026", "-f", "json").stdout)
    assert next(b["balance"] for b in balances if b["holder"] == "370811" and b["factor"] == "land_new") == 70_000
    assert "PADDY" in run("quota", "balances", "--year", "2026").stdout  # the rich table
    out = tmp_path / "quota.html"
    run("quota", "map", "--year", "2026", "-b", blueprint_dir, "-o", out)
    assert "任城区" in out.read_text(encoding="utf-8")


def test_cli_refusals_exit_2_and_change_nothing(run, tmp_path: Path, blueprint_dir: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr("geo.quota.accounts.beijing_today", lambda: date(2026, 1, 1))  # lent on 1 January 2026
    run("quota", "init", "--blueprint", blueprint_dir)
    plan = tmp_path / "plan.csv"
    plan.write_text("county_code,factor,amount\n999999,land_new,100\n", encoding="utf-8")
    assert "unknown county" in run("quota", "issue", "--year", "2026", "--csv", plan, code=2).stderr
    plan.write_text(
        "county_code,factor,amount\n370811,land_new,1000\n370811,land_compensation,1000\n", encoding="utf-8"
    )
    run("quota", "issue", "--year", "2026", "--csv", plan)
    big = _review(run, tmp_path, blueprint_dir, "BIG", (2.0, 0.0, 2.5, 1.0))
    _enter(run, "BIG")
    assert "short" in run("quota", "reserve", big, "--year", "2026", code=2).stderr  # overdraw
    bad = tmp_path / "bad.csv"
    bad.write_text("county,amount\n", encoding="utf-8")
    assert "county_code,factor,amount" in run("quota", "issue", "--year", "2026", "--csv", bad, code=2).stderr
    lend = ("quota", "transfer", "370811", "370812")
    due = ("--year", "2026", "--amount", "100", "--due", "2026-01-31")
    new = run(*lend, "land_new", *due, code=2).stderr  # 新增 is neither sold nor lent (聊城 第十七条)
    assert "is neither transferred nor lent" in new and "新增建设用地计划指标不得有偿调剂或临时拆借" in new
    journal = json.loads(run("quota", "journal", "--format", "json").stdout)
    assert {j["kind"] for j in journal} == {"issue"}
    run(*lend, "land_compensation", *due)
    (overdue,) = json.loads(run("quota", "overdue", "--today", "2026-03-01", "-f", "json").stdout)
    assert overdue["days_overdue"] == 29


def test_cli_reserve_rules_and_payer(run, tmp_path: Path, blueprint_dir: Path) -> None:  # type: ignore[no-untyped-def]
    """--county must be the parcel's; --source city pays the 新增 the county cannot (聊城 办法 第十七条), and is
    paid back on revoke."""
    run("quota", "init", "--blueprint", blueprint_dir)
    plan = tmp_path / "plan.csv"
    plan.write_text(
        "county_code,factor,amount\n370811,land_new,20000\n370811,land_compensation,40000\n"
        "370811,land_compensation_paddy,40000\n370811,land_compensation_grain,24000\n"
    )
    run("quota", "issue", "--year", "2026", "--csv", plan)  # the city pools 6 000 of land_new, the county keeps 14 000
    run("quota", "point-supply", "city", "land_new", "--year", "2026", "--amount", 30_000)
    city = _review(run, tmp_path, blueprint_dir, "CITYPAID", (2.2, 0.2, 2.4, 0.4))  # 任城区, 40 000 m² of paddy
    wrong = run("quota", "reserve", city, "--year", "2026", "--county", "370812", code=2)
    assert "not 370812" in wrong.stderr and "地块所在区县" in wrong.stderr

    def held(holder: str) -> float:
        rows = json.loads(run("quota", "balances", "--year", "2026", "-f", "json").stdout)
        return float(next(b["balance"] for b in rows if b["holder"] == holder and b["factor"] == "land_new"))

    before = held("city"), held("370811")
    _enter(run, "CITYPAID", level="县重点")
    not_key = run("quota", "reserve", city, "--year", "2026", "--source", "city", code=2)
    assert "重点项目" in not_key.stderr
    run("projects", "stage", "CITYPAID", "撤销")
    _enter(run, "CITYPAID-2", level="市重点")
    run("quota", "reserve", city, "--year", "2026", "--source", "city", "--project-id", "CITYPAID-2")
    assert before == (36_000, 14_000) and (held("city"), held("370811")) == (10_000, 0)  # 40 000: 26 000 pooled
    again = run("quota", "reserve", city, "--year", "2026", "--project-id", "OTHER", code=2)
    assert "one reviewed parcel serves one project" in again.stderr
    run("quota", "revoke", "CITYPAID-2")
    assert (held("city"), held("370811")) == before


def test_plan_and_output_formats(run, tmp_path: Path, blueprint_dir: Path) -> None:  # type: ignore[no-untyped-def]
    run("quota", "init", "--blueprint", blueprint_dir)
    plan = tmp_path / "计划.csv"
    plan.write_bytes('county_code,factor,amount,备注\n370811,land_new,"1,000",下达\n'.encode("gbk"))  # Excel's GBK
    run("quota", "issue", "--year", "2026", "--csv", plan)
    for body, en, zh in [
        ("county_code,factor,amount\n370811,land_new,100\n370811,land_new,abc\n", "line 3", "第 3 行"),
        ("county_code,factor,amount\n370811,gold,100\n", "line 2: unknown factor 'gold'", "未知要素"),
        ("county_code,factor,amount\n370811,land_new,100\n370811,land_new,5\n", "already given on line 2", "第 2 行"),
        ("county_code,factor,amount\n370811,land_new,-5\n", "not a positive number", "不是正数"),
        ("county_code,factor,amount\n370811,land_new\n", "line 2: has 2 fields, not 3", "第 2 行"),
        ("county_code,factor,amount\n", "has no rows", "没有数据行"),
    ]:
        plan.write_text(body, encoding="utf-8")
        refused = run("quota", "issue", "--year", "2026", "--csv", plan, code=2).stderr
        assert f"计划.csv {en}" in refused or (en in refused and "计划.csv" in refused), refused
        assert zh in refused
    assert {j["kind"] for j in json.loads(run("quota", "journal", "-f", "json").stdout)} == {"issue"}
    csv_out = run("quota", "balances", "--year", "2026", "-f", "csv").stdout
    rows = list(csv.DictReader(io.StringIO(csv_out)))  # for people: Chinese headers, county names, 亩 and 公顷
    assert {(r["持有方"], r["代码"], r["余额"], r["余额（亩）"], r["余额（公顷）"]) for r in rows} == {
        ("任城区", "370811", "700.0", "1.05", "0.07"),
        ("市级统筹", "city", "300.0", "0.45", "0.03"),
    }
    assert {(r["要素"], r["单位"], r["账户"]) for r in rows} == {("新增建设用地计划指标", "m²", "可用")}
    bad = run("quota", "balances", "-f", "xlsx", code=2).stderr
    assert "table, json, csv" in bad and "未知格式" in bad
    assert "YYYY-MM-DD" in run("quota", "overdue", "--today", "2026-13-01", code=2).stderr
    empty = run("quota", "projects", "-f", "json").stdout
    assert json.loads(empty) == []


def test_allocate_reads_demands_and_names_bad_lines(run, tmp_path: Path, blueprint_dir: Path) -> None:  # type: ignore[no-untyped-def]
    _issue(run, tmp_path, blueprint_dir, "370811,land_new,100000\n" + COMPENSATION)
    paddy = _review(run, tmp_path, blueprint_dir, "PADDY", (2.2, 0.2, 2.4, 0.4))
    _enter(run, "2026001")
    demands = tmp_path / "demands.yaml"
    demands.write_text(
        f"- project_id: 2026001\n  review: {paddy.name}\n  level: 市重点\n  necessity: 0.9\n", encoding="utf-8"
    )
    result = json.loads(run("quota", "allocate", demands, "--year", "2026", "-f", "json").stdout)
    assert result[0]["project"] == "2026001" and result[0]["covered"] is True
    _enter(run, "2026002")  # the table and the CSV are read by people: Chinese headers, 是/否
    demands.write_text(f"- project_id: 2026002\n  review: {paddy.name}\n  level: 市重点\n", encoding="utf-8")
    rows = list(csv.DictReader(io.StringIO(run("quota", "allocate", demands, "--year", "2026", "-f", "csv").stdout)))
    assert list(rows[0]) == ["项目编号", "综合得分", "是否配置", "交易号", "说明"] and rows[0]["项目编号"] == "2026002"
    for body, en in [
        (f"- project_id: A\n  review: {paddy.name}\n- project_id: B\n  review: missing.json\n", "line 3"),
        (f"- project_id: A\n  review: {paddy.name}\n  necessity: 7\n", "line 1: necessity"),
        (f"- project_id: A\n  review: {paddy.name}\n  colour: red\n", "unknown fields ['colour']"),
        ("- project_id: A\n  review: [\n", "line 3"),
        ("project_id: A\n", "line 1: must be a non-empty list"),
    ]:
        demands.write_text(body, encoding="utf-8")
        refused = run("quota", "allocate", demands, "--year", "2026", code=2).stderr
        assert "demands.yaml" in refused and en in refused, refused


def test_one_table_writer_for_cli_and_api() -> None:
    from geo.errors import FormatError
    from geo.io import TABLE_FORMATS, format_table, parse_quota_plan

    rows = [{"holder": "370811", "balance": 70000.5, "due_date": None}]
    assert json.loads(format_table(rows, "json")) == rows
    assert format_table(rows, "csv") == "holder,balance,due_date\n370811,70000.5,\n"
    assert format_table([], "csv", columns=["holder", "balance"]) == "holder,balance\n"  # an empty CSV keeps its header
    text = format_table(rows, "table", title="指标余额")
    assert "指标余额" in text and "70,000.5" in text and "None" not in text
    assert TABLE_FORMATS == ("table", "json", "csv")
    with pytest.raises(FormatError, match="unknown format 'xml'"):
        format_table(rows, "xml")
    assert parse_quota_plan("\ufeffcounty_code , factor,amount\r\n370811,energy,1.5\r\n") == [
        ("370811", "energy", Decimal("1.5"))
    ]


def test_report_in_chinese_as_table_csv_and_xlsx(run, tmp_path: Path, blueprint_dir: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr("geo.quota.accounts.beijing_today", lambda: date(2026, 1, 1))  # recorded on 1 January 2026
    import openpyxl

    _issue(run, tmp_path, blueprint_dir, "370811,land_new,100000\n370811,cod,10\n")
    run("quota", "reduction", "370811", "so2", "--year", "2026", "--amount", "10", "--source", "关停电厂")
    _enter(run, "XM-1")  # 市重点
    run(
        *("quota", "advance-reduction", "370811", "nh3n", "--year", "2026", "--amount", "2", "--project-id", "XM-1"),
        *("--source", "污水厂提标", "--deadline", "2026-06-30"),
    )
    late = json.loads(run("quota", "overdue", "--today", "2026-07-01", "-f", "json").stdout)
    assert [(o["kind"], o["days_overdue"]) for o in late] == [("reduction_advance", 1)]
    rows = list(csv.DictReader(io.StringIO(run("quota", "report", "--year", "2026", "-f", "csv").stdout)))
    land = next(r for r in rows if r["区县"] == "任城区" and r["要素"] == "新增建设用地计划指标")
    assert (land["下达"], land["市级统筹"], land["余额"], land["余额（亩）"], land["余额（公顷）"]) == (
        "100000.0",
        "-30000.0",
        "70000.0",
        "105.0",
        "7.0",
    )
    so2 = next(r for r in rows if r["区县"] == "任城区" and r["要素"] == "二氧化硫")
    assert (so2["污染物削减量"], so2["市级统筹"], so2["余额"], so2["单位"], so2["余额（亩）"]) == (
        "10.0",
        "-3.0",
        "7.0",
        "吨",
        "",
    )
    assert any(r["区县"] == "市级统筹" for r in rows)
    table = run("quota", "report", "--year", "2026").stdout
    assert "2026年指标台账" in table and "任城区" in table and "105.00 亩" in table
    # `-f xlsx > 台账.xlsx`: a redirected stdout takes the workbook; a terminal never does
    assert run("quota", "report", "--year", "2026", "-f", "xlsx").stdout_bytes.startswith(b"PK")
    monkeypatch.setattr("geo.quota_cli.stdout_is_terminal", lambda: True)
    assert "-o report.xlsx" in run("quota", "report", "--year", "2026", "-f", "xlsx", code=2).stderr
    out = tmp_path / "台账.xlsx"
    run("quota", "report", "--year", "2026", "-f", "xlsx", "-o", out)
    sheet = openpyxl.load_workbook(out).active
    assert sheet is not None
    header = [c.value for c in sheet[1]]
    assert header[:5] == ["区县", "区县代码", "要素", "单位", "下达"]
    values = {(r[0], r[2]): r for r in sheet.iter_rows(min_row=2, values_only=True)}
    assert values[("任城区", "新增建设用地计划指标")][header.index("余额")] == 70_000
    assert "未知格式" in run("quota", "report", "--year", "2026", "-f", "pdf", code=2).stderr


def test_reserve_factors_from_the_command_line(run, tmp_path: Path, blueprint_dir: Path) -> None:  # type: ignore[no-untyped-def]
    _issue(run, tmp_path, blueprint_dir, "370811,cod,100\n370811,energy,500\n")
    _enter(run, "PLANT")
    run("quota", "reserve-factors", "PLANT", "--year", "2026", "--need", "cod=10", "--need", "energy=200")
    rows = json.loads(run("quota", "balances", "--year", "2026", "-f", "json").stdout)
    held = {(b["holder"], b["factor"], b["bucket"]): b["balance"] for b in rows}
    assert held[("PLANT", "cod", "reserved")] == 20 and held[("PLANT", "energy", "reserved")] == 200  # 倍量替代 2:1
    assert "要素=数量" in run("quota", "reserve-factors", "PLANT", "--year", "2026", "--need", "cod", code=2).stderr


def test_amounts_the_ledger_cannot_hold_exit_2_and_change_nothing(run, tmp_path: Path, blueprint_dir: Path) -> None:  # type: ignore[no-untyped-def]
    """NaN, ±∞ and 1e308 get one line naming the bound, never a decimal.InvalidOperation traceback."""
    _issue(run, tmp_path, blueprint_dir, "370811,energy,500\n")
    _enter(run, "PLANT")
    big = tmp_path / "big.csv"
    big.write_text("county_code,factor,amount\n370811,land_new,1" + "0" * 300 + "\n", encoding="utf-8")
    refusals = [
        ("reserve-factors", "PLANT", "--year", "2026", "--need", f"energy={v}") for v in ("nan", "-inf", "1e308")
    ]
    refusals += [("point-supply", "city", "land_new", "--year", "2026", "--amount", "1e308")]
    for args in (*refusals, ("issue", "--year", "2026", "--csv", big)):
        refused = run("quota", *args, code=2).stderr
        assert "100,000,000,000" in refused and len(refused.strip().splitlines()) == 1, refused
    # an option's figure is a finite number before the ledger sees it
    assert (
        "应为有限数值"
        in run("quota", "point-supply", "city", "land_new", "-y", "2026", "--amount", "inf", code=2).output
    )
    assert {j["kind"] for j in json.loads(run("quota", "journal", "--format", "json").stdout)} == {"issue"}


def test_plan_years_are_the_apis(run) -> None:  # type: ignore[no-untyped-def]
    """--year takes the API's 2000–2100 (geo.quota.PLAN_YEARS): 99999 is a typo, not a year."""
    for args, bound in (
        (("balances", "--year", "99999"), "2100"),
        (("report", "--year", "99999"), "2100"),
        (("stock", "rates", "-y", "1999"), "2000"),
    ):
        assert bound in run("quota", *args, code=2).output


def test_a_plan_amount_beyond_the_ledger_names_its_line(run, tmp_path: Path, blueprint_dir: Path) -> None:  # type: ignore[no-untyped-def]
    """10^300 in a plan is refused with the file's line, as the reader's other row errors are; nothing is issued."""
    from geo.errors import FormatError
    from geo.io import parse_quota_plan

    run("quota", "init", "--blueprint", blueprint_dir)
    plan = tmp_path / "计划.csv"
    rows = "county_code,factor,amount\n370811,land_new,100\n370811,energy,1" + "0" * 15 + "\n"
    plan.write_text(rows, encoding="utf-8")
    refused = run("quota", "issue", "--year", "2026", "--csv", plan, code=2).stderr
    assert "计划.csv line 3: amount 1000000000000000" in refused and "100,000,000,000" in refused, refused
    assert "计划.csv 第 3 行" in refused and len(refused.strip().splitlines()) == 1, refused
    assert json.loads(run("quota", "journal", "--format", "json").stdout) == []
    with pytest.raises(FormatError, match=r"^plan.csv line 2: amount 0.00001 rounds to 0") as tiny:
        parse_quota_plan("county_code,factor,amount\n370811,cod,0.00001\n")  # below the ledger's four decimals
    assert tiny.value.message_zh.startswith("plan.csv 第 2 行")


def test_dates_a_movement_cannot_hold_exit_2(run, tmp_path: Path, blueprint_dir: Path) -> None:  # type: ignore[no-untyped-def]
    """A loan due 9999-12-31 is refused; an empty --deadline was 0001-01-01 (overdue at once) and an empty
    --due a paid transfer with no due date: both are no date now."""
    _issue(run, tmp_path, blueprint_dir, "370811,land_new,1000\n370811,land_compensation,1000\n")
    loan = ("transfer", "370811", "370812", "land_compensation", "-y", "2026", "--amount", "100", "--due", "9999-12-31")
    refused = run("quota", *loan, code=2).stderr
    assert "归还日期 9999-12-31 不在 2000—2100 年度范围内" in refused and "outside the plan years" in refused
    advance = ("advance-reduction", "370811", "cod", "--year", "2026", "--amount", "1", "--source", "治理项目")
    advance += ("--project-id", "XM-1")  # the date is refused before the project is looked up
    assert "--deadline '' is not a date" in run("quota", *advance, "--deadline", "", code=2).stderr
    assert "--due '' is not a date" in run("quota", *loan[:-1], "", code=2).stderr  # was a transfer with no due date
    for spelling in ("--as-of", "--today"):  # an empty date was today
        assert "--as-of '' is not a date" in run("quota", "overdue", spelling, "", code=2).stderr
    assert {j["kind"] for j in json.loads(run("quota", "journal", "--format", "json").stdout)} == {"issue"}


def test_overdue_takes_as_of_like_projects_and_consult(run, tmp_path: Path, blueprint_dir: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """`lantu quota overdue --as-of` as `projects overdue` and `consult overdue` spell it; --today, its former name,
    still works. A loan due 2026-01-31 is 29 days overdue on 2026-03-01 and not yet on 2026-01-31."""
    monkeypatch.setattr("geo.quota.accounts.beijing_today", lambda: date(2026, 1, 1))  # lent on 1 January 2026
    _issue(run, tmp_path, blueprint_dir, "370811,land_new,1000\n370811,land_compensation,1000\n")
    loan = ("transfer", "370811", "370812", "land_compensation", "-y", "2026", "--amount", "100", "--due", "2026-01-31")
    run("quota", *loan)
    for spelling in ("--as-of", "--today"):
        (late,) = json.loads(run("quota", "overdue", spelling, "2026-03-01", "-f", "json").stdout)
        assert (late["kind"], late["due_date"], late["days_overdue"]) == ("loan", "2026-01-31", 29)
        assert json.loads(run("quota", "overdue", spelling, "2026-01-31", "-f", "json").stdout) == []
        assert "2026-13-01" in run("quota", "overdue", spelling, "2026-13-01", code=2).stderr
    assert "（2026-03-01）" in run("quota", "overdue", "--as-of", "2026-03-01").stdout  # the table's title
    assert "--as-of" in run("quota", "overdue", "--help").stdout
    # both names at once were the last one silently: the same date is that date, two dates are refused
    both = ("quota", "overdue", "--as-of", "2026-03-01", "--today", "2026-01-31", "-f", "json")
    refused = run(*both, code=2).stderr
    assert "'2026-03-01'" in refused and "'2026-01-31'" in refused and "请只给一个" in refused
    (late,) = json.loads(run(*both[:4], "--today", "2026-03-01", "-f", "json").stdout)
    assert late["days_overdue"] == 29


def _row_lines(table: str, *words: str) -> list[str]:
    """The lines of a text table holding all ``words`` (one table row on one line)."""
    return [line for line in table.splitlines() if all(w in line for w in words)]


def test_balances_and_report_write_areas_as_everywhere_else(run, tmp_path: Path, blueprint_dir: Path) -> None:  # type: ignore[no-untyped-def]
    """Areas as geo.crs.Area writes them (m² 2 decimals, 公顷 4, 亩 2), energy and pollutants in their own unit.
    Figures by hand: 任城区 is issued 100 000.1234 m² of land_new, the city pools 30 % = 30 000.03702 → 30 000.0370
    (the ledger's four decimals), 任城区 keeps 70 000.0864 m² = 7.00000864 公顷 = 105.0001296 亩 → "70,000.09 m²",
    "7.0000 公顷", "105.00 亩"; the city 30 000.037 m² → "30,000.04 m²", "3.0000 公顷", "45.00 亩". 兖州区 is
    point-supplied 1 234.5 m² (not pooled) = 0.12345 公顷, written 0.1235 by Area, 1.85175 亩 → 1.85. cod 10 t: 7 t
    and 3 t; energy 1 500 tce, not pooled. JSON and a CSV keep the ledger's m² (what the journal sums to), 公顷 and
    亩 beside."""
    _issue(run, tmp_path, blueprint_dir, "370811,land_new,100000.1234\n370811,cod,10\n370811,energy,1500\n")
    run("quota", "point-supply", "370812", "land_new", "--year", "2026", "--amount", "1234.5")

    rows = json.loads(run("quota", "balances", "--year", "2026", "-f", "json").stdout)
    figures = {(b["holder"], b["factor"]): (b["unit"], b["balance"], b["balance_ha"], b["balance_mu"]) for b in rows}
    assert figures == {
        ("370811", "land_new"): ("m²", 70_000.0864, 7.0, 105.0),
        ("city", "land_new"): ("m²", 30_000.037, 3.0, 45.0),
        ("370812", "land_new"): ("m²", 1_234.5, 0.1235, 1.85),  # as its text, "0.1235 公顷"
        ("370811", "cod"): ("吨", 7, None, None),
        ("city", "cod"): ("吨", 3, None, None),
        ("370811", "energy"): ("吨标准煤", 1_500, None, None),
    }
    lines = list(csv.DictReader(io.StringIO(run("quota", "balances", "--year", "2026", "-f", "csv").stdout)))
    yan = next(r for r in lines if r["代码"] == "370812")
    assert (yan["余额"], yan["单位"], yan["余额（公顷）"], yan["余额（亩）"]) == ("1234.5", "m²", "0.1235", "1.85")
    energy = next(r for r in lines if r["要素"] == "能耗指标")
    assert (energy["余额"], energy["单位"], energy["余额（公顷）"], energy["余额（亩）"]) == (
        "1500.0",
        "吨标准煤",
        "",
        "",
    )

    table = run("quota", "balances", "--year", "2026").stdout
    for text in ("70,000.09 m²", "7.0000 公顷", "105.00 亩", "30,000.04 m²", "3.0000 公顷", "45.00 亩"):
        assert text in table
    for text in ("1,234.50 m²", "0.1235 公顷", "1.85 亩"):
        assert text in table
    assert "70,000.0864" not in table and "1,234.5 " not in table
    (cod,) = _row_lines(table, "任城区", "化学需氧量")
    (energy_line,) = _row_lines(table, "能耗指标")
    assert "7 吨" in cod and "1,500 吨标准煤" in energy_line
    assert not any(unit in line for line in (cod, energy_line) for unit in ("公顷", "亩", "m²"))

    report = {
        (r["county"], r["factor"]): r for r in json.loads(run("quota", "report", "--year", "2026", "-f", "json").stdout)
    }
    ren = report[("370811", "land_new")]
    assert (ren["issued"], ren["pooled"], ren["balance"], ren["balance_ha"], ren["balance_mu"]) == (
        100_000.1234,
        -30_000.037,
        70_000.0864,
        7.0,
        105.0,
    )
    assert report[("370812", "land_new")]["balance_ha"] == 0.1235
    assert report[("370811", "cod")]["balance_ha"] is None and report[("370811", "cod")]["balance_mu"] is None
    sheet = list(csv.DictReader(io.StringIO(run("quota", "report", "--year", "2026", "-f", "csv").stdout)))
    land = next(r for r in sheet if r["区县"] == "任城区" and r["单位"] == "m²")
    assert (land["下达"], land["市级统筹"], land["余额"], land["余额（公顷）"], land["余额（亩）"]) == (
        "100000.1234",  # the sheet adds up: 100 000.1234 − 30 000.037 = 70 000.0864
        "-30000.037",
        "70000.0864",
        "7.0",
        "105.0",
    )
    text = run("quota", "report", "--year", "2026").stdout
    issued = ("100,000.12 m²", "10.0000 公顷", "150.00 亩")  # 100 000.1234 m² = 10.00001234 公顷 = 150.0001851 亩
    for cell in (*issued, "-30,000.04 m²", "-3.0000 公顷", "-45.00 亩", "70,000.09 m²", "7.0000 公顷", "105.00 亩"):
        assert cell in text
    assert "100,000.1234" not in text and "0.1235 公顷" in text
    (cod,) = _row_lines(text, "任城区", "化学需氧量")
    assert "10 吨" in cod and "-3 吨" in cod and "7 吨" in cod and "公顷" not in cod and "亩" not in cod


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


WIDE = [  # a ledger's cells: Chinese and Latin names, an area stacked over three lines, a long 事由, an empty cell
    {"区县": "任城区", "代码": "370811", "余额": Area(1_234_567.89).stacked, "事由": "下达" * 60, "reason": ""},
    {"区县": "市级统筹", "代码": "city", "余额": "7 吨", "事由": "调剂", "reason": "loan"},
]
WIDE_CELLS = [{name: str(value) for name, value in row.items()} for row in WIDE]


def test_a_table_wider_than_its_terminal_is_written_as_records(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """psql's \\x auto: a ledger's table keeps its width (a pipe gets whole columns), and an 80-column terminal
    wrapped it mid-cell (it only printed a note); there each row is now a block of column: value lines, the title
    kept, every cell as the table shows it. A terminal wide enough still gets the table, as before."""
    monkeypatch.setenv("COLUMNS", "80")
    terminal = _Terminal()
    show_table(WIDE, "table", terminal, layout=Layout.auto, title="指标余额", width=200)
    title, found = read_records(terminal.getvalue())
    assert title == ["指标余额"] and found == WIDE_CELLS
    assert "┃" not in terminal.getvalue() and capsys.readouterr().err == ""  # no note either: nothing wraps
    rule, *_ = (line for line in terminal.getvalue().splitlines() if line.startswith("-[ "))
    assert rule.startswith("-[ 记录 1 / record 1 ]---") and display_width(rule) <= 80
    monkeypatch.setenv("COLUMNS", "300")
    wide, drawn = _Terminal(), _Terminal()
    show_table(WIDE, "table", wide, layout=Layout.auto, title="指标余额", width=200)
    write_table(WIDE, "table", drawn, title="指标余额", width=200)
    assert wide.getvalue() == drawn.getvalue() and "┃" in wide.getvalue()


def test_records_align_chinese_labels_and_stack_areas_under_their_value() -> None:
    """A Chinese character takes two columns: the labels 区县, 代码, 余额, 事由 and reason are padded so that every
    value, and an area's 公顷 and 亩 lines under its m², start in one column."""
    out = io.StringIO()
    show_table(WIDE, "table", out, layout=Layout.records)
    lines = [line for line in out.getvalue().splitlines() if not line.startswith("-[ ")]
    labelled = [line for line in lines if not line.startswith(" ")]
    colons = {display_width(line.partition(":")[0]) for line in labelled}
    assert colons == {display_width("reason")}  # the widest label, 6 columns: 区县, 代码, 余额, 事由 (4) padded
    values = {display_width(line.partition(": ")[0]) + 2 for line in labelled if ": " in line}
    under = {display_width(line) - display_width(line.lstrip()) for line in lines if line.startswith(" ")}
    assert len(values) == 1 and under == values
    assert "余额  : 1,234,567.89 m²\n        123.4568 公顷\n        1,851.85 亩\n" in out.getvalue()
    assert "reason:\n" in out.getvalue()  # an empty cell: no trailing space


@pytest.mark.parametrize("fmt", ["table", "csv", "json"])
@pytest.mark.parametrize("layout", list(Layout))
def test_a_pipe_gets_what_it_got(fmt: str, layout: Layout) -> None:
    """Outside checks parse the piped table, the CSV and the JSON: byte for byte as before, but where
    --layout records asks for records (of -f table only)."""
    piped, before = io.StringIO(), io.StringIO()
    show_table(WIDE, fmt, piped, layout=layout, title="指标余额", columns=list(WIDE[0]), width=200)
    write_table(WIDE, fmt, before, title="指标余额", columns=list(WIDE[0]), width=200)
    if fmt == "table" and layout is Layout.records:
        assert read_records(piped.getvalue()) == (["指标余额"], WIDE_CELLS)
    else:
        assert piped.getvalue() == before.getvalue()


def test_layout_table_draws_the_table_on_a_narrow_terminal_and_says_how_to_read_it(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """--layout table: the table as asked, and the note (page it with less -S, or ask for CSV) where it wraps."""
    monkeypatch.setenv("COLUMNS", "80")
    terminal, drawn = _Terminal(), _Terminal()
    show_table(WIDE, "table", terminal, layout=Layout.table, width=200)
    said = capsys.readouterr().err
    write_table(WIDE, "table", drawn, width=200)
    assert terminal.getvalue() == drawn.getvalue()
    assert "超出终端的 80 列" in said and "less -S" in said and "-f csv" in said
    monkeypatch.setenv("COLUMNS", "300")
    show_table(WIDE, "table", terminal, layout=Layout.table, width=200)
    assert capsys.readouterr().err == ""


def test_the_ledgers_commands_lay_out_records_on_a_narrow_terminal(  # type: ignore[no-untyped-def]
    run, tmp_path: Path, blueprint_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`lantu quota report` (17 columns, 300 wide) on an 80-column terminal: records, each value the table's cell
    (checked against the CSV of the same report); `balances` (75 columns wide) fits and stays a table. --layout
    table and records choose; a pipe gets the table, and --layout records there gets records."""
    _issue(run, tmp_path, blueprint_dir, "370811,land_new,100000.1234\n370811,cod,10\n")
    piped = run("quota", "report", "--year", "2026").stdout
    forced = run("quota", "report", "--year", "2026", "--layout", "records").stdout
    monkeypatch.setattr(cli_context, "terminal_columns", lambda out: 80)
    narrow = run("quota", "report", "--year", "2026").stdout
    title, found = read_records(narrow)
    assert narrow == forced and title == ["2026年指标台账"] and "┃" not in narrow
    sheet = list(csv.DictReader(io.StringIO(run("quota", "report", "--year", "2026", "-f", "csv").stdout)))
    assert len(found) == len(sheet)
    for record, line in zip(found, sheet, strict=True):
        assert (record["区县"], record["区县代码"], record["要素"]) == (line["区县"], line["区县代码"], line["要素"])
        for column in ("下达", "市级统筹", "余额"):
            assert record[column] == amount_text(float(line[column]), line["单位"]), column
    assert "余额        : 70,000.09 m²\n              7.0000 公顷\n              105.00 亩\n" in narrow
    assert run("quota", "report", "--year", "2026", "--layout", "table").stdout == piped
    assert "┃" in run("quota", "balances", "--year", "2026").stdout  # fits 80 columns
    assert run("quota", "balances", "-f", "csv", "--layout", "records").stdout.startswith("持有方,代码,")
    bad = run("quota", "balances", "--layout", "wide", code=2).stderr
    assert "auto" in bad and "records" in bad
    monkeypatch.setattr(cli_context, "terminal_columns", lambda out: 400)
    assert run("quota", "report", "--year", "2026").stdout == piped


def test_report_and_map_refuse_an_output_they_cannot_write(run, tmp_path: Path, blueprint_dir: Path) -> None:  # type: ignore[no-untyped-def]
    """-o a folder, under a folder that does not exist (never made) or under a file: exit 2 naming it, no traceback."""
    _issue(run, tmp_path, blueprint_dir, "370811,land_new,1000\n")
    folder, missing, afile = tmp_path / "folder", tmp_path / "missing", tmp_path / "somefile.txt"
    folder.mkdir()
    afile.write_text("a file", encoding="utf-8")
    cases = [
        (folder, f"{folder} is a folder: name a file", "是文件夹，请指定文件"),
        (missing / "x.out", f"the folder {missing} does not exist", f"文件夹 {missing} 不存在"),
        (afile / "x.out", "a file stands where a folder", "路径中的文件夹位置是一个文件"),
    ]
    for path, en, zh in cases:
        for args in (
            ("report", "--year", "2026", "-f", "xlsx", "-o", path),
            ("report", "--year", "2026", "-f", "csv", "-o", path),
            ("map", "--year", "2026", "-b", blueprint_dir, "-o", path),
        ):
            refused = run("quota", *args, code=2)
            assert en in refused.output and zh in refused.output and "Traceback" not in refused.output
    assert not missing.exists() and afile.read_text(encoding="utf-8") == "a file" and not list(folder.iterdir())
    out = tmp_path / "台账.csv"
    run("quota", "report", "--year", "2026", "-f", "csv", "-o", out)
    assert out.read_text(encoding="utf-8-sig").startswith("区县,") and not [
        p for p in tmp_path.iterdir() if ".part" in p.name
    ]


def test_a_plan_amount_with_a_comma_that_groups_no_thousands_is_refused(
    run, tmp_path: Path, blueprint_dir: Path
) -> None:  # type: ignore[no-untyped-def]
    """A decimal comma ("1,5", 1.5 in much of Europe) was read as 15, "1,00,0.5" as 1000.5: a comma may only
    group thousands; the refusal names the line and the value, and nothing is issued."""
    from geo.errors import FormatError
    from geo.io import parse_quota_plan

    run("quota", "init", "--blueprint", blueprint_dir)
    plan = tmp_path / "计划.csv"
    for value in ("1,5", "1,00,0.5", "12,34", "1,0000", ",500", "1,234.5,6"):
        plan.write_text(f'county_code,factor,amount\n370811,energy,2\n370811,land_new,"{value}"\n', encoding="utf-8")
        refused = run("quota", "issue", "--year", "2026", "--csv", plan, code=2).stderr
        assert f"计划.csv line 3: amount '{value}': a comma may only group thousands" in refused, refused
        assert "计划.csv 第 3 行" in refused and "千位分隔符" in refused
    assert json.loads(run("quota", "journal", "--format", "json").stdout) == []
    grouped = parse_quota_plan('county_code,factor,amount\n370811,land_new,"1,234,567.89"\n370811,cod,"1,000"\n')
    assert [r.amount for r in grouped] == [Decimal("1234567.89"), Decimal("1000")]
    with pytest.raises(FormatError, match="comma") as decimal_comma:
        parse_quota_plan('county_code,factor,amount\n370811,land_new,"1,5"\n')
    assert decimal_comma.value.message_zh.startswith("plan.csv 第 2 行")


def test_a_hand_edited_review_verdict_is_refused(run, tmp_path: Path, blueprint_dir: Path) -> None:  # type: ignore[no-untyped-def]
    """A review file whose verdict says "pass" over a failing item reserved quota for a rejected parcel: the
    file must agree with itself (verdict = what its items give), else it is refused naming the parcel. Signed,
    the edit breaks its signature first; with the signature taken off, the verdict check names the parcel (an
    unsigned file that agrees with itself is refused for want of a signature: test_signing.py)."""
    _issue(run, tmp_path, blueprint_dir, "370811,land_new,100000\n" + COMPENSATION)
    _enter(run, "FARM")
    farmland = _review(run, tmp_path, blueprint_dir, "FARM", (3.2, 0.2, 3.4, 0.4))  # reject: basic farmland
    body = json.loads(farmland.read_text(encoding="utf-8"))
    assert body["parcels"][0]["verdict"] == "reject"
    body["parcels"][0]["verdict"] = "pass"
    farmland.write_text(json.dumps(body, ensure_ascii=False), encoding="utf-8")
    changed = run("quota", "reserve", farmland, "--year", "2026", "--project-id", "FARM", code=2).stderr
    assert "the file was changed after lantu wrote it" in changed and "被改动" in changed, changed
    del body["signature"]
    farmland.write_text(json.dumps(body, ensure_ascii=False), encoding="utf-8")
    refused = run(
        "quota", "reserve", farmland, "--year", "2026", "--project-id", "FARM", "--accept-unsigned", code=2
    ).stderr
    assert "FARM.json: parcel FARM says verdict 'pass', but its items give 'reject'" in refused, refused
    assert "basic_farmland: fail" in refused and "不一致" in refused and "永久基本农田" in refused
    # beyond the coverage, said to be inside
    astride = _review(run, tmp_path, blueprint_dir, "EDGE", (9.8, 4.0, 10.3, 4.4), project_type="infrastructure")
    body = json.loads(astride.read_text(encoding="utf-8"))
    assert body["parcels"][0]["verdict"] == "out_of_coverage"
    body["parcels"][0]["verdict"] = "conditional"
    body["parcels"][0]["items"] = [{**i, "status": "warn"} for i in body["parcels"][0]["items"]]
    del body["signature"]
    astride.write_text(json.dumps(body, ensure_ascii=False), encoding="utf-8")
    beyond = run(
        "quota", "reserve", astride, "--year", "2026", "--project-id", "FARM", "--accept-unsigned", code=2
    ).stderr
    assert "outside the blueprint's coverage" in beyond and "超出蓝图覆盖范围" in beyond, beyond
    assert {j["kind"] for j in json.loads(run("quota", "journal", "--format", "json").stdout)} == {"issue"}


def test_accept_missing_layers_is_the_flags_name(run, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """Issue 12 names the flag ``--accept-missing-layers`` (the API's field); the CLI had only ``--accept-missing``,
    and its refusal pointed there (contract check). Both names are taken."""
    from support import full_layers, rect_blueprint

    bp = rect_blueprint(tmp_path / "bp", {k: v for k, v in full_layers().items() if k != "mineral"})
    _issue(run, tmp_path, bp, "370811,land_new,100000\n" + COMPENSATION)
    review = _review(run, tmp_path, bp, "DRY", (2.2, 1.2, 2.4, 1.4))  # on 旱地
    _enter(run, "DRY")
    refused = run("quota", "reserve", review, "--year", "2026", code=2)
    assert "--accept-missing-layers" in refused.stderr and "mineral_overlay" in refused.stderr
    run("quota", "reserve", review, "--year", "2026", "--accept-missing-layers")
    assert "--accept-missing-layers" in run("quota", "reserve", "--help").stdout  # said beside the short name
    journal = json.loads(run("quota", "journal", "--format", "json").stdout)
    assert any("接受缺失图层未审查：mineral_overlay" in j["reason"] for j in journal)


def test_an_earmark_is_carried_from_the_command_line(run, tmp_path: Path, blueprint_dir: Path) -> None:  # type: ignore[no-untyped-def]
    """`quota carry-earmark XM-1 --year 2026` moves its unused 2026 点供 to 2027 (点供结转); again, nothing is left."""
    _issue(run, tmp_path, blueprint_dir, "370811,land_new,100000\n")
    _enter(run, "XM-1")
    run("quota", "point-supply", "370811", "land_new", "--year", "2026", "--amount", "600", "--project-id", "XM-1")
    assert "已结转 / carried" in run("quota", "carry-earmark", "XM-1", "--year", "2026").output
    balances = json.loads(run("quota", "balances", "--year", "2027", "--format", "json").stdout)
    assert [(b["bucket"], b["balance"]) for b in balances if b["holder"] == "XM-1"] == [("earmarked", 600.0)]
    assert "没有可结转的 2026 年专项点供" in run("quota", "carry-earmark", "XM-1", "--year", "2026", code=2).output
    assert "2099" in run("quota", "carry-earmark", "XM-1", "--year", "2100", code=2).output  # --year's range


def test_a_read_only_ledger_is_refused_in_words_not_a_traceback(run, tmp_path: Path, blueprint_dir: Path) -> None:  # type: ignore[no-untyped-def]
    """A ledger the command cannot write (read-only, or locked past the wait by another writer) is a refusal in
    both languages and exit 2, as every other; it printed SQLAlchemy's traceback (hostile probe)."""
    _issue(run, tmp_path, blueprint_dir, "370811,land_new,10000\n")
    before = (tmp_path / "ledger.db").read_bytes()
    env = {**os.environ, "LANTU_DATABASE_URL": f"sqlite:///file:{tmp_path / 'ledger.db'}?mode=ro&uri=true"}
    args = ["quota", "advance", "370811", "land_new", "--year", "2026", "--amount", "5"]
    done = subprocess.run([sys.executable, "-m", "api.cli", *args], env=env, capture_output=True, text=True)
    assert done.returncode == 2, done.stderr
    assert "数据库为只读" in done.stderr and "read-only" in done.stderr and "Traceback" not in done.stderr
    assert (tmp_path / "ledger.db").read_bytes() == before


def test_a_ledger_in_a_missing_folder_is_said_to_be_one(tmp_path: Path) -> None:
    """A ledger whose folder does not exist read "the database is unreachable", as a server that does not answer
    (the ledger probe): SQLite's "unable to open database file" names the folder to check."""
    env = {**os.environ, "LANTU_DATABASE_URL": f"sqlite:///{tmp_path / 'no' / 'such' / 'ledger.db'}"}
    args = [sys.executable, "-m", "api.cli", "quota", "balances", "--year", "2026"]
    done = subprocess.run(args, env=env, capture_output=True, text=True)
    assert done.returncode == 2, done.stderr
    assert "its folder exists" in done.stderr and "所在目录是否存在" in done.stderr and "Traceback" not in done.stderr
    assert not (tmp_path / "no").exists()
