"""``lantu quota …``: the factor ledger from the command line (LANTU_DATABASE_URL, default a SQLite file)."""

from __future__ import annotations

import csv
import getpass
import io
import json
import sys
from datetime import date
from pathlib import Path
from typing import Annotated, Any

import typer
import yaml
from rich.console import Console
from rich.table import Table
from sqlalchemy import Engine

from geo.blueprint import load_blueprint
from geo.cli_context import cli_context, fail
from geo.errors import FormatError, LantuError, QuotaError
from geo.quota import Demand, Ledger, allocate, county_summary
from geo.review.result import ReviewResult

app = typer.Typer(
    help="The factor ledger (要素保障库): issue, reserve, revoke, balances, journal, map.", no_args_is_help=True
)
err = Console(stderr=True)
Year = Annotated[int, typer.Option("--year", "-y", help="Plan year (年度).")]
Actor = Annotated[str, typer.Option(help="Who does this (recorded in the journal).")]
DEFAULT_ACTOR = getpass.getuser() if hasattr(getpass, "getuser") else "cli"


def database(ctx: typer.Context) -> Engine:
    """The database of the command's context (``LANTU_DATABASE_URL`` under ``lantu``), migrated."""
    from geo.db import make_engine, migrate

    engine = make_engine(cli_context(ctx).database_url)
    migrate(engine)
    return engine


def _ledger(ctx: typer.Context) -> Ledger:
    options = cli_context(ctx)
    return Ledger(database(ctx), pooling_share=options.pooling_share, reward_ratio=options.reward_ratio)


def _run(action: Any) -> Any:
    try:
        return action()
    except LantuError as exc:
        fail(exc)


def _done(what: str, tx: int) -> None:
    err.print(f"{what}: transaction #{tx}", highlight=False)


@app.command("init")
def init(
    ctx: typer.Context,
    blueprint: Annotated[
        Path | None, typer.Option("--blueprint", "-b", help="Register the counties of this blueprint.")
    ] = None,
) -> None:
    """Create or upgrade the ledger schema; register the blueprint's counties as quota holders."""
    ledger = _run(lambda: _ledger(ctx))
    if blueprint is not None:
        bp = _run(lambda: load_blueprint(blueprint))
        county = bp.vector("county")
        if county is None:
            err.print("error: the blueprint has no county layer")
            raise typer.Exit(2)
        count = ledger.register_counties(zip(county.frame["code"].astype(str), county.frame["name"], strict=True))
        err.print(f"registered {count} counties from {bp.name}", highlight=False)
    err.print(f"ledger ready ({ledger.engine.url.render_as_string()})", highlight=False)


def _issue_rows(path: Path) -> list[tuple[str, str, float]]:
    try:
        with path.open(encoding="utf-8-sig", newline="") as f:
            rows = list(csv.DictReader(f))
    except OSError as exc:
        raise FormatError(f"cannot read {path}", f"无法读取 {path}") from exc
    if not rows or not {"county_code", "factor", "amount"} <= set(rows[0]):
        raise FormatError(
            f"{path.name}: needs the columns county_code,factor,amount",
            f"{path.name}：须含 county_code,factor,amount 列",
        )
    out = []
    for n, row in enumerate(rows, start=2):
        try:
            out.append((row["county_code"].strip(), row["factor"].strip(), float(row["amount"])))
        except (ValueError, AttributeError) as exc:
            raise FormatError(
                f"{path.name} line {n}: amount {row.get('amount')!r} is not a number",
                f"{path.name} 第 {n} 行：数量不是数字",
            ) from exc
    return out


@app.command("issue")
def issue(
    ctx: typer.Context,
    year: Year,
    csv_file: Annotated[Path, typer.Option("--csv", help="county_code,factor,amount")],
    actor: Actor = DEFAULT_ACTOR,
    reason: str = "下达年度计划指标",
) -> None:
    """下达: issue a year's quotas to counties; the configured share of land_new is pooled by the city."""
    ledger = _ledger(ctx)
    _done("issued", _run(lambda: ledger.issue(year, _issue_rows(csv_file), actor=actor, reason=reason)))


def _review(path: Path) -> ReviewResult:
    try:
        return ReviewResult.model_validate_json(path.read_bytes())
    except (OSError, ValueError) as exc:
        raise FormatError(f"{path.name} is not a lantu review result (JSON)", f"{path.name} 不是审查结果 JSON") from exc


