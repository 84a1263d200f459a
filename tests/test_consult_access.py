"""Who reads a consultation: it discloses the review its latest round consults on (each item's findings, the
parcels on its page's map), so a planner or the project system reads those on its own reviews, as it reads its
own reviews (SECURITY.md); a department reads its own tasks; admin and quota-admin every one."""

from __future__ import annotations

import json
from typing import Any

from fastapi.testclient import TestClient
from support import assert_problem, auth, parcel_frame, rect
from test_api_consult import HERITAGE_FLOOD, _start
from test_api_consult import client as client  # the fixture: department keys beside one key per role

from api.keys import create_key
from api.settings import Settings
from geo.consult import Consultations
from geo.db import make_engine
from geo.review.result import ReviewResult

API = "/api/v1/consult"


def test_a_planner_reads_no_consultation_on_a_review_it_did_not_make(client: TestClient, keys: dict[str, str]) -> None:
    tasks = _start(client, keys)  # the project system's review and round
    water = next(t for t in tasks if t["department"] == "水利")
    for path in ("/projects/XM-1", "/projects/XM-1/tasks", "/projects/XM-1/page", "/projects/XM-1/opinion"):
        problem = assert_problem(client.get(API + path, headers=auth(keys)), 403)
        assert "on a review this key did not make" in problem["message_en"] and "无权查看" in problem["message_zh"]
    assert_problem(client.get(f"{API}/tasks/{water['id']}", headers=auth(keys)), 403)
    # the listings across projects leave out what it may not read
    assert client.get(f"{API}/tasks?department=水利", headers=auth(keys)).json() == []
    assert client.get(f"{API}/overdue", params={"as_of": "2099-01-01"}, headers=auth(keys)).json() == []
    answered = client.post(
        f"{API}/tasks/{water['id']}/answers",
        json={"opinion": "不同意", "text": "占用河道"},
        headers=auth(keys, "water"),
    )
    assert answered.status_code == 201, answered.text
    assert client.get(f"{API}/problems", headers=auth(keys)).json() == []
    # the review's maker, a department and the roles that read every review do read it
    for role in ("project-system", "admin", "quota-admin", "water"):
        assert client.get(API + "/projects/XM-1", headers=auth(keys, role)).status_code == 200, role
        overdue: list[dict[str, Any]] = client.get(
            f"{API}/overdue", params={"as_of": "2099-01-01"}, headers=auth(keys, role)
        ).json()
        assert sum(g["overdue"] for g in overdue) == (0 if role == "water" else 2), role  # 水利 answered its own
    assert [p["project_id"] for p in client.get(f"{API}/problems", headers=auth(keys, "admin")).json()] == ["XM-1"]
    assert client.get(f"{API}/tasks/{water['id']}", headers=auth(keys, "water")).status_code == 200


def test_a_planner_reads_the_consultation_on_its_own_review(client: TestClient, keys: dict[str, str]) -> None:
    project = {"id": "XM-P", "name": "规划科送审项目", "project_type": "infrastructure", "level": "市重点"}
    made = client.post("/api/v1/projects", json=project | {"county": "370812"}, headers=auth(keys, "admin"))
    assert made.status_code == 201, made.text
    posted = client.post("/api/v1/reviews", json=HERITAGE_FLOOD, headers=auth(keys))  # the planner's own
    assert posted.status_code == 201, posted.text
    started = client.post(
        f"{API}/projects/XM-P/rounds", json={"review_id": posted.json()["review_id"]}, headers=auth(keys, "admin")
    )
    assert started.status_code == 201, started.text
    status = client.get(f"{API}/projects/XM-P", headers=auth(keys))
    assert status.status_code == 200 and status.json()["rounds"][0]["review_id"] == posted.json()["review_id"]
    assert client.get(f"{API}/projects/XM-P/page", headers=auth(keys)).status_code == 200
    # its page is rendered in a child, as a review's papers: a HEAD is refused once the caller may read it (probe)
    head = client.head(f"{API}/projects/XM-P/page", headers=auth(keys))
    assert head.status_code == 405 and head.headers["allow"] == "GET" and head.content == b""
    assert client.head(f"{API}/projects/XM-NONE/page", headers=auth(keys)).status_code == 404
    assert len(client.get(f"{API}/tasks?department=水利", headers=auth(keys)).json()) == 1
    assert_problem(client.get(f"{API}/projects/XM-NONE", headers=auth(keys)), 404)  # none is 404, not 403


