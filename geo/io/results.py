"""Review results as files: a GeoJSON of parcels with their verdicts, a CSV summary (one row per
parcel, Excel-ready), and a GeoPackage of pieces."""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import IO, Any

import geopandas as gpd
import pyogrio
import shapely

from geo.crs import CGCS2000
from geo.forked import gdal_call
from geo.io.tables import csv_cell
from geo.review.result import ParcelResult, ReviewResult
from geo.signing import SigningKey, trailer

Chunks = Iterable[Sequence[ParcelResult]]
CLOSE = "\n}"  # how ``model_dump_json(indent=2)`` ends an object


def _parcels(chunks: Chunks, out: IO[str]) -> Iterator[ParcelResult]:
    """The parcels of ``chunks``, ``out`` flushed after each chunk: a batch's file grows as it is reviewed."""
    for chunk in chunks:
        yield from chunk
        out.flush()


def write_result_json(header: ReviewResult, chunks: Chunks, out: IO[str], *, key: SigningKey | None = None) -> int:
    """The result as ``model_dump_json(indent=2)`` writes it, ``header`` (its ``parcels`` empty) with
    the parcels of ``chunks`` written chunk by chunk as they come; returns how many. Each chunk is
    the header's dump with the chunk as its parcels, cut between the header's own text.

    With a ``key`` the file ends with one more member, ``"signature"``: the HMAC-SHA256 of every byte
    before it (UTF-8, as ``out`` must write them), fed as each piece is written (``geo.signing``)."""
    opening = '"parcels": ['
    header = header.model_copy(update={"parcels": []})
    head, tail = header.model_dump_json(indent=2).split(opening + "]", 1)  # a quote inside a string is escaped
    mac = key.mac() if key is not None else None

    def put(text: str) -> None:
        out.write(text)
        if mac is not None:
            mac.update(text.encode("utf-8"))

    put(head + opening)
    count = 0
    for chunk in chunks:
        if chunk:
            text = header.model_copy(update={"parcels": list(chunk)}).model_dump_json(indent=2)
            put(("," if count else "") + text[len(head) + len(opening) : len(text) - len(tail) - len("\n  ]")])
            count += len(chunk)
            out.flush()
    closing = ("\n  ]" if count else "]") + tail
    if key is None or mac is None:
        out.write(closing)
        return count
    assert closing.endswith(CLOSE), "a pydantic dump ends its object with a line break and a brace"
    put(closing.removesuffix(CLOSE))  # the object stays open for its last member
    out.write(trailer(key.key_id, mac.hexdigest()))
    return count


def write_result_geojson(chunks: Chunks, out: IO[str]) -> int:
    """Parcels (EPSG:4490) with id, name, verdict, areas and one status column per item, feature by
    feature; returns how many."""
    out.write('{"type": "FeatureCollection", "features": [')
    count = 0
    for p in _parcels(chunks, out):
        feature = {
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
        out.write((", " if count else "") + json.dumps(feature, ensure_ascii=False))
        count += 1
    out.write("]}")
    return count


def write_result_csv(chunks: Chunks, out: IO[str]) -> int:
    """One row per parcel: id, name, verdict, area in m²/公顷/亩, county, each item's status and overlap, and the
    land figures (``ParcelResult.land_figures``: no quota for a parcel refused or not wholly reviewed); UTF-8 with a
    BOM so Excel opens the Chinese correctly. Returns how many rows."""
    out.write("\ufeff")
    writer: csv.DictWriter[str] | None = None
    count = 0
    for p in _parcels(chunks, out):
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
        row |= {k: ("" if v is None else v) for k, v in p.land_figures().items()}  # 不核定 blank
        if writer is None:  # the columns of the first row: a batch's parcels share the profile's items
            writer = csv.DictWriter(out, fieldnames=list(row), lineterminator="\r\n")
            writer.writeheader()
        writer.writerow({k: csv_cell(v) for k, v in row.items()})  # an id or name is never a formula
        count += 1
    if writer is None:
        out.write("id\r\n")
    return count


@gdal_call
def write_pieces(parcels: Sequence[ParcelResult], path: str | Path, *, append: bool = False) -> int:
    """Every piece of ``parcels`` with its geometry to a GeoPackage layer ``pieces`` (EPSG:4490),
    after those written before when ``append`` (a batch written chunk by chunk: its first chunk with
    pieces makes the layer); returns the count. Shapes are written as multipolygons, areas as reals,
    whatever the chunk holds.

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
        for p in parcels
        for i in p.items
        for d in i.details
    ]
    columns = ["parcel_id", "item", "layer", "status", "area_m2", "area_mu", "attributes", "geometry"]
    frame = gpd.GeoDataFrame(rows, columns=columns, geometry="geometry", crs=CGCS2000)
    frame = frame.astype({"area_m2": "float64", "area_mu": "float64"})
    try:
        frame.to_file(path, layer="pieces", driver="GPKG", engine="pyogrio", append=append, promote_to_multi=True)
    except (pyogrio.errors.DataSourceError, pyogrio.errors.DataLayerError) as exc:  # a full disk…: what writing says
        raise OSError(f"GDAL: {exc}") from exc
    return len(frame)
