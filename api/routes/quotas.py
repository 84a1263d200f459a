"""Quota endpoints over the factor ledger: balances, journal, reserve from a stored review, revoke, map,
and the 增存挂钩 stock-land register."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Header, Path, Query
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, Response
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

from api.access import review_ids_shown
from api.deps import WRITE, BlueprintDep, LedgerDep, PoolDep, SettingsDep, StoreDep, require
from api.errors import ForbiddenError
from api.jsonbody import JSONRoute
from api.keys import Principal
from api.settings import Settings
from geo.blueprint import Blueprint
from geo.db import MAX_ID
from geo.errors import BlueprintError, InputError
from geo.io.quota import labelled, report_xlsx, unit_factor
from geo.io.tables import format_table
from geo.maps import map_html, quota_map
from geo.quota import FACTORS, MAX_AMOUNT, PLAN_YEARS, Ledger, county_summary
from geo.quota.report import LABELS as REPORT_LABELS
from geo.quota.report import ledger_report
from geo.quota.stock import DISPOSAL_LABELS, LAND_LABELS, RATE_LABELS
from geo.review.result import MAX_ID_CHARS, plain_figure

router = APIRouter(route_class=JSONRoute, prefix="/quotas", tags=["quotas"])
OPEN = ConfigDict(extra="allow")  # the ledger may add columns; they pass through
Reader = Annotated[Principal, Depends(require("quota:read"))]
Reserver = Annotated[Principal, Depends(require("quota:reserve"))]
Admin = Annotated[Principal, Depends(require("quota:admin"))]
FIRST_YEAR, LAST_YEAR = PLAN_YEARS


# JSON's true is no 1 m² of quota; NaN and Infinity are no figure ("Input should be a finite number", 应为有限数值):
# finiteness is declared on the float itself, as a bound added around the validator would not reach it
Figure = Annotated[float, Field(allow_inf_nan=False), BeforeValidator(plain_figure)]


class IssueRow(BaseModel):
    """One row of a plan, as a line of the CSV `lantu quota issue` reads: a member it does not know is refused, as
    the CSV refuses a column (a ``unit`` of 亩 was dropped, and 150 亩 booked as 150 m²)."""

    model_config = WRITE

    county_code: str = Field(max_length=32)
    factor: str = Field(description=f"one of {sorted(FACTORS)}", max_length=32)
    amount: Figure = Field(gt=0, le=MAX_AMOUNT, allow_inf_nan=False)
    unit: str | None = Field(
        default=None,
        max_length=16,
        description="the unit the amount is written in, as the plan CSV's unit column: an area (the land factors, "
        "booked in m²) in m² (m2, 平方米), 亩 or 公顷 (ha); any other factor only in its own unit; none: the factor's",
    )

    def booked(self, row: int) -> float | Decimal:
        """The amount in the factor's own unit (m² for an area given in 亩 or 公顷); a unit that is none of the
        factor's refused naming the ``row``; an unknown factor left for the ledger to refuse by name."""
        if self.factor not in FACTORS or not self.unit:
            return self.amount
        try:
            per_unit = unit_factor(self.unit, self.factor)
        except InputError as exc:
            raise InputError(f"row {row}: {exc.message_en}", f"第 {row} 行：{exc.message_zh}") from None
        return self.amount if per_unit == 1 else Decimal(str(self.amount)) * per_unit


class IssueRequest(BaseModel):
    model_config = WRITE

    year: int = Field(ge=FIRST_YEAR, le=LAST_YEAR)
    rows: list[IssueRow] = Field(min_length=1, max_length=1000)
    reason: str = Field(default="下达年度计划指标", max_length=500)
    again: bool = Field(
        default=False, description="the province issued these very rows again (a plan repeating one is refused)"
    )


class ReserveRequest(BaseModel):
    model_config = WRITE

    review_id: str = Field(max_length=64)
    year: int = Field(ge=FIRST_YEAR, le=LAST_YEAR)
    project_id: str = Field(max_length=64, min_length=1)
    parcel_id: str | None = Field(default=None, max_length=MAX_ID_CHARS)  # as long as a review's ids
    county: str | None = Field(default=None, max_length=32)
    source: str | None = Field(
        default=None,
        max_length=64,
        description="the parcel's county (default) or 'city': the pool pays a 重点 project's 新增 gap (what the county "
        "lacks), never 占补平衡 (聊城 办法第十七条)",
    )
    accept_missing_layers: bool = Field(default=False, description="reserve although layers were missing (journaled)")


