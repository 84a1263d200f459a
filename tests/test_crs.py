import re

import geopandas as gpd
import numpy as np
import pytest
import shapely
from pyproj import CRS

from geo.crs import Area, check_coordinates, gk3_epsg_for_longitude, gk_central_meridian, gk_epsg, reproject
from geo.errors import CRSError


@pytest.mark.parametrize(
    ("lon", "epsg"),
    [
        (75.0, 4534),
        (76.4, 4534),
        (116.6, 4548),
        (117.0, 4548),
        (118.49, 4548),
        (118.51, 4549),
        (115.5, 4548),  # a zone's west edge is its own (zone 39, 117°E), not halved to even (zone 38)
        (121.5, 4550),
        (118.5, 4549),
        (120.0, 4549),
        (135.0, 4554),
        (134.2, 4554),
    ],
)
def test_zone_by_nearest_central_meridian(lon: float, epsg: int) -> None:
    assert gk3_epsg_for_longitude(lon) == epsg


@pytest.mark.parametrize(
    ("epsg", "meridian"),
    [(4548, 117.0), (4528, 120.0), (4509, 117.0), (2345, 117.0), (2436, 117.0), (21413, 75.0)],
)
def test_gauss_kruger_zones_of_chinese_datums(epsg: int, meridian: float) -> None:
    """CGCS2000, Xian 1980 and Beijing 1954, 3° and 6°, with the zone prefix in the easting or without."""
    assert gk_central_meridian(CRS.from_epsg(epsg)) == meridian


@pytest.mark.parametrize(
    ("units", "why"),
    [
        ("ft", "(in foot, not metres)"),
        ("m", "(Transverse Mercator on Unknown based on GRS 1980 ellipsoid, not CGCS2000, Xian 1980 or Beijing 1954)"),
    ],
)
def test_transverse_mercator_at_scale_one_is_not_enough(units: str, why: str) -> None:
    crs = CRS(f"+proj=tmerc +lon_0=117 +k=1 +x_0=500000 +ellps=GRS80 +units={units} +type=crs")
    with pytest.raises(CRSError, match=f"is not a Gauss-Krüger zone {re.escape(why)}: areas in it are wrong"):
        gk_central_meridian(crs)


def test_zone_outside_china_is_refused() -> None:
    with pytest.raises(CRSError):
        gk3_epsg_for_longitude(10.0)


@pytest.mark.parametrize(
    ("datum", "width", "zone", "name_prefixed", "name_cm"),
    [
        (
            "CGCS2000",
            3,
            39,
            "CGCS2000 / 3-degree Gauss-Kruger zone 39",
            "CGCS2000 / 3-degree Gauss-Kruger CM 117E",
        ),
        (
            "CGCS2000",
            3,
            25,
            "CGCS2000 / 3-degree Gauss-Kruger zone 25",
            "CGCS2000 / 3-degree Gauss-Kruger CM 75E",
        ),
        ("CGCS2000", 6, 20, "CGCS2000 / Gauss-Kruger zone 20", "CGCS2000 / Gauss-Kruger CM 117E"),
        (
            "Xian1980",
            3,
            39,
            "Xian 1980 / 3-degree Gauss-Kruger zone 39",
            "Xian 1980 / 3-degree Gauss-Kruger CM 117E",
        ),
        ("Xian1980", 6, 13, "Xian 1980 / Gauss-Kruger zone 13", "Xian 1980 / Gauss-Kruger CM 75E"),
        (
            "Beijing1954",
            3,
            45,
            "Beijing 1954 / 3-degree Gauss-Kruger zone 45",
            "Beijing 1954 / 3-degree Gauss-Kruger CM 135E",
        ),
        ("Beijing1954", 6, 23, "Beijing 1954 / Gauss-Kruger zone 23", "Beijing 1954 / Gauss-Kruger CM 135E"),
    ],
)
def test_zone_number_to_epsg(datum: str, width: int, zone: int, name_prefixed: str, name_cm: str) -> None:
    """Checked against PROJ's own names for the codes, not against our table."""
    assert CRS.from_epsg(gk_epsg(zone, prefixed=True, width=width, datum=datum)).name == name_prefixed
    assert CRS.from_epsg(gk_epsg(zone, prefixed=False, width=width, datum=datum)).name == name_cm


