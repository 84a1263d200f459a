"""Every error as RFC 9457 ``application/problem+json`` with a Chinese and an English message.

One table maps error classes to HTTP statuses; a raised error's status is found by
walking its class's MRO, so the most specific entry wins whatever order the table is
written in, and a new subclass inherits its parent's status. The detail of unexpected
errors stays in the log and never reaches the client.
"""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import Mapping, Sequence
from typing import Any

from fastapi import FastAPI, Request, params
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from python_multipart.exceptions import MultipartParseError
from sqlalchemy.exc import DBAPIError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import ClientDisconnect

from geo.db import storage_fault
from geo.errors import (
    BlueprintError,
    ConsultError,
    InputError,
    LantuError,
    NotFoundError,
    ProfileError,
    QuotaError,
    ReviewAborted,
    TooLargeError,
    validation_zh,
)
from geo.io.jsonkeys import DuplicateKeyError
from geo.papers import DocumentNumberError

log = logging.getLogger(__name__)
PROBLEM = "application/problem+json"


class AuthenticationError(LantuError, PermissionError):
    """No API key or session, or one that is unknown, expired or revoked."""


class ForbiddenError(LantuError, PermissionError):
    """A valid caller who may not do this (role, ownership, or a cross-site request)."""


class UnsupportedMediaError(InputError):
    """A request body in a content type the endpoint does not take."""


class RetryLaterError(LantuError):
    """The service cannot take this now; the client should retry after ``retry_after`` seconds."""

    retry_after: int = 5

    def __init__(self, message_en: str, message_zh: str | None = None, *, retry_after: int | None = None):
        super().__init__(message_en, message_zh)
        if retry_after is not None:
            self.retry_after = retry_after


class BusyError(RetryLaterError):
    """Every worker is busy and the queue is full."""


class WorkTimeoutError(RetryLaterError):
    """Parsing, review or rendering took longer than the per-request limit."""


class StorageError(RetryLaterError):
    """The database or the disk refused a read or a write (locked, full, unreachable)."""


class RequestTimeoutError(LantuError):
    """The client sent its request body too slowly."""


class ReloadRefusedError(LantuError):
    """A blueprint reload that was not carried out: nothing configured to load, or files that do not load.

    A conflict with the service's state, not an outage: the blueprint in service keeps serving, and
    asking again changes nothing until the files (or the configuration) are put right."""


# error class → HTTP status, resolved by the exception's MRO (most specific class first)
STATUS: dict[type[BaseException], int] = {
    LantuError: 400,
    InputError: 422,
    # a profile or opinion template named by the request (?profile=nope) is input like any other parameter
    # (its pattern mismatch was 422 already); a configured one that does not load fails every request alike
    ProfileError: 422,
    TooLargeError: 413,
    UnsupportedMediaError: 415,
    NotFoundError: 404,
    AuthenticationError: 401,
    ForbiddenError: 403,
    QuotaError: 409,
    ConsultError: 409,
    ReloadRefusedError: 409,
    BlueprintError: 503,
    ReviewAborted: 503,
    RequestTimeoutError: 408,
    BusyError: 429,
    WorkTimeoutError: 503,
    StorageError: 503,
    DocumentNumberError: 503,  # the number sequence stayed contended: try again
}


class ProblemDetails(BaseModel):
    """The body of every error response (RFC 9457 ``application/problem+json``), for the API's documentation:
    the handlers below write it."""

    type: str = Field(description="always about:blank: the status and title say what happened")
    title: str = Field(description="the error's class, e.g. CRSError, QuotaError, WorkTimeoutError")
    status: int
    detail: str = Field(description="what went wrong, in English (message_en)")
    message_en: str
    message_zh: str = Field(description="the same in Chinese")
    instance: str = Field(description="the request's path")
    errors: list[dict[str, Any]] | None = Field(
        default=None, description="for a request that does not validate: each field's location and message"
    )


