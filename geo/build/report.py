"""What a build did, layer by layer: the metadata file of each layer (``<id>.meta.json``) and the
build report (``build.json``) that ``lantu blueprint check`` prints."""

from __future__ import annotations

from pydantic import BaseModel, Field

from geo.blueprint import LAYER_META

BUILD_REPORT = "build.json"
META_SUFFIX = LAYER_META  # geo.blueprint reads each layer's 现势性 from it


class SourceInfo(BaseModel):
    """One source layer that went into a blueprint layer."""

    path: str
    layer: str | None
    sha256: str = Field(description="SHA-256 of the source dataset (a shapefile with its sidecars, a .gdb folder)")
    preset: str
    features: int = Field(description="features read")
    crs: str = Field(description="the CRS the source declares (or was given)")
    encoding: str | None = None
    encoding_how: str | None = Field(default=None, description="'.cpg', 'detected' or 'format'")
    fields: dict[str, str] = Field(default_factory=dict, description="attribute → source field")


class Repair(BaseModel):
    """Something the build changed or decided, with how many features it touched."""

    kind: str = Field(
        description="invalid_geometry | duplicate | unknown_code | empty_geometry | z_dropped | m_dropped | "
        "crs | zone_prefix | datum_shift | clipped | merged_codes | encoding | deleted_records"
    )
    count: int
    detail: str
    area_m2: float | None = None


class LayerReport(BaseModel):
    """The metadata of one built layer."""

    id: str
    name_zh: str
    path: str
    features: int
    crs: str
    extent: list[float] = Field(description="minx, miny, maxx, maxy in the layer's CRS")
    extent_4490: list[float] = Field(description="minlon, minlat, maxlon, maxlat (CGCS2000)")
    values: list[float] | None = Field(
        default=None, description="a raster's least and greatest valid value (nodata and NaN left out)"
    )
    date: str | None = Field(default=None, description="现势性: the date the data describe (preset or --date)")
    sources: list[SourceInfo] = Field(default_factory=list)
    repairs: list[Repair] = Field(default_factory=list)


class Skipped(BaseModel):
    path: str
    layer: str | None
    reason: str


class BuildReport(BaseModel):
    name: str
    version: str
    built: str
    crs: str = Field(description="CRS every vector layer was written in")
    presets: list[str]
    county: str | None = None
    layers: dict[str, LayerReport]
    skipped: list[Skipped] = Field(default_factory=list, description="source layers no preset recognised")
    warnings: list[str] = Field(default_factory=list)
