"""精准选址 and 预审变更比对 over the loaded blueprint: thin routes over ``geo.sites`` and ``geo.compare``.

Both run in the work pool (a search rasterises the county and reviews its candidates; a
comparison reviews the added pieces), never on the event loop.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

from api.deps import BlueprintDep, PoolDep, ReadableReviewId, SettingsDep, StoreDep, require
from api.errors import UnsupportedMediaError, media_type
from api.jsonbody import JSONRoute
from api.keys import Principal
from api.routes.reviews import JSON_TYPES
from api.settings import Settings
from api.work import in_child
from geo.compare import ChangeCheck, compare_boundaries
from geo.crs import M2_PER_MU, Area
from geo.errors import InputError, NotFoundError
from geo.geometry import check_size
from geo.io import parcels_from_geojson, parse_geojson_bytes
from geo.io.parcels import MAX_CRS_TEXT, ReadLimits
from geo.review import Profile, ReviewResult, load_profile
from geo.review.result import MAX_INVESTMENT_WAN, plain_figure
from geo.sites import SiteSearch, find_sites

router = APIRouter(route_class=JSONRoute, tags=["sites"])


class SiteSearchRequest(BaseModel):
    """What a planner asks: the area, the project, where to look."""

    model_config = ConfigDict(extra="forbid")

    area_mu: Annotated[float, BeforeValidator(plain_figure)] = Field(  # "1_5" is no 15 亩
        gt=0,
        le=100_000,
        allow_inf_nan=False,
        description="area the project needs, in 亩: at least one cell of the search grid (0.15 亩 at the default 10 m)",
    )
    n: int = Field(default=5, ge=1, le=50, description="how many sites")
    project_type: str = Field(default="industrial", max_length=50)
    investment_wan: Annotated[float | None, BeforeValidator(plain_figure)] = Field(
        default=None, ge=0, le=MAX_INVESTMENT_WAN, allow_inf_nan=False
    )
    major_project: bool = False
    county: str | None = Field(default=None, max_length=20, description="search this county (its code)")
    within: dict[str, Any] | None = Field(default=None, description="search inside this GeoJSON")
    resolution_m: Annotated[float | None, BeforeValidator(plain_figure)] = Field(
        default=None, ge=1, le=1000, allow_inf_nan=False, description="cell size (profile default 10 m)"
    )


def _limits(settings: Settings) -> ReadLimits:
    return ReadLimits(
        max_bytes=settings.max_extracted_bytes,
        max_parcels=settings.max_parcels,
        max_vertices=settings.max_vertices,
        max_text_bytes=settings.max_upload_bytes,
    )


def _check_area(area_mu: float, profile: Profile, resolution_m: float | None) -> None:
    """Refuse a site smaller than one cell of the search grid, before any candidate is built: the search judges
    land cell by cell (``resolution_m``, the profile's 10 m by default), so a smaller site would stand on a cell it
    does not fill, and a candidate of a fraction of a m² is then refused by the review as a speck (no larger than
    the tolerance's ``min_m2``) with a word about coordinates the caller never sent."""
    res = resolution_m or profile.siting.resolution_m
    least_m2 = max(res * res, profile.tolerance.min_m2)
    asked_m2 = area_mu * M2_PER_MU
    if asked_m2 >= least_m2 * (1 - 1e-9):  # 0.15 亩 is 99.99999999999999 m² in floats: one 10 m cell
        return
    least = Area(least_m2)
    raise InputError(
        f"area_mu {area_mu:g} mu ({asked_m2:.4g} m²) is smaller than the least site the search can place, one "
        f"{res:g} m × {res:g} m cell of its grid: {least.m2_text} m² ({least.mu:.4g} mu). Ask for at least that, "
        "or a finer resolution_m (down to 1 m)",
        f"选址面积 {area_mu:g} 亩（{asked_m2:.4g} m²）小于可选址的最小面积，"
        f"即搜索网格的一个 {res:g} m × {res:g} m 格网：{least.m2_text} m²（{least.mu:.4g} 亩）；"
        "请至少按此面积选址，或减小 resolution_m（最小 1 m）",
    )


def _search(body: SiteSearchRequest, blueprint: Any, settings: Settings) -> SiteSearch:
    profile = load_profile(settings.profile)
    _check_area(body.area_mu, profile, body.resolution_m)
    if body.county and body.within is not None:
        raise InputError("give county or within, not both", "只能指定 county 或 within 之一")
    within = parcels_from_geojson(body.within, limits=_limits(settings)) if body.within is not None else None
    project: dict[str, Any] = {"project_type": body.project_type, "major_project": body.major_project}
    if body.investment_wan is not None:
        project["investment_wan"] = body.investment_wan
    return find_sites(
        blueprint,
        area_mu=body.area_mu,
        n=body.n,
        project=project,
        county=body.county,
        within=within,
        profile=profile,
        resolution_m=body.resolution_m,
    )


@router.post(
    "/sites/search",
    response_model=SiteSearch,
    summary="Find candidate sites of a given area (精准选址), each reviewed in full",
    dependencies=[Depends(require("review:create"))],
)
async def search_sites(
    body: SiteSearchRequest, blueprint: BlueprintDep, settings: SettingsDep, pool: PoolDep
) -> SiteSearch:
    return await pool.run(_search, body, blueprint, settings)


COMPARE_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {
                "schema": {
                    "type": "object",
                    "description": "the 报批 boundary: GeoJSON FeatureCollection, Feature or geometry",
                }
            }
        },
    }
}


