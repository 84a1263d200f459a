"""The heavy work (parsing, review, rendering) runs here, off the event loop.

A fixed pool of threads does the work. A request takes a *ticket* before it reads
its body; at most ``workers + queue`` tickets are out at once (working or waiting),
and the next request is refused at once with 429 and ``Retry-After``. So the memory
held by waiting requests is bounded (tickets × the body limit), and the event loop
keeps answering ``/healthz`` and small requests while big ones wait their turn.

A job that outlives the per-request timeout is answered with 503; its thread cannot
be interrupted (shapely and GDAL do not check for cancellation), so its ticket is
given back only when the job really ends, which keeps the count honest. A costly
review, and every comparison, therefore runs in a forked child that is killed at the
same deadline (``stoppable``, ``in_child``, ``geo.forked``): its thread, and its ticket,
are free then.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import AsyncIterator, Callable
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import asynccontextmanager
from typing import Any, ParamSpec, TypeVar

import geopandas as gpd
import shapely

from api.errors import BusyError, WorkTimeoutError
from api.settings import Settings
from geo.forked import CAN_FORK, run_forked

log = logging.getLogger(__name__)
P = ParamSpec("P")
T = TypeVar("T")
RETRY_AFTER_BUSY = 1  # seconds: small jobs drain in well under a second each
RETRY_AFTER_KEY_BUSY = 5  # seconds: a paper within its parcel limit renders in a few seconds


class Ticket:
    """One admitted request: runs its jobs in the pool and is given back when all have ended."""

    def __init__(self, pool: WorkPool, key: str | None = None):
        self._pool = pool
        self._key = key  # the caller's name, whose share of the places it holds (``WorkPool.ticket``)
        self._running = 0
        self._closed = False

    def _job_done(self, _future: Future[Any]) -> None:
        with self._pool._lock:
            self._running -= 1
            if self._closed and self._running == 0:
                self._given_back()

    def _close(self) -> None:
        with self._pool._lock:
            self._closed = True
            if self._running == 0:
                self._given_back()

    def _given_back(self) -> None:
        """The place, and the key's share of it, given back once every job has ended (a job past its time limit
        keeps working: its share was given back with the answer, and one key held every place: a reviewer's read).
        Called with the pool's lock held."""
        pool = self._pool
        pool._admitted -= 1
        if self._key is not None:
            _one_less(pool._admitted_per_key, self._key)

    async def run(self, fn: Callable[P, T], /, *args: P.args, **kwargs: P.kwargs) -> T:
        pool = self._pool
        with pool._lock:
            self._running += 1
        try:
            future = pool._executor.submit(fn, *args, **kwargs)
        except BaseException:
            with pool._lock:
                self._running -= 1
            raise
        future.add_done_callback(self._job_done)
        try:
            return await asyncio.wait_for(asyncio.wrap_future(future), pool.timeout)
        except TimeoutError:
            future.cancel()  # dropped if it has not started; a running job ends on its own
            log.warning("job %s exceeded %.0f s", getattr(fn, "__name__", fn), pool.timeout)
            raise timed_out(pool.timeout) from None


def timed_out(timeout: float) -> WorkTimeoutError:
    return WorkTimeoutError(
        f"the work took longer than {timeout:.0f} s; try fewer or simpler parcels",
        f"处理超过 {timeout:.0f} 秒上限，请减少地块数量或简化几何",
        retry_after=max(1, round(timeout)),
    )


def stoppable(job: Callable[[], T], *, cost: int, vertices: int, settings: Settings, deadline: float) -> T:
    """``job()`` on this (worker) thread, or ``in_child`` where its estimated ``cost`` is above
    ``LANTU_ISOLATE_ABOVE_COST`` or a parcel of it has more ``vertices`` than
    ``LANTU_ISOLATE_ABOVE_VERTICES`` (its validity check and repair, which the estimate does not weigh,
    grow faster than its vertices)."""
    if cost <= settings.isolate_above_cost and vertices <= settings.isolate_above_vertices:
        return job()
    return in_child(job, settings=settings, deadline=deadline)


