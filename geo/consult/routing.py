"""Which department answers for what: the routing table ``layers/departments.yaml``.

聊城《重点项目推进全周期服务办法（试行）》第七条、第十条: the departments concerned consult online
and each feeds back its factor and preliminary opinion. Who is concerned is data, not code:
review items (and, for an item spanning two authorities, the layer of its pieces) and the
factors a project type draws (能耗 → 发改, 污染物排放总量 → 生态环境) map to departments.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from geo import resources
from geo.errors import InputError, ProfileError
from geo.review.result import ItemResult, ParcelResult, ReviewResult
from geo.vocabulary import STATUS_ORDER, Status, project_types

ROUTING_FILE = "departments.yaml"


class Department(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name_zh: str
    name_en: str
    always: bool = Field(default=False, description="answers for every project, passing items included")


class ItemRoute(BaseModel):
    model_config = ConfigDict(extra="forbid")

    department: str
    layer: str | None = Field(default=None, description="only pieces of this layer concern the department")


class FactorRoute(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name_zh: str
    department: str
    project_types: list[str]


class Routing(BaseModel):
    """The parsed table; every department named by a route is declared, every project type known."""

    model_config = ConfigDict(extra="forbid")

    departments: dict[str, Department]
    items: dict[str, list[ItemRoute]]
    factors: dict[str, FactorRoute] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _consistent(self) -> Routing:
        named = {r.department for routes in self.items.values() for r in routes}
        named |= {f.department for f in self.factors.values()}
        unknown = sorted(named - set(self.departments))
        if unknown:
            raise ValueError(f"routes name undeclared departments {unknown}")
        types = set(project_types())
        bad = sorted({t for f in self.factors.values() for t in f.project_types} - types)
        if bad:
            raise ValueError(f"factor routes name unknown project types {bad}")
        return self

    def department(self, name: str) -> Department:
        """The declared department ``name``, or an error listing the declared ones."""
        if name not in self.departments:
            raise InputError(
                f"unknown department {name!r}; departments: {list(self.departments)}",
                f"未知部门 {name!r}；可选：{list(self.departments)}",
            )
        return self.departments[name]


def load_routing(path: Path | None = None, *, data_dir: Path | None = None) -> Routing:
    """The routing table: ``path``, else ``data_dir/departments.yaml``, else the shipped one."""
    source = path if path is not None else resources.find(ROUTING_FILE, [data_dir] if data_dir else [])
    if source is None:
        raise ProfileError(f"no {ROUTING_FILE} found", f"找不到部门路由表 {ROUTING_FILE}")
    raw = resources.read_yaml_mapping(
        source, lambda en, zh: ProfileError(f"{ROUTING_FILE}: {en}", f"部门路由表 {ROUTING_FILE} 有误：{zh}")
    )
    try:
        return Routing.model_validate(raw)
    except ValidationError as exc:
        first = exc.errors()[0]["msg"]
        raise ProfileError(f"{ROUTING_FILE}: {first}", f"部门路由表 {ROUTING_FILE} 有误：{first}") from exc


@dataclass(frozen=True)
class Finding:
    """One thing a department must answer for: a review item on one parcel, or a factor the project draws."""

    code: str
    name_zh: str
    parcel_id: str | None
    status: Status | None
    overlap_m2: float
    item: ItemResult | None = None
    layer_zh: str | None = None  # the layer a shared item was narrowed to (饮用水水源保护区 of 保护地与水源)


@dataclass(frozen=True)
class TaskDraft:
    department: str
    findings: tuple[Finding, ...]

    @property
    def items(self) -> list[str]:
        """The codes of the items and factors, each once, in review order."""
        return list(dict.fromkeys(f.code for f in self.findings))


def _concerns(item: ItemResult, route: ItemRoute) -> bool:
    if item.status == "pass":
        return False
    if route.layer is None or item.status == "missing_layer":
        return True
    return any(d.layer == route.layer and d.status != "pass" for d in item.details)


def _overlap(item: ItemResult, route: ItemRoute) -> float:
    if route.layer is None:
        return item.overlap_m2
    return sum(d.area_m2 for d in item.details if d.layer == route.layer and d.status != "pass")


def route_review(result: ReviewResult, routing: Routing, *, project_type: str | None = None) -> list[TaskDraft]:
    """One draft task per concerned department, in the table's order of departments.

    ``project_type`` (the project library's) decides the factor routes; without it, the
    parcels' own ``project_type`` is used.
    """
    found: dict[str, list[Finding]] = {name: [] for name in routing.departments}
    for parcel in result.parcels:
        for item in parcel.items:
            for route in routing.items.get(item.code, []):
                if _concerns(item, route) or routing.departments[route.department].always:
                    found[route.department].append(_finding(parcel, item, route))
    types = {project_type} if project_type else {p.project_type for p in result.parcels if p.project_type}
    for code, factor in routing.factors.items():
        if types & set(factor.project_types):
            found[factor.department].append(Finding(code, factor.name_zh, None, None, 0.0))
    return [
        TaskDraft(name, tuple(findings))
        for name, findings in found.items()
        if findings or routing.departments[name].always
    ]


def _finding(parcel: ParcelResult, item: ItemResult, route: ItemRoute) -> Finding:
    status: Status = item.status
    if route.layer is not None and item.status != "missing_layer":
        statuses = [d.status for d in item.details if d.layer == route.layer]
        status = max(statuses, key=STATUS_ORDER.__getitem__, default="pass")
    layer_zh = next((d.layer_name_zh for d in item.details if d.layer == route.layer), None) if route.layer else None
    return Finding(item.code, item.name_zh, parcel.id, status, _overlap(item, route), item, layer_zh)
