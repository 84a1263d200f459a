"""Papers of a stored review: refused before any work when the review is too large for them, a paper that
ran out of time remembered for a while, and one key's papers capped so that it cannot hold every worker."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from support import assert_problem, assert_worker_freed, auth, parcel_frame, rect

from api import render_cache
from api.app import create_app
from api.errors import BusyError, WorkTimeoutError
from api.keys import create_key
from api.render_cache import RenderCache
from api.routes import reviews
from api.settings import Settings
from api.work import WorkPool
from geo.forked import CAN_FORK


def feature(geom: Any, **props: Any) -> dict[str, Any]:
    frame = parcel_frame(geom, **props).to_crs(4490)
    return json.loads(frame.to_json(drop_id=True))["features"][0]


def parcels(n: int) -> dict[str, Any]:
    """``n`` small parcels side by side (100 m squares, 200 m apart) in the rectangle blueprint."""
    squares = [feature(rect(1.2 + 0.2 * i, 1.2, 1.3 + 0.2 * i, 1.3), id=f"P{i}") for i in range(n)]
    return {"type": "FeatureCollection", "features": squares}


PRINTED = ["report.pdf"]
PAGES = ["map", "report", "opinion", "opinion?format=markdown", "opinion?format=docx", "opinion?format=json"]
RENDERERS = ["_render_map", "_render_pdf", "_render_report", "_render_opinion"]


@pytest.fixture
def limited(settings: Settings) -> Settings:
    return settings.model_copy(update={"max_paper_parcels": 2, "max_page_parcels": 3})


@pytest.fixture
def client(limited: Settings, keys: dict[str, str]) -> Iterator[TestClient]:
    with TestClient(create_app(limited)) as c:
        yield c


def _post(c: TestClient, keys: dict[str, str], n: int, role: str = "planner") -> str:
    response = c.post("/api/v1/reviews", json=parcels(n), headers=auth(keys, role))
    assert response.status_code == 201, response.text
    return str(response.json()["review_id"])


def _no_rendering(monkeypatch: pytest.MonkeyPatch) -> None:
    """Any paper rendered from here on fails the test: a refusal must come before any work is queued."""

    def refuse(*_: Any, **__: Any) -> bytes:
        raise AssertionError("a paper over its limit reached the work pool")

    for name in RENDERERS:
        monkeypatch.setattr(reviews, name, refuse)


def test_papers_under_their_limits_are_rendered(client: TestClient, keys: dict[str, str]) -> None:
    rid = _post(client, keys, 2)
    for path in PRINTED + PAGES:
        assert client.get(f"/api/v1/reviews/{rid}/{path}", headers=auth(keys)).status_code == 200, path


def test_a_review_over_the_print_limit_refuses_its_pdf_at_once(
    client: TestClient, keys: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """3 parcels: over LANTU_MAX_PAPER_PARCELS (2), within LANTU_MAX_PAGE_PARCELS (3)."""
    rid = _post(client, keys, 3)
    with monkeypatch.context() as m:
        _no_rendering(m)
        for path in PRINTED:
            problem = assert_problem(client.get(f"/api/v1/reviews/{rid}/{path}", headers=auth(keys)), 413)
            assert problem["title"] == "TooLargeError"
            en, zh = problem["message_en"], problem["message_zh"]
            assert "3 parcels" in en and "at most 2" in en and "LANTU_MAX_PAPER_PARCELS" in en
            assert f"GET /api/v1/reviews/{rid}" in en and "Markdown opinion" in en and "fewer" not in en
            assert "per request" in en
            assert "3 个地块" in zh and "LANTU_MAX_PAPER_PARCELS" in zh and "分批提交" in zh
            assert f"GET /api/v1/reviews/{rid}" in zh
        assert client.app.state.pool.admitted == 0  # nothing was queued
    for path in PAGES:  # the pages are within their own limit
        assert client.get(f"/api/v1/reviews/{rid}/{path}", headers=auth(keys)).status_code == 200, path
    assert client.get(f"/api/v1/reviews/{rid}", headers=auth(keys)).json()["review_id"] == rid


def test_a_review_over_the_page_limit_refuses_every_paper_but_its_json(
    client: TestClient, keys: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    rid = _post(client, keys, 4)
    _no_rendering(monkeypatch)
    for path in PRINTED + PAGES:
        problem = assert_problem(client.get(f"/api/v1/reviews/{rid}/{path}", headers=auth(keys)), 413)
        assert "4 parcels" in problem["message_en"] and "4 个地块" in problem["message_zh"]
        # no other paper to offer: all are over their limits
        assert f"(GET /api/v1/reviews/{rid}), or review at most" in problem["message_en"]
    setting = assert_problem(client.get(f"/api/v1/reviews/{rid}/map", headers=auth(keys)), 413)["message_en"]
    assert "LANTU_MAX_PAGE_PARCELS" in setting and "at most 3" in setting
    review = client.get(f"/api/v1/reviews/{rid}", headers=auth(keys))
    assert review.status_code == 200 and len(review.json()["parcels"]) == 4
    # the caller's rights come first: another planner's review is 403, an unknown one 404, big or not
    other = create_key(client.app.state.engine, "other-planner", "planner")
    assert_problem(client.get(f"/api/v1/reviews/{rid}/report.pdf", headers={"X-API-Key": other}), 403)
    assert_problem(client.get("/api/v1/reviews/nope/report.pdf", headers=auth(keys)), 404)


def test_the_limits_are_read_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    assert Settings().max_paper_parcels == 250 and Settings().max_page_parcels == 2_000
    assert Settings(workers=2).renders_per_key() == 1 and Settings(workers=8).renders_per_key() == 4
    assert Settings(workers=1).renders_per_key() == 1
    monkeypatch.setenv("LANTU_MAX_PAPER_PARCELS", "40")
    monkeypatch.setenv("LANTU_MAX_PAGE_PARCELS", "400")
    monkeypatch.setenv("LANTU_MAX_RENDERS_PER_KEY", "3")
    read = Settings(workers=2)
    assert (read.max_paper_parcels, read.max_page_parcels, read.renders_per_key()) == (40, 400, 3)
    monkeypatch.setenv("LANTU_MAX_PAPER_PARCELS", "0")
    with pytest.raises(ValueError, match="max_paper_parcels"):
        Settings()


def test_a_keys_papers_are_capped_while_they_render(
    limited: Settings, keys: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """One key may not have more than ``renders_per_key()`` papers of more than ``CAPPED_ABOVE_PARCELS`` parcels
    rendering or waiting (here 1, as with two workers): the next is 429 at once with Retry-After, another key's
    goes on, and the place is given back; a paper of few parcels is not counted."""
    started, release = threading.Event(), threading.Event()
    real = reviews._render_map

    def held(*args: Any) -> bytes:
        started.set()
        release.wait(30)
        return real(*args)

    monkeypatch.setattr(reviews, "CAPPED_ABOVE_PARCELS", 0)  # the cap counts papers of more parcels than this
    with TestClient(create_app(limited.model_copy(update={"workers": 2}))) as c:
        rid = _post(c, keys, 1, "admin")
        monkeypatch.setattr(reviews, "_render_map", held)
        first: dict[str, Any] = {}

        def ask() -> None:
            first["r"] = c.get(f"/api/v1/reviews/{rid}/map", headers=auth(keys, "admin"))

        waiting = threading.Thread(target=ask)
        waiting.start()
        try:
            assert started.wait(30)
            pool = c.app.state.pool
            assert pool.keyed_count("test-admin") == 1
            busy = c.get(f"/api/v1/reviews/{rid}/report", headers=auth(keys, "admin"))
            problem = assert_problem(busy, 429)
            assert busy.headers["retry-after"] == "5" and problem["message_zh"] and "key" in problem["message_en"]
            # another key is not held back by this one's
            assert c.get(f"/api/v1/reviews/{rid}/report", headers=auth(keys, "quota-admin")).status_code == 200
        finally:
            release.set()
            waiting.join(30)
        assert first["r"].status_code == 200
        assert pool.keyed_count("test-admin") == 0
        monkeypatch.setattr(reviews, "CAPPED_ABOVE_PARCELS", 1)  # a paper of one parcel: not counted at all
        monkeypatch.setattr(reviews, "_render_map", held)
        release.clear()
        started.clear()
        waiting = threading.Thread(target=ask)
        waiting.start()
        try:
            assert started.wait(30) and pool.keyed_count("test-admin") == 0
            assert c.get(f"/api/v1/reviews/{rid}/report", headers=auth(keys, "admin")).status_code == 200
        finally:
            release.set()
            waiting.join(30)
        assert c.get(f"/api/v1/reviews/{rid}/report", headers=auth(keys, "admin")).status_code == 200


def test_the_cap_counts_per_key_and_gives_places_back() -> None:
    pool = WorkPool(workers=2, queue=0, timeout=5)

    async def run() -> None:
        async with pool.keyed("a", cap=2), pool.keyed("a", cap=2), pool.keyed("b", cap=2):
            with pytest.raises(BusyError):
                async with pool.keyed("a", cap=2):
                    pass
            assert (pool.keyed_count("a"), pool.keyed_count("b")) == (2, 1)
        with pytest.raises(RuntimeError):
            async with pool.keyed("a", cap=1):
                raise RuntimeError  # a failed job gives its place back too
        assert pool.keyed_count("a") == pool.keyed_count("b") == 0

    try:
        asyncio.run(run())
    finally:
        pool.shutdown()


@pytest.mark.skipif(not CAN_FORK, reason="stopping a paper at the timeout needs fork (Linux)")
def test_a_paper_that_ran_out_of_time_is_not_tried_again_meanwhile(
    limited: Settings, keys: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A retry would hold a worker for another whole timeout: it is answered 503 at once (nothing rendered),
    for that paper of that review only."""
    tried: list[str] = []
    monkeypatch.setattr(reviews, "PAPERS_HERE_PARCELS", 0)  # in a child, killed at the deadline
    with TestClient(create_app(limited.model_copy(update={"work_timeout": 2.0}))) as c:
        rid = _post(c, keys, 1)
        url = f"/api/v1/reviews/{rid}/opinion?format=docx"
        monkeypatch.setattr(reviews, "opinion_docx", lambda *_: time.sleep(60))
        assert "longer than 2 s" in assert_problem(c.get(url, headers=auth(keys)), 503)["detail"]
        assert_worker_freed(c)
        monkeypatch.setattr(reviews, "_render_opinion", lambda *a: tried.append("opinion") or b"")
        again = c.get(url, headers=auth(keys))
        problem = assert_problem(again, 503)
        assert "a moment ago" in problem["message_en"] and "刚才" in problem["message_zh"]
        assert 1 <= int(again.headers["retry-after"]) <= 10 and tried == []
        assert c.get(f"/api/v1/reviews/{rid}/opinion?format=markdown", headers=auth(keys)).status_code == 200
        assert tried == ["opinion"]  # another paper of the same review is rendered


