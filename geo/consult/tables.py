"""业务协同 tables: rounds of consultation, one task per department, append-only answers,
joint-meeting flags, the consolidated 预审意见 and the webhook outbox."""

from __future__ import annotations

from sqlalchemy import (
    Boolean,
    Column,
    Date,
    DateTime,
    ForeignKey,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
)

from geo.db import metadata

# One consultation of a project on one review. state: open | disagreed | agreed | superseded | withdrawn
consult_rounds = Table(
    "consult_rounds",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("project_id", String(64), nullable=False, index=True),
    Column("number", Integer, nullable=False),
    Column("review_id", String(64), nullable=False),
    Column("review_json", Text, nullable=False),  # the result consulted on, as it was
    Column("state", String(16), nullable=False),
    Column("started", DateTime(timezone=True), nullable=False),
    Column("started_by", String(100), nullable=False),
    Column("closed", DateTime(timezone=True), nullable=True),
    UniqueConstraint("project_id", "number", name="uq_consult_round"),
)

consult_tasks = Table(
    "consult_tasks",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("round_id", Integer, ForeignKey("consult_rounds.id"), nullable=False, index=True),
    Column("department", String(64), nullable=False, index=True),
    Column("items_json", Text, nullable=False),  # the findings: item/factor code, parcel, status, area
    Column("draft", Text, nullable=False),  # the drafted paragraph the department answers
    Column("due", Date, nullable=False),
    Column("created", DateTime(timezone=True), nullable=False),
)

# Never updated: a later answer to the same task supersedes the earlier one.
consult_answers = Table(
    "consult_answers",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("task_id", Integer, ForeignKey("consult_tasks.id"), nullable=False, index=True),
    Column("opinion", String(16), nullable=False),  # 同意 | 有条件同意 | 不同意
    Column("text", Text, nullable=True),
    Column("actor", String(100), nullable=False),
    Column("created", DateTime(timezone=True), nullable=False),
    # the answer of an earlier round this one repeats, the change check having found the project unchanged
    Column("carried_from", Integer, ForeignKey("consult_answers.id"), nullable=True),
)

# An officer's flag: this 问题清单 entry goes to the 联席会议 (第十一条).
consult_escalations = Table(
    "consult_escalations",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("round_id", Integer, ForeignKey("consult_rounds.id"), nullable=False, index=True),
    Column("joint_meeting", Boolean, nullable=False),
    Column("note", Text, nullable=True),
    Column("actor", String(100), nullable=False),
    Column("created", DateTime(timezone=True), nullable=False),
)

# The consolidated 预审意见 of an agreed round (第十二条), with its document number.
consult_opinions = Table(
    "consult_opinions",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("round_id", Integer, ForeignKey("consult_rounds.id"), nullable=False, unique=True),
    Column("project_id", String(64), nullable=False, index=True),
    Column("year", Integer, nullable=False),
    Column("sequence", Integer, nullable=False),
    Column("doc_number", String(64), nullable=False, unique=True),
    Column("text", Text, nullable=False),  # Markdown
    Column("opinion_json", Text, nullable=False),
    Column("created", DateTime(timezone=True), nullable=False),
    UniqueConstraint("year", "sequence", name="uq_consult_opinion_number"),
)

# Webhook outbox: written in the transaction of the change, delivered after it.
consult_events = Table(
    "consult_events",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("kind", String(32), nullable=False),
    Column("payload", Text, nullable=False),
    Column("created", DateTime(timezone=True), nullable=False),
    Column("delivered", DateTime(timezone=True), nullable=True),
    Column("attempts", Integer, nullable=False),
    Column("last_error", String(500), nullable=True),
)
