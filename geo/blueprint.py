"""The one blueprint (一张蓝图): a manifest, its layers, and their spatial indexes.

Loading reads every file once (pyogrio, Arrow), keeps a layer in the projected CRS it
comes in (else CGCS2000; a pinned GK zone wins) and builds one STRtree per layer. Layers
projected into a parcel's zone are cached too, so a long-running service pays for
each zone once, not per review.
"""

from __future__ import annotations

import json
import logging
import re
import threading
from collections.abc import Iterable
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pyogrio
import pyproj
import rasterio
import shapely
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator
from pyproj import CRS
from rasterio.transform import Affine

from geo.catalog import landuse_class, layer_catalog
from geo.crs import (
    CGCS2000,
    box_in_degrees,
    check_coordinates,
    gk3_epsg_for_longitude,
    gk_central_meridian,
    reproject,
)
from geo.errors import BlueprintError, CRSError, InputError
from geo.forked import freeze_for_good, gdal_gate, gdal_opened
from geo.overlay import IndexedLayer
from geo.raster import Band, kept_band
from geo.resources import read_yaml_mapping
from geo.threads import map_chunks

log = logging.getLogger(__name__)

MANIFEST = "blueprint.yaml"
# gk_zone_epsg written as text, in ASCII digits: \d and int() take "４５４８" and "٤٥٤٨" for 4548 too
ZONE_CODE = re.compile(r"\s*(?:EPSG:)?([0-9]{1,6})\s*", re.IGNORECASE)
ZONE_REACH_DEG = 3.0  # a 6° zone's half width: data farther from a pinned zone's central meridian lie outside it
CITY_FEATURES = 100_000  # a blueprint this large is kept out of the cyclic collector's walks
# a lon/lat box is sought in a layer's own CRS with its edges followed every 0.001° (about 100 m): between two
# such points the image of a parallel strays from the straight line by under a micrometre
BOX_STEP_DEG = 0.001


class LayerSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")

    path: str
    layer: str | None = None
    fields: dict[str, str] = Field(default_factory=dict)
    # source values → the catalog's standard words, per logical attribute ({level: {一级保护区: 一级}})
    values: dict[str, dict[str, str]] = Field(default_factory=dict)


class Manifest(BaseModel):
    """``blueprint.yaml`` as DESIGN.md specifies it."""

    model_config = ConfigDict(extra="forbid")

    name: str
    crs: str = "EPSG:4490"
    gk_zone_epsg: int | None = None
    layers: dict[str, LayerSpec]
    # written by the writers (geo.io.blueprint.write_manifest): content hash + build date
    version: str | None = None
    built: str | None = None

    @field_validator("crs")
    @classmethod
    def _crs_known(cls, value: str) -> str:
        try:
            CRS.from_user_input(value)
        except pyproj.exceptions.CRSError as exc:
            raise InputError(f"unknown CRS {value!r:.60}", f"无法识别的坐标系 {value!r:.60}") from exc
        return value

    @field_validator("gk_zone_epsg", mode="before")
    @classmethod
    def _zone_code(cls, value: Any) -> Any:
        """A person writes the zone as the manifest's ``crs`` is written, ``EPSG:4548``, or quotes its number;
        YAML's ``true`` is no code (pydantic would read it as EPSG:1)."""
        if isinstance(value, bool):
            written = str(value).lower()
        elif isinstance(value, str):
            code = ZONE_CODE.fullmatch(value)
            if code is not None:
                return int(code[1])
            written = f"{value!r:.60}"
        else:
            return value
        raise InputError(
            f"{written} is not an EPSG code; write the zone as 4548 or EPSG:4548",
            f"{written} 不是 EPSG 代码；请写作 4548 或 EPSG:4548",
        )

    @field_validator("gk_zone_epsg")
    @classmethod
    def _zone_gauss_kruger(cls, value: int | None) -> int | None:
        """Every area is measured in the pinned zone: it must be a Gauss-Krüger zone (``gk_central_meridian``)."""
        if value is None:
            return None
        try:
            crs = CRS.from_epsg(value)
        except pyproj.exceptions.CRSError as exc:
            raise InputError(f"EPSG:{value} is not a known CRS", f"EPSG:{value} 不是已知的坐标系") from exc
        gk_central_meridian(crs)
        return value


