"""Every settlement's disposals, kept (``stock_settlement_disposals``): ``stock_settled`` holds a disposal's latest
settlement only, so a settlement whose reward was reversed lost the record of the disposals it had rewarded once
they were settled again. Filled from ``stock_settled``: what an earlier settlement held before this revision is
not known any more.

Revision ID: 0008_settlement_history
Revises: 0007_longer_ids
Create Date: 2026-12-05
"""

import sqlalchemy as sa
from alembic import op

revision = "0008_settlement_history"
down_revision = "0007_longer_ids"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "stock_settlement_disposals",
        sa.Column(
            "settlement_id",
            sa.Integer,
            sa.ForeignKey("stock_settlements.id"),
            primary_key=True,
            autoincrement=False,
        ),
        sa.Column(
            "disposal_id", sa.Integer, sa.ForeignKey("stock_disposals.id"), primary_key=True, autoincrement=False
        ),
    )
    op.execute(
        "INSERT INTO stock_settlement_disposals (settlement_id, disposal_id) "
        "SELECT settlement_id, disposal_id FROM stock_settled"
    )


def downgrade() -> None:
    op.drop_table("stock_settlement_disposals")
