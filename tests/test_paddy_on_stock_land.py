"""水田 on 批而未供 land, from the review to the opinion and the ledger: its conversion was approved with its
占补平衡, so it is replaced neither by quantity nor as 水田. The land quota counted all the 水田 (paddy_m2) but the
耕地 off stock land only (compensation_m2): the opinion asked "占补平衡 1.28 公顷，其中水田 2.35 公顷", more of
it than the whole, and the ledger refused lantu's own review as "not as a review writes it" (an officer's probe)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from support import RectLayers, parcel_frame, rect, rect_blueprint
from test_quota import balance
from test_quota import ledger as ledger  # the fixture: two counties and the usual projects, on SQLite and PostgreSQL

from geo.blueprint import Blueprint, load_blueprint
from geo.opinion import opinion
from geo.quota.ledger import Ledger
from geo.review import review

LAYERS: RectLayers = {
    "county": [((0, 0, 2, 1), {"code": "370811", "name": "任城区"})],
    "urban_boundary": [((0, 0, 2, 1), {})],
    "planned_use": [((0, 0, 2, 1), {"zone": "城镇集中建设区"})],
    "land_use": [((0, 0, 1, 1), {"class_code": "0101"}), ((1, 0, 2, 1), {"class_code": "0103"})],
    "approved_unsupplied": [((0, 0, 0.5, 1), {})],
}
# 600 m × 200 m of 水田, its west half on 批而未供 land: 60,000 m² of 水田 to replace
PARCEL = rect(0.2, 0.2, 0.8, 0.4)


@pytest.fixture(scope="module")
def stock(tmp_path_factory: pytest.TempPathFactory) -> Blueprint:
    return load_blueprint(rect_blueprint(tmp_path_factory.mktemp("stock") / "bp", LAYERS, slope=None))


def test_paddy_on_stock_land_is_not_replaced(stock: Blueprint, ledger: Ledger) -> None:
    result = review(parcel_frame(PARCEL, id="T1", project_type="industrial", investment_wan=1e6), stock)
    parcel = result.parcels[0]
    q = parcel.land_quota
    assert (q.paddy_m2, q.compensation_m2, q.paddy_compensation_m2) == pytest.approx((120_000, 60_000, 60_000))
    item = parcel.item("cultivated_land")
    assert "所占水田须占水田补水田" in item.message_zh and "尚需补充耕地 60,000.00 m²" in item.message_zh
    quota = opinion(result).parcels[0].quota
    six = "60,000.00平方米（6.0000公顷，90.00亩）"
    assert f"须落实耕地占补平衡{six}，其中水田{six}须占水田补水田" in quota
    # the stock land said apart: it is 水田 in 三调, so no "其中存量建设用地" larger than the 建设用地 (none here)
    assert f"地块位于批而未供或闲置土地{six}" in quota and "存量建设用地" not in quota
    ledger.issue(
        2026,
        [
            ("370811", f, 1_000_000)
            for f in ("land_new", "land_compensation", "land_compensation_paddy", "land_compensation_grain")
        ],
        actor="省厅",
    )
    # the blueprint draws the land, not the other control layers: their items are accepted as missing
    ledger.reserve_parcel(
        result, year=2026, project_id="XM-1", parcel_id="T1", actor="项目系统", accept_missing_layers=True
    )
    assert balance(ledger, "370811", "land_compensation") == 1_000_000 - 60_000
    assert balance(ledger, "370811", "land_compensation_paddy") == 1_000_000 - 60_000


def test_paddy_wholly_on_stock_land_asks_for_no_paddy(stock: Blueprint) -> None:
    parcel = review(parcel_frame(rect(0.1, 0.2, 0.4, 0.4), project_type="industrial"), stock).parcels[0]
    assert parcel.land_quota.paddy_compensation_m2 == 0.0 and parcel.land_quota.paddy_m2 == pytest.approx(60_000)
    item = parcel.item("cultivated_land")
    assert item.status == "pass" and "水田须占水田补水田" not in item.message_zh


def test_an_edge_of_paddy_is_not_told_to_be_replaced_by_paddy(stock: Blueprint) -> None:
    """6 m² of 水田 at the edge of 9 ha of 旱地 (tolerance 9 m²): the land quota counts it (the ledger books it), but
    neither item 3 nor the opinion asks 占水田补水田 for an edge contact (the opinion did: "其中水田0.0006公顷")."""
    result = review(parcel_frame(rect(0.99998, 0.2, 1.3, 0.5), project_type="industrial"), stock)
    parcel = result.parcels[0]
    assert parcel.land_quota.paddy_compensation_m2 == pytest.approx(6.0, abs=0.01)
    assert "水田" not in parcel.item("cultivated_land").message_zh
    quota = opinion(result).parcels[0].quota
    assert "须落实耕地占补平衡" in quota and "须占水田补水田" not in quota


def test_a_parcel_on_stock_land_alone_needs_no_new_quota_in_words(tmp_path: Path) -> None:
    """A parcel wholly on 批而未供 land (demo D17, 盘活存量) read 需使用新增建设用地计划指标0.00平方米（0.0000公顷，
    0.00亩）: a quota of nothing said as a need. It now reads 不需使用新增建设用地计划指标, as 不涉及耕地占补平衡
    beside it (officer's read; 济政办字〔2020〕52号 三（一）1: 优先使用批而未供、闲置低效等存量建设用地)."""
    layers = {
        "county": [((0, 0, 1, 1), {"code": "370811", "name": "任城区"})],
        "land_use": [((0, 0, 1, 1), {"class_code": "0601"})],
        "approved_unsupplied": [((0, 0, 1, 1), {})],
    }
    blueprint = load_blueprint(rect_blueprint(tmp_path / "bp", layers, slope=None))
    result = review(parcel_frame(rect(0.2, 0.2, 0.4, 0.4), project_type="industrial", investment_wan=90_000), blueprint)
    quota = opinion(result).parcels[0].quota
    assert result.parcels[0].land_quota.new_construction_quota_m2 == 0.0
    assert "不再计入新增建设用地计划指标和耕地占补平衡。" in quota, quota
    assert "计划指标0.00" not in quota


def test_a_parcel_on_stock_land_alone_says_its_quota_once(tmp_path: Path) -> None:
    """Demo D17 (wholly 批而未供) read 其农用地转用已经批准，不再计入新增建设用地计划指标和耕地占补平衡。
    不需使用新增建设用地计划指标；不涉及耕地占补平衡。: the same two findings twice in a row (officer's second read).
    The stock sentence says them; a parcel partly on stock land still says what the whole parcel needs (the stock
    sentence is of its stock land alone), and a parcel on no stock land 不需使用 where it needs none."""
    layers = {
        "county": [((0, 0, 2, 1), {"code": "370811", "name": "任城区"})],
        "land_use": [((0, 0, 1, 1), {"class_code": "0601"}), ((1, 0, 2, 1), {"class_code": "0103"})],
        "approved_unsupplied": [((0, 0, 0.5, 1), {})],
    }
    blueprint = load_blueprint(rect_blueprint(tmp_path / "bp", layers, slope=None))

    def quota(box: Any) -> str:
        found = review(parcel_frame(box, project_type="industrial", investment_wan=90_000), blueprint)
        return opinion(found).parcels[0].quota

    stock = quota(rect(0.2, 0.2, 0.4, 0.4))
    assert stock.count("新增建设用地计划指标") == 1 and stock.count("耕地占补平衡") == 1, stock
    assert "不再计入新增建设用地计划指标和耕地占补平衡。" in stock, stock
    partly = quota(rect(0.4, 0.2, 0.6, 0.4))  # half stock, half existing construction land
    assert "不再计入" in partly and "不需使用新增建设用地计划指标；不涉及耕地占补平衡。" in partly, partly
    mixed = quota(rect(0.9, 0.2, 1.1, 0.4))  # existing construction land beside 旱地, no stock land
    assert "不再计入" not in mixed and "需使用新增建设用地计划指标" in mixed and "须落实耕地占补平衡" in mixed, mixed
    built = quota(rect(0.6, 0.2, 0.8, 0.4))
    assert "不需使用新增建设用地计划指标；不涉及耕地占补平衡。" in built, built
