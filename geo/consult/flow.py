"""The consultation flow (业务协同), 聊城《重点项目推进全周期服务办法（试行）》第七条、第十条至第十二条.

A round starts from a review of a library project: one task per concerned department
(``layers/departments.yaml``) with the findings it answers, the drafted paragraph and a due
date. Answers are appended, never edited; a department's latest answer is its opinion.
After every answer the round is settled under a lock:

* every task 同意 or 有条件同意 → the round is ``agreed``: the consolidated 预审意见 is stored
  with a document number and the project moves to 储备 (第十一条 审核通过的项目及时纳入储备);
* any 不同意 → ``disagreed``: the project keeps its stage, is marked for adjustment and is on
  the 问题清单 until a later answer or a new round resolves it; an officer may flag it for the
  联席会议 (第十一条);
* otherwise ``open``. A new round (after the parcel or content changed) supersedes an
  unfinished one; a start on the review of the open round returns that round (a repeat).

A review that rejects a parcel is not consulted on, as one reaching beyond the blueprint is not: the
project is adjusted and reviewed again first (第十一条 调整完善后再次业务协同).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any, Final, Literal, get_args

import geopandas as gpd
from shapely.geometry import shape
from sqlalchemy import Connection, Engine, func, insert, select, text, update

from geo.compare import compare_boundaries
from geo.consult import webhooks
from geo.consult.drafting import consolidated_opinion, task_draft
from geo.consult.routing import Finding, Routing, load_routing, route_review
from geo.consult.tables import (
    consult_answers,
    consult_escalations,
    consult_opinions,
    consult_rounds,
    consult_tasks,
)
from geo.db import id_is, utc_text
from geo.errors import ConsultError, InputError, LantuError, NotFoundError
from geo.opinion import Finding as DraftedFinding
from geo.opinion import opinion
from geo.papers import BEIJING, Issuer, beijing_today
from geo.projects import Project, link_review_in, require_project, set_stage_in, stored_project_id
from geo.projects.library import other_type_reason
from geo.projects.tables import projects
from geo.quota.posting import writing
from geo.review.result import ReviewResult
from geo.store import parcels_in
from geo.vocabulary import check_printable, project_id_text

log = logging.getLogger(__name__)
Opinion = Literal["同意", "有条件同意", "不同意"]
OPINIONS: Final[tuple[str, ...]] = get_args(Opinion)
TaskStatus = Literal["待反馈", "同意", "有条件同意", "不同意"]
PENDING: Final = "待反馈"
RoundState = Literal["open", "disagreed", "agreed", "superseded", "withdrawn"]
ROUND_STATE_ZH: Final[dict[str, str]] = {
    "open": "会商中",
    "disagreed": "待调整",
    "agreed": "已通过",
    "superseded": "已被新一轮取代",
    "withdrawn": "项目已撤销",  # closed by the project's 撤销 (``geo.projects.set_stage_in``)
}
DOC_PREFIX: Final = "协同预审"
NUMBERING_LOCK: Final = 0x6C616E7475  # "lantu": the advisory lock key of the 预审意见 numbering
CONSULTABLE: Final = ("谋划", "储备")  # 策划生成 (第九条、第十三条); 储备 again when its content changed (第十二条)


def _finding_record(f: Finding, drafted: dict[tuple[str, str], DraftedFinding]) -> dict[str, Any]:
    """A finding as stored with its task: the 审查意见's own sentence and basis for a review item."""
    record: dict[str, Any] = {
        "code": f.code,
        "name_zh": f.name_zh,
        "parcel_id": f.parcel_id,
        "status": f.status,
        "overlap_m2": round(f.overlap_m2, 2),
    }
    if f.item is not None and f.parcel_id is not None:
        sentence = drafted[(f.parcel_id, f.code)]
        record |= {"finding": sentence.text, "basis": sentence.basis, "procedures": f.item.procedures}
    if f.layer_zh is not None:
        record["layer_zh"] = f.layer_zh
    return record


def _text(value: Any) -> str | None:
    """Times as ISO text in UTC to the second; dates as ISO dates."""
    if isinstance(value, datetime):
        return utc_text(value, timespec="seconds")
    return value.isoformat() if isinstance(value, date) else value


