"""Administration: swap in a new blueprint without dropping a request.

``POST /api/v1/admin/blueprint/reload`` (admin role) or ``SIGHUP`` loads the configured
blueprint directory again — typically after ``lantu blueprint build … -o DIR`` replaced it —
in a thread while the old one keeps serving, then swaps ``app.state.blueprint`` in one
assignment: a request holds the blueprint it resolved when it started and finishes on it;
every later request gets the new one. A blueprint that does not load leaves the old one in
service: the reload is refused (409, not 503: the service is not unavailable) with the load error's
reason and the name and version that stay, and the same line is logged whether a request or
``SIGHUP`` asked. Reloads run one at a time.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import time

from fastapi import APIRouter, Depends, FastAPI, Request
from pydantic import BaseModel, Field

from api.deps import require
from api.errors import ReloadRefusedError
from api.jsonbody import JSONRoute
from api.routes.pages import viewer_page
from geo.blueprint import Blueprint, load_blueprint
from geo.errors import LantuError

router = APIRouter(
    route_class=JSONRoute, prefix="/admin", tags=["admin"], dependencies=[Depends(require("blueprint:admin"))]
)
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


async def reload_blueprint(app: FastAPI, *, via: str = "request") -> ReloadResult:
    """Load the configured blueprint in a thread, then swap it in; the old one serves until then.

    A blueprint that does not load raises :class:`ReloadRefusedError` (409) naming the reason and the
    blueprint that stays in service, after logging it; ``via`` (request, SIGHUP) says who asked, in the log."""
    settings = app.state.settings
    if not settings.blueprint:  # nothing to load: asking again cannot help, the configuration must change
        raise ReloadRefusedError(
            "blueprint reload refused: the service was started without a blueprint (LANTU_BLUEPRINT); "
            "set it and restart the service",
            "蓝图重载被拒绝：服务启动时未配置蓝图（LANTU_BLUEPRINT），请配置后重启服务",
        )
    async with _lock(app):
        old: Blueprint | None = app.state.blueprint
        started = time.perf_counter()
        try:
            new = await asyncio.to_thread(load_blueprint, settings.blueprint)
        except Exception as exc:
            if old is None:  # nothing in service to keep (never after a start-up, which loads one or fails)
                raise
            raise _refused(exc, old, via) from exc
        seconds = time.perf_counter() - started
        county = new.vector("county")
        if county is not None:
            codes = zip(county.frame["code"].astype(str), county.frame["name"], strict=True)
            await asyncio.to_thread(app.state.ledger.register_counties, codes)
        app.state.blueprint = new
        app.state.viewer = asyncio.get_running_loop().run_in_executor(None, viewer_page, new, settings)
    previous = old.version if old is not None else None
    log.warning("blueprint reloaded (%s): %s %s → %s in %.1f s", via, new.name, previous, new.version, seconds)
    return ReloadResult(
        blueprint=new.name,
        blueprint_version=new.version,
        previous_version=previous,
        layers=len(new.layers),
        seconds=round(seconds, 3),
    )


def _refused(exc: Exception, old: Blueprint, via: str) -> ReloadRefusedError:
    """The answer to a reload whose blueprint did not load, logged: the load error's own safe messages (a
    :class:`BlueprintError` names the file and field), or for any other fault its class alone, the detail
    (and its traceback) staying in the log."""
    trace: Exception | None = None  # a load error of its own says what is wrong: no traceback
    if isinstance(exc, LantuError):
        reason_en, reason_zh = exc.message_en, exc.message_zh
    else:
        kind = type(exc).__name__
        reason_en = f"its files could not be read ({kind}; the detail is in the server log)"
        reason_zh = f"蓝图文件无法读取（{kind}，详情见服务日志）"
        trace = exc
    log.error(
        "blueprint reload (%s) refused; %s %s stays in service: %s", via, old.name, old.version, exc, exc_info=trace
    )
    return ReloadRefusedError(
        f"blueprint reload refused: {reason_en}. The blueprint in service stays: {old.name}, version {old.version}",
        f"蓝图重载被拒绝：{reason_zh}。继续使用当前蓝图：{old.name}（版本 {old.version}）",
    )


def install_sighup(app: FastAPI) -> bool:
    """``SIGHUP`` reloads the blueprint (as the reload endpoint does); False where signals cannot be
    caught (not the main thread, as under a test client, or no SIGHUP on this platform)."""
    loop = asyncio.get_running_loop()

    def on_hup() -> None:
        task = loop.create_task(reload_blueprint(app, via="SIGHUP"))
        task.add_done_callback(_log_failure)
        app.state.sighup_task = task  # keep a reference until it is done

    try:
        loop.add_signal_handler(signal.SIGHUP, on_hup)
    except (AttributeError, NotImplementedError, RuntimeError, ValueError):
        return False
    return True


def _log_failure(task: asyncio.Task[ReloadResult]) -> None:
    """A refused reload has been logged by ``reload_blueprint`` (as for a request); anything else is logged here."""
    if task.cancelled():
        return
    exc = task.exception()
    if exc is not None and not isinstance(exc, ReloadRefusedError):
        log.error("SIGHUP reload failed; the previous blueprint stays in service: %s", exc, exc_info=exc)
