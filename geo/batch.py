"""Province-scale batch review: the same review code per partition, run by dask.

Three ways to run the partitions, all giving the single-process result:

- ``scheduler="processes"`` (default): dask's local scheduler on a process pool forked (on
  Linux) after the parent has loaded the blueprint, so every worker starts with it
  (copy-on-write) instead of reading it again. The pool is kept for the next batch on the
  same blueprint: forking a process that holds a city blueprint and starting the pool cost
  about 0.4 s a call, a third of a 1,000-parcel batch on two workers;
- ``scheduler="local"``: a ``dask.distributed.LocalCluster`` of ``num_workers``
  single-threaded workers (its dashboard shows the progress);
- ``scheduler="tcp://host:8786"``: a running ``dask.distributed`` scheduler; every
  worker loads the blueprint from the same path once (so the directory must be
  reachable from every worker, e.g. on a shared file system) and keeps it.

A worker runs one partition at a time per thread dask gives it, and the review inside
runs on that one thread (``review(workers=1)``: no overlay thread of its own), so N
workers use N cores and no more. Partitions are contiguous runs of the input cut to
about equal cost (``balanced_partitions``), of at most ``PARTITION_PARCELS`` parcels; results
come back as pickled models, which the parent unpickles as each partition finishes and hands on in
input order (``reviewing_in_partitions``), holding a few partitions' results at a time, not the
batch's (about 60 KB a parcel without pieces).
"""

from __future__ import annotations

import itertools
import multiprocessing
import sys
import threading
import uuid
from collections import deque
from collections.abc import Callable, Generator, Iterator
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from contextlib import closing, contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import shapely
from dask.base import compute
from dask.delayed import delayed

from geo.blueprint import Blueprint, load_blueprint
from geo.crs import check_coordinates
from geo.errors import InputError, ReviewAborted
from geo.forked import as_forked_child, dumps, forking, loads
from geo.review import Reviewing, ReviewResult, review
from geo.review.engine import Chunks, in_input_order, parcel_ids, parcel_zones, project_attributes
from geo.review.profile import Profile
from geo.threads import CORES

Parts = Generator[ReviewResult, None, None]  # partitions' results, in order
PARTITION_PARCELS = 1000  # at most: what the parent holds is a few partitions' results
_loaded: dict[str, Blueprint] = {}  # per process: a worker loads a blueprint once and keeps it


def _blueprint(directory: str) -> Blueprint:
    if directory not in _loaded:
        _loaded[directory] = load_blueprint(directory)
    return _loaded[directory]


def _review_partition(
    frame: gpd.GeoDataFrame, directory: str, profile: str | Profile, project: dict[str, Any] | None, pieces: bool
) -> ReviewResult:
    return review(frame, _blueprint(directory), profile=profile, project=project, pieces=pieces, workers=1)


def balanced_partitions(geoms: np.ndarray, partitions: int) -> list[np.ndarray]:
    """Positions ``0..n-1`` cut into at most ``partitions`` contiguous runs of about equal cost.

    A parcel's review costs a fixed part (its rules, its result) plus a part that grows with
    its area (the features it meets); on the benchmark city (parcels of 5–500 亩) the fixed
    part is about what the overlay of a parcel of the mean area costs, so a parcel weighs its
    area plus the mean area. Parcels sorted by size then no longer leave one worker the big ones.
    """
    area = np.nan_to_num(shapely.area(geoms))
    weight = area + (area.mean() or 1.0) if len(area) else np.zeros(0)
    middle = np.cumsum(weight) - weight / 2  # a parcel goes to the partition its middle falls in
    parts = max(1, partitions)
    cuts = np.searchsorted(middle, weight.sum() * np.arange(1, parts) / parts)
    return [c for c in np.split(np.arange(len(geoms)), cuts) if len(c)]


def projects_together(chunks: list[np.ndarray], projects: list[str | None]) -> list[np.ndarray]:
    """The partitions with each project's parcels (same 项目编号) in one: the first partition holding
    one of them. Item 10 grades a project on its summed area and investment, over the parcels that
    one review sees, so a project cut in two would be graded as two smaller ones."""
    home: dict[str, int] = {}
    owner = np.empty(sum(len(c) for c in chunks), dtype=int)
    for k, chunk in enumerate(chunks):
        for i in chunk.tolist():
            pid = projects[i]
            owner[i] = k if pid is None else home.setdefault(pid, k)
    moved = [np.flatnonzero(owner == k) for k in range(len(chunks))]
    return [c for c in moved if len(c)]


