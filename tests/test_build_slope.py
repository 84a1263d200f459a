"""``lantu blueprint build`` and the slope raster's values: the review reads 坡度 as degrees from 0 to 90, so a
raster in percent, a DEM given as the slope, or a nodata value the file does not declare is refused at build
time, naming the file, the least and greatest value found and the likely cause; nodata and NaN are no value. A
raster of 90° (within 0.01°) over more than half of the pixels holding a value (a mask or a fill) is refused too;
one of another single value is built with a warning in the report (a flat area is possible over a small extent).

Every raster is a tiny GeoTIFF written here, in CGCS2000 geographic (EPSG:4490) over the km grid of
``support`` (EPSG:4548, about 116.6°E 35.4°N), beside a red line the preset recognises.
"""

from __future__ import annotations

import json
from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest
import rasterio
from rasterio.transform import from_origin
from support import EPSG, rect
from typer.testing import CliRunner

from geo.blueprint import load_blueprint
from geo.build import build_blueprint
from geo.cli import app
from geo.errors import InputError

runner = CliRunner()
SIDE = 20  # pixels a side: 20 × 0.0005° over the support grid's south-west corner


def slope_source(folder: Path, data: np.ndarray, *, nodata: float | None = None) -> Path:
    """A department's folder: ``PD.tif`` (坡度, EPSG:4490) of ``data`` and a 生态保护红线 GeoPackage."""
    folder.mkdir(parents=True)
    with rasterio.open(
        folder / "PD.tif", "w", driver="GTiff", width=data.shape[1], height=data.shape[0], count=1,
        dtype=data.dtype, crs="EPSG:4490", transform=from_origin(116.60, 35.41, 0.0005, 0.0005), nodata=nodata,
    ) as ds:  # fmt: skip
        ds.write(data, 1)
    redline = gpd.GeoDataFrame({"HXMC": ["微山湖"]}, geometry=[rect(0, 0, 1, 1)], crs=EPSG)
    redline.to_file(folder / "STBHHX.gpkg", layer="STBHHX")
    return folder


def grid(low: float, high: float) -> np.ndarray:
    """``SIDE`` × ``SIDE`` float32 values running from ``low`` (first pixel) to ``high`` (last)."""
    return np.linspace(low, high, SIDE * SIDE, dtype="float32").reshape(SIDE, SIDE)


def build(source: Path, out: Path) -> tuple[int, str]:
    result = runner.invoke(app, ["blueprint", "build", str(source), "-o", str(out)])
    return result.exit_code, " ".join(result.output.split())


def test_a_slope_in_degrees_builds_and_its_values_are_reported(tmp_path: Path) -> None:
    out = tmp_path / "out"
    code, text = build(slope_source(tmp_path / "src", grid(0.0, 45.0)), out)
    assert code == 0, text
    meta = json.loads((out / "slope.meta.json").read_text(encoding="utf-8"))
    assert meta["values"] == [0.0, 45.0] and meta["features"] == SIDE * SIDE
    assert load_blueprint(out).raster("slope") is not None
    with rasterio.open(out / "slope.tif") as ds:  # copied as it is
        assert np.array_equal(ds.read(1), grid(0.0, 45.0))
    assert not [w for w in json.loads((out / "build.json").read_text(encoding="utf-8"))["warnings"] if "PD.tif" in w]


def _with(data: np.ndarray, corner: float) -> np.ndarray:
    data = data.copy()
    data[-3:, :3] = corner  # in the last rows (the least and greatest values are the first and last pixels)
    return data


