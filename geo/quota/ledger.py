"""The factor ledger (要素保障库): double-entry accounts of land, energy and emission quotas.

:class:`Ledger` is the facade the API, the CLI and the notebooks hold: one engine
and the city's two settings (the pooling share of land_new, the stock-linkage
reward ratio). The work is in modules of one job each:

* :mod:`geo.quota.accounts` — factors, holders, amounts, postings (no database);
* :mod:`geo.quota.posting` — the one primitive that writes a balanced transaction;
* :mod:`geo.quota.reservations` — the rules of reserving for a project and who paid;
* :mod:`geo.quota.movements` — every movement, each one atomic transaction;
* :mod:`geo.quota.queries` — balances, journal, projects, overdue loans, summaries.

Quota enters from ``external:*`` accounts (the province's plan, point supply,
rewards), so the internal balances of a factor always sum to what entered; the
journal is append-only and a mistake is undone by :meth:`Ledger.reverse`.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import Engine

from geo.errors import QuotaError
from geo.quota import movements, queries
from geo.quota.accounts import (
    CITY,
    FACTORS,
    POINT_SUPPLY,
    PROJECT_LEVELS,
    PROVINCE,
    REWARD,
    ZERO,
    Key,
    Posting,
    amount,
    move,
    project_holder,
)
from geo.quota.holders import register_counties
from geo.review.result import ReviewResult

__all__ = [
    "CITY",
    "FACTORS",
    "POINT_SUPPLY",
    "PROJECT_LEVELS",
    "PROVINCE",
    "REWARD",
    "ZERO",
    "Key",
    "Ledger",
    "Posting",
    "amount",
    "county_summary",
    "move",
    "project_holder",
]


class Ledger:
    """Ledger operations over one SQLAlchemy engine (SQLite file or PostgreSQL)."""

    def __init__(self, engine: Engine, *, pooling_share: float = 0.3, reward_ratio: float = 0.5):
        if not 0 <= pooling_share < 1:
            raise QuotaError(f"pooling share {pooling_share} must be in [0, 1)", "统筹比例须在 0 到 1 之间")
        if reward_ratio < 0:
            raise QuotaError(f"reward ratio {reward_ratio} must not be negative", "奖励比例不能为负数")
        self.engine = engine
        self.pooling_share = Decimal(str(pooling_share))
        self.reward_ratio = Decimal(str(reward_ratio))

    # --- holders ----------------------------------------------------------------------------------

    def register_counties(self, counties: Iterable[tuple[str, str]]) -> int:
        """The counties that may hold quota (code, name), e.g. from the blueprint's county layer."""
        return register_counties(self.engine, counties)

    def counties(self) -> dict[str, str]:
        return queries.counties(self.engine)

    # --- movements --------------------------------------------------------------------------------

    def issue(
        self,
        year: int,
        rows: Iterable[tuple[str, str, float | Decimal]],
        *,
        actor: str,
        reason: str = "下达年度计划指标",
    ) -> int:
        """下达: the province's plan to counties; ``pooling_share`` of each county's land_new goes to the city."""
        return movements.issue(self.engine, year, rows, actor=actor, reason=reason, pooling_share=self.pooling_share)

    def reserve(
        self,
        review: ReviewResult,
        *,
        year: int,
        project_id: str,
        actor: str,
        parcel_id: str | None = None,
        county: str | None = None,
        source: str | None = None,
        name: str | None = None,
        level: str | None = None,
        reason: str = "项目用地指标配置",
    ) -> int:
        """配置: set aside a reviewed parcel's quota for a project (rules: :mod:`geo.quota.reservations`)."""
        return movements.reserve(
            self.engine,
            review,
            year=year,
            project_id=project_id,
            actor=actor,
            parcel_id=parcel_id,
            county=county,
            source=source,
            name=name,
            level=level,
            reason=reason,
        )

    def confirm(self, project_id: str, *, actor: str, reason: str = "项目用地批准") -> int:
        """批准: the reserved quota becomes approved (used)."""
        return movements.confirm(self.engine, project_id, actor=actor, reason=reason)

    def revoke(self, project_id: str, *, actor: str, reason: str = "项目撤销，收回指标") -> int:
        """收回: everything the project holds goes back to the accounts that paid it."""
        return movements.revoke(self.engine, project_id, actor=actor, reason=reason)

    def advance(
        self,
        county: str,
        factor: str,
        year: int,
        value: float | Decimal,
        *,
        actor: str,
        reason: str = "预支下一年度指标",
    ) -> int:
        """预支: next year's quota used now; next year's account may go below zero, explicitly."""
        return movements.advance(self.engine, county, factor, year, value, actor=actor, reason=reason)

    def point_supply(
        self,
        holder: str,
        factor: str,
        year: int,
        value: float | Decimal,
        *,
        actor: str,
        reason: str = "省级点供指标",
    ) -> int:
        """点供: quota the province supplies directly to a county (or the city pool)."""
        return movements.point_supply(self.engine, holder, factor, year, value, actor=actor, reason=reason)

    def stock_reward(
        self,
        county: str,
        year: int,
        disposed_m2: float | Decimal,
        *,
        actor: str,
        reason: str = "增存挂钩奖励",
    ) -> int:
        """增存挂钩: new land quota in proportion to disposed 批而未供/闲置 land (``reward_ratio``)."""
        return movements.stock_reward(
            self.engine, county, year, disposed_m2, actor=actor, reason=reason, reward_ratio=self.reward_ratio
        )

    def transfer(
        self,
        source: str,
        target: str,
        factor: str,
        year: int,
        value: float | Decimal,
        *,
        actor: str,
        price_wan: float | None = None,
        due_date: date | None = None,
        reason: str | None = None,
    ) -> int:
        """有偿调剂 (with a price) or 临时拆借 (with a due date) between counties or the city pool."""
        return movements.transfer(
            self.engine,
            source,
            target,
            factor,
            year,
            value,
            actor=actor,
            price_wan=price_wan,
            due_date=due_date,
            reason=reason,
        )

    def reverse(self, transaction_id: int, *, actor: str, reason: str) -> int:
        """A mistake is undone by a new, opposite movement, never by editing the old one."""
        return movements.reverse(self.engine, transaction_id, actor=actor, reason=reason)

    def repay(self, loan_id: int, *, actor: str) -> int:
        """Return a temporary loan (临时拆借归还)."""
        return movements.repay(self.engine, loan_id, actor=actor)

    # --- queries ----------------------------------------------------------------------------------

    def balances(self, year: int | None = None, *, include_external: bool = False) -> list[dict[str, Any]]:
        return queries.balances(self.engine, year, include_external=include_external)

    def journal(self, *, limit: int | None = None, offset: int = 0) -> list[dict[str, Any]]:
        """Postings in order, one row each, paged in SQL."""
        return queries.journal(self.engine, limit=limit, offset=offset)

    def overdue_loans(self, today: date) -> list[dict[str, Any]]:
        """临时拆借 past their due date and not yet repaid."""
        return queries.overdue_loans(self.engine, today)

    def totals(self) -> dict[str, Decimal]:
        """Per factor: the sum of internal balances (what the invariant checks)."""
        return queries.totals(self.engine)

    def projects(self) -> list[dict[str, Any]]:
        return queries.projects(self.engine)

    def county_summary(self, year: int) -> list[dict[str, Any]]:
        """Per county: remaining land_new, what its projects hold, the used share (the quota map)."""
        return queries.county_summary(self.engine, year)


def county_summary(ledger: Ledger, year: int) -> list[dict[str, Any]]:
    """Per county: remaining land_new, what its projects hold, and the used share — for the quota map."""
    return ledger.county_summary(year)
