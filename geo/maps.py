"""Folium maps of review results: the parcel, its conflict pieces coloured by
status, the blueprint's layers as toggles, popups with findings and a legend."""

from __future__ import annotations

import base64
import html
import importlib.util
import json
from functools import cache
from pathlib import Path
from typing import Any, cast

import folium
import geopandas as gpd
import numpy as np
import shapely
from branca.colormap import LinearColormap
from branca.element import Element, Figure, MacroElement
from jinja2 import Template

from geo.blueprint import Blueprint, VectorLayer
from geo.catalog import layer_catalog
from geo.crs import M2_PER_MU
from geo.report_model import ParcelReport, report_model
from geo.review.result import ReviewResult
from geo.vocabulary import LAYER_COLOURS, STATUS_COLOURS, STATUS_ZH

SHOWN = ("urban_boundary", "basic_farmland", "ecological_redline")


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
        css = "data:text/css;base64," + base64.b64encode((folder / "leaflet.css").read_bytes()).decode()
    else:
        js, css = f"{assets}/leaflet.js", f"{assets}/leaflet.css"
    fmap.default_js = [("leaflet", js)]
    fmap.default_css = [("leaflet_css", css)]


def base_map(
    bounds: tuple[float, float, float, float],
    *,
    tiles: str = "osm",
    tianditu_key: str | None = None,
    assets: str = "inline",
) -> folium.Map:
    """An empty map fitted to ``bounds`` (lon/lat); the page works without tiles too."""
    minx, miny, maxx, maxy = bounds
    fmap = folium.Map(
        location=[(miny + maxy) / 2, (minx + maxx) / 2], tiles=None, control_scale=True, prefer_canvas=True
    )
    _use_leaflet(fmap, assets)
    if tiles == "tianditu" and tianditu_key:
        folium.TileLayer(
            tiles=f"https://t{{s}}.tianditu.gov.cn/vec_w/wmts?SERVICE=WMTS&REQUEST=GetTile&VERSION=1.0.0"
            f"&LAYER=vec&STYLE=default&TILEMATRIXSET=w&FORMAT=tiles&TILEMATRIX={{z}}&TILEROW={{y}}"
            f"&TILECOL={{x}}&tk={tianditu_key}",
            attr="天地图",
            name="天地图矢量",
            subdomains="01234567",
        ).add_to(fmap)
    elif tiles == "osm":
        folium.TileLayer("OpenStreetMap", name="OpenStreetMap").add_to(fmap)
    fmap.fit_bounds([[miny, minx], [maxy, maxx]])
    return fmap


def _layer_group(
    layer: VectorLayer, bounds: tuple[float, float, float, float], *, show: bool, simplify_deg: float
) -> folium.FeatureGroup | None:
    indexed = layer.in_crs(4490)
    frame, hits = indexed.frame, indexed.tree.query(shapely.box(*bounds))
    if len(hits) == 0:
        return None
    part = frame.iloc[hits].copy()
    clipped = shapely.clip_by_rect(part.geometry.values, *bounds)
    part["geometry"] = shapely.simplify(clipped, simplify_deg) if simplify_deg else clipped
    part = part[~part.geometry.is_empty]
    if part.empty:  # envelopes met the bounds, shapes did not: no group (an empty one breaks the tooltip)
        return None
    info = layer_catalog()[layer.id]
    colour = LAYER_COLOURS.get(layer.id, "#555555")
    group = folium.FeatureGroup(name=f"{info.name_zh}", show=show)
    fields = [c for c in part.columns if c != "geometry"]
    for field in fields:  # folium's GeoJsonTooltip writes values into innerHTML: hand it escaped text
        part[field] = [html.escape(str(v)) for v in part[field]]
    folium.GeoJson(
        part.__geo_interface__,
        style_function=lambda _f, c=colour: {"color": c, "weight": 1, "fillColor": c, "fillOpacity": 0.25},
        tooltip=folium.GeoJsonTooltip(fields=fields, aliases=[html.escape(f) for f in fields]) if fields else None,
        name=info.name_zh,
    ).add_to(group)
    return group


def add_layers(
    fmap: folium.Map, blueprint: Blueprint, bounds: tuple[float, float, float, float], *, simplify_deg: float
) -> None:
    """Every vector layer of the blueprint within ``bounds`` as a toggle (a few shown at first)."""
    for layer_id, layer in blueprint.layers.items():
        if isinstance(layer, VectorLayer):
            group = _layer_group(layer, bounds, show=layer_id in SHOWN, simplify_deg=simplify_deg)
            if group is not None:
                group.add_to(fmap)