REFUSED: dict[str, tuple[np.ndarray, float | None, list[str]]] = {
    # a slope in percent: 120 % is 50°
    "percent": (
        _with(grid(10.0, 60.0), 120.0),
        None,
        [
            "PD.tif",
            "the slope raster's values run from 10 to 120",
            "read as degrees from 0 to 90",
            "a slope in percent",
            "degrees = atan(percent / 100)",
            "gdal_calc.py -A PD.tif",
            "gdaldem slope DEM.tif PD.tif",
            "坡度栅格的值为 10 至 120",
            "而审查按度读取（0–90）",
            "大于 90 的值多为百分比坡度",
            "度 = atan(百分比 / 100)",
        ],
    ),
    "negative": (
        _with(grid(0.0, 30.0), -5.0),
        None,
        [
            "PD.tif",
            "values run from -5 to 30",
            "values below 0 are a nodata value the file does not declare",
            "gdal_edit.py -a_nodata -9999 PD.tif",
            "坡度栅格的值为 -5 至 30",
            "小于 0 的值多为文件未声明的无效值",
        ],
    ),
    "uint8_fill": (  # a uint8 slope whose holes are 255, its nodata undeclared
        _with(grid(0.0, 40.0).astype("uint8"), 255),
        None,
        [
            "values run from 0 to 255",
            "255 is the fill of an undeclared nodata: gdal_edit.py -a_nodata 255 PD.tif",
            "255 多为未声明的无效值（可用 gdal_edit.py -a_nodata 255 PD.tif 声明）",
        ],
    ),
    "dem": (  # elevations in metres, given by mistake as the slope
        grid(350.0, 1500.0),
        None,
        [
            "PD.tif",
            "values run from 350 to 1500",
            "values this large are elevations",
            "gdaldem slope DEM.tif PD.tif",
            "坡度栅格的值为 350 至 1500",
            "如此大的值多为高程（误将 DEM 当作坡度",
        ],
    ),
    "undeclared_nodata": (  # -32768 meant as nodata, the file not saying so: read as a slope of -32768°
        _with(grid(0.0, 30.0), -32768.0),
        None,
        [
            "values run from -32768 to 30",
            "gdal_edit.py -a_nodata -32768 PD.tif",
            "gdal_edit.py -a_nodata -32768 PD.tif 声明",
        ],
    ),
    "above_90": (  # 91°: no slope, whatever the unit
        _with(grid(0.0, 30.0), 91.0),
        None,
        ["values run from 0 to 91", "坡度栅格的值为 0 至 91"],
    ),
    "vertical": (  # 90° at every pixel: a mask or a fill, and every parcel on it would read as steep
        np.full((SIDE, SIDE), 90, dtype="uint8"),
        None,
        [
            "PD.tif",
            "100.0% of the slope raster's pixels that hold a value are 89.99° to 90° (vertical)",
            "this is a mask or a fill, not a slope",
            "gdaldem slope DEM.tif PD.tif",
            "坡度栅格的有效值中 100.0% 为 89.99°–90°（垂直）",
            "这是掩膜或填充值而非坡度",
        ],
    ),
    "vertical_in_holes": (  # 90 wherever the file holds a value, the rest its declared nodata
        np.where(np.arange(SIDE * SIDE).reshape(SIDE, SIDE) % 3, 90.0, -9999.0).astype("float32"),
        -9999.0,
        ["100.0% of the slope raster's pixels that hold a value are 89.99° to 90°", "有效值中 100.0% 为 89.99°–90°"],
    ),
    "vertical_but_one": (  # one pixel of 0° in a 90° mask: a least and a greatest value apart, still a mask
        np.where(np.arange(SIDE * SIDE).reshape(SIDE, SIDE) == 0, 0, 90).astype("uint8"),
        None,
        ["99.8% of the slope raster's pixels that hold a value are 89.99° to 90° (vertical)"],
    ),
    "vertical_rounded": (  # a float32 fill of 89.99999°, which prints as 90
        np.full((SIDE, SIDE), 89.99999, dtype="float32"),
        None,
        ["100.0% of the slope raster's pixels that hold a value are 89.99° to 90°"],
    ),
    "no_value": (  # every pixel nodata: every review's slope item would read "not covered"
        np.full((SIDE, SIDE), -9999.0, dtype="float32"),
        -9999.0,
        ["PD.tif", "the slope raster holds no value (every pixel is nodata or NaN)", "坡度栅格没有任何有效值"],
    ),
}


