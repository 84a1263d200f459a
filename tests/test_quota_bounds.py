"""What the ledger refuses before it writes: a repeated reservation that asks for something else, a balance beyond
its column, an id beyond an Integer column, a control character in a 文号, a price that is no price, a number
beyond decimal's exponent — each a one-line reason (409 or 422, exit 2), never a 500 or a traceback."""

from __future__ import annotations

import json
import random
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, case, select
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
from geo.quota.accounts import Posting
from geo.quota.ledger import CITY, Ledger
from geo.quota.posting import post, writing
from geo.quota.report import ledger_report
from geo.quota.tables import amount_sum, quota_accounts, quota_postings

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


def test_a_balance_beyond_what_the_ledger_keeps_exactly_is_refused_before_writing(ledger: Ledger) -> None:
    """SQLite keeps NUMERIC as a double, exact to four decimals only below 2**39: an account at 2.1e13 read
    21000000554011.234 for …011.2346. Every balance (an external one, what entered, too) and every posting is kept
    within ±10**11: one beyond is an input error (422) naming both figures, and nothing is written."""
    cap = Decimal(10**11)
    ledger.point_supply("370811", "land_new", 2026, cap - Decimal("0.0001"), actor="a")
    before = journal_size(ledger)
    with pytest.raises(
        InputError, match=r"370811's land_new \(available, 2026\) would come to 100,000,000,000\.6999 m², beyond"
    ) as big:
        ledger.issue(2026, [("370811", "land_new", 1)], actor="a")  # the county keeps 0.7
    assert "超出台账可精确记录（保留四位小数）的范围 ±100,000,000,000 m²" in big.value.message_zh
    with pytest.raises(InputError, match=r"external:point_supply's land_new \(available, 2026\) would come to -100"):
        ledger.point_supply("370812", "land_new", 2026, 1, actor="a")  # what entered the year is a total too
    assert journal_size(ledger) == before
    # a posting beyond the bound whose account nets to nothing in its transaction: its balance says nothing
    there_and_back = [Posting("land_new", "370811", "available", 2026, sign * 2 * cap) for sign in (1, -1)]
    beyond = r"^reserve would move land_new by 200,000,000,000\.0000 m², beyond"
    with pytest.raises(InputError, match=beyond) as one, writing(ledger.engine) as conn:
        post(conn, "reserve", there_and_back, actor="a", reason="r")
    assert one.value.message_zh.startswith("本次变动的新增建设用地计划指标 200,000,000,000.0000 m²，超出台账可精确记录")
    ledger.point_supply("370812", "land_new", 2026, Decimal("0.0001"), actor="a")  # the bound itself is kept
    assert balance(ledger, "370811") + balance(ledger, "370812") == 10**11


