"""Property-based test of the ledger's invariants over random movement sequences (hypothesis).

After every step: (1) per factor, the internal balances sum to what was issued plus
point supply plus 增存挂钩 rewards; (2) no internal balance is below zero except a county's
next-year account that an advance drew on; (3) every account's balance equals the
sum of its postings and every transaction sums to zero; (4) what each project holds is
exactly what its payers (its county, the city pool, an earmarked 点供) paid, so a revoke or
a lapse restores every source (a revoke what is reserved, leaving what is approved untouched).
Projects come from the library with random levels and stages; a reservation that succeeds had a
project from 储备 to 建设 in the parcel's county, and a 重点 project when the city pool paid. A
refused movement changes nothing. 增存挂钩: random disposals of a registered 批而未供/闲置 stock never
exceed an entry's area, and random settlements reward each disposal once while that reward stands,
at its kind's ratio (5); below a 60 % 五年供地率 a county's own new quota goes to no project but the
exempt (国家重大) ones.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from datetime import date
from decimal import Decimal
from functools import cache
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule
from sqlalchemy import select
from support import PG_URL, fresh_postgres, rect_blueprint
from test_quota import assert_postings_add_up, review

from geo.blueprint import Blueprint, load_blueprint
from geo.db import make_engine, migrate
from geo.errors import LantuError
from geo.projects import FUNDABLE, KEY_LEVELS, LEVELS, STAGES, ProjectLibrary
from geo.quota.ledger import CITY, POINT_SUPPLY, Ledger, amount
from geo.quota.standing import undone
from geo.quota.tables import stock_disposals, stock_land, stock_settled, stock_settlements

COUNTIES = ["370811", "370812", "370883"]
FACTORS = ["land_new", "land_compensation", "land_compensation_grain", "energy", "cod"]
YEAR = 2026
amounts = st.decimals(min_value=1, max_value=50_000, places=2)
RATIOS = {"approved_unsupplied": Decimal("0.5"), "idle_land": Decimal(1)}  # layers/profiles/ledger.yaml


@cache
def stock_blueprint() -> Blueprint:
    """Per county a 批而未供 (200 000 m², 2023) and a 闲置 (100 000 m², 2024) rectangle, for the register."""
    root = tempfile.mkdtemp(prefix="stock-bp-")
    counties = [((3 * i, 0, 3 * i + 3, 5), {"code": c, "name": c}) for i, c in enumerate(COUNTIES)]
    unsupplied = [((3 * i, 0, 3 * i + 0.4, 0.5), {"feature_id": f"A{i}", "approval_year": 2023}) for i in range(3)]
    idle = [((3 * i + 1, 1, 3 * i + 1.2, 1.5), {"feature_id": f"I{i}", "approval_year": 2024}) for i in range(3)]
    layers = {"county": counties, "approved_unsupplied": unsupplied, "idle_land": idle}
    return load_blueprint(rect_blueprint(Path(root) / "bp", layers, slope=None))


class LedgerMachine(RuleBasedStateMachine):
    backend = "sqlite"

    def __init__(self) -> None:
        super().__init__()
        if self.backend == "sqlite":
            self.tmp = tempfile.TemporaryDirectory()
            self.engine = make_engine(f"sqlite:///{self.tmp.name}/ledger.db")
        else:
            self.engine = fresh_postgres()
        migrate(self.engine)
        self.ledger = Ledger(self.engine, pooling_share=0.3)
        self.ledger.register_counties([(c, c) for c in COUNTIES])
        self.ledger.import_stock(stock_blueprint(), actor="自然资源局")
        self.expected: dict[str, Decimal] = {}
        self.advanced: set[tuple[str, str, int]] = set()
        self.projects: list[str] = []
        self.library = ProjectLibrary(self.engine)
        self.gate_violations: list[str] = []
        self.transactions: list[int] = []
        self.loans: list[int] = []
        self.reduction_advances: dict[int, Decimal] = {}
        self.project_moves: list[int] = []  # confirmations, revocations, lapses and their reversals: undone at random

    def teardown(self) -> None:
        self.engine.dispose()
        if self.backend == "sqlite":
            self.tmp.cleanup()

    def _add(self, factor: str, value: Decimal) -> None:
        self.expected[factor] = self.expected.get(factor, Decimal(0)) + amount(value)

    def _try(self, action, on_success=None) -> None:  # type: ignore[no-untyped-def]
        try:
            tx = action()
        except LantuError:
            return
        self.transactions.append(tx)
        if on_success:
            on_success(tx)

    @initialize(
        funded=st.sampled_from([True, True, True, False]),
        levels=st.lists(st.sampled_from(LEVELS), min_size=4, max_size=4),
    )
    def opening_plan(self, funded: bool, levels: list[str]) -> None:
        """P0–P3 in the library at 储备 (one county each, random levels; P4, P5 come by rule); half the runs
        start with quota everywhere (the city's included), so reservations and revocations happen."""
        for n, level in enumerate(levels):
            self.library.add(
                f"P{n}",
                name="n",
                project_type="industrial",
                level=level,
                county=COUNTIES[n % 3],
                actor="e",
                stage="储备",
            )
        if not funded:
            return
        plan = [(c, f, Decimal(100_000)) for c in COUNTIES for f in FACTORS]
        self._try(lambda: self.ledger.issue(YEAR, plan, actor="p"), lambda _tx: [self._add(f, v) for _, f, v in plan])
        for factor in FACTORS:
            self.point_supply(CITY, factor, Decimal(50_000))

    @rule(county=st.sampled_from(COUNTIES), factor=st.sampled_from(FACTORS), value=amounts)
    def issue(self, county: str, factor: str, value: Decimal) -> None:
        self._try(
            lambda: self.ledger.issue(YEAR, [(county, factor, value)], actor="p"), lambda _tx: self._add(factor, value)
        )

    @rule(
        project=st.integers(0, 5),
        county=st.sampled_from(COUNTIES),
        level=st.sampled_from(LEVELS),
        stage=st.sampled_from(STAGES[:4]),
    )
    def enter_project(self, project: int, county: str, level: str, stage: str) -> None:
        with contextlib.suppress(LantuError):
            self.library.add(
                f"P{project}", name="n", project_type="industrial", level=level, county=county, actor="e", stage=stage
            )

    @rule(project=st.integers(0, 5), stage=st.sampled_from(STAGES))
    def change_stage(self, project: int, stage: str) -> None:
        with contextlib.suppress(LantuError):
            self.library.set_stage(f"P{project}", stage, actor="s")

    @rule(
        county=st.sampled_from(COUNTIES),
        new=amounts,
        cultivated=st.one_of(st.just(Decimal(0)), st.decimals(0, 10_000, places=2)),
        verdict=st.sampled_from(["pass", "conditional", "reject", "out_of_coverage"]),
        n=st.integers(0, 5),
        source=st.sampled_from([None, CITY, "external:province", *COUNTIES]),
        project=st.integers(0, 5),
    )
    def reserve(
        self, county: str, new: Decimal, cultivated: Decimal, verdict: str, n: int, source: str | None, project: int
    ) -> None:
        """Random reviews, projects and payers: a reviewed parcel may be claimed by several projects (refused)."""
        r = review(float(new), cultivated=float(cultivated), verdict=verdict, county=county, rid=f"R{n}{county}")
        pid = f"P{project}"
        before = next((p for p in self.library.projects() if p.id == pid), None)
        penalised = self._penalised(county)

        def gate(tx: int) -> None:
            if self.transactions.count(tx) > 1:
                return  # the same parcel reserved again: the first reservation, returned as it was (idempotent)
            self.projects.append(pid)
            if before is None or before.stage not in FUNDABLE or before.county != county:
                self.gate_violations.append(f"{pid} funded outside the library's rules: {before}")
            if source == CITY and before is not None and before.level not in KEY_LEVELS:
                self.gate_violations.append(f"{pid} ({before.level}) paid by the city pool")
            if source not in (None, CITY, county):
                self.gate_violations.append(f"{pid} paid by {source}")
            if penalised and self._took_county_new(tx, county) and before is not None and before.level != "国家重大":
                self.gate_violations.append(f"{pid} ({before.level}) got {county}'s new quota below 60 % 供地率")

        self._try(lambda: self.ledger.reserve(r, year=YEAR, project_id=pid, source=source, actor="s"), gate)

    def _took_county_new(self, tx: int, county: str) -> bool:
        """Whether reservation ``tx`` took the county's own 新增 (what the penalty bars), not its project's earmarked
        点供's or the pool's."""
        return any(
            j["transaction"] == tx and j["holder"] == county and j["factor"] == "land_new" and j["amount"] < 0
            for j in self.ledger.journal()
        )

    def _penalised(self, county: str) -> bool:
        """The county's latest 增存挂钩 settlement found its 五年供地率 below the threshold."""
        with self.engine.connect() as conn:
            latest = conn.execute(
                select(stock_settlements.c.penalty)
                .where(stock_settlements.c.county == county, stock_settlements.c.year <= YEAR)
                .order_by(stock_settlements.c.year.desc(), stock_settlements.c.id.desc())
                .limit(1)
            ).scalar()
        return bool(latest)

    @rule(
        project=st.integers(0, 3),
        new=amounts,
        cultivated=st.one_of(st.just(Decimal(0)), st.decimals(0, 10_000, places=2)),
        n=st.integers(0, 5),
        source=st.sampled_from([None, CITY]),
    )
    def reserve_in_its_county(
        self, project: int, new: Decimal, cultivated: Decimal, n: int, source: str | None
    ) -> None:
        """The usual path: a conditional parcel in the library project's own county."""
        self.reserve(COUNTIES[project % 3], new, cultivated, "conditional", n, source, project)

    @rule(project=st.integers(0, 5), factor=st.sampled_from(FACTORS), value=amounts)
    def earmark(self, project: int, factor: str, value: Decimal) -> None:
        """点供 earmarked to a project of the library (in its county): it pays that project's reservations first."""
        found = next((p for p in self.library.projects() if p.id == f"P{project}"), None)
        if found is None:
            return
        self._try(
            lambda: self.ledger.point_supply(found.county, factor, YEAR, value, actor="p", project_id=found.id),
            lambda _tx: self._add(factor, value),
        )

    @rule(data=st.data())
    def confirm_or_revoke(self, data: st.DataObject) -> None:
        if not self.projects:
            return
        project = data.draw(st.sampled_from(self.projects))
        action = data.draw(st.sampled_from(["confirm", "revoke", "lapse"]))
        if action == "confirm":
            self._try(lambda: self.ledger.confirm(project, actor="c"), self.project_moves.append)
        elif action == "revoke":  # what is reserved goes back, what is approved stays
            approved = self._held(project, "approved")

            def kept_approved(tx: int) -> None:
                self.project_moves.append(tx)
                if self._held(project, "reserved") or self._held(project, "approved") != approved:
                    self.gate_violations.append(f"{project}'s revoke left reserved or took approved quota")

            self._try(lambda: self.ledger.revoke(project, actor="c"), kept_approved)
        else:
            self._try(lambda: self.ledger.lapse(project, actor="c", reason="不再实施"), self.project_moves.append)

    @rule(data=st.data())
    def undo_a_project_move(self, data: st.DataObject) -> None:
        """冲销 of a confirmation, a revocation, a lapse or such a reversal: each payer's parts come back as they
        were, so what later movements give back is still exactly what each paid (``projects_owe_…``)."""
        if not self.project_moves:
            return
        tx = data.draw(st.sampled_from(self.project_moves))
        self._try(lambda: self.ledger.reverse(tx, actor="r", reason="冲销"), self.project_moves.append)

    def _held(self, project: str, bucket: str) -> dict[tuple[str, int], float]:
        """The project's non-zero balances in ``bucket``, per factor and year."""
        return {
            (r["factor"], r["year"]): r["balance"]
            for r in self.ledger.balances()
            if r["holder"] == project and r["bucket"] == bucket and r["balance"]
        }

    @rule(county=st.sampled_from(COUNTIES), factor=st.sampled_from(FACTORS), value=amounts)
    def advance(self, county: str, factor: str, value: Decimal) -> None:
        self._try(
            lambda: self.ledger.advance(county, factor, YEAR, value, actor="a"),
            lambda _tx: self.advanced.add((county, factor, YEAR + 1)),
        )

    @rule(holder=st.sampled_from([*COUNTIES, CITY]), factor=st.sampled_from(FACTORS), value=amounts)
    def point_supply(self, holder: str, factor: str, value: Decimal) -> None:
        self._try(
            lambda: self.ledger.point_supply(holder, factor, YEAR, value, actor="p"),
            lambda _tx: self._add(factor, value),
        )

    @rule(
        land=st.integers(1, 6),
        kind=st.sampled_from(["供地", "收回", "盘活"]),
        value=st.decimals(min_value=1, max_value=150_000, places=2),
        month=st.integers(1, 12),
    )
    def dispose(self, land: int, kind: str, value: Decimal, month: int) -> None:
        """A disposal of a register entry (some beyond what remains, or 供地 of 闲置 land: refused)."""
        with contextlib.suppress(LantuError):
            self.ledger.dispose(land, kind, value, date(YEAR, month, 1), actor="d")

    @rule(county=st.sampled_from(COUNTIES))
    def settle_stock(self, county: str) -> None:
        """增存挂钩核算: the reward of the year's unsettled disposals enters the county (30 % pooled)."""
        done = self.ledger.stock_settle(county, YEAR, actor="r")
        if done["transaction"] is not None:
            self.transactions.append(done["transaction"])
            self._add("land_new", Decimal(str(done["reward_m2"])))

    @rule(county=st.sampled_from(COUNTIES), value=amounts, advance=st.booleans(), project=st.integers(0, 5))
    def pollutant_reduction(self, county: str, value: Decimal, advance: bool, project: int) -> None:
        """削减量 entering (30 % pooled) or advanced against a named reduction for a project (refused unless it is a
        重点 project of the county, from 储备 to 建设)."""
        if advance:
            self._try(
                lambda: self.ledger.advance_reduction(
                    county,
                    "cod",
                    YEAR,
                    value,
                    project_id=f"P{project}",
                    source="治理项目",
                    deadline=date(YEAR, 9, 30),
                    actor="e",
                ),
                lambda tx: (self._add("cod", value), self.reduction_advances.update({tx: amount(value)})),
            )
        else:
            self._try(
                lambda: self.ledger.reduction(county, "cod", YEAR, value, source="关停", actor="e"),
                lambda _tx: self._add("cod", value),
            )

    @rule(data=st.data(), extra=amounts)
    def settle_reduction(self, data: st.DataObject, extra: Decimal) -> None:
        if not self.reduction_advances:
            return
        tx = data.draw(st.sampled_from(sorted(self.reduction_advances)))
        # earmarked to its project: settled by a reduction of the project's county
        project = next(j["project_id"] for j in self.ledger.journal() if j["transaction"] == tx)
        county = ProjectLibrary(self.ledger.engine).get(project).county
        realised = self.reduction_advances[tx] + extra
        self._try(
            lambda: self.ledger.reduction(county, "cod", YEAR, realised, source="到位", settles=tx, actor="e"),
            lambda _tx: self._add("cod", extra),
        )

    @rule(
        payer=st.sampled_from([*COUNTIES, CITY]),
        payee=st.sampled_from([*COUNTIES, CITY]),
        factor=st.sampled_from(FACTORS),
        value=amounts,
        loan=st.booleans(),
    )
    def transfer(self, payer: str, payee: str, factor: str, value: Decimal, loan: bool) -> None:
        due, price = (date(2100, 6, 30), None) if loan else (None, 10.0)  # a loan is due today or later
        self._try(
            lambda: self.ledger.transfer(payer, payee, factor, YEAR, value, due_date=due, price_wan=price, actor="t"),
            lambda tx: self.loans.append(tx) if loan else None,
        )

    @rule(data=st.data())
    def repay_or_reverse(self, data: st.DataObject) -> None:
        if self.loans and data.draw(st.booleans()):
            self._try(lambda: self.ledger.repay(data.draw(st.sampled_from(self.loans)), actor="t"))
        elif self.transactions:
            tx = data.draw(st.sampled_from(self.transactions))
            kinds = {
                j["transaction"]: (j["kind"], j["factor"], j["holder"], j["amount"]) for j in self.ledger.journal()
            }

            def undo_source() -> None:
                # a reversed issue, point supply or reward takes its quota back out of the system
                for j in self.ledger.journal():
                    if j["transaction"] == tx and j["holder"].startswith("external:"):
                        self._add(j["factor"], Decimal(str(j["amount"])))

            if tx in kinds:
                self._try(lambda: self.ledger.reverse(tx, actor="x", reason="test"), lambda _r: undo_source())

    @invariant()
    def stock_disposed_within_the_register_and_rewarded_once(self) -> None:
        """No entry disposed beyond its area; each settlement's reward in force is its disposals × their kind's
        ratio (a reversed reward's disposals are settled anew by a later settlement)."""
        assert all(r["remaining_m2"] >= 0 for r in self.ledger.stock_land())
        with self.engine.connect() as conn:
            gone = undone(conn)
            settled = conn.execute(
                select(stock_settled.c.settlement_id, stock_land.c.kind, stock_disposals.c.area_m2)
                .join(stock_disposals, stock_disposals.c.id == stock_settled.c.disposal_id)
                .join(stock_land, stock_land.c.id == stock_disposals.c.land_id)
            ).all()
            rewards = {
                r.id: r.reward_m2
                for r in conn.execute(
                    select(stock_settlements.c.id, stock_settlements.c.reward_m2, stock_settlements.c.transaction_id)
                )
                if r.transaction_id not in gone
            }
        earned: dict[int, Decimal] = {}
        for settlement, kind, m2 in settled:
            earned[settlement] = earned.get(settlement, Decimal(0)) + amount(m2 * RATIOS[kind])
        assert {k: v for k, v in rewards.items() if v} == {k: v for k, v in earned.items() if k in rewards}

    @invariant()
    def totals_match_what_entered(self) -> None:
        totals = self.ledger.totals()
        for factor in set(totals) | set(self.expected):
            assert totals.get(factor, Decimal(0)) == self.expected.get(factor, Decimal(0)), factor

    @invariant()
    def no_negative_balance_without_advance(self) -> None:
        for row in self.ledger.balances():
            if row["balance"] < 0:
                assert (row["holder"], row["factor"], row["year"]) in self.advanced, row

    @invariant()
    def reservations_kept_the_library_rules(self) -> None:
        assert self.gate_violations == []

    @invariant()
    def postings_add_up(self) -> None:
        assert_postings_add_up(self.engine)

    @invariant()
    def projects_owe_exactly_what_their_payers_paid(self) -> None:
        """Per project and factor: each payer (its county or the city) is owed ≥ 0, and together what it holds."""
        county = {p["id"]: p["county"] for p in self.ledger.projects()}
        owed: dict[tuple[str, str, str], Decimal] = {}
        reviews: dict[str, set[str]] = {}
        for j in self.ledger.journal():
            if j["kind"] == "reserve":
                reviews.setdefault(j["review_id"], set()).add(j["project_id"])
            if j["project_id"] and not j["holder"].startswith("project:"):
                home = county.get(j["project_id"]) or self.library.get(j["project_id"]).county
                assert j["holder"] in (home, CITY, POINT_SUPPLY), j
                key = (j["project_id"], j["factor"], j["holder"])
                owed[key] = owed.get(key, Decimal(0)) - Decimal(str(j["amount"]))
        assert all(len(projects) == 1 for projects in reviews.values()), reviews  # one parcel, one project
        held: dict[tuple[str, str], Decimal] = {}
        for row in self.ledger.balances():
            if row["holder_kind"] == "project":
                key2 = (row["holder"], row["factor"])
                held[key2] = held.get(key2, Decimal(0)) + Decimal(str(row["balance"]))
        for (project, factor, _payer), value in owed.items():
            assert value >= 0, (project, factor, _payer, value)
        for project, factor in {(p, f) for p, f, _ in owed} | set(held):
            paid = sum((v for (p, f, _), v in owed.items() if (p, f) == (project, factor)), Decimal(0))
            assert paid == held.get((project, factor), Decimal(0)), (project, factor)


LedgerMachine.TestCase.settings = settings(
    max_examples=int(os.environ.get("LANTU_LEDGER_EXAMPLES", "25")),
    stateful_step_count=15,
    deadline=None,
    suppress_health_check=list(HealthCheck),
)
test_ledger_invariants_sqlite = LedgerMachine.TestCase


class PostgresLedgerMachine(LedgerMachine):
    backend = "postgresql"


PostgresLedgerMachine.TestCase.settings = settings(
    max_examples=8, stateful_step_count=12, deadline=None, suppress_health_check=list(HealthCheck)
)


@pytest.mark.skipif(not PG_URL and os.environ.get("CI") != "true", reason="no PostgreSQL")
class TestLedgerInvariantsPostgres(PostgresLedgerMachine.TestCase):  # type: ignore[misc,valid-type]
    pass
