"""Which encoding text no file declares is in: a shapefile's .dbf without a usable .cpg.

Chinese GIS software writes GBK, newer tools (QGIS, GDAL, ArcGIS Pro) UTF-8. UTF-8 is tried
first and strictly: Chinese text in UTF-8 is made of multi-byte sequences so regular that GBK
text almost never passes as one, while UTF-8 bytes read as GB18030 nearly always "decode" into
other characters (合规 as 鍚堣) without any error. GB18030 (a superset of GBK) is the second
guess. Bytes valid in neither are no text in a Chinese encoding: the caller says so.

A .dbf's fields are fixed-width, and writers cut text at a field's width by bytes: a value that fills its field
may end in a character cut short, a shorter one (pad after it) never. Allowing the cut at the end of every value
read Latin-1 ``caf\\xe9`` as UTF-8 ``caf`` and GBK ``B岐`` as ``B``, the last character lost without a word.
"""

from __future__ import annotations

import codecs
from collections.abc import Iterable, Sequence
from typing import Final

import numpy as np

UNDECLARED_CODECS: Final = ("utf-8", "gb18030")  # in the order tried
# what a .cpg's Chinese encoding is checked as: GDAL reads GB2312 and GBK text as CP936, which holds more (堃, 喆)
CHECKED_AS: Final = {"gb2312": "gb18030", "gbk": "gb18030"}
# encodings of two bytes a character whose text may pass as UTF-8 of Latin letters (梅园路 as ÷԰·): never as UTF-8
# of characters from U+0800 on (CJK), which UTF-8 Chinese is made of
MULTIBYTE: Final = frozenset(
    {"gb2312", "gbk", "gb18030", "big5", "big5hkscs", "cp950", "shift_jis", "euc_jp", "euc_kr"}
)

# one value as its field holds it, pad included (none: it fills its field), or a field's values: one row of bytes a
# value (``geo.io.dbf.text_values``, ``field_rows``)
Text = bytes | np.ndarray
ASCII: Final = bytes(range(0x80))  # what a .dbf's pad, numbers, dates and field names are written in


def undeclared_codec(texts: Iterable[Text]) -> str | None:
    """The first of ``UNDECLARED_CODECS`` in which every one of ``texts`` decodes, else None.

    A multi-byte character cut at the end of a value that fills its field still counts: dBASE writers
    cut text at a field's width by bytes, not characters."""
    found = list(texts)
    return next((codec for codec in UNDECLARED_CODECS if all(decodes(t, codec) for t in found)), None)


def decodes(text: Text, codec: str) -> bool:
    """Whether ``text`` decodes in ``codec``: a value with pad after it whole, one that fills its field but for a
    character cut at its end; a field's values read joined first (one call: a character cut in a padded value is
    followed by pad, which no multi-byte character holds), one by one where that fails."""
    if isinstance(text, np.ndarray):
        return decodes(text.tobytes(), codec) or all(decodes(value.tobytes(), codec) for value in text)
    value = text.rstrip(b" \0")
    try:
        decoded(value, codec) if len(value) == len(text) else value.decode(codec)
    except UnicodeError:  # UnicodeDecodeError, and the plain UnicodeError of a codec such as idna
        return False
    return True


def decoded(blob: bytes, codec: str) -> str:
    """``blob`` as text in ``codec``, strictly, but without a multi-byte character cut at its end (the
    part of it a fixed-width field kept is no character)."""
    return codecs.getincrementaldecoder(codec)().decode(blob, final=False)


def dbf_codec(codec: str) -> bool:
    """Whether a .dbf's text can be in ``codec``: a text encoding that keeps ASCII as it is (UTF-8, GBK, a Windows
    code page), as the table's pad, numbers and field names are. UTF-16 and UTF-32 spell even the pad otherwise
    (GDAL read such a table's field names as other characters), EBCDIC too, and base64 is no text encoding."""
    try:
        return ASCII.decode(codec) == ASCII.decode("ascii")
    except (LookupError, UnicodeError):
        return False


def declared_wrongly(texts: Iterable[Text], codec: str) -> bool:
    """Whether text a file declares to be in ``codec`` is not: some does not decode in it, or, for a codec other
    than UTF-8, all of it decodes as UTF-8 and some byte is beyond ASCII: UTF-8 text read as GBK (a .cpg saying
    GBK beside a UTF-8 .dbf) decodes into other characters without an error, 地块一 as 鍦板潡涓€. Text of a
    Chinese encoding is UTF-8 only where that holds a character from U+0800 on (梅园路 in GBK is UTF-8 ÷԰·)."""
    found = [t if isinstance(t, np.ndarray) else np.frombuffer(t, np.uint8).reshape(1, -1) for t in texts]
    name = codecs.lookup(codec).name
    if not all(decodes(t, CHECKED_AS.get(name, name)) for t in found):
        return True
    if name == "utf-8" or all((t < 0x80).all() for t in found) or not all(decodes(t, "utf-8") for t in found):
        return False
    if name not in MULTIBYTE:
        return True
    return any(ord(c) >= 0x800 for t in found for value in t for c in decoded(value.tobytes().rstrip(b" \0"), "utf-8"))


def field_rows(values: Sequence[bytes], width: int | None) -> np.ndarray:
    """``values`` as the rows of a field ``width`` bytes wide, each padded with NULs as a .dbf pads it: values
    handed over without their pad (GDAL strips it) are checked as the field held them, and only one as wide as
    its field may end in a cut character. ``None``: text of no fixed width (a DXF label), which no writer cut."""
    longest = max((len(v) for v in values), default=0)
    size = max(longest + 1 if width is None else max(longest, width), 1)
    return np.array(list(values), dtype=f"S{size}").view(np.uint8).reshape(len(values), size)
