"""Reviews: POST a parcel (JSON or upload), GET the result (as JSON, or as the signed file), its map and its report.

Parsing, size checks, the review and every rendering run in the work pool
(:mod:`api.work`), never on the event loop. A review records who created it; a
planner or a project system reads its own reviews, admins read all.

A paper (map, reports, opinion) is refused with 413 before any work is queued when
its review has more parcels than it can be rendered for within the work timeout
(``LANTU_MAX_PAPER_PARCELS``, ``LANTU_MAX_PAGE_PARCELS``); one key has at most
``Settings.renders_per_key()`` papers rendering or waiting at once (429), and a paper
that ran out of time is answered 503 at once for a while after (``paper``).
"""

from __future__ import annotations

import io
import json
import logging
import math
import re
import shutil
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Annotated, Any, BinaryIO, Literal, cast

import geopandas as gpd
from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.responses import HTMLResponse
from pydantic import BeforeValidator
from sqlalchemy import Connection, Engine
from starlette.datastructures import UploadFile

from api.access import record_owner
from api.deps import (
    BlueprintDep,
    EngineDep,
    PoolDep,
    ReadableReviewId,
    RenderCacheDep,
    SettingsDep,
    StoreDep,
    require,
)
from api.errors import (
    MAX_FILE_NAME_CHARS,
    UnsupportedMediaError,
    WorkTimeoutError,
    file_name_too_long,
    media_type,
)
from api.head import refuse_head
from api.jsonbody import JSONRoute
from api.keys import Principal
from api.negotiation import q_values
from api.render_cache import RenderCache
from api.settings import Settings
from api.work import Ticket, WorkPool, in_child, most_vertices, stoppable, timed_out
from geo.blueprint import Blueprint
from geo.errors import CRSError, FormatError, GeometryError, ReviewAborted, TooLargeError
from geo.geometry import check_size
from geo.io import SUPPORTED_SUFFIXES, features_geojson_text, parse_geojson_bytes, read_parcels
from geo.io.parcels import MAX_CRS_TEXT, ReadLimits, named_by
from geo.io.results import write_result_json
from geo.maps import map_html, review_map
from geo.opinion import opinion, opinion_docx, opinion_markdown
from geo.papers import DocumentNumber, Issuer, document_number
from geo.report import review_report
from geo.report_pdf import review_report_pdf
from geo.review import ReviewResult, review, review_cost
from geo.review.engine import as_applied
from geo.review.result import MAX_INVESTMENT_WAN, MAX_NAME_CHARS, plain_figure
from geo.signing import SigningKey, key_for_writing
from geo.store import ReviewStore, StoredResult
from geo.vocabulary import facilities, is_blank

log = logging.getLogger(__name__)
router = APIRouter(route_class=JSONRoute, tags=["reviews"])
PARSED_HERE_BYTES = 2 * 1024 * 1024  # a larger JSON body is parsed in a forked child (``in_child``)
PAPERS_HERE_PARCELS = 20  # a paper of a review of more parcels is rendered in a forked child (``_cached``)
FAILURE_REMEMBERED = 5  # × LANTU_WORK_TIMEOUT: a paper that ran out of time is answered 503 at once meanwhile
# a key's papers count against its cap (``Settings.renders_per_key``) above this many parcels: a paper of a few
# takes well under a second, and three at once are a planner opening the report, the map and the PDF
CAPPED_ABOVE_PARCELS = PAPERS_HERE_PARCELS
JSON_TYPES = ("application/json", "application/geo+json")
MAX_SENT_NAME = 100  # characters of a client's file name quoted back in a message
MAX_SUFFIX = 10  # a suffix longer than any we read is not kept when a long name is cut
SHAPEFILE_PARTS = (".shp", ".shx", ".dbf", ".prj", ".cpg")  # read together, so uploaded zipped
UPLOAD_SUFFIXES = tuple(s for s in SUPPORTED_SUFFIXES if s not in SHAPEFILE_PARTS)

