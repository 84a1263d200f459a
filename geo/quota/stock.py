"""增存挂钩: the stock-land register, its disposals, 供地率/处置率, and the reward and penalty they earn.

The national rule (自然资源部《关于健全建设用地"增存挂钩"机制的通知》, 自然资规〔2018〕1号), which
济宁 济政办字〔2020〕52号 三、(一)4 applies through 自然资发〔2020〕91号 and 聊城《若干措施》第2条 repeats:
new construction quota follows the disposal of stock land — disposing of 批而未供 land earns it at a
ratio, disposing of 闲置 land in equal amount — and a county whose 供地率 over the land approved in
the last five years is below 60 % gets no new quota except for 国家重点项目 and 民生保障项目. The
numbers are the city's data (``stock_linkage`` in ``layers/profiles/ledger.yaml``).

* **Register** (:meth:`StockRegister.import_stock`): every 批而未供 and 闲置 feature of a loaded blueprint
  with its county (the feature's ``county_code``, else the county layer holding most of it), its
  approval year (``approval_year``: 批准年份; a feature without one is reported, never guessed), its
  area in the Gauss-Krüger zone of its centroid (the blueprint's pinned zone wins, as for parcels),
  its source id (``feature_id``: 标识码, else a hash of its geometry) and the blueprint version. A
  feature is registered once: importing the same (or a later) blueprint again adds only new features.
* **Disposals** (:meth:`StockRegister.dispose`): 供地 (批而未供 only), 收回, 盘活, with m², date and
  文号; never more than the entry's undisposed area, never dated before its approval year nor after
  today (a disposal is recorded once done: :func:`~geo.quota.accounts.movement_date`).
* **Rates** (:meth:`StockRegister.stock_rates`): per county and year, the 五年供地率 and each kind's 处置率.
* **Settlement** (:meth:`StockRegister.stock_settle`, journal kind ``stock_reward``): the reward of the
  county's disposals of the year not yet settled, booked like any quota the county receives (the city
  pools its ``stock_reward`` share); each disposal is settled once (``stock_settled``'s key), and again
  only once the reward that settled it is reversed (:mod:`geo.quota.standing`). A settlement below the
  threshold records the penalty, which :func:`penalty_reason` applies to later reservations.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Final, NamedTuple

import numpy as np
import pandas as pd
import shapely
from sqlalchemy import Connection, Engine, func, insert, or_, select, update
from sqlalchemy.sql import Select

from geo.crs import Area
from geo.db import by_id
from geo.errors import InputError, NotFoundError, QuotaError
from geo.papers import beijing_today
from geo.quota.accounts import (
    CITY,
    DISPOSALS,
    REWARD,
    STOCK_KINDS,
    ZERO,
    amount,
    move,
    movement_date,
    plan_year,
    positive_amount,
)
from geo.quota.holders import county_names, require_county
from geo.quota.posting import post, writing
from geo.quota.report import TextTable, area_figures
from geo.quota.rules import LedgerRules
from geo.quota.standing import undone
from geo.quota.tables import (
    amount_sum,
    quota_holders,
    stock_disposals,
    stock_land,
    stock_settled,
    stock_settlement_disposals,
    stock_settlements,
)
from geo.review.engine import parcel_zones
from geo.vocabulary import check_actor, check_printable, check_single_line

if TYPE_CHECKING:
    from geo.blueprint import Blueprint
    from geo.projects.library import Project

YEARS = (1949, 2100)  # an approval year outside is a typo, reported
HASH_PRECISION_M = 0.01  # a geometry hash (the id of a feature without 标识码) ignores float noise below 1 cm

LAND_TABLE: Final = TextTable(
    {
        "id": "登记号",
        "kind_name": "类型",
        "county_name": "区县",
        "county": "区县代码",
        "approval_year": "批准年份",
        "area": "面积",
        "disposed": "已处置",
        "remaining": "未处置",
        "feature_id": "要素标识码",
        "crs_used": "面积坐标系",
        "blueprint_version": "蓝图版本",
    },
    areas=("area", "disposed", "remaining"),
)
LAND_LABELS: Final = LAND_TABLE.csv_labels()
DISPOSAL_TABLE: Final = TextTable(
    {
        "id": "处置号",
        "land_id": "登记号",
        "land_kind_name": "土地类型",
        "county_name": "区县",
        "kind": "处置方式",
        "area": "面积",
        "disposed_on": "处置日期",
        "document": "文号",
        "settlement": "核算号",
        "settlements": "历次核算号",
        "actor": "经办人",
    },
    areas=("area",),
)
DISPOSAL_LABELS: Final = DISPOSAL_TABLE.csv_labels()
RATE_TABLE: Final = TextTable(  # 7 areas: each one column, its m², 公顷 and 亩 one under another
    {
        "county_name": "区县",
        "county": "区县代码",
        "year": "年度",
        "window": "供地率统计期",
        "approved": "五年批准",
        "supplied": "五年已供",
        "supply_rate": "五年供地率",
        "threshold": "供地率下限",
        "below_threshold": "低于下限",
        "unsupplied": "批而未供登记",
        "unsupplied_disposed": "批而未供已处置",
        "unsupplied_disposal_rate": "批而未供处置率",
        "idle": "闲置登记",
        "idle_disposed": "闲置已处置",
        "idle_disposal_rate": "闲置处置率",
        "reward_due": "待核算奖励",
    },
    areas=("approved", "supplied", "unsupplied", "unsupplied_disposed", "idle", "idle_disposed", "reward_due"),
    shares=("supply_rate", "threshold", "unsupplied_disposal_rate", "idle_disposal_rate"),  # as the settlement writes
)
RATE_LABELS: Final = RATE_TABLE.csv_labels()  # rates stay fractions in JSON and a CSV
SKIPPED_LABELS = {"kind_name": "类型", "feature_id": "要素标识码", "reason_zh": "未登记原因", "reason": "reason"}


@dataclass(frozen=True)
class StockFeature:
    """One 批而未供 or 闲置 feature ready for the register."""

    kind: str
    feature_id: str
    county: str
    approval_year: int
    area_m2: Decimal
    crs_used: str


@dataclass
class StockImport:
    """What an import did: features added, features registered already, features it could not register."""

    blueprint: str
    blueprint_version: str
    added: int = 0
    existing: int = 0
    skipped: list[dict[str, str]] = field(default_factory=list)

    def row(self) -> dict[str, Any]:
        return {
            "blueprint": self.blueprint,
            "blueprint_version": self.blueprint_version,
            "added": self.added,
            "existing": self.existing,
            "skipped": self.skipped,
        }


def _skip(kind: str, feature_id: str, why_en: str, why_zh: str) -> dict[str, str]:
    return {
        "kind": kind,
        "kind_name": STOCK_KINDS[kind],
        "feature_id": feature_id,
        "reason": why_en,
        "reason_zh": why_zh,
    }


def _year(value: Any) -> int | None:
    """An approval year from an attribute (2019, 2019.0, "2019"); None when blank or not a year."""
    if value is None or (isinstance(value, float) and np.isnan(value)) or value is pd.NA:
        return None
    try:
        number = float(str(value).strip())
    except ValueError:
        return None
    if not number.is_integer() or not YEARS[0] <= number <= YEARS[1]:
        return None
    return int(number)


def _blank(value: Any) -> bool:
    return value is None or value is pd.NA or (isinstance(value, float) and np.isnan(value)) or not str(value).strip()


def _geometry_id(geom: shapely.Geometry) -> str:
    """A stable id for a feature without 标识码: its geometry in its zone to the centimetre."""
    shape = shapely.normalize(shapely.set_precision(geom, HASH_PRECISION_M))
    return "geom:" + hashlib.sha256(shapely.to_wkb(shape)).hexdigest()[:20]


def stock_features(blueprint: Blueprint) -> tuple[list[StockFeature], list[dict[str, str]]]:
    """The blueprint's 批而未供 and 闲置 features with county, approval year and area; and those it cannot
    register, with the reason (no approval year, no county). Areas in each feature's GK zone."""
    county_layer = blueprint.vector("county")
    features: list[StockFeature] = []
    skipped: list[dict[str, str]] = []
    for kind in STOCK_KINDS:
        layer = blueprint.vector(kind)
        if layer is None:
            continue
        frame = layer.frame
        zones = parcel_zones(np.asarray(frame.geometry.values, dtype=object), frame.crs, blueprint.gk_zone_epsg)
        for epsg in np.unique(zones):
            part = frame[zones == epsg].to_crs(int(epsg))
            geoms = np.asarray(part.geometry.values, dtype=object)
            counties = _counties(geoms, county_layer.frame.to_crs(int(epsg)) if county_layer is not None else None)
            for i, (geom, row) in enumerate(zip(geoms, part.itertuples(index=False), strict=True)):
                fid = _geometry_id(geom) if _blank(row.feature_id) else str(row.feature_id).strip()
                county = counties[i] if _blank(row.county_code) else str(row.county_code).strip()
                year = _year(row.approval_year)
                if year is None and _blank(row.approval_year):
                    why = ("no approval year (approval_year, PZNF); not guessed", "缺少批准年份，不作推测")
                    skipped.append(_skip(kind, fid, *why))
                elif year is None:
                    skipped.append(
                        _skip(
                            kind,
                            fid,
                            f"approval year {row.approval_year!r} is not a year",
                            f"批准年份 {row.approval_year!r} 不是有效年份",
                        )
                    )
                elif county is None:
                    skipped.append(_skip(kind, fid, "in no county of the blueprint", "不在蓝图的任何区县内"))
                else:
                    area = amount(shapely.area(geom))
                    features.append(StockFeature(kind, fid, county, year, area, f"EPSG:{int(epsg)}"))
    return features, skipped