def test_zone_number_out_of_range() -> None:
    with pytest.raises(CRSError, match="outside"):
        gk_epsg(46, prefixed=True)
    with pytest.raises(CRSError, match="no Gauss-Kr"):
        gk_epsg(39, prefixed=True, width=1)


def test_area_units() -> None:
    a = Area(666_666.67)
    assert a.ha == pytest.approx(66.666667)
    assert a.mu == pytest.approx(1000.0, rel=1e-8)
    assert Area(10000 / 15).mu == pytest.approx(1.0)


@pytest.mark.parametrize(
    ("m2", "zh", "mu"),
    [
        (2.36, "2.36 m²（0.0002 公顷，0.0035 亩）", 0.0035),  # a counted area is never written as 0.00 亩
        (0.0, "0.00 m²（0.0000 公顷，0.00 亩）", 0.0),
        (25_600.0, "25,600.00 m²（2.5600 公顷，38.40 亩）", 38.4),
        (3.4, "3.40 m²（0.0003 公顷，0.01 亩）", 0.01),  # 0.0051 亩: two decimals say it is there
    ],
)
def test_area_texts_never_write_an_area_found_as_none(m2: float, zh: str, mu: float) -> None:
    assert Area(m2).zh == zh and Area(m2).rounded[2] == mu


def test_area_texts_written_once_per_value_read_alike() -> None:
    """The texts are kept per value (a parcel writes one figure from several areas): -0.0 reads as 0.0 always did,
    and a value's texts are the same however often and in whichever order areas of it are made."""
    assert Area(-0.0).zh == Area(0.0).zh == "0.00 m²（0.0000 公顷，0.00 亩）"
    assert Area(-1e-9).m2_text == "0.00"
    first = [Area(m2).en for m2 in (2.36, 25_600.0, 2.36, 3.4)]
    assert first == [Area(m2).en for m2 in (2.36, 25_600.0, 2.36, 3.4)]
    assert first[0] == "2.36 m² (0.0002 ha, 0.0035 mu)" and first[3] == "3.40 m² (0.0003 ha, 0.01 mu)"


def _frame(x: float, y: float, crs: str) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(geometry=[shapely.box(x, y, x + 0.001, y + 0.001)], crs=crs)


def test_lonlat_inside_china_accepted() -> None:
    frame = _frame(116.6, 35.4, "EPSG:4490")
    assert check_coordinates(frame) is frame


def test_swapped_lonlat_refused() -> None:
    with pytest.raises(CRSError, match="swapped"):
        check_coordinates(_frame(35.4, 116.6, "EPSG:4490"))


def test_metres_declared_as_degrees_refused() -> None:
    frame = gpd.GeoDataFrame(geometry=[shapely.box(464000, 3918000, 465000, 3919000)], crs="EPSG:4490")
    with pytest.raises(CRSError, match="not degrees"):
        check_coordinates(frame)


def test_zone_prefixed_easting_under_unprefixed_epsg_refused() -> None:
    frame = gpd.GeoDataFrame(geometry=[shapely.box(39464000, 3918000, 39465000, 3919000)], crs="EPSG:4548")
    with pytest.raises(CRSError, match="zone"):
        check_coordinates(frame)


def test_zone_prefixed_easting_with_prefixed_epsg_accepted() -> None:
    frame = gpd.GeoDataFrame(geometry=[shapely.box(39464000, 3918000, 39465000, 3919000)], crs="EPSG:4527")
    check_coordinates(frame)


