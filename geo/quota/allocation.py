"""Allocation when demand exceeds supply: rank projects by the policy's weighted
factors (importance, necessity, location, readiness) and reserve in rank order."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, Field, field_validator

from geo.errors import InputError, ProfileError, QuotaError
from geo.projects.library import ProjectLibrary
from geo.quota.ledger import Ledger, county_summary
from geo.resources import packaged
from geo.review.result import ReviewResult
from geo.vocabulary import project_id_text


class AllocationProfile(BaseModel):
    name: str
    weights: dict[str, float]
    levels: dict[str, float]

    def score(self, demand: Demand) -> float:
        parts = {
            "importance": self.levels.get(demand.level or "", self.levels.get("default", 0.0)),
            "necessity": demand.necessity,
            "location": demand.location,
            "readiness": demand.readiness,
        }
        return sum(self.weights.get(k, 0.0) * v for k, v in parts.items())


@cache
def load_allocation_profile(path: Path | None = None) -> AllocationProfile:
    """The allocation weights: ``path`` if given, else the shipped sample (``layers/profiles/allocation.yaml``)."""
    source = path or packaged("profiles/allocation.yaml")
    try:
        profile = AllocationProfile.model_validate(yaml.safe_load(source.read_text(encoding="utf-8")))
    except (OSError, yaml.YAMLError, ValueError) as exc:
        raise ProfileError(f"allocation profile {source.name}: {exc}", f"指标分配方案 {source.name} 格式错误") from exc
    if abs(sum(profile.weights.values()) - 1.0) > 1e-9:
        raise ProfileError(f"allocation weights sum to {sum(profile.weights.values())}, not 1", "分配权重之和须为 1")
    return profile


class Demand(BaseModel):
    """A project asking for quota, with its reviewed parcel and the policy's scores.

    ``level`` is the project library's (项目库, DESIGN.md): a demand may state it, and one stating another level is
    refused (:func:`allocate`)."""

    project_id: str
    review: ReviewResult
    parcel_id: str | None = None
    name: str | None = None
    level: str | None = None
    necessity: float = Field(default=0.5, ge=0, le=1)
    location: float = Field(default=0.5, ge=0, le=1)
    readiness: float = Field(default=0.5, ge=0, le=1)
    accept_missing_layers: bool = False

    @field_validator("project_id", mode="before")
    @classmethod
    def _normal_id(cls, value: Any) -> Any:
        """The 项目编号 as the library keeps it: ``ＸＭ-1`` asks for XM-1 (its level, its reservation)."""
        return project_id_text(value) if isinstance(value, str) else value


@dataclass
class Allocation:
    project_id: str
    score: float
    covered: bool
    transaction: int | None
    reason: str

    def row(self) -> dict[str, Any]:
        """One line of the allocation table (CLI, API)."""
        return {
            "project": self.project_id,
            "score": self.score,
            "covered": self.covered,
            "transaction": self.transaction,
            "reason": self.reason,
        }


def allocate(
    ledger: Ledger,
    demands: list[Demand],
    *,
    year: int,
    actor: str,
    source: str | None = None,
    profile: AllocationProfile | None = None,
) -> list[Allocation]:
    """Reserve for each project in rank order; a project that no longer fits is reported, not partly served, and one
    reserved before (the same review and parcel) is said to exist (已存在), with its transaction.

    The rank's importance is the project's level in the library (项目库), never the one a demand claims: a demand
    stating another level is refused before anything moves (:func:`library_levels`; 济宁 52号 三、(一)4 ranks by
    the project's 重要性, which the library records). The journal's reason names the level used and its source."""
    prof = profile or load_allocation_profile()
    # ids entered before normalising too
    known = {project_id_text(p.id): p.level for p in ProjectLibrary(ledger.engine).projects()}
    demands = library_levels(demands, known)
    ranked = sorted(demands, key=lambda d: (-prof.score(d), d.project_id))
    out = []
    for demand in ranked:
        score = round(prof.score(demand), 4)
        level = f"{demand.level}，据项目库" if demand.level else "未入项目库"
        try:
            done = ledger.reserve_parcel(
                demand.review,
                year=year,
                project_id=demand.project_id,
                parcel_id=demand.parcel_id,
                actor=actor,
                source=source,
                accept_missing_layers=demand.accept_missing_layers,
                reason=f"按优先级配置指标（得分 {score}；项目层级 {level}）",
            )
            tx = done.transaction
            said = (
                f"已存在（第 {tx} 号交易），台账未变 / already reserved (transaction #{tx}), ledger unchanged"
                if done.existed
                else f"已配置（第 {tx} 号交易） / reserved (transaction #{tx})"
            )
            out.append(Allocation(demand.project_id, score, True, tx, said))
        except QuotaError as exc:  # in both languages, as every line of the table (an officer's read)
            out.append(Allocation(demand.project_id, score, False, None, f"{exc.message_zh} / {exc.message_en}"))
    return out


def library_levels(demands: list[Demand], known: Mapping[str, str | None]) -> list[Demand]:
    """The demands with the levels the library (``known``: project id → level) gives them, none for a project it
    lacks (whose reservation 先入库后保障 refuses); an InputError naming each demand that claims another level (an
    一般 project claiming 国家重大 took quota before a 省重点 one)."""
    claims = [d for d in demands if d.level is not None and d.level != known.get(d.project_id)]
    if claims:
        en = "; ".join(
            f"{d.project_id} claims {d.level}, the library has {known.get(d.project_id) or 'no such project'}"
            for d in claims
        )
        zh = "；".join(
            f"项目 {d.project_id} 申报{d.level}，项目库为{known.get(d.project_id) or '未入库'}" for d in claims
        )
        raise InputError(
            f"allocation ranks by the project library's level (济宁 济政办字〔2020〕52号 三、(一)4): {en}; correct the "
            "level or leave it out (the library's is used)",
            f"按优先级配置依项目库所载项目层级排序（济政办字〔2020〕52号 三、(一)4）：{zh}；请更正或删去 level"
            "（以项目库为准）",
        )
    return [d.model_copy(update={"level": known.get(d.project_id)}) for d in demands]


__all__ = ["Allocation", "AllocationProfile", "Demand", "allocate", "county_summary", "load_allocation_profile"]
