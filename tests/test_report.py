"""The one report model, and the HTML and PDF reports that render it: same rows, same notes."""

from __future__ import annotations

import io
import math
import re
import unicodedata
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import geopandas as gpd
import pypdf
import pytest
import shapely
from sqlalchemy import Engine
from support import STANDARD_LAYERS, land_use_layer, parcel_frame, rect, rect_blueprint, screenshot, star

from geo.blueprint import Blueprint, load_blueprint
from geo.crs import Area
from geo.opinion import opinion, opinion_markdown
from geo.papers import DocumentNumber, Issuer, document_number
from geo.report import TILING_LAYERS, review_report, sketch, sketch_svg
from geo.report_model import (
    AREA_NOTE,
    CONCLUSION_TITLE,
    COORDINATE_COLUMNS,
    ITEM_COLUMNS,
    NOT_SET,
    QUOTA_COLUMNS,
    REPAIRED_NOTE,
    STOCK_LAND,
    SUPPLEMENTARY,
    SYNTHETIC_MARK,
    SYNTHETIC_NOTE,
    TOTAL,
    UNCOVERED,
    UNITS_NOTE,
    report_model,
    tolerance_note,
    without_area,
)
from geo.report_pdf import CJKParagraph, cjk_lines, register_font, review_report_pdf
from geo.review import ReviewResult, review
from geo.review.result import ToleranceRule

X0, Y0 = 464_000.0, 3_918_000.0  # the fixture blueprint's origin in EPSG:4548 (see tests/conftest.py)


def km_box(x1: float, y1: float, x2: float, y2: float) -> shapely.Polygon:
    return shapely.box(X0 + x1 * 1000, Y0 + y1 * 1000, X0 + x2 * 1000, Y0 + y2 * 1000)


def reviewed(blueprint: Blueprint, names: list[str], ids: list[str] | None = None) -> ReviewResult:
    """Parcels across the fixture's farmland and town boundary, so items pass, warn and fail."""
    boxes = [km_box(2.9, 0.1, 3.1, 0.3), km_box(1.0, 1.0, 1.2, 1.2), km_box(1.9, 1.9, 2.1, 2.1)]
    frame = gpd.GeoDataFrame(
        {
            "id": ids or [f"P{n}" for n in range(1, len(names) + 1)],
            "name": names,
            "project_type": ["industrial"] * len(names),
            "investment_wan": [5000.0] * len(names),
        },
        geometry=boxes[: len(names)],
        crs=4548,
    )
    return review(frame, blueprint)


@pytest.fixture(scope="module")
def result(blueprint: Blueprint) -> ReviewResult:
    out = reviewed(blueprint, ["农机装配厂", "物流园 A&B", "工业园<b>"])
    out.parcels[1].repaired = True  # the flag the engine sets when make_valid kept the area
    return out


