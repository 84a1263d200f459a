"""The 台账 report: per county (and the city pool) and factor, what entered, moved and remains in a year.

Every column is the net sum of one kind of movement on the holder's ``available`` account
of that year (a county's projects' earmarked 点供 counted as the county's, what they have not used set apart),
so the columns add up to the balance (a reader can check the sheet by hand); what the county's projects hold
(reserved, approved) is shown beside it.

How every ledger listing (this report, the balances, the stock register, its disposals and rates) writes an
area lives here too, so all of them read alike. JSON and a CSV carry plain numbers: the ledger's and the
register's m² as recorded (four decimals: what the journal sums to and what a movement or a disposal is checked
against), with 公顷 to 4 decimals and 亩 to 2 beside (:func:`in_mu_ha`, :func:`area_figures`); a terminal table
writes each area as :class:`geo.crs.Area` does (:class:`TextTable`). Tonnes, tce and kg keep their own unit,
never 公顷 or 亩.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Context, Decimal
from typing import Any, Final

from sqlalchemy import Connection, Engine, and_, case, or_, select

from geo.projects.tables import projects
from geo.quota.accounts import (
    CITY,
    EXTERNAL_PREFIX,
    FACTORS,
    PROJECT_PREFIX,
    ZERO,
    holder_kind,
    plan_year,
    project_holder,
)
from geo.quota.holders import county_names
from geo.quota.tables import DECIMALS, amount_sum, quota_accounts, quota_postings, quota_projects, quota_transactions

AREA: Final = "m²"  # the unit of the factors that are areas (FACTORS)
UNITS_EN: Final = {"吨标准煤": "tce", "吨": "t"}  # the other factors' units (FACTORS) in an English sentence
WIDE: Final = Context(prec=400)  # any float's digits and the decimals shown: a quantize never overflows
M2_PER_HA: Final = Decimal(10000)
M2_PER_MU: Final = Decimal(10000) / Decimal(15)  # 1 亩 = 10000/15 m² exactly (geo.crs.M2_PER_MU as a float)
AREA_UNITS: Final = {"m2": "m²", "ha": "公顷", "mu": "亩"}  # a key's suffix → the unit its CSV header names
EARMARK: Final = "earmark"  # a payer of :func:`holdings_by_payer`: the project's own earmarked 点供
POOLED_KINDS: Final = frozenset({"issue", "stock_reward", "reduction"})  # the city pools a share of these
FLOWS: Final[dict[str, str]] = {  # movement kind → report column
    "issue": "issued",
    "point_supply": "point_supply",
    "carry": "carried",
    "stock_reward": "reward",
    "reduction": "reduction",
    "reduction_advance": "advanced",
    "advance": "advanced",
    "reserve": "reserved",
    "revoke": "released",
    "lapse": "released",
    "transfer": "transferred",
    "loan": "transferred",
    "reversal": "reversed",
}
COLUMNS: Final = (
    "issued",
    "pooled",
    "point_supply",
    "carried",  # a project's earmarked 点供 carried from one year to the next (点供结转): out of one, into the other
    "reward",
    "reduction",
    "advanced",
    "reserved",
    "released",
    "transferred",
    "reversed",
    "earmarked",  # what of the county's projects' earmarked 点供 they have not used: held beside the balance
)


def exact(value: Decimal | float) -> Decimal:
    """A ledger figure as the Decimal it was recorded as: a float read back from a row (``float(balance)``) is the
    shortest decimal that reads as it, which for the ledger's four decimals is the recorded figure itself."""
    return value if isinstance(value, Decimal) else Decimal(repr(float(value)))


def half_up(value: Decimal | float, places: int) -> Decimal:
    """``value`` to ``places`` decimals, halves away from zero as a person rounds (11.655 → 11.66, 10.005 →
    10.01), on the Decimal: a float rounds its binary neighbour, 11.655 to 11.65 but 10.005 to 10.01."""
    return exact(value).quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP, context=WIDE)


