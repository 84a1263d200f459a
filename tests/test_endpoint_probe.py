"""What a probe of the service's endpoints and the command line with odd inputs found: each is now refused in
words (a 4xx, exit 2) or read right, in English and Chinese, where it was a 500, a traceback or a wrong booking."""

from __future__ import annotations

import json
import os
import re
import shutil
import sqlite3
import subprocess
import sys
import zipfile
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.exc import DatabaseError
from support import assert_problem, auth, parcel_frame, rect, rect_blueprint
from test_quota_stock import STOCK
from typer.testing import CliRunner

from api.app import create_app
from api.cli import app
from api.settings import Settings
from geo.blueprint import load_blueprint
from geo.db import make_engine, migrate, storage_fault
from geo.errors import CRSError, FormatError, InputError
from geo.io import read_parcels
from geo.io.coordtxt import parse_coordinate_text
from geo.quota.ledger import Ledger

runner = CliRunner()

RING = " ".join(
    f"{x},{y},0" for x, y in [(116.6185, 35.3868), (116.6185, 35.3882), (116.6167, 35.3882), (116.6185, 35.3868)]
)


@pytest.fixture
def client(settings: Settings, keys: dict[str, str]) -> Iterator[TestClient]:
    with TestClient(create_app(settings)) as c:
        yield c


def _kml(encoding: str, name: str = "地块甲") -> bytes:
    text = (
        f'<?xml version="1.0" encoding="{encoding}"?><kml xmlns="http://www.opengis.net/kml/2.2"><Document>'
        f"<Placemark><name>{name}</name><Polygon><outerBoundaryIs><LinearRing><coordinates>{RING}</coordinates>"
        "</LinearRing></outerBoundaryIs></Polygon></Placemark></Document></kml>"
    )
    return text.encode(encoding if encoding.lower() not in ("bogus",) else "utf-8")


@pytest.mark.parametrize(
    ("encoding", "name"), [("GBK", "地块甲"), ("GB2312", "地块甲"), ("bogus", "A"), ("windows-1252", "A")]
)
def test_a_kml_declaring_an_encoding_gdal_cannot_read_is_refused_naming_it(
    encoding: str, name: str, tmp_path: Path, client: TestClient, keys: dict[str, str], blueprint_dir: Path
) -> None:
    """A KML saved as GBK (encoding="GBK", as Chinese tools may write it) or naming a made-up encoding: expat
    raised a ValueError ("multi-byte encodings are not supported") or a LookupError, a 500 from the service and
    a traceback from `lantu review`; windows-1252 was "not a readable kml file", saying nothing of why."""
    path = tmp_path / "gbk.kml"
    path.write_bytes(_kml(encoding, name))
    with pytest.raises(FormatError, match=rf"gbk\.kml: the file declares the encoding '{encoding}'") as caught:
        read_parcels(path)
    assert "UTF-8" in caught.value.message_en and f"文件声明的编码为 '{encoding}'" in caught.value.message_zh
    sent = client.post("/api/v1/reviews", files={"file": ("地块.kml", path.read_bytes())}, headers=auth(keys))
    assert f"地块.kml: the file declares the encoding '{encoding}'" in assert_problem(sent, 422)["message_en"]
    result = runner.invoke(app, ["review", str(path), "-b", str(blueprint_dir)])
    assert result.exit_code == 2 and "declares the encoding" in result.output and "Traceback" not in result.output


def test_a_kml_in_utf8_or_latin1_is_still_read(tmp_path: Path) -> None:
    for encoding, name in (("UTF-8", "地块甲"), ("ISO-8859-1", "Café")):
        path = tmp_path / f"{encoding}.kml"
        path.write_bytes(_kml(encoding, name))
        assert read_parcels(path)["name"].tolist() == [name]


def _county_balance(client: TestClient, keys: dict[str, str], year: int, factor: str = "land_new") -> float:
    balances = client.get(f"/api/v1/quotas/balances?year={year}", headers=auth(keys)).json()
    return next(b["balance"] for b in balances if b["holder"] == "370811" and b["factor"] == factor)


@pytest.mark.parametrize(("unit", "m2"), [("亩", 10_000), ("公顷", 150_000), ("㎡", 15), (None, 15)])
def test_a_plan_row_over_the_api_books_its_unit(client: TestClient, keys: dict[str, str], unit: str, m2: float) -> None:
    """A row of a plan sent as {"amount": 15, "unit": "亩"} was booked as 15 m²: the API's rows had no unit and
    dropped the member unsaid, where the plan's CSV reads its unit column (and refuses a column it does not know,
    since 150 亩 had been booked as 150 m² there). The row now reads its unit as the CSV does (亩, 公顷, m²)."""
    row = {"county_code": "370811", "factor": "land_new", "amount": 15} | ({"unit": unit} if unit else {})
    sent = client.post("/api/v1/quotas/issue", json={"year": 2026, "rows": [row]}, headers=auth(keys, "quota-admin"))
    assert sent.status_code == 201, sent.text
    assert _county_balance(client, keys, 2026) == pytest.approx(m2 * 0.7, abs=1e-4)  # the city pools 30 %


