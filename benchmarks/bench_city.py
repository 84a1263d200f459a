"""City-scale benchmark: lantu against every peer, in one run, on the same data.

The data come from ``benchmarks/citygen.py`` (seeded, cached under
``~/.cache/lantu-bench/<scale>/``: a blueprint in lantu's manifest format, GeoPackage
layers in EPSG:4548, and the parcels). One run measures, on that data:

1. blueprint load time (``geo.load_blueprint``) and peak RSS, in a fresh process;
2. single-parcel full review p50/p95 in-process and over HTTP (a warm ``lantu serve``);
3. batch throughput of ``geo.review`` (``pieces=False`` when it has it) per parcel set, every
   result held; and streamed, as ``lantu review -o`` draws a batch (``geo.review.reviewing``: each
   chunk's compared areas kept, its results dropped, the collector paused throughout as the command
   pauses it), which holds one chunk at a time;
4. the naive geopandas way: ``geopandas.overlay`` per layer, ``dissolve`` per parcel;
5. PostGIS: GiST-indexed tables, ``ST_Area(ST_Union(ST_Intersection(…)))`` per parcel;
6. DuckDB spatial and SedonaDB (the same SQL), where installed;
7. the GEOS lower bound: one STRtree bulk query, ``shapely.intersection`` and
   ``shapely.area`` over only the truly intersecting pairs, one thread and all cores;
8. ``geo.batch.review_in_partitions`` (dask) with 1 and 2 workers, the blueprint loaded first
   (with ``--rounds R``, also R rounds of 1 and 2 workers in turn).

With ``--rounds R`` each batch is then timed R more times with lantu and every peer
*interleaved* (lantu, bound, naive, PostGIS, … in turn, R rounds): on a machine others
share, a burst of load falls on every engine alike, so the best-of-R and median ratios
are comparable where one-after-another runs are not.

Every peer computes, for the same parcels, the area of parcel ∩ layer for the
*compared targets* (``TARGETS`` below: the layers whose lantu result is a plain
overlap area). lantu runs its whole ten-point review (all layers, the slope raster,
verdicts, result objects) — the ratios are "full lantu review" against "peer
computing only the compared overlap areas", data already loaded on both sides.
Areas are checked against the GEOS bound parcel by parcel (0.01 %).
Timings are printed, never asserted.

    .venv/bin/python benchmarks/bench_city.py --scale small
    .venv/bin/python benchmarks/bench_city.py --scale city --sets 1,1000 --skip naive,dask
"""

from __future__ import annotations

import argparse
import concurrent.futures
import contextlib
import ctypes
import datetime
import gc
import inspect
import json
import os
import platform
import resource
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import shapely
from shapely.strtree import STRtree

sys.path.insert(0, str(Path(__file__).resolve().parent))
import citygen
from timing import timed

REPO = Path(__file__).resolve().parent.parent
PEERS = ("http", "naive", "postgis", "duckdb", "sedonadb", "bound", "dask", "processes")
DEFAULT_PG = "postgresql://lantu:lantu@127.0.0.1:5432/postgres"


# ----------------------------------------------------------------------------- what is compared


@dataclass(frozen=True)
class Target:
    """One compared quantity: area of the parcel inside ``layers`` (features filtered),
    and where lantu's result reports it."""

    name: str
    layers: tuple[str, ...]
    lantu: str  # "item:<code>" (overlap_m2) or "quota:<field>[+<field>…]"
    where: tuple[str, frozenset[str]] | None = None  # (logical column, kept values)
    prefix: str | None = None  # keep class codes starting with this
    classes: frozenset[str] | None = None  # of a 三调 layer among others, keep these class codes only


TARGETS = (
    Target("basic_farmland", ("basic_farmland",), "item:basic_farmland"),
    Target("ecological_redline", ("ecological_redline",), "item:ecological_redline"),
    Target("protected_areas", ("nature_reserve", "water_source"), "item:protected_areas"),
    Target("mineral", ("mineral",), "item:mineral_overlay"),
    Target("geohazard_prone", ("geohazard",), "item:geohazard", where=("level", frozenset({"高", "中", "低"}))),
    Target("heritage", ("heritage",), "item:cultural_heritage"),
    # item 11 grades the 三调 河流/湖泊/水库水面 as the 河湖管理范围 they are and warns of 内陆滩涂 (the profile's
    # flood_control classes, all in the item's area; the generated city draws 1101 alone of them)
    Target(
        "flood_river",
        ("flood_river", "land_use"),
        "item:flood_control",
        classes=frozenset({"1101", "1102", "1103", "1106"}),
    ),
    Target("illegal_use", ("illegal_use",), "item:illegal_use"),
    Target("stock_land", ("approved_unsupplied", "idle_land"), "quota:stock_m2"),
    Target("land_use", ("land_use",), "quota:agricultural_m2+construction_m2+unused_m2"),
    Target("cultivated", ("land_use",), "quota:cultivated_m2", prefix="01"),
)


def read_targets(bp_dir: Path, targets: tuple[Target, ...] = TARGETS) -> dict[str, gpd.GeoDataFrame]:
    """Each target's features as one GeoDataFrame (geometry only), read the plain way."""
    import yaml

    manifest = yaml.safe_load((bp_dir / "blueprint.yaml").read_text(encoding="utf-8"))
    cache: dict[str, gpd.GeoDataFrame] = {}
    out = {}
    for t in targets:
        parts = []
        for layer in t.layers:
            if layer not in cache:
                spec = manifest["layers"][layer]
                frame = pyogrio.read_dataframe(bp_dir / spec["path"])
                cache[layer] = frame.rename(columns={v: k for k, v in spec.get("fields", {}).items()})
            frame = cache[layer]
            if t.where:
                frame = frame[frame[t.where[0]].isin(t.where[1])]
            if t.prefix:
                frame = frame[frame["class_code"].astype(str).str.startswith(t.prefix)]
            if t.classes and "class_code" in frame:
                frame = frame[frame["class_code"].astype(str).isin(t.classes)]
            parts.append(frame[["geometry"]])
        out[t.name] = gpd.GeoDataFrame(pd.concat(parts, ignore_index=True), geometry="geometry", crs=parts[0].crs)
        out[t.name].attrs["layers"] = len(t.layers)  # features of two layers may overlap (see Bound)
    return out


Areas = dict[str, np.ndarray]  # target -> area per parcel (input order)


