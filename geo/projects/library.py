"""The project library (项目库): projects, their stage, their history and their reviews.

Rules, each from the policy texts in ``/work/shared/policy``:

* 先入库后保障 — only projects in the library receive factors (兰州 兰政办发〔2020〕149号
  一、总体要求 and 四、(三)1 "按照'先入库储备,后供应保障'的原则"); the ledger asks
  :func:`fundable_reason` before it reserves.
* Stages 谋划 → 储备 → 审批 → 建设 → 竣工 follow the same plan's 三、工作流程 "(一)项目谋划阶段 …
  (五)项目竣工阶段" (储备 is its 项目生成/储备库 step); a project moves one stage forward at a
  time, or is withdrawn (撤销, 聊城 重点项目推进全周期服务办法 第二十条 "不再实施的项目,要素指标依法收回").
  竣工 and 撤销 are final.
* 应开未开 — a project past its planned start and not yet under construction is overdue
  (济宁 济政办字〔2020〕52号 四、(三) "对已享受要素保障政策、应开未开 … 每季度开展监测评估";
  兰州 149号 五、(二)).
* Levels 国家重大 / 省重点 / 市重点 are 重点 projects, the only ones the city pool serves
  (聊城《关于强化要素保障进一步优化产业生态的若干措施》第2条 "对其他省市级重点项目,统筹市县核补指标予以优先保障").
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime
from typing import Any, Final

from sqlalchemy import Column, Connection, Engine, insert, select, update
from sqlalchemy.exc import IntegrityError

from geo.db import utc_text
from geo.errors import InputError, NotFoundError, ProjectError
from geo.projects.tables import project_reviews, project_stages, projects
from geo.vocabulary import (
    check_actor,
    check_printable,
    check_project_type,
    check_single_line,
    hidden_character,
    project_id_text,
    project_types,
)

LEVELS: Final = ("国家重大", "省重点", "市重点", "县重点", "一般")
KEY_LEVELS: Final = frozenset({"国家重大", "省重点", "市重点"})  # 重点项目: may draw on the city pool
STAGES: Final = ("谋划", "储备", "审批", "建设", "竣工", "撤销")
PIPELINE: Final = STAGES[:5]  # in order; 撤销 leaves it
FINAL: Final = frozenset({"竣工", "撤销"})
# 先入库后保障: in the 储备库 or later, until it is built. 兰政办发〔2020〕149号 三(二)–(四): land follows a project
# while it is generated and approved, funds while it is built too; (五) 项目竣工阶段 lists none of the quotas
FUNDABLE: Final = frozenset({"储备", "审批", "建设"})
NOT_STARTED: Final = ("谋划", "储备", "审批")  # 应开未开 when past the planned start
ID_LENGTH: Final = 64
HELD_BUCKETS: Final = ("reserved", "approved", "earmarked")  # what a project holds of the ledger's quota


@dataclass(frozen=True)
class Project:
    """One project of the library."""

    id: str
    name: str
    project_type: str
    level: str
    county: str
    stage: str
    start_by: date | None
    created: datetime
    actor: str

    @property
    def is_key(self) -> bool:
        """A 重点 project (国家重大, 省重点, 市重点): the city pool may serve it."""
        return self.level in KEY_LEVELS

    def row(self) -> dict[str, Any]:
        """The project as JSON-ready values (dates as ISO text)."""
        out = asdict(self)
        out["type_zh"] = project_types()[self.project_type].name_zh
        out["start_by"] = self.start_by.isoformat() if self.start_by else None
        out["created"] = utc_text(self.created)
        return out


@dataclass(frozen=True)
class StageChange:
    """One line of a project's history: from which stage (None: entered the library) to which, who, why."""

    project_id: str
    from_stage: str | None
    to_stage: str
    at: datetime
    actor: str
    reason: str

    def row(self) -> dict[str, Any]:
        return {**asdict(self), "at": utc_text(self.at)}


@dataclass(frozen=True)
class ReviewLink:
    """A reviewed parcel linked to a project (the review the ledger reserves from)."""

    project_id: str
    review_id: str
    parcel_id: str
    linked: datetime
    actor: str

    def row(self) -> dict[str, Any]:
        return {**asdict(self), "linked": utc_text(self.linked)}


def _choice(value: str, allowed: tuple[str, ...], what_en: str, what_zh: str) -> str:
    if value not in allowed:
        raise InputError(
            f"{what_en} {value!r} is not one of {', '.join(allowed)}",
            f"{what_zh} {value!r} 应为 {'、'.join(allowed)} 之一",
        )
    return value


