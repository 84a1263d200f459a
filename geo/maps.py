"""Folium maps of review results: the parcel, its conflict pieces coloured by
status, the blueprint's layers as toggles, popups with findings and a legend.

Base maps: 天地图 (vector + annotation) when a key is given, else an offline base drawn
from the blueprint's own county and water (三调 water classes) — never a grey void and
never a foreign tile service unless asked (OpenStreetMap is not an approved base for
official Chinese maps). Conflict pieces sit in panes stacked by severity, so a failing
piece is never hidden under a warning one whatever the drawing or toggling order.
"""

from __future__ import annotations

import base64
import html
import importlib.util
import json
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any, Final, cast

import folium
import geopandas as gpd
import numpy as np
import shapely
from branca.colormap import LinearColormap
from branca.element import Element, Figure, MacroElement

from geo.blueprint import Blueprint, VectorLayer
from geo.catalog import landuse_class, landuse_classes, layer_catalog
from geo.crs import Area
from geo.report_model import ParcelReport, report_model
from geo.review.result import ReviewResult
from geo.vocabulary import (
    LAYER_COLOURS,
    STATUS_COLOURS,
    STATUS_ORDER,
    STATUS_TEXT_COLOURS,
    STATUS_ZH,
    VERDICT_ZH,
    Status,
)

SHOWN = ("urban_boundary", "basic_farmland", "ecological_redline")
TILES = ("auto", "tianditu", "offline", "osm", "none")  # "none": no tiles, the offline base
# Leaflet panes (z-index): the base under the blueprint's layers (overlayPane, 400), parcels above them,
# conflict pieces above the parcels, the worse status higher
BASE_PANE: Final = ("lantu-base", 250)
PARCEL_PANE: Final = ("lantu-parcels", 410)
PIECE_PANES: Final[dict[Status, tuple[str, int]]] = {
    s: (f"lantu-{s.replace('_', '-')}", 420 + 10 * STATUS_ORDER[s]) for s in ("warn", "missing_layer", "fail")
}
# a parcel's symbol above every piece: under them, a click on the symbol of a parcel with conflicts landed on a piece
# (19 of the demo's 30 parcels: their findings could not be opened from the symbol; a fresh pair of eyes)
SYMBOL_PANE: Final = ("lantu-symbols", 460)
LABEL_LIMIT = 300  # parcels labelled with their id on the map (more would cover it)
SYMBOL_PX = 14  # a parcel smaller than this on screen is drawn as a fixed-size symbol
# a parcel's popup: panned clear of the zoom buttons (top left); the CSS caps it to a phone's screen too
POPUP_OPTIONS: Final[dict[str, Any]] = {"maxWidth": 520, "autoPanPaddingTopLeft": [52, 10]}
COUNTY_STYLE: Final[dict[str, Any]] = {
    "color": "#8d8d8d",
    "weight": 1.2,
    "dashArray": "6 3",
    "fillColor": "#f6f3ea",
    "fillOpacity": 1,
}
WATER_STYLE: Final[dict[str, Any]] = {"color": "#7fb2d9", "weight": 0.5, "fillColor": "#b9d8ef", "fillOpacity": 1}
# a page holds at most this many features of one layer (a city's 三调 has 10⁶ 图斑: no browser draws such a page,
# and its GeoJSON took the service past 8 GB); a larger layer the service's viewer loads view by view, a page
# written to a file leaves out and says so in its legend
EMBED_FEATURES = 20_000
VIEW_FEATURES = 1_000  # a view of such a layer loads at most this many (/api/v1/layers/{id}/items' largest page)
VIEW_PX = (1280, 800)  # the screen a layer's zoom for loading is reckoned for
LAYER_FILL_OPACITY = 0.25  # the blueprint's layers: translucent, the base and each other show through
PIECE_FILL_OPACITY = 0.6  # conflict pieces; the legend's swatches carry the same opacities
PAPER = "#eef0ec"  # the map's background where nothing is drawn: paper, not Leaflet's grey
TIANDITU_URL = (
    "https://t{{s}}.tianditu.gov.cn/{layer}_w/wmts?SERVICE=WMTS&REQUEST=GetTile&VERSION=1.0.0&LAYER={layer}"
    "&STYLE=default&TILEMATRIXSET=w&FORMAT=tiles&TILEMATRIX={{z}}&TILEROW={{y}}&TILECOL={{x}}&tk={key}"
)


@cache
def leaflet_dir() -> Path | None:
    """Leaflet's dist files from the PyPI package django-js-lib-leaflet (used as data, never imported)."""
    spec = importlib.util.find_spec("js_lib_leaflet")
    if spec is None or not spec.submodule_search_locations:
        return None
    folder = Path(next(iter(spec.submodule_search_locations))) / "static" / "js_lib_leaflet"
    return folder if (folder / "leaflet.js").is_file() else None


def _use_leaflet(fmap: folium.Map, assets: str) -> None:
    """Load Leaflet from ``assets``: "cdn" (folium's default), "inline" (self-contained file) or a URL prefix.

    Only Leaflet itself is needed by what lantu draws, so folium's other defaults
    (jQuery, Bootstrap, icon fonts) are dropped off the CDN: a page then works on
    a machine with no internet at all.
    """
    if assets == "cdn":
        return
    if assets == "inline":
        folder = leaflet_dir()
        if folder is None:
            return  # package missing: folium's CDN links stay
        js = "data:text/javascript;base64," + base64.b64encode((folder / "leaflet.js").read_bytes()).decode()
        css = "data:text/css;base64," + base64.b64encode(_inline_images(folder).encode()).decode()
    else:
        js, css = f"{assets}/leaflet.js", f"{assets}/leaflet.css"
    fmap.default_js = [("leaflet", js)]
    fmap.default_css = [("leaflet_css", css)]


