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

UNDECLARED_CODECS: Final = ("utf-8", "gb18030")  # in the order tried


def undeclared_codec(blobs: Iterable[bytes]) -> str | None:
    """The first of ``UNDECLARED_CODECS`` in which every one of ``blobs`` decodes, else None.

    A multi-byte character cut at the end of a blob still counts: dBASE writers cut text at a
    field's width by bytes, not characters."""
    found = list(blobs)
    return next((codec for codec in UNDECLARED_CODECS if all(decodes(b, codec) for b in found)), None)


def decodes(blob: bytes, codec: str) -> bool:
    """Whether ``blob`` decodes in ``codec``, a character cut at its end (and the pad after it) allowed."""
    try:
        decoded(blob.rstrip(b" \0"), codec)
    except UnicodeDecodeError:
        return False
    return True


def decoded(blob: bytes, codec: str) -> str:
    """``blob`` as text in ``codec``, strictly, but without a multi-byte character cut at its end (the
    part of it a fixed-width field kept is no character)."""
    return codecs.getincrementaldecoder(codec)().decode(blob, final=False)


def declared_wrongly(blobs: Iterable[bytes], codec: str) -> bool:
    """Whether text a file declares to be in ``codec`` is not: a blob does not decode in it, or, for a codec other
    than UTF-8, every blob decodes as UTF-8 and some byte is beyond ASCII: UTF-8 text read as GBK (a .cpg saying
    GBK beside a UTF-8 .dbf) decodes into other characters without an error, 地块一 as 鍦板潡涓€."""
    found = list(blobs)
    if not all(decodes(b, codec) for b in found):
        return True
    if codecs.lookup(codec).name == "utf-8":
        return False
    return not all(b.isascii() for b in found) and all(decodes(b, "utf-8") for b in found)


def cpg_wrong(cpg: str) -> tuple[str, str]:
    """Why a shapefile whose .cpg names an encoding its text is not in is refused (English, Chinese)."""
    return (
        f"its .cpg declares {cpg[:40]!r}, but its text is not in that encoding: correct the .cpg, or remove it to "
        "have the encoding found from the text",
        f".cpg 文件声明的编码为 {cpg[:40]!r}，但属性文字并非该编码：请更正 .cpg 文件，或将其删除以按文字识别编码",
    )
