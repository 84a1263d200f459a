"""增存挂钩 on SQLite and PostgreSQL: the stock-land register from a blueprint of exact rectangles, disposals,
供地率/处置率 computed by hand, the reward with its two ratios, settled once, and the 供地率 penalty."""

from __future__ import annotations

import csv
import io
import json
import threading
from collections.abc import Callable
from datetime import date, datetime
from pathlib import Path
from typing import Any

import geopandas as gpd
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select
from support import EPSG, assert_problem, km2, rect, rect_blueprint
from test_quota import balance, enter, review
from typer.testing import CliRunner

from api.app import create_app
from api.cli import app
from api.keys import create_key, ensure_schema
from api.settings import Settings
from geo.blueprint import Blueprint, load_blueprint
from geo.crs import Area
from geo.db import make_engine, migrate
from geo.errors import InputError, NotFoundError, QuotaError
from geo.io.blueprint import write_blueprint
from geo.papers import BEIJING, beijing_today
from geo.quota.ledger import CITY, Ledger
from geo.quota.tables import stock_settlements

COUNTIES = [((0, 0, 5, 5), {"code": "370811", "name": "任城区"}), ((5, 0, 10, 5), {"code": "370812", "name": "兖州区"})]
A1, A2, A3, A4, A5 = (0, 0, 1, 1), (1, 0, 1.5, 0.4), (4.8, 1, 5.4, 1.5), (6, 0, 6.1, 0.1), (2, 2, 2.1, 2.1)
I1, I2 = (1, 1, 1.2, 1.5), (7, 2, 7.3, 2.3)
STOCK = {
    "county": COUNTIES,
    "approved_unsupplied": [
        (A1, {"feature_id": "A1", "approval_year": 2022, "county_code": None}),
        (A2, {"feature_id": "A2", "approval_year": 2024, "county_code": None}),
        (A3, {"feature_id": "A3", "approval_year": 2023, "county_code": None}),  # 0.2 km² in 任城, 0.4 in 兖州
        (A4, {"feature_id": "A4", "approval_year": None, "county_code": None}),  # no year: reported
        (A5, {"feature_id": "A5", "approval_year": 2015, "county_code": "370812"}),  # the attribute wins
    ],
    "idle_land": [
        (I1, {"feature_id": None, "approval_year": 2023, "county_code": None}),  # no 标识码: a geometry hash
        (I2, {"feature_id": "I2", "approval_year": 2018, "county_code": None}),
    ],
}


@pytest.fixture(scope="module")
def stock_blueprint(tmp_path_factory: pytest.TempPathFactory) -> Blueprint:
    return load_blueprint(rect_blueprint(tmp_path_factory.mktemp("stock") / "bp", STOCK, slope=None))


@pytest.fixture
def ledger(engine: Engine) -> Ledger:
    ledger = Ledger(engine)
    ledger.register_counties([("370811", "任城区"), ("370812", "兖州区")])
    return ledger


def ids(ledger: Ledger) -> dict[str, int]:
    """Register entries by their source id (the hashed one as ``I1``)."""
    return {r["feature_id"] if not r["feature_id"].startswith("geom:") else "I1": r["id"] for r in ledger.stock_land()}


def test_register_has_exact_areas_counties_and_years(ledger: Ledger, stock_blueprint: Blueprint) -> None:
    done = ledger.import_stock(stock_blueprint, actor="自然资源局")
    assert (done.added, done.existing) == (6, 0)
    assert [(s["kind"], s["feature_id"], s["reason_zh"]) for s in done.skipped] == [
        ("approved_unsupplied", "A4", "缺少批准年份，不作推测")
    ]
    rows = {
        r["feature_id"][:5] if r["feature_id"].startswith("geom:") else r["feature_id"]: r for r in ledger.stock_land()
    }
    expected = {
        "A1": ("370811", 2022, round(km2(*A1), 4)),
        "A2": ("370811", 2024, round(km2(*A2), 4)),
        "A3": ("370812", 2023, round(km2(*A3), 4)),  # the county holding most of it
        "A5": ("370812", 2015, round(km2(*A5), 4)),
        "geom:": ("370811", 2023, round(km2(*I1), 4)),
        "I2": ("370812", 2018, round(km2(*I2), 4)),
    }
    assert {k: (r["county"], r["approval_year"], r["area_m2"]) for k, r in rows.items()} == expected
    a1 = rows["A1"]
    assert (a1["kind_name"], a1["county_name"], a1["crs_used"]) == ("批而未供", "任城区", "EPSG:4548")
    assert a1["area_mu"] == 1500.0 and a1["area_ha"] == 100.0 and a1["blueprint_version"] == stock_blueprint.version


