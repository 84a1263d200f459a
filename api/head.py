"""``HEAD`` answered as the ``GET`` of the same URL without its body (RFC 9110 §9.3.2), for every route at once.

Monitoring probes and link checkers send ``HEAD``. Starlette's own routes and ``StaticFiles`` take it, but a
FastAPI route takes only the methods it declares (fastapi/fastapi#1773), so every ``GET`` operation answered
405. A ``@router.head`` beside each ``@router.get`` would double every route, and FastAPI would list a HEAD
operation for each in ``/openapi.json``. :class:`HeadAsGet` instead hands a ``HEAD`` on as a ``GET``: routing,
authentication, roles, the worker limits and the problem responses are then GET's by construction (a path with
no ``GET`` is still 405 or 404), the route runs once, and what goes back is GET's status and headers, its
``Content-Length`` included, with an empty body. A route whose GET does more than read (a review's papers take
their 文号 on the first read, and are rendered in a child process) asks :func:`is_head` and refuses it.
"""

from __future__ import annotations

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

BODY = frozenset({"http.response.body", "http.response.pathsend"})  # a file's body may come as its path
HEAD = "lantu.head"  # set in the scope a HEAD is handed on with: a route whose GET does work a HEAD must not do


def is_head(scope: Scope) -> bool:
    """Whether the request came as ``HEAD`` (handed on as ``GET``)."""
    return bool(scope.get(HEAD))


def refuse_head(scope: Scope) -> None:
    """405 for a ``HEAD`` of a paper, asked once the paper's review is found and the caller may read it (so that a
    HEAD of an unknown review is 404, of another's 403, as its GET): a paper is numbered (文号) on its first read and
    rendered in a child, which a link checker's HEAD must not do."""
    if is_head(scope):
        raise HTTPException(
            405, "a paper is rendered, and numbered, when read: ask for it with GET", headers={"Allow": "GET"}
        )


class HeadAsGet:
    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "HEAD":
            await self.app(scope, receive, send)
            return
        ended = False

        async def without_body(message: Message) -> None:
            nonlocal ended
            if message["type"] not in BODY:
                await send(message)  # the status and headers
            elif not ended:  # the first of the body's messages ends the response, empty; the rest are dropped
                ended = True
                await send({"type": "http.response.body", "body": b"", "more_body": False})

        await self.app({**scope, "method": "GET", HEAD: True}, receive, without_body)
