"""Base maps and the legend in the rendered HTML (no browser): 天地图 with a key, the offline base
without one, OpenStreetMap only when asked, and a legend entry for every layer drawn."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest
from support import parcel_frame, rect

import geo.maps as maps
from geo.blueprint import Blueprint, VectorLayer, load_blueprint
from geo.catalog import landuse_classes
from geo.maps import DECLUTTER_JS, SYMBOLS_JS, blueprint_map, map_html, resolve_tiles, review_map, view_zoom
from geo.review import review
from geo.vocabulary import LAYER_COLOURS

BASE = "离线底图（县界、水系）"


def _has(page: str, text: str) -> bool:
    """``text`` in the page as written or as folium's JSON-escaped string."""
    return text in page or json.dumps(text)[1:-1] in page


@pytest.mark.parametrize(
    ("tiles", "key", "chosen"),
    [
        ("auto", None, "offline"),
        ("auto", "k", "tianditu"),
        ("tianditu", "k", "tianditu"),
        ("none", "k", "offline"),
        ("offline", "k", "offline"),
        ("osm", None, "osm"),
    ],
)
def test_base_choice(tiles: str, key: str | None, chosen: str) -> None:
    assert resolve_tiles(tiles, key) == chosen


def test_unknown_base_is_refused() -> None:
    with pytest.raises(ValueError, match="tiles must be one of"):
        resolve_tiles("google", None)


def test_tianditu_vector_and_annotation_with_the_key(blueprint: Blueprint) -> None:
    result = review(parcel_frame(rect(2.9, 0.1, 3.1, 0.3), id="B"), blueprint)
    page = map_html(review_map(result, blueprint, tianditu_key="KEY123"))
    assert "tianditu.gov.cn/vec_w/wmts" in page and "tianditu.gov.cn/cva_w/wmts" in page and "tk=KEY123" in page
    assert "openstreetmap" not in page.lower()
    assert _has(page, BASE)  # still there, as the other base


def test_no_key_means_no_tiles_and_an_offline_base(blueprint: Blueprint) -> None:
    page = map_html(blueprint_map(blueprint))
    assert "tianditu" not in page and "openstreetmap" not in page.lower() and "L.tileLayer" not in page
    assert _has(page, BASE) and "lantu-base" in page
    for layer_id in ("basic_farmland", "ecological_redline", "county"):
        assert f"data-layer=\\u0027{layer_id}\\u0027" in page or f"data-layer='{layer_id}'" in page
    assert "imperial: false" in page


def test_legend_swatches_have_the_fills_opacity(blueprint: Blueprint) -> None:
    """The legend's swatches were opaque over translucent fills: each now carries its fill's opacity
    (pieces 0.6, the blueprint's layers 0.25, the offline base opaque)."""

    frame = parcel_frame(rect(2.9, 0.1, 3.1, 0.3), project_type="industrial")  # on basic farmland: fail pieces
    page = map_html(review_map(review(frame, blueprint), blueprint))
    page = page.replace("\\u0027", "'").replace("\\u003e", ">").replace("\\u003c", "<")  # as the legend's JS has it
    entries = dict(
        re.findall(r"data-(?:status|layer|base)='([\w_]+)'><span class='lantu-swatch' style='([^']*)'", page)
    )
    alpha = {key: float(m[1]) for key, style in entries.items() if (m := re.search(r"rgba\([\d,]+,([\d.]+)\)", style))}
    fill = {float(v) for v in re.findall(r'"fillColor": "#[0-9a-f]{6}", "fillOpacity": ([\d.]+)', page)}
    assert alpha["fail"] == alpha["warn"] == 0.6 and alpha["basic_farmland"] == 0.25 and alpha["county"] == 1.0
    assert {0.6, 0.25} <= fill  # the opacities the features are drawn with


def _contrast_on_white(colour: str) -> float:
    """WCAG's contrast ratio of a colour against white."""
    channels = [int(colour[k : k + 2], 16) / 255 for k in (1, 3, 5)]
    r, g, b = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 1.05 / (0.2126 * r + 0.7152 * g + 0.0722 * b + 0.05)


