"""The review result schema of DESIGN.md, shared by the CLI JSON and the API body."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from geo.vocabulary import Status

_TRUE = {"1", "true", "yes", "y", "是", "t"}
_FALSE = {"0", "false", "no", "n", "否", "f", ""}


class ProjectAttributes(BaseModel):
    """Project facts riding on a parcel's properties (or CLI flags / API fields)."""

    model_config = ConfigDict(extra="ignore")

    name: str | None = None
    project_type: str | None = None
    investment_wan: float | None = Field(default=None, ge=0, description="总投资（万元）")
    major_project: bool = False
    redline_exempt: bool = False

    @field_validator("major_project", "redline_exempt", mode="before")
    @classmethod
    def _flag(cls, value: Any) -> Any:
        if value is None:
            return False
        if isinstance(value, str):
            text = value.strip().lower()
            if text in _TRUE:
                return True
            if text in _FALSE:
                return False
        return value

    @field_validator("name", "project_type", mode="before")
    @classmethod
    def _blank_is_none(cls, value: Any) -> Any:
        if isinstance(value, float) and value != value:  # NaN from a missing column
            return None
        return value or None


class County(BaseModel):
    code: str
    name: str


class ItemResult(BaseModel):
    code: str
    name_zh: str
    name_en: str
    supplementary: bool = False
    status: Status
    overlap_m2: float
    overlap_ratio: float
    message_zh: str
    message_en: str
    details: list[dict[str, Any]] = Field(default_factory=list)


class LandQuota(BaseModel):
    """Land figures that feed the ledger; ``None`` when the land-use layer is missing."""

    agricultural_m2: float | None
    cultivated_m2: float | None
    paddy_m2: float | None
    construction_m2: float | None
    unused_m2: float | None
    stock_m2: float
    stock_ratio: float
    new_construction_quota_m2: float | None
    compensation_m2: float | None


class ParcelResult(BaseModel):
    id: str
    name: str | None = None
    project_type: str | None = None
    area_m2: float
    area_ha: float
    area_mu: float
    crs_used: str
    verdict: str
    repaired: bool
    tolerance_m2: float
    county: County | None
    items: list[ItemResult]
    land_quota: LandQuota
    geometry: dict[str, Any] | None = Field(default=None, description="parcel in EPSG:4490, GeoJSON")

    def item(self, code: str) -> ItemResult:
        return next(i for i in self.items if i.code == code)


class ReviewResult(BaseModel):
    review_id: str
    profile: str
    blueprint: str
    created: str
    parcels: list[ParcelResult]
    warnings: list[str] = Field(default_factory=list, description="what the input reader repaired or doubted")