def _counties(geoms: np.ndarray, county: Any) -> list[str | None]:
    """Per geometry, the code of the county holding most of it (None when none does)."""
    best: list[str | None] = [None] * len(geoms)
    if county is None or not len(geoms):
        return best
    left, right = county.sindex.query(geoms, predicate="intersects")
    shared = shapely.area(shapely.intersection(geoms[left], np.asarray(county.geometry.values, dtype=object)[right]))
    most = np.zeros(len(geoms))
    codes = county["code"].astype(str).to_numpy()
    for i, j, a in zip(left, right, shared, strict=True):
        if a > most[i]:
            most[i], best[i] = a, str(codes[j])
    return best


def _ratio(part: Decimal, whole: Decimal) -> float | None:
    return float(round(part / whole, 6)) if whole > 0 else None


def _rates(conn: Connection, county: str, year: int, rules: LedgerRules) -> dict[str, Any]:
    """The county's 五年供地率 and 处置率 at the end of ``year`` and the reward its unsettled disposals of the
    year earn. 供地率 = land of the window supplied (闲置 land was supplied; 批而未供 by its 供地 records)
    over all registered land approved in the window; 处置率 = disposed over registered, per kind."""
    linkage = rules.stock_linkage
    first = year - linkage.supply_rate_years + 1
    end = date(year, 12, 31)
    land = stock_land.c
    lands = conn.execute(
        select(land.id, land.kind, land.approval_year, land.area_m2).where(
            land.county == county, land.approval_year <= year
        )
    ).all()
    d = stock_disposals.c
    done = conn.execute(
        select(d.land_id, d.kind, amount_sum(d.area_m2))
        .join(stock_land, land.id == d.land_id)
        .where(land.county == county, d.disposed_on <= end)
        .group_by(d.land_id, d.kind)
    ).all()
    by_land: dict[int, dict[str, Decimal]] = {}
    for land_id, kind, total in done:
        by_land.setdefault(land_id, {})[kind] = Decimal(total)
    approved = supplied = ZERO
    registered = {k: ZERO for k in STOCK_KINDS}
    disposed = {k: ZERO for k in STOCK_KINDS}
    for row in lands:
        area = Decimal(row.area_m2)
        registered[row.kind] += area
        disposed[row.kind] += sum(by_land.get(row.id, {}).values(), ZERO)
        if row.approval_year >= first:
            approved += area
            supplied += area if row.kind == "idle_land" else by_land.get(row.id, {}).get("供地", ZERO)
    rate = _ratio(supplied, approved)
    reward = _reward(_unsettled(conn, county, year), rules)
    return {
        "county": county,
        "year": year,
        "window": f"{first}–{year}",
        **_statistic("approved", approved),
        **_statistic("supplied", supplied),
        "supply_rate": rate,
        "threshold": linkage.supply_rate_threshold,
        "below_threshold": rate is not None and rate < linkage.supply_rate_threshold,
        **_statistic("unsupplied", registered["approved_unsupplied"]),
        **_statistic("unsupplied_disposed", disposed["approved_unsupplied"]),
        "unsupplied_disposal_rate": _ratio(disposed["approved_unsupplied"], registered["approved_unsupplied"]),
        **_statistic("idle", registered["idle_land"]),
        **_statistic("idle_disposed", disposed["idle_land"]),
        "idle_disposal_rate": _ratio(disposed["idle_land"], registered["idle_land"]),
        **_statistic("reward_due", reward),
    }


