"""The one primitive that writes the journal: a balanced transaction, all or nothing.

Every movement opens :func:`writing` once and calls :func:`post` inside it, so its
checks, the transaction row, its postings and the new balances commit together.
Writers are serialised: per account on PostgreSQL (``SELECT … FOR UPDATE``), the whole
database on SQLite (``BEGIN IMMEDIATE`` takes its one write lock), so concurrent movements
never overdraw.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, Engine, insert, select, tuple_, update

from geo.db import insert_ignoring_duplicates
from geo.errors import InputError, QuotaError
from geo.quota.accounts import EXTERNAL_PREFIX, FACTORS, ZERO, Key, Posting
from geo.quota.queries import BUCKETS, holder_name
from geo.quota.report import area_texts
from geo.quota.tables import (
    AMOUNT_LIMIT,
    postings_by_account,
    quota_accounts,
    quota_holders,
    quota_postings,
    quota_transactions,
)
from geo.vocabulary import check_actor, check_printable

log = logging.getLogger(__name__)


@contextmanager
def writing(engine: Engine) -> Iterator[Connection]:
    """One write transaction (SQLite takes the write lock at BEGIN)."""
    with engine.connect().execution_options(lantu_immediate=True) as conn, conn.begin():
        yield conn


def post(
    conn: Connection,
    kind: str,
    postings: list[Posting],
    *,
    actor: str,
    reason: str,
    negative_ok: Iterable[Key] = (),
    **meta: Any,
) -> int:
    """Record one balanced transaction; refuse it whole if an internal balance would go below zero, or any posting
    or balance beyond what the ledger keeps exactly (:data:`~geo.quota.tables.AMOUNT_LIMIT`, an InputError: each
    amount is bounded, the sum of many is not).

    ``negative_ok`` names the accounts that may go below zero (the next-year account
    an advance draws on); ``meta`` fills the transaction's other columns.
    """
    check_actor(actor)  # a journal is read in Excel and on paper: someone, on one line
    check_printable(reason, "reason", "事由")
    if not reason.strip():  # lantu quota reverse 12 --reason '' booked a 冲销 whose 事由 said nothing
        raise InputError(
            f"the {kind} needs a reason (事由): the journal records why each movement is made",
            f"台账变动（{kind}）须填写事由：台账记录每笔变动的原因",
        )
    postings = [p for p in postings if p.amount != 0]
    if not postings:
        raise QuotaError("nothing to move (all amounts are zero)", "变动金额均为零")
    for p in postings:
        if abs(p.amount) > AMOUNT_LIMIT:  # its account's balance is bounded too, but not a posting undone in its tx
            name = FACTORS[p.factor][0]
            raise _beyond_limit(p.factor, abs(p.amount), f"{kind} would move {p.factor} by", f"本次变动的{name}")
    for factor in {p.factor for p in postings}:
        total = sum((p.amount for p in postings if p.factor == factor), ZERO)
        if total != 0:
            raise AssertionError(f"unbalanced {kind}: {factor} sums to {total}")
    accounts = lock_accounts(conn, (p.key for p in postings))
    allowed = set(negative_ok)
    changes: dict[Key, Decimal] = {}
    for p in postings:
        changes[p.key] = changes.get(p.key, ZERO) + p.amount
    # summed here as Decimal and written, not added in SQL: SQLite keeps NUMERIC as a double, and a balance
    # added there drifts from its journal (700000071301.3999 for .4); the rows are locked meanwhile
    balances = {key: accounts[key].balance + change for key, change in changes.items()}
    for key, after in balances.items():
        if after < 0 and not key[1].startswith(EXTERNAL_PREFIX) and key not in allowed:
            factor, holder, bucket, year = key
            have, need, unit = accounts[key].balance, -changes[key], FACTORS[factor][1]
            in_mu_en, in_mu_zh = _in_mu(factor, have, need)
            raise QuotaError(
                f"{holder} has {have:,.2f} {unit} of {factor} ({bucket}, {year}); {need:,.2f} needed{in_mu_en}",
                f"{_named(conn, holder)}的{FACTORS[factor][0]}（{year}年，{BUCKETS.get(bucket, bucket)}）余额 "
                f"{have:,.2f} {unit}，需 {need:,.2f} {unit}{in_mu_zh}，指标不足",
            )
        if abs(after) > AMOUNT_LIMIT:
            factor, holder, bucket, year = key
            raise _beyond_limit(
                factor,
                after,
                f"{holder}'s {factor} ({bucket}, {year}) would come to",
                f"{holder} 的{FACTORS[factor][0]}（{year}年，{bucket}）余额将为",
            )
    _refuse_paddy_beyond_quantity(conn, balances, changes)
    tx_id = conn.execute(
        insert(quota_transactions)
        .values(kind=kind, created=datetime.now(UTC), actor=actor, reason=reason, **meta)
        .returning(quota_transactions.c.id)
    ).scalar_one()
    conn.execute(
        insert(quota_postings),
        [{"transaction_id": tx_id, "account_id": accounts[p.key].id, "amount": p.amount} for p in postings],
    )
    for key, after in balances.items():
        conn.execute(update(quota_accounts).where(quota_accounts.c.id == accounts[key].id).values(balance=after))
    log.info("quota %s #%d by %s: %d postings (%s)", kind, tx_id, actor, len(postings), reason)
    return int(tx_id)


def lock_accounts(conn: Connection, keys: Iterable[Key]) -> dict[Key, Any]:
    """The accounts ``keys`` name (created where missing), locked until the write transaction ends: ``SELECT … FOR
    UPDATE`` in the order of their ids on PostgreSQL (every writer locks in that order, so no two wait on each other
    in a circle); on SQLite the write lock ``BEGIN IMMEDIATE`` took (:func:`writing`) holds the whole database already.

    A check that reads the journal after it (a repeated plan) sees what every writer of these accounts before it
    committed: PostgreSQL reads each statement of a READ COMMITTED transaction anew, and a writer that got here
    first has committed or rolled back before the lock is granted."""
    wanted = sorted(set(keys))
    _ensure_accounts(conn, wanted)
    rows = conn.execute(
        select(quota_accounts)
        .where(
            tuple_(
                quota_accounts.c.factor,
                quota_accounts.c.holder,
                quota_accounts.c.bucket,
                quota_accounts.c.year,
            ).in_(wanted)
        )
        .order_by(quota_accounts.c.id)
        .with_for_update()
    ).all()
    return {(r.factor, r.holder, r.bucket, r.year): r for r in rows}


def _in_mu(factor: str, have: Decimal, need: Decimal) -> tuple[str, str]:
    """A land factor's balance and need in 亩 too, as an officer reads them (English, Chinese), rounded as the
    ledger's tables round them (:func:`geo.quota.report.area_texts`)."""
    if FACTORS[factor][1] != "m²":
        return "", ""
    have_mu, need_mu = (area_texts(v)[2] for v in (have, need))
    return f" ({have_mu} 亩 held, {need_mu} 亩 needed)", f"（余额 {have_mu} 亩，需 {need_mu} 亩）"


