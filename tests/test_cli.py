"""`lantu` commands: output, formats and exit codes (0 with a result, 2 for bad input)."""

from __future__ import annotations

import csv
import io
import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import geopandas as gpd
import pytest
import shapely
from support import EPSG, parcel_frame, rect
from typer.testing import CliRunner

from api.cli import app
from geo.blueprint import load_blueprint

runner = CliRunner()


@pytest.fixture
def parcels_file(tmp_path: Path) -> Path:
    path = tmp_path / "parcels.geojson"
    frame = parcel_frame(rect(1.2, 1.2, 1.6, 1.6), rect(2.9, 0.1, 3.1, 0.3), project_type="residential")
    frame["id"] = ["A", "B"]
    frame.to_crs(4490).to_file(path, driver="GeoJSON")
    return path


def test_review_json_on_stdout(parcels_file: Path, blueprint_dir: Path) -> None:
    result = runner.invoke(app, ["review", str(parcels_file), "--blueprint", str(blueprint_dir)])
    assert result.exit_code == 0, result.output
    body = json.loads(result.stdout)
    assert [p["id"] for p in body["parcels"]] == ["A", "B"]
    assert [p["verdict"] for p in body["parcels"]] == ["pass", "reject"]
    assert body["profile"] == "ten-point" and body["blueprint"] == "测试蓝图"


