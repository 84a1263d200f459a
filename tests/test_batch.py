"""Batch review in partitions on dask gives exactly the serial result."""

from __future__ import annotations

import dataclasses
import gc
import json
import os
import signal
import time
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from support import parcel_frame, rect
from typer.testing import CliRunner

from api.cli import app
from geo import batch
from geo.batch import balanced_partitions, review_in_partitions
from geo.blueprint import Blueprint, VectorLayer, load_blueprint
from geo.errors import InputError, ReviewAborted
from geo.review import review


def _grid() -> list:  # type: ignore[type-arg]
    return [rect(0.1 + 0.9 * i, 0.1 + 0.9 * j, 0.5 + 0.9 * i, 0.6 + 0.9 * j) for i in range(10) for j in range(5)]


@pytest.mark.parametrize("scheduler", ["threads", "processes", "local"])
def test_partitions_equal_serial(blueprint: Blueprint, blueprint_dir: Path, scheduler: str) -> None:
    frame = parcel_frame(*_grid(), project_type="industrial", investment_wan=100_000)
    frame["project_type"] = ["industrial", "energy"] * 25  # energy: single-site, no standard → conditional
    serial = review(frame, blueprint)
    seen: list[tuple[int, int]] = []
    batched = review_in_partitions(
        frame, blueprint_dir, partitions=7, scheduler=scheduler, num_workers=2, progress=lambda *at: seen.append(at)
    )
    # progress as each partition ends: seven steps, each adding its parcels, to all 50
    sizes = [len(c) for c in balanced_partitions(frame.geometry.values, 7)]
    steps = [b[0] - a[0] for a, b in zip([(0, 50), *seen], seen, strict=False)]
    assert len(seen) == 7 and seen[-1] == (50, 50) and sorted(steps) == sorted(sizes), seen
    assert [p.id for p in batched.parcels] == [p.id for p in serial.parcels] == [str(i) for i in range(1, 51)]
    for a, b in zip(batched.parcels, serial.parcels, strict=True):
        assert a.model_dump(exclude={"geometry"}) == b.model_dump(exclude={"geometry"})
    assert {p.verdict for p in batched.parcels} == {"pass", "conditional", "reject"}


def test_a_bad_attribute_names_its_parcel_by_id_on_workers_too(blueprint_dir: Path) -> None:
    """``--workers`` named the parcel by its position ("parcel 3") where the serial review names its id ("parcel
    9"): in a file with a parcel whose id is 3, the wrong one (read-through)."""
    frame = parcel_frame(*_grid()[:3], project_type="industrial")
    frame["id"], frame["investment_wan"] = ["7", "2", "9"], ["5", "5", "abc"]
    with pytest.raises(InputError) as refused:
        review_in_partitions(frame, blueprint_dir, partitions=2, scheduler="synchronous")
    assert refused.value.message_en.startswith("parcel 9: ") and refused.value.message_zh.startswith("地块 9：")


def _by_size() -> list:  # type: ignore[type-arg]
    """Four 1 km² parcels, then sixteen of 0.04 km²: a split by count gives the first partition all the big ones."""
    big = [rect(0.1 + 1.2 * i, 0.1, 1.1 + 1.2 * i, 1.1) for i in range(4)]
    return big + [rect(0.1 + 0.5 * i, 1.5 + 0.5 * j, 0.3 + 0.5 * i, 1.7 + 0.5 * j) for i in range(8) for j in range(2)]


def test_partitions_balance_cost_not_count() -> None:
    geoms = np.array(_by_size())
    parts = balanced_partitions(geoms, 4)
    assert np.array_equal(np.concatenate(parts), np.arange(20))  # contiguous, in order, each parcel once
    # weight = area + mean area (0.232 km²): 1.232 per big parcel, 0.272 per small one, 9.28 in all, a
    # quarter 2.32; a parcel goes where its middle falls: the 11th small one's at 6.968 is past 3 × 2.32
    assert [len(p) for p in parts] == [2, 2, 7, 9]
    assert [len(p) for p in balanced_partitions(geoms[::-1], 4)] == [9, 7, 2, 2]  # the mirror image
    assert [p.tolist() for p in balanced_partitions(geoms[:3], 8)] == [[0], [1], [2]]


