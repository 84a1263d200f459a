"""The rules of 配置 (reserving quota for a project from a review) and of who paid for it.

* 先入库后保障: the project must be in the project library (:mod:`geo.projects`) at stage
  储备 to 建设 (兰州 兰政办发〔2020〕149号 二、工作原则 "先入库,后保障"; 三(五): a finished project takes none),
  in the county of the reviewed parcel; the parcel is linked to the project in the same transaction.
* The county charged is the parcel's county in the review (DESIGN.md: "the ledger
  charges that county"); a caller naming another county is refused. A parcel the review finds in two
  counties or more (``counties``, each part beyond the tolerance) is refused: its land is 组卷报批 county by
  county (济宁 济政办字〔2020〕52号 三（一）5 "县级…依法完成用地组卷报批"), and charging the whole of it to the
  county holding most books the other county's land on the wrong account; each county's part is reviewed and
  reserved on its own.
* A parcel rejected by the review, outside the blueprint's coverage
  (``out_of_coverage``) or in no county is refused; it is never reserved as zero. A parcel
  with items whose layer is missing (never checked) needs ``accept_missing_layers``, and
  the acceptance is written into the journal's reason.
* One reviewed parcel serves one project: the same (review, parcel) under a second
  project id is refused (``ＸＭ-1`` is no second id beside ``XM-1``: :func:`named_project`). The
  idempotency key is (review, parcel), so the database's unique constraint settles concurrent attempts too.
  A parcel (by its id) is reserved once for a project: the same parcel from a later review while the first
  reservation stands is refused (济宁 济政办字〔2020〕52号 三（一）3 "据实核定项目建设用地需求": a re-review
  charged the same land twice); the earlier one is released first. The land itself is kept too (the parcel's
  outline, :mod:`geo.quota.land`): a parcel overlapping a standing reservation's land by more than the review's
  tolerance is refused, whatever its id or project; reservations recorded before outlines were kept are found by
  the parcel id alone (:func:`_same_land`).
* The review must be of the project's type: a parcel reviewed as a road is not reserved for a factory, whose
  review may reject it (planning zones, farmland and the land-use standard grade by type). A parcel reviewed
  without a type was graded as a general construction project, which the review admits least: it stands.
* The payer (``source``) is the parcel's county or the city pool (``city``); only 重点
  projects (国家重大/省重点/市重点) draw on the city pool (聊城《关于强化要素保障进一步优化产业
  生态的若干措施》第2条 "对其他省市级重点项目,统筹市县核补指标予以优先保障"), and only for a gap:
  聊城《重点项目推进全周期服务办法》第十七条 "市级统筹市县自主支配新增指标的30%,用于存在用地缺口的重点项目建设。
  对存在占补平衡指标缺口的,市级统筹采取有偿调剂或临时拆借的方式予以保障". The pool pays the 新增 the
  county cannot (none where it can: refused); 占补平衡 is the county's, a gap in it covered first by a paid
  transfer or a loan from the pool (``transfer``). Outside accounts never pay. Quota the province granted
  to the project itself (点供, earmarked) is used first. A 撤回 returns what is reserved, not yet approved, and a
  收回 all the project holds, every amount to the account it came from (:func:`funding`).
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, NotRequired, TypedDict

from sqlalchemy import Connection, select

from geo.db import insert_ignoring_duplicates
from geo.errors import QuotaError
from geo.projects.library import (
    Project,
    fundable_reason,
    link_review_in,
    other_type_reason,
    project_in,
    stored_project_id,
)
from geo.projects.tables import project_reviews
from geo.quota.accounts import CITY, FACTORS, ZERO, Key, Posting, amount, move, plan_year, project_holder
from geo.quota.land import parcel_outline, refuse_overlap
from geo.quota.posting import transaction_by_key
from geo.quota.report import EARMARK, area_texts, holdings_by_payer
from geo.quota.standing import released_reservations, undone
from geo.quota.tables import (
    postings_by_account,
    quota_accounts,
    quota_postings,
    quota_projects,
    quota_transactions,
)
from geo.review.result import ParcelResult, ReviewResult
from geo.vocabulary import project_id_text

REFUSED_VERDICTS = {  # those whose papers set no quota (``ParcelResult.quota_set``), each with why
    "reject": ("was rejected by the review", "审查结论为不通过"),
    "out_of_coverage": ("lies outside the blueprint's coverage (out_of_coverage)", "超出蓝图覆盖范围"),
}
KEY_LENGTH = 200  # quota_transactions.idempotency_key


@dataclass(frozen=True)
class ReservationPlan:
    """A checked request to reserve one parcel's quota: who pays, how much, under which key."""

    review_id: str
    parcel: ParcelResult
    project_id: str
    county: str
    payer: str
    wanted: dict[str, Decimal]
    year: int
    missing_layers: tuple[str, ...]  # items never checked, accepted by the caller
    outline: Any = None  # the parcel's outline (shapely, EPSG:4490: :func:`geo.quota.land.parcel_outline`), if any

    @property
    def key(self) -> str:
        """The idempotency key: one reservation per reviewed parcel, whatever the project."""
        key = f"reserve:{self.review_id}:{self.parcel.id}"
        if len(key) > KEY_LENGTH:
            key = f"reserve:sha256:{hashlib.sha256(key.encode()).hexdigest()}"
        return key

    @property
    def legacy_key(self) -> str:
        """The key of reservations recorded before it left the project out."""
        return f"reserve:{self.project_id}:{self.review_id}:{self.parcel.id}"