def _box_4490(crs: Any, bounds: Any) -> np.ndarray:
    """``bounds`` (x1, y1, x2, y2 in ``crs``) in EPSG:4490 degrees, edges densified as they are reprojected,
    0.01° wider all round."""
    x1, y1, x2, y2 = bounds
    to_degrees = pyproj.Transformer.from_crs(crs, CGCS2000, always_xy=True)
    box: np.ndarray = np.array(to_degrees.transform_bounds(x1, y1, x2, y2, densify_pts=21))
    box += np.array([-0.01, -0.01, 0.01, 0.01])
    return box


@dataclass
class VectorLayer:
    """One vector layer in the working CRS with its index; logical attribute names."""

    id: str
    frame: gpd.GeoDataFrame
    source: Path
    _zones: dict[int, IndexedLayer] = field(default_factory=dict, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def __post_init__(self) -> None:
        self._zones[self.frame.crs.to_epsg()] = IndexedLayer.build(self.frame)

    @property
    def zones(self) -> frozenset[int]:
        """The CRSs (EPSG) the layer is held in, indexed."""
        with self._lock:
            return frozenset(self._zones)

    @cached_property
    def box_4490(self) -> np.ndarray:
        """The layer's box in EPSG:4490 degrees (its edges densified as they are reprojected), 0.01°
        wider all round; NaN for an empty layer."""
        if len(self.frame) == 0:
            return np.full(4, np.nan)
        return _box_4490(self.frame.crs, self.frame.total_bounds)

    def misses(self, boxes_4490: np.ndarray) -> bool:
        """Whether every box (rows x1, y1, x2, y2 in EPSG:4490) misses the layer's: no parcel inside them
        meets a feature, in any zone, so the layer need not be projected to theirs. A request of
        parcels in twenty zones would otherwise have a city's layers projected, and kept, twenty times."""
        b = self.box_4490
        meets = (boxes_4490[:, 0] <= b[2]) & (boxes_4490[:, 2] >= b[0])
        meets &= (boxes_4490[:, 1] <= b[3]) & (boxes_4490[:, 3] >= b[1])
        return not bool(meets.any())

    @property
    def native(self) -> IndexedLayer:
        """The layer in the CRS it was loaded in."""
        return self._zones[self.frame.crs.to_epsg()]

    @cached_property
    def bounds_4490(self) -> np.ndarray:
        """The box (EPSG:4490) around the layer's features (``box_in_degrees``); NaN for an empty layer."""
        return box_in_degrees(self.native.bounds, self.frame.crs)

    def meeting(self, box_4490: tuple[float, float, float, float]) -> np.ndarray:
        """Positions (ascending) of the features that meet a lon/lat box (EPSG:4490), sought in the layer's
        own CRS against the box's image there (``BOX_STEP_DEG``): the layer is not reprojected to answer."""
        x1, y1, x2, y2 = self.bounds_4490
        if box_4490[0] <= x1 and box_4490[1] <= y1 and box_4490[2] >= x2 and box_4490[3] >= y2:
            return np.arange(len(self.frame))  # the box holds the layer whole (an empty one's NaN box: never)
        image = reproject(shapely.segmentize(shapely.box(*box_4490), BOX_STEP_DEG), CGCS2000, self.frame.crs)
        return np.sort(self.native.tree.query(image, predicate="intersects"))

    def in_4490(self, positions: np.ndarray) -> gpd.GeoDataFrame:
        """The features at ``positions`` reprojected to EPSG:4490 (those alone)."""
        part = self.frame.iloc[positions]
        return part.set_geometry(
            reproject(np.asarray(part.geometry.values, dtype=object), part.crs, CGCS2000), crs=CGCS2000
        )

    def in_crs(self, epsg: int) -> IndexedLayer:
        """The layer projected to ``epsg`` with its STRtree, built on first use and kept. A zone held
        already is read without the lock: a worker forked while another thread projected the layer
        inherits the lock held, for good."""
        held = self._zones.get(epsg)
        if held is not None:
            return held
        with self._lock:
            if epsg not in self._zones:
                self._zones[epsg] = IndexedLayer.build(self.frame.to_crs(epsg))
                log.info("layer %s projected to EPSG:%s (%d features)", self.id, epsg, len(self.frame))
            return self._zones[epsg]


@dataclass
class RasterLayer:
    """A raster layer: its grid, band 1 kept in memory when small enough (``geo.raster.kept_band``),
    else read window by window from the file (``opened`` for each call's reads).
    """

    id: str
    source: Path
    crs: CRS
    transform: Affine
    width: int
    height: int
    band: Band | None = field(default=None, repr=False)

    @classmethod
    def open(cls, layer_id: str, source: Path, default_crs: CRS) -> RasterLayer:
        """The raster at ``source`` (one band); its own CRS wins over ``default_crs``."""
        try:
            with gdal_gate.inside(), rasterio.open(source) as ds:
                if ds.count != 1:
                    raise BlueprintError(
                        f"{MANIFEST}: layers.{layer_id}: {source.name} has {ds.count} bands, expected 1",
                        f"{MANIFEST}：图层 {layer_id}（{source.name}）应为单波段栅格",
                    )
                crs = CRS.from_user_input(ds.crs) if ds.crs else default_crs
                return cls(layer_id, source, crs, ds.transform, ds.width, ds.height, kept_band(ds))
        except rasterio.errors.RasterioIOError as exc:
            raise BlueprintError(
                f"{MANIFEST}: layers.{layer_id}: cannot open raster {source.name}: {exc}",
                f"{MANIFEST}：图层 {layer_id} 无法打开栅格 {source.name}",
            ) from exc

    @cached_property
    def box_4490(self) -> np.ndarray:
        """The grid's box in EPSG:4490 degrees, 0.01° wider all round (as ``VectorLayer.box_4490``)."""
        return _box_4490(self.crs, rasterio.transform.array_bounds(self.height, self.width, self.transform))

    def opened(self) -> AbstractContextManager[rasterio.DatasetReader]:
        """The file opened for one call's reads (a batch chunk's, a parcel's: 0.7 ms an open), and closed
        after them, both inside ``gdal_gate``: a handle kept per thread was closed by GDAL wherever its
        last reference went (a thread ending, a blueprint replaced), maybe during a fork, and one
        inherited by a forked child shared its file offset with the parent's."""
        return gdal_opened(rasterio.open(self.source))


@dataclass
class Blueprint:
    name: str
    root: Path
    gk_zone_epsg: int | None
    layers: dict[str, VectorLayer | RasterLayer]
    synthetic: bool = False  # a generated demo blueprint (its SOURCES.txt says SYNTHETIC)
    version: str = ""  # build date + content hash (see load_blueprint); every review result records it
    # 现势性 per layer, from the build's <id>.meta.json ("date"); None where the data do not state it
    dates: dict[str, str | None] = field(default_factory=dict)

    def vector(self, layer_id: str) -> VectorLayer | None:
        layer = self.layers.get(layer_id)
        return layer if isinstance(layer, VectorLayer) else None

    def raster(self, layer_id: str) -> RasterLayer | None:
        layer = self.layers.get(layer_id)
        return layer if isinstance(layer, RasterLayer) else None

    def project_to(self, zones: Iterable[int]) -> frozenset[int]:
        """Every vector layer projected to each of ``zones`` now (``VectorLayer.in_crs``, kept), and
        the zones every layer now holds: done before worker processes fork, they inherit the
        projections instead of each building its own (at city scale, seconds and gigabytes each)."""
        vectors = [layer for layer in self.layers.values() if isinstance(layer, VectorLayer)]
        for epsg in zones:
            for layer in vectors:
                layer.in_crs(epsg)
        return frozenset.intersection(*(layer.zones for layer in vectors)) if vectors else frozenset()

    @property
    def coverage_layer(self) -> str | None:
        """The layer whose union is the blueprint's coverage: a declared ``extent``, else ``county``
        (None when it has neither: coverage is then not checked)."""
        return next((lid for lid in ("extent", "county") if self.vector(lid) is not None), None)


def read_manifest(root: Path) -> Manifest:
    path = root / MANIFEST
    if not path.is_file():
        raise BlueprintError(
            f"no {MANIFEST} in blueprint directory {root}",
            f"蓝图目录 {root} 中缺少 {MANIFEST}",
        )
    raw = read_yaml_mapping(path, lambda en, zh: BlueprintError(f"{path}: {en}", f"{path}：{zh}"))
    try:
        manifest = Manifest.model_validate(raw)
    except ValidationError as exc:
        en, zh = _problems(exc)
        raise BlueprintError(f"{path}: {en}", f"{path}：清单字段错误：{zh}") from exc
    unknown = sorted(set(manifest.layers) - set(layer_catalog()))
    if unknown:
        raise BlueprintError(
            f"{path}: unknown layer id(s) {unknown}; valid ids: {sorted(layer_catalog())}",
            f"{path}：未知图层编号 {unknown}；可用编号：{sorted(layer_catalog())}",
        )
    return manifest


def _problems(exc: ValidationError) -> tuple[str, str]:
    """Each field's problem in English and Chinese: a validator's own :class:`InputError` has both (without
    pydantic's "Value error, " before it), pydantic's messages have only their English."""
    en: list[str] = []
    zh: list[str] = []
    for e in exc.errors():
        where = ".".join(str(p) for p in e["loc"])
        cause = e.get("ctx", {}).get("error")
        en.append(f"{where}: {cause.message_en if isinstance(cause, InputError) else e['msg']}")
        zh.append(f"{where}：{cause.message_zh if isinstance(cause, InputError) else e['msg']}")
    return "; ".join(en), "；".join(zh)


def load_blueprint(root: str | Path, *, recheck: bool = False, record: bool = False) -> Blueprint:
    """Read, check and index a blueprint directory.

    A layer whose polygons an earlier check found sound (``record``: every one valid, so its coordinates
    finite too) is not checked again while its file is the one checked; ``recheck`` checks every layer."""
    root = Path(root).resolve()
    manifest = read_manifest(root)
    default_crs = CRS.from_user_input(manifest.crs)
    layers: dict[str, VectorLayer | RasterLayer] = {}
    dates: dict[str, str | None] = {}
    for layer_id, spec in manifest.layers.items():
        source = _resolve(root, layer_id, spec.path)
        meta = _layer_meta(root, layer_id)
        dates[layer_id] = str(meta["date"]) if meta.get("date") else None
        if layer_catalog()[layer_id].kind == "raster":
            layers[layer_id] = RasterLayer.open(layer_id, source, default_crs)
            continue
        checked = _checked_file(source, spec)  # the file as it is before the read: a change during it shows later
        trusted = not recheck and meta.get(CHECKED) == checked
        frame, sound = _load_vector(layer_id, source, spec, default_crs, checked=trusted)
        layers[layer_id] = VectorLayer(layer_id, _working(frame, manifest.gk_zone_epsg), source)
        if trusted:
            log.info(
                "layer %s: polygons found sound at %s's check; file unchanged, not checked again", layer_id, spec.path
            )
        elif record and sound:
            _record_check(root, layer_id, meta, checked)
    log.info("blueprint %r loaded: %d layers from %s", manifest.name, len(layers), root)
    sources = root / "SOURCES.txt"
    synthetic = sources.is_file() and "SYNTHETIC" in sources.read_text(encoding="utf-8", errors="replace")
    version = manifest.version or _fingerprint(root, manifest)
    blueprint = Blueprint(manifest.name, root, manifest.gk_zone_epsg, layers, synthetic, version, dates)
    _check_pinned_zone(blueprint)
    features = sum(len(layer.frame) for layer in layers.values() if isinstance(layer, VectorLayer))
    if features >= CITY_FEATURES:
        _out_of_collectors_reach(features)
    return blueprint


def _check_pinned_zone(blueprint: Blueprint) -> None:
    """Refuse a pinned zone the data do not lie in: its central meridian more than ``ZONE_REACH_DEG`` from
    the centre of the blueprint's coverage (its ``extent`` or ``county``, else every layer's box), where
    every area measured in it is too large (+0.23 % at 3.4° off, at 35°N; growing as the distance squared)."""
    epsg = blueprint.gk_zone_epsg
    if epsg is None:
        return
    coverage = blueprint.coverage_layer
    layers = [blueprint.layers[coverage]] if coverage is not None else list(blueprint.layers.values())
    boxes = np.array([layer.box_4490 for layer in layers]).reshape(-1, 4)
    boxes = boxes[~np.isnan(boxes).any(axis=1)]  # empty layers have no box
    if len(boxes) == 0:
        return
    lon = float(boxes[:, 0].min() + boxes[:, 2].max()) / 2
    meridian = gk_central_meridian(CRS.from_epsg(epsg))
    off = abs(lon - meridian)
    if off <= ZONE_REACH_DEG:
        return
    what_en, what_zh = (f"layer {coverage}", f"图层 {coverage}") if coverage is not None else ("all layers", "全部图层")
    suggested = gk3_epsg_for_longitude(lon)
    raise BlueprintError(
        f"{MANIFEST}: gk_zone_epsg: the data ({what_en}) lie at {lon:.1f}°E, {off:.1f}° from EPSG:{epsg}'s "
        f"central meridian {meridian:g}°E: pin the zone the data lie in, e.g. EPSG:{suggested}",
        f"{MANIFEST}：gk_zone_epsg：数据（{what_zh}）位于东经 {lon:.1f}°，"
        f"距 EPSG:{epsg} 的中央经线（东经 {meridian:g}°）{off:.1f}°：请指定数据所在的投影带，如 EPSG:{suggested}",
    )


def _out_of_collectors_reach(features: int) -> None:
    """A city's blueprint is millions of GC-tracked objects (every shapely geometry is one) that live
    as long as the process: each full collection walked them all, 0.14 s at the benchmark's city
    scale, about one per batch review. They move to the permanent generation (``gc.freeze``), after a
    collection so that no garbage of the load is kept with them. It holds no reference cycle, so a
    replaced blueprint is still freed; what else is alive at that moment is frozen with it (a
    server's requests in flight while it reloads), and cyclic garbage among that is never collected:
    a few objects per reload."""
    freeze_for_good()
    log.info("blueprint of %d features moved out of the cyclic collector's walks (gc.freeze)", features)


LAYER_META = ".meta.json"  # geo.build.report.META_SUFFIX: what `lantu blueprint build` writes beside each layer
# the key of a layer's metadata that records a check of its polygons (load_blueprint's ``record``)
CHECKED = "polygons_checked"


def _layer_meta(root: Path, layer_id: str) -> dict[str, Any]:
    """A layer's metadata as its build wrote it (its 现势性 ``date``) and a check recorded; {} for none."""
    meta = root / f"{layer_id}{LAYER_META}"
    if not meta.is_file():
        return {}
    try:
        found = json.loads(meta.read_text(encoding="utf-8"))
    except ValueError as exc:
        raise BlueprintError(
            f"{meta.name}: not a layer metadata file: {exc}", f"{meta.name}：图层元数据文件格式错误"
        ) from exc
    if not isinstance(found, dict):
        raise BlueprintError(f"{meta.name}: not a layer metadata file", f"{meta.name}：图层元数据文件格式错误")
    return found


def _checked_file(source: Path, spec: LayerSpec) -> dict[str, Any]:
    """What a check of a layer's polygons holds for: its file and layer as they are now (size, time of the
    last change) and the GEOS that judged them valid. A file rewritten, replaced or touched is checked again."""
    stat = source.stat()
    return {
        "path": spec.path,
        "layer": spec.layer,
        "bytes": stat.st_size,
        "modified_ns": stat.st_mtime_ns,
        "geos": shapely.geos_version_string,
    }


def _record_check(root: Path, layer_id: str, meta: dict[str, Any], checked: dict[str, Any]) -> None:
    """Write into the layer's metadata that its polygons were found sound (the file replaced whole, so a
    load never reads half of it)."""
    path = root / f"{layer_id}{LAYER_META}"
    part = path.with_name(f".{path.name}.part")
    try:
        part.write_text(json.dumps({**meta, CHECKED: checked}, ensure_ascii=False, indent=2), encoding="utf-8")
        part.replace(path)
    except OSError as exc:
        raise BlueprintError(
            f"{path.name}: cannot record the check of layer {layer_id}: {exc.strerror or exc}",
            f"{path.name}：无法记录图层 {layer_id} 的校验结果（{exc.strerror or exc}）",
        ) from exc
    log.info("layer %s: polygons found sound; recorded in %s", layer_id, path.name)


def _fingerprint(root: Path, manifest: Manifest) -> str:
    """The version of a hand-written manifest (the writers stamp theirs): the newest file's date and a
    hash of the manifest and each file's size and modification time — taken at load, and cheap, where
    hashing a city's gigabytes would add seconds to every start; any rewrite of a file changes it."""
    import hashlib
    from datetime import UTC, datetime

    files = [root / MANIFEST, *(root / spec.path for spec in manifest.layers.values())]
    stats = [(p.relative_to(root).as_posix(), p.stat()) for p in files]
    digest = hashlib.sha256((root / MANIFEST).read_bytes())
    for name, st in stats:
        digest.update(f"\0{name}\0{st.st_size}\0{st.st_mtime_ns}".encode())
    newest = datetime.fromtimestamp(max(st.st_mtime for _, st in stats), UTC)
    return f"{newest:%Y%m%d}-{digest.hexdigest()[:12]}"


def _working(frame: gpd.GeoDataFrame, pinned: int | None) -> gpd.GeoDataFrame:
    """A layer kept in the projected CRS it comes in (a GK zone, usually), else in CGCS2000 degrees;
    a pinned zone wins. Each zone's copy is then made once, when a parcel first needs it."""
    if pinned:
        return frame.to_crs(pinned)
    return frame if frame.crs.is_projected else frame.to_crs(CGCS2000)


def _resolve(root: Path, layer_id: str, relative: str) -> Path:
    source = (root / relative).resolve()
    if not source.is_relative_to(root):
        raise BlueprintError(
            f"{MANIFEST}: layers.{layer_id}.path {relative!r} points outside the blueprint directory",
            f"{MANIFEST}：图层 {layer_id} 的路径 {relative!r} 指向蓝图目录之外",
        )
    if not source.exists():
        raise BlueprintError(
            f"{MANIFEST}: layers.{layer_id}.path: file {relative!r} does not exist",
            f"{MANIFEST}：图层 {layer_id} 的文件 {relative!r} 不存在",
        )
    return source


def _load_vector(
    layer_id: str, source: Path, spec: LayerSpec, default_crs: CRS, *, checked: bool
) -> tuple[gpd.GeoDataFrame, bool]:
    """The layer with its logical attribute names, and whether its polygons were all valid as read (none
    repaired). ``checked``: a check found them so and the file is unchanged, so the per-vertex tests are left out."""
    where = f"{source.name}" + (f" layer {spec.layer!r}" if spec.layer else "")
    try:
        from geo.io.blueprint import read_layer  # geo.io imports the review, which imports this module

        frame = read_layer(source, layer=spec.layer, default_crs=default_crs)
    except (pyogrio.errors.DataSourceError, pyogrio.errors.DataLayerError, ValueError) as exc:
        raise BlueprintError(
            f"{MANIFEST}: layers.{layer_id}: cannot read {where}: {exc}",
            f"{MANIFEST}：图层 {layer_id} 无法读取 {where}（{exc}）",  # GDAL's words, English only, over no reason
        ) from exc
    try:
        check_coordinates(frame, layer=True, every_vertex=not checked)
    except CRSError as exc:
        raise BlueprintError(
            f"{MANIFEST}: layers.{layer_id}: {where}: {exc.message_en}",
            f"{MANIFEST}：图层 {layer_id}（{where}）：{exc.message_zh}",
        ) from exc
    info = layer_catalog()[layer_id]
    required = info.attributes
    rename: dict[str, str] = {}
    for logical in info.optional:
        column = spec.fields.get(logical, logical)
        if column in frame.columns:
            rename[column] = logical
        elif logical in spec.fields:
            raise BlueprintError(
                f"{MANIFEST}: layers.{layer_id}: field {column!r} (for {logical!r}) not in {where}",
                f"{MANIFEST}：图层 {layer_id} 的字段 {column!r}（{logical}）在 {where} 中不存在",
            )
    for logical in required:
        column = spec.fields.get(logical, logical)
        if column not in frame.columns:
            raise BlueprintError(
                f"{MANIFEST}: layers.{layer_id}: field {column!r} (for {logical!r}) not in {where}; "
                f"fields there: {[c for c in frame.columns if c != 'geometry']}",
                f"{MANIFEST}：图层 {layer_id} 的字段 {column!r}（{logical}）在 {where} 中不存在",
            )
        rename[column] = logical
    used = [*required, *info.optional]
    extra = set(spec.fields) - set(used)
    if extra:
        raise BlueprintError(
            f"{MANIFEST}: layers.{layer_id}.fields: {sorted(extra)} not used by this layer; it uses {used}",
            f"{MANIFEST}：图层 {layer_id} 不使用字段映射 {sorted(extra)}",
        )
    frame = frame.rename(columns=rename)
    for logical in info.optional:  # an optional attribute the file lacks reads as null
        if logical not in frame.columns:
            frame[logical] = None
    frame = frame[[*used, "geometry"]]
    frame = frame[~(frame.geometry.isna() | frame.geometry.is_empty)]
    frame = _standard_values(layer_id, frame, spec, where)
    kinds = set(shapely.get_type_id(frame.geometry.values)) - {3, 6}  # Polygon, MultiPolygon
    if kinds:
        raise BlueprintError(
            f"{MANIFEST}: layers.{layer_id}: {where} must hold polygons",
            f"{MANIFEST}：图层 {layer_id}（{where}）必须为面要素",
        )
    if layer_id == "land_use":
        # a city holds 10⁶ 图斑 but a few dozen distinct codes: look each distinct code up once
        found = {c: landuse_class(c) for c in frame["class_code"].unique()}
        unknown = sorted(str(c) for c, cls in found.items() if cls is None)
        if unknown:
            raise BlueprintError(
                f"{MANIFEST}: layers.land_use: {where} has codes not in the 三调 table: {unknown[:10]}",
                f"{MANIFEST}：图层 land_use（{where}）含三调分类表之外的地类编码：{unknown[:10]}",
            )
        # one spelling downstream: integer exports (101) become the table's code (0101)
        frame["class_code"] = frame["class_code"].map({c: cls.code for c, cls in found.items() if cls is not None})
        frame["deduction_ratio"] = _deduction_ratios(frame["deduction_ratio"], where)
    if checked:
        return frame.reset_index(drop=True), True
    invalid = ~map_chunks(shapely.is_valid, np.asarray(frame.geometry.values, dtype=object))
    if invalid.any():
        log.warning("layer %s: repaired %d invalid polygons with make_valid", layer_id, invalid.sum())
        frame.loc[invalid, "geometry"] = frame.geometry[invalid].make_valid()
    return frame.reset_index(drop=True), not invalid.any()


def _standard_values(layer_id: str, frame: gpd.GeoDataFrame, spec: LayerSpec, where: str) -> gpd.GeoDataFrame:
    """Map source values to the catalog's words (the manifest's ``values:``), then refuse any value
    outside the attribute's vocabulary, naming the layer, the field and the value."""
    info = layer_catalog()[layer_id]
    unknown_attrs = set(spec.values) - set(info.values)
    if unknown_attrs:
        raise BlueprintError(
            f"{MANIFEST}: layers.{layer_id}.values: {sorted(unknown_attrs)} have no vocabulary; "
            f"mappable: {sorted(info.values)}",
            f"{MANIFEST}：图层 {layer_id} 的值映射 {sorted(unknown_attrs)} 不是受控属性",
        )
    for logical, words in info.values.items():
        mapping = spec.values.get(logical, {})
        wrong = sorted({w for w in mapping.values() if w not in words})
        if wrong:
            raise BlueprintError(
                f"{MANIFEST}: layers.{layer_id}.values.{logical}: {wrong} are not standard values; "
                f"allowed: {list(words)}",
                f"{MANIFEST}：图层 {layer_id} 的值映射 {logical} 指向非标准值 {wrong}；可选：{list(words)}",
            )
        raw = frame[logical]
        mapped = [None if _blank(v) else mapping.get(str(v).strip(), str(v).strip()) for v in raw]
        field_name = spec.fields.get(logical, logical)
        bad = sorted({str(v) for v in mapped if v is not None and v not in words})
        if bad:
            raise BlueprintError(
                f"{MANIFEST}: layers.{layer_id}: field {field_name!r} ({logical}) has value(s) {bad[:10]} "
                f"outside the vocabulary {list(words)}; map them in the manifest "
                f"(values: {{{logical}: {{{bad[0]}: {words[0]}}}}})",
                f"{MANIFEST}：图层 {layer_id} 的字段 {field_name!r}（{logical}）含非标准值 {bad[:10]}；"
                f"可选：{list(words)}，或在清单中以 values 映射",
            )
        frame[logical] = mapped
    return frame


def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, float) and value != value) or str(value).strip() == ""


