"""``lantu quota …``: the factor ledger from the command line (LANTU_DATABASE_URL under ``lantu``, default a
SQLite file; ``python -m geo.cli`` uses the default).

Each command opens its inputs (``geo.io``), calls one library function and writes
its output (``geo.io.tables``); every rule lives in ``geo.quota``.
"""

from __future__ import annotations

import getpass
import sys
from collections.abc import Callable, Sequence
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Annotated, TextIO, TypeVar

import typer
from rich.console import Console
from sqlalchemy import Engine

from geo.blueprint import load_blueprint
from geo.cli_context import (
    AsOfOption,
    Layout,
    LayoutOption,
    Output,
    ProjectId,
    TableFormat,
    accept_unverified,
    actor_option,
    binary_output_refused,
    cli_context,
    fail,
    figure_option,
    judged_on,
    not_the_blueprints,
    not_the_database,
    option_date,
    reading_key,
    show_table,
    stdout_is_terminal,
    warn,
    write_binary_stdout,
)
from geo.crs import Area
from geo.errors import BlueprintError, FormatError, InputError, LantuError
from geo.io.files import input_file, output_file, whole_files, write_whole
from geo.io.quota import labelled, read_quota_plan, read_signed_demands, read_signed_review, report_xlsx
from geo.io.tables import Row, table_format
from geo.quota import PLAN_YEARS, Ledger, allocate, county_summary
from geo.quota.accounts import FACTORS
from geo.quota.holders import blueprint_counties
from geo.quota.movements import Reserved
from geo.quota.queries import (
    BALANCE_LABELS,
    BALANCE_TABLE,
    JOURNAL_LABELS,
    OVERDUE_LABELS,
    OVERDUE_TABLE,
    PROJECT_LABELS,
    PROJECT_TABLE,
    for_people,
)
from geo.quota.report import LABELS as REPORT_LABELS
from geo.quota.report import TABLE as REPORT_TABLE
from geo.quota.report import TextTable, ledger_report
from geo.quota.reservations import default_project_id
from geo.quota.stock import (
    DISPOSAL_LABELS,
    DISPOSAL_TABLE,
    LAND_LABELS,
    LAND_TABLE,
    RATE_LABELS,
    RATE_TABLE,
    SKIPPED_LABELS,
)
from geo.review.result import plain_figure

app = typer.Typer(
    help="要素保障库: the factor ledger (in LANTU_DATABASE_URL under `lantu`; sqlite:///lantu.db under "
    "`python -m geo.cli`): init; issue, reserve, reserve-factors, allocate, "
    "confirm, revoke, lapse, advance, advance-reduction, point-supply, carry-earmark, reduction, transfer, repay, "
    "reverse; balances, journal, projects, overdue, report, map; stock (增存挂钩).",
    no_args_is_help=True,
)
stock = typer.Typer(
    help="增存挂钩: the stock-land register (批而未供, 闲置), disposals, 供地率/处置率, settlement.",
    no_args_is_help=True,
)
app.add_typer(stock, name="stock")
err = Console(stderr=True)
FIRST_YEAR, LAST_YEAR = PLAN_YEARS
Year = Annotated[int, typer.Option("--year", "-y", min=FIRST_YEAR, max=LAST_YEAR, help="Plan year (年度).")]
Actor = Annotated[str, actor_option("经办人: who does this, recorded with it")]
Format = TableFormat
County = Annotated[str, typer.Argument(help="County code (区县代码).")]
FACTOR_UNITS = (
    "m² (land_new, land_compensation, land_compensation_paddy), kg (land_compensation_grain), tce 吨标准煤 (energy), "
    "t 吨 (cod, nh3n, so2, nox)"
)
Factor = Annotated[str, typer.Argument(help=f"Factor (要素): {' | '.join(FACTORS)}.")]
Amount = Annotated[float, figure_option(minimum=0, help=f"In the factor's unit: {FACTOR_UNITS}.")]
Tonnes = Annotated[float, figure_option(minimum=0, help="In t (吨).")]
Reason = Annotated[str, typer.Option(help="事由: why, recorded in the journal.")]
# the allocation table's columns (``Allocation.row``): JSON keeps the English keys
ALLOCATION_LABELS = {
    "project": "项目编号",
    "score": "综合得分",
    "covered": "是否配置",
    "transaction": "交易号",
    "reason": "说明",
}
AcceptUnsigned = Annotated[
    bool,
    typer.Option(
        "--accept-unsigned",
        help="Reserve from review files lantu cannot verify (未经签名核验: unsigned, or signed by another "
        "installation's key), said on stderr (default: refused).",
    ),
]
DEFAULT_ACTOR = getpass.getuser() if hasattr(getpass, "getuser") else "cli"
T = TypeVar("T")
RESERVE_REASON = "项目用地指标配置"  # the ledger's own default reason of a reservation
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
    layout: Layout,
    table: TextTable | None = None,
    width: int = TABLE_WIDTH,
) -> None:
    """Check the format first, then query and write the rows to stdout: JSON with the English keys, a CSV with
    ``labels``' Chinese headers (county names, units, 公顷/亩 beside m²), a table with ``table``'s (each area in m²,
    公顷 and 亩 as every lantu text writes them), else ``labels``', laid out as ``layout`` asks."""
    kind = attempt(lambda: table_format(fmt))
    data = [dict(r) for r in attempt(rows)]  # queried once, whatever the format
    if labels is None or kind == "json":
        show_table(data if labels is not None else for_people(data), kind, sys.stdout, layout=layout, title=title)
        return
    people = for_people(data)
    if kind == "table" and table is not None:
        people, labels = [table.texts(r) for r in people], dict(table.labels)
    show_table(
        labelled(people, labels, kind),
        kind,
        sys.stdout,
        layout=layout,
        title=title,
        columns=list(labels.values()),
        width=width,
    )


