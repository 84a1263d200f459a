"""Forked work (``geo.forked``): the helpers the batch's pools use, and a job stopped at its deadline."""

from __future__ import annotations

import contextlib
import functools
import gc
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import geopandas as gpd
import numpy as np
import pyogrio
import pytest
import shapely
from affine import Affine
from pyproj import CRS

from geo import forked
from geo.blueprint import RasterLayer
from geo.errors import GeometryError, ReviewAborted
from geo.io import blueprint as io_blueprint
from geo.io.blueprint import read_layer
from geo.io.parcels import ReadLimits, read_parcels, write_parcels
from geo.raster import parcel_pixels, pixel_values

pytestmark = pytest.mark.skipif(not forked.CAN_FORK, reason="forked children need fork (Linux)")


def test_a_heap_frozen_already_is_left_as_it_is() -> None:
    """After a city blueprint's load froze the heap, forking workers neither freezes what is alive now
    for good nor unfreezes the blueprint."""
    assert gc.get_freeze_count() == 0
    gc.freeze()
    try:
        frozen = gc.get_freeze_count()
        alive = [object() for _ in range(3)], {"tracked": []}
        with forked.frozen_heap():
            assert gc.get_freeze_count() == frozen and gc.is_tracked(alive[1])
        assert gc.get_freeze_count() == frozen
        assert any(o is alive[1] for o in gc.get_objects())  # still the collector's
    finally:
        gc.unfreeze()
    with forked.frozen_heap():  # nothing frozen before: frozen while inside, given back after
        assert gc.get_freeze_count() > 0
    assert gc.get_freeze_count() == 0


def test_a_worker_dies_of_sigterm_and_sigint_whatever_its_parent_set(monkeypatch: pytest.MonkeyPatch) -> None:
    # the CLI ends itself on SIGTERM by an exception (dask in a worker would catch it and go on); a
    # server's handlers only ask it to stop, and would leave a child running
    monkeypatch.setattr(sys, "stdout", sys.stdout)  # reset to the process's own: given back after
    monkeypatch.setattr(sys, "stderr", sys.stderr)
    before = {s: signal.signal(s, lambda *_: None) for s in (signal.SIGTERM, signal.SIGINT)}
    try:
        forked.as_forked_child()
        assert signal.getsignal(signal.SIGTERM) == signal.SIG_DFL
        assert signal.getsignal(signal.SIGINT) == signal.SIG_DFL
    finally:
        for s, handler in before.items():
            signal.signal(s, handler)


def _pid_and(value: int) -> tuple[int, int]:
    return os.getpid(), value * 2


def test_a_job_runs_in_a_child_and_hands_back_its_result() -> None:
    pid, doubled = forked.run_forked(lambda: _pid_and(21), deadline=time.monotonic() + 30)
    assert doubled == 42
    assert pid != os.getpid()  # it ran elsewhere: a child, gone now
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)


def test_a_child_whose_parent_is_gone_ends_rather_than_wait_for_good(tmp_path: Path) -> None:
    """A result larger than the pipe's buffer (a city's viewer page, 43 MB) and no parent left to read it (a server
    stopped while the page was being built): the child ends. It held the parent's end of the pipe, inherited, and
    waited on its own end for good (two such children of a test run were found 40 minutes on, each holding its
    server's memory)."""
    marked = tmp_path / "pid"
    script = f"""
import os, threading, time
from pathlib import Path
from geo.forked import run_forked

def job():
    Path({str(marked)!r}).write_text(str(os.getpid()))
    time.sleep(0.5)  # the parent is gone by the time the result is sent
    return b"x" * (8 * 2**20)

def leave():  # the parent ends abruptly once the child runs, as a server killed mid-build
    while not Path({str(marked)!r}).exists():
        time.sleep(0.01)
    os._exit(0)

threading.Thread(target=leave, daemon=True).start()
run_forked(job, deadline=time.monotonic() + 60)
"""
    subprocess.run([sys.executable, "-c", script], timeout=60, check=True, cwd=Path(__file__).parent.parent)
    child = int(marked.read_text())
    deadline = time.monotonic() + 30
    while _running(child) and time.monotonic() < deadline:
        time.sleep(0.1)
    if _running(child):
        os.kill(child, signal.SIGKILL)  # not left behind by the test that found it
        pytest.fail(f"the child {child} still waits to send its result, 30 s after its parent ended")


