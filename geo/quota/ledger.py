"""The factor ledger (要素保障库): double-entry accounts of land, energy and emission quotas.

Every movement is one database transaction whose postings sum to zero per factor;
nothing is ever updated in place except an account's running balance, which the
postings always add up to. Quota enters from ``external:*`` accounts (the
province's plan, point supply, rewards), so the internal balances of a factor
always sum to what was issued, supplied and rewarded.

Writers are serialised per account: ``SELECT … FOR UPDATE`` on PostgreSQL,
``BEGIN IMMEDIATE`` on SQLite, so concurrent reservations never overdraw.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, Engine, func, insert, select, tuple_, update
from sqlalchemy.exc import IntegrityError

from geo.db import insert_ignoring_duplicates
from geo.errors import NotFoundError, QuotaError
from geo.quota.tables import quota_accounts, quota_holders, quota_postings, quota_projects, quota_transactions
from geo.review.result import ReviewResult

log = logging.getLogger(__name__)

FACTORS: dict[str, tuple[str, str]] = {
    "land_new": ("新增建设用地计划指标", "m²"),
    "land_compensation": ("占补平衡指标（非水田）", "m²"),
    "land_compensation_paddy": ("占补平衡指标（水田）", "m²"),
    "energy": ("能耗指标", "吨标准煤"),
    "cod": ("化学需氧量", "吨"),
    "nh3n": ("氨氮", "吨"),
    "so2": ("二氧化硫", "吨"),
    "nox": ("氮氧化物", "吨"),
}
PROJECT_LEVELS = ("省重点", "市重点", "县重点")
CITY = "city"
PROVINCE = "external:province"
POINT_SUPPLY = "external:point_supply"
REWARD = "external:stock_reward"
ZERO = Decimal(0)

Key = tuple[str, str, str, int]  # factor, holder, bucket, year


def amount(value: float | Decimal | str) -> Decimal:
    """A quota amount rounded to the ledger's four decimals."""
    return Decimal(str(value)).quantize(Decimal("0.0001"))


def _check_factor(factor: str) -> None:
    if factor not in FACTORS:
        raise QuotaError(f"unknown factor {factor!r}; factors: {sorted(FACTORS)}", f"未知要素 {factor!r}")


def project_holder(project_id: str) -> str:
    return f"project:{project_id}"


@dataclass(frozen=True)
class Posting:
    factor: str
    holder: str
    bucket: str
    year: int
    amount: Decimal

    @property
    def key(self) -> Key:
        return (self.factor, self.holder, self.bucket, self.year)


def move(
    factor: str,
    year: int,
    value: Decimal,
    source: tuple[str, str],
    target: tuple[str, str],
    target_year: int | None = None,
) -> list[Posting]:
    """Two postings: ``value`` out of ``source`` (holder, bucket) into ``target``."""
    return [
        Posting(factor, source[0], source[1], year, -value),
        Posting(factor, target[0], target[1], target_year if target_year is not None else year, value),
    ]


