"""lantu's spatial core: the one blueprint, the siting review, maps and reports.

A library with no web code, no environment variables and no globals; the CLI
(`geo.cli`) and the service (`api`) are thin shells over what is exported here.
"""

from geo.blueprint import Blueprint, layer_summary, load_blueprint
from geo.crs import Area, check_coordinates, gk3_epsg_for_longitude, gk_epsg
from geo.errors import (
    BlueprintError,
    CRSError,
    FormatError,
    GeometryError,
    InputError,
    LantuError,
    ProfileError,
)
from geo.io import parcels_from_geojson, read_parcels
from geo.review import ParcelResult, ProjectAttributes, ReviewResult, load_profile, review

__all__ = [
    "Area",
    "Blueprint",
    "BlueprintError",
    "CRSError",
    "FormatError",
    "GeometryError",
    "InputError",
    "LantuError",
    "ParcelResult",
    "ProfileError",
    "ProjectAttributes",
    "ReviewResult",
    "check_coordinates",
    "gk3_epsg_for_longitude",
    "gk_epsg",
    "layer_summary",
    "load_blueprint",
    "load_profile",
    "parcels_from_geojson",
    "read_parcels",
    "review",
]