@app.command("init")
def init(
    ctx: typer.Context,
    blueprint: Annotated[
        Path | None, typer.Option("--blueprint", "-b", help="Register the counties of this blueprint.")
    ] = None,
) -> None:
    """初始化: create or upgrade the ledger's tables; with --blueprint, register its counties as holders.

    The database is LANTU_DATABASE_URL under `lantu` (default sqlite:///lantu.db, a file in the working directory);
    `python -m geo.cli` reads no LANTU_* setting and always uses sqlite:///lantu.db."""
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
    csv_file: Annotated[
        Path,
        typer.Option(
            "--csv",
            help="The plan: a CSV with columns county_code,factor,amount and optionally unit and 备注 (UTF-8 or "
            f"GBK); amount in the factor's unit: {FACTOR_UNITS}; an area may say unit 亩 or 公顷 (ha).",
        ),
    ],
    again: Annotated[
        bool,
        typer.Option(
            "--again",
            help="The province issued the same plan a second time (再次下达): book it although it repeats an earlier "
            "issue of the year row for row (default: refused, naming it; noted in the journal).",
        ),
    ] = False,
    actor: Actor = DEFAULT_ACTOR,
    reason: Reason = "下达年度计划指标",
) -> None:
    """下达: issue a year's plan quotas to counties; the city pools its share of each factor.

    The shares are ledger.yaml's pooling (30 % of land_new and of each pollutant); LANTU_POOLING_SHARE sets
    land_new's. A plan repeating an earlier issue of the year row for row is refused unless --again."""
    ledger = _ledger(ctx)
    _done(
        "已下达 / issued",
        lambda: ledger.issue(
            year, read_quota_plan(input_file(csv_file, "--csv")), actor=actor, reason=reason, again=again
        ),
    )