@pytest.mark.parametrize("case", list(REFUSED))
def test_a_slope_raster_not_in_degrees_is_refused_and_nothing_is_written(case: str, tmp_path: Path) -> None:
    data, nodata, words = REFUSED[case]
    out = tmp_path / "out"
    code, text = build(slope_source(tmp_path / "src", data, nodata=nodata), out)
    assert code == 2, text
    for word in words:
        assert word in text, (word, text)
    assert "Traceback" not in text
    assert not out.exists()
    assert not [p.name for p in tmp_path.iterdir() if p.name.startswith(".")]  # no staging folder left behind


def test_nodata_and_nan_pixels_are_no_value(tmp_path: Path) -> None:
    """A slope of 30° whose holes are -9999 declared as nodata, or NaN with no nodata declared: both build,
    their values 30 to 30 (the holes are no value, as the review reads them)."""
    holes = np.full((SIDE, SIDE), 30.0, dtype="float32")
    holes[:5, :] = -9999.0
    holes[-1, -1] = -9999.0
    out = tmp_path / "declared"
    code, text = build(slope_source(tmp_path / "src", holes, nodata=-9999.0), out)
    assert code == 0, text
    assert json.loads((out / "slope.meta.json").read_text(encoding="utf-8"))["values"] == [30.0, 30.0]
    nan = np.where(holes == -9999.0, np.float32(np.nan), holes)
    report = build_blueprint([slope_source(tmp_path / "nan", nan)], tmp_path / "nan_out")
    assert report.layers["slope"].values == [30.0, 30.0]


def test_a_steep_slope_with_some_vertical_pixels_builds(tmp_path: Path) -> None:
    """Cliffs are possible: a raster with 90° over less than half of its pixels is a slope, built as one."""
    data = grid(30.0, 89.0)
    data[-9:, :] = 90.0  # 180 of 400 pixels
    code, text = build(slope_source(tmp_path / "src", data), tmp_path / "out")
    assert code == 0, text
    assert json.loads((tmp_path / "out" / "slope.meta.json").read_text(encoding="utf-8"))["values"] == [30.0, 90.0]


@pytest.mark.parametrize("value", [0.0, 30.0, 89.5])
def test_a_slope_raster_of_one_value_below_90_builds_with_a_warning(value: float, tmp_path: Path) -> None:
    """A perfectly flat area is possible over a small extent (0° everywhere), so one value below 90 everywhere is
    built, and the report says what was found and what to check: every parcel on it reads that value."""
    data = np.full((SIDE, SIDE), value, dtype="float32")
    data[:5, :] = -9999.0  # holes declared as nodata are no value: the rest is one value
    out = tmp_path / "out"
    code, text = build(slope_source(tmp_path / "src", data, nodata=-9999.0), out)
    assert code == 0, text
    assert json.loads((out / "slope.meta.json").read_text(encoding="utf-8"))["values"] == [value, value]
    (said,) = [w for w in json.loads((out / "build.json").read_text(encoding="utf-8"))["warnings"] if "PD.tif" in w]
    for word in (
        f"every pixel of the slope raster that holds a value is {value:g}°",
        "a mask or a fill is likelier",
        f"every review reads its parcels as {value:g}°",
        "gdaldem slope DEM.tif PD.tif",
        f"坡度栅格的有效值全部为 {value:g}°",
        "小范围内可能确为平地，但更可能是掩膜或填充值",
    ):
        assert word in said, (word, said)
    assert "警告 warning" in text and "a mask or a fill is likelier" in text  # printed by the CLI
    assert load_blueprint(out).raster("slope") is not None


