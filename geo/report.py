"""The printable HTML review report (审查报告), in Chinese, one section per parcel."""

from __future__ import annotations

import html
from pathlib import Path

import jinja2
import numpy as np
import shapely
from markupsafe import Markup

from geo.crs import reproject
from geo.report_model import ITEM_COLUMNS, QUOTA_COLUMNS, SUMMARY_COLUMNS, report_model
from geo.review.result import ParcelResult, ReviewResult
from geo.vocabulary import STATUS_COLOURS, STATUS_ORDER, Status

_ENV = jinja2.Environment(
    loader=jinja2.FileSystemLoader(Path(__file__).parent / "templates"),
    autoescape=jinja2.select_autoescape(["html"]),
)


def sketch_geometry(
    parcel: ParcelResult, size: float
) -> tuple[shapely.Geometry, list[tuple[Status, shapely.Geometry]]]:
    """The parcel and its conflict pieces in its GK zone, scaled into a ``size`` box (y up).

    Pieces come most severe last, so a fail is drawn over the warns beneath it.
    """
    pieces = sorted(
        (
            (d.status, shapely.geometry.shape(d.geometry))
            for i in parcel.items
            for d in i.details
            if d.geometry is not None and d.status != "pass"
        ),
        key=lambda piece: STATUS_ORDER[piece[0]],
    )
    shapes = np.array([shapely.geometry.shape(parcel.geometry)] + [g for _, g in pieces], dtype=object)
    projected = reproject(shapes, 4490, parcel.crs_used)
    minx, miny, maxx, maxy = projected[0].bounds
    span = max(maxx - minx, maxy - miny) * 1.1 or 1.0
    centre = ((minx + maxx) / 2, (miny + maxy) / 2)
    scaled = shapely.transform(projected, lambda xy: (xy - centre) / span * size + size / 2)
    return scaled[0], [(status, g) for (status, _), g in zip(pieces, scaled[1:], strict=True)]


def parcel_sketch(parcel: ParcelResult, size: int = 260) -> str:
    """An SVG sketch of the parcel and its conflict pieces (prints without a map)."""
    if parcel.geometry is None:
        return ""
    outline, pieces = sketch_geometry(parcel, size)

    def path(geom: shapely.Geometry, fill: str, stroke: str) -> str:
        flipped = shapely.transform(geom, lambda xy: xy * (1, -1) + (0, size))  # SVG's y runs down
        svg = str(flipped.svg(scale_factor=0.5)) if not flipped.is_empty else ""
        return svg.replace('fill="#66cc99"', f'fill="{fill}"').replace('stroke="#555555"', f'stroke="{stroke}"')

    body = "".join(path(g, STATUS_COLOURS[s], "#555555") for s, g in pieces)
    label = html.escape(f"{parcel.id}（{parcel.crs_used}）")  # the id is the user's: text, never markup
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{size}" height="{size + 16}" '
        f'viewBox="0 0 {size} {size + 16}">{body}{path(outline, "none", "#000")}'
        f'<text x="4" y="{size + 12}" font-size="11">{label}</text></svg>'
    )


def review_report(
    result: ReviewResult, *, synthetic: bool = False, map_url: str | None = None, pdf_url: str | None = None
) -> str:
    """The report as one self-contained HTML page (with a link to the map when served).

    Renders :func:`geo.report_model.report_model`, the same rows and notes as the PDF
    and the map popups; Jinja's autoescape keeps every user string as text.
    """
    return _ENV.get_template("report.html").render(
        m=report_model(result, synthetic=synthetic),
        result=result,
        summary_columns=SUMMARY_COLUMNS,
        item_columns=ITEM_COLUMNS,
        quota_columns=QUOTA_COLUMNS,
        sketches=[Markup(parcel_sketch(p)) for p in result.parcels],  # its one user string is escaped
        map_url=map_url,
        pdf_url=pdf_url,
    )
