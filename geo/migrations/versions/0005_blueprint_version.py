"""Stored reviews keep the version of the blueprint they were reviewed against (issue 11).

Revision ID: 0005_blueprint_version
Revises: 0004_document_numbers
Create Date: 2026-12-01
"""

import sqlalchemy as sa
from alembic import op

revision = "0005_blueprint_version"
down_revision = "0004_document_numbers"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("reviews") as batch:
        batch.add_column(sa.Column("blueprint_version", sa.String(64), nullable=True))
        batch.create_index("ix_reviews_blueprint_version", ["blueprint_version"])


def downgrade() -> None:
    with op.batch_alter_table("reviews") as batch:
        batch.drop_index("ix_reviews_blueprint_version")
        batch.drop_column("blueprint_version")
