"""Sources → one blueprint directory: recognise, read, bring into CGCS2000, repair, clip, write.

The steps, each reported (``build.json``, one ``<id>.meta.json`` per layer):

1. every layer of every source is recognised by the presets, or skipped (listed); a source
   with no layer recognised at all is an error; a raster (坡度) is checked there, before any vector is read:
   its CRS, one band, over China, nothing of it held in files beside it, its values degrees from 0 to 90, not 90
   (within 0.01°) over more than half its pixels (a mask or a fill; another single value everywhere is a warning);
2. each recognised layer is read through Arrow with its encoding, Z and M dropped; its CRS
   must be declared (or given with ``crs``), its coordinates must fit it: a Gauss-Krüger easting
   that carries the zone number (39 500 000 in zone 39) under a CRS without the prefix is
   re-declared with it (and the reverse); 西安80 and 北京54 are moved to CGCS2000 by PROJ — with
   no transformation parameters this is PROJ's ballpark shift, approximate, and said so;
3. attributes are found by the preset's field names and mapped to the catalog's words;
   unknown 三调 codes are dropped and listed; 行政区 codes finer than a county are merged to it;
4. every layer goes into the CGCS2000 3° Gauss-Krüger zone (central-meridian EPSG) of the
   data's centre, so reviews in that zone project nothing; invalid polygons are repaired with
   ``make_valid``, exact duplicates dropped; with ``county`` every layer is clipped to it;
5. the directory is written in a staging folder, loaded back with :func:`geo.blueprint.load_blueprint`
   (whatever is written must load; its check of every polygon is recorded, so a later load of the
   unchanged files skips it) and only then moved into place.
"""

from __future__ import annotations

import logging
import shutil
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any, Literal

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import pyproj
import rasterio
import shapely
from pyproj import CRS

from geo.blueprint import load_blueprint
from geo.build.presets import Match, load_presets, pick_field, recognise
from geo.build.report import BUILD_REPORT, META_SUFFIX, BuildReport, LayerReport, Repair, Skipped, SourceInfo
from geo.build.sources import SourceLayer, dataset_sha256, source_layers
from geo.catalog import landuse_class, layer_catalog
from geo.crs import (
    CGCS2000,
    box_in_degrees,
    check_coordinates,
    gk3_epsg_for_longitude,
    gk_epsg,
    inside_china,
    tm_params,
    transformer_for,
)
from geo.errors import CRSError, InputError
from geo.io.blueprint import check_replaceable, staging, write_flatgeobuf, write_geoparquet, write_manifest
from geo.raster import ValueRange, value_range

log = logging.getLogger(__name__)

DATUMS = {
    "China 2000": "CGCS2000",
    "China Geodetic Coordinate System 2000": "CGCS2000",
    "Xian 1980": "Xian1980",
    "Beijing 1954": "Beijing1954",
}
COUNTY_DIGITS = 6
PROVENANCE = "SOURCES.txt"
Store = Literal["parquet", "fgb"]
SLIVER_M2 = 1e-3  # what clipping leaves along a shared edge (rounding of reprojected coordinates)
LAND_USE_GAP = 1e-3  # the share of the coverage the 三调 layer may leave unfilled (rounding along the boundary)
RASTER_VALUES = {"slope": (0.0, 90.0)}  # what a raster layer's values may be: the review reads 坡度 in degrees
AT_THE_TOP = 0.01  # a value this close to its range's greatest counts as it (89.99999° of a float32 fill is 90°)
NODATA_FILLS = (255.0, 32767.0, 65535.0)  # the greatest uint8, int16 and uint16: a nodata fill more than a slope
SLOPE_PERCENT_MAX = 1000.0  # above 90, a slope in percent stays under this (84° is 952 %); beyond: elevations


@dataclass
class _Read:
    """One source layer read into standard attribute names, in its own (fixed) CRS."""

    frame: gpd.GeoDataFrame
    info: SourceInfo
    repairs: list[Repair] = field(default_factory=list)
    preset_date: str | None = None