def _statistic(column: str, m2: Decimal) -> dict[str, float | None]:
    """A rate's area (:func:`~geo.quota.report.area_figures`): a statistic, not a record, so its m² is rounded to 2
    decimals as :class:`geo.crs.Area` writes it, and its 公顷 and 亩 follow from the m² written."""
    return area_figures(column, round(m2, 2))  # the exact decimal rounded, not its nearest float


def _listed(m2: Decimal) -> str:
    """An area's m² as every listing writes it (:class:`geo.crs.Area`, two decimals)."""
    return Area(float(m2)).m2_text


class Pending(NamedTuple):
    """A disposal awaiting its reward: its stock kind, its m², and the settlement whose reward was reversed
    (None if it was never settled)."""

    disposal: int
    kind: str
    m2: Decimal
    settled_before: int | None


def _in_force(conn: Connection) -> Select[Any]:
    """(disposal, settlement) of the disposals settled by a settlement in force: one with no reward, or whose
    reward was not reversed (:func:`geo.quota.standing.undone`)."""
    s = stock_settlements.c
    return (
        select(stock_settled.c.disposal_id, stock_settled.c.settlement_id)
        .join(stock_settlements, s.id == stock_settled.c.settlement_id)
        .where(or_(s.transaction_id.is_(None), s.transaction_id.not_in(undone(conn))))
    )