class Ledger:
    """Ledger operations over one SQLAlchemy engine (SQLite file or PostgreSQL)."""

    def __init__(self, engine: Engine, *, pooling_share: float = 0.3, reward_ratio: float = 0.5):
        if not 0 <= pooling_share < 1:
            raise QuotaError(f"pooling share {pooling_share} must be in [0, 1)", "统筹比例须在 0 到 1 之间")
        self.engine = engine
        self.pooling_share = Decimal(str(pooling_share))
        self.reward_ratio = Decimal(str(reward_ratio))

    # --- the one primitive ------------------------------------------------------------------------

    @contextmanager
    def _writing(self) -> Iterator[Connection]:
        with self.engine.connect().execution_options(lantu_immediate=True) as conn, conn.begin():
            yield conn

    def _post(
        self,
        conn: Connection,
        kind: str,
        postings: list[Posting],
        *,
        actor: str,
        reason: str,
        negative_ok: Iterable[Key] = (),
        **meta: Any,
    ) -> int:
        """Record one balanced transaction; refuse it whole if an internal balance would go below zero."""
        postings = [p for p in postings if p.amount != 0]
        if not postings:
            raise QuotaError("nothing to move (all amounts are zero)", "变动金额均为零")
        for factor in {p.factor for p in postings}:
            total = sum((p.amount for p in postings if p.factor == factor), ZERO)
            if total != 0:
                raise AssertionError(f"unbalanced {kind}: {factor} sums to {total}")
        keys = sorted({p.key for p in postings})
        self._ensure_accounts(conn, keys)
        rows = conn.execute(
            select(quota_accounts)
            .where(
                tuple_(
                    quota_accounts.c.factor,
                    quota_accounts.c.holder,
                    quota_accounts.c.bucket,
                    quota_accounts.c.year,
                ).in_(keys)
            )
            .order_by(quota_accounts.c.id)
            .with_for_update()
        ).all()
        accounts = {(r.factor, r.holder, r.bucket, r.year): r for r in rows}
        allowed = set(negative_ok)
        changes: dict[Key, Decimal] = {}
        for p in postings:
            changes[p.key] = changes.get(p.key, ZERO) + p.amount
        for key, change in changes.items():
            after = accounts[key].balance + change
            if after < 0 and not key[1].startswith("external:") and key not in allowed:
                factor, holder, bucket, year = key
                have, need, unit = accounts[key].balance, -change, FACTORS[factor][1]
                raise QuotaError(
                    f"{holder} has {have:,.2f} {unit} of {factor} ({bucket}, {year}); {need:,.2f} needed",
                    f"{holder} 的{FACTORS[factor][0]}（{year}年，{bucket}）余额 {have:,.2f} {unit}，"
                    f"需 {need:,.2f} {unit}，指标不足",
                )
        tx_id = conn.execute(
            insert(quota_transactions)
            .values(kind=kind, created=datetime.now(UTC), actor=actor, reason=reason, **meta)
            .returning(quota_transactions.c.id)
        ).scalar_one()
        conn.execute(
            insert(quota_postings),
            [{"transaction_id": tx_id, "account_id": accounts[p.key].id, "amount": p.amount} for p in postings],
        )
        for key, change in changes.items():
            conn.execute(
                update(quota_accounts)
                .where(quota_accounts.c.id == accounts[key].id)
                .values(balance=quota_accounts.c.balance + change)
            )
        log.info("quota %s #%d by %s: %d postings (%s)", kind, tx_id, actor, len(postings), reason)
        return int(tx_id)

    def _ensure_accounts(self, conn: Connection, keys: list[Key]) -> None:
        conn.execute(
            insert_ignoring_duplicates(conn, quota_accounts),
            [{"factor": f, "holder": h, "bucket": b, "year": y, "balance": ZERO} for f, h, b, y in keys],
        )

    def _idempotent(self, conn: Connection, key: str | None) -> int | None:
        if key is None:
            return None
        found = conn.execute(select(quota_transactions.c.id).where(quota_transactions.c.idempotency_key == key))
        return found.scalar_one_or_none()

    def register_counties(self, counties: Iterable[tuple[str, str]]) -> int:
        """The counties that may hold quota (code, name), e.g. from the blueprint's county layer."""
        rows = [{"code": str(code), "name": str(name)} for code, name in counties]
        if rows:
            with self.engine.begin() as conn:
                conn.execute(insert_ignoring_duplicates(conn, quota_holders), rows)
        return len(rows)

    def counties(self) -> dict[str, str]:
        with self.engine.connect() as conn:
            return {r.code: r.name for r in conn.execute(select(quota_holders)).all()}

    def _county(self, code: str) -> str:
        with self.engine.connect() as conn:
            known = conn.execute(select(quota_holders.c.code).where(quota_holders.c.code == code)).first()
        if known is None:
            raise QuotaError(
                f"unknown county {code!r} (register counties with `lantu quota init --blueprint`)",
                f"未知区县 {code!r}（请先用蓝图的区县图层登记区县）",
            )
        return code

    # --- movements --------------------------------------------------------------------------------

    def issue(
        self,
        year: int,
        rows: Iterable[tuple[str, str, float | Decimal]],
        *,
        actor: str,
        reason: str = "下达年度计划指标",
    ) -> int:
        """下达: the province's plan to counties.

        ``pooling_share`` of each county's land_new goes to the city pool (市级统筹).
        """
        postings: list[Posting] = []
        for county, factor, value in rows:
            _check_factor(factor)
            total = amount(value)
            if total <= 0:
                raise QuotaError(f"issue amount for {county}/{factor} must be positive", "下达指标须为正数")
            pooled = amount(total * self.pooling_share) if factor == "land_new" else ZERO
            postings += move(factor, year, total - pooled, (PROVINCE, "available"), (self._county(county), "available"))
            if pooled:
                postings += move(factor, year, pooled, (PROVINCE, "available"), (CITY, "available"))
        with self._writing() as conn:
            return self._post(conn, "issue", postings, actor=actor, reason=reason)

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
        """配置: set aside a reviewed parcel's new-construction and compensation quota for a project.

        Idempotent per (project, review, parcel): reserving twice returns the first transaction.
        """
        parcels = [p for p in review.parcels if parcel_id is None or p.id == parcel_id]
        if len(parcels) != 1:
            raise QuotaError(
                f"review {review.review_id} has {len(review.parcels)} parcels; say which one (parcel id)",
                "审查结果含多个地块，请指定地块编号",
            )
        parcel = parcels[0]
        if parcel.verdict == "reject":
            raise QuotaError(
                f"parcel {parcel.id} was rejected by the review; no quota can be reserved",
                f"地块 {parcel.id} 审查结论为否决，不能配置用地指标",
            )
        quota = parcel.land_quota
        if quota.new_construction_quota_m2 is None or quota.compensation_m2 is None:
            raise QuotaError(
                "the review has no land-use figures (land_use layer missing)",
                "审查结果缺少地类数据（缺少土地利用现状图层），无法配置指标",
            )
        holder_county = county or (parcel.county.code if parcel.county else None)
        if holder_county is None:
            raise QuotaError(
                "the parcel lies in no county of the blueprint; give the county code",
                "地块不在蓝图的任何区县内，请指定区县代码",
            )
        self._county(holder_county)
        if level is not None and level not in PROJECT_LEVELS:
            raise QuotaError(
                f"project level {level!r} is not one of {list(PROJECT_LEVELS)}",
                f"项目层级 {level!r} 应为 {'、'.join(PROJECT_LEVELS)} 之一",
            )
        paddy = amount(quota.paddy_m2 or 0)
        wanted = {
            "land_new": amount(quota.new_construction_quota_m2),
            "land_compensation": amount(quota.compensation_m2) - paddy,
            "land_compensation_paddy": paddy,
        }
        payer = source or holder_county
        postings = [
            p
            for factor, value in wanted.items()
            for p in move(factor, year, value, (payer, "available"), (project_holder(project_id), "reserved"))
        ]
        key = f"reserve:{project_id}:{review.review_id}:{parcel.id}"
        with self._writing() as conn:
            if (done := self._idempotent(conn, key)) is not None:
                return done
            conn.execute(
                insert_ignoring_duplicates(conn, quota_projects),
                [
                    {
                        "id": project_id,
                        "name": name or parcel.name,
                        "level": level,
                        "project_type": parcel.project_type,
                        "county": holder_county,
                        "review_id": review.review_id,
                        "created": datetime.now(UTC),
                    }
                ],
            )
            if not any(p.amount for p in postings):
                raise QuotaError(
                    f"parcel {parcel.id} needs no land quota (no farmland or unused land outside stock land)",
                    f"地块 {parcel.id} 不占用存量以外的农用地和未利用地，无需配置用地指标",
                )
            try:
                return self._post(
                    conn,
                    "reserve",
                    postings,
                    actor=actor,
                    reason=reason,
                    review_id=review.review_id,
                    project_id=project_id,
                    idempotency_key=key,
                )
            except IntegrityError:  # a concurrent twin won the race for the same key
                conn.rollback()
        with self.engine.connect() as conn:
            done = self._idempotent(conn, key)
            assert done is not None
            return done

    def _project_balances(self, conn: Connection, project_id: str) -> list[Any]:
        query = select(quota_accounts).where(
            quota_accounts.c.holder == project_holder(project_id), quota_accounts.c.balance != 0
        )
        return list(conn.execute(query).all())

    def _project(self, conn: Connection, project_id: str) -> Any:
        row = conn.execute(select(quota_projects).where(quota_projects.c.id == project_id)).first()
        if row is None:
            raise NotFoundError(f"no project {project_id!r} in the ledger", f"指标台账中没有项目 {project_id!r}")
        return row

    def confirm(self, project_id: str, *, actor: str, reason: str = "项目用地批准") -> int:
        """批准: the reserved quota becomes approved (used)."""
        with self._writing() as conn:
            self._project(conn, project_id)
            held = [a for a in self._project_balances(conn, project_id) if a.bucket == "reserved"]
            if not held:
                raise QuotaError(f"project {project_id} has nothing reserved", f"项目 {project_id} 没有已配置的指标")
            postings = [
                p
                for a in held
                for p in move(a.factor, a.year, a.balance, (a.holder, "reserved"), (a.holder, "approved"))
            ]
            return self._post(conn, "confirm", postings, actor=actor, reason=reason, project_id=project_id)

    def revoke(self, project_id: str, *, actor: str, reason: str = "项目撤销，收回指标") -> int:
        """收回: everything the project holds goes back to its county."""
        with self._writing() as conn:
            project = self._project(conn, project_id)
            held = self._project_balances(conn, project_id)
            if not held:
                raise QuotaError(f"project {project_id} holds no quota", f"项目 {project_id} 未持有指标")
            postings = [
                p
                for a in held
                for p in move(a.factor, a.year, a.balance, (a.holder, a.bucket), (project.county, "available"))
            ]
            return self._post(conn, "revoke", postings, actor=actor, reason=reason, project_id=project_id)

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
        _check_factor(factor)
        self._county(county)
        postings = move(factor, year + 1, amount(value), (county, "available"), (county, "available"), year)
        with self._writing() as conn:
            return self._post(
                conn,
                "advance",
                postings,
                actor=actor,
                reason=reason,
                negative_ok=[(factor, county, "available", year + 1)],
            )

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
        _check_factor(factor)
        if holder != CITY:
            self._county(holder)
        with self._writing() as conn:
            return self._post(
                conn,
                "point_supply",
                move(factor, year, amount(value), (POINT_SUPPLY, "available"), (holder, "available")),
                actor=actor,
                reason=reason,
            )

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
        self._county(county)
        value = amount(Decimal(str(disposed_m2)) * self.reward_ratio)
        with self._writing() as conn:
            return self._post(
                conn,
                "stock_reward",
                move("land_new", year, value, (REWARD, "available"), (county, "available")),
                actor=actor,
                reason=f"{reason}（处置 {disposed_m2} m²，比例 {self.reward_ratio}）",
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
        _check_factor(factor)
        for holder in (source, target):
            if holder != CITY:
                self._county(holder)
        if source == target:
            raise QuotaError("source and target are the same holder", "调出方与调入方相同")
        kind = "loan" if due_date else "transfer"
        text = reason or ("临时拆借" if due_date else "有偿调剂")
        with self._writing() as conn:
            return self._post(
                conn,
                kind,
                move(factor, year, amount(value), (source, "available"), (target, "available")),
                actor=actor,
                reason=text,
                due_date=due_date,
                price_wan=Decimal(str(price_wan)) if price_wan is not None else None,
            )

    def reverse(self, transaction_id: int, *, actor: str, reason: str) -> int:
        """A mistake is undone by a new, opposite movement, never by editing the old one."""
        with self._writing() as conn:
            tx = conn.execute(select(quota_transactions).where(quota_transactions.c.id == transaction_id)).first()
            if tx is None:
                raise NotFoundError(f"no transaction #{transaction_id}", f"没有第 {transaction_id} 号交易")
            if conn.execute(
                select(quota_transactions.c.id).where(quota_transactions.c.reverses == transaction_id)
            ).first():
                raise QuotaError(f"transaction #{transaction_id} was reversed already", "该交易已被冲销")
            rows = conn.execute(
                select(
                    quota_accounts.c.factor,
                    quota_accounts.c.holder,
                    quota_accounts.c.bucket,
                    quota_accounts.c.year,
                    quota_postings.c.amount,
                )
                .join(quota_accounts, quota_accounts.c.id == quota_postings.c.account_id)
                .where(quota_postings.c.transaction_id == transaction_id)
            ).all()
            postings = [Posting(r.factor, r.holder, r.bucket, r.year, -r.amount) for r in rows]
            return self._post(
                conn,
                "reversal",
                postings,
                actor=actor,
                reason=reason,
                reverses=transaction_id,
                project_id=tx.project_id,
            )

    def repay(self, loan_id: int, *, actor: str) -> int:
        """Return a temporary loan (临时拆借归还)."""
        with self.engine.connect() as conn:
            tx = conn.execute(select(quota_transactions).where(quota_transactions.c.id == loan_id)).first()
        if tx is None or tx.kind != "loan":
            raise NotFoundError(f"no loan #{loan_id}", f"没有第 {loan_id} 号拆借")
        return self.reverse(loan_id, actor=actor, reason=f"归还第 {loan_id} 号临时拆借")

    # --- reading ----------------------------------------------------------------------------------

    def balances(self, year: int | None = None, *, include_external: bool = False) -> list[dict[str, Any]]:
        query = select(quota_accounts).order_by(
            quota_accounts.c.factor, quota_accounts.c.holder, quota_accounts.c.bucket, quota_accounts.c.year
        )
        if year is not None:
            query = query.where(quota_accounts.c.year == year)
        if not include_external:
            query = query.where(~quota_accounts.c.holder.startswith("external:"))
        with self.engine.connect() as conn:
            rows = conn.execute(query).all()
        return [
            {
                "holder": r.holder.removeprefix("project:"),
                "holder_kind": _holder_kind(r.holder),
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
                select(quota_transactions).where(
                    quota_transactions.c.kind == "loan",
                    quota_transactions.c.due_date < today,
                    quota_transactions.c.id.not_in(repaid),
                )
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
                .where(~quota_accounts.c.holder.startswith("external:"))
                .group_by(quota_accounts.c.factor)
            ).all()
        return {f: Decimal(s) for f, s in rows}

    def projects(self) -> list[dict[str, Any]]:
        with self.engine.connect() as conn:
            rows = conn.execute(select(quota_projects).order_by(quota_projects.c.created)).all()
            held = conn.execute(
                select(quota_accounts.c.holder, quota_accounts.c.bucket, func.sum(quota_accounts.c.balance))
                .where(quota_accounts.c.holder.startswith("project:"))
                .group_by(quota_accounts.c.holder, quota_accounts.c.bucket)
            ).all()
        by_project: dict[str, dict[str, float]] = {}
        for holder, bucket, total in held:
            by_project.setdefault(holder.removeprefix("project:"), {})[bucket] = float(total)
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


def _holder_kind(holder: str) -> str:
    if holder == CITY:
        return "city"
    if holder.startswith("project:"):
        return "project"
    if holder.startswith("external:"):
        return "external"
    return "county"