@pytest.mark.parametrize(
    ("row", "en", "zh"),
    [
        (
            {"unit": "吨"},
            "row 2: unit '吨' is not a unit of land_new: m² (m2, 平方米), 亩 or 公顷 (ha)",
            "第 2 行：单位“吨”",
        ),
        (
            {"factor": "energy", "unit": "亩"},
            "row 2: unit '亩' is not a unit of energy",
            "第 2 行：单位“亩”不适用于能耗",
        ),
        ({"units": "亩"}, "body.rows.1.units: Extra inputs are not permitted", "body.rows.1.units：不接受该项"),
        ({"单位": "亩"}, "body.rows.1.单位: Extra inputs are not permitted", "不接受该项"),
    ],
)
def test_a_plan_row_with_a_unit_it_cannot_take_or_a_member_it_does_not_know_is_refused(
    client: TestClient, keys: dict[str, str], row: dict[str, str], en: str, zh: str
) -> None:
    """Nothing of the plan is booked: a member the row does not read could change what its amount means."""
    rows = [{"county_code": "370811", "factor": "land_compensation", "amount": 5}]
    rows.append({"county_code": "370811", "factor": "land_new", "amount": 15} | row)
    sent = client.post("/api/v1/quotas/issue", json={"year": 2026, "rows": rows}, headers=auth(keys, "quota-admin"))
    problem = assert_problem(sent, 422)
    assert en in problem["message_en"] and zh in problem["message_zh"]
    assert client.get("/api/v1/quotas/journal", headers=auth(keys)).json() == []


SHAPEFILE = (".shp", ".shx", ".dbf", ".prj")


def _shapefile(folder: Path, stem: str = "Parcels") -> dict[str, bytes]:
    frame = parcel_frame(rect(1.2, 1.2, 1.6, 1.6), rect(2.2, 0.2, 2.4, 0.4)).assign(id=["A", "B"])
    frame.to_file(folder / f"{stem}.shp", engine="pyogrio")
    return {suffix: (folder / f"{stem}{suffix}").read_bytes() for suffix in SHAPEFILE}


@pytest.mark.parametrize(
    ("spelt", "en", "zh"),
    [
        (".dbf", "parcels.dbf: GDAL opens a shapefile's table only as .dbf or .DBF named as its .shp is", "属性表"),
        (".prj", "parcels.prj: GDAL opens a shapefile's projection only as .prj or .PRJ", "读不到坐标系"),
        (".shx", "parcels.shx: GDAL opens a shapefile's index only as .shx or .SHX", "读不出任何图形"),
    ],
)
def test_a_shapefiles_file_named_in_another_case_than_its_shp_is_refused_naming_it(
    spelt: str, en: str, zh: str, tmp_path: Path, client: TestClient, keys: dict[str, str]
) -> None:
    """Parcels.shp beside parcels.dbf (a folder from Windows, where the case does not matter): GDAL opens a
    table only under the .shp's own name, so it read the shapes alone, and the check of the table called it
    "damaged: its header describes 3 fields, 0 of which could be read"; a parcels.prj was "declares no CRS"
    beside a .prj, a parcels.shx "not a readable shp file". Each is now refused naming the file and the name
    GDAL would open, in a folder, a zip and an upload alike."""
    parts = _shapefile(tmp_path)
    (tmp_path / f"Parcels{spelt}").rename(tmp_path / f"parcels{spelt}")
    with pytest.raises(FormatError, match=rf"^Parcels.shp: {en}") as caught:
        read_parcels(tmp_path / "Parcels.shp")
    assert zh in caught.value.message_zh and "请改名" in caught.value.message_zh
    archive = tmp_path / "地块.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        for suffix, data in parts.items():
            zf.writestr(f"d/{'parcels' if suffix == spelt else 'Parcels'}{suffix}", data)
    with pytest.raises(FormatError, match=rf"^地块.zip: {en}"):
        read_parcels(archive)
    sent = client.post("/api/v1/reviews", files={"file": ("地块.zip", archive.read_bytes())}, headers=auth(keys))
    assert f"地块.zip: {en}" in assert_problem(sent, 422)["message_en"]


def test_a_shapefile_whose_files_are_named_alike_is_read_whatever_the_suffixes_case(tmp_path: Path) -> None:
    """Parcels.SHP beside Parcels.DBF, or one name spelt two ways in a folder (p.dbf and P.DBF), GDAL opening
    the one it finds: read as before."""
    _shapefile(tmp_path)
    for suffix in SHAPEFILE[1:]:
        (tmp_path / f"Parcels{suffix}").rename(tmp_path / f"Parcels{suffix.upper()}")
    (tmp_path / "Parcels.shp").rename(tmp_path / "Parcels.SHP")
    (tmp_path / "PARCELS.DBF").write_bytes((tmp_path / "Parcels.DBF").read_bytes())
    read = read_parcels(tmp_path / "Parcels.SHP")
    assert read["id"].tolist() == ["A", "B"] and read.crs.to_epsg() == 4548