def resolve_tiles(tiles: str, tianditu_key: str | None) -> str:
    """The base actually drawn: "tianditu" (needs a key), "osm" (only when asked) or "offline"."""
    if tiles not in TILES:
        raise ValueError(f"tiles must be one of {', '.join(TILES)}, not {tiles!r}")
    if tiles in ("auto", "tianditu") and tianditu_key:
        return "tianditu"
    return "osm" if tiles == "osm" else "offline"


def _inline_images(folder: Path) -> str:
    """leaflet.css with its ``images/…`` (the layer control's icon) as data URIs: a file has no folder beside it."""
    css = (folder / "leaflet.css").read_text(encoding="utf-8")
    for image in sorted((folder / "images").glob("*.png")):
        data = base64.b64encode(image.read_bytes()).decode()
        css = css.replace(f"url(images/{image.name})", f"url(data:image/png;base64,{data})")
    return css


def base_map(
    bounds: tuple[float, float, float, float],
    *,
    tiles: str = "auto",
    tianditu_key: str | None = None,
    assets: str = "inline",
    blueprint: Blueprint | None = None,
    canvas: bool = False,
) -> folium.Map:
    """An empty map fitted to ``bounds`` (lon/lat) with its base, a metric scale and the lantu panes.

    天地图 (``vec_w`` + ``cva_w``, Web Mercator tiles of CGCS2000 data: within a metre of the
    EPSG:4490 layers) when ``tianditu_key`` is set; the blueprint's county and water drawn as
    an offline base always (the only base without a key). ``canvas`` draws vectors on canvas
    (fast for a whole blueprint), else as SVG paths one can inspect.
    """
    minx, miny, maxx, maxy = bounds
    fmap = folium.Map(
        location=[(miny + maxy) / 2, (minx + maxx) / 2], tiles=None, control_scale=False, prefer_canvas=canvas
    )
    _use_leaflet(fmap, assets)
    for name, z in (BASE_PANE, PARCEL_PANE, *PIECE_PANES.values(), SYMBOL_PANE):
        folium.map.CustomPane(name, z_index=z, pointer_events=name != BASE_PANE[0]).add_to(fmap)
    chosen = resolve_tiles(tiles, tianditu_key)
    if chosen == "tianditu":
        tianditu = folium.FeatureGroup(name="天地图矢量（含注记）", overlay=False, show=True)
        for layer in ("vec", "cva"):
            folium.TileLayer(
                tiles=TIANDITU_URL.format(layer=layer, key=tianditu_key),
                attr="天地图 tianditu.gov.cn",
                name=layer,
                subdomains="01234567",
                max_zoom=18,
            ).add_to(tianditu)
        tianditu.add_to(fmap)
    elif chosen == "osm":
        folium.TileLayer("OpenStreetMap", name="OpenStreetMap", overlay=False).add_to(fmap)
    if blueprint is not None:
        offline = _offline_base(blueprint, bounds, show=chosen == "offline")
        if offline is not None:
            offline.add_to(fmap)
    page(fmap).header.add_child(Element(f"<style>html body .leaflet-container {{ background: {PAPER}; }}</style>"))
    add_script(
        fmap,
        f"L.control.scale({{metric: true, imperial: false, maxWidth: 160, position: 'bottomleft'}})"
        f".addTo({fmap.get_name()});",
    )
    fmap.fit_bounds([[miny, minx], [maxy, maxx]])
    return fmap


def _offline_base(
    blueprint: Blueprint, bounds: tuple[float, float, float, float], *, show: bool
) -> folium.FeatureGroup | None:
    """The counties, and the water surfaces (三调 water classes of ``land_use``) meeting the map's ``bounds``, as a
    base layer drawn without tiles (each while a page can hold it, ``EMBED_FEATURES``); None when there is
    neither."""
    group = folium.FeatureGroup(name="离线底图（县界、水系）", overlay=False, show=show)
    drawn = False
    for layer_id, style in (("county", COUNTY_STYLE), ("land_use", WATER_STYLE)):
        layer = blueprint.vector(layer_id)
        if layer is None:
            continue
        positions = np.arange(len(layer.frame)) if layer_id == "county" else layer.meeting(bounds)
        if layer_id == "land_use":
            codes = layer.native.columns["class_code"][positions]
            water = {c for c in set(codes.tolist()) if c is not None and _is_water(c)}
            positions = positions[np.isin(codes, list(water))] if water else positions[:0]
        if len(positions) == 0 or len(positions) > EMBED_FEATURES:
            continue
        geoms = shapely.simplify(np.asarray(layer.in_4490(positions).geometry.values, dtype=object), 5e-5)
        folium.GeoJson(
            gpd.GeoSeries(geoms[~shapely.is_empty(geoms)], crs=4490).__geo_interface__,
            style_function=lambda _f, st=style: dict(st),
            pane=BASE_PANE[0],
            interactive=False,
        ).add_to(group)
        drawn = True
    return group if drawn else None


def _is_water(code: object) -> bool:
    info = landuse_class(code)
    return info is not None and info.group == "water"