PADDY_WITHIN = ("land_compensation", "land_compensation_paddy")  # 数量 (水田 included) and its 水田


def _refuse_paddy_beyond_quantity(conn: Connection, balances: dict[Key, Decimal], changes: dict[Key, Decimal]) -> None:
    """A holder's 水田 占补 quota is part of its quantity quota (国土资规〔2017〕13号: 数量、水田、粮食产能 three
    dimensions of one 补充耕地): a movement may not leave more 水田 than quantity where it adds 水田 or takes
    quantity (a plan of 40 000 水田 over 30 000 数量 made a reservation of dry land charge 35 600 of 水田)."""
    held = {(h, b, y) for f, h, b, y in balances if f in PADDY_WITHIN and not h.startswith(EXTERNAL_PREFIX)}
    for holder, bucket, year in sorted(held):
        quantity_key, paddy_key = ((f, holder, bucket, year) for f in PADDY_WITHIN)
        if changes.get(paddy_key, ZERO) <= 0 and changes.get(quantity_key, ZERO) >= 0:
            continue  # neither more 水田 nor less quantity: an earlier state is not this movement's
        quantity, paddy = (balances[k] if k in balances else _balance(conn, k) for k in (quantity_key, paddy_key))
        if paddy > quantity:
            raise QuotaError(
                f"{holder}'s 水田 compensation quota ({bucket}, {year}) would be {paddy:,.2f} m², more than its "
                f"quantity quota {quantity:,.2f} m², of which 水田 is a part (国土资规〔2017〕13号): move quantity "
                "with it",
                f"{_named(conn, holder)}的占补平衡水田指标（{year}年，{BUCKETS.get(bucket, bucket)}）"
                f"将为 {paddy:,.2f} m²，超过其数量指标 {quantity:,.2f} m²，"
                "而水田指标是数量指标的一部分（国土资规〔2017〕13号）；请同时下达或调剂数量指标",
            )


