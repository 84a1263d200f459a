"""A quota office's probe of the ledger (用地指标台账), each finding with its exact figures and both languages: a
wrong plan reversed beside an outstanding 预支; 水田 quota transferred with its quantity; allocation by the library's
level; 新增 neither transferred nor lent, by a county or the pool; an earmark's 水田 covering dry land;
a plan's rows once per county and factor;
no underscore in a plan's amount."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import Engine
from test_quota import assert_postings_add_up, balance, enter, journal_size, review
from test_quota import ledger as ledger  # the fixture: two counties, the library's projects

from geo.errors import FormatError, InputError, QuotaError
from geo.io import parse_quota_plan
from geo.quota import Demand, allocate, load_allocation_profile
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


def test_an_advance_repaid_leaves_no_floor_below_zero(ledger: Ledger) -> None:
    """Once the year's plan repaid the advance, the account owes nothing: a 点供 in, spent since by a reservation,
    is not reversed into a debt of 5 000 m² no one has (the floor was what advances ever drew: read-through)."""
    ledger.issue(2025, [("370811", "land_new", 100_000)], actor="省厅")
    ledger.advance("370811", "land_new", 2025, 10_000, actor="a")
    ledger.issue(2026, [("370811", "land_new", 100_000)], actor="省厅")
    assert balance(ledger, "370811") == 60_000  # 70 000 − the 10 000 advanced: repaid
    given = ledger.point_supply("370811", "land_new", 2026, 5_000, actor="省厅")
    spent = ledger.reserve(review(65_000), year=2026, project_id="XM-1", actor="a")
    assert balance(ledger, "370811") == 0
    with pytest.raises(QuotaError, match=f"transactions taking from it: #{spent} reserve"):
        ledger.reverse(given, actor="a", reason="点供录入错误")
    assert balance(ledger, "370811") == 0


def test_what_was_undone_before_a_reversed_transaction_sets_no_floor(ledger: Ledger) -> None:
    """The floor is what the transactions before it that still stand leave (second read-through): an advance
    reversed since owes nothing (its reversal booked a debt of 10 000 m²); a gift reversed since took nothing (the
    advance's 10 000 m² still owed was refused as spent by the gift's reversal)."""
    ledger.issue(2025, [("370811", "land_new", 100_000)], actor="省厅")
    advanced = ledger.advance("370811", "land_new", 2025, 10_000, actor="a")
    given = ledger.point_supply("370811", "land_new", 2026, 15_000, actor="省厅")
    assert balance(ledger, "370811") == 5_000
    ledger.reverse(advanced, actor="a", reason="预支撤销")
    assert balance(ledger, "370811") == 15_000
    spent = ledger.reserve(review(10_000), year=2026, project_id="XM-1", actor="a")
    with pytest.raises(QuotaError, match=f"transactions taking from it: #{spent} reserve"):
        ledger.reverse(given, actor="a", reason="点供录入错误")
    assert balance(ledger, "370811") == 5_000


def test_a_reversal_refused_for_what_an_advance_took_names_the_advance(ledger: Ledger) -> None:
    """A 点供 of 2027 drawn on by an advance made since: its reversal would leave 2027 1 000 m² below zero, below the
    floor of before the 点供 (nothing owed then), so it is refused, and the refusal names the advance to reverse first
    (it said "transactions taking from it: none in force", leaving advances out); reversed once the advance is."""
    ledger.issue(2026, [("370811", "land_new", 10_000)], actor="省厅")
    supplied = ledger.point_supply("370811", "land_new", 2027, 1_000, actor="省厅")
    advanced = ledger.advance("370811", "land_new", 2026, 1_000, actor="a")
    assert balance(ledger, "370811", year=2027) == 0
    with pytest.raises(QuotaError) as refused:
        ledger.reverse(supplied, actor="a", reason="点供录入错误")
    assert f"(transactions taking from it: #{advanced} advance); reverse or release those first" in (
        refused.value.message_en
    )
    assert f"（此后从该账户支出的交易：第 {advanced} 号预支），请先冲销或收回这些交易" in refused.value.message_zh
    ledger.reverse(advanced, actor="a", reason="预支撤销")
    ledger.reverse(supplied, actor="a", reason="点供录入错误")
    assert (balance(ledger, "370811", year=2027), balance(ledger, "370811")) == (0, 7_000)


def test_a_gift_reversed_before_a_wrong_plan_leaves_the_advance_owed(ledger: Ledger) -> None:
    """A 点供 of 5 000 m² before a 10 000 m² advance, then a wrong plan: the gift reversed since counts for nothing
    (its reversal took nothing of the plan), so the plan's reversal may leave the 10 000 m² the advance still owes."""
    ledger.issue(2025, [("370811", "land_new", 100_000)], actor="省厅")
    gift = ledger.point_supply("370811", "land_new", 2026, 5_000, actor="省厅")
    ledger.advance("370811", "land_new", 2025, 10_000, actor="a")
    wrong = ledger.issue(2026, [("370811", "land_new", 1_000_000)], actor="省厅")
    assert balance(ledger, "370811") == 695_000  # 5 000 − 10 000 + 700 000
    ledger.reverse(gift, actor="a", reason="点供录入错误")
    ledger.reverse(wrong, actor="a", reason="计划录入错误")
    assert balance(ledger, "370811") == -10_000  # the advance, still owed


