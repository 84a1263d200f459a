"""The land a reservation took, on SQLite and PostgreSQL: land reserved once is not charged again while that
reservation stands — re-reviewed under another parcel id, overlapping half of it, posted at the same moment —
济宁 济政办字〔2020〕52号 三（一）3 "据实核定项目建设用地需求". Real reviews of squares drawn in EPSG:4548 (the review
hands their outlines back in EPSG:4490, to 1e-7°), each overlap figured independently from those outlines."""

from __future__ import annotations

import json
from decimal import Decimal
from functools import partial
from typing import Any

import pytest
import shapely
import shapely.affinity
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, inspect, select
from support import EPSG, assert_problem, at_once, auth, parcel_frame, rect
from test_api import client as client  # the fixture: the service over the rectangle blueprint
from test_api import feature
from test_quota import enter, journal_size
from test_quota import review as figures_review

from geo.blueprint import Blueprint
from geo.crs import reproject
from geo.db import MIGRATIONS, include_object, metadata, migrate
from geo.errors import QuotaError
from geo.quota.ledger import Ledger
from geo.quota.report import area_texts
from geo.quota.tables import quota_reserved_land
from geo.review import ReviewResult, review

YEAR = 2026
COUNTY = "370811"
PROJECTS = tuple(f"XM-{n}" for n in range(1, 9))
# 100 m squares on the paddy cell (2–3 km, 0–1 km) of the rectangle blueprint, in km from its origin
A = (2.2, 0.2, 2.3, 0.3)
HALF_EAST = (2.25, 0.2, 2.35, 0.3)  # A shifted 50 m east: 50 m × 100 m = 5,000 m² of A
EAST = (2.3, 0.2, 2.4, 0.3)  # touches A's east edge
EAST_HALF = (2.35, 0.2, 2.45, 0.3)  # half of EAST


@pytest.fixture
def ledger(engine: Engine) -> Ledger:
    """Two counties, the projects XM-1 … XM-8 in the library (市重点, 储备, 任城区), and quota enough for all."""
    ledger = Ledger(engine)
    ledger.register_counties([(COUNTY, "任城区"), ("370812", "兖州区")])
    enter(ledger, *PROJECTS)
    factors = ("land_new", "land_compensation", "land_compensation_paddy", "land_compensation_grain")
    ledger.issue(YEAR, [(COUNTY, f, 1_000_000) for f in factors], actor="省厅")
    return ledger


def reviewed(blueprint: Blueprint, *parcels: tuple[str, tuple[float, float, float, float]]) -> ReviewResult:
    """A review of squares (id, box in km) drawn in EPSG:4548, handed to the review in EPSG:4490."""
    frame = parcel_frame(*(rect(*box) for _, box in parcels)).assign(id=[pid for pid, _ in parcels])
    return review(frame.to_crs(4490), blueprint)


def reserve(ledger: Ledger, result: ReviewResult, project: str, parcel: str | None = None) -> Any:
    return ledger.reserve_parcel(result, year=YEAR, project_id=project, parcel_id=parcel, actor="项目系统")


def shared_m2(first: ReviewResult, second: ReviewResult) -> float:
    """The land two reviews' (first) parcels share, from their EPSG:4490 outlines, in m² of EPSG:4548."""
    one, two = (reproject(shapely.from_geojson(json.dumps(r.parcels[0].geometry)), 4490, EPSG) for r in (first, second))
    return float(one.intersection(two).area)


def figures(m2: float) -> tuple[str, str]:
    """An overlap as a refusal writes it (English, Chinese)."""
    square, ha, mu = area_texts(Decimal(str(round(m2, 4))))
    return f"{square} m² ({ha} ha, {mu} mu)", f"{square} m²（{ha} 公顷，{mu} 亩）"


def outlines(ledger: Ledger) -> int:
    with ledger.engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(quota_reserved_land)).scalar_one())