def _running(pid: int) -> bool:
    """Whether ``pid`` runs (a zombie no reaper has reaped yet has ended)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError):
        return False
    return state != "Z"


def _refuse() -> None:
    raise GeometryError("parcel 7 is a line", "地块 7 不是面", where="parcels.geojson")


def test_a_jobs_error_reaches_the_caller_with_both_languages_and_its_frames() -> None:
    with pytest.raises(GeometryError) as raised:
        forked.run_forked(_refuse, deadline=time.monotonic() + 30)
    assert raised.value.message_zh == "地块 7 不是面"
    assert raised.value.where == "parcels.geojson"
    assert any("in the forked child" in note and "_refuse" in note for note in raised.value.__notes__)


def _cannot_rebuild(text: str) -> Exception:
    raise TypeError(f"cannot rebuild {text!r}")


class _Unrebuildable(Exception):
    """Pickles, but cannot be unpickled (whoever pickles exceptions: tblib, once dask.distributed is
    imported, rebuilds even those whose own ``__init__`` takes other arguments than their ``args``)."""

    def __init__(self, code: int, why: str) -> None:
        super().__init__(f"{code}: {why}")

    def __reduce__(self) -> tuple[Any, ...]:
        return _cannot_rebuild, (str(self),)


def _refuse_oddly() -> None:
    raise _Unrebuildable(7, "odd")


def test_an_error_that_does_not_unpickle_is_handed_on_as_its_text() -> None:
    with pytest.raises(RuntimeError, match=r"_Unrebuildable\('7: odd'\).*in the forked child"):
        forked.run_forked(_refuse_oddly, deadline=time.monotonic() + 30)


def _refuse_over_an_odd_cause() -> None:
    try:
        _refuse_oddly()
    except _Unrebuildable as cause:
        raise GeometryError("parcel 7 is unreadable", "地块 7 无法读取") from cause


def test_an_error_whose_cause_does_not_unpickle_still_comes_back_as_itself() -> None:
    """With causes pickled (tblib's pickling, which dask.distributed installs on import), a cause that does
    not unpickle (a GDAL error under a reader's FormatError) took its error down to text with it; the
    cause is in the note instead."""
    pytest.importorskip("tblib.pickling_support").install()
    with pytest.raises(GeometryError) as raised:
        forked.run_forked(_refuse_over_an_odd_cause, deadline=time.monotonic() + 30)
    assert raised.value.message_zh == "地块 7 无法读取"
    assert any("_Unrebuildable: 7: odd" in note for note in raised.value.__notes__)


def test_the_child_holds_none_of_the_parents_sockets() -> None:
    """A server's listening socket and client connections, held in a child, keep the port bound after the
    server stops and hide an idle connection's close from its client: the child closes its copies."""
    with socket.create_server(("127.0.0.1", 0)) as server:
        fd = server.fileno()

        def in_child() -> bool:
            try:
                os.fstat(fd)
            except OSError:
                return False
            return True

        assert forked.run_forked(in_child, deadline=time.monotonic() + 30) is False
        assert server.getsockname()[1] > 0  # the parent's own, open still
        with socket.create_connection(server.getsockname(), timeout=5):
            conn, _ = server.accept()
            conn.close()


def test_a_job_past_its_deadline_is_killed() -> None:
    """The point of a child: a call that cannot be interrupted on a thread (GEOS, GDAL) is stopped at
    the deadline, and the caller is free at once."""
    before = set(_children())  # a kept pool's workers, say
    started = time.monotonic()
    with pytest.raises(TimeoutError):
        forked.run_forked(lambda: time.sleep(30), deadline=started + 0.5)
    assert time.monotonic() - started < 10  # not the job's 30 s
    assert set(_children()) <= before  # the child killed and reaped, not left behind


def test_a_deadline_passed_already_forks_nothing() -> None:
    with pytest.raises(TimeoutError):
        forked.run_forked(lambda: pytest.fail("ran"), deadline=time.monotonic() - 1)


def test_a_child_that_dies_without_a_result_is_an_abort_not_a_hang() -> None:
    with pytest.raises(ReviewAborted, match="without a result") as raised:
        forked.run_forked(lambda: os._exit(9), deadline=time.monotonic() + 30)
    assert "exit code 9" in str(raised.value)


def _children() -> list[int]:
    """This process's live children, as the kernel lists them (zombies included)."""
    path = f"/proc/{os.getpid()}/task/{os.getpid()}/children"
    with open(path) as f:
        return [int(p) for p in f.read().split()]


class _Computed:
    """A cached property that another thread is computing when a child is forked."""

    entered = threading.Event()
    release = threading.Event()

    def __init__(self, *, blocks: bool = False) -> None:
        self.blocks = blocks

    @functools.cached_property
    def value(self) -> int:
        if self.blocks:
            _Computed.entered.set()
            _Computed.release.wait(30)
        return 7


def test_a_property_another_thread_computes_at_the_fork_does_not_hang_the_child() -> None:
    """Before Python 3.12 a cached property computes under one lock shared by all instances (a parcel's
    area, computed thousands of times a second by a review on another worker): a child forked meanwhile
    would find it held for good, and be killed at its deadline for nothing."""
    computing = threading.Thread(target=lambda: _Computed(blocks=True).value)
    computing.start()
    try:
        assert _Computed.entered.wait(10)
        assert forked.run_forked(lambda: _Computed().value, deadline=time.monotonic() + 10) == 7
    finally:
        _Computed.release.set()
        computing.join()


class _Inside:
    """A thread inside a GDAL call (``gdal_gate``) until released."""

    def __init__(self) -> None:
        self.entered, self.release = threading.Event(), threading.Event()
        self.thread = threading.Thread(target=self._hold, daemon=True)

    def _hold(self) -> None:
        with forked.gdal_gate.inside():
            self.entered.set()
            self.release.wait(30)

    def __enter__(self) -> _Inside:
        self.thread.start()
        assert self.entered.wait(10)
        return self

    def __exit__(self, *exc: object) -> None:
        self.release.set()
        self.thread.join(10)


def _until(condition: Callable[[], bool]) -> None:
    deadline = time.monotonic() + 10
    while not condition():
        assert time.monotonic() < deadline
        time.sleep(0.01)


def _in_thread(call: Any) -> tuple[threading.Thread, dict[str, Any]]:
    out: dict[str, Any] = {}

    def run() -> None:
        try:
            out["value"] = call()
        except BaseException as error:  # handed to the test
            out["error"] = error

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread, out


def _enter_the_gate() -> bool:
    with forked.gdal_gate.inside():
        return True


def test_a_fork_waits_for_gdal_calls_of_other_threads_and_lets_others_through_meanwhile() -> None:
    """A child forked while another thread held one of GDAL's mutexes would wait on it for good (about one
    child in 1,000 to 3,000 beside three threads reading a raster: ``benchmarks/fork_probe.py``). While
    the fork waits for a long call, a short one of a third thread is not held behind it."""
    with _Inside() as busy:
        forking, forked_out = _in_thread(lambda: forked.run_forked(lambda: 7, deadline=time.monotonic() + 30))
        time.sleep(0.3)  # the fork waits for the GDAL call to end
        assert forking.is_alive() and not forked.gdal_gate._shut
        entering, entered = _in_thread(_enter_the_gate)
        entering.join(5)
        assert entered == {"value": True}  # through while the fork waits
        busy.release.set()
        forking.join(30)
    assert forked_out == {"value": 7}


def test_a_fork_still_waiting_after_its_polite_spell_lets_none_in(monkeypatch: pytest.MonkeyPatch) -> None:
    """Calls that never leave a moment with none inside would hold a fork to its deadline: after
    ``POLITE_S`` it lets no new call in, and forks once those inside are done."""
    monkeypatch.setattr(forked, "POLITE_S", 0.2)
    with _Inside() as busy:
        forking, forked_out = _in_thread(lambda: forked.run_forked(lambda: 7, deadline=time.monotonic() + 30))
        _until(lambda: forked.gdal_gate._shut)
        assert forking.is_alive()
        entering, _ = _in_thread(_enter_the_gate)
        entering.join(0.3)
        assert entering.is_alive()  # queued behind the fork
        busy.release.set()
        forking.join(30)
        entering.join(30)
    assert forked_out == {"value": 7}
    assert not entering.is_alive()


def test_a_fork_that_gdal_calls_hold_past_its_deadline_times_out_and_opens_the_gate() -> None:
    with _Inside():
        with pytest.raises(TimeoutError, match="GDAL"):
            forked.run_forked(lambda: 7, deadline=time.monotonic() + 0.3)
        assert not forked.gdal_gate._shut
        entering, out = _in_thread(_enter_the_gate)
        entering.join(10)
        assert not entering.is_alive() and "error" not in out
    assert forked.run_forked(lambda: 7, deadline=time.monotonic() + 30) == 7


def _gated_in_child() -> int:
    with forked.gdal_gate.inside():
        return os.getpid()


def test_the_childs_gate_is_open_and_its_fork_locks_free() -> None:
    """The parent's gate is shut and its fork lock held while it forks: the child's copies must be new,
    or its first GDAL call, or a blueprint load (``freeze_for_good``), would wait for good."""
    pid = forked.run_forked(_gated_in_child, deadline=time.monotonic() + 10)
    assert pid != os.getpid()
    assert forked.run_forked(forked.freeze_for_good, deadline=time.monotonic() + 10) is None


def test_a_thread_inside_a_gdal_call_may_not_fork() -> None:
    """It would wait for itself (a fork waits for every thread inside), holding the fork lock for good."""
    with forked.gdal_gate.inside(), pytest.raises(RuntimeError, match="wait for itself"):
        forked.run_forked(lambda: 7, deadline=time.monotonic() + 10)
    assert forked.run_forked(lambda: 7, deadline=time.monotonic() + 10) == 7


def test_a_fork_queued_behind_another_keeps_its_deadline() -> None:
    release = threading.Event()

    def hold() -> None:
        with forked.forking():
            release.wait(30)

    holding = threading.Thread(target=hold, daemon=True)
    holding.start()
    try:
        _until(lambda: forked._forking.locked())
        with pytest.raises(TimeoutError, match="another fork"):
            forked.run_forked(lambda: 7, deadline=time.monotonic() + 0.3)
    finally:
        release.set()
        holding.join(10)


class _Recorded:
    """A stand-in for a GDAL reader: records whether each of its calls was made inside the gate."""

    def __init__(self, items: list[Any]) -> None:
        self.items, self.inside = list(items), []

    def __iter__(self) -> _Recorded:
        return self

    def __next__(self) -> Any:
        self.inside.append(forked.gdal_gate.entered())
        if not self.items:
            raise StopIteration
        return self.items.pop(0)

    def __enter__(self) -> _Recorded:
        self.inside.append(forked.gdal_gate.entered())
        return self

    def __exit__(self, *exc: object) -> None:
        self.inside.append(forked.gdal_gate.entered())

    def read(self, band: int, *, window: Any, masked: bool) -> np.ma.MaskedArray:
        self.inside.append(forked.gdal_gate.entered())
        return np.ma.masked_array(np.ones((int(window.height), int(window.width)), dtype="float32"))


def test_a_reader_is_gated_call_by_call_and_what_it_hands_on_is_used_outside() -> None:
    """Each batch read, the open and the close inside the gate, the decoding between them outside it (a
    fork need not wait for a whole layer)."""
    reader = _Recorded([1, None, 3])  # a None is a batch like any other
    outside = []
    with forked.gdal_opened(reader) as opened:
        for batch in forked.gdal_batches(opened):
            outside.append((batch, forked.gdal_gate.entered()))
    assert outside == [(1, False), (None, False), (3, False)]
    assert reader.inside == [True] * 6  # enter, four reads (the last finds the end), exit


def test_a_raster_window_is_read_inside_the_gate() -> None:
    dataset = _Recorded([])
    raster = SimpleNamespace(
        transform=Affine(10.0, 0.0, 0.0, 0.0, -10.0, 1000.0),
        width=100,
        height=100,
        band=None,
        opened=lambda: contextlib.nullcontext(dataset),
    )
    square = shapely.box(100, 500, 200, 600)
    assert len(parcel_pixels(raster, np.array([square, square]))[1]) == 100
    assert pixel_values(raster, square, all_touched=False).size == 100
    assert dataset.inside == [True] * 3


def test_an_uploads_feature_count_and_chunks_are_read_inside_the_gate(
    blueprint_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    inside: list[tuple[str, bool]] = []

    def spied(name: str, call: Callable[..., Any]) -> Callable[..., Any]:
        def spy(*args: Any, **kwargs: Any) -> Any:
            inside.append((name, forked.gdal_gate.entered()))
            return call(*args, **kwargs)

        return spy

    monkeypatch.setattr(pyogrio, "read_info", spied("read_info", pyogrio.read_info))
    monkeypatch.setattr(gpd, "read_file", spied("read_file", gpd.read_file))
    read_parcels(
        blueprint_dir / "county.gpkg", limits=ReadLimits(max_bytes=2**26, max_parcels=1000, max_vertices=10**6)
    )
    assert {name for name, _ in inside} == {"read_info", "read_file"}
    assert all(entered for _, entered in inside)


def test_a_serving_process_reads_a_geopackage_on_its_own_threads(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """GDAL's read-ahead threads read on outside the gate: a child forked meanwhile hung on SQLite's mutex."""
    points = gpd.GeoDataFrame(geometry=shapely.points(np.arange(2000.0), np.arange(2000.0)), crs=4548)
    points.to_file(tmp_path / "points.gpkg")
    monkeypatch.setattr(io_blueprint, "READ_BATCH", 100)
    threads: list[int] = []

    def counted(batches: Any) -> Any:
        for batch in forked.gdal_batches(batches):
            threads.append(len(os.listdir("/proc/self/task")))
            yield batch

    monkeypatch.setattr(io_blueprint, "gdal_batches", counted)
    before = len(os.listdir("/proc/self/task"))
    try:
        forked.gdal_on_callers_threads()
        assert len(io_blueprint.read_layer(tmp_path / "points.gpkg", layer=None, default_crs=None)) == 2000
        assert len(threads) == 20 and max(threads) == before
        pyogrio.set_gdal_config_options({"OGR_GPKG_NUM_THREADS": None})  # GDAL's default again: the check can fail
        threads.clear()
        io_blueprint.read_layer(tmp_path / "points.gpkg", layer=None, default_crs=None)
        assert max(threads) > before
    finally:
        pyogrio.set_gdal_config_options({"OGR_GPKG_NUM_THREADS": None})


def _gdal_calls(directory: Path, out: Path) -> dict[str, Callable[[], Any]]:
    """What a serving process calls GDAL for: a blueprint's layers and rasters, uploads, exports."""
    kept = RasterLayer.open("slope", directory / "slope.tif", CRS.from_epsg(4548))
    unkept = replace(kept, band=None)  # a raster too large to keep: read window by window
    square = shapely.box(*kept.transform * (100, 200), *kept.transform * (110, 190))
    county = read_layer(directory / "county.gpkg", layer=None, default_crs=None)
    return {
        "a blueprint layer": lambda: read_layer(directory / "county.gpkg", layer=None, default_crs=None),
        "a raster opened": lambda: RasterLayer.open("slope", directory / "slope.tif", CRS.from_epsg(4548)),
        "a raster window read": lambda: pixel_values(unkept, square, all_touched=False),
        "an uploaded file": lambda: read_parcels(
            directory / "county.gpkg", limits=ReadLimits(max_bytes=2**26, max_parcels=1000, max_vertices=10**6)
        ),
        "an export": lambda: write_parcels(county, out / "county.gpkg"),
    }


@pytest.mark.parametrize(
    "call", ["a blueprint layer", "a raster opened", "a raster window read", "an uploaded file", "an export"]
)
def test_gdal_calls_of_a_serving_process_wait_while_it_forks(blueprint_dir: Path, tmp_path: Path, call: str) -> None:
    calls = _gdal_calls(blueprint_dir, tmp_path)
    with forked.gdal_gate.shut():
        calling, out = _in_thread(calls[call])
        calling.join(0.3)
        assert calling.is_alive()
    calling.join(30)
    assert not calling.is_alive() and "error" not in out, out


def test_what_calls_no_gdal_goes_on_while_the_gate_is_shut(blueprint_dir: Path) -> None:
    """The check above can fail: pixels of a raster kept in memory are read without GDAL."""
    kept = RasterLayer.open("slope", blueprint_dir / "slope.tif", CRS.from_epsg(4548))
    square = shapely.box(*kept.transform * (100, 200), *kept.transform * (110, 190))
    assert kept.band is not None
    with forked.gdal_gate.shut():
        calling, out = _in_thread(lambda: pixel_values(kept, square, all_touched=False))
        calling.join(10)
        assert not calling.is_alive()
    assert out["value"].size == 100


def test_a_freeze_for_good_waits_for_a_fork_and_is_not_undone_by_it() -> None:
    """A blueprint reload ending while workers are forked: the fork unfreezes the heap it froze once the
    workers are up, and would have moved the new blueprint back into the collector's walks."""
    assert gc.get_freeze_count() == 0
    inside, release = threading.Event(), threading.Event()

    def fork() -> None:
        with forked.forking():
            inside.set()
            release.wait(30)

    forking = threading.Thread(target=fork, daemon=True)
    forking.start()
    try:
        assert inside.wait(10)
        freezing, out = _in_thread(forked.freeze_for_good)
        freezing.join(0.3)
        assert freezing.is_alive()  # waits for the fork
        release.set()
        forking.join(10)
        freezing.join(10)
        assert not freezing.is_alive() and "error" not in out
        assert gc.get_freeze_count() > 0  # the fork's own unfreeze came first
    finally:
        release.set()
        gc.unfreeze()
