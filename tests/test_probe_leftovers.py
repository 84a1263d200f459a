"""What a hostile probe left: each refusal says what is wrong where a planner or surveyor looks for it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import geopandas as gpd
import pytest
import shapely

from geo.build.presets import load_presets
from geo.errors import FormatError, GeometryError, InputError, ProfileError
from geo.geometry import clean_parcels
from geo.io import read_parcels
from geo.resources import not_a_file
from geo.review.profile import load_profile

HEADER = """[属性描述]
坐标系=2000国家大地坐标系
几度分带=3
投影类型=高斯克吕格
计量单位=米
带号=39
精度=0.001
转换参数=,,,,,,
[地块坐标]
"""


def _coordinate_text(tmp_path: Path, *points: tuple[float, float]) -> Path:
    """One parcel of a 坐标 text, its points as written (X the northing, Y the easting), closed."""
    lines = [f"{len(points) + 1},1.0,1,厂区,面,,,,@"]
    lines += [f"J{k},1,{x:.3f},{y:.3f}" for k, (x, y) in enumerate([*points, points[0]], start=1)]
    path = tmp_path / "parcel.txt"
    path.write_text(HEADER + "\n".join(lines) + "\n", encoding="utf-8")
    return path


def _refusal(frame: gpd.GeoDataFrame) -> GeometryError:
    with pytest.raises(GeometryError) as raised:
        clean_parcels(frame.geometry, ["1"] * len(frame))
    return raised.value


def test_a_coordinate_texts_bow_tie_is_located_in_the_files_own_order(tmp_path: Path) -> None:
    """GEOS says ``Self-intersection[39465150 3917750]`` (easting first); the 坐标 text lists X, the northing,
    first: the surveyor is told the point as the file has it, X=northing, Y=easting, each named."""
    bow = _coordinate_text(tmp_path, (3917700, 39465100), (3917800, 39465200), (3917800, 39465100), (3917700, 39465200))
    error = _refusal(read_parcels(bow))
    assert "X=3917750 (northing, 北坐标), Y=39465150 (easting, 东坐标)" in error.message_en, error.message_en
    assert "X=3917750（北坐标）、Y=39465150（东坐标）" in error.message_zh, error.message_zh
    assert "[39465150 3917750]" not in str(error)


@pytest.mark.parametrize(
    ("crs", "x", "y", "en", "zh"),
    [
        (
            "EPSG:4527",
            39465100,
            3917700,
            "at easting 39465150 (东坐标), northing 3917750 (北坐标)",
            "东坐标 39465150、北坐标 3917750",
        ),
        ("EPSG:4490", 116.6, 35.4, "at longitude 116.605, latitude 35.405", "经度 116.605、纬度 35.405"),
    ],
)
def test_a_bow_ties_location_names_its_axes(crs: str, x: float, y: float, en: str, zh: str) -> None:
    d = 100 if crs == "EPSG:4527" else 0.01
    bow = shapely.Polygon([(x, y), (x + d, y + d), (x + d, y), (x, y + d)])
    error = _refusal(gpd.GeoDataFrame(geometry=[bow], crs=crs))
    assert en in error.message_en and zh in error.message_zh, (error.message_en, error.message_zh)


@pytest.mark.parametrize(
    "ring",
    [
        [(0, 0), (100, 100), (200, 200), (0, 0)],  # on one line
        [(0, 0), (200, 200), (100, 100), (0, 0)],  # on one line, doubling back
        [(0, 0), (100, 100), (100, 100), (0, 0)],  # a point repeated
    ],
)
def test_a_ring_of_no_area_is_said_to_have_none(ring: list[tuple[float, float]]) -> None:
    """Points on one line were refused as a "Self-intersection" (or "Too few points"): no crossing to find."""
    x, y = 39465100, 3917700
    flat = shapely.Polygon([(x + dx, y + dy) for dx, dy in ring])
    error = _refusal(gpd.GeoDataFrame(geometry=[flat], crs="EPSG:4527"))
    assert "no area" in error.message_en and "面积为零" in error.message_zh, (error.message_en, error.message_zh)
    assert "Self-intersection" not in str(error) and "Too few points" not in str(error)


def test_a_coordinate_texts_points_on_one_line_have_no_area(tmp_path: Path) -> None:
    line = _coordinate_text(tmp_path, (3917700, 39465100), (3917800, 39465200), (3917900, 39465300))
    error = _refusal(read_parcels(line))
    assert "no area" in error.message_en and "Self-intersection" not in str(error), error.message_en


def test_a_part_of_no_area_beside_one_of_some_is_still_repaired() -> None:
    x, y = 39465100, 3917700
    square = shapely.box(x, y, x + 100, y + 100)
    flat = shapely.Polygon([(x + 200, y), (x + 300, y + 100), (x + 400, y + 200), (x + 200, y)])
    geoms, repaired = clean_parcels(gpd.GeoSeries([shapely.MultiPolygon([square, flat])], crs="EPSG:4527"), ["1"])
    assert repaired == [True] and geoms[0].area == pytest.approx(square.area)


@pytest.mark.parametrize("item", ["/dev/zero", "{tmp}/folder.yaml", "{tmp}/folder"])
def test_a_preset_path_that_is_there_but_no_file_is_refused_as_such(item: str, tmp_path: Path) -> None:
    """``--preset /dev/zero`` was an "unknown preset" though the path is there (probe): it is named as what it is."""
    (tmp_path / "folder.yaml").mkdir()
    (tmp_path / "folder").mkdir()
    with pytest.raises(InputError, match=r"exists but is (not a regular file|a directory)") as raised:
        load_presets([item.format(tmp=tmp_path)])
    assert "存在，但是" in raised.value.message_zh


@pytest.mark.parametrize("item", ["/dev/zero", "{tmp}/folder.yaml"])
def test_a_profile_path_that_is_there_but_no_file_is_refused_as_such(item: str, tmp_path: Path) -> None:
    """``lantu review --profile /dev/zero`` said "profile file /dev/zero not found" though it is there (probe)."""
    (tmp_path / "folder.yaml").mkdir()
    with pytest.raises(ProfileError, match=r"exists but is (not a regular file|a directory)") as raised:
        load_profile(item.format(tmp=tmp_path))
    assert "存在，但是" in raised.value.message_zh
    with pytest.raises(ProfileError, match="not found"):
        load_profile(str(tmp_path / "missing.yaml"))


def test_a_preset_name_beside_a_folder_of_that_name_is_still_a_name(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "sandiao").mkdir()
    monkeypatch.chdir(tmp_path)
    assert load_presets(["sandiao"])[0].layers


def test_the_check_for_a_data_file_leaves_files_and_missing_paths_alone(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text("a: 1\n", encoding="utf-8")
    assert not_a_file(tmp_path / "a.yaml") is None and not_a_file(tmp_path / "missing.yaml") is None
    refused = not_a_file(Path("/dev/zero"))
    assert refused is not None and "not a regular file" in refused[0]


def test_the_ledger_run_alone_says_it_does_not_read_lantu_database_url(tmp_path: Path) -> None:
    """``python -m geo.cli quota --help`` said the ledger is LANTU_DATABASE_URL; run alone the command reads no
    LANTU_* setting and recorded into ./lantu.db unsaid (probe): the help says which command reads it. (A warning
    naming a setting given to it would read the environment, which the library never does: test_layering.)"""
    root = Path(__file__).resolve().parents[1]
    env = {**os.environ, "PYTHONPATH": str(root), "LANTU_DATABASE_URL": f"sqlite:///{tmp_path / 'asked.db'}"}
    command = [sys.executable, "-m", "geo.cli", "quota"]
    done = subprocess.run([*command, "init"], capture_output=True, text=True, cwd=tmp_path, env=env, check=False)
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "lantu.db").exists() and not (tmp_path / "asked.db").exists()
    shown = subprocess.run([*command, "--help"], capture_output=True, text=True, cwd=tmp_path, env=env, check=False)
    assert "sqlite:///lantu.db under `python -m geo.cli`" in " ".join(shown.stdout.split()), shown.stdout


SQUARE_KML = "116.60,35.40 116.61,35.40 116.61,35.41 116.60,35.41 116.60,35.40"


def _kml(tmp_path: Path, *placemarks: str) -> Path:
    marks = "".join(
        f"<Placemark>{body}<Polygon><outerBoundaryIs><LinearRing><coordinates>{SQUARE_KML}</coordinates>"
        "</LinearRing></outerBoundaryIs></Polygon></Placemark>"
        for body in placemarks
    )
    path = tmp_path / "parcels.kml"
    path.write_text(
        f'<?xml version="1.0" encoding="UTF-8"?><kml xmlns="http://www.opengis.net/kml/2.2"><Document>{marks}'
        "</Document></kml>",
        encoding="utf-8",
    )
    return path


@pytest.mark.parametrize(
    "data",
    [
        '<Data name="id"><value>A-1</value></Data><Data name="id"><value>A-2</value></Data>',
        '<SchemaData schemaUrl="#s"><SimpleData name="id">A-1</SimpleData><SimpleData name="id">A-2</SimpleData>'
        "</SchemaData>",
    ],
)
def test_a_placemark_giving_its_id_twice_is_refused_naming_both(tmp_path: Path, data: str) -> None:
    """GDAL keeps the last of two ``<Data name="id">``: the placemark was reviewed as A-2, A-1 lost unsaid."""
    path = _kml(
        tmp_path,
        "<name>ok</name><ExtendedData><Data name='id'><value>B</value></Data></ExtendedData>",
        f"<name>厂区</name><ExtendedData>{data}</ExtendedData>",
    )
    with pytest.raises(FormatError, match="placemark 2 \\('厂区'\\) gives its data field 'id' twice") as raised:
        read_parcels(path)
    assert "'A-1'" in raised.value.message_en and "'A-2'" in raised.value.message_en
    assert "第 2 个地标" in raised.value.message_zh and "'A-1'" in raised.value.message_zh


def test_a_field_given_twice_alike_or_once_in_each_placemark_is_read(tmp_path: Path) -> None:
    twice = '<ExtendedData><Data name="id"><value>A-1</value></Data><Data name="id"><value>A-1</value></Data>'
    path = _kml(
        tmp_path, f"{twice}</ExtendedData>", '<ExtendedData><Data name="id"><value>A-2</value></Data></ExtendedData>'
    )
    assert read_parcels(path)["id"].tolist() == ["A-1", "A-2"]
