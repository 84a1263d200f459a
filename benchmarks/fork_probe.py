"""Forks beside threads that call GDAL: how many children hang on a GDAL lock.

A child forked while another thread of the parent is inside a GDAL call inherits GDAL's mutexes
as that thread held them; the child's own GDAL call then waits for good. ``geo.forked.gdal_gate``
keeps the two apart, and a server has GDAL read GeoPackages without threads of its own
(``gdal_on_callers_threads``). This probe makes a hang likely: three threads read without pause,
``--readers raster`` windows of the slope raster (read from the file, not kept in memory),
``--readers layers`` the land-use GeoPackage (in batches of 500 features, as a city's layer is
read), while the main thread forks ``--forks`` children (``geo.forked.run_forked``), each reading
five parcels' pixels, or the county layer, stopped after
``--deadline`` seconds (a child takes some 40 ms; one that hung never ends: a review on a server
would have got 503), counted apart from forks that timed out waiting for the readers' calls (on a
loaded machine, not a hang); each child's sum is checked against the parent's.

    .venv/bin/python benchmarks/fork_probe.py --forks 5000            # the gate as lantu runs it
    .venv/bin/python benchmarks/fork_probe.py --forks 5000 --ungated  # the gate left open: before
    .venv/bin/python benchmarks/fork_probe.py --forks 2000 --readers layers

It prints the counts (exit code 1 when a child hung or summed wrong with the gate kept) and asserts
nothing about time; CI runs ``--forks 20``, so it cannot rot.
"""

from __future__ import annotations

import argparse
import contextlib
import random
import sys
import threading
import time
from pathlib import Path

import numpy as np

import geo.raster
from geo.blueprint import load_blueprint
from geo.forked import gdal_gate, gdal_on_callers_threads, run_forked
from geo.io import blueprint as io_blueprint
from geo.io.blueprint import read_layer
from geo.raster import pixel_values

sys.path.insert(0, str(Path(__file__).resolve().parent))
import citygen


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--forks", type=int, default=2000, help="children to fork (default 2000)")
    parser.add_argument("--threads", type=int, default=3, help="threads reading the raster meanwhile (default 3)")
    parser.add_argument("--deadline", type=float, default=10.0, help="seconds a child may take (default 10)")
    parser.add_argument("--readers", choices=("raster", "layers"), default="raster", help="what the threads read")
    parser.add_argument("--ungated", action="store_true", help="no gate, GDAL's own threads: forks as before")
    parser.add_argument("--cache-dir", type=Path, default=None, help="where citygen keeps its data")
    args = parser.parse_args(argv)

    geo.raster.KEEP_MAX_BYTES = 0  # every pixel read a GDAL window read
    root = citygen.generate("tiny", args.cache_dir, log=False)
    blueprint = load_blueprint(root / "blueprint")
    slope = blueprint.raster("slope")
    assert slope is not None and slope.band is None
    parcels = read_layer(root / "parcels.gpkg", layer=None, default_crs=None).to_crs(slope.crs)
    shapes = np.asarray(parcels.geometry.values, dtype=object)
    if args.ungated:
        gdal_gate.inside = lambda: contextlib.nullcontext()  # type: ignore[method-assign]
    else:
        gdal_on_callers_threads()  # as a server does
    io_blueprint.READ_BATCH = 500

    stop = threading.Event()

    def reader(seed: int) -> None:
        rng = random.Random(seed)
        while not stop.is_set():
            if args.readers == "raster":
                pixel_values(slope, shapes[rng.randrange(len(shapes))], all_touched=False)
            else:
                read_layer(root / "blueprint" / "landuse.gpkg", layer=None, default_crs=None)

    def job() -> float:
        if args.readers == "layers":
            return float(len(read_layer(root / "blueprint" / "county.gpkg", layer=None, default_crs=None)))
        return float(sum(pixel_values(slope, s, all_touched=False).sum() for s in shapes[:5]))

    expected = job()
    threads = [threading.Thread(target=reader, args=(k,), daemon=True) for k in range(args.threads)]
    for t in threads:
        t.start()
    hung, waited, wrong, started = 0, 0, 0, time.perf_counter()
    try:
        for _ in range(args.forks):
            try:
                wrong += abs(run_forked(job, deadline=time.monotonic() + args.deadline) - expected) > 1e-6
            except TimeoutError as stopped:
                if "outlived" in str(stopped):  # the child was killed; else the fork never started
                    hung += 1
                else:
                    waited += 1
    finally:
        stop.set()
        for t in threads:
            t.join()
    gate = "left open" if args.ungated else "kept"
    print(
        f"{args.forks} children forked beside {args.threads} threads reading the {args.readers} (gate {gate}): "
        f"{hung} hung past {args.deadline:g} s, {wrong} with a wrong sum, {waited} not forked by then; "
        f"{time.perf_counter() - started:.1f} s"
    )
    return 1 if (hung or wrong) and not args.ungated else 0


if __name__ == "__main__":
    raise SystemExit(main())
