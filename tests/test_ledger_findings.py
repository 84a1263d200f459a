"""A quota officer's findings on the ledger (用地指标台账), each with its exact figures and both languages:
an issue after an advance, plan units and a plan booked twice, the 增存挂钩 penalty on 预支, loans due in the
past and the overdue table, the 预支 cap's year, Beijing time in the journal, Chinese project stages, who paid
what projects hold, and half-up rounding on the Decimal."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import pytest
import yaml
from sqlalchemy import Engine, update
from support import rect_blueprint
from test_quota import balance, enter, review
from test_quota_stock import STOCK, _dispose_example
from typer.testing import CliRunner

from api.cli import app
from geo.blueprint import Blueprint, load_blueprint
from geo.db import make_engine, migrate
from geo.errors import FormatError, InputError, QuotaError
from geo.io import format_table, parse_quota_plan
from geo.quota.ledger import CITY, Ledger
from geo.quota.queries import OVERDUE_TABLE, PROJECT_TABLE, for_people
from geo.quota.report import COLUMNS, TABLE, amount_text, in_mu_ha, ledger_report
from geo.quota.rules import LedgerRules
from geo.quota.tables import quota_transactions
from geo.resources import packaged

AREA_CELLS = ("balance", "advance_outstanding", "projects_reserved", "projects_approved")


@pytest.fixture
def ledger(engine: Engine) -> Ledger:
    ledger = Ledger(engine)
    ledger.register_counties([("370811", "任城区"), ("370812", "兖州区")])
    return ledger


@pytest.fixture
def run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    """``lantu`` on a SQLite ledger with the two counties registered (``run.ledger`` is the same database)."""
    url = f"sqlite:///{tmp_path / 'ledger.db'}"
    monkeypatch.setenv("LANTU_DATABASE_URL", url)
    engine = make_engine(url)
    migrate(engine)
    Ledger(engine).register_counties([("370811", "任城区"), ("370812", "兖州区")])
    runner = CliRunner()

    def invoke(*args: object, code: int = 0):  # type: ignore[no-untyped-def]
        result = runner.invoke(app, [str(a) for a in args])
        assert result.exit_code == code, result.output
        return result

    invoke.ledger = Ledger(engine)  # type: ignore[attr-defined]
    return invoke


def journal_size(ledger: Ledger) -> int:
    return len(ledger.journal())


def report_row(ledger: Ledger, year: int, holder: str, factor: str = "land_new") -> dict[str, object]:
    (row,) = [r for r in ledger_report(ledger.engine, year) if r["county"] == holder and r["factor"] == factor]
    return row


def assert_rows_add_up(ledger: Ledger, year: int) -> None:
    """Every report row's columns add up to its balance (to the ledger's four decimals)."""
    for row in ledger_report(ledger.engine, year):
        total = sum((Decimal(str(row[c])) for c in COLUMNS), Decimal(0))
        assert total == Decimal(str(row["balance"])), row


# --- 1. an issue after an advance ----------------------------------------------------------------------------


def test_an_issue_after_an_advance_is_booked_and_repays_it(ledger: Ledger) -> None:
    """预支 30 000 m² of 2027 leaves 2027 at −30 000; 2027's plan of 40 000 (28 000 after the pool's 30 %) is a
    fact: booked, it leaves −2 000 still owed, shown as 其中预支未还; a later issue repays the rest."""
    ledger.issue(2026, [("370811", "land_new", 100_000)], actor="省厅")
    ledger.advance("370811", "land_new", 2026, 30_000, actor="a")
    assert balance(ledger, "370811", year=2027) == -30_000
    ledger.issue(2027, [("370811", "land_new", 40_000)], actor="省厅")
    assert (balance(ledger, "370811", year=2027), balance(ledger, CITY, year=2027)) == (-2_000, 12_000)
    rows = {(b["holder"], b["year"]): b for b in ledger.balances(2027)}
    assert (rows["370811", 2027]["balance"], rows["370811", 2027]["advance_outstanding"]) == (-2_000, 2_000)
    assert rows["city", 2027]["advance_outstanding"] is None
    county = report_row(ledger, 2027, "370811")
    assert {c: county[c] for c in (*COLUMNS, "balance", "advance_outstanding")} == {
        **dict.fromkeys(COLUMNS, 0.0),
        "issued": 40_000.0,
        "pooled": -12_000.0,
        "advanced": -30_000.0,
        "balance": -2_000.0,
        "advance_outstanding": 2_000.0,
    }
    assert TABLE.texts(county)["advance_outstanding"] == "2,000.00 m²\n0.2000 公顷\n3.00 亩"
    assert TABLE.texts(report_row(ledger, 2027, CITY))["advance_outstanding"] == "—"
    assert_rows_add_up(ledger, 2027)
    # still owed: nothing else may take the account lower (a reservation of 1 m² of 2027 is refused)
    enter(ledger, "XM-1")
    before = journal_size(ledger)
    with pytest.raises(QuotaError) as short:
        ledger.reserve(review(1), year=2027, project_id="XM-1", actor="a")
    assert journal_size(ledger) == before
    assert short.value.message_en.startswith("370811 has -2,000.00 m² of land_new (available, 2027); 1.00 needed")
    assert short.value.message_zh.startswith("任城区（370811）的新增建设用地计划指标（2027年，可用）余额 -2,000.00 m²")
    ledger.issue(2027, [("370811", "land_new", 10_000)], actor="省厅")  # a further plan: 7 000 to the county
    assert balance(ledger, "370811", year=2027) == 5_000
    county = report_row(ledger, 2027, "370811")
    assert [county[c] for c in ("issued", "pooled", "advanced", "balance")] == [50_000, -15_000, -30_000, 5_000]
    assert county["advance_outstanding"] is None
    assert_rows_add_up(ledger, 2027)


# --- 2. the plan's unit column, a plan booked twice --------------------------------------------------------------


def test_a_plan_may_name_its_unit() -> None:
    """1 亩 = 10000/15 m² exactly, 1 公顷 = 10 000 m²; a factor that is no area takes its own unit only; a remark
    column is read by people; an empty unit is the factor's."""
    plan = (
        "county_code,factor,amount,unit,备注\n"
        "370812,land_new,150,亩,省厅下达\n"
        "370811,land_new,2.5,公顷,\n"
        "370811,land_compensation,1,亩,\n"
        '370811,land_compensation_paddy,"1,200",㎡,\n'
        "370812,land_compensation,3,HA,\n"
        "370812,land_compensation_paddy,10,平方米,\n"
        "370811,cod,3,吨,\n"
        "370811,energy,5,,\n"
        "370811,land_compensation_grain,100,kg,\n"
        "370812,energy,7,tce,--help writes tce\n"
        "370812,so2,2,t,and t\n"
    )
    assert parse_quota_plan(plan) == [
        ("370812", "land_new", Decimal("100000.0000")),
        ("370811", "land_new", Decimal("25000.0000")),
        ("370811", "land_compensation", Decimal("666.6667")),
        ("370811", "land_compensation_paddy", Decimal("1200.0000")),
        ("370812", "land_compensation", Decimal("30000.0000")),
        ("370812", "land_compensation_paddy", Decimal("10.0000")),
        ("370811", "cod", Decimal("3.0000")),
        ("370811", "energy", Decimal("5.0000")),
        ("370811", "land_compensation_grain", Decimal("100.0000")),
        ("370812", "energy", Decimal("7.0000")),
        ("370812", "so2", Decimal("2.0000")),
    ]


