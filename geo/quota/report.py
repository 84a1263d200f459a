"""The 台账 report: per county (and the city pool) and factor, what entered, moved and remains in a year.

Every column is the net sum of one kind of movement on the holder's ``available`` account
of that year, so the columns add up to the balance (a reader can check the sheet by
hand); what the county's projects hold (reserved, approved) is shown beside it.

How every ledger listing (this report, the balances, the stock register, its disposals and rates) writes an
area lives here too, so all of them read alike. JSON and a CSV carry plain numbers: the ledger's and the
register's m² as recorded (four decimals: what the journal sums to and what a movement or a disposal is checked
against), with 公顷 to 4 decimals and 亩 to 2 beside (:func:`in_mu_ha`, :func:`area_figures`); a terminal table
writes each area as :class:`geo.crs.Area` does (:class:`TextTable`). Tonnes, tce and kg keep their own unit,
never 公顷 or 亩.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Final

from sqlalchemy import Engine, String, case, literal, select

from geo.crs import Area
from geo.quota.accounts import CITY, EXTERNAL_PREFIX, FACTORS, PROJECT_PREFIX, ZERO
from geo.quota.holders import county_names
from geo.quota.tables import DECIMALS, amount_sum, quota_accounts, quota_postings, quota_projects, quota_transactions

AREA: Final = "m²"  # the unit of the factors that are areas (FACTORS)
AREA_UNITS: Final = {"m2": "m²", "ha": "公顷", "mu": "亩"}  # a key's suffix → the unit its CSV header names
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


def in_mu_ha(value: Decimal | float, unit: str) -> tuple[float | None, float | None]:
    """An amount in m² as (亩 to 2 decimals, 公顷 to 4), computed as :class:`geo.crs.Area` writes them so that JSON,
    a CSV and a table's text (``Area.stacked``) read the same figure; (None, None) for a factor not measured in m²."""
    if unit != AREA:
        return None, None
    _, ha, mu = Area(float(value)).rounded
    return mu, ha


def area_figures(column: str, m2: Decimal) -> dict[str, float | None]:
    """An area as JSON and a CSV carry it: ``{column}_m2`` as given (a record's exact figure, or a statistic rounded
    to 2 decimals), its 公顷 ``{column}_ha`` and 亩 ``{column}_mu`` beside it (:func:`in_mu_ha`)."""
    mu, ha = in_mu_ha(m2, AREA)
    return {f"{column}_m2": float(m2), f"{column}_ha": ha, f"{column}_mu": mu}


def amount_text(value: float, unit: str) -> str:
    """A ledger amount in one cell: an area as ``Area.stacked``; tonnes, tce and kg in their own unit, to the
    ledger's four decimals without trailing zeros (0.004 t is not shown as nothing, 1,500 tce not as 1,500.0000)."""
    if unit == AREA:
        return Area(value).stacked
    return f"{value:z,.{DECIMALS}f}".rstrip("0").rstrip(".") + f" {unit}"


@dataclass(frozen=True)
class TextTable:
    """A listing as a terminal table: ``labels`` (key → Chinese header) in order. An ``areas`` column writes the
    row's ``{column}_m2`` as ``Area.stacked``, an ``amounts`` column its value in the row's ``unit``
    (:func:`amount_text`), a ``shares`` column a fraction in per cent to one decimal ("—" for none); a yes/no is 是/否.
    The CSV and JSON keep plain numbers (:meth:`csv_labels`)."""

    labels: Mapping[str, str]
    areas: tuple[str, ...] = ()
    amounts: tuple[str, ...] = ()
    shares: tuple[str, ...] = ()

    def texts(self, row: Mapping[str, Any]) -> dict[str, Any]:
        """The row's cells, keyed as ``labels``."""
        return {column: self._text(column, row) for column in self.labels}

    def _text(self, column: str, row: Mapping[str, Any]) -> Any:
        if column in self.areas:
            return Area(row[f"{column}_m2"]).stacked
        if column in self.amounts:
            return amount_text(row[column], row["unit"])
        value = row.get(column)
        if column in self.shares:
            return "—" if value is None else f"{value:.1%}"
        if isinstance(value, bool):
            return "是" if value else "否"
        return value

    def csv_labels(self) -> dict[str, str]:
        """A CSV's columns (JSON's keys, Chinese headers): the table's, each area as three columns of plain numbers
        (:func:`area_figures`)."""
        labels: dict[str, str] = {}
        for column, name in self.labels.items():
            if column in self.areas:
                labels |= {f"{column}_{unit}": f"{name}（{zh}）" for unit, zh in AREA_UNITS.items()}
            else:
                labels[column] = name
        return labels


LABELS: Final[dict[str, str]] = {  # the CSV and the workbook: a number a cell, the unit named, 公顷 and 亩 beside
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
    "balance_ha": "余额（公顷）",
    "balance_mu": "余额（亩）",
    "projects_reserved": "项目已配置",
    "projects_approved": "项目已批准",
}
IN_THE_CELL: Final = ("unit", "balance_ha", "balance_mu")  # what a table's amount cell writes itself
TABLE: Final = TextTable(
    {k: v for k, v in LABELS.items() if k not in IN_THE_CELL},
    amounts=(*COLUMNS, "balance", "projects_reserved", "projects_approved"),
)


def ledger_report(engine: Engine, year: int) -> list[dict[str, Any]]:
    """One row per holder (each county, then the city pool) and factor that moved in ``year``."""
    a, p, t = quota_accounts.c, quota_postings.c, quota_transactions.c
    positive = amount_sum(case((p.amount > 0, p.amount), else_=0))
    negative = amount_sum(case((p.amount < 0, p.amount), else_=0))
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
            select(quota_projects.c.county, a.factor, a.bucket, amount_sum(a.balance))
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
                "balance_ha": ha,
                "balance_mu": mu,
                "projects_reserved": float(own.get("reserved", ZERO)),
                "projects_approved": float(own.get("approved", ZERO)),
            }
        )
    return out


__all__ = [
    "LABELS",
    "TABLE",
    "TextTable",
    "area_figures",
    "in_mu_ha",
    "ledger_report",
]
