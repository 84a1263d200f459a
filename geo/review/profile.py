"""Review profiles: YAML files binding rule kinds to layers and thresholds."""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path
from typing import Annotated, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from geo.catalog import LAYERS_DIR, layer_catalog
from geo.errors import ProfileError

Status = Literal["pass", "warn", "fail", "missing_layer"]
STATUS_ORDER: dict[str, int] = {"pass": 0, "warn": 1, "missing_layer": 2, "fail": 3}
PROFILES_DIR = LAYERS_DIR / "profiles"


class _Check(BaseModel):
    model_config = ConfigDict(extra="forbid")

    status: Literal["warn", "fail"]
    note_zh: str
    note_en: str


class Exemption(BaseModel):
    """A project flag that softens a forbidden overlap (重大项目, 红线内允许的有限人为活动)."""

    model_config = ConfigDict(extra="forbid")

    flag: Literal["major_project", "redline_exempt"]
    status: Literal["warn"]
    note_zh: str
    note_en: str


class OverlapCheck(_Check):
    """Any overlap with the layer gives ``status``; ``by_value`` grades by an attribute."""

    kind: Literal["overlap"]
    layer: str
    attribute: str | None = None
    by_value: dict[str, Literal["pass", "warn", "fail"]] = Field(default_factory=dict)
    exempt: Exemption | None = None


class InsideCheck(_Check):
    """The parcel must lie inside the layer; the part outside gives ``status``."""

    kind: Literal["inside"]
    layer: str


class ZoneCompatibleCheck(_Check):
    """Overlap with a zone not listed for the project's type gives ``status``."""

    kind: Literal["zone_compatible"]
    layer: str
    attribute: str
    compatible: dict[str, list[str]]


class LandUseClassesCheck(_Check):
    """Overlap with 三调 classes of the given families (and wetland classes if asked)."""

    kind: Literal["land_use_classes"]
    layer: str
    groups: list[str]
    wetland: bool = False


class RasterShareAboveCheck(_Check):
    """Share of the parcel's pixels above ``threshold`` must not exceed ``max_share``."""

    kind: Literal["raster_share_above"]
    layer: str
    threshold: float
    max_share: float = Field(ge=0, le=1)


class LandUseStandardCheck(_Check):
    """Parcel area against the standard table for the project's type and investment."""

    kind: Literal["land_use_standard"]
    table: str
    unknown_status: Literal["warn", "fail"]
    unknown_note_zh: str
    unknown_note_en: str


Check = Annotated[
    OverlapCheck
    | InsideCheck
    | ZoneCompatibleCheck
    | LandUseClassesCheck
    | RasterShareAboveCheck
    | LandUseStandardCheck,
    Field(discriminator="kind"),
]


class Item(BaseModel):
    model_config = ConfigDict(extra="forbid")

    code: str
    name_zh: str
    name_en: str
    supplementary: bool = False
    checks: list[Check] = Field(min_length=1)

    def layers(self) -> list[str]:
        return [c.layer for c in self.checks if hasattr(c, "layer")]


class Tolerance(BaseModel):
    min_m2: float = Field(default=1.0, ge=0)
    ratio: float = Field(default=1e-4, ge=0, lt=1)

    def for_area(self, parcel_m2: float) -> float:
        return max(self.min_m2, self.ratio * parcel_m2)


class Profile(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str
    name_zh: str
    tolerance: Tolerance = Field(default_factory=Tolerance)
    stock_layers: list[str] = Field(default_factory=list)
    items: list[Item]


_NAME = re.compile(r"^[A-Za-z0-9_-]+$")


def available_profiles() -> list[str]:
    return sorted(p.stem for p in PROFILES_DIR.glob("*.yaml"))


@cache
def load_profile(name_or_path: str) -> Profile:
    """A profile by name (``ten-point``) from ``layers/profiles`` or by a YAML path."""
    if _NAME.match(name_or_path):
        path = PROFILES_DIR / f"{name_or_path}.yaml"
        if not path.is_file():
            raise ProfileError(
                f"unknown profile {name_or_path!r}; available: {available_profiles()}",
                f"未知审查方案 {name_or_path!r}；可用：{available_profiles()}",
            )
    else:
        path = Path(name_or_path)
        if not path.is_file():
            raise ProfileError(f"profile file {name_or_path} not found", f"审查方案文件 {name_or_path} 不存在")
    try:
        profile = Profile.model_validate(yaml.safe_load(path.read_text(encoding="utf-8")))
    except (yaml.YAMLError, ValidationError) as exc:
        raise ProfileError(f"{path.name}: {exc}", f"审查方案 {path.name} 格式错误") from exc
    for item in profile.items:
        unknown = set(item.layers()) - set(layer_catalog())
        if unknown:
            raise ProfileError(
                f"{path.name}: item {item.code} names unknown layer(s) {sorted(unknown)}",
                f"审查方案 {path.name}：审查项 {item.code} 引用了未知图层 {sorted(unknown)}",
            )
    return profile
