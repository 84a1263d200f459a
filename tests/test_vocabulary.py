"""The closed word lists: project types, attribute values, 三调 class codes."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import shapely
import yaml

from geo.catalog import landuse_class, layer_catalog
from geo.errors import InputError, ProfileError
from geo.resources import packaged
from geo.review.profile import load_profile
from geo.review.rules import _text
from geo.vocabulary import VERDICT_STATUS, VERDICT_ZH, VERDICTS, check_project_type, is_blank, project_types

CONTRACT_TYPES = {
    "industrial",
    "logistics",
    "commercial",
    "residential",
    "public_service",
    "infrastructure",
    "transport",
    "energy",
    "water_conservancy",
    "military",
    "mining",
}


def test_project_types_cover_the_contract_with_chinese_labels() -> None:
    types = project_types()
    assert set(types) >= CONTRACT_TYPES
    assert types["water_conservancy"].name_zh == "水利" and types["military"].name_zh == "军事国防"
    assert all(t.name_zh for t in types.values())


@pytest.mark.parametrize(("given", "expected"), [(None, None), ("", None), (" energy ", "energy")])
def test_check_project_type(given: object, expected: str | None) -> None:
    assert check_project_type(given) == expected


def test_unknown_type_names_every_allowed_value() -> None:
    with pytest.raises(InputError) as err:
        check_project_type("factory")
    assert all(t in err.value.message_en for t in CONTRACT_TYPES)
    assert "采矿" in err.value.message_zh


def test_every_verdict_has_a_label_and_colour() -> None:
    assert set(VERDICTS) == set(VERDICT_ZH) == set(VERDICT_STATUS)
    assert "out_of_coverage" in VERDICTS


def test_catalog_vocabularies() -> None:
    catalog = layer_catalog()
    assert catalog["water_source"].values["level"] == ("一级", "二级", "准保护区")
    assert catalog["flood_river"].values["kind"] == ("河湖管理范围", "蓄滞洪区")
    assert "kind" in catalog["flood_river"].optional and "deduction_ratio" in catalog["land_use"].optional


@pytest.mark.parametrize("code", ["0101", "101", 101, 101.0, " 0101 "])
def test_class_codes_normalise(code: object) -> None:
    cls = landuse_class(code)
    assert cls is not None and cls.code == "0101"


def test_profile_naming_an_unknown_type_is_refused(tmp_path: Path) -> None:
    raw = yaml.safe_load(packaged("profiles/ten-point.yaml").read_text(encoding="utf-8"))
    raw["items"][0]["checks"][0]["by_type"]["spaceport"] = "fail"
    path = tmp_path / "p.yaml"
    path.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    with pytest.raises(ProfileError, match="spaceport"):
        load_profile(path)


def test_shipped_profile_items_have_basis() -> None:
    profile = load_profile("ten-point")
    assert all(item.basis for item in profile.items)
    # every outcome of every check words its condition, procedures and basis (no item-level list left)
    assert all(not item.procedures and all(c.conditions for c in item.checks) for item in profile.items)
    assert all(o.basis and o.procedures for i in profile.items for c in i.checks for o in c.conditions.values())


def test_blank_is_what_no_reader_takes_for_a_value() -> None:
    for blank in (None, float("nan"), np.float32("nan"), pd.NA, pd.NaT, "", "  \t"):
        assert is_blank(blank), blank
        assert _text(blank) == ""  # a finding never names "<NA>" or "nan"
    for value in (0, 0.0, "0", "一级", False):
        assert not is_blank(value), value
    assert _text(" 一级 ") == "一级"


def test_a_class_code_is_read_alike_whatever_number_type_came_first() -> None:
    """Codes that lost their leading zero as float64 or float32 (a GeoPackage's REAL column) are 0101
    either way, whichever the cache saw first."""
    for first, then in ((np.float32(101.0), 101.0), (101.0, np.float32(101.0))):
        landuse_class.cache_clear()
        assert (landuse_class(first), landuse_class(then)) == (landuse_class("0101"),) * 2
    assert landuse_class(np.float64("nan")) is None and landuse_class(101.5) is None


def test_an_outcome_code_of_a_missing_value_is_none() -> None:
    """pandas' NA in an attribute (an Arrow string column) has no truth value: the codes skip it."""
    from geo.review.rules import Piece, _piece_codes

    square = shapely.box(0, 0, 10, 10)
    found = [
        Piece("heritage", "fail", square, {"zone": pd.NA}, 100.0),
        Piece("heritage", "warn", square, {"zone": " 建设控制地带 "}, 100.0),
    ]
    assert _piece_codes(found, "zone") == [("建设控制地带", "warn")]