def default_project_id(review: ReviewResult, parcel_id: str | None = None) -> str:
    """The project id when the caller gives none: the parcel's id (the review's only parcel, or ``parcel_id``)."""
    if parcel_id is not None:
        return parcel_id
    if len(review.parcels) == 1:
        return review.parcels[0].id
    raise QuotaError(
        f"review {review.review_id} has {len(review.parcels)} parcels; give the project id or the parcel id",
        "审查结果含多个地块，请指定项目编号或地块编号",
    )


class ReservationRequest(TypedDict):
    """What a caller of :meth:`geo.quota.Ledger.reserve` asks for, beside the review, the actor and the reason."""

    year: int
    project_id: str
    parcel_id: NotRequired[str | None]  # which parcel, when the review has several
    county: NotRequired[str | None]  # checked: must be the parcel's
    source: NotRequired[str | None]  # the payer: the parcel's county (default) or the city pool
    accept_missing_layers: NotRequired[bool]  # reserve although some items' layers are missing (journaled)


def plan_reservation(review: ReviewResult, request: ReservationRequest, *, grain_yield: float) -> ReservationPlan:
    """Every check that needs only the review and the request (the database ones are in :func:`check_project`).

    占补平衡 is wanted in three dimensions: quantity (all cultivated land, 水田 included), 水田 as a
    part of it, and grain capacity (kg: cultivated m² × ``grain_yield``, the layer carrying none) —
    国土资规〔2017〕13号 数量、水田、粮食产能三类指标; 聊城 办法第十七条 for the pooled gaps.
    """
    year, project_id, parcel_id = plan_year(request["year"]), request["project_id"], request.get("parcel_id")
    county, source = request.get("county"), request.get("source")
    parcels = [p for p in review.parcels if parcel_id is None or p.id == parcel_id]
    if len(parcels) != 1:
        if parcel_id is not None:
            raise QuotaError(
                f"review {review.review_id} has no parcel {parcel_id!r}",
                f"审查结果 {review.review_id} 中没有地块 {parcel_id!r}",
            )
        raise QuotaError(
            f"review {review.review_id} has {len(review.parcels)} parcels; say which one (parcel id)",
            "审查结果含多个地块，请指定地块编号",
        )
    parcel = parcels[0]
    if parcel.verdict in REFUSED_VERDICTS:
        why_en, why_zh = REFUSED_VERDICTS[parcel.verdict]
        raise QuotaError(
            f"parcel {parcel.id} {why_en}; no quota can be reserved",
            f"地块 {parcel.id} {why_zh}，不能配置用地指标",
        )
    if parcel.county is None or not parcel.county.code:
        raise QuotaError(
            f"parcel {parcel.id} lies in no county of the blueprint; no quota can be reserved",
            f"地块 {parcel.id} 不在蓝图的任何区县内，不能配置用地指标",
        )
    if parcel.counties:
        parts_en = ", ".join(f"{c.name} {c.code} {c.area_m2:,.2f} m²" for c in parcel.counties)
        parts_zh = "、".join(f"{c.name}（{c.code}）{c.area_m2:,.2f} m²" for c in parcel.counties)
        raise QuotaError(
            f"parcel {parcel.id} lies in {len(parcel.counties)} counties ({parts_en}): land is submitted for approval "
            "county by county (济宁 济政办字〔2020〕52号 三（一）5); split the parcel at the county line and review "
            "and reserve each part",
            f"地块 {parcel.id} 跨越 {len(parcel.counties)} 个县级行政区（{parts_zh}）：用地由县级分别组卷报批"
            "（济宁 济政办字〔2020〕52号 三（一）5），请按县界拆分地块，分别审查、配置指标",
        )
    parcel_county = parcel.county.code
    if county is not None and county != parcel_county:
        raise QuotaError(
            f"parcel {parcel.id} lies in county {parcel_county}, not {county}; the parcel's county is charged",
            f"地块 {parcel.id} 位于区县 {parcel_county}，而非 {county}；指标由地块所在区县配置",
        )
    quota = parcel.land_quota
    if quota.new_construction_quota_m2 is None or quota.compensation_m2 is None:
        raise QuotaError(
            "the review has no land-use figures (land_use layer missing)",
            "审查结果缺少地类数据（缺少土地利用现状图层），无法配置指标",
        )
    missing = tuple(i.code for i in parcel.items if i.status == "missing_layer")
    if missing and not request.get("accept_missing_layers"):
        raise QuotaError(
            f"parcel {parcel.id} was not checked for {', '.join(missing)} (layers missing); "
            "reserve only with accept_missing_layers (--accept-missing-layers on the command line), which the journal "
            "records",
            f"地块 {parcel.id} 的 {'、'.join(missing)} 因缺少图层未经审查；须明确接受缺失图层"
            "（命令行 --accept-missing-layers）方可配置，并记入台账",
        )
    payer = source or parcel_county
    if payer not in (parcel_county, CITY):
        raise QuotaError(
            f"quota for a parcel in {parcel_county} is paid by that county or the city pool, not {payer!r} "
            "(move quota between counties with a transfer first)",
            f"{parcel_county} 地块的指标只能由该区县或市级统筹库支付，不能由 {payer!r} 支付（跨区县请先调剂）",
        )
    paddy = quota.paddy_to_replace_m2  # off stock land, as compensation_m2 is
    wanted = {
        "land_new": amount(quota.new_construction_quota_m2),
        "land_compensation": amount(quota.compensation_m2),
        "land_compensation_paddy": amount(paddy or 0),
        "land_compensation_grain": amount(Decimal(str(quota.compensation_m2)) * Decimal(str(grain_yield))),
    }
    if negative := [f"{FACTORS[f][0]} {v:,.2f} {FACTORS[f][1]}" for f, v in wanted.items() if v < 0]:
        raise QuotaError(
            f"parcel {parcel.id}: negative land figures in the review ({'; '.join(negative)}): the file is not as a "
            "review writes it",
            f"地块 {parcel.id} 的地类面积为负数（{'；'.join(negative)}），审查结果有误",
        )
    if wanted["land_compensation_paddy"] > wanted["land_compensation"]:  # 水田 is cultivated land: part of it
        raise QuotaError(
            f"parcel {parcel.id}: the review has {paddy or 0:,.2f} m² of paddy (水田) in "
            f"{quota.compensation_m2:,.2f} m² of cultivated land: the file is not as a review writes it",
            f"地块 {parcel.id} 的审查结果中水田 {paddy or 0:,.2f} m² 多于耕地 {quota.compensation_m2:,.2f} m²，"
            "审查结果有误",
        )
    if not any(wanted.values()):
        raise QuotaError(
            f"parcel {parcel.id} needs no land quota (no farmland or unused land outside stock land)",
            f"地块 {parcel.id} 不占用存量以外的农用地和未利用地，无需配置用地指标",
        )
    outline = parcel_outline(parcel)
    return ReservationPlan(review.review_id, parcel, project_id, parcel_county, payer, wanted, year, missing, outline)


