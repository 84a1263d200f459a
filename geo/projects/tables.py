"""The project library's tables: projects, their stage history and the reviews linked to them."""

from __future__ import annotations

from sqlalchemy import Column, Date, DateTime, ForeignKey, Integer, String, Table, Text, UniqueConstraint

from geo.db import metadata

projects = Table(
    "projects",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("name", String(200), nullable=False),
    Column("project_type", String(50), nullable=False),  # layers/vocabulary.yaml project_types
    Column("level", String(16), nullable=False),  # 国家重大 / 省重点 / 市重点 / 县重点 / 一般
    Column("county", String(32), ForeignKey("quota_holders.code"), nullable=False),
    Column("stage", String(8), nullable=False),  # 谋划 / 储备 / 审批 / 建设 / 竣工 / 撤销
    Column("start_by", Date, nullable=True),  # planned start (计划开工日期)
    Column("created", DateTime(timezone=True), nullable=False),
    Column("actor", String(100), nullable=False),
)

project_stages = Table(
    "project_stages",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("project_id", String(64), ForeignKey("projects.id"), nullable=False, index=True),
    Column("from_stage", String(8), nullable=True),  # None: entered into the library
    Column("to_stage", String(8), nullable=False),
    Column("at", DateTime(timezone=True), nullable=False),
    Column("actor", String(100), nullable=False),
    Column("reason", Text, nullable=False),
)

project_reviews = Table(
    "project_reviews",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("project_id", String(64), ForeignKey("projects.id"), nullable=False, index=True),
    Column("review_id", String(64), nullable=False),
    Column("parcel_id", String(100), nullable=False),  # a review's parcel ids run to MAX_ID_CHARS
    Column("linked", DateTime(timezone=True), nullable=False),
    Column("actor", String(100), nullable=False),
    UniqueConstraint("project_id", "review_id", "parcel_id", name="uq_project_review"),
)
