"""Work in forked processes: the batch's worker pools (``geo.batch``) and a single job that must be
stoppable at a deadline (``run_forked``).

A thread cannot be stopped in the middle of a call (shapely and GDAL never check for cancellation),
a process can. A child forked from a process that holds a blueprint starts with it in memory (copy
on write) and hands back its result as a pickle.
"""

from __future__ import annotations

import functools
import gc
import logging
import multiprocessing
import os
import pickle
import signal
import stat
import sys
import threading
import time
import traceback
from collections.abc import Callable, Iterable, Iterator
from contextlib import AbstractContextManager, ExitStack, contextmanager
from multiprocessing.connection import Connection
from typing import Any, ParamSpec, TypeVar

from geo.errors import ReviewAborted
from geo.threads import gc_paused

log = logging.getLogger(__name__)
T = TypeVar("T")
P = ParamSpec("P")
CAN_FORK = sys.platform == "linux"  # where a forked child is a copy of this process (macOS forks unsafely)


@contextmanager
def frozen_heap() -> Iterator[None]:
    """The parent's objects moved out of the cyclic collector's reach while workers are forked.

    A forked worker shares the parent's pages until it writes to them, and a full collection
    writes to the header of every object it walks: with a city blueprint in memory the first
    full collection in a worker copied gigabytes of pages and walked millions of objects. Frozen
    objects are never walked (``gc.freeze``, the documented remedy for pre-fork servers); the
    parent's collector sees them again afterwards. A heap frozen already (a city blueprint's load
    freezes it: ``geo.blueprint``) is left as it is: freezing again would keep whatever is alive now
    out of the collector for good, and unfreezing would undo the load's.
    """
    if gc.get_freeze_count() > 0:
        yield
        return
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()


# the longest a fork waits for a moment with no GDAL call inside while others' calls go on (``GdalGate.shut``):
# a fork waiting behind a 2 s call held a 1 ms call of another thread for 1.81 s when it let none in from the start
POLITE_S = 5.0


class GdalGate:
    """GDAL calls in this process's threads kept apart from its forks.

    GDAL guards its globals (configuration options, the driver list, the block cache, SQLite's
    allocator) with mutexes of its own, held for the length of a call. A child forked while another
    thread of the parent held one inherits it locked by a thread it does not have, and its first GDAL
    call that needs it waits for good: beside three threads reading a raster, 1 and 5 of 5,000
    children that read it hung; beside three reading a GeoPackage, 169 of 300
    (``benchmarks/fork_probe.py``; SECURITY.md). So each GDAL call in a process that forks is made
    ``inside`` the gate, and a fork waits for a moment when no thread is inside, then lets none in
    until it has forked (``shut``); a thread inside may enter again (a read within a read), not fork.
    Forks are brief, GDAL calls short (a layer is read batch by batch), so such a moment comes soon;
    while a fork waits for a long call (a site search's raster), the others' calls go on, for up to
    ``POLITE_S`` (half the time left to its deadline where that is less), and only then queue behind
    it. GDAL's own threads are out of its reach: a serving process has GDAL read without them
    (``gdal_on_callers_threads``).
    """

    def __init__(self) -> None:
        self.reset()

    def entered(self) -> bool:
        """Whether this thread is inside."""
        return bool(getattr(self._depth, "n", 0))

    def reset(self) -> None:
        """Open, as new: a forked child's copy was shut for its fork, its lock maybe held by a thread
        the child does not have."""
        self._changed = threading.Condition()
        self._inside = 0  # threads in a GDAL call
        self._shut = False
        self._depth = threading.local()

    @contextmanager
    def inside(self) -> Iterator[None]:
        """A GDAL call (or several) made with no fork under way; a thread inside may enter again."""
        depth = getattr(self._depth, "n", 0)
        if depth == 0:
            with self._changed:
                self._changed.wait_for(lambda: not self._shut)
                self._inside += 1
        self._depth.n = depth + 1
        try:
            yield
        finally:
            self._depth.n = depth
            if depth == 0:
                with self._changed:
                    self._inside -= 1
                    self._changed.notify_all()

    @contextmanager
    def shut(self, deadline: float | None = None) -> Iterator[None]:
        """No thread in a GDAL call for as long as this holds (one caller at a time: ``forking``, which
        a thread inside the gate may not call): first waiting for a moment with none inside while others
        go on entering, then, after ``POLITE_S`` or half the time left, letting none in until then;
        :class:`TimeoutError` when the calls inside outlast ``deadline`` (``time.monotonic()``)."""
        with self._changed:
            left = None if deadline is None else max(0.0, deadline - time.monotonic())
            polite = POLITE_S if left is None else min(POLITE_S, left / 2)
            if not self._changed.wait_for(lambda: self._inside == 0, polite):  # others still enter meanwhile
                self._shut = True
                try:
                    wait = None if deadline is None else max(0.0, deadline - time.monotonic())
                    if not self._changed.wait_for(lambda: self._inside == 0, wait):
                        raise TimeoutError("GDAL calls of other threads held the fork past its deadline")
                except BaseException:
                    self._shut = False
                    self._changed.notify_all()
                    raise
            self._shut = True  # none inside now, and none enters until the fork is done
        try:
            yield
        finally:
            with self._changed:
                self._shut = False
                self._changed.notify_all()


