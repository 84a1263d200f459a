"""The city benchmark runs end to end at the tiny scale, so it cannot rot.

No timing is asserted: only that the generator tiles its area and that lantu, the
naive geopandas way and the GEOS lower bound compute the same areas.
"""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest
import shapely
import yaml

from geo.blueprint import CHECKED
from geo.threads import CORES

BENCH = Path(__file__).resolve().parent.parent / "benchmarks"


def _module(name: str):  # type: ignore[no-untyped-def]
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, BENCH / f"{name}.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> Path:
    citygen = _module("citygen")
    return citygen.generate("tiny", tmp_path_factory.mktemp("bench"), log=False)


def test_generator_tiles_the_area_and_is_deterministic(tiny: Path, tmp_path: Path) -> None:
    citygen = _module("citygen")
    scale = citygen.SCALES["tiny"]
    land_use = gpd.read_file(tiny / "blueprint" / "landuse.gpkg")
    assert land_use.crs.to_epsg() == citygen.EPSG
    assert land_use.is_valid.all()
    vertices = shapely.get_num_coordinates(land_use.geometry.values) - 1
    assert vertices.min() >= 20 and vertices.max() <= 200
    # cells tile the square exactly: the areas add up and so does the union
    assert land_use.area.sum() == pytest.approx(scale.side**2, rel=1e-9)
    assert shapely.union_all(land_use.geometry.values).area == pytest.approx(scale.side**2, rel=1e-9)
    parcels = gpd.read_file(tiny / "parcels.gpkg")
    assert len(parcels) == max(scale.parcel_sets)
    mu = parcels.area / citygen.MU
    assert mu.min() >= 5 - 1e-6 and mu.max() <= 500 + 1e-6
    again = gpd.read_file(citygen.generate("tiny", tmp_path, log=False) / "parcels.gpkg")
    assert np.array_equal(shapely.to_wkb(again.geometry.values), shapely.to_wkb(parcels.geometry.values))


def test_generator_records_the_check_of_every_layer(tiny: Path) -> None:
    """As a build does: a load of the benchmark's blueprint is a load of a built city's."""
    manifest = yaml.safe_load((tiny / "blueprint" / "blueprint.yaml").read_text(encoding="utf-8"))
    vectors = {layer for layer, spec in manifest["layers"].items() if not spec["path"].endswith(".tif")}
    for layer in vectors:
        meta = json.loads((tiny / "blueprint" / f"{layer}.meta.json").read_text(encoding="utf-8"))
        assert meta[CHECKED]["bytes"] == (tiny / "blueprint" / manifest["layers"][layer]["path"]).stat().st_size
    assert len(vectors) == 15