def check_level(level: str) -> str:
    """``level`` if it is a project level; else an InputError listing them."""
    return _choice(level, LEVELS, "project level", "项目层级")


def check_stage(stage: str) -> str:
    """``stage`` if it is a project stage; else an InputError listing them."""
    return _choice(stage, STAGES, "project stage", "项目阶段")


def check_project_id(project_id: str) -> str:
    """A 项目编号 as the library keeps it (:func:`~geo.vocabulary.project_id_text`: ＸＭ－１ is XM-1) that every
    route and command can name again: no ``/`` (a URL path's separator, ／ too once normalised), not ``.`` or
    ``..``, no control characters, one line."""
    text = project_id_text(project_id)
    if not text or len(text) > ID_LENGTH:
        raise InputError(f"project id must have 1 to {ID_LENGTH} characters", f"项目编号应为 1 到 {ID_LENGTH} 个字符")
    if bad := "/" if "/" in text else hidden_character(text):
        shown = "'/'" if bad == "/" else f"U+{ord(bad):04X}"  # an invisible character is named by its code point
        raise InputError(
            f"project id {text!r} holds {shown} ('/' or an invisible or control character)",
            f"项目编号 {text!r} 含有 {shown}（“/”或不可见字符、控制字符）",
        )
    check_single_line(text, "project id", "项目编号")  # U+2028 and U+2029 break a line and are no category C
    if text in (".", ".."):  # a URL path's dot segments: clients and proxies resolve them away before any route
        raise InputError(
            f"project id {text!r} cannot be named in a URL ('.' and '..' are path steps)",
            f"项目编号不能为 {text!r}（“.”和“..”在网址中表示路径层级，无法访问）",
        )
    return text


def _refuse_holder_name(conn: Connection, project_id: str) -> None:
    """Refuse a 项目编号 that is the name of a ledger holder: the city pool (``city``), a registered county's code, a
    holder outside the city (``external:…``): the balances and the journal listed holder 370811 twice, the county
    and the project, told apart by a column of kinds alone (a probe)."""
    from geo.quota.tables import quota_holders  # the ledger imports this module

    county = conn.execute(select(quota_holders.c.code).where(quota_holders.c.code == project_id)).first()
    if project_id.lower() == "city" or project_id.lower().startswith(("external:", "project:")) or county is not None:
        raise InputError(
            f"project id {project_id!r} is the name of a ledger holder (the city pool 'city', a county's code, or "
            "'external:…', 'project:…'): the balances would name two holders alike; give the project its own id",
            f"项目编号 {project_id!r} 与指标台账的持有方同名（市级统筹 city、区县代码、external:… 或 project:…），"
            "余额表中将无法区分：请使用项目自己的编号",
        )


def check_transition(project_id: str, current: str, new: str) -> None:
    """One step forward along 谋划 → 储备 → 审批 → 建设 → 竣工, or 撤销 from any stage before the final ones."""
    check_stage(new)
    if current in FINAL:
        raise ProjectError(
            f"project {project_id} is at {current}, a final stage; it cannot move to {new}",
            f"项目 {project_id} 已{current}，不能再变更为{new}",
        )
    if new == "撤销":
        return
    following = PIPELINE[PIPELINE.index(current) + 1]
    if new != following:
        raise ProjectError(
            f"project {project_id} is at {current}; the next stage is {following} (or 撤销), not {new}",
            f"项目 {project_id} 处于{current}阶段，下一阶段应为{following}（或撤销），不能变更为{new}",
        )


def stored_project_id(conn: Connection, project_id: str, column: Column[str] = projects.c.id) -> str | None:
    """The id under which ``column`` (the library's ``projects.id``, or the ledger's ``quota_projects.id``) keeps
    the project ``project_id`` names, or None: every look-up of a project goes through it.

    Ids are kept in their normal form (:func:`check_project_id`), so ``ＸＭ-1`` finds ``XM-1``. A project entered
    before ids were normalised keeps the id it was entered with (the journal, its idempotency keys, its
    consultations and stored reviews name it so; no migration rewrites them): it is found as it is spelt, first,
    then under its normal form when no project holds that; where two such projects share one normal form, a name
    that is neither's exact spelling is refused (ProjectError naming both), never guessed. Matching them costs a
    scan of the ids, made only on a miss (an entry, an unknown id)."""
    typed, normal = project_id.strip(), project_id_text(project_id)
    for candidate in dict.fromkeys((typed, normal)):
        if conn.execute(select(column).where(column == candidate)).first() is not None:
            return candidate
    same = sorted(i for i in conn.execute(select(column)).scalars() if project_id_text(i) == normal)
    if len(same) > 1:
        raise ProjectError(
            f"project id {project_id!r} names {len(same)} projects entered before ids were normalised "
            f"({', '.join(same)}): name one exactly as it is stored",
            f"项目编号 {project_id!r} 对应 {len(same)} 个项目（{'、'.join(same)}，均在统一项目编号全角半角之前入库），"
            "请按入库时的编号准确填写",
        )
    return same[0] if same else None