@app.command("reserve")
def reserve(
    ctx: typer.Context,
    review_json: Annotated[Path, typer.Argument(help="A result of `lantu review` (JSON).")],
    year: Year,
    project_id: Annotated[str | None, typer.Option(help="Project id (项目编号; default: the parcel id).")] = None,
    parcel: Annotated[str | None, typer.Option(help="Parcel id when the review has several.")] = None,
    county: Annotated[
        str | None, typer.Option(help="County code; must be the parcel's (checked; default: from the review).")
    ] = None,
    source: Annotated[
        str | None,
        typer.Option(
            help="Who pays: the parcel's county (default) or 'city' (市级统筹: a 重点 project's 新增 gap, what the "
            "county lacks; never 占补平衡)."
        ),
    ] = None,
    accept_missing_layers: Annotated[
        bool,
        typer.Option(
            "--accept-missing-layers",  # the API's accept_missing_layers, the name issue 12 gives the flag,
            hidden=True,  # shown as --accept-missing: the longer name is cut in an 80-column help's cell
            help="The same as --accept-missing.",
        ),
    ] = False,
    accept_missing: Annotated[
        bool,
        typer.Option(
            "--accept-missing",
            help="Reserve although items went unchecked for missing layers (缺失图层; noted in the journal). Also "
            "--accept-missing-layers.",
        ),
    ] = False,
    accept_unsigned: Annotated[
        bool,
        typer.Option(
            "--accept-unsigned",
            help="Reserve from a review file lantu cannot verify (未经签名核验: unsigned, or signed by another "
            "installation's key; noted in the journal). Default: refused.",
        ),
    ] = False,
    actor: Actor = DEFAULT_ACTOR,
) -> None:
    """配置: set aside the reviewed parcel's 新增建设用地 and 占补平衡 quota for a project of the library.

    The project must be in the project library at stage 储备, 审批 or 建设 (先入库后保障). Reserving the parcel again
    for the same project says 已存在 / already reserved, with the first transaction, and changes nothing. The review
    file must be one `lantu review` signed with this installation's key; one changed after it was signed is refused
    always."""
    ledger = _ledger(ctx)

    def act() -> Reserved:
        result, check = read_signed_review(input_file(review_json, "REVIEW_JSON"), key=reading_key(ctx))
        accept_unverified(
            review_json.name,
            check,
            accepted=accept_unsigned,
            act=("reserve", "配置"),
            noted=("noted in the journal", "记入台账事由"),
        )
        reason = (
            RESERVE_REASON
            if check.verified
            else f"{RESERVE_REASON}（经 --accept-unsigned 接受未经签名核验的审查结果文件：{check.why_zh}）"
        )
        return ledger.reserve_parcel(
            result,
            year=year,
            project_id=project_id or default_project_id(result, parcel),
            parcel_id=parcel,
            county=county,
            source=source,
            accept_missing_layers=accept_missing_layers or accept_missing,
            actor=actor,
            reason=reason,
        )

    done = attempt(act)
    if done.existed:  # the same request again: said as such, never as a new reservation
        err.print(
            f"已存在 / already reserved：交易 / transaction #{done.transaction}（该地块此前已为该项目配置，台账未变 / "
            "reserved for the project before, the ledger unchanged）",
            markup=False,
            highlight=False,
        )
        return
    _done("已配置 / reserved", lambda: done.transaction)


@app.command("reserve-factors")
def reserve_factors(
    ctx: typer.Context,
    project_id: ProjectId,
    year: Year,
    need: Annotated[
        list[str],
        typer.Option(
            help="FACTOR=AMOUNT, repeatable: energy in tce (吨标准煤), cod, nh3n, so2, nox in t (吨); the project's "
            "own need, before the 倍量替代 ratios."
        ),
    ],
    source: Annotated[
        str | None,
        typer.Option(help="'city' to pay from the pool (市级统筹, 重点 projects only); default: its county."),
    ] = None,
    exempt_as: Annotated[
        str | None,
        typer.Option(
            help="The project's kind where its 环评 is not tied to the pollutant 总量 (公路, 铁路, 水利水电, 光伏发电, "
            "陆上风力发电, 保供煤矿: 平顶山 行动方案 四(四)), one the project's type can be (公路: transport or "
            "infrastructure…); its pollutants are then not charged."
        ),
    ] = None,
    actor: Actor = DEFAULT_ACTOR,
) -> None:
    """配置能耗与污染物总量: a library project's needs × the 倍量替代 ratios (a declared exempt kind pays no 总量).

    点供 earmarked to the project pays first, its county (or the pool) the rest."""
    ledger = _ledger(ctx)
    _done(
        "已配置 / reserved",
        lambda: (
            ledger.reserve_factors(
                project_id, year, _needs(need), source=source, actor=actor, exempt_as=exempt_as
            ).transaction
        ),
    )


def _needs(pairs: list[str]) -> dict[str, Decimal]:
    out: dict[str, Decimal] = {}
    for pair in pairs:
        factor, _, value = pair.partition("=")
        try:
            out[factor.strip()] = Decimal(plain_figure(value.strip()))  # no digit separators: Decimal reads 1_5 as 15
        except (InvalidOperation, InputError) as exc:
            raise InputError(
                f"--need {pair!r} is not FACTOR=AMOUNT (a plain number: no digit separators)",
                f"--need {pair!r} 应为 要素=数量（数量为数字，不含分隔符）",
            ) from exc
    return out


@app.command("confirm")
def confirm(
    ctx: typer.Context,
    project_id: ProjectId,
    document: Annotated[
        str | None,
        typer.Option(help="批准文号 of the approval (用地批复; a 总量确认), recorded in the journal."),
    ] = None,
    factors: Annotated[
        str,
        typer.Option(
            help="What the approval approves: land (用地批复), pollutants (生态环境 总量确认), energy (节能审查)."
        ),
    ] = "land",
    actor: Actor = DEFAULT_ACTOR,
) -> None:
    """批准: the project's reserved quota of one family of factors becomes approved, each by its own approval."""
    ledger = _ledger(ctx)
    _done("已确认 / confirmed", lambda: ledger.confirm(project_id, actor=actor, family=factors, document=document))