def _unsettled(conn: Connection, county: str, year: int) -> list[Pending]:
    """The county's disposals dated in ``year`` with no settlement in force."""
    d, land = stock_disposals.c, stock_land.c
    rows = conn.execute(
        select(d.id, land.kind, d.area_m2, stock_settled.c.settlement_id)
        .join(stock_land, land.id == d.land_id)
        .outerjoin(stock_settled, stock_settled.c.disposal_id == d.id)
        .where(
            land.county == county,
            d.disposed_on >= date(year, 1, 1),
            d.disposed_on <= date(year, 12, 31),
            d.id.not_in(_in_force(conn).with_only_columns(stock_settled.c.disposal_id)),
        )
        .order_by(d.id)
    ).all()
    return [Pending(int(r.id), str(r.kind), Decimal(r.area_m2), r.settlement_id) for r in rows]


def _reward(pending: list[Pending], rules: LedgerRules) -> Decimal:
    """New quota (m²) the disposals earn: each kind's m² × its ratio (批而未供 a ratio, 闲置 等量)."""
    return sum((amount(p.m2 * Decimal(str(rules.stock_linkage.ratio(p.kind)))) for p in pending), ZERO)


def _mark_settled(conn: Connection, pending: list[Pending], settlement: int) -> None:
    """Record ``pending`` as settled by ``settlement``: a disposal never settled gets its row (the primary key
    refuses a second one, even from a concurrent settlement); one whose reward was reversed has its row moved
    from that settlement, which keeps its own record of them (``stock_settlement_disposals``)."""
    if pending:
        conn.execute(
            insert(stock_settlement_disposals),
            [{"settlement_id": settlement, "disposal_id": p.disposal} for p in pending],
        )
    fresh = [p.disposal for p in pending if p.settled_before is None]
    if fresh:
        conn.execute(insert(stock_settled), [{"disposal_id": i, "settlement_id": settlement} for i in fresh])
    again = {p.disposal: p.settled_before for p in pending if p.settled_before is not None}
    if again:
        moved = conn.execute(
            update(stock_settled)
            .where(stock_settled.c.disposal_id.in_(again), stock_settled.c.settlement_id.in_(set(again.values())))
            .values(settlement_id=settlement)
        )
        assert moved.rowcount == len(again), "a county's settlements are serialised (its row lock)"


def reward_settled_since(conn: Connection, transaction_id: int) -> tuple[str, str] | None:
    """Why the 增存挂钩 reward ``transaction_id`` may not be put back in force (English, Chinese): its disposals
    were settled again since it was reversed, and would be rewarded twice; None when they were not."""
    s = stock_settlements.c
    settlement = conn.execute(select(s.id).where(s.transaction_id == transaction_id)).scalar_one()
    if conn.execute(select(stock_settled.c.disposal_id).where(stock_settled.c.settlement_id == settlement)).first():
        return None
    return (
        f"the disposals of settlement #{settlement} (reward transaction #{transaction_id}) were settled again since",
        f"第 {settlement} 号增存挂钩核算（奖励交易第 {transaction_id} 号）的处置已重新核算，不能再次奖励",
    )


