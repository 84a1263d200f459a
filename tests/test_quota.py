"""The factor ledger on SQLite and on PostgreSQL: movements, rules, concurrency, invariants."""

from __future__ import annotations

import threading
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select

from geo.errors import InputError, NotFoundError, ProfileError, QuotaError
from geo.papers import beijing_today
from geo.projects import ProjectLibrary
from geo.quota.ledger import CITY, Ledger
from geo.quota.movements import Reserved
from geo.quota.queries import for_people
from geo.quota.rules import ReductionAdvance, load_ledger_rules
from geo.quota.tables import quota_accounts, quota_postings, quota_transactions
from geo.review.result import County, CountyPart, ItemResult, LandQuota, ParcelResult, ReviewResult

LIBRARY = ("XM-0", "XM-1", "XM-2", "XM-3", "X", "P", "SAME")


@pytest.fixture
def ledger(engine: Engine) -> Ledger:
    """Two counties; the usual project ids in the library (市重点, 储备, 任城区) — 先入库后保障."""
    ledger = Ledger(engine)
    assert ledger.register_counties([("370811", "任城区"), ("370812", "兖州区")]) == 2
    enter(ledger, *LIBRARY)
    return ledger


def enter(ledger: Ledger, *ids: str, county: str = "370811", level: str = "市重点", stage: str = "储备") -> None:
    library = ProjectLibrary(ledger.engine)
    for pid in ids:
        library.add(
            pid, name=f"项目{pid}", project_type="industrial", level=level, county=county, actor="t", stage=stage
        )


def review(
    new_m2: float,
    cultivated: float = 0.0,
    paddy: float = 0.0,
    *,
    verdict: str = "conditional",
    county: str | None = "370811",
    rid: str = "R1",
    pid: str = "P1",
) -> ReviewResult:
    quota = LandQuota(
        agricultural_m2=new_m2,
        cultivated_m2=cultivated,
        paddy_m2=paddy,
        construction_m2=0.0,
        unused_m2=0.0,
        stock_m2=0.0,
        stock_ratio=0.0,
        new_construction_quota_m2=new_m2,
        compensation_m2=cultivated,
    )
    parcel = ParcelResult(
        id=pid,
        area_m2=new_m2,
        area_ha=new_m2 / 1e4,
        area_mu=new_m2 / 666.67,
        crs_used="EPSG:4548",
        verdict="conditional",
        repaired=False,
        tolerance_m2=1.0,
        county=County(code=county, name="任城区") if county is not None else None,
        items=[],
        land_quota=quota,
    ).model_copy(update={"verdict": verdict})  # any verdict string, the schema's list may lag behind
    return ReviewResult(review_id=rid, profile="ten-point", blueprint="测试", created="2026-11-22", parcels=[parcel])


def balance(
    ledger: Ledger, holder: str, factor: str = "land_new", year: int = 2026, bucket: str = "available"
) -> float:
    return next(
        (
            r["balance"]
            for r in ledger.balances(year)
            if r["holder"] == holder and r["factor"] == factor and r["bucket"] == bucket
        ),
        0.0,
    )


def journal_size(ledger: Ledger) -> int:
    return len(ledger.journal())


def test_issue_with_city_pooling(ledger: Ledger) -> None:
    ledger.issue(
        2026,
        [("370811", "land_new", 100_000), ("370812", "land_new", 50_000), ("370811", "energy", 300)],
        actor="市自然资源局",
    )
    assert balance(ledger, "370811") == 70_000 and balance(ledger, "370812") == 35_000
    assert balance(ledger, CITY) == 45_000  # 30 % of each county's new quota
    assert balance(ledger, "370811", "energy") == 300  # other factors are not pooled
    assert ledger.totals()["land_new"] == Decimal(150_000)


def test_reserve_from_review_confirm_and_revoke(ledger: Ledger) -> None:
    ledger.issue(
        2026,
        [
            ("370811", "land_new", 100_000),
            ("370811", "land_compensation", 50_000),
            ("370811", "land_compensation_paddy", 10_000),
            ("370811", "land_compensation_grain", 30_000),
        ],
        actor="a",
    )
    r = review(20_000, cultivated=12_000, paddy=2_000)
    tx = ledger.reserve(r, year=2026, project_id="XM-1", actor="项目系统")
    assert balance(ledger, "370811") == 70_000 - 20_000
    assert balance(ledger, "370811", "land_compensation") == 50_000 - 12_000  # quantity: all cultivated land
    assert balance(ledger, "370811", "land_compensation_paddy") == 10_000 - 2_000  # 水田, a part of it
    assert balance(ledger, "370811", "land_compensation_grain") == 30_000 - 12_000 * 0.6  # kg of grain capacity
    assert balance(ledger, "XM-1", bucket="reserved") == 20_000
    # the same project and review again: the same transaction, no second movement
    assert ledger.reserve(r, year=2026, project_id="XM-1", actor="项目系统") == tx
    assert balance(ledger, "370811") == 50_000
    ledger.confirm("XM-1", actor="市政府")
    assert balance(ledger, "XM-1", bucket="approved") == 20_000
    assert balance(ledger, "XM-1", bucket="reserved") == 0
    assert ledger.projects()[0]["stage"] == "approved"
    with pytest.raises(QuotaError, match="holds approved quota") as refused:
        ledger.revoke("XM-1", actor="市自然资源局")  # approved quota is not returned as if nothing had happened
    assert "收回" in refused.value.message_zh
    with pytest.raises(QuotaError, match="needs a reason"):
        ledger.lapse("XM-1", actor="市自然资源局", reason=" ")
    ledger.lapse("XM-1", actor="市自然资源局", reason="项目未按期开工")
    assert balance(ledger, "370811") == 70_000 and balance(ledger, "370811", "land_compensation_paddy") == 10_000
    assert ledger.projects()[0]["stage"] == "revoked"
    assert next(j["reason"] for j in ledger.journal() if j["kind"] == "lapse") == "项目未按期开工"
    with pytest.raises(QuotaError, match="holds no quota"):
        ledger.revoke("XM-1", actor="x")
    with pytest.raises(NotFoundError):
        ledger.revoke("nope", actor="x")


def test_rules_change_nothing_when_they_refuse(ledger: Ledger) -> None:
    ledger.issue(2026, [("370811", "land_new", 10_000)], actor="a")
    before = journal_size(ledger)
    with pytest.raises(QuotaError, match="rejected"):
        ledger.reserve(review(1_000, verdict="reject"), year=2026, project_id="X", actor="a")
    with pytest.raises(QuotaError, match="needed"):
        ledger.reserve(review(8_000), year=2026, project_id="X", actor="a")  # 7 000 available
    with pytest.raises(InputError, match="unknown county"):
        ledger.reserve(review(100, county="999999"), year=2026, project_id="X", actor="a")
    with pytest.raises(QuotaError, match="no county"):
        ledger.reserve(review(100, county=None), year=2026, project_id="X", actor="a")
    with pytest.raises(QuotaError, match="not in the project library") as refused:
        ledger.reserve(review(100), year=2026, project_id="NOPE", actor="a")
    assert "先入库后保障" in refused.value.message_zh
    with pytest.raises(InputError, match="unknown factor"):
        ledger.issue(2026, [("370811", "gold", 1)], actor="a")
    assert journal_size(ledger) == before
    assert balance(ledger, "370811") == 7_000


@pytest.mark.parametrize("value", [float("nan"), float("inf"), float("-inf"), 1e308, Decimal("1e300")])
def test_amounts_the_ledger_cannot_hold_are_input_errors_and_change_nothing(ledger: Ledger, value: object) -> None:
    """NaN, ±∞ and 1e308 would not fit Numeric(20, 4): refused by name, never a decimal.InvalidOperation."""
    ledger.issue(2026, [("370811", "energy", 1_000)], actor="a")
    before = journal_size(ledger)
    movements = (
        lambda: ledger.issue(2026, [("370811", "land_new", value)], actor="a"),
        lambda: ledger.reserve_factors("XM-1", 2026, {"energy": value}, actor="a"),
        lambda: ledger.point_supply(CITY, "land_new", 2026, value, actor="a"),
        lambda: ledger.transfer("370811", "370812", "energy", 2026, value, price_wan=1, actor="a"),
    )
    for movement in movements:
        with pytest.raises(InputError, match="100,000,000,000") as refused:
            movement()
        assert str(value) in refused.value.message_en and "有限数" in refused.value.message_zh
    assert journal_size(ledger) == before
    ledger.point_supply(CITY, "land_new", 2026, 1e11, actor="a")  # the bound itself is an amount


def test_advance_may_go_negative_next_year_only(ledger: Ledger) -> None:
    ledger.issue(2026, [("370811", "land_new", 10_000)], actor="a")
    ledger.advance("370811", "land_new", 2026, 2_000, actor="a")
    assert balance(ledger, "370811") == 9_000
    assert balance(ledger, "370811", year=2027) == -2_000
    before = journal_size(ledger)
    with pytest.raises(QuotaError, match=r"^370811 has -2,000\.00 m² of land_new \(available, 2027\); 1\.00 needed"):
        ledger.reserve(review(1), year=2027, project_id="XM-1", actor="a")  # no overdraw but by advance
    assert journal_size(ledger) == before and balance(ledger, "370811", year=2027) == -2_000


def test_no_advance_once_next_years_plan_is_issued(ledger: Ledger) -> None:
    """聊城《重点项目推进全周期服务办法》第十七条 "在每年新增建设用地计划管理细则明确前,预支新增土地指标": an advance
    draws on a year's quota before its plan is set. Once the county's 2027 plan is issued, an advance on 2027 is
    refused naming the issue, and nothing is written; another county, whose 2027 plan is not issued, still advances,
    and so does the county again once its 2027 plan is reversed."""
    ledger.issue(2026, [("370811", "land_new", 10_000), ("370812", "land_new", 10_000)], actor="省厅")
    ledger.advance("370811", "land_new", 2026, 1_000, actor="a")
    plan = ledger.issue(2027, [("370811", "land_new", 20_000)], actor="省厅")
    before = journal_size(ledger)
    with pytest.raises(QuotaError) as refused:
        ledger.advance("370811", "land_new", 2026, 1_000, actor="a")
    assert refused.value.message_en == (
        f"370811's 2027 plan of land_new is issued (#{plan}): an advance draws on a year's quota before its plan is "
        "set (聊城 重点项目推进全周期服务办法 第十七条: 在每年新增建设用地计划管理细则明确前,预支新增土地指标), so no "
        "more of 2027's land_new is advanced"
    )
    assert refused.value.message_zh == (
        f"370811 2027 年新增建设用地计划指标已下达（第 {plan} 号下达）：预支应在年度计划明确前进行（聊城《重点项目推进"
        "全周期服务办法》第十七条“在每年新增建设用地计划管理细则明确前，预支新增土地指标”），不再预支 2027 年新增建设"
        "用地指标"
    )
    assert journal_size(ledger) == before
    assert balance(ledger, "370811", year=2027) == 20_000 * 0.7 - 1_000
    ledger.advance("370812", "land_new", 2026, 1_000, actor="a")  # its 2027 plan is not issued
    ledger.reverse(plan, actor="a", reason="计划录入错误")
    ledger.advance("370811", "land_new", 2026, 1_000, actor="a")
    assert balance(ledger, "370811", year=2027) == -2_000


