"""HTML pages: the map viewer at ``/`` (built once at start-up), the sign-in form and sign-out.

Signing in trades the API key, once, for a random server-side session id in an
``HttpOnly``, ``SameSite=Strict`` cookie (``Secure`` behind HTTPS); the key is not
kept by the browser, and sign-out ends the session on the server.
"""

from __future__ import annotations

import asyncio
import html
import time
from functools import partial
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from api.access import close_session, open_session
from api.compression import Packed
from api.deps import (
    SESSION_COOKIE,
    EngineDep,
    SettingsDep,
    check_not_cross_site,
    get_blueprint,
    resolve_principal,
)
from api.errors import AuthenticationError
from api.jsonbody import JSONRoute
from api.keys import authenticate
from api.settings import Settings
from geo.blueprint import Blueprint
from geo.forked import CAN_FORK, run_forked
from geo.maps import DECLUTTER_JS, SYMBOLS_JS, Verbatim, add_script, blueprint_map, html_text, map_html, page
from geo.vocabulary import project_types

router = APIRouter(route_class=JSONRoute, tags=["pages"], include_in_schema=False)
STATIC = Path(__file__).resolve().parent.parent / "static"

LOGIN = """<!DOCTYPE html><html lang="zh-CN"><head><meta charset="utf-8">
<title>lantu 蓝图 · 登录</title></head>
<body style="font-family:sans-serif;max-width:30em;margin:4em auto">
<h1>lantu 蓝图</h1><p>请输入 API 密钥 / Enter your API key.</p>{error}
<form method="post" action="/login"><input name="key" type="password" size="50" autofocus autocomplete="off">
<button type="submit">登录 Sign in</button></form></body></html>"""


def build_viewer(blueprint: Blueprint, settings: Settings) -> str:
    """The viewer page with the whole blueprint on it: built once, at start-up (it costs seconds on a city)."""
    fmap = blueprint_map(
        blueprint, tiles=settings.tiles, tianditu_key=settings.tianditu_key, assets="/static/leaflet", by_view=True
    )
    root = page(fmap)
    root.header.add_child(Verbatim(f"<title>lantu 蓝图 · {html_text(blueprint.name)}</title>"))  # not a template
    root.header.add_child(Verbatim('<link rel="stylesheet" href="/static/app/viewer.css">'))
    panel = (STATIC / "viewer.html").read_text(encoding="utf-8").replace("<!--project-types-->", _type_options())
    root.html.add_child(Verbatim(panel))
    demo = str(settings.open_demo).lower()
    add_script(fmap, f"window.lantuMap = {fmap.get_name()}; window.lantuOpenDemo = {demo};")
    # the viewer's results (viewer.js) read like the result map: the same symbols and label placement
    add_script(fmap, f"window.lantuSymbolsWhenSmall = {SYMBOLS_JS}; window.lantuDeclutter = {DECLUTTER_JS};")
    add_script(fmap, (STATIC / "viewer.js").read_text(encoding="utf-8"))
    return map_html(fmap)


VIEWER_BUILD_S = 1800.0  # a child building the viewer past this is stopped (a city's took 15 s here)


def viewer_page(blueprint: Blueprint, settings: Settings) -> Packed:
    """The viewer page, and its gzip: compressed once (a city's is some 33 MB), not on every GET /. Built in a
    child forked for it where the OS forks: folium writes a city's page in Python for some 15 s, and in the
    server's own process that held the GIL from the reviews in stretches (one waited 4.4 s)."""
    build = partial(_packed_viewer, blueprint, settings)
    return run_forked(build, deadline=time.monotonic() + VIEWER_BUILD_S) if CAN_FORK else build()


def _packed_viewer(blueprint: Blueprint, settings: Settings) -> Packed:
    return Packed.of(build_viewer(blueprint, settings).encode())


def _type_options(selected: str = "industrial") -> str:
    """The closed list of project types (``layers/vocabulary.yaml``) as the form's options."""
    return "".join(
        f'<option value="{html.escape(t.id)}"{" selected" if t.id == selected else ""}>'
        f"{html.escape(t.name_zh)} {html.escape(t.id)}</option>"
        for t in project_types().values()
    )


@router.get("/", response_class=HTMLResponse)
async def viewer(request: Request, settings: SettingsDep, engine: EngineDep) -> Response:
    try:
        await run_in_threadpool(resolve_principal, request, settings, engine, None)
    except AuthenticationError:
        return HTMLResponse(LOGIN.format(error=""), status_code=401)
    await get_blueprint(request)  # 503 without one
    built: asyncio.Future[Packed] = request.app.state.viewer  # started in the lifespan
    viewer = await asyncio.shield(built)
    return viewer.response(request, "text/html; charset=utf-8", headers={"Cache-Control": "no-store"})


def _secure(request: Request, settings: Settings) -> bool:
    return settings.cookie_secure if settings.cookie_secure is not None else request.url.scheme == "https"


# the longest key the form takes, as before (a created key is ``lantu_`` and 43 characters, a provisioned one the
# operator's own): a longer one is refused on the page before it is hashed
MAX_KEY_CHARS = 200


def _sign_in_again(exc: AuthenticationError) -> HTMLResponse:
    """The sign-in page again with why the key was not taken, in both languages (401, as for no session)."""
    said = f"{html.escape(exc.message_zh)} / {html.escape(exc.message_en)}"
    return HTMLResponse(LOGIN.format(error=f"<p role='alert' style='color:#c62828'>{said}</p>"), status_code=401)


@router.post("/login", response_model=None)
def login(
    request: Request, engine: EngineDep, settings: SettingsDep, key: Annotated[str | None, Form()] = None
) -> HTMLResponse | RedirectResponse:
    """Trade a key for a session. Every key refused, an empty one too, answers the page with the reason, never
    a JSON problem a browser would show raw; blanks around a pasted key are dropped (as around a header's)."""
    check_not_cross_site(request, required=False)
    given = (key or "").strip()
    try:
        if not given:
            raise AuthenticationError(
                "no API key was entered: enter your key, then sign in", "未填写 API 密钥，请输入后再登录"
            )
        if len(given) > MAX_KEY_CHARS:
            raise AuthenticationError(
                f"that is not an API key: a key has at most {MAX_KEY_CHARS} characters",
                f"这不是 API 密钥：密钥最多 {MAX_KEY_CHARS} 个字符",
            )
        principal = authenticate(engine, given)
    except AuthenticationError as exc:
        return _sign_in_again(exc)
    session_id = open_session(engine, principal, hours=settings.session_hours)
    response = RedirectResponse("/", status_code=303)
    response.set_cookie(
        SESSION_COOKIE,
        session_id,
        httponly=True,
        samesite="strict",
        secure=_secure(request, settings),
        max_age=int(settings.session_hours * 3600),
        path="/",
    )
    return response


@router.post("/logout")
def logout(request: Request, engine: EngineDep, settings: SettingsDep) -> Response:
    check_not_cross_site(request, required=False)
    session_id = request.cookies.get(SESSION_COOKIE)
    if session_id:
        close_session(engine, session_id)
    response = RedirectResponse("/", status_code=303)
    response.delete_cookie(
        SESSION_COOKIE, path="/", httponly=True, samesite="strict", secure=_secure(request, settings)
    )
    return response
