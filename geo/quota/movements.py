"""Movements (变动): every way quota moves, each one atomic database transaction.

Each method opens one write transaction, makes its checks inside it (holders,
projects, what was reserved, what was repaid) and records one balanced journal
entry through :func:`geo.quota.posting.post`. A refused movement changes nothing.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from datetime import date
from decimal import Decimal
from typing import Any, NamedTuple, Unpack

from sqlalchemy import Connection, Engine, select
from sqlalchemy.exc import IntegrityError

from geo.db import by_id
from geo.errors import InputError, NotFoundError, QuotaError
from geo.papers import beijing
from geo.projects.library import FINAL, FUNDABLE, Project, fundable_reason, project_in, require_project
from geo.quota.accounts import (
    CITY,
    CONFIRMED_BY,
    EXTERNAL_PREFIX,
    FACTORS,
    PLAN_YEARS,
    POINT_SUPPLY,
    POLLUTANTS,
    PROJECT_PREFIX,
    PROVINCE,
    REDUCTION,
    ZERO,
    Key,
    Posting,
    amount,
    check_factor,
    move,
    movement_date,
    plan_year,
    positive_amount,
    price,
    project_holder,
    repeated_row,
)
from geo.quota.advances import advance_cap, refuse_beyond_cap
from geo.quota.holders import require_county, require_holder
from geo.quota.land import lock_reserved_land, record_land, refuse_reinstated_overlap, standing_of
from geo.quota.posting import lock_accounts, post, replayed, writing
from geo.quota.queries import BUCKETS, KINDS, REPAYMENT_REASON
from geo.quota.reservations import (
    ReservationRequest,
    already_reserved,
    bind_library_project,
    bind_project,
    check_project,
    county_new,
    earmarked_first,
    funding,
    named_project,
    plan_reservation,
    project_row,
    reservation_postings,
    tracked_parts,
)
from geo.quota.rules import LedgerRules, ReductionAdvance
from geo.quota.standing import (
    cancelled,
    reinstated,
    settled_advance,
    settled_advances,
    settlement_key,
    undone,
    undone_after,
)
from geo.quota.stock import penalising_settlement, penalty_reason, reward_settled_since
from geo.quota.tables import (
    amount_sum,
    postings_by_account,
    quota_accounts,
    quota_postings,
    quota_transactions,
)
from geo.review.result import MAX_ID_CHARS, MAX_NAME_CHARS, ReviewResult
from geo.vocabulary import check_single_line, project_types


def _project_accounts(conn: Connection, project_id: str, *, bucket: str | None = None) -> list[Posting]:
    """The project's non-zero accounts (of one bucket if given), as postings of their balances."""
    query = select(quota_accounts).where(
        quota_accounts.c.holder == project_holder(project_id), quota_accounts.c.balance != 0
    )
    if bucket is not None:
        query = query.where(quota_accounts.c.bucket == bucket)
    rows = conn.execute(query).all()
    return [Posting(r.factor, r.holder, r.bucket, r.year, r.balance) for r in rows]


def _require_project(conn: Connection, project_id: str) -> tuple[str, str]:
    """The project's id as the ledger keeps it (``ＸＭ-1`` names ``XM-1``: :func:`project_row`) and its county;
    NotFoundError for a project the ledger does not know."""
    row = project_row(conn, project_id)
    if row is None:
        raise NotFoundError(f"no project {project_id!r} in the ledger", f"指标台账中没有项目 {project_id!r}")
    return str(row.id), str(row.county)


def _refuse_unconfirmable(conn: Connection, project_id: str) -> None:
    """批准 only for a library project from 储备 to 建设, the stages that take quota (``FUNDABLE``, as a
    reservation): land is approved while the project is generated and approved (兰州 兰政办发〔2020〕149号
    三、(二) 项目生成阶段 and (三) 项目审批阶段 "土地跟着项目走"; 济宁 济政办字〔2020〕52号 三、(一)1 "在批准用地时直接
    配置计划指标"); (五) 项目竣工阶段 lists no quota, so a finished project's reserved quota is not approved but
    taken back (收回, 聊城《重点项目推进全周期服务办法》第二十条); a 撤销 project holds none. Read inside the
    movement's write transaction, so a stage change cannot interleave. A ledger project the library does not
    hold (recorded before it) keeps the rule it had."""
    project = project_in(conn, project_id)
    if project is None or project.stage in FUNDABLE:
        return
    raise QuotaError(
        f"project {project_id} is at stage {project.stage}: quota is approved (批准) for projects from 储备 to 建设; "
        "a finished or withdrawn project takes no more (兰政办发〔2020〕149号 三(五)); give back what it holds with "
        "a lapse (收回, `lantu quota lapse --reason …`)",
        f"项目 {project_id} 处于{project.stage}阶段，指标批准仅限储备、审批、建设阶段的项目；"
        "竣工或撤销的项目不再配置指标（兰政办发〔2020〕149号 三(五)），其仍持有的指标请以收回（lapse，说明理由）退回",
    )


def _refuse_earmark_to_final(project: Project) -> None:
    """点供 is earmarked only to a project that will still take quota: a finished one takes none (兰州
    兰政办发〔2020〕149号 三、(五) 项目竣工阶段 lists none of the quotas), a withdrawn one gives back what it held
    (聊城《重点项目推进全周期服务办法》第二十条 "不再实施的项目,要素指标依法收回"); a reservation and a 批准 refuse
    them alike, so an earmark to them would only wait for the 点供's reversal."""
    if project.stage in FINAL:
        raise QuotaError(
            f"project {project.id} is {project.stage}: a finished or withdrawn project takes no quota "
            "(兰政办发〔2020〕149号 三(五); 聊城 重点项目推进全周期服务办法 第二十条), so no 点供 is earmarked to it",
            f"项目 {project.id} 已{project.stage}，竣工或撤销的项目不再配置指标（兰政办发〔2020〕149号 三(五)；"
            "聊城《重点项目推进全周期服务办法》第二十条），不能将点供指标专用于该项目",
        )


def _refuse_other_county(project: Project, county: str) -> None:
    """A project's factors go to its own county (a project belongs to one county)."""
    if project.county != county:
        raise QuotaError(
            f"project {project.id} is in county {project.county}, not {county}",
            f"项目 {project.id} 位于区县 {project.county}，不属于 {county}",
        )


def _refuse_reduction_advance(project: Project, county: str, rule: ReductionAdvance) -> None:
    """削减量预支 only for a project of the library (先入库后保障), of ``county``, at a stage that takes factors
    (:func:`~geo.projects.library.fundable_reason`) and at a level the city's text names (``rule``: 济宁 52号 三、(三)3
    "对省级、市级重点保障项目", 兰州 149号 四、(六)2 "市级项目"): an advance booked per county with no project served
    any project, or none."""
    _refuse_other_county(project, county)
    if (why := fundable_reason(project)) is not None:
        raise QuotaError(*why)
    if project.level not in rule.levels:
        levels = "、".join(rule.levels) or "无"
        raise QuotaError(
            f"project {project.id} is {project.level}: a pollutant reduction is advanced (削减量预支) only for "
            f"projects of level {', '.join(rule.levels) or 'none'} ({rule.basis}); its 总量 is reserved from the "
            "county's quota (lantu quota reserve-factors)",
            f"项目 {project.id} 为{project.level}项目，污染物削减量预支仅限{levels}项目（{rule.basis}），"
            "其污染物总量指标请从区县指标中配置（lantu quota reserve-factors）",
        )