def blueprint_map(
    blueprint: Blueprint,
    *,
    tiles: str = "osm",
    tianditu_key: str | None = None,
    assets: str = "inline",
    simplify_deg: float = 3e-5,
) -> folium.Map:
    """The whole blueprint with layer toggles, opened on the control layers (the viewer page starts here)."""
    vectors = {layer_id: layer for layer_id, layer in blueprint.layers.items() if isinstance(layer, VectorLayer)}
    control = [layer for layer_id, layer in vectors.items() if layer_id != "county"] or list(vectors.values())
    everything = _bounds([layer.in_crs(4490).frame for layer in vectors.values()])
    fmap = base_map(
        _bounds([layer.in_crs(4490).frame for layer in control]), tiles=tiles, tianditu_key=tianditu_key, assets=assets
    )
    add_layers(fmap, blueprint, everything, simplify_deg=simplify_deg)
    folium.LayerControl(collapsed=True).add_to(fmap)
    page(fmap).html.add_child(_legend(blueprint.synthetic))
    return fmap


def _bounds(frames: list[gpd.GeoDataFrame]) -> tuple[float, float, float, float]:
    """The box around every frame (lon/lat); all of China when there are none."""
    boxes = [f.total_bounds for f in frames if len(f)] or [np.array([73.0, 3.0, 136.0, 54.0])]
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


def _e(text: str) -> str:
    return html.escape(text, quote=True)


def _popup(p: ParcelReport) -> str:
    """A parcel's popup: the report model's heading, facts, notes and item rows (the HTML report's words)."""
    rows = "".join(
        f"<tr><td>{_e(i.index)}</td><td>{_e(i.name)}</td><td style='color:{STATUS_COLOURS[i.status]}'>"
        f"{_e(i.status_label)}</td><td>{_e(i.overlap_m2)} m²</td><td>{_e(i.share)}</td><td>{_e(i.message)}</td></tr>"
        for i in p.items
    )
    facts = "；".join(_e(f.text) for f in p.facts)
    notes = "".join(f"<br><b>{_e(n)}</b>" for n in p.notes)
    return (
        f"<b>{_e(p.heading)}</b><br>{facts}{notes}"
        f"<table style='font-size:11px'><tr><th>#</th><th>审查项</th><th>结果</th><th>涉及面积</th>"
        f"<th>占比</th><th>说明</th></tr>{rows}</table>"
    )


def _bind(fmap: folium.Map, method: str, bindings: list[tuple[str, str, dict[str, Any]]]) -> None:
    """``layer.bindPopup``/``bindTooltip`` in plain Leaflet (folium.Popup needs jQuery, folium.Tooltip puts
    its text into a JS template literal); the HTML content is passed as a :func:`js_literal`."""
    add_script(
        fmap,
        "".join(f"{name}.{method}({js_literal(content)}, {js_literal(opts)});" for name, content, opts in bindings),
    )


def _legend(synthetic: bool) -> Element:
    items = "".join(
        f"<div><span style='background:{c};display:inline-block;width:12px;height:12px;margin-right:4px'>"
        f"</span>{STATUS_ZH[s]} {s}</div>"
        for s, c in STATUS_COLOURS.items()
    )
    return Element(
        "<div id='lantu-legend' style='position:fixed;bottom:20px;left:10px;z-index:9999;background:white;"
        f"padding:6px 8px;border:1px solid #999;font-size:12px'><b>审查结果图例</b>{items}"
        + ("<div style='margin-top:4px;color:#555'>示例蓝图：管控图层为合成数据</div>" if synthetic else "")
        + "</div>"
    )


def review_map(
    result: ReviewResult,
    blueprint: Blueprint | None = None,
    *,
    tiles: str = "osm",
    tianditu_key: str | None = None,
    margin_deg: float = 0.01,
    assets: str = "inline",
) -> folium.Map:
    """The review on a map; with the blueprint, its layers around the parcels as toggles."""
    parcels = gpd.GeoDataFrame(
        [{"id": p.id, "name": p.name, "verdict": p.verdict} for p in result.parcels],
        geometry=[shapely.geometry.shape(p.geometry) for p in result.parcels],
        crs=4490,
    )
    minx, miny, maxx, maxy = parcels.total_bounds
    bounds = (minx - margin_deg, miny - margin_deg, maxx + margin_deg, maxy + margin_deg)
    fmap = base_map(bounds, tiles=tiles, tianditu_key=tianditu_key, assets=assets)
    if blueprint is not None:
        add_layers(fmap, blueprint, bounds, simplify_deg=1e-5)
    model = report_model(result, synthetic=blueprint is not None and blueprint.synthetic)
    tooltips: list[tuple[str, str, dict[str, Any]]] = []
    conflicts = folium.FeatureGroup(name="冲突图斑（按审查项着色）", show=True)
    for parcel in result.parcels:
        for item in parcel.items:
            for d in item.details:
                if d.geometry is None or d.status == "pass":
                    continue
                piece = folium.GeoJson(
                    {"type": "Feature", "geometry": d.geometry, "properties": {}},
                    style_function=lambda _f, s=d.status: {
                        "color": STATUS_COLOURS[s],
                        "weight": 1,
                        "fillColor": STATUS_COLOURS[s],
                        "fillOpacity": 0.6,
                    },
                ).add_to(conflicts)
                text = f"{parcel.id} · {item.name_zh}：{STATUS_ZH[d.status]} {d.area_m2:,.1f} m²"
                tooltips.append((piece.get_name(), _e(text), {"sticky": True}))
    conflicts.add_to(fmap)
    parcel_group = folium.FeatureGroup(name="审查地块", show=True)
    popups: list[tuple[str, str, dict[str, Any]]] = []
    for parcel, report in zip(result.parcels, model.parcels, strict=True):
        colour = STATUS_COLOURS[report.status]
        outline = folium.GeoJson(
            {"type": "Feature", "geometry": parcel.geometry, "properties": {}},
            style_function=lambda _f, c=colour: {"color": c, "weight": 3, "fillOpacity": 0.05},
        ).add_to(parcel_group)
        tooltips.append((outline.get_name(), _e(f"地块 {parcel.id}：{report.verdict}"), {"sticky": True}))
        popups.append((outline.get_name(), _popup(report), {"maxWidth": 520}))
    parcel_group.add_to(fmap)
    _bind(fmap, "bindTooltip", tooltips)
    _bind(fmap, "bindPopup", popups)
    folium.LayerControl(collapsed=False).add_to(fmap)
    page(fmap).html.add_child(_legend(blueprint is not None and blueprint.synthetic))
    return fmap


