"""``lantu quota …``: the factor ledger from the command line (LANTU_DATABASE_URL, default a SQLite file).

Each command opens its inputs (``geo.io``), calls one library function and writes
its output (``geo.io.tables``); every rule lives in ``geo.quota``.
"""

from __future__ import annotations

import getpass
import sys
from collections.abc import Callable, Sequence
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Annotated, TypeVar

import typer
from rich.console import Console
from sqlalchemy import Engine

from geo.blueprint import load_blueprint
from geo.cli_context import Output, cli_context, fail, option_date
from geo.errors import BlueprintError, InputError, LantuError
from geo.io.quota import labelled, read_demands, read_quota_plan, read_review_result, report_xlsx
from geo.io.tables import Row, table_format, write_table
from geo.papers import beijing_today
from geo.quota import PLAN_YEARS, Ledger, allocate, county_summary
from geo.quota.holders import blueprint_counties
from geo.quota.queries import BALANCE_LABELS, JOURNAL_LABELS, OVERDUE_LABELS, PROJECT_LABELS, for_people
from geo.quota.report import LABELS as REPORT_LABELS
from geo.quota.report import ledger_report
from geo.quota.reservations import default_project_id
from geo.quota.stock import DISPOSAL_LABELS, LAND_LABELS, RATE_LABELS, SKIPPED_LABELS

app = typer.Typer(
    help="The factor ledger (要素保障库): issue, reserve, revoke, balances, journal, map.", no_args_is_help=True
)
stock = typer.Typer(
    help="增存挂钩: the stock-land register (批而未供, 闲置), disposals, 供地率/处置率, settlement.",
    no_args_is_help=True,
)
app.add_typer(stock, name="stock")
err = Console(stderr=True)
FIRST_YEAR, LAST_YEAR = PLAN_YEARS
Year = Annotated[int, typer.Option("--year", "-y", min=FIRST_YEAR, max=LAST_YEAR, help="Plan year (年度).")]
Actor = Annotated[str, typer.Option(help="Who does this (recorded in the journal).")]
Format = Annotated[str, typer.Option("--format", "-f", help="table | json | csv")]
DEFAULT_ACTOR = getpass.getuser() if hasattr(getpass, "getuser") else "cli"
T = TypeVar("T")
TABLE_WIDTH = 200  # Chinese ledger tables keep their columns whole in a narrow or piped terminal


def database(ctx: typer.Context) -> Engine:
    """The database of the command's context (``LANTU_DATABASE_URL`` under ``lantu``), migrated."""
    from geo.db import make_engine, migrate

    engine = make_engine(cli_context(ctx).database_url)
    migrate(engine)
    return engine


def _ledger(ctx: typer.Context) -> Ledger:
    options = cli_context(ctx)
    return attempt(lambda: Ledger(database(ctx), pooling_share=options.pooling_share))


def attempt(action: Callable[[], T]) -> T:
    """``action()``; a library error ends the command with exit 2 and the reason in Chinese and English."""
    try:
        return action()
    except LantuError as exc:
        fail(exc)


def _done(what: str, action: Callable[[], int]) -> None:
    err.print(f"{what}：交易 / transaction #{attempt(action)}", markup=False, highlight=False)


def _show(
    rows: Callable[[], Sequence[Row]],
    fmt: str,
    title: str,
    labels: dict[str, str] | None = None,
    *,
    width: int = TABLE_WIDTH,
) -> None:
    """Check the format first, then query and write the rows to stdout: JSON with the English keys,
    a table or a CSV with ``labels``' Chinese headers (county names, units, 亩/公顷 beside m²)."""
    kind = attempt(lambda: table_format(fmt))
    data = for_people([dict(r) for r in attempt(rows)])
    if labels is None or kind == "json":
        write_table(data if labels is None else [dict(r) for r in attempt(rows)], kind, sys.stdout, title=title)
        return
    write_table(labelled(data, labels, kind), kind, sys.stdout, title=title, columns=list(labels.values()), width=width)


