"""``/docs``: Swagger UI served from the service itself (PyPI ``swagger-ui-bundle``), with SRI.

Nothing is loaded from a CDN, so the page works with no internet and the CSP can
keep ``script-src 'self'``. Without the package, ``/docs`` says how to get it and
links the OpenAPI document.
"""

from __future__ import annotations

import base64
import hashlib
import html
from pathlib import Path

from fastapi import APIRouter, FastAPI
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

STATIC = Path(__file__).parent / "static"
ASSETS = "/static/swagger"


def swagger_dir() -> Path | None:
    try:
        import swagger_ui_bundle
    except ImportError:
        return None
    folder = Path(swagger_ui_bundle.swagger_ui_path)
    return folder if (folder / "swagger-ui-bundle.js").is_file() else None


def sri(path: Path) -> str:
    return "sha384-" + base64.b64encode(hashlib.sha384(path.read_bytes()).digest()).decode()


def docs_page(folder: Path | None, title: str) -> str:
    if folder is None:
        return (
            f"<!DOCTYPE html><html lang='zh-CN'><head><meta charset='utf-8'><title>{html.escape(title)}</title>"
            "</head><body><h1>API</h1><p>本地 Swagger UI 未安装（pip install swagger-ui-bundle）/ the local "
            "Swagger UI is not installed. The API is described by <a href='/openapi.json'>/openapi.json</a>.</p>"
            "</body></html>"
        )
    css, bundle, preset = (
        folder / n for n in ("swagger-ui.css", "swagger-ui-bundle.js", "swagger-ui-standalone-preset.js")
    )
    init = STATIC / "docs.js"
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}</title>
<link rel="stylesheet" href="{ASSETS}/swagger-ui.css" integrity="{sri(css)}">
</head><body><div id="swagger-ui"></div>
<script src="{ASSETS}/swagger-ui-bundle.js" integrity="{sri(bundle)}"></script>
<script src="{ASSETS}/swagger-ui-standalone-preset.js" integrity="{sri(preset)}"></script>
<script src="/static/app/docs.js" integrity="{sri(init)}"></script>
</body></html>"""


def install(app: FastAPI) -> None:
    """Mount the assets and the ``/docs`` page (built once, here)."""
    folder = swagger_dir()
    if folder is not None:
        app.mount(ASSETS, StaticFiles(directory=folder), name="swagger")
    page = docs_page(folder, f"{app.title} · API")
    router = APIRouter(include_in_schema=False)

    @router.get("/docs", response_class=HTMLResponse)
    def docs() -> HTMLResponse:
        return HTMLResponse(page)

    app.include_router(router)
