"""The land a reservation takes (用地范围): each reserved parcel's outline, kept beside its transaction, so that land
reserved once is not charged again while that reservation stands.

济宁 济政办字〔2020〕52号 三、重点任务（一）土地跟着项目走 3. 完善落地审查: "…严格落实《山东省建设用地
控制标准（2019年版）》等规范，据实核定项目建设用地需求". A parcel's 新增 and 占补 charged a second time — its land
re-reviewed under another parcel id, redrawn a little, or overlapping part of a parcel reserved before — is no 据实
need: the ledger would hold more land for projects than they take.

* What is kept (``quota_reserved_land``, migration 0009): the parcel's outline as the review gives it
  (``ParcelResult.geometry``: GeoJSON in EPSG:4490, 1e-7°) as WKB, with the county charged and the parcel's sliver
  tolerance (``tolerance_m2``). The check reads every county's outlines: two reviews may give land on a county line
  to either county.
* What overlaps: the area the new parcel shares with a standing reservation's outline, both projected into the
  CGCS2000 3° Gauss-Krüger zone of the new parcel's centroid (DESIGN.md: areas in the parcel's zone). It counts
  above the smaller of the two parcels' tolerances, each max(min_m2, ratio × area) as the review computed it: the
  overlap is a piece of either parcel, and a review counts a piece of its parcel above that parcel's tolerance. A
  neighbour sharing an edge overlaps by nothing; the outlines' 1e-7° rounding leaves well under 1 m² on a 100 m edge.
* What stands: a reservation neither undone nor released (撤回, 收回: :func:`geo.quota.standing.released_reservations`,
  the rule the repeat of a reservation reads).
* Reservations recorded before outlines were kept have none: they are found by their parcel id, county and 新增
  only (:func:`geo.quota.reservations._same_land`). A parcel whose review carries no outline records none.
* Two reservations at once: each holds every county's row of ``quota_holders`` (:func:`lock_reserved_land`:
  PostgreSQL ``FOR NO KEY UPDATE``, so a foreign key to a county waits on nothing; SQLite's writer holds the
  database) before it reads the outlines, so the second reads the first's once it has committed, whichever counties
  they are charged to.
"""

from __future__ import annotations

import json
from collections.abc import Collection
from dataclasses import dataclass, replace
from decimal import Decimal
from typing import Any

import numpy as np
import shapely
from shapely.errors import GEOSException
from sqlalchemy import Connection, insert, select

from geo.crs import CGCS2000, CHINA_LAT, CHINA_LON, reproject, zone_for_geometry
from geo.errors import QuotaError
from geo.quota.accounts import amount
from geo.quota.report import area_texts
from geo.quota.standing import released_reservations
from geo.quota.tables import quota_holders, quota_reserved_land, quota_transactions
from geo.review.result import ParcelResult

BASIS_EN = "济宁 济政办字〔2020〕52号 三（一）3: 据实核定项目建设用地需求"
BASIS_ZH = "济宁 济政办字〔2020〕52号 三（一）3“据实核定项目建设用地需求”"
NAMED_AT_MOST = 5  # overlapping reservations a refusal names one by one
# half the width rounding to 1e-7° can give a sliver between two outlines: each vertex moves up to 0.5e-7° (0.56 cm
# of latitude), one outline's one way and the other's the other
ROUNDING_M = 0.006


@dataclass(frozen=True)
class ReservedLand:
    """A standing reservation's land: its transaction, project, review, parcel id, outline (EPSG:4490) and the
    parcel's sliver tolerance."""

    transaction: int
    project_id: str
    review_id: str | None
    parcel_id: str
    outline: shapely.Geometry
    tolerance_m2: Decimal


@dataclass(frozen=True)
class Overlap:
    """The land a parcel shares with a standing reservation, in m² of the parcel's Gauss-Krüger zone; said by its
    transaction and project, not its review, whose id is shown only to those who may read it (SECURITY.md)."""

    reserved: ReservedLand
    m2: Decimal

    @property
    def en(self) -> str:
        m2, ha, mu = area_texts(self.m2)
        r = self.reserved
        return (
            f"{m2} m² ({ha} ha, {mu} mu) with parcel {r.parcel_id}, reserved for project {r.project_id} "
            f"(transaction #{r.transaction})"
        )

    @property
    def zh(self) -> str:
        m2, ha, mu = area_texts(self.m2)
        r = self.reserved
        return (
            f"与第 {r.transaction} 号交易为项目 {r.project_id} 配置的地块 {r.parcel_id}"
            f"重叠 {m2} m²（{ha} 公顷，{mu} 亩）"
        )


