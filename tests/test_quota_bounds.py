"""What the ledger refuses before it writes: a repeated reservation that asks for something else, a balance beyond
its column, an id beyond an Integer column, a control character in a 文号, a price that is no price, a number
beyond decimal's exponent — each a one-line reason (409 or 422, exit 2), never a 500 or a traceback."""

from __future__ import annotations

import json
import random
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select, update
from support import assert_problem, auth, rect
from test_api import feature
from test_quota import assert_postings_add_up, balance, journal_size, review, two_county_plan
from test_quota import ledger as ledger  # the fixture: two counties, the library's projects
from test_quota_cli import _enter, _issue
from test_quota_cli import run as run  # the fixture: `lantu …` on a fresh SQLite ledger

from api.app import create_app
from api.settings import Settings
from geo.db import MAX_ID
from geo.errors import InputError, NotFoundError, QuotaError
from geo.quota.ledger import CITY, Ledger
from geo.quota.tables import quota_accounts

TOO_BIG = (2**31, 2**63, 10**20)  # ids no Integer column holds (PostgreSQL's int4, SQLite's 64 bits, neither)


def test_a_repeated_reservation_must_repeat_its_request(ledger: Ledger) -> None:
    """The same (review, parcel) again is the first reservation only when it asks for the same year and payer."""
    two_county_plan(ledger)
    ledger.issue(2027, [("370811", "land_new", 100_000)], actor="a")
    first = ledger.reserve(review(1_000), year=2026, project_id="XM-1", actor="a")
    before = journal_size(ledger)
    with pytest.raises(QuotaError, match=f"#{first}\\) for 2026, not 2027") as year:
        ledger.reserve(review(1_000), year=2027, project_id="XM-1", actor="a")
    assert "年度为 2026，而非 2027" in year.value.message_zh
    with pytest.raises(QuotaError, match="paid by 370811, not city") as payer:
        ledger.reserve(review(1_000), year=2026, project_id="XM-1", source=CITY, actor="a")
    assert "支付方为 370811，而非 city" in payer.value.message_zh
    assert ledger.reserve(review(1_000), year=2026, project_id="XM-1", source="370811", actor="a") == first
    assert journal_size(ledger) == before and balance(ledger, "370811", year=2027) == 70_000


def test_a_balance_beyond_its_column_is_refused_before_writing(ledger: Ledger, engine: Engine) -> None:
    """Each issue row is at most 10**12, but an account's sum of them could pass Numeric(20, 4) (< 10**16):
    refused (409) with both figures, nothing written — before, PostgreSQL answered with a numeric overflow."""
    ledger.issue(2030, [("370811", "nox", 1)], actor="a")
    with engine.begin() as conn:  # as after 14 285 issues of 10**12 (the county keeping 70 % of each)
        conn.execute(
            update(quota_accounts)
            .where(quota_accounts.c.holder == "370811", quota_accounts.c.factor == "nox")
            .values(balance=Decimal(10**16 - 10**12))
        )
    ledger.issue(2030, [("370811", "nox", 10**12)], actor="a")  # within the column's bound: booked
    before = journal_size(ledger)
    with pytest.raises(
        QuotaError, match=r"370811's nox \(available, 2030\) would come to 10,000,400,000,000,000\.0000,"
    ) as big:
        ledger.issue(2030, [("370811", "nox", 10**12)], actor="a")
    assert "超出台账可记录的范围" in big.value.message_zh and "10,000,000,000,000,000" in big.value.message_zh
    assert journal_size(ledger) == before


def test_balances_read_as_their_journal_sums(ledger: Ledger, engine: Engine) -> None:
    """SQLite keeps NUMERIC as a double: a balance added up in SQL drifted from its postings by 0.0001 after
    sixteen transfers of 549 000 000 000 m²; summed as Decimal it is exact below 2**39."""
    start = Decimal("549000000000.0001")
    ledger.point_supply("370811", "land_new", 2026, start, actor="a")
    expected = start
    draw = random.Random(1)
    for _ in range(16):
        value = Decimal(draw.randint(1, 99_999)) / 10_000
        ledger.transfer("370811", "370812", "land_new", 2026, value, price_wan=1, actor="a")
        expected -= value
    assert Decimal(str(balance(ledger, "370811"))) == expected
    assert_postings_add_up(engine)
    with engine.connect() as conn:
        stored = conn.execute(select(quota_accounts.c.balance).where(quota_accounts.c.holder == "370811")).scalar()
    assert stored == expected


@pytest.mark.parametrize("big", TOO_BIG)
def test_ids_beyond_an_integer_column_are_unknown(ledger: Ledger, big: int) -> None:
    """Before: PostgreSQL's "integer out of range" (500) from 2**31, SQLite's OverflowError from 2**63."""
    ledger.issue(2026, [("370811", "cod", 10)], actor="a")
    before = journal_size(ledger)
    with pytest.raises(NotFoundError, match=f"no transaction #{big}"):
        ledger.reverse(big, actor="a", reason="x")
    with pytest.raises(NotFoundError, match=f"no loan #{big}"):
        ledger.repay(big, actor="a")
    with pytest.raises(NotFoundError, match=f"no reduction advance #{big}"):
        ledger.reduction("370811", "cod", 2026, 1, source="治理", settles=big, actor="a")
    with pytest.raises(NotFoundError, match=f"no stock land #{big}"):
        ledger.dispose(big, "盘活", 1, date(2026, 1, 1), actor="a")
    assert journal_size(ledger) == before


