"""The load script in its CI size: the real server on loopback under small reviews, hostile uploads and slow clients."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import geopandas as gpd
import shapely

SCRIPT = Path(__file__).resolve().parent.parent / "benchmarks" / "load_service.py"


def test_load_script_small(blueprint_dir: Path, tmp_path: Path) -> None:
    x0, y0 = 464_000.0, 3_918_000.0  # the test blueprint's origin (EPSG:4548), see conftest.py
    boxes = [shapely.box(x0 + 1200 + i * 50, y0 + 1200, x0 + 1240 + i * 50, y0 + 1240) for i in range(5)]
    frame = gpd.GeoDataFrame({"id": [f"L{i}" for i in range(5)]}, geometry=boxes, crs=4548).to_crs(4490)
    parcels = tmp_path / "parcels.geojson"
    parcels.write_text(frame.to_json(drop_id=True), encoding="utf-8")
    run = subprocess.run(
        [sys.executable, str(SCRIPT), "--small", "--blueprint", str(blueprint_dir), "--parcels", str(parcels)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    assert "5xx responses: 0" in run.stdout and "OK" in run.stdout
    assert "peak RSS" in run.stdout and "closed by the header timeout" in run.stdout