def test_review_pauses_the_collector_until_written_then_restores_it(
    parcels_file: Path, blueprint_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import gc

    from geo.io import results

    seen: list[bool] = []
    real = results.write_result_csv
    monkeypatch.setattr("geo.cli.write_result_csv", lambda *a, **k: seen.append(gc.isenabled()) or real(*a, **k))
    result = runner.invoke(app, ["review", str(parcels_file), "-b", str(blueprint_dir), "--format", "csv"])
    assert result.exit_code == 0, result.output
    assert seen == [False]  # paused while the output is rendered
    assert gc.isenabled()  # and on again after the command
    failed = runner.invoke(app, ["review", str(parcels_file), "-b", str(blueprint_dir / "nowhere")])
    assert failed.exit_code == 2 and gc.isenabled()  # an error restores it too


def test_major_project_flag(parcels_file: Path, blueprint_dir: Path) -> None:
    result = runner.invoke(
        app, ["review", str(parcels_file), "-b", str(blueprint_dir), "--major-project", "--project-type", "transport"]
    )
    body = json.loads(result.stdout)
    farmland = next(i for i in body["parcels"][1]["items"] if i["code"] == "basic_farmland")
    assert farmland["status"] == "warn"


def test_facility_flag_implies_the_type_and_is_checked_against_a_given_one(
    parcels_file: Path, blueprint_dir: Path
) -> None:
    """``--facility highway`` rates every parcel as a 公路 (it asks for the route length), a transport project."""
    result = runner.invoke(app, ["review", str(parcels_file), "-b", str(blueprint_dir), "--facility", "highway"])
    assert result.exit_code == 0, result.output
    parcel = json.loads(result.stdout)["parcels"][0]
    standard = next(i for i in parcel["items"] if i["code"] == "land_use_standard")
    assert parcel["project_type"] == "transport" and standard["facts"]["facility"] == "highway"
    assert "未提供路线长度（公里）" in standard["message_zh"]
    args = ["review", str(parcels_file), "-b", str(blueprint_dir), "--facility", "highway", "--project-type", "energy"]
    mismatch = runner.invoke(app, args)
    assert mismatch.exit_code == 2 and "与项目类型 energy 不符" in mismatch.output


@pytest.mark.parametrize(
    ("fmt", "needle"), [("geojson", '"FeatureCollection"'), ("html", "审查报告"), ("map", "leaflet"), ("pdf", "%PDF")]
)
def test_other_formats_to_file(parcels_file: Path, blueprint_dir: Path, tmp_path: Path, fmt: str, needle: str) -> None:
    out = tmp_path / f"out.{fmt}"
    result = runner.invoke(app, ["review", str(parcels_file), "-b", str(blueprint_dir), "-f", fmt, "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert needle in out.read_bytes().decode("utf-8", errors="replace")
    assert "2 parcel(s) reviewed" in result.stderr


def test_geojson_output_reads_back(parcels_file: Path, blueprint_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "out.geojson"
    runner.invoke(app, ["review", str(parcels_file), "-b", str(blueprint_dir), "-f", "geojson", "-o", str(out)])
    frame = gpd.read_file(out)
    assert list(frame["basic_farmland"]) == ["pass", "fail"]
    assert frame.to_crs(EPSG).area.iloc[0] == pytest.approx(160_000, rel=1e-4)


def test_bad_input_exits_2_with_one_line_reason(tmp_path: Path, blueprint_dir: Path) -> None:
    swapped = tmp_path / "swapped.geojson"
    swapped.write_text(
        json.dumps(
            {
                "type": "Polygon",
                "coordinates": [[[35.4, 116.6], [35.41, 116.6], [35.41, 116.61], [35.4, 116.6]]],
            }
        )
    )
    result = runner.invoke(app, ["review", str(swapped), "-b", str(blueprint_dir)])
    assert result.exit_code == 2
    assert "swapped" in result.stderr and "颠倒" in result.stderr
    assert result.stdout == ""


@pytest.mark.parametrize(
    ("content", "name", "needle"),
    [
        ("{not json", "bad.geojson", "not valid JSON"),
        ('{"type": "Point", "coordinates": [116.6, 35.4]}', "point.geojson", "must be a polygon"),
        ("x", "parcels.csv", "unsupported parcel file"),
    ],
)
def test_malformed_files_exit_2(tmp_path: Path, blueprint_dir: Path, content: str, name: str, needle: str) -> None:
    path = tmp_path / name
    path.write_text(content)
    result = runner.invoke(app, ["review", str(path), "-b", str(blueprint_dir)])
    assert result.exit_code == 2
    assert needle in result.stderr


def test_bad_blueprint_exits_2(parcels_file: Path, tmp_path: Path) -> None:
    result = runner.invoke(app, ["review", str(parcels_file), "-b", str(tmp_path)])
    assert result.exit_code == 2
    assert "blueprint.yaml" in result.stderr


def test_blueprint_check(blueprint_dir: Path) -> None:
    result = runner.invoke(app, ["blueprint", "check", str(blueprint_dir), "--json"])
    assert result.exit_code == 0
    assert {r["id"] for r in json.loads(result.stdout)["layers"]} >= {"county", "slope"}


def test_progress_bar_for_many_parcels(tmp_path: Path, blueprint_dir: Path) -> None:
    geoms = [rect(0.1 + 0.1 * i, 1.1, 0.15 + 0.1 * i, 1.15) for i in range(25)]
    path = tmp_path / "many.gpkg"
    parcel_frame(*geoms).to_file(path)
    result = runner.invoke(app, ["review", str(path), "-b", str(blueprint_dir), "-o", str(tmp_path / "r.json")])
    assert result.exit_code == 0, result.output
    assert len(json.loads((tmp_path / "r.json").read_text())["parcels"]) == 25


def test_console_script_exit_code(tmp_path: Path, blueprint_dir: Path) -> None:
    """The installed `lantu` entry point itself, as a user runs it."""
    lantu = Path(sys.executable).parent / "lantu"
    empty = tmp_path / "empty.geojson"
    empty.write_text('{"type": "FeatureCollection", "features": []}')
    done = subprocess.run(
        [str(lantu), "review", str(empty), "-b", str(blueprint_dir)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 2
    assert "no parcels" in done.stderr
    helped = subprocess.run([str(lantu), "review", "--help"], capture_output=True, text=True, check=False)
    assert helped.returncode == 0 and "--major-project" in helped.stdout
    # a usage error is one line in both languages, exit 2, like every other refusal (not a boxed panel)
    wrong = subprocess.run(
        [str(lantu), "review", str(empty), "-b", str(blueprint_dir), "--format", "xml"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert wrong.returncode == 2 and wrong.stdout == ""
    (line,) = wrong.stderr.splitlines()
    assert line.startswith("用法错误 / usage error: ") and "'xml' is not one of" in line and "review --help" in line
    assert "--format / -f 的值无效；" in line and "Value error" not in line  # Chinese too; not pydantic's words
    bare = subprocess.run([str(lantu)], capture_output=True, text=True, check=False)
    assert bare.returncode == 2 and "Usage" in bare.stdout and bare.stderr == ""  # its help, as before


@pytest.mark.parametrize(
    ("args", "said"),
    [
        (["review", "--nope"], "没有选项 --nope（是否指 --name、--no-pieces？）；No such option: --nope"),
        (["review"], "缺少参数 parcels；Missing argument 'parcels'."),
        (["review", "a", "b", "-b", "x"], "多余的参数：b；Got unexpected extra argument"),
        (["quota", "overdue", "--as-of"], "选项 --as-of 缺少取值；Option '--as-of' requires an argument."),
        (["quota", "issue", "--year", "abc"], "--year / -y 的值无效；Invalid value for '--year' / '-y'"),
        (["nocmd"], "没有这个命令 'nocmd'；No such command 'nocmd'."),
    ],
)
def test_usage_errors_are_said_in_chinese_before_clicks_english(args: list[str], said: str) -> None:
    """Click words its usage errors in English only; the line says each kind in Chinese first."""
    done = subprocess.run(
        [str(Path(sys.executable).parent / "lantu"), *args], capture_output=True, text=True, check=False
    )
    assert done.returncode == 2
    (line,) = done.stderr.splitlines()
    assert line.startswith(f"用法错误 / usage error: {said}"), line


def test_review_refuses_to_write_over_the_blueprints_own_files(tmp_path: Path, blueprint_dir: Path) -> None:
    parcels = tmp_path / "p.geojson"
    parcels.write_text(parcel_frame(rect(1.2, 1.2, 1.6, 1.6)).to_json(), encoding="utf-8")
    layer = load_blueprint(blueprint_dir).layers["county"].source
    before = layer.read_bytes()
    for option, target in (("-o", layer), ("--output", blueprint_dir / "blueprint.yaml")):
        result = runner.invoke(app, ["review", str(parcels), "-b", str(blueprint_dir), option, str(target)])
        assert result.exit_code == 2 and "is a file of the blueprint" in result.output, result.output
    assert layer.read_bytes() == before
    assert load_blueprint(blueprint_dir).vector("county") is not None


def test_demo_blueprint_refuses_non_empty_dir(tmp_path: Path) -> None:
    (tmp_path / "x").write_text("keep me")
    result = runner.invoke(app, ["demo-blueprint", str(tmp_path)])
    assert result.exit_code == 2
    assert (tmp_path / "x").read_text() == "keep me"
    forced = runner.invoke(app, ["demo-blueprint", str(tmp_path), "--force"])  # replaces a blueprint, not any folder
    assert forced.exit_code == 2 and "blueprint.yaml" in forced.output
    assert (tmp_path / "x").read_text() == "keep me"


def test_multipolygon_shapefile_zip(tmp_path: Path, blueprint_dir: Path) -> None:
    import zipfile

    frame = parcel_frame(shapely.MultiPolygon([rect(3.2, 0.2, 3.4, 0.4), rect(4.2, 4.2, 4.4, 4.4)]))
    frame.to_file(tmp_path / "p.shp")
    archive = tmp_path / "p.zip"
    with zipfile.ZipFile(archive, "w") as z:
        for part in tmp_path.glob("p.*"):
            if part.suffix != ".zip":
                z.write(part, part.name)
    result = runner.invoke(app, ["review", str(archive), "-b", str(blueprint_dir)])
    assert result.exit_code == 0, result.output
    parcel = json.loads(result.stdout)["parcels"][0]
    assert parcel["area_m2"] == pytest.approx(80_000, rel=1e-4)


def test_keys_create_list_revoke(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LANTU_DATABASE_URL", f"sqlite:///{tmp_path / 'keys.db'}")
    created = runner.invoke(app, ["keys", "create", "city-system", "--role", "project-system"])
    assert created.exit_code == 0, created.output
    key = created.stdout.strip()
    assert key.startswith("lantu_") and len(key) > 40
    assert "city-system\tproject-system" in runner.invoke(app, ["keys", "list"]).stdout
    assert key not in runner.invoke(app, ["keys", "list"]).stdout  # only the hash is stored
    assert runner.invoke(app, ["keys", "create", "city-system", "--role", "planner"]).exit_code == 2
    assert runner.invoke(app, ["keys", "create", "x", "--role", "emperor"]).exit_code == 2
    assert runner.invoke(app, ["keys", "revoke", "city-system"]).exit_code == 0
    assert "revoked" in runner.invoke(app, ["keys", "list"]).stdout
    assert runner.invoke(app, ["keys", "revoke", "city-system"]).exit_code == 2


def test_size_caps(parcels_file: Path, blueprint_dir: Path) -> None:
    for option, value in (("--max-parcels", "1"), ("--max-vertices", "9")):
        result = runner.invoke(app, ["review", str(parcels_file), "-b", str(blueprint_dir), option, value])
        assert result.exit_code == 2 and "limit" in result.stderr
    assert (
        runner.invoke(app, ["review", str(parcels_file), "-b", str(blueprint_dir), "--max-vertices", "10"]).exit_code
        == 0
    )


@pytest.mark.parametrize(("fmt", "magic"), [("pdf", b"%PDF-"), ("docx", b"PK")])
def test_binary_formats_go_to_a_file_or_a_redirected_stdout_never_a_terminal(
    parcels_file: Path, blueprint_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fmt: str, magic: bytes
) -> None:
    """``lantu review … -f pdf > r.pdf`` writes the PDF (it was refused without -o, although stdout was a file);
    at a terminal it is refused, before the batch is reviewed."""
    args = ["review", str(parcels_file), "-b", str(blueprint_dir), "-f", fmt]
    redirected = runner.invoke(app, args)
    assert redirected.exit_code == 0 and redirected.stdout_bytes.startswith(magic)
    monkeypatch.setattr("geo.cli.stdout_is_terminal", lambda: True)
    gpkg = tmp_path / "pieces.gpkg"
    result = runner.invoke(app, [*args, "--pieces-out", str(gpkg)])
    assert result.exit_code == 2 and f"-o report.{fmt}" in result.stderr
    assert not gpkg.exists()  # refused before the batch was reviewed


def test_lean_batch_output_and_pieces_file(parcels_file: Path, blueprint_dir: Path, tmp_path: Path) -> None:
    out, gpkg = tmp_path / "lean.json", tmp_path / "pieces.gpkg"
    args = ["review", str(parcels_file), "-b", str(blueprint_dir), "--no-pieces", "--pieces-out", str(gpkg)]
    result = runner.invoke(app, [*args, "-o", str(out)])
    assert result.exit_code == 0, result.output
    lean = json.loads(out.read_text(encoding="utf-8"))
    details = [d for p in lean["parcels"] for i in p["items"] for d in i["details"]]
    assert details and all(d["geometry"] is None for d in details)
    pieces = gpd.read_file(gpkg, layer="pieces")
    assert len(pieces) == len(details)
    assert pieces.crs.to_epsg() == 4490
    assert sorted(pieces["area_m2"]) == pytest.approx(sorted(d["area_m2"] for d in details))


@pytest.mark.parametrize(
    ("args", "said"),
    [
        (["review", "P", "-b", "B", "--investment-wan", "1_5"], "下划线不能作为数字分隔符"),  # float read 15
        (["review", "P", "-b", "B", "--investment-wan", "nan"], "应为有限数值"),
        (["quota", "advance", "370811", "land_new", "-y", "2026", "--amount", "1_000"], "下划线不能作为数字分隔符"),
        (["quota", "reserve-factors", "P1", "-y", "2026", "--need", "energy=1_5"], "不含分隔符"),  # reserved 15
        (["find-sites", "--area-mu", "0", "-b", "B"], "不能小于 0.01"),
    ],
)
def test_a_figure_on_the_command_line_is_a_plain_finite_number(
    args: list[str], said: str, parcels_file: Path, blueprint_dir: Path
) -> None:
    given = [str(parcels_file) if a == "P" else str(blueprint_dir) if a == "B" else a for a in args]
    result = runner.invoke(app, given)
    assert result.exit_code == 2 and said in result.output, result.output


def test_the_projects_name_is_a_flag(parcels_file: Path, blueprint_dir: Path) -> None:
    """The contract lets every project attribute come from a CLI flag, its name too (it had none)."""
    result = runner.invoke(app, ["review", str(parcels_file), "-b", str(blueprint_dir), "--name", "北湖物流园"])
    assert result.exit_code == 0, result.output
    assert {p["name"] for p in json.loads(result.stdout)["parcels"]} == {"北湖物流园"}


def test_csv_summary_one_row_per_parcel(parcels_file: Path, blueprint_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "summary.csv"
    result = runner.invoke(app, ["review", str(parcels_file), "-b", str(blueprint_dir), "-f", "csv", "-o", str(out)])
    assert result.exit_code == 0, result.output
    text = out.read_bytes().decode("utf-8")
    assert text.startswith("\ufeff")  # Excel reads the Chinese as UTF-8
    rows = list(csv.DictReader(io.StringIO(text.lstrip("\ufeff"))))
    assert [(r["id"], r["verdict"]) for r in rows] == [("A", "pass"), ("B", "reject")]
    assert rows[1]["basic_farmland_status"] == "fail"
    assert float(rows[1]["basic_farmland_overlap_m2"]) == pytest.approx(20_000, rel=1e-6)
    # the rejected parcel's land is measured, its quota not set (不核定, as its papers say): a figure there read as
    # quota allotted to a site that must move (officer's read); the passing parcel's figures stay
    assert float(rows[1]["agricultural_m2"]) > 0 and float(rows[1]["basic_farmland_m2"]) > 0
    assert rows[1]["new_construction_quota_m2"] == rows[1]["compensation_m2"] == ""
    assert rows[1]["paddy_compensation_m2"] == ""
    assert float(rows[0]["new_construction_quota_m2"]) == 0.0 and float(rows[0]["compensation_m2"]) == 0.0


@pytest.mark.parametrize("fmt", ["json", "csv", "geojson"])
def test_data_formats_written_parcel_by_parcel_as_reviewed(
    parcels_file: Path, blueprint_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fmt: str
) -> None:
    from geo.review import engine

    monkeypatch.setattr(engine, "PIPELINE_CHUNK_MIN", 1)  # a chunk per parcel
    out = tmp_path / f"result.{fmt}"
    written_before: list[str] = []  # what the file being written held when each chunk was graded
    real = engine._Batch.grade

    def grade(self: Any, found: Any) -> Any:
        written_before.append("".join(p.read_text(encoding="utf-8") for p in tmp_path.glob(f".{out.name}.*.part")))
        return real(self, found)

    monkeypatch.setattr(engine._Batch, "grade", grade)
    whole = runner.invoke(app, ["review", str(parcels_file), "-b", str(blueprint_dir), "-f", fmt])
    result = runner.invoke(app, ["review", str(parcels_file), "-b", str(blueprint_dir), "-f", fmt, "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert '"A"' not in written_before[-2] and "A" in written_before[-1]  # A written before B was graded
    assert not re.search(r'(?m)^B,|"B"', written_before[-1])  # B's id: a CSV row's first cell, a JSON value
    # the same text as on stdout (which gets it once whole), but for the review's id and time (and so the
    # signature over them, by the same key)
    volatile = ("review_id", "created", "signature")
    if fmt == "json":
        on_file, on_stdout = json.loads(out.read_text(encoding="utf-8")), json.loads(whole.stdout)
        assert on_file["signature"]["key_id"] == on_stdout["signature"]["key_id"]
        assert {k: v for k, v in on_file.items() if k not in volatile} == {
            k: v for k, v in on_stdout.items() if k not in volatile
        }
    else:
        assert out.read_text(encoding="utf-8") + "\n" == whole.stdout
    assert not list(tmp_path.glob("*.part"))


@pytest.mark.parametrize("stop", ["error", "sigterm"])
def test_a_review_stopped_halfway_keeps_the_earlier_files_and_leaves_no_part(
    parcels_file: Path, blueprint_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, stop: str
) -> None:
    import os
    import signal

    from geo.errors import ReviewAborted
    from geo.review import engine

    monkeypatch.setattr(engine, "PIPELINE_CHUNK_MIN", 1)
    out, gpkg = tmp_path / "result.json", tmp_path / "pieces.gpkg"
    out.write_text("an earlier result", encoding="utf-8")
    gpkg.write_bytes(b"earlier pieces")
    real, calls = engine._Batch.grade, []

    def grade(self: Any, found: Any) -> Any:
        calls.append(found)
        if len(calls) == 2:  # the first parcel is on file by now
            if stop == "error":
                raise ReviewAborted("worker lost", "审查中断")
            os.kill(os.getpid(), signal.SIGTERM)  # a scheduler stopping the job
        return real(self, found)

    monkeypatch.setattr(engine._Batch, "grade", grade)
    handler = signal.getsignal(signal.SIGTERM)
    args = ["review", str(parcels_file), "-b", str(blueprint_dir), "-o", str(out), "--pieces-out", str(gpkg)]
    result = runner.invoke(app, args)
    assert result.exit_code == (2 if stop == "error" else 128 + signal.SIGTERM)
    assert stop == "sigterm" or "worker lost" in result.stderr
    assert out.read_text(encoding="utf-8") == "an earlier result" and gpkg.read_bytes() == b"earlier pieces"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["parcels.geojson", "pieces.gpkg", "result.json"]
    assert signal.getsignal(signal.SIGTERM) == handler  # the command's own handler is gone with it


def test_pieces_file_written_chunk_by_chunk(
    parcels_file: Path, blueprint_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from geo.review import engine

    gpkg, out = tmp_path / "pieces.gpkg", tmp_path / "lean.json"
    args = ["review", str(parcels_file), "-b", str(blueprint_dir), "--no-pieces", "--pieces-out", str(gpkg)]
    assert runner.invoke(app, [*args, "-o", str(out)]).exit_code == 0
    at_once = gpd.read_file(gpkg, layer="pieces")
    monkeypatch.setattr(engine, "PIPELINE_CHUNK_MIN", 1)  # now a chunk per parcel, appended one after the other
    result = runner.invoke(app, [*args, "-o", str(out)])
    assert result.exit_code == 0, result.output
    by_chunk = gpd.read_file(gpkg, layer="pieces")
    assert set(by_chunk["parcel_id"]) == {"A", "B"}
    assert by_chunk.drop(columns="geometry").equals(at_once.drop(columns="geometry"))
    assert by_chunk.geometry.geom_equals_exact(at_once.geometry, tolerance=0).all()
    assert f"{len(by_chunk)} 个图斑" in result.stderr


def test_stdout_gets_the_result_once_the_progress_bar_is_gone(
    parcels_file: Path, blueprint_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # a bar on a terminal takes stdout over while it shows: what is printed then lands on the terminal
    from rich.console import Console

    monkeypatch.setattr("geo.cli.PROGRESS_FROM", 1)
    monkeypatch.setattr("geo.cli.err", Console(stderr=True, force_terminal=True))
    for fmt in ("json", "csv"):
        result = runner.invoke(app, ["review", str(parcels_file), "-b", str(blueprint_dir), "-f", fmt])
        assert result.exit_code == 0, result.output
        assert '"A"' in result.stdout if fmt == "json" else "\nA," in result.stdout.replace("\r\n", "\n")


def test_output_through_a_symlink_keeps_the_link_and_an_earlier_file_keeps_its_mode(
    parcels_file: Path, blueprint_dir: Path, tmp_path: Path
) -> None:
    import os
    import stat

    real = tmp_path / "real" / "target.json"
    real.parent.mkdir()
    real.write_text("old", encoding="utf-8")
    link = tmp_path / "link.json"
    link.symlink_to(real)
    assert runner.invoke(app, ["review", str(parcels_file), "-b", str(blueprint_dir), "-o", str(link)]).exit_code == 0
    assert link.is_symlink() and json.loads(real.read_text(encoding="utf-8"))["parcels"]
    real.chmod(0o640)
    long = tmp_path / ("审" * 80 + ".json")  # 240 bytes of name: the file beside it must still fit
    for target in (real, long):
        done = runner.invoke(app, ["review", str(parcels_file), "-b", str(blueprint_dir), "-o", str(target)])
        assert done.exit_code == 0, done.output
    assert stat.S_IMODE(os.stat(real).st_mode) == 0o640 and json.loads(long.read_text(encoding="utf-8"))["parcels"]
    assert not [p for p in tmp_path.rglob("*") if p.name.endswith(".part")]


def test_output_that_cannot_be_written_is_a_clear_error_and_leaves_nothing_paused(
    parcels_file: Path, blueprint_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import gc

    from geo.review import engine

    monkeypatch.setattr(engine, "PIPELINE_CHUNK_MIN", 1)  # the failure comes between two chunks
    out = tmp_path / "result.csv"
    out.write_text("an earlier result", encoding="utf-8")
    interval = sys.getswitchinterval()

    def disk_full(chunks: Any, target: Any) -> int:
        next(iter(chunks))
        raise OSError(28, "No space left on device")

    monkeypatch.setattr("geo.cli.write_result_csv", disk_full)
    result = runner.invoke(app, ["review", str(parcels_file), "-b", str(blueprint_dir), "-f", "csv", "-o", str(out)])
    assert result.exit_code == 2 and "No space left on device" in result.stderr and "result.csv" in result.stderr
    assert out.read_text(encoding="utf-8") == "an earlier result"
    assert gc.isenabled() and sys.getswitchinterval() == interval  # the half-drawn review let go of both
    blocked = runner.invoke(app, ["review", str(parcels_file), "-b", str(blueprint_dir), "-o", str(out / "x.json")])
    assert blocked.exit_code == 2 and "x.json" in blocked.stderr  # a file where its folder should be


def test_pieces_layer_made_by_the_first_chunk_with_pieces(blueprint: Any, tmp_path: Path) -> None:
    import pyogrio

    from geo.cli import _Passing
    from geo.review import review

    frame = parcel_frame(rect(1.2, 1.2, 1.6, 1.6), rect(2.9, 0.1, 3.1, 0.3))
    none, some = review(frame, blueprint).parcels
    none = none.model_copy(update={"items": [i.model_copy(update={"details": []}) for i in none.items]})
    gpkg = tmp_path / "pieces.gpkg"
    drawn = list(_Passing(iter([[none], [some]]), gpkg, keep=False))
    assert [p.id for c in drawn for p in c] == ["1", "2"]
    assert all(d.geometry is None for c in drawn for p in c for i in p.items for d in i.details)
    info = pyogrio.read_info(gpkg, layer="pieces")
    assert info["geometry_type"] == "MultiPolygon" and info["features"] == sum(len(i.details) for i in some.items)
    pieces = gpd.read_file(gpkg, layer="pieces")
    assert pieces["area_m2"].dtype == "float64" and set(pieces["parcel_id"]) == {"2"}
    list(_Passing(iter([[none]]), gpkg, keep=False))  # a batch without any piece: an empty layer
    assert pyogrio.read_info(gpkg, layer="pieces")["features"] == 0


def test_render_writes_the_data_formats_as_the_command_streams_them(blueprint: Any) -> None:
    from geo.cli import OutputFormat, render
    from geo.review import review

    whole = review(parcel_frame(rect(1.2, 1.2, 1.6, 1.6), rect(2.9, 0.1, 3.1, 0.3)), blueprint)
    assert render(whole, OutputFormat.json) == whole.model_dump_json(indent=2)
    assert [f["properties"]["id"] for f in json.loads(str(render(whole, OutputFormat.geojson)))["features"]] == [
        "1",
        "2",
    ]
    assert str(render(whole, OutputFormat.csv)).startswith("\ufeffid,name,verdict")


def test_summary_written_whole_or_not_at_all(parcels_file: Path, blueprint_dir: Path, tmp_path: Path) -> None:
    summary = tmp_path / "summary.csv"
    args = ["review", str(parcels_file), "-b", str(blueprint_dir), "-o", str(tmp_path / "r.json")]
    assert runner.invoke(app, [*args, "--summary", str(summary)]).exit_code == 0
    assert "地块编号" in summary.read_text(encoding="utf-8-sig")
    (tmp_path / "file").write_text("not a folder", encoding="utf-8")
    blocked = runner.invoke(app, [*args, "--summary", str(tmp_path / "file" / "s.csv")])
    assert blocked.exit_code == 2 and "s.csv" in blocked.stderr  # named, not a traceback
    assert not [p for p in tmp_path.rglob("*") if ".part" in p.name]


def test_result_pieces_and_summary_change_together_or_not_at_all(
    parcels_file: Path, blueprint_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from geo.errors import InputError

    # the pieces are all written before the summary, the summary before the result: a failure making
    # the last file once left a new pieces file and summary beside the earlier result
    out, gpkg, summary = tmp_path / "result.json", tmp_path / "pieces.gpkg", tmp_path / "summary.csv"
    earlier = {out: b"an earlier result", gpkg: b"earlier pieces", summary: b"an earlier summary"}
    for path, content in earlier.items():
        path.write_bytes(content)
    args = ["review", str(parcels_file), "-b", str(blueprint_dir), "-o", str(out)]
    args += ["--pieces-out", str(gpkg), "--summary", str(summary)]

    def cannot_render(*_: Any, **__: Any) -> str:
        raise InputError("the result cannot be rendered", "无法生成结果")

    with monkeypatch.context() as patched:
        patched.setattr("geo.cli.render", cannot_render)
        failed = runner.invoke(app, args)
    assert failed.exit_code == 2 and "cannot be rendered" in failed.stderr
    assert {path: path.read_bytes() for path in earlier} == earlier
    assert sorted(p.name for p in tmp_path.iterdir()) == ["parcels.geojson", *sorted(p.name for p in earlier)]
    done = runner.invoke(app, args)
    assert done.exit_code == 0, done.output
    assert all(path.read_bytes() != content for path, content in earlier.items())
    assert json.loads(out.read_text(encoding="utf-8"))["parcels"] and gpd.read_file(gpkg, layer="pieces").shape[0]


def _refused(result: Any, *needles: str) -> None:
    """Exit 2 with one line naming the reason in both languages, never a traceback."""
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output and (result.exception is None or isinstance(result.exception, SystemExit))
    for needle in needles:
        assert needle in result.output, result.output


def _unwritable(tmp_path: Path) -> list[tuple[str, Path, tuple[str, ...]]]:
    """The outputs every command refuses (what, the path, what the refusal says): a folder; a file under a folder
    that does not exist (never made: the rule of every command); a file under a file."""
    folder = tmp_path / "folder"
    folder.mkdir(exist_ok=True)
    (tmp_path / "somefile.txt").write_text("a file", encoding="utf-8")
    missing = tmp_path / "missing"
    return [
        ("folder", folder, (f"{folder} is a folder: name a file", "是文件夹，请指定文件")),
        ("missing", missing / "x.json", (f"the folder {missing} does not exist", f"文件夹 {missing} 不存在")),
        ("under a file", tmp_path / "somefile.txt" / "x.csv", ("a file stands where a folder", "somefile.txt")),
    ]


def test_review_and_convert_refuse_an_output_they_cannot_write(parcels_file: Path, blueprint_dir: Path) -> None:
    tmp_path = parcels_file.parent
    review = ["review", str(parcels_file), "-b", str(blueprint_dir)]
    for _what, path, needles in _unwritable(tmp_path):
        for option in ("-o", "--pieces-out", "--summary"):
            extra = [] if option == "-o" else ["-o", str(tmp_path / "r.json")]
            _refused(runner.invoke(app, [*review, *extra, option, str(path)]), *needles)
        _refused(runner.invoke(app, ["convert", str(parcels_file), str(path)]), *needles)
    assert not (tmp_path / "missing").exists() and not (tmp_path / "r.json").exists()
    assert not [p for p in tmp_path.rglob("*") if ".part" in p.name]


def test_find_sites_compare_and_consult_opinion_refuse_an_output_they_cannot_write(
    parcels_file: Path, blueprint_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LANTU_DATABASE_URL", f"sqlite:///{tmp_path / 'l.db'}")
    commands = [
        ["find-sites", "--area-mu", "5", "-b", str(blueprint_dir), "-n", "1"],
        ["compare", str(parcels_file), str(parcels_file)],
        ["consult", "opinion", "XM-1"],  # refused before the opinion is looked up
    ]
    for _what, path, needles in _unwritable(tmp_path):
        for args in commands:
            _refused(runner.invoke(app, [*args, "-o", str(path)]), *needles)
    assert not (tmp_path / "missing").exists()


def test_an_output_in_a_folder_that_cannot_be_written_says_so(
    parcels_file: Path, blueprint_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import os

    out = tmp_path / "ro" / "r.json"
    out.parent.mkdir()
    if os.geteuid() == 0:  # root writes anywhere: the folder is made unwritable for the check alone
        real = os.access
        monkeypatch.setattr(os, "access", lambda p, mode, **k: Path(p) != out.parent and real(p, mode, **k))
    else:
        out.parent.chmod(0o555)
    try:
        for args in (
            ["review", str(parcels_file), "-b", str(blueprint_dir), "-o", str(out)],
            ["convert", str(parcels_file), str(out.with_suffix(".geojson"))],
        ):
            _refused(runner.invoke(app, args), f"no permission to write in the folder {out.parent}", "没有在文件夹")
    finally:
        out.parent.chmod(0o755)
    assert not list(out.parent.iterdir())


def test_an_input_that_is_no_regular_file_says_what_it_is(
    parcels_file: Path, blueprint_dir: Path, tmp_path: Path
) -> None:
    import os

    fifo = tmp_path / "pipe.geojson"
    os.mkfifo(fifo)  # read, it would block until a writer came
    for source in ("/dev/zero", str(fifo)):
        for args in (["review", source, "-b", str(blueprint_dir)], ["convert", source, str(tmp_path / "x.geojson")]):
            _refused(runner.invoke(app, args), f"{source} is not a regular file", "不是普通文件")
    _refused(runner.invoke(app, ["review", str(tmp_path), "-b", str(blueprint_dir)]), f"{tmp_path} is a folder")
    gone = tmp_path / "nope.geojson"
    _refused(runner.invoke(app, ["review", str(gone), "-b", str(blueprint_dir)]), "file not found", "文件不存在")
    _refused(runner.invoke(app, ["compare", "/dev/zero", str(parcels_file)]), "/dev/zero is not a regular file")
    assert not (tmp_path / "x.geojson").exists()


def test_an_output_that_is_a_device_is_written_in_place(parcels_file: Path, blueprint_dir: Path) -> None:
    done = runner.invoke(app, ["review", str(parcels_file), "-b", str(blueprint_dir), "-o", "/dev/null"])
    assert done.exit_code == 0, done.output
