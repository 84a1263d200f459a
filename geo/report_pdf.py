"""The review report as PDF (ReportLab), for the approval file.

Chinese text uses ReportLab's built-in CID font STSong-Light: no font file is needed
on the server, PDF readers supply the glyphs.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from functools import cache

import shapely
from reportlab.graphics.shapes import Drawing, Polygon
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.platypus import PageBreak, Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from geo.crs import M2_PER_MU
from geo.report import sketch_geometry
from geo.review.result import ParcelResult, ReviewResult
from geo.vocabulary import STATUS_COLOURS, STATUS_ZH, VERDICT_ZH

FONT = "STSong-Light"


@cache
def _styles() -> dict[str, ParagraphStyle]:
    pdfmetrics.registerFont(UnicodeCIDFont(FONT))
    base = ParagraphStyle("base", fontName=FONT, fontSize=9, leading=12, wordWrap="CJK")
    return {
        "base": base,
        "small": ParagraphStyle("small", parent=base, fontSize=8, leading=10),
        "title": ParagraphStyle("title", parent=base, fontSize=16, leading=22, spaceAfter=6),
        "h2": ParagraphStyle("h2", parent=base, fontSize=12, leading=16, spaceBefore=6, spaceAfter=4),
    }


def _sketch(parcel: ParcelResult, size: float = 60 * mm) -> Drawing:
    """The parcel (black outline) and its conflict pieces coloured by status."""
    drawing = Drawing(size, size)
    if parcel.geometry is None:
        return drawing
    outline, pieces = sketch_geometry(parcel, size)

    def add(geom: shapely.Geometry, fill: colors.Color | None, stroke: colors.Color) -> None:
        for poly in shapely.get_parts(geom):
            if poly.geom_type == "Polygon":
                points = [v for xy in poly.exterior.coords for v in xy]
                drawing.add(Polygon(points, fillColor=fill, strokeColor=stroke, strokeWidth=0.5))

    for status, geom in pieces:
        add(geom, colors.HexColor(STATUS_COLOURS[status]), colors.HexColor("#555555"))
    add(outline, None, colors.black)
    return drawing


def _text(value: object) -> str:
    """STSong-Light has no superscript two: write 平方米 for m²."""
    return str(value).replace("m²", "平方米")


def _para(value: object, style: ParagraphStyle) -> Paragraph:
    return Paragraph(_text(value), style)


def _table(rows: Sequence[Sequence[object]], widths: list[float]) -> Table:
    rows = [[c if isinstance(c, Paragraph) else _text(c) for c in row] for row in rows]
    table = Table(rows, colWidths=widths, repeatRows=1)
    table.setStyle(
        TableStyle(
            [
                ("FONT", (0, 0), (-1, -1), FONT, 8),
                ("GRID", (0, 0), (-1, -1), 0.3, colors.grey),
                ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#eeeeee")),
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
            ]
        )
    )
    return table


def review_report_pdf(result: ReviewResult, *, synthetic: bool = False) -> bytes:
    """The report as PDF bytes: summary, then per parcel its items, land figures and a sketch."""
    s = _styles()
    story: list[object] = [
        _para("建设项目落地可行性审查报告", s["title"]),
        _para(
            f"蓝图：{result.blueprint}　审查方案：{result.profile}　审查编号：{result.review_id}　"
            f"时间：{result.created}",
            s["base"],
        ),
        _para(
            "面积均在地块质心所在的 CGCS2000 3° 高斯-克吕格投影带中计算；1 公顷 = 10 000 m²，1 亩 = 666.67 m²。"
            + ("示例蓝图的管控图层为合成数据，仅供演示。" if synthetic else ""),
            s["small"],
        ),
        Spacer(1, 4 * mm),
        _table(
            [["地块", "名称", "面积（m² / 公顷 / 亩）", "区县", "结论"]]
            + [
                [
                    p.id,
                    _para(p.name or "", s["small"]),
                    f"{p.area_m2:,.1f} / {p.area_ha:.4f} / {p.area_mu:.2f}",
                    p.county.name if p.county else "—",
                    VERDICT_ZH.get(p.verdict, p.verdict),
                ]
                for p in result.parcels
            ],
            [18 * mm, 62 * mm, 48 * mm, 22 * mm, 22 * mm],
        ),
    ]
    for parcel in result.parcels:
        story += [
            PageBreak(),
            _para(f"地块 {parcel.id} {parcel.name or ''}", s["h2"]),
            _para(
                f"审查结论：{VERDICT_ZH.get(parcel.verdict, parcel.verdict)}；面积 {parcel.area_m2:,.2f} m²"
                f"（{parcel.area_ha:.4f} 公顷，{parcel.area_mu:.2f} 亩），计算坐标系 {parcel.crs_used}；"
                f"项目类型 {parcel.project_type or '未填报'}。",
                s["base"],
            ),
            _sketch(parcel),
        ]
        items = [
            [
                str(n),
                _para(i.name_zh, s["small"]),
                STATUS_ZH[i.status],
                f"{i.overlap_m2:,.1f}",
                f"{i.overlap_m2 / M2_PER_MU:.2f}",
                _para(i.message_zh, s["small"]),
            ]
            for n, i in enumerate(parcel.items, start=1)
        ]
        story.append(
            _table(
                [["#", "审查项", "结果", "涉及 m²", "亩", "说明"], *items],
                [8 * mm, 32 * mm, 16 * mm, 22 * mm, 14 * mm, 80 * mm],
            )
        )
        q = parcel.land_quota
        figures = [
            ("农用地", q.agricultural_m2),
            ("耕地", q.cultivated_m2),
            ("水田", q.paddy_m2),
            ("建设用地", q.construction_m2),
            ("未利用地", q.unused_m2),
            ("存量建设用地", q.stock_m2),
            ("新增建设用地指标", q.new_construction_quota_m2),
            ("占补平衡指标", q.compensation_m2),
        ]
        story += [
            Spacer(1, 3 * mm),
            _para("用地指标核算", s["h2"]),
            _table(
                [["类别", "m²", "亩"]]
                + [
                    [name, "缺图层" if v is None else f"{v:,.1f}", "" if v is None else f"{v / M2_PER_MU:.2f}"]
                    for name, v in figures
                ],
                [50 * mm, 40 * mm, 30 * mm],
            ),
        ]
    buffer = io.BytesIO()
    SimpleDocTemplate(
        buffer,
        pagesize=A4,
        leftMargin=15 * mm,
        rightMargin=15 * mm,
        topMargin=15 * mm,
        bottomMargin=15 * mm,
        title="建设项目落地可行性审查报告",
    ).build(story)
    return buffer.getvalue()
