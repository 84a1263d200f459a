"""Ids as long as the API takes them: a project's ledger holder (``project:`` and an id of up to 64
characters) and a linked parcel's id (up to 100, as a review takes it). PostgreSQL refused the
longer ones with a 500; SQLite never checked.

Revision ID: 0007_longer_ids
Revises: 0006_stock_land
Create Date: 2026-12-05
"""

import sqlalchemy as sa
from alembic import op

revision = "0007_longer_ids"
down_revision = "0006_stock_land"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("quota_accounts") as batch:
        batch.alter_column("holder", type_=sa.String(80), existing_type=sa.String(64), existing_nullable=False)
    with op.batch_alter_table("project_reviews") as batch:
        batch.alter_column("parcel_id", type_=sa.String(100), existing_type=sa.String(64), existing_nullable=False)


def downgrade() -> None:
    with op.batch_alter_table("project_reviews") as batch:
        batch.alter_column("parcel_id", type_=sa.String(64), existing_type=sa.String(100), existing_nullable=False)
    with op.batch_alter_table("quota_accounts") as batch:
        batch.alter_column("holder", type_=sa.String(64), existing_type=sa.String(80), existing_nullable=False)