def lantu_areas(result: Any, ids: list[str], targets: tuple[Target, ...] = TARGETS) -> tuple[Areas, np.ndarray]:
    """The compared areas out of a lantu ReviewResult, plus each parcel's tolerance_m2."""
    by_id = {p.id: p for p in result.parcels}
    out = {t.name: np.zeros(len(ids)) for t in targets}
    tol = np.zeros(len(ids))
    for i, pid in enumerate(ids):
        p = by_id[pid]
        tol[i] = float(getattr(p, "tolerance_m2", 0.0) or 0.0)
        items = {it.code: it for it in p.items}
        quota = p.land_quota
        for t in targets:
            kind, what = t.lantu.split(":")
            if kind == "item":
                out[t.name][i] = float(items[what].overlap_m2 or 0.0)
            else:
                out[t.name][i] = sum(float(getattr(quota, f) or 0.0) for f in what.split("+"))
    return out, tol


def lantu_streamed(parcels: gpd.GeoDataFrame, bp: Any, review_kw: dict[str, Any]) -> tuple[Areas, np.ndarray]:
    """The compared areas of a batch drawn as ``lantu review -o`` draws it: chunk by chunk, each chunk's
    areas taken and its results dropped, so a city's batch never holds every result (about 90 KB a parcel),
    and the cyclic collector paused from the review to the last chunk, as the one-shot command pauses it
    (``geo.cli``: a chunk's results then die by their count, never walked)."""
    from geo.review import reviewing
    from geo.threads import gc_paused

    with gc_paused():
        parts = [
            lantu_areas(SimpleNamespace(parcels=chunk), [p.id for p in chunk])
            for chunk in reviewing(parcels, bp, **review_kw).chunks
        ]
    return (
        {t.name: np.concatenate([areas[t.name] for areas, _ in parts]) for t in TARGETS},
        np.concatenate([tol for _, tol in parts]),
    )


def agreement(ref: Areas, other: Areas, *, floor: float, tolerance: np.ndarray | None = None) -> dict[str, Any]:
    """Parcel-by-parcel agreement of ``other`` with ``ref``: within 0.01 % (+ ``floor`` m²)."""
    pairs = ok = explained = 0
    worst = 0.0
    tot_ref = tot_other = 0.0
    per_target = {}
    for name, r in ref.items():
        o = other[name]
        d = np.abs(r - o)
        good = d <= 1e-4 * np.maximum(np.abs(r), np.abs(o)) + floor
        # lantu drops a status group whose total is within the review tolerance (DESIGN.md): 0 there is right
        expl = (~good & (d <= 2 * tolerance + floor)) if tolerance is not None else np.zeros_like(good)
        pairs += len(r)
        ok += int(good.sum())
        explained += int(expl.sum())
        bad = ~(good | expl)
        if bad.any():
            worst = max(worst, float((d[bad] / np.maximum(np.abs(r[bad]), 1e-9)).max()))
        tot_ref += float(r.sum())
        tot_other += float(o.sum())
        per_target[name] = int(bad.sum())
    return {
        "pairs": pairs,
        "within_0.01%": ok,
        "within_tolerance": explained,
        "disagree": pairs - ok - explained,
        "disagree_by_target": {k: v for k, v in per_target.items() if v},
        "worst_rel_diff_of_disagreeing": worst,
        "total_ref_m2": round(tot_ref, 2),
        "total_m2": round(tot_other, 2),
        "total_rel_diff": abs(tot_other - tot_ref) / max(tot_ref, 1e-9),
    }


# ----------------------------------------------------------------------------- peers


class Peer:
    name = ""
    covers = "all compared targets"

    def prepare(self, targets: dict[str, gpd.GeoDataFrame]) -> None:
        """Load the layers (timed apart from the run)."""

    def run(self, parcels: gpd.GeoDataFrame) -> Areas:
        raise NotImplementedError

    def close(self) -> None:
        pass


class Naive(Peer):
    name = "naive geopandas"

    def prepare(self, targets: dict[str, gpd.GeoDataFrame]) -> None:
        self.targets = targets

    def run(self, parcels: gpd.GeoDataFrame) -> Areas:
        left = gpd.GeoDataFrame({"pid": np.arange(len(parcels))}, geometry=parcels.geometry.values, crs=parcels.crs)
        out = {}
        for name, layer in self.targets.items():
            pieces = gpd.overlay(left, layer, how="intersection", keep_geom_type=True)
            dissolved = pieces.dissolve(by="pid")
            areas = np.zeros(len(parcels))
            areas[dissolved.index.to_numpy()] = dissolved.area.to_numpy()
            out[name] = areas
        return out


class Bound(Peer):
    """STRtree bulk query + intersection + area over the intersecting pairs only."""

    def __init__(self, threads: int) -> None:
        self.threads = threads
        self.name = f"GEOS bound, {threads} thread{'s' if threads > 1 else ''}"

    def prepare(self, targets: dict[str, gpd.GeoDataFrame]) -> None:
        self.layers = {k: np.asarray(v.geometry.values, dtype=object) for k, v in targets.items()}
        self.trees = {k: STRtree(g) for k, g in self.layers.items()}
        # a target joining two layers (河湖管理范围 and the 三调 water surfaces) may hold overlapping
        # features: there a parcel's area is the union of its pieces, as the engines compute it
        self.overlapping = {k for k, v in targets.items() if v.attrs.get("layers", 1) > 1}

    def run(self, parcels: gpd.GeoDataFrame) -> Areas:
        geoms = np.asarray(parcels.geometry.values, dtype=object)
        shapely.prepare(geoms)
        chunks = np.array_split(np.arange(len(geoms)), max(1, min(len(geoms), self.threads * 4)))

        def one(idx: np.ndarray) -> dict[str, np.ndarray]:
            # every layer of one parcel chunk in one task: a prepared parcel builds its GEOS
            # indexes lazily and without a lock, so two threads must never share it (a segfault)
            sums = {}
            for name, tree in self.trees.items():
                pi, li = tree.query(geoms[idx], predicate="intersects")
                pieces = shapely.intersection(self.layers[name][li], geoms[idx][pi])
                sums[name] = np.bincount(pi, shapely.area(pieces), minlength=len(idx))
                if name in self.overlapping:
                    for k in np.flatnonzero(np.bincount(pi, minlength=len(idx)) > 1):
                        sums[name][k] = shapely.union_all(pieces[pi == k]).area
            return sums

        if self.threads == 1:
            return one(np.arange(len(geoms)))
        with concurrent.futures.ThreadPoolExecutor(self.threads) as pool:
            parts = list(pool.map(one, chunks))
        return {name: np.concatenate([part[name] for part in parts]) for name in self.layers}