def named_project(conn: Connection, plan: ReservationPlan) -> ReservationPlan:
    """The plan with its project id as the library keeps it (``ＸＭ-1`` names ``XM-1``:
    :func:`geo.projects.library.stored_project_id`), before anything looks the reservation up by it; an id the
    library does not hold in its normal form (:func:`check_project` refuses it)."""
    project_id = stored_project_id(conn, plan.project_id) or project_id_text(plan.project_id)
    return plan if project_id == plan.project_id else replace(plan, project_id=project_id)


def check_project(conn: Connection, plan: ReservationPlan) -> Project:
    """先入库后保障 and the pool rule, inside the reservation's transaction (a stage change cannot interleave)."""
    project = project_in(conn, plan.project_id)
    if project is None:
        raise QuotaError(
            f"project {plan.project_id} is not in the project library; enter it first (lantu projects add, "
            "先入库后保障)",
            f"项目 {plan.project_id} 未入项目库，须先入库（lantu projects add）后配置要素（先入库后保障）",
        )
    if (why := fundable_reason(project)) is not None:
        raise QuotaError(*why)
    if project.county != plan.county:
        raise QuotaError(
            f"project {project.id} belongs to county {project.county}; parcel {plan.parcel.id} lies in {plan.county}",
            f"项目 {project.id} 属于区县 {project.county}，地块 {plan.parcel.id} 位于 {plan.county}，不能配置",
        )
    if plan.payer == CITY and not project.is_key:
        raise QuotaError(
            f"the city pool serves 重点 projects only (国家重大/省重点/市重点); {project.id} is {project.level}",
            f"市级统筹指标仅保障重点项目（国家重大、省重点、市重点），项目 {project.id} 为{project.level}",
        )
    if (why := other_type_reason(project, plan.parcel.id, plan.parcel.project_type)) is not None:
        raise QuotaError(*why)
    _refuse_reserved_before(conn, plan)
    if plan.outline is not None:  # the same land under another parcel id, redrawn, or in part
        refuse_overlap(conn, plan.parcel, plan.outline)
    return project


