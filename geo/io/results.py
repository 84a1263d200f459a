"""Review results as files: a GeoJSON of parcels with their verdicts, a CSV summary (one row per
parcel, Excel-ready), and a GeoPackage of pieces."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

import geopandas as gpd
import shapely

from geo.crs import CGCS2000
from geo.review.result import ReviewResult


def result_geojson(result: ReviewResult) -> str:
    """Parcels (EPSG:4490) with id, name, verdict, areas and one status column per item."""
    features = [
        {
            "type": "Feature",
            "geometry": p.geometry,
            "properties": {
                "id": p.id,
                "name": p.name,
                "verdict": p.verdict,
                "area_m2": p.area_m2,
                "area_mu": p.area_mu,
                "crs_used": p.crs_used,
                **{i.code: i.status for i in p.items},
            },
        }
        for p in result.parcels
    ]
    return json.dumps({"type": "FeatureCollection", "features": features}, ensure_ascii=False)


def result_csv(result: ReviewResult) -> str:
    """One row per parcel: id, name, verdict, area in m²/公顷/亩, county, each item's status and
    overlap, and the land figures; UTF-8 with a BOM so Excel opens the Chinese correctly."""
    rows: list[dict[str, Any]] = []
    for p in result.parcels:
        row: dict[str, Any] = {
            "id": p.id,
            "name": p.name or "",
            "verdict": p.verdict,
            "area_m2": p.area_m2,
            "area_ha": p.area_ha,
            "area_mu": p.area_mu,
            "county_code": p.county.code if p.county else "",
            "county_name": p.county.name if p.county else "",
            "crs_used": p.crs_used,
        }
        for i in p.items:
            row[f"{i.code}_status"] = i.status
            row[f"{i.code}_overlap_m2"] = i.overlap_m2
        row |= {k: ("" if v is None else v) for k, v in p.land_quota.model_dump().items()}
        rows.append(row)
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(rows[0]) if rows else ["id"], lineterminator="\r\n")
    writer.writeheader()
    writer.writerows(rows)
    return "\ufeff" + out.getvalue()


def write_pieces(result: ReviewResult, path: str | Path) -> int:
    """Every piece with its geometry to a GeoPackage layer ``pieces`` (EPSG:4490); returns the count.

    A batch's pieces are what makes its JSON heavy: here they go to a file GIS tools read.
    """
    rows: list[dict[str, Any]] = [
        {
            "parcel_id": p.id,
            "item": i.code,
            "layer": d.layer,
            "status": d.status,
            "area_m2": d.area_m2,
            "area_mu": d.area_mu,
            "attributes": json.dumps(d.attributes, ensure_ascii=False),
            "geometry": shapely.geometry.shape(d.geometry) if d.geometry else None,
        }
        for p in result.parcels
        for i in p.items
        for d in i.details
    ]
    columns = ["parcel_id", "item", "layer", "status", "area_m2", "area_mu", "attributes", "geometry"]
    frame = gpd.GeoDataFrame(rows, columns=columns, geometry="geometry", crs=CGCS2000)
    frame.to_file(path, layer="pieces", driver="GPKG", engine="pyogrio")
    return len(frame)
