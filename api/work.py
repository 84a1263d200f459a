"""The heavy work (parsing, review, rendering) runs here, off the event loop.

A fixed pool of threads does the work; at most ``workers + queue`` jobs are admitted
at once (running or waiting), the next one is refused at once with 429 and
``Retry-After``, so the event loop keeps answering ``/healthz`` and small requests
while big ones wait their turn. A job that outlives the per-request timeout is
answered with 503; its thread cannot be interrupted (shapely and GDAL do not check
for cancellation), so it keeps its admission slot until it really ends, which
keeps the count of admitted jobs honest.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, ParamSpec, TypeVar

from api.errors import BusyError, WorkTimeoutError

log = logging.getLogger(__name__)
P = ParamSpec("P")
T = TypeVar("T")


class WorkPool:
    def __init__(self, *, workers: int, queue: int, timeout: float):
        self.workers = workers
        self.capacity = workers + queue
        self.timeout = timeout
        self._executor = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="lantu-work")
        self._lock = threading.Lock()
        self._admitted = 0

    @property
    def admitted(self) -> int:
        return self._admitted

    def _release(self, _future: Future[Any]) -> None:
        with self._lock:
            self._admitted -= 1

    async def run(self, fn: Callable[P, T], /, *args: P.args, **kwargs: P.kwargs) -> T:
        with self._lock:
            if self._admitted >= self.capacity:
                raise BusyError(
                    f"the service is busy ({self.capacity} jobs running or queued); retry shortly",
                    f"服务繁忙（已有 {self.capacity} 个任务在处理或排队），请稍后重试",
                    retry_after=max(1, round(self.timeout / 10)),
                )
            self._admitted += 1
        try:
            future = self._executor.submit(fn, *args, **kwargs)
        except BaseException:
            with self._lock:
                self._admitted -= 1
            raise
        future.add_done_callback(self._release)
        try:
            return await asyncio.wait_for(asyncio.wrap_future(future), self.timeout)
        except TimeoutError:
            future.cancel()  # dropped if it has not started; a running job ends on its own
            log.warning("job %s exceeded %.0f s", getattr(fn, "__name__", fn), self.timeout)
            raise WorkTimeoutError(
                f"the work took longer than {self.timeout:.0f} s; try fewer or simpler parcels",
                f"处理超过 {self.timeout:.0f} 秒上限，请减少地块数量或简化几何",
                retry_after=max(1, round(self.timeout)),
            ) from None

    def shutdown(self) -> None:
        self._executor.shutdown(wait=False, cancel_futures=True)
