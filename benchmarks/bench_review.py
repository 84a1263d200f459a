"""Review speed on the demo blueprint, against a naive baseline measured in the same run.

Baseline: for each parcel and layer, ``geopandas.overlay`` of the parcel with the
whole layer (what the overlay engine avoids). Ours: the layer's STRtree plus one
vectorised intersection (``geo.overlay.pieces``). Both compute the same areas; the
script checks that they agree before printing the ratio.

    .venv/bin/python benchmarks/bench_review.py [--parcels 200] [--repeat 3]
"""

from __future__ import annotations

import argparse
import os
import tempfile
from pathlib import Path

import geopandas as gpd
import numpy as np
import shapely
from timing import timed

from geo.batch import review_in_partitions
from geo.blueprint import VectorLayer, load_blueprint
from geo.demo import build_demo_blueprint
from geo.overlay import pieces
from geo.review import review

ZONE = 4548


def random_parcels(county: shapely.Geometry, n: int, seed: int = 7) -> gpd.GeoDataFrame:
    rng = np.random.default_rng(seed)
    minx, miny, maxx, maxy = county.bounds
    out: list[shapely.Geometry] = []
    while len(out) < n:
        x, y = rng.uniform(minx, maxx), rng.uniform(miny, maxy)
        side = rng.uniform(80, 400)
        sq = shapely.box(x, y, x + side, y + side)
        if county.contains(sq):
            out.append(sq)
    return gpd.GeoDataFrame({"id": [f"B{i}" for i in range(n)]}, geometry=out, crs=ZONE)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--parcels", type=int, default=200, help="random squares of 80–400 m in the demo county")
    ap.add_argument("--repeat", type=int, default=3, help="timed runs of each way; their median is printed")
    ap.add_argument("--batch-parcels", type=int, default=2000, help="parcels for the serial vs dask comparison")
    ap.add_argument(
        "--workers", type=int, default=os.cpu_count() or 2, help="dask workers of the comparison (default: every core)"
    )
    args = ap.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        root = build_demo_blueprint(Path(tmp) / "bp")
        load_s, bp = timed(lambda: load_blueprint(root), args.repeat)
        county_layer = bp.vector("county")
        assert county_layer is not None
        counties = county_layer.in_crs(ZONE).frame
        parcels = random_parcels(counties.loc[counties["code"] == "370811"].geometry.union_all(), args.parcels)
        layers = {k: v.in_crs(ZONE) for k, v in bp.layers.items() if isinstance(v, VectorLayer)}

        def ours() -> float:
            return sum(float(pieces(g, layer).area_m2.sum()) for g in parcels.geometry for layer in layers.values())

        def baseline() -> float:
            total = 0.0
            for i in range(len(parcels)):
                one = parcels.iloc[[i]][["geometry"]]
                for layer in layers.values():
                    total += float(gpd.overlay(one, layer.frame, how="intersection", keep_geom_type=True).area.sum())
            return total

        ours_s, ours_area = timed(ours, args.repeat)
        base_s, base_area = timed(baseline, 1)
        assert abs(ours_area - base_area) <= 1e-6 * max(base_area, 1.0), (ours_area, base_area)  # type: ignore[operator]
        review_s, result = timed(lambda: review(parcels, bp), args.repeat)
        big = random_parcels(
            counties.loc[counties["code"] == "370811"].geometry.union_all(), args.batch_parcels, seed=8
        )
        serial_s, _ = timed(lambda: review(big, bp), 1)
        dask_s, _ = timed(
            lambda: review_in_partitions(big, root, partitions=4 * args.workers, num_workers=args.workers), 1
        )

    n = len(parcels)
    print(
        f"demo blueprint: {sum(len(layer.frame) for layer in layers.values())} features in {len(layers)} vector layers"
    )
    print(f"blueprint load (median of {args.repeat}): {load_s * 1000:.0f} ms")
    print(f"overlay, {n} parcels × {len(layers)} layers:")
    print(f"  baseline geopandas.overlay per parcel/layer: {base_s:.2f} s ({n / base_s:.1f} parcels/s, 1 run)")
    print(f"  STRtree + vectorised shapely (median of {args.repeat}): {ours_s:.3f} s ({n / ours_s:.0f} parcels/s)")
    print(f"  ratio baseline/ours: {base_s / ours_s:.1f}×  (same total overlap area {ours_area:,.1f} m²)")
    print(
        f"full ten-point review of {n} parcels (median of {args.repeat}): {review_s:.2f} s "
        f"({n / review_s:.0f} parcels/s, {1000 * review_s / n:.1f} ms/parcel)"
    )
    print(
        f"batch of {args.batch_parcels} parcels: serial {serial_s:.2f} s, dask {args.workers} processes "
        f"{dask_s:.2f} s (ratio serial/dask {serial_s / dask_s:.2f}×, blueprint loaded once per process)"
    )
    assert result is not None


if __name__ == "__main__":
    main()