@app.command("reserve")
def reserve(
    ctx: typer.Context,
    review_json: Annotated[Path, typer.Argument(help="A result of `lantu review` (JSON).")],
    year: Year,
    project_id: Annotated[str | None, typer.Option(help="Project id (default: the parcel id).")] = None,
    parcel: Annotated[str | None, typer.Option(help="Parcel id when the review has several.")] = None,
    county: Annotated[str | None, typer.Option(help="County code (default: from the review).")] = None,
    name: str | None = None,
    level: Annotated[str | None, typer.Option(help="省重点/市重点/县重点")] = None,
    actor: Actor = DEFAULT_ACTOR,
) -> None:
    """配置: reserve the reviewed parcel's quota for a project (idempotent)."""
    ledger = _ledger(ctx)

    def act() -> int:
        result = _review(review_json)
        pid = project_id or parcel or (result.parcels[0].id if len(result.parcels) == 1 else None)
        if pid is None:
            raise QuotaError(
                "give --project-id or --parcel for a review with several parcels",
                "审查结果含多个地块，请指定 --project-id 或 --parcel",
            )
        return ledger.reserve(
            result, year=year, project_id=pid, parcel_id=parcel, county=county, name=name, level=level, actor=actor
        )

    _done("reserved", _run(act))


@app.command("confirm")
def confirm(ctx: typer.Context, project_id: str, actor: Actor = DEFAULT_ACTOR) -> None:
    """批准: the project's reserved quota becomes approved."""
    ledger = _ledger(ctx)
    _done("confirmed", _run(lambda: ledger.confirm(project_id, actor=actor)))


@app.command("revoke")
def revoke(
    ctx: typer.Context, project_id: str, reason: str = "项目撤销，收回指标", actor: Actor = DEFAULT_ACTOR
) -> None:
    """收回: return everything the project holds to its county."""
    ledger = _ledger(ctx)
    _done("revoked", _run(lambda: ledger.revoke(project_id, actor=actor, reason=reason)))


@app.command("advance")
def advance(
    ctx: typer.Context,
    county: str,
    factor: str,
    year: Year,
    amount: Annotated[float, typer.Option(min=0)],
    actor: Actor = DEFAULT_ACTOR,
) -> None:
    """预支: use next year's quota now (next year's balance goes below zero, explicitly)."""
    ledger = _ledger(ctx)
    _done("advanced", _run(lambda: ledger.advance(county, factor, year, amount, actor=actor)))


@app.command("point-supply")
def point_supply(
    ctx: typer.Context,
    holder: Annotated[str, typer.Argument(help="County code or 'city'.")],
    factor: str,
    year: Year,
    amount: Annotated[float, typer.Option(min=0)],
    actor: Actor = DEFAULT_ACTOR,
) -> None:
    """点供: quota supplied directly by the province."""
    ledger = _ledger(ctx)
    _done("supplied", _run(lambda: ledger.point_supply(holder, factor, year, amount, actor=actor)))


@app.command("reward")
def reward(
    ctx: typer.Context,
    county: str,
    year: Year,
    disposed_m2: Annotated[float, typer.Option(min=0)],
    actor: Actor = DEFAULT_ACTOR,
) -> None:
    """增存挂钩: land_new reward for disposed 批而未供/闲置 land (LANTU_REWARD_RATIO per m²)."""
    ledger = _ledger(ctx)
    _done("rewarded", _run(lambda: ledger.stock_reward(county, year, disposed_m2, actor=actor)))


@app.command("transfer")
def transfer(
    ctx: typer.Context,
    source: str,
    target: str,
    factor: str,
    year: Year,
    amount: Annotated[float, typer.Option(min=0)],
    price_wan: Annotated[float | None, typer.Option(help="有偿调剂 price in 万元.")] = None,
    due: Annotated[str | None, typer.Option(help="临时拆借 due date YYYY-MM-DD.")] = None,
    actor: Actor = DEFAULT_ACTOR,
) -> None:
    """有偿调剂 (with --price-wan) or 临时拆借 (with --due) between counties or the city pool."""
    ledger = _ledger(ctx)

    def act() -> int:
        try:
            due_date = date.fromisoformat(due) if due else None
        except ValueError as exc:
            raise QuotaError(f"--due {due!r} is not a date (YYYY-MM-DD)", "归还日期格式应为 YYYY-MM-DD") from exc
        return ledger.transfer(
            source, target, factor, year, amount, price_wan=price_wan, due_date=due_date, actor=actor
        )

    _done("transferred", _run(act))


@app.command("repay")
def repay(ctx: typer.Context, loan_id: int, actor: Actor = DEFAULT_ACTOR) -> None:
    """Return a temporary loan (临时拆借归还)."""
    ledger = _ledger(ctx)
    _done("repaid", _run(lambda: ledger.repay(loan_id, actor=actor)))


@app.command("reverse")
def reverse(
    ctx: typer.Context,
    transaction_id: int,
    reason: Annotated[str, typer.Option(help="Why (required).")],
    actor: Actor = DEFAULT_ACTOR,
) -> None:
    """Undo a mistaken movement by an opposite one (the journal is never edited)."""
    ledger = _ledger(ctx)
    _done("reversed", _run(lambda: ledger.reverse(transaction_id, actor=actor, reason=reason)))


