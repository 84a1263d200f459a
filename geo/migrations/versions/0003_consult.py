"""业务协同: consultation rounds, department tasks, append-only answers, joint-meeting flags,
consolidated 预审意见 with document numbers, and the webhook outbox.

Revision ID: 0003_consult
Revises: 0002_projects
Create Date: 2026-12-01
"""

import sqlalchemy as sa
from alembic import op

revision = "0003_consult"
down_revision = "0002_projects"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "consult_rounds",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("project_id", sa.String(64), nullable=False),
        sa.Column("number", sa.Integer, nullable=False),
        sa.Column("review_id", sa.String(64), nullable=False),
        sa.Column("review_json", sa.Text, nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("started", sa.DateTime(timezone=True), nullable=False),
        sa.Column("started_by", sa.String(100), nullable=False),
        sa.Column("closed", sa.DateTime(timezone=True), nullable=True),
        sa.UniqueConstraint("project_id", "number", name="uq_consult_round"),
    )
    op.create_index("ix_consult_rounds_project_id", "consult_rounds", ["project_id"])
    op.create_table(
        "consult_tasks",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("round_id", sa.Integer, sa.ForeignKey("consult_rounds.id"), nullable=False),
        sa.Column("department", sa.String(64), nullable=False),
        sa.Column("items_json", sa.Text, nullable=False),
        sa.Column("draft", sa.Text, nullable=False),
        sa.Column("due", sa.Date, nullable=False),
        sa.Column("created", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_consult_tasks_round_id", "consult_tasks", ["round_id"])
    op.create_index("ix_consult_tasks_department", "consult_tasks", ["department"])
    op.create_table(
        "consult_answers",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("task_id", sa.Integer, sa.ForeignKey("consult_tasks.id"), nullable=False),
        sa.Column("opinion", sa.String(16), nullable=False),
        sa.Column("text", sa.Text, nullable=True),
        sa.Column("actor", sa.String(100), nullable=False),
        sa.Column("created", sa.DateTime(timezone=True), nullable=False),
        sa.Column("carried_from", sa.Integer, sa.ForeignKey("consult_answers.id"), nullable=True),
    )
    op.create_index("ix_consult_answers_task_id", "consult_answers", ["task_id"])
    op.create_table(
        "consult_escalations",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("round_id", sa.Integer, sa.ForeignKey("consult_rounds.id"), nullable=False),
        sa.Column("joint_meeting", sa.Boolean, nullable=False),
        sa.Column("note", sa.Text, nullable=True),
        sa.Column("actor", sa.String(100), nullable=False),
        sa.Column("created", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_consult_escalations_round_id", "consult_escalations", ["round_id"])
    op.create_table(
        "consult_opinions",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("round_id", sa.Integer, sa.ForeignKey("consult_rounds.id"), nullable=False, unique=True),
        sa.Column("project_id", sa.String(64), nullable=False),
        sa.Column("year", sa.Integer, nullable=False),
        sa.Column("sequence", sa.Integer, nullable=False),
        sa.Column("doc_number", sa.String(64), nullable=False, unique=True),
        sa.Column("text", sa.Text, nullable=False),
        sa.Column("opinion_json", sa.Text, nullable=False),
        sa.Column("created", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("year", "sequence", name="uq_consult_opinion_number"),
    )
    op.create_index("ix_consult_opinions_project_id", "consult_opinions", ["project_id"])
    op.create_table(
        "consult_events",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("payload", sa.Text, nullable=False),
        sa.Column("created", sa.DateTime(timezone=True), nullable=False),
        sa.Column("delivered", sa.DateTime(timezone=True), nullable=True),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("last_error", sa.String(500), nullable=True),
    )


def downgrade() -> None:
    for name in (
        "consult_events",
        "consult_opinions",
        "consult_escalations",
        "consult_answers",
        "consult_tasks",
        "consult_rounds",
    ):
        op.drop_table(name)
