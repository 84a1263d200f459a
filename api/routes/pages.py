"""HTML pages: the map viewer at ``/`` (with a key form when a key is needed)."""

from __future__ import annotations

import html
from pathlib import Path
from typing import Annotated

from branca.element import Element
from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse

from api.deps import EngineDep, SettingsDep, get_blueprint, get_principal
from api.errors import AuthenticationError
from api.keys import authenticate
from geo.maps import add_script, blueprint_map, map_html, page

router = APIRouter(tags=["pages"], include_in_schema=False)
STATIC = Path(__file__).resolve().parent.parent / "static"
COOKIE = "lantu_key"

LOGIN = """<!DOCTYPE html><html lang="zh-CN"><head><meta charset="utf-8">
<title>lantu 蓝图 · 登录</title></head>
<body style="font-family:sans-serif;max-width:30em;margin:4em auto">
<h1>lantu 蓝图</h1><p>请输入 API 密钥 / Enter your API key.</p>{error}
<form method="post" action="/login"><input name="key" type="password" size="50" autofocus>
<button type="submit">登录 Sign in</button></form></body></html>"""


@router.get("/", response_class=HTMLResponse)
def viewer(request: Request, settings: SettingsDep, engine: EngineDep) -> HTMLResponse:
    try:
        get_principal(settings, engine, x_api_key=request.cookies.get(COOKIE))
    except AuthenticationError:
        return HTMLResponse(LOGIN.format(error=""), status_code=401)
    blueprint = get_blueprint(request)
    fmap = blueprint_map(blueprint, tiles=settings.tiles, tianditu_key=settings.tianditu_key, assets="/static/leaflet")
    root = page(fmap)
    root.header.add_child(Element(f"<title>lantu 蓝图 · {html.escape(blueprint.name)}</title>"))
    root.header.add_child(Element('<link rel="stylesheet" href="/static/app/viewer.css">'))
    root.html.add_child(Element((STATIC / "viewer.html").read_text(encoding="utf-8")))
    demo = str(settings.open_demo).lower()
    add_script(fmap, f"window.lantuMap = {fmap.get_name()}; window.lantuOpenDemo = {demo};")
    add_script(fmap, (STATIC / "viewer.js").read_text(encoding="utf-8"))
    return HTMLResponse(map_html(fmap))


@router.post("/login", response_model=None)
def login(key: Annotated[str, Form(max_length=200)], engine: EngineDep) -> HTMLResponse | RedirectResponse:
    try:
        authenticate(engine, key)
    except AuthenticationError as exc:
        return HTMLResponse(
            LOGIN.format(error=f"<p style='color:#c62828'>{html.escape(exc.message_zh)}</p>"), status_code=401
        )
    response = RedirectResponse("/", status_code=303)
    response.set_cookie(COOKIE, key, httponly=True, samesite="strict", max_age=8 * 3600)
    return response
