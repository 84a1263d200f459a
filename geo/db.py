"""The library's database: one SQLAlchemy engine for stored reviews and the ledger,
SQLite by default and PostgreSQL (with PostGIS when available) by URL; the schema
is created and upgraded by Alembic migrations (``geo/migrations``)."""

from __future__ import annotations

import errno
import logging
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import Connection, Engine, MetaData, Select, Table, create_engine, event, false, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.sql import ColumnElement

log = logging.getLogger(__name__)
metadata = MetaData()
MAX_ID = 2**31 - 1  # an Integer id (PostgreSQL's int4): a larger one names no row
MIGRATIONS = Path(__file__).parent / "migrations"


def make_engine(url: str, **kwargs: Any) -> Engine:
    """An engine; SQLite made safe for concurrent writers (WAL, busy timeout, BEGIN IMMEDIATE if asked)."""
    if not url.startswith("sqlite"):
        return create_engine(url, pool_pre_ping=True, **kwargs)
    engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30}, **kwargs)

    @event.listens_for(engine, "connect")
    def _sqlite_setup(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = None  # SQLAlchemy's "begin" event below issues BEGIN itself
        cursor = dbapi_conn.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _sqlite_begin(conn: Any) -> None:
        # ledger writers take the write lock at BEGIN, so check-then-write cannot interleave
        immediate = conn.get_execution_options().get("lantu_immediate", False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

    return engine


def storage_fault(exc: BaseException) -> tuple[str, str, int] | None:
    """Why the database or the disk refused a read or a write, in English and Chinese, with the seconds to wait
    before a retry (locked by another writer, read-only, full, unreachable); None for any other fault. The
    service answers it as a problem (``api.errors``), the command line as a refusal (``geo.cli.run``)."""
    text = str(exc).lower()
    if isinstance(exc, OperationalError | DBAPIError):
        if "locked" in text or "busy" in text:
            return "the database is locked by another writer; retry shortly", "数据库被其他写入方锁定，请稍后重试", 5
        if "readonly" in text or "read-only" in text:
            return "the database is read-only: nothing was written", "数据库为只读，未写入任何内容", 60
        if "not a database" in text or "malformed" in text:  # before "disk": "database disk image is malformed"
            return (
                "the database file is damaged or is no SQLite database (written over?): restore it from a backup",
                "数据库文件已损坏或不是 SQLite 数据库（是否被其他文件覆盖？）：请从备份恢复",
                60,
            )
        if "disk" in text or "full" in text or "no space" in text:
            return "the database disk is full", "数据库磁盘已满", 60
        if "unable to open database file" in text:  # SQLite's words for a folder that is missing or closed to it
            return (
                "the database file cannot be opened: check that its folder exists and lantu may write there",
                "无法打开数据库文件：请检查其所在目录是否存在、lantu 是否有写入权限",
                60,
            )
        if isinstance(exc, OperationalError) or exc.connection_invalidated:
            return "the database is unreachable", "数据库无法连接", 10
        return None
    if isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EIO):
        return "the disk refused a write (full or read-only)", "磁盘无法写入（已满或只读）", 60
    return None


def migrate(engine: Engine, revision: str = "head") -> None:
    """Bring the schema to ``revision`` with Alembic (idempotent)."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    with engine.begin() as conn:
        config.attributes["connection"] = conn
        command.upgrade(config, revision)
    log.info("database schema at %s (%s)", revision, engine.url.render_as_string())


POSTGIS_ONLY = {"spatial_ref_sys", "geom", "ix_reviews_geom"}  # made by the migration on PostGIS only


def include_object(_object: Any, name: str | None, _type: str, _reflected: bool, _compare_to: Any) -> bool:
    """For schema comparison: leave out what PostGIS and the optional geometry column add."""
    return name not in POSTGIS_ONLY


def insert_ignoring_duplicates(conn: Connection, table: Any) -> Any:
    """INSERT … ON CONFLICT DO NOTHING in the connection's dialect (SQLite or PostgreSQL)."""
    dialect_insert = pg_insert if conn.dialect.name == "postgresql" else sqlite_insert
    return dialect_insert(table).on_conflict_do_nothing()


def has_postgis(engine: Engine) -> bool:
    if engine.dialect.name != "postgresql":
        return False
    from sqlalchemy import text

    with engine.connect() as conn:
        return bool(conn.execute(text("SELECT count(*) FROM pg_extension WHERE extname = 'postgis'")).scalar())


def id_is(column: ColumnElement[Any], row_id: int) -> ColumnElement[bool]:
    """``column == row_id``, false for an id no Integer column holds (beyond :data:`MAX_ID`), which the database
    driver would refuse with an error of its own (an overflow, a 500) instead of finding no row."""
    return column == row_id if 1 <= row_id <= MAX_ID else false()


def by_id(table: Table, row_id: int) -> Select[Any]:
    """The row of ``table`` with id ``row_id`` (:func:`id_is`)."""
    return select(table).where(id_is(table.c.id, row_id))


def utc_text(moment: datetime, timespec: str = "auto") -> str:
    """A moment read back from the database as ISO text in UTC, its offset written: SQLite hands back naive
    datetimes (stored as UTC), PostgreSQL aware ones in the session's time zone; a reader of the JSON (and the
    CLI's tables, which show Beijing time) must not have to guess."""
    aware = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    return aware.astimezone(UTC).isoformat(timespec=timespec)
