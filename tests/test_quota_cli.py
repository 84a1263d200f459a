"""`lantu quota …`: the reviewer's walk-through of the ledger from the command line."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest
from support import parcel_frame, rect
from typer.testing import CliRunner

from api.cli import app


@pytest.fixture
def run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    monkeypatch.setenv("LANTU_DATABASE_URL", f"sqlite:///{tmp_path / 'ledger.db'}")
    runner = CliRunner()

    def invoke(*args: str, code: int = 0) -> object:
        result = runner.invoke(app, [str(a) for a in args])
        assert result.exit_code == code, result.output
        return result

    return invoke


def _review(run, tmp_path: Path, blueprint_dir: Path, name: str, box: tuple[float, ...]) -> Path:  # type: ignore[no-untyped-def]
    parcels = tmp_path / f"{name}.geojson"
    parcel_frame(rect(*box), id=name).to_crs(4490).to_file(parcels, driver="GeoJSON")
    out = tmp_path / f"{name}.json"
    run("review", parcels, "-b", blueprint_dir, "-o", out)
    return out


def test_reviewer_walk_through(run, tmp_path: Path, blueprint_dir: Path) -> None:  # type: ignore[no-untyped-def]
    run("quota", "init", "--blueprint", blueprint_dir)
    plan = tmp_path / "plan.csv"
    plan.write_text(
        "county_code,factor,amount\n370811,land_new,100000\n370812,land_new,50000\n"
        "370811,land_compensation,60000\n370811,land_compensation_paddy,50000\n",
        encoding="utf-8",
    )
    run("quota", "issue", "--year", "2026", "--csv", plan)
    paddy = _review(run, tmp_path, blueprint_dir, "PADDY", (2.2, 0.2, 2.4, 0.4))  # conditional: 0101
    clean = _review(run, tmp_path, blueprint_dir, "CLEAN", (1.2, 1.2, 1.3, 1.3))  # pass, on construction land
    farmland = _review(run, tmp_path, blueprint_dir, "FARM", (3.2, 0.2, 3.4, 0.4))  # reject: basic farmland
    run("quota", "reserve", paddy, "--year", "2026", "--level", "市重点")
    refused = run("quota", "reserve", farmland, "--year", "2026", code=2)
    assert "否决" in refused.stderr and len(refused.stderr.strip().splitlines()) == 1
    no_need = run("quota", "reserve", clean, "--year", "2026", code=2)
    assert "no land quota" in no_need.stderr
    balances = json.loads(run("quota", "balances", "--year", "2026", "--format", "json").stdout)
    row = {(b["holder"], b["factor"], b["bucket"]): b["balance"] for b in balances}
    assert row[("370811", "land_new", "available")] == pytest.approx(70_000 - 40_000)
    assert row[("city", "land_new", "available")] == pytest.approx(45_000)
    assert row[("PADDY", "land_compensation_paddy", "reserved")] == pytest.approx(40_000)
    assert {"holder", "factor", "year", "balance"} <= set(balances[0])
    journal = list(csv.DictReader(io.StringIO(run("quota", "journal").stdout)))
    assert {j["kind"] for j in journal} == {"issue", "reserve"}
    run("quota", "revoke", "PADDY")
    balances = json.loads(run("quota", "balances", "--year", "2026", "-f", "json").stdout)
    assert next(b["balance"] for b in balances if b["holder"] == "370811" and b["factor"] == "land_new") == 70_000
    assert "PADDY" in run("quota", "balances", "--year", "2026").stdout  # the rich table
    out = tmp_path / "quota.html"
    run("quota", "map", "--year", "2026", "-b", blueprint_dir, "-o", out)
    assert "任城区" in out.read_text(encoding="utf-8")


def test_cli_refusals_exit_2_and_change_nothing(run, tmp_path: Path, blueprint_dir: Path) -> None:  # type: ignore[no-untyped-def]
    run("quota", "init", "--blueprint", blueprint_dir)
    plan = tmp_path / "plan.csv"
    plan.write_text("county_code,factor,amount\n999999,land_new,100\n", encoding="utf-8")
    assert "unknown county" in run("quota", "issue", "--year", "2026", "--csv", plan, code=2).stderr
    plan.write_text("county_code,factor,amount\n370811,land_new,1000\n", encoding="utf-8")
    run("quota", "issue", "--year", "2026", "--csv", plan)
    big = _review(run, tmp_path, blueprint_dir, "BIG", (2.0, 0.0, 2.5, 1.0))
    assert "needed" in run("quota", "reserve", big, "--year", "2026", code=2).stderr  # overdraw
    bad = tmp_path / "bad.csv"
    bad.write_text("county,amount\n", encoding="utf-8")
    assert "county_code,factor,amount" in run("quota", "issue", "--year", "2026", "--csv", bad, code=2).stderr
    journal = json.loads(run("quota", "journal", "--format", "json").stdout)
    assert {j["kind"] for j in journal} == {"issue"}
    run("quota", "transfer", "370811", "370812", "land_new", "--year", "2026", "--amount", "100", "--due", "2026-01-31")
    overdue = json.loads(run("quota", "overdue", "--today", "2026-03-01", "-f", "json").stdout)
    assert overdue[0]["days_overdue"] == 29
