"""Blueprint versions in the service: shown in /readyz, /api/v1/layers and every review; a stored
review keeps the version it used; reload (admin, or SIGHUP) swaps blueprints under load without a
failed request."""

from __future__ import annotations

import os
import shutil
import signal
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from support import assert_problem, auth, full_layers, rect_blueprint
from test_api import FARMLAND, PASSING
from test_server import _http, start_server

from api.app import create_app
from api.settings import Settings
from geo.blueprint import load_blueprint


def _replace(live: Path, name: str) -> str:
    """Write a new blueprint (another name, so another version) and move it over ``live``; its version."""
    fresh = rect_blueprint(live.parent / f"{name}.new", full_layers(), name=name)
    shutil.rmtree(live)
    fresh.rename(live)
    return load_blueprint(live).version


@pytest.fixture
def live(tmp_path: Path) -> Path:
    return rect_blueprint(tmp_path / "live", full_layers(), name="第一版")


@pytest.fixture
def service(live: Path, settings: Settings) -> Settings:
    return settings.model_copy(update={"blueprint": live, "workers": 2, "queue": 64})


def test_version_in_readyz_layers_and_reviews(service: Settings, keys: dict[str, str], live: Path) -> None:
    version = load_blueprint(live).version
    with TestClient(create_app(service)) as client:
        assert client.get("/readyz").json()["blueprint_version"] == version
        assert client.get("/api/v1/layers", headers=auth(keys)).json()["blueprint_version"] == version
        body = client.post("/api/v1/reviews", json=FARMLAND, headers=auth(keys)).json()
        assert body["blueprint_version"] == version and list(body)[:4] == [
            "review_id", "profile", "blueprint", "blueprint_version",
        ]  # fmt: skip


def test_reload_needs_the_admin_role(service: Settings, keys: dict[str, str]) -> None:
    with TestClient(create_app(service)) as client:
        for role in ("planner", "project-system", "quota-admin"):
            assert_problem(client.post("/api/v1/admin/blueprint/reload", headers=auth(keys, role)), 403)
        assert client.post("/api/v1/admin/blueprint/reload").status_code == 401


def test_reload_under_concurrent_requests_drops_none(service: Settings, keys: dict[str, str], live: Path) -> None:
    first = load_blueprint(live).version
    with TestClient(create_app(service)) as client:
        stored = client.post("/api/v1/reviews", json=FARMLAND, headers=auth(keys)).json()
        deadline = time.monotonic() + 60

        def hammer(i: int) -> list[tuple[int, str | None]]:
            seen = []
            for _ in range(8):
                if time.monotonic() > deadline:
                    break
                r = client.post("/api/v1/reviews", json=PASSING if i % 2 else FARMLAND, headers=auth(keys))
                seen.append((r.status_code, r.json().get("blueprint_version")))
                layers = client.get("/api/v1/layers", headers=auth(keys))
                seen.append((layers.status_code, layers.json().get("blueprint_version")))
            return seen

        with ThreadPoolExecutor(4) as pool:
            running = [pool.submit(hammer, i) for i in range(4)]
            versions = [first]
            for n in range(2):
                versions.append(_replace(live, f"第{n + 2}版"))
                r = client.post("/api/v1/admin/blueprint/reload", headers=auth(keys, "admin"))
                assert r.status_code == 200, r.text
                assert r.json()["blueprint_version"] == versions[-1]
                assert r.json()["previous_version"] == versions[-2]
            results = [s for f in running for s in f.result()]
        assert results and all(status in (200, 201) for status, _ in results), results
        assert {v for _, v in results} <= set(versions)
        assert len(set(versions)) == 3
        after = client.post("/api/v1/reviews", json=FARMLAND, headers=auth(keys)).json()
        assert after["blueprint_version"] == versions[-1]
        assert client.get("/readyz").json()["blueprint_version"] == versions[-1]
        again = client.get(f"/api/v1/reviews/{stored['review_id']}", headers=auth(keys)).json()
        assert again["blueprint_version"] == first  # a stored review keeps the version it used


def test_a_broken_blueprint_leaves_the_old_one_serving(service: Settings, keys: dict[str, str], live: Path) -> None:
    version = load_blueprint(live).version
    with TestClient(create_app(service)) as client:
        (live / "blueprint.yaml").write_text("name: x\nlayers: {nonsense: {path: a.gpkg}}\n", encoding="utf-8")
        assert_problem(client.post("/api/v1/admin/blueprint/reload", headers=auth(keys, "admin")), 503)
        assert client.get("/readyz").json()["blueprint_version"] == version
        assert client.post("/api/v1/reviews", json=FARMLAND, headers=auth(keys)).status_code == 201


@pytest.mark.skipif(not hasattr(signal, "SIGHUP"), reason="no SIGHUP on this platform")
def test_sighup_reloads_a_running_server(live: Path, tmp_path: Path) -> None:
    env = {**os.environ, "LANTU_DATABASE_URL": f"sqlite:///{tmp_path / 'lantu.db'}", "LANTU_TILES": "none"}
    lantu = Path(sys.executable).parent / "lantu"
    process, port = start_server([str(lantu), "serve", "-b", str(live), "--open-demo"], env)
    base = f"http://127.0.0.1:{port}"

    def version() -> Any:
        import json

        return json.loads(_http("GET", base + "/readyz")[2])["blueprint_version"]

    try:
        assert version() == load_blueprint(live).version
        new = _replace(live, "信号版")
        process.proc.send_signal(signal.SIGHUP)
        deadline = time.monotonic() + 60
        while version() != new and time.monotonic() < deadline:
            time.sleep(0.2)
        assert version() == new, process.output
        assert process.proc.poll() is None  # still serving
    finally:
        process.stop()