def test_no_advance_draws_on_a_year_after_the_plan_years(ledger: Ledger) -> None:
    """An advance in the last plan year would post into the year after it, which no issue, report or
    command can name: refused, and nothing is written."""
    ledger.issue(2099, [("370811", "land_new", 10_000)], actor="a")
    ledger.issue(2100, [("370812", "land_new", 10_000)], actor="a")
    before = journal_size(ledger)
    with pytest.raises(QuotaError, match="after the last plan year 2100") as refused:
        ledger.advance("370812", "land_new", 2100, 1_000, actor="a")
    assert "2101" in refused.value.message_zh
    assert journal_size(ledger) == before
    # draws on 2100, a plan year (not issued to 370811 yet: an advance comes before the year's plan, 聊城 第十七条)
    ledger.advance("370811", "land_new", 2099, 1_000, actor="a")
    assert balance(ledger, "370811", year=2100) == -1_000


def test_advance_is_for_new_construction_quota_only_and_capped(ledger: Ledger) -> None:
    """30 % of this year's issue, before next year's is issued; 先补后占: no compensation advance."""
    ledger.issue(2026, [("370811", "land_new", 10_000), ("370811", "land_compensation", 10_000)], actor="a")
    before = journal_size(ledger)
    for factor in ("land_compensation", "land_compensation_paddy", "cod"):
        with pytest.raises(QuotaError, match="only land_new may be advanced") as refused:
            ledger.advance("370811", factor, 2026, 100, actor="a")
        assert "不可预支" in refused.value.message_zh
    ledger.advance("370811", "land_new", 2026, 2_000, actor="a")
    with pytest.raises(QuotaError, match=r"at most 3,000.00") as refused:
        ledger.advance("370811", "land_new", 2026, 1_001, actor="a")  # 2 000 + 1 001 > 30 % of 10 000
    assert "已预支 2,000.00" in refused.value.message_zh
    ledger.advance("370811", "land_new", 2026, 1_000, actor="a")
    assert journal_size(ledger) == before + 2 * 2  # two advances of two postings each
    with pytest.raises(QuotaError, match=r"at most 0.00"):
        ledger.advance("370812", "land_new", 2026, 1, actor="a")  # nothing issued: nothing to advance on
    # Once 2027's plan is issued nothing more is advanced on it, whatever the cap of its issue (6 000 here) would
    # leave: an advance is made "在每年新增建设用地计划管理细则明确前" (聊城《重点项目推进全周期服务办法》第十七条).
    # This test used to advance 3 000 more here, under a cap taken from the 2027 plan itself.
    ledger.issue(2027, [("370811", "land_new", 20_000)], actor="a")
    assert balance(ledger, "370811", year=2027) == 20_000 * 0.7 - 3_000  # the plan repays the 3 000 advanced


def test_point_supply_transfer_loan(ledger: Ledger, monkeypatch: pytest.MonkeyPatch) -> None:
    """点供 of new quota; 有偿调剂 and 临时拆借 of 占补平衡 quantity between counties (新增 is neither sold nor lent:
    聊城 第十七条), the loan overdue after its due date and repaid."""
    monkeypatch.setattr("geo.quota.accounts.beijing_today", lambda: date(2026, 1, 1))  # lent on 1 January 2026
    ledger.issue(
        2026,
        [
            ("370811", "land_new", 10_000),
            ("370812", "land_new", 10_000),
            ("370811", "land_compensation", 10_000),
            ("370812", "land_compensation", 10_000),
        ],
        actor="a",
    )
    ledger.point_supply("370812", "land_new", 2026, 3_000, actor="省厅")
    assert balance(ledger, "370811") == 7_000 and balance(ledger, "370812") == 10_000
    assert balance(ledger, CITY) == 6_000
    lc = "land_compensation"
    assert balance(ledger, "370811", lc) == 10_000 and balance(ledger, "370812", lc) == 10_000  # not pooled
    for price, due in ((None, None), (30.0, date(2026, 6, 30))):
        with pytest.raises(QuotaError, match=r"exactly one"):
            ledger.transfer("370812", "370811", lc, 2026, 1_000, price_wan=price, due_date=due, actor="a")
    with pytest.raises(InputError, match=r"must be positive"):
        ledger.transfer("370812", "370811", lc, 2026, 1_000, price_wan=0.0, actor="a")
    paid = ledger.transfer("370812", "370811", lc, 2026, 1_000, price_wan=30.0, actor="a")
    assert balance(ledger, "370811", lc) == 11_000 and balance(ledger, "370812", lc) == 9_000
    loan = ledger.transfer("370811", "370812", lc, 2026, 2_000, due_date=date(2026, 6, 30), actor="a")
    assert balance(ledger, "370811", lc) == 9_000 and balance(ledger, "370812", lc) == 11_000
    overdue = ledger.overdue_loans(date(2026, 7, 15))
    assert [(o["loan"], o["days_overdue"]) for o in overdue] == [(loan, 15)]
    ledger.repay(loan, actor="a")
    assert ledger.overdue_loans(date(2026, 7, 15)) == []
    assert balance(ledger, "370811", lc) == 11_000 and balance(ledger, "370812", lc) == 9_000
    assert balance(ledger, "370811") == 7_000 and balance(ledger, "370812") == 10_000  # new quota never moved
    assert ledger.totals()["land_new"] == Decimal(20_000 + 3_000)
    assert ledger.totals()[lc] == Decimal(20_000)  # moved between counties, never made or lost
    priced = [j for j in ledger.journal() if j["kind"] == "transfer"]
    assert {(j["transaction"], j["price_wan"]) for j in priced} == {(paid, 30.0)}


def test_dates_to_come_lie_within_the_plan_years(ledger: Ledger) -> None:
    """A loan due 9999-12-31 would never be overdue: a due date or a deadline outside 2000–2100 is refused."""
    ledger.issue(2026, [("370811", "land_new", 10_000), ("370811", "land_compensation", 10_000)], actor="a")
    before = journal_size(ledger)
    with pytest.raises(InputError, match=r"^due date 9999-12-31 is outside the plan years 2000–2100") as loan:
        ledger.transfer("370811", "370812", "land_compensation", 2026, 1_000, due_date=date(9999, 12, 31), actor="a")
    assert loan.value.message_zh == "归还日期 9999-12-31 不在 2000—2100 年度范围内"
    with pytest.raises(InputError, match=r"^deadline 0001-01-01 is outside the plan years"):
        ledger.advance_reduction(
            "370811", "cod", 2026, 5, project_id="XM-1", source="治理项目", deadline=date(1, 1, 1), actor="a"
        )
    # a source of 100,000 characters was booked into the journal (hostile probe): a name's length at most
    with pytest.raises(QuotaError, match="1 to 200 characters"):
        ledger.advance_reduction(
            "370811", "cod", 2026, 5, project_id="XM-1", source="治" * 201, deadline=date(2026, 12, 31), actor="a"
        )
    assert journal_size(ledger) == before


def test_reverse_is_a_new_movement(ledger: Ledger) -> None:
    tx = ledger.issue(2026, [("370811", "land_new", 10_000)], actor="a")
    rev = ledger.reverse(tx, actor="a", reason="录入错误")
    assert balance(ledger, "370811") == 0 and balance(ledger, CITY) == 0
    kinds = [(j["transaction"], j["kind"]) for j in ledger.journal()]
    assert (tx, "issue") in kinds and (rev, "reversal") in kinds  # the original stays in the journal
    with pytest.raises(QuotaError, match="reversed already"):
        ledger.reverse(tx, actor="a", reason="again")


def assert_postings_add_up(engine: Engine) -> None:
    """Every balance is the sum of its account's postings; every transaction sums to zero."""
    with engine.connect() as conn:
        sums: dict[int, Decimal] = {}  # summed as Decimal here: SQLite's SQL sum of NUMERIC adds doubles
        for account_id, value in conn.execute(select(quota_postings.c.account_id, quota_postings.c.amount)):
            sums[account_id] = sums.get(account_id, Decimal(0)) + value
        for account_id, bal in conn.execute(select(quota_accounts.c.id, quota_accounts.c.balance)).all():
            assert bal == sums.get(account_id, Decimal(0))
        # compared as Decimal (four places) in Python: SQLite keeps NUMERIC as REAL, so an SQL "sum != 0"
        # sees float rounding (-0.35 - 1.01 + 0.35 + 1.01 = 2.2e-16) where the ledger's amounts balance exactly
        per_tx = select(quota_postings.c.transaction_id, func.sum(quota_postings.c.amount))
        sums = conn.execute(per_tx.group_by(quota_postings.c.transaction_id)).all()
        assert [(tx, total) for tx, total in sums if Decimal(total).quantize(Decimal("0.0001")) != 0] == []


def test_balances_equal_their_postings(ledger: Ledger, engine: Engine) -> None:
    ledger.issue(2026, [("370811", "land_new", 10_000)], actor="a")
    ledger.reserve(review(1_234.5678), year=2026, project_id="P", actor="a")
    assert_postings_add_up(engine)
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(quota_transactions)).scalar() == 2