@pytest.mark.parametrize(
    ("plan", "en", "zh"),
    [
        (
            "county_code,factor,amount,units\n370812,land_new,150,亩\n",
            "plan.csv line 1: unknown column 'units': a plan has the columns county_code,factor,amount, optionally "
            "unit (the amount's unit: m², 亩 or 公顷 for an area) and a remark (备注); a column lantu does not read "
            "could change what an amount means",
            "plan.csv 第 1 行：未知列 “units”：计划须含 county_code,factor,amount 列，可选 unit 列（数量单位：面积可为 "
            "m²、亩或公顷）及备注列；不识别的列可能改变数量的含义，不予忽略",
        ),
        (
            "county_code,factor,amount,unit\n370811,cod,3,kg\n",
            "plan.csv line 2: unit 'kg' is not a unit of cod: t / 吨",
            "plan.csv 第 2 行：单位“kg”不适用于化学需氧量，应为 t / 吨",
        ),
        (
            "county_code,factor,amount,unit\n370811,land_new,3,acre\n",
            "plan.csv line 2: unit 'acre' is not a unit of land_new: m² (m2, 平方米), 亩 or 公顷 (ha)",
            "plan.csv 第 2 行：单位“acre”不适用于新增建设用地计划指标，应为 m²（m2、平方米）、亩或公顷（ha）",
        ),
    ],
)
def test_a_plan_column_or_unit_lantu_does_not_read_is_refused(plan: str, en: str, zh: str) -> None:
    with pytest.raises(FormatError) as refused:
        parse_quota_plan(plan)
    assert (refused.value.message_en, refused.value.message_zh) == (en, zh)


