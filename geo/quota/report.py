"""The 台账 report: per county (and the city pool) and factor, what entered, moved and remains in a year.

Every column is the net sum of one kind of movement on the holder's ``available`` account
of that year, so the columns add up to the balance (a reader can check the sheet by
hand); what the county's projects hold (reserved, approved) is shown beside it.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any, Final

from sqlalchemy import Engine, String, case, func, literal, select

from geo.quota.accounts import CITY, EXTERNAL_PREFIX, FACTORS, PROJECT_PREFIX, ZERO
from geo.quota.holders import county_names
from geo.quota.tables import quota_accounts, quota_postings, quota_projects, quota_transactions

M2_PER_MU: Final = Decimal(10_000) / Decimal(15)  # 1 亩 = 10 000/15 m²
M2_PER_HA: Final = Decimal(10_000)
POOLED_KINDS: Final = frozenset({"issue", "stock_reward", "reduction"})  # the city pools a share of these
FLOWS: Final[dict[str, str]] = {  # movement kind → report column
    "issue": "issued",
    "point_supply": "point_supply",
    "stock_reward": "reward",
    "reduction": "reduction",
    "reduction_advance": "advanced",
    "advance": "advanced",
    "reserve": "reserved",
    "revoke": "released",
    "lapse": "released",
    "transfer": "transferred",
    "loan": "transferred",
    "reversal": "reversed",
}
COLUMNS: Final = (
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
LABELS: Final[dict[str, str]] = {
    "county_name": "区县",
    "county": "区县代码",
    "factor_name": "要素",
    "unit": "单位",
    "issued": "下达",
    "pooled": "市级统筹",
    "point_supply": "点供",
    "reward": "增存挂钩奖励",
    "reduction": "污染物削减量",
    "advanced": "预支",
    "reserved": "配置",
    "released": "撤回/收回",
    "transferred": "调剂/拆借",
    "reversed": "冲销/归还",
    "balance": "余额",
    "balance_mu": "余额（亩）",
    "balance_ha": "余额（公顷）",
    "projects_reserved": "项目已配置",
    "projects_approved": "项目已批准",
}


def in_mu_ha(value: Decimal, unit: str) -> tuple[float | None, float | None]:
    """An area in m² as (亩, 公顷), two decimals; (None, None) for a factor not measured in m²."""
    if unit != "m²":
        return None, None
    return float(round(value / M2_PER_MU, 2)), float(round(value / M2_PER_HA, 4))


def ledger_report(engine: Engine, year: int) -> list[dict[str, Any]]:
    """One row per holder (each county, then the city pool) and factor that moved in ``year``."""
    a, p, t = quota_accounts.c, quota_postings.c, quota_transactions.c
    positive = func.sum(case((p.amount > 0, p.amount), else_=0))
    negative = func.sum(case((p.amount < 0, p.amount), else_=0))
    with engine.connect() as conn:
        flows = conn.execute(
            select(a.holder, a.factor, t.kind, positive, negative)
            .join_from(quota_postings, quota_accounts, a.id == p.account_id)
            .join(quota_transactions, t.id == p.transaction_id)
            .where(
                a.year == year,
                a.bucket == "available",
                ~a.holder.startswith(EXTERNAL_PREFIX),
                ~a.holder.startswith(PROJECT_PREFIX),
            )
            .group_by(a.holder, a.factor, t.kind)
        ).all()
        held = conn.execute(
            select(quota_projects.c.county, a.factor, a.bucket, func.sum(a.balance))
            .join_from(
                quota_accounts, quota_projects, a.holder == literal(PROJECT_PREFIX, String) + quota_projects.c.id
            )
            .where(a.year == year, a.bucket.in_(("reserved", "approved")))
            .group_by(quota_projects.c.county, a.factor, a.bucket)
        ).all()
    names = county_names(engine)
    table: dict[tuple[str, str], dict[str, Decimal]] = {}
    for holder, factor, kind, plus, minus in flows:
        row = table.setdefault((holder, factor), dict.fromkeys(COLUMNS, ZERO))
        plus, minus = Decimal(plus or 0), Decimal(minus or 0)
        if kind in POOLED_KINDS and holder == CITY:
            row["pooled"] += plus + minus
        elif kind in POOLED_KINDS:
            row[FLOWS[kind]] += plus
            row["pooled"] += minus
        else:
            row[FLOWS.get(kind, "reversed")] += plus + minus
    projects: dict[tuple[str, str], dict[str, Decimal]] = {}
    for county, factor, bucket, total in held:
        projects.setdefault((county, factor), {})[bucket] = Decimal(total or 0)
        table.setdefault((county, factor), dict.fromkeys(COLUMNS, ZERO))
    order = {code: n for n, code in enumerate(sorted(names))} | {CITY: len(names)}
    out = []
    for (holder, factor), values in sorted(table.items(), key=lambda kv: (order.get(kv[0][0], -1), kv[0])):
        name, unit = FACTORS[factor]
        balance = sum(values.values(), ZERO)
        mu, ha = in_mu_ha(balance, unit)
        own = projects.get((holder, factor), {})
        out.append(
            {
                "county": holder,
                "county_name": "市级统筹" if holder == CITY else names.get(holder, holder),
                "factor": factor,
                "factor_name": name,
                "unit": unit,
                **{k: float(v) for k, v in values.items()},
                "balance": float(balance),
                "balance_mu": mu,
                "balance_ha": ha,
                "projects_reserved": float(own.get("reserved", ZERO)),
                "projects_approved": float(own.get("approved", ZERO)),
            }
        )
    return out


__all__ = ["LABELS", "in_mu_ha", "ledger_report"]