def test_the_popups_status_words_read_on_white(blueprint: Blueprint) -> None:
    """The popup wrote 有条件 in the map's amber, 1.9:1 on white (a fresh pair of eyes): a status word is written in
    the text colours (4.5:1 at least, WCAG AA), the PDF's too, and the popup's notes are not bold."""
    from geo.vocabulary import STATUS_TEXT_COLOURS

    assert all(_contrast_on_white(c) >= 4.5 for c in STATUS_TEXT_COLOURS.values()), STATUS_TEXT_COLOURS
    frame = parcel_frame(rect(2.9, 0.1, 3.1, 0.3), project_type="industrial")  # on basic farmland: fail pieces
    page = map_html(review_map(review(frame, blueprint), blueprint))
    page = page.replace("\\u0027", "'").replace("\\u003e", ">").replace("\\u003c", "<")
    said = set(re.findall(r"<td class='st' style='color:(#[0-9a-f]{6})'>", page))
    assert said and said <= set(STATUS_TEXT_COLOURS.values())
    assert "lantu-popup-note" in page and "<br><b>" not in page


@pytest.mark.parametrize(("code", "name"), [(DECLUTTER_JS, "lantuDeclutter"), (SYMBOLS_JS, "lantuSymbolsWhenSmall")])
def test_one_label_placement_and_symbols_for_the_result_map_and_the_viewer(
    blueprint: Blueprint, code: str, name: str
) -> None:
    """The result map (a file that works offline) inlines the label placement and the symbols shown while a
    parcel is small; the viewer's page carries the same functions for its results (``viewer.js``)."""
    from api.routes.pages import build_viewer
    from api.settings import Settings

    result = review(parcel_frame(rect(2.9, 0.1, 3.1, 0.3), id="B"), blueprint)
    assert f"({code})(" in map_html(review_map(result, blueprint))
    assert f"window.{name} = {code};" in build_viewer(blueprint, Settings(blueprint=blueprint.root, tiles="none"))


def test_quota_map_says_synthetic_and_tells_no_quota_from_quota_used_up() -> None:
    """The quota map said neither that the demo blueprint is synthetic (every other map does) nor which county had
    no quota at all: it wore the same lightest green as one whose projects hold all of it (the notebooks' fresh
    pair of eyes); its popup gave m² and 亩 for the balance, m² alone for the land used."""
    import geopandas as gpd

    from geo.maps import SYNTHETIC_NOTE_ZH, quota_map

    counties = gpd.GeoDataFrame(
        {"code": ["A", "B", "C"], "name": ["甲县", "乙县", "丙县"]},
        geometry=[rect(0, 0, 1, 1), rect(1, 0, 2, 1), rect(2, 0, 3, 1)],
        crs=4490,
    )
    summary = [
        {"code": "A", "remaining_m2": 50_000.0, "used_m2": 10_000.0, "used_share": 1 / 6},
        {"code": "B", "remaining_m2": 0.0, "used_m2": 20_000.0, "used_share": 1.0},  # its projects hold it all
        {"code": "C", "remaining_m2": 0.0, "used_m2": 0.0, "used_share": 0.0},  # none at all
    ]
    plain = map_html(quota_map(counties, summary, year=2026, tiles="none"))
    demo = map_html(quota_map(counties, summary, year=2026, tiles="none", synthetic=True))
    assert not _has(plain, SYNTHETIC_NOTE_ZH) and _has(demo, SYNTHETIC_NOTE_ZH)
    fills = re.findall(r'"fillColor": "(#[0-9a-f]{6})', plain)
    assert len(fills) == 3 and len(set(fills)) == 3, fills  # three counties, three colours: none, used up, some left
    assert fills[2] == "#bdbdbd" and _has(plain, "无余额，亦无项目占用")
    assert _has(plain, "项目占用 10,000.00 m²（1.0000 公顷，15.00 亩）")
    assert _has(plain, "剩余 50,000.00 m²（5.0000 公顷")


