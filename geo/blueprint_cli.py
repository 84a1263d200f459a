"""``lantu blueprint build | check | diff``: thin commands over :mod:`geo.build` and the loader."""

from __future__ import annotations

import json
import sys
from datetime import UTC, date, datetime
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer
import yaml
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from geo.blueprint import MANIFEST, Blueprint, layer_summary, load_blueprint
from geo.build.report import BUILD_REPORT, BuildReport
from geo.cli_context import cli_context, fail
from geo.crs import Area
from geo.errors import BlueprintError, LantuError
from geo.io.tables import print_whole

app = typer.Typer(help="一张蓝图 blueprint: build from a city's databases, check, diff.", no_args_is_help=True)
err = Console(stderr=True)
PIPED_WIDTH = 200  # tables written to a file or a pipe keep their columns whole


def _show(table: Table, *, stderr: bool = False) -> None:
    """A table on the terminal, fitted to it; to a pipe or a file, whole, at least ``PIPED_WIDTH`` wide (a build's
    report went to its log 80 columns wide, its sources' paths cut to "build/demo/s…")."""
    stream = sys.stderr if stderr else sys.stdout
    if stream.isatty():
        Console(file=stream).print(table)
    else:
        print_whole(table, stream, PIPED_WIDTH)


class Format(StrEnum):
    table = "table"
    json = "json"


class Store(StrEnum):
    parquet = "parquet"
    fgb = "fgb"


FormatOption = Annotated[Format, typer.Option("--format", "-f", help="输出格式 / output format: table | json.")]


@app.command("build")
def build_cmd(
    ctx: typer.Context,
    sources: Annotated[
        list[Path],
        typer.Argument(
            help="File Geodatabases (.gdb), shapefiles (.shp, a folder, a .zip), GeoPackage, GeoJSON, slope .tif."
        ),
    ],
    output: Annotated[Path, typer.Option("--output", "-o", help="Blueprint directory to write (replaced whole).")],
    preset: Annotated[
        list[str] | None,
        typer.Option("--preset", "-p", help="Preset name or YAML path (repeatable); default: sandiao, guotu, lantu."),
    ] = None,
    county: Annotated[
        str | None,
        typer.Option(help="Clip every layer to this county (6-digit 行政区代码); default: no clipping."),
    ] = None,
    data_date: Annotated[
        str | None,
        typer.Option(
            "--date", help="现势性: the date the data describe, e.g. 2023-12-31; default: each preset's own, if any."
        ),
    ] = None,
    name: Annotated[
        str | None,
        typer.Option(
            help="The blueprint's name; default: 一张蓝图, followed by the --county code, e.g. 一张蓝图（370811）."
        ),
    ] = None,
    crs: Annotated[
        str | None,
        typer.Option(
            help="坐标系 / CRS of sources that declare none, e.g. EPSG:4527; default: none, such a source is refused."
        ),
    ] = None,
    store: Annotated[
        Store, typer.Option(help="Layer files: parquet (GeoParquet, fastest to load) or fgb (FlatGeobuf).")
    ] = Store.parquet,
) -> None:
    """构建蓝图: build a blueprint from the sources; the report lists every repair. Exit 2 on bad input."""
    from geo.build import build_blueprint

    try:
        when = date.fromisoformat(data_date) if data_date is not None else None
    except ValueError:
        err.print(escape(f"error: --date {data_date!r} is not a date (YYYY-MM-DD) / 现势性日期格式应为 YYYY-MM-DD"))
        raise typer.Exit(2) from None
    data_dir = cli_context(ctx).data_dir
    try:
        report = build_blueprint(
            sources,
            output,
            presets=preset or (),
            search=[data_dir] if data_dir else [],
            county=county,
            data_date=when,
            name=name,
            crs=crs,
            store=store.value,
        )
    except LantuError as exc:
        fail(exc)
    _print_report(report, stderr=True)
    err.print(escape(f"蓝图 blueprint {report.version} → {output}"), highlight=False)