def _compare(
    data: bytes,
    crs: str | None,
    stored: ReviewResult,
    submitted: str,
    parcel: str | None,
    blueprint: Any,
    settings: Settings,
    deadline: float,
) -> ChangeCheck:
    limits = _limits(settings)
    new = check_size(
        parse_geojson_bytes(data, limits=limits, crs=crs),
        max_parcels=limits.max_parcels,
        max_vertices=limits.max_vertices,
    )
    chosen = [p for p in stored.parcels if parcel is None or p.id == parcel]
    if not chosen:
        raise NotFoundError(
            f"review {stored.review_id} has no parcel {parcel!r}", f"审查结果 {stored.review_id} 中没有地块 {parcel!r}"
        )
    sent = parse_geojson_bytes(submitted)  # the parcels as reviewed, at full precision (``ReviewStore.input_geojson``)
    # chosen by position (a review keeps its input's order), their ids left out: the review took them, and an id a
    # later check refuses (an invisible character) is no reason to refuse comparing with a stored 预审
    wanted = {p.id for p in chosen}
    old = sent[[p.id in wanted for p in stored.parcels]].drop(columns="id", errors="ignore")
    types = {p.project_type for p in chosen if p.project_type}
    project = {"project_type": types.pop()} if len(types) == 1 else None
    # in a child killed at the deadline, whatever its estimate: the union of the boundary's parcels and the
    # review of what it adds are not weighed before (two parcels of 300 strips each cross in a lattice)
    return in_child(
        lambda: compare_boundaries(
            old, new, blueprint=blueprint, profile=settings.profile, project=project, max_cost=settings.max_review_cost
        ),
        settings=settings,
        deadline=deadline,
    )


@router.post(
    "/reviews/{review_id}/compare",
    response_model=ChangeCheck,
    openapi_extra=COMPARE_BODY,
    summary="Compare a 报批 boundary with this review's parcels as the 预审 boundary (预审变更比对)",
)
async def compare_with_review(
    request: Request,
    review_id: ReadableReviewId,
    store: StoreDep,
    blueprint: BlueprintDep,
    settings: SettingsDep,
    pool: PoolDep,
    who: Annotated[Principal, Depends(require("review:read"))],
    parcel: Annotated[str | None, Query(max_length=200, description="one parcel of the review (default: all)")] = None,
    crs: Annotated[
        str | None,
        Query(max_length=MAX_CRS_TEXT, description="CRS of a boundary without a crs member (e.g. GK metres)"),
    ] = None,
) -> ChangeCheck:
    ctype = media_type(request)
    if ctype not in JSON_TYPES:
        raise UnsupportedMediaError(
            f"content type {ctype or 'none'!r} is not accepted; send the boundary as GeoJSON (application/json)",
            f"不支持的内容类型 {ctype or '无'!r}；请以 GeoJSON（application/json）发送报批范围",
        )
    async with pool.ticket(who.name) as ticket:  # admitted before the body is read, as a review
        stored = await ticket.run(store.get, review_id)
        submitted = await ticket.run(store.input_geojson, review_id)
        body = await request.body()
        return await ticket.run(_compare, body, crs, stored, submitted, parcel, blueprint, settings, pool.deadline())