@app.command("init")
def init(
    ctx: typer.Context,
    blueprint: Annotated[
        Path | None, typer.Option("--blueprint", "-b", help="Register the counties of this blueprint.")
    ] = None,
) -> None:
    """Create or upgrade the ledger schema; register the blueprint's counties as quota holders."""
    ledger = _ledger(ctx)
    if blueprint is not None:
        bp = attempt(lambda: load_blueprint(blueprint))
        count = attempt(lambda: ledger.register_counties(blueprint_counties(bp)))
        err.print(
            f"已从 {bp.name} 登记 {count} 个县区 / registered {count} counties from {bp.name}",
            markup=False,
            highlight=False,
        )
    err.print(f"指标台账就绪 / ledger ready ({ledger.engine.url.render_as_string()})", markup=False, highlight=False)


@app.command("issue")
def issue(
    ctx: typer.Context,
    year: Year,
    csv_file: Annotated[Path, typer.Option("--csv", help="county_code,factor,amount (UTF-8 or GBK)")],
    actor: Actor = DEFAULT_ACTOR,
    reason: str = "下达年度计划指标",
) -> None:
    """下达: issue a year's quotas to counties; the city pools the share ledger.yaml's ``pooling`` sets of each
    factor it names (land_new, and the pollutants)."""
    ledger = _ledger(ctx)
    _done("issued", lambda: ledger.issue(year, read_quota_plan(csv_file), actor=actor, reason=reason))


@app.command("reserve")
def reserve(
    ctx: typer.Context,
    review_json: Annotated[Path, typer.Argument(help="A result of `lantu review` (JSON).")],
    year: Year,
    project_id: Annotated[str | None, typer.Option(help="Project id (default: the parcel id).")] = None,
    parcel: Annotated[str | None, typer.Option(help="Parcel id when the review has several.")] = None,
    county: Annotated[
        str | None, typer.Option(help="County code; must be the parcel's (checked, default: from the review).")
    ] = None,
    source: Annotated[
        str | None,
        typer.Option(help="Who pays: the parcel's county (default) or 'city' (the pool, 重点 projects only)."),
    ] = None,
    accept_missing_layers: Annotated[
        bool, typer.Option(help="Reserve although items were not checked for missing layers (journaled).")
    ] = False,
    actor: Actor = DEFAULT_ACTOR,
) -> None:
    """配置: reserve the reviewed parcel's quota for a project of the library from 储备 to 建设 (idempotent)."""
    ledger = _ledger(ctx)

    def act() -> int:
        result = read_review_result(review_json)
        return ledger.reserve(
            result,
            year=year,
            project_id=project_id or default_project_id(result, parcel),
            parcel_id=parcel,
            county=county,
            source=source,
            accept_missing_layers=accept_missing_layers,
            actor=actor,
        )

    _done("reserved", act)


@app.command("reserve-factors")
def reserve_factors(
    ctx: typer.Context,
    project_id: str,
    year: Year,
    need: Annotated[list[str], typer.Option(help="FACTOR=AMOUNT (energy, cod, nh3n, so2, nox), repeatable.")],
    source: Annotated[str | None, typer.Option(help="'city' for the pool (重点 projects only).")] = None,
    exempt_as: Annotated[
        str | None,
        typer.Option(
            help="the project's kind where its 环评 is not tied to the pollutant 总量 (公路, 铁路, 水利水电, 光伏发电, "
            "陆上风力发电, 保供煤矿: 平顶山 行动方案 四(四)); its pollutants are then not charged"
        ),
    ] = None,
    actor: Actor = DEFAULT_ACTOR,
) -> None:
    """配置能耗与污染物总量: a library project's needs × the 倍量替代 ratios (a declared exempt kind pays no 总量)."""
    ledger = _ledger(ctx)
    _done(
        "reserved",
        lambda: ledger.reserve_factors(project_id, year, _needs(need), source=source, actor=actor, exempt_as=exempt_as),
    )


def _needs(pairs: list[str]) -> dict[str, Decimal]:
    out: dict[str, Decimal] = {}
    for pair in pairs:
        factor, _, value = pair.partition("=")
        try:
            out[factor.strip()] = Decimal(value.strip())
        except InvalidOperation as exc:
            raise InputError(f"--need {pair!r} is not FACTOR=AMOUNT", f"--need {pair!r} 应为 要素=数量") from exc
    return out


@app.command("confirm")
def confirm(ctx: typer.Context, project_id: str, actor: Actor = DEFAULT_ACTOR) -> None:
    """批准: the project's reserved quota becomes approved."""
    ledger = _ledger(ctx)
    _done("confirmed", lambda: ledger.confirm(project_id, actor=actor))


