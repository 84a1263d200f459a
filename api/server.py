"""How uvicorn runs the service: timeouts and limits that keep idle or slow clients
from taking the server down (slowloris), in one place that ``lantu serve`` uses.

* a **header-read timeout**: a connection must deliver a complete request head within
  ``header_timeout`` seconds of opening (or of the previous response), else it is
  closed — uvicorn has only a keep-alive timeout, which any trickled byte resets;
* ``timeout_keep_alive`` for idle keep-alive connections;
* h11's ``max_incomplete_event_size`` caps the request head (64 KiB);
* ``limit_concurrency``: beyond it uvicorn answers 503 at once;
* the body-read deadline is :class:`api.limits.BodySizeLimit`'s (``body_timeout``).

Behind a reverse proxy, see SECURITY.md for the matching nginx settings.
"""

from __future__ import annotations

import asyncio
from typing import Any

import h11
from uvicorn.protocols.http.h11_impl import H11Protocol

from api.settings import Settings

MAX_HEAD_BYTES = 64 * 1024


class GuardedH11Protocol(H11Protocol):
    """uvicorn's h11 protocol with a deadline for each request head."""

    header_timeout: float = 10.0
    _head_timer: asyncio.TimerHandle | None = None

    def _arm_head_timer(self) -> None:
        self._disarm_head_timer()
        self._head_timer = self.loop.call_later(self.header_timeout, self._head_timed_out)

    def _disarm_head_timer(self) -> None:
        if self._head_timer is not None:
            self._head_timer.cancel()
            self._head_timer = None

    def _head_timed_out(self) -> None:
        self._head_timer = None
        if self.cycle is None or self.cycle.response_complete:  # still waiting for a request head
            self.transport.close()

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm_head_timer()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm_head_timer()
        super().connection_lost(exc)

    def handle_events(self) -> None:
        before = self.cycle
        super().handle_events()
        if self.cycle is not before and self.cycle is not None:
            self._disarm_head_timer()  # a whole request head arrived

    def on_response_complete(self) -> None:
        super().on_response_complete()
        if not self.transport.is_closing() and self.conn.our_state is not h11.MUST_CLOSE:
            self._arm_head_timer()


def protocol_class(settings: Settings) -> type[GuardedH11Protocol]:
    return type("LantuH11Protocol", (GuardedH11Protocol,), {"header_timeout": settings.header_timeout})


def uvicorn_config(settings: Settings) -> dict[str, Any]:
    """Keyword arguments for ``uvicorn.run(app, **uvicorn_config(settings))``."""
    return {
        "host": settings.host,
        "port": settings.port,
        "http": protocol_class(settings),
        "timeout_keep_alive": settings.keep_alive,
        "h11_max_incomplete_event_size": MAX_HEAD_BYTES,
        "limit_concurrency": settings.limit_concurrency,
        "backlog": 1024,
        "timeout_graceful_shutdown": 10,
        "proxy_headers": True,
        "forwarded_allow_ips": settings.forwarded_allow_ips,
        "server_header": False,
        "log_level": "info",
    }
