"""A project in phases and its earmarked 点供, on SQLite and PostgreSQL: 撤回 gives back a phase only reserved
while an approved phase stays; the 台账 report counts a project's earmarked 点供 in its county's 点供, used or not,
as the balances hold it."""

from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy import Engine
from test_ledger_findings import assert_rows_add_up, report_row
from test_ledger_findings import run as run  # the fixture: `lantu` on a SQLite ledger, ``run.ledger`` beside it
from test_quota import assert_postings_add_up, balance, enter, review
from test_quota import ledger as ledger  # the fixture: two counties, the library's projects

from geo.errors import QuotaError
from geo.quota.ledger import CITY, Ledger
from geo.quota.report import COLUMNS

LAND = ("land_new", "land_compensation", "land_compensation_grain")


def _plan(ledger: Ledger) -> None:
    """任城区 keeps 7 000 m² of 新增 (the pool 3 000), 5 000 m² of 占补 quantity and 3 000 kg of grain capacity."""
    ledger.issue(
        2026,
        [
            ("370811", "land_new", 10_000),
            ("370811", "land_compensation", 5_000),
            ("370811", "land_compensation_grain", 3_000),
        ],
        actor="省厅",
    )


def _two_phases(ledger: Ledger) -> None:
    """XM-1's first phase (P1: 2 000 m², 500 of them 耕地) reserved and approved; then 300 m² of 点供 earmarked to it,
    and its second phase (P2: 1 000 m², 200 耕地) reserved: the earmark pays 300 of its 新增, the county the rest."""
    _plan(ledger)
    ledger.reserve(review(2_000, cultivated=500, rid="R1", pid="P1"), year=2026, project_id="XM-1", actor="a")
    ledger.confirm("XM-1", actor="市政府")
    ledger.point_supply("370811", "land_new", 2026, 300, project_id="XM-1", actor="省厅")
    ledger.reserve(review(1_000, cultivated=200, rid="R2", pid="P2"), year=2026, project_id="XM-1", actor="a")


def held(ledger: Ledger, bucket: str) -> list[float]:
    return [balance(ledger, "XM-1", factor, bucket=bucket) for factor in LAND]


def county(ledger: Ledger) -> list[float]:
    return [balance(ledger, "370811", factor) for factor in LAND]


# --- 撤回 of a phase only reserved, beside an approved one ----------------------------------------------------------


