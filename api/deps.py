"""Request dependencies: the loaded blueprint, the stores, and who is calling."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

from fastapi import Depends, Header, Request
from sqlalchemy import Engine

from api.errors import ForbiddenError
from api.keys import Principal, authenticate
from api.settings import Settings
from geo.blueprint import Blueprint
from geo.errors import BlueprintError
from geo.store import ReviewStore

OPEN_DEMO = Principal("open-demo", "admin")


def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def get_blueprint(request: Request) -> Blueprint:
    blueprint: Blueprint | None = request.app.state.blueprint
    if blueprint is None:
        raise BlueprintError(
            "the service has no blueprint loaded (set LANTU_BLUEPRINT)",
            "服务未加载蓝图（请设置 LANTU_BLUEPRINT）",
        )
    return blueprint


def get_engine(request: Request) -> Engine:
    engine: Engine = request.app.state.engine
    return engine


def get_store(request: Request) -> ReviewStore:
    store: ReviewStore = request.app.state.store
    return store


SettingsDep = Annotated[Settings, Depends(get_settings)]
BlueprintDep = Annotated[Blueprint, Depends(get_blueprint)]
EngineDep = Annotated[Engine, Depends(get_engine)]
StoreDep = Annotated[ReviewStore, Depends(get_store)]


def get_principal(
    settings: SettingsDep,
    engine: EngineDep,
    x_api_key: Annotated[str | None, Header(description="API key")] = None,
    authorization: Annotated[str | None, Header(description="Bearer API key")] = None,
) -> Principal:
    if settings.open_demo:
        return OPEN_DEMO
    key = x_api_key
    if key is None and authorization and authorization.lower().startswith("bearer "):
        key = authorization[7:].strip()
    return authenticate(engine, key)


def require(permission: str) -> Callable[[Principal], Principal]:
    """A dependency that lets the call through only for roles holding ``permission``."""

    def check(principal: Annotated[Principal, Depends(get_principal)]) -> Principal:
        if not principal.can(permission):
            raise ForbiddenError(
                f"role {principal.role!r} may not do {permission!r}",
                f"角色 {principal.role!r} 无权执行 {permission!r}",
            )
        return principal

    return check