@pytest.mark.parametrize(
    ("actor", "said"),
    [
        ("", "1 to 100 characters, not all blank"),
        ("  ", "1 to 100 characters, not all blank"),
        ("x" * 101, "1 to 100 characters"),
        (" 张三", "must not begin or end with a space"),
        ("张三\n李四", "it holds a line feed U+000A"),
        ("x\x1b[31m", "it holds a control character U+001B"),
        ("\u202eevil", "it holds a control character U+202E"),
    ],
)
def test_an_actor_that_could_not_name_a_key_is_refused_before_anything_is_recorded(
    actor: str, said: str, blueprint_dir: Path
) -> None:
    """--actor '' booked a transfer by nobody, and an actor holding a line break, an escape sequence or a bidi
    override was recorded as given in the journal, a project's history and a department's answer (the ledger
    refused control characters, the project library nothing): the 经办人 is now checked as an API key's name is,
    which is the actor of every record the service makes."""
    assert runner.invoke(app, ["quota", "init", "--blueprint", str(blueprint_dir)]).exit_code == 0
    plan = blueprint_dir.parent / "plan.csv"
    plan.write_text(
        "county_code,factor,amount\n370811,land_new,1000\n370811,land_compensation,1000\n", encoding="utf-8"
    )
    assert runner.invoke(app, ["quota", "issue", "-y", "2026", "--csv", str(plan)]).exit_code == 0
    transfer = ["quota", "transfer", "370811", "370812", "land_compensation", "-y", "2026", "--amount", "1"]
    commands = [
        [*transfer, "--price-wan", "1"],
        ["projects", "add", "Q1", "--name", "测", "--type", "industrial", "--level", "市重点", "--county", "370811"],
    ]
    for command in commands:
        result = runner.invoke(app, [*command, "--actor", actor])
        flat = re.sub(r"[\s│]", "", result.output)  # Rich's box, folded at its width
        assert result.exit_code == 2 and re.sub(r"\s", "", said) in flat and "经办人" in flat, result.output
    journal = runner.invoke(app, ["quota", "journal", "-f", "json"])
    assert {row["kind"] for row in json.loads(journal.output)} == {"issue"}
    assert runner.invoke(app, ["projects", "list", "-f", "json"]).output.strip() == "[]"
    assert runner.invoke(app, [*commands[0], "--actor", "张三"]).exit_code == 0


def _a_copy_of(blueprint_dir: Path, tmp_path: Path) -> Path:
    copy = tmp_path / "bp"
    shutil.copytree(blueprint_dir, copy)
    return copy


def test_no_command_writes_its_output_over_its_input_or_the_blueprints_own_files(
    blueprint_dir: Path, tmp_path: Path
) -> None:
    """`lantu papers r.json -o r.json` wrote the papers over the review they were made of (the review lost: the next
    `lantu papers r.json` was "not a lantu review result"); `compare A B -o A` over the 预审 boundary, `find-sites
    --within W -o W` over the area searched; and `find-sites`, `compare`, `papers` and `quota map` with -b wrote
    over the blueprint's manifest or a layer, leaving a blueprint that no longer loads. `lantu review` and
    `convert` refused both already: each command now does, exit 2, the files untouched."""
    bp = _a_copy_of(blueprint_dir, tmp_path)
    parcels = tmp_path / "p.geojson"
    parcel_frame(rect(1.2, 1.2, 1.6, 1.6)).assign(id="A").to_file(parcels)
    result = tmp_path / "r.json"
    assert runner.invoke(app, ["review", str(parcels), "-b", str(bp), "-o", str(result)]).exit_code == 0
    kept = {path: path.read_bytes() for path in (parcels, result, bp / "blueprint.yaml", bp / "county.gpkg")}
    refused = [
        (["papers", str(result), "-o", str(result)], "RESULT_JSON and --output name the same file"),
        (["papers", str(result), "-b", str(bp), "-o", str(bp / "blueprint.yaml")], "is a file of the blueprint"),
        (["compare", str(parcels), str(result), "-o", str(parcels)], "PREREVIEW and --output name the same file"),
        (["compare", str(result), str(parcels), "-o", str(parcels)], "NEW and --output name the same file"),
        (["compare", str(parcels), str(parcels), "-b", str(bp), "-o", str(bp / "county.gpkg")], "of the blueprint"),
        (["find-sites", "--area-mu", "5", "-b", str(bp), "--within", str(parcels), "-o", str(parcels)], "same file"),
        (["find-sites", "--area-mu", "5", "-b", str(bp), "-o", str(bp / "county.gpkg")], "of the blueprint"),
        (["quota", "map", "-y", "2026", "-b", str(bp), "-o", str(bp / "blueprint.yaml")], "of the blueprint"),
    ]
    for args, said in refused:
        run = runner.invoke(app, args)
        assert run.exit_code == 2 and said in run.output, (args, run.output)
        assert {path: path.read_bytes() for path in kept} == kept, args
    compared = runner.invoke(app, ["compare", str(parcels), str(parcels), "-o", str(tmp_path / "c.json")])
    assert compared.exit_code == 0, compared.output  # one boundary given twice is no output over an input
    assert runner.invoke(app, ["papers", str(result), "-o", str(tmp_path / "p.html")]).exit_code == 0


