"""The project library (项目库): projects, their stage history, the reviews linked to them.

Revision ID: 0002_projects
Revises: 0001
Create Date: 2026-12-01
"""

import sqlalchemy as sa
from alembic import op

revision = "0002_projects"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "projects",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("project_type", sa.String(50), nullable=False),
        sa.Column("level", sa.String(16), nullable=False),
        sa.Column("county", sa.String(32), sa.ForeignKey("quota_holders.code"), nullable=False),
        sa.Column("stage", sa.String(8), nullable=False),
        sa.Column("start_by", sa.Date, nullable=True),
        sa.Column("created", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(100), nullable=False),
    )
    op.create_table(
        "project_stages",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("project_id", sa.String(64), sa.ForeignKey("projects.id"), nullable=False),
        sa.Column("from_stage", sa.String(8), nullable=True),
        sa.Column("to_stage", sa.String(8), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(100), nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
    )
    op.create_index("ix_project_stages_project_id", "project_stages", ["project_id"])
    op.create_table(
        "project_reviews",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("project_id", sa.String(64), sa.ForeignKey("projects.id"), nullable=False),
        sa.Column("review_id", sa.String(64), nullable=False),
        sa.Column("parcel_id", sa.String(64), nullable=False),
        sa.Column("linked", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(100), nullable=False),
        sa.UniqueConstraint("project_id", "review_id", "parcel_id", name="uq_project_review"),
    )
    op.create_index("ix_project_reviews_project_id", "project_reviews", ["project_id"])


def downgrade() -> None:
    for table in ("project_reviews", "project_stages", "projects"):
        op.drop_table(table)