def _reverse(
    conn: Connection, transaction_id: int, *, actor: str, reason: str, cap_share: float, repaying: bool = False
) -> int:
    """A new movement opposite to ``transaction_id``; refused when what it puts back in force (a reversed
    settlement) was settled again since (:func:`geo.quota.standing.reinstated`), when it would leave a county's
    advances beyond the 预支 cap, ``cap_share`` of the plan (:func:`geo.quota.advances.refuse_beyond_cap`), or a
    reservation it puts back in force overlaps land reserved while it was released
    (:func:`geo.quota.land.refuse_reinstated_overlap`)."""
    tx = conn.execute(by_id(quota_transactions, transaction_id)).first()
    if tx is None:
        raise NotFoundError(f"no transaction #{transaction_id}", f"没有第 {transaction_id} 号交易")
    rows = conn.execute(
        postings_by_account(quota_postings.c.amount).where(quota_postings.c.transaction_id == transaction_id)
    ).all()
    postings = [Posting(r.factor, r.holder, r.bucket, r.year, -r.amount) for r in rows]
    # a reversal may put a project's reservations back in force (of a 撤回 or 收回, of a reversed reservation): its
    # land is checked after it is written, with the counties held first, as a reservation holds them
    ledger_project = None if tx.project_id is None else project_row(conn, tx.project_id)
    if ledger_project is not None:
        lock_reserved_land(conn)
    # before the checks, as an issue does: a twin waits for this one
    accounts = lock_accounts(conn, (p.key for p in postings))
    back = reinstated(conn, transaction_id)
    for again in back:
        if (why := _settled_since(conn, again)) is not None:
            raise QuotaError(*why)
    _refuse_counted_twice(conn, tx, back)
    # a 撤销 project holds no quota again, whatever the reversal (of a 撤回 or 收回, of a reversed reservation), and a
    # finished one no 点供 earmark (the reversal of a 点供's reversal), as none is given it (_refuse_earmark_to_final)
    gaining = sorted({p.holder for p in postings if p.amount > 0 and p.holder.startswith(PROJECT_PREFIX)})
    earmarked = {p.holder for p in postings if p.amount > 0 and p.bucket == "earmarked"}
    for holder in gaining:
        project = project_in(conn, holder.removeprefix(PROJECT_PREFIX))
        if project is not None and project.stage == "撤销":
            raise QuotaError(
                f"reversing transaction #{transaction_id} would give quota back to project {project.id}, which is "
                "撤销 since: it cannot hold quota again",
                f"冲销第 {transaction_id} 号交易将使项目 {project.id} 重新持有指标，该项目已撤销，不能再持有指标",
            )
        if project is not None and project.stage in FINAL and holder in earmarked:
            raise QuotaError(
                f"reversing transaction #{transaction_id} would earmark 点供 to project {project.id} again, which is "
                f"{project.stage} since: a finished project takes no quota",
                f"冲销第 {transaction_id} 号交易将使点供指标重新专用于项目 {project.id}，该项目已{project.stage}，"
                "不再配置指标",
            )
    gone = (undone(conn), undone_after(conn, transaction_id))
    refuse_beyond_cap(conn, transaction_id, tx.kind, postings, cap_share, gone)
    held = {key: Decimal(row.balance) for key, row in accounts.items()}
    owed = _refuse_spent_since(conn, tx, postings, held, repaying=repaying)
    standing = None if ledger_project is None else standing_of(conn, ledger_project.id)
    reversal = post(
        conn,
        "reversal",
        postings,
        actor=actor,
        reason=reason,
        reverses=transaction_id,
        project_id=tx.project_id,
        negative_ok=owed,
    )
    if ledger_project is not None and standing is not None:  # refused: the transaction rolls back, reversal and all
        refuse_reinstated_overlap(conn, ledger_project.id, standing, transaction_id)
    return reversal


def _refuse_spent_since(
    conn: Connection, tx: Any, postings: list[Posting], held: Mapping[Key, Decimal], *, repaying: bool = False
) -> list[Key]:
    """The accounts a reversal of ``tx`` may leave below zero, else QuotaError naming what was spent of what ``tx``
    gave. A reversal puts the books back as they would be without ``tx``: an account may be left as far below zero
    as it stood just before ``tx`` (an advance (预支) still owed then: "an issue … stays below zero by what is still
    owed", DESIGN.md 下达), never further; below that, what ``tx`` gave was moved on since (reserved, transferred),
    and those movements are undone first (a wrong plan of 1,000,000 m² met a 10,000 m² advance: its reversal was
    refused as 指标不足, 690,000 held beside 700,000 needed). The floor is not what advances ever drew: one the
    year's issue has repaid owes nothing, and a reversal below zero would book a debt no one has."""
    change: dict[Key, Decimal] = {}
    for p in postings:
        change[p.key] = change.get(p.key, ZERO) + p.amount
    owed: list[Key] = []
    for key, taken in sorted(change.items()):
        after = held[key] + taken
        if after >= 0 or key[1].startswith(EXTERNAL_PREFIX):
            continue
        drawn = _deficit_before(conn, key, tx.id)
        if after >= -drawn:
            owed.append(key)
            continue
        factor, holder, bucket, year = key
        unit, spent = FACTORS[factor][1], -after - drawn
        since = _taken_since(conn, key, tx.id)
        ids_en = ", ".join(f"#{i} {k}" for i, k in since) or "none in force"
        ids_zh = "、".join(f"第 {i} 号{KINDS.get(k, k)}" for i, k in since) or "无"
        owes_en = f" ({drawn:,.2f} {unit} below zero as before #{tx.id}, an advance owed, may stay)" if drawn else ""
        owes_zh = f"（第 {tx.id} 号交易前的预支未还 {drawn:,.2f} {unit} 可保留为负）" if drawn else ""
        # a loan is repaid from what the borrower holds: bringing it back up serves as well as undoing what it spent
        # (the refusal named only the reservation to reverse, and a 点供 since let the repayment through: officer)
        # ``repaying``: a loan's reversal as its repayment (``repay``), not a correction of it
        doing_en = f"repaying loan #{tx.id}" if repaying else f"reversing transaction #{tx.id} ({tx.kind})"
        doing_zh = "归还" if repaying else "冲销"
        then_en = (
            f"bring {holder}'s balance back up first (a 点供, a transfer in), or reverse or release those"
            if repaying
            else "reverse or release those first"
        )
        then_zh = (
            f"请先补足 {holder} 的余额（点供、调入），或冲销、收回这些交易" if repaying else "请先冲销或收回这些交易"
        )
        raise QuotaError(
            f"{doing_en} would take {-taken:,.2f} {unit} of {factor} ({bucket}, "
            f"{year}) from {holder}, which holds {held[key]:,.2f} {unit}{owes_en}: {spent:,.2f} {unit} of what "
            f"#{tx.id} gave was spent since (transactions taking from it: {ids_en}); {then_en}",
            f"{doing_zh}第 {tx.id} 号交易将从 {holder} 的{FACTORS[factor][0]}"
            f"（{year}年，{BUCKETS.get(bucket, bucket)}）扣回 {-taken:,.2f} {unit}，其余额为 {held[key]:,.2f} {unit}"
            f"{owes_zh}：该交易所给指标中已有 {spent:,.2f} {unit} 在此后被使用（此后从该账户支出的交易：{ids_zh}），"
            f"{then_zh}",
        )
    return owed


def _of_account(key: Key) -> tuple[Any, ...]:
    """The conditions that select the account ``key``'s rows (factor, holder, bucket, year)."""
    a = quota_accounts.c
    factor, holder, bucket, year = key
    return a.factor == factor, a.holder == holder, a.bucket == bucket, a.year == year