def _fixed(value: Decimal, places: int) -> str:
    """``value`` rounded half-up to ``places`` with thousands separators; never "-0.00"."""
    text = f"{half_up(value, places):,.{places}f}"
    return text[1:] if text.startswith("-") and not text.strip("-0.,") else text


def area_texts(m2: Decimal | float) -> tuple[str, str, str]:
    """An area's m² (2 decimals), 公顷 (4) and 亩 (2) as a ledger table writes them (the decimals of
    :class:`geo.crs.Area`), each rounded half-up from the recorded Decimal: 公顷 and 亩 from the m² as recorded,
    1 亩 = 10000/15 m² exactly."""
    value = exact(m2)
    return _fixed(value, 2), _fixed(value / M2_PER_HA, 4), _fixed(value / M2_PER_MU, 2)


def area_stacked(m2: Decimal | float) -> str:
    """One cell of a terminal table: m², 公顷 and 亩 one under another (:func:`area_texts`)."""
    square, ha, mu = area_texts(m2)
    return f"{square} m²\n{ha} 公顷\n{mu} 亩"


def in_mu_ha(value: Decimal | float, unit: str) -> tuple[float | None, float | None]:
    """An amount in m² as (亩 to 2 decimals, 公顷 to 4), rounded half-up from the recorded figure as a table's text
    (:func:`area_texts`) writes them, so that JSON, a CSV and a table read the same figure; (None, None) for a
    factor not measured in m²."""
    if unit != AREA:
        return None, None
    value = exact(value)
    return float(half_up(value / M2_PER_MU, 2)), float(half_up(value / M2_PER_HA, 4))


def area_figures(column: str, m2: Decimal) -> dict[str, float | None]:
    """An area as JSON and a CSV carry it: ``{column}_m2`` as given (a record's exact figure, or a statistic rounded
    to 2 decimals), its 公顷 ``{column}_ha`` and 亩 ``{column}_mu`` beside it (:func:`in_mu_ha`)."""
    mu, ha = in_mu_ha(m2, AREA)
    return {f"{column}_m2": float(m2), f"{column}_ha": ha, f"{column}_mu": mu}


def amount_text(value: Decimal | float | None, unit: str) -> str:
    """A ledger amount in one cell: an area as :func:`area_stacked`; tonnes, tce and kg in their own unit, to the
    ledger's four decimals without trailing zeros (0.004 t is not shown as nothing, 1,500 tce not as 1,500.0000);
    "—" for none. Rounded half-up on the Decimal, never through a float's binary neighbour."""
    if value is None:
        return "—"
    if unit == AREA:
        return area_stacked(value)
    return _fixed(exact(value), DECIMALS).rstrip("0").rstrip(".") + f" {unit}"


def amount_line(value: Decimal | float, unit: str) -> tuple[str, str]:
    """An amount in a sentence (English, Chinese): an area in m² with its 公顷 and 亩 (:func:`area_texts`), any other
    factor in its own unit (:func:`amount_text`), named in English in the English (105 tce, not 105 吨标准煤)."""
    if unit != AREA:
        text = amount_text(value, unit)
        return text.removesuffix(unit) + UNITS_EN.get(unit, unit), text
    square, ha, mu = area_texts(value)
    return f"{square} m² ({ha} ha, {mu} mu)", f"{square} m²（{ha} 公顷，{mu} 亩）"  # in English as ``Area.en``


def advance_outstanding(holder: str, bucket: str, balance: Decimal) -> Decimal:
    """What of an advance (预支) a county still owes on the account it drew on: the deficit of a county's
    ``available`` account (only an advance takes one below zero; an issue repays it and may leave it so)."""
    if holder_kind(holder) == "county" and bucket == "available" and balance < 0:
        return -balance
    return ZERO