def _layer_group(
    layer: VectorLayer,
    positions: np.ndarray,
    bounds: tuple[float, float, float, float],
    *,
    show: bool,
    simplify_deg: float,
) -> folium.FeatureGroup | None:
    part = layer.in_4490(positions)
    clipped = shapely.clip_by_rect(np.asarray(part.geometry.values, dtype=object), *bounds)
    part["geometry"] = shapely.simplify(clipped, simplify_deg) if simplify_deg else clipped
    part = part[~part.geometry.is_empty]
    if part.empty:  # envelopes met the bounds, shapes did not: no group (an empty one breaks the tooltip)
        return None
    info = layer_catalog()[layer.id]
    colour = LAYER_COLOURS.get(layer.id, "#555555")
    group = folium.FeatureGroup(name=f"{info.name_zh}", show=show)
    # folium's GeoJsonTooltip writes values into innerHTML, and the data goes through a Jinja render
    # (``Verbatim``): values and names as inert HTML text, under keys of lantu's own
    columns = [c for c in part.columns if c != "geometry"]
    names = _class_names(columns)
    part = gpd.GeoDataFrame(
        {
            f"f{k}": [html_text(f"{v} {names[v]}" if c == "class_code" and v in names else v) for v in part[c]]
            for k, c in enumerate(columns)
        },
        geometry=part.geometry,
    )
    fields = [f"f{k}" for k in range(len(columns))]
    folium.GeoJson(
        part.__geo_interface__,
        style_function=lambda _f, c=colour: {
            "color": c,
            "weight": 1,
            "fillColor": c,
            "fillOpacity": LAYER_FILL_OPACITY,
        },
        tooltip=folium.GeoJsonTooltip(fields=fields, aliases=[html_text(c) for c in columns]) if fields else None,
        name=info.name_zh,
    ).add_to(group)
    return group


@dataclass(frozen=True)
class LayersDrawn:
    """The blueprint's layers on a map: those drawn into the page, and those too large for it, loaded view by view
    (with the zoom each is loaded from) or left out (with the count of its features meeting the map)."""

    drawn: list[str] = field(default_factory=list)
    by_view: dict[str, int] = field(default_factory=dict)
    left_out: dict[str, int] = field(default_factory=dict)


def add_layers(
    fmap: folium.Map,
    blueprint: Blueprint,
    bounds: tuple[float, float, float, float],
    *,
    simplify_deg: float,
    by_view: bool = False,
) -> LayersDrawn:
    """Every vector layer of the blueprint meeting ``bounds`` as a toggle (a few shown at first). One with more
    features there than a page holds (``EMBED_FEATURES``) is left out, or with ``by_view`` (a page the service
    serves) drawn as an empty toggle that the page's script fills from ``/api/v1/layers/{id}/items`` for each view
    from its zoom on (``window.lantuLayersByView``)."""
    layers = LayersDrawn()
    for layer_id, layer in blueprint.layers.items():
        if not isinstance(layer, VectorLayer):
            continue
        positions = layer.meeting(bounds)
        if len(positions) > EMBED_FEATURES and by_view:
            layers.by_view[layer_id] = _layer_by_view(fmap, layer, len(positions), bounds, show=layer_id in SHOWN)
        elif len(positions) > EMBED_FEATURES:
            layers.left_out[layer_id] = len(positions)
        else:
            group = _layer_group(layer, positions, bounds, show=layer_id in SHOWN, simplify_deg=simplify_deg)
            if group is not None:
                group.add_to(fmap)
                layers.drawn.append(layer_id)
    return layers


def _layer_by_view(
    fmap: folium.Map, layer: VectorLayer, features: int, bounds: tuple[float, float, float, float], *, show: bool
) -> int:
    """An empty toggle for a layer too large for the page, and what the viewer's script needs to fill it; the zoom
    it is loaded from."""
    info = layer_catalog()[layer.id]
    zoom = view_zoom(features, bounds)
    group = folium.FeatureGroup(name=f"{info.name_zh} {by_view_label(zoom)}", show=show).add_to(fmap)
    spec = {
        "id": layer.id,
        "name": info.name_zh,
        "colour": LAYER_COLOURS.get(layer.id, "#555555"),
        "minZoom": zoom,
        "classNames": _class_names(list(layer.frame.columns)),
    }
    add_script(
        fmap,
        f"(window.lantuLayersByView = window.lantuLayersByView || []).push("
        f"Object.assign({js_literal(spec)}, {{group: {group.get_name()}, limit: {VIEW_FEATURES}}}));",
    )
    return zoom


def _class_names(columns: list[str]) -> dict[str, str]:
    """三调 class names by code for a layer with a ``class_code`` column (its tooltips write 0101 水田, not a bare
    code only the standard's table explains), else none."""
    return {code: cls.name_zh for code, cls in landuse_classes().items()} if "class_code" in columns else {}


def by_view_label(zoom: int) -> str:
    """What a layer loaded view by view says beside its name, in the layer control and the legend."""
    return f"第 {zoom} 级起显示 / from zoom {zoom}"


def view_zoom(features: int, bounds: tuple[float, float, float, float]) -> int:
    """The first zoom at which a screen (``VIEW_PX``) over ``bounds`` holds about ``VIEW_FEATURES`` of
    ``features`` spread evenly: a layer drawn view by view is loaded from there on (18 at most)."""
    minx, miny, maxx, maxy = bounds
    shrink = math.cos(math.radians((miny + maxy) / 2))  # a pixel spans fewer degrees of latitude than of longitude
    area = max((maxx - minx) * (maxy - miny), 1e-12)
    for zoom in range(19):
        degrees = 360 / (256 * 2**zoom)  # of longitude per pixel (Web Mercator)
        if features * min(1.0, (VIEW_PX[0] * degrees) * (VIEW_PX[1] * degrees * shrink) / area) <= VIEW_FEATURES:
            return zoom
    return 18