def _deficit_before(conn: Connection, key: Key, tx_id: int) -> Decimal:
    """How far below zero the transactions before ``tx_id`` that still stand leave the account ``key`` (an advance
    (预支) still owed; nothing where they leave it at zero or above): how far a reversal of ``tx_id`` may leave it.
    A transaction undone since, and its reversal, count for nothing: an advance reversed owes nothing, a gift
    reversed spent nothing (read-through)."""
    t, p = quota_transactions.c, quota_postings.c
    total = conn.execute(
        select(amount_sum(p.amount))
        .join(quota_accounts, quota_accounts.c.id == p.account_id)
        .join(quota_transactions, t.id == p.transaction_id)
        .where(t.id < tx_id, t.id.not_in(cancelled(conn)), *_of_account(key))
    ).scalar()
    return max(-Decimal(total), ZERO) if total else ZERO


def _taken_since(conn: Connection, key: Key, after_id: int) -> list[tuple[int, str]]:
    """The transactions in force after ``after_id`` that took from the account ``key`` (id, kind): where what a
    reversed transaction gave went. An advance (预支) made since is one: the floor a reversal may leave is the deficit
    before the transaction (:func:`_deficit_before`), so what an advance drew since is spent like any other."""
    t, a, p = quota_transactions.c, quota_accounts.c, quota_postings.c
    rows = conn.execute(
        select(t.id, t.kind)
        .join_from(quota_postings, quota_accounts, a.id == p.account_id)
        .join(quota_transactions, t.id == p.transaction_id)
        .where(
            t.id > after_id,
            t.id.not_in(undone(conn)),
            *_of_account(key),
            p.amount < 0,
        )
        .order_by(t.id)
    ).all()
    return [(int(r.id), str(r.kind)) for r in rows]


def _refuse_new_moved(factor: str) -> None:
    """新增建设用地计划指标 is neither sold nor lent, by a county or the pool.

    聊城《重点项目推进全周期服务办法》第十七条 has 有偿调剂 and 临时拆借 serve 占补平衡 gaps
    ("对存在占补平衡指标缺口的,市级统筹采取有偿调剂或临时拆借的方式予以保障"), and the 新增 the city pools (30 %)
    serve key projects with a gap ("用于存在用地缺口的重点项目建设"), which a reservation from the pool checks
    (``reserve --source city``). A county sold its 新增 to another and claimed the pool for the gap it made
    itself (an officer's read); the pool's, moved to a county, paid an ordinary project past the pool's check.
    Pollutants serve 区域间统筹协调 and 排污权有偿使用和交易 (第十八条), energy 用能权交易 (济宁 52号 三（二）3):
    still transferred and lent."""
    if factor == "land_new":
        raise QuotaError(
            "new construction quota (新增建设用地计划指标) is neither transferred nor lent: paid transfers and loans "
            "serve 占补平衡 gaps (聊城 重点项目推进全周期服务办法 第十七条); a key project's 新增 gap is paid by the "
            "city pool (lantu quota reserve … --source city)",
            "新增建设用地计划指标不得有偿调剂或临时拆借：有偿调剂、临时拆借用于保障占补平衡指标缺口（聊城《重点项目推进"
            "全周期服务办法》第十七条）；重点项目的新增缺口由市级统筹配置（lantu quota reserve … --source city）",
        )


def _transfer_postings(
    conn: Connection, source: str, target: str, factor: str, year: int, value: Decimal
) -> list[Posting]:
    """The postings of a 调剂 or 拆借 of ``value`` of ``factor``. 水田 占补 quota is part of the quantity quota
    (国土资规〔2017〕13号: 数量、水田、粮食产能 of one 补充耕地), so a transfer of 水田 moves as much quantity with it,
    both legs in one entry (聊城《重点项目推进全周期服务办法》第十七条 "有偿调剂或临时拆借" of 占补平衡指标:
    moved alone, either order broke 水田 ≤ 数量 for one side). Plain quantity may not take the giver's 水田 with
    it: refused where it would leave the giver less quantity than 水田, pointing to a transfer of 水田."""
    legs = move(factor, year, value, (source, "available"), (target, "available"))
    if factor == "land_compensation_paddy":
        return legs + move("land_compensation", year, value, (source, "available"), (target, "available"))
    if factor != "land_compensation":
        return legs
    keys = [(f, source, "available", year) for f in ("land_compensation", "land_compensation_paddy")]
    quantity, paddy = (Decimal(row.balance) for row in (lock_accounts(conn, keys)[k] for k in keys))
    if paddy > 0 and quantity - value < paddy:
        plain = quantity - paddy
        raise QuotaError(
            f"{source} holds {quantity:,.2f} m² of quantity compensation quota for {year}, {paddy:,.2f} m² of it "
            f"水田: {plain:,.2f} m² is not 水田, and the transfer of {value:,.2f} m² would take 水田's quantity "
            "(国土资规〔2017〕13号: 水田 is part of 数量); transfer the rest as 水田 (land_compensation_paddy), which "
            "moves its quantity with it",
            f"{source} {year} 年占补平衡数量指标 {quantity:,.2f} m²，其中水田 {paddy:,.2f} m²，"
            f"非水田仅 {plain:,.2f} m²，调出 {value:,.2f} m² 将占用水田指标所含的数量"
            "（国土资规〔2017〕13号：水田指标是数量指标的一部分）；"
            "超出部分请以水田指标（land_compensation_paddy）调剂，其数量随之调出",
        )
    return legs


def _refuse_counted_twice(conn: Connection, tx: Any, back: frozenset[int]) -> None:
    """A reversal that would make land or a plan count twice: a 撤回 or 收回 undone gives the project its
    reservations back, refused once it has reserved anew since (the same parcel from a new review charged beside the
    old); an issue put back in force beside the identical issue booked since (a plan twice without ``--again``)."""
    t = quota_transactions.c
    if tx.kind in ("revoke", "lapse"):
        since = conn.execute(
            select(t.id)
            .where(t.kind == "reserve", t.project_id == tx.project_id, t.id > tx.id, t.id.not_in(undone(conn)))
            .order_by(t.id)
            .limit(1)
        ).scalar()
        if since is not None:
            raise QuotaError(
                f"reversing transaction #{tx.id} would give project {tx.project_id} back what it released, beside "
                f"reservation #{since} made since: the same land would be charged twice; reverse #{since} first",
                f"冲销第 {tx.id} 号交易将使项目 {tx.project_id} 重新持有已撤回的指标，而此后已有第 {since} 号配置，"
                f"同一用地将被重复核算；请先冲销第 {since} 号交易",
            )
    for again in sorted(back):
        year, rows = _issue_rows(conn, again)
        if rows and (same := _same_issue(conn, year, rows)) is not None:
            raise QuotaError(
                f"reversing transaction #{tx.id} would put issue #{again} back in force beside the identical issue "
                f"#{same[0]} booked since: the plan would count twice",
                f"冲销第 {tx.id} 号交易将使第 {again} 号下达重新生效，而此后已有相同的第 {same[0]} 号下达，"
                "计划指标将被重复计算",
            )


def _issue_rows(conn: Connection, transaction_id: int) -> tuple[int, set[tuple[str, str, Decimal]]]:
    """An issue's year and rows as :func:`_same_issue` compares them; no rows for any other transaction."""
    found = conn.execute(_issued_rows(quota_transactions.c.id == transaction_id)).all()
    return (found[0].year if found else 0), {(r.holder, r.factor, amount(Decimal(r.amount))) for r in found}


def _issued_rows(*where: Any) -> Any:
    """The rows issues gave (transaction, its time and actor, year, county, factor, amount before pooling: the
    postings into a county, the pool's share left out) among the transactions ``where`` selects."""
    t, a, p = quota_transactions.c, quota_accounts.c, quota_postings.c
    return (
        select(t.id, t.created, t.actor, a.year, a.holder, a.factor, p.amount)
        .join_from(quota_postings, quota_accounts, a.id == p.account_id)
        .join(quota_transactions, t.id == p.transaction_id)
        .where(t.kind == "issue", a.holder != CITY, p.amount > 0, *where)  # the province only gives
        .order_by(t.id)
    )