def _deduction_ratios(column: Any, where: str) -> list[float]:
    """三调 田坎系数 (KCXS) per patch: a share in [0, 1) (percentages above 1 are read as %); blank → 0."""
    out: list[float] = []
    for v in column:
        if _blank(v):
            out.append(0.0)
            continue
        try:
            ratio = float(v)
        except (TypeError, ValueError) as exc:
            raise BlueprintError(
                f"{MANIFEST}: layers.land_use: {where}: deduction_ratio {v!r} is not a number",
                f"{MANIFEST}：图层 land_use（{where}）的扣除系数 {v!r} 不是数值",
            ) from exc
        ratio = ratio / 100 if ratio >= 1 else ratio
        if not 0 <= ratio < 1:
            raise BlueprintError(
                f"{MANIFEST}: layers.land_use: {where}: deduction_ratio {v!r} outside [0, 1)",
                f"{MANIFEST}：图层 land_use（{where}）的扣除系数 {v!r} 超出 [0, 1)",
            )
        out.append(ratio)
    return out


def layer_summary(blueprint: Blueprint) -> list[dict[str, Any]]:
    """What each layer holds: id, 中文 name, feature count, bbox (EPSG:4490), CRS."""
    rows = []
    for layer_id, layer in blueprint.layers.items():
        info = layer_catalog()[layer_id]
        row: dict[str, Any] = {"id": layer_id, "name_zh": info.name_zh, "name_en": info.name_en}
        if isinstance(layer, VectorLayer):
            row |= {
                "kind": "vector",
                "features": len(layer.frame),
                "bbox": [round(float(v), 6) for v in layer.bounds_4490],
                "crs": layer.frame.crs.to_string(),
            }
        else:  # from the load: the file may be mid-replacement while this blueprint still serves
            row |= {
                "kind": "raster",
                "features": None,
                "crs": layer.crs.to_string(),
                "size": [layer.width, layer.height],
            }
        rows.append(row)
    return rows