def penalising_settlement(conn: Connection, county: str, year: int) -> Any | None:
    """The county's latest 增存挂钩 settlement of ``year`` or before (id, year, supply_rate, threshold) if it found
    the 五年供地率 below the threshold (自然资规〔2018〕1号: 暂停安排新增建设用地指标), else None."""
    s = stock_settlements.c
    latest = conn.execute(
        select(s.id, s.year, s.supply_rate, s.threshold, s.penalty)
        .where(s.county == county, s.year <= year)
        .order_by(s.year.desc(), s.id.desc())
        .limit(1)
    ).first()
    return latest if latest is not None and latest.penalty else None


def penalty_reason(
    conn: Connection, county: str, year: int, project: Project, rules: LedgerRules
) -> tuple[str, str] | None:
    """Why the county's new quota may not serve ``project`` in ``year`` (English, Chinese), or None.

    The latest settlement of the county for ``year`` or before decides: below the 五年供地率 threshold,
    only the exempt levels and types (国家重点项目, 民生保障项目) are served (自然资规〔2018〕1号).
    """
    latest = penalising_settlement(conn, county, year)
    linkage = rules.stock_linkage
    if latest is None:
        return None
    if project.level in linkage.penalty_exempt_levels or project.project_type in linkage.penalty_exempt_types:
        return None
    rate = f"{float(latest.supply_rate):.1%}"
    return (
        f"county {county}'s five-year land supply rate was {rate} at settlement #{latest.id} ({latest.year}), "
        f"below {float(latest.threshold):.0%}: its new construction quota serves only 国家重点项目 and 民生保障项目 "
        f"(projects of level {'/'.join(linkage.penalty_exempt_levels)} or of type "
        f"{'/'.join(linkage.penalty_exempt_types)}; 增存挂钩, 自然资规〔2018〕1号); project {project.id} is "
        f"{project.level}, {project.project_type}",
        f"{county} 近五年供地率 {rate}（{latest.year} 年第 {latest.id} 号增存挂钩核算）"
        f"低于 {float(latest.threshold):.0%}，"
        f"除国家重点项目和民生保障项目外暂停安排新增建设用地指标（自然资规〔2018〕1号）；"
        f"项目 {project.id} 为{project.level}",
    )


