"""The project library (项目库) on SQLite and PostgreSQL: entry, stages and history, reviews, 应开未开."""

from __future__ import annotations

import csv
import io
import json
import threading
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from sqlalchemy import Engine, insert
from support import read_records
from typer.testing import CliRunner

from geo import cli_context
from geo.cli import app
from geo.errors import InputError, NotFoundError, ProjectError
from geo.projects import ProjectLibrary
from geo.quota import Ledger


@pytest.fixture
def library(engine: Engine) -> ProjectLibrary:
    Ledger(engine).register_counties([("370811", "任城区"), ("370812", "兖州区")])
    return ProjectLibrary(engine)


def add(library: ProjectLibrary, pid: str = "XM-1", **extra: object) -> None:
    fields: dict[str, object] = {
        "name": "新材料产业园",
        "project_type": "industrial",
        "level": "市重点",
        "county": "370811",
        "actor": "发改委",
    }
    library.add(pid, **{**fields, **extra})  # type: ignore[arg-type]


def test_add_get_list(library: ProjectLibrary) -> None:
    add(library, start_by=date(2026, 6, 30))
    add(library, "XM-2", county="370812", level="国家重大", stage="储备", project_type="transport")
    p = library.get("XM-1")
    assert (p.name, p.project_type, p.level, p.county, p.stage, p.start_by) == (
        "新材料产业园",
        "industrial",
        "市重点",
        "370811",
        "谋划",
        date(2026, 6, 30),
    )
    assert p.is_key and p.row()["type_zh"] == "工业" and p.row()["start_by"] == "2026-06-30"
    # a stored moment says it is UTC, on SQLite (which hands back naive times) as on PostgreSQL
    assert p.row()["created"].endswith("+00:00") and library.history("XM-1")[0].row()["at"].endswith("+00:00")
    assert [x.id for x in library.projects()] == ["XM-1", "XM-2"]
    assert [x.id for x in library.projects(county="370812")] == ["XM-2"]
    assert [x.id for x in library.projects(stage="储备")] == ["XM-2"]
    with pytest.raises(NotFoundError, match="no project 'nope'"):
        library.get("nope")


@pytest.mark.parametrize(
    ("extra", "error", "match"),
    [
        ({"project_type": "casino"}, InputError, "unknown project_type"),
        ({"project_type": ""}, InputError, "type is required"),
        ({"level": "国家级"}, InputError, "project level"),
        ({"stage": "开工"}, InputError, "project stage"),
        ({"stage": "撤销"}, InputError, "cannot enter the library as 撤销"),
        ({"county": "999999"}, InputError, "unknown county"),
        ({"name": " "}, InputError, "project name"),
    ],
)
def test_bad_entries_are_refused(library: ProjectLibrary, extra: dict[str, object], error: type, match: str) -> None:
    with pytest.raises(error, match=match):
        add(library, **extra)
    assert library.projects() == []


@pytest.mark.parametrize("pid", ["city", "CITY", "370811", "external:province", "project:XM-1"])
def test_an_id_naming_a_ledger_holder_is_refused(library: ProjectLibrary, pid: str) -> None:
    """Projects 370811 and city reserved quota, and the balances listed holder 370811 twice, the county and the
    project, told apart by a column of kinds alone (a probe)."""
    with pytest.raises(InputError, match="is the name of a ledger holder") as refused:
        add(library, pid)
    assert "与指标台账的持有方同名" in refused.value.message_zh and library.projects() == []
    add(library, "XM:370811")  # an id holding a county's code, or a colon, names no holder


def test_an_id_enters_once(library: ProjectLibrary) -> None:
    add(library)
    with pytest.raises(ProjectError, match="already in the library") as refused:
        add(library, name="另一个")
    assert "已在项目库中" in refused.value.message_zh
    assert library.get("XM-1").name == "新材料产业园"


def test_concurrent_entries_of_one_id(library: ProjectLibrary) -> None:
    barrier = threading.Barrier(6)
    outcomes: list[str] = []

    def enter() -> None:
        barrier.wait()
        try:
            add(library)
            outcomes.append("ok")
        except ProjectError:
            outcomes.append("refused")

    threads = [threading.Thread(target=enter) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcomes) == ["ok"] + ["refused"] * 5
    assert len(library.history("XM-1")) == 1


