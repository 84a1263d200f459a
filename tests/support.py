"""Test helpers and constants (plain functions, imported as ``from support import …``; fixtures live
in ``conftest.py``).

Blueprints of exact rectangles in CGCS2000 / 3° GK CM 117°E (EPSG:4548): every layer
is a set of axis-aligned rectangles, so each expected overlap is plain arithmetic.
Coordinates are given in kilometres from an origin near 济宁 (about 116.6°E, 35.4°N)
and turned into metres by ``rect``. The files are written by the library's own
blueprint writer, :func:`geo.io.blueprint.write_blueprint`.
"""

from __future__ import annotations

import os
import socket
import threading
import time
import unicodedata
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pytest
import shapely
import uvicorn
from rasterio.transform import from_origin
from sqlalchemy import Engine, make_url, text

from api.app import create_app
from api.server import uvicorn_config
from api.settings import Settings
from geo.blueprint import Blueprint
from geo.db import make_engine
from geo.io.blueprint import RasterLayer, write_blueprint
from geo.io.results import write_result_json
from geo.review import ItemResult, ReviewResult, review
from geo.signing import SigningKey

EPSG = 4548
X0, Y0 = 464_000.0, 3_918_000.0
PG_URL = os.environ.get("LANTU_TEST_POSTGRES_URL")
CHROMIUM = Path("/usr/bin/chromium")  # Debian's; the browser tests skip without it, except on CI
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

ROLES = ("planner", "project-system", "quota-admin", "admin")  # the service's key roles
SCREENSHOTS = Path(__file__).resolve().parents[1] / "build" / "screenshots"  # kept after the run (not in git)