gdal_gate = GdalGate()


def gdal_call(function: Callable[P, T]) -> Callable[P, T]:
    """``function`` (one that calls GDAL: pyogrio, rasterio) made inside :data:`gdal_gate`."""

    @functools.wraps(function)
    def gated(*args: P.args, **kwargs: P.kwargs) -> T:
        with gdal_gate.inside():
            return function(*args, **kwargs)

    return gated


@contextmanager
def gdal_opened(opening: AbstractContextManager[T]) -> Iterator[T]:
    """``opening`` (a GDAL dataset) opened and closed inside :data:`gdal_gate`, not held inside in
    between: what is read from it is gated read by read (``gdal_batches``)."""
    with ExitStack() as stack:
        with gdal_gate.inside():
            opened = stack.enter_context(opening)
        try:
            yield opened
        finally:
            with gdal_gate.inside():
                stack.close()


def gdal_batches(batches: Iterable[T]) -> Iterator[T]:
    """Each batch of a GDAL reader read inside :data:`gdal_gate`, and handed on (decoded) outside it."""
    reading, end = iter(batches), object()
    while True:
        with gdal_gate.inside():
            batch = next(reading, end)
        if batch is end:
            return
        yield batch  # type: ignore[misc]


def gdal_on_callers_threads() -> None:
    """GDAL reads a GeoPackage ahead on two threads of its own (GDAL 3.12, an Arrow stream), which read on
    after the call that started them has left :data:`gdal_gate`: a child forked meanwhile inherited
    SQLite's allocation mutex held, and hung (2 of 601 and 3 of 729 forks beside two threads reading
    layers; 0 of 1,147 without those threads). A process that forks beside its reads (a server: a
    blueprint reload) has GDAL read on the calling thread alone; the city blueprint's load takes about a
    tenth longer (12.6 against 11.2 s)."""
    import pyogrio

    pyogrio.set_gdal_config_options({"OGR_GPKG_NUM_THREADS": "1"})


def freeze_for_good() -> None:
    """Everything alive now moved out of the cyclic collector's reach for good (``gc.freeze``, after a
    collection: no garbage kept), between forks: a fork's ``frozen_heap`` unfreezes the heap after it,
    and would undo a freeze made while it forked (a blueprint reload ending then)."""
    with _forking:
        gc.collect()
        gc.freeze()


@contextmanager
def forking(deadline: float | None = None) -> Iterator[None]:
    """What a fork needs of the parent, around it: one fork at a time (a child forked meanwhile would
    hold another's end of its pipe, and the two could undo each other's ``frozen_heap``), the
    ``cached_property`` locks known (``known_properties``), no thread in a GDAL call (``gdal_gate``),
    and the heap frozen; :class:`TimeoutError` when another fork or GDAL calls hold it past ``deadline``.
    Not from inside the gate: the fork would wait for its own thread."""
    if gdal_gate.entered():
        raise RuntimeError("a fork from inside a GDAL call (gdal_gate) would wait for itself")
    wait = -1.0 if deadline is None else max(0.0, deadline - time.monotonic())
    if not _forking.acquire(timeout=wait):
        raise TimeoutError("another fork held this one past its deadline")
    try:
        known_properties()
        with gdal_gate.shut(deadline), frozen_heap():
            yield
    finally:
        _forking.release()


def dumps(obj: Any) -> bytes:
    """Tasks and results in plain pickles: a partition's result pickles in half the time cloudpickle
    (dask's default, for lambdas and closures) takes over it, and a task here is a module's function."""
    return pickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL)


def loads(payload: bytes) -> Any:
    """A result unpickled (in the parent) with the collector paused: a partition's result is tens
    of thousands of small models, and collections while they were built cost 4–10 times the
    unpickling itself. They hold no cycles."""
    with gc_paused():
        return pickle.loads(payload)


def as_forked_child() -> None:
    """A forked worker writes to the process's own stdout and stderr (the parent may have forked it
    while a progress bar had put its proxies, and their lock held by its refresh thread, there), dies
    of ``SIGTERM`` and ``SIGINT`` (the parent's command or server may have set handlers that end it as
    an error, or only ask it to stop: in a worker, dask would catch the one and the batch go on
    without the partition; a server's would leave the worker running), and has its own
    ``cached_property`` locks (``known_properties``), an open ``gdal_gate`` and its own fork locks (a
    child may fork in turn: load a blueprint, ``freeze_for_good``)."""
    sys.stdout, sys.stderr = sys.__stdout__, sys.__stderr__
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    global _forking, _scanning
    for prop in _properties.values():
        prop.lock = threading.RLock()  # type: ignore[attr-defined]
    gdal_gate.reset()
    _forking, _scanning = threading.Lock(), threading.Lock()  # the parent held them for the fork