def in_child(job: Callable[[], T], *, settings: Settings, deadline: float) -> T:
    """``job()`` in a child forked for it and killed at ``deadline`` (``geo.forked``), so that the 503
    the client then has frees the worker as well; on this thread where the OS does not fork."""
    if not CAN_FORK:
        return job()
    try:
        return run_forked(job, deadline=deadline)
    except TimeoutError:
        raise timed_out(settings.work_timeout) from None


def most_vertices(frame: gpd.GeoDataFrame) -> int:
    """The vertices of a frame's largest parcel (``stoppable``)."""
    return int(shapely.get_num_coordinates(frame.geometry.values).max(initial=0))


class WorkPool:
    def __init__(self, *, workers: int, queue: int, timeout: float):
        self.workers = workers
        self.capacity = workers + queue
        self.timeout = timeout
        self._executor = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="lantu-work")
        self._lock = threading.Lock()
        self._admitted = 0
        self._per_key: dict[str, int] = {}  # papers rendering (``keyed``)
        self._admitted_per_key: dict[str, int] = {}  # requests admitted before their body is read (``ticket``)
        # of the places, what one key may hold while its bodies come in: 34 bodies trickled in a byte every 5 s
        # held every place for a minute, every other key's review, search and paper a 429 (a probe)
        self.key_share = max(1, self.capacity // 2)

    @property
    def admitted(self) -> int:
        return self._admitted

    def deadline(self) -> float:
        """When a job submitted now is answered with 503 (``time.monotonic()``): a job that runs its
        costly part in a forked child (``stoppable``) has the child killed then."""
        return time.monotonic() + self.timeout

    @asynccontextmanager
    async def ticket(self, key: str | None = None) -> AsyncIterator[Ticket]:
        """Admit one request or raise :class:`BusyError` (429) at once; ``key``, the caller's name, for a request
        admitted before its body is read, of which one key holds at most ``key_share`` at a time."""
        with self._lock:
            if self._admitted >= self.capacity:
                raise BusyError(
                    f"the service is busy ({self.capacity} requests working or waiting); retry shortly",
                    f"服务繁忙（已有 {self.capacity} 个请求在处理或排队），请稍后重试",
                    retry_after=RETRY_AFTER_BUSY,
                )
            if key is not None and self._admitted_per_key.get(key, 0) >= self.key_share:
                raise BusyError(
                    f"this key already has {self.key_share} requests working or waiting; retry when one has its answer",
                    f"本密钥已有 {self.key_share} 个请求在处理或排队，请待其完成后重试",
                    retry_after=RETRY_AFTER_KEY_BUSY,
                )
            self._admitted += 1
            if key is not None:
                self._admitted_per_key[key] = self._admitted_per_key.get(key, 0) + 1
        ticket = Ticket(self, key)
        try:
            yield ticket
        finally:
            ticket._close()

    @asynccontextmanager
    async def keyed(self, key: str, *, cap: int) -> AsyncIterator[None]:
        """Hold one of ``cap`` places of the caller ``key`` (a key's name) for a heavy job, or raise
        :class:`BusyError` (429) at once: papers are cheap to ask for and each may hold a worker for
        seconds, so one key may not have more than ``cap`` of them working or waiting at a time."""
        with self._lock:
            if self._per_key.get(key, 0) >= cap:
                raise BusyError(
                    f"this key already has {cap} paper(s) rendering; retry when it has its answer",
                    f"本密钥已有 {cap} 份文书正在生成，请待其完成后重试",
                    retry_after=RETRY_AFTER_KEY_BUSY,
                )
            self._per_key[key] = self._per_key.get(key, 0) + 1
        try:
            yield
        finally:
            with self._lock:
                _one_less(self._per_key, key)

    def keyed_count(self, key: str) -> int:
        """The places ``key`` holds now (``keyed``)."""
        return self._per_key.get(key, 0)

    async def run(self, fn: Callable[P, T], /, *args: P.args, **kwargs: P.kwargs) -> T:
        """One job on its own ticket."""
        async with self.ticket() as ticket:
            return await ticket.run(fn, *args, **kwargs)

    def shutdown(self) -> None:
        self._executor.shutdown(wait=False, cancel_futures=True)


def _one_less(held: dict[str, int], key: str) -> None:
    """One place of ``key`` in ``held`` given back (the pool's lock held)."""
    left = held[key] - 1
    if left:
        held[key] = left
    else:
        del held[key]
