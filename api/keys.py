"""API keys with roles, stored hashed. A key is shown once, when it is created."""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal, get_args

from sqlalchemy import Column, DateTime, Engine, Integer, MetaData, String, Table, insert, select, update
from sqlalchemy.exc import IntegrityError

from api.errors import AuthenticationError
from geo.db import insert_ignoring_duplicates
from geo.errors import InputError, NotFoundError
from geo.vocabulary import check_single_line

Role = Literal["planner", "project-system", "quota-admin", "admin", "department"]
ROLES: tuple[str, ...] = get_args(Role)
_CONSULT_OFFICE = {"consult:read", "consult:start", "consult:escalate"}  # 业务协同: start rounds, flag for 联席会议
PERMISSIONS: dict[str, set[str]] = {
    "planner": {"review:create", "review:read", "layers:read", "quota:read", "consult:read"},
    "project-system": {"review:create", "review:read", "layers:read", "quota:read", "quota:reserve"} | _CONSULT_OFFICE,
    "quota-admin": {"review:read", "layers:read", "quota:read", "quota:reserve", "quota:admin", "consult:read"},
    "admin": {"review:create", "review:read", "layers:read", "quota:read", "quota:reserve", "quota:admin"}
    | _CONSULT_OFFICE
    | {"consult:answer", "blueprint:admin"},
    # a department's key is bound to one department (api_key_departments): it sees and answers its own tasks only
    "department": {"layers:read", "consult:read", "consult:answer"},
}
PREFIX = "lantu_"
NAME_CHARS = 100  # api_keys.name and api_key_departments.key_name

# The web side's own table, beside the library's (reviews, ledger) in the same database.
keys_metadata = MetaData()
api_keys = Table(
    "api_keys",
    keys_metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("name", String(NAME_CHARS), nullable=False, unique=True),
    Column("role", String(32), nullable=False),
    Column("key_hash", String(64), nullable=False, unique=True),
    Column("created", DateTime(timezone=True), nullable=False),
    Column("revoked", DateTime(timezone=True), nullable=True),
)

# The department a `department` key speaks for; a table of its own, so api_keys never changes shape.
api_key_departments = Table(
    "api_key_departments",
    keys_metadata,
    Column("key_name", String(NAME_CHARS), primary_key=True),
    Column("department", String(64), nullable=False),
)


def ensure_schema(engine: Engine) -> None:
    """Create the key table when it is missing (idempotent; it has not changed since it was made)."""
    keys_metadata.create_all(engine, checkfirst=True)


@dataclass(frozen=True)
class Principal:
    name: str
    role: str

    def can(self, permission: str) -> bool:
        return permission in PERMISSIONS[self.role]


def _hash(key: str) -> str:
    # keys are 256-bit random tokens: a plain SHA-256 is enough (no password stretching needed)
    return hashlib.sha256(key.encode()).hexdigest()


def _check_role(role: str) -> None:
    if role not in ROLES:
        raise InputError(f"unknown role {role!r}; roles: {list(ROLES)}", f"未知角色 {role!r}；可选：{list(ROLES)}")


def check_key_name(name: str) -> str:
    """``name`` if it can name a key: it is the actor of every record the key's holder makes (the ledger's
    journal, a project's history, a department's answer), so it is never blank, never padded (" admin" would
    read as "admin"), fits its column and is one printable line (a line break would forge a second line in
    the audit trail)."""
    if not name.strip() or len(name) > NAME_CHARS:
        raise InputError(
            f"a key's name must have 1 to {NAME_CHARS} characters, not all blank",
            f"密钥名称应为 1 到 {NAME_CHARS} 个字符，且不能全为空白",
        )
    if name != name.strip():
        raise InputError(
            f"a key's name must not begin or end with a space: {name!r}", f"密钥名称首尾不能有空白：{name!r}"
        )
    check_single_line(name, "key's name", "密钥名称")
    return name


