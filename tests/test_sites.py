"""精准选址 on blueprints whose feasible land is known by construction (EPSG:4548 rectangles)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from importlib.resources import files
from pathlib import Path
from typing import Any

import geopandas as gpd
import pytest
import shapely
from fastapi.testclient import TestClient
from support import EPSG, assert_problem, auth, km2, rect, rect_blueprint, screenshot, served
from typer.testing import CliRunner

from api.app import create_app
from api.cli import app
from api.settings import Settings
from geo.blueprint import Blueprint, load_blueprint
from geo.crs import M2_PER_MU, reproject
from geo.errors import InputError
from geo.review.result import ParcelResult
from geo.sites import find_sites, in_rank_order, sites_geojson

runner = CliRunner()
HOLE = (0.5, 0.3, 0.9, 0.7)  # the one place outside the red line big enough: 400 m × 400 m = 240 亩
SMALL = (1.5, 0.4, 1.6, 0.5)  # a second gap in the red line, 100 m × 100 m = 15 亩: too small
CLEAN = {
    "urban_boundary": [((0, 0, 2, 1), {})],
    "planned_use": [((0, 0, 2, 1), {"zone": "城镇集中建设区"})],
    "land_use": [((0, 0, 2, 1), {"class_code": "0601"})],
}


def red_line_around(*holes: tuple[float, float, float, float]) -> shapely.Geometry:
    return shapely.difference(rect(0, 0, 2, 1), shapely.union_all([rect(*h) for h in holes]))


@pytest.fixture(scope="module")
def one_region(tmp_path_factory: pytest.TempPathFactory) -> Blueprint:
    """A 2 km × 1 km county under a red line except HOLE and SMALL; flat (5°) everywhere."""
    root = rect_blueprint(
        tmp_path_factory.mktemp("sites") / "bp",
        {**CLEAN, "county": [((0, 0, 2, 1), {"code": "370811", "name": "任城区"})]},
        slope=None,
    )
    redline = gpd.GeoDataFrame(geometry=[red_line_around(HOLE, SMALL)], crs=EPSG)
    redline.to_file(root / "redline.gpkg", driver="GPKG")
    manifest = (root / "blueprint.yaml").read_text(encoding="utf-8")
    (root / "blueprint.yaml").write_text(manifest + "  ecological_redline: {path: redline.gpkg}\n", encoding="utf-8")
    return load_blueprint(root)


def test_the_only_feasible_region_is_found_and_every_site_is_inside_it(one_region: Blueprint) -> None:
    search = find_sites(one_region, area_mu=50, n=3, project={"project_type": "industrial", "investment_wan": 1e6})
    assert search.crs_used == f"EPSG:{EPSG}"
    (region,) = search.regions  # SMALL is below the asked area
    outline = reproject(shapely.geometry.shape(region.geometry), 4490, EPSG)
    hole = rect(*HOLE)
    # the region is the hole less the cells that touch the red line (one 10 m cell each side at most)
    assert outline.within(hole.buffer(1e-3))
    assert outline.area == pytest.approx(km2(*HOLE), rel=0.11)
    assert len(search.sites) == 3
    assert [s.rank for s in search.sites] == [1, 2, 3]
    shapes = []
    for site in search.sites:
        shape = reproject(shapely.geometry.shape(site.geometry), 4490, EPSG)
        assert shape.within(hole.buffer(1e-3)), site.id
        assert site.area_m2 >= 50 * M2_PER_MU
        assert site.area_mu == pytest.approx(50, rel=0.01)
        assert site.verdict in ("pass", "conditional") and site.failed_items == []
        assert site.region == region.id
        assert shapely.get_num_coordinates(shape) == 5  # a rectangle, not a staircase of cells
        shapes.append(shape)
    for i, a in enumerate(shapes):
        for b in shapes[i + 1 :]:
            assert a.distance(b) >= 20 - 1e-6  # apart by the profile's gap
    assert search.review is not None
    assert [p.id for p in search.review.parcels] == ["S1", "S2", "S3"]
    assert all(all(item.status != "fail" for item in p.items) for p in search.review.parcels)
    assert search.excluded_m2["ecological_redline"] > 0


def test_a_search_area_reaching_far_beyond_the_blueprint_is_measured_in_the_blueprints_zone(
    one_region: Blueprint,
) -> None:
    """A --within of all China is centred near 104°E: the grid was laid in that zone's CRS (EPSG:4544), 13°
    from the county, and sites asked as 50 亩 came back at 48.77. The part searched sets the zone."""
    china = gpd.GeoDataFrame(geometry=[shapely.box(73.0, 18.0, 135.0, 54.0)], crs=4490)
    search = find_sites(one_region, area_mu=50, n=2, project={"project_type": "industrial"}, within=china)
    assert search.crs_used == f"EPSG:{EPSG}"
    assert search.sites and all(s.area_mu == pytest.approx(50, rel=0.01) for s in search.sites)
    (partly,) = [w for w in search.warnings if "of the search area lies inside the blueprint's coverage" in w]
    assert partly.startswith("0.0% of the search area") and "仅在该部分选址" in partly


def test_a_search_area_that_only_touches_the_coverage_is_refused(one_region: Blueprint) -> None:
    """A county beside the blueprint's was searched over the 0.29 m² they share and answered "no feasible
    region": the answer of a search that never took place. Refused, saying how little lies inside."""
    coverage = one_region.vector(one_region.coverage_layer or "")
    assert coverage is not None
    _, miny, maxx, maxy = coverage.frame.total_bounds
    beside = gpd.GeoDataFrame(geometry=[shapely.box(maxx - 1, miny, maxx + 5_000, maxy)], crs=coverage.frame.crs)
    with pytest.raises(InputError, match=r"^only [\d,.]+ m² .* of the search area lies inside") as refused:
        find_sites(one_region, area_mu=50, project={"project_type": "industrial"}, within=beside)
    assert "不足一处 50 亩的用地" in refused.value.message_zh