def test_revoke_gives_back_the_reserved_phase_and_keeps_the_approved_one(ledger: Ledger, engine: Engine) -> None:
    """Phase 2 reserved, phase 1 approved: 撤回 gives phase 2 back to who paid it (700 m² of 新增 and its 占补 to the
    county, 300 m² to the earmark) and leaves phase 1 approved; it was refused ("holds approved quota") while only
    ``reverse`` could release phase 2. Phase 1's reservation still stands, phase 2's is released."""
    _two_phases(ledger)
    assert county(ledger) == [7_000 - 2_000 - 700, 5_000 - 500 - 200, 3_000 - 300 - 120]
    assert (held(ledger, "reserved"), held(ledger, "approved")) == ([1_000, 200, 120], [2_000, 500, 300])
    assert balance(ledger, "XM-1", bucket="earmarked") == 0
    tx = ledger.revoke("XM-1", actor="市自然资源局")
    assert county(ledger) == [5_000, 4_500, 2_700]
    assert balance(ledger, "XM-1", bucket="earmarked") == 300
    assert (held(ledger, "reserved"), held(ledger, "approved")) == ([0, 0, 0], [2_000, 500, 300])
    assert balance(ledger, CITY) == 3_000
    assert ledger.projects()[0]["stage"] == "approved"
    (reason,) = {j["reason"] for j in ledger.journal() if j["transaction"] == tx}
    assert reason == (
        "项目撤销，收回指标（仅撤回尚未批准的已配置指标，已批准指标保留：聊城《重点项目推进全周期服务办法》第二十条）"
    )
    assert_postings_add_up(engine)
    note_en, note_zh = ledger.release_note(tx)
    assert note_zh == (
        "撤回项目 XM-1 的指标：新增建设用地计划指标（2026年，已配置）1,000.00 m²（0.1000 公顷，1.50 亩）；"
        "占补平衡指标（数量，含水田）（2026年，已配置）200.00 m²（0.0200 公顷，0.30 亩）；"
        "占补平衡指标（粮食产能）（2026年，已配置）120 kg；"
        "已批准指标保留：新增建设用地计划指标（2026年）2,000.00 m²（0.2000 公顷，3.00 亩）；"
        "占补平衡指标（数量，含水田）（2026年）500.00 m²（0.0500 公顷，0.75 亩）；"
        "占补平衡指标（粮食产能）（2026年）300 kg（收回须经 lapse 并说明理由）；"
        "专项点供尚未使用：新增建设用地计划指标（2026年）300.00 m²（0.0300 公顷，0.45 亩）"
        "（项目不再实施的，冲正第 4 号点供交易退回省级）"
    )
    assert note_en.startswith("revoked from project XM-1: land_new (2026, reserved) 1,000.00 m² (0.1000 ha, 1.50 mu)")
    assert "land_compensation_grain (2026) 300 kg (a lapse with a reason takes it back)" in note_en
    assert note_en.endswith("reversing the 点供 #4 sends it back to the province: `lantu quota reverse`)")
    assert "approved quota kept: land_new (2026) 2,000.00 m² (0.2000 ha, 3.00 mu); land_compensation (2026)" in note_en
    # phase 2 is released: asked again it says so; phase 1 stands: asked again it exists, its parcel is charged once
    with pytest.raises(QuotaError, match="released since"):
        ledger.reserve(review(1_000, cultivated=200, rid="R2", pid="P2"), year=2026, project_id="XM-1", actor="a")
    assert ledger.reserve_parcel(
        review(2_000, cultivated=500, rid="R1", pid="P1"), year=2026, project_id="XM-1", actor="a"
    ).existed
    with pytest.raises(QuotaError, match=r"is reserved for project XM-1 already \(transaction #"):
        ledger.reserve(review(2_000, cultivated=500, rid="R3", pid="P1"), year=2026, project_id="XM-1", actor="a")
    with pytest.raises(QuotaError, match="holds approved quota only") as refused:
        ledger.revoke("XM-1", actor="市自然资源局")  # nothing reserved: approved quota comes back by a lapse
    assert "收回" in refused.value.message_zh
    lapsed = ledger.lapse("XM-1", actor="市自然资源局", reason="不再实施")
    assert county(ledger) == [7_000, 5_000, 3_000] and balance(ledger, "XM-1", bucket="earmarked") == 300
    # the earmark is the province's for this project: the note names the 点供 whose reversal sends it back
    assert ledger.release_note(lapsed)[1].endswith("（项目不再实施的，冲正第 4 号点供交易退回省级）")
    ledger.reverse(4, actor="省厅", reason="项目不再实施，点供退回")
    assert balance(ledger, "XM-1", bucket="earmarked") == 0 and county(ledger) == [7_000, 5_000, 3_000]
    assert "专项点供" not in ledger.release_note(lapsed)[1]  # nothing left to send back
    assert_postings_add_up(engine)


def test_revoke_of_a_phase_pays_each_payer_its_part(ledger: Ledger) -> None:
    """XM-1 (市重点): phase 1 takes 6 000 of the county's 7 000 and is approved; phase 2 needs 1 500, paid by its
    earmark (300), the county (its last 1 000) and the pool (the 200 gap, --source city). 撤回 gives each its own
    back — not phase 1's payer, not in proportion — and phase 1 keeps its 6 000 approved."""
    ledger.issue(2026, [("370811", "land_new", 10_000)], actor="省厅")  # county 7 000, pool 3 000
    ledger.reserve(review(6_000, rid="R1", pid="P1"), year=2026, project_id="XM-1", actor="a")
    ledger.confirm("XM-1", actor="市政府")
    ledger.point_supply("370811", "land_new", 2026, 300, project_id="XM-1", actor="省厅")
    ledger.reserve(review(1_500, rid="R2", pid="P2"), year=2026, project_id="XM-1", source=CITY, actor="a")
    assert (balance(ledger, "370811"), balance(ledger, CITY), balance(ledger, "XM-1", bucket="earmarked")) == (
        0,
        2_800,
        0,
    )
    ledger.revoke("XM-1", actor="a")
    assert (balance(ledger, "370811"), balance(ledger, CITY), balance(ledger, "XM-1", bucket="earmarked")) == (
        1_000,
        3_000,
        300,
    )
    assert (balance(ledger, "XM-1", bucket="reserved"), balance(ledger, "XM-1", bucket="approved")) == (0, 6_000)
    row = report_row(ledger, 2026, "370811")
    assert (row["projects_approved"], row["projects_reserved"], row["earmarked"]) == (6_000, 0, -300)
    assert_rows_add_up(ledger, 2026)


