"""业务协同: routing of review items to departments, the consultation flow on SQLite and PostgreSQL,
the webhook's signature and retries (a receiver on loopback)."""

from __future__ import annotations

import contextlib
import json
import threading
from collections.abc import Iterator
from datetime import date, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, select
from support import parcel_frame, rect
from test_quota_cli import run as run  # the fixture: `lantu …` on a fresh SQLite ledger

from geo.blueprint import Blueprint
from geo.consult import Consultations, Webhook, load_routing, route_review, verify
from geo.consult.tables import consult_events, consult_opinions
from geo.errors import ConsultError, InputError, NotFoundError, ProfileError, ProjectError
from geo.papers import beijing_today
from geo.projects import ProjectLibrary
from geo.quota import Ledger
from geo.review import ReviewResult, review

DAY = date(2026, 12, 1)
# 建设控制地带 (7–8, 2–3 km) and 河湖管理范围 (8–9, 2–3 km): 文物 and 水利 besides 自然资源和规划
HERITAGE_FLOOD = (7.6, 2.2, 8.4, 2.8)


def _review(blueprint: Blueprint, box: tuple[float, float, float, float], **props: Any) -> ReviewResult:
    return review(parcel_frame(rect(*box), id="P1", name="示例项目", **props), blueprint)


@pytest.fixture(scope="module")
def heritage_flood(blueprint: Blueprint) -> ReviewResult:
    return _review(blueprint, HERITAGE_FLOOD, project_type="infrastructure")


# -- routing ------------------------------------------------------------------------------------------------


def test_items_route_to_the_departments_that_answer_for_them(heritage_flood: ReviewResult) -> None:
    drafts = {d.department: d for d in route_review(heritage_flood, load_routing())}
    assert list(drafts) == ["自然资源和规划", "文物主管部门", "水利"]
    assert drafts["文物主管部门"].items == ["cultural_heritage"]
    assert drafts["水利"].items == ["flood_control"]
    (flood,) = drafts["水利"].findings
    assert flood.status == "warn" and flood.overlap_m2 == pytest.approx(0.4 * 0.6 * 1e6)
    # 自然资源和规划 answers for 用地预审 always: its items, passing ones included
    assert drafts["自然资源和规划"].items == [
        "planning_conformity",
        "basic_farmland",
        "cultivated_land",
        "ecological_redline",
        "mineral_overlay",
        "geohazard",
        "land_use_standard",
        "illegal_use",
    ]


def test_a_shared_item_splits_by_layer(blueprint: Blueprint) -> None:
    # 自然保护地 (6–7 km) → 林业; 一级/二级 饮用水水源保护区 (7–9 km) → 生态环境, each with its own area
    result = _review(blueprint, (6.5, 0.2, 8.5, 0.8), project_type="infrastructure")
    drafts = {d.department: d for d in route_review(result, load_routing())}
    (reserve,) = drafts["林业"].findings
    (water,) = drafts["生态环境"].findings
    assert reserve.code == water.code == "protected_areas"
    assert reserve.overlap_m2 == pytest.approx(0.5 * 0.6 * 1e6)
    assert water.overlap_m2 == pytest.approx(1.5 * 0.6 * 1e6)
    assert (reserve.status, water.status) == ("fail", "fail")  # 自然保护地 and 一级 both fail
    assert water.layer_zh == "饮用水水源保护区"


def test_energy_and_pollutant_factors_follow_the_project_type(heritage_flood: ReviewResult) -> None:
    routing = load_routing()
    drafts = {d.department: d.items for d in route_review(heritage_flood, routing, project_type="industrial")}
    assert drafts["发改"] == ["energy"]
    assert drafts["生态环境"] == ["pollutant_total"]
    assert "发改" not in {d.department for d in route_review(heritage_flood, routing, project_type="transport")}


def test_a_passing_parcel_goes_to_the_land_department_alone(blueprint: Blueprint) -> None:
    result = _review(blueprint, (1.2, 1.2, 1.3, 1.3), project_type="industrial", investment_wan=50_000)
    drafts = route_review(result, load_routing(), project_type="commercial")
    assert [d.department for d in drafts] == ["自然资源和规划"]


def test_a_routing_table_naming_an_undeclared_department_is_refused(tmp_path: Path) -> None:
    (tmp_path / "departments.yaml").write_text(
        "departments: {水利: {name_zh: 市水利局, name_en: water}}\nitems: {flood_control: [{department: 海事}]}\n",
        encoding="utf-8",
    )
    with pytest.raises(ProfileError, match="海事"):
        load_routing(data_dir=tmp_path)
    with pytest.raises(InputError, match="unknown department"):
        load_routing().department("海事")