def test_no_command_writes_its_output_over_the_ledgers_database(blueprint_dir: Path, tmp_path: Path) -> None:
    """`lantu quota report -y 2026 -f csv -o lantu.db` wrote the report over the ledger's own SQLite file: every
    transaction, project and key lost, and the next command a traceback (sqlite3's "file is not a database"). The
    database of LANTU_DATABASE_URL and its journal files are refused as an output by every command writing one,
    exit 2 before anything is written."""
    database = tmp_path / "ledger.db"
    env = {"LANTU_DATABASE_URL": f"sqlite:///{database}"}
    assert runner.invoke(app, ["quota", "init", "--blueprint", str(blueprint_dir)], env=env).exit_code == 0
    parcels = tmp_path / "p.geojson"
    parcel_frame(rect(1.2, 1.2, 1.6, 1.6)).assign(id="A").to_file(parcels)
    result = tmp_path / "r.json"
    assert runner.invoke(app, ["review", str(parcels), "-b", str(blueprint_dir), "-o", str(result)]).exit_code == 0
    wal = tmp_path / "ledger.db-wal"
    uri = {"LANTU_DATABASE_URL": f"sqlite:///file:{database}?uri=true"}  # SQLite's URI filename, as a read-only one
    run = runner.invoke(app, ["quota", "report", "-y", "2026", "-f", "csv", "-o", str(database)], env=uri)
    assert run.exit_code == 2 and "指标台账数据库" in run.output, run.output
    for args in (
        ["quota", "report", "-y", "2026", "-f", "csv", "-o", str(database)],
        ["quota", "report", "-y", "2026", "-f", "xlsx", "-o", str(wal)],
        ["quota", "map", "-y", "2026", "-b", str(blueprint_dir), "-o", str(database)],
        ["review", str(parcels), "-b", str(blueprint_dir), "-o", str(database)],
        ["convert", str(parcels), str(database)],
        ["papers", str(result), "-o", str(database)],
        ["compare", str(parcels), str(parcels), "-o", str(database)],
        ["consult", "opinion", "P1", "-o", str(database)],
    ):
        run = runner.invoke(app, args, env=env)
        flat = re.sub(r"\s", "", run.output)
        assert run.exit_code == 2 and "isafileoftheledger'sdatabase" in flat and "指标台账数据库" in flat, run.output
        assert database.read_bytes().startswith(b"SQLite format 3\0"), args
        assert not wal.exists() or not wal.read_bytes().startswith((b"PK", "区县".encode())), args
    balances = runner.invoke(app, ["quota", "balances", "-f", "json"], env=env)
    assert balances.exit_code == 0 and json.loads(balances.output) == [], balances.output


def test_a_ledger_database_that_is_no_database_is_said_not_a_traceback(tmp_path: Path) -> None:
    """A database file written over (or damaged) made every ledger command print SQLAlchemy's traceback ("file is
    not a database"), and SQLite's "database disk image is malformed" read as "the database disk is full"."""
    database = tmp_path / "ledger.db"
    database.write_text("区县,要素\n370811,land_new\n", encoding="utf-8")
    env = {**os.environ, "LANTU_DATABASE_URL": f"sqlite:///{database}"}
    done = subprocess.run(
        [sys.executable, "-m", "api.cli", "quota", "balances"], env=env, capture_output=True, text=True
    )
    assert done.returncode == 2 and "Traceback" not in done.stderr, done.stderr
    assert "damaged or is no SQLite database" in done.stderr and "数据库文件已损坏" in done.stderr
    malformed = DatabaseError("SELECT 1", {}, sqlite3.DatabaseError("database disk image is malformed"))
    assert storage_fault(malformed) is not None and "damaged" in storage_fault(malformed)[0]


def _folders_kml(path: Path, *folders: tuple[str, str, float]) -> Path:
    body = "".join(
        f"<Folder><name>{name}</name><Placemark><name>{pid}</name><Polygon><outerBoundaryIs><LinearRing><coordinates>"
        + " ".join(f"{x + shift},{y},0" for x, y in [(116.6185, 35.3868), (116.6185, 35.3882), (116.6167, 35.3882)])
        + f" {116.6185 + shift},35.3868,0</coordinates></LinearRing></outerBoundaryIs></Polygon></Placemark></Folder>"
        for name, pid, shift in folders
    )
    path.write_text(
        f'<?xml version="1.0" encoding="UTF-8"?><kml xmlns="http://www.opengis.net/kml/2.2"><Document>{body}'
        "</Document></kml>",
        encoding="utf-8",
    )
    return path


