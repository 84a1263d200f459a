"""Stored reviews on SQLite and PostgreSQL/PostGIS; the schema the migrations build."""

from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Connection, Engine, text
from support import fresh_postgres, parcel_frame, rect

import geo.quota.tables  # noqa: F401 — the full schema
from geo.blueprint import Blueprint
from geo.db import include_object, metadata, migrate
from geo.errors import NotFoundError
from geo.review import review
from geo.store import ReviewStore


@pytest.mark.filterwarnings("ignore:Did not recognize type 'geometry'")  # PostGIS column, left out on purpose
def test_migrations_build_exactly_the_declared_schema(engine: Engine) -> None:
    migrate(engine)  # a second run changes nothing
    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"include_object": include_object})
        diff = compare_metadata(context, metadata)
    assert diff == []


def test_review_round_trip(engine: Engine, blueprint: Blueprint) -> None:
    store = ReviewStore(engine)
    result = review(parcel_frame(rect(2.9, 0.1, 3.1, 0.3), id="B"), blueprint)
    store.save(result, '{"type": "FeatureCollection", "features": []}')
    assert store.get(result.review_id) == result
    with pytest.raises(NotFoundError):
        store.get("missing")
    frame = parcel_frame(rect(2.9, 0.1, 3.1, 0.3), rect(3.2, 0.1, 3.3, 0.2))
    frame["id"] = ["B", "C"]
    two = review(frame, blueprint)
    store.save(two, '{"type": "FeatureCollection", "features": []}')
    # counted by the database in the stored JSON, without reading the review (a paper's size check)
    assert (store.parcel_count(result.review_id), store.parcel_count(two.review_id)) == (1, 2)
    with pytest.raises(NotFoundError):
        store.parcel_count("missing")
    if engine.dialect.name == "postgresql":
        assert store.spatial
        with engine.connect() as conn:
            area = conn.execute(
                text("SELECT ST_Area(geom::geography) FROM reviews WHERE review_id = :id"),
                {"id": result.review_id},
            ).scalar()
        assert area == pytest.approx(40_000, rel=1e-3)  # PostGIS' own geodesic area of the stored parcel


def test_a_review_and_its_companion_record_are_one_transaction(engine: Engine, blueprint: Blueprint) -> None:
    """The service writes who made a review with it: when that fails, no review is left nobody owns."""
    store = ReviewStore(engine)
    result = review(parcel_frame(rect(2.9, 0.1, 3.1, 0.3), id="B"), blueprint)

    def refused(conn: Connection) -> None:
        conn.execute(text("SELECT 1"))
        raise RuntimeError("owner not written")

    with pytest.raises(RuntimeError):
        store.save(result, "{}", also=refused)
    with pytest.raises(NotFoundError):
        store.get(result.review_id)
    seen: list[str] = []
    assert store.save(result, "{}", also=lambda conn: seen.append(result.review_id)) == result.model_dump_json()
    assert seen == [result.review_id] and store.get(result.review_id) == result


@pytest.mark.parametrize("database", ["lantu", "postgres", "ledger_prod"])
def test_fresh_postgres_refuses_a_database_not_named_test(database: str) -> None:
    """The schema is dropped, so only a throw-away database (named '*test*') is accepted; nothing connects."""
    with pytest.raises(pytest.fail.Exception, match="refusing to DROP SCHEMA"):
        fresh_postgres(f"postgresql+psycopg://lantu:lantu@127.0.0.1:1/{database}")
