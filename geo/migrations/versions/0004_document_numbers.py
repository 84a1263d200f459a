"""Document numbers (文号) of issued papers: one per review, numbered per year (geo/papers.py).

Revision ID: 0004_document_numbers
Revises: 0003_consult
Create Date: 2026-12-01
"""

import sqlalchemy as sa
from alembic import op

revision = "0004_document_numbers"
down_revision = "0003_consult"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "document_numbers",
        sa.Column("year", sa.Integer, primary_key=True),
        sa.Column("seq", sa.Integer, primary_key=True),
        sa.Column("review_id", sa.String(64), nullable=False),
        sa.Column("issued", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("review_id", name="uq_document_numbers_review"),
    )


def downgrade() -> None:
    op.drop_table("document_numbers")