def test_a_plan_spent_since_is_not_reversed_and_the_refusal_says_what_was_spent(ledger: Ledger) -> None:
    """200 000 m² of the wrong plan reserved for a project: reversing it would overdraw beyond the advance, refused
    naming the reservation and the 200 000 m² spent (not 指标不足); reversed once the reservation is undone."""
    wrong = wrong_plan_after_an_advance(ledger)
    sold = ledger.reserve(review(200_000), year=2026, project_id="XM-1", actor="a")
    with pytest.raises(QuotaError) as spent:
        ledger.reverse(wrong, actor="a", reason="计划录入错误")
    assert spent.value.message_en == (
        f"reversing transaction #{wrong} (issue) would take 700,000.00 m² of land_new (available, 2026) from 370811, "
        f"which holds 490,000.00 m² (10,000.00 m² below zero as before #{wrong}, an advance owed, may stay): "
        f"200,000.00 m² of what #{wrong} gave was spent since (transactions taking from it: #{sold} reserve); "
        "reverse or release those first"
    )
    assert spent.value.message_zh == (
        f"冲销第 {wrong} 号交易将从 370811 的新增建设用地计划指标（2026年，可用）扣回 700,000.00 m²，其余额为 "
        f"490,000.00 m²（第 {wrong} 号交易前的预支未还 10,000.00 m² 可保留为负）：该交易所给指标中已有 "
        f"200,000.00 m² 在此后被使用（此后从该账户支出的交易：第 {sold} 号配置），请先冲销或收回这些交易"
    )
    assert (balance(ledger, "370811"), balance(ledger, "XM-1", bucket="reserved")) == (490_000, 200_000)
    ledger.reverse(sold, actor="a", reason="配置撤销")
    ledger.reverse(wrong, actor="a", reason="计划录入错误")
    reserved = balance(ledger, "XM-1", bucket="reserved")
    assert (balance(ledger, "370811"), reserved, balance(ledger, CITY)) == (-10_000, 0, 0)


# --- 2. 水田 quota transferred with its quantity ------------------------------------------------------------------


def paddy_county(ledger: Ledger) -> None:
    """任城区 holds 50 000 m² of quantity 占补 quota, 20 000 m² of it 水田; 兖州区 none."""
    ledger.issue(
        2026, [("370811", "land_compensation", 50_000), ("370811", "land_compensation_paddy", 20_000)], actor="省厅"
    )