def _release(
    conn: Connection,
    project_id: str,
    county: str,
    held: list[Posting],
    owed: Mapping[Key, Decimal],
    *,
    kind: str,
    actor: str,
    reason: str,
) -> int:
    """Empty the project's accounts ``held`` (its reserved and approved ones among them) into the accounts that paid
    them, ``owed`` (per paying account, what it gets back: :func:`~geo.quota.reservations.funding`, of all the
    project holds or of its reserved quota only).

    What the project's own earmarked 点供 paid goes back to its earmark; anything the history
    cannot attribute (none in a consistent ledger) goes to the project's county.
    """
    held = [a for a in held if a.bucket in ("reserved", "approved")]
    if not held:
        raise QuotaError(f"project {project_id} holds no quota", f"项目 {project_id} 未持有指标")
    postings = [Posting(a.factor, a.holder, a.bucket, a.year, -a.amount) for a in held]
    postings += [Posting(f, h, b, y, value) for (f, h, b, y), value in owed.items()]
    remainder: dict[tuple[str, int], Decimal] = {}
    for p in postings:
        remainder[(p.factor, p.year)] = remainder.get((p.factor, p.year), ZERO) + p.amount
    postings += [Posting(f, county, "available", y, -rest) for (f, y), rest in remainder.items() if rest]
    return post(conn, kind, postings, actor=actor, reason=reason, project_id=project_id)


def _check_pollutant(factor: str) -> None:
    check_factor(factor)
    if factor not in POLLUTANTS:
        raise QuotaError(
            f"{factor} is not a pollutant ({', '.join(POLLUTANTS)})", f"{FACTORS[factor][0]}不是污染物排放总量指标"
        )


def _same_issue(conn: Connection, year: int, rows: set[tuple[str, str, Decimal]]) -> tuple[int, str, str] | None:
    """The earlier issue of ``year`` in force whose rows (county, factor, amount issued before pooling) are exactly
    ``rows``, as (transaction, Beijing time, actor); None if there is none. The province's plan arrives once: the
    same file booked twice doubles it silently."""
    found = conn.execute(
        _issued_rows(quota_transactions.c.id.not_in(undone(conn)), quota_accounts.c.year == year)
    ).all()
    issues: dict[int, tuple[str, str, set[tuple[str, str, Decimal]]]] = {}
    for r in found:
        when = beijing(r.created).strftime("%Y-%m-%d %H:%M")
        issues.setdefault(r.id, (when, r.actor, set()))[2].add((r.holder, r.factor, amount(Decimal(r.amount))))
    return next(((tx, when, actor) for tx, (when, actor, got) in issues.items() if got == rows), None)


def _penalty_settlement(conn: Connection, county: str, year: int) -> tuple[str, str] | None:
    """Why the county may not advance new construction quota in ``year`` (English, Chinese): its latest 增存挂钩
    settlement of ``year`` or before found its 五年供地率 below the threshold (自然资规〔2018〕1号 "暂停安排新增建设用地
    指标"); None when it did not. An advance serves no project, so no project's level or type exempts it."""
    latest = penalising_settlement(conn, county, year)
    if latest is None:
        return None
    rate, floor = f"{float(latest.supply_rate):.1%}", f"{float(latest.threshold):.0%}"
    return (
        f"county {county}'s five-year land supply rate was {rate} at settlement #{latest.id} ({latest.year}), below "
        f"{floor}: no new construction quota is arranged for it (增存挂钩, 自然资规〔2018〕1号), and an advance of "
        f"{year + 1}'s land_new is new construction quota to the county; refused until a settlement finds {floor} "
        "or more",
        f"{county} 近五年供地率 {rate}（{latest.year} 年第 {latest.id} 号增存挂钩核算）低于 {floor}，"
        f"暂停安排新增建设用地指标（自然资规〔2018〕1号）；预支 {year + 1} 年新增建设用地指标即向该区县安排新增指标，"
        f"不予预支，待供地率达到 {floor} 的核算后方可预支",
    )


def _open_reduction_advance(conn: Connection, advance_id: int, county: str, factor: str) -> tuple[Decimal, str]:
    """The amount of a reduction advance of ``county`` and ``factor`` in force and not settled, and the key of
    the reduction settling it; else QuotaError."""
    tx = conn.execute(by_id(quota_transactions, advance_id)).first()
    if tx is None or tx.kind != "reduction_advance":
        raise NotFoundError(f"no reduction advance #{advance_id}", f"没有第 {advance_id} 号削减量预支")
    gone = undone(conn)
    if advance_id in gone or advance_id in settled_advances(conn, gone):
        raise QuotaError(
            f"reduction advance #{advance_id} is settled or reversed", f"第 {advance_id} 号预支已归还或冲销"
        )
    rows = conn.execute(
        postings_by_account(quota_postings.c.amount).where(quota_postings.c.transaction_id == advance_id)
    ).all()
    # the leg that gave it: earmarked to a project of the county (before, the county's own available)
    got = [r for r in rows if r.factor == factor and r.amount > 0]
    if got and got[0].holder.startswith(PROJECT_PREFIX):
        got = got if require_project(conn, tx.project_id).county == county else []
    else:
        got = [r for r in got if r.holder == county]
    if not got:
        raise QuotaError(
            f"reduction advance #{advance_id} is not {county}'s {factor}", f"第 {advance_id} 号预支不属于该区县或要素"
        )
    return Decimal(got[0].amount), settlement_key(conn, advance_id)


def _settled_since(conn: Connection, transaction_id: int) -> tuple[str, str] | None:
    """Why a settlement put back in force would settle twice (English, Chinese): its 削减量预支 or its disposals
    were settled by another movement since it was reversed; None when they were not."""
    tx = conn.execute(by_id(quota_transactions, transaction_id)).one()
    if tx.kind == "stock_reward":
        return reward_settled_since(conn, transaction_id)
    advance = settled_advance(tx.idempotency_key)
    other = None if advance is None else settled_advances(conn, undone(conn)).get(advance)
    if other is None:
        return None
    return (
        f"reduction #{transaction_id} settled advance #{advance}, which reduction #{other} settled since",
        f"第 {transaction_id} 号削减量曾归还第 {advance} 号预支，该预支已由第 {other} 号削减量归还",
    )


class Reserved(NamedTuple):
    """What :meth:`Movements.reserve_parcel` did: the reservation's transaction, and whether it ``existed`` before
    (the same review, parcel and project asked again: the first transaction, the ledger unchanged)."""

    transaction: int
    existed: bool


def factors_key(project_id: str, actor: str, client_key: str) -> str:
    """The journal's idempotency key for a client's key to a project's factors: the caller's own (another caller
    sending the same key makes its own request), as a digest, since any of them may hold any separator."""
    digest = hashlib.sha256(f"{project_id}\0{actor}\0{client_key}".encode()).hexdigest()
    return f"factors:{digest}"