# -- the flow -----------------------------------------------------------------------------------------------


@pytest.fixture
def library(engine: Engine) -> ProjectLibrary:
    """Two projects at 谋划 in 兖州区, the county of the reviewed parcel."""
    Ledger(engine).register_counties([("370811", "任城区"), ("370812", "兖州区")])
    library = ProjectLibrary(engine)
    for pid in ("XM-1", "XM-2"):
        library.add(
            pid, name="文化街区配套", project_type="infrastructure", level="市重点", county="370812", actor="发改委"
        )
    return library


def _answer_all(consult: Consultations, project_id: str, **by_department: tuple[str, str | None]) -> None:
    for task in consult.tasks(project_id):
        opinion, text = by_department.get(task["department"], ("同意", None))
        consult.answer(task["id"], opinion, text=text, actor=f"{task['department']}经办人", today=DAY)


def test_all_agree_moves_the_project_to_reserve_with_its_opinion(
    library: ProjectLibrary, heritage_flood: ReviewResult
) -> None:
    consult = Consultations(library.engine)
    tasks = consult.start("XM-1", heritage_flood, due_days=7, actor="发改委", today=DAY)
    assert [(t["department"], t["status"], t["due"]) for t in tasks] == [
        ("自然资源和规划", "待反馈", "2026-12-08"),
        ("文物主管部门", "待反馈", "2026-12-08"),
        ("水利", "待反馈", "2026-12-08"),
    ]
    assert "建设控制地带" in consult.task(tasks[1]["id"])["draft"]
    _answer_all(consult, "XM-1", 水利=("有条件同意", "开展洪水影响评价，报水利局审查"))
    status = consult.status("XM-1")
    assert status["state"] == "agreed" and status["doc_number"] == "协同预审〔2026〕1号"
    assert library.get("XM-1").stage == "储备"
    last = library.history("XM-1")[-1]
    assert (last.from_stage, last.to_stage, last.actor) == ("谋划", "储备", "水利经办人")
    assert "协同预审〔2026〕1号" in last.reason
    assert [(r.review_id, r.parcel_id) for r in library.reviews("XM-1")] == [(heritage_flood.review_id, "P1")]
    found = consult.opinion("XM-1")
    body = found["opinion"]
    assert body["project"] == {
        "id": "XM-1",
        "name": "文化街区配套",
        "project_type": "infrastructure",
        "type_zh": "基础设施",
        "level": "市重点",
        "county": "370812",
    }
    assert [d["opinion"] for d in body["departments"]] == ["同意", "同意", "有条件同意"]
    assert body["conditions"] == [
        {"department": "水利", "items": ["flood_control"], "text": "开展洪水影响评价，报水利局审查"}
    ]
    assert body["parcels"][0]["area_m2"] == pytest.approx(0.8 * 0.6 * 1e6)
    assert "开展洪水影响评价" in found["text"] and "第十二条" in found["text"]
    # the findings in the 审查意见's own words (geo.opinion), the departments' words escaped for Markdown
    assert "经核查" in found["text"] and "有条件符合" in found["text"]
    assert "反馈：水利经办人，2026年" in found["text"] and "北京时间" in found["text"]
    with pytest.raises(ConsultError):  # an agreed round takes no more answers
        consult.answer(tasks[0]["id"], "不同意", text="晚到的意见", actor="x")
    # numbers run on per year
    consult.start("XM-2", heritage_flood, actor="发改委", today=DAY)
    _answer_all(consult, "XM-2", 文物主管部门=("有条件同意", "# 标题 <b>粗</b> [链接](x)"))
    second = consult.opinion("XM-2")
    assert second["doc_number"] == "协同预审〔2026〕2号"
    assert "\\# 标题 \\<b\\>粗\\</b\\> \\[链接\\](x)" in second["text"]
    assert second["opinion"]["conditions"][0]["text"] == "# 标题 <b>粗</b> [链接](x)"  # JSON keeps the words