@app.command("revoke")
def revoke(
    ctx: typer.Context, project_id: ProjectId, reason: Reason = "项目撤销，收回指标", actor: Actor = DEFAULT_ACTOR
) -> None:
    """撤回: return the project's reserved (not yet approved) quota to the accounts that paid it.

    Its approved quota stays (a lapse takes it back); what was released and what is kept is said, areas in m², 公顷
    and 亩."""
    ledger = _ledger(ctx)
    _released(ledger, "已撤回 / revoked", attempt(lambda: ledger.revoke(project_id, actor=actor, reason=reason)))


def _released(ledger: Ledger, done: str, tx: int) -> None:
    """A 撤回 or 收回 done, and what it released (:meth:`~geo.quota.queries.Queries.release_note`)."""
    _done(done, lambda: tx)
    note_en, note_zh = attempt(lambda: ledger.release_note(tx))
    err.print(f"{note_zh}\n{note_en}", markup=False, highlight=False, soft_wrap=True)  # a log keeps whole lines


@app.command("lapse")
def lapse(
    ctx: typer.Context,
    project_id: ProjectId,
    reason: Annotated[str, typer.Option(help="事由: why the quota is taken back, recorded in the journal.")],
    actor: Actor = DEFAULT_ACTOR,
) -> None:
    """收回: take back everything the project holds, approved quota included, to the accounts that paid it.

    What was released is said, areas in m², 公顷 and 亩, and any 点供 earmarked to the project still unused, with
    the 点供 transaction whose reversal sends it back to the province."""
    ledger = _ledger(ctx)
    _released(ledger, "已收回 / lapsed", attempt(lambda: ledger.lapse(project_id, actor=actor, reason=reason)))


@app.command("advance")
def advance(
    ctx: typer.Context,
    county: County,
    factor: Annotated[str, typer.Argument(help="land_new: the only factor that may be advanced.")],
    year: Year,
    amount: Annotated[float, figure_option(minimum=0, help="In m² of next year's land_new.")],
    actor: Actor = DEFAULT_ACTOR,
) -> None:
    """预支: use next year's land_new quota in --year (next year's balance goes below zero, explicitly).

    Only before next year's plan is issued to the county (聊城 重点项目推进全周期服务办法 第十七条: 在每年新增建设
    用地计划管理细则明确前,预支新增土地指标), and up to the city's share of this year's issue (ledger.yaml
    advance_cap_share)."""
    ledger = _ledger(ctx)
    _done("已预支 / advanced", lambda: ledger.advance(county, factor, year, amount, actor=actor))


@app.command("point-supply")
def point_supply(
    ctx: typer.Context,
    holder: Annotated[str, typer.Argument(help="County code or 'city' (市级统筹).")],
    factor: Factor,
    year: Year,
    amount: Amount,
    project_id: Annotated[
        str | None,
        typer.Option(help="Earmark it to this project of the library (in the holder's county; not 竣工 or 撤销)."),
    ] = None,
    actor: Actor = DEFAULT_ACTOR,
) -> None:
    """点供: quota supplied directly by the province, to a county or earmarked to one project."""
    ledger = _ledger(ctx)
    _done(
        "已点供 / supplied",
        lambda: ledger.point_supply(holder, factor, year, amount, actor=actor, project_id=project_id),
    )


@app.command("carry-earmark")
def carry_earmark(
    ctx: typer.Context,
    project_id: Annotated[str, typer.Argument(help="Project id (项目编号) whose earmarked 点供 is carried.")],
    year: Annotated[
        int,
        typer.Option("--year", "-y", min=FIRST_YEAR, max=LAST_YEAR - 1, help="Plan year (年度) it is carried from."),
    ],
    actor: Actor = DEFAULT_ACTOR,
) -> None:
    """点供结转: carry a project's earmarked 点供 unused in --year to the next year, where its reservations use it."""
    ledger = _ledger(ctx)
    _done("已结转 / carried", lambda: ledger.carry_earmark(project_id, year, actor=actor))


@app.command("reduction")
def reduction(
    ctx: typer.Context,
    county: County,
    factor: Annotated[str, typer.Argument(help="Pollutant (污染物): cod | nh3n | so2 | nox.")],
    year: Year,
    amount: Tonnes,
    source: Annotated[str, typer.Option(help="Where the reduction comes from (关停企业、治理项目…).")],
    settles: Annotated[
        int | None, typer.Option(help="Transaction id of the 削减量预支 (advance-reduction) it makes good.")
    ] = None,
    actor: Actor = DEFAULT_ACTOR,
) -> None:
    """污染物削减量: a realised reduction enters the county; the city pools its share (30 % in ledger.yaml)."""
    ledger = _ledger(ctx)
    _done(
        "已入库 / entered",
        lambda: ledger.reduction(county, factor, year, amount, source=source, settles=settles, actor=actor),
    )


