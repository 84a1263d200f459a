"""Queries (查询): what the ledger holds, read-only, as plain rows ready for JSON or a table.

Amounts come out as floats for the reports and the API; :meth:`Queries.totals` keeps
Decimals because it is what the invariants are checked against.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import Engine, select
from sqlalchemy.orm import aliased

from geo.db import by_id
from geo.errors import NotFoundError
from geo.papers import beijing
from geo.quota.accounts import (
    EXTERNAL_PREFIX,
    FACTORS,
    POINT_SUPPLY,
    PROJECT_PREFIX,
    PROVINCE,
    REDUCTION,
    REWARD,
    ZERO,
    holder_kind,
    plan_year,
    project_holder,
)
from geo.quota.holders import county_names
from geo.quota.report import IN_THE_CELL, TextTable, advance_outstanding, amount_line, area_figures, in_mu_ha
from geo.quota.standing import settled_advances, undone
from geo.quota.tables import (
    amount_sum,
    postings_by_account,
    quota_accounts,
    quota_postings,
    quota_projects,
    quota_transactions,
)

HOLDER_NAMES = {"city": "市级统筹", "county": "{0}", "project": "项目 {1}", "external": "{1}"}
EXTERNAL_NAMES = {  # where quota enters the city's books, as a table names it
    PROVINCE: "省级下达",
    POINT_SUPPLY: "省级点供",
    REWARD: "增存挂钩奖励",
    REDUCTION: "污染物削减量",
}
BUCKETS = {"available": "可用", "reserved": "已配置", "approved": "已批准", "earmarked": "专项点供"}
BALANCE_LABELS = {  # a CSV: a number a cell, the unit named, 公顷 and 亩 beside
    "holder_name": "持有方",
    "holder": "代码",
    "factor_name": "要素",
    "unit": "单位",
    "bucket_zh": "账户",
    "year": "年度",
    "balance": "余额",
    "balance_ha": "余额（公顷）",
    "balance_mu": "余额（亩）",
    "advance_outstanding": "其中预支未还",
}
# the table fits 80 columns: an advance outstanding is in its JSON and CSV, and in the report's table (其中预支未还)
BALANCE_TABLE = TextTable(
    {k: v for k, v in BALANCE_LABELS.items() if k not in (*IN_THE_CELL, "advance_outstanding")}, amounts=("balance",)
)
KINDS = {
    "issue": "下达",
    "reserve": "配置",
    "confirm": "批准",
    "revoke": "撤回",
    "lapse": "收回",
    "advance": "预支",
    "point_supply": "点供",
    "carry": "点供结转",
    "stock_reward": "增存挂钩奖励",
    "reduction": "污染物削减量",
    "reduction_advance": "削减量预支",
    "transfer": "有偿调剂",
    "loan": "临时拆借",
    "reversal": "冲销",
}
JOURNAL_LABELS = {
    "transaction": "交易号",
    "kind_zh": "类型",
    "created": "时间",
    "actor": "经办人",
    "reason": "事由",
    "review_id": "审查系统记录号",  # the service's id: the papers keep 审查编号 for the document number
    "project_id": "项目编号",
    "price_wan": "价格（万元）",
    "due_date": "归还/到位期限",
    "reverses": "冲销交易号",
    "factor_name": "要素",
    "holder_name": "账户持有方",
    "holder": "持有方代码",
    "bucket_zh": "账户",
    "year": "年度",
    "amount": "金额",
    "unit": "单位",
    "amount_ha": "金额（公顷）",
    "amount_mu": "金额（亩）",
}
REPAYMENT = "归还（临时拆借）"  # a loan's repayment, booked as its reversal
REPAYMENT_REASON = (
    "归还第 {} 号临时拆借"  # the reason ``repay`` writes: a loan's reversal by ``reverse`` is a correction
)
STAGES = {"reserved": "已配置", "approved": "已批准", "revoked": "已撤回或收回"}  # a ledger project's 指标状态
PROJECT_TABLE = TextTable(
    {
        "id": "项目编号",
        "name": "项目名称",
        "level": "项目层级",
        "county_name": "区县",
        "review_id": "首次审查",
        "stage_zh": "指标状态",
        "land_reserved": "已配置新增建设用地",
        "land_approved": "已批准新增建设用地",
    },
    areas=("land_reserved", "land_approved"),
)
PROJECT_LABELS = PROJECT_TABLE.csv_labels()
OVERDUE_TABLE = TextTable(
    {
        "loan": "交易号",
        "kind_zh": "类型",
        "lender_name": "出借方",
        "borrower_name": "借入方",
        "factor_name": "要素",
        "amount": "数量",
        "due_date": "期限",
        "days_overdue": "逾期天数",
        "reason": "事由",
    },
    amounts=("amount",),
)
OVERDUE_LABELS = {  # a CSV: a number a cell, the unit named, 公顷 and 亩 beside; codes beside names
    "loan": "交易号",
    "kind_zh": "类型",
    "lender_name": "出借方",
    "lender": "出借方代码",
    "borrower_name": "借入方",
    "borrower": "借入方代码",
    "factor_name": "要素",
    "amount": "数量",
    "unit": "单位",
    "amount_ha": "数量（公顷）",
    "amount_mu": "数量（亩）",
    "due_date": "期限",
    "days_overdue": "逾期天数",
    "reason": "事由",
}


def _repayment(row: Any) -> bool:
    """Whether a journal row's transaction repays a loan (``repay``), not reverses it in error."""
    return bool(row.reversed_kind == "loan" and row.reason == REPAYMENT_REASON.format(row.reverses))