def test_a_disagreement_puts_the_project_on_the_problem_list(
    library: ProjectLibrary, heritage_flood: ReviewResult
) -> None:
    consult = Consultations(library.engine)
    consult.start("XM-1", heritage_flood, actor="发改委", today=DAY)
    _answer_all(consult, "XM-1", 文物主管部门=("不同意", "地块压占保护范围外缘，须调整选址"))
    status = consult.status("XM-1")
    assert status["state"] == "disagreed" and status["adjustment_needed"] and status["doc_number"] is None
    assert library.get("XM-1").stage == "谋划"  # kept where it is
    with pytest.raises(NotFoundError):
        consult.opinion("XM-1")
    (entry,) = consult.problems()
    assert entry["project_id"] == "XM-1" and entry["joint_meeting"] is False
    assert [(d["department"], d["text"]) for d in entry["disagreements"]] == [
        ("文物主管部门", "地块压占保护范围外缘，须调整选址")
    ]
    # escalation: an officer flags the entry for the 联席会议 (a note with control characters is refused: on
    # PostgreSQL a NUL was a 500, and an ESC reached the terminal's table)
    for hostile in ("提报\x1b[2J联席会议", "提报\x00"):
        with pytest.raises(InputError, match="control character"):
            consult.escalate("XM-1", actor="指挥部", note=hostile)
    flagged = consult.escalate("XM-1", actor="指挥部", note="确有必要建设，提报联席会议")
    assert flagged["joint_meeting"] is True and flagged["joint_meeting_note"] == "确有必要建设，提报联席会议"
    assert consult.problems()[0]["flagged_by"] == "指挥部"
    # a new round after the adjustment supersedes the old one, whose tasks take no answers
    old = consult.tasks("XM-1")
    consult.start("XM-1", heritage_flood, actor="发改委", today=DAY)
    assert consult.problems() == []
    with pytest.raises(ConsultError):
        consult.answer(old[0]["id"], "同意", actor="x")
    assert [r["state"] for r in consult.status("XM-1")["rounds"]] == ["superseded", "open"]
    with pytest.raises(ConsultError):  # not on the list
        consult.escalate("XM-1", actor="指挥部")


def test_a_later_answer_supersedes_and_resolves(library: ProjectLibrary, heritage_flood: ReviewResult) -> None:
    consult = Consultations(library.engine)
    consult.start("XM-1", heritage_flood, actor="发改委", today=DAY)
    _answer_all(consult, "XM-1", 水利=("不同意", "占用河道管理范围"))
    water = next(t for t in consult.tasks("XM-1") if t["department"] == "水利")
    after = consult.answer(water["id"], "有条件同意", text="按防洪评价调整", actor="水利局", today=DAY)
    assert [a["opinion"] for a in after["answers"]] == ["不同意", "有条件同意"]  # both kept
    assert after["status"] == "有条件同意" and after["round_state"] == "agreed"
    assert consult.problems() == []
    assert library.get("XM-1").stage == "储备"


def test_only_library_projects_of_the_review_county_at_an_early_stage(
    library: ProjectLibrary, heritage_flood: ReviewResult
) -> None:
    consult = Consultations(library.engine)
    with pytest.raises(NotFoundError, match="projects add"):
        consult.start("XM-404", heritage_flood, actor="x")
    library.add("XM-3", name="别县项目", project_type="industrial", level="县重点", county="370811", actor="x")
    with pytest.raises(ConsultError, match="370812"):
        consult.start("XM-3", heritage_flood, actor="x")
    consult.start("XM-2", heritage_flood, actor="x")
    library.set_stage("XM-2", "撤销", actor="x")
    with pytest.raises(ConsultError, match="撤销"):  # a withdrawn project takes no answers
        consult.answer(consult.tasks("XM-2")[0]["id"], "同意", actor="x")
    with pytest.raises(ConsultError, match="撤销"):
        consult.start("XM-2", heritage_flood, actor="x")
    with pytest.raises(ProjectError):  # the library's own rules stand: no way back from 撤销
        library.set_stage("XM-2", "储备", actor="x")


def test_a_review_reaching_beyond_the_blueprint_is_not_consulted_on(
    library: ProjectLibrary, blueprint: Blueprint
) -> None:
    """Of a parcel out of coverage nothing was checked beyond the blueprint (the ledger refuses it too): the
    departments would agree to what no one reviewed."""
    astride = _review(blueprint, (9.8, 4.0, 10.3, 4.4), project_type="infrastructure")  # the county ends at 10 km
    assert astride.parcels[0].verdict == "out_of_coverage"
    consult = Consultations(library.engine)
    with pytest.raises(ConsultError, match="outside the blueprint's coverage") as refused:
        consult.start("XM-1", astride, actor="x")
    assert "超出蓝图覆盖范围" in refused.value.message_zh
    with pytest.raises(NotFoundError):  # nothing was started
        consult.tasks("XM-1")