class Movement(BaseModel):
    transaction: int


class Release(Movement):
    """A 撤回 or 收回 and what it released (``Ledger.release_note``): the quota given back, the approved quota kept,
    and any 点供 earmarked to the project still unused, with the 点供 whose reversal sends it back to the province."""

    note_zh: str
    note_en: str


def _release(ledger: Ledger, tx: int) -> Release:
    note_en, note_zh = ledger.release_note(tx)
    return Release(transaction=tx, note_zh=note_zh, note_en=note_en)


class Reservation(Movement):
    existed: bool = Field(
        description="the parcel was reserved for the project before (已存在): its first transaction, nothing moved, "
        "answered 200 rather than 201"
    )


class Balance(BaseModel):
    model_config = OPEN

    holder: str = Field(description="city pool, county code, or project id")
    holder_kind: str
    factor: str
    unit: str
    bucket: str
    year: int
    balance: float


class JournalRow(BaseModel):
    """One posting of one movement."""

    model_config = OPEN

    transaction: int
    kind: str
    created: str
    actor: str | None
    reason: str | None
    review_id: str | None
    project_id: str | None
    price_wan: float | None
    due_date: str | None
    reverses: int | None
    factor: str
    holder: str
    bucket: str
    year: int
    amount: float


class ProjectRow(BaseModel):
    model_config = OPEN

    id: str
    name: str | None
    level: str | None
    project_type: str | None
    county: str | None
    review_id: str | None
    stage: str = Field(description="reserved | approved | revoked")


class RevokeRequest(BaseModel):
    model_config = WRITE

    reason: str = Field(default="项目撤销，收回指标", max_length=500)


@router.get("/balances", response_model=list[Balance], summary="Balances per holder, factor, bucket and year")
def balances(
    ledger: LedgerDep, _who: Reader, year: Annotated[int | None, Query(ge=FIRST_YEAR, le=LAST_YEAR)] = None
) -> list[dict[str, Any]]:
    return ledger.balances(year)


@router.get(
    "/journal", response_model=list[JournalRow], summary="The journal: every posting of every movement, in order"
)
def journal(
    ledger: LedgerDep,
    who: Reader,
    limit: Annotated[int, Query(ge=1, le=10_000)] = 1000,
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
) -> list[dict[str, Any]]:
    return review_ids_shown(ledger.engine, who, ledger.journal(limit=limit, offset=offset))


@router.get("/projects", response_model=list[ProjectRow], summary="Projects holding quota and their stage")
def projects(ledger: LedgerDep, who: Reader) -> list[dict[str, Any]]:
    return review_ids_shown(ledger.engine, who, ledger.projects())


@router.post("/issue", status_code=201, response_model=Movement, summary="下达: issue quotas to counties")
async def issue(body: IssueRequest, ledger: LedgerDep, who: Admin) -> Movement:
    rows = [(r.county_code, r.factor, r.booked(n)) for n, r in enumerate(body.rows, start=1)]
    tx = await run_in_threadpool(ledger.issue, body.year, rows, actor=who.name, reason=body.reason, again=body.again)
    return Movement(transaction=tx)


@router.post(
    "/reserve",
    status_code=201,
    response_model=Reservation,
    summary="配置: reserve a stored review's quota for a project (idempotent: a repeat answers 200, existed)",
    responses={200: {"description": "reserved before (已存在): the first transaction, nothing moved"}},
)
async def reserve(
    body: ReserveRequest, ledger: LedgerDep, store: StoreDep, who: Reserver, response: Response
) -> Reservation:
    result = store.get(body.review_id)
    done = await run_in_threadpool(
        lambda: ledger.reserve_parcel(
            result,
            year=body.year,
            project_id=body.project_id,
            parcel_id=body.parcel_id,
            county=body.county,
            source=body.source,
            accept_missing_layers=body.accept_missing_layers,
            actor=who.name,
        )
    )
    if done.existed:
        response.status_code = 200
    return Reservation(transaction=done.transaction, existed=done.existed)


