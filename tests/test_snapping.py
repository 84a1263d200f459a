"""Snapping onto exact boundaries: the point returned lies on the layer's true edge, not on the
simplified one a web map draws, so a parcel traced along it keeps no sliver of the layer."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import geopandas as gpd
import pytest
import shapely
from fastapi.testclient import TestClient
from support import EPSG, X0, Y0, assert_problem, auth

from api.app import create_app
from api.settings import Settings
from geo.blueprint import Blueprint, load_blueprint
from geo.crs import CGCS2000, reproject
from geo.io import write_blueprint
from geo.snapping import nearest_boundary_point

CENTRE = shapely.Point(X0 + 2000, Y0 + 2000)
RADIUS = 300.0


@pytest.fixture(scope="module")
def round_blueprint(tmp_path_factory: pytest.TempPathFactory) -> Blueprint:
    """One heritage site drawn as a 256-gon of radius 300 m: curved, so a simplified copy leaves its edge."""
    site = gpd.GeoDataFrame(
        {"name": ["古城址"], "zone": ["保护范围"]}, geometry=[CENTRE.buffer(RADIUS, quad_segs=64)], crs=EPSG
    )
    root = tmp_path_factory.mktemp("round")
    write_blueprint(root, {"heritage": site}, name="圆形蓝图", gk_zone_epsg=EPSG)
    return load_blueprint(root)


def _lonlat(x: float, y: float) -> tuple[float, float]:
    p = reproject(shapely.Point(x, y), EPSG, CGCS2000)
    return p.x, p.y


def _in_zone(lon: float, lat: float) -> shapely.Point:
    point: shapely.Point = reproject(shapely.Point(lon, lat), CGCS2000, EPSG)
    return point


def test_a_point_near_a_curved_edge_lands_on_the_exact_edge(round_blueprint: Blueprint) -> None:
    outline = CENTRE.buffer(RADIUS, quad_segs=64).exterior
    asked = (CENTRE.x + RADIUS + 4.0, CENTRE.y + 37.0)  # 4 m outside, between two vertices
    hit = nearest_boundary_point(round_blueprint, *_lonlat(*asked), within_m=10)
    assert hit is not None and hit.layer == "heritage"
    snapped = _in_zone(hit.lon, hit.lat)
    assert outline.distance(snapped) < 1e-4  # on the true edge (the round trip through degrees: < 0.1 mm)
    assert hit.distance_m == pytest.approx(outline.distance(shapely.Point(asked)), abs=1e-6)
    simplified = shapely.simplify(outline, 3.0)  # what a map simplified by 3 m would snap to instead
    assert simplified.distance(snapped) > 0.05


def test_a_straight_edge_keeps_its_coordinate(blueprint: Blueprint) -> None:
    """Basic farmland is the square [3,4]×[0,1] km: a click 3 m west of its west edge lands on x = 3 km."""
    hit = nearest_boundary_point(
        blueprint, *_lonlat(X0 + 2997.0, Y0 + 500.0), within_m=10, layer_ids=["basic_farmland"]
    )
    assert hit is not None and hit.layer == "basic_farmland"
    snapped = _in_zone(hit.lon, hit.lat)
    assert snapped.x == pytest.approx(X0 + 3000.0, abs=1e-4)
    assert snapped.y == pytest.approx(Y0 + 500.0, abs=1e-4)
    assert hit.distance_m == pytest.approx(3.0, abs=1e-6)


def test_nothing_within_reach(round_blueprint: Blueprint) -> None:
    assert nearest_boundary_point(round_blueprint, *_lonlat(CENTRE.x, CENTRE.y), within_m=10) is None


@pytest.fixture
def client(settings: Settings, keys: dict[str, str]) -> Iterator[TestClient]:
    with TestClient(create_app(settings)) as c:
        yield c


def test_nearest_boundary_endpoint(client: TestClient, keys: dict[str, str], blueprint_dir: Path) -> None:
    lon, lat = _lonlat(X0 + 2997.0, Y0 + 500.0)
    url = "/api/v1/layers/nearest-boundary"
    body = client.get(url, params={"lon": lon, "lat": lat, "layers": "basic_farmland"}, headers=auth(keys)).json()
    assert body["found"] is True and body["layer"] == "basic_farmland" and body["layer_name_zh"] == "永久基本农田"
    assert body["distance_m"] == pytest.approx(3.0)
    assert _in_zone(body["lon"], body["lat"]).x == pytest.approx(X0 + 3000.0, abs=1e-4)
    far = client.get(url, params={"lon": lon, "lat": lat, "within_m": 1}, headers=auth(keys)).json()
    assert far == {"found": False}
    assert_problem(client.get(url, params={"lon": lon, "lat": lat, "layers": "roads"}, headers=auth(keys)), 422)
    assert_problem(client.get(url, params={"lon": 200, "lat": lat}, headers=auth(keys)), 422)
    assert_problem(client.get(url, params={"lon": lon, "lat": lat, "within_m": 1e6}, headers=auth(keys)), 422)


@pytest.mark.parametrize("value", ["nan", "NaN", "inf", "-inf", "Infinity", "1e999"])
@pytest.mark.parametrize("name", ["lon", "lat", "within_m"])
def test_nearest_boundary_refuses_numbers_that_are_not_finite(
    client: TestClient, keys: dict[str, str], name: str, value: str
) -> None:
    """lon=nan was told "at most 180" (nan fails every bound): the words now say what is wrong."""
    lon, lat = _lonlat(X0 + 2997.0, Y0 + 500.0)
    params: dict[str, object] = {"lon": lon, "lat": lat, name: value}
    body = assert_problem(client.get("/api/v1/layers/nearest-boundary", params=params, headers=auth(keys)), 422)
    assert body["errors"] == [{"loc": ["query", name], "msg": "Input should be a finite number"}]
    assert body["message_en"] == f"invalid request: query.{name}: Input should be a finite number"
    assert body["message_zh"] == f"请求参数不合法：query.{name}：应为有限数值"


@pytest.mark.parametrize("bbox", ["nan,0,1,1", "0,0,inf,1", "-inf,-1,1,1"])
def test_layer_items_refuse_a_bbox_of_numbers_that_are_not_finite(
    client: TestClient, keys: dict[str, str], bbox: str
) -> None:
    url = "/api/v1/layers/heritage/items"
    body = assert_problem(client.get(url, params={"bbox": bbox}, headers=auth(keys)), 422)
    assert body["message_en"] == f"bbox must be four finite numbers minlon,minlat,maxlon,maxlat; got {bbox!r}"
    assert body["message_zh"] == "bbox 须为四个有限数值：最小经度,最小纬度,最大经度,最大纬度"


@pytest.mark.parametrize("layers", [",", "", " , ,"])
def test_nearest_boundary_refuses_a_layer_list_naming_no_layer(
    client: TestClient, keys: dict[str, str], layers: str
) -> None:
    """``layers=,`` searched no layer and answered ``{"found": false}``, as if no boundary were near (probe)."""
    lon, lat = _lonlat(X0 + 2997.0, Y0 + 500.0)
    params: dict[str, object] = {"lon": lon, "lat": lat, "layers": layers}
    body = assert_problem(client.get("/api/v1/layers/nearest-boundary", params=params, headers=auth(keys)), 422)
    assert "layers names no layer id" in body["message_en"] and "没有图层编号" in body["message_zh"], body


@pytest.mark.parametrize("layers", ["slope", "basic_farmland,slope"])
def test_nearest_boundary_refuses_a_raster_layer(client: TestClient, keys: dict[str, str], layers: str) -> None:
    """A raster has no boundary: ``layers=slope`` was skipped and answered ``{"found": false}``, as if no boundary
    were near (probe), even beside a farmland edge when named with it."""
    lon, lat = _lonlat(X0 + 2997.0, Y0 + 500.0)
    params: dict[str, object] = {"lon": lon, "lat": lat, "layers": layers}
    body = assert_problem(client.get("/api/v1/layers/nearest-boundary", params=params, headers=auth(keys)), 422)
    assert "['slope'] are rasters" in body["message_en"] and "栅格图层" in body["message_zh"], body