class Consultations:
    """业务协同 over one database (SQLite or PostgreSQL), with the routing table and an optional webhook."""

    def __init__(
        self,
        engine: Engine,
        *,
        routing: Routing | None = None,
        webhook: webhooks.Webhook | None = None,
        issuer: Issuer | None = None,
        data_dir: Path | None = None,
    ):
        self.engine = engine
        self.routing = routing or load_routing(data_dir=data_dir)
        self.webhook = webhook
        self.issuer = issuer or Issuer()  # the 审查意见 wording the findings are drafted in, and the issuing unit
        self.data_dir = data_dir

    # -- writing -------------------------------------------------------------------------------------------

    def start(
        self,
        project_id: str,
        result: ReviewResult,
        *,
        due_days: int = 5,
        actor: str,
        today: date | None = None,
    ) -> list[dict[str, Any]]:
        """在线发起会商 on a library project at 谋划 or 储备 from a review of its county that did not reject any
        parcel: a new round, one task per concerned department; an unfinished earlier round is superseded.

        A start on the review of the project's open round is a repeat (a retry, a double click, a concurrent
        twin): it returns that round's tasks and writes nothing, its due date standing. Starts of one project
        are serialised on the project's row (SQLite ``BEGIN IMMEDIATE``, PostgreSQL ``FOR NO KEY UPDATE``), so
        two at once cannot both make a round. Returns the tasks."""
        if not 1 <= due_days <= 365:
            raise InputError(f"--due-days {due_days} must be 1 … 365", f"反馈时限 {due_days} 天应在 1 至 365 之间")
        if not result.parcels:
            raise InputError("the review has no parcel", "审查结果中没有地块")
        _check_reviewed(result)
        due = (today or beijing_today()) + timedelta(days=due_days)
        now = datetime.now(UTC)
        drafted = {
            (parcel.id, f.code): f
            for parcel in opinion(result, issuer=self.issuer, data_dir=self.data_dir).parcels
            for f in parcel.findings
        }
        with writing(self.engine) as conn:
            project = _consultable(conn, project_id, lock=True)
            project_id = project.id  # as the library keeps it: ＸＭ-1 typed, the round is XM-1's
            _check_county(project, result)
            for parcel in result.parcels:  # the departments answer on the project's land as the project's type
                if (why := other_type_reason(project, parcel.id, parcel.project_type)) is not None:
                    raise ConsultError(*why)
            previous = conn.execute(
                select(
                    consult_rounds.c.id,
                    consult_rounds.c.number,
                    consult_rounds.c.state,
                    consult_rounds.c.review_id,
                    consult_rounds.c.review_json,
                )
                .where(consult_rounds.c.project_id == project_id)
                .order_by(consult_rounds.c.number.desc())
                .limit(1)
                .with_for_update()
            ).first()
            if previous is not None and _repeats(previous, result):
                return self._round_tasks(conn, previous.id)
            drafts = route_review(result, self.routing, project_type=project.project_type)
            for parcel in result.parcels:
                link_review_in(conn, project_id, result.review_id, parcel.id, actor=actor)
            held = self._answers_that_hold(conn, previous, result) if previous is not None else {}
            if previous is not None and previous.state in ("open", "disagreed"):
                conn.execute(
                    update(consult_rounds)
                    .where(consult_rounds.c.id == previous.id)
                    .values(state="superseded", closed=now)
                )
            round_id = conn.execute(
                insert(consult_rounds)
                .values(
                    project_id=project_id,
                    number=(previous.number if previous else 0) + 1,
                    review_id=result.review_id,
                    review_json=result.model_dump_json(),
                    state="open",
                    started=now,
                    started_by=actor,
                )
                .returning(consult_rounds.c.id)
            ).scalar_one()
            for draft in drafts:
                findings = [_finding_record(f, drafted) for f in draft.findings]
                department_zh = self.routing.departments[draft.department].name_zh
                task_id = conn.execute(
                    insert(consult_tasks)
                    .values(
                        round_id=round_id,
                        department=draft.department,
                        items_json=json.dumps(findings, ensure_ascii=False),
                        draft=task_draft(department_zh, project_id, findings, due.isoformat()),
                        due=due,
                        created=now,
                    )
                    .returning(consult_tasks.c.id)
                ).scalar_one()
                webhooks.record(
                    conn,
                    "task.created",
                    {
                        "task_id": task_id,
                        "project_id": project_id,
                        "department": draft.department,
                        "items": draft.items,
                        "due": due.isoformat(),
                    },
                )
                kept = held.get(draft.department)
                if kept is not None and kept[0] == _findings_key(findings):
                    conn.execute(
                        insert(consult_answers).values(
                            task_id=task_id,
                            opinion=kept[1].opinion,
                            text=kept[1].text,
                            actor=kept[1].actor,
                            created=now,
                            carried_from=kept[1].id,
                        )
                    )
            if any(draft.department in held for draft in drafts):
                round_ = conn.execute(select(consult_rounds).where(consult_rounds.c.id == round_id)).one()
                self._settle(conn, round_, actor=actor, today=today)
        return self.tasks(project_id)

    def _answers_that_hold(self, conn: Connection, previous: Any, result: ReviewResult) -> dict[str, tuple[Any, Any]]:
        """The previous round's agreeing answers that still hold for ``result`` (第十二条: 建设内容不发生改变).

        They hold when the change check (聊城 要素保障措施 一、3: area up less than 10 %, overlap at least
        80 %, the profile's ``change_check``) finds the boundary within limits; each one then carries
        over to the new task of the same department if that task's findings (item, parcel, status)
        are the same. A 不同意 never carries over: the adjusted project is answered afresh.
        """
        old = ReviewResult.model_validate_json(
            conn.execute(select(consult_rounds.c.review_json).where(consult_rounds.c.id == previous.id)).scalar_one()
        )
        if not _within_change_limits(old, result):
            return {}
        tasks = conn.execute(select(consult_tasks).where(consult_tasks.c.round_id == previous.id)).all()
        latest: dict[int, Any] = {}
        for answer in conn.execute(
            select(consult_answers)
            .where(consult_answers.c.task_id.in_([t.id for t in tasks]))
            .order_by(consult_answers.c.id)
        ):
            latest[answer.task_id] = answer
        return {
            t.department: (_findings_key(json.loads(t.items_json)), latest[t.id])
            for t in tasks
            if t.id in latest and latest[t.id].opinion in ("同意", "有条件同意")
        }

    def answer(
        self, task_id: int, opinion: str, *, text: str | None = None, actor: str, today: date | None = None
    ) -> dict[str, Any]:
        """Append a department's answer and settle the round; returns the task and the round's outcome."""
        if opinion not in OPINIONS:
            raise InputError(
                f"opinion {opinion!r} is not one of {list(OPINIONS)}", f"意见 {opinion!r} 应为 {'、'.join(OPINIONS)}"
            )
        text = (text or "").strip() or None
        check_printable(text, "answer", "反馈意见")
        if opinion == "不同意" and not text:
            raise InputError("不同意 needs the reason (--text)", "不同意须写明理由（--text）")
        if opinion == "有条件同意" and not text:
            raise InputError("有条件同意 needs the conditions (--text)", "有条件同意须写明条件（--text）")
        with writing(self.engine) as conn:
            task = conn.execute(
                select(consult_tasks.c.round_id, consult_rounds.c.project_id)
                .join(consult_rounds, consult_rounds.c.id == consult_tasks.c.round_id)
                .where(id_is(consult_tasks.c.id, task_id))
            ).first()
            if task is None:
                raise NotFoundError(f"no consultation task {task_id}", f"会商任务 {task_id} 不存在")
            _lock_project(conn, task.project_id)  # the project before its round, as a start and a 撤销 lock them
            round_ = conn.execute(
                select(consult_rounds).where(consult_rounds.c.id == task.round_id).with_for_update()
            ).one()
            _consultable(conn, round_.project_id)  # first: a withdrawn project's round says why it is closed
            if round_.state not in ("open", "disagreed"):
                raise ConsultError(
                    f"round {round_.number} of project {round_.project_id} is {round_.state}: it takes no answers",
                    f"项目 {round_.project_id} 第 {round_.number} 轮会商{ROUND_STATE_ZH[round_.state]}，不再接受反馈",
                )
            conn.execute(
                insert(consult_answers).values(
                    task_id=task_id, opinion=opinion, text=text, actor=actor, created=datetime.now(UTC)
                )
            )
            self._settle(conn, round_, actor=actor, today=today)
        return self.task(task_id)

    def _settle(self, conn: Connection, round_: Any, *, actor: str, today: date | None) -> None:
        tasks = self._round_tasks(conn, round_.id)
        statuses = {t["status"] for t in tasks}
        state: RoundState = (
            "disagreed" if "不同意" in statuses else "open" if PENDING in statuses or not tasks else "agreed"
        )
        if state == round_.state:
            return
        values: dict[str, Any] = {"state": state}
        if state == "agreed":
            values["closed"] = datetime.now(UTC)
        conn.execute(update(consult_rounds).where(consult_rounds.c.id == round_.id).values(**values))
        event: dict[str, Any] = {"project_id": round_.project_id, "round": round_.number, "outcome": state}
        if state == "agreed":
            doc_number = self._issue_opinion(conn, round_, tasks, today=today or beijing_today())
            if require_project(conn, round_.project_id).stage == "谋划":
                set_stage_in(
                    conn,
                    round_.project_id,
                    "储备",
                    actor=actor,
                    reason=f"业务协同通过，纳入储备（预审意见 {doc_number}）",
                )
            event |= {"doc_number": doc_number, "stage": "储备"}
            webhooks.record(conn, "consultation.completed", event)
        elif state == "disagreed":
            event["disagreements"] = [
                {"task_id": t["id"], "department": t["department"], "text": t["text"]}
                for t in tasks
                if t["status"] == "不同意"
            ]
            webhooks.record(conn, "consultation.disagreed", event)

    def _issue_opinion(self, conn: Connection, round_: Any, tasks: list[dict[str, Any]], *, today: date) -> str:
        """Number and store the consolidated 预审意见 (sequence per year, unique in the database). On PostgreSQL
        one numbering at a time (a transaction-scoped advisory lock): two rounds of different projects agreed at
        once read the same last number, and the second's answer was lost to the unique number (a 500). SQLite
        writes one transaction at a time already."""
        if conn.dialect.name == "postgresql":
            conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": NUMBERING_LOCK})
        last = conn.execute(
            select(func.max(consult_opinions.c.sequence)).where(consult_opinions.c.year == today.year)
        ).scalar()
        sequence = int(last or 0) + 1
        doc_number = f"{DOC_PREFIX}〔{today.year}〕{sequence}号"
        result = ReviewResult.model_validate_json(round_.review_json)
        found = require_project(conn, round_.project_id).row()
        project = {k: found[k] for k in ("id", "name", "project_type", "type_zh", "level", "county")}
        wording, body = consolidated_opinion(
            doc_number=doc_number,
            issued=today.isoformat(),
            project=project,
            round_number=round_.number,
            result=result,
            tasks=tasks,
            issuer=self.issuer.unit,
        )
        conn.execute(
            insert(consult_opinions).values(
                round_id=round_.id,
                project_id=round_.project_id,
                year=today.year,
                sequence=sequence,
                doc_number=doc_number,
                text=wording,
                opinion_json=json.dumps(body, ensure_ascii=False),
                created=datetime.now(UTC),
            )
        )
        return doc_number

    def escalate(
        self, project_id: str, *, actor: str, note: str | None = None, joint_meeting: bool = True
    ) -> dict[str, Any]:
        """Flag (or unflag) the project's 问题清单 entry for the 联席会议; only a project on the list."""
        check_printable(note, "note", "说明")  # read on the 问题清单 page and in the terminal
        with writing(self.engine) as conn:
            round_ = self._latest_round(conn, project_id)
            if round_.state != "disagreed":
                raise ConsultError(
                    f"project {project_id} is not on the problem list (its consultation is {round_.state})",
                    f"项目 {project_id} 不在问题清单上（会商状态：{ROUND_STATE_ZH[round_.state]}）",
                )
            conn.execute(
                insert(consult_escalations).values(
                    round_id=round_.id, joint_meeting=joint_meeting, note=note, actor=actor, created=datetime.now(UTC)
                )
            )
        entry = next(p for p in self.problems() if p["project_id"] == project_id)
        return entry

    def deliver(self) -> int:
        """Send what the outbox holds to the webhook (no-op without one); callers run it after a change
        (the CLI at once, the API after its response)."""
        return webhooks.deliver_pending(self.engine, self.webhook)

    # -- reading -------------------------------------------------------------------------------------------

    def review_parcels(self, project_id: str) -> int:
        """The parcels of the review the project's latest round consults on, counted by the database in the
        round's copy of it (a round started from a file has no stored review to count)."""
        with self.engine.connect() as conn:
            column = parcels_in(consult_rounds.c.review_json, conn.dialect.name)
            return int(self._latest_round(conn, project_id, column.label("parcels")).parcels)

    def review_id(self, project_id: str) -> str:
        """The id of the review the project's latest round consults on, without reading the review."""
        with self.engine.connect() as conn:
            return str(self._latest_round(conn, project_id, consult_rounds.c.review_id).review_id)

    def _latest_round(self, conn: Connection, project_id: str, *columns: Any) -> Any:
        """The project's latest round (its ``columns``, all by default)."""
        round_ = conn.execute(
            select(*columns or [consult_rounds])
            .where(consult_rounds.c.project_id == _named(conn, project_id))
            .order_by(consult_rounds.c.number.desc())
            .limit(1)
        ).first()
        if round_ is None:
            raise NotFoundError(
                f"project {project_id} has no consultation (lantu consult start)", f"项目 {project_id} 尚未发起业务协同"
            )
        return round_

    def _round_tasks(self, conn: Connection, round_id: int, department: str | None = None) -> list[dict[str, Any]]:
        query = select(consult_tasks, consult_rounds.c.project_id, consult_rounds.c.number).join(
            consult_rounds, consult_rounds.c.id == consult_tasks.c.round_id
        )
        query = query.where(consult_tasks.c.round_id == round_id).order_by(consult_tasks.c.id)
        if department is not None:
            query = query.where(consult_tasks.c.department == department)
        return self._with_answers(conn, conn.execute(query).all())

    def _with_answers(self, conn: Connection, rows: Sequence[Any]) -> list[dict[str, Any]]:
        ids = [r.id for r in rows]
        latest: dict[int, Any] = {}
        if ids:
            for answer in conn.execute(
                select(consult_answers).where(consult_answers.c.task_id.in_(ids)).order_by(consult_answers.c.id)
            ):
                latest[answer.task_id] = answer  # the last one supersedes
        out = []
        for r in rows:
            last = latest.get(r.id)
            findings = json.loads(r.items_json)
            out.append(
                {
                    "id": r.id,
                    "project_id": r.project_id,
                    "round": r.number,
                    "department": r.department,
                    "department_zh": self.routing.departments[r.department].name_zh
                    if r.department in self.routing.departments
                    else r.department,
                    "items": list(dict.fromkeys(f["code"] for f in findings)),
                    "status": last.opinion if last else PENDING,
                    "due": r.due.isoformat(),
                    "text": last.text if last else None,
                    "actor": last.actor if last else None,
                    "answered": _text(last.created) if last else None,
                    "findings": findings,
                }
            )
        return out

    def tasks(self, project_id: str, *, department: str | None = None) -> list[dict[str, Any]]:
        """The tasks of the project's latest round (``department``: only that department's)."""
        with self.engine.connect() as conn:
            round_ = self._latest_round(conn, project_id)
            return self._round_tasks(conn, round_.id, department)

    def department_tasks(self, department: str, *, pending_only: bool = False) -> list[dict[str, Any]]:
        """A department's tasks in rounds that still take answers (its in-tray)."""
        self.routing.department(department)
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(consult_tasks, consult_rounds.c.project_id, consult_rounds.c.number)
                .join(consult_rounds, consult_rounds.c.id == consult_tasks.c.round_id)
                .where(consult_tasks.c.department == department, consult_rounds.c.state.in_(("open", "disagreed")))
                .order_by(consult_tasks.c.id)
            ).all()
            tasks = self._with_answers(conn, rows)
        return [t for t in tasks if t["status"] == PENDING] if pending_only else tasks

    def task(self, task_id: int) -> dict[str, Any]:
        """One task with its drafted paragraph, the round's state and every answer, oldest first."""
        with self.engine.connect() as conn:
            row = conn.execute(
                select(consult_tasks, consult_rounds.c.project_id, consult_rounds.c.number, consult_rounds.c.state)
                .join(consult_rounds, consult_rounds.c.id == consult_tasks.c.round_id)
                .where(id_is(consult_tasks.c.id, task_id))
            ).first()
            if row is None:
                raise NotFoundError(f"no consultation task {task_id}", f"会商任务 {task_id} 不存在")
            (task,) = self._with_answers(conn, [row])
            history = conn.execute(
                select(consult_answers).where(consult_answers.c.task_id == task_id).order_by(consult_answers.c.id)
            ).all()
            doc = conn.execute(
                select(consult_opinions.c.doc_number).where(consult_opinions.c.round_id == row.round_id)
            ).scalar()
        return task | {
            "draft": row.draft,
            "round_state": row.state,
            "doc_number": doc,
            "answers": [
                {
                    "opinion": a.opinion,
                    "text": a.text,
                    "actor": a.actor,
                    "answered": _text(a.created),
                    "carried_from": a.carried_from,
                }
                for a in history
            ],
        }

    def status(self, project_id: str) -> dict[str, Any]:
        """The project's consultation at a glance: every round's state, the latest tasks, the 预审意见 if any."""
        with self.engine.connect() as conn:
            project_id = _named(conn, project_id)
            rounds = conn.execute(
                select(
                    consult_rounds.c.number,
                    consult_rounds.c.review_id,
                    consult_rounds.c.state,
                    consult_rounds.c.started,
                    consult_rounds.c.closed,
                )
                .where(consult_rounds.c.project_id == project_id)
                .order_by(consult_rounds.c.number)
            ).all()
        if not rounds:
            raise NotFoundError(
                f"project {project_id} has no consultation (lantu consult start)", f"项目 {project_id} 尚未发起业务协同"
            )
        latest = rounds[-1]
        opinion = self.opinion(project_id) if latest.state == "agreed" else None
        return {
            "project_id": project_id,
            "state": latest.state,
            "state_zh": ROUND_STATE_ZH[latest.state],
            "adjustment_needed": latest.state == "disagreed",
            "rounds": [
                {
                    "round": r.number,
                    "review_id": r.review_id,
                    "state": r.state,
                    "started": _text(r.started),
                    "closed": _text(r.closed),
                }
                for r in rounds
            ],
            "tasks": self.tasks(project_id),
            "doc_number": opinion["doc_number"] if opinion else None,
        }

    def review(self, project_id: str) -> ReviewResult:
        """The review the project's latest round consults on."""
        with self.engine.connect() as conn:
            return ReviewResult.model_validate_json(self._latest_round(conn, project_id).review_json)

    def opinion(self, project_id: str) -> dict[str, Any]:
        """The project's latest consolidated 预审意见: ``doc_number``, ``text`` (Markdown) and ``opinion`` (JSON)."""
        with self.engine.connect() as conn:
            row = conn.execute(
                select(consult_opinions)
                .where(consult_opinions.c.project_id == _named(conn, project_id))
                .order_by(consult_opinions.c.id.desc())
                .limit(1)
            ).first()
        if row is None:
            raise NotFoundError(
                f"project {project_id} has no 预审意见: its consultation is not agreed",
                f"项目 {project_id} 尚无预审意见（业务协同未通过）",
            )
        return {
            "doc_number": row.doc_number,
            "project_id": row.project_id,
            "issued": json.loads(row.opinion_json)["issued"],
            "text": row.text,
            "opinion": json.loads(row.opinion_json),
        }

    def problems(self) -> list[dict[str, Any]]:
        """问题清单: projects whose latest round has an unresolved 不同意, with the disagreeing opinions."""
        with self.engine.connect() as conn:
            rounds = conn.execute(
                select(consult_rounds).where(consult_rounds.c.state == "disagreed").order_by(consult_rounds.c.id)
            ).all()
            entries = []
            for r in rounds:
                flag = conn.execute(
                    select(consult_escalations)
                    .where(consult_escalations.c.round_id == r.id)
                    .order_by(consult_escalations.c.id.desc())
                    .limit(1)
                ).first()
                disagreeing = [t for t in self._round_tasks(conn, r.id) if t["status"] == "不同意"]
                entries.append(
                    {
                        "project_id": r.project_id,
                        "round": r.number,
                        "review_id": r.review_id,
                        "since": min((t["answered"] for t in disagreeing), default=None),
                        "disagreements": [
                            {k: t[k] for k in ("id", "department", "items", "text", "actor", "answered")}
                            for t in disagreeing
                        ],
                        "joint_meeting": bool(flag.joint_meeting) if flag else False,
                        "joint_meeting_note": flag.note if flag else None,
                        "flagged_by": flag.actor if flag else None,
                        "flagged": _text(flag.created) if flag else None,
                    }
                )
        return entries

    def overdue(self, as_of: date, *, department: str | None = None) -> list[dict[str, Any]]:
        """限时反馈 for the 考核: per department, the tasks past due with no answer by ``as_of``.

        A task counts when its due date is before ``as_of``, its round still took answers on
        that day (not superseded or agreed before it) and no answer had been given by the end
        of that day (Beijing time). Departments without overdue tasks are left out.
        """
        if department is not None:
            self.routing.department(department)
        with self.engine.connect() as conn:
            query = (
                select(
                    consult_tasks.c.id,
                    consult_tasks.c.department,
                    consult_tasks.c.due,
                    consult_rounds.c.project_id,
                    consult_rounds.c.number,
                    consult_rounds.c.closed,
                )
                .join(consult_rounds, consult_rounds.c.id == consult_tasks.c.round_id)
                .where(consult_tasks.c.due < as_of)
                .order_by(consult_tasks.c.due, consult_tasks.c.id)
            )
            if department is not None:
                query = query.where(consult_tasks.c.department == department)
            rows = conn.execute(query).all()
            first_answer = dict(
                conn.execute(
                    select(consult_answers.c.task_id, func.min(consult_answers.c.created)).group_by(
                        consult_answers.c.task_id
                    )
                ).all()
            )
        per_department: dict[str, list[dict[str, Any]]] = {}
        for r in rows:
            answered = first_answer.get(r.id)
            if answered is not None and _beijing_day(answered) <= as_of:
                continue
            if r.closed is not None and _beijing_day(r.closed) <= as_of:
                continue
            per_department.setdefault(r.department, []).append(
                {
                    "id": r.id,
                    "project_id": r.project_id,
                    "round": r.number,
                    "due": r.due.isoformat(),
                    "days_overdue": (as_of - r.due).days,
                }
            )
        order = {name: n for n, name in enumerate(self.routing.departments)}  # the table's order, not a collation's
        return [
            {
                "department": name,
                "department_zh": self.routing.departments[name].name_zh if name in self.routing.departments else name,
                "overdue": len(tasks),
                "tasks": tasks,
            }
            for name, tasks in sorted(per_department.items(), key=lambda kv: (order.get(kv[0], len(order)), kv[0]))
        ]


