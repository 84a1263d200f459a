"""``HEAD`` is ``GET`` without the body (RFC 9110 §9.3.2): monitoring probes and link checkers send it, and every
GET route answered 405 (``api/head.py``)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from support import assert_problem, auth, http_scope, parcel_frame, rect

from api.app import create_app
from api.routes import layers
from api.settings import Settings


def farmland() -> dict[str, Any]:
    """A parcel on the blueprint's farmland (as ``test_api``'s), as a GeoJSON Feature."""
    frame = parcel_frame(rect(2.9, 0.1, 3.1, 0.3), id="B").to_crs(4490)
    feature: dict[str, Any] = json.loads(frame.to_json(drop_id=True))["features"][0]
    return feature


@pytest.fixture
def client(settings: Settings, keys: dict[str, str]) -> Iterator[TestClient]:
    with TestClient(create_app(settings)) as c:
        yield c


def same_as_get(client: TestClient, path: str, headers: dict[str, str] | None = None) -> Any:
    """HEAD ``path``: GET's status and every one of its headers (Content-Type, Content-Length…), and no body."""
    got = client.get(path, headers=headers)
    head = client.head(path, headers=headers)
    assert head.status_code == got.status_code, (path, head.status_code, got.status_code)
    assert dict(head.headers) == dict(got.headers), path
    assert head.content == b"" and got.content, path
    if "content-encoding" not in got.headers:
        assert head.headers["content-length"] == str(len(got.content)), path
    return got


@pytest.mark.parametrize(
    ("path", "status", "media"),
    [
        ("/healthz", 200, "application/json"),
        ("/readyz", 200, "application/json"),
        ("/docs", 200, "text/html"),
        ("/redoc", 200, "text/html"),
        ("/openapi.json", 200, "application/json"),
        ("/", 401, "text/html"),  # the viewer's sign-in page, without a session
        ("/api/v1/layers", 401, "application/problem+json"),  # no key
        ("/nowhere", 404, "application/problem+json"),
    ],
)
def test_head_without_a_key_is_get_without_the_body(client: TestClient, path: str, status: int, media: str) -> None:
    got = same_as_get(client, path)
    assert got.status_code == status and got.headers["content-type"].startswith(media)


@pytest.mark.parametrize(
    ("path", "status"),
    [
        ("/api/v1/layers", 200),  # a JSON listing
        ("/api/v1/layers/land_use/items?limit=20", 200),  # a page of GeoJSON, gzipped as GET's is
        ("/api/v1/layers/roads/items", 404),  # a problem of the API's
        ("/api/v1/layers/land_use/items?limit=0", 422),
        ("/api/v1/quotas/balances", 200),
    ],
)
def test_head_with_a_key_is_get_without_the_body(
    client: TestClient, keys: dict[str, str], path: str, status: int
) -> None:
    got = same_as_get(client, path, auth(keys))
    assert got.status_code == status
    if status >= 400:
        assert_problem(got, status)


def test_head_of_the_viewer_page_takes_the_session_as_get_does(client: TestClient, keys: dict[str, str]) -> None:
    client.post("/login", data={"key": keys["planner"]})
    for accept in ("gzip", "identity"):
        got = same_as_get(client, "/", {"Accept-Encoding": accept})
        assert got.status_code == 200 and got.headers["content-type"].startswith("text/html")
        assert got.headers.get("content-encoding") == ("gzip" if accept == "gzip" else None)


def test_head_of_a_review_is_refused_to_another_caller_as_get_is(client: TestClient, keys: dict[str, str]) -> None:
    made = client.post("/api/v1/reviews", json=farmland(), headers=auth(keys))
    assert made.status_code == 201, made.text
    path = made.headers["location"]
    assert same_as_get(client, path, auth(keys)).status_code == 200
    assert_problem(same_as_get(client, path, auth(keys, "project-system")), 403)  # not theirs
    assert_problem(same_as_get(client, path, {"X-API-Key": "lantu_wrong"}), 401)


def test_a_papers_head_is_refused_and_takes_no_document_number(client: TestClient, keys: dict[str, str]) -> None:
    """A paper takes its 文号 on its first read and is rendered in a child: a link checker's HEAD numbered reviews
    nobody issued (a fresh pair of eyes). It is refused (405, Allow: GET) once the caller may read the review, as
    GET is refused before that; the next review's first GET takes the year's first number."""
    made = client.post("/api/v1/reviews", json=farmland(), headers=auth(keys))
    path = made.headers["location"]
    for paper in ("report", "report.pdf", "opinion", "map"):
        refused = client.head(f"{path}/{paper}", headers=auth(keys))
        assert refused.status_code == 405 and refused.headers["allow"] == "GET", paper
        assert client.head(f"{path}/{paper}", headers=auth(keys, "project-system")).status_code == 403
        assert client.head(f"{path}/{paper}").status_code == 401
    other = client.post("/api/v1/reviews", json=farmland(), headers=auth(keys)).headers["location"]
    opinion = client.get(f"{other}/opinion?format=json", headers=auth(keys)).json()
    assert opinion["number"].endswith("〕第1号"), opinion["number"]  # the first review's HEADs took none


def test_a_papers_head_of_an_unknown_review_is_404_for_every_role(client: TestClient, keys: dict[str, str]) -> None:
    """A role that reads every review skipped the owner's lookup, and its HEAD was refused (405) before the review
    was looked for: 404, as its GET (probe)."""
    for role in ("planner", "admin"):
        for paper in ("report", "report.pdf", "opinion", "map"):
            path = f"/api/v1/reviews/{'0' * 32}/{paper}"
            assert_problem(client.get(path, headers=auth(keys, role)), 404)
            assert client.head(path, headers=auth(keys, role)).status_code == 404, (role, paper)


def test_head_runs_the_route_once(client: TestClient, keys: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[object] = []
    real = layers.layer_summary
    monkeypatch.setattr(layers, "layer_summary", lambda bp: calls.append(bp) or real(bp))
    assert client.head("/api/v1/layers", headers=auth(keys)).status_code == 200
    assert len(calls) == 1


@pytest.mark.parametrize("path", ["/api/v1/reviews", "/login", "/api/v1/quotas/issue"])
def test_head_where_there_is_no_get_is_still_405(client: TestClient, keys: dict[str, str], path: str) -> None:
    head = client.head(path, headers=auth(keys))
    assert head.status_code == 405 and head.headers["allow"] == "POST" and head.content == b""
    assert client.get(path, headers=auth(keys)).status_code == 405


def test_the_app_itself_sends_no_body_to_a_head(client: TestClient) -> None:
    """The test client and uvicorn both drop a HEAD's body on their side: here the app is called as a server
    calls it, and sends GET's Content-Length with no byte of the body."""
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = http_scope("HEAD", "/docs", "testserver")
    assert client.portal is not None
    client.portal.call(client.app, scope, receive, send)
    start, *bodies = sent
    assert start["type"] == "http.response.start" and start["status"] == 200
    length = dict(start["headers"])[b"content-length"]
    assert int(length) == len(client.get("/docs").content) > 0
    assert [m["type"] for m in bodies] == ["http.response.body"] and bodies[0]["body"] == b""


def test_openapi_lists_no_head_operation(client: TestClient) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    assert "get" in paths["/api/v1/layers"]
    assert not [p for p, ops in paths.items() if "head" in ops]
