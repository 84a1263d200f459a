"""JSON objects with each key once.

Python's ``json`` keeps the last of a key sent twice, without a word: ``{"amount": 150, "unit": "亩", "unit": "m2"}``
booked 150 m² where the sender may have meant 150 亩, and a parcel's ``project_type`` given twice was reviewed as the
second (a probe). Which value counts is the sender's to make plain: an object with a key twice is refused, naming
it. The uploads' GeoJSON reader and the service's JSON bodies read objects through :func:`one_key_each`.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from geo.errors import FormatError

SHOWN_KEY_CHARS = 60  # of a key named in the message: a key may be megabytes long


class DuplicateKeyError(FormatError):
    """A JSON object holding one key twice."""


def one_key_each(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """``json.loads``'s ``object_pairs_hook``: the object, refused where a key comes twice."""
    found = dict(pairs)
    if len(found) == len(pairs):
        return found
    key = next(k for k, n in Counter(k for k, _ in pairs).items() if n > 1)[:SHOWN_KEY_CHARS]
    raise DuplicateKeyError(
        f"a JSON object gives the key {key!r} twice: which value counts is not plain; send each key once",
        f"JSON 对象中键 {key!r} 出现了两次，无法确定以哪个值为准：每个键只能出现一次",
    )