@pytest.mark.parametrize(
    "text", ["济自然资供\x1b[31m〔2026〕1号", "文号\x07", "文号\x00", "文号\x7f", "\u009b2J文号", "\u202e号1〕6202〔供"]
)
def test_a_document_number_holds_no_control_character(ledger: Ledger, text: str) -> None:
    """A 文号 is read in the register's tables and on paper (NUL was a 500 on PostgreSQL); DEL, the C1 CSI (U+009B,
    an escape sequence in a terminal) and a right-to-left override (the cell reads otherwise than stored) alike."""
    with pytest.raises(InputError, match="document number holds control character") as refused:
        ledger.dispose(1, "盘活", 1, date(2026, 1, 1), actor="a", document=text)
    assert "文号含有控制字符" in refused.value.message_zh


@pytest.mark.parametrize("price", [float("inf"), float("nan"), 1e300, 1e-9, 0.00004, -1.0, Decimal("1e999999999")])
def test_a_price_that_is_no_price_is_refused(ledger: Ledger, price: float | Decimal) -> None:
    """Before: inf and 1e300 were booked (inf as no price at all), 1e-9 as a "paid" transfer at 0.0."""
    ledger.issue(2026, [("370811", "land_new", 10_000)], actor="a")
    before = journal_size(ledger)
    with pytest.raises(InputError, match="must be positive") as refused:
        ledger.transfer("370811", "370812", "land_new", 2026, 1, price_wan=price, actor="a")
    assert "有偿调剂价格" in refused.value.message_zh and "100,000,000 万元" in refused.value.message_zh
    assert journal_size(ledger) == before
    paid = ledger.transfer("370811", "370812", "land_new", 2026, 1, price_wan=0.00006, actor="a")  # 0.0001 万元
    assert next(j["price_wan"] for j in ledger.journal() if j["transaction"] == paid) == 0.0001


def test_the_api_refuses_a_changed_repeat_a_big_land_id_and_a_garbled_document(
    settings: Settings, keys: dict[str, str]
) -> None:
    with TestClient(create_app(settings)) as client:
        rows = [("land_new", 100_000), ("land_compensation", 50_000), ("land_compensation_paddy", 50_000)]
        rows += [("land_compensation_grain", 50_000)]
        plan = {"year": 2026, "rows": [{"county_code": "370811", "factor": f, "amount": a} for f, a in rows]}
        assert client.post("/api/v1/quotas/issue", json=plan, headers=auth(keys, "quota-admin")).status_code == 201
        project = {"id": "XM-1", "name": "项目", "project_type": "industrial", "level": "市重点", "county": "370811"}
        assert client.post(
            "/api/v1/projects", json={**project, "stage": "储备"}, headers=auth(keys, "admin")
        ).is_success
        parcel = feature(rect(2.2, 0.2, 2.4, 0.4), id="C")  # on paddy and irrigated land in 任城区: conditional
        rid = client.post("/api/v1/reviews", json=parcel, headers=auth(keys)).json()["review_id"]
        body = {"review_id": rid, "year": 2026, "project_id": "XM-1"}
        first = client.post("/api/v1/quotas/reserve", json=body, headers=auth(keys, "project-system"))
        assert first.status_code == 201, first.text
        changed = client.post("/api/v1/quotas/reserve", json={**body, "year": 2027}, headers=auth(keys, "admin"))
        assert "not 2027" in assert_problem(changed, 409)["message_en"]
        disposal = {"kind": "盘活", "area_m2": 1, "date": "2026-01-01"}
        for land in (MAX_ID + 1, 2**63):
            assert_problem(
                client.post(f"/api/v1/quotas/stock/{land}/disposals", json=disposal, headers=auth(keys, "admin")), 422
            )
        assert_problem(
            client.post(f"/api/v1/quotas/stock/{MAX_ID}/disposals", json=disposal, headers=auth(keys, "admin")), 404
        )
        garbled = {**disposal, "document": "文号\x00"}
        assert (
            "文号含有控制字符"
            in assert_problem(
                client.post("/api/v1/quotas/stock/1/disposals", json=garbled, headers=auth(keys, "admin")), 422
            )["message_zh"]
        )


def test_the_cli_ends_every_refusal_in_one_line(run, tmp_path: Path, blueprint_dir: Path) -> None:  # type: ignore[no-untyped-def]
    """1e999999999 (decimal.Overflow), ids of 10**20 (OverflowError) and prices of inf, 1e300 and 1e-9 were
    tracebacks or bookings; each is now exit 2 with one line in Chinese and English."""
    _issue(run, tmp_path, blueprint_dir, "370811,land_new,10000\n")
    _enter(run, "PLANT")
    plan = tmp_path / "overflow.csv"
    plan.write_text("county_code,factor,amount\n370811,so2,1e999999999\n", encoding="utf-8")
    big = "99999999999999999999"
    transfer = ("transfer", "370811", "370812", "land_new", "--year", "2026", "--amount", "1", "--price-wan")
    refusals = {
        ("issue", "--year", "2026", "--csv", plan): "1,000,000,000,000",
        ("reserve-factors", "PLANT", "--year", "2026", "--need", "energy=1e999999999"): "1,000,000,000,000",
        ("reverse", big, "--reason", "x"): f"no transaction #{big}",
        ("repay", big): f"no loan #{big}",
        ("stock", "dispose", big, "--kind", "供地", "--area-m2", "1", "--date", "2026-01-01"): f"no stock land #{big}",
        ("reduction", "370811", "cod", "--year", "2026", "--amount", "1", "--source", "x", "--settles", big): big,
        (*transfer, "inf"): "有偿调剂价格",
        (*transfer, "1e300"): "有偿调剂价格",
        (*transfer, "1e-9"): "有偿调剂价格",
    }
    for args, reason in refusals.items():
        refused = run("quota", *args, code=2).stderr
        assert reason in refused and len(refused.strip().splitlines()) == 1, refused
    assert {j["kind"] for j in json.loads(run("quota", "journal", "--format", "json").stdout)} == {"issue"}