def blueprint_map(
    blueprint: Blueprint,
    *,
    tiles: str = "auto",
    tianditu_key: str | None = None,
    assets: str = "inline",
    simplify_deg: float = 3e-5,
    by_view: bool = False,
) -> folium.Map:
    """The whole blueprint with layer toggles, opened on the control layers (the viewer page starts here).
    ``by_view``: a layer too large for the page is loaded view by view (a page the service serves, see
    :func:`add_layers`), else left out and named in the legend."""
    vectors = {layer_id: layer for layer_id, layer in blueprint.layers.items() if isinstance(layer, VectorLayer)}
    control = [layer for layer_id, layer in vectors.items() if layer_id != "county"] or list(vectors.values())
    everything = _bounds(list(vectors.values()))
    fmap = base_map(
        _bounds(control),
        tiles=tiles,
        tianditu_key=tianditu_key,
        assets=assets,
        blueprint=blueprint,
        canvas=True,
    )
    shown = add_layers(fmap, blueprint, everything, simplify_deg=simplify_deg, by_view=by_view)
    folium.LayerControl(collapsed=True).add_to(fmap)
    _legend(fmap, shown, synthetic=blueprint.synthetic, base=True, statuses=False)
    return fmap


def _bounds(layers: list[VectorLayer]) -> tuple[float, float, float, float]:
    """The box around every layer (lon/lat); all of China when there are none."""
    boxes = [b for b in (layer.bounds_4490 for layer in layers) if not np.isnan(b).any()]
    boxes = boxes or [np.array([73.0, 3.0, 136.0, 54.0])]
    return (
        float(min(b[0] for b in boxes)),
        float(min(b[1] for b in boxes)),
        float(max(b[2] for b in boxes)),
        float(max(b[3] for b in boxes)),
    )


def js_literal(value: object) -> str:
    """``value`` as a JavaScript literal safe inside an HTML ``<script>``: JSON with ``<``, ``>``, ``&``
    and U+2028/2029 escaped, so ``</script>`` cannot close the tag. User text enters map scripts only so."""
    return (
        json.dumps(value, ensure_ascii=False)
        .replace("<", "\\u003c")
        .replace(">", "\\u003e")
        .replace("&", "\\u0026")
        .replace("\u2028", "\\u2028")
        .replace("\u2029", "\\u2029")
    )


_INERT_BRACES = str.maketrans({"{": "&#123;", "}": "&#125;"})


def _e(text: str) -> str:
    """Text for HTML that lantu's own scripts carry (``js_literal``, put on the page ``Verbatim``)."""
    return html.escape(text, quote=True)


def html_text(value: object) -> str:
    """``value`` as HTML text that neither HTML nor a Jinja render reads as markup: escaped, its braces
    as character references (the map's data is rendered as a template once more: ``Verbatim``)."""
    return _e("" if value is None else str(value)).translate(_INERT_BRACES)


def _popup(p: ParcelReport) -> str:
    """A parcel's popup: the report model's heading, facts, notes and item rows (the HTML report's words)."""
    rows = "".join(
        f"<tr><td class='idx'>{_e(i.index)}</td><td>{_e(i.name)}</td>"
        f"<td class='st' style='color:{STATUS_TEXT_COLOURS[i.status]}'>"
        f"{_e(i.status_label)}</td><td class='num'>{_e(i.overlap_m2)} m²</td><td class='num'>{_e(i.share)}</td>"
        f"<td>{_e(i.message)}</td></tr>"
        for i in p.items
    )
    # the facts one a line and the notes in the table's size, not bold: the notes, bold at the popup's size, pushed
    # the item table out of a 710 px popup (a fresh pair of eyes on the demo's D04)
    facts = "".join(f"<div>{_e(f.text)}</div>" for f in p.facts)
    notes = "".join(f"<div class='lantu-popup-note'>{_e(n)}</div>" for n in p.notes)
    return (
        f"<b>{_e(p.heading)}</b><div class='lantu-popup-facts'>{facts}{notes}</div>"
        f"<table class='lantu-popup-table'><tr><th>#</th><th>审查项</th><th class='st'>结果</th>"
        f"<th class='num'>涉及面积</th><th class='num'>占比</th><th>说明</th></tr>{rows}</table>"
    )


def _bind(fmap: folium.Map, method: str, bindings: list[tuple[str, str, dict[str, Any]]]) -> None:
    """``layer.bindPopup``/``bindTooltip`` in plain Leaflet (folium.Popup needs jQuery, folium.Tooltip puts
    its text into a JS template literal); the HTML content is passed as a :func:`js_literal`."""
    add_script(
        fmap,
        "".join(f"{name}.{method}({js_literal(content)}, {js_literal(opts)});" for name, content, opts in bindings),
    )


def _swatch(colour: str, *, opacity: float = 1.0, outline: bool = False) -> str:
    """A legend swatch as the map draws the thing: its fill at the fill's own opacity, a solid edge."""
    c = colour.lstrip("#")
    rgba = f"rgba({int(c[0:2], 16)},{int(c[2:4], 16)},{int(c[4:6], 16)},{opacity:g})"
    fill = f"border:2px solid {colour}" if outline else f"background:{rgba};border:1px solid {colour}"
    return f"<span class='lantu-swatch' style='{fill}'></span>"


SYNTHETIC_NOTE_ZH: Final = "示例蓝图：管控图层为合成数据"