SQL = (
    "SELECT p.pid, ST_Area({union}(ST_Intersection(p.geom, t.geom))) FROM {parcels} p "
    "JOIN {table} t ON ST_Intersects(p.geom, t.geom) GROUP BY p.pid"
)


def _table(name: str) -> str:
    return "t_" + name


class PostGIS(Peer):
    name = "PostGIS"

    def __init__(self, url: str, database: str, key: str) -> None:
        import psycopg

        self.psycopg = psycopg
        with psycopg.connect(url, autocommit=True, connect_timeout=5) as admin:
            exists = admin.execute("SELECT 1 FROM pg_database WHERE datname = %s", (database,)).fetchone()
            if not exists:
                admin.execute(f'CREATE DATABASE "{database}"')
        base = url.rsplit("/", 1)[0]
        self.conn = psycopg.connect(f"{base}/{database}", autocommit=True)
        self.conn.execute("CREATE EXTENSION IF NOT EXISTS postgis")
        self.key = key
        self.version = self.conn.execute("SELECT postgis_full_version()").fetchone()[0].split(" GEOS")[0]
        self.settings = {
            k: self.conn.execute(f"SHOW {k}").fetchone()[0]
            for k in ("max_parallel_workers_per_gather", "work_mem", "shared_buffers")
        }

    def _copy(self, table: str, geoms: np.ndarray, pid: bool) -> None:
        cols = "(pid, geom)" if pid else "(geom)"
        hexes = shapely.to_wkb(shapely.set_srid(geoms, citygen.EPSG), hex=True, include_srid=True)
        with self.conn.cursor() as cur, cur.copy(f"COPY {table} {cols} FROM STDIN") as copy:
            for i, h in enumerate(hexes):
                copy.write_row((i, h) if pid else (h,))

    def prepare(self, targets: dict[str, gpd.GeoDataFrame]) -> None:
        c = self.conn
        c.execute("CREATE TABLE IF NOT EXISTS bench_meta (key text)")
        have = c.execute("SELECT key FROM bench_meta").fetchone()
        self.reused = bool(have and have[0] == self.key)
        if self.reused:
            return
        c.execute("DELETE FROM bench_meta")
        for name, frame in targets.items():
            t = _table(name)
            c.execute(f"DROP TABLE IF EXISTS {t}")
            c.execute(f"CREATE TABLE {t} (id serial primary key, geom geometry(Geometry, {citygen.EPSG}))")
            self._copy(t, np.asarray(frame.geometry.values, dtype=object), pid=False)
            c.execute(f"CREATE INDEX ON {t} USING gist (geom)")
            c.execute(f"ANALYZE {t}")
        c.execute("INSERT INTO bench_meta VALUES (%s)", (self.key,))

    def load_parcels(self, parcels: gpd.GeoDataFrame) -> None:
        self.conn.execute("DROP TABLE IF EXISTS parcels")
        self.conn.execute(f"CREATE TABLE parcels (pid int primary key, geom geometry(Geometry, {citygen.EPSG}))")
        self._copy("parcels", np.asarray(parcels.geometry.values, dtype=object), pid=True)
        self.conn.execute("CREATE INDEX ON parcels USING gist (geom)")
        self.conn.execute("ANALYZE parcels")

    def run(self, parcels: gpd.GeoDataFrame) -> Areas:
        out = {}
        for name in self.targets_names:
            rows = self.conn.execute(SQL.format(union="ST_Union", parcels="parcels", table=_table(name))).fetchall()
            out[name] = _scatter(rows, len(parcels))
        return out

    def close(self) -> None:
        self.conn.close()


def _scatter(rows: Any, n: int) -> np.ndarray:
    areas = np.zeros(n)
    for pid, area in rows:
        areas[int(pid)] = float(area or 0.0)
    return areas


def _wkb_frame(geoms: Any, pid: bool) -> pd.DataFrame:
    data: dict[str, Any] = {"wkb": shapely.to_wkb(np.asarray(geoms, dtype=object))}
    if pid:
        data["pid"] = np.arange(len(data["wkb"]))
    return pd.DataFrame(data)


class DuckDB(Peer):
    name = "DuckDB spatial"

    def __init__(self) -> None:
        import duckdb

        self.con = duckdb.connect()
        try:
            import duckdb_extension_spatial  # the PyPI wheel carrying the extension file

            ext = next(Path(duckdb_extension_spatial.__file__).parent.glob("extensions/*/spatial.duckdb_extension"))
            self.con.execute(f"LOAD '{ext}'")
            source = "duckdb-extension-spatial wheel"
        except ImportError:
            self.con.execute("INSTALL spatial; LOAD spatial")  # needs the extension repository (network)
            source = "INSTALL spatial"
        self.version = f"duckdb {duckdb.__version__}, spatial from {source}"
        self.threads = self.con.execute("SELECT current_setting('threads')").fetchone()[0]

    def prepare(self, targets: dict[str, gpd.GeoDataFrame]) -> None:
        for name, frame in targets.items():
            df = _wkb_frame(frame.geometry.values, pid=False)  # noqa: F841 - read by DuckDB's replacement scan
            self.con.execute(f"CREATE OR REPLACE TABLE {_table(name)} AS SELECT ST_GeomFromWKB(wkb) AS geom FROM df")

    def load_parcels(self, parcels: gpd.GeoDataFrame) -> None:
        df = _wkb_frame(parcels.geometry.values, pid=True)  # noqa: F841
        self.con.execute("CREATE OR REPLACE TABLE parcels AS SELECT pid, ST_GeomFromWKB(wkb) AS geom FROM df")

    def run(self, parcels: gpd.GeoDataFrame) -> Areas:
        out = {}
        for name in self.targets_names:
            sql = SQL.format(union="ST_Union_Agg", parcels="parcels", table=_table(name))
            out[name] = _scatter(self.con.execute(sql).fetchall(), len(parcels))
        return out