def test_two_kml_folders_of_one_name_are_refused_as_ambiguous_and_named_f1_f2(tmp_path: Path) -> None:
    """Two folders written "F" (GDAL lists them F and F (#2)): --layer F reviewed the first without a word, though
    the name is both folders'. It is refused, naming them as a user can pass them, F (#1) and F (#2); F (#1) reads
    the first, and a name of none lists them so too."""
    path = _folders_kml(tmp_path / "two.kml", ("F", "P1", 0.0), ("F", "P2", 0.01), ("G", "P3", 0.02))
    with pytest.raises(FormatError, match=r"^two\.kml: 'F' names 2 layers of the file \(F \(#1\), F \(#2\)\)") as c:
        read_parcels(path, layer="F")
    assert "对应文件中的 2 个图层（F (#1), F (#2)）" in c.value.message_zh
    for layer, read in (("F (#1)", "P1"), ("F (#2)", "P2"), ("G", "P3")):
        assert read_parcels(path, layer=layer)["name"].tolist() == [read], layer
    with pytest.raises(FormatError, match=r"its layers are F \(#1\), F \(#2\), G "):
        read_parcels(path, layer="H")
    with pytest.raises(FormatError, match=r"no layer named 'G \(#1\)'"):  # one folder G: no "(#1)" to tell apart
        read_parcels(path, layer="G (#1)")


@pytest.mark.parametrize(
    ("document", "said"),
    [
        ("济自然资供\n〔2026〕1号", "the document number must be one line"),
        ("   ", "the document number must hold 1 to 100 characters"),
        ("号" * 101, "the document number must hold 1 to 100 characters"),
    ],
)
def test_a_disposals_document_number_is_one_line_of_at_most_its_column(
    document: str, said: str, tmp_path: Path
) -> None:
    """A disposal's 文号 was checked for control characters only: a line break was kept (a 文号 of two lines in the
    register's CSV), a blank one kept, and one longer than its column (100) was kept by SQLite and an error of
    PostgreSQL's; the approval's 批准文号 was checked as one line of 1 to 100 characters all along."""
    engine = make_engine(f"sqlite:///{tmp_path / 'ledger.db'}")
    migrate(engine)
    ledger = Ledger(engine)
    ledger.register_counties([("370811", "任城区"), ("370812", "兖州区")])
    ledger.import_stock(load_blueprint(rect_blueprint(tmp_path / "bp", STOCK, slope=None)), actor="自然资源局")
    land = next(r["id"] for r in ledger.stock_land() if r["feature_id"] == "A1")
    with pytest.raises(InputError) as caught:
        ledger.dispose(land, "供地", 1000, date(2026, 3, 1), actor="a", document=document)
    assert said in caught.value.message_en and "文号" in caught.value.message_zh
    assert ledger.stock_disposals() == []
    ledger.dispose(land, "供地", 1000, date(2026, 3, 1), actor="a", document="济自然资供〔2026〕1号")
    assert [d["document"] for d in ledger.stock_disposals()] == ["济自然资供〔2026〕1号"]


@pytest.mark.parametrize(
    ("method", "url", "body", "member"),
    [
        ("post", "/api/v1/quotas/issue", {"year": 2026, "rows": [], "again_": True}, "again_"),
        (
            "post",
            "/api/v1/quotas/reserve",
            {"review_id": "r", "year": 2026, "project_id": "P", "parcel": "A"},
            "parcel",
        ),
        ("post", "/api/v1/quotas/projects/P/confirm", {"doc": "济政地〔2026〕1号"}, "doc"),
        ("post", "/api/v1/quotas/projects/P/revoke", {"why": "撤销"}, "why"),
        ("post", "/api/v1/quotas/projects/P/lapse", {"reason": "收回", "note": "x"}, "note"),
        ("post", "/api/v1/quotas/projects/P/factors", {"year": 2026, "needs": {"energy": 1}, "unit": "万吨"}, "unit"),
        (
            "post",
            "/api/v1/quotas/stock/1/disposals",
            {"kind": "盘活", "area_m2": 10, "date": "2026-03-01", "unit": "亩"},
            "unit",
        ),
        ("post", "/api/v1/quotas/stock/settle", {"county": "370811", "year": 2026, "dry_run": True}, "dry_run"),
        (
            "post",
            "/api/v1/projects",
            {
                "id": "P",
                "name": "n",
                "project_type": "industrial",
                "level": "一般",
                "county": "370811",
                "stage_": "储备",
            },
            "stage_",
        ),
        ("post", "/api/v1/projects/P/stage", {"stage": "储备", "actor": "someone"}, "actor"),
        ("post", "/api/v1/projects/P/reviews", {"review_id": "r", "parcel": "A"}, "parcel"),
        ("post", "/api/v1/consult/projects/P/rounds", {"review_id": "r", "due": 10}, "due"),
        ("post", "/api/v1/consult/tasks/1/answers", {"opinion": "同意", "conditions": "做防洪评价"}, "conditions"),
        ("post", "/api/v1/consult/projects/P/escalation", {"joint": False}, "joint"),
    ],
    ids=lambda v: v if isinstance(v, str) and v.startswith("/") else None,
)
def test_a_write_body_refuses_a_member_it_does_not_read(
    client: TestClient, keys: dict[str, str], method: str, url: str, body: dict[str, object], member: str
) -> None:
    """A member a write does not read was dropped unsaid: a disposal's "unit": "亩" booked 10 m², an answer's
    "conditions" (the field is "text") was an unconditional 同意, a confirmation's "doc" left the 批准文号 out of the
    journal, a project's "stage_" entered it at 谋划. Every body that writes refuses one, 422 naming it."""
    sent = getattr(client, method)(url, json=body, headers=auth(keys, "admin"))
    problem = assert_problem(sent, 422)
    assert f"body.{member}: Extra inputs are not permitted" in problem["message_en"], problem
    assert f"body.{member}：不接受该项" in problem["message_zh"]


