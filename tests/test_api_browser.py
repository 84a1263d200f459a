"""The viewer with API keys, in a real headless Chromium: sign in, review, sign out.

The browser never holds the key: the sign-in form trades it for a session cookie,
the viewer's POST goes out with that cookie and the page's own Origin, and a page
on another origin cannot use the session.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from support import review_drawn_square

from api.app import create_app
from api.keys import create_key, ensure_schema
from api.server import uvicorn_config
from api.settings import Settings
from geo.db import make_engine, migrate


@pytest.fixture(scope="module")
def keyed_server(blueprint_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:
    db = tmp_path_factory.mktemp("keyed") / "lantu.db"
    settings = Settings(blueprint=blueprint_dir, database_url=f"sqlite:///{db}", tiles="none")
    engine = make_engine(settings.database_url)
    migrate(engine)
    ensure_schema(engine)
    key = create_key(engine, "browser-planner", "planner")
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))  # the server binds port 0 itself: no free-port race
    port = sock.getsockname()[1]
    config = {**uvicorn_config(settings), "log_level": "warning"}
    config.pop("host")
    config.pop("port")
    server = uvicorn.Server(uvicorn.Config(create_app(settings), **config))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}", key
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()


def test_sign_in_review_and_sign_out(keyed_server: tuple[str, str], browser: Any) -> None:
    base, key = keyed_server
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto(base + "/")
    page.fill("input[name=key]", key)
    page.click("button[type=submit]")
    page.wait_for_selector(".leaflet-container")
    cookies = {c["name"]: c for c in context.cookies()}
    assert cookies["lantu_session"]["httpOnly"] and cookies["lantu_session"]["sameSite"] == "Strict"
    assert key not in cookies["lantu_session"]["value"]
    assert page.evaluate("Object.keys(sessionStorage).length + Object.keys(localStorage).length") == 0
    assert "地块 W1" in review_drawn_square(page)
    rid = page.evaluate("window.lantuLastReview.review_id")
    # the session reads its own review; script cannot read the cookie
    assert page.evaluate(f"fetch('/api/v1/reviews/{rid}').then(r => r.status)") == 200
    assert "lantu_session" not in page.evaluate("document.cookie")
    page.click("#lantu-logout button")
    page.wait_for_selector("input[name=key]")
    assert page.evaluate(f"fetch('/api/v1/reviews/{rid}').then(r => r.status)") == 401
    assert errors == []
    context.close()
