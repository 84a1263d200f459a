"""Rows of a table (ledger balances, journal, projects, overdue loans, allocations) as CSV, JSON or text.

One writer for the CLI and the API: rows are plain dicts of str/int/float/None, the
shape :mod:`geo.quota.queries` returns. ``table`` is a text table for a terminal
(rich is imported only for it).
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Final, Literal, TextIO, get_args

from geo.errors import FormatError

TableFormat = Literal["table", "json", "csv"]
TABLE_FORMATS: Final[tuple[TableFormat, ...]] = get_args(TableFormat)
MEDIA_TYPES: Final[dict[TableFormat, str]] = {
    "table": "text/plain; charset=utf-8",
    "json": "application/json",
    "csv": "text/csv; charset=utf-8",
}

Row = Mapping[str, Any]


def table_format(fmt: str) -> TableFormat:
    """``fmt`` if it is a table format; else a FormatError listing the valid ones."""
    if fmt not in TABLE_FORMATS:
        raise FormatError(
            f"unknown format {fmt!r}; use {', '.join(TABLE_FORMATS)}",
            f"未知格式 {fmt!r}，可用：{'、'.join(TABLE_FORMATS)}",
        )
    return fmt


def _columns(rows: Sequence[Row], columns: Sequence[str] | None) -> list[str]:
    if columns is not None:
        return list(columns)
    seen: dict[str, None] = {}
    for row in rows:
        seen.update(dict.fromkeys(row))
    return list(seen)


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:,.4f}".rstrip("0").rstrip(".")
    return str(value)


def write_table(
    rows: Iterable[Row],
    fmt: str,
    out: TextIO,
    *,
    title: str = "",
    columns: Sequence[str] | None = None,
    width: int | None = None,
) -> None:
    """Write ``rows`` to ``out`` as ``fmt`` (table | json | csv).

    ``columns`` fixes the header and its order (an empty CSV still gets its header);
    ``width`` fixes the text table's width (default: the terminal's).
    """
    kind = table_format(fmt)
    rows = list(rows)
    if kind == "json":
        out.write(json.dumps(rows, ensure_ascii=False, indent=2, default=str) + "\n")
        return
    names = _columns(rows, columns)
    if kind == "csv":
        if names:
            writer = csv.DictWriter(out, fieldnames=names, extrasaction="ignore", lineterminator="\n")
            writer.writeheader()
            writer.writerows(rows)
        return
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    # Text, not str: Rich would read ids and names such as "b[red]x" as markup
    table = Table(title=Text(title) if title else None)
    for name in names or ["(empty)"]:
        table.add_column(Text(name))
    for row in rows:
        table.add_row(*(Text(_cell(row.get(name))) for name in names))
    console = Console(file=out, width=width) if width else Console(file=out)
    console.print(table)


def format_table(
    rows: Iterable[Row], fmt: str, *, title: str = "", columns: Sequence[str] | None = None, width: int = 160
) -> str:
    """:func:`write_table` into a string, e.g. the body of an API response."""
    out = io.StringIO()
    write_table(rows, fmt, out, title=title, columns=columns, width=width)
    return out.getvalue()
