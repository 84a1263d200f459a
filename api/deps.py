"""Request dependencies: the loaded blueprint and its layers, the stores, the work pool, and who is calling.

Who is calling, in order:

1. **open demo** — only when the setting is on *and* the request came in on a
   loopback socket (``scope["server"]``, the address actually bound, not
   ``LANTU_HOST``) with a loopback ``Host`` header (no DNS rebinding);
2. an API key in ``X-API-Key`` or ``Authorization: Bearer`` (the two
   ``fastapi.security`` schemes, so ``/docs`` can authorise);
3. a viewer session cookie (a random server-side session id, never the key); a
   state-changing request on a session must come from the service's own origin.
"""

from __future__ import annotations

import ipaddress
import logging
from collections.abc import Awaitable, Callable
from typing import Annotated, TypeVar
from urllib.parse import urlsplit

from fastapi import Depends, Request
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer
from pydantic import ConfigDict
from sqlalchemy import Engine
from starlette.types import Scope

from api.access import check_can_read, session_principal
from api.errors import AuthenticationError, ForbiddenError
from api.keys import Principal, authenticate
from api.render_cache import RenderCache
from api.settings import Settings
from api.work import WorkPool
from geo.blueprint import Blueprint, VectorLayer
from geo.errors import BlueprintError, InputError, NotFoundError
from geo.quota import Ledger
from geo.store import ReviewStore

# A body that writes (the ledger, the project library, a consultation): a member it does not read is refused (422),
# never dropped: a plan row's "unit": "亩" was, and 150 亩 booked as 150 m² (hostile probe)
WRITE = ConfigDict(extra="forbid")

log = logging.getLogger(__name__)
T = TypeVar("T")
OPEN_DEMO = Principal("open-demo", "admin")
SESSION_COOKIE = "lantu_session"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
LOOPBACK_NAMES = frozenset({"localhost", "127.0.0.1", "::1", "[::1]"})
# Starlette's and schemathesis' in-process clients report this as the "server": no socket
# is involved at all, so the request cannot have come over a network. A real server
# (uvicorn) always reports the socket's IP address here.
IN_PROCESS = "testserver"

api_key_scheme = APIKeyHeader(name="X-API-Key", auto_error=False, description="API key (lantu keys create …)")
bearer_scheme = HTTPBearer(auto_error=False, description="the API key as a Bearer token")


# Dependencies that only read what the lifespan made, or check what the request carries, are ``async def``: FastAPI
# runs a plain ``def`` dependency on its thread pool, a hop to a thread and back per dependency and request. Those
# that query the database (the caller's key or session, a review's owner) stay plain functions, off the event loop.


def app_state(name: str, kind: type[T]) -> Callable[[Request], Awaitable[T]]:
    """A dependency returning ``app.state.<name>``, one of the things the lifespan made once (typed ``kind``)."""

    async def dependency(request: Request) -> T:
        value: T = getattr(request.app.state, name)
        return value

    dependency.__name__ = f"get_{name}"
    return dependency


async def get_blueprint(request: Request) -> Blueprint:
    blueprint: Blueprint | None = request.app.state.blueprint
    if blueprint is None:
        raise BlueprintError(
            "the service has no blueprint loaded (set LANTU_BLUEPRINT)",
            "服务未加载蓝图（请设置 LANTU_BLUEPRINT）",
        )
    return blueprint


SettingsDep = Annotated[Settings, Depends(app_state("settings", Settings))]
BlueprintDep = Annotated[Blueprint, Depends(get_blueprint)]
EngineDep = Annotated[Engine, Depends(app_state("engine", Engine))]
StoreDep = Annotated[ReviewStore, Depends(app_state("store", ReviewStore))]
LedgerDep = Annotated[Ledger, Depends(app_state("ledger", Ledger))]
PoolDep = Annotated[WorkPool, Depends(app_state("pool", WorkPool))]
RenderCacheDep = Annotated[RenderCache, Depends(app_state("render_cache", RenderCache))]


async def get_vector_layer(layer_id: str, blueprint: BlueprintDep) -> VectorLayer:
    """The blueprint's vector layer ``layer_id``: 404 when there is none, 422 when it is a raster."""
    if layer_id not in blueprint.layers:
        raise NotFoundError(
            f"no layer {layer_id!r} in this blueprint; layers: {sorted(blueprint.layers)}",
            f"蓝图中没有图层 {layer_id!r}",
        )
    layer = blueprint.vector(layer_id)
    if layer is None:
        raise InputError(f"layer {layer_id!r} is a raster and has no features", f"图层 {layer_id!r} 为栅格，没有要素")
    return layer


VectorLayerDep = Annotated[VectorLayer, Depends(get_vector_layer)]


def _is_loopback(host: str) -> bool:
    if host in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def host_name(host_header: str) -> str:
    """The name part of a ``Host`` header (``[::1]:8000`` → ``::1``, ``a.b:80`` → ``a.b``)."""
    if host_header.startswith("["):
        return host_header[1 : host_header.find("]")] if "]" in host_header else host_header
    return host_header.rsplit(":", 1)[0] if host_header.count(":") == 1 else host_header