def _refuse_reserved_before(conn: Connection, plan: ReservationPlan) -> None:
    """The same parcel reserved from an earlier review and not released: its land would be charged twice (the 新增
    and 占补 of one parcel, once per review of it). For the project itself the parcel's id says it; for another
    project the id, the county and the 新增 to the 0.0001 m² (ids like "1" recur across unrelated files)."""
    links = conn.execute(
        select(project_reviews.c.project_id, project_reviews.c.review_id).where(
            project_reviews.c.parcel_id == plan.parcel.id, project_reviews.c.review_id != plan.review_id
        )
    ).all()
    for project_id, review_id in links:
        earlier = replace(plan, review_id=review_id, project_id=project_id)
        found = transaction_by_key(conn, earlier.key) or transaction_by_key(conn, earlier.legacy_key)
        if found is None or found.kind != "reserve" or _released(conn, found.id, project_id):
            continue
        if project_id != plan.project_id and not _same_land(conn, found.id, project_id, plan):
            continue
        raise QuotaError(
            f"parcel {plan.parcel.id} is reserved for project {project_id} already (transaction #{found.id}, "
            "from another review or this one): one parcel's land is charged once; release that reservation first "
            f"(lantu quota reverse {found.id}), or give another parcel its own id",
            f"地块 {plan.parcel.id} 已为项目 {project_id} 配置指标"
            f"（第 {found.id} 号交易），同一地块的用地只能核算一次；"
            f"请先冲销该笔配置（lantu quota reverse {found.id}），如为另一地块请使用不同的地块编号",
        )


def _same_land(conn: Connection, reservation_id: int, project_id: str, plan: ReservationPlan) -> bool:
    """Whether the reservation ``reservation_id`` of another project took the 新增 ``plan`` wants, from its county."""
    rows = conn.execute(
        postings_by_account(quota_postings.c.amount).where(quota_postings.c.transaction_id == reservation_id)
    ).all()
    into = project_holder(project_id)
    new = sum((Decimal(r.amount) for r in rows if r.factor == "land_new" and r.holder == into), amount(0))
    counties = {r.holder for r in rows if r.holder not in (into, CITY)}
    return new == plan.wanted["land_new"] and counties <= {plan.county}


