"""Land-quota accounting (用地指标核算与要素保障库)."""

from geo.quota.allocation import Allocation, Demand, allocate, county_summary, load_allocation_profile
from geo.quota.ledger import CITY, FACTORS, Ledger

__all__ = ["CITY", "FACTORS", "Allocation", "Demand", "Ledger", "allocate", "county_summary", "load_allocation_profile"]
