"""The printable HTML review report (审查报告), in Chinese, one page per parcel, and its sketch.

The sketch (:func:`sketch`) is shared with the PDF: the parcel in its Gauss-Krüger zone, the
blueprint's layers around it (those the parcel conflicts with, and the urban boundary, basic
farmland and red line for orientation) clipped to a square window, the conflict pieces coloured
by status (fail drawn last, on top), a scale bar in metres and a north arrow (grid north).
"""

from __future__ import annotations

import html
import math
from dataclasses import dataclass
from pathlib import Path

import jinja2
import numpy as np
import shapely
from markupsafe import Markup

from geo.blueprint import Blueprint
from geo.catalog import layer_catalog
from geo.crs import reproject
from geo.papers import DocumentNumber, Issuer
from geo.report_model import (
    CONCLUSION_TITLE,
    COORDINATE_COLUMNS,
    ITEM_COLUMNS,
    QUOTA_COLUMNS,
    SUMMARY_COLUMNS,
    data_line,
    header,
    report_model,
)
from geo.review.result import ParcelResult, ReviewResult
from geo.vocabulary import LAYER_COLOURS, STATUS_COLOURS, STATUS_ORDER, STATUS_ZH, Status

_ENV = jinja2.Environment(
    loader=jinja2.FileSystemLoader(Path(__file__).parent / "templates"),
    autoescape=jinja2.select_autoescape(["html"]),
)
# drawn around every parcel when present: where a passing parcel stands is itself the finding
ORIENTATION_LAYERS = ("urban_boundary", "basic_farmland", "ecological_redline")
# tiling layers (every patch of the county) would paint the whole window: never context
TILING_LAYERS = frozenset({"land_use", "planned_use", "county", "extent"})
MARGIN = 0.35  # the window is the parcel's extent and this share of it on each side
# fill opacity of the layers around the parcel and of the conflict pieces: the legend's swatches use
# the same, so a swatch looks like what it explains (a layer under a piece shows through it)
CONTEXT_ALPHA = 0.18
PIECE_ALPHA = 0.85


@dataclass(frozen=True)
class SketchLayer:
    layer: str
    label: str
    colour: str
    geometry: shapely.Geometry  # in sketch units, y up


@dataclass(frozen=True)
class Sketch:
    """The parcel's sketch in a ``size`` × ``size`` box, y up, everything already scaled."""

    size: float
    outline: shapely.Geometry
    pieces: list[tuple[Status, shapely.Geometry]]
    context: list[SketchLayer]
    scale_m: float  # the scale bar's length in metres …
    scale_len: float  # … and in sketch units

    @property
    def scale_label(self) -> str:
        return f"{self.scale_m / 1000:g} km" if self.scale_m >= 1000 else f"{self.scale_m:g} m"

    def legend(self) -> list[tuple[str, str, float]]:
        """(colour, label, fill opacity) of what is drawn: the context layers, then the piece statuses."""
        statuses = sorted({s for s, _ in self.pieces}, key=STATUS_ORDER.__getitem__)
        return [(c.colour, c.label, CONTEXT_ALPHA) for c in self.context] + [
            (STATUS_COLOURS[s], f"{STATUS_ZH[s]}部分", PIECE_ALPHA) for s in statuses
        ]


def nice_length(span: float) -> float:
    """The longest 1, 2 or 5 × 10ⁿ metres not above a quarter of ``span``: a scale bar a reader can read."""
    target = max(span / 4, 1e-9)
    power = 10.0 ** math.floor(math.log10(target))
    return max(m * power for m in (1.0, 2.0, 5.0) if m * power <= target)


def sketch(parcel: ParcelResult, size: float, blueprint: Blueprint | None = None) -> Sketch | None:
    """The sketch of ``parcel`` (None without its geometry); ``blueprint`` adds the layers around it."""
    if parcel.geometry is None:
        return None
    epsg = int(parcel.crs_used.removeprefix("EPSG:"))
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
    projected = reproject(shapes, 4490, epsg)
    minx, miny, maxx, maxy = projected[0].bounds
    span = max(maxx - minx, maxy - miny, 1.0) * (1 + 2 * MARGIN)
    centre = np.array(((minx + maxx) / 2, (miny + maxy) / 2))
    window = shapely.box(*(centre - span / 2), *(centre + span / 2))

    def scaled(geom: shapely.Geometry) -> shapely.Geometry:
        return shapely.transform(geom, lambda xy: (xy - centre) / span * size + size / 2)

    context = []
    conflicting = [d.layer for i in parcel.items for d in i.details if d.status != "pass"]
    for layer_id in dict.fromkeys([*conflicting, *ORIENTATION_LAYERS]):
        layer = blueprint.vector(layer_id) if blueprint is not None else None
        if layer is None or layer_id in TILING_LAYERS:
            continue
        indexed = layer.in_crs(epsg)
        near = indexed.geometry[indexed.tree.query(window, predicate="intersects")]
        if len(near) == 0:
            continue
        clipped = shapely.intersection(shapely.union_all(near), window).simplify(span / 800)
        if clipped.is_empty:
            continue
        info = layer_catalog().get(layer_id)
        label = info.name_zh if info else layer_id
        context.append(SketchLayer(layer_id, label, LAYER_COLOURS.get(layer_id, "#607d8b"), scaled(clipped)))
    scale_m = nice_length(span)
    return Sketch(
        size=size,
        outline=scaled(projected[0]),
        pieces=[(status, scaled(g)) for (status, _), g in zip(pieces, projected[1:], strict=True)],
        context=context,
        scale_m=scale_m,
        scale_len=scale_m / span * size,
    )