class StockRegister:
    """The register's operations, as methods of :class:`geo.quota.Ledger` (its engine and rules)."""

    engine: Engine
    rules: LedgerRules

    def import_stock(self, blueprint: Blueprint, *, actor: str) -> StockImport:
        """Register the blueprint's 批而未供 and 闲置 features (idempotent: a feature already registered,
        from this or an earlier version, is counted as ``existing`` and left as it is)."""
        features, skipped = stock_features(blueprint)
        report = StockImport(blueprint.name, blueprint.version, skipped=skipped)
        now = datetime.now(UTC)
        with writing(self.engine) as conn:
            known = {(r.kind, r.feature_id) for r in conn.execute(select(stock_land.c.kind, stock_land.c.feature_id))}
            counties = set(conn.execute(select(quota_holders.c.code)).scalars())
            seen: set[tuple[str, str]] = set()
            rows = []
            for f in features:
                key = (f.kind, f.feature_id)
                if key in known:
                    report.existing += 1
                elif key in seen:
                    report.skipped.append(
                        _skip(f.kind, f.feature_id, "feature id repeated in the layer", "要素标识码在图层中重复")
                    )
                elif f.county not in counties:
                    report.skipped.append(
                        _skip(
                            f.kind,
                            f.feature_id,
                            f"county {f.county} is not registered in the ledger",
                            f"区县 {f.county} 未在指标台账登记",
                        )
                    )
                else:
                    seen.add(key)
                    rows.append(
                        {
                            "kind": f.kind,
                            "feature_id": f.feature_id,
                            "county": f.county,
                            "approval_year": f.approval_year,
                            "area_m2": f.area_m2,
                            "crs_used": f.crs_used,
                            "blueprint": blueprint.name,
                            "blueprint_version": blueprint.version,
                            "imported": now,
                            "actor": actor,
                        }
                    )
            if rows:
                conn.execute(insert(stock_land), rows)
            report.added = len(rows)
        return report

    def dispose(
        self,
        land_id: int,
        kind: str,
        area_m2: float | Decimal,
        disposed_on: date,
        *,
        actor: str,
        document: str | None = None,
    ) -> int:
        """Record a disposal (供地, 收回, 盘活) of a register entry; refused beyond its undisposed area, before
        its approval year or after today (Beijing time). Returns the disposal's id.

        The register keeps four decimals and every listing shows two: the undisposed area as listed (12,345.68 for
        12,345.6789: written the same, ``_listed``) disposes all of it, exactly, rather than being refused or
        leaving a remainder no listing can show."""
        value = positive_amount(area_m2, "m²", ("disposal area", "处置面积"))  # 1e-9 m² rounds to nothing
        movement_date(disposed_on, ("disposal date", "处置日期"), happened=True)
        if kind not in DISPOSALS:
            raise QuotaError(
                f"unknown disposal {kind!r}; disposals: {', '.join(DISPOSALS)}",
                f"未知处置方式 {kind!r}，应为 {'、'.join(DISPOSALS)}",
            )
        _check_document(document)
        check_actor(actor)
        with writing(self.engine) as conn:
            land = conn.execute(by_id(stock_land, land_id).with_for_update()).first()
            if land is None:
                raise NotFoundError(f"no stock land #{land_id} in the register", f"存量土地台账中没有第 {land_id} 号")
            if land.kind not in DISPOSALS[kind]:
                raise QuotaError(
                    f"{kind} does not apply to {land.kind} (闲置 land was supplied already; reclaim or revitalise it)",
                    f"{STOCK_KINDS[land.kind]}土地不能{kind}（闲置土地已供应，应收回或盘活）",
                )
            if disposed_on.year < land.approval_year:
                raise QuotaError(
                    f"stock land #{land_id} was approved in {land.approval_year}; a disposal cannot be dated "
                    f"{disposed_on.isoformat()}",
                    f"第 {land_id} 号存量土地批准于 {land.approval_year} 年，"
                    f"处置日期 {disposed_on.isoformat()} 早于批准",
                )
            done = conn.execute(
                select(func.coalesce(amount_sum(stock_disposals.c.area_m2), 0)).where(
                    stock_disposals.c.land_id == land_id
                )
            ).scalar_one()
            remaining = Decimal(land.area_m2) - Decimal(done)
            if remaining > 0 and _listed(value) == _listed(remaining):
                value = remaining
            if value > remaining:
                raise QuotaError(
                    f"stock land #{land_id} has {_listed(remaining)} m² undisposed; {_listed(value)} m² cannot be "
                    "disposed",
                    f"第 {land_id} 号存量土地未处置面积 {_listed(remaining)} m²，不能处置 {_listed(value)} m²",
                )
            return int(
                conn.execute(
                    insert(stock_disposals)
                    .values(
                        land_id=land_id,
                        kind=kind,
                        area_m2=value,
                        disposed_on=disposed_on,
                        document=document or None,
                        created=datetime.now(UTC),
                        actor=actor,
                    )
                    .returning(stock_disposals.c.id)
                ).scalar_one()
            )

    def stock_land(self, *, county: str | None = None, kind: str | None = None) -> list[dict[str, Any]]:
        """The register: each entry with its disposed and remaining area (m², 亩, 公顷)."""
        land, d = stock_land.c, stock_disposals.c
        disposed = select(d.land_id, amount_sum(d.area_m2).label("disposed")).group_by(d.land_id).subquery("disposed")
        query = (
            select(stock_land, func.coalesce(disposed.c.disposed, 0).label("disposed"))
            .outerjoin(disposed, disposed.c.land_id == land.id)
            .order_by(land.county, land.kind, land.approval_year, land.id)
        )
        if county is not None:
            query = query.where(land.county == county)
        if kind is not None:
            query = query.where(land.kind == kind)
        with self.engine.connect() as conn:
            rows = conn.execute(query).all()
        names = county_names(self.engine)
        out = []
        for r in rows:
            area, done = Decimal(r.area_m2), Decimal(r.disposed)
            out.append(
                {
                    "id": r.id,
                    "kind": r.kind,
                    "kind_name": STOCK_KINDS[r.kind],
                    "county": r.county,
                    "county_name": names.get(r.county, r.county),
                    "approval_year": r.approval_year,
                    **area_figures("area", area),
                    **area_figures("disposed", done),
                    **area_figures("remaining", area - done),
                    "feature_id": r.feature_id,
                    "crs_used": r.crs_used,
                    "blueprint_version": r.blueprint_version,
                }
            )
        return out

    def stock_disposals(self, *, county: str | None = None) -> list[dict[str, Any]]:
        """Every disposal, in order, with the settlement that rewarded it (None while unsettled, or once that
        reward was reversed) and every settlement that ever did, in order (a reversed one included)."""
        d, land = stock_disposals.c, stock_land.c
        with self.engine.connect() as conn:
            settled = _in_force(conn).subquery("settled")
            query = (
                select(stock_disposals, land.kind.label("land_kind"), land.county, settled.c.settlement_id)
                .join(stock_land, land.id == d.land_id)
                .outerjoin(settled, settled.c.disposal_id == d.id)
                .order_by(d.id)
            )
            h = stock_settlement_disposals.c
            settlements = select(h.disposal_id, h.settlement_id).order_by(h.disposal_id, h.settlement_id)
            if county is not None:  # one county's history only, not the city's
                query = query.where(land.county == county)
                settlements = (
                    settlements.join(stock_disposals, d.id == h.disposal_id)
                    .join(stock_land, land.id == d.land_id)
                    .where(land.county == county)
                )
            rows = conn.execute(query).all()
            history: dict[int, list[int]] = {}
            for disposal, settlement in conn.execute(settlements):
                history.setdefault(int(disposal), []).append(int(settlement))
        names = county_names(self.engine)
        return [
            {
                "id": r.id,
                "land_id": r.land_id,
                "land_kind": r.land_kind,
                "land_kind_name": STOCK_KINDS[r.land_kind],
                "county": r.county,
                "county_name": names.get(r.county, r.county),
                "kind": r.kind,
                **area_figures("area", Decimal(r.area_m2)),
                "disposed_on": r.disposed_on.isoformat(),
                "document": r.document,
                "settlement": r.settlement_id,
                "settlements": history.get(r.id, []),
                "actor": r.actor,
            }
            for r in rows
        ]

    def stock_rates(self, year: int, *, county: str | None = None) -> list[dict[str, Any]]:
        """供地率 and 处置率 per county (every registered county, or one) at the end of ``year``."""
        year = plan_year(year)
        names = county_names(self.engine)
        codes = [county] if county is not None else sorted(names)
        with self.engine.connect() as conn:
            if county is not None:
                require_county(conn, county)
            return [{**_rates(conn, code, year, self.rules), "county_name": names.get(code, code)} for code in codes]

    def stock_settle(self, county: str, year: int, *, actor: str) -> dict[str, Any]:
        """增存挂钩核算 of a county's year: book the reward of its disposals of the year not settled yet (journal
        kind ``stock_reward``: reward → county, the city pooling its ``stock_reward`` share), and record the
        五年供地率 with the penalty it carries. Disposals settled once are never rewarded again while that reward
        stands; once it is reversed they are unsettled and the next settlement books them."""
        year = plan_year(year)
        linkage = self.rules.stock_linkage
        today = beijing_today()
        if year > today.year:  # its disposals are still to come, and its 供地率 would decide that year's penalty
            raise InputError(
                f"settlement of {year} before that year has begun (today is {today.isoformat()}, Beijing time): "
                "a settlement counts the disposals done in its year",
                f"{year} 年尚未开始（今天是 {today.isoformat()}），不能进行该年度增存挂钩核算：核算只计已完成的处置",
            )
        with writing(self.engine) as conn:
            # one settlement of a county at a time (PostgreSQL row lock; SQLite writers take BEGIN IMMEDIATE)
            conn.execute(select(quota_holders.c.code).where(quota_holders.c.code == county).with_for_update())
            require_county(conn, county)
            rates = _rates(conn, county, year, self.rules)
            pending = _unsettled(conn, county, year)
            by_kind: dict[str, Decimal] = {}
            for p in pending:
                by_kind[p.kind] = by_kind.get(p.kind, ZERO) + p.m2
            reward = _reward(pending, self.rules)
            rate = rates["supply_rate"]
            recorded = (
                Decimal(str(rate)) if rate is not None else None,
                Decimal(str(linkage.supply_rate_threshold)),
                bool(rates["below_threshold"]),
            )
            if not pending and (same := _same_settlement(conn, county, year, recorded)) is not None:
                return {**_answer(same, county, year, recorded, rate, linkage.supply_rate_threshold), "recorded": False}
            tx: int | None = None
            if reward > 0:
                pooled = amount(reward * Decimal(str(self.rules.pooled("stock_reward"))))
                detail = "，".join(
                    f"{STOCK_KINDS[k]} {m2:,.2f} m² × {linkage.ratio(k):g}" for k, m2 in sorted(by_kind.items())
                )
                tx = post(
                    conn,
                    "stock_reward",
                    move("land_new", year, reward, (REWARD, "available"), (county, "available"))
                    + move("land_new", year, pooled, (county, "available"), (CITY, "available")),
                    actor=actor,
                    reason=f"增存挂钩奖励（{year} 年处置：{detail}；{linkage.basis or '自然资规〔2018〕1号'}）",
                )
            settlement = conn.execute(
                insert(stock_settlements)
                .values(
                    county=county,
                    year=year,
                    supply_rate=recorded[0],
                    threshold=recorded[1],
                    penalty=recorded[2],
                    reward_m2=reward,
                    transaction_id=tx,
                    created=datetime.now(UTC),
                    actor=actor,
                )
                .returning(stock_settlements.c.id)
            ).scalar_one()
            _mark_settled(conn, pending, settlement)
        return {
            "settlement": int(settlement),
            "transaction": tx,
            "county": county,
            "year": year,
            "disposals": len(pending),
            "reward_m2": float(reward),
            "supply_rate": rate,
            "threshold": linkage.supply_rate_threshold,
            "penalty": bool(rates["below_threshold"]),
            "recorded": True,
        }


