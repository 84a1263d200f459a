"""Pure-ASGI guards in front of the application.

* :class:`BodySizeLimit` caps the request body while it streams in, and the time a
  client may take to send it, so a huge or a trickled upload is refused before it
  is held in memory or ties up a worker.
* :class:`HostGuard` answers only ``Host`` names on the allow-list (DNS rebinding);
  in open demo mode only loopback names.
* :class:`SecurityHeaders` adds CSP, ``X-Frame-Options``, ``nosniff`` and a referrer
  policy to every response, and ``Connection: close`` to every 5xx.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable

import anyio
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.deps import IN_PROCESS, bound_host, host_name
from api.errors import PROBLEM, RequestTimeoutError, problem_body
from geo.errors import TooLargeError


async def send_problem(scope: Scope, send: Send, status: int, title: str, message_en: str, message_zh: str) -> None:
    body = json.dumps(
        problem_body(status, title, message_en, message_zh, scope.get("path", "")), ensure_ascii=False
    ).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", PROBLEM.encode()),
                (b"content-length", str(len(body)).encode()),
                (b"connection", b"close"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


class BodySizeLimit:
    def __init__(self, app: ASGIApp, *, limit: int, timeout: float = 60.0):
        self.app = app
        self.limit = limit
        self.timeout = timeout

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.limit:
            size = int(declared)
            await send_problem(
                scope,
                send,
                413,
                "TooLargeError",
                f"request body of {size} bytes exceeds the limit of {self.limit} bytes",
                f"请求体 {size} 字节，超过 {self.limit} 字节的上限",
            )
            return
        received = 0
        deadline = time.monotonic() + self.timeout
        finished = False

        async def counted() -> Message:
            nonlocal received, finished
            if finished:  # the body is read: what remains is waiting for a disconnect, no deadline
                return await receive()
            left = deadline - time.monotonic()
            message: Message | None = None
            if left > 0:
                with anyio.move_on_after(left):
                    message = await receive()
            if message is None:
                raise RequestTimeoutError(
                    f"the request body was not received within {self.timeout:.0f} s",
                    f"请求体未在 {self.timeout:.0f} 秒内传完",
                )
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.limit:
                    raise TooLargeError(
                        f"request body larger than the limit of {self.limit} bytes",
                        f"请求体超过 {self.limit} 字节的上限",
                    )
                finished = not message.get("more_body", False)
            return message

        await self.app(scope, counted, send)


class HostGuard:
    def __init__(self, app: ASGIApp, *, allowed: Iterable[str]):
        self.app = app
        self.allowed = {h.lower() for h in allowed}

    def _ok(self, host: str, scope: Scope) -> bool:
        if "*" in self.allowed:
            return True
        name = host_name(host.lower())
        if name == IN_PROCESS and bound_host(scope) == IN_PROCESS:
            return True  # an in-process test client, no socket
        return name in self.allowed or any(a.startswith("*.") and name.endswith(a[1:]) for a in self.allowed)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        host = dict(scope["headers"]).get(b"host", b"").decode("latin-1")
        if not self._ok(host, scope):
            await send_problem(
                scope,
                send,
                421,
                "MisdirectedRequest",
                f"this service does not answer for the host {host[:100]!r} (LANTU_ALLOWED_HOSTS)",
                f"本服务不响应主机名 {host[:100]!r}（见 LANTU_ALLOWED_HOSTS）",
            )
            return
        await self.app(scope, receive, send)


def page_policy(tiles: str) -> str:
    tile_hosts = {
        "osm": " https://tile.openstreetmap.org https://*.tile.openstreetmap.org",
        "tianditu": " https://*.tianditu.gov.cn",
        "auto": " https://*.tianditu.gov.cn",  # used when a key is set
    }.get(tiles, "")
    # folium pages are inline scripts; the policy keeps every request on this origin (and the tiles)
    return (
        "default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; "
        f"img-src 'self' data: blob:{tile_hosts}; connect-src 'self'; font-src 'self' data:; "
        "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
    )


DOCS_POLICY = (  # worker-src blob: for ReDoc's search worker
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
    "worker-src blob:; "
    "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
DATA_POLICY = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'"


class SecurityHeaders:
    def __init__(self, app: ASGIApp, *, tiles: str, docs_paths: Iterable[str] = ("/docs", "/redoc")):
        self.app = app
        self.page = page_policy(tiles).encode()
        self.docs_paths = tuple(docs_paths)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope.get("path", "")

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = [(k, v) for k, v in message.get("headers", []) if k.lower() != b"content-security-policy"]
                ctype = dict(headers).get(b"content-type", b"")
                if path in self.docs_paths:
                    policy = DOCS_POLICY.encode()
                elif ctype.startswith(b"text/html"):
                    policy = self.page
                elif ctype.startswith(b"application/pdf"):
                    policy = b"frame-ancestors 'none'"
                else:
                    policy = DATA_POLICY.encode()
                headers += [
                    (b"content-security-policy", policy),
                    (b"x-frame-options", b"DENY"),
                    (b"x-content-type-options", b"nosniff"),
                    (b"referrer-policy", b"same-origin"),
                ]
                if message["status"] >= 500 and b"connection" not in {k.lower() for k, _ in headers}:
                    headers.append((b"connection", b"close"))
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, with_headers)
