"""Pixel values under a parcel: the window-and-centres path against rasterio.mask."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import rasterio
import rasterio.mask
import shapely
from pyproj import CRS
from rasterio.transform import from_origin

import geo.raster
from geo.blueprint import RasterLayer
from geo.raster import parcel_pixels, pixel_values


@pytest.fixture(scope="module")
def raster(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("raster") / "slope.tif"
    rng = np.random.default_rng(3)
    data = rng.uniform(0, 40, (200, 300)).astype("float32")
    data[:20, :20] = -9999  # nodata corner
    with rasterio.open(
        path,
        "w",
        driver="GTiff",
        width=300,
        height=200,
        count=1,
        dtype="float32",
        crs="EPSG:4548",
        transform=from_origin(464_000, 3_920_000, 10, 10),
        nodata=-9999,
    ) as ds:
        ds.write(data, 1)
    return path


def _reference(ds: rasterio.DatasetReader, shape: shapely.Geometry, all_touched: bool) -> np.ndarray:
    try:
        data, _ = rasterio.mask.mask(
            ds, [shapely.geometry.mapping(shape)], crop=True, filled=False, all_touched=all_touched
        )
    except ValueError:
        return np.empty(0)
    return np.sort(np.asarray(data[0].compressed(), dtype=float))


@pytest.mark.parametrize("keep", [True, False])  # the raster read whole once and kept, or a window per shape
@pytest.mark.parametrize("all_touched", [False, True])
def test_same_pixels_as_rasterio_mask(
    raster: Path, all_touched: bool, keep: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    if not keep:
        monkeypatch.setattr(geo.raster, "KEEP_MAX_BYTES", 0)
    layer = RasterLayer.open("slope", raster, CRS.from_epsg(4548))
    assert (layer.band is not None) == keep
    rng = np.random.default_rng(11)
    centres = np.column_stack([rng.uniform(463_900, 467_100, 60), rng.uniform(3_917_900, 3_920_100, 60)])
    shapes = shapely.buffer(shapely.points(centres), rng.uniform(3, 300, 60), quad_segs=3)
    with rasterio.open(raster) as ds:
        for shape in shapes:  # inside, across the edge, outside, on the nodata corner, smaller than a pixel
            np.testing.assert_array_equal(
                np.sort(pixel_values(layer, shape, all_touched=all_touched)), _reference(ds, shape, all_touched)
            )


def test_outside_the_raster_is_empty(raster: Path) -> None:
    layer = RasterLayer.open("slope", raster, CRS.from_epsg(4548))
    assert pixel_values(layer, shapely.box(0, 0, 10, 10), all_touched=True).size == 0


def test_a_kept_band_reads_no_file(raster: Path, tmp_path: Path) -> None:
    """A blueprint being replaced on disk: the layer loaded before still answers from memory."""
    moved = tmp_path / "slope.tif"
    moved.write_bytes(raster.read_bytes())
    layer = RasterLayer.open("slope", moved, CRS.from_epsg(4548))
    box = shapely.box(464_500, 3_918_500, 465_000, 3_919_000)
    before = pixel_values(layer, box, all_touched=False)
    moved.unlink()
    np.testing.assert_array_equal(pixel_values(layer, box, all_touched=False), before)
    assert before.size == 50 * 50


def test_a_parcel_takes_the_pixels_centred_in_it_or_if_smaller_than_one_those_it_touches(raster: Path) -> None:
    layer = RasterLayer.open("slope", raster, CRS.from_epsg(4548))
    block = shapely.box(464_500, 3_918_500, 464_530, 3_918_520)  # 3 × 2 pixels of 10 m, on their edges
    speck = shapely.box(464_501, 3_918_501, 464_504, 3_918_504)  # inside one pixel, not over its centre
    straddling = shapely.box(464_508, 3_918_502, 464_512, 3_918_504)  # across the edge of two pixels
    got = parcel_pixels(layer, np.array([block, speck, straddling], dtype=object))
    assert [v.size for v in got] == [6, 1, 2]
    np.testing.assert_array_equal(got[0], pixel_values(layer, block, all_touched=False))
    np.testing.assert_array_equal(got[1], pixel_values(layer, speck, all_touched=True))
    assert pixel_values(layer, speck, all_touched=False).size == 0  # no centre inside: the fallback decided


@pytest.mark.parametrize("at_once", [2**20, 50])  # one call for all, or runs of a few shapes and the larger alone
def test_a_batch_takes_each_parcels_pixels_as_one_parcel_would(
    raster: Path, at_once: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The batch path tests every parcel's pixel centres in one call: the same values, in the same
    order, as each parcel read alone (which matches rasterio.mask above)."""
    monkeypatch.setattr(geo.raster, "PIXELS_AT_ONCE", at_once)
    layer = RasterLayer.open("slope", raster, CRS.from_epsg(4548))
    rng = np.random.default_rng(5)
    centres = np.column_stack([rng.uniform(463_800, 467_200, 80), rng.uniform(3_917_800, 3_920_200, 80)])
    shapes = shapely.buffer(shapely.points(centres), rng.uniform(2, 200, 80), quad_segs=3)
    shapes = np.append(shapes, [shapely.box(0, 0, 10, 10), shapely.box(464_150, 3_919_850, 464_300, 3_920_000)])
    got = parcel_pixels(layer, shapes)  # the last two: off the grid, and across the nodata corner's edge
    assert len(got) == len(shapes)
    for values, shape in zip(got, shapes, strict=True):
        alone = pixel_values(layer, shape, all_touched=False)
        np.testing.assert_array_equal(values, alone if alone.size else pixel_values(layer, shape, all_touched=True))
    assert got[-2].size == 0 and got[-1].size == 15 * 10  # 15 × 15 centres, of which 15 × 5 nodata
    assert sum(v.size for v in got) > 10_000  # the random parcels do take pixels
    assert parcel_pixels(layer, shapes[:0]) == []