@app.command("revoke")
def revoke(
    ctx: typer.Context, project_id: str, reason: str = "项目撤销，收回指标", actor: Actor = DEFAULT_ACTOR
) -> None:
    """撤回: return the project's reserved (not yet approved) quota to the accounts that paid it."""
    ledger = _ledger(ctx)
    _done("revoked", lambda: ledger.revoke(project_id, actor=actor, reason=reason))


@app.command("lapse")
def lapse(
    ctx: typer.Context,
    project_id: str,
    reason: Annotated[str, typer.Option(help="Why the quota is taken back (required).")],
    actor: Actor = DEFAULT_ACTOR,
) -> None:
    """收回: take back everything the project holds, approved quota included, to the accounts that paid it."""
    ledger = _ledger(ctx)
    _done("lapsed", lambda: ledger.lapse(project_id, actor=actor, reason=reason))


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
    _done("advanced", lambda: ledger.advance(county, factor, year, amount, actor=actor))


@app.command("point-supply")
def point_supply(
    ctx: typer.Context,
    holder: Annotated[str, typer.Argument(help="County code or 'city'.")],
    factor: str,
    year: Year,
    amount: Annotated[float, typer.Option(min=0)],
    project_id: Annotated[
        str | None, typer.Option(help="Earmark it to this project of the library (in HOLDER, its county).")
    ] = None,
    actor: Actor = DEFAULT_ACTOR,
) -> None:
    """点供: quota supplied directly by the province, to a county or earmarked to one project."""
    ledger = _ledger(ctx)
    _done("supplied", lambda: ledger.point_supply(holder, factor, year, amount, actor=actor, project_id=project_id))


@app.command("reduction")
def reduction(
    ctx: typer.Context,
    county: str,
    factor: Annotated[str, typer.Argument(help="cod | nh3n | so2 | nox")],
    year: Year,
    amount: Annotated[float, typer.Option(min=0, help="Tonnes.")],
    source: Annotated[str, typer.Option(help="Where the reduction comes from (关停企业、治理项目…).")],
    settles: Annotated[int | None, typer.Option(help="The reduction advance (transaction) it makes good.")] = None,
    actor: Actor = DEFAULT_ACTOR,
) -> None:
    """污染物削减量: a realised reduction enters the county; the city pools its share (30 %)."""
    ledger = _ledger(ctx)
    _done(
        "entered", lambda: ledger.reduction(county, factor, year, amount, source=source, settles=settles, actor=actor)
    )


@app.command("advance-reduction")
def advance_reduction(
    ctx: typer.Context,
    county: str,
    factor: Annotated[str, typer.Argument(help="cod | nh3n | so2 | nox")],
    year: Year,
    amount: Annotated[float, typer.Option(min=0, help="Tonnes.")],
    source: Annotated[str, typer.Option(help="The named reduction it is advanced from.")],
    deadline: Annotated[str, typer.Option(help="Due before production starts (投产前), YYYY-MM-DD.")],
    actor: Actor = DEFAULT_ACTOR,
) -> None:
    """削减量预支: pollutant quota now against a named reduction due by DEADLINE (overdue after it)."""
    ledger = _ledger(ctx)
    _done(
        "advanced",
        lambda: ledger.advance_reduction(
            county,
            factor,
            year,
            amount,
            source=source,
            deadline=option_date(deadline, "--deadline"),
            actor=actor,
        ),
    )


@app.command("report")
def report(
    ctx: typer.Context,
    year: Year,
    fmt: Annotated[str, typer.Option("--format", "-f", help="table | csv | json | xlsx")] = "table",
    output: Output = None,  # required for xlsx
) -> None:
    """台账 report: per county and factor — issued, pooled, reserved, released, transferred, balance (中文表头)."""
    ledger = _ledger(ctx)
    if fmt == "xlsx":
        if output is None:
            fail(InputError("--format xlsx needs --output FILE", "xlsx 格式须用 --output 指定文件"))
        data = attempt(
            lambda: report_xlsx(ledger_report(ledger.engine, year), REPORT_LABELS, title=f"{year}年指标台账")
        )
        output.write_bytes(data)
        err.print(f"report → {output}", highlight=False)
        return
    kind = attempt(lambda: table_format(fmt))
    rows = attempt(lambda: ledger_report(ledger.engine, year))
    target = output.open("w", encoding="utf-8-sig", newline="") if output is not None else sys.stdout
    try:
        columns = None if kind == "json" else list(REPORT_LABELS.values())
        write_table(  # 19 columns: a terminal table as wide as the sheet, never squeezed into unreadable wraps
            labelled(rows, REPORT_LABELS, kind), kind, target, title=f"{year}年指标台账", columns=columns, width=240
        )
    finally:
        if output is not None:
            target.close()


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
    _done(
        "transferred",
        lambda: ledger.transfer(
            source,
            target,
            factor,
            year,
            amount,
            price_wan=price_wan,
            due_date=option_date(due, "--due") if due is not None else None,
            actor=actor,
        ),
    )


