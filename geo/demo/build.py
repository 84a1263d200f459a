"""The demo blueprint on disk: recipe → sources → synthesis → one blueprint writer → parcels."""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import shapely
import yaml

from geo.build import build_blueprint
from geo.crs import reproject
from geo.demo.export import write_sources
from geo.demo.parcels import demo_parcels
from geo.demo.sources import Sources, load_counties, load_water
from geo.demo.synthesis import synthesize_layers
from geo.errors import InputError
from geo.resources import packaged

log = logging.getLogger(__name__)

RECIPE = packaged("demo/recipe.yaml")
# the build date and the GeoPackages' last_change: fixed, so that the same seed gives the same blueprint
TIMESTAMP = datetime(2026, 1, 1, tzinfo=UTC)
SOURCES_DIR = "sources"  # the generated sources, as a city hands them over


def build_demo_blueprint(
    out_dir: str | Path, *, data_dir: str | Path | None = None, recipe: Traversable = RECIPE
) -> Path:
    """Generate the demo blueprint (every standard layer) and demo parcels into ``out_dir``."""
    out = Path(out_dir)
    spec = yaml.safe_load(recipe.read_text(encoding="utf-8"))
    rng = np.random.default_rng(spec["seed"])
    zone = int(spec["zone_epsg"])
    data = Path(data_dir) if data_dir else None
    counties, boundary_source = load_counties(spec["city_code"], data)
    lakes, rivers, water_source = load_water(data)
    if counties.empty:
        raise InputError(f"no counties for city {spec['city_code']}", f"未找到城市 {spec['city_code']} 的区县")
    chosen = counties[counties["code"] == spec["county_code"]]
    county_row = chosen.iloc[0] if len(chosen) else counties.iloc[0]
    county = shapely.make_valid(reproject(county_row.geometry, 4490, zone))
    log.info("demo county %s %s from %s", county_row["code"], county_row["name"], boundary_source)

    demo = synthesize_layers(spec, rng, county, lakes, rivers)
    # the same path as a city's data: sources in their departments' formats → lantu blueprint build
    out.mkdir(parents=True, exist_ok=True)
    folder = out / SOURCES_DIR
    # the coverage is the county the layers are made for (an ``extent``): the city's other counties are in the
    # county layer, for the ledger and its maps, but a parcel there was never reviewed (out_of_coverage)
    extent = gpd.GeoDataFrame({"name": [county_row["name"]]}, geometry=[county], crs=zone)
    layers = {**demo.layers, "county": counties, "extent": extent}
    write_sources(folder, layers, demo.slope, timestamp=TIMESTAMP)
    _write_sources(folder, Sources(boundary_source, water_source), spec["seed"])
    built = out / ".build"
    build_blueprint([folder], built, name=spec["name"], built=TIMESTAMP)  # SOURCES.txt goes with it
    for path in built.iterdir():
        path.replace(out / path.name)
    built.rmdir()
    parcels = demo_parcels(
        rng,
        demo.layers,
        spec["parcels"],
        urban=demo.urban,
        steep=demo.steep,
        county=county,
        side=float(spec["parcel_side_m"]),
        zone=zone,
    )
    parcels.to_crs(4490).to_file(out / "parcels.geojson", driver="GeoJSON", engine="pyogrio")
    log.info("demo blueprint written to %s (%d parcels)", out, len(parcels))
    return out


def _write_sources(out: Path, sources: Sources, seed: int) -> None:
    """SOURCES.txt: the layers are synthetic (both languages), and where the real parts came from."""
    (out / "SOURCES.txt").write_text(
        "示例蓝图：管控图层为按固定随机种子生成的合成数据，不是真实的管控数据。\n"
        "Demo blueprint: the control layers are SYNTHETIC (fixed seed), not real data.\n"
        f"county boundaries: {sources.boundaries}\nrivers and lakes: {sources.water}\n"
        f"seed: {seed}\n",
        encoding="utf-8",
    )


def demo_summary(out_dir: Path) -> dict[str, Any]:
    """Feature counts per layer, for the CLI to print."""
    manifest = yaml.safe_load((out_dir / "blueprint.yaml").read_text(encoding="utf-8"))
    return {
        "name": manifest["name"],
        "layers": list(manifest["layers"]),
        "sources": (out_dir / "SOURCES.txt").read_text(encoding="utf-8"),
        "parcels": len(json.loads((out_dir / "parcels.geojson").read_text(encoding="utf-8"))["features"]),
    }
