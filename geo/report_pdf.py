"""The review report as PDF (ReportLab), for the approval file and the archive.

The Chinese text is set in Lantu Serif SC, a subset of Noto Serif SC shipped in
``geo/fonts`` (SIL OFL 1.1, ``geo/fonts/OFL.txt``) that ReportLab embeds, subset again to
the glyphs each document uses: the file shows its text on a machine without any CJK font
and is fit for archiving (PDF readers need supply nothing). Lines break the Chinese way
(:func:`cjk_lines`): no closing mark at a line's start, no opening bracket at its end, no
number split from its unit.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from functools import cache
from importlib.resources import files
from typing import Any
from xml.sax.saxutils import escape

import shapely
from reportlab.graphics.shapes import Drawing, Polygon, Rect, String
from reportlab.lib import colors
from reportlab.lib.enums import TA_CENTER, TA_RIGHT
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.textsplit import ALL_CANNOT_END, ALL_CANNOT_START
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import (
    CondPageBreak,
    Flowable,
    KeepInFrame,
    KeepTogether,
    PageBreak,
    Paragraph,
    SetPageTopFlowables,
    SimpleDocTemplate,
    Spacer,
    Table,
    TableStyle,
)

from geo.blueprint import Blueprint
from geo.papers import DocumentNumber, Issuer
from geo.report import CONTEXT_ALPHA, PIECE_ALPHA, Sketch, sketch
from geo.report_model import (
    CONCLUSION_TITLE,
    COORDINATE_COLUMNS,
    ITEM_COLUMNS,
    QUOTA_COLUMNS,
    SUMMARY_COLUMNS,
    CoordinateTable,
    ParcelReport,
    ReportModel,
    data_line,
    header,
    report_model,
)
from geo.review.result import ReviewResult
from geo.vocabulary import STATUS_COLOURS, STATUS_TEXT_COLOURS, Status

FONT = "LantuSerifSC"
FONT_FILE = "LantuSerifSC-Regular.ttf"
_FUZZ = 1e-6
# ReportLab's lists are Japanese-minded (no full-width comma, no 〔): the Chinese marks added (GB/T 15834)
CANNOT_START = frozenset(ALL_CANNOT_START + "，。、；：？！）〕】」』》〉”’%‰°")
CANNOT_END = frozenset(ALL_CANNOT_END + "（〔【「『《〈“‘")
# a Table sets a font for its cells even when they hold Paragraphs: ours, or Helvetica (not embedded) is used
_FONT_ALL = ("FONTNAME", (0, 0), (-1, -1), FONT)


@cache
def register_font() -> str:
    """Register the shipped CJK font with ReportLab once; its name for styles."""
    pdfmetrics.registerFont(TTFont(FONT, str(files("geo.fonts") / FONT_FILE)))
    return FONT


def _latin(c: str) -> bool:
    return (c.isascii() and not c.isspace()) or c in "²³°%‰"


CHINESE_UNITS = ("公顷", "亩")  # written after a figure as m² is, and kept with it as m² is


def _unit(text: str, k: int) -> bool:
    """Whether ``text[k]`` is within 公顷 or 亩 after a figure (``30.0000 公顷``, ``450.00 亩``)."""
    for unit in CHINESE_UNITS:
        for at in range(max(1, k - len(unit) + 1), k + 1):
            if text.startswith(unit, at):
                figure = at - 1 - (text[at - 1] == " ")
                return figure >= 0 and text[figure].isdigit()
    return False


def _joined(text: str, k: int) -> bool:
    """Whether ``text[k]`` belongs to a run :func:`cjk_lines` moves whole: a Latin character, a space between two
    (``6,400.00 m²`` broke before its unit, the next line starting with a space), 公顷 and 亩 after a figure (the
    8.5 pt items table broke ``450.00 / 亩``), and the 号 of a number (〔2020〕127号 broke before 号: a fresh pair of
    eyes on the demo's PDF)."""
    c = text[k]
    if _latin(c) or _unit(text, k):
        return True
    inside = 0 < k < len(text) - 1
    return (c == " " and inside and _latin(text[k - 1]) and (_latin(text[k + 1]) or _unit(text, k + 1))) or (
        c == "号" and k > 0 and text[k - 1].isdigit()
    )


HANG_ROOM = 2  # ems a text keeps free for the closing marks that hang at a line's end, where any would (CJKParagraph)
HANG_ROOM_FROM = 6  # ems: a width this wide is a text's (a figure's cell is narrower)


def cjk_lines(text: str, widths: Sequence[float], max_widths: Sequence[float]) -> list[tuple[float, str]]:
    """(spare width, line) for ``text`` broken as Chinese typesetting wants (禁则).

    Greedy per character, like ReportLab's own CJK split, plus what it lacks: a closing
    mark that does not fit hangs on the line (ReportLab does that too), an opening bracket
    or quote never ends a line, and a run of Latin letters, digits and units (``12.5 m²``,
    ``25°``, ``EPSG:4548``) moves whole to the next line unless it alone fills a line.
    """
    lines: list[tuple[float, str]] = []
    start, n = 0, len(text)
    while start < n:
        limit = max_widths[min(len(lines), len(max_widths) - 1)]
        used, end = 0.0, start
        while end < n and (end == start or used + widths[end] <= limit + _FUZZ):
            used += widths[end]
            end += 1
        if end < n:
            if _joined(text, end - 1) and _joined(text, end):
                back = end
                while back > start + 1 and _joined(text, back - 1):
                    back -= 1
                if back > start + 1 or not _joined(text, start):
                    end = back
            elif text[end] in CANNOT_START:
                while end < n and text[end] in CANNOT_START:  # hang it, with the marks that follow (）。)
                    end += 1
            if end < n and text[end] == " ":  # a space where the line breaks ends it, unseen, never starts the next
                end += 1
            while end - 1 > start and text[end - 1] in CANNOT_END:
                end -= 1
        seen = end - 1 if end < n and end - 1 > start and text[end - 1] == " " else end  # a space ending it: none
        lines.append((limit - sum(widths[start:seen]), text[start:end]))
        start = end
    return lines


class CJKParagraph(Paragraph):  # type: ignore[misc]  # ReportLab ships no annotations
    """A Paragraph of one plain-text run broken by :func:`cjk_lines`."""

    def breakLinesCJK(self, maxWidths: Any) -> Any:  # ReportLab's name
        frags = self.frags
        if len(frags) != 1 or getattr(self, "_splitpara", False) or not hasattr(frags[0], "text"):
            return super().breakLinesCJK(maxWidths)
        f = frags[0]
        given = list(maxWidths) if isinstance(maxWidths, list | tuple) else [maxWidths]
        text = f.text
        chars = [pdfmetrics.stringWidth(c, f.fontName, f.fontSize) for c in text]
        broken = cjk_lines(text, chars, given)
        if any(spare < -_FUZZ for spare, _ in broken):
            # closing marks hung past the edge, into the margin (a 说明's "（占一补一）；"): broken again with room
            # kept for them on every line of a text's width, each line's spare counted against the whole width
            # (centred and right-aligned lines stay where they were); a line of figures hangs nothing
            room = [HANG_ROOM * f.fontSize if w > HANG_ROOM_FROM * f.fontSize else 0.0 for w in given]
            kept = [w - r for w, r in zip(given, room, strict=True)]
            broken = cjk_lines(text, chars, kept)
            broken = [(spare + room[min(n, len(room) - 1)], line) for n, (spare, line) in enumerate(broken)]
        lines = [(spare, [line]) for spare, line in broken]
        return f.clone(kind=0, lines=lines, ascent=f.fontSize, descent=-0.2 * f.fontSize)


# the tables' text (items, facts, land figures, 界址点, the cover's summary): 7.5 pt could not be read on a printed
# A4 sheet (an officer's read of the PDF), shrunk to fit a page it printed at 6.4 pt. At 8.5 pt, a parcel's page is
# shrunk to fit no further than prints it at READABLE (6.8 pt: the demo's parcels print at 6.8 to 8.5 pt, each on its
# own page, as issue 13 asks); a longer section runs on, naming its parcel on each page (see _OnePage)
CELL_SIZE, CELL_LEADING = 8.5, 10.75
READABLE = 6.8
LEGEND_SIZE = 8  # the sketch's legend and scale labels (7 pt was as hard to read)


@cache
def _styles() -> dict[str, ParagraphStyle]:
    font = register_font()
    base = ParagraphStyle("base", fontName=font, fontSize=9.5, leading=13.5, wordWrap="CJK")
    cell = {"fontSize": CELL_SIZE, "leading": CELL_LEADING}
    return {
        "base": base,
        "small": ParagraphStyle("small", parent=base, fontSize=8, leading=10.5),
        "cell": ParagraphStyle("cell", parent=base, **cell),
        "cell-head": ParagraphStyle("cell-head", parent=base, **cell, alignment=TA_CENTER),
        "cell-num": ParagraphStyle("cell-num", parent=base, **cell, alignment=TA_RIGHT),
        "title": ParagraphStyle("title", parent=base, fontSize=20, leading=28, alignment=TA_CENTER, spaceAfter=4),
        "number": ParagraphStyle("number", parent=base, fontSize=11, leading=16, alignment=TA_CENTER, spaceAfter=8),
        "h2": ParagraphStyle("h2", parent=base, fontSize=13, leading=18, spaceBefore=2, spaceAfter=3),
        "h3": ParagraphStyle("h3", parent=base, fontSize=10.5, leading=14, spaceBefore=5, spaceAfter=2),
        "continued": ParagraphStyle("continued", parent=base, fontSize=10.5, leading=14, spaceAfter=4),
        "verdict": ParagraphStyle("verdict", parent=base, fontSize=11.5, leading=16, spaceAfter=3),
        "sign": ParagraphStyle("sign", parent=base, fontSize=11, leading=20, alignment=TA_RIGHT),
        **{
            f"status-{s}": ParagraphStyle(f"status-{s}", parent=base, **cell, textColor=colour)
            for s, colour in STATUS_TEXT_COLOURS.items()
        },
    }


def _para(value: object, style: ParagraphStyle) -> Paragraph:
    """A Paragraph whose text is data: ReportLab parses Paragraph text as markup (``<img src>``,
    ``<a href>``, ``<b>``), so every string is escaped here, the only place a Paragraph is made."""
    return CJKParagraph(escape(str(value)), style)


def tinted(colour: str, alpha: float) -> colors.Color:
    """``colour`` (#rrggbb) at fill opacity ``alpha``: the map's fills and the legend's swatches alike."""
    c = colors.HexColor(colour)
    return colors.Color(c.red, c.green, c.blue, alpha=alpha)


def _sketch(s: Sketch | None, size: float) -> Drawing:
    """The sketch of :func:`geo.report.sketch`: context layers, coloured pieces, the parcel,
    scale bar, north arrow and legend."""
    if s is None:
        return Drawing(size, size, initialFontName=register_font())
    legend = s.legend()
    rows = LEGEND_SIZE + 4.0  # a row per legend entry: its label and 4 pt between rows
    drawing = Drawing(size, size + rows * len(legend) + 4, initialFontName=register_font())  # not Helvetica
    lift = rows * len(legend) + 4
    drawing.add(
        Rect(0, lift, size, size, fillColor=colors.HexColor("#fafafa"), strokeColor=colors.grey, strokeWidth=0.5)
    )

    def add(geom: shapely.Geometry, fill: Any, stroke: Any, width: float) -> None:
        for poly in shapely.get_parts(geom):
            if poly.geom_type == "Polygon" and not poly.is_empty:
                points = [v for x, y in poly.exterior.coords for v in (x, y + lift)]
                drawing.add(Polygon(points, fillColor=fill, strokeColor=stroke, strokeWidth=width))
                for hole in poly.interiors:  # holes painted over in the background colour
                    inner = [v for x, y in hole.coords for v in (x, y + lift)]
                    drawing.add(
                        Polygon(inner, fillColor=colors.HexColor("#fafafa"), strokeColor=stroke, strokeWidth=width)
                    )

    for c in s.context:
        add(c.geometry, tinted(c.colour, CONTEXT_ALPHA), colors.HexColor(c.colour), 0.6)
    for status, geom in s.pieces:
        add(geom, tinted(STATUS_COLOURS[status], PIECE_ALPHA), colors.HexColor("#555555"), 0.3)
    add(s.outline, None, colors.black, 1.4)
    font = register_font()
    # the length after the bar's end (a short bar has no room above it), on a white ground
    label_width = pdfmetrics.stringWidth(s.scale_label, font, LEGEND_SIZE)
    drawing.add(
        Rect(
            3,
            lift + 3,
            s.scale_len + label_width + 9,
            LEGEND_SIZE + 9,
            fillColor=tinted("#ffffff", 0.8),
            strokeColor=None,
        )
    )
    drawing.add(Rect(6, lift + 6, s.scale_len, 2.5, fillColor=colors.black, strokeColor=None))
    drawing.add(String(6, lift + 11, "0", fontName=font, fontSize=LEGEND_SIZE))
    drawing.add(String(6 + s.scale_len + 2.5, lift + 5.5, s.scale_label, fontName=font, fontSize=LEGEND_SIZE))
    nx, top = size - 12, lift + size - 6
    drawing.add(Polygon([nx, top, nx + 5, top - 14, nx, top - 11, nx - 5, top - 14], fillColor=colors.black))
    drawing.add(String(nx, top - 24, "北", fontName=font, fontSize=8, textAnchor="middle"))
    for n, (colour, label, alpha) in enumerate(legend):
        y = lift - 4 - rows * (n + 1) + 2
        drawing.add(Rect(0, y, 10, 8, fillColor=tinted(colour, alpha), strokeColor=colors.HexColor(colour)))
        drawing.add(String(14, y + 1, label, fontName=font, fontSize=LEGEND_SIZE))
    return drawing


def _table(
    rows: Sequence[Sequence[str]],
    widths: list[float],
    style: ParagraphStyle,
    *,
    statuses: Sequence[tuple[int, Status]] = (),
    status_column: int = 0,
    head: int = 1,
    numeric: Sequence[int] = (),
    head_columns: int = 0,
    centred_head: bool = False,
) -> Table:
    """A grid with ``head`` header rows repeated (and ``head_columns`` label columns, a table on its
    side); ``statuses`` colour a row's status cell (row index, status); the ``numeric`` columns'
    figures are set right, their decimals one under another."""
    s = _styles()
    coloured = dict(statuses)

    def cell_style(r: int, k: int) -> ParagraphStyle:
        if r < head or k < head_columns:
            return s["cell-head"] if centred_head else style
        if r in coloured and k == status_column:
            return s[f"status-{coloured[r]}"]
        return s["cell-num"] if k in numeric else style

    cells = [[_para(c, cell_style(r, k)) for k, c in enumerate(row)] for r, row in enumerate(rows)]
    table = Table(cells, colWidths=widths, repeatRows=head, hAlign="LEFT")
    commands: list[tuple[Any, ...]] = [
        ("GRID", (0, 0), (-1, -1), 0.3, colors.grey),
        ("BACKGROUND", (0, 0), (-1, head - 1), colors.HexColor("#eeeeee")),
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ("TOPPADDING", (0, 0), (-1, -1), 1.5),
        ("BOTTOMPADDING", (0, 0), (-1, -1), 1.5),
    ]
    for r, status in statuses:
        tint = colors.HexColor(STATUS_COLOURS[status])
        commands.append(
            ("BACKGROUND", (status_column, r), (status_column, r), colors.Color(tint.red, tint.green, tint.blue, 0.12))
        )
    table.setStyle(TableStyle([*commands, _FONT_ALL]))
    return table


def _grouped_head(columns: Sequence[str]) -> tuple[list[list[str]], list[Any]]:
    """The two header rows of ``columns`` (:func:`geo.report_model.header`: 涉及面积 over m², 公顷, 亩)
    and the commands that span them, centred over their columns."""
    top: list[str] = []
    units: list[str] = []
    spans: list[Any] = [("VALIGN", (0, 0), (-1, 1), "MIDDLE")]
    for cell in header(columns):
        k = len(top)
        top += [cell.label, *[""] * (cell.span - 1)]
        units += list(cell.units) or [""]
        spans.append(("SPAN", (k, 0), (k + cell.span - 1, 0)) if cell.units else ("SPAN", (k, 0), (k, 1)))
    return [top, units], spans


MARGINS = (15 * mm, 15 * mm, 13 * mm, 14 * mm)  # left, right, top, bottom
MARK_COLOUR = "#bb0000"  # the mark's red, the HTML report's #b00
# ReportLab's frame pads its content 6 pt inside the margins: the frame is set that much wider, so that the text and
# the tables (180 mm, the width between the margins) stand at the margins. Inside the padding, the tables were 12 pt
# wider than the room: a left-aligned one stood 6 pt past the right margin and a centred one 6 pt past both
# (a fresh pair of eyes on the demo's PDF)
FRAME_PADDING = 6
MIN_SCALE = 0.85  # a page is shrunk to fit down to this (the cover's small print); longer, it runs on
# a parcel's page no further than keeps its tables' text READABLE as printed (0.8: 8.5 pt printed at 6.8, the
# notes' 8 pt at 6.4); a parcel's section that runs on names it on each page
PAGE_MIN_SCALE = min(1.0, READABLE / CELL_SIZE)
SHORT_COORDINATES = 9  # points of a 界址点坐标表 that fits beside the sketch
COORDINATE_WIDTHS = (11 * mm, 10.5 * mm)  # 点号, 圈号: their headers on one line at CELL_SIZE (6 pt padded)


def _coordinates(table: CoordinateTable, s: dict[str, ParagraphStyle]) -> list[Flowable]:
    """界址点坐标表 in two halves side by side (a page holds twice the points), header repeated."""
    rows = [r.cells for r in table.rows]
    half = (len(rows) + 1) // 2
    blank = ("",) * len(COORDINATE_COLUMNS)
    paired = [(*rows[n], *(rows[n + half] if n + half < len(rows) else blank)) for n in range(half)]
    widths = [*COORDINATE_WIDTHS, 22 * mm, 24 * mm, 22.5 * mm] * 2
    return [
        CondPageBreak(25 * mm),
        _para("界址点坐标表", s["h3"]),
        _para(table.crs, s["small"]),
        _table([(*COORDINATE_COLUMNS, *COORDINATE_COLUMNS), *paired], widths, s["cell"]),
    ]


def _figures(p: ParcelReport, s: dict[str, ParagraphStyle]) -> list[Flowable]:
    """The land figures across the page (one column per category: a row per unit, not twelve rows):
    the land classes up to their 合计 (shaded, a rule after it), then the quota figures."""
    rows = (*p.land, *p.quota)
    # the header turned on its side, as the HTML's (类别; 面积 over m², 公顷, 亩): two narrow label
    # columns, 面积 beside its three units, leave the categories the width one label column did
    labels, spans = _grouped_head(QUOTA_COLUMNS)
    grid = [(top, unit, *(q.cells[k] for q in rows)) for k, (top, unit) in enumerate(zip(*labels, strict=True))]
    widths = [LABEL_WIDTH, LABEL_WIDTH, *[LAND_WIDTH / len(rows)] * len(rows)]
    table = _table(grid, widths, s["cell"], numeric=range(2, len(widths)), head_columns=2, centred_head=True)
    total = len(p.land) + 1  # the 合计 column (after the two label columns)
    table.setStyle(
        TableStyle(
            [
                *(_transposed(span) for span in spans),
                ("LEFTPADDING", (0, 0), (-1, -1), 2),  # room for 100,000.00 on one line
                ("RIGHTPADDING", (0, 0), (-1, -1), 2),
                ("BACKGROUND", (0, 0), (1, -1), colors.HexColor("#eeeeee")),
                ("VALIGN", (0, 0), (-1, 0), "MIDDLE"),
                ("BACKGROUND", (total, 0), (total, -1), colors.HexColor("#eeeeee")),
                ("LINEAFTER", (total, 0), (total, -1), 1.2, colors.black),
                # a figure given in no unit (不核定, 缺图层) is one cell across the three
                *(
                    command
                    for c, q in enumerate(rows, start=2)
                    if not q.ha and not q.mu
                    for command in (("SPAN", (c, 1), (c, 3)), ("VALIGN", (c, 1), (c, 3), "MIDDLE"))
                ),
            ]
        )
    )
    return [KeepTogether([_para("用地指标核算", s["h3"]), table])]


LABEL_WIDTH = 7.5 * mm  # 面积 and 公顷 on one line at CELL_SIZE
LAND_WIDTH = 180 * mm - 2 * LABEL_WIDTH  # the categories' share of the 180 mm: 100,000.00 on a line in ten


def _transposed(command: tuple[Any, ...]) -> tuple[Any, ...]:
    """A table command for the same cells with rows and columns swapped."""
    name, (c0, r0), (c1, r1), *rest = command
    return (name, (r0, c0), (r1, c1), *rest)


# the item table's columns: #, 审查项, 结果, 涉及面积 m², 公顷, 亩, 占比, 说明 (180 mm, the page's width).
# Three area columns fit where two did because the cells are padded 2 pt a side, not ReportLab's 6:
# at CELL_SIZE each figure column holds its widest usual figure on one line (1,000,000.00 m², 100.0000 公顷,
# 1,500.00 亩, 100.00 %), its 11（补充）, 审查项 8 characters a line (the longer names take two lines
# at any width that leaves 说明 its room) and 说明 21.
ITEM_WIDTHS = [16.5 * mm, 26.5 * mm, 10.5 * mm, 19.5 * mm, 14 * mm, 13.5 * mm, 14.5 * mm, 65 * mm]
ITEM_PADDING = 2


def _items(p: ParcelReport, s: dict[str, ParagraphStyle]) -> Table:
    """审查情况: one row per item under a two-row header (涉及面积 over its three units)."""
    head, spans = _grouped_head(ITEM_COLUMNS)
    table = _table(
        [*head, *(row.cells for row in p.items)],
        ITEM_WIDTHS,
        s["cell"],
        statuses=[(n, row.status) for n, row in enumerate(p.items, start=len(head))],
        status_column=2,
        head=len(head),
        numeric=(3, 4, 5, 6),
        centred_head=True,
    )
    table.setStyle(
        TableStyle(
            [
                *spans,
                ("LEFTPADDING", (0, 0), (-1, -1), ITEM_PADDING),
                ("RIGHTPADDING", (0, 0), (-1, -1), ITEM_PADDING),
            ]
        )
    )
    return table


def _parcel_story(p: ParcelReport, drawing: Drawing, s: dict[str, ParagraphStyle]) -> list[Flowable]:
    facts = Table(
        [[_para(f.label, s["cell"]), _para(f.value, s["cell"])] for f in p.facts[1:]],
        colWidths=[20 * mm, 100 * mm],
    )
    facts.setStyle(
        TableStyle(
            [
                _FONT_ALL,
                ("GRID", (0, 0), (-1, -1), 0.3, colors.grey),
                ("BACKGROUND", (0, 0), (0, -1), colors.HexColor("#f6f6f6")),
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ("TOPPADDING", (0, 0), (-1, -1), 2),  # closer than ReportLab's 3 pt, as the other tables
                ("BOTTOMPADDING", (0, 0), (-1, -1), 2),
            ]
        )
    )
    beside = p.coordinates is not None and len(p.coordinates.rows) <= SHORT_COORDINATES
    left: list[Flowable] = [facts]
    if beside and p.coordinates is not None:  # a short 界址点坐标表 fills the space beside the sketch
        left += [
            _para("界址点坐标表", s["h3"]),
            _para(p.coordinates.crs, s["small"]),
            _table(
                [COORDINATE_COLUMNS, *(r.cells for r in p.coordinates.rows)],
                [*COORDINATE_WIDTHS, 30 * mm, 32 * mm, 24.5 * mm],
                s["cell"],
            ),
        ]
    head = Table([[left, drawing]], colWidths=[124 * mm, 56 * mm])
    head.setStyle(TableStyle([_FONT_ALL, ("VALIGN", (0, 0), (-1, -1), "TOP"), ("LEFTPADDING", (0, 0), (-1, -1), 0)]))
    verdict = ParagraphStyle("v", parent=s["verdict"], textColor=s[f"status-{p.status}"].textColor, alignment=TA_RIGHT)
    title = Table([[_para(p.heading, s["h2"]), _para(p.facts[0].text, verdict)]], colWidths=[130 * mm, 50 * mm])
    title.setStyle(TableStyle([_FONT_ALL, ("VALIGN", (0, 0), (-1, -1), "BOTTOM"), ("LEFTPADDING", (0, 0), (0, 0), 0)]))
    page: list[Flowable] = [title, head, _para("审查情况", s["h3"]), _items(p, s)]
    if p.notes:  # the heading never alone at a page's foot, when the section runs on
        first, *rest = (_para(note, s["small"]) for note in p.notes)
        page += [KeepTogether([_para("说明与所需手续", s["h3"]), first]), *rest]
    page += _figures(p, s)
    story: list[Flowable] = [
        _Continued([]),  # the pages after the last one of the parcel before begin with nothing
        PageBreak(),
        _Continued([_para(f"{p.heading}（续）", s["continued"])]),
        _OnePage(page, min_scale=PAGE_MIN_SCALE),
    ]
    if p.coordinates and not beside:
        story += _coordinates(p.coordinates, s)
    return story


class _Continued(SetPageTopFlowables):  # type: ignore[misc]  # ReportLab ships no annotations
    """What each page after the one this falls on begins with: "地块 D07 名称（续）" on the pages that continue a
    parcel's section (its items run on, its 界址点坐标表), so that a page read alone says whose it is (an
    officer's read of the PDF); its first page has the parcel's own heading. Of no size: it stays on the page where
    it falls, even a full one (ReportLab's own is not marked so, ``_ZEROSIZE``, and moved on to the next page
    would set that page's top too late)."""

    _ZEROSIZE = True


class _OnePage(KeepInFrame):  # type: ignore[misc]  # ReportLab ships no annotations
    """A parcel's page (facts, sketch, items, notes, land figures) kept on one page, shrunk as a whole when it
    runs a little over, down to ``min_scale``; by more, it runs on to the next page at full size rather than in
    type too small to read (a parcel's page is given PAGE_MIN_SCALE, its tables' text kept READABLE)."""

    def __init__(self, content: list[Flowable], *, min_scale: float = MIN_SCALE) -> None:
        # measured and drawn without its KeepTogethers (whose height is "any" until the frame splits them: the
        # page holds their content together itself); running on, it is laid out as given, kept together
        flat = [g for f in content for g in (f._content if isinstance(f, KeepTogether) else [f])]
        super().__init__(0, 0, flat, mode="shrink")  # 0: the frame's width and height
        self._as_given = content
        self._min_scale = min_scale
        self._runs_on = False

    def wrap(self, availWidth: float, availHeight: float) -> tuple[float, float]:
        self._scale = 1.0  # set by the shrink, read when drawn
        width, height = super().wrap(availWidth, availHeight)
        self._runs_on = self._scale > 1 / self._min_scale
        return (width, availHeight + 1) if self._runs_on else (width, height)  # too tall: the frame splits it

    def split(self, availWidth: float, availHeight: float) -> list[Flowable]:
        return list(self._as_given) if self._runs_on else []


def _cover(m: ReportModel, s: dict[str, ParagraphStyle], small: ParagraphStyle | None = None) -> list[Flowable]:
    """The cover: title, header, the summary, then in ``small`` print (the style's own, or tightened by
    :func:`_fitted_cover`) the notes, the basis and the data versions."""
    small = small or s["small"]
    header = Table(
        [[_para(f.label, s["base"]), _para(f.value, s["base"])] for f in m.header], colWidths=[25 * mm, 155 * mm]
    )
    header.setStyle(
        TableStyle(
            [
                _FONT_ALL,
                ("GRID", (0, 0), (-1, -1), 0.3, colors.grey),
                ("BACKGROUND", (0, 0), (0, -1), colors.HexColor("#f6f6f6")),
            ]
        )
    )
    return [
        _para(m.title, s["title"]),
        _para(m.number_line, s["number"]),
        header,
        _para("审查结论汇总", s["h3"]),
        _table(
            [SUMMARY_COLUMNS, *(row.cells for row in m.summary), m.summary_total],
            [20 * mm, 60 * mm, 52 * mm, 26 * mm, 22 * mm],  # 1,000,000.00 / 100.0000 / 1,500.00 on a line
            s["cell"],
            statuses=[(n, row.status) for n, row in enumerate(m.summary, start=1)],
            status_column=4,
        ),
        _para("说明", s["h3"]),
        *(_para(note, small) for note in m.notes),
        _para("审查依据", s["h3"]),
        *(_para(f"【{f.label}】{f.value}", small) for f in m.basis),
        *([_para("数据版本与现势性", s["h3"]), _para(data_line(m.data), small)] if m.data else []),
    ]


COVER_SPILL = 0.2  # a cover whose last page is filled less than this is tightened onto a page fewer, if it can be


class _Measured(SimpleDocTemplate):  # type: ignore[misc]  # ReportLab ships no annotations
    """A document laid out to be measured, not kept: its pages, and how far down the last one it went."""

    def afterFlowable(self, flowable: Flowable) -> None:  # ReportLab's name
        self.last = (self.page, self.frame._y)


def _fitted_cover(m: ReportModel, s: dict[str, ParagraphStyle], **page: Any) -> list[Flowable]:
    """The cover, its small print tightened (down to ``MIN_SCALE``) where it would spill a few lines onto a page of
    their own: 22 layers' 现势性, or one more basis entry, put the demo's cover's last line alone on its third page
    (a fresh pair of eyes, twice). A longer spill is left as it is, a page that reads."""

    def laid_out(scale: float) -> tuple[list[Flowable], int, float]:
        small = ParagraphStyle(f"small-{scale}", parent=s["small"], fontSize=8 * scale, leading=10.5 * scale)
        doc = _Measured(io.BytesIO(), **page)
        doc.last = (1, doc.height)
        doc.build(_cover(m, s, small))
        pages, y = doc.last
        return _cover(m, s, small), pages, 1.0 - (y - doc.bottomMargin) / doc.height

    cover, pages, filled = laid_out(1.0)
    if pages == 1 or filled >= COVER_SPILL:
        return cover
    for scale in (0.96, 0.92, 0.88, MIN_SCALE):
        tightened, fewer, _ = laid_out(scale)
        if fewer < pages:
            return tightened
    return cover


def review_report_pdf(
    result: ReviewResult,
    *,
    synthetic: bool = False,
    blueprint: Blueprint | None = None,
    issuer: Issuer | None = None,
    number: DocumentNumber | None = None,
    unverified: bool = False,
) -> bytes:
    """The report as PDF bytes: the rows and notes of :func:`geo.report_model.report_model` (as the HTML),
    a cover with the summary, one parcel per page (facts, sketch, items, land figures, 界址点坐标表),
    the signature block; page numbers, title and author in the file's metadata."""
    s = _styles()
    m = report_model(
        result, synthetic=synthetic, issuer=issuer, number=number, blueprint=blueprint, unverified=unverified
    )
    page: dict[str, Any] = {
        "pagesize": A4,
        "leftMargin": MARGINS[0] - FRAME_PADDING,
        "rightMargin": MARGINS[1] - FRAME_PADDING,
        "topMargin": MARGINS[2],
        "bottomMargin": MARGINS[3],
    }
    story = _fitted_cover(m, s, **page)
    for p, parcel in zip(m.parcels, result.parcels, strict=True):
        story += _parcel_story(p, _sketch(sketch(parcel, 52 * mm, blueprint), 52 * mm), s)
    # the conclusion and the signature as one block: on the last parcel's page when it fits, else
    # together on the next page, never a seal on a page of its own (nor under the last parcel's 续)
    story += [
        _Continued([]),
        Spacer(1, 6 * mm),
        KeepTogether(
            [
                _para(CONCLUSION_TITLE, s["h3"]),
                _para(m.conclusion, s["base"]),
                Spacer(1, 10 * mm),
                *(_para(line, s["sign"]) for line in m.signature),
            ]
        ),
    ]

    def running_head(canvas: Canvas, doc: Any) -> None:
        """The number and title in grey at every page's head, after the mark in red (grey at 7.5 pt read as
        furniture: a fresh pair of eyes): a page printed alone still says whose it is and that it is no real one."""
        canvas.saveState()
        canvas.setFont(register_font(), 7.5)
        title, right, top = "　".join(filter(None, [m.title, m.number])), A4[0] - MARGINS[1], A4[1] - 8 * mm
        width = pdfmetrics.stringWidth(title, register_font(), 7.5)
        mark = pdfmetrics.stringWidth(f"{m.mark}　", register_font(), 7.5) if m.mark else 0.0
        # a mark too long to share the line (an unverified file's) takes one of its own, above the title
        alone = bool(m.mark) and mark + width > A4[0] - MARGINS[0] - MARGINS[1]
        canvas.setFillColor(colors.grey)
        canvas.drawRightString(right, top - 3 * mm if alone else top, title)
        canvas.setFillColor(colors.HexColor(MARK_COLOUR))
        if alone:
            canvas.drawRightString(right, top, m.mark)
        elif m.mark:
            canvas.drawString(right - width - mark, top, f"{m.mark}　")
        canvas.restoreState()

    buffer = io.BytesIO()
    SimpleDocTemplate(
        buffer,
        **page,
        title=f"{m.title} {m.number}",
        author=m.issuer,
        subject=f"{result.blueprint} · {result.review_id}",
        creator="lantu",
        lang="zh-CN",
        initialFontName=register_font(),  # no Helvetica: every font in the file is embedded
    ).build(story, onFirstPage=running_head, onLaterPages=running_head, canvasmaker=CountedCanvas)
    return buffer.getvalue()


class CountedCanvas(Canvas):  # type: ignore[misc]  # ReportLab ships no annotations
    """A canvas that writes 第 n 页 共 N 页 at each page's foot once every page is laid out: a sheet missing from
    a signed set shows (a fresh pair of eyes; "— n —" said nothing of the count). Each finished page is kept as the
    canvas's state and drawn on ``save``."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._laid_out: list[dict[str, Any]] = []

    def showPage(self) -> None:
        self._laid_out.append(dict(self.__dict__))
        self._startPage()

    def save(self) -> None:
        for page in self._laid_out:
            self.__dict__.update(page)
            self.setFont(register_font(), 9)
            self.drawCentredString(A4[0] / 2, 7 * mm, page_foot(self.getPageNumber(), len(self._laid_out)))
            super().showPage()
        super().save()


def page_foot(page: int, pages: int) -> str:
    """第 n 页 共 N 页, as a report of several sheets counts them (the HTML prints the same by CSS)."""
    return f"第 {page} 页 共 {pages} 页"
