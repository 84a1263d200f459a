"""业务协同 over the API: the project system starts a round, each department's key answers its own task only."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from pydantic import ValidationError
from support import assert_problem, auth, parcel_frame, rect

from api.app import create_app
from api.keys import create_key
from api.settings import Settings
from geo.db import make_engine
from geo.errors import InputError

HERITAGE_FLOOD = json.loads(
    parcel_frame(rect(7.6, 2.2, 8.4, 2.8), id="P1", name="示例项目", project_type="infrastructure")
    .to_crs(4490)
    .to_json(drop_id=True)
)


@pytest.fixture
def client(settings: Settings, keys: dict[str, str]) -> Iterator[TestClient]:
    engine = make_engine(settings.database_url)
    for department, name in (("自然资源和规划", "land"), ("文物主管部门", "heritage"), ("水利", "water")):
        keys[name] = create_key(engine, f"dept-{name}", "department", department=department)
    with TestClient(create_app(settings)) as c:
        yield c


def _start(client: TestClient, keys: dict[str, str], project_id: str = "XM-1") -> list[dict[str, Any]]:
    project = {"id": project_id, "name": "文化街区配套", "project_type": "infrastructure", "level": "市重点"}
    made = client.post("/api/v1/projects", json=project | {"county": "370812"}, headers=auth(keys, "project-system"))
    assert made.status_code == 201, made.text
    posted = client.post("/api/v1/reviews", json=HERITAGE_FLOOD, headers=auth(keys, "project-system"))
    assert posted.status_code == 201, posted.text
    started = client.post(
        f"/api/v1/consult/projects/{project_id}/rounds",
        json={"review_id": posted.json()["review_id"], "due_days": 7},
        headers=auth(keys, "project-system"),
    )
    assert started.status_code == 201, started.text
    tasks: list[dict[str, Any]] = started.json()
    return tasks


def test_departments_answer_their_own_tasks_to_an_opinion(client: TestClient, keys: dict[str, str]) -> None:
    tasks = {t["department"]: t for t in _start(client, keys)}
    assert list(tasks) == ["自然资源和规划", "文物主管部门", "水利"]
    assert {t["status"] for t in tasks.values()} == {"待反馈"}
    # a department's key sees its own task only
    seen = client.get("/api/v1/consult/projects/XM-1/tasks", headers=auth(keys, "water")).json()
    assert [t["department"] for t in seen] == ["水利"]
    inbox = client.get("/api/v1/consult/tasks?pending=true", headers=auth(keys, "water")).json()
    assert [t["id"] for t in inbox] == [tasks["水利"]["id"]]
    # …and cannot answer, or read, another department's
    other = f"/api/v1/consult/tasks/{tasks['文物主管部门']['id']}"
    assert_problem(client.post(other + "/answers", json={"opinion": "同意"}, headers=auth(keys, "water")), 403)
    assert_problem(client.get(other, headers=auth(keys, "water")), 403)
    assert_problem(client.get("/api/v1/consult/tasks?department=文物主管部门", headers=auth(keys, "water")), 403)
    # a planner reads but does not answer; no department key starts a round
    assert_problem(client.post(other + "/answers", json={"opinion": "同意"}, headers=auth(keys, "planner")), 403)
    assert_problem(
        client.post("/api/v1/consult/projects/XM-9/rounds", json={"review_id": "x"}, headers=auth(keys, "water")),
        403,
    )
    assert_problem(
        client.post(
            f"/api/v1/consult/tasks/{tasks['水利']['id']}/answers",
            json={"opinion": "不同意"},
            headers=auth(keys, "water"),
        ),
        422,  # 不同意 needs its reason
    )
    for name, department, body in (
        ("land", "自然资源和规划", {"opinion": "同意"}),
        ("heritage", "文物主管部门", {"opinion": "有条件同意", "text": "工程设计方案报文物部门同意"}),
        ("water", "水利", {"opinion": "同意", "text": "无意见"}),
    ):
        r = client.post(f"/api/v1/consult/tasks/{tasks[department]['id']}/answers", json=body, headers=auth(keys, name))
        assert r.status_code == 201, r.text
        assert r.json()["actor"] == f"dept-{name}"
    status = client.get("/api/v1/consult/projects/XM-1", headers=auth(keys, "project-system")).json()
    assert status["state"] == "agreed" and status["doc_number"].startswith("协同预审〔")
    assert client.get("/api/v1/projects/XM-1", headers=auth(keys)).json()["stage"] == "储备"
    opinion = client.get("/api/v1/consult/projects/XM-1/opinion", headers=auth(keys, "project-system")).json()
    assert opinion["opinion"]["conditions"][0]["text"] == "工程设计方案报文物部门同意"
    md = client.get("/api/v1/consult/projects/XM-1/opinion?format=markdown", headers=auth(keys, "project-system"))
    assert md.headers["content-type"].startswith("text/markdown") and "预审意见" in md.text
    page = client.get("/api/v1/consult/projects/XM-1/page", headers=auth(keys, "project-system"))
    assert page.status_code == 200 and "lantu-consult" in page.text and "工程设计方案报文物部门同意" in page.text
    # answers to an agreed round are a conflict
    late = client.post(
        f"/api/v1/consult/tasks/{tasks['水利']['id']}/answers",
        json={"opinion": "不同意", "text": "x"},
        headers=auth(keys, "water"),
    )
    assert_problem(late, 409)


def test_problem_list_escalation_and_overdue(client: TestClient, keys: dict[str, str]) -> None:
    tasks = {t["department"]: t for t in _start(client, keys)}
    r = client.post(
        f"/api/v1/consult/tasks/{tasks['水利']['id']}/answers",
        json={"opinion": "不同意", "text": "<b>占用河道</b>"},
        headers=auth(keys, "water"),
    )
    assert r.status_code == 201 and r.json()["round_state"] == "disagreed"
    (entry,) = client.get("/api/v1/consult/problems", headers=auth(keys, "project-system")).json()
    assert entry["disagreements"][0]["text"] == "<b>占用河道</b>" and entry["joint_meeting"] is False
    assert client.get("/api/v1/consult/problems", headers=auth(keys, "heritage")).json() == []
    assert_problem(client.post("/api/v1/consult/projects/XM-1/escalation", json={}, headers=auth(keys, "water")), 403)
    flagged = client.post(
        "/api/v1/consult/projects/XM-1/escalation", json={"note": "提报联席会议"}, headers=auth(keys, "project-system")
    )
    assert flagged.status_code == 200 and flagged.json()["joint_meeting"] is True
    page = client.get("/api/v1/consult/projects/XM-1/page", headers=auth(keys, "project-system")).text
    assert "&lt;b&gt;占用河道&lt;/b&gt;" in page and "<b>占用河道</b>" not in page  # escaped
    due = tasks["水利"]["due"]
    later = client.get(
        "/api/v1/consult/overdue", params={"as_of": "2099-01-01"}, headers=auth(keys, "project-system")
    ).json()
    assert [(g["department"], g["overdue"]) for g in later] == [("自然资源和规划", 1), ("文物主管部门", 1)]
    mine = client.get("/api/v1/consult/overdue", params={"as_of": "2099-01-01"}, headers=auth(keys, "heritage"))
    assert [g["department"] for g in mine.json()] == ["文物主管部门"]
    assert (
        client.get("/api/v1/consult/overdue", params={"as_of": due}, headers=auth(keys, "project-system")).json() == []
    )
    assert_problem(client.get("/api/v1/consult/projects/NOPE/tasks", headers=auth(keys, "project-system")), 404)
    assert client.get("/api/v1/projects/XM-1", headers=auth(keys)).json()["stage"] == "谋划"
    assert_problem(
        client.get("/api/v1/consult/overdue", params={"as_of": "tomorrow"}, headers=auth(keys, "project-system")), 422
    )


def test_overdue_on_the_last_date_there_is(client: TestClient, keys: dict[str, str]) -> None:
    _start(client, keys)
    latest = client.get("/api/v1/consult/overdue", params={"as_of": "9999-12-31"}, headers=auth(keys, "project-system"))
    assert latest.status_code == 200, latest.text
    assert [g["overdue"] for g in latest.json()] == [1, 1, 1]


@pytest.mark.parametrize("value", ["NaN", "Infinity", "-Infinity", "1e308"])
def test_factor_needs_the_ledger_cannot_hold_are_refused(client: TestClient, keys: dict[str, str], value: str) -> None:
    """JSON's NaN and ±Infinity (Python's parser takes them) and 1e308: 422 naming the field, nothing reserved."""
    writer = auth(keys, "project-system")
    project = {"id": "XM-C2", "name": "热电", "project_type": "industrial", "level": "市重点", "county": "370812"}
    assert client.post("/api/v1/projects", json=project | {"stage": "储备"}, headers=writer).status_code == 201
    body = f'{{"year": 2026, "needs": {{"energy": {value}}}}}'
    refused = client.post(
        "/api/v1/quotas/projects/XM-C2/factors", content=body, headers=writer | {"content-type": "application/json"}
    )
    assert "needs.energy" in assert_problem(refused, 422)["message_en"]
    assert client.get("/api/v1/quotas/journal", headers=auth(keys)).json() == []


def test_a_department_key_needs_a_known_department(settings: Settings) -> None:
    engine = make_engine(settings.database_url)
    from api.keys import ensure_schema
    from geo.db import migrate

    migrate(engine)
    ensure_schema(engine)
    with pytest.raises(InputError):
        create_key(engine, "dept-none", "department")
    with pytest.raises(InputError):
        create_key(engine, "planner-with-department", "planner", department="水利")


def test_department_keys_from_the_command_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from typer.testing import CliRunner

    from api.cli import app

    monkeypatch.setenv("LANTU_DATABASE_URL", f"sqlite:///{tmp_path / 'keys.db'}")
    runner = CliRunner()
    made = runner.invoke(app, ["keys", "create", "water", "--role", "department", "--department", "水利"])
    assert made.exit_code == 0, made.output
    unknown = runner.invoke(app, ["keys", "create", "sea", "--role", "department", "--department", "海事"])
    assert unknown.exit_code == 2 and "未知部门" in unknown.stderr
    assert runner.invoke(app, ["keys", "create", "x", "--role", "department"]).exit_code == 2
    assert "water\tdepartment:水利\t" in runner.invoke(app, ["keys", "list"]).stdout


def test_webhook_settings_are_checked() -> None:
    secret = "s" * 16
    with pytest.raises(ValidationError, match="LANTU_WEBHOOK_SECRET"):
        Settings(webhook_url="https://city.example/hooks")
    with pytest.raises(ValidationError, match="https"):
        Settings(environment="production", webhook_url="http://city.example/hooks", webhook_secret=secret)
    assert Settings(environment="production", webhook_url="https://city.example/hooks", webhook_secret=secret)


def test_the_page_of_a_consultation_on_a_review_too_large_for_a_page_is_refused_before_any_work(
    settings: Settings, keys: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The page draws the consulted review's map: held to LANTU_MAX_PAGE_PARCELS as that review's own map is
    (a 2,000-parcel page held a worker some 5 s a request, at will). 413 naming what to read instead, nothing
    queued; the consultation itself and its JSON are untouched."""
    from api.routes import consult as consult_routes

    with TestClient(create_app(settings.model_copy(update={"max_page_parcels": 1}))) as client:
        project = {"id": "XM-2", "name": "两宗地", "project_type": "infrastructure", "level": "市重点"}
        project["county"] = "370812"
        made = client.post("/api/v1/projects", json=project, headers=auth(keys, "project-system"))
        assert made.status_code == 201, made.text
        frame = parcel_frame(rect(7.6, 2.2, 8.0, 2.8), rect(8.1, 2.2, 8.4, 2.8), project_type="infrastructure")
        frame["id"] = ["P1", "P2"]
        two = json.loads(frame.to_crs(4490).to_json(drop_id=True))
        posted = client.post("/api/v1/reviews", json=two, headers=auth(keys, "project-system"))
        assert posted.status_code == 201, posted.text
        rid = posted.json()["review_id"]
        started = client.post(
            "/api/v1/consult/projects/XM-2/rounds", json={"review_id": rid}, headers=auth(keys, "project-system")
        )
        assert started.status_code == 201, started.text

        def refuse(*_: Any) -> bytes:
            raise AssertionError("a page over its limit reached the work pool")

        monkeypatch.setattr(consult_routes, "_render_page", refuse)
        problem = assert_problem(
            client.get("/api/v1/consult/projects/XM-2/page", headers=auth(keys, "project-system")), 413
        )
        en, zh = problem["message_en"], problem["message_zh"]
        assert f"project XM-2 is on review {rid} of 2 parcels" in en and "at most 1 (LANTU_MAX_PAGE_PARCELS)" in en
        assert "GET /api/v1/consult/projects/XM-2)" in en and "GET /api/v1/consult/projects/XM-2/opinion" in en
        assert f"审查 {rid} 含 2 个地块" in zh and "会商页面最多显示 1 个地块" in zh
        assert client.app.state.pool.admitted == 0
        assert (
            client.get("/api/v1/consult/projects/XM-2", headers=auth(keys, "project-system")).json()["rounds"][0][
                "review_id"
            ]
            == rid
        )
        assert_problem(
            client.get("/api/v1/consult/projects/XM-9/page", headers=auth(keys, "project-system")), 404
        )  # none: 404 first


