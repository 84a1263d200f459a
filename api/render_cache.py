"""Rendered maps and reports, kept per review so a second GET costs nothing.

A stored review never changes, so a rendering is addressed by what it was made
from: the kind, the review id, a SHA-256 of the stored result, and the settings
that shape it. The cache is bounded in bytes (least recently used out first) and
a single rendering larger than ``max_entry`` is served but not kept.

A rendering that ran out of time is remembered too, for a while (``fail``,
``failed``): the same paper asked again meanwhile is answered 503 at once instead
of holding a worker for another whole timeout.
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections import OrderedDict

MAX_FAILURES = 1024  # failures remembered at once, oldest first out


class RenderCache:
    def __init__(self, *, max_bytes: int = 128 * 1024 * 1024, max_entry: int = 16 * 1024 * 1024):
        self.max_bytes = max_bytes
        self.max_entry = max_entry
        self._items: OrderedDict[str, bytes] = OrderedDict()
        self._size = 0
        self._lock = threading.Lock()
        self._failed: OrderedDict[str, float] = OrderedDict()  # key → until (time.monotonic())

    @staticmethod
    def key(kind: str, review_id: str, result_json: str, *extra: object) -> str:
        digest = hashlib.sha256(result_json.encode()).hexdigest()
        return "|".join([kind, review_id, digest, *(str(e) for e in extra)])

    def get(self, key: str) -> bytes | None:
        with self._lock:
            value = self._items.get(key)
            if value is not None:
                self._items.move_to_end(key)
            return value

    def put(self, key: str, value: bytes) -> None:
        if len(value) > self.max_entry:
            return
        with self._lock:
            old = self._items.pop(key, None)
            if old is not None:
                self._size -= len(old)
            self._items[key] = value
            self._size += len(value)
            while self._size > self.max_bytes and self._items:
                _, dropped = self._items.popitem(last=False)
                self._size -= len(dropped)

    def fail(self, key: str, *, seconds: float) -> None:
        """Remember for ``seconds`` that rendering ``key`` ran out of time."""
        with self._lock:
            self._failed.pop(key, None)
            self._failed[key] = time.monotonic() + seconds
            while len(self._failed) > MAX_FAILURES:
                self._failed.popitem(last=False)

    def failed(self, key: str) -> float:
        """Seconds for which ``key``'s failure is still remembered; 0 when it is not (or no longer)."""
        with self._lock:
            until = self._failed.get(key)
            if until is None:
                return 0.0
            left = until - time.monotonic()
            if left <= 0:
                del self._failed[key]
                return 0.0
            return left

    @property
    def size(self) -> int:
        return self._size
