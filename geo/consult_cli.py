"""``lantu consult …``: 业务协同 from the command line (LANTU_DATABASE_URL; LANTU_WEBHOOK_URL notified).

Each command opens its input, calls one method of :class:`geo.consult.Consultations` and writes
its rows (``geo.io.tables``); every rule lives in ``geo.consult``.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console

from geo.cli_context import (
    AsOfOption,
    Layout,
    LayoutOption,
    Output,
    ProjectId,
    TableFormat,
    accept_unverified,
    actor_option,
    cli_context,
    judged_on,
    not_the_database,
    reading_key,
    show_table,
)
from geo.consult import Consultations, Webhook
from geo.errors import InputError
from geo.io.files import input_file, output_file, write_whole
from geo.io.quota import labelled, read_signed_review
from geo.io.tables import table_format, write_table
from geo.quota_cli import DEFAULT_ACTOR, attempt, database
from geo.report_model import unverified_note
from geo.review.result import ReviewResult

app = typer.Typer(
    help="业务协同: start, tasks, answer, problems, escalate, overdue, opinion, deliver — departments answer on a "
    "project's review; agreed answers become its 预审意见.",
    no_args_is_help=True,
)
err = Console(stderr=True)
# a table or CSV is read by people: Chinese headers in this order (``labelled``); JSON keeps the English keys
TASK_LABELS = {
    "id": "任务号",
    "department": "部门",
    "items": "涉及审查项",
    "status": "反馈意见",
    "due": "反馈期限",
    "text": "意见内容",
    "actor": "反馈人",
    "answered": "反馈时间",
}
PROBLEM_LABELS = {
    "project_id": "项目编号",
    "round": "轮次",
    "since": "列入时间",
    "joint_meeting": "提请联席会议",
    "disagreements": "不同意意见",
}
OVERDUE_LABELS = {
    "department": "部门",
    "id": "任务号",
    "project_id": "项目编号",
    "round": "轮次",
    "due": "反馈期限",
    "days_overdue": "逾期天数",
}


def _consultations(ctx: typer.Context) -> Consultations:
    options = cli_context(ctx)
    webhook = (
        Webhook(options.webhook_url, options.webhook_secret) if options.webhook_url and options.webhook_secret else None
    )
    return attempt(
        lambda: Consultations(database(ctx), webhook=webhook, issuer=options.issuer, data_dir=options.data_dir)
    )


def _deliver(consult: Consultations) -> None:
    """Notify the webhook now; what it does not take stays in the outbox (lantu consult deliver)."""
    if consult.webhook is not None:
        count = consult.deliver()
        err.print(f"webhook：已送达 {count} 个事件 / {count} event(s) delivered", highlight=False)


def _opinion_format(fmt: str) -> None:
    if fmt not in ("markdown", "json"):
        raise InputError(f"unknown format {fmt!r}; use markdown or json", f"未知格式 {fmt!r}，可用：markdown、json")


@app.command("start")
def start(
    ctx: typer.Context,
    project_id: ProjectId,
    review_json: Annotated[Path, typer.Argument(help="A result of `lantu review` (JSON) for the project.")],
    due_days: Annotated[
        int,
        typer.Option(
            "--due-days",
            help="反馈时限 / time each department has to answer: calendar days, 1–365, from today (Beijing time).",
        ),
    ] = 5,
    actor: Annotated[
        str,
        actor_option(
            "发起人: who starts the consultation, recorded as the round's starter and with the review's link to the "
            "project"
        ),
    ] = DEFAULT_ACTOR,
    accept_unsigned: Annotated[
        bool,
        typer.Option(
            "--accept-unsigned",
            help="Start from a review file lantu cannot verify (未经签名核验: unsigned, or signed by another "
            "installation's key; noted in the round's review warnings). Default: refused.",
        ),
    ] = False,
) -> None:
    """在线发起会商: one task per concerned department, with its items, drafted paragraph and due date.

    The review file must be one `lantu review` signed with this installation's key, as for `lantu quota reserve`;
    one changed after it was signed is refused always."""
    consult = _consultations(ctx)

    def read() -> ReviewResult:
        result, check = read_signed_review(input_file(review_json, "REVIEW_JSON"), key=reading_key(ctx))
        if check.verified:
            return result
        noted = ("noted in the round's review warnings", "记入本轮审查结果的警告")
        act = ("start the consultation", "发起会商")
        accept_unverified(review_json.name, check, accepted=accept_unsigned, act=act, noted=noted)
        line = unverified_note(
            check.why_zh,
            check.why_en,
            "经 --accept-unsigned 接受发起会商",
            "the consultation was started with --accept-unsigned",
        )
        return result.model_copy(update={"warnings": [*result.warnings, line]})

    result = attempt(read)
    tasks = attempt(lambda: consult.start(project_id, result, due_days=due_days, actor=actor))
    _deliver(consult)
    first = dict(list(TASK_LABELS.items())[:5])  # nothing answered yet
    write_table(labelled(_items_by_name(tasks), first, "table"), "table", sys.stdout, title=f"{project_id} 业务协同")
    err.print(
        f"项目 {project_id} 已发起会商：{len(tasks)} 项任务 / {len(tasks)} task(s)", markup=False, highlight=False
    )


@app.command("tasks")
def tasks(
    ctx: typer.Context,
    project_id: ProjectId,
    fmt: TableFormat = "table",
    department: Annotated[
        str | None, typer.Option(help="Only this department's task (部门); default: every department's.")
    ] = None,
    layout: LayoutOption = Layout.auto,
) -> None:
    """会商任务: the tasks of the project's latest round: id, department, items, status, due.

    The status is 待反馈, 同意, 有条件同意 or 不同意."""
    kind = attempt(lambda: table_format(fmt))
    consult = _consultations(ctx)
    rows = attempt(lambda: consult.tasks(project_id, department=department))
    if kind != "json":  # JSON keeps the codes
        rows = _items_by_name(rows)
    title = f"{project_id} 业务协同"
    show_table(labelled(rows, TASK_LABELS, kind), kind, sys.stdout, layout=layout, title=title)


def _items_by_name(tasks: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Tasks as people read them: the review items by name (耕地, not cultivated_land) in the 涉及审查项 column."""
    return [t | {"items": list(dict.fromkeys(f["name_zh"] for f in t["findings"]))} for t in tasks]