def test_nothing_fits_says_so(one_region: Blueprint) -> None:
    search = find_sites(one_region, area_mu=300, n=2, project={"project_type": "industrial"})
    assert search.regions == [] and search.sites == []
    assert any("no feasible region" in w for w in search.warnings)


def test_candidates_every_review_refuses_are_said_why(one_region: Blueprint) -> None:
    """An investment of 0 万元 supports no land: every candidate failed item 10 and the search said only 仅找到 0 处
    (probe); it names the item that refused them and how many."""
    search = find_sites(one_region, area_mu=50, n=2, project={"project_type": "industrial", "investment_wan": 0})
    assert search.sites == [] and search.rejected > 0
    (said,) = [w for w in search.warnings if "sites found" in w]
    k = search.rejected
    assert f"{k} candidate(s) failed: land-use standard (economical and intensive use) ({k})" in said, said
    assert f"{k} 处候选地块审查不通过：建设用地控制标准（节约集约）（{k} 处）" in said, said


def test_warn_land_costs_and_ranks_lower(tmp_path: Path) -> None:
    """Two equal gaps; one is on cultivated land (warn, weight 3): the best site is in the other."""
    farmed, clean = (0.2, 0.2, 0.6, 0.6), (1.2, 0.2, 1.6, 0.6)
    root = rect_blueprint(
        tmp_path / "bp",
        {
            **CLEAN,
            "county": [((0, 0, 2, 1), {"code": "370811", "name": "任城区"})],
            "land_use": [((0, 0, 1, 1), {"class_code": "0103"}), ((1, 0, 2, 1), {"class_code": "0601"})],
        },
        slope=None,
    )
    gpd.GeoDataFrame(geometry=[red_line_around(farmed, clean)], crs=EPSG).to_file(root / "redline.gpkg")
    with (root / "blueprint.yaml").open("a", encoding="utf-8") as f:
        f.write("  ecological_redline: {path: redline.gpkg}\n")
    search = find_sites(load_blueprint(root), area_mu=100, n=2, project={"project_type": "industrial"})
    assert len(search.regions) == 2 and len(search.sites) == 2
    best, second = search.sites
    assert reproject(shapely.geometry.shape(best.geometry), 4490, EPSG).within(rect(*clean))
    assert "cultivated_land" in second.warned_items and "cultivated_land" not in best.warned_items
    assert best.score > second.score
    assert any("占用耕地" in r for r in second.reasons_zh)


