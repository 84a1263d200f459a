"""The printable HTML review report (审查报告), in Chinese, one section per parcel."""

from __future__ import annotations

import html
from pathlib import Path

import geopandas as gpd
import jinja2
import shapely

from geo.maps import STATUS_COLOURS, STATUS_ZH, VERDICT_ZH
from geo.review.result import ParcelResult, ReviewResult

_ENV = jinja2.Environment(
    loader=jinja2.FileSystemLoader(Path(__file__).parent / "templates"),
    autoescape=jinja2.select_autoescape(["html"]),
)
VERDICT_CLASS = {"pass": "pass", "conditional": "warn", "reject": "fail"}


def parcel_sketch(parcel: ParcelResult, size: int = 260) -> str:
    """An SVG sketch of the parcel and its conflict pieces in its GK zone (prints without a map)."""
    if parcel.geometry is None:
        return ""
    pieces = [
        (d["status"], shapely.geometry.shape(d["geometry"]))
        for i in parcel.items
        for d in i.details
        if "geometry" in d and d["status"] != "pass"
    ]
    geoms = gpd.GeoSeries([shapely.geometry.shape(parcel.geometry)] + [g for _, g in pieces], crs=4490)
    projected = geoms.to_crs(parcel.crs_used).values
    minx, miny, maxx, maxy = projected[0].bounds
    span = max(maxx - minx, maxy - miny) * 1.1 or 1.0
    cx, cy = (minx + maxx) / 2, (miny + maxy) / 2

    def path(geom: shapely.Geometry) -> str:
        moved = shapely.transform(geom, lambda xy: (xy - (cx, cy)) * (1, -1) / span * size + size / 2)
        return str(moved.svg(scale_factor=0.5)) if not moved.is_empty else ""

    body = "".join(
        path(g).replace('fill="#66cc99"', f'fill="{STATUS_COLOURS[s]}"').replace('opacity="0.6"', 'opacity="0.7"')
        for (s, _), g in zip(pieces, projected[1:], strict=True)
    )
    outline = path(projected[0]).replace('fill="#66cc99"', 'fill="none"').replace('stroke="#555555"', 'stroke="#000"')
    label = html.escape(f"{parcel.id}（{parcel.crs_used}）")
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{size}" height="{size + 16}" '
        f'viewBox="0 0 {size} {size + 16}">{body}{outline}'
        f'<text x="4" y="{size + 12}" font-size="11">{label}</text></svg>'
    )


def review_report(result: ReviewResult, *, synthetic: bool = False, map_url: str | None = None) -> str:
    """The report as one self-contained HTML page (with a link to the map when served)."""
    return _ENV.get_template("report.html").render(
        result=result,
        status_zh=STATUS_ZH,
        verdict_zh=VERDICT_ZH,
        verdict_class=VERDICT_CLASS,
        sketches={p.id: parcel_sketch(p) for p in result.parcels},
        map_url=map_url,
        synthetic=synthetic,
    )
