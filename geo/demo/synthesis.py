"""The synthetic control layers of the demo blueprint, drawn from one random generator.

Everything happens in the recipe's Gauss-Krüger zone (metres), in a fixed order
of draws from ``rng``, so the same seed gives the same layers: towns and the urban
boundary (城镇开发边界); a terrain of Gaussian hills whose slope becomes the
raster, the geohazard zones and the forest (and a steep knoll only the raster sees);
Voronoi patches that tile the county exactly, classed by setting (town, hill, lakeside,
countryside); basic farmland on cultivated patches; red lines on the lake and hill cores; a water source on the
canal; coal fields, heritage sites, flood zones, illegal, unsupplied and idle
patches; planned-use zones that tile the county.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import rasterio.features
import shapely
from affine import Affine
from rasterio.transform import from_origin

from geo.crs import reproject
from geo.io.blueprint import RasterLayer

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

FloatGrid = np.ndarray[Any, np.dtype[np.float64]]
STEEP_DEGREES = 25.0  # item 7's slope threshold (the profile's raster_share_above)
KNOLL_M = 150.0  # a knoll's height and its σ alike: flanks of about 31°


@dataclass(frozen=True)
class DemoLayers:
    """The synthetic layers (standard ids and attribute names) in ``zone``, with the slope raster."""

    zone: int
    layers: dict[str, gpd.GeoDataFrame]
    slope: RasterLayer
    urban: shapely.Geometry
    steep: shapely.Geometry  # land steeper than 25° (off the red line and farmland): the ``steep`` case's land


@dataclass(frozen=True)
class _Water:
    lake: shapely.Geometry
    canal: shapely.Geometry
    water: shapely.Geometry
    land: shapely.Geometry


def synthesize_layers(
    spec: dict[str, Any],
    rng: np.random.Generator,
    county: shapely.Geometry,
    lakes: gpd.GeoDataFrame,
    rivers: gpd.GeoDataFrame,
) -> DemoLayers:
    """Every synthetic layer over ``county`` (a polygon in the recipe's ``zone_epsg``)."""
    zone = int(spec["zone_epsg"])
    w = _water(county, lakes, rivers, zone)

    # towns and the urban development boundary (城镇开发边界)
    centre = reproject(shapely.Point(spec["city_centre"]), 4490, zone)
    if not w.land.contains(centre):
        centre = w.land.representative_point()
    towns = [centre, *random_points(rng, w.land.difference(centre.buffer(9000)), spec["towns"] - 1)]
    urban = shapely.union_all([blob(rng, centre, 4500), *(blob(rng, t, rng.uniform(900, 1500)) for t in towns[1:])])
    urban = urban.intersection(w.land)

    # terrain, slope and hills
    pixel = float(spec["slope_pixel_m"])
    z, transform = _elevation(rng, county, shapely.MultiPoint(towns), spec["hills"], pixel)
    hills = _polygons_where(z > 80, transform, w.land.difference(urban))
    hill_cores = _polygons_where(z > 150, transform, w.land.difference(urban))
    slope = _slope_degrees(z, pixel)  # the geohazard zones' (below)
    # knolls on the hills (林地 already), centred off the red line on their cores, from their own generator (like
    # the supplementary layers): steep land beyond any 易发区, where the slope rule alone speaks. Only the slope
    # raster sees them: every layer and every draw stays as the seed made it, and so do the demo parcels
    slopes = hills.buffer(-KNOLL_M).difference(hill_cores.buffer(150 + KNOLL_M))
    knolls = _knolls(np.random.default_rng(spec["seed"] + 2), slopes, spec["knolls"], transform, z.shape)
    raster = _slope_degrees(z + knolls, pixel)

    land_use = _land_use(rng, spec["land_use_patches"], county, w, urban, hills, zone)
    cultivated = land_use[land_use["class_code"].str.startswith("01")]
    rural_cult = cultivated[~cultivated.intersects(urban)]
    farmland = rural_cult.sample(frac=spec["farmland_share"], random_state=spec["seed"])
    farmland_geom = shapely.union_all(farmland.geometry.values)

    # protected nature: the lake is a (real) provincial nature reserve area; red lines on lake and hill cores
    reserve = w.lake.buffer(-200).union(hill_cores.buffer(-100) if not hill_cores.is_empty else shapely.Polygon())
    reserve = reserve.intersection(county)
    redline = shapely.union_all([w.lake, hill_cores.buffer(150)]).intersection(county).difference(urban.buffer(200))

    # drinking-water source on the canal, away from towns
    candidates = [
        p for p in random_points(rng, w.canal.buffer(10), 200) if p.distance(urban) > 3000 and p.distance(w.lake) > 3000
    ]
    source = candidates[0] if candidates else random_points(rng, w.land.difference(urban), 1)[0]
    ws1 = source.buffer(300)
    ws2 = source.buffer(1000).difference(ws1)
    ws3 = source.buffer(2000).difference(source.buffer(1000))

    # minerals (济宁 is a coal base), geohazard from slope, heritage, flood zones
    mines = [
        blob(rng, p, rng.uniform(1200, 2500), 0.5) for p in random_points(rng, w.land.difference(urban.buffer(2000)), 3)
    ]
    high = _polygons_where(slope > 15, transform, w.land)
    mid = _polygons_where(slope > 8, transform, w.land).difference(high)
    low = _polygons_where(slope > 3, transform, w.land).difference(high).difference(mid)
    sites = [random_points(rng, urban.buffer(-800), 1)[0], *random_points(rng, w.land.difference(urban), 1)]
    protect = [s.buffer(150) for s in sites]
    control = [s.buffer(500).difference(s.buffer(150)) for s in sites]
    flood = (
        shapely.union_all([w.canal.buffer(200), w.lake.buffer(300)]).intersection(county)
        if not w.water.is_empty
        else shapely.Polygon()
    )

    rural = w.land.difference(urban).difference(redline)
    illegal = _patches(rng, rural, 15, 60, 160)
    unsupplied = _patches(rng, urban.buffer(-300), 10, 150, 350)
    idle = _patches(rng, urban.buffer(-300), 5, 100, 250)
    zoning = _planned_use(county, redline, urban, farmland_geom)

    layers: dict[str, gpd.GeoDataFrame] = {
        "land_use": land_use,
        # 城镇开发边界 = 城镇集中建设区 + 城镇弹性发展区 as zoned (自然资发〔2023〕193号 附件 三区三线): the boundary
        # holds the 弹性发展区 ring around the towns, never the other way round
        "urban_boundary": polygon_frame([shapely.union_all([g for n, g in zoning if n.startswith("城镇")])], zone),
        "planned_use": polygon_frame([g for _, g in zoning], zone, zone=[n for n, _ in zoning]),
        "basic_farmland": polygon_frame(list(farmland.geometry), zone),
        "ecological_redline": polygon_frame([redline], zone),
        "nature_reserve": _reserve_zones(reserve, w.lake, zone),
        "water_source": polygon_frame([ws1, ws2, ws3], zone, level=["一级", "二级", "准保护区"]),
        "mineral": polygon_frame(mines, zone, kind=["煤"] * len(mines)),
        "geohazard": polygon_frame([high, mid, low], zone, level=["高", "中", "低"]),
        "heritage": polygon_frame(
            protect + control,
            zone,
            zone=["保护范围"] * len(protect) + ["建设控制地带"] * len(control),
            site=[f"示例文物点{i + 1}" for i in range(len(sites))] * 2,
        ),
        "flood_river": _flood_kinds(flood, w.canal, zone),
        "illegal_use": polygon_frame(illegal, zone),
        "approved_unsupplied": _stock_frame(unsupplied, zone, "PEWG", first_year=2020),
        "idle_land": _stock_frame(idle, zone, "XZTD", first_year=2017),
    }
    # supplementary layers from their own generator, so every layer above stays as the seed made it
    layers |= _supplementary(np.random.default_rng(spec["seed"] + 1), land_use, urban, w, sites, zone)
    # the steep case's land: off the red line and basic farmland, so that the slope rule speaks among few others
    steep = _polygons_where(raster > STEEP_DEGREES, transform, w.land.difference(redline).difference(farmland_geom))
    return DemoLayers(zone=zone, layers=layers, slope=RasterLayer(raster, transform, zone), urban=urban, steep=steep)


def _stock_frame(patches: list[shapely.Polygon], zone: int, prefix: str, *, first_year: int) -> gpd.GeoDataFrame:
    """Stock land (批而未供/闲置) with what the 增存挂钩 register reads: a 标识码 and the approval year
    (批准年份), cycling over six years from ``first_year`` — except the last patch, which has none, as
    real registers have gaps (the import reports it, it never guesses). No draw on the seed's generator."""
    frame = polygon_frame(patches, zone)
    years: list[int | None] = [first_year + i % 6 for i in range(len(frame))]
    if years:
        years[-1] = None
    frame.insert(0, "approval_year", pd.array(years, dtype="Int64"))
    frame.insert(0, "feature_id", [f"{prefix}{i + 1:03d}" for i in range(len(frame))])
    return frame


CORE_DEPTH_M = 1000  # the lake's reserve deeper than this inside its edge is the core zone (核心保护区)


def _reserve_zones(reserve: shapely.Geometry, lake: shapely.Geometry, zone: int) -> gpd.GeoDataFrame:
    """自然保护地 by zone: the lake's interior 核心保护区, its rim and the hill cores 一般控制区."""
    core = reserve.intersection(lake.buffer(-CORE_DEPTH_M))
    general = reserve.difference(core)
    return polygon_frame([core, general], zone, zone=["核心保护区", "一般控制区"], name=["南四湖（示例）"] * 2)


def _flood_kinds(flood: shapely.Geometry, canal: shapely.Geometry, zone: int) -> gpd.GeoDataFrame:
    """河湖管理范围 along the canal (its water and 200 m banks), 蓄滞洪区 for the rest (the lake and its rim)."""
    river = flood.intersection(canal.buffer(200))
    return polygon_frame([river, flood.difference(river)], zone, kind=["河湖管理范围", "蓄滞洪区"])


def _supplementary(
    rng: np.random.Generator,
    land_use: gpd.GeoDataFrame,
    urban: shapely.Geometry,
    w: _Water,
    sites: list[shapely.Point],
    zone: int,
) -> dict[str, gpd.GeoDataFrame]:
    """The optional layers: a buried-heritage zone in town away from the listed sites, public-welfare
    forest and basic grassland on half the hill forest and grass patches, important wetland on the
    lakeside flats, and two contaminated plots on urban industrial land."""
    town = urban.buffer(-800).difference(shapely.union_all([s.buffer(1500) for s in sites]))
    buried = [blob(rng, p, 600) for p in random_points(rng, town if not town.is_empty else urban, 1)]

    def half(codes: list[str], near: shapely.Geometry | None = None) -> list[shapely.Geometry]:
        patches = land_use[land_use["class_code"].isin(codes)]
        if near is not None:
            patches = patches[patches.intersects(near)]
        return list(patches.sample(n=(len(patches) + 1) // 2, random_state=rng).geometry)

    industrial = land_use[(land_use["class_code"] == "0601") & land_use.within(urban)]
    plots = list(industrial.sample(n=min(2, len(industrial)), random_state=rng).geometry)
    return {
        "buried_heritage": polygon_frame([g.intersection(urban) for g in buried], zone, name=["示例古城遗址"]),
        "protected_forest": polygon_frame(half(["0301", "0305"]), zone),
        "basic_grassland": polygon_frame(half(["0404", "0401", "0403"]), zone),
        "important_wetland": polygon_frame(half(["1106", "1108", "0303"], near=w.lake.buffer(3000)), zone),
        "soil_pollution": polygon_frame(plots, zone, kind=["污染地块", "疑似污染地块"][: len(plots)]),
    }


def _water(county: shapely.Geometry, lakes: gpd.GeoDataFrame, rivers: gpd.GeoDataFrame, zone: int) -> _Water:
    """The real lake and a 120 m wide canal along the real river lines, cut to the county.

    Without real water data (or none crossing the county) a lake and a north-south canal
    are drawn, so every water-bound layer still has somewhere to go.
    """
    lake = (
        shapely.union_all(lakes.to_crs(zone).geometry.values).intersection(county) if len(lakes) else shapely.Polygon()
    )
    minx, miny, maxx, maxy = county.bounds
    if lake.area < 1e6:
        lake = shapely.Point(minx + 0.25 * (maxx - minx), (miny + maxy) / 2).buffer(0.08 * (maxx - minx))
        lake = lake.intersection(county)
    river_lines = (
        shapely.union_all(rivers.to_crs(zone).geometry.values).intersection(county)
        if len(rivers)
        else shapely.LineString()
    )
    if river_lines.length < 1000:
        mid = minx + 0.6 * (maxx - minx)
        river_lines = shapely.LineString([(mid, miny), (mid, maxy)]).intersection(county)
    canal = river_lines.buffer(60).intersection(county) if not river_lines.is_empty else shapely.Polygon()
    canal = canal.difference(lake)
    water = shapely.union_all([lake, canal])
    return _Water(lake=lake, canal=canal, water=water, land=county.difference(water))


def _land_use(
    rng: np.random.Generator,
    patches: int,
    county: shapely.Geometry,
    w: _Water,
    urban: shapely.Geometry,
    hills: shapely.Geometry,
    zone: int,
) -> gpd.GeoDataFrame:
    """三调 patches: Voronoi cells tiling the county exactly, water cut out and added back as 1102/1101."""
    seeds = shapely.MultiPoint(random_points(rng, county, patches))
    cells = shapely.get_parts(shapely.voronoi_polygons(seeds, extend_to=county.envelope.buffer(1000)))
    cells = shapely.intersection(cells, w.land)
    lakeside = w.lake.buffer(1500).difference(w.lake) if not w.lake.is_empty else shapely.Polygon()
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
    return polygon_frame([*cells, w.lake, w.canal], zone, class_code=[*codes, "1102", "1101"])


def _planned_use(
    county: shapely.Geometry, redline: shapely.Geometry, urban: shapely.Geometry, farmland: shapely.Geometry
) -> list[tuple[str, shapely.Geometry]]:
    """Planned-use zones (用途分区) tiling the county: the first zone to claim a place keeps it."""
    zoning, remaining = [], county
    for name, geom in (
        ("生态保护区", redline),
        ("城镇集中建设区", urban),
        ("城镇弹性发展区", urban.buffer(600).difference(urban)),
        ("农田保护区", farmland),
    ):
        piece = geom.intersection(remaining)
        zoning.append((name, piece))
        remaining = remaining.difference(piece)
    zoning.append(("一般农业区", remaining))
    return zoning


def random_points(rng: np.random.Generator, area: shapely.Geometry, n: int) -> list[shapely.Point]:
    """``n`` points drawn uniformly inside ``area`` (rejection sampling over its bounds)."""
    minx, miny, maxx, maxy = area.bounds
    shapely.prepare(area)
    found: list[shapely.Point] = []
    while len(found) < n:
        xy = rng.uniform((minx, miny), (maxx, maxy), size=(4 * n, 2))
        pts = shapely.points(xy)
        found += list(pts[shapely.contains(area, pts)])
    return found[:n]


def blob(rng: np.random.Generator, centre: shapely.Point, radius: float, wobble: float = 0.3) -> shapely.Polygon:
    """An irregular round shape: a circle whose radius follows a few random harmonics."""
    angles = np.linspace(0, 2 * np.pi, 73)[:-1]
    r = np.full_like(angles, radius)
    for k in (2, 3, 5):
        r += radius * wobble / k * np.sin(k * angles + rng.uniform(0, 2 * np.pi))
    return shapely.Polygon(np.c_[centre.x + r * np.cos(angles), centre.y + r * np.sin(angles)])


def polygon_frame(geoms: list[shapely.Geometry], crs: int, **columns: list[Any]) -> gpd.GeoDataFrame:
    """Single polygons with their attributes: multi-parts exploded, empties and sub-m² slivers dropped."""
    frame = gpd.GeoDataFrame(columns, geometry=geoms, crs=crs)
    frame = frame.explode(index_parts=False)
    frame = frame[frame.geom_type == "Polygon"]
    return frame[~frame.geometry.is_empty & (frame.area > 1.0)].reset_index(drop=True)


def _pick(rng: np.random.Generator, mix: dict[str, int]) -> str:
    codes = list(mix)
    weights = np.array([mix[c] for c in codes], dtype=float)
    return str(rng.choice(codes, p=weights / weights.sum()))


def _patches(rng: np.random.Generator, area: shapely.Geometry, n: int, lo: float, hi: float) -> list[shapely.Polygon]:
    """``n`` axis-aligned rectangles (sides ``lo``…``hi`` m) centred inside ``area``."""
    return [
        shapely.box(p.x - w / 2, p.y - h / 2, p.x + w / 2, p.y + h / 2)
        for p, w, h in zip(random_points(rng, area, n), rng.uniform(lo, hi, n), rng.uniform(lo, hi, n), strict=True)
    ]


def _elevation(
    rng: np.random.Generator, county: shapely.Geometry, towns: shapely.Geometry, hills: int, pixel: float
) -> tuple[FloatGrid, Affine]:
    """A smooth synthetic terrain (metres): a gentle plain plus steep Gaussian hills away from towns."""
    minx, miny, maxx, maxy = county.bounds
    width, height = int((maxx - minx) / pixel) + 1, int((maxy - miny) / pixel) + 1
    xs = minx + (np.arange(width) + 0.5) * pixel
    ys = maxy - (np.arange(height) + 0.5) * pixel
    gx, gy = np.meshgrid(xs, ys)
    z: FloatGrid = 35 + 0.0004 * (gx - minx)  # the plain rises gently eastwards
    free = county.difference(towns.buffer(3000))
    for centre in random_points(rng, free if not free.is_empty else county, hills):
        h, sigma = rng.uniform(120, 320), rng.uniform(300, 700)
        z += h * np.exp(-((gx - centre.x) ** 2 + (gy - centre.y) ** 2) / (2 * sigma**2))
    return z, from_origin(minx, maxy, pixel, pixel)


def _knolls(
    rng: np.random.Generator, within: shapely.Geometry, count: int, transform: Affine, shape: tuple[int, ...]
) -> FloatGrid:
    """Steep knolls (metres) to add to the terrain, centred in ``within``: the hills' flanks stay under 21°, so
    without them no land is steeper than 25° and item 7's slope rule (坡度大于25°, 自然资办函〔2020〕127号) never
    speaks in the demo. Each rises ``KNOLL_M`` over a σ of as much: flanks of about 31° on a ring some 0.9 σ wide."""
    rows, cols = np.indices(shape)
    gx, gy = transform * (cols + 0.5, rows + 0.5)
    z: FloatGrid = np.zeros(shape)
    for centre in random_points(rng, within, count) if not within.is_empty else []:
        z += KNOLL_M * np.exp(-((gx - centre.x) ** 2 + (gy - centre.y) ** 2) / (2 * KNOLL_M**2))
    return z


def _slope_degrees(z: FloatGrid, pixel: float) -> np.ndarray[Any, np.dtype[np.float32]]:
    dzdy, dzdx = np.gradient(z, pixel)
    slope: np.ndarray[Any, np.dtype[np.float32]] = np.degrees(np.arctan(np.hypot(dzdx, dzdy))).astype("float32")
    return slope


def _polygons_where(mask: np.ndarray[Any, Any], transform: Affine, clip: shapely.Geometry) -> shapely.Geometry:
    """The cells where ``mask`` holds, as one simplified (15 m) polygon cut to ``clip``."""
    shapes = [
        shapely.geometry.shape(g)
        for g, v in rasterio.features.shapes(mask.astype("uint8"), mask=mask, transform=transform)
        if v == 1
    ]
    if not shapes:
        return shapely.Polygon()
    return shapely.union_all(shapes).simplify(15).buffer(0).intersection(clip)