def test_a_condition_of_the_whole_site_is_said_in_its_own_words(one_region: Blueprint) -> None:
    """An industrial search without an investment: every site's land-use standard asks for a 节地评价, a condition
    of the whole site. Its reason read "有条件（0 m²，占 100.0%，权重 1）": no land, yet all of it. It says the
    item's finding, and costs the item's whole weight."""
    search = find_sites(one_region, area_mu=50, n=1, project={"project_type": "industrial"})
    (site,) = search.sites
    assert site.verdict == "conditional" and site.warned_items == ["land_use_standard"]
    (reason,) = site.reasons_zh
    assert reason.startswith("建设用地控制标准") and "需开展节地评价" in reason and "0 m²" not in reason, reason
    assert "weight" in site.reasons_en[0] and "0 m²" not in site.reasons_en[0]
    assert site.score < 100


def test_sites_rank_by_their_score_as_computed_not_as_shown(one_region: Blueprint) -> None:
    """Conditional sites of 100 m² of warning scored 99.9967, 99.9975 and 99.9981: shown to one decimal they all
    read 100.0 and kept the order they were placed in. Ranked on the score itself, shown to two decimals."""
    search = find_sites(one_region, area_mu=50, n=3, project={"project_type": "industrial", "investment_wan": 1e6})
    assert search.review is not None
    (one, a), (two, b), (three, c) = zip(search.sites, search.review.parcels, strict=True)

    def graded(result: ParcelResult, verdict: str) -> ParcelResult:
        return result.model_copy(update={"verdict": verdict})

    out = in_rank_order(
        [
            (99.9967, one, graded(a, "conditional")),
            (99.9981, two, graded(b, "conditional")),
            (99.9975, three, graded(c, "conditional")),
        ]
    )
    assert [site for site, _ in out] == [two, three, one]
    assert [(site.id, site.rank, result.id) for site, result in out] == [
        ("S1", 1, "S1"),
        ("S2", 2, "S2"),
        ("S3", 3, "S3"),
    ]
    first, _ = in_rank_order([(99.9981, one, graded(a, "conditional")), (50.0, two, graded(b, "pass"))])
    assert first[0] is two  # a pass comes first, whatever its score
    assert all(site.score == round(site.score, 2) for site in search.sites)


def test_bad_options(one_region: Blueprint) -> None:
    with pytest.raises(InputError):
        find_sites(one_region, area_mu=50, county="999999")
    with pytest.raises(InputError):
        find_sites(one_region, area_mu=50, project={"project_type": "spaceport"})
    with pytest.raises(InputError, match="coarser"):
        find_sites(one_region, area_mu=50, resolution_m=0.1)


def test_geojson_properties(one_region: Blueprint) -> None:
    search = find_sites(one_region, area_mu=50, n=1, project={"project_type": "industrial"})
    body = json.loads(sites_geojson(search))
    (feature,) = body["features"]
    for key in ("rank", "score", "area_mu", "verdict"):
        assert key in feature["properties"]