@pytest.mark.parametrize(
    ("xmin", "xmax", "said"),
    [
        (39464000, 39465000, "carry zone number 39, but EPSG:4528 is zone 40"),  # 1,000 km west, still in China
        (464000, 465000, "carry no zone-number prefix, but EPSG:4528 is zone 40"),
        (39964000, 40065000, "carry two zone numbers (39, 40)"),
    ],
)
def test_zone_prefix_contradicting_the_prefixed_epsg_refused(xmin: float, xmax: float, said: str) -> None:
    """Zone 39's eastings (EPSG:4527) declared as zone 40 (EPSG:4528) fall 1,000 km west, about 108.6°E,
    inside China's box: only the prefix tells the mistake."""
    frame = gpd.GeoDataFrame(geometry=[shapely.box(xmin, 3918000, xmax, 3919000)], crs="EPSG:4528")
    with pytest.raises(CRSError, match=re.escape(said)) as refused:
        check_coordinates(frame)
    assert "带号" in refused.value.message_zh
    lon = reproject(np.array([shapely.Point(39464000, 3918000)]), 4528, 4490)[0].x
    assert 100 < lon < 110  # the place the old check let through


def _gk_square(lon: float, lat: float, epsg: int, *, swapped: bool = False) -> gpd.GeoDataFrame:
    """A 200 m square at (lon, lat) in the zone ``epsg``, its X and Y swapped if asked."""
    x, y = reproject(np.array([shapely.Point(lon, lat)]), 4490, epsg)[0].coords[0]
    square = shapely.box(x, y, x + 200, y + 200)
    return gpd.GeoDataFrame(
        geometry=[shapely.transform(square, lambda xy: xy[:, ::-1]) if swapped else square], crs=epsg
    )


def test_swapped_gauss_kruger_coordinates_inside_chinas_box_refused() -> None:
    """Sanya in EPSG:4545 (CM 108°E) with X and Y swapped reads as 121.6°E, 5.8°N: inside China's box, so it
    was reviewed there, 5 % too small (probe); it lies 13.6° from the zone's meridian, which no zone reaches."""
    assert check_coordinates(square := _gk_square(109.5, 18.25, 4545)) is square
    with pytest.raises(CRSError, match=r"13\.6° from EPSG:4545's central meridian 108°E.*X/Y order") as refused:
        check_coordinates(_gk_square(109.5, 18.25, 4545, swapped=True))
    assert "X/Y 顺序" in refused.value.message_zh


def test_a_province_kept_in_one_zone_is_accepted() -> None:
    """5.5° east of EPSG:4548's meridian (山东's east coast in the 117°E zone): far, but some zone's data."""
    check_coordinates(_gk_square(122.5, 37.0, 4548))
    with pytest.raises(CRSError, match=r"6\.5° from"):
        check_coordinates(_gk_square(123.5, 41.0, 4548))


def test_outside_china_refused() -> None:
    with pytest.raises(CRSError, match="outside China"):
        check_coordinates(_frame(2.35, 48.85, "EPSG:4326"))


def test_missing_crs_refused() -> None:
    with pytest.raises(CRSError, match="no CRS"):
        check_coordinates(gpd.GeoDataFrame(geometry=[shapely.box(0, 0, 1, 1)]))


def test_reproject_within_one_crs_moves_nothing() -> None:
    square = shapely.box(464_000.0, 3_918_000.0, 464_100.5, 3_918_200.25)
    for spelling in (4548, "EPSG:4548", CRS.from_epsg(4548)):
        assert reproject(square, 4548, spelling) is square  # the same CRS: no PROJ call, no copy
    moved = reproject(square, 4548, 4490)
    assert 116 < moved.centroid.x < 118 and 35 < moved.centroid.y < 36
    back = reproject(moved, 4490, 4548)
    assert shapely.equals_exact(back, square, tolerance=1e-6)


def test_an_absurd_coordinate_is_shown_short() -> None:
    """1e300 was printed in 301 digits in the refusal (probe)."""
    frame = gpd.GeoDataFrame(geometry=[shapely.box(1e300, 1e300, 1.1e300, 1.1e300)], crs="EPSG:4548")
    with pytest.raises(CRSError) as refused:
        check_coordinates(frame)
    assert "x 1e+300…1.1e+300" in refused.value.message_en and len(refused.value.message_en) < 250