# the parts of 占补平衡 a city's plans may give apart from its quantity (国土资规〔2017〕13号: 数量、水田、
# 粮食产能), and the movements that give quota to a holder
APART: tuple[str, ...] = ("land_compensation_paddy", "land_compensation_grain")
GIVING: tuple[str, ...] = ("issue", "point_supply", "advance")


def tracked_parts(conn: Connection, plan: ReservationPlan) -> tuple[ReservationPlan, tuple[str, ...]]:
    """The plan without the parts of 占补平衡 (水田, 粮食产能) that no plan of its year gave any holder, and those
    parts: a city whose plans give the quantity alone (the contract's two land factors, land_new and
    land_compensation) books the quantity alone, where every reservation of 耕地 was refused for 0 kg of grain
    (contract check); one whose plans give 水田 or grain to any county asks every reservation for them, and a
    county without them is short (:func:`_refuse_compensation_gap`)."""
    t, a, p = quota_transactions.c, quota_accounts.c, quota_postings.c
    given = set(
        conn.execute(
            select(a.factor)
            .join_from(quota_postings, quota_accounts, a.id == p.account_id)
            .join(quota_transactions, t.id == p.transaction_id)
            .where(
                a.factor.in_(APART),
                a.year == plan.year,
                t.kind.in_(GIVING),
                t.id.not_in(undone(conn)),
                p.amount > 0,
            )
            .distinct()
        ).scalars()
    )
    dropped = tuple(f for f in APART if plan.wanted[f] > 0 and f not in given)
    if not dropped:
        return plan, ()
    return replace(plan, wanted={**plan.wanted, **dict.fromkeys(dropped, amount(0))}), dropped


def reservation_postings(conn: Connection, plan: ReservationPlan, *, county_new_usable: bool = True) -> list[Posting]:
    """Per factor: first from the project's earmarked 点供, the rest from the county (the city pool paying, when
    it is the payer, the 新增 the county cannot: :func:`_pool_share`), into the project's reserved.
    ``county_new_usable``: False where the county's 新增 may not serve the project (the 增存挂钩 penalty), which
    leaves the pool all of it to pay."""
    holder = project_holder(plan.project_id)
    postings, wanted = earmarked_first(conn, plan.project_id, plan.year, plan.wanted)
    available = _available(conn, plan.county, plan.year)
    wanted["land_compensation_paddy"] = _paddy_share(available, wanted)
    _refuse_compensation_gap(plan, available, wanted)
    if not county_new_usable:
        available["land_new"] = amount(0)
    pooled = _pool_share(plan, available, wanted["land_new"]) if plan.payer == CITY else amount(0)
    postings += move("land_new", plan.year, pooled, (CITY, "available"), (holder, "reserved"))
    wanted["land_new"] -= pooled
    for factor, value in wanted.items():
        postings += move(factor, plan.year, value, (plan.county, "available"), (holder, "reserved"))
    return postings


def earmarked_first(
    conn: Connection, project_id: str, year: int, wanted: Mapping[str, Decimal]
) -> tuple[list[Posting], dict[str, Decimal]]:
    """What the project's earmarked 点供 pays of each factor ``wanted`` (its postings into the project's reserved
    account) and what is left for the county or the pool to pay: the province gave it for this project (济宁 52号
    三、(一)4 "点供"型计划指标), so a reservation uses it first, land, energy or pollutant alike. The earmark's 水田
    covers dry land beyond its non-paddy quantity, as a county's does (:func:`_paddy_share`, 国土资规〔2017〕13号: 水田
    is part of 数量): an earmark of 6 400 m² quantity, all 水田, pays a dry parcel of 6 400 m² (spending its quantity
    alone left it 6 400 m² of 水田 beside none, and the reservation was refused)."""
    holder = project_holder(project_id)
    earmarked = {
        r.factor: max(amount(r.balance), amount(0))
        for r in conn.execute(
            select(quota_accounts.c.factor, quota_accounts.c.balance).where(
                quota_accounts.c.holder == holder,
                quota_accounts.c.bucket == "earmarked",
                quota_accounts.c.year == year,
            )
        ).all()
    }
    own = {factor: min(value, earmarked.get(factor, amount(0))) for factor, value in wanted.items()}
    if "land_compensation_paddy" in own:
        own["land_compensation_paddy"] = _paddy_share(earmarked, own)
    postings: list[Posting] = []
    for factor, value in own.items():
        postings += move(factor, year, value, (holder, "earmarked"), (holder, "reserved"))
    return postings, {factor: max(value - own[factor], amount(0)) for factor, value in wanted.items()}