@dataclass
class _Pool:
    """Worker processes forked with ``blueprint`` in memory: they serve batches on it and no other.
    A pool retired while batches run on it (another thread loaded the blueprint anew) is shut down
    when the last of them ends: those batches finish on the blueprint they started with."""

    blueprint: Blueprint
    executor: ProcessPoolExecutor
    zones: frozenset[int]  # the zones (EPSG) the workers inherited the layers projected to
    users: int = 0
    retired: bool = False

    def retire(self) -> None:
        self.retired = True
        if self.users == 0:
            self.executor.shutdown(wait=False, cancel_futures=True)


_pools: dict[tuple[str, int], _Pool] = {}  # by (blueprint directory, workers)
_pools_lock = threading.Lock()  # batches may start on several threads (a notebook's, a library user's)


@contextmanager
def _forked_pool(directory: str, workers: int, zones: frozenset[int]) -> Iterator[_Pool]:
    """This process's pool of ``workers`` forked with the blueprint it holds for ``directory``, its
    layers projected to ``zones`` (the batch's parcels' GK zones), forked on first use and kept,
    held for one batch. A blueprint loaded anew for the directory (another object) retires the pools
    forked with the old one: their workers would review against what they inherited. A batch in a
    zone the pool's workers lack has the parent project the layers and fork anew, rather than each
    worker project them for itself."""
    blueprint = _blueprint(directory)
    with _pools_lock:
        pool = _pools.get((directory, workers))
        if pool is None or pool.blueprint is not blueprint or not zones <= pool.zones:
            # this one, and every pool on the old blueprint: each holds a copy of it
            for key, kept in list(_pools.items()):
                if key[0] == directory and (key[1] == workers or kept.blueprint is not blueprint):
                    _pools.pop(key).retire()
            held = blueprint.project_to(zones)
            pool = _pools[(directory, workers)] = _Pool(blueprint, _fork(workers), held)
        pool.users += 1
    try:
        yield pool
    finally:
        with _pools_lock:
            pool.users -= 1
            if pool.retired:
                pool.retire()


def _fork(workers: int) -> ProcessPoolExecutor:
    """A pool of ``workers`` processes forked now, from the frozen heap (every worker forks on the
    first task); a fork that fails (out of memory, a worker dying at start) is a clear error."""
    executor = ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("fork"), initializer=as_forked_child)
    try:
        with forking():
            executor.submit(int).result()
    except (OSError, BrokenProcessPool) as exc:
        executor.shutdown(wait=False, cancel_futures=True)
        raise ReviewAborted(
            f"could not start {workers} worker process(es) ({exc}); run with fewer workers (--workers 1)",
            f"无法启动 {workers} 个审查进程（内存不足？），请减少进程数（--workers 1）",
        ) from exc
    return executor


def close_pools() -> None:
    """Shut down this process's kept worker pools (they end with the process otherwise)."""
    with _pools_lock:
        for key in list(_pools):
            _pools.pop(key).retire()


@dataclass
class _Tally:
    """Parcels reviewed so far, counted as partitions finish (by task key, on the threads computing
    them): a batch's progress."""

    sizes: dict[Any, int]
    report: Callable[[int, int], None] | None
    done: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def finished(self, key: Any) -> None:
        with self.lock:
            self.done += self.sizes.get(key, 0)
            if self.report is not None:
                self.report(self.done, sum(self.sizes.values()))


def _in_turn(tasks: list[Any], workers: int, compute_one: Callable[[Any], ReviewResult]) -> Parts:
    """The tasks' results in order, each computed alone by ``compute_one`` (dask's ``compute`` on a local
    scheduler, which returns a computation's results only when all are done) on one of ``workers``
    threads, as many as the workers: a worker that ends a partition finds the next one waiting. At most
    twice that many are started ahead of the one handed on, so the parent holds a few partitions'
    results, not the batch's; one that stops halfway (an error, ``SIGTERM``) starts no other and waits
    only for the partitions running."""
    upcoming = iter(tasks)
    with ThreadPoolExecutor(workers) as computing:
        started = deque(computing.submit(compute_one, task) for task in itertools.islice(upcoming, 2 * workers))
        try:
            while started:
                part = started.popleft().result()
                if (task := next(upcoming, None)) is not None:
                    started.append(computing.submit(compute_one, task))
                yield part
        finally:
            computing.shutdown(cancel_futures=True)


