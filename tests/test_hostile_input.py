"""Hostile or absurd input found by a probe of the service and the CLI: each is refused with a reason
(exit 2 / an input error) before it costs minutes, passes a check it should fail or destroys a file."""

from __future__ import annotations

import json
import math
import re
import time
import zipfile
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pytest
import shapely
from support import X0, Y0, parcel_frame, rect
from typer.testing import CliRunner

from api.cli import app
from geo.blueprint import Blueprint
from geo.crs import check_coordinates
from geo.errors import CRSError, FormatError, GeometryError, InputError, TooLargeError
from geo.geometry import PAIRS_AT_A_TIME, REPAIR_MAX_CROSSINGS, _runs_of_bounded_pairs, clean_parcels
from geo.io.parcels import ReadLimits, parcels_from_geojson
from geo.review import review


@pytest.fixture
def one_parcel(tmp_path: Path) -> Path:
    """A file of one plain parcel, for the commands' own refusals."""
    path = tmp_path / "p.geojson"
    parcel_frame(rect(1.2, 1.2, 1.6, 1.6)).to_file(path)
    return path


def _star(points: int, r: float = 200.0) -> shapely.Polygon:
    """A star polygon of ``points`` points (each joined to the one half way round): its edges cross each
    other about points² / 4 times."""
    step = points // 2
    return shapely.Polygon(
        [
            (
                X0 + 3000 + r * math.cos(2 * math.pi * (i * step % points) / points),
                Y0 + 3000 + r * math.sin(2 * math.pi * (i * step % points) / points),
            )
            for i in range(points)
        ]
    )


def test_a_parcel_crossing_itself_thousands_of_times_is_refused_before_any_repair() -> None:
    # GEOS took 58 s and gigabytes to repair the 151-point star; 2,000 overlapping parts took minutes
    star = parcel_frame(_star(151))
    parts = parcel_frame(shapely.MultiPolygon([rect(1 + i * 1e-6, 1, 2 + i * 1e-6, 2) for i in range(2000)]))
    for frame in (star, parts):
        start = time.perf_counter()
        with pytest.raises(GeometryError, match=f"more than {REPAIR_MAX_CROSSINGS} times"):
            clean_parcels(frame, ["P"])
        assert time.perf_counter() - start < 30  # the guard itself, not a timing claim: it ran, it did not hang


def test_a_drawing_error_crossing_itself_a_few_times_is_still_repaired() -> None:
    """Under the limit the repair goes on as before: a ring touching itself (a hole drawn as a loop of the
    outline) is repaired to the area it encloses; a 21-point star (179 crossings) reaches the repair and is
    refused for what the repair would do to its area, not for its crossings."""
    loop = shapely.Polygon(  # the outline counter-clockwise, the loop clockwise: a hole
        [(X0 + x, Y0 + y) for x, y in [(0, 0), (40, 0), (40, 40), (20, 40), (30, 30), (20, 20), (20, 40), (0, 40)]]
    )
    geoms, repaired = clean_parcels(parcel_frame(loop), ["A"])
    assert repaired == [True] and geoms[0].area == pytest.approx(1_600 - 100)  # the loop is a 100 m² hole
    with pytest.raises(GeometryError, match="cannot be repaired without changing its area"):
        clean_parcels(parcel_frame(_star(21)), ["B"])
    point = shapely.Polygon([(X0, Y0)] * 4)  # no edge at all (the site finder made one of 5e-324 亩): no area
    with pytest.raises(GeometryError, match="polygon has no area: its points lie on one line or repeat one point"):
        clean_parcels(parcel_frame(point), ["C"])


def test_a_speck_is_refused_not_passed(blueprint: Blueprint) -> None:
    """A parcel no larger than the 1 m² the review counts passed every item, inside a red line too (0.82 m²
    there) and outside the blueprint; it is no parcel (coordinates in the wrong unit, most often)."""
    inside_red_line = shapely.box(X0 + 4500, Y0 + 4500, X0 + 4500.9, Y0 + 4500.9)  # 0.81 m²
    with pytest.raises(GeometryError, match=r"S \(0.81 m²\) no larger than the 1 m²"):
        review(parcel_frame(inside_red_line).assign(id=["S"]), blueprint)
    bigger = shapely.box(X0 + 4500, Y0 + 4500, X0 + 4501.1, Y0 + 4501.1)  # 1.21 m²: the red line counts it
    result = review(parcel_frame(bigger), blueprint)
    assert result.parcels[0].verdict == "reject"
    assert result.parcels[0].item("ecological_redline").status == "fail"


@pytest.mark.parametrize(
    "field, value",
    [
        ("investment_wan", math.inf),
        ("investment_wan", 1e300),
        ("route_km", math.inf),
        ("power_mw", 1e308),
        ("investment_wan", math.nan),
    ],
)
def test_an_infinite_project_figure_is_refused(blueprint: Blueprint, field: str, value: float) -> None:
    # an infinite investment passed item 10 ("未超过控制标准 inf 公顷")
    frame = parcel_frame(rect(1.2, 1.2, 1.6, 1.6), project_type="industrial")
    with pytest.raises(InputError, match=f"{field}="):
        review(frame, blueprint, project={field: value})


