"""The PDF report as an officer reads it printed: a page of a parcel's section read alone says whose it is, and the
tables' and the sketch's text is large enough to read on an A4 sheet (an officer's read of the PDF: continuation
pages named no parcel, the tables were set in 7.5 pt and the legend in 7)."""

from __future__ import annotations

import io
import math
import re
from itertools import pairwise
from typing import Any

import geopandas as gpd
import pypdf
import pytest
from reportlab.graphics.shapes import Rect, String
from reportlab.pdfbase.pdfmetrics import stringWidth
from support import rect, star

from geo.blueprint import Blueprint
from geo.report import sketch
from geo.report_model import COORDINATE_COLUMNS, report_model
from geo.report_pdf import (
    CELL_SIZE,
    COORDINATE_WIDTHS,
    ITEM_PADDING,
    ITEM_WIDTHS,
    LABEL_WIDTH,
    READABLE,
    _sketch,
    _styles,
    review_report_pdf,
)
from geo.review import ReviewResult, review

# names as long as real ones run (up to about 60 characters, geo.review.result.MAX_NAME_CHARS): their headings and
# facts take lines enough that the parcel's items run on to the next page, or its land figures
LONG_NAME = (
    "济宁市任城区高端装备制造产业园一期标准化厂房及配套仓储物流设施与职工生活服务中心建设项目（含道路、管网等配套工程）"
)
MIDDLING_NAME = "任城区现代物流园区冷链仓储中心及配套办公用房、停车场、室外道路与综合管网工程建设项目（一期）"


def squash(text: str) -> str:
    return re.sub(r"\s+", "", text)


@pytest.fixture(scope="module")
def running_on(blueprint: Blueprint) -> ReviewResult:
    """P1, with a long name, on the fixture's farmland and paddy: its items table runs on to a second page; P2's page
    is a few lines too long: shrunk to fit its own page, its tables printed at 6.8 pt or more; P3, a star of 60 points,
    has a 界址点坐标表 that runs on after its page; P4 fits its page."""
    frame = gpd.GeoDataFrame(
        {
            "id": ["P1", "P2", "P3", "P4"],
            "name": [LONG_NAME, MIDDLING_NAME, "风电场升压站", "物流园"],
            "project_type": ["industrial"] * 4,
            "investment_wan": [5000.0] * 4,
        },
        geometry=[
            rect(2.9, 0.1, 3.1, 0.3),
            rect(1.0, 1.0, 1.2, 1.2),
            star(60, (1.9, 1.9), 0.05, 0.1),
            rect(1.3, 1.3, 1.5, 1.5),
        ],
        crs=4548,
    )
    return review(frame, blueprint)


def sections(pages: list[str], result: ReviewResult) -> dict[str, list[str]]:
    """Each parcel's pages (squashed text): from the page with its heading and verdict to the next parcel's."""
    starts = [
        next(n for n, text in enumerate(pages) if squash(f"地块 {p.id} {p.name}审查结论：") in text)
        for p in result.parcels
    ]
    return {p.id: pages[a:b] for p, a, b in zip(result.parcels, starts, [*starts[1:], len(pages)], strict=True)}


def test_each_page_that_continues_a_parcels_section_names_the_parcel(running_on: ReviewResult) -> None:
    """A page of a parcel's section after its first begins with "地块 P1 名称（续）": the items table's rows that
    ran on (under their repeated header), the notes and land figures, the long 界址点坐标表. The first page has the
    parcel's own heading and no 续; the cover, the next parcel's pages and the conclusion's own never carry one."""
    pages = [squash(p.extract_text()) for p in pypdf.PdfReader(io.BytesIO(review_report_pdf(running_on))).pages]
    if "审查情况" not in pages[-1] and "点号" not in pages[-1]:  # the conclusion on a page of its own
        assert "综合审查结论" in pages[-1] and "（续）" not in pages[-1]
        pages = pages[:-1]
    by_parcel = sections(pages, running_on)
    cover = pages[: pages.index(by_parcel["P1"][0])]
    assert cover and not any("（续）" in text for text in cover)
    for parcel in running_on.parcels:
        first, *more = by_parcel[parcel.id]
        assert "（续）" not in first, parcel.id
        for text in more:
            assert squash(f"地块 {parcel.id} {parcel.name}（续）") in text, (parcel.id, text[:120])
            assert text.count("（续）") == 1  # its heading not again, no other parcel's
            assert not any(squash(f"地块 {q.id} {q.name}") in text for q in running_on.parcels if q is not parcel)
    p1 = by_parcel["P1"]
    assert len(p1) == 2 and "审查情况" in p1[0] and "涉及面积" in p1[1]  # the items table ran on, its header again
    assert "用地指标核算" in p1[1]
    p2 = by_parcel["P2"]
    assert len(p2) == 1 and "审查情况" in p2[0] and "用地指标核算" in p2[0]  # shrunk onto its page: one each
    p3 = by_parcel["P3"]
    assert len(p3) >= 2 and "界址点坐标表" in "".join(p3)
    assert all(squash(" ".join(COORDINATE_COLUMNS)) in text for text in p3[1:])  # the coordinates ran on
    assert len(by_parcel["P4"]) == 1