class ConfirmRequest(BaseModel):
    model_config = WRITE

    document: str | None = Field(
        default=None, max_length=MAX_ID_CHARS, description="批准文号 of the approval, written into the journal"
    )
    factors: Literal["land", "pollutants", "energy"] = Field(
        default="land", description="what it approves: land (用地批复), pollutants (总量确认), energy (节能审查)"
    )


@router.post("/projects/{project_id}/confirm", status_code=201, response_model=Movement, summary="批准")
async def confirm(project_id: str, ledger: LedgerDep, who: Admin, body: ConfirmRequest | None = None) -> Movement:
    asked = body or ConfirmRequest()
    return Movement(
        transaction=await run_in_threadpool(
            lambda: ledger.confirm(project_id, actor=who.name, family=asked.factors, document=asked.document)
        )
    )


@router.post("/projects/{project_id}/revoke", status_code=201, response_model=Release, summary="撤回 (reserved only)")
async def revoke(project_id: str, ledger: LedgerDep, who: Admin, body: RevokeRequest | None = None) -> Release:
    reason = body.reason if body else RevokeRequest().reason
    return await run_in_threadpool(lambda: _release(ledger, ledger.revoke(project_id, actor=who.name, reason=reason)))


class FactorsRequest(BaseModel):
    model_config = WRITE

    year: int = Field(ge=FIRST_YEAR, le=LAST_YEAR)
    needs: dict[str, Annotated[Figure, Field(ge=0, le=MAX_AMOUNT, allow_inf_nan=False)]] = Field(
        description="factor (energy, cod, nh3n, so2, nox) → amount", max_length=5
    )
    source: str | None = Field(default=None, max_length=64, description="the project's county (default) or 'city'")
    exempt_as: str | None = Field(
        default=None,
        max_length=16,
        description="the project's kind where its 环评 is not tied to the pollutant 总量 (公路, 铁路, 水利水电, "
        "光伏发电, 陆上风力发电, 保供煤矿: 平顶山 行动方案 四(四)): its pollutants are not charged. The quota "
        "officer's declaration (a quota-admin or admin key), of a kind the project's type can be",
    )


@router.post(
    "/projects/{project_id}/factors",
    status_code=201,
    response_model=Reservation,
    summary="配置 energy and pollutant 总量 for a library project (倍量替代; an earmarked 点供 first)",
    responses={200: {"description": "the same request under the caller's Idempotency-Key: the first transaction"}},
)
async def reserve_factors(
    project_id: str,
    body: FactorsRequest,
    ledger: LedgerDep,
    who: Reserver,
    response: Response,
    idempotency_key: Annotated[
        str | None,
        Header(
            min_length=1,
            max_length=100,
            pattern=r"^[\x21-\x7e]+$",
            description="a key of the client's choosing (printable ASCII), the caller's own: the same request sent "
            "again under it (a retry after a lost answer) returns the first transaction (200, existed) instead of "
            "reserving twice; another request under it is 422. Without it every request reserves: a project may be "
            "given more later",
        ),
    ] = None,
) -> Reservation:
    _declared_by_the_officer(body, who)
    done = await run_in_threadpool(
        lambda: ledger.reserve_factors(
            project_id,
            body.year,
            body.needs,
            source=body.source,
            actor=who.name,
            key=idempotency_key,
            exempt_as=body.exempt_as,
        )
    )
    if done.existed:
        response.status_code = 200
    return Reservation(transaction=done.transaction, existed=done.existed)


def _declared_by_the_officer(body: FactorsRequest, who: Principal) -> None:
    """``exempt_as`` spares a project its pollutant 总量: the quota officer declares it (DESIGN.md), not the project
    system that asks for the quota."""
    if body.exempt_as is not None and not who.can("quota:admin"):
        raise ForbiddenError(
            f"role {who.role!r} may not declare exempt_as: the quota officer (quota-admin) declares a project's kind",
            f"角色 {who.role!r} 无权申报 exempt_as：项目类别由指标管理员（quota-admin）申报",
        )


