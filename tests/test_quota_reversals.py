"""Undoing an undoing (冲销的冲销) on SQLite and PostgreSQL: a transaction counts unless a standing reversal undoes
it, and a reversal stands unless itself reversed — so a reversed repayment, settlement or reward leaves the debt
open again, and nothing is ever settled twice."""

from __future__ import annotations

from datetime import date

import pytest
from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, inspect
from test_quota import assert_postings_add_up, balance, review, two_county_plan
from test_quota import ledger as ledger  # the fixture: two counties, the library's projects
from test_quota_stock import ids
from test_quota_stock import stock_blueprint as stock_blueprint  # the fixture: 批而未供 and 闲置 rectangles

from geo.blueprint import Blueprint
from geo.db import MIGRATIONS, migrate
from geo.errors import QuotaError
from geo.io.quota import labelled
from geo.quota.ledger import CITY, Ledger
from geo.quota.standing import standing_reversals
from geo.quota.stock import DISPOSAL_LABELS

LATE = date(2026, 6, 1)  # after every due date below


def overdue(ledger: Ledger) -> list[tuple[int, str]]:
    return [(o["loan"], o["kind"]) for o in ledger.overdue_loans(LATE)]


def test_a_reversal_stands_unless_itself_reversed() -> None:
    """(reversal, reversed) pairs: 3 undoes 1; 4 undoes 3, so 1 stands again; 5 undoes 1 again."""
    assert standing_reversals([(3, 1)]) == {3: 1}
    assert standing_reversals([(3, 1), (4, 3)]) == {4: 3}
    assert standing_reversals([(3, 1), (4, 3), (5, 1)]) == {4: 3, 5: 1}
    assert standing_reversals([(3, 1), (4, 3), (6, 4)]) == {3: 1, 6: 4}  # the undoing of the undoing undone