def test_stages_move_one_step_forward_with_history(library: ProjectLibrary) -> None:
    add(library)
    for stage in ("储备", "审批", "建设", "竣工"):
        assert library.set_stage("XM-1", stage, actor="发改委", reason=f"进入{stage}").stage == stage
    history = library.history("XM-1")
    assert [(h.from_stage, h.to_stage) for h in history] == [
        (None, "谋划"),
        ("谋划", "储备"),
        ("储备", "审批"),
        ("审批", "建设"),
        ("建设", "竣工"),
    ]
    assert history[0].reason == "项目入库" and history[2].reason == "进入审批" and history[1].actor == "发改委"
    with pytest.raises(ProjectError, match="final stage"):
        library.set_stage("XM-1", "撤销", actor="a")


def test_skipping_reopening_and_unknown_stages_are_refused(library: ProjectLibrary) -> None:
    add(library)
    with pytest.raises(ProjectError, match="the next stage is 储备") as refused:
        library.set_stage("XM-1", "建设", actor="a")
    assert "下一阶段应为储备" in refused.value.message_zh
    with pytest.raises(ProjectError, match="next stage is 储备"):
        library.set_stage("XM-1", "谋划", actor="a")  # the same stage is no change
    with pytest.raises(InputError, match="project stage"):
        library.set_stage("XM-1", "开工", actor="a")
    library.set_stage("XM-1", "撤销", actor="a", reason="企业投资意愿变更")
    with pytest.raises(ProjectError, match="final stage"):
        library.set_stage("XM-1", "储备", actor="a")
    assert [h.to_stage for h in library.history("XM-1")] == ["谋划", "撤销"]
    with pytest.raises(NotFoundError):
        library.set_stage("nope", "储备", actor="a")


def test_reviews_link_once(library: ProjectLibrary) -> None:
    add(library)
    first = library.link_review("XM-1", "R1", "P1", actor="a")
    again = library.link_review("XM-1", "R1", "P1", actor="b")
    library.link_review("XM-1", "R1", "P2", actor="a")
    assert first == again and first.actor == "a"
    assert [(r.review_id, r.parcel_id) for r in library.reviews("XM-1")] == [("R1", "P1"), ("R1", "P2")]
    with pytest.raises(NotFoundError):
        library.link_review("nope", "R1", "P1", actor="a")


def test_the_longest_ids_the_api_takes_are_kept(library: ProjectLibrary, engine: Engine) -> None:
    """A project id of 64 characters holds ledger accounts (``project:`` and the id) and a parcel id of 100
    is linked: PostgreSQL refused both with a 500 while the columns were 64 characters wide."""
    pid, parcel = "项" * 64, "P" * 100
    add(library, pid, stage="储备")
    assert library.link_review(pid, "R1", parcel, actor="a").parcel_id == parcel
    ledger = Ledger(engine)
    ledger.issue(2026, [("370811", "energy", 1_000)], actor="a")
    ledger.reserve_factors(pid, 2026, {"energy": 300}, actor="a")
    held = [b for b in ledger.balances(2026) if b["holder"] == pid and b["factor"] == "energy"]
    assert [(b["bucket"], b["balance"]) for b in held] == [("reserved", 300)]


def test_a_project_holding_earmarked_point_supply_is_not_withdrawn(library: ProjectLibrary, engine: Engine) -> None:
    """点供 earmarked to a project waits in its own account: a 撤销 would leave it there for good (no revoke or
    lapse reaches it), so the project is withdrawn once the 点供 is reversed back to the province."""
    add(library, stage="储备")
    ledger = Ledger(engine)
    supplied = ledger.point_supply("370811", "land_new", 2026, 500, actor="省厅", project_id="XM-1")
    with pytest.raises(ProjectError, match="earmarked") as refused:
        library.set_stage("XM-1", "撤销", actor="a")
    assert "点供待用" in refused.value.message_zh and "冲正点供" in refused.value.message_zh
    assert library.get("XM-1").stage == "储备"
    ledger.reverse(supplied, actor="省厅", reason="项目不再实施，点供退回")
    assert library.set_stage("XM-1", "撤销", actor="a").stage == "撤销"