class Movements:
    """The movements, as methods of :class:`geo.quota.Ledger` (its engine and the city's rules).

    The 增存挂钩 settlement (journal kind ``stock_reward``) is :meth:`geo.quota.stock.StockRegister.stock_settle`.
    """

    engine: Engine
    rules: LedgerRules

    def _pooled(self, key: str, value: Decimal) -> Decimal:
        return amount(value * Decimal(str(self.rules.pooled(key))))

    def issue(
        self,
        year: int,
        rows: Iterable[tuple[str, str, float | Decimal]],
        *,
        actor: str,
        reason: str = "下达年度计划指标",
        again: bool = False,
    ) -> int:
        """下达: the province's plan to counties; the city pools its configured share of each factor (市级统筹).

        The pooled part is posted out of the county into the pool, so the journal shows what each
        county gave (聊城《重点项目推进全周期服务办法》第十七条, 第十八条). A plan gives each county and factor one
        row (:func:`~geo.quota.accounts.repeated_row`, as the CSV reader asks): two were summed, and the repeat
        check then took a different plan for the same.

        The plan is a fact and is booked whole: an issue never lowers an account (the county keeps all but the
        pooled share, the pool gains it), so an account an advance (预支) left below zero may stay below zero
        after it, the issue repaying that much of the advance; what is still owed is the account's deficit
        (``advance_outstanding`` in the balances and the report). A plan identical row for row to an earlier
        issue of the year in force (the same file booked twice) is refused, naming it, unless ``again`` says the
        province did issue it a second time (the journal's reason then says so). The check reads the journal with
        the plan's accounts locked (:func:`~geo.quota.posting.lock_accounts`), so of two identical plans posted at
        once one is booked and the other refused, on PostgreSQL as on SQLite.
        """
        year = plan_year(year)
        plan = list(rows)
        if (repeat := repeated_row((county, factor) for county, factor, _ in plan)) is not None:
            first, second = (position + 1 for position in repeat)
            county, factor, _ = plan[second - 1]
            raise InputError(
                f"the plan gives {county} {factor} twice (rows {first} and {second}): a plan has one row per county "
                "and factor",
                f"计划中区县 {county} 的 {factor} 出现两次（第 {first} 行与第 {second} 行），"
                "每个区县的每项要素只能有一行",
            )
        with writing(self.engine) as conn:
            postings: list[Posting] = []
            issued: set[tuple[str, str, Decimal]] = set()
            for county, factor, value in plan:
                check_factor(factor)
                total = positive_amount(
                    value,
                    FACTORS[factor][1],
                    (f"issue of {factor} to {county}", f"下达 {county} 的{FACTORS[factor][0]}"),
                )
                target = require_county(conn, county)
                issued.add((target, factor, total))
                postings += move(factor, year, total, (PROVINCE, "available"), (target, "available"))
                postings += move(factor, year, self._pooled(factor, total), (target, "available"), (CITY, "available"))
            # the plan's accounts locked before the journal is read: an identical plan posted at the same moment
            # waits here until this one commits, then finds it (on PostgreSQL both read the journal before either
            # wrote, and both were booked); SQLite's BEGIN IMMEDIATE serialises the whole movement already
            lock_accounts(conn, (p.key for p in postings if p.amount))
            if (same := _same_issue(conn, year, issued)) is not None:
                earlier, when, by = same
                rows_en = f"{len(issued)} row" + ("s" if len(issued) > 1 else "")
                if not again:
                    raise QuotaError(
                        f"this plan repeats issue #{earlier} of {year} (recorded {when} Beijing time by {by}) row for "
                        f"row ({rows_en}): booked again it doubles the year's plan. If the province did issue the "
                        "same quota a second time, say so (`lantu quota issue --again`, issue(again=True))",
                        f"该计划与 {year} 年第 {earlier} 号下达交易（{when}，经办人 {by}）逐行相同"
                        f"（共 {len(issued)} 行），再次登记将使该年度计划指标翻倍；如省厅确已再次下达相同指标，"
                        "请注明再次下达（lantu quota issue --again）",
                    )
                reason = f"{reason}（再次下达，与第 {earlier} 号下达逐行相同）"
            changes: dict[tuple[str, str, str, int], Decimal] = {}
            for p in postings:
                changes[p.key] = changes.get(p.key, ZERO) + p.amount
            # an issue lowers no account: one below zero (an advance outstanding) is repaid in part and may stay so
            raised = [key for key, change in changes.items() if change >= 0]
            return post(conn, "issue", postings, actor=actor, reason=reason, negative_ok=raised)

    def reserve(
        self,
        review: ReviewResult,
        *,
        actor: str,
        reason: str = "项目用地指标配置",
        **request: Unpack[ReservationRequest],
    ) -> int:
        """配置: set aside a reviewed parcel's new-construction and compensation quota for a project; its
        transaction (:meth:`reserve_parcel`, which also says whether the reservation existed before)."""
        return self.reserve_parcel(review, actor=actor, reason=reason, **request).transaction

    def reserve_parcel(
        self,
        review: ReviewResult,
        *,
        actor: str,
        reason: str = "项目用地指标配置",
        **request: Unpack[ReservationRequest],
    ) -> Reserved:
        """配置: set aside a reviewed parcel's new-construction and compensation quota for a project.

        The request's fields are :class:`geo.quota.reservations.ReservationRequest` (year and
        project id required); the rules are in :mod:`geo.quota.reservations`. Idempotent per
        reviewed parcel: reserving it again for the same project returns the first transaction, ``existed``
        (已存在: nothing moves), so that a caller says so rather than 已配置.
        """
        plan = plan_reservation(review, request, grain_yield=self.rules.grain_yield_kg_per_m2)
        if plan.missing_layers:
            reason = f"{reason}（接受缺失图层未审查：{'、'.join(plan.missing_layers)}）"
        with writing(self.engine) as conn:
            plan = named_project(conn, plan)
            # reservations one at a time, before the repeat is looked up: a twin posted at once waits here, then
            # finds this one (existed), and land reserved at once, in any county, is read by the later of the two
            lock_reserved_land(conn)
            if (done := already_reserved(conn, plan)) is not None:
                return Reserved(done, existed=True)
            require_county(conn, plan.county)
            project = check_project(conn, plan)
            plan, untracked = tracked_parts(conn, plan)
            if untracked:
                named = "、".join(FACTORS[f][0] for f in untracked)
                reason = f"{reason}（{plan.year}年计划未下达{named}，不计）"
            penalty = penalty_reason(conn, plan.county, plan.year, project, self.rules)
            postings = reservation_postings(conn, plan, county_new_usable=penalty is None)
            if penalty is not None and county_new(postings, plan) > 0:  # the county's own 新增, not the pool's
                raise QuotaError(*penalty)
            bind_project(conn, plan, project, actor=actor)
            try:
                tx = post(
                    conn,
                    "reserve",
                    postings,
                    actor=actor,
                    reason=reason,
                    review_id=plan.review_id,
                    project_id=plan.project_id,
                    idempotency_key=plan.key,
                )
                if plan.outline is not None:
                    record_land(conn, tx, plan.county, plan.parcel, plan.outline)
                return Reserved(tx, existed=False)
            except IntegrityError:  # a concurrent reservation of the same parcel won the race for the key
                conn.rollback()
        with self.engine.connect() as conn:
            done = already_reserved(conn, plan)
            assert done is not None, "the reservation that won the race is committed"
            return Reserved(done, existed=True)

    def reserve_factors(
        self,
        project_id: str,
        year: int,
        needs: Mapping[str, float | Decimal],
        *,
        actor: str,
        source: str | None = None,
        reason: str = "项目能耗与污染物总量指标配置",
        key: str | None = None,
        exempt_as: str | None = None,
    ) -> Reserved:
        """配置 energy (吨标准煤) and pollutant 总量 for a project of the library: each need × its 倍量替代
        ratio, first from 点供 earmarked to the project (:func:`~geo.quota.reservations.earmarked_first`), the rest
        from the project's county (or the city pool for a 重点 project); pollutants are not charged
        to a project the officer declares of a kind the rules exempt (``exempt_as``: 公路, 铁路…, 平顶山
        行动方案 四、(四)), which the journal's reason records. The same gate as :meth:`reserve`
        (先入库后保障: 兰州 149号 三、(三) 审批阶段 "能耗跟着项目走,污染物排放总量替代指标跟着项目走").
        A project may be given more later, so only ``key`` (a client's Idempotency-Key, the ``actor``'s own) makes
        a retry safe: the same request under it returns the first transaction (``replayed``), ``existed``."""
        year = plan_year(year)
        for factor in needs:
            check_factor(factor)
            if factor != "energy" and factor not in POLLUTANTS:
                raise QuotaError(
                    f"{factor} is reserved from a review, not here (energy and pollutants only)",
                    f"{FACTORS[factor][0]}应依审查结果配置，此处仅配置能耗与污染物总量指标",
                )
        kinds = self.rules.pollutant_exempt_kinds
        if exempt_as is not None and exempt_as not in kinds:
            raise InputError(
                f"{exempt_as!r} is no kind of project exempt from the pollutant 总量; one of {list(kinds)}",
                f"{exempt_as!r} 不是环评不与污染物总量挂钩的项目类别；应为 {'、'.join(kinds)} 之一",
            )
        needed = {
            # amount() first refuses what is no finite number: a signalling NaN (Decimal('sNaN')) raised decimal's
            # InvalidOperation at == 0; a need of exactly 0 is none, one rounding to 0 is refused as such
            factor: ZERO
            if amount(value) == 0 and value == 0
            else positive_amount(value, FACTORS[factor][1], (f"need of {factor}", "需求"))
            for factor, value in needs.items()
        }
        with writing(self.engine) as conn:
            project = require_project(conn, project_id)
            project_id = project.id  # as the library keeps it: ＸＭ-1 names XM-1
            recorded_key = None if key is None else factors_key(project_id, actor, key)
            payer = source or project.county
            if payer not in (project.county, CITY) or (payer == CITY and not project.is_key):
                raise QuotaError(
                    f"{payer} cannot pay for project {project_id} (its county, or the city pool for 重点 projects)",
                    f"{payer} 不能为项目 {project_id} 支付指标（仅限项目所在区县，重点项目可由市级统筹）",
                )
            exempt = exempt_as is not None
            wanted = {
                factor: amount(value * Decimal(str(self.rules.replacement(factor))))
                for factor, value in needed.items()
                if not (exempt and factor in POLLUTANTS)
            }
            holder = project_holder(project_id)

            def from_payer(amounts: Mapping[str, Decimal]) -> list[Posting]:
                return [
                    p for f, v in amounts.items() for p in move(f, year, v, (payer, "available"), (holder, "reserved"))
                ]

            asked = from_payer(wanted)  # the request, as if the payer paid it all: what a retry under the key repeats
            spared = {(f, holder, "earmarked", year): (f, payer, "available", year) for f in wanted}
            if recorded_key is not None and (done := replayed(conn, recorded_key, asked, paid_as=spared)) is not None:
                return Reserved(done, existed=True)
            if (why := fundable_reason(project)) is not None:
                raise QuotaError(*why)
            if exempt_as is not None and project.project_type not in kinds[exempt_as]:
                types = project_types()
                fits = "、".join(types[t].name_zh for t in kinds[exempt_as] if t in types)
                own = types[project.project_type].name_zh if project.project_type in types else "未填"
                raise InputError(
                    f"project {project_id} is of type {project.project_type or 'none'}, which cannot be a "
                    f"{exempt_as} project (that kind is {', '.join(kinds[exempt_as])}); its pollutants are charged",
                    f"项目 {project_id} 的类型为{own}，不能申报为{exempt_as}项目（{exempt_as}项目应为{fits}类型），"
                    "污染物总量照常配置",
                )
            if exempt and not asked:
                raise QuotaError(
                    f"project {project_id}, declared {exempt_as}, is not tied to the pollutant 总量: "
                    "nothing to reserve",
                    f"项目 {project_id} 申报为{exempt_as}项目，环评不与污染物总量指标挂钩，无需配置",
                )
            ratios = "、".join(f"{f}×{self.rules.replacement(f):g}" for f in wanted)
            postings, rest = earmarked_first(conn, project_id, year, wanted)
            postings += from_payer(rest)
            bind_library_project(conn, project)
            try:
                tx = post(
                    conn,
                    "reserve",
                    postings,
                    actor=actor,
                    reason=f"{reason}（倍量替代 {ratios}）"
                    + (
                        f"（申报为{exempt_as}项目，污染物总量不挂钩：平顶山行动方案四（四），须严格落实污染治理措施）"
                        if exempt
                        else ""
                    ),
                    project_id=project_id,
                    idempotency_key=recorded_key,
                )
                return Reserved(tx, existed=False)
            except IntegrityError:  # a concurrent request under the same key won the race for it
                if recorded_key is None:
                    raise
                conn.rollback()
        with self.engine.connect() as conn:
            done = replayed(conn, recorded_key, asked, paid_as=spared)
            assert done is not None, "the request that won the race is committed"
            return Reserved(done, existed=True)

    def confirm(
        self,
        project_id: str,
        *,
        actor: str,
        family: str = "land",
        reason: str | None = None,
        document: str | None = None,
    ) -> int:
        """批准: the reserved quota of one ``family`` of factors (:data:`~geo.quota.accounts.CONFIRMED_BY`: land,
        pollutants, energy) becomes approved (used), for a project at a stage that takes quota
        (:func:`_refuse_unconfirmable`); each family by what approves it, a land approval not the pollutants'.
        ``document``: the approval's number (批准文号: the 用地批复 济宁 52号 三、(一)5 has the province give, a
        总量确认's), written into the journal's reason, where an audit reads what approved the quota."""
        if family not in CONFIRMED_BY:
            raise InputError(
                f"unknown factor family {family!r}; one of {', '.join(CONFIRMED_BY)}",
                f"未知的要素类别 {family!r}，应为 {'、'.join(CONFIRMED_BY)} 之一",
            )
        name_zh, factors, approval = CONFIRMED_BY[family]
        reason = reason or approval
        if document is not None:
            check_single_line(document, "approval document number", "批准文号")
            if not document.strip() or len(document) > MAX_ID_CHARS:
                raise InputError(
                    f"the approval document number must hold 1 to {MAX_ID_CHARS} characters",
                    f"批准文号须为 1 至 {MAX_ID_CHARS} 个字符",
                )
            reason = f"{reason}（批准文号：{document.strip()}）"
        with writing(self.engine) as conn:
            lock_reserved_land(conn)  # before the project's accounts are read: see revoke
            project_id, _ = _require_project(conn, project_id)
            _refuse_unconfirmable(conn, project_id)
            held = [a for a in _project_accounts(conn, project_id, bucket="reserved") if a.factor in factors]
            if not held:
                raise QuotaError(
                    f"project {project_id} has no {family} quota reserved",
                    f"项目 {project_id} 没有已配置的{name_zh}指标",
                )
            postings = [
                p
                for a in held
                for p in move(a.factor, a.year, a.amount, (a.holder, "reserved"), (a.holder, "approved"))
            ]
            return post(conn, "confirm", postings, actor=actor, reason=reason, project_id=project_id)

    def revoke(self, project_id: str, *, actor: str, reason: str = "项目撤销，收回指标") -> int:
        """撤回配置: the project's reserved quota, not yet approved, goes back to the accounts that paid it, each its
        part (:func:`~geo.quota.reservations.funding`); approved quota stays with the project.

        Quota reserved is not used: 济宁 济政办字〔2020〕52号 三、(一)1 configures plan quota "在批准用地时", so a phase
        whose land is not approved holds quota the project does not use, and 聊城《重点项目推进全周期服务办法（试行）》
        第二十条 takes it back ("对因市场、投资意愿变更等原因,不再实施的项目,要素指标依法收回"; 济宁 52号 四、(三)
        "坚决避免要素沉淀"). A project whose first phase was approved and whose second is only reserved gives the
        second back here, and the journal's reason says that approved quota is kept. Approved quota is used quota:
        it comes back only through :meth:`lapse`, with a reason; :meth:`~geo.quota.queries.Queries.release_note`
        says what a 撤回 released.
        """
        with writing(self.engine) as conn:
            # what the project holds and who paid it are read with the counties held, as a reservation and a
            # reversal of one hold them before they write (PostgreSQL): read before, a reversal and a reservation
            # committed meanwhile made a 撤回 pay the pool back what the county had paid
            lock_reserved_land(conn)
            project_id, county = _require_project(conn, project_id)
            held = _project_accounts(conn, project_id)
            reserved = [a for a in held if a.bucket == "reserved"]
            if any(a.bucket == "approved" for a in held):
                if not reserved:
                    raise QuotaError(
                        f"project {project_id} holds approved quota only, nothing reserved to revoke; take it back "
                        "with a lapse (收回) and a reason",
                        f"项目 {project_id} 仅持有已批准指标，没有可撤回的已配置指标；已批准指标须以收回（lapse）并说明"
                        "理由方可收回",
                    )
                reason += "（仅撤回尚未批准的已配置指标，已批准指标保留：聊城《重点项目推进全周期服务办法》第二十条）"
            owed = funding(conn, project_id, approved=False)
            return _release(conn, project_id, county, reserved, owed, kind="revoke", actor=actor, reason=reason)

    def lapse(self, project_id: str, *, actor: str, reason: str) -> int:
        """收回: everything the project holds, approved quota included, back to the accounts that paid it.

        The explicit movement for quota a project will not use (聊城《重点项目推进全周期服务办法》
        第二十条 "不再实施的项目,要素指标依法收回"; 济宁 52号 四、(三) "坚决避免要素沉淀"); the reason is required.
        """
        if not reason.strip():
            raise QuotaError("a lapse needs a reason", "收回指标须说明理由")
        with writing(self.engine) as conn:
            lock_reserved_land(conn)  # before the project's accounts and payers are read: see revoke
            project_id, county = _require_project(conn, project_id)
            held = _project_accounts(conn, project_id)
            owed = funding(conn, project_id)
            return _release(conn, project_id, county, held, owed, kind="lapse", actor=actor, reason=reason)

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
        """预支: next year's new construction quota used now; next year's account may go below zero, explicitly.

        Only before next year's plan is issued to the county (聊城《重点项目推进全周期服务办法》第十七条 "在每年新增
        建设用地计划管理细则明确前,预支新增土地指标": :meth:`~geo.quota.advances.AdvanceCap.plan_issued`, naming the
        issue), only ``land_new`` (farmland compensation must be in place before land is taken, 先补后占;
        pollutants are advanced from a named reduction, :meth:`advance_reduction`), and in all at most
        ``advance_cap_share`` of the county's issue of this year (the refusal names the year whose issue it took): a
        SAMPLE share the city sets, which no policy text fixes.
        Refused for a county under the 增存挂钩 penalty (:func:`_penalty_settlement`): an advance is new
        construction quota to it. Next year's issue repays it (:meth:`issue`).
        """
        year = plan_year(year)
        check_factor(factor)
        if factor != "land_new":
            raise QuotaError(
                f"only land_new may be advanced, not {factor} (compensation comes before the land is taken; "
                "pollutants are advanced from a named reduction)",
                f"仅新增建设用地计划指标可预支，{FACTORS[factor][0]}不可预支（先补后占；污染物从削减量预支）",
            )
        last = PLAN_YEARS[1]
        if year + 1 > last:  # the advance would draw on a year no issue, report or repayment can name
            raise QuotaError(
                f"an advance in {year} would draw on {year + 1}, after the last plan year {last}",
                f"{year} 年预支将占用 {year + 1} 年指标，超出最后规划年度 {last} 年",
            )
        value = positive_amount(value, FACTORS[factor][1], ("advance", "预支量"))
        with writing(self.engine) as conn:
            require_county(conn, county)
            if (penalty := _penalty_settlement(conn, county, year)) is not None:
                raise QuotaError(*penalty)
            cap = advance_cap(conn, county, year + 1, self.rules.advance_cap_share, undone(conn))
            if (issued := cap.plan_issued()) is not None:
                raise QuotaError(*issued)
            if cap.advanced + value > cap.cap:
                limit_en, limit_zh = cap.limit()
                raise QuotaError(
                    f"{limit_en}; {cap.advanced:,.2f} m² advanced already, {value:,.2f} m² asked",
                    f"{limit_zh}，已预支 {cap.advanced:,.2f} m²，本次申请 {value:,.2f} m²",
                )
            return post(
                conn,
                "advance",
                move(factor, year + 1, value, (county, "available"), (county, "available"), year),
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
        project_id: str | None = None,
        reason: str = "省级点供指标",
    ) -> int:
        """点供: quota the province supplies directly to a county (or the city pool).

        With ``project_id`` it is earmarked to that project of the library (in ``holder``, its
        county; not 竣工 or 撤销: :func:`_refuse_earmark_to_final`): it waits in the project's ``earmarked`` account
        and pays its reservations first (济宁 济政办字〔2020〕52号 三、(一)4 "争取省级重大基础设施、重要工作事项配置的
        '点供'型计划指标").
        """
        year = plan_year(year)
        check_factor(factor)
        value = positive_amount(value, FACTORS[factor][1], ("point supply", "点供指标"))
        with writing(self.engine) as conn:
            require_holder(conn, holder)
            target = (holder, "available")
            if project_id is not None:
                project = require_project(conn, project_id)
                project_id = project.id  # as the library keeps it: ＸＭ-1 names XM-1
                _refuse_earmark_to_final(project)
                _refuse_other_county(project, holder)
                target = (project_holder(project_id), "earmarked")
            return post(
                conn,
                "point_supply",
                move(factor, year, amount(value), (POINT_SUPPLY, "available"), target),
                actor=actor,
                reason=reason if project_id is None else f"{reason}（专用于项目 {project_id}）",
                project_id=project_id,
            )

    def carry_earmark(self, project_id: str, year: int, *, actor: str, reason: str = "专项点供指标结转下一年度") -> int:
        """点供结转: the project's earmarked 点供 unused in ``year`` goes to its earmark of ``year + 1``, where that
        year's reservations find it first (:func:`~geo.quota.reservations.earmarked_first` reads one year).

        The policy texts say nothing of an earmark's year (济宁 济政办字〔2020〕52号 三、(一)4 only provides the
        "点供"型计划指标, no 当年有效 or 结转): a quota office carries it, since the province gave it for the named
        project, whose land may be approved in a later year, and only a project no longer carried out loses it
        (聊城《重点项目推进全周期服务办法》第二十条): a finished or withdrawn one (竣工, 撤销) sends it back to the
        province by the 点供's reversal instead. Carried by the officer, a year at a time, so each year's 台账 shows
        where its earmark went (点供结转) and its reversal puts it back.
        """
        year = plan_year(year)
        if year + 1 > PLAN_YEARS[1]:
            raise QuotaError(
                f"an earmark of {year} cannot be carried past the last plan year {PLAN_YEARS[1]}",
                f"{year} 年专项点供不能结转至最后规划年度 {PLAN_YEARS[1]} 年之后",
            )
        with writing(self.engine) as conn:
            project = require_project(conn, project_id)
            if project.stage in FINAL:
                raise QuotaError(
                    f"project {project.id} is {project.stage}: its earmarked 点供 goes back to the province by "
                    "reversing the 点供 (`lantu quota reverse`), not to another year",
                    f"项目 {project.id} 已{project.stage}，其专项点供应冲正点供交易退回省级（lantu quota reverse），"
                    "不结转下一年度",
                )
            held = [a for a in _project_accounts(conn, project.id, bucket="earmarked") if a.year == year]
            postings = [
                p
                for a in held
                if a.amount > 0
                for p in move(a.factor, year, a.amount, (a.holder, "earmarked"), (a.holder, "earmarked"), year + 1)
            ]
            if not postings:
                raise QuotaError(
                    f"project {project.id} holds no earmarked 点供 of {year} to carry",
                    f"项目 {project.id} 没有可结转的 {year} 年专项点供",
                )
            why = f"{reason}（{year} 年结转至 {year + 1} 年）"
            return post(conn, "carry", postings, actor=actor, reason=why, project_id=project.id)

    def reduction(
        self,
        county: str,
        factor: str,
        year: int,
        value: float | Decimal,
        *,
        source: str,
        actor: str,
        settles: int | None = None,
    ) -> int:
        """污染物削减量: a realised reduction (关停替代、治理项目) enters the county, the city pooling its share
        (聊城 办法第十八条: 30 % 市级环境要素资源库, 70 % 县级).

        ``settles`` names a :meth:`advance_reduction` the reduction makes good: that much of it
        already went to the county and is not entered again; the rest enters as usual.
        """
        year = plan_year(year)
        _check_pollutant(factor)
        total = positive_amount(value, FACTORS[factor][1], ("reduction", "削减量"))
        if not source.strip():
            raise QuotaError("a reduction needs its source", "削减量须注明来源")
        with writing(self.engine) as conn:
            require_county(conn, county)
            covered, key = ZERO, None
            if settles is not None:
                covered, key = _open_reduction_advance(conn, settles, county, factor)
                if total < covered:
                    raise QuotaError(
                        f"the reduction ({total}) is smaller than the advance #{settles} it settles ({covered})",
                        f"削减量 {total} 小于其归还的第 {settles} 号预支 {covered}",
                    )
            rest = total - covered
            postings = move(factor, year, covered, (REDUCTION, "available"), (REDUCTION, "available"))
            postings += move(factor, year, rest, (REDUCTION, "available"), (county, "available"))
            postings += move(factor, year, self._pooled(factor, rest), (county, "available"), (CITY, "available"))
            return post(
                conn,
                "reduction",
                postings,
                actor=actor,
                reason=f"污染物削减量入库（来源：{source}）" + (f"，归还第 {settles} 号预支" if settles else ""),
                idempotency_key=key,
            )

    def advance_reduction(
        self,
        county: str,
        factor: str,
        year: int,
        value: float | Decimal,
        *,
        project_id: str,
        source: str,
        deadline: date,
        actor: str,
    ) -> int:
        """削减量预支: a pollutant quota used now against a named future reduction, due before production
        starts (聊城《若干措施》第6条 "削减预支方案要在项目投产前到位"; 济宁 52号 三、(三)3); overdue after
        ``deadline`` until a :meth:`reduction` settles it.

        For the project ``project_id`` of the library, in ``county``, from 储备 to 建设 and at a level the city's
        rule allows (``reduction_advance`` in ledger.yaml: 济宁 52号 三、(三)3 "对省级、市级重点保障项目所需的污染物总量
        指标", 兰州 149号 四、(六)2 "市级项目所需的污染物总量指标"; :func:`_refuse_reduction_advance`); the journal
        names the project. The quota is earmarked to the project, as a 点供 is, and pays its 总量 first
        (``reserve_factors``): it went to the county, where a project the rule does not allow took it (an officer's
        read)."""
        year = plan_year(year)
        _check_pollutant(factor)
        if not source.strip() or len(source) > MAX_NAME_CHARS:  # a journal's cell, a 台账's row
            raise QuotaError(
                f"an advance on a reduction names its source, in 1 to {MAX_NAME_CHARS} characters",
                f"削减量预支须注明削减来源（1 至 {MAX_NAME_CHARS} 个字符）",
            )
        movement_date(
            deadline,
            ("deadline", "到位期限"),
            ahead=(
                "the reduction is made good before production starts, on a date to come",
                "削减量应在投产前到位，到位期限应为今天或以后",
            ),
        )
        value = positive_amount(value, FACTORS[factor][1], ("advance on a reduction", "削减量预支"))
        with writing(self.engine) as conn:
            require_county(conn, county)
            project = require_project(conn, project_id)
            _refuse_reduction_advance(project, county, self.rules.reduction_advance)
            _refuse_earmark_to_final(project)
            return post(
                conn,
                "reduction_advance",
                move(factor, year, amount(value), (REDUCTION, "available"), (project_holder(project.id), "earmarked")),
                actor=actor,
                reason=f"预支削减量（来源：{source}，投产前到位；用于{project.level}项目 {project.id}）",
                due_date=deadline,
                project_id=project.id,
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
        price_wan: float | Decimal | None = None,
        due_date: date | None = None,
        reason: str | None = None,
    ) -> int:
        """有偿调剂 (with a price, :func:`geo.quota.accounts.price`) or 临时拆借 (with a due date) between counties
        or the city pool. A loan's due date is today (Beijing time) or later: one already past was overdue the
        moment it was lent (聊城 办法第十七条 "临时拆借": lent now, returned later). 水田 quota moves with its
        quantity (:func:`_transfer_postings`)."""
        year = plan_year(year)
        check_factor(factor)
        if source == target:
            raise QuotaError("source and target are the same holder", "调出方与调入方相同")
        _refuse_new_moved(factor)
        if (price_wan is None) == (due_date is None):
            raise QuotaError(
                "a transfer is either paid (有偿调剂: a price) or a temporary loan (临时拆借: a due date), "
                "exactly one of the two",
                "调剂须为有偿调剂（填写价格）或临时拆借（填写归还日期），二者必居其一",
            )
        paid = price(price_wan) if price_wan is not None else None
        if due_date is not None:
            movement_date(  # lent today: due back today at the earliest
                due_date,
                ("due date", "归还日期"),
                ahead=("a temporary loan (临时拆借) is due back on a date to come", "临时拆借的归还日期应为今天或以后"),
            )
        kind = "loan" if due_date else "transfer"
        value = positive_amount(
            value, FACTORS[factor][1], ("loan" if due_date else "transfer", "拆借量" if due_date else "调剂量")
        )
        reason = reason or ("临时拆借" if due_date else "有偿调剂")
        if factor == "land_compensation_paddy":
            reason += "（水田指标连同等量数量指标）"
        with writing(self.engine) as conn:
            require_holder(conn, source)
            require_holder(conn, target)
            return post(
                conn,
                kind,
                _transfer_postings(conn, source, target, factor, year, value),
                actor=actor,
                reason=reason,
                due_date=due_date,
                price_wan=paid,
            )

    def reverse(self, transaction_id: int, *, actor: str, reason: str) -> int:
        """A mistake is undone by a new, opposite movement, never by editing the old one."""
        with writing(self.engine) as conn:
            return _reverse(conn, transaction_id, actor=actor, reason=reason, cap_share=self.rules.advance_cap_share)

    def repay(self, loan_id: int, *, actor: str) -> int:
        """Return a temporary loan (临时拆借归还): the loan's reversal."""
        with writing(self.engine) as conn:
            loan = conn.execute(by_id(quota_transactions, loan_id)).first()
            if loan is None or loan.kind != "loan":
                raise NotFoundError(f"no loan #{loan_id}", f"没有第 {loan_id} 号拆借")
            why = REPAYMENT_REASON.format(loan_id)
            return _reverse(
                conn, loan_id, actor=actor, reason=why, cap_share=self.rules.advance_cap_share, repaying=True
            )


__all__ = ["Movements", "Reserved"]
