"""The bulk overlay against brute force, its shortcuts, and the batch review against one parcel at a time."""

from __future__ import annotations

import importlib
import threading
import time
from collections import Counter
from typing import Any

import geopandas as gpd
import numpy as np
import pytest
import shapely
from support import parcel_frame, rect

from geo import overlay
from geo.blueprint import Blueprint
from geo.overlay import IndexedLayer, bulk_pieces
from geo.review import review
from geo.review.rules import unregistered_kinds

EPSG = 4548
ORIGIN = np.array([464_000.0, 3_918_000.0])  # the test blueprint's origin (conftest), metres


def _blobs(rng: np.random.Generator, n: int, spread: float, size: tuple[float, float]) -> np.ndarray:
    """Irregular polygons (buffered random points, some with holes) around the origin."""
    centres = ORIGIN + rng.uniform(0, spread, (n, 2))
    radii = rng.uniform(*size, n)
    shapes = shapely.buffer(shapely.points(centres), radii, quad_segs=rng.integers(2, 8))
    holed = rng.random(n) < 0.3
    shapes[holed] = shapely.difference(shapes[holed], shapely.buffer(shapely.points(centres[holed]), radii[holed] / 3))
    return shapes


def _brute_force(parcels: np.ndarray, features: np.ndarray) -> np.ndarray:
    """Area of every parcel × feature intersection, no index, no shortcut."""
    return np.array([[shapely.intersection(p, f).area for f in features] for p in parcels])