class _Text(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.parts: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self._skip += tag in ("style", "title", "script")

    def handle_endtag(self, tag: str) -> None:
        self._skip -= tag in ("style", "title", "script")

    def handle_data(self, data: str) -> None:
        if not self._skip:
            self.parts.append(data)


def squash(text: str) -> str:
    """Whitespace removed: PDF lines wrap anywhere, and HTML cells break lines at will."""
    return re.sub(r"\s+", "", text)


def html_text(page: str) -> str:
    parser = _Text()
    parser.feed(page)
    return squash("".join(parser.parts))


def pdf_texts(pdf: bytes) -> str:
    """The text of every page without its furniture (page number, running header, a continued
    parcel's heading), which may fall inside a paragraph that continues on the next page."""
    pages = [p.extract_text() for p in pypdf.PdfReader(io.BytesIO(pdf)).pages]
    furniture = re.compile(
        rf"^(第 \d+ 页 共 \d+ 页|{SYNTHETIC_MARK}\u3000|建设项目落地可行性审查报告\u3000.*|地块 .*（续）)$", re.M
    )
    return squash("".join(furniture.sub("", page) for page in pages))


def test_html_and_pdf_show_every_row_and_note_of_the_model(result: ReviewResult) -> None:
    model = report_model(result, synthetic=True)
    shown_html = html_text(review_report(result, synthetic=True))
    shown_pdf = pdf_texts(review_report_pdf(result, synthetic=True))
    texts = model.texts()
    assert len(texts) > 100
    missing_html = [t for t in texts if squash(t) not in shown_html]
    missing_pdf = [t for t in texts if squash(t) not in shown_pdf]
    assert missing_html == []
    assert missing_pdf == []
    # what the PDF used to lack: the share column, the supplementary marker, the repaired note
    for needle in ("占比", SUPPLEMENTARY, REPAIRED_NOTE, SYNTHETIC_NOTE, "工业园<b>"):
        assert squash(needle) in shown_pdf and squash(needle) in shown_html
    # a page printed alone still says it is no real review: the mark on every page's running head
    pages = [p.extract_text() for p in pypdf.PdfReader(io.BytesIO(review_report_pdf(result, synthetic=True))).pages]
    assert all(SYNTHETIC_MARK in page and "建设项目落地可行性审查报告\u3000" in page for page in pages)
    assert squash(SYNTHETIC_MARK) in shown_html
    assert SYNTHETIC_MARK not in pypdf.PdfReader(io.BytesIO(review_report_pdf(result))).pages[0].extract_text()


def test_model_rows_and_marks(result: ReviewResult) -> None:
    model = report_model(result)
    parcel = model.parcels[0]
    items = result.parcels[0].items
    assert len(parcel.items) == len(items)
    for n, (row, item) in enumerate(zip(parcel.items, items, strict=True), start=1):
        assert row.index == (f"{n}{SUPPLEMENTARY}" if item.supplementary else str(n))
        assert row.share == f"{item.overlap_ratio * 100:.2f} %"
        assert row.message == without_area(item.message_zh, item.overlap_m2)
        assert row.overlap_m2 not in AREA_NOTE.findall(row.message)  # the column states the item's total
    assert any(item.supplementary for item in items)
    assert [p.notes.count(REPAIRED_NOTE) for p in model.parcels] == [0, 1, 0]
    assert SYNTHETIC_NOTE not in model.notes and SYNTHETIC_NOTE in report_model(result, synthetic=True).notes
    assert [r.name for r in parcel.land][:3] == ["农用地", "其中耕地", "其中水田"]


def test_notes_come_from_the_result(result: ReviewResult) -> None:
    notes = " ".join(report_model(result).notes)
    assert "质心" in notes and "EPSG:4548" in notes
    assert "容差（1平方米与地块面积的0.01%两者中的较大值）" in notes and "max(" not in notes
    label = next(i.facts.table_label for i in result.parcels[0].items if i.facts.table_label)
    assert label and f"建设用地控制标准依据：{label}" in notes

    pinned = result.model_copy(update={"area_crs": "EPSG:4548", "tolerance": ToleranceRule(min_m2=5.0, ratio=0.002)})
    notes = " ".join(report_model(pinned).notes)
    assert "质心" not in notes and "蓝图指定的投影坐标系 EPSG:4548" in notes
    assert "容差（5平方米与地块面积的0.2%两者中的较大值）" in notes and "0.01%" not in notes

    relabelled = result.model_copy(deep=True)
    for parcel in relabelled.parcels:
        for item in parcel.items:
            if item.facts.table_label:
                item.facts.table_label = "山东省建设用地控制标准（2024）"
    notes = " ".join(report_model(relabelled).notes)
    assert "山东省建设用地控制标准（2024）" in notes and label not in notes

    older = result.model_copy(update={"tolerance": None})
    assert "各地块容差" in " ".join(report_model(older).notes)
    assert report_model(older).parcels[0].facts[-1].label == "容差"


def test_pdf_embeds_its_cjk_font_and_sets_metadata(result: ReviewResult) -> None:
    """The issue's archive test: every font in the file is embedded (a subset), the text is Chinese,
    pages are numbered, title and author are set, statuses are coloured."""
    pdf = review_report_pdf(result, issuer=Issuer(unit="济宁市自然资源和规划局", code="济自然资审"))
    reader = pypdf.PdfReader(io.BytesIO(pdf))
    fonts = {}
    for page in reader.pages:
        for font in page["/Resources"]["/Font"].values():
            font = font.get_object()
            descendant = font["/DescendantFonts"][0].get_object() if "/DescendantFonts" in font else font
            fonts[str(font["/BaseFont"])] = descendant["/FontDescriptor"].get_object()
    assert fonts, "no font at all"
    for name, descriptor in fonts.items():
        assert "/FontFile2" in descriptor, f"{name} is not embedded"
        assert re.fullmatch(r"/?[A-Z]{6}\+.+", name), f"{name} is not a subset"
    text = "".join(p.extract_text() for p in reader.pages)
    assert "建设项目落地可行性审查报告" in text and "永久基本农田" in text
    assert "25°" in text and "25 °" not in text and "m²" in text  # the font has the signs
    assert not [line for line in text.splitlines() if line.rstrip().endswith(("（", "〔", "【", "“", "《"))]
    assert not [line for line in text.splitlines() if line.lstrip().startswith(("）", "，", "。", "、", "；"))]
    # every sheet counted, so that one missing from a signed set shows (a fresh pair of eyes): 第 n 页 共 N 页
    counted = [squash(f"第 {n} 页 共 {len(reader.pages)} 页") for n in range(1, len(reader.pages) + 1)]
    assert all(foot in squash(p.extract_text()) for foot, p in zip(counted, reader.pages, strict=True))
    assert reader.metadata is not None
    assert reader.metadata.title.startswith("建设项目落地可行性审查报告 济自然资审〔")
    assert reader.metadata.author == "济宁市自然资源和规划局"
    assert b".776471 .156863 .156863 rg" in b"".join(p.get_contents().get_data() for p in reader.pages)  # #c62828


def test_pdf_puts_each_parcel_on_its_own_page(result: ReviewResult) -> None:
    """Each parcel from the top of a page of its own; a section that runs on goes on to pages that say whose
    they are (地块 P1 名称（续）: tests/test_report_pdf_layout.py), never onto the next parcel's."""
    reader = pypdf.PdfReader(io.BytesIO(review_report_pdf(result)))
    pages = [squash(page.extract_text()) for page in reader.pages]
    headings = [squash(f"地块 {parcel.id} {parcel.name}") for parcel in result.parcels]
    on = [[n for n, text in enumerate(pages) if h in text and f"{h}（续）" not in text] for h in headings]
    assert all(len(found) == 1 for found in on), on
    assert len({found[0] for found in on}) == len(headings)
    assert all(sum(h in text for h in headings) <= 1 for text in pages)  # no page holds two parcels
    assert len(pages) <= 2 * len(headings) + 1  # the cover, then a page or two per parcel


def test_cjk_lines_hang_a_full_width_comma() -> None:
    text = "面积占比 0.0%，未超过限值"
    lines = cjk_lines(text, [1.0] * len(text), [len("面积占比 0.0%")])
    assert lines[0][1] == "面积占比 0.0%，" and lines[1][1].startswith("未")


def test_a_hanging_mark_stays_inside_a_text_cell() -> None:
    """A 说明 cell's "；" after "（占一补一）" hung past the cell's border into the page's margin (an officer's read
    of the PDF): a text's cell keeps room for the two marks that hang ("）；"), so no line is wider than the cell."""
    from reportlab.lib.styles import ParagraphStyle
    from reportlab.pdfbase.pdfmetrics import stringWidth

    font = register_font()
    style = ParagraphStyle("t", fontName=font, fontSize=9.5, leading=13.5, wordWrap="CJK")
    text = "落实耕地占补平衡（占一补一）；补充耕地数量和粮食产能不低于所占，占水田补水田（占一补一）；" * 3
    for width in (90.0, 110.0, 133.0, 151.5):
        para = CJKParagraph(text, style)
        para.wrap(width, 10_000)
        lines = ["".join(line) for _, line in para.blPara.lines]
        assert "".join(lines) == text
        assert all(stringWidth(line, font, 9.5) <= width + 0.01 for line in lines), (width, lines)
        assert not any(line.startswith(("；", "）")) for line in lines)
        assert all(spare >= -0.01 for spare, _ in para.blPara.lines)  # spare against the whole width: aligned right
    # no room is taken where nothing hangs: a figure fills its narrow cell on one line, a title keeps its centre
    for text, width in (("25,600.00", 60.0), ("建设项目落地审查意见", 400.0), ("落实耕地占补平衡", 150.0)):
        para = CJKParagraph(text, style)
        para.wrap(width, 10_000)
        (only,) = para.blPara.lines
        assert only[0] == pytest.approx(width - stringWidth(text, font, 9.5)), text


def test_cjk_lines_keep_brackets_and_units() -> None:
    text = "涉及面积12.5 m²（坡度25°）"
    lines = cjk_lines(text, [1.0] * len(text), [6.0])
    assert "".join(line for _, line in lines) == text
    assert not any(line.endswith(("（", "〔", "“")) for _, line in lines)
    assert not any(line.startswith(("）", "。", "°", "，")) for _, line in lines)
    assert any("12.5" in line for _, line in lines) and any("25°" in line for _, line in lines)
    assert all(spare >= -1.0 for spare, _ in lines)  # at most one hanging closing mark


def test_tables_and_drawings_stand_within_the_margins(result: ReviewResult, blueprint: Blueprint) -> None:
    """The tables are 180 mm wide, the width between the margins, but ReportLab's frame padded them 6 pt inside:
    a left-aligned table ended 6 pt past the right margin (a fresh pair of eyes on the demo's PDF). Every line and
    rectangle the pages draw (grids, rules, sketches), read from the content streams, is within 15 mm of the edges."""
    from reportlab.lib.pagesizes import A4

    from geo.report_pdf import MARGINS

    reader = pypdf.PdfReader(io.BytesIO(review_report_pdf(result, blueprint=blueprint)))
    drawn = 0
    for number, page in enumerate(reader.pages, start=1):
        xs: list[float] = []

        def seen(op: bytes, args: list[Any], cm: list[float], _tm: list[float], xs: list[float] = xs) -> None:
            if op in (b"m", b"l"):
                ends = [args[:2]]
            elif op == b"re":
                ends = [args[:2], [args[0] + args[2], args[1]]]
            else:
                return
            xs.extend(float(x) * cm[0] + float(y) * cm[2] + cm[4] for x, y in ends)

        page.extract_text(visitor_operand_before=seen)
        drawn += bool(xs)
        assert all(MARGINS[0] - 0.5 <= x <= A4[0] - MARGINS[1] + 0.5 for x in xs), (number, min(xs), max(xs))
    assert drawn >= len(result.parcels)  # the cover's tables and each parcel's were read


def test_cjk_lines_keep_a_figure_with_its_unit_and_a_number_with_its_hao() -> None:
    """The demo's PDF broke "约 6,400.00 / m²" (the next line starting with a space) and "〔2020〕127 / 号" (a fresh
    pair of eyes): a space between a figure and its unit, and 号 after a number's digits, move with the run."""
    for text, kept in (
        ("坡度占比约 6,400.00 m²，本方案取值", "6,400.00 m²"),
        ("依据自然资办函〔2020〕127号）", "127号"),
    ):
        for width in range(4, len(text)):
            lines = [line for _, line in cjk_lines(text, [1.0] * len(text), [float(width)])]
            assert "".join(lines) == text
            if width >= len(kept):  # room for the run on a line of its own: never split
                assert any(kept in line for line in lines), (width, lines)
                assert not any(line.startswith((" ", "号")) for line in lines), (width, lines)


def test_coordinate_table_in_the_zone_with_three_decimals(result: ReviewResult) -> None:
    table = report_model(result).parcels[0].coordinates
    assert table is not None and "第39带" in table.crs and "EPSG:4527" in table.crs
    rows = table.rows
    assert len(rows) == 5 and rows[0].point == rows[-1].point == "J1"
    # km_box(2.9, 0.1, 3.1, 0.3): north-western corner first, clockwise, Y with the zone number in front
    # (the result keeps EPSG:4490 to 1e-7°: a corner comes back within a centimetre)
    corners = sorted((round(float(r.x)), round(float(r.y))) for r in rows[:4])
    expected = sorted((Y0 + y, 39_000_000 + X0 + x) for x in (2900.0, 3100.0) for y in (100.0, 300.0))
    assert corners == expected
    assert float(rows[0].x) == pytest.approx(Y0 + 300, abs=0.01)  # north-western corner first
    assert float(rows[0].y) == pytest.approx(39_000_000 + X0 + 2900, abs=0.01)
    assert all(re.fullmatch(r"\d+\.\d{3}", c) for r in rows for c in (r.x, r.y))
    assert [float(r.side) for r in rows[:4]] == pytest.approx([200.0] * 4, abs=0.02) and rows[-1].side == ""


def test_header_in_chinese_and_beijing_time(result: ReviewResult) -> None:
    model = report_model(result.model_copy(update={"created": "2026-12-31T17:30:00+00:00"}))
    facts = {f.label: f.value for f in model.header}
    assert facts["审查方案"] == "十项落地可行性审查"
    assert facts["审查时间"] == "2027年1月1日 01:30（北京时间）"
    assert facts["审查编号"] == model.number and facts["系统记录号"] == result.review_id
    assert "草稿" in model.number  # no database: a draft, and it says so
    parcel = {f.label: f.value for f in model.parcels[0].facts}
    assert parcel["项目类型"] == "工业项目" and "industrial" not in parcel["项目类型"]
    assert "第39带" in parcel["计算坐标系"]
    numbered = report_model(result, number=DocumentNumber(2026, 7, datetime(2026, 3, 5, tzinfo=UTC), "济自然资审"))
    assert numbered.number == "济自然资审〔2026〕第7号" and numbered.date == "2026年3月5日"
    assert numbered.signature[-2:] == ("2026年3月5日", "（盖章）")


def test_sketch_shows_layers_around_scale_and_north(result: ReviewResult, blueprint: Blueprint) -> None:
    parcel = result.parcels[0]
    drawn = sketch(parcel, 260, blueprint)
    assert drawn is not None
    assert "basic_farmland" in {d.layer for i in parcel.items for d in i.details if d.status == "fail"}
    assert "basic_farmland" in {c.layer for c in drawn.context} and not TILING_LAYERS & {c.layer for c in drawn.context}
    assert drawn.scale_m == 50.0  # a 200 m parcel in a 340 m window: a quarter is 85 m, the bar 50 m
    svg = sketch_svg(drawn)
    assert ">北</text>" in svg and "50 m" in svg
    for colour, label, _ in drawn.legend():
        assert colour in svg and label in svg
    alone = sketch(parcel, 260)  # without the blueprint: the pieces only, still scaled
    assert alone is not None and alone.context == []


def test_document_numbers_run_per_year_one_per_review(engine: Engine) -> None:
    issuer = Issuer(code="济自然资审")
    december = datetime(2026, 12, 31, 15, 0, tzinfo=UTC)  # 23:00 in Beijing: still 2026
    january = datetime(2026, 12, 31, 16, 30, tzinfo=UTC)  # 00:30 on 1 January 2027 in Beijing
    first = document_number(engine, "r1", issuer, now=december)
    assert first.text == "济自然资审〔2026〕第1号" and first.date_zh == "2026年12月31日"
    assert document_number(engine, "r2", issuer, now=december).seq == 2
    assert document_number(engine, "r1", issuer, now=january) == first  # the same review keeps its number
    new_year = document_number(engine, "r3", issuer, now=january)
    assert (new_year.year, new_year.seq, new_year.date_zh) == (2027, 1, "2027年1月1日")


def test_document_numbers_never_double_under_concurrency(engine: Engine) -> None:
    issuer = Issuer()
    with ThreadPoolExecutor(max_workers=6) as pool:
        numbers = list(pool.map(lambda n: document_number(engine, f"r{n % 12}", issuer), range(36)))
    by_review = {}
    for n, number in enumerate(numbers):
        by_review.setdefault(f"r{n % 12}", set()).add(number.seq)
    assert all(len(seqs) == 1 for seqs in by_review.values())  # one number per review
    assert sorted(s for seqs in by_review.values() for s in seqs) == list(range(1, 13))  # no gap, no double


def test_html_report_prints_a_page_per_parcel_in_chromium(
    result: ReviewResult, blueprint: Blueprint, browser: Any
) -> None:
    """The HTML report as a person prints it from a browser: A4, every parcel starting its own page,
    the sketch drawn with its legend; a screenshot and the printed PDF are kept in build/screenshots/."""
    page = browser.new_page(viewport={"width": 1000, "height": 1400})
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    page.set_content(review_report(result, blueprint=blueprint, issuer=Issuer(unit="济宁市自然资源和规划局")))
    assert page.locator("section.parcel").count() == len(result.parcels)
    assert page.locator("figure.sketch svg").count() == len(result.parcels)
    assert page.locator("figure.sketch svg >> text=北").count() == len(result.parcels)
    assert page.locator("td.status.fail").count() >= 1
    page.locator("section.parcel").first.screenshot(path=str(screenshot("report-parcel.png")))
    printed = page.pdf(format="A4", print_background=True)
    screenshot("report-printed.pdf").write_bytes(printed)
    # Chromium's text maps some glyphs to Kangxi radicals (⽬ for 目): NFKC folds them back
    pages = [
        unicodedata.normalize("NFKC", squash(p.extract_text())) for p in pypdf.PdfReader(io.BytesIO(printed)).pages
    ]
    headings = [squash(f"地块 {parcel.id} {parcel.name}") for parcel in result.parcels]
    on = [[n for n, text in enumerate(pages) if h in text] for h in headings]
    assert [len(found) for found in on] == [1] * len(headings), (on, [t[:60] for t in pages])
    assert len({found[0] for found in on}) == len(headings)  # a new page for every parcel
    assert errors == []
    page.close()


# what the report's print rules leave a parcel on A4, read from the page itself in print media: the @page margins
# (mm) and the strip the body keeps free for the mark on every page; and each parcel section's height, laid out at
# the width between the margins
_PRINT_BOX = """() => {
  const page = [...document.styleSheets].flatMap(s => [...s.cssRules]).find(r => r instanceof CSSPageRule).style;
  const mm = v => parseFloat(v) * (v.endsWith('px') ? 25.4 / 96 : 1);
  return {top: mm(page.marginTop), bottom: mm(page.marginBottom), side: mm(page.marginLeft) + mm(page.marginRight),
          strip: mm(getComputedStyle(document.body).paddingTop)};
}"""
_SECTIONS = (
    """() => [...document.querySelectorAll('section.parcel')].map(s => s.getBoundingClientRect().height * 25.4 / 96)"""
)
A4_MM = (210.0, 297.0)


@pytest.mark.parametrize("synthetic", [True, False], ids=["demo", "real"])
def test_html_report_prints_a_parcel_from_the_top_of_a_page_with_the_mark_on_every_page(
    blueprint: Blueprint, browser: Any, synthetic: bool
) -> None:
    """Printed as a browser prints it (the page's own A4 and margins): every parcel's heading opens a page; the
    demo's mark is on every page (and on none of a real review's); a parcel whose section fits the page's height
    takes one page, a longer one (a star of 150 corners, its coordinates beside the sketch) no more pages than
    its height needs and one more for a block kept whole, its coordinate table's header on each of them. The
    printed PDF and a screenshot of the first parcel in print are kept in build/screenshots/."""
    frame = gpd.GeoDataFrame(
        {
            "id": ["P1", "P2", "P3"],
            "name": ["农机装配厂", "星形地块", "工业园"],
            "project_type": ["industrial"] * 3,
            "investment_wan": [5000.0] * 3,
        },
        geometry=[km_box(2.9, 0.1, 3.1, 0.3), star(150, (1.1, 1.1), 0.05, 0.1), km_box(1.9, 1.9, 2.1, 2.1)],
        crs=4548,
    )
    result = review(frame, blueprint)
    kind = "demo" if synthetic else "real"
    page = browser.new_page()
    page.set_content(review_report(result, blueprint=blueprint, synthetic=synthetic))
    page.emulate_media(media="print")
    box = page.evaluate(_PRINT_BOX)
    page.set_viewport_size({"width": round((A4_MM[0] - box["side"]) * 96 / 25.4), "height": 1000})
    room = A4_MM[1] - box["top"] - box["bottom"] - box["strip"]  # mm of content a page holds
    heights = page.evaluate(_SECTIONS)
    cover = page.evaluate("() => document.querySelector('section.parcel').getBoundingClientRect().top") * 25.4 / 96
    page.locator("section.parcel").first.screenshot(path=str(screenshot(f"report-print-parcel-{kind}.png")))
    printed = page.pdf(prefer_css_page_size=True, print_background=True)
    screenshot(f"report-print-{kind}.pdf").write_bytes(printed)
    page.close()

    # Chromium's text maps some glyphs to Kangxi radicals (⽬ for 目): NFKC folds them back
    texts = [
        unicodedata.normalize("NFKC", squash(p.extract_text())) for p in pypdf.PdfReader(io.BytesIO(printed)).pages
    ]
    mark = unicodedata.normalize("NFKC", squash(SYNTHETIC_MARK))
    assert [mark in t for t in texts] == [synthetic] * len(texts)
    # each sheet says whose it is, in the running head (title and number, as the PDF's), and is counted (第 n 页 共 N
    # 页: one missing from a signed set shows; 页 comes out as the radical ⻚); a fresh pair of eyes on the papers
    model = report_model(result, synthetic=synthetic, blueprint=blueprint)
    head = unicodedata.normalize("NFKC", squash(f"{model.title}{model.number}"))
    assert [t.startswith(head) for t in texts] == [True] * len(texts), [t[:40] for t in texts]
    texts = [t[len(head) :] for t in texts]
    foot = [re.match(r"第(\d+)[页⻚]共(\d+)[页⻚]", t) for t in texts]
    assert [(int(f[1]), int(f[2])) if f else None for f in foot] == [(n, len(texts)) for n in range(1, len(texts) + 1)]
    bodies = [t[f.end() :].replace(mark, "") for t, f in zip(texts, foot, strict=True) if f]  # without foot and mark
    starts = [
        [n for n, b in enumerate(bodies) if b.startswith(squash(f"地块 {p.id} {p.name}"))] for p in result.parcels
    ]
    assert [len(s) for s in starts] == [1] * len(result.parcels), [b[:30] for b in bodies]
    first = [s[0] for s in starts]
    spans = [b - a for a, b in zip(first, [*first[1:], len(texts)], strict=True)]  # the last one's with the closing
    assert box["strip"] > 0 if synthetic else box["strip"] == 0
    # the pages a parcel may take: one when its section fits a page; else what its height needs, and one more for
    # a block kept whole (the land and quota tables with their heading) pushed to the next page
    need = [1 if h <= room else math.ceil(h / room) + 1 for h in heights]
    assert first[0] <= math.ceil(cover / room)
    assert [min(s, n) for s, n in zip(spans[:-1], need, strict=False)] == spans[:-1], (heights, room, spans)
    assert spans[-1] <= need[-1] + 1  # the closing after the last parcel, on its page or the next
    assert heights[2] <= room  # a rectangle's page holds all of it, as the PDF's does (P1's, with four notes, too)
    assert heights[1] > room  # the star's coordinates run on: two pages or more, the table's header on each
    coordinates = [n for n in range(first[1], first[2]) if re.search(r"J\d+1\d{7}\.\d{3}", bodies[n])]
    assert len(coordinates) >= 2
    header = unicodedata.normalize("NFKC", "".join(COORDINATE_COLUMNS[:4]))  # 边长's 长 comes out as the radical ⻓
    assert all(header in bodies[n] for n in coordinates), [bodies[n][:40] for n in coordinates]
    bound = math.ceil(cover / room) + sum(need) + 1  # the cover, each parcel, the closing
    assert len(texts) <= bound, (len(texts), bound)


def test_notes_name_layers_in_chinese_and_the_data_version(result: ReviewResult) -> None:
    notes = " ".join(report_model(result).notes)
    assert "永久基本农田" in notes and "饮用水水源保护区（一级）" in notes
    assert "basic_farmland" not in notes and "water_source" not in notes
    assert result.blueprint_version  # the blueprint's build date + content hash (issue 11)
    assert {f.label: f.value for f in report_model(result).header}["蓝图版本"] == result.blueprint_version
    assert "蓝图版本" not in {
        f.label for f in report_model(result.model_copy(update={"blueprint_version": None})).header
    }
    versioned = result.model_copy(update={"blueprint_version": "2026-12-01+3f9a2c"})
    assert {f.label: f.value for f in report_model(versioned).header}["蓝图版本"] == "2026-12-01+3f9a2c"
    assert "数据版本 2026-12-01+3f9a2c" in " ".join(opinion(versioned).notes)


def test_cjk_lines_hang_a_run_of_closing_marks() -> None:
    text = "依据第二十条（依据）。下一句"
    lines = cjk_lines(text, [1.0] * len(text), [len("依据第二十条（依据")])
    assert lines[0][1] == "依据第二十条（依据）。" and lines[1][1] == "下一句"


def test_land_classes_add_up_to_the_parcel_with_the_gap_named(tmp_path: Path) -> None:
    """Issue 13 (demo D15): the classes left 578.93 m² unexplained where the 三调 layer does not reach.
    Here the land-use cell (3,3) is missing: a 1 km² parcel on (2.5–3.5)² has 0.75 km² of 0601
    建设用地 and 0.25 km² no 图斑 covers; the rows name it and add up to the 合计, the parcel's area."""
    layers = {**STANDARD_LAYERS, "land_use": [row for row in land_use_layer() if row[0][:2] != (3, 3)]}
    bp = load_blueprint(rect_blueprint(tmp_path / "gap", layers))
    frame = parcel_frame(rect(2.5, 2.5, 3.5, 3.5), id="G1", project_type="industrial", investment_wan=50000.0)
    result = review(frame, bp)
    parcel = report_model(result).parcels[0]
    rows = {r.name: r for r in parcel.land}
    assert rows["建设用地"].m2 == "750,000.00" and rows[UNCOVERED].m2 == "250,000.00"
    assert rows[UNCOVERED].mu == "375.00"
    total = parcel.land[-1]
    assert total.name == TOTAL and total.total and total.m2 == "1,000,000.00" and total.mu == "1,500.00"
    parts = [float(r.m2.replace(",", "")) for r in parcel.land if not r.total and not r.name.startswith("其中")]
    assert sum(parts) == pytest.approx(1_000_000.0, abs=0.001)
    gap = "地块有 250,000.00 m²（25.0000 公顷，375.00 亩）未被土地利用现状图层覆盖"
    assert any(gap in note for note in parcel.notes)
    quota = opinion(result).parcels[0].quota
    assert "未被土地利用现状图层覆盖250,000.00平方米（25.0000公顷，375.00亩），其地类未能核实" in quota
    shown_pdf = pdf_texts(review_report_pdf(result))
    shown_html = html_text(review_report(result))
    for text in (UNCOVERED, "250,000.00", "1,000,000.00"):
        assert squash(text) in shown_pdf and squash(text) in shown_html


def test_land_classes_without_a_gap_have_no_gap_row(result: ReviewResult) -> None:
    for parcel in report_model(result).parcels:
        names = [r.name for r in parcel.land]
        assert UNCOVERED not in names and names[-1] == TOTAL
        assert [r.name for r in parcel.quota][:3] == [STOCK_LAND, "新增建设用地指标", "占补平衡指标"]


# a unit followed by a figure is no figure's unit but a row label of the PDF's land table (面积 | m² | 公顷 |
# 亩 down its first columns), which a page's text, whitespace squashed, puts after the row above's last figure
AREA_FIGURE = re.compile(r"(\d[\d,]*(?:\.\d+)?) ?(m²|平方米|公顷|亩)(?![/（(\d])")
DIGITS = {"m²": 2, "平方米": 2, "公顷": 4, "亩": 2}


def area_figures(text: str, result: ReviewResult) -> list[tuple[str, str]]:
    """Every area written in ``text`` with its unit, the units note (1 亩 = 666.67 m²) and the
    profile's configured tolerance (1平方米) left out: they are definitions, not measured areas."""
    for note in (UNITS_NOTE, tolerance_note(result), "本意见依据“一张蓝图”现有数据"):
        text = text.replace(squash(note), "").replace(note, "")
    return AREA_FIGURE.findall(text)


def test_one_rounding_rule_for_areas_on_every_paper(result: ReviewResult) -> None:
    """m² to 2 decimals, 公顷 to 4, 亩 to 2 — in the report, the PDF and the 审查意见 alike (the rows once
    had 1 decimal and the facts 2, and the rules' messages 1)."""
    model = report_model(result)
    for p in model.parcels:
        for row in p.items:
            assert re.fullmatch(r"[\d,]+\.\d{2}", row.overlap_m2) and re.fullmatch(r"[\d,]+\.\d{2}", row.overlap_mu)
        for q in (*p.land, *p.quota):  # a rejected or partly unreviewed parcel is allotted no quota (不核定)
            assert re.fullmatch(r"[\d,]+\.\d{2}", q.m2) or (
                p.status in ("fail", "missing_layer") and q.m2 == NOT_SET
            ), q
    papers = {
        "html": html_text(review_report(result)),
        "pdf": pdf_texts(review_report_pdf(result)),
        "opinion": opinion_markdown(opinion(result)),
    }
    for name, text in papers.items():
        figures = area_figures(text, result)
        assert len(figures) > 10, name
        wrong = [(n, u) for n, u in figures if len(n.partition(".")[2]) != DIGITS[u]]
        assert wrong == [], name


def test_summary_has_a_total_row(result: ReviewResult) -> None:
    model = report_model(result)
    total = sum(p.area_m2 for p in result.parcels)
    assert model.summary_total[:2] == (TOTAL, f"{len(result.parcels)} 宗")
    assert model.summary_total[2].startswith(f"{total:,.2f} / {total / 10_000:,.4f} / ")
    assert f"{len(result.parcels)} 宗" in model.conclusion and f"{total:,.2f} m²" in model.conclusion
    for p in result.parcels:
        assert p.id in model.conclusion


def test_pdf_keeps_the_signature_with_the_conclusion(result: ReviewResult) -> None:
    """The seal never sits alone on the last page: the 综合审查结论 goes with it (ReportLab KeepTogether)."""
    pages = [squash(p.extract_text()) for p in pypdf.PdfReader(io.BytesIO(review_report_pdf(result))).pages]
    last = pages[-1]
    assert "（盖章）" in last and CONCLUSION_TITLE in last
    assert squash(report_model(result).conclusion)[:40] in last
    assert sum("（盖章）" in page for page in pages) == 1


def test_sketch_legend_swatches_have_the_fills_opacity(result: ReviewResult, blueprint: Blueprint) -> None:
    """The legend once showed opaque swatches for translucent fills: a swatch now looks like its fill,
    in the SVG (HTML report) and in the ReportLab drawing (PDF)."""
    from reportlab.graphics.shapes import Polygon, Rect

    from geo.report_pdf import _sketch

    drawn = sketch(result.parcels[0], 260, blueprint)
    assert drawn is not None
    legend = drawn.legend()
    assert {alpha for _, _, alpha in legend} == {0.18, 0.85}  # layers around, and pieces
    svg = sketch_svg(drawn)
    fills = set(re.findall(r'<path d="[^"]*" fill-rule="evenodd" fill="(#\w+)" fill-opacity="([\d.]+)"', svg))
    swatches = set(
        re.findall(r'<rect x="2" y="[\d.]+" width="14" height="10" fill="(#\w+)" fill-opacity="([\d.]+)"', svg)
    )
    assert swatches == {(colour, str(alpha)) for colour, _, alpha in legend} and swatches <= fills
    drawing = _sketch(drawn, 150)
    shapes = [c for c in drawing.contents if c.fillColor is not None]
    polygon_fills = {(c.fillColor.hexval(), c.fillColor.alpha) for c in shapes if isinstance(c, Polygon)}
    legend_fills = {(c.fillColor.hexval(), c.fillColor.alpha) for c in shapes if isinstance(c, Rect) and c.width == 10}
    assert len(legend_fills) == len(legend) and legend_fills <= polygon_fills


def test_sketch_scale_label_clear_of_the_bar(result: ReviewResult) -> None:
    """On a small parcel the bar is short: its length is written after the bar's end, never over "0"."""
    small = result.model_copy(deep=True).parcels[0]
    drawn = sketch(small, 150)
    assert drawn is not None
    svg = sketch_svg(drawn)
    bar = re.search(r'<rect x="([\d.]+)" y="[\d.]+" width="([\d.]+)" height="4" fill="#000"/>', svg)
    label = re.search(r'<text x="([\d.]+)" y="[\d.]+" class="scale-label">([^<]+)</text>', svg)
    assert bar and label and label[2] == drawn.scale_label
    assert float(label[1]) > float(bar[1]) + float(bar[2])  # starts right of the bar's end


def test_sketch_frame_is_whole_and_the_north_arrow_on_a_white_ground(result: ReviewResult) -> None:
    """The frame's line lay on the sketch's edge, half of it cut off, and the layers' lines ran through the north
    arrow (a fresh pair of eyes): the frame lies half a line in, the arrow and 北 on a white ground as the scale."""
    drawn = sketch(result.model_copy(deep=True).parcels[0], 260)
    assert drawn is not None
    svg = sketch_svg(drawn)
    frame = re.match(r'.*?<rect x="([\d.]+)" y="([\d.]+)" width="([\d.]+)" height="([\d.]+)" fill="#fafafa"', svg)
    assert frame is not None
    x, y, w, h = map(float, frame.groups())
    assert min(x, y) >= 0.5 and x + w <= drawn.size - 0.5 and y + h <= drawn.size - 0.5  # a 1-unit line inside
    north = re.search(r'<g><rect x="([\d.]+)" y="([\d.]+)" width="([\d.]+)" height="([\d.]+)" fill="#fff"[^>]*/>'
                      r'<path d="M([\d.]+),8 ', svg)  # fmt: skip
    assert north is not None
    left, top, width, height, tip = map(float, north.groups())
    assert left < tip - 7 and tip + 7 < left + width and top < 8 and top + height > 40  # arrow and 北 (y 40) on it


class _Tables(HTMLParser):
    """Each ``<table>`` of a page as its rows of cell texts (header rows included)."""

    def __init__(self) -> None:
        super().__init__()
        self.tables: list[list[list[str]]] = []
        self._cell: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "table":
            self.tables.append([])
        elif tag == "tr" and self.tables:
            self.tables[-1].append([])
        elif tag in ("td", "th"):
            self._cell = []

    def handle_endtag(self, tag: str) -> None:
        if tag in ("td", "th") and self._cell is not None and self.tables and self.tables[-1]:
            self.tables[-1][-1].append(squash("".join(self._cell)))
            self._cell = None

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.append(data)


HECTARE_SQUARE = ("10,000.00", "1.0000", "15.00")  # a 100 m × 100 m square: m², 公顷, 亩


@pytest.fixture(scope="module")
def square(blueprint: Blueprint) -> ReviewResult:
    """A 100 m square inside the fixture's basic farmland, on 0102 水浇地 (cultivated): every figure of
    its item and land rows is the square's 10,000.00 m² = 1.0000 公顷 = 15.00 亩, or none of it."""
    frame = parcel_frame(rect(3.4, 0.4, 3.5, 0.5), id="S1", name="方块", project_type="industrial")
    return review(frame, blueprint)


def test_item_and_land_tables_give_hectares_in_the_model(square: ReviewResult) -> None:
    """Every area of a table in m², 公顷 and 亩 (geo.crs.Area): the items' 涉及面积 and the land figures."""
    assert square.parcels[0].area_m2 == pytest.approx(10_000.0, abs=0.005)
    assert ITEM_COLUMNS[3:6] == ("涉及面积（m²）", "涉及面积（公顷）", "涉及面积（亩）")
    assert QUOTA_COLUMNS == ("类别", "面积（m²）", "面积（公顷）", "面积（亩）")
    parcel = report_model(square).parcels[0]
    farmland = next(r for r in parcel.items if r.name == "占用永久基本农田")
    assert (farmland.overlap_m2, farmland.overlap_ha, farmland.overlap_mu) == HECTARE_SQUARE
    assert farmland.cells[3:6] == HECTARE_SQUARE
    clear = next(r for r in parcel.items if r.name == "生态保护红线")
    assert clear.cells[3:6] == ("0.00", "0.0000", "0.00")
    rows = {r.name: r.cells[1:] for r in (*parcel.land, *parcel.quota)}
    for name in ("农用地", "其中耕地", TOTAL, "占用永久基本农田（须避让）"):
        assert rows[name] == HECTARE_SQUARE, name
    assert rows["建设用地"] == ("0.00", "0.0000", "0.00")
    assert rows["新增建设用地指标"] == (NOT_SET, "", "")  # a rejected site is allotted nothing, in no unit


def test_html_tables_give_hectares(square: ReviewResult) -> None:
    parser = _Tables()
    parser.feed(review_report(square))
    items = next(t for t in parser.tables if t and "审查项" in t[0])
    # the header on two rows: 涉及面积 over its three units
    assert items[0] == ["#", "审查项", "结果", "涉及面积", "占比", "说明"] and items[1] == ["m²", "公顷", "亩"]
    farmland = next(r for r in items if r[1:2] == ["占用永久基本农田"])
    assert farmland[3:7] == [*HECTARE_SQUARE, "100.00%"]
    land = [t for t in parser.tables if t and t[0] == ["类别", "面积"]]
    assert len(land) == 2 and all(t[1] == ["m²", "公顷", "亩"] for t in land)  # 地类面积, 用地指标
    rows = {r[0]: r[1:] for t in land for r in t[2:]}
    for name in ("农用地", "其中耕地", TOTAL, "占用永久基本农田（须避让）"):
        assert rows[name] == list(HECTARE_SQUARE), name
    assert rows["新增建设用地指标"] == [NOT_SET]  # one cell across the three units


def test_pdf_tables_give_hectares(square: ReviewResult) -> None:
    """The PDF's text, a cell a line: the item's row reads m², 公顷, 亩 in turn; the land figures (a
    column per category) have a 公顷 row under the m² row, the 合计 and 耕地 at 1.0000."""
    texts = [p.extract_text() for p in pypdf.PdfReader(io.BytesIO(review_report_pdf(square))).pages]
    page = "\n".join(texts[next(n for n, text in enumerate(texts) if "审查情况" in text) :])  # and the pages after
    text = squash(page)
    assert squash("涉及面积") in text and "m²公顷亩" in text  # the unit row under 涉及面积
    assert squash(f"占用永久基本农田 不通过 {' '.join(HECTARE_SQUARE)} 100.00 %") in text
    lines = [line.strip() for line in page.splitlines() if not re.fullmatch(r"第 \d+ 页 共 \d+ 页", line.strip())]
    land = lines[lines.index("用地指标核算") :]
    m2, ha, mu = (land.index(unit) for unit in ("m²", "公顷", "亩"))
    assert land[ha + 1 : ha + 7] == ["1.0000", "1.0000", "0.0000", "0.0000", "0.0000", "1.0000"]  # 农用地 … 合计
    parcel = report_model(square).parcels[0]
    figures = (*parcel.land, *parcel.quota)
    assert land[m2 + 1 : ha] == [q.m2 for q in figures]
    assert land[ha + 1 : mu] == [q.ha for q in figures if q.ha]  # 不核定 is written once, in the m² row
    mus = [q.mu for q in figures if q.mu]
    assert land[mu + 1 : mu + 1 + len(mus)] == mus


def test_item_figures_fit_their_columns_on_one_line() -> None:
    """The PDF's item table holds m², 公顷 and 亩 where it once held m² and 亩, in type large enough to read
    printed (8.5 pt): each figure column holds the figures of a 1 km² overlap on one line, # its 11（补充）, and
    审查项 and 说明 hold 8 and 21 characters a line (审查项's longer names take two lines at any width)."""
    from reportlab.lib.units import mm
    from reportlab.pdfbase.pdfmetrics import stringWidth

    from geo.report_pdf import ITEM_PADDING, ITEM_WIDTHS, _styles

    cell = _styles()["cell"]
    assert cell.fontSize >= 8.5
    km2 = Area(1_000_000.0)
    widest = {3: km2.m2_text, 4: km2.ha_text, 5: km2.mu_text, 6: "100.00 %", 2: "有条件", 0: "11（补充）"}
    for column, figure in widest.items():
        room = ITEM_WIDTHS[column] - 2 * ITEM_PADDING
        assert stringWidth(figure, cell.fontName, cell.fontSize) <= room, (column, figure)
    assert sum(ITEM_WIDTHS) == pytest.approx(180 * mm)  # the page's text width
    for column, characters in {1: 8, 7: 21}.items():  # 审查项 and 说明, full-width characters a line
        assert ITEM_WIDTHS[column] - 2 * ITEM_PADDING >= characters * cell.fontSize, column


def test_the_paddy_note_gives_the_three_units(blueprint: Blueprint) -> None:
    """A profile that does not word 占水田补水田 has the report say it under the parcel, as every area
    lantu writes: m², 公顷 and 亩 (0101 paddy on x 2…3: a 0.1 × 0.2 km rectangle, 20,000 m² by hand)."""
    result = review(parcel_frame(rect(2.9, 0.1, 3.0, 0.3), id="P1"), blueprint)
    unworded = [
        item.model_copy(update={"facts": item.facts.model_copy(update={"conditions": None})})
        for item in result.parcels[0].items
    ]
    parcel = result.parcels[0].model_copy(update={"items": unworded})
    notes = report_model(result.model_copy(update={"parcels": [parcel]})).parcels[0].notes
    assert "占用水田 20,000.00 m²（2.0000 公顷，30.00 亩），须占水田补水田。" in notes


@pytest.mark.parametrize(("lines", "pages"), [(60, 1), (64, 1), (90, 2)])
def test_a_parcel_page_a_little_too_long_is_shrunk_onto_one_page_a_much_longer_one_runs_on(
    lines: int, pages: int
) -> None:
    """12 pt lines on a frame of 63 of them (758 pt): 64 lines are shrunk (to 0.98) onto one page, 90 would need
    0.70, below MIN_SCALE (0.85), and run on at full size."""
    import io

    import pypdf
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.styles import ParagraphStyle
    from reportlab.platypus import Paragraph, SimpleDocTemplate

    from geo.report_pdf import _OnePage

    style = ParagraphStyle("line", fontSize=10, leading=12)
    out = io.BytesIO()
    SimpleDocTemplate(out, pagesize=A4, topMargin=36, bottomMargin=36).build(
        [_OnePage([Paragraph(f"line {n}", style) for n in range(lines)])]
    )
    assert len(pypdf.PdfReader(io.BytesIO(out.getvalue())).pages) == pages


@pytest.mark.parametrize(
    ("total", "part"),
    [
        ("（涉及 25,600.00 m²，合 2.5600 公顷、38.40 亩）", "（涉及 14,098.44 m²，合 1.4098 公顷、21.15 亩）"),
        ("，涉及 25,600.00 m²（2.5600 公顷，38.40 亩）", "，涉及 14,098.44 m²（1.4098 公顷，21.15 亩）"),
        # a result written before areas in brackets were kept from nesting
        ("（涉及 25,600.00 m²（2.5600 公顷，38.40 亩））", "（涉及 14,098.44 m²（1.4098 公顷，21.15 亩））"),
    ],
)
def test_an_outcomes_own_area_stays_where_the_column_gives_the_items_total(total: str, part: str) -> None:
    """Item 1 of demo D14: outside the urban boundary over all of it (the column's total), in 生态保护区 over a
    part: that part's area stays, or the total would read as the zone's."""
    message = f"全部位于城镇开发边界外，须符合所在规划分区准入{total}；位于生态保护区，该分区不允许此类项目{part}"
    shown = without_area(message, 25_600.0)
    assert shown == f"全部位于城镇开发边界外，须符合所在规划分区准入；位于生态保护区，该分区不允许此类项目{part}"
    assert without_area(f"位于生态保护区{part}", 14_098.44) == "位于生态保护区"