def test_benchmark_runs_and_the_areas_agree(tiny: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bench = _module("bench_city")
    out_json = tmp_path / "bench.json"
    out = bench.main(
        [
            "--scale",
            "tiny",
            "--cache-dir",
            str(tiny.parent),
            "--skip",
            "http,postgis,duckdb,sedonadb,dask",
            "--single",
            "3",
            "--rounds",
            "2",
            "--json",
            str(out_json),
        ]
    )
    assert json.loads(out_json.read_text(encoding="utf-8"))["scale"] == "tiny"
    assert out["load"]["seconds"] > 0 and out["load"]["peak_rss_mb"] > 0
    assert out["load_rechecked"]["seconds"] > 0  # the same blueprint, every polygon tested again
    assert out["single"]["in_process"]["n"] == 3
    assert set(out["targets"]) == {t.name for t in bench.TARGETS}
    assert out["batch"], "no batch was measured"
    for row in out["batch"].values():
        lantu = row["lantu"]["areas_vs_bound"]
        assert lantu["pairs"] == row["parcels"] * len(bench.TARGETS)
        assert lantu["disagree"] == 0, lantu
        assert lantu["total_rel_diff"] < 1e-4
        naive = row["naive geopandas"]["areas_vs_bound"]
        assert naive["disagree"] == 0 and naive["within_tolerance"] == 0, naive
        both = row["GEOS bound, 2 threads"]["areas_vs_bound"] if "GEOS bound, 2 threads" in row else None
        assert both is None or both["disagree"] == 0
        assert lantu["total_ref_m2"] > 0  # the parcels do hit the layers
        assert row["lantu, streamed"]["same_areas_as_held"] is True  # drawn chunk by chunk as `lantu review -o` does
    for n, engines in out["interleaved"].items():  # every measured engine, timed in turn
        assert set(engines) == {k for k, e in out["batch"][n].items() if isinstance(e, dict) and "seconds" in e}
        assert all(len(e["seconds"]) == 2 and 0 < e["best_s"] <= e["median_s"] for e in engines.values())
        assert engines["lantu"]["best_ratio"] == 1.0
    printed = capsys.readouterr().out
    assert "blueprint load" in printed and "naive geopandas" in printed and "interleaved" in printed
    assert "lantu, streamed" in printed and "peer/streamed" in printed


def test_http_section_reviews_over_the_service_and_reads_its_viewer(tiny: Path, tmp_path: Path) -> None:
    """``lantu serve`` started over the tiny city: single reviews over HTTP, then the viewer page and the server's
    RSS (the city's viewer once took the service past 8 GB)."""
    bench = _module("bench_city")
    skip = "naive,postgis,duckdb,sedonadb,bound,dask,processes"
    args = ["--scale", "tiny", "--cache-dir", str(tiny.parent), "--skip", skip, "--single", "3", "--rounds", "1"]
    out = bench.main([*args, "--json", str(tmp_path / "bench.json")])
    assert out["single"]["http"]["n"] == 3 and out["single"]["http"]["p50_ms"] > 0
    service = out["service"]
    assert service["viewer_page_mb"] > 0 and service["server_rss_mb"] > 0 and service["server_rss_after_reviews_mb"] > 0
    assert 0 < service["viewer_sent_mb"] < service["viewer_page_mb"] / 2  # gzip, as a browser takes it


def test_agreement_counts_tolerance_separately() -> None:
    bench = _module("bench_city")
    ref = {"a": np.array([100.0, 0.5, 10_000.0])}
    lantu = {"a": np.array([100.0, 0.0, 10_000.5])}
    got = bench.agreement(ref, lantu, floor=0.02, tolerance=np.array([1.0, 1.0, 1.0]))
    assert got["within_0.01%"] == 2 and got["within_tolerance"] == 1 and got["disagree"] == 0
    got = bench.agreement(ref, {"a": np.array([100.0, 0.5, 10_003.0])}, floor=1e-3)
    assert got["disagree"] == 1 and got["disagree_by_target"] == {"a": 1}


def test_every_generated_polygon_is_valid(tiny: Path) -> None:
    for path in [*sorted((tiny / "blueprint").glob("*.gpkg")), tiny / "parcels.gpkg"]:
        frame = gpd.read_file(path)
        assert frame.is_valid.all(), path.name


def test_star_polygons_are_valid_even_with_few_vertices() -> None:
    citygen = _module("citygen")
    rng = np.random.default_rng(1)
    stars = [citygen.star(rng, 0.0, 0.0, 100.0, int(rng.integers(4, 12)), aspect=1.6, angle=0.3) for _ in range(5000)]
    assert shapely.is_valid(np.array(stars, dtype=object)).all()


def test_dask_section_times_only_the_calls(tiny: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Item 8: 1 and 2 workers after a warm-up that forks their pools (the blueprint's load is item 1), then
    in turn; and the batch on every core's forked process beside lantu in the interleaved rounds."""
    bench = _module("bench_city")
    skip = "http,naive,postgis,duckdb,sedonadb,bound"  # lantu (held, streamed), lantu on processes and dask
    args = ["--scale", "tiny", "--cache-dir", str(tiny.parent), "--sets", "30", "--single", "1", "--skip", skip]
    out = bench.main([*args, "--rounds", "2", "--json", str(tmp_path / "bench.json")])
    assert set(out["dask_warm_up_s"]) == {1, 2} and all(s > 0 for s in out["dask_warm_up_s"].values())
    row = out["batch"]["30"]
    for w in (1, 2):
        assert row[f"dask {w}"]["seconds"] > 0 and row[f"dask {w}"]["cores_used"] > 0, row
    assert row["dask 2"]["speedup_vs_1"] == row["dask 1"]["seconds"] / row["dask 2"]["seconds"]
    turns = out["interleaved_dask"]["30"]
    assert set(turns) == {"dask 1", "dask 2"} and all(len(t["seconds"]) == 2 for t in turns.values())
    assert "1 and 2 workers in turn" in capsys.readouterr().out
    engines = out["interleaved"]["30"]
    assert set(engines) == {"lantu", "lantu, streamed", f"lantu, {CORES} processes"}, engines
    assert all(len(e["seconds"]) == 2 for e in engines.values())


def test_bound_unions_a_target_of_two_overlapping_layers() -> None:
    """A target joining two layers (河湖管理范围 over a 三调 water surface) may overlap itself: the bound
    takes the union of a parcel's pieces there, as the engines do, and the plain sum elsewhere."""
    bench = _module("bench_city")
    parcel = gpd.GeoDataFrame(geometry=[shapely.box(0, 0, 100, 100)], crs=4548)
    river, water = shapely.box(50, 0, 150, 100), shapely.box(60, 0, 160, 100)  # 40 × 100 m² shared
    joined = gpd.GeoDataFrame(geometry=[river, water], crs=4548)
    joined.attrs["layers"] = 2
    tiles = gpd.GeoDataFrame(geometry=[shapely.box(0, 0, 50, 100), shapely.box(50, 0, 100, 100)], crs=4548)
    for threads in (1, 2):
        bound = bench.Bound(threads)
        bound.prepare({"flood": joined, "land": tiles})
        areas = bound.run(parcel)
        assert areas["flood"].tolist() == pytest.approx([5_000.0])  # not 5,000 + 4,000
        assert areas["land"].tolist() == pytest.approx([10_000.0])


def test_interleaved_rounds_only_up_to_the_set_size_asked(tiny: Path, tmp_path: Path) -> None:
    """A 100,000-parcel set is timed once per engine: rounds would take hours."""
    bench = _module("bench_city")
    skip = "http,naive,postgis,duckdb,sedonadb,bound,dask"
    args = ["--scale", "tiny", "--cache-dir", str(tiny.parent), "--sets", "10,30", "--single", "1", "--skip", skip]
    out = bench.main([*args, "--rounds", "2", "--rounds-upto", "10", "--json", str(tmp_path / "bench.json")])
    assert set(out["batch"]) == {"10", "30"} and set(out["interleaved"]) == {"10"}


def test_critical_path_splits_the_wall_time_by_thread(tiny: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from geo.review import engine

    grade, cut = engine._Batch.grade, engine._Overlaying.cut
    script = _module("critical_path")
    common = ["--scale", "tiny", "--cache-dir", str(tiny.parent), "--parcels", "60", "--runs", "1"]
    piped = script.main([*common, "--workers", "2"])  # 60 parcels: several chunks, so the pipeline runs
    assert piped["main: grading"] > 0 and piped["overlay thread: cutting"] > 0
    assert piped["main: grading"] + piped["main: cutting"] <= piped["wall"]
    assert piped["overlay thread: cutting"] + piped["overlay thread: idle"] == pytest.approx(piped["wall"])
    alone = script.main([*common, "--workers", "1"])
    assert "overlay thread: cutting" not in alone and alone["main: cutting"] > 0 and alone["main: grading"] > 0
    assert engine._Batch.grade is grade and engine._Overlaying.cut is cut  # the instrumentation is removed
    assert "of the wall time" in capsys.readouterr().out


def test_fork_probe_runs_and_no_child_hangs_or_sums_wrong(tiny: Path) -> None:
    run = subprocess.run(
        [sys.executable, str(BENCH / "fork_probe.py"), "--forks", "20", "--cache-dir", str(tiny.parent)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    assert (
        "20 children forked beside 3 threads reading the raster" in run.stdout
        and "0 hung past 10 s, 0 with a wrong sum" in run.stdout
    )