def test_sums_beyond_2_39_are_exact(ledger: Ledger, engine: Engine) -> None:
    """Each figure is within the cap, but a sum of them need not be: eight transfers of 99,999,999,999.9999 m² add
    to 799,999,999,999.9992, which SQLite's sum of doubles cannot write (they lie 0.000122 apart from 2**39);
    ``amount_sum`` adds integers of 1/10,000 there, and the report's columns and balances stay their journal sums.
    占补平衡 quantity moves (新增 is neither sold nor lent), the only account either county holds."""
    start = Decimal("99999999999.9999")
    ledger.point_supply("370811", "land_compensation", 2026, start, actor="a")
    draw = random.Random(1)
    expected = start
    for _ in range(8):
        ledger.transfer("370811", "370812", "land_compensation", 2026, expected, price_wan=1, actor="a")
        back = expected - Decimal(draw.randint(1, 99_999)) / 10_000
        ledger.transfer("370812", "370811", "land_compensation", 2026, back, price_wan=1, actor="a")
        expected = back
    assert_postings_add_up(engine)
    p, a = quota_postings.c, quota_accounts.c
    with engine.connect() as conn:
        # the quantity's account: a transfer of it reads the giver's 水田 account too, made at 0
        stored = conn.execute(
            select(a.balance).where(a.holder == "370811", a.factor == "land_compensation", a.bucket == "available")
        ).scalar_one()
        moved_in = conn.execute(
            select(amount_sum(case((p.amount > 0, p.amount), else_=0)))
            .join_from(quota_postings, quota_accounts, a.id == p.account_id)
            .where(a.holder == "370812")
        ).scalar_one()
    assert stored == expected and Decimal(str(balance(ledger, "370811", "land_compensation"))) == expected
    sent = [j for j in ledger.journal(limit=100) if j["holder"] == "370812" and j["amount"] > 0]
    assert moved_in == sum((Decimal(str(j["amount"])) for j in sent), Decimal(0)) > 2**39
    (row,) = [r for r in ledger_report(engine, 2026) if r["county"] == "370811"]
    assert row["factor"] == "land_compensation"
    assert Decimal(str(row["balance"])) == expected and Decimal(str(row["transferred"])) == expected - start


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
    ledger.issue(2026, [("370811", "land_compensation", 10_000)], actor="a")
    before = journal_size(ledger)
    with pytest.raises(InputError, match="must be positive") as refused:
        ledger.transfer("370811", "370812", "land_compensation", 2026, 1, price_wan=price, actor="a")
    assert "有偿调剂价格" in refused.value.message_zh and "100,000,000 万元" in refused.value.message_zh
    assert journal_size(ledger) == before
    # 0.0001 万元: the smallest price the ledger keeps
    paid = ledger.transfer("370811", "370812", "land_compensation", 2026, 1, price_wan=0.00006, actor="a")
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
    """1e999999999 (decimal.Overflow; in a plan, a 1 and thirty 0s), ids of 10**20 (OverflowError) and prices of
    inf, 1e300 and 1e-9 were tracebacks or bookings; each is now exit 2 with one line in Chinese and English."""
    _issue(run, tmp_path, blueprint_dir, "370811,land_new,10000\n370811,land_compensation,10000\n")
    _enter(run, "PLANT")
    plan = tmp_path / "overflow.csv"
    plan.write_text("county_code,factor,amount\n370811,so2,1" + "0" * 30 + "\n", encoding="utf-8")
    big = "99999999999999999999"
    transfer = ("transfer", "370811", "370812", "land_compensation", "--year", "2026", "--amount", "1", "--price-wan")
    refusals = {
        ("issue", "--year", "2026", "--csv", plan): "100,000,000,000",
        ("reserve-factors", "PLANT", "--year", "2026", "--need", "energy=1e999999999"): "100,000,000,000",
        ("reverse", big, "--reason", "x"): f"no transaction #{big}",
        ("repay", big): f"no loan #{big}",
        ("stock", "dispose", big, "--kind", "供地", "--area-m2", "1", "--date", "2026-01-01"): f"no stock land #{big}",
        ("reduction", "370811", "cod", "--year", "2026", "--amount", "1", "--source", "x", "--settles", big): big,
        (*transfer, "1e300"): "有偿调剂价格",
        (*transfer, "1e-9"): "有偿调剂价格",
    }
    for args, reason in refusals.items():
        refused = run("quota", *args, code=2).stderr
        assert reason in refused and len(refused.strip().splitlines()) == 1, refused
    assert "应为有限数值" in run("quota", *transfer, "inf", code=2).output  # a figure option's own check
    assert {j["kind"] for j in json.loads(run("quota", "journal", "--format", "json").stdout)} == {"issue"}


TINY = 1e-05  # positive, and 0 at the ledger's four decimals


def test_every_amount_that_rounds_to_zero_is_an_input_error(ledger: Ledger, monkeypatch: pytest.MonkeyPatch) -> None:
    """1e-05 m² was "must be positive" (409) from an issue and "nothing to move" from the others: it is an input
    error (422) saying it rounds to 0 at four decimals, in both languages, for every amount a movement takes."""
    monkeypatch.setattr("geo.quota.accounts.beijing_today", lambda: date(2026, 1, 1))  # lent on 1 January 2026
    ledger.issue(
        2026,
        [("370811", "land_new", 10_000), ("370811", "land_compensation", 10_000), ("370811", "cod", 100)],
        actor="a",
    )
    before = journal_size(ledger)
    movements = {
        "issue of land_new to 370811": lambda: ledger.issue(2026, [("370811", "land_new", TINY)], actor="a"),
        "need of energy": lambda: ledger.reserve_factors("XM-1", 2026, {"energy": TINY}, actor="a"),
        "advance": lambda: ledger.advance("370811", "land_new", 2026, TINY, actor="a"),
        "point supply": lambda: ledger.point_supply(CITY, "land_new", 2026, TINY, actor="a"),
        "reduction": lambda: ledger.reduction("370811", "cod", 2026, TINY, source="治理", actor="a"),
        "advance on a reduction": lambda: ledger.advance_reduction(
            "370811", "cod", 2026, TINY, project_id="XM-1", source="治理", deadline=date(2026, 9, 30), actor="a"
        ),
        "transfer": lambda: ledger.transfer(
            "370811", "370812", "land_compensation", 2026, TINY, price_wan=1, actor="a"
        ),
        "loan": lambda: ledger.transfer(
            "370811", "370812", "land_compensation", 2026, TINY, due_date=date(2026, 9, 30), actor="a"
        ),
        "disposal area": lambda: ledger.dispose(1, "盘活", TINY, date(2026, 1, 1), actor="a"),
    }
    for what, movement in movements.items():
        with pytest.raises(InputError, match=rf"^{what}: 1e-05 \S+ rounds to 0 at the ledger's four decimals") as tiny:
            movement()
        assert "按台账保留四位小数后为 0（最小为 0.0001 " in tiny.value.message_zh, what
    for what, movement in {
        "transfer": lambda: ledger.transfer("370811", "370812", "land_compensation", 2026, -5, price_wan=1, actor="a"),
        "issue of land_new to 370811": lambda: ledger.issue(2026, [("370811", "land_new", -5)], actor="a"),
    }.items():  # a negative transfer moved the other way
        with pytest.raises(InputError, match=rf"^{what}: -5 m² must be positive") as negative:
            movement()
        assert "-5 m² 须为正数" in negative.value.message_zh
    assert journal_size(ledger) == before