def test_reimport_is_idempotent_and_adds_only_new_features(
    ledger: Ledger, stock_blueprint: Blueprint, tmp_path: Path
) -> None:
    ledger.import_stock(stock_blueprint, actor="a")
    again = ledger.import_stock(stock_blueprint, actor="a")
    assert (again.added, again.existing, len(again.skipped)) == (0, 6, 1)
    later = {
        **STOCK,
        "idle_land": [*STOCK["idle_land"], ((3, 3, 3.1, 3.2), {"feature_id": "I3", "approval_year": 2025})],
    }
    newer = load_blueprint(rect_blueprint(tmp_path / "v2", later, slope=None, name="第二版"))
    assert newer.version != stock_blueprint.version
    done = ledger.import_stock(newer, actor="a")
    assert (done.added, done.existing) == (1, 6) and len(ledger.stock_land()) == 7


def test_area_is_measured_in_the_features_own_zone(ledger: Ledger, tmp_path: Path) -> None:
    """A layer stored in the CM 120°E zone (EPSG:4549) lying at 116.6°E is measured in EPSG:4548, its centroid's."""
    frame = gpd.GeoDataFrame({"feature_id": ["Z1"], "approval_year": [2024]}, geometry=[rect(*A1)], crs=EPSG).to_crs(
        4549
    )
    assert abs(frame.area.iloc[0] - 1e6) > 100  # in the wrong zone the area is off by the scale error
    county = gpd.GeoDataFrame([{"code": "370811", "name": "任城区"}], geometry=[rect(0, 0, 5, 5)], crs=EPSG)
    bp = load_blueprint(write_blueprint(tmp_path / "zone", {"county": county, "approved_unsupplied": frame}, name="带"))
    ledger.import_stock(bp, actor="a")
    (row,) = ledger.stock_land()
    assert row["crs_used"] == "EPSG:4548" and row["area_m2"] == pytest.approx(1e6, abs=0.01)


def test_disposals_are_refused_beyond_the_register(ledger: Ledger, stock_blueprint: Blueprint) -> None:
    ledger.import_stock(stock_blueprint, actor="a")
    land = ids(ledger)
    ledger.dispose(land["A1"], "供地", 600_000, date(2026, 3, 1), actor="a", document="济自然资供〔2026〕1号")
    with pytest.raises(QuotaError, match=r"400,000.00 m² undisposed") as over:
        ledger.dispose(land["A1"], "收回", 400_001, date(2026, 4, 1), actor="a")
    assert "未处置面积 400,000.00 m²" in over.value.message_zh
    with pytest.raises(QuotaError, match="approved in 2024") as early:
        ledger.dispose(land["A2"], "供地", 1, date(2023, 12, 31), actor="a")
    assert "早于批准" in early.value.message_zh
    with pytest.raises(QuotaError, match="does not apply to idle_land"):
        ledger.dispose(land["I1"], "供地", 1, date(2026, 1, 1), actor="a")
    with pytest.raises(QuotaError, match="unknown disposal"):
        ledger.dispose(land["I1"], "出让", 1, date(2026, 1, 1), actor="a")
    for nothing, why in ((0, "must be positive"), (1e-9, "rounds to 0 at the ledger's four decimals")):
        with pytest.raises(InputError, match=f"^disposal area: {nothing} m² {why}") as refused:  # 422, not a conflict
            ledger.dispose(land["I1"], "盘活", nothing, date(2026, 1, 1), actor="a")
        assert refused.value.message_zh.startswith(f"处置面积：{nothing} m² ")
    with pytest.raises(NotFoundError):
        ledger.dispose(999, "盘活", 1, date(2026, 1, 1), actor="a")
    ledger.dispose(land["A1"], "收回", 400_000, date(2026, 4, 1), actor="a")  # exactly what remains
    a1 = next(r for r in ledger.stock_land() if r["id"] == land["A1"])
    assert (a1["disposed_m2"], a1["remaining_m2"]) == (1_000_000, 0)
    assert [(d["kind"], d["document"], d["settlement"]) for d in ledger.stock_disposals()] == [
        ("供地", "济自然资供〔2026〕1号", None),
        ("收回", None, None),
    ]


def test_the_remainder_as_listed_disposes_all_of_it(ledger: Ledger, stock_blueprint: Blueprint) -> None:
    """The register keeps four decimals, its listings show two: disposing the figure shown takes the exact
    remainder, neither refused for 0.0011 m² nor leaving 0.004 m² that every listing shows as 0.00."""
    ledger.import_stock(stock_blueprint, actor="a")
    land = ids(ledger)
    ledger.dispose(land["A1"], "供地", 600_000.0011, date(2026, 3, 1), actor="a")  # 399,999.9989 m² remain
    (a1,) = [r for r in ledger.stock_land() if r["id"] == land["A1"]]
    assert a1["remaining_m2"] == 399_999.9989
    ledger.dispose(land["A1"], "收回", 400_000, date(2026, 4, 1), actor="a")  # the listing shows 400,000.00
    ledger.dispose(land["A2"], "供地", 199_999.996, date(2026, 4, 1), actor="a")  # A2 is 200,000 m²
    rows = {r["id"]: r for r in ledger.stock_land()}
    assert [rows[land[k]]["remaining_m2"] for k in ("A1", "A2")] == [0, 0]
    assert [d["area_m2"] for d in ledger.stock_disposals()] == [600_000.0011, 399_999.9989, 200_000]
    with pytest.raises(QuotaError, match=r"0.00 m² undisposed; 0.01 m² cannot be disposed"):
        ledger.dispose(land["A2"], "收回", 0.01, date(2026, 5, 1), actor="a")  # half a hundredth or more: refused
    with pytest.raises(QuotaError, match="undisposed"):
        ledger.dispose(land["A2"], "收回", 0.004, date(2026, 5, 1), actor="a")  # nothing left: no disposal of 0
    assert len(ledger.stock_disposals()) == 3