def _findings_key(findings: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
    return [(f["code"], f["parcel_id"], f["status"]) for f in findings]


def _within_change_limits(old: ReviewResult, new: ReviewResult) -> bool:
    """Whether the new review's boundary is within the change check's limits of the old one's."""
    frames = [
        gpd.GeoDataFrame(geometry=[shape(p.geometry) for p in r.parcels if p.geometry], crs=4490) for r in (old, new)
    ]
    try:
        return not compare_boundaries(frames[0], frames[1], profile=new.profile).exceeds
    except LantuError as exc:  # a profile without change_check, or one not at hand: nothing carries over
        log.info("no change check between reviews %s and %s: %s", old.review_id, new.review_id, exc)
        return False


def _named(conn: Connection, project_id: str) -> str:
    """The id the library keeps for the project ``project_id`` names (``ＸＭ-1`` typed: ``XM-1``), or its normal
    form where the library has none: its rounds and opinions are kept under that id."""
    return stored_project_id(conn, project_id) or project_id_text(project_id)


def _lock_project(conn: Connection, project_id: str) -> None:
    """Hold the project's row until the transaction ends (PostgreSQL ``FOR NO KEY UPDATE``; SQLite's writer
    holds the whole database already): starts of one project wait for each other, so a repeated start finds
    the round its twin made, and a start, an answer and a stage change lock project then round, never the
    reverse (no deadlock). ``NO KEY``: a reservation linking a parcel to the project (a foreign key) does not
    wait on it."""
    conn.execute(select(projects.c.id).where(projects.c.id == project_id).with_for_update(key_share=True))


def _consultable(conn: Connection, project_id: str, *, lock: bool = False) -> Project:
    """The library project, at a stage a consultation serves (谋划 or 储备); ``lock``: its row held too."""
    if lock:
        _lock_project(conn, _named(conn, project_id))
    project = require_project(conn, project_id)
    if project.stage not in CONSULTABLE:
        raise ConsultError(
            f"project {project_id} is at {project.stage}: consultations serve projects at 谋划 or 储备",
            f"项目 {project_id} 处于{project.stage}阶段，业务协同仅适用于谋划或储备阶段的项目",
        )
    return project


def _check_reviewed(result: ReviewResult) -> None:
    """Every reviewed parcel wholly inside the blueprint (of a parcel beyond it nothing was checked there, and
    the ledger refuses it too) and none rejected (:func:`_refuse_rejected`)."""
    outside = [p.id for p in result.parcels if p.verdict == "out_of_coverage" or p.county is None]
    if outside:
        raise ConsultError(
            f"parcel(s) {', '.join(outside[:5])} lie outside the blueprint's coverage: not reviewed there, so not "
            "consulted on",
            f"地块 {'、'.join(outside[:5])} 超出蓝图覆盖范围，未经完整审查，不能发起业务协同",
        )
    _refuse_rejected(result)


def _refuse_rejected(result: ReviewResult) -> None:
    """A review that rejects a parcel (不通过) is not consulted on: the departments' 同意 would become a formal
    预审意见 (第十二条) of a site the 落地审查 found unfit.

    聊城《重点项目推进全周期服务办法（试行）》第十条 (做好要素保障和政策把关) and 第十一条
    (有否定性意见的项目，及时进行沟通和调整完善，项目完善后，再次进行业务协同): the project is adjusted and
    reviewed again first; 济宁 济政办字〔2020〕52号 三、(一)2 (引导项目进驻落地条件适宜区域，合理避让各类红线)
    and 3 (完善落地审查: 规划符合性、占用耕地（基本农田）… 10项内容, 严格落实建设用地控制标准). The ledger
    refuses such a parcel too (``geo.quota.reservations.REFUSED_VERDICTS``)."""
    rejected = [p for p in result.parcels if p.verdict == "reject"]
    if not rejected:
        return
    shown = rejected[:5]
    failing_en = "; ".join(
        f"{p.id} ({', '.join(i.code for i in p.items if i.status == 'fail') or 'its items'} failing)" for p in shown
    )
    failing_zh = "；".join(
        f"{p.id}：{'、'.join(i.name_zh for i in p.items if i.status == 'fail') or '审查'}不通过" for p in shown
    )
    more = len(rejected) - len(shown)
    raise ConsultError(
        f"review {result.review_id} rejects parcel {failing_en}{f'; and {more} more' if more else ''}: a "
        "rejected review is not consulted on; adjust the site or the land-use plan and review it again "
        "(聊城 全周期服务办法 第十一条)",
        f"审查 {result.review_id} 结论为不通过（{failing_zh}{f'；另有 {more} 宗' if more else ''}），不能发起业务协同；"
        "请调整选址或用地方案后重新审查（聊城《重点项目推进全周期服务办法》第十一条）",
    )


def _repeats(previous: Any, result: ReviewResult) -> bool:
    """Whether a start on ``result`` repeats the project's latest round (``previous``): it is open and on the same
    review. The same review id with other content is refused: the round stands on the review as it was."""
    if previous.state != "open" or previous.review_id != result.review_id:
        return False
    stored = ReviewResult.model_validate_json(previous.review_json).model_dump_json()
    if stored != result.model_dump_json():
        raise ConsultError(
            f"round {previous.number} is open on review {result.review_id}, whose content differs from the review "
            "given under that id: review the parcels again for a new round",
            f"第 {previous.number} 轮会商正在进行，所依据的审查 {result.review_id} 与本次提交的同号审查内容不一致；"
            "如地块有变化，请重新审查后再发起",
        )
    return True


def _check_county(project: Project, result: ReviewResult) -> None:
    """The reviewed parcels lie in the project's county (the review the departments answer is the project's)."""
    others = sorted({p.county.code for p in result.parcels if p.county and p.county.code != project.county})
    if others:
        raise ConsultError(
            f"the review's parcels lie in {others}, not in project {project.id}'s county {project.county}",
            f"审查地块位于 {others}，与项目 {project.id} 所在县（{project.county}）不符",
        )


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)  # SQLite hands back naive datetimes


def _beijing_day(moment: datetime) -> date:
    """The day of a stored time in Beijing (compared as dates: any ``as_of`` up to 9999-12-31 works)."""
    return _aware(moment).astimezone(BEIJING).date()
