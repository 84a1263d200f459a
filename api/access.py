"""Who may read what: viewer sessions, review ownership, and the readiness write probe.

The web side's own tables live beside ``api_keys`` in ``keys_metadata`` (created by
:func:`api.keys.ensure_schema`):

* ``api_sessions`` — a viewer session is a random id (``secrets.token_urlsafe``) given
  to the browser as a cookie; only its SHA-256 is stored, with the key's name and an
  expiry. The API key itself never leaves the login form. Revoking the key ends its
  sessions (every lookup joins the key table).
* ``review_owners`` — the key name and role that created each review. Reading a review
  is allowed to its creator, and to ``admin`` and ``quota-admin`` (who see all).
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Column, Connection, DateTime, Engine, Integer, String, Table, delete, insert, select, update

from api.errors import AuthenticationError, ForbiddenError
from api.keys import Principal, api_keys, keys_metadata
from geo.errors import NotFoundError

SEE_ALL_ROLES = frozenset({"admin", "quota-admin"})
OWNERS_AT_A_TIME = 500  # review ids asked in one query: SQLite's bound parameters are limited

api_sessions = Table(
    "api_sessions",
    keys_metadata,
    Column("id_hash", String(64), primary_key=True),
    Column("key_name", String(100), nullable=False),
    Column("created", DateTime(timezone=True), nullable=False),
    Column("expires", DateTime(timezone=True), nullable=False),
)

review_owners = Table(
    "review_owners",
    keys_metadata,
    Column("review_id", String(64), primary_key=True),
    Column("creator", String(100), nullable=False),
    Column("role", String(32), nullable=False),
    Column("created", DateTime(timezone=True), nullable=False),
)

readiness = Table(
    "lantu_readiness",
    keys_metadata,
    Column("id", Integer, primary_key=True),
    Column("checked", DateTime(timezone=True), nullable=False),
)


def _digest(session_id: str) -> str:
    return hashlib.sha256(session_id.encode()).hexdigest()


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)  # SQLite hands back naive datetimes


def open_session(engine: Engine, principal: Principal, *, hours: float) -> str:
    """A new session for ``principal``; returns the id for the cookie (stored only hashed)."""
    session_id = secrets.token_urlsafe(32)
    now = datetime.now(UTC)
    with engine.begin() as conn:
        conn.execute(delete(api_sessions).where(api_sessions.c.expires < now))  # keep the table small
        conn.execute(
            insert(api_sessions).values(
                id_hash=_digest(session_id),
                key_name=principal.name,
                created=now,
                expires=now + timedelta(hours=hours),
            )
        )
    return session_id


def session_principal(engine: Engine, session_id: str) -> Principal:
    with engine.connect() as conn:
        row = conn.execute(
            select(api_keys.c.name, api_keys.c.role, api_sessions.c.expires)
            .join(api_keys, api_keys.c.name == api_sessions.c.key_name)
            .where(api_sessions.c.id_hash == _digest(session_id), api_keys.c.revoked.is_(None))
        ).first()
    if row is None or _aware(row.expires) <= datetime.now(UTC):
        raise AuthenticationError(
            "the session has expired or was closed; sign in again", "会话已过期或已退出，请重新登录"
        )
    return Principal(row.name, row.role)


def close_session(engine: Engine, session_id: str) -> None:
    with engine.begin() as conn:
        conn.execute(
            update(api_sessions)
            .where(api_sessions.c.id_hash == _digest(session_id))
            .values(expires=datetime.now(UTC) - timedelta(seconds=1))
        )


def record_owner(conn: Connection, review_id: str, principal: Principal) -> None:
    """Who made a review: written in the transaction that stores it (a review nobody owns is one only
    an administrator could read)."""
    conn.execute(
        insert(review_owners).values(
            review_id=review_id, creator=principal.name, role=principal.role, created=datetime.now(UTC)
        )
    )


def check_can_read(engine: Engine, review_id: str, principal: Principal) -> None:
    """Let ``principal`` read the review or raise: 404 when it does not exist, 403 when it is not theirs."""
    with engine.connect() as conn:
        creator = conn.execute(select(review_owners.c.creator).where(review_owners.c.review_id == review_id)).scalar()
    if principal.role in SEE_ALL_ROLES:
        return
    if creator is None:
        # unknown here: either no such review (404 from the store) or one made before owners were kept
        raise NotFoundError(f"no review {review_id!r}", f"审查记录 {review_id!r} 不存在")
    if creator != principal.name:
        raise ForbiddenError(
            f"review {review_id!r} belongs to another caller", f"审查记录 {review_id!r} 属于其他用户，无权查看"
        )


def readable_reviews(engine: Engine, principal: Principal, review_ids: Iterable[str | None]) -> set[str]:
    """Which of ``review_ids`` ``principal`` may read (``check_can_read`` for a listing's many at once)."""
    wanted = {r for r in review_ids if r}
    if principal.role in SEE_ALL_ROLES or not wanted:
        return wanted
    asked = sorted(wanted)
    found: set[str] = set()
    with engine.connect() as conn:
        for at in range(0, len(asked), OWNERS_AT_A_TIME):
            found.update(
                conn.execute(
                    select(review_owners.c.review_id).where(
                        review_owners.c.review_id.in_(asked[at : at + OWNERS_AT_A_TIME]),
                        review_owners.c.creator == principal.name,
                    )
                ).scalars()
            )
    return found


def review_ids_shown(engine: Engine, principal: Principal, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """``rows`` (a listing's: a project's links, the journal, the projects holding quota) with each ``review_id``
    ``principal`` may not read made null: a review id is the capability to its review, shown only to those who
    may read it (SECURITY.md); the rest of the row (the project, the parcel, the amounts) stays."""
    readable = readable_reviews(engine, principal, (row.get("review_id") for row in rows))
    return [row if row.get("review_id") in readable else {**row, "review_id": None} for row in rows]


def probe_write(engine: Engine, *, lock_timeout: float = 30.0) -> None:
    """One small committed write: what a review or a ledger movement needs to succeed."""
    now = datetime.now(UTC)
    with engine.begin() as conn:
        sqlite = conn.dialect.name == "sqlite"
        if sqlite:
            conn.exec_driver_sql(f"PRAGMA busy_timeout={int(min(lock_timeout, 1.0) * 1000)}")  # answer fast
        try:
            done = conn.execute(update(readiness).where(readiness.c.id == 1).values(checked=now))
            if done.rowcount == 0:
                conn.execute(insert(readiness).values(id=1, checked=now))
        finally:
            if sqlite:
                conn.exec_driver_sql(f"PRAGMA busy_timeout={int(lock_timeout * 1000)}")
