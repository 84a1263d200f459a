"""``lantu find-sites`` (精准选址) and ``lantu compare`` (预审变更比对): open inputs, call one library
function, write its output. Mounted beside the other commands by ``geo.cli``."""

from __future__ import annotations

import sys
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

from geo.blueprint import load_blueprint
from geo.cli_context import (
    PROJECT_TYPE,
    GivenCRS,
    Output,
    cli_context,
    distinct_files,
    fail,
    figure_option,
    not_the_blueprints,
    not_the_database,
    warn,
)
from geo.compare import change_check_html, compare_boundaries
from geo.crs import percent
from geo.errors import LantuError
from geo.io import read_parcels
from geo.io.files import input_file, write_whole
from geo.review import load_profile
from geo.sites import find_sites, sites_geojson

app = typer.Typer()
err = Console(stderr=True)


class CompareFormat(StrEnum):
    json = "json"
    html = "html"


ProfileName = Annotated[str, typer.Option(help="Review profile name or YAML path.")]


def _write(text: str, output: Path | None) -> None:
    if output is None:
        sys.stdout.write(text + "\n")
        return
    try:
        write_whole(output, text)
    except LantuError as exc:
        fail(exc)


@app.command("find-sites")
def find_sites_cmd(
    ctx: typer.Context,
    area_mu: Annotated[float, figure_option("--area-mu", minimum=0.01, help="Area the project needs, in 亩.")],
    blueprint: Annotated[Path, typer.Option("--blueprint", "-b", help="Blueprint directory (blueprint.yaml).")],
    project_type: Annotated[str, typer.Option(help=f"{PROJECT_TYPE}.")] = "industrial",
    county: Annotated[
        str | None,
        typer.Option(help="Search this county (its code in the county layer); default: the whole blueprint coverage."),
    ] = None,
    within: Annotated[
        Path | None,
        typer.Option(help="Search inside the polygons of this file; default: the whole blueprint coverage."),
    ] = None,
    count: Annotated[int, typer.Option("-n", "--count", min=1, max=50, help="How many sites (1–50).")] = 5,
    investment_wan: Annotated[
        float | None,
        figure_option(
            minimum=0,
            help="总投资 / investment in 万元, for the land-use standard's investment intensity; default: none, "
            "and an industrial project's sites then read conditional (未提供投资额，需开展节地评价).",
        ),
    ] = None,
    major_project: Annotated[bool, typer.Option("--major-project", help="The project is a 重大建设项目.")] = False,
    resolution: Annotated[
        float | None,
        figure_option(minimum=1, help="Cell size in metres of the suitability surface; default: the profile's (10)."),
    ] = None,
    profile: ProfileName = "ten-point",
    output: Output = None,
) -> None:
    """精准选址: find --count (-n) compact sites of --area-mu 亩 each, fully reviewed, as GeoJSON.

    Each site carries its rank, score, area_mu and verdict. --county or --within limits the search; without either it
    covers the whole blueprint."""
    if county and within:
        err.print("error: give --county or --within, not both / 只能指定 --county 或 --within 之一")
        raise typer.Exit(2)
    project: dict[str, Any] = {"project_type": project_type, "major_project": major_project}
    if investment_wan is not None:
        project["investment_wan"] = investment_wan
    try:
        # before the search, not after it; never over the file it searches in, nor the blueprint's own
        distinct_files({"--within": within, "--output": output}, inputs=("--within",))
        not_the_database(ctx, {"--output": output})
        bp = load_blueprint(blueprint)
        not_the_blueprints({"--output": output}, bp)
        area = read_parcels(input_file(within, "--within")) if within else None
        prof = load_profile(profile, data_dir=cli_context(ctx).data_dir)
        with Progress(
            TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), console=err, transient=True
        ) as bar:
            task = bar.add_task("选址 siting", total=None)

            def step(what: str, done: int, total: int) -> None:
                bar.update(task, description=what, completed=done, total=total)

            search = find_sites(
                bp, area_mu=area_mu, n=count, project=project, county=county, within=area, profile=prof,
                resolution_m=resolution, progress=step,
            )  # fmt: skip
    except LantuError as exc:
        fail(exc)
    for warning in search.warnings:
        err.print(f"[yellow]warning[/yellow]: {warning}", highlight=False)
    _write(sites_geojson(search), output)
    ranks = ", ".join(f"#{s.rank} {s.area_mu:.1f} mu {s.verdict} {s.score:.1f}" for s in search.sites)
    err.print(
        f"{len(search.sites)} site(s) of {area_mu:g} mu in {len(search.regions)} feasible region(s)"
        + (f" → {output}" if output else "")
        + (f"  [{ranks}]" if ranks else ""),
        highlight=False,
        markup=False,
    )


@app.command("compare")
def compare_cmd(
    ctx: typer.Context,
    prereview: Annotated[Path, typer.Argument(help="The 预审 boundary (any parcel format).")],
    new: Annotated[Path, typer.Argument(help="The 报批 boundary to compare with it.")],
    blueprint: Annotated[
        Path | None,
        typer.Option(
            "--blueprint",
            "-b",
            help="Also review the added pieces against this blueprint (default: none, the pieces are not reviewed).",
        ),
    ] = None,
    project_type: Annotated[
        str | None,
        typer.Option(
            help=f"{PROJECT_TYPE}, for the review of the added pieces; default: none, they are reviewed without one."
        ),
    ] = None,
    profile: ProfileName = "ten-point",
    fmt: Annotated[
        CompareFormat, typer.Option("--format", "-f", help="输出格式 / output format.")
    ] = CompareFormat.json,
    output: Output = None,
    crs: GivenCRS = None,
) -> None:
    """预审变更比对: a 报批 boundary against its 预审 one: areas (m², 公顷, 亩), change, overlap, 聊城 conclusion."""
    try:
        # never over either boundary it compares (the 预审 one was lost), nor the blueprint's own files
        distinct_files({"PREREVIEW": prereview, "NEW": new, "--output": output}, inputs=("PREREVIEW", "NEW"))
        not_the_database(ctx, {"--output": output})
        bp = load_blueprint(blueprint) if blueprint else None
        if bp is not None:
            not_the_blueprints({"--output": output}, bp)
        check = compare_boundaries(
            read_parcels(input_file(prereview, "PREREVIEW"), crs=crs),
            read_parcels(input_file(new, "NEW"), crs=crs),
            blueprint=bp,
            profile=load_profile(profile, data_dir=cli_context(ctx).data_dir),
            project={"project_type": project_type} if project_type else None,
        )
    except LantuError as exc:
        fail(exc)
    text = check.model_dump_json(indent=2) if fmt is CompareFormat.json else change_check_html(check)
    _write(text, output)
    err.print(
        f"{'超出 exceeds' if check.exceeds else '未超出 within'}: "
        f"area {percent(check.area_change_ratio, check.max_area_increase, sign=True)}, "
        f"overlap {percent(check.overlap_ratio, check.min_overlap)}" + (f" → {output}" if output else ""),
        highlight=False,
    )
    if check.added_unreviewed:  # the conclusion says so; on the terminal too (no -b: the strip was never looked at)
        pieces = ", ".join(check.added_unreviewed)
        err.print(f"新增部分未经审查 / added land not reviewed: {pieces}", markup=False, highlight=False)
    for zh, en in zip(check.added_findings_zh, check.added_findings_en, strict=True):
        err.print(f"{zh} / {en}", markup=False, highlight=False)
    for said in check.warnings:
        warn(said)
