"""Blueprint versions in the service: shown in /readyz, /api/v1/layers and every review; a stored
review keeps the version it used; reload (admin, or SIGHUP) swaps blueprints under load without a
failed request."""

from __future__ import annotations

import json
import logging
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


def _refused(response: Any, version: str, name: str = "第一版") -> dict[str, Any]:
    """A reload refused (409, not 503: the old blueprint serves on) naming the blueprint that stays."""
    body = assert_problem(response, 409)
    assert body["title"] == "ReloadRefusedError"
    assert body["message_en"].startswith("blueprint reload refused: ")
    assert body["message_en"].endswith(f"The blueprint in service stays: {name}, version {version}")
    assert body["message_zh"].startswith("蓝图重载被拒绝：")
    assert body["message_zh"].endswith(f"继续使用当前蓝图：{name}（版本 {version}）")
    return body


def _still_serving(client: TestClient, keys: dict[str, str], version: str) -> None:
    ready = client.get("/readyz")
    assert ready.status_code == 200 and ready.json()["blueprint_version"] == version
    review = client.post("/api/v1/reviews", json=FARMLAND, headers=auth(keys))
    assert review.status_code == 201 and review.json()["blueprint_version"] == version


def test_a_broken_blueprint_leaves_the_old_one_serving(service: Settings, keys: dict[str, str], live: Path) -> None:
    version = load_blueprint(live).version
    with TestClient(create_app(service)) as client:
        (live / "blueprint.yaml").write_text("name: x\nlayers: {nonsense: {path: a.gpkg}}\n", encoding="utf-8")
        body = _refused(client.post("/api/v1/admin/blueprint/reload", headers=auth(keys, "admin")), version)
        assert "unknown layer id(s) ['nonsense']" in body["message_en"]
        _still_serving(client, keys, version)


def test_a_reload_refused_for_a_deleted_layer_names_it_logs_it_and_can_be_retried(
    service: Settings, keys: dict[str, str], live: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    version = load_blueprint(live).version
    kept = tmp_path / "basic_farmland.gpkg"
    with TestClient(create_app(service)) as client:
        (live / "basic_farmland.gpkg").rename(kept)
        with caplog.at_level(logging.ERROR, logger="api.routes.admin"):
            body = _refused(client.post("/api/v1/admin/blueprint/reload", headers=auth(keys, "admin")), version)
        assert "file 'basic_farmland.gpkg' does not exist" in body["message_en"]
        assert "图层 basic_farmland 的文件 'basic_farmland.gpkg' 不存在" in body["message_zh"]
        logged = [r.getMessage() for r in caplog.records if r.name == "api.routes.admin"]
        assert len(logged) == 1, logged
        assert logged[0].startswith(f"blueprint reload (request) refused; 第一版 {version} stays in service: ")
        assert "basic_farmland.gpkg" in logged[0]
        _still_serving(client, keys, version)
        # the refusal held nothing: with the file back, the same request reloads
        kept.rename(live / "basic_farmland.gpkg")
        again = client.post("/api/v1/admin/blueprint/reload", headers=auth(keys, "admin"))
        assert again.status_code == 200, again.text
        assert again.json()["blueprint_version"] == again.json()["previous_version"] == version


def test_a_manifest_that_is_not_text_is_refused_too_not_a_500(
    service: Settings, keys: dict[str, str], live: Path
) -> None:
    version = load_blueprint(live).version
    with TestClient(create_app(service)) as client:
        (live / "blueprint.yaml").write_bytes(b"\xff\xfe\x00name: x")
        _refused(client.post("/api/v1/admin/blueprint/reload", headers=auth(keys, "admin")), version)
        _still_serving(client, keys, version)


def test_a_reload_with_no_blueprint_configured_is_refused(settings: Settings, keys: dict[str, str]) -> None:
    """Nothing to load: asking again cannot help until the service is configured and restarted (409, not 503)."""
    with TestClient(create_app(settings.model_copy(update={"blueprint": None}))) as client:
        body = assert_problem(client.post("/api/v1/admin/blueprint/reload", headers=auth(keys, "admin")), 409)
        assert body["title"] == "ReloadRefusedError"
        assert "started without a blueprint (LANTU_BLUEPRINT)" in body["message_en"]
        assert "restart" in body["message_en"]
        assert "服务启动时未配置蓝图（LANTU_BLUEPRINT）" in body["message_zh"] and "重启服务" in body["message_zh"]
        assert client.app.state.blueprint is None


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


@pytest.mark.skipif(not hasattr(signal, "SIGHUP"), reason="no SIGHUP on this platform")
def test_sighup_with_a_broken_blueprint_logs_the_refusal_and_keeps_serving(live: Path, tmp_path: Path) -> None:
    env = {**os.environ, "LANTU_DATABASE_URL": f"sqlite:///{tmp_path / 'lantu.db'}", "LANTU_TILES": "none"}
    lantu = Path(sys.executable).parent / "lantu"
    version = load_blueprint(live).version
    process, port = start_server([str(lantu), "serve", "-b", str(live), "--open-demo"], env)
    said = f"blueprint reload (SIGHUP) refused; 第一版 {version} stays in service: "
    try:
        (live / "basic_farmland.gpkg").unlink()
        process.proc.send_signal(signal.SIGHUP)
        deadline = time.monotonic() + 60
        while not any(said in line for line in process.lines) and time.monotonic() < deadline:
            time.sleep(0.2)
        refusal = [line for line in process.lines if said in line]
        assert len(refusal) == 1 and "basic_farmland.gpkg" in refusal[0], process.output
        assert not any("SIGHUP reload failed" in line for line in process.lines)  # logged once, as a request's
        status, _, body = _http("GET", f"http://127.0.0.1:{port}/readyz")
        assert status == 200 and json.loads(body)["blueprint_version"] == version
        assert process.proc.poll() is None  # still serving
    finally:
        process.stop()