def test_a_withdrawn_projects_round_is_closed(library: ProjectLibrary, heritage_flood: ReviewResult) -> None:
    """撤销 closes the round still open: its tasks leave the in-trays and stop counting as overdue."""
    consult = Consultations(library.engine)
    tasks = consult.start("XM-2", heritage_flood, due_days=3, actor="x", today=DAY)
    water = next(t for t in tasks if t["department"] == "水利")
    late = beijing_today() + timedelta(days=10)  # after the round's closing, which the clock dates
    assert [t["id"] for t in consult.department_tasks("水利")] == [water["id"]]
    library.set_stage("XM-2", "撤销", actor="发改委", reason="项目不再实施")
    status = consult.status("XM-2")
    assert (status["state"], status["state_zh"]) == ("withdrawn", "项目已撤销")
    assert consult.department_tasks("水利") == [] and consult.problems() == []
    assert consult.overdue(late) == []  # closed before the day asked about: no longer counted
    with pytest.raises(ConsultError, match="撤销"):
        consult.answer(water["id"], "同意", actor="水利局")


def test_agreeing_answers_carry_over_when_the_change_check_finds_the_project_unchanged(
    library: ProjectLibrary, blueprint: Blueprint, heritage_flood: ReviewResult
) -> None:
    consult = Consultations(library.engine)
    consult.start("XM-1", heritage_flood, actor="发改委", today=DAY)
    _answer_all(consult, "XM-1", 文物主管部门=("不同意", "东侧压占建设控制地带过多"), 水利=("有条件同意", "做防洪评价"))
    # adjusted 20 m west: overlap 97.5 %, same area, the same findings → 自然资源和规划 and 水利 still hold
    shifted = _review(blueprint, (7.58, 2.2, 8.38, 2.8), project_type="infrastructure")
    tasks = {t["department"]: t for t in consult.start("XM-1", shifted, actor="发改委", today=DAY)}
    assert {d: t["status"] for d, t in tasks.items()} == {
        "自然资源和规划": "同意",
        "文物主管部门": "待反馈",
        "水利": "有条件同意",
    }
    carried = consult.task(tasks["水利"]["id"])["answers"]
    assert [(a["opinion"], a["text"], a["actor"]) for a in carried] == [("有条件同意", "做防洪评价", "水利经办人")]
    assert carried[0]["carried_from"] is not None
    consult.answer(tasks["文物主管部门"]["id"], "同意", actor="文物局", today=DAY)
    assert library.get("XM-1").stage == "储备" and consult.opinion("XM-1")["opinion"]["round"] == 2
    # grown by a quarter: beyond the 10 % of the change check, every department answers afresh
    library.add("XM-3", name="扩建", project_type="infrastructure", level="市重点", county="370812", actor="x")
    consult.start("XM-3", heritage_flood, actor="x", today=DAY)
    _answer_all(consult, "XM-3")
    grown = _review(blueprint, (7.6, 2.2, 8.4, 2.95), project_type="infrastructure")
    assert {t["status"] for t in consult.start("XM-3", grown, actor="x", today=DAY)} == {"待反馈"}


def test_answers_are_checked(library: ProjectLibrary, heritage_flood: ReviewResult) -> None:
    consult = Consultations(library.engine)
    (task, *_) = consult.start("XM-1", heritage_flood, actor="发改委", today=DAY)
    with pytest.raises(InputError, match="reason"):
        consult.answer(task["id"], "不同意", text="  ", actor="x")
    with pytest.raises(InputError, match="conditions"):
        consult.answer(task["id"], "有条件同意", actor="x")
    with pytest.raises(InputError, match="opinion"):
        consult.answer(task["id"], "原则同意", actor="x")
    for unknown in (999_999, 2**31, 10**20):  # beyond an Integer column: no such task, not an overflow
        with pytest.raises(NotFoundError):
            consult.answer(unknown, "同意", actor="x")
        with pytest.raises(NotFoundError):
            consult.task(unknown)
    with pytest.raises(InputError, match="control character U\\+001B"):  # the opinion goes to Word and paper
        consult.answer(task["id"], "有条件同意", text="条件\x1b[31m", actor="x")
    with pytest.raises(InputError):
        consult.start("XM-1", heritage_flood, due_days=0, actor="x")


def test_overdue_tasks_per_department(library: ProjectLibrary, heritage_flood: ReviewResult) -> None:
    """Counted on the days after today: an answer is dated by the clock (Beijing time), and the test's fixed day
    had the answer, given today, late once Beijing's date passed it."""
    consult = Consultations(library.engine)
    today = beijing_today()
    tasks = {t["department"]: t for t in consult.start("XM-1", heritage_flood, due_days=3, actor="x", today=today)}
    consult.answer(tasks["自然资源和规划"]["id"], "同意", actor="自然资源和规划局", today=today)
    due = today + timedelta(days=3)
    assert consult.overdue(due) == []  # due today is not late
    late = consult.overdue(due + timedelta(days=2))
    assert [(g["department"], g["overdue"]) for g in late] == [("文物主管部门", 1), ("水利", 1)]
    assert late[0]["tasks"][0] == {
        "id": tasks["文物主管部门"]["id"],
        "project_id": "XM-1",
        "round": 1,
        "due": due.isoformat(),
        "days_overdue": 2,
    }
    assert [g["department"] for g in consult.overdue(due + timedelta(days=2), department="水利")] == ["水利"]
    latest = consult.overdue(date.max)  # the last day there is: nothing past it to overflow
    assert [(g["department"], g["overdue"]) for g in latest] == [("文物主管部门", 1), ("水利", 1)]