def open_demo_applies(request: Request, settings: Settings) -> bool:
    """Open demo only on a loopback socket, reached under a loopback name."""
    if not settings.open_demo:
        return False
    bound = bound_host(request.scope)
    if bound == IN_PROCESS:
        return host_name(request.headers.get("host", "")) in (IN_PROCESS, *LOOPBACK_NAMES)
    if bound is None or not _is_loopback(bound):
        log.warning("open demo mode refused for a request on the non-loopback socket %s", bound)
        return False
    return _is_loopback(host_name(request.headers.get("host", "")))


def bound_host(scope: Scope) -> str | None:
    """The address of the socket the request came in on (``None`` when the server does not say)."""
    server = scope.get("server")
    return str(server[0]) if server else None


def same_origin(request: Request) -> bool:
    """Whether the request's ``Origin`` (else ``Referer``) names this service's own host."""
    source = request.headers.get("origin") or request.headers.get("referer")
    if not source or source == "null":
        return False
    return urlsplit(source).netloc.lower() == request.headers.get("host", "").lower()


def check_not_cross_site(request: Request, *, required: bool) -> None:
    """Refuse a state change a browser sent from another site (CSRF).

    ``required``: the caller is authenticated by ambient authority (a cookie or the
    open demo), so a missing ``Origin``/``Referer`` is refused too for a session.
    """
    if request.method in SAFE_METHODS:
        return
    present = request.headers.get("origin") or request.headers.get("referer")
    if (required or present) and not same_origin(request):
        raise ForbiddenError(
            "cross-site request refused: a state change on a browser session must come from this service's own pages",
            "已拒绝跨站请求：基于浏览器会话的修改操作须来自本服务页面",
        )


def resolve_principal(
    request: Request, settings: Settings, engine: Engine, key: str | None, *, cookie: bool = True
) -> Principal:
    if open_demo_applies(request, settings):
        check_not_cross_site(request, required=False)
        return OPEN_DEMO
    if key:
        return authenticate(engine, key)
    session_id = request.cookies.get(SESSION_COOKIE) if cookie else None
    if session_id:
        principal = session_principal(engine, session_id)
        check_not_cross_site(request, required=True)
        return principal
    return authenticate(engine, None)


def get_principal(
    request: Request,
    settings: SettingsDep,
    engine: EngineDep,
    api_key: Annotated[str | None, Depends(api_key_scheme)],
    bearer: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer_scheme)],
) -> Principal:
    token = bearer.credentials.strip() if bearer else None
    # every key sent, each header repeated too: X-API-Key won over Bearer without a word, and the first of two
    # X-API-Key headers over the second (an admin's before a planner's acted as admin): which key acts must be plain
    sent = {v.strip() for v in request.headers.getlist("x-api-key")} | {
        v.split(None, 1)[1].strip() for v in request.headers.getlist("authorization") if _bearer(v)
    }
    if len(sent - {""}) > 1:
        raise AuthenticationError(
            "two different API keys were sent (X-API-Key, Authorization: Bearer, or one of them twice): send one",
            "请求携带了两个不同的 API 密钥（X-API-Key、Authorization: Bearer，或同一请求头重复），请只发送一个",
        )
    return resolve_principal(request, settings, engine, api_key or token)


def _bearer(value: str) -> bool:
    """Whether an Authorization header's ``value`` carries a Bearer token."""
    scheme, _, rest = value.strip().partition(" ")
    return scheme.lower() == "bearer" and bool(rest.strip())


PrincipalDep = Annotated[Principal, Depends(get_principal)]


def require(permission: str) -> Callable[[Principal], Awaitable[Principal]]:
    """A dependency that lets the call through only for roles holding ``permission``."""

    async def check(principal: PrincipalDep) -> Principal:
        if not principal.can(permission):
            raise ForbiddenError(
                f"role {principal.role!r} may not do {permission!r}",
                f"角色 {principal.role!r} 无权执行 {permission!r}",
            )
        return principal

    return check


def readable_review_id(
    review_id: str, engine: EngineDep, who: Annotated[Principal, Depends(require("review:read"))]
) -> str:
    """The path's review id once the caller may read it (own reviews; admins all)."""
    check_can_read(engine, review_id, who)
    return review_id


ReadableReviewId = Annotated[str, Depends(readable_review_id)]


async def query_given_once(request: Request) -> None:
    """Refuse a query parameter given more than once: Starlette keeps the last, so
    ``?project_type=industrial&project_type=residential`` was reviewed as residential without a word. No
    operation takes a list in its query string."""
    seen: set[str] = set()
    for key, _ in request.query_params.multi_items():
        if key in seen:
            raise InputError(
                f"query parameter {key!r} is given more than once; give it once",
                f"查询参数 {key!r} 出现了不止一次，请只给一次",
            )
        seen.add(key)
