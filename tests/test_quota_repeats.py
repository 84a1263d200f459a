"""Repeats on SQLite and PostgreSQL: a reservation asked again says it exists and changes nothing; the same plan
posted twice at once is booked once, the other refused as the repeated plan it is."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from support import at_once
from test_quota import balance, journal_size, review
from test_quota import ledger as ledger  # the fixture: two counties, the library's projects
from test_quota_cli import _enter, _issue, _review
from test_quota_cli import run as run  # the fixture: `lantu` on a SQLite ledger

from geo.errors import QuotaError
from geo.quota import Demand, allocate
from geo.quota.ledger import CITY, Ledger

# --- a repeated reservation: 已存在, not 已配置 ---------------------------------------------------------------


def test_a_repeated_reservation_says_it_exists_and_changes_nothing(ledger: Ledger) -> None:
    """The same review, parcel and project reserved again answers with the first transaction, said to exist
    (``existed``), and moves nothing: balances and journal as they were."""
    ledger.issue(2026, [("370811", "land_new", 10_000)], actor="省厅")  # the county keeps 7 000
    first = ledger.reserve_parcel(review(1_500), year=2026, project_id="XM-1", actor="a")
    assert (first.existed, balance(ledger, "370811"), balance(ledger, "XM-1", bucket="reserved")) == (
        False,
        5_500,
        1_500,
    )
    size = journal_size(ledger)
    again = ledger.reserve_parcel(review(1_500), year=2026, project_id="XM-1", actor="b")
    assert (again.transaction, again.existed) == (first.transaction, True)
    assert ledger.reserve(review(1_500), year=2026, project_id="XM-1", actor="c") == first.transaction
    assert (balance(ledger, "370811"), balance(ledger, "XM-1", bucket="reserved"), journal_size(ledger)) == (
        5_500,
        1_500,
        size,
    )


def test_a_demand_reserved_before_is_allocated_as_existing(ledger: Ledger) -> None:
    """按优先级配置 run twice: the second run's table says 已存在 with the first transaction, not 'covered' as if
    reserved anew, and the county keeps what the first run left it."""
    ledger.issue(2026, [("370811", "land_new", 10_000)], actor="省厅")
    demands = [
        Demand(project_id="XM-1", review=review(2_000, rid="A")),
        Demand(project_id="XM-2", review=review(3_000, rid="B")),
    ]
    first = {a.project_id: a for a in allocate(ledger, demands, year=2026, actor="a")}
    assert {p: (a.covered, a.reason) for p, a in first.items()} == {  # said in both languages (officer)
        p: (True, f"已配置（第 {a.transaction} 号交易） / reserved (transaction #{a.transaction})")
        for p, a in first.items()
    }
    assert set(first) == {"XM-1", "XM-2"}
    size = journal_size(ledger)
    second = {a.project_id: a for a in allocate(ledger, demands, year=2026, actor="a")}
    for project, done in second.items():
        tx = first[project].transaction
        assert (done.covered, done.transaction) == (True, tx)
        assert (
            done.reason
            == f"已存在（第 {tx} 号交易），台账未变 / already reserved (transaction #{tx}), ledger unchanged"
        )
    assert (journal_size(ledger), balance(ledger, "370811")) == (size, 2_000)


def _paddy_in_the_library(run, tmp_path: Path, blueprint_dir: Path) -> Path:  # type: ignore[no-untyped-def]
    """A ledger issued the year's land quota, project PADDY at 储备, and the review of its parcel on paddy land."""
    _issue(
        run,
        tmp_path,
        blueprint_dir,
        "370811,land_new,100000\n370811,land_compensation,60000\n"
        "370811,land_compensation_paddy,50000\n370811,land_compensation_grain,100000\n",
    )
    _enter(run, "PADDY")
    return _review(run, tmp_path, blueprint_dir, "PADDY", (2.2, 0.2, 2.4, 0.4))


def test_reserve_again_on_the_command_line_says_already_reserved(run, tmp_path: Path, blueprint_dir: Path) -> None:  # type: ignore[no-untyped-def]
    """`lantu quota reserve` of the same review and project twice: the second says 已存在 / already reserved with the
    first transaction's number (it said 已配置 / reserved, as if it had reserved anew); allocate's JSON and table say
    so too; balances and the journal are unchanged."""
    paddy = _paddy_in_the_library(run, tmp_path, blueprint_dir)
    first = run("quota", "reserve", paddy, "--year", "2026").stderr
    assert first.startswith("已配置 / reserved：交易 / transaction #")
    tx = first.strip().rsplit("#", 1)[1]
    balances = run("quota", "balances", "--year", "2026", "-f", "json").stdout
    journal = run("quota", "journal", "-f", "json").stdout
    again = run("quota", "reserve", paddy, "--year", "2026").stderr
    assert " ".join(again.split()) == (  # as one line: the console wraps it at its width
        f"已存在 / already reserved：交易 / transaction #{tx}（该地块此前已为该项目配置，台账未变 / reserved for the "
        "project before, the ledger unchanged）"
    )
    demands = tmp_path / "demands.yaml"
    demands.write_text(f"- project_id: PADDY\n  review: {paddy.name}\n", encoding="utf-8")
    (row,) = json.loads(run("quota", "allocate", demands, "--year", "2026", "-f", "json").stdout)
    assert (row["covered"], row["transaction"]) == (True, int(tx)) and row["reason"].startswith(
        f"已存在（第 {tx} 号交易）"
    )
    table = run("quota", "allocate", demands, "--year", "2026", "--layout", "records").stdout
    assert f"已存在（第 {tx} 号交易）" in table and "是" in table
    assert run("quota", "balances", "--year", "2026", "-f", "json").stdout == balances
    assert run("quota", "journal", "-f", "json").stdout == journal


