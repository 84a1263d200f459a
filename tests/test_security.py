"""Hardening of the service (issue 15) and the thin-API shape (issue 8), one test per finding.

Each test drives the real app (TestClient, or a real uvicorn socket where the
behaviour lives in the server) and asserts what a client or an attacker sees.
"""

from __future__ import annotations

import errno
import io
import json
import os
import socket
import sqlite3
import threading
import time
import zipfile
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Annotated, Any, Literal

import anyio
import geopandas as gpd
import pytest
import shapely
import uvicorn
from fastapi import FastAPI, Form, Request
from fastapi.testclient import TestClient
from pydantic import BaseModel, field_validator
from sqlalchemy import select
from sqlalchemy.exc import OperationalError
from support import assert_problem, auth, http_scope, issue_land_quota

from api import errors as api_errors
from api.access import review_owners
from api.app import create_app
from api.errors import BusyError, StorageError, WorkTimeoutError, status_for, storage_error
from api.keys import create_key, revoke_key
from api.limits import BodySizeLimit
from api.server import uvicorn_config
from api.settings import Settings
from api.work import WorkPool
from geo import crs as geo_crs
from geo.db import make_engine
from geo.errors import InputError, ProfileError, TooLargeError
from geo.io.parcels import ReadLimits, parse_geojson_bytes, read_parcels
from geo.vocabulary import check_single_line

EPSG, X0, Y0 = 4548, 464_000.0, 3_918_000.0  # the test blueprint's frame (tests/conftest.py)

BASE = "http://127.0.0.1:8000"


def feature(x1: float, y1: float, x2: float, y2: float, **props: Any) -> dict[str, Any]:
    box = shapely.box(X0 + x1 * 1000, Y0 + y1 * 1000, X0 + x2 * 1000, Y0 + y2 * 1000)
    frame = gpd.GeoDataFrame([props], geometry=[box], crs=EPSG).to_crs(4490)
    return json.loads(frame.to_json(drop_id=True))["features"][0]


PASSING = feature(1.2, 1.2, 1.6, 1.6, id="A", project_type="residential")


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """The shared settings with a smaller limit on what an upload may extract to."""
    return settings.model_copy(update={"max_extracted_bytes": 1_000_000})


@pytest.fixture
def keys(keys: dict[str, str], settings: Settings) -> dict[str, str]:
    """The shared keys and a second planner's (who must not read the first one's reviews)."""
    return {**keys, "planner2": create_key(make_engine(settings.database_url), "test-planner2", "planner")}


@pytest.fixture
def client(settings: Settings, keys: dict[str, str]) -> Iterator[TestClient]:
    with TestClient(create_app(settings), base_url=BASE) as c:
        yield c


# ---------------------------------------------------------------- issue 8: the thin API


def test_status_table_is_resolved_by_class_hierarchy() -> None:
    class SurveyError(InputError):
        """A new input error nobody added to the table."""

    class HugeSurvey(TooLargeError):
        pass

    assert status_for(SurveyError("x")) == 422
    assert status_for(HugeSurvey("x")) == 413
    assert status_for(BusyError("x")) == 429
    assert status_for(ValueError("x")) == 500
    # reordering the table cannot shadow a subclass: the MRO, not the order, decides
    reordered = dict(reversed(list(api_errors.STATUS.items())))
    assert {cls: reordered[cls] for cls in api_errors.STATUS} == api_errors.STATUS

    app = FastAPI()
    api_errors.install(app)

    @app.get("/survey")
    def survey() -> None:
        raise SurveyError("bad survey", "测绘数据有误")

    @app.get("/huge")
    def huge() -> None:
        raise HugeSurvey("too big", "过大")

    with TestClient(app) as c:
        assert assert_problem(c.get("/survey"), 422)["message_zh"] == "测绘数据有误"
        assert_problem(c.get("/huge"), 413)


def test_an_unknown_profile_is_bad_input_as_any_parameter() -> None:
    """``POST /reviews?profile=nope`` was 400 where ``?profile=a.b`` (the pattern) was 422."""
    assert status_for(ProfileError("unknown profile 'nope'")) == 422


class Named(BaseModel):
    name: str
    opinion: Literal["同意", "不同意"] = "同意"
    when: date | None = None

    @field_validator("name")
    @classmethod
    def _one_line(cls, value: str) -> str:
        check_single_line(value, "name", "名称")
        return value