def test_forked_workers_use_the_callers_blueprint(
    blueprint: Blueprint, blueprint_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The CLI's loaded blueprint is what the forked workers inherit (no second load), and the caller's
    collector comes back as it was (frozen only while the workers were forked)."""

    def no_second_load(path: object) -> Blueprint:
        raise AssertionError(f"blueprint loaded again from {path}")

    monkeypatch.setattr(batch, "_loaded", {})
    monkeypatch.setattr(batch, "load_blueprint", no_second_load)
    frame = parcel_frame(*_by_size(), project_type="industrial", investment_wan=100_000)
    frozen, enabled = gc.get_freeze_count(), gc.isenabled()
    batched = review_in_partitions(frame, blueprint_dir, partitions=3, num_workers=2, loaded=blueprint)
    assert (gc.get_freeze_count(), gc.isenabled()) == (frozen, enabled)
    serial = review(frame, blueprint)
    assert [p.model_dump(exclude={"geometry"}) for p in batched.parcels] == [
        p.model_dump(exclude={"geometry"}) for p in serial.parcels
    ]


def test_cli_workers(blueprint_dir: Path, tmp_path: Path) -> None:
    path = tmp_path / "grid.gpkg"
    parcel_frame(*_grid()).to_file(path)
    out = tmp_path / "r.json"
    result = CliRunner().invoke(app, ["review", str(path), "-b", str(blueprint_dir), "--workers", "2", "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert len(json.loads(out.read_text())["parcels"]) == 50


def test_cli_workers_review_with_the_users_own_profile(
    blueprint_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A profile in the data directory (``LANTU_DATA_DIR``) under a packaged name is the one reviewed with, on
    forked workers as in one process: the workers, looking the name up, found the packaged one."""
    packaged = (Path(__file__).parents[1] / "layers" / "profiles" / "ten-point.yaml").read_text(encoding="utf-8")
    assert packaged.count("name_zh: 规划符合性\n") == 1
    (tmp_path / "data" / "profiles").mkdir(parents=True)
    (tmp_path / "data" / "profiles" / "ten-point.yaml").write_text(
        packaged.replace("name_zh: 规划符合性\n", "name_zh: 规划符合性（本市）\n"), encoding="utf-8"
    )
    monkeypatch.setenv("LANTU_DATA_DIR", str(tmp_path / "data"))
    path = tmp_path / "grid.gpkg"
    parcel_frame(*_grid()[:8]).to_file(path)
    for workers in ("1", "2"):
        out = tmp_path / f"r{workers}.json"
        args = ["review", str(path), "-b", str(blueprint_dir), "--workers", workers, "-o", str(out)]
        result = CliRunner().invoke(app, args)
        assert result.exit_code == 0, result.output
        names = {i["name_zh"] for p in json.loads(out.read_text())["parcels"] for i in p["items"]}
        assert "规划符合性（本市）" in names and "规划符合性" not in names, (workers, names)


def test_cli_on_a_running_scheduler(blueprint_dir: Path, tmp_path: Path) -> None:
    from distributed import LocalCluster

    path = tmp_path / "grid.gpkg"
    parcel_frame(*_grid()[:12]).to_file(path)
    out = tmp_path / "r.json"
    with LocalCluster(n_workers=1, threads_per_worker=1, dashboard_address=None, host="127.0.0.1") as cluster:
        args = ["review", str(path), "-b", str(blueprint_dir), "--scheduler", cluster.scheduler_address, "-o", str(out)]
        result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    assert [p["id"] for p in json.loads(out.read_text())["parcels"]] == [str(i) for i in range(1, 13)]


def test_the_forked_pool_serves_the_next_batch(blueprint: Blueprint, blueprint_dir: Path) -> None:
    """The workers forked for a batch review the next one on the same blueprint (no fork, no pool start),
    and a blueprint loaded anew for the directory retires them: they hold the old one."""
    frame = parcel_frame(*_grid()[:12], project_type="industrial", investment_wan=100_000)
    directory = str(blueprint_dir.resolve())
    first = review_in_partitions(frame, blueprint_dir, partitions=4, num_workers=2, loaded=blueprint)
    pool = batch._pools[(directory, 2)].executor
    pids = _worker_pids(pool)
    second = review_in_partitions(frame, blueprint_dir, partitions=4, num_workers=2, loaded=blueprint)
    assert batch._pools[(directory, 2)].executor is pool
    assert _worker_pids(pool) == pids and len(pids) == 2 and os.getpid() not in pids
    assert [p.model_dump() for p in second.parcels] == [p.model_dump() for p in first.parcels]

    reloaded = dataclasses.replace(blueprint)  # the same layers, another object: as a reload gives
    third = review_in_partitions(frame, blueprint_dir, partitions=4, num_workers=2, loaded=reloaded)
    assert batch._pools[(directory, 2)].blueprint is reloaded
    with pytest.raises(RuntimeError):  # the old pool was shut down
        pool.submit(os.getpid)
    assert [p.model_dump() for p in third.parcels] == [p.model_dump() for p in first.parcels]


def test_a_reload_lets_a_running_batch_finish_on_its_pool(blueprint: Blueprint, blueprint_dir: Path) -> None:
    """A blueprint loaded anew while another thread's batch runs on the old pool: the new batch forks its
    own, and the old pool serves the running batch to its end, then shuts down."""
    frame = parcel_frame(*_grid()[:6], project_type="industrial", investment_wan=100_000)
    first = review_in_partitions(frame, blueprint_dir, partitions=2, num_workers=2, loaded=blueprint)
    directory = str(blueprint_dir.resolve())
    with batch._forked_pool(directory, 2, frozenset({4548})) as running:  # what a batch on another thread holds
        reloaded = dataclasses.replace(blueprint)
        again = review_in_partitions(frame, blueprint_dir, partitions=2, num_workers=2, loaded=reloaded)
        assert batch._pools[(directory, 2)].blueprint is reloaded and running.retired
        assert running.executor.submit(os.getpid).result() != os.getpid()  # still serving
    with pytest.raises(RuntimeError):  # let go of: shut down
        running.executor.submit(os.getpid)
    assert [p.model_dump() for p in again.parcels] == [p.model_dump() for p in first.parcels]


def test_a_batch_in_another_zone_forks_workers_that_inherit_its_layers(blueprint_dir: Path) -> None:
    """Parcels in a GK zone the pool's workers lack: the parent projects the layers to it once and
    forks anew, so the workers inherit the projection instead of each building its own."""
    fresh = load_blueprint(blueprint_dir)  # its layers in their own zone only
    directory = str(blueprint_dir.resolve())
    here = parcel_frame(*_grid()[:4], project_type="industrial", investment_wan=100_000)
    review_in_partitions(here, blueprint_dir, partitions=2, num_workers=2, loaded=fresh)
    first = batch._pools[(directory, 2)]
    assert first.zones == {4548}
    east = parcel_frame(rect(300, 0.1, 300.4, 0.6), rect(301, 0.1, 301.4, 0.6), project_type="industrial")
    batched = review_in_partitions(east, blueprint_dir, partitions=2, num_workers=2, loaded=fresh)
    second = batch._pools[(directory, 2)]
    assert {p.crs_used for p in batched.parcels} == {"EPSG:4549"}  # 120°E: the next zone
    assert second is not first and first.retired and second.zones == {4548, 4549}
    assert all(layer.zones == {4548, 4549} for layer in fresh.layers.values() if isinstance(layer, VectorLayer))
    serial = review(east, fresh)
    assert [p.model_dump() for p in batched.parcels] == [p.model_dump() for p in serial.parcels]
    review_in_partitions(east, blueprint_dir, partitions=2, num_workers=2, loaded=fresh)
    assert batch._pools[(directory, 2)] is second  # a zone the workers hold: no fork


class _NoStart(ProcessPoolExecutor):
    """A pool whose workers die as they start (out of memory, say)."""

    def submit(self, fn: Any, /, *args: Any, **kwargs: Any) -> Future[Any]:
        failed: Future[Any] = Future()
        failed.set_exception(BrokenProcessPool("a worker died at start"))
        return failed


def test_a_pool_that_cannot_start_is_a_clear_error(
    blueprint: Blueprint, blueprint_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    frame = parcel_frame(*_grid()[:4], project_type="industrial", investment_wan=100_000)
    directory = str(blueprint_dir.resolve())
    reloaded = dataclasses.replace(blueprint)  # another object: a new pool is forked for it
    monkeypatch.setattr(batch, "ProcessPoolExecutor", _NoStart)
    with pytest.raises(ReviewAborted, match="could not start 2 worker"):
        review_in_partitions(frame, blueprint_dir, partitions=2, num_workers=2, loaded=reloaded)
    assert (directory, 2) not in batch._pools  # nothing half-started is kept
    monkeypatch.undo()
    again = review_in_partitions(frame, blueprint_dir, partitions=2, num_workers=2, loaded=reloaded)
    assert len(again.parcels) == 4


def test_a_zone_held_is_read_without_the_layer_lock(blueprint: Blueprint) -> None:
    """A worker forked while another thread projected a layer inherits its lock held: reading a zone
    the layer holds must not wait for it."""
    import threading

    layer = blueprint.vector("county")
    assert layer is not None
    got: list[object] = []
    with layer._lock:  # as a forked worker finds it
        reader = threading.Thread(target=lambda: got.append(layer.in_crs(4548)))
        reader.start()
        reader.join(10)
    assert got and got[0] is layer.in_crs(4548)


def _pid_after(seconds: float) -> int:
    time.sleep(seconds)
    return os.getpid()


def _worker_pids(pool: ProcessPoolExecutor) -> set[int]:
    """Every worker's pid: tasks that wait long enough to keep each worker busy with one."""
    return {f.result() for f in [pool.submit(_pid_after, 0.3) for _ in range(4)]}


def test_a_project_across_partitions_is_graded_whole(blueprint: Blueprint, blueprint_dir: Path) -> None:
    """Item 10 grades a project (项目编号) on its parcels' summed area and investment: a project whose
    parcels the partitions would cut is reviewed in one, so the batch still equals one review."""
    frame = parcel_frame(*_grid()[:12], project_type="industrial", investment_wan=30_000)
    frame["project_id"] = ["P1", "P2", *[None] * 8, "P2", "P1"]  # two projects, each at both ends of the input
    serial = review(frame, blueprint)
    summed = serial.parcels[0].item("land_use_standard").facts.project_parcels
    assert summed == ["1", "12"]  # the standard did sum the project
    batched = review_in_partitions(frame, blueprint_dir, partitions=4, num_workers=2, loaded=blueprint)
    assert [p.model_dump(exclude={"geometry"}) for p in batched.parcels] == [
        p.model_dump(exclude={"geometry"}) for p in serial.parcels
    ]


def test_projects_together_moves_a_project_to_its_first_partition() -> None:
    chunks = [np.array([0, 1, 2]), np.array([3, 4]), np.array([5])]
    got = batch.projects_together(chunks, ["A", None, "B", "A", None, "B"])
    assert [c.tolist() for c in got] == [[0, 1, 2, 3, 5], [4]]
    assert [c.tolist() for c in batch.projects_together(chunks, [None] * 6)] == [[0, 1, 2], [3, 4], [5]]


def test_a_dead_worker_is_a_clear_error_and_the_next_batch_forks_anew(
    blueprint: Blueprint, blueprint_dir: Path
) -> None:
    frame = parcel_frame(*_grid()[:6], project_type="industrial", investment_wan=100_000)
    directory = str(blueprint_dir.resolve())
    review_in_partitions(frame, blueprint_dir, partitions=2, num_workers=2, loaded=blueprint)
    pool = batch._pools[(directory, 2)].executor
    os.kill(next(iter(_worker_pids(pool))), signal.SIGKILL)
    time.sleep(0.5)  # the pool notices its dead worker
    with pytest.raises(ReviewAborted, match="worker process died"):
        review_in_partitions(frame, blueprint_dir, partitions=2, num_workers=2, loaded=blueprint)
    again = review_in_partitions(frame, blueprint_dir, partitions=2, num_workers=2, loaded=blueprint)
    assert batch._pools[(directory, 2)].executor is not pool and len(again.parcels) == 6


def test_no_parcels_on_workers_is_the_same_input_error(blueprint_dir: Path) -> None:
    from geo.errors import InputError

    with pytest.raises(InputError, match="no parcels"):
        review_in_partitions(parcel_frame(rect(1.2, 1.2, 1.6, 1.6)).iloc[:0], blueprint_dir, partitions=2)


@pytest.mark.parametrize("scheduler", ["processes", "threads", "local"])
def test_partitions_are_handed_on_as_they_finish(
    blueprint: Blueprint, blueprint_dir: Path, scheduler: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A batch on workers is drawn partition by partition in input order: the parent holds a few
    partitions' results (on this host twice as many as workers ahead of the one handed on; a cluster's
    are gathered one by one), not the batch's. One that stops after its first chunk leaves its forked
    pool free for the next batch."""
    monkeypatch.setattr(batch, "PARTITION_PARCELS", 5)  # 50 parcels: ten partitions
    frame = parcel_frame(*_grid(), project_type="industrial", investment_wan=100_000)
    frame["project_id"] = [None] * 45 + ["P", None, None, None, "P"]  # a project the last partition shares
    serial = review(frame, blueprint)
    seen: list[int] = []
    running = batch.reviewing_in_partitions(
        frame,
        blueprint_dir,
        partitions=2,
        scheduler=scheduler,
        num_workers=2,
        loaded=blueprint,
        progress=lambda done, _: seen.append(done),
    )
    assert running.count == 50 and running.header.parcels == []
    chunks = [next(running.chunks)]
    ahead = max(seen)  # reviewed when the first partition was handed on
    assert [p.id for p in chunks[0]] == [str(i) for i in range(1, len(chunks[0]) + 1)]
    chunks += list(running.chunks)
    assert len(chunks) >= 8  # partition by partition (the shared project's moved with its first parcel)
    assert ahead <= (5 if scheduler == "local" else 5 + 2 * 2 * 5) < 50, seen  # the first, and four started ahead
    drawn = [p for chunk in chunks for p in chunk]
    assert [p.model_dump(exclude={"geometry"}) for p in drawn] == [
        p.model_dump(exclude={"geometry"}) for p in serial.parcels
    ]

    stopped = batch.reviewing_in_partitions(
        frame, blueprint_dir, partitions=2, scheduler=scheduler, num_workers=2, loaded=blueprint
    )
    next(stopped.chunks)
    stopped.chunks.close()  # what runs ends with its partition, nothing more starts; the pool is let go of
    if scheduler == "processes":
        assert batch._pools[(str(blueprint_dir.resolve()), 2)].users == 0


def test_partitions_hold_at_most_their_share_of_parcels(
    blueprint: Blueprint, blueprint_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Partitions are cut by cost: one big parcel and many small ones would make one long run of small
    ones; it is cut again, so the parent holds no more than ``PARTITION_PARCELS`` parcels' results of it."""
    monkeypatch.setattr(batch, "PARTITION_PARCELS", 4)
    frame = parcel_frame(rect(0.1, 0.1, 4.9, 4.9), *[rect(5 + 0.1 * i, 0.1, 5.05 + 0.1 * i, 0.15) for i in range(15)])
    sizes: list[int] = []
    running = batch.reviewing_in_partitions(
        frame,
        blueprint_dir,
        partitions=2,
        scheduler="synchronous",
        loaded=blueprint,
        progress=lambda done, _: sizes.append(done - sum(sizes)),
    )
    assert [p.id for chunk in running.chunks for p in chunk] == [str(i) for i in range(1, 17)]
    assert max(sizes) <= 4 and sum(sizes) == 16, sizes
