"""The words and colours every renderer shares: statuses, verdicts, their Chinese labels,
the status and layer colours. Reports, maps and the viewer read them from here (no folium)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Final, Literal

Status = Literal["pass", "warn", "fail", "missing_layer"]
Verdict = Literal["pass", "conditional", "reject"]

# severity: a missing layer outranks a warning (nothing was checked), a failure outranks all
STATUS_ORDER: Final[dict[Status, int]] = {"pass": 0, "warn": 1, "missing_layer": 2, "fail": 3}
STATUS_ZH: Final[dict[Status, str]] = {"pass": "通过", "warn": "有条件", "fail": "不通过", "missing_layer": "缺图层"}
STATUS_EN: Final[dict[Status, str]] = {
    "pass": "pass",
    "warn": "conditional",
    "fail": "fail",
    "missing_layer": "layer missing",
}
STATUS_COLOURS: Final[dict[Status, str]] = {
    "pass": "#2e7d32",
    "warn": "#f9a825",
    "fail": "#c62828",
    "missing_layer": "#757575",
}
VERDICT_ZH: Final[dict[Verdict, str]] = {"pass": "通过", "conditional": "有条件通过", "reject": "否决"}
VERDICT_STATUS: Final[dict[Verdict, Status]] = {"pass": "pass", "conditional": "warn", "reject": "fail"}
LAYER_COLOURS: Final[dict[str, str]] = {
    "ecological_redline": "#d32f2f",
    "basic_farmland": "#fbc02d",
    "land_use": "#8d6e63",
    "urban_boundary": "#7b1fa2",
    "planned_use": "#5c6bc0",
    "mineral": "#424242",
    "geohazard": "#e64a19",
    "nature_reserve": "#1b5e20",
    "water_source": "#0288d1",
    "heritage": "#6d4c41",
    "flood_river": "#0277bd",
    "illegal_use": "#000000",
    "approved_unsupplied": "#00897b",
    "idle_land": "#9e9d24",
    "county": "#37474f",
}


def worst(statuses: Iterable[Status]) -> Status:
    """The most severe status; ``pass`` for none."""
    return max(statuses, key=STATUS_ORDER.__getitem__, default="pass")


def verdict_of(statuses: Iterable[Status]) -> Verdict:
    """reject if any item fails, conditional if any warns or lacks its layer, else pass (DESIGN.md)."""
    status = worst(statuses)
    return "reject" if status == "fail" else "conditional" if status in ("warn", "missing_layer") else "pass"
