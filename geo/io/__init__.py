"""Every reader and writer of parcels lives here; the rest of geo gets GeoDataFrames."""

from geo.io.parcels import (
    SUPPORTED_SUFFIXES,
    parcels_from_geojson,
    parse_geojson_bytes,
    read_parcels,
    write_geojson,
)

__all__ = [
    "SUPPORTED_SUFFIXES",
    "parcels_from_geojson",
    "parse_geojson_bytes",
    "read_parcels",
    "write_geojson",
]