def test_a_reversed_repayment_leaves_the_loan_outstanding(
    ledger: Ledger, engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("geo.quota.accounts.beijing_today", lambda: date(2026, 1, 1))  # lent on 1 January 2026
    lc = "land_compensation"  # 占补平衡 quantity is lent (临时拆借, 聊城 第十七条), not pooled
    ledger.issue(2026, [("370811", lc, 10_000)], actor="a")
    loan = ledger.transfer("370811", "370812", lc, 2026, 1_000, due_date=date(2026, 1, 31), actor="a")
    repaid = ledger.repay(loan, actor="a")
    assert overdue(ledger) == [] and balance(ledger, "370812", lc) == 0
    undo = ledger.reverse(repaid, actor="a", reason="误操作：未实际归还")
    assert overdue(ledger) == [(loan, "loan")] and balance(ledger, "370812", lc) == 1_000  # owed, and overdue, again
    ledger.repay(loan, actor="a")
    assert overdue(ledger) == [] and balance(ledger, "370812", lc) == 0 and balance(ledger, "370811", lc) == 10_000
    with pytest.raises(QuotaError, match=f"would undo transaction #{loan} twice") as twice:
        ledger.reverse(undo, actor="a", reason="the first repayment back beside the second")
    assert "被冲销两次" in twice.value.message_zh
    with pytest.raises(QuotaError, match="reversed already"):
        ledger.repay(loan, actor="a")
    assert balance(ledger, "370811", lc) == 10_000
    assert_postings_add_up(engine)


def test_a_reversed_settlement_leaves_the_reduction_advance_open(
    ledger: Ledger, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("geo.quota.accounts.beijing_today", lambda: date(2026, 1, 1))  # recorded on 1 January 2026
    advance = ledger.advance_reduction(
        "370811", "cod", 2026, 5, project_id="XM-1", source="污水处理厂提标改造", deadline=date(2026, 3, 1), actor="a"
    )
    settled = ledger.reduction("370811", "cod", 2026, 5, source="提标改造完成", settles=advance, actor="a")
    assert overdue(ledger) == []
    undo = ledger.reverse(settled, actor="a", reason="削减未实际完成")
    assert overdue(ledger) == [(advance, "reduction_advance")]
    ledger.reduction("370811", "cod", 2026, 6, source="关停乙厂", settles=advance, actor="a")
    assert overdue(ledger) == []
    assert balance(ledger, "370811", "cod") == 0.7 and balance(ledger, CITY, "cod") == 0.3  # 1 t new, pooled
    assert balance(ledger, "XM-1", "cod", bucket="earmarked") == 5  # the advance, the project's
    with pytest.raises(QuotaError, match="settled or reversed"):
        ledger.reduction("370811", "cod", 2026, 6, source="again", settles=advance, actor="a")
    with pytest.raises(QuotaError, match=f"settled advance #{advance}, which reduction") as twice:
        ledger.reverse(undo, actor="a", reason="the first settlement back beside the second")
    assert "已由第" in twice.value.message_zh


def test_an_issue_put_back_in_force_counts_again(ledger: Ledger) -> None:
    """The 预支 cap is 30 % of what was issued: an issue whose reversal was reversed is issued."""
    issued = ledger.issue(2026, [("370811", "land_new", 10_000)], actor="a")
    undo = ledger.reverse(issued, actor="a", reason="录入错误")
    with pytest.raises(QuotaError, match=r"at most 0\.00"):
        ledger.advance("370811", "land_new", 2026, 1_000, actor="a")
    ledger.reverse(undo, actor="a", reason="冲销有误")
    ledger.advance("370811", "land_new", 2026, 3_000, actor="a")
    assert balance(ledger, "370811") == 10_000


def test_a_reservation_whose_reversal_was_reversed_stands_again(ledger: Ledger) -> None:
    two_county_plan(ledger)
    reserved = ledger.reserve(review(1_000), year=2026, project_id="XM-1", actor="a")
    undo = ledger.reverse(reserved, actor="a", reason="误配置")
    with pytest.raises(QuotaError, match="released since"):
        ledger.reserve(review(1_000), year=2026, project_id="XM-1", actor="a")
    ledger.reverse(undo, actor="a", reason="冲销有误")
    assert balance(ledger, "XM-1", bucket="reserved") == 1_000
    assert ledger.reserve(review(1_000), year=2026, project_id="XM-1", actor="a") == reserved  # a retry, answered
    assert balance(ledger, "370811") == 69_000


def test_a_reversed_reward_unsettles_its_disposals(ledger: Ledger, stock_blueprint: Blueprint) -> None:
    ledger.import_stock(stock_blueprint, actor="a")
    ledger.dispose(ids(ledger)["I1"], "盘活", 40_000, date(2026, 5, 1), actor="a")  # 闲置: 40 000 m² 等量
    first = ledger.stock_settle("370811", 2026, actor="a")
    undo = ledger.reverse(first["transaction"], actor="a", reason="奖励记错")
    assert [d["settlement"] for d in ledger.stock_disposals()] == [None]
    assert ledger.stock_rates(2026, county="370811")[0]["reward_due_m2"] == 40_000
    again = ledger.stock_settle("370811", 2026, actor="a")
    assert (again["disposals"], again["reward_m2"]) == (1, 40_000)
    assert [d["settlement"] for d in ledger.stock_disposals()] == [again["settlement"]]
    # the reversed settlement keeps the record of what it rewarded
    assert [d["settlements"] for d in ledger.stock_disposals()] == [[first["settlement"], again["settlement"]]]
    (row,) = labelled(ledger.stock_disposals(), DISPOSAL_LABELS, "csv")
    assert row["历次核算号"] == f"{first['settlement']}、{again['settlement']}"
    assert ledger.stock_settle("370811", 2026, actor="a")["disposals"] == 0  # once
    assert balance(ledger, "370811") == 28_000 and ledger.totals()["land_new"] == 40_000
    with pytest.raises(QuotaError, match="were settled again since") as twice:
        ledger.reverse(undo, actor="a", reason="the first reward back beside the second")
    assert "已重新核算" in twice.value.message_zh
    assert ledger.totals()["land_new"] == 40_000


def test_the_settlement_history_is_filled_from_what_was_settled(ledger: Ledger, stock_blueprint: Blueprint) -> None:
    """Migration 0008 fills each settlement's disposals from ``stock_settled``, the latest settlement of each
    disposal: a ledger settled before it keeps what its settlements hold."""
    ledger.import_stock(stock_blueprint, actor="a")
    land = ids(ledger)
    ledger.dispose(land["I1"], "盘活", 40_000, date(2026, 5, 1), actor="a")
    ledger.dispose(land["A1"], "供地", 10_000, date(2026, 6, 1), actor="a")
    settled = ledger.stock_settle("370811", 2026, actor="a")["settlement"]
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    with ledger.engine.begin() as conn:
        config.attributes["connection"] = conn
        command.downgrade(config, "0007_longer_ids")
    assert "stock_settlement_disposals" not in inspect(ledger.engine).get_table_names()
    migrate(ledger.engine)
    assert [d["settlements"] for d in ledger.stock_disposals()] == [[settled], [settled]]


def test_a_reversal_leaving_an_advance_beyond_the_cap_is_refused(ledger: Ledger) -> None:
    """The 预支 cap (30 % of next year's issue, this year's until it is issued) bounds the advances in force by the
    plan in force: a plan reversed under an advance it allowed, or an advance put back beside one made since, is
    refused naming the advances to reverse first (both were booked, leaving 3 000 m² advanced on a plan of 0)."""
    plan = ledger.issue(2026, [("370811", "land_new", 10_000)], actor="省厅")
    advanced = ledger.advance("370811", "land_new", 2026, 3_000, actor="a")  # 30 % of 2026's 10 000: 2027 unissued
    with pytest.raises(QuotaError) as refused:
        ledger.reverse(plan, actor="a", reason="计划录入错误")
    assert refused.value.message_en == (
        f"reversing transaction #{plan} (issue) would leave 3,000.00 m² advanced on 2027's land_new, 3,000.00 m² "
        "beyond the cap: 370811 may advance at most 0.00 m² of 2027's land_new (30%, a sample share the city sets, "
        "of its 2026 issue of 0.00 m²; 2027's is not issued yet, so 2026's is taken); reverse advances first "
        f"(#{advanced}), enough of them to bring what stays within the cap"
    )
    assert refused.value.message_zh == (
        f"冲销第 {plan} 号交易后，370811 已预支 2027 年新增建设用地指标 3,000.00 m²，超出预支上限 3,000.00 m²："
        "370811 预支 2027 年新增建设用地指标不得超过 0.00 m²（2026 年下达量 0.00 m² 的 30%，比例为市级样例取值；"
        f"2027 年计划尚未下达，按 2026 年下达量计）；请先冲销预支交易（第 {advanced} 号），使保留的预支不超过上限"
    )
    assert balance(ledger, "370811") == 10_000  # 7 000 kept and 3 000 advanced: nothing moved
    undo = ledger.reverse(advanced, actor="a", reason="预支撤销")
    ledger.reverse(plan, actor="a", reason="计划录入错误")
    ledger.issue(2026, [("370811", "land_new", 10_000)], actor="省厅")
    ledger.advance("370811", "land_new", 2026, 3_000, actor="a")  # the cap taken again
    with pytest.raises(QuotaError, match=r"6,000\.00 m² advanced on 2027's land_new, 3,000\.00 m² beyond"):
        ledger.reverse(undo, actor="a", reason="预支撤销有误")  # the first advance back beside the second
    assert balance(ledger, "370811", year=2027) == -3_000


def test_a_reversal_within_the_cap_is_booked(ledger: Ledger) -> None:
    """Next year's plan reversed under an advance the cap of this year's allows: booked, the advance still owed."""
    ledger.issue(2026, [("370811", "land_new", 10_000)], actor="省厅")
    ledger.advance("370811", "land_new", 2026, 2_000, actor="a")
    wrong = ledger.issue(2027, [("370811", "land_new", 100_000)], actor="省厅")
    ledger.reverse(wrong, actor="a", reason="计划录入错误")
    assert balance(ledger, "370811", year=2027) == -2_000