REQUEST_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {
                "schema": {
                    "type": "object",
                    "description": "GeoJSON FeatureCollection, Feature or geometry; "
                    "project attributes (id, name, project_id, project_type, facility, investment_wan, route_km, "
                    "power_mw, major_project, redline_exempt) in each feature's properties",
                },
            },
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": ["file"],
                    "properties": {
                        "file": {
                            "type": "string",
                            "format": "binary",
                            "description": "zipped shapefile, GeoPackage, KML, GeoJSON or land-survey coordinate .txt",
                        }
                    },
                },
            },
        },
    }
}


@router.post(
    "/reviews",
    status_code=201,
    response_model=ReviewResult,
    openapi_extra=REQUEST_BODY,
    summary="Review parcels against the blueprint (十项落地可行性审查)",
)
async def create_review(
    request: Request,
    blueprint: BlueprintDep,
    store: StoreDep,
    settings: SettingsDep,
    pool: PoolDep,
    who: Annotated[Principal, Depends(require("review:create"))],
    profile: Annotated[str | None, Query(max_length=100, pattern=r"^[A-Za-z0-9_-]+$")] = None,
    name: Annotated[str | None, Query(max_length=MAX_NAME_CHARS, description="项目名称: the project's name")] = None,
    project_type: Annotated[str | None, Query(max_length=50)] = None,
    facility: Annotated[
        str | None, Query(max_length=50, description="工程类别 (highway, wind_farm…): implies the project type")
    ] = None,
    investment_wan: Annotated[
        float | None, Query(ge=0, le=MAX_INVESTMENT_WAN, allow_inf_nan=False), BeforeValidator(plain_figure)
    ] = None,
    major_project: bool | None = None,
    redline_exempt: bool | None = None,
    override: Annotated[
        bool,
        Query(description="true: these values replace the parcels' own; false: they fill only parcels that lack them"),
    ] = True,
    crs: Annotated[
        str | None,
        Query(
            max_length=MAX_CRS_TEXT,
            description="CRS of parcels that declare none: a DXF, a shapefile without .prj, GeoJSON without "
            "a crs member (GK coordinates); a CRS the upload declares is kept, with a warning where it differs",
        ),
    ] = None,
) -> Response:
    limits = ReadLimits(
        max_bytes=settings.max_extracted_bytes,
        max_parcels=settings.max_parcels,
        max_vertices=settings.max_vertices,
        max_text_bytes=settings.max_upload_bytes,  # no text, in a zip or not, larger than a body we take
    )
    overrides = {
        k: v
        for k, v in {
            "name": name,
            "project_type": project_type,
            "facility": facility,
            "investment_wan": investment_wan,
            "major_project": major_project,
            "redline_exempt": redline_exempt,
        }.items()
        if not is_blank(v)  # an empty field of a form (project_type=) gives no value, as an empty cell
    }
    # admitted before the body is read: waiting bodies are bounded, a key's share of them too
    async with pool.ticket(who.name) as ticket:
        frame, name = await _parcels_from_request(request, ticket, crs, limits, pool, settings)
        if not override:  # the file's own attributes win; the values fill the gaps
            frame, overrides = fill_missing(frame, overrides), {}
        with named_by(name, GeometryError, CRSError):  # the upload's shapes and coordinates, found at fault here
            review_id, body = await ticket.run(
                _review_and_save,
                frame,
                blueprint,
                store,
                profile or settings.profile,
                overrides,
                who,
                settings,
                pool.deadline(),
            )
    # serialised in the worker: a big result is not validated and encoded again on the event loop
    location = f"{request.url.path.rstrip('/')}/{review_id}"
    return Response(body, status_code=201, media_type="application/json", headers={"Location": location})


