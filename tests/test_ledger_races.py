"""A hostile probe of the ledger under concurrency and odd input, on SQLite and PostgreSQL (the ``engine`` fixture
skips PostgreSQL without LANTU_TEST_POSTGRES_URL): a 撤回 racing the movements of its project's quota pays each
payer back what it paid; a refusal is a sentence in both languages, never a database's or Python's own error."""

from __future__ import annotations

import contextlib
import threading
from decimal import Decimal
from typing import Any

import pytest
from support import at_once
from test_quota import balance, enter, journal_size, review
from test_quota import ledger as ledger  # the fixture: two counties, the library's projects

import geo.quota.movements as movements
from geo.errors import InputError, QuotaError
from geo.quota.ledger import CITY, Ledger

# --- a 撤回 / 收回 / 批准 reads what the project holds with the counties held ----------------------------------------


def test_a_revoke_racing_a_reversal_and_a_reservation_pays_each_payer_back(
    ledger: Ledger, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Key project KEY holds 1 000 m² the pool paid (任城区 had none then) and 1 000 m² 任城区 paid. Between a 撤回's
    read of who paid and its write, the pool's reservation is reversed and 1 000 m² reserved anew from 任城区: on
    PostgreSQL the 撤回 paid the pool 1 000 m² it had not paid and 任城区 1 000 m² short (the pool's 新增, kept for key
    projects, grew out of the county's). Now it reads with the counties held, so the other movements wait for it or
    come after it; once all is given back, each payer holds what it was given."""
    enter(ledger, "KEY")
    ledger.issue(2026, [("370812", "land_new", 10_000)], actor="省厅")  # the pool 3 000, 任城区 nothing
    by_pool = ledger.reserve(review(1_000, rid="R1", pid="D1"), year=2026, project_id="KEY", source=CITY, actor="a")
    ledger.issue(2026, [("370811", "land_new", 10_000)], actor="省厅")  # 任城区 7 000, the pool 6 000
    ledger.reserve(review(1_000, rid="R2", pid="D2"), year=2026, project_id="KEY", actor="a")
    assert (balance(ledger, "370811"), balance(ledger, CITY)) == (6_000, 5_000)

    def meanwhile() -> None:
        with contextlib.suppress(QuotaError):  # after the 撤回: nothing reserved to reverse
            ledger.reverse(by_pool, actor="b", reason="录入错误")
        ledger.reserve(review(1_000, rid="R3", pid="D3"), year=2026, project_id="KEY", actor="b")
        done.set()

    done = threading.Event()
    other = threading.Thread(target=meanwhile)
    read = movements.funding

    def funding_then_others(*args, **kwargs):  # type: ignore[no-untyped-def]
        owed = read(*args, **kwargs)
        if not other.is_alive() and not done.is_set():
            other.start()
            done.wait(timeout=1)  # the others finish here unless the 撤回 holds them off
        return owed

    monkeypatch.setattr(movements, "funding", funding_then_others)
    ledger.revoke("KEY", actor="a")
    other.join()
    monkeypatch.setattr(movements, "funding", read)
    if balance(ledger, "KEY", bucket="reserved"):
        ledger.revoke("KEY", actor="a")
    assert (balance(ledger, "370811"), balance(ledger, CITY), balance(ledger, "KEY", bucket="reserved")) == (
        7_000,
        6_000,
        0,
    )


@pytest.mark.parametrize("round_", range(3))
def test_a_revoke_a_confirm_and_a_lapse_at_once_refuse_in_words_of_the_project(ledger: Ledger, round_: int) -> None:
    """Three officers act on one reservation at the same moment: one of them moves it, the others are told what the
    project holds now (nothing reserved, no quota) — on PostgreSQL they were told 指标不足 of project:XM-1's reserved
    account ("project:XM-1 has 0.00 m² … 5,000.00 needed"), as if their movement had asked for quota."""
    ledger.issue(2026, [("370811", "land_new", 10_000)], actor="省厅")
    ledger.reserve(review(5_000), year=2026, project_id="XM-1", actor="a")
    outcomes = at_once(
        lambda: ledger.revoke("XM-1", actor="x"),
        lambda: ledger.confirm("XM-1", actor="y"),
        lambda: ledger.lapse("XM-1", actor="z", reason="项目不再实施"),
        refused=QuotaError,
    )
    refusals = [o for o in outcomes if isinstance(o, QuotaError)]
    assert len(refusals) in (1, 2)  # a confirm then a lapse may both move it
    for refused in refusals:
        assert "needed" not in refused.message_en and "指标不足" not in refused.message_zh, refused.message_en
        assert "XM-1" in refused.message_zh
    held = balance(ledger, "XM-1", bucket="reserved") + balance(ledger, "XM-1", bucket="approved")
    assert balance(ledger, "370811") + balance(ledger, CITY) + held == 10_000


# --- odd input: each a refusal in both languages, nothing booked -----------------------------------------------------

ODD_YEARS = (0, 1999, 2101, 9999, 2**31, 2**63, "2026", 2026.5, True, None)


@pytest.mark.parametrize("year", ODD_YEARS)
def test_a_year_outside_the_plan_years_is_refused_by_every_movement(ledger: Ledger, year: object) -> None:
    """The API and the CLI take 2000–2100; the library booked year 0, 2101 or 2026.5 on accounts no report reads, and
    a year beyond an Integer column was PostgreSQL's "integer out of range" or SQLite's OverflowError, "2026" a
    KeyError, None an IntegrityError."""
    ledger.issue(2026, [("370811", "land_new", 10_000), ("370811", "energy", 100)], actor="省厅")
    before = journal_size(ledger)
    odd: Any = year
    movements = (
        lambda: ledger.issue(odd, [("370812", "energy", 1)], actor="a"),
        lambda: ledger.point_supply("370811", "land_new", odd, 10, actor="a"),
        lambda: ledger.reserve(review(10, rid="Y"), year=odd, project_id="XM-1", actor="a"),
        lambda: ledger.reserve_factors("XM-1", odd, {"energy": 1}, actor="a"),
        lambda: ledger.advance("370811", "land_new", odd, 1, actor="a"),
        lambda: ledger.transfer("370811", "370812", "energy", odd, 1, price_wan=1, actor="a"),
        lambda: ledger.reduction("370811", "cod", odd, 1, source="治理", actor="a"),
        lambda: ledger.carry_earmark("XM-1", odd, actor="a"),
        lambda: ledger.stock_rates(odd),
        *([] if year is None else [lambda: ledger.balances(odd)]),  # balances(None): every year's
    )
    for movement in movements:
        with pytest.raises(InputError, match=r"is not a year from 2000 to 2100$") as refused:
            movement()
        assert refused.value.message_zh.endswith("须为 2000—2100 年之间的整数年份")
    assert journal_size(ledger) == before


@pytest.mark.parametrize("value", ["abc", "1_5", None, True, b"12", [1], Decimal("sNaN")])
def test_an_amount_that_is_no_number_is_refused_in_words(ledger: Ledger, value: object) -> None:
    """Text, None, a bool, bytes: decimal's own InvalidOperation (a traceback, a 500) — and "1_5" was booked as 15 m²,
    Decimal reading the underscore; a signalling NaN need raised InvalidOperation in reserve_factors. (A price of None
    is a loan's.)"""
    ledger.issue(2026, [("370811", "land_new", 10_000), ("370811", "energy", 100)], actor="省厅")
    before = journal_size(ledger)
    odd: Any = value
    movements = (
        lambda: ledger.issue(2026, [("370812", "land_new", odd)], actor="a"),
        lambda: ledger.reserve_factors("XM-1", 2026, {"energy": odd}, actor="a"),
        lambda: ledger.transfer("370811", "370812", "energy", 2026, odd, price_wan=1, actor="a"),
        *(
            []
            if value is None
            else [lambda: ledger.transfer("370811", "370812", "energy", 2026, 1, price_wan=odd, actor="a")]
        ),
        lambda: ledger.point_supply(CITY, "land_new", 2026, odd, actor="a"),
    )
    for movement in movements:
        with pytest.raises(InputError) as refused:
            movement()
        assert refused.value.message_zh and refused.value.message_zh != refused.value.message_en
    assert journal_size(ledger) == before


@pytest.mark.parametrize("county", [370811, "370811\x00", "\x00"])
def test_a_county_that_is_no_text_is_unknown(ledger: Ledger, county: object) -> None:
    """An int was a TypeError on SQLite (it matched the text code, then could not be sorted beside the others) and
    PostgreSQL's "operator does not exist"; a NUL PostgreSQL's DataError."""
    odd: Any = county
    with pytest.raises(InputError, match=r"^unknown county") as refused:
        ledger.issue(2026, [(odd, "cod", 1)], actor="a")
    assert refused.value.message_zh.startswith("未知区县")
    assert journal_size(ledger) == 0
