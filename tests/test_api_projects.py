"""The project library over the API: entry, stages, history, linked reviews, 应开未开, roles and errors."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from support import assert_problem, auth, parcel_frame, rect

from api.app import create_app
from api.settings import Settings


@pytest.fixture
def client(settings: Settings, keys: dict[str, str]) -> Iterator[TestClient]:
    with TestClient(create_app(settings)) as c:
        yield c


PROJECT = {
    "id": "XM-1",
    "name": "智能装备产业园",
    "project_type": "industrial",
    "level": "省重点",
    "county": "370811",
    "start_by": "2026-03-01",
}


def feature(geom: Any, **props: Any) -> dict[str, Any]:
    return json.loads(parcel_frame(geom, **props).to_crs(4490).to_json(drop_id=True))["features"][0]


def test_project_library_over_the_api(client: TestClient, keys: dict[str, str]) -> None:
    writer = auth(keys, "project-system")
    assert_problem(client.post("/api/v1/projects", json=PROJECT, headers=auth(keys, "planner")), 403)
    made = client.post("/api/v1/projects", json=PROJECT, headers=writer)
    assert made.status_code == 201, made.text
    assert made.json()["stage"] == "谋划" and made.json()["type_zh"] == "工业"
    assert (
        "已在项目库中"
        in assert_problem(client.post("/api/v1/projects", json=PROJECT, headers=writer), 409)["message_zh"]
    )
    assert_problem(
        client.post("/api/v1/projects", json={**PROJECT, "id": "X2", "level": "国家级"}, headers=writer), 422
    )
    assert_problem(
        client.post("/api/v1/projects", json={**PROJECT, "id": "X2", "project_type": "casino"}, headers=writer), 422
    )
    assert_problem(client.post("/api/v1/projects", json={**PROJECT, "id": "X2", "county": "999"}, headers=writer), 422)
    skipped = client.post("/api/v1/projects/XM-1/stage", json={"stage": "审批"}, headers=writer)
    assert "下一阶段应为储备" in assert_problem(skipped, 409)["message_zh"]
    moved = client.post("/api/v1/projects/XM-1/stage", json={"stage": "储备", "reason": "入储备库"}, headers=writer)
    assert moved.status_code == 200 and moved.json()["stage"] == "储备"
    assert_problem(client.post("/api/v1/projects/nope/stage", json={"stage": "储备"}, headers=writer), 404)
    rid = client.post("/api/v1/reviews", json=feature(rect(2.2, 0.2, 2.4, 0.4), id="C"), headers=auth(keys)).json()[
        "review_id"
    ]
    linked = client.post("/api/v1/projects/XM-1/reviews", json={"review_id": rid}, headers=writer)
    assert linked.status_code == 201 and linked.json()["parcel_id"] == "C"
    assert_problem(client.post("/api/v1/projects/XM-1/reviews", json={"review_id": "nope"}, headers=writer), 404)
    assert_problem(
        client.post("/api/v1/projects/XM-1/reviews", json={"review_id": rid, "parcel_id": "Z"}, headers=writer), 404
    )
    detail = client.get("/api/v1/projects/XM-1", headers=auth(keys)).json()
    assert [(h["from_stage"], h["to_stage"], h["reason"]) for h in detail["history"]] == [
        (None, "谋划", "项目入库"),
        ("谋划", "储备", "入储备库"),
    ]
    assert [(r["review_id"], r["parcel_id"]) for r in detail["reviews"]] == [(rid, "C")]
    assert [p["id"] for p in client.get("/api/v1/projects?stage=储备", headers=auth(keys)).json()] == ["XM-1"]
    assert client.get("/api/v1/projects?county=370812", headers=auth(keys)).json() == []
    late = client.get("/api/v1/projects/overdue?as_of=2026-03-31", headers=auth(keys)).json()
    assert [(p["id"], p["days_overdue"]) for p in late] == [("XM-1", 30)]
    assert_problem(client.get("/api/v1/projects/overdue?as_of=soon", headers=auth(keys)), 422)
    assert_problem(client.get("/api/v1/projects/nope", headers=auth(keys)), 404)


def test_quota_report_over_the_api(client: TestClient, keys: dict[str, str]) -> None:
    import csv
    import io

    import openpyxl

    plan = {"year": 2026, "rows": [{"county_code": "370811", "factor": "land_new", "amount": 10_000}]}
    assert client.post("/api/v1/quotas/issue", json=plan, headers=auth(keys, "quota-admin")).status_code == 201
    rows = client.get("/api/v1/quotas/report?year=2026", headers=auth(keys)).json()
    ren = next(r for r in rows if r["county"] == "370811")
    assert (ren["county_name"], ren["issued"], ren["pooled"], ren["balance"]) == ("任城区", 10_000, -3_000, 7_000)
    assert ren["balance_mu"] == 10.5 and ren["balance_ha"] == 0.7
    text = client.get("/api/v1/quotas/report?year=2026&format=csv", headers=auth(keys))
    assert text.headers["content-type"].startswith("text/csv")
    table = list(csv.DictReader(io.StringIO(text.content.decode("utf-8-sig"))))
    assert {(r["区县"], r["余额"]) for r in table} == {("任城区", "7000.0"), ("市级统筹", "3000.0")}
    book = client.get("/api/v1/quotas/report?year=2026&format=xlsx", headers=auth(keys))
    assert 'filename="quota-report-2026.xlsx"' in book.headers["content-disposition"]
    sheet = openpyxl.load_workbook(io.BytesIO(book.content)).active
    assert sheet is not None and sheet["A1"].value == "区县"
    assert_problem(client.get("/api/v1/quotas/report?year=2026&format=pdf", headers=auth(keys)), 422)
    assert_problem(client.get("/api/v1/quotas/report", headers=auth(keys)), 422)


def test_energy_and_pollutants_for_a_project_over_the_api(client: TestClient, keys: dict[str, str]) -> None:
    plan = {"year": 2026, "rows": [{"county_code": "370811", "factor": "energy", "amount": 1_000}]}
    assert client.post("/api/v1/quotas/issue", json=plan, headers=auth(keys, "quota-admin")).status_code == 201
    writer = auth(keys, "project-system")
    assert client.post("/api/v1/projects", json={**PROJECT, "stage": "储备"}, headers=writer).status_code == 201
    body = {"year": 2026, "needs": {"energy": 300}}
    made = client.post("/api/v1/quotas/projects/XM-1/factors", json=body, headers=writer)
    assert made.status_code == 201, made.text
    balances = client.get("/api/v1/quotas/balances?year=2026", headers=auth(keys)).json()
    assert next(b["balance"] for b in balances if b["holder"] == "XM-1" and b["factor"] == "energy") == 300
    too_much = client.post(
        "/api/v1/quotas/projects/XM-1/factors", json={**body, "needs": {"energy": 900}}, headers=writer
    )
    assert "指标不足" in assert_problem(too_much, 409)["message_zh"]
    land = client.post("/api/v1/quotas/projects/XM-1/factors", json={**body, "needs": {"land_new": 1}}, headers=writer)
    assert_problem(land, 409)
    flagged = {**body, "needs": {"energy": True}}  # JSON's true is no 1 吨标准煤
    assert_problem(client.post("/api/v1/quotas/projects/XM-1/factors", json=flagged, headers=writer), 422)
    assert_problem(client.post("/api/v1/quotas/projects/XM-1/factors", json=body, headers=auth(keys, "planner")), 403)
    # a retry after a lost answer, under the client's Idempotency-Key: the first transaction, reserved once
    keyed = writer | {"Idempotency-Key": "xm1-energy-2026-01"}
    first = client.post("/api/v1/quotas/projects/XM-1/factors", json=body, headers=keyed)
    again = client.post("/api/v1/quotas/projects/XM-1/factors", json=body, headers=keyed)
    assert (first.status_code, again.status_code) == (201, 200)  # the repeat said so: 已存在, nothing moved
    assert first.json()["existed"] is False and again.json() == {**first.json(), "existed": True}
    balances = client.get("/api/v1/quotas/balances?year=2026", headers=auth(keys)).json()
    assert next(b["balance"] for b in balances if b["holder"] == "XM-1" and b["factor"] == "energy") == 600
    other = client.post("/api/v1/quotas/projects/XM-1/factors", json={**body, "needs": {"energy": 1}}, headers=keyed)
    assert "another request" in assert_problem(other, 422)["detail"]
    bad = writer | {"Idempotency-Key": "two words"}  # printable ASCII without spaces
    assert_problem(client.post("/api/v1/quotas/projects/XM-1/factors", json=body, headers=bad), 422)
    # another caller's key is its own: the same key and body from the quota officer reserve anew (a probe's admin
    # request under the project system's key was answered with the project system's transaction, nothing moved)
    officer = auth(keys, "quota-admin") | {"Idempotency-Key": "xm1-energy-2026-01"}
    theirs = client.post("/api/v1/quotas/projects/XM-1/factors", json=body, headers=officer)
    assert theirs.status_code == 201 and theirs.json()["transaction"] != first.json()["transaction"]
    # exempt_as spares the pollutant 总量: the officer's declaration, of a kind the project's type can be
    cod = {"year": 2026, "needs": {"cod": 1}, "exempt_as": "公路"}
    assert (
        "quota-admin"
        in assert_problem(client.post("/api/v1/quotas/projects/XM-1/factors", json=cod, headers=writer), 403)["detail"]
    )
    refused = assert_problem(
        client.post("/api/v1/quotas/projects/XM-1/factors", json=cod, headers=auth(keys, "quota-admin")), 422
    )
    assert "cannot be a 公路 project" in refused["detail"] and "不能申报为公路项目" in refused["message_zh"]


def test_a_review_of_several_parcels_is_linked_by_parcel_id(client: TestClient, keys: dict[str, str]) -> None:
    """Without parcel_id a review of several parcels was a 404 "has no single parcel  to link": it is a missing
    field (422) naming how many parcels and a few of them; a parcel_id it does not hold is a 404 naming them."""
    writer = auth(keys, "project-system")
    assert client.post("/api/v1/projects", json=PROJECT, headers=writer).status_code == 201
    parcels = [feature(rect(2.2 + 0.05 * k, 0.2, 2.24 + 0.05 * k, 0.24), id=f"P{k}") for k in range(7)]
    rid = client.post(
        "/api/v1/reviews", json={"type": "FeatureCollection", "features": parcels}, headers=auth(keys)
    ).json()["review_id"]
    admin = auth(keys, "admin")  # reads every review: the refusals name a few of its parcels
    missing = assert_problem(client.post("/api/v1/projects/XM-1/reviews", json={"review_id": rid}, headers=admin), 422)
    assert missing["message_en"] == (
        f"review {rid} has 7 parcels (P0, P1, P2, P3, P4, …): parcel_id is required to say which to link"
    )
    assert missing["message_zh"] == f"审查 {rid} 有 7 个地块（P0, P1, P2, P3, P4, …），须以 parcel_id 指定要关联的地块"
    absent = client.post("/api/v1/projects/XM-1/reviews", json={"review_id": rid, "parcel_id": "Z"}, headers=admin)
    assert (
        assert_problem(absent, 404)["message_en"]
        == f"review {rid} has no parcel 'Z'; its parcels: P0, P1, P2, P3, P4, …"
    )
    # the project system links its planners' reviews without reading them: its refusals name no parcel
    hidden = client.post("/api/v1/projects/XM-1/reviews", json={"review_id": rid}, headers=writer)
    assert (
        assert_problem(hidden, 422)["message_en"]
        == f"review {rid} has 7 parcels: parcel_id is required to say which to link"
    )
    unnamed = client.post("/api/v1/projects/XM-1/reviews", json={"review_id": rid, "parcel_id": "Z"}, headers=writer)
    assert assert_problem(unnamed, 404)["message_en"] == f"review {rid} has no parcel 'Z'"
    chosen = client.post("/api/v1/projects/XM-1/reviews", json={"review_id": rid, "parcel_id": "P6"}, headers=writer)
    assert chosen.status_code == 201 and chosen.json()["parcel_id"] == "P6"


def test_a_parcel_id_as_long_as_a_review_takes_is_linked(client: TestClient, keys: dict[str, str]) -> None:
    """A review takes parcel ids of up to 100 characters (a 不动产单元号 has 28; the link table keeps 100): the
    link route refused those of 65 to 100 as too long."""
    writer = auth(keys, "project-system")
    assert client.post("/api/v1/projects", json=PROJECT, headers=writer).status_code == 201
    long_id = "370812" + "0" * 94
    parcels = [feature(rect(2.2, 0.2, 2.24, 0.24), id=long_id), feature(rect(2.3, 0.2, 2.34, 0.24), id="P2")]
    rid = client.post(
        "/api/v1/reviews", json={"type": "FeatureCollection", "features": parcels}, headers=writer
    ).json()["review_id"]
    linked = client.post("/api/v1/projects/XM-1/reviews", json={"review_id": rid, "parcel_id": long_id}, headers=writer)
    assert linked.status_code == 201 and linked.json()["parcel_id"] == long_id
    too_long = {"review_id": rid, "parcel_id": long_id + "1"}
    assert_problem(client.post("/api/v1/projects/XM-1/reviews", json=too_long, headers=writer), 422)
