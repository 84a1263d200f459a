"""Which encoding text no file declares is in: a shapefile's .dbf without a usable .cpg.

Chinese GIS software writes GBK, newer tools (QGIS, GDAL, ArcGIS Pro) UTF-8. UTF-8 is tried
first and strictly: Chinese text in UTF-8 is made of multi-byte sequences so regular that GBK
text almost never passes as one, while UTF-8 bytes read as GB18030 nearly always "decode" into
other characters (合规 as 鍚堣) without any error. GB18030 (a superset of GBK) is the second
guess. Bytes valid in neither are no text in a Chinese encoding: the caller says so.
"""

from __future__ import annotations

import codecs
from collections.abc import Iterable
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

Text = bytes | np.ndarray  # one text, or a field's values: one row of bytes a value (``geo.io.dbf.text_values``)


def undeclared_codec(texts: Iterable[Text]) -> str | None:
    """The first of ``UNDECLARED_CODECS`` in which every one of ``texts`` decodes, else None.

    A multi-byte character cut at the end of a value still counts: dBASE writers cut text at a
    field's width by bytes, not characters."""
    found = list(texts)
    return next((codec for codec in UNDECLARED_CODECS if all(decodes(t, codec) for t in found)), None)


def decodes(text: Text, codec: str) -> bool:
    """Whether ``text`` decodes in ``codec``, a character cut at its end (and the pad after it) allowed; a field's
    values at their own ends: read joined first (one call), one by one where that fails."""
    if isinstance(text, np.ndarray):
        return decodes(text.tobytes(), codec) or all(decodes(value.tobytes(), codec) for value in text)
    try:
        decoded(text.rstrip(b" \0"), codec)
    except UnicodeDecodeError:
        return False
    return True


def decoded(blob: bytes, codec: str) -> str:
    """``blob`` as text in ``codec``, strictly, but without a multi-byte character cut at its end (the
    part of it a fixed-width field kept is no character)."""
    return codecs.getincrementaldecoder(codec)().decode(blob, final=False)


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
