"""Build ``LantuSerifSC-Regular.ttf``, the CJK font the PDF report embeds (a developer tool).

ReportLab embeds TrueType (``glyf``) fonts only, and Noto Serif CJK ships CFF outlines; so
this keeps the characters a Chinese planning document needs (ASCII, Latin-1, GB 2312's
7,445 characters, the CJK punctuation and full-width forms, and every character the
packaged texts use), converts the cubic outlines to quadratic ones (``cu2qu``) and renames
the family (SIL OFL 1.1 §3: a modified version does not keep the reserved name).

Run with fontTools installed (``pip install fonttools``)::

    python -m geo.fonts.make_subset NotoSerifSC-Regular.otf geo/fonts/LantuSerifSC-Regular.ttf

The source is Noto Serif SC Regular (notofonts/noto-cjk, ``Serif/SubsetOTF/SC``; also in the
PyPI wheel ``pylopdf-fonts-zh-cn==0.1.1``). ReportLab subsets it again per document.
"""

from __future__ import annotations

import sys
from pathlib import Path

FAMILY = "Lantu Serif SC"
PS_NAME = "LantuSerifSC-Regular"
ROOT = Path(__file__).resolve().parents[2]


def characters() -> set[int]:
    """ASCII, Latin-1, GB 2312, CJK punctuation, full-width forms and the repository's own texts."""
    chars = set(range(0x20, 0x7F)) | set(range(0xA0, 0x100))
    chars |= set(range(0x3000, 0x3040)) | set(range(0xFF00, 0xFFF0)) | set(range(0x2000, 0x2070))
    chars |= {0x00B2, 0x00B3, 0x00B0, 0x2103, 0x2116, 0x2160, 0x2161, 0x2162, 0x2163, 0x2164, 0x2165, 0x2215}
    for lead in range(0xA1, 0xF8):
        for trail in range(0xA1, 0xFF):
            try:
                chars.add(ord(bytes((lead, trail)).decode("gb2312")))
            except UnicodeDecodeError:
                continue
    for pattern in ("layers/**/*.yaml", "layers/**/*.j2", "layers/**/*.csv", "geo/**/*.py", "geo/templates/*"):
        for path in ROOT.glob(pattern):
            chars |= {ord(c) for c in path.read_text(encoding="utf-8", errors="ignore") if ord(c) > 0x7F}
    return chars


def build(source: Path, target: Path) -> None:
    from fontTools import subset
    from fontTools.pens.cu2quPen import Cu2QuPen
    from fontTools.pens.recordingPen import DecomposingRecordingPen
    from fontTools.pens.ttGlyphPen import TTGlyphPen
    from fontTools.ttLib import TTFont, newTable

    font = TTFont(source)
    options = subset.Options()
    options.layout_features = ["*"]
    options.name_IDs = ["*"]
    options.notdef_outline = True
    subsetter = subset.Subsetter(options)
    subsetter.populate(unicodes=characters())
    subsetter.subset(font)

    # CFF → glyf: draw each glyph through cu2qu into a TrueType glyph
    glyph_set = font.getGlyphSet()
    glyf = newTable("glyf")
    glyf.glyphOrder = font.getGlyphOrder()
    glyf.glyphs = {}
    for name in glyf.glyphOrder:
        recorded = DecomposingRecordingPen(glyph_set)
        glyph_set[name].draw(recorded)
        pen = TTGlyphPen(None)
        recorded.replay(Cu2QuPen(pen, max_err=1.0, reverse_direction=True))
        glyf.glyphs[name] = pen.glyph()
    font["glyf"] = glyf
    font["loca"] = newTable("loca")
    for tag in ("CFF ", "VORG"):
        if tag in font:
            del font[tag]
    maxp = font["maxp"]
    maxp.tableVersion = 0x00010000
    for field in (
        "maxZones",
        "maxTwilightPoints",
        "maxStorage",
        "maxFunctionDefs",
        "maxInstructionDefs",
        "maxStackElements",
        "maxSizeOfInstructions",
        "maxComponentElements",
    ):
        setattr(maxp, field, 0)
    maxp.maxZones = 1
    post = font["post"]
    post.formatType = 2.0
    post.extraNames = []
    post.mapping = {}
    head = font["head"]
    head.glyphDataFormat = 0
    head.indexToLocFormat = 0
    font.sfntVersion = "\x00\x01\x00\x00"

    names = font["name"]
    for record in list(names.names):
        if record.nameID in (1, 4, 16):
            names.setName(
                FAMILY if record.nameID != 4 else f"{FAMILY} Regular",
                record.nameID,
                record.platformID,
                record.platEncID,
                record.langID,
            )
        elif record.nameID == 6:
            names.setName(PS_NAME, 6, record.platformID, record.platEncID, record.langID)
        elif record.nameID == 3:
            names.setName(f"{PS_NAME};lantu subset", 3, record.platformID, record.platEncID, record.langID)
    names.names = [r for r in names.names if r.nameID != 17 and r.nameID != 18]
    font.save(target)


if __name__ == "__main__":
    build(Path(sys.argv[1]), Path(sys.argv[2]))