def test_a_round_started_from_a_review_file_has_its_page(
    client: TestClient, keys: dict[str, str], settings: Settings
) -> None:
    """`lantu consult start XM REVIEW.json` keeps the review in the round, not in the review store: its page was
    a 404 (the paper's size was counted in the store) and a planner's read a 404 too. The page counts the round's
    own copy; the review has no owner, so only the roles that read every review read it (403 for a planner)."""
    project = {"id": "XM-F", "name": "文件送审项目", "project_type": "infrastructure", "level": "市重点"}
    made = client.post("/api/v1/projects", json=project | {"county": "370812"}, headers=auth(keys, "admin"))
    assert made.status_code == 201, made.text
    posted = client.post("/api/v1/reviews", json=HERITAGE_FLOOD, headers=auth(keys, "admin")).json()
    from_file = ReviewResult.model_validate(posted | {"review_id": "from-a-file"})  # in no store
    Consultations(make_engine(settings.database_url)).start("XM-F", from_file, actor="命令行")
    page = client.get(f"{API}/projects/XM-F/page", headers=auth(keys, "admin"))
    assert page.status_code == 200 and "lantu-consult" in page.text
    problem = assert_problem(client.get(f"{API}/projects/XM-F", headers=auth(keys)), 403)
    assert "on a review this key did not make" in problem["message_en"] and "无权查看" in problem["message_zh"]
    assert "from-a-file" not in problem["message_en"]  # a review's id is not said to who may not read it


def _water_disagrees(client: TestClient, keys: dict[str, str], tasks: list[dict[str, Any]]) -> dict[str, Any]:
    """水利 answers its task of the round ``tasks`` 不同意 (占用河道); the task."""
    water = next(t for t in tasks if t["department"] == "水利")
    answered = client.post(
        f"{API}/tasks/{water['id']}/answers",
        json={"opinion": "不同意", "text": "占用河道"},
        headers=auth(keys, "water"),
    )
    assert answered.status_code == 201, answered.text
    return water


def test_another_key_neither_flags_nor_takes_over_a_consultation(
    client: TestClient, keys: dict[str, str], settings: Settings
) -> None:
    """A second project-system key was refused the project's consultation (403) yet flagged it for the 联席会议
    (200, with the departments' answers and the review's id in the reply) and started a round on it, superseding
    the owner's, who was then refused its own project (probe). Who may read a consultation acts on it."""
    tasks = _start(client, keys, "XM-E")
    _water_disagrees(client, keys, tasks)
    keys["other"] = create_key(make_engine(settings.database_url), "ps-other", "project-system")
    before = client.get(f"{API}/problems", headers=auth(keys, "admin")).json()
    flagged = client.post(
        f"{API}/projects/XM-E/escalation", json={"joint_meeting": False, "note": "x"}, headers=auth(keys, "other")
    )
    assert_problem(flagged, 403)
    assert "占用河道" not in flagged.text and tasks[0]["project_id"] == "XM-E"
    assert client.get(f"{API}/problems", headers=auth(keys, "admin")).json() == before  # nothing changed
    own = client.post("/api/v1/reviews", json=HERITAGE_FLOOD, headers=auth(keys, "other")).json()["review_id"]
    taken = client.post(f"{API}/projects/XM-E/rounds", json={"review_id": own}, headers=auth(keys, "other"))
    problem = assert_problem(taken, 403)
    assert "无权查看" in problem["message_zh"]
    theirs = client.get(f"{API}/projects/XM-E", headers=auth(keys, "project-system"))
    owner_review = theirs.json()["rounds"][0]["review_id"]
    for refused in (taken, flagged, client.get(f"{API}/projects/XM-E", headers=auth(keys, "other"))):
        assert owner_review not in refused.text and own not in refused.text  # no review's id said to another key
    status = client.get(f"{API}/projects/XM-E", headers=auth(keys, "project-system"))
    assert status.status_code == 200 and [r["state"] for r in status.json()["rounds"]] == ["disagreed"]
    # the owner acts on its own: flags it
    mine = client.post(f"{API}/projects/XM-E/escalation", json={"note": "请议"}, headers=auth(keys, "project-system"))
    assert mine.status_code == 200 and mine.json()["joint_meeting"] is True


