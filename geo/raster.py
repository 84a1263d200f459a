"""Raster values under a parcel, read straight from the window its bounds need.

``rasterio.mask`` spends most of its time on generic set-up (windows, affine
objects, a GDAL rasterize per call); for a north-up raster the same selection is
a window read and one vectorised shapely test on the pixel centres, so a review
of thousands of parcels pays for the pixels, not the set-up. A raster of up to
``KEEP_MAX_BYTES`` (a county's slope grid) is read whole when the blueprint loads and kept
with its layer, so a parcel's window is a slice rather than a GDAL read, and a review never
opens the file while a new blueprint is being moved into place. Rotated rasters keep
rasterio's path.
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from typing import NamedTuple, Protocol

import numpy as np
import rasterio
import rasterio.mask
import shapely
from rasterio.transform import Affine
from rasterio.windows import Window

from geo.forked import gdal_gate

KEEP_MAX_BYTES = 256 * 2**20
PIXELS_AT_ONCE = 2**20  # pixel centres a batch tests in one call (some 55 MB of index arrays)
SCAN_PIXELS = 2**22  # pixels ``value_range`` reads in one window (16 MB of float32 and its mask)

Band = tuple[np.ndarray, np.ndarray]  # band 1 as plain values and a validity grid


class Raster(Protocol):
    """What a pixel read needs of a raster layer: its grid, the kept band if any, its file opened for
    a call's reads (``geo.blueprint.RasterLayer.opened``)."""

    @property
    def transform(self) -> Affine: ...
    @property
    def width(self) -> int: ...
    @property
    def height(self) -> int: ...
    @property
    def band(self) -> Band | None: ...
    def opened(self) -> AbstractContextManager[rasterio.DatasetReader]: ...


def kept_band(ds: rasterio.DatasetReader) -> Band | None:
    """Band 1 of a north-up raster small enough to keep, else None (each parcel then reads its window)."""
    if not _north_up(ds.transform) or ds.width * ds.height * np.dtype(ds.dtypes[0]).itemsize > KEEP_MAX_BYTES:
        return None
    return _split(ds.read(1, masked=True))


def _north_up(t: Affine) -> bool:
    return bool(t.b == 0 and t.d == 0 and t.a > 0 and t.e < 0)


def pixel_values(
    raster: Raster, shape: shapely.Geometry, *, all_touched: bool, dataset: rasterio.DatasetReader | None = None
) -> np.ndarray:
    """Band 1 values of the pixels under ``shape`` (in the raster's CRS), nodata left out.

    ``all_touched=False`` takes the pixels whose centre lies inside the shape (GDAL's
    rule); ``True`` every pixel the shape touches. ``dataset``: the raster's file, opened by
    the caller for several reads (else opened here where the file is read).
    """
    t = raster.transform
    if dataset is None and (raster.band is None or not _north_up(t)):
        with raster.opened() as opened:
            return pixel_values(raster, shape, all_touched=all_touched, dataset=opened)
    if not _north_up(t):
        assert dataset is not None  # opened above: a rotated grid is read from the file
        with gdal_gate.inside():
            return _masked_by_rasterio(dataset, shape, all_touched=all_touched)
    col0, col1, row0, row1 = _windows(raster, np.array([shape.bounds]))[0].tolist()
    if col1 <= col0 or row1 <= row0:
        return np.empty(0)
    if raster.band is not None:
        values, valid = raster.band[0][row0:row1, col0:col1], raster.band[1][row0:row1, col0:col1]
    else:
        assert dataset is not None  # opened above: the band is not kept
        window = Window(col0, row0, col1 - col0, row1 - row0)
        with gdal_gate.inside():
            values, valid = _split(dataset.read(1, window=window, masked=True))
    x = t.c + (np.arange(col0, col1) + 0.5) * t.a
    y = t.f + (np.arange(row0, row1) + 0.5) * t.e
    shapely.prepare(shape)
    if all_touched:
        xx, yy = np.meshgrid(x, y)
        half_x, half_y = t.a / 2, -t.e / 2
        cells = shapely.box(xx - half_x, yy - half_y, xx + half_x, yy + half_y)
        inside = shapely.intersects(shape, cells)
    else:
        inside = shapely.contains_xy(shape, x[np.newaxis, :], y[:, np.newaxis])  # centres, row by column
    return np.asarray(values[inside & valid], dtype=float)