@pytest.mark.parametrize(
    ("first", "remains", "listed", "typed", "left"),
    [
        (99_998.765, 1.235, "1.24", 1.24, 0),  # 0.005 over the remainder, as listed: all of it
        (87_654.325, 12_345.675, "12,345.67", 12_345.67, 0),  # 0.005 under, as listed (the float is below .675)
        (87_654.325, 12_345.675, "12,345.67", 12_345.66, 0.015),  # not as listed: what was typed
        (99_999.993, 0.007, "0.01", 0.003, 0.004),  # 0.003 m² is not the 0.01 listed: no more than typed
    ],
)
def test_as_listed_means_written_alike(
    ledger: Ledger, stock_blueprint: Blueprint, first: float, remains: float, listed: str, typed: float, left: float
) -> None:
    """ "As listed" is the listing's own writing (two decimals, geo.crs.Area), not a distance: exactly 0.005 m² off
    the remainder is as listed when the listing rounds that way, and a refusal writes both figures alike."""
    ledger.import_stock(stock_blueprint, actor="a")
    i1 = ids(ledger)["I1"]  # 100,000 m²
    ledger.dispose(i1, "盘活", first, date(2026, 3, 1), actor="a")
    (row,) = [r for r in ledger.stock_land() if r["id"] == i1]
    assert row["remaining_m2"] == remains
    assert listed + " m²" in Area(row["remaining_m2"]).zh
    ledger.dispose(i1, "收回", typed, date(2026, 4, 1), actor="a")
    (row,) = [r for r in ledger.stock_land() if r["id"] == i1]
    assert row["remaining_m2"] == left
    if left:
        with pytest.raises(QuotaError, match=rf"has {Area(left).m2_text} m² undisposed; 0.02 m² cannot"):
            ledger.dispose(i1, "收回", 0.02, date(2026, 5, 1), actor="a")


def test_a_disposal_dated_after_today_is_refused_and_nothing_written(
    ledger: Ledger, stock_blueprint: Blueprint
) -> None:
    """A disposal records what happened (the 处置完成量 earns quota): dated after today, Beijing time, it is an
    input error naming the date (9999-12-31 was accepted, and settled as 9999's), and the register is untouched."""
    ledger.import_stock(stock_blueprint, actor="a")
    land = ids(ledger)
    for when in (date(9999, 12, 31), date(2100, 12, 31)):
        with pytest.raises(InputError, match=rf"^disposal date {when.isoformat()} is after today \(") as late:
            ledger.dispose(land["A1"], "供地", 1, when, actor="a")
        assert late.value.message_zh.startswith(f"处置日期 {when.isoformat()} 晚于今天")
    assert ledger.stock_disposals() == []
    today = datetime.now(BEIJING).date()
    ledger.dispose(land["A1"], "供地", 1, today, actor="a")  # today is not after today
    assert [d["disposed_on"] for d in ledger.stock_disposals()] == [today.isoformat()]


def _dispose_example(ledger: Ledger) -> dict[str, int]:
    land = ids(ledger)
    ledger.dispose(land["A1"], "供地", 500_000, date(2026, 3, 1), actor="a")
    ledger.dispose(land["A2"], "收回", 200_000, date(2026, 4, 1), actor="a")
    ledger.dispose(land["I1"], "盘活", 40_000, date(2026, 5, 1), actor="a")
    ledger.dispose(land["I2"], "收回", 90_000, date(2025, 5, 1), actor="a")  # 兖州, another year
    return land


def test_rates_by_hand(ledger: Ledger, stock_blueprint: Blueprint) -> None:
    """任城区 2026, window 2022–2026: approved A1 1 000 000 + A2 200 000 + I1 100 000 = 1 300 000 m²; supplied
    I1 (闲置 land was supplied) 100 000 + A1's 供地 500 000 = 600 000 → 46.15 % < 60 %."""
    ledger.import_stock(stock_blueprint, actor="a")
    _dispose_example(ledger)
    (r,) = ledger.stock_rates(2026, county="370811")
    assert (r["county_name"], r["window"], r["approved_m2"], r["supplied_m2"]) == (
        "任城区",
        "2022–2026",
        1_300_000,
        600_000,
    )
    assert r["supply_rate"] == pytest.approx(600 / 1300, abs=1e-6) and r["below_threshold"] is True
    assert (r["unsupplied_m2"], r["unsupplied_disposed_m2"], r["unsupplied_disposal_rate"]) == (
        1_200_000,
        700_000,
        pytest.approx(7 / 12, abs=1e-6),
    )
    assert (r["idle_m2"], r["idle_disposed_m2"], r["idle_disposal_rate"]) == (100_000, 40_000, 0.4)
    assert r["reward_due_m2"] == 700_000 * 0.5 + 40_000  # 批而未供 × 0.5, 闲置 等量
    (y,) = ledger.stock_rates(2026, county="370812")  # A3 2023 in the window, A5 2015 and I2 2018 outside
    assert (y["approved_m2"], y["supplied_m2"], y["supply_rate"]) == (300_000, 0, 0)
    (early,) = ledger.stock_rates(2021, county="370811")  # nothing approved yet: no rate, no penalty
    assert early["supply_rate"] is None and early["below_threshold"] is False and early["approved_m2"] == 0
    with pytest.raises(InputError, match="unknown county"):
        ledger.stock_rates(2026, county="999999")


