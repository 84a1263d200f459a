"""点供结转: a project's earmarked 点供 unused in its year is carried to the next, where the project's reservations
use it first; the 台账 shows it leave one year and enter the next, and a 撤回's note says how it goes back."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine
from test_quota import assert_postings_add_up, balance, enter, review
from test_quota import ledger as ledger  # the fixture: two counties, the library's projects

from geo.errors import QuotaError
from geo.projects import ProjectLibrary
from geo.quota.ledger import Ledger
from geo.quota.report import ledger_report


def report_row(ledger: Ledger, year: int) -> dict[str, float]:
    (row,) = [r for r in ledger_report(ledger.engine, year) if (r["county"], r["factor"]) == ("370811", "land_new")]
    keys = ("point_supply", "carried", "reserved", "released", "earmarked", "balance")
    return {k: row[k] for k in keys}


def test_an_earmark_carried_to_the_next_year_pays_that_years_reservation(ledger: Ledger, engine: Engine) -> None:
    """2026's 点供 of 600 m² for XM-1 paid nothing of its 2027 reservation (the county paid all 1 000 m² and the
    earmark sat in 2026, reachable only by booking against the past year); carried, it pays 600 m² of it."""
    ledger.issue(2027, [("370811", "land_new", 100_000)], actor="省厅")  # 370811: 70 000 m² in 2027
    supplied = ledger.point_supply("370811", "land_new", 2026, 600, actor="省厅", project_id="XM-1")
    carried = ledger.carry_earmark("XM-1", 2026, actor="a")
    assert balance(ledger, "XM-1", bucket="earmarked") == 0
    assert balance(ledger, "XM-1", bucket="earmarked", year=2027) == 600
    with pytest.raises(QuotaError, match="holds no earmarked 点供 of 2026") as twice:
        ledger.carry_earmark("XM-1", 2026, actor="a")
    assert "没有可结转的 2026 年专项点供" in twice.value.message_zh
    ledger.reserve(review(1_000), year=2027, project_id="XM-1", actor="a")
    assert (
        balance(ledger, "XM-1", bucket="earmarked", year=2027) == 0 and balance(ledger, "370811", year=2027) == 69_600
    )
    revoked = ledger.revoke("XM-1", actor="a")
    assert balance(ledger, "XM-1", bucket="earmarked", year=2027) == 600  # back to the earmark it came from
    assert balance(ledger, "370811", year=2027) == 70_000
    note_en, note_zh = ledger.release_note(revoked)
    assert f"carried from 2026 by #{carried} (if the project will not be carried out, reverse the 结转" in note_en
    assert f"由第 {carried} 号结转自 2026 年（项目不再实施的，先冲正结转" in note_zh
    assert report_row(ledger, 2026) == {  # the county's 点供, gone on to 2027
        "point_supply": 600.0,
        "carried": -600.0,
        "reserved": 0.0,
        "released": 0.0,
        "earmarked": 0.0,
        "balance": 0.0,
    }
    assert report_row(ledger, 2027) == {
        "point_supply": 0.0,
        "carried": 600.0,
        "reserved": -1_000.0,
        "released": 1_000.0,
        "earmarked": -600.0,
        "balance": 70_000.0,
    }
    with pytest.raises(QuotaError, match=f"transactions taking from it: #{carried} carry"):
        ledger.reverse(supplied, actor="a", reason="项目不再实施")  # the 结转 first
    ledger.reverse(carried, actor="a", reason="项目不再实施")
    ledger.reverse(supplied, actor="a", reason="项目不再实施")
    assert balance(ledger, "XM-1", bucket="earmarked") == balance(ledger, "XM-1", bucket="earmarked", year=2027) == 0
    assert_postings_add_up(engine)


def test_a_finished_projects_earmark_is_not_carried(ledger: Ledger) -> None:
    """竣工 takes no quota (兰政办发〔2020〕149号 三(五)): its 点供 goes back to the province by the 点供's reversal."""
    enter(ledger, "XM-9", stage="建设")
    # earmarked while it is built: a 点供 to a project entered at 竣工 is refused now (as a finished project's)
    ledger.point_supply("370811", "land_new", 2026, 600, actor="省厅", project_id="XM-9")
    ProjectLibrary(ledger.engine).set_stage("XM-9", "竣工", actor="t")
    with pytest.raises(QuotaError, match="project XM-9 is 竣工: its earmarked 点供 goes back to the province") as done:
        ledger.carry_earmark("XM-9", 2026, actor="a")
    assert "不结转下一年度" in done.value.message_zh
    with pytest.raises(QuotaError, match="past the last plan year 2100"):
        ledger.carry_earmark("XM-1", 2100, actor="a")
