"""Every reader and writer lives here (parcels, results, blueprints, ledger tables); the rest of geo
gets GeoDataFrames and models."""

from geo.io.blueprint import RasterLayer, write_blueprint, write_raster
from geo.io.coordtxt import parse_coordinate_text, write_coordinate_text
from geo.io.parcels import (
    SUPPORTED_SUFFIXES,
    WRITABLE_SUFFIXES,
    features_geojson_text,
    parcels_from_geojson,
    parse_geojson_bytes,
    read_parcels,
    write_parcels,
)
from geo.io.quota import parse_demands, parse_quota_plan, read_demands, read_quota_plan, read_review_result
from geo.io.results import write_pieces, write_result_csv, write_result_geojson, write_result_json
from geo.io.tables import TABLE_FORMATS, format_table, write_table

__all__ = [
    "SUPPORTED_SUFFIXES",
    "TABLE_FORMATS",
    "WRITABLE_SUFFIXES",
    "RasterLayer",
    "features_geojson_text",
    "format_table",
    "parcels_from_geojson",
    "parse_coordinate_text",
    "parse_demands",
    "parse_geojson_bytes",
    "parse_quota_plan",
    "read_demands",
    "read_parcels",
    "read_quota_plan",
    "read_review_result",
    "write_blueprint",
    "write_coordinate_text",
    "write_parcels",
    "write_pieces",
    "write_raster",
    "write_result_csv",
    "write_result_geojson",
    "write_result_json",
    "write_table",
]