def test_a_failure_is_remembered_for_its_time_only(monkeypatch: pytest.MonkeyPatch) -> None:
    now = [100.0]
    monkeypatch.setattr(render_cache.time, "monotonic", lambda: now[0])
    cache = RenderCache()
    assert cache.failed("k") == 0
    cache.fail("k", seconds=300)
    now[0] = 399.0
    assert cache.failed("k") == pytest.approx(1.0) and cache.failed("other") == 0
    now[0] = 400.0
    assert cache.failed("k") == 0
    for i in range(render_cache.MAX_FAILURES + 5):  # bounded: the oldest go first
        cache.fail(f"k{i}", seconds=300)
    assert cache.failed("k0") == 0 and cache.failed(f"k{render_cache.MAX_FAILURES + 4}") > 0


def test_one_key_holds_at_most_its_share_of_the_places_bodies_wait_in() -> None:
    """34 bodies trickled in a byte every 5 s by one key held every place for a minute: every other key's review,
    search and paper was a 429 (a probe). A key holds at most half the places while its bodies come in."""
    pool = WorkPool(workers=2, queue=2, timeout=5)
    assert pool.key_share == 2

    async def run() -> None:
        async with pool.ticket("a"), pool.ticket("a"):
            with pytest.raises(BusyError, match="this key already has 2 requests working or waiting"):
                async with pool.ticket("a"):
                    pass
            async with pool.ticket("b"), pool.ticket():  # another key, and work admitted for no key
                assert pool.admitted == 4
        async with pool.ticket("a"), pool.ticket("a"):  # given back
            pass

    try:
        asyncio.run(run())
    finally:
        pool.shutdown()