def test_cli(one_region: Blueprint, tmp_path: Path) -> None:
    out = tmp_path / "sites.geojson"
    args = ["find-sites", "--area-mu", "50", "--blueprint", str(one_region.root), "-n", "2", "-o", str(out)]
    result = runner.invoke(app, [*args, "--county", "370811", "--project-type", "industrial"])
    assert result.exit_code == 0, result.output
    features = json.loads(out.read_text(encoding="utf-8"))["features"]
    assert [f["properties"]["rank"] for f in features] == [1, 2]
    within = tmp_path / "within.geojson"
    gpd.GeoDataFrame(geometry=[rect(0.4, 0.2, 1.0, 0.8)], crs=EPSG).to_crs(4490).to_file(within)
    result = runner.invoke(app, [*args, "--within", str(within)])
    assert result.exit_code == 0, result.output
    assert runner.invoke(app, [*args, "--county", "370811", "--within", str(within)]).exit_code == 2
    assert runner.invoke(app, [*args, "--county", "1"]).exit_code == 2
    assert runner.invoke(app, [*args, "--project-type", "spaceport"]).exit_code == 2


@pytest.fixture
def client(settings: Settings, keys: dict[str, str]) -> Iterator[TestClient]:
    with TestClient(create_app(settings)) as c:
        yield c


def test_api_search(client: TestClient, keys: dict[str, str]) -> None:
    """Industrial land in 任城区 of the rectangle blueprint: inside the urban boundary (0–2 km) only."""
    body = {"area_mu": 50, "n": 2, "project_type": "industrial", "investment_wan": 1e6, "county": "370811"}
    r = client.post("/api/v1/sites/search", json=body, headers=auth(keys))
    assert r.status_code == 200, r.text
    search = r.json()
    assert [s["rank"] for s in search["sites"]] == [1, 2]
    for s in search["sites"]:
        shape = reproject(shapely.geometry.shape(s["geometry"]), 4490, EPSG)
        assert shape.within(rect(0, 0, 2, 2).buffer(1e-3))
        assert s["verdict"] != "reject" and s["area_mu"] >= 50


def test_api_search_bad_input(client: TestClient, keys: dict[str, str]) -> None:
    assert_problem(client.post("/api/v1/sites/search", json={"area_mu": -1}, headers=auth(keys)), 422)
    body = {"area_mu": 50, "county": "999"}
    assert_problem(client.post("/api/v1/sites/search", json=body, headers=auth(keys)), 422)
    body = {"area_mu": 50, "project_type": "spaceport"}
    assert_problem(client.post("/api/v1/sites/search", json=body, headers=auth(keys)), 422)
    within = gpd.GeoDataFrame(geometry=[rect(0, 0, 1, 1)], crs=EPSG).to_crs(4490).__geo_interface__
    body = {"area_mu": 50, "county": "370811", "within": json.loads(json.dumps(within))}
    assert_problem(client.post("/api/v1/sites/search", json=body, headers=auth(keys)), 422)
    # an empty within was no within: the whole blueprint was searched
    search = "/api/v1/sites/search"
    assert_problem(client.post(search, json={"area_mu": 50, "within": {}}, headers=auth(keys)), 422)
    empty = {"area_mu": 50, "within": {"type": "FeatureCollection", "features": []}}
    assert "API's within" in assert_problem(client.post(search, json=empty, headers=auth(keys)), 422)["message_en"]
    r = client.post("/api/v1/sites/search", json={"area_mu": 50})
    assert r.status_code == 401