def test_a_parcel_re_reviewed_under_another_id_is_refused_with_the_overlap(
    ledger: Ledger, blueprint: Blueprint
) -> None:
    """Parcel A reserved for XM-1, then the same square reviewed again as A-2: for another project and for XM-1
    itself it would charge the same 1 ha twice; refused naming the reservation (transaction, project, parcel) and the
    overlap in m², 公顷 and 亩, in both languages. Before outlines were kept it was reserved: another id, another
    review, so not recognised."""
    first = reviewed(blueprint, ("A", A))
    tx = reserve(ledger, first, "XM-1").transaction
    again = reviewed(blueprint, ("A-2", A))
    overlap = shared_m2(first, again)
    assert overlap == pytest.approx(10_000, abs=1)  # the outlines are rounded to 1e-7° (about 1 cm)
    # the same land is the parcel, no more: rounding made the outlines share more than the 10,000 m² it is
    assert again.parcels[0].area_m2 == 10_000 and overlap > 10_000
    en, zh = figures(min(overlap, again.parcels[0].area_m2))
    size = journal_size(ledger)
    for project in ("XM-2", "XM-1"):
        with pytest.raises(QuotaError) as refused:
            reserve(ledger, again, project)
        assert refused.value.message_en.startswith(
            f"parcel A-2 overlaps land reserved already: {en} with parcel A, reserved "
            f"for project XM-1 (transaction #{tx}); land is charged once (济宁 济政办字〔2020〕52号 三（一）3"
        )
        assert f"lantu quota reverse {tx}" in refused.value.message_en
        assert refused.value.message_zh.startswith(
            f"地块 A-2 与已配置指标的用地重叠：与第 {tx} 号交易为项目 XM-1 配置的地块 A"
            f"重叠 {zh}；"
            "同一用地只能核算一次（济宁 济政办字〔2020〕52号 三（一）3“据实核定项目建设用地需求”）"
        )
    assert (journal_size(ledger), outlines(ledger)) == (size, 1)


def test_a_parcel_over_half_of_a_reserved_one_is_refused(ledger: Ledger, blueprint: Blueprint) -> None:
    """A square shifted 50 m from a reserved 100 m square shares 5,000 m² (0.5000 公顷, 7.50 亩) with it:
    refused, with that figure."""
    first = reviewed(blueprint, ("A", A))
    tx = reserve(ledger, first, "XM-1").transaction
    half = reviewed(blueprint, ("B", HALF_EAST))
    overlap = shared_m2(first, half)
    assert overlap == pytest.approx(5_000, abs=1)
    en, zh = figures(overlap)
    assert "0.5000 ha, 7.50 mu" in en
    with pytest.raises(QuotaError) as refused:
        reserve(ledger, half, "XM-2")
    assert f"overlaps land reserved already: {en} with parcel A" in refused.value.message_en
    assert f"(transaction #{tx})" in refused.value.message_en
    assert f"配置的地块 A重叠 {zh}" in refused.value.message_zh and first.review_id not in refused.value.message_zh


def test_an_edge_touching_neighbour_is_reserved_and_keeps_its_land(ledger: Ledger, blueprint: Blueprint) -> None:
    """A neighbour sharing A's east edge shares no land with it: reserved. Its own land is kept as A's is: a
    square over half of it is refused naming the neighbour."""
    first = reviewed(blueprint, ("A", A))
    neighbour = reviewed(blueprint, ("E", EAST))
    assert shared_m2(first, neighbour) == 0
    reserve(ledger, first, "XM-1")
    beside = reserve(ledger, neighbour, "XM-2")
    assert not beside.existed and outlines(ledger) == 2
    with pytest.raises(
        QuotaError, match=rf"with parcel E, reserved for project XM-2 \(transaction #{beside.transaction}\)"
    ):
        reserve(ledger, reviewed(blueprint, ("F", EAST_HALF)), "XM-3")


def test_a_sliver_within_the_review_tolerance_is_no_overlap(ledger: Ledger) -> None:
    """Outlines exact (no rounding): a neighbour drawn 5 mm into a 100 m square shares 0.5 m², within the 1 m² the
    review counts (its tolerance, max(1 m², 0.01 % of the area)): reserved. One drawn 5 cm in shares 5 m², of which
    more than 1 m² lies beyond what the outlines' rounding can make (``ROUNDING_M`` off each side): refused, the
    whole 5 m² said."""
    reserve(ledger, drawn((0, 0, 100, 100), pid="A", rid="R-A"), "XM-1")
    reserve(ledger, drawn((99.995, 0, 199.995, 100), pid="E", rid="R-E"), "XM-2")
    with pytest.raises(QuotaError, match=r"overlaps land reserved already: 5\.00 m² \(0\.0005 ha, 0\.01 mu\) with "):
        reserve(ledger, drawn((-99.95, 0, 0.05, 100), pid="W", rid="R-W"), "XM-3")


