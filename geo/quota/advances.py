"""The 预支 cap: how much of a year's new construction quota a county may use ahead, and what it has.

An advance (预支) draws on the county's ``land_new`` of the next year before that year's plan is issued (聊城
《重点项目推进全周期服务办法》第十七条 "在每年新增建设用地计划管理细则明确前,预支新增土地指标": once it is, the quota
is the county's in that year, :meth:`AdvanceCap.plan_issued`), at most ``advance_cap_share`` of this year's issue:
a SAMPLE share the city sets (``layers/profiles/ledger.yaml``), since 第十七条 and 济宁 济政办字〔2020〕52号 三、(一)4
provide the advance but fix no cap. The cap is checked by the advance itself and by a reversal, which may lower the
issue it is a share of or put an advance back in force (:func:`refuse_beyond_cap`); for a reversal, advances made
before next year's plan are bounded by that plan once it is issued. Every figure is read against a set of
transactions undone, so a reversal is judged on the books as they would be once it stands.
"""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal
from typing import Any, NamedTuple

from sqlalchemy import Connection, Select, select

from geo.errors import QuotaError
from geo.quota.accounts import PLAN_YEARS, ZERO, Posting, amount, holder_kind
from geo.quota.tables import amount_sum, quota_accounts, quota_postings, quota_transactions

FACTOR = "land_new"  # the only factor advanced: 占补平衡 is made good before land is taken (先补后占)


def _county_postings(columns: Iterable[Any], kind: str, county: str, year: int, gone: frozenset[int]) -> Select[Any]:
    """``columns`` of the postings in force (``gone`` left out) of transactions of ``kind`` on the county's
    ``year`` of land_new."""
    t, a, p = quota_transactions.c, quota_accounts.c, quota_postings.c
    return (
        select(*columns)
        .join_from(quota_postings, quota_accounts, a.id == p.account_id)
        .join(quota_transactions, t.id == p.transaction_id)
        .where(t.kind == kind, t.id.not_in(gone), a.factor == FACTOR, a.holder == county, a.year == year)
    )


def _issues(conn: Connection, county: str, year: int, gone: frozenset[int]) -> dict[int, Decimal]:
    """The issues in force (``gone`` left out) that gave the county ``year``'s land_new: transaction → amount issued
    (before pooling)."""
    t, a, p = quota_transactions.c, quota_accounts.c, quota_postings.c
    query = _county_postings([t.id, amount_sum(p.amount).label("amount")], "issue", county, year, gone)
    rows = conn.execute(query.where(a.bucket == "available", p.amount > 0).group_by(t.id).order_by(t.id)).all()
    return {int(r.id): Decimal(r.amount) for r in rows}


def _advances_on(conn: Connection, county: str, year: int, gone: frozenset[int]) -> dict[int, Decimal]:
    """The advances in force (``gone`` left out) that drew on the county's ``year``: transaction → amount."""
    t, p = quota_transactions.c, quota_postings.c
    query = _county_postings([t.id, p.amount], "advance", county, year, gone)
    rows = conn.execute(query.where(p.amount < 0).order_by(t.id)).all()
    return {int(r.id): -Decimal(r.amount) for r in rows}


