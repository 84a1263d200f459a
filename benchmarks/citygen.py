"""Deterministic synthetic city for the city-scale benchmark (``bench_city.py``).

Everything is drawn from one seed in a CGCS2000 3° Gauss-Krüger zone (EPSG:4548,
central meridian 117°E, no zone prefix), so a parcel's own zone is the data's zone:

* ``land_use`` (三调地类图斑): a perturbed grid of ~100 m cells whose shared edges are
  densified with the same wiggly points on both sides, so the cells tile the area
  exactly (no gaps, no overlaps); 20–200 vertices per cell, ~60 on average.
* ``basic_farmland``: a second, coarser tiling (~160 m cells, 40–120 vertices), a
  random 50 % of its cells kept — one fifth of the land-use count.
* ``planned_use`` and ``county``: coarse tilings (1.5 km zones, ~33 km counties).
* every other vector layer: star-shaped blobs, one per cell of a coarse grid, so the
  features of a layer never overlap (and ``approved_unsupplied``/``idle_land``,
  ``nature_reserve``/``water_source`` are drawn from one pool, so never overlap each
  other); ``heritage`` is a protection blob plus its construction-control ring;
  ``flood_river`` is buffered random-walk rivers, dissolved and cut by a 5 km grid.
* ``slope``: a smooth GeoTIFF of degrees, 50 m cells.
* parcels of 5–500 亩 (irregular, star-shaped), the smaller sets prefixes of the largest.

Its check of every polygon is recorded (``lantu blueprint check --record``), as a build records its own, so a load
of it is a load of a built city's blueprint; ``bench_city.py`` times the load testing them again too.

Disjoint features within every compared target mean that "area of the parcel inside
the layer" is both the sum over intersecting pairs and the area of the union: every
engine in the benchmark computes the same number.

    python benchmarks/citygen.py --scale tiny   # writes ~/.cache/lantu-bench/tiny/
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import numpy as np
import pyogrio
import shapely
import shapely.affinity

EPSG = 4548  # CGCS2000 / 3-degree Gauss-Kruger CM 117E
ORIGIN = (450_000.0, 3_880_000.0)  # lower-left corner: ~116.45°E, 35.05°N (near 济宁)
MU = 10_000 / 15  # m² per 亩
FORMAT_VERSION = 5  # bump when the generator changes: the cache key includes it


@dataclass(frozen=True)
class Scale:
    name: str
    cells: int  # land-use cells per side (100 m each)
    parcel_sets: tuple[int, ...]

    @property
    def side(self) -> float:
        return self.cells * 100.0

    @property
    def factor(self) -> float:  # area relative to the 100 km × 100 km city
        return (self.side / 100_000.0) ** 2


SCALES = {
    "tiny": Scale("tiny", 40, (1, 30, 120)),
    "small": Scale("small", 300, (1, 1_000, 10_000)),
    "medium": Scale("medium", 550, (1, 1_000, 30_000)),
    "city": Scale("city", 1000, (1, 1_000, 100_000)),
}

# 三调 codes with a share of the cells (plains prefecture: ~45 % cultivated)
LANDUSE_CODES = {
    "0101": 0.12,
    "0102": 0.15,
    "0103": 0.18,
    "0201": 0.03,
    "0204": 0.01,
    "0301": 0.05,
    "0305": 0.02,
    "0307": 0.02,
    "0404": 0.02,
    "05H1": 0.01,
    "0508": 0.01,
    "0601": 0.04,
    "0701": 0.04,
    "0702": 0.09,
    "08H2": 0.01,
    "1003": 0.02,
    "1004": 0.02,
    "1006": 0.03,
    "1101": 0.02,
    "1104": 0.03,
    "1107": 0.03,
    "1202": 0.02,
    "1203": 0.02,
    "1206": 0.01,
}
PLANNED_ZONES = [
    "城镇集中建设区",
    "城镇弹性发展区",
    "村庄建设区",
    "一般农业区",
    "农田保护区",
    "林业发展区",
    "生态控制区",
    "特别用途区",
]
PROJECT_TYPES = ["industrial", "logistics", "commercial", "residential", "public_service", "infrastructure"]

# layer id -> (file, field mapping in the manifest)
MANIFEST_LAYERS = {
    "land_use": ("landuse.gpkg", {"class_code": "DLBM"}),
    "basic_farmland": ("jbnt.gpkg", {}),
    "ecological_redline": ("redline.gpkg", {}),
    "urban_boundary": ("ubound.gpkg", {}),
    "planned_use": ("planuse.gpkg", {"zone": "YTFQ"}),
    "mineral": ("mineral.gpkg", {"kind": "KZ"}),
    "geohazard": ("hazard.gpkg", {"level": "YFCD"}),
    "nature_reserve": ("reserve.gpkg", {}),
    "water_source": ("water.gpkg", {"level": "BHQJB"}),
    "heritage": ("heritage.gpkg", {"zone": "BHFW"}),
    "flood_river": ("river.gpkg", {}),
    "illegal_use": ("wfyd.gpkg", {}),
    "approved_unsupplied": ("pewg.gpkg", {}),
    "idle_land": ("idle.gpkg", {}),
    "county": ("county.gpkg", {"code": "XZQDM", "name": "XZQMC"}),
}


def cache_root() -> Path:
    return Path(os.environ.get("LANTU_BENCH_CACHE", Path.home() / ".cache" / "lantu-bench"))


# ----------------------------------------------------------------------------- tilings


def perturbed_grid(
    rng: np.random.Generator,
    nx: int,
    ny: int,
    cell: float,
    origin: tuple[float, float],
    k_range: tuple[int, int],
    skew: float = 1.0,
    jitter: float = 0.2,
    amp: float = 0.05,
    rows: tuple[int, int] | None = None,
    state: dict | None = None,
) -> np.ndarray:
    """Polygons tiling ``nx × ny`` cells exactly; each edge carries ``k_range`` interior points.

    The corner jitter and edge points are drawn once (``state`` keeps them between calls)
    so callers can assemble the cells a block of rows at a time (``rows``).
    """
    if state is None or not state:
        st = _grid_state(rng, nx, ny, cell, origin, k_range, skew, jitter, amp)
        if state is not None:
            state.update(st)
    else:
        st = state
    r0, r1 = rows or (0, ny)
    corners, hpts, hstart, hk, vpts, vstart, vk = (
        st["corners"],
        st["hpts"],
        st["hstart"],
        st["hk"],
        st["vpts"],
        st["vstart"],
        st["vk"],
    )
    nc = len(corners)
    coords = np.concatenate([corners, hpts, vpts])
    hoff, voff = nc, nc + len(hpts)
    j, i = np.meshgrid(np.arange(r0, r1), np.arange(nx), indexing="ij")
    j, i = j.ravel(), i.ravel()

    def corner(jj: np.ndarray, ii: np.ndarray) -> np.ndarray:
        return jj * (nx + 1) + ii

    he = lambda jj, ii: jj * nx + ii  # noqa: E731 - horizontal edge (jj, ii)->(jj, ii+1)
    ve = lambda jj, ii: jj * (nx + 1) + ii  # noqa: E731 - vertical edge (jj, ii)->(jj+1, ii)
    b, r, t, lft = he(j, i), ve(j, i + 1), he(j + 1, i), ve(j, i)
    one = np.ones_like(j)
    # nine segments per cell: corner, bottom→, corner, right↑, corner, top←, corner, left↓, closing corner
    starts = np.stack(
        [
            corner(j, i),
            hoff + hstart[b],
            corner(j, i + 1),
            voff + vstart[r],
            corner(j + 1, i + 1),
            hoff + hstart[t] + hk[t] - 1,
            corner(j + 1, i),
            voff + vstart[lft] + vk[lft] - 1,
            corner(j, i),
        ],
        axis=1,
    )
    lengths = np.stack([one, hk[b], one, vk[r], one, hk[t], one, vk[lft], one], axis=1)
    steps = np.broadcast_to(np.array([1, 1, 1, 1, 1, -1, 1, -1, 1]), starts.shape)
    lengths_f = lengths.ravel()
    seg_first = np.repeat(np.cumsum(lengths_f) - lengths_f, lengths_f)
    within = np.arange(lengths_f.sum()) - seg_first
    idx = np.repeat(starts.ravel(), lengths_f) + np.repeat(steps.ravel(), lengths_f) * within
    ring_offsets = np.concatenate([[0], np.cumsum(lengths.sum(axis=1))])
    return shapely.from_ragged_array(shapely.GeometryType.POLYGON, coords[idx], (ring_offsets, np.arange(len(j) + 1)))


def _grid_state(rng, nx, ny, cell, origin, k_range, skew, jitter, amp) -> dict:  # type: ignore[no-untyped-def]
    x0, y0 = origin
    gx, gy = np.meshgrid(np.arange(nx + 1) * cell + x0, np.arange(ny + 1) * cell + y0)
    jx = rng.uniform(-jitter, jitter, gx.shape) * cell
    jy = rng.uniform(-jitter, jitter, gy.shape) * cell
    jx[:, [0, -1]] = 0.0  # the outer boundary stays a rectangle
    jy[[0, -1], :] = 0.0
    corners = np.column_stack([(gx + jx).ravel(), (gy + jy).ravel()])

    def edges(a: np.ndarray, b: np.ndarray, border: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        n = len(a)
        lo, hi = k_range
        k = lo + np.floor((hi - lo + 1) * rng.random(n) ** skew).astype(np.int64)
        k = np.minimum(k, hi)
        start = np.concatenate([[0], np.cumsum(k)[:-1]])
        e = np.repeat(np.arange(n), k)
        rank = np.arange(k.sum()) - np.repeat(start, k)
        kk = k[e]
        tpos = (rank + 1 + rng.uniform(-0.3, 0.3, len(e))) / (kk + 1)
        d = b - a
        length = np.hypot(d[:, 0], d[:, 1])
        normal = np.column_stack([-d[:, 1], d[:, 0]]) / length[:, None]
        f1 = rng.integers(1, 4, n).astype(float)
        f2 = rng.integers(3, 8, n).astype(float)
        p1, p2 = rng.uniform(0, 2 * np.pi, n), rng.uniform(0, 2 * np.pi, n)
        wave = 0.6 * np.sin(2 * np.pi * f1[e] * tpos + p1[e]) + 0.4 * np.sin(2 * np.pi * f2[e] * tpos + p2[e])
        wave += rng.uniform(-0.15, 0.15, len(e))
        off = amp * cell * np.sin(np.pi * tpos) * wave
        off[border[e]] = 0.0
        pts = a[e] + tpos[:, None] * d[e] + off[:, None] * normal[e]
        return pts, start, k

    cidx = np.arange((ny + 1) * (nx + 1)).reshape(ny + 1, nx + 1)
    ha, hb = cidx[:, :-1].ravel(), cidx[:, 1:].ravel()
    hborder = np.zeros((ny + 1, nx), bool)
    hborder[[0, -1], :] = True
    va, vb = cidx[:-1, :].ravel(), cidx[1:, :].ravel()
    vborder = np.zeros((ny, nx + 1), bool)
    vborder[:, [0, -1]] = True
    hpts, hstart, hk = edges(corners[ha], corners[hb], hborder.ravel())
    vpts, vstart, vk = edges(corners[va], corners[vb], vborder.ravel())
    return {"corners": corners, "hpts": hpts, "hstart": hstart, "hk": hk, "vpts": vpts, "vstart": vstart, "vk": vk}


# ----------------------------------------------------------------------------- blobs


def star(
    rng: np.random.Generator,
    cx: float,
    cy: float,
    r: float,
    n: int,
    rough: float = 0.25,
    aspect: float = 1.0,
    angle: float = 0.0,
) -> shapely.Polygon:
    """A star-shaped (hence simple, valid) irregular polygon around (cx, cy)."""
    # evenly spread angles with jitter below half a step: every gap < π, so the centre is inside
    # and the ring, ordered by angle around it, never crosses itself
    theta = (np.arange(n) + rng.uniform(-0.4, 0.4, n)) * (2 * np.pi / n)
    rad = np.ones(n)
    for h in (2, 3, 5, 8):
        rad += rough / h * np.sin(h * theta + rng.uniform(0, 2 * np.pi))
    rad += rng.uniform(-rough / 6, rough / 6, n)
    x, y = r * rad * np.cos(theta) * aspect, r * rad * np.sin(theta) / aspect
    ca, sa = math.cos(angle), math.sin(angle)
    return shapely.Polygon(np.column_stack([cx + ca * x - sa * y, cy + sa * x + ca * y]))


def blobs(
    rng: np.random.Generator,
    scale: Scale,
    count_city: int,
    grid: float,
    r_range: tuple[float, float],
    n_range: tuple[int, int],
    min_count: int = 3,
) -> list[shapely.Polygon]:
    """Non-overlapping blobs, at most one per cell of a ``grid`` m grid (radius ≤ 0.4 grid)."""
    grid = min(grid, scale.side / 2)
    per_side = max(1, int(scale.side // grid))
    count = min(per_side * per_side, max(min_count, round(count_city * scale.factor)))
    chosen = rng.choice(per_side * per_side, size=count, replace=False)
    out = []
    for c in chosen:
        r = min(rng.uniform(*r_range), 0.4 * grid / 1.5)
        margin = grid / 2 - 1.5 * r  # room for a rough radius (≤ 1.5 r)
        cx = ORIGIN[0] + (c % per_side + 0.5) * grid + rng.uniform(-margin, margin)
        cy = ORIGIN[1] + (c // per_side + 0.5) * grid + rng.uniform(-margin, margin)
        out.append(star(rng, cx, cy, r, int(rng.integers(*n_range))))
    return out


def rivers(rng: np.random.Generator, scale: Scale) -> list[shapely.Geometry]:
    count = max(2, round(25 * scale.factor**0.5))
    lines = []
    for _ in range(count):
        x, y = ORIGIN[0] + rng.uniform(0, scale.side), ORIGIN[1] + rng.uniform(0, scale.side)
        heading = rng.uniform(0, 2 * np.pi)
        steps = int(rng.integers(40, 200) * max(scale.side / 100_000, 0.05))
        pts = [(x, y)]
        for _ in range(max(steps, 8)):
            heading += rng.normal(0, 0.25)
            step = rng.uniform(200, 600)
            x, y = x + step * math.cos(heading), y + step * math.sin(heading)
            pts.append((x, y))
        lines.append(shapely.buffer(shapely.LineString(pts), rng.uniform(30, 300), quad_segs=4))
    merged = shapely.union_all(lines)
    area = shapely.box(ORIGIN[0], ORIGIN[1], ORIGIN[0] + scale.side, ORIGIN[1] + scale.side)
    sheet = min(5_000.0, scale.side / 2)
    n = max(1, int(scale.side // sheet))
    cells = [
        shapely.box(
            ORIGIN[0] + i * sheet, ORIGIN[1] + j * sheet, ORIGIN[0] + (i + 1) * sheet, ORIGIN[1] + (j + 1) * sheet
        )
        for i in range(n)
        for j in range(n)
    ]
    cells[-1] = shapely.union(cells[-1], shapely.difference(area, shapely.union_all(cells)))
    pieces = shapely.get_parts(shapely.intersection(merged.intersection(area), np.array(cells, dtype=object)))
    polys = [p for g in pieces for p in shapely.get_parts(g) if p.geom_type == "Polygon" and p.area > 1.0]
    return polys


# ----------------------------------------------------------------------------- writers


def _write(path: Path, frame: gpd.GeoDataFrame, *, append: bool = False) -> None:
    pyogrio.write_dataframe(
        frame,
        path,
        driver="GPKG",
        append=append,
        layer=path.stem,
        geometry_type="Polygon" if (frame.geom_type == "Polygon").all() else "MultiPolygon",
    )


def _frame(geoms: list | np.ndarray, **columns: object) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(dict(columns), geometry=np.asarray(geoms, dtype=object), crs=EPSG)


def generate(scale_name: str, root: Path | None = None, seed: int = 20260, *, log: bool = True) -> Path:
    """Generate (or reuse) the data of ``scale_name``; returns its directory (``blueprint/`` + parcels)."""
    scale = SCALES[scale_name]
    out = (root or cache_root()) / scale_name
    stamp = out / "DONE.json"
    key = {"format": FORMAT_VERSION, "seed": seed, "scale": scale_name}
    if stamp.is_file() and json.loads(stamp.read_text()).get("key") == key:
        return out
    if out.exists():
        shutil.rmtree(out)
    bp = out / "blueprint"
    bp.mkdir(parents=True)
    rng = np.random.default_rng(seed)
    t0 = time.perf_counter()
    say = (
        (lambda msg: print(f"[citygen {scale_name} {time.perf_counter() - t0:6.1f}s] {msg}", flush=True))
        if log
        else (lambda msg: None)
    )
    counts: dict[str, int] = {}

    # land use: 100 m cells, 4–49 points per edge (cells of 20–200 vertices), written a block at a time
    n = scale.cells
    state: dict = {}
    codes, shares = list(LANDUSE_CODES), np.array(list(LANDUSE_CODES.values()))
    block = max(1, 200_000 // n)
    for r0 in range(0, n, block):
        polys = perturbed_grid(rng, n, n, 100.0, ORIGIN, (4, 49), skew=3.5, rows=(r0, min(n, r0 + block)), state=state)
        dlbm = rng.choice(codes, size=len(polys), p=shares / shares.sum())
        _write(bp / "landuse.gpkg", _frame(polys, DLBM=dlbm, BSM=np.arange(len(polys)) + r0 * n), append=r0 > 0)
    counts["land_use"] = n * n
    del state
    say(f"land_use {n * n:,} cells")

    # basic farmland: 160 m cells, 9–29 points per edge (40–120 vertices), half of them kept
    fc = 160.0
    fn = max(2, round(scale.side / fc))
    fcell = scale.side / fn
    farmland = perturbed_grid(rng, fn, fn, fcell, ORIGIN, (9, 29))
    keep = rng.random(len(farmland)) < (0.2 * n * n) / len(farmland)
    _write(bp / "jbnt.gpkg", _frame(farmland[keep]))
    counts["basic_farmland"] = int(keep.sum())
    del farmland
    say(f"basic_farmland {keep.sum():,}")

    pn = max(2, round(scale.side / 1_500))
    zones = perturbed_grid(rng, pn, pn, scale.side / pn, ORIGIN, (2, 20))
    _write(bp / "planuse.gpkg", _frame(zones, YTFQ=rng.choice(PLANNED_ZONES, size=len(zones))))
    counts["planned_use"] = len(zones)

    cn = max(2, round(scale.side / 33_000))
    county = perturbed_grid(rng, cn, cn, scale.side / cn, ORIGIN, (200, 600), amp=0.03)
    _write(
        bp / "county.gpkg",
        _frame(
            county,
            XZQDM=[f"3708{11 + i:02d}" for i in range(len(county))],
            XZQMC=[f"示例县{i + 1}" for i in range(len(county))],
        ),
    )
    counts["county"] = len(county)

    def put(layer: str, geoms: list, **cols: object) -> None:
        _write(bp / MANIFEST_LAYERS[layer][0], _frame(geoms, **cols))
        counts[layer] = len(geoms)

    put("ecological_redline", blobs(rng, scale, 150, 7_000, (600, 3_000), (200, 1_500)))
    put("urban_boundary", blobs(rng, scale, 60, 12_000, (500, 4_000), (100, 800)))
    put(
        "mineral",
        g := blobs(rng, scale, 300, 5_000, (200, 1_500), (20, 80)),
        KZ=rng.choice(["煤", "铁矿", "石灰岩", "地热"], size=len(g)),
    )
    put(
        "geohazard",
        g := blobs(rng, scale, 800, 3_500, (300, 2_000), (30, 200)),
        YFCD=rng.choice(["高", "中", "低"], size=len(g), p=[0.2, 0.35, 0.45]),
    )
    pool = blobs(rng, scale, 160, 7_000, (300, 2_500), (40, 300), min_count=4)
    cut = max(1, len(pool) // 4)
    put("nature_reserve", pool[:cut])
    put("water_source", pool[cut:], BHQJB=rng.choice(["一级", "二级", "准保护区"], size=len(pool) - cut))
    core = blobs(rng, scale, 600, 4_000, (30, 300), (12, 60))
    rings = [shapely.difference(shapely.buffer(c, float(rng.uniform(50, 300)), quad_segs=6), c) for c in core]
    put("heritage", core + rings, BHFW=["保护范围"] * len(core) + ["建设控制地带"] * len(rings))
    put("flood_river", rivers(rng, scale))
    put("illegal_use", blobs(rng, scale, 8_000, 1_100, (15, 120), (8, 30)))
    pool = blobs(rng, scale, 5_500, 1_300, (40, 250), (8, 40), min_count=4)
    cut = max(1, (len(pool) * 8) // 11)
    put("approved_unsupplied", pool[:cut])
    put("idle_land", pool[cut:])
    say("other layers")

    _write_slope(bp / "slope.tif", scale, rng)
    _write_manifest(bp, scale)
    (bp / "SOURCES.txt").write_text(
        f"SYNTHETIC benchmark city ({scale_name}), benchmarks/citygen.py seed {seed}; not real data.\n",
        encoding="utf-8",
    )

    _record_check(bp)
    say("blueprint checked, its check recorded")

    parcels = make_parcels(rng, scale, max(scale.parcel_sets))
    pyogrio.write_dataframe(parcels, out / "parcels.gpkg", driver="GPKG", layer="parcels")
    say(f"{len(parcels):,} parcels")
    stamp.write_text(
        json.dumps(
            {"key": key, "counts": counts, "seconds": round(time.perf_counter() - t0, 1)}, ensure_ascii=False, indent=1
        )
    )
    return out


def _record_check(bp: Path) -> None:
    """``lantu blueprint check --record``, as an administrator runs it over a blueprint made by hand (a build
    records its own): every polygon tested and, all sound, the test recorded, so loads of the unchanged files skip
    it. In a process of its own: a city's load is frozen out of the collector's reach for good."""
    cmd = [
        sys.executable,
        "-c",
        "from geo.cli import app; app()",
        "blueprint",
        "check",
        str(bp),
        "--record",
        "-f",
        "json",
    ]
    done = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"lantu blueprint check --record failed: {done.stderr[-2000:]}")


def _write_slope(path: Path, scale: Scale, rng: np.random.Generator) -> None:
    import rasterio
    from rasterio.transform import from_origin

    res = 50.0
    size = int(scale.side // res)
    y, x = np.mgrid[0:size, 0:size] * (res / 1000.0)  # km
    slope = np.zeros((size, size), np.float32)
    for _ in range(6):
        kx, ky = rng.uniform(0.05, 0.6, 2)
        slope += rng.uniform(2, 8) * np.sin(kx * x + rng.uniform(0, 6.3)) * np.cos(ky * y + rng.uniform(0, 6.3))
    slope = np.clip(np.abs(slope) * 1.2 - 2, 0, 60).astype(np.float32)
    transform = from_origin(ORIGIN[0], ORIGIN[1] + size * res, res, res)
    with rasterio.open(
        path,
        "w",
        driver="GTiff",
        width=size,
        height=size,
        count=1,
        dtype="float32",
        crs=f"EPSG:{EPSG}",
        transform=transform,
        compress="deflate",
        tiled=True,
    ) as ds:
        ds.write(slope, 1)


def _write_manifest(bp: Path, scale: Scale) -> None:
    lines = [f"name: 基准测试城市（{scale.name}）", f"crs: EPSG:{EPSG}", "gk_zone_epsg: null", "layers:"]
    for layer, (file, fields) in MANIFEST_LAYERS.items():
        spec = (
            f"{{path: {file}"
            + (", fields: {" + ", ".join(f"{k}: {v}" for k, v in fields.items()) + "}" if fields else "")
            + "}"
        )
        lines.append(f"  {layer}: {spec}")
    lines.append("  slope: {path: slope.tif}")
    (bp / "blueprint.yaml").write_text("\n".join(lines) + "\n", encoding="utf-8")


def make_parcels(rng: np.random.Generator, scale: Scale, count: int) -> gpd.GeoDataFrame:
    """Irregular parcels of 5–500 亩 (log-uniform), wholly inside the area."""
    area = np.exp(rng.uniform(np.log(5 * MU), np.log(500 * MU), count))
    geoms = []
    for a in area:
        r = math.sqrt(a / math.pi)
        margin = 2.5 * r + 10
        cx = ORIGIN[0] + rng.uniform(margin, scale.side - margin)
        cy = ORIGIN[1] + rng.uniform(margin, scale.side - margin)
        g = star(
            rng,
            cx,
            cy,
            1.0,
            int(rng.integers(8, 40)),
            rough=0.15,
            aspect=float(rng.uniform(1.0, 1.6)),
            angle=float(rng.uniform(0, np.pi)),
        )
        k = math.sqrt(a / g.area)
        geoms.append(shapely.affinity.scale(g, k, k, origin=(cx, cy)))
    return gpd.GeoDataFrame(
        {
            "id": [f"P{i + 1:06d}" for i in range(count)],
            "project_type": rng.choice(PROJECT_TYPES, size=count),
            "investment_wan": np.round(rng.uniform(2_000, 200_000, count), 0),
        },
        geometry=geoms,
        crs=EPSG,
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--scale", choices=list(SCALES), default="tiny")
    ap.add_argument("--cache-dir", type=Path, default=None)
    ap.add_argument("--seed", type=int, default=20260)
    args = ap.parse_args()
    print(generate(args.scale, args.cache_dir, args.seed))


if __name__ == "__main__":
    main()