def _legend(fmap: folium.Map, layers: LayersDrawn, *, synthetic: bool, base: bool, statuses: bool = True) -> None:
    """A legend control (stacked by Leaflet above the scale, never over it): the statuses of pieces and
    parcels, then every blueprint layer on the map with its colour (those loaded by view saying so, those left
    out named with their count), then the offline base."""
    rows: list[str] = []

    def entry(kind: str, key: str, swatch: str, label: str) -> None:
        rows.append(f"<div class='lantu-legend-entry' data-{kind}='{_e(key)}'>{swatch}{_e(label)}</div>")

    if statuses:
        rows.append("<div class='lantu-legend-head'>审查结果（冲突图斑）</div>")
        for status, colour in STATUS_COLOURS.items():
            if status != "pass":
                entry("status", status, _swatch(colour, opacity=PIECE_FILL_OPACITY), STATUS_ZH[status])
        rows.append("<div class='lantu-legend-head'>审查地块（按结论）</div>")
        for verdict, label in VERDICT_ZH.items():
            entry("verdict", verdict, _swatch(STATUS_COLOURS[_VERDICT_COLOUR[verdict]], outline=True), label)
    catalog = layer_catalog()
    listed = [*layers.drawn, *layers.by_view]
    if listed:
        rows.append("<div class='lantu-legend-head'>蓝图图层</div>")
        for layer_id in listed:
            colour = LAYER_COLOURS.get(layer_id, "#555555")
            zoom = layers.by_view.get(layer_id)
            label = catalog[layer_id].name_zh + (f" {by_view_label(zoom)}" if zoom is not None else "")
            entry("layer", layer_id, _swatch(colour, opacity=LAYER_FILL_OPACITY), label)
    if layers.left_out:
        rows.append("<div class='lantu-legend-head'>未绘制（要素过多）Not drawn: too many features</div>")
        for layer_id, count in layers.left_out.items():
            rows.append(f"<div class='lantu-legend-entry' data-left-out='{_e(layer_id)}'>")
            rows.append(f"{_e(catalog[layer_id].name_zh)} {count:,} 个 features</div>")
    if base:
        rows.append("<div class='lantu-legend-head'>离线底图</div>")
        entry("base", "county", _swatch(COUNTY_STYLE["fillColor"], opacity=COUNTY_STYLE["fillOpacity"]), "县级行政区")
        entry("base", "water", _swatch(WATER_STYLE["fillColor"], opacity=WATER_STYLE["fillOpacity"]), "水域（三调）")
    if synthetic:
        rows.append(f"<div class='lantu-legend-note'>{SYNTHETIC_NOTE_ZH}</div>")
    _legend_control(fmap, "".join(rows))


def _legend_control(fmap: folium.Map, rows: str) -> None:
    """``rows`` (HTML) in a collapsible Leaflet control at the bottom left: Leaflet stacks it above the
    scale bar. Folded at first on a narrow (phone) screen."""
    body = f"<details open><summary><b>图例 Legend</b></summary>{rows}</details>"
    page(fmap).header.add_child(Element(LEGEND_CSS))
    add_script(
        fmap,
        "(function () { var legend = L.control({position: 'bottomleft'});"
        "legend.onAdd = function () { var div = L.DomUtil.create('div', 'lantu-legend leaflet-control');"
        f"div.id = 'lantu-legend'; div.innerHTML = {js_literal(body)};"
        "if (window.innerWidth < 700) { div.firstChild.removeAttribute('open'); }"
        "L.DomEvent.disableClickPropagation(div); L.DomEvent.disableScrollPropagation(div); return div; };"
        f"legend.addTo({fmap.get_name()}); }})();",
    )


_VERDICT_COLOUR: Final[dict[str, Status]] = {
    "pass": "pass",
    "conditional": "warn",
    "reject": "fail",
    "out_of_coverage": "missing_layer",
}
# the 结果 column of every popup as wide as the longest status word (CJK: an em a character), the tables alike
RESULT_COLUMN_EM: Final = max(len(word) for word in STATUS_ZH.values())
LEGEND_CSS = (
    """<style>
.lantu-legend { background: #fff; padding: 4px 8px; border: 1px solid #999; border-radius: 4px; font: 12px sans-serif;
  max-height: 45vh; overflow-y: auto; max-width: 24em; }
.lantu-legend .lantu-by-view { color: #555; margin-left: 18px; }
.lantu-legend summary { cursor: pointer; }
.lantu-legend-head { margin-top: 4px; color: #444; font-weight: bold; }
.lantu-legend-note { margin-top: 4px; color: #555; }
.lantu-swatch { display: inline-block; width: 12px; height: 12px; margin-right: 4px; vertical-align: middle;
  box-sizing: border-box; }
.lantu-label { background: rgba(255,255,255,.85); border: 1px solid #666; padding: 0 3px; font: 11px sans-serif;
  box-shadow: none; }
.lantu-label:before { display: none; }
.leaflet-popup-content { max-width: calc(100vw - 100px); max-height: calc(100vh - 90px); overflow: auto; }
.lantu-popup-table { font-size: 11px; border-collapse: collapse; }
.lantu-popup-facts { font-size: 12px; line-height: 1.35; margin: 2px 0 4px; }
.lantu-popup-note { margin-top: 2px; color: #444; }
.lantu-popup-table th, .lantu-popup-table td { padding: 1px 3px; text-align: left; vertical-align: top; }
.lantu-popup-table .st, .lantu-popup-table .num, .lantu-popup-table .idx { white-space: nowrap; word-break: keep-all; }
.lantu-popup-table td.num { text-align: right; }
.lantu-label.lantu-label-hidden { visibility: hidden; }
.lantu-label.lantu-label-hidden.lantu-label-hover { visibility: visible; z-index: 1; }
"""
    f".lantu-popup-table th.st {{ min-width: {RESULT_COLUMN_EM}em; }}\n</style>"
)


