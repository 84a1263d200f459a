"""Alembic environment: run on the connection geo.db.migrate hands over."""

from __future__ import annotations

from alembic import context

import geo.consult.tables
import geo.papers
import geo.projects.tables
import geo.quota.tables
import geo.store  # noqa: F401 — registers the reviews table
from geo.db import include_object, metadata

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("run migrations through geo.db.migrate(engine)")
context.configure(connection=connection, target_metadata=metadata, render_as_batch=True, include_object=include_object)
with context.begin_transaction():
    context.run_migrations()