COORDINATE_TEXT = (
    "[属性描述]\n坐标系=2000国家大地坐标系\n几度分带={width}\n投影类型=高斯克吕格\n计量单位=米\n带号=39\n精度=0.001\n"
    "[地块坐标]\n5,2.5600,D01,地块,面,,,,@\n"
    "J1,1,3917732.007,39465176.920\nJ2,1,3917732.007,39465336.920\nJ3,1,3917572.007,39465336.920\n"
    "J4,1,3917572.007,39465176.920\nJ1,1,3917732.007,39465176.920\n"
)


@pytest.mark.parametrize("width", ["1.5", "3.5", "3/6", "3 6", "36", "0", "１.５"])
def test_a_zone_width_that_is_not_3_or_6_is_refused_as_written(width: str) -> None:
    """几度分带 was read as its first digits: 1.5 (a 1.5° zone, which lantu does not read) was refused as "no
    Gauss-Krüger family … with 1° zones", and 3.5, 3/6 or "3 6" were read as 3 without a word."""
    with pytest.raises(CRSError, match=rf"^几度分带 '{re.escape(width)}' is not 3 or 6$") as caught:
        parse_coordinate_text(COORDINATE_TEXT.format(width=width))
    assert "无效：应为 3 或 6" in caught.value.message_zh


@pytest.mark.parametrize("width", ["3", "03", "３", "3度", "3度带", "3度分带", "3 °", ""])
def test_a_zone_width_of_3_is_read_however_it_is_written(width: str) -> None:
    frame = parse_coordinate_text(COORDINATE_TEXT.format(width=width))
    assert frame.crs.to_epsg() == 4527 and frame.geometry.area.tolist() == pytest.approx([25_600])


def test_a_height_that_is_no_finite_number_is_refused(tmp_path: Path, client: TestClient, keys: dict[str, str]) -> None:
    """A GeoJSON z of 1e999 (Python's JSON reads it as inf) or a KML altitude of inf was reviewed: x and y are
    checked, z was not, and the review's record kept the parcel with a position [x, y, null] (known leftover)."""
    ring = [[116.6185, 35.3868, 5], [116.6185, 35.3882, 0], [116.6167, 35.3882, 1e999], [116.6185, 35.3868, 5]]
    body = json.dumps({"type": "Polygon", "coordinates": [ring]}).replace("Infinity", "1e999")
    sent = client.post("/api/v1/reviews", content=body, headers={**auth(keys), "Content-Type": "application/json"})
    assert "feature 1: a height (z) that is no finite number" in assert_problem(sent, 422)["message_en"]
    kml = tmp_path / "高程.kml"
    kml.write_bytes(_kml("UTF-8").replace(b",0 ", b",inf ", 1))
    with pytest.raises(FormatError, match=r"^高程\.kml: feature 1: a height \(z\) that is no finite number") as c:
        read_parcels(kml)
    assert "高程（z）不是有限数值" in c.value.message_zh
    kml.write_bytes(_kml("UTF-8"))  # a finite altitude is read, as before
    assert len(read_parcels(kml)) == 1


def _placemark(name: str, x: float) -> str:
    ring = f"{x},35.3868,0 {x},35.3882,0 {x - 0.0018},35.3882,0 {x},35.3868,0"
    return (
        f"<Placemark><name>{name}</name><Polygon><outerBoundaryIs><LinearRing><coordinates>{ring}</coordinates>"
        "</LinearRing></outerBoundaryIs></Polygon></Placemark>"
    )