def _windows(raster: Raster, bounds: np.ndarray) -> np.ndarray:
    """Each shape's window of a north-up grid from its bounds, one row per shape (first and past-last
    column, first and past-last row), clipped to the grid: empty where the shape misses it."""
    t = raster.transform
    return np.column_stack(
        [
            np.maximum(np.floor((bounds[:, 0] - t.c) / t.a), 0),
            np.minimum(np.ceil((bounds[:, 2] - t.c) / t.a), raster.width),
            np.maximum(np.floor((bounds[:, 3] - t.f) / t.e), 0),
            np.minimum(np.ceil((bounds[:, 1] - t.f) / t.e), raster.height),
        ]
    ).astype(np.int64)


def parcel_pixels(raster: Raster, shapes: np.ndarray) -> list[np.ndarray]:
    """Each parcel's pixel values (``shapes`` in the raster's CRS): those whose centre lies inside it,
    or, for a parcel smaller than a pixel, every pixel it touches."""
    band = raster.band
    if band is None or not _north_up(raster.transform):  # read from the file: opened once for them all
        with raster.opened() as dataset:
            centred = [pixel_values(raster, shape, all_touched=False, dataset=dataset) for shape in shapes]
            return _or_touched(raster, centred, shapes, dataset)
    if len(shapes) > 1:  # one: its window alone costs less
        windows = _windows(raster, shapely.bounds(shapes))
        centred = [
            v
            for run in _runs(windows)
            for v in (
                _centred(raster.transform, band, shapes[run], windows[run])
                if isinstance(run, slice)
                else [pixel_values(raster, shapes[run], all_touched=False)]
            )
        ]
    else:
        centred = [pixel_values(raster, shape, all_touched=False) for shape in shapes]
    return _or_touched(raster, centred, shapes, None)


def _or_touched(
    raster: Raster, centred: list[np.ndarray], shapes: np.ndarray, dataset: rasterio.DatasetReader | None
) -> list[np.ndarray]:
    """Each shape's pixels by their centres, or, for a shape smaller than a pixel (none centred in it),
    every pixel it touches."""
    return [
        values if values.size else pixel_values(raster, shape, all_touched=True, dataset=dataset)
        for values, shape in zip(centred, shapes, strict=True)
    ]


def _sizes(windows: np.ndarray) -> np.ndarray:
    """Pixels in each window (``_windows``): none where it misses the grid."""
    sizes: np.ndarray = np.maximum(windows[:, 1] - windows[:, 0], 0) * np.maximum(windows[:, 3] - windows[:, 2], 0)
    return sizes


def _runs(windows: np.ndarray) -> list[slice | int]:
    """The shapes in runs whose windows hold up to ``PIXELS_AT_ONCE`` pixels together, what ``_centred``
    tests in one call at some 55 bytes a pixel; a shape whose own window holds more (a road across the
    county) alone, by position, for ``pixel_values`` and its byte a pixel."""
    runs: list[slice | int] = []
    start, held = 0, 0
    for k, size in enumerate(_sizes(windows).tolist()):
        if size > PIXELS_AT_ONCE or held + size > PIXELS_AT_ONCE:  # the run so far is full
            if k > start:
                runs.append(slice(start, k))
            start, held = k, 0
        if size > PIXELS_AT_ONCE:
            runs.append(k)
            start = k + 1
        else:
            held += size
    return [*runs, slice(start, len(windows))] if start < len(windows) else runs