class LapseRequest(BaseModel):
    model_config = WRITE

    reason: str = Field(min_length=1, max_length=500, description="why the quota is taken back (required)")


@router.post("/projects/{project_id}/lapse", status_code=201, response_model=Release, summary="收回 (approved too)")
async def lapse(project_id: str, body: LapseRequest, ledger: LedgerDep, who: Admin) -> Release:
    return await run_in_threadpool(
        lambda: _release(ledger, ledger.lapse(project_id, actor=who.name, reason=body.reason))
    )


class ReportRow(BaseModel):
    model_config = OPEN

    county: str
    county_name: str
    factor: str
    factor_name: str
    unit: str
    issued: float
    pooled: float
    reserved: float
    released: float
    transferred: float
    balance: float
    balance_mu: float | None
    balance_ha: float | None
    projects_reserved: float
    projects_approved: float


REPORT_TYPES = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}


@router.get(
    "/report",
    response_model=list[ReportRow],
    summary="台账 report per county and factor (json; csv and xlsx with Chinese headers)",
    responses={200: {"content": {t: {} for t in REPORT_TYPES.values()}}},
)
def report(
    ledger: LedgerDep,
    _who: Reader,
    year: Annotated[int, Query(ge=FIRST_YEAR, le=LAST_YEAR)],
    format: Annotated[Literal["json", "csv", "xlsx"], Query()] = "json",
) -> Any:
    rows = ledger_report(ledger.engine, year)
    if format == "json":
        return rows
    name = f"quota-report-{year}.{format}"
    body: bytes = (
        report_xlsx(rows, REPORT_LABELS, title=f"{year}年指标台账")
        if format == "xlsx"
        else (
            "\ufeff" + format_table(labelled(rows, REPORT_LABELS, "csv"), "csv", columns=list(REPORT_LABELS.values()))
        ).encode()
    )
    return Response(
        body, media_type=REPORT_TYPES[format], headers={"Content-Disposition": f'attachment; filename="{name}"'}
    )


@router.get("/map", response_class=HTMLResponse, summary="Counties coloured by remaining land_new")
async def quota_map_page(
    ledger: LedgerDep,
    blueprint: BlueprintDep,
    settings: SettingsDep,
    pool: PoolDep,
    _who: Reader,
    year: Annotated[int, Query(ge=FIRST_YEAR, le=LAST_YEAR)],
) -> HTMLResponse:
    return HTMLResponse(await pool.run(_render_quota_map, ledger, blueprint, settings, year))


def _render_quota_map(ledger: Ledger, blueprint: Blueprint, settings: Settings, year: int) -> str:
    county = blueprint.vector("county")
    if county is None:
        raise BlueprintError("the blueprint has no county layer", "蓝图没有县级行政区图层")
    fmap = quota_map(
        county.frame,
        county_summary(ledger, year),
        year=year,
        tiles=settings.tiles,
        tianditu_key=settings.tianditu_key,
        assets="/static/leaflet",
        synthetic=blueprint.synthetic,
    )
    return map_html(fmap)


# 增存挂钩: the stock-land register, its disposals, 供地率/处置率 and the settlement (geo.quota.stock)
TABLE_TYPES = Literal["json", "csv"]


def _listing(rows: list[dict[str, Any]], labels: dict[str, str], fmt: str, name: str) -> Any:
    """JSON rows (English keys), or a CSV with the Chinese headers (亩/公顷 beside m²) for a spreadsheet."""
    if fmt == "json":
        return rows
    body = "\ufeff" + format_table(labelled(rows, labels, "csv"), "csv", columns=list(labels.values()))
    return Response(
        body.encode(), media_type=REPORT_TYPES["csv"], headers={"Content-Disposition": f'attachment; filename="{name}"'}
    )


class StockImportResult(BaseModel):
    blueprint: str
    blueprint_version: str
    added: int
    existing: int
    skipped: list[dict[str, str]] = Field(description="features not registered, with the reason (kind, feature_id)")


class DisposalRequest(BaseModel):
    model_config = WRITE

    kind: Literal["供地", "收回", "盘活"] = Field(description="供地 (批而未供 only), 收回, 盘活")
    area_m2: Figure = Field(gt=0, le=1e10, allow_inf_nan=False)
    date: dt.date
    document: str | None = Field(default=None, max_length=100, description="文号")


