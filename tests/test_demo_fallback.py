"""The demo blueprint without its real data packages: a synthetic county with synthetic water."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import pytest

from geo.blueprint import load_blueprint
from geo.demo import build, build_demo_blueprint
from geo.review import review


def test_demo_builds_without_real_water(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    empty = gpd.GeoDataFrame({"NAME": []}, geometry=[], crs=4490)
    monkeypatch.setattr(build, "load_water", lambda _data_dir: (empty, empty, "none (test)"))
    root = build_demo_blueprint(tmp_path / "bp")
    bp = load_blueprint(root)
    water = bp.vector("water_source")
    assert water is not None and len(water.frame) > 0
    result = review(gpd.read_file(root / "parcels.geojson"), bp)
    assert len(result.parcels) >= 10
