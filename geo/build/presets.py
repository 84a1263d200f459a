"""Presets: how a data standard names its layers and fields (``layers/presets/*.yaml``).

A preset says which source layers are which blueprint layer (三调 ``DLTB`` → ``land_use``)
and which source field carries each attribute the review reads (``DLBM`` → ``class_code``,
``KCXS`` → ``deduction_ratio``). The shipped presets cover the 三调 database (``sandiao``),
the 国土空间规划 database (``guotu``) and lantu's own names (``lantu``); a user's preset is a
YAML file of the same shape, given by path or put in the data directory's ``presets/``.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from importlib.resources.abc import Traversable
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from geo.catalog import layer_catalog
from geo.errors import InputError
from geo.resources import find, names, not_a_file, read_yaml_mapping

SHIPPED_ORDER = ("sandiao", "guotu", "lantu")  # tried in this order: the first preset naming a layer wins


class LayerRule(BaseModel):
    """One blueprint layer as a standard names it."""

    model_config = ConfigDict(extra="forbid")

    names: list[str]
    fields: dict[str, list[str]] = Field(default_factory=dict)
    keep: list[str] = Field(default_factory=list)
    values: dict[str, dict[str, str]] = Field(default_factory=dict)

    @field_validator("fields", mode="before")
    @classmethod
    def _one_name_is_a_list(cls, value: object) -> object:
        if isinstance(value, dict):
            return {k: [v] if isinstance(v, str) else v for k, v in value.items()}
        return value


class Preset(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str
    title_zh: str
    title_en: str
    basis: str = ""
    date: str | None = None  # 现势性 of every layer this preset recognises, when the standard fixes it
    layers: dict[str, LayerRule]


@dataclass(frozen=True)
class Match:
    """A source layer recognised as blueprint layer ``target`` by ``preset``'s ``rule``."""

    target: str
    preset: Preset
    rule: LayerRule


def load_presets(chosen: Sequence[str] = (), *, search: Sequence[Path] = ()) -> list[Preset]:
    """The presets to recognise with: ``chosen`` names or YAML paths in order, else every shipped one.

    A name is looked up in each ``search`` folder's ``presets/`` first, then among the shipped
    presets; a path is read as it is.
    """
    wanted = list(chosen) or [n for n in SHIPPED_ORDER if n in names("presets", ".yaml")]
    return [_load_one(item, search) for item in wanted]


def _load_one(item: str, search: Sequence[Path]) -> Preset:
    path = Path(item)
    source: Traversable | None = path if item.endswith((".yaml", ".yml")) and path.is_file() else None
    if source is None and (item != path.name or path.suffix) and (refused := not_a_file(path)) is not None:
        # a path that is there but no file (``--preset /dev/zero``, a folder) was an "unknown preset" (probe)
        raise InputError(f"preset {refused[0]}", f"预设 {refused[1]}")
    if source is None:
        source = find(f"presets/{item}.yaml", search)
        if source is None:
            available = names("presets", ".yaml", search)
            raise InputError(
                f"unknown preset {item!r}; available: {available} (or a path to a preset .yaml)",
                f"未知的预设 {item!r}；可用：{available}（或预设 YAML 文件路径）",
            )
    raw = read_yaml_mapping(
        source, lambda en, zh: InputError(f"preset {item}: malformed: {en}", f"预设 {item} 格式错误：{zh}")
    )
    try:
        preset = Preset.model_validate(raw)
    except ValidationError as exc:
        raise InputError(f"preset {item}: malformed: {exc}", f"预设 {item} 格式错误") from exc
    unknown = sorted(set(preset.layers) - set(layer_catalog()))
    if unknown:
        raise InputError(
            f"preset {item}: unknown layer id(s) {unknown}; valid: {sorted(layer_catalog())}",
            f"预设 {item} 含未知图层编号 {unknown}",
        )
    for layer_id, rule in preset.layers.items():
        info = layer_catalog()[layer_id]
        extra = set(rule.fields) - {*info.attributes, *info.optional}
        if extra:
            raise InputError(
                f"preset {item}: layers.{layer_id}.fields {sorted(extra)} are not attributes of {layer_id}",
                f"预设 {item}：图层 {layer_id} 没有属性 {sorted(extra)}",
            )
    return preset


def _words(name: str) -> set[str]:
    """A layer name's words: letters split at anything else (370811DLTB_2023 → {DLTB})."""
    return {w for w in re.split(r"[^A-Za-z\u4e00-\u9fff]+|(?<=[A-Za-z])(?=[\u4e00-\u9fff])", name.upper()) if w}


def recognise(layer_name: str, presets: Sequence[Preset]) -> Match | None:
    """The first preset rule whose names include ``layer_name`` (case-insensitive), whole or as a word."""
    upper = layer_name.upper()
    words = _words(layer_name)
    for exact in (True, False):
        for preset in presets:
            for target, rule in preset.layers.items():
                for candidate in rule.names:
                    c = candidate.upper()
                    if (upper == c) if exact else (c in words or (not c.isascii() and c in upper)):
                        return Match(target, preset, rule)
    return None


def pick_field(columns: Sequence[str], candidates: Sequence[str]) -> str | None:
    """The first candidate present among ``columns`` (case-insensitive), as the source spells it."""
    by_upper = {c.upper(): c for c in columns}
    return next((by_upper[c.upper()] for c in candidates if c.upper() in by_upper), None)
