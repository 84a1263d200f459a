"""Ledger tables: accounts with a running balance, an append-only journal of
transactions and their balanced postings, the projects quota is reserved for and the land each
reservation took, and the 增存挂钩 stock-land register with its disposals and settlements."""

from __future__ import annotations

from decimal import Decimal
from typing import Any, Final

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    ColumnElement,
    Date,
    DateTime,
    ForeignKey,
    Integer,
    LargeBinary,
    Numeric,
    String,
    Table,
    Text,
    UniqueConstraint,
    select,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql import Select
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement
from sqlalchemy.types import TypeDecorator

import geo.projects.tables  # noqa: F401 — the project library shares the ledger's database (and its schema)
from geo.db import metadata
from geo.quota.accounts import MAX_AMOUNT

DIGITS, DECIMALS = 20, 4
AMOUNT = Numeric(DIGITS, DECIMALS)  # m², tonnes, tce: four decimals, summed exactly as Decimal
# What the ledger keeps, either way: every posting and every balance (an external account's too, so also what entered
# a factor's year). SQLite keeps NUMERIC as a double, which holds four decimals only below 2**39 (549,755,813,888:
# doubles there lie 2**-14 ≈ 0.000061 apart, from 2**39 0.000122, coarser than 0.0001). 10**11 lies below 2**37,
# where they lie 2**-16 apart: each stored figure reads back exact, and :class:`amount_sum` adds them exactly.
# A province's yearly quota is about 10**9 m²; the column (Numeric(20, 4)) would hold 10**16.
AMOUNT_LIMIT: Final = MAX_AMOUNT
QUANTUM: Final = Decimal(1).scaleb(-DECIMALS)  # 0.0001

quota_accounts = Table(
    "quota_accounts",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("factor", String(32), nullable=False),
    # "city", a county code, "project:<id>" (an id of up to 64 characters), "external:<source>"
    Column("holder", String(80), nullable=False),
    Column("bucket", String(16), nullable=False),  # available | reserved | approved
    Column("year", Integer, nullable=False),
    Column("balance", AMOUNT, nullable=False),
    UniqueConstraint("factor", "holder", "bucket", "year", name="uq_quota_account"),
)

quota_transactions = Table(
    "quota_transactions",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("kind", String(32), nullable=False),
    Column("created", DateTime(timezone=True), nullable=False),
    Column("actor", String(100), nullable=False),
    Column("reason", Text, nullable=False),
    Column("review_id", String(64), nullable=True),
    Column("project_id", String(64), nullable=True),
    Column("idempotency_key", String(200), nullable=True, unique=True),
    Column("price_wan", Numeric(20, 4), nullable=True),
    Column("due_date", Date, nullable=True),
    Column("reverses", Integer, ForeignKey("quota_transactions.id"), nullable=True),
)

quota_postings = Table(
    "quota_postings",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("transaction_id", Integer, ForeignKey("quota_transactions.id"), nullable=False, index=True),
    Column("account_id", Integer, ForeignKey("quota_accounts.id"), nullable=False, index=True),
    Column("amount", AMOUNT, nullable=False),
)

quota_holders = Table(
    "quota_holders",
    metadata,
    Column("code", String(32), primary_key=True),  # county code (行政区划代码)
    Column("name", String(100), nullable=False),
)

quota_projects = Table(
    "quota_projects",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("name", String(200), nullable=True),
    Column("level", String(16), nullable=True),  # 省重点 / 市重点 / 县重点
    Column("project_type", String(50), nullable=True),
    Column("county", String(32), nullable=False),
    Column("review_id", String(64), nullable=True),
    Column("created", DateTime(timezone=True), nullable=False),
)

# the land a reservation of a reviewed parcel took (migration 0009): its outline, so that the same land reserved
# again under another parcel id, or redrawn, is found (:mod:`geo.quota.land`); reservations recorded before have none
quota_reserved_land = Table(
    "quota_reserved_land",
    metadata,
    Column("transaction_id", Integer, ForeignKey("quota_transactions.id"), primary_key=True, autoincrement=False),
    Column("county", String(32), nullable=False, index=True),  # the county charged: the check reads one county's
    Column("parcel_id", String(100), nullable=False),  # as the review has it
    Column("outline", LargeBinary, nullable=False),  # WKB of the review's outline, EPSG:4490
    Column("tolerance_m2", AMOUNT, nullable=False),  # the review's sliver tolerance of the parcel
)