class Sedona(Peer):
    name = "SedonaDB"

    def __init__(self) -> None:
        import sedonadb

        self.sd = sedonadb.connect()
        self.version = f"sedonadb {getattr(sedonadb, '__version__', '?')}"

    def _view(self, name: str, geoms: Any, pid: bool) -> None:
        frame = gpd.GeoDataFrame(
            {"pid": np.arange(len(geoms))} if pid else {}, geometry=np.asarray(geoms, dtype=object)
        ).rename_geometry("geom")
        self.sd.create_data_frame(frame).to_view(name, overwrite=True)

    def prepare(self, targets: dict[str, gpd.GeoDataFrame]) -> None:
        for name, frame in targets.items():
            self._view(_table(name), frame.geometry.values, pid=False)

    def load_parcels(self, parcels: gpd.GeoDataFrame) -> None:
        self._view("parcels", parcels.geometry.values, pid=True)

    def run(self, parcels: gpd.GeoDataFrame) -> Areas:
        out = {}
        for name in self.targets_names:
            sql = SQL.format(union="ST_Union_Agg", parcels="parcels", table=_table(name))
            df = self.sd.sql(sql).to_pandas()
            out[name] = _scatter(df.itertuples(index=False, name=None), len(parcels))
        return out


# ----------------------------------------------------------------------------- lantu


def lantu_review_kwargs(batch: bool) -> dict[str, Any]:
    import geo

    params = inspect.signature(geo.review).parameters
    return {"pieces": False} if batch and "pieces" in params else {}


def measure_load(bp_dir: Path, *, recheck: bool = False) -> dict[str, Any]:
    """Blueprint load in a fresh interpreter: seconds, RSS before, peak RSS. ``recheck``: every polygon tested
    again, as a blueprint whose check was never recorded is loaded (citygen records its check, as a build does)."""
    code = (
        "import json, resource, sys, time, psutil, geo\n"
        "before = psutil.Process().memory_info().rss\n"
        "t = time.perf_counter(); bp = geo.load_blueprint(sys.argv[1], recheck=sys.argv[2] == '1')\n"
        "s = time.perf_counter() - t\n"
        "after = psutil.Process().memory_info().rss\n"
        "peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024\n"
        "print(json.dumps({'seconds': s, 'rss_before_mb': before / 2**20, 'rss_after_mb': after / 2**20,"
        " 'peak_rss_mb': peak / 2**20}))\n"
    )
    cmd = [sys.executable, "-c", code, str(bp_dir), "1" if recheck else "0"]
    out = subprocess.run(cmd, capture_output=True, text=True, check=False, cwd=REPO)
    if out.returncode != 0:
        raise RuntimeError(f"blueprint load failed: {out.stderr[-2000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def percentiles(times: list[float]) -> dict[str, float]:
    a = np.array(times) * 1000
    return {
        "n": len(a),
        "p50_ms": float(np.percentile(a, 50)),
        "p95_ms": float(np.percentile(a, 95)),
        "mean_ms": float(a.mean()),
    }


@contextlib.contextmanager
def lantu_server(bp_dir: Path, tmp: Path, timeout: float) -> Iterator[tuple[str, int]]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = os.environ | {
        "LANTU_OPEN_DEMO": "true",
        "LANTU_HOST": "127.0.0.1",
        "LANTU_PORT": str(port),
        "LANTU_BLUEPRINT": str(bp_dir),
        "LANTU_DATABASE_URL": f"sqlite:///{tmp / 'bench.db'}",
        "LANTU_TILES": "none",
        "LANTU_MAX_PARCELS": "100000",
        # latency is measured, not the service's time limit: on a busy machine a city's first
        # request (and the blueprint's lazy set-up) may take longer than the default 60 s
        "LANTU_WORK_TIMEOUT": "900",
    }
    env.pop("LANTU_BLUEPRINT_ROOT", None)
    lantu = Path(sys.executable).with_name("lantu")
    cmd = [str(lantu)] if lantu.exists() else [sys.executable, "-m", "api.cli"]
    log = (tmp / "serve.log").open("w")
    proc = subprocess.Popen(
        [*cmd, "serve", "--open-demo"], env=env, stdout=log, stderr=subprocess.STDOUT, cwd=tmp, start_new_session=True
    )
    url = f"http://127.0.0.1:{port}"
    try:
        import httpx

        deadline = time.monotonic() + timeout
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"lantu serve exited: {(tmp / 'serve.log').read_text()[-2000:]}")
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{url}/readyz", timeout=2).status_code == 200:
                    break
            if time.monotonic() > deadline:
                raise RuntimeError("lantu serve did not become ready")
            time.sleep(0.2)
        yield url, proc.pid
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
        log.close()


def http_single(url: str, parcels: gpd.GeoDataFrame, warm: int) -> dict[str, Any]:
    import httpx

    bodies = []
    for i in range(len(parcels)):
        fc = json.loads(parcels.iloc[[i]].to_crs(4490).to_json(drop_id=True))  # what a project system sends
        bodies.append(json.dumps(fc, ensure_ascii=False).encode())
    times = []
    with httpx.Client(timeout=120) as client:
        for n, body in enumerate(bodies[:warm] + bodies):
            t = time.perf_counter()
            r = client.post(f"{url}/api/v1/reviews", content=body, headers={"content-type": "application/geo+json"})
            dt = time.perf_counter() - t
            if r.status_code != 201:
                raise RuntimeError(f"POST /api/v1/reviews: {r.status_code} {r.text[:300]}")
            if n >= warm:
                times.append(dt)
    return percentiles(times) | {"body": "one GeoJSON Feature in EPSG:4490, result stored (SQLite)"}


def served_viewer(url: str, pid: int) -> dict[str, Any]:
    """The viewer page, which a server builds once in the background after it is ready (its one start-up task;
    waited for here, so that the reviews timed next meet a warm server): the wait from ready, the page's size, and
    the server's RSS with it built."""
    import httpx

    t = time.perf_counter()
    page = httpx.get(f"{url}/", timeout=900)
    page.raise_for_status()
    waited = time.perf_counter() - t
    return {
        "viewer_wait_s": waited,
        "viewer_page_mb": len(page.content) / 2**20,
        "viewer_sent_mb": page.num_bytes_downloaded / 2**20,  # gzip: httpx asks for it, as a browser does
        "server_rss_mb": rss_mb(pid),
    }


def rss_mb(pid: int) -> float:
    import psutil

    return float(psutil.Process(pid).memory_info().rss / 2**20)