def county_new(postings: list[Posting], plan: ReservationPlan) -> Decimal:
    """The county's own 新增 a reservation's postings take (what the 增存挂钩 penalty bars), not the pool's."""
    key = ("land_new", plan.county, "available", plan.year)
    return -sum((p.amount for p in postings if p.key == key and p.amount < 0), amount(0))


def _available(conn: Connection, county: str, year: int) -> dict[str, Decimal]:
    """The county's available balance of each land factor in ``year``."""
    rows = conn.execute(
        select(quota_accounts.c.factor, quota_accounts.c.balance).where(
            quota_accounts.c.holder == county,
            quota_accounts.c.bucket == "available",
            quota_accounts.c.year == year,
        )
    ).all()
    return {factor: Decimal(balance) for factor, balance in rows}


def _pool_share(plan: ReservationPlan, available: dict[str, Decimal], wanted_new: Decimal) -> Decimal:
    """The 新增 the city pool pays: what the county cannot (聊城 办法 第十七条 "用于存在用地缺口的重点项目建设"); a
    project whose county can pay it all has no gap, and the pool is refused."""
    has = max(available.get("land_new", amount(0)), amount(0))
    if wanted_new <= has:
        mu = area_texts(wanted_new)[2]  # as the ledger's tables round it
        raise QuotaError(
            f"county {plan.county} has {has:,.2f} m² of new construction quota for {plan.year}, enough for the "
            f"{wanted_new:,.2f} m² ({mu} mu) parcel {plan.parcel.id} needs: no gap, and the city pool serves "
            "key projects with a gap (聊城 重点项目推进全周期服务办法 第十七条); reserve from the county",
            f"{plan.county} {plan.year} 年新增建设用地计划指标余额 {has:,.2f} m²，足以支付地块 {plan.parcel.id} 所需 "
            f"{wanted_new:,.2f} m²（{mu} 亩），不存在用地缺口；市级统筹指标用于存在用地缺口的重点项目"
            "（聊城《重点项目推进全周期服务办法》第十七条），请由区县配置",
        )
    return wanted_new - has


