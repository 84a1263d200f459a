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
import threading
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis

# imported here, while the tests are collected on one thread: imported lazily by ``from_asgi`` while the service's
# threads worked, pytest's rewriting of its modules (ast.parse) raced another thread's AST work, and Python 3.11's
# AST state, shared by threads, said "AST constructor recursion depth mismatch" (a SystemError, in CI)
import schemathesis.specs.openapi.schemas
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from support import parcel_frame, rect, review_drawn_square, screenshot

from api.app import create_app
from api.settings import Settings


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


STARTED = "serving on http://"  # `lantu serve`'s line once its port is bound


class _ServerProcess:
    """`lantu serve` as a child process whose output a thread keeps reading.

    The pipe is always drained (a chatty server can never block on a full pipe), the
    lines are kept for error messages, and the server's start-up line ("serving on …", printed once
    its socket is bound and listening) proves that this process, not another one, holds the port.
    """

    def __init__(self, args: list[str], env: dict[str, str]) -> None:
        self.lines: list[str] = []
        self.started = threading.Event()
        self.proc = subprocess.Popen(
            args, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, bufsize=1
        )
        self._reader = threading.Thread(target=self._drain, daemon=True)
        self._reader.start()

    def _drain(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.append(line.rstrip("\n"))
            if STARTED in line:
                self.started.set()
        self.started.set()  # output closed: the process has ended (or is ending)

    def wait_started(self, timeout: float) -> bool:
        """True once the server listens; False if the process ended first."""
        self.started.wait(timeout)
        return any(STARTED in line for line in self.lines)

    @property
    def output(self) -> str:
        return "\n".join(self.lines[-40:])

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
        self._reader.join(timeout=10)


def _unused_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_server(
    args: list[str],
    env: dict[str, str],
    *,
    attempts: int = 5,
    timeout: float = 120,
    pick_port: Callable[[], int] = _unused_port,
) -> tuple[_ServerProcess, int]:
    """Start `args + ["--port", N]` on an unused port; if another process takes N first, try another.

    (`lantu serve` does not accept port 0, so the port is picked here; a port taken between
    the pick and the bind makes it exit with "address already in use", and we retry.)
    """
    for _ in range(attempts):
        port = pick_port()
        server = _ServerProcess([*args, "--port", str(port)], env)
        if server.wait_started(timeout):
            return server, port
        server.stop()
        if "address already in use" not in server.output.lower():
            raise RuntimeError(f"server did not start:\n{server.output}")
    raise RuntimeError(f"no free port after {attempts} attempts")


@pytest.fixture(scope="module")
def server(blueprint_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """`lantu serve` as a user starts it, in open demo mode on a loopback port."""
    db = tmp_path_factory.mktemp("srv") / "lantu.db"
    env = {**os.environ, "LANTU_DATABASE_URL": f"sqlite:///{db}", "LANTU_TILES": "none"}
    lantu = Path(sys.executable).parent / "lantu"
    process, port = start_server([str(lantu), "serve", "-b", str(blueprint_dir), "--open-demo"], env)
    base = f"http://127.0.0.1:{port}"
    try:
        status = _http("GET", base + "/healthz")[0]
        assert status == 200, f"/healthz answered {status}:\n{process.output}"
        yield base
    finally:
        process.stop()


def test_server_start_retries_when_its_port_is_taken(blueprint_dir: Path, tmp_path: Path) -> None:
    """Another process holding the picked port costs one retry, never a test against the wrong server."""
    env = {**os.environ, "LANTU_DATABASE_URL": f"sqlite:///{tmp_path / 'lantu.db'}", "LANTU_TILES": "none"}
    lantu = Path(sys.executable).parent / "lantu"
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", 0))
        squatter.listen()
        taken = int(squatter.getsockname()[1])
        picks = iter([taken, _unused_port()])
        process, port = start_server(
            [str(lantu), "serve", "-b", str(blueprint_dir), "--open-demo"], env, pick_port=lambda: next(picks)
        )
        try:
            assert port != taken
            assert _http("GET", f"http://127.0.0.1:{port}/healthz")[0] == 200
        finally:
            process.stop()


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


def test_review_map_renders_in_chromium(server: str, browser: Any) -> None:
    _, headers, _ = _http("POST", server + "/api/v1/reviews", _feature(rect(2.9, 0.1, 3.1, 0.3), id="B"))
    page, errors = _open(browser, server + headers["location"] + "/map")
    assert page.evaluate("typeof L") == "object"
    assert page.evaluate(DRAWN_LAYERS) >= 3  # parcel, conflict pieces and blueprint layers
    assert page.locator("#lantu-legend").is_visible()
    shot = screenshot("review-map.png")
    page.screenshot(path=str(shot))
    assert shot.stat().st_size > 10_000
    assert errors == []


def test_viewer_draws_and_reviews_in_chromium(server: str, browser: Any) -> None:
    page, errors = _open(browser, server + "/")
    assert page.locator("#lantu-panel").is_visible()
    text = review_drawn_square(page)
    assert "地块 W1" in text and "亩" in text
    review = page.evaluate("window.lantuLastReview")
    assert review["parcels"][0]["area_m2"] > 0 and len(review["parcels"][0]["items"]) == 13
    page.screenshot(path=str(screenshot("viewer.png")))
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