# -- webhooks -----------------------------------------------------------------------------------------------

SECRET = "test-secret-0123456789"


class _Receiver(BaseHTTPRequestHandler):
    """The city's project system on loopback: fails the first ``failures`` requests, then accepts."""

    failures = 0
    received: list[tuple[dict[str, str], bytes]] = []  # noqa: RUF012 — reset per test by the fixture

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        if type(self).failures > 0:
            type(self).failures -= 1
            self.send_response(503)
        else:
            type(self).received.append((dict(self.headers), body))
            self.send_response(204)
        self.end_headers()

    def log_message(self, *_args: Any) -> None:
        pass


@pytest.fixture
def receiver() -> Iterator[tuple[str, type[_Receiver]]]:
    handler = type("Receiver", (_Receiver,), {"failures": 0, "received": []})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/hooks/lantu", handler
    server.shutdown()
    server.server_close()


def test_webhook_bodies_are_signed_and_retried(
    tmp_path: Path, heritage_flood: ReviewResult, receiver: tuple[str, type[_Receiver]]
) -> None:
    from geo.db import make_engine, migrate

    engine = make_engine(f"sqlite:///{tmp_path / 'hooks.db'}")
    migrate(engine)
    Ledger(engine).register_counties([("370812", "兖州区")])
    ProjectLibrary(engine).add(
        "XM-1", name="文化街区配套", project_type="infrastructure", level="市重点", county="370812", actor="x"
    )
    url, handler = receiver
    handler.failures = 2  # the first event needs its third attempt
    consult = Consultations(engine, webhook=Webhook(url, SECRET, attempts=3, backoff=0.01))
    consult.start("XM-1", heritage_flood, actor="x", today=DAY)
    assert consult.deliver() == 3
    kinds = [json.loads(body)["event"] for _, body in handler.received]
    assert kinds == ["task.created"] * 3
    headers, body = handler.received[0]
    assert verify(SECRET, headers["X-Lantu-Signature"], body)
    assert not verify(SECRET, headers["X-Lantu-Signature"], body.replace(b"XM-1", b"XM-9"))
    assert not verify("another-secret-0123456", headers["X-Lantu-Signature"], body)
    timestamp = int(headers["X-Lantu-Signature"].split(",")[0][2:])
    assert not verify(SECRET, headers["X-Lantu-Signature"], body, now=timestamp + 3600)  # no replay an hour later
    assert json.loads(body)["data"]["department"] == "自然资源和规划"
    with engine.connect() as conn:
        attempts = conn.execute(select(consult_events.c.attempts).order_by(consult_events.c.id)).scalars().all()
    assert attempts == [3, 1, 1]
    # a receiver that keeps failing: the event stays in the outbox, in order, and goes out on the next run
    handler.failures = 10
    _answer_all(consult, "XM-1")
    assert consult.deliver() == 0
    handler.failures = 0
    assert consult.deliver() == 1
    completed = json.loads(handler.received[-1][1])
    assert completed["event"] == "consultation.completed"
    assert completed["data"] == {
        "doc_number": "协同预审〔2026〕1号",
        "outcome": "agreed",
        "project_id": "XM-1",
        "round": 1,
        "stage": "储备",
    }


# -- the command line ---------------------------------------------------------------------------------------


def _reviewed_by_cli(run: Any, tmp_path: Path, blueprint_dir: Path, box: tuple[float, ...], name: str) -> None:
    """A ledger, project XM-1 (``name``, infrastructure, 市重点, 370812) and its parcel ``box`` reviewed into
    ``review.json``, by the command line."""
    parcels = tmp_path / "site.geojson"
    parcel_frame(rect(*box), id="P1", project_type="infrastructure").to_crs(4490).to_file(parcels)
    run("quota", "init", "--blueprint", blueprint_dir)
    run("projects", "add", "XM-1", "--name", name, "--type", "infrastructure", "--level", "市重点",
        "--county", "370812")  # fmt: skip
    run("review", parcels, "-b", blueprint_dir, "-o", tmp_path / "review.json")