def _refuse_compensation_gap(plan: ReservationPlan, available: dict[str, Decimal], wanted: dict[str, Decimal]) -> None:
    """占补平衡 the county lacks: the city does not pay it into a project; it covers the county's gap by a paid
    transfer or a loan first (聊城 办法 第十七条 "对存在占补平衡指标缺口的,市级统筹采取有偿调剂或临时拆借的方式
    予以保障"). Every part short is said at once, with the transfers that cover them all and no more: 水田 moves with
    its quantity (``transfer``), so the quantity to move is what the 水田 moved leaves short (the gaps were said one at
    a time, and quantity bought for the first was covered by the 水田 the second asked for: an officer's read)."""
    short = {
        factor: wanted[factor] - available.get(factor, amount(0))
        for factor in ("land_compensation", "land_compensation_paddy", "land_compensation_grain")
        if wanted[factor] > available.get(factor, amount(0))
    }
    if not short:
        return
    moved = dict(short)
    if "land_compensation" in moved:
        moved["land_compensation"] -= short.get("land_compensation_paddy", amount(0))
        if moved["land_compensation"] <= 0:
            del moved["land_compensation"]
    gaps_en, gaps_zh = [], []
    for factor, gap in short.items():
        name, unit = FACTORS[factor]
        have = available.get(factor, amount(0))
        gaps_en.append(f"{factor} {have:,.2f} of {wanted[factor]:,.2f} {unit}, {gap:,.2f} {unit} short")
        gaps_zh.append(f"{name}余额 {have:,.2f} {unit}，需 {wanted[factor]:,.2f} {unit}，缺口 {gap:,.2f} {unit}")
    commands = [
        f"lantu quota transfer city|COUNTY {plan.county} {factor} --year {plan.year} --amount {gap}"
        for factor, gap in moved.items()
    ]
    carried = "land_compensation" in short and "land_compensation_paddy" in short
    raise QuotaError(
        f"county {plan.county} lacks 占补平衡 for parcel {plan.parcel.id} in {plan.year}: {'; '.join(gaps_en)}. Cover "
        "the gaps first by paid transfers or loans into the county, from the city pool where it holds some, else from "
        f"another county: {'; '.join(commands)} (each with --price-wan … | --due …"
        + ("; 水田 moved brings its quantity" if carried else "")
        + "; 聊城 重点项目推进全周期服务办法 第十七条)",
        f"{plan.county} {plan.year} 年占补平衡指标不足以支付地块 {plan.parcel.id}：{'；'.join(gaps_zh)}。"
        "请先以有偿调剂或临时拆借方式调入补足（市级统筹库有该指标时由其调剂，否则由其他区县调剂："
        f"{'；'.join(c.replace('city|COUNTY', 'city|区县代码') for c in commands)}，各加 --price-wan …或 --due …"
        + ("；调入的水田指标同时计入数量" if carried else "")
        + "；聊城《重点项目推进全周期服务办法》第十七条）",
    )


def _paddy_share(available: Mapping[str, Decimal], wanted: Mapping[str, Decimal]) -> Decimal:
    """The 水田 a payer (a county, a project's earmarked 点供) gives: its 水田 quota is part of its quantity quota, so
    when dry land takes quantity its non-paddy quota cannot cover, the rest comes out of its 水田 (补水田 covers
    占旱地, never the reverse)."""
    quantity = available.get("land_compensation", amount(0))
    paddy = available.get("land_compensation_paddy", amount(0))
    left_over = paddy - (quantity - wanted["land_compensation"])  # 水田 quota above the quantity that would remain
    return max(wanted["land_compensation_paddy"], min(left_over, paddy))


def already_reserved(conn: Connection, plan: ReservationPlan) -> int | None:
    """The transaction that reserved this parcel for this project before; refuse if released since (for any
    project: a parcel freed by 撤回 was said to be another project's still, an officer's read), for another
    project, for another year or from another payer (a retry repeats its request)."""
    found = transaction_by_key(conn, plan.key) or transaction_by_key(conn, plan.legacy_key)
    if found is None:
        earlier = conn.execute(
            select(quota_transactions).where(
                quota_transactions.c.kind == "reserve", quota_transactions.c.review_id == plan.review_id
            )
        ).all()
        legacy = {f"reserve:{t.project_id}:{plan.review_id}:{plan.parcel.id}" for t in earlier}
        found = next((t for t in earlier if t.idempotency_key in legacy), None)
    if found is None:
        return None
    if _released(conn, found.id, found.project_id):  # for this project or another: free, under a new review
        raise QuotaError(
            f"parcel {plan.parcel.id} of review {plan.review_id} was reserved for project {found.project_id} "
            f"(transaction #{found.id}) and released since (撤回, 收回 or 冲销); review it again to reserve anew",
            f"审查 {plan.review_id} 的地块 {plan.parcel.id} 曾为项目 {found.project_id} 配置指标"
            f"（第 {found.id} 号交易），已撤回、收回或冲销；重新配置须重新审查",
        )
    if found.project_id != plan.project_id:
        raise QuotaError(
            f"parcel {plan.parcel.id} of review {plan.review_id} is reserved for project {found.project_id} "
            f"(transaction #{found.id}); one reviewed parcel serves one project",
            f"审查 {plan.review_id} 的地块 {plan.parcel.id} 已为项目 {found.project_id} 配置指标"
            f"（第 {found.id} 号交易），同一地块不能配置给两个项目",
        )
    if (differs := _differences(conn, found.id, plan)) is not None:
        en, zh = differs
        raise QuotaError(
            f"parcel {plan.parcel.id} of review {plan.review_id} was reserved for project {plan.project_id} "
            f"(transaction #{found.id}) {en}; a repeat of a reservation asks for the same",
            f"审查 {plan.review_id} 的地块 {plan.parcel.id} 已为项目 {plan.project_id} 配置指标"
            f"（第 {found.id} 号交易，{zh}），重复提交须与原请求一致",
        )
    return int(found.id)