@app.command("advance-reduction")
def advance_reduction(
    ctx: typer.Context,
    county: County,
    factor: Annotated[str, typer.Argument(help="Pollutant (污染物): cod | nh3n | so2 | nox.")],
    year: Year,
    amount: Tonnes,
    project_id: Annotated[
        str,
        typer.Option(
            help="Project id (项目编号) whose pollutant 总量 it serves: in the library, in the county, from 储备 to "
            "建设, at a level ledger.yaml's reduction_advance allows (sample: 国家重大, 省重点, 市重点)."
        ),
    ],
    source: Annotated[str, typer.Option(help="The named reduction it is advanced from (削减来源).")],
    deadline: Annotated[str, typer.Option(help="到位期限: due before production starts (投产前), YYYY-MM-DD.")],
    actor: Actor = DEFAULT_ACTOR,
) -> None:
    """削减量预支: pollutant quota now, for a project, against a named reduction due by --deadline (overdue after it).

    Only for a project of the library at the levels the city's rule names (济宁 济政办字〔2020〕52号 三、(三)3: 省级、
    市级重点保障项目; 兰州 兰政办发〔2020〕149号 四、(六)2: 市级项目; ledger.yaml reduction_advance)."""
    ledger = _ledger(ctx)
    _done(
        "已预支 / advanced",
        lambda: ledger.advance_reduction(
            county,
            factor,
            year,
            amount,
            project_id=project_id,
            source=source,
            deadline=option_date(deadline, "--deadline"),
            actor=actor,
        ),
    )


@app.command("report")
def report(
    ctx: typer.Context,
    year: Year,
    fmt: Annotated[
        str,
        typer.Option(
            "--format", "-f", help="Output format (输出格式): table | csv | json | xlsx (a file, or stdout redirected)."
        ),
    ] = "table",
    output: Output = None,
    layout: LayoutOption = Layout.auto,
) -> None:
    """台账 report: per county and factor, the movements of --year adding up to the balance (中文表头).

    Columns: 下达, 市级统筹, 点供, 增存挂钩奖励, 污染物削减量, 预支, 配置, 撤回/收回, 调剂/拆借, 冲销, 余额 (公顷 and
    亩 beside m²), 其中预支未还 (what of an advance the year's issue has not repaid yet), and what projects hold,
    counted to the holder that paid it; energy and pollutants in their own unit. xlsx goes to --output, or to stdout
    redirected to a file (never to a terminal)."""
    attempt(lambda: not_the_database(ctx, {"--output": output}))  # the report over the ledger it is read from
    if fmt != "xlsx":  # the formats of a table, and the workbook: "use table, json, csv" left xlsx out
        attempt(lambda: _report_format(fmt))
    ledger = _ledger(ctx)
    if output is not None:
        attempt(lambda: output_file(output, "--output"))  # before the report is made
    if fmt == "xlsx":
        if output is None and stdout_is_terminal():
            fail(binary_output_refused("xlsx"))
        data = attempt(
            lambda: report_xlsx(ledger_report(ledger.engine, year), REPORT_LABELS, title=f"{year}年指标台账")
        )
        if output is None:  # stdout is a file or a pipe (`lantu quota report -y 2026 -f xlsx > 台账.xlsx`)
            write_binary_stdout(data)
            return
        attempt(lambda: write_whole(output, data))
        err.print(f"report → {output}", highlight=False)
        return
    kind = attempt(lambda: table_format(fmt))
    rows = attempt(lambda: ledger_report(ledger.engine, year))
    labels = REPORT_LABELS
    if kind == "table":  # each amount in its unit, an area in m², 公顷 and 亩 as every lantu text writes them
        rows, labels = [REPORT_TABLE.texts(r) for r in rows], dict(REPORT_TABLE.labels)
    columns = None if kind == "json" else list(labels.values())
    title = f"{year}年指标台账"

    def show(target: TextIO) -> None:  # 17 columns: a terminal table as wide as the sheet, never squeezed
        show_table(labelled(rows, labels, kind), kind, target, layout=layout, title=title, columns=columns, width=300)

    if output is None:
        show(sys.stdout)
        return
    try:
        with (
            whole_files() as files,
            files.writing(output, option="--output") as part,
            open(part, "w", encoding="utf-8-sig", newline="") as target,
        ):
            show(target)
    except LantuError as exc:
        fail(exc)


