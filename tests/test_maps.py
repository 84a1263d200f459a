"""Base maps and the legend in the rendered HTML (no browser): 天地图 with a key, the offline base
without one, OpenStreetMap only when asked, and a legend entry for every layer drawn."""

from __future__ import annotations

import json
import re

import pytest
from support import parcel_frame, rect

from geo.blueprint import Blueprint
from geo.maps import DECLUTTER_JS, SYMBOLS_JS, blueprint_map, map_html, resolve_tiles, review_map
from geo.review import review

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
