"""The layer catalog and the 三调 land-use class table, shipped as package data (``layers/``)."""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
from functools import cache, lru_cache
from typing import Literal

import numpy as np
import yaml

from geo.errors import ProfileError
from geo.resources import packaged

LegalClass = Literal["agricultural", "construction", "unused"]


@dataclass(frozen=True)
class LayerInfo:
    id: str
    name_zh: str
    name_en: str
    kind: Literal["vector", "raster"]
    attributes: tuple[str, ...] = ()
    optional: tuple[str, ...] = ()  # attributes a file may lack (the review grades without them)
    values: dict[str, tuple[str, ...]] = field(default_factory=dict)  # closed vocabulary per attribute
    # a planar partition (三调图斑, 规划分区, 行政区): features never overlap, so pieces of one
    # parcel add up without a union
    tiling: bool = False
    # a supplementary layer (地下文物埋藏区, 公益林…): checks on it are optional, a blueprint may lack it
    supplementary: bool = False


@dataclass(frozen=True)
class LandUseClass:
    code: str
    name_zh: str
    name_en: str
    legal_class: LegalClass
    group: str
    wetland: bool


@cache
def layer_catalog() -> dict[str, LayerInfo]:
    """Standard layer ids (DESIGN.md) → their meaning."""
    raw = yaml.safe_load(packaged("catalog.yaml").read_text(encoding="utf-8"))
    return {
        key: LayerInfo(
            id=key,
            name_zh=v["name_zh"],
            name_en=v["name_en"],
            kind=v["kind"],
            attributes=tuple(v.get("attributes", ())),
            optional=tuple(v.get("optional", ())),
            values={a: tuple(str(w) for w in words) for a, words in v.get("values", {}).items()},
            tiling=bool(v.get("tiling", False)),
            supplementary=bool(v.get("supplementary", False)),
        )
        for key, v in raw.items()
    }


@cache
def landuse_classes() -> dict[str, LandUseClass]:
    """三调 working classification, keyed by code (e.g. ``"0101"``)."""
    with packaged("landuse_classes.csv").open(encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    table = {
        r["code"]: LandUseClass(
            code=r["code"],
            name_zh=r["name_zh"],
            name_en=r["name_en"],
            legal_class=_legal_class(r["code"], r["legal_class"]),
            group=r["group"],
            wetland=r["wetland"] == "1",
        )
        for r in rows
    }
    return table


LEGAL_CLASSES: dict[str, LegalClass] = {
    "agricultural": "agricultural",
    "construction": "construction",
    "unused": "unused",
}


def _legal_class(code: str, text: str) -> LegalClass:
    try:
        return LEGAL_CLASSES[text]
    except KeyError:
        raise ProfileError(
            f"landuse_classes.csv: code {code}: unknown legal_class {text!r}; one of {sorted(LEGAL_CLASSES)}",
            f"三调分类表：地类 {code} 的法定分类 {text!r} 不合法",
        ) from None


@lru_cache(maxsize=4096, typed=True)  # a review looks each land-use piece's code up several times
def landuse_class(code: object) -> LandUseClass | None:
    """Look a 三调 code up: the one normaliser of class codes for every path (load, rules, quota).

    Tolerates what exports do to codes: integers and floats that lost their leading zero
    (101, 101.0 → 0101) and surrounding blanks.
    """
    if isinstance(code, float | np.floating) and float(code).is_integer():
        code = int(code)
    text = str(code).strip()
    table = landuse_classes()
    if text in table:
        return table[text]
    if text.isdigit() and len(text) == 3:
        return table.get("0" + text)
    return None