def _on_this_host(
    tasks: list[Any], scheduler: str, directory: str, num_workers: int | None, tally: _Tally, zones: frozenset[int]
) -> Parts:
    """dask's local schedulers, a partition per computation. Processes run in a pool of this process:
    where the OS has fork, the pool forked with the blueprint in memory (the workers start with the
    libraries and the blueprint loaded), else one for the batch whose workers load the blueprint."""
    # this computation's own callback, dask's (…, posttask, …): ``with Callback()`` would hear every thread's dask work
    finished = (None, None, None, lambda key, *_: tally.finished(key), None)
    kwargs: dict[str, Any] = {"scheduler": scheduler, "callbacks": [finished]}
    workers = num_workers or CORES
    if scheduler != "processes":  # each partition on the thread _in_turn gives it: dask's own pool would be one more
        alone = {**kwargs, "scheduler": "synchronous"}
        width = 1 if scheduler == "synchronous" else workers
        yield from _in_turn(tasks, width, lambda task: compute(task, **alone)[0])
        return
    with _process_pool(directory, workers, zones) as executor:
        yield from _in_turn(
            tasks,
            workers,
            lambda task: compute(task, pool=executor, func_dumps=dumps, func_loads=loads, **kwargs)[0],
        )


@contextmanager
def _process_pool(directory: str, workers: int, zones: frozenset[int]) -> Iterator[ProcessPoolExecutor]:
    """The batch's worker processes: this process's forked pool where the OS has fork, else a pool for the
    batch. A worker that dies (killed, out of memory) aborts the batch with a clear error; the next batch
    forks a new pool."""
    try:
        if sys.platform != "linux":
            with ProcessPoolExecutor(workers) as executor:
                yield executor
            return
        with _forked_pool(directory, workers, zones) as pool:
            try:
                yield pool.executor
            except BrokenProcessPool:
                with _pools_lock:
                    if _pools.get((directory, workers)) is pool:
                        del _pools[(directory, workers)]
                    pool.retire()  # shut down as this batch lets go of it
                raise
    except BrokenProcessPool as exc:
        raise ReviewAborted(
            f"a worker process died during the batch ({exc}); run it again, or with fewer workers (--workers 1)",
            "审查进程意外退出（内存不足？），请重新运行或减少进程数（--workers 1）",
        ) from exc


def _on_cluster(tasks: list[Any], scheduler: str, num_workers: int | None, tally: _Tally) -> Parts:
    """Run on dask.distributed: a LocalCluster (``"local"``) or the scheduler at an address. Every task
    is submitted at once; the results are gathered in order, each released on the cluster once here,
    so the parent holds one partition's results at a time."""
    from distributed import Client, LocalCluster

    def run(client: Client) -> Parts:
        for future in client.compute(tasks):
            part = future.result()
            future.release()
            tally.finished(future.key)
            yield part

    if scheduler == "local":
        with (
            LocalCluster(
                n_workers=num_workers or 2, threads_per_worker=1, processes=True, dashboard_address=None
            ) as cluster,
            Client(cluster) as client,
        ):
            yield from run(client)
        return
    try:
        client = Client(scheduler, timeout="30s")
    except (OSError, ValueError, TypeError) as exc:  # no scheduler there (refused, timed out), or no address at all
        raise ReviewAborted(
            f"cannot reach the dask scheduler at {scheduler!r} ({exc}); give its address as tcp://HOST:PORT",
            f"无法连接 dask 调度器 {scheduler!r}，地址应形如 tcp://主机:端口",
        ) from exc
    with client:
        yield from run(client)


def _zones(parcels: gpd.GeoDataFrame, blueprint: Blueprint) -> frozenset[int]:
    """The GK zones the parcels are reviewed in (a blueprint's pinned zone, else their centroids')."""
    check_coordinates(parcels)  # the review's own errors first (swapped axes, no CRS), before any zone is sought
    geoms = np.asarray(parcels.geometry.values, dtype=object)
    present = geoms[~(shapely.is_missing(geoms) | shapely.is_empty(geoms))]  # the review refuses the others
    return frozenset(parcel_zones(present, parcels.crs, blueprint.gk_zone_epsg).tolist())


