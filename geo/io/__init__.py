"""Every reader and writer lives here (parcels, results, blueprints, ledger tables); the rest of geo
gets GeoDataFrames and models."""

from geo.io.coordtxt import parse_coordinate_text, write_coordinate_text
from geo.io.parcels import (
    SUPPORTED_SUFFIXES,
    WRITABLE_SUFFIXES,
    parcels_from_geojson,
    parse_geojson_bytes,
    read_parcels,
    write_parcels,
)

__all__ = [
    "SUPPORTED_SUFFIXES",
    "WRITABLE_SUFFIXES",
    "parcels_from_geojson",
    "parse_coordinate_text",
    "parse_geojson_bytes",
    "read_parcels",
    "write_coordinate_text",
    "write_parcels",
]
