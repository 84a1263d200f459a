"""Administration: swap in a new blueprint without dropping a request.

``POST /api/v1/admin/blueprint/reload`` (admin role) or ``SIGHUP`` loads the configured
blueprint directory again — typically after ``lantu blueprint build … -o DIR`` replaced it —
in a thread while the old one keeps serving, then swaps ``app.state.blueprint`` in one
assignment: a request holds the blueprint it resolved when it started and finishes on it;
every later request gets the new one. A blueprint that does not load leaves the old one in
service (the error is the answer). Reloads run one at a time.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import time

from fastapi import APIRouter, Depends, FastAPI, Request
from pydantic import BaseModel, Field

from api.deps import require
from api.routes.pages import build_viewer
from geo.blueprint import load_blueprint
from geo.errors import BlueprintError

router = APIRouter(prefix="/admin", tags=["admin"], dependencies=[Depends(require("blueprint:admin"))])
log = logging.getLogger(__name__)


class ReloadResult(BaseModel):
    blueprint: str
    blueprint_version: str
    previous_version: str | None = Field(description="the version served before the swap")
    layers: int
    seconds: float = Field(description="time to load the new blueprint (the old one served meanwhile)")


@router.post("/blueprint/reload", response_model=ReloadResult, summary="Load the blueprint again and swap it in")
async def reload(request: Request) -> ReloadResult:
    return await reload_blueprint(request.app)


def _lock(app: FastAPI) -> asyncio.Lock:
    lock: asyncio.Lock | None = getattr(app.state, "reload_lock", None)
    if lock is None:
        lock = app.state.reload_lock = asyncio.Lock()
    return lock


async def reload_blueprint(app: FastAPI) -> ReloadResult:
    """Load the configured blueprint in a thread, then swap it in; the old one serves until then."""
    settings = app.state.settings
    if not settings.blueprint:
        raise BlueprintError(
            "the service has no blueprint configured (LANTU_BLUEPRINT)", "服务未配置蓝图（LANTU_BLUEPRINT）"
        )
    async with _lock(app):
        started = time.perf_counter()
        new = await asyncio.to_thread(load_blueprint, settings.blueprint)
        seconds = time.perf_counter() - started
        county = new.vector("county")
        if county is not None:
            codes = zip(county.frame["code"].astype(str), county.frame["name"], strict=True)
            await asyncio.to_thread(app.state.ledger.register_counties, codes)
        old = app.state.blueprint
        app.state.blueprint = new
        app.state.viewer = asyncio.get_running_loop().run_in_executor(None, build_viewer, new, settings)
    previous = old.version if old is not None else None
    log.warning("blueprint reloaded: %s %s → %s in %.1f s", new.name, previous, new.version, seconds)
    return ReloadResult(
        blueprint=new.name,
        blueprint_version=new.version,
        previous_version=previous,
        layers=len(new.layers),
        seconds=round(seconds, 3),
    )


def install_sighup(app: FastAPI) -> bool:
    """``SIGHUP`` reloads the blueprint (as the reload endpoint does); False where signals cannot be
    caught (not the main thread, as under a test client, or no SIGHUP on this platform)."""
    loop = asyncio.get_running_loop()

    def on_hup() -> None:
        task = loop.create_task(reload_blueprint(app))
        task.add_done_callback(_log_failure)
        app.state.sighup_task = task  # keep a reference until it is done

    try:
        loop.add_signal_handler(signal.SIGHUP, on_hup)
    except (AttributeError, NotImplementedError, RuntimeError, ValueError):
        return False
    return True


def _log_failure(task: asyncio.Task[ReloadResult]) -> None:
    if not task.cancelled() and task.exception() is not None:
        log.error("SIGHUP reload failed; the previous blueprint stays in service: %s", task.exception())
