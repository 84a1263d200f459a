"""The 增存挂钩 stock-land register: 批而未供/闲置 features, their disposals, the settlements (issue 12).

Revision ID: 0006_stock_land
Revises: 0005_blueprint_version
Create Date: 2026-12-02
"""

import sqlalchemy as sa
from alembic import op

revision = "0006_stock_land"
down_revision = "0005_blueprint_version"
branch_labels = None
depends_on = None

AMOUNT = sa.Numeric(20, 4)


def upgrade() -> None:
    op.create_table(
        "stock_land",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("kind", sa.String(24), nullable=False),
        sa.Column("feature_id", sa.String(100), nullable=False),
        sa.Column("county", sa.String(32), sa.ForeignKey("quota_holders.code"), nullable=False),
        sa.Column("approval_year", sa.Integer, nullable=False),
        sa.Column("area_m2", AMOUNT, nullable=False),
        sa.Column("crs_used", sa.String(16), nullable=False),
        sa.Column("blueprint", sa.String(200), nullable=False),
        sa.Column("blueprint_version", sa.String(64), nullable=False),
        sa.Column("imported", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(100), nullable=False),
        sa.UniqueConstraint("kind", "feature_id", name="uq_stock_land_feature"),
    )
    op.create_index("ix_stock_land_county", "stock_land", ["county"])
    op.create_table(
        "stock_disposals",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("land_id", sa.Integer, sa.ForeignKey("stock_land.id"), nullable=False),
        sa.Column("kind", sa.String(8), nullable=False),
        sa.Column("area_m2", AMOUNT, nullable=False),
        sa.Column("disposed_on", sa.Date, nullable=False),
        sa.Column("document", sa.String(100), nullable=True),
        sa.Column("created", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(100), nullable=False),
    )
    op.create_index("ix_stock_disposals_land_id", "stock_disposals", ["land_id"])
    op.create_table(
        "stock_settlements",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("county", sa.String(32), sa.ForeignKey("quota_holders.code"), nullable=False),
        sa.Column("year", sa.Integer, nullable=False),
        sa.Column("supply_rate", sa.Numeric(12, 8), nullable=True),
        sa.Column("threshold", sa.Numeric(12, 8), nullable=False),
        sa.Column("penalty", sa.Boolean, nullable=False),
        sa.Column("reward_m2", AMOUNT, nullable=False),
        sa.Column("transaction_id", sa.Integer, sa.ForeignKey("quota_transactions.id"), nullable=True),
        sa.Column("created", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(100), nullable=False),
    )
    op.create_index("ix_stock_settlements_county", "stock_settlements", ["county"])
    op.create_table(
        "stock_settled",
        sa.Column(
            "disposal_id", sa.Integer, sa.ForeignKey("stock_disposals.id"), primary_key=True, autoincrement=False
        ),
        sa.Column("settlement_id", sa.Integer, sa.ForeignKey("stock_settlements.id"), nullable=False),
    )
    op.create_index("ix_stock_settled_settlement_id", "stock_settled", ["settlement_id"])


def downgrade() -> None:
    for table in ("stock_settled", "stock_settlements", "stock_disposals", "stock_land"):
        op.drop_table(table)