def test_a_neighbour_along_a_long_edge_shares_no_land_for_the_rounding(ledger: Ledger) -> None:
    """A review rounds each vertex to 1e-7° (up to 0.56 cm): a 2 km block surveyed with a vertex every metre, its
    south edge zigzagging 9 mm from rounding, and a 6 m road along that edge share 9 m² of slivers, above the road's
    1.2 m² tolerance, though they only touch. Slivers no wider than rounding makes are no land; a road drawn 1 m
    into the block is refused, its whole overlap said (2,000 m² and the slivers' 9 m²)."""
    zigzag = [(float(x), -0.009 if x % 2 else 0.0) for x in range(0, 2_001)]  # every other vertex 9 mm south
    block = shapely.Polygon([*zigzag, (2_000, 300), (0, 300)])
    reserve(ledger, drawn(block, pid="BLOCK", rid="R-B", tolerance=60.0), "XM-1")
    road = drawn((0, -6, 2_000, 0), pid="ROAD", rid="R-R", tolerance=1.2)
    assert shared_m2(drawn(block, pid="BLOCK", rid="R-B"), road) == pytest.approx(9.0, abs=0.1)  # slivers
    assert not reserve(ledger, road, "XM-2").existed
    with pytest.raises(QuotaError, match=r"; 2,009\.00 m² \(0\.2009 ha, 3\.01 mu\) with parcel BLOCK, "):
        reserve(ledger, drawn((0, -6, 2_000, 1), pid="ROAD-2", rid="R-R2"), "XM-3")


def test_land_is_found_reserved_in_another_county(ledger: Ledger) -> None:
    """Two reviews may give land on a county line to either county (each parcel to the county holding most of it):
    half of A reserved from 任城区, then charged to 兖州区, is refused all the same."""
    reserve(ledger, drawn((0, 0, 100, 100), pid="A", rid="R-A"), "XM-1")
    enter(ledger, "YZ-1", county="370812")
    ledger.issue(YEAR, [("370812", "land_new", 100_000)], actor="省厅")
    with pytest.raises(QuotaError, match=r"overlaps land reserved already: 5,000\.00 m² .* parcel A, "):
        reserve(ledger, drawn((50, 0, 150, 100), pid="B", rid="R-B", county="370812"), "YZ-1")


def test_a_small_parcel_inside_a_large_reserved_one_is_refused_either_way(ledger: Ledger) -> None:
    """The overlap counts above the smaller of the two parcels' tolerances: 9 m² inside a 16 ha parcel (tolerance
    16 m²) is all of the small parcel (tolerance 1 m²), refused whichever was reserved first."""
    large, small = (0, 0, 400, 400), (100, 100, 103, 103)
    reserve(ledger, drawn(large, pid="L", rid="R-L", tolerance=16.0), "XM-1")
    with pytest.raises(QuotaError, match=r"overlaps land reserved already: 9\.00 m² "):
        reserve(ledger, drawn(small, pid="S", rid="R-S"), "XM-2")
    reserve(ledger, drawn(small, pid="S", rid="R-S2", dx=1_000), "XM-3")
    with pytest.raises(QuotaError, match=r"overlaps land reserved already: 9\.00 m² .* parcel S, "):
        reserve(ledger, drawn(large, pid="L-2", rid="R-L2", tolerance=16.0, dx=1_000), "XM-4")


