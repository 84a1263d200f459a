"""``/docs`` and ``/redoc``: Swagger UI 5 and ReDoc served from the service itself, with SRI.

Both come from the PyPI package ``fastapi-offline`` (its ``static/`` folder, used as data,
never imported): Swagger UI 5 reads the OpenAPI 3.1 document FastAPI writes (the
``swagger-ui-bundle`` 4 copy could not: "does not specify a valid version field").
Nothing is loaded from a CDN, so the pages work with no internet and the CSP keeps
``script-src 'self'``. Without the package, the pages say how to get it and link the
OpenAPI document.
"""

from __future__ import annotations

import base64
import hashlib
import html
import importlib.util
from pathlib import Path

from fastapi import APIRouter, FastAPI
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

STATIC = Path(__file__).parent / "static"
ASSETS = "/static/swagger"  # Swagger UI's and ReDoc's files


def assets_dir() -> Path | None:
    """``fastapi_offline/static`` (swagger-ui-bundle.js, swagger-ui.css, redoc.standalone.js), or None."""
    spec = importlib.util.find_spec("fastapi_offline")
    if spec is None or not spec.submodule_search_locations:
        return None
    folder = Path(next(iter(spec.submodule_search_locations))) / "static"
    wanted = ("swagger-ui-bundle.js", "swagger-ui.css", "redoc.standalone.js")
    return folder if all((folder / n).is_file() for n in wanted) else None


def sri(path: Path) -> str:
    return "sha384-" + base64.b64encode(hashlib.sha384(path.read_bytes()).digest()).decode()


def _missing(title: str) -> str:
    return (
        f"<!DOCTYPE html><html lang='zh-CN'><head><meta charset='utf-8'><title>{html.escape(title)}</title>"
        "</head><body><h1>API</h1><p>本地 API 文档资源未安装（pip install fastapi-offline）/ the local "
        "API documentation assets are not installed. The API is described by "
        "<a href='/openapi.json'>/openapi.json</a>.</p></body></html>"
    )


def docs_page(folder: Path | None, title: str) -> str:
    if folder is None:
        return _missing(title)
    init = STATIC / "docs.js"
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="stylesheet" href="{ASSETS}/swagger-ui.css" integrity="{sri(folder / "swagger-ui.css")}">
</head><body><div id="swagger-ui"></div>
<script src="{ASSETS}/swagger-ui-bundle.js" integrity="{sri(folder / "swagger-ui-bundle.js")}"></script>
<script src="/static/app/docs.js" integrity="{sri(init)}"></script>
</body></html>"""


def redoc_page(folder: Path | None, title: str) -> str:
    if folder is None:
        return _missing(title)
    init = STATIC / "redoc.js"
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
</head><body style="margin:0"><div id="redoc"></div>
<script src="{ASSETS}/redoc.standalone.js" integrity="{sri(folder / "redoc.standalone.js")}"></script>
<script src="/static/app/redoc.js" integrity="{sri(init)}"></script>
</body></html>"""


def install(app: FastAPI) -> None:
    """Mount the assets and the ``/docs`` and ``/redoc`` pages (built once, here)."""
    folder = assets_dir()
    if folder is not None:
        app.mount(ASSETS, StaticFiles(directory=folder), name="swagger")
    swagger = docs_page(folder, f"{app.title} · API")
    redoc = redoc_page(folder, f"{app.title} · API (ReDoc)")
    router = APIRouter(include_in_schema=False)

    @router.get("/docs", response_class=HTMLResponse)
    def docs() -> HTMLResponse:
        return HTMLResponse(swagger)

    @router.get("/redoc", response_class=HTMLResponse)
    def redoc_docs() -> HTMLResponse:
        return HTMLResponse(redoc)

    app.include_router(router)
