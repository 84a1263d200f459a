"""User text on a map page is data, never a Jinja template (the hostile probe of 12-05: a parcel named
``{{ lipsum.__globals__.os.getpid() }}`` ran Python in the server, and ``{% raw %}`` made the map a 500).
branca renders what each element outputs as a template once more; lantu's scripts and panels go on
the page verbatim (``geo.maps.Verbatim``) and a layer's attributes as inert HTML text (``html_text``)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import geopandas as gpd
import pytest
import shapely

from geo.blueprint import Blueprint, VectorLayer
from geo.consult.page import consult_page
from geo.maps import blueprint_map, html_text, map_html, quota_map, review_map
from geo.review import ReviewResult, review

X0, Y0 = 464_000.0, 3_918_000.0  # the fixture blueprint's origin in EPSG:4548 (tests/conftest.py)
RAN = "lantu-ran"  # what the first payload renders to if it runs
PAYLOADS = ["{{ 'lan' ~ 'tu-ran' }}", "{% raw %}", "{# an open comment", "{{ lipsum.__globals__.os.getpid() }}"]
# what of each payload a page carries unchanged, whatever escapes its quotes and braces for HTML and JSON
# (the browser test ``test_blueprint_layer_attributes_show_as_text`` reads what a tooltip shows)
SHOWN = ["tu-ran", "% raw %", "an open comment", "lipsum.__globals__.os.getpid()"]


def km_box(x1: float, y1: float, x2: float, y2: float) -> shapely.Polygon:
    return shapely.box(X0 + x1 * 1000, Y0 + y1 * 1000, X0 + x2 * 1000, Y0 + y2 * 1000)


@pytest.fixture(scope="module")
def hostile(blueprint: Blueprint) -> ReviewResult:
    boxes = [km_box(2.9, 0.1, 3.1, 0.3), km_box(1.0, 1.0, 1.2, 1.2), km_box(1.9, 1.9, 2.1, 2.1), km_box(0, 0, 0.2, 0.2)]
    frame = gpd.GeoDataFrame(
        {"id": PAYLOADS, "name": PAYLOADS[::-1], "project_type": ["industrial"] * 4}, geometry=boxes, crs=4548
    )
    return review(frame, blueprint)


def test_parcel_ids_and_names_on_the_review_map_are_text(hostile: ReviewResult, blueprint: Blueprint) -> None:
    page = map_html(review_map(hostile, blueprint, tiles="none"))
    assert RAN not in page
    assert all(shown in page for shown in SHOWN)  # in the popups and labels' JavaScript strings


def test_layer_attributes_and_their_names_are_text(tmp_path: Path) -> None:
    frame = gpd.GeoDataFrame(
        {"code": ["370811"], "name": [PAYLOADS[0]], PAYLOADS[1]: [PAYLOADS[3]], PAYLOADS[2]: ["x"]},
        geometry=[km_box(0, 0, 5, 5)],
        crs=4548,
    ).to_crs(4490)
    bp = Blueprint("蓝图", tmp_path, None, {"urban_boundary": VectorLayer("urban_boundary", frame, tmp_path)})
    page = map_html(blueprint_map(bp, tiles="none"))
    assert RAN not in page
    assert all(shown in page for shown in SHOWN)


def test_county_names_on_the_quota_map_are_text() -> None:
    counties = gpd.GeoDataFrame(
        {"code": ["370811", "370812"], "name": PAYLOADS[:2]},
        geometry=[km_box(0, 0, 5, 5), km_box(5, 0, 10, 5)],
        crs=4548,
    )
    page = map_html(quota_map(counties, [{"code": "370811", "remaining_m2": 1.0}], year=2026, tiles="none"))
    assert RAN not in page and "{% raw %}" in page


def test_a_departments_answer_on_the_consultation_page_is_text(hostile: ReviewResult) -> None:
    task: dict[str, Any] = {
        "department_zh": PAYLOADS[1],
        "findings": [{"name_zh": PAYLOADS[2]}],
        "status": "有条件同意",
        "text": PAYLOADS[0],
        "actor": PAYLOADS[3],
        "due": "2026-12-31",
    }
    status = {"project_id": PAYLOADS[0], "rounds": [1], "state_zh": "征求意见中", "doc_number": None, "tasks": [task]}
    page = map_html(consult_page(status, hostile, tiles="none"))
    assert RAN not in page
    assert page.count(html_text(PAYLOADS[0])) >= 2  # the project and the answer
    assert html_text(PAYLOADS[3]) in page


def test_the_blueprints_name_in_the_viewers_title_is_text(tmp_path: Path) -> None:
    from api.routes.pages import build_viewer
    from api.settings import Settings

    frame = gpd.GeoDataFrame({"code": ["370811"]}, geometry=[km_box(0, 0, 5, 5)], crs=4548).to_crs(4490)
    bp = Blueprint(PAYLOADS[0], tmp_path, None, {"county": VectorLayer("county", frame, tmp_path)})
    page = build_viewer(bp, Settings(tiles="none", database_url=f"sqlite:///{tmp_path / 'v.db'}"))
    assert RAN not in page and f"<title>lantu 蓝图 · {html_text(PAYLOADS[0])}</title>" in page


def test_the_issuers_code_in_the_reports_printed_running_head_is_text(hostile: ReviewResult) -> None:
    """The printed report's running head (title and number) is a CSS string in its <style>: an issuer's 发文机关代字
    that closes the string or the <style> stays a character of it (``geo.report.css_string``)."""
    from geo.papers import DocumentNumber, Issuer
    from geo.report import review_report

    issuer = Issuer(code='济"; } body { display: none } </style><script>alert(1)</script>')
    page = review_report(hostile, issuer=issuer, number=DocumentNumber.draft(issuer))
    style = page[page.index("<style>") : page.index("</style>")]
    assert "<script>" not in page.split("</style>", 1)[0] and page.count("</style>") == 1
    head = re.search(r"@top-right \{ content: (\"[^\"]*\");", style)
    assert head is not None and "display: none" not in head.group(1) and "</" not in style