@pytest.mark.parametrize("release", ["revoke", "lapse", "reverse"])
def test_once_the_first_is_released_the_overlapping_one_is_reserved(
    ledger: Ledger, blueprint: Blueprint, release: str
) -> None:
    """A's reservation revoked (撤回), lapsed (收回) or reversed (冲销): its land is free, and the half-overlapping
    parcel is reserved; then A's land is the new one's, and putting A's reservation back in force (reversing the
    release) is refused, naming it."""
    first = reviewed(blueprint, ("A", A))
    tx = reserve(ledger, first, "XM-1").transaction
    half = reviewed(blueprint, ("B", HALF_EAST))
    with pytest.raises(QuotaError, match="overlaps land reserved already"):
        reserve(ledger, half, "XM-2")
    if release == "revoke":
        undo = ledger.revoke("XM-1", actor="市自然资源局")
    elif release == "lapse":
        undo = ledger.lapse("XM-1", actor="市自然资源局", reason="项目不再实施")
    else:
        undo = ledger.reverse(tx, actor="市自然资源局", reason="误配置")
    second = reserve(ledger, half, "XM-2").transaction
    with pytest.raises(QuotaError, match=rf"parcel B, reserved for project XM-2 \(transaction #{second}\)"):
        reserve(ledger, reviewed(blueprint, ("A-2", A)), "XM-3")
    size = journal_size(ledger)
    with pytest.raises(QuotaError) as refused:
        ledger.reverse(undo, actor="市自然资源局", reason="撤回有误")
    assert refused.value.message_en.startswith(
        f"reversing transaction #{undo} would put reservation #{tx} (parcel A of project XM-1) back in force, whose "
        f"land overlaps land reserved since: {figures(shared_m2(first, half))[0]} with parcel B"
    )
    assert f"冲销第 {undo} 号交易将使第 {tx} 号配置（项目 XM-1 的地块 A）重新生效" in refused.value.message_zh
    assert journal_size(ledger) == size


def test_the_repeat_of_a_reservation_still_exists(ledger: Ledger, blueprint: Blueprint) -> None:
    """The same review, parcel and project asked again is the first reservation (existed), not land overlapping
    itself; its outline is kept once."""
    first = reviewed(blueprint, ("A", A))
    done = reserve(ledger, first, "XM-1")
    size = journal_size(ledger)
    assert reserve(ledger, first, "XM-1") == (done.transaction, True)
    assert (journal_size(ledger), outlines(ledger)) == (size, 1)


def test_reservations_recorded_before_outlines_keep_the_parcel_id_check(ledger: Ledger, blueprint: Blueprint) -> None:
    """A reservation recorded before outlines were kept (the schema taken back to 0008 and up again: its outline is
    gone) has no land to compare: a parcel over half of it under another id is reserved (the check cannot see it),
    while the same parcel id, county and 新增 from another review is still refused (``_same_land``)."""
    first = reviewed(blueprint, ("A", A))
    tx = reserve(ledger, first, "XM-1").transaction
    downgrade(ledger.engine, "0008_settlement_history")
    migrate(ledger.engine)
    assert outlines(ledger) == 0
    reserve(ledger, reviewed(blueprint, ("B", HALF_EAST)), "XM-2")  # the limit: nothing to compare with
    with pytest.raises(QuotaError, match=rf"parcel A is reserved for project XM-1 already \(transaction #{tx}, "):
        reserve(ledger, reviewed(blueprint, ("A", A)), "XM-3")


@pytest.mark.filterwarnings("ignore:Did not recognize type 'geometry'")  # PostGIS column, left out on purpose
def test_migration_0009_builds_the_declared_table_and_takes_it_back(ledger: Ledger) -> None:
    """``quota_reserved_land`` as :mod:`geo.quota.tables` declares it (column types, the county index), on SQLite
    and PostgreSQL; 0009 taken back drops it alone."""
    downgrade(ledger.engine, "0008_settlement_history")
    assert "quota_reserved_land" not in inspect(ledger.engine).get_table_names()
    migrate(ledger.engine)
    with ledger.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"include_object": include_object})
        assert compare_metadata(context, metadata) == []
    assert [i["column_names"] for i in inspect(ledger.engine).get_indexes("quota_reserved_land")] == [["county"]]