def printed_sizes(pdf: bytes) -> list[tuple[str, float]]:
    """(text, size as printed in pt) of every run of text the pages set: the font's size scaled by the text matrix
    and the graphics state's (a page shrunk to fit prints its text smaller than the style says)."""
    runs: list[tuple[str, float]] = []

    def seen(text: str, cm: list[float], tm: list[float], _font: Any, size: float) -> None:
        if text.strip():
            # the height of the text space's unit square: tm then cm, (b, d) of their product
            b = tm[2] * cm[1] + tm[3] * cm[3]
            a = tm[2] * cm[0] + tm[3] * cm[2]
            runs.append((text.strip(), size * math.hypot(a, b)))

    for page in pypdf.PdfReader(io.BytesIO(pdf)).pages:
        page.extract_text(visitor_text=seen)
    return runs


def test_the_tables_text_is_printed_at_6_8_pt_or_more(running_on: ReviewResult) -> None:
    """Every figure of the items and land tables, as the printed page sets it, is 6.8 pt or more: 8.5 pt as styled,
    and no page shrunk to fit further than that (it printed 7.5 pt at 0.85, 6.4 pt)."""
    model = report_model(running_on)
    figures = {
        cell
        for p in model.parcels
        for row in (*p.items, *p.land, *p.quota)
        for cell in row.cells
        if re.fullmatch(r"[\d,]+\.\d+( %)?", cell)  # 25,600.00, 2.5600, 100.00 %: no note has them alone
    }
    runs = [(text, size) for text, size in printed_sizes(review_report_pdf(running_on)) if text in figures]
    assert len(runs) > 150  # the items' four figure columns and the land figures of four parcels
    small = [(text, round(size, 2)) for text, size in runs if size < READABLE - 1e-6]
    assert small == []
    assert READABLE >= 6.8


@pytest.mark.parametrize(
    "name", ["cell", "cell-head", "cell-num", "status-pass", "status-warn", "status-fail", "status-missing_layer"]
)
def test_the_table_styles_are_8_5_pt_with_their_leading(name: str) -> None:
    style = _styles()[name]
    assert style.fontSize >= 8.5 and style.leading >= 1.25 * style.fontSize, (style.fontSize, style.leading)
    assert style.wordWrap == "CJK"


def test_narrow_columns_hold_their_headers_on_one_line() -> None:
    """At the tables' size the 点号 and 圈号 columns of the 界址点坐标表 (6 pt padded) and the land figures' label
    columns (面积, 公顷; 2 pt padded) hold their words on one line, and the items' # holds 11（补充）."""
    font = _styles()["cell"].fontName
    for word in ("点号", "圈号"):
        assert stringWidth(word, font, CELL_SIZE) <= min(COORDINATE_WIDTHS) - 12, word
    for word in ("面积", "公顷"):
        assert stringWidth(word, font, CELL_SIZE) <= LABEL_WIDTH - 4, word
    assert stringWidth("11（补充）", font, CELL_SIZE) <= ITEM_WIDTHS[0] - 2 * ITEM_PADDING


def test_the_sketch_legend_and_scale_are_8_pt_without_overlap(running_on: ReviewResult, blueprint: Blueprint) -> None:
    """The legend's labels and the scale's at 8 pt or more, each legend row clear of the next (label and swatch),
    every label inside the drawing (its descenders too)."""
    drawn = sketch(running_on.parcels[0], 150, blueprint)
    assert drawn is not None and len(drawn.legend()) >= 3
    drawing = _sketch(drawn, 150)
    strings = [c for c in drawing.contents if isinstance(c, String)]
    assert strings and all(s.fontSize >= 8 for s in strings), sorted({s.fontSize for s in strings})
    labels = {label for _, label, _ in drawn.legend()}
    legend = sorted((s for s in strings if s.text in labels), key=lambda s: -s.y)
    assert len(legend) == len(labels)
    for upper, lower in pairwise(legend):
        # a label's glyphs reach about 0.9 em above the baseline and 0.25 em below: the rows leave room between
        assert upper.y - lower.y >= 1.15 * upper.fontSize + 2, (upper.text, lower.text)
    for s in legend:
        assert s.y - 0.25 * s.fontSize >= 0 and s.x + stringWidth(s.text, s.fontName, s.fontSize) <= drawing.width
    swatches = sorted((c for c in drawing.contents if isinstance(c, Rect) and c.width == 10), key=lambda r: -r.y)
    assert len(swatches) == len(labels)
    assert all(upper.y - lower.y > lower.height for upper, lower in pairwise(swatches))


def test_cjk_lines_keep_a_figure_with_its_chinese_unit_and_start_no_line_with_a_space() -> None:
    """At 8.5 pt the items' 说明 broke "450.00 / 亩）" and started a line with the space before "300,000.00": 公顷 and
    亩 move with their figure as m² does, and a space where a line breaks ends that line (its spare width left out)."""
    from geo.report_pdf import cjk_lines

    text = "按样例标准表核定的控制标准 300,000.00 m²（30.0000 公顷，450.00 亩）"
    for width in range(len("300,000.00 m²"), len(text)):
        lines = [line for _, line in cjk_lines(text, [1.0] * len(text), [float(width)])]
        assert "".join(lines) == text
        assert not any(line.startswith((" ", "公顷", "顷", "亩")) for line in lines), (width, lines)
        assert any("30.0000 公顷" in line for line in lines) and any("450.00 亩" in line for line in lines)
    (spare, first), *_ = cjk_lines(text, [1.0] * len(text), [14.0])
    assert first == "按样例标准表核定的控制标准 " and spare == 1.0  # the space is not counted against the line
    # a 公顷 after no figure is a word like any other
    assert [line for _, line in cjk_lines("面积公顷数", [1.0] * 5, [3.0])] == ["面积公", "顷数"]
