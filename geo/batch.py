"""Province-scale batch review: the same review code per partition, run by dask.

Three ways to run the partitions, all giving the single-process result:

- ``scheduler="processes"`` (default): dask's local process pool, forked on Linux after
  the parent has loaded the blueprint, so every worker starts with it (copy-on-write)
  instead of reading it again;
- ``scheduler="local"``: a ``dask.distributed.LocalCluster`` of ``num_workers``
  single-threaded workers (its dashboard shows the progress);
- ``scheduler="tcp://host:8786"``: a running ``dask.distributed`` scheduler; every
  worker loads the blueprint from the same path once (so the directory must be
  reachable from every worker, e.g. on a shared file system) and keeps it.

Inside a worker the review runs on one thread: the workers are the parallelism.
Parcel results come back as JSON text (cheaper across processes than pickled
models) in the input order.
"""

from __future__ import annotations

import sys
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from typing import Any

import dask
import geopandas as gpd
import numpy as np
from dask.base import compute
from dask.delayed import delayed

from geo.blueprint import Blueprint, load_blueprint
from geo.review import ReviewResult, review
from geo.review.engine import parcel_ids


@cache
def _blueprint(directory: str) -> Blueprint:
    return load_blueprint(directory)


def _review_partition(
    frame: gpd.GeoDataFrame, directory: str, profile: str, project: dict[str, Any] | None, pieces: bool
) -> str:
    bp = _blueprint(directory)
    return review(frame, bp, profile=profile, project=project, pieces=pieces, workers=1).model_dump_json()


def _on_cluster(tasks: list[Any], scheduler: str, num_workers: int | None) -> tuple[str, ...]:
    """Run on dask.distributed: a LocalCluster (``"local"``) or the scheduler at an address."""
    from distributed import Client, LocalCluster

    if scheduler == "local":
        with (
            LocalCluster(
                n_workers=num_workers or 2, threads_per_worker=1, processes=True, dashboard_address=None
            ) as cluster,
            Client(cluster) as client,
        ):
            return tuple(client.gather(client.compute(tasks)))
    with Client(scheduler, timeout="30s") as client:
        return tuple(client.gather(client.compute(tasks)))


def review_in_partitions(
    parcels: gpd.GeoDataFrame,
    blueprint_dir: str | Path,
    *,
    partitions: int,
    scheduler: str = "processes",
    num_workers: int | None = None,
    profile: str = "ten-point",
    project: dict[str, Any] | None = None,
    progress: Callable[[int, int], None] | None = None,
    pieces: bool = True,
) -> ReviewResult:
    """Review ``parcels`` in ``partitions`` pieces on dask; the result equals ``review``'s."""
    frame = parcels.assign(id=parcel_ids(parcels))  # ids by position in the whole input, not the partition
    frame.attrs = {}  # the reader's warnings are reported once, below, not once per partition
    chunks = [c for c in np.array_split(np.arange(len(frame)), max(1, partitions)) if len(c)]
    directory = str(Path(blueprint_dir).resolve())
    tasks = [delayed(_review_partition)(frame.iloc[c], directory, profile, project, pieces) for c in chunks]
    if scheduler in ("processes", "threads", "synchronous"):
        _blueprint(directory)  # loaded before the fork: the workers inherit it
        # fork where the OS has it: workers start with the libraries and the blueprint already in memory
        context = "fork" if sys.platform == "linux" else dask.config.get("multiprocessing.context", "spawn")
        with dask.config.set({"multiprocessing.context": context}):
            # chunksize=1: dask's local schedulers batch 6 tasks per dispatch by default, which leaves workers idle
            texts = compute(*tasks, scheduler=scheduler, num_workers=num_workers, chunksize=1)
    else:
        texts = _on_cluster(tasks, scheduler, num_workers)
    parts = [ReviewResult.model_validate_json(text) for text in texts]
    results = [p for part in parts for p in part.parcels]
    if progress:
        progress(len(results), len(frame))
    return parts[0].model_copy(
        update={
            "review_id": uuid.uuid4().hex,
            "created": datetime.now(UTC).isoformat(timespec="seconds"),
            "parcels": results,
            "warnings": list(parcels.attrs.get("warnings", [])),
        }
    )