@app.command("answer")
def answer(
    ctx: typer.Context,
    task_id: Annotated[int, typer.Argument(help="The task id (lantu consult tasks).")],
    opinion: Annotated[str, typer.Option("--opinion", help="反馈意见 / the answer: 同意 | 有条件同意 | 不同意.")],
    text: Annotated[
        str | None,
        typer.Option(help="Conditions (有条件同意) or the reason (不同意, required); default: none, for a plain 同意."),
    ] = None,
    actor: Annotated[
        str, actor_option("经办人: who answers for the department, recorded with the answer")
    ] = DEFAULT_ACTOR,
) -> None:
    """部门反馈: a department's answer on its task; a later answer supersedes.

    All agree → 储备 and the 预审意见; 不同意 → 问题清单."""
    consult = _consultations(ctx)
    task = attempt(lambda: consult.answer(task_id, opinion, text=text, actor=actor))
    _deliver(consult)
    err.print(f"任务 task {task_id}（{task['department']}）：{task['status']}", markup=False, highlight=False)
    if task["doc_number"]:
        err.print(
            f"各部门均已同意，项目纳入储备 / all agree: 预审意见 {task['doc_number']} "
            f"(lantu consult opinion {task['project_id']})",
            markup=False,
            highlight=False,
        )
    elif task["round_state"] == "disagreed":
        err.print(
            f"项目 {task['project_id']} 待调整，已列入问题清单 / marked for adjustment, on the 问题清单 "
            "(lantu consult problems)",
            markup=False,
            highlight=False,
        )


