"""The review report as PDF (ReportLab), for the approval file.

Chinese text uses ReportLab's built-in CID font STSong-Light: no font file is needed
on the server, PDF readers supply the glyphs.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from functools import cache
from xml.sax.saxutils import escape

import shapely
from reportlab.graphics.shapes import Drawing, Polygon
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.platypus import Flowable, PageBreak, Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from geo.report import sketch_geometry
from geo.report_model import ITEM_COLUMNS, QUOTA_COLUMNS, SUMMARY_COLUMNS, TITLE, ParcelReport, report_model
from geo.review.result import ParcelResult, ReviewResult
from geo.vocabulary import STATUS_COLOURS

FONT = "STSong-Light"


@cache
def _styles() -> dict[str, ParagraphStyle]:
    pdfmetrics.registerFont(UnicodeCIDFont(FONT))
    base = ParagraphStyle("base", fontName=FONT, fontSize=9, leading=12, wordWrap="CJK")
    return {
        "base": base,
        "small": ParagraphStyle("small", parent=base, fontSize=8, leading=10),
        "title": ParagraphStyle("title", parent=base, fontSize=16, leading=22, spaceAfter=6),
        "h2": ParagraphStyle("h2", parent=base, fontSize=12, leading=16, spaceBefore=6, spaceAfter=4),
        "verdict": ParagraphStyle("verdict", parent=base, fontSize=11, leading=15, spaceAfter=2),
        "bold": ParagraphStyle("bold", parent=base, textColor=colors.HexColor("#c62828")),
    }


def _sketch(parcel: ParcelResult, size: float = 60 * mm) -> Drawing:
    """The parcel (black outline) and its conflict pieces coloured by status."""
    drawing = Drawing(size, size)
    if parcel.geometry is None:
        return drawing
    outline, pieces = sketch_geometry(parcel, size)

    def add(geom: shapely.Geometry, fill: colors.Color | None, stroke: colors.Color) -> None:
        for poly in shapely.get_parts(geom):
            if poly.geom_type == "Polygon":
                points = [v for xy in poly.exterior.coords for v in xy]
                drawing.add(Polygon(points, fillColor=fill, strokeColor=stroke, strokeWidth=0.5))

    for status, geom in pieces:
        add(geom, colors.HexColor(STATUS_COLOURS[status]), colors.HexColor("#555555"))
    add(outline, None, colors.black)
    return drawing


def pdf_text(value: object) -> str:
    """The one place text is adapted to the PDF font: STSong-Light has no superscript two, so m² is 平方米."""
    return str(value).replace("m²", "平方米").replace("²", "2")


def _para(value: object, style: ParagraphStyle) -> Paragraph:
    """A Paragraph whose text is data: ReportLab parses Paragraph text as markup (``<img src>``,
    ``<a href>``, ``<b>``), so every string is escaped here, the only place a Paragraph is made."""
    return Paragraph(escape(pdf_text(value)), style)


def _table(rows: Sequence[Sequence[str]], widths: list[float], style: ParagraphStyle) -> Table:
    table = Table([[_para(c, style) for c in row] for row in rows], colWidths=widths, repeatRows=1)
    table.setStyle(
        TableStyle(
            [
                ("GRID", (0, 0), (-1, -1), 0.3, colors.grey),
                ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#eeeeee")),
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
            ]
        )
    )
    return table


def _parcel_story(p: ParcelReport, parcel: ParcelResult, s: dict[str, ParagraphStyle]) -> list[Flowable]:
    story: list[Flowable] = [
        PageBreak(),
        _para(p.heading, s["h2"]),
        _para(p.facts[0].text, s["verdict"]),
        _para("；".join(f.text for f in p.facts[1:]) + "。", s["base"]),
        *(_para(note, s["bold"]) for note in p.notes),
        _sketch(parcel),
        _table(
            [ITEM_COLUMNS, *(row.cells for row in p.items)],
            [14 * mm, 30 * mm, 14 * mm, 20 * mm, 16 * mm, 14 * mm, 72 * mm],
            s["small"],
        ),
        Spacer(1, 3 * mm),
        _para("用地指标核算", s["h2"]),
        _table([QUOTA_COLUMNS, *(row.cells for row in p.quota)], [50 * mm, 40 * mm, 30 * mm], s["small"]),
    ]
    return story


def review_report_pdf(result: ReviewResult, *, synthetic: bool = False) -> bytes:
    """The report as PDF bytes: the rows and notes of :func:`geo.report_model.report_model` (as the HTML),
    then per parcel its facts, notes, a sketch, its items and its land figures."""
    s = _styles()
    m = report_model(result, synthetic=synthetic)
    story: list[Flowable] = [
        _para(m.title, s["title"]),
        _para("　".join(f.text for f in m.header), s["base"]),
        *(_para(note, s["small"]) for note in m.notes),
        Spacer(1, 4 * mm),
        _table(
            [SUMMARY_COLUMNS, *(row.cells for row in m.summary)],
            [22 * mm, 58 * mm, 48 * mm, 26 * mm, 26 * mm],
            s["small"],
        ),
    ]
    for p, parcel in zip(m.parcels, result.parcels, strict=True):
        story += _parcel_story(p, parcel, s)
    buffer = io.BytesIO()
    SimpleDocTemplate(
        buffer,
        pagesize=A4,
        leftMargin=15 * mm,
        rightMargin=15 * mm,
        topMargin=15 * mm,
        bottomMargin=15 * mm,
        title=TITLE,
    ).build(story)
    return buffer.getvalue()
