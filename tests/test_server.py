"""The real server process over HTTP, a real headless Chromium, and schemathesis.

The browser test runs wherever Chromium is installed; in CI (CI=true) a missing
browser is a failure, not a skip: `.ci/run` installs Debian's chromium.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from support import parcel_frame, rect

from api.app import create_app
from api.settings import Settings

CHROMIUM = Path("/usr/bin/chromium")
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


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _http(method: str, url: str, body: Any = None) -> tuple[int, dict[str, str], bytes]:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(
        url, data=data, method=method, headers={"Content-Type": "application/json"} if data else {}
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as r:
            return r.status, dict(r.headers), r.read()
    except urllib.error.HTTPError as e:
        return e.code, dict(e.headers), e.read()


@pytest.fixture(scope="module")
def server(blueprint_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """`lantu serve` as a user starts it, in open demo mode on a loopback port."""
    port = _free_port()
    db = tmp_path_factory.mktemp("srv") / "lantu.db"
    env = {**os.environ, "LANTU_DATABASE_URL": f"sqlite:///{db}", "LANTU_TILES": "none"}
    lantu = Path(sys.executable).parent / "lantu"
    proc = subprocess.Popen(
        [str(lantu), "serve", "-b", str(blueprint_dir), "--port", str(port), "--open-demo"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(100):
            try:
                if _http("GET", base + "/healthz")[0] == 200:
                    break
            except OSError:
                pass
            if proc.poll() is not None:
                raise RuntimeError(proc.stdout.read() if proc.stdout else "server exited")
            time.sleep(0.2)
        else:
            raise RuntimeError("server did not start")
        yield base
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def _feature(geom: Any, **props: Any) -> dict[str, Any]:
    return json.loads(parcel_frame(geom, **props).to_crs(4490).to_json(drop_id=True))["features"][0]


def test_real_server_over_http(server: str) -> None:
    status, headers, body = _http("POST", server + "/api/v1/reviews", _feature(rect(2.9, 0.1, 3.1, 0.3), id="B"))
    assert status == 201
    result = json.loads(body)
    assert result["parcels"][0]["verdict"] == "reject"
    status, _, again = _http("GET", server + headers["location"])
    assert status == 200 and json.loads(again) == result
    status, headers, body = _http("POST", server + "/api/v1/reviews", {"type": "Point", "coordinates": [0, 0]})
    assert status == 422 and headers["content-type"].startswith("application/problem+json")
    assert _http("GET", server + "/readyz")[0] == 200


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if not CHROMIUM.exists():
        if os.environ.get("CI") == "true":
            pytest.fail("CI must run the browser test: /usr/bin/chromium is missing (see .ci/run)")
        pytest.skip("Debian chromium not installed on this machine")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield b
        b.close()


def _open(browser: Any, url: str) -> tuple[Any, list[str]]:
    page = browser.new_page(viewport={"width": 1280, "height": 800})
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    page.goto(url)
    page.wait_for_selector(".leaflet-container")
    return page, errors


DRAWN_LAYERS = """() => Object.keys(window).filter(k => k.startsWith('geo_json_'))
    .map(k => window[k]).filter(l => l && l.getLayers).reduce((n, l) => n + l.getLayers().length, 0)"""


def test_review_map_renders_in_chromium(server: str, browser: Any, tmp_path: Path) -> None:
    _, headers, _ = _http("POST", server + "/api/v1/reviews", _feature(rect(2.9, 0.1, 3.1, 0.3), id="B"))
    page, errors = _open(browser, server + headers["location"] + "/map")
    assert page.evaluate("typeof L") == "object"
    assert page.evaluate(DRAWN_LAYERS) >= 3  # parcel, conflict pieces and blueprint layers
    assert page.locator("#lantu-legend").is_visible()
    page.screenshot(path=str(tmp_path / "review-map.png"))
    assert (tmp_path / "review-map.png").stat().st_size > 10_000
    assert errors == []


def test_viewer_draws_and_reviews_in_chromium(server: str, browser: Any, tmp_path: Path) -> None:
    page, errors = _open(browser, server + "/")
    assert page.locator("#lantu-panel").is_visible()
    page.click("#lantu-draw")
    box = page.locator(".leaflet-container").bounding_box()
    cx, cy = box["x"] + box["width"] * 0.3, box["y"] + box["height"] * 0.5
    for dx, dy in [(0, 0), (60, 0), (60, 60), (0, 60)]:
        page.mouse.click(cx + dx, cy + dy)
    page.click("#lantu-finish")
    page.click("#lantu-review")
    page.wait_for_selector("#lantu-result table", timeout=30_000)
    text = page.locator("#lantu-result").inner_text()
    assert "地块 W1" in text and "亩" in text
    review = page.evaluate("window.lantuLastReview")
    assert review["parcels"][0]["area_m2"] > 0 and len(review["parcels"][0]["items"]) == 12
    page.screenshot(path=str(tmp_path / "viewer.png"))
    assert errors == []


@pytest.fixture(scope="module")
def demo_app(blueprint_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    db = tmp_path_factory.mktemp("st") / "lantu.db"
    app = create_app(Settings(blueprint=blueprint_dir, database_url=f"sqlite:///{db}", open_demo=True, tiles="none"))
    with TestClient(app):  # runs the lifespan: blueprint and database on app.state
        yield app


def test_openapi_no_server_errors(demo_app: Any) -> None:
    """Schemathesis cases from the app's own OpenAPI schema: no input gives a 5xx."""
    schema = schemathesis.openapi.from_asgi("/openapi.json", demo_app)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 6
    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(
            max_examples=int(os.environ.get("LANTU_SCHEMA_EXAMPLES", "15")),
            deadline=None,
            suppress_health_check=list(HealthCheck),
            database=None,
        )
        def no_server_error(case: Any) -> None:
            case.call_and_validate(checks=[schemathesis.checks.not_a_server_error])

        no_server_error()