# what each error status means here, for the operations' documented responses (``problem_responses``)
MEANING = {
    400: "the request cannot be carried out as given / 请求无法执行",
    401: "no API key or session, or one unknown, expired or revoked / 未认证",
    403: "the caller's role or ownership does not allow this / 无权限",
    404: "no such review, project, layer or record / 资源不存在",
    408: "the request body came too slowly / 请求体发送超时",
    409: "the ledger, the workflow or a blueprint reload refuses it, with the reason / 台账、流程或蓝图重载拒绝该操作",
    413: "the body, an upload or the parcels' estimated cost is over its limit / 超出大小或复杂度上限",
    415: "a body in a content type the operation does not take / 不支持的内容类型",
    422: "the input cannot be used: geometry, CRS, coordinates, file format or a field / 输入无法使用",
    429: "every worker is busy and the queue is full: retry after Retry-After / 服务繁忙",
    503: "the work timed out, or storage or the blueprint is unavailable: retry after Retry-After / 暂时无法处理",
}


BODY_STATUSES = (408, 413, 415)


def problem_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI responses for ``statuses``, each a problem document (``document`` adds its schema)."""
    schema = {"$ref": "#/components/schemas/ProblemDetails"}
    return {s: {"description": MEANING[s], "content": {PROBLEM: {"schema": schema}}} for s in statuses}


def document(app: FastAPI) -> None:
    """The app's OpenAPI document with the ``ProblemDetails`` schema its error responses name."""
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            spec = generate()
            spec.setdefault("components", {}).setdefault("schemas", {})["ProblemDetails"] = (
                ProblemDetails.model_json_schema()
            )
            for operation in (op for ops in spec["paths"].values() for op in ops.values()):
                if "requestBody" not in operation:  # a body's problems only where there is one
                    for status in BODY_STATUSES:
                        operation["responses"].pop(str(status), None)
                elif "application/json" in operation["requestBody"].get("content", {}):  # ``json_body_refused``
                    operation["responses"].setdefault("415", problem_responses(415)[415])
        return app.openapi_schema  # type: ignore[return-value]  # set by ``generate``

    app.openapi = openapi  # type: ignore[method-assign]  # FastAPI's documented way to change the document


def status_for(exc: BaseException) -> int:
    for cls in type(exc).__mro__:
        if cls in STATUS:
            return STATUS[cls]
    return 500


def problem_body(
    status: int, title: str, message_en: str, message_zh: str, instance: str, **extra: Any
) -> dict[str, Any]:
    """An RFC 9457 problem document: the safe messages in both languages, never the exception's text."""
    return {
        "type": "about:blank",
        "title": title,
        "status": status,
        "detail": message_en,
        "message_en": message_en,
        "message_zh": message_zh,
        "instance": instance,
        **extra,
    }


def problem(
    status: int,
    title: str,
    message_en: str,
    message_zh: str,
    request: Request,
    *,
    headers: Mapping[str, str] | None = None,
    **extra: Any,
) -> JSONResponse:
    body = problem_body(status, title, message_en, message_zh, request.url.path, **extra)
    out = dict(headers or {})
    if status == 401:
        out["WWW-Authenticate"] = 'ApiKey header="X-API-Key", Bearer'
    if status >= 500:
        out["Connection"] = "close"  # a failing server should not keep the client's connection
    return JSONResponse(body, status_code=status, media_type=PROBLEM, headers=out)


async def _lantu(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, LantuError)
    status = status_for(exc)
    log.info("%s %s → %d %s: %s", request.method, request.url.path, status, type(exc).__name__, exc)
    headers = {"Retry-After": str(exc.retry_after)} if isinstance(exc, RetryLaterError) else None
    return problem(status, type(exc).__name__, exc.message_en, exc.message_zh, request, headers=headers)


def storage_error(exc: BaseException) -> StorageError | None:
    """The storage fault behind ``exc`` as a :class:`StorageError` with a reason, or None."""
    if isinstance(exc, StorageError):
        return exc
    fault = storage_fault(exc)
    if fault is None:
        return None
    en, zh, retry_after = fault
    return StorageError(en, zh, retry_after=retry_after)


async def _storage(request: Request, exc: Exception) -> JSONResponse:
    fault = storage_error(exc)
    if fault is None:
        return await _unexpected(request, exc)
    log.error("storage fault on %s %s: %s", request.method, request.url.path, exc)
    return await _lantu(request, fault)


