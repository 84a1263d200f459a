"""The factor ledger (要素保障库): double-entry accounts of land, energy and emission quotas.

:class:`Ledger` is the facade the API, the CLI and the notebooks hold: one engine,
the city's ledger rules (:mod:`geo.quota.rules`: pooling per factor, the 预支 cap, the
grain yield, the 增存挂钩 rates and ratios). The work is in modules of one job each:

* :mod:`geo.quota.accounts` — factors, holders, amounts, postings (no database);
* :mod:`geo.quota.posting` — the one primitive that writes a balanced transaction;
* :mod:`geo.quota.reservations` — the rules of reserving for a project and who paid;
* :mod:`geo.quota.movements` — every movement, each one atomic transaction;
* :mod:`geo.quota.queries` — balances, journal, projects, overdue loans, summaries;
* :mod:`geo.quota.stock` — the 增存挂钩 stock-land register, disposals, rates and settlement.

Quota enters from ``external:*`` accounts (the province's plan, point supply,
rewards), so the internal balances of a factor always sum to what entered; the
journal is append-only and a mistake is undone by :meth:`Ledger.reverse`.
"""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal
from typing import Any

from sqlalchemy import Engine

from geo.errors import QuotaError
from geo.projects.library import LEVELS as PROJECT_LEVELS
from geo.quota.accounts import (
    CITY,
    FACTORS,
    POINT_SUPPLY,
    PROVINCE,
    REWARD,
    ZERO,
    Key,
    Posting,
    amount,
    move,
    project_holder,
)
from geo.quota.holders import register_counties
from geo.quota.movements import Movements
from geo.quota.queries import Queries
from geo.quota.rules import LedgerRules, load_ledger_rules
from geo.quota.stock import StockRegister

__all__ = [
    "CITY",
    "FACTORS",
    "POINT_SUPPLY",
    "PROJECT_LEVELS",
    "PROVINCE",
    "REWARD",
    "ZERO",
    "Key",
    "Ledger",
    "Posting",
    "amount",
    "county_summary",
    "move",
    "project_holder",
]


class Ledger(Movements, Queries, StockRegister):
    """Ledger operations over one SQLAlchemy engine (SQLite file or PostgreSQL).

    The movements are :class:`~geo.quota.movements.Movements`' methods, the queries
    :class:`~geo.quota.queries.Queries`', the 增存挂钩 register :class:`~geo.quota.stock.StockRegister`'s;
    the ledger gives them the engine and the settings.
    """

    def __init__(
        self,
        engine: Engine,
        *,
        pooling_share: float | None = None,
        rules: LedgerRules | None = None,
    ):
        """``rules`` default to ``layers/profiles/ledger.yaml``; ``pooling_share`` (LANTU_POOLING_SHARE) overrides
        the land_new share in them."""
        rules = rules or load_ledger_rules()
        if pooling_share is not None:
            if not 0 <= pooling_share < 1:
                raise QuotaError(f"pooling share {pooling_share} must be in [0, 1)", "统筹比例须在 0 到 1 之间")
            rules = rules.model_copy(update={"pooling": {**rules.pooling, "land_new": pooling_share}})
        self.engine = engine
        self.rules = rules
        self.pooling_share = Decimal(str(rules.pooled("land_new")))

    def register_counties(self, counties: Iterable[tuple[str, str]]) -> int:
        """The counties that may hold quota (code, name), e.g. from the blueprint's county layer."""
        return register_counties(self.engine, counties)


def county_summary(ledger: Ledger, year: int) -> list[dict[str, Any]]:
    """Per county: remaining land_new, what its projects hold, and the used share — for the quota map."""
    return ledger.county_summary(year)