def review_map(
    result: ReviewResult,
    blueprint: Blueprint | None = None,
    *,
    tiles: str = "auto",
    tianditu_key: str | None = None,
    margin_deg: float = 0.01,
    assets: str = "inline",
    overlays: Sequence[folium.map.Layer] = (),
) -> folium.Map:
    """The review on a map; with the blueprint, its layers around the parcels as toggles and its
    county and water as the offline base. ``overlays``: a caller's own layers (a site search's regions, a plan
    change's boundaries), drawn above the blueprint's and listed in the layer control: one added to the map this
    returns comes after the control, which names it before the page draws it, and the page stops there (its
    legend and 合成数据 note lost; a notebook's fresh pair of eyes)."""
    parcels = gpd.GeoDataFrame(
        [{"id": p.id, "name": p.name, "verdict": p.verdict} for p in result.parcels],
        geometry=[shapely.geometry.shape(p.geometry) for p in result.parcels],
        crs=4490,
    )
    minx, miny, maxx, maxy = parcels.total_bounds
    bounds = (minx - margin_deg, miny - margin_deg, maxx + margin_deg, maxy + margin_deg)
    fmap = base_map(bounds, tiles=tiles, tianditu_key=tianditu_key, assets=assets, blueprint=blueprint)
    shown = add_layers(fmap, blueprint, bounds, simplify_deg=1e-5) if blueprint is not None else LayersDrawn()
    for layer in overlays:
        layer.add_to(fmap)
    model = report_model(result, synthetic=blueprint is not None and blueprint.synthetic)
    tooltips: list[tuple[str, str, dict[str, Any]]] = []
    conflicts = folium.FeatureGroup(name="冲突图斑（按审查结果着色）", show=True)
    piece_of: list[tuple[str, int]] = []  # each piece and its parcel: a click on it opens the parcel's popup
    pieces = [
        (parcel, item, d)
        for parcel in result.parcels
        for item in parcel.items
        for d in item.details
        if d.geometry is not None and d.status != "pass"
    ]
    for parcel, item, d in sorted(pieces, key=lambda p: STATUS_ORDER[p[2].status]):  # worse drawn later
        colour = STATUS_COLOURS[d.status]
        piece = folium.GeoJson(
            {"type": "Feature", "geometry": d.geometry, "properties": {}},
            style_function=lambda _f, c=colour: {
                "color": c,
                "weight": 1,
                "fillColor": c,
                "fillOpacity": PIECE_FILL_OPACITY,
            },
            pane=PIECE_PANES[d.status][0],
            className=f"lantu-piece lantu-piece-{d.status}",
        ).add_to(conflicts)
        text = f"{parcel.id} · {item.name_zh}：{STATUS_ZH[d.status]} {Area(d.area_m2).m2_text} m²"
        tooltips.append((piece.get_name(), _e(text), {"sticky": True}))
        piece_of.append((piece.get_name(), id(parcel)))
    conflicts.add_to(fmap)
    parcel_group = folium.FeatureGroup(name="审查地块（编号）", show=True)
    popups: list[tuple[str, str, dict[str, Any]]] = []
    outlines: dict[int, str] = {}
    symbols: list[tuple[str, str]] = []
    labels: list[tuple[int, str]] = []  # (severity, symbol): the worse parcel's label is placed first
    labelled = len(result.parcels) <= LABEL_LIMIT
    for parcel, report, geom in zip(result.parcels, model.parcels, parcels.geometry, strict=True):
        colour = STATUS_COLOURS[report.status]
        outline = folium.GeoJson(
            {"type": "Feature", "geometry": parcel.geometry, "properties": {}},
            style_function=lambda _f, c=colour: {"color": c, "weight": 3, "fillOpacity": 0.05},
            pane=PARCEL_PANE[0],
            className="lantu-parcel",
        ).add_to(parcel_group)
        tooltips.append((outline.get_name(), _e(f"地块 {parcel.id}：{report.verdict}"), {"sticky": True}))
        outlines[id(parcel)] = outline.get_name()
        popups.append((outline.get_name(), _popup(report), POPUP_OPTIONS))
        # a symbol of fixed size where the parcel itself would be a dot, carrying the id label
        at = geom.point_on_surface()
        symbol = folium.CircleMarker(
            [at.y, at.x],
            radius=6,
            color=colour,
            weight=2,
            fill=True,
            fill_color="#ffffff",
            fill_opacity=1,
            pane=SYMBOL_PANE[0],
        ).add_to(parcel_group)
        symbols.append((outline.get_name(), symbol.get_name()))
        popups.append((symbol.get_name(), _popup(report), POPUP_OPTIONS))
        if labelled:
            label = {"permanent": True, "direction": "right", "offset": [6, 0], "className": "lantu-label"}
            tooltips.append((symbol.get_name(), _e(parcel.id), label))
            labels.append((-STATUS_ORDER[report.status], symbol.get_name()))
    parcel_group.add_to(fmap)
    _bind(fmap, "bindTooltip", tooltips)
    _bind(fmap, "bindPopup", popups)
    _popup_from_pieces(fmap, [(piece, outlines[parcel]) for piece, parcel in piece_of])
    _symbols_when_small(fmap, symbols)
    _declutter_labels(fmap, [name for _, name in sorted(labels, key=lambda label: label[0])])
    control = folium.LayerControl(collapsed=False).add_to(fmap)
    add_script(fmap, f"if (window.innerWidth < 700) {{ {control.get_name()}.collapse(); }}")  # a phone keeps its map
    # a parcel's findings are not read under the open layer list: the list folds while a popup is open
    add_script(
        fmap,
        "(function (map, control) { var folded = false; map.on('popupopen', function () {"
        "folded = control.getContainer().classList.contains('leaflet-control-layers-expanded');"
        "if (folded) { control.collapse(); } }); map.on('popupclose', function () {"
        f"if (folded) {{ control.expand(); folded = false; }} }}); }})({fmap.get_name()}, {control.get_name()});",
    )
    synthetic = result.synthetic or (blueprint is not None and blueprint.synthetic)
    _legend(fmap, shown, synthetic=synthetic, base=blueprint is not None)
    return fmap