def compensation(ledger: Ledger, holder: str) -> tuple[float, float]:
    return balance(ledger, holder, "land_compensation"), balance(ledger, holder, "land_compensation_paddy")


def test_a_paddy_transfer_moves_its_quantity_in_the_same_entry(ledger: Ledger, engine: Engine) -> None:
    """10 000 m² of 水田 to a county holding no quantity: one transaction of four postings, both factors, each side
    keeping 水田 ≤ 数量 (moved alone, either order was refused for one side)."""
    paddy_county(ledger)
    tx = ledger.transfer("370811", "370812", "land_compensation_paddy", 2026, 10_000, price_wan=50, actor="a")
    assert (compensation(ledger, "370811"), compensation(ledger, "370812")) == ((40_000, 10_000), (10_000, 10_000))
    entry = [j for j in ledger.journal() if j["transaction"] == tx]
    assert sorted((j["holder"], j["factor"], j["amount"]) for j in entry) == [
        ("370811", "land_compensation", -10_000),
        ("370811", "land_compensation_paddy", -10_000),
        ("370812", "land_compensation", 10_000),
        ("370812", "land_compensation_paddy", 10_000),
    ]
    assert {j["reason"] for j in entry} == {"有偿调剂（水田指标连同等量数量指标）"}
    assert_postings_add_up(engine)


