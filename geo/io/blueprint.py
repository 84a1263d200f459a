"""Blueprint files: the reader of one vector layer, and the writer of a whole blueprint
(layer frames and rasters → data files + ``blueprint.yaml``).

One writer for everything that makes a blueprint (the demo generator, the test
fixtures, a user's own scripts), so every blueprint on disk has the same shape:
one GeoPackage per vector layer (``<id>.gpkg``, layer ``<id>``), one GeoTIFF per
raster (``<id>.tif``) and a manifest that follows the contract in DESIGN.md
(``name``, ``crs``, ``gk_zone_epsg``, ``layers: {id: {path, layer, fields}}``).

Frames carry the standard attribute names (``class_code``, ``level``, …); ``fields``
names the source columns they are written as (``{class_code: DLBM}``), and the
manifest records the same mapping, so the loader reads back the standard names.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import uuid
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import yaml

from geo.errors import BlueprintError, CRSError
from geo.forked import gdal_batches, gdal_opened
from geo.io.content import check_content
from geo.threads import CHUNK, CORES, map_chunks

if TYPE_CHECKING:
    import geopandas as gpd
    import pandas as pd
    import pyarrow as pa
    from affine import Affine

MANIFEST = "blueprint.yaml"


@dataclass(frozen=True)
class RasterLayer:
    """A single-band raster layer (e.g. ``slope`` in degrees) in its own CRS."""

    data: np.ndarray[Any, Any]
    transform: Affine
    crs: str | int
    nodata: float = -9999.0
    compress: str | None = "deflate"


def write_blueprint(
    directory: str | Path,
    layers: Mapping[str, gpd.GeoDataFrame],
    *,
    name: str,
    crs: str = "EPSG:4490",
    fields: Mapping[str, Mapping[str, str]] | None = None,
    rasters: Mapping[str, RasterLayer] | None = None,
    gk_zone_epsg: int | None = None,
    to_crs: str | int | None = None,
    comment: str | None = None,
    extra: Mapping[str, Any] | None = None,
    timestamp: datetime | None = None,
) -> Path:
    """Write a blueprint into ``directory`` (created if needed) and return it.

    ``layers`` maps standard layer ids to frames, each with a CRS (a frame without
    one is refused, never guessed). ``fields`` maps a layer id to ``{standard name:
    source column}``; ``rasters`` adds raster layers after the vector ones.
    ``crs`` is the manifest's CRS for files that carry none, ``gk_zone_epsg`` pins
    one projected CRS for areas (None: per parcel). ``to_crs`` reprojects every
    vector layer before writing (None: each file keeps its frame's CRS). ``comment``
    heads ``blueprint.yaml`` as ``#`` lines; ``extra`` is merged into the manifest
    last (it may override any key). ``timestamp`` pins the GeoPackage
    ``last_change`` so that the same frames give the same bytes (None: now).
    """
    out = Path(directory)
    fields = fields or {}
    rasters = rasters or {}
    _check(layers, fields, rasters)
    out.mkdir(parents=True, exist_ok=True)
    entries: dict[str, dict[str, Any]] = {}
    with gpkg_timestamp(timestamp):
        for layer_id, frame in layers.items():
            field_map = dict(fields.get(layer_id, {}))
            written = frame.rename(columns=field_map)
            if to_crs is not None:
                written = written.to_crs(to_crs)
            written.to_file(out / f"{layer_id}.gpkg", layer=layer_id, engine="pyogrio")
            entries[layer_id] = {"path": f"{layer_id}.gpkg", "layer": layer_id} | (
                {"fields": field_map} if field_map else {}
            )
    for layer_id, raster in rasters.items():
        write_raster(out / f"{layer_id}.tif", raster)
        entries[layer_id] = {"path": f"{layer_id}.tif"}
    manifest: dict[str, Any] = {"name": name, "crs": crs, "gk_zone_epsg": gk_zone_epsg, "layers": entries}
    manifest.update(extra or {})
    write_manifest(out, manifest, comment=comment, built=timestamp)
    return out


def write_manifest(
    directory: Path, manifest: Mapping[str, Any], *, comment: str | None = None, built: datetime | None = None
) -> str:
    """Write ``blueprint.yaml`` stamped with its version (content hash + build date); return the version."""
    when = built or datetime.now(UTC)
    when = when.astimezone(UTC) if when.tzinfo else when  # a naive time is taken as UTC
    stamped = {k: v for k, v in manifest.items() if k not in ("version", "built", "layers")}
    stamped["built"] = when.date().isoformat()
    stamped["version"] = blueprint_version(directory, {**stamped, "layers": manifest.get("layers", {})}, when)
    stamped["layers"] = manifest.get("layers", {})  # last, as hand edits expect: layers are appended to it
    header = "".join(f"# {line}\n" for line in comment.splitlines()) if comment else ""
    (directory / MANIFEST).write_text(
        header + yaml.safe_dump(stamped, allow_unicode=True, sort_keys=False), encoding="utf-8"
    )
    return str(stamped["version"])


def blueprint_version(directory: Path, manifest: Mapping[str, Any], built: datetime) -> str:
    """``YYYYMMDD-<12 hex>``: the build date and the SHA-256 of the manifest's content (its layers,
    name and CRS) and of every data file it names, so two blueprints with the same data share a hash."""
    digest = hashlib.sha256()
    content = {k: v for k, v in manifest.items() if k not in ("version", "built")}
    digest.update(json.dumps(content, sort_keys=True, ensure_ascii=False, default=str).encode("utf-8"))
    for layer_id in sorted(manifest.get("layers", {})):
        path = directory / str(manifest["layers"][layer_id]["path"])
        digest.update(f"\0{layer_id}\0".encode())
        digest.update(file_sha256(path).encode("ascii") if path.is_file() else b"missing")
    return f"{built:%Y%m%d}-{digest.hexdigest()[:12]}"


def file_sha256(path: Path) -> str:
    with path.open("rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()


def write_geoparquet(frame: gpd.GeoDataFrame, path: Path) -> Path:
    """One vector layer as GeoParquet (WKB, the CRS as PROJJSON in the ``geo`` metadata)."""
    frame.to_parquet(path, index=False, compression="zstd")
    return path


def write_flatgeobuf(frame: gpd.GeoDataFrame, path: Path) -> Path:
    """One vector layer as FlatGeobuf with its packed R-tree (read back through Arrow by pyogrio)."""
    frame.to_file(path, driver="FlatGeobuf", engine="pyogrio")
    return path


def check_replaceable(target: Path, *, keep: Sequence[Path] = ()) -> None:
    """``target`` may be replaced by a new blueprint: it is absent, empty or a blueprint (it has a
    manifest), and none of ``keep`` (a build's sources) lies inside it, since everything in it goes."""
    if target.exists() and not target.is_dir():
        raise BlueprintError(f"{target} exists and is not a directory", f"{target} 已存在且不是目录")
    if target.is_dir() and any(target.iterdir()) and not (target / MANIFEST).is_file():
        raise BlueprintError(
            f"{target} is not empty and holds no {MANIFEST}; refusing to replace it",
            f"{target} 非空且不是蓝图目录，拒绝覆盖",
        )
    inside = [str(k) for k in keep if k.resolve().is_relative_to(target.resolve())]
    if inside:
        raise BlueprintError(
            f"{', '.join(inside)} lies inside {target}, which the build replaces as a whole; "
            "build into another directory",
            f"{'、'.join(inside)} 位于输出目录 {target} 内，构建会整体替换该目录；请输出到其他目录",
        )
    holding = [str(k) for k in keep if k.is_dir() and target.resolve().is_relative_to(k.resolve())]
    if holding:  # the next build of the same folder would read this blueprint's files as sources
        raise BlueprintError(
            f"{target} lies inside the source folder {', '.join(holding)}: build into another directory",
            f"输出目录 {target} 位于数据源目录 {'、'.join(holding)} 内，下次构建会把它当作数据源；请输出到其他目录",
        )


@contextmanager
def staging(target: Path) -> Iterator[Path]:
    """A fresh folder beside ``target`` to write a blueprint into; on success it replaces ``target``
    by two renames (the old one, if any, is removed after), on failure it is removed: ``target`` is
    never half-written. ``target`` must be replaceable (``check_replaceable``; a build checks its
    sources against it before reading them)."""
    check_replaceable(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    token = uuid.uuid4().hex[:8]
    tmp = target.parent / f".{target.name}.building-{token}"
    tmp.mkdir()
    try:
        yield tmp
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    old = target.parent / f".{target.name}.old-{token}"
    if target.exists():
        target.rename(old)
    tmp.rename(target)
    shutil.rmtree(old, ignore_errors=True)


def write_raster(path: Path, raster: RasterLayer) -> Path:
    """One band of float32 as a GeoTIFF (tiled by GDAL's defaults, compressed unless told)."""
    import rasterio

    data = np.asarray(raster.data, dtype="float32")
    if data.ndim != 2:
        raise BlueprintError(f"raster {path.name} must be 2-D, got shape {data.shape}", f"栅格 {path.name} 须为二维")
    crs = f"EPSG:{raster.crs}" if isinstance(raster.crs, int) else raster.crs
    options: dict[str, Any] = {"compress": raster.compress} if raster.compress else {}
    with rasterio.open(
        path,
        "w",
        driver="GTiff",
        width=data.shape[1],
        height=data.shape[0],
        count=1,
        dtype="float32",
        crs=crs,
        transform=raster.transform,
        nodata=raster.nodata,
        **options,
    ) as ds:
        ds.write(data, 1)
    return path


def _check(
    layers: Mapping[str, gpd.GeoDataFrame],
    fields: Mapping[str, Mapping[str, str]],
    rasters: Mapping[str, RasterLayer],
) -> None:
    """Guard clauses: every frame has a CRS, field maps name real columns, ids are unique."""
    for layer_id, frame in layers.items():
        if frame.crs is None:
            raise CRSError(
                f"layer {layer_id!r} has no CRS; set one on the frame first (frame.set_crs(...))",
                f"图层 {layer_id} 没有坐标系，请先设置",
            )
        missing = sorted(set(fields.get(layer_id, {})) - set(frame.columns))
        if missing:
            raise BlueprintError(
                f"fields {missing} of layer {layer_id!r} are not columns of its frame",
                f"图层 {layer_id} 的字段 {missing} 不在数据中",
            )
    unknown = sorted(set(fields) - set(layers))
    if unknown:
        raise BlueprintError(f"fields given for absent layer(s) {unknown}", f"字段映射对应的图层不存在：{unknown}")
    both = sorted(set(layers) & set(rasters))
    if both:
        raise BlueprintError(f"layer id(s) {both} given as vector and raster", f"图层 {both} 同时为矢量和栅格")


@contextmanager
def gpkg_timestamp(when: datetime | None) -> Iterator[None]:
    """Pin GDAL's GeoPackage ``last_change`` (``OGR_CURRENT_DATE``) for the writes inside, then restore it."""
    if when is None:
        yield
        return
    import pyogrio

    before = pyogrio.get_gdal_config_option("OGR_CURRENT_DATE")
    utc = when.astimezone(UTC) if when.tzinfo else when  # a naive time is taken as UTC
    pyogrio.set_gdal_config_options({"OGR_CURRENT_DATE": utc.strftime("%Y-%m-%dT%H:%M:%S.000Z")})
    try:
        yield
    finally:
        pyogrio.set_gdal_config_options({"OGR_CURRENT_DATE": before})


GEOJSON_SUFFIXES = (".geojson", ".json")
# a layer's formats, for the message on a file whose content another's (GDAL reads more, by names lantu never writes)
LAYER_SUFFIXES = (".parquet", ".fgb", ".gpkg", ".shp", ".geojson", ".json", ".kml", ".dxf")
READ_BATCH = CHUNK * CORES  # features per Arrow batch of a layer read: a chunk of WKB decoded on each core


def read_layer(
    source: str | Path, *, layer: str | None, default_crs: Any, encoding: str | None = None, force_2d: bool = False
) -> gpd.GeoDataFrame:
    """One vector layer, read columnar (pyogrio with Arrow; GeoParquet with pyarrow); a file without
    a CRS takes ``default_crs`` (None: it stays without one, for the caller to refuse).

    GDAL calls every crs-less GeoJSON WGS84; the contract says the manifest's ``crs``
    applies, so a GeoJSON without a ``crs`` member takes it too. Raises the reader's own
    errors (``pyogrio.errors.DataSourceError`` …) for the caller to name the layer.
    ``encoding`` is a shapefile's attribute encoding; ``force_2d`` drops Z and M.
    """
    import geopandas as gpd
    import pyogrio
    import shapely

    from geo.crs import undefined_crs

    suffix = Path(str(source)).suffix.lower()
    if Path(source).is_file():  # not a /vsizip/ member: a GeoParquet named .gpkg was GDAL's "libduckdb.so: cannot…"
        check_content(Path(source), suffix=suffix, shown=Path(source).name, readable=LAYER_SUFFIXES)
    if suffix == ".parquet":
        return _read_geoparquet(Path(source))
    arrow = pyogrio.open_arrow(source, layer=layer, encoding=encoding, use_pyarrow=True, batch_size=READ_BATCH)
    with gdal_opened(arrow) as (meta, reader):
        attributes, geoms = _decoded(gdal_batches(reader), reader.schema, meta["geometry_name"] or "wkb_geometry")
    declared = None if undefined_crs(meta["crs"]) else meta["crs"]
    frame = gpd.GeoDataFrame(
        attributes, geometry=map_chunks(shapely.force_2d, geoms) if force_2d else geoms, crs=declared
    )
    geojson_without_crs = suffix in GEOJSON_SUFFIXES and not _geojson_declares_crs(Path(source))
    if default_crs is not None and (frame.crs is None or geojson_without_crs):
        frame = frame.set_crs(default_crs, allow_override=True)
    return frame


def _read_geoparquet(source: Path) -> gpd.GeoDataFrame:
    """A GeoParquet layer (what ``lantu blueprint build`` writes), decoded as GDAL reads are."""
    import geopandas as gpd
    import pyarrow.parquet as pq
    from pyproj import CRS

    parquet = pq.ParquetFile(source)
    schema = parquet.schema_arrow
    geo = json.loads((schema.metadata or {}).get(b"geo", b"{}"))
    column = geo.get("primary_column", "geometry")
    declared = geo.get("columns", {}).get(column, {}).get("crs", "OGC:CRS84")  # GeoParquet: absent means CRS84
    crs = CRS.from_json_dict(declared) if isinstance(declared, dict) else declared
    attributes, geoms = _decoded(parquet.iter_batches(batch_size=READ_BATCH), schema, column)
    return gpd.GeoDataFrame(attributes, geometry=geoms, crs=crs)


def _decoded(batches: Iterable[pa.RecordBatch], schema: pa.Schema, column: str) -> tuple[pd.DataFrame, np.ndarray]:
    """A layer's attributes and shapes from its Arrow batches, the WKB of each batch decoded on every
    core as it arrives: a city layer's WKB (and its copy as Python bytes) is never held whole beside
    its shapes."""
    import pyarrow as pa
    import shapely

    attributes = pa.schema([f for f in schema if f.name != column], metadata=schema.metadata)
    kept, parts = [], []
    for batch in batches:
        parts.append(map_chunks(shapely.from_wkb, batch.column(column).to_numpy(zero_copy_only=False)))
        kept.append(batch.select(attributes.names))
    geoms = np.concatenate(parts) if parts else np.empty(0, dtype=object)
    return pa.Table.from_batches(kept, schema=attributes).to_pandas(), geoms


def _geojson_declares_crs(source: Path) -> bool:
    """Whether a GeoJSON file has a (legacy) ``crs`` member before its features."""
    with source.open(encoding="utf-8-sig", errors="replace") as f:
        head = f.read(65536)
    before = head.split('"features"', 1)[0]
    return '"crs"' in before