def test_cli_walk_through_from_planning_to_reserve(run: Any, tmp_path: Path, blueprint_dir: Path) -> None:
    _reviewed_by_cli(run, tmp_path, blueprint_dir, HERITAGE_FLOOD, "文化街区配套")
    started = run("consult", "start", "XM-1", tmp_path / "review.json", "--due-days", "5").stdout
    assert "涉及审查项" in started and "cultural_heritage" not in started  # the items by name, as `consult tasks` does
    tasks = json.loads(run("consult", "tasks", "XM-1", "--format", "json").stdout)
    assert [(t["department"], t["status"]) for t in tasks] == [
        ("自然资源和规划", "待反馈"),
        ("文物主管部门", "待反馈"),
        ("水利", "待反馈"),
    ]
    assert {"id", "department", "items", "status", "due"} <= set(tasks[0])
    refused = run("consult", "answer", tasks[2]["id"], "--opinion", "不同意", code=2)
    assert "不同意须写明理由" in refused.stderr
    run("consult", "answer", tasks[2]["id"], "--opinion", "不同意", "--text", "占用河道管理范围", "--actor", "水利局")
    problems = json.loads(run("consult", "problems", "--format", "json").stdout)
    assert [p["project_id"] for p in problems] == ["XM-1"]
    run("consult", "escalate", "XM-1", "--note", "提报联席会议")
    assert json.loads(run("consult", "problems", "--format", "json").stdout)[0]["joint_meeting"] is True
    # read by people: Chinese headers, 是/否 not Python's True, a row a block where asked
    listed = run("consult", "problems", "--layout", "records").stdout
    assert "提请联席会议" in listed and "是" in listed and "True" not in listed and "水利：占用河道管理范围" in listed
    header, *lines = run("consult", "tasks", "XM-1", "--format", "csv").stdout.splitlines()
    assert header == "任务号,部门,涉及审查项,反馈意见,反馈期限,意见内容,反馈人,反馈时间"
    assert any("河湖" in line or "防洪" in line for line in lines) and "flood_control" not in "".join(lines)
    assert "逾期天数" in run("consult", "overdue", "--as-of", "2099-01-01", "--layout", "records").stdout
    overdue = json.loads(run("consult", "overdue", "--as-of", "2099-01-01", "--format", "json").stdout)
    assert [(g["department"], g["overdue"]) for g in overdue] == [("自然资源和规划", 1), ("文物主管部门", 1)]
    latest = json.loads(run("consult", "overdue", "--as-of", "9999-12-31", "--format", "json").stdout)
    assert [(g["department"], g["overdue"]) for g in latest] == [("自然资源和规划", 1), ("文物主管部门", 1)]
    run("consult", "overdue", "--as-of", "someday", code=2)
    # without --as-of, judged on today (Beijing), as `projects overdue` and `quota overdue`: due in 5 days, not late
    assert json.loads(run("consult", "overdue", "--format", "json").stdout) == []
    run("consult", "answer", tasks[0]["id"], "--opinion", "同意", "--actor", "自然资源和规划局")
    run("consult", "answer", tasks[1]["id"], "--opinion", "有条件同意", "--text", "设计方案报文物部门同意")
    done = run(
        "consult", "answer", tasks[2]["id"], "--opinion", "有条件同意", "--text", "做防洪评价", "--actor", "水利局"
    )
    assert "协同预审〔" in done.stderr
    stage = json.loads(run("projects", "list", "--format", "json").stdout)[0]["stage"]
    assert stage == "储备"
    opinion = run("consult", "opinion", "XM-1").stdout
    assert "设计方案报文物部门同意" in opinion and "做防洪评价" in opinion and "占用河道管理范围" not in opinion


def test_the_page_renders_where_only_a_layer_envelope_reaches_the_parcel(tmp_path: Path) -> None:
    import geopandas as gpd
    import shapely
    from support import EPSG, rect_frame

    from geo.blueprint import load_blueprint
    from geo.consult.page import consult_page
    from geo.io.blueprint import write_blueprint
    from geo.maps import map_html

    # an L-shaped 文物 zone whose envelope covers the parcel's surroundings while its shape stays 2 km away
    ell = gpd.GeoDataFrame(
        {"zone": ["保护范围"]}, geometry=[shapely.union(rect(0, 0, 10, 1), rect(0, 0, 1, 5))], crs=EPSG
    )
    county = rect_frame([((0, 0, 10, 5), {"code": "370812", "name": "兖州区"})])
    bp = load_blueprint(write_blueprint(tmp_path / "bp", {"county": county, "heritage": ell}, name="L"))
    result = _review(bp, (6, 3, 6.5, 3.5))
    status = {"project_id": "XM-1", "rounds": [{}], "state_zh": "会商中", "doc_number": None, "tasks": []}
    assert "lantu-consult" in map_html(consult_page(status, result, bp))