# a parcel's symbol shown only while its outline is smaller than SYMBOL_PX on screen (:func:`_symbols_when_small`;
# the viewer's results too, ``lantuSymbolsWhenSmall``): a function of the map and [outline, symbol] pairs, run
# on every zoom. A symbol shown carries the class DECLUTTER_JS keeps labels off; it returns what stops it.
SYMBOLS_JS = (
    """function (map, pairs) {
  function update() {
    pairs.forEach(function (p) {
      var b = p[0].getBounds(), a = map.latLngToLayerPoint(b.getSouthWest());
      var c = map.latLngToLayerPoint(b.getNorthEast()), small = Math.max(Math.abs(c.x - a.x), Math.abs(c.y - a.y)) < """
    + str(SYMBOL_PX)
    + """;
      p[1].setStyle({opacity: small ? 1 : 0, fillOpacity: small ? 1 : 0});
      if (p[1].getElement()) { p[1].getElement().classList.toggle('lantu-symbol-shown', small); }
    });
  }
  map.on('zoomend', update); update();
  return function () { map.off('zoomend', update); };
}"""
)


def _popup_from_pieces(fmap: folium.Map, pairs: list[tuple[str, str]]) -> None:
    """A click on a conflict piece opens its parcel's popup where it was clicked: the pieces lie above the parcel
    (the worse higher), and one covering a parcel whole left no point of it to click (demo D04, D26)."""
    if pairs:
        listed = ",".join(f"[{piece},{outline}]" for piece, outline in pairs)
        add_script(
            fmap,
            f"[{listed}].forEach(function (p) {{ p[0].on('click', function (e) {{ p[1].openPopup(e.latlng); }}); }});",
        )


def _symbols_when_small(fmap: folium.Map, pairs: list[tuple[str, str]]) -> None:
    """Show a parcel's symbol only while its outline is smaller than :data:`SYMBOL_PX` on screen (the
    label stays): :data:`SYMBOLS_JS`."""
    if pairs:
        listed = ",".join(f"[{outline},{symbol}]" for outline, symbol in pairs)
        add_script(fmap, f"({SYMBOLS_JS})({fmap.get_name()}, [{listed}]);")


# the labels' placement (:func:`_declutter_labels`; the viewer's result labels too, ``lantuDeclutter``): a
# function of the map and the labelled layers (a symbol, or a group holding one), the worse parcel first, each
# label placed about its tooltip's anchor (the symbol's position). Sizes are read in one go and the places worked
# out on them, so a zoom lays the page out once, not once a label and a place; each label is then put by its
# centre (Leaflet's "center" direction: no margins). It returns what stops it (the viewer replaces its results).
DECLUTTER_JS = """function (map, layers) {
  var GAP = 9, PAD = 1;  // px from the anchor (a symbol's centre) to its label's edge; room kept around each box
  function box(x, y, w, h) { return {left: x - PAD, top: y - PAD, right: x + w + PAD, bottom: y + h + PAD}; }
  function hits(a, b) { return a.left < b.right && b.left < a.right && a.top < b.bottom && b.top < a.bottom; }
  function tip(l) { var t = l.getTooltip(); return t && map.hasLayer(l) && t.getElement() ? t : null; }
  function place() {
    var on = layers.filter(tip), taken = [];
    // a symbol shown is in every other label's way; its box from its position (its path moves only at moveend)
    on.forEach(function (labelled) {
      (labelled.getLayers ? labelled.getLayers() : [labelled]).forEach(function (l) {  // the viewer's: a group
        var e = l.getElement && l.getElement();
        if (e && e.classList.contains('lantu-symbol-shown')) {
          var p = map.latLngToContainerPoint(l.getLatLng()), r = l.getRadius() + l.options.weight / 2;
          taken.push(box(p.x - r, p.y - r, 2 * r, 2 * r));
        }
      });
    });
    var sizes = on.map(function (l) {
      var r = tip(l).getElement().getBoundingClientRect(); return [r.width, r.height];
    });
    var offsets = on.map(function (l, k) {
      var p = map.latLngToContainerPoint(tip(l).getLatLng()), w = sizes[k][0], h = sizes[k][1];
      // right, left, above, below: the label's centre from the anchor
      var places = [[GAP + w / 2, 0], [-GAP - w / 2, 0], [0, -GAP - h / 2], [0, GAP + h / 2]];
      for (var i = 0; i < places.length; i++) {
        var b = box(p.x + places[i][0] - w / 2, p.y + places[i][1] - h / 2, w, h);
        if (!taken.some(function (a) { return hits(a, b); })) { taken.push(b); return places[i]; }
      }
      return null;  // hidden at this zoom, shown on its right while the pointer is on its layer
    });
    on.forEach(function (l, k) {
      var t = tip(l), o = offsets[k] || [GAP + sizes[k][0] / 2, 0], now = L.point(t.options.offset);
      t.getElement().classList.toggle('lantu-label-hidden', !offsets[k]);
      if (t.options.direction !== 'center' || now.x !== o[0] || now.y !== o[1]) {
        t.options.direction = 'center'; t.options.offset = o; t.update();
      }
    });
  }
  layers.forEach(function (l) {
    function show(on) { var t = tip(l); if (t) { t.getElement().classList.toggle('lantu-label-hover', on); } }
    l.on('mouseover', function () { show(true); }); l.on('mouseout', function () { show(false); });
  });
  map.on('zoomend overlayadd', place); place();
  return function () { map.off('zoomend overlayadd', place); };
}"""


