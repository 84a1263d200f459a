"""Land-quota accounting (用地指标核算与要素保障库).

:class:`Ledger` is the facade; movements and queries live in their own modules
(:mod:`geo.quota.movements`, :mod:`geo.quota.queries`), the reservation rules in
:mod:`geo.quota.reservations`.
"""

from geo.projects.library import LEVELS as PROJECT_LEVELS
from geo.quota.accounts import CITY, FACTORS, MAX_AMOUNT, PLAN_YEARS, amount
from geo.quota.allocation import Allocation, AllocationProfile, Demand, allocate, load_allocation_profile
from geo.quota.holders import blueprint_counties
from geo.quota.ledger import Ledger, county_summary
from geo.quota.reservations import default_project_id

__all__ = [
    "CITY",
    "FACTORS",
    "MAX_AMOUNT",
    "PLAN_YEARS",
    "PROJECT_LEVELS",
    "Allocation",
    "AllocationProfile",
    "Demand",
    "Ledger",
    "allocate",
    "amount",
    "blueprint_counties",
    "county_summary",
    "default_project_id",
    "load_allocation_profile",
]
