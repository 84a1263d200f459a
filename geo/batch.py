"""Province-scale batch review: the same review code per partition, run by dask.

Each worker process loads the blueprint from its directory once (the indexes are
built where they are used, not shipped), reviews its partition, and the parcel
results come back as JSON text in the input order. With a ``dask.distributed``
client active, ``dask.compute`` runs on its cluster instead.
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
    # JSON text crosses the process boundary cheaper than pickled models, and pydantic parses it in Rust
    return review(frame, _blueprint(directory), profile=profile, project=project, pieces=pieces).model_dump_json()


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
    # fork where the OS has it: workers start with the libraries already imported
    context = "fork" if sys.platform == "linux" else dask.config.get("multiprocessing.context", "spawn")
    with dask.config.set({"multiprocessing.context": context}):
        # chunksize=1: dask's local schedulers batch 6 tasks per dispatch by default, which leaves workers idle
        texts = compute(*tasks, scheduler=scheduler, num_workers=num_workers, chunksize=1)  # type: ignore[no-untyped-call]
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