@app.command("repay")
def repay(ctx: typer.Context, loan_id: int, actor: Actor = DEFAULT_ACTOR) -> None:
    """Return a temporary loan (临时拆借归还)."""
    ledger = _ledger(ctx)
    _done("repaid", lambda: ledger.repay(loan_id, actor=actor))


@app.command("reverse")
def reverse(
    ctx: typer.Context,
    transaction_id: int,
    reason: Annotated[str, typer.Option(help="Why (required).")],
    actor: Actor = DEFAULT_ACTOR,
) -> None:
    """Undo a mistaken movement by an opposite one (the journal is never edited)."""
    ledger = _ledger(ctx)
    _done("reversed", lambda: ledger.reverse(transaction_id, actor=actor, reason=reason))


@app.command("balances")
def balances(
    ctx: typer.Context,
    year: Annotated[int | None, typer.Option("--year", "-y", min=FIRST_YEAR, max=LAST_YEAR)] = None,
    fmt: Format = "table",
) -> None:
    """Balances per holder (county code, city, project id), factor and year."""
    ledger = _ledger(ctx)
    _show(lambda: ledger.balances(year), fmt, f"指标余额 {year or ''}", BALANCE_LABELS)


@app.command("journal")
def journal(ctx: typer.Context, fmt: Format = "csv") -> None:
    """Every posting of every movement, in order (who, when, why)."""
    ledger = _ledger(ctx)
    _show(ledger.journal, fmt, "指标台账流水", JOURNAL_LABELS)


@app.command("projects")
def projects(ctx: typer.Context, fmt: Format = "table") -> None:
    """Projects with quota and their stage (reserved / approved / revoked)."""
    ledger = _ledger(ctx)
    _show(ledger.projects, fmt, "项目指标状态", PROJECT_LABELS)