def _review_and_save(
    frame: gpd.GeoDataFrame,
    blueprint: Blueprint,
    store: ReviewStore,
    profile: str,
    project: dict[str, Any],
    who: Principal,
    settings: Settings,
    deadline: float,
) -> tuple[str, bytes]:
    """The review, run where it can be stopped at ``deadline`` when it is estimated costly (a child forked
    for it, which hands back the result serialised), then saved here: its id and JSON. Past ``deadline`` the
    client has had its 503 and no id: the review is not saved (its transaction rolls back), rather than kept
    where no one asked for it."""
    cost = review_cost(frame, blueprint, profile=profile, max_cost=settings.max_review_cost)

    def serialised() -> StoredResult:
        return StoredResult.of(review(frame, blueprint, profile=profile, project=project), outline=store.spatial)

    def in_time() -> None:
        if time.monotonic() > deadline:
            raise timed_out(settings.work_timeout)

    def owned_in_time(conn: Connection) -> None:  # checked again inside the transaction, just before it commits
        in_time()
        record_owner(conn, record.review_id, who)

    record = stoppable(serialised, cost=cost, vertices=most_vertices(frame), settings=settings, deadline=deadline)
    # the parcels as reviewed, the values given for all of them applied: a change check reads the project from them
    # (a 重大项目 claimed by a query field was lost, and the added strip of a highway failed 永久基本农田)
    geojson = features_geojson_text(frame.assign(**as_applied(project)) if project else frame)
    in_time()  # before anything is written
    saved = store.save_record(record, geojson, also=owned_in_time)
    return record.review_id, saved.encode()


def fill_missing(frame: gpd.GeoDataFrame, values: dict[str, Any]) -> gpd.GeoDataFrame:
    """``values`` for the parcels whose own attribute is absent or empty (a copy; the rest kept). A 工程类别 implies
    its project type: a parcel's own facility keeps the type it implies (none is filled in beside it), and a
    facility fills only parcels of its type or of none (a batch's factory is no wind farm: it was refused, 422)."""
    out = frame.copy()
    own = {key: _column(out, key) for key in ("project_type", "facility")}
    implied = facilities().get(str(values.get("facility")))

    def keeps(key: str, i: int, value: Any) -> bool:
        if not is_blank(value):
            return True
        if key == "project_type":  # its own facility implies its type
            return not is_blank(own["facility"][i])
        if key == "facility" and implied is not None and not is_blank(own["project_type"][i]):
            return str(own["project_type"][i]).strip() != implied.project_type  # a work of another type
        return False

    for key, value in values.items():
        out[key] = [v if keeps(key, i, v) else value for i, v in enumerate(_column(out, key))]
    return out


def _column(frame: gpd.GeoDataFrame, key: str) -> list[Any]:
    """A column's values as objects, or Nones where the frame has none."""
    return frame[key].astype(object).tolist() if key in frame.columns else [None] * len(frame)


def _parse_json(data: bytes, crs: str | None, limits: ReadLimits) -> gpd.GeoDataFrame:
    frame = parse_geojson_bytes(data, limits=limits, crs=crs)
    return check_size(frame, max_parcels=limits.max_parcels, max_vertices=limits.max_vertices)


def file_name(filename: str | None) -> str:
    """An upload's file name without the folders a browser on Windows may send with it (C:\\Users\\…\\地块.zip)."""
    return re.split(r"[/\\]", filename or "")[-1]


def sent_name(filename: str | None) -> str | None:
    """The client's name for its file as a message may quote it: the base name alone (a browser on Windows
    may send the whole path), printable characters only (no escape sequence or bidi override reaches the
    page or terminal that shows the message), at most ``MAX_SENT_NAME`` of them, the suffix kept; None when
    nothing is left."""
    base = file_name(filename)
    name = "".join(c if c.isprintable() else " " if c.isspace() else "" for c in base).strip()
    if len(name) > MAX_SENT_NAME:
        suffix = Path(name).suffix if len(Path(name).suffix) <= MAX_SUFFIX else ""
        name = f"{name[: MAX_SENT_NAME - 1 - len(suffix)]}…{suffix}"
    return name or None


def upload_suffix(name: str) -> str:
    """The suffix of an upload's name, in lower case: a name that is a suffix alone (``.zip``, a dot-file to
    ``Path``, which finds it no suffix) is its own."""
    return (Path(name).suffix or (name if name.startswith(".") else "")).lower()


