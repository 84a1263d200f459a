"""The city's ledger rules as data (``layers/profiles/ledger.yaml``): pooling shares per factor,
the 预支 cap, the grain yield of cultivated land. Each key's policy source is in the file."""

from __future__ import annotations

from functools import cache
from pathlib import Path

import yaml
from pydantic import BaseModel, Field

from geo.errors import ProfileError
from geo.quota.accounts import FACTORS
from geo.resources import packaged


class LedgerRules(BaseModel):
    name: str = "ledger"
    pooling: dict[str, float] = Field(default_factory=dict, description="factor (or stock_reward) → share pooled")
    advance_cap_share: float = Field(default=0.3, ge=0, le=1)
    grain_yield_kg_per_m2: float = Field(default=0.6, gt=0)
    replacement_ratios: dict[str, float] = Field(default_factory=dict, description="factor → 倍量替代 ratio")
    pollutant_exempt_types: list[str] = Field(default_factory=list, description="project types not tied to 总量")

    def replacement(self, factor: str) -> float:
        """How many units of quota one unit of a project's new emission or energy use needs (1 if not configured)."""
        return self.replacement_ratios.get(factor, 1.0)

    def pooled(self, key: str) -> float:
        """The share the city pools of ``key`` (a factor, or ``stock_reward``); 0 when not configured."""
        return self.pooling.get(key, 0.0)


@cache
def load_ledger_rules(path: Path | None = None) -> LedgerRules:
    """The ledger rules: ``path`` if given, else the shipped sample."""
    source = path or packaged("profiles/ledger.yaml")
    try:
        rules = LedgerRules.model_validate(yaml.safe_load(source.read_text(encoding="utf-8")))
    except (OSError, yaml.YAMLError, ValueError) as exc:
        raise ProfileError(f"ledger rules {source.name}: {exc}", f"台账规则 {source.name} 格式错误") from exc
    for key, share in rules.pooling.items():
        if key not in FACTORS and key != "stock_reward":
            raise ProfileError(f"ledger rules: unknown pooling key {key!r}", f"台账规则：未知统筹要素 {key!r}")
        if not 0 <= share < 1:
            raise ProfileError(f"ledger rules: pooling share of {key} must be in [0, 1)", "统筹比例须在 0 到 1 之间")
    return rules