@app.command("overdue")
def overdue(
    ctx: typer.Context,
    today: Annotated[str | None, typer.Option(help="Date to judge by (default today).")] = None,
    fmt: Format = "table",
) -> None:
    """临时拆借 not repaid and 削减量预支 not settled, past their due date."""
    ledger = _ledger(ctx)
    when = attempt(lambda: option_date(today, "--today")) if today is not None else beijing_today()
    _show(lambda: ledger.overdue_loans(when), fmt, f"逾期未还的临时拆借与未到位的削减量预支（{when}）", OVERDUE_LABELS)


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
    source: Annotated[str | None, typer.Option(help="Pay from the city pool ('city') instead of each county.")] = None,
    actor: Actor = DEFAULT_ACTOR,
    fmt: Format = "table",
) -> None:
    """Rank projects by the allocation profile and reserve in order until the quota runs out."""
    ledger = _ledger(ctx)
    attempt(lambda: table_format(fmt))
    demands = attempt(lambda: read_demands(demands_yaml))
    _show(
        lambda: [a.row() for a in allocate(ledger, demands, year=year, actor=actor, source=source)],
        fmt,
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
    bp = attempt(lambda: load_blueprint(blueprint))
    county = bp.vector("county")
    if county is None:
        fail(BlueprintError("the blueprint has no county layer", "蓝图没有县级行政区图层"))
    output.write_text(map_html(quota_map(county.frame, county_summary(ledger, year), year=year)), encoding="utf-8")
    err.print(f"指标地图 / quota map → {output}", markup=False, highlight=False)


@stock.command("import")
def stock_import(
    ctx: typer.Context,
    blueprint: Annotated[Path, typer.Option("--blueprint", "-b", help="The blueprint whose stock layers to register.")],
    fmt: Format = "table",
    actor: Actor = DEFAULT_ACTOR,
) -> None:
    """Register the blueprint's 批而未供 and 闲置 features (idempotent); lists the features it could not register."""
    ledger = _ledger(ctx)
    attempt(lambda: table_format(fmt))
    bp = attempt(lambda: load_blueprint(blueprint))
    done = attempt(lambda: ledger.import_stock(bp, actor=actor))
    err.print(
        f"存量土地登记：新增 {done.added} 宗，已登记 {done.existing} 宗，未登记 {len(done.skipped)} 宗 / "
        f"stock land: {done.added} added, {done.existing} registered already, {len(done.skipped)} not registered "
        f"({done.blueprint} {done.blueprint_version})",
        markup=False,
        highlight=False,
    )
    if done.skipped:
        _show(lambda: done.skipped, fmt, "未登记的存量土地要素", SKIPPED_LABELS)


@stock.command("dispose")
def stock_dispose(
    ctx: typer.Context,
    land_id: Annotated[int, typer.Argument(help="登记号 (see `lantu quota stock list`).")],
    kind: Annotated[str, typer.Option(help="供地 (批而未供 only) | 收回 | 盘活")],
    area_m2: Annotated[float, typer.Option(help="Area disposed, m².")],
    on: Annotated[str, typer.Option("--date", help="Date of the disposal, YYYY-MM-DD.")],
    document: Annotated[str | None, typer.Option(help="文号 of the decision (供地批复、收回决定书…).")] = None,
    actor: Actor = DEFAULT_ACTOR,
) -> None:
    """处置: record a 供地, 收回 or 盘活 of a register entry (never beyond its undisposed area)."""
    ledger = _ledger(ctx)
    when = attempt(lambda: option_date(on, "--date"))
    disposal = attempt(lambda: ledger.dispose(land_id, kind, area_m2, when, actor=actor, document=document))
    err.print(f"处置已登记 / disposal recorded：#{disposal}", markup=False, highlight=False)


@stock.command("list")
def stock_list(
    ctx: typer.Context,
    county: Annotated[str | None, typer.Option(help="County code.")] = None,
    kind: Annotated[str | None, typer.Option(help="approved_unsupplied | idle_land")] = None,
    fmt: Format = "table",
) -> None:
    """The register: each 批而未供/闲置 entry with its approval year, area and what remains undisposed."""
    ledger = _ledger(ctx)
    _show(
        lambda: ledger.stock_land(county=county, kind=kind), fmt, "存量建设用地台账（增存挂钩）", LAND_LABELS, width=260
    )


@stock.command("disposals")
def stock_disposals(
    ctx: typer.Context, county: Annotated[str | None, typer.Option(help="County code.")] = None, fmt: Format = "table"
) -> None:
    """Every disposal with its date, 文号 and the settlement that rewarded it."""
    ledger = _ledger(ctx)
    _show(lambda: ledger.stock_disposals(county=county), fmt, "存量土地处置记录", DISPOSAL_LABELS)


@stock.command("rates")
def stock_rates(
    ctx: typer.Context,
    year: Year,
    county: Annotated[str | None, typer.Option(help="County code (default: every county).")] = None,
    fmt: Format = "table",
) -> None:
    """五年供地率 and 处置率 per county at the end of YEAR, and the reward its unsettled disposals would earn."""
    ledger = _ledger(ctx)
    _show(lambda: ledger.stock_rates(year, county=county), fmt, f"{year}年供地率与处置率", RATE_LABELS, width=300)


@stock.command("settle")
def stock_settle(ctx: typer.Context, county: str, year: Year, actor: Actor = DEFAULT_ACTOR) -> None:
    """增存挂钩核算: book the reward of the county's disposals of YEAR (once) and record its 供地率 penalty."""
    ledger = _ledger(ctx)
    done = attempt(lambda: ledger.stock_settle(county, year, actor=actor))
    rate = "—" if done["supply_rate"] is None else f"{done['supply_rate']:.1%}"
    penalty = "，低于下限：新增指标仅保障豁免项目 / below the threshold: new quota for exempt projects only"
    err.print(
        f"增存挂钩核算 #{done['settlement']}：{done['disposals']} 宗处置，奖励 {done['reward_m2']:,.2f} m²"
        f"（交易 / transaction #{done['transaction'] or '—'}），五年供地率 {rate}"
        + (penalty if done["penalty"] else ""),
        markup=False,
        highlight=False,
    )