def _read_upload(
    source: BinaryIO, name: str, crs: str | None, limits: ReadLimits, settings: Settings, deadline: float
) -> gpd.GeoDataFrame:
    """An upload saved under a name of ours, then read in a child forked for it (``in_child``): a file on
    which its reader hangs is stopped at the work timeout, and one on which it crashes (a damaged
    GeoPackage in GDAL, say) ends that child, not the server. The file is removed here, whatever the
    child's end. Messages call it ``name``, the client's (``sent_name``), never ours."""
    suffix = upload_suffix(name)
    with tempfile.TemporaryDirectory(prefix="lantu-upload-") as tmp:
        path = Path(tmp) / f"upload{suffix}"  # never the client's file name
        with path.open("wb") as out:
            shutil.copyfileobj(source, out, 1024 * 1024)
        try:
            return in_child(partial(_read_file, path, name, crs, limits), settings=settings, deadline=deadline)
        except ReviewAborted as ended:
            log.warning("an upload (%s) ended the child reading it: %s", suffix, ended)
            raise FormatError(
                f"{name} could not be read: the process reading it ended without a result (a damaged file?)",
                f"{name} 无法读取：读取进程意外退出（文件是否损坏？）",
            ) from None


def _read_file(path: Path, name: str, crs: str | None, limits: ReadLimits) -> gpd.GeoDataFrame:
    frame = read_parcels(path, crs=crs, limits=limits, shown=name)
    return check_size(frame, max_parcels=limits.max_parcels, max_vertices=limits.max_vertices)


async def _parcels_from_request(
    request: Request, ticket: Ticket, crs: str | None, limits: ReadLimits, pool: WorkPool, settings: Settings
) -> tuple[gpd.GeoDataFrame, str | None]:
    """The parcels sent, and the name of the file they came in (None for a JSON body)."""
    ctype = media_type(request)
    if ctype in JSON_TYPES:
        data = await request.body()
        if len(data) <= PARSED_HERE_BYTES:
            return await ticket.run(_parse_json, data, crs, limits), None
        # parsed in a child (its deadline from now, the body read): a large body's parse holds the GIL, and
        # the event loop with it (a circle of 199,000 vertices, 8.2 MB: 0.6 s)
        parse = partial(_parse_json, data, crs, limits)
        return await ticket.run(in_child, parse, settings=settings, deadline=pool.deadline()), None
    if ctype == "multipart/form-data":
        async with request.form(max_files=1, max_fields=20) as form:
            upload = form.get("file")
            if isinstance(upload, str):  # a part without filename="…" is a text field to Starlette
                raise FormatError(
                    "the 'file' part names no file: give it filename=\"…\" (its type is read from the name; "
                    "filename*= is not used in multipart/form-data, RFC 7578 4.2)",
                    'file 字段没有文件名：请用 filename="…" 给出（按文件扩展名识别格式；'
                    "multipart/form-data 不使用 filename*=，见 RFC 7578 第 4.2 节）",
                )
            if not isinstance(upload, UploadFile):
                raise FormatError("the multipart body needs a 'file' part", "上传请求缺少 file 字段")
            if len(base := file_name(upload.filename)) > MAX_FILE_NAME_CHARS:
                raise file_name_too_long(len(base))
            name = sent_name(upload.filename)
            if name is not None and upload_suffix(name) in SHAPEFILE_PARTS:
                raise FormatError(
                    f"{name}: upload a shapefile zipped with its .shx, .dbf and .prj (.zip)",
                    f"{name}：shapefile 须连同其 .shx、.dbf 和 .prj 文件打包为 .zip 上传",
                )
            if name is None or upload_suffix(name) not in UPLOAD_SUFFIXES:
                raise FormatError(
                    f"{name or 'the uploaded file'}: unsupported file type; use one of {', '.join(UPLOAD_SUFFIXES)}",
                    f"{name or '上传的文件'}：不支持的文件类型；支持：{'、'.join(UPLOAD_SUFFIXES)}",
                )
            await upload.seek(0)
            frame = await ticket.run(_read_upload, upload.file, name, crs, limits, settings, pool.deadline())
            return frame, name
    raise UnsupportedMediaError(
        f"content type {ctype or 'none'!r} is not accepted; send GeoJSON (application/json) or multipart/form-data",
        f"不支持的内容类型 {ctype or '无'!r}；请发送 GeoJSON（application/json）或 multipart/form-data 上传",
    )


@router.get("/reviews/{review_id}", response_model=ReviewResult, summary="A stored review")
def get_review(review_id: ReadableReviewId, store: StoreDep) -> ReviewResult:
    return store.get(review_id)


