"""The hostile probe of texts and numbers (names, ids, key names, request errors), one test per finding.

Numeric ids keep the digits written; names and ids are one line; request errors are Chinese in
``message_zh`` and a JSON body in another content type is 415. The Markdown papers' escaping and the
consultation's demo mark are tested with the 审查意见 (``test_opinion.py``).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import geopandas as gpd
import pandas as pd
import pytest
from fastapi.testclient import TestClient
from support import EPSG, assert_problem, auth, parcel_frame, rect
from typer.testing import CliRunner

from api.app import create_app
from api.cli import app as lantu
from api.keys import create_key, import_keys_file
from api.settings import Settings
from geo.blueprint import Blueprint
from geo.db import make_engine
from geo.errors import InputError
from geo.review import review
from geo.review.engine import parcel_ids
from geo.review.result import ProjectAttributes

FORGED = "物流园\n审查结论：通过，同意用地\n==="  # the probe's name: a free line and a setext underline
BREAKS = ["\n", "\r", "\t", "\u2028", "\u2029", "\x85"]
ENGLISH = re.compile(r"Input should|String should|should match|valid dictionary| or '")


@pytest.fixture
def client(settings: Settings, keys: dict[str, str]) -> Iterator[TestClient]:
    with TestClient(create_app(settings)) as c:
        yield c


def _features(*properties: dict[str, Any]) -> dict[str, Any]:
    """A FeatureCollection of squares inside the town (1.2 km on), one per ``properties``."""
    features = []
    for n, props in enumerate(properties):
        x = 1.2 + 0.3 * n
        shape = parcel_frame(rect(x, 1.2, x + 0.2, 1.4)).to_crs(4490).to_json(drop_id=True)
        features.append({**json.loads(shape)["features"][0], "properties": props})
    return {"type": "FeatureCollection", "features": features}


# -- 1. numeric ids -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("first", "second", "ids"),
    [
        (5, None, ["5", "2"]),  # pandas made the column float: was "5.0"
        (12345678901234567, 7, ["12345678901234567", "7"]),  # integers all: exact
        ("A-1", 12345678901234567, ["A-1", "12345678901234567"]),  # text beside: exact
        (2.5, None, ["2.5", "2"]),
    ],
)
def test_a_numeric_id_keeps_the_digits_written(
    client: TestClient, keys: dict[str, str], first: Any, second: Any, ids: list[str]
) -> None:
    props = [{"id": first, "project_type": "residential"}, {"project_type": "residential"}]
    if second is not None:
        props[1]["id"] = second
    made = client.post("/api/v1/reviews", json=_features(*props), headers=auth(keys))
    assert made.status_code == 201, made.text
    assert [p["id"] for p in made.json()["parcels"]] == ids


def test_an_id_a_float_cannot_hold_is_refused_not_changed(client: TestClient, keys: dict[str, str]) -> None:
    """12345678901234567 beside a parcel without id was read as the float 1.2345678901234568e16: the review
    named the parcel '1.2345678901234568e+16'; now it says why and how to keep the id."""
    body = _features({"id": 12345678901234567}, {})
    problem = assert_problem(client.post("/api/v1/reviews", json=body, headers=auth(keys)), 422)
    assert "parcel 1" in problem["message_en"] and "as text" in problem["message_en"]
    assert "第 1 个地块的编号" in problem["message_zh"] and "文本" in problem["message_zh"]
    with pytest.raises(InputError, match="2\\*\\*53"):
        parcel_ids(_with_ids(float(2**53), float("nan")))
    assert parcel_ids(_with_ids(float(2**53 - 1), pd.NA)) == [str(2**53 - 1), "2"]


def _with_ids(*ids: Any) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame({"id": list(ids)}, geometry=[rect(n, 0, n + 1, 1) for n in range(len(ids))], crs=EPSG)


def test_a_numeric_project_id_beside_a_missing_one_is_its_digits(client: TestClient, keys: dict[str, str]) -> None:
    """project_id 2026001 on one parcel, none on the other: the column is float, and the review was a 422
    "Input should be a valid string"."""
    body = _features({"id": "A", "project_id": 2026001}, {"id": "B"})
    assert client.post("/api/v1/reviews", json=body, headers=auth(keys)).status_code == 201
    assert ProjectAttributes.model_validate({"project_id": 2026001.0}).project_id == "2026001"
    with pytest.raises(ValueError, match="2\\*\\*53"):
        ProjectAttributes.model_validate({"project_id": 12345678901234567.0})


# -- 2. names and ids are one line ----------------------------------------------------------------------------


@pytest.mark.parametrize("brk", BREAKS)
@pytest.mark.parametrize("field", ["id", "name", "project_id"])
def test_names_and_ids_are_one_line(blueprint: Blueprint, field: str, brk: str) -> None:
    frame = parcel_frame(rect(1.2, 1.2, 1.4, 1.4), **{"id": "A", field: f"物流园{brk}审查结论：通过"})
    with pytest.raises(InputError) as refused:
        review(frame, blueprint)
    said = refused.value.message_zh
    assert f"U+{ord(brk):04X}" in said and ("单行" in said or "控制字符" in said)


@pytest.mark.parametrize(
    "hidden",
    [
        *("\u200b", "\u200e", "\u061c", "\ufeff", "\u00ad", "\U000e0041", "\ue000"),
        # default-ignorable outside category C, and a blank that prints as nothing (a later probe)
        *("\ufe0f", "\ufe00", "\u034f", "\u3164", "\u115f", "\u17b4", "\u2800", "\U000e0100"),
    ],
)
def test_a_parcel_id_holding_an_invisible_character_is_refused(
    client: TestClient, keys: dict[str, str], hidden: str
) -> None:
    """D0\u200b1 beside D01 passed the duplicate-id check and printed as D01 in every paper (probe): a parcel id,
    as a project id, holds no character of Unicode's category C (zero-width and bidi marks, BOM, soft hyphen,
    tag characters, private use)."""
    body = _features({"id": "D01"}, {"id": f"D0{hidden}1"})
    problem = assert_problem(client.post("/api/v1/reviews", json=body, headers=auth(keys)), 422)
    assert f"U+{ord(hidden):04X}" in problem["message_en"] and "不可见字符" in problem["message_zh"]
    assert (
        client.post("/api/v1/reviews", json=_features({"id": "D01"}, {"id": "D02"}), headers=auth(keys)).status_code
        == 201
    )


def test_parcel_ids_that_print_alike_are_duplicates(client: TestClient, keys: dict[str, str]) -> None:
    """Dé typed precomposed and as e + U+0301 (a combining acute) print alike: they were two parcels (probe)."""
    body = _features({"id": "D\u00e9"}, {"id": "De\u0301"})
    problem = assert_problem(client.post("/api/v1/reviews", json=body, headers=auth(keys)), 422)
    assert "duplicate parcel ids" in problem["message_en"] and "地块编号重复" in problem["message_zh"]


def test_a_library_project_id_holding_a_variation_selector_is_refused(client: TestClient, keys: dict[str, str]) -> None:
    project = {
        "id": "XM\ufe0fZ3",
        "name": "产业园",
        "project_type": "industrial",
        "level": "省重点",
        "county": "370811",
    }
    problem = assert_problem(client.post("/api/v1/projects", json=project, headers=auth(keys, "project-system")), 422)
    assert "U+FE0F" in problem["message_en"]


def test_the_probes_name_is_refused_by_the_api(client: TestClient, keys: dict[str, str]) -> None:
    body = _features({"id": "D03", "name": FORGED, "project_type": "logistics"})
    problem = assert_problem(client.post("/api/v1/reviews", json=body, headers=auth(keys)), 422)
    assert "U+000A" in problem["message_zh"] and "单行" in problem["message_zh"]
    assert "must be" not in problem["message_zh"] and "Value error" not in problem["message_zh"]  # Chinese alone
    assert "must be one line of printable text" in problem["message_en"] and "单行" not in problem["message_en"]


@pytest.mark.parametrize("field", ["id", "name"])
@pytest.mark.parametrize("brk", ["\n", "\u2028"])
def test_a_library_project_name_and_id_are_one_line(
    client: TestClient, keys: dict[str, str], field: str, brk: str
) -> None:
    project = {"id": "XM-9", "name": "产业园", "project_type": "industrial", "level": "省重点", "county": "370811"}
    project[field] = f"XM{brk}9"
    made = client.post("/api/v1/projects", json=project, headers=auth(keys, "project-system"))
    said = assert_problem(made, 422)["message_zh"]
    assert f"U+{ord(brk):04X}" in said or "控制字符" in said  # an id's control characters were refused already


# -- 3. key names ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["", "   ", "a\nactor: admin", "a\rb", "a\tb", "a\u2028b", " admin", "x" * 101])
def test_a_key_name_is_one_printable_line(settings: Settings, keys: dict[str, str], name: str) -> None:
    engine = make_engine(settings.database_url)
    with pytest.raises(InputError) as refused:
        create_key(engine, name, "admin")
    assert "密钥名称" in refused.value.message_zh and "key's name" in refused.value.message_en


def test_keys_create_refuses_a_blank_name_with_exit_2(
    settings: Settings, keys: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LANTU_DATABASE_URL", settings.database_url)
    for name in ("", "ops\nforged"):
        done = CliRunner().invoke(lantu, ["keys", "create", name, "--role", "admin"])
        assert done.exit_code == 2, done.output
        assert "密钥名称" in done.stderr and "key's name" in done.stderr


def test_a_keys_file_line_with_a_blank_name_is_refused(settings: Settings, tmp_path: Path) -> None:
    path = tmp_path / "keys.txt"
    path.write_text(f" ,admin,{'0' * 64}\n", encoding="utf-8")
    with pytest.raises(InputError, match="line 1"):
        import_keys_file(make_engine(settings.database_url), path)


# -- 4. request errors ----------------------------------------------------------------------------------------


def test_validation_errors_are_chinese_in_message_zh(client: TestClient, keys: dict[str, str]) -> None:
    writer = auth(keys, "project-system")
    cases = [
        (client.post("/api/v1/projects", json=[], headers=writer), "body：应为 JSON 对象"),
        (client.post("/api/v1/projects/XM-1/stage", json={"stage": 5}, headers=writer), "body.stage：应为文字"),
        (client.post("/api/v1/reviews?profile=a.b", json=_features({}), headers=auth(keys)), "格式不符"),
        (
            client.post("/api/v1/consult/tasks/1/answers", json={"opinion": "也许"}, headers=auth(keys, "admin")),
            "应为 '同意'、'有条件同意'、'不同意' 之一",
        ),
    ]
    for response, needle in cases:
        said = assert_problem(response, 422)["message_zh"]
        assert needle in said and not ENGLISH.search(said), said


def test_a_json_body_in_another_content_type_is_415(client: TestClient, keys: dict[str, str]) -> None:
    """SECURITY.md: 415 for a wrong content type (as POST /reviews answers); a JSON endpoint answered 422
    "Input should be a valid dictionary" to text/plain and to a form."""
    writer = auth(keys, "project-system")
    sent = [
        client.post("/api/v1/projects", content=b'{"id": "X"}', headers={**writer, "content-type": "text/plain"}),
        client.post("/api/v1/projects", data={"id": "X"}, headers=writer),
        client.post("/api/v1/projects", content=b'{"id": "X"}', headers={**writer, "content-type": ""}),
    ]
    for response in sent:
        problem = assert_problem(response, 415)
        assert "application/json" in problem["message_en"] and "不支持的内容类型" in problem["message_zh"]
    missing = client.post("/api/v1/projects", headers=writer)  # no body, no type: the body is missing
    assert "缺少请求体" in assert_problem(missing, 422)["message_zh"]
    assert client.post("/login", data={"key": "nope"}).status_code == 401  # a form's operation reads its form
    documented = client.get("/openapi.json").json()["paths"]
    assert "415" in documented["/api/v1/projects"]["post"]["responses"]
    assert "415" in documented["/api/v1/consult/tasks/{task_id}/answers"]["post"]["responses"]
    assert "415" not in documented["/api/v1/projects"]["get"]["responses"]


def test_an_unknown_profile_is_422_as_other_bad_input(client: TestClient, keys: dict[str, str]) -> None:
    problem = assert_problem(client.post("/api/v1/reviews?profile=nope", json=_features({}), headers=auth(keys)), 422)
    assert "未知审查方案" in problem["message_zh"]
