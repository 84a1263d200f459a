"""The service through FastAPI's TestClient: every endpoint, role and error."""

from __future__ import annotations

import http.client
import io
import itertools
import json
import logging
import os
import re
import signal
import tempfile
import time
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pypdf
import pytest
import shapely
from fastapi.testclient import TestClient
from pyproj import CRS
from support import (
    EPSG,
    X0,
    Y0,
    assert_problem,
    assert_worker_freed,
    auth,
    issue_land_quota,
    parcel_frame,
    rect,
    served,
    star,
)

from api import work
from api.app import create_app
from api.errors import ProblemDetails
from api.keys import revoke_key
from api.render_cache import RenderCache
from api.routes import pages, reviews
from api.settings import Settings
from geo.blueprint import Blueprint
from geo.db import make_engine
from geo.forked import CAN_FORK, run_forked
from geo.review import engine as review_engine


def feature(geom: Any, **props: Any) -> dict[str, Any]:
    frame = parcel_frame(geom, **props).to_crs(4490)
    return json.loads(frame.to_json(drop_id=True))["features"][0]


PASSING = feature(rect(1.2, 1.2, 1.6, 1.6), id="A", project_type="residential")
FARMLAND = feature(rect(2.9, 0.1, 3.1, 0.3), id="B")


@pytest.fixture
def forks(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """One entry per job forked (``api.work.run_forked``), each run as it would be."""
    forked: list[int] = []
    monkeypatch.setattr(
        work, "run_forked", lambda job, deadline: forked.append(1) or run_forked(job, deadline=deadline)
    )
    return forked


@pytest.fixture
def client(settings: Settings, keys: dict[str, str]) -> Iterator[TestClient]:
    with TestClient(create_app(settings)) as c:
        yield c


def test_health_and_docs_need_no_key(client: TestClient) -> None:
    assert client.get("/healthz").json() == {"status": "ok"}
    assert client.get("/readyz").json()["checks"] == {"blueprint": True, "database": True, "temp": True}
    for probe in ("/healthz", "/readyz"):  # load balancers probe with HEAD: was 405
        head = client.head(probe)
        assert head.status_code == 200 and head.content == b"", probe
    assert client.get("/docs").status_code == 200
    assert "/api/v1/reviews" in client.get("/openapi.json").json()["paths"]


def test_openapi_documents_the_problem_responses_the_service_gives(client: TestClient, keys: dict[str, str]) -> None:
    doc = client.get("/openapi.json").json()
    problem = {"application/problem+json": {"schema": {"$ref": "#/components/schemas/ProblemDetails"}}}
    post = doc["paths"]["/api/v1/reviews"]["post"]["responses"]
    assert {"401", "403", "408", "413", "415", "422", "429", "503"} <= set(post)
    assert all(post[s]["content"] == problem and " / " in post[s]["description"] for s in post if s[0] in "45")
    assert "413" not in doc["paths"]["/api/v1/reviews/{review_id}"]["get"]["responses"]  # no body, no body limits
    assert "409" in doc["paths"]["/api/v1/quotas/issue"]["post"]["responses"]  # the ledger's refusals
    assert "HTTPValidationError" not in doc["components"]["schemas"]  # FastAPI's own 422 body is never sent
    sent = [
        (client.post("/api/v1/reviews", content=b"x", headers={**auth(keys), "Content-Type": "text/plain"}), 415),
        (client.post("/api/v1/reviews?investment_wan=-5", json=PASSING, headers=auth(keys)), 422),
    ]
    unknown = client.get("/api/v1/reviews/0123456789abcdef0123456789abcdef", headers=auth(keys))
    assert "404" in doc["paths"]["/api/v1/reviews/{review_id}"]["get"]["responses"]
    for r, status in [*sent, (unknown, 404)]:
        assert r.status_code == status and r.headers["content-type"] == "application/problem+json"
        assert str(status) in post or status == 404
        assert ProblemDetails.model_validate(r.json()).status == status
    invalid = sent[1][0].json()
    assert invalid["errors"]  # the fields that do not validate, and in Chinese what each needs
    assert invalid["message_zh"] == "请求参数不合法：query.investment_wan：应不小于 0.0"


def test_post_review_returns_201_location_and_the_schema(client: TestClient, keys: dict[str, str]) -> None:
    r = client.post(
        "/api/v1/reviews",
        json={"type": "FeatureCollection", "features": [PASSING, FARMLAND]},
        headers=auth(keys),
    )
    assert r.status_code == 201, r.text
    body = r.json()
    assert r.headers["location"] == f"/api/v1/reviews/{body['review_id']}"
    assert [p["verdict"] for p in body["parcels"]] == ["pass", "reject"]
    assert body["parcels"][0]["area_m2"] == pytest.approx(160_000, rel=1e-4)
    got = client.get(r.headers["location"], headers=auth(keys))
    assert got.status_code == 200 and got.json() == body


def test_review_survives_a_restart(settings: Settings, keys: dict[str, str]) -> None:
    with TestClient(create_app(settings)) as first:
        body = first.post("/api/v1/reviews", json=FARMLAND, headers=auth(keys)).json()
    with TestClient(create_app(settings)) as second:
        assert second.get(f"/api/v1/reviews/{body['review_id']}", headers=auth(keys)).json() == body


def test_project_fields_as_query_parameters(client: TestClient, keys: dict[str, str]) -> None:
    r = client.post("/api/v1/reviews?major_project=true&project_type=transport", json=FARMLAND, headers=auth(keys))
    item = next(i for i in r.json()["parcels"][0]["items"] if i["code"] == "basic_farmland")
    assert item["status"] == "warn"
    # an empty field (a form's unset select) gives no value: the parcel's own type stays
    blank = client.post("/api/v1/reviews?project_type=", json=PASSING, headers=auth(keys))
    assert blank.status_code == 201 and blank.json()["parcels"][0]["project_type"] == "residential"
    # a 工程类别 implies its type, and one of another type than the parcel's is a 422 naming both
    wind = client.post("/api/v1/reviews?facility=wind_farm", json=FARMLAND, headers=auth(keys))
    assert wind.status_code == 201 and wind.json()["parcels"][0]["project_type"] == "energy"
    # filling gaps (override=false), a facility goes to parcels of its type or of none, and a parcel's own facility
    # keeps the type it implies: a mixed batch is no 422 (a fresh pair of eyes)
    highway = feature(rect(1.7, 1.7, 1.8, 1.8), id="C", facility="highway")
    batch = {"type": "FeatureCollection", "features": [PASSING, FARMLAND, highway]}
    filled = client.post(
        "/api/v1/reviews?facility=wind_farm&project_type=energy&override=false", json=batch, headers=auth(keys)
    )
    assert filled.status_code == 201, filled.text
    types = {p["id"]: p["project_type"] for p in filled.json()["parcels"]}
    assert types == {"A": "residential", "B": "energy", "C": "transport"}
    rated = {p["id"]: next(i for i in p["items"] if i["code"] == "land_use_standard") for p in filled.json()["parcels"]}
    assert rated["B"]["facts"]["facility"] == "wind_farm" and rated["C"]["facts"]["facility"] == "highway"
    # replacing (the default), the facility sets every parcel's type; one beside another type given is a 422
    assert client.post("/api/v1/reviews?facility=wind_farm", json=PASSING, headers=auth(keys)).status_code == 201
    clash = client.post("/api/v1/reviews?facility=wind_farm&project_type=residential", json=PASSING, headers=auth(keys))
    assert clash.status_code == 422 and "与项目类型 residential 不符" in clash.text


def test_bare_geometry_and_bearer_token(client: TestClient, keys: dict[str, str]) -> None:
    r = client.post("/api/v1/reviews", json=PASSING["geometry"], headers={"Authorization": f"Bearer {keys['admin']}"})
    assert r.status_code == 201
    assert r.json()["parcels"][0]["id"] == "1"


def test_crs_parameter_for_a_json_body(client: TestClient, keys: dict[str, str]) -> None:
    """GK coordinates posted as GeoJSON (which has no crs member) are read in the CRS the request
    names; a CRS the body declares is kept, and the one named is said to be unused."""
    gk = json.loads(parcel_frame(rect(2.9, 0.1, 3.1, 0.3), id="B").to_json(drop_id=True))  # EPSG:4548 metres
    del gk["crs"]
    assert_problem(client.post("/api/v1/reviews", json=gk, headers=auth(keys)), 422)  # metres read as degrees
    r = client.post(f"/api/v1/reviews?crs=EPSG:{EPSG}", json=gk, headers=auth(keys))
    assert r.status_code == 201, r.text
    item = next(i for i in r.json()["parcels"][0]["items"] if i["code"] == "basic_farmland")
    assert item["overlap_m2"] == pytest.approx(20_000, rel=1e-4)
    (untyped,) = r.json()["warnings"]  # nothing about its CRS: only that it has no project type
    assert untyped.startswith("1 parcel(s) without a project type (")
    declared = {**gk, "crs": {"type": "name", "properties": {"name": f"EPSG:{EPSG}"}}}
    r = client.post("/api/v1/reviews?crs=EPSG:4549", json=declared, headers=auth(keys))
    assert r.status_code == 201 and r.json()["parcels"][0]["crs_used"] == f"EPSG:{EPSG}"
    assert [w for w in r.json()["warnings"] if "EPSG:4549" in w and "未采用" in w]


def test_crs_parameter_for_a_coordinate_file_and_as_wkt(client: TestClient, keys: dict[str, str]) -> None:
    """?crs= names the zone of a coordinate file whose 带号 is blank; a CRS may be named by its WKT (a
    Gauss-Krüger zone's is about 1,100 characters) but not by a text longer than any CRS's."""
    data = (
        (Path(__file__).parent / "data" / "gbk_crlf_no_prefix.txt")
        .read_bytes()
        .replace("带号=39".encode("gbk"), "带号=".encode("gbk"))
    )
    upload = {"file": ("blank_zone.txt", data)}
    refused = assert_problem(client.post("/api/v1/reviews", files=upload, headers=auth(keys)), 422)
    assert "zone is unknown" in refused["detail"]
    wkt = CRS.from_epsg(4548).to_wkt()
    assert len(wkt) > 1_000
    r = client.post("/api/v1/reviews", params={"crs": wkt}, files=upload, headers=auth(keys))
    assert r.status_code == 201, r.text
    assert r.json()["parcels"][0]["crs_used"] == "EPSG:4548"
    assert [w for w in r.json()["warnings"] if "taken from the CRS given" in w]
    r = client.post("/api/v1/reviews", params={"crs": "x" * 5_000}, files=upload, headers=auth(keys))
    assert_problem(r, 422)


@pytest.mark.parametrize(
    ("role", "status"), [("planner", 201), ("project-system", 201), ("admin", 201), ("quota-admin", 403)]
)
def test_roles_for_review_create(client: TestClient, keys: dict[str, str], role: str, status: int) -> None:
    r = client.post("/api/v1/reviews", json=PASSING, headers=auth(keys, role))
    assert r.status_code == status
    if status == 403:
        assert_problem(r, 403)


def test_missing_unknown_and_revoked_keys(client: TestClient, keys: dict[str, str], settings: Settings) -> None:
    assert_problem(client.post("/api/v1/reviews", json=PASSING), 401)
    assert_problem(client.get("/api/v1/layers", headers={"X-API-Key": "lantu_nope"}), 401)
    assert client.get("/api/v1/layers", headers=auth(keys)).status_code == 200
    revoke_key(make_engine(settings.database_url), "test-planner")
    assert_problem(client.get("/api/v1/layers", headers=auth(keys)), 401)


@pytest.mark.parametrize(
    ("body", "needle"),
    [
        (
            {
                "type": "Polygon",
                "coordinates": [[[35.4, 116.6], [35.41, 116.6], [35.41, 116.61], [35.4, 116.6]]],
            },
            "swapped",
        ),
        ({"type": "Point", "coordinates": [116.6, 35.4]}, "must be a polygon"),
        (
            {
                "type": "Polygon",
                "coordinates": [[[116.6, 35.4], [116.61, 35.41], [116.61, 35.4], [116.6, 35.41], [116.6, 35.4]]],
            },
            "Self-intersection",
        ),
        ({"type": "FeatureCollection", "features": []}, "no parcels"),
        ({"type": "FeatureCollection"}, "features"),
        ({"hello": "world"}, "not a GeoJSON"),
        ({"type": "Feature", "geometry": {"type": "Polygon", "coordinates": "x"}}, "unreadable geometry"),
    ],
)
def test_bad_geometry_is_422_with_reason(client: TestClient, keys: dict[str, str], body: Any, needle: str) -> None:
    problem = assert_problem(client.post("/api/v1/reviews", json=body, headers=auth(keys)), 422)
    assert needle in problem["detail"]


def test_malformed_and_deeply_nested_json(client: TestClient, keys: dict[str, str]) -> None:
    headers = {**auth(keys), "content-type": "application/json"}
    assert_problem(client.post("/api/v1/reviews", content=b"{not json", headers=headers), 422)
    nested = b"[" * 100_000 + b"]" * 100_000
    assert_problem(client.post("/api/v1/reviews", content=nested, headers=headers), 422)


def test_wrong_content_type_is_415(client: TestClient, keys: dict[str, str]) -> None:
    r = client.post("/api/v1/reviews", content=b"hello", headers={**auth(keys), "content-type": "text/plain"})
    assert_problem(r, 415)


def test_upload_over_the_limit_is_413(client: TestClient, keys: dict[str, str]) -> None:
    big = b"x" * 2_100_000
    assert_problem(
        client.post("/api/v1/reviews", content=big, headers={**auth(keys), "content-type": "application/json"}),
        413,
    )
    # no Content-Length: the cap applies while the body streams in
    chunks = (b"x" * 100_000 for _ in range(25))
    assert_problem(
        client.post("/api/v1/reviews", content=chunks, headers={**auth(keys), "content-type": "application/json"}),
        413,
    )
    # and the service answers the next request
    assert client.post("/api/v1/reviews", json=PASSING, headers=auth(keys)).status_code == 201


def _upload(client: TestClient, keys: dict[str, str], name: str, data: bytes) -> Any:
    return client.post("/api/v1/reviews", files={"file": (name, data)}, headers=auth(keys))


def test_uploads_review_like_geojson(client: TestClient, keys: dict[str, str], tmp_path: Path) -> None:
    expected = client.post("/api/v1/reviews", json=FARMLAND, headers=auth(keys)).json()["parcels"][0]
    frame = parcel_frame(rect(2.9, 0.1, 3.1, 0.3), id="B")
    frame.to_file(tmp_path / "p.gpkg")
    frame.to_file(tmp_path / "p.shp")
    frame.to_crs(4326).to_file(tmp_path / "p.kml", driver="KML")
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as z:
        for part in tmp_path.glob("p.*"):
            if part.suffix in (".shp", ".shx", ".dbf", ".prj", ".cpg"):
                z.write(part, part.name)
    for name, data in [
        ("p.gpkg", (tmp_path / "p.gpkg").read_bytes()),
        ("parcels.zip", archive.getvalue()),
        ("p.kml", (tmp_path / "p.kml").read_bytes()),
    ]:
        r = _upload(client, keys, name, data)
        assert r.status_code == 201, (name, r.text)
        got = r.json()["parcels"][0]
        assert got["area_m2"] == pytest.approx(expected["area_m2"], rel=1e-4), name
        assert [i["status"] for i in got["items"]] == [i["status"] for i in expected["items"]], name


@pytest.mark.parametrize(
    ("name", "data", "status"),
    [("p.exe", b"MZ", 422), ("p.gpkg", b"not a database", 422), ("p.zip", b"PK\x03\x04broken", 422)],
)
def test_bad_uploads(client: TestClient, keys: dict[str, str], name: str, data: bytes, status: int) -> None:
    assert_problem(_upload(client, keys, name, data), status)


def test_a_query_parameter_given_twice_is_refused(client: TestClient, keys: dict[str, str]) -> None:
    """Starlette keeps the last of a repeated parameter: an industrial parcel was reviewed as residential."""
    twice = "/api/v1/reviews?project_type=industrial&project_type=residential"
    refused = assert_problem(client.post(twice, json=PASSING, headers=auth(keys)), 422)
    assert refused["message_en"] == "query parameter 'project_type' is given more than once; give it once"
    listed = assert_problem(client.get("/api/v1/quotas/journal?limit=1&limit=2", headers=auth(keys)), 422)
    assert "'limit'" in listed["message_en"] and "不止一次" in listed["message_zh"]
    assert client.post("/api/v1/reviews?project_type=industrial", json=PASSING, headers=auth(keys)).status_code == 201


def test_the_projects_name_is_an_api_field(client: TestClient, keys: dict[str, str]) -> None:
    """The contract lets every project attribute come from an API field, its name too (it had no field)."""
    made = client.post("/api/v1/reviews?name=北湖物流园&project_type=logistics", json=PASSING, headers=auth(keys))
    assert made.status_code == 201 and made.json()["parcels"][0]["name"] == "北湖物流园"
    too_long = client.post("/api/v1/reviews?name=" + "名" * 201, json=PASSING, headers=auth(keys))
    assert_problem(too_long, 422)


def test_an_investment_with_a_digit_separator_is_refused(client: TestClient, keys: dict[str, str]) -> None:
    """ "1_5" was read as 15 万元 (Python's float): on the review's query and the site search's body alike."""
    said = assert_problem(client.post("/api/v1/reviews?investment_wan=1_5", json=PASSING, headers=auth(keys)), 422)
    assert "下划线不能作为数字分隔符" in said["message_zh"]
    body = {"area_mu": 10, "investment_wan": "1_5"}
    said = assert_problem(client.post("/api/v1/sites/search", json=body, headers=auth(keys)), 422)
    assert "下划线不能作为数字分隔符" in said["message_zh"]


@pytest.mark.parametrize("value", ["nan", "inf", "1e999"])
def test_an_investment_not_finite_is_refused(client: TestClient, keys: dict[str, str], value: str) -> None:
    refused = assert_problem(
        client.post(f"/api/v1/reviews?investment_wan={value}", json=PASSING, headers=auth(keys)), 422
    )
    assert "finite" in refused["message_en"] and "有限数值" in refused["message_zh"]


def test_an_upload_of_several_layers_names_them_rather_than_review_the_first(
    client: TestClient, keys: dict[str, str], tmp_path: Path
) -> None:
    path = tmp_path / "报批.gpkg"
    parcel_frame(rect(1.2, 1.2, 1.6, 1.6), id="A").to_file(path, layer="一期")
    parcel_frame(rect(2.9, 0.1, 3.1, 0.3), id="B").to_file(path, layer="二期")  # on farmland: rejected
    refused = assert_problem(_upload(client, keys, "报批.gpkg", path.read_bytes()), 422)
    assert refused["message_en"].startswith("报批.gpkg: the GeoPackage holds 2 layers with geometry (一期, 二期)")


def _sent_as(client: TestClient, keys: dict[str, str], filename: str, data: bytes) -> Any:
    """A multipart upload whose part names its file by exactly these bytes (UTF-8), as a client may: httpx
    would percent-encode control characters, and leave out an empty name."""
    head = f'--b\r\nContent-Disposition: form-data; name="file"; filename="{filename}"\r\n\r\n'.encode()
    body = head + data + b"\r\n--b--\r\n"
    return client.post(
        "/api/v1/reviews", content=body, headers={**auth(keys), "content-type": "multipart/form-data; boundary=b"}
    )


DAMAGED_ZIP = b"PK\x03\x04broken"


def _zipped(members: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as z:
        for name, data in members.items():
            z.writestr(name, data)
    return out.getvalue()


def _not_ours(problem: dict[str, Any]) -> None:
    """Neither message names the file as the server saved it, nor where."""
    for text in (problem["message_en"], problem["message_zh"]):
        assert not re.search(r"upload\.(zip|txt|gpkg|geojson|kml|dxf|shp)", text), text
        assert "lantu-upload-" not in text and tempfile.gettempdir() not in text, text


@pytest.mark.parametrize(
    ("name", "data", "reason"),
    [
        ("地块坐标.txt", "[地块坐标]\n4,1,A,x,面,,,,@\nJ1,1,abc,def\n".encode("gbk"), "line"),
        ("地块坐标.txt", b"no coordinates here", "line 1"),
        ("报批地块.zip", DAMAGED_ZIP, "not a readable zip archive"),
        ("报批地块.zip", _zipped({"readme.txt": b"hi"}), "found 0"),
        ("报批地块.zip", _zipped({"p.shp": b"x", "p.shx": b"y"}), "not a readable shp file"),
        ("报批地块.zip", _zipped({"p.shp": b"x", "p.dbf": b"y"}), "p.dbf is damaged: it holds 1 of the 33 bytes"),
        ("报批地块.gpkg", b"not a database", "not a readable gpkg file"),
        ("报批地块.geojson", b"{not json", "not valid JSON"),
    ],
)
def test_upload_errors_name_the_file_as_sent(
    client: TestClient, keys: dict[str, str], name: str, data: bytes, reason: str
) -> None:
    """A file that cannot be read is named as its sender named it, in both languages: never by the name
    and folder the server saved it under."""
    problem = assert_problem(_upload(client, keys, name, data), 422)
    assert problem["message_en"].startswith(f"{name}: ") and reason in problem["message_en"]
    assert problem["message_zh"].startswith(f"{name}：")
    _not_ours(problem)


def test_upload_warnings_name_the_file_as_sent(client: TestClient, keys: dict[str, str], tmp_path: Path) -> None:
    """A warning about the file, kept in the stored review, names it as its sender did too."""
    parcel_frame(rect(1.2, 1.2, 1.6, 1.6), id="A").to_file(tmp_path / "p.shp")
    shapes = _zipped({f"p{s}": (tmp_path / f"p{s}").read_bytes() for s in (".shp", ".shx", ".prj")})  # no .dbf
    r = _upload(client, keys, "报批地块.zip", shapes)
    assert r.status_code == 201, r.text
    assert [w for w in r.json()["warnings"] if w.startswith("报批地块.zip: the shapefile has no .dbf")]
    assert "upload.zip" not in r.text


@pytest.mark.parametrize(
    ("filename", "shown"),
    [
        ("C:\\Users\\张三\\Desktop\\地块坐标.zip", "地块坐标.zip"),  # a browser on Windows sends the whole path
        ("../../etc/地块.zip", "地块.zip"),
        ("地\x1b[2J块\u202e\u200b.zip", "地[2J块.zip"),  # an escape, a bidi override, a zero-width space
        ("地\t块.zip", "地 块.zip"),
        ("地" * 250 + ".zip", "地" * 95 + "….zip"),  # within the 255 characters of a file name
    ],
)
def test_a_file_name_is_quoted_clean(client: TestClient, keys: dict[str, str], filename: str, shown: str) -> None:
    assert reviews.sent_name(filename) == shown and len(shown) <= reviews.MAX_SENT_NAME
    problem = assert_problem(_sent_as(client, keys, filename, DAMAGED_ZIP), 422)
    assert problem["message_en"] == f"{shown}: not a readable zip archive"
    assert problem["message_zh"] == f"{shown}：不是有效的 zip 压缩包"
    _not_ours(problem)


@pytest.mark.parametrize("filename", ["", "\x1b\u202e", "a/", "地块.exe"])
def test_a_file_without_a_usable_name_is_refused_saying_so(
    client: TestClient, keys: dict[str, str], filename: str
) -> None:
    problem = assert_problem(_sent_as(client, keys, filename, DAMAGED_ZIP), 422)
    en, zh = ("地块.exe", "地块.exe") if filename == "地块.exe" else ("the uploaded file", "上传的文件")
    assert problem["message_en"].startswith(f"{en}: unsupported file type; use one of .geojson")
    assert problem["message_zh"].startswith(f"{zh}：不支持的文件类型")


@pytest.mark.parametrize("filename", ["p.shp", "p.SHX", "p.dbf"])
def test_a_loose_part_of_a_shapefile_is_refused_saying_to_zip_it(
    client: TestClient, keys: dict[str, str], filename: str
) -> None:
    """A .shp is read from disk beside its .shx, .dbf and .prj; an upload is one file, which never has them."""
    problem = assert_problem(_upload(client, keys, filename, b"\0\0\x27\x0a"), 422)
    assert problem["message_en"] == f"{filename}: upload a shapefile zipped with its .shx, .dbf and .prj (.zip)"
    assert problem["message_zh"].startswith(f"{filename}：") and ".zip" in problem["message_zh"]


def test_a_file_named_by_its_suffix_alone_is_read_by_it(client: TestClient, keys: dict[str, str]) -> None:
    """``.zip`` is a dot-file to ``Path`` (no suffix): the service, told ``.zip`` is supported, read it as one."""
    problem = assert_problem(_sent_as(client, keys, ".zip", DAMAGED_ZIP), 422)
    assert problem["message_en"] == ".zip: not a readable zip archive"
    r = _sent_as(client, keys, ".geojson", json.dumps(PASSING).encode())
    assert r.status_code == 201, r.text


def test_upload_errors_found_in_review_or_in_an_archive_name_the_upload(
    client: TestClient, keys: dict[str, str], tmp_path: Path
) -> None:
    """A parcel that is no polygon is found by the review, after the reading: it names the upload all the
    same, as does a sidecar of a zipped shapefile (by the upload, then the entry)."""
    gpd.GeoDataFrame({"id": ["P"]}, geometry=[shapely.Point(X0 + 1400, Y0 + 1400)], crs=EPSG).to_file(
        tmp_path / "p.gpkg"
    )
    problem = assert_problem(_upload(client, keys, "报批地块.gpkg", (tmp_path / "p.gpkg").read_bytes()), 422)
    assert problem["message_en"] == "报批地块.gpkg: parcel P: a parcel must be a polygon, got Point"
    assert problem["message_zh"].startswith("报批地块.gpkg：地块 P：")
    parcel_frame(rect(1.2, 1.2, 1.6, 1.6), id="A").to_file(tmp_path / "p.shp")
    parts = {f"p{s}": (tmp_path / f"p{s}").read_bytes() for s in (".shp", ".shx", ".dbf", ".prj")}
    problem = assert_problem(_upload(client, keys, "报批地块.zip", _zipped({**parts, "p.fields.csv": b"x\xff"})), 422)
    assert problem["message_en"].startswith("报批地块.zip: p.fields.csv: unreadable field-name table")
    assert problem["message_zh"].startswith("报批地块.zip：p.fields.csv：")
    parcel = feature(shapely.Point(X0 + 1400, Y0 + 1400), id="P")
    sent = assert_problem(client.post("/api/v1/reviews", json=parcel, headers=auth(keys)), 422)
    assert sent["message_en"] == "parcel P: a parcel must be a polygon, got Point"  # no file to name


def test_upload_without_file_part(client: TestClient, keys: dict[str, str]) -> None:
    r = client.post("/api/v1/reviews", data={"x": "1"}, files={"other": ("a.txt", b"a")}, headers=auth(keys))
    assert assert_problem(r, 422)["message_en"] == "the multipart body needs a 'file' part"


def test_a_file_part_named_only_by_filename_star_is_told_to_name_it(client: TestClient, keys: dict[str, str]) -> None:
    """RFC 7578 4.2: multipart/form-data does not use filename*= (RFC 5987); a part with it alone is a
    text field to the parser, and the planner is told what to send rather than that no file came."""
    body = json.dumps({"type": "FeatureCollection", "features": [PASSING]}).encode()

    def sent(disposition: str) -> Any:
        raw = (
            (
                f'--XX\r\nContent-Disposition: form-data; name="file"; {disposition}\r\n'
                "Content-Type: application/geo+json\r\n\r\n"
            ).encode()
            + body
            + b"\r\n--XX--\r\n"
        )
        headers = {**auth(keys), "Content-Type": "multipart/form-data; boundary=XX"}
        return client.post("/api/v1/reviews", content=raw, headers=headers)

    refused = assert_problem(sent("filename*=UTF-8''%E5%9C%B0%E5%9D%97.geojson"), 422)
    assert "filename=" in refused["message_en"] and "RFC 7578" in refused["message_zh"]
    both = sent("filename=\"dikuai.geojson\"; filename*=UTF-8''%E5%9C%B0%E5%9D%97.geojson")
    assert both.status_code == 201 and both.json()["parcels"][0]["verdict"] == "pass"


def test_unknown_ids_are_404(client: TestClient, keys: dict[str, str]) -> None:
    assert_problem(client.get("/api/v1/reviews/nope", headers=auth(keys)), 404)
    assert_problem(client.get("/api/v1/reviews/nope/map", headers=auth(keys)), 404)
    assert_problem(client.get("/api/v1/layers/roads/items", headers=auth(keys)), 404)
    assert_problem(client.get("/nowhere"), 404)


def test_map_and_report_pages(client: TestClient, keys: dict[str, str]) -> None:
    rid = client.post("/api/v1/reviews", json=FARMLAND, headers=auth(keys)).json()["review_id"]
    page = client.get(f"/api/v1/reviews/{rid}/map", headers=auth(keys))
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert '<script src="/static/leaflet/leaflet.js">' in page.text
    assert "cdn.jsdelivr" not in page.text  # works with no internet
    assert "永久基本农田" in page.text
    report = client.get(f"/api/v1/reviews/{rid}/report", headers=auth(keys))
    assert "建设项目落地可行性审查报告" in report.text and "亩" in report.text and "<svg" in report.text
    pdf = client.get(f"/api/v1/reviews/{rid}/report.pdf", headers=auth(keys))
    assert pdf.headers["content-type"] == "application/pdf" and pdf.content.startswith(b"%PDF")
    text = "".join(page.extract_text() for page in pypdf.PdfReader(io.BytesIO(pdf.content)).pages)
    assert "建设项目落地可行性审查报告" in text and "占用永久基本农田" in text and "40,000.0" in text
    assert client.get("/static/leaflet/leaflet.js").status_code == 200


def test_layer_catalog_and_items(client: TestClient, keys: dict[str, str]) -> None:
    layers = {r["id"]: r for r in client.get("/api/v1/layers", headers=auth(keys)).json()["layers"]}
    assert layers["water_source"]["features"] == 3 and layers["water_source"]["name_zh"] == "饮用水水源保护区"
    page = client.get("/api/v1/layers/land_use/items?limit=20", headers=auth(keys)).json()
    assert page["numberMatched"] == 50 and page["numberReturned"] == 20 and page["next"]["offset"] == 20
    # a bbox around the water-source rectangles only (x 7…10 km, y 0…1 km)
    corner = gpd.GeoSeries([rect(7.1, 0.1, 9.9, 0.9)], crs=EPSG).to_crs(4490).total_bounds
    bbox = ",".join(str(v) for v in corner)
    items = client.get(f"/api/v1/layers/water_source/items?bbox={bbox}", headers=auth(keys)).json()
    assert sorted(f["properties"]["level"] for f in items["features"]) == ["一级", "二级", "准保护区"]
    assert_problem(client.get("/api/v1/layers/water_source/items?bbox=1,2,3", headers=auth(keys)), 422)
    assert_problem(client.get("/api/v1/layers/slope/items", headers=auth(keys)), 422)
    assert_problem(client.get("/api/v1/layers/land_use/items?limit=0", headers=auth(keys)), 422)


def test_layer_pages_are_gzipped_for_a_client_that_takes_it(
    client: TestClient, keys: dict[str, str], blueprint: Blueprint
) -> None:
    """A page of 图斑 (a megabyte for a city's view of 1,000) is gzip-compressed where the client asks for it, and
    holds the layer's features as geopandas reprojects them, to the last digit: the viewer snaps a drawn corner
    onto their vertices (a corner a centimetre off a farmland edge is an occupation of it)."""
    url = "/api/v1/layers/land_use/items?limit=20"
    plain = client.get(url, headers=auth(keys) | {"Accept-Encoding": "identity"})
    packed = client.get(url, headers=auth(keys) | {"Accept-Encoding": "gzip"})  # httpx decodes it
    assert "content-encoding" not in plain.headers and packed.headers["content-encoding"] == "gzip"
    assert plain.headers["vary"] == packed.headers["vary"] == "Accept-Encoding"
    assert packed.content == plain.content
    assert packed.num_bytes_downloaded < len(plain.content) / 2
    land_use = blueprint.vector("land_use")
    assert land_use is not None
    layer = land_use.frame.iloc[:20].to_crs(4490)
    page = plain.json()
    assert page["numberReturned"] == 20 and page["next"] == {"offset": 20, "limit": 20}
    assert [f["properties"]["class_code"] for f in page["features"]] == layer["class_code"].tolist()
    for feature, exact in zip(page["features"], layer.geometry, strict=True):
        assert shapely.geometry.shape(feature["geometry"]).equals_exact(exact, 1e-12)
    # a JSON answer of the API is not compressed, gzip asked or not (BREACH: only public data is)
    catalog = client.get("/api/v1/layers", headers=auth(keys) | {"Accept-Encoding": "gzip"})
    assert catalog.status_code == 200 and "content-encoding" not in catalog.headers


@pytest.mark.parametrize(
    ("accept", "gzipped"),
    [
        ("gzip", True),
        ("gzip, deflate, br", True),
        ("br;q=1.0, GZIP;Q=0.5", True),
        ("*", True),
        ("br, *;q=0.1", True),
        ("gzip;q=0, *", False),  # gzip named and refused: * stands only for the codings not named
        ("*;q=0", False),
        ("identity", False),
        ("deflate, br", False),
        ("gzip;q=nan", False),
        ("gzip;q=x", False),
        ("", False),
    ],
)
def test_the_viewer_page_is_sent_gzipped_as_the_accept_encoding_says(
    client: TestClient, keys: dict[str, str], accept: str, gzipped: bool
) -> None:
    """The viewer page (some 33 MB over a city) is compressed once when it is built, and sent so to a client that
    takes gzip (RFC 9110's Accept-Encoding, q-values and ``*`` read), as it is to any other."""
    client.post("/login", data={"key": keys["planner"]})
    page = client.get("/", headers={"Accept-Encoding": accept})
    assert page.status_code == 200 and page.headers["vary"] == "Accept-Encoding"
    assert page.headers.get("content-encoding") == ("gzip" if gzipped else None)
    assert "window.lantuMap" in page.text  # decoded by the client where it came compressed
    if gzipped:
        assert page.num_bytes_downloaded < len(page.content) / 3


@pytest.mark.parametrize("forks", [True, False], ids=["forked", "no fork"])
def test_the_viewer_page_is_built_in_a_child_forked_for_it(
    settings: Settings, keys: dict[str, str], monkeypatch: pytest.MonkeyPatch, forks: bool
) -> None:
    """folium writes a city's viewer page in Python for some 15 s: built in the server's own process it held the
    GIL from the reviews in stretches (one waited 4.4 s), so it is built in a child forked for it, where the OS
    forks (on this thread elsewhere)."""
    real = pages.build_viewer
    monkeypatch.setattr(pages, "build_viewer", lambda bp, s: real(bp, s) + f"<!--built in {os.getpid()}-->")
    monkeypatch.setattr(pages, "CAN_FORK", forks and CAN_FORK)
    with TestClient(create_app(settings)) as c:
        c.post("/login", data={"key": keys["planner"]})
        page = c.get("/", headers={"Accept-Encoding": "gzip"})
    built_in = re.search(r"<!--built in (\d+)-->", page.text)
    assert page.status_code == 200 and built_in is not None and "window.lantuMap" in page.text
    assert (int(built_in.group(1)) != os.getpid()) is (forks and CAN_FORK)


def test_viewer_needs_a_key_cookie(client: TestClient, keys: dict[str, str]) -> None:
    assert client.get("/").status_code == 401
    bad = client.post("/login", data={"key": "wrong"})
    assert bad.status_code == 401 and "无效" in bad.text
    ok = client.post("/login", data={"key": keys["planner"]}, follow_redirects=False)
    assert ok.status_code == 303
    viewer = client.get("/")
    assert viewer.status_code == 200 and "lantu-panel" in viewer.text and "window.lantuMap" in viewer.text


def _sign_in_refused(response: Any, zh: str, en: str) -> None:
    """The sign-in page again (401, HTML, never a JSON problem), its alert saying why in both languages, no session."""
    assert response.status_code == 401, response.text
    assert response.headers["content-type"].startswith("text/html")
    alert = re.search(r"<p role='alert'[^>]*>(.*?)</p>", response.text)
    assert alert is not None, response.text
    assert zh in alert.group(1) and en in alert.group(1), alert.group(1)
    assert '<form method="post" action="/login">' in response.text
    assert "set-cookie" not in response.headers


@pytest.mark.parametrize(
    "form",
    [{"key": ""}, {"key": "   "}, {"key": "\t\r\n"}, {}],
    ids=["empty", "spaces", "blanks", "no field"],
)
def test_sign_in_without_a_key_shows_the_page_with_a_message(client: TestClient, form: dict[str, str]) -> None:
    """An empty form was FastAPI's JSON 422, shown raw to a browser; a key of spaces was called unknown."""
    _sign_in_refused(client.post("/login", data=form), "未填写 API 密钥，请输入后再登录", "no API key was entered")
    assert client.get("/").status_code == 401  # still signed out


def test_sign_in_with_an_impossible_key_shows_the_page_with_a_message(client: TestClient, keys: dict[str, str]) -> None:
    too_long = client.post("/login", data={"key": keys["planner"] + "x" * 200})
    _sign_in_refused(too_long, "这不是 API 密钥：密钥最多 200 个字符", "a key has at most 200 characters")
    for odd in (keys["planner"][:10] + "\n" + keys["planner"][10:], "lantu_\x00\x01\x7f", "<b>lantu</b>"):
        _sign_in_refused(client.post("/login", data={"key": odd}), "API 密钥无效或已吊销", "unknown or revoked API key")
    assert client.get("/").status_code == 401


def test_sign_in_takes_a_pasted_key_with_blanks_around_it(client: TestClient, keys: dict[str, str]) -> None:
    """A key copied with its line end signs in, as the same key in a header does (blanks around are no part)."""
    ok = client.post("/login", data={"key": f"  {keys['planner']}\n"}, follow_redirects=False)
    assert ok.status_code == 303 and "lantu_session=" in ok.headers["set-cookie"]
    assert client.get("/").status_code == 200


@pytest.mark.parametrize(
    ("url", "body", "field"),
    [
        ("/api/v1/sites/search", {"area_mu": float("nan")}, "body.area_mu"),
        ("/api/v1/sites/search", {"area_mu": 10, "resolution_m": float("inf")}, "body.resolution_m"),
        (
            "/api/v1/quotas/issue",
            {"year": 2026, "rows": [{"county_code": "370811", "factor": "land_new", "amount": float("-inf")}]},
            "body.rows.0.amount",
        ),
    ],
    ids=["site area NaN", "site resolution Infinity", "quota amount -Infinity"],
)
def test_json_bodies_refuse_numbers_that_are_not_finite(
    client: TestClient, keys: dict[str, str], url: str, body: dict[str, Any], field: str
) -> None:
    """Python's json writes NaN and Infinity, which FastAPI reads as floats: refused as such, nothing recorded."""
    sent = client.post(
        url, content=json.dumps(body), headers={**auth(keys, "admin"), "Content-Type": "application/json"}
    )
    problem = assert_problem(sent, 422)
    assert f"{field}: Input should be a finite number" in problem["message_en"]
    assert f"{field}：应为有限数值" in problem["message_zh"]
    assert client.get("/api/v1/quotas/journal", headers=auth(keys)).json() == []


def _number_paths(
    schema: dict[str, Any], spec: dict[str, Any], path: tuple[str, ...] = ()
) -> Iterator[tuple[str, ...]]:
    """The path of each number a JSON schema takes, in nested objects, lists ("0") and maps ("k") too."""
    if "$ref" in schema:
        schema = spec["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]]
    for branch in schema.get("anyOf", []):
        yield from _number_paths(branch, spec, path)
    if schema.get("type") == "number":
        yield path
    for name, sub in schema.get("properties", {}).items():
        yield from _number_paths(sub, spec, (*path, name))
    if isinstance(schema.get("additionalProperties"), dict):
        yield from _number_paths(schema["additionalProperties"], spec, (*path, "k"))
    if schema.get("type") == "array" and "items" in schema:
        yield from _number_paths(schema["items"], spec, (*path, "0"))


def _poisoned(paths: list[tuple[str, ...]]) -> Any:
    """A JSON body with NaN at each path (a digit is a list index)."""
    body: dict[str, Any] = {}
    for path in paths:
        node: Any = body
        for step, after in itertools.pairwise(path):
            empty: Any = [] if after.isdigit() else {}
            if isinstance(node, list):
                node = node[0] if node else (node.append(empty) or node[0])
            else:
                node = node.setdefault(step, empty)
        if isinstance(node, list):
            node.append(float("nan"))
        else:
            node[path[-1]] = float("nan")
    return body


def test_every_number_the_api_takes_refuses_nan(client: TestClient, keys: dict[str, str]) -> None:
    """Every number parameter and JSON body field in the OpenAPI document, sent NaN, is told it must be finite
    (a bound alone said "at most 180" of lon=nan); a new one without ``allow_inf_nan=False`` fails here."""
    spec = client.get("/openapi.json").json()
    asked = 0
    for route, operations in spec["paths"].items():
        for method, op in operations.items():
            query = [
                p["name"]
                for p in op.get("parameters", [])
                if p["in"] == "query" and list(_number_paths(p["schema"], spec))
            ]
            content = op.get("requestBody", {}).get("content", {}).get("application/json", {})
            fields = list(_number_paths(content["schema"], spec)) if "schema" in content else []
            if not query and not fields:
                continue
            url = re.sub(r"\{[^}]+\}", "1", route)
            headers = {**auth(keys, "admin"), "Content-Type": "application/json"}
            sent = client.request(
                method, url, params={q: "nan" for q in query}, content=json.dumps(_poisoned(fields)), headers=headers
            )
            said = {tuple(e["loc"]): e["msg"] for e in sent.json().get("errors", [])}
            wanted = [("query", q) for q in query] + [("body", *f) for f in fields]
            assert sent.status_code == 422 and all(said.get(w) == "Input should be a finite number" for w in wanted), (
                method,
                route,
                sent.text,
            )
            asked += len(wanted)
    assert asked >= 10  # lon, lat, within_m, investment_wan and the sites' and quotas' bodies at least


def test_open_demo_mode_is_loopback_only(tmp_path: Path, blueprint_dir: Path) -> None:
    with pytest.raises(ValueError, match="loopback"):
        Settings(open_demo=True, host="0.0.0.0")
    with pytest.raises(ValueError, match="production"):
        Settings(open_demo=True, environment="production")
    demo = Settings(open_demo=True, blueprint=blueprint_dir, database_url=f"sqlite:///{tmp_path / 'd.db'}")
    app = create_app(demo)
    with TestClient(app, base_url="http://127.0.0.1:8000") as c:
        assert c.post("/api/v1/reviews", json=PASSING).status_code == 201
        assert c.get("/").status_code == 200
        # DNS rebinding: a foreign name pointing at the loopback socket is not served
        assert_problem(c.get("/api/v1/layers", headers={"Host": "evil.example"}), 421)
        # a cross-site form post from a browser creates nothing
        cross = c.post("/api/v1/reviews", json=PASSING, headers={"Origin": "http://evil.example"})
        assert_problem(cross, 403)
    # the same app on a socket bound to a network interface (LANTU_HOST said loopback): keys required
    with TestClient(app, base_url="http://10.1.2.3:8000") as c:
        assert_problem(c.post("/api/v1/reviews", json=PASSING, headers={"Host": "127.0.0.1:8000"}), 401)
        assert_problem(
            c.post(
                "/api/v1/quotas/issue",
                json={"year": 2026, "rows": [{"county_code": "370811", "factor": "land_new", "amount": 1}]},
                headers={"Host": "localhost:8000"},
            ),
            401,
        )


def test_blueprint_outside_root_refused(tmp_path: Path, blueprint_dir: Path) -> None:
    with pytest.raises(ValueError, match="outside the blueprint root"):
        Settings(blueprint=blueprint_dir, blueprint_root=tmp_path / "elsewhere")


def test_no_blueprint_is_503(tmp_path: Path) -> None:
    s = Settings(database_url=f"sqlite:///{tmp_path / 'x.db'}", open_demo=True)
    with TestClient(create_app(s), base_url="http://127.0.0.1") as c:
        assert_problem(c.get("/api/v1/layers"), 503)
        assert c.get("/readyz").status_code == 503


def test_vertex_and_parcel_limits(settings: Settings, keys: dict[str, str]) -> None:
    limited = settings.model_copy(update={"max_vertices": 100, "max_parcels": 2})
    with TestClient(create_app(limited)) as c:
        ring = [[116.6 + 0.001 * i, 35.4 + 0.0001 * (i % 2)] for i in range(150)]
        dense = {"type": "Polygon", "coordinates": [[*ring, [116.6, 35.41], ring[0]]]}
        assert "vertices" in assert_problem(c.post("/api/v1/reviews", json=dense, headers=auth(keys)), 413)["detail"]
        three = {"type": "FeatureCollection", "features": [PASSING, FARMLAND, PASSING]}
        assert "parcels" in assert_problem(c.post("/api/v1/reviews", json=three, headers=auth(keys)), 413)["detail"]
        assert c.post("/api/v1/reviews", json=PASSING, headers=auth(keys)).status_code == 201


def test_a_costly_review_is_413_before_its_overlay(settings: Settings, keys: dict[str, str]) -> None:
    """A spiky outline costs far more than its vertices (SECURITY.md): refused with its estimate."""
    limited = settings.model_copy(update={"max_review_cost": 100_000})
    spiky = feature(star(2000, (5, 2.5), 1.0, 1.3), id="S")
    with TestClient(create_app(limited)) as c:
        detail = assert_problem(c.post("/api/v1/reviews", json=spiky, headers=auth(keys)), 413)["detail"]
        assert "too costly" in detail and "S (" in detail
        assert c.post("/api/v1/reviews", json=PASSING, headers=auth(keys)).status_code == 201
        # rings nested in one another, refused before GEOS checks them (its validity check alone grows with
        # their pairs): 30 square annuli 10 m apart, 141,600 vertex pairs
        nested = [shapely.box(X0 + 5000 - r, Y0 + 2500 - r, X0 + 5000 + r, Y0 + 2500 + r) for r in range(10, 610, 10)]
        rings = shapely.multipolygons([nested[k + 1].difference(nested[k]) for k in range(0, 60, 2)])
        detail = assert_problem(c.post("/api/v1/reviews", json=feature(rings), headers=auth(keys)), 413)["detail"]
        estimate = int(re.search(r"an estimated ([\d,]+) vertex pairs", detail)[1].replace(",", ""))  # type: ignore[index]
        nesting = review_engine._ring_nesting(np.array([rings], dtype=object))
        assert nesting.tolist() == [141_600] and estimate > 141_600  # the rings' pairs, and their vertices…
    with TestClient(create_app(settings)) as c:  # the default cap: 50 million vertex pairs
        assert c.post("/api/v1/reviews", json=spiky, headers=auth(keys)).status_code == 201
        # 400 plots of one parcel: each is estimated on its own, not against every feature the others meet
        plots = shapely.multipolygons(
            [rect(0.1 + i * 0.24, 0.1 + j * 0.24, 0.2 + i * 0.24, 0.2 + j * 0.24) for i in range(40) for j in range(10)]
        )
        assert c.post("/api/v1/reviews", json=feature(plots), headers=auth(keys)).status_code == 201


def _stuck(self: Any, found: Any) -> None:
    time.sleep(60)  # what a staircase outline did to GEOS for 15 s: a call that nothing interrupts


@pytest.mark.skipif(not CAN_FORK, reason="a stoppable review needs fork (Linux)")
@pytest.mark.parametrize(
    "isolation",
    [{"isolate_above_cost": 0}, {"isolate_above_cost": 10**12, "isolate_above_vertices": 4}],
    ids=["estimated-costly", "many-vertices"],
)
def test_a_costly_review_is_stopped_at_the_timeout(
    settings: Settings,
    keys: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
    isolation: dict[str, int],
    forks: list[int],
) -> None:
    """A review estimated above LANTU_ISOLATE_ABOVE_COST, or of a parcel of more vertices than
    LANTU_ISOLATE_ABOVE_VERTICES (here every one, by either), runs in a child forked for it: the same
    result as on the worker's thread, and where it hangs, the child is killed at the work timeout, so
    that the worker and its ticket are free when the client has its 503, not when the call ends."""
    with TestClient(create_app(settings)) as c:
        on_thread = c.post("/api/v1/reviews", json=FARMLAND, headers=auth(keys))
    isolated = settings.model_copy(update={**isolation, "work_timeout": 2.0})
    with TestClient(create_app(isolated)) as c:
        forked_ = c.post("/api/v1/reviews", json=FARMLAND, headers=auth(keys))
        assert forks == [1]  # reviewed in a child
        assert on_thread.status_code == forked_.status_code == 201
        fresh = ("review_id", "created")
        assert {k: v for k, v in forked_.json().items() if k not in fresh} == {
            k: v for k, v in on_thread.json().items() if k not in fresh
        }
        assert c.get(forked_.headers["location"], headers=auth(keys)).json() == forked_.json()  # saved here
        monkeypatch.setattr(review_engine._Batch, "grade", _stuck)
        detail = assert_problem(c.post("/api/v1/reviews", json=PASSING, headers=auth(keys)), 503)["detail"]
        assert "longer than 2 s" in detail
        assert_worker_freed(c)
        monkeypatch.undo()
        assert c.post("/api/v1/reviews", json=PASSING, headers=auth(keys)).status_code == 201


def test_a_review_done_after_its_503_is_not_saved(
    settings: Settings, keys: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A job on the worker's thread cannot be stopped: where it ends after the client had its 503 (no id), its
    review is not saved. A probe's 0.6 MB body of made-up property names ran on past its 503 and stored 250 MB."""
    from sqlalchemy import func, select

    from geo.store import reviews as stored

    def slow(frame: Any) -> str:
        time.sleep(3)
        return text(frame)

    text = reviews.features_geojson_text
    engine = make_engine(settings.database_url)
    with TestClient(create_app(settings.model_copy(update={"work_timeout": 2.0}))) as c:
        assert c.post("/api/v1/reviews", json=PASSING, headers=auth(keys)).status_code == 201
        with engine.connect() as conn:
            before = conn.execute(select(func.count()).select_from(stored)).scalar()
        monkeypatch.setattr(reviews, "features_geojson_text", slow)
        assert (
            "longer than 2 s"
            in assert_problem(c.post("/api/v1/reviews", json=PASSING, headers=auth(keys)), 503)["detail"]
        )
        assert_worker_freed(c)  # the job has ended: it ran on the thread
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(stored)).scalar() == before == 1


@pytest.mark.skipif(not CAN_FORK, reason="parsing in a child needs fork (Linux)")
def test_a_large_json_body_is_parsed_in_a_child(
    settings: Settings, keys: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A JSON body over ``PARSED_HERE_BYTES`` (here every one) is parsed in a forked child, off the server's
    GIL: the same parcels, warnings and errors (both languages) as on the worker's thread, and a parse
    that hangs stopped at the work timeout with the worker free."""
    monkeypatch.setattr(reviews, "PARSED_HERE_BYTES", 0)
    gk = json.loads(parcel_frame(rect(2.9, 0.1, 3.1, 0.3), id="B").to_json(drop_id=True))
    declared = {**gk, "crs": {"type": "name", "properties": {"name": f"EPSG:{EPSG}"}}}
    del gk["crs"]
    with TestClient(create_app(settings.model_copy(update={"work_timeout": 2.0}))) as c:
        r = c.post("/api/v1/reviews?crs=EPSG:4549", json=declared, headers=auth(keys))
        assert r.status_code == 201 and r.json()["parcels"][0]["crs_used"] == f"EPSG:{EPSG}"
        assert [w for w in r.json()["warnings"] if "EPSG:4549" in w and "未采用" in w]  # the frame's own, kept
        problem = assert_problem(c.post("/api/v1/reviews", json=gk, headers=auth(keys)), 422)  # metres as degrees
        assert problem["message_zh"] != problem["detail"]
        monkeypatch.setattr(reviews, "parse_geojson_bytes", lambda *_, **__: time.sleep(60))
        assert (
            "longer than 2 s" in assert_problem(c.post("/api/v1/reviews", json=gk, headers=auth(keys)), 503)["detail"]
        )
        assert_worker_freed(c)


@pytest.mark.skipif(not CAN_FORK, reason="reading in a child needs fork (Linux)")
def test_an_upload_is_read_in_a_child(
    settings: Settings, keys: dict[str, str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path, forks: list[int]
) -> None:
    """An uploaded file is read in a forked child: a reader that hangs on it is stopped at the work timeout
    with the worker free, one that crashes on it ends the child with a 422 saying so and the server goes
    on, and the saved upload is removed either way."""
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))  # where the uploads are saved, to look
    data = (Path(__file__).parent / "data" / "gbk_crlf_no_prefix.txt").read_bytes()
    with TestClient(create_app(settings.model_copy(update={"work_timeout": 2.0}))) as c:
        assert _upload(c, keys, "报批坐标.txt", data).status_code == 201
        assert forks == [1]
        monkeypatch.setattr(reviews, "read_parcels", lambda *_, **__: time.sleep(60))
        assert "longer than 2 s" in assert_problem(_upload(c, keys, "报批坐标.txt", data), 503)["detail"]
        assert_worker_freed(c)
        # the child dies as GDAL crashing would (SIGKILL: a SIGSEGV has faulthandler print a dump in the log)
        monkeypatch.setattr(reviews, "read_parcels", lambda *_, **__: os.kill(os.getpid(), signal.SIGKILL))
        problem = assert_problem(_upload(c, keys, "报批坐标.txt", data), 422)
        assert (
            problem["detail"].startswith("报批坐标.txt could not be read")
            and "读取进程意外退出" in problem["message_zh"]
        )
        assert problem["message_zh"].startswith("报批坐标.txt 无法读取")
        monkeypatch.undo()
        assert c.post("/api/v1/reviews", json=PASSING, headers=auth(keys)).status_code == 201
    assert not list(tmp_path.glob("lantu-upload-*"))


@pytest.mark.skipif(not CAN_FORK, reason="parsing in a child needs fork (Linux)")
def test_a_slow_upload_leaves_its_parse_the_whole_timeout(
    settings: Settings, keys: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A body parsed in a child has the work timeout from when it has been read, not from when the request
    came in (a body sent over 3 s, with a 2 s work timeout, had its parse refused before it began)."""
    monkeypatch.setattr(reviews, "PARSED_HERE_BYTES", 0)
    body = json.dumps(PASSING).encode()
    with served(settings.model_copy(update={"work_timeout": 2.0})) as url:
        conn = http.client.HTTPConnection(url.removeprefix("http://"), timeout=30)
        conn.putrequest("POST", "/api/v1/reviews")
        for name, value in {**auth(keys), "Content-Type": "application/json", "Content-Length": str(len(body))}.items():
            conn.putheader(name, value)
        conn.endheaders()
        for k in range(0, len(body), -(-len(body) // 4)):  # in four parts, 0.8 s apart
            conn.send(body[k : k + -(-len(body) // 4)])
            time.sleep(0.8)
        response = conn.getresponse()
        assert response.status == 201, response.read()[:300]
        conn.close()


def test_hostile_uploads_then_the_next_request(client: TestClient, keys: dict[str, str]) -> None:
    bomb = io.BytesIO()
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("bomb.shp", b"\0" * (40 * 1024 * 1024))
    assert len(bomb.getvalue()) < 200_000
    assert "zip bomb" in assert_problem(_upload(client, keys, "b.zip", bomb.getvalue()), 413)["detail"]
    evil = io.BytesIO()
    with zipfile.ZipFile(evil, "w") as z:
        z.writestr("../../etc/cron.d/evil.shp", b"x")
    assert "outside" in assert_problem(_upload(client, keys, "../../x.zip", evil.getvalue()), 422)["detail"]
    assert client.post("/api/v1/reviews", json=PASSING, headers=auth(keys)).status_code == 201


def test_coordinate_file_upload(client: TestClient, keys: dict[str, str]) -> None:
    data = (Path(__file__).parent / "data" / "gbk_crlf_no_prefix.txt").read_bytes()
    r = _upload(client, keys, "报批坐标.txt", data)
    assert r.status_code == 201, r.text
    parcel = r.json()["parcels"][0]
    assert parcel["id"] == "PA" and parcel["area_m2"] == pytest.approx(30_000, rel=1e-4)
    farmland = next(i for i in parcel["items"] if i["code"] == "basic_farmland")
    assert farmland["overlap_m2"] == pytest.approx(30_000, rel=1e-4)


def test_a_repeated_plan_is_booked_over_the_api_only_when_said_again(client: TestClient, keys: dict[str, str]) -> None:
    admin = auth(keys, "quota-admin")
    plan = {"year": 2026, "rows": [{"county_code": "370811", "factor": "land_new", "amount": 100_000}]}
    assert client.post("/api/v1/quotas/issue", json=plan, headers=admin).status_code == 201
    assert "--again" in assert_problem(client.post("/api/v1/quotas/issue", json=plan, headers=admin), 409)["message_en"]
    assert client.post("/api/v1/quotas/issue", json={**plan, "again": True}, headers=admin).status_code == 201
    balances = client.get("/api/v1/quotas/balances?year=2026", headers=auth(keys)).json()
    assert next(b["balance"] for b in balances if b["holder"] == "370811" and b["factor"] == "land_new") == 140_000


@pytest.mark.parametrize(
    ("url", "body"),
    [
        ("/api/v1/sites/search", {"area_mu": "1_5"}),
        ("/api/v1/sites/search", {"area_mu": 10, "resolution_m": "1_0"}),
        ("/api/v1/layers/nearest-boundary?lon=1_16.6&lat=35.4", None),
        ("/api/v1/layers/nearest-boundary?lon=116.6&lat=35.4&within_m=1_0", None),
        ("/api/v1/layers/water_source/items?bbox=116.5_1,35,117,36", None),
    ],
    ids=["site area", "site resolution", "snap lon", "snap radius", "layer bbox"],
)
def test_an_underscore_is_no_digit_separator_in_any_number(
    client: TestClient, keys: dict[str, str], url: str, body: dict[str, Any] | None
) -> None:
    """Python reads "1_5" as 15: a site search of "1_5" 亩 searched 15 亩 (probe); refused, as investment_wan is."""
    sent = client.post(url, json=body, headers=auth(keys)) if body is not None else client.get(url, headers=auth(keys))
    problem = assert_problem(sent, 422)
    if "bbox" in url:  # not four numbers
        assert "116.5_1" in problem["message_en"] and "bbox 须为四个数" in problem["message_zh"]
    else:
        assert "underscore" in problem["message_en"] and "下划线" in problem["message_zh"]


def test_a_parcel_id_a_review_takes_can_be_reserved(client: TestClient, keys: dict[str, str]) -> None:
    """A review takes ids of up to 100 characters; a reservation refused those over 64 (probe)."""
    admin = auth(keys, "quota-admin")
    issue_land_quota(client, keys, new=100_000, compensation=50_000)
    project = {"id": "XM-9", "name": "长编号项目", "project_type": "industrial", "level": "县重点", "county": "370811"}
    assert client.post("/api/v1/projects", json={**project, "stage": "储备"}, headers=auth(keys, "admin")).is_success
    long_id = "370811" + "0" * 94
    rid = client.post("/api/v1/reviews", json=feature(rect(2.2, 0.2, 2.4, 0.4), id=long_id), headers=auth(keys))
    assert rid.status_code == 201, rid.text
    body = {"review_id": rid.json()["review_id"], "year": 2026, "project_id": "XM-9", "parcel_id": long_id}
    reserved = client.post("/api/v1/quotas/reserve", json=body, headers=admin)
    assert reserved.status_code == 201, reserved.text


def test_a_confirmation_over_the_api_records_its_approval_document(client: TestClient, keys: dict[str, str]) -> None:
    admin = auth(keys, "quota-admin")
    issue_land_quota(client, keys, new=100_000, compensation=50_000)
    project = {"id": "XM-1", "name": "水田项目", "project_type": "industrial", "level": "县重点", "county": "370811"}
    assert client.post("/api/v1/projects", json={**project, "stage": "储备"}, headers=auth(keys, "admin")).is_success
    rid = client.post("/api/v1/reviews", json=feature(rect(2.2, 0.2, 2.4, 0.4), id="C"), headers=auth(keys))
    body = {"review_id": rid.json()["review_id"], "year": 2026, "project_id": "XM-1"}
    assert client.post("/api/v1/quotas/reserve", json=body, headers=admin).status_code == 201
    confirm = "/api/v1/quotas/projects/XM-1/confirm"
    assert_problem(client.post(confirm, json={"document": "鲁政土字\n12号"}, headers=admin), 422)
    assert_problem(client.post(confirm, json={"document": "号" * 101}, headers=admin), 422)
    assert client.post(confirm, json={"document": "鲁政土字〔2026〕12号"}, headers=admin).status_code == 201
    journal = client.get("/api/v1/quotas/journal", headers=auth(keys)).json()
    assert {j["reason"] for j in journal if j["kind"] == "confirm"} == {
        "项目用地批准（批准文号：鲁政土字〔2026〕12号）"
    }
    # the pollutants are approved by their own confirmation, of which this project holds none reserved
    refused = assert_problem(client.post(confirm, json={"factors": "pollutants"}, headers=admin), 409)
    assert "has no pollutants quota reserved" in refused["message_en"]
    assert_problem(client.post(confirm, json={"factors": "water"}, headers=admin), 422)


def test_a_bow_tie_is_refused_for_its_shape_not_its_place(client: TestClient, keys: dict[str, str]) -> None:
    """A bow-tie's two halves cancel out: it has no centroid, and the cost estimate (before any repair) placed it
    at longitude 4534 — "outside China's zones". Its boxes' centres place it; its shape is what is wrong."""
    x, y = rect(2, 2, 2, 2).bounds[:2]
    bow = shapely.Polygon([(x, y), (x + 100, y + 100), (x + 100, y), (x, y + 100)])
    problem = assert_problem(client.post("/api/v1/reviews", json=feature(bow, id="B"), headers=auth(keys)), 422)
    assert problem["title"] == "GeometryError" and "Self-intersection" in problem["message_en"], problem


def test_quota_flow_over_the_api(client: TestClient, keys: dict[str, str]) -> None:
    plan = {
        "year": 2026,
        "rows": [
            {"county_code": "370811", "factor": "land_new", "amount": 100_000},
            {"county_code": "370811", "factor": "land_compensation", "amount": 50_000},
            {"county_code": "370811", "factor": "land_compensation_paddy", "amount": 50_000},
            {"county_code": "370811", "factor": "land_compensation_grain", "amount": 50_000},
        ],
    }
    assert_problem(client.post("/api/v1/quotas/issue", json=plan, headers=auth(keys, "project-system")), 403)
    flagged = {"year": 2026, "rows": [{"county_code": "370811", "factor": "land_new", "amount": True}]}
    said = assert_problem(client.post("/api/v1/quotas/issue", json=flagged, headers=auth(keys, "quota-admin")), 422)
    assert "不能是 true 或 false" in said["message_zh"]
    # "1_5" is no 15 m² (Python's float reads the underscore as a digit separator: the ledger probe)
    grouped = {"year": 2026, "rows": [{"county_code": "370811", "factor": "land_new", "amount": "1_5"}]}
    said = assert_problem(client.post("/api/v1/quotas/issue", json=grouped, headers=auth(keys, "quota-admin")), 422)
    assert "下划线不能作为数字分隔符" in said["message_zh"] and "underscore" in said["message_en"]
    garbled = {**plan, "reason": "下达\x00\x1b"}  # a journal is read in Excel and on paper
    assert_problem(client.post("/api/v1/quotas/issue", json=garbled, headers=auth(keys, "quota-admin")), 422)
    assert client.post("/api/v1/quotas/issue", json=plan, headers=auth(keys, "quota-admin")).status_code == 201
    # a parcel on paddy and irrigated land in 任城区 (conditional), and one rejected (basic farmland)
    conditional = feature(rect(2.2, 0.2, 2.4, 0.4), id="C")
    rid = client.post("/api/v1/reviews", json=conditional, headers=auth(keys)).json()["review_id"]
    body = {"review_id": rid, "year": 2026, "project_id": "XM-1"}
    assert_problem(client.post("/api/v1/quotas/reserve", json=body, headers=auth(keys, "planner")), 403)
    assert (
        "先入库后保障"
        in assert_problem(client.post("/api/v1/quotas/reserve", json=body, headers=auth(keys, "project-system")), 409)[
            "message_zh"
        ]
    )
    project = {"id": "XM-1", "name": "水田项目", "project_type": "industrial", "level": "县重点", "county": "370811"}
    assert (
        client.post("/api/v1/projects", json={**project, "stage": "储备"}, headers=auth(keys, "admin")).status_code
        == 201
    )
    first = client.post("/api/v1/quotas/reserve", json=body, headers=auth(keys, "project-system"))
    assert first.status_code == 201 and first.json()["existed"] is False
    again = client.post("/api/v1/quotas/reserve", json=body, headers=auth(keys, "project-system"))
    assert again.status_code == 200  # idempotent, and said so: 已存在
    assert again.json() == {"transaction": first.json()["transaction"], "existed": True}
    balances = client.get("/api/v1/quotas/balances?year=2026", headers=auth(keys)).json()
    county = next(b for b in balances if b["holder"] == "370811" and b["factor"] == "land_new")
    assert county["balance"] == pytest.approx(70_000 - 40_000)
    rejected = client.post("/api/v1/reviews", json=FARMLAND, headers=auth(keys)).json()["review_id"]
    refused = client.post(
        "/api/v1/quotas/reserve",
        json={**body, "review_id": rejected, "project_id": "XM-2"},
        headers=auth(keys, "project-system"),
    )
    assert "不通过" in assert_problem(refused, 409)["message_zh"]
    assert_problem(
        client.post("/api/v1/quotas/reserve", json={**body, "review_id": "nope"}, headers=auth(keys, "admin")), 404
    )
    revoked = client.post("/api/v1/quotas/projects/XM-1/revoke", headers=auth(keys, "quota-admin"))
    assert revoked.status_code == 201  # with what it gave back, as `lantu quota revoke` says it
    assert revoked.json()["note_zh"].startswith(
        "撤回项目 XM-1 的指标：新增建设用地计划指标（2026年，已配置）40,000.00 m²"
    )
    assert revoked.json()["note_en"].startswith("revoked from project XM-1: land_new (2026, reserved) 40,000.00 m²")
    balances = client.get("/api/v1/quotas/balances?year=2026", headers=auth(keys)).json()
    county = next(b for b in balances if b["holder"] == "370811" and b["factor"] == "land_new")
    assert county["balance"] == pytest.approx(70_000)
    journal = client.get("/api/v1/quotas/journal", headers=auth(keys)).json()
    assert {j["kind"] for j in journal} == {"issue", "reserve", "revoke"}
    page = client.get("/api/v1/quotas/journal?limit=2&offset=1", headers=auth(keys)).json()
    assert page == journal[1:3]
    page = client.get("/api/v1/quotas/map?year=2026", headers=auth(keys))
    assert page.status_code == 200 and "任城区" in page.text and "70,000" in page.text
    assert client.get("/api/v1/quotas/projects", headers=auth(keys)).json()[0]["stage"] == "revoked"


def test_keys_provisioned_from_a_file(settings: Settings, tmp_path: Path) -> None:
    import hashlib

    key = "lantu_provisioned-by-config-management"
    keys_file = tmp_path / "keys.csv"
    keys_file.write_text(f"# name,role,sha256\ncity-system,project-system,{hashlib.sha256(key.encode()).hexdigest()}\n")
    with TestClient(create_app(settings.model_copy(update={"api_keys_file": keys_file}))) as c:
        assert c.post("/api/v1/reviews", json=PASSING, headers={"X-API-Key": key}).status_code == 201
        assert_problem(
            c.post(
                "/api/v1/quotas/issue",
                json={"year": 2026, "rows": [{"county_code": "370811", "factor": "land_new", "amount": 1}]},
                headers={"X-API-Key": key},
            ),
            403,
        )
    keys_file.write_text("broken line\n")
    with (
        pytest.raises(ValueError, match="sha256"),
        TestClient(create_app(settings.model_copy(update={"api_keys_file": keys_file}))),
    ):
        pass


@pytest.mark.skipif(not CAN_FORK, reason="laying out a PDF in a child needs fork (Linux)")
@pytest.mark.skipif(not CAN_FORK, reason="rendering in a child needs fork (Linux)")
@pytest.mark.parametrize(
    ("path", "renderer"),
    [("map", "review_map"), ("report", "review_report"), ("opinion", "opinion"), ("opinion?format=docx", "opinion")],
)
def test_papers_of_a_large_review_are_rendered_in_a_child(
    settings: Settings,
    keys: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
    path: str,
    renderer: str,
    forks: list[int],
) -> None:
    """A paper grows with its review's parcels (a 2,000-parcel review's map took 26 s, its Word opinion over
    60 s, on a thread no one could stop): above PAPERS_HERE_PARCELS (here 1) it is rendered in a forked
    child, the same paper, and one that hangs is stopped at the work timeout with the worker free."""
    body = {"type": "FeatureCollection", "features": [PASSING, FARMLAND]}
    with TestClient(create_app(settings.model_copy(update={"work_timeout": 2.0}))) as c:
        rid = c.post("/api/v1/reviews", json=body, headers=auth(keys)).json()["review_id"]
        url = f"/api/v1/reviews/{rid}/{path}"
        on_thread = c.get(url, headers=auth(keys))
        c.app.state.render_cache = RenderCache()  # rendered anew
        monkeypatch.setattr(reviews, "PAPERS_HERE_PARCELS", 1)
        forked_ = c.get(url, headers=auth(keys))
        assert forks == [1] and on_thread.status_code == forked_.status_code == 200

        def same(body: bytes) -> object:  # a map's elements have ids of their own, a Word file a time of writing
            if body.startswith(b"PK"):
                with zipfile.ZipFile(io.BytesIO(body)) as docx:
                    return {name: docx.read(name) for name in docx.namelist() if name != "docProps/core.xml"}
            return re.sub(rb"[0-9a-f]{32}", b"", body)

        assert same(forked_.content) == same(on_thread.content)
        c.app.state.render_cache = RenderCache()  # rendered anew
        monkeypatch.setattr(reviews, renderer, lambda *_, **__: time.sleep(60))
        assert "longer than 2 s" in assert_problem(c.get(url, headers=auth(keys)), 503)["detail"]
        assert_worker_freed(c)


def test_a_pdf_that_lays_out_too_long_is_stopped_with_the_worker_free(
    settings: Settings, keys: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """ReportLab's layout grows faster than its text (a 400,000-character warning took 31 s on a thread no
    one could stop): the PDF is laid out in a forked child, killed at the work timeout."""
    with TestClient(create_app(settings.model_copy(update={"work_timeout": 2.0}))) as c:
        rid = c.post("/api/v1/reviews", json=PASSING, headers=auth(keys)).json()["review_id"]
        monkeypatch.setattr(reviews, "review_report_pdf", lambda *_, **__: time.sleep(60))
        assert (
            "longer than 2 s"
            in assert_problem(c.get(f"/api/v1/reviews/{rid}/report.pdf", headers=auth(keys)), 503)["detail"]
        )
        assert_worker_freed(c)
        monkeypatch.undo()
        # the failure is remembered for a while: a retry is answered at once, not with another whole timeout
        again = assert_problem(c.get(f"/api/v1/reviews/{rid}/report.pdf", headers=auth(keys)), 503)
        assert "a moment ago" in again["detail"]
        c.app.state.render_cache = RenderCache()  # forgotten
        pdf = c.get(f"/api/v1/reviews/{rid}/report.pdf", headers=auth(keys))
        assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")


def test_an_upload_whose_content_is_another_format_than_its_name_says_is_a_422_saying_both(
    client: TestClient, keys: dict[str, str], tmp_path: Path
) -> None:
    """A GeoParquet uploaded as parcels.gpkg was "not a readable gpkg file"; the problem now says what it holds."""
    parcel_frame(rect(2.9, 0.1, 3.1, 0.3), id="B").to_parquet(tmp_path / "p.parquet")
    problem = assert_problem(_upload(client, keys, "parcels.gpkg", (tmp_path / "p.parquet").read_bytes()), 422)
    assert problem["message_en"].startswith("parcels.gpkg: the file holds GeoParquet, but its name (.gpkg) says")
    assert problem["message_zh"].startswith("parcels.gpkg：文件内容为 GeoParquet，但扩展名 .gpkg 表明是 GeoPackage")


@pytest.mark.parametrize("length", [256, 1_000, 5_000, 20_000])
def test_an_upload_whose_name_is_longer_than_a_file_system_holds_is_a_422_saying_so(
    client: TestClient, keys: dict[str, str], length: int
) -> None:
    """A name of 5,000 characters was answered 400 "Invalid multipart data" (the multipart parser takes a part's
    header up to 4,224 bytes), as if the client's boundaries were wrong; one of 1,000 was read. No file system
    holds a name of more than 255 characters: refused saying so, the length where it could be read."""
    name = "地" * (length - len(".geojson")) + ".geojson"
    problem = assert_problem(_upload(client, keys, name, json.dumps(FARMLAND).encode()), 422)
    known = len(f'filename="{name}"'.encode()) < 4_224  # within the parser's header: the route counts the name
    told_en, told_zh = (
        (f"is {length:,} characters long", f"长达 {length:,} 个字符") if known else ("is too long", "过长")
    )
    assert problem["message_en"] == (
        f"the uploaded file's name {told_en}; a file name has at most 255 characters: rename the file and upload it "
        "again"
    )
    assert problem["message_zh"] == f"上传文件的文件名{told_zh}，文件名最多 255 个字符：请将文件改名后重新上传"


def test_an_upload_name_of_255_characters_is_read(client: TestClient, keys: dict[str, str]) -> None:
    """The longest name a file system holds, in the widest UTF-8 (4 bytes a character), passes the parser."""
    name = "\U0001f5fa" * (255 - len(".geojson")) + ".geojson"
    assert _upload(client, keys, name, json.dumps(FARMLAND).encode()).status_code == 201
    assert _upload(client, keys, "地" * 247 + ".geojson", json.dumps(FARMLAND).encode()).status_code == 201


def test_a_json_key_sent_twice_is_refused_naming_it(client: TestClient, keys: dict[str, str]) -> None:
    """Python's json kept the last: 150 with "unit": "亩" then "unit": "m2" was booked as 150 m², and a parcel's
    project_type given twice was reviewed as the second (a probe). Which value counts must be the sender's to say."""
    row = '{"county_code": "370811", "factor": "land_new", "amount": 150, "unit": "亩", "unit": "m2"}'
    body = f'{{"year": 2026, "rows": [{row}]}}'.encode()
    headers = {**auth(keys, "quota-admin"), "content-type": "application/json"}
    problem = assert_problem(client.post("/api/v1/quotas/issue", content=body, headers=headers), 400)
    assert "gives the key 'unit' twice" in problem["message_en"] and "键 'unit' 出现了两次" in problem["message_zh"]
    assert client.get("/api/v1/quotas/journal", headers=auth(keys, "quota-admin")).json() == []  # nothing booked
    once = body.replace(b', "unit": "m2"', b"")
    assert client.post("/api/v1/quotas/issue", content=once, headers=headers).status_code == 201
    feature = json.dumps(PASSING, ensure_ascii=False)
    twice = feature.replace('"properties": {', '"properties": {"project_type": "energy", ', 1).encode()
    assert twice.count(b'"project_type"') == 2
    reviewed = client.post("/api/v1/reviews", content=twice, headers={**auth(keys), "content-type": "application/json"})
    assert "gives the key 'project_type' twice" in assert_problem(reviewed, 422)["message_en"]


@pytest.mark.parametrize("path", ["/api/v1/reviews", "/api/v1/quotas/issue"])
def test_a_client_gone_mid_body_is_one_log_line_not_an_error(
    client: TestClient, keys: dict[str, str], caplog: pytest.LogCaptureFixture, path: str
) -> None:
    """A client that sent part of its body and closed the connection was logged as an unexpected error with a
    traceback of some 130 lines, each time (a probe: a log flooded by hanging up)."""
    messages = [{"type": "http.request", "body": b'{"type": "Feat', "more_body": True}]
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return messages.pop(0) if messages else {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    headers = [(b"content-type", b"application/json"), (b"content-length", b"5000")]
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [*headers, (b"x-api-key", keys["admin"].encode())],
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 8000),
    }
    with caplog.at_level(logging.INFO):
        assert client.portal is not None
        client.portal.call(client.app, scope, receive, send)
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR], [r.getMessage() for r in caplog.records]
    said = [r for r in caplog.records if "closed the connection" in r.getMessage()]
    assert len(said) == (path == "/api/v1/reviews")  # FastAPI reads a model's body itself: a 400 it does not log


@pytest.mark.parametrize(
    ("accept", "kind"),
    [
        ("", "markdown"),
        ("*/*", "markdown"),
        ("application/json", "json"),
        ("application/json, text/markdown", "markdown"),
        (f"{reviews.DOCX}, text/markdown", "docx"),
        (f"{reviews.DOCX};q=0, text/markdown", "markdown"),  # Word refused: it came back Word (a probe)
        ("text/markdown;q=0.1, application/json", "json"),  # it came back Markdown
        ("application/json;q=0.5, */*", "markdown"),
        (f"{reviews.DOCX};q=0", "markdown"),
        ("application/*", "json"),  # a range alone: text before a Word file
        ("*/*, text/markdown;q=0", "json"),
    ],
)
def test_the_opinion_reads_the_weights_an_accept_header_gives(accept: str, kind: str) -> None:
    assert reviews._opinion_format(accept) == kind