def review_in_partitions(
    parcels: gpd.GeoDataFrame,
    blueprint_dir: str | Path,
    *,
    partitions: int,
    scheduler: str = "processes",
    num_workers: int | None = None,
    profile: str | Profile = "ten-point",
    project: dict[str, Any] | None = None,
    progress: Callable[[int, int], None] | None = None,
    pieces: bool = True,
    loaded: Blueprint | None = None,
) -> ReviewResult:
    """Review ``parcels`` in at least ``partitions`` pieces on dask; the result equals ``review``'s.

    ``loaded``: the blueprint the caller already read from ``blueprint_dir``; the local
    schedulers use it instead of reading the directory a second time (at city scale a second
    load is 16 s and another 4 GB). ``profile``: a name the workers look up among the packaged
    profiles, or a profile the caller loaded (from its own data directory: a worker has none).
    """
    return reviewing_in_partitions(
        parcels,
        blueprint_dir,
        partitions=partitions,
        scheduler=scheduler,
        num_workers=num_workers,
        profile=profile,
        project=project,
        progress=progress,
        pieces=pieces,
        loaded=loaded,
    ).result()


def reviewing_in_partitions(
    parcels: gpd.GeoDataFrame,
    blueprint_dir: str | Path,
    *,
    partitions: int,
    scheduler: str = "processes",
    num_workers: int | None = None,
    profile: str | Profile = "ten-point",
    project: dict[str, Any] | None = None,
    progress: Callable[[int, int], None] | None = None,
    pieces: bool = True,
    loaded: Blueprint | None = None,
) -> Reviewing:
    """``review_in_partitions``'s batch, its results to be drawn chunk by chunk in input order as the
    partitions finish (``lantu review --workers -o`` writes them so). It returns once the first
    partition is reviewed, whose result gives the header: bad input is refused before anything is
    written."""
    if len(parcels) == 0:
        raise InputError("no parcels to review", "没有需要审查的地块")
    ids = parcel_ids(parcels)
    frame = parcels.assign(id=ids)  # ids by position in the whole input, not the partition
    frame.attrs = {}  # the reader's warnings are reported once, below, not once per partition
    projects = [a.project_id for a in project_attributes(frame, project, ids)]
    cuts = max(partitions, -(-len(frame) // PARTITION_PARCELS))
    balanced = balanced_partitions(frame.geometry.values, cuts)  # by cost: many small parcels make a long run
    capped = [part for run in balanced for part in np.array_split(run, -(-len(run) // PARTITION_PARCELS))]
    chunks = projects_together(capped, projects)
    directory = str(Path(blueprint_dir).resolve())
    tasks = [delayed(_review_partition)(frame.iloc[c], directory, profile, project, pieces) for c in chunks]
    tally = _Tally({task.key: len(c) for task, c in zip(tasks, chunks, strict=True)}, progress)
    if scheduler in ("processes", "threads", "synchronous"):
        if loaded is not None:
            _loaded[directory] = loaded
        blueprint = _blueprint(directory)  # loaded before the fork: the workers inherit it
        parts = _on_this_host(tasks, scheduler, directory, num_workers, tally, _zones(parcels, blueprint))
    else:
        parts = _on_cluster(tasks, scheduler, num_workers, tally)
    first = next(parts)
    header = first.model_copy(
        update={
            "review_id": uuid.uuid4().hex,
            "created": datetime.now(UTC).isoformat(timespec="seconds"),
            "parcels": [],
            "warnings": list(parcels.attrs.get("warnings", [])),
        }
    )
    return Reviewing(header, len(frame), in_input_order(_positioned(chunks, first, parts), len(frame), None))


def _positioned(chunks: list[np.ndarray], first: ReviewResult, rest: Parts) -> Chunks:
    """Each partition's results with its parcels' positions in the input (a project's may have moved)."""
    parts = itertools.chain([first], rest)
    del first  # handed on with the first chunk, not held to the end
    with closing(rest):  # closing the partitions' generator stops them
        for chunk, part in zip(chunks, parts, strict=True):
            yield chunk, part.parcels