def parcel_outline(parcel: ParcelResult) -> shapely.Geometry | None:
    """The parcel's outline as its review gives it (GeoJSON, EPSG:4490), two-dimensional; None where the result
    carries none. QuotaError for one no review writes: not a polygon, empty, or not in China's lon/lat."""
    if parcel.geometry is None:
        return None
    try:
        outline = shapely.from_geojson(json.dumps(parcel.geometry))
    except (GEOSException, TypeError, ValueError):
        outline = None
    if outline is not None and outline.geom_type in ("Polygon", "MultiPolygon") and not outline.is_empty:
        x1, y1, x2, y2 = outline.bounds
        if CHINA_LON[0] <= x1 <= x2 <= CHINA_LON[1] and CHINA_LAT[0] <= y1 <= y2 <= CHINA_LAT[1]:
            outline = shapely.force_2d(outline)
            # rounded to 1e-7°, a valid outline may touch itself: GEOS then refuses to intersect it
            outline = outline if outline.is_valid else shapely.make_valid(outline, method="structure")
            if outline.geom_type in ("Polygon", "MultiPolygon") and outline.area > 0:  # not collapsed to lines
                return outline
    raise QuotaError(
        f"parcel {parcel.id}: its outline in the review is not a polygon in CGCS2000 longitude and latitude "
        "(EPSG:4490): the file is not as a review writes it",
        f"地块 {parcel.id} 在审查结果中的范围不是 CGCS2000 经纬度（EPSG:4490）多边形，审查结果有误",
    )


def lock_reserved_land(conn: Connection) -> None:
    """Hold every county's row until the transaction ends: reservations, and reversals that may put one back, are
    checked against the land recorded in every county (land on a county line may be charged to either) and written
    one at a time (PostgreSQL ``FOR NO KEY UPDATE``: a foreign key to a county waits on nothing; a 增存挂钩
    settlement's ``FOR UPDATE`` of its county's row waits, and is waited on, as before). The rows in code order, and
    before any other lock of the movement (accounts come after, in :func:`geo.quota.posting.post`), so no two
    writers wait on each other in a circle. SQLite's ``BEGIN IMMEDIATE`` holds the whole database already."""
    conn.execute(select(quota_holders.c.code).order_by(quota_holders.c.code).with_for_update(key_share=True))


def record_land(conn: Connection, transaction_id: int, county: str, parcel: ParcelResult, outline: Any) -> None:
    """Keep the reserved parcel's outline beside its reservation ``transaction_id``."""
    conn.execute(
        insert(quota_reserved_land).values(
            transaction_id=transaction_id,
            county=county,
            parcel_id=parcel.id,
            outline=shapely.to_wkb(outline),
            tolerance_m2=amount(parcel.tolerance_m2),
        )
    )


def _reserved_land(conn: Connection, *, project_id: str | None = None) -> list[ReservedLand]:
    """Every reservation's land recorded (of one project, if given), standing or not."""
    land, t = quota_reserved_land.c, quota_transactions.c
    query = (
        select(land.transaction_id, land.parcel_id, land.outline, land.tolerance_m2, t.project_id, t.review_id)
        .join_from(quota_reserved_land, quota_transactions, t.id == land.transaction_id)
        .where(t.kind == "reserve")
        .order_by(land.transaction_id)
    )
    if project_id is not None:
        query = query.where(t.project_id == project_id)
    rows = conn.execute(query).all()
    outlines = shapely.from_wkb([bytes(r.outline) for r in rows]) if rows else []
    return [
        ReservedLand(int(r.transaction_id), r.project_id, r.review_id, r.parcel_id, g, Decimal(r.tolerance_m2))
        for r, g in zip(rows, outlines, strict=True)
    ]


def _standing(conn: Connection, land: list[ReservedLand]) -> list[ReservedLand]:
    """The reservations among ``land`` that stand (not undone, 撤回 or 收回)."""
    gone = released_reservations(conn, {r.transaction: r.project_id for r in land})
    return [r for r in land if r.transaction not in gone]


