"""Fixtures: the rectangle blueprint (see ``support.py`` for its layers), parcels, database engines, a browser.

The service's ``settings`` and its ``keys`` (one per role) are here too. Plain helpers
and constants (``rect``, ``EPSG``, ``parcel_frame``, …) live in ``support.py`` and are
imported from there; only fixtures live here.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import geopandas as gpd
import pytest
from hypothesis import settings as hypothesis_settings
from sqlalchemy import Engine
from support import CHROMIUM, CHROMIUM_ARGS, ROLES, fresh_postgres, full_layers, parcel_frame, rect_blueprint

from api.keys import create_key, ensure_schema
from api.settings import Settings
from geo import batch
from geo.blueprint import Blueprint, load_blueprint
from geo.db import make_engine, migrate
from geo.signing import KEY_FILE, SigningKey, load_key_file

# CI runs the same hypothesis examples every time (a red CI must be reproducible);
# locally, examples vary from run to run and the LANTU_*_EXAMPLES variables raise their number.
hypothesis_settings.register_profile("ci", derandomize=True, database=None)
if os.environ.get("CI") == "true":
    hypothesis_settings.load_profile("ci")


@pytest.fixture(scope="session")
def blueprint_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return rect_blueprint(tmp_path_factory.mktemp("bp") / "full", full_layers())


@pytest.fixture(scope="session")
def blueprint(blueprint_dir: Path) -> Blueprint:
    return load_blueprint(blueprint_dir)


@pytest.fixture
def parcels() -> Callable[..., gpd.GeoDataFrame]:
    return parcel_frame


@pytest.fixture(params=["sqlite", "postgresql"])
def engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    """A migrated database: a SQLite file, and a fresh PostgreSQL test database when one is configured."""
    eng = make_engine(f"sqlite:///{tmp_path / 'ledger.db'}") if request.param == "sqlite" else fresh_postgres()
    migrate(eng)
    yield eng
    eng.dispose()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Headless Chromium (Playwright); skipped where it is not installed, a failure on CI."""
    if not CHROMIUM.exists():
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI must run the browser tests: {CHROMIUM} is missing (see .ci/run)")
        pytest.skip("Debian chromium not installed on this machine")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture
def settings(tmp_path: Path, blueprint_dir: Path) -> Settings:
    """The service over the rectangle blueprint and a fresh SQLite file, without map tiles."""
    return Settings(
        blueprint=blueprint_dir,
        database_url=f"sqlite:///{tmp_path / 'lantu.db'}",
        max_upload_bytes=2_000_000,
        tiles="none",
    )


@pytest.fixture
def keys(settings: Settings) -> dict[str, str]:
    """One API key per role in the settings' database: role → key."""
    engine = make_engine(settings.database_url)
    migrate(engine)
    ensure_schema(engine)
    return {role: create_key(engine, f"test-{role}", role) for role in ROLES}


@pytest.fixture(autouse=True)
def lantu_state(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The folder of the key that signs review files for the ``lantu`` command under test
    (``LANTU_SIGNING_KEY_FILE``) and of its default database: a test's own, never the user's home or the
    working directory. A test that sets ``LANTU_DATABASE_URL`` itself keeps the key here."""
    state = tmp_path_factory.mktemp("state")
    monkeypatch.setenv("LANTU_SIGNING_KEY_FILE", str(state / KEY_FILE))
    monkeypatch.setenv("LANTU_DATABASE_URL", f"sqlite:///{state / 'lantu.db'}")
    return state


@pytest.fixture
def signing_key(lantu_state: Path) -> SigningKey:
    """The key the ``lantu`` command under test signs review files with (its key file, made here)."""
    key = load_key_file(lantu_state / KEY_FILE, create=True)
    assert key is not None
    return key


@pytest.fixture(autouse=True)
def _no_pool_left() -> Iterator[None]:
    """A test's forked worker pools end with it (``geo.batch`` keeps them for the process's life)."""
    yield
    batch.close_pools()