def test_overdue_are_past_start_and_not_under_construction(library: ProjectLibrary) -> None:
    add(library, "late", start_by=date(2026, 3, 1), stage="储备")
    add(library, "later", start_by=date(2026, 5, 1))
    add(library, "started", start_by=date(2026, 3, 1), stage="审批")
    library.set_stage("started", "建设", actor="a")
    add(library, "withdrawn", start_by=date(2026, 3, 1))
    library.set_stage("withdrawn", "撤销", actor="a")
    add(library, "no-date")
    rows = library.overdue(date(2026, 4, 1))
    assert [(r["id"], r["days_overdue"]) for r in rows] == [("late", 31)]
    assert [r["id"] for r in library.overdue(date(2026, 5, 2))] == ["late", "later"]
    assert library.overdue(date(2026, 3, 1)) == []  # the start date itself is not late


# --- the command line ---------------------------------------------------------------------------------------


def cli(tmp_path: Path, *args: str) -> tuple[int, str, str]:
    from geo.cli_context import CliContext

    result = CliRunner().invoke(app, list(args), obj=CliContext(database_url=f"sqlite:///{tmp_path / 'l.db'}"))
    return result.exit_code, result.stdout, result.stderr


def test_cli_add_stage_list_overdue(tmp_path: Path) -> None:
    from geo.db import make_engine, migrate

    engine = make_engine(f"sqlite:///{tmp_path / 'l.db'}")
    migrate(engine)
    Ledger(engine).register_counties([("370811", "任城区")])
    code, _, err = cli(
        tmp_path,
        *("projects", "add", "XM-1", "--name", "物流园", "--type", "logistics", "--level", "县重点"),
        *("--county", "370811", "--stage", "储备", "--start-by", "2026-03-01"),
    )
    assert code == 0, err
    code, _, err = cli(tmp_path, "projects", "stage", "XM-1", "审批", "--reason", "可研批复")
    assert code == 0 and "审批" in err
    code, out, _ = cli(tmp_path, "projects", "list", "--format", "json")
    rows = json.loads(out)
    assert [(r["id"], r["stage"], r["project_type"], r["county_name"]) for r in rows] == [
        ("XM-1", "审批", "logistics", "任城区")
    ]
    code, out, _ = cli(tmp_path, "projects", "list", "--format", "csv")
    assert out.splitlines() == [
        "项目编号,项目名称,项目类型,项目层级,所在区县,区县代码,阶段,计划开工日期",
        "XM-1,物流园,物流仓储,县重点,任城区,370811,审批,2026-03-01",
    ]
    code, out, _ = cli(tmp_path, "projects", "overdue", "--as-of", "2026-03-11", "--format", "json")
    assert [(r["id"], r["days_overdue"]) for r in json.loads(out)] == [("XM-1", 10)]
    code, out, _ = cli(tmp_path, "projects", "history", "XM-1", "--format", "csv")
    assert out.splitlines()[0] == "原阶段,新阶段,时间,经办人,原因" and out.splitlines()[2].startswith("储备,审批,")


def test_cli_names_a_project_full_width(tmp_path: Path) -> None:
    """`lantu projects stage ＸＭ-1` and `history ＸＭ-1` reach XM-1; `add ＸＭ－１` beside it exits 2, a duplicate."""
    from geo.db import make_engine, migrate

    engine = make_engine(f"sqlite:///{tmp_path / 'l.db'}")
    migrate(engine)
    Ledger(engine).register_counties([("370811", "任城区")])
    entry = ("--name", "物流园", "--type", "logistics", "--level", "县重点", "--county", "370811")
    assert cli(tmp_path, "projects", "add", "XM-1", *entry)[0] == 0
    code, _, err = cli(tmp_path, "projects", "stage", "ＸＭ-1", "储备", "--reason", "入储备库")
    assert code == 0 and "XM-1 → 储备" in err
    code, out, _ = cli(tmp_path, "projects", "history", "ＸＭ－１", "--format", "json")
    assert code == 0 and [r["to_stage"] for r in json.loads(out)] == ["谋划", "储备"]
    code, _, err = cli(tmp_path, "projects", "add", "ＸＭ－１", *entry)
    assert code == 2 and "项目 XM-1 已在项目库中" in err