def test_settlement_books_the_two_ratios_once(ledger: Ledger, stock_blueprint: Blueprint) -> None:
    ledger.import_stock(stock_blueprint, actor="a")
    land = _dispose_example(ledger)
    done = ledger.stock_settle("370811", 2026, actor="市自然资源局")
    assert (done["disposals"], done["reward_m2"], done["penalty"]) == (3, 390_000, True)
    assert balance(ledger, "370811") == 273_000 and balance(ledger, CITY) == 117_000  # 30 % pooled
    (tx,) = [j for j in ledger.journal() if j["kind"] == "stock_reward" and j["holder"] == "370811" and j["amount"] > 0]
    assert tx["transaction"] == done["transaction"] and "批而未供 700,000.00 m² × 0.5" in tx["reason"]
    again = ledger.stock_settle("370811", 2026, actor="a")  # nothing new: no second reward, no second record
    assert (again["disposals"], again["reward_m2"], again["transaction"]) == (0, 0, None)
    assert (again["settlement"], again["recorded"], again["penalty"]) == (done["settlement"], False, True)
    assert "no settlement recorded" in again["note_en"] and "未新增核算记录" in again["note_zh"]
    assert balance(ledger, "370811") == 273_000
    ledger.dispose(land["A1"], "供地", 300_000, date(2026, 6, 1), actor="a")  # 供地率 900/1300 = 69 %
    late = ledger.stock_settle("370811", 2026, actor="a")
    assert (late["disposals"], late["reward_m2"], late["penalty"]) == (1, 150_000, False)
    assert balance(ledger, "370811") == 273_000 + 105_000
    assert ledger.stock_settle("370812", 2025, actor="a")["reward_m2"] == 90_000  # I2: 闲置 等量
    assert {d["settlement"] for d in ledger.stock_disposals()} == {1, 2, 3}
    # one county's disposals carry their own settlements, none of the other county's
    assert {s for d in ledger.stock_disposals(county="370811") for s in d["settlements"]} == {1, 2}
    assert {s for d in ledger.stock_disposals(county="370812") for s in d["settlements"]} == {3}
    assert ledger.totals()["land_new"] == 390_000 + 150_000 + 90_000


def test_concurrent_settlements_reward_once(ledger: Ledger, stock_blueprint: Blueprint) -> None:
    ledger.import_stock(stock_blueprint, actor="a")
    _dispose_example(ledger)
    results: list[float] = []
    threads = [
        threading.Thread(target=lambda: results.append(ledger.stock_settle("370811", 2026, actor="t")["reward_m2"]))
        for _ in range(3)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results) == [0, 0, 390_000] and ledger.totals()["land_new"] == 390_000


def settlements(ledger: Ledger) -> list[tuple[int, bool, int | None]]:
    """The settlement rows: (id, penalty, transaction)."""
    s = stock_settlements.c
    with ledger.engine.connect() as conn:
        rows = conn.execute(select(s.id, s.penalty, s.transaction_id).order_by(s.id)).all()
    return [(int(r.id), bool(r.penalty), r.transaction_id) for r in rows]


