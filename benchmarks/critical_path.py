"""Where a pipelined batch review spends its wall time: the calling thread against the overlay thread.

``geo.review`` with two or more cores runs each chunk's overlay (GEOS, without the GIL) on a thread
while the calling thread grades the chunk before (Python rules and pydantic results, with the GIL);
done grading, the calling thread cuts the layers the overlay thread has not reached. This script
times, for one batch on the benchmark city (``citygen.py``), what each thread does:

* the calling thread: grading (``_Batch.grade``), cutting (its share of ``_Overlaying.cut``), and
  the rest (checking the input, a chunk's pixels, stock land and outlines, waiting);
* the overlay thread: cutting, and its idle share of the wall time;
* the cyclic collector's passes (the results are built with the collector paused; its first pass
  once it runs again, still inside the call, walks them all).

It wraps those private methods for the run (instrumentation, not an API) and asserts nothing about
time. One thread (``--workers 1``) gives the overlay and the grading alone, one after the other:

    .venv/bin/python benchmarks/critical_path.py --scale city --parcels 1000 --runs 3
"""

from __future__ import annotations

import argparse
import gc
import importlib
import statistics
import sys
import threading
import time
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import geopandas as gpd

import geo

sys.path.insert(0, str(Path(__file__).resolve().parent))
import citygen

engine = importlib.import_module("geo.review.engine")  # ``geo.review`` is also a function's name


@contextmanager
def instrumented(spent: dict[str, float]) -> Iterator[None]:
    """Time ``grade`` and ``cut`` by the thread that runs them, and the collector's passes, into ``spent``."""
    main = threading.get_ident()
    grade, cut = engine._Batch.grade, engine._Overlaying.cut
    lock = threading.Lock()

    def add(key: str, seconds: float) -> None:
        with lock:
            spent[key] += seconds

    def timed_grade(self: Any, found: Any) -> Any:
        t = time.perf_counter()
        try:
            return grade(self, found)
        finally:
            add("main: grading", time.perf_counter() - t)

    def timed_cut(self: Any, workers: Any, *, copies: bool = False) -> Any:
        t = time.perf_counter()
        try:
            return cut(self, workers, copies=copies)
        finally:
            add(
                "main: cutting" if threading.get_ident() == main else "overlay thread: cutting", time.perf_counter() - t
            )

    started: list[float] = []

    def collector(phase: str, info: dict[str, Any]) -> None:
        if phase == "start":
            started.append(time.perf_counter())
        elif started:
            add(f"collector, generation {info['generation']}", time.perf_counter() - started.pop())

    engine._Batch.grade, engine._Overlaying.cut = timed_grade, timed_cut
    gc.callbacks.append(collector)
    try:
        yield
    finally:
        engine._Batch.grade, engine._Overlaying.cut = grade, cut
        gc.callbacks.remove(collector)


def measure(parcels: gpd.GeoDataFrame, blueprint: geo.Blueprint, workers: int | None) -> dict[str, float]:
    """One batch review (lean output): its wall time and each thread's share of it."""
    spent: dict[str, float] = defaultdict(float)
    gc.collect()
    with instrumented(spent):
        t = time.perf_counter()
        geo.review(parcels, blueprint, pieces=False, workers=workers)  # the result dropped inside the time
        spent["wall"] = time.perf_counter() - t
    spent["main: the rest"] = spent["wall"] - spent["main: grading"] - spent["main: cutting"]
    if "overlay thread: cutting" in spent:
        spent["overlay thread: idle"] = spent["wall"] - spent["overlay thread: cutting"]
    return dict(spent)


def main(argv: list[str] | None = None) -> dict[str, float]:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--scale", default="city", choices=sorted(citygen.SCALES))
    ap.add_argument("--cache-dir", type=Path, default=None)
    ap.add_argument("--parcels", type=int, default=1000)
    ap.add_argument("--runs", type=int, default=3, help="batches timed; medians printed")
    ap.add_argument("--workers", type=int, default=None, help="default: every core (the pipeline)")
    args = ap.parse_args(argv)
    root = citygen.generate(args.scale, args.cache_dir, log=False)
    blueprint = geo.load_blueprint(root / "blueprint")
    parcels = gpd.read_file(root / "parcels.gpkg", rows=args.parcels)
    geo.review(parcels.iloc[:20], blueprint, pieces=False, workers=args.workers)  # warm: zones, caches
    runs = [measure(parcels, blueprint, args.workers) for _ in range(args.runs)]
    medians = {key: statistics.median(r.get(key, 0.0) for r in runs) for key in runs[0]}
    wall = medians["wall"]
    print(f"{len(parcels):,} parcels, workers={args.workers or 'every core'}, median of {args.runs} runs:")
    for key, seconds in sorted(medians.items(), key=lambda kv: -kv[1]):
        print(f"  {key:<42} {seconds:8.3f} s  {seconds / wall:6.1%} of the wall time")
    return medians


if __name__ == "__main__":
    main()
