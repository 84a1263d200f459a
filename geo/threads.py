"""Vectorised shapely calls over large arrays, split into chunks on a thread pool.

shapely 2 releases the GIL inside its vectorised functions, so a city layer's
million polygons can be decoded, validated and measured on every core.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import numpy as np

CHUNK = 50_000
# the cores this process may run on (a container's CPU set, a taskset), read once: the call reads /sys
CORES = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def map_chunks(fn: Callable[[np.ndarray], np.ndarray], values: np.ndarray, *, workers: int | None = None) -> np.ndarray:
    """``fn(values)``, computed chunk by chunk on ``workers`` threads (default: every core), in order."""
    threads = min(workers or CORES, -(-len(values) // CHUNK))
    if threads <= 1:
        return fn(values)
    with ThreadPoolExecutor(threads) as pool:
        return np.concatenate(list(pool.map(fn, [values[i : i + CHUNK] for i in range(0, len(values), CHUNK)])))