def for_people(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Rows with Chinese names beside the codes (bucket, kind, a ledger project's stage), for a table or a CSV."""
    return [
        {
            **r,
            "bucket_zh": BUCKETS.get(r.get("bucket", ""), r.get("bucket")),
            "kind_zh": REPAYMENT if r.get("repays") else KINDS.get(r.get("kind", ""), r.get("kind")),
            "stage_zh": STAGES.get(r.get("stage", ""), r.get("stage")),
        }
        for r in rows
    ]


def holder_name(holder: str, names: dict[str, str]) -> str:
    """A holder as a table names it: a county by its name, the pool 市级统筹, a project 项目 <id>, where quota
    enters by what it is (省级下达, 污染物削减量…)."""
    if holder in EXTERNAL_NAMES:
        return EXTERNAL_NAMES[holder]
    kind = holder_kind(holder)
    bare = holder.removeprefix(PROJECT_PREFIX)
    return HOLDER_NAMES[kind].format(names.get(bare, bare), bare)


class Queries:
    """The queries, as methods of :class:`geo.quota.Ledger` (its engine)."""

    engine: Engine

    def counties(self) -> dict[str, str]:
        """Registered counties: code → name."""
        return county_names(self.engine)

    def balances(self, year: int | None = None, *, include_external: bool = False) -> list[dict[str, Any]]:
        """One row per account (holder, factor, bucket, year) with its balance."""
        query = select(quota_accounts).order_by(
            quota_accounts.c.factor, quota_accounts.c.holder, quota_accounts.c.bucket, quota_accounts.c.year
        )
        if year is not None:
            query = query.where(quota_accounts.c.year == plan_year(year))
        if not include_external:
            query = query.where(~quota_accounts.c.holder.startswith(EXTERNAL_PREFIX))
        with self.engine.connect() as conn:
            rows = conn.execute(query).all()
        names = county_names(self.engine)
        out = []
        for r in rows:
            kind = holder_kind(r.holder)
            holder = r.holder.removeprefix(PROJECT_PREFIX)
            mu, ha = in_mu_ha(r.balance, FACTORS[r.factor][1])
            owed = advance_outstanding(r.holder, r.bucket, Decimal(r.balance))
            out.append(
                {
                    "holder": holder,
                    "holder_kind": kind,
                    "holder_name": HOLDER_NAMES.get(kind, "").format(names.get(holder, holder), holder),
                    "factor": r.factor,
                    "factor_name": FACTORS[r.factor][0],
                    "unit": FACTORS[r.factor][1],
                    "bucket": r.bucket,
                    "year": r.year,
                    "balance": float(r.balance),
                    "balance_ha": ha,
                    "balance_mu": mu,
                    # a county's account an advance (预支) drew below zero: what of the advance is still owed
                    "advance_outstanding": float(owed) if owed else None,
                }
            )
        return out

    def journal(self, *, limit: int | None = None, offset: int = 0) -> list[dict[str, Any]]:
        """Postings in order, one row each, paged in SQL (a city's journal grows for years); each holder named as a
        table names it (任城区, 市级统筹, 项目 XM-1), an area with its 公顷 and 亩, a loan's repayment said as one
        (``repays``, 归还: the reversal it is booked as read 冲销, an error's correction: an officer's read); a loan
        reversed by ``reverse`` is a correction, and reads so."""
        loans = aliased(quota_transactions)
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(
                    quota_transactions,
                    quota_accounts.c.factor,
                    quota_accounts.c.holder,
                    quota_accounts.c.bucket,
                    quota_accounts.c.year,
                    quota_postings.c.amount,
                    loans.c.kind.label("reversed_kind"),
                )
                .join(quota_postings, quota_postings.c.transaction_id == quota_transactions.c.id)
                .join(quota_accounts, quota_accounts.c.id == quota_postings.c.account_id)
                .outerjoin(loans, loans.c.id == quota_transactions.c.reverses)
                .order_by(quota_transactions.c.id, quota_postings.c.id)
                .limit(limit)
                .offset(offset)
            ).all()
        names = county_names(self.engine)
        return [
            {
                "transaction": r.id,
                "kind": r.kind,
                "created": beijing(r.created).isoformat(),  # +08:00: filed under the Beijing day, unambiguously
                "actor": r.actor,
                "reason": r.reason,
                "review_id": r.review_id,
                "project_id": r.project_id,
                "price_wan": float(r.price_wan) if r.price_wan is not None else None,
                "due_date": r.due_date.isoformat() if r.due_date else None,
                "reverses": r.reverses,
                "repays": r.reverses if _repayment(r) else None,
                "factor": r.factor,
                "holder": r.holder,
                "holder_name": holder_name(r.holder, names),
                "bucket": r.bucket,
                "year": r.year,
                "amount": float(r.amount),
                "unit": FACTORS[r.factor][1],
                **dict(zip(("amount_mu", "amount_ha"), in_mu_ha(Decimal(r.amount), FACTORS[r.factor][1]), strict=True)),
                "factor_name": FACTORS[r.factor][0],
            }
            for r in rows
        ]

    def overdue_loans(self, today: date) -> list[dict[str, Any]]:
        """临时拆借 not repaid and 削减量预支 not settled by a reduction, past their due date; a repayment or a
        settlement that was reversed does not count (:mod:`geo.quota.standing`). Each row names who lent
        (``lender``: a county, the pool, or ``external:reduction`` for a 削减量预支) and who owes it (``borrower``),
        the factor and the amount in its unit (an area's 公顷 and 亩 beside)."""
        t = quota_transactions.c
        with self.engine.connect() as conn:
            gone = undone(conn)  # a repaid loan is undone by its repayment
            rows = conn.execute(
                select(quota_transactions)
                .where(t.kind.in_(("loan", "reduction_advance")), t.due_date < today, t.id.not_in(gone))
                .order_by(t.id)
            ).all()
            settled = settled_advances(conn, gone)
            rows = [r for r in rows if r.id not in settled]
            moved = conn.execute(
                postings_by_account(quota_postings.c.amount)
                .add_columns(quota_postings.c.transaction_id)
                .where(quota_postings.c.transaction_id.in_([r.id for r in rows]))
                .order_by(quota_postings.c.id)
            ).all()
        names = county_names(self.engine)
        sides: dict[int, dict[str, Any]] = {}
        for m in moved:
            side = sides.setdefault(m.transaction_id, {"factor": m.factor, "amount": ZERO})
            if m.amount < 0:
                side["lender"] = m.holder
            else:
                side["borrower"], side["amount"] = m.holder, Decimal(m.amount)
        out = []
        for r in rows:
            side = sides.get(r.id, {})
            factor, lender, borrower = side.get("factor"), side.get("lender", ""), side.get("borrower", "")
            unit = FACTORS[factor][1] if factor else ""
            mu, ha = in_mu_ha(side.get("amount", ZERO), unit)
            out.append(
                {
                    "loan": r.id,
                    "kind": r.kind,
                    "lender": lender,
                    "lender_name": holder_name(lender, names),
                    "borrower": borrower,
                    "borrower_name": holder_name(borrower, names),
                    "factor": factor,
                    "factor_name": FACTORS[factor][0] if factor else None,
                    "amount": float(side.get("amount", ZERO)),
                    "unit": unit,
                    "amount_ha": ha,
                    "amount_mu": mu,
                    "due_date": r.due_date.isoformat(),
                    "actor": r.actor,
                    "reason": r.reason,
                    "days_overdue": (today - r.due_date).days,
                }
            )
        return out

    def release_note(self, transaction_id: int) -> tuple[str, str]:
        """What a 撤回 or 收回 gave back (English, Chinese): each factor and year it took out of its project's reserved
        or approved quota, the approved quota the project holds now (what a 撤回 leaves it, :meth:`revoke`), and its
        earmarked 点供 still unused, naming each 点供 the earmark still holds whole, whose reversal sends it back to
        the province (neither a 撤回 nor a 收回 moves it: the province gave it for this project, 济宁 52号 三、(一)4);
        an area in m² with 公顷 and 亩 (:func:`~geo.quota.report.amount_line`). NotFoundError for another
        transaction."""
        with self.engine.connect() as conn:
            tx = conn.execute(by_id(quota_transactions, transaction_id)).first()
            if tx is None or tx.kind not in ("revoke", "lapse"):
                raise NotFoundError(f"no 撤回 or 收回 #{transaction_id}", f"没有第 {transaction_id} 号撤回或收回")
            holder = project_holder(tx.project_id)
            released = conn.execute(
                postings_by_account(quota_postings.c.amount).where(
                    quota_postings.c.transaction_id == transaction_id, quota_accounts.c.holder == holder
                )
            ).all()
            kept, unused = (
                conn.execute(
                    select(quota_accounts.c.factor, quota_accounts.c.year, quota_accounts.c.balance).where(
                        quota_accounts.c.holder == holder,
                        quota_accounts.c.bucket == bucket,
                        quota_accounts.c.balance != 0,
                    )
                ).all()
                for bucket in ("approved", "earmarked")
            )
            t = quota_transactions.c
            # what entered the project's earmark, standing: a 点供, a 结转 from the year before, a 削减量预支
            supplied = (
                conn.execute(
                    postings_by_account(quota_postings.c.amount)
                    .add_columns(quota_postings.c.transaction_id, t.kind)
                    .join(quota_transactions, t.id == quota_postings.c.transaction_id)
                    .where(
                        t.kind.in_(("point_supply", "carry", "reduction_advance")),
                        t.id.not_in(undone(conn)),
                        quota_accounts.c.holder == holder,
                        quota_accounts.c.bucket == "earmarked",
                        quota_postings.c.amount > 0,
                    )
                    .order_by(t.id)
                ).all()
                if unused
                else []
            )

        def listed(rows: list[tuple[str, int, str | None, Decimal]]) -> tuple[str, str]:
            en, zh = [], []
            for factor, year, bucket, value in sorted(
                rows, key=lambda r: (list(FACTORS).index(r[0]), r[1], r[2] or "")
            ):
                name, unit = FACTORS[factor]
                line_en, line_zh = amount_line(Decimal(value), unit)
                en.append(f"{factor} ({year}{f', {bucket}' if bucket else ''}) {line_en}")
                zh.append(f"{name}（{year}年{f'，{BUCKETS[bucket]}' if bucket else ''}）{line_zh}")
            return "; ".join(en), "；".join(zh)

        out_en, out_zh = listed([(r.factor, r.year, r.bucket, -r.amount) for r in released if r.amount < 0])
        what_en, what_zh = ("revoked", "撤回") if tx.kind == "revoke" else ("lapsed", "收回")
        note_en = f"{what_en} from project {tx.project_id}: {out_en}"
        note_zh = f"{what_zh}项目 {tx.project_id} 的指标：{out_zh}"
        if kept:
            kept_en, kept_zh = listed([(r.factor, r.year, None, r.balance) for r in kept])
            note_en += f"; approved quota kept: {kept_en} (a lapse with a reason takes it back)"
            note_zh += f"；已批准指标保留：{kept_zh}（收回须经 lapse 并说明理由）"
        for r in unused:  # the province's 点供 for this project: it goes back to the province, not to the county
            left_en, left_zh = listed([(r.factor, r.year, None, r.balance)])
            advanced = [s for s in supplied if (s.factor, s.year, s.kind) == (r.factor, r.year, "reduction_advance")]
            if advanced:  # a 削减量预支 for this project, no 点供 (a reviewer's read: it was said one)
                named_en = ", ".join(f"#{s.transaction_id}" for s in advanced)
                named_zh = "、".join(f"第 {s.transaction_id} 号" for s in advanced)
                note_en += (
                    f"; advanced reduction (削减量预支) still unused: {left_en}, by {named_en} (settled by the "
                    "reduction it awaits; if the project will not be carried out, reverse the advance: "
                    "`lantu quota reverse`)"
                )
                note_zh += (
                    f"；削减量预支尚未使用：{left_zh}（{named_zh}，待削减量到位归还；项目不再实施的，冲正该预支交易）"
                )
                continue
            # a 点供 whose whole amount the earmark still holds can be reversed (the earmark is one account: which
            # 点供 paid a reservation is not recorded, so each that fits is named)
            given = [s for s in supplied if (s.factor, s.year) == (r.factor, r.year) and Decimal(s.amount) <= r.balance]
            if carried := [s for s in given if s.kind == "carry"]:  # a 结转 is undone first, then the 点供
                named_en = ", ".join(f"#{s.transaction_id}" for s in carried)
                named_zh = "、".join(f"第 {s.transaction_id} 号" for s in carried)
                note_en += (
                    f"; earmarked 点供 still unused: {left_en}, carried from {r.year - 1} by {named_en} (if the "
                    f"project will not be carried out, reverse the 结转, then the 点供 of {r.year - 1}: "
                    "`lantu quota reverse`)"
                )
                note_zh += (
                    f"；专项点供尚未使用：{left_zh}，由{named_zh}结转自 {r.year - 1} 年（项目不再实施的，先冲正结转，"
                    f"再冲正 {r.year - 1} 年点供交易退回省级）"
                )
            elif given:
                note_en += (
                    f"; earmarked 点供 still unused: {left_en} (if the project will not be carried out, reversing the "
                    f"点供 {', '.join(f'#{s.transaction_id}' for s in given)} sends it back to the province: "
                    "`lantu quota reverse`)"
                )
                named = "、".join(f"第 {s.transaction_id} 号" for s in given)
                note_zh += f"；专项点供尚未使用：{left_zh}（项目不再实施的，冲正{named}点供交易退回省级）"
            else:  # every 点供 paid part of a reservation: a reversal of a whole one is refused
                note_en += (
                    f"; earmarked 点供 still unused: {left_en} (part of it was used: no reversal of a 点供 sends back "
                    "only the rest)"
                )
                note_zh += f"；专项点供尚未使用：{left_zh}（其点供已部分使用，不能以冲正点供交易退回）"
        return note_en, note_zh

    def totals(self) -> dict[str, Decimal]:
        """Per factor: the sum of internal balances (what the invariant checks)."""
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(quota_accounts.c.factor, amount_sum(quota_accounts.c.balance))
                .where(~quota_accounts.c.holder.startswith(EXTERNAL_PREFIX))
                .group_by(quota_accounts.c.factor)
            ).all()
        return {f: Decimal(s) for f, s in rows}

    def projects(self) -> list[dict[str, Any]]:
        """Projects with their county, first review and stage (reserved / approved / revoked), and the land_new
        they hold reserved and approved (m², with 公顷 and 亩: :func:`~geo.quota.report.area_figures`)."""
        with self.engine.connect() as conn:
            rows = conn.execute(select(quota_projects).order_by(quota_projects.c.created, quota_projects.c.id)).all()
            held = conn.execute(
                select(
                    quota_accounts.c.holder,
                    quota_accounts.c.factor,
                    quota_accounts.c.bucket,
                    amount_sum(quota_accounts.c.balance),
                )
                .where(quota_accounts.c.holder.startswith(PROJECT_PREFIX))
                .group_by(quota_accounts.c.holder, quota_accounts.c.factor, quota_accounts.c.bucket)
            ).all()
        names = county_names(self.engine)
        by_project: dict[str, dict[tuple[str, str], Decimal]] = {}
        for holder, factor, bucket, total in held:
            by_project.setdefault(holder.removeprefix(PROJECT_PREFIX), {})[factor, bucket] = Decimal(total or 0)
        out = []
        for r in rows:
            owned = by_project.get(r.id, {})
            has = {bucket for (_, bucket), total in owned.items() if total}
            stage = "approved" if "approved" in has else "reserved" if "reserved" in has else "revoked"
            out.append(
                {
                    "id": r.id,
                    "name": r.name,
                    "level": r.level,
                    "project_type": r.project_type,
                    "county": r.county,
                    "county_name": names.get(r.county, r.county),
                    "review_id": r.review_id,
                    "stage": stage,
                    **area_figures("land_reserved", owned.get(("land_new", "reserved"), ZERO)),
                    **area_figures("land_approved", owned.get(("land_new", "approved"), ZERO)),
                }
            )
        return out

    def county_summary(self, year: int) -> list[dict[str, Any]]:
        """Per county: remaining land_new, what its projects hold, and the used share — for the quota map."""
        rows_balances = self.balances(year)
        project_county = {p["id"]: p["county"] for p in self.projects()}
        rows = []
        for code, name in sorted(self.counties().items()):
            remaining = sum(
                b["balance"]
                for b in rows_balances
                if b["holder_kind"] == "county"
                and b["holder"] == code
                and b["factor"] == "land_new"
                and b["bucket"] == "available"
            )
            used = sum(
                b["balance"]
                for b in rows_balances
                if b["holder_kind"] == "project"
                and b["factor"] == "land_new"
                and project_county.get(b["holder"]) == code
            )
            total = remaining + used
            rows.append(
                {
                    "code": code,
                    "name": name,
                    "remaining_m2": remaining,
                    "used_m2": used,
                    "used_share": used / total if total > 0 else 0.0,
                }
            )
        return rows


__all__ = ["Queries"]
