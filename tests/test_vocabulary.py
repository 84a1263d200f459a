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
from geo.vocabulary import (
    VERDICT_STATUS,
    VERDICT_ZH,
    VERDICTS,
    check_project_type,
    check_single_line,
    id_text,
    is_blank,
    project_id_text,
    project_types,
    worst,
)

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


@pytest.mark.parametrize(
    ("statuses", "expected"),
    [
        ([], "pass"),
        (["pass", "pass"], "pass"),
        (["warn", "pass"], "warn"),
        (["pass", "missing_layer", "warn"], "missing_layer"),
        (["warn", "fail", "missing_layer", "pass"], "fail"),
    ],
)
def test_worst_is_the_most_severe_status(statuses: list[str], expected: str) -> None:
    assert worst(statuses) == expected
    assert worst(iter(reversed(statuses))) == expected  # any iterable, any order
    with pytest.raises(KeyError, match="faill"):  # a misspelt status is no pass
        worst([*statuses, "faill"])


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


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (5, "5"),
        (5.0, "5"),  # pandas made the column float where another parcel had no id: was "5.0"
        (np.float64(2026001.0), "2026001"),
        (np.int64(12345678901234567), "12345678901234567"),  # an integer keeps every digit
        (float(2**53 - 1), str(2**53 - 1)),
        (-3.0, "-3"),
        (2.5, "2.5"),
        (np.float32(0.1), "0.1"),  # numpy's shortest text, not 0.10000000149011612
        ("007", "007"),
    ],
)
def test_an_id_is_the_text_written(value: object, text: str) -> None:
    assert id_text(value) == text


@pytest.mark.parametrize(
    ("typed", "kept"),
    [
        ("ＸＭ－１", "XM-1"),  # a Chinese input method's full-width letters, digits and hyphen
        ("ＸＭ-1", "XM-1"),
        ("\u3000XM-1 ", "XM-1"),  # its ideographic space, stripped at the ends
        ("XM\u30001", "XM 1"),  # and a space within
        ("ｘｍ-1", "xm-1"),  # letter case is kept: xm-1 was never XM-1
        ("项目２０２６－００１", "项目2026-001"),
        ("XM\u20101", "XM-1"),  # the hyphens a word processor substitutes, which NFKC keeps
        ("XM\u22121", "XM-1"),
        ("XM\u20131", "XM-1"),
        ("XM-1", "XM-1"),
    ],
)
def test_a_project_id_is_kept_in_its_nfkc_form(typed: str, kept: str) -> None:
    assert project_id_text(typed) == kept and project_id_text(kept) == kept


@pytest.mark.parametrize("value", [12345678901234567.0, float(2**53), -float(2**60)])
def test_an_id_a_float_may_have_changed_is_refused(value: float) -> None:
    """12345678901234567 read as a float is 12345678901234568: refused, saying to write it as text."""
    with pytest.raises(InputError, match="as text") as refused:
        id_text(value)
    assert "文本" in refused.value.message_zh and f"{value:.0f}" in refused.value.message_en


@pytest.mark.parametrize(
    ("char", "zh"),
    [
        ("\n", "换行符"),
        ("\r", "回车符"),
        ("\t", "制表符"),
        ("\u2028", "行分隔符"),
        ("\u2029", "段分隔符"),
        ("\x85", "控制字符"),
    ],
)
def test_a_name_is_one_printable_line(char: str, zh: str) -> None:
    with pytest.raises(InputError) as refused:
        check_single_line(f"物流园{char}审查结论：通过", "project name", "项目名称")
    assert refused.value.message_zh == f"项目名称须为单行文字，不能含有{zh} U+{ord(char):04X}"
    assert "project name must be one line" in refused.value.message_en
    check_single_line("物流园　二期 (A-1)", "project name", "项目名称")  # an ideographic space is text
    check_single_line(None, "project name", "项目名称")