def test_departments_answering_at_once_complete_the_round_once(
    library: ProjectLibrary, heritage_flood: ReviewResult, monkeypatch: pytest.MonkeyPatch
) -> None:
    consult = Consultations(library.engine)
    settle = Consultations._settle
    gate = threading.Barrier(2, timeout=1.0)

    def gated_settle(self: Consultations, *args: Any, **kwargs: Any) -> None:
        # unless the round is locked, both answers get here before either round is settled (and both see "open")
        if threading.current_thread() is not threading.main_thread():
            with contextlib.suppress(threading.BrokenBarrierError):
                gate.wait()
        settle(self, *args, **kwargs)

    monkeypatch.setattr(Consultations, "_settle", gated_settle)
    tasks = consult.start("XM-1", heritage_flood, actor="x", today=DAY)
    consult.answer(tasks[0]["id"], "同意", actor="x", today=DAY)
    barrier = threading.Barrier(2)
    errors: list[BaseException] = []

    def answer(task_id: int) -> None:
        barrier.wait()
        try:
            consult.answer(task_id, "同意", actor="x", today=DAY)
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=answer, args=(t["id"],)) for t in tasks[1:]]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert consult.status("XM-1")["state"] == "agreed" and library.get("XM-1").stage == "储备"
    with library.engine.connect() as conn:
        assert conn.execute(select(consult_opinions.c.doc_number)).scalars().all() == ["协同预审〔2026〕1号"]


