"""Project library endpoints (项目库): add, list, stage, history, linked reviews, 应开未开.

Reading needs ``quota:read``; entering projects, moving stages and linking reviews need
``quota:reserve`` (the project system's role), as the library is the ledger's front door.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, Field
from sqlalchemy import Engine

from api.access import check_can_read, review_ids_shown
from api.deps import WRITE, EngineDep, StoreDep, require
from api.errors import ForbiddenError
from api.jsonbody import JSONRoute
from api.keys import Principal
from geo.errors import InputError, NotFoundError
from geo.projects import LEVELS, STAGES, ProjectLibrary
from geo.projects.library import MAX_REASON_CHARS
from geo.review.result import MAX_ID_CHARS
from geo.vocabulary import first_few, project_types

router = APIRouter(route_class=JSONRoute, prefix="/projects", tags=["projects"])
Reader = Annotated[Principal, Depends(require("quota:read"))]
Writer = Annotated[Principal, Depends(require("quota:reserve"))]


def _library(engine: EngineDep) -> ProjectLibrary:
    return ProjectLibrary(engine)


LibraryDep = Annotated[ProjectLibrary, Depends(_library)]


class ProjectIn(BaseModel):
    model_config = WRITE

    id: str = Field(min_length=1, max_length=64)
    name: str = Field(min_length=1, max_length=200)
    project_type: str = Field(max_length=50, description=f"one of {', '.join(project_types())}")
    level: str = Field(max_length=16, description="/".join(LEVELS))
    county: str = Field(max_length=32, description="county code registered in the ledger")
    stage: str = Field(default="谋划", max_length=8, description="/".join(STAGES[:5]))
    start_by: date | None = Field(default=None, description="planned start (计划开工)")


class ProjectOut(BaseModel):
    id: str
    name: str
    project_type: str
    type_zh: str
    level: str
    county: str
    stage: str
    start_by: str | None
    created: str
    actor: str


class StageChangeOut(BaseModel):
    project_id: str
    from_stage: str | None
    to_stage: str
    at: str
    actor: str
    reason: str


class ReviewLinkOut(BaseModel):
    project_id: str
    review_id: str | None = Field(description="null where the caller may not read the review (SECURITY.md)")
    parcel_id: str
    linked: str
    actor: str


class ProjectDetail(ProjectOut):
    history: list[StageChangeOut]
    reviews: list[ReviewLinkOut]


class OverdueOut(ProjectOut):
    days_overdue: int


class StageIn(BaseModel):
    model_config = WRITE

    stage: str = Field(max_length=8, description="/".join(STAGES))
    reason: str = Field(default="项目阶段变更", min_length=1, max_length=MAX_REASON_CHARS)


class LinkIn(BaseModel):
    model_config = WRITE

    review_id: str = Field(max_length=64)
    parcel_id: str | None = Field(  # a review's parcel ids run to MAX_ID_CHARS, as the link table keeps them
        default=None, max_length=MAX_ID_CHARS, description="needed when the review has several"
    )


@router.get("", response_model=list[ProjectOut], summary="Projects of the library")
def list_projects(
    library: LibraryDep,
    _who: Reader,
    county: Annotated[str | None, Query(max_length=32)] = None,
    stage: Annotated[str | None, Query(max_length=8)] = None,
) -> list[dict[str, Any]]:
    return [p.row() for p in library.projects(county=county, stage=stage)]


@router.post("", status_code=201, response_model=ProjectOut, summary="入库: enter a project")
async def add_project(body: ProjectIn, library: LibraryDep, who: Writer) -> dict[str, Any]:
    project = await run_in_threadpool(
        lambda: library.add(
            body.id,
            name=body.name,
            project_type=body.project_type,
            level=body.level,
            county=body.county,
            stage=body.stage,
            start_by=body.start_by,
            actor=who.name,
        )
    )
    return project.row()


@router.get("/overdue", response_model=list[OverdueOut], summary="应开未开: past the planned start, not started")
def overdue(library: LibraryDep, _who: Reader, as_of: Annotated[date, Query()]) -> list[dict[str, Any]]:
    return library.overdue(as_of)


@router.get("/{project_id}", response_model=ProjectDetail, summary="A project with its history and reviews")
def get_project(project_id: str, library: LibraryDep, engine: EngineDep, who: Reader) -> dict[str, Any]:
    return {
        **library.get(project_id).row(),
        "history": [c.row() for c in library.history(project_id)],
        "reviews": review_ids_shown(engine, who, [r.row() for r in library.reviews(project_id)]),
    }


@router.post("/{project_id}/stage", response_model=ProjectOut, summary="Move to the next stage (or 撤销)")
async def set_stage(project_id: str, body: StageIn, library: LibraryDep, who: Writer) -> dict[str, Any]:
    project = await run_in_threadpool(
        lambda: library.set_stage(project_id, body.stage, actor=who.name, reason=body.reason)
    )
    return project.row()


@router.post(
    "/{project_id}/reviews", status_code=201, response_model=ReviewLinkOut, summary="Link a stored review's parcel"
)
async def link_review(
    project_id: str, body: LinkIn, library: LibraryDep, store: StoreDep, engine: EngineDep, who: Writer
) -> dict[str, Any]:
    result = store.get(body.review_id)
    # the project system links the reviews its planners made, as it reserves for them (SECURITY.md): it may not
    # read them, so a refusal does not list their parcels
    shown = await run_in_threadpool(_may_read, engine, body.review_id, who)
    parcel = _parcel_to_link(body.review_id, [p.id for p in result.parcels], body.parcel_id, shown=shown)
    link = await run_in_threadpool(lambda: library.link_review(project_id, body.review_id, parcel, actor=who.name))
    return link.row()


def _may_read(engine: Engine, review_id: str, who: Principal) -> bool:
    try:
        check_can_read(engine, review_id, who)
    except (ForbiddenError, NotFoundError):
        return False
    return True


def _parcel_to_link(review_id: str, ids: list[str], parcel_id: str | None, *, shown: bool = True) -> str:
    """The parcel of ``review_id`` to link: ``parcel_id``, or the review's only parcel. Without ``parcel_id`` a
    review of several parcels is a request missing a field (422); a ``parcel_id`` the review does not hold is not
    found (404); each names a few of its parcels where the caller may read the review (``shown``)."""
    if not ids:
        raise NotFoundError(f"review {review_id} has no parcel to link", f"审查 {review_id} 中没有可关联的地块")
    few_en, few_zh = (f" ({first_few(ids)})", f"（{first_few(ids)}）") if shown else ("", "")
    if parcel_id is None:
        if len(ids) == 1:
            return ids[0]
        raise InputError(
            f"review {review_id} has {len(ids)} parcels{few_en}: parcel_id is required to say which to link",
            f"审查 {review_id} 有 {len(ids)} 个地块{few_zh}，须以 parcel_id 指定要关联的地块",
        )
    if parcel_id not in ids:
        raise NotFoundError(
            f"review {review_id} has no parcel {parcel_id!r}" + (f"; its parcels: {first_few(ids)}" if shown else ""),
            f"审查 {review_id} 中没有地块 {parcel_id!r}" + (f"，其地块为：{first_few(ids)}" if shown else ""),
        )
    return parcel_id