def dask_call(bp_dir: Path, workers: int, loaded: Any = None) -> Callable[[gpd.GeoDataFrame], Any]:
    """``geo.batch.review_in_partitions`` on ``workers`` forked workers, 4 partitions each (as
    ``lantu review --workers``), lean output; ``loaded``: the blueprint this process holds, if any."""
    from geo import batch

    fn = batch.review_in_partitions
    params = inspect.signature(fn).parameters
    kwargs: dict[str, Any] = {}
    for name, value in (
        ("partitions", 4 * workers),
        ("num_workers", workers),
        ("workers", workers),
        ("n_workers", workers),
        ("pieces", False),
        ("loaded", loaded),
    ):
        if name in params and value is not None:
            kwargs[name] = value
    return lambda parcels: fn(parcels, bp_dir, **kwargs)


def _children_cpu() -> float:
    """CPU seconds of this process's children: those that ended (reaped) and those alive (a kept pool)."""
    import psutil

    reaped = resource.getrusage(resource.RUSAGE_CHILDREN)
    alive = 0.0
    for child in psutil.Process().children(recursive=True):
        with contextlib.suppress(psutil.Error):
            times = child.cpu_times()
            alive += times.user + times.system
    return reaped.ru_utime + reaped.ru_stime + alive


def cpu_timed(fn: Callable[[], Any]) -> dict[str, float]:
    """Wall seconds of ``fn()`` and the CPU it used here and in its worker processes: ``cores`` = CPU /
    wall, what a run really had (a shared machine gives less)."""
    before, cpu, t = _children_cpu(), time.process_time(), time.perf_counter()
    fn()
    wall = time.perf_counter() - t
    used = time.process_time() - cpu + _children_cpu() - before
    return {"seconds": wall, "cpu_s": used, "cores": used / wall}


# ----------------------------------------------------------------------------- the run


@dataclass
class Run:
    args: argparse.Namespace
    path: Path
    out: dict[str, Any] = field(default_factory=dict)

    def save(self) -> None:
        """Write the JSON so far (after every phase: a run stopped half-way keeps what it measured)."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.path.write_text(json.dumps(self.out, ensure_ascii=False, indent=1, default=str), encoding="utf-8")

    def note(self, *keys: str, value: Any) -> None:
        d = self.out
        for k in keys[:-1]:
            d = d.setdefault(k, {})
        d[keys[-1]] = value


def interleaved(engines: dict[str, Callable[[], Any]], rounds: int) -> dict[str, Any]:
    """Every engine once per round, in turn; best and median seconds, and each one's ratio to the first
    engine's (``peer/lantu`` when lantu comes first)."""
    times: dict[str, list[float]] = {name: [] for name in engines}
    for _ in range(rounds):
        for name, fn in engines.items():
            t = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - t)
            gc.collect()
    first = next(iter(times.values()))
    return {
        name: {
            "seconds": ts,
            "best_s": min(ts),
            "median_s": statistics.median(ts),
            "best_ratio": min(ts) / min(first),
            "median_ratio": statistics.median(ts) / statistics.median(first),
        }
        for name, ts in times.items()
    }


def hardware() -> dict[str, Any]:
    cpu = "?"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    import psutil

    return {
        "nproc": os.cpu_count(),
        "cpu": cpu,
        "memory_gb": round(psutil.virtual_memory().total / 2**30, 1),
        "python": platform.python_version(),
        "platform": platform.platform(),
    }


def versions() -> dict[str, str]:
    import geopandas

    out = {
        "shapely": shapely.__version__,
        "geos": shapely.geos_version_string,
        "geopandas": geopandas.__version__,
        "pyogrio": pyogrio.__version__,
        "numpy": np.__version__,
    }
    for mod in ("duckdb", "sedonadb", "dask"):
        with contextlib.suppress(Exception):
            out[mod] = __import__(mod).__version__
    return out


