"""``lantu projects …``: the project library (项目库) from the command line (the ledger's database).

Thin: each command opens the library, calls one method of :class:`geo.projects.ProjectLibrary`
and writes the rows; the rules live in :mod:`geo.projects.library`.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape

from geo.cli_context import (
    PROJECT_TYPE,
    AsOfOption,
    Layout,
    LayoutOption,
    ProjectId,
    TableFormat,
    actor_option,
    judged_on,
    option_date,
    show_table,
)
from geo.io.quota import labelled
from geo.io.tables import table_format
from geo.projects.library import LEVELS, STAGES, Project, ProjectLibrary
from geo.quota.holders import county_names
from geo.quota_cli import DEFAULT_ACTOR, TABLE_WIDTH, attempt, database

app = typer.Typer(
    help="项目库 project library: add, stage, list, history, overdue — 先入库后保障.", no_args_is_help=True
)
err = Console(stderr=True)
Actor = Annotated[str, actor_option("经办人: who does this, recorded in the project's history")]
PROJECT_LABELS = {
    "id": "项目编号",
    "name": "项目名称",
    "type_zh": "项目类型",
    "level": "项目层级",
    "county_name": "所在区县",
    "county": "区县代码",
    "stage": "阶段",
    "start_by": "计划开工日期",
}
OVERDUE_LABELS = {**PROJECT_LABELS, "days_overdue": "逾期天数"}
HISTORY_LABELS = {"from_stage": "原阶段", "to_stage": "新阶段", "at": "时间", "actor": "经办人", "reason": "原因"}


def _library(ctx: typer.Context) -> ProjectLibrary:
    return attempt(lambda: ProjectLibrary(database(ctx)))


def _with_county_names(library: ProjectLibrary, rows: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    names = county_names(library.engine)
    return [{**r, "county_name": names.get(r["county"], r["county"])} for r in rows]


def _show(
    rows: Callable[[], Sequence[dict[str, Any]]], fmt: str, labels: dict[str, str], title: str, *, layout: Layout
) -> None:
    kind = attempt(lambda: table_format(fmt))
    data = labelled(attempt(rows), labels, kind)
    columns = None if kind == "json" else list(labels.values())
    show_table(data, kind, sys.stdout, layout=layout, title=title, columns=columns, width=TABLE_WIDTH)


@app.command("add")
def add(
    ctx: typer.Context,
    project_id: ProjectId,
    name: Annotated[str, typer.Option(help="Project name (项目名称).")],
    project_type: Annotated[str, typer.Option("--type", help=f"{PROJECT_TYPE}.")],
    level: Annotated[str, typer.Option(help=f"项目层级 / level: {'/'.join(LEVELS)}.")],
    county: Annotated[str, typer.Option(help="County code (a county registered with `lantu quota init`).")],
    stage: Annotated[str, typer.Option(help=f"阶段 / stage it enters at: {'/'.join(STAGES[:5])}.")] = "谋划",
    start_by: Annotated[
        str | None,
        typer.Option(
            help="Planned start date (计划开工) YYYY-MM-DD; default: none, never 应开未开 (`lantu projects overdue`)."
        ),
    ] = None,
    actor: Actor = DEFAULT_ACTOR,
) -> None:
    """入库: enter a project in the library."""
    library = _library(ctx)
    project = attempt(
        lambda: library.add(
            project_id,
            name=name,
            project_type=project_type,
            level=level,
            county=county,
            stage=stage,
            start_by=option_date(start_by, "--start-by") if start_by is not None else None,
            actor=actor,
        )
    )
    err.print(f"入库 / added: {escape(project.id)} ({project.stage})", highlight=False)


@app.command("stage")
def stage_cmd(
    ctx: typer.Context,
    project_id: ProjectId,
    stage: Annotated[str, typer.Argument(help=f"新阶段 / the stage to move to: {'/'.join(STAGES)}.")],
    reason: Annotated[str, typer.Option(help="原因 / why, recorded in the project's history.")] = "项目阶段变更",
    actor: Actor = DEFAULT_ACTOR,
) -> None:
    """变更阶段: move a project to its next stage (or 撤销); recorded in its history."""
    library = _library(ctx)
    project: Project = attempt(lambda: library.set_stage(project_id, stage, actor=actor, reason=reason))
    err.print(f"阶段 / stage: {escape(project.id)} → {project.stage}", highlight=False)


@app.command("list")
def list_cmd(
    ctx: typer.Context,
    county: Annotated[
        str | None, typer.Option(help="Only this county's projects (区县代码); default: every county's.")
    ] = None,
    at_stage: Annotated[
        str | None,
        typer.Option("--stage", help=f"Only projects at this stage ({'/'.join(STAGES)}); default: every stage."),
    ] = None,
    fmt: TableFormat = "table",
    layout: LayoutOption = Layout.auto,
) -> None:
    """项目清单: the projects of the library with their stage."""
    library = _library(ctx)
    _show(
        lambda: _with_county_names(library, [p.row() for p in library.projects(county=county, stage=at_stage)]),
        fmt,
        PROJECT_LABELS,
        "项目库",
        layout=layout,
    )


@app.command("history")
def history(
    ctx: typer.Context, project_id: ProjectId, fmt: TableFormat = "table", layout: LayoutOption = Layout.auto
) -> None:
    """阶段变更记录: a project's stage changes: who, when, why."""
    library = _library(ctx)
    _show(
        lambda: [c.row() for c in library.history(project_id)],
        fmt,
        HISTORY_LABELS,
        f"项目 {project_id} 阶段变更",
        layout=layout,
    )


@app.command("overdue")
def overdue(
    ctx: typer.Context,
    as_of: AsOfOption = None,
    fmt: TableFormat = "table",
    layout: LayoutOption = Layout.auto,
) -> None:
    """应开未开: projects past their planned start and not yet under construction."""
    library = _library(ctx)
    when = attempt(lambda: judged_on(as_of))
    _show(
        lambda: _with_county_names(library, library.overdue(when)),
        fmt,
        OVERDUE_LABELS,
        f"应开未开项目（{when}）",
        layout=layout,
    )