@pytest.mark.parametrize(
    "given, field",
    [
        ({"investment_wan": True}, "investment_wan"),  # JSON's true was taken as 1 万元
        ({"power_mw": False}, "power_mw"),
        ({"name": "某\x00项目"}, "name"),  # control characters broke the Word opinion and the Excel summary
        ({"project_id": "XM\x0b1"}, "project_id"),
    ],
)
def test_a_flag_for_a_figure_or_a_control_character_is_refused(
    blueprint: Blueprint, given: dict[str, object], field: str
) -> None:
    frame = parcel_frame(rect(1.2, 1.2, 1.6, 1.6), project_type="industrial", **given)
    with pytest.raises(InputError, match=f"{field}="):
        review(frame, blueprint)


def test_a_parcel_id_with_a_control_character_is_refused(blueprint: Blueprint) -> None:
    frame = parcel_frame(rect(1.2, 1.2, 1.6, 1.6), id="D\x0106")
    with pytest.raises(InputError, match="control character"):
        review(frame, blueprint)


def test_an_infinite_investment_flag_is_exit_2(one_parcel: Path, blueprint_dir: Path) -> None:
    args = [
        "review",
        str(one_parcel),
        "-b",
        str(blueprint_dir),
        "--project-type",
        "industrial",
        "--investment-wan",
        "inf",
    ]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 2 and "应为有限数值" in result.output, result.output


@pytest.mark.parametrize("crs", ["IAU_2015:49900", "IAU_2015:30100", "ESRI:104905"])
def test_a_coordinate_system_of_another_planet_is_refused(crs: str) -> None:
    frame = gpd.GeoDataFrame(geometry=[shapely.box(116.6, 35.38, 116.61, 35.39)], crs=crs)
    with pytest.raises(CRSError, match="not a coordinate system on the Earth's ellipsoid"):
        check_coordinates(frame)


def test_outputs_naming_the_input_or_each_other_are_refused(
    one_parcel: Path, tmp_path: Path, blueprint_dir: Path
) -> None:
    path = one_parcel
    before = path.read_bytes()
    out = tmp_path / "r.json"
    for extra, needle in [
        (["-o", str(path)], "PARCELS and --output name the same file"),
        (["-o", str(out), "--pieces-out", str(tmp_path / "." / "r.json")], "--output and --pieces-out"),
        (["-o", str(out), "--summary", str(out)], "--output and --summary"),
    ]:
        result = CliRunner().invoke(app, ["review", str(path), "-b", str(blueprint_dir), *extra])
        assert result.exit_code == 2 and needle in result.output, result.output
    assert path.read_bytes() == before and not out.exists()
    folder = tmp_path / "pieces"
    folder.mkdir()
    result = CliRunner().invoke(
        app, ["review", str(path), "-b", str(blueprint_dir), "-o", str(out), "--pieces-out", str(folder)]
    )
    assert result.exit_code == 2 and f"{folder} is a folder" in result.output and not out.exists(), result.output


def test_convert_names_the_encodings_it_writes(one_parcel: Path, tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["convert", str(one_parcel), str(tmp_path / "p.txt"), "--encoding", "nonsense"])
    assert result.exit_code == 2 and "gbk" in result.output and "utf-8" in result.output, result.output