@pytest.mark.parametrize("posts", [2, 6])
def test_overlapping_reservations_posted_at_once_reserve_one(ledger: Ledger, blueprint: Blueprint, posts: int) -> None:
    """The same square reviewed ``posts`` times under different ids, each reserved for another project at the same
    moment: the check of the county's land and the booking are one step (the county's row held), so one is
    reserved and every other refused naming it — without the lock PostgreSQL let each pass the check before any had
    committed."""
    results = [reviewed(blueprint, (f"A-{n}", A)) for n in range(posts)]
    outcomes = at_once(*(partial(reserve, ledger, results[n], PROJECTS[n]) for n in range(posts)), refused=QuotaError)
    booked = [o.transaction for o in outcomes if not isinstance(o, QuotaError)]
    refused = [o for o in outcomes if isinstance(o, QuotaError)]
    assert len(booked) == 1 and len(refused) == posts - 1
    assert all(f"(transaction #{booked[0]})" in e.message_en for e in refused), [e.message_en for e in refused]
    assert outlines(ledger) == 1


def test_overlapping_land_charged_to_two_counties_at_once_is_reserved_once(ledger: Ledger) -> None:
    """Land on a county line reviewed into 任城区 for one project and into 兖州区 for another, both reserved at the same
    moment: every county is held while the land is checked, so one is reserved and the other refused naming it."""
    enter(ledger, "YZ-1", county="370812")
    ledger.issue(YEAR, [("370812", "land_new", 100_000)], actor="省厅")
    west, east = (
        drawn((0, 0, 100, 100), pid="W", rid="R-W"),
        drawn((50, 0, 150, 100), pid="E", rid="R-E", county="370812"),
    )
    outcomes = at_once(lambda: reserve(ledger, west, "XM-1"), lambda: reserve(ledger, east, "YZ-1"), refused=QuotaError)
    refused = [o for o in outcomes if isinstance(o, QuotaError)]
    assert len(refused) == 1 and "overlaps land reserved already: 5,000.00 m²" in refused[0].message_en
    assert outlines(ledger) == 1


def test_a_release_undone_and_an_overlapping_reservation_at_once_book_one(ledger: Ledger, blueprint: Blueprint) -> None:
    """A's 撤回 reversed while a parcel over half of A is reserved, at the same moment: the reversal holds the county
    as a reservation does, so one of them is booked and the other refused for the land — never both (A and the
    new parcel both standing), and no deadlock between the county and its accounts."""
    first = reviewed(blueprint, ("A", A))
    reserve(ledger, first, "XM-1")
    undo = ledger.revoke("XM-1", actor="市自然资源局")
    half = reviewed(blueprint, ("B", HALF_EAST))
    outcomes = at_once(
        lambda: ledger.reverse(undo, actor="a", reason="撤回有误"),
        lambda: reserve(ledger, half, "XM-2"),
        refused=QuotaError,
    )
    booked = [
        name for name, o in zip(("reversal", "reservation"), outcomes, strict=True) if not isinstance(o, QuotaError)
    ]
    refused = [o.message_en for o in outcomes if isinstance(o, QuotaError)]
    assert len(booked) == 1 and len(refused) == 1, (booked, refused)
    assert "overlaps land reserved" in refused[0] or "whose land overlaps land reserved since" in refused[0]


def test_a_repeat_posted_at_once_is_the_first_reservation(ledger: Ledger, blueprint: Blueprint) -> None:
    """The same request posted twice at once: one reserves, the other finds it (existed) — not land overlapping
    itself: the repeat is looked up with the county held."""
    result = reviewed(blueprint, ("A", A))
    answers = at_once(*[lambda: reserve(ledger, result, "XM-1")] * 2, refused=QuotaError)
    assert sorted(a.existed for a in answers) == [False, True]
    assert len({a.transaction for a in answers}) == 1 and outlines(ledger) == 1