@pytest.mark.parametrize("seed", range(5))
def test_bulk_overlay_equals_brute_force(seed: int, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(overlay, "CHUNK_PAIRS", 1 + seed * 5)  # many chunks, each ending with a parcel's pairs
    rng = np.random.default_rng(seed)
    features = _blobs(rng, 60, 3000, (50, 400))
    parcels = _blobs(rng, 40, 3000, (30, 600))
    layer = IndexedLayer.build(gpd.GeoDataFrame({"n": np.arange(len(features))}, geometry=features, crs=EPSG))
    expected = _brute_force(parcels, features)
    for workers in (1, 2):
        found = bulk_pieces(parcels.copy(), layer, workers=workers)
        got = np.zeros_like(expected)
        for i, piece in enumerate(found):
            got[i, piece.attributes["n"]] = piece.area_m2
            assert shapely.area(piece.geometry) == pytest.approx(piece.area_m2, abs=1e-6)
            # pieces said not to overlap are those whose union's area is their sum
            union = shapely.union_all(piece.geometry).area if len(piece) else 0.0
            assert piece.disjoint == (abs(union - piece.area_m2.sum()) < 1e-6), (seed, i)
        np.testing.assert_allclose(got, expected, rtol=0, atol=1e-6)


def test_cutting_with_copies_gives_the_same_pieces_and_keeps_the_parcel_itself() -> None:
    """A second thread cuts the same parcels through other layers with copies of its own (GEOS's prepared
    geometries are not thread-safe): the same pieces, and a parcel a feature covers is still its own
    piece, the very object the rules compare with ``is``."""
    rng = np.random.default_rng(3)
    features = _blobs(rng, 60, 3000, (50, 400))
    parcels = np.concatenate([_blobs(rng, 40, 3000, (30, 600)), [shapely.buffer(features[0], -20)]])
    layer = IndexedLayer.build(gpd.GeoDataFrame({"n": np.arange(len(features))}, geometry=features, crs=EPSG))
    copies = shapely.from_wkb(shapely.to_wkb(parcels))
    alone = bulk_pieces(parcels, layer, workers=1)
    shared = bulk_pieces(parcels, layer, workers=1, copies=copies)
    for mine, theirs in zip(alone, shared, strict=True):
        assert theirs.attributes["n"].tolist() == mine.attributes["n"].tolist()
        assert theirs.area_m2.tolist() == mine.area_m2.tolist() and theirs.disjoint == mine.disjoint
        assert shapely.equals_exact(theirs.geometry, mine.geometry, tolerance=0).all()
        assert not {id(g) for g in theirs.geometry} & {id(c) for c in copies}
    assert any(g is parcels[-1] for g in shared[-1].geometry)  # the covered parcel, not its copy


def test_shortcuts_are_exact() -> None:
    big = shapely.box(0, 0, 1000, 1000)
    small = shapely.box(100, 100, 300, 250)
    layer = IndexedLayer.build(gpd.GeoDataFrame({"n": [0, 1]}, geometry=[big, small], crs=EPSG))
    # a parcel covering the small feature and inside the big one
    parcel = shapely.box(50, 50, 400, 400)
    (found,) = bulk_pieces(np.array([parcel]), layer)
    areas = dict(zip(found.attributes["n"].tolist(), found.area_m2.tolist(), strict=True))
    assert areas == {0: parcel.area, 1: small.area}
    assert found.geometry[list(found.attributes["n"]).index(1)].equals(small)


def test_every_check_kind_has_a_rule() -> None:
    assert unregistered_kinds() == []


def test_batch_review_equals_one_parcel_at_a_time(blueprint: Blueprint, monkeypatch: pytest.MonkeyPatch) -> None:
    engine = importlib.import_module("geo.review.engine")
    monkeypatch.setattr(engine, "CHUNK_PARCELS", 7)  # several chunks
    graded: list[str] = []  # items graded by their rules; the others were clear of their layers
    run_item = engine._run_item
    monkeypatch.setattr(engine, "_run_item", lambda item, ctx: graded.append(item.code) or run_item(item, ctx))
    rng = np.random.default_rng(7)
    shapes = _blobs(rng, 30, 9500, (40, 700))
    frame = gpd.GeoDataFrame({"id": [f"R{i}" for i in range(len(shapes))]}, geometry=shapes, crs=EPSG)
    batch = review(frame, blueprint, project={"project_type": "industrial", "investment_wan": 20000})
    assert len(graded) < 0.9 * len(frame) * len(batch.parcels[0].items)  # clear items were graded once per chunk
    # also those clear of a land-use check's classes (no 耕地 in the parcel), and of a layer the blueprint lacks
    assert graded.count("cultivated_land") < len(frame)
    assert graded.count("forest_grass_wetland") < len(frame)
    assert "protected_forest" not in blueprint.layers
    for i, parcel in enumerate(batch.parcels):
        alone = review(frame.iloc[[i]], blueprint, project={"project_type": "industrial", "investment_wan": 20000})
        one = alone.parcels[0]
        assert one.verdict == parcel.verdict
        assert one.land_quota == parcel.land_quota
        for a, b in zip(one.items, parcel.items, strict=True):
            assert (a.code, a.status, a.facts) == (b.code, b.status, b.facts)
            assert (a.message_zh, a.message_en, a.basis, a.procedures) == (
                b.message_zh,
                b.message_en,
                b.basis,
                b.procedures,
            )
            assert a.overlap_m2 == pytest.approx(b.overlap_m2, abs=1e-6)
            assert [d.area_m2 for d in a.details] == pytest.approx([d.area_m2 for d in b.details], abs=1e-6)


def test_lean_output_has_no_piece_geometry(blueprint: Blueprint) -> None:
    frame = gpd.GeoDataFrame({"id": ["A"]}, geometry=[shapely.box(*(ORIGIN + 2500), *(ORIGIN + 3500))], crs=EPSG)
    full = review(frame, blueprint)
    lean = review(frame, blueprint, pieces=False)
    details = [d for item in lean.parcels[0].items for d in item.details]
    assert details and all(d.geometry is None for d in details)
    assert [i.overlap_m2 for i in lean.parcels[0].items] == [i.overlap_m2 for i in full.parcels[0].items]


def test_union_area_sums_only_a_tiling_layer() -> None:
    from geo.review.engine import union_area

    a, b = shapely.box(0, 0, 10, 10), shapely.box(5, 0, 15, 10)  # overlapping by 50 m²
    assert union_area([a, b], [a.area, b.area], ["basic_farmland"]) == 150  # may overlap: union
    assert union_area([a, b], [a.area, b.area], ["basic_farmland", "ecological_redline"]) == 150
    c = shapely.box(10, 0, 20, 10)  # a neighbour in a partition
    assert union_area([a, c], [a.area, c.area], ["land_use"]) == 200  # 三调图斑 tile: the sum


def test_pipelined_review_gives_the_one_thread_result(blueprint: Blueprint, monkeypatch: pytest.MonkeyPatch) -> None:
    engine = importlib.import_module("geo.review.engine")
    monkeypatch.setattr(engine, "PIPELINE_CHUNK_MIN", 4)  # 30 parcels in 8 chunks: overlay and grading overlap
    assert engine._chunk_size(30, 2) == 4 and engine._chunk_size(30, 1) == engine.CHUNK_PARCELS
    rng = np.random.default_rng(11)
    shapes = _blobs(rng, 30, 9500, (40, 700))
    frame = gpd.GeoDataFrame({"id": [f"F{i}" for i in range(len(shapes))]}, geometry=shapes, crs=EPSG)
    project = {"project_type": "industrial", "investment_wan": 20000}
    seen: list[int] = []
    piped = review(frame, blueprint, project=project, workers=2, progress=lambda done, _: seen.append(done))
    alone = review(frame, blueprint, project=project, workers=1)
    assert seen == [4, 8, 12, 16, 20, 24, 27, 30]  # chunk by chunk, in order
    assert [p.model_dump() for p in piped.parcels] == [p.model_dump() for p in alone.parcels]


def test_a_grading_error_stops_the_overlay_of_the_next_chunk(
    blueprint: Blueprint, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The error reaches the caller once the overlay thread is done with the layer it is cutting, not
    after the whole next chunk."""
    engine = importlib.import_module("geo.review.engine")
    monkeypatch.setattr(engine, "PIPELINE_CHUNK_MIN", 4)
    cut: list[int] = []  # the chunk (its parcels' array) of each layer cut
    real = engine.bulk_pieces

    def slow(parcels: np.ndarray, *args: Any, **kwargs: Any) -> list[overlay.Pieces]:
        cut.append(id(parcels))
        time.sleep(0.05)  # a layer takes long enough for the grading to fail while the next is cut
        return real(parcels, *args, **kwargs)

    def failing(self: Any, found: Any) -> None:
        raise RuntimeError("grading failed")

    monkeypatch.setattr(engine, "bulk_pieces", slow)
    monkeypatch.setattr(engine._Batch, "grade", failing)
    shapes = _blobs(np.random.default_rng(3), 30, 9500, (40, 700))
    frame = gpd.GeoDataFrame({"id": [f"F{i}" for i in range(len(shapes))]}, geometry=shapes, crs=EPSG)
    with pytest.raises(RuntimeError, match="grading failed"):
        review(frame, blueprint, workers=2)
    first, *after = Counter(cut).values()  # the first chunk's layers, then the next one's
    assert first >= 5  # every layer of the first chunk, by both threads
    assert sum(after) < first / 2  # of the next chunk, the layer or two being cut when the grading failed


def test_both_threads_failing_raise_the_calling_threads_error_with_the_others_in_a_note(
    blueprint: Blueprint, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A stop signal on the calling thread stays what is raised; the overlay thread's error is not lost."""
    engine = importlib.import_module("geo.review.engine")
    monkeypatch.setattr(engine, "PIPELINE_CHUNK_MIN", 4)
    calling_failed = threading.Event()

    def failing(parcels: np.ndarray, *args: Any, copies: np.ndarray | None = None, **kwargs: Any) -> None:
        if copies is None:  # the pool's thread: it fails once the calling thread has
            calling_failed.wait(5)
            raise RuntimeError("overlay thread failed")
        calling_failed.set()
        raise KeyboardInterrupt

    monkeypatch.setattr(engine, "bulk_pieces", failing)
    shapes = _blobs(np.random.default_rng(3), 30, 9500, (40, 700))
    frame = gpd.GeoDataFrame({"id": [f"F{i}" for i in range(len(shapes))]}, geometry=shapes, crs=EPSG)
    with pytest.raises(KeyboardInterrupt) as raised:
        review(frame, blueprint, workers=2)
    assert any("overlay thread failed" in note for note in raised.value.__notes__)


def test_gc_paused_is_reentrant_and_restores() -> None:
    import gc

    from geo.threads import gc_paused

    assert gc.isenabled()
    with gc_paused():
        with gc_paused():
            assert not gc.isenabled()
        assert not gc.isenabled()  # the outer review still runs
    assert gc.isenabled()
    gc.disable()
    try:
        with gc_paused():
            pass
        assert not gc.isenabled()  # off before, off after
    finally:
        gc.enable()


def test_short_switches_hold_across_threads_and_restore() -> None:
    import sys
    import threading

    from geo.threads import short_switches

    before = sys.getswitchinterval()
    entered, leave = threading.Event(), threading.Event()

    def other_review() -> None:
        with short_switches():
            entered.set()
            leave.wait(5)

    thread = threading.Thread(target=other_review)
    with short_switches():
        assert sys.getswitchinterval() == pytest.approx(1e-4)
        thread.start()
        assert entered.wait(5)
    assert sys.getswitchinterval() == pytest.approx(1e-4)  # the other review still runs
    leave.set()
    thread.join(5)
    assert sys.getswitchinterval() == before


def _collector_on(queue: Any) -> None:
    import gc

    queue.put(gc.isenabled())


def test_a_worker_forked_during_a_review_gets_its_collector_back() -> None:
    """A process forked while another thread's review pauses the collector (a batch pool forking) holds
    no review: its collector is on, not off for good."""
    import gc
    import multiprocessing

    from geo.threads import gc_paused

    context = multiprocessing.get_context("fork")
    queue = context.Queue()
    with gc_paused():
        child = context.Process(target=_collector_on, args=(queue,))
        child.start()
        assert not gc.isenabled()
    assert queue.get(timeout=20) is True
    child.join(20)


def test_a_failing_progress_callback_restores_the_switch_interval(blueprint: Blueprint) -> None:
    """The pipelined batch ends with its settings restored even when its caller stops it midway."""
    import sys

    grid = [rect(0.1 + 0.8 * i, 0.1 + 0.45 * j, 0.4 + 0.8 * i, 0.3 + 0.45 * j) for i in range(12) for j in range(10)]
    frame = parcel_frame(*grid)  # 120 parcels: chunks of 50, pipelined
    before = sys.getswitchinterval()

    def stop(done: int, total: int) -> None:
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        review(frame, blueprint, workers=2, progress=stop)
    assert sys.getswitchinterval() == before


def test_geojson_from_coordinates_equals_geojson_text() -> None:
    import json

    from geo.crs import CGCS2000, reproject
    from geo.review.engine import _to_geojson

    rng = np.random.default_rng(3)
    blobs = _blobs(rng, 40, 3000, (30, 300))  # polygons, some with holes
    pairs = shapely.multipolygons(
        [[a, b] for a, b in zip(blobs[:10], shapely.transform(blobs[:10], lambda xy: xy + 9000), strict=True)]
    )
    for geoms in (blobs, np.concatenate([blobs[10:], pairs]), pairs):  # polygons alone, mixed, multipolygons alone
        rounded = shapely.transform(reproject(geoms, EPSG, CGCS2000), lambda xy: np.round(xy, 7))
        expected = [json.loads(text) for text in shapely.to_geojson(rounded)]
        got = _to_geojson(list(geoms), EPSG)
        assert got == expected
        assert json.dumps(got) == json.dumps(expected)  # the same keys in the same order: the same bytes


def test_outside_a_layer_shortcuts_are_exact() -> None:
    from geo.review.rules import _outside

    boundary = shapely.box(0, 0, 2000, 2000)
    layer = IndexedLayer.build(gpd.GeoDataFrame({"n": [0]}, geometry=[boundary], crs=EPSG))
    inside, away, across = (
        shapely.box(500, 500, 1500, 1500),
        shapely.box(3000, 0, 3200, 200),
        shapely.box(1500, 0, 2500, 1000),
    )
    (within,), (none,), (part,) = (bulk_pieces(np.array([p]), layer) for p in (inside, away, across))
    assert within.geometry[0] is inside  # the overlay's shortcut: the parcel is its own piece
    assert _outside(inside, within).is_empty
    assert _outside(away, none) is away and _outside(away, none).area == 40_000
    assert _outside(across, part).area == 500_000  # the general case, for comparison
    assert _outside(across, part).equals(shapely.box(2000, 0, 2500, 1000))


def test_union_with_the_parcel_itself_is_the_parcel() -> None:
    from geo.review.engine import union_area

    parcel = shapely.box(0, 0, 300, 200)
    inner = shapely.box(100, 0, 400, 200).intersection(parcel)  # another layer's piece, inside the parcel
    pieces, areas = [inner, parcel], [inner.area, parcel.area]
    assert union_area(pieces, areas, ["planned_use", "urban_boundary"], parcel=parcel) == 60_000
    copy = shapely.box(0, 0, 300, 200)  # equal, but not the parcel's own piece: the union is computed
    assert union_area([inner, copy], areas, ["planned_use", "urban_boundary"], parcel=parcel) == 60_000


def test_stock_land_and_the_land_off_it_are_measured_per_parcel() -> None:
    from geo.overlay import Pieces
    from geo.review.engine import StockLand

    def pieces(*boxes: shapely.Geometry, codes: tuple[str, ...] = ()) -> Pieces:
        geoms = np.array(boxes, dtype=object) if boxes else np.empty(0, dtype=object)
        return Pieces(geoms, shapely.area(geoms), {"class_code": np.array(codes or [None] * len(boxes), dtype=object)})

    land = (shapely.box(0, 0, 100, 100), shapely.box(100, 0, 200, 100), shapely.box(500, 0, 600, 100))
    farmed = ("0103", "0103", "0103")  # 旱地: owes quota and compensation
    overlays = {
        "land_use": [
            pieces(*land, codes=farmed),
            pieces(*land, codes=("0103", "0601", "0103")),
            pieces(*land, codes=farmed),
            pieces(*land, codes=farmed),
        ],
        # two stock layers, whose pieces of one parcel are unioned: half of each of the first two 图斑
        "approved_unsupplied": [
            pieces(shapely.box(50, 0, 100, 100)),
            pieces(shapely.box(50, 0, 150, 100)),
            pieces(),
            pieces(shapely.box(0, 0, 150, 100)),
        ],
        "idle_land": [pieces(shapely.box(100, 0, 150, 100)), pieces(), pieces(), pieces()],
    }
    stock = StockLand.of(overlays, ["approved_unsupplied", "idle_land", "absent_layer"], 4)
    assert [None if g is None else g.area for g in stock.geometry] == [10_000, 10_000, None, 15_000]
    assert stock.off_stock_m2[0].tolist() == [5_000, 5_000, 10_000]
    assert stock.off_stock_m2[1].tolist() == [5_000, 10_000, 10_000]  # 工业用地 (construction) keeps its own area
    assert stock.off_stock_m2[2] is None  # no stock land: all of each piece is off it
    assert stock.off_stock_m2[3].tolist() == [0.0, 5_000, 10_000]  # a piece the stock covers has none off it
    without_land = StockLand.of({k: v for k, v in overlays.items() if k != "land_use"}, ["approved_unsupplied"], 4)
    assert without_land.off_stock_m2 == [None] * 4 and without_land.geometry[3].area == 15_000


def test_pieces_proven_disjoint_sum_and_the_others_are_unioned() -> None:
    from geo.review.engine import _disjoint, union_area

    a, b = shapely.box(0, 0, 100, 100), shapely.box(100, 0, 200, 100)  # neighbours in a clean layer
    assert _disjoint([a, b]) and union_area([a, b], [a.area, b.area], ["basic_farmland"]) == 20_000
    overlapping, inside, half_edge = (
        shapely.box(50, 0, 150, 100),
        shapely.box(10, 10, 20, 20),
        shapely.box(100, 0, 200, 50),
    )
    for other in (overlapping, inside, a):  # an overlap, a piece within another, a duplicate: the union decides
        assert not _disjoint([a, other])
        assert union_area([a, other], [a.area, other.area], ["basic_farmland"]) == shapely.union_all([a, other]).area
    assert not _disjoint([a, half_edge])  # touching along part of an edge only: not edge-matched, unioned
    assert union_area([a, half_edge], [a.area, half_edge.area], ["basic_farmland"]) == 15_000


def test_pieces_say_whether_they_overlap() -> None:
    a, b = shapely.box(0, 0, 100, 100), shapely.box(100, 0, 200, 100)  # neighbours sharing an edge
    across = shapely.box(50, 0, 150, 100)  # over both
    clean = IndexedLayer.build(gpd.GeoDataFrame({"n": [0, 1]}, geometry=[a, b], crs=EPSG))
    messy = IndexedLayer.build(gpd.GeoDataFrame({"n": [0, 1, 2]}, geometry=[a, b, across], crs=EPSG))
    parcels = np.array([shapely.box(0, 0, 200, 100), shapely.box(10, 10, 40, 40), shapely.box(300, 0, 400, 100)])
    assert [p.disjoint for p in bulk_pieces(parcels.copy(), clean)] == [True, True, True]
    # two overlapping features in the first parcel; one piece, none: nothing to overlap
    assert [p.disjoint for p in bulk_pieces(parcels.copy(), messy)] == [False, True, True]
    covering = IndexedLayer.build(gpd.GeoDataFrame({"n": [0, 1]}, geometry=[a, shapely.box(20, 20, 30, 30)], crs=EPSG))
    (inside,) = bulk_pieces(parcels[1:2].copy(), covering)  # the parcel itself as a piece, and a feature in it
    assert len(inside) == 2 and not inside.disjoint
    # a tiling layer is not checked (its features never overlap)
    assert bulk_pieces(parcels.copy(), messy, overlaps=False)[0].disjoint


def test_union_area_sums_only_the_pieces_the_overlay_proved_disjoint() -> None:
    from geo.review.engine import union_area

    a, c = shapely.box(0, 0, 100, 100), shapely.box(50, 0, 150, 100)  # overlapping: their union is 15,000
    proven = {"basic_farmland": {id(a), id(c)}}  # as if the overlay had proved them disjoint: the sum is taken
    assert union_area([a, c], [a.area, c.area], ["basic_farmland"], disjoint=proven) == 20_000
    assert union_area([a, c], [a.area, c.area], ["basic_farmland"]) == 15_000  # no proof: the union
    # a piece a rule made itself (an outside part) is not among the proven ones, though of the same layer
    outside = shapely.box(50, 0, 150, 100)
    assert union_area([a, outside], [a.area, outside.area], ["basic_farmland"], disjoint=proven) == 15_000
    # one piece twice (two checks of one layer) is counted once, however the layer is known
    assert union_area([a, a], [a.area, a.area], ["basic_farmland"], disjoint=proven) == 10_000
    assert union_area([a, a], [a.area, a.area], ["land_use"]) == 10_000


def test_only_items_that_grade_overlaps_alone_are_graded_once_for_a_clear_parcel() -> None:
    from geo.review.engine import ClearItems
    from geo.review.profile import load_profile

    clear = ClearItems.of(load_profile("ten-point"))
    assert [c.layer for c in clear.checks["basic_farmland"]] == ["basic_farmland"]
    assert [c.kind for c in clear.checks["flood_control"]] == ["overlap", "land_use_classes", "land_use_classes"]
    assert "geohazard" not in clear.checks  # its slope share is the parcel's own
    assert "land_use_standard" not in clear.checks  # the project decides
    assert "planning_conformity" not in clear.checks  # outside the boundary is a finding, not a miss


def test_piece_values_are_plain_numbers_and_dates_stay_dates() -> None:
    found = overlay.Pieces(
        np.array([rect(0, 0, 1, 1)] * 2, dtype=object),
        np.array([1.0, 1.0]),
        {
            "year": np.array([2019, 2020]),
            "ratio": np.array([0.05, np.nan]),
            "name": np.array(["甲", None], dtype=object),
            "approved": np.array(["2020-01-01", "NaT"], dtype="datetime64[ns]"),
            "single": np.array([0.3, 1.5], dtype=np.float32),  # a GeoPackage FLOAT field
        },
    )
    year, ratio, name, approved = (found.values(c) for c in ("year", "ratio", "name", "approved"))
    assert [str(v) for v in found.values("single")] == ["0.3", "1.5"]  # not 0.30000001192092896 in a finding
    assert year == [2019, 2020] and type(year[0]) is int  # as the result stores them (JSON numbers)
    assert ratio[0] == 0.05 and type(ratio[0]) is float and ratio[1] != ratio[1]
    assert name == ["甲", None]
    assert approved[0] == np.datetime64("2020-01-01") and np.isnat(approved[1])  # not nanoseconds as an int