def test_a_department_asked_nothing_reads_no_consultation(
    client: TestClient, keys: dict[str, str], settings: Settings
) -> None:
    """生态环境 has no task on XM-D (its items ask 自然资源和规划, 文物 and 水利): it read every round, each round's
    review id and the page's map of the parcels (probe). A department reads the consultations that ask it something."""
    _start(client, keys, "XM-D")
    keys["env"] = create_key(make_engine(settings.database_url), "dept-env", "department", department="生态环境")
    for path in ("", "/tasks", "/page", "/opinion"):
        problem = assert_problem(client.get(f"{API}/projects/XM-D{path}", headers=auth(keys, "env")), 403)
        assert "asks nothing of this key's department" in problem["message_en"], path
        assert "未向本部门分派任务" in problem["message_zh"]
    assert client.get(f"{API}/projects/XM-D", headers=auth(keys, "water")).status_code == 200
    assert client.get(f"{API}/projects/XM-D/page", headers=auth(keys, "water")).status_code == 200


def test_a_round_is_not_started_on_land_reviewed_as_another_type(client: TestClient, keys: dict[str, str]) -> None:
    """The library's project is 工业; its land reviewed as 基础设施 (conditional there) was consulted on and given a
    formal 预审意见, where reviewed as 工业 it is refused (probe): refused as the ledger refuses to reserve for it."""
    project = {"id": "XM-T", "name": "工业项目", "project_type": "industrial", "level": "市重点", "county": "370812"}
    made = client.post("/api/v1/projects", json=project, headers=auth(keys, "project-system"))
    assert made.status_code == 201, made.text
    posted = client.post("/api/v1/reviews", json=HERITAGE_FLOOD, headers=auth(keys, "project-system")).json()
    refused = client.post(
        f"{API}/projects/XM-T/rounds", json={"review_id": posted["review_id"]}, headers=auth(keys, "project-system")
    )
    problem = assert_problem(refused, 409)
    assert "reviewed as a infrastructure project; project XM-T is industrial" in problem["message_en"]
    assert "按基础设施项目审查，而项目 XM-T 为工业项目" in problem["message_zh"]


def test_a_department_reads_its_own_task_of_an_earlier_round(client: TestClient, keys: dict[str, str]) -> None:
    """水利 answered 不同意; the next round, on a site clear of the river, asks 水利 nothing: its own task of the first
    round was refused it, "asks nothing of this key's department" (a reviewer's read). A department reads its own
    tasks, of any round; another project's consultation still not."""
    water = _water_disagrees(client, keys, _start(client, keys, "XM-W"))
    moved = json.loads(
        parcel_frame(rect(7.2, 2.2, 7.6, 2.8), id="P1", name="示例项目", project_type="infrastructure")
        .to_crs(4490)
        .to_json(drop_id=True)
    )
    posted = client.post("/api/v1/reviews", json=moved, headers=auth(keys, "project-system"))
    assert posted.status_code == 201, posted.text
    again = client.post(
        f"{API}/projects/XM-W/rounds",
        json={"review_id": posted.json()["review_id"]},
        headers=auth(keys, "project-system"),
    )
    assert again.status_code == 201, again.text
    assert "水利" not in {t["department"] for t in again.json()}
    mine = client.get(f"{API}/tasks/{water['id']}", headers=auth(keys, "water"))
    assert mine.status_code == 200 and mine.json()["text"] == "占用河道"
    assert_problem(client.get(f"{API}/projects/XM-W", headers=auth(keys, "water")), 403)  # the round asks it nothing