def _report_format(fmt: str) -> str:
    """``fmt`` if the report is written in it (a table's formats, and xlsx); else the refusal naming all four."""
    try:
        return table_format(fmt)
    except FormatError:
        raise FormatError(
            f"unknown format {fmt!r}; use table, csv, json or xlsx", f"未知格式 {fmt!r}，可用：table、csv、json、xlsx"
        ) from None


@app.command("transfer")
def transfer(
    ctx: typer.Context,
    source: Annotated[str, typer.Argument(help="Who gives (调出方): a county code or 'city'.")],
    target: Annotated[str, typer.Argument(help="Who receives (调入方): a county code or 'city'.")],
    factor: Factor,
    year: Year,
    amount: Amount,
    price_wan: Annotated[float | None, figure_option(help="有偿调剂: the price, in 万元.")] = None,
    due: Annotated[
        str | None, typer.Option(help="临时拆借: the date it is due back, YYYY-MM-DD (today or later, Beijing time).")
    ] = None,
    actor: Actor = DEFAULT_ACTOR,
) -> None:
    """调剂/拆借: 有偿调剂 (with --price-wan) or 临时拆借 (with --due) between counties or the city pool.

    Exactly one of --price-wan and --due; a loan is returned by `lantu quota repay`."""
    ledger = _ledger(ctx)
    _done(
        "已临时拆借 / lent (temporary loan)" if due is not None else "已有偿调剂 / transferred (paid)",
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
def repay(
    ctx: typer.Context,
    loan_id: Annotated[int, typer.Argument(help="交易号 of the 临时拆借 (see `lantu quota overdue` or the journal).")],
    actor: Actor = DEFAULT_ACTOR,
) -> None:
    """归还: return a temporary loan (临时拆借) to the holder that lent it."""
    ledger = _ledger(ctx)
    _done("已归还 / repaid", lambda: ledger.repay(loan_id, actor=actor))


@app.command("reverse")
def reverse(
    ctx: typer.Context,
    transaction_id: Annotated[int, typer.Argument(help="交易号 of the movement to undo (see `lantu quota journal`).")],
    reason: Annotated[str, typer.Option(help="事由: why it is undone, recorded in the journal.")],
    actor: Actor = DEFAULT_ACTOR,
) -> None:
    """冲销: undo a mistaken movement by an opposite one (the journal is never edited)."""
    ledger = _ledger(ctx)
    _done("已冲销 / reversed", lambda: ledger.reverse(transaction_id, actor=actor, reason=reason))


@app.command("balances")
def balances(
    ctx: typer.Context,
    year: Annotated[
        int | None,
        typer.Option("--year", "-y", min=FIRST_YEAR, max=LAST_YEAR, help="Plan year (年度); default: every year."),
    ] = None,
    fmt: Format = "table",
    layout: LayoutOption = Layout.auto,
) -> None:
    """指标余额: balances per holder (county, city pool, project), factor, account and year.

    Areas in m², 公顷 and 亩; energy, pollutants and grain capacity in their own unit (tce, t, kg)."""
    ledger = _ledger(ctx)
    _show(
        lambda: ledger.balances(year),
        fmt,
        f"指标余额 {year or ''}",
        BALANCE_LABELS,
        layout=layout,
        table=BALANCE_TABLE,
    )


@app.command("journal")
def journal(ctx: typer.Context, fmt: Format = "csv", layout: LayoutOption = Layout.auto) -> None:
    """台账流水: every posting of every movement, in order (who, when, why)."""
    ledger = _ledger(ctx)
    _show(ledger.journal, fmt, "指标台账流水", JOURNAL_LABELS, layout=layout)


@app.command("projects")
def projects(ctx: typer.Context, fmt: Format = "table", layout: LayoutOption = Layout.auto) -> None:
    """项目指标状态: projects with quota, their stage and the land_new they hold (m², 公顷, 亩).

    Stages 已配置 / 已批准 / 已撤回或收回; JSON keeps the English stage (reserved / approved / revoked)."""
    ledger = _ledger(ctx)
    _show(ledger.projects, fmt, "项目指标状态", PROJECT_LABELS, layout=layout, table=PROJECT_TABLE)


@app.command("overdue")
def overdue(
    ctx: typer.Context,
    as_of: AsOfOption = None,
    today: Annotated[
        str | None,
        # its first name, kept working (`projects overdue` and `consult overdue` say --as-of); an option of
        # its own, not a second name of --as-of, so that the two given together are not the last one silently
        typer.Option("--today", help="Former name of --as-of.", hidden=True),
    ] = None,
    fmt: Format = "table",
    layout: LayoutOption = Layout.auto,
) -> None:
    """逾期: 临时拆借 not repaid and 削减量预支 not settled, past their due date.

    Each with who lent (出借方) and who owes (借入方), the factor, the amount in its unit (an area in m², 公顷 and
    亩), the due date and the days overdue."""
    ledger = _ledger(ctx)
    if as_of is not None and today is not None and as_of != today:
        fail(
            InputError(
                f"--as-of {as_of!r} and --today {today!r} (its former name) disagree: give one",
                "--as-of 与其旧名 --today 给出的日期不同：请只给一个",
            )
        )
    when = attempt(lambda: judged_on(as_of if as_of is not None else today))
    title = f"逾期未还的临时拆借与未到位的削减量预支（{when}）"
    _show(lambda: ledger.overdue_loans(when), fmt, title, OVERDUE_LABELS, layout=layout, table=OVERDUE_TABLE)


@app.command("allocate")
def allocate_cmd(
    ctx: typer.Context,
    demands_yaml: Annotated[
        Path,
        typer.Argument(
            help="YAML list of demands: project_id, review (a review JSON, relative to the file) and optionally "
            "parcel_id, name, level (the project library's; another is refused), necessity, location, readiness."
        ),
    ],
    year: Year,
    source: Annotated[str | None, typer.Option(help="Pay from the city pool ('city') instead of each county.")] = None,
    actor: Actor = DEFAULT_ACTOR,
    fmt: Format = "table",
    layout: LayoutOption = Layout.auto,
    accept_unsigned: AcceptUnsigned = False,
) -> None:
    """按优先级配置: rank projects by the allocation profile and reserve in order until the quota runs out.

    A project the remaining quota no longer covers is reported, not partly served. Each review file must be one
    `lantu review` signed with this installation's key, as for `lantu quota reserve`."""
    ledger = _ledger(ctx)
    attempt(lambda: table_format(fmt))
    read = attempt(lambda: read_signed_demands(input_file(demands_yaml, "DEMANDS_YAML"), key=reading_key(ctx)))
    for where_en, where_zh, check in read.unverified:
        if not accept_unsigned:
            fail(
                InputError(
                    f"{where_en} could not be verified as written by lantu: {check.why_en}. Its verdicts cannot be "
                    "trusted: review the parcels again (lantu review), or, having checked the files, allocate with "
                    "--accept-unsigned",
                    f"{where_zh} 未经 lantu 签名核验：{check.why_zh}。其审查结论无法确认未被改动：请重新审查（lantu "
                    "review），或核实文件后加 --accept-unsigned",
                )
            )
        warn(
            f"{where_zh} 未经签名核验，经 --accept-unsigned 接受 / {where_en}: not verified, accepted ({check.why_en})"
        )
    demands = read.demands
    _show(
        lambda: [a.row() for a in allocate(ledger, demands, year=year, actor=actor, source=source)],
        fmt,
        "按优先级配置结果",
        ALLOCATION_LABELS,
        layout=layout,
    )


@app.command("map")
def map_cmd(
    ctx: typer.Context,
    year: Year,
    blueprint: Annotated[Path, typer.Option("--blueprint", "-b", help="Blueprint directory with the county layer.")],
    output: Annotated[Path, typer.Option("--output", "-o", help="HTML file to write.")] = Path("quota_map.html"),
) -> None:
    """指标地图: counties coloured by their remaining land_new (m², 亩) of --year, with the share used."""
    from geo.maps import map_html, quota_map

    attempt(lambda: output_file(output, "--output"))
    attempt(lambda: not_the_database(ctx, {"--output": output}))  # the map over the ledger it is drawn from
    ledger = _ledger(ctx)
    bp = attempt(lambda: load_blueprint(blueprint))
    attempt(lambda: not_the_blueprints({"--output": output}, bp))  # the map over its manifest left none to load
    county = bp.vector("county")
    if county is None:
        fail(BlueprintError("the blueprint has no county layer", "蓝图没有县级行政区图层"))
    page = map_html(quota_map(county.frame, county_summary(ledger, year), year=year, synthetic=bp.synthetic))
    attempt(lambda: write_whole(output, page))
    err.print(f"指标地图 / quota map → {output}", markup=False, highlight=False)


@stock.command("import")
def stock_import(
    ctx: typer.Context,
    blueprint: Annotated[Path, typer.Option("--blueprint", "-b", help="The blueprint whose stock layers to register.")],
    fmt: Annotated[
        str, typer.Option("--format", "-f", help="Format of the features not registered: table | json | csv.")
    ] = "table",
    actor: Actor = DEFAULT_ACTOR,
    layout: LayoutOption = Layout.auto,
) -> None:
    """存量土地登记: register the blueprint's 批而未供 and 闲置 features; lists those it could not register.

    Each feature's area is measured in m² in its Gauss-Krüger zone; a feature registered already, from this or an
    earlier blueprint version, is left as it is."""
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
        _show(lambda: done.skipped, fmt, "未登记的存量土地要素", SKIPPED_LABELS, layout=layout)


@stock.command("dispose")
def stock_dispose(
    ctx: typer.Context,
    land_id: Annotated[int, typer.Argument(help="登记号 (see `lantu quota stock list`).")],
    kind: Annotated[str, typer.Option(help="处置方式: 供地 (批而未供 only) | 收回 | 盘活.")],
    area_m2: Annotated[float, figure_option(help="Area disposed, m².")],
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
    county: Annotated[str | None, typer.Option(help="County code (default: every county).")] = None,
    kind: Annotated[
        str | None, typer.Option(help="approved_unsupplied (批而未供) | idle_land (闲置); default: both.")
    ] = None,
    fmt: Format = "table",
    layout: LayoutOption = Layout.auto,
) -> None:
    """存量土地台账: each 批而未供/闲置 entry with its approval year, area and what is undisposed (m², 公顷, 亩)."""
    ledger = _ledger(ctx)
    _show(
        lambda: ledger.stock_land(county=county, kind=kind),
        fmt,
        "存量建设用地台账（增存挂钩）",
        LAND_LABELS,
        layout=layout,
        table=LAND_TABLE,
        width=260,
    )


@stock.command("disposals")
def stock_disposals(
    ctx: typer.Context,
    county: Annotated[str | None, typer.Option(help="County code (default: every county).")] = None,
    fmt: Format = "table",
    layout: LayoutOption = Layout.auto,
) -> None:
    """处置记录: every disposal with its area (m², 公顷, 亩), date, 文号 and the settlement that rewarded it."""
    ledger = _ledger(ctx)
    _show(
        lambda: ledger.stock_disposals(county=county),
        fmt,
        "存量土地处置记录",
        DISPOSAL_LABELS,
        layout=layout,
        table=DISPOSAL_TABLE,
    )


@stock.command("rates")
def stock_rates(
    ctx: typer.Context,
    year: Year,
    county: Annotated[str | None, typer.Option(help="County code (default: every county).")] = None,
    fmt: Format = "table",
    layout: LayoutOption = Layout.auto,
) -> None:
    """供地率与处置率: 五年供地率 and 处置率 per county at the end of --year, and the reward due.

    The reward is what the county's disposals of the year not yet settled would earn. Areas in m², 公顷 and 亩; rates
    in per cent in the table, as fractions in JSON and CSV."""
    ledger = _ledger(ctx)
    _show(
        lambda: ledger.stock_rates(year, county=county),
        fmt,
        f"{year}年供地率与处置率",
        RATE_LABELS,
        layout=layout,
        table=RATE_TABLE,
        width=300,
    )


@stock.command("settle")
def stock_settle(ctx: typer.Context, county: County, year: Year, actor: Actor = DEFAULT_ACTOR) -> None:
    """增存挂钩核算: book the reward of the county's disposals of --year (once) and record its 供地率 penalty.

    Below the threshold (60 % in ledger.yaml) the county's own land_new is reserved only for 国家重大 projects and
    民生保障 (public_service) types, until a later settlement is above it."""
    ledger = _ledger(ctx)
    done = attempt(lambda: ledger.stock_settle(county, year, actor=actor))
    if not done["recorded"]:  # nothing new: the latest settlement stands, no row added
        err.print(f"{done['note_zh']} / {done['note_en']}", markup=False, highlight=False)
        return
    rate = "—" if done["supply_rate"] is None else f"{done['supply_rate']:.1%}"
    penalty = "，低于下限：新增指标仅保障豁免项目 / below the threshold: new quota for exempt projects only"
    err.print(
        f"增存挂钩核算 #{done['settlement']}：{done['disposals']} 宗处置，奖励 {Area(done['reward_m2']).zh}"
        + (f"，交易 / transaction #{done['transaction']}" if done["transaction"] else "，无奖励交易 / no reward booked")
        + f"，五年供地率 {rate}"
        + (penalty if done["penalty"] else ""),
        markup=False,
        highlight=False,
    )