@dataclass(frozen=True)
class TextTable:
    """A listing as a terminal table: ``labels`` (key → Chinese header) in order. An ``areas`` column writes the
    row's ``{column}_m2`` as ``Area.stacked``, an ``amounts`` column its value in the row's ``unit``
    (:func:`amount_text`), a ``shares`` column a fraction in per cent to one decimal ("—" for none); a yes/no is 是/否.
    The CSV and JSON keep plain numbers (:meth:`csv_labels`)."""

    labels: Mapping[str, str]
    areas: tuple[str, ...] = ()
    amounts: tuple[str, ...] = ()
    shares: tuple[str, ...] = ()

    def texts(self, row: Mapping[str, Any]) -> dict[str, Any]:
        """The row's cells, keyed as ``labels``."""
        return {column: self._text(column, row) for column in self.labels}

    def _text(self, column: str, row: Mapping[str, Any]) -> Any:
        if column in self.areas:
            return area_stacked(row[f"{column}_m2"])
        if column in self.amounts:
            return amount_text(row.get(column), row["unit"])
        value = row.get(column)
        if column in self.shares:
            return "—" if value is None else f"{value:.1%}"
        if isinstance(value, bool):
            return "是" if value else "否"
        return value

    def csv_labels(self) -> dict[str, str]:
        """A CSV's columns (JSON's keys, Chinese headers): the table's, each area as three columns of plain numbers
        (:func:`area_figures`)."""
        labels: dict[str, str] = {}
        for column, name in self.labels.items():
            if column in self.areas:
                labels |= {f"{column}_{unit}": f"{name}（{zh}）" for unit, zh in AREA_UNITS.items()}
            else:
                labels[column] = name
        return labels


LABELS: Final[dict[str, str]] = {  # the CSV and the workbook: a number a cell, the unit named, 公顷 and 亩 beside
    "county_name": "区县",
    "county": "区县代码",
    "factor_name": "要素",
    "unit": "单位",
    "issued": "下达",
    "pooled": "市级统筹",
    "point_supply": "点供",
    "carried": "点供结转",
    "reward": "增存挂钩奖励",
    "reduction": "污染物削减量",
    "advanced": "预支",
    "reserved": "配置",
    "released": "撤回/收回",
    "transferred": "调剂/拆借",
    "reversed": "冲销/归还",
    "earmarked": "专项点供未用",
    "balance": "余额",
    "balance_ha": "余额（公顷）",
    "balance_mu": "余额（亩）",
    "advance_outstanding": "其中预支未还",
    "projects_reserved": "项目已配置",
    "projects_approved": "项目已批准",
}
IN_THE_CELL: Final = ("unit", "balance_ha", "balance_mu")  # what a table's amount cell writes itself
TABLE: Final = TextTable(
    {k: v for k, v in LABELS.items() if k not in IN_THE_CELL},
    amounts=(*COLUMNS, "balance", "advance_outstanding", "projects_reserved", "projects_approved"),
)


