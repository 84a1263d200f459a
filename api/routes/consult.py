"""业务协同 endpoints: start a round on a stored review, department answers, the 问题清单, overdue tasks,
the consolidated 预审意见 and a page per project.

A ``department`` key is bound to one department (``api_key_departments``): every listing it
reads is narrowed to that department's tasks, and it may answer only those (403 otherwise).
Webhook events are delivered after the response, from the outbox (:mod:`geo.consult.webhooks`).
"""

from __future__ import annotations

import contextlib
from datetime import date
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Any, Literal

from fastapi import APIRouter, BackgroundTasks, Depends, Query, Request
from fastapi import Path as PathParam
from fastapi.responses import HTMLResponse, PlainTextResponse
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import Engine

from api.access import SEE_ALL_ROLES, check_can_read
from api.deps import WRITE, BlueprintDep, EngineDep, PoolDep, RenderCacheDep, SettingsDep, StoreDep, require
from api.errors import ForbiddenError
from api.head import refuse_head
from api.jsonbody import JSONRoute
from api.keys import Principal, key_department
from api.routes.reviews import PaperReview, counted, paper
from api.settings import Settings
from geo.consult import Consultations, Routing, Webhook, load_routing
from geo.consult.page import consult_page
from geo.errors import InputError, NotFoundError, TooLargeError
from geo.maps import map_html

router = APIRouter(route_class=JSONRoute, prefix="/consult", tags=["consult"])
OPEN = ConfigDict(extra="allow")
Reader = Annotated[Principal, Depends(require("consult:read"))]
Starter = Annotated[Principal, Depends(require("consult:start"))]
Answerer = Annotated[Principal, Depends(require("consult:answer"))]
Escalator = Annotated[Principal, Depends(require("consult:escalate"))]
ProjectId = Annotated[str, PathParam(min_length=1, max_length=64)]
TaskId = Annotated[int, PathParam(ge=1, le=2**31 - 1)]


@lru_cache(maxsize=4)
def _routing(data_dir: Path | None) -> Routing:
    return load_routing(data_dir=data_dir)


def get_consultations(engine: EngineDep, settings: SettingsDep) -> Consultations:
    webhook = (
        Webhook(settings.webhook_url, settings.webhook_secret)
        if settings.webhook_url and settings.webhook_secret
        else None
    )
    return Consultations(
        engine,
        routing=_routing(settings.data_dir),
        webhook=webhook,
        issuer=settings.issuer(),
        data_dir=settings.data_dir,
    )


ConsultDep = Annotated[Consultations, Depends(get_consultations)]


def department_of(engine: EngineDep, who: Reader) -> str | None:
    """The caller's department when it holds a department key (None: sees every department)."""
    if who.role != "department":
        return None
    department = key_department(engine, who.name)
    if department is None:
        raise ForbiddenError(f"key {who.name!r} is bound to no department", f"密钥 {who.name!r} 未绑定部门")
    return department


OwnDepartment = Annotated[str | None, Depends(department_of)]