def _project(row: Any) -> Project:
    return Project(
        id=row.id,
        name=row.name,
        project_type=row.project_type,
        level=row.level,
        county=row.county,
        stage=row.stage,
        start_by=row.start_by,
        created=row.created,
        actor=row.actor,
    )


def project_in(conn: Connection, project_id: str) -> Project | None:
    """The project inside an open transaction (the ledger's), or None; ``project_id`` as any caller typed it
    (:func:`stored_project_id`): its ``id`` is the one the tables keep."""
    stored = stored_project_id(conn, project_id)
    if stored is None:
        return None
    return _project(conn.execute(select(projects).where(projects.c.id == stored)).one())


def require_project(conn: Connection, project_id: str) -> Project:
    """The project (:func:`project_in`: use its ``id`` from here on), or a NotFoundError saying how to enter it
    (``lantu projects add``)."""
    found = project_in(conn, project_id)
    if found is None:
        raise NotFoundError(
            f"no project {project_id!r} in the project library (enter it with `lantu projects add`)",
            f"项目库中没有项目 {project_id!r}（请先用 lantu projects add 入库）",
        )
    return found


def fundable_reason(project: Project) -> tuple[str, str] | None:
    """Why the project may not receive factors yet (English, Chinese), or None when it may (先入库后保障)."""
    if project.stage in FUNDABLE:
        return None
    return (
        f"project {project.id} is at stage {project.stage}; factors go to projects from 储备 until 建设 "
        "(先入库后保障; a finished project takes no more: 兰政办发〔2020〕149号 三(五))",
        f"项目 {project.id} 处于{project.stage}阶段，要素配置限于储备、审批、建设阶段的项目（先入库后保障；"
        "竣工项目不再配置：兰政办发〔2020〕149号 三(五)）",
    )


def other_type_reason(project: Project, parcel_id: str, reviewed_as: str | None) -> tuple[str, str] | None:
    """Why a parcel reviewed as ``reviewed_as`` is not the project's land as reviewed (English, Chinese): the project
    is of another type, whose planning zones, farmland and land-use standard may conclude otherwise (an industrial
    project's land reviewed as 基础设施 with a red-line exemption passed where it fails as 工业). None where it is."""
    if reviewed_as is None or reviewed_as == project.project_type:
        return None
    kinds = project_types()
    as_zh, is_zh = (kinds[t].name_zh if t in kinds else t for t in (reviewed_as, project.project_type))
    return (
        f"parcel {parcel_id} was reviewed as a {reviewed_as} project; project {project.id} is "
        f"{project.project_type}: review it as {project.project_type} (--project-type), whose planning zones, "
        "farmland and land-use standard may conclude otherwise",
        f"地块 {parcel_id} 按{as_zh}项目审查，而项目 {project.id} 为{is_zh}项目；请按{is_zh}项目重新审查"
        "（--project-type），规划分区、永久基本农田和用地标准的结论可能不同",
    )


def link_review_in(conn: Connection, project_id: str, review_id: str, parcel_id: str, *, actor: str) -> None:
    """Link a reviewed parcel to the project inside an open transaction (idempotent). The parcel id is kept as
    the review has it (a 地块编号 of the user's file, not normalised); the project's id as the library does."""
    check_actor(actor)
    project_id = require_project(conn, project_id).id
    exists = conn.execute(
        select(project_reviews.c.id).where(
            project_reviews.c.project_id == project_id,
            project_reviews.c.review_id == review_id,
            project_reviews.c.parcel_id == parcel_id,
        )
    ).first()
    if exists is None:
        conn.execute(
            insert(project_reviews).values(
                project_id=project_id, review_id=review_id, parcel_id=parcel_id, linked=datetime.now(UTC), actor=actor
            )
        )


MAX_REASON_CHARS = 500  # the API's bound (api.routes.projects.StageIn), the command line's too


def check_reason(reason: str) -> None:
    """A stage change's 事由 is said, in printable text of at most ``MAX_REASON_CHARS``: the history is the
    project's record ("   " and 5,000 characters from the command line were recorded)."""
    check_printable(reason, "reason", "事由")
    if not reason.strip():
        raise InputError("the reason for a stage change is required", "阶段变更须写明事由")
    if len(reason) > MAX_REASON_CHARS:
        raise InputError(
            f"the reason is {len(reason):,} characters long, more than {MAX_REASON_CHARS}",
            f"事由长 {len(reason):,} 个字符，超过 {MAX_REASON_CHARS} 个",
        )