def _named(conn: Connection, holder: str) -> str:
    """A holder as an officer reads it: 任城区（370811）, 市级统筹, 项目 XM-1."""
    names = {r.code: r.name for r in conn.execute(select(quota_holders).where(quota_holders.c.code == holder))}
    name = holder_name(holder, names)
    return f"{name}（{holder}）" if holder in names else name


def _balance(conn: Connection, key: Key) -> Decimal:
    factor, holder, bucket, year = key
    found = conn.execute(
        select(quota_accounts.c.balance).where(
            quota_accounts.c.factor == factor,
            quota_accounts.c.holder == holder,
            quota_accounts.c.bucket == bucket,
            quota_accounts.c.year == year,
        )
    ).scalar()
    return Decimal(found) if found is not None else ZERO


def _beyond_limit(factor: str, amount: Decimal, what_en: str, what_zh: str) -> InputError:
    """A posting or balance of ``amount`` beyond what the ledger keeps exactly; ``what`` says whose, and how it
    would come to it."""
    unit = FACTORS[factor][1]
    return InputError(
        f"{what_en} {amount:,.4f} {unit}, beyond the ±{AMOUNT_LIMIT:,} {unit} the ledger keeps exactly to four "
        "decimals",
        f"{what_zh} {amount:,.4f} {unit}，超出台账可精确记录（保留四位小数）的范围 ±{AMOUNT_LIMIT:,} {unit}",
    )


def _ensure_accounts(conn: Connection, keys: list[Key]) -> None:
    conn.execute(
        insert_ignoring_duplicates(conn, quota_accounts),
        [{"factor": f, "holder": h, "bucket": b, "year": y, "balance": ZERO} for f, h, b, y in keys],
    )


def transaction_by_key(conn: Connection, key: str) -> Any | None:
    """The transaction recorded under an idempotency key, if any."""
    return conn.execute(select(quota_transactions).where(quota_transactions.c.idempotency_key == key)).first()


def replayed(
    conn: Connection, key: str, postings: list[Posting], *, paid_as: Mapping[Key, Key] | None = None
) -> int | None:
    """The transaction a client's request recorded under ``key`` (its Idempotency-Key) if it moved
    exactly ``postings`` (a request that rounds to the same amounts is the same request); None if
    none is recorded. The key names a request, not a state: the answer is the first transaction even
    after it was revoked or reversed. The key sent with another request is refused: a retry must
    repeat its request, and a new request needs a new key. ``paid_as``: recorded accounts read as another
    (an earmark the first request drew on, as the payer it spared: a retry finds the earmark spent)."""
    done = transaction_by_key(conn, key)
    if done is None:
        return None
    recorded = conn.execute(
        postings_by_account(quota_postings.c.amount).where(quota_postings.c.transaction_id == done.id)
    ).all()
    moved: dict[Key, Decimal] = {}
    for r in recorded:
        account = (paid_as or {}).get(tuple(r[:4]), tuple(r[:4]))
        moved[account] = moved.get(account, ZERO) + Decimal(r[4])
    asked: dict[Key, Decimal] = {}
    for p in postings:
        asked[p.key] = asked.get(p.key, ZERO) + p.amount
    if {k: v for k, v in moved.items() if v} != {k: v for k, v in asked.items() if v}:
        raise InputError(
            f"this Idempotency-Key was used for another request (transaction {done.id}); use a new key",
            f"该幂等键已用于另一笔请求（交易 {done.id}），新请求请使用新的键",
        )
    return int(done.id)