class _Script(MacroElement):
    """Plain JavaScript run after everything added to the map before it."""

    _template = Template("{% macro script(this, kwargs) %}{{ this.code }}{% endmacro %}")

    def __init__(self, code: str) -> None:
        super().__init__()  # type: ignore[no-untyped-call]  # branca ships no annotations
        self.code = code


def add_script(fmap: folium.Map, code: str) -> None:
    """Run ``code`` once the map and the layers added so far exist (in the page's script section)."""
    _Script(code).add_to(fmap)


def page(fmap: folium.Map) -> Figure:
    """The HTML page a map renders into (header, body and script sections)."""
    return cast(Figure, fmap.get_root())


def map_html(fmap: folium.Map) -> str:
    return str(fmap.get_root().render())


def quota_map(
    counties: gpd.GeoDataFrame,
    summary: list[dict[str, Any]],
    *,
    year: int,
    tiles: str = "osm",
    tianditu_key: str | None = None,
    assets: str = "inline",
) -> folium.Map:
    """Counties (``code``, ``name``) coloured by remaining 新增建设用地指标, with the used share in popups."""
    by_code = {row["code"]: row for row in summary}
    frame = counties.to_crs(4490)
    values = [by_code.get(str(c), {}).get("remaining_m2", 0.0) for c in frame["code"]]
    top = max(max(values, default=0.0), 1.0)
    scale = LinearColormap(["#f7fcf5", "#74c476", "#00441b"], vmin=0.0, vmax=top)
    minx, miny, maxx, maxy = (float(v) for v in frame.total_bounds)
    fmap = base_map((minx, miny, maxx, maxy), tiles=tiles, tianditu_key=tianditu_key, assets=assets)
    group = folium.FeatureGroup(name=f"{year} 年新增建设用地指标余额", show=True)
    popups: list[tuple[str, str, dict[str, Any]]] = []
    tooltips: list[tuple[str, str, dict[str, Any]]] = []
    for code, name, geom, value in zip(frame["code"], frame["name"], frame.geometry, values, strict=True):
        info = by_code.get(str(code), {})
        used, share = info.get("used_m2", 0.0), info.get("used_share", 0.0)
        fill = scale(value)
        shape = folium.GeoJson(
            {"type": "Feature", "geometry": shapely.geometry.mapping(geom), "properties": {}},
            style_function=lambda _f, c=fill: {
                "color": "#333",
                "weight": 1,
                "fillColor": c,
                "fillOpacity": 0.75,
            },
        ).add_to(group)
        tooltips.append((shape.get_name(), _e(f"{name}：剩余 {value:,.0f} m²，已用 {share:.0%}"), {"sticky": True}))
        popups.append(
            (
                shape.get_name(),
                f"<b>{_e(str(name))}（{_e(str(code))}）</b><br>{year} 年新增建设用地指标<br>"
                f"剩余 {value:,.0f} m²（{value / M2_PER_MU:,.1f} 亩）<br>"
                f"项目占用 {used:,.0f} m²，已用占比 {share:.1%}",
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
    page(fmap).html.add_child(
        Element(
            "<div id='lantu-legend' style='position:fixed;bottom:20px;left:10px;z-index:9999;background:white;"
            f"padding:6px 8px;border:1px solid #999;font-size:12px'><b>{year} 年新增建设用地指标余额（m²）</b><br>"
            f"{stops}<br>0 … {top:,.0f}</div>"
        )
    )
    return fmap
