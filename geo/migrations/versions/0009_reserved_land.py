"""The land each reservation of a reviewed parcel took (``quota_reserved_land``): the parcel's outline (WKB, EPSG:4490),
its county and the review's sliver tolerance, so that the same land reserved again under another parcel id, redrawn
or in part, is refused while the first reservation stands. Reservations recorded before have no outline: they keep
the check by parcel id, county and 新增 (``geo.quota.reservations._same_land``).

Revision ID: 0009_reserved_land
Revises: 0008_settlement_history
Create Date: 2026-12-06
"""

import sqlalchemy as sa
from alembic import op

revision = "0009_reserved_land"
down_revision = "0008_settlement_history"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "quota_reserved_land",
        sa.Column(
            "transaction_id",
            sa.Integer,
            sa.ForeignKey("quota_transactions.id"),
            primary_key=True,
            autoincrement=False,
        ),
        sa.Column("county", sa.String(32), nullable=False),
        sa.Column("parcel_id", sa.String(100), nullable=False),
        sa.Column("outline", sa.LargeBinary, nullable=False),
        sa.Column("tolerance_m2", sa.Numeric(20, 4), nullable=False),
    )
    op.create_index("ix_quota_reserved_land_county", "quota_reserved_land", ["county"])


def downgrade() -> None:
    op.drop_index("ix_quota_reserved_land_county", table_name="quota_reserved_land")
    op.drop_table("quota_reserved_land")