def build_blueprint(
    sources: Sequence[str | Path],
    out: str | Path,
    *,
    presets: Sequence[str] = (),
    search: Sequence[Path] = (),
    county: str | None = None,
    data_date: str | date | None = None,
    name: str | None = None,
    crs: str | None = None,
    built: datetime | None = None,
    store: Store = "parquet",
) -> BuildReport:
    """Build the blueprint directory ``out`` from ``sources``; return the report (also written there).

    ``presets`` are names or YAML paths (default: every shipped preset); ``search`` the user's data
    folders holding ``presets/``; ``county`` a 6-digit 行政区代码 to clip to; ``data_date`` the
    现势性 of the data (else a preset's); ``crs`` the CRS of sources that declare none;
    ``built`` the build time (default now); ``store`` the layers' format: GeoParquet (read with
    pyarrow) or FlatGeobuf (with its spatial index, for GIS desktops).
    """
    check_replaceable(Path(out), keep=[Path(s) for s in sources])  # before the sources are read
    chosen = load_presets(presets, search=search)
    declared = _parse_crs(crs) if crs else None
    when = built or datetime.now(UTC)
    vectors: list[tuple[SourceLayer, Match]] = []
    rasters: dict[str, _Raster] = {}
    skipped: list[Skipped] = []
    hashes: dict[Path, str] = {}
    for source in sources:
        found = source_layers(Path(source))
        recognised = 0
        for sl in found:
            match = recognise(sl.name, chosen)
            kind = layer_catalog()[match.target].kind if match else None
            if match is None or kind != sl.kind:
                reason = (
                    "no preset names this layer" if match is None else f"a {sl.kind} layer, {match.target} is {kind}"
                )
                skipped.append(Skipped(path=str(sl.dataset), layer=sl.layer or sl.name, reason=reason))
                continue
            recognised += 1
            if sl.kind == "raster":  # checked now: a bad slope raster is refused before a city's 三调 is read
                if match.target in rasters:  # the second would replace the first unsaid
                    raise _second_raster(rasters[match.target].sl, sl, match.target)
                rasters[match.target] = _check_raster(sl, match)
            else:
                vectors.append((sl, match))
        if not recognised:
            listed = ", ".join(repr(s.name) for s in found)
            raise InputError(
                f"{source}: no layer recognised (layers: {listed}); presets {[p.name for p in chosen]} "
                "name none of them — rename the layer or add a preset",
                f"{source}：无法识别任何图层（图层：{listed}）；请改名或添加预设",
            )
    if not vectors:
        raise InputError("no vector layer recognised in the sources", "数据源中没有识别出任何矢量图层")
    reads: dict[str, list[_Read]] = {}
    for sl, match in vectors:
        reads.setdefault(match.target, []).append(_read(sl, match, declared, hashes))
    zone = _output_zone(reads)
    frames: dict[str, gpd.GeoDataFrame] = {}
    reports: dict[str, LayerReport] = {}
    for target, parts in reads.items():
        frame, repairs = _merge(target, parts, zone)
        frames[target] = frame
        reports[target] = _layer_report(target, frame, parts, repairs, _date(data_date, parts))
    warnings: list[str] = []
    if county:
        _clip(frames, reports, county)
    if "county" not in frames:
        warnings.append("no 行政区 (county) layer: the blueprint has no coverage and reviews name no county")
    warnings += _land_use_gaps(frames)
    warnings += _one_valued(rasters)
    report = BuildReport(
        name=name or "一张蓝图" + (f"（{county}）" if county else ""),
        version="",
        built=when.date().isoformat(),
        crs=f"EPSG:{zone}",
        presets=[p.name for p in chosen],
        county=county,
        layers=reports,
        skipped=skipped,
        warnings=warnings,
    )
    with staging(Path(out)) as tmp:
        entries: dict[str, dict[str, Any]] = {}
        for target, frame in frames.items():
            path = tmp / f"{target}.{store}"
            if store == "parquet":
                write_geoparquet(frame, path)
            else:
                write_flatgeobuf(frame, path)
            entries[target] = {"path": path.name}
            report.layers[target].path = path.name
        for target, raster in rasters.items():
            entries[target] = {"path": f"{target}.tif"}
            report.layers[target] = _copy_raster(raster, tmp / f"{target}.tif", _date(data_date, []), county, hashes)
        manifest = {"name": report.name, "crs": f"EPSG:{zone}", "gk_zone_epsg": None, "layers": entries}
        report.version = write_manifest(
            tmp, manifest, built=when, comment="Built by lantu blueprint build; see build.json"
        )
        for target, layer in report.layers.items():
            (tmp / f"{target}{META_SUFFIX}").write_text(layer.model_dump_json(indent=2), encoding="utf-8")
        (tmp / BUILD_REPORT).write_text(report.model_dump_json(indent=2), encoding="utf-8")
        _carry_provenance(sources, tmp)
        load_blueprint(tmp, record=True)  # what is written must load, or nothing replaces ``out``; its check kept
    log.info("blueprint %s built: %d layers → %s", report.version, len(report.layers), out)
    return report


def _carry_provenance(sources: Sequence[str | Path], out: Path) -> None:
    """A source folder's ``SOURCES.txt`` (provenance; the demo's says SYNTHETIC) goes with the blueprint."""
    texts = [
        (Path(s) / PROVENANCE).read_text(encoding="utf-8")
        for s in sources
        if Path(s).is_dir() and (Path(s) / PROVENANCE).is_file()
    ]
    if texts:
        (out / PROVENANCE).write_text("\n".join(texts), encoding="utf-8")


def _parse_crs(text: str) -> CRS:
    try:
        return CRS.from_user_input(text)
    except pyproj.exceptions.CRSError as exc:
        raise CRSError(f"--crs: unknown CRS {text!r}", f"--crs：未知坐标系 {text!r}") from exc


def _date(given: str | date | None, parts: Sequence[_Read]) -> str | None:
    if given:
        return given.isoformat() if isinstance(given, date) else str(given)
    return next((p.preset_date for p in parts if p.preset_date), None) if parts else None


# --- reading one source layer -------------------------------------------------------------


