"""Hostile parcel ids, names and messages are data in every renderer (issue 15, findings 1 and 2).

PDF: ReportLab parses Paragraph text as markup, so an unescaped ``<img src="/dev/zero"/>``
reads /dev/zero until memory runs out (rendered here in a child with an address-space
limit), ``<a href>`` becomes a link and ``<b>`` without its end tag raises.
Map: the page is opened in headless Chromium with every non-file request blocked; no
script may run, no request may leave and the hostile text must show as text.
"""

from __future__ import annotations

import io
import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import geopandas as gpd
import pypdf
import pytest
import shapely

from geo.blueprint import Blueprint, VectorLayer
from geo.maps import blueprint_map, js_literal, map_html, quota_map, review_map
from geo.report import review_report
from geo.report_pdf import review_report_pdf
from geo.review import ReviewResult, review

X0, Y0 = 464_000.0, 3_918_000.0  # the fixture blueprint's origin in EPSG:4548 (see tests/conftest.py)

DEV_ZERO = '<img src="/dev/zero"/>'
LINK = '<a href="javascript:alert(1)">x</a>'
OPEN_TAG = "工业园<b>"
HOSTILE_IDS = [
    "P${new Image().src='http://x/'}",
    "</script><script>alert(1)</script>",
    "<img src=x onerror=alert(1)>",
]
HOSTILE_TEXT = [
    "`${alert(2)}`",
    "</script><img src=x onerror=alert(3)>",
    "<svg onload=alert(4)>\u2028'\"&amp;",
]


def km_box(x1: float, y1: float, x2: float, y2: float) -> shapely.Polygon:
    return shapely.box(X0 + x1 * 1000, Y0 + y1 * 1000, X0 + x2 * 1000, Y0 + y2 * 1000)


def hostile_review(blueprint: Blueprint, ids: list[str], names: list[str]) -> ReviewResult:
    boxes = [km_box(2.9, 0.1, 3.1, 0.3), km_box(1.0, 1.0, 1.2, 1.2), km_box(1.9, 1.9, 2.1, 2.1)]
    frame = gpd.GeoDataFrame(
        {"id": ids, "name": names, "project_type": ["industrial"] * len(ids)},
        geometry=boxes[: len(ids)],
        crs=4548,
    )
    result = review(frame.assign(name=[n.replace("\u2028", " ") for n in names]), blueprint)  # names are one line
    for parcel, name in zip(result.parcels, names, strict=True):
        parcel.name = name  # as a result stored before names were one line: every renderer still escapes it
    return result


def pdf_text(pdf: bytes) -> str:
    return re.sub(r"\s+", "", "".join(p.extract_text() for p in pypdf.PdfReader(io.BytesIO(pdf)).pages))


# --- PDF -------------------------------------------------------------------------------------------

CHILD = textwrap.dedent(
    """
    import resource, sys
    limit = int(sys.argv[3])
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    from pathlib import Path
    from geo.report_pdf import review_report_pdf
    from geo.review import ReviewResult
    result = ReviewResult.model_validate_json(Path(sys.argv[1]).read_text(encoding="utf-8"))
    Path(sys.argv[2]).write_bytes(review_report_pdf(result))
    """
)


def test_pdf_does_not_load_an_image_named_by_the_user(blueprint: Blueprint, tmp_path: Path) -> None:
    """Before the fix the child read /dev/zero until the 1.5 GB limit (MemoryError) or the timeout."""
    result = hostile_review(blueprint, ["P1"], [DEV_ZERO])
    source, out = tmp_path / "result.json", tmp_path / "report.pdf"
    source.write_text(result.model_dump_json(), encoding="utf-8")
    done = subprocess.run(
        [sys.executable, "-c", CHILD, str(source), str(out), str(1536 * 1024 * 1024)],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=Path(__file__).parents[1],
        env=os.environ | {"PYTHONPATH": str(Path(__file__).parents[1])},
    )
    assert done.returncode == 0, done.stderr[-2000:]
    pdf = out.read_bytes()
    assert len(pdf) < 2_000_000
    reader = pypdf.PdfReader(io.BytesIO(pdf))
    assert all("/XObject" not in (page.get("/Resources") or {}) for page in reader.pages)
    assert re.sub(r"\s+", "", DEV_ZERO) in pdf_text(pdf)


def test_pdf_makes_no_link(blueprint: Blueprint) -> None:
    pdf = review_report_pdf(hostile_review(blueprint, ["P1", LINK], [LINK, "物流园"]))
    reader = pypdf.PdfReader(io.BytesIO(pdf))
    assert all("/Annots" not in page for page in reader.pages)
    assert b"javascript" not in pdf.lower()
    assert re.sub(r"\s+", "", LINK) in pdf_text(pdf)


def test_pdf_survives_an_open_tag(blueprint: Blueprint) -> None:
    pdf = review_report_pdf(hostile_review(blueprint, ["P1", "P2<b>"], [OPEN_TAG, "</para>&nbsp;&#0;"]))
    text = pdf_text(pdf)
    assert OPEN_TAG in text and "P2<b>" in text and "</para>&nbsp;&#0;" in text


# --- HTML report -----------------------------------------------------------------------------------


