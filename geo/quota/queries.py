"""Queries (查询): what the ledger holds, read-only, as plain rows ready for JSON or a table.

Amounts come out as floats for the reports and the API; :meth:`Queries.totals` keeps
Decimals because it is what the invariants are checked against.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import Engine, func, select

from geo.quota.accounts import EXTERNAL_PREFIX, FACTORS, PROJECT_PREFIX, holder_kind
from geo.quota.holders import county_names
from geo.quota.tables import quota_accounts, quota_postings, quota_projects, quota_transactions


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
            query = query.where(quota_accounts.c.year == year)
        if not include_external:
            query = query.where(~quota_accounts.c.holder.startswith(EXTERNAL_PREFIX))
        with self.engine.connect() as conn:
            rows = conn.execute(query).all()
        return [
            {
                "holder": r.holder.removeprefix(PROJECT_PREFIX),
                "holder_kind": holder_kind(r.holder),
                "factor": r.factor,
                "unit": FACTORS[r.factor][1],
                "bucket": r.bucket,
                "year": r.year,
                "balance": float(r.balance),
            }
            for r in rows
        ]

    def journal(self, *, limit: int | None = None, offset: int = 0) -> list[dict[str, Any]]:
        """Postings in order, one row each, paged in SQL (a city's journal grows for years)."""
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(
                    quota_transactions,
                    quota_accounts.c.factor,
                    quota_accounts.c.holder,
                    quota_accounts.c.bucket,
                    quota_accounts.c.year,
                    quota_postings.c.amount,
                )
                .join(quota_postings, quota_postings.c.transaction_id == quota_transactions.c.id)
                .join(quota_accounts, quota_accounts.c.id == quota_postings.c.account_id)
                .order_by(quota_transactions.c.id, quota_postings.c.id)
                .limit(limit)
                .offset(offset)
            ).all()
        return [
            {
                "transaction": r.id,
                "kind": r.kind,
                "created": r.created.isoformat(),
                "actor": r.actor,
                "reason": r.reason,
                "review_id": r.review_id,
                "project_id": r.project_id,
                "price_wan": float(r.price_wan) if r.price_wan is not None else None,
                "due_date": r.due_date.isoformat() if r.due_date else None,
                "reverses": r.reverses,
                "factor": r.factor,
                "holder": r.holder,
                "bucket": r.bucket,
                "year": r.year,
                "amount": float(r.amount),
            }
            for r in rows
        ]

    def overdue_loans(self, today: date) -> list[dict[str, Any]]:
        """临时拆借 past their due date and not yet repaid."""
        repaid = select(quota_transactions.c.reverses).where(quota_transactions.c.reverses.is_not(None))
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(quota_transactions)
                .where(
                    quota_transactions.c.kind == "loan",
                    quota_transactions.c.due_date < today,
                    quota_transactions.c.id.not_in(repaid),
                )
                .order_by(quota_transactions.c.id)
            ).all()
        return [
            {
                "loan": r.id,
                "due_date": r.due_date.isoformat(),
                "actor": r.actor,
                "reason": r.reason,
                "days_overdue": (today - r.due_date).days,
            }
            for r in rows
        ]

    def totals(self) -> dict[str, Decimal]:
        """Per factor: the sum of internal balances (what the invariant checks)."""
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(quota_accounts.c.factor, func.sum(quota_accounts.c.balance))
                .where(~quota_accounts.c.holder.startswith(EXTERNAL_PREFIX))
                .group_by(quota_accounts.c.factor)
            ).all()
        return {f: Decimal(s) for f, s in rows}

    def projects(self) -> list[dict[str, Any]]:
        """Projects with their county, first review and stage (reserved / approved / revoked)."""
        with self.engine.connect() as conn:
            rows = conn.execute(select(quota_projects).order_by(quota_projects.c.created, quota_projects.c.id)).all()
            held = conn.execute(
                select(quota_accounts.c.holder, quota_accounts.c.bucket, func.sum(quota_accounts.c.balance))
                .where(quota_accounts.c.holder.startswith(PROJECT_PREFIX))
                .group_by(quota_accounts.c.holder, quota_accounts.c.bucket)
            ).all()
        by_project: dict[str, dict[str, float]] = {}
        for holder, bucket, total in held:
            by_project.setdefault(holder.removeprefix(PROJECT_PREFIX), {})[bucket] = float(total)
        out = []
        for r in rows:
            buckets = by_project.get(r.id, {})
            stage = "approved" if buckets.get("approved") else "reserved" if buckets.get("reserved") else "revoked"
            out.append(
                {
                    "id": r.id,
                    "name": r.name,
                    "level": r.level,
                    "project_type": r.project_type,
                    "county": r.county,
                    "review_id": r.review_id,
                    "stage": stage,
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
