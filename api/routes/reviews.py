"""Reviews: POST a parcel (JSON or upload), GET the result, its map and its report."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse
from starlette.datastructures import UploadFile

from api.deps import BlueprintDep, SettingsDep, StoreDep, require
from api.errors import UnsupportedMediaError
from geo.errors import FormatError
from geo.geometry import check_size
from geo.io import SUPPORTED_SUFFIXES, parse_geojson_bytes, read_parcels
from geo.maps import map_html, review_map
from geo.report import review_report
from geo.report_pdf import review_report_pdf
from geo.review import ReviewResult, review

router = APIRouter(tags=["reviews"])
JSON_TYPES = ("application/json", "application/geo+json")

REQUEST_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {
                "schema": {
                    "type": "object",
                    "description": "GeoJSON FeatureCollection, Feature or geometry; "
                    "project attributes (id, name, project_type, investment_wan, major_project, "
                    "redline_exempt) in each feature's properties",
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
    response: Response,
    blueprint: BlueprintDep,
    store: StoreDep,
    settings: SettingsDep,
    _who: Annotated[object, Depends(require("review:create"))],
    profile: Annotated[str | None, Query(max_length=100, pattern=r"^[A-Za-z0-9_-]+$")] = None,
    project_type: Annotated[str | None, Query(max_length=50)] = None,
    investment_wan: Annotated[float | None, Query(ge=0, le=1e9)] = None,
    major_project: bool | None = None,
    redline_exempt: bool | None = None,
    crs: Annotated[
        str | None, Query(max_length=64, description="CRS of an upload that cannot declare one (DXF)")
    ] = None,
) -> ReviewResult:
    frame = check_size(
        await _parcels_from_request(request, crs), max_parcels=settings.max_parcels, max_vertices=settings.max_vertices
    )
    overrides = {
        k: v
        for k, v in {
            "project_type": project_type,
            "investment_wan": investment_wan,
            "major_project": major_project,
            "redline_exempt": redline_exempt,
        }.items()
        if v is not None
    }
    result = await run_in_threadpool(review, frame, blueprint, profile=profile or settings.profile, project=overrides)
    await run_in_threadpool(store.save, result, frame.to_crs(4490).__geo_interface__)
    response.headers["Location"] = f"{request.url.path.rstrip('/')}/{result.review_id}"
    return result


async def _parcels_from_request(request: Request, crs: str | None) -> Any:
    ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if ctype in JSON_TYPES:
        return parse_geojson_bytes(await request.body())
    if ctype == "multipart/form-data":
        async with request.form(max_files=1, max_fields=20) as form:
            upload = form.get("file")
            if not isinstance(upload, UploadFile):
                raise FormatError("the multipart body needs a 'file' part", "上传请求缺少 file 字段")
            suffix = Path(upload.filename or "").suffix.lower()
            if suffix not in SUPPORTED_SUFFIXES:
                raise FormatError(
                    f"unsupported upload {upload.filename!r}; use one of {', '.join(SUPPORTED_SUFFIXES)}",
                    f"不支持的上传文件 {upload.filename!r}",
                )
            data = await upload.read()
        with tempfile.TemporaryDirectory(prefix="lantu-upload-") as tmp:
            path = Path(tmp) / f"upload{suffix}"  # never the client's file name
            path.write_bytes(data)
            return await run_in_threadpool(lambda: read_parcels(path, crs=crs))
    raise UnsupportedMediaError(
        f"content type {ctype or 'none'!r} is not accepted; send GeoJSON (application/json) or multipart/form-data",
        f"不支持的内容类型 {ctype or '无'!r}；请发送 GeoJSON（application/json）或 multipart/form-data 上传",
    )


@router.get("/reviews/{review_id}", response_model=ReviewResult, summary="A stored review")
def get_review(
    review_id: str, store: StoreDep, _who: Annotated[object, Depends(require("review:read"))]
) -> ReviewResult:
    return store.get(review_id)


@router.get("/reviews/{review_id}/map", response_class=HTMLResponse, summary="The review on a Folium map")
def get_review_map(
    review_id: str,
    store: StoreDep,
    blueprint: BlueprintDep,
    settings: SettingsDep,
    _who: Annotated[object, Depends(require("review:read"))],
) -> HTMLResponse:
    result = store.get(review_id)
    fmap = review_map(
        result, blueprint, tiles=settings.tiles, tianditu_key=settings.tianditu_key, assets="/static/leaflet"
    )
    return HTMLResponse(map_html(fmap))


@router.get(
    "/reviews/{review_id}/report.pdf",
    response_class=Response,
    responses={200: {"content": {"application/pdf": {}}}},
    summary="The report as PDF (审查报告)",
)
def get_review_report_pdf(
    review_id: str, store: StoreDep, blueprint: BlueprintDep, _who: Annotated[object, Depends(require("review:read"))]
) -> Response:
    pdf = review_report_pdf(store.get(review_id), synthetic=blueprint.synthetic)
    return Response(
        pdf, media_type="application/pdf", headers={"Content-Disposition": f'inline; filename="review-{review_id}.pdf"'}
    )


@router.get("/reviews/{review_id}/report", response_class=HTMLResponse, summary="Printable report (审查报告)")
def get_review_report(
    review_id: str,
    store: StoreDep,
    blueprint: BlueprintDep,
    _who: Annotated[object, Depends(require("review:read"))],
) -> HTMLResponse:
    return HTMLResponse(
        review_report(
            store.get(review_id),
            synthetic=blueprint.synthetic,
            map_url=f"/api/v1/reviews/{review_id}/map",
            pdf_url=f"/api/v1/reviews/{review_id}/report.pdf",
        )
    )
