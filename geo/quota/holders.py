"""Who may hold quota: the city pool and the counties registered from the blueprint."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from sqlalchemy import Connection, Engine, select

from geo.db import insert_ignoring_duplicates
from geo.errors import BlueprintError, InputError
from geo.quota.accounts import CITY
from geo.quota.tables import quota_holders

if TYPE_CHECKING:
    from geo.blueprint import Blueprint


def register_counties(engine: Engine, counties: Iterable[tuple[str, str]]) -> int:
    """The counties that may hold quota (code, name), e.g. from the blueprint's county layer."""
    rows = [{"code": str(code), "name": str(name)} for code, name in counties]
    if rows:
        with engine.begin() as conn:
            conn.execute(insert_ignoring_duplicates(conn, quota_holders), rows)
    return len(rows)


def county_names(engine: Engine) -> dict[str, str]:
    """Registered counties: code → name (tables show names, not bare codes)."""
    with engine.connect() as conn:
        return {r.code: r.name for r in conn.execute(select(quota_holders)).all()}


def require_county(conn: Connection, code: str) -> str:
    """``code`` if it is a registered county, else an InputError (a request naming no county the ledger holds)
    saying how to register it. What is no printable text names none and is not looked up (an int was a TypeError or
    PostgreSQL's "operator does not exist", a NUL its DataError)."""
    printable = isinstance(code, str) and code.isprintable()
    query = select(quota_holders.c.code).where(quota_holders.c.code == code)
    known = conn.execute(query).first() if printable else None
    if known is None:
        raise InputError(
            f"unknown county {code!r} (register counties with `lantu quota init --blueprint`)",
            f"未知区县 {code!r}（请先用蓝图的区县图层登记区县）",
        )
    return code


def require_holder(conn: Connection, holder: str) -> str:
    """The city pool or a registered county: the holders quota may move between."""
    return holder if holder == CITY else require_county(conn, holder)


def blueprint_counties(blueprint: Blueprint) -> list[tuple[str, str]]:
    """(code, name) of every county in the blueprint's ``county`` layer: the holders to register."""
    county = blueprint.vector("county")
    if county is None:
        raise BlueprintError("the blueprint has no county layer", "蓝图没有县级行政区图层")
    return list(zip(county.frame["code"].astype(str), county.frame["name"].astype(str), strict=True))