def _project_and_review(client: TestClient, keys: dict[str, str], project_id: str, box: tuple[float, ...]) -> str:
    project = {"id": project_id, "name": "展示馆", "project_type": "infrastructure", "level": "市重点"}
    writer = auth(keys, "project-system")
    assert client.post("/api/v1/projects", json=project | {"county": "370812"}, headers=writer).status_code == 201
    parcel = parcel_frame(rect(*box), id="P1", name="示例项目", project_type="infrastructure").to_crs(4490)
    posted = client.post("/api/v1/reviews", json=json.loads(parcel.to_json(drop_id=True)), headers=writer)
    assert posted.status_code == 201, posted.text
    review_id: str = posted.json()["review_id"]
    return review_id


def test_a_round_on_a_rejected_review_is_refused(client: TestClient, keys: dict[str, str]) -> None:
    """文物保护范围: the review rejects the parcel; no round, no 预审意见 (聊城 全周期服务办法 第十一条)."""
    review_id = _project_and_review(client, keys, "XM-R", (6.2, 2.2, 6.8, 2.8))
    refused = client.post(
        "/api/v1/consult/projects/XM-R/rounds", json={"review_id": review_id}, headers=auth(keys, "project-system")
    )
    problem = assert_problem(refused, 409)
    assert "cultural_heritage" in problem["message_en"] and "review it again" in problem["message_en"]
    assert "调整选址或用地方案" in problem["message_zh"]
    assert_problem(client.get("/api/v1/consult/projects/XM-R", headers=auth(keys, "project-system")), 404)


def test_repeated_identical_starts_answer_with_the_open_round(
    client: TestClient, keys: dict[str, str], settings: Settings
) -> None:
    """Three identical POSTs gave three rounds (two superseded) and nine task.created events."""
    from sqlalchemy import select

    from geo.consult.tables import consult_events

    review_id = _project_and_review(client, keys, "XM-1", (7.6, 2.2, 8.4, 2.8))
    answers = [
        client.post(
            "/api/v1/consult/projects/XM-1/rounds",
            json={"review_id": review_id, "due_days": 7},
            headers=auth(keys, "project-system"),
        )
        for _ in range(3)
    ]
    assert [a.status_code for a in answers] == [201, 201, 201]
    assert answers[0].json() == answers[1].json() == answers[2].json() and len(answers[0].json()) == 3
    status = client.get("/api/v1/consult/projects/XM-1", headers=auth(keys, "project-system")).json()
    assert [r["state"] for r in status["rounds"]] == ["open"]
    with make_engine(settings.database_url).connect() as conn:
        assert len(conn.execute(select(consult_events.c.id)).all()) == 3