def set_stage_in(conn: Connection, project_id: str, stage: str, *, actor: str, reason: str) -> None:
    """Move the project to ``stage`` inside an open transaction (业务协同 moves it to 储备 with its 预审意见)."""
    check_actor(actor)
    check_reason(reason)
    current = require_project(conn, project_id)
    project_id = current.id
    check_transition(project_id, current.stage, stage)
    if stage == "撤销":
        _refuse_held_quota(conn, project_id)
        _close_consultations(conn, project_id)
    conn.execute(update(projects).where(projects.c.id == project_id).values(stage=stage))
    _record_stage(conn, project_id, current.stage, stage, actor=actor, reason=reason)


def _close_consultations(conn: Connection, project_id: str) -> None:
    """A withdrawn project's consultation takes no more answers: its round still open leaves the departments'
    in-trays, the 问题清单 and, from today, the 限时反馈 count (state ``withdrawn``)."""
    from geo.consult.tables import consult_rounds  # the consultation imports this module

    r = consult_rounds.c
    conn.execute(
        update(consult_rounds)
        .where(r.project_id == project_id, r.state.in_(("open", "disagreed")))
        .values(state="withdrawn", closed=datetime.now(UTC))
    )


def _refuse_held_quota(conn: Connection, project_id: str) -> None:
    """撤销 once the project holds no quota: a project no longer carried out gives its factors back
    (聊城《重点项目推进全周期服务办法》第二十条 "不再实施的项目,要素指标依法收回"; 济宁 52号 四、(三)
    "坚决避免要素沉淀"), by 撤回 (reserved), 收回 (approved, with a reason) or by reversing the 点供
    earmarked to it (it goes back to the province that sent it for this project): a quota officer's act,
    which the stage change does not make for them. A 撤销 project left holding quota would hold it for good."""
    from geo.quota.accounts import FACTORS, project_holder  # the ledger imports this module
    from geo.quota.tables import quota_accounts

    a = quota_accounts.c
    held = conn.execute(
        select(a.factor, a.bucket, a.year, a.balance)
        .where(a.holder == project_holder(project_id), a.bucket.in_(HELD_BUCKETS), a.balance != 0)
        .order_by(a.factor, a.year, a.bucket)
    ).all()
    if not held:
        return
    amounts = [f"{r.year} {r.balance:f} {FACTORS[r.factor][1]}" for r in held]
    named = "; ".join(f"{r.factor} {r.bucket} {amount}" for r, amount in zip(held, amounts, strict=True))
    bucket_zh = {"reserved": "已配置", "approved": "已批准", "earmarked": "点供待用"}
    named_zh = "；".join(
        f"{FACTORS[r.factor][0]}{bucket_zh[r.bucket]} {amount}" for r, amount in zip(held, amounts, strict=True)
    )
    raise ProjectError(
        f"project {project_id} still holds quota ({named}): give it back first (`lantu quota revoke` for reserved "
        "quota, `lantu quota lapse --reason …` for approved, `lantu quota reverse` of the 点供 for earmarked), "
        "then 撤销",
        f"项目 {project_id} 仍持有指标（{named_zh}），"
        "须先撤回（已配置）、收回（已批准，说明理由）或冲正点供（点供待用）指标，方可撤销",
    )


def _record_stage(conn: Connection, project_id: str, old: str | None, new: str, *, actor: str, reason: str) -> None:
    conn.execute(
        insert(project_stages).values(
            project_id=project_id, from_stage=old, to_stage=new, at=datetime.now(UTC), actor=actor, reason=reason
        )
    )