class Readable:
    """Which projects' consultations the caller may read. A consultation discloses the review its latest round
    consults on (each item's findings, the parcels on its page's map): a planner or the project system, which
    read their own reviews only (SECURITY.md), read the consultations on those; a department key those on which
    its department has a task in the latest round (its own tasks: a department asked nothing read every project's
    rounds and map, a probe); admin and quota-admin every one. Who may read a consultation may also act on it
    (flag it for the 联席会议, start its next round)."""

    def __init__(self, engine: Engine, consult: Consultations, who: Principal, department: str | None) -> None:
        self.engine, self.consult, self.who, self.department = engine, consult, who, department
        self.everything = who.role in SEE_ALL_ROLES
        self._seen: dict[str, bool] = {}

    def check(self, project_id: str) -> None:
        """Raise 403 where the caller may not read the project's consultation (404: there is none). A round
        started from a review file has a review of no owner, which only the see-all roles read: 403 too."""
        if self.everything:
            return
        if self.department is not None:
            if not self.consult.tasks(project_id, department=self.department):
                raise ForbiddenError(
                    f"the consultation of project {project_id} asks nothing of this key's department",
                    f"项目 {project_id} 的会商未向本部门分派任务，无权查看",
                )
            return
        review_id = self.consult.review_id(project_id)
        try:
            check_can_read(self.engine, review_id, self.who)
        except (NotFoundError, ForbiddenError) as exc:  # the review's id not said: the caller may not read it
            raise ForbiddenError(
                f"the consultation of project {project_id} is on a review this key did not make",
                f"项目 {project_id} 的会商所依审查不是本密钥所建，无权查看",
            ) from exc

    def may(self, project_id: str) -> bool:
        if project_id not in self._seen:
            try:
                self.check(project_id)
                self._seen[project_id] = True
            except (ForbiddenError, NotFoundError):
                self._seen[project_id] = False
        return self._seen[project_id]

    def kept(self, entries: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """The entries (tasks, 问题清单 entries) of projects the caller may read; a department's, narrowed to its own
        tasks by the routes, are its own whatever round they are of."""
        if self.everything or self.department is not None:
            return entries
        return [e for e in entries if self.may(e["project_id"])]


def readable(engine: EngineDep, consult: ConsultDep, who: Reader, department: OwnDepartment) -> Readable:
    return Readable(engine, consult, who, department)


ReadableDep = Annotated[Readable, Depends(readable)]


class StartRequest(BaseModel):
    model_config = WRITE

    review_id: str = Field(min_length=1, max_length=64, description="a stored review of the project")
    due_days: int = Field(default=5, ge=1, le=365, description="days each department has to answer")


class AnswerRequest(BaseModel):
    model_config = WRITE

    opinion: Literal["同意", "有条件同意", "不同意"]
    text: str | None = Field(default=None, max_length=5000, description="conditions, or the reason (不同意: required)")


class EscalateRequest(BaseModel):
    model_config = WRITE

    joint_meeting: bool = Field(default=True, description="false takes the 联席会议 flag off")
    note: str | None = Field(default=None, max_length=2000)


class Task(BaseModel):
    model_config = OPEN

    id: int
    project_id: str
    round: int
    department: str
    department_zh: str
    items: list[str]
    status: Literal["待反馈", "同意", "有条件同意", "不同意"]
    due: date
    text: str | None
    actor: str | None
    answered: str | None


class TaskDetail(Task):
    draft: str
    round_state: str
    doc_number: str | None
    answers: list[dict[str, Any]]


class ProjectConsultation(BaseModel):
    model_config = OPEN

    project_id: str
    state: str
    state_zh: str
    adjustment_needed: bool
    rounds: list[dict[str, Any]]
    tasks: list[Task]
    doc_number: str | None


class Problem(BaseModel):
    model_config = OPEN

    project_id: str
    round: int
    disagreements: list[dict[str, Any]]
    joint_meeting: bool


class OverdueGroup(BaseModel):
    department: str
    department_zh: str
    overdue: int
    tasks: list[dict[str, Any]]


class Opinion(BaseModel):
    doc_number: str
    project_id: str
    issued: str
    text: str = Field(description="the 预审意见 in Markdown")
    opinion: dict[str, Any]


def _own(task: dict[str, Any], department: str | None) -> dict[str, Any]:
    if department is not None and task["department"] != department:
        raise ForbiddenError(
            f"task {task['id']} belongs to {task['department']}, not to this key's department",
            f"会商任务 {task['id']} 属于{task['department']}，本部门无权查看或反馈",
        )
    return task


@router.post(
    "/projects/{project_id}/rounds",
    status_code=201,
    response_model=list[Task],
    summary="在线发起会商: a round on a stored review, one task per concerned department",
)
def start(
    project_id: ProjectId,
    body: StartRequest,
    consult: ConsultDep,
    store: StoreDep,
    engine: EngineDep,
    who: Starter,
    readable: ReadableDep,
    background: BackgroundTasks,
) -> list[dict[str, Any]]:
    check_can_read(engine, body.review_id, who)
    # a project's next round is started by who may read its consultation (another key took one over: a probe);
    # a project without one yet is the caller's to start
    with contextlib.suppress(NotFoundError):
        readable.check(project_id)
    tasks = consult.start(project_id, store.get(body.review_id), due_days=body.due_days, actor=who.name)
    background.add_task(consult.deliver)
    return tasks


@router.get("/projects/{project_id}", response_model=ProjectConsultation, summary="A project's consultation")
def project_status(
    project_id: ProjectId, consult: ConsultDep, department: OwnDepartment, readable: ReadableDep
) -> dict[str, Any]:
    readable.check(project_id)
    status = consult.status(project_id)
    if department is not None:
        status["tasks"] = [t for t in status["tasks"] if t["department"] == department]
    return status


@router.get("/projects/{project_id}/tasks", response_model=list[Task], summary="The tasks of the latest round")
def project_tasks(
    project_id: ProjectId, consult: ConsultDep, department: OwnDepartment, readable: ReadableDep
) -> list[dict[str, Any]]:
    readable.check(project_id)
    return consult.tasks(project_id, department=department)


@router.get("/tasks", response_model=list[Task], summary="A department's open tasks (its in-tray)")
def department_tasks(
    consult: ConsultDep,
    own: OwnDepartment,
    department: Annotated[
        str | None, Query(max_length=64, description="required unless the key is a department's")
    ] = None,
    pending: bool = False,
    *,
    readable: ReadableDep,
) -> list[dict[str, Any]]:
    if own is not None and department not in (None, own):
        raise ForbiddenError(
            f"this key answers for {own}, not {department}", f"本密钥属于{own}，无权查看{department}的任务"
        )
    name = own or department
    if name is None:
        raise InputError("name the department (?department=)", "请指定部门（?department=）")
    return readable.kept(consult.department_tasks(name, pending_only=pending))


@router.get("/tasks/{task_id}", response_model=TaskDetail, summary="A task with its draft and every answer")
def task(task_id: TaskId, consult: ConsultDep, department: OwnDepartment, readable: ReadableDep) -> dict[str, Any]:
    found = _own(consult.task(task_id), department)
    if department is None:  # a department reads its own tasks, of any round (one it was not asked in again too)
        readable.check(found["project_id"])
    return found


@router.post(
    "/tasks/{task_id}/answers",
    status_code=201,
    response_model=TaskDetail,
    summary="A department's answer (同意 / 有条件同意 / 不同意); a later one supersedes",
)
def answer(
    task_id: TaskId,
    body: AnswerRequest,
    consult: ConsultDep,
    engine: EngineDep,
    who: Answerer,
    background: BackgroundTasks,
) -> dict[str, Any]:
    department = key_department(engine, who.name) if who.role == "department" else None
    if who.role == "department" and department is None:
        raise ForbiddenError(f"key {who.name!r} is bound to no department", f"密钥 {who.name!r} 未绑定部门")
    _own(consult.task(task_id), department)
    result = consult.answer(task_id, body.opinion, text=body.text, actor=who.name)
    background.add_task(consult.deliver)
    return result


@router.get("/problems", response_model=list[Problem], summary="问题清单: projects with an unresolved 不同意")
def problems(consult: ConsultDep, department: OwnDepartment, readable: ReadableDep) -> list[dict[str, Any]]:
    entries = readable.kept(consult.problems())
    if department is None:
        return entries
    return [e for e in entries if any(d["department"] == department for d in e["disagreements"])]


@router.post(
    "/projects/{project_id}/escalation",
    response_model=Problem,
    summary="Flag a 问题清单 entry for the 联席会议 (or take the flag off)",
)
def escalate(
    project_id: ProjectId, body: EscalateRequest, consult: ConsultDep, who: Escalator, readable: ReadableDep
) -> dict[str, Any]:
    readable.check(project_id)  # the entry holds the departments' answers and the review's id
    return consult.escalate(project_id, actor=who.name, note=body.note, joint_meeting=body.joint_meeting)


@router.get("/overdue", response_model=list[OverdueGroup], summary="限时反馈: overdue tasks per department")
def overdue(as_of: date, consult: ConsultDep, department: OwnDepartment, readable: ReadableDep) -> list[dict[str, Any]]:
    groups = consult.overdue(as_of, department=department)
    if readable.everything:
        return groups
    kept = [g | {"tasks": readable.kept(g["tasks"])} for g in groups]
    return [g | {"overdue": len(g["tasks"])} for g in kept if g["tasks"]]


@router.get(
    "/projects/{project_id}/opinion",
    response_model=Opinion,
    summary="The consolidated 预审意见 with its document number (JSON, or Markdown with ?format=markdown)",
    responses={200: {"content": {"text/markdown": {}}}},
)
def opinion(
    project_id: ProjectId,
    consult: ConsultDep,
    readable: ReadableDep,
    fmt: Annotated[Literal["json", "markdown"], Query(alias="format")] = "json",
) -> Any:
    readable.check(project_id)
    found = consult.opinion(project_id)
    if fmt == "markdown":
        return PlainTextResponse(found["text"], media_type="text/markdown; charset=utf-8")
    return found


def consulted_review(
    request: Request,
    project_id: ProjectId,
    consult: ConsultDep,
    cache: RenderCacheDep,
    who: Reader,
    readable: ReadableDep,
) -> PaperReview:
    """The review the project's latest round consults on, once the caller may read it (``Readable``), its
    parcels counted on a request thread (a plain ``def``), outside the pool: its page is a paper of that review
    (``check_page_size``), rendered in a child, which a ``HEAD`` must not start (``refuse_head``)."""
    readable.check(project_id)
    review_id = consult.review_id(project_id)
    found = PaperReview(review_id, counted(cache, review_id, lambda: consult.review_parcels(project_id)), who)
    refuse_head(request.scope)
    return found


def check_page_size(project_id: str, review: PaperReview, settings: Settings) -> None:
    """Refuse (413) the page of a consultation on a review with more parcels than a page is rendered for
    (``LANTU_MAX_PAGE_PARCELS``, as the review's own map), saying what the caller can read instead."""
    limit, rid, n = settings.max_page_parcels, review.review_id, review.parcels
    if n <= limit:
        return
    raise TooLargeError(
        f"the consultation of project {project_id} is on review {rid} of {n:,} parcels; its page shows at most "
        f"{limit:,} (LANTU_MAX_PAGE_PARCELS). Read the consultation as JSON (GET /api/v1/consult/projects/"
        f"{project_id}) and its opinion (GET /api/v1/consult/projects/{project_id}/opinion)",
        f"项目 {project_id} 的会商所依审查 {rid} 含 {n:,} 个地块，会商页面最多显示 {limit:,} 个地块"
        f"（LANTU_MAX_PAGE_PARCELS）。请改取会商状态 JSON（GET /api/v1/consult/projects/{project_id}）"
        f"及预审意见（GET /api/v1/consult/projects/{project_id}/opinion）",
    )


def _render_page(
    consult: Consultations, project_id: str, department: str | None, blueprint: Any, settings: Settings
) -> bytes:
    status = consult.status(project_id)
    if department is not None:
        status["tasks"] = [t for t in status["tasks"] if t["department"] == department]
    fmap = consult_page(
        status,
        consult.review(project_id),
        blueprint,
        tiles=settings.tiles,
        tianditu_key=settings.tianditu_key,
        assets="/static/leaflet",
    )
    return map_html(fmap).encode()


@router.get(
    "/projects/{project_id}/page",
    response_class=HTMLResponse,
    summary="The project's consultation on a page: map, items, each department's answer",
)
async def page(
    project_id: ProjectId,
    consult: ConsultDep,
    department: OwnDepartment,
    review: Annotated[PaperReview, Depends(consulted_review)],
    blueprint: BlueprintDep,
    settings: SettingsDep,
    pool: PoolDep,
    cache: RenderCacheDep,
) -> HTMLResponse:
    check_page_size(project_id, review, settings)
    rendering = (consult, project_id, department, blueprint, settings)
    names = ("consultation page", "会商页面")
    page = await paper("consult-page", review, settings, pool, cache, _render_page, *rendering, names=names)
    return HTMLResponse(page)