def _read(sl: SourceLayer, match: Match, declared: CRS | None, hashes: dict[Path, str]) -> _Read:
    from geo.io.blueprint import read_layer

    where = sl.where
    dbf = sl.dbf()  # before GDAL reads it: GDAL drops the features past a record cut short without a word
    try:
        encoding = sl.encoding if sl.encoding_how in (".cpg", "detected") else None  # formats that declare their own
        info = pyogrio.read_info(sl.gdal_path, layer=sl.layer, encoding=encoding)
        if dbf is not None:
            dbf.check_fields(len(info["fields"]))
        frame = read_layer(sl.gdal_path, layer=sl.layer, default_crs=None, encoding=encoding, force_2d=True)
    except (pyogrio.errors.DataSourceError, pyogrio.errors.DataLayerError) as exc:
        raise InputError(f"{where}: cannot be read: {exc}", f"{where} 无法读取") from exc
    if dbf is not None:
        dbf.check_features(len(frame))
    if len(frame) == 0:
        raise InputError(f"{where}: the layer is empty", f"{where}：图层为空（没有要素）")
    declared_features = int(info.get("features") or -1) - (dbf.deleted if dbf is not None else 0)  # GDAL counts them
    if len(frame) < declared_features:  # a damaged table GDAL read in part, without a word (a .gdb cut short)
        raise InputError(
            f"{where}: {len(frame):,} of the {declared_features:,} features the layer declares could be read; "
            "the source is damaged",
            f"{where}：图层声明 {declared_features:,} 个要素，只能读出 {len(frame):,} 个，数据源已损坏",
        )
    repairs: list[Repair] = []
    geometry_type = str(info.get("geometry_type") or "")
    dims = geometry_type.split()[-1] if geometry_type.split()[-1:] in (["Z"], ["M"], ["ZM"]) else ""
    for flag, kind in (("Z", "z_dropped"), ("M", "m_dropped")):
        if flag in dims:
            repairs.append(Repair(kind=kind, count=len(frame), detail=f"{geometry_type}: {flag} values dropped"))
    if dbf is not None and dbf.deleted:
        detail = "records marked deleted in the .dbf (an edit not packed away): not read, as a GIS shows them"
        repairs.append(Repair(kind="deleted_records", count=dbf.deleted, detail=detail))
    if sl.encoding_how == "detected":
        repairs.append(
            Repair(kind="encoding", count=len(frame), detail=f"no .cpg: attributes read as {sl.encoding} (detected)")
        )
    frame, source_crs, crs_repairs = _fix_crs(frame, where, declared)
    repairs += crs_repairs
    frame, fields = _attributes(frame, sl, match)
    if match.target == "land_use":
        frame, code_repairs = _land_use_codes(frame, where)
        repairs += code_repairs
    source_info = SourceInfo(
        path=str(sl.dataset),
        layer=sl.layer or sl.name,
        sha256=_sha(sl.dataset, hashes),
        preset=match.preset.name,
        features=int(info.get("features") or len(frame)),
        crs=source_crs,
        encoding=sl.encoding,
        encoding_how=sl.encoding_how,
        fields=fields,
    )
    return _Read(frame, source_info, repairs, match.preset.date)


def _sha(dataset: Path, hashes: dict[Path, str]) -> str:
    """A dataset's SHA-256, computed once per build however many of its layers are used."""
    if dataset not in hashes:
        hashes[dataset] = dataset_sha256(dataset)
    return hashes[dataset]


def _fix_crs(frame: gpd.GeoDataFrame, where: str, declared: CRS | None) -> tuple[gpd.GeoDataFrame, str, list[Repair]]:
    """The layer's CRS made to fit its numbers: declared (or given), zone prefix checked both ways."""
    repairs: list[Repair] = []
    if frame.crs is None:
        if declared is None:
            raise CRSError(
                f"{where}: no CRS (no .prj or CRS definition); declare it with --crs, e.g. EPSG:4527",
                f"{where}：未声明坐标系（缺少 .prj 等）；请用 --crs 声明，如 EPSG:4527",
            )
        frame = frame.set_crs(declared)
        repairs.append(
            Repair(kind="crs", count=len(frame), detail=f"no CRS in the source: {declared.to_string()} as given")
        )
    crs = CRS.from_user_input(frame.crs)
    source_crs = crs.to_string()
    fixed = _zone_prefix_crs(crs, shapely.total_bounds(frame.geometry.values), where)
    if fixed is not None:
        carry = tm_params(fixed)[0] > 1e6
        repairs.append(
            Repair(
                kind="zone_prefix",
                count=len(frame),
                detail=f"eastings {'carry' if carry else 'lack'} the zone number: "
                f"{crs.to_string()} re-declared as {fixed.to_string()} ({fixed.name})",
            )
        )
        frame = frame.set_crs(fixed, allow_override=True)
    try:
        check_coordinates(frame, layer=True)
    except CRSError as exc:
        raise CRSError(f"{where}: {exc.message_en}", f"{where}：{exc.message_zh}") from exc
    return frame, source_crs, repairs


