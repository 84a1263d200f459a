"""A figure as a person writes it in a file lantu reads: a coordinate file's 界址点, a land-use standard's 投资强度
(a quota plan's amount translates full-width digits alike, and takes thousands separators: ``geo.io.quota``).
Decimal digits and a point, in ASCII or in the full-width characters a Chinese
input method types (３９１７７３２．００７, translated); nothing else that Python's ``float()`` takes:
"3917_732.007" was 3917732.007 (a digit separator), "٣" 3 (another script's digit), and an exponent
("3.92E+06", a spreadsheet's display of a column too narrow, its digits lost) was read without a word."""

from __future__ import annotations

import math
import re

FULL_WIDTH_NUMBER = str.maketrans("０１２３４５６７８９．＋－", "0123456789.+-")
DECIMAL = r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)"  # ASCII digits: \d takes ３ and ٣ untranslated
_DECIMAL = re.compile(DECIMAL)


def decimal(text: str) -> float | None:
    """``text`` as a decimal number written in digits and a point (``DECIMAL``; full-width ones translated), else
    None: no digit separator, exponent, inf, nan or other script's digits, which float() alone would read."""
    plain = text.strip().translate(FULL_WIDTH_NUMBER)
    if _DECIMAL.fullmatch(plain) is None:
        return None
    value = float(plain)
    return value if math.isfinite(value) else None  # 400 nines are no figure either