def _differences(conn: Connection, reservation_id: int, plan: ReservationPlan) -> tuple[str, str] | None:
    """How ``plan`` differs from the reservation recorded for its parcel (English, Chinese): its year, its payer
    (read from the postings; none to compare when the project's earmarked 点供 paid all); None if it does not."""
    rows = conn.execute(
        postings_by_account(quota_postings.c.amount).where(quota_postings.c.transaction_id == reservation_id)
    ).all()
    years = sorted({int(r.year) for r in rows})
    payers = sorted({r.holder for r in rows if r.holder != project_holder(plan.project_id)})
    pooled = CITY in payers  # the pool pays a gap's 新增, the county the rest (``reservation_postings``)
    en: list[str] = []
    zh: list[str] = []
    if years != [plan.year]:
        en.append(f"for {', '.join(map(str, years))}, not {plan.year}")
        zh.append(f"年度为 {'、'.join(map(str, years))}，而非 {plan.year}")
    if payers and pooled != (plan.payer == CITY):
        en.append(f"paid by {', '.join(payers)}, not {plan.payer}")
        zh.append(f"支付方为 {'、'.join(payers)}，而非 {plan.payer}")
    return ("; ".join(en), "；".join(zh)) if en else None


def _released(conn: Connection, reservation_id: int, project_id: str) -> bool:
    """Whether a reservation's quota went back (undone, 撤回 or 收回 in force: :func:`released_reservations`)."""
    return reservation_id in released_reservations(conn, {reservation_id: project_id})


def bind_library_project(conn: Connection, project: Project, review_id: str | None = None) -> None:
    """The ledger's record of the project on its first reservation (its county for the map and the report)."""
    conn.execute(
        insert_ignoring_duplicates(conn, quota_projects),
        [
            {
                "id": project.id,
                "name": project.name,
                "level": project.level,
                "project_type": project.project_type,
                "county": project.county,
                "review_id": review_id,
                "created": datetime.now(UTC),
            }
        ],
    )


def bind_project(conn: Connection, plan: ReservationPlan, project: Project, *, actor: str) -> None:
    """The ledger's record of the project on its first reservation; the reviewed parcel linked in the library."""
    bind_library_project(conn, project, plan.review_id)
    link_review_in(conn, project.id, plan.review_id, plan.parcel.id, actor=actor)


def project_row(conn: Connection, project_id: str) -> Any | None:
    """The ledger's record of the project ``project_id`` names (``ＸＭ-1`` names ``XM-1``), or None."""
    stored = stored_project_id(conn, project_id, quota_projects.c.id)
    return None if stored is None else conn.execute(select(quota_projects).where(quota_projects.c.id == stored)).one()


def funding(conn: Connection, project_id: str, *, approved: bool = True) -> dict[Key, Decimal]:
    """Per paying account: what of the project's quota it paid, and gets back when the project releases it — all of
    it for a 收回, only the reserved part, not yet approved, for a 撤回 (``approved=False``: a confirmation approves
    all that is reserved then, so what is reserved now was reserved since, each payer's part as paid). Read from the
    payer replay (:func:`~geo.quota.report.holdings_by_payer`); the project's earmarked 点供 is paid back to its
    earmark."""
    holder = project_holder(project_id)
    owed: dict[Key, Decimal] = {}
    for (_, factor, year), held in holdings_by_payer(conn, project_id=project_id).items():
        for part in (held.reserved, held.approved) if approved else (held.reserved,):
            for payer, value in part.items():
                key = (factor, holder, "earmarked", year) if payer == EARMARK else (factor, payer, "available", year)
                owed[key] = owed.get(key, ZERO) + value
    return {key: value for key, value in owed.items() if value}