def overlaps(
    conn: Connection,
    outline: Any,
    tolerance_m2: float | Decimal,
    *,
    leave_out: Collection[int] = (),
    land: list[ReservedLand] | None = None,
) -> list[Overlap]:
    """The standing reservations whose land ``outline`` (EPSG:4490) overlaps by more than the smaller of the two
    parcels' tolerances, largest overlap first, in any county (two reviews may give land on a county line to either
    county, and a blueprint's update may recode one); ``leave_out``: reservations not to compare with; ``land``: the
    recorded land, read once by a caller that asks for several outlines.

    The outlines are tested against the parcel in one vectorised call; only those it meets are measured (in the
    zone of its centroid) and asked whether they stand. What counts is what the outlines' 1e-7° rounding cannot have
    made (``ROUNDING_M``): a neighbour along a 2 km edge of 1 m vertices shared 6.84 m² from rounding alone."""
    land = [r for r in (_reserved_land(conn) if land is None else land) if r.transaction not in leave_out]
    if not land:
        return []
    shapely.prepare(outline)
    outlines = np.array([r.outline for r in land], dtype=object)
    met = [land[i] for i in np.flatnonzero(shapely.intersects(outlines, outline))]
    if not met:
        return []
    zone = zone_for_geometry(outline, CGCS2000)
    projected = reproject(np.array([outline, *(r.outline for r in met)], dtype=object), CGCS2000, zone)
    invalid = ~shapely.is_valid(projected)
    projected[invalid] = shapely.make_valid(projected[invalid], method="structure")
    pieces = shapely.intersection(projected[1:], projected[0])
    beyond_rounding = shapely.area(shapely.buffer(pieces, -ROUNDING_M))  # a sliver of rounding is gone
    found = [
        Overlap(r, amount(Decimal(str(round(float(m2), 4)))))
        for r, m2, core in zip(met, shapely.area(pieces), beyond_rounding, strict=True)
        if core > min(float(tolerance_m2), float(r.tolerance_m2))
    ]
    if not found:
        return []
    standing = {r.transaction for r in _standing(conn, [o.reserved for o in found])}
    kept = [o for o in found if o.reserved.transaction in standing]
    return sorted(kept, key=lambda o: (-o.m2, o.reserved.transaction))


def _listed(found: list[Overlap]) -> tuple[str, str]:
    """The overlaps as a refusal names them (English, Chinese): the first few, and how many more."""
    named = found[:NAMED_AT_MOST]
    en, zh = "; ".join(o.en for o in named), "；".join(o.zh for o in named)
    if more := len(found) - len(named):
        en, zh = f"{en}; and {more} more", f"{zh}；另有 {more} 处"
    return en, zh


def refuse_overlap(conn: Connection, parcel: ParcelResult, outline: Any) -> None:
    """Refuse reserving ``parcel`` (its ``outline``) where it overlaps the land of a standing reservation, naming
    each (transaction, project, parcel) and the overlap in m², 公顷 and 亩."""
    found = overlaps(conn, outline, parcel.tolerance_m2)
    if not found:
        return
    # the outlines' 1e-7° rounding may add a few dm² to the parcel's own area: the same land is the parcel, no more
    whole = amount(Decimal(str(parcel.area_m2)))
    en, zh = _listed([replace(o, m2=min(o.m2, whole)) for o in found])
    first = found[0].reserved.transaction
    raise QuotaError(
        f"parcel {parcel.id} overlaps land reserved already: {en}; land is charged once ({BASIS_EN}): release that "
        f"reservation first (lantu quota revoke, or lantu quota reverse {first}), or redraw the parcel without the "
        "overlap",
        f"地块 {parcel.id} 与已配置指标的用地重叠：{zh}；同一用地只能核算一次（{BASIS_ZH}）；"
        f"请先撤回或冲销该笔配置（lantu quota revoke 或 lantu quota reverse {first}），或调整地块范围避开重叠部分",
    )


def standing_of(conn: Connection, project_id: str) -> frozenset[int]:
    """The project's reservations with recorded land that stand now."""
    return frozenset(r.transaction for r in _standing(conn, _reserved_land(conn, project_id=project_id)))


def refuse_reinstated_overlap(conn: Connection, project_id: str, before: frozenset[int], undoing: int) -> None:
    """After a reversal (of ``undoing``) is written, inside its transaction: refuse it where it put a reservation of
    the project back in force (standing now, not in ``before``) whose land overlaps another standing reservation —
    one made while it was released. The reinstated ones are not compared with each other: they stood together
    before."""
    everywhere = _reserved_land(conn)  # read once for every reservation put back
    mine = [r for r in everywhere if r.project_id == project_id]
    back = [r for r in _standing(conn, mine) if r.transaction not in before]
    leave_out = {r.transaction for r in back}
    for again in back:
        if found := overlaps(conn, again.outline, again.tolerance_m2, leave_out=leave_out, land=everywhere):
            en, zh = _listed(found)
            raise QuotaError(
                f"reversing transaction #{undoing} would put reservation #{again.transaction} (parcel "
                f"{again.parcel_id} of project {project_id}) back in force, whose land overlaps land reserved since: "
                f"{en}; land is charged once ({BASIS_EN}): release #{found[0].reserved.transaction} first",
                f"冲销第 {undoing} 号交易将使第 {again.transaction} 号配置"
                f"（项目 {project_id} 的地块 {again.parcel_id}）重新生效，而其用地此后已另行配置：{zh}；"
                f"同一用地只能核算一次（{BASIS_ZH}）；"
                f"请先撤回或冲销第 {found[0].reserved.transaction} 号交易",
            )