@app.command("problems")
def problems(ctx: typer.Context, fmt: TableFormat = "table", layout: LayoutOption = Layout.auto) -> None:
    """问题清单: projects with an unresolved 不同意, their disagreeing opinions and the 联席会议 flag."""
    kind = attempt(lambda: table_format(fmt))
    consult = _consultations(ctx)
    rows = attempt(consult.problems)
    if kind != "json":
        said = ("；".join(f"{d['department']}：{d['text']}" for d in r["disagreements"]) for r in rows)
        rows = [r | {"disagreements": text} for r, text in zip(rows, said, strict=True)]
    show_table(labelled(rows, PROBLEM_LABELS, kind), kind, sys.stdout, layout=layout, title="问题清单")


@app.command("escalate")
def escalate(
    ctx: typer.Context,
    project_id: Annotated[str, typer.Argument(help="A project on the 问题清单.")],
    note: Annotated[
        str | None, typer.Option(help="Why it goes to the joint meeting, recorded with the flag; default: none.")
    ] = None,
    clear: Annotated[bool, typer.Option("--clear", help="Take the 联席会议 flag off again.")] = False,
    actor: Annotated[
        str, actor_option("经办人: who flags (or clears) the entry, recorded with the flag")
    ] = DEFAULT_ACTOR,
) -> None:
    """提请联席会议: flag a 问题清单 entry for the 联席会议 (第十一条: 无法整改但确有必要建设)."""
    consult = _consultations(ctx)
    entry = attempt(lambda: consult.escalate(project_id, actor=actor, note=note, joint_meeting=not clear))
    err.print(
        f"项目 {project_id}：{'提报联席会议' if entry['joint_meeting'] else '撤回联席会议'} / joint meeting "
        f"{'yes' if entry['joint_meeting'] else 'no'}",
        markup=False,
        highlight=False,
    )


@app.command("overdue")
def overdue(
    ctx: typer.Context,
    as_of: AsOfOption = None,
    fmt: TableFormat = "table",
    department: Annotated[
        str | None, typer.Option(help="Only this department (部门); default: every department.")
    ] = None,
    layout: LayoutOption = Layout.auto,
) -> None:
    """限时反馈: tasks past due and unanswered on that date, per department (for the 考核)."""
    kind = attempt(lambda: table_format(fmt))
    consult = _consultations(ctx)
    when = attempt(lambda: judged_on(as_of))
    groups = attempt(lambda: consult.overdue(when, department=department))
    if kind == "json":
        write_table(groups, kind, sys.stdout)
        return
    rows = [{"department": g["department"], **t} for g in groups for t in g["tasks"]]
    title = f"逾期未反馈 {when}"
    show_table(labelled(rows, OVERDUE_LABELS, kind), kind, sys.stdout, layout=layout, title=title)


@app.command("opinion")
def opinion(
    ctx: typer.Context,
    project_id: Annotated[str, typer.Argument(help="A project whose consultation is agreed.")],
    fmt: Annotated[str, typer.Option("--format", "-f", help="输出格式 / output format: markdown | json.")] = "markdown",
    output: Output = None,
) -> None:
    """预审意见: the consolidated opinion with its document number (Markdown or JSON)."""
    attempt(lambda: _opinion_format(fmt))
    if output is not None:
        attempt(lambda: output_file(output, "--output"))
        attempt(lambda: not_the_database(ctx, {"--output": output}))  # the opinion over the database it is read from
    consult = _consultations(ctx)
    found = attempt(lambda: consult.opinion(project_id))
    text = found["text"] if fmt == "markdown" else json.dumps(found["opinion"], ensure_ascii=False, indent=2)
    if output is None:
        sys.stdout.write(text + "\n")
    else:
        attempt(lambda: write_whole(output, text + "\n"))
        err.print(f"预审意见 {found['doc_number']} → {output}", markup=False, highlight=False)


@app.command("deliver")
def deliver(ctx: typer.Context) -> None:
    """推送: send the webhook events still in the outbox to LANTU_WEBHOOK_URL (retried after every change too)."""
    count = attempt(_consultations(ctx).deliver)
    err.print(f"已送达 {count} 个事件 / {count} event(s) delivered", highlight=False)