def _centred(t: Affine, band: Band, shapes: np.ndarray, windows: np.ndarray) -> list[np.ndarray]:
    """Each shape's pixels of a kept band whose centre lies inside it: every window's centres tested
    in one vectorised call, each window row by row (as ``pixel_values`` reads it)."""
    counts = _sizes(windows)
    cols = windows[:, 1] - windows[:, 0]  # read only where a window holds pixels
    owner = np.repeat(np.arange(len(shapes)), counts)
    k = np.arange(len(owner)) - np.repeat(np.cumsum(counts) - counts, counts)  # the pixel's place in its window
    row = windows[owner, 2] + k // cols[owner]
    col = windows[owner, 0] + k % cols[owner]
    shapely.prepare(shapes)
    values, valid = band
    inside = valid[row, col] & shapely.contains_xy(shapes[owner], t.c + (col + 0.5) * t.a, t.f + (row + 0.5) * t.e)
    found = np.asarray(values[row[inside], col[inside]], dtype=float)
    return np.split(found, np.cumsum(np.bincount(owner[inside], minlength=len(shapes)))[:-1].tolist())


class ValueRange(NamedTuple):
    """What a raster's band 1 holds: its least and greatest value, how many pixels hold one, and how many of
    those are at or above the level asked (``value_range``'s ``level``)."""

    low: float
    high: float
    valid: int
    at_level: int


def value_range(ds: rasterio.DatasetReader, *, pixels: int = SCAN_PIXELS, level: float = np.inf) -> ValueRange | None:
    """The least and the greatest value of band 1, nodata and NaN no value (as a review reads them: ``_split``),
    and the count of valid pixels, and of those at or above ``level``; None when no pixel holds one. Read window
    by window at full resolution (no overview), each window whole blocks of the file where a block fits in
    ``pixels``, so a city's raster costs ``pixels`` of memory, not its size."""
    low, high, valid_count, at_level = np.inf, -np.inf, 0, 0
    for window in _scan_windows(ds.width, ds.height, ds.block_shapes[0], pixels):
        values, valid = _split(ds.read(1, window=window, masked=True))
        if valid.any():
            held = values[valid]
            low, high = min(low, float(held.min())), max(high, float(held.max()))
            valid_count += held.size
            at_level += int(np.count_nonzero(held >= level))
    return ValueRange(low, high, valid_count, at_level) if low <= high else None


def _scan_windows(width: int, height: int, block: tuple[int, int], pixels: int) -> list[Window]:
    """Windows tiling a ``width`` × ``height`` grid, row after row, each of at most ``pixels`` pixels and of
    whole blocks (``block``: rows, columns) where one block fits: bands the grid's width of whole rows of
    blocks, else runs of blocks along one row of blocks, else (one strip the whole file) pieces of a block."""
    block_rows, block_cols = block
    if block_rows * width <= pixels:
        rows, cols = pixels // width // block_rows * block_rows, width
    elif block_rows * block_cols <= pixels:
        rows, cols = block_rows, pixels // block_rows // block_cols * block_cols
    else:
        cols = min(width, pixels)
        rows = max(1, pixels // cols)
    return [
        Window(col, row, min(cols, width - col), min(rows, height - row))
        for row in range(0, height, rows)
        for col in range(0, width, cols)
    ]


def _split(band: np.ma.MaskedArray) -> tuple[np.ndarray, np.ndarray]:
    """A masked band as plain values and a validity grid: plain arrays index far faster. A NaN pixel is no
    value, nodata declared or not (a slope raster of NaN alone read as flat land, and its check passed)."""
    values = np.ma.getdata(band)
    valid = ~np.ma.getmaskarray(band)
    if values.dtype.kind == "f":
        valid &= ~np.isnan(values)
    return values, valid


def _masked_by_rasterio(ds: rasterio.DatasetReader, shape: shapely.Geometry, *, all_touched: bool) -> np.ndarray:
    try:
        data, _ = rasterio.mask.mask(
            ds, [shapely.geometry.mapping(shape)], crop=True, filled=False, all_touched=all_touched
        )
    except ValueError:  # rasterio: "Input shapes do not overlap raster."
        return np.empty(0)
    values = np.asarray(data[0].compressed(), dtype=float)
    kept: np.ndarray = values[~np.isnan(values)]  # a NaN pixel is no value (``_split``)
    return kept