def _problem(response: Any, status: int, en: str, zh: str) -> None:
    body = assert_problem(response, status)
    assert en in body["message_en"] and zh in body["message_zh"], body


def test_the_api_says_what_is_wrong_with_an_amount(settings: Settings, keys: dict[str, str]) -> None:
    """1e-05 rounds to 0 (422, not 409 "must be positive"); NaN and Infinity are no finite number (not "less than
    or equal to 1000000000000"); a 5,000-digit integer names the digit limit; each in English and Chinese."""
    admin = {**auth(keys, "quota-admin"), "content-type": "application/json"}
    with TestClient(create_app(settings)) as client:

        def issue(value: str) -> Any:
            row = f'{{"county_code": "370811", "factor": "land_new", "amount": {value}}}'
            return client.post("/api/v1/quotas/issue", content=f'{{"year": 2026, "rows": [{row}]}}', headers=admin)

        _problem(issue("1e-05"), 422, "rounds to 0 at the ledger's four decimals", "按台账保留四位小数后为 0")
        for odd in ("NaN", "Infinity", "-Infinity"):
            _problem(issue(odd), 422, "rows.0.amount: Input should be a finite number", "rows.0.amount：应为有限数值")
        _problem(issue("1" * 5_000), 400, "a number has more than 4300 digits", "请求体无法解析：数字超过 4300 位")
        assert issue("100000000000").status_code == 201  # the cap itself
        _problem(issue("1"), 422, "beyond the ±100,000,000,000 m²", "超出台账可精确记录")  # the province's total
        factors = client.post(
            "/api/v1/quotas/projects/NOPE/factors",
            content='{"year": 2026, "needs": {"energy": Infinity}}',
            headers={**auth(keys, "admin"), "content-type": "application/json"},
        )
        _problem(factors, 422, "Input should be a finite number", "应为有限数值")


def test_starlette_body_errors_say_what_was_wrong_in_chinese(settings: Settings, keys: dict[str, str]) -> None:
    """Starlette's own 400s ("There was an error parsing the body", a bad multipart boundary, a second file, more
    than 20 fields) were "请求错误" with no reason."""
    with TestClient(create_app(settings)) as client:
        sent = client.post(
            "/api/v1/reviews",
            files=[("file", ("a.geojson", b"{}")), ("file", ("b.geojson", b"{}"))],
            headers=auth(keys),
        )
        _problem(sent, 400, "Too many files. Maximum number of files is 1.", "请求体无法解析：文件过多，最多 1 个文件")
        many = {f"f{k}": "x" for k in range(21)}
        fields = client.post("/api/v1/reviews", data=many, files={"file": ("a.geojson", b"{}")}, headers=auth(keys))
        _problem(fields, 400, "Too many fields", "请求体无法解析：字段过多，最多 20 个字段")
        boundless = client.post(
            "/api/v1/reviews", content=b"--x\r\n", headers={**auth(keys), "content-type": "multipart/form-data"}
        )
        _problem(
            boundless,
            400,
            "Missing boundary in multipart.",
            "请求体无法解析：multipart 请求的 Content-Type 缺少 boundary",
        )
        undecodable = client.post(
            "/api/v1/quotas/issue",
            content=b'{"year": 2026, "rows": ["\xff\xfe"]}',
            headers={**auth(keys, "quota-admin"), "content-type": "application/json"},
        )
        _problem(undecodable, 400, "There was an error parsing the body: it is not UTF-8 text", "不是 UTF-8 编码的文本")