OVERLAY = (
    "<GroundOverlay><name>scan</name><LatLonBox><north>35.4</north><south>35.3</south><east>116.7</east>"
    "<west>116.6</west></LatLonBox></GroundOverlay>"
)
LINK = "<NetworkLink><name>L</name><Link><href>other.kml</href></Link></NetworkLink>"


def test_a_kml_layer_read_alone_says_its_own_overlays_and_links(tmp_path: Path) -> None:
    """--layer A warned of the image overlays and links of every folder of the file, counted over the whole of it
    (known leftover): a folder of none was told of 4 overlays and a link elsewhere. The folder read says its own;
    the whole file, read without --layer, says them all as before."""
    path = tmp_path / "folders.kml"
    body = (
        f"{_placemark('R0', 116.62)}{OVERLAY}<Folder><name>A</name>{_placemark('A1', 116.63)}"
        f"<Folder><name>Sub</name>{OVERLAY}{_placemark('S1', 116.64)}</Folder></Folder>"
        f"<Folder><name>B</name>{OVERLAY}{OVERLAY}{LINK}{_placemark('B1', 116.65)}</Folder>"
        f"<Folder><name>C</name>{_placemark('C1', 116.66)}</Folder>"
    )
    path.write_text(
        f'<?xml version="1.0" encoding="UTF-8"?><kml xmlns="http://www.opengis.net/kml/2.2"><Document>{body}'
        "</Document></kml>",
        encoding="utf-8",
    )

    def said(layer: str | None) -> tuple[list[str], list[str]]:
        frame = read_parcels(path, layer=layer)
        warned = frame.attrs.get("warnings", [])
        return frame["name"].tolist(), [re.sub(r"（.*", "", w).removeprefix("folders.kml: ") for w in warned]

    overlays = "{} image overlay(s) (GroundOverlay) left out: an image over the map is no parcel"
    link = "1 link(s) to other documents (NetworkLink) not followed"

    def starts(warned: list[str], *expected: str) -> bool:
        return len(warned) == len(expected) and all(w.startswith(e) for w, e in zip(warned, expected, strict=True))

    names, warned = said(None)
    assert names == ["R0", "A1", "S1", "B1", "C1"] and starts(warned, overlays.format(4), link), warned
    assert said("A") == (["A1"], [])
    assert said("C") == (["C1"], [])
    names, warned = said("Sub")
    assert names == ["S1"] and starts(warned, overlays.format(1)), warned
    names, warned = said("B")
    assert names == ["B1"] and starts(warned, overlays.format(2), link), warned


@pytest.mark.parametrize(("review", "said"), [("/dev/zero", "is not a regular file"), (".", "is a folder")])
def test_a_demands_review_that_is_no_regular_file_is_refused_not_read_for_ever(
    review: str, said: str, tmp_path: Path, blueprint_dir: Path
) -> None:
    """An allocation demand's review: /dev/zero was read for ever, the memory of the command growing until it was
    killed: the demand file's reviews were read without the check every file named on the command line has."""
    demands = tmp_path / "demands.yaml"
    demands.write_text(f"- {{project_id: P1, review: {review}, parcel_id: A}}\n", encoding="utf-8")
    assert runner.invoke(app, ["quota", "init", "--blueprint", str(blueprint_dir)]).exit_code == 0
    run = runner.invoke(app, ["quota", "allocate", str(demands), "-y", "2026"])
    flat = re.sub(r"\s", "", run.output)
    assert run.exit_code == 2 and "demands.yaml line 1" in run.output and re.sub(r"\s", "", said) in flat, run.output


def test_a_ledger_movement_with_a_blank_reason_is_refused(tmp_path: Path) -> None:
    """`lantu quota reverse 12 --reason ''` booked a 冲销 whose 事由 was blank, though the option is required and a
    reversal is how a mistake is undone (a 收回 refused a blank reason, nothing else did); the journal records why
    each movement is made, so none is booked with a blank one (a transfer's empty one is still its default)."""
    engine = make_engine(f"sqlite:///{tmp_path / 'ledger.db'}")
    migrate(engine)
    ledger = Ledger(engine)
    ledger.register_counties([("370811", "任城区"), ("370812", "兖州区")])
    issued = ledger.issue(2026, [("370811", "land_new", 10_000), ("370811", "land_compensation", 10_000)], actor="a")
    before = ledger.journal()
    moves = [lambda reason=reason: ledger.reverse(issued, actor="a", reason=reason) for reason in ("", "  ", "\u3000")]
    moves.append(
        lambda: ledger.transfer("370811", "370812", "land_compensation", 2026, 100, actor="a", reason=" ", price_wan=1)
    )
    moves.append(lambda: ledger.issue(2027, [("370811", "land_new", 10_000)], actor="a", reason=""))
    for move in moves:
        with pytest.raises(InputError, match=r"needs a reason \(事由\)") as caught:
            move()
        assert "须填写事由" in caught.value.message_zh
    assert ledger.journal() == before
    assert ledger.reverse(issued, actor="a", reason="录入错误")


