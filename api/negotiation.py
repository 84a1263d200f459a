"""RFC 9110 content negotiation: the weights (q-values) a request's ``Accept`` or ``Accept-Encoding`` gives."""

from __future__ import annotations

import math


def q_values(header: str) -> dict[str, float]:
    """Each media range or coding the header names, lower-cased, with its weight (1 unless ``q=`` says otherwise; a
    weight that is no finite number is 0: refused)."""
    q: dict[str, float] = {}
    for part in header.split(","):
        name, _, params = part.partition(";")
        weight = 1.0
        for param in params.split(";"):
            key, _, value = param.partition("=")
            if key.strip().lower() == "q":
                try:
                    weight = float(value)
                except ValueError:
                    weight = 0.0
        if name.strip():
            q[name.strip().lower()] = weight if math.isfinite(weight) else 0.0
    return q