def test_a_keys_share_is_held_until_its_jobs_end() -> None:
    """A job past its time limit keeps working and its place taken: the key's share was given back with the answer,
    and one key held every place through jobs that timed out (a reviewer's read)."""
    pool = WorkPool(workers=2, queue=0, timeout=0.2)
    assert pool.key_share == 1
    release = threading.Event()

    async def run() -> None:
        with pytest.raises(WorkTimeoutError):
            async with pool.ticket("a") as ticket:
                await ticket.run(release.wait, 30)
        assert pool.admitted == 1  # the job still works
        with pytest.raises(BusyError, match="this key already has 1 requests"):
            async with pool.ticket("a"):
                pass
        async with pool.ticket("b"):  # another key's place
            pass
        release.set()
        for _ in range(100):
            if pool.admitted == 0:
                break
            await asyncio.sleep(0.05)
        async with pool.ticket("a"):  # given back with the job's end
            assert pool.admitted == 1

    try:
        asyncio.run(run())
    finally:
        release.set()
        pool.shutdown()


def test_a_review_and_a_comparison_are_admitted_by_the_callers_share(settings: Settings, keys: dict[str, str]) -> None:
    with TestClient(create_app(settings)) as c:
        feature = parcel_frame(rect(1.2, 1.2, 1.6, 1.6)).to_crs(4490).__geo_interface__
        made = c.post("/api/v1/reviews", json=feature, headers=auth(keys))
        assert made.status_code == 201, made.text
        c.app.state.pool.key_share = 0  # every place a key could hold taken: its next body is refused at once
        refused = assert_problem(c.post("/api/v1/reviews", json=feature, headers=auth(keys)), 429)
        assert "this key already has 0 requests" in refused["message_en"] and "本密钥已有" in refused["message_zh"]
        rid = made.json()["review_id"]
        compared = assert_problem(c.post(f"/api/v1/reviews/{rid}/compare", json=feature, headers=auth(keys)), 429)
        assert "this key already has 0 requests" in compared["message_en"]
        assert c.get("/api/v1/layers", headers=auth(keys)).status_code == 200  # no body waited for