@router.get(
    "/reviews/{review_id}/result.json",
    response_model=ReviewResult,
    summary="The review as a signed file (审查结果文件), as `lantu review -o` writes it",
    description="The stored review laid out as `lantu review -f json` writes it, ending with the member "
    '`"signature": {"algorithm": "HMAC-SHA256", "key_id", "value"}` (geo.signing) under the key of this '
    "installation (LANTU_SIGNING_KEY, else the key file), so that `lantu quota reserve`, `allocate` and "
    "`consult start` verify it where they hold the same key. Sent as an attachment; a file changed after it was "
    "sent is refused. Where the service has no usable key the file is unsigned (said in the log). The review's "
    "API JSON (`GET /api/v1/reviews/{review_id}`) is unsigned.",
)
def download_review(review_id: ReadableReviewId, store: StoreDep, settings: SettingsDep) -> Response:
    result = store.get(review_id)
    out = io.StringIO()
    write_result_json(result, [result.parcels], out, key=signing_key(settings))
    return Response(
        out.getvalue().encode("utf-8"),
        media_type="application/json",
        headers={"Content-Disposition": f'attachment; filename="review-{review_id}.json"'},
    )


def signing_key(settings: Settings) -> SigningKey | None:
    """The key the service signs review files with, as ``lantu review`` finds its own
    (:func:`geo.signing.installation_key`: ``LANTU_SIGNING_KEY``, else the key file, made on first use). One that
    cannot be used, or no place for one, is logged and the file served unsigned, as the command writes it."""
    key, unsigned = key_for_writing(settings.signing_secret(), settings.signing_key_file)
    if unsigned is not None:
        log.warning("a review file is served unsigned: %s", unsigned)
    elif key is not None and key.created:
        log.info("signing key created: %s (key_id %s)", key.source, key.key_id)
    return key


PaperKind = Literal["map", "report", "pdf", "opinion-markdown", "opinion-docx", "opinion-json"]
PRINTED: frozenset[str] = frozenset({"pdf"})  # laid out page by page by ReportLab: LANTU_MAX_PAPER_PARCELS
PAPER_NAMES: dict[PaperKind, tuple[str, str]] = {  # kind → (English, 中文)
    "map": ("map", "结果地图"),
    "report": ("HTML report", "HTML 审查报告"),
    "pdf": ("PDF report", "PDF 审查报告"),
    "opinion-markdown": ("Markdown opinion", "Markdown 审查意见"),
    "opinion-docx": ("Word opinion", "Word 审查意见"),
    "opinion-json": ("opinion as JSON", "JSON 审查意见"),
}


@dataclass(frozen=True)
class PaperReview:
    """A review a caller may read, the parcels it holds and who asks for its paper."""

    review_id: str
    parcels: int
    who: Principal


def counted(cache: RenderCache, review_id: str, count: Callable[[], int]) -> int:
    """The parcels of a review, ``count``-ed once and kept in the render cache (a review never changes)."""
    key = f"parcels|{review_id}"
    hit = cache.get(key)
    if hit is not None:
        return int(hit)
    found = count()
    cache.put(key, str(found).encode())
    return found


def paper_review(
    request: Request,
    review_id: ReadableReviewId,
    store: StoreDep,
    cache: RenderCacheDep,
    who: Annotated[Principal, Depends(require("review:read"))],
) -> PaperReview:
    """The review whose paper is asked for, counted on a request thread (a plain ``def``), outside the pool; a
    ``HEAD`` refused once it is found (``refuse_head``)."""
    found = PaperReview(review_id, counted(cache, review_id, lambda: store.parcel_count(review_id)), who)
    refuse_head(request.scope)
    return found


PaperReviewDep = Annotated[PaperReview, Depends(paper_review)]


def paper_limit(kind: PaperKind, settings: Settings) -> int:
    """The most parcels a review may have for its ``kind`` of paper: the PDF takes longest."""
    return settings.max_paper_parcels if kind in PRINTED else settings.max_page_parcels


