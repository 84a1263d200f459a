"""The siting review: profiles, rule kinds and the result schema."""

from geo.review.engine import Reviewing, review, review_cost, reviewing
from geo.review.profile import Profile, available_profiles, load_profile
from geo.review.result import ItemResult, LandQuota, ParcelResult, ProjectAttributes, ReviewResult

__all__ = [
    "ItemResult",
    "LandQuota",
    "ParcelResult",
    "Profile",
    "ProjectAttributes",
    "ReviewResult",
    "Reviewing",
    "available_profiles",
    "load_profile",
    "review",
    "review_cost",
    "reviewing",
]
