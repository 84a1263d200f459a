"""Liveness and readiness.

``/readyz`` is ready only when the blueprint is loaded and the service can *write*:
one small committed write to the database (a locked SQLite file, a full disk or an
unreachable PostgreSQL all fail it, within about a second) and one file in the
temporary directory that uploads are spooled to.
"""

from __future__ import annotations

import logging
import tempfile
from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse

from api.access import probe_write
from api.jsonbody import JSONRoute

router = APIRouter(route_class=JSONRoute, tags=["health"])
log = logging.getLogger(__name__)


@router.get("/healthz", summary="The process answers (HEAD too: what load balancers send)")
def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/favicon.ico", include_in_schema=False, status_code=204)
def favicon() -> Response:
    return Response(status_code=204)


def _can_write_temp() -> bool:
    try:
        with tempfile.TemporaryFile(prefix="lantu-ready-") as f:
            f.write(b"x" * 4096)
            f.flush()
        return True
    except OSError as exc:
        log.error("readiness: temporary directory not writable: %s", exc)
        return False


def _can_write_database(request: Request) -> bool:
    try:
        probe_write(request.app.state.engine, lock_timeout=request.app.state.settings.database_lock_timeout)
        return True
    except Exception as exc:  # any driver error means not ready
        log.error("readiness: database write failed: %s", exc)
        return False


@router.get(
    "/readyz", summary="Blueprint loaded, database writable, temporary space writable (HEAD too)", response_model=None
)
async def readyz(request: Request) -> dict[str, Any] | JSONResponse:
    checks: dict[str, bool] = {
        "blueprint": request.app.state.blueprint is not None,
        "database": await run_in_threadpool(_can_write_database, request),
        "temp": await run_in_threadpool(_can_write_temp),
    }
    ready = all(checks.values())
    blueprint = request.app.state.blueprint
    body: dict[str, Any] = {
        "status": "ready" if ready else "not ready",
        "checks": checks,
        "blueprint_version": blueprint.version if blueprint is not None else None,
    }
    return body if ready else JSONResponse(body, status_code=503, headers={"Connection": "close"})