def check_paper_size(kind: PaperKind, review: PaperReview, settings: Settings) -> None:
    """Refuse (413) a paper of a review with more parcels than it can be rendered for within the work timeout,
    saying what the caller can have instead."""
    limit = paper_limit(kind, settings)
    if review.parcels <= limit:
        return
    setting = "LANTU_MAX_PAPER_PARCELS" if kind in PRINTED else "LANTU_MAX_PAGE_PARCELS"
    rid, n = review.review_id, review.parcels
    en, zh = PAPER_NAMES[kind]
    others = [k for k in PAPER_NAMES if k != kind and n <= paper_limit(k, settings)]
    instead_en = "".join(f", its {PAPER_NAMES[k][0]}" for k in others)
    instead_zh = "".join(f"、{PAPER_NAMES[k][1]}" for k in others)
    raise TooLargeError(
        f"review {rid} has {n:,} parcels; its {en} is rendered for at most {limit:,} ({setting}). Read the "
        f"review as JSON (GET /api/v1/reviews/{rid}){instead_en}, or review at most {limit:,} parcels per "
        "request and ask for each review's paper",
        f"审查 {rid} 含 {n:,} 个地块，{zh}最多生成 {limit:,} 个地块（{setting}）。请改取审查结果 JSON"
        f"（GET /api/v1/reviews/{rid}）{instead_zh}，或分批提交，每次审查不超过 {limit:,} 个地块后分别获取文书",
    )


async def paper(
    kind: str,
    review: PaperReview,
    settings: Settings,
    pool: WorkPool,
    cache: RenderCache,
    render: Callable[..., bytes],
    *args: Any,
    names: tuple[str, str] | None = None,
) -> bytes:
    """``render(*args)`` in the pool, for a paper its route has found small enough (``check_paper_size``: 413
    before any work is queued), unless it is remembered as having run out of time (503 at once) or the caller's
    key has no place left for it (429 at once: one key cannot hold every worker with papers). A paper that runs
    out of time is remembered for ``FAILURE_REMEMBERED`` timeouts: a retry meanwhile would only hold a worker as
    long. ``names``: the paper's, English and Chinese (a review's paper: its ``kind``'s)."""
    failure = f"failed|{kind}|{review.review_id}"
    left = cache.failed(failure)
    if left:
        en, zh = names or PAPER_NAMES[cast(PaperKind, kind)]
        raise WorkTimeoutError(
            f"the {en} of review {review.review_id} took longer than {settings.work_timeout:.0f} s a moment ago; "
            "retry later, or read the review as JSON",
            f"审查 {review.review_id} 的{zh}刚才生成超过 {settings.work_timeout:.0f} 秒上限；"
            "请稍后重试，或改取审查结果 JSON",
            retry_after=math.ceil(left),
        )
    if review.parcels <= CAPPED_ABOVE_PARCELS:
        return await _remembered(failure, settings, cache, pool.run(render, *args))
    async with pool.keyed(review.who.name, cap=settings.renders_per_key()):
        return await _remembered(failure, settings, cache, pool.run(render, *args))


async def _remembered(failure: str, settings: Settings, cache: RenderCache, rendering: Awaitable[bytes]) -> bytes:
    """The paper ``rendering`` makes; one that runs out of time is remembered for ``FAILURE_REMEMBERED`` timeouts."""
    try:
        return await rendering
    except WorkTimeoutError:
        cache.fail(failure, seconds=FAILURE_REMEMBERED * settings.work_timeout)
        raise


def _cached(
    cache: RenderCache,
    kind: str,
    store: ReviewStore,
    review_id: str,
    render: Callable[[ReviewResult], bytes],
    *extra: object,
    settings: Settings,
    deadline: float,
    forked: bool = False,
) -> bytes:
    """A paper of the review, from the cache or rendered: in a child forked for it (``in_child``, stopped at
    ``deadline`` with the worker free) where asked (``forked``) or where the review has more parcels than
    ``PAPERS_HERE_PARCELS`` — a paper grows with its parcels (2,000 parcels: a PDF 47 s quiet, 110 s
    loaded), and a thread cannot be stopped at the 503."""
    result = store.get(review_id)
    key = RenderCache.key(kind, review_id, result.model_dump_json(), *extra)
    hit = cache.get(key)
    if hit is not None:
        return hit
    if forked or len(result.parcels) > PAPERS_HERE_PARCELS:
        out = in_child(partial(render, result), settings=settings, deadline=deadline)
    else:
        out = render(result)
    cache.put(key, out)
    return out


