"""The viewer with API keys, in a real headless Chromium: sign in, review, sign out.

The browser never holds the key: the sign-in form trades it for a session cookie,
the viewer's POST goes out with that cookie and the page's own Origin, and a page
on another origin cannot use the session.
"""

from __future__ import annotations

import json
import re
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from pyproj import Transformer
from support import EPSG, X0, Y0, parcel_frame, rect, review_drawn_square, screenshot, served

import geo.maps as maps
from api.keys import create_key, ensure_schema
from api.settings import Settings
from geo.blueprint import load_blueprint
from geo.catalog import landuse_classes
from geo.db import make_engine, migrate
from geo.demo import build_demo_blueprint
from geo.io import read_parcels
from geo.maps import map_html, review_map
from geo.review import review
from geo.vocabulary import STATUS_ZH


@pytest.fixture(scope="module")
def keyed_server(blueprint_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:
    db = tmp_path_factory.mktemp("keyed") / "lantu.db"
    settings = Settings(blueprint=blueprint_dir, database_url=f"sqlite:///{db}", tiles="none")
    engine = make_engine(settings.database_url)
    migrate(engine)
    ensure_schema(engine)
    key = create_key(engine, "browser-planner", "planner")
    with served(settings) as url:
        yield url, key


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


# --- the review map, the viewer and the docs, as a planner sees them (open demo, outside requests refused) ---


@pytest.fixture(scope="module")
def demo_server(blueprint_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The service in open demo mode in a thread (tiles "auto" without a key: the offline base)."""
    db = tmp_path_factory.mktemp("demo-browser") / "lantu.db"
    settings = Settings(blueprint=blueprint_dir, database_url=f"sqlite:///{db}", open_demo=True)
    with served(settings) as url:
        yield url


class Watched:
    """A page whose script errors, console errors and requests off the service are recorded (and refused)."""

    def __init__(self, context: Any, base: str) -> None:
        self.page = context.new_page()
        self.errors: list[str] = []
        self.outside: list[str] = []
        self.watch(self.page)
        context.route("**/*", self._gate(base))

    def watch(self, page: Any) -> None:
        page.on("pageerror", lambda exc: self.errors.append(str(exc)))
        page.on("console", lambda msg: self.errors.append(msg.text) if msg.type == "error" else None)

    def _gate(self, base: str) -> Any:
        def gate(route: Any) -> None:
            url = route.request.url
            if url.startswith((base, "data:", "blob:")):
                route.continue_()
            else:
                self.outside.append(url)
                route.abort()

        return gate


def _post_review(base: str, features: list[dict[str, Any]], query: str = "") -> dict[str, Any]:
    body = json.dumps({"type": "FeatureCollection", "features": features}).encode()
    request = urllib.request.Request(
        f"{base}/api/v1/reviews{query}", data=body, method="POST", headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=60) as r:
        return dict(json.loads(r.read()))


def _feature(geom: Any, **props: Any) -> dict[str, Any]:
    return dict(json.loads(parcel_frame(geom, **props).to_crs(4490).to_json(drop_id=True))["features"][0])


def _lonlat(x_km: float, y_km: float) -> tuple[float, float]:
    lon, lat = Transformer.from_crs(EPSG, 4490, always_xy=True).transform(X0 + x_km * 1000, Y0 + y_km * 1000)
    return float(lon), float(lat)


MAP = "Object.values(window).find(v => v instanceof L.Map)"
OVERLAYS = (
    "[...document.querySelectorAll('.leaflet-control-layers-overlays label span')].map(s => s.textContent.trim())"
)
LEGEND_LAYERS = "[...document.querySelectorAll('#lantu-legend [data-layer]')].map(e => e.textContent.trim())"


# lines each 结果 cell's text takes (one rectangle per line box)
LINES_PER_STATUS = """[...document.querySelectorAll('#lantu-result td.st')].map(td => {
    const r = document.createRange(); r.selectNodeContents(td); return r.getClientRects().length; })"""


def _box(page: Any, selector: str) -> dict[str, float]:
    return dict(page.locator(selector).first.bounding_box())


def _overlap(a: dict[str, float], b: dict[str, float]) -> bool:
    return not (
        a["x"] + a["width"] <= b["x"]
        or b["x"] + b["width"] <= a["x"]
        or a["y"] + a["height"] <= b["y"]
        or b["y"] + b["height"] <= a["y"]
    )


def _top_at(page: Any, selector: str) -> bool:
    """Whether the element under the centre of ``selector`` is that element (or inside it): nothing covers it."""
    return bool(
        page.evaluate(
            """sel => { const e = document.querySelector(sel), r = e.getBoundingClientRect();
            const hit = document.elementFromPoint(r.x + r.width / 2, r.y + r.height / 2);
            return e === hit || e.contains(hit); }""",
            selector,
        )
    )


def test_review_map_reads_like_a_map(demo_server: str, browser: Any) -> None:
    """Fail over warn, a legend entry per layer, a metric scale nothing covers, labels and symbols, an
    offline base and no request off the service."""
    result = _post_review(
        demo_server,
        [_feature(rect(2.9, 0.1, 3.1, 0.3), id="B"), _feature(rect(0.50, 0.50, 0.52, 0.52), id="b[red]x")],
    )
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    watched = Watched(context, demo_server)
    page = watched.page
    page.goto(f"{demo_server}/api/v1/reviews/{result['review_id']}/map")
    page.wait_for_selector("#lantu-legend")
    page.wait_for_timeout(500)  # the opening zoom's animation
    page.screenshot(path=str(screenshot("review-map-desktop.png")))
    # at (3.05, 0.2) km basic farmland (fail) lies on cultivated land (warn): the failing piece is on top
    lon, lat = _lonlat(3.05, 0.2)
    page.evaluate(f"{MAP}.setView([{lat}, {lon}], 16)")
    page.wait_for_timeout(300)
    top = page.evaluate(
        f"""() => {{ const map = {MAP}, p = map.latLngToContainerPoint([{lat}, {lon}]),
        r = map.getContainer().getBoundingClientRect(), e = document.elementFromPoint(r.x + p.x, r.y + p.y);
        return e ? e.getAttribute('class') : null; }}"""
    )
    assert "lantu-piece-fail" in top, top
    assert page.locator(".lantu-piece-warn").count() >= 1
    # every blueprint layer in the layer control has its colour in the legend
    overlays = set(page.evaluate(OVERLAYS)) - {"冲突图斑（按审查结果着色）", "审查地块（编号）"}
    assert overlays and overlays <= set(page.evaluate(LEGEND_LAYERS)), overlays
    assert page.locator("#lantu-legend [data-status='fail']").count() == 1
    # a metric scale only, and the legend stacked above it
    assert page.locator(".leaflet-control-scale-line").count() == 1
    assert page.locator(".leaflet-control-scale-line").inner_text().endswith(("m", "km"))
    assert not _overlap(_box(page, "#lantu-legend"), _box(page, ".leaflet-control-scale"))
    assert _top_at(page, ".leaflet-control-scale-line")
    # ids as labels, shown as text; at county zoom the small parcel keeps a symbol, not a dot
    assert sorted(page.locator(".lantu-label").all_inner_texts()) == ["B", "b[red]x"]
    page.evaluate(f"{MAP}.setZoom(11, {{animate: false}})")
    page.wait_for_timeout(300)
    assert page.locator(".lantu-symbol-shown").count() == 2
    assert min(b["width"] for b in (e.bounding_box() for e in page.locator(".lantu-symbol-shown").all())) >= 10
    page.screenshot(path=str(screenshot("review-map-county-zoom.png")))
    assert page.locator(".leaflet-tile").count() == 0 and page.locator(".leaflet-lantu-base-pane path").count() >= 2
    phone = context.new_page()
    watched.watch(phone)
    phone.set_viewport_size({"width": 390, "height": 844})
    phone.goto(f"{demo_server}/api/v1/reviews/{result['review_id']}/map")
    phone.wait_for_selector("#lantu-legend")
    assert _top_at(phone, ".leaflet-control-zoom-in") and _top_at(phone, ".leaflet-control-scale-line")
    phone.wait_for_timeout(500)
    phone.screenshot(path=str(screenshot("review-map-phone.png")))
    assert watched.errors == [] and watched.outside == []
    context.close()


@pytest.fixture(scope="module")
def demo_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo blueprint as ``./dev demo`` builds it, its 31 parcels beside it (``parcels.geojson``)."""
    return build_demo_blueprint(tmp_path_factory.mktemp("demo-map") / "bp")


@pytest.fixture(scope="module")
def demo_map(demo_root: Path) -> Path:
    """The demo's map as ``./dev demo`` writes it: the demo blueprint's parcels (31), reviewed, one file."""
    demo = load_blueprint(demo_root)
    path = demo_root / "map.html"
    parcels = read_parcels(demo_root / "parcels.geojson")
    path.write_text(map_html(review_map(review(parcels, demo), demo)), encoding="utf-8")
    return path


# every parcel label: its id, whether it shows, its box on screen; the boxes of the symbols shown
LABELS = """() => [...document.querySelectorAll('.lantu-label')].map(e => { const r = e.getBoundingClientRect();
    return {id: e.textContent, shown: getComputedStyle(e).visibility !== 'hidden',
            x: r.x, y: r.y, width: r.width, height: r.height}; })"""
SYMBOLS = """() => [...document.querySelectorAll('.lantu-symbol-shown')].map(e => {
    const r = e.getBoundingClientRect(); return {x: r.x, y: r.y, width: r.width, height: r.height}; })"""
# a label hidden at this zoom: its id and a point that nothing covers of the layer it labels (the result map's
# symbol; the viewer's parcel: its outline and pieces, a pixel or two wide at that zoom: their strokes too)
HIDDEN_LABEL_SPOT = f"""() => {{ let spot = null; {MAP}.eachLayer(l => {{
    const t = l.getTooltip && l.getTooltip();
    if (spot || !t || !t.getElement() || !t.getElement().classList.contains('lantu-label-hidden')) return;
    const paths = x => x.getElement ? [x.getElement()] : x.getLayers().flatMap(paths), own = paths(l);
    for (const e of own) {{ const r = e.getBoundingClientRect();
        for (let x = r.left - 2; x < r.right + 2 && !spot; x += 2)
            for (let y = r.top - 2; y < r.bottom + 2 && !spot; y += 2)
                if (own.includes(document.elementFromPoint(x, y))) spot = {{id: t.getElement().textContent, x, y}};
    }} }}); return spot; }}"""


def _shown_labels(page: Any) -> tuple[list[dict[str, Any]], list[tuple[str, str]]]:
    """The labels shown and the pairs of them whose boxes overlap."""
    shown = [b for b in page.evaluate(LABELS) if b["shown"]]
    return shown, [(a["id"], b["id"]) for k, a in enumerate(shown) for b in shown[k + 1 :] if _overlap(a, b)]


def _labels_on_symbols(page: Any, shown: list[dict[str, Any]]) -> list[tuple[str, dict[str, float]]]:
    """The labels among ``shown`` that cover a symbol shown, with its box."""
    return [(b["id"], s) for b in shown for s in page.evaluate(SYMBOLS) if _overlap(b, s)]


def _hover_shows(page: Any, spot: dict[str, Any]) -> None:
    """The hidden label of :data:`HIDDEN_LABEL_SPOT` shows while the pointer is on its layer, not once it leaves."""
    page.mouse.move(spot["x"], spot["y"])
    assert spot["id"] in [b["id"] for b in _shown_labels(page)[0]]
    page.mouse.move(5, 400)
    assert spot["id"] not in [b["id"] for b in _shown_labels(page)[0]]


def test_demo_map_labels_do_not_overlap(demo_map: Path, browser: Any) -> None:
    """At the demo map's opening zoom 15 pairs of the 29 parcel labels overlapped: now none does, nor covers a
    symbol; most are shown and each hidden one shows while the pointer is on its symbol, or once zoomed in."""
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    watched = Watched(context, "file://")
    page = watched.page
    page.goto(demo_map.as_uri())
    page.wait_for_selector("#lantu-legend")
    page.wait_for_timeout(500)  # the opening zoom's animation
    page.wait_for_function(MAP_IDLE)
    assert page.locator(".lantu-label").count() == 31
    shown, overlapping = _shown_labels(page)
    page.screenshot(path=str(screenshot("demo-map-labels.png")))
    assert overlapping == []
    assert len(shown) >= 22, [b["id"] for b in shown]  # decluttered, not emptied: three in four at least
    assert page.evaluate(SYMBOLS) and _labels_on_symbols(page, shown) == []
    # a hidden label shows while the pointer is on its symbol (where no conflict piece lies over it)
    spot = page.evaluate(HIDDEN_LABEL_SPOT)
    if spot is not None:
        _hover_shows(page, spot)
    page.evaluate(f"{MAP}.setZoom({MAP}.getZoom() + 3, {{animate: false}})")
    page.wait_for_function(MAP_IDLE)
    shown, overlapping = _shown_labels(page)
    assert len(shown) == 31 and overlapping == []
    assert watched.errors == [] and watched.outside == []
    context.close()


@pytest.fixture(scope="module")
def demo_blueprint_server(demo_root: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The service over the demo blueprint in open demo mode: the viewer a planner uploads the demo's parcels to."""
    db = tmp_path_factory.mktemp("demo-viewer") / "lantu.db"
    with served(Settings(blueprint=demo_root, database_url=f"sqlite:///{db}", open_demo=True)) as url:
        yield url


LABEL_COUNT = "n => document.querySelectorAll('.lantu-label').length === n"
# the labels shown whose centre something covers other than themselves, the panel or a map control (a
# tooltip lets the pointer through: it is hit-tested as painted for the while)
COVERED_LABELS = """() => [...document.querySelectorAll('.lantu-label')].filter(e => {
    if (getComputedStyle(e).visibility === 'hidden') return false;
    e.style.pointerEvents = 'auto';
    const r = e.getBoundingClientRect(), hit = document.elementFromPoint(r.x + r.width / 2, r.y + r.height / 2);
    e.style.pointerEvents = '';
    return hit && !e.contains(hit) && !hit.closest('#lantu-panel, .leaflet-control'); }).map(e => e.textContent)"""


def _review_demo_parcels(page: Any, demo_root: Path) -> None:
    """The demo's 31 parcels uploaded to the viewer and reviewed, the map at rest at the zoom it fits them to."""
    page.set_input_files("#lantu-file", str(demo_root / "parcels.geojson"))
    page.evaluate("window.lantuLastReview = null")
    page.click("#lantu-review")
    page.wait_for_function("() => window.lantuLastReview !== null", timeout=60_000)
    page.wait_for_function(MAP_IDLE)  # the result's fitBounds
    page.wait_for_function(LABEL_COUNT, arg=31)  # the last result's labels fade out (200 ms)


def test_viewer_labels_do_not_overlap(demo_blueprint_server: str, demo_root: Path, browser: Any) -> None:
    """The demo's 31 parcels uploaded to the viewer: at the zoom it fits to their labels piled on one another
    (15 pairs overlapped); now they are placed as on the result map (``lantuDeclutter``, the same function):
    none overlaps, each reads above the conflict pieces, a hidden one shows while the pointer is on its parcel
    and all show once zoomed in; a second review replaces them."""
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    watched = Watched(context, demo_blueprint_server)
    page = watched.page
    page.goto(demo_blueprint_server + "/")
    page.wait_for_selector("#lantu-panel")
    for _ in range(2):
        _review_demo_parcels(page, demo_root)
        shown, overlapping = _shown_labels(page)
        assert overlapping == []
        assert len(shown) >= 22, [b["id"] for b in shown]  # decluttered, not emptied: three in four at least
        assert page.evaluate(COVERED_LABELS) == []
    assert len({v for p in page.evaluate("window.lantuLastReview.parcels") for v in [p["verdict"]]}) >= 2
    page.screenshot(path=str(screenshot("viewer-many-parcels.png")))
    spot = page.evaluate(HIDDEN_LABEL_SPOT)
    assert spot is not None  # two in 31 are hidden at this zoom
    _hover_shows(page, spot)
    page.evaluate(f"void {MAP}.setZoom({MAP}.getZoom() + 3, {{animate: false}})")
    page.wait_for_function(MAP_IDLE)
    shown, overlapping = _shown_labels(page)
    assert len(shown) == 31 and overlapping == []
    page.click("#lantu-clear")
    page.wait_for_function(LABEL_COUNT, arg=0)
    page.evaluate(f"void {MAP}.setZoom({MAP}.getZoom() - 1, {{animate: false}})")  # no placement left running
    assert watched.errors == [] and watched.outside == []
    context.close()


# per parcel of the viewer's result: its id, whether its label and its symbol show, its outline's box and the
# symbol's centre on screen (if drawn) and a point of it nothing covers (pieces lie above it), whether the pointer goes
# through the symbol, whether the label is anchored on the symbol
VIEWER_PARCELS = f"""() => {{ const map = {MAP}, c = map.getContainer().getBoundingClientRect(), out = [];
    map.eachLayer(l => {{
        const symbol = l instanceof L.FeatureGroup && l.getLayers().find(x => x instanceof L.CircleMarker);
        if (!symbol || !l.getTooltip()) return;
        const [sw, ne] = ['getSouthWest', 'getNorthEast'].map(f =>
            map.latLngToContainerPoint(l.getLayers().find(x => x instanceof L.Polygon).getBounds()[f]()));
        const e = symbol.getElement(), r = e.getBoundingClientRect(), x = r.x + r.width / 2, y = r.y + r.height / 2;
        const label = l.getTooltip().getElement(), spot = [[0, 0], [0, 4], [0, -4], [4, 0], [-4, 0]]
            .map(([dx, dy]) => ({{x: x + dx, y: y + dy}})).find(q => document.elementFromPoint(q.x, q.y) === e);
        out.push({{id: label.textContent, label: getComputedStyle(label).visibility !== 'hidden',
            symbol: e.classList.contains('lantu-symbol-shown'), through: getComputedStyle(e).pointerEvents === 'none',
            drawn: r.width > 0, spot: spot || null,
            left: c.x + sw.x, right: c.x + ne.x, top: c.y + ne.y, bottom: c.y + sw.y, x, y,
            anchored: l.getTooltip().getLatLng().equals(symbol.getLatLng())}}); }});
    return out; }}"""
# whether the heading of a parcel's findings (``地块 <id>``) lies within the panel's visible part
FINDINGS_IN_VIEW = """id => { const panel = document.getElementById('lantu-panel').getBoundingClientRect();
    const b = [...document.querySelectorAll('#lantu-result p b')].find(b => b.textContent === '地块 ' + id);
    const r = b.getBoundingClientRect(); return r.top >= panel.top && r.bottom <= panel.bottom; }"""


def _symbols_where_small(page: Any) -> list[dict[str, Any]]:
    """The viewer's result parcels, each symbol shown exactly while its parcel is under 14 px on screen and
    then inside the parcel's box (hidden, it lets the pointer through to the parcel); every label anchored on
    its symbol."""
    parcels = page.evaluate(VIEWER_PARCELS)
    assert len(parcels) == 31 and all(p["anchored"] for p in parcels)
    for p in parcels:
        assert p["symbol"] == (max(p["right"] - p["left"], p["bottom"] - p["top"]) < 14) != p["through"], p
        if p["symbol"] and p["drawn"]:  # Leaflet draws nothing off the map
            assert p["left"] - 0.5 <= p["x"] <= p["right"] + 0.5 and p["top"] - 0.5 <= p["y"] <= p["bottom"] + 0.5, p
    return list(parcels)


def test_viewer_draws_small_parcels_as_symbols(demo_blueprint_server: str, demo_root: Path, browser: Any) -> None:
    """At the zoom the viewer fits the demo's 31 parcels to, most were a pixel or two wide, hard to see, hover or
    click: each now has the result map's symbol (``lantuSymbolsWhenSmall``, the same function) while it is under
    14 px, its label beside it; labels cover neither one another nor a symbol, the pointer on a symbol shows a
    hidden label, a click brings its findings into the panel, and zoomed in the parcels drawn large lose theirs."""
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    watched = Watched(context, demo_blueprint_server)
    page = watched.page
    page.goto(demo_blueprint_server + "/")
    page.wait_for_selector("#lantu-panel")
    _review_demo_parcels(page, demo_root)
    page.screenshot(path=str(screenshot("viewer-parcel-symbols.png")))
    parcels = _symbols_where_small(page)
    assert sum(p["symbol"] and p["drawn"] for p in parcels) >= 25, parcels  # most are dots at this zoom
    shown, overlapping = _shown_labels(page)
    assert overlapping == [] and _labels_on_symbols(page, shown) == []
    hidden = [p for p in parcels if p["symbol"] and p["spot"] and not p["label"]]
    assert hidden, parcels
    _hover_shows(page, {"id": hidden[0]["id"], **hidden[0]["spot"]})
    # a click on a symbol: the parcel's findings, out of the panel's view, scrolled into it
    far = next(
        p for p in reversed(parcels) if p["symbol"] and p["spot"] and not page.evaluate(FINDINGS_IN_VIEW, p["id"])
    )
    page.mouse.click(far["spot"]["x"], far["spot"]["y"])
    assert page.evaluate(FINDINGS_IN_VIEW, far["id"])
    # eight times closer the larger parcels are drawn as themselves, the smaller keep their symbols
    page.evaluate(f"void {MAP}.setZoom({MAP}.getZoom() + 3, {{animate: false}})")
    page.wait_for_function(MAP_IDLE)
    parcels = _symbols_where_small(page)
    assert 0 < sum(p["symbol"] for p in parcels) < 30, parcels
    shown, overlapping = _shown_labels(page)
    assert overlapping == [] and _labels_on_symbols(page, shown) == []
    assert watched.errors == [] and watched.outside == []
    context.close()


# per parcel popup of the demo map: the 结果 column's width, and per cell its text and the lines it takes
RESULT_COLUMN = f"""() => {{ const out = []; {MAP}.eachLayer(l => {{
    if (!(l instanceof L.CircleMarker) || !l.getPopup()) return;
    l.openPopup(); const table = l.getPopup().getElement().querySelector('table');
    const col = [...table.rows[0].cells].findIndex(c => c.textContent === '结果');
    const cells = [...table.rows].slice(1).map(r => r.cells[col]);
    out.push({{width: table.rows[0].cells[col].getBoundingClientRect().width, font: getComputedStyle(cells[0]).font,
        cells: cells.map(td => {{ const r = document.createRange(); r.selectNodeContents(td);
            return [td.textContent, r.getClientRects().length]; }})}});
    l.closePopup(); }}); return out; }}"""
TEXT_WIDTH = """([text, font]) => { const c = document.createElement('canvas').getContext('2d'); c.font = font;
    return c.measureText(text).width; }"""


def _opened_demo_map(demo_map: Path, browser: Any) -> tuple[Any, Watched, Any]:
    """The demo's map open on a desktop's screen, at rest: its context, its watcher and its page."""
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    watched = Watched(context, "file://")
    page = watched.page
    page.goto(demo_map.as_uri())
    page.wait_for_selector("#lantu-legend")
    page.wait_for_function(MAP_IDLE)
    return context, watched, page


def test_demo_map_popups_give_the_result_column_room(demo_map: Path, browser: Any) -> None:
    """The popups' 结果 column was under 20 px, its words wrapped a character or two a line: every parcel's popup
    now gives it the width of the longest status word, each on one line, and is not read under the layer list."""
    context, watched, page = _opened_demo_map(demo_map, browser)
    popups = page.evaluate(RESULT_COLUMN)
    assert len(popups) == 31
    words = {text for p in popups for text, _ in p["cells"]}
    assert words <= set(STATUS_ZH.values()) and len(words) >= 3  # the demo says pass, warn and fail
    longest = max(page.evaluate(TEXT_WIDTH, [w, popups[0]["font"]]) for w in STATUS_ZH.values())
    assert min(p["width"] for p in popups) >= longest
    assert {lines for p in popups for _, lines in p["cells"]} == {1}
    # the easternmost parcel's popup opens where the layer list (open on a desktop) was: the list folds
    assert page.locator(".leaflet-control-layers-expanded").count() == 1
    page.evaluate(
        f"""() => {{ const m = {MAP}; let east = null; m.eachLayer(l => {{ if (l instanceof L.CircleMarker &&
        l.getPopup() && (!east || l.getLatLng().lng > east.getLatLng().lng)) east = l; }}); east.openPopup(); }}"""
    )
    page.wait_for_timeout(300)
    page.wait_for_function(MAP_IDLE)
    page.screenshot(path=str(screenshot("demo-map-popup.png")))
    assert not _overlap(_box(page, ".leaflet-popup"), _box(page, ".leaflet-control-layers"))
    assert _top_at(page, ".leaflet-popup-content table")
    page.click(".leaflet-popup-close-button")
    assert page.locator(".leaflet-control-layers-expanded").count() == 1  # open again once the popup closes
    assert watched.errors == [] and watched.outside == []
    context.close()


def test_viewer_links_table_and_drawing(demo_server: str, browser: Any) -> None:
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    watched = Watched(context, demo_server)
    page = watched.page
    page.goto(demo_server + "/")
    page.wait_for_selector("#lantu-panel")
    # the layer control sits beside the panel, not under it
    assert not _overlap(_box(page, ".leaflet-control-layers"), _box(page, "#lantu-panel"))
    assert _top_at(page, ".leaflet-control-layers")
    # 亩 shown while drawing, before Finish
    page.click("#lantu-draw")
    box = page.locator(".leaflet-container").bounding_box()
    cx, cy = box["x"] + box["width"] * 0.3, box["y"] + box["height"] * 0.5
    for dx, dy in [(0, 0), (60, 0), (60, 60)]:
        page.mouse.click(cx + dx, cy + dy)
    page.mouse.move(cx, cy + 60)
    assert "亩" in page.locator("#lantu-measure").inner_text()
    page.mouse.click(cx, cy + 60)
    page.click("#lantu-finish")
    drawn_mu = float(page.locator("#lantu-measure").inner_text().split()[1])
    page.click("#lantu-review")
    page.wait_for_selector("#lantu-result table", timeout=30_000)
    review = page.evaluate("window.lantuLastReview")
    assert drawn_mu == pytest.approx(review["parcels"][0]["area_mu"], rel=0.01)  # the sphere vs the GK zone
    # the 结果 column holds its word on one line
    assert page.evaluate(LINES_PER_STATUS) == [1] * len(review["parcels"][0]["items"])
    page.wait_for_timeout(500)
    page.screenshot(path=str(screenshot("viewer-desktop.png")))
    # every link is the service's own and answers 200; the map opens with Leaflet, the report links back
    hrefs = page.eval_on_selector_all("#lantu-result a", "as => as.map(a => a.href)")
    assert len(hrefs) == 4 and all(h.startswith(demo_server + "/api/v1/reviews/") for h in hrefs)
    assert page.evaluate("hs => Promise.all(hs.map(h => fetch(h).then(r => r.status)))", hrefs) == [200] * 4
    # the review file a planner downloads (a signed file, for `lantu quota reserve`)
    download = page.get_attribute("#lantu-download-json", "href")
    assert download == f"/api/v1/reviews/{review['review_id']}/result.json"
    signed = page.evaluate("h => fetch(h).then(r => r.json())", download)
    assert list(signed)[-1] == "signature" and signed["signature"]["algorithm"] == "HMAC-SHA256"
    with context.expect_page() as opened:
        page.click("#lantu-open-map")
    result_map = opened.value
    watched.watch(result_map)
    result_map.wait_for_selector("#lantu-legend")
    assert result_map.evaluate("typeof L") == "object"
    with context.expect_page() as opened:
        page.click("#lantu-open-report")
    report = opened.value
    watched.watch(report)
    report.wait_for_load_state()
    report.click("text=在地图上查看")
    report.wait_for_selector("#lantu-legend")
    assert report.url == f"{demo_server}/api/v1/reviews/{review['review_id']}/map"
    # a phone: the panel is a sheet at the bottom; zoom buttons and the table stay usable
    phone = context.new_page()
    watched.watch(phone)
    phone.set_viewport_size({"width": 390, "height": 844})
    phone.goto(demo_server + "/")
    phone.wait_for_selector("#lantu-panel")
    assert _top_at(phone, ".leaflet-control-zoom-in")
    assert not _overlap(_box(phone, ".leaflet-control-zoom"), _box(phone, "#lantu-panel"))
    # drawn in the map's upper quarter: half-way down is where the sheet's edge lands once the panel
    # has filled in, and a click on the sheet leaves the square unfinished (a flaky disabled button)
    assert "地块 W1" in review_drawn_square(phone, height_share=0.25)
    assert set(phone.evaluate(LINES_PER_STATUS)) == {1}  # not a column of single characters
    phone.wait_for_timeout(500)
    phone.screenshot(path=str(screenshot("viewer-phone.png")))
    assert watched.errors == [] and watched.outside == []
    context.close()


# the map at rest: no zoom or pan animation under way (positions on screen hold still)
MAP_IDLE = f"() => {{ const m = {MAP}; return !m._animatingZoom && !(m._panAnim && m._panAnim._inProgress); }}"
# the four corners of basic farmland (3, 0)-(4, 1) km as the viewer holds them (lon/lat), NW first, clockwise
FARMLAND_CORNERS_KM = ((3, 1), (4, 1), (4, 0), (3, 0))
# the map's vector features, their vertices as [lng, lat]
MAP_VERTICES = f"""() => {{ const out = []; {MAP}.eachLayer(l => {{ if (l instanceof L.Polyline)
    out.push(...l.getLatLngs().flat(3).map(p => [p.lng, p.lat])); }}); return out; }}"""


def _farmland_corners(blueprint: Any) -> list[tuple[float, float]]:
    """The block's corners in EPSG:4490 exactly as the blueprint loads them (the viewer draws these)."""
    ring = list(blueprint.vector("basic_farmland").in_crs(4490).frame.geometry.iloc[0].exterior.coords)
    near = [_lonlat(*km) for km in FARMLAND_CORNERS_KM]
    return [min(ring, key=lambda c, p=p: (c[0] - p[0]) ** 2 + (c[1] - p[1]) ** 2) for p in near]


def _draw_near(page: Any, corners: list[tuple[float, float]], *, snap: bool) -> dict[str, Any]:
    """Draw the block by clicking 5 px off each corner (and, snapping, off the first again to close the
    ring), review it; the GeoJSON the viewer sent."""
    page.click("#lantu-clear")
    page.set_checked("#lantu-snap", snap)
    page.click("#lantu-draw")
    # corners on screen, the view set without animation once the opening one has settled
    page.wait_for_function(MAP_IDLE)
    spots = page.evaluate(
        f"""cs => {{ const map = {MAP}; map.setView([cs[0][1], cs[0][0]], 15, {{animate: false}});
        const p = map.latLngToContainerPoint([cs[0][1], cs[0][0]]), r = map.getContainer().getBoundingClientRect();
        map.panBy([p.x - 200, p.y - 90], {{animate: false}});
        return cs.map(c => map.latLngToContainerPoint([c[1], c[0]])).map(q => [r.x + q.x, r.y + q.y]); }}""",
        corners,
    )
    off = [(-4, -3), (4, -3), (4, 3), (-4, 3)]  # 5 px outwards (SE: 3 px off the county's edge, 5 px off the corner)
    for (x, y), (dx, dy) in zip(spots, off, strict=True):
        assert page.evaluate(
            "([x, y]) => !!document.elementFromPoint(x, y).closest('.leaflet-container')", [x + dx, y + dy]
        )
        page.mouse.click(x + dx, y + dy)
    if snap:
        # the 亩 readout while drawing: the block is 1,000,000 m² in its GK zone, 1500 亩
        assert float(page.locator("#lantu-measure").inner_text().split()[1]) == pytest.approx(1500, abs=0.1)
        page.mouse.move(spots[0][0] - 3, spots[0][1] + 4)
        page.wait_for_function("() => document.getElementById('lantu-snap-hint').textContent.includes('首点')")
        mark = _box(page, ".lantu-snap-mark")
        assert mark["x"] + mark["width"] / 2 == pytest.approx(spots[0][0], abs=1.5)
        assert mark["y"] + mark["height"] / 2 == pytest.approx(spots[0][1], abs=1.5)
        page.screenshot(path=str(screenshot("viewer-snap.png")))
        page.mouse.click(spots[0][0] - 3, spots[0][1] + 4)  # closes the ring
    else:
        assert page.locator(".lantu-snap-mark").count() == 0 and page.locator("#lantu-snap-hint").inner_text() == ""
        page.click("#lantu-finish")
    assert page.locator("#lantu-review").is_enabled()
    with page.expect_request(lambda r: "/api/v1/reviews" in r.url and r.method == "POST") as sent:
        page.click("#lantu-review")
    page.wait_for_selector("#lantu-result table", timeout=30_000)
    return dict(json.loads(sent.value.post_data)["geometry"])


def test_viewer_snaps_to_the_features_on_the_map(demo_server: str, browser: Any, blueprint: Any) -> None:
    """Clicks 5 px off basic farmland's corners land on them exactly (the drawn block is the layer's own
    1 km², 1500 亩); with snapping off they stay where clicked."""
    corners = _farmland_corners(blueprint)
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    watched = Watched(context, demo_server)
    page = watched.page
    page.goto(demo_server + "/")
    page.wait_for_selector("#lantu-panel")
    assert page.is_checked("#lantu-snap")  # on by default
    # the targets are the features on the map: the block's corners are vertices of a layer shown there
    shown = {tuple(v) for v in page.evaluate(MAP_VERTICES)}
    assert set(corners) <= shown
    snapped = _draw_near(page, corners, snap=True)
    assert [tuple(c) for c in snapped["coordinates"][0]] == [*corners, corners[0]]
    review = page.evaluate("window.lantuLastReview")
    assert review["parcels"][0]["area_m2"] == pytest.approx(1_000_000, abs=0.01)
    assert review["parcels"][0]["area_mu"] == pytest.approx(1500, abs=0.01)
    # away from any vertex, a point 4 px off the block's north edge lands on the edge (the marker says so)
    page.click("#lantu-draw")
    page.wait_for_function(MAP_IDLE)  # the review's fitBounds
    north = page.evaluate(
        f"""cs => {{ const map = {MAP}, r = map.getContainer().getBoundingClientRect();
        const [a, b] = cs.slice(0, 2).map(c => map.latLngToContainerPoint([c[1], c[0]]));
        return [r.x + (a.x + b.x) / 2, r.y + (a.y + b.y) / 2]; }}""",
        corners,
    )
    page.mouse.move(north[0] + 30, north[1] - 4)
    page.wait_for_function("() => document.getElementById('lantu-snap-hint').textContent.includes('已吸附')")
    mark = _box(page, ".lantu-snap-mark")
    assert mark["x"] + mark["width"] / 2 == pytest.approx(north[0] + 30, abs=1.5)
    assert mark["y"] + mark["height"] / 2 == pytest.approx(north[1], abs=1.5)
    # a click there: the corner goes onto the exact edge the service finds (the map's edge is simplified)
    with page.expect_response(lambda r: "/api/v1/layers/nearest-boundary" in r.url) as answer:
        page.mouse.click(north[0] + 30, north[1] - 4)
    assert answer.value.status == 200 and answer.value.json()["found"]
    page.wait_for_function("() => document.getElementById('lantu-status').textContent.includes('精确边界')")
    for dx, dy in ((30, 80), (-30, 80)):  # two corners inside the block, far from any edge
        page.mouse.click(north[0] + dx, north[1] + dy)
    page.click("#lantu-finish")
    with page.expect_request(lambda r: "/api/v1/reviews" in r.url and r.method == "POST") as sent:
        page.click("#lantu-review")
    lon, lat = json.loads(sent.value.post_data)["geometry"]["coordinates"][0][0]
    _, y = Transformer.from_crs(4490, EPSG, always_xy=True).transform(lon, lat)
    assert y == pytest.approx(Y0 + 1000, abs=1e-3)  # on the block's north edge in GK metres, to the millimetre
    page.wait_for_selector("#lantu-result table", timeout=30_000)
    free = _draw_near(page, corners, snap=False)
    ring = free["coordinates"][0]
    assert len(ring) == 5
    for (lon, lat), (clon, clat) in zip(ring[:4], corners, strict=True):
        assert max(abs(lon - clon), abs(lat - clat)) > 1e-5  # 5 px at zoom 15 is about 20 m
    assert page.evaluate("window.lantuLastReview")["parcels"][0]["area_m2"] != pytest.approx(1_000_000, abs=1000)
    assert watched.errors == [] and watched.outside == []
    context.close()


def test_upload_keeps_each_parcels_own_attributes(demo_server: str, browser: Any, tmp_path: Path) -> None:
    """Outside the urban boundary a transport parcel warns where industry fails: the file's type wins
    unless the planner ticks override."""
    upload = tmp_path / "parcels.geojson"
    upload.write_text(
        json.dumps(
            {
                "type": "FeatureCollection",
                "features": [
                    _feature(rect(2.5, 0.5, 2.7, 0.7), id="T", project_type="transport"),
                    _feature(rect(2.5, 1.5, 2.7, 1.7), id="N"),
                ],
            }
        ),
        encoding="utf-8",
    )
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    watched = Watched(context, demo_server)
    page = watched.page
    page.goto(demo_server + "/")
    page.wait_for_selector("#lantu-panel")
    types = {}
    for override in (False, True):
        page.select_option("#lantu-type", "industrial")
        page.set_checked("#lantu-override", override)
        page.set_input_files("#lantu-file", str(upload))
        page.evaluate("window.lantuLastReview = null")
        page.click("#lantu-review")
        page.wait_for_function("() => window.lantuLastReview !== null", timeout=30_000)
        types[override] = [p["project_type"] for p in page.evaluate("window.lantuLastReview.parcels")]
    assert types == {False: ["transport", "industrial"], True: ["industrial", "industrial"]}
    assert watched.errors == [] and watched.outside == []
    context.close()


@pytest.mark.parametrize(("path", "ready"), [("/docs", "#swagger-ui h1.title"), ("/redoc", "#redoc h1")])
def test_api_docs_work_offline(demo_server: str, browser: Any, path: str, ready: str) -> None:
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    watched = Watched(context, demo_server)
    watched.page.goto(demo_server + path)
    watched.page.wait_for_selector(ready, timeout=30_000)
    assert "lantu" in watched.page.locator(ready).inner_text()
    watched.page.screenshot(path=str(screenshot(f"api{path.replace('/', '-')}.png")))
    # ReDoc's attribution logo points at its CDN: the CSP refuses it (nothing leaves), the logo hides itself
    logo = "cdn.redoc.ly/redoc/logo-mini.svg"
    assert [e for e in watched.errors if logo not in e] == [] and [u for u in watched.outside if logo not in u] == []
    context.close()


# the parcels' ids (their labels' text), the symbols' order
SYMBOL_IDS = f"""() => {{ const out = []; {MAP}.eachLayer(l => {{
    if (l instanceof L.CircleMarker && l.getPopup() && l.getTooltip()) out.push(l.getTooltip().getContent()); }});
    return out; }}"""
# the map centred on a parcel's symbol (at the zoom given, none: the map's), the centre's place in the page returned
CENTRED_ON = f"""([id, zoom]) => {{ const m = {MAP}, c = m.getContainer().getBoundingClientRect();
    m.eachLayer(l => {{ if (l instanceof L.CircleMarker && l.getTooltip() && l.getTooltip().getContent() === id)
        m.setView(l.getLatLng(), zoom === null ? m.getZoom() : zoom, {{animate: false}}); }});
    return [c.left + c.width / 2, c.top + c.height / 2]; }}"""
OPEN_POPUP = "() => { const e = document.querySelector('.leaflet-popup-content b'); return e && e.textContent; }"


def test_demo_map_a_click_on_any_parcel_opens_its_findings(demo_map: Path, browser: Any) -> None:
    """The conflict pieces lie above the parcels, and the parcels' symbols lay under them: a click on the symbol of
    19 of the 31 demo parcels landed on a piece, which opens nothing, and D04, covered whole, could not be opened at
    any zoom (a fresh pair of eyes). A real click on each symbol now opens that parcel's popup, and so does a click
    on a piece, at the parcel's own zoom too."""
    context, watched, page = _opened_demo_map(demo_map, browser)
    ids = page.evaluate(SYMBOL_IDS)
    assert len(ids) == 31
    # each parcel under the pointer at the opening zoom (its symbol, or a piece over it), then at zoom 17, where D04
    # fills the view and its pieces cover all of it
    for zoom in (None, 17):
        for parcel_id in ids:
            x, y = page.evaluate(CENTRED_ON, [parcel_id, zoom])
            page.wait_for_function(MAP_IDLE)
            page.mouse.click(x, y)
            page.wait_for_function(OPEN_POPUP)
            assert parcel_id in page.evaluate(OPEN_POPUP), (parcel_id, zoom, page.evaluate(OPEN_POPUP))
            page.evaluate(f"() => {{ {MAP}.closePopup(); }}")  # not the map itself: Playwright would copy it
            page.wait_for_function("() => !document.querySelector('.leaflet-popup')")  # gone, not fading
    assert watched.errors == [] and watched.outside == []
    context.close()


def test_viewer_loads_a_layer_too_large_for_the_page_view_by_view(
    blueprint_dir: Path, browser: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A city's 三调 (10⁶ 图斑) is not written into the viewer's page: its toggle is filled from the layer's API for
    the view once zoomed in far enough, a page of features at most, the legend saying what it shows. Here the
    test blueprint's 50 图斑 stand for a city's: a page holds 10 features, a view loads 5."""
    monkeypatch.setattr(maps, "EMBED_FEATURES", 10)
    monkeypatch.setattr(maps, "VIEW_FEATURES", 5)
    settings = Settings(blueprint=blueprint_dir, database_url=f"sqlite:///{tmp_path / 'lantu.db'}", open_demo=True)
    with served(settings) as url:
        context = browser.new_context(viewport={"width": 1280, "height": 800})
        watched = Watched(context, url)
        page = watched.page
        page.goto(url + "/")
        page.wait_for_selector("#lantu-panel")
        spec = page.evaluate("window.lantuLayersByView.map(s => [s.id, s.minZoom, s.limit])")
        assert len(spec) == 1 and spec[0][0] == "land_use" and spec[0][2] == 5
        min_zoom = spec[0][1]
        assert min_zoom > 0
        centre = Transformer.from_crs(EPSG, 4490, always_xy=True).transform(X0 + 5_000, Y0 + 2_500)
        page.evaluate(f"z => {MAP}.setView([{centre[1]}, {centre[0]}], z, {{animate: false}})", min_zoom - 1)
        toggle = page.locator(".leaflet-control-layers").get_by_text(f"第 {min_zoom} 级起显示 / from zoom {min_zoom}")
        page.hover(".leaflet-control-layers")
        toggle.click()  # as a planner turns it on
        note = "() => document.querySelector(\"#lantu-legend [data-layer='land_use'] .lantu-by-view\").textContent"
        page.wait_for_function(f"() => ({note})().includes('放大至第 {min_zoom} 级')")
        drawn = "() => window.lantuLayersByView[0].group.getLayers().flatMap(g => g.getLayers()).length"
        assert page.evaluate(drawn) == 0
        zoom, matched = min_zoom, None
        while zoom <= min_zoom + 4:
            page.evaluate(f"z => {MAP}.setZoom(z, {{animate: false}})", zoom)
            box = page.evaluate(f"() => {MAP}.getBounds().toBBoxString()")
            bbox = ",".join(f"{float(v):.6f}" for v in box.split(","))
            with urllib.request.urlopen(f"{url}/api/v1/layers/land_use/items?limit=5&bbox={bbox}") as answer:
                matched = json.load(answer)["numberMatched"]
            if matched <= 5:
                break
            # more than a view loads: none drawn (a strip of them beside blank land read as none there), and said
            page.wait_for_function(f"() => ({note})().includes('{matched} in view, more than 5: zoom in further')")
            assert page.evaluate(drawn) == 0
            zoom += 1
        assert matched is not None and 0 < matched <= 5 and zoom > min_zoom  # the test saw both
        page.wait_for_function(f"() => ({note})() === '视窗内 {matched} 个 / {matched} in view'")
        assert page.evaluate(drawn) == matched
        tip = "() => window.lantuLayersByView[0].group.getLayers()[0].getLayers()[0].getTooltip().getContent()"
        shown = re.match(r"土地利用现状（三调地类图斑）<br>class_code: (\d{4}) ([^<]+)", page.evaluate(tip))
        assert shown is not None, page.evaluate(tip)  # the code with its class's name, not a bare code
        assert shown.group(2) == landuse_classes()[shown.group(1)].name_zh
        page.wait_for_timeout(300)
        page.screenshot(path=str(screenshot("viewer-layer-by-view.png")))
        page.evaluate(f"z => {MAP}.setZoom(z, {{animate: false}})", min_zoom - 1)
        page.wait_for_function(f"() => ({drawn})() === 0")
        page.hover(".leaflet-control-layers")
        toggle.click()  # off: the legend says nothing more of it
        page.wait_for_function(f"() => ({note})() === ''")
        assert watched.errors == [] and watched.outside == []
        context.close()
