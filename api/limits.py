"""A request-body cap enforced while the body streams in, so a huge upload is refused
before it is held in memory or written to disk."""

from __future__ import annotations

import json

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from geo.errors import TooLargeError


class BodySizeLimit:
    def __init__(self, app: ASGIApp, *, limit: int):
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.limit:
            await self._refuse(scope, send, int(declared))
            return
        received = 0

        async def counted() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.limit:
                    raise TooLargeError(
                        f"request body larger than the limit of {self.limit} bytes",
                        f"请求体超过 {self.limit} 字节的上限",
                    )
            return message

        await self.app(scope, counted, send)

    async def _refuse(self, scope: Scope, send: Send, size: int) -> None:
        body = json.dumps(
            {
                "type": "about:blank",
                "title": "TooLargeError",
                "status": 413,
                "detail": f"request body of {size} bytes exceeds the limit of {self.limit} bytes",
                "message_en": f"request body of {size} bytes exceeds the limit of {self.limit} bytes",
                "message_zh": f"请求体 {size} 字节，超过 {self.limit} 字节的上限",
                "instance": scope.get("path", ""),
            },
            ensure_ascii=False,
        ).encode()
        await send(
            {
                "type": "http.response.start",
                "status": 413,
                "headers": [
                    (b"content-type", b"application/problem+json"),
                    (b"content-length", str(len(body)).encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})