def _svg_path(geom: shapely.Geometry, size: float, attrs: str) -> str:
    """Polygons as one SVG path (holes by even-odd), SVG's y running down."""
    rings = []
    for poly in shapely.get_parts(geom):
        if poly.geom_type != "Polygon" or poly.is_empty:
            continue
        for ring in (poly.exterior, *poly.interiors):
            rings.append("M" + "L".join(f"{x:.1f},{size - y:.1f}" for x, y in ring.coords) + "Z")
    return f'<path d="{"".join(rings)}" fill-rule="evenodd" {attrs}/>' if rings else ""


def sketch_svg(s: Sketch | None) -> str:
    """The sketch as inline SVG with its legend, scale bar and north arrow (prints without a map)."""
    if s is None:
        return ""
    size = s.size
    # the frame half a line in from the edge: its line drawn on the edge was half cut off (a fresh pair of eyes)
    body = [f'<rect x="0.5" y="0.5" width="{size - 1}" height="{size - 1}" fill="#fafafa" stroke="#999"/>']
    body += [
        _svg_path(
            c.geometry, size, f'fill="{c.colour}" fill-opacity="{CONTEXT_ALPHA}" stroke="{c.colour}" stroke-width="1"'
        )
        for c in s.context
    ]
    body += [
        _svg_path(g, size, f'fill="{STATUS_COLOURS[st]}" fill-opacity="{PIECE_ALPHA}" stroke="#555" stroke-width="0.5"')
        for st, g in s.pieces
    ]
    body.append(_svg_path(s.outline, size, 'fill="none" stroke="#000" stroke-width="2"'))
    x0, y0 = 10.0, size - 12
    end = x0 + s.scale_len
    # the length after the bar's end, not above it: on a short bar "0" and "50 m" would run together;
    # a white ground keeps bar and text readable over the layers
    body.append(
        f'<g font-size="10"><rect x="{x0 - 4}" y="{y0 - 14}" width="{s.scale_len + 12 + 7 * len(s.scale_label):.1f}" '
        f'height="22" fill="#fff" fill-opacity="0.8"/>'
        f'<rect x="{x0}" y="{y0}" width="{s.scale_len:.1f}" height="4" fill="#000"/>'
        f'<text x="{x0}" y="{y0 - 3}">0</text><text x="{end + 4:.1f}" y="{y0 + 5}" '
        f'class="scale-label">{s.scale_label}</text></g>'
    )
    nx = size - 18
    body.append(
        f'<g><rect x="{nx - 10}" y="5" width="20" height="39" fill="#fff" fill-opacity="0.8"/>'  # over the layers
        f'<path d="M{nx},8 L{nx + 7},28 L{nx},23 L{nx - 7},28 Z" fill="#000"/>'
        f'<text x="{nx}" y="40" font-size="11" text-anchor="middle">北</text></g>'
    )
    legend = s.legend()
    height = size + 6 + 16 * len(legend)
    for n, (colour, label, alpha) in enumerate(legend):
        y = size + 8 + 16 * n
        body.append(
            f'<rect x="2" y="{y}" width="14" height="10" fill="{colour}" fill-opacity="{alpha}" stroke="{colour}"/>'
            f'<text x="20" y="{y + 9}" font-size="11">{html.escape(label)}</text>'
        )
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{size:g}" height="{height:g}" '
        f'viewBox="0 0 {size:g} {height:g}" role="img" aria-label="地块示意图">{"".join(body)}</svg>'
    )


def css_string(text: str) -> Markup:
    """``text`` as a quoted CSS string whose every character but letters, digits, CJK and spaces is escaped
    (``\\HHHHHH ``): an issuer's name in a stylesheet can close neither the string nor the ``<style>``."""
    return Markup('"' + "".join(c if c.isalnum() or c == " " else f"\\{ord(c):06x} " for c in text) + '"')


def review_report(
    result: ReviewResult,
    *,
    synthetic: bool = False,
    map_url: str | None = None,
    pdf_url: str | None = None,
    blueprint: Blueprint | None = None,
    issuer: Issuer | None = None,
    number: DocumentNumber | None = None,
    data_dir: Path | None = None,
    unverified: bool = False,
) -> str:
    """The report as one self-contained HTML page (with links to the map and PDF when served).

    Renders :func:`geo.report_model.report_model`, the same rows and notes as the PDF
    and the map popups; Jinja's autoescape keeps every user string as text.
    """
    model = report_model(
        result,
        synthetic=synthetic,
        issuer=issuer,
        number=number,
        data_dir=data_dir,
        blueprint=blueprint,
        unverified=unverified,
    )
    return _ENV.get_template("report.html").render(
        m=model,
        running_head=css_string(f"{model.title}　{model.number}"),
        summary_columns=SUMMARY_COLUMNS,
        item_header=header(ITEM_COLUMNS),
        quota_header=header(QUOTA_COLUMNS),
        coordinate_columns=COORDINATE_COLUMNS,
        data_line=data_line,
        conclusion_title=CONCLUSION_TITLE,
        # layer labels come from the catalog, the rest is numbers: nothing of the user's is in the SVG
        sketches=[Markup(sketch_svg(sketch(p, 260, blueprint))) for p in result.parcels],
        map_url=map_url,
        pdf_url=pdf_url,
    )