def _same_settlement(
    conn: Connection, county: str, year: int, recorded: tuple[Decimal | None, Decimal, bool]
) -> int | None:
    """The county's latest settlement of ``year`` if it recorded the same 五年供地率, threshold and penalty as
    ``recorded``, else None. A settlement with no disposal to reward and nothing else to record changes nothing,
    and is not added (twenty concurrent requests once left nineteen empty rows); one whose 供地率 or penalty has
    changed (land registered or disposed in an earlier year moves the window's rate) is recorded: the latest
    settlement is what :func:`penalty_reason` applies. Called under the county's lock, so racing settlements see
    each other's row."""
    s = stock_settlements.c
    latest = conn.execute(
        select(s.id, s.supply_rate, s.threshold, s.penalty)
        .where(s.county == county, s.year == year)
        .order_by(s.id.desc())
        .limit(1)
    ).first()
    if latest is None:
        return None
    rate = None if latest.supply_rate is None else Decimal(latest.supply_rate)
    same = (rate, Decimal(latest.threshold), bool(latest.penalty)) == recorded
    return int(latest.id) if same else None


def _answer(
    settlement: int,
    county: str,
    year: int,
    recorded: tuple[Decimal | None, Decimal, bool],
    rate: float | None,
    threshold: float,
) -> dict[str, Any]:
    """The answer of a settlement that found nothing new: the latest settlement's figures, which stand."""
    return {
        "settlement": settlement,
        "transaction": None,
        "county": county,
        "year": year,
        "disposals": 0,
        "reward_m2": 0.0,
        "supply_rate": rate,
        "threshold": threshold,
        "penalty": recorded[2],
        "note_en": f"nothing new since settlement #{settlement} of {county} for {year}: no unsettled disposal, the "
        "same five-year supply rate and penalty; no settlement recorded",
        "note_zh": f"{county} {year} 年自第 {settlement} 号增存挂钩核算以来没有新的处置，五年供地率和限制措施均未变化，"
        "未新增核算记录",
    }


__all__ = ["StockFeature", "StockImport", "StockRegister", "penalty_reason", "stock_features"]


DOCUMENT_CHARS = 100  # stock_disposals.document (String(100))


def _check_document(document: str | None) -> None:
    """A disposal's 文号 as the approval's 批准文号 is checked (``Movements.confirm``): one printable line of 1 to
    ``DOCUMENT_CHARS`` characters, read in the register's tables and on paper. Only control characters were
    refused: a line break was kept (a 文号 of two lines in the CSV), a blank one kept as blank, and one beyond the
    column, which SQLite keeps, was PostgreSQL's error."""
    if document is None:
        return
    check_printable(document, "document number", "文号")  # said as before: 文号含有控制字符
    check_single_line(document, "document number", "文号")
    if not document.strip() or len(document) > DOCUMENT_CHARS:
        raise InputError(
            f"the document number must hold 1 to {DOCUMENT_CHARS} characters", f"文号须为 1 至 {DOCUMENT_CHARS} 个字符"
        )