_properties: dict[int, functools.cached_property[Any]] = {}  # by identity: every one found so far
_scanned: set[str] = set()  # the modules looked through
_scanning = threading.Lock()
_forking = threading.Lock()


def known_properties() -> int:
    """Every ``functools.cached_property`` of the classes of the modules imported so far, found before a
    fork (once per module: the first scan of a server's modules takes 0.15 s), for ``as_forked_child``.
    Before Python 3.12 such a property computes under one lock shared by every instance: a child forked
    while another thread computed one (a parcel's area, thousands of times a second in a review) would
    wait on it for good."""
    if sys.version_info >= (3, 12):
        return 0
    with _scanning:
        # a copy made in one step: another thread importing a module while the items were listed was a RuntimeError
        # ("dictionary changed size during iteration", in CI)
        for name, module in sys.modules.copy().items():
            if name in _scanned:
                continue
            _scanned.add(name)
            for value in getattr(module, "__dict__", {}).copy().values():
                if isinstance(value, type):
                    for attr in list(vars(value).values()):
                        if isinstance(attr, functools.cached_property):
                            _properties[id(attr)] = attr
        return len(_properties)


def run_forked(job: Callable[[], T], *, deadline: float) -> T:
    """``job()`` in a child forked now, its result (or its error) handed back; the child is killed
    (``SIGKILL``) at ``deadline`` (``time.monotonic()``), which raises :class:`TimeoutError`. A
    child that dies without a result (killed, out of memory) raises :class:`ReviewAborted`.

    The child sees this process's memory as it is at the fork, and nothing it does reaches back:
    ``job`` computes, the caller writes (a database, a file). Only where the OS forks (``CAN_FORK``).
    """
    if time.monotonic() >= deadline:
        raise TimeoutError("the deadline passed before the job started")
    context = multiprocessing.get_context("fork")
    receiving, sending = context.Pipe(duplex=False)
    with forking(deadline):
        child = context.Process(target=_child, args=(job, sending, receiving), name="lantu-forked", daemon=True)
        child.start()
        sending.close()  # the child's end: an EOF here once the child is gone
    try:
        if not receiving.poll(max(0.0, deadline - time.monotonic())):
            log.warning("forked job %s stopped at its deadline (pid %s killed)", _name(job), child.pid)
            raise TimeoutError("the job outlived its deadline and was stopped")
        try:
            payload = receiving.recv_bytes()
        except EOFError:
            child.join(5)  # its pipe closes as it exits: reaped, for its exit code
            raise ReviewAborted(
                f"the review's process ended without a result (exit code {child.exitcode}; killed, out of memory?)",
                "审查进程意外退出，未得到结果（内存不足？），请重试或简化地块",
            ) from None
    finally:
        receiving.close()
        child.kill()  # gone already once it has sent; else stopped here, whatever it is doing
        child.join()
    ok, value = loads(payload)
    if not ok:
        raise value
    return value  # type: ignore[no-any-return]


def _child(job: Callable[[], Any], sending: Connection, receiving: Connection) -> None:
    """``job`` run, its result sent back. The parent's end of the pipe, inherited, is closed first: held here, it kept
    a child whose parent had gone (a server stopped while its viewer page was being built) blocked for good on a
    result larger than the pipe's buffer, never told that no one would read it."""
    receiving.close()
    as_forked_child()
    _close_sockets()
    try:
        payload = dumps((True, job()))
    except Exception as error:
        error.add_note(f"in the forked child {os.getpid()}:\n{traceback.format_exc()}")  # its frames, for the log
        # its causes are in the note: once dask has installed tblib's pickling of causes, a cause that does not
        # unpickle (a GDAL error's) would turn the error itself into text
        error.__cause__ = error.__context__ = None
        try:
            payload = dumps((False, error))
            pickle.loads(payload)  # an error that pickles but does not unpickle (its own __init__) is handed on as text
        except Exception:
            payload = dumps((False, RuntimeError(f"{error!r} (in the forked child {os.getpid()})")))
    sending.send_bytes(payload)
    sending.close()


def _close_sockets() -> None:
    """The parent's sockets closed in the child: a server's listening socket and its clients'
    connections, held open there, would keep the port bound after the server stops and hide from a
    client that the server closed its idle connection, until the child ends. (Closing the child's copy
    sends nothing: the parent's stays open.)"""
    for name in os.listdir("/proc/self/fd"):
        try:
            if stat.S_ISSOCK(os.fstat(int(name)).st_mode):
                os.close(int(name))
        except OSError:  # the listing's own descriptor, closed by now
            continue


def _name(job: Callable[..., Any]) -> str:
    return getattr(job, "__qualname__", repr(job))