def test_a_json_body_in_another_type_is_415_and_errors_are_chinese_by_type() -> None:
    """The handler, on any operation: a JSON body sent as text or a form is 415 (FastAPI passes it on as bytes,
    "Input should be a valid dictionary"); a form's operation is left to its form; each pydantic error type
    is said in Chinese, a domain error raised in a validator in its own Chinese words."""
    app = FastAPI()
    api_errors.install(app)

    @app.post("/json")
    def take_json(body: Named) -> str:
        return body.name

    @app.post("/form")
    def take_form(name: Annotated[str, Form()]) -> str:
        return name

    with TestClient(app) as c:
        for sent in ({"content": b'{"name": "x"}', "headers": {"content-type": "text/plain"}}, {"data": {"n": "x"}}):
            assert "不支持的内容类型" in assert_problem(c.post("/json", **sent), 415)["message_zh"]  # type: ignore[arg-type]
        assert c.post("/json", json={"name": "x"}).json() == "x"
        assert c.post("/form", data={"name": "x"}).json() == "x"
        assert "缺少该项" in assert_problem(c.post("/form", data={"n": "x"}), 422)["message_zh"]
        said = {
            "缺少请求体（JSON）": c.post("/json"),
            "body.name：名称须为单行文字，不能含有换行符 U+000A": c.post("/json", json={"name": "a\nb"}),
            "body.opinion：应为 '同意'、'不同意' 之一": c.post("/json", json={"name": "x", "opinion": "也许"}),
            "body.when：应为日期（YYYY-MM-DD）": c.post("/json", json={"name": "x", "when": "明天"}),
            "body.name：应为文字": c.post("/json", json={"name": 5}),
            "body：应为 JSON 对象": c.post("/json", json=[1]),
        }
        for needle, response in said.items():
            zh = assert_problem(response, 422)["message_zh"]
            assert needle in zh and "Input should" not in zh and " or " not in zh, zh


def test_openapi_declares_auth_schemes_and_response_models(client: TestClient) -> None:
    doc = client.get("/openapi.json").json()
    schemes = doc["components"]["securitySchemes"]
    assert {s["type"] for s in schemes.values()} == {"apiKey", "http"}
    assert any(s.get("name") == "X-API-Key" and s.get("in") == "header" for s in schemes.values())
    assert any(s.get("scheme", "").lower() == "bearer" for s in schemes.values())
    assert doc["paths"]["/api/v1/reviews"]["post"]["security"]

    def response_schema(path: str) -> str:
        return json.dumps(doc["paths"][path]["get"]["responses"]["200"]["content"]["application/json"]["schema"])

    assert "Balance" in response_schema("/api/v1/quotas/balances")
    assert "JournalRow" in response_schema("/api/v1/quotas/journal")
    assert "LayerCatalog" in response_schema("/api/v1/layers")
    assert "FeaturePage" in response_schema("/api/v1/layers/{layer_id}/items")