def _zone_prefix_crs(crs: CRS, bounds: np.ndarray[Any, Any], where: str) -> CRS | None:
    """A Chinese GK CRS matching eastings with/without the zone-number prefix, or None when they fit."""
    datum = DATUMS.get(crs.datum.name if crs.datum else "")
    false_easting, cm = tm_params(crs)
    if datum is None or not np.isfinite(false_easting) or not np.isfinite(bounds).all():
        return None
    minx, maxx = float(bounds[0]), float(bounds[2])
    prefixed_numbers = minx > 1e7
    prefixed_crs = false_easting > 1e6
    if prefixed_numbers == prefixed_crs:
        return None
    if prefixed_numbers:
        zone = int(minx // 1e6)
        if int(maxx // 1e6) != zone:
            raise CRSError(
                f"{where}: eastings {minx:.0f}…{maxx:.0f} carry two zone numbers",
                f"{where}：横坐标含两个不同的带号前缀",
            )
        width = 3 if abs(3 * zone - cm) < 1e-6 else 6 if abs(6 * zone - 3 - cm) < 1e-6 else 0
        if not width:
            raise CRSError(
                f"{where}: eastings carry zone number {zone}, but {crs.to_string()} has central meridian {cm:g}°",
                f"{where}：横坐标带号 {zone} 与坐标系 {crs.to_string()} 的中央经线 {cm:g}° 不符",
            )
        return CRS.from_epsg(gk_epsg(zone, prefixed=True, width=width, datum=datum))
    zone = int(false_easting // 1e6)
    width = 3 if abs(3 * zone - cm) < 1e-6 else 6
    return CRS.from_epsg(gk_epsg(zone, prefixed=False, width=width, datum=datum))


def _attributes(frame: gpd.GeoDataFrame, sl: SourceLayer, match: Match) -> tuple[gpd.GeoDataFrame, dict[str, str]]:
    """Standard attribute columns (by the preset's field names, then the standard name), the kept
    fields as they are, the vocabulary's words; a required field missing is an error naming it."""
    info = layer_catalog()[match.target]
    columns = [c for c in frame.columns if c != "geometry"]
    found: dict[str, str] = {}
    for logical in (*info.attributes, *info.optional):
        candidates = [*match.rule.fields.get(logical, []), logical]
        column = pick_field(columns, candidates)
        if column is not None:
            found[logical] = column
        elif logical in info.attributes:
            raise InputError(
                f"{sl.where}: recognised as {match.target} ({match.preset.name}) but has no field {candidates[0]!r} "
                f"for {logical} (tried {candidates}); fields there: {columns}",
                f"{sl.where}：识别为 {info.name_zh}，但缺少字段 {candidates[0]!r}（{logical}）；现有字段：{columns}",
            )
    kept = [c for c in (pick_field(columns, [k]) for k in match.rule.keep) if c is not None and c not in found.values()]
    out = gpd.GeoDataFrame(
        {logical: frame[column].to_numpy() for logical, column in found.items()}
        | {k: frame[k].to_numpy() for k in kept},
        geometry=frame.geometry.values,
        crs=frame.crs,
    )
    for logical in info.optional:
        if logical not in out.columns:
            out[logical] = None
    for logical, words in info.values.items():
        mapping = match.rule.values.get(logical, {})
        mapped = [None if _blank(v) else mapping.get(str(v).strip(), str(v).strip()) for v in out[logical]]
        bad = sorted({v for v in mapped if v is not None and v not in words})
        if bad:
            column = found.get(logical, logical)
            raise InputError(
                f"{sl.where}: field {column!r} ({logical}) has value(s) {bad[:10]} outside "
                f"{list(words)}; map them in a preset (values: {{{logical}: {{{bad[0]}: {words[0]}}}}})",
                f"{sl.where}：字段 {column!r}（{logical}）含非标准值 {bad[:10]}；可选：{list(words)}，"
                "可在预设的 values 中映射",
            )
        out[logical] = mapped
    if match.target == "county":
        out["code"] = [_code_text(v) for v in out["code"]]
    return out, found


def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, float) and value != value) or str(value).strip() == ""


def _code_text(value: Any) -> str:
    """A 行政区代码 as text: exports store it as a number (370811.0) as often as as text."""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def _land_use_codes(frame: gpd.GeoDataFrame, where: str) -> tuple[gpd.GeoDataFrame, list[Repair]]:
    """三调 codes in the table's spelling (101 → 0101); patches with codes outside the table are
    dropped and listed (the review could not class them)."""
    found = {c: landuse_class(c) for c in frame["class_code"].unique()}
    known = {c: cls.code for c, cls in found.items() if cls is not None}
    keep = frame["class_code"].isin(list(known))
    repairs = []
    if not keep.all():
        dropped = frame[~keep]
        counts = dropped["class_code"].astype(str).value_counts().to_dict()
        repairs.append(
            Repair(
                kind="unknown_code",
                count=int((~keep).sum()),
                detail=f"{where}: 地类编码 outside the 三调 table dropped: {counts}",
                area_m2=round(float(dropped.geometry.area.sum()), 2) if CRS(frame.crs).is_projected else None,
            )
        )
    frame = frame[keep].copy()
    frame["class_code"] = frame["class_code"].map(known)
    return frame, repairs


# --- one layer from its parts ----------------------------------------------------------------


def _output_zone(reads: dict[str, list[_Read]]) -> int:
    """The CGCS2000 3° GK zone (central-meridian EPSG) nearest the centre of all data."""
    boxes = []
    for parts in reads.values():
        for part in parts:
            minx, miny, maxx, maxy = part.frame.total_bounds
            lon, _ = transformer_for(part.frame.crs, CGCS2000).transform([minx, maxx], [miny, maxy])
            boxes.append((min(lon), max(lon)))
    return gk3_epsg_for_longitude((min(b[0] for b in boxes) + max(b[1] for b in boxes)) / 2)


def _merge(target: str, parts: list[_Read], zone: int) -> tuple[gpd.GeoDataFrame, list[Repair]]:
    repairs = [r for p in parts for r in p.repairs]
    projected = []
    for part in parts:
        crs = CRS.from_user_input(part.frame.crs)
        datum = DATUMS.get(crs.datum.name if crs.datum else "", crs.datum.name if crs.datum else "?")
        if datum in ("Xian1980", "Beijing1954"):
            description = transformer_for(crs, zone).description
            repairs.append(
                Repair(
                    kind="datum_shift",
                    count=len(part.frame),
                    detail=f"{part.info.path}: {crs.name} → CGCS2000 by PROJ ({description}); without the province's "
                    "transformation parameters this datum shift is approximate (metres to tens of metres)",
                )
            )
        projected.append(_to_zone(part.frame, crs, zone))
    frame = gpd.GeoDataFrame(pd.concat(projected, ignore_index=True), crs=zone)
    frame, geometry_repairs = _repair_geometry(target, frame)
    repairs += geometry_repairs
    if target == "county":
        frame, merged = _county_level(frame)
        repairs += merged
    return frame.reset_index(drop=True), repairs


def _to_zone(frame: gpd.GeoDataFrame, crs: CRS, zone: int) -> gpd.GeoDataFrame:
    """``frame`` in ``zone``: a shift of the easting when only the zone prefix differs (exact, as the
    numbers were), else a PROJ transformation."""
    target = CRS.from_epsg(zone)
    if crs.equals(target):
        return frame
    if crs.datum == target.datum and tm_params(crs)[1] == tm_params(target)[1] and _same_but_easting(crs, target):
        offset = np.array([tm_params(target)[0] - tm_params(crs)[0], 0.0])
        moved = shapely.transform(np.asarray(frame.geometry.values, dtype=object), lambda xy: xy + offset)
        return frame.set_geometry(moved).set_crs(target, allow_override=True)
    return frame.to_crs(target)


def _same_but_easting(a: CRS, b: CRS) -> bool:
    def rest(crs: CRS) -> dict[str, float]:
        op = crs.coordinate_operation
        return {p.name: float(p.value) for p in op.params if p.name != "False easting"} if op else {}

    return rest(a) == rest(b)


def _repair_geometry(target: str, frame: gpd.GeoDataFrame) -> tuple[gpd.GeoDataFrame, list[Repair]]:
    repairs: list[Repair] = []
    geoms = np.asarray(frame.geometry.values, dtype=object)
    empty = shapely.is_missing(geoms) | shapely.is_empty(geoms)
    if empty.any():
        repairs.append(
            Repair(kind="empty_geometry", count=int(empty.sum()), detail="features without geometry dropped")
        )
        frame = frame[~empty].reset_index(drop=True)
        geoms = geoms[~empty]
    kinds = shapely.get_type_id(geoms)
    if not np.isin(kinds, (3, 6)).all():
        names = sorted({shapely.GeometryType(k).name for k in set(kinds.tolist()) - {3, 6}})
        raise InputError(
            f"layer {target}: {', '.join(names)} features; a blueprint layer holds polygons",
            f"图层 {target} 含 {', '.join(names)} 要素；蓝图图层须为面要素",
        )
    invalid = ~shapely.is_valid(geoms)
    if invalid.any():
        before = shapely.area(geoms[invalid]).sum()
        fixed = np.array([_polygonal(g) for g in shapely.make_valid(geoms[invalid])], dtype=object)
        geoms = geoms.copy()
        geoms[invalid] = fixed
        reasons = sorted({shapely.is_valid_reason(g).split("[")[0] for g in frame.geometry.values[invalid]})
        repairs.append(
            Repair(
                kind="invalid_geometry",
                count=int(invalid.sum()),
                detail=f"repaired with make_valid ({'; '.join(reasons[:3])})",
                area_m2=round(float(shapely.area(fixed).sum() - before), 2),
            )
        )
        frame = frame.set_geometry(geoms)
        gone = shapely.is_empty(geoms)
        frame = frame[~gone].reset_index(drop=True)
    keys = pd.DataFrame(frame.drop(columns="geometry").astype(object).where(frame.notna(), None))
    keys["_wkb"] = shapely.to_wkb(shapely.normalize(np.asarray(frame.geometry.values, dtype=object)), hex=True)
    duplicate = keys.duplicated()
    if duplicate.any():
        repairs.append(
            Repair(
                kind="duplicate",
                count=int(duplicate.sum()),
                detail="features with the same geometry and attributes as an earlier one dropped",
                area_m2=round(float(frame.geometry[duplicate].area.sum()), 2),
            )
        )
        frame = frame[~duplicate.to_numpy()].reset_index(drop=True)
    return frame, repairs


def _polygonal(geom: shapely.Geometry) -> shapely.Geometry:
    """The polygonal part of a repaired geometry (make_valid may add boundary lines or points)."""
    if shapely.get_type_id(geom) in (3, 6):
        return geom
    parts = [p for p in shapely.get_parts(geom) if shapely.get_type_id(p) in (3, 6)]
    return shapely.union_all(parts) if parts else shapely.Polygon()


def _county_level(frame: gpd.GeoDataFrame) -> tuple[gpd.GeoDataFrame, list[Repair]]:
    """行政区 features finer than a county (乡镇 9, 村 12 digits) merged to their county (first 6)."""
    codes = frame["code"].astype(str)
    if (codes.str.len() <= COUNTY_DIGITS).all():
        return frame, []
    frame = frame.assign(code=codes.str[:COUNTY_DIGITS], _own=codes.str.len() <= COUNTY_DIGITS)
    merged = frame.dissolve(by="code", as_index=False, aggfunc={"name": "first", "_own": "max"})
    named = dict(zip(frame.loc[frame["_own"], "code"], frame.loc[frame["_own"], "name"], strict=True))
    merged["name"] = [named.get(c, c) for c in merged["code"]]
    unnamed = sorted(c for c in merged["code"] if c not in named)
    detail = f"{len(frame)} 行政区 features with codes finer than a county merged into {len(merged)} counties"
    if unnamed:
        detail += f"; no county-level feature names {unnamed}: their name is their code"
    return merged[["code", "name", "geometry"]], [Repair(kind="merged_codes", count=len(frame), detail=detail)]


def _land_use_gaps(frames: dict[str, gpd.GeoDataFrame]) -> list[str]:
    """A warning when the 三调 layer does not fill the coverage (the ``extent``, else the counties): where it
    has no 图斑 a parcel is on no land, no 耕地 and no quota, and its land items pass. Its features' areas
    are added up, as a tiling's may be (no union of a city's million 图斑)."""
    land, cover = frames.get("land_use"), frames.get("extent", frames.get("county"))
    if land is None or cover is None or land.empty or cover.empty:
        return []
    covered = float(shapely.union_all(np.asarray(cover.geometry.values, dtype=object)).area)
    tiled = float(land.geometry.area.sum())
    if tiled >= covered * (1 - LAND_USE_GAP):
        return []
    return [
        f"the land-use layer's 图斑 add up to {tiled / 1e6:,.2f} km², {tiled / covered:.1%} of the coverage "
        f"({covered / 1e6:,.2f} km²): a parcel where it has none reads no land, no 耕地 and no quota; build from a "
        "三调 layer of the whole coverage, or clip to the counties it covers (--county) "
        f"（三调图斑面积合计 {tiled / 1e6:,.2f} 平方公里，"
        f"仅占覆盖范围 {covered / 1e6:,.2f} 平方公里的 {tiled / covered:.1%}："
        "无图斑处的地块将被视为未占用任何地类；请使用覆盖全域的三调数据，或用 --county 裁剪到其覆盖的区县）"
    ]


def _clip(frames: dict[str, gpd.GeoDataFrame], reports: dict[str, LayerReport], code: str) -> None:
    """Every layer cut to the county ``code``; the county layer keeps that county alone."""
    counties = frames.get("county")
    if counties is None:
        raise InputError(
            f"--county {code}: no 行政区 (county) layer among the sources to clip by",
            f"--county {code}：数据源中没有行政区图层，无法按县裁剪",
        )
    chosen = counties[counties["code"].astype(str) == code]
    if chosen.empty:
        raise InputError(
            f"--county {code}: not among the 行政区 codes {sorted(counties['code'].astype(str))[:20]}",
            f"--county {code}：行政区图层中没有该代码",
        )
    area = shapely.union_all(np.asarray(chosen.geometry.values, dtype=object))
    shapely.prepare(area)
    for target, frame in frames.items():
        if target == "county":
            frames[target] = chosen.reset_index(drop=True)
            dropped = len(frame) - len(chosen)
            if dropped:
                reports[target].repairs.append(
                    Repair(kind="clipped", count=dropped, detail=f"counties other than {code} left out")
                )
            _refresh(reports[target], frames[target])
            continue
        geoms = np.asarray(frame.geometry.values, dtype=object)
        inside = shapely.contains(area, geoms)
        touching = shapely.intersects(area, geoms)
        cut = geoms.copy()
        cut[touching & ~inside] = [_polygonal(g) for g in shapely.intersection(geoms[touching & ~inside], area)]
        keep = touching & (shapely.area(cut) > SLIVER_M2)  # an edge contact leaves a line or a flat ring
        out = frame.set_geometry(cut)[keep].reset_index(drop=True)
        removed_m2 = float(shapely.area(geoms).sum() - shapely.area(cut[keep]).sum())
        if (~inside).any():
            reports[target].repairs.append(
                Repair(
                    kind="clipped",
                    count=int((~inside).sum()),
                    detail=f"clipped to county {code}: {int((touching & ~inside).sum())} cut, "
                    f"{int((~keep).sum())} outside dropped",
                    area_m2=round(-removed_m2, 2),
                )
            )
        frames[target] = out
        _refresh(reports[target], out)


def _layer_report(
    target: str, frame: gpd.GeoDataFrame, parts: list[_Read], repairs: list[Repair], when: str | None
) -> LayerReport:
    report = LayerReport(
        id=target,
        name_zh=layer_catalog()[target].name_zh,
        path=f"{target}.parquet",
        features=0,
        crs="",
        extent=[],
        extent_4490=[],
        date=when,
        sources=[p.info for p in parts],
        repairs=repairs,
    )
    _refresh(report, frame)
    return report


def _refresh(report: LayerReport, frame: gpd.GeoDataFrame) -> None:
    """Count, CRS and extent of what is written."""
    report.features = len(frame)
    report.crs = CRS.from_user_input(frame.crs).to_string()
    if len(frame):
        report.extent = [round(float(v), 3) for v in frame.total_bounds]
        boxes = shapely.bounds(np.asarray(frame.geometry.values, dtype=object))
        report.extent_4490 = [round(float(v), 7) for v in box_in_degrees(boxes, frame.crs)]
    else:
        report.extent, report.extent_4490 = [], []


@dataclass(frozen=True)
class _Raster:
    """A raster source layer checked (``_check_raster``), what its copy and its report need."""

    sl: SourceLayer
    match: Match
    crs: CRS
    bounds: list[float]
    lon: list[float]
    lat: list[float]
    size: int
    values: tuple[float, float]


def _second_raster(first: SourceLayer, second: SourceLayer, target: str) -> InputError:
    """Two rasters recognised as one layer (PD.tif and slope.tif, both 坡度): the review reads one, and which one
    is not for the build to guess."""
    return InputError(
        f"{first.where} and {second.where} are both the {target} raster: one {target} raster per blueprint: keep one "
        "(move the other out of the sources)",
        f"{first.where} 与 {second.where} 都是 {target} 栅格：每个蓝图只能有一个 {target} 栅格，请保留其一"
        "（将另一个移出数据源）",
    )


def _check_raster(sl: SourceLayer, match: Match) -> _Raster:
    """A raster (slope) as the review will read it: its CRS declared, one band, over China, nothing of that
    nor of its nodata or mask held in files beside it (``.aux.xml``, ``.msk``, ``.tfw``: the GeoTIFF is copied
    alone), and its values within what the layer means (``RASTER_VALUES``: 坡度 in degrees), read window by
    window."""
    with rasterio.open(sl.gdal_path) as ds:
        if ds.crs is None:
            raise CRSError(f"{sl.where}: the raster declares no CRS", f"{sl.where}：栅格未声明坐标系")
        if ds.count != 1:
            raise InputError(f"{sl.where}: {ds.count} bands, expected 1", f"{sl.where}：应为单波段栅格")
        crs = CRS.from_user_input(ds.crs)
        bounds = list(ds.bounds)
        lon, lat = transformer_for(crs, CGCS2000).transform([bounds[0], bounds[2]], [bounds[1], bounds[3]])
        if not inside_china(np.asarray(lon), np.asarray(lat)):  # a vector source there is refused too
            raise CRSError(
                f"{sl.where}: the raster's extent in {crs.to_string()} lies outside China; check its CRS",
                f"{sl.where}：栅格范围按 {crs.to_string()} 不在我国范围内，请核对其坐标系",
            )
        size = ds.width * ds.height
        beside = _declared(ds)
        sidecars = [Path(f).name for f in ds.files if Path(f).name != Path(sl.gdal_path).name]
    with rasterio.Env(GDAL_DISABLE_READDIR_ON_OPEN="EMPTY_DIR"), rasterio.open(sl.gdal_path) as bare:  # as copied
        if _declared(bare) != beside:
            raise _sidecar_error(sl, sidecars)
        found = value_range(bare, level=RASTER_VALUES.get(match.target, (0.0, np.inf))[1] - AT_THE_TOP)
    values = _check_values(sl, match.target, found)
    return _Raster(sl, match, crs, bounds, list(lon), list(lat), size, values)


def _declared(ds: rasterio.DatasetReader) -> tuple[str, ...]:
    """What says where a raster lies and which of its pixels hold values: CRS, grid, nodata, mask."""
    return (str(ds.crs), str(ds.transform), str(ds.nodata), str(ds.mask_flag_enums))


def _sidecar_error(sl: SourceLayer, sidecars: list[str]) -> InputError:
    name = Path(sl.gdal_path).name
    fixed = f"gdal_translate {name} {Path(name).stem}_full.tif"
    return InputError(
        f"{sl.where}: its CRS, grid, nodata value or mask is declared in {', '.join(sidecars)} beside it, which "
        "the blueprint does not carry (it copies the GeoTIFF alone, and reviews would read it without them): "
        f"write them into the file with {fixed} and build from that",
        f"{sl.where}：其坐标系、格网、无效值或掩膜记录在旁边的 {'、'.join(sidecars)} 中，蓝图只复制 GeoTIFF 本身，"
        f"审查时将读不到这些信息；请用 {fixed} 写入文件本身后再构建",
    )


def _check_values(sl: SourceLayer, target: str, found: ValueRange | None) -> tuple[float, float]:
    """``found``'s least and greatest valid value within the layer's range, else an error naming the file,
    the values and their likely cause: a slope in percent, a DEM given as the slope, a nodata value the
    file does not declare. A raster of no value at all is refused too: every review would read its item
    as not covered; and so is one whose pixels are at its range's greatest value (within ``AT_THE_TOP``) over
    more than half of them (90°: no land is vertical over half its extent; a mask or a fill, and every parcel on
    it would read as steep). Another single value everywhere is possible (flat land) and warned of
    (``_one_valued``)."""
    info = layer_catalog()[target]
    if found is None:
        raise InputError(
            f"{sl.where}: the {target} raster holds no value (every pixel is nodata or NaN): every review "
            "would find its parcels not covered; check the file, or leave it out of the sources",
            f"{sl.where}：{info.name_zh}栅格没有任何有效值（全部为无效值或 NaN），每次审查都将无法读取{info.name_zh}；"
            "请核对该文件，或不将其列入数据源",
        )
    low, high = found.low, found.high
    least, most = RASTER_VALUES.get(target, (-np.inf, np.inf))
    name = Path(sl.gdal_path).name
    if least <= low and high <= most:
        if 2 * found.at_level > found.valid:  # no terrain is a vertical wall over half of it
            share, top = found.at_level / found.valid, most - AT_THE_TOP
            raise InputError(
                f"{sl.where}: {share:.1%} of the {target} raster's pixels that hold a value are {top:g}° to {most:g}° "
                "(vertical): no land is that steep over half its extent, so this is a mask or a fill, not a slope, "
                f"and every parcel on it would read as steep; derive the slope in degrees from the DEM (gdaldem slope "
                f"DEM.tif {name}) and build from that, or leave it out of the sources",
                f"{sl.where}：{info.name_zh}栅格的有效值中 {share:.1%} 为 {top:g}°–{most:g}°（垂直），地面不可能过半"
                f"如此陡峭，这是掩膜或填充值而非坡度，其上每个地块都将被判为陡坡；请用 gdaldem slope DEM.tif {name} "
                "由 DEM 计算以度为单位的坡度后再构建，或不将其列入数据源",
            )
        return low, high
    nodata = f"{low:g}" if low <= -999 else "-9999"  # a sentinel (-9999, -32768) named as it is
    causes_en, causes_zh = [], []
    if low < least:
        causes_en.append(
            f"values below {least:g} are a nodata value the file does not declare (declare it: gdal_edit.py "
            f"-a_nodata {nodata} {name}) or elevations (a DEM given as the slope)"
        )
        causes_zh.append(
            f"小于 {least:g} 的值多为文件未声明的无效值（可用 gdal_edit.py -a_nodata {nodata} {name} 声明）"
            "或高程（误将 DEM 当作坡度）"
        )
    if high > SLOPE_PERCENT_MAX:
        causes_en.append(
            "values this large are elevations (a DEM given as the slope: derive the slope in degrees with "
            f"gdaldem slope DEM.tif {name}) or a nodata value the file does not declare"
        )
        causes_zh.append(
            f"如此大的值多为高程（误将 DEM 当作坡度，可用 gdaldem slope DEM.tif {name} 计算以度为单位的坡度）"
            "或文件未声明的无效值"
        )
    elif high > most:
        causes_en.append(
            f"values above {most:g} are a slope in percent (degrees = atan(percent / 100): gdal_calc.py -A {name} "
            '--outfile=slope_degrees.tif --calc="degrees(arctan(A / 100))") or elevations (a DEM given as the '
            f"slope: gdaldem slope DEM.tif {name} writes degrees)"
        )
        causes_zh.append(
            f"大于 {most:g} 的值多为百分比坡度（度 = atan(百分比 / 100)，可用 gdal_calc.py 换算）"
            f"或高程（误将 DEM 当作坡度，可用 gdaldem slope DEM.tif {name} 计算以度为单位的坡度）"
        )
    if high in NODATA_FILLS:  # the largest value of an integer type: a fill the file does not declare
        causes_en.append(f"{high:g} is the fill of an undeclared nodata: gdal_edit.py -a_nodata {high:g} {name}")
        causes_zh.append(f"{high:g} 多为未声明的无效值（可用 gdal_edit.py -a_nodata {high:g} {name} 声明）")
    raise InputError(
        f"{sl.where}: the {target} raster's values run from {low:g} to {high:g}, but they are read as "
        f"degrees from {least:g} to {most:g}: {'; '.join(causes_en)}",
        f"{sl.where}：{info.name_zh}栅格的值为 {low:g} 至 {high:g}，而审查按度读取（{least:g}–{most:g}）："
        f"{'；'.join(causes_zh)}",
    )


def _one_valued(rasters: dict[str, _Raster]) -> list[str]:
    """A warning for each raster whose valid pixels all hold one value (its least and greatest the same): land
    that flat is possible over a small extent, but a mask or a fill is likelier, and every parcel on it reads that
    value. Its range's greatest value over more than half of it (90° of slope) is refused (``_check_values``)."""
    warnings: list[str] = []
    for target, raster in rasters.items():
        low, high = raster.values
        if low != high:
            continue
        where, name, name_zh = raster.sl.where, Path(raster.sl.gdal_path).name, layer_catalog()[target].name_zh
        warnings.append(
            f"{where}: every pixel of the {target} raster that holds a value is {low:g}°: land that flat is possible "
            "over a small extent, but a mask or a fill is likelier, and every review reads its parcels as "
            f"{low:g}°; check it against the DEM (gdaldem slope DEM.tif {name} derives the slope in degrees) "
            f"（{where}：{name_zh}栅格的有效值全部为 {low:g}°：小范围内可能确为平地，但更可能是掩膜或填充值，"
            f"审查将把其上每个地块的坡度都读作 {low:g}°；请用 gdaldem slope DEM.tif {name} 由 DEM 重算坡度核对）"
        )
    return warnings


def _copy_raster(
    raster: _Raster, target: Path, when: str | None, county: str | None, hashes: dict[Path, str]
) -> LayerReport:
    """A raster (slope), checked, copied as it is."""
    sl, match = raster.sl, raster.match
    shutil.copyfile(sl.gdal_path, target)
    crs, bounds, lon, lat, size = raster.crs, raster.bounds, raster.lon, raster.lat, raster.size
    return LayerReport(
        id=match.target,
        name_zh=layer_catalog()[match.target].name_zh,
        path=target.name,
        features=size,
        crs=crs.to_string(),
        extent=[round(float(v), 3) for v in bounds],
        extent_4490=[round(min(lon), 7), round(min(lat), 7), round(max(lon), 7), round(max(lat), 7)],
        values=[round(v, 6) for v in raster.values],
        date=when or match.preset.date,
        sources=[
            SourceInfo(
                path=str(sl.dataset),
                layer=sl.name,
                sha256=_sha(sl.dataset, hashes),
                preset=match.preset.name,
                features=size,
                crs=crs.to_string(),
            )
        ],
        repairs=[Repair(kind="clipped", count=0, detail=f"not clipped to {county}: rasters are copied whole")]
        if county
        else [],
    )