@pytest.mark.parametrize("disposed", [True, False])
def test_twenty_concurrent_settlements_record_one(ledger: Ledger, stock_blueprint: Blueprint, disposed: bool) -> None:
    """Twenty parallel settlements of one county-year paid the reward once but left nineteen empty rows: a
    settlement with no disposal, no reward and the same 供地率 and penalty as the latest records nothing and
    answers with that one (``recorded`` false)."""
    ledger.import_stock(stock_blueprint, actor="a")
    if disposed:
        _dispose_example(ledger)
    answers: list[dict[str, Any]] = []
    threads = [
        threading.Thread(target=lambda: answers.append(ledger.stock_settle("370811", 2026, actor="t")))
        for _ in range(20)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    (row,) = settlements(ledger)
    assert len(answers) == 20 and {a["settlement"] for a in answers} == {row[0]}
    assert sorted(bool(a["recorded"]) for a in answers) == [False] * 19 + [True]
    assert sorted(a["reward_m2"] for a in answers) == [0] * 19 + [390_000 if disposed else 0]
    assert ledger.totals().get("land_new", 0) == (390_000 if disposed else 0)
    assert (row[2] is not None) == disposed  # the reward's transaction


def test_a_changed_rate_is_recorded_with_nothing_disposed(ledger: Ledger, stock_blueprint: Blueprint) -> None:
    """The penalty follows the latest settlement: land supplied in an earlier year (no disposal of the settled
    year) lifts 2026's 供地率 from 46 % to 69 %, and settling again records it, with no reward."""
    ledger.import_stock(stock_blueprint, actor="a")
    land = _dispose_example(ledger)
    first = ledger.stock_settle("370811", 2026, actor="a")
    assert first["penalty"] is True and first["recorded"] is True
    ledger.dispose(land["A1"], "供地", 300_000, date(2025, 6, 1), actor="a")  # 2025's: not rewarded in 2026
    lifted = ledger.stock_settle("370811", 2026, actor="a")
    assert (lifted["recorded"], lifted["disposals"], lifted["reward_m2"], lifted["transaction"]) == (True, 0, 0, None)
    assert lifted["penalty"] is False and lifted["supply_rate"] == pytest.approx(900 / 1300, abs=1e-6)
    assert [r[:2] for r in settlements(ledger)] == [(first["settlement"], True), (lifted["settlement"], False)]
    enter(ledger, "XM-N", level="市重点")
    ledger.issue(2026, [("370811", "land_new", 100_000)], actor="a")
    ledger.reserve(review(1_000, rid="R1"), year=2026, project_id="XM-N", actor="a")  # the penalty is lifted
    assert ledger.stock_settle("370811", 2026, actor="a")["recorded"] is False  # and now nothing changes
    assert len(settlements(ledger)) == 2


def test_a_settlement_of_a_year_to_come_is_refused(ledger: Ledger, stock_blueprint: Blueprint) -> None:
    """It would count no disposal and record a partial window's 供地率, which decides that year's penalty."""
    ledger.import_stock(stock_blueprint, actor="a")
    _dispose_example(ledger)
    next_year = beijing_today().year + 1
    with pytest.raises(InputError, match=f"settlement of {next_year} before that year has begun"):
        ledger.stock_settle("370811", next_year, actor="a")
    assert ledger.stock_settle("370811", 2026, actor="a")["reward_m2"] > 0  # the disposals' year: as before


def test_penalty_refuses_new_quota_for_general_projects(ledger: Ledger, stock_blueprint: Blueprint) -> None:
    """五年供地率 < 60 %: no new quota but for 国家重点项目 and 民生保障项目 (自然资规〔2018〕1号)."""
    ledger.import_stock(stock_blueprint, actor="a")
    land = _dispose_example(ledger)
    ledger.issue(2026, [("370811", "land_new", 100_000)], actor="a")
    enter(ledger, "XM-G", "XM-N", level="市重点")
    enter(ledger, "XM-S", level="国家重大")
    ledger.reserve(review(1_000, rid="R0", pid="P0"), year=2026, project_id="XM-G", actor="a")  # no settlement yet
    ledger.stock_settle("370811", 2026, actor="a")
    with pytest.raises(QuotaError, match=r"supply rate was 46\.2%") as refused:
        ledger.reserve(review(1_000, rid="R1", pid="P1"), year=2026, project_id="XM-N", actor="a")
    assert "除国家重点项目和民生保障项目外暂停安排新增建设用地指标" in refused.value.message_zh
    ledger.reserve(review(1_000, rid="R2", pid="P2"), year=2026, project_id="XM-S", actor="a")  # 国家重大: exempt
    # the county's 新增 may not serve XM-N: a gap, which the pool pays whole (聊城 办法 第十七条)
    ledger.reserve(review(1_000, rid="R3", pid="P3"), year=2026, project_id="XM-N", source=CITY, actor="a")
    with pytest.raises(QuotaError, match="supply rate"):
        ledger.reserve(review(1_000, rid="R4", pid="P4"), year=2027, project_id="XM-N", actor="a")  # till settled
    ledger.dispose(land["A1"], "供地", 300_000, date(2026, 6, 1), actor="a")
    ledger.stock_settle("370811", 2026, actor="a")  # 69 %: lifted
    ledger.reserve(review(1_000, rid="R5", pid="P5"), year=2026, project_id="XM-N", actor="a")


@pytest.fixture(scope="module")
def stock_dir(stock_blueprint: Blueprint) -> Path:
    return stock_blueprint.root


def test_stock_over_the_api(stock_dir: Path, tmp_path: Path) -> None:
    """/api/v1/quotas/stock…: import (admin), list, dispose (409 beyond the register), rates, settle (once)."""
    settings = Settings(blueprint=stock_dir, database_url=f"sqlite:///{tmp_path / 'api.db'}", tiles="none")
    engine = make_engine(settings.database_url)
    migrate(engine)
    ensure_schema(engine)
    admin = {"X-API-Key": create_key(engine, "admin", "quota-admin")}
    planner = {"X-API-Key": create_key(engine, "planner", "planner")}
    with TestClient(create_app(settings)) as client:
        assert_problem(client.post("/api/v1/quotas/stock/import", headers=planner), 403)
        done = client.post("/api/v1/quotas/stock/import", headers=admin)
        assert done.status_code == 201 and (done.json()["added"], done.json()["existing"]) == (6, 0)
        assert client.post("/api/v1/quotas/stock/import", headers=admin).json()["existing"] == 6
        land = {r["feature_id"]: r["id"] for r in client.get("/api/v1/quotas/stock", headers=planner).json()}
        body = {"kind": "供地", "area_m2": 500_000, "date": "2026-03-01", "document": "济自然资供〔2026〕1号"}
        assert client.post(f"/api/v1/quotas/stock/{land['A1']}/disposals", json=body, headers=admin).status_code == 201
        over = client.post(
            f"/api/v1/quotas/stock/{land['A1']}/disposals", json=body | {"area_m2": 600_000}, headers=admin
        )
        assert "未处置面积" in assert_problem(over, 409)["message_zh"]
        assert_problem(client.post("/api/v1/quotas/stock/999/disposals", json=body, headers=admin), 404)
        # an id beyond a database integer is a 422, not a 500 (found by the OpenAPI fuzz: 2**63)
        assert_problem(client.post(f"/api/v1/quotas/stock/{2**63}/disposals", json=body, headers=admin), 422)
        for odd in (True, 1e-9, "NaN"):  # JSON's true is no 1 m²; 1e-9 m² is nothing at four decimals
            sent = client.post(
                f"/api/v1/quotas/stock/{land['A2']}/disposals", json=body | {"area_m2": odd}, headers=admin
            )
            assert_problem(sent, 422)
        late = client.post(
            f"/api/v1/quotas/stock/{land['A1']}/disposals", json=body | {"date": "9999-12-31"}, headers=admin
        )
        problem = assert_problem(late, 422)  # a date after today is bad input, nothing is recorded
        assert "处置日期 9999-12-31 晚于今天" in problem["message_zh"] and "after today" in problem["message_en"]
        assert len(client.get("/api/v1/quotas/stock/disposals", headers=planner).json()) == 1
        assert_problem(
            client.post(f"/api/v1/quotas/stock/{land['A1']}/disposals", json=body | {"kind": "x"}, headers=admin), 422
        )
        csv_rates = client.get("/api/v1/quotas/stock/rates?year=2026&county=370811&format=csv", headers=planner)
        assert csv_rates.status_code == 200 and "五年供地率" in csv_rates.text and "任城区" in csv_rates.text
        settle = {"county": "370811", "year": 2026}
        first = client.post("/api/v1/quotas/stock/settle", json=settle, headers=admin).json()
        assert (first["reward_m2"], first["penalty"]) == (250_000, True)  # 供地率 (500 000 + I1 100 000) / 1.3 km²
        again = client.post("/api/v1/quotas/stock/settle", json=settle, headers=admin)
        assert again.status_code == 200, again.text  # nothing new: the first settlement stands, none recorded
        assert (again.json()["reward_m2"], again.json()["recorded"], again.json()["settlement"]) == (
            0,
            False,
            first["settlement"],
        )
        assert "未新增核算记录" in again.json()["note_zh"]
        report = client.get("/api/v1/quotas/report?year=2026", headers=planner).json()
        assert next(r for r in report if r["county"] == "370811")["reward"] == 250_000
        disposals = client.get("/api/v1/quotas/stock/disposals", headers=planner).json()
        assert [d["settlement"] for d in disposals] == [first["settlement"]]


def test_stock_from_the_command_line(stock_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LANTU_DATABASE_URL", f"sqlite:///{tmp_path / 'cli.db'}")
    runner = CliRunner()

    def run(*args: object, code: int = 0) -> str:
        result = runner.invoke(app, [str(a) for a in args])
        assert result.exit_code == code, result.output
        return result.output

    run("quota", "init", "--blueprint", stock_dir)
    out = run("quota", "stock", "import", "-b", stock_dir)
    assert "新增 6 宗" in out and "缺少批准年份" in out and "A4" in out
    assert "已登记 6 宗" in run("quota", "stock", "import", "-b", stock_dir)
    rows = list(csv.DictReader(io.StringIO(run("quota", "stock", "list", "--format", "csv").lstrip("\ufeff"))))
    a1 = next(r for r in rows if r["要素标识码"] == "A1")
    assert (a1["类型"], a1["区县"], a1["面积（亩）"], a1["面积（公顷）"]) == ("批而未供", "任城区", "1500.0", "100.0")
    land = a1["登记号"]
    run("quota", "stock", "dispose", land, "--kind", "供地", "--area-m2", 500_000, "--date", "2026-03-01")
    refused = run(
        "quota", "stock", "dispose", land, "--kind", "收回", "--area-m2", 600_000, "--date", "2026-04-01", code=2
    )
    assert "未处置面积 500,000.00 m²" in refused and "undisposed" in refused
    assert "早于批准" in run(
        "quota", "stock", "dispose", land, "--kind", "收回", "--area-m2", 1, "--date", "2021-01-01", code=2
    )
    late = run("quota", "stock", "dispose", land, "--kind", "收回", "--area-m2", 1, "--date", "9999-12-31", code=2)
    assert "处置日期 9999-12-31 晚于今天" in late and "after today" in late
    assert len(json.loads(run("quota", "stock", "disposals", "--format", "json"))) == 1
    rates = json.loads(run("quota", "stock", "rates", "--year", "2026", "--county", "370811", "--format", "json"))
    assert rates[0]["supply_rate"] == pytest.approx(600 / 1300, abs=1e-6)
    assert "奖励 250,000.00 m²" in run("quota", "stock", "settle", "370811", "--year", "2026")
    nothing = run("quota", "stock", "settle", "370811", "--year", "2026")
    assert "没有新的处置" in nothing and "no settlement recorded" in nothing and "#—" not in nothing


def _two_disposals(
    stock_dir: Path, database: Path, monkeypatch: pytest.MonkeyPatch
) -> tuple[Callable[..., str], int, int]:
    """A register through the command line with two disposals: A1 供地 500 000.25 m², I1 盘活 1 234.5678 m².
    Returns the command runner (asserting exit 0) and the register ids of A1 and I1."""
    monkeypatch.setenv("LANTU_DATABASE_URL", f"sqlite:///{database}")
    runner = CliRunner()

    def run(*args: object) -> str:
        result = runner.invoke(app, [str(a) for a in args])
        assert result.exit_code == 0, result.output
        return result.output

    run("quota", "init", "--blueprint", stock_dir)
    run("quota", "stock", "import", "-b", stock_dir)
    land = {r["feature_id"]: r["id"] for r in json.loads(run("quota", "stock", "list", "-f", "json"))}
    idle = next(i for f, i in land.items() if f.startswith("geom:"))  # I1 has no 标识码
    run("quota", "stock", "dispose", land["A1"], "--kind", "供地", "--area-m2", 500_000.25, "--date", "2026-03-01")
    run("quota", "stock", "dispose", idle, "--kind", "盘活", "--area-m2", 1_234.5678, "--date", "2026-05-01")
    return run, land["A1"], idle


def test_stock_rates_write_areas_as_everywhere_else(
    stock_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`lantu quota stock rates` in three formats, figures by hand. 任城区 2026 (window 2022–2026): approved A1
    1 000 000 + A2 200 000 + I1 100 000 = 1 300 000 m²; A1 供地 500 000.25 m², I1 盘活 1 234.5678 m². Supplied
    I1 (闲置 was supplied) 100 000 + 500 000.25 = 600 000.25 m² (60.0000 公顷, 900.00 亩), rate 0.4615387 → 46.2 %;
    reward 500 000.25 × 0.5 + 1 234.5678 = 251 234.6928 m² → 251,234.69 m², 25.1235 公顷, 376.85 亩."""
    run, _, _ = _two_disposals(stock_dir, tmp_path / "rates.db", monkeypatch)
    rates = ("quota", "stock", "rates", "-y", 2026, "--county", "370811")

    (row,) = json.loads(run(*rates, "-f", "json"))
    old_keys = {"county", "county_name", "year", "window", "approved_m2", "supplied_m2", "supply_rate", "threshold"}
    old_keys |= {"below_threshold", "unsupplied_m2", "unsupplied_disposed_m2", "unsupplied_disposal_rate", "idle_m2"}
    old_keys |= {"idle_disposed_m2", "idle_disposal_rate", "reward_due_m2", "reward_due_mu"}
    assert old_keys <= row.keys()
    figures = {  # m² to 2 decimals, 公顷 to 4, 亩 to 2
        "approved": (1_300_000, 130, 1_950),
        "supplied": (600_000.25, 60, 900),
        "unsupplied": (1_200_000, 120, 1_800),
        "unsupplied_disposed": (500_000.25, 50, 750),
        "idle": (100_000, 10, 150),
        "idle_disposed": (1_234.57, 0.1235, 1.85),
        "reward_due": (251_234.69, 25.1235, 376.85),
    }
    assert {k: (row[f"{k}_m2"], row[f"{k}_ha"], row[f"{k}_mu"]) for k in figures} == figures
    assert (row["supply_rate"], row["unsupplied_disposal_rate"], row["idle_disposal_rate"]) == (
        0.461539,
        0.416667,
        0.012346,
    )
    assert (row["threshold"], row["below_threshold"]) == (0.6, True)

    (line,) = csv.DictReader(io.StringIO(run(*rates, "-f", "csv").lstrip("\ufeff")))
    assert (line["区县"], line["五年供地率"], line["低于下限"]) == ("任城区", "0.461539", "是")
    assert (line["待核算奖励（m²）"], line["待核算奖励（公顷）"], line["待核算奖励（亩）"]) == (
        "251234.69",
        "25.1235",
        "376.85",
    )
    assert (line["五年已供（m²）"], line["五年已供（公顷）"], line["五年已供（亩）"]) == ("600000.25", "60.0", "900.0")

    table = run(*rates)
    for text in ("251,234.69 m²", "25.1235 公顷", "376.85 亩", "600,000.25 m²", "60.0000 公顷", "900.00 亩"):
        assert text in table
    for text in ("1,300,000.00 m²", "130.0000 公顷", "1,950.00 亩", "1,234.57 m²", "0.1235 公顷", "1.85 亩"):
        assert text in table
    assert "46.2%" in table and "60.0%" in table and "1.2%" in table and "是" in table
    assert "251,234.6928" not in table and "0.4615" not in table and "True" not in table
    early = run("quota", "stock", "rates", "-y", 2021, "--county", "370811")  # nothing approved yet: no rate
    assert "—" in early and "否" in early and "0.00 m²" in early
    settled = run("quota", "stock", "settle", "370811", "-y", 2026)
    assert "奖励 251,234.69 m²（25.1235 公顷，376.85 亩）" in settled and "五年供地率 46.2%" in settled


def test_stock_list_and_disposals_write_areas_as_everywhere_else(
    stock_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`lantu quota stock list` and `disposals`: m², 公顷 and 亩 of each area side by side, figures by hand. A1 is
    1 000 000 m²; 供地 500 000.25 m² leaves 499 999.75 m² = 49.999975 公顷 = 749.999625 亩 → "499,999.75 m²",
    "50.0000 公顷", "750.00 亩". I1 is 100 000 m²; 盘活 1 234.5678 m² (0.12345678 公顷 → 0.1235, 1.8518517 亩 → 1.85)
    leaves 98 765.4322 m² (9.87654322 公顷 → 9.8765, 148.1481483 亩 → 148.15). JSON and a CSV keep the register's m²
    as recorded (a disposal is checked against them), 公顷 and 亩 beside; the table writes them as geo.crs.Area does."""
    run, a1, idle = _two_disposals(stock_dir, tmp_path / "list.db", monkeypatch)

    rows = {r["id"]: r for r in json.loads(run("quota", "stock", "list", "--county", "370811", "-f", "json"))}
    old_keys = {"area_m2", "area_mu", "area_ha", "disposed_m2", "remaining_m2", "remaining_mu"}
    assert all(old_keys <= r.keys() for r in rows.values())
    columns = ("area", "disposed", "remaining")
    figures = {i: tuple((rows[i][f"{c}_m2"], rows[i][f"{c}_ha"], rows[i][f"{c}_mu"]) for c in columns) for i in rows}
    assert figures[a1] == ((1_000_000, 100, 1_500), (500_000.25, 50, 750), (499_999.75, 50, 750))
    assert figures[idle] == ((100_000, 10, 150), (1_234.5678, 0.1235, 1.85), (98_765.4322, 9.8765, 148.15))
    listing = csv.DictReader(io.StringIO(run("quota", "stock", "list", "-f", "csv").lstrip("\ufeff")))
    i1 = next(r for r in listing if r["登记号"] == str(idle))
    assert (i1["已处置（m²）"], i1["已处置（公顷）"], i1["已处置（亩）"]) == ("1234.5678", "0.1235", "1.85")
    assert (i1["未处置（m²）"], i1["未处置（公顷）"], i1["未处置（亩）"]) == ("98765.4322", "9.8765", "148.15")
    assert (i1["面积（m²）"], i1["面积（公顷）"], i1["面积（亩）"]) == ("100000.0", "10.0", "150.0")
    table = run("quota", "stock", "list", "--county", "370811")
    for text in ("1,000,000.00 m²", "100.0000 公顷", "1,500.00 亩", "500,000.25 m²", "499,999.75 m²", "50.0000 公顷"):
        assert text in table
    for text in ("750.00 亩", "1,234.57 m²", "0.1235 公顷", "1.85 亩", "98,765.43 m²", "9.8765 公顷", "148.15 亩"):
        assert text in table
    assert "98,765.4322" not in table and "1,500 " not in table

    disposals = json.loads(run("quota", "stock", "disposals", "-f", "json"))
    assert [(d["area_m2"], d["area_ha"], d["area_mu"]) for d in disposals] == [
        (500_000.25, 50, 750),
        (1_234.5678, 0.1235, 1.85),
    ]
    lines = list(csv.DictReader(io.StringIO(run("quota", "stock", "disposals", "-f", "csv").lstrip("\ufeff"))))
    assert [(d["面积（m²）"], d["面积（公顷）"], d["面积（亩）"]) for d in lines] == [
        ("500000.25", "50.0", "750.0"),
        ("1234.5678", "0.1235", "1.85"),
    ]
    table = run("quota", "stock", "disposals")
    for text in ("500,000.25 m²", "50.0000 公顷", "750.00 亩", "1,234.57 m²", "0.1235 公顷", "1.85 亩"):
        assert text in table
    assert "1,234.5678" not in table