class AdvanceCap(NamedTuple):
    """A county's advances on one year's ``land_new`` (``drawn``) beside what it may advance."""

    county: str
    drawn: int
    share: float
    base_year: int  # ``drawn``, or the year before while ``drawn`` is not issued
    issues: dict[int, Decimal]  # the issues in force of ``base_year`` the cap is a share of: transaction → amount
    advances: dict[int, Decimal]  # the advances in force on ``drawn``: transaction → amount

    @property
    def base(self) -> Decimal:
        """The issue the cap is a share of."""
        return sum(self.issues.values(), ZERO)

    @property
    def cap(self) -> Decimal:
        return amount(self.base * Decimal(str(self.share)))

    @property
    def advanced(self) -> Decimal:
        return sum(self.advances.values(), ZERO)

    @property
    def excess(self) -> Decimal:
        """What is advanced beyond the cap (0 within it)."""
        return max(self.advanced - self.cap, ZERO)

    def limit(self) -> tuple[str, str]:
        """The cap as a refusal says it (English, Chinese), naming the year whose issue it took."""
        which_en, which_zh = "", ""
        if self.base_year != self.drawn:
            which_en = f"; {self.drawn}'s is not issued yet, so {self.base_year}'s is taken"
            which_zh = f"；{self.drawn} 年计划尚未下达，按 {self.base_year} 年下达量计"
        return (
            f"{self.county} may advance at most {self.cap:,.2f} m² of {self.drawn}'s land_new ({self.share:.0%}, a "
            f"sample share the city sets, of its {self.base_year} issue of {self.base:,.2f} m²{which_en})",
            f"{self.county} 预支 {self.drawn} 年新增建设用地指标不得超过 {self.cap:,.2f} m²（{self.base_year} 年下达量 "
            f"{self.base:,.2f} m² 的 {self.share:.0%}，比例为市级样例取值{which_zh}）",
        )

    def plan_issued(self) -> tuple[str, str] | None:
        """Why nothing more may be advanced on ``drawn`` (English, Chinese): the county's plan of that year is issued,
        and an advance is made before the year's plan is set (聊城《重点项目推进全周期服务办法》第十七条 "在每年新增
        建设用地计划管理细则明确前,预支新增土地指标"); once it is, the year's quota is the county's in that year, not
        an advance. None while it is not issued."""
        if self.base_year != self.drawn:
            return None
        ids_en = ", ".join(f"#{i}" for i in self.issues)
        ids_zh = "、".join(f"第 {i} 号" for i in self.issues)
        return (
            f"{self.county}'s {self.drawn} plan of land_new is issued ({ids_en}): an advance draws on a year's quota "
            "before its plan is set (聊城 重点项目推进全周期服务办法 第十七条: 在每年新增建设用地计划管理细则明确前,"
            f"预支新增土地指标), so no more of {self.drawn}'s land_new is advanced",
            f"{self.county} {self.drawn} 年新增建设用地计划指标已下达（{ids_zh}下达）：预支应在年度计划明确前进行"
            "（聊城《重点项目推进全周期服务办法》第十七条“在每年新增建设用地计划管理细则明确前，预支新增土地指标”），"
            f"不再预支 {self.drawn} 年新增建设用地指标",
        )


def advance_cap(conn: Connection, county: str, drawn: int, share: float, gone: frozenset[int]) -> AdvanceCap:
    """The cap on the county's advances on ``drawn`` and those in force, ``gone`` (transactions undone) left out."""
    issues, base_year = _issues(conn, county, drawn, gone), drawn
    if not issues:
        issues, base_year = _issues(conn, county, drawn - 1, gone), drawn - 1
    return AdvanceCap(county, drawn, share, base_year, issues, _advances_on(conn, county, drawn, gone))


def refuse_beyond_cap(
    conn: Connection, tx_id: int, kind: str, postings: Iterable[Posting], share: float, gone: tuple[frozenset[int], ...]
) -> None:
    """QuotaError if reversing ``tx_id`` (``postings``: the reversal's) leaves a county more advanced beyond the cap
    than before (``gone``: the transactions undone before the reversal and after it).

    The cap bounds the advances in force by the plan in force. A reversal puts the books back as they would be
    without the transaction: without a wrong plan its advance was beyond the cap, and an advance put back in force
    may be one too many; as with quota spent since, the advance is reversed first. A plan itself (an issue) is a
    fact and is booked whole even where it leaves an advance beyond the cap, so only a growing excess is refused."""
    before, after = gone
    last = PLAN_YEARS[1]
    touched = {
        (p.holder, drawn)
        for p in postings
        if p.factor == FACTOR and p.bucket == "available" and holder_kind(p.holder) == "county"
        for drawn in (p.year, p.year + 1)  # an issue is the base of advances on its year and, until it is issued,
        if drawn <= last  # on the next
    }
    for county, drawn in sorted(touched):
        now = advance_cap(conn, county, drawn, share, after)
        if now.excess <= advance_cap(conn, county, drawn, share, before).excess:
            continue
        limit_en, limit_zh = now.limit()
        ids_en = ", ".join(f"#{i}" for i in now.advances)
        ids_zh = "、".join(f"第 {i} 号" for i in now.advances)
        raise QuotaError(
            f"reversing transaction #{tx_id} ({kind}) would leave {now.advanced:,.2f} m² advanced on {drawn}'s "
            f"land_new, {now.excess:,.2f} m² beyond the cap: {limit_en}; reverse advances first ({ids_en}), enough "
            "of them to bring what stays within the cap",
            f"冲销第 {tx_id} 号交易后，{county} 已预支 {drawn} 年新增建设用地指标 {now.advanced:,.2f} m²，超出预支"
            f"上限 {now.excess:,.2f} m²：{limit_zh}；请先冲销预支交易（{ids_zh}），使保留的预支不超过上限",
        )


__all__ = ["AdvanceCap", "advance_cap", "refuse_beyond_cap"]