def ledger_report(engine: Engine, year: int) -> list[dict[str, Any]]:
    """One row per holder (each county, then the city pool) and factor that moved in ``year``.

    项目已配置 and 项目已批准 count what projects hold to the holder that paid it (:func:`_projects_by_payer`), so a
    row's 配置 and its projects' holdings are the same quota seen from both sides: a reservation the city pool
    paid for a 重点 project is the pool's, not the project's county's. 点供 earmarked to a project is its county's
    (the province gives it to the county's project: 济宁 济政办字〔2020〕52号 三、(一)4 "点供"型计划指标): its flows on
    the project's ``earmarked`` account are in the county's columns (点供 in, 配置 out, 撤回 back), and what the
    earmark still holds in 专项点供未用 with the opposite sign, so 点供 is all the county was given, as the
    balances show it (the county's ``available`` and its projects' 专项点供), and 余额 its ``available`` balance."""
    year = plan_year(year)
    a, p, t = quota_accounts.c, quota_postings.c, quota_transactions.c
    positive = amount_sum(case((p.amount > 0, p.amount), else_=0))
    negative = amount_sum(case((p.amount < 0, p.amount), else_=0))
    with engine.connect() as conn:
        flows = conn.execute(
            select(a.holder, a.factor, t.kind, positive, negative)
            .join_from(quota_postings, quota_accounts, a.id == p.account_id)
            .join(quota_transactions, t.id == p.transaction_id)
            .where(
                a.year == year,
                ~a.holder.startswith(EXTERNAL_PREFIX),
                or_(
                    and_(a.bucket == "available", ~a.holder.startswith(PROJECT_PREFIX)),
                    and_(a.bucket == "earmarked", a.holder.startswith(PROJECT_PREFIX)),
                ),
            )
            .group_by(a.holder, a.factor, t.kind)
        ).all()
        county_of = _project_counties(conn)
        projects = _projects_by_payer(conn, year, county_of)
    names = county_names(engine)
    table: dict[tuple[str, str], dict[str, Decimal]] = {}
    for holder, factor, kind, plus, minus in flows:
        plus, minus = Decimal(plus or 0), Decimal(minus or 0)
        if holder.startswith(PROJECT_PREFIX):  # its earmarked 点供: its county's
            if (owner := county_of.get(holder)) is not None:
                row = table.setdefault((owner, factor), dict.fromkeys(COLUMNS, ZERO))
                row[FLOWS.get(kind, "reversed")] += plus + minus
                row["earmarked"] -= plus + minus
            continue
        row = table.setdefault((holder, factor), dict.fromkeys(COLUMNS, ZERO))
        if kind in POOLED_KINDS and holder == CITY:
            row["pooled"] += plus + minus
        elif kind in POOLED_KINDS:
            row[FLOWS[kind]] += plus
            row["pooled"] += minus
        else:
            row[FLOWS.get(kind, "reversed")] += plus + minus
    for key in projects:
        table.setdefault(key, dict.fromkeys(COLUMNS, ZERO))
    order = {code: n for n, code in enumerate(sorted(names))} | {CITY: len(names)}
    out = []
    for (holder, factor), values in sorted(table.items(), key=lambda kv: (order.get(kv[0][0], -1), kv[0])):
        name, unit = FACTORS[factor]
        balance = sum(values.values(), ZERO)
        mu, ha = in_mu_ha(balance, unit)
        own = projects.get((holder, factor), {})
        owed = advance_outstanding(holder, "available", balance)
        out.append(
            {
                "county": holder,
                "county_name": "市级统筹" if holder == CITY else names.get(holder, holder),
                "factor": factor,
                "factor_name": name,
                "unit": unit,
                **{k: float(v) for k, v in values.items()},
                "balance": float(balance),
                "balance_ha": ha,
                "balance_mu": mu,
                "advance_outstanding": float(owed) if owed else None,
                "projects_reserved": float(own.get("reserved", ZERO)),
                "projects_approved": float(own.get("approved", ZERO)),
            }
        )
    return out


def _projects_by_payer(
    conn: Connection, year: int, county_of: Mapping[str, str]
) -> dict[tuple[str, str], dict[str, Decimal]]:
    """(holder, factor) → bucket (reserved, approved) → what projects hold of ``year`` that the holder paid
    (:func:`holdings_by_payer`); what the project's own earmarked 点供 paid counts to its county (``county_of``:
    :func:`_project_counties`), whose project it is."""
    out: dict[tuple[str, str], dict[str, Decimal]] = {}
    for (project, factor, _), held in holdings_by_payer(conn, year=year).items():
        for bucket, by_payer in (("reserved", held.reserved), ("approved", held.approved)):
            for payer, value in by_payer.items():
                holder = county_of.get(project) if payer == EARMARK else payer
                if value and holder is not None:
                    cell = out.setdefault((holder, factor), {})
                    cell[bucket] = cell.get(bucket, ZERO) + value
    return out