def _declutter_labels(fmap: folium.Map, symbols: list[str]) -> None:
    """Labels that never cover one another nor a symbol shown: on every zoom each label (the symbols'
    permanent tooltips, in ``symbols``' order: the worse parcel first) takes the first of right, left,
    above and below its symbol where it covers no symbol and no label placed before it, else it is hidden
    until a zoom where it fits (shown while the pointer is on its symbol): :data:`DECLUTTER_JS`."""
    if symbols:
        add_script(fmap, f"({DECLUTTER_JS})({fmap.get_name()}, [{','.join(symbols)}]);")


class Verbatim(Element):
    """Text put on the page as it is. branca renders what an element outputs as a Jinja template once
    more (``Element(text)``), so user text there would run: a parcel named ``{{ lipsum.__globals__… }}``
    ran Python in the server. Lantu's own scripts and panels, which carry the users' words, go on the
    page through this instead."""

    def __init__(self, text: str) -> None:
        super().__init__()
        self.text = text

    def render(self, **kwargs: Any) -> str:
        return self.text


class _Script(MacroElement):
    """Plain JavaScript run after everything added to the map before it, put on the page verbatim."""

    def __init__(self, code: str) -> None:
        super().__init__()  # type: ignore[no-untyped-call]  # branca ships no annotations
        self.code = code

    def render(self, **kwargs: Any) -> str:
        page(self).script.add_child(Verbatim(self.code), name=self.get_name())
        return ""  # what an element added to the map renders is the page's, not its own


def add_script(fmap: folium.Map, code: str) -> None:
    """Run ``code`` once the map and the layers added so far exist (in the page's script section)."""
    _Script(code).add_to(fmap)


def page(element: Element) -> Figure:
    """The HTML page a map (or an element on it) renders into (header, body and script sections)."""
    return cast(Figure, element.get_root())


def map_html(fmap: folium.Map) -> str:
    return str(fmap.get_root().render())


def quota_map(
    counties: gpd.GeoDataFrame,
    summary: list[dict[str, Any]],
    *,
    year: int,
    tiles: str = "auto",
    tianditu_key: str | None = None,
    assets: str = "inline",
    synthetic: bool = False,
) -> folium.Map:
    """Counties (``code``, ``name``) coloured by remaining 新增建设用地指标, with the used share in popups; a county
    with neither a balance nor a project holding any in grey, apart from one whose projects hold it all (the
    scale's lightest green); ``synthetic``: the blueprint is the demo's, said in the legend as every map says it."""
    by_code = {row["code"]: row for row in summary}
    frame = counties.to_crs(4490)
    values = [by_code.get(str(c), {}).get("remaining_m2", 0.0) for c in frame["code"]]
    top = max(max(values, default=0.0), 1.0)
    scale = LinearColormap(["#f7fcf5", "#74c476", "#00441b"], vmin=0.0, vmax=top)
    none_colour = "#bdbdbd"
    minx, miny, maxx, maxy = (float(v) for v in frame.total_bounds)
    fmap = base_map((minx, miny, maxx, maxy), tiles=tiles, tianditu_key=tianditu_key, assets=assets)
    group = folium.FeatureGroup(name=f"{year} 年新增建设用地指标余额", show=True)
    popups: list[tuple[str, str, dict[str, Any]]] = []
    tooltips: list[tuple[str, str, dict[str, Any]]] = []
    for code, name, geom, value in zip(frame["code"], frame["name"], frame.geometry, values, strict=True):
        info = by_code.get(str(code), {})
        used, share = info.get("used_m2", 0.0), info.get("used_share", 0.0)
        fill = none_colour if value == 0 and used == 0 else scale(value)
        left, held = Area(value), Area(used)
        shape = folium.GeoJson(
            {"type": "Feature", "geometry": shapely.geometry.mapping(geom), "properties": {}},
            style_function=lambda _f, c=fill: {
                "color": "#333",
                "weight": 1,
                "fillColor": c,
                "fillOpacity": 0.75,
            },
        ).add_to(group)
        tip = f"{name}：剩余 {left.m2_text} m²（{left.mu_text} 亩），已用 {share:.0%}"
        tooltips.append((shape.get_name(), _e(tip), {"sticky": True}))
        popups.append(
            (
                shape.get_name(),
                f"<b>{_e(str(name))}（{_e(str(code))}）</b><br>{year} 年新增建设用地指标<br>"
                f"剩余 {_e(left.zh)}<br>项目占用 {_e(held.zh)}，已用占比 {share:.1%}",
                {},
            )
        )
    group.add_to(fmap)
    _bind(fmap, "bindTooltip", tooltips)
    _bind(fmap, "bindPopup", popups)
    stops = "".join(
        f"<span style='display:inline-block;width:24px;height:10px;background:{scale(top * i / 4)}'></span>"
        for i in range(5)
    )
    rows = f"<div class='lantu-legend-head'>{year} 年新增建设用地指标余额（m²）</div>{stops}<br>0 … {top:,.0f}"
    rows += f"<div class='lantu-legend-entry' data-quota='none'>{_swatch(none_colour)}无余额，亦无项目占用</div>"
    if synthetic:
        rows += f"<div class='lantu-legend-note'>{SYNTHETIC_NOTE_ZH}</div>"
    _legend_control(fmap, rows)
    return fmap