def test_cli_listings_as_records_on_a_narrow_terminal(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """`lantu projects list` is 89 columns wide: on an 80-column terminal each project is a block of column: value
    lines (the table wrapped mid-cell), every value the CSV's; a pipe gets the table, unless --layout records."""
    from geo.db import make_engine, migrate

    engine = make_engine(f"sqlite:///{tmp_path / 'l.db'}")
    migrate(engine)
    Ledger(engine).register_counties([("370811", "任城区")])
    for pid, name in (("XM-1", "物流园"), ("XM-2", "新材料产业园二期")):
        code, _, err = cli(
            tmp_path,
            *("projects", "add", pid, "--name", name, "--type", "logistics", "--level", "县重点"),
            *("--county", "370811", "--start-by", "2026-03-01"),
        )
        assert code == 0, err
    _, piped, _ = cli(tmp_path, "projects", "list")
    _, sheet, _ = cli(tmp_path, "projects", "list", "-f", "csv")
    _, forced, _ = cli(tmp_path, "projects", "list", "--layout", "records")
    assert "┃ 项目编号" in piped and read_records(forced) == (["项目库"], list(csv.DictReader(io.StringIO(sheet))))
    monkeypatch.setattr(cli_context, "terminal_columns", lambda out: 80)
    _, narrow, _ = cli(tmp_path, "projects", "list")
    assert narrow == forced and "-[ 记录 2 / record 2 ]" in narrow
    assert "项目名称    : 新材料产业园二期\n" in narrow  # 项目名称 (8 columns) padded to 计划开工日期's 12
    assert cli(tmp_path, "projects", "list", "--layout", "table")[1] == piped
    _, overdue, _ = cli(tmp_path, "projects", "overdue", "--as-of", "2026-03-11")
    assert read_records(overdue)[1][0]["逾期天数"] == "10"
    monkeypatch.setattr(cli_context, "terminal_columns", lambda out: 200)
    assert cli(tmp_path, "projects", "list")[1] == piped


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("projects", "stage", "XM-9", "储备"), "项目库中没有项目"),
        (
            ("projects", "add", "X", "--name", "n", "--type", "casino", "--level", "一般", "--county", "1"),
            "未知项目类型",
        ),
        (("projects", "add", "X", "--name", "n", "--type", "mining", "--level", "一般", "--county", "1"), "未知区县"),
        (("projects", "overdue", "--as-of", "yesterday"), "日期格式"),
        (("projects", "overdue", "--as-of", ""), "日期格式"),  # was today
        (("projects", "overdue", "--as-of", "20260311"), "日期格式"),  # Python reads it; the API does not
        (("projects", "overdue", "--as-of", "2026-W11-3"), "日期格式"),
        (("projects", "list", "--format", "xml"), "未知格式"),
    ],
)
def test_cli_refusals_exit_2_with_reason(tmp_path: Path, args: tuple[str, ...], message: str) -> None:
    code, _, err = cli(tmp_path, *args)
    assert code == 2 and message in err


@pytest.mark.parametrize("pid", ["XM/1", "XM\x001", "XM\n1", "XM／1"])  # ／ is / once normalised
def test_an_id_no_route_could_name_again_is_refused(library: ProjectLibrary, pid: str) -> None:
    # "XM/1" entered the library, then no /projects/{id} route could reach it
    with pytest.raises(InputError, match=r"\('/' or an invisible or control character\)"):
        add(library, pid)
    assert library.projects() == []


