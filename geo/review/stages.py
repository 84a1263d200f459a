"""Profile blocks for the stages around the review: siting (精准选址) and the change check (预审变更比对).

They live in the review profile beside the items, so the thresholds and weights a city
uses are data with their ``basis``, like every rule.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class PreferNear(BaseModel):
    """Cost for distance to a layer (城镇开发边界): ``weight`` × min(distance / ``within_m``, 1)."""

    model_config = ConfigDict(extra="forbid")

    layer: str
    weight: float = Field(ge=0)
    within_m: float = Field(gt=0)


class SitingRule(BaseModel):
    """How ``geo.sites.find_sites`` turns the review profile into a suitability surface.

    The review's own checks decide: a check that would *fail* for the project excludes the
    land, one that would *warn* costs ``weights[item code]`` (``default_weight`` otherwise).
    """

    model_config = ConfigDict(extra="forbid")

    basis: list[str] = Field(default_factory=list)
    resolution_m: float = Field(default=10.0, gt=0)
    max_cells: int = Field(default=16_000_000, gt=0, description="refuse a search grid larger than this")
    weights: dict[str, float] = Field(default_factory=dict, description="warn cost per review item code")
    default_weight: float = Field(default=1.0, ge=0)
    prefer_near: list[PreferNear] = Field(default_factory=list)
    area_margin: float = Field(default=0.002, ge=0, lt=0.5, description="a site's area is asked × (1 + margin)")
    gap_m: float = Field(default=20.0, ge=0, description="least distance between two candidate sites")
    shapes: list[tuple[float, float]] = Field(
        default=[(1, 1), (3, 2), (2, 3), (2, 1), (1, 2)], description="width:height of the rectangles tried"
    )


class ChangeCheckRule(BaseModel):
    """Thresholds for a 报批 boundary against its 预审 boundary (聊城 若干措施 一、3)."""

    model_config = ConfigDict(extra="forbid")

    basis: list[str] = Field(default_factory=list)
    max_area_increase: float = Field(default=0.10, ge=0, description="area growth at or above this exceeds")
    min_overlap: float = Field(default=0.80, gt=0, le=1, description="overlap / 预审 area below this exceeds")
    exceeds_zh: str
    exceeds_en: str
    within_zh: str
    within_en: str
    # within the thresholds, but an added piece fails the review: not on the existing 预审 as it stands
    within_failing_zh: str
    within_failing_en: str
    # within the thresholds, the added land not reviewed (no blueprint at hand): not to be signed as a pass
    within_unreviewed_zh: str
    within_unreviewed_en: str
    # what the added land asks, said after the thresholds' conclusion where it stands on its own (beyond them, no new
    # 预审 looks at it; within them, conditions the old 预审 did not set)
    added_failing_zh: str
    added_failing_en: str
    added_unreviewed_zh: str
    added_unreviewed_en: str
    added_conditional_zh: str
    added_conditional_en: str