def test_html_report_shows_hostile_text_as_text(blueprint: Blueprint) -> None:
    result = hostile_review(blueprint, HOSTILE_IDS, HOSTILE_TEXT)
    for parcel in result.parcels:
        parcel.items[0].message_zh = HOSTILE_TEXT[1]
    page = review_report(result)
    assert "<script>alert" not in page and "<img src=x" not in page and "<svg onload" not in page
    assert "&lt;/script&gt;&lt;script&gt;alert(1)&lt;/script&gt;" in page  # in the table and the sketch label
    assert page.count("&lt;img src=x onerror=alert(1)&gt;") >= 3  # summary, heading, sketch


# --- map in a browser ------------------------------------------------------------------------------


def test_js_literal_cannot_close_a_script() -> None:
    literal = js_literal("</script><!-- & \u2028\u2029")
    assert "<" not in literal and ">" not in literal and "&" not in literal
    assert "\u2028" not in literal and "\u2029" not in literal


OPEN_ALL = """() => {
    const seen = [];
    const layers = Object.keys(window).filter(k => k.startsWith('geo_json_')).map(k => window[k]);
    for (const group of layers) {
        if (!group || !group.eachLayer) continue;
        const each = [group];
        group.eachLayer(l => each.push(l));
        for (const l of each) {
            if (l.getTooltip && l.getTooltip()) {
                l.openTooltip(l.getBounds ? l.getBounds().getCenter() : undefined);
                document.querySelectorAll('.leaflet-tooltip').forEach(t => seen.push(t.textContent));
                l.closeTooltip();
            }
            if (l.getPopup && l.getPopup()) {
                l.openPopup(l.getBounds ? l.getBounds().getCenter() : undefined);
                document.querySelectorAll('.leaflet-popup-content').forEach(t => seen.push(t.textContent));
                l.closePopup();
            }
        }
    }
    return seen;
}"""


def assert_inert(browser: Any, file: Path) -> list[str]:
    """Open ``file`` with every non-file request blocked; assert nothing ran or left, return popup/tooltip texts."""
    page = browser.new_page()
    outside: list[str] = []
    dialogs: list[str] = []
    errors: list[str] = []

    def gate(route: Any) -> None:
        url = route.request.url
        if url.startswith(("file:", "data:")):
            route.continue_()
        else:
            outside.append(url)
            route.abort()

    page.route("**/*", gate)
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto(file.as_uri(), wait_until="load")
    page.wait_for_timeout(300)
    drawn = page.locator(".leaflet-container").count()
    shown: list[str] = page.evaluate(OPEN_ALL) if drawn else []
    page.wait_for_timeout(500)  # an injected <img onerror> fires after the load
    page.close()

    assert outside == []
    assert dialogs == []
    assert errors == []
    assert drawn == 1
    return shown


@pytest.mark.parametrize("case", [0, 1, 2, None], ids=["template-literal", "close-script", "img-onerror", "all"])
def test_map_runs_no_hostile_script(case: int | None, blueprint: Blueprint, browser: Any, tmp_path: Path) -> None:
    """Each payload alone (one must not hide another by breaking the page first), then all together."""
    ids, names = (HOSTILE_IDS, HOSTILE_TEXT) if case is None else ([HOSTILE_IDS[case]], [HOSTILE_TEXT[case]])
    result = hostile_review(blueprint, ids, names)
    for parcel, name in zip(result.parcels, names, strict=True):
        for item in parcel.items:
            item.message_zh = name
    file = tmp_path / "map.html"
    file.write_text(map_html(review_map(result, blueprint, tiles="none")), encoding="utf-8")

    shown = assert_inert(browser, file)
    text = "\n".join(shown).replace("\u2028", "")
    for hostile in ids + names:
        assert hostile.replace("\u2028", "") in text, hostile


def test_quota_map_shows_hostile_county_names_as_text(browser: Any, tmp_path: Path) -> None:
    names = ["<img src=x onerror=alert(5)>", "${alert(6)}</script>"]
    counties = gpd.GeoDataFrame(
        {"code": ["370811", "370812"], "name": names},
        geometry=[km_box(0, 0, 5, 5), km_box(5, 0, 10, 5)],
        crs=4548,
    )
    summary = [{"code": "370811", "remaining_m2": 1000.0, "used_m2": 10.0, "used_share": 0.01}]
    file = tmp_path / "quota.html"
    file.write_text(map_html(quota_map(counties, summary, year=2025, tiles="none")), encoding="utf-8")
    text = "\n".join(assert_inert(browser, file))
    assert all(name in text for name in names)


def test_blueprint_layer_attributes_show_as_text(browser: Any, tmp_path: Path) -> None:
    """Layer tooltips (folium GeoJsonTooltip writes values into innerHTML) get escaped values and names."""
    value, column = "<img src=x onerror=alert(8)>", "<b onclick=alert(9)>名称</b>"
    jinja_column, jinja_value = "{{ 'lan' ~ 'tu-ran' }}", "{% raw %}{{ 7*7 }}{# open"  # data, not a template
    frame = gpd.GeoDataFrame(
        {"code": ["370811"], "name": [value], column: ["${alert(10)}"], jinja_column: [jinja_value]},
        geometry=[km_box(0, 0, 5, 5)],
        crs=4548,
    ).to_crs(4490)
    hostile = Blueprint(
        "<script>alert(11)</script>", tmp_path, None, {"urban_boundary": VectorLayer("urban_boundary", frame, tmp_path)}
    )
    file = tmp_path / "blueprint.html"
    file.write_text(map_html(blueprint_map(hostile, tiles="none")), encoding="utf-8")
    text = "\n".join(assert_inert(browser, file))
    assert value in text and column in text and "${alert(10)}" in text
    assert jinja_column in text and jinja_value in text