@app.command("check")
def check_cmd(
    directory: Annotated[Path, typer.Argument(help="Blueprint directory.")],
    fmt: FormatOption = Format.table,
    as_json: Annotated[bool, typer.Option("--json", hidden=True, help="Same as --format json.")] = False,
    record: Annotated[
        bool,
        typer.Option(
            "--record",
            help="记录校验结果: write each sound layer's check into its <id>.meta.json, so that loads skip the "
            "per-polygon tests while its file is unchanged (a build records its own).",
        ),
    ] = False,
) -> None:
    """校验蓝图: validate a blueprint (files, fields, CRS, every polygon, version); print its layers, build report."""
    try:
        bp = load_blueprint(directory, recheck=True, record=record)
        stamped_ok = _version_matches(bp)
    except LantuError as exc:
        fail(exc)
    rows = layer_summary(bp)
    report_path = bp.root / BUILD_REPORT
    report = BuildReport.model_validate_json(report_path.read_text(encoding="utf-8")) if report_path.is_file() else None
    if fmt is Format.json or as_json:
        body: dict[str, Any] = {"name": bp.name, "version": bp.version, "version_ok": stamped_ok, "layers": rows}
        body["build"] = report.model_dump() if report else None
        sys.stdout.write(json.dumps(body, ensure_ascii=False, indent=2) + "\n")
    else:
        mark = "✓" if stamped_ok else "✗ 文件与版本号不符 / changed after the build"  # not ✓ above a refusal
        table = Table(title=escape(f"{bp.name} {mark}  版本 version {bp.version}"))
        for col in ("图层 id", "名称 name", "类型 kind", "要素数 features", "坐标系 crs"):
            table.add_column(col)
        for r in rows:  # cells are Rich markup: the file's words are escaped
            table.add_row(*(escape(str(v)) for v in (r["id"], r["name_zh"], r["kind"], r["features"] or "", r["crs"])))
        _show(table)
        if report is not None:
            _print_report(report)
    if not stamped_ok:
        err.print(
            f"error: the files no longer match version {bp.version} (changed after the build) / 蓝图文件与版本号不符",
            highlight=False,
        )
        raise typer.Exit(2)


def _version_matches(bp: Blueprint) -> bool:
    """Whether a stamped version still matches the files (a hand-written manifest has nothing to match)."""
    from geo.io.blueprint import blueprint_version

    raw = yaml.safe_load((bp.root / MANIFEST).read_text(encoding="utf-8"))
    if not raw.get("version"):
        return True
    try:
        built = datetime.fromisoformat(str(raw.get("built"))).replace(tzinfo=UTC)
    except ValueError as exc:
        raise BlueprintError(
            f"{MANIFEST}: built {raw.get('built')!r} is not a date", f"{MANIFEST}：built 不是日期"
        ) from exc
    return bool(blueprint_version(bp.root, raw, built) == raw["version"])


@app.command("diff")
def diff_cmd(
    old: Annotated[Path, typer.Argument(help="The blueprint in service.")],
    new: Annotated[Path, typer.Argument(help="The new build.")],
    fmt: FormatOption = Format.table,
) -> None:
    """蓝图比对: per layer, features added, removed and with changed attributes, and the areas in m², 公顷 and 亩.

    Review a yearly update before it goes live. The table writes each area in m² (2 decimals), 公顷 (4) and 亩 (2),
    one under another; JSON keeps the figures in m² (old_area_m2, new_area_m2, added_m2, removed_m2). A raster
    layer (坡度) is compared whole, its grid and pixels: changed or unchanged, its pixel counts for features."""
    from geo.build.diff import diff_blueprints

    try:
        result = diff_blueprints(load_blueprint(old), load_blueprint(new))
    except LantuError as exc:
        fail(exc)
    if fmt is Format.json:
        sys.stdout.write(result.model_dump_json(indent=2) + "\n")
        return
    table = Table(title=escape(f"{result.old_version} → {result.new_version}"))
    for col in ("图层 layer", "状态 status", "原 old", "新 new", "新增 added", "删除 removed", "属性变更 attrs changed",
                "原面积 area old", "新面积 area new"):  # fmt: skip
        table.add_column(col)
    for r in result.layers:
        table.add_row(
            r.layer,
            r.status,
            str(r.old_features),
            str(r.new_features),
            str(r.added),
            str(r.removed),
            str(r.attributes_changed),
            *(("—" if m2 is None else Area(m2).stacked) for m2 in (r.old_area_m2, r.new_area_m2)),
        )
    _show(table)


def _print_report(report: BuildReport, *, stderr: bool = False) -> None:
    title = f"build {report.version} ({report.built}, {report.crs}, presets {', '.join(report.presets)})"
    table = Table(title=escape(title))
    for col in ("图层 layer", "要素数 features", "来源 sources", "现势性 date", "修复 repairs"):
        table.add_column(col)
    for layer in report.layers.values():
        sources = "\n".join(
            f"{s.path} [{s.layer}] {s.crs} {s.encoding or ''} {s.encoding_how or ''}" for s in layer.sources
        )
        repairs = "\n".join(f"{r.kind} ×{r.count}: {r.detail}" for r in layer.repairs) or "—"
        table.add_row(*(escape(v) for v in (layer.id, str(layer.features), sources, layer.date or "—", repairs)))
    _show(table, stderr=stderr)
    console = Console(stderr=stderr)
    for s in report.skipped:
        console.print(escape(f"跳过 skipped {s.path} [{s.layer}]: {s.reason}"), highlight=False)
    for w in report.warnings:
        console.print(f"[yellow]警告 warning[/yellow]: {escape(w)}", highlight=False)