async def _validation(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    found = exc.errors()
    refused = json_body_refused(request, found)
    if refused is not None:
        return await _lantu(request, refused)
    errors = [{"loc": [str(p) for p in e.get("loc", ())], "msg": str(e.get("msg", ""))} for e in found]
    summary = "; ".join(f"{'.'.join(e['loc'])}: {e['msg']}" for e in errors[:5])
    shown = zip(errors[:5], found[:5], strict=True)
    summary_zh = "；".join(f"{'.'.join(e['loc'])}：{validation_zh(raw)}" for e, raw in shown)
    return problem(
        422,
        "RequestValidationError",
        f"invalid request: {summary}",
        f"请求参数不合法：{summary_zh}",
        request,
        errors=errors,
    )


def media_type(request: Request) -> str:
    """The request's Content-Type without its parameters, in lower case ("" when none is sent)."""
    return request.headers.get("content-type", "").split(";")[0].strip().lower()


def is_json_type(media: str) -> bool:
    """Whether FastAPI reads a body of this type as JSON: application/json or application/…+json."""
    return media == "application/json" or (media.startswith("application/") and media.endswith("+json"))


def json_body_refused(request: Request, errors: Sequence[Mapping[str, Any]]) -> UnsupportedMediaError | None:
    """The 415 for a body an operation reads as JSON sent in another type (text/plain, a form), or None.

    FastAPI parses only a JSON content type and hands anything else to the body's model as bytes, which
    fails as "Input should be a valid dictionary": the problem is the type, as for ``POST /reviews``. A
    request with no body and no type is left to say the body is missing."""
    route = request.scope.get("route")
    field = getattr(route, "body_field", None)
    if field is None or isinstance(field.field_info, params.Form):  # no body, or a form's (multipart too)
        return None
    body = [e for e in errors if tuple(e.get("loc", ()))[:1] == ("body",)]
    media = media_type(request)
    if not body or is_json_type(media) or (not media and all(e.get("type") == "missing" for e in body)):
        return None
    return UnsupportedMediaError(
        f"content type {media or 'none'!r} is not accepted; send the body as JSON (application/json)",
        f"不支持的内容类型 {media or '无'!r}；请求体须为 JSON（Content-Type: application/json）",
    )


# Starlette's words for a multipart body it could not read (``starlette.formparsers``), in Chinese: {0} is the figure
MULTIPART_ZH: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"Too many files\. Maximum number of files is (\d+)\."), "文件过多，最多 {0} 个文件"),
    (re.compile(r"Too many fields\. Maximum number of fields is (\d+)\."), "字段过多，最多 {0} 个字段"),
    (re.compile(r"(?:Field|Part) exceeded maximum size of (\d+)KB\."), "单个字段超过 {0} KB 的上限"),
    (re.compile(r"Missing boundary in multipart\."), "multipart 请求的 Content-Type 缺少 boundary（分隔符）"),
    (re.compile(r"Invalid multipart data\."), "multipart 数据格式错误（分隔符与内容不符）"),
    (
        re.compile(r'The Content-Disposition header field "name" must be provided\.'),
        "multipart 某部分的 Content-Disposition 缺少 name",
    ),
)
PARSING_BODY = "There was an error parsing the body"  # FastAPI's detail for a body it could not decode
# characters of an uploaded file's name: no file system a planner's files come from holds a longer one (NTFS 255
# UTF-16 units; ext4 and APFS 255 bytes), and any name within it passes the multipart parser's header limit
MAX_FILE_NAME_CHARS = 255


def file_name_too_long(length: int | None = None) -> InputError:
    """The 422 for an upload whose file name is longer than ``MAX_FILE_NAME_CHARS`` (``length``, where it is known:
    past the multipart parser's header limit only its words are)."""
    told_en = f"is {length:,} characters long" if length is not None else "is too long"
    told_zh = f"长达 {length:,} 个字符" if length is not None else "过长"
    return InputError(
        f"the uploaded file's name {told_en}; a file name has at most {MAX_FILE_NAME_CHARS} characters: rename the "
        "file and upload it again",
        f"上传文件的文件名{told_zh}，文件名最多 {MAX_FILE_NAME_CHARS} 个字符：请将文件改名后重新上传",
    )