def _render_map(
    cache: RenderCache, store: ReviewStore, review_id: str, blueprint: Blueprint, settings: Settings, deadline: float
) -> bytes:
    def render(result: ReviewResult) -> bytes:
        fmap = review_map(
            result, blueprint, tiles=settings.tiles, tianditu_key=settings.tianditu_key, assets="/static/leaflet"
        )
        return map_html(fmap).encode()

    extra = (id(blueprint), settings.tiles, settings.tianditu_key)
    return _cached(cache, "map", store, review_id, render, *extra, settings=settings, deadline=deadline)


@router.get("/reviews/{review_id}/map", response_class=HTMLResponse, summary="The review on a Folium map")
async def get_review_map(
    review: PaperReviewDep,
    store: StoreDep,
    blueprint: BlueprintDep,
    settings: SettingsDep,
    pool: PoolDep,
    cache: RenderCacheDep,
) -> HTMLResponse:
    rendering = (cache, store, review.review_id, blueprint, settings, pool.deadline())
    check_paper_size("map", review, settings)
    return HTMLResponse(await paper("map", review, settings, pool, cache, _render_map, *rendering))


def _papers(engine: Engine, review_id: str, settings: Settings) -> tuple[Issuer, DocumentNumber]:
    """The issuing unit and the review's document number (the next of the year on its first paper)."""
    issuer = settings.issuer()
    return issuer, document_number(engine, review_id, issuer)


def _render_pdf(
    cache: RenderCache,
    store: ReviewStore,
    engine: Engine,
    review_id: str,
    blueprint: Blueprint,
    settings: Settings,
    deadline: float,
) -> bytes:
    """The review's PDF, laid out in a child forked for it however small the review: ReportLab's layout grows
    faster than its text (a 400,000-character warning took 31 s)."""
    store.get(review_id)  # an unknown review is a 404 before it takes a number
    issuer, number = _papers(engine, review_id, settings)

    def render(result: ReviewResult) -> bytes:
        synthetic = blueprint.synthetic
        return review_report_pdf(result, synthetic=synthetic, blueprint=blueprint, issuer=issuer, number=number)

    extra = (id(blueprint), repr(issuer), number.text)
    return _cached(cache, "pdf", store, review_id, render, *extra, settings=settings, deadline=deadline, forked=True)


@router.get(
    "/reviews/{review_id}/report.pdf",
    response_class=Response,
    responses={200: {"content": {"application/pdf": {}}}},
    summary="The report as PDF (审查报告)",
)
async def get_review_report_pdf(
    review: PaperReviewDep,
    store: StoreDep,
    engine: EngineDep,
    blueprint: BlueprintDep,
    settings: SettingsDep,
    pool: PoolDep,
    cache: RenderCacheDep,
) -> Response:
    review_id = review.review_id
    rendering = (cache, store, engine, review_id, blueprint, settings, pool.deadline())
    check_paper_size("pdf", review, settings)
    pdf = await paper("pdf", review, settings, pool, cache, _render_pdf, *rendering)
    return Response(
        pdf, media_type="application/pdf", headers={"Content-Disposition": f'inline; filename="review-{review_id}.pdf"'}
    )


def _render_report(
    cache: RenderCache,
    store: ReviewStore,
    engine: Engine,
    review_id: str,
    blueprint: Blueprint,
    settings: Settings,
    deadline: float,
) -> bytes:
    store.get(review_id)
    issuer, number = _papers(engine, review_id, settings)

    def render(result: ReviewResult) -> bytes:
        return review_report(
            result,
            synthetic=blueprint.synthetic,
            blueprint=blueprint,
            issuer=issuer,
            number=number,
            map_url=f"/api/v1/reviews/{review_id}/map",
            pdf_url=f"/api/v1/reviews/{review_id}/report.pdf",
        ).encode()

    extra = (id(blueprint), repr(issuer), number.text)
    return _cached(cache, "report", store, review_id, render, *extra, settings=settings, deadline=deadline)