@pytest.mark.filterwarnings("ignore:'crs' was not provided")
def test_the_library_raises_an_input_error_before_any_vector_is_read(tmp_path: Path) -> None:
    """The slope raster is checked when the sources are recognised: a red line without a CRS beside it (which
    would fail on reading) is not reached, and nothing is written."""
    source = slope_source(tmp_path / "src", grid(0.0, 150.0))
    (source / "STBHHX.gpkg").unlink()
    gpd.GeoDataFrame({"HXMC": ["微山湖"]}, geometry=[rect(0, 0, 1, 1)]).to_file(source / "STBHHX.shp")
    with pytest.raises(InputError, match=r"from 0 to 150") as raised:
        build_blueprint([source], tmp_path / "out")
    assert "坡度栅格的值为 0 至 150" in raised.value.message_zh
    assert not (tmp_path / "out").exists()


AUX_NODATA = '<PAMDataset><PAMRasterBand band="1"><NoDataValue>-9999</NoDataValue></PAMRasterBand></PAMDataset>'
AUX_STATISTICS = (  # what ArcGIS and QGIS leave beside a raster they opened: harmless
    '<PAMDataset><PAMRasterBand band="1"><Metadata><MDI key="STATISTICS_MAXIMUM">30</MDI>'
    '<MDI key="STATISTICS_MINIMUM">30</MDI></Metadata></PAMRasterBand></PAMDataset>'
)


@pytest.mark.parametrize("sidecar", ["aux_nodata", "msk"])
def test_a_nodata_value_or_mask_held_beside_the_geotiff_is_refused(sidecar: str, tmp_path: Path) -> None:
    """The GeoTIFF is copied alone: a nodata value in ``PD.tif.aux.xml`` or a mask in ``PD.tif.msk`` would be
    lost, and every review would read the -9999 pixels as a slope of -9999° (so never steep)."""
    holes = np.full((SIDE, SIDE), 30.0, dtype="float32")
    holes[:5, :] = -9999.0
    source = slope_source(tmp_path / "src", holes)
    if sidecar == "aux_nodata":
        (source / "PD.tif.aux.xml").write_text(AUX_NODATA, encoding="utf-8")
    else:
        with rasterio.Env(GDAL_TIFF_INTERNAL_MASK=False), rasterio.open(source / "PD.tif", "r+") as ds:
            ds.write_mask(holes != -9999.0)
    listed = {"aux_nodata": "PD.tif.aux.xml", "msk": "PD.tif.msk"}[sidecar]
    assert (source / listed).is_file()
    out = tmp_path / "out"
    code, text = build(source, out)
    assert code == 2, text
    for word in (
        f"nodata value or mask is declared in {listed} beside it",
        "gdal_translate PD.tif PD_full.tif",
        f"无效值或掩膜记录在旁边的 {listed} 中",
    ):
        assert word in text, (word, text)
    assert not out.exists()
    assert not [p.name for p in tmp_path.iterdir() if p.name.startswith(".")]


def test_statistics_beside_the_geotiff_are_no_reason_to_refuse(tmp_path: Path) -> None:
    source = slope_source(tmp_path / "src", grid(0.0, 30.0), nodata=-9999.0)
    (source / "PD.tif.aux.xml").write_text(AUX_STATISTICS, encoding="utf-8")
    code, text = build(source, tmp_path / "out")
    assert code == 0, text
    assert json.loads((tmp_path / "out" / "slope.meta.json").read_text(encoding="utf-8"))["values"] == [0.0, 30.0]


def test_two_slope_rasters_are_refused_naming_both(tmp_path: Path) -> None:
    """PD.tif and slope.tif, both valid 坡度 in degrees: the build kept one unsaid; it now refuses, naming both,
    before any vector is read and before the output folder is made."""
    source = slope_source(tmp_path / "src", grid(0.0, 45.0))
    (source / "slope.tif").write_bytes((source / "PD.tif").read_bytes())
    out = tmp_path / "out"
    code, text = build(source, out)
    assert code == 2, text
    assert "PD.tif" in text and "slope.tif" in text
    assert "one slope raster per blueprint: keep one" in text and "每个蓝图只能有一个 slope 栅格" in text
    assert not out.exists()
    with pytest.raises(InputError, match="keep one"):
        build_blueprint([source], tmp_path / "out2")