def test_rounds_of_two_projects_agreed_at_once_get_two_numbers(
    library: ProjectLibrary, heritage_flood: ReviewResult, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two projects' last answers at the same moment: both 预审意见 are numbered, one after the other (on
    PostgreSQL both read the same last number, and the second answer was lost to a unique violation)."""
    consult = Consultations(library.engine)
    issue = Consultations._issue_opinion
    gate = threading.Barrier(2, timeout=1.0)

    def gated_issue(self: Consultations, *args: Any, **kwargs: Any) -> str:
        with contextlib.suppress(threading.BrokenBarrierError):  # SQLite lets one writer in at a time anyway
            gate.wait()
        return issue(self, *args, **kwargs)

    last = []
    for pid in ("XM-1", "XM-2"):
        tasks = consult.start(pid, heritage_flood, actor="x", today=DAY)
        for task in tasks[:-1]:
            consult.answer(task["id"], "同意", actor="x", today=DAY)
        last.append(tasks[-1]["id"])
    monkeypatch.setattr(Consultations, "_issue_opinion", gated_issue)
    errors: list[BaseException] = []

    def answer(task_id: int) -> None:
        try:
            consult.answer(task_id, "同意", actor="x", today=DAY)
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=answer, args=(t,)) for t in last]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert {consult.status(pid)["state"] for pid in ("XM-1", "XM-2")} == {"agreed"}
    with library.engine.connect() as conn:
        numbers = conn.execute(select(consult_opinions.c.doc_number)).scalars().all()
    assert sorted(numbers) == ["协同预审〔2026〕1号", "协同预审〔2026〕2号"]


# -- a rejected review, a repeated start ---------------------------------------------------------------------

# 文物保护范围 (6–7, 2–3 km) in 兖州区: cultural_heritage fails, the review rejects the parcel
HERITAGE_CORE = (6.2, 2.2, 6.8, 2.8)


def test_a_rejected_review_is_not_consulted_on(
    library: ProjectLibrary, blueprint: Blueprint, heritage_flood: ReviewResult
) -> None:
    """A 不通过 review went to the departments, all agreed, and a formal 预审意见 was issued on it (聊城 全周期
    服务办法 第十一条: a project with a negative opinion is adjusted first, then consulted again)."""
    rejected = _review(blueprint, HERITAGE_CORE, project_type="infrastructure")
    assert rejected.parcels[0].verdict == "reject"
    consult = Consultations(library.engine)
    with pytest.raises(ConsultError, match="rejects parcel") as refused:
        consult.start("XM-1", rejected, actor="x", today=DAY)
    assert "parcel P1 (cultural_heritage failing)" in refused.value.message_en
    assert "adjust the site or the land-use plan" in refused.value.message_en
    assert "不通过" in refused.value.message_zh and "调整选址或用地方案" in refused.value.message_zh
    with pytest.raises(NotFoundError):  # nothing was started
        consult.tasks("XM-1")
    with library.engine.connect() as conn:
        assert conn.execute(select(consult_events)).all() == []
    assert library.get("XM-1").stage == "谋划" and library.reviews("XM-1") == []
    # nor does it supersede the round open on an acceptable review
    consult.start("XM-1", heritage_flood, actor="x", today=DAY)
    with pytest.raises(ConsultError, match="rejects parcel"):
        consult.start("XM-1", rejected, actor="x", today=DAY)
    assert [r["state"] for r in consult.status("XM-1")["rounds"]] == ["open"]


def test_a_rejected_review_is_refused_from_the_command_line(run: Any, tmp_path: Path, blueprint_dir: Path) -> None:
    _reviewed_by_cli(run, tmp_path, blueprint_dir, HERITAGE_CORE, "展示馆")
    refused = run("consult", "start", "XM-1", tmp_path / "review.json", code=2)
    assert "调整选址或用地方案" in refused.stderr and "cultural_heritage" in refused.stderr
    run("consult", "tasks", "XM-1", code=2)  # no round


def _events(engine: Engine, kind: str) -> int:
    with engine.connect() as conn:
        return len(conn.execute(select(consult_events.c.id).where(consult_events.c.kind == kind)).all())


def test_a_repeated_start_returns_the_open_round(library: ProjectLibrary, heritage_flood: ReviewResult) -> None:
    """A retry of a start superseded the round it had made: three starts, three rounds, nine task.created."""
    consult = Consultations(library.engine)
    first = consult.start("XM-1", heritage_flood, due_days=7, actor="x", today=DAY)
    again = consult.start("XM-1", heritage_flood, due_days=3, actor="y", today=DAY + timedelta(days=1))
    assert again == first  # the same tasks, the first due date standing
    assert [r["state"] for r in consult.status("XM-1")["rounds"]] == ["open"]
    assert consult.review_parcels("XM-1") == len(heritage_flood.parcels) == 1  # counted in the round's copy
    assert _events(library.engine, "task.created") == 3
    # an answered task stays answered
    consult.answer(first[0]["id"], "同意", actor="自然资源和规划局", today=DAY)
    assert consult.start("XM-1", heritage_flood, actor="x", today=DAY)[0]["status"] == "同意"
    # the same review id with other content is no repeat, and no new round either
    edited = heritage_flood.model_copy(update={"warnings": ["手工修改"]})
    with pytest.raises(ConsultError, match="differs") as refused:
        consult.start("XM-1", edited, actor="x", today=DAY)
    assert "内容不一致" in refused.value.message_zh
    assert len(consult.status("XM-1")["rounds"]) == 1


def test_a_project_named_full_width_is_consulted_on_as_the_library_keeps_it(
    library: ProjectLibrary, heritage_flood: ReviewResult
) -> None:
    """ＸＭ-1 from an input method is the library's XM-1: its round, tasks and 预审意见 are found under either
    spelling (a round kept under the typed one was not found by ``status XM-1``)."""
    consult = Consultations(library.engine)
    tasks = consult.start("ＸＭ-1", heritage_flood, actor="发改委", today=DAY)
    assert consult.status("XM-1")["project_id"] == "XM-1" and consult.tasks("ＸＭ－１") == tasks
    assert consult.review_id("XM-1") == heritage_flood.review_id
    assert "XM-1" in consult.task(tasks[0]["id"])["draft"] and "ＸＭ" not in consult.task(tasks[0]["id"])["draft"]
    _answer_all(consult, "ＸＭ-1")
    assert consult.opinion("XM-1")["doc_number"] == consult.opinion("ＸＭ-1")["doc_number"]
    assert library.get("XM-1").stage == "储备"


def test_concurrent_identical_starts_make_one_round(
    library: ProjectLibrary, heritage_flood: ReviewResult, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Three identical starts at once (a client's retries): one round, its three tasks, three events."""
    import geo.consult.flow as flow

    route = flow.route_review
    gate = threading.Barrier(3, timeout=1.0)

    def gated_route(*args: Any, **kwargs: Any) -> Any:
        # unless starts of one project wait for each other, all three get here before any round is written
        with contextlib.suppress(threading.BrokenBarrierError):
            gate.wait()
        return route(*args, **kwargs)

    monkeypatch.setattr(flow, "route_review", gated_route)
    consult = Consultations(library.engine)
    barrier = threading.Barrier(3)
    results: list[list[int]] = []
    errors: list[BaseException] = []

    def start() -> None:
        barrier.wait()
        try:
            results.append([t["id"] for t in consult.start("XM-1", heritage_flood, actor="x", today=DAY)])
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=start) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert len(results) == 3 and results[0] == results[1] == results[2] and len(results[0]) == 3
    assert [r["state"] for r in consult.status("XM-1")["rounds"]] == ["open"]
    assert _events(library.engine, "task.created") == 3
