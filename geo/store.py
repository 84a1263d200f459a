"""Stored reviews: the input geometry and the result, so a GET after a restart answers the same."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

import shapely
from sqlalchemy import Column, Connection, DateTime, Engine, String, Table, Text, insert, select, text

from geo.db import has_postgis, metadata
from geo.errors import NotFoundError
from geo.review.result import ReviewResult

reviews = Table(
    "reviews",
    metadata,
    Column("review_id", String(64), primary_key=True),
    Column("created", DateTime(timezone=True), nullable=False),
    Column("profile", String(100), nullable=False),
    Column("blueprint", String(200), nullable=False),
    # the version reviewed against: a yearly update never changes what a stored review says it used
    Column("blueprint_version", String(64), nullable=True, index=True),
    Column("input_geojson", Text, nullable=False),
    Column("result_json", Text, nullable=False),
)


class ReviewStore:
    """Reviews in the service database; on PostGIS the parcels' geometry is kept too, for spatial queries."""

    def __init__(self, engine: Engine):
        self.engine = engine
        self.spatial = has_postgis(engine)

    def save(self, result: ReviewResult, input_geojson: str, also: Callable[[Connection], None] | None = None) -> str:
        """Keep the review and the parcels it was given (GeoJSON text), and run ``also`` (the service's
        record of who asked) in the same transaction; returns the result's JSON, so that one
        serialisation serves the record and the response."""
        result_json = result.model_dump_json()
        with self.engine.begin() as conn:
            conn.execute(
                insert(reviews).values(
                    review_id=result.review_id,
                    created=datetime.now(UTC),
                    profile=result.profile,
                    blueprint=result.blueprint,
                    blueprint_version=result.blueprint_version,
                    input_geojson=input_geojson,
                    result_json=result_json,
                )
            )
            if self.spatial:
                parcels = [shapely.geometry.shape(p.geometry) for p in result.parcels if p.geometry]
                conn.execute(
                    text("UPDATE reviews SET geom = ST_SetSRID(ST_GeomFromText(:wkt), 4490) WHERE review_id = :id"),
                    {"wkt": shapely.union_all(parcels).wkt, "id": result.review_id},
                )
            if also is not None:
                also(conn)
        return result_json

    def get(self, review_id: str) -> ReviewResult:
        with self.engine.connect() as conn:
            row = conn.execute(select(reviews.c.result_json).where(reviews.c.review_id == review_id)).first()
        if row is None:
            raise NotFoundError(f"no review {review_id!r}", f"审查记录 {review_id!r} 不存在")
        return ReviewResult.model_validate_json(row[0])