def test_a_callers_layers_given_to_review_map_are_drawn_before_its_layer_control(blueprint: Blueprint) -> None:
    """A layer a notebook added to review_map's map came after the layer control, which named it before the page
    drew it: the page stopped there (TypeError …setZIndex), legend and 合成数据 note lost. Given as ``overlays`` it
    is drawn first and listed."""
    import folium

    frame = parcel_frame(rect(2.9, 0.1, 3.1, 0.3), project_type="industrial")
    region = folium.GeoJson(rect(2.8, 0.0, 3.2, 0.4).__geo_interface__, name="可行区域 regions")
    page = map_html(review_map(review(frame, blueprint), blueprint, tiles="none", overlays=[region]))
    drawn = page.index(f"var {region.get_name()} = ")
    listed = re.search(r"overlays\s*:\s*\{[^}]*" + re.escape(region.get_name()), page)
    assert listed is not None and drawn < listed.start()


# a 图斑's class as a page's data writes it (its code with its name, quoted): a bare "0101" may stand in the hex of
# folium's element names, and the viewer's table of class names holds it as a key
LAND_USE_CODE = json.dumps(f"0101 {landuse_classes()['0101'].name_zh}")


def test_a_layer_too_large_for_a_page_is_left_out_and_named(
    blueprint_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A city's 三调 (10⁶ 图斑) written into the viewer's page took the service past 8 GB and no browser could draw
    it: a layer with more features than a page holds is left out of a page written to a file, the legend naming it
    and its count; no layer is reprojected whole to draw the others."""
    bp = load_blueprint(blueprint_dir)
    assert LAND_USE_CODE in map_html(blueprint_map(bp))  # a page that holds the layer carries its codes
    monkeypatch.setattr(maps, "EMBED_FEATURES", 10)  # the test blueprint's land use has 50 图斑
    bp = load_blueprint(blueprint_dir)
    page = map_html(blueprint_map(bp)).replace("\\u0027", "'").replace("\\u003c", "<").replace("\\u003e", ">")
    assert "data-left-out='land_use'>" in page and "（三调地类图斑） 50 个 features" in page
    assert LAND_USE_CODE not in page and "lantuLayersByView" not in page  # no 图斑 of it on the page
    assert "data-layer='water_source'" in page  # the small layers drawn
    assert all(4490 not in layer.zones for layer in bp.layers.values() if isinstance(layer, VectorLayer))


def test_the_services_viewer_loads_a_large_layer_view_by_view(
    blueprint_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With ``by_view`` (the page the service serves) the large layer is an empty toggle the page's script fills from
    the layer's API for each view, from the zoom at which a screen holds about a page of its features."""
    monkeypatch.setattr(maps, "EMBED_FEATURES", 10)
    bp = load_blueprint(blueprint_dir)
    page = map_html(blueprint_map(bp, by_view=True))
    spec = re.search(r"lantuLayersByView \|\| \[\]\)\.push\(Object\.assign\((\{.*?\}), \{group: ", page, re.S)
    assert spec is not None
    found = json.loads(spec.group(1))
    bounds = tuple(
        np.nanmin([lyr.bounds_4490 for lyr in bp.layers.values() if isinstance(lyr, VectorLayer)], axis=0)[:2]
    ) + tuple(np.nanmax([lyr.bounds_4490 for lyr in bp.layers.values() if isinstance(lyr, VectorLayer)], axis=0)[2:])
    zoom = view_zoom(50, bounds)  # type: ignore[arg-type]
    assert found == {
        "id": "land_use",
        "name": "土地利用现状（三调地类图斑）",
        "colour": LAYER_COLOURS["land_use"],
        "minZoom": zoom,
        "classNames": {code: cls.name_zh for code, cls in landuse_classes().items()},  # its tooltips: 0101 水田
    }
    assert f"（三调地类图斑） 第 {zoom} 级起显示 / from zoom {zoom}" in page and LAND_USE_CODE not in page


@pytest.mark.parametrize(
    ("features", "side_deg", "zoom"),
    [
        (1_000_000, 1.0, 16),  # a city's 三调, 1 ha a 图斑: a screen spans 1,500 ha at zoom 15 (36°N), 380 at 16
        (1_000, 1.0, 0),  # a page of features: drawn from the start
        (10**12, 1.0, 18),  # never fewer: loaded from the closest zoom
    ],
)
def test_the_zoom_a_large_layer_is_loaded_from(features: int, side_deg: float, zoom: int) -> None:
    assert view_zoom(features, (116.0, 35.5, 116.0 + side_deg, 35.5 + side_deg)) == zoom