def test_a_scheduler_address_that_is_none_is_exit_2(one_parcel: Path, blueprint_dir: Path) -> None:
    args = ["review", str(one_parcel), "-b", str(blueprint_dir), "--workers", "2", "--scheduler", "garbage"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 2 and "cannot reach the dask scheduler at 'garbage'" in result.output, result.output


def test_an_id_numbered_by_position_that_clashes_says_so(blueprint: Blueprint) -> None:
    frame = parcel_frame(rect(1.2, 1.2, 1.6, 1.6), rect(2.2, 1.2, 2.6, 1.6)).assign(id=[None, "1"])
    with pytest.raises(InputError, match=r"duplicate parcel ids: \['1'\] \(parcel\(s\) \['1'\] have no id"):
        review(frame, blueprint)


def test_the_ledgers_rules_are_no_review_profile() -> None:
    # profiles/ holds them too: they were offered as review profiles, then refused with pydantic's internals
    from geo.errors import ProfileError
    from geo.review import available_profiles, load_profile

    assert "ten-point" in available_profiles() and not {"allocation", "ledger"} & set(available_profiles())
    with pytest.raises(ProfileError, match=r"allocation.yaml is not a review profile \(it has no items\)"):
        load_profile("allocation")


def test_two_parts_sharing_a_long_border_are_still_repaired() -> None:
    """Parts drawn side by side share their border's vertices: the rings meet at every one, but once as a
    pair of rings, not once per edge (a 100-vertex border was refused as 300 crossings)."""
    x = [X0 + 10.0 * i for i in range(101)]
    border = [(xi, Y0 + 500 + 20 * math.sin(i / 3)) for i, xi in enumerate(x)]
    south = shapely.Polygon([(X0, Y0), (X0 + 1000, Y0), *border[::-1]])
    north = shapely.Polygon([*border, (X0 + 1000, Y0 + 1000), (X0, Y0 + 1000)])
    geoms, repaired = clean_parcels(parcel_frame(shapely.MultiPolygon([south, north])), ["M"])
    assert repaired == [True] and geoms[0].area == pytest.approx(1_000_000.0)
    stacked = shapely.MultiPolygon([rect(1, 1, 2, 2)] * 30)  # each edge meets 89 others: refused
    with pytest.raises(GeometryError, match="lie over each other"):
        clean_parcels(parcel_frame(stacked), ["S"])


def test_a_site_of_many_adjacent_lots_is_their_union() -> None:
    """900 lots of 10 m × 10 m drawn side by side, as a multipolygon or a collection: about 3,400 pairs of
    lots touch (fewer than two per edge), and GEOS's linework reading cancelled their shared borders into a
    checkerboard of half the area; the site is the lots' union, 300 m × 300 m."""
    lots = [
        shapely.box(X0 + 10 * i, Y0 + 10 * j, X0 + 10 * i + 10, Y0 + 10 * j + 10) for i in range(30) for j in range(30)
    ]
    geoms, repaired = clean_parcels(
        parcel_frame(shapely.MultiPolygon(lots), shapely.GeometryCollection(lots)), ["M", "C"]
    )
    assert repaired == [True, True]
    for site in geoms:
        assert site.area == pytest.approx(90_000.0) and site.equals(shapely.box(X0, Y0, X0 + 300, Y0 + 300))
    stacked = shapely.MultiPolygon([shapely.box(X0, Y0, X0 + 300, Y0 + 300)] * 1000)  # rings stacked: refused
    with pytest.raises(GeometryError, match="lie over each other"):
        clean_parcels(parcel_frame(stacked), ["S"])


def test_rings_stacked_up_are_refused_before_the_repair_and_a_lot_drawn_twice_is_no_hole() -> None:
    """200 copies of a 100-vertex lot meet only at shared vertices: no crossing, but each edge meets about 600
    others (the count alone ran past 6 s, the repair after it); a lot drawn twice inside its site made the
    linework reading cut a hole there, within 0.1 % of the drawn area, where the union is the site."""
    lot = shapely.Point(X0 + 500, Y0 + 500).buffer(100, quad_segs=25)
    start = time.perf_counter()
    with pytest.raises(GeometryError, match="lie over each other") as stacked:
        clean_parcels(parcel_frame(shapely.MultiPolygon([lot] * 200)), ["S"])
    assert time.perf_counter() - start < 30  # the guard itself, not a timing claim: it ran, it did not hang
    assert "相互叠压" in stacked.value.message_zh
    site = shapely.box(X0, Y0, X0 + 1000, Y0 + 1000)
    twice = shapely.MultiPolygon([site, shapely.box(X0 + 10, Y0 + 10, X0 + 25, Y0 + 25)])
    geoms, repaired = clean_parcels(parcel_frame(twice), ["T"])
    assert repaired == [True] and geoms[0].equals(site)


def test_a_site_search_with_an_absurd_investment_is_an_input_error(blueprint: Blueprint) -> None:
    from geo.sites import find_sites

    with pytest.raises(InputError, match=r"investment_wan=2000000000\.0"):
        find_sites(blueprint, area_mu=50, project={"project_type": "industrial", "investment_wan": 2e9})


def test_a_folder_as_an_output_is_refused_before_a_batch_on_workers(
    one_parcel: Path, tmp_path: Path, blueprint_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from geo import batch

    def no_review(*_: object, **__: object) -> None:
        raise AssertionError("reviewed before the folder was refused")

    monkeypatch.setattr(batch, "reviewing_in_partitions", no_review)
    args = ["review", str(one_parcel), "-b", str(blueprint_dir), "--workers", "2", "-o", str(tmp_path)]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 2 and f"--output {tmp_path} is a folder" in result.output, result.output


def test_dash_as_the_output_is_stdout_not_a_file(
    one_parcel: Path, blueprint_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(app, ["review", str(one_parcel), "-b", str(blueprint_dir), "-o", "-"])
    assert result.exit_code == 0, result.output
    assert len(json.loads(result.stdout)["parcels"]) == 1
    assert not (tmp_path / "-").exists()
    # a binary paper goes to stdout that is a file or a pipe (`-f pdf > r.pdf`), not to a terminal
    binary = CliRunner().invoke(app, ["review", str(one_parcel), "-b", str(blueprint_dir), "-f", "pdf", "-o", "-"])
    assert binary.exit_code == 0 and binary.stdout_bytes.startswith(b"%PDF-")
    monkeypatch.setattr("geo.cli.stdout_is_terminal", lambda: True)
    binary = CliRunner().invoke(app, ["review", str(one_parcel), "-b", str(blueprint_dir), "-f", "pdf", "-o", "-"])
    assert binary.exit_code == 2 and "not for a terminal" in binary.output
    named = CliRunner().invoke(app, ["review", str(one_parcel), "-b", str(blueprint_dir), "-o", "./-"])
    assert named.exit_code == 0 and len(json.loads((tmp_path / "-").read_text("utf-8"))["parcels"]) == 1
    # the files written beside the output (a GeoPackage of pieces, a table) are files only: '-' is refused
    for option in ("--pieces-out", "--summary"):
        refused = CliRunner().invoke(app, ["review", str(one_parcel), "-b", str(blueprint_dir), option, "-"])
        assert refused.exit_code == 2 and "'-' is stdout" in refused.output, refused.output
    (tmp_path / "-").unlink()
    pieces = CliRunner().invoke(app, ["review", str(one_parcel), "-b", str(blueprint_dir), "--pieces-out", "./-"])
    assert pieces.exit_code == 0 and len(gpd.read_file(tmp_path / "-")) > 0


def test_an_unclosed_geojson_ring_is_closed_and_said(blueprint_dir: Path, tmp_path: Path) -> None:
    ring = [[X0 + 1000, Y0 + 1000], [X0 + 1400, Y0 + 1000], [X0 + 1400, Y0 + 1400], [X0 + 1000, Y0 + 1400]]
    feature = {"type": "Feature", "properties": {"id": "U"}, "geometry": {"type": "Polygon", "coordinates": [ring]}}
    crs = {"type": "name", "properties": {"name": "EPSG:4548"}}
    path = tmp_path / "open.geojson"
    path.write_text(json.dumps({"type": "FeatureCollection", "crs": crs, "features": [feature]}), encoding="utf-8")
    result = CliRunner().invoke(app, ["review", str(path), "-b", str(blueprint_dir)])
    assert result.exit_code == 0, result.output
    body = json.loads(result.stdout)
    # among the review's own warnings (a parcel without a project type)
    assert "feature 1: 1 ring(s) not closed; closed them (第 1 个要素有 1 个圈未闭合，已自动闭合)" in body["warnings"]
    assert body["parcels"][0]["area_m2"] == pytest.approx(160_000.0)
    closed = {"type": "Polygon", "coordinates": [[*ring, tuple(ring[0])]]}  # closed, though a tuple
    assert "warnings" not in parcels_from_geojson(closed).attrs
    lower = {"type": "polygon", "coordinates": [ring]}  # shapely reads the type in any case
    inside = {"type": "GeometryCollection", "geometries": [{"type": "MultiPolygon", "coordinates": [[ring], [ring]]}]}
    assert parcels_from_geojson(lower).attrs["warnings"][0].startswith("feature 1: 1 ring(s) not closed")
    assert parcels_from_geojson(inside).attrs["warnings"][0].startswith("feature 1: 2 ring(s) not closed")


def test_a_geometry_collection_is_its_polygons_and_a_dropped_line_is_a_repair() -> None:
    square, other = rect(1, 1, 2, 2), rect(3, 1, 4, 2)
    nested = shapely.GeometryCollection([shapely.GeometryCollection([square]), shapely.MultiPolygon([other])])
    with_line = shapely.GeometryCollection([square, shapely.LineString([(0, 0), (9, 9)]), shapely.Point(5, 5)])
    overlapping = shapely.GeometryCollection([square, square])
    geoms, repaired = clean_parcels(parcel_frame(nested, with_line), ["N", "L"])
    assert geoms[0].area == pytest.approx(square.area + other.area)  # the polygons of a nested collection kept
    assert geoms[1].equals(square)
    assert repaired == [False, True]  # the line and the point were left out: said as a repair
    with pytest.raises(GeometryError, match="without changing its area"):  # not merged into one square silently
        clean_parcels(parcel_frame(overlapping), ["O"])


def test_the_crossing_count_holds_a_bounded_number_of_pairs_in_runs_that_cover_every_edge() -> None:
    """A smooth ring of 200,000 edges goes in runs of many edges (it went one edge at a time past a million
    edges: 90 s for a million-edge ring, longer than the repair it guards); a star whose every edge meets
    about every other goes in runs short enough that none holds more than PAIRS_AT_A_TIME pairs."""

    def edges_of(xy: np.ndarray) -> np.ndarray:
        return shapely.linestrings(np.stack([xy, np.roll(xy, -1, axis=0)], axis=1))

    t = np.linspace(0, 2 * math.pi, 200_000, endpoint=False)
    smooth = edges_of(np.c_[np.cos(t), np.sin(t)])
    spiky = edges_of(shapely.get_coordinates(_star(2_001).exterior)[:-1])
    for edges in (smooth, spiky):
        tree = shapely.STRtree(edges)
        runs = list(_runs_of_bounded_pairs(edges, tree))
        assert [i for run in runs for i in range(run.start, run.stop)] == list(range(len(edges)))
        pairs = [len(tree.query(edges[run], predicate="intersects")[0]) for run in runs]
        assert max(pairs) <= PAIRS_AT_A_TIME
    assert max(run.stop - run.start for run in runs) * len(spiky) <= PAIRS_AT_A_TIME  # the star's box holds all
    assert max(run.stop - run.start for run in _runs_of_bounded_pairs(smooth, shapely.STRtree(smooth))) >= 512


def test_a_nested_collection_counts_toward_the_vertex_limit() -> None:
    """The positions are counted in one walk, shared by the vertex limit and the rings shapely closes: a
    collection within a collection was not counted at all, and one walked twice."""
    ring = [[0, 0], [1, 0], [1, 1], [0, 0]]
    inner = {"type": "GeometryCollection", "geometries": [{"type": "Polygon", "coordinates": [ring] * 30}]}
    nested = {"type": "GeometryCollection", "geometries": [inner]}
    with pytest.raises(TooLargeError, match="more than 100 vertices"):
        parcels_from_geojson(nested, limits=ReadLimits(max_bytes=10**6, max_parcels=10, max_vertices=100))
    assert len(parcels_from_geojson(nested, limits=ReadLimits(max_bytes=10**6, max_parcels=10, max_vertices=120)))


# -- small hostile files that were a 500 (hostile probe of 12-05): each an input error with a reason ----------


@pytest.mark.parametrize(
    "text",
    [
        '{"type": "Feature", "properties": {"id": ' + "9" * 5000 + '}, "geometry": null}',  # Python refuses > 4,300
        '{"type": "Polygon", "coordinates": [[[1' + "0" * 400 + ", 2], [3, 4], [5, 6], [1, 2]]]}",  # beyond a double
    ],
    ids=["5000-digit-property", "400-digit-coordinate"],
)
def test_an_integer_of_hundreds_of_digits_is_a_format_error(text: str) -> None:
    from geo.errors import FormatError
    from geo.io import parse_geojson_bytes

    with pytest.raises(FormatError, match="digits"):
        parse_geojson_bytes(text)


@pytest.mark.parametrize("depth", [5, 900])
def test_coordinates_nested_beyond_a_multipolygon_are_a_format_error(depth: int) -> None:
    """A Polygon whose coordinates nest 900 lists deep (1.9 KB, under the JSON parser's own nesting limit) made
    shapely recurse until a RecursionError, a 500; it is refused before shapely reads it."""
    from geo.errors import FormatError
    from geo.io import parse_geojson_bytes

    text = '{"type": "Polygon", "coordinates": ' + "[" * depth + "1" + "]" * depth + "}"
    with pytest.raises(FormatError, match="nested deeper than GeoJSON's 4 levels"):
        parse_geojson_bytes(text)
    ring = [[0, 0], [1, 0], [1, 1], [0, 0]]
    multi = {"type": "MultiPolygon", "coordinates": [[ring], [[[5, 5], [6, 5], [6, 6], [5, 5]]]]}
    assert len(parcels_from_geojson(multi)) == 1  # four levels, a MultiPolygon's own, read


def test_features_of_made_up_property_names_are_a_format_error() -> None:
    """The frame has a column for every property name any feature gives and a cell per feature: 400 features of
    100 names of their own (0.6 MB) made 16 million cells, 2 GB in the service. At most 200 names in all."""
    from geo.errors import FormatError
    from geo.io.parcels import MAX_PROPERTY_NAMES

    square = {"type": "Polygon", "coordinates": [[[116.6, 35.4], [116.601, 35.4], [116.601, 35.401], [116.6, 35.4]]]}

    def collection(names: list[list[str]]) -> dict[str, Any]:
        features = [{"type": "Feature", "properties": dict.fromkeys(n, 1), "geometry": square} for n in names]
        return {"type": "FeatureCollection", "features": features}

    own = [[f"{i}_{j}" for j in range(100)] for i in range(3)]
    with pytest.raises(FormatError, match=f"more than {MAX_PROPERTY_NAMES} distinct property names \\(by feature 3\\)"):
        parcels_from_geojson(collection(own))
    shared = [[f"f{j}" for j in range(MAX_PROPERTY_NAMES)]] * 50  # one table's fields, however many features
    assert parcels_from_geojson(collection(shared)).shape == (50, MAX_PROPERTY_NAMES + 1)


def test_a_coordinate_beyond_a_double_from_a_parsed_body_is_a_format_error() -> None:
    """A JSON body the framework parsed (a site search's ``within``) hands on Python's own integer."""
    from geo.errors import FormatError

    ring = [[10**400, 2], [3, 4], [5, 6], [10**400, 2]]
    with pytest.raises(FormatError, match="unreadable geometry"):
        parcels_from_geojson({"type": "Polygon", "coordinates": [ring]})


def test_a_zip_entry_name_longer_than_a_file_system_allows_is_a_format_error(tmp_path: Path) -> None:
    import zipfile

    from geo.errors import FormatError
    from geo.io.archive import extract_zip

    for name in ("a" * 300 + ".txt", "/".join(["d" * 200] * 30) + "/x.txt"):
        path = tmp_path / "long.zip"
        with zipfile.ZipFile(path, "w") as archive:
            archive.writestr(name, b"x")
        with pytest.raises(FormatError, match="too long"):
            extract_zip(path, tmp_path / "out")


@pytest.mark.parametrize(
    "coordinates",
    ["116.618486,35.386791 116.618479,35.388233 116.616718,35.388228 116.616725,35.386786", "116.618486,35.386791"],
    ids=["unclosed", "one-point"],
)
def test_a_kml_ring_gdal_hands_on_and_geos_refuses_is_a_format_error(coordinates: str, tmp_path: Path) -> None:
    from geo.errors import FormatError
    from geo.io import read_parcels

    path = tmp_path / "p.kml"
    path.write_text(
        '<?xml version="1.0" encoding="UTF-8"?><kml xmlns="http://www.opengis.net/kml/2.2"><Document><Placemark>'
        f"<name>x</name><Polygon><outerBoundaryIs><LinearRing><coordinates>{coordinates}</coordinates>"
        "</LinearRing></outerBoundaryIs></Polygon></Placemark></Document></kml>",
        encoding="utf-8",
    )
    with pytest.raises(FormatError, match="ring"):
        read_parcels(path)


@pytest.mark.parametrize(
    "line",
    [
        "<gx:Track><when>2024-05-01T08:00:00Z</when><gx:coord>116.6184 35.3867 0</gx:coord></gx:Track>",
        "<gx:MultiTrack><gx:Track><gx:coord>116.6184 35.3867 0</gx:coord></gx:Track></gx:MultiTrack>",
        "<LineString><coordinates>116.6184,35.3867</coordinates></LineString>",
    ],
    ids=["track", "multitrack", "linestring"],
)
def test_a_kml_track_of_one_point_is_said_to_be_a_line_not_a_ring(line: str, tmp_path: Path) -> None:
    """GEOS refuses a line of one point in the words it uses for a ring of one; the refusal spoke of rings
    needing 4 points (probe: a gx:Track of one fix). The refused geometry's type says it is a line, no parcel."""
    from geo.errors import FormatError
    from geo.io import read_parcels
    from geo.io.parcels import ReadLimits

    path = tmp_path / "track.kml"
    path.write_text(
        '<?xml version="1.0" encoding="UTF-8"?><kml xmlns="http://www.opengis.net/kml/2.2" '
        'xmlns:gx="http://www.google.com/kml/ext/2.2"><Document><Placemark><name>ok</name><Polygon><outerBoundaryIs>'
        "<LinearRing><coordinates>116.6,35.4 116.601,35.4 116.601,35.401 116.6,35.4</coordinates></LinearRing>"
        f"</outerBoundaryIs></Polygon></Placemark><Placemark><name>walk</name>{line}</Placemark></Document></kml>",
        encoding="utf-8",
    )
    for limits in (None, ReadLimits(max_bytes=10**7, max_parcels=10, max_vertices=10**6)):
        with pytest.raises(
            FormatError, match=r"^track\.kml: a line of one point \(a GPS track or path\), not a polygon"
        ):
            read_parcels(path, limits=limits)


def test_a_coordinate_text_with_a_point_count_of_thousands_of_digits_is_read() -> None:
    """界址点数 only feeds a warning: one of 5,000 digits is no count (int() would refuse it)."""
    from geo.io import parse_coordinate_text

    text = (
        "[属性描述]\n坐标系=2000国家大地坐标系\n几度分带=3\n投影类型=高斯克吕格\n计量单位=米\n带号=39\n[地块坐标]\n"
        + "9" * 5000
        + ",2.5600,D01,合规住宅项目,面,,,,@\nJ1,1,3917732.007,39465176.920\nJ2,1,3917732.007,39465336.920\n"
        "J3,1,3917572.007,39465336.920\nJ4,1,3917572.007,39465176.920\nJ1,1,3917732.007,39465176.920\n"
    )
    assert len(parse_coordinate_text(text)) == 1


@pytest.mark.parametrize("cpg", [None, b"XYZ-999"], ids=["no-cpg", "unknown-cpg"])
def test_a_gbk_shapefile_without_a_cpg_it_knows_reads_its_chinese_and_says_so(
    cpg: bytes | None, tmp_path: Path
) -> None:
    """GDAL reads such text as Latin-1: 合规住宅项目 came out as ºÏ¹æ×¡Õ¬ÏîÄ¿, with no warning (hostile probe)."""
    import zipfile

    from geo.io import read_parcels, write_parcels

    frame = parcel_frame(rect(1.2, 1.2, 1.6, 1.6), id="地块1", name="合规住宅项目")
    frame["备注"] = ["水田"]
    written = tmp_path / "gbk.zip"
    write_parcels(frame, written, encoding="gbk")
    stripped = tmp_path / "stripped.zip"
    with zipfile.ZipFile(written) as source, zipfile.ZipFile(stripped, "w") as out:
        for name in source.namelist():
            if not name.endswith(".cpg"):
                out.writestr(name, source.read(name))
            elif cpg is not None:
                out.writestr(name, cpg)
    read = read_parcels(stripped)
    assert read["name"].tolist() == ["合规住宅项目"] and read["id"].tolist() == ["地块1"]
    assert read["备注"].tolist() == ["水田"]
    assert any("GBK" in w for w in read.attrs["warnings"])
    assert not any("GBK" in w for w in read_parcels(written).attrs.get("warnings", []))  # declared: as it is


def test_a_name_or_id_too_long_for_a_report_is_refused(blueprint: Blueprint) -> None:
    """A name of 1,500 characters or an id of 3,000 was accepted, and the review's PDF was a 500 for good."""
    from geo.review.result import MAX_ID_CHARS, MAX_NAME_CHARS

    with pytest.raises(InputError, match="name"):
        review(parcel_frame(rect(1.2, 1.2, 1.6, 1.6), name="工" * (MAX_NAME_CHARS + 1)), blueprint)
    with pytest.raises(InputError, match=f"more than {MAX_ID_CHARS} characters"):
        review(parcel_frame(rect(1.2, 1.2, 1.6, 1.6), id="P" * (MAX_ID_CHARS + 1)), blueprint)
    kept = review(parcel_frame(rect(1.2, 1.2, 1.6, 1.6), name="工" * MAX_NAME_CHARS, id="P" * MAX_ID_CHARS), blueprint)
    assert len(kept.parcels) == 1


def test_the_longest_name_and_id_allowed_still_make_a_pdf(blueprint: Blueprint) -> None:
    from geo.report_pdf import review_report_pdf
    from geo.review.result import MAX_ID_CHARS, MAX_NAME_CHARS

    result = review(
        parcel_frame(rect(1.2, 1.2, 1.6, 1.6), name="工" * MAX_NAME_CHARS, id="P" * MAX_ID_CHARS), blueprint
    )
    assert review_report_pdf(result).startswith(b"%PDF")


@pytest.mark.parametrize("given", [{"a": 1}, [1, 2], True], ids=["object", "list", "true"])
def test_a_parcel_id_that_is_no_text_or_number_is_refused(given: object, blueprint: Blueprint) -> None:
    frame = parcels_from_geojson(
        {
            "type": "Feature",
            "properties": {"id": given},
            "geometry": shapely.geometry.mapping(rect(1.2, 1.2, 1.6, 1.6)),
            "crs": {"type": "name", "properties": {"name": "EPSG:4548"}},
        }
    )
    with pytest.raises(InputError, match="text or numbers"):
        review(frame, blueprint)


def test_a_shapefile_without_its_dbf_says_its_parcels_carry_no_attributes(tmp_path: Path) -> None:
    import zipfile

    from geo.io import read_parcels, write_parcels

    written = tmp_path / "p.zip"
    write_parcels(parcel_frame(rect(1.2, 1.2, 1.6, 1.6), id="地块1", project_type="industrial"), written)
    stripped = tmp_path / "no_dbf.zip"
    with zipfile.ZipFile(written) as source, zipfile.ZipFile(stripped, "w") as out:
        for name in source.namelist():
            if not name.lower().endswith(".dbf"):
                out.writestr(name, source.read(name))
    assert any(".dbf" in w for w in read_parcels(stripped).attrs["warnings"])
    assert not any(".dbf" in w for w in read_parcels(written).attrs.get("warnings", []))


def test_degrees_out_of_range_are_not_called_projected_metres_and_huge_ones_are_not_spelt_out() -> None:
    typo = gpd.GeoSeries([shapely.box(116.6, 89.5, 116.7, 95.0)], crs=4490)
    with pytest.raises(CRSError, match="±90") as refused:
        check_coordinates(typo)
    assert "projected" not in str(refused.value)
    huge = gpd.GeoSeries([shapely.box(116.6, 35.0, 1e308, 35.1)], crs=4490)
    with pytest.raises(CRSError, match="projected metres") as refused:
        check_coordinates(huge)
    assert len(str(refused.value)) < 400 and "1e+308" in str(refused.value)


@pytest.mark.parametrize(("encoding", "cpg"), [("cp1252", "1252"), ("utf-8", "UTF-8"), ("cp1252", "ANSI 1252")])
def test_a_shapefile_whose_cpg_names_its_encoding_is_read_as_declared(encoding: str, cpg: str, tmp_path: Path) -> None:
    """The GBK guess is for text no .cpg declares: a declared Müller stayed M黮ler once (re-probe of 12-05)."""
    from geo.io import read_parcels

    frame = parcel_frame(rect(1.2, 1.2, 1.6, 1.6), rect(2.2, 2.2, 2.6, 2.6))
    frame["name"] = ["Müller", "Straße"]
    frame.to_file(tmp_path / "x.shp", engine="pyogrio", encoding=encoding)
    (tmp_path / "x.cpg").write_text(cpg, encoding="ascii")
    read = read_parcels(tmp_path / "x.shp")
    assert read["name"].tolist() == ["Müller", "Straße"]
    assert not any("GBK" in w for w in read.attrs.get("warnings", []))


@pytest.mark.parametrize(("encoding", "cpg"), [("utf-8", "GBK"), ("utf-8", "936"), ("utf-8", "1252"), ("gbk", "UTF-8")])
def test_a_shapefile_whose_cpg_names_another_encoding_than_its_text_is_refused(
    encoding: str, cpg: str, tmp_path: Path
) -> None:
    """A UTF-8 table beside a .cpg saying GBK was read into other characters without a word (地块一 as 鍦板潡涓€:
    probe), its ids among them; one saying 1252 into Ã¥ and the like. Refused naming the .cpg, on disk and zipped
    (a blueprint's build alike: test_build's ``cpg_wrong``), as GBK text beside a .cpg saying UTF-8 is."""
    from geo.io import read_parcels

    frame = parcel_frame(rect(1.2, 1.2, 1.6, 1.6), rect(2.2, 2.2, 2.6, 2.6))
    frame["id"] = ["地块一", "地块二"]
    folder = tmp_path / "p"
    folder.mkdir()
    frame.to_file(folder / "x.shp", engine="pyogrio", encoding=encoding)
    (folder / "x.cpg").write_text(cpg, encoding="ascii")
    said = f"its .cpg declares {cpg!r}, but its text is not in that encoding"
    with pytest.raises(FormatError, match=f"^x.shp: {re.escape(said)}") as refused:
        read_parcels(folder / "x.shp")
    assert ".cpg 文件声明的编码为" in refused.value.message_zh
    archive = tmp_path / "地块.zip"
    with zipfile.ZipFile(archive, "w") as z:
        for part in folder.iterdir():
            z.write(part, part.name)
    with pytest.raises(FormatError, match=f"^地块.zip: {re.escape(said)}"):
        read_parcels(archive)
    (folder / "x.cpg").unlink()  # without it, the text's own encoding is found and said
    assert read_parcels(folder / "x.shp")["id"].tolist() == ["地块一", "地块二"]


def test_text_a_cpg_declares_is_checked_value_by_value_and_chinese_passing_as_utf8_is_no_utf8() -> None:
    """梅园路 in GBK is valid UTF-8 (÷԰·), and a GBK-declared file holding it was refused as UTF-8 mislabelled:
    UTF-8 Chinese holds characters from U+0800 on, that text none. A value a dBASE writer cut inside a character
    (by bytes, at the field's width), followed by the next record's, made the joined values invalid: each value
    may end in a cut character."""
    from geo.io.encoding import declared_wrongly, decodes

    def field(*values: bytes, width: int = 10) -> np.ndarray:
        return np.frombuffer(b"".join(v.ljust(width) for v in values), np.uint8).reshape(len(values), width)

    meiyuan = field("梅园路".encode("gbk"))
    assert decodes(meiyuan, "utf-8") and not declared_wrongly([meiyuan], "gbk")  # valid UTF-8, declared GBK: GBK
    assert declared_wrongly([field("地块一".encode())], "gbk")  # UTF-8 Chinese declared GBK: refused
    assert declared_wrongly([field("Müller".encode())], "cp1252")  # UTF-8 Latin declared 1252: refused
    assert not declared_wrongly([field("Müller".encode("cp1252"))], "cp1252")
    cut = field("规划用地".encode("gbk")[:7], b"102", width=7)  # 地 cut after its first byte, "1" no trail byte
    assert not decodes(cut.tobytes(), "gbk") and decodes(cut, "gbk") and not declared_wrongly([cut], "gbk")
    utf8_cut = field("规划用地".encode()[:10], b"D02")
    assert decodes(utf8_cut, "utf-8") and not declared_wrongly([utf8_cut], "utf-8")


def test_a_thousand_parcels_numbered_alike_get_the_next_free_suffix() -> None:
    """Each repeat searched from -2 again: 22,000 records numbered A held a worker 57 s (re-probe of 12-05)."""
    from geo.io import parse_coordinate_text

    record = (
        "4,,A,,面,,,,@\nJ1,1,{y},39465176.920\nJ2,1,{y},39465336.920\nJ3,1,{z},39465336.920\nJ1,1,{y},39465176.920\n"
    )
    text = (
        "[属性描述]\n坐标系=2000国家大地坐标系\n几度分带=3\n投影类型=高斯克吕格\n计量单位=米\n带号=39\n[地块坐标]\n"
        + "".join(record.format(y=3917732.0 + 200 * k, z=3917572.0 + 200 * k) for k in range(1000))
    )
    ids = parse_coordinate_text(text)["id"].tolist()
    assert ids == ["A", *(f"A-{k}" for k in range(2, 1001))]


def test_file_text_a_warning_quotes_is_cut_and_so_is_a_warning_in_the_report(blueprint: Blueprint) -> None:
    """A 地块面积 of 200,000 characters was quoted whole, twice, and the PDF took 31 s (re-probe of 12-05)."""
    from geo.io import parse_coordinate_text
    from geo.report_model import WARNING_CHARS, report_model

    text = (
        "[属性描述]\n坐标系=2000国家大地坐标系\n几度分带=3\n投影类型=高斯克吕格\n计量单位=米\n带号=39\n[地块坐标]\n"
        "5," + "长" * 200_000 + ",D01,项目,面,,,,@\nJ1,1,3917732.007,39465176.920\nJ2,1,3917732.007,39465336.920\n"
        "J3,1,3917572.007,39465336.920\nJ4,1,3917572.007,39465176.920\nJ1,1,3917732.007,39465176.920\n"
    )
    parcels = parse_coordinate_text(text)
    (warning,) = [w for w in parcels.attrs["warnings"] if "地块面积" in w]
    assert len(warning) < 400 and "长" * 40 + "…" in warning
    result = review(parcel_frame(rect(1.2, 1.2, 1.6, 1.6)), blueprint)
    result.warnings = ["长" * 100_000]
    (note,) = [n for n in report_model(result).notes if n.startswith("输入提示")]
    assert len(note) == len("输入提示：") + WARNING_CHARS + 1


def test_a_declared_area_that_is_no_area_is_said_and_an_infinite_id_refused(blueprint: Blueprint) -> None:
    """1e309, -0.0 or "abc" as the declared area were dropped without a word; 1e309 as an id became "inf"."""
    frame = parcel_frame(rect(1.2, 1.2, 1.6, 1.6), rect(2.2, 2.2, 2.6, 2.6), rect(0.2, 0.2, 0.6, 0.6))
    frame["id"] = ["A", "B", "C"]
    frame["declared_area_ha"] = [math.inf, "abc", 16.0]
    result = review(frame, blueprint)
    said = [w for w in result.warnings if "declared_area_ha" in w]
    assert len(said) == 2 and "'inf'" in said[0] and "'abc'" in said[1]
    assert result.parcels[2].declared_area_ha == 16.0
    assert result.parcels[0].declared_area_ha is None and result.parcels[0].declared_area_diff_pct is None
    frame["id"] = [math.inf, "B", "C"]
    with pytest.raises(InputError, match="text or numbers"):
        review(frame, blueprint)


def test_a_file_of_features_without_geometry_says_so(tmp_path: Path, blueprint: Blueprint) -> None:
    """A GeoPackage whose only feature has a null geometry was refused as "coordinates (lon nan…nan, lat nan…nan)
    are outside China": its bounds were taken over nothing. The parcel is named as having no geometry."""
    from geo.io import read_parcels

    path = tmp_path / "null.gpkg"
    gpd.GeoDataFrame({"id": ["B"]}, geometry=[None], crs=4490).to_file(path)
    with pytest.raises(GeometryError, match="parcel B: geometry is empty"):
        review(read_parcels(path), blueprint)


@pytest.mark.parametrize("text", ["NaN", "Infinity", "-Infinity"])
def test_a_figure_written_nan_or_infinity_is_no_finite_number(text: str) -> None:
    """The string "NaN" as investment_wan was refused as "should be less than or equal to 1000000000"."""
    from geo.review.engine import project_of

    with pytest.raises(InputError, match=r"investment_wan='.*': Input should be a finite number"):
        project_of({"investment_wan": text})


def test_an_investment_of_minus_zero_is_zero() -> None:
    """-0.0 万元 was written "-0 万元" and supported "-0.0000 ha" in the land-use standard's finding."""
    from geo.review.engine import project_of

    investment = project_of({"investment_wan": -0.0}).investment_wan
    assert investment is not None and math.copysign(1.0, investment) == 1.0  # -0.0 == 0.0: the sign is the test


def test_a_bad_value_is_echoed_cut_in_its_error() -> None:
    """A 3 MB name came back three times in a 9 MB problem response (probe): the value is shown to 60 characters."""
    from geo.review.engine import SHOWN_VALUE_CHARS, project_of

    with pytest.raises(InputError) as refused:
        project_of({"name": "名" * 100_000, "investment_wan": "9" * 5000})
    for message in (refused.value.message_en, refused.value.message_zh):
        assert len(message) < 4 * SHOWN_VALUE_CHARS + 400, len(message)
        assert "name='名名" in message and "investment_wan='999" in message and "…" in message