class Disposal(BaseModel):
    disposal: int


class SettleRequest(BaseModel):
    model_config = WRITE

    county: str = Field(max_length=32)
    year: int = Field(ge=FIRST_YEAR, le=LAST_YEAR)


class Settlement(BaseModel):
    model_config = OPEN

    settlement: int = Field(description="the settlement recorded, or (``recorded`` false) the latest, which stands")
    transaction: int | None
    county: str
    year: int
    disposals: int
    reward_m2: float
    supply_rate: float | None
    threshold: float
    penalty: bool
    recorded: bool = Field(
        default=True,
        description="false (status 200): no unsettled disposal and the same 供地率 and penalty as the county-year's "
        "latest settlement, so nothing was recorded",
    )
    note_en: str | None = None
    note_zh: str | None = None


@router.post(
    "/stock/import",
    status_code=201,
    response_model=StockImportResult,
    summary="增存挂钩: register the loaded blueprint's 批而未供 and 闲置 features (idempotent)",
)
async def stock_import(ledger: LedgerDep, blueprint: BlueprintDep, who: Admin) -> dict[str, Any]:
    return (await run_in_threadpool(lambda: ledger.import_stock(blueprint, actor=who.name))).row()


@router.get("/stock", summary="The stock-land register with what remains undisposed (json | csv)")
def stock_list(
    ledger: LedgerDep,
    _who: Reader,
    county: Annotated[str | None, Query(max_length=32)] = None,
    kind: Annotated[Literal["approved_unsupplied", "idle_land"] | None, Query()] = None,
    format: Annotated[TABLE_TYPES, Query()] = "json",
) -> Any:
    return _listing(ledger.stock_land(county=county, kind=kind), LAND_LABELS, format, "stock-land.csv")


@router.get("/stock/disposals", summary="Every disposal (供地, 收回, 盘活) with its settlement (json | csv)")
def stock_disposal_list(
    ledger: LedgerDep,
    _who: Reader,
    county: Annotated[str | None, Query(max_length=32)] = None,
    format: Annotated[TABLE_TYPES, Query()] = "json",
) -> Any:
    return _listing(ledger.stock_disposals(county=county), DISPOSAL_LABELS, format, "stock-disposals.csv")


@router.post(
    "/stock/{land_id}/disposals",
    status_code=201,
    response_model=Disposal,
    summary="处置: record a 供地, 收回 or 盘活 (409 beyond the undisposed area or before approval, 422 after today)",
)
async def stock_dispose(
    land_id: Annotated[int, Path(ge=1, le=MAX_ID, description="the register's id (a database integer)")],
    body: DisposalRequest,
    ledger: LedgerDep,
    who: Admin,
) -> Disposal:
    disposal = await run_in_threadpool(
        lambda: ledger.dispose(land_id, body.kind, body.area_m2, body.date, actor=who.name, document=body.document)
    )
    return Disposal(disposal=disposal)


@router.get("/stock/rates", summary="五年供地率 and 处置率 per county at the end of a year (json | csv)")
def stock_rates(
    ledger: LedgerDep,
    _who: Reader,
    year: Annotated[int, Query(ge=FIRST_YEAR, le=LAST_YEAR)],
    county: Annotated[str | None, Query(max_length=32)] = None,
    format: Annotated[TABLE_TYPES, Query()] = "json",
) -> Any:
    return _listing(ledger.stock_rates(year, county=county), RATE_LABELS, format, f"stock-rates-{year}.csv")


@router.post(
    "/stock/settle",
    status_code=201,
    response_model=Settlement,
    summary="增存挂钩核算: book the reward of a county's year (once per disposal) and its 供地率 penalty",
    responses={200: {"model": Settlement, "description": "nothing new: the latest settlement stands, none recorded"}},
)
async def stock_settle(body: SettleRequest, ledger: LedgerDep, who: Admin, response: Response) -> dict[str, Any]:
    done = await run_in_threadpool(lambda: ledger.stock_settle(body.county, body.year, actor=who.name))
    if not done["recorded"]:
        response.status_code = 200
    return done