def _emit(rows: list[dict[str, Any]], fmt: str, title: str) -> None:
    if fmt == "json":
        sys.stdout.write(json.dumps(rows, ensure_ascii=False, indent=2) + "\n")
    elif fmt == "csv":
        out = io.StringIO()
        if rows:
            writer = csv.DictWriter(out, fieldnames=list(rows[0]))
            writer.writeheader()
            writer.writerows(rows)
        sys.stdout.write(out.getvalue())
    elif fmt == "table":
        table = Table(title=title)
        for col in rows[0] if rows else ["(empty)"]:
            table.add_column(col)
        for row in rows:
            table.add_row(
                *(f"{v:,.4f}".rstrip("0").rstrip(".") if isinstance(v, float) else str(v) for v in row.values())
            )
        Console().print(table)
    else:
        err.print(f"error: unknown format {fmt!r}; use table, json or csv")
        raise typer.Exit(2)


@app.command("balances")
def balances(
    ctx: typer.Context,
    year: Annotated[int | None, typer.Option("--year", "-y")] = None,
    fmt: Annotated[str, typer.Option("--format", "-f", help="table | json | csv")] = "table",
) -> None:
    """Balances per holder (county code, city, project id), factor and year."""
    _emit(_ledger(ctx).balances(year), fmt, f"指标余额 {year or ''}")


@app.command("journal")
def journal(
    ctx: typer.Context, fmt: Annotated[str, typer.Option("--format", "-f", help="csv | json | table")] = "csv"
) -> None:
    """Every posting of every movement, in order (who, when, why)."""
    _emit(_ledger(ctx).journal(), fmt, "指标台账流水")


@app.command("projects")
def projects(ctx: typer.Context, fmt: Annotated[str, typer.Option("--format", "-f")] = "table") -> None:
    """Projects with quota and their stage (reserved / approved / revoked)."""
    _emit(_ledger(ctx).projects(), fmt, "项目")


@app.command("overdue")
def overdue(
    ctx: typer.Context,
    today: Annotated[str | None, typer.Option(help="Date to judge by (default today).")] = None,
    fmt: Annotated[str, typer.Option("--format", "-f")] = "table",
) -> None:
    """临时拆借 past their due date and not repaid."""
    when = date.fromisoformat(today) if today else date.today()
    _emit(_ledger(ctx).overdue_loans(when), fmt, f"逾期未还的临时拆借（{when}）")


@app.command("allocate")
def allocate_cmd(
    ctx: typer.Context,
    demands_yaml: Annotated[
        Path,
        typer.Argument(
            help="YAML list: project_id, review (JSON path), parcel_id, name, level, necessity, location, readiness"
        ),
    ],
    year: Year,
    source: Annotated[str | None, typer.Option(help="Pay from this holder (e.g. city) instead of each county.")] = None,
    actor: Actor = DEFAULT_ACTOR,
) -> None:
    """Rank projects by the allocation profile and reserve in order until the quota runs out."""
    ledger = _ledger(ctx)

    def act() -> list[Any]:
        try:
            entries = yaml.safe_load(demands_yaml.read_text(encoding="utf-8"))
            demands = [Demand(**{**e, "review": _review(demands_yaml.parent / e["review"])}) for e in entries]
        except (OSError, yaml.YAMLError, TypeError, KeyError, ValueError) as exc:
            raise FormatError(f"{demands_yaml.name}: not a list of demands ({exc})", "项目需求清单格式错误") from exc
        return allocate(ledger, demands, year=year, actor=actor, source=source)

    results = _run(act)
    _emit(
        [
            {
                "project": a.project_id,
                "score": a.score,
                "covered": a.covered,
                "transaction": a.transaction,
                "reason": a.reason,
            }
            for a in results
        ],
        "table",
        "按优先级配置结果",
    )


@app.command("map")
def map_cmd(
    ctx: typer.Context,
    year: Year,
    blueprint: Annotated[Path, typer.Option("--blueprint", "-b")],
    output: Annotated[Path, typer.Option("--output", "-o")] = Path("quota_map.html"),
) -> None:
    """Quota map: counties coloured by remaining land_new, with the used share."""
    from geo.maps import map_html, quota_map

    ledger = _ledger(ctx)
    bp = _run(lambda: load_blueprint(blueprint))
    county = bp.vector("county")
    if county is None:
        err.print("error: the blueprint has no county layer")
        raise typer.Exit(2)
    output.write_text(map_html(quota_map(county.frame, county_summary(ledger, year), year=year)), encoding="utf-8")
    err.print(f"quota map → {output}", highlight=False)