class ProjectLibrary:
    """The project library over one engine (the ledger's database).

    Writers take the same write lock as the ledger (:func:`geo.quota.posting.writing`),
    so a stage change and a reservation never interleave.
    """

    def __init__(self, engine: Engine):
        self.engine = engine

    def add(
        self,
        project_id: str,
        *,
        name: str,
        project_type: str,
        level: str,
        county: str,
        actor: str,
        stage: str = "谋划",
        start_by: date | None = None,
        reason: str = "项目入库",
    ) -> Project:
        """入库: enter a project at ``stage`` (not 撤销) in a registered county; the entry opens its history."""
        from geo.quota.accounts import movement_date  # the ledger imports this module
        from geo.quota.holders import require_county
        from geo.quota.posting import writing

        project_id = check_project_id(project_id)
        if not name.strip() or len(name) > 200:
            raise InputError("project name must have 1 to 200 characters", "项目名称应为 1 到 200 个字符")
        check_single_line(name, "project name", "项目名称")  # a heading of the 预审意见, a cell of every table
        check_actor(actor)  # its 经办人, whoever calls (the command line and the API checked it, the library not)
        check_reason(reason)
        if start_by is not None:  # within the plan years: 0001-01-01 is a typo, and would make it overdue forever
            movement_date(start_by, ("planned start date", "计划开工日期"))
        kind = check_project_type(project_type)
        if kind is None:
            raise InputError("project type is required", "须填写项目类型")
        check_level(level)
        if check_stage(stage) == "撤销":
            raise InputError("a project cannot enter the library as 撤销", "项目不能以撤销状态入库")
        try:
            with writing(self.engine) as conn:
                require_county(conn, county)
                _refuse_holder_name(conn, project_id)
                if (found := project_in(conn, project_id)) is not None:  # ＸＭ-1 when XM-1 is in: the same id
                    raise ProjectError(f"project {found.id} is already in the library", f"项目 {found.id} 已在项目库中")
                conn.execute(
                    insert(projects).values(
                        id=project_id,
                        name=name.strip(),
                        project_type=kind,
                        level=level,
                        county=county,
                        stage=stage,
                        start_by=start_by,
                        created=datetime.now(UTC),
                        actor=actor,
                    )
                )
                _record_stage(conn, project_id, None, stage, actor=actor, reason=reason)
        except IntegrityError as exc:  # a concurrent add of the same id won
            raise ProjectError(
                f"project {project_id} is already in the library", f"项目 {project_id} 已在项目库中"
            ) from exc
        return self.get(project_id)

    def get(self, project_id: str) -> Project:
        """The project; NotFoundError if the library has none by that id."""
        with self.engine.connect() as conn:
            return require_project(conn, project_id)

    def projects(self, *, county: str | None = None, stage: str | None = None) -> list[Project]:
        """Projects in the order they entered, optionally of one county or stage."""
        query = select(projects).order_by(projects.c.created, projects.c.id)
        if county is not None:
            query = query.where(projects.c.county == county)
        if stage is not None:
            query = query.where(projects.c.stage == check_stage(stage))
        with self.engine.connect() as conn:
            return [_project(r) for r in conn.execute(query).all()]

    def set_stage(self, project_id: str, stage: str, *, actor: str, reason: str = "项目阶段变更") -> Project:
        """Move the project to ``stage`` (:func:`check_transition`), recorded in its history with who and why."""
        from geo.quota.posting import writing

        with writing(self.engine) as conn:
            set_stage_in(conn, project_id, stage, actor=actor, reason=reason)
        return self.get(project_id)

    def history(self, project_id: str) -> list[StageChange]:
        """Every stage the project went through, oldest first."""
        with self.engine.connect() as conn:
            project_id = require_project(conn, project_id).id
            rows = conn.execute(
                select(project_stages).where(project_stages.c.project_id == project_id).order_by(project_stages.c.id)
            ).all()
        return [StageChange(r.project_id, r.from_stage, r.to_stage, r.at, r.actor, r.reason) for r in rows]

    def link_review(self, project_id: str, review_id: str, parcel_id: str, *, actor: str) -> ReviewLink:
        """Link a reviewed parcel to the project (idempotent); the ledger links the parcel it reserves from."""
        from geo.quota.posting import writing

        with writing(self.engine) as conn:
            link_review_in(conn, project_id, review_id, parcel_id, actor=actor)
        return next(
            link for link in self.reviews(project_id) if (link.review_id, link.parcel_id) == (review_id, parcel_id)
        )

    def reviews(self, project_id: str) -> list[ReviewLink]:
        """The reviewed parcels linked to the project, oldest first."""
        with self.engine.connect() as conn:
            project_id = require_project(conn, project_id).id
            rows = conn.execute(
                select(project_reviews).where(project_reviews.c.project_id == project_id).order_by(project_reviews.c.id)
            ).all()
        return [ReviewLink(r.project_id, r.review_id, r.parcel_id, r.linked, r.actor) for r in rows]

    def overdue(self, as_of: date) -> list[dict[str, Any]]:
        """应开未开: projects whose planned start is before ``as_of`` and that are not yet under construction."""
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(projects)
                .where(projects.c.start_by < as_of, projects.c.stage.in_(NOT_STARTED))
                .order_by(projects.c.start_by, projects.c.id)
            ).all()
        return [{**_project(r).row(), "days_overdue": (as_of - r.start_by).days} for r in rows]