def test_an_outline_no_review_writes_is_refused(ledger: Ledger) -> None:
    """A parcel whose outline is not a polygon in CGCS2000 lon/lat, or whose repair leaves no area, is refused,
    nothing written."""
    point = (
        figures_review(1_000).parcels[0].model_copy(update={"geometry": {"type": "Point", "coordinates": [116, 35]}})
    )
    metres = drawn((0, 0, 100, 100), pid="M", rid="R-M").parcels[0]
    metres = metres.model_copy(update={"geometry": json.loads(shapely.to_geojson(rect(0, 0, 0.1, 0.1)))})
    flat = [[116.6, 35.4], [116.61, 35.4], [116.62, 35.4], [116.6, 35.4]]  # a ring of no area: repaired, a line
    collapsed = metres.model_copy(update={"geometry": {"type": "Polygon", "coordinates": [flat]}})
    size = journal_size(ledger)
    for parcel in (point, metres, collapsed):
        result = figures_review(1_000).model_copy(update={"parcels": [parcel]})
        with pytest.raises(QuotaError, match="not a polygon in CGCS2000 longitude and latitude"):
            reserve(ledger, result, "XM-1")
    assert journal_size(ledger) == size


def test_the_api_answers_409_naming_the_reserved_land(client: TestClient, keys: dict[str, str]) -> None:
    """``POST /api/v1/quotas/reserve`` of a stored review whose parcel lies over half of one reserved before: 409,
    the reservation and the overlap named (a problem+json, both languages); the repeat of the first still 200."""
    issue = [
        {"county_code": COUNTY, "factor": f, "amount": 1_000_000}
        for f in ("land_new", "land_compensation", "land_compensation_paddy", "land_compensation_grain")
    ]
    admin = auth(keys, "admin")
    assert client.post("/api/v1/quotas/issue", json={"year": YEAR, "rows": issue}, headers=admin).is_success
    for pid in ("XM-1", "XM-2"):
        project = {"id": pid, "name": pid, "project_type": "industrial", "level": "县重点", "county": COUNTY}
        assert client.post("/api/v1/projects", json={**project, "stage": "储备"}, headers=admin).is_success
    system = auth(keys, "project-system")
    ids = [
        client.post("/api/v1/reviews", json=feature(rect(*box), id=pid), headers=auth(keys)).json()["review_id"]
        for pid, box in (("A", A), ("B", HALF_EAST))
    ]
    first = {"review_id": ids[0], "year": YEAR, "project_id": "XM-1"}
    tx = client.post("/api/v1/quotas/reserve", json=first, headers=system).json()["transaction"]
    second = {"review_id": ids[1], "year": YEAR, "project_id": "XM-2"}
    problem = assert_problem(client.post("/api/v1/quotas/reserve", json=second, headers=system), 409)
    assert f"with parcel A, reserved for project XM-1 (transaction #{tx})" in problem["message_en"]
    assert ids[0] not in problem["message_en"] + problem["message_zh"]  # another review's id: its capability
    assert "0.5000 公顷，7.50 亩" in problem["message_zh"]
    again = client.post("/api/v1/quotas/reserve", json=first, headers=system)
    assert again.status_code == 200 and again.json() == {"transaction": tx, "existed": True}


# --- helpers -----------------------------------------------------------------------------------------------------


def drawn(
    box: tuple[float, float, float, float] | shapely.Polygon,
    *,
    pid: str,
    rid: str,
    tolerance: float = 1.0,
    dx: float = 0.0,
    county: str = COUNTY,
) -> ReviewResult:
    """A review result (figures of :func:`test_quota.review`) whose parcel is the box, or polygon, (metres from a
    point of the paddy cell, EPSG:4548, shifted ``dx`` east) in EPSG:4490, unrounded, with the tolerance given."""
    x0, y0 = rect(2, 0, 2, 0).bounds[:2]
    shape = shapely.box(*box) if isinstance(box, tuple) else box
    area = shape.area
    square = reproject(shapely.affinity.translate(shape, x0 + dx, y0), EPSG, 4490)
    result = figures_review(area, rid=rid, pid=pid, county=county)
    parcel = result.parcels[0].model_copy(
        update={"geometry": json.loads(shapely.to_geojson(square)), "tolerance_m2": tolerance}
    )
    return result.model_copy(update={"parcels": [parcel]})


def downgrade(engine: Engine, revision: str) -> None:
    """Take the schema back to ``revision`` (Alembic, as :func:`geo.db.migrate` takes it up)."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    with engine.begin() as conn:
        config.attributes["connection"] = conn
        command.downgrade(config, revision)