def test_a_confirmation_reversed_after_a_revoke_puts_its_phase_back_as_reserved(ledger: Ledger) -> None:
    """Phase 1 approved, phase 2 reserved and revoked; then phase 1's approval reversed: phase 1 is reserved again
    and stands (the 撤回 found it approved, so did not release it), phase 2 stays released; a second 撤回 now gives
    phase 1 back."""
    _plan(ledger)
    ledger.reserve(review(2_000, rid="R1", pid="P1"), year=2026, project_id="XM-1", actor="a")
    approval = ledger.confirm("XM-1", actor="市政府")
    ledger.reserve(review(1_000, rid="R2", pid="P2"), year=2026, project_id="XM-1", actor="a")
    ledger.revoke("XM-1", actor="a")
    ledger.reverse(approval, actor="a", reason="批准有误")
    assert balance(ledger, "XM-1", bucket="reserved") == 2_000 and balance(ledger, "XM-1", bucket="approved") == 0
    assert ledger.reserve_parcel(review(2_000, rid="R1", pid="P1"), year=2026, project_id="XM-1", actor="a").existed
    with pytest.raises(QuotaError, match="is reserved for project XM-1 already"):
        ledger.reserve(review(2_000, rid="R3", pid="P1"), year=2026, project_id="XM-1", actor="a")
    with pytest.raises(QuotaError, match="released since"):
        ledger.reserve(review(1_000, rid="R2", pid="P2"), year=2026, project_id="XM-1", actor="a")
    ledger.revoke("XM-1", actor="a")
    assert balance(ledger, "370811") == 7_000 and balance(ledger, "XM-1", bucket="reserved") == 0


def test_revoke_on_the_command_line_says_what_it_released_and_what_it_kept(run) -> None:  # type: ignore[no-untyped-def]
    """`lantu quota revoke` of a project with an approved phase: released (it exited 2, "holds approved quota"), and
    it says what went back and what stays approved, in m², 公顷 and 亩."""
    ledger = run.ledger
    enter(ledger, "XM-1")
    _two_phases(ledger)
    said = " ".join(run("quota", "revoke", "XM-1").stderr.split())  # as one line: the console wraps it
    assert said.startswith("已撤回 / revoked：交易 / transaction #")
    assert "撤回项目 XM-1 的指标：新增建设用地计划指标（2026年，已配置）1,000.00 m²（0.1000 公顷，1.50 亩）" in said
    assert "已批准指标保留：" in said and "新增建设用地计划指标（2026年）2,000.00 m²（0.2000 公顷，3.00 亩）" in said
    assert "revoked from project XM-1: land_new (2026, reserved) 1,000.00 m² (0.1000 ha, 1.50 mu)" in said
    assert balance(ledger, "370811") == 5_000 and balance(ledger, "XM-1", bucket="approved") == 2_000
    refused = " ".join(run("quota", "revoke", "XM-1", code=2).stderr.split())
    assert "仅持有已批准指标" in refused and "holds approved quota only" in refused


# --- the 台账 report: a project's earmarked 点供 is its county's -----------------------------------------------