def test_the_reports_refusal_of_a_format_names_xlsx_too(blueprint_dir: Path) -> None:
    """`lantu quota report -f xml` said "use table, json, csv", leaving out the workbook the report also writes."""
    assert runner.invoke(app, ["quota", "init", "--blueprint", str(blueprint_dir)]).exit_code == 0
    run = runner.invoke(app, ["quota", "report", "-y", "2026", "-f", "xml"])
    assert run.exit_code == 2 and "use table, csv, json or xlsx" in run.output and "xlsx" in run.output, run.output


def _drawing(path: Path, label: str, *, version: str | None, page: str | None, encoding: str) -> Path:
    """A DXF of one 100 m square outline in EPSG:4548 and its parcel_id label, with the header given."""
    x, y = 465000.0, 3917500.0
    header = "".join(
        f"9\n{name}\n{code}\n{value}\n"
        for name, code, value in (("$ACADVER", 1, version), ("$DWGCODEPAGE", 3, page))
        if value
    )
    square = "".join(f"10\n{x + dx}\n20\n{y + dy}\n" for dx, dy in ((0, 0), (100, 0), (100, 100), (0, 100)))
    body = (
        (f"0\nSECTION\n2\nHEADER\n{header}0\nENDSEC\n" if header else "")
        + f"0\nSECTION\n2\nENTITIES\n0\nLWPOLYLINE\n8\n0\n90\n4\n70\n1\n{square}"
        + f"0\nTEXT\n8\nparcel_id\n10\n{x + 50}\n20\n{y + 50}\n30\n0.0\n40\n5.0\n1\n{label}\n0\nENDSEC\n0\nEOF\n"
    )
    path.write_bytes(body.encode(encoding))
    return path


@pytest.mark.parametrize(
    ("version", "page", "encoding", "said"),
    [
        (None, None, "utf-8", "read as UTF-8"),
        (None, None, "gbk", "read as GB18030 (GBK)"),
        ("AC1021", "ANSI_1252", "utf-8", None),  # AutoCAD 2007 and later: UTF-8 by definition
        ("AC1015", "ANSI_1252", "utf-8", None),  # UTF-8 under the default header, as converters write it
        ("AC1015", "ANSI_936", "gbk", None),  # GDAL decodes the code page declared
    ],
)
def test_a_drawings_chinese_labels_are_read_as_written(
    version: str | None, page: str | None, encoding: str, said: str | None, tmp_path: Path
) -> None:
    """GDAL read a DXF's text that no code page declared (or ANSI_1252, the western default, or any AutoCAD 2007
    drawing, UTF-8 by definition) as Latin-1: the label 地块A came out as "å\\x9c°å\\x9d\\x97A", and the review then
    refused the id for its control characters; in GBK as "µØ¿éA", an id reviewed that no one wrote."""
    path = _drawing(tmp_path / "地块.dxf", "地块A", version=version, page=page, encoding=encoding)
    frame = read_parcels(path, crs="EPSG:4548")
    assert frame["id"].tolist() == ["地块A"]
    warned = frame.attrs.get("warnings", [])
    assert (said is None and not warned) or (said is not None and said in warned[0] and "标注已按" in warned[0]), warned


def test_a_drawings_western_label_and_escapes_are_kept(tmp_path: Path) -> None:
    """An ANSI_1252 drawing's own Latin-1 text stays as GDAL read it, and the \\\\U+XXXX escapes a drawing writes for
    a character outside its code page are decoded (GDAL left them as written in an AutoCAD 2000 drawing)."""
    western = _drawing(tmp_path / "w.dxf", "Café-é", version="AC1015", page="ANSI_1252", encoding="cp1252")
    assert read_parcels(western, crs="EPSG:4548")["id"].tolist() == ["Café-é"]
    escaped = _drawing(tmp_path / "e.dxf", "\\U+5730\\U+5757A", version="AC1015", page="ANSI_1252", encoding="ascii")
    assert read_parcels(escaped, crs="EPSG:4548")["id"].tolist() == ["地块A"]


def test_a_drawings_outline_with_a_coordinate_that_is_no_number_is_said_so(tmp_path: Path) -> None:
    """A closed LWPOLYLINE with a vertex of NaN was "no closed polylines in the drawing (1 open polyline(s): close
    them)": NaN equals nothing, so GDAL's ring did not end where it began, and the drawing was said to be open."""
    path = _drawing(tmp_path / "nan.dxf", "A", version=None, page=None, encoding="ascii")
    path.write_text(path.read_text(encoding="ascii").replace("10\n465100.0\n", "10\nnan\n", 1), encoding="ascii")
    with pytest.raises(CRSError, match=r"^nan\.dxf: coordinates contain NaN or infinite values$"):
        read_parcels(path, crs="EPSG:4548")