@router.get("/reviews/{review_id}/report", response_class=HTMLResponse, summary="Printable report (审查报告)")
async def get_review_report(
    review: PaperReviewDep,
    store: StoreDep,
    engine: EngineDep,
    blueprint: BlueprintDep,
    settings: SettingsDep,
    pool: PoolDep,
    cache: RenderCacheDep,
) -> HTMLResponse:
    rendering = (cache, store, engine, review.review_id, blueprint, settings, pool.deadline())
    check_paper_size("report", review, settings)
    return HTMLResponse(await paper("report", review, settings, pool, cache, _render_report, *rendering))


DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
OpinionFormat = Literal["markdown", "docx", "json"]
OPINION_TYPES: dict[str, str] = {"markdown": "text/markdown; charset=utf-8", "docx": DOCX, "json": "application/json"}


def _opinion_format(accept: str) -> OpinionFormat:
    """The format an ``Accept`` header prefers: the one of highest weight (RFC 9110 q-values), one it names before
    one a range (``*/*``, ``application/*``) covers; Word, then Markdown, then JSON among those it names alike,
    Markdown, then JSON, then Word among those a range covers alike; Markdown where none weighs above 0. Weights
    were not read: Word at ``q=0`` came back Word (a probe)."""
    q = q_values(accept)

    def rank(kind: OpinionFormat) -> tuple[float, bool, int]:
        media = OPINION_TYPES[kind].split(";")[0]
        named = media in q
        weight = q[media] if named else q.get(media.split("/")[0] + "/*", q.get("*/*", 0.0))
        return weight, named, (NAMED_ORDER if named else RANGE_ORDER).index(kind)

    best = max(NAMED_ORDER, key=rank)
    return best if rank(best)[0] > 0 else "markdown"


NAMED_ORDER: list[OpinionFormat] = ["json", "markdown", "docx"]  # the last is the first choice
RANGE_ORDER: list[OpinionFormat] = ["docx", "json", "markdown"]  # a range alone: text before a Word file


def _render_opinion(
    cache: RenderCache,
    store: ReviewStore,
    engine: Engine,
    review_id: str,
    blueprint: Blueprint,
    settings: Settings,
    kind: OpinionFormat,
    deadline: float,
) -> bytes:
    store.get(review_id)
    issuer, number = _papers(engine, review_id, settings)

    def render(result: ReviewResult) -> bytes:
        drafted = opinion(
            result,
            issuer=issuer,
            number=number,
            data_dir=settings.data_dir,
            synthetic=blueprint.synthetic,
            blueprint=blueprint,
        )
        if kind == "docx":
            return opinion_docx(drafted)
        if kind == "json":
            return json.dumps(drafted.as_dict(), ensure_ascii=False).encode()
        return opinion_markdown(drafted).encode()

    extra = (id(blueprint), repr(issuer), number.text)
    return _cached(cache, f"opinion-{kind}", store, review_id, render, *extra, settings=settings, deadline=deadline)


@router.get(
    "/reviews/{review_id}/opinion",
    response_class=Response,
    responses={200: {"content": {"text/markdown": {}, DOCX: {}, "application/json": {}}}},
    summary="The drafted 审查意见: Markdown, Word (DOCX) or JSON, by ?format= or Accept",
)
async def get_review_opinion(
    request: Request,
    review: PaperReviewDep,
    store: StoreDep,
    engine: EngineDep,
    blueprint: BlueprintDep,
    settings: SettingsDep,
    pool: PoolDep,
    cache: RenderCacheDep,
    fmt: Annotated[OpinionFormat | None, Query(alias="format", description="markdown, docx or json")] = None,
) -> Response:
    kind = fmt or _opinion_format(request.headers.get("accept", ""))
    review_id = review.review_id
    rendering = (cache, store, engine, review_id, blueprint, settings, kind, pool.deadline())
    which: PaperKind = "opinion-docx" if kind == "docx" else "opinion-json" if kind == "json" else "opinion-markdown"
    check_paper_size(which, review, settings)
    body = await paper(which, review, settings, pool, cache, _render_opinion, *rendering)
    headers = {"Vary": "Accept"}
    if kind == "docx":
        headers["Content-Disposition"] = f'attachment; filename="opinion-{review_id}.docx"'
    return Response(body, media_type=OPINION_TYPES[kind], headers=headers)