def test_the_report_counts_earmarked_point_supply_in_its_county(ledger: Ledger) -> None:
    """任城区 gets 1 000 m² of 点供 and XM-1 (a 任城区 project) 500 earmarked; XM-2 400 earmarked and never reserved
    (a library project the ledger has not seen). The county's 点供 is 1 900 (it was 1 000: the earmarks were left out
    though the balances show them); what its projects' earmarks paid is in 配置, what they still hold in 专项点供未用,
    so the columns still add up to 余额, the county's available balance."""
    ledger.issue(2026, [("370811", "land_new", 10_000)], actor="省厅")
    ledger.point_supply("370811", "land_new", 2026, 1_000, actor="省厅")
    ledger.point_supply("370811", "land_new", 2026, 500, project_id="XM-1", actor="省厅")
    ledger.point_supply("370811", "land_new", 2026, 400, project_id="XM-2", actor="省厅")
    ledger.point_supply("370812", "land_new", 2026, 200, actor="省厅")

    def figures() -> dict[str, object]:
        row = report_row(ledger, 2026, "370811")
        return {c: row[c] for c in (*COLUMNS, "balance", "projects_reserved", "projects_approved")}

    earmarked = balance(ledger, "XM-1", bucket="earmarked") + balance(ledger, "XM-2", bucket="earmarked")
    assert (balance(ledger, "370811"), earmarked) == (8_000, 900)
    assert figures() == {
        **dict.fromkeys(COLUMNS, 0.0),
        "issued": 10_000.0,
        "pooled": -3_000.0,
        "point_supply": 1_900.0,
        "earmarked": -900.0,
        "balance": 8_000.0,
        "projects_reserved": 0.0,
        "projects_approved": 0.0,
    }
    ledger.reserve(review(800, rid="R1", pid="P1"), year=2026, project_id="XM-1", actor="a")  # 500 earmark + 300
    assert (balance(ledger, "370811"), balance(ledger, "XM-1", bucket="earmarked")) == (7_700, 0)
    assert figures() == {
        **dict.fromkeys(COLUMNS, 0.0),
        "issued": 10_000.0,
        "pooled": -3_000.0,
        "point_supply": 1_900.0,
        "reserved": -800.0,  # all its project holds, as 项目已配置 counts it
        "earmarked": -400.0,  # XM-2's, unused
        "balance": 7_700.0,
        "projects_reserved": 800.0,
        "projects_approved": 0.0,
    }
    ledger.revoke("XM-1", actor="a")  # 500 back to the earmark, 300 to the county
    assert (balance(ledger, "370811"), balance(ledger, "XM-1", bucket="earmarked")) == (8_000, 500)
    row = report_row(ledger, 2026, "370811")
    assert (row["point_supply"], row["reserved"], row["released"], row["earmarked"], row["balance"]) == (
        1_900,
        -800,
        800,
        -900,
        8_000,
    )
    yan = report_row(ledger, 2026, "370812")
    assert (yan["point_supply"], yan["earmarked"], yan["balance"]) == (200, 0, 200)
    assert_rows_add_up(ledger, 2026)
    # every m² that entered is in the report: the rows' balances and the earmarks they set apart (nothing reserved)
    rows = [report_row(ledger, 2026, h) for h in ("370811", "370812", CITY)]
    assert sum(Decimal(str(r["balance"])) - Decimal(str(r["earmarked"])) for r in rows) == ledger.totals()["land_new"]


@pytest.mark.parametrize("undone", ["lapse", "confirm"])
def test_a_reversal_gives_each_payer_back_its_own_part(ledger: Ledger, engine: Engine, undone: str) -> None:
    """Phase 1 (8 000 m²) paid by XM-1's earmark (500), the county (7 000) and the pool (500), approved; phase 2
    (1 000 m²) by the pool alone. A lapse undone (or the approval undone) put the payers' parts back in proportion,
    so the next 撤回 of phase 2 gave the county 777.78 m² and the earmark 55.56 m² of the pool's 1 000 (a probe):
    a reversal restores each payer's parts exactly, and 撤回 gives the pool its 1 000."""
    ledger.issue(2026, [("370811", "land_new", 10_000)], actor="省厅")  # county 7 000, pool 3 000
    ledger.point_supply("370811", "land_new", 2026, 500, project_id="XM-1", actor="省厅")
    ledger.reserve(review(8_000, rid="R1", pid="P1"), year=2026, project_id="XM-1", actor="a", source=CITY)
    confirmed = ledger.confirm("XM-1", actor="市政府")
    if undone == "confirm":  # phase 2 paid by a new earmark and approved; phase 1's approval undone
        ledger.point_supply("370811", "land_new", 2026, 1_000, project_id="XM-1", actor="省厅")
        ledger.reserve(review(1_000, rid="R2", pid="P2"), year=2026, project_id="XM-1", actor="a")
        ledger.confirm("XM-1", actor="市政府")
        ledger.reverse(confirmed, actor="a", reason="第一期批复有误")
        assert balance(ledger, "XM-1", bucket="reserved") == 8_000
        ledger.revoke("XM-1", actor="a")  # phase 1 back to its payers; phase 2 stays approved
        assert (balance(ledger, "370811"), balance(ledger, CITY), balance(ledger, "XM-1", bucket="earmarked")) == (
            7_000,
            3_000,
            500,
        )
        assert balance(ledger, "XM-1", bucket="approved") == 1_000
        assert_postings_add_up(engine)
        return
    ledger.reserve(review(1_000, rid="R2", pid="P2"), year=2026, project_id="XM-1", actor="a", source=CITY)
    assert (balance(ledger, "370811"), balance(ledger, CITY)) == (0, 1_500)
    ledger.reverse(ledger.lapse("XM-1", actor="a", reason="不再实施"), actor="a", reason="误收回")
    ledger.revoke("XM-1", actor="a")
    assert (balance(ledger, "370811"), balance(ledger, CITY), balance(ledger, "XM-1", bucket="earmarked")) == (
        0,
        2_500,
        0,
    )
    assert balance(ledger, "XM-1", bucket="approved") == 8_000
    assert_rows_add_up(ledger, 2026)
    assert_postings_add_up(engine)