def multipart_header_too_long(exc: BaseException) -> bool:
    """Whether ``exc`` (Starlette's 400 "Invalid multipart data.") comes from a part's header line longer than
    the multipart parser takes (python_multipart's DEFAULT_MAX_HEADER_SIZE, 4,224 bytes): a file name of thousands
    of characters, which was answered as malformed multipart data, as if the client's boundaries were wrong."""
    seen: set[int] = set()
    found: BaseException | None = exc
    while found is not None and id(found) not in seen:
        seen.add(id(found))
        if isinstance(found, MultipartParseError) and "header size" in str(found):
            return True
        found = found.__cause__ or found.__context__
    return False


def body_error(detail: str, cause: BaseException | None) -> tuple[str, str] | None:
    """What was wrong with a body Starlette or FastAPI could not read (English, Chinese), from their detail and the
    exception behind it; None for an error that is no body's. The words are ours: never the cause's text."""
    for pattern, zh in MULTIPART_ZH:
        if (found := pattern.fullmatch(detail)) is not None:
            return detail, f"请求体无法解析：{zh.format(*found.groups())}（{detail}）"
    if detail != PARSING_BODY:
        return None
    if isinstance(cause, ValueError) and "integer string conversion" in str(cause):
        digits = sys.get_int_max_str_digits()
        return (
            f"{detail}: a number has more than {digits} digits",
            f"请求体无法解析：数字超过 {digits} 位（{detail}: a number has more than {digits} digits）",
        )
    if isinstance(cause, UnicodeDecodeError):
        return (
            f"{detail}: it is not UTF-8 text",
            f"请求体无法解析：内容不是 UTF-8 编码的文本（{detail}: it is not UTF-8 text）",
        )
    if isinstance(cause, DuplicateKeyError):  # ours: its words name the key
        return f"{detail}: {cause.message_en}", f"请求体无法解析：{cause.message_zh}（{detail}）"
    if isinstance(cause, RecursionError):
        return (
            f"{detail}: its JSON is nested too deeply",
            f"请求体无法解析：JSON 嵌套层数过多（{detail}: its JSON is nested too deeply）",
        )
    return detail, f"请求体无法解析：内容不是可读取的 JSON 或表单（{detail}）"


async def _http(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    detail = str(exc.detail)
    if exc.status_code == 400 and multipart_header_too_long(exc):
        return await _lantu(request, file_name_too_long())
    said = body_error(detail, exc.__cause__) if exc.status_code == 400 else None
    if said is not None:
        en, zh = said
    else:
        en = detail
        zh = {404: "资源不存在", 405: "不支持该请求方法"}.get(exc.status_code, f"请求错误：{detail}")
    return problem(exc.status_code, "HTTPException", en, zh, request, headers=exc.headers)


async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
    fault = storage_error(exc)
    if fault is not None:
        log.error("storage fault on %s %s: %s", request.method, request.url.path, exc)
        return await _lantu(request, fault)
    log.error("unexpected error on %s %s", request.method, request.url.path, exc_info=exc)
    return problem(500, "InternalError", "internal error; it has been logged", "服务内部错误，已记录日志", request)


async def _gone(request: Request, exc: Exception) -> JSONResponse:
    """A client that closed its connection before its body was sent: no fault of the service, said in one log line
    (it was logged as an unexpected error, with a traceback of some 130 lines a request: a probe). The answer
    reaches no one."""
    log.info("client closed the connection during %s %s before its body was sent", request.method, request.url.path)
    return problem(
        400, "ClientDisconnect", "the connection closed before the body was sent", "请求体未发送完即断开连接", request
    )


def install(app: FastAPI) -> None:
    app.add_exception_handler(ClientDisconnect, _gone)  # before Exception: ExceptionMiddleware, which re-raises not
    app.add_exception_handler(LantuError, _lantu)
    app.add_exception_handler(RequestValidationError, _validation)
    app.add_exception_handler(StarletteHTTPException, _http)
    app.add_exception_handler(DBAPIError, _storage)
    app.add_exception_handler(OSError, _storage)
    app.add_exception_handler(Exception, _unexpected)
