"""The FastAPI application: ``create_app(settings)`` loads the blueprint and its
indexes once, in the lifespan, and keeps them on ``app.state``."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from fastapi import Depends, FastAPI
from fastapi.staticfiles import StaticFiles
from sqlalchemy import event

from api import docs, errors
from api.deps import query_given_once
from api.head import HeadAsGet
from api.keys import ensure_schema, import_keys_file
from api.limits import BodySizeLimit, HostGuard, SecurityHeaders
from api.render_cache import RenderCache
from api.routes import admin, consult, health, layers, pages, projects, quotas, reviews, sites
from api.routes.pages import viewer_page
from api.settings import Settings
from api.work import WorkPool
from geo.blueprint import load_blueprint
from geo.db import make_engine, migrate
from geo.forked import gdal_on_callers_threads
from geo.maps import leaflet_dir
from geo.quota import Ledger
from geo.store import ReviewStore

log = logging.getLogger("lantu.api")
API_PREFIX = "/api/v1"
STATIC_DIR = Path(__file__).parent / "static"

DESCRIPTION = """
lantu 蓝图 — the one-blueprint siting review service (落地可行性审查).

POST a parcel (GeoJSON, or a zipped shapefile / GeoPackage / KML upload) to
`/api/v1/reviews` and get the ten-point review; open `/api/v1/reviews/{id}/map` and
`/report` for the map and the printable report. Send your key as `X-API-Key` or
`Authorization: Bearer` (the **Authorize** button). Errors are RFC 9457 problem+json with Chinese and English
messages.
"""


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        engine = make_engine(settings.database_url)
        if engine.dialect.name == "sqlite":
            lock_ms = int(settings.database_lock_timeout * 1000)

            @event.listens_for(engine, "connect")
            def _lock_timeout(dbapi_conn: Any, _record: Any) -> None:
                # a locked database answers 503 after this, not after SQLite's 30 s
                dbapi_conn.execute(f"PRAGMA busy_timeout={lock_ms}")

        migrate(engine)
        ensure_schema(engine)
        app.state.engine = engine
        app.state.store = ReviewStore(engine)
        if settings.api_keys_file:
            log.info(
                "%d API keys provisioned from %s",
                import_keys_file(engine, settings.api_keys_file),
                settings.api_keys_file,
            )
        gdal_on_callers_threads()  # before any read: reviews fork beside blueprint reloads
        app.state.blueprint = load_blueprint(settings.blueprint) if settings.blueprint else None
        app.state.ledger = Ledger(engine, pooling_share=settings.pooling_share)
        county = app.state.blueprint.vector("county") if app.state.blueprint else None
        if county is not None:
            app.state.ledger.register_counties(zip(county.frame["code"].astype(str), county.frame["name"], strict=True))
        # the viewer shows the whole blueprint: built once, from start-up on, from a thread (in a forked child), not
        # on every GET /
        app.state.viewer = (
            asyncio.get_running_loop().run_in_executor(None, viewer_page, app.state.blueprint, settings)
            if app.state.blueprint is not None
            else None
        )
        app.state.render_cache = RenderCache()
        app.state.pool = WorkPool(workers=settings.workers, queue=settings.queue, timeout=settings.work_timeout)
        if app.state.blueprint is not None and admin.install_sighup(app):
            log.info("SIGHUP reloads the blueprint from %s", settings.blueprint)
        if settings.environment == "production" and "*" in settings.allowed_hosts:
            log.warning("LANTU_ALLOWED_HOSTS is '*': set the service's host names (DNS rebinding, SECURITY.md)")
        if settings.open_demo:
            log.warning(
                "OPEN DEMO MODE: no API keys are checked for requests on a loopback socket "
                "under a loopback host name; every such caller is admin"
            )
        log.info(
            "lantu ready: blueprint %s, database %s",
            app.state.blueprint.name if app.state.blueprint else None,
            engine.url.render_as_string(),
        )
        try:
            yield
        finally:
            app.state.pool.shutdown()
            engine.dispose()

    app = FastAPI(
        title="lantu 蓝图",
        version="0.1.0",
        description=DESCRIPTION,
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
    )
    app.state.settings = settings
    errors.install(app)
    # the last added runs first: HEAD as GET, host check, then headers on everything, then the body cap
    app.add_middleware(BodySizeLimit, limit=settings.max_upload_bytes, timeout=settings.body_timeout)
    app.add_middleware(SecurityHeaders, tiles=settings.tiles)
    allowed = ["localhost", "127.0.0.1", "::1"] if settings.open_demo else settings.allowed_hosts
    app.add_middleware(HostGuard, allowed=allowed)
    app.add_middleware(HeadAsGet)
    docs.install(app)
    app.include_router(health.router)
    # every API operation may be refused (401, 403), find its input unusable (422), be turned away busy (429)
    # or time out (503); the routers add what is theirs: bodies (408, 413, 415), ids (404), refusals (409)
    anyone = (401, 403, 422, 429, 503)
    for router, own in (
        (reviews.router, (400, 404, 408, 413, 415)),
        (layers.router, (404,)),
        (quotas.router, (404, 408, 409, 413)),
        (sites.router, (408, 413, 415)),
        (projects.router, (404, 408, 409, 413)),
        (consult.router, (404, 408, 409, 413)),
        (admin.router, (404, 408, 409, 413)),
    ):
        app.include_router(
            router,
            prefix=API_PREFIX,
            responses=errors.problem_responses(*sorted({*anyone, *own})),
            dependencies=[Depends(query_given_once)],
        )
    app.include_router(pages.router)
    errors.document(app)
    app.mount("/static/app", StaticFiles(directory=STATIC_DIR), name="static")
    folder = leaflet_dir()
    if folder is not None:
        app.mount("/static/leaflet", StaticFiles(directory=folder), name="leaflet")
    return app