def _project_counties(conn: Connection) -> dict[str, str]:
    """Each project's holder (``project:<id>``) → its county: the ledger's record of it, and the library's (a
    project given 点供 before its first reservation is in the library only)."""
    ledger = conn.execute(select(quota_projects.c.id, quota_projects.c.county)).all()
    library = conn.execute(select(projects.c.id, projects.c.county)).all()
    return {f"{PROJECT_PREFIX}{pid}": county for pid, county in (*ledger, *library)}


def holdings_by_payer(
    conn: Connection, *, year: int | None = None, project_id: str | None = None
) -> dict[tuple[str, str, int], Holding]:
    """(project holder, factor, year) → each payer's reserved and approved part of what the project holds (of
    ``year``, of the project ``project_id`` when given): a payer is a county, the city pool, or :data:`EARMARK`, the
    project's own earmarked 点供.

    Who paid is in the postings: every movement that moved a project's reserved or approved quota (a reservation,
    a revocation, a lapse, a confirmation, their reversals) is replayed in order, per project, factor and year,
    keeping each payer's part: what a payer pays comes in reserved, what goes back to it leaves its reserved part
    first, and a confirmation moves the reserved parts to approved (all of them, as it moves all the project holds
    reserved). A reversal undoes exactly what the movement it reverses did to the parts (``Holding.undo``): a lapse
    or a confirmation undone by shares in proportion gave a later 撤回 payers that had paid nothing of the phase.
    Parts moved in proportion are kept to the ledger's four decimals, a rounding's rest going to the largest part, so
    each project's parts add up to what it holds."""
    a, p, t = quota_accounts.c, quota_postings.c, quota_transactions.c
    held_by = [a.holder.startswith(PROJECT_PREFIX)] if project_id is None else [a.holder == project_holder(project_id)]
    in_year = [] if year is None else [a.year == year]
    touched = (
        select(p.transaction_id)
        .join_from(quota_postings, quota_accounts, a.id == p.account_id)
        .where(*held_by, a.bucket.in_(("reserved", "approved")), *in_year)
    )
    moved = conn.execute(
        select(p.transaction_id, t.reverses, a.holder, a.bucket, a.factor, a.year, p.amount)
        .join_from(quota_postings, quota_accounts, a.id == p.account_id)
        .join(quota_transactions, t.id == p.transaction_id)
        .where(p.transaction_id.in_(touched), *in_year, ~a.holder.startswith(EXTERNAL_PREFIX))
        .order_by(p.transaction_id, p.id)
    ).all()
    by_tx: dict[int, list[Any]] = {}
    for row in moved:
        by_tx.setdefault(row.transaction_id, []).append(row)
    parts: dict[tuple[str, str, int], Holding] = {}
    made: dict[int, dict[tuple[str, str, int], Parts]] = {}  # what each movement did to the parts: a reversal undoes it
    for tx, rows in by_tx.items():
        projects_moved = {r.holder for r in rows if r.holder.startswith(PROJECT_PREFIX) and r.bucket != "earmarked"}
        if len(projects_moved) != 1:
            continue  # no movement touches two projects' holdings
        (project,) = projects_moved
        undone = made.get(rows[0].reverses) if rows[0].reverses is not None else None
        made[tx] = {}
        for factor, year_of in {(r.factor, r.year) for r in rows}:
            key = (project, factor, year_of)
            holding = parts.setdefault(key, Holding())
            if undone is not None and key in undone:  # exactly what the reversed movement did, the other way
                made[tx][key] = holding.undo(undone[key])
                continue
            mine = [r for r in rows if (r.factor, r.year) == (factor, year_of)]
            paid: dict[str, Decimal] = {}
            for r in mine:
                if r.holder == project and r.bucket in ("reserved", "approved"):
                    continue
                payer = EARMARK if r.holder == project else r.holder
                paid[payer] = paid.get(payer, ZERO) - Decimal(r.amount)
            approved = sum((Decimal(r.amount) for r in mine if r.holder == project and r.bucket == "approved"), ZERO)
            made[tx][key] = holding.apply(paid, approved)
    return parts