def test_cli_books_a_plan_in_mu(run, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """The officer's file: 150 亩 is 100 000 m², not 150 m²; the pool takes 30 000."""
    plan = tmp_path / "plan.csv"
    plan.write_text("county_code,factor,amount,unit\n370812,land_new,150,亩\n", encoding="utf-8")
    run("quota", "issue", "-y", "2026", "--csv", plan)
    assert (balance(run.ledger, "370812"), balance(run.ledger, CITY)) == (70_000, 30_000)


def test_the_same_plan_issued_twice_is_refused_unless_said_again(ledger: Ledger) -> None:
    plan = [("370811", "land_new", 40_000), ("370812", "cod", 10)]
    first = ledger.issue(2026, plan, actor="省厅")
    (created,) = {j["created"] for j in ledger.journal()}
    when = created[:16].replace("T", " ")  # Beijing time, to the minute
    before = journal_size(ledger)
    with pytest.raises(QuotaError) as twice:
        ledger.issue(2026, list(reversed(plan)), actor="b")  # the same rows in another order
    assert twice.value.message_en == (
        f"this plan repeats issue #{first} of 2026 (recorded {when} Beijing time by 省厅) row for row (2 rows): booked "
        "again it doubles the year's plan. If the province did issue the same quota a second time, say so "
        "(`lantu quota issue --again`, issue(again=True))"
    )
    assert twice.value.message_zh == (
        f"该计划与 2026 年第 {first} 号下达交易（{when}，经办人 省厅）逐行相同（共 2 行），"
        "再次登记将使该年度计划指标翻倍；如省厅确已再次下达相同指标，请注明再次下达（lantu quota issue --again）"
    )
    assert journal_size(ledger) == before and balance(ledger, "370811") == 28_000
    ledger.issue(2026, [("370811", "land_new", 40_000)], actor="省厅")  # not the same plan: booked
    ledger.issue(2027, plan, actor="省厅")  # the same rows for another year: booked
    again = ledger.issue(2026, plan, actor="省厅", again=True)
    assert balance(ledger, "370811") == 3 * 28_000
    (reason,) = {j["reason"] for j in ledger.journal() if j["transaction"] == again}
    assert reason == f"下达年度计划指标（再次下达，与第 {first} 号下达逐行相同）"
    undone = ledger.issue(2028, plan, actor="省厅")
    ledger.reverse(undone, actor="a", reason="误下达")
    ledger.issue(2028, plan, actor="省厅")  # what a reversal undid may be issued anew
    assert balance(ledger, "370811", year=2028) == 28_000


def test_cli_issue_again(run, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    plan = tmp_path / "plan.csv"
    plan.write_text("county_code,factor,amount\n370811,land_new,1000\n", encoding="utf-8")
    run("quota", "issue", "-y", "2026", "--csv", plan)
    refused = run("quota", "issue", "-y", "2026", "--csv", plan, code=2).stderr
    assert "该计划与 2026 年第 1 号下达交易" in refused and "this plan repeats issue #1 of 2026" in refused
    assert "row for row (1 row)" in refused and "--again" in refused
    assert balance(run.ledger, "370811") == 700
    run("quota", "issue", "-y", "2026", "--csv", plan, "--again")
    assert balance(run.ledger, "370811") == 1_400


# --- 3. the 增存挂钩 penalty on 预支 -------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def stock_bp(tmp_path_factory: pytest.TempPathFactory) -> Blueprint:
    return load_blueprint(rect_blueprint(tmp_path_factory.mktemp("stock") / "bp", STOCK, slope=None))


def test_a_penalised_county_advances_nothing(ledger: Ledger, stock_bp: Blueprint) -> None:
    """自然资规〔2018〕1号: below 60 % 五年供地率 暂停安排新增建设用地指标; an advance is new quota to the county."""
    ledger.import_stock(stock_bp, actor="a")
    land = _dispose_example(ledger)
    ledger.issue(2026, [("370811", "land_new", 100_000)], actor="省厅")
    settled = ledger.stock_settle("370811", 2026, actor="a")
    assert settled["penalty"] is True
    before = journal_size(ledger)
    with pytest.raises(QuotaError) as refused:
        ledger.advance("370811", "land_new", 2026, 1_000, actor="a")
    number = settled["settlement"]
    assert refused.value.message_en == (
        f"county 370811's five-year land supply rate was 46.2% at settlement #{number} (2026), below 60%: no new "
        "construction quota is arranged for it (增存挂钩, 自然资规〔2018〕1号), and an advance of 2027's land_new is "
        "new construction quota to the county; refused until a settlement finds 60% or more"
    )
    assert refused.value.message_zh == (
        f"370811 近五年供地率 46.2%（2026 年第 {number} 号增存挂钩核算）低于 60%，暂停安排新增建设用地指标"
        "（自然资规〔2018〕1号）；预支 2027 年新增建设用地指标即向该区县安排新增指标，不予预支，"
        "待供地率达到 60% 的核算后方可预支"
    )
    assert journal_size(ledger) == before
    ledger.dispose(land["A1"], "供地", 300_000, date(2026, 6, 1), actor="a")
    assert ledger.stock_settle("370811", 2026, actor="a")["penalty"] is False  # 69 %: lifted
    ledger.advance("370811", "land_new", 2026, 1_000, actor="a")
    assert balance(ledger, "370811", year=2027) == -1_000


# --- 4. loans: due today or later; the overdue table ---------------------------------------------------------------


def test_a_loan_is_due_today_or_later_and_overdue_names_both_sides(
    ledger: Ledger, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("geo.quota.accounts.beijing_today", lambda: date(2026, 3, 1), raising=False)
    ledger.issue(2026, [("370811", "land_compensation", 10_000)], actor="省厅")  # 占补平衡 quantity is lent
    before = journal_size(ledger)
    with pytest.raises(InputError) as past:
        ledger.transfer("370811", "370812", "land_compensation", 2026, 1_500, due_date=date(2026, 2, 28), actor="a")
    assert past.value.message_en == (
        "due date 2026-02-28 is before today (2026-03-01, Beijing time): a temporary loan (临时拆借) is due back on "
        "a date to come"
    )
    assert (
        past.value.message_zh
        == "归还日期 2026-02-28 早于今天（2026-03-01，北京时间），临时拆借的归还日期应为今天或以后"
    )
    assert journal_size(ledger) == before
    today = date(2026, 3, 1)
    loan = ledger.transfer("370811", "370812", "land_compensation", 2026, 1_500, due_date=today, actor="a")
    enter(ledger, "XM-1")  # 市重点: a 削减量预支 serves a project of the library (济宁 52号 三、(三)3)
    owed = ledger.advance_reduction(
        "370811", "cod", 2026, 2.5, project_id="XM-1", source="关停替代", deadline=date(2026, 3, 31), actor="a"
    )
    rows = ledger.overdue_loans(date(2026, 4, 2))
    assert rows == [
        {
            "loan": loan,
            "kind": "loan",
            "lender": "370811",
            "lender_name": "任城区",
            "borrower": "370812",
            "borrower_name": "兖州区",
            "factor": "land_compensation",
            "factor_name": "占补平衡指标（数量，含水田）",
            "amount": 1500.0,
            "unit": "m²",
            "amount_ha": 0.15,
            "amount_mu": 2.25,
            "due_date": "2026-03-01",
            "actor": "a",
            "reason": "临时拆借",
            "days_overdue": 32,
        },
        {
            "loan": owed,
            "kind": "reduction_advance",
            "lender": "external:reduction",
            "lender_name": "污染物削减量",
            "borrower": "project:XM-1",  # earmarked to the project it was advanced for
            "borrower_name": "项目 XM-1",
            "factor": "cod",
            "factor_name": "化学需氧量",
            "amount": 2.5,
            "unit": "吨",
            "amount_ha": None,
            "amount_mu": None,
            "due_date": "2026-03-31",
            "actor": "a",
            "reason": "预支削减量（来源：关停替代，投产前到位；用于市重点项目 XM-1）",
            "days_overdue": 2,
        },
    ]
    assert [OVERDUE_TABLE.texts(r) for r in for_people(rows)] == [
        {
            "loan": loan,
            "kind_zh": "临时拆借",
            "lender_name": "任城区",
            "borrower_name": "兖州区",
            "factor_name": "占补平衡指标（数量，含水田）",
            "amount": "1,500.00 m²\n0.1500 公顷\n2.25 亩",
            "due_date": "2026-03-01",
            "days_overdue": 32,
            "reason": "临时拆借",
        },
        {
            "loan": owed,
            "kind_zh": "削减量预支",
            "lender_name": "污染物削减量",
            "borrower_name": "项目 XM-1",
            "factor_name": "化学需氧量",
            "amount": "2.5 吨",
            "due_date": "2026-03-31",
            "days_overdue": 2,
            "reason": "预支削减量（来源：关停替代，投产前到位；用于市重点项目 XM-1）",
        },
    ]


def test_a_reduction_advance_is_due_on_a_date_to_come(ledger: Ledger, monkeypatch: pytest.MonkeyPatch) -> None:
    """A 削减量预支 made good before production starts: a deadline already past was overdue when recorded."""
    monkeypatch.setattr("geo.quota.accounts.beijing_today", lambda: date(2026, 3, 1))
    enter(ledger, "XM-1")
    before = journal_size(ledger)
    with pytest.raises(InputError) as refused:
        ledger.advance_reduction(
            "370811", "cod", 2026, 5, project_id="XM-1", source="提标改造", deadline=date(2026, 2, 28), actor="a"
        )
    assert refused.value.message_en == (
        "deadline 2026-02-28 is before today (2026-03-01, Beijing time): the reduction is made good before "
        "production starts, on a date to come"
    )
    assert (
        refused.value.message_zh
        == "到位期限 2026-02-28 早于今天（2026-03-01，北京时间），削减量应在投产前到位，到位期限应为今天或以后"
    )
    assert journal_size(ledger) == before
    ledger.advance_reduction(
        "370811", "cod", 2026, 5, project_id="XM-1", source="提标改造", deadline=date(2026, 3, 1), actor="a"
    )


def test_cli_loan_says_what_it_is_and_overdue_lists_both_sides(run, tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    run.ledger.issue(2026, [("370811", "land_compensation", 10_000)], actor="省厅")  # 占补平衡 quantity is lent
    loan = ("quota", "transfer", "370811", "370812", "land_compensation", "-y", "2026", "--amount", "1500")
    past = run(*loan, "--due", "2000-01-01", code=2).stderr  # before any today
    assert "归还日期 2000-01-01 早于今天" in past and "due date 2000-01-01 is before today" in past
    monkeypatch.setattr("geo.quota.accounts.beijing_today", lambda: date(2026, 3, 1), raising=False)
    lent = run(*loan, "--due", "2026-03-10").stderr
    assert lent.strip() == "已临时拆借 / lent (temporary loan)：交易 / transaction #2" and "已调剂" not in lent
    paid = run(*loan[:-1], "100", "--price-wan", "3").stderr
    assert paid.strip() == "已有偿调剂 / transferred (paid)：交易 / transaction #3"
    table = run("quota", "overdue", "--as-of", "2026-03-20").stdout
    for cell in (
        "出借方",
        "借入方",
        "任城区",
        "兖州区",
        "占补平衡指标（数量，含水田）",
        "1,500.00 m²",
        "2.25 亩",
        "临时拆借",
    ):
        assert cell in table, cell
    (row,) = csv.DictReader(io.StringIO(run("quota", "overdue", "--as-of", "2026-03-20", "-f", "csv").stdout))
    assert row == {
        "交易号": "2",
        "类型": "临时拆借",
        "出借方": "任城区",
        "出借方代码": "370811",
        "借入方": "兖州区",
        "借入方代码": "370812",
        "要素": "占补平衡指标（数量，含水田）",
        "数量": "1500.0",
        "单位": "m²",
        "数量（公顷）": "0.15",
        "数量（亩）": "2.25",
        "期限": "2026-03-10",
        "逾期天数": "10",
        "事由": "临时拆借",
    }


# --- 5. the 预支 cap: a sample value, and the year whose issue it takes ----------------------------------------------


def test_the_advance_cap_names_the_year_of_its_issue(ledger: Ledger) -> None:
    ledger.issue(2026, [("370811", "land_new", 100_000)], actor="省厅")
    with pytest.raises(QuotaError) as this_year:
        ledger.advance("370811", "land_new", 2026, 31_000, actor="a")
    assert this_year.value.message_en == (
        "370811 may advance at most 30,000.00 m² of 2027's land_new (30%, a sample share the city sets, of its 2026 "
        "issue of 100,000.00 m²; 2027's is not issued yet, so 2026's is taken); 0.00 m² advanced already, "
        "31,000.00 m² asked"
    )
    assert this_year.value.message_zh == (
        "370811 预支 2027 年新增建设用地指标不得超过 30,000.00 m²（2026 年下达量 100,000.00 m² 的 30%，比例为市级样例"
        "取值；2027 年计划尚未下达，按 2026 年下达量计），已预支 0.00 m²，本次申请 31,000.00 m²"
    )
    ledger.advance("370811", "land_new", 2026, 8_000, actor="a")
    # Once 2027 is issued no advance draws on it (聊城 办法第十七条: 在每年新增建设用地计划管理细则明确前); this test
    # advanced on 2027's own issue here. The cap of 2027's issue still bounds the advances a reversal leaves.
    ledger.issue(2027, [("370811", "land_new", 20_000)], actor="省厅")
    extra = ledger.issue(2027, [("370811", "land_new", 10_000)], actor="省厅")  # 30 000 in all: 9 000 may be advanced
    with pytest.raises(QuotaError) as next_year:
        ledger.reverse(extra, actor="a", reason="计划录入错误")
    assert (
        "370811 may advance at most 6,000.00 m² of 2027's land_new (30%, a sample share the city sets, of its 2027 "
        "issue of 20,000.00 m²)"
    ) in next_year.value.message_en
    assert (
        "370811 预支 2027 年新增建设用地指标不得超过 6,000.00 m²（2027 年下达量 20,000.00 m² 的 30%，比例为市级样例"
        "取值）"
    ) in next_year.value.message_zh


def test_the_advance_cap_is_labelled_a_sample_the_city_sets() -> None:
    """Neither 聊城 第十七条 nor 济宁 三(一)4 sets a cap: the 30 % of 第十七条 is the pooling share."""
    text = packaged("profiles/ledger.yaml").read_text(encoding="utf-8")
    line = next(x for x in text.splitlines() if x.startswith("advance_cap_share:"))
    assert line == "advance_cap_share: 0.3  # SAMPLE (样例取值, set by the city; no policy text fixes it)"
    block = text[text.index("# 预支:") : text.index("advance_cap_share:")]
    assert "The cap is a SAMPLE value the city" in block and "neither text sets one" in block
    assert yaml.safe_load(text)["advance_cap_share"] == 0.3
    assert "样例取值" in (LedgerRules.model_fields["advance_cap_share"].description or "")


# --- 6. what an officer signs: Beijing time, Chinese stages, who paid --------------------------------------------


def test_the_journal_writes_beijing_time_with_its_offset(ledger: Ledger) -> None:
    """01:00 on 1 January in Beijing is 17:00 UTC on 31 December: filed under the new year, offset written."""
    tx = ledger.issue(2026, [("370811", "land_new", 1_000)], actor="省厅")
    with ledger.engine.begin() as conn:
        conn.execute(
            update(quota_transactions)
            .where(quota_transactions.c.id == tx)
            .values(created=datetime(2025, 12, 31, 17, 0, tzinfo=UTC))
        )
    assert {j["created"] for j in ledger.journal()} == {"2026-01-01T01:00:00+08:00"}
    rows = [{"时间": j["created"]} for j in ledger.journal()[:1]]
    assert format_table(rows, "csv") == "时间\n2026-01-01T01:00:00+08:00\n"
    assert "2026-01-01 01:00:00" in format_table(rows, "table")


def test_projects_show_their_stage_in_chinese_and_what_they_hold(ledger: Ledger) -> None:
    enter(ledger, "XM-1")
    ledger.issue(2026, [("370811", "land_new", 100_000)], actor="省厅")
    ledger.reserve(review(5_000), year=2026, project_id="XM-1", actor="a")

    def shown() -> dict[str, object]:
        (row,) = [PROJECT_TABLE.texts(r) for r in for_people(ledger.projects())]
        return row

    (row,) = ledger.projects()
    assert (row["stage"], row["land_reserved_m2"], row["land_reserved_ha"], row["land_reserved_mu"]) == (
        "reserved",
        5_000.0,
        0.5,
        7.5,
    )
    assert shown() == {
        "id": "XM-1",
        "name": "项目XM-1",
        "level": "市重点",
        "county_name": "任城区",
        "review_id": "R1",
        "stage_zh": "已配置",
        "land_reserved": "5,000.00 m²\n0.5000 公顷\n7.50 亩",
        "land_approved": "0.00 m²\n0.0000 公顷\n0.00 亩",
    }
    ledger.confirm("XM-1", actor="a")
    assert (shown()["stage_zh"], shown()["land_approved"]) == ("已批准", "5,000.00 m²\n0.5000 公顷\n7.50 亩")
    ledger.lapse("XM-1", actor="a", reason="不再实施")
    assert shown()["stage_zh"] == "已撤回或收回"


def test_cli_projects_table_is_in_chinese(run) -> None:  # type: ignore[no-untyped-def]
    enter(run.ledger, "XM-1")
    run.ledger.issue(2026, [("370811", "land_new", 100_000)], actor="省厅")
    run.ledger.reserve(review(5_000), year=2026, project_id="XM-1", actor="a")
    table = run("quota", "projects").stdout
    assert "已配置" in table and "reserved" not in table and "5,000.00 m²" in table and "7.50 亩" in table
    (row,) = csv.DictReader(io.StringIO(run("quota", "projects", "-f", "csv").stdout))
    assert (row["指标状态"], row["已配置新增建设用地（m²）"], row["已配置新增建设用地（亩）"]) == (
        "已配置",
        "5000.0",
        "7.5",
    )
    assert json.loads(run("quota", "projects", "-f", "json").stdout)[0]["stage"] == "reserved"  # the contract


def test_cli_lapse_says_what_it_released_and_the_earmark_it_leaves(run) -> None:  # type: ignore[no-untyped-def]
    """A 收回 tells the officer what went back, as a 撤回 does, and that 点供 earmarked to the project is still
    unused, naming the 点供 whose reversal sends it back to the province (neither movement moves it)."""
    enter(run.ledger, "XM-1")
    run.ledger.issue(2026, [("370811", "land_new", 10_000)], actor="省厅")
    supplied = run.ledger.point_supply("370811", "land_new", 2026, 500, project_id="XM-1", actor="省厅")
    run.ledger.reserve(review(2_000), year=2026, project_id="XM-1", actor="a")  # 500 from the earmark, 1 500 county
    run.ledger.confirm("XM-1", actor="a")
    said = run("quota", "lapse", "XM-1", "--reason", "不再实施").stderr
    assert "已收回 / lapsed" in said
    assert "收回项目 XM-1 的指标：新增建设用地计划指标（2026年，已批准）2,000.00 m²（0.2000 公顷，3.00 亩）" in said
    assert (
        "专项点供尚未使用：新增建设用地计划指标（2026年）500.00 m²（0.0500 公顷，0.75 亩）"
        f"（项目不再实施的，冲正第 {supplied} 号点供交易退回省级）" in said
    )
    assert f"reversing the 点供 #{supplied} sends it back to the province" in said
    assert (balance(run.ledger, "370811"), balance(run.ledger, "XM-1", bucket="earmarked")) == (7_000, 500)


def test_what_projects_hold_counts_to_who_paid_it(ledger: Ledger) -> None:
    """XM-K (重点) has a gap: of its 2 000 the pool pays 600, the county its 1 400; each row shows its own part of
    what the projects hold, approved and reserved, and the county's row its project's earmarked 点供 too."""
    enter(ledger, "XM-K", "XM-C", "XM-E")
    ledger.issue(2026, [("370811", "land_new", 2_000)], actor="省厅")  # county 1 400, pool 600
    ledger.point_supply(CITY, "land_new", 2026, 3_000, actor="省厅")
    ledger.reserve(review(2_000, rid="R1", pid="P1"), year=2026, project_id="XM-K", source=CITY, actor="a")
    ledger.point_supply("370811", "land_new", 2026, 3_000, actor="省厅")
    ledger.reserve(review(1_000, rid="R2", pid="P2"), year=2026, project_id="XM-C", actor="a")
    ledger.point_supply("370811", "land_new", 2026, 500, project_id="XM-E", actor="省厅")
    ledger.reserve(review(800, rid="R3", pid="P3"), year=2026, project_id="XM-E", actor="a")  # 500 earmark + 300
    ledger.confirm("XM-K", actor="a")
    ledger.reserve(review(1_000, rid="R4", pid="P4"), year=2026, project_id="XM-K", actor="a")  # the county's

    def held(holder: str) -> tuple[object, ...]:
        row = report_row(ledger, 2026, holder)
        return row["reserved"], row["balance"], row["projects_reserved"], row["projects_approved"]

    # the county's 配置 is what its projects hold from it, XM-E's earmark (500) included: 4 200 either side
    assert held("370811") == (-4_200, 700, 1_000 + 800 + 1_000, 1_400)
    assert held(CITY) == (-600, 3_000, 0, 600)
    assert_rows_add_up(ledger, 2026)
    ledger.lapse("XM-K", actor="a", reason="不再实施")  # each payer gets its own back
    assert held("370811") == (-4_200, 3_100, 1_800, 0)
    assert held(CITY) == (-600, 3_600, 0, 0)
    ledger.revoke("XM-E", actor="a")  # 500 back to the earmark, 300 to the county
    assert held("370811") == (-4_200, 3_400, 1_000, 0)
    assert report_row(ledger, 2026, "370811")["earmarked"] == -500  # back in XM-E's 专项点供, unused
    assert_rows_add_up(ledger, 2026)


# --- 7. half-up rounding on the Decimal ---------------------------------------------------------------------------


def test_tables_round_halves_up_on_the_recorded_figure(ledger: Ledger) -> None:
    """16.65 m² issued: the county keeps 11.655 and the pool 4.995; a float rounds 11.655 down (11.65) but 10.005
    up: the Decimal rounds every half up."""
    ledger.issue(2026, [("370811", "land_new", Decimal("16.65"))], actor="省厅")
    county, pool = report_row(ledger, 2026, "370811"), report_row(ledger, 2026, CITY)
    assert (county["balance"], pool["balance"]) == (11.655, 4.995)
    assert TABLE.texts(county)["balance"] == "11.66 m²\n0.0012 公顷\n0.02 亩"
    assert TABLE.texts(county)["issued"] == "16.65 m²\n0.0017 公顷\n0.02 亩"
    assert TABLE.texts(county)["pooled"] == "-5.00 m²\n-0.0005 公顷\n-0.01 亩"
    assert (county["balance_ha"], county["balance_mu"]) == (0.0012, 0.02)
    assert amount_text(10.005, "m²").split("\n")[0] == "10.01 m²"
    assert amount_text(1.5, "m²") == "1.50 m²\n0.0002 公顷\n0.00 亩"  # 0.00015 公顷: a float's is 0.0001
    assert in_mu_ha(Decimal("1.5"), "m²") == (0.0, 0.0002)
    assert amount_text(Decimal("0.00005"), "吨") == "0.0001 吨"
    assert format_table([{"x": 0.00005}], "table").count("0.0001") == 1
