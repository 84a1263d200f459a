"""A hostile probe of the ledger under concurrency and odd input, on SQLite and PostgreSQL (the ``engine`` fixture
skips PostgreSQL without LANTU_TEST_POSTGRES_URL): a 撤回 racing the movements of its project's quota pays each
payer back what it paid; a refusal is a sentence in both languages, never a database's or Python's own error."""

from __future__ import annotations

import contextlib
import threading

import pytest
from support import at_once
from test_quota import balance, enter, review
from test_quota import ledger as ledger  # the fixture: two counties, the library's projects

import geo.quota.movements as movements
from geo.errors import QuotaError
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
