"""Fixtures: the rectangle blueprint (see ``support.py`` for its layers), parcels, database engines.

Plain helpers and constants (``rect``, ``EPSG``, ``parcel_frame``, …) live in
``support.py`` and are imported from there; only fixtures live here.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path

import geopandas as gpd
import pytest
from hypothesis import settings
from sqlalchemy import Engine
from support import fresh_postgres, full_layers, parcel_frame, rect_blueprint

from geo.blueprint import Blueprint, load_blueprint
from geo.db import make_engine, migrate

# CI runs the same hypothesis examples every time (a red CI must be reproducible);
# locally, examples vary from run to run and the LANTU_*_EXAMPLES variables raise their number.
settings.register_profile("ci", derandomize=True, database=None)
if os.environ.get("CI") == "true":
    settings.load_profile("ci")


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