stock_land = Table(  # 存量建设用地台账: one 批而未供 or 闲置 feature of a blueprint
    "stock_land",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("kind", String(24), nullable=False),  # approved_unsupplied | idle_land (the layer id)
    Column("feature_id", String(100), nullable=False),  # the source's 标识码, else a geometry hash
    Column("county", String(32), ForeignKey("quota_holders.code"), nullable=False, index=True),
    Column("approval_year", Integer, nullable=False),  # 批准年份
    Column("area_m2", AMOUNT, nullable=False),
    Column("crs_used", String(16), nullable=False),  # the GK zone the area was measured in
    Column("blueprint", String(200), nullable=False),
    Column("blueprint_version", String(64), nullable=False),
    Column("imported", DateTime(timezone=True), nullable=False),
    Column("actor", String(100), nullable=False),
    UniqueConstraint("kind", "feature_id", name="uq_stock_land_feature"),
)

stock_disposals = Table(  # 处置: 供地, 收回, 盘活 — appended, never edited
    "stock_disposals",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("land_id", Integer, ForeignKey("stock_land.id"), nullable=False, index=True),
    Column("kind", String(8), nullable=False),
    Column("area_m2", AMOUNT, nullable=False),
    Column("disposed_on", Date, nullable=False),
    Column("document", String(100), nullable=True),  # 文号 (供地批复、收回决定书…)
    Column("created", DateTime(timezone=True), nullable=False),
    Column("actor", String(100), nullable=False),
)

stock_settlements = Table(  # 增存挂钩核算: a county's year, its rates, reward and penalty
    "stock_settlements",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("county", String(32), ForeignKey("quota_holders.code"), nullable=False, index=True),
    Column("year", Integer, nullable=False),
    Column("supply_rate", Numeric(12, 8), nullable=True),  # 五年供地率; null: nothing approved in the window
    Column("threshold", Numeric(12, 8), nullable=False),
    Column("penalty", Boolean, nullable=False),
    Column("reward_m2", AMOUNT, nullable=False),
    Column("transaction_id", Integer, ForeignKey("quota_transactions.id"), nullable=True),
    Column("created", DateTime(timezone=True), nullable=False),
    Column("actor", String(100), nullable=False),
)

stock_settled = Table(  # each disposal earns its reward once: the primary key refuses a second settlement
    "stock_settled",
    metadata,
    Column("disposal_id", Integer, ForeignKey("stock_disposals.id"), primary_key=True, autoincrement=False),
    Column("settlement_id", Integer, ForeignKey("stock_settlements.id"), nullable=False, index=True),
)

# every settlement's disposals, kept: ``stock_settled`` holds a disposal's latest settlement only, so once a reward
# was reversed and its disposals settled again, this is where the reversed settlement's disposals are read
stock_settlement_disposals = Table(
    "stock_settlement_disposals",
    metadata,
    Column("settlement_id", Integer, ForeignKey("stock_settlements.id"), primary_key=True, autoincrement=False),
    Column("disposal_id", Integer, ForeignKey("stock_disposals.id"), primary_key=True, autoincrement=False),
)


class _Summed(TypeDecorator[Decimal]):
    """What :class:`amount_sum` returns: on SQLite an integer of 1/10,000 units, elsewhere the exact NUMERIC sum."""

    impl = BigInteger
    cache_ok = True

    def process_result_value(self, value: Any, dialect: Dialect) -> Decimal | None:
        if value is None:
            return None
        if dialect.name == "sqlite":
            return Decimal(int(value)).scaleb(-DECIMALS)
        return Decimal(value).quantize(QUANTUM)


class amount_sum(FunctionElement[Decimal]):
    """``SUM`` of an :data:`AMOUNT` expression, exact on every backend (a Decimal).

    PostgreSQL adds NUMERIC exactly. SQLite would add doubles, and a sum drifts from its figures (a report showed
    21000000554011.234 for …011.2346): there each figure (exact below :data:`AMOUNT_LIMIT`) is first made an
    integer of 1/10,000 (below 2**50, the double's error under 0.15 of a unit, so ``round`` finds it), and SQLite
    adds integers exactly (up to 2**63, else an error, never a wrong figure)."""

    type = _Summed()
    name = "amount_sum"
    inherit_cache = True


@compiles(amount_sum)
def _sum(element: amount_sum, compiler: SQLCompiler, **kw: Any) -> str:
    return f"sum({compiler.process(element.clauses, **kw)})"


@compiles(amount_sum, "sqlite")
def _sum_sqlite(element: amount_sum, compiler: SQLCompiler, **kw: Any) -> str:
    return f"sum(CAST(round(({compiler.process(element.clauses, **kw)}) * {10**DECIMALS}) AS INTEGER))"


def postings_by_account(amount: ColumnElement[Any]) -> Select[Any]:
    """Postings as rows (factor, holder, bucket, year, ``amount``): each with its account's key."""
    a = quota_accounts.c
    return select(a.factor, a.holder, a.bucket, a.year, amount).join_from(
        quota_postings, quota_accounts, a.id == quota_postings.c.account_id
    )