def create_key(engine: Engine, name: str, role: str, *, department: str | None = None) -> str:
    """A new key; a ``department`` key names the department it answers for (checked by the caller)."""
    check_key_name(name)
    _check_role(role)
    if (role == "department") != (department is not None):
        raise InputError(
            "a department key needs --department, and only a department key takes one",
            "部门密钥须指定 --department，其他角色不能指定部门",
        )
    key = PREFIX + secrets.token_urlsafe(32)
    try:
        with engine.begin() as conn:
            conn.execute(insert(api_keys).values(name=name, role=role, key_hash=_hash(key), created=datetime.now(UTC)))
            if department is not None:
                conn.execute(insert(api_key_departments).values(key_name=name, department=department))
    except IntegrityError as exc:
        raise InputError(f"a key named {name!r} exists already", f"名为 {name!r} 的密钥已存在") from exc
    return key


def import_keys_file(engine: Engine, path: Path) -> int:
    """Provision keys from a file of ``name,role,sha256-hex`` lines (hashes only, never keys).

    For configuration management: the file is read at start-up and keys it names
    that the database lacks are added; ``#`` starts a comment.
    """
    rows = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        parts = [p.strip() for p in line.split(",")]
        if len(parts) != 3 or not re.fullmatch(r"[0-9a-f]{64}", parts[2]):
            raise InputError(
                f"{path.name} line {number}: expected name,role,sha256-hex",
                f"{path.name} 第 {number} 行：格式应为 名称,角色,SHA-256",
            )
        try:
            check_key_name(parts[0])
            _check_role(parts[1])
        except InputError as exc:
            raise InputError(
                f"{path.name} line {number}: {exc.message_en}", f"{path.name} 第 {number} 行：{exc.message_zh}"
            ) from exc
        if parts[1] == "department":
            raise InputError(
                f"{path.name} line {number}: department keys are bound to a department: lantu keys create --department",
                f"{path.name} 第 {number} 行：部门密钥须绑定部门，请用 lantu keys create --department 创建",
            )
        rows.append({"name": parts[0], "role": parts[1], "key_hash": parts[2], "created": datetime.now(UTC)})
    if rows:
        with engine.begin() as conn:
            conn.execute(insert_ignoring_duplicates(conn, api_keys), rows)
    return len(rows)


def key_department(engine: Engine, name: str) -> str | None:
    """The department a key is bound to (None for the other roles)."""
    with engine.connect() as conn:
        return conn.execute(
            select(api_key_departments.c.department).where(api_key_departments.c.key_name == name)
        ).scalar()


def revoke_key(engine: Engine, name: str) -> None:
    with engine.begin() as conn:
        done = conn.execute(
            update(api_keys)
            .where(api_keys.c.name == name, api_keys.c.revoked.is_(None))
            .values(revoked=datetime.now(UTC))
        )
    if done.rowcount == 0:
        raise NotFoundError(f"no active key named {name!r}", f"没有名为 {name!r} 的有效密钥")


def list_keys(engine: Engine) -> list[dict[str, object]]:
    """Every key's name, role, department (department keys), dates; never the key."""
    with engine.connect() as conn:
        rows = conn.execute(
            select(
                api_keys.c.name,
                api_keys.c.role,
                api_key_departments.c.department,
                api_keys.c.created,
                api_keys.c.revoked,
            ).outerjoin(api_key_departments, api_key_departments.c.key_name == api_keys.c.name)
        )
        return [dict(r._mapping) for r in rows]


def authenticate(engine: Engine, key: str | None) -> Principal:
    if not key:
        raise AuthenticationError(
            "an API key is required (X-API-Key header or Bearer token)",
            "需要 API 密钥（X-API-Key 请求头或 Bearer 令牌）",
        )
    digest = _hash(key)
    with engine.connect() as conn:
        row = conn.execute(
            select(api_keys.c.name, api_keys.c.role, api_keys.c.key_hash).where(
                api_keys.c.key_hash == digest, api_keys.c.revoked.is_(None)
            )
        ).first()
    if row is None or not hmac.compare_digest(row.key_hash, digest):
        raise AuthenticationError("unknown or revoked API key", "API 密钥无效或已吊销")
    return Principal(row.name, row.role)
