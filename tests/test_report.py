"""The one report model, and the HTML and PDF reports that render it: same rows, same notes."""

from __future__ import annotations

import io
import re
from html.parser import HTMLParser

import geopandas as gpd
import pypdf
import pytest
import shapely

from geo.blueprint import Blueprint
from geo.report import review_report
from geo.report_model import REPAIRED_NOTE, SUPPLEMENTARY, SYNTHETIC_NOTE, report_model
from geo.report_pdf import pdf_text, review_report_pdf
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
    return squash("".join(p.extract_text() for p in pypdf.PdfReader(io.BytesIO(pdf)).pages))


def test_html_and_pdf_show_every_row_and_note_of_the_model(result: ReviewResult) -> None:
    model = report_model(result, synthetic=True)
    shown_html = html_text(review_report(result, synthetic=True))
    shown_pdf = pdf_texts(review_report_pdf(result, synthetic=True))
    texts = model.texts()
    assert len(texts) > 100
    missing_html = [t for t in texts if squash(t) not in shown_html]
    missing_pdf = [t for t in texts if squash(pdf_text(t)) not in shown_pdf]
    assert missing_html == []
    assert missing_pdf == []
    # what the PDF used to lack: the share column, the supplementary marker, the repaired note
    for needle in ("占比", SUPPLEMENTARY, REPAIRED_NOTE, SYNTHETIC_NOTE, "工业园<b>"):
        assert squash(needle) in shown_pdf and squash(needle) in shown_html


def test_model_rows_and_marks(result: ReviewResult) -> None:
    model = report_model(result)
    parcel = model.parcels[0]
    items = result.parcels[0].items
    assert len(parcel.items) == len(items)
    for n, (row, item) in enumerate(zip(parcel.items, items, strict=True), start=1):
        assert row.index == (f"{n}{SUPPLEMENTARY}" if item.supplementary else str(n))
        assert row.share == f"{item.overlap_ratio * 100:.2f} %"
        assert row.message == item.message_zh
    assert any(item.supplementary for item in items)
    assert [p.notes.count(REPAIRED_NOTE) for p in model.parcels] == [0, 1, 0]
    assert SYNTHETIC_NOTE not in model.notes and SYNTHETIC_NOTE in report_model(result, synthetic=True).notes
    assert [r.name for r in parcel.quota][:3] == ["农用地", "其中耕地", "其中水田"]


def test_notes_come_from_the_result(result: ReviewResult) -> None:
    notes = " ".join(report_model(result).notes)
    assert "质心" in notes and "EPSG:4548" in notes
    assert "max(1 m², 地块面积 × 0.01 %)" in notes
    label = next(i.facts.table_label for i in result.parcels[0].items if i.facts.table_label)
    assert label and f"建设用地控制标准依据：{label}" in notes

    pinned = result.model_copy(update={"area_crs": "EPSG:4548", "tolerance": ToleranceRule(min_m2=5.0, ratio=0.002)})
    notes = " ".join(report_model(pinned).notes)
    assert "质心" not in notes and "蓝图指定的投影坐标系 EPSG:4548" in notes
    assert "max(5 m², 地块面积 × 0.2 %)" in notes and "0.01 %" not in notes

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


def test_pdf_writes_square_metres_in_one_place() -> None:
    assert pdf_text("12.5 m²（涉及 m²）") == "12.5 平方米（涉及 平方米）"