def test_viewer_is_built_once_at_start_up(
    settings: Settings, keys: dict[str, str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from api.routes import pages

    calls = tmp_path / "calls"  # a file: the page is built in a forked child, whose memory is its own
    real = pages.blueprint_map

    def counting(*args: Any, **kwargs: Any) -> Any:
        with calls.open("a") as f:
            f.write("built\n")
        return real(*args, **kwargs)

    monkeypatch.setattr(pages, "blueprint_map", counting)
    with TestClient(create_app(settings), base_url=BASE) as c:
        c.post("/login", data={"key": keys["planner"]}, headers={"Origin": BASE})
        pages_ = [c.get("/") for _ in range(3)]
    assert all(p.status_code == 200 and "lantu-panel" in p.text for p in pages_)
    assert calls.read_text().splitlines() == ["built"]


def test_layer_dependency_answers_404_and_422(client: TestClient, keys: dict[str, str]) -> None:
    assert "roads" in assert_problem(client.get("/api/v1/layers/roads/items", headers=auth(keys)), 404)["detail"]
    assert_problem(client.get("/api/v1/layers/slope/items", headers=auth(keys)), 422)
    assert client.get("/api/v1/layers/county/items", headers=auth(keys)).json()["numberMatched"] == 2


# ---------------------------------------------------------------- finding 3: limits while reading


def _zip(members: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in members.items():
            z.writestr(name, data)
    return out.getvalue()


def test_zip_expanding_past_the_budget_is_refused_before_parsing(client: TestClient, keys: dict[str, str]) -> None:
    # a valid one-parcel GeoJSON padded to 1.5 MB (the budget is 1 MB), compressing ~2:1: no bomb by ratio
    padded = {**PASSING, "properties": {**PASSING["properties"], "note": os.urandom(750_000).hex()}}
    data = _zip({"parcels.geojson": json.dumps({"type": "FeatureCollection", "features": [padded]}).encode()})
    assert len(data) < 2_000_000
    r = client.post("/api/v1/reviews", files={"file": ("p.zip", data)}, headers=auth(keys))
    assert "uncompressed" in assert_problem(r, 413)["detail"]
    ok = _zip({"parcels.geojson": json.dumps({"type": "FeatureCollection", "features": [PASSING]}).encode()})
    assert client.post("/api/v1/reviews", files={"file": ("p.zip", ok)}, headers=auth(keys)).status_code == 201


def test_zip_entry_lying_about_its_size_is_refused(client: TestClient, keys: dict[str, str], tmp_path: Path) -> None:
    payload = json.dumps({"type": "FeatureCollection", "features": [PASSING] * 3}).encode()
    data = bytearray(_zip({"p.geojson": payload}))
    declared = (100).to_bytes(4, "little")
    real = len(payload).to_bytes(4, "little")
    assert data.count(real) == 2  # the size in the local header and in the central directory
    data = bytearray(bytes(data).replace(real, declared))
    r = client.post("/api/v1/reviews", files={"file": ("p.zip", bytes(data))}, headers=auth(keys))
    assert r.status_code in (413, 422)
    assert_problem(r, r.status_code)
    assert client.post("/api/v1/reviews", json=PASSING, headers=auth(keys)).status_code == 201


def test_gdal_reader_stops_at_the_feature_limit_before_reading(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    boxes = [shapely.box(X0 + i * 10, Y0, X0 + i * 10 + 5, Y0 + 5) for i in range(1200)]
    gpd.GeoDataFrame({"id": range(1200)}, geometry=boxes, crs=EPSG).to_file(tmp_path / "many.gpkg")
    reads: list[int] = []
    real = gpd.read_file
    monkeypatch.setattr(gpd, "read_file", lambda *a, **k: reads.append(1) or real(*a, **k))
    limits = ReadLimits(max_bytes=10**8, max_parcels=100, max_vertices=10**6)
    with pytest.raises(TooLargeError, match="100 parcels"):
        read_parcels(tmp_path / "many.gpkg", limits=limits)
    assert reads == []  # refused from the layer's feature count, nothing read
    # vertices: counted chunk by chunk, stopping at the first chunk over the limit (500 features each)
    with pytest.raises(TooLargeError, match="vertices"):
        read_parcels(tmp_path / "many.gpkg", limits=ReadLimits(10**8, 2000, 1000))
    assert len(reads) == 1
    assert len(read_parcels(tmp_path / "many.gpkg", limits=ReadLimits(10**8, 2000, 10**6))) == 1200


def test_geojson_vertices_counted_before_any_geometry(monkeypatch: pytest.MonkeyPatch) -> None:
    ring = [[116.6 + i * 1e-5, 35.4 + (i % 2) * 1e-5] for i in range(5000)]
    body = json.dumps({"type": "Polygon", "coordinates": [[*ring, ring[0]]]})
    built: list[int] = []
    real = shapely.geometry.shape
    monkeypatch.setattr(shapely.geometry, "shape", lambda g: built.append(1) or real(g))
    with pytest.raises(TooLargeError, match="vertices"):
        parse_geojson_bytes(body, limits=ReadLimits(max_bytes=10**7, max_parcels=10, max_vertices=1000))
    assert built == []
    with pytest.raises(TooLargeError, match="bytes"):
        parse_geojson_bytes(body, limits=ReadLimits(max_bytes=1000, max_parcels=10, max_vertices=10**6))


# ---------------------------------------------------------------- finding 4: a bounded pool off the loop


def test_full_pool_answers_429_with_retry_after_and_healthz_stays_up(settings: Settings, keys: dict[str, str]) -> None:
    gate = threading.Event()
    with TestClient(create_app(settings.model_copy(update={"workers": 1, "queue": 0})), base_url=BASE) as c:
        pool: WorkPool = c.app.state.pool  # type: ignore[attr-defined]
        c.portal.start_task_soon(pool.run, gate.wait, 30)  # the one worker is busy
        deadline = time.monotonic() + 5
        while pool.admitted == 0 and time.monotonic() < deadline:
            time.sleep(0.01)
        try:
            busy = c.post("/api/v1/reviews", json=PASSING, headers=auth(keys))
            assert_problem(busy, 429)
            assert int(busy.headers["retry-after"]) >= 1
            started = time.monotonic()
            assert c.get("/healthz").status_code == 200
            assert time.monotonic() - started < 1.0
        finally:
            gate.set()
        deadline = time.monotonic() + 5
        while pool.admitted and time.monotonic() < deadline:
            time.sleep(0.01)
        assert c.post("/api/v1/reviews", json=PASSING, headers=auth(keys)).status_code == 201


def test_pool_timeout_is_503_and_keeps_the_slot_until_the_job_ends() -> None:
    async def main() -> None:
        pool = WorkPool(workers=1, queue=0, timeout=0.2)
        with pytest.raises(WorkTimeoutError):
            await pool.run(time.sleep, 0.6)
        assert pool.admitted == 1  # the thread still runs: its slot stays taken
        with pytest.raises(BusyError):
            await pool.run(time.sleep, 0)
        await anyio.sleep(0.6)
        assert pool.admitted == 0
        assert await pool.run(sum, [1, 2]) == 3
        pool.shutdown()

    anyio.run(main)
    assert status_for(WorkTimeoutError("x")) == 503


# ---------------------------------------------------------------- finding 6: host allow-list, origin


def test_host_allow_list(settings: Settings, keys: dict[str, str]) -> None:
    pinned = settings.model_copy(update={"allowed_hosts": ["lantu.example.cn"]})
    with TestClient(create_app(pinned), base_url="https://lantu.example.cn") as c:
        assert c.get("/healthz").status_code == 200
        assert_problem(c.get("/healthz", headers={"Host": "attacker.example"}), 421)


# ---------------------------------------------------------------- finding 10: sessions, not keys


def test_session_cookie_is_random_httponly_strict_and_ends(
    client: TestClient, keys: dict[str, str], settings: Settings
) -> None:
    r = client.post("/login", data={"key": keys["planner"]}, headers={"Origin": BASE}, follow_redirects=False)
    assert r.status_code == 303
    cookie = r.headers["set-cookie"]
    assert "lantu_session=" in cookie and keys["planner"] not in cookie
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie.replace("Strict", "strict") and "Max-Age=" in cookie
    assert "Secure" not in cookie  # plain http on loopback
    assert client.get("/").status_code == 200
    # a state change on the cookie: only from this origin
    assert client.post("/api/v1/reviews", json=PASSING, headers={"Origin": BASE}).status_code == 201
    assert_problem(client.post("/api/v1/reviews", json=PASSING), 403)
    assert_problem(client.post("/api/v1/reviews", json=PASSING, headers={"Origin": "https://evil.example"}), 403)
    # logout ends the session on the server: the old cookie is worthless
    session = client.cookies["lantu_session"]
    client.post("/logout", headers={"Origin": BASE})
    client.cookies.set("lantu_session", session)
    assert client.get("/").status_code == 401
    assert_problem(client.get("/api/v1/layers"), 401)


def test_session_ends_with_its_key_and_cookie_is_secure_behind_https(settings: Settings, keys: dict[str, str]) -> None:
    with TestClient(create_app(settings), base_url="https://lantu.example.cn") as c:
        r = c.post("/login", data={"key": keys["planner"]}, follow_redirects=False)
        assert "Secure" in r.headers["set-cookie"]
        assert c.get("/api/v1/layers").status_code == 200
        assert_problem(c.post("/login", data={"key": keys["planner"]}, headers={"Origin": "https://evil.example"}), 403)
        revoke_key(make_engine(settings.database_url), "test-planner")
        assert_problem(c.get("/api/v1/layers"), 401)


def test_viewer_keeps_no_key_in_the_browser(client: TestClient) -> None:
    script = client.get("/static/app/viewer.js").text
    assert "sessionStorage" not in script and "localStorage" not in script and "X-API-Key" not in script


# ---------------------------------------------------------------- finding 11: headers, docs, ownership


def test_security_headers_everywhere(client: TestClient, keys: dict[str, str]) -> None:
    for path, kind in [("/healthz", "data"), ("/", "page"), ("/api/v1/layers", "data"), ("/nowhere", "data")]:
        r = client.get(path, headers=auth(keys))
        assert r.headers["x-frame-options"] == "DENY", path
        assert r.headers["x-content-type-options"] == "nosniff", path
        csp = r.headers["content-security-policy"]
        assert "frame-ancestors 'none'" in csp, path
        assert ("default-src 'none'" in csp) == (kind == "data"), (path, csp)


def test_docs_use_local_swagger_assets_with_sri(client: TestClient) -> None:
    pytest.importorskip("fastapi_offline")
    page = client.get("/docs")
    assert page.status_code == 200
    assert "cdn" not in page.text and "https://" not in page.text
    assert page.text.count('integrity="sha384-') == 3
    assert "script-src 'self';" in page.headers["content-security-policy"]
    assert client.get("/static/swagger/swagger-ui-bundle.js").status_code == 200


def test_reviews_are_read_by_their_creator_and_admins(
    client: TestClient, keys: dict[str, str], settings: Settings
) -> None:
    rid = client.post("/api/v1/reviews", json=PASSING, headers=auth(keys)).json()["review_id"]
    with make_engine(settings.database_url).connect() as conn:
        assert conn.execute(select(review_owners.c.creator).where(review_owners.c.review_id == rid)).scalar() == (
            "test-planner"
        )
    for suffix in ("", "/map", "/report", "/report.pdf"):
        assert client.get(f"/api/v1/reviews/{rid}{suffix}", headers=auth(keys)).status_code == 200, suffix
        assert_problem(client.get(f"/api/v1/reviews/{rid}{suffix}", headers=auth(keys, "planner2")), 403)
        assert_problem(client.get(f"/api/v1/reviews/{rid}{suffix}", headers=auth(keys, "project-system")), 403)
    assert client.get(f"/api/v1/reviews/{rid}", headers=auth(keys, "admin")).status_code == 200
    assert client.get(f"/api/v1/reviews/{rid}", headers=auth(keys, "quota-admin")).status_code == 200
    own = client.post("/api/v1/reviews", json=PASSING, headers=auth(keys, "project-system")).json()["review_id"]
    assert client.get(f"/api/v1/reviews/{own}", headers=auth(keys, "project-system")).status_code == 200
    assert_problem(client.get("/api/v1/reviews/nope", headers=auth(keys)), 404)


# ---------------------------------------------------------------- finding 8: CRS from clients


def test_proj_pipeline_as_crs_is_422(client: TestClient, keys: dict[str, str]) -> None:
    pipeline = "+proj=pipeline +step +proj=unitconvert +xy_in=deg +xy_out=rad +step +proj=utm +zone=50"
    for name in (pipeline, "+proj=pipeline +step +proj=noop", "EPSG:5773", "+proj=utm +zone=50 +inv"):
        body = {**PASSING, "crs": {"type": "name", "properties": {"name": name}}}
        assert "CRS" in assert_problem(client.post("/api/v1/reviews", json=body, headers=auth(keys)), 422)["detail"]
    dxf = client.post(f"/api/v1/reviews?crs={pipeline}", files={"file": ("p.dxf", b"0\nEOF\n")}, headers=auth(keys))
    assert_problem(dxf, 422)


def test_transformer_cache_is_bounded() -> None:
    info = geo_crs._transformer.cache_info()
    assert info.maxsize == geo_crs.TRANSFORMER_CACHE_SIZE
    for zone in range(4534, 4555):
        for source in (4490, 4326, 4214, 4610):
            geo_crs.reproject(shapely.Point(117, 35), source, zone)
    assert geo_crs._transformer.cache_info().currsize <= geo_crs.TRANSFORMER_CACHE_SIZE


# ---------------------------------------------------------------- finding 9: storage faults


def test_locked_database_is_503_with_reason_and_readyz_says_so(
    settings: Settings, keys: dict[str, str], tmp_path: Path
) -> None:
    quick = settings.model_copy(update={"database_lock_timeout": 0.2})
    with TestClient(create_app(quick), base_url=BASE) as c:
        assert c.get("/readyz").status_code == 200
        locker = sqlite3.connect(tmp_path / "lantu.db", isolation_level=None)
        locker.execute("BEGIN EXCLUSIVE")
        try:
            r = c.post("/api/v1/reviews", json=PASSING, headers=auth(keys))
            body = assert_problem(r, 503)
            assert "locked" in body["detail"] and "锁定" in body["message_zh"]
            assert r.headers["connection"] == "close" and int(r.headers["retry-after"]) > 0
            ready = c.get("/readyz")
            assert ready.status_code == 503 and ready.json()["checks"]["database"] is False
        finally:
            locker.execute("ROLLBACK")
            locker.close()
        assert c.get("/readyz").status_code == 200


def test_disk_full_and_database_down_are_503() -> None:
    assert isinstance(storage_error(OSError(errno.ENOSPC, "No space left on device")), StorageError)
    down = OperationalError("connect", {}, Exception("connection refused"))
    assert status_for(storage_error(down) or ValueError()) == 503
    assert storage_error(ValueError("x")) is None

    app = FastAPI()
    api_errors.install(app)

    @app.get("/full")
    def full() -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    @app.get("/down")
    def db_down() -> None:
        raise down

    with TestClient(app, raise_server_exceptions=False) as c:
        for path in ("/full", "/down"):
            r = c.get(path)
            assert_problem(r, 503)
            assert r.headers["connection"] == "close"


# ---------------------------------------------------------------- finding 7: slow clients


def test_slow_body_is_408() -> None:
    """A body trickled slower than ``body_timeout`` is answered 408 (raw ASGI: test clients buffer bodies)."""
    app = FastAPI()
    api_errors.install(app)
    app.add_middleware(BodySizeLimit, limit=10_000, timeout=0.2)

    @app.post("/echo")
    async def echo(request: Request) -> dict[str, int]:
        return {"size": len(await request.body())}

    async def call(pause: float) -> tuple[int, bytes]:
        chunks = [b'{"a": ', b"1}"]
        sent: list[Any] = []

        async def receive() -> dict[str, Any]:
            if not chunks:
                await anyio.sleep(10)
                return {"type": "http.disconnect"}
            if len(chunks) == 1:
                await anyio.sleep(pause)
            return {"type": "http.request", "body": chunks.pop(0), "more_body": bool(chunks)}

        async def send(message: dict[str, Any]) -> None:
            sent.append(message)

        scope = http_scope("POST", "/echo", "127.0.0.1", [(b"content-type", b"application/json")])
        await app(scope, receive, send)
        return sent[0]["status"], b"".join(m.get("body", b"") for m in sent[1:])

    status, body = anyio.run(call, 0.5)
    assert status == 408 and json.loads(body)["message_zh"]
    assert anyio.run(call, 0.0)[0] == 200


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_uvicorn_closes_a_connection_that_trickles_its_headers(settings: Settings) -> None:
    port = _free_port()
    guarded = settings.model_copy(update={"header_timeout": 0.5, "port": port})
    config = uvicorn_config(guarded)
    assert (
        config["timeout_keep_alive"] == guarded.keep_alive and config["limit_concurrency"] == guarded.limit_concurrency
    )
    assert config["h11_max_incomplete_event_size"] == 64 * 1024
    server = uvicorn.Server(uvicorn.Config(create_app(guarded), **{**config, "log_level": "warning"}))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 20
        while not server.started and time.monotonic() < deadline:
            time.sleep(0.05)
        slow = socket.create_connection(("127.0.0.1", port))
        slow.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n")
        started = time.monotonic()
        closed = False
        while time.monotonic() - started < 5:
            time.sleep(0.1)
            try:
                slow.sendall(b"X-Slow: 1\r\n")  # a byte now and then: uvicorn's keep-alive timer alone would wait
            except OSError:
                closed = True
                break
        assert closed and time.monotonic() - started < 3
        slow.close()
        with socket.create_connection(("127.0.0.1", port)) as quick:
            quick.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
            assert quick.recv(100).startswith(b"HTTP/1.1 200")
    finally:
        server.should_exit = True
        thread.join(timeout=10)


# ---------------------------------------------------------------- finding 11: renderings cached per review


def test_map_and_pdf_rendered_once_per_review(
    client: TestClient, keys: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from api.routes import reviews

    calls: list[str] = []
    real_map, real_child = reviews.review_map, reviews.in_child
    monkeypatch.setattr(reviews, "review_map", lambda *a, **k: calls.append("map") or real_map(*a, **k))
    # a PDF is laid out in a forked child (``in_child``): what the parent sees is the child it forks
    monkeypatch.setattr(reviews, "in_child", lambda job, **k: calls.append("pdf") or real_child(job, **k))
    rid = client.post("/api/v1/reviews", json=PASSING, headers=auth(keys)).json()["review_id"]
    maps = [client.get(f"/api/v1/reviews/{rid}/map", headers=auth(keys)) for _ in range(2)]
    pdfs = [client.get(f"/api/v1/reviews/{rid}/report.pdf", headers=auth(keys)) for _ in range(2)]
    assert maps[0].text == maps[1].text and pdfs[0].content == pdfs[1].content
    assert calls == ["map", "pdf"]


def test_render_cache_is_bounded_in_bytes() -> None:
    from api.render_cache import RenderCache

    cache = RenderCache(max_bytes=1000, max_entry=600)
    for n in range(5):
        cache.put(f"k{n}", b"x" * 300)
    assert cache.size <= 1000 and cache.get("k0") is None and cache.get("k4") == b"x" * 300
    cache.put("big", b"x" * 700)
    assert cache.get("big") is None


def test_a_listing_shows_a_review_id_only_to_those_who_may_read_the_review(
    client: TestClient, keys: dict[str, str]
) -> None:
    """A review id is the capability to its review (SECURITY.md): a second planner, refused the review, read its id
    in the project's linked reviews, the journal and the projects holding quota (probe). Those show it as null to
    such a caller, the rest of the row kept; its creator and the roles that see all read it."""
    admin = auth(keys, "quota-admin")
    issue_land_quota(client, keys, new=100_000, compensation=100_000)
    project = {"id": "XM-7", "name": "物流园", "project_type": "industrial", "level": "县重点", "county": "370811"}
    assert client.post("/api/v1/projects", json={**project, "stage": "储备"}, headers=auth(keys, "admin")).is_success
    on_farmland = feature(2.2, 0.2, 2.4, 0.4, id="C")  # needs land quota
    rid = client.post("/api/v1/reviews", json=on_farmland, headers=auth(keys)).json()["review_id"]
    linked = client.post("/api/v1/projects/XM-7/reviews", json={"review_id": rid}, headers=auth(keys, "project-system"))
    assert linked.status_code == 201
    body = {"review_id": rid, "year": 2026, "project_id": "XM-7"}
    reserved = client.post("/api/v1/quotas/reserve", json=body, headers=admin)
    assert reserved.status_code == 201, reserved.json()

    def shown(role: str) -> tuple[list[Any], list[Any], list[Any]]:
        who = auth(keys, role)
        links = client.get("/api/v1/projects/XM-7", headers=who).json()["reviews"]
        journal = client.get("/api/v1/quotas/journal", headers=who).json()
        held = client.get("/api/v1/quotas/projects", headers=who).json()
        return (
            [(r["parcel_id"], r["review_id"]) for r in links],
            sorted({j["review_id"] for j in journal if j["kind"] == "reserve"}, key=str),
            [(p["id"], p["review_id"]) for p in held],
        )

    assert shown("planner2") == ([("C", None)], [None], [("XM-7", None)])
    assert shown("project-system") == ([("C", None)], [None], [("XM-7", None)])
    for role in ("planner", "quota-admin", "admin"):
        assert shown(role) == ([("C", rid)], [rid], [("XM-7", rid)]), role


def test_two_different_keys_in_one_request_are_refused(client: TestClient, keys: dict[str, str]) -> None:
    """X-API-Key beside a different Bearer token: the X-API-Key acted without a word (probe). Refused (401) saying
    why; the same key sent both ways is one caller."""
    both = {"X-API-Key": keys["planner"], "Authorization": f"Bearer {keys['admin']}"}
    body = assert_problem(client.get("/api/v1/layers", headers=both), 401)
    assert "two different API keys" in body["message_en"] and "两个不同的 API 密钥" in body["message_zh"]
    same = {"X-API-Key": keys["planner"], "Authorization": f"Bearer {keys['planner']}"}
    assert client.get("/api/v1/layers", headers=same).status_code == 200
    # one header twice: the first acted (an admin's key before a planner's issued quota as admin, a probe)
    for name, value in (("X-API-Key", "{}"), ("Authorization", "Bearer {}")):
        for first, second in (("admin", "planner"), ("planner", "admin")):
            twice = [(name, value.format(keys[first])), (name, value.format(keys[second]))]
            body = assert_problem(client.get("/api/v1/layers", headers=twice), 401)
            assert "one of them twice" in body["message_en"] and "同一请求头重复" in body["message_zh"]
        once_more = [(name, value.format(keys["planner"]))] * 2
        assert client.get("/api/v1/layers", headers=once_more).status_code == 200