def test_fifty_concurrent_reservations_against_twenty(ledger: Ledger) -> None:
    """A pool that covers 20 reservations, 50 threads at once: exactly 20 succeed."""
    ledger.issue(2026, [("370811", "land_new", Decimal(1_000) * 20 / Decimal("0.7"))], actor="a")
    assert balance(ledger, "370811") == pytest.approx(20_000)
    start = threading.Barrier(50)
    outcomes: list[str] = []
    lock = threading.Lock()

    def worker(n: int) -> None:
        start.wait()
        try:
            ledger.reserve(review(1_000, rid=f"R{n}", pid=f"D{n}"), year=2026, project_id=f"P{n}", actor=f"t{n}")
            result = "ok"
        except QuotaError:
            result = "refused"
        with lock:
            outcomes.append(result)

    enter(ledger, *(f"P{n}" for n in range(50)))
    threads = [threading.Thread(target=worker, args=(n,)) for n in range(50)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert outcomes.count("ok") == 20 and outcomes.count("refused") == 30
    assert balance(ledger, "370811") == pytest.approx(0.0, abs=1e-3)
    reserved = [r for r in ledger.balances(2026) if r["holder_kind"] == "project" and r["balance"] > 0]
    assert len(reserved) == 20 and sum(r["balance"] for r in reserved) == 20_000


def test_concurrent_twins_are_idempotent(ledger: Ledger) -> None:
    ledger.issue(2026, [("370811", "land_new", 100_000)], actor="a")
    r = review(1_000)
    results: list[int] = []
    barrier = threading.Barrier(8)

    def twin() -> None:
        barrier.wait()
        results.append(ledger.reserve(r, year=2026, project_id="SAME", actor="a"))

    threads = [threading.Thread(target=twin) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(set(results)) == 1
    assert balance(ledger, "SAME", bucket="reserved") == 1_000


def test_each_family_of_factors_is_approved_by_its_own_approval(ledger: Ledger) -> None:
    """A 用地批复 approved the project's COD and energy with its land (an officer's read): the pollutants' 总量替代 is
    confirmed by the county's 生态环境 bureau (济宁 52号 三（三）1), energy by its 节能审查."""
    two_county_plan(ledger)
    ledger.issue(2026, [("370811", "energy", 1_000), ("370811", "cod", 100)], actor="a")
    ledger.reserve(review(1_000), year=2026, project_id="XM-1", actor="a")
    ledger.reserve_factors("XM-1", 2026, {"energy": 300, "cod": 5}, actor="a")
    land = ledger.confirm("XM-1", actor="a", document="鲁政土字〔2026〕200号")
    assert balance(ledger, "XM-1", bucket="approved") == 1_000
    assert (
        balance(ledger, "XM-1", "cod", bucket="reserved") == 10
        and balance(ledger, "XM-1", "energy", bucket="reserved") == 300
    )
    said = next(j["reason"] for j in ledger.journal() if j["transaction"] == land)
    assert said == "项目用地批准（批准文号：鲁政土字〔2026〕200号）"
    with pytest.raises(QuotaError, match="project XM-1 has no land quota reserved") as refused:
        ledger.confirm("XM-1", actor="a")
    assert "没有已配置的用地指标" in refused.value.message_zh
    cod = ledger.confirm("XM-1", actor="a", family="pollutants", document="济环总量〔2026〕3号")
    assert (
        balance(ledger, "XM-1", "cod", bucket="approved") == 10
        and balance(ledger, "XM-1", "energy", bucket="reserved") == 300
    )
    assert next(j["reason"] for j in ledger.journal() if j["transaction"] == cod).startswith(
        "总量替代指标确认（县级生态环境主管部门"
    )
    ledger.confirm("XM-1", actor="a", family="energy")
    assert balance(ledger, "XM-1", "energy", bucket="approved") == 300
    with pytest.raises(InputError, match="unknown factor family 'water'"):
        ledger.confirm("XM-1", actor="a", family="water")


def test_a_pollutants_approval_leaves_the_land_reserved_and_released_by_a_revoke(ledger: Ledger) -> None:
    """A confirmation was read as the land's approval whatever it approved: after the pollutants' alone, a 撤回 gave
    the land back, yet the reservation was taken as standing ("existed", nothing booked) and the parcel held for
    good (a reviewer's read)."""
    two_county_plan(ledger)
    ledger.issue(2026, [("370811", "cod", 100)], actor="a")
    first = ledger.reserve(review(1_000), year=2026, project_id="XM-1", actor="a")
    ledger.reserve_factors("XM-1", 2026, {"cod": 5}, actor="a")
    ledger.confirm("XM-1", actor="a", family="pollutants")
    ledger.revoke("XM-1", actor="a")
    assert balance(ledger, "XM-1", bucket="reserved") == 0 and balance(ledger, "370811") == 70_000
    with pytest.raises(QuotaError, match=rf"\(transaction #{first}\) and released since"):
        ledger.reserve(review(1_000), year=2026, project_id="XM-1", actor="a")
    ledger.reserve(review(1_000, rid="R2"), year=2026, project_id="XM-2", actor="a")  # its land is free again
    assert balance(ledger, "XM-2", bucket="reserved") == 1_000


def test_factors_retried_under_one_key_are_reserved_once(ledger: Ledger) -> None:
    """A project may be given more energy later, so only the client's Idempotency-Key makes a retry safe:
    eight concurrent copies of one request under one key reserve once (the others say it existed); another key,
    another project or another caller reserves again."""
    ledger.issue(2026, [("370811", "energy", 1_000), ("370811", "cod", 100)], actor="a")
    results: list[Reserved] = []
    barrier = threading.Barrier(8)

    def retry() -> None:
        barrier.wait()
        results.append(ledger.reserve_factors("XM-1", 2026, {"energy": 300, "cod": 5}, actor="a", key="req-1"))

    threads = [threading.Thread(target=retry) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(results) == 8 and len({r.transaction for r in results}) == 1
    assert sorted(r.existed for r in results) == [False] + [True] * 7
    assert balance(ledger, "XM-1", "energy", bucket="reserved") == 300 and balance(ledger, "370811", "energy") == 700
    assert balance(ledger, "XM-1", "cod", bucket="reserved") == 10  # 倍量替代 ×2, once
    with pytest.raises(InputError, match="used for another request"):
        ledger.reserve_factors("XM-1", 2026, {"energy": 301, "cod": 5}, actor="a", key="req-1")
    with pytest.raises(InputError, match="used for another request"):
        ledger.reserve_factors("XM-1", 2026, {"energy": 300, "cod": 5}, actor="a", key="req-1", source=CITY)
    more = ledger.reserve_factors("XM-1", 2026, {"energy": 300, "cod": 5}, actor="a", key="req-2")
    assert more.transaction != results[0].transaction and balance(ledger, "XM-1", "energy", bucket="reserved") == 600
    ledger.reserve_factors("XM-2", 2026, {"energy": 100}, actor="a", key="req-1")  # a key is the project's own
    assert balance(ledger, "370811", "energy") == 300
    other = ledger.reserve_factors("XM-2", 2026, {"energy": 100}, actor="b", key="req-1")  # and the caller's
    assert not other.existed and balance(ledger, "370811", "energy") == 200


def test_earmarked_point_supply_pays_energy_and_pollutants_first(ledger: Ledger, engine: Engine) -> None:
    """点供 earmarked to a project paid its land first but not its energy or pollutants: the county was charged
    5 t and the earmark of 6 t stayed untouched (hostile probe). It pays them first; a retry under the key finds
    the earmark spent and is still the same request; a revoke gives the earmark its part back."""
    ledger.issue(2026, [("370811", "energy", 1_000)], actor="省厅")  # the county keeps all: energy is not pooled
    ledger.point_supply("370811", "energy", 2026, 6, project_id="XM-1", actor="省厅")
    first = ledger.reserve_factors("XM-1", 2026, {"energy": 5}, actor="a", key="k")
    assert (balance(ledger, "XM-1", "energy", bucket="earmarked"), balance(ledger, "370811", "energy")) == (1, 1_000)
    again = ledger.reserve_factors("XM-1", 2026, {"energy": 5}, actor="a", key="k")
    assert again == Reserved(first.transaction, existed=True)
    more = ledger.reserve_factors("XM-1", 2026, {"energy": 5}, actor="a")  # 1 from the earmark, 4 from the county
    assert not more.existed and balance(ledger, "XM-1", "energy", bucket="earmarked") == 0
    assert balance(ledger, "370811", "energy") == 996 and balance(ledger, "XM-1", "energy", bucket="reserved") == 10
    ledger.revoke("XM-1", actor="a")
    assert (balance(ledger, "XM-1", "energy", bucket="earmarked"), balance(ledger, "370811", "energy")) == (6, 1_000)
    assert_postings_add_up(engine)


def test_allocation_ranks_by_policy_and_reports_who_is_covered(ledger: Ledger) -> None:
    from geo.quota import Demand, allocate, load_allocation_profile

    ledger.issue(2026, [("370811", "land_new", Decimal(25_000) / Decimal("0.7"))], actor="a")  # 25 000 for the county
    enter(ledger, "county-low", "small-late", level="县重点")
    enter(ledger, "province", level="省重点")
    enter(ledger, "municipal")  # 市重点, the level comes from the library (a project is never "city", the pool)
    demands = [
        Demand(project_id="county-low", review=review(10_000, rid="A"), level="县重点", necessity=0.2),
        Demand(project_id="province", review=review(15_000, rid="B"), level="省重点", necessity=0.9, readiness=0.9),
        Demand(project_id="municipal", review=review(8_000, rid="C"), necessity=0.6),
        Demand(
            project_id="small-late",
            review=review(2_000, rid="D"),
            level="县重点",
            necessity=0.1,
            location=0.1,
            readiness=0.1,
        ),
    ]
    profile = load_allocation_profile()
    scores = {d.project_id: profile.score(d) for d in demands}
    assert scores["province"] > scores["municipal"] > scores["county-low"] > scores["small-late"]
    result = allocate(ledger, demands, year=2026, actor="市要素保障办")
    assert [a.project_id for a in result] == ["province", "municipal", "county-low", "small-late"]
    covered = {a.project_id: a.covered for a in result}
    # 25 000: the province project (15 000) and the 市重点 one (8 000) fit; 10 000 no longer does; 2 000 still does
    assert covered == {"province": True, "municipal": True, "county-low": False, "small-late": True}
    assert "不足" in next(a.reason for a in result if a.project_id == "county-low")
    assert balance(ledger, "370811") == pytest.approx(0.0, abs=1e-3)


# --- reservation rules (issue 15, finding 5): the library refuses, so the API and the CLI both do ------------


def two_county_plan(ledger: Ledger) -> None:
    ledger.issue(
        2026,
        [("370811", "land_new", 100_000), ("370812", "land_new", 100_000), ("370811", "land_compensation", 50_000)],
        actor="a",
    )


def test_the_parcels_county_is_charged_never_another(ledger: Ledger) -> None:
    two_county_plan(ledger)
    before = journal_size(ledger)
    with pytest.raises(QuotaError, match="lies in county 370811, not 370812") as refused:
        ledger.reserve(review(1_000), year=2026, project_id="XM-1", county="370812", actor="a")
    assert "地块所在区县" in refused.value.message_zh
    assert journal_size(ledger) == before and balance(ledger, "370812") == 70_000
    assert ledger.projects() == []
    ledger.reserve(review(1_000), year=2026, project_id="XM-1", county="370811", actor="a")  # naming its own: fine
    assert balance(ledger, "370811") == 69_000 and balance(ledger, "370812") == 70_000


def test_a_parcel_across_a_county_line_is_refused_not_charged_to_the_larger_county(ledger: Ledger) -> None:
    """用地 is 组卷报批 by the county (济政办字〔2020〕52号 三（一）5): 600 m² of 370812's land was charged to
    370811, the county holding most. Refused, naming both parts; nothing moves; each part reserves on its own."""
    two_county_plan(ledger)
    parts = [
        CountyPart(code="370811", name="任城区", area_m2=1_000.0),
        CountyPart(code="370812", name="兖州区", area_m2=600.0),
    ]
    across = review(1_600)
    across.parcels[0].counties = parts
    before = journal_size(ledger)
    with pytest.raises(QuotaError, match=r"lies in 2 counties \(任城区 370811 1,000.00 m², 兖州区 370812 600.00") as no:
        ledger.reserve(across, year=2026, project_id="XM-1", actor="a")
    assert "按县界拆分地块" in no.value.message_zh and "组卷报批" in no.value.message_zh
    assert journal_size(ledger) == before and balance(ledger, "370811") == 70_000 and ledger.projects() == []
    ledger.reserve(review(1_000), year=2026, project_id="XM-1", actor="a")  # its part in 370811 alone: reserved
    assert balance(ledger, "370811") == 69_000 and balance(ledger, "370812") == 70_000


def test_one_reviewed_parcel_serves_one_project(ledger: Ledger) -> None:
    two_county_plan(ledger)
    tx = ledger.reserve(review(1_000), year=2026, project_id="XM-1", actor="a")
    before = journal_size(ledger)
    with pytest.raises(QuotaError, match="reserved for project XM-1") as refused:
        ledger.reserve(review(1_000), year=2026, project_id="XM-2", actor="a")
    assert "同一地块不能配置给两个项目" in refused.value.message_zh
    assert journal_size(ledger) == before and balance(ledger, "370811") == 69_000
    assert [p["id"] for p in ledger.projects()] == ["XM-1"]
    assert ledger.reserve(review(1_000), year=2026, project_id="XM-1", actor="a") == tx  # still idempotent
    # another parcel of the same review may serve another project
    two = review(1_000).model_copy(update={"parcels": [review(1_000).parcels[0], review(2_000, pid="P2").parcels[0]]})
    ledger.reserve(two, year=2026, project_id="XM-2", parcel_id="P2", actor="a")
    assert balance(ledger, "XM-2", bucket="reserved") == 2_000
    with pytest.raises(QuotaError, match="no parcel 'P9'"):
        ledger.reserve(two, year=2026, project_id="XM-3", parcel_id="P9", actor="a")


def test_concurrent_reservations_of_one_parcel_for_two_projects(ledger: Ledger) -> None:
    """Eight threads, two project ids, one reviewed parcel: one project gets it once, the other is refused."""
    two_county_plan(ledger)
    barrier = threading.Barrier(8)
    won: list[tuple[str, int]] = []
    refused: list[str] = []

    def claim(project: str) -> None:
        barrier.wait()
        try:
            won.append((project, ledger.reserve(review(1_000), year=2026, project_id=project, actor="a")))
        except QuotaError as exc:
            refused.append(exc.message_en)

    threads = [threading.Thread(target=claim, args=(f"XM-{n % 2}",)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len({tx for _, tx in won}) == 1 and len({project for project, _ in won}) == 1
    assert len(won) + len(refused) == 8 and all("one reviewed parcel serves one project" in m for m in refused)
    assert balance(ledger, "370811") == 69_000


def test_a_project_belongs_to_one_county(ledger: Ledger) -> None:
    two_county_plan(ledger)
    ledger.reserve(review(1_000, rid="R1"), year=2026, project_id="XM-1", actor="a")
    before = journal_size(ledger)
    with pytest.raises(QuotaError, match="belongs to county 370811") as refused:
        ledger.reserve(review(2_000, county="370812", rid="R2"), year=2026, project_id="XM-1", actor="a")
    assert "属于区县 370811" in refused.value.message_zh
    assert journal_size(ledger) == before and balance(ledger, "370812") == 70_000
    ledger.reserve(review(2_000, rid="R3", pid="P3"), year=2026, project_id="XM-1", actor="a")  # another parcel
    assert balance(ledger, "XM-1", bucket="reserved") == 3_000
    assert [(p["id"], p["county"]) for p in ledger.projects()] == [("XM-1", "370811")]


def test_revoke_returns_quota_to_the_account_that_paid(ledger: Ledger, engine: Engine) -> None:
    """The pool pays the 新增 the county cannot, the county the rest and the 占补 (聊城 办法 第十七条); a lapse gives
    each payer its own back, a reversed lapse takes it again."""
    two_county_plan(ledger)  # 370811: 70 000 新增 and 50 000 占补; city: 60 000
    ledger.issue(2026, [("370811", "land_compensation_grain", 1_800)], actor="a")
    ledger.reserve(review(66_000, rid="R0", pid="P0"), year=2026, project_id="XM-0", actor="a")  # 4 000 left
    ledger.reserve(review(2_000, rid="R2", pid="P2"), year=2026, project_id="XM-1", actor="a")  # the county pays
    ledger.reserve(review(5_000, cultivated=3_000, rid="R1"), year=2026, project_id="XM-1", source=CITY, actor="a")
    assert balance(ledger, CITY) == 57_000 and balance(ledger, "370811") == 0  # 2 000 from the county, 3 000 pooled
    assert balance(ledger, "370811", "land_compensation") == 47_000 and balance(ledger, CITY, "land_compensation") == 0
    assert balance(ledger, "370811", "land_compensation_grain") == 0
    ledger.confirm("XM-1", actor="a")
    revoked = ledger.lapse("XM-1", actor="a", reason="不再实施")
    assert balance(ledger, CITY) == 60_000 and balance(ledger, "370811") == 4_000
    assert balance(ledger, "370811", "land_compensation") == 50_000
    assert balance(ledger, "370811", "land_compensation_grain") == 1_800
    assert balance(ledger, "XM-1", bucket="approved") == 0
    # undo the revocation, revoke again: still each payer gets its own back
    ledger.reverse(revoked, actor="a", reason="误撤销")
    assert balance(ledger, CITY) == 57_000 and balance(ledger, "370811") == 0
    ledger.lapse("XM-1", actor="a", reason="不再实施")
    assert balance(ledger, CITY) == 60_000 and balance(ledger, "370811") == 4_000
    assert ledger.totals()["land_new"] == Decimal(200_000)
    assert_postings_add_up(engine)


def test_the_city_pays_no_compensation_it_covers_the_countys_gap_by_transfer_or_loan(
    ledger: Ledger, monkeypatch: pytest.MonkeyPatch
) -> None:
    """聊城 办法 第十七条: "对存在占补平衡指标缺口的,市级统筹采取有偿调剂或临时拆借的方式予以保障"."""
    monkeypatch.setattr("geo.quota.accounts.beijing_today", lambda: date(2026, 1, 1))  # lent on 1 January 2026
    two_county_plan(ledger)  # 370811: 50 000 m² of 占补, no grain capacity
    ledger.issue(2026, [("370812", "land_compensation_grain", 1_000)], actor="a")  # the city's plans track grain
    before = journal_size(ledger)
    with pytest.raises(QuotaError, match=r"1,800\.00 kg short") as refused:
        ledger.reserve(review(5_000, cultivated=3_000), year=2026, project_id="XM-1", actor="a")
    assert "lantu quota transfer city|COUNTY 370811 land_compensation_grain" in refused.value.message_en
    assert "有偿调剂或临时拆借" in refused.value.message_zh and "缺口 1,800.00 kg" in refused.value.message_zh
    assert journal_size(ledger) == before
    ledger.point_supply(CITY, "land_compensation_grain", 2026, 1_800, actor="省厅")
    due = beijing_today() + timedelta(days=90)  # a loan is due back on a date to come
    ledger.transfer(CITY, "370811", "land_compensation_grain", 2026, 1_800, actor="a", due_date=due)
    ledger.reserve(review(5_000, cultivated=3_000), year=2026, project_id="XM-1", actor="a")
    assert balance(ledger, "XM-1", "land_compensation_grain", bucket="reserved") == 1_800


def test_every_compensation_gap_is_said_at_once_with_the_transfers_that_cover_them(ledger: Ledger) -> None:
    """The gaps were said one at a time: the quantity's first, bought, then the 水田's, whose transfer brings as much
    quantity, so the quantity bought was not needed (an officer's read). All at once now, with the transfers that
    cover them and no more: 3,000 m² of 水田 moved brings the 1,000 m² of quantity short."""
    ledger.issue(2026, [("370811", "land_new", 100_000), ("370811", "land_compensation", 3_000)], actor="a")
    ledger.issue(
        2026, [("370812", "land_compensation", 10_000), ("370812", "land_compensation_paddy", 10_000)], actor="a"
    )
    parcel = review(5_000, cultivated=4_000, paddy=3_000)
    with pytest.raises(QuotaError) as refused:
        ledger.reserve(parcel, year=2026, project_id="XM-1", actor="a")
    said = refused.value.message_en
    assert "land_compensation 3,000.00 of 4,000.00 m², 1,000.00 m² short" in said
    assert "land_compensation_paddy 0.00 of 3,000.00 m², 3,000.00 m² short" in said
    assert "370811 land_compensation_paddy --year 2026 --amount 3000" in said
    assert "370811 land_compensation --year" not in said and "水田 moved brings its quantity" in said
    assert "缺口 1,000.00 m²" in refused.value.message_zh and "缺口 3,000.00 m²" in refused.value.message_zh
    ledger.transfer("370812", "370811", "land_compensation_paddy", 2026, 3_000, actor="a", price_wan=30)
    ledger.reserve(parcel, year=2026, project_id="XM-1", actor="a")  # covered by the one transfer
    assert balance(ledger, "XM-1", "land_compensation", bucket="reserved") == 4_000
    assert balance(ledger, "XM-1", "land_compensation_paddy", bucket="reserved") == 3_000


def test_a_city_whose_plans_give_quantity_alone_books_quantity_alone(ledger: Ledger) -> None:
    """A ledger set up as the contract has it (land_new and land_compensation issued) refused every parcel on
    耕地 for 0 kg of grain capacity and 0 m² of 水田 (contract check). Parts of 占补平衡 no plan of the year gave
    any holder are not booked, and the journal says so; once any county is given 水田, every county is asked."""
    two_county_plan(ledger)  # 370811: 50 000 m² of 占补 quantity; no 水田, no grain issued
    tx = ledger.reserve(review(5_000, cultivated=3_000, paddy=1_000), year=2026, project_id="XM-1", actor="a")
    assert balance(ledger, "XM-1", "land_compensation", bucket="reserved") == 3_000
    assert balance(ledger, "XM-1", "land_compensation_paddy", bucket="reserved") == 0
    assert balance(ledger, "XM-1", "land_compensation_grain", bucket="reserved") == 0
    reason = next(j["reason"] for j in ledger.journal() if j["transaction"] == tx)
    assert "2026年计划未下达占补平衡指标（其中水田）、占补平衡指标（粮食产能），不计" in reason
    tracked = [("370812", "land_compensation", 1_000), ("370812", "land_compensation_paddy", 1_000)]
    ledger.issue(2026, tracked, actor="a")  # 水田 given to a county: now tracked
    with pytest.raises(QuotaError, match=r"land_compensation_paddy .*1,000\.00 m² short"):
        ledger.reserve(
            review(5_000, cultivated=3_000, paddy=1_000, rid="R2", pid="P2"), year=2026, project_id="XM-2", actor="a"
        )


def test_a_parcel_reviewed_again_is_not_charged_twice(ledger: Ledger) -> None:
    """济宁 52号 三（一）3 据实核定: the same parcel from a second review while the first stands would hold its land
    twice; released, it is reserved from the new review."""
    two_county_plan(ledger)
    first = ledger.reserve(review(5_000, rid="R1"), year=2026, project_id="XM-1", actor="a")
    with pytest.raises(QuotaError, match=f"reserved for project XM-1 already \\(transaction #{first}, ") as refused:
        ledger.reserve(review(5_000, rid="R2"), year=2026, project_id="XM-1", actor="a")
    assert f"lantu quota reverse {first}" in refused.value.message_en and "只能核算一次" in refused.value.message_zh
    assert balance(ledger, "XM-1", bucket="reserved") == 5_000
    ledger.reverse(first, actor="a", reason="重新审查")
    ledger.reserve(review(5_000, rid="R2"), year=2026, project_id="XM-1", actor="a")
    assert balance(ledger, "XM-1", bucket="reserved") == 5_000 and balance(ledger, "370811") == 65_000


def test_the_same_land_is_not_charged_to_a_second_project(ledger: Ledger) -> None:
    """The parcel of review R1 reserved for XM-1, then the same parcel (id, county, 新增) from review R2 for XM-2:
    refused; another parcel that shares the id but not the land is reserved."""
    two_county_plan(ledger)
    first = ledger.reserve(review(5_000, rid="R1", pid="D06"), year=2026, project_id="XM-1", actor="a")
    with pytest.raises(QuotaError, match=f"reserved for project XM-1 already \\(transaction #{first}, "):
        ledger.reserve(review(5_000, rid="R2", pid="D06"), year=2026, project_id="XM-2", actor="a")
    ledger.reserve(review(3_000, rid="R3", pid="D06"), year=2026, project_id="XM-2", actor="a")  # another "D06"
    assert balance(ledger, "XM-2", bucket="reserved") == 3_000


def test_a_reversal_that_would_count_land_or_a_plan_twice_is_refused(ledger: Ledger) -> None:
    """Undoing a 撤回 after the project reserved its parcel anew from a second review, or undoing the reversal of a
    plan after the same plan was issued again: each would count twice."""
    two_county_plan(ledger)
    ledger.reserve(review(5_000, rid="R1"), year=2026, project_id="XM-1", actor="a")
    revoked = ledger.revoke("XM-1", actor="a")
    again = ledger.reserve(review(5_000, rid="R2"), year=2026, project_id="XM-1", actor="a")
    with pytest.raises(QuotaError, match=f"beside reservation #{again} made since") as refused:
        ledger.reverse(revoked, actor="a", reason="误撤回")
    assert "同一用地将被重复核算" in refused.value.message_zh
    assert balance(ledger, "XM-1", bucket="reserved") == 5_000
    plan = [("370812", "land_new", 10_000)]
    issued = ledger.issue(2026, plan, actor="a")
    undo = ledger.reverse(issued, actor="a", reason="误下达")
    reissued = ledger.issue(2026, plan, actor="a")  # the first is undone: no repeat
    with pytest.raises(QuotaError, match=f"put issue #{issued} back in force beside the identical issue #{reissued}"):
        ledger.reverse(undo, actor="a", reason="误冲销")
    assert balance(ledger, "370812") == 77_000


def test_a_review_whose_figures_no_review_writes_is_refused(ledger: Ledger) -> None:
    """Negative areas, or more 水田 than 耕地 (水田 is cultivated land): named plainly, not as Python's reprs."""
    two_county_plan(ledger)
    with pytest.raises(QuotaError, match=r"negative land figures in the review \(新增建设用地计划指标 -5,000\.00 m²"):
        ledger.reserve(review(-5_000), year=2026, project_id="XM-1", actor="a")
    with pytest.raises(
        QuotaError, match=r"2,000\.00 m² of paddy \(水田\) in 1,000\.00 m² of cultivated land"
    ) as refused:
        ledger.reserve(review(5_000, cultivated=1_000, paddy=2_000), year=2026, project_id="XM-1", actor="a")
    assert "水田 2,000.00 m² 多于耕地 1,000.00 m²" in refused.value.message_zh


def test_a_review_of_another_project_type_is_refused(ledger: Ledger) -> None:
    """A parcel reviewed as a road is not reserved for a factory (enter() makes industrial projects): reviewed as
    industrial it may be rejected; reviewed without a type (the strictest) it stands."""
    two_county_plan(ledger)
    road = review(5_000)
    road = road.model_copy(update={"parcels": [road.parcels[0].model_copy(update={"project_type": "transport"})]})
    with pytest.raises(QuotaError, match="reviewed as a transport project; project XM-1 is industrial") as refused:
        ledger.reserve(road, year=2026, project_id="XM-1", actor="a")
    assert "按交通项目审查" in refused.value.message_zh and "工业" in refused.value.message_zh
    ledger.reserve(review(5_000), year=2026, project_id="XM-1", actor="a")  # untyped: graded as general construction


def test_the_payer_is_the_parcels_county_or_the_city_pool(ledger: Ledger) -> None:
    two_county_plan(ledger)
    before = journal_size(ledger)
    for source in ("external:province", "project:XM-9", "370812"):
        with pytest.raises(QuotaError, match="paid by that county or the city pool"):
            ledger.reserve(review(1_000), year=2026, project_id="XM-1", source=source, actor="a")
    assert journal_size(ledger) == before and ledger.totals()["land_new"] == Decimal(200_000)


@pytest.mark.parametrize("new_m2", [1_000.0, 0.0])
def test_out_of_coverage_and_countyless_parcels_are_refused(ledger: Ledger, new_m2: float) -> None:
    two_county_plan(ledger)
    before = journal_size(ledger)
    with pytest.raises(QuotaError, match="outside the blueprint's coverage") as refused:
        ledger.reserve(review(new_m2, verdict="out_of_coverage"), year=2026, project_id="X", actor="a")
    assert "超出蓝图覆盖范围" in refused.value.message_zh
    with pytest.raises(QuotaError, match="lies in no county"):  # naming a county does not help
        ledger.reserve(review(new_m2, county=None), year=2026, project_id="X", county="370811", actor="a")
    with pytest.raises(QuotaError, match="lies in no county"):
        ledger.reserve(review(new_m2, county=""), year=2026, project_id="X", actor="a")
    assert journal_size(ledger) == before and ledger.projects() == []


def test_a_released_reservation_is_not_answered_as_if_it_held(ledger: Ledger) -> None:
    """Before: reserving again after a revoke returned the old transaction while the project held nothing."""
    two_county_plan(ledger)
    tx = ledger.reserve(review(1_000), year=2026, project_id="XM-1", actor="a")
    revoked = ledger.revoke("XM-1", actor="a")
    with pytest.raises(QuotaError, match="released since") as refused:
        ledger.reserve(review(1_000), year=2026, project_id="XM-1", actor="a")
    assert "重新审查" in refused.value.message_zh
    # for another project too: the parcel was said to be XM-1's still, "one parcel serves one project" (officer)
    with pytest.raises(QuotaError, match=r"reserved for project XM-1 .* and released since") as refused:
        ledger.reserve(review(1_000), year=2026, project_id="XM-3", actor="a")
    assert "曾为项目 XM-1 配置指标" in refused.value.message_zh and "已撤回、收回或冲销" in refused.value.message_zh
    ledger.reverse(revoked, actor="a", reason="误撤销")  # the reservation is in force again: idempotent again
    assert ledger.reserve(review(1_000), year=2026, project_id="XM-1", actor="a") == tx
    other = ledger.reserve(review(2_000, rid="R2"), year=2026, project_id="XM-2", actor="a")
    ledger.reverse(other, actor="a", reason="录入错误")
    with pytest.raises(QuotaError, match="released since"):
        ledger.reserve(review(2_000, rid="R2"), year=2026, project_id="XM-2", actor="a")
    assert balance(ledger, "370811") == 69_000 and balance(ledger, "XM-1", bucket="reserved") == 1_000


# --- 先入库后保障, sources, earmarked 点供, 收回 (issue 12) ------------------------------------------------------


def test_only_library_projects_from_reserve_to_construction_receive_quota(ledger: Ledger) -> None:
    two_county_plan(ledger)
    library = ProjectLibrary(ledger.engine)
    enter(ledger, "EARLY", stage="谋划")
    before = journal_size(ledger)
    with pytest.raises(QuotaError, match="at stage 谋划") as refused:
        ledger.reserve(review(1_000), year=2026, project_id="EARLY", actor="a")
    assert "先入库后保障" in refused.value.message_zh
    enter(ledger, "THERE", county="370812")
    with pytest.raises(QuotaError, match="belongs to county 370812"):
        ledger.reserve(review(1_000), year=2026, project_id="THERE", actor="a")
    library.set_stage("EARLY", "撤销", actor="a")
    with pytest.raises(QuotaError, match="at stage 撤销"):
        ledger.reserve(review(1_000), year=2026, project_id="EARLY", actor="a")
    enter(ledger, "BUILT", stage="竣工")  # 兰政办发〔2020〕149号 三(五): a finished project takes no quota
    with pytest.raises(QuotaError, match="at stage 竣工") as refused:
        ledger.reserve(review(1_000), year=2026, project_id="BUILT", actor="a")
    assert "竣工项目不再配置" in refused.value.message_zh
    assert journal_size(ledger) == before
    enter(ledger, "READY", stage="谋划")
    library.set_stage("READY", "储备", actor="发改委")
    ledger.reserve(review(1_000), year=2026, project_id="READY", actor="a")
    assert [(r.review_id, r.parcel_id) for r in library.reviews("READY")] == [("R1", "P1")]  # linked by the ledger
    assert ledger.projects()[-1]["level"] == "市重点"  # the library's level


def test_a_project_is_withdrawn_only_once_its_quota_is_back(ledger: Ledger) -> None:
    """撤销 (聊城 办法第二十条 "不再实施的项目,要素指标依法收回"): refused while the project holds reserved or
    approved quota, naming it, the stage unchanged; once 撤回 or 收回, the project is 撤销 and a reversal of that
    撤回/收回 may not hand the quota back to it."""
    two_county_plan(ledger)
    library = ProjectLibrary(ledger.engine)
    ledger.reserve(review(1_000), year=2026, project_id="XM-1", actor="a")  # enters XM-1 at 储备
    with pytest.raises(QuotaError, match=r"still holds quota \(land_new reserved 2026 1000\.\d* m²\)") as refused:
        library.set_stage("XM-1", "撤销", actor="a", reason="不再实施")
    assert "新增建设用地计划指标已配置 2026 1000" in refused.value.message_zh and "撤回" in refused.value.message_zh
    assert library.get("XM-1").stage == "储备"
    ledger.confirm("XM-1", actor="a")
    with pytest.raises(QuotaError, match="land_new approved 2026 1000"):
        library.set_stage("XM-1", "撤销", actor="a", reason="不再实施")
    lapsed = ledger.lapse("XM-1", actor="a", reason="不再实施")
    assert balance(ledger, "370811") == 70_000
    library.set_stage("XM-1", "撤销", actor="a", reason="不再实施")
    before = journal_size(ledger)
    with pytest.raises(QuotaError, match=f"#{lapsed} would give quota back to project XM-1, which is 撤销"):
        ledger.reverse(lapsed, actor="a", reason="误收回")
    assert journal_size(ledger) == before and balance(ledger, "XM-1", bucket="approved") == 0
    # nor by reversing the reversal of a reservation: XM-2's reservation undone, XM-2 撤销, the undoing undone
    reserved = ledger.reserve(review(500, rid="R2"), year=2026, project_id="XM-2", actor="a")
    undone = ledger.reverse(reserved, actor="a", reason="误配置")
    library.set_stage("XM-2", "撤销", actor="a", reason="不再实施")
    with pytest.raises(QuotaError, match=f"#{undone} would give quota back to project XM-2, which is 撤销"):
        ledger.reverse(undone, actor="a", reason="误冲销")
    assert balance(ledger, "XM-2", bucket="reserved") == 0


def test_the_city_pool_serves_key_projects_with_a_gap_only(ledger: Ledger) -> None:
    """聊城 措施 第2条 (重点 projects) and 办法 第十七条 ("用于存在用地缺口的重点项目建设"): the pool pays what the
    county cannot, and nothing where it can."""
    two_county_plan(ledger)  # 370811: 70 000
    enter(ledger, "COUNTY-LEVEL", level="县重点")
    enter(ledger, "ORDINARY", level="一般")
    enter(ledger, "NATIONAL", level="国家重大")
    for pid in ("COUNTY-LEVEL", "ORDINARY"):
        with pytest.raises(QuotaError, match="serves 重点 projects only") as refused:
            ledger.reserve(review(1_000, rid=pid), year=2026, project_id=pid, source=CITY, actor="a")
        assert "重点项目" in refused.value.message_zh
    with pytest.raises(QuotaError, match=r"enough for the 1,000\.00 m²") as refused:
        ledger.reserve(review(1_000, rid="N"), year=2026, project_id="NATIONAL", source=CITY, actor="a")
    assert "不存在用地缺口" in refused.value.message_zh and "第十七条" in refused.value.message_zh
    ledger.reserve(review(69_500, rid="C"), year=2026, project_id="COUNTY-LEVEL", actor="a")  # its county pays
    ledger.reserve(review(1_000, rid="N"), year=2026, project_id="NATIONAL", source=CITY, actor="a")
    assert balance(ledger, CITY) == 59_500 and balance(ledger, "370811") == 0  # 500 from each


def missing_layer_review(rid: str = "M") -> ReviewResult:
    item = ItemResult(
        code="geohazard",
        name_zh="地质灾害",
        name_en="geohazard",
        status="missing_layer",
        overlap_m2=0.0,
        overlap_ratio=0.0,
        message_zh="缺少图层",
        message_en="layer missing",
    )
    r = review(1_000, rid=rid)
    return r.model_copy(update={"parcels": [r.parcels[0].model_copy(update={"items": [item]})]})


def test_missing_layers_need_an_explicit_acceptance_in_the_journal(ledger: Ledger) -> None:
    two_county_plan(ledger)
    before = journal_size(ledger)
    with pytest.raises(QuotaError, match="not checked for geohazard") as refused:
        ledger.reserve(missing_layer_review(), year=2026, project_id="XM-1", actor="a")
    assert "--accept-missing" in refused.value.message_zh
    assert journal_size(ledger) == before
    tx = ledger.reserve(missing_layer_review(), year=2026, project_id="XM-1", actor="a", accept_missing_layers=True)
    reason = next(j["reason"] for j in ledger.journal() if j["transaction"] == tx)
    assert "接受缺失图层未审查：geohazard" in reason


def test_earmarked_point_supply_pays_its_project_first_and_comes_back_to_it(ledger: Ledger, engine: Engine) -> None:
    two_county_plan(ledger)  # 370811: 70 000 land_new
    ledger.point_supply("370811", "land_new", 2026, 600, actor="省厅", project_id="XM-1")
    with pytest.raises(QuotaError, match="is in county 370811, not 370812"):
        ledger.point_supply("370812", "land_new", 2026, 600, actor="省厅", project_id="XM-1")
    with pytest.raises(NotFoundError):
        ledger.point_supply("370811", "land_new", 2026, 600, actor="省厅", project_id="NOPE")
    assert balance(ledger, "370811") == 70_000  # not in the county's general pool
    assert balance(ledger, "XM-1", bucket="earmarked") == 600
    ledger.reserve(review(1_000), year=2026, project_id="XM-1", actor="a")
    assert balance(ledger, "XM-1", bucket="earmarked") == 0 and balance(ledger, "370811") == 69_600
    ledger.reserve(review(300, rid="R2"), year=2026, project_id="XM-2", actor="a")  # another project: not from it
    assert balance(ledger, "370811") == 69_300
    ledger.revoke("XM-1", actor="a")
    assert balance(ledger, "XM-1", bucket="earmarked") == 600 and balance(ledger, "370811") == 69_700
    assert ledger.totals()["land_new"] == Decimal(200_600)
    assert_postings_add_up(engine)


def test_no_point_supply_is_earmarked_to_a_finished_or_withdrawn_project(ledger: Ledger) -> None:
    """兰州 兰政办发〔2020〕149号 三、(五): a 竣工 project takes no quota; 聊城 办法第二十条: a 撤销 one gives it
    back. An earmark to either was booked, the library checked only that the project was in it; refused now, nothing
    written."""
    enter(ledger, "DONE", stage="建设")
    ProjectLibrary(ledger.engine).set_stage("DONE", "竣工", actor="t")
    ProjectLibrary(ledger.engine).set_stage("XM-2", "撤销", actor="t")
    before = journal_size(ledger)
    for project, stage in (("DONE", "竣工"), ("XM-2", "撤销")):
        with pytest.raises(QuotaError) as refused:
            ledger.point_supply("370811", "land_new", 2026, 600, actor="省厅", project_id=project)
        assert refused.value.message_en == (
            f"project {project} is {stage}: a finished or withdrawn project takes no quota (兰政办发〔2020〕149号 "
            "三(五); 聊城 重点项目推进全周期服务办法 第二十条), so no 点供 is earmarked to it"
        )
        assert refused.value.message_zh == (
            f"项目 {project} 已{stage}，竣工或撤销的项目不再配置指标（兰政办发〔2020〕149号 三(五)；"
            "聊城《重点项目推进全周期服务办法》第二十条），不能将点供指标专用于该项目"
        )
    assert journal_size(ledger) == before
    ledger.point_supply("370811", "land_new", 2026, 600, actor="省厅", project_id="XM-1")  # 储备: earmarked
    assert balance(ledger, "XM-1", bucket="earmarked") == 600


def test_a_finished_project_gets_no_earmark_back_by_a_reversal(ledger: Ledger) -> None:
    """Nor by reversing the reversal of its 点供 once it is 竣工 (a read of the helper's fix): refused, nothing
    written."""
    enter(ledger, "DONE", stage="建设")
    supplied = ledger.point_supply("370811", "land_new", 2026, 600, actor="省厅", project_id="DONE")
    undone = ledger.reverse(supplied, actor="a", reason="录入错误")
    ProjectLibrary(ledger.engine).set_stage("DONE", "竣工", actor="t")
    before = journal_size(ledger)
    with pytest.raises(QuotaError, match="would earmark 点供 to project DONE again") as refused:
        ledger.reverse(undone, actor="a", reason="恢复")
    assert "不再配置指标" in refused.value.message_zh
    assert journal_size(ledger) == before and balance(ledger, "DONE", bucket="earmarked") == 0


# --- pooling per factor, 削减量, 占补平衡 in three dimensions, the 台账 report (issue 12) ------------------------


def test_a_reduction_advance_serves_a_project_at_the_levels_the_city_names(ledger: Ledger, tmp_path: Path) -> None:
    """济宁 济政办字〔2020〕52号 三、(三)3 advances a reduction "对省级、市级重点保障项目所需的污染物总量指标"; 兰州
    兰政办发〔2020〕149号 四、(六)2 for "市级项目". It was booked per county for no project: it needs a project of the
    library, of the county, from 储备 to 建设, at a level of the city's rule (ledger.yaml ``reduction_advance``; the
    sample is 济宁's), and the journal names it; anything else is refused, nothing written."""
    enter(ledger, "ORD", level="一般")
    enter(ledger, "CNTY", level="县重点")
    enter(ledger, "PROV", level="省重点")
    enter(ledger, "NAT", level="国家重大")
    enter(ledger, "PLAN", stage="谋划")
    enter(ledger, "THERE", county="370812")

    def advance(project: str, on: Ledger = ledger) -> int:
        return on.advance_reduction(
            "370811", "cod", 2026, 5, project_id=project, source="关停替代", deadline=date(2100, 1, 1), actor="a"
        )

    before = journal_size(ledger)
    with pytest.raises(QuotaError) as refused:
        advance("CNTY")
    assert refused.value.message_en == (
        "project CNTY is 县重点: a pollutant reduction is advanced (削减量预支) only for projects of level 国家重大, "
        '省重点, 市重点 (济宁 济政办字〔2020〕52号 三、(三)3 "对省级、市级重点保障项目所需的污染物总量指标…预支"); '
        "its 总量 is reserved from the county's quota (lantu quota reserve-factors)"
    )
    assert refused.value.message_zh == (
        "项目 CNTY 为县重点项目，污染物削减量预支仅限国家重大、省重点、市重点项目（济宁 济政办字〔2020〕52号 三、(三)3 "
        '"对省级、市级重点保障项目所需的污染物总量指标…预支"），其污染物总量指标请从区县指标中配置'
        "（lantu quota reserve-factors）"
    )
    with pytest.raises(QuotaError, match="project ORD is 一般"):
        advance("ORD")
    with pytest.raises(QuotaError, match="project THERE is in county 370812, not 370811"):
        advance("THERE")
    with pytest.raises(QuotaError, match="project PLAN is at stage 谋划"):
        advance("PLAN")
    with pytest.raises(NotFoundError):
        advance("NOPE")
    assert journal_size(ledger) == before
    booked = [advance(p) for p in ("XM-1", "PROV", "NAT")]
    entries = {j["transaction"]: j for j in ledger.journal() if j["kind"] == "reduction_advance" and j["amount"] > 0}
    assert [entries[tx]["project_id"] for tx in booked] == ["XM-1", "PROV", "NAT"]
    assert entries[booked[0]]["reason"] == "预支削减量（来源：关停替代，投产前到位；用于市重点项目 XM-1）"
    assert balance(ledger, "370811", "cod") == 0  # earmarked to each project, whose 总量 it pays first
    assert [balance(ledger, p, "cod", bucket="earmarked") for p in ("XM-1", "PROV", "NAT")] == [5, 5, 5]
    # another city's rule: 兰州's 市级项目, read as 市重点 alone
    lanzhou = ReductionAdvance(basis='兰州 兰政办发〔2020〕149号 四、(六)2 "市级项目"', levels=["市重点"])
    other = Ledger(ledger.engine, rules=ledger.rules.model_copy(update={"reduction_advance": lanzhou}))
    with pytest.raises(QuotaError, match=r"only for projects of level 市重点 \(兰州 兰政办发〔2020〕149号 四、\(六\)2"):
        advance("PROV", other)
    advance("XM-1", other)
    # the shipped rules hold 济宁's sample; a level that is none is refused when the rules are read
    shipped = load_ledger_rules(Path(__file__).parents[1] / "layers" / "profiles" / "ledger.yaml")
    assert shipped.reduction_advance.levels == ["国家重大", "省重点", "市重点"]
    wrong = tmp_path / "ledger.yaml"
    wrong.write_text("reduction_advance:\n  levels: [市级]\n", encoding="utf-8")
    with pytest.raises(ProfileError, match=r"reduction_advance.levels \['市级'\] are not project levels"):
        load_ledger_rules(wrong)


def test_the_city_pools_each_configured_factor(ledger: Ledger) -> None:
    ledger.issue(2026, [("370811", "cod", 100), ("370811", "energy", 300), ("370811", "land_new", 1_000)], actor="a")
    assert balance(ledger, "370811", "cod") == 70 and balance(ledger, CITY, "cod") == 30  # 聊城 第十八条
    assert balance(ledger, "370811", "energy") == 300 and balance(ledger, CITY, "energy") == 0  # not configured
    rules = ledger.rules.model_copy(update={"pooling": {"land_new": 0.2, "energy": 0.1}})
    other = Ledger(ledger.engine, rules=rules)
    other.issue(2027, [("370811", "energy", 300), ("370811", "cod", 100), ("370811", "land_new", 1_000)], actor="a")
    assert balance(ledger, CITY, "energy", year=2027) == 30 and balance(ledger, CITY, "cod", year=2027) == 0
    assert balance(ledger, CITY, year=2027) == 200
    assert Ledger(ledger.engine, pooling_share=0.5, rules=rules).rules.pooled("land_new") == 0.5  # the setting wins
    issued = [j for j in ledger.journal() if j["kind"] == "issue" and j["factor"] == "cod" and j["year"] == 2026]
    assert sorted((j["holder"], j["amount"]) for j in issued) == [  # the county received all, then gave 30 %
        ("370811", -30.0),
        ("370811", 100.0),
        ("city", 30.0),
        ("external:province", -100.0),
    ]


def test_pollutant_reductions_split_and_advances_fall_due(ledger: Ledger, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("geo.quota.accounts.beijing_today", lambda: date(2026, 1, 1))  # recorded on 1 January 2026
    ledger.reduction("370811", "so2", 2026, 10, source="关停某电厂 2 号机组", actor="生态环境局")
    assert balance(ledger, "370811", "so2") == 7 and balance(ledger, CITY, "so2") == 3  # 70 % county, 30 % city
    with pytest.raises(QuotaError, match="not a pollutant"):
        ledger.reduction("370811", "land_new", 2026, 10, source="x", actor="a")
    adv = ledger.advance_reduction(
        "370811", "cod", 2026, 5, project_id="XM-1", source="污水处理厂提标改造", deadline=date(2026, 9, 30), actor="a"
    )
    # earmarked to XM-1, the 市重点 project it was advanced for: a 一般 project's 总量 took it from the county (officer)
    assert balance(ledger, "XM-1", "cod", bucket="earmarked") == 5 and balance(ledger, "370811", "cod") == 0
    enter(ledger, "XM-H", level="一般")
    with pytest.raises(QuotaError, match=r"370811 has 0\.00 吨 of cod"):
        ledger.reserve_factors("XM-H", 2026, {"cod": 1}, actor="a")
    ledger.reserve_factors("XM-1", 2026, {"cod": 2}, actor="a")  # ×2 倍量替代: 4 t of its 5
    assert (
        balance(ledger, "XM-1", "cod", bucket="reserved") == 4
        and balance(ledger, "XM-1", "cod", bucket="earmarked") == 1
    )
    assert ledger.overdue_loans(date(2026, 9, 30)) == []
    late = ledger.overdue_loans(date(2026, 10, 10))
    assert [(o["loan"], o["kind"], o["days_overdue"]) for o in late] == [(adv, "reduction_advance", 10)]
    with pytest.raises(QuotaError, match="smaller than the advance"):
        ledger.reduction("370811", "cod", 2026, 4, source="提标改造完成", settles=adv, actor="a")
    ledger.reduction("370811", "cod", 2026, 15, source="提标改造完成", settles=adv, actor="a")
    assert balance(ledger, "370811", "cod") == 7 and balance(ledger, CITY, "cod") == 3  # 10 new, 30/70
    assert ledger.overdue_loans(date(2026, 10, 10)) == []
    with pytest.raises(QuotaError, match="settled or reversed"):
        ledger.reduction("370811", "cod", 2026, 15, source="again", settles=adv, actor="a")
    with pytest.raises(NotFoundError):
        ledger.reduction("370811", "cod", 2026, 15, source="x", settles=9_999, actor="a")


def test_paddy_quota_covers_dry_land_but_not_the_reverse(ledger: Ledger) -> None:
    """水田 quota is part of the quantity: what dry land takes beyond the non-paddy quota comes out of 水田."""
    ledger.issue(
        2026,
        [
            ("370811", "land_new", 100_000),
            ("370811", "land_compensation", 10_000),  # of which
            ("370811", "land_compensation_paddy", 6_000),  # 6 000 水田, 4 000 other
            ("370811", "land_compensation_grain", 100_000),
        ],
        actor="a",
    )
    ledger.reserve(review(5_000, cultivated=5_000, rid="DRY"), year=2026, project_id="XM-1", actor="a")
    # 5 000 of dry land: 4 000 from the non-paddy quota, 1 000 from the 水田 quota
    assert balance(ledger, "370811", "land_compensation") == 5_000
    assert balance(ledger, "370811", "land_compensation_paddy") == 5_000
    ledger.issue(
        2026,
        [
            ("370812", "land_new", 10_000),
            ("370812", "land_compensation", 10_000),
            ("370812", "land_compensation_paddy", 1_000),
            ("370812", "land_compensation_grain", 10_000),
        ],
        actor="a",
    )
    enter(ledger, "WET", county="370812")
    wet = review(2_000, cultivated=2_000, paddy=2_000, rid="WET", county="370812")
    with pytest.raises(QuotaError, match=r"land_compensation_paddy 1,000\.00 of 2,000\.00 m²"):  # 占水田 needs 补水田
        ledger.reserve(wet, year=2026, project_id="WET", actor="a")
    ledger.revoke("XM-1", actor="a")
    assert balance(ledger, "370811", "land_compensation_paddy") == 6_000  # back where it came from


def test_the_ledger_report_adds_up_per_county_and_factor(ledger: Ledger) -> None:
    from geo.quota.report import ledger_report

    two_county_plan(ledger)
    ledger.issue(2026, [("370811", "land_compensation_grain", 60_000)], actor="a")
    ledger.point_supply("370812", "land_new", 2026, 1_000, actor="省厅")
    ledger.reserve(review(2_000, cultivated=1_000), year=2026, project_id="XM-1", actor="a")
    ledger.reserve(review(3_000, rid="R2"), year=2026, project_id="XM-2", actor="a")
    ledger.confirm("XM-2", actor="a")
    ledger.revoke("XM-1", actor="a")
    ledger.transfer("370811", "370812", "land_compensation", 2026, 500, price_wan=20, actor="a")
    rows = {(r["county"], r["factor"]): r for r in ledger_report(ledger.engine, 2026)}
    ren = rows[("370811", "land_new")]
    assert ren["county_name"] == "任城区" and ren["factor_name"] == "新增建设用地计划指标" and ren["unit"] == "m²"
    assert (ren["issued"], ren["pooled"], ren["reserved"], ren["released"], ren["transferred"]) == (
        100_000,
        -30_000,
        -5_000,
        2_000,
        0,
    )
    assert ren["balance"] == 67_000 == balance(ledger, "370811")
    assert ren["balance_mu"] == pytest.approx(100.5) and ren["balance_ha"] == pytest.approx(6.7)
    assert ren["projects_approved"] == 3_000 and ren["projects_reserved"] == 0
    yan = rows[("370812", "land_new")]
    assert (yan["point_supply"], yan["transferred"], yan["balance"]) == (1_000, 0, 71_000)
    # 占补平衡 quantity: XM-1's 1 000 m² of cultivated land reserved and released, 500 m² sold to 370812
    comp = rows[("370811", "land_compensation")]
    assert comp["factor_name"] == "占补平衡指标（数量，含水田）" and comp["unit"] == "m²"
    assert (comp["issued"], comp["pooled"], comp["reserved"], comp["released"], comp["transferred"]) == (
        50_000,
        0,
        -1_000,
        1_000,
        -500,
    )
    assert comp["balance"] == 49_500 == balance(ledger, "370811", "land_compensation")
    assert comp["balance_mu"] == pytest.approx(74.25) and comp["balance_ha"] == pytest.approx(4.95)
    bought = rows[("370812", "land_compensation")]
    assert (bought["issued"], bought["transferred"], bought["balance"]) == (0, 500, 500)
    city = rows[("city", "land_new")]
    assert city["county_name"] == "市级统筹" and city["pooled"] == 60_000 and city["balance"] == 60_000
    assert rows[("370811", "land_compensation_grain")]["balance_mu"] is None  # kg: no area columns
    for r in rows.values():
        assert r["balance"] == pytest.approx(
            sum(
                r[k]
                for k in (
                    "issued",
                    "pooled",
                    "point_supply",
                    "reward",
                    "reduction",
                    "advanced",
                    "reserved",
                    "released",
                    "transferred",
                    "reversed",
                )
            )
        )


def test_energy_and_pollutants_are_reserved_with_replacement_ratios(ledger: Ledger) -> None:
    """倍量替代: 1 t of new COD needs 2 t of 总量; energy one for one; a project declared of a kind 平顶山 exempts
    (公路…) pays no 总量, and a transport project that declares none (an airport) pays it."""
    ledger.issue(2026, [("370811", "cod", 100), ("370811", "energy", 1_000)], actor="a")  # county: 70 t COD
    tx = ledger.reserve_factors("XM-1", 2026, {"cod": 10, "energy": 300}, actor="生态环境局").transaction
    assert balance(ledger, "XM-1", "cod", bucket="reserved") == 20 and balance(ledger, "370811", "cod") == 50
    assert balance(ledger, "XM-1", "energy", bucket="reserved") == 300
    assert "倍量替代 cod×2、energy×1" in next(j["reason"] for j in ledger.journal() if j["transaction"] == tx)
    ProjectLibrary(ledger.engine).add(
        "HIGHWAY", name="高速公路", project_type="transport", level="省重点", county="370811", actor="a", stage="储备"
    )
    with pytest.raises(QuotaError, match="not tied to the pollutant"):
        ledger.reserve_factors("HIGHWAY", 2026, {"cod": 5}, actor="a", exempt_as="公路")
    with pytest.raises(InputError, match="no kind of project exempt"):  # 平顶山 lists no airports
        ledger.reserve_factors("HIGHWAY", 2026, {"cod": 5}, actor="a", exempt_as="机场")
    with pytest.raises(InputError, match="type industrial, which cannot be a 公路 project") as refused:
        ledger.reserve_factors("XM-1", 2026, {"cod": 5}, actor="a", exempt_as="公路")  # a factory is no road
    assert "项目 XM-1 的类型为工业，不能申报为公路项目（公路项目应为交通、基础设施类型）" in refused.value.message_zh
    highway = ledger.reserve_factors(
        "HIGHWAY", 2026, {"cod": 5, "energy": 100}, actor="a", exempt_as="公路"
    ).transaction
    assert balance(ledger, "HIGHWAY", "cod", bucket="reserved") == 0  # energy only
    assert balance(ledger, "HIGHWAY", "energy", bucket="reserved") == 100
    said = next(j["reason"] for j in ledger.journal() if j["transaction"] == highway)
    assert "申报为公路项目" in said and "污染治理措施" in said
    ProjectLibrary(ledger.engine).add(
        "AIRPORT", name="机场", project_type="transport", level="省重点", county="370811", actor="a", stage="储备"
    )
    ledger.reserve_factors("AIRPORT", 2026, {"cod": 5}, actor="a")  # a transport project declares no kind: charged
    assert balance(ledger, "AIRPORT", "cod", bucket="reserved") == 10
    with pytest.raises(QuotaError, match="reserved from a review"):
        ledger.reserve_factors("XM-1", 2026, {"land_new": 5}, actor="a")
    enter(ledger, "EARLY", stage="谋划")
    with pytest.raises(QuotaError, match="先入库后保障"):
        ledger.reserve_factors("EARLY", 2026, {"cod": 1}, actor="a")
    enter(ledger, "SMALL", level="一般")
    with pytest.raises(QuotaError, match="cannot pay"):
        ledger.reserve_factors("SMALL", 2026, {"cod": 1}, actor="a", source=CITY)
    revoked = ledger.revoke("XM-1", actor="a")  # back to the county that paid (the airport keeps its 10 t)
    assert balance(ledger, "370811", "cod") == 60 and balance(ledger, "370811", "energy") == 900
    en, zh = ledger.release_note(revoked)  # each in its own language's units
    assert "energy (2026, reserved) 300 tce" in en and "cod (2026, reserved) 20 t" in en and "吨" not in en
    assert "能耗指标（2026年，已配置）300 吨标准煤" in zh


def test_quota_is_approved_only_for_projects_from_reserve_to_construction(ledger: Ledger) -> None:
    """批准 of a 竣工 project's reserved quota went through although a finished project takes no quota
    (兰政办发〔2020〕149号 三(五)); the gate of 配置 holds for 批准: 储备, 审批 and 建设, never 竣工 or 撤销."""
    two_county_plan(ledger)
    library = ProjectLibrary(ledger.engine)
    ledger.reserve(review(1_000), year=2026, project_id="XM-1", actor="a")
    library.set_stage("XM-1", "审批", actor="发改委")
    ledger.confirm("XM-1", actor="市政府")  # approved while it is approved: 在批准用地时直接配置计划指标
    assert balance(ledger, "XM-1", bucket="approved") == 1_000
    ledger.reserve(review(500, rid="R2"), year=2026, project_id="XM-2", actor="a")
    for stage in ("审批", "建设", "竣工"):
        library.set_stage("XM-2", stage, actor="发改委")
    before = journal_size(ledger)
    with pytest.raises(QuotaError, match="at stage 竣工: quota is approved") as refused:
        ledger.confirm("XM-2", actor="市政府")
    assert "竣工或撤销的项目不再配置指标" in refused.value.message_zh and "收回" in refused.value.message_zh
    assert journal_size(ledger) == before and balance(ledger, "XM-2", bucket="reserved") == 500
    ledger.lapse("XM-2", actor="市自然资源局", reason="项目已竣工，未用指标收回")  # what it holds goes back
    assert balance(ledger, "XM-2", bucket="reserved") == 0
    ledger.reserve(review(200, rid="R3"), year=2026, project_id="XM-3", actor="a")
    ledger.revoke("XM-3", actor="a")
    library.set_stage("XM-3", "撤销", actor="a", reason="不再实施")
    with pytest.raises(QuotaError, match="at stage 撤销"):
        ledger.confirm("XM-3", actor="市政府")


# --- one project id however it is typed: ＸＭ－１ (a Chinese input method) is the library's XM-1 ---------------


def test_a_full_width_project_id_moves_the_same_project(ledger: Ledger) -> None:
    """XM-1 is in the library, the project system names it ＸＭ-1: every movement reaches the one project, whose
    accounts, journal lines and ledger record are XM-1's; the reviewed parcel is linked to it, once."""
    ledger.issue(2026, [("370811", "land_new", 100_000), ("370811", "energy", 1_000)], actor="a")
    tx = ledger.reserve(review(20_000), year=2026, project_id="ＸＭ-1", actor="项目系统")
    assert balance(ledger, "XM-1", bucket="reserved") == 20_000
    # the same parcel for XM-1: the same reservation, not "reserved for another project"
    assert ledger.reserve(review(20_000), year=2026, project_id="XM-1", actor="规划") == tx
    assert [(r.review_id, r.parcel_id) for r in ProjectLibrary(ledger.engine).reviews("XM-1")] == [("R1", "P1")]
    factors = ledger.reserve_factors("ＸＭ－１", 2026, {"energy": 300}, actor="a", key="req-1").transaction
    assert ledger.reserve_factors("XM-1", 2026, {"energy": 300}, actor="a", key="req-1").transaction == factors
    assert balance(ledger, "XM-1", "energy", bucket="reserved") == 300
    ledger.confirm("ＸＭ-1", actor="市政府")
    assert balance(ledger, "XM-1", bucket="approved") == 20_000
    ledger.lapse("\u3000ＸＭ-1", actor="a", reason="项目未按期开工")
    assert balance(ledger, "XM-1", bucket="approved") == 0 and balance(ledger, "370811") == 70_000
    ledger.point_supply("370811", "land_new", 2026, 500, actor="省厅", project_id="ＸＭ-1")
    assert balance(ledger, "XM-1", bucket="earmarked") == 500
    assert {r["holder"] for r in ledger.balances(2026) if r["holder_kind"] == "project"} == {"XM-1"}
    assert {j["project_id"] for j in ledger.journal() if j["project_id"]} == {"XM-1"}
    assert [p["id"] for p in ledger.projects()] == ["XM-1"]


def test_an_allocation_demand_names_the_project_in_its_normal_form(ledger: Ledger) -> None:
    from geo.quota import Demand, allocate, load_allocation_profile

    ledger.issue(2026, [("370811", "land_new", 100_000)], actor="a")
    demand = Demand(project_id="ＸＭ－２", review=review(8_000))
    assert demand.project_id == "XM-2"
    (done,) = allocate(ledger, [demand], year=2026, actor="市要素保障办")
    assert (done.project_id, done.covered) == ("XM-2", True)
    scored = load_allocation_profile().score  # ranked as the library's 市重点 XM-2, not as a project of no level
    assert done.score == round(scored(demand.model_copy(update={"level": "市重点"})), 4) != round(scored(demand), 4)
    assert balance(ledger, "XM-2", bucket="reserved") == 8_000


@pytest.mark.parametrize(
    ("actor", "match"),
    [("", "not all blank"), ("  ", "not all blank"), (" 省厅", "begin or end with a space"), ("x" * 101, "1 to 100")],
)
def test_the_ledger_checks_the_actor_itself(ledger: Ledger, actor: str, match: str) -> None:
    """The command line, the API and the project library refuse an actor that names no one; the ledger checked only
    for control characters, so its own caller booked a plan by '' (probe's left list). Nothing is booked."""
    with pytest.raises(InputError, match=match):
        ledger.issue(2026, [("370811", "land_new", 100_000)], actor=actor)
    assert ledger.journal() == [] and balance(ledger, "370811") == 0


def test_a_loan_repaid_reads_as_a_repayment_and_a_refused_one_offers_a_top_up(ledger: Ledger) -> None:
    """A repayment refused for what the borrower spent named only the reservation to reverse, where a 点供 since let
    it through; booked as the loan's reversal, the journal read 冲销, an error's correction (an officer's read). The
    journal names each holder and gives an area's 公顷 and 亩."""
    two_county_plan(ledger)
    enter(ledger, "XM-Y", county="370812")
    loan = ledger.transfer(
        "370811", "370812", "land_compensation", 2026, 5_000, due_date=beijing_today() + timedelta(days=30), actor="a"
    )
    ledger.reserve(review(5_000, cultivated=5_000, county="370812"), year=2026, project_id="XM-Y", actor="a")
    with pytest.raises(QuotaError) as refused:
        ledger.repay(loan, actor="a")
    assert refused.value.message_en.startswith(f"repaying loan #{loan} would take 5,000.00 m² of land_compensation")
    assert "bring 370812's balance back up first (a 点供, a transfer in), or reverse or release those" in (
        refused.value.message_en
    )
    assert refused.value.message_zh.startswith(f"归还第 {loan} 号交易") and "请先补足 370812 的余额" in (
        refused.value.message_zh
    )
    ledger.point_supply("370812", "land_compensation", 2026, 5_000, actor="省厅")
    repaid = ledger.repay(loan, actor="a")
    rows = [r for r in for_people(ledger.journal()) if r["transaction"] == repaid]
    assert {(r["kind"], r["kind_zh"], r["repays"]) for r in rows} == {("reversal", "归还（临时拆借）", loan)}
    assert sorted((r["holder_name"], r["amount"], r["amount_mu"], r["amount_ha"]) for r in rows) == [
        ("任城区", 5_000.0, 7.5, 0.5),
        ("兖州区", -5_000.0, -7.5, -0.5),
    ]
    # the loan reversed as an error's correction reads so; its refusal too says 冲销, not 归还
    again = ledger.transfer(
        "370811", "370812", "land_compensation", 2026, 1_000, due_date=beijing_today() + timedelta(days=30), actor="a"
    )
    corrected = ledger.reverse(again, actor="a", reason="录入错误")
    (row, *_) = [r for r in for_people(ledger.journal()) if r["transaction"] == corrected]
    assert (row["kind_zh"], row["repays"]) == ("冲销", None)
    issued = next(r for r in for_people(ledger.journal()) if r["kind"] == "issue")
    assert issued["kind_zh"] == "下达" and issued["repays"] is None and issued["holder_name"] == "省级下达"


def test_a_revoke_says_an_advanced_reduction_unused_as_what_it_is(ledger: Ledger) -> None:
    """Earmarked to its project, a 削减量预支 was said a 点供 by the release note, "part of it was used", when none
    was (a reviewer's read)."""
    ledger.issue(2026, [("370811", "cod", 100)], actor="a")
    advanced = ledger.advance_reduction(
        "370811", "cod", 2026, 10, project_id="XM-1", source="关停替代", deadline=date(2026, 12, 31), actor="a"
    )
    ledger.reserve_factors("XM-1", 2026, {"cod": 2}, actor="a")  # 4 t of the advance, 倍量替代
    revoked = ledger.revoke("XM-1", actor="a")
    en, zh = ledger.release_note(revoked)
    assert "advanced reduction (削减量预支) still unused: cod (2026) 10" in en and f"by #{advanced}" in en
    assert "点供" not in en.split("advanced reduction")[1] and "削减量预支尚未使用" in zh and "专项点供" not in zh