@pytest.mark.parametrize("keep", [True, False])
def test_a_nan_pixel_is_no_value_whether_or_not_nodata_says_so(
    tmp_path: Path, keep: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A slope raster of NaN and no nodata value read as 25 pixels of flat land: the 坡度 check passed. NaN is no
    value: the pixels a parcel takes are the others (none here, where the left half is NaN)."""
    if not keep:
        monkeypatch.setattr(geo.raster, "KEEP_MAX_BYTES", 0)
    path = tmp_path / "nan.tif"
    data = np.full((100, 100), 30.0, dtype="float32")
    data[:, :50] = np.nan
    profile = {"driver": "GTiff", "width": 100, "height": 100, "count": 1, "dtype": "float32", "crs": "EPSG:4548"}
    with rasterio.open(path, "w", transform=from_origin(464_000, 3_920_000, 10, 10), **profile) as ds:
        ds.write(data, 1)
    layer = RasterLayer.open("slope", path, CRS.from_epsg(4548))
    west, east = (
        shapely.box(464_100, 3_919_100, 464_300, 3_919_300),
        shapely.box(464_700, 3_919_100, 464_900, 3_919_300),
    )
    for all_touched in (False, True):
        assert pixel_values(layer, west, all_touched=all_touched).size == 0
        east_values = pixel_values(layer, east, all_touched=all_touched)
        assert east_values.size >= 400 and (east_values == 30.0).all()
    assert [len(p) for p in parcel_pixels(layer, np.array([west, east], dtype=object))] == [0, 400]


@pytest.mark.parametrize(
    "layout",
    [{"tiled": True, "blockxsize": 16, "blockysize": 16}, {"tiled": False}, {"tiled": False, "blockysize": 150}],
    ids=["tiles", "strips", "one_strip"],
)
def test_value_range_reads_every_window_and_skips_nodata_and_nan(tmp_path: Path, layout: dict[str, object]) -> None:
    """The least and greatest value read window by window, however the file is laid out (tiles, strips, one
    strip the whole file), with a window budget far below the raster's size: the extremes sit in the last
    window, nodata and NaN pixels beyond them are no value."""
    rng = np.random.default_rng(5)
    data = rng.uniform(5, 40, (150, 170)).astype("float32")
    data[:30, :] = -9999  # nodata
    data[60:70, 100:] = np.nan  # NaN, no nodata saying so
    data[-1, -1], data[-2, -1] = 0.5, 44.5
    path = tmp_path / "slope.tif"
    profile = {"driver": "GTiff", "width": 170, "height": 150, "count": 1, "dtype": "float32", "crs": "EPSG:4548"}
    with rasterio.open(
        path, "w", transform=from_origin(464_000, 3_920_000, 10, 10), nodata=-9999, **profile, **layout
    ) as ds:
        ds.write(data, 1)
    with rasterio.open(path) as ds:
        valid = int(np.count_nonzero(~np.isnan(data) & (data != -9999)))
        above = int(np.count_nonzero(data >= 30))  # NaN and -9999 compare below
        assert geo.raster.value_range(ds, pixels=1000, level=30) == (0.5, 44.5, valid, above)
        assert geo.raster.value_range(ds) == (0.5, 44.5, valid, 0)
    data[:] = -9999
    data[0, 0] = np.nan
    with rasterio.open(
        path, "w", transform=from_origin(464_000, 3_920_000, 10, 10), nodata=-9999, **profile, **layout
    ) as ds:
        ds.write(data, 1)
    with rasterio.open(path) as ds:
        assert geo.raster.value_range(ds, pixels=1000) is None


@pytest.mark.parametrize(
    ("width", "height", "block", "pixels"),
    [
        (170, 150, (16, 16), 1000),
        (170, 150, (1, 170), 1000),
        (170, 150, (150, 170), 1000),
        (5, 7, (16, 16), 4),
        (300, 2, (2, 300), 10**6),
    ],
)
def test_scan_windows_tile_the_grid_once_within_the_budget(
    width: int, height: int, block: tuple[int, int], pixels: int
) -> None:
    seen = np.zeros((height, width), dtype=int)
    for w in geo.raster._scan_windows(width, height, block, pixels):
        assert w.width * w.height <= pixels
        seen[w.row_off : w.row_off + w.height, w.col_off : w.col_off + w.width] += 1
    assert (seen == 1).all()
