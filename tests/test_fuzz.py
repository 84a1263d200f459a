"""Fuzzing: random (valid and invalid) geometries, GeoJSON and coordinate texts.

The parsers and the review either return a result or raise the project's own
error (LantuError); anything else is a bug.
"""

from __future__ import annotations

import contextlib
import json
import os
from typing import Any

import geopandas as gpd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from support import EPSG, X0, Y0

from geo.blueprint import Blueprint
from geo.errors import LantuError
from geo.io import parse_coordinate_text, parse_geojson_bytes
from geo.review import review

FUZZ = settings(
    max_examples=int(os.environ.get("LANTU_FUZZ_EXAMPLES", "60")),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)

metres = st.floats(min_value=-2_000, max_value=12_000) | st.sampled_from([float("nan"), float("inf"), 1e300])
coords = st.tuples(metres, metres).map(lambda xy: (X0 + xy[0], Y0 + xy[1]))
rings = st.lists(coords, min_size=0, max_size=12)


def _outcome(frame: gpd.GeoDataFrame, blueprint: Blueprint) -> None:
    try:
        result = review(frame, blueprint)
    except LantuError:
        return
    for parcel in result.parcels:
        assert parcel.area_m2 > 0
        assert all(0.0 <= i.overlap_ratio <= 1.0 + 1e-6 for i in parcel.items)
        assert parcel.verdict in ("pass", "conditional", "reject", "out_of_coverage")


@FUZZ
@given(shell=rings, holes=st.lists(rings, max_size=2), closed=st.booleans())
def test_random_polygons(
    blueprint: Blueprint,
    shell: list[tuple[float, float]],
    holes: list[list[tuple[float, float]]],
    closed: bool,
) -> None:
    def ring(points: list[tuple[float, float]]) -> list[list[float]]:
        pts = [list(p) for p in points]
        return [*pts, pts[0]] if closed and pts else pts

    obj = {
        "type": "Polygon",
        "coordinates": [ring(shell), *(ring(h) for h in holes)],
        "crs": {"type": "name", "properties": {"name": f"EPSG:{EPSG}"}},
    }
    try:
        frame = parse_geojson_bytes(json.dumps(obj))
    except LantuError:
        return
    _outcome(frame, blueprint)


json_values = st.recursive(
    st.none() | st.booleans() | st.floats(allow_nan=False) | st.integers() | st.text(max_size=10),
    lambda children: st.lists(children, max_size=5) | st.dictionaries(st.text(max_size=10), children, max_size=5),
    max_leaves=30,
)
geojson_like = st.fixed_dictionaries(
    {"type": st.sampled_from(["Feature", "FeatureCollection", "Polygon", "MultiPolygon", "Point", "Nope"])},
    optional={
        "geometry": json_values,
        "features": json_values,
        "coordinates": json_values,
        "properties": json_values,
        "crs": json_values,
    },
)


@FUZZ
@given(obj=geojson_like | json_values)
def test_random_geojson(blueprint: Blueprint, obj: Any) -> None:
    try:
        frame = parse_geojson_bytes(json.dumps(obj))
    except LantuError:
        return
    _outcome(frame, blueprint)


header_lines = st.lists(
    st.sampled_from(
        [
            "坐标系=2000国家大地坐标系",
            "坐标系=80西安坐标系",
            "坐标系=",
            "坐标系=WGS84",
            "几度分带=3",
            "几度分带=6",
            "分带=3度带",
            "投影类型=高斯克吕格",
            "投影类型=UTM",
            "计量单位=米",
            "计量单位=",
            "带号=39",
            "带号=",
            "带号=99",
            "精度=0.001",
            "精度=abc",
            "转换参数=,,,,,,",
            "garbage line",
        ]
    ),
    max_size=8,
)
point_line = st.tuples(
    st.integers(0, 3),
    st.floats(3_900_000, 3_930_000) | st.floats(allow_nan=True),
    st.floats(39_460_000, 39_475_000) | st.floats(460_000, 475_000) | st.text(max_size=5),
).map(lambda t: f"J1,{t[0]},{t[1]},{t[2]}")
parcel_block = st.tuples(
    st.sampled_from(["4,,P1,地块,面,,,0601,@", "x,y,z,@", "@", "5,1.5,P2,,面,,,,370811,@", "not a header"]),
    st.lists(point_line, max_size=8),
)


@FUZZ
@given(
    header=header_lines,
    parcels=st.lists(parcel_block, max_size=3),
    encoding=st.sampled_from(["utf-8", "gbk", "utf-8-sig"]),
    newline=st.sampled_from(["\n", "\r\n"]),
)
def test_random_coordinate_texts(
    blueprint: Blueprint, header: list[str], parcels: list[tuple[str, list[str]]], encoding: str, newline: str
) -> None:
    lines = ["[属性描述]", *header, "[地块坐标]"]
    for head, points in parcels:
        lines += [head, *points]
    data = newline.join(lines).encode(encoding, errors="replace")
    try:
        frame = parse_coordinate_text(data)
    except LantuError:
        return
    assert frame.crs is not None
    _outcome(frame, blueprint)


@FUZZ
@given(data=st.binary(max_size=300))
def test_random_bytes(data: bytes) -> None:
    for parser in (parse_coordinate_text, parse_geojson_bytes):
        with contextlib.suppress(LantuError):
            parser(data)