# --- the same plan posted twice at once ---------------------------------------------------------------------------

PLAN = [("370811", "land_new", 100_000), ("370812", "land_new", 50_000), ("370811", "cod", 10)]


@pytest.mark.parametrize("posts", [2, 8])
def test_the_same_plan_posted_at_once_is_booked_once(ledger: Ledger, posts: int) -> None:
    """The province's plan posted by ``posts`` clerks at the same moment (the file booked twice): the repeated-plan
    check and the booking are one step, so exactly one is booked and every other is refused as repeating it — on
    PostgreSQL both used to pass the check before either had committed, and the year's plan doubled."""
    outcomes = at_once(
        *[lambda n=n: ledger.issue(2026, PLAN, actor=f"clerk{n}") for n in range(posts)], refused=QuotaError
    )
    booked = [o for o in outcomes if not isinstance(o, QuotaError)]
    refused = [o for o in outcomes if isinstance(o, QuotaError)]
    assert len(booked) == 1 and len(refused) == posts - 1
    (tx,) = booked
    for exc in refused:
        assert f"this plan repeats issue #{tx} of 2026" in str(exc) and "--again" in str(exc)
        assert f"该计划与 2026 年第 {tx} 号下达交易" in exc.message_zh and "逐行相同（共 3 行）" in exc.message_zh
    assert (balance(ledger, "370811"), balance(ledger, "370812"), balance(ledger, CITY)) == (70_000, 35_000, 45_000)
    assert balance(ledger, "370811", "cod") == 7
    assert {j["transaction"] for j in ledger.journal() if j["kind"] == "issue"} == {tx}


@pytest.mark.parametrize("year", range(2026, 2034))  # eight rounds: the window is narrow
def test_a_plan_put_back_and_the_same_plan_posted_at_once_count_once(ledger: Ledger, year: int) -> None:
    """A plan booked and reversed; then, at the same moment, one clerk undoes the reversal (the plan back in force)
    and five post the plan again: whichever is first stands and every other is refused, so the plan counts once."""
    first = ledger.issue(year, PLAN, actor="省厅")
    undo = ledger.reverse(first, actor="a", reason="误录")
    outcomes = at_once(
        lambda: ledger.reverse(undo, actor="b", reason="撤销误冲销"),
        *[lambda: ledger.issue(year, PLAN, actor="c")] * 5,
        refused=QuotaError,
    )
    done = ["put back" if k == 0 else "posted" for k, o in enumerate(outcomes) if not isinstance(o, QuotaError)]
    refused = [str(o) for o in outcomes if isinstance(o, QuotaError)]
    assert len(done) == 1 and len(refused) == 5
    if done == ["posted"]:  # the put-back came later: refused beside the plan booked since
        assert sum(f"would put issue #{first} back in force" in r for r in refused) == 1
    assert all("this plan repeats issue" in r or f"would put issue #{first} back" in r for r in refused)
    counties = [balance(ledger, holder, year=year) for holder in ("370811", "370812", CITY)]
    assert counties == [70_000, 35_000, 45_000]


def test_a_confirmation_records_its_approval_document(run, tmp_path: Path, blueprint_dir: Path) -> None:  # type: ignore[no-untyped-def]
    """批准 with the land's 批准文号: written into the journal's reason, where an audit reads what approved the land;
    a number over two lines or of no character is refused and nothing is confirmed."""
    paddy = _paddy_in_the_library(run, tmp_path, blueprint_dir)
    run("quota", "reserve", paddy, "--year", "2026")
    run("quota", "confirm", "PADDY", "--document", "鲁政土字〔2026〕\n12号", code=2)
    run("quota", "confirm", "PADDY", "--document", "  ", code=2)
    assert {j["kind"] for j in json.loads(run("quota", "journal", "-f", "json").stdout)} == {"issue", "reserve"}
    run("quota", "confirm", "PADDY", "--document", "鲁政土字〔2026〕12号")
    reasons = {j["reason"] for j in json.loads(run("quota", "journal", "-f", "json").stdout) if j["kind"] == "confirm"}
    assert reasons == {"项目用地批准（批准文号：鲁政土字〔2026〕12号）"}  # each of its postings