def at_once(*calls: Callable[[], Any], refused: type[Exception]) -> list[Any]:
    """Each call on a thread of its own, all released at one moment (a barrier): what each returned, or the
    ``refused`` error it raised, in the calls' order. Any other error is raised here, once every thread is done."""
    start = threading.Barrier(len(calls))
    outcomes: list[Any] = [None] * len(calls)
    failed: list[BaseException] = []

    def run(k: int, call: Callable[[], Any]) -> None:
        start.wait()
        try:
            outcomes[k] = call()
        except refused as exc:
            outcomes[k] = exc
        except BaseException as exc:  # raised on the test's thread below
            failed.append(exc)

    threads = [threading.Thread(target=run, args=(k, call)) for k, call in enumerate(calls)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if failed:
        raise failed[0]
    return outcomes


def screenshot(name: str) -> Path:
    """Where a browser test keeps its screenshot, so a person can look at it after CI."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / name
    path.unlink(missing_ok=True)  # a test must make its own, not find the last run's
    return path


Rect = tuple[float, float, float, float]
RectLayers = dict[str, list[tuple[Rect, dict[str, Any]]]]


def rect(x1: float, y1: float, x2: float, y2: float) -> shapely.Polygon:
    """A rectangle given in km from the origin, in EPSG:4548 metres."""
    return shapely.box(X0 + x1 * 1000, Y0 + y1 * 1000, X0 + x2 * 1000, Y0 + y2 * 1000)


def km2(x1: float, y1: float, x2: float, y2: float) -> float:
    """Area in m² of a rectangle given in km."""
    return (x2 - x1) * (y2 - y1) * 1e6


# layer id → [(rectangle in km, attributes)]
STANDARD_LAYERS: RectLayers = {
    "county": [
        ((0, 0, 5, 5), {"code": "370811", "name": "任城区"}),
        ((5, 0, 10, 5), {"code": "370812", "name": "兖州区"}),
    ],
    "urban_boundary": [((0, 0, 2, 2), {})],
    "planned_use": [
        ((0, 0, 3, 3), {"zone": "城镇集中建设区"}),
        ((3, 0, 10, 5), {"zone": "农田保护区"}),
        ((0, 3, 3, 5), {"zone": "生态控制区"}),
    ],
    "basic_farmland": [((3, 0, 4, 1), {})],
    "ecological_redline": [((4, 4, 5, 5), {})],
    "nature_reserve": [((6, 0, 7, 1), {})],
    "water_source": [
        ((7, 0, 8, 1), {"level": "一级"}),
        ((8, 0, 9, 1), {"level": "二级"}),
        ((9, 0, 10, 1), {"level": "准保护区"}),
    ],
    "mineral": [((6, 1, 7, 2), {"kind": "煤"})],
    "geohazard": [((7, 1, 8, 2), {"level": "高"}), ((8, 1, 9, 2), {"level": "低"})],
    "heritage": [((6, 2, 7, 3), {"zone": "保护范围"}), ((7, 2, 8, 3), {"zone": "建设控制地带"})],
    "flood_river": [((8, 2, 9, 3), {})],
    "illegal_use": [((9, 2, 10, 3), {})],
    "approved_unsupplied": [((0, 0, 1, 1), {})],
    "idle_land": [((1, 0, 2, 0.5), {})],
}

# 三调 classes on a 1 km grid over [0,10]×[0,5]; cells not listed are 0601 工业用地.
LAND_USE_CELLS: dict[tuple[int, int], str] = {
    **{(i, j): "0701" for i in (0, 1) for j in (0, 1)},
    (2, 0): "0101",
    (2, 1): "0103",
    (3, 0): "0102",
    (4, 0): "0301",
    (4, 1): "0404",
    (5, 0): "1106",
}
# slope raster: 10 m pixels over the same extent; 30° on this block, 5° elsewhere
STEEP_BLOCK: Rect = (6, 3, 7, 4)


def land_use_layer() -> list[tuple[Rect, dict[str, Any]]]:
    return [
        ((i, j, i + 1, j + 1), {"class_code": LAND_USE_CELLS.get((i, j), "0601")}) for i in range(10) for j in range(5)
    ]


def full_layers() -> RectLayers:
    return {**STANDARD_LAYERS, "land_use": land_use_layer()}


def rect_frame(rows: list[tuple[Rect, dict[str, Any]]]) -> gpd.GeoDataFrame:
    """One layer's rectangles (km) with their attributes, in EPSG:4548."""
    return gpd.GeoDataFrame([a for _, a in rows], geometry=[rect(*r) for r, _ in rows], crs=EPSG)


def slope_raster(steep: Rect, pixel: float = 10.0) -> RasterLayer:
    """Slope in degrees over [0,10]×[0,5] km: 30° on ``steep``, 5° elsewhere."""
    width, height = int(10_000 / pixel), int(5_000 / pixel)
    data = np.full((height, width), 5.0, dtype="float32")
    x1, y1, x2, y2 = (int(v * 1000 / pixel) for v in steep)
    data[height - y2 : height - y1, x1:x2] = 30.0  # rows count down from the top
    return RasterLayer(data, from_origin(X0, Y0 + 5_000, pixel, pixel), EPSG)


def rect_blueprint(
    root: Path,
    layers: RectLayers,
    *,
    slope: Rect | None = STEEP_BLOCK,
    name: str = "测试蓝图",
    extra: dict[str, Any] | None = None,
) -> Path:
    """A blueprint of rectangle layers (EPSG:4548 GeoPackages) plus a slope raster; return the directory."""
    return write_blueprint(
        root,
        {layer_id: rect_frame(rows) for layer_id, rows in layers.items()},
        name=name,
        rasters={"slope": slope_raster(slope)} if slope is not None else None,
        extra=extra,
    )


def star(points: int, centre: tuple[float, float], inner_km: float, outer_km: float) -> shapely.Polygon:
    """A star of ``points`` vertices whose radius alternates between ``inner_km`` and ``outer_km``."""
    angle = np.linspace(0, 2 * np.pi, points, endpoint=False)
    radius = np.where(np.arange(points) % 2, outer_km, inner_km)
    x, y = centre[0] + radius * np.cos(angle), centre[1] + radius * np.sin(angle)
    return shapely.Polygon(np.c_[X0 + x * 1000, Y0 + y * 1000])


def parcel_frame(*geoms: shapely.Geometry, crs: Any = EPSG, **props: Any) -> gpd.GeoDataFrame:
    """Parcels in EPSG:4548 (unless told) with the same project properties each."""
    return gpd.GeoDataFrame([dict(props) for _ in geoms], geometry=list(geoms), crs=crs)


def fresh_postgres(url: str | None = PG_URL) -> Engine:
    """An empty ``public`` schema on a throw-away PostgreSQL database.

    Skipped without a URL (a failure in CI). The schema is dropped, so a database
    whose name does not contain ``test`` is refused: a mistyped URL must never
    wipe a real ledger.
    """
    if not url:
        if os.environ.get("CI") == "true":
            pytest.fail("CI must test the ledger on PostgreSQL: LANTU_TEST_POSTGRES_URL is not set (see .ci/run)")
        pytest.skip("no PostgreSQL (set LANTU_TEST_POSTGRES_URL, e.g. from .ci/postgres.sh)")
    database = make_url(url).database or ""
    if "test" not in database.lower():
        pytest.fail(
            f"refusing to DROP SCHEMA public in database {database!r}: LANTU_TEST_POSTGRES_URL must name "
            "a throw-away database whose name contains 'test'"
        )
    engine = make_engine(url)
    with engine.begin() as conn:
        conn.execute(text("DROP SCHEMA public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    return engine


def http_scope(method: str, path: str, host: str, headers: list[tuple[bytes, bytes]] | None = None) -> dict[str, Any]:
    """The ASGI scope a server hands the app for ``method path`` to ``host``, for tests that call the app as a
    server does (what it sends, message by message, which a test client hides)."""
    return {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "root_path": "",
        "query_string": b"",
        "headers": [(b"host", host.encode()), *(headers or [])],
        "client": (host, 50000),
        "server": (host, 80),
        "state": {},
    }


def auth(keys: dict[str, str], role: str = "planner") -> dict[str, str]:
    """The header that signs a request in with the test key of ``role`` (see the ``keys`` fixture)."""
    return {"X-API-Key": keys[role]}


def issue_land_quota(client: Any, keys: dict[str, str], *, new: float, compensation: float) -> dict[str, Any]:
    """Issue 2026's land quota to 370811 over the API as the quota office (新增, and each 占补平衡 factor
    ``compensation``), so that a parcel on farmland can be reserved; the plan sent."""
    factors = [("land_new", new)] + [
        (f, compensation) for f in ("land_compensation", "land_compensation_paddy", "land_compensation_grain")
    ]
    plan = {"year": 2026, "rows": [{"county_code": "370811", "factor": f, "amount": a} for f, a in factors]}
    assert client.post("/api/v1/quotas/issue", json=plan, headers=auth(keys, "quota-admin")).status_code == 201
    return plan


def assert_problem(response: Any, status: int) -> dict[str, Any]:
    """An RFC 9457 problem with ``status`` and both safe messages; returns its body."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body = response.json()
    assert body["status"] == status and body["message_zh"] and body["message_en"]
    return body


def assert_worker_freed(client: Any) -> None:
    """After a 503 at the work timeout, the job's ticket is given back within moments (its forked child
    killed at the deadline), not when the work would have ended (a minute, in the tests that hang it)."""
    pool = client.app.state.pool
    for _ in range(50):
        if pool.admitted == 0:
            return
        time.sleep(0.1)
    raise AssertionError(f"{pool.admitted} ticket(s) still held 5 s after the 503")


def review_drawn_square(page: Any, height_share: float = 0.5) -> str:
    """In the viewer (a Playwright page): draw a 60 px square left of centre (``height_share`` down the
    map), review it, wait; the result's text."""
    page.click("#lantu-draw")
    box = page.locator(".leaflet-container").bounding_box()
    cx, cy = box["x"] + box["width"] * 0.3, box["y"] + box["height"] * height_share
    for dx, dy in [(0, 0), (60, 0), (60, 60), (0, 60)]:
        page.mouse.click(cx + dx, cy + dy)
    page.click("#lantu-finish")
    page.click("#lantu-review")
    page.wait_for_selector("#lantu-result table", timeout=30_000)
    return str(page.locator("#lantu-result").inner_text())


@contextmanager
def served(settings: Settings) -> Iterator[str]:
    """The service for ``settings`` under uvicorn in a thread; yields its loopback URL. The server
    binds the socket it is handed (port 0), so there is no free-port race."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    config = {**uvicorn_config(settings), "log_level": "warning"}
    config.pop("host")
    config.pop("port")
    server = uvicorn.Server(uvicorn.Config(create_app(settings), **config))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()


def review_item(blueprint: Blueprint, geom: shapely.Geometry, code: str, **props: Any) -> ItemResult:
    """One parcel (EPSG:4548 unless told) reviewed with ``props``: its item ``code``."""
    return review(parcel_frame(geom, **props), blueprint).parcels[0].item(code)


def write_review(result: ReviewResult, path: Path, key: SigningKey | None) -> Path:
    """``result`` written to ``path`` as ``lantu review -o`` writes it (``write_result_json``), signed with ``key``
    (the ``signing_key`` fixture: the key of the ``lantu`` command under test) or, with None, unsigned."""
    with path.open("w", encoding="utf-8", newline="") as out:
        write_result_json(result, [result.parcels], out, key=key)
    return path


def display_width(text: str) -> int:
    """Columns ``text`` takes in a terminal: a wide (Chinese) character two (Unicode's East Asian Width)."""
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def read_records(text: str) -> tuple[list[str], list[dict[str, str]]]:
    """Records as ``write_records`` writes them, read back: the lines before the first rule (the title), and each
    record as column → value, a cell's further lines joined to its first by a line break."""
    head, _, body = text.partition("-[ 记录 1 / record 1 ]")
    found: list[dict[str, str]] = []
    for line in ("-[ 记录 1 / record 1 ]" + body).splitlines():
        if line.startswith("-[ 记录 "):
            found.append({})
            label = ""
        elif line.startswith(" "):
            found[-1][label] += "\n" + line.lstrip()
        else:
            label, _, value = line.partition(":")
            label = label.rstrip()
            found[-1][label] = value.removeprefix(" ")
    return head.splitlines(), found