@pytest.mark.parametrize("pid", [".", "..", " .. ", "．．"])
def test_a_dot_segment_id_is_refused(library: ProjectLibrary, pid: str) -> None:
    # /projects/.. is resolved to / by the client before it is sent: the project could never be reached
    with pytest.raises(InputError, match=r"cannot be named in a URL") as refused:
        add(library, pid)
    assert "路径层级" in refused.value.message_zh
    assert library.projects() == []
    add(library, "...")  # not a dot segment: "/projects/..." reaches its route
    assert [p.id for p in library.projects()] == ["..."]


@pytest.mark.parametrize("start_by", [date(1, 1, 1), date(9999, 12, 31)])
def test_a_planned_start_outside_the_plan_years_is_refused(library: ProjectLibrary, start_by: date) -> None:
    with pytest.raises(InputError, match=r"planned start date .* is outside the plan years 2000–2100") as refused:
        add(library, "XM-9", start_by=start_by)
    assert "计划开工日期" in refused.value.message_zh and library.projects() == []


def test_an_id_with_a_full_width_space_enters_as_a_space(library: ProjectLibrary) -> None:
    add(library, "XM\u30001")  # a Chinese input method's space is text, not a control character: NFKC's space
    assert [p.id for p in library.projects()] == ["XM 1"]
    assert library.get("XM\u30001").id == library.get("XM 1").id == "XM 1"


# --- one id however it is typed: full-width letters and digits (ＸＭ－１) are the ASCII XM-1 ---------------------


def test_a_full_width_id_reaches_the_project_entered_half_width(library: ProjectLibrary) -> None:
    """The planner enters XM-1, the project system names it ＸＭ-1 (a Chinese input method): one project, looked
    up, moved, its history read and a review linked under either spelling; the parcel id is kept as written."""
    add(library, stage="储备")
    assert library.get("ＸＭ-1").id == "XM-1" and library.get(" ＸＭ－１\u3000").id == "XM-1"
    assert library.set_stage("ＸＭ－１", "审批", actor="项目系统", reason="可研批复").id == "XM-1"
    assert library.get("XM-1").stage == "审批"
    assert [(c.project_id, c.to_stage) for c in library.history("ＸＭ-1")] == [("XM-1", "储备"), ("XM-1", "审批")]
    link = library.link_review("ＸＭ-1", "R1", "ＤＫ-1", actor="项目系统")
    assert (link.project_id, link.parcel_id) == ("XM-1", "ＤＫ-1")  # 地块编号 as the survey file has it
    assert library.link_review("XM-1", "R1", "ＤＫ-1", actor="规划") == link  # the same link, not a second
    assert [(r.project_id, r.parcel_id) for r in library.reviews("XM-1")] == [("XM-1", "ＤＫ-1")]
    assert [p.id for p in library.projects()] == ["XM-1"]


@pytest.mark.parametrize("twin", ["XM-1", "ＸＭ-1", "ＸＭ－１", "\u3000XM-1\u3000"])
def test_a_second_spelling_of_an_id_is_a_duplicate(library: ProjectLibrary, twin: str) -> None:
    add(library)
    with pytest.raises(ProjectError, match="project XM-1 is already in the library") as refused:
        add(library, twin, name="另一个")
    assert "项目 XM-1 已在项目库中" in refused.value.message_zh
    assert [(p.id, p.name) for p in library.projects()] == [("XM-1", "新材料产业园")]


def test_a_full_width_id_enters_in_its_normal_form(library: ProjectLibrary) -> None:
    add(library, "ＸＭ－２")
    assert [p.id for p in library.projects()] == ["XM-2"] and library.get("XM-2").id == "XM-2"


def _entered_before_normalising(engine: Engine, *ids: str) -> None:
    """Projects as the library kept them before ids were normalised: as typed (stripped)."""
    from geo.projects.tables import projects

    with engine.begin() as conn:
        for pid in ids:
            conn.execute(
                insert(projects).values(
                    id=pid,
                    name=f"项目{pid}",
                    project_type="industrial",
                    level="市重点",
                    county="370811",
                    stage="储备",
                    created=datetime.now(UTC),
                    actor="t",
                )
            )


