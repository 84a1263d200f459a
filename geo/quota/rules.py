"""The city's ledger rules as data (``layers/profiles/ledger.yaml``): pooling shares per factor,
the 预支 cap, the project levels a 削减量预支 serves, the grain yield of cultivated land, the 增存挂钩 rates and
ratios. Each key's policy source is in the file."""

from __future__ import annotations

from functools import cache
from pathlib import Path

import yaml
from pydantic import BaseModel, Field

from geo.errors import ProfileError
from geo.projects.library import LEVELS
from geo.quota.accounts import FACTORS, STOCK_KINDS
from geo.resources import packaged


class StockLinkage(BaseModel):
    """增存挂钩 (自然资规〔2018〕1号): the 五年供地率 threshold below which a county's new quota serves only the
    exempt projects, and the reward per m² disposed, separately for 批而未供 and 闲置 land."""

    basis: str = ""
    supply_rate_years: int = Field(default=5, ge=1, le=20, description="供地率 over land approved in so many years")
    supply_rate_threshold: float = Field(default=0.6, ge=0, le=1)
    reward_ratios: dict[str, float] = Field(
        default_factory=lambda: {"approved_unsupplied": 0.5, "idle_land": 1.0},
        description="stock kind (approved_unsupplied, idle_land) → new quota per m² disposed",
    )
    penalty_exempt_levels: list[str] = Field(default_factory=list, description="project levels the penalty spares")
    penalty_exempt_types: list[str] = Field(default_factory=list, description="project types the penalty spares")

    def ratio(self, kind: str) -> float:
        """New quota per m² of disposed land of ``kind`` (0 when not configured)."""
        return self.reward_ratios.get(kind, 0.0)


class ReductionAdvance(BaseModel):
    """削减量预支: the project levels the city's text lets a pollutant quota be advanced for, and that text. The
    texts differ by city (济宁 52号 三、(三)3 省级、市级重点保障项目; 兰州 149号 四、(六)2 市级项目; 聊城《若干措施》
    第6条 建设项目), so the levels are the city's; the default is the shipped sample, 济宁's."""

    basis: str = Field(
        default='济宁 济政办字〔2020〕52号 三、(三)3 "对省级、市级重点保障项目所需的污染物总量指标…预支"',
        description="the city's text, cited by a refusal",
    )
    levels: list[str] = Field(
        default_factory=lambda: ["国家重大", "省重点", "市重点"], description="project levels it may serve"
    )


class LedgerRules(BaseModel):
    name: str = "ledger"
    pooling: dict[str, float] = Field(default_factory=dict, description="factor (or stock_reward) → share pooled")
    advance_cap_share: float = Field(
        default=0.3,
        ge=0,
        le=1,
        description="预支 cap: share of the county's land_new issue of this year it may advance on next year's, "
        "before that is issued (聊城 第十七条); a SAMPLE value the city sets (样例取值): no policy text fixes it "
        "(第十七条's 30 % is the pooling share)",
    )
    grain_yield_kg_per_m2: float = Field(default=0.6, gt=0)
    replacement_ratios: dict[str, float] = Field(default_factory=dict, description="factor → 倍量替代 ratio")
    pollutant_exempt_kinds: dict[str, list[str]] = Field(
        default_factory=dict,
        description="kind of project whose 环评 is not tied to the pollutant 总量, as declared → the project types "
        "it can be",
    )
    stock_linkage: StockLinkage = Field(default_factory=StockLinkage)
    reduction_advance: ReductionAdvance = Field(default_factory=ReductionAdvance)

    def replacement(self, factor: str) -> float:
        """How many units of quota one unit of a project's new emission or energy use needs (1 if not configured)."""
        return self.replacement_ratios.get(factor, 1.0)

    def pooled(self, key: str) -> float:
        """The share the city pools of ``key`` (a factor, or ``stock_reward``); 0 when not configured."""
        return self.pooling.get(key, 0.0)


def _check_levels(levels: list[str], key: str, name_zh: str) -> None:
    """ProfileError naming ``key`` if ``levels`` holds a value that is no project level: a misspelt level would
    match no project, silently."""
    if unknown := set(levels) - set(LEVELS):
        raise ProfileError(
            f"ledger rules: {key} {sorted(unknown)} are not project levels {LEVELS}",
            f"台账规则：{name_zh} {sorted(unknown)} 不是项目层级",
        )


@cache
def load_ledger_rules(path: Path | None = None) -> LedgerRules:
    """The ledger rules: ``path`` if given, else the shipped sample."""
    source = path or packaged("profiles/ledger.yaml")
    try:
        rules = LedgerRules.model_validate(yaml.safe_load(source.read_text(encoding="utf-8")))
    except (OSError, yaml.YAMLError, ValueError) as exc:
        raise ProfileError(f"ledger rules {source.name}: {exc}", f"台账规则 {source.name} 格式错误") from exc
    stock = rules.stock_linkage
    for kind, ratio in stock.reward_ratios.items():
        if kind not in STOCK_KINDS or ratio < 0:
            raise ProfileError(
                f"ledger rules: stock_linkage.reward_ratios.{kind} must be a stock kind {sorted(STOCK_KINDS)} "
                "with a ratio ≥ 0",
                f"台账规则：增存挂钩奖励比例 {kind} 须为存量土地类型且不小于 0",
            )
    _check_levels(stock.penalty_exempt_levels, "stock_linkage.penalty_exempt_levels", "增存挂钩豁免项目层级")
    _check_levels(rules.reduction_advance.levels, "reduction_advance.levels", "削减量预支项目层级")
    for key, share in rules.pooling.items():
        if key not in FACTORS and key != "stock_reward":
            raise ProfileError(f"ledger rules: unknown pooling key {key!r}", f"台账规则：未知统筹要素 {key!r}")
        if not 0 <= share < 1:
            raise ProfileError(f"ledger rules: pooling share of {key} must be in [0, 1)", "统筹比例须在 0 到 1 之间")
    return rules
