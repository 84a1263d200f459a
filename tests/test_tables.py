"""Text tables for a terminal: moments in Beijing time, as the papers date things; JSON and CSV keep the stored text."""

from __future__ import annotations

import io
import json

from geo.io.tables import write_records, write_table

ROWS = [
    {"交易号": 1, "时间": "2026-12-05T23:52:12.038449", "期限": "2026-12-05"},  # SQLite: naive, stored as UTC
    {"交易号": 2, "时间": "2026-12-05T15:59:59+00:00", "期限": None},  # PostgreSQL: aware
]


def test_a_text_table_shows_stored_moments_in_beijing_time() -> None:
    table = io.StringIO()
    write_table(ROWS, "table", table, width=200)
    text = table.getvalue()
    assert "2026-12-06 07:52:12" in text and "2026-12-05 23:59:59" in text  # 07:52 on the 6th in Beijing
    assert "T23:52" not in text and "2026-12-05" in text  # a date alone is a date
    records = io.StringIO()
    write_records(ROWS, records)
    assert "2026-12-06 07:52:12" in records.getvalue()
    for fmt in ("json", "csv"):  # what programs and spreadsheets read keeps the stored text
        out = io.StringIO()
        write_table(ROWS, fmt, out)
        assert "2026-12-05T23:52:12.038449" in out.getvalue(), fmt
    parsed = io.StringIO()
    write_table(ROWS, "json", parsed)
    assert json.loads(parsed.getvalue())[1]["时间"] == "2026-12-05T15:59:59+00:00"


def test_a_table_wider_than_its_width_is_drawn_whole() -> None:
    """A journal's long 事由 was cut to "…" at the table's width (200 columns), even with ``--layout table`` in a
    500-column terminal: a table is drawn at its own width when that is wider, every cell whole."""
    reason = "下达年度计划（鲁自然资字〔2026〕12号，含新增建设用地计划指标与占补平衡指标）" * 3
    rows = [{"交易号": 1, "事由": reason, "账户持有方": "external:province"}]
    out = io.StringIO()
    drawn = write_table(rows, "table", out, width=80)
    assert reason in out.getvalue() and "…" not in out.getvalue()
    assert drawn is not None and drawn > 200  # two columns a CJK character
    narrow = io.StringIO()
    assert write_table([{"a": 1}], "table", narrow, width=80) < 80 and "a" in narrow.getvalue()