def test_an_id_entered_before_normalising_is_still_found(library: ProjectLibrary, engine: Engine) -> None:
    """No migration rewrites ids (the journal, idempotency keys and stored reviews name them): a full-width id
    already stored is found as spelt and under its normal form, and its half-width twin cannot enter beside it."""
    _entered_before_normalising(engine, "ＸＭ-2")
    assert library.get("ＸＭ-2").id == library.get("XM-2").id == library.get("ＸＭ－２").id == "ＸＭ-2"
    with pytest.raises(ProjectError, match="project ＸＭ-2 is already in the library"):
        add(library, "XM-2")
    assert library.set_stage("XM-2", "审批", actor="a").stage == "审批"
    assert [c.project_id for c in library.history("XM-2")] == ["ＸＭ-2"]


def test_ids_entered_before_normalising_that_collide_are_named_as_stored(
    library: ProjectLibrary, engine: Engine
) -> None:
    """Two stored spellings of one id: each is reached as it is spelt (no silent merge of two projects); by a
    third spelling neither is guessed, the refusal names both."""
    _entered_before_normalising(engine, "ＸＭ-3", "XＭ-3", "ＸＭ-4", "XM-4")
    assert library.get("ＸＭ-3").id == "ＸＭ-3" and library.get("XＭ-3").id == "XＭ-3"
    with pytest.raises(ProjectError, match=r"names 2 projects entered before ids were normalised \(XＭ-3, ＸＭ-3\)"):
        library.get("XM-3")
    with pytest.raises(ProjectError, match="names 2 projects"):
        add(library, "XM-3")
    assert library.get("ＸＭ-4").id == "ＸＭ-4" and library.get("XM-4").id == "XM-4"


def test_control_characters_in_a_name_or_a_reason_are_refused(library: ProjectLibrary) -> None:
    """They end up in the 台账, Word and Excel (re-probe of 12-05: an escape sequence came back in the list)."""
    with pytest.raises(InputError, match=r"project name .*control character U\+0007"):
        add(library, name="名\x07\x1b[31mend")
    add(library)
    with pytest.raises(InputError, match="reason holds control character"):
        library.set_stage("XM-1", "储备", actor="a", reason="进入\x00储备")
    assert library.get("XM-1").stage == "谋划"


@pytest.mark.parametrize(("reason", "said"), [("   ", "阶段变更须写明事由"), ("由" * 501, "超过 500 个")])
def test_a_stage_change_states_its_reason_in_at_most_500_characters(
    library: ProjectLibrary, reason: str, said: str
) -> None:
    """The history is the project's record: a blank reason and one of 5,000 characters came through the CLI."""
    add(library)
    with pytest.raises(InputError) as refused:
        library.set_stage("XM-1", "储备", actor="a", reason=reason)
    assert said in refused.value.message_zh
    assert [c.to_stage for c in library.history("XM-1")] == ["谋划"]


@pytest.mark.parametrize(
    ("actor", "match"),
    [
        ("", "1 to 100 characters, not all blank"),
        ("   ", "1 to 100 characters, not all blank"),
        ("x" * 101, "1 to 100 characters"),
        (" 发改委", "must not begin or end with a space"),
        ("发改委\x1b[2J", "one line of text; it holds a control character U\\+001B"),
        ("发改委\n2026-01-01 局长", "one line of text; it holds a line feed U\\+000A"),
    ],
)
def test_the_library_checks_the_actor_itself(library: ProjectLibrary, actor: str, match: str) -> None:
    """The command line and the API checked the 经办人; the library not, so a caller of its own recorded a blank
    or control-character actor in a project's history (probe): entry, stage change and review link refuse it."""
    with pytest.raises(InputError, match=match) as raised:
        add(library, actor=actor)
    assert "经办人" in raised.value.message_zh and library.projects() == []
    add(library)
    with pytest.raises(InputError, match=match):
        library.set_stage("XM-1", "储备", actor=actor)
    with pytest.raises(InputError, match=match):
        library.link_review("XM-1", "R1", "P1", actor=actor)
    assert [c.actor for c in library.history("XM-1")] == ["发改委"] and library.reviews("XM-1") == []