def test_a_paddy_loan_moves_its_quantity_and_its_repayment_returns_both(
    ledger: Ledger, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("geo.quota.accounts.beijing_today", lambda: date(2026, 1, 1))
    paddy_county(ledger)
    loan = ledger.transfer(
        "370811", "370812", "land_compensation_paddy", 2026, 5_000, due_date=date(2026, 3, 1), actor="a"
    )
    assert (compensation(ledger, "370811"), compensation(ledger, "370812")) == ((45_000, 15_000), (5_000, 5_000))
    (late,) = ledger.overdue_loans(date(2026, 6, 1))
    assert (late["loan"], late["factor"], late["amount"], late["borrower"]) == (
        loan,
        "land_compensation_paddy",
        5_000,
        "370812",
    )
    ledger.repay(loan, actor="a")
    assert (compensation(ledger, "370811"), compensation(ledger, "370812")) == ((50_000, 20_000), (0, 0))


def test_plain_quantity_is_refused_only_beyond_the_givers_non_paddy(ledger: Ledger) -> None:
    """Of 50 000 m², 30 000 are not 水田: 30 001 is refused pointing to a 水田 transfer; 30 000 moves."""
    paddy_county(ledger)
    with pytest.raises(QuotaError) as refused:
        ledger.transfer("370811", "370812", "land_compensation", 2026, 30_001, due_date=date(2099, 1, 1), actor="a")
    assert refused.value.message_en == (
        "370811 holds 50,000.00 m² of quantity compensation quota for 2026, 20,000.00 m² of it 水田: 30,000.00 m² is "
        "not 水田, and the transfer of 30,001.00 m² would take 水田's quantity (国土资规〔2017〕13号: 水田 is part of "
        "数量); transfer the rest as 水田 (land_compensation_paddy), which moves its quantity with it"
    )
    assert refused.value.message_zh == (
        "370811 2026 年占补平衡数量指标 50,000.00 m²，其中水田 20,000.00 m²，非水田仅 30,000.00 m²，调出 30,001.00 m² "
        "将占用水田指标所含的数量（国土资规〔2017〕13号：水田指标是数量指标的一部分）；超出部分请以水田指标"
        "（land_compensation_paddy）调剂，其数量随之调出"
    )
    ledger.transfer("370811", "370812", "land_compensation", 2026, 30_000, price_wan=1, actor="a")
    assert (compensation(ledger, "370811"), compensation(ledger, "370812")) == ((20_000, 20_000), (30_000, 0))


# --- 3. allocation ranks by the library's level -------------------------------------------------------------------


def test_allocation_refuses_a_claimed_level_the_library_does_not_hold(ledger: Ledger) -> None:
    """An 一般 project claiming 国家重大 took quota before a 省重点 one: refused, naming both levels; nothing moves."""
    ledger.issue(2026, [("370811", "land_new", 10_000)], actor="省厅")  # 7 000 m² for the county
    enter(ledger, "ORD", level="一般")
    enter(ledger, "PROV", level="省重点")
    ordinary = Demand(project_id="ORD", review=review(6_000, rid="A"), level="国家重大")
    provincial = Demand(project_id="PROV", review=review(6_000, rid="B"))
    with pytest.raises(InputError) as claimed:
        allocate(ledger, [ordinary, provincial], year=2026, actor="市要素保障办")
    assert claimed.value.message_en == (
        "allocation ranks by the project library's level (济宁 济政办字〔2020〕52号 三、(一)4): ORD claims 国家重大, "
        "the library has 一般; correct the level or leave it out (the library's is used)"
    )
    assert claimed.value.message_zh == (
        "按优先级配置依项目库所载项目层级排序（济政办字〔2020〕52号 三、(一)4）：项目 ORD 申报国家重大，项目库为一般；"
        "请更正或删去 level（以项目库为准）"
    )
    assert balance(ledger, "370811") == 7_000
    # without the claim, the library's 省重点 ranks first and takes the quota; the journal says which level and whence
    result = allocate(
        ledger, [ordinary.model_copy(update={"level": None}), provincial], year=2026, actor="市要素保障办"
    )
    assert [(a.project_id, a.covered) for a in result] == [("PROV", True), ("ORD", False)]
    score = round(load_allocation_profile().score(provincial.model_copy(update={"level": "省重点"})), 4)
    assert result[0].score == score == 0.64
    (reason,) = {j["reason"] for j in ledger.journal() if j["transaction"] == result[0].transaction}
    assert reason == "按优先级配置指标（得分 0.64；项目层级 省重点，据项目库）"
    assert (balance(ledger, "370811"), balance(ledger, "PROV", bucket="reserved")) == (1_000, 6_000)


# --- 4. 新增 is neither transferred nor lent, by a county or the pool ----------------------------------------------

NEW_MOVED_EN = (
    "new construction quota (新增建设用地计划指标) is neither transferred nor lent: paid transfers and loans serve "
    "占补平衡 gaps (聊城 重点项目推进全周期服务办法 第十七条); a key project's 新增 gap is paid by the city pool "
    "(lantu quota reserve … --source city)"
)
NEW_MOVED_ZH = (
    "新增建设用地计划指标不得有偿调剂或临时拆借：有偿调剂、临时拆借用于保障占补平衡指标缺口（聊城《重点项目推进"
    "全周期服务办法》第十七条）；重点项目的新增缺口由市级统筹配置（lantu quota reserve … --source city）"
)


def test_new_quota_is_neither_transferred_nor_lent(ledger: Ledger) -> None:
    """有偿调剂 and 临时拆借 serve 占补平衡 gaps (聊城 第十七条); a key project's 新增 gap is paid by the pool by a
    reservation (``reserve --source city``). So 新增 is refused priced and lent, from the pool to a county, from a
    county to another and from a county to the pool, with nothing booked; 占补平衡 quantity still moves between
    counties and through the pool."""
    ledger.issue(
        2026,
        [("370811", "land_new", 100_000), ("370812", "land_new", 10_000), ("370811", "land_compensation", 10_000)],
        actor="省厅",
    )
    held = (balance(ledger, CITY), balance(ledger, "370811"), balance(ledger, "370812"))
    assert held == (33_000, 70_000, 7_000)
    before = journal_size(ledger)
    for source, target in ((CITY, "370812"), ("370811", "370812"), ("370811", CITY)):
        for terms in ({"price_wan": 10}, {"due_date": date(2099, 1, 1)}):
            with pytest.raises(QuotaError) as refused:
                ledger.transfer(source, target, "land_new", 2026, 5_000, actor="a", **terms)
            assert refused.value.message_en == NEW_MOVED_EN, (source, target, terms)
            assert refused.value.message_zh == NEW_MOVED_ZH, (source, target, terms)
    assert journal_size(ledger) == before
    assert (balance(ledger, CITY), balance(ledger, "370811"), balance(ledger, "370812")) == held
    # 占补平衡 quantity: sold county to county, sold to the pool, lent by the pool
    ledger.transfer("370811", "370812", "land_compensation", 2026, 2_000, price_wan=1, actor="a")
    ledger.transfer("370811", CITY, "land_compensation", 2026, 4_000, price_wan=1, actor="a")
    ledger.transfer(CITY, "370812", "land_compensation", 2026, 4_000, due_date=date(2099, 1, 1), actor="a")
    moved = [balance(ledger, holder, "land_compensation") for holder in ("370811", "370812", CITY)]
    assert moved == [4_000, 6_000, 0]
    assert journal_size(ledger) == before + 3 * 2  # three movements of two postings each


# --- 5. an earmarked 点供's 水田 covers its project's dry land ------------------------------------------------------


def test_an_earmarks_paddy_covers_its_projects_dry_land(ledger: Ledger, engine: Engine) -> None:
    """XM-1's 点供 of 6 400 m² quantity, all 水田, pays its dry parcel of 6 400 m² 耕地 (spending the quantity alone
    left 6 400 m² of 水田 beside none: refused); XM-2's of 6 400 m², 3 000 水田, pays a dry 5 000 m² with 1 600 of
    水田, keeping 1 400 m² of each. The county pays the 新增 and the grain capacity (× 0.6 kg/m²)."""
    ledger.issue(2026, [("370811", "land_new", 20_000), ("370811", "land_compensation_grain", 10_000)], actor="省厅")
    for project, paddy in (("XM-1", 6_400), ("XM-2", 3_000)):
        ledger.point_supply("370811", "land_compensation", 2026, 6_400, actor="省厅", project_id=project)
        ledger.point_supply("370811", "land_compensation_paddy", 2026, paddy, actor="省厅", project_id=project)
    ledger.reserve(review(6_400, cultivated=6_400, rid="R1", pid="DRY0"), year=2026, project_id="XM-1", actor="a")
    ledger.reserve(review(5_000, cultivated=5_000, rid="R2", pid="DRY1"), year=2026, project_id="XM-2", actor="a")

    def held(project: str, bucket: str) -> tuple[float, float]:
        return tuple(
            balance(ledger, project, f, bucket=bucket) for f in ("land_compensation", "land_compensation_paddy")
        )

    assert (held("XM-1", "earmarked"), held("XM-1", "reserved")) == ((0, 0), (6_400, 6_400))
    assert (held("XM-2", "earmarked"), held("XM-2", "reserved")) == ((1_400, 1_400), (5_000, 1_600))
    assert compensation(ledger, "370811") == (0, 0)  # the county paid no 占补
    assert balance(ledger, "370811") == 14_000 - 6_400 - 5_000
    assert balance(ledger, "370811", "land_compensation_grain") == 10_000 - (6_400 + 5_000) * 0.6
    ledger.revoke("XM-2", actor="a")  # the earmark gets back what it paid
    assert (held("XM-2", "earmarked"), held("XM-2", "reserved")) == ((6_400, 3_000), (0, 0))
    assert_postings_add_up(engine)


# --- 6. a plan gives each county and factor once ------------------------------------------------------------------


def test_an_issue_refuses_a_county_and_factor_given_twice(ledger: Ledger) -> None:
    """Two rows of 任城区's 新增 were summed (60 000 + 40 000) and the repeat check then called a plan of one row of
    100 000 the same "row for row"; refused as the CSV reader refuses them, nothing booked."""
    twice = [("370811", "land_new", 60_000), ("370812", "land_new", 1_000), ("370811", "land_new", 40_000)]
    with pytest.raises(InputError) as refused:
        ledger.issue(2026, twice, actor="省厅")
    assert refused.value.message_en == (
        "the plan gives 370811 land_new twice (rows 1 and 3): a plan has one row per county and factor"
    )
    assert refused.value.message_zh == (
        "计划中区县 370811 的 land_new 出现两次（第 1 行与第 3 行），每个区县的每项要素只能有一行"
    )
    assert ledger.journal() == []
    with pytest.raises(FormatError, match=r"^plan.csv line 4: 370811 land_new was already given on line 2$"):
        parse_quota_plan(
            "county_code,factor,amount\n370811,land_new,60000\n370812,land_new,1000\n370811,land_new,40000\n"
        )


# --- 7. no underscore in a plan's amount ---------------------------------------------------------------------------


@pytest.mark.parametrize("value", ["1_5", "100_000", "1_000.5", "1,000_000"])
def test_a_plan_amount_with_an_underscore_is_refused(value: str) -> None:
    """Python's Decimal reads "1_5" as 15: refused naming the line, as "1,5" is."""
    with pytest.raises(FormatError) as refused:
        parse_quota_plan(f'county_code,factor,amount\n370811,land_new,1000\n370812,land_new,"{value}"\n')
    assert refused.value.message_en == (
        f"plan.csv line 3: amount {value!r}: an underscore is no separator in a plan; write the number without it "
        "(1234567.89) or group thousands with commas (1,234,567.89)"
    )
    assert refused.value.message_zh == (
        f"plan.csv 第 3 行：数量 {value!r}：计划中的数字不能含下划线；请不用分隔符（1234567.89），"
        "或以逗号分隔千位（1,234,567.89）"
    )


@pytest.mark.parametrize("value", ["١٥٠٠", "۱۵۰۰", "१५००", "1,٥٠٠"])
def test_a_plan_amount_in_another_scripts_digits_is_refused(value: str) -> None:
    """Python's Decimal reads Arabic-Indic "١٥٠٠" (and Devanagari, Persian…) as 1500: no Chinese plan writes them, and
    its reader sees no number. Refused naming the line; the full-width digits of a Chinese input method are read."""
    with pytest.raises(FormatError) as refused:
        parse_quota_plan(f'county_code,factor,amount\n370811,land_new,1000\n370812,land_new,"{value}"\n')
    assert refused.value.message_en == (
        f"plan.csv line 3: amount {value!r}: write its digits as 0-9 (digits of another script are no plan's)"
    )
    assert refused.value.message_zh == f"plan.csv 第 3 行：数量 {value!r}：数字请用 0-9 书写（不接受其他文字的数字）"
    typed = parse_quota_plan("county_code,factor,amount\n370811,land_new,１５００．５\n")
    assert [row.amount for row in typed] == [1500.5]


@pytest.mark.parametrize("value", ["1.23E+06", "4e4", "1e999999999", "-2E3", "１.５e３"])
def test_a_plan_amount_in_scientific_notation_is_refused(value: str) -> None:
    """A spreadsheet shows a narrow column's 1,234,567 as 1.23E+06 and saves that into the CSV: the plan booked
    1,230,000 without a word (the coordinate files refuse an exponent for the same reason). Refused naming the line;
    a number written in full is read."""
    with pytest.raises(FormatError) as refused:
        parse_quota_plan(f"county_code,factor,amount\n370811,land_new,{value}\n")
    assert refused.value.message_en.startswith("plan.csv line 2: amount ")
    assert "scientific notation" in refused.value.message_en and "科学计数法" in refused.value.message_zh
    assert [row.amount for row in parse_quota_plan("county_code,factor,amount\n370811,land_new,1234567\n")] == [1234567]
