"""A quota office's probe of the ledger (用地指标台账), each finding with its exact figures and both languages: a
wrong plan reversed beside an outstanding 预支."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine
from test_quota import assert_postings_add_up, balance
from test_quota import ledger as ledger  # the fixture: two counties, the library's projects

from geo.errors import QuotaError
from geo.quota.ledger import CITY, Ledger

# --- 1. a wrong plan reversed beside an outstanding advance -------------------------------------------------------


def wrong_plan_after_an_advance(ledger: Ledger) -> int:
    """2025's plan of 100 000 m², 10 000 m² of 2026 advanced, then 2026's plan booked with one zero too many: the
    county's 2026 account holds 1 000 000 × 70 % − 10 000 = 690 000 m², the pool 300 000 m². Its transaction."""
    ledger.issue(2025, [("370811", "land_new", 100_000)], actor="省厅")
    ledger.advance("370811", "land_new", 2025, 10_000, actor="a")
    wrong = ledger.issue(2026, [("370811", "land_new", 1_000_000)], actor="省厅")
    assert (balance(ledger, "370811"), balance(ledger, CITY)) == (690_000, 300_000)
    return wrong


def test_a_wrong_plan_is_reversed_back_to_the_advance_still_owed(ledger: Ledger, engine: Engine) -> None:
    """The reversal puts the books back as before the plan: −10 000 m², what the advance still owes (it was
    refused: 690 000 held, 700 000 needed, 指标不足); the right plan then repays the advance."""
    wrong = wrong_plan_after_an_advance(ledger)
    ledger.reverse(wrong, actor="a", reason="计划录入错误（多一个零）")
    assert (balance(ledger, "370811"), balance(ledger, CITY)) == (-10_000, 0)
    (row,) = [b for b in ledger.balances(2026) if b["holder"] == "370811"]
    assert row["advance_outstanding"] == 10_000
    ledger.issue(2026, [("370811", "land_new", 100_000)], actor="省厅")
    assert (balance(ledger, "370811"), balance(ledger, CITY)) == (60_000, 30_000)
    assert_postings_add_up(engine)


def test_a_plan_spent_since_is_not_reversed_and_the_refusal_says_what_was_spent(ledger: Ledger) -> None:
    """200 000 m² of the wrong plan transferred on: reversing it would overdraw beyond the advance, refused naming
    the transfer and the 200 000 m² spent (not 指标不足); reversed once the transfer is undone."""
    wrong = wrong_plan_after_an_advance(ledger)
    sold = ledger.transfer("370811", "370812", "land_new", 2026, 200_000, price_wan=10, actor="a")
    with pytest.raises(QuotaError) as spent:
        ledger.reverse(wrong, actor="a", reason="计划录入错误")
    assert spent.value.message_en == (
        f"reversing transaction #{wrong} (issue) would take 700,000.00 m² of land_new (available, 2026) from 370811, "
        "which holds 490,000.00 m² (10,000.00 m² below zero, an advance still owed, may stay): 200,000.00 m² of what "
        f"#{wrong} gave was spent since (transactions taking from it: #{sold} transfer); reverse or release those first"
    )
    assert spent.value.message_zh == (
        f"冲销第 {wrong} 号交易将从 370811 的新增建设用地计划指标（2026年，可用）扣回 700,000.00 m²，其余额为 "
        "490,000.00 m²（其中预支未还 10,000.00 m² 可保留为负）：该交易所给指标中已有 200,000.00 m² 在此后被使用"
        f"（此后从该账户支出的交易：第 {sold} 号有偿调剂），请先冲销或收回这些交易"
    )
    assert (balance(ledger, "370811"), balance(ledger, "370812")) == (490_000, 200_000)
    ledger.reverse(sold, actor="a", reason="调剂撤销")
    ledger.reverse(wrong, actor="a", reason="计划录入错误")
    assert (balance(ledger, "370811"), balance(ledger, "370812"), balance(ledger, CITY)) == (-10_000, 0, 0)
