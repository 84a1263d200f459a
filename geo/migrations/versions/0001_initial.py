"""Initial schema: reviews, API keys, the quota ledger; PostGIS geometry of reviews when available.

Revision ID: 0001
Revises:
Create Date: 2026-11-22
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

AMOUNT = sa.Numeric(20, 4)


def upgrade() -> None:
    op.create_table(
        "reviews",
        sa.Column("review_id", sa.String(64), primary_key=True),
        sa.Column("created", sa.DateTime(timezone=True), nullable=False),
        sa.Column("profile", sa.String(100), nullable=False),
        sa.Column("blueprint", sa.String(200), nullable=False),
        sa.Column("input_geojson", sa.Text, nullable=False),
        sa.Column("result_json", sa.Text, nullable=False),
    )
    op.create_table(
        "quota_accounts",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("factor", sa.String(32), nullable=False),
        sa.Column("holder", sa.String(64), nullable=False),
        sa.Column("bucket", sa.String(16), nullable=False),
        sa.Column("year", sa.Integer, nullable=False),
        sa.Column("balance", AMOUNT, nullable=False),
        sa.UniqueConstraint("factor", "holder", "bucket", "year", name="uq_quota_account"),
    )
    op.create_table(
        "quota_transactions",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("created", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(100), nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("review_id", sa.String(64), nullable=True),
        sa.Column("project_id", sa.String(64), nullable=True),
        sa.Column("idempotency_key", sa.String(200), nullable=True, unique=True),
        sa.Column("price_wan", sa.Numeric(20, 4), nullable=True),
        sa.Column("due_date", sa.Date, nullable=True),
        sa.Column("reverses", sa.Integer, sa.ForeignKey("quota_transactions.id"), nullable=True),
    )
    op.create_table(
        "quota_postings",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("transaction_id", sa.Integer, sa.ForeignKey("quota_transactions.id"), nullable=False),
        sa.Column("account_id", sa.Integer, sa.ForeignKey("quota_accounts.id"), nullable=False),
        sa.Column("amount", AMOUNT, nullable=False),
    )
    op.create_index("ix_quota_postings_transaction_id", "quota_postings", ["transaction_id"])
    op.create_index("ix_quota_postings_account_id", "quota_postings", ["account_id"])
    op.create_table(
        "quota_holders",
        sa.Column("code", sa.String(32), primary_key=True),
        sa.Column("name", sa.String(100), nullable=False),
    )
    op.create_table(
        "quota_projects",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("name", sa.String(200), nullable=True),
        sa.Column("level", sa.String(16), nullable=True),
        sa.Column("project_type", sa.String(50), nullable=True),
        sa.Column("county", sa.String(32), nullable=False),
        sa.Column("review_id", sa.String(64), nullable=True),
        sa.Column("created", sa.DateTime(timezone=True), nullable=False),
    )
    bind = op.get_bind()
    if bind.dialect.name == "postgresql":
        available = bind.execute(sa.text("SELECT count(*) FROM pg_available_extensions WHERE name = 'postgis'"))
        if available.scalar():
            op.execute("CREATE EXTENSION IF NOT EXISTS postgis")
            op.execute("ALTER TABLE reviews ADD COLUMN geom geometry(Geometry, 4490)")
            op.execute("CREATE INDEX ix_reviews_geom ON reviews USING gist (geom)")


def downgrade() -> None:
    for table in (
        "quota_postings",
        "quota_projects",
        "quota_holders",
        "quota_transactions",
        "quota_accounts",
        "reviews",
    ):
        op.drop_table(table)
