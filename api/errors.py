"""Every error as RFC 9457 ``application/problem+json`` with a Chinese and an English message.

One table maps domain errors to HTTP statuses; the detail of unexpected errors
stays in the log and never reaches the client.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from geo.errors import (
    BlueprintError,
    CRSError,
    FormatError,
    GeometryError,
    InputError,
    LantuError,
    NotFoundError,
    ProfileError,
    QuotaError,
    TooLargeError,
)

log = logging.getLogger(__name__)
PROBLEM = "application/problem+json"


class AuthenticationError(LantuError, PermissionError):
    """No API key, or one that is unknown or revoked."""


class ForbiddenError(LantuError, PermissionError):
    """A valid key whose role may not do this."""


class UnsupportedMediaError(InputError):
    """A request body in a content type the endpoint does not take."""


# the most specific class first: the first match wins
STATUS: list[tuple[type[LantuError], int]] = [
    (TooLargeError, 413),
    (UnsupportedMediaError, 415),
    (GeometryError, 422),
    (CRSError, 422),
    (FormatError, 422),
    (ProfileError, 422),
    (InputError, 422),
    (NotFoundError, 404),
    (AuthenticationError, 401),
    (ForbiddenError, 403),
    (QuotaError, 409),
    (BlueprintError, 503),
]


def status_for(exc: LantuError) -> int:
    return next((code for cls, code in STATUS if isinstance(exc, cls)), 400)


def problem(status: int, title: str, message_en: str, message_zh: str, request: Request, **extra: Any) -> JSONResponse:
    body = {
        "type": "about:blank",
        "title": title,
        "status": status,
        "detail": message_en,
        "message_en": message_en,
        "message_zh": message_zh,
        "instance": request.url.path,
        **extra,
    }
    headers = {"WWW-Authenticate": 'ApiKey header="X-API-Key"'} if status == 401 else None
    return JSONResponse(body, status_code=status, media_type=PROBLEM, headers=headers)


async def _lantu(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, LantuError)
    status = status_for(exc)
    log.info("%s %s → %d %s: %s", request.method, request.url.path, status, type(exc).__name__, exc)
    return problem(status, type(exc).__name__, exc.message_en, exc.message_zh, request)


async def _validation(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = [{"loc": [str(p) for p in e.get("loc", ())], "msg": str(e.get("msg", ""))} for e in exc.errors()]
    summary = "; ".join(f"{'.'.join(e['loc'])}: {e['msg']}" for e in errors[:5])
    return problem(
        422,
        "RequestValidationError",
        f"invalid request: {summary}",
        f"请求参数不合法：{summary}",
        request,
        errors=errors,
    )


async def _http(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    zh = {404: "资源不存在", 405: "不支持该请求方法"}.get(exc.status_code, "请求错误")
    return problem(exc.status_code, "HTTPException", str(exc.detail), zh, request)


async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
    log.exception("unexpected error on %s %s", request.method, request.url.path)
    return problem(500, "InternalError", "internal error; it has been logged", "服务内部错误，已记录日志", request)


def install(app: FastAPI) -> None:
    app.add_exception_handler(LantuError, _lantu)
    app.add_exception_handler(RequestValidationError, _validation)
    app.add_exception_handler(StarletteHTTPException, _http)
    app.add_exception_handler(Exception, _unexpected)