@pytest.fixture(scope="module")
def demo_server(blueprint_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The service in open demo mode on a loopback socket, in a thread."""
    db = tmp_path_factory.mktemp("sites-srv") / "lantu.db"
    settings = Settings(blueprint=blueprint_dir, database_url=f"sqlite:///{db}", tiles="none", open_demo=True)
    with served(settings) as url:
        yield url


def test_viewer_find_sites_panel(demo_server: str, browser: Any) -> None:
    """The 找地 panel asks for two 50-亩 sites and draws them; the table lists them by rank."""
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    page.goto(demo_server + "/")
    page.wait_for_selector("#lantu-sites-find")
    page.fill("#lantu-sites-area", "50")
    page.fill("#lantu-sites-n", "2")
    page.fill("#lantu-sites-county", "370811")
    page.fill("#lantu-invest", "1000000")
    page.click("#lantu-sites-find")
    page.wait_for_selector("#lantu-sites-result tr.lantu-site", timeout=60_000)
    rows = page.locator("#lantu-sites-result tr.lantu-site")
    assert rows.count() == 2
    assert rows.nth(0).inner_text().startswith("#1")
    assert page.evaluate("window.lantuLastSites.sites.map(s => s.rank)") == [1, 2]
    page.screenshot(path=str(screenshot("viewer-find-sites.png")))
    assert errors == []
    page.close()


def test_a_candidate_the_review_rejects_is_replaced_and_never_returned(one_region: Blueprint, tmp_path: Path) -> None:
    """A rule the raster cannot see (item 10, the area against the standard, made a fail here) rejects every
    candidate: each is replaced by the next, up to the rounds' limit, and none is returned."""
    text = (files("geo.layers") / "profiles" / "ten-point.yaml").read_text(encoding="utf-8")
    marker = "table: standards/land_use_standard_sample.csv\n        status: warn"
    assert marker in text
    strict = tmp_path / "strict.yaml"
    strict.write_text(text.replace(marker, marker.replace("warn", "fail")), encoding="utf-8")
    project = {"project_type": "industrial", "investment_wan": 100}  # 100 万元 / 3000 万元/ha: 0.03 ha allowed
    search = find_sites(one_region, area_mu=50, n=1, project=project, profile=str(strict))
    assert search.sites == [] and search.review is None
    assert search.rejected >= 2  # the first candidate and at least one replacement
    assert any("only 0 of 1" in w for w in search.warnings)
    ok = find_sites(one_region, area_mu=50, n=1, project={**project, "investment_wan": 1e6}, profile=str(strict))
    assert ok.rejected == 0 and len(ok.sites) == 1


def test_distance_to_the_urban_boundary_draws_sites_outside_it_close(tmp_path: Path) -> None:
    """Infrastructure may lie outside the urban boundary (a warn): the first site fills the small boundary,
    the next lies right beside it (distance cost), not in the far corner the flat cost would give."""
    root = rect_blueprint(
        tmp_path / "bp",
        {
            "county": [((0, 0, 2, 1), {"code": "370811", "name": "任城区"})],
            "urban_boundary": [((0, 0, 0.2, 0.2), {})],  # 60 亩: room for one 50-亩 site
            "planned_use": [((0, 0, 2, 1), {"zone": "一般农业区"})],  # admits single-site types
            "land_use": [((0, 0, 2, 1), {"class_code": "0601"})],
        },
        slope=None,
    )
    search = find_sites(load_blueprint(root), area_mu=50, n=2, project={"project_type": "infrastructure"})
    first, second = (reproject(shapely.geometry.shape(s.geometry), 4490, EPSG) for s in search.sites)
    boundary = rect(0, 0, 0.2, 0.2)
    assert first.within(boundary.buffer(1e-3)) and search.sites[0].warned_items == []  # layers missing: conditional
    assert search.sites[1].verdict == "conditional" and "planning_conformity" in search.sites[1].warned_items
    assert second.distance(boundary) < 50  # beside it (the gap), not 1 km away
    assert any("距离代价" in r for r in search.sites[1].reasons_zh)
    assert search.sites[0].score > search.sites[1].score


def test_excluded_area_counts_only_the_land_searched(tmp_path: Path) -> None:
    """The grid covers the search area's bounding box; a red line half in an L-shaped --within and half
    in its notch was counted whole (20 000 m²): only the half inside was excluded from the search.

    No county layer, so the search area is not clipped through EPSG:4490 and keeps its exact corners
    on the 10 m grid lines: every figure is exact by hand."""
    root = rect_blueprint(tmp_path / "bp", CLEAN, slope=None)
    red_line = rect(0.4, 0.6, 0.6, 0.7)  # 200 m × 100 m, across the notch's edge at x = 0.5 km
    gpd.GeoDataFrame(geometry=[red_line], crs=EPSG).to_file(root / "redline.gpkg")
    with (root / "blueprint.yaml").open("a", encoding="utf-8") as f:
        f.write("  ecological_redline: {path: redline.gpkg}\n")
    notched = shapely.difference(rect(0.2, 0.2, 0.8, 0.8), rect(0.5, 0.5, 0.8, 0.8))  # 600 m square less a quarter
    within = gpd.GeoDataFrame(geometry=[notched], crs=EPSG)
    project = {"project_type": "industrial", "investment_wan": 1e6}
    search = find_sites(load_blueprint(root), area_mu=50, n=1, project=project, within=within)
    assert search.searched_m2 == 600 * 600 - 300 * 300
    assert search.excluded_m2["ecological_redline"] == 100 * 100  # the half west of x = 0.5 km; was 200 × 100
    assert search.feasible_m2 == search.searched_m2 - search.excluded_m2["ecological_redline"]
    assert sum(r.area_m2 for r in search.regions) == search.feasible_m2
    assert all(v == 0 for code, v in search.excluded_m2.items() if code != "ecological_redline")


@pytest.mark.parametrize(
    ("body", "least_en", "least_zh"),
    [
        (
            {"area_mu": 0.0001},
            "one 10 m × 10 m cell of its grid: 100.00 m² (0.15 mu)",
            "10 m × 10 m 格网：100.00 m²（0.15 亩）",
        ),
        (
            {"area_mu": 0.005, "resolution_m": 2},
            "one 2 m × 2 m cell of its grid: 4.00 m² (0.006 mu)",
            "4.00 m²（0.006 亩）",
        ),
    ],
)
def test_api_search_refuses_a_site_smaller_than_one_cell(
    client: TestClient, keys: dict[str, str], body: dict[str, Any], least_en: str, least_zh: str
) -> None:
    """area_mu 0.0001 was refused by the review of a candidate "parcel(s) C1 (0.0668 m²) … check the coordinates'
    unit and CRS", though the caller sent no parcel: the search refuses it itself, with the least it can place."""
    problem = assert_problem(client.post("/api/v1/sites/search", json=body, headers=auth(keys)), 422)
    assert f"area_mu {body['area_mu']:g} mu" in problem["message_en"] and least_en in problem["message_en"]
    assert "CRS" not in problem["message_en"] and "parcel" not in problem["message_en"]
    assert "小于可选址的最小面积" in problem["message_zh"] and least_zh in problem["message_zh"]


def test_api_search_takes_one_cell_and_refuses_no_finite_figure(client: TestClient, keys: dict[str, str]) -> None:
    """0.15 亩 is one 10 m cell (99.99999999999999 m² in floats): searched. NaN or Infinity as area_mu or
    investment_wan is "a finite number", not "less than or equal to …", in both languages."""
    one_cell = client.post(
        "/api/v1/sites/search", json={"area_mu": 0.15, "n": 1, "county": "370811"}, headers=auth(keys)
    )
    assert one_cell.status_code == 200, one_cell.text
    for field, odd in (("area_mu", "NaN"), ("area_mu", "Infinity"), ("investment_wan", "Infinity")):
        sent_body = f'{{"area_mu": 50, "{field}": {odd}}}' if field != "area_mu" else f'{{"area_mu": {odd}}}'
        sent = client.post(
            "/api/v1/sites/search", content=sent_body, headers={**auth(keys), "content-type": "application/json"}
        )
        problem = assert_problem(sent, 422)
        assert f"{field}: Input should be a finite number" in problem["message_en"]
        assert f"{field}：应为有限数值" in problem["message_zh"]
