"""JSON bodies read with each key once (``geo.io.jsonkeys``): FastAPI reads a body through ``Request.json``, which
kept the last of a key sent twice (``"unit": "亩", "unit": "m2"`` booked m², a probe). Every router of the service
is made with :class:`JSONRoute`; the refusal is answered as a body that could not be read (``api.errors``)."""

from __future__ import annotations

import json
from collections.abc import Callable, Coroutine
from typing import Any

from fastapi.routing import APIRoute
from starlette.requests import Request
from starlette.responses import Response

from geo.io.jsonkeys import one_key_each


class JSONRequest(Request):
    async def json(self) -> Any:
        if not hasattr(self, "_json"):
            self._json = json.loads(await self.body(), object_pairs_hook=one_key_each)
        return self._json


class JSONRoute(APIRoute):
    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def read_strictly(request: Request) -> Response:
            return await handler(JSONRequest(request.scope, request.receive))

        return read_strictly