def test_the_note_names_a_point_supply_to_reverse_only_where_none_of_it_was_used(ledger: Ledger) -> None:
    """An earmark of 500 m² of which phase 1 used 300: after 撤回 of phase 2 the note named 点供 #N to reverse, and
    its reversal is refused (200 held, 500 needed; a probe). It says the rest cannot go back by a reversal; a
    fully unused earmark of another year is named with its own 点供."""
    ledger.issue(2026, [("370811", "land_new", 10_000)], actor="省厅")
    ledger.point_supply("370811", "land_new", 2026, 500, project_id="XM-1", actor="省厅")
    ledger.reserve(review(300, rid="R1", pid="P1"), year=2026, project_id="XM-1", actor="a")  # all from the earmark
    ledger.confirm("XM-1", actor="市政府")
    ledger.reserve(review(100, rid="R2", pid="P2"), year=2026, project_id="XM-1", actor="a")
    other = ledger.point_supply("370811", "land_new", 2027, 400, project_id="XM-1", actor="省厅")
    en, zh = ledger.release_note(ledger.revoke("XM-1", actor="a"))
    assert (
        "新增建设用地计划指标（2026年）200.00 m²（0.0200 公顷，0.30 亩）（其点供已部分使用，不能以冲正点供交易退回）"
        in zh
    )
    assert f"新增建设用地计划指标（2027年）400.00 m²（0.0400 公顷，0.60 亩）（项目不再实施的，冲正第 {other} 号" in zh
    assert "part of it was used: no reversal of a 点供 sends back only the rest" in en
    assert f"reversing the 点供 #{other} sends it back" in en and en.count("reversing the 点供") == 1


def test_the_note_names_each_point_supply_the_earmark_still_holds_whole(ledger: Ledger) -> None:
    """Two 点供 of one year, 500 and 300 m², 400 used: the note said none could be reversed (their sum is not what
    is left), yet the earmark still holds the 300 of the second whole, and its reversal passes."""
    ledger.issue(2026, [("370811", "land_new", 10_000)], actor="省厅")
    first = ledger.point_supply("370811", "land_new", 2026, 500, project_id="XM-1", actor="省厅")
    second = ledger.point_supply("370811", "land_new", 2026, 300, project_id="XM-1", actor="省厅")
    ledger.reserve(review(400, rid="R1", pid="P1"), year=2026, project_id="XM-1", actor="a")  # the earmark: 400 left
    ledger.confirm("XM-1", actor="市政府")
    ledger.reserve(review(100, rid="R2", pid="P2"), year=2026, project_id="XM-1", actor="a")
    en, zh = ledger.release_note(ledger.revoke("XM-1", actor="a"))  # 400 unused
    assert f"冲正第 {second} 号点供交易退回省级" in zh and f"第 {first} 号" not in zh
    assert f"reversing the 点供 #{second} sends it back" in en
    ledger.reverse(second, actor="省厅", reason="点供退回")  # as the note says: it passes
    assert balance(ledger, "XM-1", bucket="earmarked") == 100
