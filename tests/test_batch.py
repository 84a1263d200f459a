"""Batch review in partitions on dask gives exactly the serial result."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from support import parcel_frame, rect
from typer.testing import CliRunner

from api.cli import app
from geo.batch import review_in_partitions
from geo.blueprint import Blueprint
from geo.review import review


def _grid() -> list:  # type: ignore[type-arg]
    return [rect(0.1 + 0.9 * i, 0.1 + 0.9 * j, 0.5 + 0.9 * i, 0.6 + 0.9 * j) for i in range(10) for j in range(5)]


@pytest.mark.parametrize("scheduler", ["threads", "processes", "local"])
def test_partitions_equal_serial(blueprint: Blueprint, blueprint_dir: Path, scheduler: str) -> None:
    frame = parcel_frame(*_grid(), project_type="industrial", investment_wan=100_000)
    frame["project_type"] = ["industrial", "energy"] * 25  # energy: single-site, no standard → conditional
    serial = review(frame, blueprint)
    batched = review_in_partitions(frame, blueprint_dir, partitions=7, scheduler=scheduler, num_workers=2)
    assert [p.id for p in batched.parcels] == [p.id for p in serial.parcels] == [str(i) for i in range(1, 51)]
    for a, b in zip(batched.parcels, serial.parcels, strict=True):
        assert a.model_dump(exclude={"geometry"}) == b.model_dump(exclude={"geometry"})
    assert {p.verdict for p in batched.parcels} == {"pass", "conditional", "reject"}


def test_cli_workers(blueprint_dir: Path, tmp_path: Path) -> None:
    path = tmp_path / "grid.gpkg"
    parcel_frame(*_grid()).to_file(path)
    out = tmp_path / "r.json"
    result = CliRunner().invoke(app, ["review", str(path), "-b", str(blueprint_dir), "--workers", "2", "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert len(json.loads(out.read_text())["parcels"]) == 50


def test_cli_on_a_running_scheduler(blueprint_dir: Path, tmp_path: Path) -> None:
    from distributed import LocalCluster

    path = tmp_path / "grid.gpkg"
    parcel_frame(*_grid()[:12]).to_file(path)
    out = tmp_path / "r.json"
    with LocalCluster(n_workers=1, threads_per_worker=1, dashboard_address=None, host="127.0.0.1") as cluster:
        args = ["review", str(path), "-b", str(blueprint_dir), "--scheduler", cluster.scheduler_address, "-o", str(out)]
        result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    assert [p["id"] for p in json.loads(out.read_text())["parcels"]] == [str(i) for i in range(1, 13)]
