"""The generated layers written as a city hands them over, for ``lantu blueprint build`` to read.

So the demo exercises the same build path as a real city: a 三调 File Geodatabase (``DLTB`` with
``DLBM``/``DLMC``/``KCXS``/``TBMJ``/``QSXZ``/``ZLDWDM``/``BSM``, ``XZQ`` with ``XZQDM``/``XZQMC``) with
the zone number in front of the easting (EPSG:4527), the 国土空间规划 database as a GeoPackage
(``YJJBNT``, ``STBHHX``, ``CZKFBJ``, ``GHFQ`` with ``GHFQMC``), the other departments' layers under
their usual names (``KYQ``, ``DZZHYFQ`` with 高易发区…, ``WWBHFW`` …), the water source as a GBK
shapefile without ``.cpg`` (保护级别 一级保护区…), and the slope raster as ``PD.tif``.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import geopandas as gpd
import numpy as np
import shapely

from geo.catalog import landuse_class
from geo.io.blueprint import RasterLayer, gpkg_timestamp, write_raster

SANDIAO_GDB = "370811任城区第三次全国国土调查数据库.gdb"
PLANNING_GPKG = "370811任城区国土空间总体规划数据库.gpkg"
DEPARTMENTS_GPKG = "部门专项数据.gpkg"
WATER_FOLDER = "生态环境局"
SANDIAO_EPSG = 4527  # CGCS2000 3° zone 39 with the zone number in the easting, as 三调 exports are
PLAIN_EPSG, ZONE_NUMBER = 4548, 39  # the same zone by its central meridian (117°E), without the prefix

# standard id → (layer name, {standard attribute: source field}, {attribute: {standard word: source word}})
SourceNames = tuple[str, dict[str, str], dict[str, dict[str, str]]]
PLANNING: dict[str, SourceNames] = {
    "basic_farmland": ("YJJBNT", {}, {}),
    "ecological_redline": ("STBHHX", {}, {}),
    "urban_boundary": ("CZKFBJ", {}, {}),
    "planned_use": ("GHFQ", {"zone": "GHFQMC"}, {}),
    "extent": ("extent", {}, {}),  # what the synthetic layers cover: the demo county, not the whole city
}
DEPARTMENTS: dict[str, SourceNames] = {
    "mineral": ("KYQ", {"kind": "KZ"}, {}),
    "geohazard": ("DZZHYFQ", {"level": "YFCD"}, {"level": {"高": "高易发区", "中": "中易发区", "低": "低易发区"}}),
    "nature_reserve": ("ZRBHD", {"zone": "GKFQ"}, {}),
    "heritage": ("WWBHFW", {"zone": "BHFW"}, {}),
    "flood_river": ("HHGLFW", {"kind": "LX"}, {}),
    "illegal_use": ("WFYD", {}, {}),
    "approved_unsupplied": ("PEWG", {"feature_id": "BSM", "approval_year": "PZNF"}, {}),
    "idle_land": ("XZTD", {"feature_id": "BSM", "approval_year": "PZNF"}, {}),
    "buried_heritage": ("DXWWMCQ", {}, {}),
    "protected_forest": ("GYL", {}, {}),
    "basic_grassland": ("JBCY", {}, {}),
    "important_wetland": ("ZYSD", {}, {}),
    "soil_pollution": ("WRDK", {"kind": "DKLX"}, {}),
}
WATER: SourceNames = (
    "SYSBHQ",
    {"level": "BHQJB"},
    {"level": {"一级": "一级保护区", "二级": "二级保护区", "准保护区": "准保护区"}},
)


def write_sources(
    folder: Path, layers: dict[str, gpd.GeoDataFrame], slope: RasterLayer, *, timestamp: datetime
) -> None:
    """Write every layer into ``folder`` as its department would."""
    folder.mkdir(parents=True, exist_ok=True)
    gdb = folder / SANDIAO_GDB
    _dltb(layers["land_use"]).to_file(gdb, layer="DLTB", driver="OpenFileGDB", engine="pyogrio")
    county = layers["county"].rename(columns={"code": "XZQDM", "name": "XZQMC"})[["XZQDM", "XZQMC", "geometry"]]
    _prefixed(county).to_file(gdb, layer="XZQ", driver="OpenFileGDB", engine="pyogrio")
    with gpkg_timestamp(timestamp):
        for path, table in ((folder / PLANNING_GPKG, PLANNING), (folder / DEPARTMENTS_GPKG, DEPARTMENTS)):
            for layer_id, (name, fields, words) in table.items():
                if layer_id in layers:
                    _as_source(layers[layer_id], fields, words).to_file(path, layer=name, engine="pyogrio")
    water_dir = folder / WATER_FOLDER
    water_dir.mkdir(exist_ok=True)
    shp = water_dir / f"{WATER[0]}.shp"
    _as_source(layers["water_source"], WATER[1], WATER[2]).to_file(shp, encoding="GBK", engine="pyogrio")
    (water_dir / f"{WATER[0]}.cpg").unlink()  # as departments send them: the encoding is detected
    write_raster(folder / "PD.tif", slope)


def _as_source(frame: gpd.GeoDataFrame, fields: dict[str, str], words: dict[str, dict[str, str]]) -> gpd.GeoDataFrame:
    out = frame.copy()
    for attribute, mapping in words.items():
        out[attribute] = [mapping.get(v, v) for v in out[attribute]]
    return out.rename(columns=fields)


def _prefixed(frame: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """In zone 39 with the prefix: from CM 117°E (the recipe's zone) by adding the zone number exactly."""
    if frame.crs is None or frame.crs.to_epsg() != PLAIN_EPSG:
        return frame.to_crs(SANDIAO_EPSG)
    offset = np.array([ZONE_NUMBER * 1e6, 0.0])
    shifted = shapely.transform(np.asarray(frame.geometry.values, dtype=object), lambda xy: xy + offset)
    return frame.set_geometry(shifted).set_crs(SANDIAO_EPSG, allow_override=True)


def _dltb(land_use: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """地类图斑 with the 三调 fields: 标识码, 地类编码 and 名称, 扣除系数, 图斑面积, 权属性质, 坐落单位代码."""
    classes = [landuse_class(c) for c in land_use["class_code"]]
    area = land_use.geometry.area.to_numpy()
    frame = gpd.GeoDataFrame(
        {
            "BSM": [f"3708112{i:011d}" for i in range(1, len(land_use) + 1)],
            "DLBM": land_use["class_code"].to_numpy(),
            "DLMC": [c.name_zh if c else "" for c in classes],
            "KCXS": np.zeros(len(land_use)),  # the demo's quota figures are gross (no 田坎 deduction)
            "TBMJ": np.round(area, 2),
            "QSXZ": ["20" if c and c.legal_class == "construction" else "30" for c in classes],
            "ZLDWDM": ["370811000000"] * len(land_use),
        },
        geometry=land_use.geometry.values,
        crs=land_use.crs,
    )
    return _prefixed(frame)