Parts = tuple[dict[str, Decimal], dict[str, Decimal], Decimal]  # a change of a holding: reserved, approved, total


@dataclass
class Holding:
    """One project's holding of one factor and year, by payer: its reserved and approved parts
    (:func:`holdings_by_payer`)."""

    reserved: dict[str, Decimal] = field(default_factory=dict)
    approved: dict[str, Decimal] = field(default_factory=dict)
    approved_total: Decimal = ZERO

    def apply(self, paid: Mapping[str, Decimal], approved_change: Decimal) -> Parts:
        """A movement: ``paid`` per payer into the project (negative: back to it), the project's approved quota
        changing by ``approved_change``; what it changed is returned, for its reversal (:meth:`undo`)."""
        before = (dict(self.reserved), dict(self.approved), self.approved_total)
        for payer, value in paid.items():
            if value < 0:  # back to the payer: its reserved part first (a revocation), then its approved (a lapse)
                back = min(self.reserved.get(payer, ZERO), -value)
                self.reserved[payer] = self.reserved.get(payer, ZERO) - back
                self.approved[payer] = self.approved.get(payer, ZERO) - (-value - back)
        for payer, value in paid.items():
            if value > 0:
                self.reserved[payer] = self.reserved.get(payer, ZERO) + value
        self.approved_total += approved_change
        gap = self.approved_total - sum(self.approved.values(), ZERO)
        if gap > 0:  # a confirmation: reserved parts become approved
            _shift(self.reserved, self.approved, gap)
        elif gap < 0:  # approved quota back to reserved, other than by a reversal (none in a consistent ledger)
            _shift(self.approved, self.reserved, -gap)
        return (
            _change(before[0], self.reserved),
            _change(before[1], self.approved),
            self.approved_total - before[2],
        )

    def undo(self, change: Parts) -> Parts:
        """A reversal: the parts as they were before the movement that made ``change`` (a lapse undone gives each
        payer back its approved and reserved parts, not a share in proportion); the opposite change is returned,
        for the reversal's own reversal."""
        reserved, approved, total = change
        for part, delta in ((self.reserved, reserved), (self.approved, approved)):
            for payer, value in delta.items():
                part[payer] = part.get(payer, ZERO) - value
        self.approved_total -= total
        return ({k: -v for k, v in reserved.items()}, {k: -v for k, v in approved.items()}, -total)


def _change(before: Mapping[str, Decimal], after: Mapping[str, Decimal]) -> dict[str, Decimal]:
    return {k: d for k in {*before, *after} if (d := after.get(k, ZERO) - before.get(k, ZERO))}


def _shift(source: dict[str, Decimal], target: dict[str, Decimal], total: Decimal) -> None:
    """Move ``total`` from ``source``'s parts to ``target``'s in proportion, to four decimals, a rounding's rest
    from the largest part."""
    held = {k: v for k, v in source.items() if v > 0}
    whole = sum(held.values(), ZERO)
    if not whole:
        return
    moved = {k: (v * total / whole).quantize(Decimal("0.0001")) for k, v in held.items()}
    largest = max(held, key=lambda k: (held[k], k))
    moved[largest] += total - sum(moved.values(), ZERO)
    for k, v in moved.items():
        source[k] -= v
        target[k] = target.get(k, ZERO) + v


__all__ = [
    "EARMARK",
    "LABELS",
    "TABLE",
    "Holding",
    "TextTable",
    "advance_outstanding",
    "amount_line",
    "amount_text",
    "area_figures",
    "area_stacked",
    "area_texts",
    "half_up",
    "holdings_by_payer",
    "in_mu_ha",
    "ledger_report",
]