def main(argv: list[str] | None = None) -> dict[str, Any]:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--scale", choices=list(citygen.SCALES), default="small")
    ap.add_argument("--cache-dir", type=Path, default=None, help="default ~/.cache/lantu-bench (LANTU_BENCH_CACHE)")
    ap.add_argument("--sets", default=None, help="batch parcel-set sizes, e.g. 1000,100000 (default: the scale's)")
    ap.add_argument("--single", type=int, default=None, help="single-parcel samples (default 100; tiny 10)")
    ap.add_argument("--skip", default="", help=f"comma list of {','.join(PEERS)}")
    ap.add_argument(
        "--postgres-url",
        default=os.environ.get("LANTU_BENCH_POSTGRES_URL", DEFAULT_PG),
        help="a database the benchmark may connect to as a superuser; it creates lantu_bench_<scale>",
    )
    ap.add_argument(
        "--budget",
        type=float,
        default=600.0,
        help="skip a run estimated (from the previous set) to take longer than this many seconds",
    )
    ap.add_argument("--repeat", type=int, default=1)
    ap.add_argument(
        "--rounds",
        type=int,
        default=1,
        help="after the one-by-one runs, time lantu and every peer this many more times in turn (interleaved); "
        "keeps lantu's blueprint in memory beside the peers' data",
    )
    ap.add_argument(
        "--rounds-upto",
        type=int,
        default=10_000,
        help="interleaved rounds only for parcel sets of at most this many parcels (default 10,000: a 100,000-parcel "
        "set is timed once per engine, which takes long enough)",
    )
    ap.add_argument("--json", type=Path, default=None, help="default <cache>/results/bench-<scale>-<date>.json")
    args = ap.parse_args(argv)
    skip = {s.strip() for s in args.skip.split(",") if s.strip()}
    root = args.cache_dir or citygen.cache_root()
    run = Run(args, args.json or root / "results" / f"bench-{args.scale}-{datetime.date.today().isoformat()}.json")
    run.note("date", value=datetime.datetime.now().astimezone().isoformat(timespec="seconds"))
    run.note("hardware", value=hardware())
    run.note("versions", value=versions())
    run.note("scale", value=args.scale)

    data = root / args.scale
    if not (data / "DONE.json").is_file():  # generate in a child: its garbage stays out of our RSS
        subprocess.run(
            [
                sys.executable,
                str(Path(__file__).with_name("citygen.py")),
                "--scale",
                args.scale,
                "--cache-dir",
                str(root),
            ],
            check=True,
        )
    data = citygen.generate(args.scale, root, log=False)  # validates the cache key
    bp_dir = data / "blueprint"
    meta = json.loads((data / "DONE.json").read_text())
    run.note("data", value={"dir": str(data), "features": meta["counts"], "crs": f"EPSG:{citygen.EPSG}"})
    loads: list[dict[str, Any]] = []
    run.note("load_average", value=loads)  # the machine may be shared: what else ran, phase by phase

    def say(msg: str) -> None:
        one, five, fifteen = os.getloadavg()
        loads.append(
            {
                "phase": msg,
                "at": datetime.datetime.now().astimezone().isoformat(timespec="seconds"),
                "load_1_5_15": [round(one, 2), round(five, 2), round(fifteen, 2)],
            }
        )
        print(f"[bench {args.scale}] {msg} (load {one:.2f})", file=sys.stderr, flush=True)

    # 1. load, in a fresh process
    say("blueprint load (fresh process)")
    run.note("load", value=measure_load(bp_dir))
    say("blueprint load testing every polygon again (fresh process)")
    run.note("load_rechecked", value=measure_load(bp_dir, recheck=True))
    all_parcels = pyogrio.read_dataframe(data / "parcels.gpkg")
    sets = (
        [int(s) for s in args.sets.split(",")]
        if args.sets
        else [n for n in citygen.SCALES[args.scale].parcel_sets if n > 1]
    )
    k = args.single or (10 if args.scale == "tiny" else 100)
    singles = all_parcels.iloc[-k:]  # the tail: parcels not in the smaller batch sets

    # 2b. over HTTP first: the server holds its own blueprint, so ours is not loaded yet
    if "http" not in skip:
        say("single parcel over HTTP")
        try:
            with (
                tempfile.TemporaryDirectory(prefix="lantu-bench-") as tmp,
                lantu_server(bp_dir, Path(tmp), timeout=900) as (url, pid),
            ):
                run.note("service", value=served_viewer(url, pid))  # warm: its start-up work done
                run.note("single", "http", value=http_single(url, singles, warm=3))
                run.note("service", "server_rss_after_reviews_mb", value=rss_mb(pid))
            say(f"single http p50 {run.out['single']['http']['p50_ms']:.1f} ms")
        except Exception as exc:  # report, do not stop the run
            run.note("single", "http", value={"error": f"{type(exc).__name__}: {exc}"[:500]})

    import geo

    t = time.perf_counter()
    bp = geo.load_blueprint(bp_dir)
    run.note("load", "in_bench_process_s", value=time.perf_counter() - t)
    run.save()
    run.note("features", "review_signature", value=str(inspect.signature(geo.review)))

    # 2a. single parcel in-process
    geo.review(singles.iloc[[0]], bp)  # warm (zone caches)
    times = []
    for i in range(len(singles)):
        one = singles.iloc[[i]]
        t = time.perf_counter()
        geo.review(one, bp)
        times.append(time.perf_counter() - t)
    run.note("single", "in_process", value=percentiles(times))
    say(f"single in-process p50 {run.out['single']['in_process']['p50_ms']:.1f} ms")

    # 3. lantu batches, then the blueprint is dropped so the peers' copies of the data do not add to it
    review_kw = lantu_review_kwargs(batch=True)
    run.note("features", "batch_kwargs", value=review_kw)
    estimates: dict[str, float] = {}  # seconds per parcel from the previous set

    def budgeted(key: str, n: int, fn: Callable[[], Any]) -> tuple[float | None, Any]:
        if key in estimates and estimates[key] * n > args.budget:
            return None, f"skipped: estimated {estimates[key] * n:.0f} s > --budget {args.budget:.0f} s"
        s, value = timed(fn, args.repeat)
        estimates[key] = s / n
        return s, value

    rows: dict[int, dict[str, Any]] = {}
    lantu_out: dict[int, tuple[Areas, np.ndarray]] = {}
    streamed_s: dict[int, float] = {}
    from geo.threads import CORES

    cores = CORES  # as geo counts them: the cores this process may use
    on_processes = dask_call(bp_dir, cores, loaded=bp)
    for n in sets:
        parcels = all_parcels.iloc[:n].reset_index(drop=True)
        # streamed first: the held run leaves its results' memory to the allocator, which a later run would reuse
        say(f"batch {n}: lantu, streamed")
        streamed = budgeted("lantu, streamed", n, lambda: lantu_streamed(parcels, bp, review_kw))  # noqa: B023
        say(f"batch {n}: lantu")
        s, result = budgeted("lantu", n, lambda: geo.review(parcels, bp, **review_kw))  # noqa: B023
        rows[n] = {"parcels": n}
        if s is None:
            rows[n]["lantu"] = {"skipped": result}
            continue
        rows[n]["lantu"] = {"seconds": s, "parcels_per_s": n / s}
        lantu_out[n] = lantu_areas(result, list(parcels["id"]))
        del result
        if streamed[0] is not None:
            held_areas, (areas, _) = lantu_out[n][0], streamed[1]
            streamed_s[n] = streamed[0]
            rows[n]["lantu, streamed"] = {
                "seconds": streamed[0],
                "parcels_per_s": n / streamed[0],
                "same_areas_as_held": all(np.array_equal(areas[k], held_areas[k]) for k in held_areas),
            }
        if "processes" not in skip:  # ``lantu review --workers N``: the batch on a forked process per core
            name = f"lantu, {cores} processes"
            say(f"batch {n}: {name}")
            on_processes(all_parcels.iloc[:2])  # forks the pool (kept): the calls are timed, not the fork
            s, used = budgeted(name, n, lambda: cpu_timed(lambda: on_processes(parcels)))  # noqa: B023
            timing = {"seconds": s, "parcels_per_s": n / s, "cores_used": used["cores"]} if s else {"skipped": used}
            rows[n][name] = timing
        run.note("batch", str(n), value=rows[n])
        run.save()
    run.note("lantu_peak_rss_mb", value=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
    if args.rounds <= 1:
        bp = None  # the peers' copies of the data must not add to lantu's
        if "processes" not in skip:  # nor the kept workers' (after 100,000 parcels: 1.3–1.9 GB private each)
            from geo import batch

            batch.close_pools()
    gc.collect()
    with contextlib.suppress(Exception):
        ctypes.CDLL("libc.so.6").malloc_trim(0)

    # 4–7. peers: load the same data
    say("reading targets for the peers")
    read_s, targets = timed(lambda: read_targets(bp_dir))
    run.note(
        "targets",
        value={
            t.name: {
                "layers": list(t.layers),
                "filter": (
                    f"{t.where[0]} in {sorted(t.where[1])}"
                    if t.where
                    else f"class_code {t.prefix}xx"
                    if t.prefix
                    else None
                ),
                "lantu_field": t.lantu,
                "features": len(targets[t.name]),
            }
            for t in TARGETS
        },
    )
    run.note("peers_read_s", value=read_s)
    peers: list[Peer] = []
    errors: dict[str, str] = {}

    def add(key: str, make: Callable[[], Peer]) -> None:
        if key in skip:
            errors[key] = "skipped (--skip)"
            return
        try:
            say(f"preparing {key}")
            peer = make()
            s, _ = timed(lambda: peer.prepare(targets))
            peer.targets_names = list(targets)  # type: ignore[attr-defined]
            peers.append(peer)
            run.note("prepare_s", peer.name, value=s)
        except Exception as exc:
            errors[key] = f"{type(exc).__name__}: {exc}"[:500]
            say(f"{key} unavailable: {errors[key]}")

    add("bound", lambda: Bound(1))
    add("bound", lambda: Bound(os.cpu_count() or 2))
    add("naive", Naive)
    # the tables hold the targets: a change of data or of what is compared rebuilds them
    pg_key = json.dumps({"data": meta["key"], "targets": repr(TARGETS)}, sort_keys=True)
    add("postgis", lambda: PostGIS(args.postgres_url, f"lantu_bench_{args.scale}", pg_key))
    add("duckdb", DuckDB)
    add("sedonadb", Sedona)
    run.note("peer_errors", value=errors)
    run.note(
        "peer_info",
        value={
            p.name: {a: getattr(p, a) for a in ("version", "settings", "threads", "reused") if hasattr(p, a)}
            for p in peers
        },
    )

    for n in sets:
        row = rows[n]
        parcels = all_parcels.iloc[:n].reset_index(drop=True)
        reference: Areas | None = None
        lantu_s = row["lantu"].get("seconds")
        for peer in peers:
            say(f"batch {n}: {peer.name}")
            try:
                if hasattr(peer, "load_parcels"):
                    ls, _ = timed(lambda: peer.load_parcels(parcels))  # type: ignore[attr-defined]  # noqa: B023
                else:
                    ls = 0.0
                s, areas = budgeted(peer.name, n, lambda: peer.run(parcels))  # noqa: B023
            except Exception as exc:
                row[peer.name] = {"error": f"{type(exc).__name__}: {exc}"[:500]}
                continue
            if s is None:
                row[peer.name] = {"skipped": areas}
                continue
            entry = {"seconds": s, "parcels_per_s": n / s}
            if lantu_s:
                entry["lantu_speedup"] = s / lantu_s
            if n in streamed_s:
                entry["streamed_speedup"] = s / streamed_s[n]
            if ls:
                entry["load_parcels_s"] = ls
            if reference is None:  # the one-thread bound is the reference
                reference = areas
                if n in lantu_out:
                    ours, tol = lantu_out[n]
                    row["lantu"]["areas_vs_bound"] = agreement(reference, ours, floor=0.02, tolerance=tol)
            else:
                entry["areas_vs_bound"] = agreement(reference, areas, floor=1e-3)
            row[peer.name] = entry
            run.note("batch", str(n), value=row)
            run.save()
        bounds = [row.get(p.name, {}).get("seconds") for p in peers if isinstance(p, Bound)]
        if bounds and bounds[-1] and lantu_s:
            row["lantu"]["ratio_to_bound_all_cores"] = lantu_s / bounds[-1]
            if n in streamed_s:
                row["lantu, streamed"]["ratio_to_bound_all_cores"] = streamed_s[n] / bounds[-1]
        run.note("batch", str(n), value=row)
        if args.rounds > 1 and n in lantu_out and n <= args.rounds_upto:
            say(f"batch {n}: {args.rounds} interleaved rounds")
            engines: dict[str, Callable[[], Any]] = {"lantu": lambda: geo.review(parcels, bp, **review_kw)}  # noqa: B023
            if n in streamed_s:
                engines["lantu, streamed"] = lambda: lantu_streamed(parcels, bp, review_kw)  # noqa: B023
            if "processes" not in skip:  # ``lantu review --workers N``, on the pool forked above
                engines[f"lantu, {cores} processes"] = lambda: on_processes(parcels)  # noqa: B023
            for peer in peers:
                if "seconds" in row.get(peer.name, {}):
                    engines[peer.name] = lambda peer=peer: peer.run(parcels)  # noqa: B023
            run.note("interleaved", str(n), value=interleaved(engines, args.rounds))
            run.save()
    for peer in peers:
        peer.close()
    targets.clear()
    peers.clear()
    gc.collect()

    # 8. dask with 1 and 2 workers, the blueprint already loaded (its load is item 1): only the calls are timed
    if "dask" not in skip:
        calls = {w: dask_call(bp_dir, w, loaded=bp) for w in (1, 2)}
        say("dask warm-up (forks each pool, which later batches reuse)")
        run.note("dask_warm_up_s", value={w: timed(lambda w=w: calls[w](all_parcels.iloc[:2]))[0] for w in calls})
        for n in sets:
            row = rows[n]
            parcels = all_parcels.iloc[:n].reset_index(drop=True)
            for w in (1, 2):
                say(f"batch {n}: dask {w} worker(s)")
                try:
                    s, used = budgeted(f"dask{w}", n, lambda: cpu_timed(lambda: calls[w](parcels)))  # noqa: B023
                    row[f"dask {w}"] = (
                        {"seconds": s, "parcels_per_s": n / s, "cores_used": used["cores"]} if s else {"skipped": used}
                    )
                except Exception as exc:
                    row[f"dask {w}"] = {"error": f"{type(exc).__name__}: {exc}"[:500]}
            d1, d2 = row["dask 1"].get("seconds"), row["dask 2"].get("seconds")
            if d1 and d2:
                row["dask 2"]["speedup_vs_1"] = d1 / d2
                if args.rounds > 1 and n <= args.rounds_upto:  # 1 and 2 workers in turn: load falls on both alike
                    say(f"batch {n}: dask, {args.rounds} interleaved rounds")
                    turns = interleaved({f"dask {w}": lambda w=w: calls[w](parcels) for w in (1, 2)}, args.rounds)  # noqa: B023
                    run.note("interleaved_dask", str(n), value=turns)
            run.note("batch", str(n), value=row)
            run.save()
    run.note("bench_peak_rss_mb", value=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)

    say("done")
    run.save()
    print(render(run.out))
    print(f"\nJSON: {run.path}")
    return run.out


def render(out: dict[str, Any]) -> str:
    hw = out["hardware"]
    loads = [entry["load_1_5_15"][0] for entry in out.get("load_average", [])]
    lines = [
        f"lantu city benchmark — scale {out['scale']} — {out['date']}",
        f"hardware: {hw['nproc']} cores, {hw['cpu']}, {hw['memory_gb']} GB; Python {hw['python']}; "
        f"GEOS {out['versions']['geos']}",
        f"machine load (1-min average over the phases): min {min(loads, default=0):.2f}, "
        f"median {float(np.median(loads)) if loads else 0:.2f}, max {max(loads, default=0):.2f}",
        "data: " + ", ".join(f"{k} {v:,}" for k, v in out["data"]["features"].items()),
        "",
    ]
    ld = out["load"]
    lines.append(
        f"1. blueprint load: {ld['seconds']:.2f} s, peak RSS {ld['peak_rss_mb']:,.0f} MB "
        f"(RSS {ld['rss_before_mb']:.0f} MB before, {ld['rss_after_mb']:,.0f} MB after)"
    )
    if "load_rechecked" in out:
        again = out["load_rechecked"]
        lines.append(
            f"   testing every polygon again (a blueprint whose check was not recorded): {again['seconds']:.2f} s, "
            f"peak RSS {again['peak_rss_mb']:,.0f} MB"
        )
    if "lantu_peak_rss_mb" in out:
        lines.append(f"   peak RSS of the bench process while lantu reviewed: {out['lantu_peak_rss_mb']:,.0f} MB")
    sg = out["single"]
    lines.append(
        f"2. single parcel, in-process: p50 {sg['in_process']['p50_ms']:.1f} ms, "
        f"p95 {sg['in_process']['p95_ms']:.1f} ms (n={sg['in_process']['n']})"
    )
    if "http" in sg:
        h = sg["http"]
        lines.append(
            "   single parcel, HTTP: "
            + (
                f"p50 {h['p50_ms']:.1f} ms, p95 {h['p95_ms']:.1f} ms (n={h['n']})"
                if "p50_ms" in h
                else h.get("error", "?")
            )
        )
    if "service" in out:
        sv = out["service"]
        lines.append(
            f"   the service, warmed first: viewer page {sv['viewer_page_mb']:.1f} MB, "
            f"sent as {sv.get('viewer_sent_mb', sv['viewer_page_mb']):.1f} MB (ready "
            f"{sv['viewer_wait_s']:.1f} s after the server), server RSS {sv['server_rss_mb']:,.0f} MB with it, "
            f"{sv.get('server_rss_after_reviews_mb', 0):,.0f} MB after the reviews"
        )
    lines.append("")
    lines.append(
        "3–8. batch (wall-clock s; parcels/s; 'peer/lantu' = how many times lantu is faster; "
        "areas vs the 1-thread GEOS bound)"
    )
    header = f"{'engine':<24}{'parcels':>9}{'seconds':>10}{'parcels/s':>11}{'peer/lantu':>12}  areas"
    lines.append(header)
    lines.append("-" * len(header))
    for n, row in out.get("batch", {}).items():
        for name, e in row.items():
            if name == "parcels":
                continue
            if "seconds" not in e or e["seconds"] is None:
                lines.append(f"{name:<24}{n:>9}  {e.get('skipped') or e.get('error')}")
                continue
            ratio = e.get("lantu_speedup")
            agree = e.get("areas_vs_bound")
            atext = ""
            if agree:
                atext = (
                    f"{agree['within_0.01%']}/{agree['pairs']} within 0.01 %"
                    + (f", {agree['within_tolerance']} within review tolerance" if agree["within_tolerance"] else "")
                    + (f", {agree['disagree']} DISAGREE" if agree["disagree"] else "")
                )
            extra = ""
            if name.startswith("lantu") and e.get("ratio_to_bound_all_cores"):
                extra = f"  lantu/bound(all cores) {e['ratio_to_bound_all_cores']:.2f}"
            if "same_areas_as_held" in e:
                extra += f"  areas as held: {'same' if e['same_areas_as_held'] else 'DIFFERENT'}"
            if e.get("streamed_speedup"):
                extra += f"  peer/streamed {e['streamed_speedup']:.2f}×"
            if e.get("cores_used"):
                extra = f"  {e['cores_used']:.2f} cores used"
            if name == "dask 2" and e.get("speedup_vs_1"):
                extra += f", speed-up 1→2 workers {e['speedup_vs_1']:.2f}×"
            lines.append(
                f"{name:<24}{n:>9}{e['seconds']:>10.2f}{e['parcels_per_s']:>11.0f}"
                f"{(f'{ratio:.2f}×' if ratio else ''):>12}  {atext}{extra}"
            )
    for n, engines in out.get("interleaved", {}).items():
        rounds = len(next(iter(engines.values()))["seconds"])
        lines += ["", f"interleaved, {n} parcels, {rounds} rounds (each engine once per round, in turn)"]
        header = f"{'engine':<24}{'best s':>9}{'median s':>10}{'peer/lantu best':>17}{'median':>9}"
        lines += [header, "-" * len(header)]
        for name, e in engines.items():
            lines.append(
                f"{name:<24}{e['best_s']:>9.2f}{e['median_s']:>10.2f}"
                f"{e['best_ratio']:>16.2f}×{e['median_ratio']:>8.2f}×"
            )
    for n, turns in out.get("interleaved_dask", {}).items():
        one, two = turns["dask 1"], turns["dask 2"]
        lines += [
            "",
            f"dask, {n} parcels, 1 and 2 workers in turn ({len(one['seconds'])} rounds): "
            f"best {one['best_s']:.2f} → {two['best_s']:.2f} s (speed-up {one['best_s'] / two['best_s']:.2f}×), "
            f"median {one['median_s']:.2f} → {two['median_s']:.2f} s ({one['median_s'] / two['median_s']:.2f}×)",
        ]
    lines.append("")
    lines.append(
        "compared targets (every peer computes area(parcel ∩ target) for all of them; lantu runs its full review):"
    )
    for name, t in out["targets"].items():
        lines.append(
            f"  {name:<20} layers {'+'.join(t['layers'])}"
            + (f" [{t['filter']}]" if t["filter"] else "")
            + f" → lantu {t['lantu_field']} ({t['features']:,} features)"
        )
    for key, why in out.get("peer_errors", {}).items():
        lines.append(f"  not measured: {key}: {why}")
    return "\n".join(lines)


if __name__ == "__main__":
    main()
